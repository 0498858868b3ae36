//! The OpenID AuthZEN Authorization API 1.0 (final, 11 January 2026;
//! <https://openid.net/specs/authorization-api-1_0.html>), answered from the same engine, limits
//! and evaluation pool as `/v1/authorize`:
//!
//! | route | spec |
//! | --- | --- |
//! | `GET /.well-known/authzen-configuration` | Policy Decision Point Metadata (§ "Policy Decision Point Metadata", "Obtaining Policy Decision Point Metadata") |
//! | `POST /access/v1/evaluation` | Access Evaluation API (§ "Access Evaluation API", "HTTPS Access Evaluation Request") |
//! | `POST /access/v1/evaluations` | Access Evaluations API (§ "Access Evaluations API", "Default values", "Evaluations semantics", "Errors") |
//! | `POST /access/v1/search/subject` | Subject Search API (§ "Subject Search API"; module [`super::authzen_search`]) |
//! | `POST /access/v1/search/resource` | Resource Search API (§ "Resource Search API"; answered with ARN patterns) |
//! | `POST /access/v1/search/action` | Action Search API (§ "Action Search API"; over a finite list of actions) |
//!
//! The search APIs, their semantics over IAM and their pagination are documented in
//! `authzen_search.rs`.
//!
//! # The mapping onto IAM
//!
//! - `subject.id` is a user, role or role-session ARN of the identity store (the `principal` of
//!   `/v1/authorize`). `subject.type` is required by the spec and is not interpreted: send
//!   `"iam_principal"` (any string is accepted).
//! - `action.name` is one IAM action, `service:Action` (`ecr:PutImage`).
//! - `resource.id` is the resource ARN, or `*`. `resource.type` is required by the spec and is not
//!   interpreted (send e.g. `"ecr_repository"`, or `"arn"`).
//! - `resource.properties.resourceAccount` and `resource.properties.resourcePolicy` are the
//!   `resourceAccount` and `resourcePolicy` of `/v1/authorize`.
//! - Condition keys: every member whose name contains `:` (`aws:SourceIp`, `ecr:ResourceTag/env`;
//!   an IAM condition key always does) of the top-level `context` object, and of the
//!   `subject`, `resource` and `action` `properties` objects, is a condition key, exactly as an
//!   entry of `/v1/authorize`'s `context`. Its value is a string (type `string`), a number
//!   (`numeric`), a boolean (`boolean`), an array of them (the `…List` type), or an object
//!   `{"type", "values"}` with an explicit type as in `/v1/authorize` (`{"type": "ip", "values":
//!   ["203.0.113.7"]}`). Members without `:` (the spec's `"time"`, `"department"`) are ignored: no
//!   IAM policy can read them. The spec's common subject property `ip_address` is
//!   `aws:SourceIp` unless that key is sent too. When a key comes twice, the later source wins,
//!   in this order: subject, resource, action properties, then `context`.
//!
//! # The answer
//!
//! `{"decision": true|false, "context": {...}}` (§ "The Access Evaluation API Response"), the
//! `context` being warden's (the spec allows any object, § "Additional Context in a Response"):
//!
//! - `reason`: `allowed`, `explicitDeny`, `implicitDeny` (the reason of `/v1/authorize`), or
//!   `unknownSubject` when `subject.id` names nobody in the identity store;
//! - `matchedStatements`, `missingContextKeys`: as in `/v1/authorize`;
//! - `reason_admin`: when denied, a Reason Field (§ "Reason Field") `{"en": AWS's AccessDenied
//!   sentence}` — for administrators, not users, as the spec says of `reason_admin`.
//!
//! An unknown subject is a well-formed question whose answer is no: `decision: false` with
//! reason `unknownSubject`, status 200 (§ "Error Responses": HTTPS errors "are unrelated to the
//! outcome of an authorization decision"; a denial "is always returned with a 200").
//!
//! # Errors
//!
//! A request that is malformed as a whole (not JSON, a required member missing, a wrong type, an
//! invalid ARN or action name, more evaluations than `--max-batch`) is answered 400 with a body
//! that is an error message string (§ "Error Responses": "An error message string"), as a JSON
//! string naming the offending member (`"action.name: ..."`); 413 beyond the body limit, 415 for
//! a non-JSON content type, 503 (with `Retry-After`) when the evaluation slots stay busy, in the
//! same string form. In a batch, an item that is bad fails only itself (§ "Errors" of the Access
//! Evaluations API): `{"decision": false, "context": {"error": {"status": 400, "message",
//! "code", "field"}}}`.
//!
//! Every response to a request carrying `X-Request-ID` carries the same `X-Request-ID`
//! (§ "Request Identification in a Response").

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use warden_policy::ContextKeyType;

