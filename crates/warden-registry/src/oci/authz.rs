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
//! The request is parsed once into an [`OciRequest`]; the repositories it names are read in one
//! trip to the metadata store; their policies and tags take part in the decision; and the
//! description with those rows goes to the handler as [`Described`]. AWS authorizes before it
//! looks for the repository, so a caller without permission gets DENIED even for a repository
//! that does not exist. Anything that fails on the way (the store, a stored policy that does not
//! compile, the caller's keys) answers 500: no decision is made without its inputs.

use std::sync::Arc;

use axum::body::Body;
use http::Request;
use warden_tower::{Caller, Check, DescribeRequest, Rejection};

use super::request::{Described, OciRequest};
use crate::state::Registry;

/// Maps registry requests to checks.
#[derive(Clone)]
pub struct RegistryDescriber {
    /// The registry.
    pub registry: Arc<Registry>,
}

impl DescribeRequest<Body> for RegistryDescriber {
    async fn describe(
        &self,
        mut req: Request<Body>,
        caller: &Caller,
    ) -> Result<(Request<Body>, Vec<Check>), Rejection> {
        let reg = &self.registry;
        let request = OciRequest::parse(req.method(), req.uri()).map_err(|e| e.rejection())?;
        let action = request.action().map_err(|e| e.rejection())?;
        if let Some(action) = action {
            crate::access::note_call(caller, action.trim_start_matches("ecr:"));
            crate::access::note_parameters(|| crate::trail::event::raw(&request.parameters(&reg.config.account_id)));
        }
        let context = reg.request_context(&req, caller).map_err(reject)?;
        let mut checks = Vec::new();
        let (mut repository, mut mount_source) = (None, None);
        if let (Some(action), Some(name)) = (action, request.route.repo()) {
            // The route's repository and a mount's source, in one trip.
            let (target, source) = (name.clone(), request.mount.as_ref().map(|m| m.from.clone()));
            let (repo, src) = reg
                .meta(move |m| {
                    let src = match &source {
                        Some(s) => Some(m.repository(s.as_str())?),
                        None => None,
                    };
                    Ok((m.repository(target.as_str())?, src))
                })
                .await
                .map_err(reject)?;
            checks.push(reg.check(context.clone(), action, name.as_str(), repo.as_ref()).map_err(reject)?);
            if let (Some(mount), Some(src)) = (&request.mount, src) {
                let check = reg
                    .check(context.clone(), "ecr:GetDownloadUrlForLayer", mount.from.as_str(), src.as_ref())
                    .map_err(reject)?;
                checks.push(check);
                mount_source = src;
            }
            repository = repo;
        }
        req.extensions_mut().insert(Described { request, repository, mount_source, context });
        Ok((req, checks))
    }
}

/// A failure after the call was named: recorded as the ECR exception it is, answered in the
/// distribution spec's terms.
fn reject(e: crate::error::RegistryError) -> Rejection {
    let ecr = crate::ecr::EcrError::from(e.clone());
    crate::access::note_error(ecr.code, &ecr.message);
    e.rejection()
}
