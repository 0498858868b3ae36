//! The Amazon ECR User Guide's IP-range repository policy ("IPAllow": Deny `ecr:*` to everyone
//! unless `aws:SourceIp` is in 54.240.143.0/24, `policies/examples/repository-deny-outside-ip-range.json`)
//! decided over real HTTP from 127.0.0.1, through the AWS CLI (`aws ecr ... --endpoint-url`) and
//! through skopeo, against `warden serve` on loopback.
//!
//! `aws:SourceIp` is the TCP peer address of the request (127.0.0.1 here). `X-Forwarded-For` is
//! ignored unless the server runs with `--trusted-proxy CIDR` (repeatable) and the peer is inside
//! one of those ranges; then the client address is the right-most X-Forwarded-For entry that is not
//! itself a trusted proxy.
//!
//! Needs the AWS CLI, skopeo and umoci; each test fails when one is missing
//! (`python3 -m pip install awscli`, `apt-get install -y skopeo umoci`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use serde_json::{json, Value};
use support::clients::Skopeo;
use support::images::OciLayout;
use support::registry::{demo_policies, Registry, ACCOUNT};
use support::{basic, http, HttpResponse, Run, TempDir};

/// The guide's range, and the test's own network (every client here connects from 127.0.0.1).
const GUIDE_RANGE: &str = "54.240.143.0/24";
const LOOPBACK_RANGE: &str = "127.0.0.0/8";
/// An address inside the guide's range, and one outside it (TEST-NET-2).
const INSIDE: &str = "54.240.143.7";
const OUTSIDE: &str = "198.51.100.9";

/// The guide's example, read from `policies/examples/`, with its range replaced by `range`.
fn guide_policy(range: &str) -> String {
    let path = demo_policies().join("examples/repository-deny-outside-ip-range.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let statement = &mut doc["Statement"][0];
    assert_eq!(statement["Sid"], "IPAllow", "{}: not the guide's example", path.display());
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Principal"], "*");
    assert_eq!(statement["Action"], "ecr:*");
    let condition = &mut statement["Condition"]["NotIpAddress"]["aws:SourceIp"];
    assert_eq!(*condition, GUIDE_RANGE, "{}: not the guide's range", path.display());
    *condition = json!(range);
    serde_json::to_string_pretty(&doc).unwrap()
}

/// AWS's AccessDenied sentence for the demo admin denied `action` on `repo` by a Deny statement of
/// the repository policy (`Decision::denial_message` in warden-policy).
fn explicit_deny(action: &str, repo: &str) -> String {
    format!(
        "User: arn:aws:iam::{ACCOUNT}:user/admin is not authorized to perform: {action} on resource: {} \
         with an explicit deny in a resource-based policy",
        Registry::repository_arn(repo)
    )
}

/// `aws ecr ARGS...` as the demo admin (keys from policies/identities/demo.json), at the registry.
fn aws(reg: &Registry, args: &[&str]) -> Run {
    support::clients::aws_ecr(&reg.host, args, None)
}

/// `aws ecr ARGS...` that must succeed, its JSON output.
fn aws_json(reg: &Registry, args: &[&str]) -> Value {
    let r = aws(reg, args);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r}"))
}

/// `aws ecr ARGS...` that must fail with `exception`; its stderr.
fn aws_fails(reg: &Registry, args: &[&str], exception: &str) -> String {
    let r = aws(reg, args);
    assert!(
        !r.success() && !r.timed_out && r.stderr.contains(&format!("({exception})")),
        "expected {exception}: {r}\nserver log:\n{}",
        reg.log()
    );
    r.stderr
}

/// `aws ecr set-repository-policy --repository-name REPO --policy-text file://... [--force]`.
fn set_policy(reg: &Registry, repo: &str, text: &str, force: bool) -> Run {
    let dir = TempDir::new("warden-policy");
    let file = dir.join("policy.json");
    std::fs::write(&file, text).unwrap();
    let policy = format!("file://{}", file.display());
    let mut args = vec!["set-repository-policy", "--repository-name", repo, "--policy-text", &policy];
    if force {
        args.push("--force");
    }
    aws(reg, &args)
}

/// A layout with one image `tag` of one small random layer, for linux/amd64.
fn small_image(work: &TempDir, name: &str, tag: &str) -> OciLayout {
    let layout = OciLayout::init(work.path(), name);
    layout.add_image(tag, &[4096], "amd64");
    layout
}

/// skopeo pushes `layout`'s `tag` to `repo:tag`; the run and the digest.
fn push(reg: &Registry, layout: &OciLayout, repo: &str, tag: &str, creds: &str) -> (Run, String) {
    Skopeo::new().copy(&layout.reference(tag), &reg.docker_ref(repo, tag), None, Some(creds), &[])
}

