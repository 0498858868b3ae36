//! `/v2/<name>/blobs/<digest>`: download (whole or a `Range`), existence check and delete.

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderMap, StatusCode};

use super::reply::{Reply, CONTENT_DIGEST};
use crate::error::RegistryError;
use crate::names::Digest;
use crate::service;
use crate::state::Registry;

/// Parses `bytes=a-b` / `bytes=a-` / `bytes=-n` against `size`: `Ok(None)` without a header,
/// 416 when unsatisfiable.
fn range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, RegistryError> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let bad = || RegistryError::RangeNotSatisfiable { size };
    let spec = value.strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| bad())?;
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (a, "") => (a.parse().map_err(|_| bad())?, size.saturating_sub(1)),
        (a, b) => (a.parse().map_err(|_| bad())?, b.parse::<u64>().map_err(|_| bad())?.min(size.saturating_sub(1))),
    };
    if size == 0 || start >= size || start > end {
        return Err(bad());
    }
    Ok(Some((start, end)))
}

/// `GET`/`HEAD` of blob `digest` of repository `repo` (also the target of presigned URLs).
pub async fn get(
    reg: &Registry,
    repo: &str,
    digest: &Digest,
    head: bool,
    headers: &HeaderMap,
) -> Result<Response, RegistryError> {
    let (name, d) = (repo.to_owned(), digest.to_string());
    let size = reg
        .meta(move |m| m.blob(&name, &d))
        .await?
        .ok_or_else(|| RegistryError::BlobUnknown { digest: digest.to_string() })?;
    let span = range(headers, size)?;
    let (start, len, status) = match span {
        Some((a, b)) => (a, b - a + 1, StatusCode::PARTIAL_CONTENT),
        None => (0, size, StatusCode::OK),
    };
    let mut reply = Reply::new(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len.to_string())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(CONTENT_DIGEST, digest.to_string());
    if let Some((a, b)) = span {
        reply = reply.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{size}"));
    }
    if head {
        return Ok(reply.build());
    }
    let chunks = reg
        .blobs
        .blob_chunks(digest, start, len)
        .await
        .map_err(|e| RegistryError::internal("blob storage", e))?
        .ok_or_else(|| RegistryError::internal("blob storage", format!("blob {digest} is linked but has no bytes")))?;
    Ok(reply.body(Body::from_stream(chunks)).build())
}

/// `DELETE`: unlinks the blob from the repository; its bytes go when no repository holds it.
pub(crate) async fn delete(reg: &Registry, repo: &str, digest: &Digest) -> Result<Response, RegistryError> {
    let (name, d) = (repo.to_owned(), digest.to_string());
    if !reg.meta(move |m| m.unlink_blob(&name, &d)).await? {
        return Err(RegistryError::BlobUnknown { digest: digest.to_string() });
    }
    service::gc::collect(reg, &[digest.to_string()]).await;
    Ok(Reply::new(StatusCode::ACCEPTED).build())
}
