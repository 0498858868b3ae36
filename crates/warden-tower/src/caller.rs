//! Who is calling, as an authenticator established it.

use std::ops::Deref;
use std::sync::Arc;

use warden_policy::request::principal_context;
use warden_policy::{Context, PolicySet, Principal};

/// An authenticated caller with the policies that apply to it. Cloning is one reference-count
/// increment: authenticators build a caller once per identity and hand out clones.
#[derive(Debug, Clone)]
pub struct Caller(Arc<CallerData>);

/// What a [`Caller`] holds.
#[derive(Debug, Clone)]
pub struct CallerData {
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
    /// The access key a SigV4 request was signed with (the audit trail's `accessKeyId`).
    pub access_key_id: Option<Arc<str>>,
    /// The condition keys that depend only on the caller, built once; each request's context sits
    /// on top of it (see [`crate::context::request_context`]).
    pub context: Arc<Context>,
}

impl Deref for Caller {
    type Target = CallerData;
    fn deref(&self) -> &CallerData {
        &self.0
    }
}

impl Caller {
    /// A caller with identity policies only.
    pub fn new(principal: Principal, identity: PolicySet) -> Caller {
        Caller::with_details(principal, identity, None, Arc::from([]), None, None)
    }

    /// A caller with everything; builds its principal keys.
    pub fn with_details(
        principal: Principal,
        identity: PolicySet,
        boundary: Option<PolicySet>,
        tags: Arc<[(String, String)]>,
        unique_id: Option<Arc<str>>,
        mfa: Option<bool>,
    ) -> Caller {
        // Tag keys and values were validated where they were loaded; a key that cannot be stored
        // leaves the context without it rather than failing the caller.
        let context = principal_context(&principal, unique_id.as_deref(), &tags, mfa).unwrap_or_default();
        Caller(Arc::new(CallerData {
            principal,
            identity,
            boundary,
            session: None,
            tags,
            unique_id,
            mfa,
            access_key_id: None,
            context: Arc::new(context),
        }))
    }

    /// The same caller, signing with `access_key_id`.
    pub fn with_access_key(&self, access_key_id: &str) -> Caller {
        let mut data = (*self.0).clone();
        data.access_key_id = Some(Arc::from(access_key_id));
        Caller(Arc::new(data))
    }

    /// A caller from its parts.
    pub fn from_data(data: CallerData) -> Caller {
        Caller(Arc::new(data))
    }

    /// A copy that shares no reference counts with this one at the top level, for per-thread
    /// caches: clones of the copy touch only memory of the thread that made it.
    pub fn detached(&self) -> Caller {
        let mut data = (*self.0).clone();
        data.context = Arc::new((*self.0.context).clone());
        Caller(Arc::new(data))
    }
}
