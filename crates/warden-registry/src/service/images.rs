//! The images of a repository as the ECR API and lifecycle policies see them: each manifest with
//! its tags, push time and size.

use crate::error::RegistryError;
use crate::manifest;
use crate::state::Registry;

/// An image of a repository.
#[derive(Debug, Clone)]
pub struct Image {
    /// Manifest digest.
    pub digest: String,
    /// Its tags, in lexical order.
    pub tags: Vec<String>,
    /// Manifest media type.
    pub media_type: String,
    /// `artifactType`, or the config's media type.
    pub artifact_type: Option<String>,
    /// Push time, epoch seconds.
    pub pushed_at: i64,
    /// The compressed size of its layers, as ECR reports `imageSizeInBytes`.
    pub size: u64,
    /// The manifest's bytes.
    pub body: Vec<u8>,
}

/// Every image of `repo`, oldest first.
pub async fn list(reg: &Registry, repo: &str) -> Result<Vec<Image>, RegistryError> {
    let n = repo.to_owned();
    let (all, tags) = reg.meta(move |m| Ok((m.images(&n)?, m.all_tags(&n)?))).await?;
    let mut out = Vec::with_capacity(all.len());
    for (m, pushed_at) in all {
        let parsed = manifest::parse(&m.body, Some(&m.media_type)).ok();
        // ECR reports the compressed size of the layers (the config is the first blob).
        let size = parsed.as_ref().map_or(0, |p| p.blobs.iter().skip(1).filter_map(|(_, s)| *s).sum());
        let artifact_type = m.artifact_type.or_else(|| parsed.and_then(|p| p.artifact_type));
        out.push(Image {
            tags: tags.iter().filter(|(_, d)| *d == m.digest).map(|(t, _)| t.clone()).collect(),
            digest: m.digest,
            media_type: m.media_type,
            artifact_type,
            pushed_at,
            size,
            body: m.body,
        });
    }
    Ok(out)
}
