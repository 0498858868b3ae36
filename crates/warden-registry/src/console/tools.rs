//! The console's policy tools: validation, the simulator, who-can and the audit trail, each
//! described once ([`ToolCall`]) and authorized by the layer as the signed-in user with the IAM
//! action AWS asks for the same question:
//!
//! | call | checks |
//! | --- | --- |
//! | `validate`, `validate-lifecycle` | none: they read only the text sent |
//! | `access` | none: the caller's own permissions on a repository, decided as the API decides |
//! | `simulate` | `iam:SimulatePrincipalPolicy` on the simulated principal; `ecr:GetRepositoryPolicy` on the repository |
//! | `who-can` | `iam:GetAccountAuthorizationDetails` on `*`; `ecr:GetRepositoryPolicy` on the repository |
//! | `trail` | `cloudtrail:LookupEvents` on `*` |

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{json, Value};
use warden_identity::Resolved;
use warden_policy::explain::{explain, lack_words};
use warden_policy::request::{global_key_type, list_type, principal_context, time_context};
use warden_policy::validate::validate;
use warden_policy::{Context, ContextKeyType, Policies, PolicySet};
use warden_tower::{Caller, Check, DescribeRequest, Rejection};

use crate::names::RepoName;
use crate::state::Registry;
use crate::storage::meta::Repository;
use crate::trail::lookup::{lookup, LookupAttribute, LookupError, LookupQuery};

/// The longest tool request read (a policy is at most 10,240 characters; room for JSON escapes).
const MAX_BODY: usize = 128 * 1024;
/// The longest policy validated (ECR's repository policy quota, and IAM's largest inline one).
const MAX_VALIDATED_CHARS: usize = warden_policy::limits::MAX_REPOSITORY_POLICY_CHARS;
/// Context entries a simulation takes at most.
const MAX_CONTEXT_ENTRIES: usize = 50;
/// Values per context entry at most.
const MAX_CONTEXT_VALUES: usize = 50;
/// The longest action or principal accepted.
const MAX_NAME: usize = 2048;

/// A tool call as described: the typed request the handler runs, with what the describer read.
#[derive(Debug, Clone)]
pub enum ToolCall {
    /// Validate a repository or identity policy.
    Validate {
        /// The text.
        text: String,
        /// A repository or an identity policy.
        kind: warden_policy::PolicyKind,
    },
    /// Validate a lifecycle policy.
    ValidateLifecycle {
        /// The text.
        text: String,
    },
    /// Simulate a principal's call.
    Simulate(Box<Simulation>),
    /// Who may perform an action on a repository.
    WhoCan {
        /// The action.
        action: String,
        /// The repository's ARN.
        resource: String,
        /// Its policy text.
        policy: Option<String>,
    },
    /// Look the audit trail up.
    Trail(LookupQuery),
    /// What the caller itself may do on a repository: the API's checks, evaluated for display.
    Access {
        /// The repository.
        repository: String,
        /// One check per action of [`ACCESS_ACTIONS`].
        checks: Vec<Check>,
    },
}

/// The actions the repository page reports the caller's own access to: its writes, then its reads.
pub const ACCESS_ACTIONS: &[&str] = &[
    "ecr:PutImage",
    "ecr:BatchDeleteImage",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:DeleteLifecyclePolicy",
    "ecr:TagResource",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetRepositoryPolicy",
    "ecr:GetLifecyclePolicy",
];

impl ToolCall {
    /// The action the call is, for the throttle and the logs.
    fn action(&self) -> &'static str {
        match self {
            ToolCall::Validate { .. } => "access-analyzer:ValidatePolicy",
            ToolCall::ValidateLifecycle { .. } => "console:ValidateLifecyclePolicy",
            ToolCall::Simulate(_) => "iam:SimulatePrincipalPolicy",
            ToolCall::WhoCan { .. } => "iam:GetAccountAuthorizationDetails",
            ToolCall::Trail(_) => "cloudtrail:LookupEvents",
            ToolCall::Access { .. } => "console:RepositoryAccess",
        }
    }
}

/// A simulation, as described.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The principal as given: resolved only once the caller may simulate it, so a caller
    /// without `iam:SimulatePrincipalPolicy` cannot learn which principals exist.
    principal: String,
    action: String,
    resource: String,
    resource_account: String,
    resource_policy: Option<PolicySet>,
    /// The repository's tags.
    tags: Vec<(String, String)>,
    /// The context keys given.
    context: Vec<ContextInput>,
}

