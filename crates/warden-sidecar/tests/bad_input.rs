//! Malformed requests: 400 naming the field, 413 beyond the body limit, 415 for non-JSON, JSON
//! 404/405; the server keeps serving.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{TestServer, ALICE};
use serde_json::{json, Value};

async fn raw(s: &TestServer, method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = s.client.request(method.parse().unwrap(), s.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text:?}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_field_is_named() {
    let s = TestServer::start().await;
    let ok = json!({"principal": ALICE, "action": "notes:GetNote", "resource": "*"});
    let with = |k: &str, v: Value| {
        let mut r = ok.clone();
        r[k] = v;
        r
    };
    let cases = [
        (json!({"action": "notes:GetNote", "resource": "*"}), "principal"),
        (with("principal", json!(42)), "principal"),
        (with("principal", json!("arn:aws:iam::111122223333:user/nobody")), "principal"),
        (with("principal", json!("not an arn")), "principal"),
        (with("action", json!("notes")), "action"),
        (with("action", json!("notes:*")), "action"),
        (with("resource", json!("bucket")), "resource"),
        (with("resourceAccount", json!("12")), "resourceAccount"),
        (with("resourcePolicy", json!(17)), "resourcePolicy"),
        (with("context", json!({})), "context"),
        (with("context", json!([{"key": "aws:SourceIp", "type": "ip", "values": ["x"]}])), "context[0]"),
        (with("context", json!([{"key": "k", "type": "decimal", "values": ["1"]}])), "context[0].type"),
        (with("context", json!([{"key": "k", "type": "numeric", "values": ["1", "2"]}])), "context[0]"),
        (with("context", json!([{"key": "k", "values": [1]}])), "context[0].values[0]"),
        (with("context", json!([{"values": ["1"]}])), "context[0].key"),
        (with("surprise", json!(true)), "surprise"),
    ];
    for (req, field) in cases {
        let (status, body) = s.post("/v1/authorize", &req).await;
        assert_eq!(status, 400, "{req}: {body}");
        assert_eq!(body["error"]["code"], "InvalidInput", "{req}: {body}");
        assert_eq!(body["error"]["field"], field, "{req}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{body}");
    }
    let (status, body) = s.post("/v1/authorize", &with("resourcePolicy", json!("{\"Version\":\"2012-10-17\"}"))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
        (400, Some("MalformedPolicyDocument"), Some("resourcePolicy"))
    );

    for (text, field) in [("{", "body"), ("", "body"), ("[]", "body"), ("{\"requests\": 3}", "requests")] {
        let (status, body) = raw(&s, "POST", "/v1/authorize/batch", Some("application/json"), text.into()).await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some(field)), "{text}: {body}");
    }
    let (status, body) = raw(&s, "POST", "/v1/authorize", Some("application/json"), vec![0xff, 0xfe]).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("body")), "{body}");
    // Still serving.
    assert_eq!(s.authorize(ALICE, "notes:GetNote", "*").await["decision"], "Deny");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_and_other_types_415() {
    let s = TestServer::start().await;
    let big = format!(r#"{{"principal":"{}","action":"a:B","resource":"*"}}"#, "x".repeat(1024 * 1024 + 1));
    for path in ["/v1/authorize", "/v1/authorize/batch", "/v1/simulate"] {
        let (status, body) = raw(&s, "POST", path, Some("application/json"), big.clone().into_bytes()).await;
        assert_eq!(status, 413, "{path}");
        assert_eq!(body["error"]["code"], "PayloadTooLarge");
        assert!(body["error"]["message"].as_str().unwrap().contains("1048576 bytes"), "{body}");
    }
    let (status, body) =
        raw(&s, "POST", "/v1/authorize", Some("application/x-www-form-urlencoded"), b"a=b".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("UnsupportedMediaType")));
    // Without a content type the body is read as JSON.
    let ok = format!(r#"{{"principal":"{ALICE}","action":"notes:GetNote","resource":"*"}}"#);
    let (status, body) = raw(&s, "POST", "/v1/authorize", None, ok.into_bytes()).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = raw(&s, "GET", "/v2/nothing", None, vec![]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NotFound")));
    let (status, body) = raw(&s, "GET", "/v1/authorize", None, vec![]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (405, Some("MethodNotAllowed")));
    s.stop().await;
}
