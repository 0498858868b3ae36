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

use std::collections::HashMap;
use std::io::{Read as _, Seek as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use sha2::{Digest as _, Sha256};
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt};

use crate::names::{random_id, Algorithm, Digest, Hasher};

/// A boxed future, so [`BlobStore`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A blob's bytes, read front to back in fixed buffers.
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// A span of a blob's bytes as a stream of chunks, for a response body.
pub type BlobChunks = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// The open end of an upload session: bytes written are appended to it.
pub type UploadWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// A content-addressed blob store with upload sessions. A blob becomes visible under its digest
/// only once whole, verified and durable. [`FsBlobStore`] is the default.
pub trait BlobStore: Send + Sync + 'static {
    /// The size of a stored blob, `None` when absent.
    fn size<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, io::Result<Option<u64>>>;

    /// Opens a blob positioned at `offset`, `None` when absent.
    fn open_blob<'a>(&'a self, digest: &'a Digest, offset: u64) -> BoxFuture<'a, io::Result<Option<BlobReader>>>;

    /// `len` bytes of a blob from `offset` as chunks, `None` when absent. The default reads
    /// through [`BlobStore::open_blob`] one [`CHUNK`] at a time, as the client takes them: a
    /// download holds one buffer and no thread, however slowly it is read.
    fn blob_chunks<'a>(
        &'a self,
        digest: &'a Digest,
        offset: u64,
        len: u64,
    ) -> BoxFuture<'a, io::Result<Option<BlobChunks>>> {
        Box::pin(async move {
            let Some(reader) = self.open_blob(digest, offset).await? else { return Ok(None) };
            let chunks: BlobChunks = Box::pin(tokio_util::io::ReaderStream::with_capacity(reader.take(len), CHUNK));
            Ok(Some(chunks))
        })
    }

    /// Starts an (empty) upload session.
    fn begin<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<()>>;

    /// The bytes received so far by an upload; `None` when there is no such session.
    fn upload_size<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>>;

    /// Opens an upload for appending (flush the writer before reading the upload's size).
    fn open_append<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<UploadWriter>>;

    /// Appends a chunk to an upload; the new size.
    fn append<'a>(&'a self, id: &'a str, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<u64>>;

    /// Cuts an upload back to its first `len` bytes (a request that wrote more than it said is
    /// taken back).
    fn truncate_upload<'a>(&'a self, id: &'a str, len: u64) -> BoxFuture<'a, io::Result<()>>;

    /// Cancels an upload; false when there was none.
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<bool>>;

    /// Checks an upload against `digest` (streaming hash). `Ok(Err(actual))` when it does not
    /// match (the upload is then dropped); its size when it does. Call
    /// [`BlobStore::commit_upload`] next.
    fn verify<'a>(&'a self, id: &'a str, digest: &'a Digest) -> BoxFuture<'a, io::Result<Result<u64, String>>>;

    /// Makes a verified upload durable and visible as the blob `digest`.
    fn commit_upload<'a>(&'a self, id: &'a str, digest: &'a Digest) -> BoxFuture<'a, io::Result<()>>;

    /// Stores `data` as a blob under its digest (verified by the caller).
    fn put<'a>(&'a self, digest: &'a Digest, data: Bytes) -> BoxFuture<'a, io::Result<()>>;

    /// Removes a blob's bytes (garbage collection); absent blobs are no error.
    fn remove<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, io::Result<()>>;
}

/// Blobs and upload sessions in a directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    /// The SHA-256 of each upload as written through [`BlobStore::open_append`], with the size it
    /// covers: verifying then needs no second read of the data. Lost on restart, and ignored
    /// whenever the size on disk differs (the data is then hashed from disk).
    hashes: Arc<Mutex<HashMap<String, (u64, Sha256)>>>,
    /// Download reads in flight at once, over all downloads.
    reads: Arc<tokio::sync::Semaphore>,
}

/// Download reads in flight at once: each is a task on the blocking pool, so however many
/// downloads run (or stall), they add at most this many threads.
const CONCURRENT_READS: usize = 8;

/// The size of each read of a download (memory a download holds: about two of these).
pub const CHUNK: usize = 64 * 1024;

