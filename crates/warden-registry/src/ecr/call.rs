//! What the ECR handlers share: the described call ([`EcrCall`]) and the view of it a handler
//! works with ([`Call`]), member validation, tags and pagination.

use http::Request;
use serde_json::{json, Value};
use warden_tower::Authorized;

use super::error::{EcrError, Result};
use super::input::{Input, Paging, TagInput};
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

/// The operation named by `X-Amz-Target`.
pub(crate) fn target<B>(req: &Request<B>) -> Result<&str> {
    req.headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .ok_or_else(|| EcrError::new("UnknownOperationException", "missing or unknown X-Amz-Target"))
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
