//! Compiled policies: every pattern pre-split, every condition value pre-parsed, statements indexed
//! by resource so that unrelated statements cost nothing.
//!
//! The index keys each statement by the longest literal text that every request resource it can
//! match must start with, taken from the resource part of its ARNs (after the fifth colon):
//! `arn:aws:ecr:*:111122223333:repository/team/*` is filed under `repository/team/`. A lookup
//! probes the request's resource part at each distinct key length, so its cost depends on the
//! number of distinct key lengths, not on the number of statements. Statements that could match
//! anything (`"*"`, `NotResource`, resource policies without `Resource`) are always candidates.

use std::hash::Hasher;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::arn::Arn;
use crate::condition::{Condition, Operator};
use crate::context::Context;
use crate::error::PolicyError;
use crate::policy::{Effect, Policy, PolicyKind, Statement};
use crate::principal::PrincipalMatcher;
use crate::wildcard::{Case, Match, Pattern};

/// Below this many statements a set is scanned whole; the index would cost more than it saves.
const INDEX_THRESHOLD: usize = 24;

/// A policy compiled for evaluation; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct CompiledPolicy(Arc<PolicyData>);

#[derive(Debug)]
struct PolicyData {
    id: Box<str>,
    source_type: Box<str>,
    policy: Policy,
    statements: Vec<CompiledStatement>,
}

impl CompiledPolicy {
    /// Parses, validates and compiles `text` as a policy of `kind`. `id` names it in decisions
    /// (`PolicyInputList.1`, a managed policy name, a repository name).
    ///
    /// ```
    /// use warden_policy::{CompiledPolicy, PolicyKind};
    /// let p = CompiledPolicy::compile(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
    ///                                 PolicyKind::Identity, "inline").unwrap();
    /// assert_eq!(p.id(), "inline");
    /// ```
    pub fn compile(text: &str, kind: PolicyKind, id: &str) -> Result<CompiledPolicy, PolicyError> {
        Ok(CompiledPolicy::new(Policy::parse(text, kind)?, id))
    }

    /// Compiles a parsed policy.
    pub fn new(policy: Policy, id: &str) -> CompiledPolicy {
        let source_type = match policy.kind() {
            PolicyKind::Resource | PolicyKind::Repository => "resource",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Session => "session",
            PolicyKind::Identity => "IAM Policy",
        };
        let statements = policy.statements().iter().map(|s| CompiledStatement::new(s, &policy)).collect();
        CompiledPolicy(Arc::new(PolicyData { id: id.into(), source_type: source_type.into(), policy, statements }))
    }

    /// Sets the `SourcePolicyType` reported for this policy (`IAM Policy`, `user`, `aws-managed`, ...).
    pub fn with_source_type(self, source_type: &str) -> CompiledPolicy {
        let data = &self.0;
        CompiledPolicy(Arc::new(PolicyData {
            id: data.id.clone(),
            source_type: source_type.into(),
            policy: data.policy.clone(),
            statements: data.statements.clone(),
        }))
    }

    /// The name given at compile time.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The `SourcePolicyType` reported for it.
    pub fn source_type(&self) -> &str {
        &self.0.source_type
    }

    /// The policy kind.
    pub fn kind(&self) -> PolicyKind {
        self.0.policy.kind()
    }

    /// The parsed policy.
    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    pub(crate) fn compiled_statements(&self) -> &[CompiledStatement] {
        &self.0.statements
    }
}

/// One statement ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct CompiledStatement {
    pub(crate) effect: Effect,
    actions: ActionList,
    resources: Option<ResourceList>,
    pub(crate) principal: Option<PrincipalMatcher>,
    pub(crate) conditions: Box<[Condition]>,
}

/// `Action`/`NotAction`: literal names lower-cased and sorted for a binary search, wildcard
/// patterns apart.
#[derive(Debug, Clone)]
struct ActionList {
    negated: bool,
    /// The [`action_hash`] of each name in `exact`, in the same order, sorted: a lookup compares
    /// integers and then at most the names that share the hash.
    hashes: Box<[u64]>,
    /// Lower-cased action names.
    exact: Box<[Box<str>]>,
    wildcards: Box<[Pattern]>,
}