impl FsBlobStore {
    /// A store under `root` (created when missing).
    pub async fn open(root: &Path) -> io::Result<FsBlobStore> {
        fs::create_dir_all(root.join("blobs")).await?;
        fs::create_dir_all(root.join("uploads")).await?;
        Ok(FsBlobStore {
            root: root.to_owned(),
            hashes: Arc::default(),
            reads: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_READS)),
        })
    }

    /// Opens the blob positioned at `offset` and runs `then` on the file, both on the blocking
    /// pool; `None` when the blob is absent.
    async fn with_blob_at<T: Send + 'static>(
        &self,
        digest: &Digest,
        offset: u64,
        then: impl FnOnce(std::fs::File) -> io::Result<T> + Send + 'static,
    ) -> io::Result<Option<T>> {
        let Some(path) = self.blob_path(digest) else { return Ok(None) };
        match tokio::task::spawn_blocking(move || {
            let mut f = std::fs::File::open(path)?;
            f.seek(io::SeekFrom::Start(offset))?;
            then(f)
        })
        .await
        {
            Ok(Ok(v)) => Ok(Some(v)),
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    fn blob_path(&self, digest: &Digest) -> Option<PathBuf> {
        let (alg, hex) = digest.as_str().split_once(':')?;
        Some(self.root.join("blobs").join(alg).join(hex.get(..2)?).join(hex))
    }

    fn upload_path(&self, id: &str) -> Option<PathBuf> {
        (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
            .then(|| self.root.join("uploads").join(id))
    }

    /// Syncs `tmp` and renames it into place as the blob `digest`, then syncs the directory.
    async fn commit_path(&self, tmp: &Path, digest: &Digest) -> io::Result<()> {
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
    fn size<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, io::Result<Option<u64>>> {
        Box::pin(async move {
            let Some(path) = self.blob_path(digest) else { return Ok(None) };
            match fs::metadata(&path).await {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn open_blob<'a>(&'a self, digest: &'a Digest, offset: u64) -> BoxFuture<'a, io::Result<Option<BlobReader>>> {
        Box::pin(async move {
            let Some(file) = self.with_blob_at(digest, offset, Ok).await? else { return Ok(None) };
            let mut file = File::from_std(file);
            // Reads go to the blocking pool one at a time, into a buffer of at most a chunk.
            file.set_max_buf_size(CHUNK);
            let reader: BlobReader = Box::new(file);
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
            // A span of one chunk or less (configs, small layers) is opened and read in the same
            // blocking task.
            let opened = {
                let _permit = self.reads.acquire().await.map_err(io::Error::other)?;
                self.with_blob_at(digest, offset, move |file| {
                    if len > CHUNK as u64 {
                        return Ok(Err(file));
                    }
                    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                    (&file).take(len).read_to_end(&mut buf)?;
                    Ok(Ok(Bytes::from(buf)))
                })
                .await?
            };
            let chunks: BlobChunks = match opened {
                None => return Ok(None),
                Some(Ok(whole)) => Box::pin(Chunks { state: ChunkState::Whole(whole), reads: Arc::clone(&self.reads) }),
                Some(Err(file)) => {
                    Box::pin(Chunks { state: ChunkState::Idle { file, left: len }, reads: Arc::clone(&self.reads) })
                }
            };
            Ok(Some(chunks))
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
            let file = OpenOptions::new().append(true).open(&path).await?;
            let size = file.metadata().await?.len();
            // Continue the running hash when it covers exactly what is on disk.
            let cached = self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let hash = match cached {
                Some((covered, h)) if covered == size => Some(h),
                _ if size == 0 => Some(Sha256::new()),
                _ => None,
            };
            Ok(Box::new(HashingWriter { file, id: id.to_owned(), size, hash, hashes: Arc::clone(&self.hashes) })
                as UploadWriter)
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

    fn truncate_upload<'a>(&'a self, id: &'a str, len: u64) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
            // The running hash no longer covers the file: verifying will read it from disk.
            self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let file = OpenOptions::new().write(true).open(&path).await?;
            file.set_len(len).await?;
            file.sync_all().await
        })
    }

    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, io::Result<bool>> {
        Box::pin(async move {
            self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let Some(path) = self.upload_path(id) else { return Ok(false) };
            match fs::remove_file(&path).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn verify<'a>(&'a self, id: &'a str, digest: &'a Digest) -> BoxFuture<'a, io::Result<Result<u64, String>>> {
        Box::pin(async move {
            let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
            let alg = digest.algorithm();
            let cached = self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let on_disk = fs::metadata(&path).await?.len();
            let (actual, size) = match (alg, cached) {
                // Hashed while it was written, and nothing was added since.
                (Algorithm::Sha256, Some((covered, h))) if covered == on_disk => {
                    (format!("sha256:{}", hex::encode(h.finalize())), on_disk)
                }
                // Otherwise from disk, in one blocking task.
                _ => {
                    let p = path.clone();
                    tokio::task::spawn_blocking(move || hash_file(&p, alg)).await.map_err(io::Error::other)??
                }
            };
            if actual != digest.as_str() {
                let _ = fs::remove_file(&path).await;
                return Ok(Err(actual));
            }
            Ok(Ok(size))
        })
    }

    fn commit_upload<'a>(&'a self, id: &'a str, digest: &'a Digest) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            self.hashes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
            let path = self.upload_path(id).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no upload"))?;
            self.commit_path(&path, digest).await
        })
    }

    fn put<'a>(&'a self, digest: &'a Digest, data: Bytes) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let tmp = self.root.join("uploads").join(format!("put-{}", random_id()));
            let mut f = File::create(&tmp).await?;
            f.write_all(&data).await?;
            f.flush().await?;
            drop(f);
            self.commit_path(&tmp, digest).await
        })
    }

    fn remove<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let Some(path) = self.blob_path(digest) else { return Ok(()) };
            match fs::remove_file(&path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}

/// Hashes a file with `alg`: (`alg:hex`, size).
fn hash_file(path: &Path, alg: Algorithm) -> io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Hasher::new(alg);
    let mut buf = vec![0u8; 1024 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        size += n as u64;
    }
    Ok((hasher.finish(), size))
}

/// A download's bytes, one [`CHUNK`] at a time, each read when the client has taken the one
/// before: a read is a blocking-pool task that waits for one of the store's read permits.
struct Chunks {
    state: ChunkState,
    reads: Arc<tokio::sync::Semaphore>,
}

type ChunkRead = Pin<Box<dyn Future<Output = io::Result<(std::fs::File, Bytes, u64)>> + Send>>;

enum ChunkState {
    /// A small span, read whole when the file was opened.
    Whole(Bytes),
    /// Between reads: the file and how much is left to send.
    Idle { file: std::fs::File, left: u64 },
    /// A read in flight.
    Reading(ChunkRead),
    /// Sent, or failed.
    Done,
}

impl Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::mem::replace(&mut self.state, ChunkState::Done) {
                ChunkState::Done => return Poll::Ready(None),
                ChunkState::Whole(bytes) if bytes.is_empty() => return Poll::Ready(None),
                ChunkState::Whole(bytes) => return Poll::Ready(Some(Ok(bytes))),
                ChunkState::Idle { left: 0, .. } => return Poll::Ready(None),
                ChunkState::Idle { file, left } => {
                    let reads = Arc::clone(&self.reads);
                    self.state = ChunkState::Reading(Box::pin(async move {
                        let _permit = reads.acquire_owned().await.map_err(io::Error::other)?;
                        tokio::task::spawn_blocking(move || {
                            let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                            let mut buf = Vec::with_capacity(want);
                            // `read_to_end` reads into the spare capacity without zeroing it.
                            (&file).take(want as u64).read_to_end(&mut buf)?;
                            let rest = left - buf.len() as u64;
                            Ok((file, Bytes::from(buf), rest))
                        })
                        .await
                        .map_err(io::Error::other)?
                    }));
                }
                ChunkState::Reading(mut read) => match read.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = ChunkState::Reading(read);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok((_, bytes, _))) if bytes.is_empty() => return Poll::Ready(None),
                    Poll::Ready(Ok((file, bytes, left))) => {
                        self.state = ChunkState::Idle { file, left };
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                },
            }
        }
    }
}

