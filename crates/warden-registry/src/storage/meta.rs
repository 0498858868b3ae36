//! Repositories, images, tags, policies and upload sessions behind [`MetadataStore`]. The default,
//! [`SqliteMeta`], keeps them in SQLite (WAL mode, full sync: an acknowledged write survives a
//! crash of the process or the machine). Every change that touches several rows is one
//! transaction, so deletes leave no orphaned rows.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// A failure of the metadata store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// SQLite failed.
    #[error("metadata store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (a statement, or the connection).
    #[error("metadata store: {}", chain(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("metadata store: {}", chain(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The database was written by a newer warden.
    #[error("metadata store: the database has schema version {found}; this warden knows versions up to {known}")]
    SchemaTooNew {
        /// The database's version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// Another backend failed.
    #[error("metadata store: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

type Result<T> = std::result::Result<T, MetaError>;

/// An error and its sources, `: `-separated: the drivers' own messages are often only "db error"
/// with the server's reason (a wrong password, a missing database) one level down.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

/// A repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Name.
    pub name: String,
    /// Creation time, epoch seconds.
    pub created_at: i64,
    /// `MUTABLE` or `IMMUTABLE`.
    pub tag_mutability: String,
    /// The repository policy text.
    pub policy: Option<String>,
    /// Resource tags.
    pub tags: Vec<(String, String)>,
    /// `imageScanningConfiguration.scanOnPush` (stored and reported; no scanner runs).
    pub scan_on_push: bool,
}

/// An image a lifecycle rule expired, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryRecord {
    /// Image digest.
    pub digest: String,
    /// Its tags when it expired.
    pub tags: Vec<String>,
    /// `rulePriority` of the rule that expired it.
    pub rule_priority: i64,
    /// When, epoch seconds.
    pub expired_at: i64,
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Digest.
    pub digest: String,
    /// Media type.
    pub media_type: String,
    /// The exact bytes pushed.
    pub body: Vec<u8>,
    /// `artifactType` (or the config media type) for referrers.
    pub artifact_type: Option<String>,
}

/// Which images a listing admits (`filter.tagStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagFilter {
    /// Images with at least one tag.
    Tagged,
    /// Images without tags.
    Untagged,
    /// All.
    Any,
}

/// A (digest, tag) pair of ListImages; no tag for an untagged image.
pub type ImageIdRow = (String, Option<String>);

/// An image without its manifest's bytes, as listings report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// Manifest digest.
    pub digest: String,
    /// Manifest media type.
    pub media_type: String,
    /// `artifactType`, or the config's media type.
    pub artifact_type: Option<String>,
    /// Push time, epoch seconds.
    pub pushed_at: i64,
    /// The layers' compressed size; `None` for images stored before sizes were recorded.
    pub size: Option<u64>,
    /// Its tags, in lexical order.
    pub tags: Vec<String>,
}

/// A manifest to store, with what it refers to and the quotas it must fit in
/// ([`MetadataStore::put_manifest`]).
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    /// The repository.
    pub repo: &'a str,
    /// Its digest.
    pub digest: &'a str,
    /// Its media type.
    pub media_type: &'a str,
    /// The exact bytes pushed.
    pub body: &'a [u8],
    /// `subject` digest.
    pub subject: Option<&'a str>,
    /// `artifactType` (or the config's media type).
    pub artifact_type: Option<&'a str>,
    /// Blobs that must be linked to the repository, with the sizes the manifest states.
    pub blobs: &'a [(String, Option<u64>)],
    /// Child manifests (of an index) that must be in the repository.
    pub manifests: &'a [String],
    /// The tag to point at it.
    pub tag: Option<&'a str>,
    /// The compressed size of its layers (ECR's `imageSizeInBytes`).
    pub size: u64,
    /// The push time, epoch seconds.
    pub now: i64,
    /// The image quota of a repository.
    pub max_images: usize,
    /// The tag quota of an image.
    pub max_tags_per_image: usize,
}

/// What [`MetadataStore::put_manifest`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored; `changed` is false when the manifest (and tag) were already exactly so.
    Stored {
        /// Whether anything changed.
        changed: bool,
    },
    /// Refused; nothing was written.
    Refused(PutRefusal),
}

