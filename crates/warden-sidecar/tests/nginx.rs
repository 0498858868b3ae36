//! End to end behind a real nginx: `auth_request` → the sidecar's `/v1/check`. nginx must be
//! installed (`apt-get install -y nginx`): this test fails without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TestServer, ALICE, BOB};
use warden_testkit::nginx;

/// The server block: `auth_request` to the sidecar in front of static files.
fn server(prefix: &Path, port: u16, sidecar: std::net::SocketAddr) -> String {
    let p = prefix.display();
    format!(
        r#"    server {{
        listen 127.0.0.1:{port};
        location = /_warden {{
            internal;
            proxy_pass http://{sidecar}/v1/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            # FOR THIS TEST ONLY the caller comes from a header the test client sends. In
            # production set X-Warden-Principal from nginx's own authentication (e.g. a map of
            # $remote_user after auth_basic, or a verified JWT claim), never from the client.
            proxy_set_header X-Warden-Principal $http_x_test_principal;
        }}
        location / {{
            auth_request /_warden;
            root {p}/www;
        }}
    }}"#
    )
}

async fn raw_get(port: u16, path: &str, principal: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Test-Principal: {principal}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_allows_and_denies_through_the_sidecar() {
    let sidecar = TestServer::start().await;
    let prefix = common::temp_dir("nginx");
    std::fs::create_dir_all(prefix.join("www/notes/public")).unwrap();
    std::fs::create_dir_all(prefix.join("www/notes/private")).unwrap();
    std::fs::write(prefix.join("www/notes/public/todo"), "buy milk\n").unwrap();
    std::fs::write(prefix.join("www/notes/private/plan"), "secret plan\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _nginx = nginx::start(&prefix, &server(&prefix, port, sidecar.addr)).unwrap();
    let up =
        common::eventually(10, || async { tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() }).await;
    assert!(up, "nginx did not start: {}", std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default());

    let client = reqwest::Client::new();
    let get = |method: &str, path: &str, principal: Option<&str>| {
        let mut req = client.request(method.parse().unwrap(), format!("http://127.0.0.1:{port}{path}"));
        if let Some(p) = principal {
            req = req.header("x-test-principal", p);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    assert_eq!(get("GET", "/notes/public/todo", Some(BOB)).await, (200, "buy milk\n".to_owned()));
    assert_eq!(get("GET", "/notes/private/plan", Some(BOB)).await.0, 403);
    assert_eq!(get("GET", "/notes/private/plan", Some(ALICE)).await, (200, "secret plan\n".to_owned()));
    assert_eq!(get("DELETE", "/notes/public/todo", Some(ALICE)).await.0, 403);
    assert_eq!(get("GET", "/notes/public/todo", None).await.0, 401);
    assert_eq!(get("GET", "/elsewhere", Some(ALICE)).await.0, 403);
    // A dot segment, sent raw (HTTP clients normalize it away): nginx serves the normalized
    // path, but the sidecar sees $request_uri as sent and refuses it.
    let raw = raw_get(port, "/notes/public/../private/plan", BOB).await;
    assert!(raw.starts_with("HTTP/1.1 403"), "{raw}");
    // The decisions were the sidecar's.
    assert_eq!(sidecar.metric("warden_decisions_total{result=\"allowed\"}").await, 2.0);
    assert_eq!(sidecar.metric("warden_decisions_total{result=\"explicitDeny\"}").await, 1.0);
    assert_eq!(sidecar.metric("warden_decisions_total{result=\"implicitDeny\"}").await, 1.0);
    drop(_nginx);
    tokio::time::sleep(Duration::from_millis(10)).await;
    sidecar.stop().await;
}
