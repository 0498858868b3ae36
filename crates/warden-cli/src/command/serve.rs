//! `warden serve`, `warden get-login-password`, `warden create-repository`: the bundled registry
//! and its operator commands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use warden_identity::{ReloadEvent, Store, StoreHandle};
use warden_registry::storage::s3::S3Config;
use warden_registry::storage::{Backends, BlobBackend, MetaBackend};
use warden_registry::{Config, Registry};

/// Where the registry keeps its state and identities.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Blobs, database and token key.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// The policies directory (`identities/`).
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// The registry's account.
    #[arg(long, default_value = "111122223333")]
    account_id: String,
    /// The registry's region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Quota: repositories in the registry (ECR's default: 1,000).
    #[arg(long, default_value_t = 1_000)]
    max_repositories: usize,
    /// Quota: images per repository (ECR's default: 1,000).
    #[arg(long, default_value_t = 1_000)]
    max_images_per_repository: usize,
    /// Quota: tags per image (ECR's: 100).
    #[arg(long, default_value_t = 100)]
    max_tags_per_image: usize,
    /// Where blobs live: `fs` (under the data directory, the default) or `s3://BUCKET/PREFIX` on
    /// any S3-compatible object store (credentials from the usual AWS environment variables).
    #[arg(long, env = "WARDEN_BLOB_STORE", default_value = "fs", value_name = "fs|s3://BUCKET/PREFIX")]
    blob_store: String,
    /// The object store's endpoint (`http://127.0.0.1:3900` for a local Garage or MinIO); AWS S3
    /// when absent.
    #[arg(long, env = "WARDEN_S3_ENDPOINT", value_name = "URL")]
    s3_endpoint: Option<String>,
    /// The object store's region (default: `AWS_REGION`, else `us-east-1`).
    #[arg(long, env = "WARDEN_S3_REGION", value_name = "REGION")]
    s3_region: Option<String>,
    /// Where metadata lives: `sqlite` (under the data directory, the default) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`; prefer the environment variable for a URL
    /// with a password.
    #[arg(
        long,
        env = "WARDEN_METADATA",
        default_value = "sqlite",
        value_name = "sqlite|postgres://…",
        hide_env_values = true
    )]
    metadata: String,
}

