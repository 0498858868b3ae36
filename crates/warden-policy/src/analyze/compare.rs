//! Change impact, decided over the whole request space: `CheckNoNewAccess` (does a new policy
//! allow any request the existing one does not?) and `CheckAccessNotGranted` (does a policy allow
//! any of these actions?), answered as IAM Access Analyzer answers them — PASS, or FAIL with the
//! statements responsible — plus concrete witness requests, each one a request the real
//! evaluator ([`crate::evaluate`]) decides as claimed.
//!
//! **Method: partition the request space by the policies' own literals.** A request is an
//! action, a resource and a value (or absence) for each condition key. Every statement of either
//! policy tests these through finitely many atomic predicates: glob patterns on the action and
//! resource, and one operator with its values per condition key. Two requests that agree on every
//! atomic predicate are decided alike by both policies, so it suffices to evaluate one request per
//! non-empty combination of predicate outcomes. Per dimension:
//!
//! - **action, resource, string keys**: the regions of the patterns, each with a shortest member,
//!   from the product automaton of the globs ([`super::strings`]); actions are compared
//!   case-insensitively, as IAM does; `StringEquals` values are literal patterns, `StringLike`
//!   values globs; `…IgnoreCase` operators fold case (mixed with case-sensitive operators on one
//!   key: not decided);
//! - **numbers**: each literal, a point between neighbours, and a point beyond each end;
//! - **booleans**: `true`, `false`;
//! - **dates**: as numbers, at nanosecond resolution (each literal instant, a point between
//!   neighbours, a second beyond each end);
//! - **IP addresses**: per address family, the first address of every interval the ranges'
//!   boundaries cut the family into (each address of an interval is in the same ranges);
//! - **every key**: also absent (for `Null`, `…IfExists`, and operators that fail on a missing
//!   key).
//!
//! The dimensions are sliced by action: for each action region, only the statements whose
//! `Action`/`NotAction` match it contribute resource regions and keys, so the product stays small
//! for policies with many statements. The space is then enumerated (at most
//! [`MAX_EVALUATIONS`] requests per check). A PASS is therefore a proof for every action,
//! resource and context. Keys that can hold several values (`aws:TagKeys`, or any key tested
//! with `ForAnyValue:`/`ForAllValues:`) range over sets: a set behaves as the regions its members
//! fall in, so every subset of the representatives (at most 2^10) is evaluated, with absence.
//! - **ARNs** (`ArnEquals`, `ArnLike`, …): the regions of each of the six colon-separated fields'
//!   patterns, combined, and one value that is not an ARN.
//!
//! - **callers of a resource policy**: in the owner's account, in every account the policies
//!   name (in `Principal` or `aws:PrincipalAccount`/`aws:PrincipalArn` conditions) and in one they
//!   do not name, a user, a role session and the root; and every user, role, session and service
//!   named. The caller's own keys (`aws:PrincipalArn`, `aws:PrincipalAccount`,
//!   `aws:PrincipalType`, …) come from the caller; a caller of another account is given an
//!   identity policy that allows everything, so that what is compared is what the resource policy
//!   grants.
//!
//! Not decided — answered UNKNOWN with the reason, never PASS — are: binary operators; policy
//! variables; wildcards in principals, patterns on `aws:PrincipalArn`, `aws:username`/`aws:userid`
//! in resource policies, federated and canonical-user principals; regions past the automaton's or
//! the enumeration's bound.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use serde::Serialize;

use super::strings::{regions, Glob};
use super::{Reason, Verdict};
use crate::ast::operator::{BaseOp, Operator, ValueType};
use crate::ast::{PolicyKind, PrincipalType, PrincipalValue, Statement, Version};
use crate::{
    evaluate, CompiledPolicy, Context, ContextKeyType, Outcome, Policies, PolicyError, PolicySet, Principal, Request,
};

/// Regions of one multi-valued key at most (its representatives are every subset of them).
const MAX_SET_REGIONS: usize = 10;

/// Requests evaluated at most by one check.
pub const MAX_EVALUATIONS: usize = 2_000_000;
/// Witnesses printed at most per responsible statement.
pub const WITNESSES_PER_STATEMENT: usize = 3;

/// The account witnesses run in: the caller and the resource's owner.
const ACCOUNT: &str = "111122223333";
/// The caller of witness requests.
const CALLER: &str = "arn:aws:iam::111122223333:user/analysis";

/// Keys whose requests may carry several values: single-valued witnesses would not cover them.
const MULTI_VALUED: &[&str] =
    &["aws:tagkeys", "aws:calledvia", "aws:principalorgpaths", "aws:principalservicenameslist", "aws:sourceorgpaths"];

/// One concrete request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Witness {
    /// The caller.
    pub principal: String,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The condition keys the request carries (keys the policies test and this request lacks
    /// are absent).
    pub context: BTreeMap<String, String>,
}

/// The witnesses of one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementWitnesses {
    /// The policy of the new set it is in (when the set has several).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_index: Option<usize>,
    /// The statement of the new (or checked) policy that allows them.
    pub statement_index: usize,
    /// Its `Sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<String>,
    /// Requests it allows that it should not (at most [`WITNESSES_PER_STATEMENT`]).
    pub requests: Vec<Witness>,
}

/// The answer of a check, shaped as Access Analyzer's (`result`, `message`, `reasons`), with the
/// witnesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// PASS, FAIL or UNKNOWN.
    pub result: Verdict,
    /// One sentence.
    pub message: String,
    /// The statements behind the answer (for UNKNOWN, what is not decided).
    pub reasons: Vec<Reason>,
    /// The witness requests, by statement.
    pub witnesses: Vec<StatementWitnesses>,
    /// Requests evaluated.
    pub evaluated: usize,
    /// Milliseconds taken.
    pub millis: u128,
}

/// One side of a check: its policies (a caller's several policies apply together).
struct Compiled {
    policies: Vec<CompiledPolicy>,
    set: PolicySet,
}

