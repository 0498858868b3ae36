//! The one description of a `/v2` request: its route (typed repository, reference, digest, upload
//! id) and the query parameters the route reads, decoded once. The describer decides on it, and
//! the handler receives the same value ([`Described`]) with the repository rows read for the
//! decision.

use http::{Method, Uri};
use warden_policy::Context;

use crate::error::RegistryError;
use crate::names::{Digest, RepoName};
use crate::query::{decode_path, Query};
use crate::route::{self, Route};
use crate::storage::meta::Repository;

/// The largest `n` a listing honours (Distribution caps it at 1,000 too).
pub const MAX_PAGE: usize = 1000;

/// `n` and `last` of a paginated listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// At most this many entries.
    pub n: Option<usize>,
    /// Entries after this one.
    pub last: Option<String>,
}

/// A cross-repository mount: `?mount=<digest>&from=<repository>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The blob.
    pub digest: Digest,
    /// The repository it is mounted from.
    pub from: RepoName,
}

/// A `/v2` request as the registry understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRequest {
    /// `GET`, `HEAD`, `PUT`, `POST`, `PATCH` or `DELETE`.
    pub method: Method,
    /// What the path addresses.
    pub route: Route,
    /// `?digest=` of a monolithic or closing upload.
    pub digest: Option<Digest>,
    /// `?mount=&from=` of an upload start.
    pub mount: Option<Mount>,
    /// `?n=&last=` of the tag list and the catalog.
    pub page: Page,
    /// `?artifactType=` of the referrers listing.
    pub artifact_type: Option<String>,
}

impl OciRequest {
    /// Parses a request target once: the path percent-decoded and routed, the parameters the
    /// route reads decoded and validated. An invalid name, digest or parameter is an error here,
    /// before anything is read.
    pub fn parse(method: &Method, uri: &Uri) -> Result<OciRequest, RegistryError> {
        let path = decode_path(uri.path()).ok_or(RegistryError::NotFound)?;
        let route = route::parse(&path)?;
        let query = Query::parse(uri.query().unwrap_or(""));
        let mut request = OciRequest {
            method: method.clone(),
            route,
            digest: None,
            mount: None,
            page: Page::default(),
            artifact_type: None,
        };
        match (&request.route, method.as_str()) {
            (Route::UploadStart { .. }, "POST") => {
                request.digest = query.get("digest").map(Digest::parse).transpose()?;
                if let (Some(mount), Some(from)) = (query.get("mount"), query.get("from")) {
                    request.mount = Some(Mount { digest: Digest::parse(mount)?, from: RepoName::parse(from)? });
                }
            }
            (Route::Upload { .. }, "PUT") => {
                let digest = query.get("digest").ok_or_else(|| RegistryError::DigestInvalid {
                    digest: String::from("(the digest parameter is required)"),
                })?;
                request.digest = Some(Digest::parse(digest)?);
            }
            (Route::Tags { .. } | Route::Catalog, "GET") => {
                let n = query
                    .get("n")
                    .map(|n| {
                        n.parse::<usize>()
                            .map_err(|_| RegistryError::PaginationInvalid(format!("`n={n}` is not a number")))
                    })
                    .transpose()?;
                request.page = Page { n: n.map(|n| n.min(MAX_PAGE)), last: query.get("last").map(str::to_owned) };
            }
            (Route::Referrers { .. }, "GET") => {
                request.artifact_type = query.get("artifactType").map(str::to_owned);
            }
            _ => {}
        }
        Ok(request)
    }

    /// The ECR action the request needs on its repository; `Ok(None)` for the routes that need
    /// authentication only (`/v2/`, `_catalog`), 405 for a method the route does not have.
    pub fn action(&self) -> Result<Option<&'static str>, RegistryError> {
        let action = match (&self.route, self.method.as_str()) {
            (Route::Base, "GET" | "HEAD") | (Route::Catalog, "GET") => return Ok(None),
            (Route::Manifest { .. } | Route::Referrers { .. }, "GET" | "HEAD") => "ecr:BatchGetImage",
            (Route::Manifest { .. }, "PUT") => "ecr:PutImage",
            (Route::Manifest { .. } | Route::Blob { .. }, "DELETE") => "ecr:BatchDeleteImage",
            (Route::Blob { .. }, "HEAD") => "ecr:BatchCheckLayerAvailability",
            (Route::Blob { .. }, "GET") => "ecr:GetDownloadUrlForLayer",
            (Route::UploadStart { .. }, "POST") => "ecr:InitiateLayerUpload",
            (Route::Upload { .. }, "PUT") => "ecr:CompleteLayerUpload",
            (Route::Upload { .. }, "PATCH" | "GET" | "DELETE") => "ecr:UploadLayerPart",
            (Route::Tags { .. }, "GET") => "ecr:ListImages",
            _ => return Err(RegistryError::Unsupported(format!("{} is not supported here", self.method))),
        };
        Ok(Some(action))
    }
}

