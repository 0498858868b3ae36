//! What every handler shares: the identity store (hot-reloaded), the route table, metrics, the
//! decision log, and two caches keyed on the store's generation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use warden_identity::{Identity, StoreHandle};
use warden_policy::request::principal_context;
use warden_policy::simulate::SimulateLimits;
use warden_policy::{CompiledPolicy, Context, PolicyError, PolicyKind, PolicySet, Principal, PrincipalKind};

use crate::decision_log::DecisionLog;
use crate::metrics::Metrics;
use crate::pool::{self, EvalPool};
use crate::route_table::RouteTable;

/// Cached callers or resource policies before the cache is emptied.
const CACHE_ENTRIES: usize = 4096;
/// Resource policies longer than this are compiled per request, not cached.
pub(crate) const CACHED_POLICY_CHARS: usize = 16 * 1024;
/// The default most requests in one batch.
pub const DEFAULT_MAX_BATCH: usize = 1000;
/// The default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// The default most `context` entries of one `/v1/authorize` request (and batch item).
pub const DEFAULT_MAX_CONTEXT_ENTRIES: usize = 1000;
/// The default most context values of one `/v1/authorize` request, summed over its entries.
pub const DEFAULT_MAX_CONTEXT_VALUES: usize = 1000;

/// The size and concurrency bounds of the API: every list a request may carry is bounded, each
/// checked before any per-item work or result is allocated, and evaluations that can take more
/// than microseconds run in a bounded [`EvalPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body, in bytes (413 beyond).
    pub max_body: usize,
    /// Most requests in one batch (400 `InvalidInput` naming `requests` beyond).
    pub max_batch: usize,
    /// Most `context` entries of one authorize request.
    pub max_context_entries: usize,
    /// Most `context` values of one authorize request, summed over the entries.
    pub max_context_values: usize,
    /// The bounds of `/v1/simulate` (400 `InvalidInput` naming the field beyond).
    pub simulate: SimulateLimits,
    /// Evaluations (simulations, batches) running at once; default: the number of CPUs.
    pub eval_slots: usize,
    /// Most requests waiting for an evaluation slot (503 beyond).
    pub eval_max_waiting: usize,
    /// Longest wait for an evaluation slot (503 after it).
    pub eval_wait: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: DEFAULT_MAX_BODY,
            max_batch: DEFAULT_MAX_BATCH,
            max_context_entries: DEFAULT_MAX_CONTEXT_ENTRIES,
            max_context_values: DEFAULT_MAX_CONTEXT_VALUES,
            simulate: SimulateLimits::default(),
            eval_slots: pool::default_slots(),
            eval_max_waiting: pool::DEFAULT_MAX_WAITING,
            eval_wait: pool::DEFAULT_WAIT,
        }
    }
}

/// The shared state of the router; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Arc<StoreHandle>,
    pub(crate) routes: ArcSwap<RouteTable>,
    pub(crate) metrics: Metrics,
    pub(crate) log: Option<DecisionLog>,
    pub(crate) limits: Limits,
    pub(crate) pool: EvalPool,
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
        let limits = Limits::default();
        AppState(Arc::new(Inner {
            store,
            routes: ArcSwap::from_pointee(routes),
            metrics: Metrics::default(),
            log: None,
            pool: EvalPool::new(limits.eval_slots, limits.eval_max_waiting, limits.eval_wait),
            limits,
            bench_noop: false,
            draining: AtomicBool::new(false),
            callers: RwLock::new((0, HashMap::new())),
            resource_policies: RwLock::new(HashMap::new()),
        }))
    }

    /// Builder: sets the decision log, the limits (and the evaluation pool they size) and the
    /// benchmark route. Call before the state is cloned (otherwise the settings are ignored).
    pub fn configure(mut self, log: Option<DecisionLog>, limits: Limits, bench_noop: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.log = log;
            inner.pool = EvalPool::new(limits.eval_slots, limits.eval_max_waiting, limits.eval_wait);
            inner.limits = limits;
            inner.bench_noop = bench_noop;
        }
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The evaluation pool.
    pub fn pool(&self) -> &EvalPool {
        &self.0.pool
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
