//! The bundled registry: Docker Registry HTTP API V2 / OCI Distribution Spec 1.1 and the Amazon
//! ECR API, every request authenticated (ECR registry tokens over HTTP Basic; SigV4) and
//! authorized by warden's IAM engine with the ECR action and repository ARN AWS uses, on durable
//! local storage.
//!
//! Each request is parsed once into one typed description ([`oci::request::OciRequest`],
//! [`ecr::EcrCall`]); the describer decides on it, and the handler receives that same
//! description with the repository rows read for the decision. Allowed requests then spend a
//! credit of their caller's account's token bucket ([`throttle`], the ECR user guide's quotas).
//!
//! Layering, one way: [`oci`] and [`ecr`] handlers (one module per resource) → [`service`]
//! (manifests, uploads, garbage collection, lifecycle) → [`state::Registry`] → [`storage`]
//! (blobs behind [`storage::blobs::BlobStore`], on the filesystem by default; metadata behind
//! [`storage::meta::MetadataStore`], in SQLite by default). Errors are one enum,
//! [`error::RegistryError`], rendered for each API.

pub mod access;
pub mod console;
pub mod ecr;
pub mod error;
pub mod manifest;
pub mod metrics;
pub mod names;
pub mod oci;
pub mod presign;
pub mod query;
pub mod route;
pub mod schema1;
pub mod service;
pub mod state;
pub mod storage;
pub mod throttle;
pub mod trail;

/// The lifecycle scheduler (`service::lifecycle`), under its older path.
pub use service::lifecycle;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::routing::any;
use axum::Router;
use ipnet::IpNet;
use warden_auth::{SigV4Authenticator, TokenAuthenticator};
use warden_tower::{AuthorizeLayer, RegistryDeny};

pub use state::{Config, Limits, OpenError, Registry};
pub use throttle::ThrottleConfig;

/// How the server treats connections.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`). Empty: the TCP peer is
    /// the client, always.
    pub trusted_proxies: Vec<IpNet>,
    /// Timeouts and the connection limit of the listener.
    pub limits: warden_server::ServerLimits,
    /// The web console at `/console` (`None`: not served).
    pub console: Option<console::ConsoleOptions>,
}

/// The registry's router with default options: `/v2/...` and the ECR API behind the
/// authorization layer. Serve it with [`warden_server::serve`] (or axum's
/// `into_make_service_with_connect_info::<SocketAddr>()`): the peer address becomes
/// `aws:SourceIp`, and a request without it is refused (500).
pub fn router(registry: Arc<Registry>) -> Router {
    router_with(registry, &ServeOptions::default())
}

/// The registry's router.
pub fn router_with(registry: Arc<Registry>, options: &ServeOptions) -> Router {
    let realm = format!("https://{}.dkr.ecr.{}.amazonaws.com/", registry.config.account_id, registry.config.region);
    let authenticator = TokenAuthenticator::new(Arc::clone(&registry.store), Arc::clone(&registry.issuer), &realm);
    let describer = oci::authz::RegistryDescriber { registry: Arc::clone(&registry) };
    let v2 = Router::new()
        .route("/v2", any(oci::v2))
        .route("/v2/", any(oci::v2))
        .route("/v2/{*rest}", any(oci::v2))
        .with_state(Arc::clone(&registry))
        .layer(AuthorizeLayer::new(authenticator, describer).with_deny(RegistryDeny).with_hook(access::AccessHook));
    // The ECR API: AWS JSON 1.1 on POST /, SigV4, AWS's exceptions.
    let sigv4 = SigV4Authenticator::new(Arc::clone(&registry.store), &registry.config.region, "ecr")
        .with_max_body(ecr::MAX_REQUEST_BYTES);
    let api = Router::new().route("/", axum::routing::post(ecr::api)).with_state(Arc::clone(&registry)).layer(
        AuthorizeLayer::new(sigv4, ecr::authz::EcrDescriber { registry: Arc::clone(&registry) })
            .with_hook(access::AccessHook),
    );
    let presigned = Router::new()
        .route("/presigned/{*rest}", axum::routing::get(presign::download))
        .with_state(Arc::clone(&registry));
    let trusted: Arc<[IpNet]> = options.trusted_proxies.clone().into();
    // Uploads stream; the default 2 MB body limit of axum's extractors does not apply to them.
    let console = match &options.console {
        Some(c) => console::router(Arc::clone(&registry), c),
        None => Router::new(),
    };
    v2.merge(api)
        .merge(presigned)
        .merge(console)
        .fallback(|| async { error::RegistryError::NotFound })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&registry), access::observe))
        .layer(axum::middleware::map_request(move |mut req: axum::extract::Request| {
            let trusted = Arc::clone(&trusted);
            async move {
                if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
                    let client = warden_tower::context::client_addr(peer.ip(), req.headers(), &trusted);
                    req.extensions_mut().insert(client);
                }
                req
            }
        }))
}

/// The metrics endpoint (`GET /metrics`, Prometheus text), for a listener of its own
/// (`warden serve --metrics-listen`).
pub fn metrics_router(registry: Arc<Registry>) -> Router {
    Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = Arc::clone(&registry);
            async move {
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    registry.metrics.render(registry.trail.as_ref()),
                )
            }
        }),
    )
}

/// Serves the registry on `listener` until ctrl-c or SIGTERM, finishing requests in flight, with
/// the listener's default timeouts and connection limit.
pub async fn serve(registry: Arc<Registry>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(registry, listener, ServeOptions::default()).await
}

/// Serves the registry with `options`.
pub async fn serve_with(
    registry: Arc<Registry>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
) -> std::io::Result<()> {
    let app = router_with(registry, &options);
    warden_server::serve(listener, app, options.limits, shutdown()).await
}

/// Resolves on SIGTERM (Unix) or ctrl-c; never when no signal can be listened for.
async fn shutdown() {
    let ctrl_c = async {
        // Without a signal handler this would resolve at once and stop the server at start.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
