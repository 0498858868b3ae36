//! The ECR API driven by the real AWS CLI (`aws ecr …`) against the registry on loopback:
//! repositories, tags, policies, images, the layer-upload API, presigned layer URLs, and the
//! authorization of each call — with the user guide's tag-based policy examples.
//!
//! The AWS CLI must be installed (`apt-get install awscli` or `pip install awscli`); the tests fail
//! when it is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use warden_registry::{Config, Registry};

const ACCOUNT: &str = "111122223333";

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../policies/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn identities() -> String {
    let key = |user: &str| json!([{"id": format!("AKIA{:0<16}", user.to_uppercase().replace('-', "")), "secret": format!("{user}-secret-access-key")}]);
    json!({
        "account": ACCOUNT,
        "policies": {
            "CreateOnlyDev": {"document": serde_json::from_str::<Value>(&example("identity-tag-create-only-environment-dev.json")).unwrap()},
            "DenyProd": {"document": serde_json::from_str::<Value>(&example("identity-tag-deny-environment-prod.json")).unwrap()}
        },
        "users": {
            "admin": {"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"], "access_keys": key("admin")},
            "reader": {"attached_policies": ["AmazonEC2ContainerRegistryReadOnly"], "access_keys": key("reader")},
            "power": {"attached_policies": ["AmazonEC2ContainerRegistryPowerUser"], "access_keys": key("power")},
            "creator": {"attached_policies": ["CreateOnlyDev"], "access_keys": key("creator")},
            "devonly": {"attached_policies": ["DenyProd"], "access_keys": key("devonly")}
        }
    })
    .to_string()
}

struct Server {
    url: String,
    host: String,
    registry: Arc<Registry>,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start(name: &str) -> Server {
    start_with(name, warden_registry::Limits::default()).await
}

async fn start_with(name: &str, limits: warden_registry::Limits) -> Server {
    let dir = std::env::temp_dir().join(format!("warden-ecr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies/identities")).unwrap();
    std::fs::write(dir.join("policies/identities/test.json"), identities()).unwrap();
    let config = Config {
        data_dir: dir.join("data"),
        policies_dir: dir.join("policies"),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        limits,
        storage: common::storage(name),
        throttle: warden_registry::ThrottleConfig::default(),
        trail: Some(warden_registry::trail::TrailConfig::new(dir.join("trail"), ACCOUNT, "us-east-1")),
    };
    let registry = Arc::new(Registry::open(config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let r = Arc::clone(&registry);
    tokio::spawn(async move { warden_registry::serve(r, listener).await.unwrap() });
    Server { url: format!("http://{host}"), host, registry, dir }
}

/// What one `aws` invocation returned.
#[derive(Debug)]
struct Aws {
    ok: bool,
    out: Value,
    /// The exception name the CLI printed, e.g. `RepositoryNotFoundException`.
    error: String,
    stderr: String,
}

impl Server {
    /// Runs `aws ecr <args>` as `user`, with no configuration but the user's keys.
    async fn aws(&self, user: &str, args: &[&str]) -> Aws {
        let mut cmd = Command::new("aws");
        cmd.args(["ecr", "--endpoint-url", &self.url, "--region", "us-east-1", "--output", "json"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("AWS_ACCESS_KEY_ID", format!("AKIA{:0<16}", user.to_uppercase().replace('-', "")))
            .env("AWS_SECRET_ACCESS_KEY", format!("{user}-secret-access-key"))
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_PAGER", "")
            .env("AWS_MAX_ATTEMPTS", "1");
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .expect("the AWS CLI must be installed: apt-get install awscli (or pip install awscli)");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let error = stderr
            .split_once("An error occurred (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(code, _)| code.to_owned())
            .unwrap_or_default();
        let out_json = if stdout.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&stdout).unwrap_or(Value::String(stdout))
        };
        Aws { ok: out.status.success(), out: out_json, error, stderr }
    }

    async fn ok(&self, user: &str, args: &[&str]) -> Value {
        let r = self.aws(user, args).await;
        assert!(r.ok, "aws ecr {args:?} as {user} failed: {}", r.stderr);
        r.out
    }

    /// Runs a call that must fail with `code`; returns the CLI's error text.
    async fn fails(&self, user: &str, args: &[&str], code: &str) -> String {
        let r = self.aws(user, args).await;
        assert!(!r.ok, "aws ecr {args:?} as {user} should fail with {code}, got {}", r.out);
        assert_eq!(r.error, code, "aws ecr {args:?}: {}", r.stderr);
        r.stderr
    }

    /// Writes a file under the test directory (for `fileb://` and `file://` arguments).
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    /// Pushes a blob through the ECR layer-upload API in parts of `part` bytes; returns its digest.
    async fn upload_layer(&self, user: &str, repo: &str, bytes: &[u8], part: usize) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        let started = self.ok(user, &["initiate-layer-upload", "--repository-name", repo]).await;
        let id = started["uploadId"].as_str().unwrap().to_owned();
        assert!(started["partSize"].as_u64().unwrap() > 0);
        let mut first = 0usize;
        for (i, chunk) in bytes.chunks(part).enumerate() {
            let file = self.file(&format!("part-{i}"), chunk);
            let last = first + chunk.len() - 1;
            let r = self
                .ok(
                    user,
                    &[
                        "upload-layer-part",
                        "--repository-name",
                        repo,
                        "--upload-id",
                        &id,
                        "--part-first-byte",
                        &first.to_string(),
                        "--part-last-byte",
                        &last.to_string(),
                        "--layer-part-blob",
                        &format!("fileb://{file}"),
                    ],
                )
                .await;
            assert_eq!(r["lastByteReceived"].as_u64().unwrap() as usize, last);
            first = last + 1;
        }
        let done = self
            .ok(
                user,
                &["complete-layer-upload", "--repository-name", repo, "--upload-id", &id, "--layer-digests", &digest],
            )
            .await;
        assert_eq!(done["layerDigest"], digest.as_str());
        digest
    }

    /// An OCI image manifest with the given config and layers.
    fn manifest(config: (&str, usize), layers: &[(&str, usize)]) -> String {
        json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0, "size": config.1},
            "layers": layers.iter().map(|(d, s)| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})).collect::<Vec<_>>()
        })
        .to_string()
    }
}

