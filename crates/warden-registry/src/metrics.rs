//! The registry's metrics in the Prometheus text format (version 0.0.4), served by
//! `warden serve --metrics-listen ADDR` at `GET /metrics` on a listener of its own (as
//! Distribution serves its metrics on its debug address), so that the registry's port answers
//! only authenticated clients. Lock-free: every update is a relaxed atomic add.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `warden_registry_requests_total` | counter | `api` (`distribution`, `ecr`, `other`), `code` (`2xx`…`5xx`) |
//! | `warden_registry_request_duration_seconds` | histogram | `api` |
//! | `warden_registry_decisions_total` | counter | `outcome` (`allow`, `explicit_deny`, `implicit_deny`) |
//! | `warden_registry_throttled_total` | counter | |
//! | `warden_trail_backlog` | gauge | records queued for the trail's writer |
//! | `warden_trail_records_written_total`, `warden_trail_syncs_total`, `warden_trail_files_sealed_total` | counter | |
//! | `warden_trail_write_failures_total`, `warden_trail_records_dropped_total`, `warden_trail_backpressure_total`, `warden_trail_rejected_calls_total` | counter | |
//! | `warden_trail_records_unwritten` | gauge | records held in memory while the trail cannot be written |
//! | `warden_trail_healthy` | gauge | 1 while the trail accepts calls |

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;
use warden_policy::Outcome;

use crate::access::Api;
use crate::trail::Trail;

/// Upper bounds (seconds) of the request-duration buckets.
pub const BUCKETS: [f64; 10] = [0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0];

const APIS: [(Api, &str); 3] = [(Api::Distribution, "distribution"), (Api::Ecr, "ecr"), (Api::Other, "other")];

/// One API's request counters.
#[derive(Debug, Default)]
struct PerApi {
    /// By status class 1xx..5xx.
    codes: [AtomicU64; 5],
    /// Per-bucket (not cumulative) counts; the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// The registry's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    apis: [PerApi; 3],
    decisions: [AtomicU64; 3],
    throttled: AtomicU64,
}

impl Metrics {
    /// Counts one request: its API, status, decision and duration.
    pub fn observe(&self, api: Api, status: StatusCode, decision: Option<Outcome>, took: Duration) {
        let index = APIS.iter().position(|(a, _)| *a == api).unwrap_or(2);
        if let Some(per) = self.apis.get(index) {
            let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
            if let Some(c) = per.codes.get(class) {
                c.fetch_add(1, Ordering::Relaxed);
            }
            let secs = took.as_secs_f64();
            let slot = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
            if let Some(b) = per.buckets.get(slot) {
                b.fetch_add(1, Ordering::Relaxed);
            }
            per.sum_micros.fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
        let outcome = match decision {
            Some(Outcome::Allowed) => 0,
            Some(Outcome::ExplicitDeny) => 1,
            Some(Outcome::ImplicitDeny) => 2,
            None => return,
        };
        if let Some(d) = self.decisions.get(outcome) {
            d.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a throttled call.
    pub fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition, with the trail's counters when there is a trail.
    pub fn render(&self, trail: Option<&Trail>) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP warden_registry_requests_total Requests answered, by API and status class.\n");
        out.push_str("# TYPE warden_registry_requests_total counter\n");
        for ((_, name), per) in APIS.iter().zip(&self.apis) {
            for (i, c) in per.codes.iter().enumerate() {
                let _ =
                    writeln!(out, "warden_registry_requests_total{{api=\"{name}\",code=\"{}xx\"}} {}", i + 1, load(c));
            }
        }
        out.push_str("# HELP warden_registry_request_duration_seconds Time from request to response head.\n");
        out.push_str("# TYPE warden_registry_request_duration_seconds histogram\n");
        for ((_, name), per) in APIS.iter().zip(&self.apis) {
            let mut cumulative = 0;
            for (bound, b) in BUCKETS.iter().zip(&per.buckets) {
                cumulative += load(b);
                let _ = writeln!(
                    out,
                    "warden_registry_request_duration_seconds_bucket{{api=\"{name}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += per.buckets.last().map(load).unwrap_or(0);
            let _ = writeln!(
                out,
                "warden_registry_request_duration_seconds_bucket{{api=\"{name}\",le=\"+Inf\"}} {cumulative}"
            );
            #[allow(clippy::cast_precision_loss)]
            let sum = load(&per.sum_micros) as f64 / 1e6;
            let _ = writeln!(out, "warden_registry_request_duration_seconds_sum{{api=\"{name}\"}} {sum}");
            let _ = writeln!(out, "warden_registry_request_duration_seconds_count{{api=\"{name}\"}} {cumulative}");
        }
        out.push_str("# HELP warden_registry_decisions_total Authorization decisions, by outcome.\n");
        out.push_str("# TYPE warden_registry_decisions_total counter\n");
        for (name, d) in ["allow", "explicit_deny", "implicit_deny"].iter().zip(&self.decisions) {
            let _ = writeln!(out, "warden_registry_decisions_total{{outcome=\"{name}\"}} {}", load(d));
        }
        out.push_str("# HELP warden_registry_throttled_total Calls refused by the token buckets.\n");
        out.push_str("# TYPE warden_registry_throttled_total counter\n");
        let _ = writeln!(out, "warden_registry_throttled_total {}", load(&self.throttled));
        if let Some(trail) = trail {
            let s = trail.stats();
            let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
                let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n");
            };
            let counter = |out: &mut String, name: &str, help: &str, v: u64| {
                let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n");
            };
            gauge(&mut out, "warden_trail_backlog", "Audit records queued for the writer.", load(&s.backlog));
            gauge(
                &mut out,
                "warden_trail_healthy",
                "1 while the audit trail accepts calls.",
                u64::from(trail.accepting()),
            );
            gauge(
                &mut out,
                "warden_trail_records_unwritten",
                "Audit records held in memory because the trail cannot be written.",
                load(&s.unwritten),
            );
            counter(&mut out, "warden_trail_records_written_total", "Audit records written.", load(&s.written));
            counter(&mut out, "warden_trail_syncs_total", "fdatasync calls of the audit log.", load(&s.syncs));
            counter(&mut out, "warden_trail_files_sealed_total", "CloudTrail log files written.", load(&s.sealed));
            counter(&mut out, "warden_trail_write_failures_total", "Failed audit log writes.", load(&s.failures));
            counter(
                &mut out,
                "warden_trail_records_dropped_total",
                "Audit records dropped beyond the memory bound.",
                load(&s.dropped),
            );
            counter(
                &mut out,
                "warden_trail_backpressure_total",
                "Requests that waited for room in the audit queue.",
                load(&s.backpressure),
            );
            counter(
                &mut out,
                "warden_trail_rejected_calls_total",
                "Calls refused because the audit trail could not be written.",
                load(&s.rejected),
            );
        }
        out
    }
}
