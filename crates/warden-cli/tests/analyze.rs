//! `warden check public-access` on the user guide's repository policies, and `warden findings`
//! over a running registry's repositories (policies set with the real AWS CLI), against
//! hand-written expectations: which policies are public, which grant another account access,
//! to whom and for which actions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use support::clients::aws_ecr;
use support::registry::{warden_bin, Registry, ACCOUNT};
use support::{run, TempDir};

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/examples").join(name).display().to_string()
}

fn check(policy: &str) -> (Option<i32>, Value) {
    let mut cmd = Command::new(warden_bin());
    cmd.args(["check", "public-access", "--policy", policy, "--account-id", ACCOUNT]);
    let r = run(&mut cmd, None, Duration::from_secs(30));
    (r.code, serde_json::from_str(&r.stdout).unwrap_or(Value::Null))
}

#[test]
fn the_guides_repository_policies_are_checked_for_public_access() {
    // (example, exit code, result, who gets in from outside and whether publicly)
    type Case = (&'static str, i32, &'static str, &'static [(&'static str, bool)]);
    let cases: &[Case] = &[
        ("repository-allow-all-accounts-pull.json", 1, "FAIL", &[("*", true)]),
        ("repository-allow-other-accounts-push.json", 0, "PASS", &[("444455556666", false)]),
        ("repository-allow-codebuild-service-pull.json", 0, "PASS", &[("codebuild.amazonaws.com", false)]),
        ("repository-allow-iam-users-push-pull.json", 0, "PASS", &[]),
        ("repository-allow-user-describe.json", 0, "PASS", &[]),
        ("repository-allow-users-pull-admin-full.json", 0, "PASS", &[]),
        ("repository-deny-all.json", 0, "PASS", &[]),
        ("repository-deny-outside-ip-range.json", 0, "PASS", &[]),
    ];
    for (name, code, result, who) in cases {
        let (exit, out) = check(&example(name));
        assert_eq!(exit, Some(*code), "{name}: {out}");
        assert_eq!(out["result"], *result, "{name}: {out}");
        let found: Vec<(String, bool)> = out["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["principal"].as_object().unwrap().values().next().unwrap().as_str().unwrap().to_owned(),
                    f["isPublic"].as_bool().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, bool)> = who.iter().map(|(p, public)| ((*p).to_owned(), *public)).collect();
        assert_eq!(found, expected, "{name}: {out}");
        if *result == "FAIL" {
            assert_eq!(out["reasons"][0]["statementIndex"], 0);
            assert_eq!(out["reasons"][0]["statementId"], "AllowPull");
        }
    }
}

#[test]
fn undecided_policies_are_unknown_and_bad_input_is_exit_2() {
    let dir = TempDir::new("warden-check");
    let unknown = dir.join("unknown.json");
    std::fs::write(
        &unknown,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage",
            "Condition":{"ForAnyValue:StringLike":{"aws:PrincipalAccount":"4444*"}}}]}"#,
    )
    .unwrap();
    let (exit, out) = check(unknown.to_str().unwrap());
    assert_eq!(exit, Some(3), "{out}");
    assert_eq!(out["result"], "UNKNOWN");
    assert!(out["reasons"][0]["description"].as_str().unwrap().contains("aws:PrincipalAccount"), "{out}");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"Statement":[{"Effect":"Allow","Action":"ecr:*"}]}"#).unwrap();
    let mut cmd = Command::new(warden_bin());
    cmd.args(["check", "public-access", "--policy", bad.to_str().unwrap()]);
    let r = run(&mut cmd, None, Duration::from_secs(30));
    assert_eq!(r.code, Some(2), "a repository policy needs a Principal: {r}");
    let mut cmd = Command::new(warden_bin());
    cmd.args(["check", "public-access", "--policy", "/nonexistent.json"]);
    assert_eq!(run(&mut cmd, None, Duration::from_secs(30)).code, Some(2));
}

