//! `GET /v2/` and `GET /v2/_catalog`: the catalog lists only the repositories the caller may
//! describe (`ecr:DescribeRepositories` on each, with its policy and tags).

use axum::response::Response;
use http::{header, Method, StatusCode};
use warden_policy::Outcome;
use warden_tower::Caller;

use super::reply::Reply;
use super::request::Described;
use super::tags::paginate;
use crate::error::RegistryError;
use crate::state::Registry;

/// `GET /v2/`: 200 for any authenticated caller.
pub(crate) fn base(method: &Method) -> Response {
    Reply::new(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(if method == Method::HEAD { "" } else { "{}" })
        .build()
}

/// `GET /v2/_catalog`.
pub(crate) async fn list(reg: &Registry, described: &Described, caller: &Caller) -> Result<Response, RegistryError> {
    // Every repository row in one trip.
    let rows = reg
        .meta(|m| {
            let mut rows = Vec::new();
            for name in m.repositories()? {
                if let Some(r) = m.repository(&name)? {
                    rows.push(r);
                }
            }
            Ok(rows)
        })
        .await?;
    let mut visible = Vec::new();
    for repo in rows {
        let check = reg.check(described.context.clone(), "ecr:DescribeRepositories", &repo.name, Some(&repo))?;
        if warden_tower::evaluate_check(caller, &check, check.resource_policy.as_ref()).outcome == Outcome::Allowed {
            visible.push(repo.name);
        }
    }
    let (page, link) = paginate(visible, &described.request.page, "/v2/_catalog");
    let mut reply = Reply::new(StatusCode::OK).json(&serde_json::json!({"repositories": page}));
    if let Some(l) = link {
        reply = reply.header(header::LINK, l);
    }
    Ok(reply.build())
}
