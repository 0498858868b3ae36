//! [`PgMeta`], the [`MetadataStore`] in PostgreSQL, for a fleet of `warden serve` processes that
//! share one database (issue 14). It keeps the same records as [`super::meta::SqliteMeta`] and
//! gives every method the same results; what differs is how it stays correct when several
//! processes write at once.
//!
//! # Concurrency
//!
//! Every write that touches a repository's images, tags or blobs (`put_manifest`,
//! `delete_manifest`, `untag`, `link_blob`, `unlink_blob`) is one `READ COMMITTED` transaction
//! that starts with `SELECT … FROM repositories WHERE name = $1 FOR UPDATE`: writers of one
//! repository are serialized by that row lock, on every instance, and each one's checks (tag
//! immutability, image and tag quotas, blobs and child manifests present) read what the previous
//! writer committed. `delete_repository` and `set_tag_mutability` update or delete that same row,
//! so they take the same lock: a `put_manifest` that committed before a delete is deleted with the
//! repository (foreign keys `ON DELETE CASCADE`), and one that was waiting for the lock finds no
//! row and returns [`PutRefusal::RepositoryGone`]. Rows that reference a repository (uploads,
//! lifecycle policies) are guarded by foreign keys, so none can outlive it.
//!
//! # Fleet coordination
//!
//! [`MetadataStore::lock_blob`] and [`MetadataStore::try_lease`] are session-level advisory locks
//! (`pg_advisory_lock`, `pg_try_advisory_lock`) on a connection taken out of the pool for as long
//! as the guard lives; the key is the first 8 bytes of SHA-256 of a prefixed name. Dropping the
//! guard unlocks on the runtime and returns the connection; if unlocking fails, the connection is
//! closed instead (ending the session releases its locks), never returned still holding the lock.
//! [`MetadataStore::shared_secret`] keeps the first value inserted in the `secrets` table.
//! A session that ends (the server restarts, the network fails) loses its advisory locks on the
//! server's side at once, without the guard's holder being told: a lease is a best effort to
//! run one round at a time, and the blob lock narrows, but cannot close, the window between a
//! collector and a push across such a failure.
//!
//! # Migrations
//!
//! `warden_schema` records the versions applied. [`MIGRATIONS`] are applied in order, each in its
//! own transaction under `pg_advisory_xact_lock`, so instances starting together do not race; a
//! database with a version newer than this build knows is refused ([`MetaError::SchemaTooNew`]).
//!
//! # Runtime
//!
//! The trait's methods are synchronous: each runs its queries with the tokio runtime handle kept
//! by [`PgMeta::open`] (`Handle::block_on`), while the runtime's other threads drive the
//! connections. Call them from the blocking pool (as `Registry::meta` does) or from a thread
//! outside the runtime. Called on an async worker of a multi-threaded runtime, a method first
//! hands the worker's other tasks off (`block_in_place`); on a current-thread runtime's own thread
//! it cannot, and panics (as `Handle::block_on` does) rather than deadlock. When the
//! server goes away, calls in flight fail with [`MetaError::Postgres`] or [`MetaError::Pool`];
//! broken connections are verified and replaced when taken from the pool, so later calls succeed
//! once the server is back.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use sha2::{Digest, Sha256};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::meta::{
    ExpiryRecord, FleetGuard, ImageIdRow, ImageSummary, Manifest, MetaError, MetadataStore, NewManifest, PutOutcome,
    PutRefusal, Repository, TagFilter,
};

type Result<T> = std::result::Result<T, MetaError>;

