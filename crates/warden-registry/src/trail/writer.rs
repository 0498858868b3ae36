//! The trail's writer: one thread that appends records to a write-ahead log with group commit, and
//! seals the log into a CloudTrail log file every interval.
//!
//! **Durability.** A record of a mutating call is acknowledged once its line is in the write-ahead
//! log and `fdatasync`ed; the registry answers the call only then ([`Trail::record`] with
//! `durable`). Every record waiting when the thread wakes is written with one `write` and one
//! `fdatasync` (group commit: the window is however long the previous sync took, no timer). Read
//! records are written in the same batches but not waited for; they are synced with the next
//! durable batch or the seal.
//!
//! **Never dropped silently.** The queue is bounded ([`TrailConfig::queue`]): when it is full, a
//! request waits for room (back-pressure, counted in [`TrailStats::backpressure`]). When a write
//! or sync fails (a full disk), the batch is kept in memory and retried every second, and the
//! policy decides what the callers see ([`OnFailure`]): `reject` answers the waiting mutating calls
//! with an error and refuses every new call until a write succeeds again; `continue` serves on,
//! with the unwritten records counted in [`TrailStats::unwritten`]. Only records beyond
//! [`MAX_RETAINED_BYTES`] held in memory are dropped, and each is counted in
//! [`TrailStats::dropped`] and logged.
//!
//! **Files.** The log is `TRAIL/wal/<16 random characters>.jsonl`, one record per line, locked by
//! its writer. Every [`TrailConfig::interval`] (and at shutdown) it becomes
//! `TRAIL/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<16>.json.gz`
//! (`{"Records":[…]}`, gzip), written to a temporary name, synced, renamed, and only then the log
//! is removed. A log left by a process that died (its lock is free) is sealed when the next
//! process opens the trail. Readers ([`super::lookup`]) read both, ignore a torn last line and
//! de-duplicate by `eventID`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::event::Event;

/// Records held in memory while the log cannot be written, at most.
pub const MAX_RETAINED_BYTES: usize = 64 * 1024 * 1024;
/// How often a failed write is retried.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// How long a read's record may wait in memory for company before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(5);

/// What callers see while the trail cannot be written (`--trail-on-failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Refuse calls (`ServiceUnavailable`/503) until a write succeeds: no call goes unrecorded.
    #[default]
    Reject,
    /// Serve on; records wait in memory (up to [`MAX_RETAINED_BYTES`]) and are counted.
    Continue,
}

impl std::str::FromStr for OnFailure {
    type Err = String;
    fn from_str(s: &str) -> Result<OnFailure, String> {
        match s {
            "reject" => Ok(OnFailure::Reject),
            "continue" => Ok(OnFailure::Continue),
            other => Err(format!("`{other}`: expected `reject` or `continue`")),
        }
    }
}

/// Where and how the trail is written.
#[derive(Debug, Clone)]
pub struct TrailConfig {
    /// The trail directory (`--trail-dir`, by default `<data-dir>/trail`).
    pub dir: PathBuf,
    /// The account the files are named for (the registry's).
    pub account_id: String,
    /// The region the files are named for.
    pub region: String,
    /// How often the log is sealed into a log file (CloudTrail delivers about every 5 minutes).
    pub interval: Duration,
    /// What callers see while the trail cannot be written.
    pub on_failure: OnFailure,
    /// Records queued for the writer at most; beyond, requests wait.
    pub queue: usize,
    /// `None` (the default): a mutating call is answered once its record is synced to disk.
    /// `Some(w)`: it is answered once its record is written to the operating system — which a
    /// crash of the process (SIGKILL) does not lose — and synced within `w`, so only a crash of
    /// the machine within that window can lose it (`--trail-sync-window-ms`).
    pub sync_window: Option<Duration>,
}

impl TrailConfig {
    /// The defaults: sealed every 5 minutes, `reject` on failure, 65,536 records queued.
    pub fn new(dir: impl Into<PathBuf>, account_id: &str, region: &str) -> TrailConfig {
        TrailConfig {
            dir: dir.into(),
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            interval: Duration::from_secs(300),
            on_failure: OnFailure::Reject,
            queue: 65_536,
            sync_window: None,
        }
    }
}