use crate::authorize::{
    authorize, resource_policy_is_cheap, AuthorizeRequest, ContextInput, MatchedStatementOut, INLINE_BATCH,
};
use crate::error::ApiError;
use crate::extract::{from_value, ApiJson};
use crate::state::AppState;

/// The request identifier header of the HTTPS binding (§ "Request Identification").
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The path of the Access Evaluation API (§ "HTTPS Access Evaluation Request").
pub(super) const EVALUATION_PATH: &str = "/access/v1/evaluation";
/// The path of the Access Evaluations API (§ "HTTPS Access Evaluations Request").
pub(super) const EVALUATIONS_PATH: &str = "/access/v1/evaluations";
/// The well-known metadata path (§ "Obtaining Policy Decision Point Metadata").
pub(super) const CONFIGURATION_PATH: &str = "/.well-known/authzen-configuration";

/// A Subject or a Resource (§ "Subject", § "Resource"): `type` and `id` required strings,
/// `properties` an optional object. The two have the same shape.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Entity {
    #[serde(rename = "type")]
    #[expect(dead_code, reason = "required by the spec, so a request without it is refused; not interpreted")]
    pub(super) ty: String,
    pub(super) id: String,
    #[serde(default)]
    pub(super) properties: Option<Map<String, Value>>,
}

/// A Subject (§ "Subject").
pub(crate) type Subject = Entity;
/// A Resource (§ "Resource").
pub(crate) type Resource = Entity;

/// An Action (§ "Action"): `name` required, `properties` optional.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Action {
    pub(super) name: String,
    #[serde(default)]
    pub(super) properties: Option<Map<String, Value>>,
}

/// The 4-tuple, every member optional: an Access Evaluation Request once its required members
/// are checked, or an item of `evaluations` (whose missing members come from the defaults).
/// Members the spec does not define are ignored (§ "API Version": later versions may add some).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Tuple {
    #[serde(default)]
    pub(super) subject: Option<Subject>,
    #[serde(default)]
    pub(super) action: Option<Action>,
    #[serde(default)]
    pub(super) resource: Option<Resource>,
    #[serde(default)]
    pub(super) context: Option<Map<String, Value>>,
}

/// The body of `POST /access/v1/evaluations` (§ "The Access Evaluations API Request"): the
/// top-level 4-tuple gives default values (§ "Default values"); `evaluations` the requests.
#[derive(Debug, Deserialize)]
pub(crate) struct EvaluationsRequest {
    // Not `#[serde(flatten)] Tuple`: flattening would lose the path of an error.
    #[serde(default)]
    subject: Option<Subject>,
    #[serde(default)]
    action: Option<Action>,
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
    /// Parsed one by one, so that one bad item fails only itself.
    #[serde(default)]
    evaluations: Option<Vec<Value>>,
    #[serde(default)]
    options: Option<EvaluationsOptions>,
}

/// `options` (§ "Evaluations options"); other members are accepted and ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EvaluationsOptions {
    #[serde(default)]
    evaluations_semantic: Semantic,
}

