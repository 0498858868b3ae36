//! Fail closed: any error on the way to an authorization decision ends in a 500 with the
//! protocol's error — on /v2 a distribution-spec body `{"errors":[{"code":"UNKNOWN",…}]}`, on the
//! ECR API `__type` `ServerException` — never a 2xx, never a 403/404 decided without the input
//! that could not be read. Each test uses a caller whose identity policy alone would allow the
//! request, so only fail-closed behaviour makes the difference:
//!
//! - a stored repository policy that no longer parses (written straight into SQLite);
//! - a repository's resource-tag row that is not JSON (a tag-conditioned Deny could not be seen);
//! - a metadata store whose every call fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use std::sync::atomic::Ordering;
use warden_registry::storage::MetaBackend;

use common::{Image, Server};
use serde_json::json;
use warden_registry::names::random_id;

const APP: &str = "team/app";
const PROD: &str = "team/prod";

fn users() -> serde_json::Value {
    json!({
        "admin": {"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"]},
        "guarded": {
            "attached_policies": ["AmazonEC2ContainerRegistryFullAccess"],
            "inline_policies": {"NoProd": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecr:*", "Resource": "*",
                "Condition": {"StringEquals": {"ecr:ResourceTag/environment": "prod"}}}]}}
        }
    })
}

fn image() -> Image {
    Image::new(br#"{"architecture":"amd64","os":"linux"}"#, b"faults layer")
}

/// A registry with team/app and team/prod (tagged environment=prod), each holding the image as v1.
async fn setup(name: &str) -> (Server, Image) {
    let s = common::start(name, users()).await;
    let img = image();
    assert!(s.registry.create_repository(APP, vec![]).await.unwrap());
    assert!(s.registry.create_repository(PROD, vec![("environment".into(), "prod".into())]).await.unwrap());
    s.seed(APP, &img, "v1").await;
    s.seed(PROD, &img, "v1").await;
    (s, img)
}

/// A second connection to the registry's database, for writing what no API would accept.
/// Writes `value` into `column` of the repository row `repo`, behind the store's back: with
/// SQLite directly in the file, with PostgreSQL through `psql`.
fn corrupt(s: &Server, column: &str, value: &str, repo: &str) {
    match &s.registry.config.storage.metadata {
        MetaBackend::Sqlite => {
            let conn = rusqlite::Connection::open(s.data_dir.join("registry.db")).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            let sql = format!("UPDATE repositories SET {column} = ?1 WHERE name = ?2");
            assert_eq!(conn.execute(&sql, rusqlite::params![value, repo]).unwrap(), 1);
        }
        MetaBackend::Postgres(url) => {
            let database = url.rsplit('/').next().unwrap();
            let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
            let sql = format!(
                "UPDATE repositories SET {column} = {} WHERE name = {} RETURNING name",
                quote(value),
                quote(repo)
            );
            assert_eq!(warden_testkit::postgres::Postgres::shared().psql(database, &sql), repo, "{sql}");
        }
    }
}

/// The pulls (and an upload start) of `repo` as /v2 requests: (method, target).
fn pulls(repo: &str, img: &Image) -> Vec<(&'static str, String)> {
    vec![
        ("GET", format!("/v2/{repo}/manifests/v1")),
        ("HEAD", format!("/v2/{repo}/manifests/{}", img.digest)),
        ("GET", format!("/v2/{repo}/blobs/{}", img.layer_digest)),
        ("HEAD", format!("/v2/{repo}/blobs/{}", img.layer_digest)),
        ("GET", format!("/v2/{repo}/tags/list")),
        ("POST", format!("/v2/{repo}/blobs/uploads/")),
    ]
}

/// ECR reads of `repo`: (operation, input).
fn ecr_reads(repo: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DescribeImages", json!({"repositoryName": repo}).to_string()),
        ("BatchGetImage", json!({"repositoryName": repo, "imageIds": [{"imageTag": "v1"}]}).to_string()),
    ]
}

