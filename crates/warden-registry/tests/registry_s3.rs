//! The registry on the S3 blob store, end to end over HTTP, on a real Garage
//! (`warden_testkit::garage`): a monolithic push, a chunked push with an over-long chunk taken
//! back (the writer's object is completed on shutdown, then truncated away), ECR's
//! UploadLayerPart, a digest mismatch, and ranged pulls. The bytes are checked in the bucket
//! through a second store instance, as another `warden serve` would see them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{sha256, Server};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use warden_registry::names::Digest;
use warden_registry::storage::blobs::BlobStore;
use warden_registry::storage::s3::{S3BlobStore, S3Config};
use warden_testkit::garage::{unique_prefix, Garage};

const REPO: &str = "team/app";

async fn s3(prefix: &str) -> S3BlobStore {
    let garage = tokio::task::spawn_blocking(Garage::shared).await.unwrap();
    let config = S3Config {
        bucket: garage.bucket().to_owned(),
        prefix: prefix.to_owned(),
        endpoint: Some(garage.endpoint().to_owned()),
        region: garage.region().to_owned(),
        credentials: Some((garage.access_key().to_owned(), garage.secret_key().to_owned())),
    };
    S3BlobStore::open(&config).await.unwrap()
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i % 253) as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

fn header(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// A PATCH whose body comes in two chunked-encoding chunks of `first` and `second`, declaring
/// `declared` bytes in Content-Range from `start`; the status.
async fn chunked_patch(s: &Server, location: &str, start: u64, declared: u64, first: &[u8], second: &[u8]) -> u16 {
    let mut head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: application/octet-stream\r\nContent-Range: {start}-{}\r\n",
        s.addr,
        start + declared - 1
    );
    for (k, v) in s.basic(Some("admin")) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(&s.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(format!("{:x}\r\n", first.len()).as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream.write_all(b"\r\n").await.unwrap();
    stream.flush().await.unwrap();
    // The first chunk reaches the store before the second arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(format!("{:x}\r\n", second.len()).as_bytes()).await.unwrap();
    stream.write_all(second).await.unwrap();
    stream.write_all(b"\r\n0\r\n\r\n").await.unwrap();
    stream.flush().await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw)).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    text.split(' ').nth(1).unwrap_or_default().parse().unwrap_or_else(|_| panic!("no status in {text:?}"))
}

#[tokio::test]
async fn the_registry_pushes_and_pulls_through_s3() {
    let prefix = unique_prefix("registry");
    let blobs: Arc<dyn BlobStore> = Arc::new(s3(&prefix).await);
    let users = json!({"admin": {"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"]}});
    let s = common::start_on("registry-s3", users, Some(blobs)).await;
    assert!(s.registry.create_repository(REPO, vec![]).await.unwrap());
    // Another process's view of the bucket.
    let other = s3(&prefix).await;

    // Monolithic.
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let config_digest = sha256(&config);
    let r =
        s.v2(Some("admin"), "POST", &format!("/v2/{REPO}/blobs/uploads/?digest={config_digest}"), &[], &config).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(other.size(&Digest::parse(&config_digest).unwrap()).await.unwrap(), Some(config.len() as u64));

    // Chunked, with an over-long chunk taken back.
    let layer = bytes(9 * 1024 * 1024 + 123, 1);
    let layer_digest = sha256(&layer);
    let r = s.v2(Some("admin"), "POST", &format!("/v2/{REPO}/blobs/uploads/"), &[], b"").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_owned();
    let cut = 6 * 1024 * 1024;
    let range = |a: usize, b: usize| header("Content-Range", format!("{a}-{}", b - 1));
    let r = s.v2(Some("admin"), "PATCH", &location, &[range(0, cut)], &layer[..cut]).await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.header("range"), Some(format!("0-{}", cut - 1).as_str()));
    let status = chunked_patch(&s, &location, cut as u64, 10, b"12345678", b"9abcdef").await;
    assert_eq!(status, 416, "a chunk longer than its Content-Range");
    let r = s.v2(Some("admin"), "GET", &location, &[], b"").await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("range"), Some(format!("0-{}", cut - 1).as_str()), "the over-long chunk is gone");
    let digest = Digest::parse(&layer_digest).unwrap();
    assert_eq!(other.size(&digest).await.unwrap(), None, "nothing visible before completion");
    let r = s
        .v2(
            Some("admin"),
            "PUT",
            &format!("{location}?digest={layer_digest}"),
            &[range(cut, layer.len())],
            &layer[cut..],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(other.size(&digest).await.unwrap(), Some(layer.len() as u64));

    // Pulls, whole and ranged.
    let r = s.v2(Some("admin"), "GET", &format!("/v2/{REPO}/blobs/{layer_digest}"), &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.body == layer, "the layer, whole");
    let (a, b) = (cut - 100, cut + 100);
    let r = s
        .v2(
            Some("admin"),
            "GET",
            &format!("/v2/{REPO}/blobs/{layer_digest}"),
            &[header("Range", format!("bytes={a}-{b}"))],
            b"",
        )
        .await;
    assert_eq!(r.status, 206);
    assert!(r.body == layer[a..=b], "bytes {a}-{b}");

    // A digest that does not match: refused, nothing stored.
    let r = s.v2(Some("admin"), "POST", &format!("/v2/{REPO}/blobs/uploads/"), &[], b"").await;
    let location = r.header("location").unwrap().to_owned();
    let wrong = sha256(b"something else");
    let r = s.v2(Some("admin"), "PUT", &format!("{location}?digest={wrong}"), &[], b"these bytes").await;
    assert_eq!((r.status, r.v2_code().as_str()), (400, "DIGEST_INVALID"), "{}", r.text());
    assert_eq!(other.size(&Digest::parse(&wrong).unwrap()).await.unwrap(), None);
    assert_eq!(other.size(&Digest::parse(&sha256(b"these bytes")).unwrap()).await.unwrap(), None);

    // ECR: InitiateLayerUpload, UploadLayerPart (each part an `append`), CompleteLayerUpload.
    let ecr_layer = bytes(5 * 1024 * 1024 + 4096, 2);
    let ecr_digest = sha256(&ecr_layer);
    let r = s.ecr(Some("admin"), "InitiateLayerUpload", &json!({"repositoryName": REPO}).to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let upload = r.json()["uploadId"].as_str().unwrap().to_owned();
    let split = 5 * 1024 * 1024;
    for (a, b) in [(0, split), (split, ecr_layer.len())] {
        let part = json!({
            "repositoryName": REPO, "uploadId": upload, "partFirstByte": a, "partLastByte": b - 1,
            "layerPartBlob": base64::engine::general_purpose::STANDARD.encode(&ecr_layer[a..b]),
        });
        let r = s.ecr(Some("admin"), "UploadLayerPart", &part.to_string()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["lastByteReceived"], json!(b - 1));
    }
    let done = json!({"repositoryName": REPO, "uploadId": upload, "layerDigests": [ecr_digest]});
    let r = s.ecr(Some("admin"), "CompleteLayerUpload", &done.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.v2(Some("admin"), "GET", &format!("/v2/{REPO}/blobs/{ecr_digest}"), &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.body == ecr_layer, "the ECR layer, whole");
}
