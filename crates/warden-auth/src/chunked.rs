//! Streaming SigV4 payloads: bodies sent with `Content-Encoding: aws-chunked`, as S3 clients
//! upload without hashing the whole body first.
//!
//! The request's `x-amz-content-sha256` names the form (S3 API Reference, "Authenticating
//! Requests: Using the Authorization Header", streaming sections):
//!
//! | `x-amz-content-sha256` | chunks | trailer |
//! | --- | --- | --- |
//! | `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` | each signed | — |
//! | `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` | each signed | checksum, signed |
//! | `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (the AWS CLI, boto3 over HTTPS) | unsigned | checksum |
//!
//! The request itself is signed with that literal as its payload hash (the *seed* signature, see
//! [`crate::SigV4Verifier::verify_streaming`]). A signed chunk is
//! `hex(size);chunk-signature=<sig>\r\n<data>\r\n` and its signature is the HMAC (signing key) of
//!
//! ```text
//! AWS4-HMAC-SHA256-PAYLOAD \n <request time> \n <scope> \n <previous signature> \n
//! <SHA-256 of nothing> \n <SHA-256 of the chunk's data>
//! ```
//!
//! chained from the seed signature, so chunks can be neither altered, dropped nor reordered; the
//! body ends with a chunk of size 0. An unsigned chunk is `hex(size)\r\n<data>\r\n`. Trailers
//! follow the last chunk as `name:value\r\n` lines and an empty line; in the signed form the last
//! trailer is `x-amz-trailer-signature`, the HMAC of `AWS4-HMAC-SHA256-TRAILER \n <time> \n
//! <scope> \n <last chunk's signature> \n <SHA-256 of the trailers as "name:value\n" lines>`. The
//! trailer the request announced in `x-amz-trailer` (`x-amz-checksum-crc32`, `-crc32c`,
//! `-crc64nvme`, `-sha1`, `-sha256`) must come, and must be the checksum of the decoded data.
//!
//! [`ChunkedDecoder`] checks all of it incrementally with bounded memory. A signed chunk's data is
//! handed out only after its signature is verified; unsigned data is handed out as it arrives, so
//! a consumer must not act on it before [`ChunkedDecoder::finish`] succeeds (the checksum is only
//! known at the end).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use hmac::{Hmac, Mac};
use http::StatusCode;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use warden_tower::Rejection;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 of the empty string, part of every chunk's string to sign.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Longest chunk header or trailer line accepted.
const MAX_LINE: usize = 4096;
/// Largest signed chunk held while its signature is checked (AWS's clients send 64 KiB–8 MiB).
pub const MAX_SIGNED_CHUNK: u64 = 16 * 1024 * 1024;

/// The streaming forms of `x-amz-content-sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamingMode {
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: signed chunks.
    Signed,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and a signed trailer.
    SignedTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: unsigned chunks and a trailer checksum.
    UnsignedTrailer,
}

impl StreamingMode {
    /// The mode an `x-amz-content-sha256` value names; `None` for anything else (including the
    /// SigV4a `STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD…` forms, which this verifier does not do).
    pub fn from_header(value: &str) -> Option<StreamingMode> {
        match value {
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => Some(StreamingMode::Signed),
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => Some(StreamingMode::SignedTrailer),
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => Some(StreamingMode::UnsignedTrailer),
            _ => None,
        }
    }

    /// The header value, which is also the seed signature's payload hash.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamingMode::Signed => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            StreamingMode::SignedTrailer => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            StreamingMode::UnsignedTrailer => "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        }
    }

    fn signs_chunks(self) -> bool {
        matches!(self, StreamingMode::Signed | StreamingMode::SignedTrailer)
    }

    fn has_trailer(self) -> bool {
        matches!(self, StreamingMode::SignedTrailer | StreamingMode::UnsignedTrailer)
    }
}

