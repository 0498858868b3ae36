//! Blobs and upload sessions in an S3-compatible object store (AWS S3, Garage, MinIO, …) behind
//! [`BlobStore`]: several `warden serve` processes share one bucket, and an upload started through
//! one of them can be continued, verified and completed through any other.
//!
//! # Layout
//!
//! Under the configured prefix:
//!
//! - `blobs/<alg>/<first two hex>/<hex>`: a blob, under its digest.
//! - `uploads/<id>/session`: an empty marker written by [`BlobStore::begin`]; a session exists
//!   exactly while its marker does.
//! - `uploads/<id>/part-<start>-<token>`: the bytes one append wrote (one request body), from
//!   offset `<start>` (20 zero-padded digits) of the upload. `<token>` is random and never
//!   reused, so a part's key names its bytes for good: a key is written once and never
//!   overwritten.
//! - `uploads/<id>/tmp-<token>`: scratch while cutting a part short in
//!   [`BlobStore::truncate_upload`].
//!
//! # Why it is correct across processes
//!
//! All session state lives in the bucket; a process keeps nothing it needs. The size of an
//! upload is read from a listing of its prefix: the parts must tile `0..size` with no gap and no
//! overlap (anything else is reported as an error naming the session and the offset, not guessed
//! at). An append writes its part under a fresh key and completes it when the writer is shut
//! down; until then (and forever, if the process dies first) the part does not exist, because an
//! object — a single PUT or a multipart upload — becomes visible only whole. Truncation deletes
//! parts from the last one back, so a failure part way leaves a shorter upload that still tiles.
//! A blob appears under its digest in one step: a server-side copy of a single part, or the
//! completion of one multipart upload streaming the parts in order. Until then `size` and reads
//! of the digest find nothing. The session's objects are deleted after that.
//!
//! This relies on what S3 (since December 2020) and Garage both guarantee: strong
//! read-after-write consistency for objects and for listings — a completed PUT, multipart upload,
//! copy or delete is seen by every later GET, HEAD and LIST, from any client.
//!
//! A process remembers one thing, as a cache: the SHA-256 state of what it wrote to a session,
//! with the keys of the parts it covers. [`BlobStore::verify`] uses it only when the listed parts
//! are exactly those keys (which, being write-once, hold exactly those bytes), and otherwise
//! hashes the parts read back from the store.
//!
//! # Memory
//!
//! Writes go through [`BufWriter`]s of [`PART_SIZE`] with at most [`PART_CONCURRENCY`] parts in
//! flight; reads are ranged GETs streamed as the network delivers them. A 10 GiB layer takes no
//! more memory than a small one (a few tens of MiB per upload in progress).
//!
//! # Limits
//!
//! S3 allows 10 000 parts to a multipart upload: with [`PART_SIZE`] parts, one request body, and
//! a blob committed from several bodies, can be at most 80 GiB (a blob committed from a single
//! body is copied, and has the body's limit). CopyObject copies at most 5 GiB; a larger single
//! body is committed by streaming it instead. [`BlobStore::truncate_upload`] only cuts: a length
//! past the end of the upload is an error, not zeros.
//!
//! # Leftovers
//!
//! Abandoned sessions are removed by the registry's purge of stale uploads
//! ([`BlobStore::cancel`] deletes whatever is under a session's prefix). A process that dies in
//! the middle of a multipart upload leaves an incomplete upload: invisible, but stored until
//! aborted. Give the bucket a lifecycle rule that aborts incomplete multipart uploads after a
//! day (S3 and Garage both support `AbortIncompleteMultipartUpload`).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientConfigKey, GetOptions, GetRange, ObjectMeta, ObjectStore, PutPayload, RetryConfig,
};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use super::blobs::{BlobChunks, BlobReader, BlobStore, BoxFuture, UploadWriter};
use crate::names::{random_id, Algorithm, Digest, Hasher};

