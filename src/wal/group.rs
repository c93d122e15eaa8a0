//! [`SharedWal`]: a [`Wal`] many threads append to at once, with group
//! commit: the appends waiting while one `fdatasync` runs are written
//! together and made durable by the next one. Sync policies, the durable
//! watermark, and what a waiter sees when a write or sync fails are in
//! `docs/wal.md`, "Group commit".
//!
//! The design in one paragraph: appends queue under one mutex, each with a
//! ticket (its place in the queue) and its sequence numbers, given in queue
//! order. The first waiting thread that finds no leader becomes the leader:
//! it takes a group off the front of the queue (up to
//! [`CommitOptions::max_group_bytes`]), releases the mutex, writes the
//! group's batches, and, if any member needs a sync, takes and writes what
//! queued meanwhile (briefly yielding for the previous group's members to
//! queue again), syncs once, and releases every
//! member with the one result; then it wakes the thread at the front of
//! the queue, which leads the next group (formed while this one was
//! syncing). Only a leader touches the [`Wal`], so at most one write or
//! sync is in flight. A failure poisons the handle: the group's waiters and
//! every later one get [`Error::OutcomeUnknown`].

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::wal::batch::Batch;
use crate::wal::writer::{Wal, WalOptions};

/// When appends are made durable (`docs/wal.md`, "Group commit").
///
/// ```
/// use std::time::Duration;
///
/// use blocklog::wal::{CommitOptions, SyncPolicy};
///
/// let opts = CommitOptions::new().policy(SyncPolicy::Interval(Duration::from_millis(5)));
/// # drop(opts);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// [`SharedWal::append`] returns once the batch is durable: its group's
    /// `fdatasync` returned.
    Always,
    /// `append` returns once the batch is written (visible to readers, not
    /// durable); a background thread syncs every interval when something
    /// was written since the last sync. Must not be zero.
    Interval(Duration),
    /// `append` returns once the batch is written; the group that brings
    /// the bytes written since the last sync to at least this many syncs
    /// (its leader waits for that sync; the other members do not).
    Bytes(u64),
    /// `append` returns once the batch is written; only
    /// [`SharedWal::sync`], [`SharedWal::wait_durable`],
    /// [`SharedWal::append_durable`] and [`SharedWal::close`] sync.
    Never,
}

/// Options of the group commit, built with chained setters.
///
/// ```
/// use std::time::Duration;
///
/// use blocklog::wal::{CommitOptions, SyncPolicy};
///
/// let opts = CommitOptions::new()
///     .policy(SyncPolicy::Always)
///     .max_group_bytes(512 << 10)
///     .min_sync_interval(Duration::from_micros(200));
/// # drop(opts);
/// ```
#[derive(Debug, Clone)]
pub struct CommitOptions {
    policy: SyncPolicy,
    max_group_bytes: usize,
    min_sync_interval: Duration,
}

impl Default for CommitOptions {
    fn default() -> Self {
        CommitOptions {
            policy: SyncPolicy::Always,
            max_group_bytes: 1 << 20,
            min_sync_interval: Duration::ZERO,
        }
    }
}

impl CommitOptions {
    /// [`SyncPolicy::Always`], groups of at most 1 MiB, no minimum sync
    /// interval.
    pub fn new() -> CommitOptions {
        CommitOptions::default()
    }

    /// The sync policy.
    pub fn policy(mut self, policy: SyncPolicy) -> CommitOptions {
        self.policy = policy;
        self
    }

    /// The most batch bytes (encoded) one group writes: the queue is taken
    /// in order until the next batch would pass it, so a large batch waits
    /// for the next group rather than delaying the small ones before it. A
    /// group always takes at least one batch, however large.
    pub fn max_group_bytes(mut self, bytes: usize) -> CommitOptions {
        self.max_group_bytes = bytes;
        self
    }

    /// The least time between the start of two syncs (Pebble's
    /// `WALMinSyncInterval`): a leader that would sync sooner waits for the
    /// rest of it first, letting more appends join its group. Default 0:
    /// no wait.
    pub fn min_sync_interval(mut self, interval: Duration) -> CommitOptions {
        self.min_sync_interval = interval;
        self
    }
}

