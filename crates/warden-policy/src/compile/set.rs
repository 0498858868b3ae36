//! [`PolicySet`]: the statements of several policies, indexed so that a request reads only the
//! statements that can apply to its action and resource.
//!
//! Three things are done once, when the set is built:
//!
//! - **Rules.** Statements that say the same apart from their actions (same effect, principal,
//!   resources and conditions, under the same policy version and kind) are one [`Rule`]. Large
//!   policy sets repeat themselves: a team's 10,000 statements have a few dozen distinct bodies.
//! - **Conditions.** Identical conditions anywhere in the set are one entry of a table, so a
//!   request evaluates each distinct condition at most once ([`Memo`]): a condition's outcome
//!   depends only on the request context.
//! - **The index.** Each action the set can be asked about — every action of the catalog and every
//!   name a policy lists — maps to the rules whose statements match it; wildcard actions and
//!   `NotAction` are resolved against those names here, not per request. An action the set does
//!   not know falls back to the rules that have a wildcard or `NotAction` statement ([`Bucket`]
//!   `open`), whose action clauses are then matched at request time — the only statements that can
//!   match a name nobody listed. Within an action, rules are filed under the longest literal text
//!   every resource part they can match starts with (`repository/team/` for
//!   `arn:aws:ecr:*:111122223333:repository/team/*`); a lookup probes the request's resource part
//!   once per distinct key length. Rules that can match any resource (`*`, `NotResource`, a
//!   resource policy without `Resource`) are always candidates. In every list, Deny rules come
//!   first, so the decision path can settle an explicit deny before reading any Allow.
//!
//! The index only narrows: every candidate is still matched in full by
//! [`crate::evaluate::matcher`], so a statement the index lets through wrongly costs time, never
//! a wrong decision; and one it filtered out wrongly would be a bug the reference-evaluator
//! property test (`tests/reference.rs`) exists to find.

use std::fmt::Write as _;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::{CompiledPolicy, CompiledStatement};
use crate::ast::{Effect, PrincipalValue, Statement};
use crate::compile::condition::{Condition, Outcome};
use crate::context::Context;

/// Conditions tables larger than this are not memoized per request (the memo would cost more to
/// clear than it saves).
const MEMO_LIMIT: usize = 4096;

/// A set of compiled policies evaluated together (a principal's identity policies, a boundary, a
/// repository policy), with one index over all their statements. Build it once and share it:
/// clones are cheap (shared).
#[derive(Debug, Clone, Default)]
pub struct PolicySet(Arc<SetData>);

#[derive(Debug, Default)]
struct SetData {
    policies: Vec<CompiledPolicy>,
    /// Distinct conditions, each as (policy, statement, condition) of its first occurrence.
    conditions: Vec<(u32, u32, u32)>,
    rules: Vec<Rule>,
    /// The rules with a statement that matches each catalog action, by catalog index.
    catalog: Box<[Bucket]>,
    /// The same for every other name a statement lists (lower-cased).
    actions: FxHashMap<Box<str>, Bucket>,
    /// The rules with a wildcard or `NotAction` statement: the candidates for an action not in
    /// `actions`.
    open: Bucket,
    statements: usize,
}

/// Statements with the same body (everything but the action clause).
#[derive(Debug)]
pub(crate) struct Rule {
    /// Their effect.
    pub(crate) effect: Effect,
    /// Every statement with this body as (policy, statement), in set order; the first one stands
    /// for all when the rule is matched.
    statements: Box<[(u32, u32)]>,
    /// For each condition of the first statement, its entry in the set's condition table.
    conditions: Box<[u32]>,
}

/// The rules for one action.
#[derive(Debug, Default)]
struct Bucket {
    always: List,
    keyed: Keyed,
}

/// Lists filed under index keys.
#[derive(Debug)]
enum Keyed {
    /// Up to [`FEW_KEYS`] keys, compared in turn with the start of the resource part (cheaper
    /// than hashing at these sizes).
    Few(Box<[(Box<str>, List)]>),
    /// More: the resource part's prefix of each distinct key length is looked up.
    Many {
        map: FxHashMap<Box<str>, List>,
        /// Distinct key lengths in `map`, ascending.
        lengths: Box<[usize]>,
    },
}

