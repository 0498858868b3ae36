//! `POST /v1/authorize` and `POST /v1/authorize/batch`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::authorize::{authorize, AuthorizeRequest, AuthorizeResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{from_value, ApiJson};
use crate::state::AppState;

/// `POST /v1/authorize` → 200 `AuthorizeResponse` (allowed or denied, both 200);
/// 400 bad input (the error names the field); 413 body too large; 415 not JSON.
pub(super) async fn single(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AuthorizeRequest>,
) -> Result<Json<AuthorizeResponse>, ApiError> {
    authorize(&state, &req, "", "authorize").map(Json)
}

/// The body of `POST /v1/authorize/batch`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchRequest {
    /// Each an `AuthorizeRequest`; parsed one by one so one bad item fails only itself.
    requests: Vec<serde_json::Value>,
}

/// One result of a batch: the answer, or the error of that item.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum BatchItem {
    Decided(AuthorizeResponse),
    Failed { error: ErrorBody },
}

/// The answer of a batch, in request order.
#[derive(Debug, Serialize)]
pub(super) struct BatchResponse {
    results: Vec<BatchItem>,
}

/// `POST /v1/authorize/batch` → 200 `{"results": [...]}` with one result or per-item error per
/// request, in order; 400 when the envelope is bad or holds more than the batch limit (checked
/// before any item is decided); 413; 415; 503 when no evaluation slot is free in time. The items
/// are decided, and the answer encoded, in the evaluation pool.
pub(super) async fn batch(
    State(state): State<AppState>,
    ApiJson(batch): ApiJson<BatchRequest>,
) -> Result<Response, ApiError> {
    let max = state.limits().max_batch;
    if batch.requests.len() > max {
        return Err(ApiError::invalid(
            "requests",
            format!("{} requests in one batch: at most {max} are accepted", batch.requests.len()),
        ));
    }
    let shared = state.clone();
    let body = state
        .pool()
        .run(move || {
            let results = batch
                .requests
                .into_iter()
                .enumerate()
                .map(|(i, value)| {
                    let prefix = format!("requests[{i}]");
                    let decided = from_value::<AuthorizeRequest>(value, &prefix)
                        .and_then(|req| authorize(&shared, &req, &prefix, "batch"));
                    match decided {
                        Ok(r) => BatchItem::Decided(r),
                        Err(e) => BatchItem::Failed { error: e.body() },
                    }
                })
                .collect();
            serde_json::to_vec(&BatchResponse { results })
                .map_err(|e| ApiError::Internal { message: format!("encoding the answer: {e}") })
        })
        .await??;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}
