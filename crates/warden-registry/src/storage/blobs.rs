//! Content-addressed blobs on the local filesystem.
//!
//! Layout under the data directory: `blobs/<alg>/<first two hex>/<hex>` for blobs and
//! `uploads/<id>` for upload sessions. A blob becomes visible only by `rename` after its bytes
//! were verified against its digest and `fsync`ed, and the directory `fsync`ed too: a crash at any
//! point leaves either no blob or the whole blob, never half of one. Data streams through fixed
//! buffers: a 10 GiB layer needs no more memory than a small one.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::names::{parse_digest, Hasher};

/// Blobs and upload sessions in a directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

const BUFFER: usize = 256 * 1024;

impl BlobStore {
    /// A store under `root` (created when missing).
    pub async fn open(root: &Path) -> io::Result<BlobStore> {
        fs::create_dir_all(root.join("blobs")).await?;
        fs::create_dir_all(root.join("uploads")).await?;
        Ok(BlobStore { root: root.to_owned() })
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

    /// The size of a stored blob, `None` when absent.
    pub async fn size(&self, digest: &str) -> io::Result<Option<u64>> {
        let Some(path) = self.blob_path(digest) else { return Ok(None) };
        match fs::metadata(&path).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens a blob positioned at `offset`.
    pub async fn open_blob(&self, digest: &str, offset: u64) -> io::Result<Option<File>> {
        let Some(path) = self.blob_path(digest) else { return Ok(None) };
        match File::open(&path).await {
            Ok(mut f) => {
                if offset > 0 {
                    f.seek(io::SeekFrom::Start(offset)).await?;
                }
                Ok(Some(f))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts an upload session.
    pub async fn begin(&self, id: &str) -> io::Result<()> {
        let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad upload id"))?;
        File::create(path).await.map(|_| ())
    }

    /// The bytes received so far by an upload; `None` when there is no such session.
    pub async fn upload_size(&self, id: &str) -> io::Result<Option<u64>> {
        let Some(path) = self.upload_path(id) else { return Ok(None) };
        match fs::metadata(&path).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens an upload for appending.
    pub async fn open_append(&self, id: &str) -> io::Result<File> {
        let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
        OpenOptions::new().append(true).open(&path).await
    }

    /// Appends a chunk to an upload; the new size.
    pub async fn append(&self, id: &str, chunk: &[u8]) -> io::Result<u64> {
        let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
        let mut f = OpenOptions::new().append(true).open(&path).await?;
        f.write_all(chunk).await?;
        f.flush().await?;
        Ok(f.metadata().await?.len())
    }

    /// Cancels an upload.
    pub async fn cancel(&self, id: &str) -> io::Result<bool> {
        let Some(path) = self.upload_path(id) else { return Ok(false) };
        match fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Checks an upload against `digest` (streaming hash). `Ok(Err(actual))` when it does not
    /// match (the upload is then dropped); its size when it does. Call [`BlobStore::commit_upload`]
    /// next.
    pub async fn verify(&self, id: &str, digest: &str) -> io::Result<Result<u64, String>> {
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
    }

    /// Syncs a verified upload and renames it into place as the blob `digest`.
    pub async fn commit_upload(&self, id: &str, digest: &str) -> io::Result<()> {
        let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
        self.commit(&path, digest).await
    }

    /// Stores `data` as a blob under its digest (verified by the caller).
    pub async fn put(&self, digest: &str, data: Bytes) -> io::Result<()> {
        let tmp = self.root.join("uploads").join(format!("put-{}", random_id()));
        let mut f = File::create(&tmp).await?;
        f.write_all(&data).await?;
        f.flush().await?;
        drop(f);
        self.commit(&tmp, digest).await
    }

    async fn commit(&self, tmp: &Path, digest: &str) -> io::Result<()> {
        let dest = self.blob_path(digest).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad digest"))?;
        File::open(tmp).await?.sync_all().await?;
        let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        fs::create_dir_all(&dir).await?;
        fs::rename(tmp, &dest).await?;
        File::open(&dir).await?.sync_all().await?;
        Ok(())
    }

    /// Removes a blob's bytes (garbage collection).
    pub async fn remove(&self, digest: &str) -> io::Result<()> {
        let Some(path) = self.blob_path(digest) else { return Ok(()) };
        match fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
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
