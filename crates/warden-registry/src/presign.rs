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

use crate::error::OciError;
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

/// `GET /presigned/...`: the blob, when the signature holds and has not expired.
pub async fn download(State(reg): State<Arc<Registry>>, req: Request<Body>) -> Response {
    let denied = || OciError {
        code: "DENIED",
        status: http::StatusCode::FORBIDDEN,
        message: "the download URL is invalid or has expired".into(),
        content_range: None,
    };
    let path = req.uri().path().trim_start_matches("/presigned/");
    let Some((repo, digest)) = path.rsplit_once("/blobs/") else { return denied().into_response() };
    let query = req.uri().query().unwrap_or("");
    let param = |name: &str| {
        query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v.to_owned()))
    };
    let (Some(expires), Some(sig)) = (param("expires").and_then(|e| e.parse::<i64>().ok()), param("signature")) else {
        return denied().into_response();
    };
    let expected = signature(&reg.url_key, repo, digest, expires);
    let valid: bool = subtle_eq(expected.as_bytes(), sig.as_bytes());
    if !valid || now() > expires {
        return denied().into_response();
    }
    match crate::oci::get_blob(&reg, repo, digest, false, req.headers()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
