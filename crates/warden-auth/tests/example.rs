//! The `notes` example runs and enforces its policies; requests are signed by curl's own SigV4
//! implementation (`--aws-sigv4`), a third independent signer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl(port: u16, key: &str, target: &str, body: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:notes", "--user", key])
        .args(["-H", &format!("x-amz-target: Notes.{target}"), "-H", "content-type: application/x-amz-json-1.1"])
        .args(["-d", body, &format!("http://127.0.0.1:{port}/")])
        .output()
        .expect("curl must be installed: .ci/run installs it");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_notes_example_enforces_its_policies() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "warden-auth", "--example", "notes"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("../../target"));
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Kill(
        Command::new(target.join("debug/examples/notes"))
            .arg(root.join("examples/notes-policies"))
            .arg(format!("127.0.0.1:{port}"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the example did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let writer = "AKIANOTESWRITER00001:notes-writer-secret-key-0000000000000001";
    let reader = "AKIANOTESREADER00001:notes-reader-secret-key-0000000000000001";
    assert_eq!(curl(port, writer, "PutNote", r#"{"name":"public/todo","text":"buy milk"}"#), "{}");
    assert_eq!(
        curl(port, reader, "GetNote", r#"{"name":"public/todo"}"#),
        r#"{"name":"public/todo","text":"buy milk"}"#
    );
    let denied: serde_json::Value =
        serde_json::from_str(&curl(port, reader, "PutNote", r#"{"name":"public/todo","text":"x"}"#)).unwrap();
    assert_eq!(denied["__type"], "AccessDeniedException");
    assert_eq!(denied["message"], "User: arn:aws:iam::111122223333:user/reader is not authorized to perform: notes:PutNote on resource: arn:aws:notes:us-east-1:111122223333:note/public/todo because no identity-based policy allows the notes:PutNote action");
    let denied: serde_json::Value =
        serde_json::from_str(&curl(port, reader, "GetNote", r#"{"name":"private/diary"}"#)).unwrap();
    assert_eq!(denied["__type"], "AccessDeniedException");
    let bad_key: serde_json::Value = serde_json::from_str(&curl(
        port,
        "AKIANOTESREADER00001:wrong-secret-key-000000000000000000000000",
        "GetNote",
        "{}",
    ))
    .unwrap();
    assert_eq!(bad_key["__type"], "InvalidSignatureException");
}
