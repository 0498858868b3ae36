//! Errors: the wire errors of the API ([`ApiError`], answered as JSON) and the errors that keep
//! the server from starting ([`Error`]).
//!
//! Every wire error has the same body, `{"error": {"code", "message", "field"?}}`: `code` is the
//! AWS error code where one exists (`InvalidInput`, `MalformedPolicyDocument`, `NoSuchEntity`),
//! `field` names the offending request field (`requests[2].context[0].values`).

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use warden_policy::simulate::SimulateError;

use crate::route_table::RouteTableError;

/// A request the API refuses, answered as JSON with a 4xx status (503 when busy, 500 on failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A field is missing, of the wrong type, or has a value the API refuses (400).
    #[error("{field}: {message}")]
    InvalidInput {
        /// The field, as a path into the request body (`body` for the whole body).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A policy in the request does not parse or validate (400, `MalformedPolicyDocument`).
    #[error("{field}: {message}")]
    MalformedPolicy {
        /// `resourcePolicy`, `PolicyInputList[0]`, ...
        field: String,
        /// Why.
        message: String,
    },
    /// A simulation request the engine refused (400, with the AWS code of the IAM API).
    #[error("{message}")]
    Simulate {
        /// The AWS error code.
        code: &'static str,
        /// The field, when the engine named one.
        field: Option<String>,
        /// The engine's message, which names the field.
        message: String,
    },
    /// The body is larger than the configured limit (413).
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not declared as JSON (415).
    #[error("the request body must be JSON (`Content-Type: application/json`), not `{content_type}`")]
    UnsupportedMediaType {
        /// The declared content type.
        content_type: String,
    },
    /// No route has this path (404).
    #[error("no such path `{path}`")]
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// The path exists, the method does not (405).
    #[error("method `{method}` is not allowed on this path")]
    MethodNotAllowed {
        /// The method used.
        method: String,
    },
    /// Every evaluation slot stayed busy for the configured wait, or too many requests already
    /// wait (503, `ServiceUnavailable`, with `Retry-After`).
    #[error("the authorizer is busy: no evaluation slot became free in time; retry after {retry_after_secs} s")]
    Busy {
        /// The `Retry-After` hint, in seconds.
        retry_after_secs: u64,
    },
    /// The server failed while answering (500, `ServiceFailure`).
    #[error("{message}")]
    Internal {
        /// What failed.
        message: String,
    },
}

/// The JSON error object of every error answer (and of per-item errors in a batch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// An AWS-style error code.
    pub code: String,
    /// A message that names the field.
    pub message: String,
    /// The offending field, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `{"error": ErrorBody}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

impl ApiError {
    /// An [`ApiError::InvalidInput`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::InvalidInput { field: field.into(), message: message.into() }
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidInput { .. } | ApiError::MalformedPolicy { .. } | ApiError::Simulate { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidInput { .. } => "InvalidInput",
            ApiError::MalformedPolicy { .. } => "MalformedPolicyDocument",
            ApiError::Simulate { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "PayloadTooLarge",
            ApiError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            ApiError::NotFound { .. } => "NotFound",
            ApiError::MethodNotAllowed { .. } => "MethodNotAllowed",
            ApiError::Busy { .. } => "ServiceUnavailable",
            ApiError::Internal { .. } => "ServiceFailure",
        }
    }

    /// The field it names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidInput { field, .. } | ApiError::MalformedPolicy { field, .. } => Some(field),
            ApiError::Simulate { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The JSON error object.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { code: self.code().to_owned(), message: self.to_string(), field: self.field().map(str::to_owned) }
    }
}

impl From<SimulateError> for ApiError {
    fn from(e: SimulateError) -> ApiError {
        let field = match &e {
            SimulateError::Policy { field, .. }
            | SimulateError::InvalidInput { field, .. }
            | SimulateError::Context { field, .. }
            | SimulateError::Principal { field, .. } => Some(field.clone()),
            SimulateError::NoSuchEntity(_) => Some("PolicySourceArn".to_owned()),
            _ => None,
        };
        ApiError::Simulate { code: e.aws_code(), field, message: e.to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(ErrorEnvelope { error: self.body() })).into_response();
        if let ApiError::Busy { retry_after_secs } = self {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// Why the server did not start (or stopped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The identity store under `<policies>/identities/` is invalid.
    #[error(transparent)]
    Store(#[from] warden_identity::StoreError),
    /// `<policies>/routes.json` is invalid.
    #[error(transparent)]
    Routes(#[from] RouteTableError),
    /// Published demo keys are loaded and the address is not loopback.
    #[error(transparent)]
    DemoKeys(#[from] warden_identity::DemoKeysError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The decision log could not be opened.
    #[error("cannot open the decision log `{path}`: {source}")]
    DecisionLog {
        /// The path given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sample rate is outside `0.0..=1.0`.
    #[error("--log-sample-rate: `{0}` is not between 0.0 and 1.0")]
    SampleRate(f64),
    /// Serving failed (accepting connections, starting the reload watcher).
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}
