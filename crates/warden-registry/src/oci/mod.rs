//! The Docker Registry HTTP API V2 / OCI Distribution Spec 1.1, one module per resource. Every
//! request was authenticated, parsed once into an [`request::OciRequest`] and authorized by the
//! layer ([`authz`]) before it gets here; the handler receives that description with the
//! repository row the decision read ([`request::Described`]) and never parses the path again.

pub mod authz;
pub mod blobs;
mod catalog;
mod manifests;
mod referrers;
mod reply;
pub mod request;
mod tags;
mod uploads;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Method, Request};
use warden_tower::Authorized;

use crate::error::RegistryError;
use crate::route::Route;
use crate::state::Registry;
use request::Described;

/// The `/v2/...` entry point.
pub async fn v2(State(reg): State<Arc<Registry>>, mut req: Request<Body>) -> Response {
    // Without the description (a router built without the authorization layer) nothing runs.
    let Some(described) = req.extensions_mut().remove::<Described>() else {
        return RegistryError::internal("registry", "a request reached a handler without its description")
            .into_response();
    };
    let caller = req.extensions_mut().remove::<Authorized>().map(|a| a.caller);
    // Throttled once authorized, before the operation runs; no transaction or no caller, no pass.
    let admitted = crate::throttle::Transaction::of_oci(&described.request)
        .and_then(|t| crate::throttle::admit(&reg.throttle, caller.as_ref(), &t));
    if let Err(e) = admitted {
        return e.into_response();
    }
    match dispatch(&reg, described, caller, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn dispatch(
    reg: &Registry,
    described: Described,
    caller: Option<warden_tower::Caller>,
    req: Request<Body>,
) -> Result<Response, RegistryError> {
    let (parts, body) = req.into_parts();
    let (method, headers) = (&parts.method, &parts.headers);
    let head = *method == Method::HEAD;
    let registry_id = reg.config.account_id.as_str();
    let request = &described.request;
    match (&request.route, method.as_str()) {
        (Route::Base, "GET" | "HEAD") => Ok(catalog::base(method)),
        (Route::Catalog, "GET") => {
            let caller = caller.ok_or(RegistryError::Internal("the caller is unknown"))?;
            catalog::list(reg, &described, &caller).await
        }
        (Route::Tags { .. }, "GET") => tags::list(reg, described.repository(registry_id)?, &request.page).await,
        (Route::Manifest { reference, .. }, "GET" | "HEAD") => {
            manifests::get(reg, described.repository(registry_id)?, reference, head, headers).await
        }
        (Route::Manifest { reference, .. }, "PUT") => {
            manifests::put(reg, described.repository(registry_id)?, reference, headers, body).await
        }
        (Route::Manifest { reference, .. }, "DELETE") => {
            manifests::delete(reg, described.repository(registry_id)?, reference).await
        }
        (Route::Blob { digest, .. }, "GET" | "HEAD") => {
            blobs::get(reg, &described.repository(registry_id)?.name, digest, head, headers).await
        }
        (Route::Blob { digest, .. }, "DELETE") => {
            blobs::delete(reg, &described.repository(registry_id)?.name, digest).await
        }
        (Route::UploadStart { repo }, "POST") => {
            described.repository(registry_id)?;
            uploads::start(reg, request, repo, body).await
        }
        (Route::Upload { repo, id }, "PATCH") => {
            described.repository(registry_id)?;
            uploads::patch(reg, repo, id, headers, body).await
        }
        (Route::Upload { repo, id }, "PUT") => {
            described.repository(registry_id)?;
            let digest = request.digest.as_ref().ok_or(RegistryError::Internal("the digest was not described"))?;
            uploads::finish(reg, repo, id, digest, headers, body).await
        }
        (Route::Upload { repo, id }, "GET") => {
            described.repository(registry_id)?;
            uploads::status(reg, repo, id).await
        }
        (Route::Upload { repo, id }, "DELETE") => {
            described.repository(registry_id)?;
            uploads::cancel(reg, repo, id).await
        }
        (Route::Referrers { digest, .. }, "GET") => {
            referrers::list(reg, described.repository(registry_id)?, digest, request.artifact_type.as_deref()).await
        }
        _ => Err(RegistryError::Unsupported(format!("{method} is not supported here"))),
    }
}