/// Sends each /v2 request as `user`; what did not end in 500 UNKNOWN.
async fn v2_fail_closed(s: &Server, user: &str, requests: &[(&str, String)], why: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (method, target) in requests {
        let r = s.v2(Some(user), method, target, &[], b"").await;
        // HEAD answers carry no body, so only the status can be checked.
        let code_ok = *method == "HEAD" || r.v2_code() == "UNKNOWN";
        if r.status != 500 || !code_ok {
            problems.push(format!(
                "{why}: {user} {method} {target}: expected 500 UNKNOWN, got {} {} {}",
                r.status,
                r.v2_code(),
                r.text()
            ));
        }
    }
    problems
}

/// Sends each ECR call as `user`; what did not end in 500 ServerException.
async fn ecr_fail_closed(s: &Server, user: &str, calls: &[(&str, String)], why: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (op, input) in calls {
        let r = s.ecr(Some(user), op, input).await;
        if (r.status, r.ecr_code().as_str()) != (500, "ServerException") {
            problems.push(format!(
                "{why}: {user} ECR {op} {input}: expected 500 ServerException, got {} {} {}",
                r.status,
                r.ecr_code(),
                r.text()
            ));
        }
    }
    problems
}

fn report(problems: &[String]) {
    for p in problems {
        eprintln!("FAIL {p}");
    }
    assert!(problems.is_empty(), "{} requests did not fail closed (listed above)", problems.len());
}

/// Sanity: before anything is broken, the same caller is allowed (so a 500 afterwards is the
/// missing input's doing, not the identity policy's).
async fn assert_allowed(s: &Server, user: &str, repo: &str, img: &Image) {
    for (method, target) in pulls(repo, img) {
        let r = s.v2(Some(user), method, &target, &[], b"").await;
        assert!((200..300).contains(&r.status), "{user} {method} {target} before the fault: {} {}", r.status, r.text());
    }
    for (op, input) in ecr_reads(repo) {
        let r = s.ecr(Some(user), op, &input).await;
        assert_eq!(r.status, 200, "{user} ECR {op} before the fault: {}", r.text());
    }
}

/// A repository policy whose Deny no longer parses must not be read as "no policy".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_repository_policy_fails_closed() {
    let (s, img) = setup("faults-policy").await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoIntruder","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/intruder"},"Action":"ecr:*"}]}"#;
    s.registry.set_repository_policy(APP, Some(policy.into())).await.unwrap();
    assert_allowed(&s, "admin", APP, &img).await;

    let corruptions = [
        ("a truncated policy", policy[..policy.len() / 2].to_owned()),
        ("a Deny with an unknown effect", policy.replace(r#""Effect":"Deny""#, r#""Effect":"Dney""#)),
        (
            "a Deny with an unknown condition operator",
            policy.replace(
                r#""Action":"ecr:*"}"#,
                r#""Action":"ecr:*","Condition":{"NoSuchOperator":{"aws:username":"x"}}}"#,
            ),
        ),
        ("not JSON", "not json".to_owned()),
    ];
    let mut problems = Vec::new();
    for (why, text) in &corruptions {
        corrupt(&s, "policy", text, APP);
        problems.extend(v2_fail_closed(&s, "admin", &pulls(APP, &img), why).await);
        problems.extend(ecr_fail_closed(&s, "admin", &ecr_reads(APP), why).await);
    }
    report(&problems);
}

/// A resource-tag row that cannot be read must not be read as "no tags": guarded's Deny on
/// environment=prod would silently stop applying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_tags_row_fails_closed() {
    let (s, img) = setup("faults-tags").await;
    assert_allowed(&s, "admin", APP, &img).await;
    assert_allowed(&s, "guarded", APP, &img).await;
    let denied = s.v2(Some("guarded"), "GET", &format!("/v2/{PROD}/manifests/v1"), &[], b"").await;
    assert_eq!((denied.status, denied.v2_code().as_str()), (403, "DENIED"), "the tag-conditioned Deny applies");

    for repo in [APP, PROD] {
        corrupt(&s, "tags", "not json", repo);
    }
    let mut problems = Vec::new();
    problems.extend(v2_fail_closed(&s, "admin", &pulls(APP, &img), "unreadable tags").await);
    problems.extend(ecr_fail_closed(&s, "admin", &ecr_reads(APP), "unreadable tags").await);
    problems.extend(v2_fail_closed(&s, "guarded", &pulls(PROD, &img), "unreadable tags").await);
    problems.extend(ecr_fail_closed(&s, "guarded", &ecr_reads(PROD), "unreadable tags").await);
    report(&problems);
}

