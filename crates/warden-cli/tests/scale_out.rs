//! Several `warden serve` processes on one Garage bucket and one PostgreSQL database behave as one
//! registry (issue 14), with the real engines started privately on loopback by `warden-testkit`:
//!
//! 1. tokens minted by one instance open the other; pushes through both, interleaved (the same
//!    layer pushed to both at once, to one repository and to two), each pulled from the other;
//! 2. a chunked upload started on A, continued on B, completed on B, read on A;
//! 3. a lifecycle policy applied by exactly one instance, however many run the scheduler;
//! 4. DeleteRepository on A racing pushes on B: no tag, manifest or blob row left pointing at
//!    nothing, and every push acknowledged after the repository was made again pulls back whole;
//! 5. PostgreSQL restarted under load: requests fail with errors meanwhile, and the same process
//!    serves again once the database is back, with everything acknowledged before intact;
//! 6. a 2 GiB layer pushed and pulled through the S3 backend with the server's peak resident set
//!    (`VmHWM`) under 100 MiB.
//!
//! The same protocol and client tests that run on the defaults run on these backends too
//! (`WARDEN_TEST_STORAGE=s3-postgres`, `.ci/run`), and so does the SIGKILL crash test
//! (`registry_crash.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use support::clients::Skopeo;
use support::images::OciLayout;
use support::registry::Registry;
use support::{basic, http, random_bytes, sha256_bytes, sha256_file, wait_until, Run, TempDir};
use warden_testkit::postgres::Postgres;
use warden_testkit::scale_out::scale_out_env;

/// `aws ecr <args>` as the demo admin, at `host`.
fn aws(host: &str, args: &[&str]) -> Run {
    support::clients::aws_ecr(host, args, None)
}

/// Two instances of one registry on a fresh prefix and database.
fn fleet(name: &str, extra: &[&str]) -> (Registry, Registry) {
    let env = scale_out_env(name);
    (Registry::warden_env(&env, extra), Registry::warden_env(&env, extra))
}

/// `skopeo copy` of `from` into a `dir:` layout; checks the manifest's digest and every file's
/// (skopeo verifies each blob's digest as it copies).
fn pull_and_check(skopeo: &Skopeo, from: &str, creds: &str, digest: &str, work: &TempDir, label: &str) {
    let out = work.join(&format!("pulled-{label}"));
    let _ = std::fs::remove_dir_all(&out);
    let (r, _) = skopeo.copy(from, &format!("dir:{}", out.display()), Some(creds), None, &[]);
    assert!(r.success(), "pulling {from}: {r}");
    assert_eq!(sha256_file(&out.join("manifest.json")), digest, "{from}: the manifest pulled is not the one pushed");
}

