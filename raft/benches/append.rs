//! Entries appended per second through openraft's storage API by 1 to 64
//! concurrent writers: `blocklog_raft::LogStore` (durable: the flush
//! callback fires after the WAL's sync) against openraft's in-memory store
//! (nothing durable) as the ceiling.
//!
//! The writers share the store behind one async lock, as openraft's core
//! owns it: each takes the lock, appends one entry at the next index,
//! releases the lock, then waits for its entry to be durable
//! (`LogStore::append_with`, the path `RaftLogStorage::append` takes, with a
//! oneshot for openraft's `LogFlushed`, which only openraft can make). The
//! LogStore's flusher thread makes everything written while the previous
//! sync ran durable with one sync (group commit on `SharedWal`), so
//! concurrent writers share syncs. The
//! ceiling is an in-memory store doing what `openraft-memstore`'s append
//! does (see `MemLog`: that crate cannot be built beside `storage-v2`).
//! A second column drives our store through openraft's
//! `RaftLogStorageExt::blocking_append`, the lock held until the flush:
//! one sync per entry, the floor.
//!
//! `cargo bench -p blocklog-raft --bench append` (`BLOCKLOG_RAFT_BENCH_ENTRIES`,
//! default 4000 per run). Results: `docs/performance.md`.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::RangeBounds;
use std::sync::Arc;
use std::time::Instant;

use blocklog_raft::kv::{KvConfig, Set};
use blocklog_raft::{LogStore, Options};
use openraft::storage::{LogFlushed, RaftLogStorage, RaftLogStorageExt};
use openraft::{
    AnyError, CommittedLeaderId, Entry, EntryPayload, LogId, LogState, RaftLogReader, StorageError,
    StorageIOError, Vote,
};
use tokio::sync::{oneshot, Mutex};

const WRITERS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];
const VALUE: &str = "a value of about a hundred bytes, as a small key-value write would carry: \
                     0123456789abcdef";

fn log_id(index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(1, 0), index)
}

/// `writers` tasks appending `total` entries in all, each waiting for its
/// entry's flush callback after releasing the lock (as openraft's core
/// pipelines appends); entries/s.
async fn blocklog(writers: usize, total: u64) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: LogStore<KvConfig> =
        LogStore::open(dir.path(), Options::new()).expect("open the store");
    let shared = Arc::new(Mutex::new((store, 1u64)));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            loop {
                let rx = {
                    let mut g = shared.lock().await;
                    let (store, next) = &mut *g;
                    if *next > total {
                        return;
                    }
                    let e = entry(*next);
                    *next += 1;
                    let (tx, rx) = oneshot::channel();
                    store
                        .append_with(vec![e], move |r| {
                            let _ = tx.send(r);
                        })
                        .expect("append");
                    rx
                };
                rx.await.expect("writer alive").expect("durable");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    total as f64 / t0.elapsed().as_secs_f64()
}

/// The ceiling: an in-memory log store doing what `openraft-memstore`'s
/// append does (each entry to JSON, into a `BTreeMap`), with the flush
/// callback called at once. (`openraft-memstore` 0.9.25 itself does not
/// build in this workspace: it implements the v1 `RaftStorage`, which
/// openraft compiles out once `storage-v2` is on, and features unify.)
struct MemLog {
    log: BTreeMap<u64, String>,
    vote: Option<Vote<u64>>,
}

impl RaftLogReader<KvConfig> for MemLog {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<KvConfig>>, StorageError<u64>> {
        let mut out = Vec::new();
        for s in self.log.range(range).map(|(_, s)| s) {
            match serde_json::from_str(s) {
                Ok(e) => out.push(e),
                Err(e) => return Err(StorageIOError::read_logs(AnyError::new(&e)).into()),
            }
        }
        Ok(out)
    }
}

impl RaftLogStorage<KvConfig> for MemLog {
    type LogReader = LogReaderStub;

    async fn get_log_state(&mut self) -> Result<LogState<KvConfig>, StorageError<u64>> {
        let last = self.log.keys().next_back().map(|&i| log_id(i));
        Ok(LogState {
            last_purged_log_id: None,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> LogReaderStub {
        LogReaderStub
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError<u64>> {
        self.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError<u64>> {
        Ok(self.vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<KvConfig>,
    ) -> Result<(), StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<KvConfig>> + Send,
        I::IntoIter: Send,
    {
        for e in entries {
            let s = serde_json::to_string(&e)
                .map_err(|err| StorageIOError::write_log_entry(e.log_id, AnyError::new(&err)))?;
            self.log.insert(e.log_id.index, s);
        }
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        self.log.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        self.log = self.log.split_off(&(log_id.index + 1));
        Ok(())
    }
}

/// The ceiling's reader (the bench reads nothing).
struct LogReaderStub;

impl RaftLogReader<KvConfig> for LogReaderStub {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        _range: RB,
    ) -> Result<Vec<Entry<KvConfig>>, StorageError<u64>> {
        Ok(Vec::new())
    }
}

fn entry(index: u64) -> Entry<KvConfig> {
    Entry {
        log_id: log_id(index),
        payload: EntryPayload::Normal(Set {
            key: format!("key-{index}"),
            value: VALUE.into(),
        }),
    }
}

/// `writers` tasks appending `total` entries in all through
/// `RaftLogStorageExt::blocking_append` (the lock held until the flush
/// callback fired); entries/s.
async fn blocking<S: RaftLogStorage<KvConfig>>(store: S, writers: usize, total: u64) -> f64 {
    let shared = Arc::new(Mutex::new((store, 1u64)));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            loop {
                let mut g = shared.lock().await;
                let (store, next) = &mut *g;
                if *next > total {
                    return;
                }
                let e = entry(*next);
                *next += 1;
                store.blocking_append([e]).await.expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    total as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let total: u64 = std::env::var("BLOCKLOG_RAFT_BENCH_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| writers | blocklog-raft, callback awaited outside the lock | blocklog-raft, \
         blocking_append | in-memory ceiling | pipelined / ceiling |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for w in WRITERS {
        let ours = rt.block_on(blocklog(w, total));
        let dir = tempfile::tempdir().expect("temp dir");
        let store: LogStore<KvConfig> =
            LogStore::open(dir.path(), Options::new()).expect("open the store");
        // One sync per entry whatever the writers: fewer entries.
        let serial = rt.block_on(blocking(store, w, total / 4));
        // Memory is orders of magnitude faster: more entries for a
        // measurable run.
        let mem = MemLog {
            log: BTreeMap::new(),
            vote: None,
        };
        let ceiling = rt.block_on(blocking(mem, w, total * 50));
        println!(
            "| {w} | {ours:.0} | {serial:.0} | {ceiling:.0} | {:.1}% |",
            100.0 * ours / ceiling
        );
    }
}
