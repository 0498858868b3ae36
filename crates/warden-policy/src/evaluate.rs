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

use smallvec::SmallVec;

use crate::compile::{action_hash, lowercase_action, CompiledPolicy, CompiledStatement, PolicySet};
use crate::context::Context;
use crate::decision::{Decision, MatchedStatement, Outcome, PolicyRole, Reason, SideDetails};
use crate::policy::Effect;
use crate::principal::{MatchClass, Principal, PrincipalKind};

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
}

/// Evaluates `request` against `policies`.
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
    let req = &Request { action: &action, ..*req };
    let asked = Asked { req, action_hash: action_hash(&action), has_boundary: policies.boundary.is_some() };
    let mut scan = Scan::default();
    // A resource-based policy is attached to a resource: a request for no resource (`*`, the
    // wildcard-only actions such as ecr:GetAuthorizationToken) never reaches it (ECR User Guide,
    // repository policies; iam-semantics.md §2.5).
    if let Some(resource) = policies.resource.filter(|_| req.resource != "*") {
        scan_set(resource, PolicyRole::Resource, &asked, &mut scan);
    }
    scan_set(policies.identity, PolicyRole::Identity, &asked, &mut scan);
    if let Some(b) = policies.boundary {
        scan_set(b, PolicyRole::Boundary, &asked, &mut scan);
    }
    if let Some(s) = policies.session {
        scan_set(s, PolicyRole::Session, &asked, &mut scan);
    }
    decide(policies, req, scan)
}

/// The request as the scan sees it: lower-cased action with its hash, and whether the caller has
/// a permissions boundary.
struct Asked<'r, 'a> {
    req: &'r Request<'a>,
    action_hash: u64,
    has_boundary: bool,
}

fn scan_set<'p>(set: &'p PolicySet, role: PolicyRole, asked: &Asked<'_, '_>, scan: &mut Scan<'p>) {
    set.for_each_candidate(asked.req.resource, Some(asked.action_hash), |policy, index, stmt| {
        visit(policy, index, stmt, role, asked, scan);
    });
}

fn visit<'p>(
    policy: &'p CompiledPolicy,
    index: u32,
    stmt: &'p CompiledStatement,
    role: PolicyRole,
    asked: &Asked<'_, '_>,
    scan: &mut Scan<'p>,
) {
    let (req, has_boundary) = (asked.req, asked.has_boundary);
    if !stmt.action_matches_hashed(req.action, asked.action_hash) || !stmt.resource_matches(req.resource, req.context) {
        return;
    }
    let deny = stmt.effect == Effect::Deny;
    let class = match (&stmt.principal, role) {
        (Some(p), _) => p.class(req.principal, deny, has_boundary),
        // A resource policy statement without Principal cannot match anyone.
        (None, PolicyRole::Resource) => MatchClass::None,
        (None, _) => MatchClass::Direct,
    };
    if class == MatchClass::None {
        return;
    }
    // Every condition is evaluated (no short-circuit) so that all missing keys are reported.
    let mut holds = true;
    for c in stmt.conditions.iter() {
        let outcome = c.evaluate(req.context);
        holds &= outcome.holds;
        if outcome.missing && !scan.missing.iter().any(|k| k.eq_ignore_ascii_case(&c.key)) {
            scan.missing.push(&c.key);
        }
    }
    if !holds {
        return;
    }
    let matched = MatchedStatement { policy, role, index: index as usize };
    if deny {
        if role != PolicyRole::Resource {
            scan.principal_side_deny = true;
        }
        scan.denies.push(matched);
        return;
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

fn decide<'p>(policies: &Policies<'p>, req: &Request<'_>, scan: Scan<'p>) -> Decision<'p> {
    let caller = req.principal;
    // A simulation without a caller is evaluated in the resource's account.
    let cross_account = !req.resource_account.is_empty()
        && !matches!(caller.kind(), PrincipalKind::Service | PrincipalKind::Unspecified)
        && caller.account() != req.resource_account;
    let boundary_allowed = policies.boundary.map(|_| scan.boundary_allow);
    let root = caller.kind() == PrincipalKind::Root;
    let id_ok = root || scan.identity_allow;
    let pb_ok = boundary_allowed.unwrap_or(true);
    // A federated-user session created without a session policy has no permissions (STS
    // GetFederationToken: "If you do not pass a policy to this operation, the resulting federated
    // user session has no permissions").
    let sp_ok = match policies.session {
        Some(_) => scan.session_allow,
        None => caller.kind() != PrincipalKind::FederatedUser,
    };
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
    if cross_account {
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

/// What became of one statement during a traced evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementOutcome<'p> {
    /// A resource-based policy does not take part in a request for no resource (`*`).
    NotApplicable,
    /// `Action`/`NotAction` did not match.
    ActionNotMatched,
    /// `Resource`/`NotResource` did not match.
    ResourceNotMatched,
    /// `Principal`/`NotPrincipal` did not name the caller.
    PrincipalNotMatched,
    /// The first condition that did not hold.
    ConditionFailed {
        /// Operator as written.
        operator: &'p str,
        /// Key as written.
        key: &'p str,
        /// The policy values.
        values: &'p [String],
        /// The key was absent from the request.
        missing: bool,
    },
    /// Everything matched; the statement takes part with its effect.
    Matched(Effect),
}

/// One statement of a traced evaluation.
#[derive(Debug, Clone, Copy)]
pub struct TraceEntry<'p> {
    /// The statement.
    pub statement: MatchedStatement<'p>,
    /// What became of it.
    pub outcome: StatementOutcome<'p>,
}