/// Why an `aws-chunked` body was refused. [`ChunkedError::rejection`] gives S3's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkedError {
    /// The framing is not `aws-chunked` as the mode requires.
    #[error("the aws-chunked body is malformed: {0}")]
    Malformed(String),
    /// A chunk's signature is not the one its data, the request and the previous chunk give.
    #[error("The request signature we calculated does not match the signature you provided. Check your key and signing method.")]
    ChunkSignature,
    /// The trailer signature does not match.
    #[error("The request signature we calculated does not match the signature you provided. Check your key and signing method.")]
    TrailerSignature,
    /// The body ended before its last chunk (or its trailers).
    #[error("You did not provide the number of bytes specified by the Content-Length HTTP header.")]
    Incomplete,
    /// The decoded data is not as long as `x-amz-decoded-content-length` says.
    #[error("the decoded body has {actual} bytes but x-amz-decoded-content-length says {declared}")]
    DecodedLength {
        /// `x-amz-decoded-content-length`.
        declared: u64,
        /// Bytes decoded (so far, when too many).
        actual: u64,
    },
    /// A signed chunk larger than [`MAX_SIGNED_CHUNK`].
    #[error("a signed chunk of {0} bytes is larger than this server accepts ({MAX_SIGNED_CHUNK})")]
    ChunkTooLarge(u64),
    /// The announced trailer did not come.
    #[error("the trailer `{0}` announced in x-amz-trailer was not sent")]
    MissingTrailer(String),
    /// A trailer the request did not announce, or a checksum this server does not compute.
    #[error("{0}")]
    UnsupportedTrailer(String),
    /// The trailer checksum is not the decoded data's.
    #[error("The {algorithm} you specified did not match the calculated checksum.")]
    Checksum {
        /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1` or `SHA256`.
        algorithm: &'static str,
    },
}

impl ChunkedError {
    /// S3's answer: error code, HTTP status, message.
    pub fn rejection(&self) -> Rejection {
        let (code, status) = match self {
            ChunkedError::ChunkSignature | ChunkedError::TrailerSignature => {
                ("SignatureDoesNotMatch", StatusCode::FORBIDDEN)
            }
            ChunkedError::Incomplete | ChunkedError::DecodedLength { .. } => {
                ("IncompleteBody", StatusCode::BAD_REQUEST)
            }
            ChunkedError::Checksum { .. } => ("BadDigest", StatusCode::BAD_REQUEST),
            ChunkedError::Malformed(_)
            | ChunkedError::ChunkTooLarge(_)
            | ChunkedError::MissingTrailer(_)
            | ChunkedError::UnsupportedTrailer(_) => ("InvalidRequest", StatusCode::BAD_REQUEST),
        };
        Rejection::new(code, status, self.to_string())
    }
}

/// What chunk signatures are checked with, from the verified seed signature: the derived signing
/// key, the request time (`X-Amz-Date`), the credential scope, and the seed signature itself.
#[derive(Clone)]
pub struct ChunkSigning {
    key: [u8; 32],
    time: String,
    scope: String,
    previous: [u8; 32],
}

impl std::fmt::Debug for ChunkSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ChunkSigning").field("time", &self.time).field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl ChunkSigning {
    /// Signing state after a verified seed signature.
    pub fn new(key: [u8; 32], time: &str, scope: &str, seed_signature: [u8; 32]) -> ChunkSigning {
        ChunkSigning { key, time: time.to_owned(), scope: scope.to_owned(), previous: seed_signature }
    }

    /// The signature `kind` (`PAYLOAD` or `TRAILER`) of content hashed as `hash`, chained on the
    /// previous one.
    fn expected(&self, kind: &str, hash_lines: &str) -> Result<[u8; 32], ChunkedError> {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-{kind}\n{}\n{}\n{}\n{hash_lines}",
            self.time,
            self.scope,
            hex::encode(self.previous)
        );
        let mut mac = HmacSha256::new_from_slice(&self.key).map_err(|e| ChunkedError::Malformed(e.to_string()))?;
        mac.update(string_to_sign.as_bytes());
        Ok(mac.finalize().into_bytes().into())
    }

    /// Checks `given` (hex) against the expected signature and chains on it.
    fn check(&mut self, kind: &str, hash_lines: &str, given: &str, err: ChunkedError) -> Result<(), ChunkedError> {
        let expected = self.expected(kind, hash_lines)?;
        if !bool::from(hex::encode(expected).as_bytes().ct_eq(given.as_bytes())) {
            return Err(err);
        }
        self.previous = expected;
        Ok(())
    }
}

/// A running checksum of the decoded data, for the trailer announced in `x-amz-trailer`.
enum Checksum {
    Crc32(crc::Digest<'static, u32>),
    Crc32c(crc::Digest<'static, u32>),
    Crc64Nvme(crc::Digest<'static, u64>),
    Sha1(sha1::Sha1),
    Sha256(Sha256),
}

static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
static CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
static CRC64NVME: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_NVME);

impl Checksum {
    /// The checksum a trailer header name asks for.
    fn for_trailer(name: &str) -> Option<Checksum> {
        Some(match name {
            "x-amz-checksum-crc32" => Checksum::Crc32(CRC32.digest()),
            "x-amz-checksum-crc32c" => Checksum::Crc32c(CRC32C.digest()),
            "x-amz-checksum-crc64nvme" => Checksum::Crc64Nvme(CRC64NVME.digest()),
            "x-amz-checksum-sha1" => Checksum::Sha1(sha1::Sha1::new()),
            "x-amz-checksum-sha256" => Checksum::Sha256(Sha256::new()),
            _ => return None,
        })
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Checksum::Crc32(d) | Checksum::Crc32c(d) => d.update(data),
            Checksum::Crc64Nvme(d) => d.update(data),
            Checksum::Sha1(h) => sha1::Digest::update(h, data),
            Checksum::Sha256(h) => h.update(data),
        }
    }

    fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Crc32(_) => "CRC32",
            Checksum::Crc32c(_) => "CRC32C",
            Checksum::Crc64Nvme(_) => "CRC64NVME",
            Checksum::Sha1(_) => "SHA1",
            Checksum::Sha256(_) => "SHA256",
        }
    }

    /// The base64 of the big-endian checksum, as the trailer carries it.
    fn finish(self) -> String {
        match self {
            Checksum::Crc32(d) | Checksum::Crc32c(d) => STANDARD.encode(d.finalize().to_be_bytes()),
            Checksum::Crc64Nvme(d) => STANDARD.encode(d.finalize().to_be_bytes()),
            Checksum::Sha1(h) => STANDARD.encode(sha1::Digest::finalize(h)),
            Checksum::Sha256(h) => STANDARD.encode(h.finalize()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk header line.
    Header,
    /// Reading a chunk's data.
    Data,
    /// Reading the CRLF after a chunk's data.
    DataEnd,
    /// After the last (empty) chunk of a form without trailers: its CRLF.
    LastEnd,
    /// Reading trailer lines.
    Trailers,
    /// Everything was read and checked.
    End,
}

/// Decodes and checks an `aws-chunked` body incrementally; see the module documentation.
pub struct ChunkedDecoder {
    mode: StreamingMode,
    signing: Option<ChunkSigning>,
    decoded_length: Option<u64>,
    /// The trailer announced in `x-amz-trailer`, with its running checksum.
    trailer: Option<(String, Checksum)>,
    state: State,
    line: BytesMut,
    chunk_left: u64,
    chunk_signature: String,
    chunk_hash: Sha256,
    held: Vec<Bytes>,
    decoded: u64,
    trailers: Vec<(String, String)>,
    trailer_signature: Option<String>,
}

impl std::fmt::Debug for ChunkedDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedDecoder")
            .field("mode", &self.mode)
            .field("state", &self.state)
            .field("decoded", &self.decoded)
            .finish_non_exhaustive()
    }
}

impl ChunkedDecoder {
    /// A decoder for `mode`. `signing` is required for the signed forms; `decoded_length` is
    /// `x-amz-decoded-content-length`; `trailer` is `x-amz-trailer` (required for the forms with
    /// a trailer).
    pub fn new(
        mode: StreamingMode,
        signing: Option<ChunkSigning>,
        decoded_length: Option<u64>,
        trailer: Option<&str>,
    ) -> Result<ChunkedDecoder, ChunkedError> {
        if mode.signs_chunks() && signing.is_none() {
            return Err(ChunkedError::Malformed("signed chunks need the seed signature".into()));
        }
        // Unsigned chunks have nothing to chain on.
        let signing = signing.filter(|_| mode.signs_chunks());
        let trailer = match (mode.has_trailer(), trailer.map(|t| t.trim().to_ascii_lowercase())) {
            (true, Some(name)) => {
                let checksum = Checksum::for_trailer(&name).ok_or_else(|| {
                    ChunkedError::UnsupportedTrailer(format!(
                        "the trailer `{name}` is not a checksum this server computes (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256)"
                    ))
                })?;
                Some((name, checksum))
            }
            (true, None) => {
                return Err(ChunkedError::Malformed(format!("{} requires the x-amz-trailer header", mode.as_str())))
            }
            (false, Some(_)) => {
                return Err(ChunkedError::Malformed(format!(
                    "{} carries no trailer; x-amz-trailer must not be sent",
                    mode.as_str()
                )))
            }
            (false, None) => None,
        };
        Ok(ChunkedDecoder {
            mode,
            signing,
            decoded_length,
            trailer,
            state: State::Header,
            line: BytesMut::new(),
            chunk_left: 0,
            chunk_signature: String::new(),
            chunk_hash: Sha256::new(),
            held: Vec::new(),
            decoded: 0,
            trailers: Vec::new(),
            trailer_signature: None,
        })
    }

    /// Feeds the next bytes of the body; returns the decoded data that is ready (for signed
    /// chunks: verified).
    pub fn push(&mut self, mut input: Bytes) -> Result<Vec<Bytes>, ChunkedError> {
        let mut out = Vec::new();
        while !input.is_empty() {
            match self.state {
                State::Header => {
                    if let Some(line) = self.take_line(&mut input)? {
                        self.chunk_header(&line)?;
                    }
                }
                State::Data => {
                    let n = usize::try_from(self.chunk_left).unwrap_or(usize::MAX).min(input.len());
                    let piece = input.split_to(n);
                    self.chunk_left -= n as u64;
                    self.decoded += n as u64;
                    if let Some(declared) = self.decoded_length.filter(|d| self.decoded > *d) {
                        return Err(ChunkedError::DecodedLength { declared, actual: self.decoded });
                    }
                    if let Some((_, checksum)) = &mut self.trailer {
                        checksum.update(&piece);
                    }
                    if self.signing.is_some() {
                        self.chunk_hash.update(&piece);
                        self.held.push(piece);
                    } else {
                        out.push(piece);
                    }
                    if self.chunk_left == 0 {
                        self.state = State::DataEnd;
                    }
                }
                State::DataEnd => {
                    if let Some(line) = self.take_line(&mut input)? {
                        if !line.is_empty() {
                            return Err(ChunkedError::Malformed("a chunk's data is longer than its size".into()));
                        }
                        self.verify_chunk()?;
                        out.append(&mut self.held);
                        self.state = State::Header;
                    }
                }
                State::LastEnd => {
                    if let Some(line) = self.take_line(&mut input)? {
                        if !line.is_empty() {
                            return Err(ChunkedError::Malformed("data after the last chunk".into()));
                        }
                        self.state = State::End;
                    }
                }
                State::Trailers => {
                    if let Some(line) = self.take_line(&mut input)? {
                        self.trailer_line(&line)?;
                    }
                }
                State::End => {
                    return Err(ChunkedError::Malformed("data after the end of the aws-chunked body".into()));
                }
            }
        }
        Ok(out)
    }

    /// Ends the body: checks that it was whole, the decoded length, the trailer's signature and
    /// checksum. Returns the trailers (without the signature).
    pub fn finish(mut self) -> Result<Vec<(String, String)>, ChunkedError> {
        // A body may end right after its last line without the closing empty line.
        let ended = match self.state {
            State::End | State::LastEnd => self.line.is_empty(),
            State::Trailers => self.line.is_empty(),
            State::Header | State::Data | State::DataEnd => false,
        };
        if !ended {
            return Err(ChunkedError::Incomplete);
        }
        if self.state == State::Trailers {
            self.end_trailers()?;
        }
        if let Some(declared) = self.decoded_length.filter(|d| *d != self.decoded) {
            return Err(ChunkedError::DecodedLength { declared, actual: self.decoded });
        }
        Ok(self.trailers)
    }

    /// Bytes of decoded data so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Takes a CRLF-terminated line (without the CRLF) once it is whole.
    fn take_line(&mut self, input: &mut Bytes) -> Result<Option<BytesMut>, ChunkedError> {
        let Some(end) = input.iter().position(|b| *b == b'\n') else {
            self.line.extend_from_slice(input);
            input.clear();
            if self.line.len() > MAX_LINE {
                return Err(ChunkedError::Malformed("a chunk header or trailer line is too long".into()));
            }
            return Ok(None);
        };
        self.line.extend_from_slice(&input.split_to(end + 1));
        if self.line.len() > MAX_LINE + 2 {
            return Err(ChunkedError::Malformed("a chunk header or trailer line is too long".into()));
        }
        let mut line = std::mem::take(&mut self.line);
        if !line.ends_with(b"\r\n") {
            return Err(ChunkedError::Malformed("lines must end with CRLF".into()));
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }

    fn chunk_header(&mut self, line: &[u8]) -> Result<(), ChunkedError> {
        let line =
            std::str::from_utf8(line).map_err(|_| ChunkedError::Malformed("a chunk header is not ASCII".into()))?;
        let (size, extension) = match line.split_once(';') {
            Some((size, ext)) => (size, Some(ext)),
            None => (line, None),
        };
        if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ChunkedError::Malformed(format!("`{line}` is not a chunk header")));
        }
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| ChunkedError::Malformed(format!("`{line}` is not a chunk header")))?;
        match (self.mode.signs_chunks(), extension) {
            (true, Some(ext)) => {
                let signature = ext
                    .strip_prefix("chunk-signature=")
                    .filter(|s| s.len() == 64)
                    .ok_or_else(|| ChunkedError::Malformed(format!("`{line}` has no chunk-signature")))?;
                self.chunk_signature = signature.to_owned();
            }
            (true, None) => return Err(ChunkedError::Malformed(format!("`{line}` has no chunk-signature"))),
            (false, Some(_)) => {
                return Err(ChunkedError::Malformed(format!("`{line}`: unsigned chunks carry no extensions")))
            }
            (false, None) => {}
        }
        if self.mode.signs_chunks() && size > MAX_SIGNED_CHUNK {
            return Err(ChunkedError::ChunkTooLarge(size));
        }
        if size > 0 {
            self.chunk_left = size;
            self.state = State::Data;
            return Ok(());
        }
        // The last chunk: its signature covers no data.
        self.verify_chunk()?;
        self.state = if self.mode.has_trailer() { State::Trailers } else { State::LastEnd };
        Ok(())
    }

    /// Checks the signature of the chunk just read (nothing to check for unsigned chunks).
    fn verify_chunk(&mut self) -> Result<(), ChunkedError> {
        let Some(signing) = &mut self.signing else { return Ok(()) };
        let hash = hex::encode(std::mem::take(&mut self.chunk_hash).finalize());
        let lines = format!("{EMPTY_SHA256}\n{hash}");
        let given = std::mem::take(&mut self.chunk_signature);
        signing.check("PAYLOAD", &lines, &given, ChunkedError::ChunkSignature)
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), ChunkedError> {
        if line.is_empty() {
            // Some encoders put the empty line of the last chunk before the trailers; the
            // announced trailer has not come yet, so this is not the end.
            if self.trailers.is_empty() && self.trailer_signature.is_none() && self.trailer.is_some() {
                return Ok(());
            }
            self.end_trailers()?;
            self.state = State::End;
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| ChunkedError::Malformed("a trailer is not ASCII".into()))?;
        let (name, value) =
            line.split_once(':').ok_or_else(|| ChunkedError::Malformed(format!("`{line}` is not a trailer")))?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        if self.trailer_signature.is_some() {
            return Err(ChunkedError::Malformed("x-amz-trailer-signature must be the last trailer".into()));
        }
        if name == "x-amz-trailer-signature" {
            if self.mode != StreamingMode::SignedTrailer {
                return Err(ChunkedError::Malformed("x-amz-trailer-signature in an unsigned body".into()));
            }
            self.trailer_signature = Some(value);
            return Ok(());
        }
        if self.trailer.as_ref().is_none_or(|(announced, _)| *announced != name) {
            return Err(ChunkedError::UnsupportedTrailer(format!(
                "the trailer `{name}` was not announced in x-amz-trailer"
            )));
        }
        if self.trailers.iter().any(|(n, _)| *n == name) {
            return Err(ChunkedError::Malformed(format!("the trailer `{name}` is sent twice")));
        }
        self.trailers.push((name, value));
        Ok(())
    }

    /// The trailers are complete: check their signature and the checksum.
    fn end_trailers(&mut self) -> Result<(), ChunkedError> {
        if let Some(signing) = &mut self.signing {
            if self.mode == StreamingMode::SignedTrailer {
                let given = self
                    .trailer_signature
                    .take()
                    .ok_or_else(|| ChunkedError::Malformed("the x-amz-trailer-signature trailer is missing".into()))?;
                let canonical: String = self.trailers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
                let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
                signing.check("TRAILER", &hash, &given, ChunkedError::TrailerSignature)?;
            }
        }
        let Some((name, checksum)) = self.trailer.take() else { return Ok(()) };
        let given = self.trailers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        let given = given.ok_or(ChunkedError::MissingTrailer(name))?;
        let algorithm = checksum.algorithm();
        if checksum.finish() != given {
            return Err(ChunkedError::Checksum { algorithm });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// The signing key of AWS's S3 streaming examples (secret
    /// `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, 20130524, us-east-1, s3).
    fn example_signing(seed: &str) -> ChunkSigning {
        let mac = |key: &[u8], data: &str| -> [u8; 32] {
            let mut m = HmacSha256::new_from_slice(key).unwrap();
            m.update(data.as_bytes());
            m.finalize().into_bytes().into()
        };
        let k = mac(b"AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524");
        let k = mac(&mac(&mac(&k, "us-east-1"), "s3"), "aws4_request");
        let seed: [u8; 32] = hex::decode(seed).unwrap().try_into().unwrap();
        ChunkSigning::new(k, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed)
    }

    fn decode_in_pieces(decoder: &mut ChunkedDecoder, body: &[u8], piece: usize) -> Result<Vec<u8>, ChunkedError> {
        let mut out = Vec::new();
        for part in body.chunks(piece) {
            for b in decoder.push(Bytes::copy_from_slice(part))? {
                out.extend_from_slice(&b);
            }
        }
        Ok(out)
    }

    /// AWS's example (S3 API Reference, "Signature Calculations for the Authorization Header:
    /// Transferring Payload in Multiple Chunks", Example: PUT Object): 65 KiB of `a` in a 64 KiB
    /// and a 1 KiB chunk, with the published chunk signatures.
    fn aws_signed_body() -> Vec<u8> {
        let mut body = aws_chunks([
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ]);
        body.extend_from_slice(b"\r\n");
        body
    }

    /// The examples' chunks: 64 KiB and 1 KiB of `a`, then the last chunk, with `signatures`.
    fn aws_chunks(signatures: [&str; 3]) -> Vec<u8> {
        let mut body = format!("10000;chunk-signature={}\r\n", signatures[0]).into_bytes();
        body.extend(std::iter::repeat_n(b'a', 65536));
        body.extend_from_slice(format!("\r\n400;chunk-signature={}\r\n", signatures[1]).as_bytes());
        body.extend(std::iter::repeat_n(b'a', 1024));
        body.extend_from_slice(format!("\r\n0;chunk-signature={}\r\n", signatures[2]).as_bytes());
        body
    }

    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

    #[test]
    fn the_aws_signed_example_decodes_in_any_slicing() {
        let body = aws_signed_body();
        assert_eq!(body.len(), 66824, "the example's Content-Length");
        for piece in [1, 7, 100, 65536, body.len()] {
            let mut d =
                ChunkedDecoder::new(StreamingMode::Signed, Some(example_signing(SEED)), Some(66560), None).unwrap();
            let data = decode_in_pieces(&mut d, &body, piece).unwrap();
            assert_eq!(data.len(), 66560);
            assert!(data.iter().all(|b| *b == b'a'));
            assert_eq!(d.finish().unwrap(), Vec::new());
        }
    }

    #[test]
    fn altered_reordered_or_truncated_signed_bodies_are_refused() {
        let new =
            || ChunkedDecoder::new(StreamingMode::Signed, Some(example_signing(SEED)), Some(66560), None).unwrap();
        // One byte of data changed: the first chunk's signature fails, and nothing is handed out.
        let mut body = aws_signed_body();
        body[200] = b'b';
        let mut d = new();
        assert_eq!(decode_in_pieces(&mut d, &body, body.len()), Err(ChunkedError::ChunkSignature));
        // The chunks swapped (each keeps its signature): the chain breaks.
        let first_end = 88 + 65536 + 2;
        let second_end = first_end + 86 + 1024 + 2;
        let mut swapped = body.clone();
        swapped.clear();
        let original = aws_signed_body();
        swapped.extend_from_slice(&original[first_end..second_end]);
        swapped.extend_from_slice(&original[..first_end]);
        swapped.extend_from_slice(&original[second_end..]);
        assert_eq!(decode_in_pieces(&mut new(), &swapped, 4096), Err(ChunkedError::ChunkSignature));
        // Another seed (another request): refused.
        let mut other = ChunkedDecoder::new(
            StreamingMode::Signed,
            Some(example_signing("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")),
            None,
            None,
        )
        .unwrap();
        assert_eq!(decode_in_pieces(&mut other, &original, 1000), Err(ChunkedError::ChunkSignature));
        // Cut before the last chunk: incomplete.
        let mut d = new();
        decode_in_pieces(&mut d, &original[..second_end], 5000).unwrap();
        assert_eq!(d.finish(), Err(ChunkedError::Incomplete));
        // The last chunk dropped and the body ended cleanly after the second: still incomplete.
        // A wrong x-amz-decoded-content-length.
        let mut d = ChunkedDecoder::new(StreamingMode::Signed, Some(example_signing(SEED)), Some(66561), None).unwrap();
        decode_in_pieces(&mut d, &original, 9999).unwrap();
        assert_eq!(d.finish(), Err(ChunkedError::DecodedLength { declared: 66561, actual: 66560 }));
        let mut d = ChunkedDecoder::new(StreamingMode::Signed, Some(example_signing(SEED)), Some(100), None).unwrap();
        assert_eq!(
            decode_in_pieces(&mut d, &original, 9999),
            Err(ChunkedError::DecodedLength { declared: 100, actual: 9911 })
        );
        // A chunk header without its signature.
        let mut d = new();
        assert!(matches!(d.push(Bytes::from_static(b"400\r\n")), Err(ChunkedError::Malformed(_))));
        // Not hex.
        let mut d = new();
        assert!(matches!(d.push(Bytes::from_static(b"zz;chunk-signature=00\r\n")), Err(ChunkedError::Malformed(_))));
    }

    /// AWS's trailer example (S3 API Reference, "Signature calculation: Including trailing
    /// headers"): the same data, a CRC32C trailer, the published chunk and trailer signatures.
    fn aws_trailer_body(trailer_value: &str, trailer_signature: &str) -> Vec<u8> {
        let mut body = aws_chunks([
            "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
            "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
        ]);
        body.extend_from_slice(format!("x-amz-checksum-crc32c:{trailer_value}\r\n").as_bytes());
        body.extend_from_slice(format!("x-amz-trailer-signature:{trailer_signature}\r\n\r\n").as_bytes());
        body
    }

    const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    const TRAILER_SIGNATURE: &str = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

    #[test]
    fn the_aws_trailer_example_verifies_its_trailer_signature_and_checksum() {
        let new = || {
            ChunkedDecoder::new(
                StreamingMode::SignedTrailer,
                Some(example_signing(TRAILER_SEED)),
                Some(66560),
                Some("x-amz-checksum-crc32c"),
            )
            .unwrap()
        };
        let body = aws_trailer_body("sOO8/Q==", TRAILER_SIGNATURE);
        for piece in [3, 64, 70000] {
            let mut d = new();
            assert_eq!(decode_in_pieces(&mut d, &body, piece).unwrap().len(), 66560);
            assert_eq!(d.finish().unwrap(), vec![("x-amz-checksum-crc32c".to_owned(), "sOO8/Q==".to_owned())]);
        }
        // The trailer value changed: its signature no longer matches.
        let mut d = new();
        decode_in_pieces(&mut d, &aws_trailer_body("AAAAAA==", TRAILER_SIGNATURE), 1000)
            .map(|_| ())
            .and_then(|()| d.finish().map(|_| ()))
            .map_or_else(|e| assert_eq!(e, ChunkedError::TrailerSignature), |()| panic!("accepted"));
        // No trailer signature at all.
        let mut body = aws_trailer_body("sOO8/Q==", TRAILER_SIGNATURE);
        let cut = body.len() - (24 + 64 + 4);
        body.truncate(cut);
        body.extend_from_slice(b"\r\n");
        let mut d = new();
        assert!(matches!(decode_in_pieces(&mut d, &body, 1000), Err(ChunkedError::Malformed(_))));
    }

    fn unsigned_body(data: &[u8], chunk: usize, trailer: &str) -> Vec<u8> {
        let mut body = Vec::new();
        for part in data.chunks(chunk) {
            body.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            body.extend_from_slice(part);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("0\r\n{trailer}\r\n\r\n").as_bytes());
        body
    }

    #[test]
    fn unsigned_bodies_check_every_supported_checksum() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let cases = [
            ("x-amz-checksum-crc32", STANDARD.encode(CRC32.checksum(&data).to_be_bytes())),
            ("x-amz-checksum-crc32c", STANDARD.encode(CRC32C.checksum(&data).to_be_bytes())),
            ("x-amz-checksum-crc64nvme", STANDARD.encode(CRC64NVME.checksum(&data).to_be_bytes())),
            ("x-amz-checksum-sha1", STANDARD.encode(<sha1::Sha1 as sha1::Digest>::digest(&data))),
            ("x-amz-checksum-sha256", STANDARD.encode(Sha256::digest(&data))),
        ];
        for (name, value) in &cases {
            let body = unsigned_body(&data, 8192, &format!("{name}:{value}"));
            let mut d = ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, Some(100_000), Some(name)).unwrap();
            assert!(decode_in_pieces(&mut d, &body, 3000).unwrap() == data, "{name}");
            assert_eq!(d.finish().unwrap(), vec![((*name).to_owned(), value.clone())]);
            // One byte changed: the checksum catches it at the end.
            let mut bad = body.clone();
            bad[10] ^= 1;
            let mut d = ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, None, Some(name)).unwrap();
            let result = decode_in_pieces(&mut d, &bad, 3000).and_then(|_| d.finish());
            assert!(matches!(result, Err(ChunkedError::Checksum { .. })), "{name}: {result:?}");
        }
        // Known values: CRC32 ("123456789") = cbf43926, CRC32C = e3069283 (the catalogue's checks).
        assert_eq!(CRC32.checksum(b"123456789"), 0xcbf4_3926);
        assert_eq!(CRC32C.checksum(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn trailers_must_be_announced_and_must_come() {
        let data = b"hello world";
        let crc = STANDARD.encode(CRC32.checksum(data).to_be_bytes());
        // Another checksum than the one announced.
        let body = unsigned_body(data, 4, &format!("x-amz-checksum-crc32:{crc}"));
        let mut d =
            ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, None, Some("x-amz-checksum-sha256")).unwrap();
        assert!(matches!(decode_in_pieces(&mut d, &body, 100), Err(ChunkedError::UnsupportedTrailer(_))));
        // The announced trailer missing.
        let mut body = Vec::new();
        body.extend_from_slice(b"b\r\nhello world\r\n0\r\n\r\n");
        let mut d =
            ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, None, Some("x-amz-checksum-crc32")).unwrap();
        decode_in_pieces(&mut d, &body, 100).unwrap();
        assert_eq!(d.finish(), Err(ChunkedError::MissingTrailer("x-amz-checksum-crc32".into())));
        // No x-amz-trailer for a trailer form; an unknown checksum; a trailer for a form without.
        assert!(ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, None, None).is_err());
        assert!(matches!(
            ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, None, Some("x-amz-checksum-md5")),
            Err(ChunkedError::UnsupportedTrailer(_))
        ));
        assert!(ChunkedDecoder::new(
            StreamingMode::Signed,
            Some(example_signing(SEED)),
            None,
            Some("x-amz-checksum-crc32")
        )
        .is_err());
        // Bytes after the end.
        let body = unsigned_body(data, 4, &format!("x-amz-checksum-crc32:{crc}"));
        let mut d =
            ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, None, Some("x-amz-checksum-crc32")).unwrap();
        decode_in_pieces(&mut d, &body, 100).unwrap();
        assert!(matches!(d.push(Bytes::from_static(b"x")), Err(ChunkedError::Malformed(_))));
    }
}
