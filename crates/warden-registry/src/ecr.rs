//! The Amazon ECR API: AWS JSON 1.1 on `POST /` with `X-Amz-Target:
//! AmazonEC2ContainerRegistry_V20150921.<Operation>`, SigV4-authenticated and authorized by the
//! layer (see [`EcrDescriber`]), answering in the shapes and with the exceptions the AWS CLI and
//! SDKs parse.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{header, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use warden_policy::ContextKeyType;
use warden_tower::{Authorized, Caller, Check, DescribeRequest, Rejection};

use crate::error::OciError;
use crate::manifest;
use crate::names::{self, parse_digest};
use crate::oci::{self, store_manifest};
use crate::state::{now, Registry};
use crate::storage::blobs::random_id;
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

/// An ECR exception: `{"__type": …, "message": …}` with HTTP 400 (500 for ServerException).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrError {
    /// Exception name.
    pub code: &'static str,
    /// Message, in ECR's words.
    pub message: String,
}

impl EcrError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> EcrError {
        EcrError { code, message: message.into() }
    }
    pub(crate) fn invalid(message: impl Into<String>) -> EcrError {
        EcrError::new("InvalidParameterException", message)
    }
}

impl IntoResponse for EcrError {
    fn into_response(self) -> Response {
        let status =
            if self.code == "ServerException" { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::BAD_REQUEST };
        warden_tower::deny::json_error(status, self.code, &self.message, None)
    }
}

