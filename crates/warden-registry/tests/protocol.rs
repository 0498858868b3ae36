//! The distribution API over real HTTP on loopback: uploads (monolithic, chunked, out of order,
//! mounts), ranges, manifests, tags, referrers, catalog, errors — and the authorization of each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use reqwest::{Client, Method, StatusCode};
use sha2::{Digest, Sha256, Sha512};
use warden_registry::{Config, Registry};

const IDENTITIES: &str = r#"{
  "account": "111122223333",
  "policies": {
    "ProdGuard": {"document": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecr:BatchDeleteImage", "Resource": "*",
                  "Condition": {"StringEquals": {"ecr:ResourceTag/environment": "prod"}}}]}}
  },
  "users": {
    "admin":  {"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"]},
    "pusher": {"attached_policies": ["AmazonEC2ContainerRegistryPowerUser", "ProdGuard"],
               "inline_policies": {"Delete": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:BatchDeleteImage", "Resource": "*"}]}}},
    "reader": {"attached_policies": ["AmazonEC2ContainerRegistryReadOnly"]},
    "push-pull-user-1": {},
    "nopolicy": {},
    "teamonly": {"inline_policies": {"Team": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecr:DescribeRepositories", "ecr:BatchGetImage", "ecr:InitiateLayerUpload"], "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/team/*"}]}}}
  }
}"#;

/// Account B: bob may use ECR anywhere (the identity side of cross-account access).
const OTHER_ACCOUNT: &str = r#"{"account": "444455556666", "users": {
  "bob": {"inline_policies": {"Ecr": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}}},
  "carol": {}
}}"#;

struct Server {
    url: String,
    registry: Arc<Registry>,
    client: Client,
    _dir: TempDir,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(name: &str) -> Server {
    let dir = std::env::temp_dir().join(format!("warden-registry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies/identities")).unwrap();
    std::fs::write(dir.join("policies/identities/test.json"), IDENTITIES).unwrap();
    std::fs::write(dir.join("policies/identities/other.json"), OTHER_ACCOUNT).unwrap();
    let config = Config {
        data_dir: dir.join("data"),
        policies_dir: dir.join("policies"),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        limits: warden_registry::Limits::default(),
        storage: common::storage(name),
        throttle: warden_registry::ThrottleConfig::default(),
        trail: None,
    };
    let registry = Arc::new(Registry::open(config).await.unwrap());
    for repo in ["team/app", "team/other", "tools/ci"] {
        assert!(registry.create_repository(repo, vec![]).await.unwrap());
    }
    assert!(registry.create_repository("team/prod", vec![("environment".into(), "prod".into())]).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let r = Arc::clone(&registry);
    tokio::spawn(async move { warden_registry::serve(r, listener).await.unwrap() });
    Server { url, registry, client: Client::new(), _dir: TempDir(dir) }
}

impl Server {
    fn password(&self, user: &str) -> String {
        let arn = match user.split_once('@') {
            Some((name, account)) => format!("arn:aws:iam::{account}:user/{name}"),
            None => format!("arn:aws:iam::111122223333:user/{user}"),
        };
        self.registry.issuer.mint(&arn, SystemTime::now()).0
    }

    fn req(&self, method: Method, path: &str, user: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url)).basic_auth("AWS", Some(self.password(user)))
    }

    /// Uploads a blob monolithically; its digest.
    async fn blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
        let r = self
            .req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={digest}"), "admin")
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        digest
    }

    /// Pushes an OCI image manifest with one layer; (manifest digest, body).
    async fn image(&self, repo: &str, tag: &str, layer: &[u8], extra: serde_json::Value) -> (String, String) {
        let config = self.blob(repo, b"{}").await;
        let layer_digest = self.blob(repo, layer).await;
        let mut m = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}]
        });
        if let (Some(obj), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            obj.extend(extra.clone());
        }
        let body = m.to_string();
        let r = self
            .req(Method::PUT, &format!("/v2/{repo}/manifests/{tag}"), "admin")
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        (r.headers()["docker-content-digest"].to_str().unwrap().to_owned(), body)
    }
}

async fn error_code(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    (
        status,
        v["errors"][0]["code"].as_str().unwrap_or("").to_owned(),
        v["errors"][0]["message"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn base_endpoint_authenticates() {
    let s = start("base").await;
    let r = s.client.get(format!("{}/v2/", s.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic realm="));
    let r = s.req(Method::GET, "/v2/", "reader").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["docker-distribution-api-version"], "registry/2.0");
}

#[tokio::test]
async fn blobs_stream_with_ranges() {
    let s = start("ranges").await;
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let digest = s.blob("team/app", &data).await;
    let r = s.req(Method::HEAD, &format!("/v2/team/app/blobs/{digest}"), "reader").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "100000");
    assert_eq!(r.headers()["docker-content-digest"].to_str().unwrap(), digest);
    let r = s.req(Method::GET, &format!("/v2/team/app/blobs/{digest}"), "reader").send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());
    let r = s
        .req(Method::GET, &format!("/v2/team/app/blobs/{digest}"), "reader")
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/100000");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[10..20]);
    let r = s
        .req(Method::GET, &format!("/v2/team/app/blobs/{digest}"), "reader")
        .header("range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */100000");
    assert!(r.bytes().await.unwrap().is_empty());
    // The blob is not part of another repository.
    let (status, code, _) =
        error_code(s.req(Method::GET, &format!("/v2/team/other/blobs/{digest}"), "admin").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "BLOB_UNKNOWN"));
    // A malformed digest is a client error, never a 500.
    let (status, code, _) =
        error_code(s.req(Method::GET, "/v2/team/app/blobs/sha256:nothex", "admin").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
}

#[tokio::test]
async fn chunked_uploads_check_order_and_digest() {
    let s = start("chunks").await;
    let data = b"0123456789abcdefghijKLMNOPQRST".to_vec();
    let digest = format!("sha512:{}", hex::encode(Sha512::digest(&data)));
    let r = s.req(Method::POST, "/v2/team/app/blobs/uploads/", "pusher").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let patch = |range: &str, body: &[u8]| {
        s.client
            .patch(format!("{}{location}", s.url))
            .basic_auth("AWS", Some(s.password("pusher")))
            .header("content-range", range)
            .body(body.to_vec())
            .send()
    };
    let r = patch("0-9", &data[..10]).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.headers()["range"], "0-9");
    let r = patch("20-29", &data[20..]).await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "an out-of-order chunk");
    let r = patch("10-19", &data[10..20]).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = s
        .client
        .get(format!("{}{location}", s.url))
        .basic_auth("AWS", Some(s.password("pusher")))
        .send()
        .await
        .unwrap();
    assert_eq!((r.status(), r.headers()["range"].to_str().unwrap()), (StatusCode::NO_CONTENT, "0-19"));
    let r = s
        .client
        .put(format!("{}{location}?digest={digest}", s.url))
        .basic_auth("AWS", Some(s.password("pusher")))
        .body(data[20..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["docker-content-digest"].to_str().unwrap(), digest, "sha512 echoed");
    let r = s.req(Method::GET, &format!("/v2/team/app/blobs/{digest}"), "reader").send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());

    // A wrong digest is refused and nothing is stored.
    let r = s
        .req(Method::POST, &format!("/v2/team/app/blobs/uploads/?digest=sha256:{}", "0".repeat(64)), "pusher")
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    let r =
        s.req(Method::HEAD, &format!("/v2/team/app/blobs/sha256:{}", "0".repeat(64)), "pusher").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn manifests_tags_and_referrers() {
    let s = start("manifests").await;
    // A manifest whose layer is missing.
    let missing = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{}", "1".repeat(64)), "size": 2}, "layers": []});
    let r = s
        .req(Method::PUT, "/v2/team/app/manifests/broken", "admin")
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(missing.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "MANIFEST_BLOB_UNKNOWN");

    let mut digests = Vec::new();
    for tag in ["v3", "v1", "latest", "v2"] {
        digests.push(s.image("team/app", tag, tag.as_bytes(), serde_json::json!({})).await.0);
    }
    let r = s.req(Method::GET, "/v2/team/app/manifests/v1", "reader").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(r.headers()["docker-content-digest"].to_str().unwrap(), digests[1]);
    let r = s.req(Method::HEAD, &format!("/v2/team/app/manifests/{}", digests[1]), "reader").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Tags in lexical order, paginated.
    let r = s.req(Method::GET, "/v2/team/app/tags/list?n=2", "reader").send().await.unwrap();
    assert_eq!(r.headers()["link"], "</v2/team/app/tags/list?n=2&last=v1>; rel=\"next\"");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["latest", "v1"]));
    let v: serde_json::Value =
        s.req(Method::GET, "/v2/team/app/tags/list?n=2&last=v1", "reader").send().await.unwrap().json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["v2", "v3"]));

    // A referrer: an artifact whose subject is v1.
    let (sbom, _) = s
        .image(
            "team/app",
            "sbom",
            b"sbom",
            serde_json::json!({"artifactType": "application/vnd.example.sbom",
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digests[1], "size": 1}}),
        )
        .await;
    let r = s.req(Method::GET, &format!("/v2/team/app/referrers/{}", digests[1]), "reader").send().await.unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["manifests"][0]["digest"].as_str().unwrap(), sbom);
    assert_eq!(v["manifests"][0]["artifactType"], "application/vnd.example.sbom");
    let r = s
        .req(
            Method::GET,
            &format!("/v2/team/app/referrers/{}?artifactType=application/vnd.other", digests[1]),
            "reader",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["manifests"], serde_json::json!([]));

    // By tag, a client that only understands Docker schema 2 gets the OCI manifest translated
    // (user guide, "Amazon ECR Image Manifest Conversion"); by digest there is no translation.
    let docker = "application/vnd.docker.distribution.manifest.v2+json";
    let r = s.req(Method::GET, "/v2/team/app/manifests/v1", "reader").header("accept", docker).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], docker);
    let translated: serde_json::Value = r.json().await.unwrap();
    assert_eq!(translated["mediaType"], docker);
    assert_eq!(translated["config"]["mediaType"], "application/vnd.docker.container.image.v1+json");
    let r = s
        .req(Method::GET, &format!("/v2/team/app/manifests/{}", digests[1]), "reader")
        .header("accept", docker)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.oci.image.manifest.v1+json");

    // Deleting by digest removes its tags, and the layer only it used.
    let layer_v3 = format!("sha256:{}", hex::encode(Sha256::digest(b"v3")));
    let config = format!("sha256:{}", hex::encode(Sha256::digest(b"{}")));
    let r = s.req(Method::DELETE, &format!("/v2/team/app/manifests/{}", digests[0]), "admin").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = s.req(Method::HEAD, &format!("/v2/team/app/blobs/{layer_v3}"), "admin").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "the orphaned layer is gone");
    let r = s.req(Method::HEAD, &format!("/v2/team/app/blobs/{config}"), "admin").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the config other images share stays");
    let v: serde_json::Value =
        s.req(Method::GET, "/v2/team/app/tags/list", "reader").send().await.unwrap().json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["latest", "sbom", "v1", "v2"]));
    let (status, code, _) =
        error_code(s.req(Method::GET, "/v2/team/app/manifests/v3", "reader").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"));
}

