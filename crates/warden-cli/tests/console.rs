//! The web console (`warden serve`, `/console`) in a real browser: Debian's chromium, headless,
//! driven through chromedriver (WebDriver) by fantoccini, against `warden serve` on loopback with
//! the demo identities. Images are pushed with skopeo; what the console did is checked with the
//! AWS CLI. Every test saves a screenshot of each page it visits under
//! `$CARGO_TARGET_TMPDIR/console-screenshots/` (the path is printed).
//!
//! Needs `chromium` and `chromium-driver` (Debian), skopeo, umoci and the AWS CLI; a missing one
//! fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use support::clients::{aws_ecr, Skopeo};
use support::images::OciLayout;
use support::registry::{warden_bin, Registry};
use support::{free_port, http, require, wait_until, TempDir};

const ADMIN_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ADMIN_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const READER_KEY: &str = "AKIAIOSFODNN7READER1";
const READER_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYREADERKEY";
const ACCOUNT: &str = "111122223333";

/// One browser at a time: two chromiums on two cores make every wait flaky.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long the page may take to show something.
const WAIT: Duration = Duration::from_secs(20);

/// chromedriver and a headless chromium session on a fresh profile, saving screenshots.
struct Browser {
    client: Client,
    driver: Child,
    _profile: TempDir,
    shots: PathBuf,
    test: &'static str,
    count: usize,
}

impl Browser {
    async fn start(test: &'static str) -> Browser {
        require("chromium", "apt-get install -y chromium chromium-driver");
        require("chromedriver", "apt-get install -y chromium chromium-driver");
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        assert!(
            wait_until(Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
            "chromedriver did not listen on {port}"
        );
        let profile = TempDir::new("warden-chromium");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector).capabilities(caps).connect(&url).await.expect("a chromium session");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        eprintln!("console screenshots: {}", shots.display());
        Browser { client, driver, _profile: profile, shots, test, count: 0 }
    }

    /// Saves a screenshot of the window as `<test>-<n>-<name>.png`.
    async fn shot(&mut self, name: &str) {
        self.count += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{}-{:02}-{name}.png", self.test, self.count));
        std::fs::write(&path, png).expect("write screenshot");
    }

