//! Shared by `authz_matrix.rs` and `faults.rs`: a registry on loopback over a recording (and, on
//! demand, failing) metadata store, a raw HTTP/1.1 client that sends request targets byte for
//! byte, registry tokens for /v2 and SigV4 signatures for the ECR API.

#![allow(dead_code)] // each test file uses a part

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden_registry::names::Digest;
use warden_registry::storage::blobs::BlobStore;
use warden_registry::storage::meta::{
    ExpiryRecord, FleetGuard, ImageIdRow, ImageSummary, Manifest, MetaError, MetadataStore, NewManifest, PutOutcome,
    Repository, TagFilter,
};
use warden_registry::storage::s3::S3Config;
use warden_registry::storage::{Backends, BlobBackend, MetaBackend};
use warden_registry::{Config, Registry};

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";

/// A [`MetadataStore`] that appends the name of every method called to a log and delegates to
/// the real store (SQLite, or PostgreSQL under `WARDEN_TEST_STORAGE=s3-postgres`); while `fail`
/// is on, every call fails instead (after being logged).
pub struct Recorder {
    /// The real store (tests read and repair state through it without being logged).
    pub inner: Arc<dyn MetadataStore>,
    log: Mutex<Vec<&'static str>>,
    /// Every call returns `MetaError::Other` while this is set.
    pub fail: AtomicBool,
}

impl Recorder {
    pub fn new(inner: Arc<dyn MetadataStore>) -> Recorder {
        Recorder { inner, log: Mutex::new(Vec::new()), fail: AtomicBool::new(false) }
    }

    /// Empties the log.
    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }

    /// The calls since the last `clear`/`take`, in order; empties the log.
    pub fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn enter(&self, name: &'static str) -> Result<(), MetaError> {
        self.log.lock().unwrap().push(name);
        if self.fail.load(Ordering::SeqCst) {
            return Err(MetaError::Other(format!("injected failure of `{name}`").into()));
        }
        Ok(())
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        #[allow(clippy::too_many_arguments)]
        impl MetadataStore for Recorder {
            $(
                fn $name(&self, $($arg: $ty),*) -> Result<$ret, MetaError> {
                    self.enter(stringify!($name))?;
                    self.inner.$name($($arg),*)
                }
            )*
        }
    };
}