fn compile(texts: &[String], kind: PolicyKind, side: &str) -> Result<Compiled, PolicyError> {
    let policies = texts
        .iter()
        .enumerate()
        .map(|(i, t)| CompiledPolicy::compile(t, kind, &format!("{side}-{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Compiled { set: PolicySet::new(policies.clone()), policies })
}

fn unknown(reason: String, started: Instant) -> CheckResult {
    CheckResult {
        result: Verdict::Unknown,
        message: "The check could not be decided.".into(),
        reasons: vec![Reason { description: reason, statement_index: 0, statement_id: None, policy_index: None }],
        witnesses: Vec::new(),
        evaluated: 0,
        millis: started.elapsed().as_millis(),
    }
}

/// Whether `new` allows any request `existing` does not (`kind`: both documents' kind: identity
/// or resource). FAIL carries, per statement of `new`, witness requests that `new` allows and
/// `existing` does not.
pub fn check_no_new_access(existing: &str, new: &str, kind: PolicyKind) -> Result<CheckResult, PolicyError> {
    check_no_new_access_in_sets(&[existing.to_owned()], &[new.to_owned()], kind)
}

/// [`check_no_new_access`] for sets of policies that apply together (a caller's identity
/// policies): the reasons and witnesses name the new set's policy (`policyIndex`) and statement.
pub fn check_no_new_access_in_sets(
    existing: &[String],
    new: &[String],
    kind: PolicyKind,
) -> Result<CheckResult, PolicyError> {
    let started = Instant::now();
    let old = compile(existing, kind, "existing")?;
    let new = compile(new, kind, "new")?;
    let all: Vec<&CompiledPolicy> = old.policies.iter().chain(new.policies.iter()).collect();
    let result = match space(&all, None, is_resource(kind)) {
        Err(reason) => unknown(reason, started),
        Ok(space) => run(&space, &new, Some(&old), kind, started),
    };
    Ok(result)
}

/// Whether `policy` allows any of `actions` (on any of `resources`, or any resource when none is
/// given). FAIL carries the witnesses, per statement.
pub fn check_access_not_granted(
    policy: &str,
    kind: PolicyKind,
    actions: &[String],
    resources: &[String],
) -> Result<CheckResult, PolicyError> {
    let started = Instant::now();
    let p = compile(&[policy.to_owned()], kind, "policy")?;
    let fixed = Fixed { actions: actions.to_vec(), resources: resources.to_vec() };
    let all: Vec<&CompiledPolicy> = p.policies.iter().collect();
    let result = match space(&all, Some(&fixed), is_resource(kind)) {
        Err(reason) => unknown(reason, started),
        Ok(space) => run(&space, &p, None, kind, started),
    };
    Ok(result)
}

fn is_resource(kind: PolicyKind) -> bool {
    matches!(kind, PolicyKind::Resource | PolicyKind::Repository)
}

/// Actions and resources given by the caller instead of derived from the policies.
struct Fixed {
    actions: Vec<String>,
    resources: Vec<String>,
}

/// One condition key's representative values (`None`: absent).
#[derive(Debug, Clone)]
struct KeyDim {
    name: String,
    ty: ContextKeyType,
    /// `None`: absent; a list of one value for single-valued keys.
    values: Vec<Option<Vec<String>>>,
}

/// The request space, sliced by action.
struct Space {
    /// The callers: one for identity policies (whoever they are attached to); for resource
    /// policies, a caller of each kind from each account and each principal the policies name.
    principals: Vec<String>,
    /// Per action representative: the resources and keys that matter for it.
    slices: Vec<(String, Vec<String>, Vec<KeyDim>)>,
}

/// Keys that describe the caller as the request context carries them: fixed by the principal in
/// resource-policy checks (free in identity-policy checks, whose caller is anyone).
const PRINCIPAL_KEYS: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:username",
    "aws:userid",
    "aws:principalisawsservice",
    "aws:principalservicename",
];

/// An account no policy names: "everyone else".
const OTHER_ACCOUNT: &str = "999999999999";

/// The callers a resource policy must be checked for: in every account it names (and the
/// owner's, and one it does not name) a user, a role session and the root; each user, role and
/// session it names; each service.
fn principal_reps(all: &[&Statement]) -> Result<Vec<String>, String> {
    let mut accounts: BTreeSet<String> = [ACCOUNT.to_owned(), OTHER_ACCOUNT.to_owned()].into();
    let mut named: BTreeSet<String> = BTreeSet::new();
    let account_of = |v: &str| -> Option<String> {
        let a = if v.starts_with("arn:") { v.split(':').nth(4)? } else { v };
        (a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).then(|| a.to_owned())
    };
    for (i, s) in all.iter().enumerate() {
        if let Some(p) = s.principal() {
            if let PrincipalValue::Map(entries) = p.value() {
                for (kind, values) in entries {
                    for v in values.values() {
                        match kind {
                            PrincipalType::Aws if v == "*" => {}
                            PrincipalType::Aws => {
                                if v.contains(['*', '?']) {
                                    return Err(format!(
                                        "statement {i}: a wildcard in the principal `{v}` is not decided"
                                    ));
                                }
                                let a = account_of(v).ok_or_else(|| format!("statement {i}: principal `{v}`"))?;
                                accounts.insert(a);
                                if v.starts_with("arn:") && !v.ends_with(":root") {
                                    named.insert(v.clone());
                                }
                            }
                            PrincipalType::Service => {
                                named.insert(v.clone());
                            }
                            _ => return Err(format!("statement {i}: a {} principal is not decided", kind.as_str())),
                        }
                    }
                }
            }
        }
        for block in s.condition() {
            for e in block.entries() {
                let key = e.key().to_ascii_lowercase();
                match key.as_str() {
                    "aws:principalaccount" => accounts.extend(e.values().iter().filter_map(|v| account_of(v))),
                    "aws:principalarn" => {
                        for v in e.values() {
                            if v.contains(['*', '?']) {
                                return Err(format!("statement {i}: a pattern on aws:PrincipalArn is not decided"));
                            }
                            if let Some(a) = account_of(v) {
                                accounts.insert(a);
                            }
                            named.insert(v.clone());
                        }
                    }
                    "aws:username" | "aws:userid" | "aws:principalservicename" => {
                        return Err(format!("statement {i}: {} in a resource policy is not decided", e.key()))
                    }
                    _ => {}
                }
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for a in &accounts {
        out.push(format!("arn:aws:iam::{a}:user/analysis"));
        out.push(format!("arn:aws:iam::{a}:role/analysis"));
        out.push(format!("arn:aws:iam::{a}:root"));
    }
    out.extend(named);
    Ok(out)
}

/// The statements of `policies`, with the policy each is in.
fn statements<'a>(policies: &[&'a CompiledPolicy]) -> Vec<&'a Statement> {
    policies.iter().flat_map(|p| p.policy().statements().iter()).collect()
}

fn action_globs(s: &Statement) -> Vec<Glob> {
    s.action().values().iter().map(|v| Glob { text: v.to_lowercase(), wildcards: true }).collect()
}

/// A statement's `Action`/`NotAction`, compiled once.
struct ActionMatcher {
    patterns: Vec<crate::compile::wildcard::Pattern>,
    negated: bool,
}

impl ActionMatcher {
    fn of(s: &Statement) -> ActionMatcher {
        ActionMatcher {
            patterns: action_globs(s)
                .iter()
                .map(|g| {
                    crate::compile::wildcard::Pattern::new(
                        &g.text,
                        crate::compile::wildcard::Case::Sensitive,
                        g.wildcards,
                        false,
                    )
                })
                .collect(),
            negated: s.action().is_negated(),
        }
    }

    /// Whether the statement applies to `action` (lower-cased).
    fn applies(&self, action: &str) -> bool {
        self.patterns.iter().any(|p| p.matches_plain(action)) != self.negated
    }
}

fn space(policies: &[&CompiledPolicy], fixed: Option<&Fixed>, resource_side: bool) -> Result<Space, String> {
    let all = statements(policies);
    let variables = policies.iter().any(|p| p.policy().version() == Version::V2012_10_17);
    for (i, s) in all.iter().enumerate() {
        let texts = s.action().values().iter().chain(s.resource().map(|r| r.values()).unwrap_or(&[]).iter());
        if variables && texts.clone().any(|t| t.contains("${")) {
            return Err(format!("statement {i}: policy variables are not decided"));
        }
    }
    let principals = if resource_side { principal_reps(&all)? } else { vec![CALLER.to_owned()] };
    // Action representatives: one per region of every Action/NotAction pattern.
    let actions: Vec<String> = match fixed {
        Some(f) => f.actions.iter().map(|a| a.to_lowercase()).collect(),
        None => {
            let mut globs: Vec<Glob> = all.iter().flat_map(|s| action_globs(s)).collect();
            globs.sort();
            globs.dedup();
            regions(&globs).ok_or("too many action regions")?.into_values().collect()
        }
    };
    let mut resource_cache: HashMap<Vec<Glob>, Vec<String>> = HashMap::new();
    let mut slices = Vec::new();
    let matchers: Vec<ActionMatcher> = all.iter().map(|s| ActionMatcher::of(s)).collect();
    for action in actions {
        let relevant: Vec<&Statement> =
            all.iter().zip(&matchers).filter(|(_, m)| m.applies(&action)).map(|(s, _)| *s).collect();
        let resources = match fixed.filter(|f| !f.resources.is_empty()) {
            Some(f) => f.resources.clone(),
            None => {
                let mut globs: Vec<Glob> = relevant
                    .iter()
                    .flat_map(|s| s.resource().map(|r| r.values().to_vec()).unwrap_or_default())
                    .map(|v| Glob { text: v, wildcards: true })
                    .collect();
                globs.sort();
                globs.dedup();
                match resource_cache.get(&globs) {
                    Some(r) => r.clone(),
                    None => {
                        let r: Vec<String> =
                            regions(&globs).ok_or("too many resource regions")?.into_values().collect();
                        resource_cache.insert(globs, r.clone());
                        r
                    }
                }
            }
        };
        let keys: Vec<KeyDim> = key_dims(&relevant, variables)?
            .into_iter()
            .filter(|d| !(resource_side && PRINCIPAL_KEYS.contains(&d.name.to_ascii_lowercase().as_str())))
            .collect();
        slices.push((action, resources, keys));
    }
    Ok(Space { principals, slices })
}

/// A key as first written, and each operator that tests it with its values.
type KeyUses = (String, Vec<(Operator, Vec<String>)>);

/// The condition keys `statements` test, with their representatives.
fn key_dims(statements: &[&Statement], variables: bool) -> Result<Vec<KeyDim>, String> {
    // key (lower-cased) → (name as first written, operators with their values)
    let mut keys: BTreeMap<String, KeyUses> = BTreeMap::new();
    for s in statements {
        for block in s.condition() {
            let op = Operator::parse(block.operator()).ok_or_else(|| format!("operator {}", block.operator()))?;
            for e in block.entries() {
                let entry =
                    keys.entry(e.key().to_ascii_lowercase()).or_insert_with(|| (e.key().to_owned(), Vec::new()));
                entry.1.push((op, e.values().to_vec()));
            }
        }
    }
    let mut dims = Vec::new();
    for (lower, (name, uses)) in keys {
        let not = |what: &str| Err(format!("{name}: {what} is not decided"));
        // A key that can hold several values (or is tested with a set qualifier) ranges over sets
        // of values: a set behaves as the regions its members fall in, so every subset of the
        // regions' representatives is one representative set.
        let multi = MULTI_VALUED.contains(&lower.as_str()) || uses.iter().any(|(op, _)| op.set.is_some());
        if variables && uses.iter().any(|(_, vals)| vals.iter().any(|v| v.contains("${"))) {
            return not("a policy variable");
        }
        let families: BTreeSet<&'static str> = uses
            .iter()
            .filter(|(op, _)| op.base != BaseOp::Null)
            .map(|(op, _)| match (op.value_type(), op.base) {
                (ValueType::String, BaseOp::StringEqualsIgnoreCase | BaseOp::StringNotEqualsIgnoreCase) => "string-ic",
                (ValueType::String, _) => "string",
                (ValueType::Number, _) => "number",
                (ValueType::Bool, _) => "bool",
                (ValueType::Date, _) => "date",
                (ValueType::Ip, _) => "ip",
                (ValueType::Arn, _) => "arn",
                (ValueType::Binary, _) => "binary",
                (ValueType::Null, _) => "null",
            })
            .collect();
        let mut values: Vec<Option<String>> = Vec::new();
        let ty = match families.iter().copied().collect::<Vec<_>>().as_slice() {
            [] => {
                values.push(Some("present".into()));
                ContextKeyType::String
            }
            [fam @ ("string" | "string-ic")] => {
                let fold = *fam == "string-ic";
                let mut globs: Vec<Glob> = uses
                    .iter()
                    .filter(|(op, _)| op.base != BaseOp::Null)
                    .flat_map(|(op, vals)| {
                        let wildcards = matches!(op.base, BaseOp::StringLike | BaseOp::StringNotLike);
                        vals.iter()
                            .map(move |v| Glob { text: if fold { v.to_lowercase() } else { v.clone() }, wildcards })
                    })
                    .collect();
                globs.sort();
                globs.dedup();
                let r = regions(&globs).ok_or_else(|| format!("{name}: too many regions"))?;
                values.extend(r.into_values().map(Some));
                ContextKeyType::String
            }
            ["number"] => {
                let mut nums: Vec<f64> = Vec::new();
                for (op, vals) in &uses {
                    if op.base == BaseOp::Null {
                        continue;
                    }
                    for v in vals {
                        nums.push(v.trim().parse::<f64>().map_err(|_| format!("{name}: `{v}` is not a number"))?);
                    }
                }
                nums.sort_by(f64::total_cmp);
                nums.dedup();
                let mut reps: Vec<f64> = nums.clone();
                for w in nums.windows(2) {
                    if let [a, b] = w {
                        reps.push(a + (b - a) / 2.0);
                    }
                }
                if let (Some(lo), Some(hi)) = (nums.first(), nums.last()) {
                    reps.push(lo - 1.0);
                    reps.push(hi + 1.0);
                }
                values.extend(reps.into_iter().map(|n| Some(n.to_string())));
                ContextKeyType::Numeric
            }
            ["bool"] => {
                values.extend([Some("true".into()), Some("false".into())]);
                ContextKeyType::Boolean
            }
            ["date"] => {
                let mut instants: Vec<i128> = Vec::new();
                for (op, vals) in &uses {
                    if op.base == BaseOp::Null {
                        continue;
                    }
                    for v in vals {
                        instants
                            .push(crate::date::parse(v.trim()).ok_or_else(|| format!("{name}: `{v}` is not a date"))?);
                    }
                }
                instants.sort_unstable();
                instants.dedup();
                let mut reps: BTreeSet<i128> = instants.iter().copied().collect();
                for w in instants.windows(2) {
                    if let [a, b] = w {
                        reps.insert(a + (b - a) / 2);
                    }
                }
                if let (Some(lo), Some(hi)) = (instants.first(), instants.last()) {
                    reps.insert(lo - 1_000_000_000);
                    reps.insert(hi + 1_000_000_000);
                }
                for ns in reps {
                    let secs = i64::try_from(ns.div_euclid(1_000_000_000))
                        .map_err(|_| format!("{name}: date out of range"))?;
                    let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).unwrap_or(0);
                    let t = chrono::DateTime::from_timestamp(secs, nanos)
                        .ok_or_else(|| format!("{name}: date out of range"))?;
                    values.push(Some(t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()));
                }
                ContextKeyType::Date
            }
            ["arn"] => {
                // ArnEquals/ArnLike compare each of the six colon-separated fields on its own, with
                // `*` and `?` in each: the regions of each field's patterns, combined.
                let mut fields: Vec<Vec<Glob>> = vec![Vec::new(); 6];
                for (op, vals) in &uses {
                    if op.base == BaseOp::Null {
                        continue;
                    }
                    for v in vals {
                        let parts: Vec<&str> = v.splitn(6, ':').collect();
                        if parts.len() == 6 {
                            for (field, part) in fields.iter_mut().zip(parts) {
                                field.push(Glob { text: part.to_owned(), wildcards: true });
                            }
                        }
                    }
                }
                let mut combos: Vec<String> = vec![String::new()];
                for (i, field) in fields.iter_mut().enumerate() {
                    field.sort();
                    field.dedup();
                    let reps: Vec<String> =
                        regions(field).ok_or_else(|| format!("{name}: too many regions"))?.into_values().collect();
                    let mut next = Vec::new();
                    for c in &combos {
                        for r in &reps {
                            next.push(if i == 0 { r.clone() } else { format!("{c}:{r}") });
                        }
                    }
                    if next.len() > 100_000 {
                        return not("an ARN space of more than 100,000 regions");
                    }
                    combos = next;
                }
                values.extend(combos.into_iter().map(Some));
                // A value that is not an ARN (fewer than six fields) matches no ARN pattern.
                values.push(Some("not-an-arn".into()));
                ContextKeyType::String
            }
            ["ip"] => {
                let mut cidrs = Vec::new();
                for (op, vals) in &uses {
                    if op.base == BaseOp::Null {
                        continue;
                    }
                    for v in vals {
                        cidrs.push(
                            crate::ast::operator::parse_cidr(v.trim())
                                .ok_or_else(|| format!("{name}: `{v}` is not a CIDR"))?,
                        );
                    }
                }
                values.extend(ip_representatives(&cidrs).into_iter().map(Some));
                ContextKeyType::Ip
            }
            [one] => return not(&format!("a {one} operator")),
            _ => return not("operators of several families on one key"),
        };
        let singles: Vec<String> = values.into_iter().flatten().collect();
        let values: Vec<Option<Vec<String>>> = if multi {
            if singles.len() > MAX_SET_REGIONS {
                return not(&format!("a set over {} regions (more than {MAX_SET_REGIONS})", singles.len()));
            }
            let mut sets = vec![None];
            for mask in 0u32..(1u32 << singles.len()) {
                let set: Vec<String> =
                    singles.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, v)| v.clone()).collect();
                sets.push(Some(set));
            }
            sets
        } else {
            std::iter::once(None).chain(singles.into_iter().map(|v| Some(vec![v]))).collect()
        };
        let ty = if multi { crate::request::list_type(ty) } else { ty };
        dims.push(KeyDim { name, ty, values });
    }
    Ok(dims)
}