impl Default for Keyed {
    fn default() -> Keyed {
        Keyed::Few(Box::new([]))
    }
}

/// Most keys a bucket compares one by one.
const FEW_KEYS: usize = 8;

/// Rules, Deny rules first.
#[derive(Debug, Default)]
struct List {
    rules: Box<[Entry]>,
    denies: usize,
}

/// A rule filed under an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    /// The rule's id.
    pub(crate) rule: u32,
    /// (policy, statement) of the rule's first statement with the action: the one a decision
    /// reports. `None` in `open`, where it depends on the action asked.
    pub(crate) reported: Option<(u32, u32)>,
}

/// The rules a request must read, from one set.
#[derive(Debug)]
pub(crate) struct Candidates<'s> {
    lists: SmallVec<[&'s List; 4]>,
    /// The action is not one the set knows: the candidates come from `open`, and each rule must
    /// have a statement whose action clause matches it.
    pub(crate) open: bool,
}

impl<'s> Candidates<'s> {
    /// Deny rules, then (with `allows`) Allow rules; each rule once per list it is filed in
    /// (a rule is filed under one key, so once).
    pub(crate) fn rules(&self, effect: Effect) -> impl Iterator<Item = Entry> + '_ {
        self.lists.iter().flat_map(move |l| {
            let part = match effect {
                Effect::Deny => l.rules.get(..l.denies),
                Effect::Allow => l.rules.get(l.denies..),
            };
            part.unwrap_or_default().iter().copied()
        })
    }
}

/// A request's action as the index looks it up: lower-cased, with its catalog index when the
/// catalog has it (found once per request, then an array index per set).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActionKey<'a> {
    lower: &'a str,
    catalog: Option<usize>,
}

impl<'a> ActionKey<'a> {
    /// The key of a lower-cased action name.
    pub(crate) fn new(lower: &'a str) -> ActionKey<'a> {
        ActionKey { lower, catalog: crate::catalog::ecr_action_index(lower) }
    }
}

/// Per-request outcomes of a set's distinct conditions, computed when first needed.
#[derive(Debug)]
pub(crate) struct Memo {
    /// 0 = not yet evaluated; otherwise 1 | 2 (holds) | 4 (key missing).
    states: SmallVec<[u8; 32]>,
}

impl Memo {
    /// An empty memo for `set`.
    pub(crate) fn new(set: &PolicySet) -> Memo {
        let n = set.0.conditions.len();
        Memo { states: if n <= MEMO_LIMIT { smallvec::smallvec![0; n] } else { SmallVec::new() } }
    }

    /// The outcome of condition `c`, entry `id` of the set's table.
    pub(crate) fn evaluate(&mut self, id: u32, c: &Condition, ctx: &Context) -> Outcome {
        let Some(state) = self.states.get_mut(id as usize) else { return c.evaluate(ctx) };
        if *state == 0 {
            let o = c.evaluate(ctx);
            *state = 1 | if o.holds { 2 } else { 0 } | if o.missing { 4 } else { 0 };
        }
        Outcome { holds: *state & 2 != 0, missing: *state & 4 != 0 }
    }
}

impl PolicySet {
    /// A set of `policies` with its index.
    pub fn new(policies: Vec<CompiledPolicy>) -> PolicySet {
        Builder::default().build(policies)
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
        self.0.statements
    }

    /// Number of distinct statement bodies (rules: statements that differ only in their actions)
    /// the statements were merged into.
    pub fn rule_count(&self) -> usize {
        self.0.rules.len()
    }

