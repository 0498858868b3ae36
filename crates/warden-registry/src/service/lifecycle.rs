//! The scheduler that applies each repository's lifecycle policy and removes upload sessions
//! left unfinished. The rules live in `warden-lifecycle` (pure, tested against every example of
//! the user guide); expired images are deleted through the same path as BatchDeleteImage, and
//! each expiry is recorded with its rule.

use std::sync::Arc;
use std::time::Duration;

use warden_lifecycle::{evaluate, Image, LifecyclePolicy};

use crate::error::RegistryError;
use crate::names::Digest;
use crate::state::{now, Registry};

/// How often `warden serve` applies lifecycle policies unless told otherwise (the guide promises
/// expiry within 24 hours of an image becoming eligible).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// How long an upload session may sit unfinished before its partial data is removed.
pub const UPLOAD_TTL_SECS: i64 = 24 * 3600;

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

/// The images `policy` expires in `repo` at `at`, with the rule of each.
pub async fn expiring(
    reg: &Registry,
    repo: &str,
    policy: &LifecyclePolicy,
    at: i64,
) -> Result<Vec<(Image, i64)>, RegistryError> {
    // A snapshot: images pushed after this point are not seen, so this run never expires them.
    let images: Vec<Image> = super::images::all(reg, repo)
        .await?
        .into_iter()
        .map(|i| Image { digest: i.digest, tags: i.tags, pushed_at: i.pushed_at })
        .collect();
    Ok(evaluate(policy, &images, at)
        .into_iter()
        .filter_map(|e| images.get(e.image).map(|i| (i.clone(), e.rule_priority)))
        .collect())
}

/// Applies every repository's lifecycle policy at `at` (epoch seconds): deletes the images it
/// expires (their unshared blobs are reclaimed) and records each expiry with its rule.
pub async fn apply_all(reg: &Registry, at: i64) -> Result<Vec<Expired>, RegistryError> {
    let mut expired = Vec::new();
    for (name, text) in reg.meta(|m| m.lifecycle_policies()).await? {
        // Policies were validated when put; one that no longer parses is skipped, not guessed at.
        let policy = match LifecyclePolicy::parse(&text) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(repository = %name, error = %e.aws_message(), "stored lifecycle policy does not parse; skipped");
                continue;
            }
        };
        let mut done: Vec<(Image, i64)> = Vec::new();
        for (image, rule) in expiring(reg, &name, &policy, at).await? {
            let digest = Digest::parse(&image.digest)?;
            super::manifests::delete(reg, &name, &digest).await?;
            let (n, i) = (name.clone(), image.clone());
            reg.meta(move |m| m.record_expiry(&n, &i.digest, &i.tags, i.pushed_at, rule, at)).await?;
            tracing::info!(repository = %name, digest = %image.digest, tags = ?image.tags, rule, "lifecycle expired an image");
            expired.push(Expired {
                repository: name.clone(),
                digest: image.digest.clone(),
                tags: image.tags.clone(),
                rule_priority: rule,
            });
            done.push((image, rule));
        }
        record_expiries(reg, &name, &text, &done, at).await;
        let n = name.clone();
        reg.meta(move |m| m.lifecycle_evaluated(&n, at)).await?;
    }
    Ok(expired)
}

/// The most images one `PolicyExecutionEvent` names: "for lifecycle policy actions where 10 or
/// more images expired, Amazon ECR sends multiple events to CloudTrail" (the user guide's
/// CloudTrail chapter).
pub const IMAGES_PER_EVENT: usize = 10;

