//! `warden`: the command line of the warden authorization engine.
//!
//! `main` only parses arguments and dispatches; each command lives in [`command`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod command;

/// Authorization that decides exactly as AWS IAM decides, and the container registry it guards.
#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "Authorization that decides exactly as AWS IAM decides, and an Amazon ECR-compatible container registry it guards",
    long_about = "Authorization that decides exactly as AWS IAM decides, and an Amazon ECR-compatible container registry it guards.

  The registry:     `warden serve` — OCI distribution / Docker Registry V2 and the Amazon ECR API (the AWS CLI,
                    SDKs, docker, skopeo and oras work unchanged), every request authorized by IAM policies, a
                    CloudTrail-format audit trail, and a web console at http://ADDR/console.
  Policy tools:     simulate, validate, explain, test, check, who-can, principal-can, findings, lifecycle — offline,
                    on policy files and the identity store (policies/identities/*.json).
  Decision service: `warden authorizer` — /v1/authorize, /v1/check and AuthZEN 1.0, beside apps in any language.

Start with `warden serve` (it prints the console's address and how to sign in)."
)]
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
    /// Findings in the style of IAM Access Analyzer's policy validation.
    Validate(command::validate::Args),
    /// Why a request is allowed or denied, statement by statement, and what would allow it.
    Explain(command::explain::Args),
    /// Policy unit tests: requests and expected decisions, as files.
    Test(command::policy_test::Args),
    /// Policy checks offline, answered as IAM Access Analyzer answers them, with witness
    /// requests: `no-new-access`, `access-not-granted`, `public-access`.
    Check(command::check::Args),
    /// Every principal of the identity store (and outside it, through the resource policy) that
    /// may perform an action on a resource, with the conditions under which it may.
    WhoCan(command::who::WhoCanArgs),
    /// What a principal may do: actions and resources, with the conditions under which.
    PrincipalCan(command::who::PrincipalCanArgs),
    /// External-access findings for every repository of the registry, as Access Analyzer's.
    Findings(command::serve::FindingsArgs),
    /// The bundled registry: OCI / Docker Registry V2 and the ECR API, authorized like ECR, with
    /// its audit trail and the web console at `/console`.
    Serve(Box<command::serve::ServeArgs>),
    /// A registry password for a user (the twin of `aws ecr get-login-password`).
    GetLoginPassword(command::serve::LoginArgs),
    /// Creates a repository in the local registry store.
    CreateRepository(command::serve::CreateArgs),
    /// The registry's audit trail, read back as `aws cloudtrail lookup-events` reads CloudTrail:
    /// `warden trail lookup [--lookup-attributes ...] [--start-time T] [--end-time T]`.
    Trail(command::trail::Args),
    /// A stateless decision service beside apps in any language (`/v1/authorize`, `/v1/check`,
    /// AuthZEN 1.0).
    Authorizer(warden_sidecar::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate(args) => command::simulate::run(&args),
        Command::Lifecycle(args) => command::lifecycle::run(&args),
        Command::Validate(args) => command::validate::run(&args),
        Command::Explain(args) => command::explain::run(&args),
        Command::Test(args) => command::policy_test::run(&args),
        Command::Check(args) => command::check::run(&args),
        Command::Findings(args) => command::serve::findings(&args),
        Command::WhoCan(args) => command::who::who_can(&args),
        Command::PrincipalCan(args) => command::who::principal_can(&args),
        Command::Serve(args) => command::serve::serve(&args),
        Command::GetLoginPassword(args) => command::serve::get_login_password(&args),
        Command::CreateRepository(args) => command::serve::create_repository(&args),
        Command::Trail(args) => command::trail::run(&args),
        Command::Authorizer(args) => warden_sidecar::run(args),
    }
}
