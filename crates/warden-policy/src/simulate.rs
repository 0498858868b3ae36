//! An offline twin of `aws iam simulate-custom-policy`: the same request JSON (as the AWS CLI takes
//! it with `--cli-input-json`), the same response shape, real enforcement semantics.
//!
//! Like the AWS API, nothing is filled in by itself: a context key absent from `ContextEntries` is
//! absent, and listed in `MissingContextValues` when a policy needed it.
//!
//! Same account or cross account: the resource's owner is the account in its ARN; for resources
//! whose ARN names no account (`*`, S3 buckets) it is `ResourceOwner`, or else the caller's account
//! (IAM API reference, SimulateCustomPolicy `ResourceOwner`).
//!
//! ```
//! use warden_policy::simulate::{simulate_custom_policy, SimulateCustomPolicyRequest};
//! let req: SimulateCustomPolicyRequest = serde_json::from_str(r#"{
//!   "PolicyInputList": ["{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"ecr:GetAuthorizationToken\",\"Resource\":\"*\"}}"],
//!   "ActionNames": ["ecr:GetAuthorizationToken", "ecr:PutImage"]
//! }"#).unwrap();
//! let resp = simulate_custom_policy(&req).unwrap();
//! assert_eq!(resp.evaluation_results[0].eval_decision.as_str(), "allowed");
//! assert_eq!(resp.evaluation_results[1].eval_decision.as_str(), "implicitDeny");
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arn::{is_account_id, Arn};
use crate::ast::span::Position;
use crate::ast::PolicyKind;
use crate::compile::{CompiledPolicy, PolicySet};
use crate::context::{Context, ContextError, ContextKeyType};
use crate::error::PolicyError;
use crate::evaluate::{evaluate_all, Policies, Request};
use crate::evaluate::{Decision, MatchedStatement, Outcome};
use crate::limits::{MAX_ACTION_CHARS, MAX_RESOURCE_ARN_CHARS};
use crate::principal::{Principal, PrincipalError};

/// The request of `SimulateCustomPolicy`, as `--cli-input-json` takes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SimulateCustomPolicyRequest {
    /// Identity-based policies, as JSON text.
    #[serde(default)]
    pub policy_input_list: Vec<String>,
    /// At most one permissions boundary, as JSON text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions_boundary_policy_input_list: Vec<String>,
    /// Actions to simulate (no wildcards).
    #[serde(default)]
    pub action_names: Vec<String>,
    /// Resources; default `["*"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_arns: Vec<String>,
    /// A resource-based policy applied to every resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    /// Owner of resources whose ARN names no account: `arn:aws:iam::ACCOUNT:root` or an account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_owner: Option<String>,
    /// The simulated caller; required with `ResourcePolicy`. AWS accepts only IAM users here; warden
    /// also accepts roles, role sessions, federated users, root and service principals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    /// Condition keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_entries: Vec<ContextEntry>,
    /// EC2 scenarios only; accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_handling_option: Option<String>,
    /// Pagination; accepted and ignored (every result is returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// Pagination; accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// One `ContextEntries` member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ContextEntry {
    /// Key name.
    pub context_key_name: String,
    /// Values.
    #[serde(default)]
    pub context_key_values: Vec<String>,
    /// Type; when absent, `string` for one value and `stringList` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_key_type: Option<ContextKeyType>,
}

/// The response, as the AWS CLI prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulationResponse {
    /// One result per action and resource.
    pub evaluation_results: Vec<EvaluationResult>,
    /// Always false: every result is returned.
    pub is_truncated: bool,
}

/// One `EvaluationResults` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluationResult {
    /// The action.
    pub eval_action_name: String,
    /// The resource.
    pub eval_resource_name: String,
    /// The decision.
    pub eval_decision: Outcome,
    /// Statements that decided.
    pub matched_statements: Vec<MatchedStatementOut>,
    /// Missing keys (here only when the resource is `*`).
    pub missing_context_values: Vec<String>,
    /// Per-side results of cross-account simulations; `{}` same-account with a resource ARN; absent
    /// same-account with `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_decision_details: Option<BTreeMap<String, Outcome>>,
    /// Present when a boundary was simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary_decision_detail: Option<BoundaryDetail>,
    /// Present when a specific resource ARN was simulated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_specific_results: Vec<ResourceSpecificResult>,
}

/// `PermissionsBoundaryDecisionDetail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundaryDetail {
    /// Whether the boundary allowed.
    pub allowed_by_permissions_boundary: bool,
}

