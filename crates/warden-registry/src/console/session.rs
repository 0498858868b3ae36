//! Console sessions: sign-in with an access key and its secret, or a registry token, exchanged for
//! a short-lived session cookie; every later call authenticated by that cookie and, unless it is a
//! read, by a CSRF token bound to it.
//!
//! - **The cookie** (`warden-session`) is a token of the registry's token issuer under a key of its
//!   own ([`TokenIssuer::derive`]), naming the principal and an expiry: any instance holding the
//!   registry's token key accepts it, nothing is stored per session, and it can be neither forged
//!   nor used as a registry password. It is `HttpOnly` (no script reads it), `SameSite=Strict`
//!   (no other site's page sends it), `Path=/console`, `Secure` when the console is served over
//!   HTTPS by a proxy ([`super::ConsoleOptions::secure_cookie`]), and lives [`Sessions::ttl`].
//! - **CSRF.** Every call that is not a `GET` carries `X-Warden-Csrf`, an HMAC of the session
//!   token under a third derived key, which the page reads from `GET /console/api/session` (a
//!   same-origin read no other site can make). A call whose `Origin` is another origin, or that
//!   the browser marks `Sec-Fetch-Site: cross-site`, is refused whatever it carries — sign-in
//!   included, so no other site can sign a browser in under its own keys.
//! - **Sign-out** ends, on this instance, every session of the user opened no later than the one
//!   signing out, and clears the cookie; other instances accept those sessions until they expire
//!   (at most the session lifetime).
//! - **Secrets** arrive only in the sign-in body: they are compared in constant time, never
//!   logged, never echoed, and the answer for an unknown key and a wrong secret is the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::json;
use warden_auth::token::TokenError;
use warden_auth::TokenIssuer;
use warden_identity::StoreHandle;
use warden_tower::{Authenticate, Caller, Rejection};

use crate::state::Registry;
use crate::trail::event::{self, Event, UserIdentity};

/// The session cookie's name.
pub const COOKIE: &str = "warden-session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-warden-csrf";
/// The longest sign-in body read.
const MAX_SIGNIN_BYTES: usize = 16 * 1024;

/// Sign-in attempts a client address may make per minute (a burst of as many); beyond, sign-ins
/// from it are answered `ThrottlingException` until the bucket refills. Guessing a secret is
/// hopeless anyway; this keeps a client from trying fast.
pub const SIGN_INS_PER_MINUTE: u32 = 20;

type SignInLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

