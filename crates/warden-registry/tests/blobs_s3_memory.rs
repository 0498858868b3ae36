//! Memory of the S3 blob store under a 2 GiB blob, in a test binary of its own (the peak resident
//! size is the process's, so nothing else may run beside it): pushed as two 1 GiB request bodies
//! through `open_append`, verified, committed (the two parts streamed into one multipart upload)
//! and pulled back through `blob_chunks`, on a real Garage. The peak (`VmHWM`) must stay under
//! 100 MiB. Takes a minute or two; `--release` is quicker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Instant;

use futures_util::TryStreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;
use warden_registry::names::{random_id, Digest};
use warden_registry::storage::blobs::BlobStore;
use warden_registry::storage::s3::{S3BlobStore, S3Config};
use warden_testkit::garage::{unique_prefix, Garage};

/// The peak resident set size of this process so far, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gib_pushed_and_pulled_through_s3_stay_under_100_mib_resident() {
    const BODY: u64 = 1024 * 1024 * 1024;
    const PIECE: usize = 1024 * 1024;
    const LIMIT_KIB: u64 = 100 * 1024;
    let garage = tokio::task::spawn_blocking(Garage::shared).await.unwrap();
    let config = S3Config {
        bucket: garage.bucket().to_owned(),
        prefix: unique_prefix("memory"),
        endpoint: Some(garage.endpoint().to_owned()),
        region: garage.region().to_owned(),
        credentials: Some((garage.access_key().to_owned(), garage.secret_key().to_owned())),
    };
    let store = S3BlobStore::open(&config).await.unwrap();
    let before = vm_hwm_kib();

    // One pseudo-random MiB, each copy stamped with its index: 2048 different pieces from one
    // buffer.
    let mut piece = vec![0u8; PIECE];
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for b in piece.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let started = Instant::now();
    let id = random_id();
    store.begin(&id).await.unwrap();
    let mut hasher = Sha256::new();
    let mut index = 0u64;
    for _ in 0..2 {
        let mut w = store.open_append(&id).await.unwrap();
        for _ in 0..BODY / PIECE as u64 {
            piece[..8].copy_from_slice(&index.to_le_bytes());
            index += 1;
            hasher.update(&piece);
            w.write_all(&piece).await.unwrap();
        }
        w.shutdown().await.unwrap();
    }
    let size = 2 * BODY;
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(size));
    let pushed = started.elapsed();
    let digest = Digest::parse(&format!("sha256:{}", hex::encode(hasher.finalize()))).unwrap();
    assert_eq!(store.verify(&id, &digest).await.unwrap(), Ok(size));
    store.commit_upload(&id, &digest).await.unwrap();
    assert_eq!(store.size(&digest).await.unwrap(), Some(size));
    let committed = started.elapsed();

    let mut chunks = store.blob_chunks(&digest, 0, size).await.unwrap().unwrap();
    let mut check = Sha256::new();
    let mut n = 0u64;
    while let Some(c) = chunks.try_next().await.unwrap() {
        n += c.len() as u64;
        check.update(&c);
    }
    assert_eq!(n, size);
    assert_eq!(format!("sha256:{}", hex::encode(check.finalize())), digest.as_str());
    let pulled = started.elapsed();
    store.remove(&digest).await.unwrap();

    let after = vm_hwm_kib();
    println!(
        "2 GiB through S3BlobStore: VmHWM {} MiB before, {} MiB after (limit {} MiB); pushed in {:.1}s, \
         verified and committed by {:.1}s, pulled by {:.1}s",
        before / 1024,
        after / 1024,
        LIMIT_KIB / 1024,
        pushed.as_secs_f64(),
        committed.as_secs_f64(),
        pulled.as_secs_f64()
    );
    assert!(after < LIMIT_KIB, "peak resident {after} KiB, over {LIMIT_KIB} KiB");
}
