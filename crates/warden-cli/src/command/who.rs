//! `warden who-can` and `warden principal-can`: who may perform an action on a resource, and what
//! a principal may do, over the identity store (users, groups, roles, boundaries) and a
//! repository policy, decided for every value of the condition keys the policies test
//! (`warden_policy::analyze::allowing`), with the conditions under which each answer holds.
//!
//! Exit status 0, or 2 for bad input (an unknown principal, an unreadable policy or store).

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};
use warden_identity::{IdentityKind, Store};
use warden_policy::analyze::{allowing, effective_permissions, external_access};
use warden_policy::request::principal_context;
use warden_policy::{CompiledPolicy, Context, Policies, PolicyKind, PolicySet};

/// Conditions listed per answer at most.
const MAX_CONTEXTS: usize = 5;

/// Arguments of `warden who-can`.
#[derive(Debug, clap::Args)]
pub struct WhoCanArgs {
    /// The action (`ecr:PutImage`).
    #[arg(long)]
    action: String,
    /// The resource ARN.
    #[arg(long)]
    resource: String,
    /// The policies directory (`identities/`).
    #[arg(long, default_value = "policies")]
    policies: std::path::PathBuf,
    /// The resource's policy (a repository policy), if it has one.
    #[arg(long)]
    resource_policy: Option<String>,
    /// Or read the repository's policy from this registry data directory.
    #[arg(long, conflicts_with = "resource_policy")]
    data_dir: Option<std::path::PathBuf>,
}

/// Arguments of `warden principal-can`.
#[derive(Debug, clap::Args)]
pub struct PrincipalCanArgs {
    /// The principal: a user or role ARN of the identity store (or a role session).
    #[arg(long)]
    principal: String,
    /// The policies directory (`identities/`).
    #[arg(long, default_value = "policies")]
    policies: std::path::PathBuf,
}

fn fail(e: String) -> ExitCode {
    eprintln!("warden: {e}");
    ExitCode::from(2)
}

/// The caller's own condition keys.
fn base_context(resolved: &warden_identity::Resolved) -> Result<Arc<Context>, String> {
    let id = &resolved.identity;
    principal_context(&resolved.principal, Some(&id.unique_id), &id.tags, None).map(Arc::new).map_err(|e| e.to_string())
}

/// The repository policy stored for the repository `arn` names in a registry data directory.
fn stored_policy(dir: &std::path::Path, arn: &str) -> Result<Option<String>, String> {
    let name = arn
        .split_once(":repository/")
        .map(|(_, n)| n.to_owned())
        .ok_or_else(|| format!("`{arn}` is not a repository ARN"))?;
    let db = dir.join("registry.db");
    let meta = warden_registry::storage::meta::SqliteMeta::open(&db).map_err(|e| format!("{}: {e}", db.display()))?;
    use warden_registry::storage::meta::MetadataStore;
    Ok(meta.repository(&name).map_err(|e| e.to_string())?.and_then(|r| r.policy))
}

/// Runs `warden who-can`.
pub fn who_can(args: &WhoCanArgs) -> ExitCode {
    match run_who_can(args) {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn run_who_can(args: &WhoCanArgs) -> Result<Value, String> {
    let store = Store::load(&args.policies).map_err(|e| e.to_string())?;
    let text = match (&args.resource_policy, &args.data_dir) {
        (Some(path), _) => Some(std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?),
        (None, Some(dir)) => stored_policy(dir, &args.resource)?,
        (None, None) => None,
    };
    let resource_set = text
        .as_deref()
        .map(|t| CompiledPolicy::compile(t, PolicyKind::Repository, "resource-policy").map(PolicySet::from))
        .transpose()
        .map_err(|e| format!("resource policy: {e}"))?;
    // The resource's owner: the account in its ARN. A resource without one (`*`) is nobody's
    // other account: each caller is then in the same account as it.
    let owner = warden_policy::arn::Arn::parse(&args.resource).map(|a| a.account.to_owned()).filter(|a| !a.is_empty());
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
        match allowing(&policies, &resolved.principal, &base, &args.action, &args.resource, &account, MAX_CONTEXTS) {
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
    if let Some(t) = text.as_deref() {
        let owner = owner.as_deref().ok_or("--resource must be an ARN with an account to read its resource policy")?;
        let access = external_access(t, owner).map_err(|e| e.to_string())?;
        for f in access.findings {
            if f.action.iter().any(|a| a.eq_ignore_ascii_case(&args.action)) {
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
        "action": args.action,
        "resource": args.resource,
        "principals": principals,
        "outsideTheStore": outside,
        "undecided": undecided,
    }))
}

/// Runs `warden principal-can`.
pub fn principal_can(args: &PrincipalCanArgs) -> ExitCode {
    let run = || -> Result<Value, String> {
        let store = Store::load(&args.policies).map_err(|e| e.to_string())?;
        let resolved = store
            .resolve(&args.principal)
            .ok_or_else(|| format!("no user or role `{}` in the identity store", args.principal))?;
        let base = base_context(&resolved)?;
        let id = &resolved.identity;
        let policies =
            Policies { identity: &id.policies, boundary: id.boundary.as_ref(), session: None, resource: None };
        let permissions = effective_permissions(&policies, &resolved.principal, &base, MAX_CONTEXTS)?;
        Ok(json!({"principal": args.principal, "permissions": permissions}))
    };
    match run() {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
