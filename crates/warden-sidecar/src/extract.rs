//! [`ApiJson`]: a JSON body extractor whose rejections are [`ApiError`]s, so that a malformed
//! body is answered in the API's own error format and names the offending field.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
///
/// Unlike `axum::Json`, a missing `Content-Type` is accepted (curl's `-d` sends a form type, which
/// is refused with 415 as any non-JSON type is), a too large body is a 413, and a body that does
/// not deserialize is a 400 whose `field` is the path to the offending value (`requests[1].action`).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default();
            let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            if !(essence == "application/json" || essence.ends_with("+json")) {
                return Err(ApiError::UnsupportedMediaType { content_type: ct.to_owned() });
            }
        }
        let limit = req.extensions().get::<BodyLimit>().map_or(usize::MAX, |l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::invalid("body", rejection.body_text())
            }
        })?;
        from_slice(&bytes, "").map(ApiJson)
    }
}

/// The configured body limit, put in request extensions by the router so rejections can say it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Deserializes `bytes`, naming the offending field (prefixed with `prefix`) on failure.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8], prefix: &str) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(e, prefix))?;
    de.end().map_err(|e| ApiError::invalid(field_name(prefix, ""), e.to_string()))?;
    Ok(value)
}

/// Deserializes an already parsed value (a batch item), naming the offending field.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value, prefix: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| path_error(e, prefix))
}

fn path_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>, prefix: &str) -> ApiError {
    let path = e.path().to_string();
    // `.` is the root, `?` a position the parser could not attribute (truncated input).
    let path = path.trim_end_matches('?').trim_end_matches('.').to_owned();
    let message = e.inner().to_string();
    // serde reports a missing field at its parent; name the field itself.
    let named = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()).map(|name| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    });
    ApiError::invalid(field_name(prefix, named.as_deref().unwrap_or(&path)), message)
}

/// `prefix` joined with `path`; `body` when both are empty.
pub fn field_name(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, true) => "body".to_owned(),
        (true, false) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        action: String,
        #[serde(default)]
        values: Vec<String>,
    }

    fn field_of(text: &str, prefix: &str) -> String {
        match from_slice::<Item>(text.as_bytes(), prefix) {
            Err(ApiError::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"values":[]}"#, ""), "action");
        assert_eq!(field_of(r#"{"action":"a","nope":1}"#, ""), "nope");
        assert_eq!(field_of(r#"{"action":"a","values":[1]}"#, ""), "values[0]");
        assert_eq!(field_of(r#"{"action":3}"#, "requests[2]"), "requests[2].action");
        assert_eq!(field_of(r#"{"action":"a"} x"#, ""), "body");
        assert_eq!(field_of("[", ""), "body");
    }
}
