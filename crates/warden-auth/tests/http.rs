//! SigV4 and registry tokens over real HTTP on loopback: requests signed by the independent
//! `aws-sigv4` crate, and the real AWS CLI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use common::*;
use warden_auth::{ManualClock, SystemClock};

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories";

/// A DescribeRepositories request signed by the `aws-sigv4` crate.
fn signed(
    url: &str,
    key: (&str, &str),
    region: &str,
    service: &str,
    at: SystemTime,
    body: &str,
    presign: Option<Duration>,
) -> reqwest::Request {
    let mut req = http::Request::post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", TARGET)
        .body(body.to_owned())
        .unwrap();
    let identity = Credentials::new(key.0, key.1, None, None, "test").into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers: Vec<(&str, &str)> = req.headers().iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap())).collect();
    let signable =
        SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body.as_bytes())).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut req);
    reqwest::Request::try_from(req).unwrap()
}

async fn send(req: reqwest::Request) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new().execute(req).await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

#[tokio::test]
async fn header_and_presigned_signatures_from_aws_sigv4() {
    let clock = Arc::new(ManualClock::at(SystemTime::now()));
    let s = start("sigv4", clock.clone()).await;
    let url = format!("{}/", s.url());
    let now = SystemTime::now();

    let (status, body) = send(signed(&url, ADMIN, REGION, "ecr", now, "{}", None)).await;
    assert_eq!((status, body.clone()), (200, serde_json::json!({"repositories": []})), "{body}");

    // Presigned query form, then past its expiry.
    let (status, _) = send(signed(&url, ADMIN, REGION, "ecr", now, "{}", Some(Duration::from_secs(60)))).await;
    assert_eq!(status, 200);
    let (status, body) =
        send(signed(&url, ADMIN, REGION, "ecr", now - Duration::from_secs(120), "{}", Some(Duration::from_secs(60))))
            .await;
    assert_eq!(status, 403);
    assert_eq!(body["__type"], "AccessDeniedException");
    assert_eq!(body["message"], "Request has expired");

    // The body is part of the signature.
    let mut tampered = signed(&url, ADMIN, REGION, "ecr", now, r#"{"repositoryNames":["a"]}"#, None);
    *tampered.body_mut() = Some(r#"{"repositoryNames":["b"]}"#.into());
    let (status, body) = send(tampered).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidSignatureException");
    assert_eq!(body["message"], "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");

    // Wrong secret, region, service; unknown key; no signature.
    let (_, body) =
        send(signed(&url, (ADMIN.0, "wrong-secret-access-key-00000000000000"), REGION, "ecr", now, "{}", None)).await;
    assert_eq!(body["__type"], "InvalidSignatureException");
    let (_, body) = send(signed(&url, ADMIN, "eu-west-1", "ecr", now, "{}", None)).await;
    assert_eq!(
        (body["__type"].as_str(), body["message"].as_str()),
        (Some("InvalidSignatureException"), Some("Credential should be scoped to a valid region. "))
    );
    let (_, body) = send(signed(&url, ADMIN, REGION, "s3", now, "{}", None)).await;
    assert_eq!(body["message"], "Credential should be scoped to correct service: 'ecr'. ");
    let (status, body) =
        send(signed(&url, ("AKIAUNKNOWNEXAMPLE01", "x".repeat(40).as_str()), REGION, "ecr", now, "{}", None)).await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("UnrecognizedClientException")));
    assert_eq!(body["message"], "The security token included in the request is invalid.");
    let unsigned = reqwest::Client::new().post(&url).header("x-amz-target", TARGET).body("{}").build().unwrap();
    let (status, body) = send(unsigned).await;
    assert_eq!((status, body["__type"].as_str()), (403, Some("MissingAuthenticationTokenException")));

    // The server's clock 20 minutes ahead of the signer's.
    clock.set(now + Duration::from_secs(20 * 60));
    let (_, body) = send(signed(&url, ADMIN, REGION, "ecr", now, "{}", None)).await;
    assert_eq!(body["__type"], "InvalidSignatureException");
    assert!(body["message"].as_str().unwrap().starts_with("Signature expired: "), "{body}");
    clock.set(now - Duration::from_secs(20 * 60));
    let (_, body) = send(signed(&url, ADMIN, REGION, "ecr", now, "{}", None)).await;
    assert!(body["message"].as_str().unwrap().starts_with("Signature not yet current: "), "{body}");
    clock.set(now);
}