/// `options.evaluations_semantic` (§ "Evaluations semantics").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Semantic {
    /// Every evaluation, every result, in order (the default).
    #[default]
    ExecuteAll,
    /// Stop after the first `decision: false` (an error included), like `&&`.
    DenyOnFirstDeny,
    /// Stop after the first `decision: true`, like `||`.
    PermitOnFirstPermit,
}

/// An Access Evaluation Response (§ "The Access Evaluation API Response").
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Evaluation {
    decision: bool,
    context: EvaluationContext,
}

/// warden's response `context`: the reason of the decision, or the error of a batch item.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum EvaluationContext {
    Decided(DecisionContext),
    Failed { error: ItemError },
}

/// Why: see the module documentation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct DecisionContext {
    reason: &'static str,
    matched_statements: Vec<MatchedStatementOut>,
    missing_context_keys: Vec<String>,
    #[serde(rename = "reason_admin", skip_serializing_if = "Option::is_none")]
    reason_admin: Option<ReasonField>,
}

/// A Reason Field (§ "Reason Field"): language tag → text.
#[derive(Debug, Clone, Serialize)]
struct ReasonField {
    en: String,
}

/// The error of one evaluation of a batch (§ "Errors": `status` and `message`, plus warden's
/// `code` and `field`).
#[derive(Debug, Clone, Serialize)]
struct ItemError {
    status: u16,
    message: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

/// The Access Evaluations Response (§ "Access Evaluations API Response").
#[derive(Debug, Serialize)]
struct EvaluationsResponse {
    evaluations: Vec<Evaluation>,
}

/// An error of the whole request, answered in the HTTPS binding's form (§ "Error Responses"):
/// the status, and an error message string as the body (a JSON string).
#[derive(Debug)]
pub(super) struct AuthzenError(ApiError);

impl From<ApiError> for AuthzenError {
    fn from(e: ApiError) -> AuthzenError {
        AuthzenError(e)
    }
}

impl IntoResponse for AuthzenError {
    fn into_response(self) -> Response {
        let mut response = (self.0.status(), Json(self.0.to_string())).into_response();
        if let ApiError::Busy { retry_after_secs } = self.0 {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// Middleware of the AuthZEN routes: echoes `X-Request-ID` (§ "Request Identification in a
/// Response": "the PDP MUST include the same identifier in the response").
pub(super) async fn echo_request_id(req: Request, next: Next) -> Response {
    let id = req.headers().get(REQUEST_ID).cloned();
    let mut response = next.run(req).await;
    if let Some(id) = id {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    response
}

/// The PDP metadata document (§ "Endpoint Parameters"): every endpoint warden serves.
#[derive(Debug, Serialize)]
struct Metadata {
    policy_decision_point: String,
    access_evaluation_endpoint: String,
    access_evaluations_endpoint: String,
    search_subject_endpoint: String,
    search_action_endpoint: String,
    search_resource_endpoint: String,
}

/// `GET /.well-known/authzen-configuration` → 200 metadata (§ "Policy Decision Point Metadata
/// Response"). The URLs are absolute, built from the request's `Host` (or the URI's authority)
/// and `X-Forwarded-Proto` (`https` behind a TLS-terminating proxy; `http` otherwise, as the
/// sidecar itself serves plain HTTP), so that `policy_decision_point` is the identifier the
/// PEP derived the well-known URL from (§ "Policy Decision Point Metadata Validation"). 400 when
/// there is no host, or it is not a host name or address with an optional port.
pub(super) async fn configuration(headers: HeaderMap, uri: Uri) -> Result<Response, AuthzenError> {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default();
    let valid = !host.is_empty()
        && host.len() <= 255
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if !valid {
        return Err(ApiError::invalid("Host", format!("`{host}` is not a host name or address")).into());
    }
    let scheme = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let base = format!("{scheme}://{host}");
    let metadata = Metadata {
        access_evaluation_endpoint: format!("{base}{EVALUATION_PATH}"),
        access_evaluations_endpoint: format!("{base}{EVALUATIONS_PATH}"),
        search_subject_endpoint: format!("{base}{}", super::authzen_search::SUBJECT_PATH),
        search_action_endpoint: format!("{base}{}", super::authzen_search::ACTION_PATH),
        search_resource_endpoint: format!("{base}{}", super::authzen_search::RESOURCE_PATH),
        policy_decision_point: base,
    };
    Ok(([(CACHE_CONTROL, "max-age=60")], Json(metadata)).into_response())
}

/// `POST /access/v1/evaluation` → 200 `{"decision", "context"}` (allowed or denied, an unknown
/// subject denied); 400 malformed (an error message string naming the member); 413; 415; 503.
/// Decided inline when cheap, in the evaluation pool otherwise (a resource policy object or one
/// longer than 16 KiB), as `/v1/authorize` is.
pub(super) async fn evaluation(
    State(state): State<AppState>,
    body: Result<ApiJson<Tuple>, ApiError>,
) -> Result<Json<Evaluation>, AuthzenError> {
    let ApiJson(tuple) = body?;
    let req = complete(tuple, &Tuple::default(), "")?;
    if req.is_cheap() {
        return Ok(Json(decide(&state, &req, "")?));
    }
    let shared = state.clone();
    Ok(Json(state.pool().run(move || decide(&shared, &req, "")).await??))
}

/// `POST /access/v1/evaluations` → 200 `{"evaluations": [...]}`, one Access Evaluation Response
/// per item in order — up to and including the deciding one under `deny_on_first_deny` and
/// `permit_on_first_permit` (§ "Evaluations semantics") — a bad item being that item's
/// `{"decision": false, "context": {"error": ...}}`. Without `evaluations` (or with an empty
/// array) the request is a single Access Evaluation Request and so is the answer (§ "The Access
/// Evaluations API Request": "behaves in a backwards-compatible manner"). 400 when the envelope
/// or a default is malformed, `options.evaluations_semantic` is none of the three, or there are
/// more evaluations than the batch limit of `/v1/authorize/batch` (checked before any is
/// decided); 413; 415; 503. Batches of more than 16 items, or with an expensive one, are decided
/// and encoded in the evaluation pool, as `/v1/authorize/batch` does.
pub(super) async fn evaluations(
    State(state): State<AppState>,
    body: Result<ApiJson<EvaluationsRequest>, ApiError>,
) -> Result<Response, AuthzenError> {
    let ApiJson(request) = body?;
    let semantic = request.options.unwrap_or_default().evaluations_semantic;
    let defaults = Tuple {
        subject: request.subject,
        action: request.action,
        resource: request.resource,
        context: request.context,
    };
    let items = match request.evaluations {
        Some(items) if !items.is_empty() => items,
        _ => {
            let req = complete(defaults, &Tuple::default(), "")?;
            if req.is_cheap() {
                return Ok(Json(decide(&state, &req, "")?).into_response());
            }
            let shared = state.clone();
            return Ok(Json(state.pool().run(move || decide(&shared, &req, "")).await??).into_response());
        }
    };
    let max = state.limits().max_batch;
    if items.len() > max {
        return Err(ApiError::invalid(
            "evaluations",
            format!("{} evaluations in one request: at most {max} are accepted", items.len()),
        )
        .into());
    }
    let default_cheap = policy_cheap(defaults.resource.as_ref().and_then(|r| r.properties.as_ref()));
    let cheap = default_cheap && items.iter().all(item_is_cheap);
    if items.len() <= INLINE_BATCH && cheap {
        return Ok(Json(decide_all(&state, &defaults, items, semantic)).into_response());
    }
    let shared = state.clone();
    let body = state
        .pool()
        .run(move || {
            serde_json::to_vec(&decide_all(&shared, &defaults, items, semantic))
                .map_err(|e| ApiError::Internal { message: format!("encoding the answer: {e}") })
        })
        .await??;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// True when the resource policy among `properties` (if any) is text short enough to be cached.
fn policy_cheap(properties: Option<&Map<String, Value>>) -> bool {
    resource_policy_is_cheap(properties.and_then(|p| p.get("resourcePolicy")))
}

fn item_is_cheap(item: &Value) -> bool {
    policy_cheap(item.get("resource").and_then(|r| r.get("properties")).and_then(Value::as_object))
}

/// Decides the items in order, stopping after the deciding one of a short-circuit semantic.
fn decide_all(state: &AppState, defaults: &Tuple, items: Vec<Value>, semantic: Semantic) -> EvaluationsResponse {
    let mut evaluations = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let prefix = format!("evaluations[{i}]");
        let result = from_value::<Tuple>(item, &prefix)
            .and_then(|tuple| complete(tuple, defaults, &prefix))
            .and_then(|req| decide(state, &req, &prefix))
            .unwrap_or_else(|e| failed(&e));
        let decision = result.decision;
        evaluations.push(result);
        match semantic {
            Semantic::DenyOnFirstDeny if !decision => break,
            Semantic::PermitOnFirstPermit if decision => break,
            _ => {}
        }
    }
    EvaluationsResponse { evaluations }
}

/// A failed item: closed, with the error in its context (§ "Errors").
fn failed(e: &ApiError) -> Evaluation {
    Evaluation {
        decision: false,
        context: EvaluationContext::Failed {
            error: ItemError {
                status: e.status().as_u16(),
                message: e.to_string(),
                code: e.code(),
                field: e.field().map(str::to_owned),
            },
        },
    }
}

/// The `/v1/authorize` request of a 4-tuple whose missing members come from `defaults`; an
/// error names the AuthZEN member, prefixed with `prefix` (`evaluations[2]`).
pub(super) fn complete(tuple: Tuple, defaults: &Tuple, prefix: &str) -> Result<AuthorizeRequest, ApiError> {
    let field = |name: &str| crate::extract::field_name(prefix, name);
    let missing = |name: &str| {
        let hint = if prefix.is_empty() { "" } else { " (and there is no default at the top level)" };
        ApiError::invalid(field(name), format!("missing field `{name}`{hint}"))
    };
    let subject = tuple.subject.or_else(|| defaults.subject.clone()).ok_or_else(|| missing("subject"))?;
    let action = tuple.action.or_else(|| defaults.action.clone()).ok_or_else(|| missing("action"))?;
    let resource = tuple.resource.or_else(|| defaults.resource.clone()).ok_or_else(|| missing("resource"))?;
    let context = tuple.context.or_else(|| defaults.context.clone());

    let mut keys = Vec::new();
    if let Some(ip) = subject.properties.as_ref().and_then(|p| p.get("ip_address")) {
        let ip = ip.as_str().ok_or_else(|| {
            ApiError::invalid(field("subject.properties.ip_address"), "expected a string (an IP address)")
        })?;
        keys.push(ContextInput {
            key: "aws:SourceIp".to_owned(),
            ty: Some(ContextKeyType::Ip),
            values: vec![ip.to_owned()],
        });
    }
    for (name, object) in [
        ("subject.properties", subject.properties.as_ref()),
        ("resource.properties", resource.properties.as_ref()),
        ("action.properties", action.properties.as_ref()),
        ("context", context.as_ref()),
    ] {
        for (key, value) in object.into_iter().flatten().filter(|(k, _)| k.contains(':')) {
            let input = condition_key(key, value).map_err(|m| ApiError::invalid(field(&format!("{name}.{key}")), m))?;
            keys.push(input);
        }
    }
    let properties = resource.properties.as_ref();
    let resource_account = match properties.and_then(|p| p.get("resourceAccount")) {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) => Some(a.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                field("resource.properties.resourceAccount"),
                "expected a string (a 12-digit account id)",
            ))
        }
    };
    let mut req = AuthorizeRequest {
        principal: subject.id,
        action: action.name,
        resource: resource.id,
        resource_account,
        resource_policy: properties.and_then(|p| p.get("resourcePolicy")).cloned(),
        context: keys,
        explain: false,
    };
    req.policy_as_text();
    Ok(req)
}

/// One condition key from a JSON member (see the module documentation for the types).
fn condition_key(key: &str, value: &Value) -> Result<ContextInput, String> {
    let scalar = |v: &Value| -> Result<(String, ContextKeyType), String> {
        match v {
            Value::String(s) => Ok((s.clone(), ContextKeyType::String)),
            Value::Number(n) => Ok((n.to_string(), ContextKeyType::Numeric)),
            Value::Bool(b) => Ok((b.to_string(), ContextKeyType::Boolean)),
            _ => Err("expected a string, number, boolean, an array of them, or {\"type\", \"values\"}".to_owned()),
        }
    };
    let (ty, values) = match value {
        Value::Array(items) => {
            let parsed = items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
            let ty = match parsed.first().map(|(_, t)| *t) {
                Some(ContextKeyType::Numeric) if parsed.iter().all(|(_, t)| *t == ContextKeyType::Numeric) => {
                    ContextKeyType::NumericList
                }
                Some(ContextKeyType::Boolean) if parsed.iter().all(|(_, t)| *t == ContextKeyType::Boolean) => {
                    ContextKeyType::BooleanList
                }
                _ => ContextKeyType::StringList,
            };
            (Some(ty), parsed.into_iter().map(|(v, _)| v).collect())
        }
        Value::Object(_) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Typed {
                #[serde(rename = "type", default)]
                ty: Option<ContextKeyType>,
                values: Vec<String>,
            }
            let typed: Typed = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
            (typed.ty, typed.values)
        }
        other => {
            let (v, ty) = scalar(other)?;
            (Some(ty), vec![v])
        }
    };
    Ok(ContextInput { key: key.to_owned(), ty, values })
}

/// Decides with `/v1/authorize`'s engine; its errors renamed to AuthZEN members; an unknown
/// subject a denial.
fn decide(state: &AppState, req: &AuthorizeRequest, prefix: &str) -> Result<Evaluation, ApiError> {
    match authorize(state, req, "", "authzen") {
        Ok(r) => {
            let allowed = r.decision == "Allow";
            Ok(Evaluation {
                decision: allowed,
                context: EvaluationContext::Decided(DecisionContext {
                    reason: r.reason.as_str(),
                    matched_statements: r.matched_statements,
                    missing_context_keys: r.missing_context_keys,
                    reason_admin: r.message.map(|en| ReasonField { en }),
                }),
            })
        }
        Err(ApiError::InvalidInput { field, message }) if field == "principal" => Ok(Evaluation {
            decision: false,
            context: EvaluationContext::Decided(DecisionContext {
                reason: "unknownSubject",
                matched_statements: Vec::new(),
                missing_context_keys: Vec::new(),
                reason_admin: Some(ReasonField { en: message }),
            }),
        }),
        Err(e) => Err(rename(e, req, prefix)),
    }
}

/// Renames the `/v1/authorize` field an error names to the AuthZEN member it came from.
pub(super) fn rename(e: ApiError, req: &AuthorizeRequest, prefix: &str) -> ApiError {
    let member = |field: &str| -> String {
        let name = match field {
            "action" => "action.name".to_owned(),
            "resource" => "resource.id".to_owned(),
            "resourceAccount" => "resource.properties.resourceAccount".to_owned(),
            "resourcePolicy" => "resource.properties.resourcePolicy".to_owned(),
            f => match f.strip_prefix("context[").and_then(|r| r.split(']').next()).and_then(|i| i.parse().ok()) {
                Some(i) => {
                    req.context.get::<usize>(i).map_or_else(|| "context".to_owned(), |c| format!("context.{}", c.key))
                }
                None => f.to_owned(),
            },
        };
        crate::extract::field_name(prefix, &name)
    };
    match e {
        ApiError::InvalidInput { field, message } => ApiError::InvalidInput { field: member(&field), message },
        ApiError::MalformedPolicy { field, message } => ApiError::MalformedPolicy { field: member(&field), message },
        other => other,
    }
}
