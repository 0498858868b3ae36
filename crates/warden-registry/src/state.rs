//! The registry's state: configuration, storage, identities, token issuer, compiled repository
//! policies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use warden_auth::TokenIssuer;
use warden_identity::StoreHandle;
use warden_policy::{CompiledPolicy, PolicyKind, PolicySet};

use http::Request;
use warden_policy::{Context, ContextKeyType};
use warden_tower::{Caller, Check, ClientAddr};

use crate::error::RegistryError;
use crate::names::RepoName;
use crate::storage::blobs::BlobStore;
use crate::storage::meta::{MetadataStore, Repository};
use crate::throttle::{Throttle, ThrottleConfig};

/// How a registry is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where blobs and the database live.
    pub data_dir: PathBuf,
    /// The policies directory (`identities/`).
    pub policies_dir: PathBuf,
    /// The registry's account.
    pub account_id: String,
    /// Its region.
    pub region: String,
    /// Quotas (the user guide's defaults unless configured).
    pub limits: Limits,
    /// Where blobs and metadata live (the data directory unless configured).
    pub storage: crate::storage::Backends,
    /// Request throttling ([`ThrottleConfig::default`]: the user guide's quota table).
    pub throttle: ThrottleConfig,
    /// The audit trail (`None`: no trail is written).
    pub trail: Option<crate::trail::TrailConfig>,
}

/// The registry's quotas; [`Limits::default`] is the user guide's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Repositories per registry (the guide's default quota: 1,000 per region).
    pub repositories: usize,
    /// Images per repository (the guide's default quota: 1,000), counted as stored manifests.
    pub images_per_repository: usize,
    /// Tags per image (guide: 100).
    pub tags_per_image: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { repositories: 1_000, images_per_repository: 1_000, tags_per_image: 100 }
    }
}

