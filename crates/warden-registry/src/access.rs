//! What one request did, observed once, for three readers: the access log (one `tracing` event per
//! request, target `warden::access`), the metrics ([`crate::metrics`]) and the audit trail
//! ([`crate::trail`]).
//!
//! The observing middleware ([`observe`]) opens a task-local slot around each request. The
//! authorization layer's [`DecisionHook`] writes the caller, the actions and the decision into
//! it; the describers write the call's name and parameters ([`note_call`], [`note_parameters`])
//! from the request's one description; the ECR handler writes the answer of a mutating call
//! ([`note_response`]); errors arrive on the response ([`ErrorReport`], [`Denial`]).
//!
//! **Audit.** A request that named an ECR action and had an authenticated caller becomes one
//! CloudTrail record. For a mutating call, the answer is held until the record is durable; if it
//! cannot be made durable under `--trail-on-failure reject`, the client gets 503 instead of the
//! answer, and while the trail stays unwritable every call is refused before it runs.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::value::RawValue;
use warden_policy::Outcome;
use warden_tower::deny::{Denial, ErrorReport};
use warden_tower::{Caller, ClientAddr, DecisionHook, DecisionRecord};

use crate::state::Registry;
use crate::trail::event::{self, Event, Resource, UserIdentity};

/// What the request did, as far as it got.
#[derive(Debug, Default)]
struct Entry {
    /// Whether anyone reads the audit fields (parameters are built only then).
    audited: bool,
    caller: Option<Caller>,
    actions: Vec<String>,
    decision: Option<Outcome>,
    /// The ECR operation the request is (`PutImage`), as its description named it.
    call: Option<String>,
    /// The service the operation belongs to, when not ECR (the console's IAM and CloudTrail
    /// questions).
    source: Option<&'static str>,
    parameters: Option<Box<RawValue>>,
    response: Option<Box<RawValue>>,
    resources: Vec<Resource>,
    /// An error found while describing, in ECR's terms.
    error: Option<(String, String)>,
}

tokio::task_local! {
    static ENTRY: RefCell<Entry>;
}

fn with_entry(f: impl FnOnce(&mut Entry)) {
    let _ = ENTRY.try_with(|e| f(&mut e.borrow_mut()));
}

/// The request is the ECR operation `name` (`PutImage`, without `ecr:`) by `caller`.
pub(crate) fn note_call(caller: &Caller, name: &str) {
    with_entry(|e| {
        e.caller = Some(caller.clone());
        e.call = Some(name.chars().take(128).collect());
    });
}

/// The request is `name` of another service than ECR (`iam.amazonaws.com`), by `caller`.
pub(crate) fn note_service_call(caller: &Caller, source: &'static str, name: &str) {
    note_call(caller, name);
    with_entry(|e| e.source = Some(source));
}

/// The call's parameters (built only when the trail is on).
pub(crate) fn note_parameters(f: impl FnOnce() -> Option<Box<RawValue>>) {
    with_entry(|e| {
        if e.audited {
            e.parameters = f();
        }
    });
}

/// The answer of a mutating call (built only when the trail is on).
pub(crate) fn note_response(f: impl FnOnce() -> Option<Box<RawValue>>) {
    with_entry(|e| {
        if e.audited {
            e.response = f();
        }
    });
}

/// An error found while describing the request, with the ECR exception it is.
pub(crate) fn note_error(code: &str, message: &str) {
    with_entry(|e| {
        if e.audited && e.error.is_none() {
            e.error = Some((code.to_owned(), message.chars().take(1024).collect()));
        }
    });
}

/// Feeds the observer with the layer's decisions.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessHook;

impl DecisionHook for AccessHook {
    fn on_decision(&self, record: &DecisionRecord<'_, '_>) {
        with_entry(|entry| {
            if entry.caller.is_none() {
                entry.caller = Some(record.caller.clone());
            }
            entry.actions.push(record.check.action.to_string());
            // The first check that is not allowed decides the request.
            if entry.decision.is_none_or(|d| d == Outcome::Allowed) {
                entry.decision = Some(record.decision.outcome);
            }
            if entry.audited {
                if let Some(r) = Resource::repository(&record.check.resource) {
                    if !entry.resources.contains(&r) {
                        entry.resources.push(r);
                    }
                }
            }
        });
    }
}

/// Which API a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/v2/…`.
    Distribution,
    /// `POST /` (the ECR API), and the console's ECR calls.
    Ecr,
    /// Presigned downloads and anything else.
    Other,
}

