//! Presigned layer URLs (GetDownloadUrlForLayer): `/presigned/<repo>/blobs/<digest>?expires=…&signature=…`,
//! an HMAC of the path and expiry under the registry's key. They need no other credentials and
//! stop working when they expire (ECR's last an hour).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use http::Request;
use sha2::Sha256;

use crate::names::{Digest, RepoName};
use crate::query::{decode_path, Query};
use crate::state::{now, Registry};

/// How long a download URL is valid, in seconds.
pub const VALIDITY: i64 = 3600;

fn signature(key: &[u8], repo: &str, digest: &str, expires: i64) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(format!("{repo}\n{digest}\n{expires}").as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// A download URL for `digest` of `repo`, valid for [`VALIDITY`] seconds from `now`.
pub fn url(reg: &Registry, host: &str, repo: &str, digest: &str, now: i64) -> String {
    let expires = now + VALIDITY;
    let sig = signature(&reg.url_key, repo, digest, expires);
    format!("http://{host}/presigned/{repo}/blobs/{digest}?expires={expires}&signature={sig}")
}

/// `GET /presigned/...`: the blob, when the signature holds and has not expired. The path is
/// decoded and the name and digest validated with the same decoder and types as `/v2`.
pub async fn download(State(reg): State<Arc<Registry>>, req: Request<Body>) -> Response {
    let denied = || {
        warden_tower::deny::registry_error::<Body>(
            http::StatusCode::FORBIDDEN,
            "DENIED",
            "the download URL is invalid or has expired",
        )
    };
    let Some(path) = decode_path(req.uri().path()) else { return denied() };
    let Some((repo, digest)) = path.trim_start_matches("/presigned/").rsplit_once("/blobs/") else {
        return denied();
    };
    let (Ok(repo), Ok(digest)) = (RepoName::parse(repo), Digest::parse(digest)) else { return denied() };
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let (Some(expires), Some(sig)) = (query.get("expires").and_then(|e| e.parse::<i64>().ok()), query.get("signature"))
    else {
        return denied();
    };
    let expected = signature(&reg.url_key, repo.as_str(), digest.as_str(), expires);
    if !subtle_eq(expected.as_bytes(), sig.as_bytes()) || now() > expires {
        return denied();
    }
    match crate::oci::blobs::get(&reg, repo.as_str(), &digest, false, req.headers()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
