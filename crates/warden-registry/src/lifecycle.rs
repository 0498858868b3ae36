//! Lifecycle policies in the registry: the five ECR operations (Put/Get/Delete, Start/Get
//! preview) and the scheduler that applies each repository's policy.
//!
//! The rules themselves live in `warden-lifecycle` (pure, tested against every example of the
//! user guide); this module stores policies, runs them over a repository's images and deletes what
//! they expire through the same path as BatchDeleteImage, recording each expiry with its rule.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use warden_lifecycle::{evaluate, Image, LifecyclePolicy};

use crate::ecr::{self, page, repo_name, repository, str_field, EcrError, Result};
use crate::state::{now, Registry};

/// How often `warden serve` applies lifecycle policies unless told otherwise (the guide promises
/// expiry within 24 hours of an image becoming eligible).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// An image a lifecycle rule expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// Repository.
    pub repository: String,
    /// Image digest.
    pub digest: String,
    /// Its tags when it expired.
    pub tags: Vec<String>,
    /// `rulePriority` of the rule that expired it.
    pub rule_priority: i64,
}

fn parse(text: &str) -> Result<LifecyclePolicy> {
    LifecyclePolicy::parse(text).map_err(|e| EcrError::new(e.aws_exception(), e.aws_message()))
}

fn not_found(reg: &Registry, name: &str) -> EcrError {
    EcrError::new(
        "LifecyclePolicyNotFoundException",
        format!(
            "Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{}'",
            reg.config.account_id
        ),
    )
}

/// PutLifecyclePolicy: validated as ECR validates it, then stored.
pub(crate) async fn put(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let text = str_field(input, "lifecyclePolicyText")?;
    parse(text)?;
    let (n, t) = (name.to_owned(), text.to_owned());
    reg.meta(move |m| m.set_lifecycle_policy(&n, Some(&t))).await?;
    Ok(json!({"registryId": reg.config.account_id, "repositoryName": name, "lifecyclePolicyText": text}))
}

async fn stored(reg: &Arc<Registry>, name: &str) -> Result<(String, Option<i64>)> {
    let n = name.to_owned();
    reg.meta(move |m| m.lifecycle_policy(&n)).await?.ok_or_else(|| not_found(reg, name))
}

fn policy_json(reg: &Registry, name: &str, text: &str, last: Option<i64>) -> Value {
    let mut v = json!({"registryId": reg.config.account_id, "repositoryName": name, "lifecyclePolicyText": text});
    if let (Some(at), Some(object)) = (last, v.as_object_mut()) {
        object.insert("lastEvaluatedAt".into(), json!(at));
    }
    v
}

/// GetLifecyclePolicy.
pub(crate) async fn get(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let (text, last) = stored(reg, name).await?;
    Ok(policy_json(reg, name, &text, last))
}

/// DeleteLifecyclePolicy: answers with the policy it removed.
pub(crate) async fn delete(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let (text, last) = stored(reg, name).await?;
    let n = name.to_owned();
    reg.meta(move |m| m.set_lifecycle_policy(&n, None)).await?;
    Ok(policy_json(reg, name, &text, last))
}

/// The images a policy expires now, with the rule of each.
async fn expiring(reg: &Arc<Registry>, name: &str, policy: &LifecyclePolicy, at: i64) -> Result<Vec<(Image, i64)>> {
    // A snapshot: images pushed after this point are not seen, so this run never expires them.
    let images: Vec<Image> = ecr::images(reg, name)
        .await?
        .into_iter()
        .map(|i| Image { digest: i.digest, tags: i.tags, pushed_at: i.pushed_at })
        .collect();
    Ok(evaluate(policy, &images, at)
        .into_iter()
        .filter_map(|e| images.get(e.image).map(|i| (i.clone(), e.rule_priority)))
        .collect())
}

/// StartLifecyclePolicyPreview: evaluates the given policy (or the stored one) over the images as
/// they are now. The evaluation finishes within the call, so the status is already `COMPLETE`.
pub(crate) async fn start_preview(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let text = match input.get("lifecyclePolicyText").and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        None => stored(reg, name).await?.0,
    };
    let policy = parse(&text)?;
    let results: Vec<Value> = expiring(reg, name, &policy, now())
        .await?
        .into_iter()
        .map(|(image, rule)| {
            json!({
                "imageDigest": image.digest, "imageTags": image.tags, "imagePushedAt": image.pushed_at,
                "action": {"type": "EXPIRE"}, "appliedRulePriority": rule,
            })
        })
        .collect();
    let (n, t, r) = (name.to_owned(), text.clone(), Value::Array(results).to_string());
    reg.meta(move |m| m.set_lifecycle_preview(&n, &t, &r)).await?;
    Ok(
        json!({"registryId": reg.config.account_id, "repositoryName": name, "lifecyclePolicyText": text, "status": "COMPLETE"}),
    )
}

