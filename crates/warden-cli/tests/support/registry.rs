//! A registry server under test: `warden serve`, or CNCF Distribution (`docker-registry`, no auth)
//! to compare clients' behaviour with the reference implementation.

use super::{http, kill_group, require, run, tail, wait_until, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The demo account of `policies/identities/demo.json`.
pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";

/// Set to `distribution` (no auth) or `distribution-auth` (HTTP Basic, user `AWS`, the same
/// password for every demo user) to run the client tests against Debian's `docker-registry` (CNCF
/// Distribution) instead of `warden serve`: only the client-flow tests are meaningful there; the
/// authorization tests fail by design.
pub const TARGET_ENV: &str = "WARDEN_REGISTRY_TEST_TARGET";

/// Distribution's htpasswd user and password (`distribution-auth`).
pub const DISTRIBUTION_PASSWORD: &str = "warden-distribution-password";
const DISTRIBUTION_HTPASSWD: &str = "AWS:$2b$05$0uIco2xIDpi4dhYqHzf39.c0G2V.ETcYXfEgvUo/4qCDpwAzHoSlq\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Warden,
    /// CNCF Distribution, no auth.
    Distribution,
    /// CNCF Distribution with htpasswd (HTTP Basic) auth.
    DistributionAuth,
}

/// A running registry on 127.0.0.1, killed (with its process group) on drop.
pub struct Registry {
    pub flavor: Flavor,
    /// `127.0.0.1:PORT`
    pub host: String,
    pub data_dir: PathBuf,
    pub policies: PathBuf,
    /// The backends' environment every `warden` command of this registry gets (empty on the
    /// defaults; see `warden_testkit::scale_out`).
    pub env: Vec<(String, String)>,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

/// The repository's demo identity set (`policies/`, with `identities/demo.json`).
pub fn demo_policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

/// The `warden` binary built for these tests.
pub fn warden_bin() -> &'static str {
    env!("CARGO_BIN_EXE_warden")
}

impl Registry {
    /// `warden serve`, unless [`TARGET_ENV`] says `distribution`.
    pub fn under_test() -> Registry {
        match std::env::var(TARGET_ENV).as_deref() {
            Ok("distribution") => Registry::distribution(),
            Ok("distribution-auth") => Registry::distribution_auth(),
            _ => Registry::warden(),
        }
    }

    /// `warden serve --listen 127.0.0.1:PORT --data-dir TMP --policies policies/` (the demo users).
    pub fn warden() -> Registry {
        Registry::warden_with(&demo_policies())
    }

    pub fn warden_with(policies: &Path) -> Registry {
        Registry::start(Flavor::Warden, policies, &[])
    }

    /// `warden serve` with the demo users and `extra` arguments after the usual ones (e.g.
    /// `["--trusted-proxy", "127.0.0.1/32"]`).
    pub fn warden_args(extra: &[&str]) -> Registry {
        Registry::start(Flavor::Warden, &demo_policies(), extra)
    }

    /// `warden serve` as [`Registry::warden_args`], with its descriptor limit (soft and hard) set
    /// to `nofile` before it starts (`sh -c 'ulimit -n N && exec warden …'`), so that the
    /// connection limit it derives from that limit applies. The shell execs the server: [`Registry::pid`]
    /// is the server's.
    pub fn warden_nofile(nofile: u64, extra: &[&str]) -> Registry {
        Registry::start_limited(Flavor::Warden, &demo_policies(), extra, Some(nofile))
    }

    /// CNCF Distribution with filesystem storage in a temp dir, deletes enabled, no auth.
    pub fn distribution() -> Registry {
        require("docker-registry", "apt-get install -y docker-registry");
        Registry::start(Flavor::Distribution, &demo_policies(), &[])
    }

    /// CNCF Distribution as above, with HTTP Basic auth (htpasswd: `AWS` / [`DISTRIBUTION_PASSWORD`]).
    pub fn distribution_auth() -> Registry {
        require("docker-registry", "apt-get install -y docker-registry");
        Registry::start(Flavor::DistributionAuth, &demo_policies(), &[])
    }

    /// `warden serve` with the demo users, `extra` arguments and exactly `env` as its backends'
    /// environment (an instance of the registry those backends hold: see
    /// `warden_testkit::scale_out::scale_out_env`).
    pub fn warden_env(env: &[(String, String)], extra: &[&str]) -> Registry {
        Registry::start_with(Flavor::Warden, &demo_policies(), extra, None, Some(env))
    }

    fn start(flavor: Flavor, policies: &Path, extra: &[&str]) -> Registry {
        Registry::start_limited(flavor, policies, extra, None)
    }

    fn start_limited(flavor: Flavor, policies: &Path, extra: &[&str], nofile: Option<u64>) -> Registry {
        Registry::start_with(flavor, policies, extra, nofile, None)
    }

    fn start_with(
        flavor: Flavor,
        policies: &Path,
        extra: &[&str],
        nofile: Option<u64>,
        env: Option<&[(String, String)]>,
    ) -> Registry {
        let mut last = String::new();
        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..3 {
            match Registry::try_start(flavor, policies, extra, nofile, env) {
                Ok(r) => return r,
                Err(e) => last = e,
            }
        }
        panic!("{flavor:?} registry did not start: {last}");
    }

