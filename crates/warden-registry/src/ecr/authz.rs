//! Maps an ECR API call to the checks AWS makes: the operation's `ecr:` action on the repository's
//! ARN (on `*` for GetAuthorizationToken and for DescribeRepositories of every repository), with
//! the repository's policy and tags, `aws:RequestTag/*` and `aws:TagKeys` on tagging calls, and
//! `ecr:TagResource` too when CreateRepository carries tags.
//!
//! The body is decoded once into an [`Input`]; names are validated before anything is read; the
//! repositories the checks need are read in one trip; and the call goes to the handler as an
//! [`EcrCall`] with those rows. Any failure on the way answers `ServerException` (500).

use std::sync::Arc;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use warden_policy::ContextKeyType;
use warden_tower::{Caller, Check, DescribeRequest, Rejection};

use super::call::{parse_tags, repo_name, repo_of_arn, target, EcrCall, MAX_REQUEST_BYTES};
use super::error::{EcrError, Result};
use super::input::{Input, TagInput};
use crate::names::RepoName;
use crate::state::Registry;
use crate::storage::meta::Repository;

/// The most items ECR takes in one list member (`imageIds`, `layerDigests`, `repositoryNames`).
pub const MAX_BATCH: usize = 100;
/// The most tags or tag keys ECR takes in one call.
pub const MAX_TAGS_PER_CALL: usize = 200;

/// Maps ECR API calls to the ECR action and resource AWS checks.
#[derive(Clone)]
pub struct EcrDescriber {
    /// The registry.
    pub registry: Arc<Registry>,
}

/// Refuses a list member longer than ECR takes.
fn bounded<T>(list: Option<&Vec<T>>, member: &str, max: usize) -> Result<()> {
    match list {
        Some(l) if l.len() > max => Err(EcrError::too_many(member, max)),
        _ => Ok(()),
    }
}

/// The limits ECR documents on list members, checked before anything else happens.
fn check_bounds(input: &Input) -> Result<()> {
    match input {
        Input::DescribeImages(i) => bounded(i.image_ids.as_ref(), "imageIds", MAX_BATCH),
        Input::BatchGetImage(i) => {
            bounded(i.image_ids.as_ref(), "imageIds", MAX_BATCH)?;
            bounded(i.accepted_media_types.as_ref(), "acceptedMediaTypes", MAX_BATCH)
        }
        Input::BatchDeleteImage(i) => bounded(i.image_ids.as_ref(), "imageIds", MAX_BATCH),
        Input::BatchCheckLayerAvailability(i) => bounded(i.layer_digests.as_ref(), "layerDigests", MAX_BATCH),
        Input::CompleteLayerUpload(i) => bounded(i.layer_digests.as_ref(), "layerDigests", MAX_BATCH),
        Input::GetLifecyclePolicyPreview(i) => bounded(i.image_ids.as_ref(), "imageIds", MAX_BATCH),
        Input::DescribeRepositories(i) => bounded(i.repository_names.as_ref(), "repositoryNames", MAX_BATCH),
        Input::CreateRepository(i) => bounded(i.tags.as_ref(), "tags", MAX_TAGS_PER_CALL),
        Input::TagResource(i) => bounded(i.tags.as_ref(), "tags", MAX_TAGS_PER_CALL),
        Input::UntagResource(i) => bounded(i.tag_keys.as_ref(), "tagKeys", MAX_TAGS_PER_CALL),
        Input::GetAuthorizationToken(i) => bounded(i.registry_ids.as_ref(), "registryIds", 10),
        _ => Ok(()),
    }
}

