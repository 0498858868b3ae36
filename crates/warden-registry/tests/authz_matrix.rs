//! The authorization matrix: every /v2 route and every ECR API operation, for every kind of
//! caller, with repository names written in hostile ways, over real HTTP on loopback. The rows are
//! in `authz_matrix.tsv` (its header explains the columns and placeholders); this file sets up the
//! fixture, expands each compact row over its callers and name spellings, sends each request byte
//! for byte, and checks:
//!
//! - the status and the error code (`errors[0].code` on /v2, `__type` on the ECR API);
//! - for every denied or refused row, that nothing was read or written: the metadata store saw no
//!   call but `repository` (none at all for NAME_INVALID and anonymous rows), the stored state is
//!   exactly as before, the administrator sees the same tags, manifest and layer afterwards, a
//!   refused cross-repository mount left no blob behind, and the response carries no manifest or
//!   blob bytes.
//!
//! Every failing row is reported (line of the table, request, expected and observed) before the
//! test fails. `MATRIX_FILTER=<text>` runs only the expanded rows whose description contains it;
//! `MATRIX_VERBOSE=1` prints every row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod common;

use std::fmt::Write as _;

use common::{sha256, Image, Resp, Server};
use serde_json::json;
use warden_registry::names::{random_id, Digest};

const TABLE: &str = include_str!("authz_matrix.tsv");

const APP: &str = "team/app";
const LOCKED: &str = "team/locked";
const PROD: &str = "team/prod";
const MISSING: &str = "team/missing";
const SECRET: &str = "secret/app";
/// Repositories whose names contain the distribution API's route words.
const WORDS: [&str; 6] =
    ["ab/blobs/uploads/cd", "x/manifests", "y/blobs", "z/uploads/q", "w/tags/list2", "v/referrers"];

const LOCKED_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":"*"}]}"#;
/// A repository policy that locks nobody out (SetRepositoryPolicy rows).
const HARMLESS_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"ecr:BatchGetImage"}]}"#;
const LIFECYCLE_POLICY: &str = r#"{"rules":[{"rulePriority":1,"description":"untagged","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;

const LAYER: &[u8] = b"warden-matrix layer LAYERBYTES-7f3a";
const CONFIG: &[u8] = br#"{"architecture":"amd64","os":"linux","comment":"warden-matrix CONFIGBYTES-91c2"}"#;
const SECRET_BLOB: &[u8] = b"warden-matrix secret layer SECRETBYTES-5d1e";
const CHUNK: &[u8] = b"warden-matrix chunk";
/// What a refused response must never contain: layer, config and secret bytes, manifest text.
const LEAKS: [&str; 4] = ["LAYERBYTES", "CONFIGBYTES", "SECRETBYTES", "vnd.oci.image.layer.v1.tar+gzip"];