/// An upload's writer that hashes (SHA-256) what it appends, for [`BlobStore::verify`].
struct HashingWriter {
    file: File,
    id: String,
    /// Bytes the hash covers (accepted writes).
    size: u64,
    hash: Option<Sha256>,
    hashes: Arc<Mutex<HashMap<String, (u64, Sha256)>>>,
}

impl AsyncWrite for HashingWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.file).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            if let Some(h) = this.hash.as_mut() {
                h.update(buf.get(..*n).unwrap_or_default());
            }
            this.size += *n as u64;
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

impl Drop for HashingWriter {
    fn drop(&mut self) {
        if let Some(h) = self.hash.take() {
            let mut hashes = self.hashes.lock().unwrap_or_else(PoisonError::into_inner);
            hashes.insert(std::mem::take(&mut self.id), (self.size, h));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    async fn collect(mut chunks: BlobChunks) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| chunks.as_mut().poll_next(cx)).await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn chunks_cover_exactly_the_span_asked_for_across_buffer_boundaries() {
        let dir = std::env::temp_dir().join(format!("warden-blobs-test-{}", random_id()));
        let store = FsBlobStore::open(&dir).await.unwrap();
        // Two and a half read buffers of bytes that differ from position to position.
        let data: Vec<u8> = (0..(CHUNK * 5 / 2)).map(|i| (i % 251) as u8).collect();
        let digest = Digest::of(Algorithm::Sha256, &data);
        store.put(&digest, Bytes::from(data.clone())).await.unwrap();

        let whole = collect(store.blob_chunks(&digest, 0, data.len() as u64).await.unwrap().unwrap()).await;
        assert!(whole == data, "the whole blob");
        // A span that starts just before the first buffer boundary and ends just after the second.
        let (start, len) = (CHUNK - 5, CHUNK + 10);
        let span = collect(store.blob_chunks(&digest, start as u64, len as u64).await.unwrap().unwrap()).await;
        assert!(span == data[start..start + len], "bytes {start}..{}", start + len);
        // A small span is read whole (no read-ahead thread); the same bytes.
        let small = collect(store.blob_chunks(&digest, 1000, 5000).await.unwrap().unwrap()).await;
        assert!(small == data[1000..6000], "a small span");
        // Asking past the end gives what there is.
        let tail = collect(store.blob_chunks(&digest, (data.len() - 3) as u64, 100).await.unwrap().unwrap()).await;
        assert_eq!(tail, data[data.len() - 3..]);
        assert!(store.blob_chunks(&Digest::of(Algorithm::Sha256, b"absent"), 0, 1).await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