/// Counters of a [`SharedWal`], for tests and benchmarks.
///
/// ```
/// use blocklog::wal::{Batch, CommitOptions, SharedWal, WalOptions};
///
/// let dir = tempfile::tempdir()?;
/// let wal = SharedWal::open(dir.path(), WalOptions::new(), CommitOptions::new())?;
/// let mut batch = Batch::new();
/// batch.put(b"x")?;
/// wal.append(&batch)?;
/// let stats = wal.stats();
/// assert_eq!((stats.appends, stats.groups, stats.syncs), (1, 1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitStats {
    /// Batches written.
    pub appends: u64,
    /// Groups written (each one leader's turn).
    pub groups: u64,
    /// `fdatasync` calls made by groups (a group with nothing new to sync
    /// makes none; rotation's seal syncs are not counted).
    pub syncs: u64,
    /// The most requests (batches and sync requests) one group took.
    pub largest_group: u64,
}

/// Called once a sequence number is durable, or with the error that makes
/// it unknown.
type Callback = Box<dyn FnOnce(Result<()>) + Send>;

/// A request in the queue: a batch to write, or (no batch) a sync.
struct Req {
    ticket: u64,
    batch: Option<Batch>,
    sync: bool,
    thread: Thread,
}

struct State {
    /// `None` while a leader writes with it, or after close.
    wal: Option<Wal>,
    leader: bool,
    pending: VecDeque<Req>,
    /// The ticket the next request gets (tickets start at 1).
    next_ticket: u64,
    /// Every request with a ticket up to this one has left the queue.
    taken: u64,
    /// ... has been written (visible to readers).
    written: u64,
    /// ... is durable.
    synced: u64,
    /// The sequence number the next batch gets.
    next_seq: u64,
    /// The last sequence number written.
    written_seq: u64,
    /// The last sequence number durable: the watermark.
    durable_seq: u64,
    /// Batch bytes written since the last sync.
    unsynced_bytes: u64,
    last_sync: Option<Instant>,
    /// How long the last sync took.
    last_sync_took: Duration,
    /// Members of the last group not seen queueing again since (each new
    /// request counts one back): what a leader about to sync may wait for.
    returning: usize,
    /// The [`Error::OutcomeUnknown`] every later call returns.
    poisoned: Option<Error>,
    closing: bool,
    closed: bool,
    callbacks: BTreeMap<u64, Vec<Callback>>,
    stats: CommitStats,
}

/// Stops the interval thread.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Waits `every` or until stopped; true when stopped.
    fn wait(&self, every: Duration) -> bool {
        let g = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        if *g {
            return true;
        }
        let (g, _) = self
            .cv
            .wait_timeout(g, every)
            .unwrap_or_else(|p| p.into_inner());
        *g
    }
}

struct Shared {
    state: Mutex<State>,
    /// Notified whenever a leader's turn ends (`leader` back to false):
    /// [`SharedWal::purge_through`] waits on it for the WAL.
    idle: Condvar,
    opts: CommitOptions,
    max_record_size: usize,
    dir: PathBuf,
    stop: Arc<Stop>,
}

/// A handle to a WAL that many threads share (`Send + Sync`, cheap to
/// clone), appending concurrently with group commit (`docs/wal.md`, "Group
/// commit").
///
/// Appends are ordered: each batch gets its sequence numbers in the order
/// the appends were queued, and is written in that order. Under
/// [`SyncPolicy::Always`] (the default) [`append`](SharedWal::append)
/// returns once the batch is durable; the appends that queue while one
/// `fdatasync` runs share the next one.
///
/// **Failure.** If a write or sync fails, that group's waiters and every
/// later call get [`Error::OutcomeUnknown`]: the handle is poisoned, the
/// bytes may or may not be on disk, and no sync is retried. Reopen the WAL
/// to find out: recovery holds every acknowledged batch, in order, and
/// possibly some that were not acknowledged.
///
/// **Visibility.** A batch is visible to a reader of the directory
/// ([`WalReader`](crate::wal::WalReader), a tail reader) once its group is
/// written, before the sync: a reader may see batches that are not durable
/// yet, and that a crash (or a failed sync) can still take away.
/// [`durable_seq`](SharedWal::durable_seq) says how far it is safe to act.
///
/// ```
/// use std::thread;
///
/// use blocklog::wal::{Batch, CommitOptions, SharedWal, WalOptions, WalReader, WalEvent};
///
/// let dir = tempfile::tempdir()?;
/// let wal = SharedWal::open(dir.path(), WalOptions::new(), CommitOptions::new())?;
/// let threads: Vec<_> = (0..4)
///     .map(|t| {
///         let wal = wal.clone();
///         thread::spawn(move || {
///             let mut batch = Batch::new();
///             batch.put(format!("thread {t}").as_bytes())?;
///             wal.append(&batch) // durable when it returns
///         })
///     })
///     .collect();
/// let mut seqs: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect::<Result<_, _>>()?;
/// seqs.sort();
/// assert_eq!(seqs, [1, 2, 3, 4]);
/// assert_eq!(wal.durable_seq(), 4);
/// wal.close()?;
///
/// let mut reader = WalReader::open(dir.path(), &WalOptions::new())?;
/// let mut batches = 0;
/// while let Some(event) = reader.next_event()? {
///     batches += matches!(event, WalEvent::Batch(_)) as usize;
/// }
/// assert_eq!(batches, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SharedWal {
    shared: Arc<Shared>,
}

