//! [`warden_tower::Authenticate`] implementations backed by the identity store.

use std::cell::RefCell;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use rustc_hash::FxHashMap;
use warden_identity::{Resolved, StoreHandle};
use warden_tower::{Authenticate, Caller, Rejection};

use crate::sigv4::{SigV4Error, SigV4Verifier};
use crate::token::{basic_credentials, TokenError, TokenIssuer};

/// Where authenticators read the time; tests inject a [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock, to within a scheduler tick ([`warden_tower::clock::now`]): expiry and clock
/// skew are judged in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        warden_tower::clock::now()
    }
}

/// A clock that says what it is told.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock at `t`.
    pub fn at(t: SystemTime) -> ManualClock {
        ManualClock(AtomicU64::new(t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)))
    }

    /// Moves the clock.
    pub fn set(&self, t: SystemTime) {
        self.0.store(t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// The caller for a resolved identity.
pub fn caller_of(resolved: Resolved) -> Caller {
    let identity = resolved.identity;
    Caller::with_details(
        resolved.principal,
        identity.policies.clone(),
        identity.boundary.clone(),
        Arc::clone(&identity.tags),
        Some(Arc::clone(&identity.unique_id)),
        None,
    )
}

/// Callers already built, by a key (a verified token, an access key id), valid while the store
/// generation they came from is current. The cache is per thread: a hit touches no shared
/// reference count or lock, which matters more than anything else on a busy multi-core server.
/// Only verified credentials are ever inserted, and each thread's map is bounded.
#[derive(Debug)]
struct CallerCache {
    id: u64,
}

impl Default for CallerCache {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        CallerCache { id: NEXT.fetch_add(1, Ordering::Relaxed) }
    }
}

struct Cached {
    /// The whole key: a hit must match it exactly.
    key: Box<[u8]>,
    generation: u64,
    expires_at: Option<SystemTime>,
    caller: Caller,
}

thread_local! {
    static CALLERS: RefCell<FxHashMap<(u64, u64), Cached>> = RefCell::new(FxHashMap::default());
}

const CACHE_LIMIT: usize = 10_000;

/// The slot of a key: a hash of its length and last 32 bytes. Keys are credentials (a registry
/// token is ~300 bytes; its tail is the MAC), so the tail tells them apart and hashing it is cheap;
/// equality is still decided on the whole key.
fn slot(bytes: &[u8]) -> u64 {
    let tail = bytes.get(bytes.len().saturating_sub(32)..).unwrap_or(bytes);
    let mut h = rustc_hash::FxHasher::default();
    h.write_usize(bytes.len());
    h.write(tail);
    h.finish()
}

impl CallerCache {
    fn get(&self, key: &[u8], generation: u64, now: SystemTime) -> Option<Caller> {
        CALLERS.with(|c| {
            let map = c.borrow();
            let hit = map.get(&(self.id, slot(key)))?;
            let fresh = *hit.key == *key && hit.generation == generation && hit.expires_at.is_none_or(|e| now < e);
            fresh.then(|| hit.caller.clone())
        })
    }

    fn put(&self, key: &[u8], generation: u64, expires_at: Option<SystemTime>, caller: &Caller) {
        CALLERS.with(|c| {
            let mut map = c.borrow_mut();
            if map.len() >= CACHE_LIMIT {
                map.clear();
            }
            // A different key in the same slot is replaced: this is a cache.
            map.insert(
                (self.id, slot(key)),
                Cached { key: key.into(), generation, expires_at, caller: caller.detached() },
            );
        })
    }
}

/// Largest body the SigV4 authenticator reads to hash it (AWS JSON requests are small).
pub const MAX_SIGNED_BODY: usize = 10 * 1024 * 1024;

/// Authenticates AWS-protocol requests signed with Signature Version 4 by access keys in the
/// identity store. Reads (and restores) the body to hash it.
///
/// A plain (not `aws-chunked`) body must be read before its signature can be checked, so such
/// reads are bounded: a request for an access key the store does not hold is refused from its
/// head; a `Content-Length` over the body limit is refused before reading; and bodies over
/// [`SMALL_BODY`] bytes share one budget ([`DEFAULT_UNVERIFIED_BUDGET`] unless configured) while
/// they wait for verification, so unfinished bodies cannot pin more memory than that.
#[derive(Clone)]
pub struct SigV4Authenticator {
    store: Arc<StoreHandle>,
    verifier: Arc<SigV4Verifier>,
    clock: Arc<dyn Clock>,
    max_body: usize,
    callers: Arc<CallerCache>,
    budget: Arc<tokio::sync::Semaphore>,
    budget_kib: u32,
}

/// Bodies up to this size are read without a share of the unverified-body budget (every ECR
/// JSON call but layer parts and large manifests fits).
pub const SMALL_BODY: usize = 16 * 1024;
/// How many bytes bodies awaiting signature verification may hold, all requests together.
pub const DEFAULT_UNVERIFIED_BUDGET: usize = 24 * 1024 * 1024;
/// How long a request waits for a share of the budget before it is answered 503.
const BUDGET_WAIT: Duration = Duration::from_secs(10);

impl SigV4Authenticator {
    /// Verifies signatures scoped to `region` and `service` against `store`.
    pub fn new(store: Arc<StoreHandle>, region: &str, service: &str) -> SigV4Authenticator {
        SigV4Authenticator {
            store,
            verifier: Arc::new(SigV4Verifier::new(region, service)),
            clock: Arc::new(SystemClock),
            max_body: MAX_SIGNED_BODY,
            callers: Arc::default(),
            budget: Arc::new(tokio::sync::Semaphore::new(DEFAULT_UNVERIFIED_BUDGET / 1024)),
            budget_kib: u32::try_from(DEFAULT_UNVERIFIED_BUDGET / 1024).unwrap_or(u32::MAX),
        }
    }

    /// Lets bodies awaiting verification hold `bytes` in all instead of
    /// [`DEFAULT_UNVERIFIED_BUDGET`] (at least the body limit, so any allowed body fits).
    pub fn with_unverified_budget(mut self, bytes: usize) -> SigV4Authenticator {
        let kib = u32::try_from(bytes.max(self.max_body).div_ceil(1024)).unwrap_or(u32::MAX);
        self.budget = Arc::new(tokio::sync::Semaphore::new(kib as usize));
        self.budget_kib = kib;
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> SigV4Authenticator {
        self.clock = clock;
        self
    }

    /// Reads (and hashes) bodies of up to `bytes` instead of [`MAX_SIGNED_BODY`].
    pub fn with_max_body(mut self, bytes: usize) -> SigV4Authenticator {
        self.max_body = bytes;
        if bytes.div_ceil(1024) > self.budget_kib as usize {
            return self.with_unverified_budget(bytes);
        }
        self
    }

    /// A share of the unverified-body budget for a body of `declared` bytes (the body limit when
    /// unknown); `None` for small bodies.
    async fn budget_for(
        &self,
        declared: Option<usize>,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Rejection> {
        let len = declared.unwrap_or(self.max_body);
        if declared.is_some() && len <= SMALL_BODY {
            return Ok(None);
        }
        let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX).min(self.budget_kib);
        match tokio::time::timeout(BUDGET_WAIT, Arc::clone(&self.budget).acquire_many_owned(kib)).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(Rejection::new(
                "ThrottlingException",
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many unverified request bodies are being read; retry later",
            )),
        }
    }

    /// Verifies a request head and its whole body; the caller on success.
    pub fn verify(&self, parts: &http::request::Parts, body: &[u8]) -> Result<Caller, Rejection> {
        let generation = self.store.generation();
        let store = self.store.current();
        let now = self.clock.now();
        let key = self
            .verifier
            .verify(parts, body, now, |id| store.credential(id).map(|c| c.secret.clone()))
            .map_err(|e| e.rejection())?;
        self.caller_for(&key, generation, now)
    }
}

impl<B> Authenticate<B> for SigV4Authenticator
where
    B: Body<Data = Bytes> + From<Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    async fn authenticate(&self, req: Request<B>) -> Result<(Request<B>, Caller), Rejection> {
        let (parts, body) = req.into_parts();
        // Refuse unsigned requests, and keys nobody holds, before reading anything.
        let key = SigV4Verifier::claimed_key(&parts).map_err(|e| e.rejection())?;
        if self.store.current().credential(&key).is_none() {
            return Err(SigV4Error::UnknownKey.rejection());
        }
        if SigV4Verifier::streaming_mode(&parts).map_err(|e| e.rejection())?.is_some() {
            return self.authenticate_streaming(parts, body).await;
        }
        let declared =
            parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max_body) {
            return Err(body_unreadable(&format!("length limit of {} bytes exceeded", self.max_body)));
        }
        let permit = self.budget_for(declared).await?;
        let bytes = match Limited::new(body, self.max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => return Err(body_unreadable(&e)),
        };
        let caller = self.verify(&parts, &bytes)?;
        drop(permit);
        Ok((Request::from_parts(parts, B::from(bytes)), caller))
    }
}

