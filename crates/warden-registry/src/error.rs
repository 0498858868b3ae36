//! The registry's one error type, [`RegistryError`], and its rendering for the distribution API
//! (`{"errors":[{"code":…}]}` with the spec's status). The ECR API renders the same values as
//! AWS exceptions (`crate::ecr::error`). Errors are matched by variant, never by message.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use warden_tower::Rejection;

/// Everything that can go wrong in a registry request, in the registry's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A repository name that is not valid (after percent-decoding).
    #[error("invalid repository name: {name}")]
    NameInvalid {
        /// The name as decoded.
        name: String,
    },
    /// No such repository.
    #[error("The repository with name '{name}' does not exist in the registry with id '{registry}'")]
    NameUnknown {
        /// The repository.
        name: String,
        /// The registry (account) id.
        registry: String,
    },
    /// A digest that is not `sha256:<64 hex>` / `sha512:<128 hex>`.
    #[error("invalid digest `{digest}`")]
    DigestInvalid {
        /// The text given.
        digest: String,
    },
    /// A tag that is not `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    #[error("invalid tag `{tag}`")]
    TagInvalid {
        /// The text given.
        tag: String,
    },
    /// A manifest pushed by digest whose content has another digest.
    #[error("manifest digest is {computed}, not {given}")]
    ManifestDigestMismatch {
        /// The digest of the bytes received.
        computed: String,
        /// The digest named by the request.
        given: String,
    },
    /// An upload whose content has another digest than the one named.
    #[error("content digest {computed} does not match {expected}")]
    BlobDigestMismatch {
        /// The digest of the bytes received.
        computed: String,
        /// The digest named by the request.
        expected: String,
    },
    /// A tag of an IMMUTABLE repository that already points elsewhere.
    #[error("The image tag '{tag}' already exists in the '{repo}' repository and cannot be overwritten because the repository is immutable.")]
    TagImmutable {
        /// The tag.
        tag: String,
        /// The repository.
        repo: String,
    },
    /// An image would get more tags than allowed.
    #[error("an image may have at most {limit} tags")]
    TooManyTags {
        /// The limit.
        limit: usize,
    },
    /// A manifest that is not valid.
    #[error("{0}")]
    ManifestInvalid(String),
    /// No manifest under that reference.
    #[error("manifest unknown: {reference}")]
    ManifestUnknown {
        /// Tag or digest.
        reference: String,
    },
    /// A manifest names a blob or child manifest the repository does not hold.
    #[error("blob unknown to registry: {digest}")]
    ManifestBlobUnknown {
        /// The missing blob or manifest.
        digest: String,
    },
    /// No blob under that digest in the repository.
    #[error("blob unknown to registry: {digest}")]
    BlobUnknown {
        /// The digest.
        digest: String,
    },
    /// No such upload session (in this repository).
    #[error("blob upload unknown to registry")]
    UploadUnknown,
    /// An upload request that cannot be applied.
    #[error("{0}")]
    UploadInvalid(String),
    /// A byte range that does not fit (416, `Content-Range: bytes */SIZE`).
    #[error("requested range not satisfiable")]
    RangeNotSatisfiable {
        /// The size the range is measured against.
        size: u64,
    },
    /// A body larger than the route accepts.
    #[error("{0}")]
    SizeInvalid(String),
    /// A quota is reached (repositories, images per repository).
    #[error("{0}")]
    LimitExceeded(String),
    /// A repository policy that does not validate.
    #[error("{0}")]
    PolicyInvalid(String),
    /// A method the route does not support (405).
    #[error("{0}")]
    Unsupported(String),
    /// An invalid `n` or `last` (400).
    #[error("{0}")]
    PaginationInvalid(String),
    /// No such route (404).
    #[error("unknown endpoint")]
    NotFound,
    /// The caller's bucket for this kind of request is empty ([`crate::throttle`]): 429
    /// TOOMANYREQUESTS on `/v2`, `ThrottlingException` on the ECR API.
    #[error("Rate exceeded")]
    Throttled {
        /// Seconds until the bucket holds a credit again (`Retry-After`).
        retry_after: u64,
    },
    /// Something on the server failed; logged where it happened (500).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl RegistryError {
    /// An internal failure of `what`, logged with its cause.
    pub fn internal(what: &'static str, cause: impl std::fmt::Display) -> RegistryError {
        tracing::error!(%cause, "{what}");
        RegistryError::Internal(what)
    }

    /// The distribution spec's error code.
    pub fn oci_code(&self) -> &'static str {
        match self {
            RegistryError::NameInvalid { .. } => "NAME_INVALID",
            RegistryError::NameUnknown { .. } => "NAME_UNKNOWN",
            RegistryError::DigestInvalid { .. }
            | RegistryError::ManifestDigestMismatch { .. }
            | RegistryError::BlobDigestMismatch { .. } => "DIGEST_INVALID",
            RegistryError::TagInvalid { .. }
            | RegistryError::TagImmutable { .. }
            | RegistryError::TooManyTags { .. } => "TAG_INVALID",
            RegistryError::ManifestInvalid(_) => "MANIFEST_INVALID",
            RegistryError::ManifestUnknown { .. } => "MANIFEST_UNKNOWN",
            RegistryError::ManifestBlobUnknown { .. } => "MANIFEST_BLOB_UNKNOWN",
            RegistryError::BlobUnknown { .. } => "BLOB_UNKNOWN",
            RegistryError::UploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            RegistryError::UploadInvalid(_) | RegistryError::RangeNotSatisfiable { .. } => "BLOB_UPLOAD_INVALID",
            RegistryError::SizeInvalid(_) => "SIZE_INVALID",
            RegistryError::LimitExceeded(_) => "DENIED",
            RegistryError::PolicyInvalid(_) => "POLICY_INVALID",
            RegistryError::Unsupported(_) => "UNSUPPORTED",
            RegistryError::PaginationInvalid(_) => "PAGINATION_NUMBER_INVALID",
            RegistryError::NotFound => "NOT_FOUND",
            RegistryError::Throttled { .. } => "TOOMANYREQUESTS",
            RegistryError::Internal(_) => "UNKNOWN",
        }
    }

    /// The HTTP status of the distribution API.
    pub fn status(&self) -> StatusCode {
        match self {
            RegistryError::NameUnknown { .. }
            | RegistryError::ManifestUnknown { .. }
            | RegistryError::BlobUnknown { .. }
            | RegistryError::UploadUnknown
            | RegistryError::NotFound => StatusCode::NOT_FOUND,
            RegistryError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            RegistryError::LimitExceeded(_) => StatusCode::FORBIDDEN,
            RegistryError::Unsupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            RegistryError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RegistryError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The same answer as a [`Rejection`], for errors found while describing a request.
    pub fn rejection(&self) -> Rejection {
        Rejection::new(self.oci_code(), self.status(), self.to_string())
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let mut resp = if let RegistryError::RangeNotSatisfiable { .. } = self {
            Response::new(axum::body::Body::empty())
        } else {
            let detail = match &self {
                RegistryError::Throttled { retry_after } => serde_json::json!({ "retryAfterSeconds": retry_after }),
                _ => serde_json::Value::Null,
            };
            let body = serde_json::json!({"errors": [{"code": self.oci_code(), "message": self.to_string(), "detail": detail}]});
            let mut r = Response::new(axum::body::Body::from(body.to_string()));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        };
        *resp.status_mut() = self.status();
        // The audit trail names the error as the ECR exception it is.
        let report = crate::ecr::EcrError::from(self.clone());
        resp.extensions_mut()
            .insert(warden_tower::deny::ErrorReport { code: report.code.into(), message: report.message });
        resp.headers_mut().insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
        if let RegistryError::Throttled { retry_after } = self {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let RegistryError::RangeNotSatisfiable { size } = self {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
        }
        resp
    }
}
