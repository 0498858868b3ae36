//! Storing a manifest: validated, its digest checked, and written with its tag in one metadata
//! transaction that also enforces what it needs (its blobs, child manifests, the image and tag
//! quotas, tag immutability), so none of those can race with another writer.

use crate::error::RegistryError;
use crate::manifest::{self, MAX_MANIFEST_BYTES};
use crate::names::{Algorithm, Digest, Tag};
use crate::state::{now, Registry};
use crate::storage::meta::{NewManifest, PutOutcome, PutRefusal, Repository};

/// A manifest as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its digest.
    pub digest: Digest,
    /// What it refers to.
    pub parsed: manifest::Parsed,
    /// False when the manifest and tag were already exactly so (nothing changed).
    pub changed: bool,
}

/// Validates and stores `body` in `repository`, pointing `tag` at it. With `expected`, the
/// manifest must have that digest (and is hashed with its algorithm).
pub async fn store(
    reg: &Registry,
    repository: &Repository,
    body: &[u8],
    content_type: Option<&str>,
    tag: Option<&Tag>,
    expected: Option<&Digest>,
) -> Result<Stored, RegistryError> {
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(RegistryError::SizeInvalid(format!("manifest larger than {MAX_MANIFEST_BYTES} bytes")));
    }
    let parsed = manifest::parse(body, content_type)?;
    let digest = Digest::of(expected.map_or(Algorithm::Sha256, Digest::algorithm), body);
    if let Some(given) = expected.filter(|e| **e != digest) {
        return Err(RegistryError::ManifestDigestMismatch { computed: digest.to_string(), given: given.to_string() });
    }
    let (limits, repo, t) = (reg.config.limits, repository.name.clone(), now());
    let (d, body, tag_text, p) =
        (digest.to_string(), body.to_vec(), tag.map(|t| t.as_str().to_owned()), parsed.clone());
    let outcome = reg
        .meta(move |m| {
            m.put_manifest(&NewManifest {
                repo: &repo,
                digest: &d,
                media_type: &p.media_type,
                body: &body,
                subject: p.subject.as_deref(),
                artifact_type: p.artifact_type.as_deref(),
                blobs: &p.blobs,
                manifests: &p.manifests,
                tag: tag_text.as_deref(),
                size: super::images::layers_size(&p),
                now: t,
                max_images: limits.images_per_repository,
                max_tags_per_image: limits.tags_per_image,
            })
        })
        .await?;
    let repo = repository.name.as_str();
    match outcome {
        PutOutcome::Stored { changed } => Ok(Stored { digest, parsed, changed }),
        PutOutcome::Refused(refusal) => Err(match refusal {
            PutRefusal::RepositoryGone => reg.name_unknown(repo),
            PutRefusal::BlobUnknown(digest) => RegistryError::ManifestBlobUnknown { digest },
            PutRefusal::BlobSize { digest, stored, stated } => {
                RegistryError::ManifestInvalid(format!("blob {digest} has {stored} bytes, the manifest says {stated}"))
            }
            PutRefusal::ImageLimit => RegistryError::LimitExceeded(format!(
                "The maximum number of images ({}) in repository '{repo}' has been reached",
                limits.images_per_repository
            )),
            PutRefusal::TagImmutable => RegistryError::TagImmutable {
                tag: tag.map(|t| t.to_string()).unwrap_or_default(),
                repo: repo.to_owned(),
            },
            PutRefusal::TooManyTags => RegistryError::TooManyTags { limit: limits.tags_per_image },
        }),
    }
}

/// Deletes an image (manifest and all its tags); the blobs no other image of the repository
/// uses are unlinked, and their bytes collected when no repository holds them. False when absent.
pub async fn delete(reg: &Registry, repo: &str, digest: &Digest) -> Result<bool, RegistryError> {
    let (n, d) = (repo.to_owned(), digest.to_string());
    match reg.meta(move |m| m.delete_manifest(&n, &d)).await? {
        Some(orphaned) => {
            super::gc::collect(reg, &orphaned).await;
            Ok(true)
        }
        None => Ok(false),
    }
}