/// One `ResourceSpecificResults` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceSpecificResult {
    /// The resource.
    pub eval_resource_name: String,
    /// The decision for it.
    pub eval_resource_decision: Outcome,
    /// Statements that decided.
    pub matched_statements: Vec<MatchedStatementOut>,
    /// Missing keys.
    pub missing_context_values: Vec<String>,
    /// As in [`EvaluationResult`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_decision_details: Option<BTreeMap<String, Outcome>>,
    /// As in [`EvaluationResult`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary_decision_detail: Option<BoundaryDetail>,
}

/// A `MatchedStatements` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MatchedStatementOut {
    /// `PolicyInputList.1`, `ResourcePolicy`, ...
    pub source_policy_id: String,
    /// `IAM Policy`, `resource`, ...
    pub source_policy_type: String,
    /// Where the statement starts (1-based).
    pub start_position: Position,
    /// One past where it ends.
    pub end_position: Position,
}

/// Key of the identity side in `EvalDecisionDetails` (AWS does not document the keys; these are
/// stable warden constants).
pub const IDENTITY_SIDE_KEY: &str = "IAM Policy";
/// Key of the resource side in `EvalDecisionDetails`.
pub const RESOURCE_SIDE_KEY: &str = "Resource Policy";

/// A simulation request that cannot run. The message names the field.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum SimulateError {
    /// A policy in the input is invalid.
    #[error("{field}: {source}")]
    Policy {
        /// `PolicyInputList[0]`, `ResourcePolicy`, ...
        field: String,
        /// Why.
        #[source]
        #[diagnostic_source]
        source: PolicyError,
    },
    /// A field has a value the API refuses.
    #[error("{field}: {message}")]
    InvalidInput {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A context entry is invalid.
    #[error("{field}: {source}")]
    Context {
        /// `ContextEntries[2]`.
        field: String,
        /// Why.
        #[source]
        source: ContextError,
    },
    /// `PolicySourceArn` names no user or role (AWS: `NoSuchEntity`, HTTP 404).
    #[error("PolicySourceArn: no user or role `{0}` in the identity store")]
    NoSuchEntity(String),
    /// A principal ARN is invalid.
    #[error("{field}: {source}")]
    Principal {
        /// `CallerArn`.
        field: String,
        /// Why.
        #[source]
        source: PrincipalError,
    },
}

impl SimulateError {
    /// The AWS error code the IAM API would answer with (`MalformedPolicyDocument` or `InvalidInput`).
    pub fn aws_code(&self) -> &'static str {
        match self {
            SimulateError::Policy { .. } => "MalformedPolicyDocument",
            SimulateError::NoSuchEntity(_) => "NoSuchEntity",
            _ => "InvalidInput",
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SimulateError {
    SimulateError::InvalidInput { field: field.into(), message: message.into() }
}

/// The request of `SimulatePrincipalPolicy`: the policies of an IAM user or role (its inline,
/// attached and group policies, and its boundary), plus optional extra policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SimulatePrincipalPolicyRequest {
    /// The user or role whose policies are simulated.
    pub policy_source_arn: String,
    /// Extra identity-based policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_input_list: Vec<String>,
    /// A boundary that replaces the entity's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions_boundary_policy_input_list: Vec<String>,
    /// As in [`SimulateCustomPolicyRequest`].
    #[serde(default)]
    pub action_names: Vec<String>,
    /// As in [`SimulateCustomPolicyRequest`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_arns: Vec<String>,
    /// As in [`SimulateCustomPolicyRequest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    /// As in [`SimulateCustomPolicyRequest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_owner: Option<String>,
    /// The caller; defaults to `PolicySourceArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    /// As in [`SimulateCustomPolicyRequest`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_entries: Vec<ContextEntry>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_handling_option: Option<String>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// The stored policies of a principal, as an identity store resolves them.
#[derive(Debug, Clone)]
pub struct PrincipalPolicies {
    /// The principal (a user, or a session of a role).
    pub principal: Principal,
    /// Its identity-based policies, each with its name as id and `user`, `group`, `role`,
    /// `aws-managed` or `user-managed` as source type.
    pub identity: Vec<CompiledPolicy>,
    /// Its permissions boundary.
    pub boundary: Option<CompiledPolicy>,
}

/// Bounds on the size of one simulation, checked before any policy is compiled or any result
/// allocated (the counts) or while the answer is built (`max_answer_items`). AWS's simulator
/// evaluates each action against each resource and publishes no bound on that product; a service
/// that answers untrusted callers needs one, since the answer grows with it.
///
/// [`SimulateLimits::default`] are the bounds of `warden authorizer`; [`SimulateLimits::UNLIMITED`]
/// those of [`simulate_custom_policy`] and [`simulate_principal_policy`] (a local, trusted input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulateLimits {
    /// Most `ActionNames`.
    pub max_action_names: usize,
    /// Most `ResourceArns`.
    pub max_resource_arns: usize,
    /// Most evaluations: `ActionNames` × `ResourceArns` (one resource, `*`, when none is given).
    pub max_evaluations: usize,
    /// Most `PolicyInputList` members.
    pub max_policies: usize,
    /// Most `ContextEntries`.
    pub max_context_entries: usize,
    /// Most `ContextKeyValues`, summed over all entries.
    pub max_context_values: usize,
    /// Most entries the answer may list, summed over all results: matched statements (a resource
    /// ARN's are listed twice, in the result and in its `ResourceSpecificResults`) and missing
    /// context keys. Bounds the answer when many statements match many evaluations.
    pub max_answer_items: usize,
    /// Most character comparisons the conditions may make over the whole simulation: for every
    /// distinct condition of the input policies, (its values' characters, a policy variable
    /// counting as the longest context value) × (the context values' characters of its key),
    /// summed, times the evaluations. Every policy value meets every request value of its key, so
    /// without this bound a request of a few hundred kilobytes (thousands of patterns against a
    /// long context value) takes seconds; AWS documents no size for context values.
    pub max_condition_work: u64,
}

impl SimulateLimits {
    /// No bounds (beyond memory).
    pub const UNLIMITED: SimulateLimits = SimulateLimits {
        max_action_names: usize::MAX,
        max_resource_arns: usize::MAX,
        max_evaluations: usize::MAX,
        max_policies: usize::MAX,
        max_context_entries: usize::MAX,
        max_context_values: usize::MAX,
        max_answer_items: usize::MAX,
        max_condition_work: u64::MAX,
    };

