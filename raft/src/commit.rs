//! The one path by which records reach the WAL and their waiters are told:
//! [`Committer`], on blocklog's group-commit handle
//! ([`SharedWal`], policy [`SyncPolicy::Never`]).
//!
//! - [`Committer::append`] writes batches on the caller's thread, in the
//!   caller's order (the store's calls are serialised by openraft's
//!   `&mut self`), and returns their sequence numbers: written (visible),
//!   not durable.
//! - [`Committer::on_durable`] queues a [`Done`] for the last sequence
//!   number of an append. A flusher thread syncs (`wait_durable` for the
//!   newest sequence queued: one `fdatasync` covers everything written
//!   while the previous one ran) and then calls the queued [`Done`]s in
//!   queue order, from that one thread.
//! - The store's durable operations (vote, truncate, purge) are an append
//!   and an [`on_durable`](Committer::on_durable) whose [`Done`] wakes the
//!   waiting call: they are acknowledged in log order with the appends.
//! - [`Committer::purge_through`] drops WAL files ([`SharedWal::purge_through`]).
//!
//! **Why a dispatcher rather than `SharedWal::on_durable`.** The handle's
//! callbacks run outside its lock on whichever thread completed the sync,
//! or at once on the registering thread when the sequence is durable
//! already: two syncs finishing back to back (the flusher's and a
//! `save_vote`'s) can run their callbacks concurrently, so callbacks of
//! different groups are not ordered. openraft needs them in log order; one
//! thread calling them from one queue gives that by construction.
//!
//! **Failure.** Once an append, a sync or a purge fails (the handle is
//! poisoned), the committer is failed for good: every [`Done`] still queued
//! and every later one gets the error, never a later success, and every
//! later call returns it.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use blocklog::wal::{Batch, CommitOptions, SharedWal, SyncPolicy, Wal};

use crate::error::{Error, Result};

/// Called once the append's records are durable (`Ok`), or could not be
/// made durable (`Err`). Called from the flusher thread: it must not block.
pub(crate) type Done = Box<dyn FnOnce(Result<()>) + Send>;

/// The flusher's queue.
#[derive(Default)]
struct Queue {
    /// (last sequence number of an append, its completion), in append order.
    waiting: VecDeque<(u64, Done)>,
    /// The first failure, once there was one.
    failed: Option<Error>,
    /// The store is closing: drain the queue, then stop.
    stop: bool,
}

#[derive(Default)]
struct Flush {
    queue: Mutex<Queue>,
    /// Notified when something is queued, or on stop.
    work: Condvar,
}

impl Flush {
    /// The queue holds plain data and no code runs while it is locked, so
    /// a poisoned lock (impossible short of an allocation failure) is taken
    /// as it is.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fail(&self, e: &Error) {
        let mut q = self.lock();
        if q.failed.is_none() {
            q.failed = Some(e.clone());
        }
        drop(q);
        self.work.notify_all();
    }
}

/// The store's WAL handle, and the flusher thread that makes appends
/// durable and tells their waiters in order.
pub(crate) struct Committer {
    wal: Option<SharedWal>,
    flush: Arc<Flush>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Shares `wal` (everything it holds is durable: open synced) and
    /// starts the flusher thread.
    pub(crate) fn start(wal: Wal) -> Result<Committer> {
        let wal = SharedWal::new(wal, CommitOptions::new().policy(SyncPolicy::Never))?;
        let flush = Arc::new(Flush::default());
        let thread = {
            let (wal, flush) = (wal.clone(), Arc::clone(&flush));
            std::thread::Builder::new()
                .name("blocklog-raft-flush".into())
                .spawn(move || run(&wal, &flush))
                .map_err(|e| {
                    Error::Wal(blocklog::Error::Io {
                        offset: 0,
                        source: Arc::new(e),
                    })
                })?
        };
        Ok(Committer {
            wal: Some(wal),
            flush,
            thread: Some(thread),
        })
    }

    fn wal(&self) -> Result<&SharedWal> {
        self.wal.as_ref().ok_or(Error::Stopped)
    }

