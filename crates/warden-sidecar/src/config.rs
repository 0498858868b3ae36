//! [`Config`] and the command-line [`Args`] of `warden authorizer`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use warden_policy::simulate::SimulateLimits;

use crate::decision_log::LogTarget;
use crate::pool;
use crate::server::serve;
use crate::state::{
    Limits, DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY, DEFAULT_MAX_CONTEXT_ENTRIES, DEFAULT_MAX_CONTEXT_VALUES,
};

/// How to run the authorizer.
#[derive(Debug, Clone)]
pub struct Config {
    /// The policies directory: `identities/` and an optional `routes.json`.
    pub policies: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Listen beyond loopback even with published demo keys loaded.
    pub allow_demo_keys: bool,
    /// Where to write decision lines; `None`: nowhere.
    pub decision_log: Option<LogTarget>,
    /// The share of decisions written, 0.0..=1.0.
    pub log_sample_rate: f64,
    /// How often the policies directory is polled for changes.
    pub reload_interval: Duration,
    /// Largest accepted request body (413 beyond).
    pub max_body_bytes: usize,
    /// Most requests in one batch.
    pub max_batch: usize,
    /// Most `context` entries of one authorize request.
    pub max_context_entries: usize,
    /// Most `context` values of one authorize request, summed over its entries.
    pub max_context_values: usize,
    /// The bounds of `/v1/simulate`.
    pub simulate: SimulateLimits,
    /// Evaluations (simulations, batches) running at once, off the async workers.
    pub eval_slots: usize,
    /// Most requests waiting for an evaluation slot (503 beyond).
    pub eval_max_waiting: usize,
    /// Longest wait for an evaluation slot (503 after it).
    pub eval_wait: Duration,
    /// Serve the hidden `POST /v1/noop` route (the benchmark's HTTP floor).
    pub bench_noop: bool,
    /// The listener's timeouts and connection limit.
    pub connections: warden_server::ServerLimits,
}

impl Config {
    /// The defaults for `policies` on `listen`.
    pub fn new(policies: impl Into<PathBuf>, listen: SocketAddr) -> Config {
        Config {
            policies: policies.into(),
            listen,
            allow_demo_keys: false,
            decision_log: None,
            log_sample_rate: 1.0,
            reload_interval: Duration::from_secs(1),
            max_body_bytes: DEFAULT_MAX_BODY,
            max_batch: DEFAULT_MAX_BATCH,
            max_context_entries: DEFAULT_MAX_CONTEXT_ENTRIES,
            max_context_values: DEFAULT_MAX_CONTEXT_VALUES,
            simulate: SimulateLimits::default(),
            eval_slots: pool::default_slots(),
            eval_max_waiting: pool::DEFAULT_MAX_WAITING,
            eval_wait: pool::DEFAULT_WAIT,
            bench_noop: false,
            connections: warden_server::ServerLimits::default(),
        }
    }

    /// The limits the server applies.
    pub fn limits(&self) -> Limits {
        Limits {
            max_body: self.max_body_bytes,
            max_batch: self.max_batch,
            max_context_entries: self.max_context_entries,
            max_context_values: self.max_context_values,
            simulate: self.simulate,
            eval_slots: self.eval_slots,
            eval_max_waiting: self.eval_max_waiting,
            eval_wait: self.eval_wait,
        }
    }
}