/// skopeo pulls `repo:tag` into a new OCI layout under `work`; the run and the digest.
fn pull(reg: &Registry, work: &TempDir, repo: &str, tag: &str, creds: &str) -> (Run, String) {
    let back = OciLayout::open(&work.join(&format!("back-{}-{tag}", repo.replace('/', "-"))));
    Skopeo::new().copy(&reg.docker_ref(repo, tag), &back.reference(tag), Some(creds), None, &[])
}

/// A skopeo run refused with the registry's DENIED error carrying AWS's explicit-deny sentence for
/// `action`.
fn assert_skopeo_denied(reg: &Registry, r: Run, what: &str, action: &str, repo: &str) {
    assert!(!r.success() && !r.timed_out, "{what} must be denied: {r}\nserver log:\n{}", reg.log());
    assert!(r.stderr.contains("denied: "), "{what}: skopeo reports the DENIED code as `denied:`: {r}");
    assert!(r.stderr.contains(&explicit_deny(action, repo)), "{what}: {r}\nserver log:\n{}", reg.log());
}

/// The response of a registry request denied `action` on `repo` by the repository policy: 403,
/// `DENIED`, AWS's explicit-deny sentence.
fn assert_registry_denied(reg: &Registry, r: &HttpResponse, what: &str, action: &str, repo: &str) {
    assert_eq!(r.status, 403, "{what} must be denied:\n{r}\nserver log:\n{}", reg.log());
    let body = r.json();
    assert_eq!(body["errors"][0]["code"], "DENIED", "{what}: {r}");
    assert_eq!(body["errors"][0]["message"], explicit_deny(action, repo).as_str(), "{what}: {r}");
}