impl fmt::Debug for SharedWal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.shared.lock();
        f.debug_struct("SharedWal")
            .field("dir", &self.shared.dir)
            .field("opts", &self.shared.opts)
            .field("next_seq", &g.next_seq)
            .field("durable_seq", &g.durable_seq)
            .field("poisoned", &g.poisoned)
            .finish_non_exhaustive()
    }
}

impl SharedWal {
    /// Opens the WAL in `dir` ([`Wal::open`]) and shares it.
    pub fn open(dir: impl AsRef<Path>, opts: WalOptions, commit: CommitOptions) -> Result<Self> {
        SharedWal::new(Wal::open(dir, opts)?, commit)
    }

    /// Shares an open WAL. Everything it holds is durable already (open
    /// syncs): the watermark starts at its last sequence number. A poisoned
    /// WAL is refused (its error, as [`Error::OutcomeUnknown`]).
    ///
    /// [`SyncPolicy::Interval`] starts a thread that lives until the WAL is
    /// closed or every handle dropped; a zero interval is
    /// [`Error::InvalidInput`].
    ///
    /// ```
    /// use blocklog::wal::{Batch, CommitOptions, SharedWal, SyncPolicy, Wal, WalOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut replayed = 0;
    /// let wal = Wal::open_with(dir.path(), WalOptions::new(), |_| replayed += 1)?;
    /// let wal = SharedWal::new(wal, CommitOptions::new().policy(SyncPolicy::Never))?;
    /// let mut batch = Batch::new();
    /// batch.put(b"a")?.put(b"b")?;
    /// let seq = wal.append(&batch)?; // written, not durable
    /// assert_eq!(wal.written_seq(), seq + 1);
    /// assert_eq!(wal.durable_seq(), 0);
    /// assert_eq!(wal.sync()?, seq + 1); // now durable
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(wal: Wal, commit: CommitOptions) -> Result<Self> {
        if let Some(e) = wal.poisoned() {
            return Err(unknown(e.clone()));
        }
        if commit.policy == SyncPolicy::Interval(Duration::ZERO) {
            return Err(Error::InvalidInput {
                offset: 0,
                what: "a sync interval of zero",
            });
        }
        let last = wal.next_seq() - 1;
        let shared = Arc::new(Shared {
            max_record_size: wal.options().max_record_size,
            dir: wal.dir().to_path_buf(),
            opts: commit,
            stop: Arc::new(Stop::default()),
            idle: Condvar::new(),
            state: Mutex::new(State {
                next_seq: wal.next_seq(),
                wal: Some(wal),
                leader: false,
                pending: VecDeque::new(),
                next_ticket: 1,
                taken: 0,
                written: 0,
                synced: 0,
                written_seq: last,
                durable_seq: last,
                unsynced_bytes: 0,
                last_sync: None,
                last_sync_took: Duration::ZERO,
                returning: 0,
                poisoned: None,
                closing: false,
                closed: false,
                callbacks: BTreeMap::new(),
                stats: CommitStats::default(),
            }),
        });
        if let SyncPolicy::Interval(every) = shared.opts.policy {
            let weak = Arc::downgrade(&shared);
            let stop = Arc::clone(&shared.stop);
            thread::Builder::new()
                .name("blocklog-wal-sync".into())
                .spawn(move || {
                    while !stop.wait(every) {
                        let Some(shared) = weak.upgrade() else { return };
                        let wal = SharedWal { shared };
                        if wal.written_seq() > wal.durable_seq() && wal.sync().is_err() {
                            return; // poisoned or closed: nothing more to sync
                        }
                    }
                })
                .map_err(|e| Error::io(0, e))?;
        }
        Ok(SharedWal { shared })
    }

