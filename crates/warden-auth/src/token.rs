//! ECR registry authorization tokens.
//!
//! `GetAuthorizationToken` answers `base64("AWS:" + password)`; docker, skopeo and oras log in
//! with user `AWS` and that password, and send it as HTTP Basic on every registry request. The
//! password here is `v1.<payload>.<mac>`: a base64url JSON payload (principal, registry account,
//! region, issue and expiry times) and a base64url HMAC-SHA256 of it under the registry's token
//! key — so any instance holding the key verifies a token without shared state, an altered token
//! fails its MAC, and an old one fails its expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use warden_tower::Rejection;

/// Default validity of a token (ECR: 12 hours).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(12 * 3600);

const VERSION: &str = "v1";

/// What a tag's MAC covers before the data, so a tag never equals a token's MAC or a derived key
/// (`derive` MACs `warden/derive/…`; tokens MAC `v1.…`).
const TAG_LABEL: &[u8] = b"warden/tag/";

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The principal the token was minted for.
    #[serde(rename = "p")]
    pub principal_arn: String,
    /// The registry (account id) it is valid for.
    #[serde(rename = "a")]
    pub account: String,
    /// The region it is valid in.
    #[serde(rename = "r")]
    pub region: String,
    /// Issue time, epoch seconds.
    #[serde(rename = "i")]
    pub issued_at: i64,
    /// Expiry, epoch seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token this registry issues (or altered so it no longer parses).
    #[error("Your authorization token is invalid.")]
    Malformed,
    /// The MAC does not match: altered, or minted with another key.
    #[error("Your authorization token is invalid.")]
    BadSignature,
    /// Past its expiry.
    #[error("Your authorization token has expired. Reauthenticate and try again.")]
    Expired,
    /// Minted for another registry or region.
    #[error("Your authorization token is not valid for this registry.")]
    WrongRegistry,
}

impl TokenError {
    /// The registry-API answer.
    pub fn rejection(&self, realm: &str) -> Rejection {
        match self {
            TokenError::Expired => Rejection::new("DENIED", StatusCode::FORBIDDEN, self.to_string()),
            _ => Rejection::new("UNAUTHORIZED", StatusCode::UNAUTHORIZED, self.to_string())
                .with_challenge(format!("Basic realm=\"{realm}\"")),
        }
    }
}

/// Mints and verifies tokens for one registry.
#[derive(Clone)]
pub struct TokenIssuer {
    key: Vec<u8>,
    account: String,
    region: String,
    lifetime: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("account", &self.account)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer for the registry of `account` in `region`, with the secret `key` (at least 32
    /// bytes; keep it as secret as the access keys).
    pub fn new(key: &[u8], account: &str, region: &str) -> TokenIssuer {
        TokenIssuer {
            key: key.to_vec(),
            account: account.to_owned(),
            region: region.to_owned(),
            lifetime: DEFAULT_LIFETIME,
        }
    }

    /// Sets the validity of new tokens.
    pub fn with_lifetime(mut self, lifetime: Duration) -> TokenIssuer {
        self.lifetime = lifetime;
        self
    }

    /// An issuer for another purpose (`"console-session"`), with a key derived from this one
    /// (HMAC-SHA256 of the purpose), so its tokens and tags never pass as this issuer's, and
    /// `lifetime`.
    pub fn derive(&self, purpose: &str, lifetime: Duration) -> TokenIssuer {
        TokenIssuer {
            key: self.mac(format!("warden/derive/{purpose}").as_bytes()),
            account: self.account.clone(),
            region: self.region.clone(),
            lifetime,
        }
    }

    /// The validity of new tokens.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A tag of `data` under this issuer's key (base64url HMAC-SHA256): a value only a holder of
    /// the key can make, checked with [`TokenIssuer::check_tag`].
    pub fn tag(&self, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(&[TAG_LABEL, data].concat()))
    }

    /// Whether `tag` is [`TokenIssuer::tag`] of `data`, compared in constant time.
    pub fn check_tag(&self, data: &[u8], tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else { return false };
        let Ok(mut check) = Hmac::<Sha256>::new_from_slice(&self.key) else { return false };
        check.update(TAG_LABEL);
        check.update(data);
        check.verify_slice(&tag).is_ok()
    }

