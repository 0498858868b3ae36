//! `warden explain --principal ARN --action A --resource R [--context key=value ...]`: every
//! policy statement considered, whether it matched and if not why, the rule that decided, and for
//! a denied request what would make it allowed.
//!
//! The context is what an enforcing server fills: the principal's keys from the identity store
//! and the current time, plus `--context` pairs (a key given twice is a list).

use std::path::PathBuf;
use std::process::ExitCode;

use warden_identity::Store;
use warden_policy::explain::{explain, lack_words, Explanation};
use warden_policy::{Policies, Request};

use super::common;

/// Arguments of `warden explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The caller: a user or role of the identity store, or a role session.
    #[arg(long)]
    principal: String,
    /// The action (`ecr:PutImage`).
    #[arg(long)]
    action: String,
    /// The resource ARN (`*` for actions that take none).
    #[arg(long, default_value = "*")]
    resource: String,
    /// A context key and value, `key=value`; repeat for more keys or values.
    #[arg(long = "context", value_parser = common::pair)]
    context: Vec<(String, String)>,
    /// The resource's repository policy.
    #[arg(long)]
    resource_policy: Option<String>,
    /// The policies directory holding `identities/`.
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs the command: exit 0 whatever the decision, 2 on bad input.
pub fn run(args: &Args) -> ExitCode {
    match explain_request(args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("warden explain: {e}");
            ExitCode::from(2)
        }
    }
}

fn explain_request(args: &Args) -> Result<String, String> {
    let store = Store::load(&args.policies).map_err(|e| e.to_string())?;
    let resolved = common::resolve(&store, &args.principal)?;
    let ctx = common::context(&resolved, &args.context)?;
    let resource_policy = args.resource_policy.as_deref().map(common::resource_policy).transpose()?;
    let account = common::resource_account(&args.resource, &resolved);
    let req = Request {
        principal: &resolved.principal,
        action: &args.action,
        resource: &args.resource,
        resource_account: &account,
        context: &ctx,
    };
    let policies = Policies {
        identity: &resolved.identity.policies,
        boundary: resolved.identity.boundary.as_ref(),
        session: None,
        resource: resource_policy.as_ref(),
    };
    let e = explain(&policies, &req);
    Ok(match args.format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&e).map_err(|e| e.to_string())?),
        Format::Text => text(&e, args, &req),
    })
}

fn text(e: &Explanation, args: &Args, req: &Request<'_>) -> String {
    let mut out =
        format!("{} {} on {}\ndecision: {} — {}\n", args.principal, args.action, args.resource, e.decision, e.rule);
    if let Some(m) = &e.message {
        out.push_str(&format!("AWS would say: {m}\n"));
    }
    out.push('\n');
    for s in &e.statements {
        let sid = s.sid.as_ref().map(|x| format!(" `{x}`")).unwrap_or_default();
        let at = s.position.map(|p| format!(" (line {}, column {})", p.line, p.column)).unwrap_or_default();
        let state = if s.not_applicable {
            "not applicable: the request names no resource".to_owned()
        } else if s.matched {
            "MATCHES".to_owned()
        } else {
            "does not match".to_owned()
        };
        out.push_str(&format!(
            "{} policy `{}` statement {}{sid}{at}, {}: {state}\n",
            s.role, s.policy_id, s.index, s.effect
        ));
        for l in &s.lacks {
            out.push_str(&format!("    - {}\n", lack_words(l, req)));
        }
    }
    if !e.missing_context_keys.is_empty() {
        out.push_str(&format!("\nmissing context keys: {}\n", e.missing_context_keys.join(", ")));
    }
    if !e.suggestions.is_empty() {
        out.push_str("\nwhat would make it allowed:\n");
        for s in &e.suggestions {
            out.push_str(&format!("  - {s}\n"));
        }
    }
    out
}
