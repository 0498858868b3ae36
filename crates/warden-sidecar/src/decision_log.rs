//! The decision log: one JSON line per sampled decision, written by a background thread so a
//! slow disk never delays an answer (when the queue is full the line is dropped and counted).
//!
//! ```text
//! {"ts":1795694400123,"endpoint":"authorize","principal":"arn:aws:iam::111122223333:user/reader",
//!  "action":"ecr:PutImage","resource":"arn:aws:ecr:…:repository/app","decision":"Deny",
//!  "reason":"implicitDeny","matched":[],"latencyMicros":14}
//! ```
//!
//! Sampling is deterministic: with rate `r`, decision `n` (from 0) is written when
//! `floor((n+1)·r) > floor(n·r)`, so exactly `floor(N·r)` of the first `N` decisions are written.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Lines waiting to be written before new ones are dropped.
const QUEUE: usize = 16 * 1024;

/// Where decision lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output (`-`).
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

impl LogTarget {
    /// `-` is standard output, anything else a path.
    pub fn parse(text: &str) -> LogTarget {
        if text == "-" {
            LogTarget::Stdout
        } else {
            LogTarget::File(PathBuf::from(text))
        }
    }
}

/// One decision, as logged.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry<'a> {
    /// Milliseconds since the epoch.
    pub ts: u64,
    /// `authorize`, `batch` or `check`.
    pub endpoint: &'a str,
    /// The caller ARN.
    pub principal: &'a str,
    /// The action.
    pub action: &'a str,
    /// The resource.
    pub resource: &'a str,
    /// `Allow` or `Deny`.
    pub decision: &'a str,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub reason: &'a str,
    /// The matched statements, as `Sid` or `policy#index` when the statement has none.
    pub matched: Vec<String>,
    /// Time to decide, in microseconds.
    pub latency_micros: u64,
}

/// The decision log writer.
#[derive(Debug)]
pub struct DecisionLog {
    tx: Option<SyncSender<String>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    rate: f64,
    seen: AtomicU64,
    dropped: AtomicU64,
}

impl DecisionLog {
    /// Opens `target` and starts the writer thread; `rate` (0.0..=1.0) is the share written.
    pub fn open(target: &LogTarget, rate: f64) -> std::io::Result<DecisionLog> {
        let out: Box<dyn Write + Send> = match target {
            LogTarget::Stdout => Box::new(std::io::stdout()),
            LogTarget::File(path) => Box::new(std::fs::OpenOptions::new().create(true).append(true).open(path)?),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let thread =
            std::thread::Builder::new().name("warden-decision-log".into()).spawn(move || write_lines(rx, out))?;
        Ok(DecisionLog {
            tx: Some(tx),
            thread: Mutex::new(Some(thread)),
            rate: rate.clamp(0.0, 1.0),
            seen: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// Whether the next decision is to be written (advances the sampler).
    pub fn sample(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.rate).floor() > (n * self.rate).floor()
    }

    /// Queues one line (call after [`DecisionLog::sample`] said yes).
    pub fn write(&self, entry: &LogEntry<'_>) {
        let Ok(line) = serde_json::to_string(entry) else { return };
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = tx.try_send(line) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for DecisionLog {
    /// Writes out every queued line before returning.
    fn drop(&mut self) {
        drop(self.tx.take());
        let thread = self.thread.lock().map(|mut t| t.take()).unwrap_or_default();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn write_lines(rx: Receiver<String>, mut out: Box<dyn Write + Send>) {
    while let Ok(line) = rx.recv() {
        let mut batch = vec![line];
        batch.extend(rx.try_iter().take(1024));
        for line in batch {
            if writeln!(out, "{line}").is_err() {
                eprintln!("warden authorizer: cannot write the decision log; stopping it");
                return;
            }
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sampling_writes_the_exact_share() {
        for (rate, expected) in [(0.0, 0), (0.25, 25), (0.5, 50), (1.0, 100)] {
            let log = DecisionLog::open(&LogTarget::Stdout, rate).unwrap();
            let written = (0..100).filter(|_| log.sample()).count();
            assert_eq!(written, expected, "rate {rate}");
        }
    }
}