/// The console's session keys and lifetime, shared by the sign-in handlers and the authenticator.
pub struct Sessions {
    tokens: TokenIssuer,
    csrf: TokenIssuer,
    /// Per principal: sessions issued before this time (epoch seconds) were signed out. At most
    /// one entry per principal that signed out within a session lifetime.
    signed_out: Mutex<HashMap<String, i64>>,
    sign_ins: SignInLimiter,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("ttl", &self.ttl()).finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions of `registry_tokens`' registry lasting `ttl`.
    pub fn new(registry_tokens: &TokenIssuer, ttl: Duration) -> Sessions {
        Sessions {
            tokens: registry_tokens.derive("console-session", ttl),
            csrf: registry_tokens.derive("console-csrf", ttl),
            signed_out: Mutex::new(HashMap::new()),
            sign_ins: governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(SIGN_INS_PER_MINUTE).unwrap_or(std::num::NonZeroU32::MIN),
            )),
        }
    }

    /// Takes one sign-in attempt from `client`'s bucket; refused once it is empty.
    fn admit_sign_in(&self, client: Option<std::net::IpAddr>) -> Result<(), Rejection> {
        // No address (a router without the listener's connect info) shares one bucket; an IPv6
        // client is its /64, which one host can rotate through.
        let key = match client {
            Some(std::net::IpAddr::V6(v6)) => {
                let mut octets = v6.octets();
                for o in octets.iter_mut().skip(8) {
                    *o = 0;
                }
                std::net::IpAddr::V6(octets.into())
            }
            Some(v4) => v4,
            None => std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        };
        if self.sign_ins.len() > 10_000 {
            self.sign_ins.retain_recent();
        }
        self.sign_ins.check_key(&key).map_err(|_| {
            Rejection::new(
                "ThrottlingException",
                StatusCode::TOO_MANY_REQUESTS,
                "Rate exceeded: too many sign-in attempts from this address; wait a minute and try again.",
            )
        })
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.tokens.lifetime()
    }

    /// A new session for `principal_arn`, ending at the latest at `not_after` (epoch seconds):
    /// its token and expiry.
    fn open(&self, principal_arn: &str, now: SystemTime, not_after: Option<i64>) -> (String, SystemTime) {
        self.tokens.mint_until(principal_arn, now, not_after)
    }

    /// The CSRF token of a session token.
    fn csrf_of(&self, token: &str) -> String {
        self.csrf.tag(token.as_bytes())
    }

    /// What a live session token says.
    fn verify(&self, token: &str, now: SystemTime) -> Result<warden_auth::Claims, Rejection> {
        let claims = self.tokens.verify(token, now).map_err(|e| match e {
            TokenError::Expired => expired(),
            _ => invalid(),
        })?;
        // A lock poisoned by a panic elsewhere refuses rather than forgets a sign-out.
        let signed_out = self.signed_out.lock().map_err(|_| invalid())?;
        if signed_out.get(&claims.principal_arn).is_some_and(|&before| claims.issued_at < before) {
            return Err(invalid());
        }
        Ok(claims)
    }

    /// Ends, on this instance, every session of the principal of `claims` issued no later than
    /// the session signing out.
    fn sign_out(&self, claims: &warden_auth::Claims) {
        if let Ok(mut signed_out) = self.signed_out.lock() {
            // An entry older than a session's lifetime can no longer refuse a live session.
            let horizon = epoch(SystemTime::now()) - i64::try_from(self.ttl().as_secs()).unwrap_or(i64::MAX);
            signed_out.retain(|_, &mut before| before > horizon);
            let before = signed_out.entry(claims.principal_arn.clone()).or_insert(0);
            *before = (*before).max(claims.issued_at.saturating_add(1));
        }
    }
}

fn expired() -> Rejection {
    Rejection::new(
        "ExpiredTokenException",
        StatusCode::UNAUTHORIZED,
        "Your console session has expired. Sign in again.",
    )
}

fn invalid() -> Rejection {
    Rejection::new(
        "MissingAuthenticationTokenException",
        StatusCode::UNAUTHORIZED,
        "Sign in to the console: the request has no valid session.",
    )
}

fn forbidden_origin() -> Rejection {
    Rejection::new(
        "InvalidCsrfTokenException",
        StatusCode::FORBIDDEN,
        "The request came from another site; the console accepts only its own pages' requests.",
    )
}

fn epoch(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// The session token of a request's `Cookie` headers. Two session cookies are none: another
/// site on the same host (cookies ignore ports) could have planted one with a longer path, which
/// the browser would send first.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim());
    let first = found.next()?;
    (found.next().is_none() && !first.is_empty()).then_some(first)
}

/// Refuses a request another site made: an `Origin` that is not the `Host` it was sent to, or
/// `Sec-Fetch-Site: cross-site` / `same-site` (a sibling subdomain is another site's page too).
fn same_origin(headers: &HeaderMap) -> Result<(), Rejection> {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Err(forbidden_origin());
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).ok_or_else(forbidden_origin)?;
        let origin = origin.to_str().map_err(|_| forbidden_origin())?;
        let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        if authority != Some(host) {
            return Err(forbidden_origin());
        }
    }
    Ok(())
}

/// Authenticates console calls by their session cookie (and CSRF token, for anything but `GET`),
/// as the signed-in principal of the identity store serving now.
#[derive(Clone)]
pub struct SessionAuthenticator {
    /// The session keys.
    pub sessions: Arc<Sessions>,
    /// The identities.
    pub store: Arc<StoreHandle>,
}

