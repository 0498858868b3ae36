//! [`EvalPool`]: where work that can take more than microseconds runs — simulations and batches —
//! off the async workers, on tokio's blocking threads, at most `slots` at a time. The async workers
//! only parse, check sizes and wait, so `/healthz`, `/readyz` and `/metrics` answer promptly
//! whatever the evaluations cost.
//!
//! A request that finds every slot taken waits at most `wait` for one, and at most `max_waiting`
//! requests wait at once; beyond either it is refused with 503 `ServiceUnavailable` and
//! `Retry-After`, instead of piling up work (and the memory of parsed requests) behind the slots.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::error::ApiError;

/// The default number of evaluation slots: the number of CPUs the process may use.
pub fn default_slots() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// The default longest wait for a slot.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);
/// The default most requests waiting for a slot.
pub const DEFAULT_MAX_WAITING: usize = 64;

/// Bounded, off-async-worker evaluation.
#[derive(Debug)]
pub struct EvalPool {
    slots: usize,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait: Duration,
    refused: AtomicU64,
}

/// Decrements the waiting count when the wait ends, however it ends (also when the client goes
/// away and the request's future is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl EvalPool {
    /// `slots` evaluations at once (at least one), at most `max_waiting` requests waiting at most
    /// `wait` each.
    pub fn new(slots: usize, max_waiting: usize, wait: Duration) -> EvalPool {
        let slots = slots.max(1);
        EvalPool {
            slots,
            permits: Arc::new(Semaphore::new(slots)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait,
            refused: AtomicU64::new(0),
        }
    }

    /// Runs `work` on a blocking thread once a slot is free, holding the slot until it returns
    /// (even when the client has gone away meanwhile). 503 when no slot frees up in time or too
    /// many requests already wait; 500 if `work` panicked.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal { message: format!("the evaluation failed: {e}") })
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => return Ok(permit),
            Err(TryAcquireError::Closed) => return Err(self.refuse()),
            Err(TryAcquireError::NoPermits) => {}
        }
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(self.refuse());
        }
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(self.refuse()),
        }
    }

    fn refuse(&self) -> ApiError {
        self.refused.fetch_add(1, Ordering::Relaxed);
        ApiError::Busy { retry_after_secs: self.wait.as_secs().max(1) }
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Slots running an evaluation now.
    pub fn busy(&self) -> usize {
        self.slots.saturating_sub(self.permits.available_permits())
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Requests refused with 503 so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The pool's lines of `/metrics`.
    pub fn render(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ =
            writeln!(out, "# HELP warden_evaluation_slots Evaluation slots (simulate, batch): how many run at once.");
        let _ = writeln!(out, "# TYPE warden_evaluation_slots gauge");
        let _ = writeln!(out, "warden_evaluation_slots {}", self.slots);
        let _ = writeln!(out, "# HELP warden_evaluation_slots_busy Evaluation slots running now.");
        let _ = writeln!(out, "# TYPE warden_evaluation_slots_busy gauge");
        let _ = writeln!(out, "warden_evaluation_slots_busy {}", self.busy());
        let _ = writeln!(out, "# HELP warden_evaluation_waiting Requests waiting for an evaluation slot now.");
        let _ = writeln!(out, "# TYPE warden_evaluation_waiting gauge");
        let _ = writeln!(out, "warden_evaluation_waiting {}", self.waiting());
        let _ = writeln!(
            out,
            "# HELP warden_evaluation_refused_total Requests refused with 503: no evaluation slot in time."
        );
        let _ = writeln!(out, "# TYPE warden_evaluation_refused_total counter");
        let _ = writeln!(out, "warden_evaluation_refused_total {}", self.refused());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_pool_refuses_after_the_wait_and_beyond_the_queue() {
        let pool = Arc::new(EvalPool::new(1, 1, Duration::from_millis(200)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let running = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(move || hold.recv().is_ok()).await })
        };
        while pool.busy() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // One may wait; it times out.
        let waiter = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(|| ()).await })
        };
        while pool.waiting() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A second waiter is refused at once.
        let started = std::time::Instant::now();
        assert!(matches!(pool.run(|| ()).await, Err(ApiError::Busy { retry_after_secs: 1 })));
        assert!(started.elapsed() < Duration::from_millis(150));
        assert!(matches!(waiter.await.unwrap(), Err(ApiError::Busy { .. })));
        assert_eq!((pool.waiting(), pool.refused()), (0, 2));
        release.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        assert_eq!(pool.busy(), 0);
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
        let mut text = String::new();
        pool.render(&mut text);
        assert!(text.contains("warden_evaluation_refused_total 2\n"), "{text}");
    }
}
