//! AWS's evaluation logic for one action on one resource.
//!
//! ```text
//! 1  any matching Deny in any applicable policy                           → explicitDeny
//!    (a resource-policy Deny applies when its Principal names the caller in any way;
//!     Deny + NotPrincipal always applies to a caller with a permissions boundary)
//! 2  id = root user, or an identity policy allows;  pb = no boundary, or it allows;
//!    sp = no session policy, or it allows;  rp = strongest resource-policy Allow match
//! 3  service principal:  allowed iff rp = Direct
//!    same account:       allowed iff (id ∧ pb ∧ sp) ∨ rp = Direct ∨ (rp = Role ∧ pb ∧ sp)
//!                        (rp = Account only delegates to the account's IAM: it adds nothing)
//!    cross account:      allowed iff (id ∧ pb ∧ sp) ∧ rp ≠ None
//! 4  otherwise                                                            → implicitDeny
//! ```
//!
//! Sources: IAM User Guide "Policy evaluation logic" (single account, resource-based policies,
//! permissions boundaries, session policies) and "Cross-account policy evaluation logic";
//! iam-semantics.md §1 and §9.1. Statement and policy order never matter.
//!
//! The decision path allocates nothing unless more than four statements match or more than four
//! condition keys are missing (the small vectors spill); patterns, values and the index were all
//! built at compile time.

use rustc_hash::FxHashSet;
use smallvec::SmallVec;

mod decision;
mod matcher;
#[cfg(test)]
mod reference;
mod trace;

pub(crate) use matcher::{all_misses, first_miss, Asked, Miss};
pub use trace::{trace, StatementOutcome, Trace, TraceEntry};

use crate::ast::Effect;
use crate::compile::condition::Condition;
use crate::compile::{lowercase_action, ActionKey, Candidates, Entry, Memo, PolicySet};
use crate::context::Context;
use crate::principal::{MatchClass, Principal, PrincipalKind};
pub use decision::{Decision, MatchedStatement, Outcome, PolicyRole, Reason, SideDetails};
use matcher::{Event, Flow};

/// What is asked.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// One concrete action (`ecr:BatchGetImage`).
    pub action: &'a str,
    /// The resource ARN, or `*` for actions that take no resource.
    pub resource: &'a str,
    /// The account that owns the resource; same-account rules apply when it equals the caller's.
    pub resource_account: &'a str,
    /// Condition keys.
    pub context: &'a Context,
}

/// The policies that apply to a request.
#[derive(Debug, Clone, Copy)]
pub struct Policies<'p> {
    /// The caller's identity-based policies.
    pub identity: &'p PolicySet,
    /// The caller's permissions boundary.
    pub boundary: Option<&'p PolicySet>,
    /// The caller's session policy.
    pub session: Option<&'p PolicySet>,
    /// The resource's resource-based policy.
    pub resource: Option<&'p PolicySet>,
}

