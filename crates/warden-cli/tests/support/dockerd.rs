//! A private docker daemon (Debian's docker.io) for one test: its own data root, exec root, pid
//! file, unix socket and client config in a temp dir; no iptables, no bridge, no proxy; loopback
//! registries insecure (plain HTTP). Stopped by its pid on drop.

use super::{kill_group, kill_pid, require, run, tail, wait_until, Run, TempDir, CLIENT_TIMEOUT};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const DOCKERD_INSTALL: &str = "apt-get install -y docker.io";

pub struct Dockerd {
    dir: TempDir,
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Dockerd {
    pub fn start() -> Dockerd {
        require("dockerd", DOCKERD_INSTALL);
        require("docker", DOCKERD_INSTALL);
        require("containerd", DOCKERD_INSTALL);
        // A short prefix: the socket path must fit in 108 bytes.
        let dir = TempDir::new("wdk");
        let socket = dir.join("docker.sock");
        let log = dir.join("dockerd.log");
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let log_err = log_file.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = Command::new("dockerd");
        cmd.arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--bridge=none",
                "--userland-proxy=false",
                "--insecure-registry=127.0.0.0/8",
                "--storage-driver=overlay2",
            ])
            .env("DOCKER_BUILDKIT", "0")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start dockerd: {e}"));
        let mut d = Dockerd { dir, child, socket, log };
        let ready = wait_until(Duration::from_secs(60), || {
            if let Ok(Some(_)) = d.child.try_wait() {
                return true;
            }
            d.docker(&["version", "--format", "{{.Server.Version}}"], None).success()
        });
        let exited = matches!(d.child.try_wait(), Ok(Some(_)));
        assert!(ready && !exited, "dockerd did not come up (exited: {exited}):\n{}", tail(&d.log, 40));
        d
    }

    /// `docker ARGS...` against this daemon, with this daemon's client config (`docker login`
    /// writes there), the classic builder, and `stdin` fed in.
    pub fn docker(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", self.dir.join("config"))
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY");
        run(&mut cmd, stdin, CLIENT_TIMEOUT)
    }

    /// A directory for build contexts, removed with the daemon's.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    pub fn log(&self) -> String {
        tail(&self.log, 40)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd and unmount; then make sure.
        kill_pid(self.child.id(), "TERM");
        let stopped = wait_until(Duration::from_secs(20), || matches!(self.child.try_wait(), Ok(Some(_))));
        if !stopped {
            kill_pid(self.child.id(), "KILL");
        }
        kill_group(self.child.id(), "KILL");
        let _ = self.child.wait();
        // Overlay mounts under the data root would make removing the temp dir fail.
        let data = self.dir.join("data");
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("grep -o ' {}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l", data.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
