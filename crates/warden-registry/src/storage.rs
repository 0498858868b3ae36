//! Durable storage behind two traits: [`blobs::BlobStore`], content-addressed blobs, and
//! [`meta::MetadataStore`], transactional metadata. The defaults keep both under the data
//! directory — blobs on the local filesystem ([`blobs::FsBlobStore`]) and metadata in SQLite
//! ([`meta::SqliteMeta`]). To scale out, blobs go to any S3-compatible object store
//! ([`s3::S3BlobStore`]) and metadata to PostgreSQL ([`postgres::PgMeta`]); several `warden serve`
//! processes on the same bucket and database are then one registry. [`Backends`] says which.
//! Handlers call these; these call nothing above them.

pub mod blobs;
pub mod meta;
pub mod postgres;
pub mod s3;

use std::path::Path;
use std::sync::Arc;

use blobs::{BlobStore, FsBlobStore};
use meta::{MetaError, MetadataStore, SqliteMeta};

/// Where the registry keeps blobs and metadata (`warden serve --blob-store`, `--metadata`).
#[derive(Debug, Clone, Default)]
pub struct Backends {
    /// Blob bytes and upload sessions.
    pub blobs: BlobBackend,
    /// Repositories, images, tags, policies, sessions.
    pub metadata: MetaBackend,
}

/// Where blob bytes live.
#[derive(Debug, Clone, Default)]
pub enum BlobBackend {
    /// `DATA_DIR/blobs` and `DATA_DIR/uploads` (the default).
    #[default]
    Filesystem,
    /// A bucket (and key prefix) of an S3-compatible object store.
    S3(s3::S3Config),
}

/// Where metadata lives.
#[derive(Clone, Default)]
pub enum MetaBackend {
    /// `DATA_DIR/registry.db` (the default).
    #[default]
    Sqlite,
    /// A PostgreSQL database, by its `postgres://` URL.
    Postgres(String),
}

impl std::fmt::Debug for MetaBackend {
    /// The URL without its password: configurations are logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaBackend::Sqlite => f.write_str("Sqlite"),
            MetaBackend::Postgres(url) => write!(f, "Postgres({})", redact_url(url)),
        }
    }
}

/// A URL with its passwords — of the user-info (`user:PASSWORD@`) and of a `password=` query
/// parameter — replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl MetaBackend {
    /// `sqlite` (or nothing) for the default, else a `postgres://` / `postgresql://` URL.
    pub fn parse(text: &str) -> Result<MetaBackend, String> {
        match text {
            "" | "sqlite" => Ok(MetaBackend::Sqlite),
            t if t.starts_with("postgres://") || t.starts_with("postgresql://") => Ok(MetaBackend::Postgres(t.to_owned())),
            t => Err(format!(
                "`{}` is not a metadata store: use `sqlite` (the default) or a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL",
                redact_url(t)
            )),
        }
    }
}

/// Why a storage backend could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The blob store.
    #[error("blob store: {0}")]
    Blobs(#[source] std::io::Error),
    /// The metadata store.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

impl Backends {
    /// Opens the blob store (the filesystem one under `data_dir`, created when missing).
    pub async fn open_blobs(&self, data_dir: &Path) -> Result<Arc<dyn BlobStore>, BackendError> {
        Ok(match &self.blobs {
            BlobBackend::Filesystem => Arc::new(FsBlobStore::open(data_dir).await.map_err(BackendError::Blobs)?),
            BlobBackend::S3(config) => Arc::new(s3::S3BlobStore::open(config).await.map_err(BackendError::Blobs)?),
        })
    }

    /// Opens (creating, or migrating) the metadata store (the SQLite one is `data_dir/registry.db`).
    pub async fn open_metadata(&self, data_dir: &Path) -> Result<Arc<dyn MetadataStore>, BackendError> {
        Ok(match &self.metadata {
            MetaBackend::Sqlite => {
                let path = data_dir.join("registry.db");
                let meta = tokio::task::spawn_blocking(move || SqliteMeta::open(&path))
                    .await
                    .map_err(|e| MetaError::Other(Box::new(e)))??;
                Arc::new(meta)
            }
            MetaBackend::Postgres(url) => Arc::new(postgres::PgMeta::open(url).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_parse_and_passwords_never_print() {
        assert!(matches!(MetaBackend::parse("sqlite"), Ok(MetaBackend::Sqlite)));
        let pg = MetaBackend::parse("postgres://warden:s3cret@db:5432/registry").unwrap_or_default();
        assert_eq!(format!("{pg:?}"), "Postgres(postgres://warden:***@db:5432/registry)");
        let err = MetaBackend::parse("mysql://root:hunter2@db/x").err().unwrap_or_default();
        assert!(err.contains("mysql://root:***@db/x") && !err.contains("hunter2"), "{err}");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(
            redact_url("postgres://u@db/x?sslmode=disable&password=p"),
            "postgres://u@db/x?sslmode=disable&password=***"
        );
    }
}
