//! The Docker Registry HTTP API V2 / OCI Distribution Spec 1.1 handlers. Every request has been
//! authenticated and authorized by the layer before it gets here (see [`crate::authz`]).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use tokio::io::AsyncWriteExt;
use warden_policy::{evaluate, Outcome, Policies};
use warden_tower::Authorized;

use crate::error::OciError;
use crate::manifest::{self, MAX_MANIFEST_BYTES};
use crate::names::{self, parse_digest};
use crate::route::{self, Route};
use crate::state::{now, Registry};
use crate::storage::blobs::random_id;

type Result<T> = std::result::Result<T, OciError>;

/// The `/v2/...` entry point.
pub async fn v2(State(reg): State<Arc<Registry>>, req: Request<Body>) -> Response {
    match dispatch(&reg, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn io_error(e: std::io::Error) -> OciError {
    eprintln!("warden: storage: {e}");
    OciError::internal("storage")
}

struct Reply {
    status: StatusCode,
    headers: Vec<(header::HeaderName, String)>,
    body: Body,
}

impl Reply {
    fn new(status: StatusCode) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::empty() }
    }
    fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: impl Into<Body>) -> Reply {
        self.body = body.into();
        self
    }
    fn build(self) -> Response {
        let mut resp = Response::new(self.body);
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.append(k, v);
            }
        }
        resp
    }
}

fn hn(name: &'static str) -> header::HeaderName {
    header::HeaderName::from_static(name)
}