/// With a metadata store that fails every call, every /v2 route and the ECR operations give 500.
/// (`GET /v2/` is left out: it is authentication only and reads nothing stored.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_metadata_store_fails_closed() {
    let (s, img) = setup("faults-store").await;
    let upload = random_id();
    s.blobs.begin(&upload).await.unwrap();
    s.meta.inner.begin_upload(&upload, APP, warden_registry::state::now()).unwrap();
    assert_allowed(&s, "admin", APP, &img).await;

    s.meta.fail.store(true, Ordering::SeqCst);
    let (d, l) = (&img.digest, &img.layer_digest);
    let routes: Vec<(&str, String)> = vec![
        ("GET", "/v2/_catalog".into()),
        ("GET", format!("/v2/{APP}/tags/list")),
        ("GET", format!("/v2/{APP}/manifests/v1")),
        ("HEAD", format!("/v2/{APP}/manifests/v1")),
        ("GET", format!("/v2/{APP}/manifests/{d}")),
        ("HEAD", format!("/v2/{APP}/manifests/{d}")),
        ("PUT", format!("/v2/{APP}/manifests/v2")),
        ("DELETE", format!("/v2/{APP}/manifests/v1")),
        ("DELETE", format!("/v2/{APP}/manifests/{d}")),
        ("GET", format!("/v2/{APP}/blobs/{l}")),
        ("HEAD", format!("/v2/{APP}/blobs/{l}")),
        ("DELETE", format!("/v2/{APP}/blobs/{l}")),
        ("POST", format!("/v2/{APP}/blobs/uploads/")),
        ("POST", format!("/v2/{APP}/blobs/uploads/?digest={l}")),
        ("POST", format!("/v2/{APP}/blobs/uploads/?mount={l}&from={PROD}")),
        ("PATCH", format!("/v2/{APP}/blobs/uploads/{upload}")),
        ("PUT", format!("/v2/{APP}/blobs/uploads/{upload}?digest={l}")),
        ("GET", format!("/v2/{APP}/blobs/uploads/{upload}")),
        ("DELETE", format!("/v2/{APP}/blobs/uploads/{upload}")),
        ("GET", format!("/v2/{APP}/referrers/{d}")),
    ];
    let mut problems = v2_fail_closed(&s, "admin", &routes, "failing store").await;
    let calls: Vec<(&str, String)> = vec![
        ("DescribeRepositories", "{}".into()),
        ("DescribeRepositories", json!({"repositoryNames": [APP]}).to_string()),
        ("CreateRepository", json!({"repositoryName": "team/new"}).to_string()),
        ("ListImages", json!({"repositoryName": APP}).to_string()),
        ("DescribeImages", json!({"repositoryName": APP}).to_string()),
        ("BatchGetImage", json!({"repositoryName": APP, "imageIds": [{"imageTag": "v1"}]}).to_string()),
        ("PutImage", json!({"repositoryName": APP, "imageManifest": img.manifest, "imageTag": "v2"}).to_string()),
        ("BatchDeleteImage", json!({"repositoryName": APP, "imageIds": [{"imageTag": "v1"}]}).to_string()),
        ("InitiateLayerUpload", json!({"repositoryName": APP}).to_string()),
        ("GetDownloadUrlForLayer", json!({"repositoryName": APP, "layerDigest": l}).to_string()),
        ("ListTagsForResource", json!({"resourceArn": s.registry.repository_arn(APP)}).to_string()),
    ];
    problems.extend(ecr_fail_closed(&s, "admin", &calls, "failing store").await);
    s.meta.fail.store(false, Ordering::SeqCst);

    // The store works again: nothing was changed while it failed.
    let r = s.v2(Some("admin"), "GET", &format!("/v2/{APP}/tags/list"), &[], b"").await;
    assert_eq!((r.status, r.json()["tags"].clone()), (200, json!(["v1"])), "{}", r.text());
    report(&problems);
}