/// Why the trail could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrailError {
    /// A file or directory of the trail.
    #[error("audit trail `{path}`: {source}")]
    Io {
        /// Which path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The record could not be written and the policy is `reject`.
    #[error("the audit trail cannot be written")]
    Unavailable,
    /// The writer thread is gone.
    #[error("the audit trail's writer has stopped")]
    Stopped,
}

/// The trail's counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct TrailStats {
    /// Records queued and not yet written.
    pub backlog: AtomicU64,
    /// Records written to the log.
    pub written: AtomicU64,
    /// `fdatasync` calls (one per durable batch).
    pub syncs: AtomicU64,
    /// Writes or syncs that failed.
    pub failures: AtomicU64,
    /// Records held in memory because the log could not be written.
    pub unwritten: AtomicU64,
    /// Records dropped because more than [`MAX_RETAINED_BYTES`] were held.
    pub dropped: AtomicU64,
    /// Times a request waited because the queue was full.
    pub backpressure: AtomicU64,
    /// Log files sealed.
    pub sealed: AtomicU64,
    /// Calls refused because the trail could not be written (`reject`).
    pub rejected: AtomicU64,
}

/// A record given back because the queue is full: its line and its waiter.
type Waiting = (Vec<u8>, Option<tokio::sync::oneshot::Sender<bool>>);

/// Records waiting for the writer. A read's record is appended without waking the writer (the
/// first one after a write wakes it, and it waits [`FLUSH_EVERY`] for company); a durable record,
/// a seal and the close wake it at once.
struct Queue {
    pending: Mutex<Pending>,
    /// Wakes the writer.
    wake: Condvar,
    /// Wakes senders waiting for room.
    room: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct Pending {
    lines: Vec<Vec<u8>>,
    acks: Vec<tokio::sync::oneshot::Sender<bool>>,
    seals: Vec<tokio::sync::oneshot::Sender<()>>,
    /// When the oldest waiting line arrived.
    since: Option<Instant>,
    /// A durable record or a seal waits: write now.
    urgent: bool,
    closed: bool,
}

impl Queue {
    fn lock(&self) -> Result<MutexGuard<'_, Pending>, TrailError> {
        self.pending.lock().map_err(|_| TrailError::Stopped)
    }

    /// Appends a record if there is room; gives it back when the queue is full.
    fn try_push(
        &self,
        line: Vec<u8>,
        ack: Option<tokio::sync::oneshot::Sender<bool>>,
    ) -> Result<Option<Waiting>, TrailError> {
        let mut p = self.lock()?;
        if p.closed {
            return Err(TrailError::Stopped);
        }
        if p.lines.len() >= self.capacity {
            self.wake.notify_one();
            return Ok(Some((line, ack)));
        }
        self.push(&mut p, line, ack);
        Ok(None)
    }

    fn push(&self, p: &mut Pending, line: Vec<u8>, ack: Option<tokio::sync::oneshot::Sender<bool>>) {
        p.lines.push(line);
        let first = p.since.is_none();
        p.since.get_or_insert_with(Instant::now);
        if let Some(a) = ack {
            p.acks.push(a);
            p.urgent = true;
            self.wake.notify_one();
        } else if first || p.lines.len() >= self.capacity / 2 {
            self.wake.notify_one();
        }
    }

    /// Appends a record, waiting (on this thread) for room.
    fn push_blocking(&self, line: Vec<u8>, ack: Option<tokio::sync::oneshot::Sender<bool>>) -> Result<(), TrailError> {
        let mut p = self.lock()?;
        while p.lines.len() >= self.capacity && !p.closed {
            p = self.room.wait(p).map_err(|_| TrailError::Stopped)?;
        }
        if p.closed {
            return Err(TrailError::Stopped);
        }
        self.push(&mut p, line, ack);
        Ok(())
    }
}

