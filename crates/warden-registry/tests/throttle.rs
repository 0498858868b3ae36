//! Throttling over HTTP, against an in-process registry with small configured rates: the ECR API
//! answers `ThrottlingException` (HTTP 400, `Rate exceeded`) and `/v2` answers 429
//! `TOOMANYREQUESTS`, both with `Retry-After`; buckets are the caller's account's, per repository
//! where the guide says so; and with the throttle off nothing is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use common::{Image, Server};
use serde_json::json;
use warden_registry::throttle::Rate;
use warden_registry::ThrottleConfig;

fn users() -> serde_json::Value {
    json!({"admin": {"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"]}})
}

/// Tokens 1/s burst 3, manifest reads 1/s burst 2, layer reads 1/s burst 2; the rest as the guide.
fn small() -> ThrottleConfig {
    ThrottleConfig {
        get_authorization_token: Rate::new(1.0, 3).unwrap(),
        pull: Rate::new(1.0, 2).unwrap(),
        pull_layer: Rate::new(1.0, 2).unwrap(),
        ..ThrottleConfig::default()
    }
}

async fn seeded(name: &str, throttle: ThrottleConfig) -> (Server, Image) {
    let s = common::start_throttled(name, users(), throttle).await;
    s.registry.create_repository("team/a", Vec::new()).await.unwrap();
    s.registry.create_repository("team/b", Vec::new()).await.unwrap();
    let image = Image::new(br#"{"architecture":"amd64","os":"linux"}"#, b"layer bytes");
    s.seed("team/a", &image, "v1").await;
    s.seed("team/b", &image, "v1").await;
    (s, image)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fourth_token_in_a_burst_of_three_is_throttled_as_ecr_throttles() {
    let (s, _) = seeded("throttle-token", small()).await;
    for i in 0..3 {
        let r = s.ecr(Some("admin"), "GetAuthorizationToken", "{}").await;
        assert_eq!(r.status, 200, "call {i}: {}", r.text());
    }
    let r = s.ecr(Some("admin"), "GetAuthorizationToken", "{}").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({"__type": "ThrottlingException", "message": "Rate exceeded"}));
    assert_eq!(r.header("x-amzn-errortype"), Some("ThrottlingException"));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert_eq!(r.header("retry-after"), Some("1"));
    // Other operations have buckets of their own.
    let r = s.ecr(Some("admin"), "DescribeRepositories", "{}").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A credit comes back after a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = s.ecr(Some("admin"), "GetAuthorizationToken", "{}").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_reads_past_their_burst_get_429_toomanyrequests() {
    let (s, image) = seeded("throttle-v2", small()).await;
    let accept = [("Accept".to_owned(), common::OCI_MANIFEST.to_owned())];
    for method in ["HEAD", "GET"] {
        let r = s.v2(Some("admin"), method, "/v2/team/a/manifests/v1", &accept, b"").await;
        assert_eq!(r.status, 200, "{method}");
    }
    let r = s.v2(Some("admin"), "GET", "/v2/team/a/manifests/v1", &accept, b"").await;
    assert_eq!(r.status, 429, "{}", r.text());
    let body = r.json();
    assert_eq!(body["errors"][0]["code"], "TOOMANYREQUESTS");
    assert_eq!(body["errors"][0]["message"], "Rate exceeded");
    assert_eq!(body["errors"][0]["detail"]["retryAfterSeconds"], 1);
    assert_eq!(r.header("retry-after"), Some("1"));
    // Another repository's bucket is full; layers have their own class.
    let r = s.v2(Some("admin"), "GET", "/v2/team/b/manifests/v1", &accept, b"").await;
    assert_eq!(r.status, 200);
    let blob = format!("/v2/team/a/blobs/{}", image.layer_digest);
    for _ in 0..2 {
        assert_eq!(s.v2(Some("admin"), "GET", &blob, &[], b"").await.status, 200);
    }
    let r = s.v2(Some("admin"), "GET", &blob, &[], b"").await;
    assert_eq!((r.status, r.v2_code()), (429, "TOOMANYREQUESTS".to_owned()));
    // BatchGetImage on the ECR API spends the same repository's pull credits.
    let body = json!({"repositoryName": "team/a", "imageIds": [{"imageTag": "v1"}]}).to_string();
    let r = s.ecr(Some("admin"), "BatchGetImage", &body).await;
    assert_eq!((r.status, r.ecr_code()), (400, "ThrottlingException".to_owned()), "{}", r.text());
    // Unauthenticated requests spend no credits and are refused as before.
    let r = s.v2(None, "GET", "/v2/team/b/manifests/v1", &accept, b"").await;
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_throttle_off_nothing_is_refused() {
    let off = ThrottleConfig { enabled: false, ..small() };
    let (s, _) = seeded("throttle-off", off).await;
    let accept = [("Accept".to_owned(), common::OCI_MANIFEST.to_owned())];
    for _ in 0..10 {
        let r = s.ecr(Some("admin"), "GetAuthorizationToken", "{}").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = s.v2(Some("admin"), "GET", "/v2/team/a/manifests/v1", &accept, b"").await;
        assert_eq!(r.status, 200);
    }
}
