//! ECR's exceptions: `{"__type": …, "message": …}` with HTTP 400 (500 for `ServerException`), and
//! the ECR rendering of [`RegistryError`].

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use warden_tower::Rejection;

use crate::error::RegistryError;

/// An ECR exception.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrError {
    /// Exception name.
    pub code: &'static str,
    /// Message, in ECR's words.
    pub message: String,
    /// `Retry-After` seconds, on `ThrottlingException`.
    pub retry_after: Option<u64>,
}

impl EcrError {
    /// An exception.
    pub fn new(code: &'static str, message: impl Into<String>) -> EcrError {
        EcrError { code, message: message.into(), retry_after: None }
    }

    /// `InvalidParameterException`.
    pub fn invalid(message: impl Into<String>) -> EcrError {
        EcrError::new("InvalidParameterException", message)
    }

    /// `InvalidParameterException` for a required member that is missing.
    pub fn missing(member: &str) -> EcrError {
        EcrError::invalid(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// `InvalidParameterException` for a list with more members than ECR takes.
    pub fn too_many(member: &str, max: usize) -> EcrError {
        EcrError::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ))
    }

    /// `ThrottlingException: Rate exceeded`, HTTP 400, as ECR throttles (the AWS JSON protocol puts
    /// every client error on 400: the ECS agent's logs of ECR quote "ThrottlingException: Rate
    /// exceeded, status code: 400", aws/amazon-ecs-agent#498). botocore's standard and legacy retry
    /// modes retry it by its code (`ThrottlingException` is in their list of throttling errors),
    /// as the Go and JavaScript SDKs do; `Retry-After` says when a credit is back.
    pub fn throttled(retry_after: u64) -> EcrError {
        EcrError { code: "ThrottlingException", message: String::from("Rate exceeded"), retry_after: Some(retry_after) }
    }

    /// The HTTP status: 500 for `ServerException`, 400 for every other exception.
    pub fn status(&self) -> StatusCode {
        if self.code == "ServerException" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// The same answer as a [`Rejection`], for errors found while describing a request.
    pub fn rejection(&self) -> Rejection {
        Rejection::new(self.code, self.status(), self.message.clone())
    }
}

impl IntoResponse for EcrError {
    fn into_response(self) -> Response {
        let mut resp: Response = warden_tower::deny::json_error(self.status(), self.code, &self.message, None);
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        resp
    }
}

impl From<RegistryError> for EcrError {
    fn from(e: RegistryError) -> EcrError {
        let code =
            match &e {
                RegistryError::NameUnknown { .. } => "RepositoryNotFoundException",
                RegistryError::LimitExceeded(_) | RegistryError::TooManyTags { .. } => "LimitExceededException",
                RegistryError::TagImmutable { .. } => "ImageTagAlreadyExistsException",
                RegistryError::ManifestDigestMismatch { .. } => return EcrError::new(
                    "ImageDigestDoesNotMatchException",
                    "The specified image digest does not match the digest that Amazon ECR calculated for the image.",
                ),
                RegistryError::BlobDigestMismatch { .. } => "InvalidLayerException",
                RegistryError::ManifestBlobUnknown { .. } | RegistryError::BlobUnknown { .. } => {
                    return EcrError::new("LayersNotFoundException", "The specified layers could not be found")
                }
                RegistryError::ManifestUnknown { .. } => "ImageNotFoundException",
                RegistryError::UploadUnknown => "UploadNotFoundException",
                RegistryError::NameInvalid { .. }
                | RegistryError::DigestInvalid { .. }
                | RegistryError::TagInvalid { .. }
                | RegistryError::ManifestInvalid(_)
                | RegistryError::SizeInvalid(_)
                | RegistryError::PolicyInvalid(_)
                | RegistryError::UploadInvalid(_)
                | RegistryError::RangeNotSatisfiable { .. }
                | RegistryError::PaginationInvalid(_)
                | RegistryError::Unsupported(_) => "InvalidParameterException",
                RegistryError::NotFound => "UnknownOperationException",
                RegistryError::Throttled { retry_after } => return EcrError::throttled(*retry_after),
                RegistryError::Internal(_) => "ServerException",
            };
        EcrError::new(code, e.to_string())
    }
}

/// The result of an ECR operation.
pub type Result<T> = std::result::Result<T, EcrError>;