    /// Appends `batch` and returns the sequence number of its first entry
    /// (its entries take `seq .. seq + batch.len()`). Under
    /// [`SyncPolicy::Always`] it returns once the batch is durable; under
    /// the other policies once it is written (visible, not durable: see
    /// [`durable_seq`](SharedWal::durable_seq)).
    ///
    /// An empty batch is [`Error::InvalidInput`], one larger than
    /// `max_record_size` [`Error::RecordTooLarge`]: refused at once,
    /// neither poisons. A failed write or sync: [`Error::OutcomeUnknown`]
    /// (see the type's docs). After [`close`](SharedWal::close):
    /// [`Error::Closed`].
    pub fn append(&self, batch: &Batch) -> Result<u64> {
        let sync = self.shared.opts.policy == SyncPolicy::Always;
        self.submit(Some(batch), sync).map(|(seq, _)| seq)
    }

    /// Appends `batch` and returns once it is durable, whatever the policy.
    ///
    /// ```
    /// use blocklog::wal::{Batch, CommitOptions, SharedWal, SyncPolicy, WalOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let commit = CommitOptions::new().policy(SyncPolicy::Never);
    /// let wal = SharedWal::open(dir.path(), WalOptions::new(), commit)?;
    /// let mut batch = Batch::new();
    /// batch.put(b"commit record")?;
    /// let seq = wal.append_durable(&batch)?;
    /// assert!(wal.durable_seq() >= seq);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append_durable(&self, batch: &Batch) -> Result<u64> {
        self.submit(Some(batch), true).map(|(seq, _)| seq)
    }

    /// Makes every batch appended before the call durable (joining a group,
    /// or syncing in one of its own) and returns the watermark.
    pub fn sync(&self) -> Result<u64> {
        self.submit(None, true).map(|(_, durable)| durable)
    }

    /// Returns once every entry up to `seq` is durable, syncing if needed
    /// (the sync joins the next group). `seq` must have been appended
    /// ([`Error::InvalidInput`] otherwise: nothing would ever make it
    /// durable); [`Error::OutcomeUnknown`] if the WAL is poisoned before it
    /// is durable.
    ///
    /// ```
    /// use blocklog::wal::{Batch, CommitOptions, SharedWal, SyncPolicy, WalOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let commit = CommitOptions::new().policy(SyncPolicy::Never);
    /// let wal = SharedWal::open(dir.path(), WalOptions::new(), commit)?;
    /// let mut batch = Batch::new();
    /// batch.put(b"entry")?;
    /// let seq = wal.append(&batch)?;
    /// wal.wait_durable(seq)?;
    /// assert!(wal.durable_seq() >= seq);
    /// assert!(wal.wait_durable(seq + 1).is_err()); // not appended
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_durable(&self, seq: u64) -> Result<()> {
        {
            let g = self.shared.lock();
            if g.durable_seq >= seq {
                return Ok(());
            }
            if seq >= g.next_seq {
                return Err(not_appended());
            }
        }
        self.sync().map(drop)
    }

    /// Calls `callback` once every entry up to `seq` is durable, with
    /// `Ok(())`, or with the error that makes it unknown (the WAL poisoned,
    /// `seq` never appended, every handle dropped first). It is called
    /// exactly once: at once on this thread when the outcome is known, or
    /// later on the thread that completed the sync. It does not sync by
    /// itself: under [`SyncPolicy::Never`] the next sync makes it fire. A
    /// callback should be short (it runs on an appending thread); a panic
    /// in it is resumed on that thread after the other callbacks ran.
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// use blocklog::wal::{Batch, CommitOptions, SharedWal, SyncPolicy, WalOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let commit = CommitOptions::new().policy(SyncPolicy::Never);
    /// let wal = SharedWal::open(dir.path(), WalOptions::new(), commit)?;
    /// let mut batch = Batch::new();
    /// batch.put(b"raft entry 7")?;
    /// let seq = wal.append(&batch)?;
    /// let (tx, rx) = mpsc::channel();
    /// wal.on_durable(seq, move |r| tx.send(r.is_ok()).unwrap());
    /// assert!(rx.try_recv().is_err()); // not durable yet
    /// wal.sync()?;
    /// assert_eq!(rx.recv(), Ok(true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_durable(&self, seq: u64, callback: impl FnOnce(Result<()>) + Send + 'static) {
        let outcome = {
            let mut g = self.shared.lock();
            if g.durable_seq >= seq {
                Ok(())
            } else if let Some(e) = &g.poisoned {
                Err(e.clone())
            } else if seq >= g.next_seq {
                Err(not_appended())
            } else {
                g.callbacks.entry(seq).or_default().push(Box::new(callback));
                return;
            }
        };
        callback(outcome);
    }

    /// [`Wal::purge_through`] on the shared WAL: drops every sealed file
    /// whose sequence numbers are all at or below `checkpoint`, crash-safe,
    /// and returns the numbers of the files dropped.
    ///
    /// It waits for the group being written (if any) to finish, then runs
    /// with the state locked: appends from other handles wait for it (one
    /// sync, a marker and one unlink and directory sync per file). A purge
    /// that drops files syncs everything written first, so the watermark
    /// moves up to [`written_seq`](SharedWal::written_seq) and the
    /// callbacks it covers fire; one with nothing to drop writes nothing.
    /// A checkpoint at or past [`next_seq`](SharedWal::next_seq) is
    /// [`Error::InvalidInput`] (nothing poisoned); a failed write, sync or
    /// unlink poisons the handle ([`Error::OutcomeUnknown`], as a failed
    /// group does). After [`close`](SharedWal::close): [`Error::Closed`].
    ///
    /// ```
    /// use blocklog::wal::{Batch, CommitOptions, SharedWal, WalOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let opts = WalOptions::new().max_file_size(64 << 10);
    /// let wal = SharedWal::open(dir.path(), opts, CommitOptions::new())?;
    /// let mut batch = Batch::new();
    /// batch.put(&[7u8; 1000])?;
    /// for _ in 0..200 {
    ///     wal.append(&batch)?;
    /// }
    /// // 64 batches a file: files 1 (1..=64) and 2 (65..=128) go.
    /// assert_eq!(wal.purge_through(130)?, [1, 2]);
    /// assert_eq!(wal.purge_through(130)?, Vec::<u64>::new()); // nothing more
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn purge_through(&self, checkpoint: u64) -> Result<Vec<u64>> {
        let mut g = self.shared.lock();
        loop {
            if let Some(e) = &g.poisoned {
                return Err(e.clone());
            }
            if g.closing {
                return Err(Error::Closed);
            }
            if !g.leader {
                break;
            }
            g = match self.shared.idle.wait(g) {
                Ok(g) => g,
                Err(p) => {
                    // Locking again marks the handle poisoned (see `lock`).
                    drop(p.into_inner());
                    self.shared.lock()
                }
            };
        }
        let Some(wal) = g.wal.as_mut() else {
            return Err(Error::Closed);
        };
        let r = wal.purge_through(checkpoint);
        let poisoned = wal.poisoned().is_some();
        let (callbacks, outcome, r) = match r {
            // Nothing to drop: nothing was written or synced.
            Ok(files) if files.is_empty() => (BTreeMap::new(), Ok(()), Ok(files)),
            Ok(files) => {
                g.durable_seq = g.written_seq;
                g.unsynced_bytes = 0;
                let from = g.durable_seq + 1;
                let rest = g.callbacks.split_off(&from);
                (std::mem::replace(&mut g.callbacks, rest), Ok(()), Ok(files))
            }
            // Refused before anything was written.
            Err(e) if !poisoned => (BTreeMap::new(), Ok(()), Err(e)),
            Err(e) => {
                let e = unknown(e);
                g.poisoned = Some(e.clone());
                wake(&g, std::iter::empty());
                (std::mem::take(&mut g.callbacks), Err(e.clone()), Err(e))
            }
        };
        drop(g);
        resume(run(callbacks, |_| outcome.clone()));
        r
    }

    /// The watermark: every entry with a sequence number up to this one is
    /// durable (0 when none is).
    pub fn durable_seq(&self) -> u64 {
        self.shared.lock().durable_seq
    }

    /// The last sequence number written: visible to a reader of the
    /// directory, durable only up to [`durable_seq`](SharedWal::durable_seq).
    pub fn written_seq(&self) -> u64 {
        self.shared.lock().written_seq
    }

    /// The sequence number the next appended batch gets.
    pub fn next_seq(&self) -> u64 {
        self.shared.lock().next_seq
    }

    /// The [`Error::OutcomeUnknown`] that poisoned the WAL, if any.
    pub fn poisoned(&self) -> Option<Error> {
        self.shared.lock().poisoned.clone()
    }

    /// The counters.
    pub fn stats(&self) -> CommitStats {
        self.shared.lock().stats
    }

    /// Requests queued and not yet taken by a group.
    pub fn queued(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Drains the queue (every batch appended before the call is written
    /// and synced), then seals and syncs the file ([`Wal::close`]) and
    /// releases the lock. Appends after it, from any handle, get
    /// [`Error::Closed`]; closing again returns `Ok(())`.
    pub fn close(self) -> Result<()> {
        {
            let mut g = self.shared.lock();
            if let Some(e) = &g.poisoned {
                return Err(e.clone());
            }
            if g.closing {
                return if g.closed { Ok(()) } else { Err(Error::Closed) };
            }
            g.closing = true;
        }
        self.shared.stop.stop();
        self.shared.wait(None, true, true)?;
        let wal = {
            let mut g = self.shared.lock();
            g.wal.take()
        };
        let r = match wal {
            Some(wal) => wal.close(),
            None => Err(Error::Closed),
        };
        let mut g = self.shared.lock();
        g.closed = true;
        let callbacks = std::mem::take(&mut g.callbacks);
        let outcome = match r {
            Ok(()) => {
                g.durable_seq = g.written_seq;
                Ok(())
            }
            Err(e) => {
                let e = unknown(e);
                g.poisoned = Some(e.clone());
                Err(e)
            }
        };
        drop(g);
        let panics = run(callbacks, |_| outcome.clone());
        resume(panics);
        outcome
    }

    fn submit(&self, batch: Option<&Batch>, sync: bool) -> Result<(u64, u64)> {
        if let Some(b) = batch {
            if b.is_empty() {
                return Err(Error::InvalidInput {
                    offset: 0,
                    what: "an empty batch",
                });
            }
            if b.encoded_len() > self.shared.max_record_size {
                return Err(Error::RecordTooLarge {
                    offset: 0,
                    limit: self.shared.max_record_size,
                });
            }
        }
        self.shared.wait(batch.cloned(), sync, false)
    }
}

impl Shared {
    /// Locks the state. A panic while it was held leaves it poisoned:
    /// the WAL is then poisoned too (its state may be half-updated).
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => {
                let mut g = p.into_inner();
                if g.poisoned.is_none() {
                    g.poisoned = Some(unknown(Error::io(
                        0,
                        io::Error::other("a thread panicked while holding the WAL's state"),
                    )));
                }
                g
            }
        }
    }

    /// Queues a request and waits for it: written, or (`sync`) durable.
    /// Returns the batch's first sequence number and the watermark.
    fn wait(&self, batch: Option<Batch>, sync: bool, closing: bool) -> Result<(u64, u64)> {
        let mut g = self.lock();
        if let Some(e) = &g.poisoned {
            return Err(e.clone());
        }
        if g.closing && !closing {
            return Err(Error::Closed);
        }
        let seq = g.next_seq;
        if let Some(b) = &batch {
            g.next_seq = seq.checked_add(b.len() as u64).ok_or(Error::InvalidInput {
                offset: 0,
                what: "sequence numbers exhausted",
            })?;
        }
        let ticket = g.next_ticket;
        g.next_ticket += 1;
        g.returning = g.returning.saturating_sub(1);
        g.pending.push_back(Req {
            ticket,
            batch,
            sync,
            thread: thread::current(),
        });
        loop {
            let done = if sync { g.synced } else { g.written };
            if done >= ticket {
                return Ok((seq, g.durable_seq));
            }
            if let Some(e) = &g.poisoned {
                return Err(e.clone());
            }
            if !g.leader && g.taken < ticket {
                self.lead(g);
            } else {
                drop(g);
                thread::park();
            }
            g = self.lock();
        }
    }

    /// One leader's turn: takes a group off the queue, writes it, syncs it
    /// if any member needs it, releases the members and hands over.
    fn lead<'a>(&'a self, mut g: MutexGuard<'a, State>) {
        g.leader = true;
        let mut turn = Turn {
            shared: self,
            finished: false,
            members: Vec::new(),
        };
        let min = self.opts.min_sync_interval;
        if !min.is_zero() && self.wants_sync(&g) {
            if let Some(wait) = g.last_sync.map(|t| min.saturating_sub(t.elapsed())) {
                if !wait.is_zero() {
                    drop(g);
                    thread::sleep(wait); // more appends join the group meanwhile
                    g = self.lock();
                }
            }
        }
        let Some(mut wal) = g.wal.take() else {
            // Closed (or lost to a panic): nothing can be written.
            if g.poisoned.is_none() {
                g.poisoned = Some(unknown(Error::Closed));
            }
            drop(g);
            return; // `turn` wakes everyone
        };
        // Take the group.
        let mut group = Group {
            members: Vec::new(),
            batches: Vec::new(),
            bytes: 0,
            entries: 0,
            sync: self.opts.policy == SyncPolicy::Always,
            last: g.taken,
        };
        self.take(&mut g, &mut group, &mut turn);
        let need_sync = self.needs_sync(&g, &group);
        let base_seq = g.written_seq;
        // Gathering (`docs/wal.md`, "Group commit"): how many members of
        // the previous group may still come back, and how long to give them.
        let expected = if self.opts.policy == SyncPolicy::Always {
            g.returning
        } else {
            0
        };
        let patience = g.last_sync_took / 2;
        drop(g);

        // Write, without the lock: the next group forms meanwhile. Before a
        // sync, what queued during the write joins this group (within the
        // byte cap) and is written too, until a write finds nothing new.
        let mut r = Ok(());
        let (mut written, mut released, mut idle) = (0usize, 0usize, 0usize);
        let gathering = Instant::now();
        loop {
            for b in &group.batches[written..] {
                if let Err(e) = wal.append(b) {
                    r = Err(e);
                    break;
                }
            }
            written = group.batches.len();
            if r.is_ok() {
                r = wal.flush();
            }
            if r.is_err() || !need_sync {
                break;
            }
            // Written: publish it, release the members that only wait for
            // that, and take what queued meanwhile.
            let mut g = self.lock();
            g.written = group.last;
            g.written_seq = base_seq + group.entries;
            let done = group.members.len();
            let mut more = self.take(&mut g, &mut group, &mut turn);
            // Members of the previous group that are on their way back (a
            // closed loop of appenders): a few yields let them queue, so
            // that the groups do not settle into two halves that alternate.
            while more == 0
                && g.returning > 0
                && g.poisoned.is_none()
                && g.pending.is_empty()
                && idle < expected
                && gathering.elapsed() < patience
            {
                drop(g);
                thread::yield_now();
                idle += 1;
                g = self.lock();
                more = self.take(&mut g, &mut group, &mut turn);
            }
            drop(g);
            for (t, sync) in &group.members[released..done] {
                if !sync {
                    t.unpark();
                }
            }
            released = done;
            if more == 0 {
                break;
            }
        }
        let mut sync_started = None;
        // Whether the sync calls fdatasync: not when nothing was appended
        // since the last one (a `sync` or `wait_durable` with nothing new).
        let mut fsynced = false;
        if r.is_ok() && need_sync {
            sync_started = Some(Instant::now());
            fsynced = wal.has_unsynced();
            r = wal.sync();
        }

        let mut g = self.lock();
        g.wal = Some(wal);
        if let Some(started) = sync_started.filter(|_| fsynced) {
            g.last_sync = Some(started);
            g.last_sync_took = started.elapsed();
        }
        let synced = sync_started.is_some();
        g.stats.groups += 1;
        g.stats.largest_group = g.stats.largest_group.max(group.members.len() as u64);
        let written_seq = base_seq + group.entries;
        let callbacks = match r {
            Ok(()) => {
                g.stats.appends += group.batches.len() as u64;
                g.written = group.last;
                g.written_seq = written_seq;
                if synced {
                    g.stats.syncs += u64::from(fsynced);
                    g.synced = group.last;
                    g.durable_seq = written_seq;
                    g.unsynced_bytes = 0;
                } else {
                    g.unsynced_bytes = g.unsynced_bytes.saturating_add(group.bytes as u64);
                }
                let from = g.durable_seq + 1;
                let rest = g.callbacks.split_off(&from);
                std::mem::replace(&mut g.callbacks, rest)
            }
            Err(e) => {
                g.poisoned = Some(unknown(e));
                std::mem::take(&mut g.callbacks)
            }
        };
        let outcome = match &g.poisoned {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        };
        g.leader = false;
        self.idle.notify_all();
        g.returning = group.members.len();
        turn.finished = true;
        // Woken once the lock is released (a woken thread's first step is
        // to take it): the next leader first, then the members.
        let next = queued_to_wake(&g);
        drop(g);
        for t in next.iter().chain(group.members.iter().map(|(t, _)| t)) {
            t.unpark();
        }
        resume(run(callbacks, |_| outcome.clone()));
    }

    /// Takes requests off the front of the queue into `group`, in order,
    /// while its bytes stay within [`CommitOptions::max_group_bytes`] (its
    /// first request always goes in); returns how many it took.
    fn take(&self, g: &mut State, group: &mut Group, turn: &mut Turn<'_>) -> usize {
        let mut n = 0;
        while let Some(front) = g.pending.front() {
            let len = front.batch.as_ref().map_or(0, Batch::encoded_len);
            if !group.members.is_empty()
                && group.bytes.saturating_add(len) > self.opts.max_group_bytes
            {
                break;
            }
            let Some(req) = g.pending.pop_front() else {
                break;
            };
            group.bytes = group.bytes.saturating_add(len);
            group.sync |= req.sync;
            group.last = req.ticket;
            if let Some(b) = req.batch {
                group.entries += b.len() as u64;
                group.batches.push(b);
            }
            turn.members.push(req.thread.clone());
            group.members.push((req.thread, req.sync));
            n += 1;
        }
        g.taken = group.last;
        n
    }

    /// Whether `group` syncs: a member asked for it, or the policy does.
    fn needs_sync(&self, g: &State, group: &Group) -> bool {
        match self.opts.policy {
            SyncPolicy::Bytes(n) => {
                group.sync || g.unsynced_bytes.saturating_add(group.bytes as u64) >= n
            }
            _ => group.sync,
        }
    }

    /// Whether the group the queue's front would form syncs.
    fn wants_sync(&self, g: &State) -> bool {
        self.opts.policy == SyncPolicy::Always || g.pending.iter().any(|r| r.sync)
    }
}

