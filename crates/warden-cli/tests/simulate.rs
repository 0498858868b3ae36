//! `warden simulate` as a user runs it: the real binary, the AWS CLI's request JSON on a file or
//! standard input, the response on standard output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::io::Write;
use std::process::{Command, Output, Stdio};

use warden_policy::simulate::SimulationResponse;
use warden_policy::PolicyKind;
use warden_testkit::{
    corpus_dir, load_corpus, run_corpus, sid_at, simulate_request, Case, CaseFile, CaseRunner, Observed,
};

fn warden(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the warden binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("stdin accepts the request");
    drop(input);
    child.wait_with_output().expect("warden exits")
}

/// The corpus through the real binary: one `warden simulate --input -` per case.
struct CliRunner;

impl CaseRunner for CliRunner {
    fn name(&self) -> &str {
        "warden simulate"
    }

    fn decide(&self, file: &CaseFile, case: &Case) -> Result<Option<Observed>, String> {
        let Some(request) = simulate_request(file, case) else { return Ok(None) };
        let body = serde_json::to_string(&request).map_err(|e| e.to_string())?;
        let out = warden(&["simulate", "--input", "-"], Some(&body));
        if !out.status.success() {
            return Err(format!("exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
        }
        let response: SimulationResponse = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        let [result] = response.evaluation_results.as_slice() else {
            return Err(format!("expected one result, got {}", response.evaluation_results.len()));
        };
        let mut sids = Vec::new();
        for m in &result.matched_statements {
            let (text, kind) = if m.source_policy_id == "ResourcePolicy" {
                (request.resource_policy.clone().unwrap_or_default(), PolicyKind::Resource)
            } else if m.source_policy_id == "PermissionsBoundaryPolicyInputList.1" {
                (request.permissions_boundary_policy_input_list.concat(), PolicyKind::Boundary)
            } else {
                let n: usize = m
                    .source_policy_id
                    .trim_start_matches("PolicyInputList.")
                    .parse()
                    .map_err(|_| format!("unexpected SourcePolicyId `{}`", m.source_policy_id))?;
                (request.policy_input_list.get(n - 1).cloned().unwrap_or_default(), PolicyKind::Identity)
            };
            let sid = sid_at(&text, kind, m.start_position.line, m.start_position.column)
                .ok_or_else(|| format!("no statement starts at {:?} in {}", m.start_position, m.source_policy_id))?;
            sids.push(sid);
        }
        sids.sort();
        Ok(Some(Observed { outcome: result.eval_decision, matched_sids: sids }))
    }
}

#[test]
fn corpus_through_the_binary() {
    let corpus = load_corpus(&corpus_dir()).unwrap_or_else(|e| panic!("{e}"));
    let report = run_corpus(&CliRunner, &corpus);
    eprintln!(
        "warden simulate: {} passed, {} failed, {} not expressible in SimulateCustomPolicy (session policies)",
        report.passed,
        report.failures.len(),
        report.not_expressible.len()
    );
    assert!(report.failures.is_empty(), "{} failures:\n{}", report.failures.len(), report.failures.join("\n"));
    assert!(report.passed > 250, "only {} cases ran through the binary", report.passed);
}

const REQUEST: &str = r#"{
  "PolicyInputList": ["{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Pull\",\"Effect\":\"Allow\",\"Action\":\"ecr:BatchGetImage\",\"Resource\":\"arn:aws:ecr:us-east-1:111122223333:repository/team/*\"}]}"],
  "ActionNames": ["ecr:BatchGetImage", "ecr:PutImage"],
  "ResourceArns": ["arn:aws:ecr:us-east-1:111122223333:repository/team/app"],
  "ContextEntries": [],
  "MaxItems": 100
}"#;

#[test]
fn reads_a_file_and_prints_the_aws_shape() {
    let dir = std::env::temp_dir().join(format!("warden-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("req.json");
    std::fs::write(&path, REQUEST).expect("request written");
    for arg in [path.display().to_string(), format!("file://{}", path.display())] {
        let out = warden(&["simulate", "--input", &arg], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(v["EvaluationResults"][0]["EvalDecision"], "allowed");
        assert_eq!(v["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"], "PolicyInputList.1");
        assert_eq!(v["EvaluationResults"][0]["MatchedStatements"][0]["StartPosition"]["Column"], 38);
        assert_eq!(v["EvaluationResults"][1]["EvalDecision"], "implicitDeny");
        assert_eq!(v["IsTruncated"], false);
        // The AWS CLI's 4-space indentation.
        assert!(String::from_utf8_lossy(&out.stdout).contains("\n    \"EvaluationResults\""));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn table_format() {
    let out = warden(&["simulate", "--input", "-", "--format", "table"], Some(REQUEST));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ACTION"), "{text}");
    assert!(
        lines[1].starts_with("ecr:BatchGetImage")
            && lines[1].contains("allowed")
            && lines[1].contains("PolicyInputList.1@1:38")
    );
    assert!(lines[2].starts_with("ecr:PutImage") && lines[2].contains("implicitDeny"));
}

#[test]
fn bad_input_exits_2_naming_the_field() {
    let cases = [
        (r#"{"ActionNames": ["ecr:PutImage"], "Bogus": 1}"#, "unknown field `Bogus`"),
        (r#"{"ActionNames": ["ecr:*"]}"#, "ActionNames[0]"),
        (
            r#"{"PolicyInputList": ["{\"Statement\":{\"Effect\":\"allow\",\"Action\":\"ecr:*\",\"Resource\":\"*\"}}"], "ActionNames": ["ecr:PutImage"]}"#,
            "PolicyInputList[0]: 1:24: statement 0: `Effect` must be `Allow` or `Deny` (case matters), not `allow`",
        ),
        (
            r#"{"ActionNames": ["ecr:PutImage"], "ContextEntries": [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["x"], "ContextKeyType": "ip"}]}"#,
            "ContextEntries[0]",
        ),
        (r#"{"ActionNames": ["ecr:PutImage"], "CallerArn": "bob"}"#, "CallerArn"),
        ("not json", "invalid request JSON"),
    ];
    for (input, expected) in cases {
        let out = warden(&["simulate", "--input", "-"], Some(input));
        assert_eq!(out.status.code(), Some(2), "{input}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{input}: stderr was {err}");
        assert!(out.stdout.is_empty());
    }
    let out = warden(&["simulate", "--input", "/nonexistent/req.json"], None);
    assert_eq!(out.status.code(), Some(2));
}

/// The README's one-minute example prints what the README shows.
#[test]
fn readme_example_is_true() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let block = readme.split("```console\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
    let mut lines = block.lines();
    let command = lines.next().unwrap().trim_start_matches("$ warden ");
    let expected: Vec<&str> = lines.collect();
    let args: Vec<String> = command
        .split_whitespace()
        .map(|a| if a.starts_with("policies/") { format!("{root}/{a}") } else { a.to_owned() })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = warden(&args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
}

/// SimulatePrincipalPolicy: the principal's stored policies (attached, group, boundary) from the
/// identity store in `policies/`.
#[test]
fn principal_simulation_uses_the_identity_store() {
    let policies = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let req = r#"{"ActionNames": ["ecr:PutImage", "ecr:BatchDeleteImage"],
                  "ResourceArns": ["arn:aws:ecr:us-east-1:111122223333:repository/team/app"],
                  "ContextEntries": [{"ContextKeyName": "ecr:ResourceTag/environment", "ContextKeyValues": ["prod"], "ContextKeyType": "string"}]}"#;
    let out = warden(
        &["simulate", "--input", "-", "--policies", policies, "--principal", "arn:aws:iam::111122223333:user/pusher"],
        Some(req),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["EvaluationResults"];
    assert_eq!(r[0]["EvalDecision"], "allowed");
    assert_eq!(r[0]["MatchedStatements"][0]["SourcePolicyId"], "AmazonEC2ContainerRegistryPowerUser");
    assert_eq!(r[0]["MatchedStatements"][0]["SourcePolicyType"], "aws-managed");
    // The group's customer-managed policy denies deleting production images.
    assert_eq!(r[1]["EvalDecision"], "explicitDeny");
    assert_eq!(r[1]["MatchedStatements"][0]["SourcePolicyId"], "RepositoryTagGuard");
    assert_eq!(r[1]["MatchedStatements"][0]["SourcePolicyType"], "user-managed");

    // The same through PolicySourceArn in the request, for a role session with a boundary.
    let req = r#"{"PolicySourceArn": "arn:aws:sts::111122223333:assumed-role/ci/build-1", "ActionNames": ["ecr:PutImage", "ecr:DeleteRepository"],
                  "ResourceArns": ["arn:aws:ecr:us-east-1:111122223333:repository/team/app"]}"#;
    let out = warden(&["simulate", "--input", "-", "--policies", policies], Some(req));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["EvaluationResults"][0]["EvalDecision"], "allowed");
    assert_eq!(v["EvaluationResults"][0]["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"], true);
    assert_eq!(v["EvaluationResults"][1]["EvalDecision"], "implicitDeny");

    let out = warden(
        &["simulate", "--input", "-", "--policies", policies, "--principal", "arn:aws:iam::111122223333:user/nobody"],
        Some(r#"{"ActionNames": ["ecr:PutImage"]}"#),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoSuchEntity: PolicySourceArn"));
}