fn users() -> serde_json::Value {
    json!({
        "admin": {"attached_policies": ["AmazonEC2ContainerRegistryFullAccess"]},
        "nopolicy": {},
        "guarded": {
            "attached_policies": ["AmazonEC2ContainerRegistryFullAccess"],
            "inline_policies": {"NoProd": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecr:*", "Resource": "*",
                "Condition": {"StringEquals": {"ecr:ResourceTag/environment": "prod"}}}]}}
        },
        "teamonly": {"inline_policies": {"Team": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/team/*"}]}}}
    })
}

/// A repository of the fixture: name, resource tags, repository policy.
type FixtureRepo = (&'static str, Vec<(String, String)>, Option<&'static str>);

/// The repositories the runner keeps in their initial state.
fn fixture() -> Vec<FixtureRepo> {
    let mut repos = vec![
        (APP, vec![], None),
        (LOCKED, vec![], Some(LOCKED_POLICY)),
        (PROD, vec![("environment".to_owned(), "prod".to_owned())], None),
        (SECRET, vec![], None),
    ];
    repos.extend(WORDS.iter().map(|w| (*w, vec![], None)));
    repos
}

/// A name as it is, `/` as `%2F`, its first character and its last character percent-encoded:
/// decoded once, all four are the same name.
fn spellings(name: &str) -> Vec<String> {
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    vec![
        name.to_owned(),
        name.replacen('/', "%2F", 1),
        format!("%{first:02x}{}", &name[1..]),
        format!("{}%{last:02x}", &name[..name.len() - 1]),
    ]
}

/// A 257-character name, otherwise valid.
fn long_name() -> String {
    format!("team/{}", "a".repeat(252))
}

/// One line of the table.
#[derive(Debug, Clone)]
struct Row {
    line: usize,
    callers: Vec<String>,
    method: String,
    target: String,
    body: String,
    status: u16,
    code: String,
}

fn parse_table(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cols.len(), 5, "authz_matrix.tsv:{}: five columns expected: {raw}", i + 1);
        let mut expect = cols[4].split_whitespace();
        let status: u16 =
            expect.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("line {}: bad status", i + 1));
        rows.push(Row {
            line: i + 1,
            callers: cols[0].split(',').map(|c| c.trim().to_owned()).collect(),
            method: cols[1].to_owned(),
            target: cols[2].to_owned(),
            body: cols[3].to_owned(),
            status,
            code: expect.next().unwrap_or("").to_owned(),
        });
    }
    rows
}

/// One request of the expanded table.
#[derive(Debug, Clone)]
struct Case {
    line: usize,
    /// `None`: anonymous.
    caller: Option<String>,
    method: String,
    target: String,
    body: String,
    status: u16,
    code: String,
    /// The repository the request is about, once decoded (`None`: none, or an invalid name).
    repo: Option<String>,
    /// The name is invalid however it is decoded.
    invalid_name: bool,
}

impl Case {
    fn ecr(&self) -> bool {
        self.method == "ECR"
    }

    fn describe(&self) -> String {
        let who = self.caller.as_deref().unwrap_or("anon");
        let body = if self.body == "-" { String::new() } else { format!(" [{}]", shorten(&self.body, 90)) };
        format!("line {:>3}: {who} {} {}{body}", self.line, self.method, shorten(&self.target, 110))
    }

    fn expected(&self) -> String {
        format!("{} {}", self.status, self.code).trim().to_owned()
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// The fixed values rows refer to.
struct Values {
    image: Image,
    secret_blob: String,
}

impl Values {
    fn substitute(&self, s: &str) -> String {
        let text = |v: &str| serde_json::to_string(v).unwrap().trim_matches('"').to_owned();
        let arn = format!("arn:aws:ecr:{}:{}:repository/", common::REGION, common::ACCOUNT);
        let pairs = [
            ("{tag}", "v1".to_owned()),
            ("{digest}", self.image.digest.clone()),
            ("{config}", self.image.config_digest.clone()),
            ("{layer}", self.image.layer_digest.clone()),
            ("{secret_blob}", self.secret_blob.clone()),
            ("{chunk}", sha256(CHUNK)),
            ("{empty}", sha256(b"")),
            ("{nothing}", format!("sha256:{}", "0".repeat(64))),
            ("{manifest_json}", text(&self.image.manifest)),
            ("{policy_json}", text(HARMLESS_POLICY)),
            ("{lifecycle_json}", text(LIFECYCLE_POLICY)),
            ("{arn}", arn),
            ("{long}", long_name()),
        ];
        let mut out = s.to_owned();
        for (k, v) in pairs {
            out = out.replace(k, &v);
        }
        out
    }

    /// Digests whose presence the state snapshot records.
    fn known_digests(&self) -> Vec<String> {
        vec![
            self.image.config_digest.clone(),
            self.image.layer_digest.clone(),
            self.secret_blob.clone(),
            sha256(CHUNK),
            sha256(b""),
            format!("sha256:{}", "0".repeat(64)),
            warden_registry::schema1::EMPTY_LAYER_DIGEST.to_owned(),
        ]
    }
}

/// One way of writing a name: the text, the repository it names once decoded, whether it is invalid.
type Spelling = (String, Option<String>, bool);

/// Name placeholders and the spellings each expands to.
fn name_sets() -> Vec<(&'static str, Vec<Spelling>)> {
    let valid = |name: &str, spelled: Vec<String>| -> Vec<Spelling> {
        spelled.into_iter().map(|s| (s, Some(name.to_owned()), false)).collect()
    };
    let invalid = |names: Vec<String>| -> Vec<Spelling> { names.into_iter().map(|s| (s, None, true)).collect() };
    vec![
        ("{app~}", valid(APP, spellings(APP))),
        ("{locked~}", valid(LOCKED, spellings(LOCKED))),
        ("{prod~}", valid(PROD, spellings(PROD))),
        ("{missing~}", valid(MISSING, spellings(MISSING))),
        (
            "{bad~}",
            invalid(vec![
                "team/%2e%2e/app".into(),
                "team/../app".into(),
                "%2e%2e/app".into(),
                "Team/App".into(),
                long_name(),
            ]),
        ),
        ("{ecrbad~}", invalid(vec!["team%2Fapp".into(), "Team/App".into(), "team/../app".into(), long_name()])),
        ("{words~}", WORDS.iter().flat_map(|w| valid(w, vec![(*w).to_owned()])).collect()),
        ("{app}", valid(APP, vec![APP.into()])),
        ("{locked}", valid(LOCKED, vec![LOCKED.into()])),
        ("{prod}", valid(PROD, vec![PROD.into()])),
        ("{missing}", valid(MISSING, vec![MISSING.into()])),
        ("{secret}", valid(SECRET, vec![SECRET.into()])),
    ]
}

fn expand(rows: &[Row], values: &Values) -> Vec<Case> {
    let sets = name_sets();
    let mut cases = Vec::new();
    for row in rows {
        let found: Vec<_> = sets.iter().filter(|(ph, _)| row.target.contains(ph) || row.body.contains(ph)).collect();
        assert!(found.len() <= 1, "line {}: at most one name placeholder per row", row.line);
        let spelled: Vec<(Option<&str>, String, Option<String>, bool)> = match found.first() {
            Some((ph, list)) => list.iter().map(|(s, repo, bad)| (Some(*ph), s.clone(), repo.clone(), *bad)).collect(),
            None => vec![(None, String::new(), None, false)],
        };
        for caller in &row.callers {
            for (ph, spelling, repo, invalid_name) in &spelled {
                let put = |s: &str| values.substitute(&ph.map_or(s.to_owned(), |ph| s.replace(ph, spelling)));
                let case = Case {
                    line: row.line,
                    caller: (caller != "anon").then(|| caller.clone()),
                    method: row.method.clone(),
                    target: put(&row.target),
                    body: put(&row.body),
                    status: row.status,
                    code: row.code.clone(),
                    repo: repo.clone(),
                    invalid_name: *invalid_name,
                };
                for s in [&case.target, &case.body] {
                    if let Some(unknown) = leftover_placeholder(s) {
                        panic!("line {}: unknown placeholder {unknown}", row.line);
                    }
                }
                cases.push(case);
            }
        }
    }
    cases
}

/// A `{word}` left after substitution (`{upload}` is filled in when the row runs).
fn leftover_placeholder(s: &str) -> Option<String> {
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let len = after.find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c == '~')).unwrap_or(after.len());
        if len > 0 && after[len..].starts_with('}') && &after[..len] != "upload" {
            return Some(format!("{{{}}}", &after[..len]));
        }
        rest = after;
    }
    None
}

/// What is stored about one repository (what a request could change).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RepoState {
    name: String,
    mutability: String,
    policy: Option<String>,
    tags: Vec<(String, String)>,
    scan_on_push: bool,
    image_tags: Vec<(String, String)>,
    images: Vec<String>,
    blobs: Vec<(String, Option<u64>)>,
    lifecycle: Option<String>,
    preview: Option<(String, String)>,
}

/// Everything stored, as far as rows can touch it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    repos: Vec<RepoState>,
    uploads: Vec<String>,
    bytes: Vec<(String, Option<u64>)>,
}

struct Matrix {
    s: Server,
    values: Values,
    baseline: Option<State>,
}

impl Matrix {
    async fn new(name: &str) -> Matrix {
        let s = common::start(name, users()).await;
        let image = Image::new(CONFIG, LAYER);
        let values = Values { image, secret_blob: sha256(SECRET_BLOB) };
        let mut m = Matrix { s, values, baseline: None };
        for (name, tags, _) in fixture() {
            assert!(m.s.registry.create_repository(name, tags).await.unwrap(), "{name}");
            if WORDS.contains(&name) {
                // Pushing to these is under test; they are filled through the stores.
                m.fill(name).await;
            } else {
                m.push(name).await;
            }
        }
        m.s.registry.set_repository_policy(LOCKED, Some(LOCKED_POLICY.into())).await.unwrap();
        m.baseline = Some(m.snapshot().await);
        m
    }

    /// Pushes the image as v1 (and to secret/app the secret blob) over /v2 as admin.
    async fn push(&self, name: &str) {
        let img = &self.values.image;
        let octets = [("Content-Type".to_owned(), "application/octet-stream".to_owned())];
        let mut blobs = vec![(&img.config_digest, CONFIG), (&img.layer_digest, LAYER)];
        if name == SECRET {
            blobs.push((&self.values.secret_blob, SECRET_BLOB));
        }
        for (digest, bytes) in blobs {
            let target = format!("/v2/{name}/blobs/uploads/?digest={digest}");
            let r = self.s.v2(Some("admin"), "POST", &target, &octets, bytes).await;
            assert_eq!(r.status, 201, "setup: POST {target}: {}", r.text());
        }
        let manifest = [("Content-Type".to_owned(), common::OCI_MANIFEST.to_owned())];
        let target = format!("/v2/{name}/manifests/v1");
        let r = self.s.v2(Some("admin"), "PUT", &target, &manifest, img.manifest.as_bytes()).await;
        assert_eq!(r.status, 201, "setup: PUT {target}: {}", r.text());
        assert_eq!(r.header("docker-content-digest"), Some(img.digest.as_str()));
    }

    /// The image under `v1` (and in secret/app the secret blob), through the stores.
    async fn fill(&self, name: &str) {
        self.s.seed(name, &self.values.image, "v1").await;
        if name == SECRET {
            self.s.seed_blob(SECRET, SECRET_BLOB).await;
        }
    }

    async fn snapshot(&self) -> State {
        let m = &self.s.meta.inner;
        let mut repos = Vec::new();
        for name in m.repositories().unwrap() {
            let r = m.repository(&name).unwrap().unwrap();
            let mut tags = r.tags.clone();
            tags.sort();
            let mut image_tags = m.all_tags(&name).unwrap();
            image_tags.sort();
            let mut images: Vec<String> = m.images(&name).unwrap().into_iter().map(|(i, _)| i.digest).collect();
            images.sort();
            let blobs =
                self.values.known_digests().into_iter().map(|d| (d.clone(), m.blob(&name, &d).unwrap())).collect();
            repos.push(RepoState {
                mutability: r.tag_mutability,
                policy: r.policy,
                tags,
                scan_on_push: r.scan_on_push,
                image_tags,
                images,
                blobs,
                lifecycle: m.lifecycle_policy(&name).unwrap().map(|(t, _)| t),
                preview: m.lifecycle_preview(&name).unwrap(),
                name,
            });
        }
        let mut uploads = m.stale_uploads(i64::MAX).unwrap();
        uploads.sort();
        let mut bytes = Vec::new();
        for d in self.values.known_digests() {
            let size = self.s.blobs.size(&Digest::parse(&d).unwrap()).await.unwrap();
            bytes.push((d, size));
        }
        State { repos, uploads, bytes }
    }

    /// Brings the stores back to the fixture after a row changed them.
    async fn reset(&self) {
        let m = &self.s.meta.inner;
        for id in m.stale_uploads(i64::MAX).unwrap() {
            let _ = self.s.blobs.cancel(&id).await;
            m.end_upload(&id).unwrap();
        }
        let fixture = fixture();
        for name in m.repositories().unwrap() {
            if !fixture.iter().any(|(n, _, _)| *n == name) {
                m.delete_repository(&name).unwrap();
            }
        }
        let now = self.snapshot().await;
        let baseline = self.baseline.as_ref().unwrap();
        for (name, tags, policy) in fixture {
            let want = baseline.repos.iter().find(|r| r.name == name);
            let have = now.repos.iter().find(|r| r.name == name);
            if want != have {
                m.delete_repository(name).unwrap();
                m.create_repository(name, &tags, "MUTABLE", warden_registry::state::now()).unwrap();
                m.set_policy(name, policy).unwrap();
                self.fill(name).await;
            }
        }
        let fixture_bytes: [(&str, &[u8]); 3] = [
            (&self.values.image.config_digest, CONFIG),
            (&self.values.image.layer_digest, LAYER),
            (&self.values.secret_blob, SECRET_BLOB),
        ];
        for d in self.values.known_digests() {
            if !fixture_bytes.iter().any(|(f, _)| *f == d) && !m.blob_referenced(&d).unwrap() {
                let _ = self.s.blobs.remove(&Digest::parse(&d).unwrap()).await;
            }
        }
        for (d, bytes) in fixture_bytes {
            if self.s.blobs.size(&Digest::parse(d).unwrap()).await.unwrap().is_none() {
                self.s.blobs.put(&Digest::parse(d).unwrap(), bytes::Bytes::from_static(bytes)).await.unwrap();
            }
        }
        let after = self.snapshot().await;
        assert_eq!(&after, baseline, "the runner could not restore the fixture");
    }

    /// What the administrator sees of a repository over /v2: tags, the tagged manifest, the layer.
    async fn admin_view(&self, repo: &str) -> Vec<(u16, Option<String>, Vec<u8>)> {
        let mut view = Vec::new();
        for target in [
            format!("/v2/{repo}/tags/list"),
            format!("/v2/{repo}/manifests/v1"),
            format!("/v2/{repo}/blobs/{}", self.values.image.layer_digest),
        ] {
            let r = self.s.v2(Some("admin"), "GET", &target, &[], b"").await;
            view.push((r.status, r.header("docker-content-digest").map(str::to_owned), r.body));
        }
        view
    }

    async fn send(&self, case: &Case) -> Resp {
        let caller = case.caller.as_deref();
        if case.ecr() {
            let body = if case.body == "-" { "{}" } else { case.body.as_str() };
            return self.s.ecr(caller, &case.target, body).await;
        }
        let octets = |b: &[u8]| (vec![("Content-Type".to_owned(), "application/octet-stream".to_owned())], b.to_vec());
        let (headers, body): (Vec<(String, String)>, Vec<u8>) = match case.body.as_str() {
            "-" => (vec![], vec![]),
            "manifest" => (
                vec![("Content-Type".to_owned(), common::OCI_MANIFEST.to_owned())],
                self.values.image.manifest.as_bytes().to_vec(),
            ),
            "layer" => octets(LAYER),
            "chunk" => octets(CHUNK),
            other => panic!("line {}: unknown body kind `{other}`", case.line),
        };
        self.s.v2(caller, &case.method, &case.target, &headers, &body).await
    }

    /// Runs one expanded row; what went wrong, if anything.
    async fn run(&self, case: &Case) -> Vec<String> {
        let mut case = case.clone();
        let mut problems = Vec::new();
        if case.target.contains("{upload}") || case.body.contains("{upload}") {
            // A fresh session for every row, owned by the row's repository.
            let id = random_id();
            let owner = case.repo.clone().unwrap_or_else(|| APP.to_owned());
            self.s.blobs.begin(&id).await.unwrap();
            self.s.meta.inner.begin_upload(&id, &owner, warden_registry::state::now()).unwrap();
            case.target = case.target.replace("{upload}", &id);
            case.body = case.body.replace("{upload}", &id);
        }
        let ecr = case.ecr();
        let refused = matches!(case.status, 401 | 403)
            || matches!(case.code.as_str(), "NAME_INVALID" | "AccessDeniedException")
            || (ecr && case.invalid_name);
        let silent = case.caller.is_none() || case.code == "NAME_INVALID" || (ecr && case.invalid_name);
        let viewed = case.repo.clone().filter(|r| refused && r != LOCKED && r != MISSING);
        let before = if refused { Some(self.snapshot().await) } else { None };
        let view_before = match &viewed {
            Some(r) => Some(self.admin_view(r).await),
            None => None,
        };

        self.s.meta.clear();
        let resp = self.send(&case).await;
        let log = self.s.meta.take();

        let code = if ecr { resp.ecr_code() } else { resp.v2_code() };
        let status_ok = resp.status == case.status;
        let code_ok = case.code.is_empty() || case.method == "HEAD" || code == case.code;
        if !status_ok || !code_ok {
            problems.push(format!("got {} {code}: {}", resp.status, resp.text()));
        }
        if case.status == 401 && !ecr && resp.header("www-authenticate").is_none() {
            problems.push("a 401 without a WWW-Authenticate challenge".into());
        }
        if !ecr && resp.status == 200 && case.target.ends_with("/tags/list") {
            if let (Some(repo), Some(name)) = (&case.repo, resp.json()["name"].as_str()) {
                if name != repo {
                    problems.push(format!("tags/list answered for `{name}`, not `{repo}`"));
                }
            }
        }
        if refused {
            if silent && !log.is_empty() {
                problems.push(format!("refused, yet the metadata store was called: {log:?}"));
            } else if log.iter().any(|c| *c != "repository") {
                problems.push(format!("denied, yet the metadata store did more than look the repository up: {log:?}"));
            }
            let text = String::from_utf8_lossy(&resp.body);
            for leak in LEAKS {
                if text.contains(leak) {
                    problems.push(format!("the refusal carries stored bytes ({leak})"));
                }
            }
            if resp.header("docker-content-digest").is_some() {
                problems.push("the refusal carries a Docker-Content-Digest".into());
            }
            let after = self.snapshot().await;
            if Some(&after) != before.as_ref() {
                problems.push(format!("stored state changed: {}", diff(before.as_ref().unwrap(), &after)));
            }
            if let (Some(r), Some(v)) = (&viewed, &view_before) {
                if &self.admin_view(r).await != v {
                    problems.push(format!("the administrator sees {r} differently afterwards"));
                }
            }
            // A refused mount links nothing: the target does not serve the blob (unless it held
            // it before).
            let held = |repo: &str, digest: &str| {
                self.baseline
                    .as_ref()
                    .unwrap()
                    .repos
                    .iter()
                    .any(|r| r.name == repo && r.blobs.iter().any(|(d, size)| d == digest && size.is_some()))
            };
            if let Some((mount, r)) =
                query_value(&case.target, "mount").zip(case.repo.as_deref()).filter(|(m, r)| !held(r, m))
            {
                let path = format!("/v2/{r}/blobs/{mount}");
                let after = self.s.v2(Some("admin"), "GET", &path, &[], b"").await;
                if (after.status, after.v2_code().as_str()) != (404, "BLOB_UNKNOWN") {
                    problems.push(format!(
                        "afterwards GET {path} as admin: {} {} (expected 404 BLOB_UNKNOWN)",
                        after.status,
                        after.v2_code()
                    ));
                }
            }
        }
        if self.snapshot().await != *self.baseline.as_ref().unwrap() {
            self.reset().await;
        }
        problems
    }
}

fn query_value<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

fn diff(before: &State, after: &State) -> String {
    let mut out = String::new();
    for r in &after.repos {
        match before.repos.iter().find(|b| b.name == r.name) {
            Some(b) if b != r => {
                macro_rules! fields {
                    ($($f:ident),*) => {
                        $(if b.$f != r.$f {
                            let _ = write!(out, "{} {}: {:?} → {:?}; ", r.name, stringify!($f), b.$f, r.$f);
                        })*
                    };
                }
                fields!(mutability, policy, tags, scan_on_push, image_tags, images, blobs, lifecycle, preview);
            }
            None => {
                let _ = write!(out, "{} created; ", r.name);
            }
            _ => {}
        }
    }
    for b in &before.repos {
        if !after.repos.iter().any(|r| r.name == b.name) {
            let _ = write!(out, "{} deleted; ", b.name);
        }
    }
    if before.uploads != after.uploads {
        let _ = write!(out, "upload sessions {:?} → {:?}; ", before.uploads, after.uploads);
    }
    if before.bytes != after.bytes {
        let _ = write!(out, "blob bytes {:?} → {:?}; ", before.bytes, after.bytes);
    }
    shorten(out.trim_end_matches("; "), 600)
}

async fn run_matrix(name: &str, ecr: bool) {
    let m = Matrix::new(name).await;
    let rows: Vec<Row> = parse_table(TABLE).into_iter().filter(|r| (r.method == "ECR") == ecr).collect();
    let cases = expand(&rows, &m.values);
    let filter = std::env::var("MATRIX_FILTER").ok();
    let verbose = std::env::var_os("MATRIX_VERBOSE").is_some();
    let started = std::time::Instant::now();
    let (mut ran, mut failures) = (0, Vec::new());
    for case in &cases {
        if filter.as_deref().is_some_and(|f| !case.describe().contains(f)) {
            continue;
        }
        ran += 1;
        let problems = m.run(case).await;
        if verbose {
            eprintln!(
                "{} {} → {}",
                if problems.is_empty() { "ok  " } else { "FAIL" },
                case.describe(),
                case.expected()
            );
        }
        if !problems.is_empty() {
            failures.push(format!("{}\n      expected {}; {}", case.describe(), case.expected(), problems.join("; ")));
        }
    }
    eprintln!(
        "{name}: {ran} requests from {} table rows in {:.1} s, {} failed",
        rows.len(),
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} of {ran} matrix rows failed (listed above)", failures.len());
}

/// Every /v2 route, for every caller and name spelling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_api() {
    run_matrix("matrix-v2", false).await;
}

/// Every ECR API operation, for every caller and name spelling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecr_api() {
    run_matrix("matrix-ecr", true).await;
}

/// The table itself: every row parses, names a known caller and method, and the placeholders are
/// known; the expansion stays within its size.
#[test]
fn the_table_is_well_formed() {
    let rows = parse_table(TABLE);
    let values = Values { image: Image::new(CONFIG, LAYER), secret_blob: sha256(SECRET_BLOB) };
    for r in &rows {
        for c in &r.callers {
            assert!(
                ["admin", "nopolicy", "guarded", "teamonly", "anon"].contains(&c.as_str()),
                "line {}: unknown caller {c}",
                r.line
            );
        }
        assert!(
            ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "ECR"].contains(&r.method.as_str()),
            "line {}: unknown method {}",
            r.line,
            r.method
        );
        if r.method == "ECR" && r.body != "-" {
            // The body must be JSON once the placeholders are filled in.
            for case in expand(std::slice::from_ref(r), &values) {
                let body = case.body.replace("{upload}", "0");
                serde_json::from_str::<serde_json::Value>(&body)
                    .unwrap_or_else(|e| panic!("line {}: the body is not JSON: {e}: {body}", r.line));
            }
        }
    }
    let cases = expand(&rows, &values);
    assert!(cases.len() >= 150, "{} expanded rows", cases.len());
}