#[test]
fn findings_cover_every_repository_of_a_running_registry() {
    let reg = Registry::warden();
    for repo in ["team/public", "team/partner", "team/private"] {
        aws_ecr(&reg.host, &["create-repository", "--repository-name", repo], None).ok();
    }
    let set = |repo: &str, policy: &str| {
        aws_ecr(&reg.host, &["set-repository-policy", "--repository-name", repo, "--policy-text", policy], None).ok();
    };
    set("team/public", &std::fs::read_to_string(example("repository-allow-all-accounts-pull.json")).unwrap());
    set("team/partner", &std::fs::read_to_string(example("repository-allow-other-accounts-push.json")).unwrap());
    set(
        "team/private",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/reader")}, "Action": "ecr:BatchGetImage"}]})
        .to_string(),
    );
    let mut cmd = Command::new(warden_bin());
    cmd.args(["findings", "--registry"]).arg(&reg.data_dir).args(["--account-id", ACCOUNT]);
    let r = run(&mut cmd, None, Duration::from_secs(30));
    assert!(r.success(), "{r}");
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    let findings = out["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{out:#}");
    let public = findings.iter().find(|f| f["resource"] == Registry::repository_arn("team/public")).unwrap();
    assert_eq!(public["isPublic"], true);
    assert_eq!(public["principal"], json!({"AWS": "*"}));
    assert_eq!(public["resourceType"], "AWS::ECR::Repository");
    assert_eq!(public["resourceOwnerAccount"], ACCOUNT);
    assert_eq!(public["status"], "ACTIVE");
    let partner = findings.iter().find(|f| f["resource"] == Registry::repository_arn("team/partner")).unwrap();
    assert_eq!(partner["isPublic"], false);
    assert_eq!(partner["principal"], json!({"AWS": "444455556666"}));
    assert!(partner["action"].as_array().unwrap().contains(&json!("ecr:PutImage")));
    assert!(out["undecided"].as_array().unwrap().is_empty());
    // who-can reads the repository's stored policy from the same store.
    let who = warden_json(&[
        "who-can",
        "--action",
        "ecr:BatchGetImage",
        "--resource",
        &Registry::repository_arn("team/public"),
        "--data-dir",
        reg.data_dir.to_str().unwrap(),
        "--policies",
        reg.policies.to_str().unwrap(),
    ]);
    assert_eq!(who["outsideTheStore"][0]["isPublic"], true, "{who:#}");
}

