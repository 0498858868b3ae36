//! AWS Signature Version 4 verification, header form and presigned-query form.
//!
//! The steps are AWS's (General Reference, "Create a signed AWS API request"):
//! 1. canonical request = method, canonical URI (each segment URI-encoded; for every service but
//!    S3 the already-encoded path is encoded again), canonical query string (pairs encoded and
//!    sorted), canonical headers (lower-cased names, trimmed and space-collapsed values, sorted),
//!    signed headers, payload hash;
//! 2. string to sign = `AWS4-HMAC-SHA256`, request time, credential scope
//!    (`date/region/service/aws4_request`), SHA-256 of the canonical request;
//! 3. signing key = HMAC chain `AWS4`+secret → date → region → service → `aws4_request`;
//! 4. signature = hex HMAC of the string to sign; compared in constant time.
//!
//! Requests more than 15 minutes from the server's clock are refused; presigned requests past
//! `X-Amz-Expires` are refused. Failures answer with AWS's exception names and messages.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::request::Parts;
use http::StatusCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use warden_tower::Rejection;

use crate::chunked::{ChunkSigning, ChunkedDecoder, StreamingMode};

type HmacSha256 = Hmac<Sha256>;

/// The payload hash for requests whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's time may be from the server's clock (AWS: 15 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// Longest validity of a presigned request (AWS: 7 days).
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

/// Why a signature was refused. [`SigV4Error::rejection`] gives AWS's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigV4Error {
    /// No `Authorization` header and no presigned query.
    #[error("Missing Authentication Token")]
    Missing,
    /// The `Authorization` header or presigned query is malformed.
    #[error("{0}")]
    Malformed(String),
    /// The access key id is not known (or not active).
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// A session token was sent; this server issues none.
    #[error("The security token included in the request is invalid.")]
    SessionToken,
    /// The request time is too far in the past.
    #[error("Signature expired: {request} is now earlier than {limit} ({now} - 15 min.)")]
    Expired {
        /// The request's time.
        request: String,
        /// The oldest acceptable time.
        limit: String,
        /// The server's time.
        now: String,
    },
    /// The request time is too far in the future.
    #[error("Signature not yet current: {request} is still later than {limit} ({now} + 15 min.)")]
    NotYetCurrent {
        /// The request's time.
        request: String,
        /// The latest acceptable time.
        limit: String,
        /// The server's time.
        now: String,
    },
    /// A presigned request past its expiry.
    #[error("Request has expired")]
    PresignedExpired,
    /// The credential scope names another region.
    #[error("Credential should be scoped to a valid region. ")]
    WrongRegion,
    /// The credential scope names another service.
    #[error("Credential should be scoped to correct service: '{0}'. ")]
    WrongService(String),
    /// The scope's date is not the request's date.
    #[error("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{request}', from '{full}'.")]
    WrongDate {
        /// Date in the scope.
        scope: String,
        /// Date of the request.
        request: String,
        /// The request time.
        full: String,
    },
    /// The signature does not match.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
    /// A streaming payload form this verifier does not know (SigV4a's ECDSA forms), or a
    /// streaming payload given to [`SigV4Verifier::verify`].
    #[error("the streaming payload form `{0}` is not supported; use STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER, or send the body whole")]
    Streaming(String),
}

impl SigV4Error {
    /// The AWS JSON-protocol answer: exception name, HTTP status, message.
    pub fn rejection(&self) -> Rejection {
        let (code, status) = match self {
            SigV4Error::Missing => ("MissingAuthenticationTokenException", StatusCode::FORBIDDEN),
            SigV4Error::Malformed(_) => ("IncompleteSignatureException", StatusCode::BAD_REQUEST),
            SigV4Error::UnknownKey | SigV4Error::SessionToken => {
                ("UnrecognizedClientException", StatusCode::BAD_REQUEST)
            }
            SigV4Error::PresignedExpired => ("AccessDeniedException", StatusCode::FORBIDDEN),
            SigV4Error::Streaming(_) => ("InvalidRequestException", StatusCode::BAD_REQUEST),
            SigV4Error::Expired { .. }
            | SigV4Error::NotYetCurrent { .. }
            | SigV4Error::WrongRegion
            | SigV4Error::WrongService(_)
            | SigV4Error::WrongDate { .. }
            | SigV4Error::Mismatch => ("InvalidSignatureException", StatusCode::BAD_REQUEST),
        };
        Rejection::new(code, status, self.to_string())
    }
}

