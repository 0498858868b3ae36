//! A private PostgreSQL cluster for tests: Debian's server binaries (the newest version under
//! `/usr/lib/postgresql/*/bin`) run on a fresh data directory under the temporary directory, on a
//! free loopback port, with password (SCRAM) authentication for the user `warden`. PostgreSQL
//! must be installed (`apt-get install postgresql`): without it the test fails, it does not skip.
//!
//! `initdb` refuses to run as root, so when the test runs as root the cluster runs as the
//! `postgres` system user (`runuser -u postgres --`), its directory handed over with `chown`.
//!
//! The server runs under a shell watchdog that stops it (`SIGINT`, a fast shutdown) within a
//! second of the test process ending, since Rust runs no destructors for statics; an owned
//! [`Postgres`] also stops it, and removes its directory, when dropped.
//!
//! ```no_run
//! let pg = warden_testkit::postgres::Postgres::shared();
//! let url = pg.create_database("conformance");
//! // postgres://warden:…@127.0.0.1:PORT/conformance
//! # let _ = url;
//! ```

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a starting server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Clusters started by this process (for distinct directories).
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A running private PostgreSQL cluster.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    password: String,
    as_postgres_user: bool,
    server: Mutex<Option<Child>>,
    databases: AtomicUsize,
}

/// The directory of the newest installed PostgreSQL's binaries; panics when there is none.
pub fn bin_dir() -> PathBuf {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name.split('.').map(|p| p.parse().ok()).collect::<Option<Vec<u32>>>()?;
            let bin = e.path().join("bin");
            ["initdb", "postgres", "pg_ctl", "pg_isready", "psql"]
                .iter()
                .all(|b| bin.join(b).is_file())
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is required for this test and was not found under /usr/lib/postgresql/*/bin: \
             install postgresql (apt-get install postgresql)"
        ),
    }
}

/// Runs `cmd` to completion; panics, with its output, when it fails.
fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: could not run: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A free loopback TCP port (free when asked; the server binds it right after).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("no free port: {e}"));
    listener.local_addr().unwrap_or_else(|e| panic!("no free port: {e}")).port()
}

impl Postgres {
    /// Initializes a cluster in a new temporary directory and starts it; panics when PostgreSQL
    /// is missing or does not start. Stopped, and its directory removed, when dropped.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let as_postgres_user = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("warden-pg-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("sock")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let password = format!("pw{}x{nanos}x{n}", std::process::id());
        std::fs::write(dir.join("pwfile"), format!("{password}\n")).unwrap_or_else(|e| panic!("pwfile: {e}"));
        if as_postgres_user {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg("postgres:postgres").arg(&dir);
            run(chown, "chown of the cluster directory to postgres");
        }
        let mut pg = Postgres {
            bin,
            dir,
            port: 0,
            password,
            as_postgres_user,
            server: Mutex::new(None),
            databases: AtomicUsize::new(0),
        };
        let mut initdb = pg.command("initdb");
        initdb
            .arg("-D")
            .arg(pg.data())
            .args(["-U", "warden", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
            .arg(format!("--pwfile={}", pg.dir.join("pwfile").display()));
        run(initdb, "initdb");
        // The port was free when picked; should another process take it first, pick again.
        for attempt in 0..5 {
            pg.port = free_port();
            match pg.spawn_server() {
                Ok(()) => return pg,
                Err(e) if attempt < 4 => eprintln!("postgres did not start on port {}, retrying: {e}", pg.port),
                Err(e) => panic!("postgres did not start: {e}"),
            }
        }
        unreachable!("the last attempt panics or returns")
    }

    /// The cluster shared by every test of this process, started on first use; stopped by its
    /// watchdog when the process ends.
    pub fn shared() -> &'static Postgres {
        static SHARED: OnceLock<Postgres> = OnceLock::new();
        SHARED.get_or_init(Postgres::start)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` for the user `warden`, password included.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://warden:{}@127.0.0.1:{}/{db}", self.password, self.port)
    }

    /// Creates the database `name` (letters, digits and `_`) and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "database name {name:?}: use letters, digits and _"
        );
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// Creates a database with a name not used before in this cluster and returns its URL.
    pub fn fresh_database(&self, prefix: &str) -> String {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        self.create_database(&format!("{prefix}_{n}"))
    }

    /// Runs `sql` with `psql` in database `db` as `warden`; its output, unaligned, tuples only.
    /// Panics when it fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "warden"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(db)
            .arg("-c")
            .arg(sql)
            .env("PGPASSWORD", &self.password);
        let out = run(cmd, &format!("psql {sql:?}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops the server (fast shutdown: sessions are ended), keeping its data.
    pub fn stop(&self) {
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        let mut ctl = self.command("pg_ctl");
        ctl.arg("-D").arg(self.data()).args(["stop", "-m", "fast", "-w", "-t", "60"]);
        run(ctl, "pg_ctl stop");
        if let Some(mut watchdog) = server.take() {
            let _ = watchdog.wait();
        }
    }

    /// Starts the server again after [`Postgres::stop`], on the same port and data.
    pub fn start_again(&self) {
        if let Err(e) = self.spawn_server() {
            panic!("postgres did not start again: {e}");
        }
    }

    /// The data directory.
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command running `program` of the PostgreSQL binaries as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    /// Starts the server under its watchdog and waits until it accepts connections.
    fn spawn_server(&self) -> Result<(), String> {
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        // $0 postgres, $1 data, $2 port, $3 socket directory, $4 the test process, $5 the cluster
        // directory (removed when the test process is gone). Runs until the server exits, and
        // stops it when the test process ends.
        let script = r#"
"$0" -D "$1" -p "$2" -k "$3" -c listen_addresses=127.0.0.1 -c fsync=on >>"$5/postgres.log" 2>&1 &
p=$!
while [ -d "/proc/$4" ] && kill -0 "$p" 2>/dev/null; do sleep 1; done
kill -INT "$p" 2>/dev/null
wait "$p"
if [ ! -d "/proc/$4" ]; then rm -rf "$5"; fi
"#;
        let mut cmd = if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--", "sh", "-c", script]);
            cmd
        } else {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", script]);
            cmd
        };
        cmd.arg(self.bin.join("postgres"))
            .arg(self.data())
            .arg(self.port.to_string())
            .arg(self.dir.join("sock"))
            .arg(std::process::id().to_string())
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| format!("could not run the server: {e}"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("the server exited ({status}); log:\n{}", self.log()));
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .stdin(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                *server = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the server did not accept connections in {START_TIMEOUT:?}; log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's log.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    /// Where the cluster lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let running = self.server.get_mut().map(|s| s.is_some()).unwrap_or(true);
        if running {
            let mut ctl = self.command("pg_ctl");
            ctl.arg("-D").arg(self.data()).args(["stop", "-m", "immediate", "-w"]);
            let _ = ctl.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
            if let Ok(Some(mut watchdog)) = self.server.get_mut().map(Option::take) {
                let _ = watchdog.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
