//! The offline preview: DescribeImages-shaped input, GetLifecyclePolicyPreview-shaped output.

use serde::{Deserialize, Serialize};

use crate::evaluate::{evaluate, Image};
use crate::policy::LifecyclePolicy;

/// The images file: the shape `aws ecr describe-images` prints.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeImages {
    /// The images.
    pub image_details: Vec<ImageDetail>,
}

/// One `imageDetails` member (other fields the AWS CLI prints are accepted and ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDetail {
    /// Digest.
    pub image_digest: String,
    /// Tags.
    #[serde(default)]
    pub image_tags: Vec<String>,
    /// Push time: epoch seconds (a number) or ISO 8601 (a string), as the AWS CLI prints it.
    pub image_pushed_at: serde_json::Value,
}

/// The GetLifecyclePolicyPreview response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResponse {
    /// `COMPLETE`.
    pub status: String,
    /// The images that would expire, oldest first.
    pub preview_results: Vec<PreviewResult>,
    /// Counts.
    pub summary: Summary,
}

/// One `previewResults` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResult {
    /// Digest.
    pub image_digest: String,
    /// Tags.
    pub image_tags: Vec<String>,
    /// Push time, ISO 8601.
    pub image_pushed_at: String,
    /// `{"type": "EXPIRE"}`.
    pub action: PreviewAction,
    /// The rule that expires it.
    pub applied_rule_priority: i64,
}

/// The action of a preview result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewAction {
    /// `EXPIRE`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// How many images would expire.
    pub expiring_image_total_count: usize,
}

/// Why an images file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("imageDetails[{index}].imagePushedAt: `{value}` is not epoch seconds or an ISO 8601 time")]
pub struct ImageTimeError {
    /// Which image.
    pub index: usize,
    /// The value.
    pub value: String,
}

/// Parses a push time: epoch seconds (integer or fractional) or ISO 8601.
pub fn parse_time(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)),
        serde_json::Value::String(s) => {
            let nanos = warden_policy::date::parse(s)?;
            i64::try_from(nanos.div_euclid(1_000_000_000)).ok()
        }
        _ => None,
    }
}

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

/// The preview of `policy` over `images` at `now` (epoch seconds).
pub fn preview(policy: &LifecyclePolicy, images: &DescribeImages, now: i64) -> Result<PreviewResponse, ImageTimeError> {
    let mut parsed = Vec::with_capacity(images.image_details.len());
    for (index, d) in images.image_details.iter().enumerate() {
        let pushed_at = parse_time(&d.image_pushed_at)
            .ok_or_else(|| ImageTimeError { index, value: d.image_pushed_at.to_string() })?;
        parsed.push(Image { digest: d.image_digest.clone(), tags: d.image_tags.clone(), pushed_at });
    }
    let results: Vec<PreviewResult> = evaluate(policy, &parsed, now)
        .into_iter()
        .filter_map(|e| {
            let image = parsed.get(e.image)?;
            Some(PreviewResult {
                image_digest: image.digest.clone(),
                image_tags: image.tags.clone(),
                image_pushed_at: iso(image.pushed_at),
                action: PreviewAction { kind: "EXPIRE".into() },
                applied_rule_priority: e.rule_priority,
            })
        })
        .collect();
    Ok(PreviewResponse {
        status: "COMPLETE".into(),
        summary: Summary { expiring_image_total_count: results.len() },
        preview_results: results,
    })
}
