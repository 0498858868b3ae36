//! The blob stores against the same scenario: [`FsBlobStore`] in a temporary directory and
//! [`S3BlobStore`] on a real Garage (`warden_testkit::garage`, which fails the test when Garage
//! is not installed). Then what only the S3 store has to get right: sessions that span two
//! store instances (two `warden serve` processes on one bucket), nothing visible before commit,
//! and a 64 MiB blob streamed through both ways.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io;

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use warden_registry::names::{random_id, Algorithm, Digest};
use warden_registry::storage::blobs::{BlobChunks, BlobStore, FsBlobStore, CHUNK};
use warden_registry::storage::s3::{S3BlobStore, S3Config};
use warden_testkit::garage::{unique_prefix, Garage};

async fn garage() -> &'static Garage {
    tokio::task::spawn_blocking(Garage::shared).await.unwrap()
}

fn config(garage: &Garage, prefix: &str) -> S3Config {
    S3Config {
        bucket: garage.bucket().to_owned(),
        prefix: prefix.to_owned(),
        endpoint: Some(garage.endpoint().to_owned()),
        region: garage.region().to_owned(),
        credentials: Some((garage.access_key().to_owned(), garage.secret_key().to_owned())),
    }
}

/// A store on the shared Garage under `prefix`.
async fn s3_at(prefix: &str) -> S3BlobStore {
    S3BlobStore::open(&config(garage().await, prefix)).await.unwrap()
}

async fn collect(chunks: BlobChunks) -> Vec<u8> {
    chunks
        .try_fold(Vec::new(), |mut all, c| async move {
            all.extend_from_slice(&c);
            Ok(all)
        })
        .await
        .unwrap()
}

async fn span(store: &dyn BlobStore, digest: &Digest, offset: u64, len: u64) -> Vec<u8> {
    collect(store.blob_chunks(digest, offset, len).await.unwrap().unwrap()).await
}

async fn read_from(store: &dyn BlobStore, digest: &Digest, offset: u64) -> Vec<u8> {
    let mut reader = store.open_blob(digest, offset).await.unwrap().unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    out
}

/// Bytes that differ from position to position.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i % 251) as u8).wrapping_add(seed)).collect()
}

/// Streams `data` into a session through `open_append`, as the registry streams a request body.
async fn write_body(store: &dyn BlobStore, id: &str, data: &[u8]) {
    let mut w = store.open_append(id).await.unwrap();
    for piece in data.chunks(10_000) {
        w.write_all(piece).await.unwrap();
    }
    w.shutdown().await.unwrap();
}