/// The schema steps, in order: step `i` brings the database from version `i` to `i + 1`.
///
/// 1. the registry's tables (as [`super::meta::SqliteMeta`] keeps them at its version 2), with
///    `COLLATE "C"` on names, digests and tags so listings sort bytewise as in SQLite, whatever
///    the database's locale;
/// 2. `secrets`, the registry-wide secrets of [`MetadataStore::shared_secret`].
///
/// As in SQLite, `lifecycle_expiries` has no foreign key: the expiry log of a repository
/// outlives it.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE repositories (
    name TEXT COLLATE "C" PRIMARY KEY,
    created_at BIGINT NOT NULL,
    tag_mutability TEXT NOT NULL DEFAULT 'MUTABLE',
    policy TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    scan_on_push BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE blobs (
    repo TEXT COLLATE "C" NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    digest TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (repo, digest)
);
CREATE INDEX blobs_digest ON blobs(digest);
CREATE TABLE manifests (
    repo TEXT COLLATE "C" NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    digest TEXT COLLATE "C" NOT NULL,
    media_type TEXT NOT NULL,
    body BYTEA NOT NULL,
    subject TEXT COLLATE "C",
    artifact_type TEXT,
    pushed_at BIGINT NOT NULL,
    size BIGINT,
    PRIMARY KEY (repo, digest)
);
CREATE INDEX manifests_subject ON manifests(repo, subject);
CREATE INDEX manifests_pushed ON manifests(repo, pushed_at, digest);
CREATE TABLE tags (
    repo TEXT COLLATE "C" NOT NULL,
    tag TEXT COLLATE "C" NOT NULL,
    digest TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (repo, tag),
    FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest) ON DELETE CASCADE
);
CREATE INDEX tags_digest ON tags(repo, digest);
CREATE TABLE manifest_blobs (
    repo TEXT COLLATE "C" NOT NULL,
    manifest TEXT COLLATE "C" NOT NULL,
    blob TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (repo, manifest, blob),
    FOREIGN KEY (repo, manifest) REFERENCES manifests(repo, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_blobs_blob ON manifest_blobs(repo, blob);
CREATE TABLE lifecycle_policies (
    repo TEXT COLLATE "C" PRIMARY KEY REFERENCES repositories(name) ON DELETE CASCADE,
    text TEXT NOT NULL,
    last_evaluated_at BIGINT
);
CREATE TABLE lifecycle_previews (
    repo TEXT COLLATE "C" PRIMARY KEY REFERENCES repositories(name) ON DELETE CASCADE,
    text TEXT NOT NULL,
    results TEXT NOT NULL
);
CREATE TABLE lifecycle_expiries (
    id BIGSERIAL PRIMARY KEY,
    repo TEXT COLLATE "C" NOT NULL,
    digest TEXT COLLATE "C" NOT NULL,
    tags TEXT NOT NULL,
    pushed_at BIGINT NOT NULL,
    rule_priority BIGINT NOT NULL,
    expired_at BIGINT NOT NULL
);
CREATE INDEX lifecycle_expiries_repo ON lifecycle_expiries(repo, id);
CREATE TABLE uploads (
    id TEXT COLLATE "C" PRIMARY KEY,
    repo TEXT COLLATE "C" NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    started_at BIGINT NOT NULL,
    parts BIGINT NOT NULL DEFAULT 0,
    last_part BIGINT NOT NULL DEFAULT 0
);
"#,
    r#"
CREATE TABLE secrets (
    name TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);
"#,
];

/// The schema version this build writes: the number of [`MIGRATIONS`].
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Connections in the pool.
const POOL_SIZE: usize = 16;

/// The advisory lock key under which migrations run.
const MIGRATION_LOCK: &str = "warden-migrate";

/// The metadata store in PostgreSQL: a pool of connections and the runtime that drives them.
pub struct PgMeta {
    pool: Pool,
    handle: Handle,
}

impl std::fmt::Debug for PgMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgMeta").field("pool", &self.pool.status()).finish_non_exhaustive()
    }
}

/// A 64-bit advisory lock key for `name` in the namespace `kind`.
fn lock_key(kind: &str, name: &str) -> i64 {
    let digest =
        Sha256::new().chain_update(kind.as_bytes()).chain_update(b":").chain_update(name.as_bytes()).finalize();
    digest.iter().take(8).fold(0i64, |key, b| (key << 8) | i64::from(*b))
}

/// A count or size as PostgreSQL's `BIGINT`.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count as PostgreSQL's `BIGINT`.
fn big_usize(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `BIGINT` count as a `usize`.
fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// A `BIGINT` size as a `u64`.
fn size(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Every row of a (cached) statement.
async fn rows<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, params).await?)
}

/// The first column of every row of a (cached) statement, as text.
async fn strings<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<Vec<String>> {
    rows(c, sql, params).await?.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// At most one row of a (cached) statement.
async fn row<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&stmt, params).await?)
}

/// The single `BIGINT` of a statement that always returns one row (a `COUNT(*)`).
async fn scalar<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<i64> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_one(&stmt, params).await?.try_get(0)?)
}

/// Runs a (cached) statement; the number of rows it changed.
async fn exec<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<u64> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, params).await?)
}

