//! `GET /v2/<name>/tags/list`, and the `n`/`last` pagination it shares with the catalog.

use axum::response::Response;
use http::{header, StatusCode};

use super::reply::Reply;
use super::request::Page;
use crate::error::RegistryError;
use crate::state::Registry;
use crate::storage::meta::Repository;

/// A page of a sorted list after `last`, at most `n` long, and the `Link` to the next page.
pub(crate) fn paginate(items: Vec<String>, page: &Page, base: &str) -> (Vec<String>, Option<String>) {
    let start = match &page.last {
        Some(l) => items.partition_point(|t| t.as_str() <= l.as_str()),
        None => 0,
    };
    let mut rest: Vec<String> = items.into_iter().skip(start).collect();
    match page.n {
        Some(n) if rest.len() > n => {
            rest.truncate(n);
            let link = rest.last().map(|l| {
                let last: String = form_urlencoded::byte_serialize(l.as_bytes()).collect();
                format!("<{base}?n={n}&last={last}>; rel=\"next\"")
            });
            (rest, link)
        }
        _ => (rest, None),
    }
}

/// `GET /v2/<name>/tags/list`.
pub(crate) async fn list(reg: &Registry, repo: &Repository, page: &Page) -> Result<Response, RegistryError> {
    let name = repo.name.clone();
    let all = reg.meta(move |m| m.tags(&name)).await?;
    let (tags, link) = paginate(all, page, &format!("/v2/{}/tags/list", repo.name));
    let mut reply = Reply::new(StatusCode::OK).json(&serde_json::json!({"name": repo.name, "tags": tags}));
    if let Some(l) = link {
        reply = reply.header(header::LINK, l);
    }
    Ok(reply.build())
}
