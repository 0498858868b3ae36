//! The access log: one `tracing` event per request (target `warden::access`) with the caller,
//! the ECR action(s) decided, the decision, the status and the latency. The decisions are taken
//! from the authorization layer through a [`DecisionHook`] that writes into a task-local slot the
//! logging middleware opens around each request.

use std::cell::RefCell;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use warden_policy::Outcome;
use warden_tower::{ClientAddr, DecisionHook, DecisionRecord};

/// What the authorization layer decided for the current request.
#[derive(Debug, Default)]
struct Entry {
    caller: Option<String>,
    actions: Vec<String>,
    decision: Option<Outcome>,
}

tokio::task_local! {
    static ENTRY: RefCell<Entry>;
}

/// Feeds the access log with the layer's decisions.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessHook;

impl DecisionHook for AccessHook {
    fn on_decision(&self, record: &DecisionRecord<'_, '_>) {
        let _ = ENTRY.try_with(|entry| {
            let mut entry = entry.borrow_mut();
            if entry.caller.is_none() {
                entry.caller = Some(record.caller.principal.arn().to_owned());
            }
            entry.actions.push(record.check.action.to_string());
            // The first check that is not allowed decides the request.
            if entry.decision.is_none_or(|d| d == Outcome::Allowed) {
                entry.decision = Some(record.decision.outcome);
            }
        });
    }
}

/// The logging middleware.
pub async fn log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().chars().take(512).collect::<String>();
    let client = req.extensions().get::<ClientAddr>().map(|a| a.0);
    let (resp, entry) = ENTRY
        .scope(RefCell::new(Entry::default()), async move {
            let resp = next.run(req).await;
            (resp, ENTRY.with(|e| std::mem::take(&mut *e.borrow_mut())))
        })
        .await;
    let decision = match entry.decision {
        Some(Outcome::Allowed) => "allow",
        Some(Outcome::ExplicitDeny) => "explicit-deny",
        Some(Outcome::ImplicitDeny) => "implicit-deny",
        None => "none",
    };
    tracing::info!(
        target: "warden::access",
        %method,
        path,
        client = client.map(|c| c.to_string()).unwrap_or_default(),
        caller = entry.caller.as_deref().unwrap_or("-"),
        action = entry.actions.join(","),
        decision,
        status = resp.status().as_u16(),
        latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    resp
}
