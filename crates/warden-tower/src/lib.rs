//! Tower middleware that authorizes every request the way AWS IAM does.
//!
//! [`AuthorizeLayer`] wraps any `tower::Service<http::Request<B>>` (an axum `Router`, a hyper
//! service). For each request it
//! 1. **authenticates** it with an [`Authenticate`] implementation — the layer knows no credential
//!    scheme; `warden-auth` brings SigV4 and ECR registry tokens, and servers can bring their own;
//! 2. **describes** it with a [`DescribeRequest`] implementation: the action(s), resource ARN(s),
//!    resource policy and condition keys it amounts to;
//! 3. **evaluates** every [`Check`] with the warden engine and reports each decision to a
//!    [`DecisionHook`];
//! 4. calls the inner service with an [`Authorized`] extension, or answers with AWS's words
//!    through a [`DenyResponse`]: [`JsonProtocolDeny`] (`AccessDeniedException`) or
//!    [`RegistryDeny`] (`{"errors":[{"code":"DENIED",…}]}`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt};
//! use warden_policy::{CompiledPolicy, Context, PolicyKind, PolicySet, Principal};
//! use warden_tower::{AuthorizeLayer, Caller, Check, Rejection};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let policy = PolicySet::from(CompiledPolicy::compile(
//!     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"notes:Read","Resource":"*"}}"#,
//!     PolicyKind::Identity, "reader").unwrap());
//! // A toy authenticator: the caller's ARN in a header.
//! let authenticate = move |req: &Request<String>| -> Result<Caller, Rejection> {
//!     let arn = req.headers().get("x-caller").and_then(|v| v.to_str().ok()).unwrap_or_default();
//!     let principal = Principal::parse(arn)
//!         .map_err(|e| Rejection::new("UnrecognizedClientException", StatusCode::FORBIDDEN, e.to_string()))?;
//!     Ok(Caller::new(principal, policy.clone()))
//! };
//! // GET reads, anything else writes.
//! let describe = |req: &Request<String>, _: &Caller| -> Result<Vec<Check>, Rejection> {
//!     let action = if req.method() == http::Method::GET { "notes:Read" } else { "notes:Write" };
//!     Ok(vec![Check { action: action.into(), resource: "*".into(), resource_account: "111122223333".into(),
//!                     resource_policy: None, context: Context::new() }])
//! };
//! let svc = ServiceBuilder::new()
//!     .layer(AuthorizeLayer::new(authenticate, describe))
//!     .service_fn(|_req: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("notes"))) });
//!
//! let read = Request::get("/").header("x-caller", "arn:aws:iam::111122223333:user/alice").body(String::new()).unwrap();
//! assert_eq!(svc.clone().oneshot(read).await.unwrap().status(), StatusCode::OK);
//!
//! let write = Request::post("/").header("x-caller", "arn:aws:iam::111122223333:user/alice").body(String::new()).unwrap();
//! let denied = svc.oneshot(write).await.unwrap();
//! assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
//! assert!(denied.body().contains("is not authorized to perform: notes:Write on resource: * because no identity-based policy allows the notes:Write action"));
//! # }
//! ```

mod authenticate;
mod caller;
pub mod clock;
pub mod context;
pub mod deny;
mod describe;
mod hook;
mod layer;
mod service;

pub use authenticate::{Authenticate, Rejection};
pub use caller::{Caller, CallerData};
pub use context::ClientAddr;
pub use deny::{Denial, DenyResponse, JsonProtocolDeny, RegistryDeny};
pub use describe::{Check, DescribeRequest};
pub use hook::{DecisionHook, DecisionRecord};
pub use layer::AuthorizeLayer;
pub use service::{evaluate_check, Authorize, Authorized, ResponseFuture};
pub use warden_policy;
