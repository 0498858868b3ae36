//! `GET /v2/<name>/referrers/<digest>`: the manifests whose `subject` is the digest, as an OCI
//! index of descriptors, each with its `artifactType` (the config's media type when the manifest
//! has none, as the spec requires), optionally filtered by `artifactType`.

use axum::response::Response;
use http::{header, StatusCode};
use serde_json::{json, Map, Value};

use super::reply::Reply;
use crate::error::RegistryError;
use crate::manifest;
use crate::names::Digest;
use crate::state::Registry;
use crate::storage::meta::Repository;

/// The listing.
pub(crate) async fn list(
    reg: &Registry,
    repo: &Repository,
    subject: &Digest,
    filter: Option<&str>,
) -> Result<Response, RegistryError> {
    let (name, d) = (repo.name.clone(), subject.to_string());
    let all = reg.meta(move |m| m.referrers(&name, &d)).await?;
    let mut manifests = Vec::new();
    for m in all {
        let body: Value = serde_json::from_slice(&m.body).unwrap_or_default();
        // Rows stored before artifact types were always recorded: derive it from the manifest.
        let artifact_type = m
            .artifact_type
            .clone()
            .or_else(|| manifest::parse(&m.body, Some(&m.media_type)).ok().and_then(|p| p.artifact_type));
        if filter.is_some_and(|f| artifact_type.as_deref() != Some(f)) {
            continue;
        }
        let mut desc = Map::new();
        desc.insert("mediaType".into(), json!(m.media_type));
        desc.insert("digest".into(), json!(m.digest));
        desc.insert("size".into(), json!(m.body.len()));
        if let Some(t) = artifact_type {
            desc.insert("artifactType".into(), json!(t));
        }
        if let Some(a) = body.get("annotations") {
            desc.insert("annotations".into(), a.clone());
        }
        manifests.push(Value::Object(desc));
    }
    let index = json!({"schemaVersion": 2, "mediaType": manifest::OCI_INDEX, "manifests": manifests});
    let mut reply =
        Reply::new(StatusCode::OK).header(header::CONTENT_TYPE, manifest::OCI_INDEX).body(index.to_string());
    if filter.is_some() {
        reply = reply.header(header::HeaderName::from_static("oci-filters-applied"), "artifactType");
    }
    Ok(reply.build())
}