impl Common {
    fn config(&self) -> Result<Config, String> {
        Ok(Config {
            data_dir: self.data_dir.clone(),
            policies_dir: self.policies.clone(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            limits: warden_registry::Limits {
                repositories: self.max_repositories,
                images_per_repository: self.max_images_per_repository,
                tags_per_image: self.max_tags_per_image,
            },
            storage: self.backends()?,
            throttle: warden_registry::ThrottleConfig::default(),
            trail: None,
        })
    }

    fn backends(&self) -> Result<Backends, String> {
        let blobs = match self.blob_store.as_str() {
            "fs" => BlobBackend::Filesystem,
            url => {
                let region = self
                    .s3_region
                    .clone()
                    .or_else(|| std::env::var("AWS_REGION").ok())
                    .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
                    .unwrap_or_else(|| "us-east-1".to_owned());
                BlobBackend::S3(
                    S3Config::from_url(url, self.s3_endpoint.as_deref(), &region)
                        .map_err(|e| format!("--blob-store: {e}"))?,
                )
            }
        };
        if matches!(blobs, BlobBackend::Filesystem) && (self.s3_endpoint.is_some() || self.s3_region.is_some()) {
            return Err("--s3-endpoint and --s3-region need --blob-store s3://BUCKET/PREFIX".into());
        }
        let metadata = MetaBackend::parse(&self.metadata).map_err(|e| format!("--metadata: {e}"))?;
        Ok(Backends { blobs, metadata })
    }
}

/// Arguments of `warden serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Listen beyond loopback even with the published demo keys loaded.
    #[arg(long)]
    allow_demo_keys: bool,
    /// A proxy (address or CIDR) whose `X-Forwarded-For` is believed; repeatable. Without one,
    /// the TCP peer is the client (`aws:SourceIp`), whatever headers say.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_cidr)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds a client has to send a request's head before its connection is closed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,
    /// Seconds a connection may wait on its client (a stalled body, an unread download, an idle
    /// keep-alive) before it is closed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Connections served at once (default: from the descriptor limit, raised to its hard limit);
    /// more wait in the accept queue.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// How often lifecycle policies are applied, in seconds (ECR applies them within 24 hours).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    lifecycle_interval: u64,
    /// Request throttling as ECR's quotas (`on`, the default: the user guide's table) or `off`.
    #[arg(long, default_value = "on", value_name = "on|off", value_parser = ["on", "off"])]
    throttle: String,
    /// Rates of the throttle's classes, JSON: `{"pull": {"rate_per_second": 200, "burst": 400},
    /// …}` for any of `get_authorization_token`, `pull`, `pull_layer`, `push`, `other` (a class
    /// left out keeps the guide's rate). Per instance: N instances allow N × these rates.
    #[arg(long, value_name = "FILE")]
    throttle_config: Option<PathBuf>,
    /// The audit trail: a CloudTrail record of every call, as CloudTrail log files (`on`, the
    /// default) or none (`off`). Read it with `warden trail lookup`.
    #[arg(long, default_value = "on", value_name = "on|off", value_parser = ["on", "off"])]
    trail: String,
    /// Where the trail is written (default: `<data-dir>/trail`).
    #[arg(long, value_name = "DIR")]
    trail_dir: Option<PathBuf>,
    /// When the trail cannot be written (a full disk): `reject` refuses calls (503) until it can,
    /// so no call goes unrecorded; `continue` serves on and holds records in memory (counted in
    /// the metrics, bounded).
    #[arg(long, default_value = "reject", value_name = "reject|continue")]
    trail_on_failure: warden_registry::trail::OnFailure,
    /// 0 (the default): a mutating call is answered once its audit record is synced to disk.
    /// N > 0: it is answered once the record is written to the operating system (a killed
    /// process loses nothing) and synced within N milliseconds (only a machine crash in that
    /// window can lose it); faster for clients that make many small writes.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    trail_sync_window_ms: u64,
    /// Seconds between CloudTrail log files (CloudTrail delivers about every 5 minutes).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    trail_interval: u64,
    /// Serve Prometheus metrics at `GET /metrics` on this address (off by default; the registry's
    /// own port serves only authenticated clients).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// The web console at `/console` on the registry's port (`on`, the default, or `off`):
    /// repositories, images, policies with live validation, the simulator, lifecycle previews,
    /// the audit trail and who-can, as the signed-in user.
    #[arg(long, default_value = "on", value_name = "on|off", value_parser = ["on", "off"])]
    console: String,
    /// Seconds a console session lasts after sign-in.
    #[arg(long, default_value_t = 900, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=43_200))]
    console_session_ttl: u64,
    /// Mark the console's session cookie `Secure` (sent only over HTTPS): set it when the console
    /// is reached through a TLS-terminating proxy.
    #[arg(long)]
    console_secure_cookie: bool,
    #[command(flatten)]
    common: Common,
}

impl ServeArgs {
    /// The throttle: `--throttle-config` on the guide's defaults, or off.
    fn throttle(&self) -> Result<warden_registry::ThrottleConfig, String> {
        let mut config = match &self.throttle_config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| format!("--throttle-config {}: {e}", path.display()))?;
                warden_registry::ThrottleConfig::from_json(&text)
                    .map_err(|e| format!("--throttle-config {}: {e}", path.display()))?
            }
            None => warden_registry::ThrottleConfig::default(),
        };
        config.enabled = self.throttle == "on";
        Ok(config)
    }
}

/// Arguments of `warden get-login-password`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The IAM user to mint the token for.
    #[arg(long)]
    user: String,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `warden create-repository`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The repository name (`team-a/web-app`).
    #[arg(long)]
    repository_name: String,
    /// Resource tags, `key=value` (several after one flag, or comma-separated).
    #[arg(long = "tags", value_delimiter = ',', num_args = 1..)]
    tags: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `warden findings`.
#[derive(Debug, clap::Args)]
pub struct FindingsArgs {
    /// The registry's data directory (the same as `--data-dir`).
    #[arg(long, value_name = "DATA_DIR")]
    registry: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// `10.0.0.0/8`, or a bare address as a one-address network.
fn parse_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not an IP address or CIDR"))
}

/// Logs to stderr through `tracing`: `RUST_LOG` when set, else `info` (one access line per
/// request under the target `warden::access`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Blocking-pool threads at most: metadata (SQLite serializes it), blob reads and writes. The
/// registry bounds each of its own uses; this bounds the sum, so no burst of requests — or of
/// stalled clients — grows the process by a thread each.
const MAX_BLOCKING_THREADS: usize = 12;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn finish(result: Result<(), String>, command: &str) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden {command}: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs `warden serve`.
pub fn serve(args: &ServeArgs) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(run_serve(args))), "serve")
}