    /// The rules that can match `action_lower` on a resource whose resource part (after the fifth
    /// colon) is `resource_part` (`None`: the resource is not an ARN).
    pub(crate) fn candidates(&self, action: ActionKey<'_>, resource_part: Option<&str>) -> Candidates<'_> {
        let set = &*self.0;
        let known = match action.catalog {
            Some(i) => set.catalog.get(i),
            None => set.actions.get(action.lower),
        };
        let (bucket, open) = match known {
            Some(b) => (b, false),
            None => (&set.open, true),
        };
        let mut lists: SmallVec<[&List; 4]> = SmallVec::new();
        if !bucket.always.rules.is_empty() {
            lists.push(&bucket.always);
        }
        if let Some(part) = resource_part {
            match &bucket.keyed {
                Keyed::Few(keys) => {
                    lists.extend(keys.iter().filter(|(k, _)| part.starts_with(&**k)).map(|(_, l)| l));
                }
                Keyed::Many { map, lengths } => {
                    for &len in lengths.iter() {
                        let Some(prefix) = part.get(..len) else { break };
                        if let Some(list) = map.get(prefix) {
                            lists.push(list);
                        }
                    }
                }
            }
        }
        Candidates { lists, open }
    }

    /// A bound on the character comparisons one evaluation against `ctx` makes in conditions:
    /// each distinct condition is evaluated at most once per evaluation, and each of its values
    /// meets each of the context's values for its key (a policy variable counts as the longest
    /// context value). Servers that take context values from callers check it before
    /// evaluating: a few hundred kilobytes of context can otherwise cost seconds.
    pub fn condition_work(&self, ctx: &Context) -> u64 {
        self.0
            .conditions
            .iter()
            .filter_map(|&(pi, si, ci)| self.statement((pi, si))?.1.conditions.get(ci as usize))
            .fold(0u64, |sum, c| sum.saturating_add(c.work(ctx)))
    }

    /// Rule `id`.
    pub(crate) fn rule(&self, id: u32) -> Option<&Rule> {
        self.0.rules.get(id as usize)
    }

    /// The statement at (policy, statement).
    pub(crate) fn statement(&self, at: (u32, u32)) -> Option<(&CompiledPolicy, &CompiledStatement)> {
        let policy = self.0.policies.get(at.0 as usize)?;
        Some((policy, policy.compiled_statements().get(at.1 as usize)?))
    }

    /// The statement that stands for `rule`, with its index in its policy.
    pub(crate) fn representative(&self, rule: &Rule) -> Option<(&CompiledPolicy, u32, &CompiledStatement)> {
        let at = *rule.statements.first()?;
        self.statement(at).map(|(p, s)| (p, at.1, s))
    }

    /// The statements of `rule` whose action clause matches `action_lower`, in set order, each
    /// with its (policy, statement) position.
    pub(crate) fn rule_statements<'s: 'a, 'a>(
        &'s self,
        rule: &'s Rule,
        action_lower: &'a str,
    ) -> impl Iterator<Item = ((u32, u32), &'s CompiledPolicy, &'s CompiledStatement)> + 'a {
        rule.statements
            .iter()
            .filter_map(move |&at| self.statement(at).map(|(p, s)| (at, p, s)))
            .filter(move |(_, _, s)| s.action_matches(action_lower))
    }

    /// The table entry of the representative statement's condition `index` in `rule`.
    pub(crate) fn condition_id(rule: &Rule, index: usize) -> u32 {
        rule.conditions.get(index).copied().unwrap_or(u32::MAX)
    }
}

impl From<CompiledPolicy> for PolicySet {
    fn from(p: CompiledPolicy) -> PolicySet {
        PolicySet::new(vec![p])
    }
}

/// Builds a [`PolicySet`].
#[derive(Default)]
struct Builder {
    conditions: FxHashMap<Box<str>, u32>,
    condition_at: Vec<(u32, u32, u32)>,
    bodies: FxHashMap<Box<str>, u32>,
    rules: Vec<Rule>,
    statements_of: Vec<Vec<(u32, u32)>>,
    effects: Vec<Effect>,
    /// The index key of each rule.
    keys: Vec<Box<str>>,
    /// Scratch text for keys.
    key: String,
}

