//! `POST /v1/simulate`: `SimulateCustomPolicy` and `SimulatePrincipalPolicy`, as `warden simulate`.

use axum::extract::State;
use axum::Json;
use warden_policy::simulate::{
    simulate_custom_policy, simulate_principal_policy, PrincipalPolicies, SimulateCustomPolicyRequest,
    SimulatePrincipalPolicyRequest, SimulationResponse,
};

use crate::error::ApiError;
use crate::extract::{from_value, ApiJson};
use crate::state::AppState;

/// `POST /v1/simulate` → 200 the AWS `SimulatePolicyResponse` shape (`EvaluationResults`, ...);
/// 400 `{"error": {"code": "InvalidInput" | "MalformedPolicyDocument" | "NoSuchEntity", ...}}`.
///
/// A body with `PolicySourceArn` is a `SimulatePrincipalPolicy` request: the user's or role's
/// policies and boundary come from the identity store; otherwise it is `SimulateCustomPolicy`.
pub(super) async fn simulate(
    State(state): State<AppState>,
    ApiJson(value): ApiJson<serde_json::Value>,
) -> Result<Json<SimulationResponse>, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid("body", "expected a JSON object"));
    }
    let response = if value.get("PolicySourceArn").is_some() {
        let request: SimulatePrincipalPolicyRequest = from_value(value, "")?;
        let store = state.store().current();
        let resolve = |arn: &str| {
            let r = store.resolve(arn)?;
            Some(PrincipalPolicies {
                principal: r.principal,
                identity: r.identity.policies.policies().to_vec(),
                boundary: r.identity.boundary.as_ref().and_then(|b| b.policies().first().cloned()),
            })
        };
        simulate_principal_policy(&request, resolve)?
    } else {
        let request: SimulateCustomPolicyRequest = from_value(value, "")?;
        simulate_custom_policy(&request)?
    };
    Ok(Json(response))
}