impl SigV4Authenticator {
    /// An `aws-chunked` body: the seed signature is checked from the head before anything is
    /// read; then the body is decoded (chunk signatures, trailer, checksum and length checked)
    /// into the plain body the inner service gets, with `Content-Length` set to the decoded length
    /// and `aws-chunked` removed from `Content-Encoding`. Bodies are read up to the authenticator's
    /// body limit.
    async fn authenticate_streaming<B>(
        &self,
        mut parts: http::request::Parts,
        body: B,
    ) -> Result<(Request<B>, Caller), Rejection>
    where
        B: Body<Data = Bytes> + From<Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let generation = self.store.generation();
        let store = self.store.current();
        let now = self.clock.now();
        let (key, mut decoder) = self
            .verifier
            .verify_streaming(&parts, now, |id| store.credential(id).map(|c| c.secret.clone()))
            .map_err(|e| e.rejection())?;
        let caller = self.caller_for(&key, generation, now)?;
        let mut body = std::pin::pin!(Limited::new(body, self.max_body));
        let mut decoded = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| body_unreadable(&e))?;
            if let Ok(data) = frame.into_data() {
                for piece in decoder.push(data).map_err(|e| e.rejection())? {
                    decoded.extend_from_slice(&piece);
                }
            }
        }
        decoder.finish().map_err(|e| e.rejection())?;
        let decoded = decoded.freeze();
        parts.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(decoded.len()));
        let encodings: Vec<String> = parts
            .headers
            .get_all(http::header::CONTENT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
            .map(str::to_owned)
            .collect();
        parts.headers.remove(http::header::CONTENT_ENCODING);
        if let Ok(value) = http::HeaderValue::from_str(&encodings.join(", ")) {
            if !encodings.is_empty() {
                parts.headers.insert(http::header::CONTENT_ENCODING, value);
            }
        }
        Ok((Request::from_parts(parts, B::from(decoded)), caller))
    }

    /// The caller owning a verified access key.
    fn caller_for(&self, key: &str, generation: u64, now: SystemTime) -> Result<Caller, Rejection> {
        if let Some(caller) = self.callers.get(key.as_bytes(), generation, now) {
            return Ok(caller);
        }
        let store = self.store.current();
        let user =
            store.credential(key).map(|c| c.user_arn.clone()).ok_or_else(|| SigV4Error::UnknownKey.rejection())?;
        let caller = store
            .resolve(&user)
            .map(|r| caller_of(r).with_access_key(key))
            .ok_or_else(|| SigV4Error::UnknownKey.rejection())?;
        self.callers.put(key.as_bytes(), generation, None, &caller);
        Ok(caller)
    }
}