/// The requests one leader took, in queue order.
struct Group {
    /// Each member's thread, and whether it waits for the sync.
    members: Vec<(Thread, bool)>,
    batches: Vec<Batch>,
    /// Encoded batch bytes.
    bytes: usize,
    entries: u64,
    /// A member asked for the sync (or the policy is `Always`).
    sync: bool,
    /// The last member's ticket.
    last: u64,
}

/// A leader's turn; if it ends by a panic (a sink that panicked), the WAL
/// is poisoned and every waiter woken, so none waits for a leader that is
/// gone.
struct Turn<'a> {
    shared: &'a Shared,
    finished: bool,
    /// The group taken so far: woken too.
    members: Vec<Thread>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut g = self.shared.lock();
        if g.poisoned.is_none() {
            g.poisoned = Some(unknown(Error::io(
                0,
                io::Error::other("the group commit's leader panicked"),
            )));
        }
        g.leader = false;
        self.shared.idle.notify_all();
        let callbacks = std::mem::take(&mut g.callbacks);
        let e = g.poisoned.clone();
        wake(&g, self.members.iter());
        drop(g);
        if let Some(e) = e {
            // Not resumed: this thread is unwinding already.
            let _ = run(callbacks, |_| Err(e.clone()));
        }
    }
}

/// Wakes `members`, then: every waiter if the WAL is poisoned, else the
/// front of the queue (the next leader).
fn wake<'a>(g: &State, members: impl Iterator<Item = &'a Thread>) {
    for t in members {
        t.unpark();
    }
    for t in queued_to_wake(g) {
        t.unpark();
    }
}

