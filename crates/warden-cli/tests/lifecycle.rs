//! `warden lifecycle preview` as a user runs it: the real binary on the guide's "all rule types"
//! example (ECR User Guide, "Filtering on All Images", Example B), as policy and DescribeImages
//! files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::process::{Command, Output};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/examples");

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden")).args(args).output().expect("the warden binary runs")
}

#[test]
fn preview_gives_the_guide_result_in_the_aws_shape() {
    let policy = format!("{EXAMPLES}/lifecycle-all-rule-types.json");
    let images = format!("{EXAMPLES}/lifecycle-images.json");
    let out =
        warden(&["lifecycle", "preview", "--policy", &policy, "--images", &images, "--now", "2026-11-26T12:00:00Z"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "COMPLETE");
    let results: Vec<(String, i64)> = v["previewResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["imageDigest"].as_str().unwrap().to_owned(), r["appliedRulePriority"].as_i64().unwrap()))
        .collect();
    // Images A, B and D are expired, by rules 1, 2 and 3; C and E are kept.
    assert_eq!(results, [("sha256:aaaa".to_owned(), 1), ("sha256:bbbb".to_owned(), 2), ("sha256:dddd".to_owned(), 3)]);
    assert_eq!(v["summary"]["expiringImageTotalCount"], 3);
    assert_eq!(v["previewResults"][0]["action"]["type"], "EXPIRE");
    assert_eq!(v["previewResults"][0]["imageTags"], serde_json::json!(["alpha-1", "beta-1"]));
    assert_eq!(v["previewResults"][1]["imagePushedAt"], "2026-11-23T12:00:00+00:00");

    // Twelve days later the untagged image E is older than a day too: rule 2 expires it.
    let out = warden(&["lifecycle", "preview", "--policy", &policy, "--images", &images, "--now", "1796731200"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["expiringImageTotalCount"], 4);
}

#[test]
fn an_invalid_policy_exits_2_with_ecr_validation_message() {
    let dir = std::env::temp_dir().join(format!("warden-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]}"#).unwrap();
    let images = format!("{EXAMPLES}/lifecycle-images.json");
    let out = warden(&["lifecycle", "preview", "--policy", bad.to_str().unwrap(), "--images", &images]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("InvalidParameterException: Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: rule with rulePriority 1: a rule with tagStatus `tagged` must specify `tagPrefixList`'"), "{err}");
    let out = warden(&[
        "lifecycle",
        "preview",
        "--policy",
        &format!("{EXAMPLES}/lifecycle-all-rule-types.json"),
        "--images",
        &images,
        "--now",
        "yesterday",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--now: `yesterday`"));
    std::fs::remove_dir_all(&dir).ok();
}