/// The answer when a body cannot be read (too large, or the connection failed).
fn body_unreadable(e: &dyn std::fmt::Display) -> Rejection {
    Rejection::new(
        "SerializationException",
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body could not be read: {e}"),
    )
}

/// Authenticates registry requests: HTTP Basic with user `AWS` and a password from
/// GetAuthorizationToken / `warden get-login-password`.
#[derive(Clone)]
pub struct TokenAuthenticator {
    store: Arc<StoreHandle>,
    issuer: Arc<TokenIssuer>,
    clock: Arc<dyn Clock>,
    realm: Arc<str>,
    callers: Arc<CallerCache>,
}

impl TokenAuthenticator {
    /// Verifies tokens of `issuer` for principals of `store`; `realm` goes into the
    /// `WWW-Authenticate: Basic realm="…"` challenge.
    pub fn new(store: Arc<StoreHandle>, issuer: Arc<TokenIssuer>, realm: &str) -> TokenAuthenticator {
        TokenAuthenticator { store, issuer, clock: Arc::new(SystemClock), realm: realm.into(), callers: Arc::default() }
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> TokenAuthenticator {
        self.clock = clock;
        self
    }

    /// The challenge sent with 401 answers.
    pub fn challenge(&self) -> String {
        format!("Basic realm=\"{}\",service=\"ecr.amazonaws.com\"", self.realm)
    }

    /// Authenticates a request head.
    pub fn verify<B>(&self, req: &Request<B>) -> Result<Caller, Rejection> {
        let unauthorized = |message: &str| {
            Rejection::new("UNAUTHORIZED", StatusCode::UNAUTHORIZED, message).with_challenge(self.challenge())
        };
        let header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("authentication required"))?
            .as_bytes();
        // A token verified before, against the store serving now, and not yet expired. The cache
        // holds only headers that were valid text, so a hit needs no text check.
        let generation = self.store.generation();
        let now = self.clock.now();
        if let Some(caller) = self.callers.get(header, generation, now) {
            return Ok(caller);
        }
        let header = std::str::from_utf8(header).map_err(|_| unauthorized("authentication required"))?;
        let store = self.store.current();
        let (user, password) = basic_credentials(header).ok_or_else(|| unauthorized("authentication required"))?;
        if user != "AWS" {
            return Err(unauthorized("authentication required: log in with user `AWS` and a registry token"));
        }
        let claims = self.issuer.verify(&password, now).map_err(|e| e.rejection(&self.realm))?;
        let caller = store
            .resolve(&claims.principal_arn)
            .map(caller_of)
            .ok_or_else(|| TokenError::Malformed.rejection(&self.realm))?;
        let expires = UNIX_EPOCH + Duration::from_secs(u64::try_from(claims.expires_at).unwrap_or(0));
        self.callers.put(header.as_bytes(), generation, Some(expires), &caller);
        Ok(caller)
    }
}

impl<B: Send + 'static> Authenticate<B> for TokenAuthenticator {
    async fn authenticate(&self, req: Request<B>) -> Result<(Request<B>, Caller), Rejection> {
        let caller = self.verify(&req)?;
        Ok((req, caller))
    }

    fn authenticate_head(&self, req: &Request<B>) -> Option<Result<Caller, Rejection>> {
        Some(self.verify(req))
    }
}
