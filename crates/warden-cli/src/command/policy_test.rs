//! `warden test DIR [--junit FILE] [--policies DIR]`: policy unit tests as files, so teams assert
//! their policies in CI. Each `*.json` file in DIR:
//!
//! ```json
//! {
//!   "description": "who may push to team repositories",
//!   "resourcePolicies": {"arn:aws:ecr:us-east-1:111122223333:repository/team/app": "team-app-policy.json"},
//!   "tests": [
//!     {"name": "pusher pushes", "principal": "arn:aws:iam::111122223333:user/pusher",
//!      "action": "ecr:PutImage", "resource": "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
//!      "context": {"ecr:ResourceTag/environment": "dev"}, "expect": "allowed"}
//!   ]
//! }
//! ```
//!
//! `expect` is `allowed`, `explicitDeny`, `implicitDeny`, or `denied` (either deny). Resource
//! policy files are relative to the test file. Principals come from the identity store in
//! `--policies`. The output ends with `N passed, M failed`; exit 1 when any failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use warden_identity::Store;
use warden_policy::{evaluate, Outcome, Policies, PolicySet, Request};

use super::common;

/// Arguments of `warden test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory of test files.
    dir: PathBuf,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// The policies directory holding `identities/`.
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TestFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    resource_policies: BTreeMap<String, String>,
    tests: Vec<TestCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCase {
    name: String,
    principal: String,
    action: String,
    #[serde(default = "star")]
    resource: String,
    #[serde(default)]
    context: BTreeMap<String, OneOrMany>,
    expect: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn star() -> String {
    "*".to_owned()
}

struct TestResult {
    file: String,
    name: String,
    failure: Option<String>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    match run_tests(args) {
        Ok((results, report)) => {
            let failed = results.iter().filter(|r| r.failure.is_some()).count();
            for r in &results {
                match &r.failure {
                    None => println!("ok    {} :: {}", r.file, r.name),
                    Some(why) => println!("FAIL  {} :: {}: {why}", r.file, r.name),
                }
            }
            if let (Some(path), Some(xml)) = (&args.junit, report) {
                if let Err(e) = std::fs::write(path, xml) {
                    eprintln!("warden test: cannot write `{}`: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            println!("{} passed, {failed} failed", results.len() - failed);
            if failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("warden test: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_tests(args: &Args) -> Result<(Vec<TestResult>, Option<String>), String> {
    let store = Store::load(&args.policies).map_err(|e| e.to_string())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .map_err(|e| format!("cannot read `{}`: {e}", args.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no test files (*.json) in `{}`", args.dir.display()));
    }
    let mut results = Vec::new();
    for path in &files {
        results.extend(run_file(&store, path)?);
    }
    let report = args.junit.as_ref().map(|_| junit(&results));
    Ok((results, report))
}

fn run_file(store: &Store, path: &Path) -> Result<Vec<TestResult>, String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{name}`: {e}"))?;
    let file: TestFile = serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
    let _ = &file.description;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut resource_policies: BTreeMap<&str, PolicySet> = BTreeMap::new();
    for (arn, policy) in &file.resource_policies {
        let set =
            common::resource_policy(&dir.join(policy).display().to_string()).map_err(|e| format!("{name}: {e}"))?;
        resource_policies.insert(arn, set);
    }
    let mut out = Vec::new();
    for t in &file.tests {
        let failure = check(store, t, &resource_policies).err();
        out.push(TestResult { file: name.clone(), name: t.name.clone(), failure });
    }
    Ok(out)
}

fn check(store: &Store, t: &TestCase, resource_policies: &BTreeMap<&str, PolicySet>) -> Result<(), String> {
    let resolved = common::resolve(store, &t.principal)?;
    let pairs: Vec<(String, String)> = t
        .context
        .iter()
        .flat_map(|(k, v)| match v {
            OneOrMany::One(x) => vec![(k.clone(), x.clone())],
            OneOrMany::Many(xs) => xs.iter().map(|x| (k.clone(), x.clone())).collect(),
        })
        .collect();
    let ctx = common::context(&resolved, &pairs)?;
    let account = common::resource_account(&t.resource, &resolved);
    let req = Request {
        principal: &resolved.principal,
        action: &t.action,
        resource: &t.resource,
        resource_account: &account,
        context: &ctx,
    };
    let policies = Policies {
        identity: &resolved.identity.policies,
        boundary: resolved.identity.boundary.as_ref(),
        session: None,
        resource: resource_policies.get(t.resource.as_str()),
    };
    let d = evaluate(&policies, &req);
    let ok = match t.expect.as_str() {
        "allowed" | "allow" => d.outcome == Outcome::Allowed,
        "explicitDeny" => d.outcome == Outcome::ExplicitDeny,
        "implicitDeny" => d.outcome == Outcome::ImplicitDeny,
        "denied" | "deny" => d.outcome != Outcome::Allowed,
        other => return Err(format!("`expect` must be allowed, explicitDeny, implicitDeny or denied, not `{other}`")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {}, got {} ({:?})", t.expect, d.outcome.as_str(), d.reason))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn junit(results: &[TestResult]) -> String {
    let mut by_file: BTreeMap<&str, Vec<&TestResult>> = BTreeMap::new();
    for r in results {
        by_file.entry(&r.file).or_default().push(r);
    }
    let failures = results.iter().filter(|r| r.failure.is_some()).count();
    let mut xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"warden test\" tests=\"{}\" failures=\"{failures}\">\n", results.len());
    for (file, cases) in by_file {
        let f = cases.iter().filter(|r| r.failure.is_some()).count();
        xml.push_str(&format!("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\">\n", escape(file), cases.len()));
        for c in cases {
            xml.push_str(&format!("    <testcase classname=\"{}\" name=\"{}\"", escape(file), escape(&c.name)));
            match &c.failure {
                None => xml.push_str("/>\n"),
                Some(why) => {
                    xml.push_str(&format!(">\n      <failure message=\"{}\"/>\n    </testcase>\n", escape(why)))
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}