/// One address in each interval the ranges' boundaries cut each address family into: every
/// address of an interval is in exactly the same ranges.
fn ip_representatives(cidrs: &[ipnet::IpNet]) -> Vec<String> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let mut v4: BTreeSet<u128> = BTreeSet::from([0]);
    let mut v6: BTreeSet<u128> = BTreeSet::from([0]);
    for net in cidrs {
        let (set, start, end, max) = match net {
            ipnet::IpNet::V4(n) => (
                &mut v4,
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
                u128::from(u32::MAX),
            ),
            ipnet::IpNet::V6(n) => (&mut v6, u128::from(n.network()), u128::from(n.broadcast()), u128::MAX),
        };
        set.insert(start);
        if end < max {
            set.insert(end + 1);
        }
    }
    let v4 = v4.into_iter().filter_map(|a| u32::try_from(a).ok()).map(|a| IpAddr::V4(Ipv4Addr::from(a)).to_string());
    let v6 = v6.into_iter().map(|a| IpAddr::V6(Ipv6Addr::from(a)).to_string());
    v4.chain(v6).collect()
}

/// Enumerates the space: requests `subject` allows (and `baseline`, when given, does not).
fn run(
    space: &Space,
    subject: &Compiled,
    baseline: Option<&Compiled>,
    kind: PolicyKind,
    started: Instant,
) -> CheckResult {
    let per_principal: usize = space
        .slices
        .iter()
        .map(|(_, r, k)| k.iter().fold(r.len(), |n, d| n.saturating_mul(d.values.len())))
        .fold(0usize, usize::saturating_add);
    let total = per_principal.saturating_mul(space.principals.len());
    if total > MAX_EVALUATIONS {
        return unknown(format!("the request space has {total} regions, more than {MAX_EVALUATIONS}"), started);
    }
    let resource_side = is_resource(kind);
    let empty = PolicySet::default();
    // A caller of another account needs its own account's allow too: assume it has one, so that
    // what is checked is what the resource policy grants.
    let Ok(anything) = CompiledPolicy::compile(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
        "the caller's own account",
    ) else {
        return unknown("the caller's policy does not compile".into(), started);
    };
    let anything = PolicySet::from(anything);
    let mut evaluated = 0usize;
    let mut by_statement: BTreeMap<(usize, usize), Vec<Witness>> = BTreeMap::new();
    for principal_arn in &space.principals {
        let Ok(principal) = Principal::parse(principal_arn) else {
            return unknown(format!("the principal `{principal_arn}` does not parse"), started);
        };
        let base = if resource_side {
            match crate::request::principal_context(&principal, None, &[], None) {
                Ok(c) => std::sync::Arc::new(c),
                Err(e) => return unknown(format!("{principal_arn}: {e}"), started),
            }
        } else {
            std::sync::Arc::new(Context::new())
        };
        let own = if resource_side && !principal.account().is_empty() && principal.account() != ACCOUNT {
            &anything
        } else {
            &empty
        };
        fn policies_for<'a>(resource_side: bool, own: &'a PolicySet, set: &'a PolicySet) -> Policies<'a> {
            if resource_side {
                Policies { identity: own, boundary: None, session: None, resource: Some(set) }
            } else {
                Policies::identity(set)
            }
        }
        for (action, resources, keys) in &space.slices {
            for resource in resources {
                let visited = for_each_context(keys, &base, |ctx, shown| {
                    let req =
                        Request { principal: &principal, action, resource, resource_account: ACCOUNT, context: ctx };
                    evaluated += 1;
                    let decision = evaluate(&policies_for(resource_side, own, &subject.set), &req);
                    let fails = decision.outcome == Outcome::Allowed
                        && baseline.is_none_or(|b| {
                            evaluate(&policies_for(resource_side, own, &b.set), &req).outcome != Outcome::Allowed
                        });
                    if !fails {
                        return;
                    }
                    // The statement of the checked policy that allowed it.
                    let at_statement = decision.matched.iter().find_map(|m| {
                        subject.policies.iter().position(|p| p.id() == m.policy.id()).map(|policy| (policy, m.index))
                    });
                    let list = by_statement.entry(at_statement.unwrap_or((0, 0))).or_default();
                    if list.len() < WITNESSES_PER_STATEMENT {
                        list.push(Witness {
                            principal: principal_arn.clone(),
                            action: action.clone(),
                            resource: resource.clone(),
                            context: shown.clone(),
                        });
                    }
                });
                if let Err(reason) = visited {
                    return unknown(reason, started);
                }
            }
        }
    }
    let sid = |(p, i): (usize, usize)| {
        subject.policies.get(p).and_then(|c| c.policy().statements().get(i)).and_then(|s| s.sid()).map(str::to_owned)
    };
    let several = subject.policies.len() > 1;
    if by_statement.is_empty() {
        let message = if baseline.is_some() {
            "The modified permissions grant no new access compared to your existing policy."
        } else {
            "The policy document does not grant access to perform the listed actions or resources."
        };
        return CheckResult {
            result: Verdict::Pass,
            message: message.into(),
            reasons: Vec::new(),
            witnesses: Vec::new(),
            evaluated,
            millis: started.elapsed().as_millis(),
        };
    }
    let (message, what) = if baseline.is_some() {
        ("The modified permissions grant new access compared to your existing policy.", "New access")
    } else {
        ("The policy document grants access to perform one or more of the listed actions or resources.", "Access")
    };
    CheckResult {
        result: Verdict::Fail,
        message: message.into(),
        reasons: by_statement
            .keys()
            .map(|&(p, i)| Reason {
                description: if several {
                    format!("{what} in the statement with index: {i} of the policy with index: {p}.")
                } else {
                    format!("{what} in the statement with index: {i}.")
                },
                statement_index: i,
                statement_id: sid((p, i)),
                policy_index: several.then_some(p),
            })
            .collect(),
        witnesses: by_statement
            .into_iter()
            .map(|((p, i), requests)| StatementWitnesses {
                policy_index: several.then_some(p),
                statement_index: i,
                statement_id: sid((p, i)),
                requests,
            })
            .collect(),
        evaluated,
        millis: started.elapsed().as_millis(),
    }
}

