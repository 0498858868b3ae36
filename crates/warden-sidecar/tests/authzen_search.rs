//! The AuthZEN Search APIs over real HTTP: the spec's examples adapted to IAM and ECR ("which
//! subjects can PutImage on this repository", "which actions may this read-only user perform",
//! "on which repositories may this pusher PutImage"), pagination, errors, and agreement of every
//! subject found with `/access/v1/evaluation`. Section names are those of
//! <https://openid.net/specs/authorization-api-1_0.html>.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::TestServer;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const TEAM_REPO: &str = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";
const TEAM_PATTERN: &str = "arn:aws:ecr:us-east-1:111122223333:repository/team/*";

fn user(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// A small identity store of ECR users and roles with different policies.
fn store() -> Value {
    let allow = |sid: &str, action: Value, resource: &str| json!({"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}]});
    let mut users = serde_json::Map::new();
    users.insert("reader".into(), json!({"attached_policies": ["AmazonEC2ContainerRegistryReadOnly"]}));
    users.insert(
        "pusher".into(),
        json!({"inline_policies": {"Push": allow("PushTeam", json!(["ecr:PutImage", "ecr:InitiateLayerUpload"]), TEAM_PATTERN)}}),
    );
    users.insert(
        "office".into(),
        json!({"inline_policies": {"PushFromOffice": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "ecr:PutImage", "Resource": TEAM_PATTERN,
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}}}),
    );
    users.insert(
        "admin-but-not-team".into(),
        json!({"inline_policies": {"Admin": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "ecr:PutImage", "Resource": TEAM_PATTERN}]}}}),
    );
    // Pushers enough for several pages.
    for i in 0..7 {
        users.insert(format!("p{i}"), json!({"inline_policies": {"Push": allow("Push", json!("ecr:PutImage"), "*")}}));
    }
    json!({
        "account": ACCOUNT,
        "users": users,
        "roles": {
            "ci": {"attached_policies": ["AmazonEC2ContainerRegistryPowerUser"]},
            "viewer": {"attached_policies": ["AmazonEC2ContainerRegistryReadOnly"]}
        }
    })
}

async fn server() -> TestServer {
    let dir = common::temp_dir("search-store");
    std::fs::create_dir_all(dir.join("identities")).unwrap();
    std::fs::write(dir.join("identities/ecr.json"), store().to_string()).unwrap();
    std::fs::write(dir.join("routes.json"), "[]").unwrap();
    TestServer::start_with(move |c| c.policies = dir).await
}

fn subject_search(action: &str, resource: &str, context: Option<Value>, page: Option<Value>) -> Value {
    let mut body = json!({
        "subject": {"type": "iam_principal"},
        "action": {"name": action},
        "resource": {"type": "ecr_repository", "id": resource},
    });
    if let Some(c) = context {
        body["context"] = c;
    }
    if let Some(p) = page {
        body["page"] = p;
    }
    body
}

