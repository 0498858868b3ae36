//! `warden authorizer`: a stateless decision service (work in progress).
