//! [`LogStore`]: openraft's [`RaftLogStorage`] on a blocklog WAL, and its
//! [`LogReader`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use blocklog::wal::{Batch, Wal, WalBatch, WalOptions};
use blocklog::RecoveryMode;
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    ErrorSubject, ErrorVerb, LogId, LogState, OptionalSend, RaftLogId, RaftLogReader,
    RaftTypeConfig, StorageError, Vote,
};
use tokio::sync::oneshot;

use crate::commit::Committer;
use crate::error::{Error, Result};
use crate::record::{self, Record};

/// Adjusts the WAL's options (tests: fault injection).
type WalHook = Arc<dyn Fn(WalOptions) -> WalOptions + Send + Sync>;

/// Options of a [`LogStore`].
#[derive(Clone)]
pub struct Options {
    max_file_size: u64,
    max_record_size: usize,
    wal_hook: Option<WalHook>,
}

impl Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("max_file_size", &self.max_file_size)
            .field("max_record_size", &self.max_record_size)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_file_size: 64 << 20,
            max_record_size: 32 << 20,
            wal_hook: None,
        }
    }
}

impl Options {
    /// 64 MiB WAL files, WAL records (one per append, or more for a large
    /// append) of at most 32 MiB.
    pub fn new() -> Options {
        Options::default()
    }

    /// The WAL rotates to a new file before a record would take the current
    /// one past this size.
    pub fn max_file_size(mut self, bytes: u64) -> Options {
        self.max_file_size = bytes;
        self
    }

    /// The largest WAL record written or read back. An append is split into
    /// several records when its entries do not fit in one; a single entry
    /// that does not fit is refused ([`Error::EntryTooLarge`]).
    pub fn max_record_size(mut self, bytes: usize) -> Options {
        self.max_record_size = bytes;
        self
    }

    /// Tests only: passes the WAL's options through `hook` before opening
    /// (to wrap its files in a fault injector).
    #[doc(hidden)]
    pub fn wal_hook(
        mut self,
        hook: impl Fn(WalOptions) -> WalOptions + Send + Sync + 'static,
    ) -> Options {
        self.wal_hook = Some(Arc::new(hook));
        self
    }

    fn wal(&self) -> WalOptions {
        // Tolerate-tail only: a torn, never-acknowledged tail is dropped;
        // anything else (damage in synced data) refuses to open rather than
        // lose or skip acknowledged records.
        let opts = WalOptions::new()
            .mode(RecoveryMode::TolerateTail)
            .max_file_size(self.max_file_size)
            .max_record_size(self.max_record_size);
        match &self.wal_hook {
            Some(hook) => hook(opts),
            None => opts,
        }
    }
}

/// The state rebuilt from the WAL, and kept up to date by every operation.
struct State<C: RaftTypeConfig> {
    /// The entries not truncated or purged, by index, each with the WAL
    /// sequence number of its record (kept in memory in this slice; see
    /// `docs/raft.md`).
    entries: BTreeMap<u64, (u64, C::Entry)>,
    vote: Option<Vote<C::NodeId>>,
    last_purged: Option<LogId<C::NodeId>>,
    committed: Option<LogId<C::NodeId>>,
}

impl<C: RaftTypeConfig> State<C> {
    /// The one place a record changes the state: on replay and live alike,
    /// so the state after a restart is the state before it. `seq` is the
    /// record's WAL sequence number.
    fn apply(&mut self, record: Record<C>, seq: u64) {
        match record {
            Record::Entry(e) => {
                self.entries.insert(e.get_log_id().index, (seq, e));
            }
            Record::Vote(v) => self.vote = Some(v),
            Record::Truncate(since) => drop(self.entries.split_off(&since)),
            Record::Purge(upto) => {
                if self.last_purged.as_ref().is_some_and(|p| p >= &upto) {
                    return;
                }
                self.entries = match upto.index.checked_add(1) {
                    Some(keep) => self.entries.split_off(&keep),
                    None => BTreeMap::new(),
                };
                self.last_purged = Some(upto);
            }
            Record::Committed(c) => self.committed = c,
        }
    }

    fn last_log_id(&self) -> Option<LogId<C::NodeId>> {
        match self.entries.last_key_value() {
            Some((_, (_, e))) => Some(e.get_log_id().clone()),
            None => self.last_purged.clone(),
        }
    }
}