/// The tool request bodies.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ValidateInput {
    policy_text: String,
    #[serde(default)]
    policy_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LifecycleInput {
    lifecycle_policy_text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SimulateInput {
    principal: String,
    action: String,
    #[serde(default)]
    repository_name: Option<String>,
    #[serde(default)]
    context: Vec<ContextInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContextInput {
    key: String,
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WhoCanInput {
    action: String,
    repository_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccessInput {
    repository_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct TrailInput {
    #[serde(default)]
    lookup_attributes: Vec<AttributeInput>,
    #[serde(default)]
    max_results: Option<usize>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AttributeInput {
    attribute_key: String,
    attribute_value: String,
}

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::new("InvalidParameterException", StatusCode::BAD_REQUEST, message)
}

fn server(e: impl std::fmt::Display) -> Rejection {
    tracing::error!(target: "warden::console", error = %e, "console tool failed");
    Rejection::new("ServerException", StatusCode::INTERNAL_SERVER_ERROR, "The server could not answer; see its log.")
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Rejection> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("The request is not valid: {e}")))
}

fn bounded(value: &str, what: &str) -> Result<(), Rejection> {
    if value.is_empty() || value.len() > MAX_NAME {
        return Err(invalid(format!("{what} must be 1 to {MAX_NAME} characters long")));
    }
    Ok(())
}

/// Describes the console's tool calls.
#[derive(Clone)]
pub struct ToolDescriber {
    /// The registry.
    pub registry: Arc<Registry>,
}

impl ToolDescriber {
    /// The check of `action` on repository `name`, with its policy and tags, as the API makes it.
    fn repository_check(
        &self,
        req: &Request<()>,
        caller: &Caller,
        action: &'static str,
        name: &RepoName,
        repo: Option<&Repository>,
    ) -> Result<Check, Rejection> {
        let reg = &self.registry;
        let context = reg.request_context(req, caller).map_err(server)?;
        reg.check(context, action, name.as_str(), repo).map_err(server)
    }

    fn global_check(
        &self,
        req: &Request<()>,
        caller: &Caller,
        action: &'static str,
        resource: String,
        account: String,
    ) -> Result<Check, Rejection> {
        let context = self.registry.request_context(req, caller).map_err(server)?;
        Ok(Check {
            action: Cow::Borrowed(action),
            resource,
            resource_account: Cow::Owned(account),
            resource_policy: None,
            context,
        })
    }

    async fn repository(&self, name: &str) -> Result<(RepoName, Option<Repository>), Rejection> {
        let repo = RepoName::parse(name).map_err(|_| invalid(format!("`{name}` is not a valid repository name")))?;
        let lookup = repo.as_str().to_owned();
        let row = self.registry.meta(move |m| m.repository(&lookup)).await.map_err(server)?;
        Ok((repo, row))
    }

    async fn describe_tool(
        &self,
        req: &Request<()>,
        caller: &Caller,
        tool: &str,
        body: &[u8],
    ) -> Result<(ToolCall, Vec<Check>), Rejection> {
        let reg = &self.registry;
        match tool {
            "validate" => {
                let i: ValidateInput = parse(body)?;
                let kind = match i.policy_type.as_deref() {
                    None | Some("repository") => warden_policy::PolicyKind::Repository,
                    Some("identity") => warden_policy::PolicyKind::Identity,
                    Some(other) => return Err(invalid(format!("policyType `{other}` is not repository or identity"))),
                };
                Ok((ToolCall::Validate { text: i.policy_text, kind }, Vec::new()))
            }
            "validate-lifecycle" => {
                let i: LifecycleInput = parse(body)?;
                Ok((ToolCall::ValidateLifecycle { text: i.lifecycle_policy_text }, Vec::new()))
            }
            "simulate" => {
                let i: SimulateInput = parse(body)?;
                bounded(&i.principal, "principal")?;
                bounded(&i.action, "action")?;
                if i.context.len() > MAX_CONTEXT_ENTRIES {
                    return Err(invalid(format!("At most {MAX_CONTEXT_ENTRIES} context keys")));
                }
                crate::access::note_service_call(caller, "iam.amazonaws.com", "SimulatePrincipalPolicy");
                // AWS checks the permission on the ARN given, whether or not it exists.
                let principal = i.principal.trim().to_owned();
                let principal_account = warden_policy::arn::Arn::parse(&principal)
                    .map(|a| a.account.to_owned())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| reg.config.account_id.clone());
                let mut checks = vec![self.global_check(
                    req,
                    caller,
                    "iam:SimulatePrincipalPolicy",
                    principal.clone(),
                    principal_account,
                )?];
                let (resource, resource_policy, tags) = match i.repository_name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) => {
                        let (repo, row) = self.repository(name).await?;
                        checks.push(self.repository_check(
                            req,
                            caller,
                            "ecr:GetRepositoryPolicy",
                            &repo,
                            row.as_ref(),
                        )?);
                        let policy = row.as_ref().map(|r| reg.policy_set(r)).transpose().map_err(server)?.flatten();
                        let tags = row.map(|r| r.tags).unwrap_or_default();
                        (reg.repository_arn(repo.as_str()), policy, tags)
                    }
                    None => ("*".to_owned(), None, Vec::new()),
                };
                crate::access::note_parameters(|| {
                    crate::trail::event::raw(&json!({
                        "policySourceArn": principal,
                        "actionNames": [i.action.trim()],
                        "resourceArns": [resource],
                    }))
                });
                let simulation = Simulation {
                    principal,
                    action: i.action.trim().to_owned(),
                    resource,
                    resource_account: reg.config.account_id.clone(),
                    resource_policy,
                    tags,
                    context: i.context,
                };
                Ok((ToolCall::Simulate(Box::new(simulation)), checks))
            }
            "who-can" => {
                crate::access::note_service_call(caller, "iam.amazonaws.com", "GetAccountAuthorizationDetails");
                let i: WhoCanInput = parse(body)?;
                bounded(&i.action, "action")?;
                let (repo, row) = self.repository(&i.repository_name).await?;
                let checks = vec![
                    self.global_check(
                        req,
                        caller,
                        "iam:GetAccountAuthorizationDetails",
                        "*".to_owned(),
                        reg.config.account_id.clone(),
                    )?,
                    self.repository_check(req, caller, "ecr:GetRepositoryPolicy", &repo, row.as_ref())?,
                ];
                let policy = row.and_then(|r| r.policy);
                let resource = reg.repository_arn(repo.as_str());
                Ok((ToolCall::WhoCan { action: i.action.trim().to_owned(), resource, policy }, checks))
            }
            "trail" => {
                crate::access::note_service_call(caller, "cloudtrail.amazonaws.com", "LookupEvents");
                let i: TrailInput = parse(body)?;
                let attributes = i
                    .lookup_attributes
                    .iter()
                    .map(|a| LookupAttribute::new(&a.attribute_key, &a.attribute_value))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| lookup_rejection(&e))?;
                let query = LookupQuery {
                    attributes,
                    start_time: None,
                    end_time: None,
                    max_results: i.max_results,
                    next_token: i.next_token,
                };
                let check = self.global_check(
                    req,
                    caller,
                    "cloudtrail:LookupEvents",
                    "*".to_owned(),
                    reg.config.account_id.clone(),
                )?;
                Ok((ToolCall::Trail(query), vec![check]))
            }
            "access" => {
                // The caller's own permissions: no permission is needed to ask.
                let i: AccessInput = parse(body)?;
                let (repo, row) = self.repository(&i.repository_name).await?;
                let checks = ACCESS_ACTIONS
                    .iter()
                    .map(|&action| self.repository_check(req, caller, action, &repo, row.as_ref()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((ToolCall::Access { repository: repo.as_str().to_owned(), checks }, Vec::new()))
            }
            other => Err(Rejection::new(
                "UnknownOperationException",
                StatusCode::NOT_FOUND,
                format!("The console has no tool `{}`", other.chars().take(64).collect::<String>()),
            )),
        }
    }
}

/// The context of a simulated call: the principal's keys, the time, the repository's tags, and
/// the keys the user gave (a key given several values is a list).
fn simulation_context(
    resolved: &Resolved,
    tags: &[(String, String)],
    given: &[ContextInput],
) -> Result<Context, Rejection> {
    if given.len() > MAX_CONTEXT_ENTRIES {
        return Err(invalid(format!("At most {MAX_CONTEXT_ENTRIES} context keys")));
    }
    let id = &resolved.identity;
    let base = principal_context(&resolved.principal, Some(&id.unique_id), &id.tags, None).map_err(server)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let time = time_context(i64::try_from(now).unwrap_or(i64::MAX)).map_err(server)?;
    let mut ctx = Context::on_layers(&[Arc::new(base), Arc::new(time)]);
    for (k, v) in tags {
        for key in [format!("aws:ResourceTag/{k}"), format!("ecr:ResourceTag/{k}")] {
            ctx.insert(&key, ContextKeyType::String, &[v.as_str()]).map_err(server)?;
        }
    }
    for entry in given {
        bounded(&entry.key, "a context key")?;
        if entry.values.is_empty() || entry.values.len() > MAX_CONTEXT_VALUES {
            return Err(invalid(format!("Context key `{}` needs 1 to {MAX_CONTEXT_VALUES} values", entry.key)));
        }
        let ty = global_key_type(&entry.key);
        let ty =
            if entry.values.len() > 1 || entry.key.eq_ignore_ascii_case("aws:TagKeys") { list_type(ty) } else { ty };
        let values: Vec<&str> = entry.values.iter().map(String::as_str).collect();
        ctx.insert(&entry.key, ty, &values)
            .map_err(|e| invalid(format!("Context key `{}`: {e}", entry.key.chars().take(128).collect::<String>())))?;
    }
    Ok(ctx)
}

fn no_trail() -> Rejection {
    Rejection::new(
        "TrailNotFoundException",
        StatusCode::BAD_REQUEST,
        "This registry keeps no audit trail (it runs with --trail off).",
    )
}

fn lookup_rejection(e: &LookupError) -> Rejection {
    match e {
        LookupError::Io { .. } | LookupError::Corrupt { .. } => server(e),
        LookupError::TrailNotFound(_) => no_trail(),
        _ => {
            // `Display` is `<exception>: <message>`; the answer carries the two apart.
            let text = e.to_string();
            let message = text.strip_prefix(e.aws_exception()).and_then(|m| m.strip_prefix(": ")).unwrap_or(&text);
            Rejection::new(e.aws_exception(), StatusCode::BAD_REQUEST, message)
        }
    }
}

/// Runs CPU-bound work (validation, analysis) off the async workers.
async fn blocking(f: impl FnOnce() -> Result<Value, Rejection> + Send + 'static) -> Result<Value, Rejection> {
    tokio::task::spawn_blocking(f).await.map_err(server).and_then(|r| r)
}

impl DescribeRequest<Body> for ToolDescriber {
    async fn describe(&self, req: Request<Body>, caller: &Caller) -> Result<(Request<Body>, Vec<Check>), Rejection> {
        super::only_post(&req)?;
        let tool = req.uri().path().rsplit('/').next().unwrap_or("").to_owned();
        let (parts, body) = req.into_parts();
        let body = http_body_util::Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|_| invalid(format!("The request body is larger than {MAX_BODY} bytes")))?
            .to_bytes();
        let head = Request::from_parts(parts, ());
        let (call, checks) = self.describe_tool(&head, caller, &tool, &body).await?;
        let (mut parts, _) = head.into_parts();
        parts.extensions.insert(call);
        Ok((Request::from_parts(parts, Body::empty()), checks))
    }
}

