//! `/v2/...` paths → what they address. Repository names contain `/`, so the path is read from
//! its end: the last `/manifests/`, `/blobs/`, `/tags/list`, `/referrers/` decides.
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
//! ```

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
        repo: String,
    },
    /// `/v2/<name>/manifests/<reference>`
    Manifest {
        /// Repository.
        repo: String,
        /// Tag or digest.
        reference: String,
    },
    /// `POST /v2/<name>/blobs/uploads/`
    UploadStart {
        /// Repository.
        repo: String,
    },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload {
        /// Repository.
        repo: String,
        /// Session id.
        id: String,
    },
    /// `/v2/<name>/blobs/<digest>`
    Blob {
        /// Repository.
        repo: String,
        /// Digest.
        digest: String,
    },
    /// `GET /v2/<name>/referrers/<digest>`
    Referrers {
        /// Repository.
        repo: String,
        /// Subject digest.
        digest: String,
    },
}

impl Route {
    /// The repository the route is about.
    pub fn repo(&self) -> Option<&str> {
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

/// Parses a request path.
pub fn parse(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/v2")?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Route::Base);
    }
    if rest == "_catalog" {
        return Some(Route::Catalog);
    }
    if let Some(repo) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags { repo: repo.to_owned() });
    }
    if let Some(repo) = rest.strip_suffix("/blobs/uploads/").or_else(|| rest.strip_suffix("/blobs/uploads")) {
        return Some(Route::UploadStart { repo: repo.to_owned() });
    }
    if let Some(i) = rest.rfind("/blobs/uploads/") {
        let (repo, id) = (rest.get(..i)?, rest.get(i + "/blobs/uploads/".len()..)?);
        return Some(Route::Upload { repo: repo.to_owned(), id: id.to_owned() });
    }
    if let Some(i) = rest.rfind("/manifests/") {
        let (repo, reference) = (rest.get(..i)?, rest.get(i + "/manifests/".len()..)?);
        return Some(Route::Manifest { repo: repo.to_owned(), reference: reference.to_owned() });
    }
    if let Some(i) = rest.rfind("/blobs/") {
        let (repo, digest) = (rest.get(..i)?, rest.get(i + "/blobs/".len()..)?);
        return Some(Route::Blob { repo: repo.to_owned(), digest: digest.to_owned() });
    }
    if let Some(i) = rest.rfind("/referrers/") {
        let (repo, digest) = (rest.get(..i)?, rest.get(i + "/referrers/".len()..)?);
        return Some(Route::Referrers { repo: repo.to_owned(), digest: digest.to_owned() });
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table() {
        let r = |s: &str| parse(s).unwrap();
        assert_eq!(r("/v2/"), Route::Base);
        assert_eq!(r("/v2"), Route::Base);
        assert_eq!(r("/v2/_catalog"), Route::Catalog);
        assert_eq!(r("/v2/team/app/tags/list"), Route::Tags { repo: "team/app".into() });
        assert_eq!(r("/v2/team/app/manifests/v1"), Route::Manifest { repo: "team/app".into(), reference: "v1".into() });
        assert_eq!(r("/v2/team/app/blobs/uploads/"), Route::UploadStart { repo: "team/app".into() });
        assert_eq!(r("/v2/team/app/blobs/uploads/0a1b"), Route::Upload { repo: "team/app".into(), id: "0a1b".into() });
        assert_eq!(r("/v2/a/blobs/sha256:x"), Route::Blob { repo: "a".into(), digest: "sha256:x".into() });
        assert_eq!(r("/v2/a/referrers/sha256:x"), Route::Referrers { repo: "a".into(), digest: "sha256:x".into() });
        // A repository named like a keyword still parses from the end.
        assert_eq!(
            r("/v2/manifests/manifests/v1"),
            Route::Manifest { repo: "manifests".into(), reference: "v1".into() }
        );
        assert_eq!(parse("/v1/x"), None);
    }
}
