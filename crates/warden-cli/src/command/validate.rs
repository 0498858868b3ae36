//! `warden validate FILE... [--type identity|resource|repository|boundary] [--format text|json]`:
//! findings in the style of IAM Access Analyzer's policy validation.
//!
//! Exit status: 1 when any file has an `ERROR` finding, 2 when a file cannot be read, else 0.

use std::process::ExitCode;

use warden_policy::validate::{kind_from_name, validate, Finding, FindingType};

/// Arguments of `warden validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files.
    #[arg(required = true)]
    files: Vec<String>,
    /// What the policies are.
    #[arg(long = "type", default_value = "identity", value_parser = ["identity", "resource", "repository", "boundary"])]
    kind: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let Some(kind) = kind_from_name(&args.kind) else { return ExitCode::from(2) };
    let mut any_error = false;
    let mut json = Vec::new();
    let mut text = String::new();
    for file in &args.files {
        let source = match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("warden validate: cannot read `{file}`: {e}");
                return ExitCode::from(2);
            }
        };
        let findings = validate(&source, kind);
        any_error |= findings.iter().any(|f| f.finding_type == FindingType::Error);
        match args.format {
            Format::Json => json.push(serde_json::json!({"file": file, "findings": findings})),
            Format::Text => text.push_str(&render(file, &source, &findings)),
        }
    }
    match args.format {
        Format::Json => println!("{}", serde_json::Value::Array(json)),
        Format::Text => print!("{text}"),
    }
    if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The findings of one file, compiler-style: the kind and code, the details, `file:line:column`,
/// the source line and the offending span underlined.
pub fn render(file: &str, source: &str, findings: &[Finding]) -> String {
    if findings.is_empty() {
        return format!("{file}: no findings\n");
    }
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!("{}[{}]: {}\n", f.finding_type.label(), f.issue_code, f.finding_details));
        let Some(loc) = f.location else {
            out.push_str(&format!("  --> {file}\n\n"));
            continue;
        };
        out.push_str(&format!("  --> {file}:{}:{}\n", loc.start.line, loc.start.column));
        let line = source.lines().nth(loc.start.line.saturating_sub(1)).unwrap_or("");
        let number = loc.start.line.to_string();
        let pad = " ".repeat(number.len());
        let width = if loc.end.line == loc.start.line {
            loc.end.column.saturating_sub(loc.start.column).max(1)
        } else {
            line.chars().count().saturating_sub(loc.start.column - 1).max(1)
        };
        out.push_str(&format!(
            "{pad} |\n{number} | {line}\n{pad} | {}{}\n\n",
            " ".repeat(loc.start.column - 1),
            "^".repeat(width)
        ));
    }
    out
}
