//! One authorization question, from the wire shape to the engine's answer.
//!
//! The context of a request is the caller's principal keys (built from the identity store:
//! `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`, `aws:userid`,
//! `aws:PrincipalTag/*`) with the keys the client sent on top (a sent key shadows a filled one).
//! Request keys — `aws:CurrentTime`, `aws:EpochTime`, `aws:SourceIp`, `aws:SecureTransport`,
//! `aws:UserAgent`, ... — are not filled: the authorizer does not see the client's request, so the
//! client sends them in `context` when its policies read them (they are then reported in
//! `missingContextKeys` otherwise).

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use warden_policy::arn::{is_account_id, Arn};
use warden_policy::limits::MAX_ACTION_CHARS;
use warden_policy::{evaluate_all, Context, ContextKeyType, Decision, Outcome, Policies, PolicySet, Request};

use crate::decision_log::{now_millis, LogEntry};
use crate::error::ApiError;
use crate::extract::field_name;
use crate::state::{AppState, Caller, CACHED_POLICY_CHARS};

/// Batches of at most this many cheap items are decided inline, on the async worker: they take
/// microseconds, less than a hop to a blocking thread costs.
pub(crate) const INLINE_BATCH: usize = 16;

/// The body of `POST /v1/authorize` (and each member of a batch).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// The caller: a user, role or role-session ARN of the identity store.
    pub principal: String,
    /// One action, `service:Action`.
    pub action: String,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The resource owner; default: the ARN's account, else the caller's.
    #[serde(default)]
    pub resource_account: Option<String>,
    /// The resource's resource-based policy, as JSON text or an object.
    #[serde(default)]
    pub resource_policy: Option<serde_json::Value>,
    /// Condition keys, on top of the caller's principal keys.
    #[serde(default)]
    pub context: Vec<ContextInput>,
    /// Also return the full explanation: every statement considered, what each lacks, and what
    /// would make a denied request allowed (the same data as `warden explain --format json`).
    #[serde(default)]
    pub explain: bool,
}

/// One condition key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextInput {
    /// The key (`aws:SourceIp`).
    pub key: String,
    /// Its type; default `string` for one value, `stringList` otherwise.
    #[serde(rename = "type", default)]
    pub ty: Option<ContextKeyType>,
    /// Its values, as text.
    pub values: Vec<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// `Allow` or `Deny`.
    pub decision: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub reason: Outcome,
    /// The statements that decided: the matching Deny statements for `explicitDeny`, the matching
    /// Allow statements for `allowed`, none for `implicitDeny`.
    pub matched_statements: Vec<MatchedStatementOut>,
    /// Condition keys that applicable statements read and the request did not carry.
    pub missing_context_keys: Vec<String>,
    /// AWS's AccessDenied sentence, when denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The explanation, when the request asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<serde_json::Value>,
}

/// A matched statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedStatementOut {
    /// The policy's name (`AmazonEC2ContainerRegistryReadOnly`, `ResourcePolicy`, ...).
    pub policy_id: String,
    /// `aws-managed`, `user`, `group`, `role`, `user-managed`, `resource`, ...
    pub policy_type: String,
    /// The statement's `Sid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Where it starts in the policy text (1-based).
    pub start_position: PositionOut,
    /// Where it ends.
    pub end_position: PositionOut,
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionOut {
    /// Line.
    pub line: usize,
    /// Column, in characters.
    pub column: usize,
}

impl AuthorizeRequest {
    /// True when deciding takes microseconds, so it may run on the async worker: no explanation
    /// asked, and no resource policy or one short enough to be compiled once and cached (an
    /// object is first turned into its text by [`AuthorizeRequest::policy_as_text`]).
    pub(crate) fn is_cheap(&self) -> bool {
        !self.explain && resource_policy_is_cheap(self.resource_policy.as_ref())
    }