/// The audit trail: cheap to share, one writer thread behind it.
pub struct Trail {
    queue: Arc<Queue>,
    healthy: Arc<AtomicBool>,
    stats: Arc<TrailStats>,
    config: TrailConfig,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Trail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trail").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Trail {
    /// Opens the trail: creates its directories, seals the logs of processes that died, and
    /// starts the writer.
    pub fn open(config: TrailConfig) -> Result<Trail, TrailError> {
        let wal_dir = config.dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(|source| TrailError::Io { path: wal_dir.clone(), source })?;
        let stats = Arc::new(TrailStats::default());
        recover(&config, &stats)?;
        let queue = Arc::new(Queue {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            room: Condvar::new(),
            capacity: config.queue.max(2),
        });
        let healthy = Arc::new(AtomicBool::new(true));
        let writer = Writer {
            config: config.clone(),
            stats: Arc::clone(&stats),
            healthy: Arc::clone(&healthy),
            wal: None,
            retained: VecDeque::new(),
            retained_bytes: 0,
            unsealed: Vec::new(),
            sealed_at: Instant::now(),
            unsynced_since: None,
            attempted_at: Instant::now(),
        };
        let q = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name("warden-trail".into())
            .spawn(move || writer.run(&q))
            .map_err(|source| TrailError::Io { path: config.dir.clone(), source })?;
        Ok(Trail { queue, healthy, stats, config, thread: Mutex::new(Some(thread)) })
    }

    /// The configuration.
    pub fn config(&self) -> &TrailConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &TrailStats {
        &self.stats
    }

    /// Whether calls may run: false while the log cannot be written and the policy is `reject`.
    pub fn accepting(&self) -> bool {
        self.config.on_failure == OnFailure::Continue || self.healthy.load(Ordering::Acquire)
    }