async fn dispatch(reg: &Arc<Registry>, req: Request<Body>) -> Result<Response> {
    let route = route::parse(req.uri().path()).ok_or_else(|| OciError::unsupported("unknown endpoint"))?;
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_owned();
    match (route, method.as_str()) {
        (Route::Base, "GET" | "HEAD") => Ok(Reply::new(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(if method == Method::HEAD { "" } else { "{}" })
            .build()),
        (Route::Catalog, "GET") => {
            let caller = req.extensions().get::<Authorized>().map(|a| a.caller.clone());
            let ctx = caller
                .as_ref()
                .and_then(|c| warden_tower::context::request_context(&req, c, Some(false), &reg.config.region).ok())
                .unwrap_or_default();
            catalog(reg, caller, ctx, &query).await
        }
        (Route::Tags { repo }, "GET") => tags(reg, &repo, &query).await,
        (Route::Manifest { repo, reference }, "GET" | "HEAD") => {
            let accept: Vec<String> = req
                .headers()
                .get_all(header::ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(',').map(|t| t.trim().to_owned()))
                .filter(|t| !t.is_empty())
                .collect();
            get_manifest(reg, &repo, &reference, method == Method::HEAD, accept).await
        }
        (Route::Manifest { repo, reference }, "PUT") => put_manifest(reg, &repo, &reference, req).await,
        (Route::Manifest { repo, reference }, "DELETE") => delete_manifest(reg, &repo, &reference).await,
        (Route::Blob { repo, digest }, "GET" | "HEAD") => {
            let headers = req.headers().clone();
            get_blob(reg, &repo, &digest, method == Method::HEAD, &headers).await
        }
        (Route::Blob { repo, digest }, "DELETE") => delete_blob(reg, &repo, &digest).await,
        (Route::UploadStart { repo }, "POST") => start_upload(reg, &repo, &query, req).await,
        (Route::Upload { repo, id }, "PATCH") => patch_upload(reg, &repo, &id, req).await,
        (Route::Upload { repo, id }, "PUT") => finish_upload(reg, &repo, &id, &query, req).await,
        (Route::Upload { repo, id }, "GET") => upload_status(reg, &repo, &id).await,
        (Route::Upload { repo, id }, "DELETE") => cancel_upload(reg, &repo, &id).await,
        (Route::Referrers { repo, digest }, "GET") => referrers(reg, &repo, &digest, &query).await,
        _ => Err(OciError::unsupported(format!("{method} is not supported here"))),
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `n` and `last` pagination over a sorted list; the page and the `Link` to the next one.
fn paginate(items: Vec<String>, query: &str, base: &str) -> Result<(Vec<String>, Option<String>)> {
    let last = query_param(query, "last");
    let start = match &last {
        Some(l) => items.partition_point(|t| t.as_str() <= l.as_str()),
        None => 0,
    };
    let rest: Vec<String> = items.into_iter().skip(start).collect();
    let n = match query_param(query, "n") {
        Some(n) => Some(n.parse::<usize>().map_err(|_| OciError::unsupported(format!("`n={n}` is not a number")))?),
        None => None,
    };
    match n {
        Some(n) if rest.len() > n => {
            let page: Vec<String> = rest.into_iter().take(n).collect();
            let link = page.last().map(|l| format!("<{base}?n={n}&last={l}>; rel=\"next\""));
            Ok((page, link))
        }
        _ => Ok((rest, None)),
    }
}

async fn catalog(
    reg: &Arc<Registry>,
    caller: Option<warden_tower::Caller>,
    ctx: warden_policy::Context,
    query: &str,
) -> Result<Response> {
    let all = reg.meta(|m| m.repositories()).await?;
    // Only the repositories the caller may describe.
    let mut visible = Vec::new();
    if let Some(caller) = &caller {
        for name in all {
            let n = name.clone();
            let Some(repo) = reg.meta(move |m| m.repository(&n)).await? else { continue };
            let policy = reg.policy_set(&repo);
            let arn = reg.repository_arn(&name);
            let request = warden_policy::Request {
                principal: &caller.principal,
                action: "ecr:DescribeRepositories",
                resource: &arn,
                resource_account: &reg.config.account_id,
                context: &ctx,
            };
            let policies = Policies {
                identity: &caller.identity,
                boundary: caller.boundary.as_ref(),
                session: None,
                resource: policy.as_ref(),
            };
            if evaluate(&policies, &request).outcome == Outcome::Allowed {
                visible.push(name);
            }
        }
    }
    let (page, link) = paginate(visible, query, "/v2/_catalog")?;
    let mut reply = Reply::new(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(serde_json::json!({"repositories": page}).to_string());
    if let Some(l) = link {
        reply = reply.header(header::LINK, l);
    }
    Ok(reply.build())
}

async fn tags(reg: &Arc<Registry>, repo: &str, query: &str) -> Result<Response> {
    reg.repository(repo).await?;
    let name = repo.to_owned();
    let all = reg.meta(move |m| m.tags(&name)).await?;
    let (page, link) = paginate(all, query, &format!("/v2/{repo}/tags/list"))?;
    let mut reply = Reply::new(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(serde_json::json!({"name": repo, "tags": page}).to_string());
    if let Some(l) = link {
        reply = reply.header(header::LINK, l);
    }
    Ok(reply.build())
}

async fn get_manifest(
    reg: &Arc<Registry>,
    repo: &str,
    reference: &str,
    head: bool,
    accept: Vec<String>,
) -> Result<Response> {
    if !crate::names::valid_repository(repo) {
        return Err(OciError::name_invalid(repo));
    }
    // The repository and the manifest in one trip to the metadata store.
    let (name, r) = (repo.to_owned(), reference.to_owned());
    let (repository, m) = reg.meta(move |m| Ok((m.repository(&name)?, m.manifest(&name, &r)?))).await?;
    if repository.is_none() {
        return Err(OciError::name_unknown(repo, &reg.config.account_id));
    }
    check_reference(reference)?;
    let m = m.ok_or_else(|| OciError::manifest_unknown(reference))?;
    let (mut media_type, mut body, mut digest) = (m.media_type, m.body, m.digest);
    // By tag, a client that does not understand the stored format gets it translated where the
    // user guide's conversion table allows; by digest, never.
    if !reference.contains(':') && !manifest::accepts(&accept, &media_type) {
        let to_oci = media_type == manifest::DOCKER_V2 || media_type == manifest::DOCKER_LIST;
        if let Some((t, b)) = manifest::translate(&body, to_oci).filter(|(t, _)| manifest::accepts(&accept, t)) {
            digest = names::Algorithm::Sha256.digest(&b);
            (media_type, body) = (t, b);
        } else if (media_type == manifest::DOCKER_V2 || media_type == manifest::OCI_MANIFEST)
            && (manifest::accepts(&accept, manifest::DOCKER_V1_SIGNED)
                || manifest::accepts(&accept, manifest::DOCKER_V1))
        {
            let (signed, payload_digest) = to_schema1(reg, repo, reference, &body).await?;
            (media_type, body, digest) = (manifest::DOCKER_V1_SIGNED.to_owned(), signed, payload_digest);
        }
    }
    let len = body.len();
    Ok(Reply::new(StatusCode::OK)
        .header(header::CONTENT_TYPE, media_type)
        .header(header::CONTENT_LENGTH, len.to_string())
        .header(hn("docker-content-digest"), digest)
        .body(if head { Bytes::new() } else { Bytes::from(body) })
        .build())
}

/// The largest image config read to build a schema 1 manifest.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Translates an image manifest to signed schema 1: (signed body, digest of the unsigned payload,
/// which is a schema 1 manifest's digest).
async fn to_schema1(reg: &Arc<Registry>, repo: &str, tag: &str, body: &[u8]) -> Result<(Vec<u8>, String)> {
    use tokio::io::AsyncReadExt;
    let signer = reg.schema1_signer.as_ref().ok_or_else(|| OciError::internal("no schema 1 signing key"))?;
    let manifest: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| OciError::manifest_invalid(e.to_string()))?;
    let config_digest = manifest
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| OciError::manifest_invalid("the manifest has no config"))?;
    let mut reader = reg
        .blobs
        .open_blob(config_digest, 0)
        .await
        .map_err(|e| OciError::internal(&e.to_string()))?
        .ok_or_else(|| OciError::blob_unknown(config_digest))?
        .take(MAX_CONFIG_BYTES);
    let mut config_bytes = Vec::new();
    reader.read_to_end(&mut config_bytes).await.map_err(|e| OciError::internal(&e.to_string()))?;
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| OciError::manifest_invalid(format!("the image config is not JSON: {e}")))?;
    let unsigned = crate::schema1::build(repo, tag, &manifest, &config)?;
    if unsigned.uses_empty_layer {
        // The empty layer must be pullable from this repository like any other.
        let empty = crate::schema1::EMPTY_LAYER_DIGEST;
        if reg.blobs.size(empty).await.map_err(|e| OciError::internal(&e.to_string()))?.is_none() {
            reg.blobs
                .put(empty, Bytes::from_static(crate::schema1::EMPTY_LAYER))
                .await
                .map_err(|e| OciError::internal(&e.to_string()))?;
        }
        let (name, size) = (repo.to_owned(), crate::schema1::EMPTY_LAYER.len() as u64);
        let _guard = reg.blob_lock.lock().await;
        reg.meta(move |m| m.link_blob(&name, empty, size)).await?;
    }
    let digest = names::Algorithm::Sha256.digest(&unsigned.payload);
    let time = chrono::DateTime::from_timestamp(crate::state::now(), 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    Ok((signer.sign(&unsigned.payload, &time)?, digest))
}

fn check_reference(reference: &str) -> Result<()> {
    if reference.contains(':') {
        parse_digest(reference)
            .map(|_| ())
            .ok_or_else(|| OciError::digest_invalid(format!("invalid digest `{reference}`")))
    } else if names::valid_tag(reference) {
        Ok(())
    } else {
        Err(OciError::tag_invalid(format!("invalid tag `{reference}`")))
    }
}

async fn put_manifest(reg: &Arc<Registry>, repo: &str, reference: &str, req: Request<Body>) -> Result<Response> {
    let repository = reg.repository(repo).await?;
    check_reference(reference)?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = Limited::new(req.into_body(), MAX_MANIFEST_BYTES)
        .collect()
        .await
        .map_err(|_| OciError::size_invalid(format!("manifest larger than {MAX_MANIFEST_BYTES} bytes")))?
        .to_bytes();
    let (tag, digest_ref) = if reference.contains(':') { (None, Some(reference)) } else { (Some(reference), None) };
    let stored = store_manifest(reg, &repository, &body, content_type.as_deref(), tag, digest_ref).await?;
    let mut reply = Reply::new(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{repo}/manifests/{}", stored.digest))
        .header(hn("docker-content-digest"), stored.digest);
    if let Some(s) = stored.parsed.subject {
        reply = reply.header(hn("oci-subject"), s);
    }
    Ok(reply.build())
}

/// A manifest as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its digest.
    pub digest: String,
    /// What it refers to.
    pub parsed: manifest::Parsed,
    /// False when the manifest and tag were already exactly so (nothing changed).
    pub changed: bool,
}

/// Validates and stores a manifest, tagging it with `tag`: the path both the registry API and
/// ECR's PutImage take. An IMMUTABLE repository refuses to move an existing tag.
pub async fn store_manifest(
    reg: &Arc<Registry>,
    repository: &crate::storage::meta::Repository,
    body: &[u8],
    content_type: Option<&str>,
    tag: Option<&str>,
    digest_ref: Option<&str>,
) -> Result<Stored> {
    let repo = repository.name.as_str();
    let parsed = manifest::parse(body, content_type)?;
    let alg = digest_ref.and_then(parse_digest).unwrap_or(names::Algorithm::Sha256);
    let digest = alg.digest(body);
    if let Some(r) = digest_ref.filter(|r| *r != digest) {
        return Err(OciError::digest_invalid(format!("manifest digest is {digest}, not {r}")));
    }
    // Everything it refers to must be in the repository, with the sizes it states.
    for (blob, size) in &parsed.blobs {
        let (name, d) = (repo.to_owned(), blob.clone());
        let stored =
            reg.meta(move |m| m.blob(&name, &d)).await?.ok_or_else(|| OciError::manifest_blob_unknown(blob))?;
        if let Some(size) = size {
            if *size != stored {
                return Err(OciError::manifest_invalid(format!(
                    "blob {blob} has {stored} bytes, the manifest says {size}"
                )));
            }
        }
    }
    for child in &parsed.manifests {
        let (name, d) = (repo.to_owned(), child.clone());
        reg.meta(move |m| m.manifest(&name, &d)).await?.ok_or_else(|| OciError::manifest_blob_unknown(child))?;
    }
    let (name, d) = (repo.to_owned(), digest.clone());
    let is_new = reg.meta(move |m| m.manifest(&name, &d)).await?.is_none();
    let limit = reg.config.limits.images_per_repository;
    let name = repo.to_owned();
    if is_new && reg.meta(move |m| m.image_count(&name)).await? >= limit {
        return Err(OciError::limit_exceeded(format!(
            "The maximum number of images ({limit}) in repository '{repo}' has been reached"
        )));
    }
    let mut changed = true;
    if let Some(tag) = tag {
        let (name, t) = (repo.to_owned(), tag.to_owned());
        let current = reg.meta(move |m| m.tag(&name, &t)).await?;
        if current.as_deref() == Some(digest.as_str()) {
            changed = false;
        } else if current.is_some() && repository.tag_mutability == "IMMUTABLE" {
            return Err(OciError::tag_invalid(format!(
                "The image tag '{tag}' already exists in the '{repo}' repository and cannot be overwritten because the repository is immutable."
            )));
        }
        let (name, d) = (repo.to_owned(), digest.clone());
        let limit = reg.config.limits.tags_per_image;
        if changed && reg.meta(move |m| m.tag_count(&name, &d)).await? >= limit {
            return Err(OciError::tag_invalid(format!("an image may have at most {limit} tags")));
        }
    } else {
        changed = is_new;
    }
    let blobs: Vec<String> = parsed.blobs.iter().map(|(d, _)| d.clone()).collect();
    let (name, d, mt, b, subject, artifact) = (
        repo.to_owned(),
        digest.clone(),
        parsed.media_type.clone(),
        body.to_vec(),
        parsed.subject.clone(),
        parsed.artifact_type.clone(),
    );
    let (tag, t) = (tag.map(str::to_owned), now());
    reg.meta(move |m| {
        m.put_manifest(&name, &d, &mt, &b, subject.as_deref(), artifact.as_deref(), &blobs, tag.as_deref(), t)
    })
    .await?;
    Ok(Stored { digest, parsed, changed })
}

async fn delete_manifest(reg: &Arc<Registry>, repo: &str, reference: &str) -> Result<Response> {
    reg.repository(repo).await?;
    check_reference(reference)?;
    let (name, r) = (repo.to_owned(), reference.to_owned());
    if reference.contains(':') {
        let orphaned = reg
            .meta(move |m| m.delete_manifest(&name, &r))
            .await?
            .ok_or_else(|| OciError::manifest_unknown(reference))?;
        // Bytes no repository refers to any more are reclaimed.
        for blob in orphaned {
            collect_garbage(reg, &blob).await;
        }
    } else if !reg.meta(move |m| m.untag(&name, &r)).await? {
        return Err(OciError::manifest_unknown(reference));
    }
    Ok(Reply::new(StatusCode::ACCEPTED).build())
}

/// Parses `bytes=a-b` / `bytes=a-` / `bytes=-n` against `size`: `Ok(None)` without a header,
/// `Err` (416) when unsatisfiable.
fn range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let spec = value.strip_prefix("bytes=").ok_or_else(|| OciError::range(size))?;
    let (a, b) = spec.split_once('-').ok_or_else(|| OciError::range(size))?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| OciError::range(size))?;
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (a, "") => (a.parse().map_err(|_| OciError::range(size))?, size.saturating_sub(1)),
        (a, b) => (
            a.parse().map_err(|_| OciError::range(size))?,
            b.parse::<u64>().map_err(|_| OciError::range(size))?.min(size.saturating_sub(1)),
        ),
    };
    if size == 0 || start >= size || start > end {
        return Err(OciError::range(size));
    }
    Ok(Some((start, end)))
}