/// Calls `visit` with every combination of the keys' representatives: the context (over `base`)
/// and the keys as a witness shows them. A representative the context refuses is an error, never
/// skipped: its region would go unchecked.
fn for_each_context(
    keys: &[KeyDim],
    base: &std::sync::Arc<Context>,
    mut visit: impl FnMut(&Context, &BTreeMap<String, String>),
) -> Result<(), String> {
    // An odometer over the keys' representatives.
    let mut at = vec![0usize; keys.len()];
    loop {
        let mut ctx = Context::on_layers(std::slice::from_ref(base));
        let mut shown = BTreeMap::new();
        for (dim, &i) in keys.iter().zip(&at) {
            if let Some(Some(v)) = dim.values.get(i) {
                ctx.insert(&dim.name, dim.ty, v).map_err(|e| format!("{}: {e}", dim.name))?;
                shown.insert(dim.name.clone(), v.join(","));
            }
        }
        visit(&ctx, &shown);
        let mut k = 0;
        while let Some(slot) = at.get_mut(k) {
            *slot += 1;
            if keys.get(k).is_some_and(|d| *slot < d.values.len()) {
                break;
            }
            *slot = 0;
            k += 1;
        }
        if k >= keys.len() {
            return Ok(());
        }
    }
}

/// Keys that describe the caller: fixed by who the principal is, never free.
fn is_principal_key(lower: &str) -> bool {
    lower.starts_with("aws:principal") || lower == "aws:username" || lower == "aws:userid"
}