#[tokio::test]
async fn policies_decide_and_denials_use_aws_wording() {
    let s = start("deny", Arc::new(SystemClock)).await;
    let url = format!("{}/", s.url());
    let now = SystemTime::now();
    let (status, _) = send(signed(&url, READER, REGION, "ecr", now, r#"{"repositoryNames":["team/app"]}"#, None)).await;
    assert_eq!(status, 200);
    let (status, body) = send(signed(&url, NOBODY, REGION, "ecr", now, "{}", None)).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "AccessDeniedException");
    assert_eq!(
        body["message"],
        "User: arn:aws:iam::111122223333:user/nobody is not authorized to perform: ecr:DescribeRepositories on resource: arn:aws:ecr:us-east-1:111122223333:repository/* because no identity-based policy allows the ecr:DescribeRepositories action"
    );
    assert!(s.decisions.load(Ordering::Relaxed) >= 2, "the hook saw the decisions");
    let explained = s.explanations.lock().unwrap().clone();
    assert_eq!(explained.len(), 1, "one denial explained");
    assert_eq!(explained[0]["decision"], "implicitDeny");
    assert_eq!(
        explained[0]["suggestions"][0],
        "no Allow statement in any policy considered mentions `ecr:DescribeRepositories`"
    );
}

#[tokio::test]
async fn registry_tokens_over_basic() {
    let clock = Arc::new(ManualClock::at(SystemTime::now()));
    let s = start("tokens", clock.clone()).await;
    let url = format!("{}/v2/team/app/tags/list", s.url());
    let client = reqwest::Client::new();

    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        "Basic realm=\"https://127.0.0.1/\",service=\"ecr.amazonaws.com\""
    );
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");

    let now = SystemTime::now();
    let (reader_pw, _) = s.issuer.mint("arn:aws:iam::111122223333:user/reader", now);
    let ok = client.get(&url).basic_auth("AWS", Some(&reader_pw)).send().await.unwrap();
    assert_eq!(ok.status(), 200);

    let (nobody_pw, _) = s.issuer.mint("arn:aws:iam::111122223333:user/nobody", now);
    let denied = client.get(&url).basic_auth("AWS", Some(&nobody_pw)).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    let body: serde_json::Value = denied.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert_eq!(body["errors"][0]["message"], "User: arn:aws:iam::111122223333:user/nobody is not authorized to perform: ecr:ListImages on resource: arn:aws:ecr:us-east-1:111122223333:repository/team/app because no identity-based policy allows the ecr:ListImages action");

    // Repository policies take part: a grant to `nobody` on one repository, a deny-all on another.
    let shared = format!("{}/v2/shared/app/tags/list", s.url());
    let resp = client.get(&shared).basic_auth("AWS", Some(&nobody_pw)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "a repository policy naming the user grants in-account");
    let locked = format!("{}/v2/locked/app/tags/list", s.url());
    let resp = client.get(&locked).basic_auth("AWS", Some(&reader_pw)).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "User: arn:aws:iam::111122223333:user/reader is not authorized to perform: ecr:ListImages on resource: arn:aws:ecr:us-east-1:111122223333:repository/locked/app with an explicit deny in a resource-based policy");

    // Altered token: one character of the payload changed.
    let mut chars: Vec<char> = reader_pw.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    let altered: String = chars.into_iter().collect();
    let resp = client.get(&url).basic_auth("AWS", Some(&altered)).send().await.unwrap();
    assert_eq!(resp.status(), 401);

    // Expired: the server's clock 13 hours on.
    clock.set(now + Duration::from_secs(13 * 3600));
    let resp = client.get(&url).basic_auth("AWS", Some(&reader_pw)).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "Your authorization token has expired. Reauthenticate and try again.");
}

/// The real AWS CLI (botocore's signer) against the server.
#[tokio::test]
async fn the_aws_cli_signs_and_sees_aws_errors() {
    let s = start("awscli", Arc::new(SystemClock)).await;
    let run = |key: (&'static str, &'static str), args: &'static [&'static str]| {
        let url = s.url();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("aws")
                .args(["ecr", "--endpoint-url", &url, "--region", REGION, "--output", "json"])
                .args(args)
                .env("AWS_ACCESS_KEY_ID", key.0)
                .env("AWS_SECRET_ACCESS_KEY", key.1)
                .env_remove("AWS_SESSION_TOKEN")
                .env_remove("AWS_PROFILE")
                .env("AWS_CONFIG_FILE", "/nonexistent")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
                .env("AWS_MAX_ATTEMPTS", "1")
                .output()
                .expect("the AWS CLI (`aws`) must be installed: .ci/run installs it")
        })
    };
    let out = run(ADMIN, &["describe-repositories"]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"repositories": []}));

    let out = run(NOBODY, &["describe-repositories", "--repository-names", "team/app"]).await.unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("An error occurred (AccessDeniedException) when calling the DescribeRepositories operation: User: arn:aws:iam::111122223333:user/nobody is not authorized to perform: ecr:DescribeRepositories on resource: arn:aws:ecr:us-east-1:111122223333:repository/team/app because no identity-based policy allows the ecr:DescribeRepositories action"),
        "{err}"
    );

    let out = run((ADMIN.0, "not-the-right-secret-key-000000000000000"), &["describe-repositories"]).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(InvalidSignatureException)"), "{err}");

    let out = run(("AKIAUNKNOWNEXAMPLE01", "x-secret-000000000000000000000000000000"), &["describe-repositories"])
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(UnrecognizedClientException)")
            && err.contains("The security token included in the request is invalid."),
        "{err}"
    );
}

/// Requests keep being served, each against one whole store, while the key files change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_concurrent_requests() {
    let s = start("reload", Arc::new(SystemClock)).await;
    let url = format!("{}/", s.url());
    let file = s.dir.join("identities/test.json");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let store = Arc::clone(&s.store);
    let writer = tokio::task::spawn_blocking(move || {
        let mut n = 0;
        while !flag.load(Ordering::Relaxed) {
            // Rotate nobody's key: present, then absent; admin's key never changes.
            let text = if n % 2 == 0 { identities().replace(NOBODY.0, "AKIANOBODYROTATED001") } else { identities() };
            std::fs::write(&file, format!("{text}{}", " ".repeat(n % 7))).unwrap();
            store.reload_if_changed();
            n += 1;
        }
        n
    });
    let mut handles = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        handles.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..50 {
                let (status, body) = send(signed(&url, ADMIN, REGION, "ecr", SystemTime::now(), "{}", None)).await;
                assert_eq!(status, 200, "{body}");
                ok += 1;
            }
            ok
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let reloads = writer.await.unwrap();
    assert_eq!(total, 200);
    assert!(reloads > 1 && s.store.reloads() > 0, "the store was reloaded {} times", s.store.reloads());
}