#[test]
fn two_instances_are_one_registry() {
    let (a, b) = fleet("fleet", &[]);
    // A token minted through A's ECR API (aws ecr get-login-password) opens B, and the other way.
    for (minter, user_of) in [(&a, &b), (&b, &a)] {
        let password = aws(&minter.host, &["get-login-password"]).ok().stdout.trim().to_owned();
        let r =
            http(&user_of.host, "GET", "/v2/", &[("Authorization", &basic(&format!("AWS:{password}")))], b"").unwrap();
        assert_eq!(r.status, 200, "a token from {} on {}: {r}", minter.host, user_of.host);
    }
    let creds = a.creds("admin").unwrap();
    a.create_repository("fleet/app", &[]);
    b.create_repository("fleet/tools", &[]);

    let work = TempDir::new("warden-fleet");
    let layout = OciLayout::init(work.path(), "src");
    let images: Vec<String> =
        (0..6).map(|i| layout.add_image(&format!("v{i}"), &[3000 + i, 70_000], "amd64")).collect();
    let skopeo = Skopeo::new();

    // The same image (so the same layers) pushed through A and through B at once, into one
    // repository and into two; then the others, alternating instances and repositories.
    let shared = &images[0];
    let pushes = [(&a, "fleet/app", "same-a"), (&b, "fleet/app", "same-b"), (&b, "fleet/tools", "same-tools")];
    std::thread::scope(|s| {
        for (reg, repo, tag) in pushes {
            let (skopeo, layout, creds) = (&skopeo, &layout, &creds);
            s.spawn(move || {
                let (r, digest) =
                    skopeo.copy(&layout.reference("v0"), &reg.docker_ref(repo, tag), None, Some(creds), &[]);
                assert!(r.success(), "pushing v0 as {repo}:{tag} through {}: {r}\n{}", reg.host, reg.log());
                assert_eq!(&digest, shared);
            });
        }
    });
    for (i, digest) in images.iter().enumerate().skip(1) {
        let (via, repo) = if i % 2 == 0 { (&a, "fleet/app") } else { (&b, "fleet/tools") };
        let (r, pushed) = skopeo.copy(
            &layout.reference(&format!("v{i}")),
            &via.docker_ref(repo, &format!("v{i}")),
            None,
            Some(&creds),
            &[],
        );
        assert!(r.success(), "pushing v{i} through {}: {r}\n{}", via.host, via.log());
        assert_eq!(&pushed, digest);
    }

    // Each pulls from the instance it was not pushed through, at once.
    for (reg, repo, tag) in pushes {
        let other = if std::ptr::eq(reg, &a) { &b } else { &a };
        pull_and_check(&skopeo, &other.docker_ref(repo, tag), &creds, shared, &work, tag);
    }
    for (i, digest) in images.iter().enumerate().skip(1) {
        let (other, repo) = if i % 2 == 0 { (&b, "fleet/app") } else { (&a, "fleet/tools") };
        pull_and_check(&skopeo, &other.docker_ref(repo, &format!("v{i}")), &creds, digest, &work, &format!("v{i}"));
    }
    // Both list the same tags.
    for repo in ["fleet/app", "fleet/tools"] {
        let tags = |reg: &Registry| {
            let listed = skopeo.list_tags(&format!("docker://{}/{repo}", reg.host), Some(&creds)).ok().stdout;
            serde_json::from_str::<serde_json::Value>(&listed).unwrap()["Tags"].clone()
        };
        let (on_a, on_b) = (tags(&a), tags(&b));
        assert_eq!(on_a, on_b, "{repo}: A and B list different tags");
        assert!(on_a.as_array().unwrap().len() >= 3, "{repo}: {on_a}");
    }
}

#[test]
fn a_chunked_upload_moves_between_instances() {
    let (a, b) = fleet("chunks", &[]);
    a.create_repository("fleet/app", &[]);
    let auth = basic(&a.creds("admin").unwrap());
    let auth = [("Authorization", auth.as_str())];
    // Two chunks, the first larger than an S3 multipart part, so the blob is assembled from parts.
    let (first, second) = (random_bytes(6 * 1024 * 1024 + 17), random_bytes(3 * 1024 * 1024 + 5));
    let whole = [first.as_slice(), second.as_slice()].concat();
    let digest = sha256_bytes(&whole);

    let started = http(&a.host, "POST", "/v2/fleet/app/blobs/uploads/", &auth, b"").unwrap();
    assert_eq!(started.status, 202, "{started}");
    let location = started.header("Location").unwrap().to_owned();
    let path =
        location.split_once("://").map_or(location.as_str(), |(_, rest)| &rest[rest.find('/').unwrap()..]).to_owned();

    let range = format!("0-{}", first.len() - 1);
    let headers = [auth[0], ("Content-Type", "application/octet-stream"), ("Content-Range", range.as_str())];
    let r = http(&a.host, "PATCH", &path, &headers, &first).unwrap();
    assert_eq!(r.status, 202, "first chunk on A: {r}");
    // B sees the session A started, with A's bytes.
    let r = http(&b.host, "GET", &path, &auth, b"").unwrap();
    assert_eq!(r.status, 204, "status on B: {r}\n{}", b.log());
    assert_eq!(r.header("Range"), Some(format!("0-{}", first.len() - 1).as_str()), "{r}");
    let range = format!("{}-{}", first.len(), whole.len() - 1);
    let headers = [auth[0], ("Content-Type", "application/octet-stream"), ("Content-Range", range.as_str())];
    let r = http(&b.host, "PATCH", &path, &headers, &second).unwrap();
    assert_eq!(r.status, 202, "second chunk on B: {r}\n{}", b.log());
    // Not visible before it is completed.
    let head = http(&a.host, "HEAD", &format!("/v2/fleet/app/blobs/{digest}"), &auth, b"").unwrap();
    assert_eq!(head.status, 404, "a blob before its upload completed: {head}");
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = http(&b.host, "PUT", &format!("{path}{sep}digest={digest}"), &auth, b"").unwrap();
    assert_eq!(r.status, 201, "completed on B: {r}\n{}", b.log());
    // A serves it, whole and in ranges.
    let got = http(&a.host, "GET", &format!("/v2/fleet/app/blobs/{digest}"), &auth, b"").unwrap();
    assert_eq!(got.status, 200, "{}", a.log());
    assert!(got.body == whole, "the blob A serves is not the bytes sent to A and B");
    let span = (first.len() - 10, first.len() + 10);
    let range = format!("bytes={}-{}", span.0, span.1);
    let got =
        http(&a.host, "GET", &format!("/v2/fleet/app/blobs/{digest}"), &[auth[0], ("Range", &range)], b"").unwrap();
    assert_eq!(got.status, 206, "{got}");
    assert!(got.body == whole[span.0..=span.1], "a range across the chunks' seam");
}

