//! The ECR API end to end in process: a SigV4-signed JSON request through the registry's router —
//! signature check, identity lookup, authorization with the repository policy, SQLite, response.
//! Requests are signed once (by the `aws-sigv4` crate) and replayed: the figure is the server's
//! cost per call, not the client's.

use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use criterion::{criterion_group, criterion_main, Criterion};
use tower::ServiceExt;
use warden_registry::{Config, Limits, Registry};

const KEY: (&str, &str) = ("AKIABENCHADMIN000001", "bench-admin-secret-access-key");

fn signed(op: &str, body: &str) -> http::Request<String> {
    let mut req = http::Request::post("http://127.0.0.1:5000/")
        .header("host", "127.0.0.1:5000")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AmazonEC2ContainerRegistry_V20150921.{op}"))
        .body(body.to_owned())
        .unwrap_or_else(|e| panic!("{e}"));
    let identity = Credentials::new(KEY.0, KEY.1, None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("ecr")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .into();
    let headers: Vec<(String, String)> =
        req.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    let signable = SignableRequest::new(
        "POST",
        "http://127.0.0.1:5000/",
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (instructions, _) = sign(signable, &params).unwrap_or_else(|e| panic!("{e}")).into_parts();
    instructions.apply_to_request_http1x(&mut req);
    req
}

/// A registry in `dir` with the bench user and one repository, its audit trail on or off.
fn registry(rt: &tokio::runtime::Runtime, dir: &std::path::Path, trail: bool) -> Arc<Registry> {
    std::fs::create_dir_all(dir.join("policies/identities")).unwrap_or_else(|e| panic!("{e}"));
    let identities = format!(
        r#"{{"account": "111122223333", "users": {{"admin": {{"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"],
            "access_keys": [{{"id": "{}", "secret": "{}"}}]}}}}}}"#,
        KEY.0, KEY.1
    );
    std::fs::write(dir.join("policies/identities/bench.json"), identities).unwrap_or_else(|e| panic!("{e}"));
    let config = Config {
        data_dir: dir.join("data"),
        policies_dir: dir.join("policies"),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        limits: Limits::default(),
        storage: Default::default(),
        // The API's cost is measured, not the throttle's answers to a loop faster than ECR's quotas.
        throttle: warden_registry::ThrottleConfig::off(),
        trail: trail.then(|| warden_registry::trail::TrailConfig::new(dir.join("trail"), "111122223333", "us-east-1")),
    };
    rt.block_on(async {
        let registry = Arc::new(Registry::open(config).await.unwrap_or_else(|e| panic!("{e}")));
        registry.create_repository("bench/app", vec![("team".into(), "bench".into())]).await.unwrap_or_else(|e| panic!("{e}"));
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository",
            "Condition":{"StringNotEquals":{"aws:PrincipalTag/role":"owner"}}}]}"#;
        registry.set_repository_policy("bench/app", Some(policy.into())).await.unwrap_or_else(|e| panic!("{e}"));
        registry
    })
}

/// Each call with the audit trail off and on (`trail_off/…`, `trail_on/…`): reads are queued for
/// the trail's writer; `tag_resource` is a mutating call, answered only once its record is synced
/// to disk, so its figure includes an `fdatasync` per call (one caller: no group commit to share).
fn ecr_api(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let root = std::env::temp_dir().join(format!("warden-bench-ecr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut group = c.benchmark_group("ecr_api");
    for trail in [false, true] {
        let registry = registry(&rt, &root.join(if trail { "on" } else { "off" }), trail);
        let router = warden_registry::router(Arc::clone(&registry));
        for (name, op, body) in [
            ("describe_repositories_by_name", "DescribeRepositories", r#"{"repositoryNames":["bench/app"]}"#),
            (
                "list_tags_for_resource",
                "ListTagsForResource",
                r#"{"resourceArn":"arn:aws:ecr:us-east-1:111122223333:repository/bench/app"}"#,
            ),
            ("get_authorization_token", "GetAuthorizationToken", "{}"),
            (
                "tag_resource",
                "TagResource",
                r#"{"resourceArn":"arn:aws:ecr:us-east-1:111122223333:repository/bench/app","tags":[{"Key":"stage","Value":"bench"}]}"#,
            ),
        ] {
            let mut req = signed(op, body);
            // What axum's connect info gives a served router: the client's address.
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000))));
            // The request must succeed, or the figure measures a refusal.
            let status = rt
                .block_on(router.clone().oneshot(req.clone().map(axum::body::Body::from)))
                .map(|r| r.status())
                .unwrap_or_else(|e| match e {});
            assert_eq!(status, http::StatusCode::OK, "{op}");
            let id = format!("{}/{name}", if trail { "trail_on" } else { "trail_off" });
            // Each iteration is one `block_on` (a few hundred ns of the figure).
            group.bench_function(id, |b| {
                b.iter(|| {
                    rt.block_on(router.clone().oneshot(req.clone().map(axum::body::Body::from))).map(|r| r.status())
                })
            });
        }
        if let Some(t) = registry.trail.as_ref() {
            t.close();
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&root);
}

criterion_group!(benches, ecr_api);
criterion_main!(benches);
