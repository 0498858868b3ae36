//! `POST /v1/simulate`: both IAM simulator request shapes, answered as `warden simulate`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{TestServer, ALICE, NOTE};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_custom_policy_shape() {
    let s = TestServer::start().await;
    let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}});
    let (status, body) = s
        .post("/v1/simulate", &json!({"PolicyInputList": [policy.to_string()], "ActionNames": ["ecr:GetAuthorizationToken", "ecr:PutImage"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["EvaluationResults"].as_array().unwrap();
    assert_eq!(results[0]["EvalActionName"], "ecr:GetAuthorizationToken");
    assert_eq!(results[0]["EvalDecision"], "allowed");
    assert_eq!(results[0]["MatchedStatements"][0]["SourcePolicyId"], "PolicyInputList.1");
    assert_eq!(results[0]["MatchedStatements"][0]["StartPosition"]["Line"], 1);
    assert_eq!(results[1]["EvalDecision"], "implicitDeny");
    assert_eq!(body["IsTruncated"], false);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_principal_policy_shape_uses_the_identity_store() {
    let s = TestServer::start().await;
    let (status, body) = s
        .post(
            "/v1/simulate",
            &json!({"PolicySourceArn": ALICE, "ActionNames": ["notes:GetNote", "notes:DeleteNote"],
                    "ResourceArns": [format!("{NOTE}alice/todo")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["EvaluationResults"].as_array().unwrap();
    assert_eq!(results[0]["EvalDecision"], "allowed");
    assert_eq!(results[0]["MatchedStatements"][0]["SourcePolicyId"], "NotesWriter");
    assert_eq!(results[1]["EvalDecision"], "explicitDeny");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_errors_carry_the_aws_code_and_field() {
    let s = TestServer::start().await;
    let cases = [
        (
            json!({"PolicySourceArn": "arn:aws:iam::111122223333:user/nobody", "ActionNames": ["notes:GetNote"]}),
            "NoSuchEntity",
            "PolicySourceArn",
        ),
        (
            json!({"PolicyInputList": ["{\"Version\":\"2012-10-17\",\"Statement\":"], "ActionNames": ["a:B"]}),
            "MalformedPolicyDocument",
            "PolicyInputList[0]",
        ),
        (json!({"PolicyInputList": [], "ActionNames": ["ecr:*"]}), "InvalidInput", "ActionNames[0]"),
        (json!({"PolicyInputList": [], "ActionNames": ["a:B"], "Bogus": 1}), "InvalidInput", "Bogus"),
        (json!({"PolicyInputList": [], "ActionNames": "a:B"}), "InvalidInput", "ActionNames"),
    ];
    for (req, code, field) in cases {
        let (status, body) = s.post("/v1/simulate", &req).await;
        assert_eq!(status, 400, "{req}: {body}");
        assert_eq!(body["error"]["code"], code, "{req}: {body}");
        assert_eq!(body["error"]["field"], field, "{req}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(field), "{body}");
    }
    let (status, body) = s.post("/v1/simulate", &json!([1])).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("body")));
    s.stop().await;
}
