//! A private Garage (an S3-compatible object store) for tests that need a real S3 server.
//!
//! [`Garage::start`] runs a one-node Garage 2.x on free loopback ports, with its metadata and
//! data in a temporary directory, a layout applied, one bucket and one access key that may read,
//! write and own it. [`Garage::shared`] starts one per test process, on first use; tests share it
//! and keep apart by bucket ([`Garage::create_bucket`]) or by key prefix ([`unique_prefix`]).
//!
//! The server runs under a small shell watchdog that stops it (and removes its directory) once
//! the test process is gone, so it never outlives the tests, even though Rust runs no destructor
//! for the shared (static) instance; an owned [`Garage`] also stops its server when dropped.
//!
//! Garage must be installed (`cargo install garage --locked`, which puts it in
//! `~/.cargo/bin`): without it the test fails, it does not skip.

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A running Garage: its S3 endpoint, region, bucket and credentials.
#[derive(Debug)]
pub struct Garage {
    binary: PathBuf,
    dir: PathBuf,
    config: PathBuf,
    /// The watchdog shell (its child is the server).
    watchdog: Mutex<Option<Child>>,
    endpoint: String,
    access_key: String,
    secret_key: String,
    key_name: String,
    bucket: String,
}

static SHARED: OnceLock<Garage> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The Garage binary: `garage` on `PATH`, else `~/.cargo/bin/garage`.
///
/// # Panics
///
/// When there is none: "install garage: cargo install garage --locked".
pub fn binary() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let candidates =
        [PathBuf::from("garage"), home.join(".cargo/bin/garage"), PathBuf::from("/root/.cargo/bin/garage")];
    for candidate in candidates {
        let runs = Command::new(&candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if runs {
            return candidate;
        }
    }
    panic!("Garage is required for this test and was not found: install garage: cargo install garage --locked");
}

/// A name no other call in any process makes: `name-<pid>-<time>-<n>` (lowercase, fit for a
/// bucket name or a key prefix).
pub fn unique_prefix(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{name}-{}-{:x}-{n}", std::process::id(), nanos % (1 << 40))
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
    listener.local_addr().unwrap_or_else(|e| panic!("reading a bound port: {e}")).port()
}