    /// Checks the list sizes of a `SimulateCustomPolicy` request (cheap: no policy is compiled).
    pub fn check_custom(&self, req: &SimulateCustomPolicyRequest) -> Result<(), SimulateError> {
        self.check(&req.action_names, &req.resource_arns, &req.policy_input_list, &req.context_entries)
    }

    /// Checks the list sizes of a `SimulatePrincipalPolicy` request (cheap: nothing is resolved).
    pub fn check_principal(&self, req: &SimulatePrincipalPolicyRequest) -> Result<(), SimulateError> {
        self.check(&req.action_names, &req.resource_arns, &req.policy_input_list, &req.context_entries)
    }

    fn check(
        &self,
        actions: &[String],
        resources: &[String],
        policies: &[String],
        context: &[ContextEntry],
    ) -> Result<(), SimulateError> {
        let over = |field: &str, n: usize, what: &str, max: usize| {
            invalid(field, format!("{n} {what} in one request: at most {max} are accepted"))
        };
        if actions.len() > self.max_action_names {
            return Err(over("ActionNames", actions.len(), "action names", self.max_action_names));
        }
        if resources.len() > self.max_resource_arns {
            return Err(over("ResourceArns", resources.len(), "resource ARNs", self.max_resource_arns));
        }
        let evaluations = actions.len().saturating_mul(resources.len().max(1));
        if evaluations > self.max_evaluations {
            return Err(invalid(
                "ResourceArns",
                format!(
                    "{} action names × {} resources = {evaluations} evaluations: at most {} are accepted in one request",
                    actions.len(),
                    resources.len().max(1),
                    self.max_evaluations
                ),
            ));
        }
        if policies.len() > self.max_policies {
            return Err(over("PolicyInputList", policies.len(), "policies", self.max_policies));
        }
        if context.len() > self.max_context_entries {
            return Err(over("ContextEntries", context.len(), "context entries", self.max_context_entries));
        }
        let values = context.iter().fold(0usize, |n, e| n.saturating_add(e.context_key_values.len()));
        if values > self.max_context_values {
            return Err(over("ContextEntries", values, "context key values", self.max_context_values));
        }
        Ok(())
    }
}

impl Default for SimulateLimits {
    /// 1,000 action names, 1,000 resource ARNs, 10,000 evaluations, 100 policies, 1,000 context
    /// entries, 1,000 context key values, 100,000 answer items, 500 million character comparisons
    /// in conditions (well under a second).
    fn default() -> SimulateLimits {
        SimulateLimits {
            max_action_names: 1_000,
            max_resource_arns: 1_000,
            max_evaluations: 10_000,
            max_policies: 100,
            max_context_entries: 1_000,
            max_context_values: 1_000,
            max_answer_items: 100_000,
            max_condition_work: 500_000_000,
        }
    }
}

/// Runs a `SimulatePrincipalPolicy` request; `resolve` finds the stored policies of an ARN
/// (`None`: AWS's `NoSuchEntity`).
pub fn simulate_principal_policy(
    req: &SimulatePrincipalPolicyRequest,
    resolve: impl Fn(&str) -> Option<PrincipalPolicies>,
) -> Result<SimulationResponse, SimulateError> {
    simulate_principal_policy_within(req, &SimulateLimits::UNLIMITED, resolve)
}

/// [`simulate_principal_policy`] within `limits`: a request beyond them is an `InvalidInput`
/// error naming the field, found before anything is resolved or compiled (the answer's size is
/// checked as it is built).
pub fn simulate_principal_policy_within(
    req: &SimulatePrincipalPolicyRequest,
    limits: &SimulateLimits,
    resolve: impl Fn(&str) -> Option<PrincipalPolicies>,
) -> Result<SimulationResponse, SimulateError> {
    limits.check_principal(req)?;
    let source =
        resolve(&req.policy_source_arn).ok_or_else(|| SimulateError::NoSuchEntity(req.policy_source_arn.clone()))?;
    let custom = SimulateCustomPolicyRequest {
        policy_input_list: req.policy_input_list.clone(),
        permissions_boundary_policy_input_list: req.permissions_boundary_policy_input_list.clone(),
        action_names: req.action_names.clone(),
        resource_arns: req.resource_arns.clone(),
        resource_policy: req.resource_policy.clone(),
        resource_owner: req.resource_owner.clone(),
        caller_arn: req.caller_arn.clone(),
        context_entries: req.context_entries.clone(),
        ..Default::default()
    };
    run(&custom, Some(source), limits)
}

/// Runs a `SimulateCustomPolicy` request.
pub fn simulate_custom_policy(req: &SimulateCustomPolicyRequest) -> Result<SimulationResponse, SimulateError> {
    simulate_custom_policy_within(req, &SimulateLimits::UNLIMITED)
}

/// [`simulate_custom_policy`] within `limits` (see [`simulate_principal_policy_within`]).
pub fn simulate_custom_policy_within(
    req: &SimulateCustomPolicyRequest,
    limits: &SimulateLimits,
) -> Result<SimulationResponse, SimulateError> {
    limits.check_custom(req)?;
    run(req, None, limits)
}

fn run(
    req: &SimulateCustomPolicyRequest,
    source: Option<PrincipalPolicies>,
    limits: &SimulateLimits,
) -> Result<SimulationResponse, SimulateError> {
    let mut identity = compile_list(&req.policy_input_list, "PolicyInputList", PolicyKind::Identity)?;

    if req.permissions_boundary_policy_input_list.len() > 1 {
        return Err(invalid("PermissionsBoundaryPolicyInputList", "at most one permissions boundary may be given"));
    }
    let mut boundary = compile_list(
        &req.permissions_boundary_policy_input_list,
        "PermissionsBoundaryPolicyInputList",
        PolicyKind::Boundary,
    )?;
    let mut source_principal = None;
    if let Some(source) = source {
        identity.extend(source.identity);
        // A boundary given in the request replaces the entity's own.
        if boundary.is_empty() {
            boundary.extend(source.boundary);
        }
        source_principal = Some(source.principal);
    }
    let resource_policy = match &req.resource_policy {
        Some(text) => Some(PolicySet::from(
            CompiledPolicy::compile(text, PolicyKind::Resource, "ResourcePolicy")
                .map_err(|source| SimulateError::Policy { field: "ResourcePolicy".into(), source })?,
        )),
        None => None,
    };
    if req.action_names.is_empty() {
        return Err(invalid("ActionNames", "at least one action name is required"));
    }
    for (i, a) in req.action_names.iter().enumerate() {
        let valid = a.len() >= 3
            && a.len() <= MAX_ACTION_CHARS
            && a.split_once(':').is_some_and(|(s, n)| !s.is_empty() && !n.is_empty() && !n.contains(':'));
        if !valid || a.contains(['*', '?']) {
            return Err(invalid(
                format!("ActionNames[{i}]"),
                format!("`{a}` is not an action name: expected `service:Action` without wildcards"),
            ));
        }
    }
    for (field, value) in [("ResourceOwner", &req.resource_owner), ("CallerArn", &req.caller_arn)] {
        if let Some(v) = value {
            check_arn_length(field, v)?;
        }
    }
    let owner_default = match &req.resource_owner {
        Some(o) => Some(account_of_owner(o).ok_or_else(|| {
            invalid(
                "ResourceOwner",
                format!("`{o}` is not an account: expected `arn:aws:iam::ACCOUNT:root` or a 12-digit id"),
            )
        })?),
        None => None,
    };
    let caller = match (&req.caller_arn, source_principal) {
        (Some(arn), _) => {
            Principal::parse(arn).map_err(|source| SimulateError::Principal { field: "CallerArn".into(), source })?
        }
        (None, Some(p)) => p,
        (None, None) if resource_policy.is_some() => {
            return Err(invalid("CallerArn", "CallerArn is required when ResourcePolicy is given"));
        }
        (None, None) => Principal::unspecified(owner_default.as_deref().unwrap_or("")),
    };
    let context = build_context(&req.context_entries)?;
    let resources: Vec<&str> =
        if req.resource_arns.is_empty() { vec!["*"] } else { req.resource_arns.iter().map(String::as_str).collect() };
    for (i, r) in resources.iter().enumerate() {
        check_arn_length(&format!("ResourceArns[{i}]"), r)?;
        if *r != "*" && Arn::parse(r).is_none() {
            return Err(invalid(format!("ResourceArns[{i}]"), format!("`{r}` is not an ARN or `*`")));
        }
    }
    let identity = PolicySet::new(identity);
    let boundary = (!boundary.is_empty()).then(|| PolicySet::new(boundary));
    let policies = Policies {
        identity: &identity,
        boundary: boundary.as_ref(),
        session: None,
        resource: resource_policy.as_ref(),
    };
    // The limits bound the product; without them, reserve no more than a modest start.
    let evaluations = req.action_names.len().saturating_mul(resources.len());
    let sets = [Some(&identity), boundary.as_ref(), resource_policy.as_ref()];
    let per_evaluation =
        sets.into_iter().flatten().fold(0u64, |sum, set| sum.saturating_add(set.condition_work(&context)));
    let work = per_evaluation.saturating_mul(evaluations as u64);
    if work > limits.max_condition_work {
        return Err(invalid(
            "ContextEntries",
            format!(
                "the conditions would compare up to {work} characters (policy values × context values × {evaluations} \
                 evaluations); at most {} are allowed: shorten the context values or the condition values",
                limits.max_condition_work
            ),
        ));
    }
    let mut results = Vec::with_capacity(evaluations.min(limits.max_evaluations).min(1 << 16));
    let mut answer_items = 0usize;
    for action in &req.action_names {
        for resource in &resources {
            let arn_account = Arn::parse(resource).map(|a| a.account).filter(|a| !a.is_empty());
            let resource_account = arn_account
                .map(str::to_owned)
                .or_else(|| owner_default.clone())
                .unwrap_or_else(|| caller.account().to_owned());
            let request = Request {
                principal: &caller,
                action,
                resource,
                resource_account: &resource_account,
                context: &context,
            };
            let decision = evaluate_all(&policies, &request);
            let listed = if *resource == "*" { 1 } else { 2 };
            answer_items = answer_items
                .saturating_add(decision.matched.len().saturating_mul(listed))
                .saturating_add(decision.missing_context.len());
            if answer_items > limits.max_answer_items {
                return Err(invalid(
                    "ActionNames",
                    format!(
                        "the answer would list more than {} matched statements and missing context keys: \
                         simulate fewer actions or resources per request",
                        limits.max_answer_items
                    ),
                ));
            }
            results.push(result_of(action, resource, &decision));
        }
    }
    Ok(SimulationResponse { evaluation_results: results, is_truncated: false })
}

fn compile_list(texts: &[String], field: &str, kind: PolicyKind) -> Result<Vec<CompiledPolicy>, SimulateError> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            CompiledPolicy::compile(text, kind, &format!("{field}.{}", i + 1))
                .map_err(|source| SimulateError::Policy { field: format!("{field}[{i}]"), source })
        })
        .collect()
}