fn ok(value: &Value) -> Response {
    let mut r = Response::new(Body::from(value.to_string()));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// `POST /console/api/{tool}`: runs the described call.
pub(crate) async fn handle(State(reg): State<Arc<Registry>>, mut req: Request<Body>) -> Response {
    let Some(call) = req.extensions_mut().remove::<ToolCall>() else {
        return super::session::error(&server("a console call reached its handler without its description"));
    };
    let caller = req.extensions().get::<warden_tower::Authorized>().map(|a| a.caller.clone());
    // The tools spend the caller's account's credits as the API's calls do (`other` class).
    let admitted = crate::throttle::Transaction::of_console(call.action())
        .and_then(|t| crate::throttle::admit(&reg.throttle, caller.as_ref(), &t));
    if let Err(e) = admitted {
        return crate::ecr::EcrError::from(e).into_response();
    }
    let answer = match call {
        ToolCall::Validate { text, kind } => blocking(move || Ok(validate_answer(&text, kind))).await,
        ToolCall::ValidateLifecycle { text } => blocking(move || Ok(lifecycle_answer(&text))).await,
        ToolCall::Simulate(s) => {
            let store = reg.store.current();
            blocking(move || simulate_answer(&store, &s)).await
        }
        ToolCall::WhoCan { action, resource, policy } => {
            let store = reg.store.current();
            tokio::task::spawn_blocking(move || {
                warden_identity::who::who_can(&store, &action, &resource, policy.as_deref()).map_err(invalid)
            })
            .await
            .map_err(server)
            .and_then(|r| r)
        }
        ToolCall::Access { repository, checks } => match caller {
            Some(caller) => Ok(access_answer(&caller, &repository, &checks)),
            None => Err(server("a console call reached its handler without its caller")),
        },
        ToolCall::Trail(query) => match reg.trail.as_ref().map(|t| t.config().dir.clone()) {
            None => Err(no_trail()),
            Some(dir) => tokio::task::spawn_blocking(move || lookup(&dir, &query))
                .await
                .map_err(server)
                .and_then(|r| r.map_err(|e| lookup_rejection(&e)))
                .and_then(|r| serde_json::to_value(r).map_err(server)),
        },
    };
    match answer {
        Ok(v) => ok(&v),
        Err(r) => super::session::error(&r),
    }
}

/// A source position as the page reads it: `{"line", "column"}`, 1-based.
fn position(p: warden_policy::Position) -> Value {
    json!({"line": p.line, "column": p.column})
}

fn validate_answer(text: &str, kind: warden_policy::PolicyKind) -> Value {
    // Validation compares statements pairwise: bound the text first. No policy the console saves
    // may be longer (a repository policy: 10,240 characters; an IAM policy: 10,240 at most).
    let chars = text.chars().count();
    if chars > MAX_VALIDATED_CHARS {
        return json!({ "findings": [{
            "findingType": "ERROR",
            "issueCode": "POLICY_SIZE_EXCEEDED",
            "findingDetails": format!("The policy is {chars} characters long; it may have at most {MAX_VALIDATED_CHARS}."),
        }]});
    }
    let findings = validate(text, kind);
    let findings: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "findingType": f.finding_type,
                "issueCode": f.issue_code,
                "findingDetails": f.finding_details,
                "statement": f.statement,
                "location": f.location.map(|l| json!({"start": position(l.start), "end": position(l.end)})),
            })
        })
        .collect();
    json!({ "findings": findings })
}

