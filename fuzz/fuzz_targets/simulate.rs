//! Arbitrary bytes as a `SimulateCustomPolicy` request (the JSON `aws iam simulate-custom-policy
//! --cli-input-json` takes), run within `warden authorizer`'s limits.
//!
//! Invariants (beyond "never panics, never hangs"): an answer has one result per action and
//! resource, each naming them, and serializes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_policy::simulate::{simulate_custom_policy_within, SimulateCustomPolicyRequest, SimulateLimits};

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<SimulateCustomPolicyRequest>(data) else { return };
    let Ok(resp) = simulate_custom_policy_within(&req, &SimulateLimits::default()) else { return };
    let resources = req.resource_arns.len().max(1);
    assert_eq!(resp.evaluation_results.len(), req.action_names.len() * resources, "one result per action × resource");
    for (i, r) in resp.evaluation_results.iter().enumerate() {
        let action = req.action_names.get(i / resources).map(String::as_str);
        assert_eq!(Some(r.eval_action_name.as_str()), action);
        let resource = req.resource_arns.get(i % resources).map(String::as_str).unwrap_or("*");
        assert_eq!(r.eval_resource_name, resource);
    }
    if let Err(e) = serde_json::to_string(&resp) {
        panic!("the answer does not serialize: {e}");
    }
});