/// The queued threads a turn's end wakes: every one if the WAL is
/// poisoned, else the front of the queue (the next leader).
fn queued_to_wake(g: &State) -> Vec<Thread> {
    if g.poisoned.is_some() {
        g.pending.iter().map(|r| r.thread.clone()).collect()
    } else {
        g.pending
            .front()
            .map(|r| r.thread.clone())
            .into_iter()
            .collect()
    }
}

/// Runs every callback (each one, even when one panics); returns the first
/// panic.
fn run(
    callbacks: BTreeMap<u64, Vec<Callback>>,
    outcome: impl Fn(u64) -> Result<()>,
) -> Option<Box<dyn std::any::Any + Send>> {
    let mut first = None;
    for (seq, list) in callbacks {
        for cb in list {
            let r = outcome(seq);
            if let Err(p) = panic::catch_unwind(AssertUnwindSafe(move || cb(r))) {
                first.get_or_insert(p);
            }
        }
    }
    first
}

fn resume(panic: Option<Box<dyn std::any::Any + Send>>) {
    if let Some(p) = panic {
        panic::resume_unwind(p);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.stop();
        let state = match self.state.get_mut() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let callbacks = std::mem::take(&mut state.callbacks);
        let e = unknown(Error::io(
            0,
            io::Error::other("every handle of the WAL was dropped before the sequence was synced"),
        ));
        let panicked = run(callbacks, |_| Err(e.clone()));
        if !thread::panicking() {
            resume(panicked);
        }
    }
}

/// The error of every waiter once `cause` poisoned the WAL.
fn unknown(cause: Error) -> Error {
    match cause {
        e @ Error::OutcomeUnknown { .. } => e,
        cause => Error::OutcomeUnknown {
            cause: Box::new(cause),
        },
    }
}

fn not_appended() -> Error {
    Error::InvalidInput {
        offset: 0,
        what: "a sequence number not appended yet",
    }
}
