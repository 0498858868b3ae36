//! `warden who-can` and `warden principal-can`: who may perform an action on a resource, and what
//! a principal may do, over the identity store (users, groups, roles, boundaries) and a
//! repository policy, decided for every value of the condition keys the policies test
//! (`warden_policy::analyze::allowing`), with the conditions under which each answer holds.
//!
//! Exit status 0, or 2 for bad input (an unknown principal, an unreadable policy or store).

use std::process::ExitCode;

use serde_json::Value;
use warden_identity::Store;

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
    warden_identity::who::who_can(&store, &args.action, &args.resource, text.as_deref())
}

/// Runs `warden principal-can`.
pub fn principal_can(args: &PrincipalCanArgs) -> ExitCode {
    let run = || -> Result<Value, String> {
        let store = Store::load(&args.policies).map_err(|e| e.to_string())?;
        warden_identity::who::principal_can(&store, &args.principal)
    };
    match run() {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