#[derive(Debug, Clone)]
struct ResourceList {
    negated: bool,
    patterns: Box<[ResourcePattern]>,
}

/// A `Resource` entry: `*`, or an ARN matched field by field for the first five fields and as one
/// pattern (where `*` crosses `/` and `:`) for the resource part. Fewer than six fields follow
/// [`crate::arn::pattern_fields`]: a trailing `*` stands for the fields not written
/// (`arn:aws:ecr:us-east-1:*`), and without one the entry matches nothing.
#[derive(Debug, Clone)]
enum ResourcePattern {
    Any,
    Arn {
        head: Box<[Pattern; 4]>,
        resource: Pattern,
    },
    /// A short ARN without a trailing `*`.
    Never,
    /// Not an ARN (validation refuses these).
    Whole(Pattern),
}

impl CompiledStatement {
    fn new(s: &Statement, policy: &Policy) -> CompiledStatement {
        let variables = policy.version().expands_variables();
        let (wild, exact): (Vec<&String>, Vec<&String>) =
            s.action.values.values.iter().partition(|a| a.contains(['*', '?']));
        let mut exact: Vec<(u64, Box<str>)> = exact
            .into_iter()
            .map(|a| {
                let lower = a.to_lowercase();
                (action_hash(&lower), lower.into_boxed_str())
            })
            .collect();
        exact.sort_unstable();
        exact.dedup();
        let actions = ActionList {
            negated: s.action.negated,
            hashes: exact.iter().map(|(h, _)| *h).collect(),
            exact: exact.into_iter().map(|(_, a)| a).collect(),
            wildcards: wild.into_iter().map(|a| Pattern::new(a, Case::Insensitive, true, false)).collect(),
        };
        let resources = s.resource.as_ref().map(|r| ResourceList {
            negated: r.negated,
            patterns: r.values.values.iter().map(|v| resource_pattern(v, variables)).collect(),
        });
        let conditions = s
            .condition
            .iter()
            .filter_map(|b| Operator::parse(&b.operator).map(|op| (op, b)))
            .flat_map(|(op, b)| {
                b.entries.iter().map(move |e| Condition::compile(op, &b.operator, &e.key, &e.values.values, variables))
            })
            .collect();
        CompiledStatement {
            effect: s.effect,
            actions,
            resources,
            principal: s.principal.as_ref().map(PrincipalMatcher::compile),
            conditions,
        }
    }

    /// `Action` / `NotAction` against a concrete action name, already lower-cased
    /// ([`lowercase_action`]): actions are case-insensitive.
    /// One bit per exact action name (bit [`action_bit`] of its hash); all bits when the
    /// statement has `NotAction` or wildcard actions, which can match names not listed.
    fn action_mask(&self) -> u64 {
        let list = &self.actions;
        if list.negated || !list.wildcards.is_empty() {
            return u64::MAX;
        }
        list.hashes.iter().fold(0, |mask, h| mask | action_bit(*h))
    }

    pub(crate) fn action_matches(&self, action_lower: &str) -> bool {
        self.action_matches_hashed(action_lower, action_hash(action_lower))
    }

    /// [`CompiledStatement::action_matches`] with the action's [`action_hash`] computed once per
    /// request rather than once per statement.
    pub(crate) fn action_matches_hashed(&self, action_lower: &str, hash: u64) -> bool {
        let list = &self.actions;
        // Short lists (nearly all) are scanned: contiguous integers, no dependent loads.
        let first = if list.hashes.len() <= 16 {
            list.hashes.iter().position(|h| *h == hash).unwrap_or(list.hashes.len())
        } else {
            list.hashes.partition_point(|h| *h < hash)
        };
        let same_hash = list.hashes.get(first..).unwrap_or_default().iter().take_while(|h| **h == hash).count();
        let names = list.exact.get(first..first + same_hash).unwrap_or_default();
        let any =
            names.iter().any(|a| **a == *action_lower) || list.wildcards.iter().any(|p| p.matches_plain(action_lower));
        any != list.negated
    }

