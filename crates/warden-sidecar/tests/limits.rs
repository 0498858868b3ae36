//! Every list input is bounded, checked before any per-item work: batches, simulate's lists and
//! their product, authorize's context. A request that finds every evaluation slot busy for the
//! configured wait is refused with 503 in the API's error format.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, ALICE, BOB, NOTE};
use serde_json::{json, Value};

fn assert_invalid(what: &str, (status, body): &(u16, Value), field: &str, says: &str) {
    assert_eq!(*status, 400, "{what}: {body}");
    assert_eq!(body["error"]["code"], "InvalidInput", "{what}: {body}");
    assert_eq!(body["error"]["field"], field, "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(field) && message.contains(says), "{what}: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_beyond_the_default_limit_are_refused_before_any_decision() {
    let s = TestServer::start().await;
    let one = json!({"principal": BOB, "action": "notes:ListNotes", "resource": "*"});
    let started = Instant::now();
    let refused = s.post("/v1/authorize/batch", &json!({"requests": vec![one.clone(); 1001]})).await;
    assert_invalid("1,001 requests", &refused, "requests", "1001 requests in one batch: at most 1000 are accepted");
    assert!(started.elapsed() < Duration::from_secs(5));
    // No item was decided.
    assert_eq!(s.metric("warden_decisions_total{result=\"allowed\"}").await, 0.0);
    let (status, body) = s.post("/v1/authorize/batch", &json!({"requests": vec![one; 1000]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 1000);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_lists_and_their_product_are_bounded() {
    let s = TestServer::start().await;
    let names = |n: usize, f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
    let sim = |actions: usize, resources: usize| {
        json!({"PolicySourceArn": ALICE,
               "ActionNames": names(actions, &|i| format!("notes:A{i}")),
               "ResourceArns": names(resources, &|i| format!("{NOTE}{i}"))})
    };
    let cases = [
        (sim(1001, 1), "ActionNames", "1001 action names in one request: at most 1000"),
        (sim(1, 1001), "ResourceArns", "1001 resource ARNs in one request: at most 1000"),
        (sim(101, 100), "ResourceArns", "101 action names × 100 resources = 10100 evaluations: at most 10000"),
        (
            json!({"PolicyInputList": vec!["{}"; 101], "ActionNames": ["a:B"]}),
            "PolicyInputList",
            "101 policies in one request: at most 100",
        ),
        (
            json!({"PolicyInputList": [], "ActionNames": ["a:B"],
                   "ContextEntries": vec![json!({"ContextKeyName": "k", "ContextKeyValues": ["v"]}); 1001]}),
            "ContextEntries",
            "1001 context entries",
        ),
    ];
    for (req, field, says) in &cases {
        assert_invalid(field, &s.post("/v1/simulate", req).await, field, says);
    }
    // Without resources the product counts one resource, `*`.
    let (status, body) = s
        .post(
            "/v1/simulate",
            &json!({"PolicySourceArn": ALICE, "ActionNames": names(1000, &|i| format!("notes:A{i}"))}),
        )
        .await;
    assert_eq!((status, body["EvaluationResults"].as_array().map(Vec::len)), (200, Some(1000)));
    let (status, body) = s.post("/v1/simulate", &sim(100, 100)).await;
    assert_eq!((status, body["EvaluationResults"].as_array().map(Vec::len)), (200, Some(10_000)));
    s.stop().await;

    // Configured bounds.
    let s = TestServer::start_with(|c| {
        c.simulate.max_action_names = 2;
        c.simulate.max_evaluations = 3;
    })
    .await;
    assert_invalid("3 actions", &s.post("/v1/simulate", &sim(3, 1)).await, "ActionNames", "at most 2");
    assert_invalid("2 × 2", &s.post("/v1/simulate", &sim(2, 2)).await, "ResourceArns", "at most 3");
    assert_eq!(s.post("/v1/simulate", &sim(1, 3)).await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_context_is_bounded() {
    let s = TestServer::start().await;
    let with =
        |context: Value| json!({"principal": ALICE, "action": "notes:GetNote", "resource": "*", "context": context});
    let entry = json!({"key": "k", "values": ["v"]});
    assert_invalid(
        "entries",
        &s.post("/v1/authorize", &with(json!(vec![entry; 1001]))).await,
        "context",
        "1001 context entries",
    );
    let values: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    assert_invalid(
        "values",
        &s.post("/v1/authorize", &with(json!([{"key": "k", "values": values}]))).await,
        "context",
        "1001 context values",
    );
    let item = with(json!([{"key": "k", "values": values}]));
    let (status, body) = s.post("/v1/authorize/batch", &json!({"requests": [item]})).await;
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["error"]["field"], "requests[0].context", "{body}");
    s.stop().await;
}

/// Thousands of distinct patterns (here in the caller's own resource policy) against a long
/// context value cost every pattern × every character: refused before evaluating, not seconds of
/// CPU (found by the engine's `simulate` fuzz target).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_condition_work_is_bounded() {
    let s = TestServer::start().await;
    let patterns: Vec<String> = (0..3_000).map(|i| format!("*c{i}*b")).collect();
    let policy = |patterns: &[String]| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "notes:GetNote",
               "Condition": {"StringLike": {"notes:label": patterns}}}]})
    };
    let with = |patterns: &[String], value: String| {
        json!({"principal": ALICE, "action": "notes:GetNote", "resource": format!("{NOTE}alice/todo"),
               "resourcePolicy": policy(patterns), "context": [{"key": "notes:label", "values": [value]}]})
    };
    let long = format!("{}b", "a".repeat(200_000));
    let started = Instant::now();
    assert_invalid(
        "patterns × value",
        &s.post("/v1/authorize", &with(&patterns, long.clone())).await,
        "context",
        "would compare up to",
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // A handful of patterns against the same value is evaluated as usual.
    let (status, body) = s.post("/v1/authorize", &with(&patterns[..3], long)).await;
    assert_eq!(status, 200, "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_slots_answer_503_after_the_wait() {
    let s = TestServer::start_with(|c| {
        c.eval_slots = 1;
        c.eval_wait = Duration::from_millis(100);
    })
    .await;
    // Occupy the only slot with a long simulation.
    let heavy = common::heavy_simulation_lasting(&s, 3.0).await;
    let (client, url) = (s.client.clone(), s.url("/v1/simulate"));
    let long = tokio::spawn(async move {
        let resp = client.post(&url).json(&heavy).send().await.unwrap();
        resp.status().as_u16()
    });
    assert!(common::eventually(10, || async { s.metric("warden_evaluation_slots_busy").await >= 1.0 }).await);
    // Work for the pool: a batch of more than 16 items, an explanation, in a batch or alone.
    let item = json!({"principal": BOB, "action": "notes:ListNotes", "resource": "*"});
    let explained = json!({"principal": BOB, "action": "notes:ListNotes", "resource": "*", "explain": true});
    let expensive = [
        ("/v1/authorize/batch", json!({"requests": vec![item.clone(); 17]})),
        ("/v1/authorize/batch", json!({"requests": [explained.clone()]})),
        ("/v1/authorize", explained),
    ];
    for (path, req) in &expensive {
        let started = Instant::now();
        let resp = s.client.post(s.url(path)).json(req).send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(resp.status(), 503, "{path}");
        assert_eq!(resp.headers()["retry-after"], "1");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "ServiceUnavailable", "{body}");
        assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(5), "{took:?}");
    }
    // Cheap decisions, small batches and health do not wait for the slot.
    assert_eq!(s.authorize(BOB, "notes:ListNotes", "*").await["decision"], "Allow");
    let (status, body) = s.post("/v1/authorize/batch", &json!({"requests": vec![item; 16]})).await;
    assert_eq!((status, body["results"][15]["decision"].as_str()), (200, Some("Allow")));
    assert_eq!(s.get_text("/healthz").await.0, 200);
    assert_eq!(long.await.unwrap(), 200);
    assert_eq!(s.metric("warden_evaluation_refused_total").await, 3.0);
    for (path, req) in &expensive {
        assert_eq!(s.post(path, req).await.0, 200, "{path}");
    }
    s.stop().await;
}