type Shared<C> = Arc<Mutex<State<C>>>;

fn lock<C: RaftTypeConfig>(shared: &Shared<C>) -> Result<MutexGuard<'_, State<C>>> {
    shared.lock().map_err(|_| Error::Poisoned)
}

/// `[start, end)` of a range of indexes, `None` for an empty one; never
/// panics (unlike `BTreeMap::range` on a reversed range).
fn bounds(range: &impl RangeBounds<u64>) -> Option<(u64, Option<u64>)> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1),
        Bound::Excluded(&e) => Some(e),
        Bound::Unbounded => None,
    };
    match end {
        Some(end) if end <= start => None,
        _ => Some((start, end)),
    }
}

fn read_range<C: RaftTypeConfig>(
    shared: &Shared<C>,
    range: &impl RangeBounds<u64>,
) -> Result<Vec<C::Entry>>
where
    C::Entry: Clone,
{
    let state = lock(shared)?;
    let Some((start, end)) = bounds(range) else {
        return Ok(Vec::new());
    };
    let entries = match end {
        Some(end) => state.entries.range(start..end),
        None => state.entries.range(start..),
    };
    Ok(entries.map(|(_, (_, e))| e.clone()).collect())
}

/// openraft's log storage (vote, entries, truncation, purge, committed log
/// id) on a blocklog WAL directory. Every operation is a record in the one
/// WAL, in the order the operations were called.
///
/// - [`append`](RaftLogStorage::append): the entries are readable when it
///   returns; the callback fires after the sync that made them durable (in
///   log order; a failed sync reaches it as an error);
/// - [`save_vote`](RaftLogStorage::save_vote),
///   [`truncate`](RaftLogStorage::truncate),
///   [`purge`](RaftLogStorage::purge): durable before they return (a
///   purge then deletes the WAL files holding nothing still needed);
/// - [`save_committed`](RaftLogStorage::save_committed): durable with the
///   next sync, not waited for.
///
/// Dropping the store lets its flusher thread make everything written
/// durable and call the pending callbacks, then closes the WAL (and
/// releases its lock).
pub struct LogStore<C: RaftTypeConfig> {
    shared: Shared<C>,
    committer: Committer,
    max_record_size: usize,
}

impl<C: RaftTypeConfig> Debug for LogStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore").finish_non_exhaustive()
    }
}

