//! The HTTP/1.1 listener `warden serve` and `warden authorizer` share, so that no anonymous or
//! slow client can hold the server's resources:
//!
//! - a **header-read timeout**: a request head not complete within it closes the connection
//!   (slowloris);
//! - an **idle timeout** ([`IdleTimeout`]): a read or write that waits on the peer longer than it
//!   closes the connection (a stalled upload body, a download nobody reads, an idle keep-alive);
//! - a **connection limit**, by default from the process's descriptor limit (raised to its hard
//!   limit first): connections beyond it wait in the kernel's accept queue ([`bind`] makes it
//!   deep) instead of exhausting descriptors; when every slot is taken, the oldest connection that
//!   has not sent a request yet is closed to make room;
//! - at most 64 KiB buffered per connection, so a client that reads a download slowly holds little;
//! - every request carries axum's `ConnectInfo<SocketAddr>` (the TCP peer), from which the
//!   routers derive `aws:SourceIp`;
//! - graceful shutdown: on the shutdown signal the listener closes and connections in flight get
//!   [`ServerLimits::drain`] to finish.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! warden_server::serve(listener, app, warden_server::ServerLimits::default(), std::future::pending()).await
//! # }
//! ```

mod idle;

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

pub use idle::IdleTimeout;

/// How the listener bounds what clients can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A request head must arrive within this (default 10 s).
    pub header_read_timeout: Duration,
    /// A read or write waiting on the peer longer than this closes the connection (default 60 s).
    pub idle_timeout: Duration,
    /// Connections served at once; `None` derives it from the descriptor limit
    /// ([`default_max_connections`]).
    pub max_connections: Option<usize>,
    /// How long connections in flight may take to finish after the shutdown signal (default 30 s).
    pub drain: Duration,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            drain: Duration::from_secs(30),
        }
    }
}

/// Descriptors kept back for everything but connections (the database, blob files being read
/// and written, the log).
const RESERVED_DESCRIPTORS: u64 = 128;

/// Raises the soft descriptor limit to the hard limit (as Go's runtime does) and returns the
/// connection limit it allows: half of what is left after [`RESERVED_DESCRIPTORS`] (a connection
/// may hold a blob file open too), at least 16.
pub fn default_max_connections() -> usize {
    let soft = raise_descriptor_limit().unwrap_or(1024);
    usize::try_from((soft.saturating_sub(RESERVED_DESCRIPTORS) / 2).max(16)).unwrap_or(usize::MAX)
}

#[cfg(unix)]
fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let soft = limit.current?;
    if let Some(hard) = limit.maximum {
        if hard > soft {
            limit.current = Some(hard);
            if setrlimit(Resource::Nofile, limit).is_ok() {
                return Some(hard);
            }
        }
    }
    Some(soft)
}

#[cfg(not(unix))]
fn raise_descriptor_limit() -> Option<u64> {
    None
}

/// The number of connections being served, for metrics.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCount(Arc<AtomicUsize>);

impl ConnectionCount {
    /// Connections open now.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Binds `addr` with a deep accept queue (4,096, as far as the kernel's `somaxconn` allows), so
/// connections beyond the limit wait to be accepted instead of being dropped.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// The largest buffer a connection keeps: the request head must fit, and no more than this of a
/// response waits in the connection for a client that reads slowly.
const MAX_BUFFER: usize = 64 * 1024;

/// A connection that has not yet sent a request: when every slot is taken, the oldest of these
/// is closed to make room (a client that connects and says nothing cannot hold a slot against one
/// that has something to ask).
struct Pending {
    started: AtomicBool,
    close: Notify,
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_counted(listener, router, limits, shutdown, ConnectionCount::default()).await
}

/// Takes a slot: at once when one is free; else by closing the oldest connection that has not
/// sent a request yet; else by waiting for one to end.
async fn take_slot(slots: &Arc<Semaphore>, pending: &Mutex<VecDeque<Weak<Pending>>>) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = Arc::clone(slots).try_acquire_owned() {
        return Some(permit);
    }
    loop {
        let oldest = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
        let Some(weak) = oldest else { break };
        if let Some(conn) = weak.upgrade() {
            if !conn.started.load(Ordering::Acquire) {
                conn.close.notify_one();
                break;
            }
        }
    }
    Arc::clone(slots).acquire_owned().await.ok()
}

/// [`serve`], counting open connections in `count`.
pub async fn serve_counted(
    listener: TcpListener,
    router: axum::Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
    count: ConnectionCount,
) -> std::io::Result<()> {
    let max = limits.max_connections.unwrap_or_else(default_max_connections).max(1);
    tracing::debug!(max_connections = max, "listening");
    let slots = Arc::new(Semaphore::new(max));
    let pending: Arc<Mutex<VecDeque<Weak<Pending>>>> = Arc::default();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_BUFFER);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: beyond the limit, connections wait in the accept queue.
        let permit = tokio::select! {
            permit = take_slot(&slots, &pending) => match permit {
                Some(p) => p,
                None => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little
                    // rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::new(Pending { started: AtomicBool::new(false), close: Notify::new() });
        {
            let mut queue = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Now and then, forget connections that ended or started serving, so the queue stays
            // about as long as the connections that may be closed.
            if queue.len() > max {
                queue.retain(|w| w.upgrade().is_some_and(|c| !c.started.load(Ordering::Acquire)));
            }
            queue.push_back(Arc::downgrade(&state));
        }
        let io = TokioIo::new(IdleTimeout::new(stream, limits.idle_timeout));
        let router = router.clone();
        let started = Arc::clone(&state);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            started.started.store(true, Ordering::Release);
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req)
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        let count = count.clone();
        count.0.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = state.close.notified() => {
                    tracing::debug!(%peer, "closed a connection that sent no request, to make room");
                }
            }
            count.0.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!("connections still open after the drain period were closed");
        }
    }
    Ok(())
}
