//! The OpenID AuthZEN Authorization API 1.0 over real HTTP: the spec's examples with IAM
//! subjects, actions and resources ("can Alice can_read document 123" becomes "can the IAM user
//! alice `notes:GetNote` this note ARN"), the three evaluations semantics, default values, the
//! errors, the metadata document, and agreement with `/v1/authorize`. Section names are those of
//! <https://openid.net/specs/authorization-api-1_0.html>.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{TestServer, ALICE, BOB, NOTE};
use serde_json::{json, Value};

fn subject(id: &str) -> Value {
    json!({"type": "iam_principal", "id": id})
}

fn resource(path: &str) -> Value {
    json!({"type": "note", "id": format!("{NOTE}{path}")})
}

fn action(name: &str) -> Value {
    json!({"name": name})
}

fn evaluation(principal: &str, act: &str, path: &str) -> Value {
    json!({"subject": subject(principal), "action": action(act), "resource": resource(path)})
}

fn decisions(body: &Value) -> Vec<bool> {
    body["evaluations"].as_array().unwrap().iter().map(|e| e["decision"].as_bool().unwrap()).collect()
}

/// § "Access Evaluation API", example request (with `action.properties` and a `context` whose
/// `time` is not a condition key) and § "HTTPS Access Evaluation Response" with `X-Request-ID`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_example_request_adapted_to_iam() {
    let s = TestServer::start().await;
    let body = json!({
        "subject": {"type": "iam_principal", "id": ALICE},
        "resource": {"type": "note", "id": format!("{NOTE}public/todo")},
        "action": {"name": "notes:GetNote", "properties": {"method": "GET"}},
        "context": {"time": "1985-10-26T01:22-07:00"}
    });
    let resp = s
        .client
        .post(s.url("/access/v1/evaluation"))
        .header("x-request-id", "bfe9eb29-ab87-4ca3-be83-a1d5d8305716")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "bfe9eb29-ab87-4ca3-be83-a1d5d8305716");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["decision"], true, "{answer}");
    assert_eq!(answer["context"]["reason"], "allowed");
    assert_eq!(answer["context"]["missingContextKeys"], json!([]));
    let sids: Vec<&str> =
        answer["context"]["matchedStatements"].as_array().unwrap().iter().filter_map(|m| m["sid"].as_str()).collect();
    assert!(sids.contains(&"ReadPublicNotes") && sids.contains(&"ReadAllNotes"), "{answer}");
    assert!(answer["context"].get("reason_admin").is_none(), "{answer}");

    // No X-Request-ID asked, none answered.
    let resp = s.client.post(s.url("/access/v1/evaluation")).json(&body).send().await.unwrap();
    assert!(resp.headers().get("x-request-id").is_none());
    s.stop().await;
}

/// The decision and its reason are those of `/v1/authorize` for the same question: allowed,
/// explicit deny, implicit deny; `reason_admin` is AWS's sentence (§ "Reason Object").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_agree_with_v1_authorize() {
    let s = TestServer::start().await;
    for (principal, act, path, allowed, reason) in [
        (BOB, "notes:GetNote", "public/todo", true, "allowed"),
        (ALICE, "notes:DeleteNote", "alice/todo", false, "explicitDeny"),
        (BOB, "notes:GetNote", "private/plan", false, "implicitDeny"),
    ] {
        let v1 = s.authorize(principal, act, &format!("{NOTE}{path}")).await;
        let (status, z) = s.post("/access/v1/evaluation", &evaluation(principal, act, path)).await;
        assert_eq!(status, 200, "{z}");
        assert_eq!(z["decision"], allowed, "{z}");
        assert_eq!(z["context"]["reason"], reason);
        assert_eq!(v1["reason"], reason);
        assert_eq!(z["context"]["matchedStatements"], v1["matchedStatements"]);
        assert_eq!(z["context"]["missingContextKeys"], v1["missingContextKeys"]);
        if allowed {
            assert!(z["context"].get("reason_admin").is_none());
        } else {
            assert_eq!(z["context"]["reason_admin"]["en"], v1["message"]);
        }
        // The same question through the batch endpoint, single-request form and in a batch.
        let (_, single) = s.post("/access/v1/evaluations", &evaluation(principal, act, path)).await;
        assert_eq!(single, z);
        let (_, batch) =
            s.post("/access/v1/evaluations", &json!({"evaluations": [evaluation(principal, act, path)]})).await;
        assert_eq!(batch["evaluations"][0], z);
    }
    s.stop().await;
}

