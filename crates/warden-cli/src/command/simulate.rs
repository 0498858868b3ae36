//! `warden simulate --input REQ.json [--principal ARN] [--policies DIR] [--format json|table]`.
//!
//! Without a principal the request is a `SimulateCustomPolicy` request. With `--principal ARN`
//! (or a `PolicySourceArn` in the request) it is a `SimulatePrincipalPolicy` request: the
//! principal's inline, attached and group policies and its boundary come from the identity store
//! in `--policies DIR`.
//!
//! Exit status: 0 when the simulation ran (whatever it decided), 2 when the input is bad (the
//! message names the field), as the AWS CLI exits 252/255 without running.

use std::io::Read;
use std::process::ExitCode;

use std::path::PathBuf;

use warden_identity::Store;
use warden_policy::simulate::{
    simulate_custom_policy, simulate_principal_policy, SimulateCustomPolicyRequest, SimulatePrincipalPolicyRequest,
    SimulationResponse,
};

/// Arguments of `warden simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The request: a file with the JSON `aws iam simulate-custom-policy --cli-input-json` takes
    /// (`file://` prefix allowed), or `-` for standard input.
    #[arg(long, short)]
    input: String,
    /// Simulate this IAM user or role with its stored policies (the SimulatePrincipalPolicy
    /// shape; sets `PolicySourceArn`).
    #[arg(long)]
    principal: Option<String>,
    /// The policies directory holding `identities/` (for `--principal` / `PolicySourceArn`).
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

/// How to print the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// The SimulateCustomPolicy response shape, as the AWS CLI prints it.
    Json,
    /// A readable table.
    Table,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    match simulate(args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("warden simulate: {message}");
            ExitCode::from(2)
        }
    }
}

fn simulate(args: &Args) -> Result<String, String> {
    let text = read_input(&args.input)?;
    let mut value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("invalid request JSON: {e}"))?;
    if let (Some(arn), Some(obj)) = (&args.principal, value.as_object_mut()) {
        obj.insert("PolicySourceArn".into(), serde_json::Value::String(arn.clone()));
    }
    let response = if value.get("PolicySourceArn").is_some() {
        let request: SimulatePrincipalPolicyRequest =
            serde_json::from_value(value).map_err(|e| format!("invalid request JSON: {e}"))?;
        let store = Store::load(&args.policies).map_err(|e| e.to_string())?;
        simulate_principal_policy(&request, |arn| store.principal_policies(arn))
    } else {
        let request: SimulateCustomPolicyRequest =
            serde_json::from_value(value).map_err(|e| format!("invalid request JSON: {e}"))?;
        simulate_custom_policy(&request)
    };
    let response = response.map_err(|e| format!("{}: {e}", e.aws_code()))?;
    Ok(match args.format {
        Format::Json => to_aws_json(&response)?,
        Format::Table => table(&response),
    })
}

fn read_input(input: &str) -> Result<String, String> {
    if input == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(text);
    }
    let path = input.strip_prefix("file://").unwrap_or(input);
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))
}

/// JSON with the AWS CLI's four-space indentation.
fn to_aws_json(response: &SimulationResponse) -> Result<String, String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(response, &mut ser).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

fn table(response: &SimulationResponse) -> String {
    let mut rows = vec![[
        "ACTION".to_owned(),
        "RESOURCE".to_owned(),
        "DECISION".to_owned(),
        "MATCHED".to_owned(),
        "MISSING CONTEXT".to_owned(),
    ]];
    for r in &response.evaluation_results {
        let matched: Vec<String> = r
            .matched_statements
            .iter()
            .map(|m| format!("{}@{}:{}", m.source_policy_id, m.start_position.line, m.start_position.column))
            .collect();
        let missing: Vec<&str> = r
            .missing_context_values
            .iter()
            .chain(r.resource_specific_results.iter().flat_map(|s| &s.missing_context_values))
            .map(String::as_str)
            .collect();
        rows.push([
            r.eval_action_name.clone(),
            r.eval_resource_name.clone(),
            r.eval_decision.as_str().to_owned(),
            if matched.is_empty() { "-".to_owned() } else { matched.join(", ") },
            if missing.is_empty() { "-".to_owned() } else { missing.join(", ") },
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.pop();
    out
}
