//! Images: ListImages, DescribeImages, BatchGetImage, PutImage, BatchDeleteImage.

use serde_json::{json, Value};

use super::call::{page, paged, required, set, Call};
use super::error::{EcrError, Result};
use super::input::{self, ImageFilter, ImageId};
use crate::error::RegistryError;
use crate::manifest;
use crate::names::{parse_digest, Digest, Tag};
use crate::service::{self, images::Image};

/// `filter.tagStatus`: `TAGGED`, `UNTAGGED` or `ANY` (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

impl TagStatus {
    fn of(filter: Option<&ImageFilter>) -> Result<TagStatus> {
        match filter.and_then(|f| f.tag_status.as_deref()).unwrap_or("ANY") {
            "TAGGED" => Ok(TagStatus::Tagged),
            "UNTAGGED" => Ok(TagStatus::Untagged),
            "ANY" => Ok(TagStatus::Any),
            _ => Err(EcrError::invalid("Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")),
        }
    }

    fn admits(self, image: &Image) -> bool {
        match self {
            TagStatus::Tagged => !image.tags.is_empty(),
            TagStatus::Untagged => image.tags.is_empty(),
            TagStatus::Any => true,
        }
    }
}

/// ListImages.
pub(crate) async fn list(c: &Call<'_>, i: &input::ListImages) -> Result<Value> {
    let r = c.repository()?;
    let status = TagStatus::of(i.filter.as_ref())?;
    let mut ids = Vec::new();
    for img in service::images::list(c.reg, &r.name).await? {
        if img.tags.is_empty() {
            if status != TagStatus::Tagged {
                ids.push(json!({"imageDigest": img.digest}));
            }
        } else if status != TagStatus::Untagged {
            for t in &img.tags {
                ids.push(json!({"imageDigest": img.digest, "imageTag": t}));
            }
        }
    }
    let (page, next) = page(ids, &i.paging)?;
    Ok(paged("imageIds", page, next))
}

/// The images `ids` name (by digest and/or tag); the ids that match nothing as failures.
fn select<'a, 'b>(all: &'a [Image], ids: &'b [ImageId]) -> (Vec<(&'a Image, &'b ImageId)>, Vec<Value>) {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        let (digest, tag) = (id.image_digest.as_deref(), id.image_tag.as_deref());
        let failure = |code: &str, reason: &str| json!({"imageId": id, "failureCode": code, "failureReason": reason});
        if digest.is_none() && tag.is_none() {
            failures
                .push(failure("MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"));
            continue;
        }
        let hit = all
            .iter()
            .find(|img| digest.is_none_or(|d| img.digest == d) && tag.is_none_or(|t| img.tags.iter().any(|x| x == t)));
        match (hit, digest, tag) {
            (Some(img), _, _) => found.push((img, id)),
            (None, Some(d), _) if parse_digest(d).is_none() => {
                failures.push(failure("InvalidImageDigest", "Invalid image digest"))
            }
            (None, Some(d), Some(t))
                if all.iter().any(|i| i.digest == d) || all.iter().any(|i| i.tags.iter().any(|x| x == t)) =>
            {
                failures.push(failure("ImageTagDoesNotMatchDigest", "Invalid tag and digest pair"))
            }
            _ => failures.push(failure("ImageNotFound", "Requested image not found")),
        }
    }
    (found, failures)
}

/// DescribeImages.
pub(crate) async fn describe(c: &Call<'_>, i: &input::DescribeImages) -> Result<Value> {
    let r = c.repository()?;
    let name = r.name.as_str();
    let status = TagStatus::of(i.filter.as_ref())?;
    let all = service::images::list(c.reg, name).await?;
    let chosen: Vec<&Image> = match &i.image_ids {
        Some(ids) => {
            let (found, failures) = select(&all, ids);
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
            found.into_iter().map(|(img, _)| img).collect()
        }
        None => all.iter().filter(|img| status.admits(img)).collect(),
    };
    let details: Vec<Value> = chosen
        .iter()
        .map(|img| {
            let mut d = json!({
                "registryId": c.registry_id(), "repositoryName": name, "imageDigest": img.digest,
                "imageSizeInBytes": img.size, "imagePushedAt": img.pushed_at, "imageManifestMediaType": img.media_type,
            });
            if !img.tags.is_empty() {
                set(&mut d, "imageTags", json!(img.tags));
            }
            if let Some(a) = &img.artifact_type {
                set(&mut d, "artifactMediaType", json!(a));
            }
            d
        })
        .collect();
    let (page, next) = page(details, &i.paging)?;
    Ok(paged("imageDetails", page, next))
}

/// BatchGetImage: each image in a format the caller accepts, translated where the user guide's
/// conversion table allows.
pub(crate) async fn batch_get(c: &Call<'_>, i: &input::BatchGetImage) -> Result<Value> {
    let r = c.repository()?;
    let ids = required(i.image_ids.as_deref(), "imageIds")?;
    let accepted = i.accepted_media_types.as_deref().unwrap_or(&[]);
    let all = service::images::list(c.reg, &r.name).await?;
    let (found, mut failures) = select(&all, ids);
    let mut out = Vec::new();
    for (img, id) in found {
        let (mut media_type, mut body) = (img.media_type.clone(), img.body.clone());
        if !manifest::accepts(accepted, &media_type) {
            let to_oci = media_type == manifest::DOCKER_V2 || media_type == manifest::DOCKER_LIST;
            match manifest::translate(&body, to_oci).filter(|(t, _)| manifest::accepts(accepted, t)) {
                Some((t, b)) => (media_type, body) = (t, b),
                None => {
                    failures.push(json!({"imageId": id, "failureCode": "UnsupportedImageType", "failureReason": "The image's manifest type is not among the accepted media types"}));
                    continue;
                }
            }
        }
        let image_id = ImageId { image_digest: Some(img.digest.clone()), image_tag: id.image_tag.clone() };
        out.push(json!({
            "registryId": c.registry_id(), "repositoryName": r.name, "imageId": image_id,
            "imageManifest": String::from_utf8_lossy(&body), "imageManifestMediaType": media_type,
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
    let all = service::images::list(c.reg, &r.name).await?;
    let (found, failures) = select(&all, ids);
    let mut deleted = Vec::new();
    for (img, id) in found {
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
