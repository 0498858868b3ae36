//! `/v2/...` paths → what they address, typed. The path is percent-decoded once
//! ([`crate::query::decode_path`]) and read from its end, as the distribution spec's routes are
//! anchored at the end: the reference, digest or upload id is the last segment, the route word
//! the one before it, and everything before that is the repository name — so a repository may
//! itself contain the segments `manifests`, `blobs` or `uploads`.
//!
//! ```text
//! /v2/                                   ⇒ Base
//! /v2/_catalog                           ⇒ Catalog
//! /v2/team/app/tags/list                 ⇒ Tags { repo: team/app }
//! /v2/team/app/manifests/v1              ⇒ Manifest { repo: team/app, reference: v1 }
//! /v2/team/app/blobs/uploads/            ⇒ UploadStart { repo: team/app }
//! /v2/team/app/blobs/uploads/0a1b        ⇒ Upload { repo: team/app, id: 0a1b }
//! /v2/team/app/blobs/sha256:…            ⇒ Blob { repo: team/app, digest: sha256:… }
//! /v2/team/app/referrers/sha256:…        ⇒ Referrers { repo: team/app, digest: sha256:… }
//! /v2/ab/blobs/uploads/cd/manifests/v1   ⇒ Manifest { repo: ab/blobs/uploads/cd, reference: v1 }
//! ```
//!
//! ```
//! use warden_registry::route::{parse, Route};
//! let Ok(Route::Manifest { repo, reference }) = parse("/v2/ab/blobs/uploads/cd/manifests/v1") else { panic!() };
//! assert_eq!((repo.as_str(), reference.as_str()), ("ab/blobs/uploads/cd", "v1"));
//! ```

use crate::error::RegistryError;
use crate::names::{Digest, Reference, RepoName, UploadId};

/// What a registry path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v2/`
    Base,
    /// `GET /v2/_catalog`
    Catalog,
    /// `GET /v2/<name>/tags/list`
    Tags {
        /// Repository.
        repo: RepoName,
    },
    /// `/v2/<name>/manifests/<reference>`
    Manifest {
        /// Repository.
        repo: RepoName,
        /// Tag or digest.
        reference: Reference,
    },
    /// `POST /v2/<name>/blobs/uploads/`
    UploadStart {
        /// Repository.
        repo: RepoName,
    },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload {
        /// Repository.
        repo: RepoName,
        /// Session id.
        id: UploadId,
    },
    /// `/v2/<name>/blobs/<digest>`
    Blob {
        /// Repository.
        repo: RepoName,
        /// Digest.
        digest: Digest,
    },
    /// `GET /v2/<name>/referrers/<digest>`
    Referrers {
        /// Repository.
        repo: RepoName,
        /// Subject digest.
        digest: Digest,
    },
}

impl Route {
    /// The repository the route is about.
    pub fn repo(&self) -> Option<&RepoName> {
        match self {
            Route::Base | Route::Catalog => None,
            Route::Tags { repo }
            | Route::Manifest { repo, .. }
            | Route::UploadStart { repo }
            | Route::Upload { repo, .. }
            | Route::Blob { repo, .. }
            | Route::Referrers { repo, .. } => Some(repo),
        }
    }
}

/// The most bytes of a path read (a 256-character name, a route word and a sha512 digest fit
/// many times over).
const MAX_PATH: usize = 2048;

