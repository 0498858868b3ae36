//! Hostile requests against a live server on loopback: refused quickly with the API's errors, the
//! process stays alive, and its peak resident memory (`VmHWM`, read in-process: this file holds one
//! test so nothing else runs in the process) stays under 256 MiB.
//!
//! Before the limits, the 40,000 × 20,000 simulate aborted the process (`memory allocation of
//! 128000000000 bytes failed`) and a 10 KiB request for 400 × 400 evaluations took 250 MiB.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::{json, Value};

const MIB: u64 = 1024 * 1024;

/// A field of `/proc/self/status`, in the unit it is written in (kB for memory).
fn proc_status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A `SimulateCustomPolicy` body with short names (no credentials needed) whose policy allows
/// everything, so every evaluation matches `statements` statements.
fn custom(actions: usize, resources: usize, statements: usize) -> Vec<u8> {
    let allow_all = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
    let policy = json!({"Version": "2012-10-17", "Statement": vec![allow_all; statements]});
    let body = json!({
        "PolicyInputList": [policy.to_string()],
        "ActionNames": (0..actions).map(|i| format!("s:a{i}")).collect::<Vec<_>>(),
        "ResourceArns": (0..resources).map(|i| format!("arn:aws:s3:::{i}")).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&body).unwrap()
}

/// POSTs a JSON body; returns the status, the body (parsed when it is an error; an answer is
/// dropped chunk by chunk, so the test's own memory does not count large answers) and the time.
async fn post(client: reqwest::Client, url: String, body: Vec<u8>) -> (u16, Value, Duration) {
    let started = Instant::now();
    let mut resp = client.post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    if status == 200 {
        while resp.chunk().await.unwrap().is_some() {}
        return (status, Value::Null, started.elapsed());
    }
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url} {status}: {e}: {text}")), started.elapsed())
}

async fn send(s: &TestServer, path: &str, body: Vec<u8>) -> (u16, Value, Duration) {
    post(s.client.clone(), s.url(path), body).await
}

/// `n` copies of the same POST, concurrently.
async fn concurrently(s: &TestServer, n: usize, path: &str, body: &[u8]) -> Vec<(u16, Value, Duration)> {
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(post(s.client.clone(), s.url(path), body.to_vec()))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn assert_refused(what: &str, (status, body, took): &(u16, Value, Duration), field: &str) {
    assert_eq!(*status, 400, "{what}: {body}");
    assert_eq!(body["error"]["code"], "InvalidInput", "{what}: {body}");
    assert_eq!(body["error"]["field"], field, "{what}: {body}");
    assert!(*took < Duration::from_secs(5), "{what} took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_and_memory_stays_bounded() {
    let s = TestServer::start().await;

    // 40,000 actions × 20,000 resources: 800 million evaluations in an 880 KiB body.
    let huge = custom(40_000, 20_000, 1);
    assert!(huge.len() < 1024 * 1024, "{}", huge.len());
    assert_refused("40,000 × 20,000", &send(&s, "/v1/simulate", huge).await, "ActionNames");
    // 400 × 400 in a 10 KiB body: each count allowed, their product not.
    assert_refused("400 × 400", &send(&s, "/v1/simulate", custom(400, 400, 1)).await, "ResourceArns");
    // 100 × 100 evaluations each matching 20 statements: an answer of 400,000 items.
    assert_refused("wide answer", &send(&s, "/v1/simulate", custom(100, 100, 20)).await, "ActionNames");
    // A batch of 5,000.
    let one = json!({"principal": common::ALICE, "action": "notes:GetNote", "resource": "*"});
    let batch = serde_json::to_vec(&json!({"requests": vec![one.clone(); 5_000]})).unwrap();
    assert_refused("batch of 5,000", &send(&s, "/v1/authorize/batch", batch).await, "requests");

    // Many concurrent large but allowed simulates (10,000 evaluations, 20,000 answer items each):
    // each is answered, or refused with 503 when no evaluation slot frees up in time.
    let body = custom(100, 100, 1);
    let answers = concurrently(&s, 24, "/v1/simulate", &body).await;
    let mut answered = 0;
    for (status, body, _) in &answers {
        match status {
            200 => answered += 1,
            503 => assert_eq!(body["error"]["code"], "ServiceUnavailable", "{body}"),
            _ => panic!("{status}: {body}"),
        }
    }
    eprintln!("{answered} of 24 concurrent simulates answered, the others 503");
    assert!(answered >= 2, "{answered} of 24 answered");
    // Allowed batches, concurrently.
    let batch = serde_json::to_vec(&json!({"requests": vec![one; 1_000]})).unwrap();
    for (status, body, _) in concurrently(&s, 8, "/v1/authorize/batch", &batch).await {
        assert!(status == 200 || status == 503, "{status}: {body}");
    }

    // Still serving, within the memory bound.
    assert_eq!(s.get_text("/healthz").await.0, 200);
    let hwm = proc_status("VmHWM") * 1024;
    let threads = proc_status("Threads");
    eprintln!("VmHWM {:.1} MiB, {threads} threads", hwm as f64 / MIB as f64);
    assert!(hwm < 256 * MIB, "VmHWM {} MiB", hwm / MIB);
    assert!(threads < 64, "{threads} threads");
    s.stop().await;
}
