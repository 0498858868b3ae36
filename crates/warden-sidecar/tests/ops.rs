//! Operations: health, readiness, metrics, hot reload, decision log, demo keys, shutdown.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::Duration;

use common::{eventually, TestServer, ALICE, BOB, NOTE};
use serde_json::{json, Value};
use warden_sidecar::{Config, LogTarget, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let s = TestServer::start().await;
    assert_eq!(s.get_text("/healthz").await, (200, r#"{"status":"ok"}"#.to_owned()));
    let (status, ready) = s.get_text("/readyz").await;
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(status, 200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["identities"], 3);
    assert_eq!(ready["routes"], 5);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_decisions_and_latency() {
    let s = TestServer::start().await;
    let (status, text) = s.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE warden_decisions_total counter"));
    assert!(text.contains("# TYPE warden_decision_duration_seconds histogram"));
    let count = "warden_decision_duration_seconds_count";
    assert_eq!(s.metric(count).await, 0.0);
    s.authorize(BOB, "notes:GetNote", &format!("{NOTE}public/a")).await;
    s.authorize(BOB, "notes:GetNote", &format!("{NOTE}public/b")).await;
    s.authorize(ALICE, "notes:DeleteNote", "*").await;
    s.authorize(BOB, "notes:DeleteNote", "*").await;
    s.post(
        "/v1/authorize/batch",
        &json!({"requests": [{"principal": BOB, "action": "notes:GetNote", "resource": "*"}]}),
    )
    .await;
    assert_eq!(s.metric("warden_decisions_total{result=\"allowed\"}").await, 2.0);
    assert_eq!(s.metric("warden_decisions_total{result=\"explicitDeny\"}").await, 1.0);
    assert_eq!(s.metric("warden_decisions_total{result=\"implicitDeny\"}").await, 2.0);
    assert_eq!(s.metric(count).await, 5.0);
    assert_eq!(s.metric("warden_decision_duration_seconds_bucket{le=\"+Inf\"}").await, 5.0);
    assert!(s.metric("warden_decision_duration_seconds_sum").await > 0.0);
    // Refused input is not a decision.
    s.post("/v1/authorize", &json!({"principal": BOB})).await;
    assert_eq!(s.metric(count).await, 5.0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_hot_reload_and_broken_changes_are_refused() {
    let s = TestServer::start().await;
    let file = s.policies.join("identities/notes.json");
    let original = std::fs::read_to_string(&file).unwrap();
    let private = format!("{NOTE}private/plan");
    assert_eq!(s.authorize(BOB, "notes:GetNote", &private).await["reason"], "implicitDeny");

    // A valid change: bob may read everything.
    let widened = original.replace("note/public/*", "note/*");
    std::fs::write(&file, &widened).unwrap();
    assert!(
        eventually(10, || async { s.authorize(BOB, "notes:GetNote", &private).await["reason"] == "allowed" }).await
    );
    assert_eq!(s.metric("warden_reloads_total{source=\"identities\"}").await, 1.0);

    // A broken change: refused, the last good set keeps serving.
    std::fs::write(
        &file,
        widened.replace("\"bob\": {", "\"bob\": {\"attached_policies\": [\"NoSuchPolicy\"], \"x\": {"),
    )
    .unwrap();
    assert!(
        eventually(10, || async { s.metric("warden_reload_failures_total{source=\"identities\"}").await >= 1.0 }).await
    );
    assert_eq!(s.authorize(BOB, "notes:GetNote", &private).await["reason"], "allowed");
    assert_eq!(s.get_text("/readyz").await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_hot_reload_and_broken_routes_are_refused() {
    let s = TestServer::start().await;
    let routes = s.policies.join("routes.json");
    let check = |uri: &'static str| {
        let req = s
            .client
            .get(s.url("/v1/check"))
            .header("x-warden-principal", BOB)
            .header("x-original-method", "GET")
            .header("x-original-uri", uri);
        async move { req.send().await.unwrap().headers()["x-warden-reason"].to_str().unwrap().to_owned() }
    };
    assert_eq!(check("/public/a").await, "noRoute");
    std::fs::write(
        &routes,
        r#"[{"method":"GET","path":"/public/{name}","action":"notes:GetNote","resource":"arn:aws:notes:us-east-1:111122223333:note/public/{name}"}]"#,
    )
    .unwrap();
    assert!(eventually(10, || async { check("/public/a").await == "allowed" }).await);
    assert_eq!(s.metric("warden_reloads_total{source=\"routes\"}").await, 1.0);

    std::fs::write(&routes, r#"[{"method":"GET","path":"public/{name}","action":"notes:GetNote","resource":"*"}, "#)
        .unwrap();
    assert!(
        eventually(10, || async { s.metric("warden_reload_failures_total{source=\"routes\"}").await >= 1.0 }).await
    );
    assert_eq!(check("/public/a").await, "allowed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_log_writes_sampled_json_lines() {
    let dir = common::temp_dir("log");
    let path = dir.join("decisions.jsonl");
    let target = LogTarget::File(path.clone());
    let s = TestServer::start_with(|c| {
        c.decision_log = Some(target);
        c.log_sample_rate = 0.5;
    })
    .await;
    for i in 0..6 {
        s.authorize(BOB, "notes:GetNote", &format!("{NOTE}public/{i}")).await;
    }
    s.authorize(ALICE, "notes:DeleteNote", &format!("{NOTE}x")).await;
    s.authorize(ALICE, "notes:DeleteNote", &format!("{NOTE}y")).await;
    // Stopping drops the state, which writes out every queued line.
    s.stop().await;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    let last = lines.last().unwrap();
    assert_eq!(last["principal"], ALICE);
    assert_eq!(last["action"], "notes:DeleteNote");
    assert_eq!(last["resource"], format!("{NOTE}y"));
    assert_eq!(last["decision"], "Deny");
    assert_eq!(last["reason"], "explicitDeny");
    assert_eq!(last["matched"], json!(["NeverDeleteNotes"]));
    assert_eq!(last["endpoint"], "authorize");
    assert!(last["latencyMicros"].is_u64());
    assert!(last["ts"].as_u64().unwrap() > 1_700_000_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_keys_keep_the_server_on_loopback() {
    let policies = common::policies_copy("demo");
    std::fs::write(
        policies.join("identities/demo.json"),
        r#"{"account": "444455556666", "users": {"admin": {"access_keys": [
            {"id": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "demo": true}]}}}"#,
    )
    .unwrap();
    let refused = Server::bind(Config::new(&policies, "0.0.0.0:0".parse().unwrap())).await.unwrap_err();
    assert!(refused.to_string().contains("AKIAIOSFODNN7EXAMPLE"), "{refused}");
    let mut allowed = Config::new(&policies, "0.0.0.0:0".parse().unwrap());
    allowed.allow_demo_keys = true;
    assert!(Server::bind(allowed).await.is_ok());
    assert!(Server::bind(Config::new(&policies, "127.0.0.1:0".parse().unwrap())).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_configuration_refuses_to_start() {
    let policies = common::policies_copy("bad");
    std::fs::write(policies.join("routes.json"), r#"[{"method":"GET","path":"/x","action":"x","resource":"*"}]"#)
        .unwrap();
    let e = Server::bind(Config::new(&policies, "127.0.0.1:0".parse().unwrap())).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "routes.json: [0].action: `x` is not an action name: expected `service:Action` without wildcards"
    );
    std::fs::write(policies.join("routes.json"), "[]").unwrap();
    std::fs::write(policies.join("identities/broken.json"), "{").unwrap();
    let e = Server::bind(Config::new(&policies, "127.0.0.1:0".parse().unwrap())).await.unwrap_err();
    assert!(e.to_string().contains("broken.json"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_stops_accepting_and_returns() {
    let s = TestServer::start().await;
    let addr = s.addr;
    assert_eq!(s.get_text("/healthz").await.0, 200);
    tokio::time::timeout(Duration::from_secs(10), s.stop()).await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
