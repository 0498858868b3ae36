//! What `explain` and `test` share: resolving a principal in the identity store and building the
//! context an enforcing server would see.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use warden_identity::{Resolved, Store};
use warden_policy::request::{global_key_type, list_type, principal_context, time_context};
use warden_policy::{Context, PolicyKind, PolicySet};

/// Resolves `arn` in `store`, with a message naming it when it is unknown.
pub fn resolve(store: &Store, arn: &str) -> Result<Resolved, String> {
    store.resolve(arn).ok_or_else(|| format!("no user or role `{arn}` in the identity store (a role session is `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`)"))
}

/// The caller's keys (as the middleware fills them), the current time, and `pairs` on top;
/// a key given several times becomes a list.
pub fn context(resolved: &Resolved, pairs: &[(String, String)]) -> Result<Context, String> {
    let id = &resolved.identity;
    let base =
        principal_context(&resolved.principal, Some(&id.unique_id), &id.tags, None).map_err(|e| e.to_string())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let time = time_context(i64::try_from(now).unwrap_or(i64::MAX)).map_err(|e| e.to_string())?;
    let mut ctx = Context::on_layers(&[Arc::new(base), Arc::new(time)]);
    let mut keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    keys.dedup();
    for key in keys {
        let values: Vec<&str> = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect();
        let ty = global_key_type(key);
        let ty = if values.len() > 1 || key.eq_ignore_ascii_case("aws:TagKeys") { list_type(ty) } else { ty };
        ctx.insert(key, ty, &values).map_err(|e| e.to_string())?;
    }
    Ok(ctx)
}

/// Parses `key=value`.
pub fn pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{text}` is not key=value"))
}

/// Reads and compiles a repository (resource) policy file.
pub fn resource_policy(path: &str) -> Result<PolicySet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    warden_policy::CompiledPolicy::compile(&text, PolicyKind::Repository, path)
        .map(PolicySet::from)
        .map_err(|e| format!("{path}: {e}"))
}

/// The owner of a resource: the account in its ARN, else the caller's.
pub fn resource_account(resource: &str, resolved: &Resolved) -> String {
    warden_policy::arn::Arn::parse(resource)
        .map(|a| a.account.to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| resolved.principal.account().to_owned())
}