/// The size of each part of a multipart upload, and what a writer buffers before it starts one
/// (S3 wants parts of at least 5 MiB, the last one excepted).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts of one multipart upload in flight at once: a writer holds at most this many parts plus
/// the one it fills.
pub const PART_CONCURRENCY: usize = 2;

/// The largest object S3's CopyObject copies in one request; larger ones are streamed.
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// The name of a session's marker object.
const MARKER: &str = "session";

/// Sessions whose hash a process remembers at most (the cache is dropped whole beyond that).
const MAX_CACHED_HASHES: usize = 4096;

/// Where the blobs are: a bucket, a prefix in it, and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The key prefix everything is stored under (no leading or trailing `/`; empty for the
    /// bucket's root).
    pub prefix: String,
    /// A custom endpoint (`http://host:port` or `https://…`) for an S3-compatible store; `None`
    /// for AWS. A custom endpoint is addressed path-style (`endpoint/bucket/key`).
    pub endpoint: Option<String>,
    /// The region (`garage` for Garage's default).
    pub region: String,
    /// An access key id and secret; `None` takes credentials the usual AWS way (`AWS_ACCESS_KEY_ID`
    /// and `AWS_SECRET_ACCESS_KEY`, web identity, instance metadata…).
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("credentials", &self.credentials.as_ref().map(|(key, _)| (key, "<secret>")))
            .finish()
    }
}

impl S3Config {
    /// Parses `s3://BUCKET/PREFIX` (the prefix may be empty) with an optional custom `endpoint`
    /// and a `region`; credentials come from the environment (set
    /// [`S3Config::credentials`] to override).
    pub fn from_url(url: &str, endpoint: Option<&str>, region: &str) -> Result<S3Config, String> {
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(format!("`{url}` is not an S3 location: expected s3://BUCKET/PREFIX"));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("`{url}` names no bucket: expected s3://BUCKET/PREFIX"));
        }
        check_bucket(bucket).map_err(|why| format!("`{url}`: bucket `{bucket}` {why}"))?;
        let prefix = prefix.trim_end_matches('/');
        check_prefix(prefix).map_err(|why| format!("`{url}`: prefix `{prefix}` {why}"))?;
        let endpoint = match endpoint {
            None => None,
            Some(e) => {
                check_endpoint(e)?;
                Some(e.trim_end_matches('/').to_owned())
            }
        };
        if region.is_empty() {
            return Err("the S3 region is empty (Garage's default is `garage`; AWS's e.g. `us-east-1`)".to_owned());
        }
        Ok(S3Config {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint,
            region: region.to_owned(),
            credentials: None,
        })
    }

    /// Checks a configuration built by hand as [`S3Config::from_url`] checks a parsed one.
    pub fn validate(&self) -> Result<(), String> {
        check_bucket(&self.bucket).map_err(|why| format!("bucket `{}` {why}", self.bucket))?;
        check_prefix(&self.prefix).map_err(|why| format!("prefix `{}` {why}", self.prefix))?;
        if let Some(e) = &self.endpoint {
            check_endpoint(e)?;
        }
        if self.region.is_empty() {
            return Err("the S3 region is empty".to_owned());
        }
        Ok(())
    }
}

/// S3's bucket naming rules (the ones that matter for path-style addressing).
fn check_bucket(bucket: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&bucket.len()) {
        return Err("must be 3 to 63 characters long");
    }
    if !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
        return Err("may hold only lowercase letters, digits, `-` and `.`");
    }
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !alnum(bucket.bytes().next()) || !alnum(bucket.bytes().last()) {
        return Err("must begin and end with a letter or digit");
    }
    Ok(())
}

/// A prefix is `/`-separated segments, none empty, `.` or `..`.
fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.starts_with('/') || prefix.contains("//") {
        return Err("has an empty path segment".to_owned());
    }
    Path::parse(prefix).map(|_| ()).map_err(|e| format!("is not a valid key prefix: {e}"))
}

fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let host = endpoint.strip_prefix("http://").or_else(|| endpoint.strip_prefix("https://"));
    match host {
        Some(h) if !h.is_empty() && !h.starts_with('/') => Ok(()),
        _ => Err(format!("S3 endpoint `{endpoint}` must be an http:// or https:// URL with a host")),
    }
}

/// The keys (write-once, see the module doc) of the parts a hash covers, and the hash.
type HashCache = HashMap<String, (Vec<Path>, Sha256)>;

/// Blobs and upload sessions in an S3-compatible bucket; see the module documentation.
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    /// The prefix everything is under (possibly empty).
    root: String,
    /// For messages: `bucket` at `endpoint`.
    place: String,
    /// The SHA-256 of what this process wrote to each session, with the parts it covers.
    hashes: Arc<Mutex<HashCache>>,
    /// The parts each session was verified as, so that committing other bytes is refused.
    verified: Mutex<HashMap<String, Vec<Path>>>,
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore").field("place", &self.place).field("root", &self.root).finish()
    }
}

/// One part of an upload, from a listing.
#[derive(Debug, Clone)]
struct Part {
    key: Path,
    start: u64,
    size: u64,
}

/// An upload session as listed: its parts in order, tiling `0..size`.
#[derive(Debug)]
struct Session {
    parts: Vec<Part>,
    size: u64,
}

