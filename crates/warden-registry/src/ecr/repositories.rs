//! Repositories: CreateRepository, DescribeRepositories, DeleteRepository,
//! PutImageTagMutability, PutImageScanningConfiguration.

use serde_json::{json, Value};

use super::call::{merge_tags, page, paged, parse_tags, required, Call};
use super::error::{EcrError, Result};
use super::input::{self, ScanningConfiguration};
use crate::names::RepoName;
use crate::service;
use crate::state::Registry;
use crate::storage::meta::Repository;

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

/// `MUTABLE` or `IMMUTABLE`.
fn mutability(value: &str) -> Result<&'static str> {
    match value {
        "MUTABLE" => Ok("MUTABLE"),
        "IMMUTABLE" => Ok("IMMUTABLE"),
        _ => Err(EcrError::invalid("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")),
    }
}

/// CreateRepository.
pub(crate) async fn create(c: &Call<'_>, i: &input::CreateRepository) -> Result<Value> {
    let name = c.repo.ok_or_else(|| EcrError::missing("repositoryName"))?;
    // Tags are checked before anything is created: an invalid tag creates nothing.
    let tags = merge_tags(&[], &parse_tags(i.tags.as_deref().unwrap_or(&[]))?)?;
    let m = mutability(i.image_tag_mutability.as_deref().unwrap_or("MUTABLE"))?;
    let scan = i.image_scanning_configuration.as_ref().and_then(|s| s.scan_on_push);
    if !c.reg.create(name.clone(), tags, m).await? {
        return Err(EcrError::new(
            "RepositoryAlreadyExistsException",
            format!("The repository with name '{name}' already exists in the registry with id '{}'", c.registry_id()),
        ));
    }
    if let Some(scan) = scan {
        let n = name.clone();
        c.reg.meta(move |meta| meta.set_scan_on_push(n.as_str(), scan)).await?;
    }
    let r = c.reg.repository(name.as_str()).await?;
    Ok(json!({"repository": repository_json(c.reg, &r, c.host)}))
}

/// DescribeRepositories: the named ones (rows read for the decision), or one page of all.
pub(crate) async fn describe(
    c: &Call<'_>,
    i: &input::DescribeRepositories,
    listed: &[(RepoName, Option<Repository>)],
) -> Result<Value> {
    if i.repository_names.is_some() {
        let mut out = Vec::with_capacity(listed.len());
        for (name, row) in listed {
            let row = row.as_ref().ok_or_else(|| EcrError::from(c.reg.name_unknown(name.as_str())))?;
            out.push(repository_json(c.reg, row, c.host));
        }
        let (page, next) = page(out, &i.paging)?;
        return Ok(paged("repositories", page, next));
    }
    let (start, max) = super::call::page_bounds(&i.paging)?;
    // Only the rows of the page are read.
    let (rows, total) = c
        .reg
        .meta(move |m| {
            let names = m.repositories()?;
            let mut rows = Vec::new();
            for name in names.iter().skip(start).take(max) {
                if let Some(r) = m.repository(name)? {
                    rows.push(r);
                }
            }
            Ok((rows, names.len()))
        })
        .await?;
    let end = start.saturating_add(max).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok(paged("repositories", rows.iter().map(|r| repository_json(c.reg, r, c.host)).collect(), next))
}

/// DeleteRepository: refused while it holds images, unless `force`.
pub(crate) async fn delete(c: &Call<'_>, i: &input::DeleteRepository) -> Result<Value> {
    let r = c.repository()?;
    let name = r.name.clone();
    let force = i.force.unwrap_or(false);
    let n = name.clone();
    if !force && c.reg.meta(move |m| m.image_count(&n)).await? > 0 {
        return Err(EcrError::new(
            "RepositoryNotEmptyException",
            format!("The repository with name '{name}' in registry with id '{}' cannot be deleted because it still contains images", c.registry_id()),
        ));
    }
    let n = name.clone();
    let blobs: Vec<String> = c
        .reg
        .meta(move |m| {
            let blobs = m.repository_blobs(&n)?;
            m.delete_repository(&n)?;
            Ok(blobs)
        })
        .await?;
    service::gc::collect(c.reg, &blobs).await;
    Ok(json!({"repository": repository_json(c.reg, r, c.host)}))
}

/// PutImageTagMutability.
pub(crate) async fn put_tag_mutability(c: &Call<'_>, i: &input::PutImageTagMutability) -> Result<Value> {
    let r = c.repository()?;
    let m = mutability(required(i.image_tag_mutability.as_deref(), "imageTagMutability")?)?;
    let n = r.name.clone();
    c.reg.meta(move |meta| meta.set_tag_mutability(&n, m)).await?;
    Ok(json!({"registryId": c.registry_id(), "repositoryName": r.name, "imageTagMutability": m}))
}

/// PutImageScanningConfiguration: the setting is stored and reported; no scanner runs here.
pub(crate) async fn put_scanning_configuration(
    c: &Call<'_>,
    i: &input::PutImageScanningConfiguration,
) -> Result<Value> {
    let r = c.repository()?;
    let on = i
        .image_scanning_configuration
        .as_ref()
        .and_then(|s: &ScanningConfiguration| s.scan_on_push)
        .ok_or_else(|| EcrError::missing("imageScanningConfiguration.scanOnPush"))?;
    let n = r.name.clone();
    c.reg.meta(move |m| m.set_scan_on_push(&n, on)).await?;
    Ok(
        json!({"registryId": c.registry_id(), "repositoryName": r.name, "imageScanningConfiguration": {"scanOnPush": on}}),
    )
}