impl SessionAuthenticator {
    /// The caller of `req`.
    pub fn verify<B>(&self, req: &Request<B>) -> Result<Caller, Rejection> {
        let (_, claims) = self.verified(req)?;
        // The principal as the identity store has it now: a user removed since sign-in is out.
        let store = self.store.current();
        store.resolve(&claims.principal_arn).map(warden_auth::caller_of).ok_or_else(invalid)
    }

    /// The session token of `req` and what it says, once the origin, the session and (for
    /// anything but a `GET`) the CSRF token hold.
    fn verified<'r, B>(&self, req: &'r Request<B>) -> Result<(&'r str, warden_auth::Claims), Rejection> {
        let headers = req.headers();
        same_origin(headers)?;
        let token = session_cookie(headers).ok_or_else(invalid)?;
        let claims = self.sessions.verify(token, SystemTime::now())?;
        if req.method() != Method::GET {
            let csrf = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !self.sessions.csrf.check_tag(token.as_bytes(), csrf) {
                return Err(Rejection::new(
                    "InvalidCsrfTokenException",
                    StatusCode::FORBIDDEN,
                    "The request's CSRF token is missing or does not match the session.",
                ));
            }
        }
        Ok((token, claims))
    }
}

impl<B: Send + 'static> Authenticate<B> for SessionAuthenticator {
    async fn authenticate(&self, req: Request<B>) -> Result<(Request<B>, Caller), Rejection> {
        let caller = self.verify(&req)?;
        Ok((req, caller))
    }

    fn authenticate_head(&self, req: &Request<B>) -> Option<Result<Caller, Rejection>> {
        Some(self.verify(req))
    }
}

/// What the sign-in form sends.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignIn {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    registry_token: Option<String>,
}

/// The console's state for its session routes.
#[derive(Clone)]
pub(crate) struct SessionState {
    pub(crate) registry: Arc<Registry>,
    pub(crate) sessions: Arc<Sessions>,
    /// Mark the cookie `Secure` (the console is reached over HTTPS, through a TLS proxy).
    pub(crate) secure_cookie: bool,
}

impl SessionState {
    fn authenticator(&self) -> SessionAuthenticator {
        SessionAuthenticator { sessions: Arc::clone(&self.sessions), store: Arc::clone(&self.registry.store) }
    }
}

/// An error answer in the AWS JSON protocol's shape.
pub(crate) fn error(r: &Rejection) -> Response {
    warden_tower::deny::json_error::<Body>(r.status, r.code, &r.message, None).into_response()
}

fn bad_credentials() -> Rejection {
    Rejection::new(
        "UnrecognizedClientException",
        StatusCode::UNAUTHORIZED,
        "The access key ID or secret access key, or the registry token, is not valid.",
    )
}

/// Equal, in time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The principal a sign-in names, if its credentials hold, and when a session it opens must end
/// at the latest (a registry token's expiry).
fn principal_of(state: &SessionState, form: &SignIn, now: SystemTime) -> Result<(String, Option<i64>), Rejection> {
    let store = state.registry.store.current();
    match (&form.access_key_id, &form.secret_access_key, &form.registry_token) {
        (Some(id), Some(secret), None) => {
            let credential = store.credential(id.trim()).ok_or_else(bad_credentials)?;
            if !constant_time_eq(credential.secret.as_bytes(), secret.as_bytes()) {
                return Err(bad_credentials());
            }
            Ok((credential.user_arn.clone(), None))
        }
        (None, None, Some(token)) => {
            let token = token.trim();
            // The password `aws ecr get-login-password` prints, or the base64 `AWS:password`
            // of GetAuthorizationToken.
            let decoded = STANDARD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("AWS:").map(str::to_owned));
            let password = decoded.as_deref().unwrap_or(token);
            let claims = state.registry.issuer.verify(password, now).map_err(|e| match e {
                TokenError::Expired => Rejection::new(
                    "ExpiredTokenException",
                    StatusCode::UNAUTHORIZED,
                    "The registry token has expired. Get a new one and try again.",
                ),
                _ => bad_credentials(),
            })?;
            store.resolve(&claims.principal_arn).ok_or_else(bad_credentials)?;
            Ok((claims.principal_arn, Some(claims.expires_at)))
        }
        _ => Err(Rejection::new(
            "ValidationException",
            StatusCode::BAD_REQUEST,
            "Give either an access key ID and its secret access key, or a registry token.",
        )),
    }
}