/// A decision with the fate of every statement considered: the slow, explaining path.
#[derive(Debug, Clone)]
pub struct Trace<'p> {
    /// The decision (identical to [`evaluate`]'s).
    pub decision: Decision<'p>,
    /// Every statement of every policy, in policy order.
    pub statements: Vec<TraceEntry<'p>>,
}

/// Evaluates like [`evaluate`] and records, for every statement, whether it matched and if not
/// why. Allocates; meant for explanations, not for the request path.
pub fn trace<'p>(policies: &Policies<'p>, req: &Request<'_>) -> Trace<'p> {
    let decision = evaluate(policies, req);
    let mut buf = [0u8; 128];
    let action = lowercase_action(req.action, &mut buf);
    let req = &Request { action: &action, ..*req };
    let has_boundary = policies.boundary.is_some();
    let mut statements = Vec::new();
    let groups = [
        (Some(policies.identity), PolicyRole::Identity),
        (policies.resource, PolicyRole::Resource),
        (policies.boundary, PolicyRole::Boundary),
        (policies.session, PolicyRole::Session),
    ];
    for (set, role) in groups {
        let Some(set) = set else { continue };
        for policy in set.policies() {
            for (index, stmt) in policy.compiled_statements().iter().enumerate() {
                let outcome = if role == PolicyRole::Resource && req.resource == "*" {
                    StatementOutcome::NotApplicable
                } else {
                    statement_outcome(stmt, role, req, has_boundary)
                };
                statements.push(TraceEntry { statement: MatchedStatement { policy, role, index }, outcome });
            }
        }
    }
    Trace { decision, statements }
}

fn statement_outcome<'p>(
    stmt: &'p CompiledStatement,
    role: PolicyRole,
    req: &Request<'_>,
    has_boundary: bool,
) -> StatementOutcome<'p> {
    if !stmt.action_matches(req.action) {
        return StatementOutcome::ActionNotMatched;
    }
    if !stmt.resource_matches(req.resource, req.context) {
        return StatementOutcome::ResourceNotMatched;
    }
    let deny = stmt.effect == Effect::Deny;
    let named = match (&stmt.principal, role) {
        (Some(p), _) => p.class(req.principal, deny, has_boundary) != MatchClass::None,
        (None, PolicyRole::Resource) => false,
        (None, _) => true,
    };
    if !named {
        return StatementOutcome::PrincipalNotMatched;
    }
    for c in stmt.conditions.iter() {
        let outcome = c.evaluate(req.context);
        if !outcome.holds {
            return StatementOutcome::ConditionFailed {
                operator: &c.operator_name,
                key: &c.key,
                values: &c.raw_values,
                missing: outcome.missing,
            };
        }
    }
    StatementOutcome::Matched(stmt.effect)
}

impl std::fmt::Display for Trace<'_> {
    /// One line per statement, then the decision.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.statements {
            let s = &e.statement;
            let sid = s.sid().map(|x| format!(" ({x})")).unwrap_or_default();
            let at = s.positions().map(|(p, _)| format!(" at {}:{}", p.line, p.column)).unwrap_or_default();
            write!(f, "{:?} policy `{}` statement {}{sid}{at}: ", s.role, s.policy.id(), s.index)?;
            match e.outcome {
                StatementOutcome::NotApplicable => writeln!(f, "not applicable (the request names no resource)")?,
                StatementOutcome::ActionNotMatched => writeln!(f, "action does not match")?,
                StatementOutcome::ResourceNotMatched => writeln!(f, "resource does not match")?,
                StatementOutcome::PrincipalNotMatched => writeln!(f, "principal does not name the caller")?,
                StatementOutcome::ConditionFailed { operator, key, values, missing } => {
                    let why = if missing { "key absent from the request" } else { "value does not satisfy it" };
                    writeln!(f, "condition `{operator}` on `{key}` {values:?} fails: {why}")?
                }
                StatementOutcome::Matched(effect) => writeln!(f, "matches ({})", effect.as_str())?,
            }
        }
        write!(f, "decision: {} ({:?})", self.decision.outcome.as_str(), self.decision.reason)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::policy::PolicyKind;

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