#[test]
fn no_new_access_and_access_not_granted_answer_with_witnesses() {
    let dir = TempDir::new("warden-nna");
    let old = dir.join("old.json");
    let new = dir.join("new.json");
    std::fs::write(
        &old,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team/*"}]}"#,
    )
    .unwrap();
    std::fs::write(
        &new,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team/*"},
            {"Sid":"Push","Effect":"Allow","Action":["ecr:PutImage","ecr:InitiateLayerUpload"],"Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team/*",
             "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
    )
    .unwrap();
    let nna = |a: &Path, b: &Path| {
        let mut cmd = Command::new(warden_bin());
        cmd.args(["check", "no-new-access", "--existing"]).arg(a).arg("--new").arg(b);
        run(&mut cmd, None, Duration::from_secs(60))
    };
    let r = nna(&old, &new);
    assert_eq!(r.code, Some(1), "{r}");
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["result"], "FAIL");
    assert_eq!(out["reasons"][0]["statementIndex"], 1);
    assert_eq!(out["reasons"][0]["statementId"], "Push");
    let w = &out["witnesses"][0]["requests"][0];
    assert!(["ecr:putimage", "ecr:initiatelayerupload"].contains(&w["action"].as_str().unwrap()), "{w}");
    assert!(w["resource"].as_str().unwrap().starts_with("arn:aws:ecr:us-east-1:111122223333:repository/team/"));
    assert!(w["context"]["aws:SourceIp"].as_str().unwrap().starts_with("10."), "{w}");
    let r = nna(&new, &old);
    assert_eq!(r.code, Some(0), "{r}");
    // The same check over sets of policies, as a simulate request's PolicyInputList.
    let list = dir.join("list.json");
    std::fs::write(&list, json!({"PolicyInputList": [std::fs::read_to_string(&old).unwrap()]}).to_string()).unwrap();
    assert_eq!(nna(&list, &new).code, Some(1));
    assert_eq!(nna(&list, &old).code, Some(0));

    let ang = |actions: &str| {
        let mut cmd = Command::new(warden_bin());
        cmd.args(["check", "access-not-granted", "--policy"]).arg(&new).args(["--access", actions]);
        run(&mut cmd, None, Duration::from_secs(60))
    };
    assert_eq!(ang("ecr:DeleteRepository,ecr:BatchDeleteImage").code, Some(0));
    let r = ang("ecr:PutImage");
    assert_eq!(r.code, Some(1), "{r}");
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["witnesses"][0]["requests"][0]["action"], "ecr:putimage");
    // Decided: a date condition (FAIL: before 2030 the new policy allows PutImage).
    let dated = dir.join("dated.json");
    std::fs::write(
        &dated,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:PutImage","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}"#,
    )
    .unwrap();
    let r = nna(&old, &dated);
    assert_eq!(r.code, Some(1), "{r}");
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(out["witnesses"][0]["requests"][0]["context"]["aws:CurrentTime"].as_str().unwrap() < "2030", "{out}");
    // Undecided: a binary condition.
    let binary = dir.join("binary.json");
    std::fs::write(
        &binary,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:PutImage","Resource":"*","Condition":{"BinaryEquals":{"k":"QmluYXJ5"}}}]}"#,
    )
    .unwrap();
    let r = nna(&old, &binary);
    assert_eq!(r.code, Some(3), "{r}");
    assert!(r.stdout.contains("UNKNOWN"));
}

fn warden_json(args: &[&str]) -> Value {
    let mut cmd = Command::new(warden_bin());
    cmd.args(args);
    let r = run(&mut cmd, None, Duration::from_secs(60));
    assert!(r.success(), "{args:?}: {r}");
    serde_json::from_str(&r.stdout).unwrap()
}

fn arns(out: &Value) -> Vec<(String, bool)> {
    out["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["principal"].as_str().unwrap().to_owned(), p["always"].as_bool().unwrap()))
        .collect()
}

#[test]
fn who_can_and_principal_can_over_the_demo_store_and_the_guides_policies() {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies").display().to_string();
    let repo = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";
    // Push: the power users and the admin, always; the partner account through the repository
    // policy (its own account must allow it too).
    let push = warden_json(&[
        "who-can",
        "--action",
        "ecr:PutImage",
        "--resource",
        repo,
        "--policies",
        &policies,
        "--resource-policy",
        &example("repository-allow-other-accounts-push.json"),
    ]);
    assert_eq!(
        arns(&push),
        [
            ("arn:aws:iam::111122223333:role/teams/ci".to_owned(), true),
            ("arn:aws:iam::111122223333:user/admin".to_owned(), true),
            ("arn:aws:iam::111122223333:user/pusher".to_owned(), true),
        ]
    );
    assert_eq!(push["outsideTheStore"][0]["principal"], json!({"AWS": "444455556666"}));
    // Pull through the public example: everyone in the store who may pull, and the public.
    let pull = warden_json(&[
        "who-can",
        "--action",
        "ecr:BatchGetImage",
        "--resource",
        repo,
        "--policies",
        &policies,
        "--resource-policy",
        &example("repository-allow-all-accounts-pull.json"),
    ]);
    assert_eq!(arns(&pull).len(), 4, "{pull:#}");
    assert_eq!(pull["outsideTheStore"][0]["isPublic"], true);
    // Delete: only the admin (the power-user policy has no BatchDeleteImage).
    let delete =
        warden_json(&["who-can", "--action", "ecr:BatchDeleteImage", "--resource", repo, "--policies", &policies]);
    assert_eq!(arns(&delete), [("arn:aws:iam::111122223333:user/admin".to_owned(), true)]);

    // A conditional grant: who-can says under which conditions.
    let dir = TempDir::new("warden-who");
    std::fs::create_dir_all(dir.join("identities")).unwrap();
    std::fs::write(
        dir.join("identities/a.json"),
        json!({"account": "111122223333", "users": {"builder": {"inline_policies": {"push": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ecr:PutImage", "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}}}}})
        .to_string(),
    )
    .unwrap();
    let who = warden_json(&[
        "who-can",
        "--action",
        "ecr:PutImage",
        "--resource",
        repo,
        "--policies",
        dir.path().to_str().unwrap(),
    ]);
    let builder = &who["principals"][0];
    assert_eq!(builder["principal"], "arn:aws:iam::111122223333:user/builder");
    assert_eq!(builder["always"], false);
    let conditions = builder["conditions"].as_array().unwrap();
    assert!(!conditions.is_empty());
    assert!(conditions.iter().all(|c| c["aws:SourceIp"].as_str().unwrap().starts_with("10.")), "{conditions:?}");

    // principal-can: the reader may read, never write.
    let reader = warden_json(&[
        "principal-can",
        "--principal",
        "arn:aws:iam::111122223333:user/reader",
        "--policies",
        &policies,
    ]);
    let actions: Vec<&str> =
        reader["permissions"].as_array().unwrap().iter().map(|p| p["exampleAction"].as_str().unwrap()).collect();
    assert!(actions.contains(&"ecr:batchgetimage"), "{actions:?}");
    assert!(!actions.iter().any(|a| a.contains("put") || a.contains("delete")), "{actions:?}");
}

/// who-can for each of the guide's repository policies, over a store holding the users they name
/// (with no identity policies of their own: in the same account, the repository policy alone
/// grants) and one user they do not name.
#[test]
fn who_can_answers_for_each_of_the_guides_repository_policies() {
    let dir = TempDir::new("warden-who-guide");
    std::fs::create_dir_all(dir.join("identities")).unwrap();
    let users = ["push-pull-user-1", "pull-user-1", "admin-user", "username", "nobody"];
    let spec: serde_json::Map<String, Value> = users.iter().map(|u| ((*u).to_owned(), json!({}))).collect();
    std::fs::write(dir.join("identities/guide.json"), json!({"account": ACCOUNT, "users": spec}).to_string()).unwrap();
    let policies = dir.path().to_str().unwrap().to_owned();
    let repo = "arn:aws:ecr:us-east-1:111122223333:repository/guide";
    let who = |policy: &str, action: &str| -> (Vec<String>, Vec<Value>) {
        let out = warden_json(&[
            "who-can",
            "--action",
            action,
            "--resource",
            repo,
            "--policies",
            &policies,
            "--resource-policy",
            &example(policy),
        ]);
        let inside = out["principals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["principal"].as_str().unwrap().rsplit('/').next().unwrap().to_owned())
            .collect();
        (inside, out["outsideTheStore"].as_array().unwrap().iter().map(|o| o["principal"].clone()).collect())
    };
    let cases: &[(&str, &str, &[&str], &[Value])] = &[
        (
            "repository-allow-all-accounts-pull.json",
            "ecr:BatchGetImage",
            &["admin-user", "nobody", "pull-user-1", "push-pull-user-1", "username"],
            &[],
        ),
        ("repository-allow-iam-users-push-pull.json", "ecr:PutImage", &["push-pull-user-1"], &[]),
        ("repository-allow-user-describe.json", "ecr:DescribeImages", &["username"], &[]),
        ("repository-allow-user-describe.json", "ecr:BatchGetImage", &[], &[]),
        ("repository-allow-users-pull-admin-full.json", "ecr:BatchGetImage", &["admin-user", "pull-user-1"], &[]),
        ("repository-allow-users-pull-admin-full.json", "ecr:DeleteRepository", &["admin-user"], &[]),
        ("repository-deny-all.json", "ecr:BatchGetImage", &[], &[]),
        ("repository-deny-outside-ip-range.json", "ecr:BatchGetImage", &[], &[]),
        ("repository-allow-other-accounts-push.json", "ecr:PutImage", &[], &[]),
        ("repository-allow-codebuild-service-pull.json", "ecr:BatchGetImage", &[], &[]),
    ];
    for (policy, action, inside, _) in cases {
        let (got, _) = who(policy, action);
        assert_eq!(got, inside.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(), "{policy} {action}");
    }
    // Outside the store: the public, the partner account, the CodeBuild service.
    assert_eq!(who("repository-allow-all-accounts-pull.json", "ecr:BatchGetImage").1, [json!({"AWS": "*"})]);
    assert_eq!(who("repository-allow-other-accounts-push.json", "ecr:PutImage").1, [json!({"AWS": "444455556666"})]);
    assert_eq!(
        who("repository-allow-codebuild-service-pull.json", "ecr:BatchGetImage").1,
        [json!({"Service": "codebuild.amazonaws.com"})]
    );
}