/// Condition keys from `context`, from `properties`, the spec's `ip_address` subject property
/// (§ "IP Address"), typed values; resource properties `resourceAccount`/`resourcePolicy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_keys_come_from_context_and_properties() {
    let s = TestServer::start().await;
    let share = |extra: Value| {
        let mut body = evaluation(ALICE, "notes:ShareNote", "alice/todo");
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let (_, missing) = s.post("/access/v1/evaluation", &share(json!({}))).await;
    assert_eq!(missing["decision"], false);
    assert_eq!(missing["context"]["missingContextKeys"], json!(["aws:SourceIp"]));

    let cases = [
        (json!({"context": {"aws:SourceIp": "203.0.113.9"}}), true),
        (json!({"context": {"aws:SourceIp": "198.51.100.1"}}), false),
        (json!({"context": {"aws:SourceIp": {"type": "ip", "values": ["203.0.113.9"]}}}), true),
        (json!({"context": {"aws:SourceIp": ["203.0.113.9"]}}), true),
        (json!({"subject": {"type": "iam_principal", "id": ALICE, "properties": {"ip_address": "203.0.113.9"}}}), true),
        (
            json!({"subject": {"type": "iam_principal", "id": ALICE, "properties": {"aws:SourceIp": "203.0.113.9"}}}),
            true,
        ),
        (json!({"action": {"name": "notes:ShareNote", "properties": {"aws:SourceIp": "203.0.113.9"}}}), true),
        // `context` is applied last: it wins over the subject's ip_address.
        (
            json!({"subject": {"type": "iam_principal", "id": ALICE, "properties": {"ip_address": "203.0.113.9"}},
                   "context": {"aws:SourceIp": "198.51.100.1"}}),
            false,
        ),
    ];
    for (extra, allowed) in cases {
        let (status, z) = s.post("/access/v1/evaluation", &share(extra.clone())).await;
        assert_eq!(status, 200, "{z}");
        assert_eq!(z["decision"], allowed, "{extra} → {z}");
    }
    // A key that shadows a filled principal key, as in /v1/authorize.
    let mut spoof = evaluation(ALICE, "notes:PutNote", "bob/x");
    spoof["context"] = json!({"aws:username": "bob"});
    assert_eq!(s.post("/access/v1/evaluation", &spoof).await.1["decision"], true);

    // A resource policy in the resource's properties, as `resourcePolicy` of /v1/authorize.
    let plan = format!("{NOTE}private/plan");
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": BOB}, "Action": "notes:GetNote", "Resource": plan}]});
    let cross = |properties: Value| {
        json!({"subject": subject(BOB), "action": action("notes:GetNote"),
               "resource": {"type": "note", "id": plan, "properties": properties}})
    };
    assert_eq!(s.post("/access/v1/evaluation", &cross(json!({}))).await.1["decision"], false);
    let (_, allowed) = s.post("/access/v1/evaluation", &cross(json!({"resourcePolicy": policy}))).await;
    assert_eq!(allowed["decision"], true, "{allowed}");
    assert_eq!(allowed["context"]["matchedStatements"][0]["policyType"], "resource");
    let (_, as_text) = s.post("/access/v1/evaluation", &cross(json!({"resourcePolicy": policy.to_string()}))).await;
    assert_eq!(as_text["decision"], true);
    // Another account owning the resource makes it cross-account: the identity policy must allow too.
    let (_, v1) = s
        .post(
            "/v1/authorize",
            &json!({"principal": BOB, "action": "notes:GetNote", "resource": plan,
                                        "resourceAccount": "444455556666", "resourcePolicy": policy}),
        )
        .await;
    let (_, z) = s
        .post("/access/v1/evaluation", &cross(json!({"resourcePolicy": policy, "resourceAccount": "444455556666"})))
        .await;
    assert_eq!(z["context"]["reason"], v1["reason"]);
    assert_eq!(z["decision"], v1["decision"] == "Allow");
    let (status, bad) = s.post("/access/v1/evaluation", &cross(json!({"resourceAccount": "12"}))).await;
    assert_eq!(status, 400);
    assert!(bad.as_str().unwrap().starts_with("resource.properties.resourceAccount:"), "{bad}");
    s.stop().await;
}

