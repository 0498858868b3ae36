//! Test images without a docker daemon: OCI image layouts built with umoci, and OCI image indexes
//! (multi-platform) written beside them.

use super::{require, run, sha256_bytes, TempDir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const UMOCI_INSTALL: &str = "apt-get install -y umoci";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn umoci(args: &[&str]) {
    require("umoci", UMOCI_INSTALL);
    let mut cmd = Command::new("umoci");
    cmd.args(args);
    run(&mut cmd, None, Duration::from_secs(300)).ok();
}

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`).
pub struct OciLayout {
    pub dir: PathBuf,
    scratch: TempDir,
}

impl OciLayout {
    /// `umoci init --layout DIR` in a new directory `name` under `parent`.
    pub fn init(parent: &Path, name: &str) -> OciLayout {
        let dir = parent.join(name);
        umoci(&["init", "--layout", &dir.display().to_string()]);
        OciLayout { dir, scratch: TempDir::new("warden-layer") }
    }

    /// An existing layout (one skopeo wrote, say).
    pub fn open(dir: &Path) -> OciLayout {
        OciLayout { dir: dir.to_path_buf(), scratch: TempDir::new("warden-layer") }
    }

    fn image(&self, tag: &str) -> String {
        format!("{}:{tag}", self.dir.display())
    }

    /// `oci:DIR:TAG`, for skopeo.
    pub fn reference(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", self.dir.display())
    }

    /// A new image `tag` (`umoci new`), one layer per entry of `layer_sizes` (`umoci insert` of a
    /// file of that many random bytes: every layer differs from every other), a config for
    /// linux/`arch` (`umoci config`). Returns the manifest digest.
    pub fn add_image(&self, tag: &str, layer_sizes: &[usize], arch: &str) -> String {
        let image = self.image(tag);
        umoci(&["new", "--image", &image]);
        for (i, size) in layer_sizes.iter().enumerate() {
            let file = self.scratch.join(&format!("{tag}-{i}.bin"));
            std::fs::write(&file, super::random_bytes(*size)).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            umoci(&["insert", "--image", &image, &file.display().to_string(), &format!("/data/layer-{i}.bin")]);
        }
        umoci(&[
            "config",
            "--image",
            &image,
            "--os",
            "linux",
            "--architecture",
            arch,
            "--config.cmd",
            "/data/layer-0.bin",
            "--config.label",
            &format!("org.example.tag={tag}"),
        ]);
        // Drop the intermediate manifests and configs umoci left behind.
        umoci(&["gc", "--layout", &self.dir.display().to_string()]);
        self.digest(tag)
    }

    /// An OCI image index `tag` over the images `members` (their tags in this layout), each with
    /// its platform; written as a blob and tagged in `index.json`. Returns the index digest.
    pub fn add_index(&self, tag: &str, members: &[&str]) -> String {
        let manifests: Vec<Value> = members
            .iter()
            .map(|m| {
                let d = self.descriptor(m);
                let config = self.config(m);
                json!({
                    "mediaType": d["mediaType"],
                    "digest": d["digest"],
                    "size": d["size"],
                    "platform": {"architecture": config["architecture"], "os": config["os"]},
                })
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        let bytes = serde_json::to_vec(&index).unwrap_or_default();
        let digest = sha256_bytes(&bytes);
        std::fs::write(self.blob_path(&digest), &bytes).unwrap_or_else(|e| panic!("writing index blob: {e}"));
        let mut top = self.index_json();
        if let Some(list) = top["manifests"].as_array_mut() {
            list.push(json!({
                "mediaType": OCI_INDEX,
                "digest": digest,
                "size": bytes.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }));
        }
        std::fs::write(self.dir.join("index.json"), serde_json::to_vec(&top).unwrap_or_default())
            .unwrap_or_else(|e| panic!("writing index.json: {e}"));
        digest
    }

    pub fn index_json(&self) -> Value {
        let path = self.dir.join("index.json");
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The descriptor in `index.json` tagged `tag`.
    pub fn descriptor(&self, tag: &str) -> Value {
        let index = self.index_json();
        index["manifests"]
            .as_array()
            .and_then(|l| l.iter().find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag))
            .cloned()
            .unwrap_or_else(|| panic!("no tag {tag} in {}/index.json: {index}", self.dir.display()))
    }

    /// The digest tagged `tag`.
    pub fn digest(&self, tag: &str) -> String {
        self.descriptor(tag)["digest"].as_str().unwrap_or_default().to_string()
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_file()
    }

    pub fn blob(&self, digest: &str) -> Vec<u8> {
        let path = self.blob_path(digest);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn blob_json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.blob(digest)).unwrap_or_else(|e| panic!("blob {digest}: {e}"))
    }

    /// The image manifest tagged `tag`.
    pub fn manifest(&self, tag: &str) -> Value {
        self.blob_json(&self.digest(tag))
    }

    /// The image config of the image tagged `tag`.
    pub fn config(&self, tag: &str) -> Value {
        let m = self.manifest(tag);
        self.blob_json(m["config"]["digest"].as_str().unwrap_or_default())
    }

    /// The layer digests of the image tagged `tag`, in order.
    pub fn layers(&self, tag: &str) -> Vec<String> {
        layer_digests(&self.manifest(tag))
    }
}

/// The layer digests of an image manifest (OCI or Docker schema 2).
pub fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .map(|l| l.iter().filter_map(|d| d["digest"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}
