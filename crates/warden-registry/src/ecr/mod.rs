//! The Amazon ECR API: AWS JSON 1.1 on `POST /` with `X-Amz-Target:
//! AmazonEC2ContainerRegistry_V20150921.<Operation>`, SigV4-authenticated, decoded once into a
//! typed [`input::Input`] and authorized by the layer ([`authz::EcrDescriber`]), answering in the
//! shapes and with the exceptions the AWS CLI and SDKs parse. One module per resource.

mod auth;
pub mod authz;
pub mod error;
mod images;
pub mod input;
mod layers;
mod lifecycle;
mod policies;
mod repositories;
mod tags;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Request};
use serde_json::{json, Value};
use warden_tower::Authorized;

pub use error::EcrError;
use error::Result;
use input::{Input, Paging, TagInput};

use crate::names::RepoName;
use crate::state::Registry;
use crate::storage::meta::Repository;

const TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921.";
/// Most resource tags per repository.
pub const MAX_RESOURCE_TAGS: usize = 50;
/// Layer upload part size ECR asks for.
pub const PART_SIZE: u64 = 10 * 1024 * 1024;
/// The smallest layer part ECR accepts, except for the last part of an upload.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The most parts one layer upload may have.
pub const MAX_PARTS: u64 = 1000;
/// The largest request body accepted: a 10 MiB layer part, base64-encoded, with room to spare.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// An ECR call as the describer decided it, handed to the handler as a request extension: the
/// typed input, the repository it addresses (validated) with the row read for the decision, and
/// for DescribeRepositories by name, each named repository with its row.
#[derive(Debug, Clone)]
pub struct EcrCall {
    /// The operation and its input.
    pub input: Input,
    /// The repository addressed (`repositoryName`, or the one a `resourceArn` names).
    pub repo: Option<RepoName>,
    /// Its row, `None` when it does not exist.
    pub repository: Option<Repository>,
    /// DescribeRepositories by name: the repositories named, with their rows.
    pub listed: Vec<(RepoName, Option<Repository>)>,
}

/// What a handler works with.
pub(crate) struct Call<'a> {
    pub(crate) reg: &'a Registry,
    pub(crate) host: &'a str,
    pub(crate) authorized: Option<&'a Authorized>,
    pub(crate) repo: Option<&'a RepoName>,
    pub(crate) repository: Option<&'a Repository>,
}

impl Call<'_> {
    /// The repository addressed, or RepositoryNotFoundException.
    pub(crate) fn repository(&self) -> Result<&Repository> {
        match (self.repository, self.repo) {
            (Some(r), _) => Ok(r),
            (None, Some(name)) => Err(self.reg.name_unknown(name.as_str()).into()),
            (None, None) => Err(EcrError::missing("repositoryName")),
        }
    }

    /// The registry id of the answers.
    pub(crate) fn registry_id(&self) -> &str {
        &self.reg.config.account_id
    }
}

/// The `POST /` entry point.
pub async fn api(State(reg): State<Arc<Registry>>, mut req: Request<Body>) -> Response {
    let Some(call) = req.extensions_mut().remove::<EcrCall>() else {
        return EcrError::from(crate::error::RegistryError::internal(
            "registry",
            "an ECR call reached its handler without its description",
        ))
        .into_response();
    };
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let authorized = req.extensions().get::<Authorized>().cloned();
    match handle(&reg, &call, &host, authorized.as_ref()).await {
        Ok(v) => ok(v),
        Err(e) => e.into_response(),
    }
}

async fn handle(reg: &Registry, call: &EcrCall, host: &str, authorized: Option<&Authorized>) -> Result<Value> {
    let c = Call { reg, host, authorized, repo: call.repo.as_ref(), repository: call.repository.as_ref() };
    if let Some(id) = call.input.target().and_then(|t| t.registry_id.as_deref()) {
        check_registry(reg, id, call.repo.as_ref())?;
    }
    match &call.input {
        Input::GetAuthorizationToken(i) => auth::get_authorization_token(&c, i),
        Input::CreateRepository(i) => repositories::create(&c, i).await,
        Input::DescribeRepositories(i) => repositories::describe(&c, i, &call.listed).await,
        Input::DeleteRepository(i) => repositories::delete(&c, i).await,
        Input::PutImageTagMutability(i) => repositories::put_tag_mutability(&c, i).await,
        Input::PutImageScanningConfiguration(i) => repositories::put_scanning_configuration(&c, i).await,
        Input::SetRepositoryPolicy(i) => policies::set(&c, i).await,
        Input::GetRepositoryPolicy(_) => policies::get(&c),
        Input::DeleteRepositoryPolicy(_) => policies::delete(&c).await,
        Input::TagResource(i) => tags::tag(&c, i).await,
        Input::UntagResource(i) => tags::untag(&c, i).await,
        Input::ListTagsForResource(_) => tags::list(&c),
        Input::ListImages(i) => images::list(&c, i).await,
        Input::DescribeImages(i) => images::describe(&c, i).await,
        Input::BatchGetImage(i) => images::batch_get(&c, i).await,
        Input::PutImage(i) => images::put(&c, i).await,
        Input::BatchDeleteImage(i) => images::batch_delete(&c, i).await,
        Input::BatchCheckLayerAvailability(i) => layers::check(&c, i).await,
        Input::GetDownloadUrlForLayer(i) => layers::download_url(&c, i).await,
        Input::InitiateLayerUpload(_) => layers::initiate(&c).await,
        Input::UploadLayerPart(i) => layers::upload_part(&c, i).await,
        Input::CompleteLayerUpload(i) => layers::complete(&c, i).await,
        Input::PutLifecyclePolicy(i) => lifecycle::put(&c, i).await,
        Input::GetLifecyclePolicy(_) => lifecycle::get(&c).await,
        Input::DeleteLifecyclePolicy(_) => lifecycle::delete(&c).await,
        Input::StartLifecyclePolicyPreview(i) => lifecycle::start_preview(&c, i).await,
        Input::GetLifecyclePolicyPreview(i) => lifecycle::get_preview(&c, i).await,
    }
}