async fn run_serve(args: &ServeArgs) -> Result<(), String> {
    init_logging();
    let mut config = args.common.config()?;
    config.throttle = args.throttle()?;
    if !config.throttle.enabled {
        eprintln!("warden: throttling is off");
    }
    if args.trail == "on" {
        let dir = args.trail_dir.clone().unwrap_or_else(|| config.data_dir.join("trail"));
        let mut trail = warden_registry::trail::TrailConfig::new(dir, &config.account_id, &config.region);
        trail.on_failure = args.trail_on_failure;
        trail.interval = Duration::from_secs(args.trail_interval);
        trail.sync_window = (args.trail_sync_window_ms > 0).then(|| Duration::from_millis(args.trail_sync_window_ms));
        config.trail = Some(trail);
    } else {
        eprintln!("warden: the audit trail is off");
    }
    let store = Arc::new(StoreHandle::load(&config.policies_dir).map_err(|e| e.to_string())?);
    store.current().check_listen(&args.listen, args.allow_demo_keys).map_err(|e| e.to_string())?;
    let _watcher = store
        .watch(Duration::from_secs(2), |event| match event {
            ReloadEvent::Reloaded => tracing::info!("identities reloaded"),
            ReloadEvent::Rejected(e) => {
                tracing::error!("identities NOT reloaded; the last good set keeps serving:\n{e}")
            }
        })
        .map_err(|e| e.to_string())?;
    let registry = Arc::new(Registry::open_with(config.clone(), store).await.map_err(|e| e.to_string())?);
    let listener = warden_server::bind(args.listen).map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("warden: listening on http://{addr}");
    eprintln!(
        "warden: log in with\n  warden get-login-password --user admin --data-dir {} --policies {} | docker login --username AWS --password-stdin {addr}",
        config.data_dir.display(),
        config.policies_dir.display()
    );
    if args.console == "on" {
        eprintln!("warden: console at http://{addr}/console");
        eprintln!(
            "  sign in with an access key ID and its secret access key from {}/identities/*.json,",
            config.policies_dir.display()
        );
        if registry.store.current().credential("AKIAIOSFODNN7EXAMPLE").is_some_and(|c| c.demo) {
            eprintln!("  e.g. the demo user admin's key AKIAIOSFODNN7EXAMPLE (its secret is beside it in demo.json),");
        }
        eprintln!("  or with a registry token (`warden get-login-password --user NAME`)");
    }
    let scheduler = warden_registry::lifecycle::spawn_scheduler(
        Arc::clone(&registry),
        std::time::Duration::from_secs(args.lifecycle_interval),
    );
    if !args.trusted_proxies.is_empty() {
        eprintln!("warden: X-Forwarded-For is believed from {:?}", args.trusted_proxies);
    }
    let limits = warden_server::ServerLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: args.max_connections.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        ..warden_server::ServerLimits::default()
    };
    let metrics = match args.metrics_listen {
        Some(at) => {
            let l = warden_server::bind(at).map_err(|e| format!("cannot listen on {at}: {e}"))?;
            eprintln!("warden: metrics on http://{}/metrics", l.local_addr().map_err(|e| e.to_string())?);
            let app = warden_registry::metrics_router(Arc::clone(&registry));
            Some(tokio::spawn(warden_server::serve(l, app, limits, std::future::pending())))
        }
        None => None,
    };
    let console = (args.console == "on").then(|| warden_registry::console::ConsoleOptions {
        session_ttl: Duration::from_secs(args.console_session_ttl),
        secure_cookie: args.console_secure_cookie,
    });
    let options = warden_registry::ServeOptions { trusted_proxies: args.trusted_proxies.clone(), limits, console };
    let served = warden_registry::serve_with(Arc::clone(&registry), listener, options).await.map_err(|e| e.to_string());
    scheduler.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    // Everything queued is written and the log sealed into a log file before the process exits.
    if let Some(trail) = registry.trail.as_ref() {
        trail.close();
    }
    served
}