impl EcrDescriber {
    async fn describe_call(&self, req: Request<Body>, caller: &Caller) -> Result<(Request<Body>, Vec<Check>)> {
        let reg = &self.registry;
        let op = target(&req)?.to_owned();
        if let Some(name) = Input::operation(&op) {
            crate::access::note_call(caller, name);
        }
        let base = reg.request_context(&req, caller)?;
        let (parts, body) = req.into_parts();
        let input = Input::parse(&op, &read_body(body).await?)?;
        crate::access::note_parameters(|| input.parameters());
        check_bounds(&input)?;
        // The repositories the call names, validated before anything is read.
        let (repo, names): (Option<RepoName>, Vec<RepoName>) = match &input {
            Input::DescribeRepositories(i) => {
                let names = i.repository_names.iter().flatten().map(|n| repo_name(Some(n))).collect::<Result<_>>()?;
                (None, names)
            }
            Input::TagResource(i) => (Some(repo_of_arn(reg, i.resource_arn.as_deref())?), Vec::new()),
            Input::UntagResource(i) => (Some(repo_of_arn(reg, i.resource_arn.as_deref())?), Vec::new()),
            Input::ListTagsForResource(i) => (Some(repo_of_arn(reg, i.resource_arn.as_deref())?), Vec::new()),
            other => match other.target() {
                Some(t) => (Some(repo_name(t.repository_name.as_deref())?), Vec::new()),
                None => (None, Vec::new()),
            },
        };
        // Request tags: CreateRepository and TagResource carry `aws:RequestTag/*` and
        // `aws:TagKeys`; UntagResource carries `aws:TagKeys`.
        let no_tags: &[TagInput] = &[];
        let (request_tags, tag_keys): (Vec<(String, String)>, Vec<String>) = match &input {
            Input::CreateRepository(i) => {
                let t = parse_tags(i.tags.as_deref().unwrap_or(no_tags))?;
                let keys = t.iter().map(|(k, _)| k.clone()).collect();
                (t, keys)
            }
            Input::TagResource(i) => {
                let t = parse_tags(i.tags.as_deref().unwrap_or(no_tags))?;
                let keys = t.iter().map(|(k, _)| k.clone()).collect();
                (t, keys)
            }
            Input::UntagResource(i) => (Vec::new(), i.tag_keys.clone().unwrap_or_default()),
            _ => (Vec::new(), Vec::new()),
        };
        let mut context = base;
        for (k, v) in &request_tags {
            context
                .insert(&format!("aws:RequestTag/{k}"), ContextKeyType::String, &[v.as_str()])
                .map_err(|e| EcrError::from(crate::error::RegistryError::internal("request tags", e)))?;
        }
        if !tag_keys.is_empty() {
            context
                .insert("aws:TagKeys", ContextKeyType::StringList, &tag_keys)
                .map_err(|e| EcrError::from(crate::error::RegistryError::internal("request tags", e)))?;
        }
        // Every repository the checks are about, in one trip.
        let wanted: Vec<RepoName> = repo.iter().cloned().chain(names.iter().cloned()).collect();
        let rows: Vec<Option<Repository>> = reg
            .meta(move |m| wanted.iter().map(|n| m.repository(n.as_str())).collect::<std::result::Result<_, _>>())
            .await?;
        let action: &'static str = action_of(&input);
        let mut checks = Vec::new();
        let mut described = Vec::new();
        match (&repo, &input) {
            (_, Input::GetAuthorizationToken(_)) => checks.push(star(reg, action, context)),
            (None, Input::DescribeRepositories(_)) if names.is_empty() => {
                let mut check = star(reg, action, context);
                check.resource = reg.repository_arn("*");
                checks.push(check);
            }
            _ => {
                for (name, row) in repo.iter().chain(names.iter()).zip(rows) {
                    let check = reg.check(context.clone(), action, name.as_str(), row.as_ref())?;
                    // Tags on creation are authorized as ecr:TagResource too.
                    if matches!(input, Input::CreateRepository(_)) && !request_tags.is_empty() {
                        let mut tagging = check.clone();
                        tagging.action = "ecr:TagResource".into();
                        checks.push(check);
                        checks.push(tagging);
                    } else {
                        checks.push(check);
                    }
                    described.push((name.clone(), row));
                }
            }
        }
        let (repository, listed) = match (&repo, described.is_empty()) {
            (Some(_), false) => (described.into_iter().next().and_then(|(_, r)| r), Vec::new()),
            _ => (None, described),
        };
        let mut req = Request::from_parts(parts, Body::empty());
        req.extensions_mut().insert(EcrCall { input, repo, repository, listed });
        Ok((req, checks))
    }
}

/// The `ecr:` action of a call.
pub(crate) fn action_of(input: &Input) -> &'static str {
    macro_rules! actions {
        ($($op:ident),*) => {
            match input.name() {
                $(stringify!($op) => concat!("ecr:", stringify!($op)),)*
                _ => "ecr:Unknown",
            }
        };
    }
    actions!(
        GetAuthorizationToken,
        CreateRepository,
        DescribeRepositories,
        DeleteRepository,
        PutImageTagMutability,
        PutImageScanningConfiguration,
        SetRepositoryPolicy,
        GetRepositoryPolicy,
        DeleteRepositoryPolicy,
        TagResource,
        UntagResource,
        ListTagsForResource,
        ListImages,
        DescribeImages,
        BatchGetImage,
        PutImage,
        BatchDeleteImage,
        BatchCheckLayerAvailability,
        GetDownloadUrlForLayer,
        InitiateLayerUpload,
        UploadLayerPart,
        CompleteLayerUpload,
        PutLifecyclePolicy,
        GetLifecyclePolicy,
        DeleteLifecyclePolicy,
        StartLifecyclePolicyPreview,
        GetLifecyclePolicyPreview
    )
}

/// A check on resource `*`.
fn star(reg: &Registry, action: &'static str, context: warden_policy::Context) -> Check {
    Check {
        action: action.into(),
        resource: "*".into(),
        resource_account: reg.config.account_id.clone().into(),
        resource_policy: None,
        context,
    }
}

/// Reads a JSON request body of at most [`MAX_REQUEST_BYTES`].
async fn read_body(body: Body) -> Result<bytes::Bytes> {
    Ok(http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                EcrError::invalid(format!("The request body is larger than {MAX_REQUEST_BYTES} bytes"))
            } else {
                EcrError::new("SerializationException", e.to_string())
            }
        })?
        .to_bytes())
}

impl DescribeRequest<Body> for EcrDescriber {
    async fn describe(
        &self,
        req: Request<Body>,
        caller: &Caller,
    ) -> std::result::Result<(Request<Body>, Vec<Check>), Rejection> {
        self.describe_call(req, caller).await.map_err(|e| e.rejection())
    }
}
