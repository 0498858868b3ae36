//! `warden authorizer` without the `warden` binary (for the benchmark and local trials):
//! `cargo run --release -p warden-sidecar --example authorizer -- --policies DIR`.

use clap::Parser;

/// `warden authorizer`.
#[derive(Debug, Parser)]
#[command(name = "warden-authorizer")]
struct Cli {
    #[command(flatten)]
    args: warden_sidecar::Args,
}

fn main() -> std::process::ExitCode {
    warden_sidecar::run(Cli::parse().args)
}
