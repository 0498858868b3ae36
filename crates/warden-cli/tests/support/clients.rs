//! The registry clients: skopeo (containers/image, as podman and buildah use it) and oras.
//!
//! oras: PyPI's `oras` package is the ORAS Python SDK (oras-py); it installs no command line, so
//! [`Oras`] runs a small driver script over the SDK's `OrasClient` (push, pull, tags), with the
//! SDK's own HTTP code: plain HTTP (`insecure=True`), HTTP Basic after the 401 challenge
//! (`auth_backend="basic"`, credentials from `ORAS_USER`/`ORAS_PASS`), monolithic (POST + PUT)
//! or chunked (POST + PATCH… + PUT) blob uploads.

use super::{require, run, Run, TempDir, CLIENT_TIMEOUT};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub const SKOPEO_INSTALL: &str = "apt-get install -y skopeo";
pub const ORAS_INSTALL: &str = "python3 -m pip install oras";

/// `skopeo ARGS...` with `--insecure-policy` (no /etc/containers/policy.json needed), HOME and
/// the auth file pointed into a temp dir (no credentials of the machine leak in).
pub struct Skopeo {
    home: TempDir,
}

impl Default for Skopeo {
    fn default() -> Self {
        Skopeo::new()
    }
}

impl Skopeo {
    pub fn new() -> Skopeo {
        require("skopeo", SKOPEO_INSTALL);
        Skopeo { home: TempDir::new("warden-skopeo") }
    }

    fn command(&self, sub: &str) -> Command {
        let mut cmd = Command::new("skopeo");
        cmd.env("HOME", self.home.path())
            .env("REGISTRY_AUTH_FILE", self.home.join("auth.json"))
            .env("XDG_RUNTIME_DIR", self.home.path())
            .arg("--insecure-policy")
            .arg(sub);
        cmd
    }

    /// Runs `skopeo SUB ARGS...`.
    pub fn run(&self, sub: &str, args: &[&str]) -> Run {
        let mut cmd = self.command(sub);
        cmd.args(args);
        run(&mut cmd, None, CLIENT_TIMEOUT)
    }

    /// `skopeo copy [EXTRA...] SRC DEST`, TLS verification off and creds on each `docker://` side
    /// that gets some, `--digestfile` read back: returns the run and the digest it wrote (empty
    /// when the copy failed).
    pub fn copy(
        &self,
        src: &str,
        dest: &str,
        src_creds: Option<&str>,
        dest_creds: Option<&str>,
        extra: &[&str],
    ) -> (Run, String) {
        // A file of its own per copy: tests copy through one Skopeo from several threads at once
        // (a shared file was read back empty when another copy removed it first).
        static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let digestfile = self.home.join(&format!("digest-{n}"));
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        args.push(format!("--digestfile={}", digestfile.display()));
        if src.starts_with("docker://") {
            args.push("--src-tls-verify=false".into());
            if let Some(c) = src_creds {
                args.push(format!("--src-creds={c}"));
            }
        }
        if dest.starts_with("docker://") {
            args.push("--dest-tls-verify=false".into());
            if let Some(c) = dest_creds {
                args.push(format!("--dest-creds={c}"));
            }
        }
        args.push(src.into());
        args.push(dest.into());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = self.run("copy", &arg_refs);
        let digest = std::fs::read_to_string(&digestfile).unwrap_or_default().trim().to_string();
        let _ = std::fs::remove_file(&digestfile);
        (r, digest)
    }

    /// `skopeo inspect [--raw] docker://...`
    pub fn inspect(&self, image: &str, creds: Option<&str>, raw: bool) -> Run {
        let mut args = vec!["--tls-verify=false".to_string()];
        if raw {
            args.push("--raw".into());
        }
        if let Some(c) = creds {
            args.push(format!("--creds={c}"));
        }
        args.push(image.into());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("inspect", &arg_refs)
    }

    /// `skopeo list-tags docker://HOST/REPO`
    pub fn list_tags(&self, repo_ref: &str, creds: Option<&str>) -> Run {
        let mut args = vec!["--tls-verify=false".to_string()];
        if let Some(c) = creds {
            args.push(format!("--creds={c}"));
        }
        args.push(repo_ref.into());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("list-tags", &arg_refs)
    }

    /// `skopeo delete docker://...`
    pub fn delete(&self, image: &str, creds: Option<&str>) -> Run {
        let mut args = vec!["--tls-verify=false".to_string()];
        if let Some(c) = creds {
            args.push(format!("--creds={c}"));
        }
        args.push(image.into());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("delete", &arg_refs)
    }
}