    /// `Resource` / `NotResource` against the request resource. A statement without either (a
    /// resource policy) applies to the resource it is attached to. An entry whose variable does not
    /// resolve matches nothing — so it excludes nothing under `NotResource`.
    pub(crate) fn resource_matches(&self, resource: &str, ctx: &Context) -> bool {
        let Some(list) = &self.resources else { return true };
        let any = list.patterns.iter().any(|p| p.matches(resource, ctx) == Match::Yes);
        any != list.negated
    }

    /// The index key: literal text every matching resource part starts with ("" = any).
    fn index_key(&self) -> &str {
        let Some(list) = &self.resources else { return "" };
        if list.negated {
            return "";
        }
        let mut key: Option<&str> = None;
        for p in list.patterns.iter() {
            let prefix = match p {
                ResourcePattern::Arn { resource, .. } => resource.literal_prefix(),
                // Matches nothing, so it adds no resource the statement could match.
                ResourcePattern::Never => continue,
                ResourcePattern::Any | ResourcePattern::Whole(_) => return "",
            };
            key = Some(match key {
                None => prefix,
                Some(k) => common_prefix(k, prefix),
            });
        }
        key.unwrap_or("")
    }
}

/// The hash exact action lists are indexed by, of a lower-cased action name.
pub(crate) fn action_hash(action_lower: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(action_lower.as_bytes());
    h.finish()
}

/// The bit of an action's [`action_hash`] in a statement's action mask.
fn action_bit(hash: u64) -> u64 {
    1 << (hash % 64)
}

/// Lower-cases an action name into `buf` without allocating when it is ASCII and fits (every
/// real action); otherwise into a new string.
pub(crate) fn lowercase_action<'b>(action: &str, buf: &'b mut [u8; 128]) -> std::borrow::Cow<'b, str> {
    let bytes = action.as_bytes();
    match buf.get_mut(..bytes.len()) {
        Some(dst) if bytes.iter().all(u8::is_ascii) => {
            for (d, s) in dst.iter_mut().zip(bytes) {
                *d = s.to_ascii_lowercase();
            }
            // ASCII in, ASCII out.
            std::str::from_utf8(dst).map(std::borrow::Cow::Borrowed).unwrap_or_default()
        }
        _ => std::borrow::Cow::Owned(action.to_lowercase()),
    }
}

fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let mut end = 0;
    for ((i, ca), cb) in a.char_indices().zip(b.chars()) {
        if ca != cb {
            break;
        }
        end = i + ca.len_utf8();
    }
    a.get(..end).unwrap_or_default()
}

fn resource_pattern(text: &str, variables: bool) -> ResourcePattern {
    if text == "*" {
        return ResourcePattern::Any;
    }
    if crate::arn::split_fields(text, variables).first() != Some(&"arn") {
        return ResourcePattern::Whole(Pattern::new(text, Case::Sensitive, true, variables));
    }
    // Partition, service, region and account ignore case and take no variables (IAM expands them
    // only in the resource part); the resource part keeps case.
    let field = |s: &str| Pattern::new(s, Case::Insensitive, true, false);
    match crate::arn::pattern_fields(text, variables) {
        Some([_, partition, service, region, account, resource]) => ResourcePattern::Arn {
            head: Box::new([field(partition), field(service), field(region), field(account)]),
            resource: Pattern::new(resource, Case::Sensitive, true, variables),
        },
        None => ResourcePattern::Never,
    }
}

impl ResourcePattern {
    fn matches(&self, resource: &str, ctx: &Context) -> Match {
        match self {
            ResourcePattern::Any => Match::Yes,
            ResourcePattern::Never => Match::No,
            ResourcePattern::Whole(p) => p.matches(resource, ctx),
            ResourcePattern::Arn { head, resource: rp } => {
                let Some(arn) = Arn::parse(resource) else { return Match::No };
                let fields = [arn.partition, arn.service, arn.region, arn.account];
                if head.iter().zip(fields).all(|(p, f)| p.matches_plain(f)) {
                    rp.matches(arn.resource, ctx)
                } else {
                    Match::No
                }
            }
        }
    }
}