    /// Replaces a resource policy given as an object by its JSON text (as the decision would).
    pub(crate) fn policy_as_text(&mut self) {
        if let Some(v @ serde_json::Value::Object(_)) = &self.resource_policy {
            self.resource_policy = Some(serde_json::Value::String(v.to_string()));
        }
    }
}

/// [`AuthorizeRequest::is_cheap`] for a batch item not yet parsed (an object policy counts as
/// not cheap).
pub(crate) fn item_is_cheap(item: &serde_json::Value) -> bool {
    item.get("explain").is_none_or(|e| e != &serde_json::Value::Bool(true))
        && resource_policy_is_cheap(item.get("resourcePolicy"))
}

pub(crate) fn resource_policy_is_cheap(policy: Option<&serde_json::Value>) -> bool {
    match policy {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(text)) => text.len() <= CACHED_POLICY_CHARS,
        Some(_) => false,
    }
}

/// Decides `req`, counts it in the metrics and logs it (when sampled). `prefix` prefixes field
/// names in errors (`requests[3]`).
pub fn authorize(
    state: &AppState,
    req: &AuthorizeRequest,
    prefix: &str,
    endpoint: &str,
) -> Result<AuthorizeResponse, ApiError> {
    let started = Instant::now();
    let field = |name: &str| field_name(prefix, name);
    check_context_size(state, &req.context).map_err(|m| ApiError::invalid(field("context"), m))?;
    check_action(&req.action).map_err(|m| ApiError::invalid(field("action"), m))?;
    if req.resource != "*" && Arn::parse(&req.resource).is_none() {
        return Err(ApiError::invalid(field("resource"), format!("`{}` is not an ARN or `*`", req.resource)));
    }
    if let Some(a) = req.resource_account.as_deref().filter(|a| !is_account_id(a)) {
        return Err(ApiError::invalid(field("resourceAccount"), format!("`{a}` is not a 12-digit account id")));
    }
    let caller = state.caller(&req.principal).ok_or_else(|| {
        ApiError::invalid(
            field("principal"),
            format!("no user, role or role session `{}` in the identity store", req.principal),
        )
    })?;
    let resource_policy = match &req.resource_policy {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(compile_resource_policy(state, v, &field("resourcePolicy"))?),
    };
    let context = build_context(&caller, &req.context, &field("context"))?;
    let resource_account = req
        .resource_account
        .clone()
        .or_else(|| Arn::parse(&req.resource).map(|a| a.account.to_owned()).filter(|a| !a.is_empty()))
        .unwrap_or_else(|| caller.principal.account().to_owned());
    let policies = Policies {
        identity: &caller.identity.policies,
        boundary: caller.identity.boundary.as_ref(),
        session: None,
        resource: resource_policy.as_ref(),
    };
    let request = Request {
        principal: &caller.principal,
        action: &req.action,
        resource: &req.resource,
        resource_account: &resource_account,
        context: &context,
    };
    let work = [Some(policies.identity), policies.boundary, policies.resource]
        .into_iter()
        .flatten()
        .fold(0u64, |sum, set| sum.saturating_add(set.condition_work(&context)));
    if work > state.limits().simulate.max_condition_work {
        return Err(ApiError::invalid(
            field("context"),
            format!(
                "the policies' conditions would compare up to {work} characters against these context values; \
                 at most {} are allowed: shorten the context values",
                state.limits().simulate.max_condition_work
            ),
        ));
    }
    // The answer names every matching statement and every missing key: the full evaluation.
    let decision = evaluate_all(&policies, &request);
    let mut response = response_of(&decision, caller.principal.arn(), &req.action, &req.resource);
    if req.explain {
        response.explanation = serde_json::to_value(warden_policy::explain::explain(&policies, &request)).ok();
    }
    let took = started.elapsed();
    state.metrics().record(decision.outcome, took);
    log(state, endpoint, caller.principal.arn(), &req.action, &req.resource, &response, took);
    Ok(response)
}