/// Locks the row of repository `repo` for the rest of the transaction (see the module doc);
/// its tag mutability, or `None` when there is no such repository.
async fn lock_repository<C: GenericClient>(tx: &C, repo: &str) -> Result<Option<String>> {
    let r = row(tx, "SELECT tag_mutability FROM repositories WHERE name = $1 FOR UPDATE", &[&repo]).await?;
    Ok(match r {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

/// The error of a write to a repository that does not exist (SQLite reports a foreign key
/// failure there).
fn no_repository(repo: &str) -> MetaError {
    MetaError::Other(format!("repository {repo} does not exist").into())
}

/// A manifest of `digest, media_type, body, artifact_type`.
fn manifest_row(r: &Row) -> Result<Manifest> {
    Ok(Manifest { digest: r.try_get(0)?, media_type: r.try_get(1)?, body: r.try_get(2)?, artifact_type: r.try_get(3)? })
}

/// A summary of `digest, media_type, artifact_type, pushed_at, size, tags`.
fn summary_row(r: &Row) -> Result<ImageSummary> {
    let size_of: Option<i64> = r.try_get(4)?;
    Ok(ImageSummary {
        digest: r.try_get(0)?,
        media_type: r.try_get(1)?,
        artifact_type: r.try_get(2)?,
        pushed_at: r.try_get(3)?,
        size: size_of.map(size),
        tags: r.try_get(5)?,
    })
}

/// The summary columns with the image's tags in lexical order, for `FROM manifests m`.
const SUMMARY_COLUMNS: &str = "m.digest, m.media_type, m.artifact_type, m.pushed_at, m.size, \
     ARRAY(SELECT t.tag FROM tags t WHERE t.repo = m.repo AND t.digest = m.digest ORDER BY t.tag)";

/// A pooled connection that is closed, not returned to the pool, when dropped: it may hold a
/// session lock. [`HeldConnection::release`] returns it once it is known to hold none.
struct HeldConnection(Option<Object>);

impl Drop for HeldConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            // Out of the pool for good: dropping the client ends the session and its locks.
            drop(Object::take(conn));
        }
    }
}

impl HeldConnection {
    /// Returns the connection to the pool.
    fn release(mut self) {
        drop(self.0.take());
    }
}

/// A session advisory lock held on a connection of its own ([`FleetGuard`]); unlocked on drop.
struct AdvisoryLock {
    conn: Option<HeldConnection>,
    key: i64,
    handle: Handle,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let key = self.key;
        // Drop may run on an async worker: unlock in a task. Should the task never run (the
        // runtime is shutting down), the connection is dropped with it, and so closed.
        drop(self.handle.spawn(unlock(conn, key)));
    }
}

/// Unlocks `key` on `conn` and returns the connection to the pool, or closes it.
async fn unlock(conn: HeldConnection, key: i64) {
    let Some(client) = conn.0.as_ref() else { return };
    let unlocked = match client.query_one("SELECT pg_advisory_unlock($1)", &[&key]).await {
        Ok(r) => r.try_get::<_, bool>(0),
        Err(e) => Err(e),
    };
    match unlocked {
        Ok(true) => conn.release(),
        Ok(false) => tracing::warn!(key, "advisory lock was not held; closing its connection"),
        Err(error) => tracing::warn!(key, %error, "could not release an advisory lock; closing its connection"),
    }
}

impl PgMeta {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, no
    /// TLS) and brings its schema to [`PG_SCHEMA_VERSION`]; refuses a newer schema. The
    /// synchronous methods use the handle of the runtime this is called on (see the module doc).
    pub async fn open(url: &str) -> Result<PgMeta> {
        let handle = Handle::current();
        let mut config = tokio_postgres::Config::from_str(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("warden");
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Verified });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(15)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| MetaError::Other(Box::new(e)))?;
        let meta = PgMeta { pool, handle };
        meta.migrate().await?;
        Ok(meta)
    }

    /// Applies the [`MIGRATIONS`] the database lacks, one transaction each.
    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.get().await?;
        loop {
            let tx = conn.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(MIGRATION_LOCK, "")]).await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS warden_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await?;
            let version: i64 =
                tx.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM warden_schema", &[]).await?.try_get(0)?;
            if version > PG_SCHEMA_VERSION {
                return Err(MetaError::SchemaTooNew { found: version, known: PG_SCHEMA_VERSION });
            }
            let Some(step) = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v)) else {
                tx.commit().await?;
                return Ok(());
            };
            let next = i32::try_from(version + 1).unwrap_or(i32::MAX);
            tx.batch_execute(step).await?;
            tx.execute(
                "INSERT INTO warden_schema (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                &[&next],
            )
            .await?;
            tx.commit().await?;
            tracing::info!(version = next, "metadata schema migrated");
        }
    }

    /// Runs `f` to completion on the runtime (see the module doc).
    fn run<T>(&self, f: impl Future<Output = Result<T>>) -> Result<T> {
        match Handle::try_current() {
            // An async worker of a multi-threaded runtime: its other tasks move to another
            // thread first. (On the blocking pool, or outside any runtime, this runs `f` as is.)
            Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.handle.block_on(f))
            }
            _ => self.handle.block_on(f),
        }
    }

    /// Runs `sql` (a `DELETE` of one row, `$1` the repository and `$2` its key) under the lock of
    /// the repository's row; whether it deleted a row (false, too, when there is no repository).
    async fn delete_in_repository(&self, repo: &str, sql: &str, key: &str) -> Result<bool> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await?;
        if lock_repository(&tx, repo).await?.is_none() {
            return Ok(false);
        }
        let n = exec(&tx, sql, &[&repo, &key]).await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// A pooled connection.
    async fn conn(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }

    /// A connection out of the pool holding the advisory lock `key`: waits for it, or with
    /// `wait` false gives up (`None`) when another session holds it.
    async fn advisory(&self, key: i64, wait: bool) -> Result<Option<FleetGuard>> {
        let held = HeldConnection(Some(self.conn().await?));
        let Some(client) = held.0.as_ref() else { return Ok(None) };
        if wait {
            // Should this fail after the lock was granted, `held` drops and closes the session.
            client.execute("SELECT pg_advisory_lock($1)", &[&key]).await?;
        } else {
            let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).await?.try_get(0)?;
            if !got {
                held.release();
                return Ok(None);
            }
        }
        Ok(Some(Box::new(AdvisoryLock { conn: Some(held), key, handle: self.handle.clone() })))
    }
}

