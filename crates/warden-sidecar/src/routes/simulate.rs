//! `POST /v1/simulate`: `SimulateCustomPolicy` and `SimulatePrincipalPolicy`, as `warden simulate`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use warden_policy::simulate::{
    simulate_custom_policy_within, simulate_principal_policy_within, SimulateCustomPolicyRequest,
    SimulatePrincipalPolicyRequest, SimulationResponse,
};

use crate::error::ApiError;
use crate::extract::{from_value, ApiJson};
use crate::state::AppState;

/// `POST /v1/simulate` → 200 the AWS `SimulatePolicyResponse` shape (`EvaluationResults`, ...);
/// 400 `{"error": {"code": "InvalidInput" | "MalformedPolicyDocument" | "NoSuchEntity", ...}}`
/// (also beyond the simulate limits, naming the field); 503 when no evaluation slot is free in time.
///
/// A body with `PolicySourceArn` is a `SimulatePrincipalPolicy` request: the user's or role's
/// policies and boundary come from the identity store; otherwise it is `SimulateCustomPolicy`.
///
/// The list sizes are checked here, on the async worker, before anything is compiled or queued;
/// the simulation and the serialization of its answer run in the evaluation pool.
pub(super) async fn simulate(
    State(state): State<AppState>,
    ApiJson(value): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid("body", "expected a JSON object"));
    }
    let limits = state.limits().simulate;
    let body = if value.get("PolicySourceArn").is_some() {
        let request: SimulatePrincipalPolicyRequest = from_value(value, "")?;
        limits.check_principal(&request)?;
        let store = state.store().current();
        state
            .pool()
            .run(move || {
                encode(simulate_principal_policy_within(&request, &limits, |arn| store.principal_policies(arn))?)
            })
            .await??
    } else {
        let request: SimulateCustomPolicyRequest = from_value(value, "")?;
        limits.check_custom(&request)?;
        state.pool().run(move || encode(simulate_custom_policy_within(&request, &limits)?)).await??
    };
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

fn encode(response: SimulationResponse) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(&response).map_err(|e| ApiError::Internal { message: format!("encoding the answer: {e}") })
}