    /// The registry account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// A password for `principal_arn`, valid from `now`, and its expiry.
    pub fn mint(&self, principal_arn: &str, now: SystemTime) -> (String, SystemTime) {
        self.mint_until(principal_arn, now, None)
    }

    /// As [`TokenIssuer::mint`], expiring at `not_after` if that comes before the issuer's
    /// lifetime is over (a session opened with a token never outlives the token).
    pub fn mint_until(&self, principal_arn: &str, now: SystemTime, not_after: Option<i64>) -> (String, SystemTime) {
        let issued = epoch(now);
        let mut expires = issued.saturating_add(i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX));
        if let Some(limit) = not_after {
            expires = expires.min(limit);
        }
        let claims = Claims {
            principal_arn: principal_arn.to_owned(),
            account: self.account.clone(),
            region: self.region.clone(),
            issued_at: issued,
            expires_at: expires,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signed = format!("{VERSION}.{payload}");
        let mac = URL_SAFE_NO_PAD.encode(self.mac(signed.as_bytes()));
        let expiry = UNIX_EPOCH + Duration::from_secs(u64::try_from(expires).unwrap_or(0));
        (format!("{signed}.{mac}"), expiry)
    }

    /// The `authorizationToken` of GetAuthorizationToken: `base64("AWS:" + password)`.
    pub fn authorization_token(&self, principal_arn: &str, now: SystemTime) -> (String, SystemTime) {
        let (password, expiry) = self.mint(principal_arn, now);
        (STANDARD.encode(format!("AWS:{password}")), expiry)
    }

    /// Verifies a password at `now`.
    pub fn verify(&self, password: &str, now: SystemTime) -> Result<Claims, TokenError> {
        let (signed, mac) = password.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let payload = signed.strip_prefix("v1.").ok_or(TokenError::Malformed)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| TokenError::Malformed)?;
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).map_err(|_| TokenError::Malformed)?;
        check.update(signed.as_bytes());
        check.verify_slice(&mac).map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.account != self.account || claims.region != self.region {
            return Err(TokenError::WrongRegistry);
        }
        if epoch(now) >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut m) => {
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
}

fn epoch(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// Reads HTTP Basic credentials: `(user, password)`.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(value.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

    #[test]
    fn round_trip_and_expiry() {
        let issuer = TokenIssuer::new(KEY, "111122223333", "us-east-1");
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (password, expiry) = issuer.mint(ALICE, now);
        assert_eq!(expiry, now + DEFAULT_LIFETIME);
        let claims = issuer.verify(&password, now + Duration::from_secs(3600)).unwrap();
        assert_eq!(claims.principal_arn, ALICE);
        assert_eq!(issuer.verify(&password, now + DEFAULT_LIFETIME), Err(TokenError::Expired));
        assert_eq!(TokenError::Expired.rejection("r").status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn tampering_and_other_registries_fail() {
        let issuer = TokenIssuer::new(KEY, "111122223333", "us-east-1");
        let now = SystemTime::now();
        let (password, _) = issuer.mint(ALICE, now);
        // Swap the principal in the payload, keep the MAC.
        let parts: Vec<&str> = password.split('.').collect();
        let forged_claims = Claims {
            principal_arn: "arn:aws:iam::111122223333:user/admin".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            issued_at: 0,
            expires_at: i64::MAX,
        };
        let forged = format!("v1.{}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap()), parts[2]);
        assert_eq!(issuer.verify(&forged, now), Err(TokenError::BadSignature));
        assert_eq!(issuer.verify("garbage", now), Err(TokenError::Malformed));
        let other_key = TokenIssuer::new(b"another key of at least 32 bytes!!", "111122223333", "us-east-1");
        assert_eq!(other_key.verify(&password, now), Err(TokenError::BadSignature));
        let other_region = TokenIssuer::new(KEY, "111122223333", "eu-west-1");
        assert_eq!(other_region.verify(&password, now), Err(TokenError::WrongRegistry));
    }

    #[test]
    fn authorization_token_is_basic_ready() {
        let issuer = TokenIssuer::new(KEY, "111122223333", "us-east-1");
        let (token, _) = issuer.authorization_token(ALICE, SystemTime::now());
        let (user, password) = basic_credentials(&format!("Basic {token}")).unwrap();
        assert_eq!(user, "AWS");
        assert!(issuer.verify(&password, SystemTime::now()).is_ok());
        assert_eq!(basic_credentials("Bearer x"), None);
    }
}