    /// Scrolls `css` into view, then saves a screenshot.
    async fn shot_of(&mut self, css: &str, name: &str) {
        let e = self.el(css).await;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'}); return true;",
                vec![serde_json::to_value(&e).expect("element as JSON")],
            )
            .await
            .unwrap_or_else(|e| panic!("scroll to `{css}`: {e}"));
        self.shot(name).await;
    }

    async fn el(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` within {WAIT:?}: {e}\npage: {}", self.body_text().await),
        }
    }

    async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn click(&self, css: &str) {
        self.el(css).await.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.el(css).await;
        e.clear().await.unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        e.send_keys(value).await.unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Sets a textarea's text at once (typing a whole policy key by key is slow) and tells the
    /// page it changed, as typing does.
    async fn set_text(&self, css: &str, value: &str) {
        let e = self.el(css).await;
        self.client
            .execute(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                vec![serde_json::to_value(&e).expect("element as JSON"), json!(value)],
            )
            .await
            .unwrap_or_else(|e| panic!("set `{css}`: {e}"));
    }

    /// Waits until the text of `css` satisfies `pred`; returns it.
    async fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                last = e.text().await.unwrap_or_default();
                if pred(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{css}` never showed {what}; last text: {last:?}\npage: {}", self.body_text().await);
    }

    async fn wait_contains(&self, css: &str, needle: &str) -> String {
        self.wait_text(css, needle, |t| t.contains(needle)).await
    }

    async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Signs in on the sign-in form with an access key.
    async fn sign_in(&mut self, base: &str, key: &str, secret: &str) {
        self.goto(&format!("{base}/console/")).await;
        self.el("form#signin").await;
        self.fill("#access-key-id", key).await;
        self.fill("#secret-access-key", secret).await;
        self.click("#signin-submit").await;
        self.wait_contains("#whoami", ":user/").await;
    }

    /// The value of the session cookie the browser holds (WebDriver reads HttpOnly cookies).
    async fn session_cookie(&self) -> String {
        let cookies = self.client.get_all_cookies().await.expect("cookies");
        cookies.iter().find(|c| c.name() == "warden-session").map(|c| c.value().to_owned()).expect("a session cookie")
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base(reg: &Registry) -> String {
    format!("http://{}", reg.host)
}

/// The AWS CLI's answer as JSON (it must succeed).
fn ecr(reg: &Registry, args: &[&str]) -> Value {
    let run = aws_ecr(&reg.host, args, None).ok();
    serde_json::from_str(&run.stdout).unwrap_or(Value::Null)
}

/// AWS's sentence for an implicit deny.
fn implicit_deny(user: &str, action: &str, repo: &str) -> String {
    format!(
        "User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: {action} on resource: arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo} because no identity-based policy allows the {action} action"
    )
}

/// Every form field has a label (or an aria-label), and the page has one `main`.
async fn assert_fields_labelled(b: &Browser, page: &str) {
    let unlabelled = b
        .js("return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
              .filter(e => e.offsetParent !== null && e.labels.length === 0 && !e.getAttribute('aria-label'))
              .map(e => e.id || e.name || e.outerHTML.slice(0, 80));")
        .await;
    assert_eq!(unlabelled, json!([]), "fields without a label on {page}");
    assert_eq!(b.js("return document.querySelectorAll('main').length;").await, json!(1), "one main on {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_pushes_retags_edits_policy_simulates_and_previews_lifecycle() {
    let _one = BROWSER.lock().await;
    let reg = Registry::warden();
    let base = base(&reg);
    let mut b = Browser::start("admin").await;

    // Sign-in page first: nothing else shows without a session.
    b.goto(&format!("{base}/console/")).await;
    b.el("form#signin").await;
    assert_fields_labelled(&b, "sign-in").await;
    b.shot("signin").await;
    // A wrong secret is refused next to the form, and the secret field is emptied.
    b.fill("#access-key-id", ADMIN_KEY).await;
    b.fill("#secret-access-key", "not-the-secret").await;
    b.click("#signin-submit").await;
    b.wait_contains("#signin-error", "not valid").await;
    assert_eq!(b.el("#secret-access-key").await.prop("value").await.unwrap().unwrap_or_default(), "");
    b.sign_in(&base, ADMIN_KEY, ADMIN_SECRET).await;
    assert_eq!(b.el("#whoami").await.text().await.unwrap(), format!("arn:aws:iam::{ACCOUNT}:user/admin"));

    // Create a repository with tags, immutability off, scan on push on.
    b.el("form#create-repo").await;
    assert_fields_labelled(&b, "repositories").await;
    b.fill("#new-repo-name", "web/app").await;
    b.el("#new-repo-scan").await.click().await.unwrap();
    b.set_text("#new-repo-tags", "team=web\nenvironment=dev").await;
    b.click("#create-repo-submit").await;
    b.el("tr[data-repo='web/app']").await;
    b.shot("repository-created").await;
    let described = ecr(&reg, &["describe-repositories", "--repository-names", "web/app"]);
    assert_eq!(described["repositories"][0]["imageScanningConfiguration"]["scanOnPush"], json!(true));
    assert_eq!(described["repositories"][0]["imageTagMutability"], json!("MUTABLE"));
    let tags = ecr(&reg, &["list-tags-for-resource", "--resource-arn", &Registry::repository_arn("web/app")]);
    let mut tags: Vec<(String, String)> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["Key"].as_str().unwrap().to_owned(), t["Value"].as_str().unwrap().to_owned()))
        .collect();
    tags.sort();
    assert_eq!(tags, vec![("environment".into(), "dev".into()), ("team".into(), "web".into())]);
    // A bad name is refused next to the form with ECR's message.
    b.fill("#new-repo-name", "Bad Name").await;
    b.click("#create-repo-submit").await;
    b.wait_contains("#create-repo-error", "repositoryName").await;

    // Push three images with skopeo; the repository page shows them.
    let work = TempDir::new("warden-console-img");
    let layout = OciLayout::init(work.path(), "img");
    let skopeo = Skopeo::new();
    let creds = reg.creds("admin");
    let mut digests = Vec::new();
    for (i, tag) in ["v1", "prod-1", "prod-2"].iter().enumerate() {
        layout.add_image(tag, &[1000 + i * 10], "amd64");
        let (run, digest) = skopeo.copy(
            &layout.reference(tag),
            &format!("docker://{}", reg.reference("web/app", tag)),
            None,
            creds.as_deref(),
            &[],
        );
        assert!(run.success(), "{run}");
        digests.push(digest);
        // Push times are in seconds: keep prod-1 strictly older than prod-2.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    b.goto(&format!("{base}/console/#/repositories")).await;
    b.el("tr[data-repo='web/app'] a.repo-link").await.click().await.unwrap();
    b.wait_contains("h1#repo-name", "web/app").await;
    for d in &digests {
        b.el(&format!("#image-table tr[data-digest='{d}']")).await;
    }
    let v1_row = format!("#image-table tr[data-digest='{}']", digests[0]);
    b.wait_contains(&v1_row, "v1").await;
    let pull = b.wait_contains(&format!("{v1_row} code.pull-command"), "docker pull").await;
    assert!(pull.contains(&format!("docker pull {}/web/app:v1", reg.host)), "{pull}");
    assert_fields_labelled(&b, "repository").await;
    b.shot("repository-images").await;

    // Retag v1 as stable: the same digest gets the new tag, as the registry tells skopeo.
    b.el(&format!("{v1_row} button.retag")).await.click().await.unwrap();
    b.fill("#retag-tag", "stable").await;
    b.click("#retag-submit").await;
    b.wait_contains(&v1_row, "stable").await;
    let inspected =
        skopeo.inspect(&format!("docker://{}", reg.reference("web/app", "stable")), creds.as_deref(), false).ok();
    let inspected: Value = serde_json::from_str(&inspected.stdout).unwrap();
    assert_eq!(inspected["Digest"], json!(digests[0]));
    b.shot("retagged").await;
    // The admin may change everything here: no read-only notice.
    assert!(!b.el("#access-notice").await.is_displayed().await.unwrap(), "the admin's page says read-only");

    // The repository policy: an invalid action is an ERROR finding with its line and column, and
    // nothing is saved; fixed, it saves, and the AWS CLI reads it back.
    b.click("#tab-policy").await;
    let invalid = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "PusherPushes",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:user/pusher"},
      "Action": ["ecr:PushImage", "ecr:BatchGetImage"]
    }
  ]
}"#;
    b.set_text("textarea#policy-editor", invalid).await;
    let finding = b.wait_contains("#policy-findings li.finding-error", "INVALID_ACTION").await;
    assert!(finding.contains("line 8, column 18"), "the finding points at ecr:PushImage: {finding}");
    assert_eq!(b.el("textarea#policy-editor").await.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    b.shot_of("#policy-findings", "policy-invalid").await;
    b.click("#policy-save").await;
    b.wait_text("#policy-error", "a refusal to save", |t| !t.is_empty()).await;
    let none = aws_ecr(&reg.host, &["get-repository-policy", "--repository-name", "web/app"], None).failed();
    assert!(none.stderr.contains("RepositoryPolicyNotFoundException"), "{none}");
    let fixed = invalid.replace("ecr:PushImage", "ecr:PutImage");
    b.set_text("textarea#policy-editor", &fixed).await;
    b.wait_text("#policy-findings", "no ERROR finding", |t| !t.contains("ERROR") && !t.contains("INVALID_ACTION"))
        .await;
    b.click("#policy-save").await;
    b.wait_text("#policy-status", "saved", |t| t.to_lowercase().contains("saved")).await;
    let stored = ecr(&reg, &["get-repository-policy", "--repository-name", "web/app"]);
    let stored: Value = serde_json::from_str(stored["policyText"].as_str().unwrap()).unwrap();
    assert_eq!(stored, serde_json::from_str::<Value>(&fixed).unwrap());
    b.shot_of("#policy-status", "policy-saved").await;
    // The guide's examples are templates.
    let options = b.count("select#policy-template option").await;
    assert!(options >= 8, "the guide's repository policy examples: {options} options");

    // The simulator: the reader may not push here, with AWS's sentence and what would allow it.
    b.click("#nav-simulate").await;
    b.fill("#sim-principal", &format!("arn:aws:iam::{ACCOUNT}:user/reader")).await;
    b.fill("#sim-action", "ecr:PutImage").await;
    b.fill("#sim-repository", "web/app").await;
    b.click("#sim-run").await;
    b.wait_contains("#sim-decision", "Denied").await;
    let message = b.wait_contains("#sim-message", "is not authorized").await;
    assert_eq!(message.trim(), implicit_deny("reader", "ecr:PutImage", "web/app"));
    assert!(b.count("ul#sim-suggestions li").await >= 1, "suggestions for a denied push");
    assert!(b.count("table#sim-statements tbody tr").await >= 1, "the statements considered");
    assert_fields_labelled(&b, "simulator").await;
    b.shot_of("#sim-message", "simulate-denied").await;
    // The pusher, named in the repository policy just saved, may.
    b.fill("#sim-principal", &format!("arn:aws:iam::{ACCOUNT}:user/pusher")).await;
    b.click("#sim-run").await;
    b.wait_contains("#sim-decision", "Allowed").await;

    // The lifecycle preview: keep one prod image; the older one expires by rule 1.
    b.goto(&format!("{base}/console/#/repository/web%2Fapp/lifecycle")).await;
    let keep_one_prod = r#"{"rules": [{"rulePriority": 1, "description": "keep one prod image",
      "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 1},
      "action": {"type": "expire"}}]}"#;
    b.set_text("textarea#lifecycle-editor", keep_one_prod).await;
    b.click("#lifecycle-preview").await;
    let expiring = format!("#lifecycle-preview-table tr.expiring[data-digest='{}']", digests[1]);
    b.el(&expiring).await;
    assert_eq!(b.el(&format!("{expiring} .rule")).await.text().await.unwrap().trim(), "1");
    assert_eq!(b.count("#lifecycle-preview-table tr.expiring").await, 1, "only prod-1 expires");
    b.el(&format!("#lifecycle-preview-table tr[data-digest='{}']", digests[2])).await;
    assert_fields_labelled(&b, "lifecycle").await;
    b.shot_of("#lifecycle-preview-table", "lifecycle-preview").await;
    // A preview changes nothing: every image is still there.
    let images = ecr(&reg, &["describe-images", "--repository-name", "web/app"]);
    assert_eq!(images["imageDetails"].as_array().unwrap().len(), 3);

    // The audit trail shows the console's calls as the admin's.
    b.click("#nav-trail").await;
    b.el("#trail-attr").await.select_by_value("EventName").await.unwrap();
    b.fill("#trail-value", "CreateRepository").await;
    b.click("#trail-search").await;
    let row = b.wait_contains("table#trail-table", "CreateRepository").await;
    assert!(row.contains("admin"), "{row}");
    b.shot("trail").await;

    // Who can push here: the admin, the pusher (by the repository policy), the ci role.
    b.click("#nav-who-can").await;
    b.fill("#who-action", "ecr:PutImage").await;
    b.fill("#who-repository", "web/app").await;
    b.click("#who-run").await;
    let who = b.wait_contains("table#who-table", "user/pusher").await;
    assert!(who.contains("user/admin") && !who.contains("user/reader"), "{who}");
    b.shot("who-can").await;

    // Keyboard: Tab from the page's start reaches the navigation, and the focus is visible.
    b.goto(&format!("{base}/console/#/repositories")).await;
    b.el("tr[data-repo='web/app']").await;
    b.js("document.activeElement.blur(); return true;").await;
    let mut reached = false;
    for _ in 0..15 {
        b.client.active_element().await.unwrap().send_keys("\u{E004}").await.unwrap();
        if b.js("return document.activeElement.id;").await == json!("nav-repositories") {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the navigation");
    let outline = b
        .js("const s = getComputedStyle(document.activeElement);
             return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none';")
        .await;
    assert_eq!(outline, json!(true), "the focused link shows its focus");

    // A narrow window: no page overflows sideways (wide tables scroll inside their own box).
    b.client.set_window_size(420, 900).await.unwrap();
    for (route, ready) in [
        ("#/repositories", "#repo-table"),
        ("#/repository/web%2Fapp", "#image-table"),
        ("#/repository/web%2Fapp/policy", "#policy-editor"),
        ("#/repository/web%2Fapp/lifecycle", "#lifecycle-editor"),
        ("#/simulate", "#sim-run"),
        ("#/trail", "#trail-search"),
        ("#/who-can", "#who-run"),
    ] {
        b.goto(&format!("{base}/console/{route}")).await;
        b.el(ready).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let overflow = b.js("return document.documentElement.scrollWidth - window.innerWidth;").await;
        assert!(overflow.as_i64().unwrap_or(999) <= 1, "{route} is wider than a narrow window: {overflow}");
    }
    b.goto(&format!("{base}/console/#/repository/web%2Fapp")).await;
    b.el("#image-table").await;
    b.shot("repository-narrow").await;
    b.client.set_window_size(1280, 900).await.unwrap();

    // Delete an image: it asks first, then the row goes, as the registry says.
    let prod2_row = format!("#image-table tr[data-digest='{}']", digests[2]);
    b.el(&format!("{prod2_row} button.delete-image")).await.click().await.unwrap();
    b.el("dialog#confirm[open]").await;
    b.click("#confirm-ok").await;
    let deadline = Instant::now() + WAIT;
    while b.count(&prod2_row).await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.count(&prod2_row).await, 0, "the deleted image is still listed");
    let images = ecr(&reg, &["describe-images", "--repository-name", "web/app"]);
    assert_eq!(images["imageDetails"].as_array().unwrap().len(), 2);

    // The list filters as one types.
    ecr(&reg, &["create-repository", "--repository-name", "other/thing"]);
    b.goto(&format!("{base}/console/#/repositories")).await;
    b.el("tr[data-repo='other/thing']").await;
    b.fill("#repo-filter", "web").await;
    b.wait_contains("#repo-list-status", "Showing 1 of 2").await;
    assert_eq!(b.count("tr[data-repo='other/thing']").await, 0, "the filter leaves other/thing out");
    assert_eq!(b.count("tr[data-repo='web/app']").await, 1);
    b.shot("repositories-filtered").await;

    // Deleting a repository that holds images needs "force": without it, ECR's refusal; with
    // it, the repository is gone.
    b.el("tr[data-repo='web/app'] button.delete-repo").await.click().await.unwrap();
    b.el("dialog#confirm[open]").await;
    b.click("#confirm-ok").await;
    b.wait_contains("#repo-list-error", "contains images").await;
    b.el("tr[data-repo='web/app'] button.delete-repo").await.click().await.unwrap();
    b.el("dialog#confirm[open]").await;
    b.click("#confirm-force").await;
    b.click("#confirm-ok").await;
    let deadline = Instant::now() + WAIT;
    while b.count("tr[data-repo='web/app']").await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.count("tr[data-repo='web/app']").await, 0, "the deleted repository is still listed");
    let gone = aws_ecr(&reg.host, &["describe-repositories", "--repository-names", "web/app"], None).failed();
    assert!(gone.stderr.contains("RepositoryNotFoundException"), "{gone}");

    // No secret in any page, nor in the server's log or the trail.
    let cookie = b.session_cookie().await;
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(ADMIN_SECRET), "the secret is in the page");
    let log = reg.full_log();
    assert!(!log.contains(ADMIN_SECRET) && !log.contains("not-the-secret"), "a secret is in the server log");
    assert!(!log.contains(&cookie), "the session token is in the server log");
    b.close().await;
    let created = Command::new(warden_bin())
        .args(["trail", "lookup", "--data-dir"])
        .arg(&reg.data_dir)
        .args(["--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateRepository"])
        .output()
        .expect("warden trail lookup");
    let created: Value = serde_json::from_slice(&created.stdout).expect("lookup output");
    let events: Vec<Value> = created["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap())
        .collect();
    // The refused name and the created repositories (web/app through the console, other/thing
    // through the AWS CLI), all the admin's.
    let mut names: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["requestParameters"]["repositoryName"],
                e["errorCode"],
                e["userAgent"].as_str().unwrap_or("").starts_with("aws-cli")
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            r#""Bad Name" "InvalidParameterException" false"#,
            r#""other/thing" null true"#,
            r#""web/app" null false"#,
        ]
    );
    for e in &events {
        assert_eq!(e["userIdentity"]["arn"], json!(format!("arn:aws:iam::{ACCOUNT}:user/admin")));
    }
    // Sign-ins are recorded as CloudTrail records console sign-ins: the wrong secret, then the
    // right one.
    let logins = Command::new(warden_bin())
        .args(["trail", "lookup", "--data-dir"])
        .arg(&reg.data_dir)
        .args(["--lookup-attributes", "AttributeKey=EventName,AttributeValue=ConsoleLogin"])
        .output()
        .expect("warden trail lookup");
    let logins: Value = serde_json::from_slice(&logins.stdout).expect("lookup output");
    let logins: Vec<Value> = logins["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap())
        .collect();
    // (Events of one second come in eventID order, not in the order they happened.)
    let mut outcomes: Vec<String> = logins
        .iter()
        .map(|e| {
            format!("{} {} {}", e["responseElements"]["ConsoleLogin"], e["errorMessage"], e["userIdentity"]["userName"])
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, vec![r#""Failure" "Failed authentication" "admin""#, r#""Success" null "admin""#]);
    for e in &logins {
        assert_eq!(
            (&e["eventSource"], &e["eventType"], &e["userIdentity"]["accessKeyId"]),
            (&json!("signin.amazonaws.com"), &json!("AwsConsoleSignIn"), &json!(ADMIN_KEY))
        );
    }
    let trail = trail_text(&reg.data_dir.join("trail"));
    assert!(trail.contains("SetRepositoryPolicy"), "the trail holds the console's calls");
    // The simulations and the trail lookup are recorded as IAM and CloudTrail record them.
    assert!(
        trail.contains(r#""eventSource":"iam.amazonaws.com","eventName":"SimulatePrincipalPolicy""#)
            && trail.contains(r#""eventSource":"cloudtrail.amazonaws.com","eventName":"LookupEvents""#)
            && trail.contains(r#""eventSource":"iam.amazonaws.com","eventName":"GetAccountAuthorizationDetails""#),
        "the console's tools are not in the trail"
    );
    assert!(!trail.contains(ADMIN_SECRET) && !trail.contains(&cookie), "a secret is in the trail");
}

/// Every record of a trail directory, as text (logs as they are, sealed files decompressed).
fn trail_text(dir: &std::path::Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "gz") {
                let mut text = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_string(&mut text).unwrap();
                out.push_str(&text);
            } else {
                out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_signed_in_with_a_registry_token_is_refused_with_awss_sentence() {
    let _one = BROWSER.lock().await;
    let reg = Registry::warden();
    reg.create_repository("team/api", &[("team", "apps")]);
    let base = base(&reg);
    let mut b = Browser::start("reader").await;
    let token = reg.password("reader");
    b.goto(&format!("{base}/console/")).await;
    b.el("form#signin").await;
    b.fill("#registry-token", &token).await;
    b.click("#signin-submit").await;
    b.wait_contains("#whoami", "user/reader").await;
    b.el("tr[data-repo='team/api']").await;
    b.shot("repositories").await;

    // Delete: refused with AWS's sentence next to the list, and the repository stays.
    b.el("tr[data-repo='team/api'] button.delete-repo").await.click().await.unwrap();
    b.el("dialog#confirm[open]").await;
    b.shot("confirm-delete").await;
    b.click("#confirm-ok").await;
    let refusal = b.wait_contains("#repo-list-error", "is not authorized").await;
    assert_eq!(refusal.trim(), implicit_deny("reader", "ecr:DeleteRepository", "team/api"));
    b.shot("delete-refused").await;
    let still = ecr(&reg, &["describe-repositories", "--repository-names", "team/api"]);
    assert_eq!(still["repositories"][0]["repositoryName"], json!("team/api"));

    // Saving a policy: refused the same way; reading works.
    b.goto(&format!("{base}/console/#/repository/team%2Fapi/policy")).await;
    // The page says it is read-only for this user, as the engine decides the user's own calls.
    b.wait_contains("#access-notice", "Read-only").await;
    b.set_text(
        "textarea#policy-editor",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/reader"}, "Action": "ecr:*"}]}"#,
    )
    .await;
    b.wait_text("#policy-findings", "no ERROR finding", |t| !t.contains("ERROR")).await;
    b.click("#policy-save").await;
    let refusal = b.wait_contains("#policy-error", "is not authorized").await;
    assert_eq!(refusal.trim(), implicit_deny("reader", "ecr:SetRepositoryPolicy", "team/api"));
    b.shot("policy-refused").await;

    // The simulator needs iam:SimulatePrincipalPolicy, which the reader lacks.
    b.click("#nav-simulate").await;
    b.fill("#sim-action", "ecr:PutImage").await;
    b.fill("#sim-repository", "team/api").await;
    b.click("#sim-run").await;
    let refusal = b.wait_contains("#sim-error", "is not authorized").await;
    assert!(
        refusal.contains(&format!(
            "User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: iam:SimulatePrincipalPolicy on resource: arn:aws:iam::{ACCOUNT}:user/reader"
        )),
        "{refusal}"
    );
    let log = reg.full_log();
    assert!(!log.contains(&token), "the registry token is in the server log");
    b.close().await;
}

/// How many requests to `path` the access log shows answered 403.
fn refusals(log: &str, path: &str) -> usize {
    // The log may be coloured: drop the escape sequences.
    let mut plain = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.lines().filter(|l| l.contains(&format!("path=\"{path}\"")) && l.contains("status=403")).count()
}

/// Serves `page` to every request on a loopback port of its own: another site.
fn serve_page(page: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(resp.as_bytes());
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused_and_sessions_expire() {
    let _one = BROWSER.lock().await;
    let reg = Registry::warden_args(&["--console-session-ttl", "6"]);
    let base = base(&reg);
    let mut b = Browser::start("csrf").await;
    b.sign_in(&base, ADMIN_KEY, ADMIN_SECRET).await;
    let signed_in_at = Instant::now();
    let cookie = b.session_cookie().await;

    // Another site's page posts forms to the console: a sign-in as the reader (login CSRF) and
    // an ECR call. Both are refused, and the admin's session is untouched.
    let attack = format!(
        r#"<!doctype html><title>elsewhere</title>
<form id="login" method="POST" action="{base}/console/api/signin" enctype="text/plain">
<input name='{{"accessKeyId":"{READER_KEY}","secretAccessKey":"{READER_SECRET}","x":"' value='"}}'></form>
<form id="create" method="POST" action="{base}/console/api/ecr" enctype="text/plain">
<input name='{{"repositoryName":"csrf-made","x":"' value='"}}'></form>"#
    );
    let port = serve_page(attack);
    // `localhost` is another site than `127.0.0.1`. The browser shows the refusal as an error
    // page; the server's access log says what it answered.
    for (form, path) in [("login", "/console/api/signin"), ("create", "/console/api/ecr")] {
        b.goto(&format!("http://localhost:{port}/")).await;
        let before = refusals(&reg.full_log(), path);
        b.js(&format!("document.getElementById('{form}').submit(); return true;")).await;
        assert!(
            wait_until(WAIT, || refusals(&reg.full_log(), path) > before),
            "the cross-site {form} post was not refused (403):\n{}",
            reg.full_log()
        );
        b.shot(&format!("cross-site-{form}")).await;
    }
    let none = aws_ecr(&reg.host, &["describe-repositories", "--repository-names", "csrf-made"], None).failed();
    assert!(none.stderr.contains("RepositoryNotFoundException"), "{none}");
    b.goto(&format!("{base}/console/#/repositories")).await;
    b.wait_contains("#whoami", "user/admin").await;
    assert_eq!(b.session_cookie().await, cookie, "the attacker's sign-in replaced the session");

    // The cookie alone is not enough for a write: the CSRF token must come with it.
    let headers = |csrf: Option<&str>| {
        let mut h = vec![
            ("Cookie".to_owned(), format!("warden-session={cookie}")),
            ("X-Amz-Target".to_owned(), "AmazonEC2ContainerRegistry_V20150921.CreateRepository".to_owned()),
            ("Content-Type".to_owned(), "application/x-amz-json-1.1".to_owned()),
        ];
        if let Some(c) = csrf {
            h.push(("X-Warden-Csrf".to_owned(), c.to_owned()));
        }
        h
    };
    let post = |csrf: Option<&str>, name: &str| {
        let h = headers(csrf);
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        http(&reg.host, "POST", "/console/api/ecr", &h, json!({"repositoryName": name}).to_string().as_bytes())
            .expect("http")
    };
    let r = post(None, "no-csrf");
    assert_eq!((r.status, r.json()["__type"].clone()), (403, json!("InvalidCsrfTokenException")), "{r}");
    let r = post(Some("forged"), "forged-csrf");
    assert_eq!((r.status, r.json()["__type"].clone()), (403, json!("InvalidCsrfTokenException")), "{r}");
    let session =
        http(&reg.host, "GET", "/console/api/session", &[("Cookie", &format!("warden-session={cookie}"))], b"")
            .expect("http");
    let csrf = session.json()["csrfToken"].as_str().expect("a CSRF token").to_owned();
    let r = post(Some(&csrf), "with-csrf");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json()["repository"]["repositoryName"], json!("with-csrf"));
    // Another origin with the right token is still refused.
    let h = headers(Some(&csrf));
    let mut h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let origin = format!("http://localhost:{port}");
    h.push(("Origin", &origin));
    let r = http(&reg.host, "POST", "/console/api/ecr", &h, br#"{"repositoryName":"other-origin"}"#).expect("http");
    assert_eq!(r.status, 403, "{r}");

    // Expiry: after the session's lifetime the page asks to sign in again, and the cookie is
    // refused as expired.
    let left = Duration::from_secs(7).saturating_sub(signed_in_at.elapsed());
    tokio::time::sleep(left).await;
    b.click("#nav-simulate").await;
    b.click("#nav-repositories").await;
    b.wait_contains("#signin-notice", "expired").await;
    b.el("form#signin").await;
    b.shot("session-expired").await;
    let r = http(&reg.host, "GET", "/console/api/session", &[("Cookie", &format!("warden-session={cookie}"))], b"")
        .expect("http");
    assert_eq!((r.status, r.json()["__type"].clone()), (401, json!("ExpiredTokenException")), "{r}");
    // Signing in again returns to where the user was.
    b.fill("#access-key-id", ADMIN_KEY).await;
    b.fill("#secret-access-key", ADMIN_SECRET).await;
    b.click("#signin-submit").await;
    b.el("tr[data-repo='with-csrf']").await;
    // Sign-out ends the session on the server, not only in the browser.
    let cookie = b.session_cookie().await;
    b.click("#signout").await;
    b.el("form#signin").await;
    let r = http(&reg.host, "GET", "/console/api/session", &[("Cookie", &format!("warden-session={cookie}"))], b"")
        .expect("http");
    assert_eq!(r.status, 401, "{r}");
    b.close().await;
}

/// Signs in over HTTP: the session cookie and its CSRF token.
fn http_sign_in(reg: &Registry, key: &str, secret: &str) -> (String, String) {
    let body = json!({"accessKeyId": key, "secretAccessKey": secret}).to_string();
    let r = http(&reg.host, "POST", "/console/api/signin", &[("Content-Type", "application/json")], body.as_bytes())
        .expect("http");
    assert_eq!(r.status, 200, "{r}");
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .and_then(|c| c.strip_prefix("warden-session="))
        .expect("a session cookie")
        .to_owned();
    let set = r.header("set-cookie").unwrap_or_default().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=900"] {
        assert!(set.contains(attribute), "the cookie lacks {attribute}: {set}");
    }
    (cookie, r.json()["csrfToken"].as_str().expect("csrfToken").to_owned())
}

/// The `Set-Cookie` of a sign-in as the admin.
fn http_sign_in_cookie_header(reg: &Registry) -> String {
    let body = json!({"accessKeyId": ADMIN_KEY, "secretAccessKey": ADMIN_SECRET}).to_string();
    let r = http(&reg.host, "POST", "/console/api/signin", &[("Content-Type", "application/json")], body.as_bytes())
        .expect("http");
    r.header("set-cookie").unwrap_or_default().to_owned()
}

#[test]
fn the_console_api_refuses_hostile_and_malformed_input_with_clear_errors() {
    let reg = Registry::warden();
    let (cookie, csrf) = http_sign_in(&reg, ADMIN_KEY, ADMIN_SECRET);
    let session = format!("warden-session={cookie}");
    let tool = |name: &str, body: &[u8]| {
        http(
            &reg.host,
            "POST",
            &format!("/console/api/{name}"),
            &[("Cookie", &session), ("X-Warden-Csrf", &csrf), ("Content-Type", "application/json")],
            body,
        )
        .expect("http")
    };
    let code = |r: &support::HttpResponse| (r.status, r.json()["__type"].as_str().unwrap_or("").to_owned());

    // Sizes are bounded before anything is parsed.
    let huge = json!({"policyText": "x".repeat(200 * 1024)}).to_string();
    assert_eq!(code(&tool("validate", huge.as_bytes())), (400, "InvalidParameterException".into()));
    let r = http(
        &reg.host,
        "POST",
        "/console/api/signin",
        &[("Content-Type", "application/json")],
        json!({"accessKeyId": "x".repeat(20 * 1024), "secretAccessKey": "y"}).to_string().as_bytes(),
    )
    .expect("http");
    assert_eq!(code(&r), (400, "ValidationException".into()));
    // Malformed and ambiguous sign-ins.
    for body in [
        &b"not json"[..],
        br#"{"accessKeyId":"a"}"#,
        br#"{"accessKeyId":"a","secretAccessKey":"b","registryToken":"c"}"#,
    ] {
        let r = http(&reg.host, "POST", "/console/api/signin", &[("Content-Type", "application/json")], body)
            .expect("http");
        assert_eq!(code(&r), (400, "ValidationException".into()), "{}", String::from_utf8_lossy(body));
    }
    // A sign-in that is not JSON (a plain form could send it) is refused before anything else.
    let r = http(
        &reg.host,
        "POST",
        "/console/api/signin",
        &[("Content-Type", "text/plain")],
        json!({"accessKeyId": ADMIN_KEY, "secretAccessKey": ADMIN_SECRET}).to_string().as_bytes(),
    )
    .expect("http");
    assert_eq!(code(&r), (415, "ValidationException".into()), "{r}");
    // An unknown key and a wrong secret get the same answer.
    let unknown = http(
        &reg.host,
        "POST",
        "/console/api/signin",
        &[("Content-Type", "application/json")],
        json!({"accessKeyId": "AKIAUNKNOWNKEY000000", "secretAccessKey": ADMIN_SECRET}).to_string().as_bytes(),
    )
    .expect("http");
    let wrong = http(
        &reg.host,
        "POST",
        "/console/api/signin",
        &[("Content-Type", "application/json")],
        json!({"accessKeyId": ADMIN_KEY, "secretAccessKey": "wrong"}).to_string().as_bytes(),
    )
    .expect("http");
    assert_eq!((code(&unknown), unknown.json()["message"].clone()), (code(&wrong), wrong.json()["message"].clone()));
    assert_eq!(code(&wrong), (401, "UnrecognizedClientException".into()));

    // Repository names are validated once, whatever their spelling.
    for name in ["../etc", "a%2Fb", "A/B", "", "web/../app", "x//y"] {
        let body = json!({"principal": format!("arn:aws:iam::{ACCOUNT}:user/reader"), "action": "ecr:PutImage", "repositoryName": name});
        let r = tool("who-can", json!({"action": "ecr:PutImage", "repositoryName": name}).to_string().as_bytes());
        assert_eq!(code(&r), (400, "InvalidParameterException".into()), "who-can {name:?}: {r}");
        if !name.is_empty() {
            let r = tool("simulate", body.to_string().as_bytes());
            assert_eq!(code(&r), (400, "InvalidParameterException".into()), "simulate {name:?}: {r}");
        }
    }
    // Unknown principals, tools, fields and too many context keys.
    let r = tool(
        "simulate",
        json!({"principal": "arn:aws:iam::111122223333:user/nobody", "action": "ecr:PutImage"}).to_string().as_bytes(),
    );
    assert_eq!(code(&r), (404, "NoSuchEntity".into()), "{r}");
    // Only the console's own ECR operations: no registry tokens, no layer uploads.
    for operation in ["GetAuthorizationToken", "InitiateLayerUpload", "UploadLayerPart", "Nope"] {
        let target = format!("AmazonEC2ContainerRegistry_V20150921.{operation}");
        let r = http(
            &reg.host,
            "POST",
            "/console/api/ecr",
            &[
                ("Cookie", &session),
                ("X-Warden-Csrf", &csrf),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", &target),
            ],
            br#"{"repositoryName":"x"}"#,
        )
        .expect("http");
        assert_eq!(code(&r), (400, "UnknownOperationException".into()), "{operation}: {r}");
    }
    // A method a route does not take is refused before authorization.
    let r = http(&reg.host, "GET", "/console/api/ecr", &[("Cookie", &session)], b"").expect("http");
    assert_eq!(r.status, 405, "{r}");
    // A policy longer than any the console saves gets one finding, not a pairwise comparison of
    // hundreds of statements.
    let statement = r#"{"Effect":"Allow","Action":"*","Resource":"*"},"#;
    let long = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}{{"Effect":"Allow","Action":"*","Resource":"*"}}]}}"#,
        statement.repeat(400)
    );
    let r = tool("validate", json!({"policyText": long, "policyType": "identity"}).to_string().as_bytes());
    assert_eq!((r.status, r.json()["findings"][0]["issueCode"].clone()), (200, json!("POLICY_SIZE_EXCEEDED")), "{r}");
    assert_eq!(code(&tool("nope", b"{}")), (404, "UnknownOperationException".into()));
    let r = tool("validate", br#"{"policyText": "{}", "extra": 1}"#);
    assert_eq!(code(&r), (400, "InvalidParameterException".into()), "{r}");
    let context: Vec<Value> =
        (0..51).map(|i| json!({"key": format!("aws:PrincipalTag/k{i}"), "values": ["v"]})).collect();
    let r = tool(
        "simulate",
        json!({"principal": format!("arn:aws:iam::{ACCOUNT}:user/reader"), "action": "ecr:PutImage", "context": context})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(code(&r), (400, "InvalidParameterException".into()), "{r}");
    // A well-formed simulation answers.
    let r = tool(
        "simulate",
        json!({"principal": format!("arn:aws:iam::{ACCOUNT}:user/reader"), "action": "ecr:BatchGetImage",
               "context": [{"key": "aws:SourceIp", "values": ["10.0.0.1"]}]})
        .to_string()
        .as_bytes(),
    );
    assert_eq!((r.status, r.json()["decision"].clone()), (200, json!("allowed")), "{r}");

    // Credentials are not interchangeable: a tampered session, a registry password as a session,
    // and a session as a registry password are all refused.
    let mut tampered = cookie.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let password = reg.password("admin");
    for value in [tampered.as_str(), password.as_str()] {
        let r = http(&reg.host, "GET", "/console/api/session", &[("Cookie", &format!("warden-session={value}"))], b"")
            .expect("http");
        assert_eq!(code(&r), (401, "MissingAuthenticationTokenException".into()), "{r}");
    }
    let r = http(&reg.host, "GET", "/v2/", &[("Authorization", &support::basic(&format!("AWS:{cookie}")))], b"")
        .expect("http");
    assert_eq!(r.status, 401, "a console session is not a registry password: {r}");

    // Behind a TLS proxy, the cookie is marked Secure.
    let tls = Registry::warden_args(&["--console-secure-cookie"]);
    let r = http(
        &tls.host,
        "POST",
        "/console/api/signin",
        &[("Content-Type", "application/json")],
        json!({"accessKeyId": ADMIN_KEY, "secretAccessKey": ADMIN_SECRET}).to_string().as_bytes(),
    )
    .expect("http");
    assert!(r.header("set-cookie").unwrap_or_default().ends_with("; Secure"), "{r}");
    assert!(!http_sign_in_cookie_header(&reg).contains("Secure"), "Secure only when asked");

    // Assets: only the three files, with the console's security headers.
    let page = http(&reg.host, "GET", "/console/", &[], b"").expect("http");
    assert_eq!(page.status, 200);
    assert!(page.header("content-security-policy").unwrap_or_default().contains("default-src 'self'"), "{page}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        !page.text().contains("http://") && !page.text().contains("https://"),
        "the page loads nothing from elsewhere"
    );
    for path in ["/console/assets/..%2Fsession.rs", "/console/assets/%2e%2e%2fmod.rs", "/console/assets/CONTRACT.md"] {
        assert_eq!(http(&reg.host, "GET", path, &[], b"").expect("http").status, 404, "{path}");
    }
}
