//! A decision and why it was made.

use smallvec::SmallVec;

use crate::ast::span::Position;
use crate::ast::{Effect, Statement};
use crate::compile::CompiledPolicy;

/// The three outcomes, spelled as the IAM simulator spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// No explicit deny, and the combination rules allow.
    #[serde(rename = "allowed")]
    Allowed,
    /// A matching `Deny` statement in some applicable policy.
    #[serde(rename = "explicitDeny")]
    ExplicitDeny,
    /// Nothing allowed it (the default).
    #[serde(rename = "implicitDeny")]
    ImplicitDeny,
}

impl Outcome {
    /// `allowed` / `explicitDeny` / `implicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::ExplicitDeny => "explicitDeny",
            Outcome::ImplicitDeny => "implicitDeny",
        }
    }
}

/// The role a policy played in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyRole {
    /// The caller's identity-based policies.
    Identity,
    /// The caller's permissions boundary.
    Boundary,
    /// The session policy of the caller's session.
    Session,
    /// The resource's resource-based policy.
    Resource,
}

impl PolicyRole {
    /// The phrase AWS uses in AccessDenied messages.
    pub fn phrase(self) -> &'static str {
        match self {
            PolicyRole::Identity => "an identity-based policy",
            PolicyRole::Boundary => "a permissions boundary",
            PolicyRole::Session => "a session policy",
            PolicyRole::Resource => "a resource-based policy",
        }
    }
}

/// The rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A `Deny` statement matched in a policy of this role.
    ExplicitDeny(PolicyRole),
    /// The root user acts in its own account.
    RootUser,
    /// An identity-based policy allowed (and boundary / session policy, if any, allowed too).
    IdentityAllow,
    /// A resource-based policy allowed the caller directly.
    ResourceAllow,
    /// Cross-account: both the identity side and the resource side allowed.
    BothSidesAllow,
    /// No identity-based policy allowed.
    NoIdentityAllow,
    /// No resource-based policy allowed (cross-account, or a service principal).
    NoResourceAllow,
    /// The permissions boundary did not allow.
    NoBoundaryAllow,
    /// The session policy did not allow.
    NoSessionAllow,
}

/// A statement that matched the request.
#[derive(Debug, Clone, Copy)]
pub struct MatchedStatement<'p> {
    /// The policy it belongs to.
    pub policy: &'p CompiledPolicy,
    /// Its role in this request.
    pub role: PolicyRole,
    /// 0-based index in the policy.
    pub index: usize,
}

impl<'p> MatchedStatement<'p> {
    /// The statement.
    pub fn statement(&self) -> Option<&'p Statement> {
        self.policy.policy().statements().get(self.index)
    }

    /// Its `Sid`.
    pub fn sid(&self) -> Option<&'p str> {
        self.statement().and_then(|s| s.sid.as_deref())
    }

    /// Its effect.
    pub fn effect(&self) -> Option<Effect> {
        self.statement().map(|s| s.effect)
    }

    /// 1-based start and end positions in the policy source.
    pub fn positions(&self) -> Option<(Position, Position)> {
        self.policy.policy().statement_positions(self.index)
    }
}

/// The per-side results of a cross-account request (`EvalDecisionDetails`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SideDetails {
    /// The principal's account: identity policies, boundary, session policy.
    pub identity: Outcome,
    /// The resource's account: the resource-based policy.
    pub resource: Outcome,
}

/// The answer to one request, with its reasons.
#[derive(Debug, Clone)]
pub struct Decision<'p> {
    /// The outcome.
    pub outcome: Outcome,
    /// The rule that decided.
    pub reason: Reason,
    /// For `explicitDeny`, the matching Deny statements; for `allowed`, the Allow statements of
    /// identity and resource policies that matched; empty for `implicitDeny`. From
    /// [`crate::evaluate_all`], all of them in policy order; from [`crate::evaluate`], which stops
    /// once the outcome is settled, the ones that settled it (the first applicable Deny, or the
    /// first Allow of each policy type).
    pub matched: SmallVec<[MatchedStatement<'p>; 4]>,
    /// Condition keys that applicable statements read and the request did not carry, as written in
    /// the policy, each once. Filled by [`crate::evaluate_all`]; empty from [`crate::evaluate`].
    pub missing_context: SmallVec<[&'p str; 4]>,
    /// True when the caller's account differs from the resource owner's.
    pub cross_account: bool,
    /// Per-side results; present for cross-account requests from [`crate::evaluate_all`].
    pub sides: Option<SideDetails>,
    /// Whether the permissions boundary allowed; `None` without a boundary.
    pub boundary_allowed: Option<bool>,
}

impl Decision<'_> {
    /// True when allowed.
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allowed
    }

    /// AWS's AccessDenied sentence for this decision, e.g. `User: arn:aws:iam::111122223333:user/alice
    /// is not authorized to perform: ecr:PutImage on resource: arn:… because no identity-based policy
    /// allows the ecr:PutImage action`. `None` when allowed.
    pub fn denial_message(&self, caller_arn: &str, action: &str, resource: &str) -> Option<String> {
        let why = match self.reason {
            Reason::ExplicitDeny(role) => format!("with an explicit deny in {}", role.phrase()),
            Reason::NoIdentityAllow => format!("because no identity-based policy allows the {action} action"),
            Reason::NoResourceAllow => format!("because no resource-based policy allows the {action} action"),
            Reason::NoBoundaryAllow => format!("because no permissions boundary allows the {action} action"),
            Reason::NoSessionAllow => format!("because no session policy allows the {action} action"),
            Reason::RootUser | Reason::IdentityAllow | Reason::ResourceAllow | Reason::BothSidesAllow => return None,
        };
        Some(format!("User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {why}"))
    }
}
