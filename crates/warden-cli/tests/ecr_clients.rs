//! The user guide's CLI walkthrough against `warden serve`: `aws ecr` creates the repository and
//! mints the login password, which logs docker and skopeo in; docker builds and pushes; `aws ecr`
//! describes, retags and deletes what docker pushed. Needs the AWS CLI, docker (daemon started
//! privately), skopeo and umoci; each test fails when one is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use serde_json::Value;
use support::clients::Skopeo;
use support::dockerd::Dockerd;
use support::images::OciLayout;
use support::registry::Registry;
use support::{Run, TempDir};

/// `aws ecr <args>` as the demo admin (keys from policies/identities/demo.json), at the registry.
fn aws(reg: &Registry, args: &[&str], stdin: Option<&[u8]>) -> Run {
    support::clients::aws_ecr(&reg.host, args, stdin)
}

fn aws_json(reg: &Registry, args: &[&str]) -> Value {
    let r = aws(reg, args, None).ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r}"))
}

#[test]
fn the_user_guide_walkthrough_with_the_aws_cli_docker_and_skopeo() {
    let reg = Registry::warden();
    let created = aws_json(
        &reg,
        &["create-repository", "--repository-name", "hello-repository", "--tags", "Key=team,Value=docs"],
    );
    assert_eq!(created["repository"]["repositoryUri"], format!("{}/hello-repository", reg.host));

    // aws ecr get-login-password | docker login --username AWS --password-stdin HOST
    let password = aws(&reg, &["get-login-password"], None).ok().stdout.trim().to_owned();
    let dockerd = Dockerd::start();
    let login =
        dockerd.docker(&["login", "--username", "AWS", "--password-stdin", &reg.host], Some(password.as_bytes()));
    assert!(login.success() && login.stdout.contains("Login Succeeded"), "{login}\nserver log:\n{}", reg.log());

    // The guide's older form: `aws ecr get-login --no-include-email` prints a docker login command.
    let printed = aws(&reg, &["get-login", "--no-include-email"], None).ok().stdout;
    let words: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(words.len(), 7, "{printed}");
    assert_eq!((words[0], words[1], words[2], words[3], words[4]), ("docker", "login", "-u", "AWS", "-p"), "{printed}");
    assert_eq!(words[6], format!("http://{}", reg.host));
    let again = dockerd.docker(&words[1..], None);
    assert!(again.success() && again.stdout.contains("Login Succeeded"), "{again}");

    // docker build, tag, push.
    let ctx = dockerd.scratch("ctx");
    std::fs::write(ctx.join("index.html"), "hello world\n").unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\nCOPY index.html /index.html\n").unwrap();
    let image = format!("{}/hello-repository:latest", reg.host);
    dockerd.docker(&["build", "-t", &image, &ctx.display().to_string()], None).ok();
    let pushed = dockerd.docker(&["push", &image], None);
    assert!(pushed.success(), "{pushed}\nserver log:\n{}", reg.log());

    // describe-images shows what docker pushed, in docker's media type.
    let described = aws_json(&reg, &["describe-images", "--repository-name", "hello-repository"]);
    let detail = &described["imageDetails"][0];
    assert_eq!(detail["imageTags"], serde_json::json!(["latest"]));
    assert_eq!(detail["imageManifestMediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    let digest = detail["imageDigest"].as_str().unwrap().to_owned();
    assert!(pushed.stdout.contains(&digest), "docker reported another digest: {pushed}");

    // The retag recipe: batch-get-image, then put-image with a new tag; docker pulls the new tag.
    let got =
        aws_json(&reg, &["batch-get-image", "--repository-name", "hello-repository", "--image-ids", "imageTag=latest"]);
    let manifest = got["images"][0]["imageManifest"].as_str().unwrap().to_owned();
    aws_json(
        &reg,
        &["put-image", "--repository-name", "hello-repository", "--image-tag", "v2", "--image-manifest", &manifest],
    );
    let pulled = dockerd.docker(&["pull", &format!("{}/hello-repository:v2", reg.host)], None);
    assert!(pulled.success() && pulled.stdout.contains(&digest), "{pulled}");

    // The same token logs skopeo in: copy an OCI image in, list the tags.
    let work = TempDir::new("warden-walkthrough");
    let layout = OciLayout::init(work.path(), "layout");
    layout.add_image("extra", &[4096], "amd64");
    let creds = format!("AWS:{password}");
    let skopeo = Skopeo::new();
    let target = format!("docker://{}/hello-repository:extra", reg.host);
    let (copied, _) = skopeo.copy(&layout.reference("extra"), &target, None, Some(&creds), &[]);
    assert!(copied.success(), "{copied}\nserver log:\n{}", reg.log());
    let tags = skopeo.list_tags(&format!("docker://{}/hello-repository", reg.host), Some(&creds)).ok();
    let tags: Value = serde_json::from_str(&tags.stdout).unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["extra", "latest", "v2"]));

    // batch-delete-image by tag, then by digest; delete-repository needs --force while images remain.
    aws_json(&reg, &["batch-delete-image", "--repository-name", "hello-repository", "--image-ids", "imageTag=extra"]);
    let deleted = aws_json(
        &reg,
        &[
            "batch-delete-image",
            "--repository-name",
            "hello-repository",
            "--image-ids",
            &format!("imageDigest={digest}"),
        ],
    );
    assert_eq!(deleted["failures"], serde_json::json!([]));
    let listed = aws_json(&reg, &["list-images", "--repository-name", "hello-repository"]);
    assert_eq!(listed["imageIds"], serde_json::json!([]));
    let gone = dockerd.docker(&["pull", &format!("{}/hello-repository:v2", reg.host)], None);
    assert!(!gone.success(), "{gone}");
    aws_json(&reg, &["delete-repository", "--repository-name", "hello-repository", "--force"]);
    let missing = aws(&reg, &["describe-repositories", "--repository-names", "hello-repository"], None);
    assert!(missing.stderr.contains("(RepositoryNotFoundException)"), "{missing}");
}