impl<C: RaftTypeConfig> LogStore<C> {
    /// Opens (creating it if needed) the store in the WAL directory `dir`,
    /// rebuilding the vote, the last purged log id, the entries and the
    /// committed log id from the WAL.
    ///
    /// Fails with the WAL's error if tolerate-tail recovery refuses the
    /// directory (damage in synced data), with [`Error::Corrupt`] if a
    /// record does not decode, with `Error::Wal(blocklog::Error::Locked)` if another
    /// store has it open.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<LogStore<C>> {
        let mut state = State {
            entries: BTreeMap::new(),
            vote: None,
            last_purged: None,
            committed: None,
        };
        let mut bad: Option<Error> = None;
        let wal = Wal::open_with(dir, opts.wal(), |b| {
            if bad.is_none() {
                if let Err(e) = replay(&mut state, b) {
                    bad = Some(e);
                }
            }
        })?;
        if let Some(e) = bad {
            return Err(e);
        }
        Ok(LogStore {
            shared: Arc::new(Mutex::new(state)),
            committer: Committer::start(wal)?,
            max_record_size: opts.max_record_size,
        })
    }

    /// Writes `records` as one batch (all or none survive a crash) after
    /// everything appended before, and returns once it is durable and the
    /// flush callbacks of every earlier append were called (so
    /// acknowledgements keep the log's order), with its first WAL sequence
    /// number. Waits without blocking the runtime: the flusher thread syncs.
    async fn durable(&self, records: &[Vec<u8>]) -> Result<u64> {
        let mut batch = Batch::new();
        for r in records {
            batch.put(r)?;
        }
        let first = self.committer.append(std::slice::from_ref(&batch))?[0];
        let last = first + batch.len() as u64 - 1;
        let (tx, rx) = oneshot::channel();
        self.committer.on_durable(
            last,
            Box::new(move |r| {
                // The waiter may be gone (its future dropped): nothing to tell.
                let _ = tx.send(r);
            }),
        );
        rx.await.map_err(|_| Error::Stopped)??;
        Ok(first)
    }

    /// Encodes `entries` into WAL batches of at most `max_record_size`
    /// bytes each, in order.
    fn batches(&self, entries: &[C::Entry]) -> Result<Vec<Batch>> {
        let mut batches = Vec::new();
        let mut batch = Batch::new();
        for e in entries {
            let bytes = record::entry::<C>(e)?;
            // The varint length prefix takes at most 5 bytes.
            let need = bytes.len() + 5;
            if 12 + need > self.max_record_size {
                return Err(Error::EntryTooLarge {
                    index: e.get_log_id().index,
                    bytes: 12 + need,
                    limit: self.max_record_size,
                });
            }
            if !batch.is_empty() && batch.encoded_len() + need > self.max_record_size {
                batches.push(std::mem::take(&mut batch));
            }
            batch.put(&bytes)?;
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        Ok(batches)
    }

    /// Appends `entries` (written to the WAL and readable when this
    /// returns) and calls `on_durable` from the store's flusher thread once
    /// they are durable, after the callbacks of every earlier append, or
    /// with the error that kept them from being so. The storage API's
    /// [`append`](RaftLogStorage::append) is this with openraft's callback;
    /// benches and tools without one use this directly.
    ///
    /// An error returned here means `on_durable` is not called: nothing was
    /// appended (an oversized entry, a store already failed), or a write
    /// failed part way, which fails the store (a crash or reopen may keep a
    /// prefix of the entries, never acknowledged).
    pub fn append_with(
        &mut self,
        entries: Vec<C::Entry>,
        on_durable: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        self.committer.failed()?;
        let batches = self.batches(&entries)?;
        let firsts = self.committer.append(&batches)?;
        {
            let mut state = lock(&self.shared)?;
            let seqs = batches
                .iter()
                .zip(&firsts)
                .flat_map(|(b, &first)| first..first + b.len() as u64);
            for (e, seq) in entries.into_iter().zip(seqs) {
                state.apply(Record::Entry(e), seq);
            }
        }
        // Even with no entries the callback waits its turn: it must come
        // after those of every earlier append. Only the store appends, so
        // the WAL's last sequence number is this append's last.
        let last = self.committer.last_seq()?;
        self.committer.on_durable(last, Box::new(on_durable));
        Ok(())
    }

    /// Applies `record` to the state, then makes it durable (waits).
    async fn apply_durable(&mut self, bytes: Vec<u8>, rec: Record<C>) -> Result<()> {
        self.committer.failed()?;
        // A truncate or purge record holds no entry: its sequence number is
        // not kept.
        lock(&self.shared)?.apply(rec, 0);
        self.durable(&[bytes]).await.map(drop)
    }

    /// The raft purge: the purge record, with the current vote and
    /// committed log id written again beside it, durable; then the WAL
    /// files holding nothing the state needs are dropped (`docs/raft.md`,
    /// "Purge reclaims files").
    async fn purge_through(&mut self, log_id: LogId<C::NodeId>) -> Result<()> {
        self.committer.failed()?;
        let records = {
            let mut state = lock(&self.shared)?;
            state.apply(Record::Purge(log_id), 0);
            // `apply` keeps the highest purge: that is what is written.
            let mut records = Vec::with_capacity(3);
            if let Some(v) = &state.vote {
                records.push(record::vote::<C>(v)?);
            }
            records.push(record::committed::<C>(&state.committed)?);
            if let Some(p) = &state.last_purged {
                records.push(record::purge::<C>(p)?);
            }
            records
        };
        let first = self.durable(&records).await?;
        // Everything the state needs is at or above the rewritten records'
        // first sequence number, or in a live entry's record: the lowest
        // live entry's (entries are written in index order, and an index
        // is rewritten only after a truncate that dropped every later one).
        let needed = {
            let state = lock(&self.shared)?;
            match state.entries.first_key_value() {
                Some((_, (seq, _))) => first.min(*seq),
                None => first,
            }
        };
        self.committer
            .purge_through(needed.saturating_sub(1))
            .map(drop)
    }
}

fn replay<C: RaftTypeConfig>(state: &mut State<C>, b: &WalBatch) -> Result<()> {
    let corrupt = |seq: u64, what: String| Error::Corrupt {
        file: b.file,
        offset: b.offset,
        seq,
        what,
    };
    let entries = b.entries()?;
    for (seq, e) in (b.seq..).zip(entries) {
        let rec = record::decode::<C>(&e).map_err(|w| corrupt(seq, w))?;
        state.apply(rec, seq);
    }
    Ok(())
}

