//! The audit trail with real clients: the user guide's walkthrough with the AWS CLI and docker
//! leaves exactly the CloudTrail records AWS would (checked field by field, after the trail is
//! sealed into CloudTrail log files); `warden trail lookup` finds them by each attribute; no
//! secret is in any file; every call boto3 saw acknowledged has its record after a SIGKILL; and a
//! full disk makes `--trail-on-failure reject` refuse calls (and `continue` serve on) until there
//! is room again, with nothing lost. Needs the AWS CLI, boto3, docker (daemon started privately),
//! gzip, and root for a tmpfs mount; the tests fail without them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::clients::aws_ecr;
use support::dockerd::Dockerd;
use support::registry::{demo_policies, warden_bin, Registry, ACCOUNT, REGION};
use support::{http, require, run, wait_until, TempDir};

const ADMIN_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ADMIN_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// Every record in the trail directory: the sealed CloudTrail log files (decompressed with the
/// real `gzip`) and the complete lines of the write-ahead logs, by `eventID`.
fn records(trail: &Path) -> Vec<Value> {
    let mut by_id = BTreeMap::new();
    for file in sealed_files(trail) {
        let out = Command::new("gzip").arg("-dc").arg(&file).output().unwrap();
        assert!(out.status.success(), "gzip -dc {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        for r in doc["Records"].as_array().unwrap() {
            by_id.insert(r["eventID"].as_str().unwrap().to_owned(), r.clone());
        }
    }
    if let Ok(dir) = std::fs::read_dir(trail.join("wal")) {
        for entry in dir {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let complete = text.rsplit_once('\n').map(|(done, _)| done).unwrap_or("");
            for line in complete.lines().filter(|l| !l.trim().is_empty()) {
                let r: Value = serde_json::from_str(line).unwrap();
                by_id.insert(r["eventID"].as_str().unwrap().to_owned(), r);
            }
        }
    }
    let mut all: Vec<Value> = by_id.into_values().collect();
    all.sort_by(|a, b| a["eventTime"].as_str().cmp(&b["eventTime"].as_str()));
    all
}

/// The sealed log files under `TRAIL/AWSLogs`.
fn sealed_files(trail: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![trail.join("AWSLogs")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                out.push(p);
            }
        }
    }
    out
}

/// Every byte of the trail, decompressed, for the secret search.
fn trail_text(trail: &Path) -> String {
    records(trail).iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
}

/// `warden trail lookup --data-dir DIR ARGS...`, parsed.
fn lookup(data_dir: &Path, args: &[&str]) -> Value {
    let mut cmd = Command::new(warden_bin());
    cmd.args(["trail", "lookup", "--data-dir"]).arg(data_dir).args(args);
    let r = run(&mut cmd, None, Duration::from_secs(60));
    assert!(r.success(), "warden trail lookup {args:?}: {r}");
    serde_json::from_str(&r.stdout).unwrap()
}

/// The records of `lookup` (each `CloudTrailEvent` parsed).
fn looked_up(data_dir: &Path, key: &str, value: &str) -> Vec<Value> {
    let attr = format!("AttributeKey={key},AttributeValue={value}");
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut args = vec!["--lookup-attributes", attr.as_str()];
        if let Some(t) = &token {
            args.extend(["--next-token", t.as_str()]);
        }
        let page = lookup(data_dir, &args);
        for e in page["Events"].as_array().unwrap() {
            let mut record: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
            record["_lookup"] = e.clone();
            events.push(record);
        }
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return events,
        }
    }
}

fn named<'a>(records: &'a [Value], name: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["eventName"] == name).collect()
}