/// Every operation of [`BlobStore`], with the same assertions for any implementation.
async fn conformance(store: &dyn BlobStore) {
    let absent = Digest::of(Algorithm::Sha256, b"never stored");
    assert_eq!(store.size(&absent).await.unwrap(), None);
    assert!(store.open_blob(&absent, 0).await.unwrap().is_none());
    assert!(store.blob_chunks(&absent, 0, 10).await.unwrap().is_none());
    assert!(store.blob_chunks(&absent, 0, 0).await.unwrap().is_none());
    store.remove(&absent).await.unwrap();
    let nosuch = random_id();
    assert_eq!(store.upload_size(&nosuch).await.unwrap(), None);
    assert!(!store.cancel(&nosuch).await.unwrap());
    assert_eq!(store.open_append(&nosuch).await.err().map(|e| e.kind()), Some(io::ErrorKind::NotFound));
    assert!(store.verify(&nosuch, &absent).await.is_err());

    // A session fed by `append` and by streamed bodies, with a body taken back and a cut inside
    // what one append wrote.
    let id = random_id();
    store.begin(&id).await.unwrap();
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(0));
    assert_eq!(store.append(&id, b"hello ").await.unwrap(), 6);
    let body = pattern(3 * CHUNK + 17, 0);
    write_body(store, &id, &body).await;
    let mut expect = b"hello ".to_vec();
    expect.extend_from_slice(&body);
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(expect.len() as u64));
    // An empty body changes nothing.
    write_body(store, &id, b"").await;
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(expect.len() as u64));
    // A body that is taken back whole (the registry's over-long request).
    write_body(store, &id, &pattern(1000, 7)).await;
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(expect.len() as u64 + 1000));
    store.truncate_upload(&id, expect.len() as u64).await.unwrap();
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(expect.len() as u64));
    // A cut inside an append keeps its head.
    assert_eq!(store.append(&id, b"abcdef").await.unwrap(), expect.len() as u64 + 6);
    store.truncate_upload(&id, expect.len() as u64 + 3).await.unwrap();
    expect.extend_from_slice(b"abc");
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(expect.len() as u64));
    assert_eq!(store.append(&id, b"!").await.unwrap(), expect.len() as u64 + 1);
    expect.push(b'!');

    let digest = Digest::of(Algorithm::Sha256, &expect);
    assert_eq!(store.size(&digest).await.unwrap(), None, "not visible before commit");
    assert_eq!(store.verify(&id, &digest).await.unwrap(), Ok(expect.len() as u64));
    assert_eq!(store.size(&digest).await.unwrap(), None, "not visible between verify and commit");
    store.commit_upload(&id, &digest).await.unwrap();
    assert_eq!(store.size(&digest).await.unwrap(), Some(expect.len() as u64));
    assert_eq!(store.upload_size(&id).await.unwrap(), None, "the session ends with the commit");

    // Reads at offsets.
    let len = expect.len() as u64;
    assert!(read_from(store, &digest, 0).await == expect);
    assert!(read_from(store, &digest, 5).await == expect[5..]);
    assert_eq!(read_from(store, &digest, len - 1).await, expect[expect.len() - 1..]);
    assert_eq!(read_from(store, &digest, len).await, b"");
    assert_eq!(read_from(store, &digest, len + 10).await, b"");
    // Spans, across the stores' buffer boundaries.
    assert!(span(store, &digest, 0, len).await == expect);
    let (s, l) = (CHUNK - 5, CHUNK + 10);
    assert!(span(store, &digest, s as u64, l as u64).await == expect[s..s + l]);
    assert!(span(store, &digest, 1000, 5000).await == expect[1000..6000]);
    assert_eq!(span(store, &digest, len - 3, 100).await, expect[expect.len() - 3..], "past the end: what there is");
    assert_eq!(span(store, &digest, len, 10).await, b"");
    assert_eq!(span(store, &digest, 7, 0).await, b"");

    // A digest that does not match drops the session and shows nothing.
    let bad = random_id();
    store.begin(&bad).await.unwrap();
    store.append(&bad, b"x").await.unwrap();
    let wrong = Digest::of(Algorithm::Sha256, b"y");
    assert_eq!(store.verify(&bad, &wrong).await.unwrap(), Err(Algorithm::Sha256.digest(b"x")));
    assert_eq!(store.upload_size(&bad).await.unwrap(), None);
    assert_eq!(store.size(&wrong).await.unwrap(), None);
    assert_eq!(store.size(&Digest::of(Algorithm::Sha256, b"x")).await.unwrap(), None);

    // sha512, matching and not.
    let data512 = pattern(2 * CHUNK + 3, 3);
    let d512 = Digest::of(Algorithm::Sha512, &data512);
    let id512 = random_id();
    store.begin(&id512).await.unwrap();
    write_body(store, &id512, &data512[..CHUNK]).await;
    store.append(&id512, &data512[CHUNK..]).await.unwrap();
    assert_eq!(store.verify(&id512, &d512).await.unwrap(), Ok(data512.len() as u64));
    store.commit_upload(&id512, &d512).await.unwrap();
    assert!(span(store, &d512, 0, data512.len() as u64).await == data512);
    let bad512 = random_id();
    store.begin(&bad512).await.unwrap();
    store.append(&bad512, b"sha512 body").await.unwrap();
    let wrong512 = Digest::of(Algorithm::Sha512, b"other");
    assert_eq!(store.verify(&bad512, &wrong512).await.unwrap(), Err(Algorithm::Sha512.digest(b"sha512 body")));
    assert_eq!(store.upload_size(&bad512).await.unwrap(), None);

    // A session written only through streamed bodies (the SHA-256 known as it was written).
    let streamed = random_id();
    let (a, b) = (pattern(CHUNK + 1, 5), pattern(40_000, 9));
    store.begin(&streamed).await.unwrap();
    write_body(store, &streamed, &a).await;
    write_body(store, &streamed, &b).await;
    let whole = [a, b].concat();
    let dstream = Digest::of(Algorithm::Sha256, &whole);
    assert_eq!(store.verify(&streamed, &dstream).await.unwrap(), Ok(whole.len() as u64));
    store.commit_upload(&streamed, &dstream).await.unwrap();
    assert!(read_from(store, &dstream, 0).await == whole);

    // An empty blob.
    let empty = random_id();
    let dempty = Digest::of(Algorithm::Sha256, b"");
    store.begin(&empty).await.unwrap();
    assert_eq!(store.verify(&empty, &dempty).await.unwrap(), Ok(0));
    store.commit_upload(&empty, &dempty).await.unwrap();
    assert_eq!(store.size(&dempty).await.unwrap(), Some(0));
    assert_eq!(read_from(store, &dempty, 0).await, b"");
    assert_eq!(span(store, &dempty, 0, 10).await, b"");

    // Cancel.
    let gone = random_id();
    store.begin(&gone).await.unwrap();
    store.append(&gone, b"abandoned").await.unwrap();
    assert!(store.cancel(&gone).await.unwrap());
    assert_eq!(store.upload_size(&gone).await.unwrap(), None);
    assert!(!store.cancel(&gone).await.unwrap());

    // put and remove.
    let config_blob = Bytes::from_static(b"{\"architecture\":\"amd64\"}");
    let dput = Digest::of(Algorithm::Sha256, &config_blob);
    store.put(&dput, config_blob.clone()).await.unwrap();
    assert_eq!(store.size(&dput).await.unwrap(), Some(config_blob.len() as u64));
    assert_eq!(span(store, &dput, 2, 5).await, config_blob[2..7]);
    store.remove(&dput).await.unwrap();
    assert_eq!(store.size(&dput).await.unwrap(), None);
    assert!(store.open_blob(&dput, 0).await.unwrap().is_none());
    store.remove(&dput).await.unwrap();
}