pub async fn get_blob(
    reg: &Arc<Registry>,
    repo: &str,
    digest: &str,
    head: bool,
    headers: &HeaderMap,
) -> Result<Response> {
    if !crate::names::valid_repository(repo) {
        return Err(OciError::name_invalid(repo));
    }
    // The repository and the blob in one trip to the metadata store.
    let (name, d) = (repo.to_owned(), digest.to_owned());
    let (repository, size) = reg.meta(move |m| Ok((m.repository(&name)?, m.blob(&name, &d)?))).await?;
    if repository.is_none() {
        return Err(OciError::name_unknown(repo, &reg.config.account_id));
    }
    if parse_digest(digest).is_none() {
        return Err(OciError::digest_invalid(format!("invalid digest `{digest}`")));
    }
    let size = size.ok_or_else(|| OciError::blob_unknown(digest))?;
    let span = range(headers, size)?;
    let (start, len, status) = match span {
        Some((a, b)) => (a, b - a + 1, StatusCode::PARTIAL_CONTENT),
        None => (0, size, StatusCode::OK),
    };
    let mut reply = Reply::new(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len.to_string())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(hn("docker-content-digest"), digest);
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
        .map_err(io_error)?
        .ok_or_else(|| OciError::blob_unknown(digest))?;
    Ok(reply.body(Body::from_stream(chunks)).build())
}