fn ids(body: &Value) -> Vec<String> {
    let results = body["results"].as_array().unwrap_or_else(|| panic!("{body}"));
    results.iter().map(|r| r["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()).collect()
}

/// Every page of a search, following `next_token`: the ids in order, and the page count.
async fn all_pages(s: &TestServer, path: &str, mut body: Value, key: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = s.post(path, &body).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let results = page["results"].as_array().unwrap();
        assert_eq!(page["page"]["count"], results.len());
        out.extend(results.iter().map(|r| r[key].as_str().unwrap().to_owned()));
        let token = page["page"]["next_token"].as_str().unwrap();
        if token.is_empty() {
            return (out, pages);
        }
        assert!(!results.is_empty(), "a page before the last one is not empty");
        body["page"]["token"] = json!(token);
        assert!(pages < 100);
    }
}

/// § "Subject Search API": which subjects can `ecr:PutImage` on the team repository. The
/// conditional subject is found only when the context carries an address in its range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_that_can_push_to_a_repository() {
    let s = server().await;
    let mut expected: Vec<String> = (0..7).map(|i| user(&format!("p{i}"))).collect();
    expected.push(user("pusher"));
    expected.push(format!("arn:aws:iam::{ACCOUNT}:role/ci"));
    expected.sort();

    let resp = s
        .client
        .post(s.url("/access/v1/search/subject"))
        .header("x-request-id", "search-1")
        .json(&subject_search("ecr:PutImage", TEAM_REPO, None, Some(json!({"limit": 1000}))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "search-1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(ids(&body), expected, "{body}");
    assert_eq!(body["page"]["next_token"], "");
    assert_eq!(body["results"][0]["type"], "iam_principal");
    assert!(body["results"].as_array().unwrap().iter().any(|r| r["properties"]["kind"] == "role"));

    // From the office: the conditional user too; from elsewhere: not.
    for (ip, office) in [("203.0.113.9", true), ("198.51.100.1", false)] {
        let context = json!({"aws:SourceIp": ip});
        let body = subject_search("ecr:PutImage", TEAM_REPO, Some(context), Some(json!({"limit": 1000})));
        let (status, answer) = s.post("/access/v1/search/subject", &body).await;
        assert_eq!(status, 200, "{answer}");
        let found = ids(&answer);
        assert_eq!(found.contains(&user("office")), office, "{ip}: {found:?}");
        assert!(!found.contains(&user("admin-but-not-team")), "the explicit deny wins");
        assert!(!found.contains(&user("reader")));
    }
    // The spec's `subject.id` is ignored when present.
    let mut body = subject_search("ecr:PutImage", TEAM_REPO, None, Some(json!({"limit": 1000})));
    body["subject"]["id"] = json!("ignored");
    let (_, answer) = s.post("/access/v1/search/subject", &body).await;
    assert_eq!(ids(&answer), expected);
    s.stop().await;
}

/// § "Subject Search Semantics": every subject returned evaluates to `true` with
/// `/access/v1/evaluation`, and every identity not returned to `false`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subject_found_is_allowed_by_evaluation() {
    let s = server().await;
    let mut all: Vec<String> =
        ["reader", "pusher", "office", "admin-but-not-team", "p0", "p3", "p6"].into_iter().map(user).collect();
    all.push(format!("arn:aws:iam::{ACCOUNT}:role/ci"));
    all.push(format!("arn:aws:iam::{ACCOUNT}:role/viewer"));
    for (action, resource, context) in [
        ("ecr:PutImage", TEAM_REPO, json!({"aws:SourceIp": "203.0.113.9"})),
        ("ecr:PutImage", "arn:aws:ecr:us-east-1:111122223333:repository/other", json!({})),
        ("ecr:BatchGetImage", TEAM_REPO, json!({})),
        ("ecr:DeleteRepository", TEAM_REPO, json!({})),
    ] {
        let body = subject_search(action, resource, Some(context.clone()), Some(json!({"limit": 1000})));
        let (status, answer) = s.post("/access/v1/search/subject", &body).await;
        assert_eq!(status, 200, "{answer}");
        let found: BTreeSet<String> = ids(&answer).into_iter().collect();
        assert!(!found.is_empty(), "{action} {resource}");
        let mut candidates: BTreeSet<String> = all.iter().cloned().collect();
        candidates.extend(found.iter().cloned());
        for subject in candidates {
            let eval = json!({"subject": {"type": "iam_principal", "id": subject}, "action": {"name": action},
                              "resource": {"type": "ecr_repository", "id": resource}, "context": context});
            let (_, decision) = s.post("/access/v1/evaluation", &eval).await;
            assert_eq!(decision["decision"], found.contains(&subject), "{action} {resource} {subject}: {decision}");
        }
    }
    s.stop().await;
}

/// § "Paged requests": small pages, followed by `next_token`, give the same results as one
/// large page, in order, without duplicates or gaps; a token is bound to its request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_have_no_duplicates_or_gaps() {
    let s = server().await;
    let whole = {
        let body = subject_search("ecr:PutImage", TEAM_REPO, None, Some(json!({"limit": 1000})));
        ids(&s.post("/access/v1/search/subject", &body).await.1)
    };
    assert_eq!(whole.len(), 9);
    for limit in [1, 2, 4, 8, 9, 10] {
        let body = subject_search("ecr:PutImage", TEAM_REPO, None, Some(json!({"limit": limit})));
        let (paged, pages) = all_pages(&s, "/access/v1/search/subject", body, "id").await;
        assert_eq!(paged, whole, "limit {limit}");
        assert_eq!(pages, whole.len().div_ceil(limit), "limit {limit}");
    }
    // Actions, paged too.
    let body = json!({"subject": {"type": "iam_principal", "id": user("reader")},
                      "resource": {"type": "ecr_repository", "id": TEAM_REPO}});
    let (one, _) = all_pages(&s, "/access/v1/search/action", body.clone(), "name").await;
    let mut small = body.clone();
    small["page"] = json!({"limit": 5});
    let (paged, pages) = all_pages(&s, "/access/v1/search/action", small, "name").await;
    assert_eq!(paged, one);
    assert_eq!(pages, 3);

    // The token of one search is refused by another request, and garbage is refused.
    let body = subject_search("ecr:PutImage", TEAM_REPO, None, Some(json!({"limit": 2})));
    let (_, first) = s.post("/access/v1/search/subject", &body).await;
    let token = first["page"]["next_token"].as_str().unwrap().to_owned();
    let other = subject_search("ecr:BatchGetImage", TEAM_REPO, None, Some(json!({"limit": 2, "token": token})));
    let (status, error) = s.post("/access/v1/search/subject", &other).await;
    assert_eq!(status, 400);
    assert!(error.as_str().unwrap().starts_with("page.token: "), "{error}");
    let elsewhere = json!({"subject": {"type": "iam_principal", "id": user("reader")},
                           "resource": {"type": "ecr_repository", "id": TEAM_REPO}, "page": {"token": token}});
    let (status, error) = s.post("/access/v1/search/action", &elsewhere).await;
    assert_eq!(status, 400);
    assert!(error.as_str().unwrap().starts_with("page.token: "), "{error}");
    let mut garbage = body.clone();
    garbage["page"]["token"] = json!("not-a-token");
    assert_eq!(s.post("/access/v1/search/subject", &garbage).await.0, 400);
    // The draft's request form, `page.next_token`, is accepted.
    let mut draft = body.clone();
    draft["page"] = json!({"limit": 2, "next_token": token});
    let (status, second) = s.post("/access/v1/search/subject", &draft).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&second), whole[2..4]);
    s.stop().await;
}