#[tokio::test]
async fn the_filesystem_store_passes_the_scenario() {
    let dir = std::env::temp_dir().join(unique_prefix("warden-blobs-fs"));
    let store = FsBlobStore::open(&dir).await.unwrap();
    conformance(&store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_s3_store_passes_the_scenario() {
    let store = s3_at(&unique_prefix("conformance")).await;
    conformance(&store).await;
}

#[tokio::test]
async fn the_s3_store_works_at_the_bucket_root_and_in_a_bucket_of_its_own() {
    let garage = garage().await;
    let bucket = tokio::task::spawn_blocking(|| Garage::shared().create_bucket(&unique_prefix("own"))).await.unwrap();
    let store = S3BlobStore::open(&S3Config { bucket, ..config(garage, "") }).await.unwrap();
    conformance(&store).await;
}

#[tokio::test]
async fn a_session_spans_two_store_instances() {
    let prefix = unique_prefix("two-instances");
    let (a, b) = (s3_at(&prefix).await, s3_at(&prefix).await);
    let id = random_id();
    a.begin(&id).await.unwrap();
    let first = pattern(3 * 1024 * 1024, 1);
    write_body(&a, &id, &first).await;
    assert_eq!(b.upload_size(&id).await.unwrap(), Some(first.len() as u64));
    let second = pattern(12 * 1024 * 1024 + 5, 2);
    assert_eq!(b.append(&id, &second).await.unwrap(), (first.len() + second.len()) as u64);
    assert_eq!(a.upload_size(&id).await.unwrap(), Some((first.len() + second.len()) as u64));
    let whole = [first, second].concat();
    let digest = Digest::of(Algorithm::Sha256, &whole);
    assert_eq!(a.size(&digest).await.unwrap(), None);
    assert_eq!(b.verify(&id, &digest).await.unwrap(), Ok(whole.len() as u64));
    b.commit_upload(&id, &digest).await.unwrap();
    assert_eq!(a.size(&digest).await.unwrap(), Some(whole.len() as u64));
    assert!(span(&a, &digest, 0, whole.len() as u64).await == whole);
    assert_eq!(a.upload_size(&id).await.unwrap(), None);

    // A cancel on one is seen by the other.
    let gone = random_id();
    a.begin(&gone).await.unwrap();
    assert!(b.cancel(&gone).await.unwrap());
    assert_eq!(a.upload_size(&gone).await.unwrap(), None);
}

#[tokio::test]
async fn a_hash_remembered_by_one_instance_is_not_trusted_once_another_rewrote_the_session() {
    let prefix = unique_prefix("rewritten");
    let (a, b) = (s3_at(&prefix).await, s3_at(&prefix).await);
    let id = random_id();
    a.begin(&id).await.unwrap();
    let original = pattern(100_000, 1);
    write_body(&a, &id, &original).await;
    // B takes it back and writes other bytes of the very same length.
    b.truncate_upload(&id, 0).await.unwrap();
    let other = pattern(100_000, 2);
    write_body(&b, &id, &other).await;
    assert_eq!(a.upload_size(&id).await.unwrap(), Some(100_000));
    // A remembers the hash of what it wrote; what is stored now is B's.
    let claimed = Digest::of(Algorithm::Sha256, &original);
    assert_eq!(a.verify(&id, &claimed).await.unwrap(), Err(Algorithm::Sha256.digest(&other)));
    assert_eq!(a.size(&claimed).await.unwrap(), None);
}

#[tokio::test]
async fn committing_other_bytes_than_were_verified_is_refused() {
    let prefix = unique_prefix("changed");
    let (a, b) = (s3_at(&prefix).await, s3_at(&prefix).await);
    let id = random_id();
    a.begin(&id).await.unwrap();
    a.append(&id, b"verified bytes").await.unwrap();
    let digest = Digest::of(Algorithm::Sha256, b"verified bytes");
    assert_eq!(a.verify(&id, &digest).await.unwrap(), Ok(14));
    b.append(&id, b" and more").await.unwrap();
    let err = a.commit_upload(&id, &digest).await.unwrap_err();
    assert!(err.to_string().contains("changed after it was verified"), "{err}");
    assert_eq!(a.size(&digest).await.unwrap(), None);
}

#[tokio::test]
async fn an_unfinished_body_leaves_nothing() {
    let store = s3_at(&unique_prefix("unfinished")).await;
    let id = random_id();
    store.begin(&id).await.unwrap();
    store.append(&id, b"kept").await.unwrap();
    // Bodies big enough to be multipart uploads, never completed: one whose writer is dropped
    // before shutdown (a failed request: the multipart upload is aborted), one whose writer is
    // forgotten (a process that died: the multipart upload stays open and incomplete).
    let mut w = store.open_append(&id).await.unwrap();
    w.write_all(&pattern(20 * 1024 * 1024, 4)).await.unwrap();
    drop(w);
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(4));
    let mut w = store.open_append(&id).await.unwrap();
    w.write_all(&pattern(20 * 1024 * 1024, 5)).await.unwrap();
    w.flush().await.unwrap();
    std::mem::forget(w);
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(4));
    let digest = Digest::of(Algorithm::Sha256, b"kept");
    assert_eq!(store.verify(&id, &digest).await.unwrap(), Ok(4));
    store.commit_upload(&id, &digest).await.unwrap();
    assert_eq!(span(&store, &digest, 0, 100).await, b"kept");
}