/// 32 random bytes as 64 hex characters.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .unwrap_or_else(|e| panic!("reading /dev/urandom: {e}"));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Garage {
    /// The process-wide Garage, started on first use and stopped when the process ends.
    pub fn shared() -> &'static Garage {
        SHARED.get_or_init(Garage::start)
    }

    /// Starts a Garage of its own, stopped when the returned value drops.
    ///
    /// # Panics
    ///
    /// When Garage is not installed, or does not come up within a minute (the message carries
    /// the server's log).
    pub fn start() -> Garage {
        // A port found free can be taken (by another test's server) before Garage binds it, and
        // Garage then exits: start again on other ports, a few times.
        for attempt in 1.. {
            match std::panic::catch_unwind(Garage::start_once) {
                Ok(garage) => return garage,
                Err(why) if attempt >= 3 => std::panic::resume_unwind(why),
                Err(_) => eprintln!("Garage did not come up (attempt {attempt}); starting it again on other ports"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn start_once() -> Garage {
        let binary = binary();
        let dir = std::env::temp_dir().join(unique_prefix("warden-garage"));
        std::fs::create_dir_all(dir.join("meta")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir.join("data")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let config = dir.join("garage.toml");
        let text = format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1
metadata_fsync = false
data_fsync = false
compression_level = "none"
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
api_bind_addr = "127.0.0.1:{s3}"
s3_region = "garage"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
            meta = dir.join("meta").display(),
            data = dir.join("data").display(),
            secret = random_hex(),
        );
        std::fs::write(&config, text).unwrap_or_else(|e| panic!("{}: {e}", config.display()));

        // The watchdog: runs the server, stops it when the test process (or the server) is gone,
        // and removes the directory. It ignores the signals that end the test's process group
        // (Ctrl-C, `timeout`), so it outlives the test and still cleans up.
        let script = r#"
"$0" -c "$1" server >"$2" 2>&1 &
p=$!
echo $p >"$4"
trap '' INT TERM HUP
while kill -0 "$3" 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 1; done
kill $p 2>/dev/null
wait $p
rm -rf "$5"
"#;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&binary)
            .arg(&config)
            .arg(dir.join("garage.log"))
            .arg(std::process::id().to_string())
            .arg(dir.join("garage.pid"))
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting sh for Garage: {e}"));
        let mut garage = Garage {
            binary,
            dir,
            config,
            watchdog: Mutex::new(Some(watchdog)),
            endpoint: format!("http://127.0.0.1:{s3}"),
            access_key: String::new(),
            secret_key: String::new(),
            key_name: String::new(),
            bucket: String::new(),
        };
        garage.set_up(s3);
        garage
    }

    /// Waits for the server, applies a layout, creates the bucket and the key.
    fn set_up(&mut self, s3_port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        // `status` asks the server (over RPC); `node id` would only read the metadata directory.
        while let Err(e) = self.try_cli(&["status"]) {
            if Instant::now() > deadline {
                self.fail(&format!("Garage did not come up: {e}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let node = self.cli(&["node", "id", "-q"]);
        let node = node.trim().split('@').next().unwrap_or_default().to_owned();
        if node.is_empty() {
            self.fail("`garage node id` printed no node id");
        }
        self.retrying(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        self.retrying(&["layout", "apply", "--version", "1"]);
        while TcpStream::connect(("127.0.0.1", s3_port)).is_err() {
            if Instant::now() > deadline {
                self.fail("Garage's S3 API does not accept connections");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.key_name = unique_prefix("warden-test-key");
        let created = self.retrying(&["key", "create", &self.key_name.clone()]);
        let field = |label: &str| {
            created
                .lines()
                .find_map(|l| l.trim().strip_prefix(label))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        };
        match (field("Key ID:"), field("Secret key:")) {
            (Some(id), Some(secret)) => (self.access_key, self.secret_key) = (id, secret),
            _ => self.fail(&format!("could not read the key from `garage key create`:\n{created}")),
        }
        self.bucket = self.create_bucket(&unique_prefix("warden-test"));
    }

    /// Creates a bucket the test key may read, write and own; its name.
    pub fn create_bucket(&self, name: &str) -> String {
        self.retrying(&["bucket", "create", name]);
        self.retrying(&["bucket", "allow", "--read", "--write", "--owner", name, "--key", &self.key_name]);
        name.to_owned()
    }

    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The S3 region, `garage`.
    pub fn region(&self) -> &str {
        "garage"
    }

    /// The access key id.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret access key.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The bucket made at start.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The directory holding the configuration, metadata, data and `garage.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `garage -c garage.toml ARGS`; its standard output.
    ///
    /// # Panics
    ///
    /// When the command fails.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args).unwrap_or_else(|e| self.fail(&e))
    }

    /// [`Garage::cli`], retried for up to 30 seconds (the layout takes a moment to settle).
    fn retrying(&self, args: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.try_cli(args) {
                Ok(out) => return out,
                Err(e) if Instant::now() > deadline => self.fail(&e),
                Err(_) => std::thread::sleep(Duration::from_millis(300)),
            }
        }
    }

    fn try_cli(&self, args: &[&str]) -> Result<String, String> {
        let out: Output = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running garage {}: {e}", args.join(" ")))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "`garage {}` failed ({}):\n{stdout}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Panics with `why` and the end of the server's log.
    fn fail(&self, why: &str) -> ! {
        let log = std::fs::read_to_string(self.dir.join("garage.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!("{why}\n--- garage.log (end) ---\n{}", tail.join("\n"));
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        // Stop the server by its pid; the watchdog then sees it gone and exits.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("garage.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).stderr(Stdio::null()).status();
        }
        let watchdog = self.watchdog.get_mut().map(Option::take).unwrap_or_else(|p| p.into_inner().take());
        if let Some(mut child) = watchdog {
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
