//! `warden validate`, `warden explain` and `warden test` as users run them, on the files in
//! `policies/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::process::{Command, Output};

const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden")).args(args).output().expect("the warden binary runs")
}

fn temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("warden-tools-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn validate_reports_findings_with_underlined_spans() {
    let file = temp(
        "bad.json",
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"ecr:GetImage\", \"Resource\": \"*\"},\n    {\"Effect\": \"Allow\", \"NotAction\": \"ecr:DeleteRepository\", \"Resource\": \"*\"}\n  ]\n}\n",
    );
    let out = warden(&["validate", &file]);
    assert_eq!(out.status.code(), Some(1), "an ERROR finding exits 1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error[INVALID_ACTION]: the action `ecr:GetImage` does not exist in Amazon ECR"), "{text}");
    assert!(text.contains(&format!("  --> {file}:4:35")), "{text}");
    assert!(text.contains("4 |     {\"Effect\": \"Allow\", \"Action\": \"ecr:GetImage\", \"Resource\": \"*\"},\n  |                                   ^^^^^^^^^^^^^^"), "{text}");
    assert!(text.contains("security warning[ALLOW_WITH_NOT_ACTION]"), "{text}");

    let out = warden(&["validate", "--format", "json", &file]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["findings"][0]["findingType"], "ERROR");
    assert_eq!(v[0]["findings"][0]["issueCode"], "INVALID_ACTION");
    assert_eq!(v[0]["findings"][0]["location"]["start"], serde_json::json!({"Line": 4, "Column": 35}));
    assert_eq!(v[0]["findings"][1]["findingType"], "SECURITY_WARNING");
}

#[test]
fn validate_passes_the_shipped_policies() {
    for name in [
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonEC2ContainerRegistryPowerUser",
        "AmazonEC2ContainerRegistryPullOnly",
    ] {
        let out = warden(&["validate", &format!("{POLICIES}/managed/{name}.json")]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&out.stdout));
    }
    let out = warden(&["validate", "--type", "repository", &format!("{POLICIES}/examples/repository-deny-all.json")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = warden(&[
        "validate",
        "--type",
        "identity",
        &format!("{POLICIES}/examples/identity-invalid-principal-allow-user-describe.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[UNSUPPORTED_PRINCIPAL]"));
}

#[test]
fn explain_traces_and_suggests() {
    let out = warden(&[
        "explain",
        "--policies",
        POLICIES,
        "--principal",
        "arn:aws:iam::111122223333:user/reader",
        "--action",
        "ecr:PutImage",
        "--resource",
        "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("decision: implicitDeny — no identity-based policy allows (default deny)"), "{text}");
    assert!(
        text.contains(
            "AWS would say: User: arn:aws:iam::111122223333:user/reader is not authorized to perform: ecr:PutImage"
        ),
        "{text}"
    );
    assert!(text.contains("identity policy `AmazonEC2ContainerRegistryReadOnly` statement 0 (line 4, column 5), Allow: does not match"), "{text}");
    assert!(text.contains("what would make it allowed:"), "{text}");

    let out = warden(&[
        "explain",
        "--policies",
        POLICIES,
        "--principal",
        "arn:aws:iam::111122223333:user/pusher",
        "--format",
        "json",
        "--action",
        "ecr:BatchDeleteImage",
        "--resource",
        "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
        "--context",
        "ecr:ResourceTag/environment=prod",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "explicitDeny");
    assert!(v["suggestions"][0].as_str().unwrap().contains("`DenyDeletingProductionImages`"), "{v}");

    let out = warden(&[
        "explain",
        "--policies",
        POLICIES,
        "--principal",
        "arn:aws:iam::111122223333:user/ghost",
        "--action",
        "ecr:PutImage",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn test_runs_policy_unit_tests_and_writes_junit() {
    let junit = std::env::temp_dir().join(format!("warden-junit-{}.xml", std::process::id()));
    let out =
        warden(&["test", &format!("{POLICIES}/tests"), "--policies", POLICIES, "--junit", junit.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.trim_end().ends_with("8 passed, 0 failed"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuites name=\"warden test\" tests=\"8\" failures=\"0\">"), "{xml}");

    // A failing expectation fails the run, names the test, and lands in the report.
    let dir = std::env::temp_dir().join(format!("warden-failing-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.json"), r#"{"tests": [{"name": "reader pushes", "principal": "arn:aws:iam::111122223333:user/reader", "action": "ecr:PutImage", "resource": "arn:aws:ecr:us-east-1:111122223333:repository/a", "expect": "allowed"}]}"#).unwrap();
    let out = warden(&["test", dir.to_str().unwrap(), "--policies", POLICIES, "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL") && text.contains("reader pushes: expected allowed, got implicitDeny"), "{text}");
    assert!(text.trim_end().ends_with("0 passed, 1 failed"));
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<failure message=\"expected allowed, got implicitDeny (NoIdentityAllow)\"/>"));
}