impl MetadataStore for PgMeta {
    fn create_repository(&self, name: &str, tags: &[(String, String)], mutability: &str, now: i64) -> Result<bool> {
        let tags = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
        self.run(async {
            let c = self.conn().await?;
            let n = exec(
                &c,
                "INSERT INTO repositories (name, created_at, tag_mutability, tags) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                &[&name, &now, &mutability, &tags],
            )
            .await?;
            Ok(n == 1)
        })
    }

    fn repository(&self, name: &str) -> Result<Option<Repository>> {
        self.run(async {
            let c = self.conn().await?;
            let Some(r) = row(
                &c,
                "SELECT name, created_at, tag_mutability, policy, tags, scan_on_push FROM repositories WHERE name = $1",
                &[&name],
            )
            .await?
            else {
                return Ok(None);
            };
            let tags: String = r.try_get(4)?;
            // Unreadable tags are an error, never "no tags": a tag-conditioned Deny must not vanish.
            let tags = serde_json::from_str(&tags).map_err(|e| MetaError::Other(Box::new(e)))?;
            Ok(Some(Repository {
                name: r.try_get(0)?,
                created_at: r.try_get(1)?,
                tag_mutability: r.try_get(2)?,
                policy: r.try_get(3)?,
                tags,
                scan_on_push: r.try_get(5)?,
            }))
        })
    }

    fn repositories(&self) -> Result<Vec<String>> {
        self.run(async {
            let c = self.conn().await?;
            strings(&c, "SELECT name FROM repositories ORDER BY name", &[]).await
        })
    }

    fn set_policy(&self, name: &str, policy: Option<&str>) -> Result<bool> {
        self.run(async {
            let c = self.conn().await?;
            Ok(exec(&c, "UPDATE repositories SET policy = $2 WHERE name = $1", &[&name, &policy]).await? == 1)
        })
    }

    fn delete_repository(&self, name: &str) -> Result<bool> {
        self.run(async {
            let c = self.conn().await?;
            // Takes the repository's row lock (after any writer holding it commits); the rest
            // goes by cascade in the same statement.
            Ok(exec(&c, "DELETE FROM repositories WHERE name = $1", &[&name]).await? == 1)
        })
    }

