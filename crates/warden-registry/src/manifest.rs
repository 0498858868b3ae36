//! Manifest validation: JSON shape, media type, referenced blobs and child manifests, sizes,
//! layer limit; and what a manifest refers to (for `subject`, referrers and artifact types).

use serde_json::Value;

use crate::error::RegistryError;
use crate::names::parse_digest;

/// Docker schema 2 manifest.
pub const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 1 (unsigned).
pub const DOCKER_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1, signed.
pub const DOCKER_V1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The empty OCI config of artifacts.
#[cfg(test)]
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Most layers an image may have (ECR).
pub const MAX_LAYERS: usize = 127;
/// Largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// What a valid manifest refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Its media type.
    pub media_type: String,
    /// Blobs that must exist in the repository, with the sizes the manifest states.
    pub blobs: Vec<(String, Option<u64>)>,
    /// Manifests (of an index) that must exist in the repository.
    pub manifests: Vec<String>,
    /// `subject` digest.
    pub subject: Option<String>,
    /// `artifactType`, or else the config's media type (of an image manifest).
    pub artifact_type: Option<String>,
}

fn descriptor(v: &Value, what: &str) -> Result<(String, Option<u64>), RegistryError> {
    let digest = v
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| RegistryError::ManifestInvalid(format!("{what} has no digest")))?;
    if parse_digest(digest).is_none() {
        return Err(RegistryError::ManifestInvalid(format!("{what} digest `{digest}` is invalid")));
    }
    Ok((digest.to_owned(), v.get("size").and_then(Value::as_u64)))
}

/// Validates `body` pushed with `content_type`.
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Parsed, RegistryError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| RegistryError::ManifestInvalid(format!("manifest is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(RegistryError::ManifestInvalid(String::from("manifest must be a JSON object")));
    }
    let declared = v.get("mediaType").and_then(Value::as_str);
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "application/octet-stream");
    if let (Some(d), Some(h)) = (declared, header) {
        if d != h {
            return Err(RegistryError::ManifestInvalid(format!("Content-Type `{h}` does not match mediaType `{d}`")));
        }
    }
    let schema = v.get("schemaVersion").and_then(Value::as_u64);
    let media_type = match (declared.or(header), schema) {
        (Some(t), _) => t.to_owned(),
        (None, Some(1)) => DOCKER_V1_SIGNED.to_owned(),
        // OCI manifests may omit mediaType: tell them apart by shape.
        (None, Some(2)) if v.get("manifests").is_some() => OCI_INDEX.to_owned(),
        (None, Some(2)) => OCI_MANIFEST.to_owned(),
        _ => {
            return Err(RegistryError::ManifestInvalid(String::from("manifest has no mediaType and no schemaVersion")))
        }
    };
    let mut parsed = Parsed {
        media_type: media_type.clone(),
        blobs: Vec::new(),
        manifests: Vec::new(),
        subject: None,
        artifact_type: None,
    };
    match media_type.as_str() {
        DOCKER_V2 | OCI_MANIFEST => {
            let config = v
                .get("config")
                .ok_or_else(|| RegistryError::ManifestInvalid(String::from("manifest has no config")))?;
            let (config_digest, config_size) = descriptor(config, "config")?;
            let config_type = config.get("mediaType").and_then(Value::as_str);
            parsed.blobs.push((config_digest, config_size));
            let layers = v
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| RegistryError::ManifestInvalid(String::from("manifest has no layers array")))?;
            if layers.len() > MAX_LAYERS {
                return Err(RegistryError::ManifestInvalid(format!(
                    "an image may have at most {MAX_LAYERS} layers, not {}",
                    layers.len()
                )));
            }
            for (i, layer) in layers.iter().enumerate() {
                let d = descriptor(layer, &format!("layer {i}"))?;
                // Non-distributable layers (with `urls`) live elsewhere.
                if layer.get("urls").and_then(Value::as_array).is_none_or(|u| u.is_empty()) {
                    parsed.blobs.push(d);
                }
            }
            // Distribution spec, listing referrers: "If the artifactType is empty or missing in
            // the image manifest, the value of artifactType MUST be set to the config descriptor
            // mediaType value" — image configs and the empty config included.
            parsed.artifact_type = v.get("artifactType").and_then(Value::as_str).or(config_type).map(str::to_owned);
        }
        DOCKER_LIST | OCI_INDEX => {
            let manifests = v
                .get("manifests")
                .and_then(Value::as_array)
                .ok_or_else(|| RegistryError::ManifestInvalid(String::from("index has no manifests array")))?;
            for (i, m) in manifests.iter().enumerate() {
                parsed.manifests.push(descriptor(m, &format!("manifests[{i}]"))?.0);
            }
            parsed.artifact_type = v.get("artifactType").and_then(Value::as_str).map(str::to_owned);
        }
        DOCKER_V1 | DOCKER_V1_SIGNED => {
            let layers = v
                .get("fsLayers")
                .and_then(Value::as_array)
                .ok_or_else(|| RegistryError::ManifestInvalid(String::from("schema 1 manifest has no fsLayers")))?;
            if layers.len() > MAX_LAYERS {
                return Err(RegistryError::ManifestInvalid(format!("an image may have at most {MAX_LAYERS} layers")));
            }
            for l in layers {
                let sum = l.get("blobSum").and_then(Value::as_str).filter(|d| parse_digest(d).is_some()).ok_or_else(
                    || RegistryError::ManifestInvalid(String::from("fsLayers entry has no valid blobSum")),
                )?;
                if !parsed.blobs.iter().any(|(d, _)| d == sum) {
                    parsed.blobs.push((sum.to_owned(), None));
                }
            }
        }
        other => return Err(RegistryError::ManifestInvalid(format!("unsupported manifest media type `{other}`"))),
    }
    if let Some(subject) = v.get("subject") {
        parsed.subject = Some(descriptor(subject, "subject")?.0);
    }
    Ok(parsed)
}