impl Builder {
    fn build(mut self, policies: Vec<CompiledPolicy>) -> PolicySet {
        // Every name the set can be asked about that the index resolves: the catalog's actions and
        // every literal name in any statement.
        let mut known: Vec<&str> = crate::catalog::ecr_actions_lower().iter().map(String::as_str).collect();
        let mut statements = 0usize;
        let mut placements: Vec<(u32, (u32, u32), &CompiledStatement, &Statement)> = Vec::new();
        for (pi, policy) in policies.iter().enumerate() {
            let variables = policy.policy().version().expands_variables();
            let kind = policy.kind();
            for (si, (stmt, ast)) in policy.compiled_statements().iter().zip(policy.policy().statements()).enumerate() {
                let at = (pi as u32, si as u32);
                statements += 1;
                known.extend(stmt.listed_actions().iter().map(|a| &**a));
                let conditions: Box<[u32]> = stmt
                    .conditions
                    .iter()
                    .enumerate()
                    .map(|(ci, c)| self.condition(c, variables, (at.0, at.1, ci as u32)))
                    .collect();
                let mut key = std::mem::take(&mut self.key);
                key.clear();
                let _ = write!(key, "{}|{kind:?}|{variables}|", ast.effect.as_str());
                body_key(ast, &mut key);
                let mut sorted: SmallVec<[u32; 4]> = conditions.iter().copied().collect();
                sorted.sort_unstable();
                sorted.dedup();
                for id in sorted {
                    let _ = write!(key, "{id},");
                }
                let rule = match self.bodies.get(key.as_str()) {
                    Some(rule) => *rule,
                    None => {
                        let rule = self.rules.len() as u32;
                        self.bodies.insert(key.as_str().into(), rule);
                        self.rules.push(Rule { effect: stmt.effect, statements: Box::new([]), conditions });
                        self.statements_of.push(Vec::new());
                        self.effects.push(stmt.effect);
                        self.keys.push(stmt.index_key().into());
                        rule
                    }
                };
                self.key = key;
                if let Some(list) = self.statements_of.get_mut(rule as usize) {
                    list.push(at);
                }
                placements.push((rule, at, stmt, ast));
            }
        }
        known.sort_unstable();
        known.dedup();

        // Action → (rule, statement); wildcard and NotAction clauses resolved once per distinct
        // clause. Every known name gets a bucket, empty or not: only a name the set does not know
        // reads `open`. Statements are visited in set order, so a rule's first entry under a name
        // is the statement a decision reports.
        let mut by_action: FxHashMap<&str, Vec<Entry>> = known.iter().map(|n| (*n, Vec::new())).collect();
        let mut open: Vec<Entry> = Vec::new();
        let mut resolved: FxHashMap<(bool, &[String]), Vec<usize>> = FxHashMap::default();
        let mut file = |name: &str, entry: Entry| {
            if let Some(list) = by_action.get_mut(name) {
                list.push(entry);
            }
        };
        for (rule, at, stmt, ast) in placements {
            let entry = Entry { rule, reported: Some(at) };
            if stmt.action_is_open() {
                open.push(Entry { rule, reported: None });
                let clause = (ast.action.negated, ast.action.values.values.as_slice());
                let names = resolved.entry(clause).or_insert_with(|| {
                    known.iter().enumerate().filter(|(_, n)| stmt.action_matches(n)).map(|(i, _)| i).collect()
                });
                for &i in names.iter() {
                    if let Some(name) = known.get(i) {
                        file(name, entry);
                    }
                }
            } else {
                for name in stmt.listed_actions() {
                    file(name, entry);
                }
            }
        }
        let mut catalog: Vec<Bucket> = crate::catalog::ecr_actions_lower().iter().map(|_| Bucket::default()).collect();
        let mut actions = FxHashMap::default();
        for (name, entries) in by_action {
            let bucket = self.bucket(entries);
            match crate::catalog::ecr_action_index(name).and_then(|i| catalog.get_mut(i)) {
                Some(slot) => *slot = bucket,
                None => {
                    actions.insert(name.into(), bucket);
                }
            }
        }
        let catalog = catalog.into_boxed_slice();
        let open = self.bucket(open);
        let rules = self
            .rules
            .into_iter()
            .zip(self.statements_of)
            .map(|(rule, statements)| Rule { statements: statements.into_boxed_slice(), ..rule })
            .collect();
        PolicySet(Arc::new(SetData {
            policies,
            conditions: self.condition_at,
            rules,
            catalog,
            actions,
            open,
            statements,
        }))
    }