impl Session {
    fn keys(&self) -> Vec<Path> {
        self.parts.iter().map(|p| p.key.clone()).collect()
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn no_upload(id: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no upload session `{id}`"))
}

fn bad_id(id: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("`{id}` cannot name an upload session"))
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

/// Parses `part-<start>-<token>`.
fn part_start(name: &str) -> Option<u64> {
    let (start, token) = name.strip_prefix("part-")?.split_once('-')?;
    (start.len() == 20 && !token.is_empty()).then_some(())?;
    start.parse().ok()
}

impl S3BlobStore {
    /// Connects to the bucket `config` names and checks that it answers (a listing of the
    /// prefix); the error names the bucket and the endpoint.
    pub async fn open(config: &S3Config) -> io::Result<S3BlobStore> {
        config.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut builder = match &config.credentials {
            None => AmazonS3Builder::from_env(),
            Some((key, secret)) => {
                AmazonS3Builder::new().with_access_key_id(key.as_str()).with_secret_access_key(secret.as_str())
            }
        };
        builder = builder
            .with_bucket_name(config.bucket.as_str())
            .with_region(config.region.as_str())
            // A download streams for as long as its client reads: a request may take up to a
            // day (object_store's default is 30 seconds), connecting 5 seconds.
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "24h")
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), "5s")
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 4,
                retry_timeout: Duration::from_secs(60),
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint.as_str()).with_virtual_hosted_style_request(false);
            if endpoint.starts_with("http://") {
                builder = builder.with_allow_http(true);
            }
        }
        let place = format!(
            "bucket `{}` at {}",
            config.bucket,
            config.endpoint.clone().unwrap_or_else(|| format!("AWS S3 ({})", config.region))
        );
        let store =
            builder.build().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("S3 {place}: {e}")))?;
        let s3 = S3BlobStore {
            store: Arc::new(store),
            root: config.prefix.clone(),
            place,
            hashes: Arc::default(),
            verified: Mutex::default(),
        };
        let root = (!s3.root.is_empty()).then(|| Path::from(s3.root.as_str()));
        s3.store
            .list_with_delimiter(root.as_ref())
            .await
            .map_err(|e| io::Error::other(format!("S3 {} is not reachable: {e}", s3.place)))?;
        tracing::info!(place = %s3.place, prefix = %s3.root, "blob store on S3");
        Ok(s3)
    }

    /// `rel` under the prefix.
    fn key(&self, rel: &str) -> Path {
        if self.root.is_empty() {
            Path::from(rel)
        } else {
            Path::from(format!("{}/{rel}", self.root))
        }
    }

    fn blob_key(&self, digest: &Digest) -> io::Result<Path> {
        let bad = || io::Error::new(io::ErrorKind::InvalidInput, format!("bad digest `{digest}`"));
        let (alg, hex) = digest.as_str().split_once(':').ok_or_else(bad)?;
        let fan = hex.get(..2).ok_or_else(bad)?;
        Ok(self.key(&format!("blobs/{alg}/{fan}/{hex}")))
    }

    fn session_key(&self, id: &str) -> Path {
        self.key(&format!("uploads/{id}"))
    }

    fn part_key(&self, id: &str, start: u64) -> Path {
        self.key(&format!("uploads/{id}/part-{start:020}-{}", random_id()))
    }

    /// An error from the store about `key`, as an `io::Error` of the matching kind.
    fn fail(&self, what: &str, key: &Path, e: object_store::Error) -> io::Error {
        let kind = if is_not_found(&e) { io::ErrorKind::NotFound } else { io::ErrorKind::Other };
        io::Error::new(kind, format!("S3 {}: {what} `{key}`: {e}", self.place))
    }

    /// Every object under a session's prefix.
    async fn list_session(&self, id: &str) -> io::Result<Vec<ObjectMeta>> {
        let prefix = self.session_key(id);
        self.store.list(Some(&prefix)).try_collect().await.map_err(|e| self.fail("listing", &prefix, e))
    }

    /// The session `id` as the store has it; `None` when it has no marker.
    async fn session(&self, id: &str) -> io::Result<Option<Session>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let objects = self.list_session(id).await?;
        let mut marker = false;
        let mut parts = Vec::new();
        for o in objects {
            match o.location.filename() {
                Some(MARKER) => marker = true,
                Some(name) => {
                    if let Some(start) = part_start(name) {
                        parts.push(Part { key: o.location.clone(), start, size: o.size });
                    }
                }
                None => {}
            }
        }
        if !marker {
            return Ok(None);
        }
        parts.sort_by(|a, b| (a.start, a.key.as_ref()).cmp(&(b.start, b.key.as_ref())));
        let mut size = 0u64;
        for p in &parts {
            if p.start != size {
                let what = if p.start < size { "overlapping parts (concurrent appends?)" } else { "a gap" };
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("S3 {}: upload session `{id}` has {what} at offset {}", self.place, p.start.min(size)),
                ));
            }
            size += p.size;
        }
        Ok(Some(Session { parts, size }))
    }

    /// Deletes a session's objects, its marker last; whether it had a marker.
    async fn delete_session(&self, id: &str) -> io::Result<bool> {
        let objects = self.list_session(id).await?;
        let mut marker = None;
        for o in objects {
            if o.location.filename() == Some(MARKER) {
                marker = Some(o.location);
                continue;
            }
            self.delete(&o.location).await?;
        }
        match marker {
            Some(m) => self.delete(&m).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Deletes an object; absent is no error.
    async fn delete(&self, key: &Path) -> io::Result<()> {
        match self.store.delete(key).await {
            Err(e) if !is_not_found(&e) => Err(self.fail("deleting", key, e)),
            _ => Ok(()),
        }
    }

    /// A writer that completes the object `key` when shut down.
    fn writer(&self, key: &Path) -> BufWriter {
        BufWriter::with_capacity(Arc::clone(&self.store), key.clone(), PART_SIZE).with_max_concurrency(PART_CONCURRENCY)
    }

    /// Streams the first `len` bytes of each source, in order, into one new object `dest`,
    /// which appears only once whole.
    async fn concat(&self, sources: &[(Path, u64)], dest: &Path) -> io::Result<()> {
        let mut out = self.writer(dest);
        let copied = self.copy_into(sources, &mut out).await;
        let shut = match copied {
            Ok(()) => out.shutdown().await,
            Err(e) => {
                if let Err(abort) = out.abort().await {
                    tracing::warn!(key = %dest, error = %abort, "aborting a multipart upload");
                }
                Err(e)
            }
        };
        shut.map_err(|e| io::Error::new(e.kind(), format!("S3 {}: writing `{dest}`: {e}", self.place)))
    }

    async fn copy_into(&self, sources: &[(Path, u64)], out: &mut BufWriter) -> io::Result<()> {
        for (key, len) in sources {
            if *len == 0 {
                continue;
            }
            let opts = GetOptions { range: Some(GetRange::Bounded(0..*len)), ..GetOptions::default() };
            let got = self.store.get_opts(key, opts).await.map_err(|e| self.fail("reading", key, e))?;
            let mut stream = got.into_stream();
            let mut n = 0u64;
            while let Some(chunk) = stream.try_next().await.map_err(|e| self.fail("reading", key, e))? {
                n += chunk.len() as u64;
                out.write_all(&chunk).await?;
            }
            if n != *len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("S3 {}: `{key}` gave {n} bytes, expected {len}", self.place),
                ));
            }
        }
        Ok(())
    }

    /// Copies the object `from` (of `size` bytes) to `to`: server-side up to CopyObject's limit,
    /// streamed beyond it.
    async fn copy_object(&self, from: &Path, to: &Path, size: u64) -> io::Result<()> {
        if size <= MAX_COPY {
            self.store.copy(from, to).await.map_err(|e| self.fail("copying", from, e))
        } else {
            self.concat(&[(from.clone(), size)], to).await
        }
    }

    /// The session's writer for a new part at its end, and that end.
    async fn open_part(&self, id: &str) -> io::Result<(PartWriter, u64)> {
        if !valid_id(id) {
            return Err(bad_id(id));
        }
        let session = self.session(id).await?.ok_or_else(|| no_upload(id))?;
        let chain = session.keys();
        // Continue the running hash when it covers exactly the parts there are.
        let hash = {
            let hashes = self.hashes.lock().unwrap_or_else(PoisonError::into_inner);
            match hashes.get(id) {
                Some((keys, h)) if *keys == chain => Some(h.clone()),
                _ if chain.is_empty() => Some(Sha256::new()),
                _ => None,
            }
        };
        let key = self.part_key(id, session.size);
        let writer = PartWriter {
            store: Arc::clone(&self.store),
            key,
            writer: None,
            shutting_down: false,
            done: false,
            id: id.to_owned(),
            chain,
            hash,
            hashes: Arc::clone(&self.hashes),
        };
        Ok((writer, session.size))
    }

    /// Hashes a session's parts read back from the store: (`alg:hex`).
    async fn hash_parts(&self, parts: &[Part], alg: Algorithm) -> io::Result<String> {
        let mut hasher = Hasher::new(alg);
        for part in parts {
            let got = self.store.get(&part.key).await.map_err(|e| self.fail("reading", &part.key, e))?;
            let mut stream = got.into_stream();
            let mut n = 0u64;
            while let Some(chunk) = stream.try_next().await.map_err(|e| self.fail("reading", &part.key, e))? {
                n += chunk.len() as u64;
                hasher.update(&chunk);
            }
            if n != part.size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("S3 {}: `{}` gave {n} bytes, listed as {}", self.place, part.key, part.size),
                ));
            }
        }
        Ok(hasher.finish())
    }

    /// A ranged GET of a blob as a byte stream; `None` when the blob is absent, an empty stream
    /// when `range` starts at or past its end.
    async fn ranged(&self, digest: &Digest, range: Option<GetRange>) -> io::Result<Option<BlobChunks>> {
        let key = self.blob_key(digest)?;
        let start = match &range {
            None => None,
            Some(GetRange::Bounded(r)) => Some(r.start),
            Some(GetRange::Offset(o)) => Some(*o),
            Some(GetRange::Suffix(_)) => Some(0),
        };
        match self.store.get_opts(&key, GetOptions { range, ..GetOptions::default() }).await {
            Ok(got) => {
                let place = self.place.clone();
                let k = key.clone();
                let stream =
                    got.into_stream().map_err(move |e| io::Error::other(format!("S3 {place}: reading `{k}`: {e}")));
                Ok(Some(Box::pin(stream)))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            // A range that starts at or past the end is refused (416); tell that from a failure.
            Err(e) if start.is_some() => match self.store.head(&key).await {
                Err(h) if is_not_found(&h) => Ok(None),
                Ok(meta) if start.is_some_and(|s| s >= meta.size) => {
                    let empty: BlobChunks = Box::pin(futures_util::stream::empty());
                    tracing::debug!(key = %key, error = %e, "ranged read at or past the end");
                    Ok(Some(empty))
                }
                _ => Err(self.fail("reading", &key, e)),
            },
            Err(e) => Err(self.fail("reading", &key, e)),
        }
    }
}

