//! Acknowledged means durable, under any interleaving: hundreds of rounds of writers racing each
//! other over real HTTP on loopback, each round checked afterwards.
//!
//! - a delete of one image racing a push of another that shares its layer (/v2, and
//!   BatchDeleteImage against PutImage on the ECR API): every acknowledged push pulls byte-exact;
//! - two writers racing on one tag of an IMMUTABLE repository: exactly one wins, the other gets
//!   TAG_INVALID / ImageTagAlreadyExistsException, and the tag names the winner;
//! - DeleteRepository racing a push into it, while another repository holds the same layer:
//!   the other repository's image always pulls byte-exact (garbage collection never takes bytes
//!   another repository links), and a push either fails or lands in a repository that is then
//!   deleted whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use common::{sha256, Image, Server, OCI_MANIFEST};
use serde_json::{json, Value};

/// Rounds per race (each a few requests; the whole file runs in seconds).
const ROUNDS: usize = 250;

/// A registry unthrottled: each race pushes far more than ECR's 10 pushes a second to one
/// repository, and the races are about the stores, not the quotas (`tests/throttle.rs`).
async fn start(name: &str) -> Server {
    common::start_throttled(name, users(), warden_registry::ThrottleConfig::off()).await
}

fn users() -> Value {
    json!({"admin": {"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"]}})
}

/// An image of `config` and `layer` (distinct configs make distinct images over one layer).
fn image(config: &str, layer: &[u8]) -> Image {
    Image::new(format!("{{\"round\":\"{config}\"}}").as_bytes(), layer)
}

/// Uploads a blob monolithically unless the repository has it (as docker does: HEAD first).
async fn push_blob(s: &Server, repo: &str, data: &[u8]) -> u16 {
    let digest = sha256(data);
    let head = s.v2(Some("admin"), "HEAD", &format!("/v2/{repo}/blobs/{digest}"), &[], b"").await;
    if head.status == 200 {
        return 200;
    }
    s.v2(Some("admin"), "POST", &format!("/v2/{repo}/blobs/uploads/?digest={digest}"), &[], data).await.status
}

/// Pushes `img` as docker does (blobs, then the manifest by tag); the manifest PUT's status.
async fn push(s: &Server, repo: &str, img: &Image, tag: &str) -> u16 {
    for blob in [&img.config, &img.layer] {
        let status = push_blob(s, repo, blob).await;
        if status != 200 && status != 201 {
            return status;
        }
    }
    let headers = [("Content-Type".to_owned(), OCI_MANIFEST.to_owned())];
    s.v2(Some("admin"), "PUT", &format!("/v2/{repo}/manifests/{tag}"), &headers, img.manifest.as_bytes()).await.status
}

/// Asserts that `img` pulls byte-exact from `repo`: manifest by digest, then every blob.
async fn assert_pulls(s: &Server, repo: &str, img: &Image, what: &str) {
    let m = s.v2(Some("admin"), "GET", &format!("/v2/{repo}/manifests/{}", img.digest), &[], b"").await;
    assert_eq!(m.status, 200, "{what}: the acknowledged manifest is gone: {}", m.text());
    assert_eq!(m.body, img.manifest.as_bytes(), "{what}: the manifest's bytes changed");
    for (digest, bytes) in [(&img.config_digest, &img.config), (&img.layer_digest, &img.layer)] {
        let b = s.v2(Some("admin"), "GET", &format!("/v2/{repo}/blobs/{digest}"), &[], b"").await;
        assert_eq!(b.status, 200, "{what}: blob {digest} of an acknowledged image is gone: {}", b.text());
        assert!(b.body == *bytes, "{what}: blob {digest} is not byte-exact");
    }
}

/// A delay that differs from round to round (0 to 4 ms) for one side of a race — the first side
/// in even rounds, the second in odd ones — so the racers meet at every point of each other's
/// requests.
async fn stagger(round: usize, side: usize) {
    if round % 2 == side {
        tokio::time::sleep(std::time::Duration::from_micros((round as u64 * 397) % 4000)).await;
    }
}