    /// The table entry for condition `c` (compiled under `variables`), added if new.
    fn condition(&mut self, c: &Condition, variables: bool, at: (u32, u32, u32)) -> u32 {
        let mut key = std::mem::take(&mut self.key);
        key.clear();
        let _ = write!(key, "{}|{}|{variables}|", c.operator_name, c.key_lower);
        for v in c.raw_values.iter() {
            push_value(&mut key, v);
        }
        let id = match self.conditions.get(key.as_str()) {
            Some(id) => *id,
            None => {
                let id = self.condition_at.len() as u32;
                self.conditions.insert(key.as_str().into(), id);
                self.condition_at.push(at);
                id
            }
        };
        self.key = key;
        id
    }

    /// Files `rules` by index key, Deny rules first in each list.
    fn bucket(&self, mut rules: Vec<Entry>) -> Bucket {
        // One entry per rule: the first, which names the rule's first statement with the action.
        rules.sort_by_key(|e| e.rule);
        rules.dedup_by_key(|e| e.rule);
        let mut always = Vec::new();
        let mut keyed: FxHashMap<Box<str>, Vec<Entry>> = FxHashMap::default();
        for entry in rules {
            match self.keys.get(entry.rule as usize).filter(|k| !k.is_empty()) {
                Some(key) => keyed.entry(key.clone()).or_default().push(entry),
                None => always.push(entry),
            }
        }
        let keyed = if keyed.len() <= FEW_KEYS {
            Keyed::Few(keyed.into_iter().map(|(k, v)| (k, self.list(v))).collect())
        } else {
            let mut lengths: Vec<usize> = keyed.keys().map(|k| k.len()).collect();
            lengths.sort_unstable();
            lengths.dedup();
            Keyed::Many {
                map: keyed.into_iter().map(|(k, v)| (k, self.list(v))).collect(),
                lengths: lengths.into_boxed_slice(),
            }
        };
        Bucket { always: self.list(always), keyed }
    }

    fn list(&self, mut rules: Vec<Entry>) -> List {
        let deny = |e: &Entry| self.effects.get(e.rule as usize) == Some(&Effect::Deny);
        rules.sort_by_key(|r| !deny(r));
        let denies = rules.iter().filter(|r| deny(r)).count();
        List { rules: rules.into_boxed_slice(), denies }
    }
}

/// Appends what a statement says apart from its effect, actions and conditions, unambiguously.
fn body_key(s: &Statement, key: &mut String) {
    match &s.principal {
        None => key.push('-'),
        Some(p) => {
            key.push(if p.negated { '!' } else { '+' });
            match &p.value {
                PrincipalValue::Any => key.push('*'),
                PrincipalValue::Map(map) => {
                    for (ty, values) in map {
                        key.push_str(ty.as_str());
                        key.push('=');
                        for v in &values.values {
                            push_value(key, v);
                        }
                        key.push(';');
                    }
                }
            }
        }
    }
    key.push('|');
    match &s.resource {
        None => key.push('-'),
        Some(r) => {
            key.push(if r.negated { '!' } else { '+' });
            for v in &r.values.values {
                push_value(key, v);
            }
        }
    }
    key.push('|');
}

