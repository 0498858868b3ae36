//! What a request asks: the action(s), resource(s) and context the embedding server maps it to.

use std::borrow::Cow;
use std::future::Future;

use http::Request;
use warden_policy::{Context, PolicySet};

use crate::authenticate::Rejection;
use crate::caller::Caller;

/// One authorization check: an action on a resource. A request may need several (a
/// cross-repository blob mount reads one repository and writes another); all must be allowed.
#[derive(Debug, Clone)]
pub struct Check {
    /// The action (`ecr:BatchGetImage`).
    pub action: Cow<'static, str>,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The account that owns the resource.
    pub resource_account: Cow<'static, str>,
    /// The resource's resource-based policy, if it has one.
    pub resource_policy: Option<PolicySet>,
    /// Condition keys for this check.
    pub context: Context,
}

/// Maps a request to its checks. Like [`crate::Authenticate`], it gets the request by value and
/// gives it back, so it may read the body (tags in a JSON body, a repository name).
pub trait DescribeRequest<B>: Clone + Send + Sync + 'static {
    /// The checks for `req` made by `caller`. An error answers the request without calling the
    /// inner service (for instance a malformed body).
    fn describe(
        &self,
        req: Request<B>,
        caller: &Caller,
    ) -> impl Future<Output = Result<(Request<B>, Vec<Check>), Rejection>> + Send;

    /// Describes from the request head alone, without waiting, when this describer can (`None`:
    /// it needs [`DescribeRequest::describe`], for instance to read the body).
    fn describe_head(&self, req: &Request<B>, caller: &Caller) -> Option<Result<Vec<Check>, Rejection>> {
        let _ = (req, caller);
        None
    }
}

/// Closures `Fn(&Request<B>, &Caller) -> Result<Vec<Check>, Rejection>` describe synchronously
/// from the request head.
impl<B, F> DescribeRequest<B> for F
where
    B: Send + 'static,
    F: Fn(&Request<B>, &Caller) -> Result<Vec<Check>, Rejection> + Clone + Send + Sync + 'static,
{
    fn describe(
        &self,
        req: Request<B>,
        caller: &Caller,
    ) -> impl Future<Output = Result<(Request<B>, Vec<Check>), Rejection>> + Send {
        let result = self(&req, caller).map(|checks| (req, checks));
        std::future::ready(result)
    }

    fn describe_head(&self, req: &Request<B>, caller: &Caller) -> Option<Result<Vec<Check>, Rejection>> {
        Some(self(req, caller))
    }
}
