//! Finding out who is calling. The layer knows no credential scheme: an [`Authenticate`]
//! implementation (SigV4, registry tokens, mTLS, a session cookie…) plugs in.

use std::future::Future;

use http::Request;

use crate::caller::Caller;

/// Why a request could not be authenticated: the AWS error code, HTTP status and message a
/// client should see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// AWS error code (`UnrecognizedClientException`, `InvalidSignatureException`,
    /// `MissingAuthenticationTokenException`, …) or a registry error code (`UNAUTHORIZED`, `DENIED`).
    pub code: &'static str,
    /// HTTP status.
    pub status: http::StatusCode,
    /// The message, in AWS's wording.
    pub message: String,
    /// A `WWW-Authenticate` challenge to send, if any.
    pub challenge: Option<String>,
}

impl Rejection {
    /// A rejection with no challenge.
    pub fn new(code: &'static str, status: http::StatusCode, message: impl Into<String>) -> Rejection {
        Rejection { code, status, message: message.into(), challenge: None }
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub fn with_challenge(mut self, challenge: impl Into<String>) -> Rejection {
        self.challenge = Some(challenge.into());
        self
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Rejection {}

/// Establishes who sent a request. It receives the request by value and gives it back, so an
/// implementation may read (and restore) the body, as SigV4 must to hash the payload.
pub trait Authenticate<B>: Clone + Send + Sync + 'static {
    /// Authenticates `req`.
    fn authenticate(&self, req: Request<B>) -> impl Future<Output = Result<(Request<B>, Caller), Rejection>> + Send;

    /// Authenticates from the request head alone, without waiting, when this authenticator can
    /// (`None`: it needs [`Authenticate::authenticate`]). The layer takes this fast path first:
    /// it needs no boxed future.
    fn authenticate_head(&self, req: &Request<B>) -> Option<Result<Caller, Rejection>> {
        let _ = req;
        None
    }
}

/// Closures `Fn(&Request<B>) -> Result<Caller, Rejection>` authenticate synchronously from the
/// request head.
impl<B, F> Authenticate<B> for F
where
    B: Send + 'static,
    F: Fn(&Request<B>) -> Result<Caller, Rejection> + Clone + Send + Sync + 'static,
{
    fn authenticate(&self, req: Request<B>) -> impl Future<Output = Result<(Request<B>, Caller), Rejection>> + Send {
        let result = self(&req).map(|caller| (req, caller));
        std::future::ready(result)
    }

    fn authenticate_head(&self, req: &Request<B>) -> Option<Result<Caller, Rejection>> {
        Some(self(req))
    }
}
