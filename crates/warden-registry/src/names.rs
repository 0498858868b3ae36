//! Repository names, tags and digests, as ECR and the distribution spec define them.
//!
//! ```text
//! team-a/web-app      ⇒ valid repository (ECR: 2–256 characters, lower-case, `/` namespaces)
//! Team/App            ⇒ invalid (upper case)
//! v1.2.3              ⇒ valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})
//! sha256:<64 hex>     ⇒ valid digest; sha512:<128 hex> too
//! sha256:abc          ⇒ invalid digest (wrong length)
//! ```

use sha2::{Digest as _, Sha256, Sha512};

use crate::error::RegistryError;

/// True for a valid ECR repository name.
pub fn valid_repository(name: &str) -> bool {
    if name.len() < 2 || name.len() > 256 {
        return false;
    }
    name.split('/').all(valid_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let ends_ok = bytes.first().is_some_and(|b| alnum(*b)) && bytes.last().is_some_and(|b| alnum(*b));
    if !ends_ok {
        return false;
    }
    let mut rest = component;
    while let Some(start) = rest.find(|c: char| !c.is_ascii_lowercase() && !c.is_ascii_digit()) {
        let after = rest.get(start..).unwrap_or_default();
        let run_len = after.find(|c: char| !matches!(c, '.' | '_' | '-')).unwrap_or(after.len());
        let run = after.get(..run_len).unwrap_or_default();
        let ok = !run.is_empty() && (run == "." || run == "_" || run == "__" || run.bytes().all(|c| c == b'-'));
        if !ok {
            return false;
        }
        rest = after.get(run_len..).unwrap_or_default();
    }
    true
}

fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// True for a valid tag.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    b.len() <= 128
        && b.first().is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// sha256
    Sha256,
    /// sha512
    Sha512,
}

impl Algorithm {
    /// `sha256` / `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The digest of `data` in this algorithm, as `alg:hex`.
    pub fn digest(self, data: &[u8]) -> String {
        match self {
            Algorithm::Sha256 => format!("sha256:{}", hex::encode(Sha256::digest(data))),
            Algorithm::Sha512 => format!("sha512:{}", hex::encode(Sha512::digest(data))),
        }
    }
}

/// A streaming hasher for either algorithm.
pub enum Hasher {
    /// sha256
    Sha256(Sha256),
    /// sha512
    Sha512(Sha512),
}

impl Hasher {
    /// A hasher for `alg`.
    pub fn new(alg: Algorithm) -> Hasher {
        match alg {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// `alg:hex`.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// Parses `alg:hex`, checking the hex length for the algorithm.
pub fn parse_digest(text: &str) -> Option<Algorithm> {
    let (alg, hex) = text.split_once(':')?;
    let (alg, len) = match alg {
        "sha256" => (Algorithm::Sha256, 64),
        "sha512" => (Algorithm::Sha512, 128),
        _ => return None,
    };
    (hex.len() == len && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(alg)
}

/// A repository name that passed [`valid_repository`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    /// Validates `name` (already percent-decoded).
    pub fn parse(name: &str) -> Result<RepoName, RegistryError> {
        if valid_repository(name) {
            Ok(RepoName(name.to_owned()))
        } else {
            Err(RegistryError::NameInvalid { name: truncated(name) })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag that passed [`valid_tag`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// Validates `tag`.
    pub fn parse(tag: &str) -> Result<Tag, RegistryError> {
        if valid_tag(tag) {
            Ok(Tag(tag.to_owned()))
        } else {
            Err(RegistryError::TagInvalid { tag: truncated(tag) })
        }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A digest (`sha256:<64 hex>` or `sha512:<128 hex>`) that passed [`parse_digest`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    text: String,
    algorithm: Algorithm,
}

impl Digest {
    /// Validates `text`.
    pub fn parse(text: &str) -> Result<Digest, RegistryError> {
        match parse_digest(text) {
            Some(algorithm) => Ok(Digest { text: text.to_owned(), algorithm }),
            None => Err(RegistryError::DigestInvalid { digest: truncated(text) }),
        }
    }

    /// The digest of `data` in `algorithm`.
    pub fn of(algorithm: Algorithm, data: &[u8]) -> Digest {
        Digest { text: algorithm.digest(data), algorithm }
    }

    /// `alg:hex`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a manifest is addressed by: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// By tag (the stored manifest may be translated for the client).
    Tag(Tag),
    /// By digest (never translated).
    Digest(Digest),
}

impl Reference {
    /// A digest when `text` has a `:`, else a tag.
    pub fn parse(text: &str) -> Result<Reference, RegistryError> {
        if text.contains(':') {
            Digest::parse(text).map(Reference::Digest)
        } else {
            Tag::parse(text).map(Reference::Tag)
        }
    }

    /// The tag or digest as written.
    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(t) => t.as_str(),
            Reference::Digest(d) => d.as_str(),
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An upload session id: 1 to 128 of `[A-Za-z0-9_-]` (the registry makes 32 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// Validates `id`; `None` for anything no session can be named.
    pub fn parse(id: &str) -> Option<UploadId> {
        let ok = !id.is_empty()
            && id.len() <= 128
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| UploadId(id.to_owned()))
    }

    /// A new random id.
    pub fn random() -> UploadId {
        UploadId(random_id())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UploadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// 32 random hex characters.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // getrandom only fails where no OS randomness exists; fall back to time and address entropy.
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        bytes = t.to_le_bytes();
    }
    hex::encode(bytes)
}

/// Input echoed in an error message, cut to 300 characters.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", text.get(..i).unwrap_or_default()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table() {
        assert!(valid_repository("team-a/web-app"));
        assert!(valid_repository("a1"));
        assert!(valid_repository("a__b/c.d/e--f"));
        assert!(!valid_repository("Team/App"));
        assert!(!valid_repository("a"));
        assert!(!valid_repository("a/"));
        assert!(!valid_repository("a/-b"));
        assert!(!valid_repository("a___b"));
        assert!(!valid_repository("a._b"));
        assert!(
            valid_tag("v1.2.3")
                && valid_tag("_x")
                && !valid_tag(".x")
                && !valid_tag("a/b")
                && !valid_tag(&"x".repeat(129))
        );
        assert_eq!(parse_digest(&format!("sha256:{}", "a".repeat(64))), Some(Algorithm::Sha256));
        assert_eq!(parse_digest(&format!("sha512:{}", "0".repeat(128))), Some(Algorithm::Sha512));
        assert_eq!(parse_digest("sha256:abc"), None);
        assert_eq!(parse_digest(&format!("sha256:{}", "A".repeat(64))), None);
        assert_eq!(parse_digest("md5:x"), None);
    }
}