#[tokio::test]
async fn opening_reports_bad_locations_clearly() {
    for (url, says) in [
        ("http://bucket/prefix", "not an S3 location"),
        ("s3:///prefix", "names no bucket"),
        ("s3://Bucket/x", "lowercase"),
        ("s3://ab/x", "3 to 63"),
        ("s3://bucket/a//b", "empty path segment"),
    ] {
        let err = S3Config::from_url(url, None, "garage").unwrap_err();
        assert!(err.contains(says), "{url}: {err}");
    }
    let err = S3Config::from_url("s3://bucket/p", Some("ftp://host"), "garage").unwrap_err();
    assert!(err.contains("http:// or https://"), "{err}");
    assert!(S3Config::from_url("s3://bucket/p", None, "").unwrap_err().contains("region"));
    let ok = S3Config::from_url("s3://my-bucket/some/prefix/", Some("http://127.0.0.1:3900/"), "garage").unwrap();
    assert_eq!((ok.bucket.as_str(), ok.prefix.as_str()), ("my-bucket", "some/prefix"));
    assert_eq!(ok.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
    assert!(S3Config::from_url("s3://my-bucket", None, "us-east-1").unwrap().prefix.is_empty());

    // A bucket that does not exist, and wrong credentials: errors that name the bucket.
    let garage = garage().await;
    let missing = S3Config { bucket: "no-such-bucket-here".to_owned(), ..config(garage, "p") };
    let err = S3BlobStore::open(&missing).await.unwrap_err();
    assert!(err.to_string().contains("no-such-bucket-here"), "{err}");
    let creds = S3Config { credentials: Some(("GKnobody".to_owned(), "wrong".to_owned())), ..config(garage, "p") };
    let err = S3BlobStore::open(&creds).await.unwrap_err();
    assert!(err.to_string().contains(garage.bucket()) && err.to_string().contains(garage.endpoint()), "{err}");
}

/// Bytes at positions `from..from + len` of an endless deterministic stream (never held whole).
fn generated(from: u64, len: usize) -> Vec<u8> {
    (from..from + len as u64).map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8).collect()
}

