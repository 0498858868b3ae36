//! What every handler shares: the identity store (hot-reloaded), the route table, metrics, the
//! decision log, and two caches keyed on the store's generation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use warden_identity::{Identity, StoreHandle};
use warden_policy::request::principal_context;
use warden_policy::{CompiledPolicy, Context, PolicyError, PolicyKind, PolicySet, Principal, PrincipalKind};

use crate::decision_log::DecisionLog;
use crate::metrics::Metrics;
use crate::route_table::RouteTable;

/// Cached callers or resource policies before the cache is emptied.
const CACHE_ENTRIES: usize = 4096;
/// Resource policies longer than this are compiled per request, not cached.
const CACHED_POLICY_CHARS: usize = 16 * 1024;
/// The default most requests in one batch.
pub const DEFAULT_MAX_BATCH: usize = 1000;
/// The default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// The shared state of the router; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Arc<StoreHandle>,
    pub(crate) routes: ArcSwap<RouteTable>,
    pub(crate) metrics: Metrics,
    pub(crate) log: Option<DecisionLog>,
    pub(crate) max_body: usize,
    pub(crate) max_batch: usize,
    pub(crate) bench_noop: bool,
    draining: AtomicBool,
    callers: RwLock<(u64, HashMap<Box<str>, Caller>)>,
    resource_policies: RwLock<HashMap<Box<str>, PolicySet>>,
}

/// A caller resolved in the identity store, with its principal condition keys built once.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal (for a role session: the session, carrying its role ARN).
    pub principal: Principal,
    /// The user or role behind it.
    pub identity: Arc<Identity>,
    /// `aws:PrincipalArn`, `aws:username`, `aws:userid`, `aws:PrincipalTag/*`, ...
    pub context: Arc<Context>,
}

impl AppState {
    /// State over `store` with `routes`, no decision log, the default limits.
    pub fn new(store: Arc<StoreHandle>, routes: RouteTable) -> AppState {
        AppState(Arc::new(Inner {
            store,
            routes: ArcSwap::from_pointee(routes),
            metrics: Metrics::default(),
            log: None,
            max_body: DEFAULT_MAX_BODY,
            max_batch: DEFAULT_MAX_BATCH,
            bench_noop: false,
            draining: AtomicBool::new(false),
            callers: RwLock::new((0, HashMap::new())),
            resource_policies: RwLock::new(HashMap::new()),
        }))
    }

    /// Builder: sets the decision log, body and batch limits and the benchmark route. Call before
    /// the state is cloned (otherwise the settings are ignored).
    pub fn configure(mut self, log: Option<DecisionLog>, max_body: usize, max_batch: usize, bench_noop: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.log = log;
            inner.max_body = max_body;
            inner.max_batch = max_batch;
            inner.bench_noop = bench_noop;
        }
        self
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }

    /// The identity store handle.
    pub fn store(&self) -> &Arc<StoreHandle> {
        &self.0.store
    }

    /// The route table serving now.
    pub fn routes(&self) -> Arc<RouteTable> {
        self.0.routes.load_full()
    }

    /// Replaces the route table (after validation).
    pub fn set_routes(&self, routes: RouteTable) {
        self.0.routes.store(Arc::new(routes));
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Marks the server as shutting down: `/readyz` answers 503 from now on.
    pub fn set_draining(&self) {
        self.0.draining.store(true, Ordering::Relaxed);
    }

    /// True once shutdown started.
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::Relaxed)
    }

    /// Resolves `arn` in the current store; `None` when it names no user, role or role session.
    pub fn caller(&self, arn: &str) -> Option<Caller> {
        let generation = self.0.store.generation();
        if let Ok(cache) = self.0.callers.read() {
            if cache.0 == generation {
                if let Some(c) = cache.1.get(arn) {
                    return Some(c.clone());
                }
            }
        }
        let resolved = self.0.store.current().resolve(arn)?;
        let user_id = match resolved.principal.kind() {
            // aws:userid of a role session is `ROLE-ID:SESSION-NAME`.
            PrincipalKind::AssumedRole => {
                let session = arn.rsplit('/').next().unwrap_or_default();
                format!("{}:{session}", resolved.identity.unique_id)
            }
            _ => resolved.identity.unique_id.to_string(),
        };
        // Tags were validated when the store loaded; a tag that cannot be a key leaves it out.
        let context =
            principal_context(&resolved.principal, Some(&user_id), &resolved.identity.tags, None).unwrap_or_default();
        let caller = Caller { principal: resolved.principal, identity: resolved.identity, context: Arc::new(context) };
        if let Ok(mut cache) = self.0.callers.write() {
            if cache.0 != generation || cache.1.len() >= CACHE_ENTRIES {
                *cache = (generation, HashMap::new());
            }
            cache.1.insert(arn.into(), caller.clone());
        }
        Some(caller)
    }

    /// Compiles a resource-based policy (cached by text).
    pub fn resource_policy(&self, text: &str) -> Result<PolicySet, PolicyError> {
        if let Some(set) = self.0.resource_policies.read().ok().and_then(|c| c.get(text).cloned()) {
            return Ok(set);
        }
        let set = PolicySet::from(CompiledPolicy::compile(text, PolicyKind::Resource, "ResourcePolicy")?);
        if text.len() <= CACHED_POLICY_CHARS {
            if let Ok(mut cache) = self.0.resource_policies.write() {
                if cache.len() >= CACHE_ENTRIES {
                    cache.clear();
                }
                cache.insert(text.into(), set.clone());
            }
        }
        Ok(set)
    }
}