/// The observing middleware: access log, metrics, audit record, `x-amzn-RequestId`.
pub async fn observe(State(reg): State<Arc<Registry>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().chars().take(512).collect::<String>();
    let api = if path == "/v2" || path.starts_with("/v2/") {
        Api::Distribution
    } else if path == "/" || path == "/console/api/ecr" {
        Api::Ecr
    } else {
        Api::Other
    };
    let client = req.extensions().get::<ClientAddr>().map(|a| a.0);
    let request_id = event::uuid();
    let trail = reg.trail.as_ref();
    if let Some(t) = trail {
        if !t.accepting() && api != Api::Other {
            t.count_rejected();
            let resp = unavailable(api);
            reg.metrics.observe(api, resp.status(), None, start.elapsed());
            return resp;
        }
    }
    let user_agent = trail.map(|_| {
        req.headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(1024).collect::<String>())
            .unwrap_or_default()
    });
    let event_time = crate::state::now();
    let entry = Entry { audited: trail.is_some(), ..Entry::default() };
    let (mut resp, mut entry) = ENTRY
        .scope(RefCell::new(entry), async move {
            let resp = next.run(req).await;
            (resp, ENTRY.with(|e| std::mem::take(&mut *e.borrow_mut())))
        })
        .await;
    if let (Some(trail), Some(name), Some(caller)) = (trail, entry.call.take(), entry.caller.as_ref()) {
        let (error_code, error_message) = error_of(&resp, &entry, &name);
        let read_only = event::is_read_only(&name);
        let record = Event {
            event_version: event::EVENT_VERSION,
            user_identity: UserIdentity::of(caller),
            event_time: event::event_time(event_time),
            event_source: entry.source.unwrap_or(event::EVENT_SOURCE),
            event_name: name,
            aws_region: reg.config.region.clone(),
            source_ip_address: client.map(|c| c.to_string()).unwrap_or_default(),
            user_agent: user_agent.unwrap_or_default(),
            response_elements: if error_code.is_none() { entry.response.take() } else { None },
            error_code,
            error_message,
            request_parameters: entry.parameters.take(),
            request_id: Some(request_id.clone()),
            event_id: event::uuid(),
            read_only,
            resources: std::mem::take(&mut entry.resources),
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: reg.config.account_id.clone(),
            service_event_details: None,
            event_category: "Management",
        };
        // A mutating call is answered once its record is durable; a read is answered at once.
        if let Err(e) = trail.record(&record, !read_only).await {
            tracing::error!(target: "warden::trail", error = %e, event = record.event_name, "audit record not written");
            if !read_only {
                trail.count_rejected();
                resp = unavailable(api);
            }
        }
    }
    let throttled = resp.status() == StatusCode::TOO_MANY_REQUESTS
        || resp.extensions().get::<ErrorReport>().is_some_and(|r| r.code == "ThrottlingException");
    if throttled {
        reg.metrics.throttled();
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    let elapsed = start.elapsed();
    reg.metrics.observe(api, resp.status(), entry.decision, elapsed);
    let decision = match entry.decision {
        Some(Outcome::Allowed) => "allow",
        Some(Outcome::ExplicitDeny) => "explicit-deny",
        Some(Outcome::ImplicitDeny) => "implicit-deny",
        None => "none",
    };
    tracing::info!(
        target: "warden::access",
        %method,
        path,
        client = client.map(|c| c.to_string()).unwrap_or_default(),
        caller = entry.caller.as_ref().map(|c| c.principal.arn()).unwrap_or("-"),
        action = entry.actions.join(","),
        decision,
        status = resp.status().as_u16(),
        request_id,
        latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
    );
    resp
}

/// `errorCode`/`errorMessage` of the record: `AccessDenied` with AWS's sentence for a denial,
/// else the ECR exception the request failed with.
///
/// A batch read that finds nothing is not a failure: ECR answers BatchGetImage and
/// BatchCheckLayerAvailability with `failures` in a successful answer, so a `/v2` manifest or
/// blob probe that answers 404 (docker's push asks for every layer first) records no error.
fn error_of(resp: &Response, entry: &Entry, name: &str) -> (Option<String>, Option<String>) {
    if let Some(d) = resp.extensions().get::<Denial>() {
        return (Some("AccessDenied".into()), Some(d.message.clone()));
    }
    if let Some((code, message)) = &entry.error {
        return (Some(code.clone()), Some(message.clone()));
    }
    if let Some(r) = resp.extensions().get::<ErrorReport>() {
        let absent = matches!(
            (name, r.code.as_str()),
            ("BatchGetImage", "ImageNotFoundException") | ("BatchCheckLayerAvailability", "LayersNotFoundException")
        );
        if absent {
            return (None, None);
        }
        return (Some(r.code.clone()), Some(r.message.chars().take(1024).collect()));
    }
    if !resp.status().is_success() && !resp.status().is_redirection() {
        let code = if resp.status().is_server_error() { "ServerException" } else { "InvalidParameterException" };
        return (Some(code.into()), Some(format!("HTTP {}", resp.status().as_u16())));
    }
    (None, None)
}

/// The answer while the trail cannot be written: 503, `ServiceUnavailableException` /
/// `UNAVAILABLE`, which SDKs and docker retry.
fn unavailable(api: Api) -> Response {
    const MESSAGE: &str = "the audit trail cannot be written; calls are refused until it can";
    let mut resp: Response = match api {
        Api::Ecr => warden_tower::deny::json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            MESSAGE,
            None,
        ),
        _ => warden_tower::deny::registry_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", MESSAGE),
    };
    resp.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp.into_response()
}
