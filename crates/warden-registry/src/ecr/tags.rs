//! Resource tags of repositories: TagResource, UntagResource, ListTagsForResource.

use serde_json::{json, Value};

use super::call::{merge_tags, parse_tags, Call};
use super::error::Result;
use super::input;

/// TagResource: adds or replaces tags, within ECR's 50 per repository.
pub(crate) async fn tag(c: &Call<'_>, i: &input::TagResource) -> Result<Value> {
    let r = c.repository()?;
    let tags = merge_tags(&r.tags, &parse_tags(i.tags.as_deref().unwrap_or(&[]))?)?;
    let n = r.name.clone();
    c.reg.meta(move |m| m.set_repository_tags(&n, &tags)).await?;
    Ok(json!({}))
}

/// UntagResource.
pub(crate) async fn untag(c: &Call<'_>, i: &input::UntagResource) -> Result<Value> {
    let r = c.repository()?;
    let keys = i.tag_keys.as_deref().unwrap_or(&[]);
    let tags: Vec<(String, String)> = r.tags.iter().filter(|(k, _)| !keys.contains(k)).cloned().collect();
    let n = r.name.clone();
    c.reg.meta(move |m| m.set_repository_tags(&n, &tags)).await?;
    Ok(json!({}))
}

/// ListTagsForResource: the tags read for the decision.
pub(crate) fn list(c: &Call<'_>) -> Result<Value> {
    let r = c.repository()?;
    let tags: Vec<Value> = r.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    Ok(json!({"tags": tags}))
}
