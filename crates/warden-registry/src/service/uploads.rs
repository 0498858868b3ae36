//! Upload sessions, shared by the distribution API's uploads and ECR's layer-upload calls: a
//! session is a row (which repository it belongs to) and bytes in the blob store; completing one
//! verifies the digest, makes the blob durable and links it to the repository. Every failure
//! after a session started ends it, so no row or bytes are left behind.

use axum::body::Body;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use crate::error::RegistryError;
use crate::names::{Digest, RepoName, UploadId};
use crate::state::{now, Registry};

fn storage(e: std::io::Error) -> RegistryError {
    RegistryError::internal("blob storage", e)
}

/// Starts a session in `repo`.
pub async fn start(reg: &Registry, repo: &RepoName) -> Result<UploadId, RegistryError> {
    let id = UploadId::random();
    reg.blobs.begin(id.as_str()).await.map_err(storage)?;
    let (name, i, t) = (repo.clone(), id.clone(), now());
    if let Err(e) = reg.meta(move |m| m.begin_upload(i.as_str(), name.as_str(), t)).await {
        let _ = reg.blobs.cancel(id.as_str()).await;
        return Err(e);
    }
    Ok(id)
}

/// The bytes a session of `repo` holds so far; BLOB_UPLOAD_UNKNOWN when there is no such
/// session in that repository.
pub async fn size(reg: &Registry, repo: &RepoName, id: &UploadId) -> Result<u64, RegistryError> {
    let i = id.clone();
    let owner = reg.meta(move |m| m.upload_repo(i.as_str())).await?;
    if owner.as_deref() != Some(repo.as_str()) {
        return Err(RegistryError::UploadUnknown);
    }
    reg.blobs.upload_size(id.as_str()).await.map_err(storage)?.ok_or(RegistryError::UploadUnknown)
}

/// Streams `body` onto the end of a session; the new size. With `expected`, the body must have
/// exactly that many bytes: a body of another length is cut back off and answered 416, and the
/// session stays as it was.
pub async fn append(
    reg: &Registry,
    id: &UploadId,
    body: Body,
    start: u64,
    expected: Option<u64>,
) -> Result<u64, RegistryError> {
    let mut file = reg.blobs.open_append(id.as_str()).await.map_err(storage)?;
    let mut body = body;
    let mut written: u64 = 0;
    let mut failure = None;
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
            Err(e) => {
                failure = Some(RegistryError::UploadInvalid(format!("reading the body: {e}")));
                break;
            }
        };
        if expected.is_some_and(|n| written + data.len() as u64 > n) {
            failure = Some(RegistryError::RangeNotSatisfiable { size: start });
            break;
        }
        if let Err(e) = file.write_all(&data).await {
            failure = Some(storage(e));
            break;
        }
        written += data.len() as u64;
    }
    // Shut down, not just flushed: an object-store writer completes its object only then.
    if let Err(e) = file.shutdown().await {
        failure.get_or_insert(storage(e));
    }
    drop(file);
    if failure.is_none() && expected.is_some_and(|n| n != written) {
        failure = Some(RegistryError::RangeNotSatisfiable { size: start });
    }
    if let Some(e) = failure {
        // What this request wrote is taken back: the session stands where it stood.
        reg.blobs.truncate_upload(id.as_str(), start).await.map_err(storage)?;
        return Err(e);
    }
    reg.blobs.upload_size(id.as_str()).await.map_err(storage)?.ok_or(RegistryError::UploadUnknown)
}

/// Ends a session without a blob (cancelled, or failed).
pub async fn end(reg: &Registry, id: &UploadId) -> Result<(), RegistryError> {
    reg.blobs.cancel(id.as_str()).await.map_err(storage)?;
    let i = id.clone();
    reg.meta(move |m| m.end_upload(i.as_str())).await
}

/// Completes a session as the blob `digest` of `repo`: the bytes are verified against the digest,
/// made durable and visible, and linked. The session ends whatever the outcome.
pub async fn complete(reg: &Registry, repo: &RepoName, id: &UploadId, digest: &Digest) -> Result<u64, RegistryError> {
    // Hash outside the lock (it may read the whole blob); rename and link under it.
    let verified = reg.blobs.verify(id.as_str(), digest).await;
    let i = id.clone();
    let ended = reg.meta(move |m| m.end_upload(i.as_str())).await;
    let size = match verified {
        Ok(Ok(size)) => size,
        Ok(Err(actual)) => {
            return Err(RegistryError::BlobDigestMismatch { computed: actual, expected: digest.to_string() })
        }
        Err(e) => {
            let _ = reg.blobs.cancel(id.as_str()).await;
            return Err(storage(e));
        }
    };
    if let Err(e) = ended {
        let _ = reg.blobs.cancel(id.as_str()).await;
        return Err(e);
    }
    let _guard = reg.lock_blob(digest.as_str()).await?;
    reg.blobs.commit_upload(id.as_str(), digest).await.map_err(storage)?;
    let (name, d) = (repo.clone(), digest.to_string());
    reg.meta(move |m| m.link_blob(name.as_str(), &d, size)).await?;
    Ok(size)
}

/// Links a blob that `from` holds to `repo` (a cross-repository mount); false when `from` does
/// not hold it (the caller then starts an ordinary upload).
pub async fn mount(reg: &Registry, repo: &RepoName, from: &RepoName, digest: &Digest) -> Result<bool, RegistryError> {
    let _guard = reg.lock_blob(digest.as_str()).await?;
    let (src, d) = (from.clone(), digest.to_string());
    let Some(size) = reg.meta(move |m| m.blob(src.as_str(), &d)).await? else { return Ok(false) };
    if reg.blobs.size(digest).await.map_err(storage)?.is_none() {
        return Ok(false);
    }
    let (name, d) = (repo.clone(), digest.to_string());
    reg.meta(move |m| m.link_blob(name.as_str(), &d, size)).await?;
    Ok(true)
}