fn layer(round: usize, salt: &str) -> Vec<u8> {
    format!("{salt}-layer-{round}-").repeat(200).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_image_never_takes_a_layer_from_an_acknowledged_push() {
    let s = start("races-delete-push").await;
    s.registry.create_repository("race/app", vec![]).await.unwrap();
    let (mut acknowledged, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let shared = layer(round, "v2");
        let a = image(&format!("a{round}"), &shared);
        let b = image(&format!("b{round}"), &shared);
        assert_eq!(push(&s, "race/app", &a, &format!("a{round}")).await, 201);
        let (target, tag) = (format!("/v2/race/app/manifests/{}", a.digest), format!("b{round}"));
        let delete = async {
            stagger(round, 0).await;
            s.v2(Some("admin"), "DELETE", &target, &[], b"").await
        };
        let pushing = async {
            stagger(round, 1).await;
            push(&s, "race/app", &b, &tag).await
        };
        let (deleted, pushed) = tokio::join!(delete, pushing);
        assert_eq!(deleted.status, 202, "round {round}: {}", deleted.text());
        if pushed == 201 {
            acknowledged += 1;
            assert_pulls(&s, "race/app", &b, &format!("round {round}")).await;
        } else {
            // Refused (the layer vanished between the client's HEAD and its manifest): nothing
            // was acknowledged, so nothing was lost; the client pushes the layer again.
            refused += 1;
            assert_eq!(pushed, 400, "round {round}: a refused push is MANIFEST_BLOB_UNKNOWN");
        }
    }
    eprintln!("delete vs push over /v2: {acknowledged} acknowledged (all pull byte-exact), {refused} refused");
    assert!(acknowledged > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_delete_image_never_takes_a_layer_from_an_acknowledged_put_image() {
    let s = start("races-batchdelete-putimage").await;
    s.registry.create_repository("race/ecr", vec![]).await.unwrap();
    let (mut acknowledged, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let shared = layer(round, "ecr");
        let a = image(&format!("a{round}"), &shared);
        let b = image(&format!("b{round}"), &shared);
        assert_eq!(push(&s, "race/ecr", &a, &format!("a{round}")).await, 201);
        // B's config is there before the race; its layer is A's.
        assert!(matches!(push_blob(&s, "race/ecr", &b.config).await, 200 | 201));
        let delete_body = json!({"repositoryName": "race/ecr", "imageIds": [{"imageDigest": a.digest}]}).to_string();
        let put_body =
            json!({"repositoryName": "race/ecr", "imageManifest": b.manifest, "imageTag": format!("b{round}")})
                .to_string();
        let (deleted, put) = tokio::join!(
            async {
                stagger(round, 0).await;
                s.ecr(Some("admin"), "BatchDeleteImage", &delete_body).await
            },
            async {
                stagger(round, 1).await;
                s.ecr(Some("admin"), "PutImage", &put_body).await
            }
        );
        assert_eq!(deleted.status, 200, "round {round}: {}", deleted.text());
        assert!(deleted.json()["failures"].as_array().unwrap().is_empty(), "round {round}: {}", deleted.text());
        if put.status == 200 {
            acknowledged += 1;
            assert_pulls(&s, "race/ecr", &b, &format!("round {round}")).await;
        } else {
            refused += 1;
            assert_eq!(put.ecr_code(), "LayersNotFoundException", "round {round}: {}", put.text());
        }
    }
    eprintln!("BatchDeleteImage vs PutImage: {acknowledged} acknowledged (all pull byte-exact), {refused} refused");
    assert!(acknowledged > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_on_an_immutable_tag_exactly_one_wins() {
    let s = start("races-immutable").await;
    let create = json!({"repositoryName": "race/fixed", "imageTagMutability": "IMMUTABLE"}).to_string();
    assert_eq!(s.ecr(Some("admin"), "CreateRepository", &create).await.status, 200);
    let shared = layer(0, "immutable");
    let mut ecr_rounds = 0;
    for round in 0..ROUNDS {
        let x = image(&format!("x{round}"), &shared);
        let y = image(&format!("y{round}"), &shared);
        for img in [&x, &y] {
            assert!(matches!(push_blob(&s, "race/fixed", &img.config).await, 200 | 201));
        }
        assert!(matches!(push_blob(&s, "race/fixed", &shared).await, 200 | 201));
        let tag = format!("t{round}");
        let headers = [("Content-Type".to_owned(), OCI_MANIFEST.to_owned())];
        let target = format!("/v2/race/fixed/manifests/{tag}");
        // Every other round, one writer is the ECR API's PutImage.
        let (first, second) = if round % 2 == 0 {
            let (p, q) = tokio::join!(
                s.v2(Some("admin"), "PUT", &target, &headers, x.manifest.as_bytes()),
                s.v2(Some("admin"), "PUT", &target, &headers, y.manifest.as_bytes())
            );
            assert!(p.status == 400 || q.status == 400, "round {round}: both were acknowledged");
            if p.status == 400 {
                assert_eq!(p.v2_code(), "TAG_INVALID", "round {round}");
            } else {
                assert_eq!(q.v2_code(), "TAG_INVALID", "round {round}");
            }
            (p.status == 201, q.status == 201)
        } else {
            ecr_rounds += 1;
            let put = json!({"repositoryName": "race/fixed", "imageManifest": y.manifest, "imageTag": tag}).to_string();
            let (p, q) = tokio::join!(
                s.v2(Some("admin"), "PUT", &target, &headers, x.manifest.as_bytes()),
                s.ecr(Some("admin"), "PutImage", &put)
            );
            if q.status != 200 {
                assert_eq!(q.ecr_code(), "ImageTagAlreadyExistsException", "round {round}: {}", q.text());
            }
            if p.status != 201 {
                assert_eq!(p.v2_code(), "TAG_INVALID", "round {round}: {}", p.text());
            }
            (p.status == 201, q.status == 200)
        };
        assert!(first ^ second, "round {round}: exactly one writer wins (x: {first}, y: {second})");
        let winner = if first { &x } else { &y };
        let now = s.v2(Some("admin"), "GET", &target, &[], b"").await;
        assert_eq!(now.header("docker-content-digest"), Some(winner.digest.as_str()), "round {round}");
        assert_pulls(&s, "race/fixed", winner, &format!("round {round}")).await;
    }
    assert!(ecr_rounds > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_repository_never_takes_bytes_another_repository_holds() {
    let s = start("races-delete-repository").await;
    s.registry.create_repository("race/keeper", vec![]).await.unwrap();
    let (mut landed, mut refused) = (0, 0);
    for round in 0..ROUNDS / 2 {
        let shared = layer(round, "repo");
        let kept = image(&format!("k{round}"), &shared);
        let doomed = image(&format!("d{round}"), &shared);
        let repo = format!("race/doomed{round}");
        s.registry.create_repository(&repo, vec![]).await.unwrap();
        for blob in [&doomed.config, &doomed.layer] {
            assert!(matches!(push_blob(&s, &repo, blob).await, 200 | 201));
        }
        let delete = json!({"repositoryName": repo, "force": true}).to_string();
        let headers = [("Content-Type".to_owned(), OCI_MANIFEST.to_owned())];
        let target = format!("/v2/{repo}/manifests/v1");
        let kept_tag = format!("k{round}");
        // The keeper pushes the same layer while the doomed repository goes.
        let (deleted, pushed, kept_push) = tokio::join!(
            async {
                stagger(round, 0).await;
                s.ecr(Some("admin"), "DeleteRepository", &delete).await
            },
            async {
                stagger(round, 1).await;
                s.v2(Some("admin"), "PUT", &target, &headers, doomed.manifest.as_bytes()).await
            },
            push(&s, "race/keeper", &kept, &kept_tag)
        );
        assert_eq!(deleted.status, 200, "round {round}: {}", deleted.text());
        assert_eq!(kept_push, 201, "round {round}: the keeper's push");
        assert_pulls(&s, "race/keeper", &kept, &format!("round {round} (keeper)")).await;
        if pushed.status == 201 {
            landed += 1;
        } else {
            refused += 1;
            assert!(
                matches!(pushed.v2_code().as_str(), "NAME_UNKNOWN" | "MANIFEST_BLOB_UNKNOWN"),
                "round {round}: {}",
                pushed.text()
            );
        }
        // The repository is gone whole either way.
        let gone = s.v2(Some("admin"), "GET", &target, &[], b"").await;
        assert_eq!(gone.v2_code(), "NAME_UNKNOWN", "round {round}");
    }
    eprintln!("DeleteRepository vs push: {landed} pushes landed before the delete, {refused} refused; the keeper always pulled");
    // Every keeper image still pulls at the end.
    for round in 0..ROUNDS / 2 {
        assert_pulls(&s, "race/keeper", &image(&format!("k{round}"), &layer(round, "repo")), "at the end").await;
    }
}