/// Why a manifest was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutRefusal {
    /// The repository was deleted meanwhile.
    RepositoryGone,
    /// A blob or child manifest is not in the repository.
    BlobUnknown(String),
    /// A blob has another size than the manifest states.
    BlobSize {
        /// The blob.
        digest: String,
        /// Its stored size.
        stored: u64,
        /// The size stated.
        stated: u64,
    },
    /// The repository holds as many images as allowed.
    ImageLimit,
    /// The tag exists, points elsewhere, and the repository is IMMUTABLE.
    TagImmutable,
    /// The image has as many tags as allowed.
    TooManyTags,
}

/// A lock or lease held across every instance sharing a metadata store; released when dropped.
/// Single-process backends hand out a unit value: the registry's in-process locks suffice there.
pub type FleetGuard = Box<dyn std::any::Any + Send>;

/// The SQLite metadata store.
#[derive(Debug)]
pub struct SqliteMeta {
    conn: Mutex<Connection>,
}

/// A transactional store of repositories, images, tags, policies and upload sessions. Every
/// method is synchronous (the registry calls it on the blocking pool) and every change that
/// touches several records must be atomic. [`SqliteMeta`] is the default.
pub trait MetadataStore: Send + Sync + 'static {
    /// Creates a repository; false when it exists.
    fn create_repository(&self, name: &str, tags: &[(String, String)], mutability: &str, now: i64) -> Result<bool>;

    /// A repository.
    fn repository(&self, name: &str) -> Result<Option<Repository>>;

    /// Every repository name, sorted.
    fn repositories(&self) -> Result<Vec<String>>;

    /// Sets or removes a repository's policy.
    fn set_policy(&self, name: &str, policy: Option<&str>) -> Result<bool>;

    /// Deletes a repository with everything in it.
    fn delete_repository(&self, name: &str) -> Result<bool>;

    /// Makes a blob part of a repository.
    fn link_blob(&self, repo: &str, digest: &str, size: u64) -> Result<()>;

    /// The size of a blob of a repository.
    fn blob(&self, repo: &str, digest: &str) -> Result<Option<u64>>;

    /// Removes a blob from a repository.
    fn unlink_blob(&self, repo: &str, digest: &str) -> Result<bool>;

    /// Every blob linked to a repository.
    fn repository_blobs(&self, repo: &str) -> Result<Vec<String>>;

    /// True when any repository still holds the blob (so its bytes must stay).
    fn blob_referenced(&self, digest: &str) -> Result<bool>;

    /// Stores a manifest and, with a tag, points the tag at it — in one transaction that also
    /// checks what the manifest needs: its blobs linked to the repository with the sizes it
    /// states, its child manifests present, the image quota, the tag quota, and (against the
    /// repository's mutability as it stands in that transaction) tag immutability. Two writers
    /// racing on one tag of an IMMUTABLE repository: exactly one wins.
    fn put_manifest(&self, manifest: &NewManifest<'_>) -> Result<PutOutcome>;

    /// A manifest by tag or digest.
    fn manifest(&self, repo: &str, reference: &str) -> Result<Option<Manifest>>;

    /// Deletes a manifest and every tag on it, and unlinks the blobs that only it referred to;
    /// `None` when absent, else those blobs (their bytes may now be unreferenced).
    fn delete_manifest(&self, repo: &str, digest: &str) -> Result<Option<Vec<String>>>;

    /// Removes a tag; false when absent.
    fn untag(&self, repo: &str, tag: &str) -> Result<bool>;

    /// Tags of a repository, in lexical order.
    fn tags(&self, repo: &str) -> Result<Vec<String>>;

    /// How many tags point at a manifest.
    fn tag_count(&self, repo: &str, digest: &str) -> Result<usize>;

    /// The digest a tag points at.
    fn tag(&self, repo: &str, tag: &str) -> Result<Option<String>>;

    /// Manifests whose `subject` is `digest`: (digest, media type, size, artifact type, body).
    fn referrers(&self, repo: &str, subject: &str) -> Result<Vec<Manifest>>;

    /// Every manifest of a repository, oldest first: (digest, media type, pushed at, artifact type, body).
    fn images(&self, repo: &str) -> Result<Vec<(Manifest, i64)>>;

    /// One page (`offset`, `limit`) of a repository's images that `filter` admits, oldest first,
    /// without their manifests; and how many it admits in all.
    fn image_page(
        &self,
        repo: &str,
        filter: TagFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ImageSummary>, usize)>;

    /// One page of (digest, tag) pairs as ListImages lists them — each tag of a tagged image, and
    /// each untagged image once with no tag — oldest image first; and how many there are in all.
    fn image_id_page(
        &self,
        repo: &str,
        filter: TagFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ImageIdRow>, usize)>;

    /// The summary of one image.
    fn image_summary(&self, repo: &str, digest: &str) -> Result<Option<ImageSummary>>;

    /// Every (tag, digest) of a repository.
    fn all_tags(&self, repo: &str) -> Result<Vec<(String, String)>>;

    /// Replaces a repository's resource tags.
    fn set_repository_tags(&self, repo: &str, tags: &[(String, String)]) -> Result<bool>;

    /// Sets `MUTABLE` / `IMMUTABLE`.
    fn set_tag_mutability(&self, repo: &str, mutability: &str) -> Result<bool>;

    /// How many images a repository holds.
    fn image_count(&self, repo: &str) -> Result<usize>;

    /// How many repositories exist.
    fn repository_count(&self) -> Result<usize>;

    /// Records an upload session.
    fn begin_upload(&self, id: &str, repo: &str, now: i64) -> Result<()>;

    /// The repository of an upload session.
    fn upload_repo(&self, id: &str) -> Result<Option<String>>;

    /// Counts a part of an ECR layer upload of `size` bytes.
    fn record_part(&self, id: &str, size: u64) -> Result<()>;

    /// The number of parts and the size of the last part of an ECR layer upload.
    fn upload_parts(&self, id: &str) -> Result<(u64, u64)>;

    /// Sets `imageScanningConfiguration.scanOnPush`.
    fn set_scan_on_push(&self, name: &str, on: bool) -> Result<bool>;

    /// Sets (`Some`) or removes (`None`) a repository's lifecycle policy; false if it had none to remove.
    fn set_lifecycle_policy(&self, repo: &str, text: Option<&str>) -> Result<bool>;

    /// A repository's lifecycle policy and when it was last applied.
    fn lifecycle_policy(&self, repo: &str) -> Result<Option<(String, Option<i64>)>>;

    /// The repositories that have a lifecycle policy, with its text.
    fn lifecycle_policies(&self) -> Result<Vec<(String, String)>>;

    /// Records that a lifecycle policy was applied at `at`.
    fn lifecycle_evaluated(&self, repo: &str, at: i64) -> Result<()>;

    /// Stores the latest lifecycle preview of a repository (policy text, results as JSON).
    fn set_lifecycle_preview(&self, repo: &str, text: &str, results: &str) -> Result<()>;

    /// The latest lifecycle preview of a repository: (policy text, results JSON).
    fn lifecycle_preview(&self, repo: &str) -> Result<Option<(String, String)>>;

    /// Records an image expired by a lifecycle rule.
    fn record_expiry(
        &self,
        repo: &str,
        digest: &str,
        tags: &[String],
        pushed_at: i64,
        rule: i64,
        at: i64,
    ) -> Result<()>;

    /// The expiry log of a repository, oldest first.
    fn expiries(&self, repo: &str) -> Result<Vec<ExpiryRecord>>;

    /// Upload sessions started before `before` (epoch seconds).
    fn stale_uploads(&self, before: i64) -> Result<Vec<String>>;

    /// Ends an upload session.
    fn end_upload(&self, id: &str) -> Result<()>;

    /// Takes the fleet-wide lock on the bytes of blob `digest`, waiting for it. Completing an
    /// upload (bytes made visible, then linked) and garbage collection (unreferenced, then bytes
    /// removed) each hold it, so a collector on one instance never removes bytes that a push on
    /// another is about to link. The caller holds the registry's in-process blob lock first, so
    /// at most one task per instance waits here. The default (one process) takes nothing.
    fn lock_blob(&self, digest: &str) -> Result<FleetGuard> {
        let _ = digest;
        Ok(Box::new(()))
    }

    /// Tries to take the fleet-wide lease `name` (the lifecycle scheduler's round); `None` while
    /// another instance holds it. The default (one process) always grants it.
    fn try_lease(&self, name: &str) -> Result<Option<FleetGuard>> {
        let _ = name;
        Ok(Some(Box::new(())))
    }

    /// The registry-wide secret `name`: the first caller's `candidate` is stored and every caller
    /// (on any instance) gets the stored value. `None` where the backend keeps no secrets (the
    /// default: the data directory's key file is used).
    fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Option<Vec<u8>>> {
        let _ = (name, candidate);
        Ok(None)
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS repositories (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    tag_mutability TEXT NOT NULL DEFAULT 'MUTABLE',
    policy TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    scan_on_push INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS blobs (
    repo TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)
);
CREATE TABLE IF NOT EXISTS manifests (
    repo TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    body BLOB NOT NULL,
    subject TEXT,
    artifact_type TEXT,
    pushed_at INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)
);
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject);
CREATE TABLE IF NOT EXISTS tags (
    repo TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (repo, tag),
    FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS manifest_blobs (
    repo TEXT NOT NULL,
    manifest TEXT NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (repo, manifest, blob),
    FOREIGN KEY (repo, manifest) REFERENCES manifests(repo, digest) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS manifest_blobs_blob ON manifest_blobs(repo, blob);
CREATE TABLE IF NOT EXISTS lifecycle_policies (
    repo TEXT PRIMARY KEY REFERENCES repositories(name) ON DELETE CASCADE,
    text TEXT NOT NULL,
    last_evaluated_at INTEGER
);
CREATE TABLE IF NOT EXISTS lifecycle_previews (
    repo TEXT PRIMARY KEY REFERENCES repositories(name) ON DELETE CASCADE,
    text TEXT NOT NULL,
    results TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lifecycle_expiries (
    repo TEXT NOT NULL,
    digest TEXT NOT NULL,
    tags TEXT NOT NULL,
    pushed_at INTEGER NOT NULL,
    rule_priority INTEGER NOT NULL,
    expired_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    repo TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    started_at INTEGER NOT NULL,
    parts INTEGER NOT NULL DEFAULT 0,
    last_part INTEGER NOT NULL DEFAULT 0
);
"#;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

/// Brings a database to [`SCHEMA_VERSION`], in one transaction per step; refuses a newer one.
///
/// 1. the tables of the first release (created by [`SCHEMA`] when absent);
/// 2. `manifests.size` (the layers' compressed size, so image listings need not read manifests)
///    and an index of tags by digest.
fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(MetaError::Other(
            format!("the database has schema version {version}; this warden knows versions up to {SCHEMA_VERSION}")
                .into(),
        ));
    }
    conn.execute_batch(SCHEMA)?;
    if version < 2 {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let has_size: bool =
            conn.prepare("SELECT 1 FROM pragma_table_info('manifests') WHERE name = 'size'")?.exists([])?;
        let step = (|| -> Result<()> {
            if !has_size {
                conn.execute_batch("ALTER TABLE manifests ADD COLUMN size INTEGER")?;
            }
            conn.execute_batch(
                "CREATE INDEX IF NOT EXISTS tags_digest ON tags(repo, digest); PRAGMA user_version = 2",
            )?;
            Ok(())
        })();
        match step {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(())
}

impl SqliteMeta {
    /// Opens (creating, or migrating to [`SCHEMA_VERSION`]) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteMeta> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate(&conn)?;
        Ok(SqliteMeta { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A row of `digest, media_type, artifact_type, pushed_at, size` as a summary without tags.
fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImageSummary> {
    let size: Option<i64> = r.get(4)?;
    Ok(ImageSummary {
        digest: r.get(0)?,
        media_type: r.get(1)?,
        artifact_type: r.get(2)?,
        pushed_at: r.get(3)?,
        size: size.map(|s| u64::try_from(s).unwrap_or(0)),
        tags: Vec::new(),
    })
}

/// The tags of an image, in lexical order.
fn tags_of(conn: &Connection, repo: &str, digest: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT tag FROM tags WHERE repo = ?1 AND digest = ?2 ORDER BY tag")?;
    let tags = stmt.query_map(params![repo, digest], |r| r.get(0))?.collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(tags)
}

/// A count as SQLite's integer.
fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl MetadataStore for SqliteMeta {
    fn create_repository(&self, name: &str, tags: &[(String, String)], mutability: &str, now: i64) -> Result<bool> {
        let tags = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO repositories (name, created_at, tag_mutability, tags) VALUES (?1, ?2, ?3, ?4)",
            params![name, now, mutability, tags],
        )?;
        Ok(n == 1)
    }

    fn repository(&self, name: &str) -> Result<Option<Repository>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, created_at, tag_mutability, policy, tags, scan_on_push FROM repositories WHERE name = ?1",
                params![name],
                |r| {
                    let tags: String = r.get(4)?;
                    // Unreadable tags are an error, never "no tags": a tag-conditioned Deny must
                    // not vanish.
                    let tags = serde_json::from_str(&tags).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
                    })?;
                    Ok(Repository {
                        name: r.get(0)?,
                        created_at: r.get(1)?,
                        tag_mutability: r.get(2)?,
                        policy: r.get(3)?,
                        tags,
                        scan_on_push: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    fn repositories(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name FROM repositories ORDER BY name")?;
        let names = stmt.query_map([], |r| r.get(0))?.collect::<std::result::Result<Vec<String>, _>>()?;
        Ok(names)
    }

    fn set_policy(&self, name: &str, policy: Option<&str>) -> Result<bool> {
        Ok(self.conn().execute("UPDATE repositories SET policy = ?2 WHERE name = ?1", params![name, policy])? == 1)
    }

    fn delete_repository(&self, name: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM repositories WHERE name = ?1", params![name])? == 1)
    }

    fn link_blob(&self, repo: &str, digest: &str, size: u64) -> Result<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO blobs (repo, digest, size) VALUES (?1, ?2, ?3)",
            params![repo, digest, i64::try_from(size).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    fn blob(&self, repo: &str, digest: &str) -> Result<Option<u64>> {
        let size: Option<i64> = self
            .conn()
            .query_row("SELECT size FROM blobs WHERE repo = ?1 AND digest = ?2", params![repo, digest], |r| r.get(0))
            .optional()?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    fn unlink_blob(&self, repo: &str, digest: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM blobs WHERE repo = ?1 AND digest = ?2", params![repo, digest])? == 1)
    }

    fn repository_blobs(&self, repo: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT digest FROM blobs WHERE repo = ?1 ORDER BY digest")?;
        let rows = stmt.query_map(params![repo], |r| r.get(0))?.collect::<std::result::Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    fn blob_referenced(&self, digest: &str) -> Result<bool> {
        let n: i64 =
            self.conn().query_row("SELECT COUNT(*) FROM blobs WHERE digest = ?1", params![digest], |r| r.get(0))?;
        Ok(n > 0)
    }

    fn put_manifest(&self, m: &NewManifest<'_>) -> Result<PutOutcome> {
        let mut conn = self.conn();
        // IMMEDIATE: the write lock is taken before the checks read, so no other writer (in this
        // process or another) moves the tag or fills the quota between check and write.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mutability: Option<String> = tx
            .query_row("SELECT tag_mutability FROM repositories WHERE name = ?1", params![m.repo], |r| r.get(0))
            .optional()?;
        let Some(mutability) = mutability else { return Ok(PutOutcome::Refused(PutRefusal::RepositoryGone)) };
        for (blob, stated) in m.blobs {
            let size: Option<i64> = tx
                .query_row("SELECT size FROM blobs WHERE repo = ?1 AND digest = ?2", params![m.repo, blob], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(size) = size else { return Ok(PutOutcome::Refused(PutRefusal::BlobUnknown(blob.clone()))) };
            let size = u64::try_from(size).unwrap_or(0);
            if let Some(stated) = stated.filter(|s| *s != size) {
                return Ok(PutOutcome::Refused(PutRefusal::BlobSize { digest: blob.clone(), stored: size, stated }));
            }
        }
        for child in m.manifests {
            let n: i64 = tx.query_row(
                "SELECT COUNT(*) FROM manifests WHERE repo = ?1 AND digest = ?2",
                params![m.repo, child],
                |r| r.get(0),
            )?;
            if n == 0 {
                return Ok(PutOutcome::Refused(PutRefusal::BlobUnknown(child.clone())));
            }
        }
        let exists: i64 = tx.query_row(
            "SELECT COUNT(*) FROM manifests WHERE repo = ?1 AND digest = ?2",
            params![m.repo, m.digest],
            |r| r.get(0),
        )?;
        if exists == 0 {
            let images: i64 =
                tx.query_row("SELECT COUNT(*) FROM manifests WHERE repo = ?1", params![m.repo], |r| r.get(0))?;
            if usize::try_from(images).unwrap_or(usize::MAX) >= m.max_images {
                return Ok(PutOutcome::Refused(PutRefusal::ImageLimit));
            }
        }
        let mut changed = exists == 0;
        if let Some(tag) = m.tag {
            let current: Option<String> = tx
                .query_row("SELECT digest FROM tags WHERE repo = ?1 AND tag = ?2", params![m.repo, tag], |r| r.get(0))
                .optional()?;
            match current {
                Some(d) if d == m.digest => changed = false,
                Some(_) if mutability == "IMMUTABLE" => return Ok(PutOutcome::Refused(PutRefusal::TagImmutable)),
                _ => {
                    let tags: i64 = tx.query_row(
                        "SELECT COUNT(*) FROM tags WHERE repo = ?1 AND digest = ?2",
                        params![m.repo, m.digest],
                        |r| r.get(0),
                    )?;
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
        tx.execute(
            "INSERT OR IGNORE INTO manifests (repo, digest, media_type, body, subject, artifact_type, pushed_at, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![m.repo, m.digest, m.media_type, m.body, m.subject, m.artifact_type, m.now, i64::try_from(m.size).unwrap_or(i64::MAX)],
        )?;
        for (blob, _) in m.blobs {
            tx.execute(
                "INSERT OR IGNORE INTO manifest_blobs (repo, manifest, blob) VALUES (?1, ?2, ?3)",
                params![m.repo, m.digest, blob],
            )?;
        }
        if let Some(tag) = m.tag {
            tx.execute(
                "INSERT INTO tags (repo, tag, digest) VALUES (?1, ?2, ?3) ON CONFLICT(repo, tag) DO UPDATE SET digest = excluded.digest",
                params![m.repo, tag, m.digest],
            )?;
        }
        tx.commit()?;
        Ok(PutOutcome::Stored { changed: true })
    }

    fn manifest(&self, repo: &str, reference: &str) -> Result<Option<Manifest>> {
        let conn = self.conn();
        let digest: Option<String> = if reference.contains(':') {
            Some(reference.to_owned())
        } else {
            conn.query_row("SELECT digest FROM tags WHERE repo = ?1 AND tag = ?2", params![repo, reference], |r| {
                r.get(0)
            })
            .optional()?
        };
        let Some(digest) = digest else { return Ok(None) };
        Ok(conn
            .query_row(
                "SELECT digest, media_type, body, artifact_type FROM manifests WHERE repo = ?1 AND digest = ?2",
                params![repo, digest],
                |r| {
                    Ok(Manifest { digest: r.get(0)?, media_type: r.get(1)?, body: r.get(2)?, artifact_type: r.get(3)? })
                },
            )
            .optional()?)
    }

    fn delete_manifest(&self, repo: &str, digest: &str) -> Result<Option<Vec<String>>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let blobs: Vec<String> = {
            let mut stmt = tx.prepare("SELECT blob FROM manifest_blobs WHERE repo = ?1 AND manifest = ?2")?;
            let rows = stmt
                .query_map(params![repo, digest], |r| r.get(0))?
                .collect::<std::result::Result<Vec<String>, _>>()?;
            rows
        };
        if tx.execute("DELETE FROM manifests WHERE repo = ?1 AND digest = ?2", params![repo, digest])? != 1 {
            return Ok(None);
        }
        let mut orphaned = Vec::new();
        for blob in blobs {
            let still: i64 = tx.query_row(
                "SELECT COUNT(*) FROM manifest_blobs WHERE repo = ?1 AND blob = ?2",
                params![repo, blob],
                |r| r.get(0),
            )?;
            if still == 0 {
                tx.execute("DELETE FROM blobs WHERE repo = ?1 AND digest = ?2", params![repo, blob])?;
                orphaned.push(blob);
            }
        }
        tx.commit()?;
        Ok(Some(orphaned))
    }

    fn untag(&self, repo: &str, tag: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM tags WHERE repo = ?1 AND tag = ?2", params![repo, tag])? == 1)
    }

    fn tags(&self, repo: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT tag FROM tags WHERE repo = ?1 ORDER BY tag")?;
        let tags = stmt.query_map(params![repo], |r| r.get(0))?.collect::<std::result::Result<Vec<String>, _>>()?;
        Ok(tags)
    }

    fn tag_count(&self, repo: &str, digest: &str) -> Result<usize> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM tags WHERE repo = ?1 AND digest = ?2",
            params![repo, digest],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn tag(&self, repo: &str, tag: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT digest FROM tags WHERE repo = ?1 AND tag = ?2", params![repo, tag], |r| r.get(0))
            .optional()?)
    }

    fn referrers(&self, repo: &str, subject: &str) -> Result<Vec<Manifest>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT digest, media_type, body, artifact_type FROM manifests WHERE repo = ?1 AND subject = ?2 ORDER BY digest",
        )?;
        let rows = stmt
            .query_map(params![repo, subject], |r| {
                Ok(Manifest { digest: r.get(0)?, media_type: r.get(1)?, body: r.get(2)?, artifact_type: r.get(3)? })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn images(&self, repo: &str) -> Result<Vec<(Manifest, i64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT digest, media_type, body, artifact_type, pushed_at FROM manifests WHERE repo = ?1 ORDER BY pushed_at, digest",
        )?;
        let rows = stmt
            .query_map(params![repo], |r| {
                Ok((
                    Manifest { digest: r.get(0)?, media_type: r.get(1)?, body: r.get(2)?, artifact_type: r.get(3)? },
                    r.get(4)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn image_page(
        &self,
        repo: &str,
        filter: TagFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ImageSummary>, usize)> {
        let conn = self.conn();
        let tagged = "EXISTS (SELECT 1 FROM tags t WHERE t.repo = m.repo AND t.digest = m.digest)";
        let condition = match filter {
            TagFilter::Any => String::new(),
            TagFilter::Tagged => format!(" AND {tagged}"),
            TagFilter::Untagged => format!(" AND NOT {tagged}"),
        };
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM manifests m WHERE m.repo = ?1{condition}"),
            params![repo],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(&format!(
            "SELECT digest, media_type, artifact_type, pushed_at, size FROM manifests m WHERE m.repo = ?1{condition} ORDER BY pushed_at, digest LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt
            .query_map(params![repo, sql_count(limit), sql_count(offset)], summary_row)?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        drop(stmt);
        let mut out = Vec::with_capacity(rows.len());
        for mut s in rows {
            s.tags = tags_of(&conn, repo, &s.digest)?;
            out.push(s);
        }
        Ok((out, usize::try_from(total).unwrap_or(0)))
    }

    fn image_id_page(
        &self,
        repo: &str,
        filter: TagFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ImageIdRow>, usize)> {
        let conn = self.conn();
        let condition = match filter {
            TagFilter::Any => "",
            TagFilter::Tagged => " AND t.tag IS NOT NULL",
            TagFilter::Untagged => " AND t.tag IS NULL",
        };
        let from = "FROM manifests m LEFT JOIN tags t ON t.repo = m.repo AND t.digest = m.digest WHERE m.repo = ?1";
        let total: i64 = conn.query_row(&format!("SELECT COUNT(*) {from}{condition}"), params![repo], |r| r.get(0))?;
        let mut stmt = conn.prepare(&format!(
            "SELECT m.digest, t.tag {from}{condition} ORDER BY m.pushed_at, m.digest, t.tag LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt
            .query_map(params![repo, sql_count(limit), sql_count(offset)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((rows, usize::try_from(total).unwrap_or(0)))
    }

    fn image_summary(&self, repo: &str, digest: &str) -> Result<Option<ImageSummary>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT digest, media_type, artifact_type, pushed_at, size FROM manifests WHERE repo = ?1 AND digest = ?2",
                params![repo, digest],
                summary_row,
            )
            .optional()?;
        match row {
            Some(mut s) => {
                s.tags = tags_of(&conn, repo, digest)?;
                Ok(Some(s))
            }
            None => Ok(None),
        }
    }

    fn all_tags(&self, repo: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT tag, digest FROM tags WHERE repo = ?1 ORDER BY tag")?;
        let rows = stmt
            .query_map(params![repo], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn set_repository_tags(&self, repo: &str, tags: &[(String, String)]) -> Result<bool> {
        let text = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
        Ok(self.conn().execute("UPDATE repositories SET tags = ?2 WHERE name = ?1", params![repo, text])? == 1)
    }

    fn set_tag_mutability(&self, repo: &str, mutability: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("UPDATE repositories SET tag_mutability = ?2 WHERE name = ?1", params![repo, mutability])?
            == 1)
    }

    fn image_count(&self, repo: &str) -> Result<usize> {
        let n: i64 =
            self.conn().query_row("SELECT COUNT(*) FROM manifests WHERE repo = ?1", params![repo], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn repository_count(&self) -> Result<usize> {
        let n: i64 = self.conn().query_row("SELECT COUNT(*) FROM repositories", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn begin_upload(&self, id: &str, repo: &str, now: i64) -> Result<()> {
        self.conn()
            .execute("INSERT INTO uploads (id, repo, started_at) VALUES (?1, ?2, ?3)", params![id, repo, now])?;
        Ok(())
    }

    fn upload_repo(&self, id: &str) -> Result<Option<String>> {
        Ok(self.conn().query_row("SELECT repo FROM uploads WHERE id = ?1", params![id], |r| r.get(0)).optional()?)
    }

    fn record_part(&self, id: &str, size: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE uploads SET parts = parts + 1, last_part = ?2 WHERE id = ?1",
            params![id, i64::try_from(size).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    fn upload_parts(&self, id: &str) -> Result<(u64, u64)> {
        let parts: Option<(i64, i64)> = self
            .conn()
            .query_row("SELECT parts, last_part FROM uploads WHERE id = ?1", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let (parts, last) = parts.unwrap_or((0, 0));
        Ok((u64::try_from(parts).unwrap_or(0), u64::try_from(last).unwrap_or(0)))
    }

    fn set_scan_on_push(&self, name: &str, on: bool) -> Result<bool> {
        Ok(self.conn().execute("UPDATE repositories SET scan_on_push = ?2 WHERE name = ?1", params![name, on])? == 1)
    }

    fn set_lifecycle_policy(&self, repo: &str, text: Option<&str>) -> Result<bool> {
        let conn = self.conn();
        let n = match text {
            Some(t) => conn.execute(
                "INSERT INTO lifecycle_policies (repo, text) VALUES (?1, ?2)
                 ON CONFLICT(repo) DO UPDATE SET text = excluded.text",
                params![repo, t],
            )?,
            None => conn.execute("DELETE FROM lifecycle_policies WHERE repo = ?1", params![repo])?,
        };
        Ok(n == 1)
    }

    fn lifecycle_policy(&self, repo: &str) -> Result<Option<(String, Option<i64>)>> {
        Ok(self
            .conn()
            .query_row("SELECT text, last_evaluated_at FROM lifecycle_policies WHERE repo = ?1", params![repo], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    fn lifecycle_policies(&self) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT repo, text FROM lifecycle_policies ORDER BY repo")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn lifecycle_evaluated(&self, repo: &str, at: i64) -> Result<()> {
        self.conn()
            .execute("UPDATE lifecycle_policies SET last_evaluated_at = ?2 WHERE repo = ?1", params![repo, at])?;
        Ok(())
    }

    fn set_lifecycle_preview(&self, repo: &str, text: &str, results: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO lifecycle_previews (repo, text, results) VALUES (?1, ?2, ?3)
             ON CONFLICT(repo) DO UPDATE SET text = excluded.text, results = excluded.results",
            params![repo, text, results],
        )?;
        Ok(())
    }

    fn lifecycle_preview(&self, repo: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn()
            .query_row("SELECT text, results FROM lifecycle_previews WHERE repo = ?1", params![repo], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
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
        self.conn().execute(
            "INSERT INTO lifecycle_expiries (repo, digest, tags, pushed_at, rule_priority, expired_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![repo, digest, tags, pushed_at, rule, at],
        )?;
        Ok(())
    }

    fn expiries(&self, repo: &str) -> Result<Vec<ExpiryRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT digest, tags, rule_priority, expired_at FROM lifecycle_expiries WHERE repo = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![repo], |r| {
            let tags: String = r.get(1)?;
            Ok(ExpiryRecord {
                digest: r.get(0)?,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                rule_priority: r.get(2)?,
                expired_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn stale_uploads(&self, before: i64) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id FROM uploads WHERE started_at < ?1")?;
        let rows = stmt.query_map(params![before], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn end_upload(&self, id: &str) -> Result<()> {
        self.conn().execute("DELETE FROM uploads WHERE id = ?1", params![id])?;
        Ok(())
    }
}
