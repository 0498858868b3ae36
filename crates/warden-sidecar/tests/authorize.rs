//! `POST /v1/authorize` and `/v1/authorize/batch` over real HTTP.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{TestServer, ALICE, BOB, NOTE};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_explicit_deny_and_implicit_deny_answer_as_aws() {
    let s = TestServer::start().await;

    let allowed = s.authorize(BOB, "notes:GetNote", &format!("{NOTE}public/todo")).await;
    assert_eq!(allowed["decision"], "Allow");
    assert_eq!(allowed["reason"], "allowed");
    assert_eq!(allowed["matchedStatements"][0]["policyId"], "NotesReadPublic");
    assert_eq!(allowed["matchedStatements"][0]["policyType"], "user-managed");
    assert_eq!(allowed["matchedStatements"][0]["sid"], "ReadPublicNotes");
    assert!(allowed["matchedStatements"][0]["startPosition"]["line"].as_u64().unwrap() >= 1);
    assert!(allowed["matchedStatements"][0]["endPosition"]["column"].as_u64().unwrap() >= 1);
    assert!(allowed.get("message").is_none(), "{allowed}");

    let explicit = s.authorize(ALICE, "notes:DeleteNote", &format!("{NOTE}alice/todo")).await;
    assert_eq!(explicit["decision"], "Deny");
    assert_eq!(explicit["reason"], "explicitDeny");
    assert_eq!(explicit["matchedStatements"][0]["sid"], "NeverDeleteNotes");
    assert_eq!(
        explicit["message"],
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: notes:DeleteNote on resource: \
         arn:aws:notes:us-east-1:111122223333:note/alice/todo with an explicit deny in an identity-based policy"
    );

    let implicit = s.authorize(BOB, "notes:GetNote", &format!("{NOTE}private/plan")).await;
    assert_eq!(implicit["decision"], "Deny");
    assert_eq!(implicit["reason"], "implicitDeny");
    assert_eq!(implicit["matchedStatements"], json!([]));
    assert_eq!(
        implicit["message"],
        "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: notes:GetNote on resource: \
         arn:aws:notes:us-east-1:111122223333:note/private/plan because no identity-based policy allows the \
         notes:GetNote action"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_keys_are_filled_and_request_keys_come_from_the_client() {
    let s = TestServer::start().await;
    // `${aws:username}` in WriteOwnNotes resolves only because the sidecar fills aws:username.
    assert_eq!(s.authorize(ALICE, "notes:PutNote", &format!("{NOTE}alice/todo")).await["reason"], "allowed");
    assert_eq!(s.authorize(ALICE, "notes:PutNote", &format!("{NOTE}bob/todo")).await["reason"], "implicitDeny");

    // aws:SourceIp is not filled: reported missing until the client sends it.
    let missing = s.authorize(ALICE, "notes:ShareNote", "*").await;
    assert_eq!(missing["reason"], "implicitDeny");
    assert_eq!(missing["missingContextKeys"], json!(["aws:SourceIp"]));
    let ctx = |ip: &str| {
        json!({"principal": ALICE, "action": "notes:ShareNote", "resource": "*",
               "context": [{"key": "aws:SourceIp", "type": "ip", "values": [ip]}]})
    };
    let (_, office) = s.post("/v1/authorize", &ctx("203.0.113.9")).await;
    assert_eq!(office["reason"], "allowed", "{office}");
    assert_eq!(office["matchedStatements"][0]["sid"], "ShareFromTheOffice");
    let (_, home) = s.post("/v1/authorize", &ctx("198.51.100.1")).await;
    assert_eq!(home["reason"], "implicitDeny");
    assert_eq!(home["missingContextKeys"], json!([]));

    // A sent key shadows a filled one.
    let (_, spoofed) = s
        .post(
            "/v1/authorize",
            &json!({"principal": ALICE, "action": "notes:PutNote", "resource": format!("{NOTE}bob/x"),
                    "context": [{"key": "aws:username", "values": ["bob"]}]}),
        )
        .await;
    assert_eq!(spoofed["reason"], "allowed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_sessions_managed_policies_and_resource_policies() {
    let s = TestServer::start().await;
    let repo = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";
    let session = "arn:aws:sts::111122223333:assumed-role/ci/build-42";
    assert_eq!(s.authorize(session, "ecr:PutImage", repo).await["reason"], "allowed");
    assert_eq!(
        s.authorize(ALICE, "ecr:BatchGetImage", repo).await["matchedStatements"][0]["policyType"],
        "aws-managed"
    );
    let prod = s.authorize(ALICE, "ecr:PutImage", "arn:aws:ecr:us-east-1:111122223333:repository/prod/api").await;
    assert_eq!(prod["reason"], "explicitDeny");

    // Cross account: the other account's repository policy must allow too.
    let foreign = "arn:aws:ecr:us-east-1:444455556666:repository/shared/base";
    let no_policy = s.authorize(ALICE, "ecr:BatchGetImage", foreign).await;
    assert_eq!(no_policy["reason"], "implicitDeny");
    assert!(no_policy["message"]
        .as_str()
        .unwrap()
        .ends_with("because no resource-based policy allows the ecr:BatchGetImage action"));
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "PullFromPartner", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "ecr:BatchGetImage"}]});
    for resource_policy in [policy.clone(), json!(policy.to_string())] {
        let (status, body) = s
            .post(
                "/v1/authorize",
                &json!({"principal": ALICE, "action": "ecr:BatchGetImage", "resource": foreign,
                                            "resourcePolicy": resource_policy}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["reason"], "allowed", "{body}");
        let sids: Vec<&str> =
            body["matchedStatements"].as_array().unwrap().iter().filter_map(|m| m["sid"].as_str()).collect();
        assert!(sids.contains(&"PullFromPartner"), "{body}");
    }
    // resourceAccount decides same- vs cross-account for resources whose ARN names no account.
    let list = |account: Option<&str>| {
        let mut req = json!({"principal": BOB, "action": "notes:ListNotes", "resource": "*"});
        if let Some(a) = account {
            req["resourceAccount"] = json!(a);
        }
        req
    };
    assert_eq!(s.post("/v1/authorize", &list(None)).await.1["reason"], "allowed");
    assert_eq!(s.post("/v1/authorize", &list(Some("111122223333"))).await.1["reason"], "allowed");
    let (_, cross) = s.post("/v1/authorize", &list(Some("444455556666"))).await;
    assert_eq!(cross["reason"], "implicitDeny", "{cross}");
    assert!(cross["message"]
        .as_str()
        .unwrap()
        .ends_with("because no resource-based policy allows the notes:ListNotes action"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_answers_each_request_in_order_with_per_item_errors() {
    let s = TestServer::start().await;
    let (status, body) = s
        .post(
            "/v1/authorize/batch",
            &json!({"requests": [
                {"principal": BOB, "action": "notes:GetNote", "resource": format!("{NOTE}public/a")},
                {"principal": ALICE, "action": "notes:DeleteNote", "resource": format!("{NOTE}a")},
                {"principal": "arn:aws:iam::111122223333:user/mallory", "action": "notes:GetNote", "resource": "*"},
                {"principal": BOB, "action": 7, "resource": "*"},
                {"principal": BOB, "action": "notes:GetNote", "resource": format!("{NOTE}private/a")}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0]["reason"], "allowed");
    assert_eq!(results[1]["reason"], "explicitDeny");
    assert_eq!(results[2]["error"]["code"], "InvalidInput");
    assert_eq!(results[2]["error"]["field"], "requests[2].principal");
    assert_eq!(results[3]["error"]["field"], "requests[3].action");
    assert_eq!(results[4]["reason"], "implicitDeny");
    assert!(results[4]["message"]
        .as_str()
        .unwrap()
        .starts_with("User: arn:aws:iam::111122223333:user/bob is not authorized"));

    let (status, body) = s.post("/v1/authorize/batch", &json!({"requests": []})).await;
    assert_eq!((status, body), (200, json!({"results": []})));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_beyond_the_limit_are_refused() {
    let s = TestServer::start_with(|c| c.max_batch = 3).await;
    let one = json!({"principal": BOB, "action": "notes:ListNotes", "resource": "*"});
    let (status, body) = s.post("/v1/authorize/batch", &json!({"requests": [one, one, one, one]})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "requests");
    assert!(body["error"]["message"].as_str().unwrap().contains("at most 3"), "{body}");
    s.stop().await;
}

/// `"explain": true` returns the structured explanation (the data of `warden explain`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explanations_on_request() {
    let s = TestServer::start().await;
    let (status, v) = s
        .post("/v1/authorize", &json!({"principal": ALICE, "action": "notes:PutNote", "resource": format!("{NOTE}private/x"), "explain": true}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["decision"], "Deny");
    assert_eq!(v["explanation"]["decision"], v["reason"]);
    assert!(v["explanation"]["statements"].as_array().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(v["explanation"]["suggestions"].as_array().is_some_and(|s| !s.is_empty()), "{v}");
    let (_, plain) =
        s.post("/v1/authorize", &json!({"principal": ALICE, "action": "notes:PutNote", "resource": "*"})).await;
    assert!(plain.get("explanation").is_none());
}
