//! The distribution spec's errors: code, HTTP status, message; one `IntoResponse`.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

/// An error of the registry API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct OciError {
    /// Spec code (`BLOB_UNKNOWN`, `NAME_UNKNOWN`, ...).
    pub code: &'static str,
    /// HTTP status.
    pub status: StatusCode,
    /// Message.
    pub message: String,
    /// Extra headers (`Content-Range` on 416).
    pub content_range: Option<String>,
}

impl OciError {
    fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> OciError {
        OciError { code, status, message: message.into(), content_range: None }
    }

    /// BLOB_UNKNOWN (404).
    pub fn blob_unknown(digest: &str) -> Self {
        Self::new("BLOB_UNKNOWN", StatusCode::NOT_FOUND, format!("blob unknown to registry: {digest}"))
    }
    /// BLOB_UPLOAD_UNKNOWN (404).
    pub fn upload_unknown() -> Self {
        Self::new("BLOB_UPLOAD_UNKNOWN", StatusCode::NOT_FOUND, "blob upload unknown to registry")
    }
    /// BLOB_UPLOAD_INVALID (400).
    pub fn upload_invalid(message: impl Into<String>) -> Self {
        Self::new("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST, message)
    }
    /// DIGEST_INVALID (400).
    pub fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new("DIGEST_INVALID", StatusCode::BAD_REQUEST, message)
    }
    /// MANIFEST_INVALID (400).
    pub fn manifest_invalid(message: impl Into<String>) -> Self {
        Self::new("MANIFEST_INVALID", StatusCode::BAD_REQUEST, message)
    }
    /// MANIFEST_UNKNOWN (404).
    pub fn manifest_unknown(reference: &str) -> Self {
        Self::new("MANIFEST_UNKNOWN", StatusCode::NOT_FOUND, format!("manifest unknown: {reference}"))
    }
    /// MANIFEST_BLOB_UNKNOWN (400).
    pub fn manifest_blob_unknown(digest: &str) -> Self {
        Self::new("MANIFEST_BLOB_UNKNOWN", StatusCode::BAD_REQUEST, format!("blob unknown to registry: {digest}"))
    }
    /// NAME_INVALID (400).
    pub fn name_invalid(name: &str) -> Self {
        Self::new("NAME_INVALID", StatusCode::BAD_REQUEST, format!("invalid repository name: {name}"))
    }
    /// NAME_UNKNOWN (404), in ECR's words.
    pub fn name_unknown(name: &str, registry: &str) -> Self {
        Self::new(
            "NAME_UNKNOWN",
            StatusCode::NOT_FOUND,
            format!("The repository with name '{name}' does not exist in the registry with id '{registry}'"),
        )
    }
    /// TAG_INVALID (400).
    pub fn tag_invalid(message: impl Into<String>) -> Self {
        Self::new("TAG_INVALID", StatusCode::BAD_REQUEST, message)
    }
    /// UNSUPPORTED (405/415).
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED, message)
    }
    /// SIZE_INVALID (400).
    pub fn size_invalid(message: impl Into<String>) -> Self {
        Self::new("SIZE_INVALID", StatusCode::BAD_REQUEST, message)
    }
    /// DENIED (403) because a configured limit is reached (repositories, images per repository).
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new("DENIED", StatusCode::FORBIDDEN, message)
    }
    /// An invalid repository policy (400), with ECR's message.
    pub fn policy_invalid(message: &str) -> Self {
        Self::new("POLICY_INVALID", StatusCode::BAD_REQUEST, message)
    }
    /// 416 with `Content-Range: bytes */SIZE` and no body.
    pub fn range(size: u64) -> Self {
        let mut e =
            Self::new("BLOB_UPLOAD_INVALID", StatusCode::RANGE_NOT_SATISFIABLE, "requested range not satisfiable");
        e.content_range = Some(format!("bytes */{size}"));
        e
    }
    /// An internal failure, logged where it happened; the client sees a plain message.
    pub fn internal(what: &str) -> Self {
        Self::new("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {what}"))
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let mut resp = if self.status == StatusCode::RANGE_NOT_SATISFIABLE {
            Response::new(axum::body::Body::empty())
        } else {
            let body = serde_json::json!({"errors": [{"code": self.code, "message": self.message, "detail": null}]});
            let mut r = Response::new(axum::body::Body::from(body.to_string()));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        };
        *resp.status_mut() = self.status;
        resp.headers_mut().insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
        if let Some(cr) = self.content_range.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::CONTENT_RANGE, cr);
        }
        resp
    }
}