impl From<OciError> for EcrError {
    fn from(e: OciError) -> EcrError {
        match e.code {
            "NAME_UNKNOWN" => EcrError::new("RepositoryNotFoundException", e.message),
            "DENIED" => EcrError::new("LimitExceededException", e.message),
            "NAME_INVALID" | "MANIFEST_INVALID" | "DIGEST_INVALID" | "SIZE_INVALID" | "POLICY_INVALID" => {
                EcrError::invalid(e.message)
            }
            "MANIFEST_BLOB_UNKNOWN" => {
                EcrError::new("LayersNotFoundException", "The specified layers could not be found")
            }
            "TAG_INVALID" if e.message.contains("immutable") => {
                EcrError::new("ImageTagAlreadyExistsException", e.message)
            }
            "TAG_INVALID" => EcrError::new("LimitExceededException", e.message),
            _ => EcrError::new("ServerException", e.message),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, EcrError>;

fn ok(v: Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    r
}

pub(crate) fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str> {
    v.get(name).and_then(Value::as_str).ok_or_else(|| {
        EcrError::invalid(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

pub(crate) fn repo_name(v: &Value) -> Result<&str> {
    let name = str_field(v, "repositoryName")?;
    if !names::valid_repository(name) {
        return Err(EcrError::invalid(String::from(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"
        )));
    }
    Ok(name)
}

/// The `POST /` entry point.
pub async fn api(State(reg): State<Arc<Registry>>, req: Request<Body>) -> Response {
    match handle(&reg, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(reg: &Arc<Registry>, req: Request<Body>) -> Result<Response> {
    let op =
        target(&req).ok_or_else(|| EcrError::new("UnknownOperationException", "missing or unknown X-Amz-Target"))?;
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let authorized = req.extensions().get::<Authorized>().cloned();
    let caller = authorized.as_ref().map(|a| a.caller.principal.arn().to_owned());
    // The authorization layer parsed the body already; an unguarded router parses it here.
    let input = match req.extensions().get::<ParsedInput>() {
        Some(parsed) => Arc::clone(&parsed.0),
        None => Arc::new(read_input(req.into_body()).await?),
    };
    check_registry(reg, &input)?;
    let out = match op.as_str() {
        "GetAuthorizationToken" => get_authorization_token(reg, &input, &host, caller.as_deref()).await?,
        "CreateRepository" => create_repository(reg, &input, &host).await?,
        "DescribeRepositories" => describe_repositories(reg, &input, &host).await?,
        "DeleteRepository" => delete_repository(reg, &input, &host).await?,
        "PutImageTagMutability" => put_image_tag_mutability(reg, &input).await?,
        "PutLifecyclePolicy" => crate::lifecycle::put(reg, &input).await?,
        "GetLifecyclePolicy" => crate::lifecycle::get(reg, &input).await?,
        "DeleteLifecyclePolicy" => crate::lifecycle::delete(reg, &input).await?,
        "StartLifecyclePolicyPreview" => crate::lifecycle::start_preview(reg, &input).await?,
        "GetLifecyclePolicyPreview" => crate::lifecycle::get_preview(reg, &input).await?,
        "PutImageScanningConfiguration" => put_image_scanning_configuration(reg, &input).await?,
        "SetRepositoryPolicy" => set_repository_policy(reg, &input, authorized.as_ref()).await?,
        "GetRepositoryPolicy" => get_repository_policy(reg, &input).await?,
        "DeleteRepositoryPolicy" => delete_repository_policy(reg, &input).await?,
        "TagResource" => tag_resource(reg, &input).await?,
        "UntagResource" => untag_resource(reg, &input).await?,
        "ListTagsForResource" => list_tags(reg, &input).await?,
        "ListImages" => list_images(reg, &input).await?,
        "DescribeImages" => describe_images(reg, &input).await?,
        "BatchGetImage" => batch_get_image(reg, &input).await?,
        "PutImage" => put_image(reg, &input).await?,
        "BatchDeleteImage" => batch_delete_image(reg, &input).await?,
        "BatchCheckLayerAvailability" => batch_check_layers(reg, &input).await?,
        "GetDownloadUrlForLayer" => get_download_url(reg, &input, &host).await?,
        "InitiateLayerUpload" => initiate_upload(reg, &input).await?,
        "UploadLayerPart" => upload_part(reg, &input).await?,
        "CompleteLayerUpload" => complete_upload(reg, &input).await?,
        other => {
            return Err(EcrError::new(
                "UnknownOperationException",
                format!("{other} is not supported by this registry"),
            ))
        }
    };
    Ok(ok(out))
}

fn target<B>(req: &Request<B>) -> Option<String> {
    req.headers().get("x-amz-target")?.to_str().ok()?.strip_prefix(TARGET_PREFIX).map(str::to_owned)
}

fn check_registry(reg: &Registry, input: &Value) -> Result<()> {
    match input.get("registryId").and_then(Value::as_str) {
        Some(id) if id != reg.config.account_id => {
            let name = input.get("repositoryName").and_then(Value::as_str).unwrap_or("");
            Err(EcrError::new(
                "RepositoryNotFoundException",
                format!("The repository with name '{name}' does not exist in the registry with id '{id}'"),
            ))
        }
        _ => Ok(()),
    }
}

pub(crate) async fn repository(reg: &Registry, name: &str) -> Result<Repository> {
    Ok(reg.repository(name).await?)
}

fn repository_json(reg: &Registry, r: &Repository, host: &str) -> Value {
    json!({
        "repositoryArn": reg.repository_arn(&r.name),
        "registryId": reg.config.account_id,
        "repositoryName": r.name,
        "repositoryUri": format!("{host}/{}", r.name),
        "createdAt": r.created_at,
        "imageTagMutability": r.tag_mutability,
        "imageScanningConfiguration": {"scanOnPush": r.scan_on_push},
        "encryptionConfiguration": {"encryptionType": "AES256"},
    })
}

async fn get_authorization_token(
    reg: &Arc<Registry>,
    input: &Value,
    host: &str,
    caller: Option<&str>,
) -> Result<Value> {
    // The token names the principal whose signature the layer verified.
    let principal = caller.ok_or_else(|| EcrError::new("ServerException", "the caller is unknown"))?;
    let registries: Vec<String> = match input.get("registryIds").and_then(Value::as_array) {
        Some(ids) if !ids.is_empty() => ids.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec![reg.config.account_id.clone()],
    };
    let mut data = Vec::new();
    for id in registries {
        if id != reg.config.account_id {
            return Err(EcrError::invalid(format!(
                "Invalid parameter at 'registryIds' failed to satisfy constraint: 'registry {id} is not served here'"
            )));
        }
        let (token, expires) = reg.issuer.authorization_token(principal, std::time::SystemTime::now());
        let expires_at = expires.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        data.push(
            json!({"authorizationToken": token, "expiresAt": expires_at, "proxyEndpoint": format!("http://{host}")}),
        );
    }
    Ok(json!({"authorizationData": data}))
}

/// `tags: [{Key, Value}]` validated as ECR validates them.
fn parse_tags(v: Option<&Value>) -> Result<Vec<(String, String)>> {
    let Some(list) = v else { return Ok(Vec::new()) };
    let list = list
        .as_array()
        .ok_or_else(|| EcrError::new("InvalidTagParameterException", "tags must be a list of {Key, Value}"))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for t in list {
        let key = t
            .get("Key")
            .and_then(Value::as_str)
            .ok_or_else(|| EcrError::new("InvalidTagParameterException", "Tag keys must not be empty"))?;
        let value = t.get("Value").and_then(Value::as_str).unwrap_or("");
        if key.is_empty() || key.chars().count() > 128 {
            return Err(EcrError::new(
                "InvalidTagParameterException",
                format!("Tag key '{key}' must be 1 to 128 Unicode characters long"),
            ));
        }
        if value.chars().count() > 256 {
            return Err(EcrError::new(
                "InvalidTagParameterException",
                format!("Tag value for key '{key}' must be at most 256 Unicode characters long"),
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(EcrError::new(
                "InvalidTagParameterException",
                format!("Tag key '{key}' uses the reserved prefix 'aws:'"),
            ));
        }
        out.retain(|(k, _)| k != key);
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn merge_tags(existing: &[(String, String)], new: &[(String, String)]) -> Result<Vec<(String, String)>> {
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

/// `imageScanningConfiguration.scanOnPush`, if given.
fn scan_on_push(input: &Value) -> Result<Option<bool>> {
    match input.get("imageScanningConfiguration").map(|c| c.get("scanOnPush")) {
        None | Some(None) => Ok(None),
        Some(Some(Value::Bool(on))) => Ok(Some(*on)),
        Some(Some(_)) => {
            Err(EcrError::invalid("Invalid parameter at 'imageScanningConfiguration.scanOnPush': must be a boolean"))
        }
    }
}

/// PutImageScanningConfiguration: the setting is stored and reported; no scanner runs here.
async fn put_image_scanning_configuration(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let on =
        scan_on_push(input)?.ok_or_else(|| EcrError::invalid("imageScanningConfiguration.scanOnPush is required"))?;
    let n = name.to_owned();
    reg.meta(move |m| m.set_scan_on_push(&n, on)).await?;
    Ok(
        json!({"registryId": reg.config.account_id, "repositoryName": name, "imageScanningConfiguration": {"scanOnPush": on}}),
    )
}

async fn create_repository(reg: &Arc<Registry>, input: &Value, host: &str) -> Result<Value> {
    let name = repo_name(input)?;
    scan_on_push(input)?;
    // Tags are checked before anything is created: an invalid tag creates nothing.
    let tags = merge_tags(&[], &parse_tags(input.get("tags"))?)?;
    let mutability = input.get("imageTagMutability").and_then(Value::as_str).unwrap_or("MUTABLE");
    if mutability != "MUTABLE" && mutability != "IMMUTABLE" {
        return Err(EcrError::invalid(String::from("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")));
    }
    let limit = reg.config.limits.repositories;
    if reg.meta(|m| m.repository_count()).await? >= limit {
        return Err(EcrError::new(
            "LimitExceededException",
            format!("The maximum number of repositories ({limit}) has been reached"),
        ));
    }
    let (n, m, t) = (name.to_owned(), mutability.to_owned(), now());
    if !reg.meta(move |meta| meta.create_repository(&n, &tags, &m, t)).await? {
        return Err(EcrError::new(
            "RepositoryAlreadyExistsException",
            format!(
                "The repository with name '{name}' already exists in the registry with id '{}'",
                reg.config.account_id
            ),
        ));
    }
    if let Some(scan) = scan_on_push(input)? {
        let n = name.to_owned();
        reg.meta(move |m| m.set_scan_on_push(&n, scan)).await?;
    }
    let r = repository(reg, name).await?;
    Ok(json!({"repository": repository_json(reg, &r, host)}))
}

async fn describe_repositories(reg: &Arc<Registry>, input: &Value, host: &str) -> Result<Value> {
    let names: Vec<String> = match input.get("repositoryNames").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        None => reg.meta(|m| m.repositories()).await?,
    };
    let mut out = Vec::new();
    for n in &names {
        out.push(repository_json(reg, &repository(reg, n).await?, host));
    }
    let (page, next) = page(out, input)?;
    let mut v = json!({"repositories": page});
    if let Some(t) = next {
        set(&mut v, "nextToken", json!(t));
    }
    Ok(v)
}

/// `maxResults` / `nextToken` pagination (the token is the offset).
pub(crate) fn page(items: Vec<Value>, input: &Value) -> Result<(Vec<Value>, Option<String>)> {
    let start: usize = match input.get("nextToken").and_then(Value::as_str) {
        Some(t) => {
            t.parse().map_err(|_| EcrError::invalid("Invalid parameter at 'nextToken': the token is not valid"))?
        }
        None => 0,
    };
    let max = input.get("maxResults").and_then(Value::as_u64).map_or(100, |m| usize::try_from(m).unwrap_or(100));
    if max == 0 || max > 1000 {
        return Err(EcrError::invalid("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'"));
    }
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let next = (start + page.len() < total).then(|| (start + page.len()).to_string());
    Ok((page, next))
}

async fn delete_repository(reg: &Arc<Registry>, input: &Value, host: &str) -> Result<Value> {
    let name = repo_name(input)?;
    let r = repository(reg, name).await?;
    let force = input.get("force").and_then(Value::as_bool).unwrap_or(false);
    let n = name.to_owned();
    if !force && reg.meta(move |m| m.image_count(&n)).await? > 0 {
        return Err(EcrError::new(
            "RepositoryNotEmptyException",
            format!("The repository with name '{name}' in registry with id '{}' cannot be deleted because it still contains images", reg.config.account_id),
        ));
    }
    let n = name.to_owned();
    let blobs: Vec<String> = reg
        .meta(move |m| m.images(&n))
        .await?
        .into_iter()
        .flat_map(|(m, _)| {
            manifest::parse(&m.body, Some(&m.media_type))
                .map(|p| p.blobs.into_iter().map(|(d, _)| d).collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    let n = name.to_owned();
    reg.meta(move |m| m.delete_repository(&n)).await?;
    for b in blobs {
        oci::collect_garbage(reg, &b).await;
    }
    Ok(json!({"repository": repository_json(reg, &r, host)}))
}

async fn put_image_tag_mutability(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let m = str_field(input, "imageTagMutability")?;
    if m != "MUTABLE" && m != "IMMUTABLE" {
        return Err(EcrError::invalid("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'"));
    }
    let (n, v) = (name.to_owned(), m.to_owned());
    reg.meta(move |meta| meta.set_tag_mutability(&n, &v)).await?;
    Ok(json!({"registryId": reg.config.account_id, "repositoryName": name, "imageTagMutability": m}))
}

async fn set_repository_policy(reg: &Arc<Registry>, input: &Value, authorized: Option<&Authorized>) -> Result<Value> {
    let name = repo_name(input)?;
    let text = str_field(input, "policyText")?;
    let force = input.get("force").and_then(Value::as_bool).unwrap_or(false);
    if let (false, Some(authorized)) = (force, authorized) {
        refuse_lockout(name, text, authorized)?;
    }
    reg.set_repository_policy(name, Some(text.to_owned())).await.map_err(|e| match e.code {
        "POLICY_INVALID" => EcrError::invalid(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
        ),
        _ => EcrError::from(e),
    })?;
    Ok(json!({"registryId": reg.config.account_id, "repositoryName": name, "policyText": text}))
}

/// Without `force`, ECR refuses a repository policy that would stop the caller from setting the
/// next one: the caller's own `ecr:SetRepositoryPolicy` check is evaluated again under the new text.
fn refuse_lockout(name: &str, text: &str, authorized: &Authorized) -> Result<()> {
    let Ok(compiled) = warden_policy::CompiledPolicy::compile(text, warden_policy::PolicyKind::Repository, name) else {
        return Ok(()); // invalid text is reported by validation, with ECR's message
    };
    let new_policy = warden_policy::PolicySet::from(compiled);
    for check in authorized.checks.iter().filter(|c| c.action == "ecr:SetRepositoryPolicy") {
        let decision = warden_tower::evaluate_check(&authorized.caller, check, Some(&new_policy));
        if decision.outcome != warden_policy::Outcome::Allowed {
            return Err(EcrError::invalid(
                "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'The repository policy would prevent you from setting another policy in the future; set force to apply it anyway'",
            ));
        }
    }
    Ok(())
}

fn policy_not_found(reg: &Registry, name: &str) -> EcrError {
    EcrError::new(
        "RepositoryPolicyNotFoundException",
        format!(
            "Repository policy does not exist for the repository with name '{name}' in the registry with id '{}'",
            reg.config.account_id
        ),
    )
}

async fn get_repository_policy(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    let r = repository(reg, name).await?;
    let text = r.policy.ok_or_else(|| policy_not_found(reg, name))?;
    Ok(json!({"registryId": reg.config.account_id, "repositoryName": name, "policyText": text}))
}

async fn delete_repository_policy(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    let r = repository(reg, name).await?;
    let text = r.policy.ok_or_else(|| policy_not_found(reg, name))?;
    reg.set_repository_policy(name, None).await?;
    Ok(json!({"registryId": reg.config.account_id, "repositoryName": name, "policyText": text}))
}

/// The repository a `resourceArn` names.
fn repo_of_arn(reg: &Registry, arn: &str) -> Result<String> {
    arn.strip_prefix(&format!("arn:aws:ecr:{}:{}:repository/", reg.config.region, reg.config.account_id))
        .map(str::to_owned)
        .ok_or_else(|| EcrError::invalid(format!("Invalid parameter at 'resourceArn' failed to satisfy constraint: '{arn} is not a repository of this registry'")))
}

async fn tag_resource(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_of_arn(reg, str_field(input, "resourceArn")?)?;
    let r = repository(reg, &name).await?;
    let tags = merge_tags(&r.tags, &parse_tags(input.get("tags"))?)?;
    reg.meta(move |m| m.set_repository_tags(&name, &tags)).await?;
    Ok(json!({}))
}

async fn untag_resource(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_of_arn(reg, str_field(input, "resourceArn")?)?;
    let r = repository(reg, &name).await?;
    let keys: Vec<&str> = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let tags: Vec<(String, String)> = r.tags.into_iter().filter(|(k, _)| !keys.contains(&k.as_str())).collect();
    reg.meta(move |m| m.set_repository_tags(&name, &tags)).await?;
    Ok(json!({}))
}

async fn list_tags(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_of_arn(reg, str_field(input, "resourceArn")?)?;
    let r = repository(reg, &name).await?;
    let tags: Vec<Value> = r.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    Ok(json!({"tags": tags}))
}

/// Images of a repository with their tags and sizes.
/// An image of a repository as the ECR API reports it.
pub(crate) struct Image {
    pub(crate) digest: String,
    pub(crate) tags: Vec<String>,
    media_type: String,
    artifact_type: Option<String>,
    pub(crate) pushed_at: i64,
    size: u64,
    body: Vec<u8>,
}

pub(crate) async fn images(reg: &Arc<Registry>, name: &str) -> Result<Vec<Image>> {
    let n = name.to_owned();
    let all = reg.meta(move |m| m.images(&n)).await?;
    let n = name.to_owned();
    let tags = reg.meta(move |m| m.all_tags(&n)).await?;
    let mut out = Vec::with_capacity(all.len());
    for (m, pushed_at) in all {
        let parsed = manifest::parse(&m.body, Some(&m.media_type)).ok();
        // ECR reports the compressed size of the layers.
        let size = parsed.as_ref().map_or(0, |p| p.blobs.iter().skip(1).filter_map(|(_, s)| *s).sum());
        out.push(Image {
            tags: tags.iter().filter(|(_, d)| *d == m.digest).map(|(t, _)| t.clone()).collect(),
            digest: m.digest,
            media_type: m.media_type,
            artifact_type: m.artifact_type,
            pushed_at,
            size,
            body: m.body,
        });
    }
    Ok(out)
}

fn tag_status_filter(input: &Value) -> Result<&str> {
    let status = input.get("filter").and_then(|f| f.get("tagStatus")).and_then(Value::as_str).unwrap_or("ANY");
    match status {
        "TAGGED" | "UNTAGGED" | "ANY" => Ok(status),
        _ => Err(EcrError::invalid("Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")),
    }
}

async fn list_images(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let status = tag_status_filter(input)?;
    let mut ids = Vec::new();
    for img in images(reg, name).await? {
        if img.tags.is_empty() {
            if status != "TAGGED" {
                ids.push(json!({"imageDigest": img.digest}));
            }
        } else if status != "UNTAGGED" {
            for t in &img.tags {
                ids.push(json!({"imageDigest": img.digest, "imageTag": t}));
            }
        }
    }
    let (page, next) = page(ids, input)?;
    let mut v = json!({"imageIds": page});
    if let Some(t) = next {
        set(&mut v, "nextToken", json!(t));
    }
    Ok(v)
}

/// The images `imageIds` name (by digest or tag); the ids that match nothing as failures.
fn select<'a>(all: &'a [Image], ids: &[Value]) -> (Vec<(&'a Image, Value)>, Vec<Value>) {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        let digest = id.get("imageDigest").and_then(Value::as_str);
        let tag = id.get("imageTag").and_then(Value::as_str);
        let hit = all
            .iter()
            .find(|img| digest.is_none_or(|d| img.digest == d) && tag.is_none_or(|t| img.tags.iter().any(|x| x == t)));
        match (hit, digest, tag) {
            (Some(img), _, _) => found.push((img, id.clone())),
            (None, Some(d), Some(t)) if all.iter().any(|i| i.digest == d) || all.iter().any(|i| i.tags.iter().any(|x| x == t)) => {
                failures.push(json!({"imageId": id, "failureCode": "ImageTagDoesNotMatchDigest", "failureReason": "Invalid tag and digest pair"}))
            }
            (None, Some(d), _) if parse_digest(d).is_none() => {
                failures.push(json!({"imageId": id, "failureCode": "InvalidImageDigest", "failureReason": "Invalid image digest"}))
            }
            _ => failures.push(json!({"imageId": id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"})),
        }
    }
    (found, failures)
}

async fn describe_images(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let status = tag_status_filter(input)?;
    let all = images(reg, name).await?;
    let chosen: Vec<&Image> = match input.get("imageIds").and_then(Value::as_array) {
        Some(ids) => {
            let (found, failures) = select(&all, ids);
            if let Some(f) = failures.first() {
                return Err(EcrError::new(
                    "ImageNotFoundException",
                    format!("The image with imageId {} does not exist within the repository with name '{name}' in the registry with id '{}'", f["imageId"], reg.config.account_id),
                ));
            }
            found.into_iter().map(|(i, _)| i).collect()
        }
        None => all
            .iter()
            .filter(|i| match status {
                "TAGGED" => !i.tags.is_empty(),
                "UNTAGGED" => i.tags.is_empty(),
                _ => true,
            })
            .collect(),
    };
    let details: Vec<Value> = chosen
        .iter()
        .map(|i| {
            let mut d = json!({
                "registryId": reg.config.account_id, "repositoryName": name, "imageDigest": i.digest,
                "imageSizeInBytes": i.size, "imagePushedAt": i.pushed_at, "imageManifestMediaType": i.media_type,
            });
            if !i.tags.is_empty() {
                set(&mut d, "imageTags", json!(i.tags));
            }
            if let Some(a) = &i.artifact_type {
                set(&mut d, "artifactMediaType", json!(a));
            } else if let Ok(v) = serde_json::from_slice::<Value>(&i.body) {
                if let Some(t) = v.get("config").and_then(|c| c.get("mediaType")) {
                    set(&mut d, "artifactMediaType", t.clone());
                }
            }
            d
        })
        .collect();
    let (page, next) = page(details, input)?;
    let mut v = json!({"imageDetails": page});
    if let Some(t) = next {
        set(&mut v, "nextToken", json!(t));
    }
    Ok(v)
}

async fn batch_get_image(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let ids = input.get("imageIds").and_then(Value::as_array).cloned().unwrap_or_default();
    let accepted: Vec<String> = input
        .get("acceptedMediaTypes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let all = images(reg, name).await?;
    let (found, mut failures) = select(&all, &ids);
    let mut out = Vec::new();
    for (img, id) in found {
        let (mut media_type, mut body) = (img.media_type.clone(), img.body.clone());
        if !manifest::accepts(&accepted, &media_type) {
            let to_oci = media_type == manifest::DOCKER_V2 || media_type == manifest::DOCKER_LIST;
            match manifest::translate(&body, to_oci).filter(|(t, _)| manifest::accepts(&accepted, t)) {
                Some((t, b)) => (media_type, body) = (t, b),
                None => {
                    failures.push(json!({"imageId": id, "failureCode": "UnsupportedImageType", "failureReason": "The image's manifest type is not among the accepted media types"}));
                    continue;
                }
            }
        }
        let mut image_id = json!({"imageDigest": img.digest});
        if let Some(t) = id.get("imageTag") {
            set(&mut image_id, "imageTag", t.clone());
        }
        out.push(json!({
            "registryId": reg.config.account_id, "repositoryName": name, "imageId": image_id,
            "imageManifest": String::from_utf8_lossy(&body), "imageManifestMediaType": media_type,
        }));
    }
    Ok(json!({"images": out, "failures": failures}))
}

async fn put_image(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    let r = repository(reg, name).await?;
    let body = str_field(input, "imageManifest")?.as_bytes().to_vec();
    let media_type = input.get("imageManifestMediaType").and_then(Value::as_str);
    let tag = input.get("imageTag").and_then(Value::as_str);
    if let Some(t) = tag.filter(|t| !names::valid_tag(t)) {
        return Err(EcrError::invalid(format!(
            "Invalid parameter at 'imageTag' failed to satisfy constraint: '{t} is not a valid tag'"
        )));
    }
    let stored = store_manifest(reg, &r, &body, media_type, tag, input.get("imageDigest").and_then(Value::as_str))
        .await
        .map_err(|e| match e.code {
            "DIGEST_INVALID" if e.message.starts_with("manifest digest is") => EcrError::new(
                "ImageDigestDoesNotMatchException",
                "The specified image digest does not match the digest that Amazon ECR calculated for the image.",
            ),
            _ => EcrError::from(e),
        })?;
    if !stored.changed {
        return Err(EcrError::new(
            "ImageAlreadyExistsException",
            format!(
                "Image with digest '{}' and tag '{}' already exists in the repository with name '{name}' in registry with id '{}'",
                stored.digest,
                tag.unwrap_or(""),
                reg.config.account_id
            ),
        ));
    }
    let mut image_id = json!({"imageDigest": stored.digest});
    if let Some(t) = tag {
        set(&mut image_id, "imageTag", json!(t));
    }
    Ok(json!({"image": {
        "registryId": reg.config.account_id, "repositoryName": name, "imageId": image_id,
        "imageManifest": String::from_utf8_lossy(&body), "imageManifestMediaType": stored.parsed.media_type,
    }}))
}

async fn batch_delete_image(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let ids = input.get("imageIds").and_then(Value::as_array).cloned().unwrap_or_default();
    let all = images(reg, name).await?;
    let (found, failures) = select(&all, &ids);
    let mut deleted = Vec::new();
    for (img, id) in found {
        match id.get("imageTag").and_then(Value::as_str) {
            // Deleting an image's last tag deletes the image.
            Some(tag) if img.tags.len() > 1 && id.get("imageDigest").is_none() => {
                let (n, t) = (name.to_owned(), tag.to_owned());
                reg.meta(move |m| m.untag(&n, &t)).await?;
            }
            _ => delete_image(reg, name, &img.digest).await?,
        }
        let mut out = json!({"imageDigest": img.digest});
        if let Some(t) = id.get("imageTag") {
            set(&mut out, "imageTag", t.clone());
        }
        deleted.push(out);
    }
    Ok(json!({"imageIds": deleted, "failures": failures}))
}

/// Deletes an image (manifest and all its tags); blobs no other image uses are reclaimed.
pub(crate) async fn delete_image(reg: &Arc<Registry>, name: &str, digest: &str) -> Result<()> {
    let (n, d) = (name.to_owned(), digest.to_owned());
    if let Some(orphaned) = reg.meta(move |m| m.delete_manifest(&n, &d)).await? {
        for b in orphaned {
            oci::collect_garbage(reg, &b).await;
        }
    }
    Ok(())
}

async fn batch_check_layers(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let digests: Vec<String> = input
        .get("layerDigests")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut layers = Vec::new();
    let mut failures = Vec::new();
    for d in digests {
        if parse_digest(&d).is_none() {
            failures.push(
                json!({"layerDigest": d, "failureCode": "InvalidLayerDigest", "failureReason": "Invalid layer digest"}),
            );
            continue;
        }
        let (n, dd) = (name.to_owned(), d.clone());
        match reg.meta(move |m| m.blob(&n, &dd)).await? {
            Some(size) => layers.push(json!({"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": size, "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"})),
            None => failures.push(json!({"layerDigest": d, "failureCode": "MissingLayerDigest", "failureReason": "Layer not found"})),
        }
    }
    Ok(json!({"layers": layers, "failures": failures}))
}

async fn get_download_url(reg: &Arc<Registry>, input: &Value, host: &str) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let digest = str_field(input, "layerDigest")?;
    if parse_digest(digest).is_none() {
        return Err(EcrError::new(
            "InvalidParameterException",
            format!("Invalid parameter at 'layerDigest' failed to satisfy constraint: '{digest}'"),
        ));
    }
    let (n, d) = (name.to_owned(), digest.to_owned());
    if reg.meta(move |m| m.blob(&n, &d)).await?.is_none() {
        return Err(EcrError::new("LayersNotFoundException", "The specified layers could not be found"));
    }
    let url = crate::presign::url(reg, host, name, digest, now());
    Ok(json!({"downloadUrl": url, "layerDigest": digest}))
}

async fn initiate_upload(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let id = random_id();
    reg.blobs.begin(&id).await.map_err(|e| EcrError::new("ServerException", e.to_string()))?;
    let (n, i, t) = (name.to_owned(), id.clone(), now());
    reg.meta(move |m| m.begin_upload(&i, &n, t)).await?;
    Ok(json!({"uploadId": id, "partSize": PART_SIZE}))
}

async fn upload_session(reg: &Arc<Registry>, name: &str, id: &str) -> Result<u64> {
    let i = id.to_owned();
    let owner = reg.meta(move |m| m.upload_repo(&i)).await?;
    let size = if owner.as_deref() == Some(name) {
        reg.blobs.upload_size(id).await.map_err(|e| EcrError::new("ServerException", e.to_string()))?
    } else {
        None
    };
    size.ok_or_else(|| EcrError::new("UploadNotFoundException", format!("The upload with id '{id}' does not exist in the repository with name '{name}' in the registry with id '{}'", reg.config.account_id)))
}

async fn upload_part(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let id = str_field(input, "uploadId")?;
    let size = upload_session(reg, name, id).await?;
    let first = input
        .get("partFirstByte")
        .and_then(Value::as_u64)
        .ok_or_else(|| EcrError::invalid("partFirstByte is required"))?;
    let last = input
        .get("partLastByte")
        .and_then(Value::as_u64)
        .ok_or_else(|| EcrError::invalid("partLastByte is required"))?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(str_field(input, "layerPartBlob")?)
        .map_err(|_| EcrError::invalid("layerPartBlob is not base64"))?;
    if first != size || last < first || last - first + 1 != blob.len() as u64 {
        return Err(EcrError::new(
            "InvalidLayerPartException",
            format!("The layer part with first byte {first} and last byte {last} is not contiguous with the {size} bytes received so far, or its size does not match"),
        ));
    }
    let upload = id.to_owned();
    let (parts, previous) = reg.meta(move |m| m.upload_parts(&upload)).await?;
    // Every part but the last is 5 to 10 MiB: a part after a small one shows the small one was not last.
    if parts > 0 && previous < MIN_PART_SIZE {
        return Err(EcrError::new(
            "LayerPartTooSmallException",
            format!("The layer part of {previous} bytes is smaller than the minimum of {MIN_PART_SIZE} bytes; only the last part may be smaller"),
        ));
    }
    if blob.len() as u64 > PART_SIZE {
        return Err(EcrError::new(
            "InvalidLayerPartException",
            format!("The layer part of {} bytes is larger than the maximum of {PART_SIZE} bytes", blob.len()),
        ));
    }
    if parts >= MAX_PARTS {
        return Err(EcrError::new(
            "LimitExceededException",
            format!("A layer upload may have at most {MAX_PARTS} parts"),
        ));
    }
    let written = reg.blobs.append(id, &blob).await.map_err(|e| EcrError::new("ServerException", e.to_string()))?;
    let (upload, size) = (id.to_owned(), blob.len() as u64);
    reg.meta(move |m| m.record_part(&upload, size)).await?;
    Ok(
        json!({"registryId": reg.config.account_id, "repositoryName": name, "uploadId": id, "lastByteReceived": written.saturating_sub(1)}),
    )
}

async fn complete_upload(reg: &Arc<Registry>, input: &Value) -> Result<Value> {
    let name = repo_name(input)?;
    repository(reg, name).await?;
    let id = str_field(input, "uploadId")?;
    upload_session(reg, name, id).await?;
    let digests: Vec<&str> = input
        .get("layerDigests")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let [digest] = digests.as_slice() else {
        return Err(EcrError::invalid("layerDigests must hold exactly one digest"));
    };
    let (n, d) = (name.to_owned(), (*digest).to_owned());
    if reg.meta(move |m| m.blob(&n, &d)).await?.is_some() {
        let _ = reg.blobs.cancel(id).await;
        return Err(EcrError::new("LayerAlreadyExistsException", format!("The image layer '{digest}' already exists in the repository with name '{name}' in registry with id '{}'", reg.config.account_id)));
    }
    match oci::complete(reg, name, id, digest).await {
        Ok(_) => Ok(
            json!({"registryId": reg.config.account_id, "repositoryName": name, "uploadId": id, "layerDigest": digest}),
        ),
        Err(e) if e.code == "DIGEST_INVALID" => Err(EcrError::new("InvalidLayerException", e.message)),
        Err(e) => Err(e.into()),
    }
}

/// Maps ECR API calls to the ECR action and resource AWS checks.
#[derive(Clone)]
pub struct EcrDescriber {
    /// The registry.
    pub registry: Arc<Registry>,
}

impl DescribeRequest<Body> for EcrDescriber {
    async fn describe(
        &self,
        req: Request<Body>,
        caller: &Caller,
    ) -> std::result::Result<(Request<Body>, Vec<Check>), Rejection> {
        let bad = |code: &'static str, m: String| Rejection::new(code, StatusCode::BAD_REQUEST, m);
        let Some(op) = target(&req) else {
            return Err(bad("UnknownOperationException", "missing or unknown X-Amz-Target".into()));
        };
        let base = warden_tower::context::request_context(&req, caller, Some(false), &self.registry.config.region)
            .map_err(|e| bad("ServerException", e.to_string()))?;
        let (parts, body) = req.into_parts();
        let input = read_input(body).await.map_err(|e| Rejection::new(e.code, StatusCode::BAD_REQUEST, e.message))?;
        let reg = &self.registry;
        let arn = |name: &str| reg.repository_arn(name);
        // Which resources the action is checked on.
        let resources: Vec<(String, Option<String>)> = match op.as_str() {
            "GetAuthorizationToken" => vec![("*".into(), None)],
            "DescribeRepositories" => match input.get("repositoryNames").and_then(Value::as_array) {
                Some(names) => names.iter().filter_map(Value::as_str).map(|n| (arn(n), Some(n.to_owned()))).collect(),
                None => vec![(arn("*"), None)],
            },
            "TagResource" | "UntagResource" | "ListTagsForResource" => {
                let r = input.get("resourceArn").and_then(Value::as_str).unwrap_or("*").to_owned();
                let name = repo_of_arn(reg, &r).ok();
                vec![(r, name)]
            }
            _ => match input.get("repositoryName").and_then(Value::as_str) {
                Some(n) => vec![(arn(n), Some(n.to_owned()))],
                None => vec![("*".into(), None)],
            },
        };
        // Request tags: CreateRepository and TagResource carry `aws:RequestTag/*` and `aws:TagKeys`;
        // UntagResource carries `aws:TagKeys`.
        let mut request_tags: Vec<(String, String)> = Vec::new();
        let mut tag_keys: Vec<String> = Vec::new();
        if matches!(op.as_str(), "CreateRepository" | "TagResource") {
            if let Ok(t) = parse_tags(input.get("tags")) {
                tag_keys = t.iter().map(|(k, _)| k.clone()).collect();
                request_tags = t;
            }
        } else if op == "UntagResource" {
            tag_keys = input
                .get("tagKeys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
        }
        let mut checks = Vec::new();
        for (resource, repo) in resources {
            let mut context = base.clone();
            for (k, v) in &request_tags {
                let _ = context.insert(&format!("aws:RequestTag/{k}"), ContextKeyType::String, &[v.as_str()]);
            }
            if !tag_keys.is_empty() {
                let _ = context.insert("aws:TagKeys", ContextKeyType::StringList, &tag_keys);
            }
            let repository = match &repo {
                Some(n) if names::valid_repository(n) => {
                    let n = n.clone();
                    reg.meta(move |m| m.repository(&n)).await.map_err(|e| bad("ServerException", e.message))?
                }
                _ => None,
            };
            if let Some(r) = &repository {
                for (k, v) in &r.tags {
                    for key in [format!("aws:ResourceTag/{k}"), format!("ecr:ResourceTag/{k}")] {
                        let _ = context.insert(&key, ContextKeyType::String, &[v.as_str()]);
                    }
                }
            }
            let policy = repository.as_ref().and_then(|r| reg.policy_set(r));
            checks.push(Check {
                action: format!("ecr:{op}").into(),
                resource: resource.clone(),
                resource_account: reg.config.account_id.clone().into(),
                resource_policy: policy.clone(),
                context: context.clone(),
            });
            // Tags on creation are authorized as ecr:TagResource too.
            if op == "CreateRepository" && !request_tags.is_empty() {
                checks.push(Check {
                    action: "ecr:TagResource".into(),
                    resource,
                    resource_account: reg.config.account_id.clone().into(),
                    resource_policy: policy,
                    context,
                });
            }
        }
        let mut req = Request::from_parts(parts, Body::empty());
        req.extensions_mut().insert(ParsedInput(Arc::new(input)));
        Ok((req, checks))
    }
}

/// The largest request body accepted: a 10 MiB layer part, base64-encoded, with room to spare.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// A request body parsed once, by the authorization layer, for the handler.
#[derive(Clone)]
struct ParsedInput(Arc<Value>);

/// Reads and parses a JSON request body of at most [`MAX_REQUEST_BYTES`].
async fn read_input(body: Body) -> Result<Value> {
    let bytes = http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                EcrError::invalid(format!("The request body is larger than {MAX_REQUEST_BYTES} bytes"))
            } else {
                EcrError::new("SerializationException", e.to_string())
            }
        })?
        .to_bytes();
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| EcrError::new("SerializationException", format!("the request body is not JSON: {e}")))
}

/// Sets a field on a JSON object (no-op on anything else).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(object) = target.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}
