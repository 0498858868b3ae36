//! `warden lifecycle preview --policy FILE --images FILE [--now TIME]`: what an ECR lifecycle
//! policy would expire, offline, in the GetLifecyclePolicyPreview response shape.
//!
//! Exit status: 0 when the preview ran, 2 when the policy is invalid (ECR's validation message)
//! or an input cannot be read.

use std::process::ExitCode;

use warden_lifecycle::{preview, DescribeImages, LifecyclePolicy};

/// Arguments of `warden lifecycle`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Previews a policy over a DescribeImages listing.
    Preview(PreviewArgs),
}

#[derive(Debug, clap::Args)]
struct PreviewArgs {
    /// The lifecycle policy text (the `--lifecycle-policy-text` of put-lifecycle-policy).
    #[arg(long)]
    policy: String,
    /// The images: the JSON `aws ecr describe-images` prints (`{"imageDetails": [...]}`).
    #[arg(long)]
    images: String,
    /// The evaluation time: ISO 8601 or epoch seconds (default: now).
    #[arg(long)]
    now: Option<String>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let Sub::Preview(p) = &args.command;
    match run_preview(p) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("warden lifecycle preview: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &str) -> Result<String, String> {
    let path = path.strip_prefix("file://").unwrap_or(path);
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))
}

fn run_preview(p: &PreviewArgs) -> Result<String, String> {
    let policy =
        LifecyclePolicy::parse(&read(&p.policy)?).map_err(|e| format!("{}: {}", e.aws_exception(), e.aws_message()))?;
    let images: DescribeImages = serde_json::from_str(&read(&p.images)?)
        .map_err(|e| format!("{}: not a DescribeImages response: {e}", p.images))?;
    let now = match &p.now {
        Some(t) => warden_lifecycle::parse_time(&serde_json::Value::String(t.clone()))
            .ok_or_else(|| format!("--now: `{t}` is not an ISO 8601 time or epoch seconds"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0),
    };
    let response = preview(&policy, &images, now).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&response, &mut ser).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}
