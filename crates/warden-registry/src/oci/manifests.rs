//! `/v2/<name>/manifests/<reference>`: pull (with the user guide's format negotiation by tag),
//! push and delete.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use tokio::io::AsyncReadExt;

use super::reply::{Reply, CONTENT_DIGEST};
use crate::error::RegistryError;
use crate::manifest::{self, MAX_MANIFEST_BYTES};
use crate::names::{Algorithm, Digest, Reference, Tag};
use crate::service;
use crate::state::Registry;
use crate::storage::meta::Repository;

/// The media types a client accepts, from its `Accept` headers.
fn accepted(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .take(64)
        .collect()
}

/// `GET`/`HEAD`: the manifest; by tag, translated when the client does not accept the stored
/// format and the user guide's conversion table allows; by digest, never.
pub(crate) async fn get(
    reg: &Registry,
    repo: &Repository,
    reference: &Reference,
    head: bool,
    headers: &HeaderMap,
) -> Result<Response, RegistryError> {
    let (name, r) = (repo.name.clone(), reference.as_str().to_owned());
    let m = reg
        .meta(move |m| m.manifest(&name, &r))
        .await?
        .ok_or_else(|| RegistryError::ManifestUnknown { reference: reference.to_string() })?;
    let (mut media_type, mut body, mut digest) = (m.media_type, m.body, m.digest);
    let accept = accepted(headers);
    if let Reference::Tag(tag) = reference {
        if !manifest::accepts(&accept, &media_type) {
            let to_oci = media_type == manifest::DOCKER_V2 || media_type == manifest::DOCKER_LIST;
            if let Some((t, b)) = manifest::translate(&body, to_oci).filter(|(t, _)| manifest::accepts(&accept, t)) {
                digest = Algorithm::Sha256.digest(&b);
                (media_type, body) = (t, b);
            } else if (media_type == manifest::DOCKER_V2 || media_type == manifest::OCI_MANIFEST)
                && (manifest::accepts(&accept, manifest::DOCKER_V1_SIGNED)
                    || manifest::accepts(&accept, manifest::DOCKER_V1))
            {
                let (signed, payload_digest) = to_schema1(reg, repo, tag, &body).await?;
                (media_type, body, digest) = (manifest::DOCKER_V1_SIGNED.to_owned(), signed, payload_digest);
            }
        }
    }
    let len = body.len();
    Ok(Reply::new(StatusCode::OK)
        .header(header::CONTENT_TYPE, media_type)
        .header(header::CONTENT_LENGTH, len.to_string())
        .header(CONTENT_DIGEST, digest)
        .body(if head { Bytes::new() } else { Bytes::from(body) })
        .build())
}

/// The largest image config read to build a schema 1 manifest.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Translates an image manifest to signed schema 1: (signed body, digest of the unsigned payload,
/// which is a schema 1 manifest's digest).
async fn to_schema1(
    reg: &Registry,
    repo: &Repository,
    tag: &Tag,
    body: &[u8],
) -> Result<(Vec<u8>, String), RegistryError> {
    let storage = |e: std::io::Error| RegistryError::internal("blob storage", e);
    let signer = reg.schema1_signer.as_ref().ok_or(RegistryError::Internal("no schema 1 signing key"))?;
    let manifest: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| RegistryError::ManifestInvalid(e.to_string()))?;
    let config_digest = manifest
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| RegistryError::ManifestInvalid(String::from("the manifest has no config")))?;
    let config_digest = Digest::parse(config_digest)?;
    let mut reader = reg
        .blobs
        .open_blob(&config_digest, 0)
        .await
        .map_err(storage)?
        .ok_or_else(|| RegistryError::BlobUnknown { digest: config_digest.to_string() })?
        .take(MAX_CONFIG_BYTES);
    let mut config_bytes = Vec::new();
    reader.read_to_end(&mut config_bytes).await.map_err(storage)?;
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| RegistryError::ManifestInvalid(format!("the image config is not JSON: {e}")))?;
    let unsigned = crate::schema1::build(&repo.name, tag.as_str(), &manifest, &config)?;
    if unsigned.uses_empty_layer {
        // The empty layer must be pullable from this repository like any other.
        let empty = Digest::parse(crate::schema1::EMPTY_LAYER_DIGEST)?;
        let _guard = reg.lock_blob(crate::schema1::EMPTY_LAYER_DIGEST).await?;
        if reg.blobs.size(&empty).await.map_err(storage)?.is_none() {
            reg.blobs.put(&empty, Bytes::from_static(crate::schema1::EMPTY_LAYER)).await.map_err(storage)?;
        }
        let (name, size) = (repo.name.clone(), crate::schema1::EMPTY_LAYER.len() as u64);
        reg.meta(move |m| m.link_blob(&name, crate::schema1::EMPTY_LAYER_DIGEST, size)).await?;
    }
    let digest = Algorithm::Sha256.digest(&unsigned.payload);
    let time = chrono::DateTime::from_timestamp(crate::state::now(), 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    Ok((signer.sign(&unsigned.payload, &time)?, digest))
}

/// `PUT`: stores the manifest (by tag: and moves the tag; by digest: checks it).
pub(crate) async fn put(
    reg: &Registry,
    repo: &Repository,
    reference: &Reference,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RegistryError> {
    let too_big = || RegistryError::SizeInvalid(format!("manifest larger than {MAX_MANIFEST_BYTES} bytes"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_MANIFEST_BYTES as u64) {
        return Err(too_big());
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = Limited::new(body, MAX_MANIFEST_BYTES).collect().await.map_err(|_| too_big())?.to_bytes();
    let (tag, digest) = match reference {
        Reference::Tag(t) => (Some(t), None),
        Reference::Digest(d) => (None, Some(d)),
    };
    let stored = service::manifests::store(reg, repo, &body, content_type.as_deref(), tag, digest).await?;
    let mut reply = Reply::new(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{}/manifests/{}", repo.name, stored.digest))
        .header(CONTENT_DIGEST, stored.digest.to_string());
    if let Some(s) = stored.parsed.subject {
        reply = reply.header(header::HeaderName::from_static("oci-subject"), s);
    }
    Ok(reply.build())
}

/// `DELETE`: by digest, the image with its tags (unshared blobs are reclaimed); by tag, the tag.
pub(crate) async fn delete(
    reg: &Registry,
    repo: &Repository,
    reference: &Reference,
) -> Result<Response, RegistryError> {
    let unknown = || RegistryError::ManifestUnknown { reference: reference.to_string() };
    match reference {
        Reference::Digest(d) => {
            if !service::manifests::delete(reg, &repo.name, d).await? {
                return Err(unknown());
            }
        }
        Reference::Tag(t) => {
            let (name, tag) = (repo.name.clone(), t.as_str().to_owned());
            if !reg.meta(move |m| m.untag(&name, &tag)).await? {
                return Err(unknown());
            }
        }
    }
    Ok(Reply::new(StatusCode::ACCEPTED).build())
}