/// § "Action Search API": a read-only user may do exactly the read actions of
/// AmazonEC2ContainerRegistryReadOnly on a repository; the pusher its two actions on its own
/// repositories and none elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_of_a_read_only_user() {
    let s = server().await;
    let search = |who: &str, resource: &str| {
        json!({"subject": {"type": "iam_principal", "id": user(who)},
               "resource": {"type": "ecr_repository", "id": resource},
               "context": {"time": "2024-10-26T01:22-07:00"}})
    };
    let (status, body) = s.post("/access/v1/search/action", &search("reader", TEAM_REPO)).await;
    assert_eq!(status, 200, "{body}");
    let names: BTreeSet<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    let expected: BTreeSet<&str> = [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings",
    ]
    .into_iter()
    .collect();
    assert_eq!(names, expected, "{body}");
    assert_eq!(body["page"]["next_token"], "");

    let (_, body) = s.post("/access/v1/search/action", &search("pusher", TEAM_REPO)).await;
    let names: Vec<&str> = body["results"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ecr:InitiateLayerUpload", "ecr:PutImage"]);
    let other = "arn:aws:ecr:us-east-1:111122223333:repository/other";
    let (_, body) = s.post("/access/v1/search/action", &search("pusher", other)).await;
    assert_eq!(body["results"], json!([]));
    // Every action found evaluates to true.
    let (_, body) = s.post("/access/v1/search/action", &search("admin-but-not-team", TEAM_REPO)).await;
    let names: Vec<&str> = body["results"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"ecr:PutImage") && names.contains(&"ecr:DeleteRepository"), "{names:?}");
    // A subject the store does not know may do nothing.
    let (status, body) = s.post("/access/v1/search/action", &search("nobody", TEAM_REPO)).await;
    assert_eq!((status, &body["results"]), (200, &json!([])));
    s.stop().await;
}

