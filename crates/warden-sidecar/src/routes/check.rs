//! `/v1/check` (any method): the authorization check of a reverse proxy — nginx `auth_request`
//! or Envoy `ext_authz` (HTTP service). See `ROUTES.md`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use warden_policy::arn::Arn;
use warden_policy::request::GlobalKeys;
use warden_policy::{evaluate, Policies, Request};

use crate::authorize::{log, response_of};
use crate::error::ApiError;
use crate::state::AppState;

/// The caller, set by the proxy from its own authentication (never from the client).
pub const PRINCIPAL_HEADER: &str = "x-warden-principal";
/// The client address, optional (fills `aws:SourceIp`).
pub const SOURCE_IP_HEADER: &str = "x-warden-source-ip";
/// The original method (nginx); Envoy sends the original method as the request's own.
pub const METHOD_HEADER: &str = "x-original-method";
/// The original URI (nginx); Envoy appends the original path to the check path.
pub const URI_HEADER: &str = "x-original-uri";
/// Why a check was refused: `unauthenticated`, `noRoute`, `badPath`, `unknownPrincipal`,
/// `explicitDeny` or `implicitDeny`.
pub const REASON_HEADER: &str = "x-warden-reason";

const CHECK_PREFIX: &str = "/v1/check";

/// `ANY /v1/check[/ORIGINAL-PATH]` → 200 allowed; 401 no `X-Warden-Principal`; 403 denied, with
/// AWS's AccessDenied sentence as text and `X-Warden-Reason` (also for an unmatched route or an
/// unknown principal: fail closed); 400 when a header is malformed.
///
/// Every answer carries `X-Warden-Action` and `X-Warden-Resource` when a route matched.
pub(super) async fn check(State(state): State<AppState>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    match decide(&state, &method, &uri, &headers) {
        Ok(answer) => answer,
        Err(e) => e.into_response(),
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()).filter(|s| !s.is_empty()))
            .map_err(|_| ApiError::invalid(name, "the header is not visible ASCII")),
    }
}

fn decide(state: &AppState, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<Response, ApiError> {
    let started = Instant::now();
    let Some(principal) = header(headers, PRINCIPAL_HEADER)? else {
        return Ok(text(StatusCode::UNAUTHORIZED, "unauthenticated", "missing X-Warden-Principal header\n", &[]));
    };
    let method = match header(headers, METHOD_HEADER)? {
        Some(m) if m.bytes().all(|b| b.is_ascii_alphabetic()) => m.to_ascii_uppercase(),
        Some(m) => return Err(ApiError::invalid(METHOD_HEADER, format!("`{m}` is not an HTTP method"))),
        None => method.as_str().to_owned(),
    };
    let original = match header(headers, URI_HEADER)? {
        Some(u) => u.to_owned(),
        None => {
            let path = uri.path().strip_prefix(CHECK_PREFIX).unwrap_or_default();
            let path = if path.is_empty() { "/" } else { path };
            match uri.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            }
        }
    };
    let source_ip = match header(headers, SOURCE_IP_HEADER)? {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| ApiError::invalid(SOURCE_IP_HEADER, format!("`{ip}` is not an IP address")))?,
        ),
        None => None,
    };
    let routes = state.routes();
    let found = match routes.find(&method, &original) {
        Ok(found) => found,
        Err(e) => return Ok(text(StatusCode::FORBIDDEN, "badPath", &format!("{e}\n"), &[])),
    };
    let Some(route) = found else {
        state.metrics().record_unrouted();
        let message = format!("no route in routes.json matches `{method} {original}`\n");
        return Ok(text(StatusCode::FORBIDDEN, "noRoute", &message, &[]));
    };
    let described = [("x-warden-action", route.action.as_str()), ("x-warden-resource", route.resource.as_str())];
    let Some(caller) = state.caller(principal) else {
        // Nobody the store knows has no policies: AWS's sentence for that.
        let message = format!(
            "User: {principal} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action\n",
            route.action, route.resource, route.action
        );
        return Ok(text(StatusCode::FORBIDDEN, "unknownPrincipal", &message, &described));
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let context =
        GlobalKeys { source_ip, epoch_seconds: i64::try_from(now).unwrap_or(i64::MAX), ..GlobalKeys::default() }
            .on(Arc::clone(&caller.context))
            .map_err(|e| ApiError::invalid(SOURCE_IP_HEADER, e.to_string()))?;
    let resource_account = Arn::parse(&route.resource)
        .map(|a| a.account.to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| caller.principal.account().to_owned());
    let policies = Policies {
        identity: &caller.identity.policies,
        boundary: caller.identity.boundary.as_ref(),
        session: None,
        resource: None,
    };
    let request = Request {
        principal: &caller.principal,
        action: &route.action,
        resource: &route.resource,
        resource_account: &resource_account,
        context: &context,
    };
    let decision = evaluate(&policies, &request);
    let response = response_of(&decision, caller.principal.arn(), &route.action, &route.resource);
    let took = started.elapsed();
    state.metrics().record(decision.outcome, took);
    log(state, "check", caller.principal.arn(), &route.action, &route.resource, &response, took);
    Ok(if decision.is_allowed() {
        text(StatusCode::OK, decision.outcome.as_str(), "", &described)
    } else {
        let message = format!("{}\n", response.message.as_deref().unwrap_or("Access denied"));
        text(StatusCode::FORBIDDEN, decision.outcome.as_str(), &message, &described)
    })
}

fn text(status: StatusCode, reason: &str, body: &str, extra: &[(&'static str, &str)]) -> Response {
    let mut response = (status, body.to_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(reason) {
        headers.insert(HeaderName::from_static(REASON_HEADER), v);
    }
    for (name, value) in extra {
        // A resource with characters a header cannot carry is simply not echoed.
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    response
}