impl<'p> Policies<'p> {
    /// Only identity policies.
    pub fn identity(identity: &'p PolicySet) -> Policies<'p> {
        Policies { identity, boundary: None, session: None, resource: None }
    }
}

#[derive(Default)]
struct Scan<'p> {
    denies: SmallVec<[MatchedStatement<'p>; 4]>,
    allows: SmallVec<[MatchedStatement<'p>; 4]>,
    identity_allow: bool,
    boundary_allow: bool,
    session_allow: bool,
    resource_class: Option<MatchClass>,
    /// Deny matched on the principal's side (identity, boundary, session).
    principal_side_deny: bool,
    missing: SmallVec<[&'p str; 4]>,
    /// The lower-cased keys in `missing` (a set, so that noting a key stays O(1)).
    missing_lower: FxHashSet<&'p str>,
}

impl<'p> Scan<'p> {
    /// Records that condition `c` read a key the request lacks, each key once (keys ignore case).
    fn note_missing(&mut self, c: &'p Condition) {
        if self.missing_lower.insert(&c.key_lower) {
            self.missing.push(&c.key);
        }
    }
}

/// The sets a request reads, in the order they are scanned and a deny is reported: resource,
/// identity, boundary, session. A resource-based policy is attached to a resource: a request for
/// no resource (`*`, the wildcard-only actions such as ecr:GetAuthorizationToken) never reaches it
/// (ECR User Guide, repository policies; iam-semantics.md §2.5).
fn groups<'p>(policies: &Policies<'p>, req: &Request<'_>) -> [(Option<&'p PolicySet>, PolicyRole); 4] {
    [
        (policies.resource.filter(|_| req.resource != "*"), PolicyRole::Resource),
        (Some(policies.identity), PolicyRole::Identity),
        (policies.boundary, PolicyRole::Boundary),
        (policies.session, PolicyRole::Session),
    ]
}

/// Evaluates `request` against `policies`: the decision path.
///
/// Reads only the statements the index offers for the request's action and resource, each
/// distinct condition at most once, and stops as soon as the outcome is settled: at the first
/// applicable Deny, and otherwise at the first applicable Allow of each policy type (the
/// strongest, for a resource policy). So [`Decision::matched`] holds the statements that settled
/// the decision, not every statement that matches, `missing_context` is empty and `sides` is
/// `None`; [`evaluate_all`] reports all of them, with the same outcome and reason.
///
/// ```
/// use warden_policy::{evaluate, CompiledPolicy, Context, Outcome, Policies, PolicyKind, PolicySet, Principal, Request};
/// let identity = PolicySet::from(CompiledPolicy::compile(
///     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team/*"}}"#,
///     PolicyKind::Identity, "pull").unwrap());
/// let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
/// let ctx = Context::new();
/// let req = Request { principal: &alice, action: "ecr:BatchGetImage",
///                     resource: "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
///                     resource_account: "111122223333", context: &ctx };
/// assert_eq!(evaluate(&Policies::identity(&identity), &req).outcome, Outcome::Allowed);
/// ```
pub fn evaluate<'p>(policies: &Policies<'p>, req: &Request<'_>) -> Decision<'p> {
    let mut buf = [0u8; 128];
    let action = lowercase_action(req.action, &mut buf);
    let asked = Asked::new(req, &action, policies.boundary.is_some());
    let part = asked.arn.map(|a| a.arn.resource);
    let key = ActionKey::new(&action);
    let mut read: SmallVec<[(&'p PolicySet, PolicyRole, Candidates<'p>, Memo); 4]> = SmallVec::new();
    for (set, role) in groups(policies, req) {
        if let Some(set) = set {
            read.push((set, role, set.candidates(key, part), Memo::new(set)));
        }
    }
    let mut scan = Scan::default();
    // An applicable Deny anywhere settles it.
    for (set, role, candidates, memo) in read.iter_mut() {
        for entry in candidates.rules(Effect::Deny) {
            if let Some((stmt, _)) = first_match(set, entry, *role, &asked, memo) {
                scan.denies.push(stmt);
                return decide(policies, req, scan, false);
            }
        }
    }
    // Then one Allow per policy type, the strongest for the resource policy.
    let caller = req.principal.kind();
    for (set, role, candidates, memo) in read.iter_mut() {
        if *role == PolicyRole::Resource {
            // Same account, the principal's side can decide alone; the resource policy is read
            // after it (below) when it could still matter.
            continue;
        }
        for entry in candidates.rules(Effect::Allow) {
            if let Some((stmt, _)) = first_match(set, entry, *role, &asked, memo) {
                match role {
                    PolicyRole::Identity => {
                        scan.identity_allow = true;
                        scan.allows.push(stmt);
                    }
                    PolicyRole::Boundary => scan.boundary_allow = true,
                    PolicyRole::Session => scan.session_allow = true,
                    PolicyRole::Resource => {}
                }
                break;
            }
        }
    }
    let (id_ok, pb_ok, sp_ok) = principal_side(policies, caller, &scan);
    let principal_side_alone = !cross_account(req) && caller != PrincipalKind::Service && id_ok && pb_ok && sp_ok;
    if !principal_side_alone {
        if let Some((set, role, candidates, memo)) = read.iter_mut().find(|r| r.1 == PolicyRole::Resource) {
            for entry in candidates.rules(Effect::Allow) {
                if let Some((stmt, class)) = first_match(set, entry, *role, &asked, memo) {
                    if Some(class) > scan.resource_class {
                        scan.resource_class = Some(class);
                        scan.allows.push(stmt);
                    }
                    if class == MatchClass::Direct {
                        break;
                    }
                }
            }
        }
    }
    decide(policies, req, scan, false)
}

/// Rule `id` of `set` against `asked`, stopping at the first failure; when it applies, the first
/// of its statements with the request's action, and the class it names the caller with.
fn first_match<'p>(
    set: &'p PolicySet,
    entry: Entry,
    role: PolicyRole,
    asked: &Asked<'_>,
    memo: &mut Memo,
) -> Option<(MatchedStatement<'p>, MatchClass)> {
    let rule = set.rule(entry.rule)?;
    // The statement to report: filed with the entry for an action the index knows; otherwise the
    // rule applies only through a statement whose action clause matches, so look for one before
    // reading the rest.
    let (at, policy) = match entry.reported {
        Some(at) => (at, set.statement(at)?.0),
        None => set.rule_statements(rule, asked.action).next().map(|(at, p, _)| (at, p))?,
    };
    let (_, _, stmt) = set.representative(rule)?;
    let class = matcher::check(
        stmt,
        role,
        asked,
        false,
        |i, c| memo.evaluate(PolicySet::condition_id(rule, i), c, asked.context),
        |e| match e {
            Event::Miss(_) => Flow::Stop,
            Event::MissingKey(_) => Flow::Continue,
        },
    )?;
    Some((MatchedStatement { policy, role, index: at.1 as usize }, class))
}