#[tokio::test]
async fn every_request_is_authorized_as_ecr_would() {
    let s = start("authz").await;
    s.image("team/prod", "v1", b"prod", serde_json::json!({})).await;
    // The reader may pull, not push.
    let (status, code, message) =
        error_code(s.req(Method::POST, "/v2/team/app/blobs/uploads/", "reader").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "DENIED"));
    assert_eq!(message, "User: arn:aws:iam::111122223333:user/reader is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:111122223333:repository/team/app because no identity-based policy allows the ecr:InitiateLayerUpload action");
    // The tag-based deny: nobody deletes from a repository tagged environment=prod.
    let (status, _, message) =
        error_code(s.req(Method::DELETE, "/v2/team/prod/manifests/v1", "pusher").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(message.ends_with("with an explicit deny in an identity-based policy"), "{message}");
    // Pushing to a repository that does not exist: NAME_UNKNOWN (ECR creates nothing implicitly).
    let (status, code, message) =
        error_code(s.req(Method::POST, "/v2/team/missing/blobs/uploads/", "admin").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "NAME_UNKNOWN"));
    assert_eq!(
        message,
        "The repository with name 'team/missing' does not exist in the registry with id '111122223333'"
    );
    // The catalog lists only what the caller may describe.
    let v: serde_json::Value =
        s.req(Method::GET, "/v2/_catalog", "teamonly").send().await.unwrap().json().await.unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["team/app", "team/other", "team/prod"]));
    let v: serde_json::Value =
        s.req(Method::GET, "/v2/_catalog?n=1", "admin").send().await.unwrap().json().await.unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["team/app"]));
}