/// `ResourceArns` members, `ResourceOwner` and `CallerArn` are 1 to 2,048 characters in the IAM
/// API ([`MAX_RESOURCE_ARN_CHARS`]).
fn check_arn_length(field: &str, value: &str) -> Result<(), SimulateError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_RESOURCE_ARN_CHARS {
        return Err(invalid(
            field,
            format!("{chars} characters: it must be 1 to {MAX_RESOURCE_ARN_CHARS} characters long"),
        ));
    }
    Ok(())
}

fn account_of_owner(owner: &str) -> Option<String> {
    if is_account_id(owner) {
        return Some(owner.to_owned());
    }
    let arn = Arn::parse(owner)?;
    is_account_id(arn.account).then(|| arn.account.to_owned())
}

fn build_context(entries: &[ContextEntry]) -> Result<Context, SimulateError> {
    let mut ctx = Context::new();
    for (i, e) in entries.iter().enumerate() {
        let ty = e.context_key_type.unwrap_or(if e.context_key_values.len() == 1 {
            ContextKeyType::String
        } else {
            ContextKeyType::StringList
        });
        ctx.insert(&e.context_key_name, ty, &e.context_key_values)
            .map_err(|source| SimulateError::Context { field: format!("ContextEntries[{i}]"), source })?;
    }
    Ok(ctx)
}

