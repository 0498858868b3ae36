//! Counters and the decision-latency histogram, exposed in the Prometheus text format
//! (version 0.0.4) at `GET /metrics`. Lock-free: every update is a relaxed atomic add.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use warden_identity::StoreHandle;
use warden_policy::Outcome;

/// Upper bounds (seconds) of the `warden_decision_duration_seconds` buckets.
pub const BUCKETS: [f64; 12] =
    [0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1];

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    allowed: AtomicU64,
    explicit_deny: AtomicU64,
    implicit_deny: AtomicU64,
    /// Per-bucket (not cumulative) counts; the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    unrouted: AtomicU64,
    route_reloads: AtomicU64,
    route_reload_failures: AtomicU64,
}

impl Metrics {
    /// Counts one decision and its latency.
    pub fn record(&self, outcome: Outcome, took: Duration) {
        let counter = match outcome {
            Outcome::Allowed => &self.allowed,
            Outcome::ExplicitDeny => &self.explicit_deny,
            Outcome::ImplicitDeny => &self.implicit_deny,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let slot = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        if let Some(b) = self.buckets.get(slot) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts a check request that no route matched.
    pub fn record_unrouted(&self) {
        self.unrouted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a `routes.json` reload attempt.
    pub fn record_route_reload(&self, ok: bool) {
        let c = if ok { &self.route_reloads } else { &self.route_reload_failures };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; reload counts of the identity store come from `store`.
    pub fn render(&self, store: &StoreHandle) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "# HELP warden_decisions_total Authorization decisions, by result.");
        let _ = writeln!(out, "# TYPE warden_decisions_total counter");
        for (result, c) in
            [("allowed", &self.allowed), ("explicitDeny", &self.explicit_deny), ("implicitDeny", &self.implicit_deny)]
        {
            let _ = writeln!(out, "warden_decisions_total{{result=\"{result}\"}} {}", get(c));
        }
        let _ = writeln!(
            out,
            "# HELP warden_decision_duration_seconds Time to decide one request, body parsed to answer built."
        );
        let _ = writeln!(out, "# TYPE warden_decision_duration_seconds histogram");
        let mut cumulative = 0u64;
        for (bound, c) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += get(c);
            let _ = writeln!(out, "warden_decision_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets.last().map_or(0, get);
        let _ = writeln!(out, "warden_decision_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = Duration::from_nanos(get(&self.sum_nanos)).as_secs_f64();
        let _ = writeln!(out, "warden_decision_duration_seconds_sum {sum}");
        let _ = writeln!(out, "warden_decision_duration_seconds_count {cumulative}");
        let _ = writeln!(out, "# HELP warden_reloads_total Successful reloads of the policies directory, by source.");
        let _ = writeln!(out, "# TYPE warden_reloads_total counter");
        let _ = writeln!(out, "warden_reloads_total{{source=\"identities\"}} {}", store.reloads());
        let _ = writeln!(out, "warden_reloads_total{{source=\"routes\"}} {}", get(&self.route_reloads));
        let _ = writeln!(
            out,
            "# HELP warden_reload_failures_total Refused reloads (the last good set kept serving), by source."
        );
        let _ = writeln!(out, "# TYPE warden_reload_failures_total counter");
        let _ = writeln!(out, "warden_reload_failures_total{{source=\"identities\"}} {}", store.failures());
        let _ = writeln!(out, "warden_reload_failures_total{{source=\"routes\"}} {}", get(&self.route_reload_failures));
        let _ = writeln!(out, "# HELP warden_check_unrouted_total Check requests that no route matched (refused).");
        let _ = writeln!(out, "# TYPE warden_check_unrouted_total counter");
        let _ = writeln!(out, "warden_check_unrouted_total {}", get(&self.unrouted));
        let _ = writeln!(out, "# HELP warden_store_generation Changes whenever a new identity store starts serving.");
        let _ = writeln!(out, "# TYPE warden_store_generation gauge");
        let _ = writeln!(out, "warden_store_generation {}", store.generation());
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.record(Outcome::Allowed, Duration::from_micros(5));
        m.record(Outcome::ImplicitDeny, Duration::from_micros(700));
        m.record(Outcome::ImplicitDeny, Duration::from_secs(1));
        let store = warden_identity::Store::from_texts(&[]).unwrap();
        let text = m.render(&StoreHandle::from_store(std::path::Path::new("."), store));
        assert!(text.contains("warden_decisions_total{result=\"implicitDeny\"} 2\n"), "{text}");
        assert!(text.contains("warden_decision_duration_seconds_bucket{le=\"0.00001\"} 1\n"), "{text}");
        assert!(text.contains("warden_decision_duration_seconds_bucket{le=\"0.001\"} 2\n"), "{text}");
        assert!(text.contains("warden_decision_duration_seconds_bucket{le=\"0.1\"} 2\n"), "{text}");
        assert!(text.contains("warden_decision_duration_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("warden_decision_duration_seconds_count 3\n"), "{text}");
    }
}