/// The parts of a signature, from the header or the query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signed {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
    /// `X-Amz-Date`.
    time: String,
    presigned_expires: Option<u64>,
}

/// A signature that verified, with what streaming needs to check the chunks that follow.
struct Checked {
    signed: Signed,
    key: [u8; 32],
    scope: String,
    signature: [u8; 32],
}

/// Verifies SigV4 signatures for one region and service.
#[derive(Debug)]
pub struct SigV4Verifier {
    region: String,
    service: String,
    /// S3 signs its path encoded once; every other service twice.
    s3: bool,
    keys: Mutex<HashMap<(String, String), [u8; 32]>>,
}

impl SigV4Verifier {
    /// A verifier for requests scoped to `region` and `service` (`ecr`).
    pub fn new(region: &str, service: &str) -> SigV4Verifier {
        SigV4Verifier {
            region: region.to_owned(),
            service: service.to_owned(),
            s3: service == "s3",
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The access key id a request claims, without verifying anything.
    pub fn claimed_key(parts: &Parts) -> Result<String, SigV4Error> {
        Ok(parse(parts)?.access_key_id)
    }

    /// Verifies `parts` + `body` at time `now`; `secret_of` looks up an access key's secret.
    /// Returns the verified access key id. A streaming payload (`aws-chunked`) is refused here:
    /// see [`SigV4Verifier::verify_streaming`].
    pub fn verify(
        &self,
        parts: &Parts,
        body: &[u8],
        now: SystemTime,
        secret_of: impl Fn(&str) -> Option<String>,
    ) -> Result<String, SigV4Error> {
        let checked = self
            .check(parts, now, secret_of, |signed| payload_hashes(parts, body, signed.presigned_expires.is_some()))?;
        Ok(checked.signed.access_key_id)
    }

    /// The streaming form a request's `x-amz-content-sha256` names, if any (`Err` for a
    /// `STREAMING-` form this verifier does not know, such as SigV4a's).
    pub fn streaming_mode(parts: &Parts) -> Result<Option<StreamingMode>, SigV4Error> {
        match parts.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
            Some(v) if v.starts_with("STREAMING-") => {
                StreamingMode::from_header(v).map(Some).ok_or_else(|| SigV4Error::Streaming(v.to_owned()))
            }
            _ => Ok(None),
        }
    }

    /// Verifies the seed signature of a streaming (`aws-chunked`) request from its head alone,
    /// before any of the body is read, and returns the verified access key id with the decoder
    /// that checks the body's chunks, trailer and length (see [`crate::chunked`]).
    pub fn verify_streaming(
        &self,
        parts: &Parts,
        now: SystemTime,
        secret_of: impl Fn(&str) -> Option<String>,
    ) -> Result<(String, ChunkedDecoder), SigV4Error> {
        let mode = Self::streaming_mode(parts)?
            .ok_or_else(|| SigV4Error::Malformed("x-amz-content-sha256 does not name a streaming payload".into()))?;
        let checked = self.check(parts, now, secret_of, |signed| {
            if signed.presigned_expires.is_some() {
                return Err(SigV4Error::Malformed("a presigned request cannot stream an aws-chunked body".into()));
            }
            Ok(vec![mode.as_str().to_owned()])
        })?;
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let decoded_length = header("x-amz-decoded-content-length")
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| SigV4Error::Malformed(format!("x-amz-decoded-content-length `{v}` is not a number")))
            })
            .transpose()?;
        let signing = ChunkSigning::new(checked.key, &checked.signed.time, &checked.scope, checked.signature);
        let decoder = ChunkedDecoder::new(mode, Some(signing), decoded_length, header("x-amz-trailer"))
            .map_err(|e| SigV4Error::Malformed(e.to_string()))?;
        Ok((checked.signed.access_key_id, decoder))
    }

    /// The checks every form shares: the signature's parts, time, scope, key, and the signature
    /// over the canonical request with one of the payload hashes `hashes` gives.
    fn check(
        &self,
        parts: &Parts,
        now: SystemTime,
        secret_of: impl Fn(&str) -> Option<String>,
        hashes: impl FnOnce(&Signed) -> Result<Vec<String>, SigV4Error>,
    ) -> Result<Checked, SigV4Error> {
        let signed = parse(parts)?;
        if parts.headers.contains_key("x-amz-security-token")
            || query_pairs(parts.uri.query().unwrap_or("")).iter().any(|(k, _)| k == "X-Amz-Security-Token")
        {
            return Err(SigV4Error::SessionToken);
        }
        let request_time = parse_amz_date(&signed.time).ok_or_else(|| {
            SigV4Error::Malformed(format!("X-Amz-Date `{}` is not in the form YYYYMMDDTHHMMSSZ", signed.time))
        })?;
        if !signed.time.starts_with(&signed.date) {
            return Err(SigV4Error::WrongDate {
                scope: signed.date.clone(),
                request: signed.time.get(..8).unwrap_or_default().to_owned(),
                full: signed.time.clone(),
            });
        }
        check_time(&signed, request_time, now)?;
        if signed.service != self.service {
            return Err(SigV4Error::WrongService(self.service.clone()));
        }
        if signed.region != self.region {
            return Err(SigV4Error::WrongRegion);
        }
        let secret = secret_of(&signed.access_key_id).ok_or(SigV4Error::UnknownKey)?;
        let key = self.signing_key(&signed.access_key_id, &secret, &signed.date)?;
        let scope = format!("{}/{}/{}/aws4_request", signed.date, signed.region, signed.service);
        for payload_hash in hashes(&signed)? {
            let canonical = canonical_request(parts, &signed, &payload_hash, self.s3)?;
            let string_to_sign =
                format!("{ALGORITHM}\n{}\n{scope}\n{}", signed.time, hex::encode(Sha256::digest(canonical.as_bytes())));
            let expected = hmac(&key, string_to_sign.as_bytes())?;
            if bool::from(hex::encode(expected).as_bytes().ct_eq(signed.signature.as_bytes())) {
                return Ok(Checked { signed, key, scope, signature: expected });
            }
        }
        Err(SigV4Error::Mismatch)
    }

    /// The derived signing key, cached per key, secret and date.
    fn signing_key(&self, key_id: &str, secret: &str, date: &str) -> Result<[u8; 32], SigV4Error> {
        // The secret is part of the cache key's hash so a rotated secret never reuses a key.
        let cache_key = (format!("{key_id}/{date}"), hex::encode(Sha256::digest(secret.as_bytes())));
        if let Some(k) = self.keys.lock().unwrap_or_else(|p| p.into_inner()).get(&cache_key) {
            return Ok(*k);
        }
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes())?;
        let k_region = hmac(&k_date, self.region.as_bytes())?;
        let k_service = hmac(&k_region, self.service.as_bytes())?;
        let k_signing = hmac(&k_service, b"aws4_request")?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() > 4096 {
            keys.clear();
        }
        keys.insert(cache_key, k_signing);
        Ok(k_signing)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Result<[u8; 32], SigV4Error> {
    let mut mac = HmacSha256::new_from_slice(key).map_err(|e| SigV4Error::Malformed(e.to_string()))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

fn check_time(signed: &Signed, request_time: i64, now: SystemTime) -> Result<(), SigV4Error> {
    let now_secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let skew = MAX_SKEW.as_secs() as i64;
    if let Some(expires) = signed.presigned_expires {
        if now_secs > request_time + expires as i64 {
            return Err(SigV4Error::PresignedExpired);
        }
        if request_time > now_secs + skew {
            return Err(SigV4Error::NotYetCurrent {
                request: signed.time.clone(),
                limit: amz_date(now_secs + skew),
                now: amz_date(now_secs),
            });
        }
        return Ok(());
    }
    if request_time < now_secs - skew {
        return Err(SigV4Error::Expired {
            request: signed.time.clone(),
            limit: amz_date(now_secs - skew),
            now: amz_date(now_secs),
        });
    }
    if request_time > now_secs + skew {
        return Err(SigV4Error::NotYetCurrent {
            request: signed.time.clone(),
            limit: amz_date(now_secs + skew),
            now: amz_date(now_secs),
        });
    }
    Ok(())
}

/// `20261126T231900Z` → epoch seconds.
fn parse_amz_date(text: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ").ok().map(|t| t.and_utc().timestamp())
}

fn amz_date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.format("%Y%m%dT%H%M%SZ").to_string()).unwrap_or_default()
}

