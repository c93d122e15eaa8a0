//! Synced appends from many threads: each thread appends `per_thread`
//! records of one size, each append durable before the next (one thread's
//! appends are sequential; the threads run at once, so a log that groups
//! commits shares syncs between them).
//!
//! Each function opens a fresh log in `dir` (not timed), starts the
//! threads together, and returns the time from the start to the last
//! thread's return, with every append's latency.

use std::path::Path;
use std::sync::Arc;

use blocklog_testkit::timed_threads;
pub use blocklog_testkit::timed_threads::Run;

/// Starts `threads` threads running `body(thread, index, record)`
/// `per_thread` times, together, each with its own copy of `record`;
/// returns the run.
fn run<F>(threads: usize, per_thread: u64, record: &[u8], body: F) -> Run
where
    F: Fn(usize, u64, &[u8]) + Send + Sync + 'static,
{
    let body = Arc::new(body);
    timed_threads::run(threads, per_thread, |t| {
        let (body, record) = (Arc::clone(&body), record.to_vec());
        move |i| body(t, i, &record)
    })
}

/// blocklog: `SharedWal` with `SyncPolicy::Always` (group commit), one
/// single-entry batch per append, with `WalOptions::new()`'s defaults.
pub fn blocklog(dir: &Path, threads: usize, per_thread: u64, record: &[u8]) -> Run {
    blocklog_with(
        dir,
        threads,
        per_thread,
        record,
        blocklog::wal::WalOptions::new(),
    )
}

/// Preallocation of the `blocklog-prealloc` row: more than any run writes
/// (a few thousand appends of about 140 bytes), as okaywal and raft-engine
/// have their files allocated ahead of the appends.
const PREALLOC: u64 = 4 << 20;

/// blocklog as [`blocklog`], its file zero-filled ahead
/// (`WalOptions::preallocate`), so that no append grows it.
pub fn blocklog_prealloc(dir: &Path, threads: usize, per_thread: u64, record: &[u8]) -> Run {
    let opts = blocklog::wal::WalOptions::new().preallocate(PREALLOC);
    blocklog_with(dir, threads, per_thread, record, opts)
}

fn blocklog_with(
    dir: &Path,
    threads: usize,
    per_thread: u64,
    record: &[u8],
    opts: blocklog::wal::WalOptions,
) -> Run {
    use blocklog::wal::{Batch, CommitOptions, SharedWal};
    let wal = SharedWal::open(dir, opts, CommitOptions::new()).unwrap();
    let w = wal.clone();
    let r = run(threads, per_thread, record, move |_, _, rec| {
        let mut batch = Batch::new();
        batch.put(rec).unwrap();
        w.append(&batch).unwrap();
    });
    wal.close().unwrap();
    r
}

/// okaywal: one entry per append (`begin_entry`, `write_chunk`, `commit`,
/// which returns once durable; okaywal batches concurrent commits).
pub fn okaywal(dir: &Path, threads: usize, per_thread: u64, record: &[u8]) -> Run {
    let log = okaywal::Configuration::default_for(dir)
        .checkpoint_after_bytes(1 << 40)
        .open(super::Counter::default())
        .unwrap();
    let l = log.clone();
    let r = run(threads, per_thread, record, move |_, _, rec| {
        let mut entry = l.begin_entry().unwrap();
        entry.write_chunk(rec).unwrap();
        entry.commit().unwrap();
    });
    log.shutdown().unwrap();
    r
}

/// raft-engine: one `LogBatch` with one key-value `put` per append (a
/// region per thread), `write(batch, sync = true)` (raft-engine groups
/// concurrent writes behind a leader).
pub fn raft_engine(dir: &Path, threads: usize, per_thread: u64, record: &[u8]) -> Run {
    use raft_engine::{Config, Engine, LogBatch, ReadableSize};
    let config = Config {
        dir: dir.to_str().unwrap().to_owned(),
        batch_compression_threshold: ReadableSize(0),
        ..Config::default()
    };
    let engine = Arc::new(Engine::open(config).unwrap());
    let e = Arc::clone(&engine);
    run(threads, per_thread, record, move |t, i, rec| {
        let mut batch = LogBatch::default();
        batch
            .put(t as u64 + 1, i.to_be_bytes().to_vec(), rec.to_vec())
            .unwrap();
        e.write(&mut batch, true).unwrap();
    })
}

/// One run with one log.
pub type SyncedRun = fn(&Path, usize, u64, &[u8]) -> Run;

/// Every log of the synced comparison, by name.
pub const SYNCED: [(&str, SyncedRun); 4] = [
    ("blocklog", blocklog),
    ("blocklog-prealloc", blocklog_prealloc),
    ("okaywal", okaywal),
    ("raft-engine", raft_engine),
];
