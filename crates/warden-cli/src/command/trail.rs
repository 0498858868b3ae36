//! `warden trail lookup`: the registry's audit trail read back as `aws cloudtrail lookup-events`
//! reads CloudTrail, with its filters and its response shape (pretty JSON on stdout).
//!
//! The trail is `--trail-dir`, or `trail/` under `--data-dir` (default `./data`). Times are ISO
//! 8601 (`2026-12-06T10:00:00Z`, or with an offset) or epoch seconds, as the AWS CLI takes them.
//!
//! Exit status: 0 with the response, 2 with `warden: <ExceptionName>: <message>` on stderr when
//! the query is invalid (CloudTrail's exceptions) or the trail cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use warden_registry::trail::lookup::{lookup, parse_time, LookupAttribute, LookupError, LookupQuery, Time};

/// Arguments of `warden trail`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Looks events up, as `aws cloudtrail lookup-events` does.
    Lookup(LookupArgs),
}

#[derive(Debug, clap::Args)]
struct LookupArgs {
    /// The registry's data directory; the trail is its `trail/`.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// The trail directory itself (instead of `--data-dir`).
    #[arg(long, conflicts_with = "data_dir")]
    trail_dir: Option<PathBuf>,
    /// One lookup attribute: `AttributeKey=EventName,AttributeValue=PutImage`, or JSON
    /// `[{"AttributeKey": "EventName", "AttributeValue": "PutImage"}]`. CloudTrail takes one.
    #[arg(long, num_args = 1.., value_name = "ATTRIBUTE")]
    lookup_attributes: Vec<String>,
    /// Events at or after this time: ISO 8601 or epoch seconds.
    #[arg(long)]
    start_time: Option<String>,
    /// Events at or before this time: ISO 8601 or epoch seconds.
    #[arg(long)]
    end_time: Option<String>,
    /// Events per page: 1 through 50 (default 50).
    #[arg(long)]
    max_results: Option<usize>,
    /// The `NextToken` of the previous page (with the same attributes and times).
    #[arg(long)]
    next_token: Option<String>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let Sub::Lookup(a) = &args.command;
    match run_lookup(a) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("warden: {e}");
            ExitCode::from(2)
        }
    }
}

fn time(name: &'static str, value: Option<&String>) -> Result<Option<Time>, LookupError> {
    value.map(|v| parse_time(v).ok_or_else(|| LookupError::InvalidTimestamp { name, value: v.clone() })).transpose()
}

fn run_lookup(a: &LookupArgs) -> Result<String, LookupError> {
    let mut attributes = Vec::new();
    for arg in &a.lookup_attributes {
        attributes.extend(LookupAttribute::parse_cli(arg)?);
    }
    let query = LookupQuery {
        attributes,
        start_time: time("--start-time", a.start_time.as_ref())?,
        end_time: time("--end-time", a.end_time.as_ref())?,
        max_results: a.max_results,
        next_token: a.next_token.clone(),
    };
    let trail_dir = a.trail_dir.clone().unwrap_or_else(|| a.data_dir.join("trail"));
    let response = lookup(&trail_dir, &query)?;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&response, &mut ser)
        .map_err(|e| LookupError::Io { path: trail_dir.clone(), source: std::io::Error::other(e) })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