/// The session's description for the page.
fn session_json(state: &SessionState, principal: &str, token: &str, expires_at: i64) -> serde_json::Value {
    json!({
        "principal": principal,
        "account": state.registry.config.account_id,
        "region": state.registry.config.region,
        "csrfToken": state.sessions.csrf_of(token),
        "expiresAt": expires_at,
    })
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn set_cookie(r: &mut Response, value: &str, max_age: u64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Who a sign-in named, for its audit record: the user of a known access key or of a valid
/// registry token; for anything else CloudTrail's `HIDDEN_DUE_TO_SECURITY_REASONS`.
fn signing_in(state: &SessionState, form: &SignIn, principal: Option<&str>) -> UserIdentity {
    let store = state.registry.store.current();
    let named = principal.map(str::to_owned).or_else(|| {
        form.access_key_id.as_deref().and_then(|id| store.credential(id.trim())).map(|c| c.user_arn.clone())
    });
    let caller = named.as_deref().and_then(|arn| store.resolve(arn)).map(warden_auth::caller_of);
    match (caller, form.access_key_id.as_deref()) {
        (Some(c), Some(key)) => UserIdentity::of(&c.with_access_key(key.trim())),
        (Some(c), None) => UserIdentity::of(&c),
        (None, _) => UserIdentity {
            kind: Some("IAMUser"),
            account_id: state.registry.config.account_id.clone(),
            user_name: Some("HIDDEN_DUE_TO_SECURITY_REASONS".to_owned()),
            ..UserIdentity::default()
        },
    }
}

/// Records a sign-in as CloudTrail records console sign-ins: `ConsoleLogin` from
/// `signin.amazonaws.com`, `AwsConsoleSignIn`, `responseElements.ConsoleLogin` `Success` or
/// `Failure` (with `errorMessage` "Failed authentication"). The answer waits until the record is
/// durable; a trail that cannot be written refuses the sign-in (503) under
/// `--trail-on-failure reject`, as it refuses API calls.
async fn audit_sign_in(
    state: &SessionState,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
    identity: UserIdentity,
    success: bool,
) -> Result<(), Rejection> {
    let Some(trail) = state.registry.trail.as_ref() else { return Ok(()) };
    let result = if success { "Success" } else { "Failure" };
    let record = Event {
        event_version: event::EVENT_VERSION,
        user_identity: identity,
        event_time: event::event_time(crate::state::now()),
        event_source: "signin.amazonaws.com",
        event_name: "ConsoleLogin".to_owned(),
        aws_region: state.registry.config.region.clone(),
        source_ip_address: client.map(|c| c.to_string()).unwrap_or_default(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(1024).collect())
            .unwrap_or_default(),
        error_code: None,
        error_message: (!success).then(|| "Failed authentication".to_owned()),
        request_parameters: None,
        response_elements: event::raw(&json!({ "ConsoleLogin": result })),
        request_id: None,
        event_id: event::uuid(),
        read_only: false,
        resources: Vec::new(),
        event_type: "AwsConsoleSignIn",
        management_event: true,
        recipient_account_id: state.registry.config.account_id.clone(),
        service_event_details: None,
        event_category: "Management",
    };
    trail.record(&record, true).await.map_err(|e| {
        tracing::error!(target: "warden::trail", error = %e, "console sign-in not recorded");
        trail.count_rejected();
        Rejection::new(
            "ServiceUnavailableException",
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit trail cannot be written; sign-ins are refused until it can",
        )
    })
}

/// `POST /console/api/signin`.
pub(crate) async fn sign_in(State(state): State<SessionState>, req: Request<Body>) -> Response {
    if let Err(r) = same_origin(req.headers()) {
        return error(&r);
    }
    // A plain HTML form cannot send this type, and a cross-origin script must ask first (CORS),
    // so even a browser that sends neither `Origin` nor `Sec-Fetch-Site` cannot be signed in by
    // another site.
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return error(&Rejection::new(
            "ValidationException",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The sign-in request must be JSON (Content-Type: application/json).",
        ));
    }
    let client = req.extensions().get::<warden_tower::ClientAddr>().map(|a| a.0);
    if let Err(r) = state.sessions.admit_sign_in(client) {
        tracing::warn!(target: "warden::console", client = ?client, "console sign-ins throttled");
        return error(&r);
    }
    let headers = req.headers().clone();
    let body = match http_body_util::Limited::new(req.into_body(), MAX_SIGNIN_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error(&Rejection::new(
                "ValidationException",
                StatusCode::BAD_REQUEST,
                format!("The sign-in request is larger than {MAX_SIGNIN_BYTES} bytes."),
            ))
        }
    };
    let Ok(form) = serde_json::from_slice::<SignIn>(&body) else {
        return error(&Rejection::new(
            "ValidationException",
            StatusCode::BAD_REQUEST,
            "The sign-in request is not the JSON object the console sends.",
        ));
    };
    let now = SystemTime::now();
    let (principal, not_after) = match principal_of(&state, &form, now) {
        Ok(p) => p,
        Err(r) => {
            tracing::info!(target: "warden::console", outcome = "refused", code = r.code, "console sign-in");
            let identity = signing_in(&state, &form, None);
            if let Err(unrecorded) = audit_sign_in(&state, &headers, client, identity, false).await {
                return error(&unrecorded);
            }
            return error(&r);
        }
    };
    let identity = signing_in(&state, &form, Some(&principal));
    if let Err(unrecorded) = audit_sign_in(&state, &headers, client, identity, true).await {
        return error(&unrecorded);
    }
    let (token, expiry) = state.sessions.open(&principal, now, not_after);
    tracing::info!(target: "warden::console", outcome = "signed-in", principal, "console sign-in");
    let mut r = json_response(StatusCode::OK, &session_json(&state, &principal, &token, epoch(expiry)));
    let max_age = u64::try_from(epoch(expiry).saturating_sub(epoch(now))).unwrap_or(0);
    set_cookie(&mut r, &token, max_age, state.secure_cookie);
    r
}

