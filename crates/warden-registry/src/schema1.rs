//! Docker Image Manifest V2, Schema 1 (signed), for clients that accept nothing newer.
//!
//! The user guide's conversion table: an image pushed as schema 2 or OCI and pulled by tag by a
//! client that only understands schema 1 is translated to schema 1. This module builds that
//! manifest from the image's config (one `history` entry per config history entry, empty layers
//! as the well-known empty gzip tar) and signs it as a libtrust "pretty" JWS with the registry's
//! P-256 key, the form schema 1 clients parse and verify.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::RegistryError;

/// A gzip-compressed empty tar archive: the layer schema 1 lists for history entries that made no
/// filesystem change (`empty_layer`).
pub const EMPTY_LAYER: &[u8] = &[
    31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 98, 24, 5, 163, 96, 20, 140, 88, 0, 8, 0, 0, 255, 255, 46, 175, 181, 239, 0,
    4, 0, 0,
];

/// The digest of [`EMPTY_LAYER`].
pub const EMPTY_LAYER_DIGEST: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

/// The indentation of a pretty-printed schema 1 manifest.
const INDENT: &str = "   ";

/// The registry's schema 1 signing key (ES256) and its public JWK.
pub struct Signer {
    key: SigningKey,
    jwk: Value,
}

impl Signer {
    /// A signer whose key is derived from `secret` (the registry's own key material).
    pub fn derive(secret: &[u8]) -> Option<Signer> {
        let mut seed = Sha256::digest([secret, b"/schema1-signing-key"].concat());
        // A scalar out of range is astronomically unlikely; hash again rather than fail.
        for _ in 0..8 {
            if let Ok(key) = SigningKey::from_slice(&seed) {
                let jwk = jwk(&key)?;
                return Some(Signer { key, jwk });
            }
            seed = Sha256::digest(seed);
        }
        None
    }

    /// Signs `payload` (pretty-printed with [`INDENT`], ending in `\n}`) as a libtrust pretty JWS:
    /// the payload with a `signatures` member inserted before its closing brace.
    pub fn sign(&self, payload: &[u8], time: &str) -> Result<Vec<u8>, RegistryError> {
        let format_length = payload
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .filter(|&i| payload.get(i) == Some(&b'}'))
            .and_then(|close| payload.get(..close)?.iter().rposition(|b| !b.is_ascii_whitespace()))
            .map(|i| i + 1)
            .ok_or_else(|| RegistryError::internal("schema 1 signing", "the payload is not a JSON object"))?;
        let (head, tail) = payload.split_at(format_length);
        let protected =
            json!({"formatLength": format_length, "formatTail": URL_SAFE_NO_PAD.encode(tail), "time": time});
        let protected = URL_SAFE_NO_PAD.encode(protected.to_string());
        let signing_input = format!("{protected}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        let signatures = json!([{
            "header": {"jwk": self.jwk, "alg": "ES256"},
            "signature": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
            "protected": protected,
        }]);
        let marshalled = pretty(&signatures)?;
        let mut out = Vec::with_capacity(payload.len() + marshalled.len() + 64);
        out.extend_from_slice(head);
        out.extend_from_slice(format!(",\n{INDENT}\"signatures\": ").as_bytes());
        // Nested one level: every line after the first carries the outer indentation too.
        out.extend_from_slice(marshalled.replace('\n', &format!("\n{INDENT}")).as_bytes());
        out.extend_from_slice(b"\n}");
        Ok(out)
    }
}

/// The public JWK of `key`, with libtrust's key id.
fn jwk(key: &SigningKey) -> Option<Value> {
    let public = key.verifying_key();
    let point = public.to_encoded_point(false);
    let (x, y) = (point.x()?, point.y()?);
    let der = p256::PublicKey::from(public).to_public_key_der().ok()?;
    Some(json!({
        "crv": "P-256",
        "kid": key_id(der.as_bytes()),
        "kty": "EC",
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
    }))
}

/// libtrust's key id: the first 240 bits of the SHA-256 of the DER public key, base32, in
/// twelve colon-separated groups of four.
fn key_id(der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hash = Sha256::digest(der);
    let mut bits = String::with_capacity(48);
    let (mut acc, mut n) = (0u32, 0u32);
    for &b in hash.iter().take(30) {
        acc = (acc << 8) | u32::from(b);
        n += 8;
        while n >= 5 {
            n -= 5;
            let index = ((acc >> n) & 31) as usize;
            bits.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
        }
    }
    let chars: Vec<char> = bits.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(":")
}

fn pretty(v: &impl Serialize) -> Result<String, RegistryError> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(INDENT.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    v.serialize(&mut ser).map_err(|e| RegistryError::internal("schema 1 signing", e))?;
    String::from_utf8(out).map_err(|e| RegistryError::internal("schema 1 signing", e))
}

/// A schema 1 manifest before signing.
pub struct Unsigned {
    /// The pretty-printed payload; its SHA-256 is the manifest's digest.
    pub payload: Vec<u8>,
    /// Whether it lists [`EMPTY_LAYER`] (which must then be in the repository).
    pub uses_empty_layer: bool,
}

