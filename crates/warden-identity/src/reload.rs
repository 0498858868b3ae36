//! Hot reload: validate the new files first, swap atomically, keep serving the last good store
//! when the new one is invalid, and say so.
//!
//! Readers call [`StoreHandle::current`] and get an `Arc<Store>`: a request holds one whole store
//! from start to end, never a half-loaded one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::store::{Store, StoreError};

/// What a reload attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadEvent {
    /// The files changed and the new store is serving.
    Reloaded,
    /// The files changed but are invalid; the previous store keeps serving.
    Rejected(StoreError),
}

/// The current store, swappable while requests read it.
#[derive(Debug)]
pub struct StoreHandle {
    dir: PathBuf,
    current: ArcSwap<Store>,
    fingerprint: Mutex<Fingerprint>,
    reloads: AtomicU64,
    failures: AtomicU64,
    generation: AtomicU64,
}

type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

impl StoreHandle {
    /// Loads `<policies_dir>/identities/` once; fails when it is invalid.
    pub fn load(policies_dir: &Path) -> Result<StoreHandle, StoreError> {
        let store = Store::load(policies_dir)?;
        let fingerprint = fingerprint(policies_dir, &store);
        Ok(StoreHandle {
            dir: policies_dir.to_owned(),
            current: ArcSwap::from_pointee(store),
            fingerprint: Mutex::new(fingerprint),
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            generation: AtomicU64::new(1),
        })
    }

    /// A handle over a store built elsewhere (tests, embedded use); [`StoreHandle::reload`] then
    /// reads `policies_dir`.
    pub fn from_store(policies_dir: &Path, store: Store) -> StoreHandle {
        StoreHandle {
            dir: policies_dir.to_owned(),
            current: ArcSwap::from_pointee(store),
            fingerprint: Mutex::new(Vec::new()),
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            generation: AtomicU64::new(1),
        }
    }

    /// The store serving now.
    pub fn current(&self) -> Arc<Store> {
        self.current.load_full()
    }

    /// Reloads when the files changed since the last load. `None`: nothing changed.
    pub fn reload_if_changed(&self) -> Option<ReloadEvent> {
        let store = self.current();
        let now = fingerprint(&self.dir, &store);
        let mut last = self.fingerprint.lock().unwrap_or_else(|p| p.into_inner());
        if *last == now {
            return None;
        }
        *last = now;
        drop(last);
        Some(self.reload())
    }

    /// Reloads unconditionally.
    pub fn reload(&self) -> ReloadEvent {
        match Store::load(&self.dir) {
            Ok(store) => {
                let fp = fingerprint(&self.dir, &store);
                self.current.store(Arc::new(store));
                self.generation.fetch_add(1, Ordering::Release);
                *self.fingerprint.lock().unwrap_or_else(|p| p.into_inner()) = fp;
                self.reloads.fetch_add(1, Ordering::Relaxed);
                ReloadEvent::Reloaded
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                ReloadEvent::Rejected(e)
            }
        }
    }

    /// A number that changes whenever a new store starts serving; caches of anything derived
    /// from the store key on it. Reading it is cheap (no reference count is touched).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Successful reloads so far.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Rejected reloads so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Polls the files every `interval` on a background thread and reloads on change, reporting
    /// each attempt to `report`. The thread stops when the returned guard is dropped.
    pub fn watch(
        self: &Arc<Self>,
        interval: Duration,
        report: impl Fn(&ReloadEvent) + Send + 'static,
    ) -> std::io::Result<Watcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::clone(self);
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("warden-identity-watch".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                if let Some(event) = handle.reload_if_changed() {
                    report(&event);
                }
            }
        })?;
        Ok(Watcher { stop, thread: Some(thread) })
    }
}

/// Stops the watcher thread when dropped.
#[derive(Debug)]
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Size and modification time of every account file and every file they reference.
fn fingerprint(dir: &Path, store: &Store) -> Fingerprint {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("identities"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect()
        })
        .unwrap_or_default();
    paths.extend(store.files_read.iter().cloned());
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (p, len, modified)
        })
        .collect()
}