/// Create, describe, tag, protect and delete repositories; every error is ECR's exception.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_through_the_aws_cli() {
    let s = start("repos").await;
    let created = s
        .ok(
            "admin",
            &[
                "create-repository",
                "--repository-name",
                "team/web",
                "--image-tag-mutability",
                "IMMUTABLE",
                "--tags",
                "Key=environment,Value=prod",
                "Key=team,Value=web",
            ],
        )
        .await;
    let repo = &created["repository"];
    assert_eq!(repo["repositoryArn"], format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/web"));
    assert_eq!(repo["registryId"], ACCOUNT);
    assert_eq!(repo["repositoryUri"], format!("{}/team/web", s.host));
    assert_eq!(repo["imageTagMutability"], "IMMUTABLE");
    assert!(repo["createdAt"].is_number(), "{repo}");

    let message = s
        .fails("admin", &["create-repository", "--repository-name", "team/web"], "RepositoryAlreadyExistsException")
        .await;
    assert!(
        message.contains(&format!(
            "The repository with name 'team/web' already exists in the registry with id '{ACCOUNT}'"
        )),
        "{message}"
    );
    s.fails("admin", &["create-repository", "--repository-name", "Team/Web"], "InvalidParameterException").await;
    s.fails(
        "admin",
        &["create-repository", "--repository-name", "xy", "--tags", "Key=aws:owner,Value=me"],
        "InvalidTagParameterException",
    )
    .await;

    // imageScanningConfiguration is stored and echoed (no scanner runs).
    let api = s
        .ok(
            "admin",
            &[
                "create-repository",
                "--repository-name",
                "team/api",
                "--image-scanning-configuration",
                "scanOnPush=true",
            ],
        )
        .await;
    assert_eq!(api["repository"]["imageScanningConfiguration"], json!({"scanOnPush": true}));
    assert_eq!(api["repository"]["imageTagMutability"], "MUTABLE", "the default");
    s.ok(
        "admin",
        &[
            "put-image-scanning-configuration",
            "--repository-name",
            "team/api",
            "--image-scanning-configuration",
            "scanOnPush=false",
        ],
    )
    .await;
    let api = s.ok("admin", &["describe-repositories", "--repository-names", "team/api"]).await;
    assert_eq!(api["repositories"][0]["imageScanningConfiguration"], json!({"scanOnPush": false}));
    // Tags are checked before anything is created: 51 tags create nothing.
    let many: Vec<String> = (0..51).map(|i| format!("Key=k{i},Value=v")).collect();
    let mut args = vec!["create-repository", "--repository-name", "team/many", "--tags"];
    args.extend(many.iter().map(String::as_str));
    s.fails("admin", &args, "TooManyTagsException").await;
    s.fails("admin", &["describe-repositories", "--repository-names", "team/many"], "RepositoryNotFoundException")
        .await;
    let all = s.ok("admin", &["describe-repositories"]).await;
    let names: Vec<&str> =
        all["repositories"].as_array().unwrap().iter().map(|r| r["repositoryName"].as_str().unwrap()).collect();
    assert_eq!(names, ["team/api", "team/web"]);
    // The CLI follows nextToken across pages of one.
    let paged = s.ok("admin", &["describe-repositories", "--page-size", "1"]).await;
    assert_eq!(paged["repositories"].as_array().unwrap().len(), 2);
    let message =
        s.fails("admin", &["describe-repositories", "--repository-names", "nope"], "RepositoryNotFoundException").await;
    assert!(
        message
            .contains(&format!("The repository with name 'nope' does not exist in the registry with id '{ACCOUNT}'")),
        "{message}"
    );

    // Resource tags: list, add, remove.
    let arn = format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/web");
    let tags = s.ok("admin", &["list-tags-for-resource", "--resource-arn", &arn]).await;
    assert_eq!(tags["tags"], json!([{"Key": "environment", "Value": "prod"}, {"Key": "team", "Value": "web"}]));
    s.ok("admin", &["tag-resource", "--resource-arn", &arn, "--tags", "Key=team,Value=frontend", "Key=cost,Value=7"])
        .await;
    s.ok("admin", &["untag-resource", "--resource-arn", &arn, "--tag-keys", "cost"]).await;
    let tags = s.ok("admin", &["list-tags-for-resource", "--resource-arn", &arn]).await;
    assert_eq!(tags["tags"], json!([{"Key": "environment", "Value": "prod"}, {"Key": "team", "Value": "frontend"}]));
    s.fails(
        "admin",
        &["list-tags-for-resource", "--resource-arn", &arn.replace("team/web", "gone")],
        "RepositoryNotFoundException",
    )
    .await;

    // Tag mutability.
    let m = s
        .ok(
            "admin",
            &["put-image-tag-mutability", "--repository-name", "team/web", "--image-tag-mutability", "MUTABLE"],
        )
        .await;
    assert_eq!(m["imageTagMutability"], "MUTABLE");
    s.fails(
        "admin",
        &["put-image-tag-mutability", "--repository-name", "team/web", "--image-tag-mutability", "SOMETIMES"],
        "InvalidParameterException",
    )
    .await;

    // Repository policies: set (validated), get the same text back, delete.
    let policy = example("repository-allow-all-accounts-pull.json");
    let policy_file = s.file("policy.json", policy.as_bytes());
    let set = s
        .ok(
            "admin",
            &[
                "set-repository-policy",
                "--repository-name",
                "team/web",
                "--policy-text",
                &format!("file://{policy_file}"),
            ],
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(set["policyText"].as_str().unwrap()).unwrap(),
        serde_json::from_str::<Value>(&policy).unwrap()
    );
    let got = s.ok("admin", &["get-repository-policy", "--repository-name", "team/web"]).await;
    assert_eq!(got["policyText"], set["policyText"]);
    assert_eq!(got["repositoryName"], "team/web");
    let bad = s.file("bad.json", br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*"}]}"#);
    let message = s
        .fails(
            "admin",
            &["set-repository-policy", "--repository-name", "team/web", "--policy-text", &format!("file://{bad}")],
            "InvalidParameterException",
        )
        .await;
    assert!(message.contains("Invalid repository policy provided"), "{message}");
    // Every repository-policy example of the guide is accepted and read back unchanged.
    let mut examples: Vec<String> =
        std::fs::read_dir(format!("{}/../../policies/examples", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("repository-"))
            .collect();
    // The IP-range example denies everything from loopback, its own removal included: it goes last.
    examples.sort_by_key(|n| (n.contains("outside-ip-range"), n.clone()));
    assert!(examples.len() >= 7, "{examples:?}");
    for name in examples {
        let file = s.file(&name, example(&name).as_bytes());
        s.ok(
            "admin",
            &[
                "set-repository-policy",
                "--repository-name",
                "team/web",
                "--policy-text",
                &format!("file://{file}"),
                "--force",
            ],
        )
        .await;
        // (Read back from storage: some examples deny GetRepositoryPolicy to callers off their IP range.)
        let stored = s.registry.repository("team/web").await.unwrap().policy.unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&stored).unwrap(),
            serde_json::from_str::<Value>(&example(&name)).unwrap(),
            "{name}"
        );
    }
    s.fails("admin", &["delete-repository-policy", "--repository-name", "team/web"], "AccessDeniedException").await;
    s.registry.set_repository_policy("team/web", None).await.unwrap();
    // A policy that would lock the caller out of the next SetRepositoryPolicy needs --force.
    let lockout = s.file(
        "lockout.json",
        br#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:SetRepositoryPolicy"}]}"#,
    );
    let message = s
        .fails(
            "admin",
            &["set-repository-policy", "--repository-name", "team/web", "--policy-text", &format!("file://{lockout}")],
            "InvalidParameterException",
        )
        .await;
    assert!(message.contains("would prevent you from setting another policy"), "{message}");
    s.ok(
        "admin",
        &[
            "set-repository-policy",
            "--repository-name",
            "team/web",
            "--policy-text",
            &format!("file://{lockout}"),
            "--force",
        ],
    )
    .await;
    s.fails(
        "admin",
        &[
            "set-repository-policy",
            "--repository-name",
            "team/web",
            "--policy-text",
            &format!("file://{policy_file}"),
            "--force",
        ],
        "AccessDeniedException",
    )
    .await;
    s.ok("admin", &["delete-repository-policy", "--repository-name", "team/web"]).await;
    s.fails("admin", &["get-repository-policy", "--repository-name", "team/web"], "RepositoryPolicyNotFoundException")
        .await;

    // A repository with images needs --force to delete.
    let config = s.upload_layer("admin", "team/api", b"{}", 1024).await;
    let manifest = Server::manifest((&config, 2), &[]);
    s.ok("admin", &["put-image", "--repository-name", "team/api", "--image-tag", "v1", "--image-manifest", &manifest])
        .await;
    let message =
        s.fails("admin", &["delete-repository", "--repository-name", "team/api"], "RepositoryNotEmptyException").await;
    assert!(message.contains("team/api"), "{message}");
    let deleted = s.ok("admin", &["delete-repository", "--repository-name", "team/api", "--force"]).await;
    assert_eq!(deleted["repository"]["repositoryName"], "team/api");
    s.fails("admin", &["describe-repositories", "--repository-names", "team/api"], "RepositoryNotFoundException").await;
    s.fails("admin", &["delete-repository", "--repository-name", "team/api"], "RepositoryNotFoundException").await;
}

