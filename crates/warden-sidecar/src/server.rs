//! Starting, reloading and stopping the server.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use warden_identity::{ReloadEvent, StoreHandle, Watcher};

use crate::config::Config;
use crate::decision_log::DecisionLog;
use crate::error::Error;
use crate::route_table::RouteTable;
use crate::routes::router;
use crate::state::AppState;

/// A bound, not yet serving authorizer: the store and routes are loaded and valid, the demo-key
/// check passed, the socket is bound.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
    routes_path: PathBuf,
    reload_interval: Duration,
    connections: warden_server::ServerLimits,
}

impl Server {
    /// Loads `<policies>/identities/` and `<policies>/routes.json`, refuses demo keys beyond
    /// loopback, opens the decision log and binds the listen address.
    pub async fn bind(config: Config) -> Result<Server, Error> {
        if !(0.0..=1.0).contains(&config.log_sample_rate) {
            return Err(Error::SampleRate(config.log_sample_rate));
        }
        let store = Arc::new(StoreHandle::load(&config.policies)?);
        store.current().check_listen(&config.listen, config.allow_demo_keys)?;
        let routes_path = config.policies.join("routes.json");
        let routes = RouteTable::load(&routes_path)?;
        let log = match &config.decision_log {
            Some(target) => Some(
                DecisionLog::open(target, config.log_sample_rate)
                    .map_err(|source| Error::DecisionLog { path: format!("{target:?}"), source })?,
            ),
            None => None,
        };
        let state = AppState::new(store, routes).configure(log, config.limits(), config.bench_noop);
        let listener =
            warden_server::bind(config.listen).map_err(|source| Error::Bind { addr: config.listen, source })?;
        Ok(Server {
            listener,
            state,
            routes_path,
            reload_interval: config.reload_interval,
            connections: config.connections,
        })
    }

    /// The bound address (the port chosen for `:0`).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.listener.local_addr()?)
    }

    /// The state the router serves (for tests and embedding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, finishes in-flight requests and
    /// returns. Meanwhile the identity files and `routes.json` are polled every reload interval:
    /// a valid change is swapped in, an invalid one is refused and reported on stderr while the
    /// last good set keeps serving.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let Server { listener, state, routes_path, reload_interval, connections } = self;
        let watcher = watch_store(state.store(), reload_interval)?;
        let routes_task = tokio::spawn(watch_routes(state.clone(), routes_path, reload_interval));
        let draining = state.clone();
        let served = warden_server::serve(listener, router(state), connections, async move {
            shutdown.await;
            draining.set_draining();
        })
        .await;
        routes_task.abort();
        // Joining the watcher thread waits for its sleep: do it off the async threads.
        let _ = tokio::task::spawn_blocking(move || drop(watcher)).await;
        Ok(served?)
    }
}

/// Starts the authorizer and serves until SIGTERM or ctrl-c.
pub async fn serve(config: Config) -> Result<(), Error> {
    let server = Server::bind(config).await?;
    eprintln!("warden authorizer: listening on http://{}", server.local_addr()?);
    let result = server.run(shutdown_signal()).await;
    eprintln!("warden authorizer: stopped");
    result
}

/// Resolves on SIGTERM (Unix) or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    eprintln!("warden authorizer: shutting down, finishing in-flight requests");
}

fn watch_store(store: &Arc<StoreHandle>, interval: Duration) -> Result<Watcher, Error> {
    Ok(store.watch(interval, |event| match event {
        ReloadEvent::Reloaded => eprintln!("warden authorizer: identities reloaded"),
        ReloadEvent::Rejected(e) => {
            eprintln!("warden authorizer: identities change refused, the last good set keeps serving: {e}");
        }
    })?)
}

type Stamp = Option<(u64, Option<SystemTime>)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path).ok().map(|m| (m.len(), m.modified().ok()))
}

async fn watch_routes(state: AppState, path: PathBuf, interval: Duration) {
    let mut last = stamp(&path);
    loop {
        tokio::time::sleep(interval).await;
        let now = stamp(&path);
        if now == last {
            continue;
        }
        last = now;
        match RouteTable::load(&path) {
            Ok(table) => {
                eprintln!("warden authorizer: routes reloaded ({} routes)", table.len());
                state.set_routes(table);
                state.metrics().record_route_reload(true);
            }
            Err(e) => {
                eprintln!("warden authorizer: routes change refused, the last good table keeps serving: {e}");
                state.metrics().record_route_reload(false);
            }
        }
    }
}
