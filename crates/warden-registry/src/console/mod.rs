//! The web console at `/console`: the registry's repositories, images, repository and lifecycle
//! policies, a simulator, the audit trail and who-can, in a browser.
//!
//! Every asset is embedded in the binary ([`assets`]); nothing is fetched from anywhere else. The
//! page is one HTML shell, one script and one stylesheet; everything it shows comes from JSON
//! calls to this server, made **as the signed-in user** ([`session`]):
//!
//! - `POST /console/api/ecr` is the ECR API itself, for the operations the page makes
//!   ([`CONSOLE_OPERATIONS`]): the same describer ([`EcrDescriber`]), the same authorization
//!   layer, the same handler, throttle and audit trail as `POST /` — only the credential differs
//!   (a session cookie and a CSRF token instead of SigV4). A reader's console is a reader's: what
//!   the reader may not do is refused with AWS's sentence.
//! - `POST /console/api/{validate,validate-lifecycle,simulate,who-can,trail,access}` are the
//!   policy tools ([`tools`]), authorized by the same layer with the IAM actions AWS asks for the
//!   same questions (`iam:SimulatePrincipalPolicy`, `iam:GetAccountAuthorizationDetails`,
//!   `cloudtrail:LookupEvents`, and `ecr:GetRepositoryPolicy` on a repository whose policy they
//!   read), throttled in the `other` class, and the three that read others' data audited as
//!   CloudTrail records those services' calls.
//!
//! Answers carry `Content-Security-Policy: default-src 'self'; frame-ancestors 'none';
//! form-action 'self'; base-uri 'none'`, `X-Frame-Options: DENY`, `X-Content-Type-Options:
//! nosniff` and `Referrer-Policy: no-referrer`; API answers are never cached.

mod assets;
pub mod session;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderValue};
use warden_tower::{AuthorizeLayer, Caller, Check, DescribeRequest, Rejection};

use crate::ecr::authz::EcrDescriber;
use crate::state::Registry;
use session::{SessionAuthenticator, SessionState, Sessions};

/// The default lifetime of a console session.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(15 * 60);

/// How the console runs.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    /// How long a session lasts after sign-in (`--console-session-ttl`).
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure`, so the browser sends it only over HTTPS
    /// (`--console-secure-cookie`, for a console reached through a TLS-terminating proxy).
    pub secure_cookie: bool,
}

impl Default for ConsoleOptions {
    fn default() -> ConsoleOptions {
        ConsoleOptions { session_ttl: DEFAULT_SESSION_TTL, secure_cookie: false }
    }
}

/// The console's routes, for the registry's router (which adds the observing middleware, so
/// console calls are logged and measured as the API's are, and the ECR calls, simulations,
/// who-can questions, trail lookups and sign-ins audited).
pub fn router(registry: Arc<Registry>, options: &ConsoleOptions) -> Router {
    let sessions = Arc::new(Sessions::new(&registry.issuer, options.session_ttl));
    let authenticator = SessionAuthenticator { sessions: Arc::clone(&sessions), store: Arc::clone(&registry.store) };
    let ecr =
        Router::new().route("/console/api/ecr", post(crate::ecr::api)).with_state(Arc::clone(&registry)).route_layer(
            AuthorizeLayer::new(authenticator.clone(), ConsoleEcr(EcrDescriber { registry: Arc::clone(&registry) }))
                .with_hook(crate::access::AccessHook),
        );
    let tools =
        Router::new().route("/console/api/{tool}", post(tools::handle)).with_state(Arc::clone(&registry)).route_layer(
            AuthorizeLayer::new(authenticator, tools::ToolDescriber { registry: Arc::clone(&registry) })
                .with_hook(crate::access::AccessHook),
        );
    let state = SessionState { registry: Arc::clone(&registry), sessions, secure_cookie: options.secure_cookie };
    let sessions = Router::new()
        .route("/console/api/signin", post(session::sign_in))
        .route("/console/api/signout", post(session::sign_out))
        .route("/console/api/session", get(session::session))
        .route("/console/api/templates", get(tools::templates))
        .with_state(state);
    let pages = Router::new()
        .route("/console", get(assets::index))
        .route("/console/", get(assets::index))
        .route("/console/assets/{file}", get(assets::file));
    ecr.merge(tools).merge(sessions).merge(pages).layer(axum::middleware::from_fn(security_headers))
}

/// The ECR operations the console's page makes. The others (GetAuthorizationToken, the layer
/// upload and download calls) are the registry clients' business: a console session cannot mint
/// registry tokens (which would outlive it) or move layers.
pub const CONSOLE_OPERATIONS: &[&str] = &[
    "DescribeRepositories",
    "CreateRepository",
    "DeleteRepository",
    "PutImageTagMutability",
    "PutImageScanningConfiguration",
    "DescribeImages",
    "ListImages",
    "BatchGetImage",
    "PutImage",
    "BatchDeleteImage",
    "GetRepositoryPolicy",
    "SetRepositoryPolicy",
    "DeleteRepositoryPolicy",
    "GetLifecyclePolicy",
    "PutLifecyclePolicy",
    "DeleteLifecyclePolicy",
    "StartLifecyclePolicyPreview",
    "GetLifecyclePolicyPreview",
    "ListTagsForResource",
    "TagResource",
    "UntagResource",
];

/// The ECR describer, for the operations of [`CONSOLE_OPERATIONS`] only.
#[derive(Clone)]
struct ConsoleEcr(EcrDescriber);

impl DescribeRequest<axum::body::Body> for ConsoleEcr {
    async fn describe(
        &self,
        req: http::Request<axum::body::Body>,
        caller: &Caller,
    ) -> Result<(http::Request<axum::body::Body>, Vec<Check>), Rejection> {
        only_post(&req)?;
        let operation = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix("AmazonEC2ContainerRegistry_V20150921."));
        if !operation.is_some_and(|op| CONSOLE_OPERATIONS.contains(&op)) {
            return Err(Rejection::new(
                "UnknownOperationException",
                http::StatusCode::BAD_REQUEST,
                "The console does not make this call; use the ECR API with SigV4.",
            ));
        }
        self.0.describe(req, caller).await
    }
}

/// Refuses, before anything is read or recorded, a method other than `POST` on a route that takes
/// only `POST` (the layer sees the request before the router answers 405).
pub(crate) fn only_post<B>(req: &http::Request<B>) -> Result<(), Rejection> {
    if req.method() == http::Method::POST {
        return Ok(());
    }
    Err(Rejection::new("MethodNotAllowedException", http::StatusCode::METHOD_NOT_ALLOWED, "Use POST."))
}

/// The headers every console answer carries.
async fn security_headers(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/console/api/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