/// Reads the signature from the `Authorization` header or the presigned query.
fn parse(parts: &Parts) -> Result<Signed, SigV4Error> {
    if let Some(auth) = parts.headers.get(http::header::AUTHORIZATION) {
        let auth = auth.to_str().map_err(|_| SigV4Error::Malformed("Authorization header is not ASCII".into()))?;
        return parse_header(auth, parts);
    }
    let query = query_pairs(parts.uri.query().unwrap_or(""));
    if query.iter().any(|(k, _)| k == "X-Amz-Algorithm") {
        return parse_query(&query);
    }
    Err(SigV4Error::Missing)
}

fn parse_header(auth: &str, parts: &Parts) -> Result<Signed, SigV4Error> {
    let rest = auth
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| SigV4Error::Malformed(format!("Authorization header requires the {ALGORITHM} algorithm")))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in rest.split(',') {
        let field = field.trim();
        if let Some(v) = field.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = field.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = field.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |what: &str| {
        SigV4Error::Malformed(format!("Authorization header requires '{what}' parameter. Authorization={auth}"))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let time = parts
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            SigV4Error::Malformed(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
            )
        })?
        .to_owned();
    signed_from(credential, signed_headers, signature, time, None)
}

fn parse_query(query: &[(String, String)]) -> Result<Signed, SigV4Error> {
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| SigV4Error::Malformed(format!("AWS query-string parameters must include '{k}'.")))
    };
    if get("X-Amz-Algorithm")? != ALGORITHM {
        return Err(SigV4Error::Malformed(format!("X-Amz-Algorithm only supports \"{ALGORITHM}\"")));
    }
    let expires: u64 =
        get("X-Amz-Expires")?.parse().map_err(|_| SigV4Error::Malformed("X-Amz-Expires should be a number".into()))?;
    if expires > MAX_PRESIGNED_EXPIRES {
        return Err(SigV4Error::Malformed(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}"
        )));
    }
    signed_from(
        get("X-Amz-Credential")?,
        get("X-Amz-SignedHeaders")?,
        get("X-Amz-Signature")?,
        get("X-Amz-Date")?.to_owned(),
        Some(expires),
    )
}