/// Records the expiries of one repository's round as CloudTrail service events
/// (`PolicyExecutionEvent`, `AwsServiceEvent`), shaped as AWS's (re:Post "ECR lifecycle policy
/// events": `serviceEventDetails` with the policy's rules and the images expired), at most
/// [`IMAGES_PER_EVENT`] images per event. A record that cannot be written is logged: the
/// images are already gone.
async fn record_expiries(reg: &Registry, repo: &str, policy_text: &str, done: &[(Image, i64)], at: i64) {
    use serde_json::{json, Value};
    let Some(trail) = reg.trail.as_ref() else { return };
    if done.is_empty() {
        return;
    }
    let policy: Value = serde_json::from_str(policy_text).unwrap_or(Value::Null);
    let rules: Vec<Value> = policy
        .get("rules")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| {
                    let sel = r.get("selection").cloned().unwrap_or(Value::Null);
                    let count_type = match sel.get("countType").and_then(Value::as_str) {
                        Some("imageCountMoreThan") => "Image count more than",
                        Some("sinceImagePushed") => "Since image pushed",
                        _ => "",
                    };
                    json!({
                        "rulePriority": r.get("rulePriority"),
                        "description": r.get("description").and_then(Value::as_str).unwrap_or(""),
                        "lifecycleEventSelection": {
                            "tagStatus": match sel.get("tagStatus").and_then(Value::as_str) {
                                Some("tagged") => "Tagged",
                                Some("untagged") => "Untagged",
                                _ => "Any",
                            },
                            "tagPrefixList": sel.get("tagPrefixList").cloned().unwrap_or(json!([])),
                            "countType": count_type,
                            "countNumber": sel.get("countNumber"),
                        },
                        "action": "expire",
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let arn = reg.repository_arn(repo);
    for chunk in done.chunks(IMAGES_PER_EVENT) {
        let actions: Vec<Value> = chunk
            .iter()
            .map(|(image, rule)| {
                json!({
                    "lifecycleEventImage": {
                        "digest": image.digest,
                        "tagStatus": if image.tags.is_empty() { "Untagged" } else { "Tagged" },
                        "tagList": image.tags,
                        "pushedAt": image.pushed_at.saturating_mul(1000),
                    },
                    "rulePriority": rule,
                })
            })
            .collect();
        let event = crate::trail::Event {
            event_version: crate::trail::event::EVENT_VERSION,
            user_identity: crate::trail::event::UserIdentity::service(&reg.config.account_id),
            event_time: crate::trail::event::event_time(now()),
            event_source: crate::trail::event::EVENT_SOURCE,
            event_name: "PolicyExecutionEvent".into(),
            aws_region: reg.config.region.clone(),
            source_ip_address: "AWS Internal".into(),
            user_agent: "AWS Internal".into(),
            error_code: None,
            error_message: None,
            request_parameters: None,
            response_elements: None,
            request_id: None,
            event_id: crate::trail::event::uuid(),
            // As AWS's own records of lifecycle actions say.
            read_only: true,
            resources: crate::trail::event::Resource::repository(&arn).into_iter().collect(),
            event_type: "AwsServiceEvent",
            management_event: true,
            recipient_account_id: reg.config.account_id.clone(),
            service_event_details: Some(json!({
                "repositoryName": repo,
                "lifecycleEventPolicy": { "lifecycleEventRules": rules, "lastEvaluatedAt": at.saturating_mul(1000) },
                "lifecycleEventImageActions": actions,
            })),
            event_category: "Management",
        };
        if let Err(e) = trail.record(&event, true).await {
            tracing::error!(target: "warden::trail", repository = %repo, error = %e, "lifecycle expiry not recorded in the audit trail");
        }
    }
}

/// Removes upload sessions (and their partial data) started before `before` (epoch seconds);
/// returns how many. A client still writing to one gets BLOB_UPLOAD_UNKNOWN and starts again.
pub async fn purge_stale_uploads(reg: &Registry, before: i64) -> Result<usize, RegistryError> {
    let stale = reg.meta(move |m| m.stale_uploads(before)).await?;
    for id in &stale {
        reg.blobs.cancel(id).await.map_err(|e| RegistryError::internal("blob storage", e))?;
        let i = id.clone();
        reg.meta(move |m| m.end_upload(&i)).await?;
    }
    Ok(stale.len())
}

/// The fleet-wide lease ([`crate::storage::meta::MetadataStore::try_lease`]) a scheduler round holds.
pub const LEASE: &str = "lifecycle-scheduler";

/// Applies lifecycle policies now and then every `every`, for as long as the registry lives; each
/// round also removes upload sessions left unfinished for [`UPLOAD_TTL_SECS`]. Of several
/// instances sharing a metadata store, one runs each round (the one that takes [`LEASE`]).
pub fn spawn_scheduler(reg: Arc<Registry>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // One instance at a time applies policies and removes sessions: the others skip the
            // round while it holds the lease (instances sharing a metadata store are one fleet).
            let lease = match reg.meta(|m| m.try_lease(LEASE)).await {
                Ok(Some(lease)) => lease,
                Ok(None) => {
                    tracing::debug!("lifecycle round skipped: another instance holds the lease");
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "lifecycle round skipped: the lease could not be taken");
                    continue;
                }
            };
            if let Err(e) = apply_all(&reg, now()).await {
                tracing::error!(error = %e, "lifecycle round failed");
            }
            match purge_stale_uploads(&reg, now() - UPLOAD_TTL_SECS).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "removed unfinished upload sessions older than a day"),
                Err(e) => tracing::error!(error = %e, "removing stale upload sessions failed"),
            }
            drop(lease);
        }
    })
}