/// A push of `layout`'s `tag` into `repo`, denied by the repository policy.
///
/// skopeo's first request of a push is `HEAD /v2/REPO/blobs/DIGEST` (may the blob be reused?,
/// ecr:BatchCheckLayerAvailability). A response to HEAD has no body, so the denial there is a bare
/// 403 and skopeo can report only `403 (Forbidden)`. The push's requests are then replayed over raw
/// HTTP, where the denials of the upload and the manifest carry the DENIED code and AWS's sentence.
fn assert_push_denied(reg: &Registry, layout: &OciLayout, repo: &str, tag: &str, creds: &str) {
    let (r, _) = push(reg, layout, repo, tag, creds);
    assert!(!r.success() && !r.timed_out, "skopeo push must be denied: {r}\nserver log:\n{}", reg.log());
    assert!(
        r.stderr.contains(&format!("failed to read from destination repository {repo}: 403 (Forbidden)")),
        "skopeo push is refused at its first request, the blob HEAD: {r}\nserver log:\n{}",
        reg.log()
    );

    let auth = basic(creds);
    let layer = layout.layers(tag).remove(0);
    let r = http(&reg.host, "HEAD", &format!("/v2/{repo}/blobs/{layer}"), &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(r.status, 403, "HEAD of a blob (ecr:BatchCheckLayerAvailability): {r}\nserver log:\n{}", reg.log());
    let r = http(&reg.host, "POST", &format!("/v2/{repo}/blobs/uploads/"), &[("Authorization", &auth)], b"").unwrap();
    assert_registry_denied(reg, &r, "POST of an upload", "ecr:InitiateLayerUpload", repo);
    let manifest = layout.blob(&layout.digest(tag));
    let r = http(
        &reg.host,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Authorization", &auth), ("Content-Type", support::images::OCI_MANIFEST)],
        &manifest,
    )
    .unwrap();
    assert_registry_denied(reg, &r, "PUT of the manifest", "ecr:PutImage", repo);
}

#[test]
fn the_guides_policy_for_the_callers_own_range_allows_everything() {
    let reg = Registry::warden();
    let repo = "team/allowed";
    reg.create_repository(repo, &[]);
    let policy = guide_policy(LOOPBACK_RANGE);

    // 127.0.0.1 is inside 127.0.0.0/8: the policy does not stop the caller from setting the next
    // one, so ECR takes it without --force.
    let r = set_policy(&reg, repo, &policy, false);
    assert!(r.success(), "set-repository-policy without --force: {r}\nserver log:\n{}", reg.log());
    let got = aws_json(&reg, &["get-repository-policy", "--repository-name", repo]);
    let stored: Value = serde_json::from_str(got["policyText"].as_str().unwrap()).unwrap();
    assert_eq!(stored["Statement"][0]["Condition"]["NotIpAddress"]["aws:SourceIp"], LOOPBACK_RANGE, "{got}");

    // skopeo in and out.
    let admin = reg.creds("admin").unwrap();
    let work = TempDir::new("warden-ip-allowed");
    let layout = small_image(&work, "src", "v1");
    let (r, pushed) = push(&reg, &layout, repo, "v1", &admin);
    assert!(r.success(), "skopeo push from 127.0.0.1: {r}\nserver log:\n{}", reg.log());
    assert_eq!(pushed, layout.digest("v1"));
    let (r, pulled) = pull(&reg, &work, repo, "v1", &admin);
    assert!(r.success(), "skopeo pull from 127.0.0.1: {r}\nserver log:\n{}", reg.log());
    assert_eq!(pulled, pushed);

    // The ECR API, the same.
    let described = aws_json(&reg, &["describe-images", "--repository-name", repo]);
    assert_eq!(described["imageDetails"][0]["imageDigest"], pushed.as_str(), "{described}");
    assert_eq!(described["imageDetails"][0]["imageTags"], json!(["v1"]), "{described}");
    let got = aws_json(&reg, &["batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=v1"]);
    assert_eq!(got["failures"], json!([]), "{got}");
    assert_eq!(got["images"][0]["imageId"]["imageDigest"], pushed.as_str(), "{got}");
}

#[test]
fn the_guides_policy_denies_a_caller_outside_its_range() {
    let reg = Registry::warden();
    let repo = "team/outside";
    reg.create_repository(repo, &[]);
    let admin = reg.creds("admin").unwrap();
    let work = TempDir::new("warden-ip-denied");
    let layout = small_image(&work, "src", "v1");
    let (r, _) = push(&reg, &layout, repo, "v1", &admin);
    assert!(r.success(), "skopeo push before any policy: {r}\nserver log:\n{}", reg.log());
    let policy = guide_policy(GUIDE_RANGE);

    // 127.0.0.1 is outside 54.240.143.0/24: the policy would deny the caller the next
    // SetRepositoryPolicy. The ECR API Reference, SetRepositoryPolicy, `force`: "If the policy you
    // specify will prevent yourself from performing SetRepositoryPolicy actions in the future, you
    // must set force to true" — without it, an InvalidParameterException, and nothing is set.
    let stderr = aws_fails(
        &reg,
        &["set-repository-policy", "--repository-name", repo, "--policy-text", &policy],
        "InvalidParameterException",
    );
    assert!(stderr.contains("SetRepositoryPolicy operation"), "{stderr}");
    aws_fails(&reg, &["get-repository-policy", "--repository-name", repo], "RepositoryPolicyNotFoundException");
    aws_json(&reg, &["describe-images", "--repository-name", repo]);

    // With --force it is set.
    let r = set_policy(&reg, repo, &policy, true);
    assert!(r.success(), "set-repository-policy --force: {r}\nserver log:\n{}", reg.log());

    // And then 127.0.0.1 may do nothing with the repository, though admin's identity policy
    // (AmazonEC2ContainerRegistryFullAccess) allows everything.
    let fresh = small_image(&work, "fresh", "v2");
    assert_push_denied(&reg, &fresh, repo, "v2", &admin);
    let (r, _) = pull(&reg, &work, repo, "v1", &admin);
    assert_skopeo_denied(&reg, r, "skopeo pull", "ecr:BatchGetImage", repo);
    let stderr = aws_fails(&reg, &["describe-images", "--repository-name", repo], "AccessDeniedException");
    assert!(stderr.contains(&explicit_deny("ecr:DescribeImages", repo)), "{stderr}");
}

#[test]
fn an_ip_address_deny_on_pulls_from_the_callers_range_leaves_pushes_alone() {
    let reg = Registry::warden();
    let repo = "team/nopull";
    reg.create_repository(repo, &[]);
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {"IpAddress": {"aws:SourceIp": LOOPBACK_RANGE}}
        }]
    });
    // It denies no SetRepositoryPolicy: accepted without --force.
    let r = set_policy(&reg, repo, &policy.to_string(), false);
    assert!(r.success(), "set-repository-policy without --force: {r}\nserver log:\n{}", reg.log());

    let admin = reg.creds("admin").unwrap();
    let work = TempDir::new("warden-ip-nopull");
    let layout = small_image(&work, "src", "v1");
    let (r, pushed) = push(&reg, &layout, repo, "v1", &admin);
    assert!(r.success(), "skopeo push from 127.0.0.1 is not denied: {r}\nserver log:\n{}", reg.log());

    let (r, _) = pull(&reg, &work, repo, "v1", &admin);
    assert_skopeo_denied(&reg, r, "skopeo pull from 127.0.0.0/8", "ecr:BatchGetImage", repo);
    let stderr = aws_fails(
        &reg,
        &["batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=v1"],
        "AccessDeniedException",
    );
    assert!(stderr.contains(&explicit_deny("ecr:BatchGetImage", repo)), "{stderr}");

    // What the statement does not name stays allowed.
    let described = aws_json(&reg, &["describe-images", "--repository-name", repo]);
    assert_eq!(described["imageDetails"][0]["imageDigest"], pushed.as_str(), "{described}");
    let fresh = small_image(&work, "fresh", "v2");
    let (r, _) = push(&reg, &fresh, repo, "v2", &admin);
    assert!(r.success(), "a second push: {r}\nserver log:\n{}", reg.log());
}