/// Where a statement lives in a [`PolicySet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) policy: u32,
    pub(crate) statement: u32,
    /// The statement's [`CompiledStatement::action_mask`], kept beside its address: a request
    /// whose action cannot match is passed over without reading the statement.
    pub(crate) actions: u64,
}

/// A set of compiled policies evaluated together (a principal's identity policies, a boundary, a
/// repository policy), with one statement index over all of them. Build it once and share it:
/// clones are cheap (shared).
#[derive(Debug, Clone, Default)]
pub struct PolicySet(Arc<SetData>);

#[derive(Debug, Default)]
struct SetData {
    policies: Vec<CompiledPolicy>,
    always: Vec<Slot>,
    buckets: FxHashMap<Box<str>, Vec<Slot>>,
    /// Distinct key lengths present in `buckets`, ascending.
    lengths: Vec<usize>,
}

impl PolicySet {
    /// A set of `policies` with its index.
    pub fn new(policies: Vec<CompiledPolicy>) -> PolicySet {
        let total: usize = policies.iter().map(|p| p.compiled_statements().len()).sum();
        let mut set = SetData { policies, ..SetData::default() };
        for (pi, policy) in set.policies.iter().enumerate() {
            for (si, stmt) in policy.compiled_statements().iter().enumerate() {
                let slot = Slot { policy: pi as u32, statement: si as u32, actions: stmt.action_mask() };
                let key = if total < INDEX_THRESHOLD { "" } else { stmt.index_key() };
                if key.is_empty() {
                    set.always.push(slot);
                } else {
                    set.buckets.entry(key.into()).or_default().push(slot);
                }
            }
        }
        let mut lengths: Vec<usize> = set.buckets.keys().map(|k| k.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        set.lengths = lengths;
        PolicySet(Arc::new(set))
    }

    /// The policies, in the order given.
    pub fn policies(&self) -> &[CompiledPolicy] {
        &self.0.policies
    }

    /// True when the set holds no policy.
    pub fn is_empty(&self) -> bool {
        self.0.policies.is_empty()
    }

    /// Number of statements across all policies.
    pub fn statement_count(&self) -> usize {
        self.0.policies.iter().map(|p| p.compiled_statements().len()).sum()
    }

    /// Calls `f` with every statement that could match `resource` and the action of
    /// [`action_hash`] `action` (every action when `None`), each once.
    pub(crate) fn for_each_candidate<'s>(
        &'s self,
        resource: &str,
        action: Option<u64>,
        mut f: impl FnMut(&'s CompiledPolicy, u32, &'s CompiledStatement),
    ) {
        let set = &*self.0;
        let bit = action.map_or(u64::MAX, action_bit);
        let mut visit = |slot: &Slot| {
            if slot.actions & bit == 0 {
                return;
            }
            if let Some(policy) = set.policies.get(slot.policy as usize) {
                if let Some(stmt) = policy.compiled_statements().get(slot.statement as usize) {
                    f(policy, slot.statement, stmt);
                }
            }
        };
        set.always.iter().for_each(&mut visit);
        if set.lengths.is_empty() {
            return;
        }
        let Some(arn) = Arn::parse(resource) else { return };
        let part = arn.resource;
        for &len in &set.lengths {
            if len > part.len() {
                break;
            }
            let Some(prefix) = part.get(..len) else { continue };
            if let Some(slots) = set.buckets.get(prefix) {
                slots.iter().for_each(&mut visit);
            }
        }
    }
}

impl From<CompiledPolicy> for PolicySet {
    fn from(p: CompiledPolicy) -> PolicySet {
        PolicySet::new(vec![p])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn identity(stmts: &[&str]) -> CompiledPolicy {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, stmts.join(","));
        CompiledPolicy::compile(&text, PolicyKind::Identity, "p").unwrap()
    }

