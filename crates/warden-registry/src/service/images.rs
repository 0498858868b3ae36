//! The images of a repository as the ECR API and lifecycle policies see them: listings page in
//! the metadata store and never read manifests they do not return; batch calls read only the
//! images they name.

use crate::error::RegistryError;
use crate::manifest;
use crate::names::parse_digest;
use crate::state::Registry;
use crate::storage::meta::{ImageIdRow, ImageSummary, Manifest, MetaError, MetadataStore, TagFilter};

/// An image an `imageIds` entry named, or why none was found (ECR's failure codes).
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Found, with its manifest when asked for.
    Found(ImageSummary, Option<Manifest>),
    /// ECR's `failureCode` and `failureReason`.
    Failed(&'static str, &'static str),
}

/// The compressed size of a manifest's layers (the config is the first blob), as ECR reports
/// `imageSizeInBytes`.
pub fn layers_size(parsed: &manifest::Parsed) -> u64 {
    parsed.blobs.iter().skip(1).filter_map(|(_, s)| *s).sum()
}

/// Fills in the size of images stored before sizes were recorded, from their manifests.
fn fill_size(m: &dyn MetadataStore, repo: &str, s: &mut ImageSummary) -> Result<(), MetaError> {
    if s.size.is_none() {
        let body = m.manifest(repo, &s.digest)?;
        s.size =
            Some(body.and_then(|b| manifest::parse(&b.body, Some(&b.media_type)).ok()).map_or(0, |p| layers_size(&p)));
    }
    Ok(())
}

/// One page of the images `filter` admits, oldest first, and how many it admits in all.
pub async fn page(
    reg: &Registry,
    repo: &str,
    filter: TagFilter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<ImageSummary>, usize), RegistryError> {
    let n = repo.to_owned();
    reg.meta(move |m| {
        let (mut rows, total) = m.image_page(&n, filter, offset, limit)?;
        for s in &mut rows {
            fill_size(m, &n, s)?;
        }
        Ok((rows, total))
    })
    .await
}

/// One page of ListImages' (digest, tag) pairs, and how many there are.
pub async fn id_page(
    reg: &Registry,
    repo: &str,
    filter: TagFilter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<ImageIdRow>, usize), RegistryError> {
    let n = repo.to_owned();
    reg.meta(move |m| m.image_id_page(&n, filter, offset, limit)).await
}

/// Every image of `repo` without manifests, oldest first (lifecycle policies).
pub async fn all(reg: &Registry, repo: &str) -> Result<Vec<ImageSummary>, RegistryError> {
    Ok(page(reg, repo, TagFilter::Any, 0, usize::MAX).await?.0)
}

/// The images `ids` (digest and/or tag each) name, in one trip; with their manifests when
/// `with_manifests`.
pub async fn find(
    reg: &Registry,
    repo: &str,
    ids: Vec<(Option<String>, Option<String>)>,
    with_manifests: bool,
) -> Result<Vec<Lookup>, RegistryError> {
    let n = repo.to_owned();
    reg.meta(move |m| {
        let mut out = Vec::with_capacity(ids.len());
        for (digest, tag) in &ids {
            let found = match (digest.as_deref(), tag.as_deref()) {
                (None, None) => {
                    Err(("MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"))
                }
                (Some(d), _) if parse_digest(d).is_none() => Err(("InvalidImageDigest", "Invalid image digest")),
                (Some(d), None) => m.image_summary(&n, d)?.ok_or(NOT_FOUND),
                (None, Some(t)) => match m.tag(&n, t)? {
                    Some(d) => m.image_summary(&n, &d)?.ok_or(NOT_FOUND),
                    None => Err(NOT_FOUND),
                },
                (Some(d), Some(t)) => match m.tag(&n, t)? {
                    Some(tagged) if tagged == d => m.image_summary(&n, d)?.ok_or(NOT_FOUND),
                    Some(_) => Err(MISMATCH),
                    None if m.image_summary(&n, d)?.is_some() => Err(MISMATCH),
                    None => Err(NOT_FOUND),
                },
            };
            out.push(match found {
                Ok(mut s) => {
                    fill_size(m, &n, &mut s)?;
                    let body = if with_manifests { m.manifest(&n, &s.digest)? } else { None };
                    Lookup::Found(s, body)
                }
                Err((code, reason)) => Lookup::Failed(code, reason),
            });
        }
        Ok(out)
    })
    .await
}

const NOT_FOUND: (&str, &str) = ("ImageNotFound", "Requested image not found");
const MISMATCH: (&str, &str) = ("ImageTagDoesNotMatchDigest", "Invalid tag and digest pair");
