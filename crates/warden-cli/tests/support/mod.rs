//! Helpers for driving real registry clients (skopeo, oras, docker) against `warden serve`.
//!
//! Everything here runs external programs with a timeout, in temporary directories that are
//! removed on drop, and never skips: a missing client is a failure whose message names the command
//! that installs it.
//!
//! - [`registry`]: start `warden serve` (or CNCF Distribution, to compare) on a free loopback port.
//! - [`images`]: OCI image layouts built with umoci, without a docker daemon.
//! - [`clients`]: skopeo and oras (the PyPI `oras` SDK, through a small driver script).
//! - [`dockerd`]: a private docker daemon with its own data root, socket and pid file.

#![allow(dead_code)] // each test binary uses a different part of the helpers

pub mod clients;
pub mod dockerd;
pub mod images;
pub mod registry;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The default time limit of one client command.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);

/// A directory under the system temp dir, removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Short names: unix socket paths (the docker daemon's) are limited to 108 bytes.
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What a finished (or timed out) command left.
#[derive(Debug)]
pub struct Run {
    /// `cmd` as a readable command line, for failure messages.
    pub command: String,
    /// The exit code; `None` when killed by a signal or on timeout.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the command and its output unless it exited 0.
    pub fn ok(self) -> Run {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// Panics with the command and its output if it exited 0.
    pub fn failed(self) -> Run {
        assert!(!self.success() && !self.timed_out, "command should have failed (and not timed out): {self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = if self.timed_out { "timed out".to_string() } else { format!("exit {:?}", self.code) };
        write!(f, "`{}`: {status}\n--- stdout\n{}\n--- stderr\n{}", self.command, self.stdout, self.stderr)
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion, feeding it `stdin`, killing its whole process group after `timeout`.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let command = describe(cmd);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let mut out = child.stdout.take().map(|mut p| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = p.read_to_end(&mut v);
            v
        })
    });
    let mut err = child.stderr.take().map(|mut p| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = p.read_to_end(&mut v);
            v
        })
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                kill_group(child.id(), "KILL");
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    // A grandchild that kept the pipes open would block the readers: the group is gone by now.
    let collect = |h: &mut Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.take().and_then(|h| h.join().ok()).map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default()
    };
    let stdout = collect(&mut out);
    let stderr = collect(&mut err);
    Run { command, code: if timed_out { None } else { status.and_then(|s| s.code()) }, timed_out, stdout, stderr }
}

/// Sends `signal` (a name such as `TERM` or `KILL`) to the process group `pgid`.
pub fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".to_string(), format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sends `signal` to the single process `pid`.
pub fn kill_pid(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether `program` is on the PATH (or is an existing path).
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// Fails the test, naming the install command, unless `program` is installed.
pub fn require(program: &str, install: &str) {
    assert!(on_path(program), "`{program}` is required by this test and is not installed: run `{install}`");
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding 127.0.0.1:0: {e}"));
    listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("local_addr: {e}"))
}

/// `n` bytes from /dev/urandom.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    std::fs::File::open("/dev/urandom")
        .and_then(|f| f.take(n as u64).read_to_end(&mut v))
        .unwrap_or_else(|e| panic!("reading /dev/urandom: {e}"));
    v
}

/// `sha256:<hex>` of a file, with coreutils' sha256sum.
pub fn sha256_file(path: &Path) -> String {
    let r = run(Command::new("sha256sum").arg(path), None, Duration::from_secs(120)).ok();
    let hex = r.stdout.split_whitespace().next().unwrap_or_default().to_string();
    assert_eq!(hex.len(), 64, "sha256sum output: {r}");
    format!("sha256:{hex}")
}

/// `sha256:<hex>` of bytes.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    let r = run(&mut Command::new("sha256sum"), Some(bytes), Duration::from_secs(60)).ok();
    let hex = r.stdout.split_whitespace().next().unwrap_or_default().to_string();
    assert_eq!(hex.len(), 64, "sha256sum output: {r}");
    format!("sha256:{hex}")
}

/// Standard base64 with padding (for HTTP Basic credentials).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk.first(), chunk.get(1), chunk.get(2)].map(|b| u32::from(b.copied().unwrap_or(0)));
        let n = (b[0] << 16) | (b[1] << 8) | b[2];
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl std::fmt::Display for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (k, v) in &self.headers {
            writeln!(f, "{k}: {v}")?;
        }
        write!(f, "\n{}", self.text())
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`) to `host` ("127.0.0.1:PORT").
/// `headers` are added as given; `Host`, `Content-Length` and `Connection` are set here.
pub fn http(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: warden-tests\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
        .ok_or_else(|| std::io::Error::other(format!("malformed HTTP response: {:?}", String::from_utf8_lossy(&raw))))
}

/// `Authorization` header value for HTTP Basic `user:password` credentials ("AWS:...").
pub fn basic(creds: &str) -> String {
    format!("Basic {}", base64(creds.as_bytes()))
}

fn parse_response(raw: &[u8], head: bool) -> Option<HttpResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head_text = String::from_utf8_lossy(raw.get(..end)?).into_owned();
    let mut lines = head_text.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let rest = raw.get(end + 4..)?;
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
    let body = if head {
        Vec::new()
    } else if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(HttpResponse { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(data.get(..eol)?).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = data.get(eol + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Waits until `check` is true, polling every 100 ms, for at most `timeout`.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `n` lines of a file, for failure messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().skip(lines.len().saturating_sub(n)).copied().collect::<Vec<_>>().join("\n")
}