fn is_uuid(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn the_guides_walkthrough_with_the_aws_cli_and_docker_is_recorded_as_cloudtrail_would() {
    require("gzip", "apt-get install -y gzip");
    let reg = Registry::warden_args(&["--trail-interval", "2"]);
    let trail = reg.data_dir.join("trail");
    let repo = "team/audited";
    let arn = Registry::repository_arn(repo);

    // aws ecr create-repository; aws ecr get-login-password | docker login; build, push, pull.
    let created: Value =
        serde_json::from_str(&aws_ecr(&reg.host, &["create-repository", "--repository-name", repo], None).ok().stdout)
            .unwrap();
    let admin_password = aws_ecr(&reg.host, &["get-login-password"], None).ok().stdout.trim().to_owned();
    let dockerd = Dockerd::start();
    let r = dockerd.docker(&["login", "-u", "AWS", "--password-stdin", &reg.host], Some(admin_password.as_bytes()));
    assert!(r.success(), "{r}\n{}", reg.log());
    let ctx = dockerd.scratch("ctx");
    std::fs::write(ctx.join("hello.txt"), "audited\n").unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\nCOPY hello.txt /hello.txt\n").unwrap();
    let image = reg.reference(repo, "v1");
    dockerd.docker(&["build", "-t", &image, &ctx.display().to_string()], None).ok();
    let r = dockerd.docker(&["push", &image], None);
    assert!(r.success(), "{r}\n{}", reg.log());
    dockerd.docker(&["rmi", &image], None).ok();
    let r = dockerd.docker(&["pull", &image], None);
    assert!(r.success(), "{r}\n{}", reg.log());

    // A repository policy that denies the reader's pulls; the reader's docker pull is denied.
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoReader", "Effect": "Deny",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/reader")}, "Action": "ecr:BatchGetImage"}]});
    aws_ecr(
        &reg.host,
        &["set-repository-policy", "--repository-name", repo, "--policy-text", &policy.to_string()],
        None,
    )
    .ok();
    let reader_password = reg.password("reader");
    dockerd.docker(&["rmi", &image], None).ok();
    let r = dockerd.docker(&["login", "-u", "AWS", "--password-stdin", &reg.host], Some(reader_password.as_bytes()));
    assert!(r.success(), "{r}");
    let r = dockerd.docker(&["pull", &image], None);
    assert!(!r.success(), "the reader's pull is denied: {r}");

    // Sealed into CloudTrail log files within the interval (2 s here).
    assert!(
        wait_until(Duration::from_secs(20), || !sealed_files(&trail).is_empty()),
        "no sealed log files under {}",
        trail.display()
    );
    std::thread::sleep(Duration::from_secs(3));
    for file in sealed_files(&trail) {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let rel = file.strip_prefix(&trail).unwrap().to_str().unwrap().to_owned();
        // AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE16.json.gz
        let parts: Vec<&str> = rel.split('/').collect();
        assert_eq!(parts[..4], ["AWSLogs", ACCOUNT, "CloudTrail", REGION], "{rel}");
        let stamp = name.strip_prefix(&format!("{ACCOUNT}_CloudTrail_{REGION}_")).unwrap_or_else(|| panic!("{name}"));
        let (time, unique) = stamp.strip_suffix(".json.gz").unwrap().split_once('_').unwrap();
        assert_eq!(time.len(), 14, "{name}");
        assert_eq!(&time[..8], format!("{}{}{}", parts[4], parts[5], parts[6]), "{name} is in its day's folder");
        assert!(time.ends_with('Z') && &time[8..9] == "T", "{name}");
        assert!(unique.len() == 16 && unique.chars().all(|c| c.is_ascii_alphanumeric()), "{name}");
    }
    let all = records(&trail);

    // CreateRepository, field by field, as the guide's example entry.
    let create = named(&all, "CreateRepository");
    assert_eq!(create.len(), 1, "{all:#?}");
    let c = create[0];
    assert_eq!(c["eventVersion"], "1.08");
    assert_eq!(c["eventSource"], "ecr.amazonaws.com");
    assert_eq!(c["awsRegion"], REGION);
    assert_eq!(c["sourceIPAddress"], "127.0.0.1");
    assert!(c["userAgent"].as_str().unwrap().starts_with("aws-cli/"), "{c}");
    let id = &c["userIdentity"];
    assert_eq!(id["type"], "IAMUser");
    assert_eq!(id["arn"], format!("arn:aws:iam::{ACCOUNT}:user/admin"));
    assert_eq!(id["accountId"], ACCOUNT);
    assert_eq!(id["accessKeyId"], ADMIN_KEY);
    assert_eq!(id["userName"], "admin");
    assert!(id["principalId"].as_str().is_some_and(|p| p.starts_with("AIDA")), "{id}");
    assert_eq!(c["requestParameters"], json!({"repositoryName": repo}));
    assert_eq!(c["responseElements"]["repository"]["repositoryArn"], arn);
    assert_eq!(c["responseElements"]["repository"], created["repository"]);
    assert!(c.get("errorCode").is_none());
    assert!(is_uuid(&c["requestID"]) && is_uuid(&c["eventID"]) && c["requestID"] != c["eventID"], "{c}");
    assert_eq!(c["readOnly"], false);
    assert_eq!(c["resources"], json!([{"ARN": arn, "accountId": ACCOUNT, "type": "AWS::ECR::Repository"}]));
    assert_eq!(c["eventType"], "AwsApiCall");
    assert_eq!(c["recipientAccountId"], ACCOUNT);
    let t = c["eventTime"].as_str().unwrap();
    assert!(t.len() == 20 && t.ends_with('Z') && &t[10..11] == "T", "{t}");

    // GetAuthorizationToken: recorded, its answer (a credential) never.
    let tokens = named(&all, "GetAuthorizationToken");
    assert_eq!(tokens.len(), 1, "{tokens:#?}");
    assert_eq!(tokens[0]["responseElements"], Value::Null);
    assert_eq!(tokens[0]["readOnly"], true);
    assert!(tokens[0].get("resources").is_none());

    // docker push and pull, as the ECR actions they were authorized as, with docker's agent.
    let docker: Vec<&Value> = all.iter().filter(|r| r["userAgent"].as_str().unwrap().starts_with("docker/")).collect();
    let names: BTreeSet<&str> = docker.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
    for expected in [
        "BatchCheckLayerAvailability",
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "PutImage",
        "BatchGetImage",
        "GetDownloadUrlForLayer",
    ] {
        assert!(names.contains(expected), "{expected} missing from docker's records: {names:?}");
    }
    for r in &docker {
        assert_eq!(r["sourceIPAddress"], "127.0.0.1");
        assert_eq!(r["requestParameters"]["repositoryName"], repo, "{r}");
        assert_eq!(r["requestParameters"]["registryId"], ACCOUNT, "{r}");
        assert_eq!(r["resources"][0]["ARN"], arn, "{r}");
        assert!(r["userIdentity"].get("accessKeyId").is_none(), "token calls carry no access key: {r}");
    }
    let put = named(&all, "PutImage");
    assert_eq!(put.len(), 1);
    assert_eq!(put[0]["requestParameters"]["imageTag"], "v1");
    assert_eq!(put[0]["userIdentity"]["userName"], "admin");
    assert_eq!(put[0]["readOnly"], false);
    let pulls: Vec<&Value> =
        named(&all, "BatchGetImage").into_iter().filter(|r| r.get("errorCode").is_none()).collect();
    assert!(
        pulls.iter().any(|r| r["requestParameters"]["imageIds"] == json!([{"imageTag": "v1"}])),
        "docker pull reads the manifest by tag: {pulls:#?}"
    );
    assert!(pulls.iter().all(|r| r["responseElements"].is_null()), "reads record no answer");
    let layer = named(&all, "GetDownloadUrlForLayer");
    assert!(layer.iter().all(|r| r["requestParameters"]["layerDigest"].as_str().unwrap().starts_with("sha256:")));

    // The reader's denied pull: AccessDenied with AWS's sentence.
    let denied: Vec<&Value> = all.iter().filter(|r| r.get("errorCode").is_some()).collect();
    assert!(!denied.is_empty(), "{all:#?}");
    for d in &denied {
        assert_eq!(d["eventName"], "BatchGetImage", "{d}");
        assert_eq!(d["errorCode"], "AccessDenied");
        assert_eq!(d["userIdentity"]["userName"], "reader");
        let message = d["errorMessage"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: ecr:BatchGetImage on resource: {arn}"
            )) && message.contains("explicit deny in a resource-based policy"),
            "{message}"
        );
        assert_eq!(d["responseElements"], Value::Null);
    }
    let policy_set = named(&all, "SetRepositoryPolicy");
    assert_eq!(policy_set.len(), 1);
    assert_eq!(
        serde_json::from_str::<Value>(policy_set[0]["requestParameters"]["policyText"].as_str().unwrap()).unwrap(),
        policy
    );

    // No secret anywhere: not the secret key, not a registry password, not an Authorization header.
    let text = trail_text(&trail);
    for secret in [ADMIN_SECRET, admin_password.as_str(), reader_password.as_str()] {
        assert!(!text.contains(secret), "a secret is in the trail");
    }
    assert!(!text.to_ascii_lowercase().contains("authorization\":"), "no header dump");
    assert!(!text.contains("layerPartBlob"));

    // warden trail lookup finds them by each attribute.
    let data = &reg.data_dir;
    let by_name = looked_up(data, "EventName", "PutImage");
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0]["eventID"], put[0]["eventID"]);
    assert_eq!(by_name[0]["_lookup"]["EventName"], "PutImage");
    assert_eq!(by_name[0]["_lookup"]["ReadOnly"], "false");
    assert_eq!(by_name[0]["_lookup"]["Username"], "admin");
    let by_user = looked_up(data, "Username", "reader");
    assert_eq!(by_user.len(), denied.len(), "{by_user:#?}");
    assert!(by_user.iter().all(|r| r["errorCode"] == "AccessDenied"));
    let by_key = looked_up(data, "AccessKeyId", ADMIN_KEY);
    let signed: Vec<&Value> = all.iter().filter(|r| r["userIdentity"]["accessKeyId"] == ADMIN_KEY).collect();
    assert_eq!(by_key.len(), signed.len());
    assert!(by_key.len() >= 3, "create-repository, get-login-password, set-repository-policy");
    let by_resource = looked_up(data, "ResourceName", &arn);
    assert_eq!(by_resource.len(), all.iter().filter(|r| r["resources"][0]["ARN"] == arn).count());
    let reads = looked_up(data, "ReadOnly", "true");
    assert_eq!(reads.len(), all.iter().filter(|r| r["readOnly"] == true).count());
    let by_id = looked_up(data, "EventId", c["eventID"].as_str().unwrap());
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0]["eventName"], "CreateRepository");
}