fn ok(v: Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    r
}

/// The operation named by `X-Amz-Target`.
pub(crate) fn target<B>(req: &Request<B>) -> Result<&str> {
    req.headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .ok_or_else(|| EcrError::new("UnknownOperationException", "missing or unknown X-Amz-Target"))
}

/// A registry id other than this registry's: the repository is not found there.
fn check_registry(reg: &Registry, id: &str, repo: Option<&RepoName>) -> Result<()> {
    if id == reg.config.account_id {
        return Ok(());
    }
    let name = repo.map(RepoName::as_str).unwrap_or("");
    Err(EcrError::new(
        "RepositoryNotFoundException",
        format!(
            "The repository with name '{name}' does not exist in the registry with id '{}'",
            id.chars().take(64).collect::<String>()
        ),
    ))
}

/// A required member.
pub(crate) fn required<'a, T: ?Sized>(value: Option<&'a T>, member: &str) -> Result<&'a T> {
    value.ok_or_else(|| EcrError::missing(member))
}

/// A `repositoryName`, required and valid.
pub(crate) fn repo_name(name: Option<&str>) -> Result<RepoName> {
    RepoName::parse(required(name, "repositoryName")?).map_err(|_| {
        EcrError::invalid(String::from(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''",
        ))
    })
}

/// The repository a `resourceArn` names.
pub(crate) fn repo_of_arn(reg: &Registry, arn: Option<&str>) -> Result<RepoName> {
    let arn = required(arn, "resourceArn")?;
    let prefix = reg.repository_arn("");
    arn.strip_prefix(&prefix).and_then(|name| RepoName::parse(name).ok()).ok_or_else(|| {
        EcrError::invalid(format!(
            "Invalid parameter at 'resourceArn' failed to satisfy constraint: '{} is not a repository of this registry'",
            arn.chars().take(300).collect::<String>()
        ))
    })
}

/// `tags: [{Key, Value}]` validated as ECR validates them.
pub(crate) fn parse_tags(list: &[TagInput]) -> Result<Vec<(String, String)>> {
    let bad = |m: String| EcrError::new("InvalidTagParameterException", m);
    let mut out: Vec<(String, String)> = Vec::new();
    for t in list {
        let key = t.key.as_deref().ok_or_else(|| bad("Tag keys must not be empty".into()))?;
        let value = t.value.as_deref().unwrap_or("");
        if key.is_empty() || key.chars().count() > 128 {
            return Err(bad(format!("Tag key '{key}' must be 1 to 128 Unicode characters long")));
        }
        if value.chars().count() > 256 {
            return Err(bad(format!("Tag value for key '{key}' must be at most 256 Unicode characters long")));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad(format!("Tag key '{key}' uses the reserved prefix 'aws:'")));
        }
        out.retain(|(k, _)| k != key);
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// `existing` with `new` set on top, within [`MAX_RESOURCE_TAGS`].
pub(crate) fn merge_tags(existing: &[(String, String)], new: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let mut tags = existing.to_vec();
    for (k, v) in new {
        match tags.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.clone(),
            None => tags.push((k.clone(), v.clone())),
        }
    }
    if tags.len() > MAX_RESOURCE_TAGS {
        return Err(EcrError::new(
            "TooManyTagsException",
            format!("A repository may have at most {MAX_RESOURCE_TAGS} tags"),
        ));
    }
    Ok(tags)
}

/// `maxResults` / `nextToken` pagination (the token is the offset): the start and page size.
pub(crate) fn page_bounds(paging: &Paging) -> Result<(usize, usize)> {
    let start: usize = match &paging.next_token {
        Some(t) => {
            t.parse().map_err(|_| EcrError::invalid("Invalid parameter at 'nextToken': the token is not valid"))?
        }
        None => 0,
    };
    let max = paging.max_results.map_or(100, |m| usize::try_from(m).unwrap_or(usize::MAX));
    if max == 0 || max > 1000 {
        return Err(EcrError::invalid(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'",
        ));
    }
    Ok((start, max))
}

/// One page of `items`, and the token of the next.
pub(crate) fn page<T>(items: Vec<T>, paging: &Paging) -> Result<(Vec<T>, Option<String>)> {
    let (start, max) = page_bounds(paging)?;
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = (start + page.len() < total).then(|| (start + page.len()).to_string());
    Ok((page, next))
}

/// Sets a field on a JSON object (no-op on anything else).
pub(crate) fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(object) = target.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}

/// `{"<key>": items, "nextToken": …}`.
pub(crate) fn paged(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut v = json!({ key: items });
    if let Some(t) = next {
        set(&mut v, "nextToken", json!(t));
    }
    v
}