/// The `context` list within the limits (entries, and values summed over them).
fn check_context_size(state: &AppState, context: &[ContextInput]) -> Result<(), String> {
    let limits = state.limits();
    if context.len() > limits.max_context_entries {
        return Err(format!(
            "{} context entries in one request: at most {} are accepted",
            context.len(),
            limits.max_context_entries
        ));
    }
    let values = context.iter().fold(0usize, |n, e| n.saturating_add(e.values.len()));
    if values > limits.max_context_values {
        return Err(format!(
            "{values} context values in one request: at most {} are accepted",
            limits.max_context_values
        ));
    }
    Ok(())
}

/// The same rule as `SimulateCustomPolicy`'s `ActionNames`.
pub(crate) fn check_action(action: &str) -> Result<(), String> {
    let valid = action.len() >= 3
        && action.len() <= MAX_ACTION_CHARS
        && action.split_once(':').is_some_and(|(s, n)| !s.is_empty() && !n.is_empty() && !n.contains(':'));
    if valid && !action.contains(['*', '?']) {
        Ok(())
    } else {
        Err(format!("`{action}` is not an action name: expected `service:Action` without wildcards"))
    }
}

fn compile_resource_policy(state: &AppState, value: &serde_json::Value, field: &str) -> Result<PolicySet, ApiError> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(_) => value.to_string(),
        _ => return Err(ApiError::invalid(field, "expected a policy document, as JSON text or an object")),
    };
    state
        .resource_policy(&text)
        .map_err(|e| ApiError::MalformedPolicy { field: field.to_owned(), message: e.to_string() })
}

fn build_context(caller: &Caller, entries: &[ContextInput], field: &str) -> Result<Context, ApiError> {
    let mut ctx = Context::layered(Arc::clone(&caller.context));
    for (i, e) in entries.iter().enumerate() {
        let ty = e.ty.unwrap_or(if e.values.len() == 1 { ContextKeyType::String } else { ContextKeyType::StringList });
        ctx.insert(&e.key, ty, &e.values).map_err(|err| ApiError::invalid(format!("{field}[{i}]"), err.to_string()))?;
    }
    Ok(ctx)
}

/// The wire answer of a decision.
pub(crate) fn response_of(decision: &Decision<'_>, caller: &str, action: &str, resource: &str) -> AuthorizeResponse {
    let matched_statements = decision
        .matched
        .iter()
        .filter_map(|m| {
            let (start, end) = m.positions()?;
            Some(MatchedStatementOut {
                policy_id: m.policy.id().to_owned(),
                policy_type: m.policy.source_type().to_owned(),
                sid: m.sid().map(str::to_owned),
                start_position: PositionOut { line: start.line, column: start.column },
                end_position: PositionOut { line: end.line, column: end.column },
            })
        })
        .collect();
    AuthorizeResponse {
        decision: if decision.is_allowed() { "Allow" } else { "Deny" }.to_owned(),
        reason: decision.outcome,
        matched_statements,
        missing_context_keys: decision.missing_context.iter().map(|k| (*k).to_owned()).collect(),
        message: decision.denial_message(caller, action, resource),
        explanation: None,
    }
}

/// Writes the decision log line, when sampled.
pub(crate) fn log(
    state: &AppState,
    endpoint: &str,
    principal: &str,
    action: &str,
    resource: &str,
    response: &AuthorizeResponse,
    took: std::time::Duration,
) {
    let Some(log) = &state.inner().log else { return };
    if !log.sample() {
        return;
    }
    let matched = response
        .matched_statements
        .iter()
        .map(|m| {
            m.sid
                .clone()
                .unwrap_or_else(|| format!("{}@{}:{}", m.policy_id, m.start_position.line, m.start_position.column))
        })
        .collect();
    log.write(&LogEntry {
        ts: now_millis(),
        endpoint,
        principal,
        action,
        resource,
        decision: &response.decision,
        reason: response.reason.as_str(),
        matched,
        latency_micros: u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
    });
}