#[test]
fn lifecycle_expires_on_exactly_one_instance() {
    // Both instances run the scheduler every second.
    let (a, b) = fleet("lifecycle", &["--lifecycle-interval", "1"]);
    a.create_repository("fleet/app", &[]);
    let creds = a.creds("admin").unwrap();
    let work = TempDir::new("warden-fleet-lifecycle");
    let layout = OciLayout::init(work.path(), "src");
    let skopeo = Skopeo::new();
    for i in 0..4 {
        layout.add_image(&format!("v{i}"), &[1000 + i], "amd64");
        let via = if i % 2 == 0 { &a } else { &b };
        let (r, _) = skopeo.copy(
            &layout.reference(&format!("v{i}")),
            &via.docker_ref("fleet/app", &format!("v{i}")),
            None,
            Some(&creds),
            &[],
        );
        assert!(r.success(), "{r}");
    }
    let policy = r#"{"rules":[{"rulePriority":1,"description":"keep one","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
    aws(&b.host, &["put-lifecycle-policy", "--repository-name", "fleet/app", "--lifecycle-policy-text", policy]).ok();
    let expired = |reg: &Registry| reg.full_log().matches("lifecycle expired an image").count();
    let done = wait_until(Duration::from_secs(60), || expired(&a) + expired(&b) >= 3);
    assert!(done, "three images should expire:\nA:\n{}\nB:\n{}", a.log(), b.log());
    // A few more rounds on both: nothing is expired twice, and one image stays.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        expired(&a) + expired(&b),
        3,
        "each expiry exactly once across the fleet:\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let listed = aws(&a.host, &["list-images", "--repository-name", "fleet/app"]).ok();
    let ids: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(ids["imageIds"].as_array().unwrap().len(), 1, "{listed}");
}