impl OciRequest {
    /// The request's parameters as the audit trail records them, in the ECR API's member names
    /// for the action it is authorized as (`imageIds`, `layerDigest`, `uploadId`, …).
    pub fn parameters(&self, registry_id: &str) -> serde_json::Value {
        use serde_json::json;
        let image_id = |r: &crate::names::Reference| match r {
            crate::names::Reference::Tag(t) => json!({"imageTag": t.as_str()}),
            crate::names::Reference::Digest(d) => json!({"imageDigest": d.as_str()}),
        };
        let mut p = match (&self.route, self.method.as_str()) {
            (Route::Manifest { reference, .. }, "PUT") => match reference {
                crate::names::Reference::Tag(t) => json!({"imageTag": t.as_str()}),
                crate::names::Reference::Digest(d) => json!({"imageDigest": d.as_str()}),
            },
            (Route::Manifest { reference, .. }, _) => json!({"imageIds": [image_id(reference)]}),
            (Route::Referrers { digest, .. }, _) => json!({"imageIds": [{"imageDigest": digest.as_str()}]}),
            (Route::Blob { digest, .. }, "GET") => json!({"layerDigest": digest.as_str()}),
            (Route::Blob { digest, .. }, _) => json!({"layerDigests": [digest.as_str()]}),
            (Route::Upload { id, .. }, "PUT") => {
                json!({"uploadId": id.as_str(), "layerDigests": self.digest.iter().map(Digest::as_str).collect::<Vec<_>>()})
            }
            (Route::Upload { id, .. }, _) => json!({"uploadId": id.as_str()}),
            (Route::UploadStart { .. }, _) => match &self.mount {
                // Not an ECR member: where a cross-repository mount takes the layer from.
                Some(m) => json!({"mount": {"layerDigest": m.digest.as_str(), "fromRepository": m.from.as_str()}}),
                None => json!({}),
            },
            _ => json!({}),
        };
        if let (Some(map), Some(repo)) = (p.as_object_mut(), self.route.repo()) {
            map.insert("registryId".into(), json!(registry_id));
            map.insert("repositoryName".into(), json!(repo.as_str()));
        }
        p
    }
}

/// What the describer hands the handler, as a request extension: the request's description, the
/// rows of the repositories it read to decide (`None` where the repository does not exist), and
/// the condition keys it decided with.
#[derive(Debug, Clone)]
pub struct Described {
    /// The request.
    pub request: OciRequest,
    /// The repository of the route, as read for the decision.
    pub repository: Option<Repository>,
    /// The source repository of a cross-repository mount, as read for the decision.
    pub mount_source: Option<Repository>,
    /// The request's condition keys (the catalog filters with them).
    pub context: Context,
}

impl Described {
    /// The route's repository, or NAME_UNKNOWN.
    pub fn repository(&self, registry_id: &str) -> Result<&Repository, RegistryError> {
        match (&self.repository, self.request.route.repo()) {
            (Some(r), _) => Ok(r),
            (None, Some(name)) => {
                Err(RegistryError::NameUnknown { name: name.to_string(), registry: registry_id.to_owned() })
            }
            (None, None) => Err(RegistryError::NotFound),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(method: &str, target: &str) -> Result<OciRequest, RegistryError> {
        OciRequest::parse(&method.parse().unwrap(), &target.parse().unwrap())
    }

    #[test]
    fn a_mount_source_is_decoded_once_and_validated() {
        let d = format!("sha256:{}", "c".repeat(64));
        for from in ["secret/app", "secret%2Fapp", "%73ecret/app", "secret/ap%70"] {
            let r = parse("POST", &format!("/v2/team/app/blobs/uploads/?mount={d}&from={from}")).unwrap();
            assert_eq!(r.mount.unwrap().from.as_str(), "secret/app", "{from}");
        }
        for from in ["Secret/App", "secret/%2e%2e/x", "secret/../x"] {
            let r = parse("POST", &format!("/v2/team/app/blobs/uploads/?mount={d}&from={from}"));
            assert!(matches!(r, Err(RegistryError::NameInvalid { .. })), "{from}: {r:?}");
        }
    }

    #[test]
    fn names_are_decoded_before_routing() {
        for path in ["/v2/team%2Fapp/tags/list", "/v2/%74eam/app/tags/list", "/v2/team/ap%70/tags/list"] {
            assert_eq!(parse("GET", path).unwrap().route.repo().unwrap().as_str(), "team/app", "{path}");
        }
        for path in ["/v2/team/%2e%2e/app/tags/list", "/v2/%2e%2e/app/tags/list", "/v2/Team/App/tags/list"] {
            assert!(matches!(parse("GET", path), Err(RegistryError::NameInvalid { .. })), "{path}");
        }
    }

    #[test]
    fn parameters_are_checked_where_the_route_reads_them() {
        assert!(matches!(parse("GET", "/v2/a1/tags/list?n=x"), Err(RegistryError::PaginationInvalid(_))));
        assert_eq!(parse("GET", "/v2/a1/tags/list?n=5000").unwrap().page.n, Some(MAX_PAGE));
        assert!(matches!(parse("PUT", "/v2/a1/blobs/uploads/ab"), Err(RegistryError::DigestInvalid { .. })));
        assert!(matches!(
            parse("POST", "/v2/a1/blobs/uploads/?digest=sha256:1"),
            Err(RegistryError::DigestInvalid { .. })
        ));
        assert!(matches!(parse("POST", "/v2/a1/tags/list").unwrap().action(), Err(RegistryError::Unsupported(_))));
    }
}
