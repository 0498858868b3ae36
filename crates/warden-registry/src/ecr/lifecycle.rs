//! Lifecycle policies: PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy,
//! StartLifecyclePolicyPreview, GetLifecyclePolicyPreview. Policies are applied by
//! [`crate::service::lifecycle`].

use serde_json::{json, Value};
use warden_lifecycle::LifecyclePolicy;

use super::call::{page, required, set, Call};
use super::error::{EcrError, Result};
use super::input::{self, ImageId};
use crate::service;
use crate::state::now;

fn parse(text: &str) -> Result<LifecyclePolicy> {
    LifecyclePolicy::parse(text).map_err(|e| EcrError::new(e.aws_exception(), e.aws_message()))
}

fn not_found(c: &Call<'_>, name: &str) -> EcrError {
    EcrError::new(
        "LifecyclePolicyNotFoundException",
        format!(
            "Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{}'",
            c.registry_id()
        ),
    )
}

/// PutLifecyclePolicy: validated as ECR validates it, then stored.
pub(crate) async fn put(c: &Call<'_>, i: &input::PutLifecyclePolicy) -> Result<Value> {
    let r = c.repository()?;
    let text = required(i.lifecycle_policy_text.as_deref(), "lifecyclePolicyText")?;
    parse(text)?;
    let (n, t) = (r.name.clone(), text.to_owned());
    c.reg.meta(move |m| m.set_lifecycle_policy(&n, Some(&t))).await?;
    Ok(json!({"registryId": c.registry_id(), "repositoryName": r.name, "lifecyclePolicyText": text}))
}

async fn stored(c: &Call<'_>, name: &str) -> Result<(String, Option<i64>)> {
    let n = name.to_owned();
    c.reg.meta(move |m| m.lifecycle_policy(&n)).await?.ok_or_else(|| not_found(c, name))
}

fn policy_json(c: &Call<'_>, name: &str, text: &str, last: Option<i64>) -> Value {
    let mut v = json!({"registryId": c.registry_id(), "repositoryName": name, "lifecyclePolicyText": text});
    if let Some(at) = last {
        set(&mut v, "lastEvaluatedAt", json!(at));
    }
    v
}

/// GetLifecyclePolicy.
pub(crate) async fn get(c: &Call<'_>) -> Result<Value> {
    let r = c.repository()?;
    let (text, last) = stored(c, &r.name).await?;
    Ok(policy_json(c, &r.name, &text, last))
}

/// DeleteLifecyclePolicy: answers with the policy it removed.
pub(crate) async fn delete(c: &Call<'_>) -> Result<Value> {
    let r = c.repository()?;
    let (text, last) = stored(c, &r.name).await?;
    let n = r.name.clone();
    c.reg.meta(move |m| m.set_lifecycle_policy(&n, None)).await?;
    Ok(policy_json(c, &r.name, &text, last))
}

/// StartLifecyclePolicyPreview: evaluates the given policy (or the stored one) over the images as
/// they are now. The evaluation finishes within the call, so the status is already `COMPLETE`.
pub(crate) async fn start_preview(c: &Call<'_>, i: &input::StartLifecyclePolicyPreview) -> Result<Value> {
    let r = c.repository()?;
    let text = match &i.lifecycle_policy_text {
        Some(t) => t.clone(),
        None => stored(c, &r.name).await?.0,
    };
    let policy = parse(&text)?;
    let results: Vec<Value> = service::lifecycle::expiring(c.reg, &r.name, &policy, now())
        .await?
        .into_iter()
        .map(|(image, rule)| {
            json!({
                "imageDigest": image.digest, "imageTags": image.tags, "imagePushedAt": image.pushed_at,
                "action": {"type": "EXPIRE"}, "appliedRulePriority": rule,
            })
        })
        .collect();
    let (n, t, res) = (r.name.clone(), text.clone(), Value::Array(results).to_string());
    c.reg.meta(move |m| m.set_lifecycle_preview(&n, &t, &res)).await?;
    Ok(
        json!({"registryId": c.registry_id(), "repositoryName": r.name, "lifecyclePolicyText": text, "status": "COMPLETE"}),
    )
}

fn matches(result: &Value, id: &ImageId) -> bool {
    let (digest, tag) = (id.image_digest.as_deref(), id.image_tag.as_deref());
    (digest.is_some() || tag.is_some())
        && digest.is_none_or(|d| result.get("imageDigest").and_then(Value::as_str) == Some(d))
        && tag
            .is_none_or(|t| result.get("imageTags").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == t)))
}

/// GetLifecyclePolicyPreview: the latest preview, optionally narrowed to `imageIds`, paginated.
pub(crate) async fn get_preview(c: &Call<'_>, i: &input::GetLifecyclePolicyPreview) -> Result<Value> {
    let r = c.repository()?;
    let n = r.name.clone();
    let (text, results) = c.reg.meta(move |m| m.lifecycle_preview(&n)).await?.ok_or_else(|| {
        EcrError::new(
            "LifecyclePolicyPreviewNotFoundException",
            format!(
                "There is no lifecycle policy preview for the repository with name '{}' in the registry with id '{}'",
                r.name,
                c.registry_id()
            ),
        )
    })?;
    let mut results: Vec<Value> = serde_json::from_str(&results)
        .map_err(|e| EcrError::from(crate::error::RegistryError::internal("stored lifecycle preview", e)))?;
    let total = results.len();
    if let Some(ids) = &i.image_ids {
        results.retain(|res| ids.iter().any(|id| matches(res, id)));
    }
    let (results, next) = page(results, &i.paging)?;
    let mut out = json!({
        "registryId": c.registry_id(), "repositoryName": r.name, "lifecyclePolicyText": text,
        "status": "COMPLETE", "previewResults": results, "summary": {"expiringImageTotalCount": total},
    });
    if let Some(t) = next {
        set(&mut out, "nextToken", json!(t));
    }
    Ok(out)
}