/// `GET /console/api/session`: who is signed in, and the CSRF token of the session.
pub(crate) async fn session(State(state): State<SessionState>, req: Request<Body>) -> Response {
    let (token, claims) = match state.authenticator().verified(&req) {
        Ok(ok) => ok,
        Err(r) => return error(&r),
    };
    json_response(StatusCode::OK, &session_json(&state, &claims.principal_arn, token, claims.expires_at))
}

/// `POST /console/api/signout`: revokes the session here and clears the cookie.
pub(crate) async fn sign_out(State(state): State<SessionState>, req: Request<Body>) -> Response {
    let claims = match state.authenticator().verified(&req) {
        Ok((_, claims)) => claims,
        Err(r) => return error(&r),
    };
    state.sessions.sign_out(&claims);
    tracing::info!(target: "warden::console", principal = claims.principal_arn, "console sign-out");
    let mut r = StatusCode::NO_CONTENT.into_response();
    set_cookie(&mut r, "", 0, state.secure_cookie);
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; warden-session=tok.en; b=2")]);
        assert_eq!(session_cookie(&h), Some("tok.en"));
        let h = headers(&[("cookie", "a=1"), ("cookie", "warden-session=x")]);
        assert_eq!(session_cookie(&h), Some("x"));
        // Two session cookies (one planted by another site on the host) are none.
        let h = headers(&[("cookie", "warden-session=planted; warden-session=mine")]);
        assert_eq!(session_cookie(&h), None);
        assert_eq!(session_cookie(&headers(&[("cookie", "warden-session=")])), None);
        assert_eq!(session_cookie(&headers(&[("cookie", "xwarden-session=y")])), None);
    }

    #[test]
    fn another_sites_request_is_refused() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:5000")])).is_ok());
        assert!(same_origin(&headers(&[("host", "127.0.0.1:5000"), ("origin", "http://127.0.0.1:5000")])).is_ok());
        assert!(same_origin(&headers(&[("host", "127.0.0.1:5000"), ("origin", "http://127.0.0.1:5001")])).is_err());
        assert!(same_origin(&headers(&[("host", "a"), ("origin", "null")])).is_err());
        assert!(same_origin(&headers(&[("host", "a"), ("sec-fetch-site", "cross-site")])).is_err());
        assert!(same_origin(&headers(&[("host", "a"), ("sec-fetch-site", "same-site")])).is_err());
        assert!(same_origin(&headers(&[("host", "a"), ("sec-fetch-site", "same-origin")])).is_ok());
    }

    #[test]
    fn a_session_is_its_issuers_and_expires_and_is_revoked() {
        let issuer = TokenIssuer::new(&[7u8; 32], "111122223333", "us-east-1");
        let sessions = Sessions::new(&issuer, Duration::from_secs(60));
        let now = SystemTime::now();
        let (token, _) = sessions.open("arn:aws:iam::111122223333:user/admin", now, None);
        assert_eq!(sessions.verify(&token, now).unwrap().principal_arn, "arn:aws:iam::111122223333:user/admin");
        // Not a registry password, and a registry password is not a session.
        assert!(issuer.verify(&token, now).is_err());
        let (password, _) = issuer.mint("arn:aws:iam::111122223333:user/admin", now);
        assert_eq!(sessions.verify(&password, now).unwrap_err().code, "MissingAuthenticationTokenException");
        assert_eq!(sessions.verify(&token, now + Duration::from_secs(61)).unwrap_err().code, "ExpiredTokenException");
        // The CSRF token is bound to the session and is neither the session nor a registry tag.
        let csrf = sessions.csrf_of(&token);
        assert!(sessions.csrf.check_tag(token.as_bytes(), &csrf));
        assert!(!sessions.csrf.check_tag(password.as_bytes(), &csrf));
        assert!(!sessions.tokens.check_tag(token.as_bytes(), &csrf));
        let claims = sessions.verify(&token, now).unwrap();
        sessions.sign_out(&claims);
        assert!(sessions.verify(&token, now).is_err());
        // Another principal's session is untouched; a session issued after the sign-out lives.
        let (other, _) = sessions.open("arn:aws:iam::111122223333:user/reader", now, None);
        assert!(sessions.verify(&other, now).is_ok());
        let later = now + Duration::from_secs(2);
        let (again, _) = sessions.open("arn:aws:iam::111122223333:user/admin", later, None);
        assert!(sessions.verify(&again, later).is_ok());
        // A session opened with a token that expires sooner ends with the token.
        let (short, expiry) = sessions.open("arn:aws:iam::111122223333:user/pusher", now, Some(epoch(now) + 10));
        assert_eq!(epoch(expiry), epoch(now) + 10);
        assert!(sessions.verify(&short, now + Duration::from_secs(9)).is_ok());
        assert_eq!(sessions.verify(&short, now + Duration::from_secs(11)).unwrap_err().code, "ExpiredTokenException");
    }

    #[test]
    fn sign_ins_are_limited_per_client_address() {
        let issuer = TokenIssuer::new(&[7u8; 32], "111122223333", "us-east-1");
        let sessions = Sessions::new(&issuer, Duration::from_secs(60));
        let a = Some(std::net::IpAddr::from([10, 0, 0, 1]));
        let b = Some(std::net::IpAddr::from([10, 0, 0, 2]));
        for _ in 0..SIGN_INS_PER_MINUTE {
            assert!(sessions.admit_sign_in(a).is_ok());
        }
        assert_eq!(sessions.admit_sign_in(a).unwrap_err().code, "ThrottlingException");
        // Another address has its own bucket; an IPv6 /64 shares one.
        assert!(sessions.admit_sign_in(b).is_ok());
        let v6 = |last: u16| Some(std::net::IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]));
        for i in 0..SIGN_INS_PER_MINUTE {
            assert!(sessions.admit_sign_in(v6(u16::try_from(i).unwrap())).is_ok());
        }
        assert!(sessions.admit_sign_in(v6(999)).is_err());
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
