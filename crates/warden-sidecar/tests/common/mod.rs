//! Shared test helpers: a private copy of the example policies and a live server on 127.0.0.1:0.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use warden_sidecar::{Config, Server};

pub const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
pub const BOB: &str = "arn:aws:iam::111122223333:user/bob";
pub const NOTE: &str = "arn:aws:notes:us-east-1:111122223333:note/";

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "warden-sidecar-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of `examples/policies` (identities and routes.json) that a test may change.
pub fn policies_copy(tag: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    let dst = temp_dir(tag);
    copy_dir(&src, &dst);
    dst
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// A server running in this process until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub policies: PathBuf,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<Result<(), warden_sidecar::Error>>>,
}

impl TestServer {
    /// Serves a copy of the example policies.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Serves a copy of the example policies with `tweak` applied to the config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let policies = policies_copy("srv");
        let mut config = Config::new(&policies, "127.0.0.1:0".parse().unwrap());
        config.reload_interval = Duration::from_millis(50);
        tweak(&mut config);
        let server = Server::bind(config).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        TestServer { addr, policies, client: reqwest::Client::new(), stop: Some(tx), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs JSON; returns status and parsed body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.client.post(self.url(path)).json(body).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
    }

    /// GETs text.
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Asks `/v1/authorize`.
    pub async fn authorize(&self, principal: &str, action: &str, resource: &str) -> Value {
        let (status, body) =
            self.post("/v1/authorize", &json!({"principal": principal, "action": action, "resource": resource})).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// The value of one sample line of `/metrics`.
    pub async fn metric(&self, series: &str) -> f64 {
        let (_, text) = self.get_text("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
            .parse()
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Polls `f` until it returns true or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A `SimulatePrincipalPolicy` body whose extra policy has `statements` statements that apply to
/// every request and whose conditions fail: each evaluation walks all of them, the answer stays
/// small.
pub fn heavy_simulation(actions: usize, resources: usize, statements: usize) -> serde_json::Value {
    let statement = |i: usize| {
        json!({"Effect": "Allow", "Action": "notes:*", "Resource": "*",
               "Condition": {"StringLike": {"aws:PrincipalTag/team": [format!("*x{i}*y*"), format!("*z{i}*")]}}})
    };
    let policy = json!({"Version": "2012-10-17", "Statement": (0..statements).map(statement).collect::<Vec<_>>()});
    json!({
        "PolicySourceArn": ALICE,
        "PolicyInputList": [policy.to_string()],
        "ActionNames": (0..actions).map(|i| format!("notes:Action{i}")).collect::<Vec<_>>(),
        "ResourceArns": (0..resources).map(|i| format!("{NOTE}n{i}")).collect::<Vec<_>>(),
    })
}

/// A heavy simulation (as [`heavy_simulation`], 100 × 100) sized to run for about `secs` on this
/// machine and build (one tenth of it is timed first, on the idle server `s`), so that a test can
/// rely on the evaluation slot staying busy that long in debug and release builds alike.
pub async fn heavy_simulation_lasting(s: &TestServer, secs: f64) -> Value {
    let started = std::time::Instant::now();
    let (status, body) = s.post("/v1/simulate", &heavy_simulation(100, 10, 200)).await;
    assert_eq!(status, 200, "{body}");
    let tenth = started.elapsed().as_secs_f64().max(1e-3);
    let statements = (200.0 * secs / (10.0 * tenth)).clamp(200.0, 4000.0);
    heavy_simulation(100, 100, format!("{statements:.0}").parse().unwrap())
}
