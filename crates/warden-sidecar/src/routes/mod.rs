//! The HTTP API: one module per resource. `openapi.json` at the crate root documents every route
//! here except the hidden benchmark route `POST /v1/noop` (enabled by `--bench-noop`). The
//! OpenID AuthZEN Authorization API 1.0 routes are in `authzen.rs`.

use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{any, get, post};
use axum::{Extension, Router};

use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::state::AppState;

mod authorize;
mod authzen;
mod authzen_search;
mod check;
mod health;
mod metrics;
mod noop;
mod simulate;

/// The router of the authorizer over `state`; testable with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    let max_body = state.limits().max_body;
    let mut router = Router::new()
        .route("/v1/authorize", post(authorize::single))
        .route("/v1/authorize/batch", post(authorize::batch))
        .route("/v1/simulate", post(simulate::simulate))
        .route("/v1/check", any(check::check))
        .route("/v1/check/{*path}", any(check::check))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics));
    let authzen_routes = Router::new()
        .route(authzen::CONFIGURATION_PATH, get(authzen::configuration))
        .route(authzen::EVALUATION_PATH, post(authzen::evaluation))
        .route(authzen::EVALUATIONS_PATH, post(authzen::evaluations))
        .route(authzen_search::SUBJECT_PATH, post(authzen_search::subject))
        .route(authzen_search::RESOURCE_PATH, post(authzen_search::resource))
        .route(authzen_search::ACTION_PATH, post(authzen_search::action))
        .route_layer(axum::middleware::from_fn(authzen::echo_request_id));
    router = router.merge(authzen_routes);
    if state.inner().bench_noop {
        router = router.route("/v1/noop", post(noop::noop));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(Extension(BodyLimit(max_body)))
        .with_state(state)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound { path: req.uri().path().to_owned() }
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed { method: req.method().to_string() }
}
