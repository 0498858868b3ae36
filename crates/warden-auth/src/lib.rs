//! Authenticators for [`warden_tower`], backed by the warden identity store:
//!
//! - [`SigV4Authenticator`]: AWS Signature Version 4 (header and presigned query forms), as the
//!   AWS CLI and SDKs sign, including streaming `aws-chunked` bodies (signed chunks, signed and
//!   unsigned trailers with checksums; see [`chunked`]); failures answer with AWS's exceptions
//!   (`UnrecognizedClientException`, `InvalidSignatureException`,
//!   `MissingAuthenticationTokenException`, …);
//! - [`TokenAuthenticator`]: ECR registry tokens over HTTP Basic (user `AWS`), as docker, skopeo
//!   and oras send them after `docker login`; an anonymous request gets 401 with a
//!   `WWW-Authenticate: Basic` challenge.
//!
//! Both are plain [`warden_tower::Authenticate`] implementations; servers can bring their own.

mod authenticators;
pub mod chunked;
pub mod sigv4;
pub mod token;

pub use authenticators::{caller_of, Clock, ManualClock, SigV4Authenticator, SystemClock, TokenAuthenticator};
pub use chunked::{ChunkedDecoder, ChunkedError, StreamingMode};
pub use sigv4::{SigV4Error, SigV4Verifier};
pub use token::{basic_credentials, Claims, TokenError, TokenIssuer};
