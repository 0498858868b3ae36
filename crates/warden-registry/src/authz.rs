//! Every registry request as the ECR action and repository ARN AWS uses for it:
//!
//! ```text
//! GET/HEAD manifests      ecr:BatchGetImage             PUT manifests       ecr:PutImage
//! HEAD blobs              ecr:BatchCheckLayerAvailability  DELETE manifests  ecr:BatchDeleteImage
//! GET blobs               ecr:GetDownloadUrlForLayer    GET tags/list       ecr:ListImages
//! POST uploads            ecr:InitiateLayerUpload       GET referrers       ecr:BatchGetImage
//!   … with mount=&from=   + ecr:GetDownloadUrlForLayer on the source repository
//! PATCH uploads           ecr:UploadLayerPart           PUT uploads         ecr:CompleteLayerUpload
//! GET/DELETE uploads      ecr:UploadLayerPart           DELETE blobs        ecr:BatchDeleteImage
//! GET /v2/                authentication only           GET _catalog        ecr:DescribeRepositories per repository (filtered)
//! ```
//!
//! The repository's policy and its tags (`aws:ResourceTag/*`, `ecr:ResourceTag/*`) take part in
//! every decision. AWS authorizes before it looks for the repository, so a caller without
//! permission gets DENIED even for a repository that does not exist.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use warden_policy::{Context, ContextKeyType};
use warden_tower::{Caller, Check, DescribeRequest, Rejection};

use crate::route::{self, Route};
use crate::state::Registry;

/// Maps registry requests to checks.
#[derive(Clone)]
pub struct RegistryDescriber {
    /// The registry.
    pub registry: Arc<Registry>,
}

/// The ECR action a request needs on its repository.
pub fn action_of(method: &Method, route: &Route) -> Option<&'static str> {
    Some(match (route, method.as_str()) {
        (Route::Manifest { .. } | Route::Referrers { .. }, "GET" | "HEAD") => "ecr:BatchGetImage",
        (Route::Manifest { .. }, "PUT") => "ecr:PutImage",
        (Route::Manifest { .. } | Route::Blob { .. }, "DELETE") => "ecr:BatchDeleteImage",
        (Route::Blob { .. }, "HEAD") => "ecr:BatchCheckLayerAvailability",
        (Route::Blob { .. }, "GET") => "ecr:GetDownloadUrlForLayer",
        (Route::UploadStart { .. }, "POST") => "ecr:InitiateLayerUpload",
        (Route::Upload { .. }, "PUT") => "ecr:CompleteLayerUpload",
        (Route::Upload { .. }, "PATCH" | "GET" | "DELETE") => "ecr:UploadLayerPart",
        (Route::Tags { .. }, "GET") => "ecr:ListImages",
        _ => return None,
    })
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

impl RegistryDescriber {
    /// The check of `action` on `repo`, with the repository's policy and tags on top of the
    /// request's `context`.
    pub async fn check(&self, mut context: Context, action: &'static str, repo: &str) -> Result<Check, Rejection> {
        let name = repo.to_owned();
        let repository = self
            .registry
            .meta(move |m| m.repository(&name))
            .await
            .map_err(|e| Rejection::new("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR, e.message))?;
        if let Some(r) = &repository {
            for (k, v) in &r.tags {
                for key in [format!("aws:ResourceTag/{k}"), format!("ecr:ResourceTag/{k}")] {
                    let _ = context.insert(&key, ContextKeyType::String, &[v.as_str()]);
                }
            }
        }
        Ok(Check {
            action: action.into(),
            resource: self.registry.repository_arn(repo),
            resource_account: self.registry.config.account_id.clone().into(),
            resource_policy: repository.as_ref().and_then(|r| self.registry.policy_set(r)),
            context,
        })
    }
}

impl DescribeRequest<Body> for RegistryDescriber {
    async fn describe(&self, req: Request<Body>, caller: &Caller) -> Result<(Request<Body>, Vec<Check>), Rejection> {
        let Some(route) = route::parse(req.uri().path()) else {
            return Ok((req, Vec::new()));
        };
        let (Some(action), Some(repo)) = (action_of(req.method(), &route), route.repo().map(str::to_owned)) else {
            // `/v2/`, `_catalog` (filtered per repository by its handler), unknown methods (405).
            return Ok((req, Vec::new()));
        };
        let context = warden_tower::context::request_context(&req, caller, Some(false), &self.registry.config.region)
            .map_err(|e| Rejection::new("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let query = req.uri().query().unwrap_or("").to_owned();
        let mut checks = vec![self.check(context.clone(), action, &repo).await?];
        if let Route::UploadStart { .. } = route {
            if let (Some(_), Some(from)) = (query_param(&query, "mount"), query_param(&query, "from")) {
                if crate::names::valid_repository(from) {
                    checks.push(self.check(context, "ecr:GetDownloadUrlForLayer", from).await?);
                }
            }
        }
        Ok((req, checks))
    }
}
