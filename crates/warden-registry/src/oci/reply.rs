//! Building responses of the distribution API: status, headers (every response says
//! `Docker-Distribution-API-Version: registry/2.0`) and body.

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderName, HeaderValue, StatusCode};

/// A response under construction.
pub(crate) struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, String)>,
    body: Body,
}

impl Reply {
    pub(crate) fn new(status: StatusCode) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::empty() }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn json(self, value: &serde_json::Value) -> Reply {
        self.header(header::CONTENT_TYPE, "application/json").body(value.to_string())
    }

    pub(crate) fn body(mut self, body: impl Into<Body>) -> Reply {
        self.body = body.into();
        self
    }

    pub(crate) fn build(self) -> Response {
        let mut resp = Response::new(self.body);
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.append(k, v);
            }
        }
        resp
    }
}

/// `Docker-Content-Digest`.
pub(crate) const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
