//! `warden`: the command line of the warden authorization engine.
//!
//! `main` only parses arguments and dispatches; each command lives in [`command`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod command;

/// Authorization that decides exactly as AWS IAM decides.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Offline twin of `aws iam simulate-custom-policy`: reads its `--cli-input-json` request,
    /// prints its response.
    Simulate(command::simulate::Args),
    /// ECR lifecycle policies offline: `warden lifecycle preview --policy FILE --images FILE`.
    Lifecycle(command::lifecycle::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate(args) => command::simulate::run(&args),
        Command::Lifecycle(args) => command::lifecycle::run(&args),
    }
}