/// A lifecycle policy's problems as findings of the same shape: ECR's validation stops at the
/// first, so there is at most one.
fn lifecycle_answer(text: &str) -> Value {
    match warden_lifecycle::LifecyclePolicy::parse(text) {
        Ok(_) => json!({ "findings": [] }),
        Err(e) => json!({ "findings": [{
            "findingType": "ERROR",
            "issueCode": "INVALID_LIFECYCLE_POLICY",
            "findingDetails": e.aws_message(),
        }]}),
    }
}

/// Each action's outcome for the caller, decided as the API decides it.
fn access_answer(caller: &Caller, repository: &str, checks: &[Check]) -> Value {
    let actions: serde_json::Map<String, Value> = checks
        .iter()
        .map(|check| {
            let decision = warden_tower::evaluate_check(caller, check, check.resource_policy.as_ref());
            let outcome = match decision.outcome {
                warden_policy::Outcome::Allowed => "allowed",
                warden_policy::Outcome::ExplicitDeny => "explicitDeny",
                warden_policy::Outcome::ImplicitDeny => "implicitDeny",
            };
            (check.action.to_string(), json!(outcome))
        })
        .collect();
    json!({ "repositoryName": repository, "actions": actions })
}

fn simulate_answer(store: &warden_identity::Store, s: &Simulation) -> Result<Value, Rejection> {
    let resolved = store.resolve(&s.principal).ok_or_else(|| {
        Rejection::new(
            "NoSuchEntity",
            StatusCode::NOT_FOUND,
            format!("The principal {} cannot be found in the identity store.", s.principal),
        )
    })?;
    let context = simulation_context(&resolved, &s.tags, &s.context)?;
    let request = warden_policy::Request {
        principal: &resolved.principal,
        action: &s.action,
        resource: &s.resource,
        resource_account: &s.resource_account,
        context: &context,
    };
    let id = &resolved.identity;
    let policies = Policies {
        identity: &id.policies,
        boundary: id.boundary.as_ref(),
        session: None,
        resource: s.resource_policy.as_ref(),
    };
    let e = explain(&policies, &request);
    let statements: Vec<Value> = e
        .statements
        .iter()
        .map(|st| {
            json!({
                "policyId": st.policy_id,
                "role": st.role,
                "index": st.index,
                "sid": st.sid,
                "effect": st.effect,
                "matched": st.matched,
                "notApplicable": st.not_applicable,
                "position": st.position.map(position),
                "lacks": st.lacks.iter().map(|l| lack_words(l, &request)).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({
        "principal": resolved.principal.arn(),
        "action": s.action,
        "resource": s.resource,
        "decision": e.decision,
        "rule": e.rule,
        "message": e.message,
        "statements": statements,
        "missingContextKeys": e.missing_context_keys,
        "suggestions": e.suggestions,
    }))
}

/// The user guide's examples, as templates for the policy editors.
const REPOSITORY_TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "Allow IAM users within your account",
        "Two named users of the account may push and pull.",
        include_str!("../../../../policies/examples/repository-allow-iam-users-push-pull.json"),
    ),
    (
        "Allow other accounts to push",
        "Another account may push images.",
        include_str!("../../../../policies/examples/repository-allow-other-accounts-push.json"),
    ),
    (
        "Allow all accounts to pull",
        "Any principal may pull (its own account must allow it too).",
        include_str!("../../../../policies/examples/repository-allow-all-accounts-pull.json"),
    ),
    (
        "Pull for two users, everything for an admin",
        "pull-user-1 and pull-user-2 may pull; admin-user gets ecr:* on this repository.",
        include_str!("../../../../policies/examples/repository-allow-users-pull-admin-full.json"),
    ),
    (
        "Deny all pulls",
        "Every principal is denied pulls, whatever its own policies say.",
        include_str!("../../../../policies/examples/repository-deny-all.json"),
    ),
    (
        "Deny outside an IP range",
        "Denies ecr:* to callers outside 54.240.143.0/24.",
        include_str!("../../../../policies/examples/repository-deny-outside-ip-range.json"),
    ),
    (
        "Allow an AWS service (CodeBuild)",
        "CodeBuild may pull for one project of the account.",
        include_str!("../../../../policies/examples/repository-allow-codebuild-service-pull.json"),
    ),
    (
        "Allow a user to describe",
        "One user may describe this repository and its images.",
        include_str!("../../../../policies/examples/repository-allow-user-describe.json"),
    ),
];

/// The guide's "Examples of Lifecycle Policies" (pp. 37-41).
const LIFECYCLE_TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "Filtering on image age",
        "Expires untagged images older than 14 days.",
        r#"{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Expire images older than 14 days",
      "selection": {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 14
      },
      "action": {
        "type": "expire"
      }
    }
  ]
}
"#,
    ),
    (
        "Filtering on image count",
        "Keeps only one untagged image and expires all others.",
        r#"{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Keep only one untagged image, expire all others",
      "selection": {
        "tagStatus": "untagged",
        "countType": "imageCountMoreThan",
        "countNumber": 1
      },
      "action": {
        "type": "expire"
      }
    }
  ]
}
"#,
    ),
    (
        "Filtering on multiple rules",
        "Keeps one image tagged prod* and one tagged beta* (Example A).",
        r#"{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Rule 1",
      "selection": {
        "tagStatus": "tagged",
        "tagPrefixList": ["prod"],
        "countType": "imageCountMoreThan",
        "countNumber": 1
      },
      "action": {
        "type": "expire"
      }
    },
    {
      "rulePriority": 2,
      "description": "Rule 2",
      "selection": {
        "tagStatus": "tagged",
        "tagPrefixList": ["beta"],
        "countType": "imageCountMoreThan",
        "countNumber": 1
      },
      "action": {
        "type": "expire"
      }
    }
  ]
}
"#,
    ),
    (
        "Filtering on all images",
        "Keeps one image of any tag status and expires the others.",
        r#"{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Rule 1",
      "selection": {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 1
      },
      "action": {
        "type": "expire"
      }
    }
  ]
}
"#,
    ),
];

fn templates_json(list: &[(&str, &str, &str)]) -> Vec<Value> {
    list.iter()
        .map(|(name, description, policy)| json!({"name": name, "description": description, "policy": policy}))
        .collect()
}

/// `GET /console/api/templates`: the guide's examples (public text; no session needed).
pub(crate) async fn templates() -> Response {
    ok(&json!({
        "repository": templates_json(REPOSITORY_TEMPLATES),
        "lifecycle": templates_json(LIFECYCLE_TEMPLATES),
    }))
}
