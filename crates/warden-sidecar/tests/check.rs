//! `/v1/check`: the reverse-proxy check (nginx `auth_request` headers, Envoy `ext_authz` paths).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{TestServer, ALICE, BOB};

struct Answer {
    status: u16,
    reason: String,
    body: String,
    resource: Option<String>,
}

async fn check(s: &TestServer, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = s.client.request(method.parse().unwrap(), s.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, reason, resource) =
        (resp.status().as_u16(), header("x-warden-reason").unwrap_or_default(), header("x-warden-resource"));
    Answer { status, reason, resource, body: resp.text().await.unwrap() }
}

/// nginx: the check is a GET of /v1/check with the original request in headers.
async fn nginx(s: &TestServer, principal: &str, method: &str, uri: &str) -> Answer {
    check(
        s,
        "GET",
        "/v1/check",
        &[("x-warden-principal", principal), ("x-original-method", method), ("x-original-uri", uri)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_style_checks_follow_the_route_table() {
    let s = TestServer::start().await;
    let ok = nginx(&s, BOB, "GET", "/notes/public/todo?fresh=1").await;
    assert_eq!((ok.status, ok.reason.as_str()), (200, "allowed"));
    assert_eq!(ok.resource.as_deref(), Some("arn:aws:notes:us-east-1:111122223333:note/public/todo"));

    let implicit = nginx(&s, BOB, "GET", "/notes/private/plan").await;
    assert_eq!((implicit.status, implicit.reason.as_str()), (403, "implicitDeny"));
    assert_eq!(
        implicit.body.trim(),
        "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: notes:GetNote on resource: \
         arn:aws:notes:us-east-1:111122223333:note/private/plan because no identity-based policy allows the notes:GetNote action"
    );

    let explicit = nginx(&s, ALICE, "DELETE", "/notes/alice/todo").await;
    assert_eq!((explicit.status, explicit.reason.as_str()), (403, "explicitDeny"));
    assert!(explicit.body.contains("with an explicit deny in an identity-based policy"), "{}", explicit.body);

    // Method matters: PUT of own notes is allowed, of someone else's is not.
    assert_eq!(nginx(&s, ALICE, "PUT", "/notes/alice/todo").await.status, 200);
    assert_eq!(nginx(&s, ALICE, "PUT", "/notes/bob/todo").await.status, 403);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_style_checks_use_the_method_and_the_path_after_the_prefix() {
    let s = TestServer::start().await;
    let bob = [("x-warden-principal", BOB)];
    assert_eq!(check(&s, "GET", "/v1/check/notes/public/a", &bob).await.status, 200);
    assert_eq!(check(&s, "DELETE", "/v1/check/notes/public/a", &bob).await.reason, "implicitDeny");
    assert_eq!(check(&s, "HEAD", "/v1/check/notes/public/a", &bob).await.reason, "noRoute");
    assert_eq!(check(&s, "GET", "/v1/check/notes", &bob).await.status, 200);
    // The source IP header fills aws:SourceIp.
    let share = |ip: &'static str| [("x-warden-principal", ALICE), ("x-warden-source-ip", ip)];
    assert_eq!(check(&s, "POST", "/v1/check/notes/plan/share", &share("203.0.113.4")).await.status, 200);
    assert_eq!(check(&s, "POST", "/v1/check/notes/plan/share", &share("192.0.2.1")).await.status, 403);
    let bad_ip = check(&s, "POST", "/v1/check/notes/plan/share", &share("nope")).await;
    assert_eq!(bad_ip.status, 400);
    assert!(bad_ip.body.contains("\"field\":\"x-warden-source-ip\""), "{}", bad_ip.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_fail_closed() {
    let s = TestServer::start().await;
    let anonymous =
        check(&s, "GET", "/v1/check", &[("x-original-uri", "/notes/public/a"), ("x-original-method", "GET")]).await;
    assert_eq!((anonymous.status, anonymous.reason.as_str()), (401, "unauthenticated"));

    let unrouted = nginx(&s, ALICE, "GET", "/admin").await;
    assert_eq!((unrouted.status, unrouted.reason.as_str()), (403, "noRoute"));
    assert!(unrouted.body.contains("`GET /admin`"), "{}", unrouted.body);

    for uri in ["/notes/public/../private/x", "/notes/public/%2e%2e/private/x", "/notes/public%2Fx"] {
        let a = nginx(&s, BOB, "GET", uri).await;
        assert_eq!((a.status, a.reason.as_str()), (403, "badPath"), "{uri}");
    }

    let stranger = nginx(&s, "arn:aws:iam::111122223333:user/mallory", "GET", "/notes/public/a").await;
    assert_eq!((stranger.status, stranger.reason.as_str()), (403, "unknownPrincipal"));
    assert!(stranger.body.starts_with("User: arn:aws:iam::111122223333:user/mallory is not authorized"));

    // An empty routes table refuses everything.
    std::fs::write(s.policies.join("routes.json"), "[]").unwrap();
    assert!(
        common::eventually(5, || async { nginx(&s, BOB, "GET", "/notes/public/a").await.reason == "noRoute" }).await
    );
    assert!(s.metric("warden_check_unrouted_total").await >= 2.0);
    s.stop().await;
}