/// A repository with the image `v1`, then the guide's exact policy set with `--force`; admin's
/// registry credentials (`warden get-login-password`).
fn guarded_repository(reg: &Registry, work: &TempDir, repo: &str) -> String {
    reg.create_repository(repo, &[]);
    let admin = reg.creds("admin").unwrap();
    let layout = small_image(work, "src", "v1");
    let (r, _) = push(reg, &layout, repo, "v1", &admin);
    assert!(r.success(), "skopeo push before any policy: {r}\nserver log:\n{}", reg.log());
    let r = set_policy(reg, repo, &guide_policy(GUIDE_RANGE), true);
    assert!(r.success(), "set-repository-policy --force: {r}\nserver log:\n{}", reg.log());
    admin
}

/// `GET /v2/REPO/tags/list` and `GET /v2/REPO/manifests/v1` as `creds`, with `X-Forwarded-For`
/// when given.
fn requests(reg: &Registry, repo: &str, creds: &str, forwarded: Option<&str>) -> [(&'static str, HttpResponse); 2] {
    let auth = basic(creds);
    let mut headers = vec![("Authorization", auth.as_str()), ("Accept", support::images::OCI_MANIFEST)];
    if let Some(xff) = forwarded {
        headers.push(("X-Forwarded-For", xff));
    }
    let get = |path: &str| http(&reg.host, "GET", path, &headers, b"").unwrap();
    [
        ("ecr:ListImages", get(&format!("/v2/{repo}/tags/list"))),
        ("ecr:BatchGetImage", get(&format!("/v2/{repo}/manifests/v1"))),
    ]
}

fn assert_allowed(reg: &Registry, repo: &str, creds: &str, forwarded: Option<&str>) {
    for (action, r) in requests(reg, repo, creds, forwarded) {
        assert_eq!(
            r.status,
            200,
            "{action} with X-Forwarded-For {forwarded:?} must be allowed:\n{r}\nserver log:\n{}",
            reg.log()
        );
    }
}

fn assert_denied(reg: &Registry, repo: &str, creds: &str, forwarded: Option<&str>) {
    for (action, r) in requests(reg, repo, creds, forwarded) {
        assert_registry_denied(reg, &r, &format!("{action} with X-Forwarded-For {forwarded:?}"), action, repo);
    }
}

#[test]
fn without_a_trusted_proxy_x_forwarded_for_is_ignored() {
    let reg = Registry::warden();
    let work = TempDir::new("warden-ip-spoof");
    let repo = "team/spoof";
    let admin = guarded_repository(&reg, &work, repo);

    // The TCP peer, 127.0.0.1, decides: a client cannot claim an address inside the range.
    assert_denied(&reg, repo, &admin, None);
    assert_denied(&reg, repo, &admin, Some(INSIDE));
    assert_denied(&reg, repo, &admin, Some(&format!("{OUTSIDE}, {INSIDE}")));
    assert_denied(&reg, repo, &admin, Some(&format!("{INSIDE}, 127.0.0.1")));
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_address_decides() {
    let reg = Registry::warden_args(&["--trusted-proxy", "127.0.0.1/32"]);
    let work = TempDir::new("warden-ip-proxy");
    let repo = "team/proxied";
    let admin = guarded_repository(&reg, &work, repo);

    // The peer 127.0.0.1 is a trusted proxy: the right-most X-Forwarded-For entry that is not one
    // is the client.
    assert_allowed(&reg, repo, &admin, Some(INSIDE));
    assert_denied(&reg, repo, &admin, Some(OUTSIDE));
    // Trusted proxies in the chain are skipped.
    assert_allowed(&reg, repo, &admin, Some(&format!("{INSIDE}, 127.0.0.1")));
    // What the client itself wrote left of the last untrusted hop counts for nothing.
    assert_denied(&reg, repo, &admin, Some(&format!("{INSIDE}, {OUTSIDE}")));
    // Without the header, the proxy itself is the client.
    assert_denied(&reg, repo, &admin, None);
    let stderr = aws_fails(&reg, &["describe-images", "--repository-name", repo], "AccessDeniedException");
    assert!(stderr.contains(&explicit_deny("ecr:DescribeImages", repo)), "{stderr}");
}
