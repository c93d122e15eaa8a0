//! The one path by which records become durable and their waiters are told:
//! [`Committer::submit`].
//!
//! This slice owns a single-threaded [`Wal`] in a dedicated writer thread.
//! The thread takes every request waiting in its queue (a group), appends
//! their batches in submission order, syncs once, then calls each request's
//! [`Done`] in submission order with the sync's outcome. Once an append or a
//! sync fails, the committer is failed for good: that request, every other
//! of its group and every later one get the error, never a later success
//! (the WAL is poisoned anyway, so nothing after the failure reaches the
//! disk).
//!
//! **Switching to group commit** (issue 12): replace the thread in
//! [`Committer::start`] and the body of [`Committer::submit`] with the
//! shared WAL handle: append the batches through the handle (in the
//! caller's order, which `submit`'s callers already serialise), then
//! register `done` with the handle's durable-sequence callback for the last
//! sequence appended. Nothing outside this file depends on the thread.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use blocklog::wal::{Batch, Wal};

use crate::error::{Error, Result};

/// Called once the request's batches are durable (`Ok`), or could not be
/// made durable (`Err`). Called from the writer thread: it must not block.
pub(crate) type Done = Box<dyn FnOnce(Result<()>) + Send>;

struct Request {
    batches: Vec<Batch>,
    done: Option<Done>,
}

/// The writer: owns the WAL, makes submitted batches durable in order.
pub(crate) struct Committer {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    /// The first failure, once there was one (set by the writer thread).
    failed: Arc<OnceLock<Error>>,
}

impl Committer {
    /// Starts the writer thread, which owns `wal` until the committer is
    /// dropped.
    pub(crate) fn start(wal: Wal) -> Result<Committer> {
        let (tx, rx) = mpsc::channel();
        let failed = Arc::new(OnceLock::new());
        let flag = Arc::clone(&failed);
        let thread = std::thread::Builder::new()
            .name("blocklog-raft-wal".into())
            .spawn(move || run(wal, rx, &flag))
            .map_err(|e| {
                Error::Wal(blocklog::Error::Io {
                    offset: 0,
                    source: Arc::new(e),
                })
            })?;
        Ok(Committer {
            tx: Some(tx),
            thread: Some(thread),
            failed,
        })
    }

    /// The error that failed the committer, if one did.
    pub(crate) fn failed(&self) -> Result<()> {
        match self.failed.get() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Queues `batches` to be appended after everything submitted before
    /// and made durable; `done` (if any) is then called with the outcome.
    /// Returns at once. If the writer is gone, `done` is called here with
    /// [`Error::Stopped`] and the same error returned.
    pub(crate) fn submit(&self, batches: Vec<Batch>, done: Option<Done>) -> Result<()> {
        let request = Request { batches, done };
        let Some(tx) = &self.tx else {
            return refuse(request);
        };
        match tx.send(request) {
            Ok(()) => Ok(()),
            Err(mpsc::SendError(request)) => refuse(request),
        }
    }
}

fn refuse(request: Request) -> Result<()> {
    if let Some(done) = request.done {
        done(Err(Error::Stopped));
    }
    Err(Error::Stopped)
}

impl Drop for Committer {
    /// Lets the writer finish what was submitted (appended, synced, its
    /// waiters told), close the WAL and release its lock; waits for it.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            // The thread does not panic; if it did, there is nothing to add.
            let _ = thread.join();
        }
    }
}

/// The most requests made durable by one sync: bounds the group's memory
/// when submitters outpace the disk.
const MAX_GROUP: usize = 1024;

fn run(mut wal: Wal, rx: mpsc::Receiver<Request>, failed: &OnceLock<Error>) {
    let mut group = Vec::new();
    while let Ok(first) = rx.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let outcome = match failed.get() {
            Some(e) => Err(e.clone()),
            None => write_group(&mut wal, &group),
        };
        if let Err(e) = &outcome {
            let _ = failed.set(e.clone());
        }
        for request in group.drain(..) {
            if let Some(done) = request.done {
                done(outcome.clone());
            }
        }
    }
    if failed.get().is_none() {
        // Everything was synced already; the seal only saves the next open
        // from cutting and sealing this file. Nobody is left to tell of a
        // failure: the next open recovers what is on disk.
        let _ = wal.close();
    }
}

fn write_group(wal: &mut Wal, group: &[Request]) -> Result<()> {
    for request in group {
        for batch in &request.batches {
            wal.append(batch)?;
        }
    }
    wal.sync()?;
    Ok(())
}