/// Under which conditions a principal may perform one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Allowing {
    /// Allowed whatever the request's other condition keys say.
    pub always: bool,
    /// Contexts that allow it (at most the number asked for), one per region of the condition
    /// keys the policies test; empty when nothing allows it.
    pub contexts: Vec<BTreeMap<String, String>>,
    /// Requests evaluated.
    pub evaluated: usize,
}

/// Under which conditions `policies` let `principal` perform `action` on `resource`: every region
/// of the condition keys the applicable statements test is evaluated, the principal's own keys
/// (`aws:PrincipalTag/*`, `aws:username`, …) taken from `base` rather than varied. `Err` names
/// what the method does not decide.
pub fn allowing(
    policies: &Policies<'_>,
    principal: &Principal,
    base: &std::sync::Arc<Context>,
    action: &str,
    resource: &str,
    resource_account: &str,
    max_contexts: usize,
) -> Result<Allowing, String> {
    let sets = [Some(policies.identity), policies.boundary, policies.session, policies.resource];
    let all: Vec<&Statement> = sets
        .iter()
        .flatten()
        .flat_map(|set| set.policies().iter())
        .flat_map(|p| p.policy().statements().iter())
        .collect();
    let action_lower = action.to_lowercase();
    let relevant: Vec<&Statement> =
        all.iter().copied().filter(|s| ActionMatcher::of(s).applies(&action_lower)).collect();
    let variables = sets
        .iter()
        .flatten()
        .flat_map(|set| set.policies().iter())
        .any(|p| p.policy().version() == Version::V2012_10_17);
    let keys: Vec<KeyDim> = key_dims(&relevant, variables)?
        .into_iter()
        .filter(|d| !is_principal_key(&d.name.to_ascii_lowercase()))
        .collect();
    let total = keys.iter().fold(1usize, |n, d| n.saturating_mul(d.values.len()));
    if total > MAX_EVALUATIONS {
        return Err(format!("{total} condition regions, more than {MAX_EVALUATIONS}"));
    }
    let mut out = Allowing { always: true, contexts: Vec::new(), evaluated: 0 };
    for_each_context(&keys, base, |ctx, shown| {
        let req = Request { principal, action, resource, resource_account, context: ctx };
        out.evaluated += 1;
        if evaluate(policies, &req).outcome == Outcome::Allowed {
            if out.contexts.len() < max_contexts {
                out.contexts.push(shown.clone());
            }
        } else {
            out.always = false;
        }
    })?;
    if out.contexts.is_empty() {
        out.always = false;
    }
    Ok(out)
}

/// One line of an effective-permissions summary: the actions of an action region, the resources
/// of a resource region, and whether (always, or under which conditions) they are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// The `Action` patterns the region's actions match (a witness action when none).
    pub actions: Vec<String>,
    /// A concrete action of the region.
    pub example_action: String,
    /// The `Resource` patterns the region's resources match.
    pub resources: Vec<String>,
    /// A concrete resource of the region.
    pub example_resource: String,
    /// Under which conditions.
    pub allowing: Allowing,
}