    #[test]
    fn index_keys() {
        let p = identity(&[
            r#"{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:1:repository/team/*"}"#,
            r#"{"Effect":"Allow","Action":"ecr:*","Resource":["arn:aws:ecr:*:1:repository/team/a","arn:aws:ecr:*:1:repository/tools"]}"#,
            r#"{"Effect":"Allow","Action":"ecr:*","NotResource":"arn:aws:ecr:*:1:repository/x"}"#,
            r#"{"Effect":"Allow","Action":"ecr:*","Resource":["*"]}"#,
            r#"{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:1:repository/${aws:username}/*"}"#,
        ]);
        let keys: Vec<_> = p.compiled_statements().iter().map(|s| s.index_key().to_owned()).collect();
        assert_eq!(keys, ["repository/team/", "repository/t", "", "", "repository/"]);
    }

    #[test]
    fn statements_whose_actions_cannot_match_are_passed_over_unread() {
        let set = PolicySet::from(identity(&[
            r#"{"Effect":"Allow","Action":["ecr:ListImages","ECR:BatchGetImage"],"Resource":"*"}"#,
            r#"{"Effect":"Deny","Action":["ecr:DeleteRepository"],"Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"ecr:Describe*","Resource":"*"}"#,
            r#"{"Effect":"Allow","NotAction":"ecr:PutImage","Resource":"*"}"#,
        ]));
        let visited = |action: &str| {
            let mut seen = Vec::new();
            set.for_each_candidate("*", Some(action_hash(action)), |_, i, _| seen.push(i));
            seen
        };
        // Statement 0 lists the action (whatever its case in the policy); statements 2 and 3 can
        // match names they do not list, so they are always read.
        assert_eq!(visited("ecr:batchgetimage"), [0, 2, 3]);
        assert_eq!(visited("ecr:listimages"), [0, 2, 3]);
        // An action none of the exact lists holds: statements 0 and 1 are skipped unless the
        // action's bit happens to be one of theirs (then they are read and do not match).
        let other = "ecr:putimage";
        let bit = action_bit(action_hash(other));
        let expected: Vec<u32> =
            [(0u32, ["ecr:listimages", "ecr:batchgetimage"].as_slice()), (1, &["ecr:deleterepository"])]
                .into_iter()
                .filter(|(_, names)| names.iter().any(|n| action_bit(action_hash(n)) == bit))
                .map(|(i, _)| i)
                .chain([2, 3])
                .collect();
        assert_eq!(visited(other), expected);
        assert_eq!(set.0.always.iter().map(|s| s.actions.count_ones()).collect::<Vec<_>>()[2..], [64, 64]);
        // Without an action, everything that could match the resource.
        let mut all = Vec::new();
        set.for_each_candidate("*", None, |_, i, _| all.push(i));
        assert_eq!(all, [0, 1, 2, 3]);
    }