    fn try_start(
        flavor: Flavor,
        policies: &Path,
        extra: &[&str],
        nofile: Option<u64>,
        env: Option<&[(String, String)]>,
    ) -> Result<Registry, String> {
        let dir = TempDir::new("warden-reg");
        let port = super::free_port();
        let host = format!("127.0.0.1:{port}");
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
        let log = dir.join("server.log");
        let env = match (flavor, env) {
            (Flavor::Warden, Some(env)) => env.to_vec(),
            (Flavor::Warden, None) => warden_testkit::scale_out::backend_env("cli"),
            _ => Vec::new(),
        };
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = match flavor {
            Flavor::Warden => {
                let mut c = match nofile {
                    Some(n) => {
                        let mut c = Command::new("sh");
                        c.arg("-c").arg(format!("ulimit -n {n} && exec \"$0\" \"$@\"")).arg(warden_bin());
                        c
                    }
                    None => Command::new(warden_bin()),
                };
                c.arg("serve")
                    .arg("--listen")
                    .arg(&host)
                    .arg("--data-dir")
                    .arg(&data_dir)
                    .arg("--policies")
                    .arg(policies);
                c.args(["--account-id", ACCOUNT, "--region", REGION]).args(extra);
                c.envs(env.iter().map(|(k, v)| (k, v)));
                c
            }
            Flavor::Distribution | Flavor::DistributionAuth => {
                let config = dir.join("config.yml");
                let mut text = distribution_config(&data_dir, &host);
                if flavor == Flavor::DistributionAuth {
                    let htpasswd = dir.join("htpasswd");
                    std::fs::write(&htpasswd, DISTRIBUTION_HTPASSWD).map_err(|e| e.to_string())?;
                    text.push_str(&format!(
                        "auth:\n  htpasswd:\n    realm: warden-tests\n    path: {}\n",
                        htpasswd.display()
                    ));
                }
                std::fs::write(&config, text).map_err(|e| e.to_string())?;
                let mut c = Command::new("docker-registry");
                c.arg("serve").arg(&config);
                c
            }
        };
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null()).stdout(log_file).stderr(log_err).process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let mut exited = None;
        let ready = wait_until(Duration::from_secs(30), || {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some(status);
                return true;
            }
            // warden says where it listens: make sure the answer comes from this server, not from
            // another test's that took the port first.
            let announced = flavor != Flavor::Warden
                || std::fs::read_to_string(&log).unwrap_or_default().contains(&format!("listening on http://{host}"));
            announced && http(&host, "GET", "/v2/", &[], b"").is_ok()
        });
        if let Some(status) = exited {
            return Err(format!("{cmd:?} exited with {status} before answering:\n{}", tail(&log, 40)));
        }
        if !ready {
            kill_group(child.id(), "KILL");
            let _ = child.wait();
            return Err(format!("{cmd:?}: GET /v2/ not answered within 30 s:\n{}", tail(&log, 40)));
        }
        Ok(Registry { flavor, host, data_dir, policies: policies.to_path_buf(), env, child, log, _dir: dir })
    }

    /// The server's process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's whole log so far (stdout and stderr).
    pub fn full_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's log so far (stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        tail(&self.log, 60)
    }

    /// `warden create-repository --repository-name NAME --data-dir DIR [--tags K=V ...]`; nothing
    /// for Distribution, which creates repositories on first push.
    pub fn create_repository(&self, name: &str, tags: &[(&str, &str)]) {
        if self.flavor != Flavor::Warden {
            return;
        }
        let mut cmd = Command::new(warden_bin());
        cmd.args(["create-repository", "--repository-name", name]).arg("--data-dir").arg(&self.data_dir);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if !tags.is_empty() {
            cmd.arg("--tags");
            for (k, v) in tags {
                cmd.arg(format!("{k}={v}"));
            }
        }
        let r = run(&mut cmd, None, Duration::from_secs(30));
        assert!(r.success(), "create-repository {name}: {r}\nserver log:\n{}", self.log());
    }

    /// `warden get-login-password --user NAME` (the registry password; the user name is `AWS`).
    pub fn password(&self, user: &str) -> String {
        let mut cmd = Command::new(warden_bin());
        cmd.args(["get-login-password", "--user", user]).arg("--data-dir").arg(&self.data_dir);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.arg("--policies").arg(&self.policies);
        let r = run(&mut cmd, None, Duration::from_secs(30));
        assert!(r.success(), "get-login-password --user {user}: {r}");
        let password = r.stdout.trim().to_string();
        assert!(!password.is_empty() && !password.contains(char::is_whitespace), "password for {user}: {r}");
        password
    }

    /// `AWS:<password>` for `user`; on Distribution, `None` (no auth) or its one htpasswd user.
    pub fn creds(&self, user: &str) -> Option<String> {
        match self.flavor {
            Flavor::Warden => Some(format!("AWS:{}", self.password(user))),
            Flavor::Distribution => None,
            Flavor::DistributionAuth => Some(format!("AWS:{DISTRIBUTION_PASSWORD}")),
        }
    }

    /// `127.0.0.1:PORT/REPO:TAG`, or `127.0.0.1:PORT/REPO@sha256:...` for a digest.
    pub fn reference(&self, repo: &str, reference: &str) -> String {
        let sep = if reference.starts_with("sha256:") { '@' } else { ':' };
        format!("{}/{repo}{sep}{reference}", self.host)
    }

    /// `docker://` + [`Registry::reference`], for skopeo.
    pub fn docker_ref(&self, repo: &str, reference: &str) -> String {
        format!("docker://{}", self.reference(repo, reference))
    }

    /// The manifest ARN of a repository, as AWS names it in denials.
    pub fn repository_arn(repo: &str) -> String {
        format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        kill_group(self.child.id(), "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Distribution config: filesystem storage under `data_dir`, deletes on, listening on `host`.
pub fn distribution_config(data_dir: &Path, host: &str) -> String {
    format!(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: {host}\n",
        data_dir.display()
    )
}