delegate! {
    create_repository(name: &str, tags: &[(String, String)], mutability: &str, now: i64) -> bool;
    repository(name: &str) -> Option<Repository>;
    repositories() -> Vec<String>;
    set_policy(name: &str, policy: Option<&str>) -> bool;
    delete_repository(name: &str) -> bool;
    link_blob(repo: &str, digest: &str, size: u64) -> ();
    blob(repo: &str, digest: &str) -> Option<u64>;
    unlink_blob(repo: &str, digest: &str) -> bool;
    blob_referenced(digest: &str) -> bool;
    repository_blobs(repo: &str) -> Vec<String>;
    put_manifest(manifest: &NewManifest<'_>) -> PutOutcome;
    image_page(repo: &str, filter: TagFilter, offset: usize, limit: usize) -> (Vec<ImageSummary>, usize);
    image_id_page(repo: &str, filter: TagFilter, offset: usize, limit: usize) -> (Vec<ImageIdRow>, usize);
    image_summary(repo: &str, digest: &str) -> Option<ImageSummary>;
    manifest(repo: &str, reference: &str) -> Option<Manifest>;
    delete_manifest(repo: &str, digest: &str) -> Option<Vec<String>>;
    untag(repo: &str, tag: &str) -> bool;
    tags(repo: &str) -> Vec<String>;
    tag_count(repo: &str, digest: &str) -> usize;
    tag(repo: &str, tag: &str) -> Option<String>;
    referrers(repo: &str, subject: &str) -> Vec<Manifest>;
    images(repo: &str) -> Vec<(Manifest, i64)>;
    all_tags(repo: &str) -> Vec<(String, String)>;
    set_repository_tags(repo: &str, tags: &[(String, String)]) -> bool;
    set_tag_mutability(repo: &str, mutability: &str) -> bool;
    image_count(repo: &str) -> usize;
    repository_count() -> usize;
    begin_upload(id: &str, repo: &str, now: i64) -> ();
    upload_repo(id: &str) -> Option<String>;
    record_part(id: &str, size: u64) -> ();
    upload_parts(id: &str) -> (u64, u64);
    set_scan_on_push(name: &str, on: bool) -> bool;
    set_lifecycle_policy(repo: &str, text: Option<&str>) -> bool;
    lifecycle_policy(repo: &str) -> Option<(String, Option<i64>)>;
    lifecycle_policies() -> Vec<(String, String)>;
    lifecycle_evaluated(repo: &str, at: i64) -> ();
    set_lifecycle_preview(repo: &str, text: &str, results: &str) -> ();
    lifecycle_preview(repo: &str) -> Option<(String, String)>;
    record_expiry(repo: &str, digest: &str, tags: &[String], pushed_at: i64, rule: i64, at: i64) -> ();
    expiries(repo: &str) -> Vec<ExpiryRecord>;
    stale_uploads(before: i64) -> Vec<String>;
    end_upload(id: &str) -> ();
    lock_blob(digest: &str) -> FleetGuard;
    try_lease(name: &str) -> Option<FleetGuard>;
    shared_secret(name: &str, candidate: &[u8]) -> Option<Vec<u8>>;
}

/// Set to `s3-postgres` to run the registry's tests on the scale-out backends: blobs in a fresh
/// prefix of a private Garage's bucket, metadata in a fresh database of a private PostgreSQL (both
/// started once per test process by `warden-testkit`). Unset, the defaults (filesystem, SQLite).
pub const STORAGE_ENV: &str = "WARDEN_TEST_STORAGE";

/// The storage a test registry named `name` runs on ([`STORAGE_ENV`]).
pub fn storage(name: &str) -> Backends {
    match std::env::var(STORAGE_ENV).as_deref() {
        Err(_) | Ok("") | Ok("default") => Backends::default(),
        Ok("s3-postgres") => scale_out(name),
        Ok(other) => panic!("{STORAGE_ENV}={other}: use `s3-postgres` or leave it unset"),
    }
}

/// Blobs in a fresh prefix of the process's Garage bucket, metadata in a fresh PostgreSQL database.
pub fn scale_out(name: &str) -> Backends {
    let garage = warden_testkit::garage::Garage::shared();
    let postgres = warden_testkit::postgres::Postgres::shared();
    Backends {
        blobs: BlobBackend::S3(S3Config {
            bucket: garage.bucket().to_owned(),
            prefix: warden_testkit::garage::unique_prefix(name),
            endpoint: Some(garage.endpoint().to_owned()),
            region: garage.region().to_owned(),
            credentials: Some((garage.access_key().to_owned(), garage.secret_key().to_owned())),
        }),
        metadata: MetaBackend::Postgres(postgres.fresh_database(&warden_testkit::scale_out::database_prefix(name))),
    }
}

/// The access key id of a test user (`AKIA` + the name, upper-cased, padded with zeros).
pub fn key_id(user: &str) -> String {
    format!("AKIA{:0<16}", user.to_uppercase())
}

fn secret(user: &str) -> String {
    format!("{user}-secret-access-key")
}

/// A registry on loopback over a [`Recorder`].
pub struct Server {
    /// `127.0.0.1:port`.
    pub addr: String,
    pub registry: Arc<Registry>,
    /// The metadata store the registry runs on.
    pub meta: Arc<Recorder>,
    /// The blob store the registry runs on.
    pub blobs: Arc<dyn BlobStore>,
    /// The data directory (`registry.db` is in it).
    pub data_dir: PathBuf,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a registry whose account has `users` (an identities-file `users` object; every user
/// gets an access key for SigV4).
pub async fn start(name: &str, users: Value) -> Server {
    start_on(name, users, None).await
}

/// [`start`] with its blobs in `blobs` (`None`: the blob store under test, [`storage`]).
pub async fn start_on(name: &str, users: Value, blobs: Option<Arc<dyn BlobStore>>) -> Server {
    start_full(name, users, blobs, warden_registry::ThrottleConfig::default()).await
}

/// [`start`] with `throttle` as its throttle configuration.
pub async fn start_throttled(name: &str, users: Value, throttle: warden_registry::ThrottleConfig) -> Server {
    start_full(name, users, None, throttle).await
}

async fn start_full(
    name: &str,
    users: Value,
    blobs: Option<Arc<dyn BlobStore>>,
    throttle: warden_registry::ThrottleConfig,
) -> Server {
    let dir = std::env::temp_dir().join(format!("warden-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies/identities")).unwrap();
    let mut users = users;
    for (user, spec) in users.as_object_mut().unwrap() {
        spec.as_object_mut()
            .unwrap()
            .insert("access_keys".into(), json!([{"id": key_id(user), "secret": secret(user)}]));
    }
    let identities = json!({"account": ACCOUNT, "users": users});
    std::fs::write(dir.join("policies/identities/test.json"), identities.to_string()).unwrap();
    let config = Config {
        data_dir: dir.join("data"),
        policies_dir: dir.join("policies"),
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        limits: warden_registry::Limits::default(),
        storage: storage(name),
        throttle,
        trail: Some(warden_registry::trail::TrailConfig::new(dir.join("trail"), ACCOUNT, REGION)),
    };
    let store = Arc::new(warden_identity::StoreHandle::load(&config.policies_dir).unwrap());
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let blobs: Arc<dyn BlobStore> = match blobs {
        Some(blobs) => blobs,
        None => config.storage.open_blobs(&config.data_dir).await.unwrap(),
    };
    let meta = Arc::new(Recorder::new(config.storage.open_metadata(&config.data_dir).await.unwrap()));
    let data_dir = config.data_dir.clone();
    let registry = Arc::new(
        Registry::open_with_stores(config, store, Arc::clone(&blobs), Arc::clone(&meta) as Arc<dyn MetadataStore>)
            .await
            .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let r = Arc::clone(&registry);
    tokio::spawn(async move { warden_registry::serve(r, listener).await.unwrap() });
    Server { addr, registry, meta, blobs, data_dir, dir }
}

/// An HTTP response as read off the wire.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `errors[0].code` of a distribution-spec error body ("" when there is none).
    pub fn v2_code(&self) -> String {
        self.json()["errors"][0]["code"].as_str().unwrap_or("").to_owned()
    }

    /// `__type` of an AWS JSON error body ("" when there is none).
    pub fn ecr_code(&self) -> String {
        self.json()["__type"].as_str().unwrap_or("").to_owned()
    }

    /// The body, lossily, for messages.
    pub fn text(&self) -> String {
        let t = String::from_utf8_lossy(&self.body);
        if t.len() > 300 {
            format!("{}…", t.chars().take(300).collect::<String>())
        } else {
            t.into_owned()
        }
    }
}

/// Sends one HTTP/1.1 request with `target` exactly as given (no normalisation, no re-encoding),
/// `Connection: close`, and reads the whole response.
pub async fn http(addr: &str, method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Resp {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        stream.flush().await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {target}: no response within 30 s"));
    parse_response(&raw, method == "HEAD")
        .unwrap_or_else(|| panic!("{method} {target}: unparseable response: {:?}", String::from_utf8_lossy(&raw)))
}

fn parse_response(raw: &[u8], head: bool) -> Option<Resp> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(raw.get(..end)?).ok()?;
    let mut lines = text.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = raw.get(end + 4..)?;
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let body = if head || status == 204 || status == 304 {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut at = rest;
        loop {
            let line_end = at.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(at.get(..line_end)?).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            at = at.get(line_end + 2..)?;
            if size == 0 {
                break;
            }
            out.extend_from_slice(at.get(..size)?);
            at = at.get(size + 2..)?;
        }
        out
    } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest.get(..len.min(rest.len()))?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Resp { status, headers, body })
}

impl Server {
    /// A registry token for a user of the test account, as `docker login` gets from
    /// GetAuthorizationToken.
    pub fn token(&self, user: &str) -> String {
        let arn = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
        self.registry.issuer.mint(&arn, SystemTime::now()).0
    }

    /// The `Authorization` header of `user` on /v2 (`None`: anonymous).
    pub fn basic(&self, user: Option<&str>) -> Vec<(String, String)> {
        match user {
            Some(u) => {
                let creds = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{}", self.token(u)));
                vec![("Authorization".into(), format!("Basic {creds}"))]
            }
            None => Vec::new(),
        }
    }

    /// A /v2 request as `user` (`None`: anonymous).
    pub async fn v2(
        &self,
        user: Option<&str>,
        method: &str,
        target: &str,
        extra: &[(String, String)],
        body: &[u8],
    ) -> Resp {
        let mut headers = self.basic(user);
        headers.extend_from_slice(extra);
        http(&self.addr, method, target, &headers, body).await
    }

    /// An ECR API call (AWS JSON 1.1 on `POST /`), SigV4-signed as `user` (`None`: unsigned).
    pub async fn ecr(&self, user: Option<&str>, op: &str, body: &str) -> Resp {
        let headers = ecr_headers(&self.addr, user, op, body);
        http(&self.addr, "POST", "/", &headers, body.as_bytes()).await
    }
}

/// The headers of an ECR API call, signed with `user`'s key (all but `Host`, which [`http`] sends).
pub fn ecr_headers(addr: &str, user: Option<&str>, op: &str, body: &str) -> Vec<(String, String)> {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    let url = format!("http://{addr}/");
    let mut req = http::Request::post(&url)
        .header("host", addr)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AmazonEC2ContainerRegistry_V20150921.{op}"))
        .body(body.to_owned())
        .unwrap();
    if let Some(user) = user {
        let identity = Credentials::new(key_id(user), secret(user), None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("ecr")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers: Vec<(String, String)> =
            req.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned())).collect();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions.apply_to_request_http1x(&mut req);
    }
    req.headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "host")
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// The test image: config and layer bytes, and the OCI manifest over them.
pub struct Image {
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    pub config_digest: String,
    pub layer_digest: String,
    pub manifest: String,
    pub digest: String,
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

impl Image {
    pub fn new(config: &[u8], layer: &[u8]) -> Image {
        let (config_digest, layer_digest) = (sha256(config), sha256(layer));
        let manifest = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}]
        })
        .to_string();
        let digest = sha256(manifest.as_bytes());
        Image { config: config.to_vec(), layer: layer.to_vec(), config_digest, layer_digest, manifest, digest }
    }
}

