//! Policy checks offline, answered in the shape of IAM Access Analyzer's (`result`, `message`,
//! `reasons` with statement indices), with what proves the answer:
//!
//! - `warden check no-new-access --existing OLD --new NEW [--type identity|resource]`
//!   (`CheckNoNewAccess`): FAIL with witness requests that NEW allows and OLD does not;
//! - `warden check access-not-granted --policy P --access ACTION[,ACTION…] [--resources ARN,…]`
//!   (`CheckAccessNotGranted`): FAIL with witness requests;
//! - `warden check public-access --policy FILE` (`CheckNoPublicAccess`, ECR repository
//!   policies): FAIL with the external-access findings behind it.
//!
//! The method, and what it leaves undecided (answered UNKNOWN, never PASS):
//! `warden_policy::analyze`.
//!
//! Exit status: 0 for PASS, 1 for FAIL, 3 for UNKNOWN (the method cannot decide; never a pass),
//! 2 for bad input.

use std::process::ExitCode;

use warden_policy::analyze::{check_no_public_access, external_access, Verdict};

/// Arguments of `warden check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Whether a repository policy grants public access.
    PublicAccess(PublicArgs),
    /// Whether a new policy allows any request the existing one does not.
    NoNewAccess(NewAccessArgs),
    /// Whether a policy allows any of the listed actions.
    AccessNotGranted(NotGrantedArgs),
}

#[derive(Debug, clap::Args)]
struct NewAccessArgs {
    /// The existing policy (a document, or several as a `PolicyInputList`).
    #[arg(long)]
    existing: String,
    /// The new policy (a document, or several as a `PolicyInputList`).
    #[arg(long)]
    new: String,
    /// What kind of policies both are.
    #[arg(long = "type", default_value = "identity", value_parser = ["identity", "resource", "repository"])]
    kind: String,
    /// `json` (Access Analyzer's response shape, with `witnesses`) or `text`.
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    format: String,
}

#[derive(Debug, clap::Args)]
struct NotGrantedArgs {
    /// The policy.
    #[arg(long)]
    policy: String,
    /// The actions that must not be granted (`ecr:PutImage,ecr:BatchDeleteImage`).
    #[arg(long, value_delimiter = ',', required = true)]
    access: Vec<String>,
    /// On these resources only (default: any resource).
    #[arg(long, value_delimiter = ',')]
    resources: Vec<String>,
    /// What kind of policy it is.
    #[arg(long = "type", default_value = "identity", value_parser = ["identity", "resource", "repository"])]
    kind: String,
    /// `json` or `text`.
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    format: String,
}

fn kind_of(name: &str) -> warden_policy::PolicyKind {
    match name {
        "resource" => warden_policy::PolicyKind::Resource,
        "repository" => warden_policy::PolicyKind::Repository,
        _ => warden_policy::PolicyKind::Identity,
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))
}

/// The policies of a file: one policy document, or several that apply together given as the
/// `PolicyInputList` of a `simulate-custom-policy` request (`{"PolicyInputList": ["{…}", …]}`).
fn documents(path: &str) -> Result<Vec<String>, String> {
    let text = read(path)?;
    let list = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| {
        v.get("PolicyInputList")
            .and_then(|l| l.as_array())
            .map(|l| l.iter().map(|p| p.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
    });
    match list {
        Some(Some(docs)) if !docs.is_empty() => Ok(docs),
        Some(_) => Err(format!("{path}: PolicyInputList must be a non-empty list of policy documents (strings)")),
        None => Ok(vec![text]),
    }
}

fn exit_of(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(1),
        Verdict::Unknown => ExitCode::from(3),
    }
}

fn verdict_text(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Unknown => "UNKNOWN",
    }
}

/// Prints a comparison check's result.
fn print_check(check: &warden_policy::analyze::CheckResult, format: &str) -> Result<ExitCode, String> {
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(check).map_err(|e| e.to_string())?);
    } else {
        println!("{}: {}", verdict_text(check.result), check.message);
        for r in &check.reasons {
            let sid = r.statement_id.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
            println!("  statement {}{sid}: {}", r.statement_index, r.description);
        }
        for group in &check.witnesses {
            for w in &group.requests {
                let ctx: Vec<String> = w.context.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!(
                    "  witness (statement {}): {} on {}{}",
                    group.statement_index,
                    w.action,
                    w.resource,
                    if ctx.is_empty() { String::new() } else { format!(" with {}", ctx.join(", ")) }
                );
            }
        }
        println!("  ({} requests evaluated in {} ms)", check.evaluated, check.millis);
    }
    Ok(exit_of(check.result))
}

#[derive(Debug, clap::Args)]
struct PublicArgs {
    /// The repository policy (the `--policy-text` of set-repository-policy).
    #[arg(long)]
    policy: String,
    /// The repository's account (principals of other accounts are external).
    #[arg(long, default_value = "111122223333")]
    account_id: String,
    /// `json` (Access Analyzer's response shape) or `text`.
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    format: String,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let result = match &args.command {
        Sub::PublicAccess(a) => public_access(a),
        Sub::NoNewAccess(a) => (|| {
            let (old, new) = (documents(&a.existing)?, documents(&a.new)?);
            let check = warden_policy::analyze::check_no_new_access_in_sets(&old, &new, kind_of(&a.kind))
                .map_err(|e| e.to_string())?;
            print_check(&check, &a.format)
        })(),
        Sub::AccessNotGranted(a) => (|| {
            let text = read(&a.policy)?;
            let check =
                warden_policy::analyze::check_access_not_granted(&text, kind_of(&a.kind), &a.access, &a.resources)
                    .map_err(|e| format!("{}: {e}", a.policy))?;
            print_check(&check, &a.format)
        })(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("warden: {e}");
            ExitCode::from(2)
        }
    }
}

fn public_access(a: &PublicArgs) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(&a.policy).map_err(|e| format!("cannot read `{}`: {e}", a.policy))?;
    let check = check_no_public_access(&text, &a.account_id).map_err(|e| format!("{}: {e}", a.policy))?;
    let access = external_access(&text, &a.account_id).map_err(|e| format!("{}: {e}", a.policy))?;
    if a.format == "json" {
        let mut out = serde_json::to_value(&check).map_err(|e| e.to_string())?;
        if let Some(map) = out.as_object_mut() {
            map.insert("findings".into(), serde_json::to_value(&access.findings).map_err(|e| e.to_string())?);
        }
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    } else {
        println!("{}: {}", verdict_text(check.result), check.message);
        for r in &check.reasons {
            let sid = r.statement_id.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
            println!("  statement {}{sid}: {}", r.statement_index, r.description);
        }
        for f in &access.findings {
            let who: Vec<String> = f.principal.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "  finding: statement {} lets {}{} {}",
                f.statement_index,
                who.join(" "),
                if f.is_public { " (public)" } else { "" },
                f.action.join(", ")
            );
        }
    }
    Ok(exit_of(check.result))
}