/// An unknown subject is a denial (200, decision false), not an HTTP error (§ "Error Responses").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_subject_is_denied() {
    let s = TestServer::start().await;
    let nobody = "arn:aws:iam::111122223333:user/nobody";
    let (status, z) = s.post("/access/v1/evaluation", &evaluation(nobody, "notes:GetNote", "public/todo")).await;
    assert_eq!(status, 200, "{z}");
    assert_eq!(z["decision"], false);
    assert_eq!(z["context"]["reason"], "unknownSubject");
    assert!(z["context"]["reason_admin"]["en"].as_str().unwrap().contains(nobody));
    s.stop().await;
}

/// Malformed requests: 400 with an error message string (§ "Error Responses"); 413 and 415 in
/// the same form; `X-Request-ID` echoed on errors too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_the_spec_errors() {
    let s = TestServer::start().await;
    let good = evaluation(ALICE, "notes:GetNote", "public/todo");
    let mut cases: Vec<(Value, &str)> = vec![];
    let mut without_subject = good.clone();
    without_subject.as_object_mut().unwrap().remove("subject");
    cases.push((without_subject, "subject"));
    let mut id_number = good.clone();
    id_number["subject"]["id"] = json!(7);
    cases.push((id_number, "subject.id"));
    let mut no_type = good.clone();
    no_type["resource"].as_object_mut().unwrap().remove("type");
    cases.push((no_type, "resource.type"));
    let mut spec_action = good.clone();
    spec_action["action"]["name"] = json!("can_read");
    cases.push((spec_action, "action.name"));
    let mut not_arn = good.clone();
    not_arn["resource"]["id"] = json!("123");
    cases.push((not_arn, "resource.id"));
    let mut bad_key = good.clone();
    bad_key["context"] = json!({"aws:SourceIp": {"nested": true}});
    cases.push((bad_key, "context.aws:SourceIp"));
    let mut bad_ip = good.clone();
    bad_ip["context"] = json!({"aws:SourceIp": {"type": "ip", "values": ["not-an-ip"]}});
    cases.push((bad_ip, "context.aws:SourceIp"));
    cases.push((json!("a string"), "body"));
    for (body, field) in cases {
        for path in ["/access/v1/evaluation", "/access/v1/evaluations"] {
            let resp = s.client.post(s.url(path)).header("x-request-id", "r-1").json(&body).send().await.unwrap();
            assert_eq!(resp.status(), 400, "{path} {body}");
            assert_eq!(resp.headers()["x-request-id"], "r-1");
            let message: Value = resp.json().await.unwrap();
            let message = message.as_str().unwrap_or_else(|| panic!("not a string: {message}"));
            assert!(message.starts_with(&format!("{field}:")), "{path} {body}: {message}");
        }
    }
    // Not JSON.
    let resp = s
        .client
        .post(s.url("/access/v1/evaluation"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("subject=alice")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert!(resp.json::<Value>().await.unwrap().is_string());
    // Larger than the body limit (1 MiB).
    let mut huge = good.clone();
    huge["context"] = json!({"padding": "x".repeat(2 * 1024 * 1024)});
    for path in ["/access/v1/evaluation", "/access/v1/evaluations"] {
        let (status, body) = s.post(path, &huge).await;
        assert_eq!(status, 413, "{path}");
        assert!(body.as_str().unwrap().contains("larger than"), "{body}");
    }
    s.stop().await;
}

/// § "Default values": the spec's example with a default subject, context and action, the action
/// overridden by the third evaluation; and evaluations without defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_are_overridden_per_item() {
    let s = TestServer::start().await;
    let body = json!({
        "subject": subject(ALICE),
        "context": {"time": "2024-05-31T15:22-07:00", "aws:SourceIp": "203.0.113.9"},
        "action": action("notes:GetNote"),
        "evaluations": [
            {"resource": resource("public/todo")},
            {"resource": resource("alice/plan")},
            {"action": action("notes:DeleteNote"), "resource": resource("alice/plan")},
            {"subject": subject(BOB), "resource": resource("alice/plan")},
            {"action": action("notes:ShareNote"), "resource": resource("alice/plan")},
            {"action": action("notes:ShareNote"), "resource": resource("alice/plan"),
             "context": {"aws:SourceIp": "198.51.100.1"}},
        ]
    });
    let (status, z) = s.post("/access/v1/evaluations", &body).await;
    assert_eq!(status, 200, "{z}");
    assert_eq!(decisions(&z), [true, true, false, false, true, false], "{z}");
    assert_eq!(z["evaluations"][2]["context"]["reason"], "explicitDeny");
    assert_eq!(z["evaluations"][3]["context"]["reason"], "implicitDeny");
    assert!(z.get("decision").is_none(), "the top-level decision is omitted: {z}");

    // § "The Access Evaluations API Request": three requests, no default values.
    let body = json!({"evaluations": [
        evaluation(ALICE, "notes:GetNote", "public/todo"),
        evaluation(BOB, "notes:GetNote", "private/plan"),
        evaluation(BOB, "notes:GetNote", "public/plan"),
    ]});
    let (_, z) = s.post("/access/v1/evaluations", &body).await;
    assert_eq!(decisions(&z), [true, false, true]);
    s.stop().await;
}