fn signed_from(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    time: String,
    presigned_expires: Option<u64>,
) -> Result<Signed, SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = parts.as_slice() else {
        return Err(SigV4Error::Malformed(format!(
            "Credential should have exactly 5 slash-separated parts: `{credential}`"
        )));
    };
    if *terminator != "aws4_request" {
        return Err(SigV4Error::Malformed(
            "Credential should be scoped with a valid terminator: 'aws4_request'".into(),
        ));
    }
    let signed_headers: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
    Ok(Signed {
        access_key_id: (*key).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers,
        signature: signature.to_owned(),
        time,
        presigned_expires,
    })
}

/// The payload hashes a signer may have used: the one `x-amz-content-sha256` declares (checked
/// against the body), else the body's hash — and for presigned requests also `UNSIGNED-PAYLOAD`,
/// which S3-style presigners use.
fn payload_hashes(parts: &Parts, body: &[u8], presigned: bool) -> Result<Vec<String>, SigV4Error> {
    if let Some(v) = parts.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
        if v.starts_with("STREAMING-") {
            return Err(SigV4Error::Streaming(v.to_owned()));
        }
        if v == UNSIGNED_PAYLOAD {
            return Ok(vec![v.to_owned()]);
        }
        let actual = hex::encode(Sha256::digest(body));
        if !v.eq_ignore_ascii_case(&actual) {
            return Err(SigV4Error::Malformed(
                "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
            ));
        }
        return Ok(vec![actual]);
    }
    let mut hashes = vec![hex::encode(Sha256::digest(body))];
    if presigned {
        hashes.push(UNSIGNED_PAYLOAD.to_owned());
    }
    Ok(hashes)
}