/// Appends `value` length-prefixed, so no two lists of values give the same text.
fn push_value(key: &mut String, value: &str) {
    let _ = write!(key, "{}:{value}", value.len());
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ast::PolicyKind;

    fn identity(stmts: &[&str]) -> CompiledPolicy {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, stmts.join(","));
        CompiledPolicy::compile(&text, PolicyKind::Identity, "p").unwrap()
    }

    /// The statements (by index in the one policy) of the candidate rules for `action` on
    /// `resource_part` that have the action, sorted.
    fn candidates(set: &PolicySet, action: &str, resource_part: Option<&str>) -> Vec<u32> {
        let c = set.candidates(ActionKey::new(action), resource_part);
        let mut out: Vec<u32> = [Effect::Deny, Effect::Allow]
            .into_iter()
            .flat_map(|e| c.rules(e).collect::<Vec<_>>())
            .flat_map(|e| {
                set.rule_statements(set.rule(e.rule).unwrap(), action).map(|(at, _, _)| at.1).collect::<Vec<_>>()
            })
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn wildcard_actions_are_resolved_against_the_catalog_and_listed_names() {
        let set = PolicySet::from(identity(&[
            r#"{"Effect":"Allow","Action":["ecr:ListImages","ECR:BatchGetImage"],"Resource":"*"}"#,
            r#"{"Effect":"Deny","Action":["ecr:DeleteRepository"],"Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"ecr:Describe*","Resource":"*"}"#,
            r#"{"Effect":"Allow","NotAction":"ecr:PutImage","Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#,
        ]));
        assert_eq!(candidates(&set, "ecr:batchgetimage", None), [0, 3]);
        assert_eq!(candidates(&set, "ecr:describeimages", None), [2, 3]);
        assert_eq!(candidates(&set, "ecr:deleterepository", None), [1, 3]);
        assert!(candidates(&set, "ecr:putimage", None).is_empty());
        // A name a policy lists is resolved too, for the wildcard clauses of other statements.
        assert_eq!(candidates(&set, "s3:getobject", None), [3, 4, 5]);
        // A name nobody lists and the catalog lacks: the rules with open statements, whose
        // action clauses are checked at request time.
        let c = set.candidates(ActionKey::new("s3:getbucketacl"), None);
        assert!(c.open);
        assert_eq!(candidates(&set, "s3:getbucketacl", None), [3, 4]);
        // Five of the six say the same apart from their actions: two rules.
        assert_eq!(set.rule_count(), 2);
    }

    #[test]
    fn denies_come_first_and_resources_narrow_the_candidates() {
        let mut stmts = Vec::new();
        for i in 0..100 {
            stmts.push(format!(
                r#"{{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/repo-{i}"}}"#
            ));
        }
        stmts.push(r#"{"Effect":"Deny","Action":"ecr:*","Resource":"*"}"#.to_owned());
        let refs: Vec<&str> = stmts.iter().map(String::as_str).collect();
        let set = PolicySet::from(identity(&refs));
        assert_eq!(candidates(&set, "ecr:batchgetimage", Some("repository/repo-7")), [7, 100]);
        assert_eq!(candidates(&set, "ecr:batchgetimage", None), [100]);
        let c = set.candidates(ActionKey::new("ecr:batchgetimage"), Some("repository/repo-7"));
        assert_eq!(c.rules(Effect::Deny).count(), 1);
        assert_eq!(c.rules(Effect::Allow).count(), 1);
    }

    #[test]
    fn identical_bodies_and_conditions_are_merged() {
        let ip = r#""Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}"#;
        let set = PolicySet::from(identity(&[
            &format!(
                r#"{{"Effect":"Allow","Action":"ecr:PutImage","Resource":"arn:aws:ecr:*:1:repository/a/*",{ip}}}"#
            ),
            &format!(
                r#"{{"Effect":"Allow","Action":"ecr:ListImages","Resource":"arn:aws:ecr:*:1:repository/a/*",{ip}}}"#
            ),
            &format!(r#"{{"Effect":"Deny","Action":"ecr:PutImage","Resource":"arn:aws:ecr:*:1:repository/a/*",{ip}}}"#),
            r#"{"Effect":"Allow","Action":"ecr:PutImage","Resource":"arn:aws:ecr:*:1:repository/a/*"}"#,
        ]));
        assert_eq!(set.statement_count(), 4);
        assert_eq!(set.rule_count(), 3);
        assert_eq!(set.0.conditions.len(), 1);
        // The merged rule reports only the statements whose actions match.
        let rule = set.rule(0).unwrap();
        let names: Vec<u32> = set.rule_statements(rule, "ecr:listimages").map(|(at, _, _)| at.1).collect();
        assert_eq!(names, [1]);
    }
}