/// § "Evaluations semantics": the response holds the results up to and including the deciding
/// one; `execute_all` is the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_evaluations_semantics() {
    let s = TestServer::start().await;
    // The spec's example: documents 1 and 3 readable, 2 not.
    let items = json!([
        {"resource": resource("public/1")},
        {"resource": resource("private/2")},
        {"resource": resource("public/3")},
    ]);
    let ask = |semantic: Option<&str>, items: &Value| {
        let mut body = json!({"subject": subject(BOB), "action": action("notes:GetNote"), "evaluations": items});
        if let Some(semantic) = semantic {
            body["options"] = json!({"evaluations_semantic": semantic, "another_option": "value"});
        }
        body
    };
    for (semantic, expected) in [
        (None, vec![true, false, true]),
        (Some("execute_all"), vec![true, false, true]),
        (Some("deny_on_first_deny"), vec![true, false]),
        (Some("permit_on_first_permit"), vec![true]),
    ] {
        let (status, z) = s.post("/access/v1/evaluations", &ask(semantic, &items)).await;
        assert_eq!(status, 200, "{z}");
        assert_eq!(z["evaluations"].as_array().unwrap().len(), expected.len(), "{semantic:?}: {z}");
        assert_eq!(decisions(&z), expected, "{semantic:?}");
    }
    // The short circuit where it is not the first item.
    let denies_first = json!([
        {"resource": resource("private/1")},
        {"resource": resource("private/2")},
        {"resource": resource("public/3")},
        {"resource": resource("public/4")},
    ]);
    let (_, z) = s.post("/access/v1/evaluations", &ask(Some("permit_on_first_permit"), &denies_first)).await;
    assert_eq!(decisions(&z), [false, false, true]);
    let (_, z) = s.post("/access/v1/evaluations", &ask(Some("deny_on_first_deny"), &denies_first)).await;
    assert_eq!(decisions(&z), [false]);
    // An error is a denial for deny_on_first_deny, and the evaluation stops there.
    let with_error = json!([
        {"resource": resource("public/1")},
        {"action": action("read"), "resource": resource("public/2")},
        {"resource": resource("public/3")},
    ]);
    let (_, z) = s.post("/access/v1/evaluations", &ask(Some("deny_on_first_deny"), &with_error)).await;
    assert_eq!(decisions(&z), [true, false]);
    assert_eq!(z["evaluations"][1]["context"]["error"]["status"], 400);
    // Unknown semantic: the whole request is bad.
    let (status, z) = s.post("/access/v1/evaluations", &ask(Some("first_wins"), &items)).await;
    assert_eq!(status, 400);
    assert!(z.as_str().unwrap().starts_with("options.evaluations_semantic:"), "{z}");
    // Large batches go through the evaluation pool; the semantics hold there too.
    let mut many: Vec<Value> = (0..30).map(|i| json!({"resource": resource(&format!("private/{i}"))})).collect();
    many.extend((0..30).map(|i| json!({"resource": resource(&format!("public/{i}"))})));
    let (_, z) = s.post("/access/v1/evaluations", &ask(Some("permit_on_first_permit"), &json!(many))).await;
    assert_eq!(z["evaluations"].as_array().unwrap().len(), 31);
    let (_, z) = s.post("/access/v1/evaluations", &ask(None, &json!(many))).await;
    assert_eq!(z["evaluations"].as_array().unwrap().len(), 60);
    s.stop().await;
}