/// Push through the layer-upload API, then read the image back every way ECR offers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_through_the_aws_cli() {
    let s = start("images").await;
    s.ok("admin", &["create-repository", "--repository-name", "app", "--image-tag-mutability", "IMMUTABLE"]).await;

    // A 300 KiB layer in one part (the last part may be small).
    let layer: Vec<u8> = (0..300 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let layer_digest = s.upload_layer("admin", "app", &layer, 1 << 20).await;
    // Parts before the last are at least 5 MiB: a part after a 128 KiB part shows the first was too small.
    let small = s.ok("admin", &["initiate-layer-upload", "--repository-name", "app"]).await;
    let sid = small["uploadId"].as_str().unwrap();
    let chunk = s.file("chunk", &layer[..128 * 1024]);
    let part = |first: usize| {
        ["upload-layer-part", "--repository-name", "app", "--upload-id", sid]
            .into_iter()
            .map(str::to_owned)
            .chain([
                "--part-first-byte".into(),
                first.to_string(),
                "--part-last-byte".into(),
                (first + 128 * 1024 - 1).to_string(),
            ])
            .chain(["--layer-part-blob".into(), format!("fileb://{chunk}")])
            .collect::<Vec<String>>()
    };
    let first = part(0);
    s.ok("admin", &first.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let second = part(128 * 1024);
    let message =
        s.fails("admin", &second.iter().map(String::as_str).collect::<Vec<_>>(), "LayerPartTooSmallException").await;
    assert!(message.contains("smaller than the minimum of 5242880 bytes"), "{message}");
    // Parts as large as the advertised partSize (10 MiB, 13.3 MiB once base64-encoded) pass.
    let big: Vec<u8> = (0..warden_registry::ecr::PART_SIZE as usize + 1).map(|i| (i % 251) as u8).collect();
    let big_digest = s.upload_layer("admin", "app", &big, warden_registry::ecr::PART_SIZE as usize).await;
    assert_eq!(big_digest, format!("sha256:{}", hex::encode(Sha256::digest(&big))));
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = s.upload_layer("admin", "app", config, 1 << 20).await;

    // Uploading a layer that exists again is refused, as ECR does.
    let again = s.ok("admin", &["initiate-layer-upload", "--repository-name", "app"]).await;
    let id = again["uploadId"].as_str().unwrap();
    let part = s.file("cfg", config);
    s.ok(
        "admin",
        &[
            "upload-layer-part",
            "--repository-name",
            "app",
            "--upload-id",
            id,
            "--part-first-byte",
            "0",
            "--part-last-byte",
            &(config.len() - 1).to_string(),
            "--layer-part-blob",
            &format!("fileb://{part}"),
        ],
    )
    .await;
    s.fails(
        "admin",
        &["complete-layer-upload", "--repository-name", "app", "--upload-id", id, "--layer-digests", &config_digest],
        "LayerAlreadyExistsException",
    )
    .await;
    // A part that does not continue the upload is refused; a wrong digest too; unknown ids are not found.
    let fresh = s.ok("admin", &["initiate-layer-upload", "--repository-name", "app"]).await;
    let fid = fresh["uploadId"].as_str().unwrap();
    s.fails(
        "admin",
        &[
            "upload-layer-part",
            "--repository-name",
            "app",
            "--upload-id",
            fid,
            "--part-first-byte",
            "5",
            "--part-last-byte",
            &(config.len() + 4).to_string(),
            "--layer-part-blob",
            &format!("fileb://{part}"),
        ],
        "InvalidLayerPartException",
    )
    .await;
    s.ok(
        "admin",
        &[
            "upload-layer-part",
            "--repository-name",
            "app",
            "--upload-id",
            fid,
            "--part-first-byte",
            "0",
            "--part-last-byte",
            &(config.len() - 1).to_string(),
            "--layer-part-blob",
            &format!("fileb://{part}"),
        ],
    )
    .await;
    let wrong = format!("sha256:{}", "0".repeat(64));
    s.fails(
        "admin",
        &["complete-layer-upload", "--repository-name", "app", "--upload-id", fid, "--layer-digests", &wrong],
        "InvalidLayerException",
    )
    .await;
    s.fails(
        "admin",
        &[
            "upload-layer-part",
            "--repository-name",
            "app",
            "--upload-id",
            "not-an-upload",
            "--part-first-byte",
            "0",
            "--part-last-byte",
            "1",
            "--layer-part-blob",
            &format!("fileb://{part}"),
        ],
        "UploadNotFoundException",
    )
    .await;

    let check = s
        .ok(
            "admin",
            &["batch-check-layer-availability", "--repository-name", "app", "--layer-digests", &layer_digest, &wrong],
        )
        .await;
    assert_eq!(check["layers"][0]["layerAvailability"], "AVAILABLE");
    assert_eq!(check["layers"][0]["layerSize"], layer.len());
    assert_eq!(check["failures"][0]["failureCode"], "MissingLayerDigest");

    // PutImage: a manifest whose layers are missing is refused; a good one is stored.
    let missing = Server::manifest((&config_digest, config.len()), &[(&wrong, 1)]);
    s.fails(
        "admin",
        &["put-image", "--repository-name", "app", "--image-tag", "v1", "--image-manifest", &missing],
        "LayersNotFoundException",
    )
    .await;
    let manifest = Server::manifest((&config_digest, config.len()), &[(&layer_digest, layer.len())]);
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(manifest.as_bytes())));
    let put = s
        .ok("admin", &["put-image", "--repository-name", "app", "--image-tag", "v1", "--image-manifest", &manifest])
        .await;
    assert_eq!(put["image"]["imageId"], json!({"imageDigest": digest, "imageTag": "v1"}));
    assert_eq!(put["image"]["imageManifestMediaType"], "application/vnd.oci.image.manifest.v1+json");
    // The same image under the same tag: ImageAlreadyExistsException. Retagging: a second tag.
    s.fails(
        "admin",
        &["put-image", "--repository-name", "app", "--image-tag", "v1", "--image-manifest", &manifest],
        "ImageAlreadyExistsException",
    )
    .await;
    s.ok("admin", &["put-image", "--repository-name", "app", "--image-tag", "latest", "--image-manifest", &manifest])
        .await;
    // A stated digest must be the manifest's.
    s.fails(
        "admin",
        &[
            "put-image",
            "--repository-name",
            "app",
            "--image-tag",
            "x",
            "--image-manifest",
            &manifest,
            "--image-digest",
            &wrong,
        ],
        "ImageDigestDoesNotMatchException",
    )
    .await;
    // IMMUTABLE: v1 cannot move to another image.
    let other = Server::manifest((&config_digest, config.len()), &[]);
    s.fails(
        "admin",
        &["put-image", "--repository-name", "app", "--image-tag", "v1", "--image-manifest", &other],
        "ImageTagAlreadyExistsException",
    )
    .await;

    // The retag recipe of the guide: batch-get-image, then put-image of that manifest with a new tag.
    let fetched = s.ok("admin", &["batch-get-image", "--repository-name", "app", "--image-ids", "imageTag=v1"]).await;
    let fetched = fetched["images"][0]["imageManifest"].as_str().unwrap().to_owned();
    let retag = s
        .ok("admin", &["put-image", "--repository-name", "app", "--image-tag", "stable", "--image-manifest", &fetched])
        .await;
    assert_eq!(retag["image"]["imageId"]["imageDigest"], digest.as_str());
    let del =
        s.ok("admin", &["batch-delete-image", "--repository-name", "app", "--image-ids", "imageTag=stable"]).await;
    assert_eq!(del["imageIds"], json!([{"imageDigest": digest, "imageTag": "stable"}]));

    let listed = s.ok("admin", &["list-images", "--repository-name", "app"]).await;
    let mut ids: Vec<String> = listed["imageIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}@{}", i["imageTag"].as_str().unwrap_or(""), i["imageDigest"].as_str().unwrap()))
        .collect();
    ids.sort();
    assert_eq!(ids, [format!("latest@{digest}"), format!("v1@{digest}")]);

    let described = s.ok("admin", &["describe-images", "--repository-name", "app", "--image-ids", "imageTag=v1"]).await;
    let d = &described["imageDetails"][0];
    assert_eq!(d["imageDigest"], digest.as_str());
    let mut tags: Vec<&str> = d["imageTags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    tags.sort_unstable();
    assert_eq!(tags, ["latest", "v1"]);
    // ECR reports the compressed size of the layers (the config and manifest are not counted).
    assert_eq!(d["imageSizeInBytes"], layer.len(), "{d}");
    assert_eq!(d["imageManifestMediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert!(d["imagePushedAt"].is_number(), "{d}");
    s.fails(
        "admin",
        &["describe-images", "--repository-name", "app", "--image-ids", "imageTag=nope"],
        "ImageNotFoundException",
    )
    .await;

    let got = s
        .ok(
            "admin",
            &["batch-get-image", "--repository-name", "app", "--image-ids", "imageTag=latest", "imageTag=nope"],
        )
        .await;
    assert_eq!(got["images"][0]["imageManifest"], manifest.as_str());
    assert_eq!(got["failures"][0]["failureCode"], "ImageNotFound");

    // GetDownloadUrlForLayer: a presigned URL any HTTP client can fetch; tampering is refused.
    let url = s
        .ok("admin", &["get-download-url-for-layer", "--repository-name", "app", "--layer-digest", &layer_digest])
        .await;
    let url = url["downloadUrl"].as_str().unwrap().to_owned();
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), layer.as_slice());
    let tampered = url.replace(&layer_digest, &config_digest);
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), StatusCode::FORBIDDEN);
    s.fails(
        "admin",
        &["get-download-url-for-layer", "--repository-name", "app", "--layer-digest", &wrong],
        "LayersNotFoundException",
    )
    .await;

    // The image is the same image over the registry API.
    let password = s.ok("admin", &["get-login-password"]).await;
    let password = password.as_str().unwrap().trim().to_owned();
    let over_v2 = reqwest::Client::new()
        .get(format!("{}/v2/app/manifests/v1", s.url))
        .basic_auth("AWS", Some(&password))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(over_v2.status(), StatusCode::OK);
    assert_eq!(over_v2.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(over_v2.text().await.unwrap(), manifest);

    // BatchDeleteImage by tag removes the tag; the last tag takes the image with it.
    let del = s
        .ok(
            "admin",
            &["batch-delete-image", "--repository-name", "app", "--image-ids", "imageTag=latest", "imageTag=nope"],
        )
        .await;
    assert_eq!(del["imageIds"], json!([{"imageDigest": digest, "imageTag": "latest"}]));
    assert_eq!(del["failures"][0]["failureCode"], "ImageNotFound");
    let listed = s.ok("admin", &["list-images", "--repository-name", "app"]).await;
    assert_eq!(listed["imageIds"], json!([{"imageDigest": digest, "imageTag": "v1"}]));
    s.ok("admin", &["batch-delete-image", "--repository-name", "app", "--image-ids", "imageTag=v1"]).await;
    let listed = s.ok("admin", &["list-images", "--repository-name", "app"]).await;
    assert_eq!(listed["imageIds"], json!([]));
    // Deleting by digest removes the image with all its tags.
    s.upload_layer("admin", "app", config, 1 << 20).await;
    s.ok("admin", &["put-image", "--repository-name", "app", "--image-tag", "a", "--image-manifest", &other]).await;
    s.ok("admin", &["put-image", "--repository-name", "app", "--image-tag", "b", "--image-manifest", &other]).await;
    let other_digest = format!("sha256:{}", hex::encode(Sha256::digest(other.as_bytes())));
    let del = s
        .ok(
            "admin",
            &["batch-delete-image", "--repository-name", "app", "--image-ids", &format!("imageDigest={other_digest}")],
        )
        .await;
    assert_eq!(del["imageIds"], json!([{"imageDigest": other_digest}]));
    assert_eq!(s.ok("admin", &["list-images", "--repository-name", "app"]).await["imageIds"], json!([]));
    let untagged = s.ok("admin", &["list-images", "--repository-name", "app", "--filter", "tagStatus=UNTAGGED"]).await;
    assert_eq!(untagged["imageIds"], json!([]));
    // The image's layers went with it.
    let check = s
        .ok("admin", &["batch-check-layer-availability", "--repository-name", "app", "--layer-digests", &layer_digest])
        .await;
    assert_eq!(check["failures"][0]["failureCode"], "MissingLayerDigest");
}