impl BlobStore for S3BlobStore {
    fn size<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, io::Result<Option<u64>>> {
        Box::pin(async move {
            let key = self.blob_key(digest)?;
            match self.store.head(&key).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(e) => Err(self.fail("reading the size of", &key, e)),
            }
        })
    }

    fn open_blob<'a>(&'a self, digest: &'a Digest, offset: u64) -> BoxFuture<'a, io::Result<Option<BlobReader>>> {
        Box::pin(async move {
            let range = (offset > 0).then_some(GetRange::Offset(offset));
            let Some(stream) = self.ranged(digest, range).await? else { return Ok(None) };
            let reader: BlobReader = Box::new(tokio_util::io::StreamReader::new(stream));
            Ok(Some(reader))
        })
    }

    fn blob_chunks<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
        len: u64,
    ) -> BoxFuture<'a, io::Result<Option<BlobChunks>>> {
        Box::pin(async move {
            if len == 0 {
                let exists = self.size(digest).await?.is_some();
                let empty: BlobChunks = Box::pin(futures_util::stream::empty());
                return Ok(exists.then_some(empty));
            }
            self.ranged(digest, Some(GetRange::Bounded(offset..offset.saturating_add(len)))).await
        })
    }

    fn begin<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            if !valid_id(id) {
                return Err(bad_id(id));
            }
            let key = self.key(&format!("uploads/{id}/{MARKER}"));
            self.store.put(&key, PutPayload::new()).await.map_err(|e| self.fail("writing", &key, e))?;
            Ok(())
        })
    }

    fn upload_size<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>> {
        Box::pin(async move { Ok(self.session(id).await?.map(|s| s.size)) })
    }

    fn open_append<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<UploadWriter>> {
        Box::pin(async move {
            let (writer, _) = self.open_part(id).await?;
            Ok(Box::new(writer) as UploadWriter)
        })
    }

    fn append<'a>(&'a self, id: &'a str, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<u64>> {
        Box::pin(async move {
            let (mut writer, start) = self.open_part(id).await?;
            writer.write_all(chunk).await?;
            writer.shutdown().await?;
            Ok(start + chunk.len() as u64)
        })
    }

    fn truncate_upload<'a>(&'a self, id: &'a str, len: u64) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let session = self.session(id).await?.ok_or_else(|| no_upload(id))?;
            if len > session.size {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("upload session `{id}` holds {} bytes, cannot cut it to {len}", session.size),
                ));
            }
            // From the last part back: a failure part way leaves a shorter upload that tiles.
            for part in session.parts.iter().rev().filter(|p| p.start >= len) {
                self.delete(&part.key).await?;
            }
            // A part that straddles `len` keeps its head, under a new key: first into scratch,
            // then the old part goes (the upload is briefly shorter, never inconsistent), then
            // the head comes back as the part.
            if let Some(part) = session.parts.iter().find(|p| p.start < len && p.start + p.size > len) {
                let keep = len - part.start;
                let tmp = self.key(&format!("uploads/{id}/tmp-{}", random_id()));
                self.concat(&[(part.key.clone(), keep)], &tmp).await?;
                self.delete(&part.key).await?;
                self.copy_object(&tmp, &self.part_key(id, part.start), keep).await?;
                self.delete(&tmp).await?;
            }
            tracing::debug!(upload = id, len, "upload truncated");
            Ok(())
        })
    }

    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<bool>> {
        Box::pin(async move {
            self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            self.verified.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            if !valid_id(id) {
                return Ok(false);
            }
            self.delete_session(id).await
        })
    }

    fn verify<'a>(&'a self, id: &'a str, digest: &'a Digest) -> BoxFuture<'a, io::Result<Result<u64, String>>> {
        Box::pin(async move {
            let session = self.session(id).await?.ok_or_else(|| no_upload(id))?;
            let keys = session.keys();
            let cached = self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let actual = match (digest.algorithm(), cached) {
                // Hashed while this process wrote it, and the parts are those it wrote.
                (Algorithm::Sha256, Some((covered, h))) if covered == keys => {
                    format!("sha256:{}", hex::encode(h.finalize()))
                }
                (alg, _) => self.hash_parts(&session.parts, alg).await?,
            };
            if actual != digest.as_str() {
                tracing::debug!(upload = id, expected = %digest, actual = %actual, "digest mismatch; upload dropped");
                self.delete_session(id).await?;
                return Ok(Err(actual));
            }
            self.verified.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_owned(), keys);
            Ok(Ok(session.size))
        })
    }

    fn commit_upload<'a>(&'a self, id: &'a str, digest: &'a Digest) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let session = self.session(id).await?.ok_or_else(|| no_upload(id))?;
            if verified.is_some_and(|keys| keys != session.keys()) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("upload session `{id}` changed after it was verified"),
                ));
            }
            let dest = self.blob_key(digest)?;
            match session.parts.as_slice() {
                [] => {
                    self.store.put(&dest, PutPayload::new()).await.map_err(|e| self.fail("writing", &dest, e))?;
                }
                [one] => self.copy_object(&one.key, &dest, one.size).await?,
                many => {
                    let sources: Vec<(Path, u64)> = many.iter().map(|p| (p.key.clone(), p.size)).collect();
                    self.concat(&sources, &dest).await?;
                }
            }
            tracing::debug!(upload = id, digest = %digest, size = session.size, "upload committed");
            // The blob is in place; leftovers of the session are garbage, not a failure.
            if let Err(e) = self.delete_session(id).await {
                tracing::warn!(upload = id, error = %e, "removing a committed upload session");
            }
            Ok(())
        })
    }

    fn put<'a>(&'a self, digest: &'a Digest, data: Bytes) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let key = self.blob_key(digest)?;
            self.store.put(&key, PutPayload::from(data)).await.map_err(|e| self.fail("writing", &key, e))?;
            Ok(())
        })
    }

    fn remove<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { self.delete(&self.blob_key(digest)?).await })
    }
}