/// Evaluates `request` against `policies` reading every statement that can apply: the same
/// outcome and reason as [`evaluate`], with every matching statement in
/// [`Decision::matched`] (policy order), every missing condition key, and the per-side results
/// of a cross-account request. The simulator's path.
pub fn evaluate_all<'p>(policies: &Policies<'p>, req: &Request<'_>) -> Decision<'p> {
    let mut buf = [0u8; 128];
    let action = lowercase_action(req.action, &mut buf);
    let asked = Asked::new(req, &action, policies.boundary.is_some());
    let part = asked.arn.map(|a| a.arn.resource);
    let key = ActionKey::new(&action);
    let mut scan = Scan::default();
    for (set, role) in groups(policies, req) {
        let Some(set) = set else { continue };
        let candidates = set.candidates(key, part);
        let mut memo = Memo::new(set);
        let mut found: SmallVec<[Found<'p>; 8]> = SmallVec::new();
        for entry in candidates.rules(Effect::Deny).chain(candidates.rules(Effect::Allow)) {
            let Some(rule) = set.rule(entry.rule) else { continue };
            if candidates.open && set.rule_statements(rule, &action).next().is_none() {
                continue;
            }
            let Some((_, _, stmt)) = set.representative(rule) else { continue };
            // Every condition is read (no short-circuit) so that all missing keys are reported.
            let class = matcher::check(
                stmt,
                role,
                &asked,
                false,
                |i, c| memo.evaluate(PolicySet::condition_id(rule, i), c, asked.context),
                |e| match e {
                    Event::Miss(Miss::Condition { .. }) => Flow::Continue,
                    Event::Miss(_) => Flow::Stop,
                    Event::MissingKey(c) => {
                        scan.note_missing(c);
                        Flow::Continue
                    }
                },
            );
            let Some(class) = class else { continue };
            for (at, policy, _) in set.rule_statements(rule, &action) {
                found.push((at, MatchedStatement { policy, role, index: at.1 as usize }, rule.effect, class));
            }
        }
        found.sort_by_key(|(order, ..)| *order);
        for (_, matched, effect, class) in found {
            if effect == Effect::Deny {
                if role != PolicyRole::Resource {
                    scan.principal_side_deny = true;
                }
                scan.denies.push(matched);
                continue;
            }
            match role {
                PolicyRole::Identity => {
                    scan.identity_allow = true;
                    scan.allows.push(matched);
                }
                PolicyRole::Boundary => scan.boundary_allow = true,
                PolicyRole::Session => scan.session_allow = true,
                PolicyRole::Resource => {
                    scan.resource_class = scan.resource_class.max(Some(class));
                    scan.allows.push(matched);
                }
            }
        }
    }
    decide(policies, req, scan, true)
}

/// A matching statement of the full scan: its (policy, statement) position for ordering, the
/// statement, its effect and how it names the caller.
type Found<'p> = ((u32, u32), MatchedStatement<'p>, Effect, MatchClass);

