//! While CPU-heavy (but allowed) simulations keep every evaluation slot busy, `/healthz`, `/readyz`
//! and `/metrics` still answer promptly: evaluations run on blocking threads, never on the async
//! workers. (With evaluation inline on the async workers, `/healthz` took 9 s under four such
//! simulations.) One test in this file, so no other test competes for the CPU.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{heavy_simulation, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_within_a_second_while_simulations_saturate_the_cpu() {
    let s = TestServer::start().await;
    let body = heavy_simulation(100, 20, 200);
    let polling = Arc::new(AtomicBool::new(true));
    let (answered, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    // Four clients send heavy simulations back to back until the polling ends (more than the
    // slots, one per CPU: the extra ones wait for a slot or are refused with 503).
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, body) = (s.client.clone(), s.url("/v1/simulate"), body.clone());
            let (polling, answered, refused) = (polling.clone(), answered.clone(), refused.clone());
            tokio::spawn(async move {
                while polling.load(Ordering::Relaxed) {
                    let resp = client.post(&url).json(&body).send().await.unwrap();
                    match resp.status().as_u16() {
                        200 => answered.fetch_add(1, Ordering::Relaxed),
                        503 => refused.fetch_add(1, Ordering::Relaxed),
                        other => panic!("{other}: {}", resp.text().await.unwrap()),
                    };
                    let _ = resp.bytes().await;
                }
            })
        })
        .collect();
    // Let them take the slots.
    assert!(common::eventually(10, || async { s.metric("warden_evaluation_slots_busy").await >= 1.0 }).await);

    let mut slowest = Duration::ZERO;
    let mut busy_seen = 0;
    for i in 0..20 {
        let path = ["/healthz", "/readyz", "/metrics", "/healthz"][i % 4];
        let started = Instant::now();
        let resp = tokio::time::timeout(Duration::from_secs(1), s.client.get(s.url(path)).send()).await;
        let took = started.elapsed();
        let resp = resp.unwrap_or_else(|_| panic!("poll {i}: {path} did not answer within 1 s"));
        assert_eq!(resp.unwrap().status(), 200, "poll {i}: {path}");
        assert!(took < Duration::from_secs(1), "poll {i}: {path} took {took:?}");
        slowest = slowest.max(took);
        if s.metric("warden_evaluation_slots_busy").await >= 1.0 {
            busy_seen += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    polling.store(false, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let (answered, refused) = (answered.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    eprintln!("slowest poll {slowest:?}; slots busy at {busy_seen} of 20 polls; {answered} simulations answered, {refused} refused with 503");
    // The load was real: the slots were busy while the polls were answered.
    assert!(busy_seen >= 10, "slots busy at only {busy_seen} of 20 polls");
    assert!(answered >= 1);
    s.stop().await;
}
