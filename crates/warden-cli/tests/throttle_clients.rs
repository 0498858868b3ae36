//! Real clients against a throttled `warden serve` (`--throttle-config`): they get the answers ECR
//! throttles with and recover by retrying — boto3's standard retry mode retries
//! `ThrottlingException`, skopeo (containers/image) retries 429 after `Retry-After`, docker stops
//! with the guide's `toomanyrequests: Rate exceeded` and a push retried with backoff finishes —
//! and the server logged the throttled requests, so the retries really happened. boto3 and skopeo must be
//! installed (`pip install boto3`, `apt-get install -y skopeo`); the tests fail without them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use std::process::Command;
use std::time::Duration;

use support::clients::Skopeo;
use support::images::OciLayout;
use support::registry::Registry;
use support::{require, run, TempDir};

/// `warden serve --throttle-config FILE` with `config` in FILE (kept by the returned dir).
fn throttled(config: &str) -> (Registry, TempDir) {
    let dir = TempDir::new("warden-throttle");
    let file = dir.join("throttle.json");
    std::fs::write(&file, config).unwrap();
    let reg = Registry::warden_args(&["--throttle-config", file.to_str().unwrap()]);
    (reg, dir)
}

/// The lines the server logged for throttled requests.
fn throttled_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("throttled: Rate exceeded")).collect()
}

const BOTO3: &str = r#"
import sys, boto3
from botocore.config import Config
endpoint, region = sys.argv[1], sys.argv[2]
ecr = boto3.client("ecr", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                   aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                   config=Config(retries={"mode": "standard", "max_attempts": 10}))
retried = 0
for i in range(15):
    r = ecr.get_authorization_token()
    assert r["authorizationData"][0]["authorizationToken"], r
    retried += r["ResponseMetadata"]["RetryAttempts"]
print("tokens: 15 retried: %d" % retried)
"#;