/// Media type pairs of the Docker ↔ OCI translation the user guide's conversion table allows.
const TYPE_MAP: &[(&str, &str)] = &[
    (DOCKER_V2, OCI_MANIFEST),
    (DOCKER_LIST, OCI_INDEX),
    ("application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"),
    ("application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
    (
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    ),
];

fn map_type(t: &str, to_oci: bool) -> Option<&'static str> {
    TYPE_MAP
        .iter()
        .find_map(|(docker, oci)| if to_oci { (*docker == t).then_some(*oci) } else { (*oci == t).then_some(*docker) })
}

/// Translates a Docker schema 2 manifest or list to OCI (`to_oci`), or back; `None` when the
/// manifest uses something with no counterpart (then the stored format is served).
pub fn translate(body: &[u8], to_oci: bool) -> Option<(String, Vec<u8>)> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object_mut()?;
    let media_type = map_type(obj.get("mediaType")?.as_str()?, to_oci)?;
    obj.insert("mediaType".into(), Value::String(media_type.to_owned()));
    let convert = |d: &mut Value| -> Option<()> {
        let d = d.as_object_mut()?;
        if let Some(t) = d.get("mediaType").and_then(Value::as_str) {
            let mapped = map_type(t, to_oci)?;
            d.insert("mediaType".into(), Value::String(mapped.to_owned()));
        }
        Some(())
    };
    if let Some(config) = obj.get_mut("config") {
        convert(config)?;
    }
    for key in ["layers", "manifests"] {
        if let Some(items) = obj.get_mut(key).and_then(Value::as_array_mut) {
            for item in items {
                convert(item)?;
            }
        }
    }
    Some((media_type.to_owned(), serde_json::to_vec(&v).ok()?))
}

/// Whether an `Accept` header list admits `media_type`.
pub fn accepts(accept: &[String], media_type: &str) -> bool {
    accept.is_empty()
        || accept.iter().any(|a| {
            let t = a.split(';').next().unwrap_or(a).trim();
            t == media_type || t == "*/*" || t == "application/*"
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn oci_manifest_with_subject_and_foreign_layer() {
        let body = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sbom",
            "config": {"mediaType": OCI_EMPTY, "digest": d('a'), "size": 2},
            "layers": [{"mediaType": "x", "digest": d('b'), "size": 10}, {"mediaType": "x", "digest": d('c'), "size": 5, "urls": ["https://example.com/l"]}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": d('e'), "size": 100}
        });
        let p = parse(body.to_string().as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(p.blobs, [(d('a'), Some(2)), (d('b'), Some(10))]);
        assert_eq!(p.subject, Some(d('e')));
        assert_eq!(p.artifact_type.as_deref(), Some("application/vnd.example.sbom"));
        // Without artifactType, the config's media type, even for a plain image.
        let image = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d('a'), "size": 2}, "layers": []});
        let p = parse(image.to_string().as_bytes(), None).unwrap();
        assert_eq!(p.artifact_type.as_deref(), Some("application/vnd.oci.image.config.v1+json"));
    }

    #[test]
    fn invalid_manifests() {
        assert!(parse(b"nope", None).is_err());
        let mismatch = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": d('a')}, "layers": []});
        assert!(matches!(
            parse(mismatch.to_string().as_bytes(), Some(DOCKER_V2)),
            Err(RegistryError::ManifestInvalid(_))
        ));
        let layers: Vec<_> = (0..128).map(|_| serde_json::json!({"digest": d('b'), "size": 1})).collect();
        let big = serde_json::json!({"schemaVersion": 2, "mediaType": DOCKER_V2, "config": {"digest": d('a')}, "layers": layers});
        assert!(parse(big.to_string().as_bytes(), None).unwrap_err().to_string().contains("at most 127 layers"));
        let bad_digest = serde_json::json!({"schemaVersion": 2, "mediaType": DOCKER_V2, "config": {"digest": "sha256:xyz"}, "layers": []});
        assert!(parse(bad_digest.to_string().as_bytes(), None).is_err());
    }

    #[test]
    fn indexes_list_children() {
        let idx = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{"digest": d('a'), "size": 1}, {"digest": d('b'), "size": 1}]});
        assert_eq!(parse(idx.to_string().as_bytes(), None).unwrap().manifests, [d('a'), d('b')]);
    }
}