/// Runs `warden get-login-password`.
pub fn get_login_password(args: &LoginArgs) -> ExitCode {
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let config = args.common.config()?;
            let store = Store::load(&config.policies_dir).map_err(|e| e.to_string())?;
            let user = store
                .user(&config.account_id, &args.user)
                .ok_or_else(|| format!("no user `{}` in account {}", args.user, config.account_id))?;
            // The key every instance of this registry verifies with: a shared metadata store's.
            let meta = config.storage.open_metadata(&config.data_dir).await.map_err(|e| e.to_string())?;
            let key =
                warden_registry::state::shared_token_key(&config.data_dir, &meta).await.map_err(|e| e.to_string())?;
            let issuer = warden_auth::TokenIssuer::new(&key, &config.account_id, &config.region);
            let (password, _) = issuer.mint(&user.arn, SystemTime::now());
            println!("{password}");
            Ok(())
        })
    });
    finish(result, "get-login-password")
}

/// Runs `warden create-repository`.
pub fn create_repository(args: &CreateArgs) -> ExitCode {
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let tags = args
                .tags
                .iter()
                .map(|t| t.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("tag `{t}` is not key=value")))
                .collect::<Result<Vec<_>, _>>()?;
            // An operator command on the local store: it needs no identities.
            let config = args.common.config()?;
            let store = Arc::new(StoreHandle::from_store(&config.policies_dir, Store::default()));
            let registry = Registry::open_with(config, store).await.map_err(|e| e.to_string())?;
            let created = registry.create_repository(&args.repository_name, tags).await.map_err(|e| e.to_string())?;
            if !created {
                return Err(format!(
                    "RepositoryAlreadyExistsException: The repository with name '{}' already exists in the registry with id '{}'",
                    args.repository_name, args.common.account_id
                ));
            }
            println!(
                "{}",
                serde_json::json!({"repository": {
                    "repositoryName": args.repository_name,
                    "repositoryArn": registry.repository_arn(&args.repository_name),
                    "registryId": args.common.account_id,
                }})
            );
            Ok(())
        })
    });
    finish(result, "create-repository")
}

/// Runs `warden findings`: every repository's policy analyzed for access from outside the
/// registry's account (`warden_policy::analyze`), printed as Access Analyzer's ListFindings
/// response (`{"findings": [...]}`), with the statements the method could not decide under
/// `undecided`. Exit status 0, or 2 when the store cannot be read.
pub fn findings(args: &FindingsArgs) -> ExitCode {
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let mut config = args.common.config()?;
            if let Some(dir) = &args.registry {
                config.data_dir = dir.clone();
            }
            let meta = config.storage.open_metadata(&config.data_dir).await.map_err(|e| e.to_string())?;
            let owner = config.account_id.clone();
            let (names, rows) = tokio::task::spawn_blocking(move || {
                let names = meta.repositories()?;
                let rows = names.iter().map(|n| meta.repository(n)).collect::<Result<Vec<_>, _>>()?;
                Ok::<_, warden_registry::storage::meta::MetaError>((names, rows))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            let now = warden_registry::trail::event::event_time(warden_registry::state::now());
            let mut findings = Vec::new();
            let mut undecided = Vec::new();
            for (name, row) in names.iter().zip(rows) {
                let Some(policy) = row.and_then(|r| r.policy) else { continue };
                let arn = format!("arn:aws:ecr:{}:{owner}:repository/{name}", config.region);
                let access = warden_policy::analyze::external_access(&policy, &owner)
                    .map_err(|e| format!("repository {name}: stored policy: {e}"))?;
                for f in access.findings {
                    findings.push(serde_json::json!({
                        "id": format!("{name}/{}/{}", f.statement_index, f.principal.values().cloned().collect::<Vec<_>>().join(",")),
                        "resource": arn,
                        "resourceType": "AWS::ECR::Repository",
                        "resourceOwnerAccount": owner,
                        "principal": f.principal,
                        "action": f.action,
                        "condition": f.condition,
                        "isPublic": f.is_public,
                        "status": "ACTIVE",
                        "analyzedAt": now,
                        "createdAt": now,
                        "updatedAt": now,
                        "sources": [{"type": "POLICY", "detail": {"statementIndex": f.statement_index, "statementId": f.statement_id}}],
                    }));
                }
                for u in access.undecided {
                    undecided.push(serde_json::json!({"resource": arn, "statementIndex": u.statement_index, "statementId": u.statement_id, "reason": u.reason}));
                }
            }
            let out = serde_json::json!({"findings": findings, "undecided": undecided});
            println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
            Ok(())
        })
    });
    finish(result, "findings")
}
