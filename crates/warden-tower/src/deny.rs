//! AWS-shaped answers for requests that are not authenticated or not allowed.

use http::{header, HeaderValue, Response, StatusCode};

use crate::authenticate::Rejection;

/// Why a request was denied, as the deny response sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The caller's ARN.
    pub caller_arn: String,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// AWS's sentence: `User: … is not authorized to perform: … on resource: … because …`.
    pub message: String,
    /// `explicitDeny` or `implicitDeny`.
    pub outcome: warden_policy::Outcome,
}

/// The error an error response carries, in its response's extensions, so that surrounding layers
/// (logs, audit trails) read the code without parsing the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// The error code (`RepositoryNotFoundException`, `NAME_UNKNOWN`).
    pub code: String,
    /// The message.
    pub message: String,
}

/// Turns rejections and denials into responses. Attach the [`Denial`] to the response's
/// extensions so surrounding layers (logging) can read it.
pub trait DenyResponse<ResBody>: Clone + Send + Sync + 'static {
    /// The request could not be authenticated.
    fn rejected(&self, rejection: &Rejection) -> Response<ResBody>;
    /// The request was authenticated and denied.
    fn denied(&self, denial: &Denial) -> Response<ResBody>;
}

/// The AWS JSON protocol (`application/x-amz-json-1.1`): `{"__type": "AccessDeniedException",
/// "message": "User: … is not authorized to perform: …"}` with HTTP 400, as ECR answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonProtocolDeny;

impl<ResBody: From<String>> DenyResponse<ResBody> for JsonProtocolDeny {
    fn rejected(&self, r: &Rejection) -> Response<ResBody> {
        json_error(r.status, r.code, &r.message, None)
    }

    fn denied(&self, d: &Denial) -> Response<ResBody> {
        json_error(StatusCode::BAD_REQUEST, "AccessDeniedException", &d.message, Some(d.clone()))
    }
}

/// The JSON error body of the AWS JSON protocol.
pub fn json_error<ResBody: From<String>>(
    status: StatusCode,
    code: &str,
    message: &str,
    denial: Option<Denial>,
) -> Response<ResBody> {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    let mut resp = Response::new(ResBody::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Ok(v) = HeaderValue::from_str(code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    if let Some(d) = denial {
        resp.extensions_mut().insert(d);
    }
    resp.extensions_mut().insert(ErrorReport { code: code.to_owned(), message: message.to_owned() });
    resp
}

/// The Docker Registry HTTP API V2 / OCI distribution: `{"errors":[{"code":"DENIED","message":…}]}`
/// with 403, and 401 `UNAUTHORIZED` with a `WWW-Authenticate` challenge so that docker, skopeo and
/// oras send credentials.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegistryDeny;

impl<ResBody: From<String>> DenyResponse<ResBody> for RegistryDeny {
    fn rejected(&self, r: &Rejection) -> Response<ResBody> {
        let code = if r.code.chars().all(|c| c.is_ascii_uppercase() || c == '_') { r.code } else { "UNAUTHORIZED" };
        let mut resp = registry_error(r.status, code, &r.message);
        if let Some(challenge) = r.challenge.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        resp
    }

    fn denied(&self, d: &Denial) -> Response<ResBody> {
        let mut resp = registry_error(StatusCode::FORBIDDEN, "DENIED", &d.message);
        resp.extensions_mut().insert(d.clone());
        resp
    }
}

/// The error body of the distribution spec.
pub fn registry_error<ResBody: From<String>>(status: StatusCode, code: &str, message: &str) -> Response<ResBody> {
    let body = serde_json::json!({"errors": [{"code": code, "message": message, "detail": null}]}).to_string();
    let mut resp = Response::new(ResBody::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
    resp.extensions_mut().insert(ErrorReport { code: code.to_owned(), message: message.to_owned() });
    resp
}