#[test]
fn delete_repository_racing_pushes_leaves_nothing_dangling() {
    let (a, b) = fleet("race", &[]);
    a.create_repository("fleet/race", &[]);
    let creds = a.creds("admin").unwrap();
    let work = TempDir::new("warden-fleet-race");
    let layout = OciLayout::init(work.path(), "src");
    let count = 6;
    let digests: Vec<String> =
        (0..count).map(|i| layout.add_image(&format!("v{i}"), &[2000 + i, 50_000], "amd64")).collect();
    let skopeo = Skopeo::new();

    // B pushes all the while (the images in turn, a new tag each time); A deletes the repository
    // (with its images) once some pushes landed, and creates it again.
    let acknowledged = Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let recreated: Mutex<Option<Instant>> = Mutex::default();
    std::thread::scope(|s| {
        s.spawn(|| {
            for n in 0.. {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let i = n % count;
                let started = Instant::now();
                let (r, digest) = skopeo.copy(
                    &layout.reference(&format!("v{i}")),
                    &b.docker_ref("fleet/race", &format!("v{i}-{n}")),
                    None,
                    Some(&creds),
                    &["--retry-times", "0"],
                );
                if r.success() {
                    assert_eq!(digest, digests[i]);
                    acknowledged.lock().unwrap().push((i, n, started));
                }
            }
        });
        let landed = wait_until(Duration::from_secs(60), || acknowledged.lock().unwrap().len() >= 2);
        assert!(landed, "no push landed before the delete:\n{}", b.log());
        aws(&a.host, &["delete-repository", "--repository-name", "fleet/race", "--force"]).ok();
        aws(&a.host, &["create-repository", "--repository-name", "fleet/race"]).ok();
        let made = Instant::now();
        *recreated.lock().unwrap() = Some(made);
        let after = wait_until(Duration::from_secs(60), || {
            acknowledged.lock().unwrap().iter().filter(|(_, _, t)| *t > made).count() >= 3
        });
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(after, "no push landed after the repository was made again:\n{}", b.log());
    });
    let recreated = recreated.into_inner().unwrap().unwrap();

    // Every tag either instance lists pulls back whole: nothing points at a manifest or blob that
    // the delete removed.
    let listed = skopeo.list_tags(&format!("docker://{}/fleet/race", a.host), Some(&creds)).ok();
    let tags: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    for tag in tags["Tags"].as_array().unwrap() {
        let tag = tag.as_str().unwrap();
        let i: usize = tag.trim_start_matches('v').split('-').next().unwrap().parse().unwrap();
        pull_and_check(&skopeo, &a.docker_ref("fleet/race", tag), &creds, &digests[i], &work, tag);
    }
    // Every push that began after the repository was made again and was acknowledged is there.
    let acknowledged = acknowledged.into_inner().unwrap();
    for (i, n, _) in acknowledged.iter().filter(|(_, _, t)| *t > recreated) {
        let tag = format!("v{i}-{n}");
        pull_and_check(&skopeo, &b.docker_ref("fleet/race", &tag), &creds, &digests[*i], &work, &tag);
    }
    // And the registry takes a push of an image whose layers the delete removed.
    let (r, _) = skopeo.copy(&layout.reference("v0"), &a.docker_ref("fleet/race", "again"), None, Some(&creds), &[]);
    assert!(r.success(), "{r}\n{}", a.log());
    pull_and_check(&skopeo, &b.docker_ref("fleet/race", "again"), &creds, &digests[0], &work, "again");
}

#[test]
fn postgres_restarted_under_load_gives_errors_then_serves_again() {
    // A PostgreSQL of this test's own, to restart.
    let postgres = Postgres::start();
    let mut env = scale_out_env("pg-restart");
    for (k, v) in env.iter_mut() {
        if k == "WARDEN_METADATA" {
            *v = postgres.fresh_database("pgrestart");
        }
    }
    let a = Registry::warden_env(&env, &[]);
    a.create_repository("fleet/app", &[]);
    let creds = a.creds("admin").unwrap();
    let auth = basic(&creds);
    let work = TempDir::new("warden-pg-restart");
    let layout = OciLayout::init(work.path(), "src");
    let skopeo = Skopeo::new();
    let before = layout.add_image("before", &[4000], "amd64");
    let (r, _) =
        skopeo.copy(&layout.reference("before"), &a.docker_ref("fleet/app", "before"), None, Some(&creds), &[]);
    assert!(r.success(), "{r}");

    // Load: tag listings in a loop on two threads, counting answers by status.
    let statuses = Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let r = http(&a.host, "GET", "/v2/fleet/app/tags/list", &[("Authorization", &auth)], b"");
                    statuses.lock().unwrap().push(r.map(|r| r.status).unwrap_or(0));
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        postgres.stop();
        std::thread::sleep(Duration::from_secs(2));
        postgres.start_again();
        // The same process serves again once the database is back.
        let back = wait_until(Duration::from_secs(30), || {
            http(&a.host, "GET", "/v2/fleet/app/tags/list", &[("Authorization", &auth)], b"")
                .is_ok_and(|r| r.status == 200)
        });
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(back, "warden did not recover after PostgreSQL came back:\n{}", a.log());
    });
    let statuses = statuses.into_inner().unwrap();
    let failed = statuses.iter().filter(|s| **s != 200).count();
    assert!(failed > 0, "no request failed while PostgreSQL was down: the restart was not exercised ({statuses:?})");
    assert!(
        statuses.iter().all(|s| *s == 200 || (500..600).contains(s)),
        "while PostgreSQL was down, answers are 200 or a server error, never a client error or a dropped connection: {statuses:?}"
    );
    assert!(std::fs::read_to_string(format!("/proc/{}/status", a.pid())).is_ok(), "the server process is gone");
    // What was acknowledged before is whole; a new push works on the same process.
    pull_and_check(&skopeo, &a.docker_ref("fleet/app", "before"), &creds, &before, &work, "before");
    let after = layout.add_image("after", &[5000], "amd64");
    let (r, _) = skopeo.copy(&layout.reference("after"), &a.docker_ref("fleet/app", "after"), None, Some(&creds), &[]);
    assert!(r.success(), "{r}\n{}", a.log());
    pull_and_check(&skopeo, &a.docker_ref("fleet/app", "after"), &creds, &after, &work, "after");
}