    fn link_blob(&self, repo: &str, digest: &str, size_of: u64) -> Result<()> {
        self.run(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            if lock_repository(&tx, repo).await?.is_none() {
                return Err(no_repository(repo));
            }
            exec(
                &tx,
                "INSERT INTO blobs (repo, digest, size) VALUES ($1, $2, $3) ON CONFLICT (repo, digest) DO NOTHING",
                &[&repo, &digest, &big(size_of)],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn blob(&self, repo: &str, digest: &str) -> Result<Option<u64>> {
        self.run(async {
            let c = self.conn().await?;
            match row(&c, "SELECT size FROM blobs WHERE repo = $1 AND digest = $2", &[&repo, &digest]).await? {
                Some(r) => Ok(Some(size(r.try_get(0)?))),
                None => Ok(None),
            }
        })
    }

    fn unlink_blob(&self, repo: &str, digest: &str) -> Result<bool> {
        self.run(async {
            self.delete_in_repository(repo, "DELETE FROM blobs WHERE repo = $1 AND digest = $2", digest).await
        })
    }

    fn repository_blobs(&self, repo: &str) -> Result<Vec<String>> {
        self.run(async {
            let c = self.conn().await?;
            strings(&c, "SELECT digest FROM blobs WHERE repo = $1 ORDER BY digest", &[&repo]).await
        })
    }

    fn blob_referenced(&self, digest: &str) -> Result<bool> {
        self.run(async {
            let c = self.conn().await?;
            Ok(row(&c, "SELECT 1 FROM blobs WHERE digest = $1 LIMIT 1", &[&digest]).await?.is_some())
        })
    }

    fn put_manifest(&self, m: &NewManifest<'_>) -> Result<PutOutcome> {
        self.run(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            // The repository's row lock: writers of this repository (on any instance) wait here,
            // so the checks below read what every earlier writer committed.
            let Some(mutability) = lock_repository(&tx, m.repo).await? else {
                return Ok(PutOutcome::Refused(PutRefusal::RepositoryGone));
            };
            for (blob, stated) in m.blobs {
                let Some(r) =
                    row(&tx, "SELECT size FROM blobs WHERE repo = $1 AND digest = $2", &[&m.repo, blob]).await?
                else {
                    return Ok(PutOutcome::Refused(PutRefusal::BlobUnknown(blob.clone())));
                };
                let stored = size(r.try_get(0)?);
                if let Some(stated) = stated.filter(|s| *s != stored) {
                    return Ok(PutOutcome::Refused(PutRefusal::BlobSize { digest: blob.clone(), stored, stated }));
                }
            }
            for child in m.manifests {
                if row(&tx, "SELECT 1 FROM manifests WHERE repo = $1 AND digest = $2", &[&m.repo, child])
                    .await?
                    .is_none()
                {
                    return Ok(PutOutcome::Refused(PutRefusal::BlobUnknown(child.clone())));
                }
            }
            let exists = row(&tx, "SELECT 1 FROM manifests WHERE repo = $1 AND digest = $2", &[&m.repo, &m.digest])
                .await?
                .is_some();
            if !exists {
                let images = scalar(&tx, "SELECT COUNT(*) FROM manifests WHERE repo = $1", &[&m.repo]).await?;
                if usize::try_from(images).unwrap_or(usize::MAX) >= m.max_images {
                    return Ok(PutOutcome::Refused(PutRefusal::ImageLimit));
                }
            }
            let mut changed = !exists;
            if let Some(tag) = m.tag {
                let current: Option<String> =
                    match row(&tx, "SELECT digest FROM tags WHERE repo = $1 AND tag = $2", &[&m.repo, &tag]).await? {
                        Some(r) => Some(r.try_get(0)?),
                        None => None,
                    };
                match current {
                    Some(d) if d == m.digest => changed = false,
                    Some(_) if mutability == "IMMUTABLE" => {
                        return Ok(PutOutcome::Refused(PutRefusal::TagImmutable));
                    }
                    _ => {
                        let tags = scalar(
                            &tx,
                            "SELECT COUNT(*) FROM tags WHERE repo = $1 AND digest = $2",
                            &[&m.repo, &m.digest],
                        )
                        .await?;
                        if usize::try_from(tags).unwrap_or(usize::MAX) >= m.max_tags_per_image {
                            return Ok(PutOutcome::Refused(PutRefusal::TooManyTags));
                        }
                        changed = true;
                    }
                }
            }
            if !changed {
                return Ok(PutOutcome::Stored { changed: false });
            }
            exec(
                &tx,
                "INSERT INTO manifests (repo, digest, media_type, body, subject, artifact_type, pushed_at, size) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (repo, digest) DO NOTHING",
                &[&m.repo, &m.digest, &m.media_type, &m.body, &m.subject, &m.artifact_type, &m.now, &big(m.size)],
            )
            .await?;
            for (blob, _) in m.blobs {
                exec(
                    &tx,
                    "INSERT INTO manifest_blobs (repo, manifest, blob) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&m.repo, &m.digest, blob],
                )
                .await?;
            }
            if let Some(tag) = m.tag {
                exec(
                    &tx,
                    "INSERT INTO tags (repo, tag, digest) VALUES ($1, $2, $3) \
                     ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest",
                    &[&m.repo, &tag, &m.digest],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(PutOutcome::Stored { changed: true })
        })
    }

    fn manifest(&self, repo: &str, reference: &str) -> Result<Option<Manifest>> {
        self.run(async {
            let c = self.conn().await?;
            let r = if reference.contains(':') {
                row(
                    &c,
                    "SELECT digest, media_type, body, artifact_type FROM manifests WHERE repo = $1 AND digest = $2",
                    &[&repo, &reference],
                )
                .await?
            } else {
                row(
                    &c,
                    "SELECT m.digest, m.media_type, m.body, m.artifact_type FROM tags t \
                     JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest WHERE t.repo = $1 AND t.tag = $2",
                    &[&repo, &reference],
                )
                .await?
            };
            r.as_ref().map(manifest_row).transpose()
        })
    }

    fn delete_manifest(&self, repo: &str, digest: &str) -> Result<Option<Vec<String>>> {
        self.run(async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            if lock_repository(&tx, repo).await?.is_none() {
                return Ok(None);
            }
            let blobs: Vec<String> = rows(
                &tx,
                "SELECT blob FROM manifest_blobs WHERE repo = $1 AND manifest = $2 ORDER BY blob",
                &[&repo, &digest],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
            if exec(&tx, "DELETE FROM manifests WHERE repo = $1 AND digest = $2", &[&repo, &digest]).await? != 1 {
                return Ok(None);
            }
            let mut orphaned = Vec::new();
            for blob in blobs {
                let still =
                    row(&tx, "SELECT 1 FROM manifest_blobs WHERE repo = $1 AND blob = $2 LIMIT 1", &[&repo, &blob])
                        .await?
                        .is_some();
                if !still {
                    exec(&tx, "DELETE FROM blobs WHERE repo = $1 AND digest = $2", &[&repo, &blob]).await?;
                    orphaned.push(blob);
                }
            }
            tx.commit().await?;
            Ok(Some(orphaned))
        })
    }

    fn untag(&self, repo: &str, tag: &str) -> Result<bool> {
        self.run(async { self.delete_in_repository(repo, "DELETE FROM tags WHERE repo = $1 AND tag = $2", tag).await })
    }

    fn tags(&self, repo: &str) -> Result<Vec<String>> {
        self.run(async {
            let c = self.conn().await?;
            strings(&c, "SELECT tag FROM tags WHERE repo = $1 ORDER BY tag", &[&repo]).await
        })
    }

    fn tag_count(&self, repo: &str, digest: &str) -> Result<usize> {
        self.run(async {
            let c = self.conn().await?;
            Ok(count(scalar(&c, "SELECT COUNT(*) FROM tags WHERE repo = $1 AND digest = $2", &[&repo, &digest]).await?))
        })
    }

    fn tag(&self, repo: &str, tag: &str) -> Result<Option<String>> {
        self.run(async {
            let c = self.conn().await?;
            match row(&c, "SELECT digest FROM tags WHERE repo = $1 AND tag = $2", &[&repo, &tag]).await? {
                Some(r) => Ok(Some(r.try_get(0)?)),
                None => Ok(None),
            }
        })
    }

    fn referrers(&self, repo: &str, subject: &str) -> Result<Vec<Manifest>> {
        self.run(async {
            let c = self.conn().await?;
            rows(
                &c,
                "SELECT digest, media_type, body, artifact_type FROM manifests WHERE repo = $1 AND subject = $2 ORDER BY digest",
                &[&repo, &subject],
            )
            .await?
            .iter()
            .map(manifest_row)
            .collect()
        })
    }

    fn images(&self, repo: &str) -> Result<Vec<(Manifest, i64)>> {
        self.run(async {
            let c = self.conn().await?;
            rows(
                &c,
                "SELECT digest, media_type, body, artifact_type, pushed_at FROM manifests WHERE repo = $1 ORDER BY pushed_at, digest",
                &[&repo],
            )
            .await?
            .iter()
            .map(|r| Ok((manifest_row(r)?, r.try_get(4)?)))
            .collect()
        })
    }

    fn image_page(
        &self,
        repo: &str,
        filter: TagFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ImageSummary>, usize)> {
        let tagged = "EXISTS (SELECT 1 FROM tags t WHERE t.repo = m.repo AND t.digest = m.digest)";
        let condition = match filter {
            TagFilter::Any => String::new(),
            TagFilter::Tagged => format!(" AND {tagged}"),
            TagFilter::Untagged => format!(" AND NOT {tagged}"),
        };
        self.run(async {
            let mut c = self.conn().await?;
            // One snapshot for the count and the page.
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let total =
                scalar(&tx, &format!("SELECT COUNT(*) FROM manifests m WHERE m.repo = $1{condition}"), &[&repo])
                    .await?;
            let page = rows(
                &tx,
                &format!(
                    "SELECT {SUMMARY_COLUMNS} FROM manifests m WHERE m.repo = $1{condition} \
                     ORDER BY m.pushed_at, m.digest LIMIT $2 OFFSET $3"
                ),
                &[&repo, &big_usize(limit), &big_usize(offset)],
            )
            .await?
            .iter()
            .map(summary_row)
            .collect::<Result<Vec<_>>>()?;
            tx.commit().await?;
            Ok((page, count(total)))
        })
    }

    fn image_id_page(
        &self,
        repo: &str,
        filter: TagFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ImageIdRow>, usize)> {
        let condition = match filter {
            TagFilter::Any => "",
            TagFilter::Tagged => " AND t.tag IS NOT NULL",
            TagFilter::Untagged => " AND t.tag IS NULL",
        };
        let from = "FROM manifests m LEFT JOIN tags t ON t.repo = m.repo AND t.digest = m.digest WHERE m.repo = $1";
        self.run(async {
            let mut c = self.conn().await?;
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let total = scalar(&tx, &format!("SELECT COUNT(*) {from}{condition}"), &[&repo]).await?;
            let page = rows(
                &tx,
                &format!(
                    "SELECT m.digest, t.tag {from}{condition} \
                     ORDER BY m.pushed_at, m.digest, t.tag NULLS FIRST LIMIT $2 OFFSET $3"
                ),
                &[&repo, &big_usize(limit), &big_usize(offset)],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>>>()?;
            tx.commit().await?;
            Ok((page, count(total)))
        })
    }

    fn image_summary(&self, repo: &str, digest: &str) -> Result<Option<ImageSummary>> {
        self.run(async {
            let c = self.conn().await?;
            row(
                &c,
                &format!("SELECT {SUMMARY_COLUMNS} FROM manifests m WHERE m.repo = $1 AND m.digest = $2"),
                &[&repo, &digest],
            )
            .await?
            .as_ref()
            .map(summary_row)
            .transpose()
        })
    }

    fn all_tags(&self, repo: &str) -> Result<Vec<(String, String)>> {
        self.run(async {
            let c = self.conn().await?;
            rows(&c, "SELECT tag, digest FROM tags WHERE repo = $1 ORDER BY tag", &[&repo])
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn set_repository_tags(&self, repo: &str, tags: &[(String, String)]) -> Result<bool> {
        let text = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
        self.run(async {
            let c = self.conn().await?;
            Ok(exec(&c, "UPDATE repositories SET tags = $2 WHERE name = $1", &[&repo, &text]).await? == 1)
        })
    }

    fn set_tag_mutability(&self, repo: &str, mutability: &str) -> Result<bool> {
        self.run(async {
            let c = self.conn().await?;
            Ok(exec(&c, "UPDATE repositories SET tag_mutability = $2 WHERE name = $1", &[&repo, &mutability]).await?
                == 1)
        })
    }

    fn image_count(&self, repo: &str) -> Result<usize> {
        self.run(async {
            let c = self.conn().await?;
            Ok(count(scalar(&c, "SELECT COUNT(*) FROM manifests WHERE repo = $1", &[&repo]).await?))
        })
    }

    fn repository_count(&self) -> Result<usize> {
        self.run(async {
            let c = self.conn().await?;
            Ok(count(scalar(&c, "SELECT COUNT(*) FROM repositories", &[]).await?))
        })
    }

    fn begin_upload(&self, id: &str, repo: &str, now: i64) -> Result<()> {
        self.run(async {
            let c = self.conn().await?;
            exec(&c, "INSERT INTO uploads (id, repo, started_at) VALUES ($1, $2, $3)", &[&id, &repo, &now]).await?;
            Ok(())
        })
    }

    fn upload_repo(&self, id: &str) -> Result<Option<String>> {
        self.run(async {
            let c = self.conn().await?;
            match row(&c, "SELECT repo FROM uploads WHERE id = $1", &[&id]).await? {
                Some(r) => Ok(Some(r.try_get(0)?)),
                None => Ok(None),
            }
        })
    }

    fn record_part(&self, id: &str, size_of: u64) -> Result<()> {
        self.run(async {
            let c = self.conn().await?;
            exec(&c, "UPDATE uploads SET parts = parts + 1, last_part = $2 WHERE id = $1", &[&id, &big(size_of)])
                .await?;
            Ok(())
        })
    }

    fn upload_parts(&self, id: &str) -> Result<(u64, u64)> {
        self.run(async {
            let c = self.conn().await?;
            match row(&c, "SELECT parts, last_part FROM uploads WHERE id = $1", &[&id]).await? {
                Some(r) => Ok((size(r.try_get(0)?), size(r.try_get(1)?))),
                None => Ok((0, 0)),
            }
        })
    }

    fn set_scan_on_push(&self, name: &str, on: bool) -> Result<bool> {
        self.run(async {
            let c = self.conn().await?;
            Ok(exec(&c, "UPDATE repositories SET scan_on_push = $2 WHERE name = $1", &[&name, &on]).await? == 1)
        })
    }

    fn set_lifecycle_policy(&self, repo: &str, text: Option<&str>) -> Result<bool> {
        self.run(async {
            let c = self.conn().await?;
            let n = match text {
                Some(t) => {
                    exec(
                        &c,
                        "INSERT INTO lifecycle_policies (repo, text) VALUES ($1, $2) \
                         ON CONFLICT (repo) DO UPDATE SET text = excluded.text",
                        &[&repo, &t],
                    )
                    .await?
                }
                None => exec(&c, "DELETE FROM lifecycle_policies WHERE repo = $1", &[&repo]).await?,
            };
            Ok(n == 1)
        })
    }

    fn lifecycle_policy(&self, repo: &str) -> Result<Option<(String, Option<i64>)>> {
        self.run(async {
            let c = self.conn().await?;
            match row(&c, "SELECT text, last_evaluated_at FROM lifecycle_policies WHERE repo = $1", &[&repo]).await? {
                Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
                None => Ok(None),
            }
        })
    }

    fn lifecycle_policies(&self) -> Result<Vec<(String, String)>> {
        self.run(async {
            let c = self.conn().await?;
            rows(&c, "SELECT repo, text FROM lifecycle_policies ORDER BY repo", &[])
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn lifecycle_evaluated(&self, repo: &str, at: i64) -> Result<()> {
        self.run(async {
            let c = self.conn().await?;
            exec(&c, "UPDATE lifecycle_policies SET last_evaluated_at = $2 WHERE repo = $1", &[&repo, &at]).await?;
            Ok(())
        })
    }

    fn set_lifecycle_preview(&self, repo: &str, text: &str, results: &str) -> Result<()> {
        self.run(async {
            let c = self.conn().await?;
            exec(
                &c,
                "INSERT INTO lifecycle_previews (repo, text, results) VALUES ($1, $2, $3) \
                 ON CONFLICT (repo) DO UPDATE SET text = excluded.text, results = excluded.results",
                &[&repo, &text, &results],
            )
            .await?;
            Ok(())
        })
    }

    fn lifecycle_preview(&self, repo: &str) -> Result<Option<(String, String)>> {
        self.run(async {
            let c = self.conn().await?;
            match row(&c, "SELECT text, results FROM lifecycle_previews WHERE repo = $1", &[&repo]).await? {
                Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
                None => Ok(None),
            }
        })
    }

    fn record_expiry(
        &self,
        repo: &str,
        digest: &str,
        tags: &[String],
        pushed_at: i64,
        rule: i64,
        at: i64,
    ) -> Result<()> {
        let tags = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
        self.run(async {
            let c = self.conn().await?;
            exec(
                &c,
                "INSERT INTO lifecycle_expiries (repo, digest, tags, pushed_at, rule_priority, expired_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&repo, &digest, &tags, &pushed_at, &rule, &at],
            )
            .await?;
            Ok(())
        })
    }

    fn expiries(&self, repo: &str) -> Result<Vec<ExpiryRecord>> {
        self.run(async {
            let c = self.conn().await?;
            rows(
                &c,
                "SELECT digest, tags, rule_priority, expired_at FROM lifecycle_expiries WHERE repo = $1 ORDER BY id",
                &[&repo],
            )
            .await?
            .iter()
            .map(|r| {
                let tags: String = r.try_get(1)?;
                Ok(ExpiryRecord {
                    digest: r.try_get(0)?,
                    tags: serde_json::from_str(&tags).unwrap_or_default(),
                    rule_priority: r.try_get(2)?,
                    expired_at: r.try_get(3)?,
                })
            })
            .collect()
        })
    }

    fn stale_uploads(&self, before: i64) -> Result<Vec<String>> {
        self.run(async {
            let c = self.conn().await?;
            strings(&c, "SELECT id FROM uploads WHERE started_at < $1 ORDER BY started_at, id", &[&before]).await
        })
    }

    fn end_upload(&self, id: &str) -> Result<()> {
        self.run(async {
            let c = self.conn().await?;
            exec(&c, "DELETE FROM uploads WHERE id = $1", &[&id]).await?;
            Ok(())
        })
    }

    fn lock_blob(&self, digest: &str) -> Result<FleetGuard> {
        self.run(async {
            self.advisory(lock_key("warden-blob", digest), true)
                .await?
                .ok_or_else(|| MetaError::Other("the blob lock was not granted".into()))
        })
    }

    fn try_lease(&self, name: &str) -> Result<Option<FleetGuard>> {
        self.run(self.advisory(lock_key("warden-lease", name), false))
    }

    fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Option<Vec<u8>>> {
        self.run(async {
            let c = self.conn().await?;
            exec(
                &c,
                "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &candidate],
            )
            .await?;
            match row(&c, "SELECT value FROM secrets WHERE name = $1", &[&name]).await? {
                Some(r) => Ok(Some(r.try_get(0)?)),
                None => Err(MetaError::Other(format!("secret {name} vanished").into())),
            }
        })
    }
}
