//! Who is calling, as an authenticator established it.

use std::sync::Arc;

use warden_policy::{PolicySet, Principal};

/// An authenticated caller with the policies that apply to it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal (user, role session, root, service).
    pub principal: Principal,
    /// Its identity-based policies.
    pub identity: PolicySet,
    /// Its permissions boundary.
    pub boundary: Option<PolicySet>,
    /// The session policy of its session.
    pub session: Option<PolicySet>,
    /// Its tags (`aws:PrincipalTag/*`).
    pub tags: Arc<[(String, String)]>,
    /// Its unique id (`aws:userid`).
    pub unique_id: Option<Arc<str>>,
    /// Whether MFA was used; `None` for long-term credentials (the key is then absent).
    pub mfa: Option<bool>,
}

impl Caller {
    /// A caller with identity policies only.
    pub fn new(principal: Principal, identity: PolicySet) -> Caller {
        Caller { principal, identity, boundary: None, session: None, tags: Arc::from([]), unique_id: None, mfa: None }
    }
}