/// The writer of one part: created on the first byte (an empty request body writes no part),
/// completed by `shutdown`, hashing (SHA-256) what it takes for [`BlobStore::verify`].
struct PartWriter {
    store: Arc<dyn ObjectStore>,
    key: Path,
    writer: Option<BufWriter>,
    /// `shutdown` was called: the inner writer must not be written or aborted any more.
    shutting_down: bool,
    /// The part is complete (or there was nothing to write).
    done: bool,
    id: String,
    /// The parts before this one.
    chain: Vec<Path>,
    /// The hash of the parts before this one and of what this one took so far, when known.
    hash: Option<Sha256>,
    hashes: Arc<Mutex<HashCache>>,
}

impl AsyncWrite for PartWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.shutting_down {
            return Poll::Ready(Err(io::Error::other("write to an upload part after shutdown")));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let writer = this.writer.get_or_insert_with(|| {
            BufWriter::with_capacity(Arc::clone(&this.store), this.key.clone(), PART_SIZE)
                .with_max_concurrency(PART_CONCURRENCY)
        });
        // At most a part at a time: the writer waits for a free upload slot before each write,
        // so a huge buffer (ECR's UploadLayerPart hands one over whole) cannot start more parts
        // at once than PART_CONCURRENCY allows.
        let buf = buf.get(..buf.len().min(PART_SIZE)).unwrap_or(buf);
        let n = ready!(Pin::new(writer).poll_write(cx, buf))?;
        if let Some(h) = this.hash.as_mut() {
            h.update(buf.get(..n).unwrap_or_default());
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.writer.as_mut() {
            Some(w) if !this.shutting_down => Pin::new(w).poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(Ok(()));
        }
        this.shutting_down = true;
        let Some(writer) = this.writer.as_mut() else {
            this.done = true;
            return Poll::Ready(Ok(()));
        };
        let result = ready!(Pin::new(writer).poll_shutdown(cx));
        this.done = true;
        if let Err(e) = result {
            return Poll::Ready(Err(io::Error::new(e.kind(), format!("completing upload part `{}`: {e}", this.key))));
        }
        if let Some(h) = this.hash.take() {
            let mut keys = std::mem::take(&mut this.chain);
            keys.push(this.key.clone());
            let mut hashes = this.hashes.lock().unwrap_or_else(PoisonError::into_inner);
            if hashes.len() >= MAX_CACHED_HASHES {
                hashes.clear();
            }
            hashes.insert(this.id.clone(), (keys, h));
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        // Dropped before shutdown (the request failed or was cancelled): nothing of this part is
        // visible; abort a multipart upload it may have begun rather than leave it to expire.
        if self.shutting_down {
            return;
        }
        if let (Some(mut writer), Ok(handle)) = (self.writer.take(), tokio::runtime::Handle::try_current()) {
            let key = self.key.clone();
            handle.spawn(async move {
                if let Err(e) = writer.abort().await {
                    tracing::debug!(key = %key, error = %e, "aborting an unfinished upload part");
                }
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn part_names_parse_only_in_their_own_form() {
        assert_eq!(part_start("part-00000000000000001234-0a1b"), Some(1234));
        assert_eq!(part_start(&format!("part-{:020}-{}", u64::MAX, random_id())), Some(u64::MAX));
        for name in ["session", "tmp-00000000000000000000-ab", "part-1234-ab", "part-00000000000000001234-", "part-"] {
            assert_eq!(part_start(name), None, "{name}");
        }
    }

    #[test]
    fn a_configuration_built_by_hand_is_checked_like_a_parsed_one() {
        let good = S3Config::from_url("s3://bucket.example/a/b", Some("https://s3.example"), "eu-west-1").unwrap();
        assert_eq!(good.validate(), Ok(()));
        let bad = S3Config { prefix: "a//b".to_owned(), ..good.clone() };
        assert!(bad.validate().unwrap_err().contains("empty path segment"));
        let bad = S3Config { bucket: "-bucket".to_owned(), ..good.clone() };
        assert!(bad.validate().unwrap_err().contains("begin and end"));
        let bad = S3Config { endpoint: Some("s3.example".to_owned()), ..good.clone() };
        assert!(bad.validate().unwrap_err().contains("http://"));
        // The secret never shows in debug output.
        let with_secret = S3Config { credentials: Some(("AKID".to_owned(), "s3cr3t".to_owned())), ..good };
        let shown = format!("{with_secret:?}");
        assert!(shown.contains("AKID") && !shown.contains("s3cr3t"), "{shown}");
    }
}
