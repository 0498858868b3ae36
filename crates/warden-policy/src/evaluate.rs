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

use crate::compile::{CompiledPolicy, CompiledStatement, PolicySet};
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
    let mut scan = Scan::default();
    let has_boundary = policies.boundary.is_some();
    // A resource-based policy is attached to a resource: a request for no resource (`*`, the
    // wildcard-only actions such as ecr:GetAuthorizationToken) never reaches it (ECR User Guide,
    // repository policies; iam-semantics.md §2.5).
    if let Some(resource) = policies.resource.filter(|_| req.resource != "*") {
        scan_set(resource, PolicyRole::Resource, req, has_boundary, &mut scan);
    }
    scan_set(policies.identity, PolicyRole::Identity, req, has_boundary, &mut scan);
    if let Some(b) = policies.boundary {
        scan_set(b, PolicyRole::Boundary, req, has_boundary, &mut scan);
    }
    if let Some(s) = policies.session {
        scan_set(s, PolicyRole::Session, req, has_boundary, &mut scan);
    }
    decide(policies, req, scan)
}

fn scan_set<'p>(set: &'p PolicySet, role: PolicyRole, req: &Request<'_>, has_boundary: bool, scan: &mut Scan<'p>) {
    set.for_each_candidate(req.resource, |policy, index, stmt| {
        visit(policy, index, stmt, role, req, has_boundary, scan);
    });
}

fn visit<'p>(
    policy: &'p CompiledPolicy,
    index: u32,
    stmt: &'p CompiledStatement,
    role: PolicyRole,
    req: &Request<'_>,
    has_boundary: bool,
    scan: &mut Scan<'p>,
) {
    if !stmt.action_matches(req.action) || !stmt.resource_matches(req.resource, req.context) {
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