/// Why the registry could not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The audit trail.
    #[error(transparent)]
    Trail(#[from] crate::trail::TrailError),
    /// The data directory.
    #[error("data directory `{path}`: {source}")]
    Io {
        /// Which path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database.
    #[error(transparent)]
    Meta(#[from] crate::storage::meta::MetaError),
    /// The identity files.
    #[error(transparent)]
    Identities(#[from] warden_identity::StoreError),
    /// A storage backend.
    #[error(transparent)]
    Backend(#[from] crate::storage::BackendError),
}

/// Everything handlers share.
pub struct Registry {
    /// Configuration.
    pub config: Config,
    /// Blobs.
    pub blobs: Arc<dyn BlobStore>,
    /// Metadata.
    pub meta: Arc<dyn MetadataStore>,
    /// Identities.
    pub store: Arc<StoreHandle>,
    /// Registry tokens.
    pub issuer: Arc<TokenIssuer>,
    /// Held while a blob is linked to a repository and while unreferenced bytes are removed, so
    /// garbage collection never removes bytes a concurrent push is linking; take it with
    /// [`Registry::lock_blob`], which also takes the fleet-wide lock of a shared metadata store.
    blob_lock: tokio::sync::Mutex<()>,
    /// Metadata operations in flight at once (each a blocking-pool task; SQLite serializes them
    /// anyway), so a burst of requests cannot grow the blocking pool.
    meta_slots: tokio::sync::Semaphore,
    /// The key presigned download URLs are signed with.
    pub url_key: Vec<u8>,
    /// Signs schema 1 manifests translated for clients that accept nothing newer.
    pub schema1_signer: Option<crate::schema1::Signer>,
    /// The callers' token buckets ([`Config::throttle`]), this process's own.
    pub throttle: Throttle,
    /// The audit trail ([`Config::trail`]).
    pub trail: Option<crate::trail::Trail>,
    /// Request, decision, throttling and trail counters.
    pub metrics: crate::metrics::Metrics,
    policies: Mutex<HashMap<String, (String, PolicySet)>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The lock of a blob's bytes ([`Registry::lock_blob`]). The fleet-wide part is released first
/// (fields drop in declaration order), then the in-process one.
pub struct BlobGuard<'a> {
    _fleet: crate::storage::meta::FleetGuard,
    _local: tokio::sync::MutexGuard<'a, ()>,
}

/// The registry's token key, created (32 random bytes, owner-only) on first use. Every process
/// sharing the data directory mints and verifies the same tokens.
pub fn token_key(data_dir: &Path) -> Result<Vec<u8>, OpenError> {
    let path = data_dir.join("token.key");
    let io = |source| OpenError::Io { path: path.clone(), source };
    match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) | Err(_) => {}
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let tmp = data_dir.join(format!("token.key.{}", std::process::id()));
    std::fs::write(&tmp, key).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    // Another process may have won the race: keep whichever key landed first.
    match std::fs::hard_link(&tmp, &path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    let _ = std::fs::remove_file(&tmp);
    std::fs::read(&path).map_err(io)
}

/// The registry's token key as every instance sharing `meta` uses it: a shared metadata store
/// keeps one (the first instance's key file's becomes everyone's), so tokens minted by one
/// instance are accepted by the others; a store that keeps none leaves the key file's.
pub async fn shared_token_key(data_dir: &Path, meta: &Arc<dyn MetadataStore>) -> Result<Vec<u8>, OpenError> {
    let local = token_key(data_dir)?;
    let meta = Arc::clone(meta);
    let candidate = local.clone();
    let shared = tokio::task::spawn_blocking(move || meta.shared_secret(TOKEN_KEY_SECRET, &candidate))
        .await
        .map_err(|e| crate::storage::meta::MetaError::Other(Box::new(e)))??;
    Ok(shared.unwrap_or(local))
}

/// The name of the token key among a metadata store's shared secrets.
const TOKEN_KEY_SECRET: &str = "registry-token-key";

/// Metadata operations in flight at once.
const META_SLOTS: usize = 4;

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

impl Registry {
    /// Opens the registry's storage and identities.
    pub async fn open(config: Config) -> Result<Registry, OpenError> {
        let store = Arc::new(StoreHandle::load(&config.policies_dir)?);
        Registry::open_with(config, store).await
    }

    /// Opens with an identity store handle built elsewhere, on the storage the configuration
    /// names ([`Config::storage`]: by default blobs in
    /// [`FsBlobStore`](crate::storage::blobs::FsBlobStore) and metadata in
    /// [`SqliteMeta`](crate::storage::meta::SqliteMeta) under the data directory).
    pub async fn open_with(config: Config, store: Arc<StoreHandle>) -> Result<Registry, OpenError> {
        let blobs = config.storage.open_blobs(&config.data_dir).await?;
        let meta = config.storage.open_metadata(&config.data_dir).await?;
        Registry::open_with_stores(config, store, blobs, meta).await
    }

    /// Opens on storage built elsewhere (another blob or metadata backend).
    pub async fn open_with_stores(
        config: Config,
        store: Arc<StoreHandle>,
        blobs: Arc<dyn BlobStore>,
        meta: Arc<dyn MetadataStore>,
    ) -> Result<Registry, OpenError> {
        let key = shared_token_key(&config.data_dir, &meta).await?;
        let issuer = Arc::new(TokenIssuer::new(&key, &config.account_id, &config.region));
        // A separate key for presigned layer URLs, so a URL signature can never pass as a token.
        let url_key = [key.as_slice(), b"/presigned-urls"].concat();
        let schema1_signer = crate::schema1::Signer::derive(&key);
        let throttle = Throttle::new(&config.throttle);
        let trail = config.trail.clone().map(crate::trail::Trail::open).transpose()?;
        Ok(Registry {
            throttle,
            trail,
            metrics: crate::metrics::Metrics::default(),
            config,
            url_key,
            schema1_signer,
            blobs,
            meta,
            store,
            issuer,
            blob_lock: tokio::sync::Mutex::new(()),
            meta_slots: tokio::sync::Semaphore::new(META_SLOTS),
            policies: Mutex::new(HashMap::new()),
        })
    }

    /// The ARN of a repository.
    pub fn repository_arn(&self, repo: &str) -> String {
        // Concatenated rather than formatted: this runs for every request.
        let (region, account) = (&self.config.region, &self.config.account_id);
        let mut arn = String::with_capacity(34 + region.len() + account.len() + repo.len());
        for part in ["arn:aws:ecr:", region, ":", account, ":repository/", repo] {
            arn.push_str(part);
        }
        arn
    }

    /// Runs a metadata operation off the async workers (SQLite syncs to disk on commit). A
    /// failure of the store is logged and becomes a 500.
    pub async fn meta<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn MetadataStore) -> Result<T, crate::storage::meta::MetaError> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let meta = Arc::clone(&self.meta);
        let _slot = self.meta_slots.acquire().await.map_err(|e| RegistryError::internal("metadata store", e))?;
        match tokio::task::spawn_blocking(move || f(meta.as_ref())).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RegistryError::internal("metadata store", e)),
            Err(e) => Err(RegistryError::internal("metadata store", e)),
        }
    }

    /// Locks the bytes of blob `digest` against garbage collection while they are linked (or
    /// removed), in this process and — when the metadata store is shared — on every instance:
    /// first the in-process lock, so at most one task per instance waits for the fleet lock,
    /// then the store's [`MetadataStore::lock_blob`]. Released when the guard drops.
    pub async fn lock_blob(&self, digest: &str) -> Result<BlobGuard<'_>, RegistryError> {
        let local = self.blob_lock.lock().await;
        let d = digest.to_owned();
        let fleet = self.meta(move |m| m.lock_blob(&d)).await?;
        Ok(BlobGuard { _fleet: fleet, _local: local })
    }

    /// A repository, or NAME_INVALID / NAME_UNKNOWN.
    pub async fn repository(&self, repo: &str) -> Result<Repository, RegistryError> {
        let name = RepoName::parse(repo)?;
        self.meta(move |m| m.repository(name.as_str())).await?.ok_or_else(|| self.name_unknown(repo))
    }

    /// NAME_UNKNOWN / RepositoryNotFoundException for `name`.
    pub fn name_unknown(&self, name: &str) -> RegistryError {
        RegistryError::NameUnknown { name: name.to_owned(), registry: self.config.account_id.clone() }
    }

    /// Creates a repository (the code path `warden create-repository` and CreateRepository use).
    pub async fn create_repository(&self, repo: &str, tags: Vec<(String, String)>) -> Result<bool, RegistryError> {
        let name = RepoName::parse(repo)?;
        self.create(name, tags, "MUTABLE").await
    }

    /// Creates a repository with its tags and tag mutability, within the repository quota; false
    /// when it exists.
    pub async fn create(
        &self,
        name: RepoName,
        tags: Vec<(String, String)>,
        mutability: &'static str,
    ) -> Result<bool, RegistryError> {
        let limit = self.config.limits.repositories;
        if self.meta(|m| m.repository_count()).await? >= limit {
            return Err(RegistryError::LimitExceeded(format!(
                "The maximum number of repositories ({limit}) has been reached"
            )));
        }
        let t = now();
        self.meta(move |m| m.create_repository(name.as_str(), &tags, mutability, t)).await
    }

    /// Sets (validated as an ECR repository policy) or removes a repository's policy.
    pub async fn set_repository_policy(&self, repo: &str, text: Option<String>) -> Result<(), RegistryError> {
        let name = RepoName::parse(repo)?;
        self.repository(repo).await?;
        if let Some(t) = &text {
            warden_policy::Policy::parse(t, PolicyKind::Repository)
                .map_err(|e| RegistryError::PolicyInvalid(format!("{}: {}", e.aws_exception(), e.aws_message())))?;
        }
        self.meta(move |m| m.set_policy(name.as_str(), text.as_deref())).await?;
        Ok(())
    }

    /// The compiled policy of a repository, cached until its text changes. A stored policy that
    /// no longer compiles is an error: its statements must not silently vanish from decisions.
    pub fn policy_set(&self, repo: &Repository) -> Result<Option<PolicySet>, RegistryError> {
        let Some(text) = repo.policy.as_ref() else { return Ok(None) };
        let mut cache = self.policies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached, set)) = cache.get(&repo.name) {
            if cached == text {
                return Ok(Some(set.clone()));
            }
        }
        let set = CompiledPolicy::compile(text, PolicyKind::Repository, &repo.name)
            .map(PolicySet::from)
            .map_err(|e| RegistryError::internal("the stored repository policy does not compile", e))?;
        cache.insert(repo.name.clone(), (text.clone(), set.clone()));
        Ok(Some(set))
    }

    /// The condition keys of a request: the caller's, the time, the region, the transport, the
    /// client's address (which the server must have put in the request as a [`ClientAddr`]), the
    /// user agent and referer.
    pub fn request_context<B>(&self, req: &Request<B>, caller: &Caller) -> Result<Context, RegistryError> {
        if req.extensions().get::<ClientAddr>().is_none() {
            return Err(RegistryError::internal("request context", "the client address is unknown"));
        }
        warden_tower::context::request_context(req, caller, Some(false), &self.config.region)
            .map_err(|e| RegistryError::internal("request context", e))
    }

    /// The check of `action` on repository `name` (whose row is `repo`, `None` when it does not
    /// exist): the repository's policy, and its tags as `aws:ResourceTag/*` and
    /// `ecr:ResourceTag/*` on top of `context`.
    pub fn check(
        &self,
        mut context: Context,
        action: &'static str,
        name: &str,
        repo: Option<&Repository>,
    ) -> Result<Check, RegistryError> {
        let mut resource_policy = None;
        if let Some(r) = repo {
            for (k, v) in &r.tags {
                for key in [format!("aws:ResourceTag/{k}"), format!("ecr:ResourceTag/{k}")] {
                    context
                        .insert(&key, ContextKeyType::String, &[v.as_str()])
                        .map_err(|e| RegistryError::internal("resource tags", e))?;
                }
            }
            resource_policy = self.policy_set(r)?;
        }
        Ok(Check {
            action: action.into(),
            resource: self.repository_arn(name),
            resource_account: self.config.account_id.clone().into(),
            resource_policy,
            context,
        })
    }
}
