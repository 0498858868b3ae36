//! Layers: BatchCheckLayerAvailability, GetDownloadUrlForLayer, and the layer upload API
//! (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload) on the shared upload sessions.

use base64::Engine as _;
use serde_json::{json, Value};

use super::call::{required, Call, MAX_PARTS, MIN_PART_SIZE, PART_SIZE};
use super::error::{EcrError, Result};
use super::input;
use crate::error::RegistryError;
use crate::names::{parse_digest, Digest, RepoName, UploadId};
use crate::service::uploads;
use crate::state::now;

/// BatchCheckLayerAvailability.
pub(crate) async fn check(c: &Call<'_>, i: &input::BatchCheckLayerAvailability) -> Result<Value> {
    let r = c.repository()?;
    let digests = required(i.layer_digests.as_deref(), "layerDigests")?.to_vec();
    let n = r.name.clone();
    let sizes: Vec<Option<u64>> = c
        .reg
        .meta(move |m| {
            digests.iter().map(|d| if parse_digest(d).is_some() { m.blob(&n, d) } else { Ok(None) }).collect()
        })
        .await?;
    let (mut layers, mut failures) = (Vec::new(), Vec::new());
    for (d, size) in required(i.layer_digests.as_deref(), "layerDigests")?.iter().zip(sizes) {
        if parse_digest(d).is_none() {
            failures.push(
                json!({"layerDigest": d, "failureCode": "InvalidLayerDigest", "failureReason": "Invalid layer digest"}),
            );
            continue;
        }
        match size {
            Some(size) => layers.push(json!({"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": size, "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"})),
            None => failures.push(json!({"layerDigest": d, "failureCode": "MissingLayerDigest", "failureReason": "Layer not found"})),
        }
    }
    Ok(json!({"layers": layers, "failures": failures}))
}

/// GetDownloadUrlForLayer: a presigned URL, valid for an hour.
pub(crate) async fn download_url(c: &Call<'_>, i: &input::GetDownloadUrlForLayer) -> Result<Value> {
    let r = c.repository()?;
    let text = required(i.layer_digest.as_deref(), "layerDigest")?;
    let digest = Digest::parse(text).map_err(|_| {
        EcrError::invalid(format!(
            "Invalid parameter at 'layerDigest' failed to satisfy constraint: '{}'",
            text.chars().take(300).collect::<String>()
        ))
    })?;
    let (n, d) = (r.name.clone(), digest.to_string());
    if c.reg.meta(move |m| m.blob(&n, &d)).await?.is_none() {
        return Err(EcrError::new("LayersNotFoundException", "The specified layers could not be found"));
    }
    let url = crate::presign::url(c.reg, c.host, &r.name, digest.as_str(), now());
    Ok(json!({"downloadUrl": url, "layerDigest": digest.as_str()}))
}

/// InitiateLayerUpload.
pub(crate) async fn initiate(c: &Call<'_>) -> Result<Value> {
    let r = c.repository()?;
    let name = RepoName::parse(&r.name)?;
    let id = uploads::start(c.reg, &name).await?;
    Ok(json!({"uploadId": id.as_str(), "partSize": PART_SIZE}))
}

/// The session `id` of this repository, and its size; UploadNotFoundException otherwise.
async fn session(c: &Call<'_>, name: &RepoName, id: Option<&str>) -> Result<(UploadId, u64)> {
    let text = required(id, "uploadId")?;
    let not_found = || {
        EcrError::new(
            "UploadNotFoundException",
            format!(
                "The upload with id '{}' does not exist in the repository with name '{name}' in the registry with id '{}'",
                text.chars().take(128).collect::<String>(),
                c.registry_id()
            ),
        )
    };
    let id = UploadId::parse(text).ok_or_else(not_found)?;
    match uploads::size(c.reg, name, &id).await {
        Ok(size) => Ok((id, size)),
        Err(RegistryError::UploadUnknown) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// UploadLayerPart: parts in order, 5 to 10 MiB each but the last, at most 1,000.
pub(crate) async fn upload_part(c: &Call<'_>, i: &input::UploadLayerPart) -> Result<Value> {
    let r = c.repository()?;
    let name = RepoName::parse(&r.name)?;
    let (id, size) = session(c, &name, i.upload_id.as_deref()).await?;
    let first = *required(i.part_first_byte.as_ref(), "partFirstByte")?;
    let last = *required(i.part_last_byte.as_ref(), "partLastByte")?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(required(i.layer_part_blob.as_deref(), "layerPartBlob")?)
        .map_err(|_| EcrError::invalid("layerPartBlob is not base64"))?;
    if first != size || last < first || last - first + 1 != blob.len() as u64 {
        return Err(EcrError::new(
            "InvalidLayerPartException",
            format!("The layer part with first byte {first} and last byte {last} is not contiguous with the {size} bytes received so far, or its size does not match"),
        ));
    }
    let upload = id.as_str().to_owned();
    let (parts, previous) = c.reg.meta(move |m| m.upload_parts(&upload)).await?;
    // Every part but the last is 5 to 10 MiB: a part after a small one shows the small one was not last.
    if parts > 0 && previous < MIN_PART_SIZE {
        return Err(EcrError::new(
            "LayerPartTooSmallException",
            format!("The layer part of {previous} bytes is smaller than the minimum of {MIN_PART_SIZE} bytes; only the last part may be smaller"),
        ));
    }
    if blob.len() as u64 > PART_SIZE {
        return Err(EcrError::new(
            "InvalidLayerPartException",
            format!("The layer part of {} bytes is larger than the maximum of {PART_SIZE} bytes", blob.len()),
        ));
    }
    if parts >= MAX_PARTS {
        return Err(EcrError::new(
            "LimitExceededException",
            format!("A layer upload may have at most {MAX_PARTS} parts"),
        ));
    }
    let written = c
        .reg
        .blobs
        .append(id.as_str(), &blob)
        .await
        .map_err(|e| EcrError::from(RegistryError::internal("blob storage", e)))?;
    let (upload, part) = (id.as_str().to_owned(), blob.len() as u64);
    c.reg.meta(move |m| m.record_part(&upload, part)).await?;
    Ok(
        json!({"registryId": c.registry_id(), "repositoryName": r.name, "uploadId": id.as_str(), "lastByteReceived": written.saturating_sub(1)}),
    )
}

/// CompleteLayerUpload.
pub(crate) async fn complete(c: &Call<'_>, i: &input::CompleteLayerUpload) -> Result<Value> {
    let r = c.repository()?;
    let name = RepoName::parse(&r.name)?;
    let (id, _) = session(c, &name, i.upload_id.as_deref()).await?;
    let [digest] = required(i.layer_digests.as_deref(), "layerDigests")? else {
        return Err(EcrError::invalid("layerDigests must hold exactly one digest"));
    };
    let digest = Digest::parse(digest).map_err(|e| EcrError::new("InvalidLayerException", e.to_string()))?;
    let (n, d) = (r.name.clone(), digest.to_string());
    if c.reg.meta(move |m| m.blob(&n, &d)).await?.is_some() {
        uploads::end(c.reg, &id).await?;
        return Err(EcrError::new(
            "LayerAlreadyExistsException",
            format!(
                "The image layer '{digest}' already exists in the repository with name '{}' in registry with id '{}'",
                r.name,
                c.registry_id()
            ),
        ));
    }
    uploads::complete(c.reg, &name, &id, &digest).await?;
    Ok(
        json!({"registryId": c.registry_id(), "repositoryName": r.name, "uploadId": id.as_str(), "layerDigest": digest.as_str()}),
    )
}
