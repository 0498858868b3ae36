//! Compiled policies: every pattern pre-split to the cheapest exact matcher, every condition
//! value pre-parsed. [`PolicySet`] (in [`set`]) indexes the statements of several policies by
//! action and resource.

pub(crate) mod condition;
mod set;
pub mod wildcard;

pub use set::PolicySet;
pub(crate) use set::{ActionKey, Candidates, Entry, Memo};

use std::sync::Arc;

use crate::arn::Arn;
use crate::ast::operator::Operator;
use crate::ast::{Effect, Policy, PolicyKind, Statement};
use crate::compile::condition::Condition;
use crate::compile::wildcard::{Case, Match, Pattern};
use crate::context::Context;
use crate::error::PolicyError;
use crate::principal::PrincipalMatcher;

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
    /// Lower-cased action names, sorted.
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
        let mut exact: Vec<Box<str>> = exact.into_iter().map(|a| a.to_lowercase().into_boxed_str()).collect();
        exact.sort_unstable();
        exact.dedup();
        let actions = ActionList {
            negated: s.action.negated,
            exact: exact.into_boxed_slice(),
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
    pub(crate) fn action_matches(&self, action_lower: &str) -> bool {
        let list = &self.actions;
        let any = list.exact.binary_search_by(|a| (**a).cmp(action_lower)).is_ok()
            || list.wildcards.iter().any(|p| p.matches_plain(action_lower));
        any != list.negated
    }

    /// True when the action clause can match names it does not list (a wildcard or `NotAction`).
    pub(crate) fn action_is_open(&self) -> bool {
        self.actions.negated || !self.actions.wildcards.is_empty()
    }

    /// The lower-cased names the action clause lists literally.
    pub(crate) fn listed_actions(&self) -> &[Box<str>] {
        &self.actions.exact
    }

    /// `Resource` / `NotResource` against the request resource. A statement without either (a
    /// resource policy) applies to the resource it is attached to. An entry whose variable does not
    /// resolve matches nothing — so it excludes nothing under `NotResource`.
    ///
    /// `arn` is `resource` parsed once per request ([`Arn::parse`]).
    pub(crate) fn resource_matches(&self, resource: &str, arn: Option<&RequestArn<'_>>, ctx: &Context) -> bool {
        let Some(list) = &self.resources else { return true };
        let any = list.patterns.iter().any(|p| p.matches(resource, arn, ctx) == Match::Yes);
        any != list.negated
    }

    /// The index key: literal text every matching resource part starts with ("" = any).
    pub(crate) fn index_key(&self) -> &str {
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

/// A request resource parsed as an ARN once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestArn<'a> {
    pub(crate) arn: Arn<'a>,
    /// Partition, service, region and account are ASCII without upper-case letters — as AWS writes
    /// them — so the case-insensitive patterns of those fields compare them as they are.
    folded_head: bool,
}

impl<'a> RequestArn<'a> {
    /// `text` as an ARN, or `None`.
    pub(crate) fn parse(text: &'a str) -> Option<RequestArn<'a>> {
        let (arn, folded_head) = Arn::parse_noting_case(text)?;
        Some(RequestArn { arn, folded_head })
    }
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
    // The first field is `arn` (no variable can stand there).
    if !(text == "arn" || text.starts_with("arn:")) {
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
    fn matches(&self, resource: &str, arn: Option<&RequestArn<'_>>, ctx: &Context) -> Match {
        match self {
            ResourcePattern::Any => Match::Yes,
            ResourcePattern::Never => Match::No,
            ResourcePattern::Whole(p) => p.matches(resource, ctx),
            ResourcePattern::Arn { head, resource: rp } => {
                let Some(RequestArn { arn, folded_head }) = arn else { return Match::No };
                let fields = [arn.partition, arn.service, arn.region, arn.account];
                let head_matches = if *folded_head {
                    head.iter().zip(fields).all(|(p, f)| p.matches_folded(f))
                } else {
                    head.iter().zip(fields).all(|(p, f)| p.matches_plain(f))
                };
                if head_matches {
                    rp.matches(arn.resource, ctx)
                } else {
                    Match::No
                }
            }
        }
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

    fn applies(element: &str, pattern: &str, resources: &[&str]) -> Vec<bool> {
        let p = identity(&[&format!(r#"{{"Effect":"Allow","Action":"ecr:*","{element}":"{pattern}"}}"#)]);
        let s = &p.compiled_statements()[0];
        resources.iter().map(|r| s.resource_matches(r, RequestArn::parse(r).as_ref(), &Context::new())).collect()
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
        assert!(s.resource_matches(
            "arn:aws:ecr:eu-west-1:111122223333:repository/a/b",
            RequestArn::parse("arn:aws:ecr:eu-west-1:111122223333:repository/a/b").as_ref(),
            &ctx
        ));
        assert!(!s.resource_matches(
            "arn:aws:ecr:eu-west-1:444455556666:repository/a",
            RequestArn::parse("arn:aws:ecr:eu-west-1:444455556666:repository/a").as_ref(),
            &ctx
        ));
        assert!(!s.resource_matches("*", RequestArn::parse("*").as_ref(), &ctx));
    }
}
