//! Repository policies: SetRepositoryPolicy (validated, and refused without `force` when it would
//! lock the caller out), GetRepositoryPolicy, DeleteRepositoryPolicy.

use serde_json::{json, Value};
use warden_tower::Authorized;

use super::call::{required, Call};
use super::error::{EcrError, Result};
use super::input;
use crate::error::RegistryError;

fn invalid_policy() -> EcrError {
    EcrError::invalid(
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
    )
}

/// SetRepositoryPolicy.
pub(crate) async fn set(c: &Call<'_>, i: &input::SetRepositoryPolicy) -> Result<Value> {
    let r = c.repository()?;
    let text = required(i.policy_text.as_deref(), "policyText")?;
    if let (false, Some(authorized)) = (i.force.unwrap_or(false), c.authorized) {
        refuse_lockout(&r.name, text, authorized)?;
    }
    c.reg.set_repository_policy(&r.name, Some(text.to_owned())).await.map_err(|e| match e {
        RegistryError::PolicyInvalid(_) => invalid_policy(),
        other => EcrError::from(other),
    })?;
    Ok(json!({"registryId": c.registry_id(), "repositoryName": r.name, "policyText": text}))
}

/// Without `force`, ECR refuses a repository policy that would stop the caller from setting the
/// next one ("If the policy you specify will prevent yourself from performing SetRepositoryPolicy
/// actions in the future, you must set force to true"): the caller's own
/// `ecr:SetRepositoryPolicy` check, with the request's condition keys (its source IP among them),
/// is evaluated again under the new text.
fn refuse_lockout(name: &str, text: &str, authorized: &Authorized) -> Result<()> {
    let Ok(compiled) = warden_policy::CompiledPolicy::compile(text, warden_policy::PolicyKind::Repository, name) else {
        return Err(invalid_policy());
    };
    let new_policy = warden_policy::PolicySet::from(compiled);
    for check in authorized.checks.iter().filter(|c| c.action == "ecr:SetRepositoryPolicy") {
        let decision = warden_tower::evaluate_check(&authorized.caller, check, Some(&new_policy));
        if decision.outcome != warden_policy::Outcome::Allowed {
            return Err(EcrError::invalid(
                "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'The repository policy would prevent you from setting another policy in the future; set force to apply it anyway'",
            ));
        }
    }
    Ok(())
}

fn not_found(c: &Call<'_>, name: &str) -> EcrError {
    EcrError::new(
        "RepositoryPolicyNotFoundException",
        format!(
            "Repository policy does not exist for the repository with name '{name}' in the registry with id '{}'",
            c.registry_id()
        ),
    )
}

/// GetRepositoryPolicy: the text read for the decision.
pub(crate) fn get(c: &Call<'_>) -> Result<Value> {
    let r = c.repository()?;
    let text = r.policy.as_ref().ok_or_else(|| not_found(c, &r.name))?;
    Ok(json!({"registryId": c.registry_id(), "repositoryName": r.name, "policyText": text}))
}

/// DeleteRepositoryPolicy: answers with the policy it removed.
pub(crate) async fn delete(c: &Call<'_>) -> Result<Value> {
    let r = c.repository()?;
    let text = r.policy.as_ref().ok_or_else(|| not_found(c, &r.name))?;
    c.reg.set_repository_policy(&r.name, None).await?;
    Ok(json!({"registryId": c.registry_id(), "repositoryName": r.name, "policyText": text}))
}