/// What `principal` may do under `policies` (identity, boundary, session; no resource policy):
/// one line per action region and resource region that some context allows.
pub fn effective_permissions(
    policies: &Policies<'_>,
    principal: &Principal,
    base: &std::sync::Arc<Context>,
    max_contexts: usize,
) -> Result<Vec<Permission>, String> {
    let sets = [Some(policies.identity), policies.boundary, policies.session];
    let compiled: Vec<&CompiledPolicy> = sets.iter().flatten().flat_map(|set| set.policies().iter()).collect();
    let all = statements(&compiled);
    let mut action_globs_all: Vec<Glob> = all.iter().flat_map(|s| action_globs(s)).collect();
    action_globs_all.sort();
    action_globs_all.dedup();
    let action_regions = regions(&action_globs_all).ok_or("too many action regions")?;
    let matchers: Vec<ActionMatcher> = all.iter().map(|s| ActionMatcher::of(s)).collect();
    let mut out = Vec::new();
    for (flags, action) in action_regions {
        let relevant: Vec<&Statement> =
            all.iter().zip(&matchers).filter(|(_, m)| m.applies(&action)).map(|(s, _)| *s).collect();
        if !relevant.iter().any(|s| s.effect() == crate::ast::Effect::Allow) {
            continue;
        }
        let mut res_globs: Vec<Glob> = relevant
            .iter()
            .flat_map(|s| s.resource().map(|r| r.values().to_vec()).unwrap_or_default())
            .map(|v| Glob { text: v, wildcards: true })
            .collect();
        res_globs.sort();
        res_globs.dedup();
        let resource_regions = regions(&res_globs).ok_or("too many resource regions")?;
        for (rflags, resource) in resource_regions {
            let account = crate::arn::Arn::parse(&resource)
                .map(|a| a.account.to_owned())
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| principal.account().to_owned());
            let allowing = allowing(policies, principal, base, &action, &resource, &account, max_contexts)?;
            if allowing.contexts.is_empty() {
                continue;
            }
            out.push(Permission {
                actions: action_globs_all
                    .iter()
                    .zip(&flags)
                    .filter(|(_, f)| **f)
                    .map(|(g, _)| g.text.clone())
                    .collect(),
                example_action: action.clone(),
                resources: res_globs.iter().zip(&rflags).filter(|(_, f)| **f).map(|(g, _)| g.text.clone()).collect(),
                example_resource: resource,
                allowing,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Strings up to length `n` over `alphabet`.
    fn strings(alphabet: &[char], n: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..n {
            last = last.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            out.extend(last.iter().cloned());
        }
        out
    }

    /// Whether some request of the small universe is allowed by `new` and not by `old` (`old`
    /// `None`: allowed by `new` at all), decided by the evaluator.
    fn brute_force(old: Option<&str>, new: &str, actions: Option<&[String]>) -> bool {
        let compile = |t: &str| PolicySet::from(CompiledPolicy::compile(t, PolicyKind::Identity, "p").unwrap());
        let (old, new) = (old.map(compile), compile(new));
        let caller = Principal::parse(CALLER).unwrap();
        let mut all_actions: Vec<String> = vec![String::new(), "q".into(), "t:a".into()];
        all_actions.extend(strings(&['a', 'b', 'c'], 3).into_iter().map(|s| format!("s:{s}")));
        let actions: Vec<String> = actions.map(<[String]>::to_vec).unwrap_or(all_actions);
        let mut resources: Vec<String> = vec![String::new(), "q".into()];
        resources.extend(strings(&['x', 'y', 'z'], 2).into_iter().map(|s| format!("arn:aws:s:::{s}")));
        let mut k = vec![None];
        k.extend(strings(&['a', 'b', 'c'], 2).into_iter().map(Some));
        let mut n = vec![None];
        n.extend((0..=6).map(|i| Some(i.to_string())));
        let b = [None, Some("true"), Some("false")];
        for a in &actions {
            for r in &resources {
                for kv in &k {
                    for nv in &n {
                        for bv in &b {
                            let mut ctx = Context::new();
                            if let Some(v) = kv {
                                ctx.insert("k", ContextKeyType::String, &[v.as_str()]).unwrap();
                            }
                            if let Some(v) = nv {
                                ctx.insert("n", ContextKeyType::Numeric, &[v.as_str()]).unwrap();
                            }
                            if let Some(v) = bv {
                                ctx.insert("b", ContextKeyType::Boolean, &[*v]).unwrap();
                            }
                            let req = Request {
                                principal: &caller,
                                action: a,
                                resource: r,
                                resource_account: ACCOUNT,
                                context: &ctx,
                            };
                            let allowed =
                                |s: &PolicySet| evaluate(&Policies::identity(s), &req).outcome == Outcome::Allowed;
                            if allowed(&new) && old.as_ref().is_none_or(|o| !allowed(o)) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    fn statement() -> impl Strategy<Value = String> {
        let action = prop::sample::select(vec!["s:a", "s:b", "s:a*", "s:*a", "s:?", "*", "s:ab", "s:a?", "s:*"]);
        let resource = prop::sample::select(vec![
            "arn:aws:s:::x",
            "arn:aws:s:::y",
            "arn:aws:s:::x*",
            "*",
            "arn:aws:s:::?y",
            "arn:aws:s:::*y",
        ]);
        let condition = prop::sample::select(vec![
            "",
            r#""StringEquals":{"k":"a"}"#,
            r#""StringLike":{"k":"a*"}"#,
            r#""StringNotEquals":{"k":["a","b"]}"#,
            r#""StringNotLike":{"k":"*b"}"#,
            r#""StringEqualsIfExists":{"k":"b"}"#,
            r#""NumericLessThan":{"n":"3"}"#,
            r#""NumericGreaterThanEquals":{"n":["1","5"]}"#,
            r#""NumericEquals":{"n":"3"}"#,
            r#""NumericNotEquals":{"n":"5"}"#,
            r#""Bool":{"b":"true"}"#,
            r#""Null":{"k":"true"}"#,
            r#""Null":{"n":"false"}"#,
            r#""StringLike":{"k":"a*"},"NumericLessThanEquals":{"n":"5"}"#,
        ]);
        (any::<bool>(), any::<bool>(), action, any::<bool>(), resource, condition).prop_map(
            |(deny, not_action, action, not_resource, resource, condition)| {
                format!(
                    r#"{{"Effect":"{}","{}":"{action}","{}":"{resource}","Condition":{{{condition}}}}}"#,
                    if deny { "Deny" } else { "Allow" },
                    if not_action { "NotAction" } else { "Action" },
                    if not_resource { "NotResource" } else { "Resource" },
                )
            },
        )
    }

    fn policy() -> impl Strategy<Value = String> {
        prop::collection::vec(statement(), 1..4)
            .prop_map(|s| format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, s.join(",")))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// No-new-access agrees with exhaustive enumeration through the evaluator; every witness
        /// re-evaluates as claimed; nothing in this fragment is left undecided.
        #[test]
        fn no_new_access_agrees_with_brute_force(old in policy(), new in policy()) {
            let check = check_no_new_access(&old, &new, PolicyKind::Identity).unwrap();
            prop_assert_ne!(check.result, Verdict::Unknown, "{:?}", check.reasons);
            let brute = brute_force(Some(&old), &new, None);
            prop_assert_eq!(check.result == Verdict::Fail, brute, "old {} new {}", old, new);
            let compile = |t: &str| PolicySet::from(CompiledPolicy::compile(t, PolicyKind::Identity, "p").unwrap());
            let (o, n) = (compile(&old), compile(&new));
            let caller = Principal::parse(CALLER).unwrap();
            for w in check.witnesses.iter().flat_map(|s| &s.requests) {
                let mut ctx = Context::new();
                for (k, v) in &w.context {
                    // A key only tested with Null is witnessed as a string ("present").
                    let ty = match (k.as_str(), v.as_str()) {
                        (_, "present") => ContextKeyType::String,
                        ("n", _) => ContextKeyType::Numeric,
                        ("b", _) => ContextKeyType::Boolean,
                        _ => ContextKeyType::String,
                    };
                    ctx.insert(k, ty, &[v.as_str()]).unwrap();
                }
                let req = Request { principal: &caller, action: &w.action, resource: &w.resource, resource_account: ACCOUNT, context: &ctx };
                prop_assert_eq!(evaluate(&Policies::identity(&n), &req).outcome, Outcome::Allowed);
                prop_assert_ne!(evaluate(&Policies::identity(&o), &req).outcome, Outcome::Allowed);
            }
        }

        /// Access-not-granted agrees with exhaustive enumeration.
        #[test]
        fn access_not_granted_agrees_with_brute_force(p in policy(), action in prop::sample::select(vec!["s:a", "s:ab", "s:b", "s:c", "t:a"])) {
            let actions = vec![action.to_owned()];
            let check = check_access_not_granted(&p, PolicyKind::Identity, &actions, &[]).unwrap();
            prop_assert_ne!(check.result, Verdict::Unknown);
            prop_assert_eq!(check.result == Verdict::Fail, brute_force(None, &p, Some(&actions)), "{}", p);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// IP ranges: the analysis agrees with every address of a universe that holds each
        /// range's edges and their neighbours, in both families.
        #[test]
        fn ip_ranges_agree_with_brute_force(
            old in prop::collection::vec((any::<bool>(), any::<bool>(), 0usize..4), 1..3),
            new in prop::collection::vec((any::<bool>(), any::<bool>(), 0usize..4), 1..3),
        ) {
            let nets = ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.7", "2001:db8::/32"];
            let doc = |stmts: &[(bool, bool, usize)]| {
                let body: Vec<String> = stmts.iter().map(|(deny, not, n)| format!(
                    r#"{{"Effect":"{}","Action":"s:a","Resource":"*","Condition":{{"{}":{{"i":"{}"}}}}}}"#,
                    if *deny { "Deny" } else { "Allow" }, if *not { "NotIpAddress" } else { "IpAddress" }, nets[*n])).collect();
                format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","))
            };
            let (old, new) = (doc(&old), doc(&new));
            let check = check_no_new_access(&old, &new, PolicyKind::Identity).unwrap();
            prop_assert_ne!(check.result, Verdict::Unknown);
            let compile = |t: &str| PolicySet::from(CompiledPolicy::compile(t, PolicyKind::Identity, "p").unwrap());
            let (o, n) = (compile(&old), compile(&new));
            let caller = Principal::parse(CALLER).unwrap();
            let universe = [None, Some("9.255.255.255"), Some("10.0.0.0"), Some("10.0.255.255"), Some("10.1.0.0"),
                Some("10.1.255.255"), Some("10.2.0.0"), Some("10.255.255.255"), Some("11.0.0.0"), Some("192.168.1.6"),
                Some("192.168.1.7"), Some("192.168.1.8"), Some("::1"), Some("2001:db8::1"), Some("2001:db9::")];
            let brute = universe.iter().any(|ip| {
                let mut ctx = Context::new();
                if let Some(ip) = ip { ctx.insert("i", ContextKeyType::Ip, &[*ip]).unwrap(); }
                let req = Request { principal: &caller, action: "s:a", resource: "arn:aws:s:::x", resource_account: ACCOUNT, context: &ctx };
                evaluate(&Policies::identity(&n), &req).outcome == Outcome::Allowed
                    && evaluate(&Policies::identity(&o), &req).outcome != Outcome::Allowed
            });
            prop_assert_eq!(check.result == Verdict::Fail, brute, "old {} new {}", old, new);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Dates and sets of values (set qualifiers, a multi-valued key): the analysis agrees with
        /// brute force over a universe holding every literal's neighbourhood and every subset.
        #[test]
        fn dates_and_sets_agree_with_brute_force(
            old in prop::collection::vec((any::<bool>(), 0usize..8), 1..3),
            new in prop::collection::vec((any::<bool>(), 0usize..8), 1..3),
        ) {
            let conditions = [
                r#""DateLessThan":{"d":"2021-01-01T00:00:00Z"}"#,
                r#""DateGreaterThanEquals":{"d":["2020-01-01","1640995200"]}"#,
                r#""ForAnyValue:StringEquals":{"t":["a","b"]}"#,
                r#""ForAllValues:StringLike":{"t":"a*"}"#,
                r#""StringEquals":{"t":"c"}"#,
                r#""ForAnyValue:StringNotEquals":{"t":"a"}"#,
                r#""ArnLike":{"r":"arn:aws:s3:::x*"}"#,
                r#""ArnNotEquals":{"r":["arn:aws:s?:*:1:y","arn:aws:s3:::xy"]}"#,
            ];
            let doc = |stmts: &[(bool, usize)]| {
                let body: Vec<String> = stmts.iter().map(|(deny, c)| format!(
                    r#"{{"Effect":"{}","Action":"s:a","Resource":"*","Condition":{{{}}}}}"#,
                    if *deny { "Deny" } else { "Allow" }, conditions[*c])).collect();
                format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","))
            };
            let (old, new) = (doc(&old), doc(&new));
            let check = check_no_new_access(&old, &new, PolicyKind::Identity).unwrap();
            prop_assert_ne!(check.result, Verdict::Unknown, "{:?}", check.reasons);
            let compile = |t: &str| PolicySet::from(CompiledPolicy::compile(t, PolicyKind::Identity, "p").unwrap());
            let (o, n) = (compile(&old), compile(&new));
            let caller = Principal::parse(CALLER).unwrap();
            let dates = [None, Some("2019-12-31T23:59:59Z"), Some("2020-01-01T00:00:00Z"), Some("2020-06-01T00:00:00Z"),
                Some("2021-01-01T00:00:00Z"), Some("2021-06-01T00:00:00Z"), Some("2022-01-01T00:00:00Z"), Some("2023-01-01T00:00:00Z")];
            let members = ["a", "b", "c", "ab"];
            let mut sets: Vec<Option<Vec<&str>>> = vec![None];
            for mask in 0u32..16 {
                sets.push(Some(members.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, m)| *m).collect()));
            }
            let arns = [None, Some("x"), Some("arn:aws:s3:::x"), Some("arn:aws:s3:::xy"), Some("arn:aws:s3:::y"),
                Some("arn:aws:s4:q:1:y"), Some("arn:aws:s4::1:y"), Some("arn:aws:s44:q:1:y"), Some("arn:aws:s3:q:1:x:z")];
            let mut brute = false;
            for d in &dates {
                for t in &sets {
                  for r in &arns {
                    let mut ctx = Context::new();
                    if let Some(d) = d { ctx.insert("d", ContextKeyType::Date, &[*d]).unwrap(); }
                    if let Some(t) = t { ctx.insert("t", ContextKeyType::StringList, t).unwrap(); }
                    if let Some(r) = r { ctx.insert("r", ContextKeyType::String, &[*r]).unwrap(); }
                    let req = Request { principal: &caller, action: "s:a", resource: "arn:aws:s:::x", resource_account: ACCOUNT, context: &ctx };
                    if evaluate(&Policies::identity(&n), &req).outcome == Outcome::Allowed
                        && evaluate(&Policies::identity(&o), &req).outcome != Outcome::Allowed {
                        brute = true;
                    }
                  }
                }
            }
            prop_assert_eq!(check.result == Verdict::Fail, brute, "old {} new {}", old, new);
        }
    }

    fn example(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../../policies/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn repository_policies_are_compared_per_principal() {
        let public = example("repository-allow-all-accounts-pull.json");
        let partner = example("repository-allow-other-accounts-push.json");
        // Making a partner's push policy a public pull policy: new access for everyone else.
        let check = check_no_new_access(&partner, &public, PolicyKind::Repository).unwrap();
        assert_eq!(check.result, Verdict::Fail, "{check:?}");
        let w = &check.witnesses[0].requests[0];
        assert!(w.principal.contains(":999999999999:") || w.principal.contains(":111122223333:"), "{w:?}");
        assert_eq!(check_no_new_access(&public, &public, PolicyKind::Repository).unwrap().result, Verdict::Pass);
        // The public pull policy grants the partner nothing it could not pull before… but not push.
        let check = check_no_new_access(&public, &partner, PolicyKind::Repository).unwrap();
        assert_eq!(check.result, Verdict::Fail);
        assert!(check.witnesses.iter().flat_map(|g| &g.requests).all(|w| w.principal.contains(":444455556666:")));
        // A new named user: the witness is that user.
        let users = example("repository-allow-iam-users-push-pull.json");
        let with_more = users.replace(
            "\"arn:aws:iam::account-id:user/push-pull-user-2\"",
            "\"arn:aws:iam::account-id:user/push-pull-user-2\", \"arn:aws:iam::444455556666:user/new-user\"",
        );
        if with_more != users {
            let check = check_no_new_access(&users, &with_more, PolicyKind::Repository).unwrap();
            assert_eq!(check.result, Verdict::Fail, "{check:?}");
        }
        // A pattern on aws:PrincipalArn is not decided.
        let pattern = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage",
            "Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/ci-*"}}}]}"#;
        assert_eq!(check_no_new_access(&partner, pattern, PolicyKind::Repository).unwrap().result, Verdict::Unknown);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Resource policies: agreement with brute force over callers of three accounts (user,
        /// role session, root, named ones), with the caller's own account allowing everything for
        /// cross-account callers.
        #[test]
        fn resource_policies_agree_with_brute_force(
            old in prop::collection::vec((any::<bool>(), 0usize..5, 0usize..4), 1..3),
            new in prop::collection::vec((any::<bool>(), 0usize..5, 0usize..4), 1..3),
        ) {
            let principals = [
                r#""*""#,
                r#"{"AWS":"444455556666"}"#,
                r#"{"AWS":"arn:aws:iam::444455556666:user/bob"}"#,
                r#"{"AWS":"arn:aws:iam::111122223333:role/ci"}"#,
                r#"{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::555566667777:root"]}"#,
            ];
            let conditions = [
                "",
                r#""StringEquals":{"aws:PrincipalAccount":"444455556666"}"#,
                r#""StringNotEquals":{"aws:PrincipalType":"AssumedRole"}"#,
                r#""Bool":{"aws:SecureTransport":"true"}"#,
            ];
            let doc = |stmts: &[(bool, usize, usize)]| {
                let body: Vec<String> = stmts.iter().map(|(deny, p, c)| format!(
                    r#"{{"Effect":"{}","Principal":{},"Action":"ecr:BatchGetImage","Condition":{{{}}}}}"#,
                    if *deny { "Deny" } else { "Allow" }, principals[*p], conditions[*c])).collect();
                format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","))
            };
            let (old, new) = (doc(&old), doc(&new));
            let check = check_no_new_access(&old, &new, PolicyKind::Repository).unwrap();
            prop_assert_ne!(check.result, Verdict::Unknown, "{:?}", check.reasons);
            let compile = |t: &str| PolicySet::from(CompiledPolicy::compile(t, PolicyKind::Repository, "p").unwrap());
            let (o, n) = (compile(&old), compile(&new));
            let anything = PolicySet::from(CompiledPolicy::compile(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                PolicyKind::Identity, "any").unwrap());
            let empty = PolicySet::default();
            let callers = [
                "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/ci", "arn:aws:iam::111122223333:role/other",
                "arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:user/bob", "arn:aws:iam::444455556666:user/eve",
                "arn:aws:iam::444455556666:role/r", "arn:aws:iam::444455556666:root", "arn:aws:iam::555566667777:user/u",
                "arn:aws:iam::555566667777:role/r", "arn:aws:iam::555566667777:root",
                "arn:aws:iam::123456789012:user/z", "arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:root",
            ];
            let mut brute = false;
            for c in callers {
                let principal = Principal::parse(c).unwrap();
                let own = if principal.account() == ACCOUNT { &empty } else { &anything };
                for secure in [None, Some("true"), Some("false")] {
                    let mut ctx = Context::on_layers(&[std::sync::Arc::new(
                        crate::request::principal_context(&principal, None, &[], None).unwrap())]);
                    if let Some(v) = secure { ctx.insert("aws:SecureTransport", ContextKeyType::Boolean, &[v]).unwrap(); }
                    let req = Request { principal: &principal, action: "ecr:BatchGetImage",
                        resource: "arn:aws:ecr:us-east-1:111122223333:repository/r", resource_account: ACCOUNT, context: &ctx };
                    let allowed = |set: &PolicySet| evaluate(&Policies { identity: own, boundary: None, session: None, resource: Some(set) }, &req).outcome == Outcome::Allowed;
                    if allowed(&n) && !allowed(&o) { brute = true; }
                }
            }
            prop_assert_eq!(check.result == Verdict::Fail, brute, "old {} new {}", old, new);
        }
    }

    #[test]
    fn undecided_constructs_are_unknown() {
        let p = |cond: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{cond}}}]}}"#
            )
        };
        let base = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s:a","Resource":"*"}]}"#;
        for cond in [
            r#"{"BinaryEquals":{"k":"QmluYXJ5"}}"#,
            r#"{"StringEquals":{"k":"${aws:username}"}}"#,
            r#"{"StringEquals":{"k":"a"},"StringEqualsIgnoreCase":{"k":"B"}}"#,
        ] {
            let check = check_no_new_access(base, &p(cond), PolicyKind::Identity).unwrap();
            assert_eq!(check.result, Verdict::Unknown, "{cond}");
        }
    }

    #[test]
    fn a_new_allow_is_found_with_a_witness_and_its_statement() {
        let old =
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}"#;
        let new = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"},
            {"Sid":"Push","Effect":"Allow","Action":"ecr:Put*","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team/*",
             "Condition":{"StringEquals":{"aws:PrincipalTag/team":"build"}}}]}"#;
        let check = check_no_new_access(old, new, PolicyKind::Identity).unwrap();
        assert_eq!(check.result, Verdict::Fail);
        assert_eq!(check.reasons[0].statement_index, 1);
        assert_eq!(check.reasons[0].statement_id.as_deref(), Some("Push"));
        let w = &check.witnesses[0].requests[0];
        assert!(w.action.starts_with("ecr:put"), "{w:?}");
        assert!(w.resource.starts_with("arn:aws:ecr:us-east-1:111122223333:repository/team/"), "{w:?}");
        assert_eq!(w.context.get("aws:PrincipalTag/team").map(String::as_str), Some("build"));
        // The reverse direction grants nothing new.
        assert_eq!(check_no_new_access(new, old, PolicyKind::Identity).unwrap().result, Verdict::Pass);
    }
}
