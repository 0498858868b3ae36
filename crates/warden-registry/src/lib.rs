//! The bundled registry: Docker Registry HTTP API V2 / OCI Distribution Spec 1.1, every request
//! authenticated (ECR registry tokens over HTTP Basic) and authorized by warden's IAM engine with
//! the ECR action and repository ARN AWS uses, on durable local storage.
//!
//! Layering, one way: [`oci`] handlers → [`state::Registry`] → [`storage`] (blobs behind
//! [`storage::blobs::BlobStore`], on the filesystem by default; metadata behind
//! [`storage::meta::MetadataStore`], in SQLite by default). [`authz`] maps requests to checks for
//! `warden-tower`'s layer.

pub mod authz;
pub mod ecr;
pub mod error;
pub mod lifecycle;
pub mod manifest;
pub mod names;
pub mod oci;
pub mod presign;
pub mod route;
pub mod schema1;
pub mod state;
pub mod storage;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use warden_auth::{SigV4Authenticator, TokenAuthenticator};
use warden_tower::{AuthorizeLayer, RegistryDeny};

pub use state::{Config, Limits, OpenError, Registry};

/// The registry's router: `/v2/...` behind the authorization layer.
pub fn router(registry: Arc<Registry>) -> Router {
    let realm = format!("https://{}.dkr.ecr.{}.amazonaws.com/", registry.config.account_id, registry.config.region);
    let authenticator = TokenAuthenticator::new(Arc::clone(&registry.store), Arc::clone(&registry.issuer), &realm);
    let describer = authz::RegistryDescriber { registry: Arc::clone(&registry) };
    let v2 = Router::new()
        .route("/v2", any(oci::v2))
        .route("/v2/", any(oci::v2))
        .route("/v2/{*rest}", any(oci::v2))
        .with_state(Arc::clone(&registry))
        .layer(AuthorizeLayer::new(authenticator, describer).with_deny(RegistryDeny));
    // The ECR API: AWS JSON 1.1 on POST /, SigV4, AWS's exceptions.
    let sigv4 = SigV4Authenticator::new(Arc::clone(&registry.store), &registry.config.region, "ecr")
        .with_max_body(ecr::MAX_REQUEST_BYTES);
    let api = Router::new()
        .route("/", axum::routing::post(ecr::api))
        .with_state(Arc::clone(&registry))
        .layer(AuthorizeLayer::new(sigv4, ecr::EcrDescriber { registry: Arc::clone(&registry) }));
    let presigned =
        Router::new().route("/presigned/{*rest}", axum::routing::get(presign::download)).with_state(registry);
    // Uploads stream; the default 2 MB body limit of axum's extractors does not apply to them.
    v2.merge(api).merge(presigned).layer(axum::extract::DefaultBodyLimit::disable())
}

/// Serves `router` on `addr` until ctrl-c or SIGTERM, finishing requests in flight.
pub async fn serve(registry: Arc<Registry>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = router(registry).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await
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
