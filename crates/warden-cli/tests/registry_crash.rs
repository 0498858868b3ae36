//! Nothing acknowledged is lost: `warden serve` is killed with SIGKILL while skopeo pushes images
//! concurrently; after a restart every push that skopeo saw succeed pulls back whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");

fn need(tool: &str, install: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "`{tool}` is required for this test: {install}");
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(data: &Path, port: u16, env: &[(String, String)]) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--policies", POLICIES])
        .arg("--data-dir")
        .arg(data)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "warden serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// An OCI layout with `count` images `img:N`, each with its own random 1 MiB layer.
fn images(dir: &Path, count: usize) {
    run(Command::new("umoci").args(["init", "--layout"]).arg(dir));
    for i in 0..count {
        let image = format!("{}:{i}", dir.display());
        run(Command::new("umoci").args(["new", "--image", &image]));
        let file = dir.with_extension(format!("layer{i}"));
        let bytes: Vec<u8> = (0..1024 * 1024).map(|j| ((j * 31 + i * 7919) % 251) as u8).collect();
        std::fs::write(&file, bytes).unwrap();
        run(Command::new("umoci").args(["insert", "--image", &image]).arg(&file).arg(format!("/data/{i}.bin")));
    }
}

#[test]
fn sigkill_during_concurrent_pushes_loses_nothing_acknowledged() {
    need("skopeo", "apt-get install -y skopeo");
    need("umoci", "apt-get install -y umoci");
    let root: PathBuf = std::env::temp_dir().join(format!("warden-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("data");
    let layout = root.join("layout");
    let count = 24;
    images(&layout, count);
    // The defaults, or Garage and PostgreSQL under WARDEN_TEST_STORAGE=s3-postgres.
    let env = warden_testkit::scale_out::backend_env("crash");
    let create = |name: &str| {
        run(Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["create-repository", "--repository-name", name, "--policies", POLICIES])
            .arg("--data-dir")
            .arg(&data)
            .envs(env.iter().map(|(k, v)| (k, v))));
    };
    create("crash/app");
    let password = String::from_utf8(
        run(Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["get-login-password", "--user", "admin", "--policies", POLICIES])
            .arg("--data-dir")
            .arg(&data)
            .envs(env.iter().map(|(k, v)| (k, v))))
        .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let port = free_port();
    let mut server = serve(&data, port, &env);

    // Four pushers, three images each; the server dies while they run.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let pushers: Vec<_> = (0..4)
        .map(|w| {
            let (layout, password, acknowledged) = (layout.clone(), password.clone(), Arc::clone(&acknowledged));
            std::thread::spawn(move || {
                for i in (w..count).step_by(4) {
                    let out = Command::new("skopeo")
                        .args([
                            "copy",
                            "--retry-times",
                            "0",
                            "--dest-tls-verify=false",
                            "--dest-creds",
                            &format!("AWS:{password}"),
                        ])
                        .arg(format!("oci:{}:{i}", layout.display()))
                        .arg(format!("docker://127.0.0.1:{port}/crash/app:t{i}"))
                        .output()
                        .unwrap();
                    if out.status.success() {
                        acknowledged.lock().unwrap().push(i);
                    }
                }
            })
        })
        .collect();
    // Killed once a few pushes were acknowledged (so the check below is not empty), with the
    // others in flight.
    let start = Instant::now();
    while acknowledged.lock().unwrap().len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(120), "no push was acknowledged within two minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for p in pushers {
        p.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() < count, "every push finished before the kill: nothing was in flight");

    // Restart on the same data; every acknowledged image pulls back whole.
    let port = free_port();
    let mut server = serve(&data, port, &env);
    for i in &acknowledged {
        let back = root.join(format!("back{i}"));
        run(Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false", "--src-creds", &format!("AWS:{password}")])
            .arg(format!("docker://127.0.0.1:{port}/crash/app:t{i}"))
            .arg(format!("oci:{}:x", back.display())));
        // skopeo verified every blob's digest while copying; check the layer content too.
        let out = run(Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--creds", &format!("AWS:{password}")])
            .arg(format!("docker://127.0.0.1:{port}/crash/app:t{i}")));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Layers"].as_array().map(Vec::len), Some(1), "image t{i}");
    }
    // Pushes not acknowledged may or may not be there, but the registry answers for them cleanly.
    let out = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", "--creds", &format!("AWS:{password}")])
        .arg(format!("docker://127.0.0.1:{port}/crash/app"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for i in &acknowledged {
        assert!(
            tags["Tags"].as_array().unwrap().iter().any(|t| t == &format!("t{i}")),
            "t{i} acknowledged but not listed"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&root);
    eprintln!("{} of {count} pushes were acknowledged before the kill; all of them survived", acknowledged.len());
}