#[tokio::test]
async fn a_64_mib_blob_round_trips_in_streams() {
    const SIZE: u64 = 64 * 1024 * 1024;
    const PIECE: usize = 1024 * 1024;
    let prefix = unique_prefix("large");
    let writer_store = s3_at(&prefix).await;
    let id = random_id();
    writer_store.begin(&id).await.unwrap();
    // Two request bodies (40 MiB and 24 MiB), each a multipart upload of its own.
    let mut hasher = Sha256::new();
    let mut pos = 0u64;
    for body_len in [40 * 1024 * 1024u64, 24 * 1024 * 1024] {
        let mut w = writer_store.open_append(&id).await.unwrap();
        let end = pos + body_len;
        while pos < end {
            let piece = generated(pos, PIECE);
            hasher.update(&piece);
            w.write_all(&piece).await.unwrap();
            pos += PIECE as u64;
        }
        w.shutdown().await.unwrap();
    }
    let digest = Digest::parse(&format!("sha256:{}", hex::encode(hasher.finalize()))).unwrap();
    // Verified and committed by another instance: hashed from the store, then streamed into one
    // multipart upload.
    let other = s3_at(&prefix).await;
    assert_eq!(other.verify(&id, &digest).await.unwrap(), Ok(SIZE));
    other.commit_upload(&id, &digest).await.unwrap();
    assert_eq!(writer_store.size(&digest).await.unwrap(), Some(SIZE));

    let mut chunks = writer_store.blob_chunks(&digest, 0, SIZE).await.unwrap().unwrap();
    let mut check = Sha256::new();
    let mut n = 0u64;
    while let Some(c) = chunks.try_next().await.unwrap() {
        n += c.len() as u64;
        check.update(&c);
    }
    assert_eq!(n, SIZE);
    assert_eq!(format!("sha256:{}", hex::encode(check.finalize())), digest.as_str());
    // A span across the boundary between the two bodies.
    let (from, len) = (40 * 1024 * 1024 - 1000, 3000);
    assert!(span(&writer_store, &digest, from, len as u64).await == generated(from, len));
}

#[test]
fn an_owned_garage_stops_and_cleans_up_when_dropped() {
    let garage = Garage::start();
    let dir = garage.dir().to_owned();
    let pid = std::fs::read_to_string(dir.join("garage.pid")).unwrap().trim().to_owned();
    let alive = |pid: &str| {
        std::process::Command::new("kill")
            .args(["-0", pid])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(alive(&pid), "the server runs");
    assert!(!garage.cli(&["bucket", "list"]).is_empty());
    drop(garage);
    assert!(!alive(&pid), "the server stopped");
    assert!(!dir.exists(), "{} removed", dir.display());
}

#[tokio::test]
async fn a_store_whose_server_is_gone_reports_errors_not_absence() {
    let garage = tokio::task::spawn_blocking(Garage::start).await.unwrap();
    let store = S3BlobStore::open(&config(&garage, "gone")).await.unwrap();
    let data = pattern(1000, 1);
    let digest = Digest::of(Algorithm::Sha256, &data);
    store.put(&digest, Bytes::from(data)).await.unwrap();
    let id = random_id();
    store.begin(&id).await.unwrap();
    assert_eq!(store.size(&digest).await.unwrap(), Some(1000));
    tokio::task::spawn_blocking(move || drop(garage)).await.unwrap();
    assert!(store.size(&digest).await.is_err());
    assert!(store.blob_chunks(&digest, 5, 10).await.is_err(), "not an empty span");
    assert!(store.open_blob(&digest, 0).await.is_err());
    assert!(store.upload_size(&id).await.is_err(), "not `no such session`");
    assert!(store.append(&id, b"x").await.is_err());
    assert!(store.remove(&digest).await.is_err());
}
