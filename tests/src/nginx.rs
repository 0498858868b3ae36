//! A private nginx for tests that put a real nginx in front of a warden server (the sidecar's
//! `auth_request`, TLS termination for streaming uploads). It runs in the foreground under a
//! prefix directory of its own and is killed when the [`Nginx`] guard drops. nginx must be
//! installed (`apt-get install -y nginx`): without it the test fails, it does not skip.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running nginx; killed (and reaped) when dropped, however the test ends.
#[derive(Debug)]
pub struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The nginx binary on this machine.
pub fn binary() -> Result<&'static str, String> {
    ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .find(|b| Command::new(b).arg("-v").stderr(Stdio::null()).status().is_ok())
        .ok_or_else(|| "nginx is required for this test: install it with `apt-get install -y nginx`".to_owned())
}

/// A whole configuration: nginx in the foreground with its pid, logs and temporary files under
/// `prefix`, and `servers` (one or more `server { … }` blocks) in its `http` block.
pub fn config(prefix: &Path, servers: &str) -> String {
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
{servers}
}}
"#
    )
}

/// Writes [`config`]`(prefix, servers)` to `prefix/nginx.conf` and starts nginx on it.
pub fn start(prefix: &Path, servers: &str) -> Result<Nginx, String> {
    std::fs::create_dir_all(prefix.join("tmp")).map_err(|e| format!("{}: {e}", prefix.display()))?;
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, config(prefix, servers)).map_err(|e| format!("{}: {e}", conf.display()))?;
    let child = Command::new(binary()?)
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("nginx did not start: {e}"))?;
    Ok(Nginx(child))
}