#[test]
fn boto3_standard_retries_recover_from_throttled_authorization_tokens() {
    require("python3", "apt-get install -y python3");
    let (reg, _dir) = throttled(r#"{"get_authorization_token": {"rate_per_second": 5, "burst": 2}}"#);
    let home = TempDir::new("warden-boto3");
    let mut cmd = Command::new("python3");
    cmd.args(["-c", BOTO3, &format!("http://{}", reg.host), "us-east-1"])
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    let r = run(&mut cmd, None, Duration::from_secs(120));
    assert!(!r.stderr.contains("No module named 'boto3'"), "boto3 must be installed: pip install boto3");
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    let retried: u32 = r.stdout.trim().rsplit(' ').next().unwrap().parse().unwrap();
    let log = reg.full_log();
    let lines = throttled_lines(&log);
    assert!(retried > 0 && !lines.is_empty(), "15 tokens at 5/s burst 2 must be throttled and retried: {r}\n{log}");
    assert_eq!(lines.len() as u32, retried, "every retry answers a throttled call:\n{log}");
    assert!(lines.iter().all(|l| l.contains("GetAuthorizationToken")), "{lines:#?}");
}

#[test]
fn skopeo_pulls_through_a_low_pull_rate() {
    let (reg, _dir) =
        throttled(r#"{"pull": {"rate_per_second": 1, "burst": 1}, "pull_layer": {"rate_per_second": 2, "burst": 1}}"#);
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    reg.create_repository("team/slow", &[]);
    let work = TempDir::new("warden-throttle-pull");
    let layout = OciLayout::init(work.path(), "src");
    layout.add_image("v1", &[4096, 20_000, 3000], "amd64");
    let skopeo = Skopeo::new();
    let dest = reg.docker_ref("team/slow", "v1");
    let (r, _) = skopeo.copy(&layout.reference("v1"), &dest, None, admin, &[]);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());

    let before = throttled_lines(&reg.full_log()).len();
    let back = OciLayout::open(&work.join("back"));
    let (r, _) = skopeo.copy(&dest, &back.reference("v1"), admin, None, &[]);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    assert_eq!(back.layers("v1"), layout.layers("v1"));
    let log = reg.full_log();
    let during = throttled_lines(&log).split_off(before);
    // Three layers and a config, one credit at once: the pull was throttled and retried.
    assert!(!during.is_empty(), "the pull was never throttled:\n{log}");
    assert!(during.iter().all(|l| l.contains("team/slow")), "{during:#?}");
}

/// docker does not retry a 429 itself: the push stops with the message the user guide quotes
/// ("for Docker versions 1.12.0 and greater, you may see the error message TOOMANYREQUESTS: Rate
/// exceeded"). The guide's remedy — "implement a retry function with incremental backoff" — is
/// a loop around `docker push`; each attempt sends only the layers still missing, and the push
/// finishes and pulls back whole.
#[test]
fn docker_reports_the_guides_rate_exceeded_and_a_push_retried_with_backoff_finishes() {
    let (reg, _dir) = throttled(r#"{"other": {"rate_per_second": 1, "burst": 2}}"#);
    reg.create_repository("team/docker-slow", &[]);
    let dockerd = support::dockerd::Dockerd::start();
    let password = reg.password("admin");
    let r = dockerd.docker(&["login", "-u", "AWS", "--password-stdin", &reg.host], Some(password.as_bytes()));
    assert!(r.success(), "{r}");
    let ctx = dockerd.scratch("ctx");
    let mut dockerfile = String::from("FROM scratch\n");
    for i in 0..4 {
        std::fs::write(ctx.join(format!("f{i}.bin")), support::random_bytes(8192 + i * 1000)).unwrap();
        dockerfile.push_str(&format!("COPY f{i}.bin /f{i}.bin\n"));
    }
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let image = reg.reference("team/docker-slow", "v1");
    dockerd.docker(&["build", "-t", &image, &ctx.display().to_string()], None).ok();
    let built = dockerd.docker(&["image", "inspect", "--format", "{{.Id}}", &image], None).ok().stdout;

    // Five blobs (four layers and the config) start uploading at once; two credits: throttled.
    let first = dockerd.docker(&["push", &image], None);
    assert!(!first.success(), "five uploads at once through a bucket of two: {first}");
    assert!(first.stderr.contains("toomanyrequests: Rate exceeded"), "the guide's message: {first}");
    let throttled_calls = throttled_lines(&reg.full_log()).len();
    assert!(throttled_calls > 0);

    // The guide's remedy: retry with incremental backoff.
    let mut attempts = vec![first];
    let mut delay = Duration::from_secs(1);
    while !attempts.last().unwrap().success() {
        assert!(attempts.len() < 8, "the push did not finish: {:#?}", attempts.last());
        std::thread::sleep(delay);
        delay *= 2;
        attempts.push(dockerd.docker(&["push", &image], None));
    }
    let last = attempts.last().unwrap();
    assert!(last.stdout.contains("Layer already exists"), "a retry sends only what is missing: {last}");
    let log = reg.full_log();
    let lines = throttled_lines(&log);
    assert!(
        lines.iter().all(|l| ["InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "/v2/"]
            .iter()
            .any(|op| l.contains(op))),
        "only the layer-upload calls' bucket ran dry: {lines:#?}"
    );

    dockerd.docker(&["rmi", &image], None).ok();
    let r = dockerd.docker(&["pull", &image], None);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    let pulled = dockerd.docker(&["image", "inspect", "--format", "{{.Id}}", &image], None).ok().stdout;
    assert_eq!(pulled, built, "the image pulled back is the image pushed");
}

#[test]
fn a_bad_throttle_configuration_stops_serve_with_exit_code_2() {
    let dir = TempDir::new("warden-throttle-bad");
    for (config, says) in [
        (r#"{"pull": {"rate_per_second": 0, "burst": 4}}"#, "`pull`: rate_per_second must be a number above 0"),
        (r#"{"push": {"rate_per_second": 1, "burst": 0}}"#, "`push`: burst must be at least 1"),
        (r#"{"pulls": {"rate_per_second": 1, "burst": 1}}"#, "not a throttle configuration: unknown field `pulls`"),
    ] {
        let file = dir.join("throttle.json");
        std::fs::write(&file, config).unwrap();
        let mut cmd = Command::new(support::registry::warden_bin());
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--policies"])
            .arg(support::registry::demo_policies())
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--throttle-config")
            .arg(&file);
        let r = run(&mut cmd, None, Duration::from_secs(30));
        assert_eq!(r.code, Some(2), "{config}: {r}");
        assert!(r.stderr.contains("--throttle-config") && r.stderr.contains(says), "{config}: {r}");
    }
    let mut cmd = Command::new(support::registry::warden_bin());
    cmd.args(["serve", "--throttle-config"]).arg(dir.join("missing.json"));
    let r = run(&mut cmd, None, Duration::from_secs(30));
    assert_eq!(r.code, Some(2), "{r}");
    assert!(r.stderr.contains("missing.json"), "{r}");
}