/// Each call is authorized as ECR authorizes it, with AWS's AccessDeniedException message, and
/// the user guide's tag-based examples ("create only with environment=dev", "deny prod") hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_authorized_as_ecr_authorizes_them() {
    let s = start("authz").await;
    s.ok("admin", &["create-repository", "--repository-name", "prod/app", "--tags", "Key=environment,Value=prod"])
        .await;
    s.ok("admin", &["create-repository", "--repository-name", "dev/app", "--tags", "Key=environment,Value=dev"]).await;

    // ReadOnly may describe and get a token, not create.
    s.ok("reader", &["describe-repositories"]).await;
    s.ok("reader", &["get-login-password"]).await;
    let message = s.fails("reader", &["create-repository", "--repository-name", "mine"], "AccessDeniedException").await;
    assert!(
        message.contains(&format!("User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: ecr:CreateRepository on resource: arn:aws:ecr:us-east-1:{ACCOUNT}:repository/mine because no identity-based policy allows the ecr:CreateRepository action")),
        "{message}"
    );
    s.fails("reader", &["delete-repository", "--repository-name", "dev/app", "--force"], "AccessDeniedException").await;

    // PowerUser pushes and pulls, but may not create or delete repositories, nor set their policies.
    s.ok("power", &["initiate-layer-upload", "--repository-name", "dev/app"]).await;
    s.ok("power", &["list-images", "--repository-name", "dev/app"]).await;
    s.fails("power", &["create-repository", "--repository-name", "power/new"], "AccessDeniedException").await;
    s.fails("power", &["delete-repository", "--repository-name", "dev/app"], "AccessDeniedException").await;
    let message = s
        .fails(
            "power",
            &[
                "set-repository-policy",
                "--repository-name",
                "dev/app",
                "--policy-text",
                &format!("file://{}", s.file("p.json", example("repository-deny-all.json").as_bytes())),
            ],
            "AccessDeniedException",
        )
        .await;
    assert!(message.contains("is not authorized to perform: ecr:SetRepositoryPolicy on resource: arn:aws:ecr:us-east-1:111122223333:repository/dev/app"), "{message}");

    // Unknown keys and bad signatures are refused before anything runs.
    let mut forged = Command::new("aws");
    forged
        .args(["ecr", "describe-repositories", "--endpoint-url", &s.url, "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "AKIAADMIN00000000000")
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1");
    let out = tokio::task::spawn_blocking(move || forged.output()).await.unwrap().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(InvalidSignatureException)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.fails("nobody", &["describe-repositories"], "UnrecognizedClientException").await;

    // "Create only with environment=dev": the tag is required, and must be dev.
    s.ok("creator", &["create-repository", "--repository-name", "new/dev", "--tags", "Key=environment,Value=dev"])
        .await;
    s.fails("creator", &["create-repository", "--repository-name", "new/untagged"], "AccessDeniedException").await;
    s.fails(
        "creator",
        &["create-repository", "--repository-name", "new/prod", "--tags", "Key=environment,Value=prod"],
        "AccessDeniedException",
    )
    .await;
    assert!(s.registry.repository("new/dev").await.is_ok());
    assert!(s.registry.repository("new/prod").await.is_err(), "a denied call changes nothing");

    // "Deny prod": everything on dev, nothing on prod — the repository's own tags decide.
    s.ok("devonly", &["list-images", "--repository-name", "dev/app"]).await;
    s.ok("devonly", &["initiate-layer-upload", "--repository-name", "dev/app"]).await;
    let message = s.fails("devonly", &["list-images", "--repository-name", "prod/app"], "AccessDeniedException").await;
    assert!(message.contains("with an explicit deny in an identity-based policy"), "{message}");
    s.fails("devonly", &["initiate-layer-upload", "--repository-name", "prod/app"], "AccessDeniedException").await;
    // Retagging dev as prod is denied only once it is prod: first the tag lands, then the deny applies.
    let dev_arn = format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/dev/app");
    s.ok("devonly", &["tag-resource", "--resource-arn", &dev_arn, "--tags", "Key=environment,Value=prod"]).await;
    s.fails("devonly", &["list-images", "--repository-name", "dev/app"], "AccessDeniedException").await;

    // A repository policy can grant what identity policies do not, and deny what they allow.
    s.ok(
        "admin",
        &[
            "set-repository-policy",
            "--repository-name",
            "prod/app",
            "--policy-text",
            &format!("file://{}", s.file("deny.json", example("repository-deny-all.json").as_bytes())),
        ],
    )
    .await;
    let message = s
        .fails(
            "admin",
            &["batch-get-image", "--repository-name", "prod/app", "--image-ids", "imageTag=v1"],
            "AccessDeniedException",
        )
        .await;
    assert!(message.contains("with an explicit deny in a resource-based policy"), "{message}");
}

/// The same walkthrough through boto3, the AWS SDK for Python: paginators, timestamps, blobs,
/// and error codes as the SDK parses them (`pip install boto3`; the test fails without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_walkthrough() {
    let s = start("boto3").await;
    let script = format!("{}/tests/boto3_walkthrough.py", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("python3");
    cmd.args([script.as_str(), &s.url, "AKIAADMIN00000000000", "admin-secret-access-key", &s.host])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("python3 must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("No module named 'boto3'"), "boto3 must be installed: pip install boto3");
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "boto3 walkthrough: ok");
}

impl Server {
    /// Pushes a one-layer image over the registry API (untagged when `tag` is None); its digest.
    async fn push(&self, password: &str, repo: &str, tag: Option<&str>, seed: &str) -> String {
        let client = reqwest::Client::new();
        let mut descriptors = Vec::new();
        for blob in [format!("{{\"seed\":\"{seed}\"}}"), format!("layer {seed}")] {
            let digest = format!("sha256:{}", hex::encode(Sha256::digest(blob.as_bytes())));
            let r = client
                .post(format!("{}/v2/{repo}/blobs/uploads/?digest={digest}", self.url))
                .basic_auth("AWS", Some(password))
                .body(blob.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            descriptors.push((digest, blob.len()));
        }
        let manifest =
            Server::manifest((&descriptors[0].0, descriptors[0].1), &[(&descriptors[1].0, descriptors[1].1)]);
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(manifest.as_bytes())));
        let r = client
            .put(format!("{}/v2/{repo}/manifests/{}", self.url, tag.unwrap_or(&digest)))
            .basic_auth("AWS", Some(password))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        digest
    }

    async fn image_tags(&self, repo: &str) -> Vec<String> {
        let listed = self.ok("admin", &["list-images", "--repository-name", repo]).await;
        let mut ids: Vec<String> = listed["imageIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["imageTag"].as_str().unwrap_or("<untagged>").to_owned())
            .collect();
        ids.sort();
        ids
    }
}

/// Lifecycle policies through the AWS CLI: put (validated), preview, scheduled expiry with the
/// rule recorded, delete; and the scheduler of `warden serve` applying them on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_policies_through_the_aws_cli() {
    let s = start("lifecycle").await;
    s.ok("admin", &["create-repository", "--repository-name", "lc"]).await;
    let message = s
        .fails("admin", &["get-lifecycle-policy", "--repository-name", "lc"], "LifecyclePolicyNotFoundException")
        .await;
    assert!(
        message.contains(&format!(
            "Lifecycle policy does not exist for the repository with name 'lc' in the registry with id '{ACCOUNT}'"
        )),
        "{message}"
    );
    s.fails(
        "admin",
        &["start-lifecycle-policy-preview", "--repository-name", "lc"],
        "LifecyclePolicyNotFoundException",
    )
    .await;
    s.fails(
        "admin",
        &["get-lifecycle-policy-preview", "--repository-name", "lc"],
        "LifecyclePolicyPreviewNotFoundException",
    )
    .await;

    // ECR's validation: a tagged rule needs a tagPrefixList (or tagPatternList).
    let bad = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
    let message = s
        .fails(
            "admin",
            &["put-lifecycle-policy", "--repository-name", "lc", "--lifecycle-policy-text", bad],
            "InvalidParameterException",
        )
        .await;
    assert!(message.contains("tagPrefixList"), "{message}");

    // Four images, a second apart: prod-1, prod-2, one untagged, prod-3.
    let password = s.ok("admin", &["get-login-password"]).await.as_str().unwrap().trim().to_owned();
    for (tag, seed) in [(Some("prod-1"), "1"), (Some("prod-2"), "2"), (None, "u"), (Some("prod-3"), "3")] {
        s.push(&password, "lc", tag, seed).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }

    // Keep one prod image; expire untagged images after 14 days.
    let policy = r#"{"rules":[
        {"rulePriority":1,"description":"one prod","selection":{"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
        {"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
    let put =
        s.ok("admin", &["put-lifecycle-policy", "--repository-name", "lc", "--lifecycle-policy-text", policy]).await;
    assert_eq!(put["lifecyclePolicyText"], policy);
    assert_eq!(
        s.ok("admin", &["get-lifecycle-policy", "--repository-name", "lc"]).await["lifecyclePolicyText"],
        policy
    );
    s.ok("reader", &["get-lifecycle-policy", "--repository-name", "lc"]).await;
    s.fails(
        "reader",
        &["put-lifecycle-policy", "--repository-name", "lc", "--lifecycle-policy-text", policy],
        "AccessDeniedException",
    )
    .await;

    // The preview names what would go and why, and deletes nothing.
    let started = s.ok("admin", &["start-lifecycle-policy-preview", "--repository-name", "lc"]).await;
    assert_eq!(started["lifecyclePolicyText"], policy);
    let preview = s.ok("admin", &["get-lifecycle-policy-preview", "--repository-name", "lc"]).await;
    assert_eq!(preview["status"], "COMPLETE");
    assert_eq!(preview["summary"]["expiringImageTotalCount"], 2);
    let previewed: Vec<(String, i64)> = preview["previewResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["imageTags"][0].as_str().unwrap().to_owned(), r["appliedRulePriority"].as_i64().unwrap()))
        .collect();
    assert_eq!(previewed, [("prod-1".to_owned(), 1), ("prod-2".to_owned(), 1)]);
    assert_eq!(preview["previewResults"][0]["action"], json!({"type": "EXPIRE"}));
    assert_eq!(s.image_tags("lc").await, ["<untagged>", "prod-1", "prod-2", "prod-3"]);

    // Applying the policy expires exactly the previewed images, through BatchDeleteImage's path.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let expired = warden_registry::lifecycle::apply_all(&s.registry, now).await.unwrap();
    assert_eq!(expired.iter().map(|e| e.tags.join(",")).collect::<Vec<_>>(), ["prod-1", "prod-2"]);
    assert_eq!(s.image_tags("lc").await, ["<untagged>", "prod-3"]);
    let got = s.ok("admin", &["get-lifecycle-policy", "--repository-name", "lc"]).await;
    assert_eq!(got["lastEvaluatedAt"], now);
    // Fifteen days on, the untagged image goes by rule 2; a second run expires nothing more.
    let later = now + 15 * 86_400;
    let expired = warden_registry::lifecycle::apply_all(&s.registry, later).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!((expired[0].tags.len(), expired[0].rule_priority), (0, 2));
    assert!(warden_registry::lifecycle::apply_all(&s.registry, later).await.unwrap().is_empty());
    assert_eq!(s.image_tags("lc").await, ["prod-3"]);
    let log = s.registry.meta(|m| m.expiries("lc")).await.unwrap();
    assert_eq!(log.iter().map(|e| e.rule_priority).collect::<Vec<_>>(), [1, 1, 2]);
    // Each round's expiries are one CloudTrail service event, shaped as AWS's
    // PolicyExecutionEvent: the rules, and each image with the rule that expired it.
    use warden_registry::trail::lookup::{lookup, LookupAttribute, LookupQuery};
    let query = LookupQuery {
        attributes: vec![LookupAttribute::EventName("PolicyExecutionEvent".into())],
        ..LookupQuery::default()
    };
    let found = lookup(&s.dir.join("trail"), &query).unwrap();
    let mut events: Vec<Value> =
        found.events.iter().map(|e| serde_json::from_str(&e.cloud_trail_event).unwrap()).collect();
    // The two rounds may fall in one second: tell them apart by what they expired.
    events.sort_by_key(|e| {
        std::cmp::Reverse(e["serviceEventDetails"]["lifecycleEventImageActions"].as_array().unwrap().len())
    });
    assert_eq!(events.len(), 2, "{events:#?}");
    for e in &events {
        assert_eq!(e["eventType"], "AwsServiceEvent");
        assert_eq!(e["eventSource"], "ecr.amazonaws.com");
        assert_eq!(e["userIdentity"], json!({"accountId": ACCOUNT, "invokedBy": "AWS Internal"}));
        assert_eq!(e["sourceIPAddress"], "AWS Internal");
        assert_eq!(e["requestParameters"], Value::Null);
        assert_eq!(e["resources"][0]["ARN"], format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/lc"));
        assert_eq!(e["serviceEventDetails"]["repositoryName"], "lc");
        let rules = &e["serviceEventDetails"]["lifecycleEventPolicy"]["lifecycleEventRules"];
        assert_eq!(rules[0]["rulePriority"], 1);
        assert_eq!(rules[0]["lifecycleEventSelection"]["countType"], "Image count more than");
        assert_eq!(rules[0]["lifecycleEventSelection"]["tagPrefixList"], json!(["prod"]));
        assert_eq!(rules[1]["lifecycleEventSelection"]["tagStatus"], "Untagged");
    }
    let actions = |e: &Value| -> Vec<(String, i64)> {
        e["serviceEventDetails"]["lifecycleEventImageActions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let image = &a["lifecycleEventImage"];
                (
                    format!("{}:{}", image["tagStatus"].as_str().unwrap(), image["tagList"]),
                    a["rulePriority"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(actions(&events[0]), [("Tagged:[\"prod-1\"]".to_owned(), 1), ("Tagged:[\"prod-2\"]".to_owned(), 1)]);
    assert_eq!(actions(&events[1]), [("Untagged:[]".to_owned(), 2)]);
    // The expired images' blobs were reclaimed with them.
    let gone = format!("sha256:{}", hex::encode(Sha256::digest(b"layer 1")));
    let check =
        s.ok("admin", &["batch-check-layer-availability", "--repository-name", "lc", "--layer-digests", &gone]).await;
    assert_eq!(check["failures"][0]["failureCode"], "MissingLayerDigest");

    // The scheduler applies policies on its own: push two more prod images and let it run.
    s.push(&password, "lc", Some("prod-4"), "4").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    s.push(&password, "lc", Some("prod-5"), "5").await;
    let scheduler =
        warden_registry::lifecycle::spawn_scheduler(Arc::clone(&s.registry), std::time::Duration::from_millis(200));
    let mut tags = Vec::new();
    for _ in 0..50 {
        tags = s.image_tags("lc").await;
        if tags == ["prod-5"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    scheduler.abort();
    assert_eq!(tags, ["prod-5"]);

    let deleted = s.ok("admin", &["delete-lifecycle-policy", "--repository-name", "lc"]).await;
    assert_eq!(deleted["lifecyclePolicyText"], policy);
    s.fails("admin", &["get-lifecycle-policy", "--repository-name", "lc"], "LifecyclePolicyNotFoundException").await;
}

/// Upload sessions left unfinished are removed once stale; fresh ones are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_upload_sessions_are_purged() {
    let s = start("stale").await;
    s.ok("admin", &["create-repository", "--repository-name", "up"]).await;
    let old = s.ok("admin", &["initiate-layer-upload", "--repository-name", "up"]).await;
    let old = old["uploadId"].as_str().unwrap().to_owned();
    let part = s.file("part", b"partial");
    let upload = |id: &str| {
        [
            "upload-layer-part",
            "--repository-name",
            "up",
            "--upload-id",
            id,
            "--part-first-byte",
            "0",
            "--part-last-byte",
            "6",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(["--layer-part-blob".to_owned(), format!("fileb://{part}")])
        .collect::<Vec<String>>()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    // Nothing is older than a second ago yet.
    assert_eq!(warden_registry::lifecycle::purge_stale_uploads(&s.registry, now - 1).await.unwrap(), 0);
    assert_eq!(warden_registry::lifecycle::purge_stale_uploads(&s.registry, now + 1).await.unwrap(), 1);
    let args = upload(&old);
    s.fails("admin", &args.iter().map(String::as_str).collect::<Vec<_>>(), "UploadNotFoundException").await;
}

/// The guide's quotas are configurable; reaching one is ECR's LimitExceededException (and
/// DENIED over the registry API), and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_are_enforced_over_both_apis() {
    let limits = warden_registry::Limits { repositories: 2, images_per_repository: 1, tags_per_image: 2 };
    let s = start_with("limits", limits).await;
    s.ok("admin", &["create-repository", "--repository-name", "q1"]).await;
    s.ok("admin", &["create-repository", "--repository-name", "q2"]).await;
    let message = s.fails("admin", &["create-repository", "--repository-name", "q3"], "LimitExceededException").await;
    assert!(message.contains("The maximum number of repositories (2) has been reached"), "{message}");
    assert!(s.registry.create_repository("q3", vec![]).await.is_err(), "warden create-repository takes the same path");

    let password = s.ok("admin", &["get-login-password"]).await.as_str().unwrap().trim().to_owned();
    let first = s.push(&password, "q1", Some("a"), "1").await;
    // A second image: refused over the registry API and over PutImage.
    let client = reqwest::Client::new();
    let config = format!("sha256:{}", hex::encode(Sha256::digest(b"{\"seed\":\"1\"}")));
    let other = Server::manifest((&config, 12), &[]);
    let r = client
        .put(format!("{}/v2/q1/manifests/b", s.url))
        .basic_auth("AWS", Some(&password))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(other.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert_eq!(body["errors"][0]["message"], "The maximum number of images (1) in repository 'q1' has been reached");
    s.fails(
        "admin",
        &["put-image", "--repository-name", "q1", "--image-tag", "b", "--image-manifest", &other],
        "LimitExceededException",
    )
    .await;
    // The image already stored may still be tagged, up to the tag quota.
    let got = s.ok("admin", &["batch-get-image", "--repository-name", "q1", "--image-ids", "imageTag=a"]).await;
    let manifest = got["images"][0]["imageManifest"].as_str().unwrap().to_owned();
    s.ok("admin", &["put-image", "--repository-name", "q1", "--image-tag", "b", "--image-manifest", &manifest]).await;
    let message = s
        .fails(
            "admin",
            &["put-image", "--repository-name", "q1", "--image-tag", "c", "--image-manifest", &manifest],
            "LimitExceededException",
        )
        .await;
    assert!(message.contains("at most 2 tags"), "{message}");
    let listed = s.ok("admin", &["list-images", "--repository-name", "q1"]).await;
    assert_eq!(listed["imageIds"].as_array().unwrap().len(), 2);
    assert!(listed["imageIds"].as_array().unwrap().iter().all(|i| i["imageDigest"] == first.as_str()));
}
