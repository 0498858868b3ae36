//! `warden trail lookup` as a user runs it: the real binary on a small trail (one sealed file, one
//! WAL with a torn last line), its JSON output, paging with `--next-token`, and the exit status
//! and message of bad queries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden")).args(args).output().expect("the warden binary runs")
}

fn event(id: &str, time: &str, name: &str, user: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"),
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLE",
            "userName": user,
        },
        "eventTime": time,
        "eventSource": "ecr.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "docker/27",
        "requestParameters": {"repositoryName": "app"},
        "responseElements": null,
        "requestID": format!("req-{id}"),
        "eventID": id,
        "readOnly": name.starts_with("BatchGet"),
        "resources": [{"ARN": format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app"), "accountId": ACCOUNT, "type": "AWS::ECR::Repository"}],
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    })
}

/// `DATA/trail`: three sealed events and two in the WAL, then a torn line.
fn write_trail(data: &Path) {
    let trail = data.join("trail");
    let dir = trail.join(format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/12/06"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = std::fs::File::create(
        dir.join(format!("{ACCOUNT}_CloudTrail_us-east-1_20261206T1000Z_AbCdEfGh12345678.json.gz")),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let records = [
        event("11111111-0000-4000-8000-000000000001", "2026-12-06T09:00:00Z", "CreateRepository", "alice"),
        event("11111111-0000-4000-8000-000000000002", "2026-12-06T09:10:00Z", "PutImage", "alice"),
        event("11111111-0000-4000-8000-000000000003", "2026-12-06T09:20:00Z", "BatchGetImage", "bob"),
    ];
    gz.write_all(json!({ "Records": records }).to_string().as_bytes()).unwrap();
    gz.finish().unwrap();
    std::fs::create_dir_all(trail.join("wal")).unwrap();
    let wal = format!(
        "{}\n{}\n{{\"eventID\": \"torn",
        event("11111111-0000-4000-8000-000000000004", "2026-12-06T10:05:00Z", "PutImage", "bob"),
        event("11111111-0000-4000-8000-000000000005", "2026-12-06T10:30:00Z", "BatchGetImage", "alice"),
    );
    std::fs::write(trail.join("wal/0001.jsonl"), wal).unwrap();
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v["Events"].as_array().unwrap().iter().map(|e| e["EventId"].as_str().unwrap()[33..].to_owned()).collect()
}

#[test]
fn lookup_prints_the_lookup_events_response() {
    let tmp = tempfile::tempdir().unwrap();
    write_trail(tmp.path());
    let data = tmp.path().to_str().unwrap();

    let v = ok_json(&warden(&["trail", "lookup", "--data-dir", data]));
    assert_eq!(ids(&v), ["005", "004", "003", "002", "001"]);
    assert!(v.get("NextToken").is_none());

    let v = ok_json(&warden(&[
        "trail",
        "lookup",
        "--data-dir",
        data,
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=PutImage",
    ]));
    assert_eq!(ids(&v), ["004", "002"]);
    let e = &v["Events"][0];
    assert_eq!(e["EventName"], "PutImage");
    assert_eq!(e["ReadOnly"], "false");
    assert_eq!(e["Username"], "bob");
    assert_eq!(e["AccessKeyId"], "AKIAEXAMPLE");
    assert_eq!(e["EventTime"], "2026-12-06T10:05:00+00:00");
    assert_eq!(e["Resources"][0]["ResourceType"], "AWS::ECR::Repository");
    let inner: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(inner["requestID"], "req-11111111-0000-4000-8000-000000000004");

    // JSON attributes, a time range with an offset and in epoch seconds (10:00Z = 1796551200).
    let trail = tmp.path().join("trail");
    let v = ok_json(&warden(&[
        "trail",
        "lookup",
        "--trail-dir",
        trail.to_str().unwrap(),
        "--lookup-attributes",
        r#"[{"AttributeKey": "Username", "AttributeValue": "alice"}]"#,
        "--start-time",
        "2026-12-06T10:10:00+01:00",
        "--end-time",
        "1796551200",
    ]));
    assert_eq!(ids(&v), ["002"]);
}

#[test]
fn pages_follow_next_token() {
    let tmp = tempfile::tempdir().unwrap();
    write_trail(tmp.path());
    let data = tmp.path().to_str().unwrap();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut args = vec!["trail", "lookup", "--data-dir", data, "--max-results", "2"];
        if let Some(t) = &token {
            args.extend(["--next-token", t.as_str()]);
        }
        let v = ok_json(&warden(&args));
        seen.extend(ids(&v));
        match v.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
        assert!(seen.len() < 10, "paging does not end: {seen:?}");
    }
    assert_eq!(seen, ["005", "004", "003", "002", "001"]);
}

#[test]
fn bad_queries_exit_2_with_the_cloudtrail_exception() {
    let tmp = tempfile::tempdir().unwrap();
    write_trail(tmp.path());
    let data = tmp.path().to_str().unwrap();

    let out = warden(&[
        "trail",
        "lookup",
        "--data-dir",
        data,
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=PutImage",
        "AttributeKey=Username,AttributeValue=bob",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("warden: InvalidLookupAttributesException: "), "{err}");

    let out = warden(&[
        "trail",
        "lookup",
        "--data-dir",
        data,
        "--start-time",
        "2026-12-06T11:00:00Z",
        "--end-time",
        "2026-12-06T10:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("warden: InvalidTimeRangeException: "), "{err}");

    let out = warden(&["trail", "lookup", "--data-dir", data, "--next-token", "not-a-token"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("warden: InvalidNextTokenException: "));

    let out = warden(&["trail", "lookup", "--data-dir", data, "--max-results", "51"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("warden: InvalidMaxResultsException: "));

    // An unreadable trail: a corrupt WAL line names the file and line.
    std::fs::write(tmp.path().join("trail/wal/0002.jsonl"), "\n{not json\n").unwrap();
    let out = warden(&["trail", "lookup", "--data-dir", data]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("warden: TrailReadException: ") && err.contains("0002.jsonl:2: "), "{err}");
}