/// True when the caller's account differs from the resource owner's. A simulation without a
/// caller is evaluated in the resource's account.
fn cross_account(req: &Request<'_>) -> bool {
    !req.resource_account.is_empty()
        && !matches!(req.principal.kind(), PrincipalKind::Service | PrincipalKind::Unspecified)
        && req.principal.account() != req.resource_account
}

/// The principal's side: (an identity policy allows or the caller is the root user, no boundary
/// or it allows, no session policy or it allows). A federated-user session created without a
/// session policy has no permissions (STS GetFederationToken: "If you do not pass a policy to this
/// operation, the resulting federated user session has no permissions").
fn principal_side(policies: &Policies<'_>, caller: PrincipalKind, scan: &Scan<'_>) -> (bool, bool, bool) {
    let id_ok = caller == PrincipalKind::Root || scan.identity_allow;
    let pb_ok = policies.boundary.is_none() || scan.boundary_allow;
    let sp_ok = match policies.session {
        Some(_) => scan.session_allow,
        None => caller != PrincipalKind::FederatedUser,
    };
    (id_ok, pb_ok, sp_ok)
}

/// The outcome and reason from what the scan found; with `sides`, the per-side results of a
/// cross-account request too (only a full scan knows them).
fn decide<'p>(policies: &Policies<'p>, req: &Request<'_>, scan: Scan<'p>, sides: bool) -> Decision<'p> {
    let caller = req.principal;
    let cross_account = cross_account(req);
    let boundary_allowed = policies.boundary.map(|_| scan.boundary_allow);
    let root = caller.kind() == PrincipalKind::Root;
    let (id_ok, pb_ok, sp_ok) = principal_side(policies, caller.kind(), &scan);
    let rp = scan.resource_class.unwrap_or(MatchClass::None);
    let principal_side = id_ok && pb_ok && sp_ok;
    let mut decision = Decision {
        outcome: Outcome::ImplicitDeny,
        reason: Reason::NoIdentityAllow,
        matched: SmallVec::new(),
        missing_context: scan.missing,
        cross_account,
        sides: None,
        boundary_allowed,
    };
    if cross_account && sides {
        let resource_deny = scan.denies.iter().any(|d| d.role == PolicyRole::Resource);
        let side = |deny: bool, ok: bool| match (deny, ok) {
            (true, _) => Outcome::ExplicitDeny,
            (false, true) => Outcome::Allowed,
            (false, false) => Outcome::ImplicitDeny,
        };
        decision.sides = Some(SideDetails {
            identity: side(scan.principal_side_deny, principal_side),
            resource: side(resource_deny, rp != MatchClass::None),
        });
    }
    if let Some(first) = scan.denies.first() {
        // AWS names one policy type; a resource-policy deny is reported first, then identity,
        // boundary, session (the order the scan visits them).
        decision.outcome = Outcome::ExplicitDeny;
        decision.reason = Reason::ExplicitDeny(first.role);
        decision.matched = scan.denies;
        return decision;
    }
    let allowed_by = if caller.kind() == PrincipalKind::Service {
        (rp == MatchClass::Direct).then_some(Reason::ResourceAllow)
    } else if cross_account {
        (principal_side && rp != MatchClass::None).then_some(Reason::BothSidesAllow)
    } else if principal_side {
        Some(if scan.identity_allow || !root { Reason::IdentityAllow } else { Reason::RootUser })
    } else if rp == MatchClass::Direct || (rp == MatchClass::Role && pb_ok && sp_ok) {
        Some(Reason::ResourceAllow)
    } else {
        None
    };
    match allowed_by {
        Some(reason) => {
            decision.outcome = Outcome::Allowed;
            decision.reason = reason;
            decision.matched = scan.allows;
        }
        None => {
            decision.reason = if caller.kind() == PrincipalKind::Service || (cross_account && principal_side) {
                Reason::NoResourceAllow
            } else if !id_ok && !(rp == MatchClass::Role && (!pb_ok || !sp_ok)) {
                Reason::NoIdentityAllow
            } else if !pb_ok {
                Reason::NoBoundaryAllow
            } else if !sp_ok {
                Reason::NoSessionAllow
            } else {
                Reason::NoIdentityAllow
            };
        }
    }
    decision
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ast::PolicyKind;
    use crate::compile::CompiledPolicy;

    const R: &str = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";

    fn set(text: &str, kind: PolicyKind) -> PolicySet {
        PolicySet::from(CompiledPolicy::compile(text, kind, "p").unwrap())
    }

    #[test]
    fn denial_messages_use_aws_wording() {
        let identity = set(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ecr:*","Resource":"*"}}"#,
            PolicyKind::Identity,
        );
        let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let ctx = Context::new();
        let req = Request {
            principal: &alice,
            action: "ecr:PutImage",
            resource: R,
            resource_account: "111122223333",
            context: &ctx,
        };
        let d = evaluate(&Policies::identity(&identity), &req);
        assert_eq!(
            d.denial_message(alice.arn(), "ecr:PutImage", R).unwrap(),
            format!("User: arn:aws:iam::111122223333:user/alice is not authorized to perform: ecr:PutImage on resource: {R} with an explicit deny in an identity-based policy")
        );
        let empty = PolicySet::default();
        let d = evaluate(&Policies::identity(&empty), &req);
        assert!(d
            .denial_message(alice.arn(), "ecr:PutImage", R)
            .unwrap()
            .ends_with("because no identity-based policy allows the ecr:PutImage action"));

        // Cross-account: the identity side allows, the repository policy does not.
        let bob = Principal::parse("arn:aws:iam::444455556666:user/bob").unwrap();
        let all = set(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
            PolicyKind::Identity,
        );
        let req = Request { principal: &bob, ..req };
        let d = evaluate(&Policies::identity(&all), &req);
        assert_eq!(d.reason, Reason::NoResourceAllow);
        assert!(d
            .denial_message(bob.arn(), "ecr:PutImage", R)
            .unwrap()
            .ends_with("because no resource-based policy allows the ecr:PutImage action"));
    }

    #[test]
    fn boundary_limits_are_reported() {
        let all = set(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
            PolicyKind::Identity,
        );
        let boundary = set(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            PolicyKind::Boundary,
        );
        let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let ctx = Context::new();
        let req = Request {
            principal: &alice,
            action: "ecr:PutImage",
            resource: R,
            resource_account: "111122223333",
            context: &ctx,
        };
        let d = evaluate(&Policies { identity: &all, boundary: Some(&boundary), session: None, resource: None }, &req);
        assert_eq!(
            (d.outcome, d.reason, d.boundary_allowed),
            (Outcome::ImplicitDeny, Reason::NoBoundaryAllow, Some(false))
        );
    }

    #[test]
    fn trace_says_why_each_statement_did_or_did_not_match() {
        let identity = set(
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"Push","Effect":"Allow","Action":"ecr:PutImage","Resource":"*"},
                {"Sid":"Other","Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:*:*:repository/other"},
                {"Sid":"Net","Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}
            ]}"#,
            PolicyKind::Identity,
        );
        let repo = set(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"Bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/bob"},"Action":"ecr:*"}}"#,
            PolicyKind::Repository,
        );
        let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let ctx = Context::new();
        let req = Request {
            principal: &alice,
            action: "ecr:BatchGetImage",
            resource: R,
            resource_account: "111122223333",
            context: &ctx,
        };
        let t = trace(&Policies { identity: &identity, boundary: None, session: None, resource: Some(&repo) }, &req);
        let outcomes: Vec<_> = t.statements.iter().map(|e| e.outcome).collect();
        assert_eq!(outcomes[0], StatementOutcome::ActionNotMatched);
        assert_eq!(outcomes[1], StatementOutcome::ResourceNotMatched);
        assert!(matches!(outcomes[2], StatementOutcome::ConditionFailed { key: "aws:SourceIp", missing: true, .. }));
        assert_eq!(outcomes[3], StatementOutcome::PrincipalNotMatched);
        assert_eq!(t.decision.outcome, Outcome::ImplicitDeny);
        assert_eq!(t.decision.missing_context.as_slice(), ["aws:SourceIp"]);
        let text = t.to_string();
        assert!(text.contains("statement 2 (Net) at 4:17: condition `IpAddress` on `aws:SourceIp`"), "{text}");
        assert!(text.ends_with("decision: implicitDeny (NoIdentityAllow)"), "{text}");
    }
}
