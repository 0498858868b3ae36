//! `warden serve` driven by real registry clients over the wire: skopeo (schema 2 images, OCI
//! images, OCI indexes; inspect, list-tags, delete), oras (artifacts, monolithic and chunked
//! uploads), a private docker daemon (login, build, push, pull), and the authorization matrix of
//! the demo users (`policies/identities/demo.json`): admin, pusher, reader.
//!
//! Every client is required: a missing one fails the test with the command that installs it
//! (`apt-get install -y skopeo umoci docker.io`, `python3 -m pip install oras`).
//!
//! `WARDEN_REGISTRY_TEST_TARGET=distribution` (no auth) or `=distribution-auth` (HTTP Basic) points
//! the tests at Debian's `docker-registry` (CNCF Distribution) to compare with the reference
//! implementation: the client flows pass there; the authorization tests, NAME_UNKNOWN (Distribution
//! creates repositories on push) and the byte-wise tag order fail there by design.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use serde_json::Value;
use support::clients::{Oras, Skopeo};
use support::dockerd::Dockerd;
use support::images::{layer_digests, OciLayout, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use support::registry::{Registry, ACCOUNT};
use support::{basic, http, sha256_bytes, sha256_file, TempDir};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The AWS denial sentence for `user` doing `action` on repository `repo`.
fn denial(user: &str, action: &str, repo: &str) -> String {
    format!(
        "User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: {action} on resource: {}",
        Registry::repository_arn(repo)
    )
}

/// A layout with one image `v1` of two small random layers, for linux/amd64.
fn small_image(work: &TempDir, name: &str) -> OciLayout {
    let layout = OciLayout::init(work.path(), name);
    layout.add_image("v1", &[4096, 20_000], "amd64");
    layout
}

#[test]
fn anonymous_requests_get_401_with_a_basic_challenge() {
    let reg = Registry::under_test();
    reg.create_repository("team/app", &[]);
    for (method, path) in [
        ("GET", "/v2/"),
        ("GET", "/v2/team/app/tags/list"),
        ("GET", "/v2/team/app/manifests/latest"),
        ("HEAD", "/v2/team/app/manifests/latest"),
        ("POST", "/v2/team/app/blobs/uploads/"),
    ] {
        let r = http(&reg.host, method, path, &[], b"").unwrap();
        assert_eq!(r.status, 401, "{method} {path} without credentials:\n{r}\nserver log:\n{}", reg.log());
        let challenge = r.header("WWW-Authenticate").unwrap_or_default();
        assert!(
            challenge.to_ascii_lowercase().starts_with("basic ") && challenge.contains("realm="),
            "{method} {path}: the challenge must be HTTP Basic with a realm (skopeo, docker and oras answer it): {r}"
        );
    }
    // Wrong credentials are refused the same way; the right ones open /v2/.
    let r = http(&reg.host, "GET", "/v2/", &[("Authorization", &basic("AWS:not-a-token"))], b"").unwrap();
    assert_eq!(r.status, 401, "a bad password:\n{r}");
    let admin = reg.creds("admin").unwrap();
    let r = http(&reg.host, "GET", "/v2/", &[("Authorization", &basic(&admin))], b"").unwrap();
    assert_eq!(r.status, 200, "GET /v2/ as admin:\n{r}\nserver log:\n{}", reg.log());

    // And a client without credentials gets nothing.
    let skopeo = Skopeo::new();
    skopeo.inspect(&reg.docker_ref("team/app", "latest"), None, true).failed();
}

#[test]
fn skopeo_copies_a_schema2_image_in_and_out() {
    let reg = Registry::under_test();
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    reg.create_repository("team/v2s2", &[]);
    let work = TempDir::new("warden-v2s2");
    let layout = small_image(&work, "src");
    let skopeo = Skopeo::new();
    let dest = reg.docker_ref("team/v2s2", "v1");

    let (r, pushed) = skopeo.copy(&layout.reference("v1"), &dest, None, admin, &["--format", "v2s2"]);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    assert!(pushed.starts_with("sha256:"), "digest file: {pushed:?}");

    // The registry serves the schema 2 manifest byte for byte.
    let raw = skopeo.inspect(&dest, admin, true).ok();
    assert_eq!(
        sha256_bytes(raw.stdout.as_bytes()),
        pushed,
        "the served manifest is not the pushed one: {}",
        raw.stdout
    );
    let manifest = json(&raw.stdout);
    assert_eq!(manifest["mediaType"], DOCKER_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.docker.container.image.v1+json");
    assert_eq!(layer_digests(&manifest), layout.layers("v1"), "schema 2 conversion keeps the compressed layers");

    // Out again, untouched (dir: keeps the manifest as served) and by digest.
    for (n, source) in [dest.clone(), reg.docker_ref("team/v2s2", &pushed)].iter().enumerate() {
        let out = work.join(&format!("dir{n}"));
        let (r, _) = skopeo.copy(source, &format!("dir:{}", out.display()), admin, None, &[]);
        assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
        assert_eq!(sha256_file(&out.join("manifest.json")), pushed);
        for layer in layout.layers("v1") {
            let file = out.join(layer.trim_start_matches("sha256:"));
            assert_eq!(sha256_file(&file), layer, "layer {layer} pulled back");
        }
    }

    // And into an OCI layout (skopeo converts the manifest; the layers stay the same blobs).
    let back = OciLayout::open(&work.join("back"));
    let (r, _) = skopeo.copy(&dest, &back.reference("v1"), admin, None, &[]);
    assert!(r.success(), "{r}");
    assert_eq!(back.layers("v1"), layout.layers("v1"));
}

#[test]
fn skopeo_copies_an_oci_image_in_and_out() {
    let reg = Registry::under_test();
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    reg.create_repository("team/oci", &[]);
    let work = TempDir::new("warden-oci");
    let layout = small_image(&work, "src");
    let skopeo = Skopeo::new();
    let dest = reg.docker_ref("team/oci", "v1");

    let (r, pushed) = skopeo.copy(&layout.reference("v1"), &dest, None, admin, &[]);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    assert_eq!(pushed, layout.digest("v1"), "an OCI manifest is pushed as it is");

    let raw = skopeo.inspect(&dest, admin, true).ok();
    assert_eq!(sha256_bytes(raw.stdout.as_bytes()), pushed);
    // umoci writes no `mediaType` field (optional in OCI): the type comes from the PUT's
    // Content-Type, and the registry must serve it back as such.
    assert_eq!(json(&raw.stdout)["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
    let mut headers = vec![("Accept", OCI_MANIFEST)];
    let auth = admin.map(basic);
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    for method in ["GET", "HEAD"] {
        let r = http(&reg.host, method, "/v2/team/oci/manifests/v1", &headers, b"").unwrap();
        assert_eq!(r.status, 200, "{method}: {r}");
        assert_eq!(r.header("Content-Type"), Some(OCI_MANIFEST), "{method}: {r}");
        assert_eq!(r.header("Docker-Content-Digest"), Some(pushed.as_str()), "{method}: {r}");
        assert_eq!(r.header("Content-Length"), Some(raw.stdout.len().to_string().as_str()), "{method}: {r}");
    }

    let back = OciLayout::open(&work.join("back"));
    let (r, pulled) = skopeo.copy(&dest, &back.reference("v1"), admin, None, &[]);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    assert_eq!(pulled, pushed);
    assert_eq!(back.digest("v1"), pushed, "the OCI layout pulled back holds the same manifest");
    let manifest = back.manifest("v1");
    let config = manifest["config"]["digest"].as_str().unwrap().to_string();
    for blob in layout.layers("v1").into_iter().chain([config]) {
        assert_eq!(back.blob(&blob), layout.blob(&blob), "blob {blob}");
    }
}

#[test]
fn skopeo_copies_an_oci_index_in_and_out() {
    let reg = Registry::under_test();
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    reg.create_repository("team/multi", &[]);
    let work = TempDir::new("warden-index");
    let layout = OciLayout::init(work.path(), "src");
    let amd64 = layout.add_image("amd64", &[3000, 5000], "amd64");
    let arm64 = layout.add_image("arm64", &[7000], "arm64");
    let index = layout.add_index("multi", &["amd64", "arm64"]);
    let skopeo = Skopeo::new();
    let dest = reg.docker_ref("team/multi", "v1");

    let (r, pushed) = skopeo.copy(&layout.reference("multi"), &dest, None, admin, &["--all"]);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    assert_eq!(pushed, index);

    let raw = skopeo.inspect(&dest, admin, true).ok();
    assert_eq!(sha256_bytes(raw.stdout.as_bytes()), index);
    let served = json(&raw.stdout);
    assert_eq!(served["mediaType"], OCI_INDEX);
    let children: Vec<&str> =
        served["manifests"].as_array().unwrap().iter().map(|d| d["digest"].as_str().unwrap()).collect();
    assert_eq!(children, [amd64.as_str(), arm64.as_str()]);
    // Each platform's manifest is there by digest.
    for (tag, digest) in [("amd64", &amd64), ("arm64", &arm64)] {
        let raw = skopeo.inspect(&reg.docker_ref("team/multi", digest), admin, true).ok();
        assert_eq!(sha256_bytes(raw.stdout.as_bytes()), *digest);
        assert_eq!(layer_digests(&json(&raw.stdout)), layout.layers(tag));
    }
    // `skopeo inspect` (not raw) resolves the index to this machine's platform.
    let inspected = json(&skopeo.inspect(&dest, admin, false).ok().stdout);
    let arch = inspected["Architecture"].as_str().unwrap_or_default().to_string();
    assert!(arch == "amd64" || arch == "arm64", "{inspected}");
    assert_eq!(inspected["Layers"], serde_json::json!(layout.layers(&arch)));

    let back = OciLayout::open(&work.join("back"));
    let (r, pulled) = skopeo.copy(&dest, &back.reference("v1"), admin, None, &["--all"]);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
    assert_eq!(pulled, index);
    assert_eq!(back.digest("v1"), index);
    for tag in ["amd64", "arm64"] {
        let digest = layout.digest(tag);
        assert_eq!(back.blob(&digest), layout.blob(&digest), "{tag} manifest");
        for layer in layout.layers(tag) {
            assert!(back.has_blob(&layer), "{tag} layer {layer}");
        }
    }
}

#[test]
fn skopeo_inspects_and_lists_tags_in_lexical_order() {
    let reg = Registry::under_test();
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    reg.create_repository("team/tags", &[]);
    let work = TempDir::new("warden-tags");
    let layout = small_image(&work, "src");
    let skopeo = Skopeo::new();
    let mut digest = String::new();
    for tag in ["v2", "latest", "v10", "v1", "V3"] {
        let (r, d) = skopeo.copy(&layout.reference("v1"), &reg.docker_ref("team/tags", tag), None, admin, &[]);
        assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
        digest = d;
    }

    let r = skopeo.list_tags(&format!("docker://{}/team/tags", reg.host), admin).ok();
    let listed = json(&r.stdout);
    assert_eq!(listed["Repository"], format!("{}/team/tags", reg.host));
    assert_eq!(listed["Tags"], serde_json::json!(["V3", "latest", "v1", "v10", "v2"]), "byte-wise lexical order");

    let r = skopeo.inspect(&reg.docker_ref("team/tags", "v10"), admin, false).ok();
    let inspected = json(&r.stdout);
    assert_eq!(inspected["Name"], format!("{}/team/tags", reg.host));
    assert_eq!(inspected["Digest"], digest);
    assert_eq!(inspected["RepoTags"], listed["Tags"]);
    assert_eq!(inspected["Architecture"], "amd64");
    assert_eq!(inspected["Os"], "linux");
    assert_eq!(inspected["Labels"]["org.example.tag"], "v1");
    assert_eq!(inspected["Layers"], serde_json::json!(layout.layers("v1")));

    // A tag that is not there.
    let r = skopeo.inspect(&reg.docker_ref("team/tags", "nope"), admin, true).failed();
    assert!(r.stderr.to_ascii_lowercase().contains("manifest unknown"), "{r}");
}

#[test]
fn skopeo_deletes_a_manifest() {
    let reg = Registry::under_test();
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    reg.create_repository("team/del", &[]);
    let work = TempDir::new("warden-del");
    let layout = OciLayout::init(work.path(), "src");
    layout.add_image("gone", &[1000], "amd64");
    layout.add_image("kept", &[1000], "amd64");
    let skopeo = Skopeo::new();
    let mut digests = Vec::new();
    for tag in ["gone", "kept"] {
        let (r, d) = skopeo.copy(&layout.reference(tag), &reg.docker_ref("team/del", tag), None, admin, &[]);
        assert!(r.success(), "{r}");
        digests.push(d);
    }

    let r = skopeo.delete(&reg.docker_ref("team/del", "gone"), admin);
    assert!(r.success(), "{r}\nserver log:\n{}", reg.log());

    let r = skopeo.inspect(&reg.docker_ref("team/del", "gone"), admin, true).failed();
    assert!(r.stderr.to_ascii_lowercase().contains("manifest unknown"), "{r}");
    let r = skopeo.inspect(&reg.docker_ref("team/del", &digests[0]), admin, true).failed();
    assert!(r.stderr.to_ascii_lowercase().contains("manifest unknown"), "{r}");
    skopeo.inspect(&reg.docker_ref("team/del", "kept"), admin, true).ok();
    let tags = json(&skopeo.list_tags(&format!("docker://{}/team/del", reg.host), admin).ok().stdout);
    assert_eq!(tags["Tags"], serde_json::json!(["kept"]));
}

#[test]
fn oras_pushes_and_pulls_an_artifact() {
    let reg = Registry::under_test();
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    reg.create_repository("team/artifacts", &[]);
    let work = TempDir::new("warden-oras");
    let oras = Oras::new();
    let mut content = b"notes pushed by oras\n".to_vec();
    for chunk in support::random_bytes(150_000).chunks(48) {
        content.extend(chunk.iter().map(|b| format!("{b:02x}")).collect::<String>().bytes());
        content.push(b'\n');
    }
    let file = work.join("notes.txt");
    std::fs::write(&file, &content).unwrap();

    // Monolithic (POST, PUT with the blob) and chunked (POST, PATCH per 64 KiB, PUT) uploads.
    for (tag, chunk) in [("mono", None), ("chunked", Some(64 * 1024))] {
        let target = reg.reference("team/artifacts", tag);
        let r = oras.push(&target, &file, "text/plain", admin, chunk);
        assert!(r.success(), "oras push {tag}: {r}\nserver log:\n{}", reg.log());
        let pushed = json(r.stdout.lines().last().unwrap_or_default());
        assert_eq!(pushed["status"], 201, "{r}");

        let out = work.join(&format!("out-{tag}"));
        let r = oras.pull(&target, &out, admin);
        assert!(r.success(), "oras pull {tag}: {r}\nserver log:\n{}", reg.log());
        assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), content, "{tag}: the pulled file differs");
    }
    let r = oras.tags(&reg.reference("team/artifacts", "mono"), admin);
    assert!(r.success(), "{r}");
    assert_eq!(json(r.stdout.lines().last().unwrap_or_default())["tags"], serde_json::json!(["chunked", "mono"]));

    // The manifest is an OCI artifact manifest with the file as its one layer.
    let skopeo = Skopeo::new();
    let raw = skopeo.inspect(&reg.docker_ref("team/artifacts", "chunked"), admin, true).ok();
    let manifest = json(&raw.stdout);
    assert_eq!(manifest["layers"][0]["mediaType"], "text/plain");
    assert_eq!(manifest["layers"][0]["annotations"]["org.opencontainers.image.title"], "notes.txt");
    assert_eq!(manifest["layers"][0]["digest"], sha256_bytes(&content));
}

#[test]
fn docker_logs_in_builds_pushes_and_pulls() {
    let reg = Registry::under_test();
    reg.create_repository("team/docker", &[]);
    let dockerd = Dockerd::start();
    if let Some(creds) = reg.creds("admin") {
        let password = creds.trim_start_matches("AWS:");
        let r = dockerd.docker(&["login", "-u", "AWS", "--password-stdin", &reg.host], Some(password.as_bytes()));
        assert!(r.success(), "{r}\nserver log:\n{}", reg.log());
        assert!(r.stdout.contains("Login Succeeded"), "{r}");
    }

    let ctx = dockerd.scratch("ctx");
    let hello = format!("hello from warden {}\n", sha256_bytes(&support::random_bytes(32)));
    std::fs::write(ctx.join("hello.txt"), &hello).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\nCOPY hello.txt /hello.txt\n").unwrap();
    let image = reg.reference("team/docker", "v1");
    let r = dockerd.docker(&["build", "-t", &image, &ctx.display().to_string()], None);
    assert!(r.success(), "{r}\ndockerd log:\n{}", dockerd.log());
    let built =
        dockerd.docker(&["image", "inspect", "--format", "{{.Id}}", &image], None).ok().stdout.trim().to_string();

    let r = dockerd.docker(&["push", &image], None);
    assert!(r.success(), "{r}\nserver log:\n{}\ndockerd log:\n{}", reg.log(), dockerd.log());
    let digest = r
        .stdout
        .split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in docker push output: {r}"))
        .to_string();

    dockerd.docker(&["rmi", &image], None).ok();
    dockerd.docker(&["image", "inspect", &image], None).failed();

    let r = dockerd.docker(&["pull", &image], None);
    assert!(r.success(), "{r}\nserver log:\n{}\ndockerd log:\n{}", reg.log(), dockerd.log());
    assert!(r.stdout.contains(&digest), "pulled digest: {r}");
    let pulled =
        dockerd.docker(&["image", "inspect", "--format", "{{.Id}}", &image], None).ok().stdout.trim().to_string();
    assert_eq!(pulled, built, "the image pulled back is the image built");
    let repo_digests = dockerd.docker(&["image", "inspect", "--format", "{{json .RepoDigests}}", &image], None).ok();
    assert!(repo_digests.stdout.contains(&format!("{}/team/docker@{digest}", reg.host)), "{repo_digests}");

    // The file is in the pulled image's single layer.
    let saved = dockerd.scratch("saved");
    let tar = saved.join("image.tar");
    dockerd.docker(&["save", "-o", &tar.display().to_string(), &image], None).ok();
    let mut untar = std::process::Command::new("sh");
    untar.arg("-c").arg(format!(
        "cd {} && tar -xf image.tar && for l in $(find . -name layer.tar); do tar -xOf \"$l\" hello.txt; done",
        saved.display()
    ));
    let r = support::run(&mut untar, None, std::time::Duration::from_secs(60)).ok();
    assert_eq!(r.stdout, hello);
}

/// The image `v1` pushed by admin into `repo`, for the authorization tests.
fn seeded(reg: &Registry, work: &TempDir, repo: &str, tags: &[(&str, &str)]) -> (OciLayout, String) {
    reg.create_repository(repo, tags);
    let layout = small_image(work, &format!("src-{}", repo.replace('/', "-")));
    let admin = reg.creds("admin");
    let (r, digest) =
        Skopeo::new().copy(&layout.reference("v1"), &reg.docker_ref(repo, "v1"), None, admin.as_deref(), &[]);
    assert!(r.success(), "admin pushes into {repo}: {r}\nserver log:\n{}", reg.log());
    (layout, digest)
}

#[test]
fn reader_can_pull_but_is_denied_pushing() {
    let reg = Registry::under_test();
    let work = TempDir::new("warden-reader");
    let (_, digest) = seeded(&reg, &work, "team/app", &[]);
    let reader = reg.creds("reader");
    let reader = reader.as_deref();
    let skopeo = Skopeo::new();

    // Pull.
    let back = OciLayout::open(&work.join("back"));
    let (r, pulled) = skopeo.copy(&reg.docker_ref("team/app", "v1"), &back.reference("v1"), reader, None, &[]);
    assert!(r.success(), "reader pulls: {r}\nserver log:\n{}", reg.log());
    assert_eq!(pulled, digest);
    skopeo.list_tags(&format!("docker://{}/team/app", reg.host), reader).ok();

    // Push of new layers: denied at the first upload, in AWS's words.
    let fresh = OciLayout::init(work.path(), "fresh");
    fresh.add_image("v2", &[2000], "amd64");
    let (r, _) = skopeo.copy(&fresh.reference("v2"), &reg.docker_ref("team/app", "v2"), None, reader, &[]);
    let r = r.failed();
    assert!(r.stderr.contains("denied: "), "skopeo reports the DENIED code as `denied:`: {r}");
    assert!(r.stderr.contains(&denial("reader", "ecr:InitiateLayerUpload", "team/app")), "{r}");

    // Re-tagging an image whose layers are all there: only the manifest PUT, denied as PutImage.
    let (r, _) =
        skopeo.copy(&reg.docker_ref("team/app", "v1"), &reg.docker_ref("team/app", "copy"), reader, reader, &[]);
    let r = r.failed();
    assert!(r.stderr.contains(&denial("reader", "ecr:PutImage", "team/app")), "{r}");

    // The same over raw HTTP: 403 with the registry error body.
    let manifest = skopeo.inspect(&reg.docker_ref("team/app", "v1"), reader, true).ok().stdout;
    let r = http(
        &reg.host,
        "PUT",
        "/v2/team/app/manifests/raw",
        &[("Authorization", &basic(reader.unwrap_or_default())), ("Content-Type", OCI_MANIFEST)],
        manifest.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 403, "{r}");
    let body = r.json();
    assert_eq!(body["errors"][0]["code"], "DENIED", "{r}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&denial("reader", "ecr:PutImage", "team/app")), "{r}");

    // Nothing changed.
    let tags = json(&skopeo.list_tags(&format!("docker://{}/team/app", reg.host), reader).ok().stdout);
    assert_eq!(tags["Tags"], serde_json::json!(["v1"]));
}

/// Pushes the image `v1` of `layout` into each of `repos` as `creds`.
fn push_into(reg: &Registry, layout: &OciLayout, repos: &[&str], creds: Option<&str>) -> Vec<String> {
    let skopeo = Skopeo::new();
    repos
        .iter()
        .map(|repo| {
            let (r, d) = skopeo.copy(&layout.reference("v1"), &reg.docker_ref(repo, "v1"), None, creds, &[]);
            assert!(r.success(), "pushing into {repo}: {r}\nserver log:\n{}", reg.log());
            d
        })
        .collect()
}

#[test]
fn pusher_can_push_but_not_delete_in_a_prod_repository() {
    let reg = Registry::under_test();
    reg.create_repository("prod/app", &[("environment", "prod")]);
    reg.create_repository("dev/app", &[("environment", "dev")]);
    let pusher = reg.creds("pusher");
    let pusher = pusher.as_deref();
    let work = TempDir::new("warden-pusher");
    let layout = small_image(&work, "src");
    // The second push mounts the blobs from prod/app (skopeo's blob-info cache knows them).
    let digests = push_into(&reg, &layout, &["prod/app", "dev/app"], pusher);
    let skopeo = Skopeo::new();

    // In prod, the group's explicit deny on ecr:ResourceTag/environment=prod.
    let r = skopeo.delete(&reg.docker_ref("prod/app", "v1"), pusher).failed();
    assert!(r.stderr.contains(&denial("pusher", "ecr:BatchDeleteImage", "prod/app")), "{r}");
    assert!(r.stderr.contains("explicit deny"), "{r}");
    let r = http(
        &reg.host,
        "DELETE",
        &format!("/v2/prod/app/manifests/{}", digests[0]),
        &[("Authorization", &basic(pusher.unwrap_or_default()))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 403, "{r}");
    assert_eq!(r.json()["errors"][0]["code"], "DENIED", "{r}");
    let message = r.json()["errors"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with(&denial("pusher", "ecr:BatchDeleteImage", "prod/app")), "{r}");
    assert!(message.contains("explicit deny"), "the denial says why: {r}");

    // Elsewhere, PowerUser simply grants no ecr:BatchDeleteImage.
    let r = skopeo.delete(&reg.docker_ref("dev/app", "v1"), pusher).failed();
    assert!(r.stderr.contains(&denial("pusher", "ecr:BatchDeleteImage", "dev/app")), "{r}");
    assert!(r.stderr.contains("no identity-based policy allows"), "{r}");

    // Both still there; admin (FullAccess, not in the guarded group) may delete in prod.
    skopeo.inspect(&reg.docker_ref("prod/app", "v1"), pusher, true).ok();
    skopeo.inspect(&reg.docker_ref("dev/app", "v1"), pusher, true).ok();
    let admin = reg.creds("admin");
    let r = skopeo.delete(&reg.docker_ref("prod/app", "v1"), admin.as_deref());
    assert!(r.success(), "admin deletes in prod/app: {r}");
}

#[test]
fn the_prod_tag_guard_denies_a_delete_that_a_policy_allows() {
    // The demo identities, with pusher also allowed to delete images anywhere: only the group's
    // deny on ecr:ResourceTag/environment=prod stands between pusher and prod/app.
    let dir = TempDir::new("warden-guard");
    let demo = support::registry::demo_policies().join("identities/demo.json");
    let mut identities: Value = serde_json::from_slice(&std::fs::read(&demo).unwrap()).unwrap();
    identities["users"]["pusher"]["inline_policies"] = serde_json::json!({
        "AllowDeletes": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ecr:BatchDeleteImage", "Resource": "*"}]
        }
    });
    std::fs::create_dir_all(dir.join("identities")).unwrap();
    std::fs::write(dir.join("identities/demo.json"), serde_json::to_vec_pretty(&identities).unwrap()).unwrap();
    let reg = match std::env::var(support::registry::TARGET_ENV).as_deref() {
        Ok(t) if t.starts_with("distribution") => Registry::under_test(),
        _ => Registry::warden_with(dir.path()),
    };
    reg.create_repository("prod/app", &[("environment", "prod")]);
    reg.create_repository("dev/app", &[]);
    let pusher = reg.creds("pusher");
    let pusher = pusher.as_deref();
    let work = TempDir::new("warden-guard-img");
    let layout = small_image(&work, "src");
    push_into(&reg, &layout, &["prod/app", "dev/app"], pusher);
    let skopeo = Skopeo::new();

    let r = skopeo.delete(&reg.docker_ref("dev/app", "v1"), pusher);
    assert!(r.success(), "pusher deletes in dev/app: {r}\nserver log:\n{}", reg.log());
    skopeo.inspect(&reg.docker_ref("dev/app", "v1"), pusher, true).failed();

    let r = skopeo.delete(&reg.docker_ref("prod/app", "v1"), pusher).failed();
    assert!(r.stderr.contains(&denial("pusher", "ecr:BatchDeleteImage", "prod/app")), "{r}");
    assert!(r.stderr.contains("explicit deny"), "{r}");
    skopeo.inspect(&reg.docker_ref("prod/app", "v1"), pusher, true).ok();
}

#[test]
fn pushing_to_a_missing_repository_fails_with_name_unknown() {
    let reg = Registry::under_test();
    let admin = reg.creds("admin");
    let admin = admin.as_deref();
    let work = TempDir::new("warden-missing");
    let layout = small_image(&work, "src");
    let skopeo = Skopeo::new();

    let (r, _) = skopeo.copy(&layout.reference("v1"), &reg.docker_ref("nope/missing", "v1"), None, admin, &[]);
    let r = r.failed();
    assert!(r.stderr.contains("name unknown"), "skopeo reports NAME_UNKNOWN as `name unknown:`: {r}");

    let r = http(
        &reg.host,
        "POST",
        "/v2/nope/missing/blobs/uploads/",
        &[("Authorization", &basic(admin.unwrap_or_default()))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404, "{r}");
    assert_eq!(r.json()["errors"][0]["code"], "NAME_UNKNOWN", "{r}");

    // The failed push created nothing.
    let r = http(
        &reg.host,
        "GET",
        "/v2/nope/missing/tags/list",
        &[("Authorization", &basic(admin.unwrap_or_default()))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404, "{r}");
    assert_eq!(r.json()["errors"][0]["code"], "NAME_UNKNOWN", "{r}");
}