/// Parses a percent-decoded request path. A path no route matches is
/// [`RegistryError::NotFound`]; a matching route with an invalid name, digest or tag is
/// NAME_INVALID, DIGEST_INVALID or TAG_INVALID.
pub fn parse(path: &str) -> Result<Route, RegistryError> {
    if path.len() > MAX_PATH {
        return Err(RegistryError::NotFound);
    }
    let rest = path.strip_prefix("/v2").ok_or(RegistryError::NotFound)?;
    let rest = match rest.strip_prefix('/') {
        Some(r) => r,
        None if rest.is_empty() => rest,
        None => return Err(RegistryError::NotFound),
    };
    if rest.is_empty() {
        return Ok(Route::Base);
    }
    if rest == "_catalog" {
        return Ok(Route::Catalog);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Ok(Route::Tags { repo: RepoName::parse(name)? });
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads/").or_else(|| rest.strip_suffix("/blobs/uploads")) {
        return Ok(Route::UploadStart { repo: RepoName::parse(name)? });
    }
    let (head, last) = rest.rsplit_once('/').ok_or(RegistryError::NotFound)?;
    let (name, word) = head.rsplit_once('/').ok_or(RegistryError::NotFound)?;
    match word {
        "manifests" => {
            let repo = RepoName::parse(name)?;
            Ok(Route::Manifest { repo, reference: Reference::parse(last)? })
        }
        // The spec's digest grammar has a `:`; a last segment without one is no blob route.
        "blobs" if last.contains(':') => {
            let repo = RepoName::parse(name)?;
            Ok(Route::Blob { repo, digest: Digest::parse(last)? })
        }
        "referrers" if last.contains(':') => {
            let repo = RepoName::parse(name)?;
            Ok(Route::Referrers { repo, digest: Digest::parse(last)? })
        }
        "uploads" => {
            let name = name.strip_suffix("/blobs").ok_or(RegistryError::NotFound)?;
            let repo = RepoName::parse(name)?;
            let id = UploadId::parse(last).ok_or(RegistryError::UploadUnknown)?;
            Ok(Route::Upload { repo, id })
        }
        _ => Err(RegistryError::NotFound),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn name(n: &str) -> RepoName {
        RepoName::parse(n).unwrap()
    }

    #[test]
    fn the_documented_table() {
        let d = format!("sha256:{}", "a".repeat(64));
        let digest = Digest::parse(&d).unwrap();
        assert_eq!(parse("/v2/").unwrap(), Route::Base);
        assert_eq!(parse("/v2").unwrap(), Route::Base);
        assert_eq!(parse("/v2/_catalog").unwrap(), Route::Catalog);
        assert_eq!(parse("/v2/team/app/tags/list").unwrap(), Route::Tags { repo: name("team/app") });
        assert_eq!(
            parse("/v2/team/app/manifests/v1").unwrap(),
            Route::Manifest { repo: name("team/app"), reference: Reference::parse("v1").unwrap() }
        );
        assert_eq!(parse("/v2/team/app/blobs/uploads/").unwrap(), Route::UploadStart { repo: name("team/app") });
        assert_eq!(
            parse("/v2/team/app/blobs/uploads/0a1b").unwrap(),
            Route::Upload { repo: name("team/app"), id: UploadId::parse("0a1b").unwrap() }
        );
        assert_eq!(
            parse(&format!("/v2/a1/blobs/{d}")).unwrap(),
            Route::Blob { repo: name("a1"), digest: digest.clone() }
        );
        assert_eq!(
            parse(&format!("/v2/a1/referrers/{d}")).unwrap(),
            Route::Referrers { repo: name("a1"), digest: digest.clone() }
        );
    }

    #[test]
    fn route_words_inside_names_resolve_from_the_end() {
        let d = format!("sha256:{}", "b".repeat(64));
        let digest = Digest::parse(&d).unwrap();
        let v1 = Reference::parse("v1").unwrap();
        let cases = [
            (
                "/v2/ab/blobs/uploads/cd/manifests/v1",
                Route::Manifest { repo: name("ab/blobs/uploads/cd"), reference: v1.clone() },
            ),
            ("/v2/manifests/manifests/v1", Route::Manifest { repo: name("manifests"), reference: v1.clone() }),
            ("/v2/x/manifests/manifests/v1", Route::Manifest { repo: name("x/manifests"), reference: v1 }),
            ("/v2/ab/blobs/uploads/cd/blobs/uploads/", Route::UploadStart { repo: name("ab/blobs/uploads/cd") }),
            ("/v2/y/blobs/blobs/uploads", Route::UploadStart { repo: name("y/blobs") }),
            ("/v2/y/blobs/tags/list", Route::Tags { repo: name("y/blobs") }),
            ("/v2/w/tags/list2/tags/list", Route::Tags { repo: name("w/tags/list2") }),
        ];
        for (path, want) in cases {
            assert_eq!(parse(path).unwrap(), want, "{path}");
        }
        assert_eq!(
            parse(&format!("/v2/y/blobs/blobs/{d}")).unwrap(),
            Route::Blob { repo: name("y/blobs"), digest: digest.clone() }
        );
        assert_eq!(
            parse("/v2/z/uploads/q/blobs/uploads/0a1b").unwrap(),
            Route::Upload { repo: name("z/uploads/q"), id: UploadId::parse("0a1b").unwrap() }
        );
        assert_eq!(
            parse(&format!("/v2/v/referrers/referrers/{d}")).unwrap(),
            Route::Referrers { repo: name("v/referrers"), digest }
        );
    }

    #[test]
    fn hostile_paths_are_refused_before_anything_is_read() {
        let invalid = |p: &str| matches!(parse(p), Err(RegistryError::NameInvalid { .. }));
        assert!(invalid("/v2/team/../app/tags/list"));
        assert!(invalid("/v2/../tags/list"));
        assert!(invalid("/v2/Team/App/manifests/v1"));
        assert!(invalid(&format!("/v2/{}/tags/list", "a".repeat(257))));
        assert!(invalid("/v2//tags/list"));
        assert!(matches!(parse("/v2/a1/manifests/sha256:x"), Err(RegistryError::DigestInvalid { .. })));
        assert!(matches!(parse("/v2/a1/manifests/.x"), Err(RegistryError::TagInvalid { .. })));
        assert!(matches!(parse("/v2/a1/blobs/uploads/a.b"), Err(RegistryError::UploadUnknown)));
        for p in ["/v1/x", "/v2x", "/v2/a1/blobs/nodigest", "/v2/a1/unknown/x", "/v2/a1"] {
            assert_eq!(parse(p), Err(RegistryError::NotFound), "{p}");
        }
    }
}
