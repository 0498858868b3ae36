//! `GET /healthz` and `GET /readyz`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

/// `GET /healthz` → 200 `{"status": "ok"}` while the process serves.
pub(super) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz` → 200 `{"status": "ready", ...}` when a valid identity store is loaded (the
/// server does not start without one); 503 `{"status": "draining"}` once shutdown began.
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "draining"})));
    }
    let store = state.store().current();
    (
        StatusCode::OK,
        Json(json!({
            "status": "ready",
            "identities": store.identities().len(),
            "routes": state.routes().len(),
            "generation": state.store().generation(),
        })),
    )
}