/// Deterministic pseudo-random bytes, generated a buffer at a time (xorshift64*).
struct Stream(u64);

impl Stream {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// The process's peak resident set (`VmHWM`), in bytes.
fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kib * 1024
}

/// Reads an HTTP/1.1 response head off `stream`: (status, headers).
fn read_head(stream: &mut TcpStream) -> (u16, Vec<(String, String)>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

#[test]
fn a_2_gib_layer_through_the_s3_backend_stays_under_100_mib_resident() {
    const SIZE: u64 = 2 << 30;
    const BUF: usize = 1 << 20;
    let a = Registry::warden_env(&scale_out_env("memory"), &[]);
    a.create_repository("fleet/big", &[]);
    let auth = basic(&a.creds("admin").unwrap());
    let started = http(&a.host, "POST", "/v2/fleet/big/blobs/uploads/", &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(started.status, 202, "{started}");
    let location = started.header("Location").unwrap().to_owned();
    let path =
        location.split_once("://").map_or(location.as_str(), |(_, rest)| &rest[rest.find('/').unwrap()..]).to_owned();
    let start_hwm = vm_hwm(a.pid());

    // Push: one PATCH streaming 2 GiB, hashed as it is sent.
    let clock = Instant::now();
    let mut hasher = Sha256::new();
    let mut gen = Stream(0x9E37_79B9_7F4A_7C15);
    let mut buf = vec![0u8; BUF];
    let mut stream = TcpStream::connect(&a.host).unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nContent-Type: application/octet-stream\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n",
        a.host
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut sent = 0u64;
    while sent < SIZE {
        gen.fill(&mut buf);
        hasher.update(&buf);
        stream.write_all(&buf).unwrap();
        sent += BUF as u64;
    }
    let (status, _) = read_head(&mut stream);
    assert_eq!(status, 202, "the 2 GiB PATCH\n{}", a.log());
    drop(stream);
    let digest = format!("sha256:{}", hex(&hasher.finalize()));
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = http(&a.host, "PUT", &format!("{path}{sep}digest={digest}"), &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(r.status, 201, "completing the 2 GiB upload: {r}\n{}", a.log());
    let pushed = clock.elapsed();

    // Pull: the whole blob, hashed as it arrives.
    let clock = Instant::now();
    let mut stream = TcpStream::connect(&a.host).unwrap();
    let head = format!(
        "GET /v2/fleet/big/blobs/{digest} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n",
        a.host
    );
    stream.write_all(head.as_bytes()).unwrap();
    let (status, headers) = read_head(&mut stream);
    assert_eq!(status, 200);
    assert!(headers.iter().any(|(k, v)| k == "content-length" && v == &SIZE.to_string()), "{headers:?}");
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        got += n as u64;
    }
    assert_eq!(got, SIZE);
    assert_eq!(format!("sha256:{}", hex(&hasher.finalize())), digest, "the 2 GiB blob pulled back differs");
    let pulled = clock.elapsed();
    let peak = vm_hwm(a.pid());
    eprintln!(
        "2 GiB through the S3 backend: push {:.1} s, pull {:.1} s; warden VmHWM {:.1} MiB (at the upload's start {:.1} MiB)",
        pushed.as_secs_f64(),
        pulled.as_secs_f64(),
        peak as f64 / 1048576.0,
        start_hwm as f64 / 1048576.0
    );
    assert!(peak < 100 << 20, "warden's peak resident set {} MiB is not under 100 MiB", peak >> 20);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