    #[test]
    fn indexed_lookup_finds_exactly_the_related_statements() {
        let mut stmts = Vec::new();
        for i in 0..100 {
            stmts.push(format!(
                r#"{{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/repo-{i}"}}"#
            ));
        }
        stmts.push(r#"{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}"#.to_owned());
        let refs: Vec<&str> = stmts.iter().map(String::as_str).collect();
        let set = PolicySet::from(identity(&refs));
        let mut seen = Vec::new();
        set.for_each_candidate("arn:aws:ecr:us-east-1:111122223333:repository/repo-7", None, |_, i, _| seen.push(i));
        seen.sort_unstable();
        assert_eq!(seen, [7, 100]);
        let mut seen = Vec::new();
        set.for_each_candidate("*", None, |_, i, _| seen.push(i));
        assert_eq!(seen, [100]);
    }

    /// Whether statement 0 of a one-statement identity policy with `element: pattern` applies
    /// to each resource.
    fn applies(element: &str, pattern: &str, resources: &[&str]) -> Vec<bool> {
        let p = identity(&[&format!(r#"{{"Effect":"Allow","Action":"ecr:*","{element}":"{pattern}"}}"#)]);
        let s = &p.compiled_statements()[0];
        resources.iter().map(|r| s.resource_matches(r, &Context::new())).collect()
    }

    const A_EAST: &str = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";
    const B_EAST: &str = "arn:aws:ecr:us-east-1:444455556666:repository/app";
    const A_WEST: &str = "arn:aws:ecr:us-west-2:111122223333:repository/team/app";
    const S3: &str = "arn:aws:s3:::bucket";

    #[test]
    fn a_trailing_star_expands_beyond_the_colons() {
        // IAM User Guide, "IAM JSON policy elements: Resource", Using wildcards in resource ARNs
        // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html):
        // "If the `*` wildcard is the last character of a resource ARN segment, it can expand to
        // match beyond the colon boundaries."
        let all = [A_EAST, B_EAST, A_WEST, S3, "*"];
        // Every ECR ARN in us-east-1.
        assert_eq!(applies("Resource", "arn:aws:ecr:us-east-1:*", &all), [true, true, false, false, false]);
        // Every ECR ARN in us-east-1 of accounts starting 1111.
        assert_eq!(applies("Resource", "arn:aws:ecr:us-east-1:1111*", &all), [true, false, false, false, false]);
        assert_eq!(applies("Resource", "arn:aws:ecr:us-*", &all), [true, true, true, false, false]);
        assert_eq!(applies("Resource", "arn:aws:ecr:*", &all), [true, true, true, false, false]);
        // NotResource: everything else, including the `*` of wildcard-only actions.
        assert_eq!(applies("NotResource", "arn:aws:ecr:us-east-1:*", &all), [false, false, true, true, true]);
        assert_eq!(applies("NotResource", "arn:aws:ecr:us-east-1:1111*", &all), [false, true, true, true, true]);
    }

    #[test]
    fn without_a_trailing_star_a_short_arn_matches_nothing() {
        let all = [A_EAST, B_EAST, A_WEST, S3, "*"];
        for pattern in
            ["arn:aws:ecr:us-east-1", "arn:aws:ecr:us-east-1:111122223333", "arn:aws:ecr", "arn:aws:ecr:us-east-?"]
        {
            assert_eq!(applies("Resource", pattern, &all), [false; 5], "{pattern}");
            // …so as NotResource it excludes nothing.
            assert_eq!(applies("NotResource", pattern, &all), [true; 5], "{pattern}");
        }
    }

    #[test]
    fn a_star_inside_a_six_field_arn_stays_in_its_field() {
        // Only the missing fields are expanded over: in a six-field ARN the region's `*` does not
        // reach into the account (the condition operators page's ArnLike example, applied to
        // Resource as the corpus does in resource/fieldwise-vs-glob).
        let tricky = "arn:aws:ecr:us-east-1:444455556666:repository/x:111122223333:repository/app";
        assert_eq!(applies("Resource", "arn:aws:ecr:us-*:111122223333:repository/app", &[tricky]), [false]);
        assert_eq!(applies("Resource", "arn:aws:ecr:us-*:444455556666:repository/*", &[tricky]), [true]);
    }

    #[test]
    fn index_keys_pass_over_entries_that_match_nothing() {
        let p = identity(&[
            r#"{"Effect":"Allow","Action":"ecr:*","Resource":["arn:aws:ecr:us-east-1","arn:aws:ecr:*:1:repository/team/*"]}"#,
            r#"{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:us-east-1:*"}"#,
        ]);
        let keys: Vec<_> = p.compiled_statements().iter().map(|s| s.index_key().to_owned()).collect();
        assert_eq!(keys, ["repository/team/", ""]);
    }

    #[test]
    fn resource_fields_do_not_let_star_cross_colons() {
        let p =
            identity(&[r#"{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:111122223333:repository/*"}"#]);
        let s = &p.compiled_statements()[0];
        let ctx = Context::new();
        assert!(s.resource_matches("arn:aws:ecr:eu-west-1:111122223333:repository/a/b", &ctx));
        assert!(!s.resource_matches("arn:aws:ecr:eu-west-1:444455556666:repository/a", &ctx));
        assert!(!s.resource_matches("*", &ctx));
    }
}