    /// Counts a call refused because the trail could not be written.
    pub fn count_rejected(&self) {
        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Records `event`. With `durable`, returns once the record is synced to disk (or fails with
    /// [`TrailError::Unavailable`] under `reject`); otherwise once it is queued.
    pub async fn record(&self, event: &Event, durable: bool) -> Result<(), TrailError> {
        let mut line = Vec::with_capacity(1536);
        serde_json::to_writer(&mut line, event)
            .map_err(|e| TrailError::Io { path: self.config.dir.clone(), source: std::io::Error::other(e) })?;
        line.push(b'\n');
        let (ack, done) = if durable {
            let (tx, rx) = tokio::sync::oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.stats.backlog.fetch_add(1, Ordering::Relaxed);
        let queued = match self.queue.try_push(line, ack) {
            Ok(None) => Ok(()),
            Ok(Some((line, ack))) => {
                // Back-pressure: wait for room on a blocking thread, never drop.
                self.stats.backpressure.fetch_add(1, Ordering::Relaxed);
                let queue = Arc::clone(&self.queue);
                tokio::task::spawn_blocking(move || queue.push_blocking(line, ack))
                    .await
                    .map_err(|_| TrailError::Stopped)
                    .and_then(|r| r)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = queued {
            self.stats.backlog.fetch_sub(1, Ordering::Relaxed);
            return Err(e);
        }
        match done {
            None => Ok(()),
            Some(rx) => match rx.await {
                Ok(true) => Ok(()),
                Ok(false) => Err(TrailError::Unavailable),
                Err(_) => Err(TrailError::Stopped),
            },
        }
    }

    /// Seals the current log into a log file now (tests, shutdown).
    pub async fn seal(&self) -> Result<(), TrailError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut p = self.queue.lock()?;
            if p.closed {
                return Err(TrailError::Stopped);
            }
            p.seals.push(tx);
            p.urgent = true;
            self.queue.wake.notify_one();
        }
        rx.await.map_err(|_| TrailError::Stopped)
    }

    /// Stops the writer after it has written and sealed everything queued.
    pub fn close(&self) {
        if let Ok(mut p) = self.queue.lock() {
            p.closed = true;
            self.queue.wake.notify_one();
            self.queue.room.notify_all();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for Trail {
    fn drop(&mut self) {
        self.close();
    }
}

/// The open write-ahead log.
struct Wal {
    path: PathBuf,
    file: File,
    len: u64,
}

struct Writer {
    config: TrailConfig,
    stats: Arc<TrailStats>,
    healthy: Arc<AtomicBool>,
    wal: Option<Wal>,
    /// Lines not yet written because the log failed, oldest first.
    retained: VecDeque<Vec<u8>>,
    retained_bytes: usize,
    /// Logs of this process whose sealing failed, retried at each seal.
    unsealed: Vec<PathBuf>,
    sealed_at: Instant,
    /// With a sync window: since when written records wait for their sync.
    unsynced_since: Option<Instant>,
    /// When the log was last written to (a failed write is retried [`RETRY_EVERY`] after it).
    attempted_at: Instant,
}

impl Writer {
    fn run(mut self, queue: &Queue) {
        loop {
            let Ok(mut p) = queue.pending.lock() else { return };
            // Sleep until there is something to do: a durable record or a seal (at once), reads
            // that have waited FLUSH_EVERY, a retry, the seal interval, or the close.
            loop {
                let now = Instant::now();
                let mut until = self.sealed_at + self.config.interval;
                if !self.retained.is_empty() {
                    until = until.min(self.attempted_at + RETRY_EVERY);
                }
                if let Some(since) = p.since {
                    until = until.min(since + FLUSH_EVERY);
                }
                if let (Some(since), Some(window)) = (self.unsynced_since, self.config.sync_window) {
                    until = until.min(since + window);
                }
                if p.urgent || p.closed || now >= until {
                    break;
                }
                p = match queue.wake.wait_timeout(p, until - now) {
                    Ok((p, _)) => p,
                    Err(_) => return,
                };
            }
            let lines = std::mem::take(&mut p.lines);
            let acks = std::mem::take(&mut p.acks);
            let seals = std::mem::take(&mut p.seals);
            let closed = p.closed;
            p.since = None;
            p.urgent = false;
            drop(p);
            queue.room.notify_all();
            let taken = u64::try_from(lines.len()).unwrap_or(u64::MAX);
            self.write(lines, acks);
            self.stats.backlog.fetch_sub(taken, Ordering::Relaxed);
            self.sync_if_due();
            if closed {
                self.seal();
                for s in seals {
                    let _ = s.send(());
                }
                return;
            }
            if !seals.is_empty() || self.sealed_at.elapsed() >= self.config.interval {
                self.seal();
                for s in seals {
                    let _ = s.send(());
                }
            }
        }
    }

    /// Writes the retained lines and `lines`, syncing when anyone waits; answers the waiters.
    fn write(&mut self, lines: Vec<Vec<u8>>, acks: Vec<tokio::sync::oneshot::Sender<bool>>) {
        if lines.is_empty() && self.retained.is_empty() {
            return;
        }
        // With a sync window, waiters are answered once the write is done; the sync follows.
        let sync = self.config.sync_window.is_none() && (!acks.is_empty() || !self.retained.is_empty());
        let mut buf = Vec::with_capacity(self.retained_bytes + lines.iter().map(Vec::len).sum::<usize>());
        for l in self.retained.iter().chain(lines.iter()) {
            buf.extend_from_slice(l);
        }
        let count = self.retained.len() + lines.len();
        self.attempted_at = Instant::now();
        match self.append(&buf, sync) {
            Ok(()) => {
                if !self.retained.is_empty() {
                    tracing::warn!(target: "warden::trail", records = self.retained.len(), "audit trail writable again");
                }
                self.stats.unwritten.store(0, Ordering::Relaxed);
                self.stats.written.fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
                self.retained.clear();
                self.retained_bytes = 0;
                self.healthy.store(true, Ordering::Release);
                if !sync {
                    self.unsynced_since.get_or_insert_with(Instant::now);
                }
                for a in acks {
                    let _ = a.send(true);
                }
            }
            Err(e) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                if self.healthy.swap(false, Ordering::AcqRel) {
                    tracing::error!(target: "warden::trail", error = %e, policy = ?self.config.on_failure, "the audit trail cannot be written");
                }
                for l in lines {
                    self.retained_bytes += l.len();
                    self.retained.push_back(l);
                }
                let mut dropped = 0u64;
                while self.retained_bytes > MAX_RETAINED_BYTES {
                    let Some(l) = self.retained.pop_front() else { break };
                    self.retained_bytes -= l.len();
                    dropped += 1;
                }
                if dropped > 0 {
                    self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
                    tracing::error!(target: "warden::trail", dropped, "audit records dropped: more than the memory bound waits for the trail");
                }
                self.stats.unwritten.store(u64::try_from(self.retained.len()).unwrap_or(u64::MAX), Ordering::Relaxed);
                let ok = self.config.on_failure == OnFailure::Continue;
                for a in acks {
                    let _ = a.send(ok);
                }
            }
        }
    }

    /// With a sync window: syncs the log once its oldest unsynced record has waited the window.
    /// A failed sync makes the trail unhealthy (calls are refused under `reject`) until a later
    /// write succeeds.
    fn sync_if_due(&mut self) {
        let (Some(since), Some(window)) = (self.unsynced_since, self.config.sync_window) else { return };
        if since.elapsed() < window {
            return;
        }
        self.unsynced_since = None;
        let Some(wal) = self.wal.as_mut() else { return };
        match wal.file.sync_data() {
            Ok(()) => {
                self.stats.syncs.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                self.healthy.store(false, Ordering::Release);
                tracing::error!(target: "warden::trail", error = %e, "the audit log could not be synced");
            }
        }
    }

    /// Appends `buf` to the log (opened on first use), synced when `sync`. A failed append is
    /// cut back off, or the log is abandoned so that no torn line is followed by another.
    fn append(&mut self, buf: &[u8], sync: bool) -> std::io::Result<()> {
        if self.wal.is_none() {
            self.wal = Some(open_wal(&self.config.dir.join("wal"))?);
        }
        let Some(wal) = self.wal.as_mut() else {
            return Err(std::io::Error::other("no log"));
        };
        let result = wal.file.write_all(buf).and_then(|()| if sync { wal.file.sync_data() } else { Ok(()) });
        match result {
            Ok(()) => {
                wal.len += u64::try_from(buf.len()).unwrap_or(u64::MAX);
                if sync {
                    self.stats.syncs.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(e) => {
                if wal.file.set_len(wal.len).is_err() {
                    // Leave it to be sealed later; its torn tail is its last line.
                    self.wal = None;
                }
                Err(e)
            }
        }
    }

    /// Seals the log into a log file; on failure the log stays (it is durable and readable), a new
    /// log is started, and the seal is tried again at the next interval.
    fn seal(&mut self) {
        self.sealed_at = Instant::now();
        for path in std::mem::take(&mut self.unsealed) {
            if path.exists() {
                self.seal_path(path);
            }
        }
        let Some(wal) = self.wal.take() else { return };
        if wal.len == 0 {
            let _ = std::fs::remove_file(&wal.path);
            return;
        }
        // Sealed while this process still holds the log's lock: no other process seals it too.
        if let Err(e) = wal.file.sync_data() {
            tracing::error!(target: "warden::trail", error = %e, log = %wal.path.display(), "could not sync the audit log");
        }
        self.seal_path(wal.path.clone());
        drop(wal);
    }

    fn seal_path(&mut self, path: PathBuf) {
        match seal_file(&self.config, &path) {
            Ok(Some(_)) => {
                self.stats.sealed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(target: "warden::trail", error = %e, log = %path.display(), "could not seal the audit log; it stays and is sealed later");
                self.unsealed.push(path);
            }
        }
    }
}

/// Sixteen random letters and digits (the `UniqueString` of CloudTrail's file names).
fn unique_string() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let b = super::event::random_bytes();
    b.iter().map(|x| char::from(ALPHABET.get(usize::from(*x) % ALPHABET.len()).copied().unwrap_or(b'A'))).collect()
}

fn open_wal(dir: &Path) -> std::io::Result<Wal> {
    let path = dir.join(format!("{}.jsonl", unique_string()));
    let file = OpenOptions::new().create_new(true).append(true).open(&path)?;
    file.try_lock().map_err(|e| std::io::Error::other(e.to_string()))?;
    sync_dir(dir)?;
    Ok(Wal { path, file, len: 0 })
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Seals the logs no live process holds.
fn recover(config: &TrailConfig, stats: &TrailStats) -> Result<(), TrailError> {
    let dir = config.dir.join("wal");
    let io = |source| TrailError::Io { path: dir.clone(), source };
    for entry in std::fs::read_dir(&dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| TrailError::Io { path: path.clone(), source })?;
        if file.try_lock().is_err() {
            continue; // another process writes it
        }
        match seal_file(config, &path) {
            Ok(sealed) => {
                if sealed.is_some() {
                    stats.sealed.fetch_add(1, Ordering::Relaxed);
                }
                tracing::info!(target: "warden::trail", log = %path.display(), "sealed the audit log of a previous process");
            }
            Err(source) => return Err(TrailError::Io { path, source }),
        }
    }
    Ok(())
}

/// Writes the complete lines of the log at `wal` as a CloudTrail log file, then removes the log.
/// Returns the file written (`None` when the log held no record).
fn seal_file(config: &TrailConfig, wal: &Path) -> std::io::Result<Option<PathBuf>> {
    let reader = BufReader::new(File::open(wal)?);
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    let folder = config
        .dir
        .join("AWSLogs")
        .join(&config.account_id)
        .join("CloudTrail")
        .join(&config.region)
        .join(now.format("%Y/%m/%d").to_string());
    let name = format!(
        "{}_CloudTrail_{}_{}_{}.json.gz",
        config.account_id,
        config.region,
        now.format("%Y%m%dT%H%MZ"),
        unique_string()
    );
    std::fs::create_dir_all(&folder)?;
    let target = folder.join(&name);
    let tmp = folder.join(format!("{name}.tmp"));
    let mut gz = flate2::write::GzEncoder::new(File::create(&tmp)?, flate2::Compression::default());
    gz.write_all(b"{\"Records\":[")?;
    let mut records = 0usize;
    for line in reader.split(b'\n') {
        let line = line?;
        // `split` yields a last piece without its `\n` too: a torn record, never acknowledged.
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_err() {
            continue;
        }
        if records > 0 {
            gz.write_all(b",")?;
        }
        gz.write_all(&line)?;
        records += 1;
    }
    gz.write_all(b"]}")?;
    let file = gz.finish()?;
    if records == 0 {
        drop(file);
        std::fs::remove_file(&tmp)?;
        std::fs::remove_file(wal)?;
        return Ok(None);
    }
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, &target)?;
    sync_dir(&folder)?;
    std::fs::remove_file(wal)?;
    if let Some(parent) = wal.parent() {
        sync_dir(parent)?;
    }
    Ok(Some(target))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::trail::event::{Event, UserIdentity};

    fn event(name: &str) -> Event {
        Event {
            event_version: crate::trail::event::EVENT_VERSION,
            user_identity: UserIdentity::service("111122223333"),
            event_time: crate::trail::event::event_time(1_765_000_000),
            event_source: crate::trail::event::EVENT_SOURCE,
            event_name: name.into(),
            aws_region: "us-east-1".into(),
            source_ip_address: "127.0.0.1".into(),
            user_agent: "test".into(),
            error_code: None,
            error_message: None,
            request_parameters: None,
            response_elements: None,
            request_id: None,
            event_id: crate::trail::event::uuid(),
            read_only: false,
            resources: Vec::new(),
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: "111122223333".into(),
            service_event_details: None,
            event_category: "Management",
        }
    }

    fn config(dir: &Path) -> TrailConfig {
        TrailConfig::new(dir, "111122223333", "us-east-1")
    }

    /// The records of every sealed file.
    fn sealed(dir: &Path) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut stack = vec![dir.join("AWSLogs")];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    assert!(p.to_string_lossy().ends_with(".json.gz"), "{}", p.display());
                    let mut text = String::new();
                    std::io::Read::read_to_string(
                        &mut flate2::read::GzDecoder::new(File::open(&p).unwrap()),
                        &mut text,
                    )
                    .unwrap();
                    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
                    out.extend(doc["Records"].as_array().unwrap().iter().cloned());
                }
            }
        }
        out
    }

    fn wal_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir.join("wal")).unwrap().map(|e| e.unwrap().path()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_records_are_group_committed_and_sealed_into_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let trail = std::sync::Arc::new(Trail::open(config(dir.path())).unwrap());
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let t = std::sync::Arc::clone(&trail);
                tokio::spawn(async move { t.record(&event(&format!("Call{i}")), i % 2 == 0).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        trail.seal().await.unwrap();
        let records = sealed(dir.path());
        assert_eq!(records.len(), 64);
        let stats = trail.stats();
        assert_eq!(stats.written.load(Ordering::Relaxed), 64);
        let syncs = stats.syncs.load(Ordering::Relaxed);
        assert!((1..=32).contains(&syncs), "at most one sync per durable record: {syncs}");
        assert_eq!(stats.backlog.load(Ordering::Relaxed), 0);
        assert!(wal_files(dir.path()).is_empty(), "the sealed log is removed");
    }

    #[tokio::test]
    async fn a_dead_process_log_is_sealed_without_its_torn_line_and_a_live_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("wal")).unwrap();
        let a = serde_json::to_string(&event("PutImage")).unwrap();
        let b = serde_json::to_string(&event("CreateRepository")).unwrap();
        std::fs::write(dir.path().join("wal/DEADPROCESS00001.jsonl"), format!("{a}\n{b}\n{}", &b[..b.len() / 2]))
            .unwrap();
        // A live writer's log: locked by it.
        let live = Trail::open(config(dir.path())).unwrap();
        live.record(&event("TagResource"), true).await.unwrap();
        let records = sealed(dir.path());
        let names: Vec<&str> = records.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
        assert_eq!(names, ["PutImage", "CreateRepository"], "only the complete lines of the dead log");
        let second = Trail::open(config(dir.path())).unwrap();
        assert_eq!(sealed(dir.path()).len(), 2, "a second process leaves the live log alone");
        assert_eq!(wal_files(dir.path()).len(), 1);
        drop(second);
        live.close();
        let names: BTreeSet<String> =
            sealed(dir.path()).iter().map(|r| r["eventName"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["CreateRepository", "PutImage", "TagResource"].map(String::from).into());
        assert!(wal_files(dir.path()).is_empty(), "closing seals the log");
    }

    #[tokio::test]
    async fn sealed_files_are_named_and_foldered_as_cloudtrail_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let trail = Trail::open(config(dir.path())).unwrap();
        trail.record(&event("PutImage"), true).await.unwrap();
        trail.seal().await.unwrap();
        trail.seal().await.unwrap(); // nothing new: no empty file
        let day = dir.path().join("AWSLogs/111122223333/CloudTrail/us-east-1");
        let mut files = Vec::new();
        let mut stack = vec![day.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p)
                } else {
                    files.push(p)
                }
            }
        }
        assert_eq!(files.len(), 1);
        let rel = files[0].strip_prefix(&day).unwrap().to_str().unwrap().to_owned();
        let (folders, name) = rel.rsplit_once('/').unwrap();
        let ymd: Vec<&str> = folders.split('/').collect();
        assert_eq!(ymd.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 2, 2], "{rel}");
        let rest = name.strip_prefix("111122223333_CloudTrail_us-east-1_").unwrap();
        assert_eq!(&rest[..8], ymd.concat(), "{rel}");
        assert_eq!(&rest[8..9], "T");
        assert_eq!(&rest[13..15], "Z_");
        assert!(rest[15..].strip_suffix(".json.gz").unwrap().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(rest[15..].len(), 16 + ".json.gz".len());
    }

    #[tokio::test]
    async fn with_a_sync_window_calls_are_answered_before_the_sync_and_synced_within_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        c.sync_window = Some(Duration::from_millis(200));
        let trail = Trail::open(c).unwrap();
        for i in 0..5 {
            trail.record(&event(&format!("Put{i}")), true).await.unwrap();
        }
        assert_eq!(trail.stats().syncs.load(Ordering::Relaxed), 0, "answered before any sync");
        let wal = wal_files(dir.path());
        assert_eq!(std::fs::read_to_string(&wal[0]).unwrap().lines().count(), 5, "written to the OS");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(trail.stats().syncs.load(Ordering::Relaxed), 1, "one sync within the window");
    }

    #[test]
    fn the_failure_policy_parses() {
        assert_eq!("reject".parse::<OnFailure>().unwrap(), OnFailure::Reject);
        assert_eq!("continue".parse::<OnFailure>().unwrap(), OnFailure::Continue);
        assert!("drop".parse::<OnFailure>().is_err());
    }

    use std::collections::BTreeSet;
}
