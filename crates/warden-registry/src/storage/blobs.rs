//! Content-addressed blobs behind [`BlobStore`]; the default, [`FsBlobStore`], keeps them on the
//! local filesystem.
//!
//! Layout under the data directory: `blobs/<alg>/<first two hex>/<hex>` for blobs and
//! `uploads/<id>` for upload sessions. A blob becomes visible only by `rename` after its bytes
//! were verified against its digest and `fsync`ed, and the directory `fsync`ed too: a crash at any
//! point leaves either no blob or the whole blob, never half of one. Data streams through fixed
//! buffers: a 10 GiB layer needs no more memory than a small one.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use crate::names::{parse_digest, Hasher};

/// A boxed future, so [`BlobStore`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A blob's bytes, read front to back in fixed buffers.
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// The open end of an upload session: bytes written are appended to it.
pub type UploadWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// A content-addressed blob store with upload sessions. A blob becomes visible under its digest
/// only once whole, verified and durable. [`FsBlobStore`] is the default.
pub trait BlobStore: Send + Sync + 'static {
    /// The size of a stored blob, `None` when absent.
    fn size<'a>(&'a self, digest: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>>;

    /// Opens a blob positioned at `offset`, `None` when absent.
    fn open_blob<'a>(&'a self, digest: &'a str, offset: u64) -> BoxFuture<'a, io::Result<Option<BlobReader>>>;

    /// Starts an (empty) upload session.
    fn begin<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<()>>;

    /// The bytes received so far by an upload; `None` when there is no such session.
    fn upload_size<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>>;

    /// Opens an upload for appending (flush the writer before reading the upload's size).
    fn open_append<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<UploadWriter>>;

    /// Appends a chunk to an upload; the new size.
    fn append<'a>(&'a self, id: &'a str, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<u64>>;

    /// Cancels an upload; false when there was none.
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<bool>>;

    /// Checks an upload against `digest` (streaming hash). `Ok(Err(actual))` when it does not
    /// match (the upload is then dropped); its size when it does. Call
    /// [`BlobStore::commit_upload`] next.
    fn verify<'a>(&'a self, id: &'a str, digest: &'a str) -> BoxFuture<'a, io::Result<Result<u64, String>>>;

    /// Makes a verified upload durable and visible as the blob `digest`.
    fn commit_upload<'a>(&'a self, id: &'a str, digest: &'a str) -> BoxFuture<'a, io::Result<()>>;

    /// Stores `data` as a blob under its digest (verified by the caller).
    fn put<'a>(&'a self, digest: &'a str, data: Bytes) -> BoxFuture<'a, io::Result<()>>;

    /// Removes a blob's bytes (garbage collection); absent blobs are no error.
    fn remove<'a>(&'a self, digest: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// Blobs and upload sessions in a directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

const BUFFER: usize = 256 * 1024;

impl FsBlobStore {
    /// A store under `root` (created when missing).
    pub async fn open(root: &Path) -> io::Result<FsBlobStore> {
        fs::create_dir_all(root.join("blobs")).await?;
        fs::create_dir_all(root.join("uploads")).await?;
        Ok(FsBlobStore { root: root.to_owned() })
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        parse_digest(digest)?;
        let (alg, hex) = digest.split_once(':')?;
        Some(self.root.join("blobs").join(alg).join(hex.get(..2)?).join(hex))
    }

    fn upload_path(&self, id: &str) -> Option<PathBuf> {
        (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
            .then(|| self.root.join("uploads").join(id))
    }

    /// Syncs `tmp` and renames it into place as the blob `digest`, then syncs the directory.
    async fn commit_path(&self, tmp: &Path, digest: &str) -> io::Result<()> {
        let dest = self.blob_path(digest).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad digest"))?;
        File::open(tmp).await?.sync_all().await?;
        let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        fs::create_dir_all(&dir).await?;
        fs::rename(tmp, &dest).await?;
        File::open(&dir).await?.sync_all().await?;
        Ok(())
    }
}

impl BlobStore for FsBlobStore {
    fn size<'a>(&'a self, digest: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>> {
        Box::pin(async move {
            let Some(path) = self.blob_path(digest) else { return Ok(None) };
            match fs::metadata(&path).await {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn open_blob<'a>(&'a self, digest: &'a str, offset: u64) -> BoxFuture<'a, io::Result<Option<BlobReader>>> {
        Box::pin(async move {
            let Some(path) = self.blob_path(digest) else { return Ok(None) };
            match File::open(&path).await {
                Ok(mut f) => {
                    if offset > 0 {
                        f.seek(io::SeekFrom::Start(offset)).await?;
                    }
                    Ok(Some(Box::new(f) as BlobReader))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn begin<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path =
                self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad upload id"))?;
            File::create(path).await.map(|_| ())
        })
    }

    fn upload_size<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>> {
        Box::pin(async move {
            let Some(path) = self.upload_path(id) else { return Ok(None) };
            match fs::metadata(&path).await {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn open_append<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<UploadWriter>> {
        Box::pin(async move {
            let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
            let f = OpenOptions::new().append(true).open(&path).await?;
            Ok(Box::new(f) as UploadWriter)
        })
    }

    fn append<'a>(&'a self, id: &'a str, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<u64>> {
        Box::pin(async move {
            let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
            let mut f = OpenOptions::new().append(true).open(&path).await?;
            f.write_all(chunk).await?;
            f.flush().await?;
            Ok(f.metadata().await?.len())
        })
    }

    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<bool>> {
        Box::pin(async move {
            let Some(path) = self.upload_path(id) else { return Ok(false) };
            match fs::remove_file(&path).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn verify<'a>(&'a self, id: &'a str, digest: &'a str) -> BoxFuture<'a, io::Result<Result<u64, String>>> {
        Box::pin(async move {
            let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
            let Some(alg) = parse_digest(digest) else { return Ok(Err("invalid digest".into())) };
            let mut f = File::open(&path).await?;
            let mut hasher = Hasher::new(alg);
            let mut buf = vec![0u8; BUFFER];
            let mut size = 0u64;
            loop {
                let n = f.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                hasher.update(buf.get(..n).unwrap_or_default());
                size += n as u64;
            }
            let actual = hasher.finish();
            if actual != digest {
                let _ = fs::remove_file(&path).await;
                return Ok(Err(actual));
            }
            Ok(Ok(size))
        })
    }

    fn commit_upload<'a>(&'a self, id: &'a str, digest: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
            self.commit_path(&path, digest).await
        })
    }

    fn put<'a>(&'a self, digest: &'a str, data: Bytes) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let tmp = self.root.join("uploads").join(format!("put-{}", random_id()));
            let mut f = File::create(&tmp).await?;
            f.write_all(&data).await?;
            f.flush().await?;
            drop(f);
            self.commit_path(&tmp, digest).await
        })
    }

    fn remove<'a>(&'a self, digest: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let Some(path) = self.blob_path(digest) else { return Ok(()) };
            match fs::remove_file(&path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}

/// 32 random hex characters.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // getrandom only fails where no OS randomness exists; fall back to time and address entropy.
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        bytes = t.to_le_bytes();
    }
    hex::encode(bytes)
}