/// A reader of the store's entries, for openraft's replication tasks:
/// shares the store's state (entries appended are readable at once).
pub struct LogReader<C: RaftTypeConfig> {
    shared: Shared<C>,
}

impl<C: RaftTypeConfig> Clone for LogReader<C> {
    fn clone(&self) -> Self {
        LogReader {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: RaftTypeConfig> RaftLogReader<C> for LogReader<C>
where
    C::Entry: Clone,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, StorageError<C::NodeId>> {
        read_range(&self.shared, &range).map_err(read_err::<C>)
    }
}

impl<C: RaftTypeConfig> RaftLogReader<C> for LogStore<C>
where
    C::Entry: Clone,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, StorageError<C::NodeId>> {
        read_range(&self.shared, &range).map_err(read_err::<C>)
    }
}

fn read_err<C: RaftTypeConfig>(e: Error) -> StorageError<C::NodeId> {
    e.into_storage(ErrorSubject::Logs, ErrorVerb::Read)
}

fn write_err<C: RaftTypeConfig>(e: Error) -> StorageError<C::NodeId> {
    e.into_storage(ErrorSubject::Logs, ErrorVerb::Write)
}

impl<C: RaftTypeConfig> RaftLogStorage<C> for LogStore<C>
where
    C::Entry: Clone,
{
    type LogReader = LogReader<C>;

    async fn get_log_state(&mut self) -> Result<LogState<C>, StorageError<C::NodeId>> {
        let state = lock(&self.shared).map_err(read_err::<C>)?;
        Ok(LogState {
            last_purged_log_id: state.last_purged.clone(),
            last_log_id: state.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        LogReader {
            shared: Arc::clone(&self.shared),
        }
    }

    async fn save_vote(&mut self, vote: &Vote<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        let vote_err = |e: Error| e.into_storage(ErrorSubject::Vote, ErrorVerb::Write);
        let bytes = record::vote::<C>(vote).map_err(vote_err)?;
        self.committer.failed().map_err(vote_err)?;
        // Durable first: a vote read back is never one that could be lost.
        let seq = self.durable(&[bytes]).await.map_err(vote_err)?;
        lock(&self.shared)
            .map_err(vote_err)?
            .apply(Record::Vote(vote.clone()), seq);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<C::NodeId>>, StorageError<C::NodeId>> {
        let state =
            lock(&self.shared).map_err(|e| e.into_storage(ErrorSubject::Vote, ErrorVerb::Read))?;
        Ok(state.vote.clone())
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<C::NodeId>>,
    ) -> Result<(), StorageError<C::NodeId>> {
        let bytes = record::committed::<C>(&committed).map_err(write_err::<C>)?;
        self.committer.failed().map_err(write_err::<C>)?;
        let mut batch = Batch::new();
        batch.put(&bytes).map_err(|e| write_err::<C>(e.into()))?;
        lock(&self.shared)
            .map_err(write_err::<C>)?
            .apply(Record::Committed(committed), 0);
        // Written, not waited for: durable with the next sync.
        self.committer
            .append(&[batch])
            .map(drop)
            .map_err(write_err::<C>)
    }

    async fn read_committed(
        &mut self,
    ) -> Result<Option<LogId<C::NodeId>>, StorageError<C::NodeId>> {
        let state = lock(&self.shared).map_err(read_err::<C>)?;
        Ok(state.committed.clone())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<C>,
    ) -> Result<(), StorageError<C::NodeId>>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<C::Entry> = entries.into_iter().collect();
        let cb = move |r: Result<()>| callback.log_io_completed(r.map_err(io::Error::other));
        match self.append_with(entries, cb) {
            Ok(()) => Ok(()),
            Err(e) => Err(write_err::<C>(e)),
        }
    }

    async fn truncate(&mut self, log_id: LogId<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        let bytes = record::truncate(log_id.index);
        self.apply_durable(bytes, Record::Truncate(log_id.index))
            .await
            .map_err(write_err::<C>)
    }

    async fn purge(&mut self, log_id: LogId<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        self.purge_through(log_id).await.map_err(write_err::<C>)
    }
}
