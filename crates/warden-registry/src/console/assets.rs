//! The console's page, script and stylesheet, embedded in the binary at build time.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

fn text(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change with the binary: revalidate rather than trust a cached copy.
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /console`: the page shell; every view is a route of its script.
pub(super) async fn index() -> Response {
    text(INDEX, "text/html; charset=utf-8")
}

/// `GET /console/assets/{file}`.
pub(super) async fn file(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => text(SCRIPT, "text/javascript; charset=utf-8"),
        "app.css" => text(STYLE, "text/css; charset=utf-8"),
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