/// GetLifecyclePolicyPreview: the latest preview, optionally narrowed to `imageIds`, paginated.
pub(crate) async fn get_preview(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let n = name.to_owned();
    let (text, results) = reg.meta(move |m| m.lifecycle_preview(&n)).await?.ok_or_else(|| {
        EcrError::new(
            "LifecyclePolicyPreviewNotFoundException",
            format!(
                "There is no lifecycle policy preview for the repository with name '{name}' in the registry with id '{}'",
                reg.config.account_id
            ),
        )
    })?;
    let mut results: Vec<Value> = serde_json::from_str(&results).unwrap_or_default();
    let total = results.len();
    if let Some(ids) = input.get("imageIds").and_then(Value::as_array) {
        results.retain(|r| {
            ids.iter().any(|id| {
                let digest = id.get("imageDigest").and_then(Value::as_str);
                let tag = id.get("imageTag").and_then(Value::as_str);
                digest.is_none_or(|d| r.get("imageDigest").and_then(Value::as_str) == Some(d))
                    && tag.is_none_or(|t| {
                        r.get("imageTags").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == t))
                    })
                    && (digest.is_some() || tag.is_some())
            })
        });
    }
    let (results, next) = page(results, input)?;
    let mut out = json!({
        "registryId": reg.config.account_id, "repositoryName": name, "lifecyclePolicyText": text,
        "status": "COMPLETE", "previewResults": results, "summary": {"expiringImageTotalCount": total},
    });
    if let (Some(t), Some(object)) = (next, out.as_object_mut()) {
        object.insert("nextToken".into(), json!(t));
    }
    Ok(out)
}

/// Applies every repository's lifecycle policy at `at` (epoch seconds): deletes the images it
/// expires (their unshared blobs are reclaimed) and records each expiry with its rule.
pub async fn apply_all(reg: &Arc<Registry>, at: i64) -> Result<Vec<Expired>> {
    let mut expired = Vec::new();
    for (name, text) in reg.meta(|m| m.lifecycle_policies()).await? {
        // Policies were validated when put; one that no longer parses is skipped, not guessed at.
        let Ok(policy) = LifecyclePolicy::parse(&text) else { continue };
        for (image, rule) in expiring(reg, &name, &policy, at).await? {
            ecr::delete_image(reg, &name, &image.digest).await?;
            let (n, i) = (name.clone(), image.clone());
            reg.meta(move |m| m.record_expiry(&n, &i.digest, &i.tags, i.pushed_at, rule, at)).await?;
            expired.push(Expired {
                repository: name.clone(),
                digest: image.digest,
                tags: image.tags,
                rule_priority: rule,
            });
        }
        let n = name.clone();
        reg.meta(move |m| m.lifecycle_evaluated(&n, at)).await?;
    }
    Ok(expired)
}

/// How long an upload session may sit unfinished before its partial data is removed.
pub const UPLOAD_TTL_SECS: i64 = 24 * 3600;

/// Removes upload sessions (and their partial data) started before `before` (epoch seconds);
/// returns how many. A client still writing to one gets BLOB_UPLOAD_UNKNOWN and starts again.
pub async fn purge_stale_uploads(reg: &Arc<Registry>, before: i64) -> Result<usize> {
    let stale = reg.meta(move |m| m.stale_uploads(before)).await?;
    for id in &stale {
        reg.blobs.cancel(id).await.map_err(|e| EcrError::new("ServerException", e.to_string()))?;
        let i = id.clone();
        reg.meta(move |m| m.end_upload(&i)).await?;
    }
    Ok(stale.len())
}

/// Applies lifecycle policies now and then every `every`, for as long as the registry lives; each
/// round also removes upload sessions left unfinished for [`UPLOAD_TTL_SECS`].
pub fn spawn_scheduler(reg: Arc<Registry>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match apply_all(&reg, now()).await {
                Ok(expired) => {
                    for e in expired {
                        eprintln!(
                            "lifecycle: expired {}@{} {:?} (rule {})",
                            e.repository, e.digest, e.tags, e.rule_priority
                        );
                    }
                }
                Err(e) => eprintln!("lifecycle: {}: {}", e.code, e.message),
            }
            match purge_stale_uploads(&reg, now() - UPLOAD_TTL_SECS).await {
                Ok(0) => {}
                Ok(n) => eprintln!("uploads: removed {n} unfinished upload sessions older than a day"),
                Err(e) => eprintln!("uploads: {}: {}", e.code, e.message),
            }
        }
    })
}