async fn delete_blob(reg: &Arc<Registry>, repo: &str, digest: &str) -> Result<Response> {
    reg.repository(repo).await?;
    if parse_digest(digest).is_none() {
        return Err(OciError::digest_invalid(format!("invalid digest `{digest}`")));
    }
    let (name, d) = (repo.to_owned(), digest.to_owned());
    if !reg.meta(move |m| m.unlink_blob(&name, &d)).await? {
        return Err(OciError::blob_unknown(digest));
    }
    collect_garbage(reg, digest).await;
    Ok(Reply::new(StatusCode::ACCEPTED).build())
}

/// Removes a blob's bytes when no repository refers to it any more.
pub async fn collect_garbage(reg: &Arc<Registry>, digest: &str) {
    let _guard = reg.blob_lock.lock().await;
    let d = digest.to_owned();
    if let Ok(false) = reg.meta(move |m| m.blob_referenced(&d)).await {
        if let Err(e) = reg.blobs.remove(digest).await {
            eprintln!("warden: removing unreferenced blob {digest}: {e}");
        }
    }
}

fn upload_location(repo: &str, id: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

fn upload_reply(status: StatusCode, repo: &str, id: &str, size: u64) -> Response {
    Reply::new(status)
        .header(header::LOCATION, upload_location(repo, id))
        .header(header::RANGE, format!("0-{}", size.saturating_sub(1)))
        .header(hn("docker-upload-uuid"), id)
        .header(header::CONTENT_LENGTH, "0")
        .build()
}

fn blob_created(repo: &str, digest: &str) -> Response {
    Reply::new(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{repo}/blobs/{digest}"))
        .header(hn("docker-content-digest"), digest)
        .header(header::CONTENT_LENGTH, "0")
        .build()
}

async fn start_upload(reg: &Arc<Registry>, repo: &str, query: &str, req: Request<Body>) -> Result<Response> {
    reg.repository(repo).await?;
    // Cross-repository mount: link the blob when the source has it (both were authorized).
    if let (Some(mount), Some(from)) = (query_param(query, "mount"), query_param(query, "from")) {
        if parse_digest(&mount).is_some() && names::valid_repository(&from) {
            let (src, d) = (from.clone(), mount.clone());
            let _guard = reg.blob_lock.lock().await;
            if let Some(size) = reg.meta(move |m| m.blob(&src, &d)).await? {
                if reg.blobs.size(&mount).await.map_err(io_error)?.is_some() {
                    let (name, d) = (repo.to_owned(), mount.clone());
                    reg.meta(move |m| m.link_blob(&name, &d, size)).await?;
                    return Ok(blob_created(repo, &mount));
                }
            }
        }
    }
    let id = random_id();
    reg.blobs.begin(&id).await.map_err(io_error)?;
    let (name, i, t) = (repo.to_owned(), id.clone(), now());
    reg.meta(move |m| m.begin_upload(&i, &name, t)).await?;
    if let Some(digest) = query_param(query, "digest") {
        // Monolithic upload: the whole blob in this request.
        write_body(reg, &id, req.into_body()).await?;
        return complete(reg, repo, &id, &digest).await;
    }
    Ok(upload_reply(StatusCode::ACCEPTED, repo, &id, 0))
}

async fn session(reg: &Arc<Registry>, repo: &str, id: &str) -> Result<u64> {
    reg.repository(repo).await?;
    let i = id.to_owned();
    let owner = reg.meta(move |m| m.upload_repo(&i)).await?;
    if owner.as_deref() != Some(repo) {
        return Err(OciError::upload_unknown());
    }
    reg.blobs.upload_size(id).await.map_err(io_error)?.ok_or_else(OciError::upload_unknown)
}

/// Streams a request body onto the end of an upload; the new size.
async fn write_body(reg: &Arc<Registry>, id: &str, body: Body) -> Result<u64> {
    let mut file = reg.blobs.open_append(id).await.map_err(io_error)?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| OciError::upload_invalid(format!("reading the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            file.write_all(&data).await.map_err(io_error)?;
        }
    }
    file.flush().await.map_err(io_error)?;
    drop(file);
    reg.blobs.upload_size(id).await.map_err(io_error)?.ok_or_else(OciError::upload_unknown)
}

async fn patch_upload(reg: &Arc<Registry>, repo: &str, id: &str, req: Request<Body>) -> Result<Response> {
    let size = session(reg, repo, id).await?;
    // A chunk must start where the previous one ended.
    if let Some(cr) = req.headers().get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()) {
        let start = cr.trim_start_matches("bytes ").split('-').next().and_then(|s| s.trim().parse::<u64>().ok());
        if start != Some(size) {
            return Err(OciError::range(size));
        }
    }
    let size = write_body(reg, id, req.into_body()).await?;
    Ok(upload_reply(StatusCode::ACCEPTED, repo, id, size))
}

async fn finish_upload(reg: &Arc<Registry>, repo: &str, id: &str, query: &str, req: Request<Body>) -> Result<Response> {
    session(reg, repo, id).await?;
    let digest =
        query_param(query, "digest").ok_or_else(|| OciError::digest_invalid("the digest parameter is required"))?;
    write_body(reg, id, req.into_body()).await?;
    complete(reg, repo, id, &digest).await
}

pub async fn complete(reg: &Arc<Registry>, repo: &str, id: &str, digest: &str) -> Result<Response> {
    if parse_digest(digest).is_none() {
        let _ = reg.blobs.cancel(id).await;
        return Err(OciError::digest_invalid(format!("invalid digest `{digest}`")));
    }
    // Hash outside the lock (it reads the whole blob); rename and link under it.
    let outcome = reg.blobs.verify(id, digest).await.map_err(io_error)?;
    let i = id.to_owned();
    reg.meta(move |m| m.end_upload(&i)).await?;
    let size = outcome
        .map_err(|actual| OciError::digest_invalid(format!("content digest {actual} does not match {digest}")))?;
    let _guard = reg.blob_lock.lock().await;
    reg.blobs.commit_upload(id, digest).await.map_err(io_error)?;
    let (name, d) = (repo.to_owned(), digest.to_owned());
    reg.meta(move |m| m.link_blob(&name, &d, size)).await?;
    Ok(blob_created(repo, digest))
}

async fn upload_status(reg: &Arc<Registry>, repo: &str, id: &str) -> Result<Response> {
    let size = session(reg, repo, id).await?;
    Ok(upload_reply(StatusCode::NO_CONTENT, repo, id, size))
}

async fn cancel_upload(reg: &Arc<Registry>, repo: &str, id: &str) -> Result<Response> {
    session(reg, repo, id).await?;
    reg.blobs.cancel(id).await.map_err(io_error)?;
    let i = id.to_owned();
    reg.meta(move |m| m.end_upload(&i)).await?;
    Ok(Reply::new(StatusCode::NO_CONTENT).build())
}

async fn referrers(reg: &Arc<Registry>, repo: &str, digest: &str, query: &str) -> Result<Response> {
    reg.repository(repo).await?;
    if parse_digest(digest).is_none() {
        return Err(OciError::digest_invalid(format!("invalid digest `{digest}`")));
    }
    let (name, d) = (repo.to_owned(), digest.to_owned());
    let all = reg.meta(move |m| m.referrers(&name, &d)).await?;
    let filter = query_param(query, "artifactType");
    let manifests: Vec<serde_json::Value> = all
        .iter()
        .filter(|m| filter.as_deref().is_none_or(|f| m.artifact_type.as_deref() == Some(f)))
        .map(|m| {
            let v: serde_json::Value = serde_json::from_slice(&m.body).unwrap_or_default();
            let mut desc = serde_json::Map::new();
            desc.insert("mediaType".into(), serde_json::json!(m.media_type));
            desc.insert("digest".into(), serde_json::json!(m.digest));
            desc.insert("size".into(), serde_json::json!(m.body.len()));
            if let Some(t) = &m.artifact_type {
                desc.insert("artifactType".into(), serde_json::json!(t));
            }
            if let Some(a) = v.get("annotations") {
                desc.insert("annotations".into(), a.clone());
            }
            serde_json::Value::Object(desc)
        })
        .collect();
    let body = serde_json::json!({"schemaVersion": 2, "mediaType": manifest::OCI_INDEX, "manifests": manifests});
    let mut reply = Reply::new(StatusCode::OK).header(header::CONTENT_TYPE, manifest::OCI_INDEX).body(body.to_string());
    if filter.is_some() {
        reply = reply.header(hn("oci-filters-applied"), "artifactType");
    }
    Ok(reply.build())
}
