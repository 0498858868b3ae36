//! `POST /v1/noop` (only with `--bench-noop`, undocumented): reads the body and answers a fixed
//! JSON, through the same stack as `/v1/authorize` — the HTTP floor of the benchmark.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use bytes::Bytes;

/// `POST /v1/noop` → 200 `{"decision":"Allow"}` whatever the body.
pub(super) async fn noop(_body: Bytes) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], r#"{"decision":"Allow"}"#)
}
