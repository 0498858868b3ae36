//! End to end behind a real nginx: `auth_request` → the sidecar's `/v1/check`. nginx must be
//! installed (`apt-get install -y nginx`): this test fails without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TestServer, ALICE, BOB};

/// Kills the private nginx when the test ends, however it ends.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx_binary() -> &'static str {
    ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .find(|b| Command::new(b).arg("-v").stderr(Stdio::null()).status().is_ok())
        .expect("nginx is required for this test: install it with `apt-get install -y nginx`")
}

fn config(prefix: &Path, port: u16, sidecar: std::net::SocketAddr) -> String {
    let p = prefix.display();
    format!(
        r#"daemon off;
master_process off;
pid {p}/nginx.pid;
error_log {p}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {p}/access.log;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    default_type text/plain;
    server {{
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
    }}
}}
"#
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
    let binary = nginx_binary();
    let sidecar = TestServer::start().await;
    let prefix = common::temp_dir("nginx");
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    std::fs::create_dir_all(prefix.join("www/notes/public")).unwrap();
    std::fs::create_dir_all(prefix.join("www/notes/private")).unwrap();
    std::fs::write(prefix.join("www/notes/public/todo"), "buy milk\n").unwrap();
    std::fs::write(prefix.join("www/notes/private/plan"), "secret plan\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, config(&prefix, port, sidecar.addr)).unwrap();
    let child = Command::new(binary)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _nginx = Nginx(child);
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