/// § "Errors" of the Access Evaluations API: a bad item is that item's closed decision with an
/// error in its context; the others are decided. Too many evaluations is a 400 of the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_errors_and_the_batch_limit() {
    let s = TestServer::start().await;
    let body = json!({"evaluations": [
        evaluation(ALICE, "notes:GetNote", "public/todo"),
        {"action": action("notes:GetNote"), "resource": resource("public/todo")},
        evaluation(ALICE, "x", "public/todo"),
        {"subject": {"type": "iam_principal"}, "action": action("notes:GetNote"), "resource": resource("a")},
        "not an object",
        evaluation(ALICE, "notes:GetNote", "public/todo"),
    ]});
    let (status, z) = s.post("/access/v1/evaluations", &body).await;
    assert_eq!(status, 200, "{z}");
    assert_eq!(decisions(&z), [true, false, false, false, false, true]);
    for (i, field) in [
        (1, "evaluations[1].subject"),
        (2, "evaluations[2].action.name"),
        (3, "evaluations[3].subject.id"),
        (4, "evaluations[4]"),
    ] {
        let error = &z["evaluations"][i]["context"]["error"];
        assert_eq!(error["status"], 400, "{z}");
        assert_eq!(error["code"], "InvalidInput");
        assert_eq!(error["field"], field, "{z}");
        assert!(error["message"].as_str().unwrap().starts_with(field));
    }

    let too_many: Vec<Value> = (0..1001).map(|_| json!({"resource": resource("public/x")})).collect();
    let (status, z) = s
        .post(
            "/access/v1/evaluations",
            &json!({"subject": subject(ALICE), "action": action("notes:GetNote"), "evaluations": too_many}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(z.as_str().unwrap().starts_with("evaluations: 1001 evaluations"), "{z}");
    // The limit is /v1/authorize/batch's.
    let s2 = TestServer::start_with(|c| c.max_batch = 2).await;
    let three: Vec<Value> = (0..3).map(|_| evaluation(ALICE, "notes:GetNote", "public/todo")).collect();
    assert_eq!(s2.post("/access/v1/evaluations", &json!({"evaluations": three})).await.0, 400);
    s2.stop().await;
    s.stop().await;
}

/// § "Policy Decision Point Metadata": the document at the well-known URL, its URLs absolute and
/// answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_document_and_its_urls() {
    let s = TestServer::start().await;
    let resp = s.client.get(s.url("/.well-known/authzen-configuration")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let meta: Value = resp.json().await.unwrap();
    let base = format!("http://{}", s.addr);
    assert_eq!(meta["policy_decision_point"], base);
    assert_eq!(meta["access_evaluation_endpoint"], format!("{base}/access/v1/evaluation"));
    assert_eq!(meta["access_evaluations_endpoint"], format!("{base}/access/v1/evaluations"));
    for search in ["subject", "resource", "action"] {
        assert_eq!(meta[format!("search_{search}_endpoint")], format!("{base}/access/v1/search/{search}"));
    }

    let one = evaluation(ALICE, "notes:GetNote", "public/todo");
    let resp = s.client.post(meta["access_evaluation_endpoint"].as_str().unwrap()).json(&one).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["decision"], true);
    let resp = s
        .client
        .post(meta["access_evaluations_endpoint"].as_str().unwrap())
        .json(&json!({"evaluations": [one]}))
        .send()
        .await
        .unwrap();
    assert_eq!(decisions(&resp.json::<Value>().await.unwrap()), [true]);

    // Behind a TLS-terminating proxy, the identifier is the https URL the PEP used.
    let resp = s
        .client
        .get(s.url("/.well-known/authzen-configuration"))
        .header("host", "pdp.example.com")
        .header("x-forwarded-proto", "https")
        .header("x-request-id", "m-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "m-1");
    let meta: Value = resp.json().await.unwrap();
    assert_eq!(meta["policy_decision_point"], "https://pdp.example.com");
    assert_eq!(meta["access_evaluation_endpoint"], "https://pdp.example.com/access/v1/evaluation");
    // A Host that is not a host is refused.
    let resp = s
        .client
        .get(s.url("/.well-known/authzen-configuration"))
        .header("host", "evil.example/path?x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    s.stop().await;
}