/// `warden serve` on `data` and `port` (no throttling: a burst of calls is the point).
fn serve(data: &Path, port: u16, extra: &[&str]) -> Child {
    let child = Command::new(warden_bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--throttle", "off"])
        .arg("--policies")
        .arg(demo_policies())
        .arg("--data-dir")
        .arg(data)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "warden serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// boto3, 8 threads, mutating calls as fast as they go; prints the `x-amzn-RequestId` of each
/// call it saw succeed, one per line, flushed.
const BURST: &str = r#"
import sys, threading, boto3
from botocore.config import Config
endpoint, tag = sys.argv[1], sys.argv[2]
lock = threading.Lock()
def work(t):
    ecr = boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                       aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                       config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
    for i in range(100000):
        try:
            r = ecr.create_repository(repositoryName="burst-%s/t%d-%d" % (tag, t, i))
        except Exception as e:
            print("stopped: %s" % type(e).__name__, file=sys.stderr)
            return
        with lock:
            print(r["ResponseMetadata"]["RequestId"], flush=True)
threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
"#;

#[test]
fn every_acknowledged_call_has_its_record_after_a_sigkill() {
    sigkill_mid_burst(&[]);
}

/// With a sync window, a call is answered once its record is written to the operating system:
/// a killed process loses none of them either (only a machine crash within the window could).
#[test]
fn every_acknowledged_call_has_its_record_after_a_sigkill_with_a_sync_window() {
    sigkill_mid_burst(&["--trail-sync-window-ms", "50"]);
}

fn sigkill_mid_burst(extra: &[&str]) {
    require("python3", "apt-get install -y python3");
    let dir = TempDir::new("warden-trail-crash");
    let data = dir.join("data");
    let port = support::free_port();
    let mut server = serve(&data, port, extra);
    let out = dir.join("acked.txt");
    let home = TempDir::new("warden-boto3");
    let mut burst = Command::new("python3")
        .args(["-c", BURST, &format!("http://127.0.0.1:{port}"), "a"])
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let acked = |p: &Path| std::fs::read_to_string(p).unwrap_or_default().lines().filter(|l| l.len() == 36).count();
    assert!(wait_until(Duration::from_secs(90), || acked(&out) >= 150), "boto3 made no progress");
    server.kill().unwrap(); // SIGKILL, mid-burst
    server.wait().unwrap();
    let status = burst.wait().unwrap();
    let _ = status;
    let ids: BTreeSet<String> =
        std::fs::read_to_string(&out).unwrap().lines().filter(|l| l.len() == 36).map(str::to_owned).collect();
    assert!(ids.len() >= 150);

    // The records are there before the restart (in the log), and after it (sealed by the next
    // process): every acknowledged call, by its request id.
    let before: BTreeSet<String> =
        records(&data.join("trail")).iter().filter_map(|r| r["requestID"].as_str().map(str::to_owned)).collect();
    let missing: Vec<&String> = ids.difference(&before).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged calls have no record: {missing:?}", missing.len(), ids.len());
    let mut again = serve(&data, port, extra);
    let trail = data.join("trail");
    assert!(!sealed_files(&trail).is_empty(), "the dead process's log is sealed at start");
    let after: BTreeSet<String> =
        records(&trail).iter().filter_map(|r| r["requestID"].as_str().map(str::to_owned)).collect();
    assert!(ids.is_subset(&after));
    // And `warden trail lookup` sees them.
    let found = looked_up(&data, "EventName", "CreateRepository");
    let found: BTreeSet<String> = found.iter().filter_map(|r| r["requestID"].as_str().map(str::to_owned)).collect();
    assert!(ids.is_subset(&found), "{} acknowledged, {} found by lookup", ids.len(), found.len());
    again.kill().unwrap();
    again.wait().unwrap();
}

/// A tmpfs of `kib` KiB at `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, kib: u64) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it (run as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with `dir/filler`.
fn fill(dir: &Path) {
    let _ =
        Command::new("dd").args(["if=/dev/zero", "bs=4k"]).arg(format!("of={}", dir.join("filler").display())).output();
}

fn metric(host: &str, name: &str) -> u64 {
    let r = http(host, "GET", "/metrics", &[], b"").unwrap();
    let text = r.text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

fn create(host: &str, name: &str) -> support::Run {
    aws_ecr(host, &["create-repository", "--repository-name", name], None)
}

#[test]
fn a_full_disk_under_reject_refuses_calls_until_there_is_room_and_loses_nothing() {
    require("aws", "python3 -m pip install awscli");
    let dir = TempDir::new("warden-trail-full");
    let trail = dir.join("trail");
    let _fs = Tmpfs::mount(&trail, 256);
    let metrics_port = support::free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let reg = Registry::warden_args(&[
        "--trail-dir",
        trail.to_str().unwrap(),
        "--trail-on-failure",
        "reject",
        "--metrics-listen",
        &metrics,
    ]);
    create(&reg.host, "full/before").ok();
    fill(&trail);
    // Calls go on until one cannot be recorded (the log's last page may still hold a record or
    // two): that one is refused, and so is everything after it, before it runs.
    let mut attempted = vec![String::from("full/before")];
    let mut refused = false;
    for i in 0..40 {
        let name = format!("full/d{i}");
        let r = create(&reg.host, &name);
        attempted.push(name);
        if !r.success() {
            assert!(r.stderr.contains("ServiceUnavailableException"), "{r}");
            refused = true;
            break;
        }
    }
    assert!(refused, "a full trail refuses calls under reject");
    let r = aws_ecr(&reg.host, &["describe-repositories"], None);
    assert!(!r.success() && r.stderr.contains("ServiceUnavailableException"), "{r}");
    let auth = support::basic(&reg.creds("admin").unwrap());
    let v2 = http(&reg.host, "GET", "/v2/full/before/tags/list", &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(v2.status, 503, "{v2}");
    assert!(v2.text().contains("UNAVAILABLE"), "{v2}");
    assert_eq!(metric(&metrics, "warden_trail_healthy"), 0);
    assert!(metric(&metrics, "warden_trail_write_failures_total") >= 1);
    assert!(metric(&metrics, "warden_trail_rejected_calls_total") >= 3);
    assert!(metric(&metrics, "warden_trail_records_unwritten") >= 1);

    // Room again: the held records are written within the retry second and calls are served.
    std::fs::remove_file(trail.join("filler")).unwrap();
    assert!(wait_until(Duration::from_secs(10), || metric(&metrics, "warden_trail_healthy") == 1));
    create(&reg.host, "full/after").ok();
    attempted.push("full/after".into());
    assert_eq!(metric(&metrics, "warden_trail_records_dropped_total"), 0);
    let all = records(&trail);
    let mut created: Vec<String> = named(&all, "CreateRepository")
        .iter()
        .map(|r| r["requestParameters"]["repositoryName"].as_str().unwrap().to_owned())
        .collect();
    // The refused call had run before its record failed: the record was held and written.
    created.sort();
    attempted.sort();
    assert_eq!(created, attempted, "{all:#?}");
}

#[test]
fn a_full_disk_under_continue_serves_on_and_counts_what_waits() {
    require("aws", "python3 -m pip install awscli");
    let dir = TempDir::new("warden-trail-cont");
    let trail = dir.join("trail");
    let _fs = Tmpfs::mount(&trail, 256);
    let metrics = format!("127.0.0.1:{}", support::free_port());
    let reg = Registry::warden_args(&[
        "--trail-dir",
        trail.to_str().unwrap(),
        "--trail-on-failure",
        "continue",
        "--metrics-listen",
        &metrics,
    ]);
    create(&reg.host, "cont/before").ok();
    fill(&trail);
    let mut attempted = vec![String::from("cont/before")];
    for i in 0..40 {
        let name = format!("cont/d{i}");
        create(&reg.host, &name).ok();
        attempted.push(name);
        if metric(&metrics, "warden_trail_write_failures_total") >= 1 {
            break;
        }
    }
    aws_ecr(&reg.host, &["describe-repositories"], None).ok();
    assert!(metric(&metrics, "warden_trail_write_failures_total") >= 1, "the full trail failed a write");
    assert_eq!(metric(&metrics, "warden_trail_healthy"), 1, "continue keeps accepting calls");
    assert!(metric(&metrics, "warden_trail_records_unwritten") >= 1);
    std::fs::remove_file(trail.join("filler")).unwrap();
    assert!(wait_until(Duration::from_secs(10), || metric(&metrics, "warden_trail_records_unwritten") == 0));
    let all = records(&trail);
    let mut created: Vec<String> = named(&all, "CreateRepository")
        .iter()
        .map(|r| r["requestParameters"]["repositoryName"].as_str().unwrap().to_owned())
        .collect();
    created.sort();
    attempted.sort();
    assert_eq!(created, attempted);
    assert_eq!(named(&all, "DescribeRepositories").len(), 1);
    // The request metrics saw the calls.
    let text = http(&metrics, "GET", "/metrics", &[], b"").unwrap().text();
    let served = format!("warden_registry_requests_total{{api=\"ecr\",code=\"2xx\"}} {}", attempted.len() + 1);
    assert!(text.contains(&served), "{served}\n{text}");
    assert!(text.contains("warden_registry_decisions_total{outcome=\"allow\"}"), "{text}");
}