/// The oras-py driver: `push REF FILE MEDIATYPE [--chunk-size N]`, `pull REF OUTDIR`, `tags REF`.
const ORAS_DRIVER: &str = r#"
import json, os, sys
import oras.client

def client():
    return oras.client.OrasClient(insecure=True, auth_backend="basic")

cmd, ref = sys.argv[1], sys.argv[2]
if cmd == "push":
    path, media = sys.argv[3], sys.argv[4]
    chunk = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    os.chdir(os.path.dirname(os.path.abspath(path)))
    kw = {"do_chunked": True, "chunk_size": chunk} if chunk else {}
    r = client().push(target=ref, files=[os.path.basename(path) + ":" + media], **kw)
    print(json.dumps({"status": r.status_code, "location": r.headers.get("Location"),
                      "digest": r.headers.get("Docker-Content-Digest")}))
elif cmd == "pull":
    files = client().pull(target=ref, outdir=sys.argv[3])
    print(json.dumps({"files": files}))
elif cmd == "tags":
    print(json.dumps({"tags": client().get_tags(ref)}))
else:
    sys.exit("unknown command " + cmd)
"#;

/// The ORAS Python SDK, driven through [`ORAS_DRIVER`].
pub struct Oras {
    dir: TempDir,
}

impl Default for Oras {
    fn default() -> Self {
        Oras::new()
    }
}

impl Oras {
    pub fn new() -> Oras {
        require("python3", "apt-get install -y python3");
        let probe = run(Command::new("python3").args(["-c", "import oras.client"]), None, Duration::from_secs(60));
        assert!(probe.success(), "the oras Python SDK is required by this test: run `{ORAS_INSTALL}`\n{probe}");
        let dir = TempDir::new("warden-oras");
        std::fs::write(dir.join("oras_driver.py"), ORAS_DRIVER)
            .unwrap_or_else(|e| panic!("writing the oras driver: {e}"));
        std::fs::create_dir_all(dir.join("home")).unwrap_or_else(|e| panic!("oras home: {e}"));
        Oras { dir }
    }

    fn command(&self, creds: Option<&str>) -> Command {
        let mut cmd = Command::new("python3");
        cmd.arg(self.dir.join("oras_driver.py")).env("HOME", self.dir.join("home"));
        cmd.env_remove("ORAS_USER").env_remove("ORAS_PASS");
        if let Some((user, pass)) = creds.and_then(|c| c.split_once(':')) {
            cmd.env("ORAS_USER", user).env("ORAS_PASS", pass);
        }
        cmd
    }

    /// `oras push REF FILE:MEDIA` — one layer, an empty config; chunked (POST, PATCH per
    /// `chunk_size` bytes, PUT) when `chunk_size` is given, monolithic (POST, PUT) otherwise.
    pub fn push(
        &self,
        reference: &str,
        file: &Path,
        media_type: &str,
        creds: Option<&str>,
        chunk_size: Option<usize>,
    ) -> Run {
        let mut cmd = self.command(creds);
        cmd.arg("push").arg(reference).arg(file).arg(media_type);
        if let Some(n) = chunk_size {
            cmd.arg(n.to_string());
        }
        run(&mut cmd, None, CLIENT_TIMEOUT)
    }

    /// `oras pull REF -o OUTDIR`
    pub fn pull(&self, reference: &str, outdir: &Path, creds: Option<&str>) -> Run {
        let mut cmd = self.command(creds);
        cmd.arg("pull").arg(reference).arg(outdir);
        run(&mut cmd, None, CLIENT_TIMEOUT)
    }

    /// `oras repo tags REF`
    pub fn tags(&self, reference: &str, creds: Option<&str>) -> Run {
        let mut cmd = self.command(creds);
        cmd.arg("tags").arg(reference);
        run(&mut cmd, None, CLIENT_TIMEOUT)
    }
}

/// `aws ecr ARGS...` at the registry on `host` as the demo admin (keys from
/// `policies/identities/demo.json`), in region us-east-1, with no profile, config file or retries
/// of its own; `stdin` piped in when given.
pub fn aws_ecr(host: &str, args: &[&str], stdin: Option<&[u8]>) -> Run {
    require("aws", "python3 -m pip install awscli");
    let home = TempDir::new("warden-aws");
    let mut cmd = Command::new("aws");
    cmd.args(["ecr", "--endpoint-url", &format!("http://{host}"), "--region", "us-east-1", "--output", "json"])
        .args(args)
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_PAGER", "")
        .env("AWS_MAX_ATTEMPTS", "1");
    run(&mut cmd, stdin, Duration::from_secs(120))
}