/// Splits a raw query into decoded pairs.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// URI-encodes per SigV4: unreserved characters stay, everything else is `%XX` (upper-case);
/// `/` stays when `keep_slash`.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn canonical_request(parts: &Parts, signed: &Signed, payload_hash: &str, s3: bool) -> Result<String, SigV4Error> {
    // Path: normalized, then each segment encoded — the received path is already encoded once,
    // so this is the double encoding every service but S3 uses. S3 signs the path as sent,
    // encoded once and not normalized (General Reference, "Create a canonical request").
    let path = parts.uri.path();
    let path = if path.is_empty() { "/" } else { path };
    let canonical_uri = if s3 { path.to_owned() } else { uri_encode(&normalize_path(path), true) };
    let mut query: Vec<(String, String)> = query_pairs(parts.uri.query().unwrap_or(""))
        .into_iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    query.sort();
    let canonical_query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = String::new();
    for name in &signed.signed_headers {
        let values: Vec<String> = if name == "host" && !parts.headers.contains_key(http::header::HOST) {
            parts.uri.authority().map(|a| vec![a.to_string()]).unwrap_or_default()
        } else {
            parts
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|v| v.to_str().map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")))
                .collect::<Result<_, _>>()
                .map_err(|_| SigV4Error::Malformed(format!("header `{name}` is not ASCII")))?
        };
        if values.is_empty() {
            return Err(SigV4Error::Malformed(format!("signed header `{name}` is missing from the request")));
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(format!(
        "{}\n{canonical_uri}\n{}\n{headers}\n{}\n{payload_hash}",
        parts.method.as_str(),
        canonical_query.join("&"),
        signed.signed_headers.join(";")
    ))
}

/// Removes `.` and `..` segments and empty segments, keeping a trailing slash.
fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut normalized = format!("/{}", out.join("/"));
    if path.ends_with('/') && normalized.len() > 1 {
        normalized.push('/');
    }
    normalized
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_normalization() {
        assert_eq!(uri_encode("a b/c~d%2F", true), "a%20b/c~d%252F");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(normalize_path("/a/./b/../c//d/"), "/a/c/d/");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
    }

    #[test]
    fn amz_dates() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(parse_amz_date("2015-08-30"), None);
    }

    /// AWS's documented example (General Reference, "Signature Version 4 signing process",
    /// IAM ListUsers, 2015-08-30): the published signing key and signature.
    #[test]
    fn aws_documented_example() {
        let req = http::Request::get("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08")
            .header("host", "iam.amazonaws.com")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .header("x-amz-date", "20150830T123600Z")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            )
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let v = SigV4Verifier::new("us-east-1", "iam");
        let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let secret = |_: &str| Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned());
        assert_eq!(v.verify(&parts, b"", now, secret), Ok("AKIDEXAMPLE".to_owned()));
        assert_eq!(
            hex::encode(v.signing_key("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830").unwrap()),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        // A wrong secret, a skewed clock, another region: AWS's errors.
        assert_eq!(v.verify(&parts, b"", now, |_| Some("x".repeat(40))), Err(SigV4Error::Mismatch));
        let later = now + Duration::from_secs(16 * 60);
        assert!(matches!(v.verify(&parts, b"", later, secret), Err(SigV4Error::Expired { .. })));
        let e = v.verify(&parts, b"", later, secret).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"
        );
        assert_eq!(e.rejection().code, "InvalidSignatureException");
        let other = SigV4Verifier::new("eu-west-1", "iam");
        assert_eq!(other.verify(&parts, b"", now, secret), Err(SigV4Error::WrongRegion));
        assert_eq!(v.verify(&parts, b"", now, |_| None), Err(SigV4Error::UnknownKey));
    }

    /// AWS's chunked-upload example request (S3 API Reference, "Transferring Payload in Multiple
    /// Chunks", Example: PUT Object) with `seed` as its signature and `mode` as its payload form.
    fn streaming_example(mode: &str, seed: &str, trailer: Option<&str>) -> Parts {
        let mut req = http::Request::put("/examplebucket/chunkObject.txt")
            .header("host", "s3.amazonaws.com")
            .header("x-amz-date", "20130524T000000Z")
            .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature={seed}"),
            )
            .header("x-amz-content-sha256", mode)
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", "66560")
            .header("content-length", "66824");
        if let Some(t) = trailer {
            req = req.header("x-amz-trailer", t);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn aws_streaming_examples_seed_signatures() {
        let v = SigV4Verifier::new("us-east-1", "s3");
        let now = UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        let secret = |_: &str| Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned());
        let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
        let parts = streaming_example("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", seed, None);
        assert_eq!(SigV4Verifier::streaming_mode(&parts), Ok(Some(StreamingMode::Signed)));
        let (key, mut decoder) = v.verify_streaming(&parts, now, secret).unwrap();
        assert_eq!(key, "AKIAIOSFODNN7EXAMPLE");
        // The decoder carries on from the seed: AWS's first chunk verifies.
        let mut first =
            b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".to_vec();
        first.extend(std::iter::repeat_n(b'a', 65536));
        first.extend_from_slice(b"\r\n");
        assert_eq!(decoder.push(bytes::Bytes::from(first)).unwrap().iter().map(|b| b.len()).sum::<usize>(), 65536);
        // The whole-body API refuses streaming payloads rather than mis-verifying them.
        assert!(matches!(v.verify(&parts, b"", now, secret), Err(SigV4Error::Streaming(_))));
        // A seed that does not match the head; an unknown streaming form; the example's seed under
        // another streaming form (the form is part of what is signed).
        let parts = streaming_example("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", &"0".repeat(64), None);
        assert_eq!(v.verify_streaming(&parts, now, secret).map(|(k, _)| k), Err(SigV4Error::Mismatch));
        let parts = streaming_example("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", seed, None);
        assert!(matches!(SigV4Verifier::streaming_mode(&parts), Err(SigV4Error::Streaming(_))));
        assert!(matches!(v.verify_streaming(&parts, now, secret), Err(SigV4Error::Streaming(_))));
        let parts = streaming_example("STREAMING-UNSIGNED-PAYLOAD-TRAILER", seed, Some("x-amz-checksum-crc32"));
        assert_eq!(v.verify_streaming(&parts, now, secret).map(|(k, _)| k), Err(SigV4Error::Mismatch));
    }

    #[test]
    fn missing_and_malformed() {
        let (parts, ()) = http::Request::post("/").body(()).unwrap().into_parts();
        let v = SigV4Verifier::new("us-east-1", "ecr");
        let e = v.verify(&parts, b"", SystemTime::now(), |_| None).unwrap_err();
        assert_eq!(e, SigV4Error::Missing);
        assert_eq!(e.rejection().code, "MissingAuthenticationTokenException");
        let (parts, ()) = http::Request::post("/")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=x")
            .body(())
            .unwrap()
            .into_parts();
        assert!(matches!(v.verify(&parts, b"", SystemTime::now(), |_| None), Err(SigV4Error::Malformed(_))));
    }
}