impl Server {
    /// Puts `image` into `repo` under `tag` straight through the stores (no request, not logged):
    /// the bytes into the blob store, the links, manifest and tag into the metadata store.
    pub async fn seed(&self, repo: &str, image: &Image, tag: &str) {
        for (digest, bytes) in [(&image.config_digest, &image.config), (&image.layer_digest, &image.layer)] {
            let typed = Digest::parse(digest).unwrap();
            if self.blobs.size(&typed).await.unwrap().is_none() {
                self.blobs.put(&typed, bytes::Bytes::from(bytes.clone())).await.unwrap();
            }
            self.meta.inner.link_blob(repo, digest, bytes.len() as u64).unwrap();
        }
        let blobs = [
            (image.config_digest.clone(), Some(image.config.len() as u64)),
            (image.layer_digest.clone(), Some(image.layer.len() as u64)),
        ];
        let outcome = self
            .meta
            .inner
            .put_manifest(&NewManifest {
                repo,
                digest: &image.digest,
                media_type: OCI_MANIFEST,
                body: image.manifest.as_bytes(),
                subject: None,
                artifact_type: Some(OCI_CONFIG),
                blobs: &blobs,
                manifests: &[],
                tag: Some(tag),
                size: image.layer.len() as u64,
                now: warden_registry::state::now(),
                max_images: usize::MAX,
                max_tags_per_image: usize::MAX,
            })
            .unwrap();
        assert_eq!(outcome, PutOutcome::Stored { changed: true }, "seeding {repo}:{tag}");
    }

    /// Puts a single blob into `repo` through the stores (not logged).
    pub async fn seed_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let typed = Digest::parse(&digest).unwrap();
        if self.blobs.size(&typed).await.unwrap().is_none() {
            self.blobs.put(&typed, bytes::Bytes::from(bytes.to_vec())).await.unwrap();
        }
        self.meta.inner.link_blob(repo, &digest, bytes.len() as u64).unwrap();
        digest
    }
}