fn matched_out(m: &MatchedStatement<'_>) -> Option<MatchedStatementOut> {
    let (start, end) = m.positions()?;
    Some(MatchedStatementOut {
        source_policy_id: m.policy.id().to_owned(),
        source_policy_type: m.policy.source_type().to_owned(),
        start_position: start,
        end_position: end,
    })
}

fn result_of(action: &str, resource: &str, d: &Decision<'_>) -> EvaluationResult {
    let matched: Vec<MatchedStatementOut> = d.matched.iter().filter_map(matched_out).collect();
    let missing: Vec<String> = d.missing_context.iter().map(|k| (*k).to_owned()).collect();
    let details = d.sides.map(|s| {
        BTreeMap::from([(IDENTITY_SIDE_KEY.to_owned(), s.identity), (RESOURCE_SIDE_KEY.to_owned(), s.resource)])
    });
    let boundary = d.boundary_allowed.map(|b| BoundaryDetail { allowed_by_permissions_boundary: b });
    if resource == "*" {
        return EvaluationResult {
            eval_action_name: action.to_owned(),
            eval_resource_name: resource.to_owned(),
            eval_decision: d.outcome,
            matched_statements: matched,
            missing_context_values: missing,
            eval_decision_details: details,
            permissions_boundary_decision_detail: boundary,
            resource_specific_results: Vec::new(),
        };
    }
    let details = Some(details.unwrap_or_default());
    EvaluationResult {
        eval_action_name: action.to_owned(),
        eval_resource_name: resource.to_owned(),
        eval_decision: d.outcome,
        matched_statements: matched.clone(),
        missing_context_values: Vec::new(),
        eval_decision_details: details.clone(),
        permissions_boundary_decision_detail: boundary,
        resource_specific_results: vec![ResourceSpecificResult {
            eval_resource_name: resource.to_owned(),
            eval_resource_decision: d.outcome,
            matched_statements: matched,
            missing_context_values: missing,
            eval_decision_details: details,
            permissions_boundary_decision_detail: boundary,
        }],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// iam-semantics.md §6.3: identity policy only, same account, specific resource.
    /// A request of a few hundred kilobytes that would make every one of thousands of distinct
    /// patterns meet a long context value (found by the `simulate` fuzz target: 3–14 s before
    /// this bound) is refused before any evaluation; written-twice values count once.
    #[test]
    fn condition_work_is_bounded() {
        let request = |patterns: Vec<String>, value: String| {
            let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "ecr:*", "Resource": "*",
                "Condition": {"StringLike": {"aws:username": patterns}}}]});
            SimulateCustomPolicyRequest {
                policy_input_list: vec![policy.to_string()],
                action_names: vec!["ecr:BatchGetImage".into()],
                context_entries: vec![ContextEntry {
                    context_key_name: "aws:username".into(),
                    context_key_values: vec![value],
                    context_key_type: Some(ContextKeyType::String),
                }],
                ..SimulateCustomPolicyRequest::default()
            }
        };
        let long = format!("{}b", "a".repeat(200_000));
        let distinct: Vec<String> = (0..3_000).map(|i| format!("*c{i}*b")).collect();
        let started = std::time::Instant::now();
        let limits = SimulateLimits::default();
        let err = simulate_custom_policy_within(&request(distinct, long.clone()), &limits).unwrap_err();
        assert_eq!(err.aws_code(), "InvalidInput");
        assert!(err.to_string().starts_with("ContextEntries: the conditions would compare up to"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused before matching");
        // The same pattern 12,000 times is one pattern: allowed, and it matches.
        let repeated = vec!["*a*b".to_owned(); 12_000];
        let answer = simulate_custom_policy_within(&request(repeated, long), &limits).unwrap();
        assert_eq!(answer.evaluation_results[0].eval_decision, Outcome::Allowed);
        // Within the bound, distinct patterns are evaluated as usual.
        let small: Vec<String> = (0..30).map(|i| format!("*c{i}*b")).collect();
        let within = simulate_custom_policy_within(&request(small, "a".repeat(1_000)), &limits);
        assert_eq!(within.unwrap().evaluation_results[0].eval_decision, Outcome::ImplicitDeny);
    }

    #[test]
    fn worked_example_same_account() {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Pull","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}},{"Sid":"Token","Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}"#;
        let r = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";
        let mut req = SimulateCustomPolicyRequest {
            policy_input_list: vec![policy.into()],
            action_names: vec!["ecr:BatchGetImage".into(), "ecr:PutImage".into()],
            resource_arns: vec![r.into()],
            context_entries: vec![ContextEntry {
                context_key_name: "aws:SourceIp".into(),
                context_key_values: vec!["203.0.113.10".into()],
                context_key_type: Some(ContextKeyType::Ip),
            }],
            ..Default::default()
        };
        let resp = simulate_custom_policy(&req).unwrap();
        let first = &resp.evaluation_results[0];
        assert_eq!(first.eval_decision, Outcome::Allowed);
        assert_eq!(first.matched_statements[0].source_policy_id, "PolicyInputList.1");
        assert_eq!(first.matched_statements[0].source_policy_type, "IAM Policy");
        assert_eq!(first.matched_statements[0].start_position, Position { line: 1, column: 38 });
        assert_eq!(first.matched_statements[0].end_position, Position { line: 1, column: 255 });
        assert_eq!(first.eval_decision_details, Some(BTreeMap::new()));
        assert_eq!(resp.evaluation_results[1].eval_decision, Outcome::ImplicitDeny);
        assert!(resp.evaluation_results[1].matched_statements.is_empty());

        req.context_entries.clear();
        let resp = simulate_custom_policy(&req).unwrap();
        let first = &resp.evaluation_results[0];
        assert_eq!(first.eval_decision, Outcome::ImplicitDeny);
        assert!(first.missing_context_values.is_empty());
        assert_eq!(first.resource_specific_results[0].missing_context_values, ["aws:SourceIp"]);
    }

    /// iam-semantics.md §6.4: cross-account through a repository policy naming the account.
    #[test]
    fn worked_example_cross_account() {
        let identity = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:*:111122223333:repository/*"}}"#;
        let resource = r#"{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"ecr:BatchGetImage"}]}"#;
        let mut req = SimulateCustomPolicyRequest {
            policy_input_list: vec![identity.into()],
            action_names: vec!["ecr:BatchGetImage".into()],
            resource_arns: vec!["arn:aws:ecr:us-east-1:111122223333:repository/team/app".into()],
            resource_policy: Some(resource.into()),
            resource_owner: Some("arn:aws:iam::111122223333:root".into()),
            caller_arn: Some("arn:aws:iam::444455556666:user/bob".into()),
            ..Default::default()
        };
        let r = &simulate_custom_policy(&req).unwrap().evaluation_results[0];
        assert_eq!(r.eval_decision, Outcome::Allowed);
        assert_eq!(r.matched_statements.len(), 2);
        let details = r.eval_decision_details.as_ref().unwrap();
        assert_eq!(details[IDENTITY_SIDE_KEY], Outcome::Allowed);
        assert_eq!(details[RESOURCE_SIDE_KEY], Outcome::Allowed);

        req.policy_input_list.clear();
        let r = &simulate_custom_policy(&req).unwrap().evaluation_results[0];
        assert_eq!(r.eval_decision, Outcome::ImplicitDeny);
        let details = r.eval_decision_details.as_ref().unwrap();
        assert_eq!(details[IDENTITY_SIDE_KEY], Outcome::ImplicitDeny);
        assert_eq!(details[RESOURCE_SIDE_KEY], Outcome::Allowed);
    }

    #[test]
    fn bad_input_names_the_field() {
        let req = SimulateCustomPolicyRequest {
            policy_input_list: vec!["{}".into(), r#"{"Statement":{"Effect":"allow"}}"#.into()],
            action_names: vec!["ecr:PutImage".into()],
            ..Default::default()
        };
        let e = simulate_custom_policy(&req).unwrap_err();
        assert!(e.to_string().starts_with("PolicyInputList[0]: "), "{e}");
        let req = SimulateCustomPolicyRequest { action_names: vec!["ecr:*".into()], ..Default::default() };
        assert_eq!(simulate_custom_policy(&req).unwrap_err().to_string().split(':').next(), Some("ActionNames[0]"));
        let req = SimulateCustomPolicyRequest {
            action_names: vec!["ecr:PutImage".into()],
            resource_policy: Some(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}}"#.into()),
            ..Default::default()
        };
        assert!(simulate_custom_policy(&req).unwrap_err().to_string().starts_with("CallerArn: "));
    }

    #[test]
    fn resource_arns_are_at_most_2048_characters() {
        // IAM API: `ResourceArns` members, `ResourceOwner` and `CallerArn` are `ResourceNameType`,
        // 1 to 2,048 characters.
        let arn = |len: usize| format!("arn:aws:s3:::{}", "b".repeat(len - "arn:aws:s3:::".len()));
        let req = |resource: String| {
            SimulateCustomPolicyRequest {
            policy_input_list: vec![r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b*"}}"#.into()],
            action_names: vec!["s3:GetObject".into()],
            resource_arns: vec!["*".into(), resource],
            resource_owner: Some("111122223333".into()),
            ..Default::default()
        }
        };
        let r = simulate_custom_policy(&req(arn(2_048))).unwrap();
        assert_eq!(r.evaluation_results[1].eval_decision, Outcome::Allowed);
        let e = simulate_custom_policy(&req(arn(2_049))).unwrap_err();
        assert_eq!((e.aws_code(), e.to_string().split(':').next()), ("InvalidInput", Some("ResourceArns[1]")));
        let e = simulate_custom_policy(&req(String::new())).unwrap_err();
        assert_eq!(e.to_string().split(':').next(), Some("ResourceArns[1]"));
        let long_caller = SimulateCustomPolicyRequest { caller_arn: Some(arn(2_049)), ..req(arn(100)) };
        assert_eq!(simulate_custom_policy(&long_caller).unwrap_err().to_string().split(':').next(), Some("CallerArn"));
    }

    #[test]
    fn limits_refuse_before_any_work_and_bound_the_answer() {
        let limits = SimulateLimits::default();
        let names = |n: usize, f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
        let field_of = |req: &SimulateCustomPolicyRequest, limits: &SimulateLimits| match simulate_custom_policy_within(
            req, limits,
        )
        .unwrap_err()
        {
            SimulateError::InvalidInput { field, .. } => field,
            e => panic!("{e}"),
        };
        // 40,000 × 20,000: refused by count, before the (invalid) policy is even compiled.
        let huge = SimulateCustomPolicyRequest {
            policy_input_list: vec!["not a policy".into()],
            action_names: names(40_000, &|i| format!("s:a{i}")),
            resource_arns: names(20_000, &|i| format!("arn:aws:s3:::{i}")),
            ..Default::default()
        };
        assert_eq!(field_of(&huge, &limits), "ActionNames");
        let product = SimulateCustomPolicyRequest {
            action_names: names(200, &|i| format!("s:a{i}")),
            resource_arns: names(200, &|i| format!("arn:aws:s3:::{i}")),
            ..huge.clone()
        };
        let e = simulate_custom_policy_within(&product, &limits).unwrap_err().to_string();
        assert!(e.starts_with("ResourceArns: 200 action names × 200 resources = 40000 evaluations"), "{e}");
        let few = |n: usize| SimulateCustomPolicyRequest {
            action_names: vec!["s:a".into()],
            context_entries: vec![ContextEntry {
                context_key_name: "k".into(),
                context_key_values: names(n, &|i| i.to_string()),
                context_key_type: None,
            }],
            ..Default::default()
        };
        assert_eq!(field_of(&few(1_001), &limits), "ContextEntries");
        assert!(simulate_custom_policy_within(&few(1_000), &limits).is_ok());

        // 100 × 100 evaluations each matching one statement, listed twice: 20,000 answer items.
        let allow_all = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        let wide = SimulateCustomPolicyRequest {
            policy_input_list: vec![allow_all.into()],
            action_names: names(100, &|i| format!("s:a{i}")),
            resource_arns: names(100, &|i| format!("arn:aws:s3:::{i}")),
            ..Default::default()
        };
        assert_eq!(simulate_custom_policy_within(&wide, &limits).unwrap().evaluation_results.len(), 10_000);
        let tight = SimulateLimits { max_answer_items: 19_999, ..limits };
        assert_eq!(field_of(&wide, &tight), "ActionNames");
        // The unlimited entry points keep answering everything.
        assert_eq!(
            simulate_custom_policy(&product).unwrap_err().to_string().split(':').next(),
            Some("PolicyInputList[0]")
        );
    }

    #[test]
    fn unknown_fields_are_refused_like_the_cli() {
        let e = serde_json::from_str::<SimulateCustomPolicyRequest>(r#"{"ActionNames":["a:b"],"Bogus":1}"#);
        assert!(e.is_err());
    }
}