/// Builds the schema 1 form of a schema 2 / OCI image manifest, given its config.
pub fn build(name: &str, tag: &str, manifest: &Value, config: &Value) -> Result<Unsigned, RegistryError> {
    let invalid = |m: &str| RegistryError::ManifestInvalid(format!("cannot translate to schema 1: {m}"));
    let layers: Vec<&str> = manifest
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the manifest has no layers"))?
        .iter()
        .map(|l| l.get("digest").and_then(Value::as_str).ok_or_else(|| invalid("a layer has no digest")))
        .collect::<Result<_, _>>()?;
    let created = config.get("created").cloned().unwrap_or(Value::Null);
    // Without history, one entry per layer.
    let history: Vec<Value> = match config.get("history").and_then(Value::as_array) {
        Some(h) if !h.is_empty() => h.clone(),
        _ => layers.iter().map(|_| json!({"created": created})).collect(),
    };
    let mut remaining = layers.iter();
    let mut entries: Vec<(String, Map<String, Value>)> = Vec::with_capacity(history.len());
    let mut uses_empty_layer = false;
    for h in &history {
        let empty = h.get("empty_layer").and_then(Value::as_bool).unwrap_or(false);
        let blob_sum = if empty {
            uses_empty_layer = true;
            EMPTY_LAYER_DIGEST
        } else {
            remaining.next().ok_or_else(|| invalid("the config's history names more layers than the manifest has"))?
        };
        let mut v1 = Map::new();
        if let Some(c) = h.get("created") {
            v1.insert("created".into(), c.clone());
        }
        if let Some(c) = h.get("comment") {
            v1.insert("comment".into(), c.clone());
        }
        if let Some(a) = h.get("author") {
            v1.insert("author".into(), a.clone());
        }
        if let Some(by) = h.get("created_by") {
            v1.insert("container_config".into(), json!({"Cmd": [by]}));
        }
        if empty {
            v1.insert("throwaway".into(), Value::Bool(true));
        }
        entries.push((blob_sum.to_owned(), v1));
    }
    if remaining.next().is_some() {
        return Err(invalid("the manifest has more layers than the config's history names"));
    }
    if entries.is_empty() {
        return Err(invalid("the image has no layers"));
    }
    // v1 ids chain through the parents; the top one also covers the config.
    let config_text = config.to_string();
    let last = entries.len() - 1;
    let mut parent = String::new();
    let mut fs_layers = Vec::with_capacity(entries.len());
    let mut v1_history = Vec::with_capacity(entries.len());
    for (i, (blob_sum, mut v1)) in entries.into_iter().enumerate() {
        let hex_sum = blob_sum.split_once(':').map_or(blob_sum.as_str(), |(_, h)| h);
        let seed = if i == last { format!("{hex_sum} {parent} {config_text}") } else { format!("{hex_sum} {parent}") };
        let id = hex::encode(Sha256::digest(seed.as_bytes()));
        if i == last {
            // The top entry is the image config itself, without what schema 2 added.
            let mut top = config.as_object().cloned().unwrap_or_default();
            top.remove("history");
            top.remove("rootfs");
            if v1.contains_key("throwaway") {
                top.insert("throwaway".into(), Value::Bool(true));
            }
            v1 = top;
        }
        v1.insert("id".into(), Value::String(id.clone()));
        if !parent.is_empty() {
            v1.insert("parent".into(), Value::String(parent.clone()));
        }
        fs_layers.push(json!({"blobSum": blob_sum}));
        v1_history.push(json!({"v1Compatibility": Value::Object(v1).to_string()}));
        parent = id;
    }
    // Schema 1 lists the top layer first.
    fs_layers.reverse();
    v1_history.reverse();
    let manifest = json!({
        "schemaVersion": 1,
        "name": name,
        "tag": tag,
        "architecture": config.get("architecture").and_then(Value::as_str).unwrap_or("amd64"),
        "fsLayers": fs_layers,
        "history": v1_history,
    });
    Ok(Unsigned { payload: pretty(&manifest)?.into_bytes(), uses_empty_layer })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_layer_is_what_its_digest_says() {
        assert_eq!(format!("sha256:{}", hex::encode(Sha256::digest(EMPTY_LAYER))), EMPTY_LAYER_DIGEST);
    }

    #[test]
    fn key_ids_are_twelve_groups_of_four_base32() {
        let id = key_id(b"any key");
        assert_eq!(id.len(), 59, "{id}");
        assert!(id
            .split(':')
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))));
    }

    #[test]
    fn history_and_layers_must_agree() {
        let manifest = json!({"layers": [{"digest": "sha256:aa"}]});
        let config = json!({"history": [{"created_by": "a"}, {"created_by": "b"}]});
        assert!(build("r", "t", &manifest, &config).is_err());
        let config = json!({"history": [{"created_by": "a"}, {"created_by": "ENV x", "empty_layer": true}]});
        let built = build("r", "t", &manifest, &config).unwrap();
        assert!(built.uses_empty_layer);
        let v: Value = serde_json::from_slice(&built.payload).unwrap();
        assert_eq!(v["fsLayers"][0]["blobSum"], EMPTY_LAYER_DIGEST, "top layer first");
        assert_eq!(v["fsLayers"][1]["blobSum"], "sha256:aa");
    }
}