/// § "Resource Search API": the ARN pattern under which the pusher may `ecr:PutImage`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_are_arn_patterns() {
    let s = server().await;
    let search = |who: &str, action: &str| {
        json!({"subject": {"type": "iam_principal", "id": user(who)}, "action": {"name": action},
               "resource": {"type": "ecr_repository"}})
    };
    let (status, body) = s.post("/access/v1/search/resource", &search("pusher", "ecr:PutImage")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [TEAM_PATTERN], "{body}");
    let result = &body["results"][0];
    assert_eq!(result["type"], "arn_pattern");
    assert_eq!(result["properties"]["resourceType"], "ecr_repository");
    assert_eq!(result["properties"]["always"], true);
    // Its example is a concrete resource the evaluator allows.
    let example = result["properties"]["example"].as_str().unwrap();
    let eval = json!({"subject": {"type": "iam_principal", "id": user("pusher")}, "action": {"name": "ecr:PutImage"},
                      "resource": {"type": "ecr_repository", "id": example}});
    assert_eq!(s.post("/access/v1/evaluation", &eval).await.1["decision"], true);

    // Not an action it has: nothing.
    let (_, body) = s.post("/access/v1/search/resource", &search("pusher", "ecr:DeleteRepository")).await;
    assert_eq!(body["results"], json!([]));
    // The read-only user reads everywhere.
    let (_, body) = s.post("/access/v1/search/resource", &search("reader", "ecr:BatchGetImage")).await;
    assert_eq!(ids(&body), ["*"]);
    // The office user only from the office.
    let mut office = search("office", "ecr:PutImage");
    let (_, body) = s.post("/access/v1/search/resource", &office).await;
    assert_eq!(body["results"], json!([]));
    office["context"] = json!({"aws:SourceIp": "203.0.113.9"});
    let (_, body) = s.post("/access/v1/search/resource", &office).await;
    assert_eq!(ids(&body), [TEAM_PATTERN]);
    assert_eq!(body["results"][0]["properties"]["always"], false);
    s.stop().await;
}

/// § "Error Responses": malformed searches are 400 with an error message string naming the
/// member; the metadata names the three search endpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_searches_and_the_metadata() {
    let s = server().await;
    let subject = json!({"type": "iam_principal", "id": user("reader")});
    let repo = json!({"type": "ecr_repository", "id": TEAM_REPO});
    for (path, body, field) in [
        ("/access/v1/search/subject", json!({"action": {"name": "ecr:PutImage"}, "resource": repo}), "subject"),
        (
            "/access/v1/search/subject",
            json!({"subject": {"id": "x"}, "action": {"name": "ecr:PutImage"}, "resource": repo}),
            "subject.type",
        ),
        ("/access/v1/search/subject", json!({"subject": {"type": "u"}, "resource": repo}), "action"),
        (
            "/access/v1/search/subject",
            json!({"subject": {"type": "u"}, "action": {"name": "PutImage"}, "resource": repo}),
            "action.name",
        ),
        (
            "/access/v1/search/subject",
            json!({"subject": {"type": "u"}, "action": {"name": "ecr:PutImage"}, "resource": {"type": "r"}}),
            "resource.id",
        ),
        (
            "/access/v1/search/subject",
            json!({"subject": {"type": "u"}, "action": {"name": "ecr:PutImage"}, "resource": {"type": "r", "id": "nope"}}),
            "resource.id",
        ),
        (
            "/access/v1/search/subject",
            json!({"subject": {"type": "u"}, "action": {"name": "ecr:PutImage"}, "resource": repo, "page": {"limit": 0}}),
            "page.limit",
        ),
        (
            "/access/v1/search/subject",
            json!({"subject": {"type": "u"}, "action": {"name": "ecr:PutImage"}, "resource": repo, "page": {"limit": "x"}}),
            "page.limit",
        ),
        ("/access/v1/search/action", json!({"subject": {"type": "u"}, "resource": repo}), "subject.id"),
        (
            "/access/v1/search/action",
            json!({"subject": subject, "resource": repo, "context": {"aws:SourceIp": {"type": "ip", "values": ["x"]}}}),
            "context.aws:SourceIp",
        ),
        ("/access/v1/search/resource", json!({"subject": subject, "resource": {"type": "r"}}), "action"),
        (
            "/access/v1/search/resource",
            json!({"subject": subject, "action": {"name": 3}, "resource": {"type": "r"}}),
            "action.name",
        ),
        ("/access/v1/search/resource", json!("x"), "body"),
    ] {
        let (status, error) = s.post(path, &body).await;
        assert_eq!(status, 400, "{path} {body}: {error}");
        let message = error.as_str().unwrap_or_else(|| panic!("{error}"));
        assert!(message.starts_with(&format!("{field}: ")), "{path} {body}: {message}");
    }
    let resp = s
        .client
        .post(s.url("/access/v1/search/action"))
        .body("{")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);

    let (_, text) = s.get_text("/.well-known/authzen-configuration").await;
    let meta: Value = serde_json::from_str(&text).unwrap();
    let base = format!("http://{}", s.addr);
    for (key, path) in [
        ("search_subject_endpoint", "/access/v1/search/subject"),
        ("search_resource_endpoint", "/access/v1/search/resource"),
        ("search_action_endpoint", "/access/v1/search/action"),
    ] {
        assert_eq!(meta[key], format!("{base}{path}"));
    }
    s.stop().await;
}
