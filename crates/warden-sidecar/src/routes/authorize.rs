//! `POST /v1/authorize` and `POST /v1/authorize/batch`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::authorize::{authorize, item_is_cheap, AuthorizeRequest, AuthorizeResponse, INLINE_BATCH};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{from_value, ApiJson};
use crate::state::AppState;

/// `POST /v1/authorize` → 200 `AuthorizeResponse` (allowed or denied, both 200);
/// 400 bad input (the error names the field); 413 body too large; 415 not JSON; 503 when an
/// expensive request (below) finds no evaluation slot in time.
///
/// A cheap request (no explanation, no resource policy longer than the cached ones) is decided
/// inline: microseconds, less than the hop to a blocking thread costs (measured with
/// `bench/authorize.sh`: a quarter fewer requests per second through the pool). Others run in the
/// evaluation pool.
pub(super) async fn single(
    State(state): State<AppState>,
    ApiJson(mut req): ApiJson<AuthorizeRequest>,
) -> Result<Json<AuthorizeResponse>, ApiError> {
    req.policy_as_text();
    if req.is_cheap() {
        return authorize(&state, &req, "", "authorize").map(Json);
    }
    let shared = state.clone();
    state.pool().run(move || authorize(&shared, &req, "", "authorize")).await?.map(Json)
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
/// are decided, and the answer encoded, in the evaluation pool — except a batch of at most
/// [`INLINE_BATCH`] cheap items, decided inline (as a single request would be).
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
    if batch.requests.len() <= INLINE_BATCH && batch.requests.iter().all(item_is_cheap) {
        return Ok(Json(decide_all(&state, batch.requests)).into_response());
    }
    let shared = state.clone();
    let body = state
        .pool()
        .run(move || {
            serde_json::to_vec(&decide_all(&shared, batch.requests))
                .map_err(|e| ApiError::Internal { message: format!("encoding the answer: {e}") })
        })
        .await??;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

fn decide_all(state: &AppState, requests: Vec<serde_json::Value>) -> BatchResponse {
    let results = requests
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let prefix = format!("requests[{i}]");
            let decided =
                from_value::<AuthorizeRequest>(value, &prefix).and_then(|req| authorize(state, &req, &prefix, "batch"));
            match decided {
                Ok(r) => BatchItem::Decided(r),
                Err(e) => BatchItem::Failed { error: e.body() },
            }
        })
        .collect();
    BatchResponse { results }
}
