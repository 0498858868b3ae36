//! `/v2/<name>/blobs/uploads/...`: start (plain, monolithic, cross-repository mount), chunks
//! (`PATCH`, in order, `Content-Range` checked), completion (`PUT ?digest=`), status and cancel.

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderMap, StatusCode};

use super::reply::{Reply, CONTENT_DIGEST};
use super::request::OciRequest;
use crate::error::RegistryError;
use crate::names::{Digest, RepoName, UploadId};
use crate::service::uploads;
use crate::state::Registry;

fn location(repo: &RepoName, id: &UploadId) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

fn progress(status: StatusCode, repo: &RepoName, id: &UploadId, size: u64) -> Response {
    Reply::new(status)
        .header(header::LOCATION, location(repo, id))
        .header(header::RANGE, format!("0-{}", size.saturating_sub(1)))
        .header(header::HeaderName::from_static("docker-upload-uuid"), id.as_str())
        .header(header::CONTENT_LENGTH, "0")
        .build()
}

fn created(repo: &RepoName, digest: &Digest) -> Response {
    Reply::new(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{repo}/blobs/{digest}"))
        .header(CONTENT_DIGEST, digest.to_string())
        .header(header::CONTENT_LENGTH, "0")
        .build()
}

/// How many bytes a chunk request says it carries, checked against where the session stands:
/// `Content-Range: <start>-<end>` must start at `size` (the spec: "If the final chunk is uploaded
/// out of order, the registry MUST respond with a 416"), and a `Content-Length` must agree with it.
fn chunk_length(headers: &HeaderMap, size: u64) -> Result<Option<u64>, RegistryError> {
    let out_of_order = || RegistryError::RangeNotSatisfiable { size };
    let Some(value) = headers.get(header::CONTENT_RANGE) else { return Ok(None) };
    let value = value.to_str().map_err(|_| RegistryError::UploadInvalid("Content-Range is not text".into()))?;
    let value = value.trim().trim_start_matches("bytes").trim();
    let span = value.split('/').next().unwrap_or(value);
    let (a, b) = span
        .split_once('-')
        .ok_or_else(|| RegistryError::UploadInvalid(format!("Content-Range `{value}` is not <start>-<end>")))?;
    let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) else {
        return Err(RegistryError::UploadInvalid(format!("Content-Range `{value}` is not <start>-<end>")));
    };
    if a != size || b < a {
        return Err(out_of_order());
    }
    let len = b - a + 1;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n != len) {
        return Err(out_of_order());
    }
    Ok(Some(len))
}

/// `POST /v2/<name>/blobs/uploads/`.
pub(crate) async fn start(
    reg: &Registry,
    request: &OciRequest,
    repo: &RepoName,
    body: Body,
) -> Result<Response, RegistryError> {
    // Cross-repository mount: both repositories were authorized; link when the source has it.
    if let Some(mount) = &request.mount {
        if uploads::mount(reg, repo, &mount.from, &mount.digest).await? {
            return Ok(created(repo, &mount.digest));
        }
    }
    let id = uploads::start(reg, repo).await?;
    let Some(digest) = &request.digest else { return Ok(progress(StatusCode::ACCEPTED, repo, &id, 0)) };
    // Monolithic: the whole blob in this request.
    if let Err(e) = uploads::append(reg, &id, body, 0, None).await {
        let _ = uploads::end(reg, &id).await;
        return Err(e);
    }
    uploads::complete(reg, repo, &id, digest).await?;
    Ok(created(repo, digest))
}

/// `PATCH`: a chunk.
pub(crate) async fn patch(
    reg: &Registry,
    repo: &RepoName,
    id: &UploadId,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RegistryError> {
    let size = uploads::size(reg, repo, id).await?;
    let expected = chunk_length(headers, size)?;
    let size = uploads::append(reg, id, body, size, expected).await?;
    Ok(progress(StatusCode::ACCEPTED, repo, id, size))
}

/// `PUT ?digest=`: the last chunk (if any) and completion.
pub(crate) async fn finish(
    reg: &Registry,
    repo: &RepoName,
    id: &UploadId,
    digest: &Digest,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RegistryError> {
    let size = uploads::size(reg, repo, id).await?;
    let expected = chunk_length(headers, size)?;
    uploads::append(reg, id, body, size, expected).await?;
    uploads::complete(reg, repo, id, digest).await?;
    Ok(created(repo, digest))
}

/// `GET`: where the session stands.
pub(crate) async fn status(reg: &Registry, repo: &RepoName, id: &UploadId) -> Result<Response, RegistryError> {
    let size = uploads::size(reg, repo, id).await?;
    Ok(progress(StatusCode::NO_CONTENT, repo, id, size))
}

/// `DELETE`: cancels the session.
pub(crate) async fn cancel(reg: &Registry, repo: &RepoName, id: &UploadId) -> Result<Response, RegistryError> {
    uploads::size(reg, repo, id).await?;
    uploads::end(reg, id).await?;
    Ok(Reply::new(StatusCode::NO_CONTENT).build())
}
