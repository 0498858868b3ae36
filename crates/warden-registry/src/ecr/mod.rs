//! The Amazon ECR API: AWS JSON 1.1 on `POST /` with `X-Amz-Target:
//! AmazonEC2ContainerRegistry_V20150921.<Operation>`, SigV4-authenticated, decoded once into a
//! typed [`input::Input`] and authorized by the layer ([`authz::EcrDescriber`]), answering in the
//! shapes and with the exceptions the AWS CLI and SDKs parse. One module per resource.

mod auth;
pub mod authz;
mod call;
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
use serde_json::Value;
use warden_tower::Authorized;

pub use error::EcrError;
use error::Result;
use input::Input;

use crate::names::RepoName;
use crate::state::Registry;

use call::Call;
pub use call::{EcrCall, MAX_PARTS, MAX_REQUEST_BYTES, MAX_RESOURCE_TAGS, MIN_PART_SIZE, PART_SIZE};

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
    // Throttled once authorized, before the operation runs; no caller, no pass.
    let admitted = crate::throttle::Transaction::of_ecr(&call.input, authz::action_of(&call.input), call.repo.as_ref())
        .and_then(|t| crate::throttle::admit(&reg.throttle, authorized.as_ref().map(|a| &a.caller), &t));
    if let Err(e) = admitted {
        return EcrError::from(e).into_response();
    }
    match handle(&reg, &call, &host, authorized.as_ref()).await {
        Ok(v) => {
            crate::access::note_response(|| response_elements(&call.input, &v));
            ok(v)
        }
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

/// `responseElements` of the audit record: the answer of a mutating call; `null` for reads (as
/// CloudTrail records them) and for GetAuthorizationToken, whose answer is a credential.
fn response_elements(input: &Input, answer: &Value) -> Option<Box<serde_json::value::RawValue>> {
    if crate::trail::event::is_read_only(input.name()) {
        None
    } else {
        crate::trail::event::raw(answer)
    }
}

fn ok(v: Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    r
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