    /// The error that failed the committer, if one did.
    pub(crate) fn failed(&self) -> Result<()> {
        if let Some(e) = &self.flush.lock().failed {
            return Err(e.clone());
        }
        match self.wal()?.poisoned() {
            Some(e) => Err(self.failure(e)),
            None => Ok(()),
        }
    }

    /// Records `e` as the committer's failure (the first one stays).
    fn failure(&self, e: blocklog::Error) -> Error {
        let e = Error::Wal(e);
        self.flush.fail(&e);
        e
    }

    /// Writes `batches` in order after everything appended before; returns
    /// each batch's first sequence number. Written (readable in the WAL),
    /// not durable: see [`on_durable`](Committer::on_durable). A failure
    /// (after which a prefix of the batches may be written) fails the
    /// committer.
    pub(crate) fn append(&self, batches: &[Batch]) -> Result<Vec<u64>> {
        let wal = self.wal()?;
        let mut firsts = Vec::with_capacity(batches.len());
        for b in batches {
            firsts.push(wal.append(b).map_err(|e| self.failure(e))?);
        }
        Ok(firsts)
    }

    /// The last sequence number appended (0 when none was).
    pub(crate) fn last_seq(&self) -> Result<u64> {
        Ok(self.wal()?.next_seq() - 1)
    }

    /// Calls `done` from the flusher thread once every record up to `seq`
    /// is durable, after the `done` of every earlier call; with the error
    /// instead once the committer failed.
    pub(crate) fn on_durable(&self, seq: u64, done: Done) {
        let mut q = self.flush.lock();
        q.waiting.push_back((seq, done));
        drop(q);
        self.flush.work.notify_one();
    }

    /// Drops the WAL files whose records are all at or below `checkpoint`;
    /// returns how many.
    pub(crate) fn purge_through(&self, checkpoint: u64) -> Result<usize> {
        self.failed()?;
        match self.wal()?.purge_through(checkpoint) {
            Ok(files) => Ok(files.len()),
            Err(e @ blocklog::Error::OutcomeUnknown { .. }) => Err(self.failure(e)),
            Err(e) => Err(Error::Wal(e)),
        }
    }
}

impl Drop for Committer {
    /// Lets the flusher make everything queued durable and tell its
    /// waiters, then closes the WAL (seal, sync) and releases its lock.
    fn drop(&mut self) {
        self.flush.lock().stop = true;
        self.flush.work.notify_all();
        if let Some(thread) = self.thread.take() {
            // The thread catches the callbacks' panics; nothing to add.
            let _ = thread.join();
        }
        if let Some(wal) = self.wal.take() {
            // Everything acknowledged was synced already; the seal only
            // saves the next open from cutting and sealing this file. A
            // failure has nobody left to tell: the next open recovers what
            // is on disk.
            let _ = wal.close();
        }
    }
}

/// The flusher: sync up to the newest queued sequence, then call every
/// queued `Done` that sync covers, in order; until stopped with nothing
/// queued.
fn run(wal: &SharedWal, flush: &Flush) {
    loop {
        let (target, failed) = {
            let mut q = flush.lock();
            while q.waiting.is_empty() && !q.stop {
                q = flush.work.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
            match q.waiting.back() {
                Some(&(seq, _)) => (seq, q.failed.is_some()),
                None => return, // stopped, nothing left
            }
        };
        if !failed {
            if let Err(e) = wal.wait_durable(target) {
                flush.fail(&Error::Wal(e));
            }
        }
        let durable = wal.durable_seq();
        let (ready, outcome) = {
            let mut q = flush.lock();
            let outcome = match &q.failed {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            };
            let ready: Vec<Done> = if outcome.is_err() {
                q.waiting.drain(..).map(|(_, d)| d).collect()
            } else {
                let n = q.waiting.iter().take_while(|(s, _)| *s <= durable).count();
                q.waiting.drain(..n).map(|(_, d)| d).collect()
            };
            (ready, outcome)
        };
        for done in ready {
            let r = outcome.clone();
            // A panicking callback must not stop the ones after it.
            let _ = panic::catch_unwind(AssertUnwindSafe(move || done(r)));
        }
    }
}
