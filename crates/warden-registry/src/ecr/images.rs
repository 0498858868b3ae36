//! Images: ListImages, DescribeImages, BatchGetImage, PutImage, BatchDeleteImage.

use serde_json::{json, Value};

use super::call::{page, page_bounds, paged, required, set, Call};
use super::error::{EcrError, Result};
use super::input::{self, ImageFilter, ImageId};
use crate::error::RegistryError;
use crate::manifest;
use crate::names::{Digest, Tag};
use crate::service::{self, images::Lookup};
use crate::storage::meta::{ImageSummary, Manifest, TagFilter};

/// `filter.tagStatus`: `TAGGED`, `UNTAGGED` or `ANY` (the default).
fn tag_filter(filter: Option<&ImageFilter>) -> Result<TagFilter> {
    match filter.and_then(|f| f.tag_status.as_deref()).unwrap_or("ANY") {
        "TAGGED" => Ok(TagFilter::Tagged),
        "UNTAGGED" => Ok(TagFilter::Untagged),
        "ANY" => Ok(TagFilter::Any),
        _ => Err(EcrError::invalid("Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")),
    }
}

/// The token of the page after `start + len` of `total`.
fn next_token(start: usize, len: usize, total: usize) -> Option<String> {
    let end = start.saturating_add(len);
    (end < total).then(|| end.to_string())
}

/// ListImages: one page, read as a page from the store.
pub(crate) async fn list(c: &Call<'_>, i: &input::ListImages) -> Result<Value> {
    let r = c.repository()?;
    let filter = tag_filter(i.filter.as_ref())?;
    let (start, max) = page_bounds(&i.paging)?;
    let (ids, total) = service::images::id_page(c.reg, &r.name, filter, start, max).await?;
    let len = ids.len();
    let ids: Vec<Value> =
        ids.into_iter().map(|(digest, tag)| json!(ImageId { image_digest: Some(digest), image_tag: tag })).collect();
    Ok(paged("imageIds", ids, next_token(start, len, total)))
}

