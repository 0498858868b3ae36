//! Who may perform an action on a resource, and what a principal may do, over an identity store
//! (users, groups, roles, boundaries) and a resource policy — decided for every value of the
//! condition keys the policies test ([`warden_policy::analyze::allowing`]), with the conditions
//! under which each answer holds. `warden who-can`, `warden principal-can` and the console's
//! who-can view print these answers.

use std::sync::Arc;

use serde_json::{json, Value};
use warden_policy::analyze::{allowing, effective_permissions, external_access};
use warden_policy::request::principal_context;
use warden_policy::{CompiledPolicy, Context, Policies, PolicyKind, PolicySet};

use crate::{IdentityKind, Resolved, Store};

/// Conditions listed per answer at most.
pub const MAX_CONTEXTS: usize = 5;

/// The caller's own condition keys.
fn base_context(resolved: &Resolved) -> Result<Arc<Context>, String> {
    let id = &resolved.identity;
    principal_context(&resolved.principal, Some(&id.unique_id), &id.tags, None).map(Arc::new).map_err(|e| e.to_string())
}

/// Who in `store` may perform `action` on `resource` (an ARN, or `*`), whose resource policy is
/// `resource_policy` (a repository policy's text), and which principals outside the store that
/// policy lets in: `{"action", "resource", "principals": [{"principal", "type", "always",
/// "conditions"}], "outsideTheStore": [...], "undecided": [...]}`.
///
/// # Errors
/// A resource policy that does not compile, or one given for a resource without an account.
pub fn who_can(store: &Store, action: &str, resource: &str, resource_policy: Option<&str>) -> Result<Value, String> {
    let resource_set = resource_policy
        .map(|t| CompiledPolicy::compile(t, PolicyKind::Repository, "resource-policy").map(PolicySet::from))
        .transpose()
        .map_err(|e| format!("resource policy: {e}"))?;
    // The resource's owner: the account in its ARN. A resource without one (`*`) is nobody's
    // other account: each caller is then in the same account as it.
    let owner = warden_policy::arn::Arn::parse(resource).map(|a| a.account.to_owned()).filter(|a| !a.is_empty());
    let mut principals = Vec::new();
    let mut undecided = Vec::new();
    for identity in store.identities() {
        let resolved = store.resolve(&identity.arn).ok_or_else(|| format!("{} does not resolve", identity.arn))?;
        let base = base_context(&resolved)?;
        // A resource policy of another account's resource applies only with the caller's allow.
        let policies = Policies {
            identity: &identity.policies,
            boundary: identity.boundary.as_ref(),
            session: None,
            resource: resource_set.as_ref(),
        };
        let account = owner.clone().unwrap_or_else(|| resolved.principal.account().to_owned());
        match allowing(&policies, &resolved.principal, &base, action, resource, &account, MAX_CONTEXTS) {
            Ok(a) if !a.contexts.is_empty() => principals.push(json!({
                "principal": identity.arn,
                "type": match identity.kind { IdentityKind::User => "User", IdentityKind::Role => "Role" },
                "always": a.always,
                "conditions": if a.always { Vec::new() } else { a.contexts },
            })),
            Ok(_) => {}
            Err(reason) => undecided.push(json!({"principal": identity.arn, "reason": reason})),
        }
    }
    // Principals outside the store that the resource policy lets in (their own account must allow
    // the call too, which this store cannot see).
    let mut outside = Vec::new();
    if let Some(t) = resource_policy {
        let owner =
            owner.as_deref().ok_or("the resource must be an ARN with an account to read its resource policy")?;
        let access = external_access(t, owner).map_err(|e| e.to_string())?;
        for f in access.findings {
            if f.action.iter().any(|a| a.eq_ignore_ascii_case(action)) {
                outside.push(json!({
                    "principal": f.principal,
                    "isPublic": f.is_public,
                    "condition": f.condition,
                    "statementIndex": f.statement_index,
                    "note": "also needs an allow in the caller's own account",
                }));
            }
        }
        for u in access.undecided {
            undecided.push(json!({"statementIndex": u.statement_index, "reason": u.reason}));
        }
    }
    Ok(json!({
        "action": action,
        "resource": resource,
        "principals": principals,
        "outsideTheStore": outside,
        "undecided": undecided,
    }))
}

/// What `principal` (a user or role ARN of `store`, or a role session) may do:
/// `{"principal", "permissions"}`.
///
/// # Errors
/// An unknown principal, or a policy the analysis cannot read.
pub fn principal_can(store: &Store, principal: &str) -> Result<Value, String> {
    let resolved =
        store.resolve(principal).ok_or_else(|| format!("no user or role `{principal}` in the identity store"))?;
    let base = base_context(&resolved)?;
    let id = &resolved.identity;
    let policies = Policies { identity: &id.policies, boundary: id.boundary.as_ref(), session: None, resource: None };
    let permissions = effective_permissions(&policies, &resolved.principal, &base, MAX_CONTEXTS)?;
    Ok(json!({"principal": principal, "permissions": permissions}))
}
