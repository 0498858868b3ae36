//! `warden check public-access --policy FILE`: whether an ECR repository policy grants public
//! access, answered offline in the shape of IAM Access Analyzer's `CheckNoPublicAccess`
//! (`result`, `message`, `reasons` with statement indices), plus the external-access findings
//! behind the answer. The method and what it leaves undecided: `warden_policy::analyze`.
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
    let Sub::PublicAccess(a) = &args.command;
    match public_access(a) {
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
        let result = match check.result {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Unknown => "UNKNOWN",
        };
        println!("{result}: {}", check.message);
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
    Ok(match check.result {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(1),
        Verdict::Unknown => ExitCode::from(3),
    })
}