/// The images `ids` name, in the order given; the ids that name none as ECR's failures.
async fn lookup<'i>(
    c: &Call<'_>,
    repo: &str,
    ids: &'i [ImageId],
    with_manifests: bool,
) -> Result<(Vec<(ImageSummary, Option<Manifest>, &'i ImageId)>, Vec<Value>)> {
    let wanted = ids.iter().map(|id| (id.image_digest.clone(), id.image_tag.clone())).collect();
    let mut found = Vec::new();
    let mut failures = Vec::new();
    // `find` answers each id in the order given.
    for (id, result) in ids.iter().zip(service::images::find(c.reg, repo, wanted, with_manifests).await?) {
        match result {
            Lookup::Found(summary, body) => found.push((summary, body, id)),
            Lookup::Failed(code, reason) => {
                failures.push(json!({"imageId": id, "failureCode": code, "failureReason": reason}))
            }
        }
    }
    Ok((found, failures))
}

fn detail(c: &Call<'_>, repo: &str, img: &ImageSummary) -> Value {
    let mut d = json!({
        "registryId": c.registry_id(), "repositoryName": repo, "imageDigest": img.digest,
        "imageSizeInBytes": img.size.unwrap_or(0), "imagePushedAt": img.pushed_at, "imageManifestMediaType": img.media_type,
    });
    if !img.tags.is_empty() {
        set(&mut d, "imageTags", json!(img.tags));
    }
    if let Some(a) = &img.artifact_type {
        set(&mut d, "artifactMediaType", json!(a));
    }
    d
}

/// DescribeImages: the images named, or one page of those the filter admits, read as a page.
pub(crate) async fn describe(c: &Call<'_>, i: &input::DescribeImages) -> Result<Value> {
    let r = c.repository()?;
    let name = r.name.as_str();
    let filter = tag_filter(i.filter.as_ref())?;
    if let Some(ids) = &i.image_ids {
        let (found, failures) = lookup(c, name, ids, false).await?;
        if let Some(f) = failures.first() {
            return Err(EcrError::new(
                "ImageNotFoundException",
                format!(
                    "The image with imageId {} does not exist within the repository with name '{name}' in the registry with id '{}'",
                    f["imageId"],
                    c.registry_id()
                ),
            ));
        }
        let details: Vec<Value> = found.iter().map(|(img, _, _)| detail(c, name, img)).collect();
        let (page, next) = page(details, &i.paging)?;
        return Ok(paged("imageDetails", page, next));
    }
    let (start, max) = page_bounds(&i.paging)?;
    let (images, total) = service::images::page(c.reg, name, filter, start, max).await?;
    let details: Vec<Value> = images.iter().map(|img| detail(c, name, img)).collect();
    let len = details.len();
    Ok(paged("imageDetails", details, next_token(start, len, total)))
}

/// BatchGetImage: each image in a format the caller accepts, translated where the user guide's
/// conversion table allows.
pub(crate) async fn batch_get(c: &Call<'_>, i: &input::BatchGetImage) -> Result<Value> {
    let r = c.repository()?;
    let ids = required(i.image_ids.as_deref(), "imageIds")?;
    let accepted = i.accepted_media_types.as_deref().unwrap_or(&[]);
    let (found, mut failures) = lookup(c, &r.name, ids, true).await?;
    let mut out = Vec::new();
    for (img, body, id) in found {
        let Some(stored) = body else {
            failures.push(
                json!({"imageId": id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}),
            );
            continue;
        };
        let (mut media_type, mut manifest_bytes) = (stored.media_type, stored.body);
        if !manifest::accepts(accepted, &media_type) {
            let to_oci = media_type == manifest::DOCKER_V2 || media_type == manifest::DOCKER_LIST;
            match manifest::translate(&manifest_bytes, to_oci).filter(|(t, _)| manifest::accepts(accepted, t)) {
                Some((t, b)) => (media_type, manifest_bytes) = (t, b),
                None => {
                    failures.push(json!({"imageId": id, "failureCode": "UnsupportedImageType", "failureReason": "The image's manifest type is not among the accepted media types"}));
                    continue;
                }
            }
        }
        let image_id = ImageId { image_digest: Some(img.digest.clone()), image_tag: id.image_tag.clone() };
        out.push(json!({
            "registryId": c.registry_id(), "repositoryName": r.name, "imageId": image_id,
            "imageManifest": String::from_utf8_lossy(&manifest_bytes), "imageManifestMediaType": media_type,
        }));
    }
    Ok(json!({"images": out, "failures": failures}))
}

/// PutImage: the same manifest service as a `/v2` push, with ECR's exceptions.
pub(crate) async fn put(c: &Call<'_>, i: &input::PutImage) -> Result<Value> {
    let r = c.repository()?;
    let body = required(i.image_manifest.as_deref(), "imageManifest")?.as_bytes();
    let tag = i
        .image_tag
        .as_deref()
        .map(|t| {
            Tag::parse(t).map_err(|_| {
                EcrError::invalid(format!(
                    "Invalid parameter at 'imageTag' failed to satisfy constraint: '{} is not a valid tag'",
                    t.chars().take(300).collect::<String>()
                ))
            })
        })
        .transpose()?;
    let digest = i
        .image_digest
        .as_deref()
        .map(|d| Digest::parse(d).map_err(|e| EcrError::invalid(e.to_string())))
        .transpose()?;
    let stored = service::manifests::store(
        c.reg,
        r,
        body,
        i.image_manifest_media_type.as_deref(),
        tag.as_ref(),
        digest.as_ref(),
    )
    .await?;
    if !stored.changed {
        return Err(EcrError::new(
            "ImageAlreadyExistsException",
            format!(
                "Image with digest '{}' and tag '{}' already exists in the repository with name '{}' in registry with id '{}'",
                stored.digest,
                tag.as_ref().map(Tag::as_str).unwrap_or(""),
                r.name,
                c.registry_id()
            ),
        ));
    }
    let image_id = ImageId { image_digest: Some(stored.digest.to_string()), image_tag: tag.map(|t| t.to_string()) };
    Ok(json!({"image": {
        "registryId": c.registry_id(), "repositoryName": r.name, "imageId": image_id,
        "imageManifest": String::from_utf8_lossy(body), "imageManifestMediaType": stored.parsed.media_type,
    }}))
}

/// BatchDeleteImage: by tag, the tag (the image with its last tag); by digest, the image.
pub(crate) async fn batch_delete(c: &Call<'_>, i: &input::BatchDeleteImage) -> Result<Value> {
    let r = c.repository()?;
    let ids = required(i.image_ids.as_deref(), "imageIds")?;
    let (found, failures) = lookup(c, &r.name, ids, false).await?;
    let mut deleted = Vec::new();
    for (img, _, id) in found {
        match (&id.image_tag, &id.image_digest) {
            // Deleting an image's last tag deletes the image.
            (Some(tag), None) if img.tags.len() > 1 => {
                let (n, t) = (r.name.clone(), tag.clone());
                c.reg.meta(move |m| m.untag(&n, &t)).await?;
            }
            _ => {
                let digest = Digest::parse(&img.digest).map_err(|_| {
                    EcrError::from(RegistryError::internal("metadata store", "a stored image digest is invalid"))
                })?;
                service::manifests::delete(c.reg, &r.name, &digest).await?;
            }
        }
        deleted.push(ImageId { image_digest: Some(img.digest.clone()), image_tag: id.image_tag.clone() });
    }
    Ok(json!({"imageIds": deleted, "failures": failures}))
}