#[tokio::test]
async fn cross_repository_mounts_need_read_access_to_the_source() {
    let s = start("mounts").await;
    let digest = s.blob("tools/ci", b"shared layer").await;
    let r = s
        .req(Method::POST, &format!("/v2/team/other/blobs/uploads/?mount={digest}&from=tools/ci"), "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("/v2/team/other/blobs/{digest}"));
    // `teamonly` may upload to team/* but not read tools/ci.
    let (status, _, message) = error_code(
        s.req(Method::POST, &format!("/v2/team/app/blobs/uploads/?mount={digest}&from=tools/ci"), "teamonly")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        message
            .contains("ecr:GetDownloadUrlForLayer on resource: arn:aws:ecr:us-east-1:111122223333:repository/tools/ci"),
        "{message}"
    );
}

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../policies/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The user guide's repository-policy examples, over the wire, each allowed and denied case.
#[tokio::test]
async fn repository_policy_examples_decide_as_the_guide_says() {
    let s = start("policies").await;
    let (digest, _) = s.image("team/app", "v1", b"layer", serde_json::json!({})).await;
    let pull = |user: &'static str| {
        let path = format!("/v2/team/app/manifests/{digest}");
        let r = s.req(Method::GET, &path, user);
        async move { r.send().await.unwrap().status() }
    };
    let push = |user: &'static str| {
        let r = s.req(Method::POST, "/v2/team/app/blobs/uploads/", user);
        async move { r.send().await.unwrap().status() }
    };
    let set = |name: &str| s.registry.set_repository_policy("team/app", Some(example(name)));

    // "Allow IAM users within your account": the named user may push and pull with no IAM policy;
    // another user without policies may not.
    set("repository-allow-iam-users-push-pull.json").await.unwrap();
    assert_eq!(pull("push-pull-user-1").await, StatusCode::OK);
    assert_eq!(push("push-pull-user-1").await, StatusCode::ACCEPTED);
    assert_eq!(pull("nopolicy").await, StatusCode::FORBIDDEN);

    // "Allow other accounts" to push: bob (account B, whose IAM allows ECR) may push, not pull;
    // carol of the same account has no identity allow, so the account grant alone is not enough.
    set("repository-allow-other-accounts-push.json").await.unwrap();
    assert_eq!(push("bob@444455556666").await, StatusCode::ACCEPTED);
    assert_eq!(pull("bob@444455556666").await, StatusCode::FORBIDDEN);
    assert_eq!(push("carol@444455556666").await, StatusCode::FORBIDDEN);
    let (_, _, message) = error_code(
        s.req(Method::GET, &format!("/v2/team/app/manifests/{digest}"), "bob@444455556666").send().await.unwrap(),
    )
    .await;
    assert!(message.ends_with("because no resource-based policy allows the ecr:BatchGetImage action"), "{message}");

    // "Allow all accounts to pull": bob pulls; in-account users with no policy too ("*" grants).
    set("repository-allow-all-accounts-pull.json").await.unwrap();
    assert_eq!(pull("bob@444455556666").await, StatusCode::OK);
    assert_eq!(pull("nopolicy").await, StatusCode::OK);
    assert_eq!(push("nopolicy").await, StatusCode::FORBIDDEN);

    // "Deny all": even the administrator cannot pull.
    set("repository-deny-all.json").await.unwrap();
    assert_eq!(pull("admin").await, StatusCode::FORBIDDEN);
    let (_, _, message) =
        error_code(s.req(Method::GET, &format!("/v2/team/app/manifests/{digest}"), "admin").send().await.unwrap())
            .await;
    assert!(message.ends_with("with an explicit deny in a resource-based policy"), "{message}");
    assert_eq!(push("admin").await, StatusCode::ACCEPTED, "the deny names only pull actions");

    // An invalid policy is refused with ECR's words and the old one stays.
    let err = s
        .registry
        .set_repository_policy("team/app", Some(r#"{"Statement":{"Effect":"Allow","Action":"ecr:*"}}"#.into()))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "InvalidParameterException: Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'");
    assert_eq!(pull("admin").await, StatusCode::FORBIDDEN);
}

/// The guide's conversion table, schema 1 row: a schema 2 image pulled by tag by a client that
/// accepts only schema 1 gets a signed schema 1 manifest, verified here by an independent ECDSA
/// implementation (Python `cryptography`) as schema 1 clients verify it; by digest, never.
#[tokio::test]
async fn schema2_pulled_by_a_schema1_client_is_translated_and_signed() {
    let s = start("schema1").await;
    let layer = s.blob("team/app", b"layer bytes").await;
    let config = serde_json::json!({
        "architecture": "arm64", "os": "linux", "created": "2026-11-27T00:00:00Z",
        "config": {"Env": ["A=1"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},
        "history": [
            {"created": "2026-11-26T00:00:00Z", "created_by": "ADD layer /"},
            {"created": "2026-11-27T00:00:00Z", "created_by": "ENV A=1", "empty_layer": true}
        ]
    })
    .to_string();
    let config_digest = s.blob("team/app", config.as_bytes()).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 11}]
    })
    .to_string();
    let r = s
        .req(Method::PUT, "/v2/team/app/manifests/v1", "admin")
        .header("content-type", "application/vnd.docker.distribution.manifest.v2+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let stored_digest = r.headers()["docker-content-digest"].to_str().unwrap().to_owned();

    let r = s
        .req(Method::GET, "/v2/team/app/manifests/v1", "reader")
        .header("accept", "application/vnd.docker.distribution.manifest.v1+prettyjws")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/vnd.docker.distribution.manifest.v1+prettyjws");
    let digest = r.headers()["docker-content-digest"].to_str().unwrap().to_owned();
    assert_ne!(digest, stored_digest);
    let body = r.bytes().await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["schemaVersion"].as_u64(), v["name"].as_str(), v["tag"].as_str()),
        (Some(1), Some("team/app"), Some("v1"))
    );
    assert_eq!(v["architecture"], "arm64");
    // Top layer first: the ENV step (an empty layer), then the real one.
    assert_eq!(v["fsLayers"][0]["blobSum"], warden_registry::schema1::EMPTY_LAYER_DIGEST);
    assert_eq!(v["fsLayers"][1]["blobSum"], layer.as_str());
    let top: serde_json::Value = serde_json::from_str(v["history"][0]["v1Compatibility"].as_str().unwrap()).unwrap();
    let base: serde_json::Value = serde_json::from_str(v["history"][1]["v1Compatibility"].as_str().unwrap()).unwrap();
    assert_eq!(top["parent"], base["id"]);
    assert_eq!(top["config"]["Env"][0], "A=1");
    assert_eq!(top["throwaway"], true);
    assert!(top.get("history").is_none() && top.get("rootfs").is_none());
    assert_eq!(base["container_config"]["Cmd"][0], "ADD layer /");
    // Every blobSum pulls, the empty layer included.
    for l in v["fsLayers"].as_array().unwrap() {
        let path = format!("/v2/team/app/blobs/{}", l["blobSum"].as_str().unwrap());
        assert_eq!(s.req(Method::GET, &path, "reader").send().await.unwrap().status(), StatusCode::OK, "{path}");
    }
    // The signature verifies with an independent implementation.
    let file = s._dir.0.join("schema1.json");
    std::fs::write(&file, &body).unwrap();
    let script = format!("{}/tests/schema1_verify.py", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3").arg(&script).arg(&file).arg(&digest).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A client that accepts schema 2 gets it as pushed; by digest nothing is ever translated.
    let r = s
        .req(Method::GET, "/v2/team/app/manifests/v1", "reader")
        .header("accept", "application/vnd.docker.distribution.manifest.v2+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), manifest);
    let r = s
        .req(Method::GET, &format!("/v2/team/app/manifests/{stored_digest}"), "reader")
        .header("accept", "application/vnd.docker.distribution.manifest.v1+prettyjws")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.docker.distribution.manifest.v2+json");
}