/// Arguments of `warden authorizer`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The policies directory: `identities/` (users, roles, policies) and `routes.json` (the
    /// route table of `/v1/check`).
    #[arg(long, default_value = "policies")]
    pub policies: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8181")]
    pub listen: SocketAddr,
    /// Listen beyond loopback even though published demo access keys are loaded.
    #[arg(long)]
    pub allow_demo_keys: bool,
    /// Write one JSON line per decision to this file, or `-` for standard output.
    #[arg(long, value_name = "PATH|-")]
    pub decision_log: Option<String>,
    /// The share of decisions written to the decision log (0.0 to 1.0).
    #[arg(long, default_value_t = 1.0, value_parser = sample_rate)]
    pub log_sample_rate: f64,
    /// How often to poll the policies directory for changes, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub reload_interval_ms: u64,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY)]
    pub max_body_bytes: usize,
    /// Most requests in one `/v1/authorize/batch`.
    #[arg(long, default_value_t = DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// Most `ActionNames` in one `/v1/simulate`.
    #[arg(long, default_value_t = SimulateLimits::default().max_action_names)]
    pub max_simulate_actions: usize,
    /// Most `ResourceArns` in one `/v1/simulate`.
    #[arg(long, default_value_t = SimulateLimits::default().max_resource_arns)]
    pub max_simulate_resources: usize,
    /// Most evaluations (action names × resources) in one `/v1/simulate`.
    #[arg(long, default_value_t = SimulateLimits::default().max_evaluations)]
    pub max_simulate_evaluations: usize,
    /// Evaluations (simulations, batches) running at once, off the async workers [default: the
    /// number of CPUs].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub eval_slots: Option<u16>,
    /// Longest wait for an evaluation slot, in milliseconds; 503 after it.
    #[arg(long, default_value_t = 2000)]
    pub eval_wait_ms: u64,
    /// Most requests waiting for an evaluation slot; 503 beyond.
    #[arg(long, default_value_t = pool::DEFAULT_MAX_WAITING)]
    pub eval_queue: usize,
    /// Serve `POST /v1/noop`, a handler that does nothing (the benchmark's HTTP floor).
    #[arg(long, hide = true)]
    pub bench_noop: bool,
    /// Seconds a client has to send a request's head before its connection is closed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Seconds a connection may wait on its client before it is closed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Connections served at once (default: from the descriptor limit); more wait to be accepted.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
}

fn sample_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("`{text}` is not between 0.0 and 1.0"))
    }
}

impl From<Args> for Config {
    fn from(args: Args) -> Config {
        Config {
            decision_log: args.decision_log.as_deref().map(LogTarget::parse),
            log_sample_rate: args.log_sample_rate,
            reload_interval: Duration::from_millis(args.reload_interval_ms.max(10)),
            max_body_bytes: args.max_body_bytes,
            max_batch: args.max_batch,
            simulate: SimulateLimits {
                max_action_names: args.max_simulate_actions,
                max_resource_arns: args.max_simulate_resources,
                max_evaluations: args.max_simulate_evaluations,
                ..SimulateLimits::default()
            },
            eval_slots: args.eval_slots.map_or_else(pool::default_slots, usize::from),
            eval_max_waiting: args.eval_queue,
            eval_wait: Duration::from_millis(args.eval_wait_ms),
            allow_demo_keys: args.allow_demo_keys,
            bench_noop: args.bench_noop,
            connections: warden_server::ServerLimits {
                header_read_timeout: Duration::from_secs(args.header_read_timeout),
                idle_timeout: Duration::from_secs(args.idle_timeout),
                max_connections: args.max_connections.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                ..warden_server::ServerLimits::default()
            },
            ..Config::new(args.policies, args.listen)
        }
    }
}

/// Runs `warden authorizer` on its own tokio runtime until SIGTERM or ctrl-c. Exit status 0 after
/// a graceful shutdown, 1 when the server could not start (the message says why).
pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warden authorizer: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(Config::from(args))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden authorizer: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn config(argv: &[&str]) -> Config {
        Config::from(Cli::try_parse_from(std::iter::once("authorizer").chain(argv.iter().copied())).unwrap().args)
    }

    #[test]
    fn limit_flags_reach_the_config() {
        let defaults = config(&[]).limits();
        assert_eq!(defaults, Limits::default());
        assert_eq!(
            (defaults.simulate.max_action_names, defaults.simulate.max_evaluations, defaults.max_batch),
            (1000, 10_000, 1000)
        );
        assert_eq!(defaults.eval_wait, pool::DEFAULT_WAIT);
        let set = config(&[
            "--max-batch=5",
            "--max-simulate-actions=6",
            "--max-simulate-resources=7",
            "--max-simulate-evaluations=8",
            "--eval-slots=3",
            "--eval-wait-ms=250",
            "--eval-queue=9",
        ])
        .limits();
        assert_eq!(
            (
                set.max_batch,
                set.simulate.max_action_names,
                set.simulate.max_resource_arns,
                set.simulate.max_evaluations
            ),
            (5, 6, 7, 8)
        );
        assert_eq!((set.eval_slots, set.eval_wait, set.eval_max_waiting), (3, Duration::from_millis(250), 9));
        assert!(Cli::try_parse_from(["authorizer", "--eval-slots=0"]).is_err());
    }
}
