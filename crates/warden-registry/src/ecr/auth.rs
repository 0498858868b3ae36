//! GetAuthorizationToken: a registry token for the caller whose signature the layer verified.

use serde_json::{json, Value};

use super::call::Call;
use super::error::{EcrError, Result};
use super::input::GetAuthorizationToken;

/// GetAuthorizationToken.
pub(crate) fn get_authorization_token(c: &Call<'_>, input: &GetAuthorizationToken) -> Result<Value> {
    let principal = c
        .authorized
        .map(|a| a.caller.principal.arn().to_owned())
        .ok_or_else(|| EcrError::new("ServerException", "the caller is unknown"))?;
    let own = c.registry_id().to_owned();
    let registries: Vec<String> = match &input.registry_ids {
        Some(ids) if !ids.is_empty() => ids.clone(),
        _ => vec![own.clone()],
    };
    let mut data = Vec::new();
    for id in registries {
        if id != own {
            return Err(EcrError::invalid(format!(
                "Invalid parameter at 'registryIds' failed to satisfy constraint: 'registry {} is not served here'",
                id.chars().take(64).collect::<String>()
            )));
        }
        let (token, expires) = c.reg.issuer.authorization_token(&principal, std::time::SystemTime::now());
        let expires_at = expires.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        data.push(json!({"authorizationToken": token, "expiresAt": expires_at, "proxyEndpoint": format!("http://{}", c.host)}));
    }
    Ok(json!({"authorizationData": data}))
}
