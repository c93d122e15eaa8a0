//! The side-by-side workload, the same for every log: append `count`
//! records of `size` bytes to a fresh log in a fresh directory, make them
//! durable with one sync, close the log, then open it again and read every
//! record back (checking count and bytes).
//!
//! Each function runs one round and returns the time from the first append
//! to the last byte read back; creating the empty directory (and, for the
//! logs that need it, opening the empty log) is not timed.

pub mod synced;

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records of one workload: `count` payloads of `size` pseudo-random bytes.
pub struct Workload {
    /// Payload size.
    pub size: usize,
    /// Number of records.
    pub count: usize,
    pool: Vec<u8>,
}

impl Workload {
    /// `count` records of `size` bytes.
    pub fn new(size: usize, count: usize) -> Workload {
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ size as u64;
        let mut pool = Vec::with_capacity(size * count + 8);
        while pool.len() < size * count {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            pool.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        pool.truncate(size * count);
        Workload { size, count, pool }
    }

    /// The records, in order.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        self.pool.chunks_exact(self.size)
    }

    /// Total payload bytes.
    pub fn bytes(&self) -> u64 {
        (self.size * self.count) as u64
    }

    fn check(&self, records: u64, bytes: u64) {
        assert_eq!(records, self.count as u64, "records read back");
        assert_eq!(bytes, self.bytes(), "bytes read back");
    }
}

/// blocklog: `Writer` over a `File` (64 KiB staging), `sync` (fdatasync),
/// then a `Reader` over the reopened `File`.
pub fn blocklog_round(w: &Workload, dir: &Path) -> Duration {
    let path = dir.join("000001.log");
    let t = Instant::now();
    let mut writer = blocklog::Writer::new(File::create(&path).unwrap());
    for r in w.records() {
        writer.add_record(r).unwrap();
    }
    writer.sync().unwrap();
    drop(writer);
    let mut reader = blocklog::Reader::new(File::open(&path).unwrap());
    let (mut n, mut bytes) = (0, 0);
    while let Some(rec) = reader.next_record().unwrap() {
        n += 1;
        bytes += rec.payload.len() as u64;
    }
    let elapsed = t.elapsed();
    w.check(n, bytes);
    elapsed
}

/// hidane-core's `export::log`: its `Writer` over a 64 KiB `BufWriter<File>`
/// (it writes each header and fragment separately), `sync_data`, then its
/// reader, which needs the whole file in memory (`fs::read`).
pub fn hidane_round(w: &Workload, dir: &Path) -> Duration {
    use hidane_core::export::log;
    let path = dir.join("export.log");
    let t = Instant::now();
    let mut writer = log::Writer::new(BufWriter::with_capacity(
        64 << 10,
        File::create(&path).unwrap(),
    ));
    for r in w.records() {
        writer.add_record(r).unwrap();
    }
    let file = writer
        .into_inner()
        .into_inner()
        .map_err(|e| e.into_error())
        .unwrap();
    file.sync_data().unwrap();
    drop(file);
    let data = std::fs::read(&path).unwrap();
    let (mut n, mut bytes) = (0, 0);
    for rec in log::records(&data) {
        n += 1;
        bytes += rec.unwrap().len() as u64;
    }
    let elapsed = t.elapsed();
    w.check(n, bytes);
    elapsed
}

/// Counts what okaywal hands to its log manager during recovery.
#[derive(Debug, Clone, Default)]
struct Counter {
    records: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl okaywal::LogManager for Counter {
    fn recover(&mut self, entry: &mut okaywal::Entry<'_>) -> io::Result<()> {
        if let Some(chunks) = entry.read_all_chunks()? {
            for c in chunks {
                self.records.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(c.len() as u64, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn checkpoint_to(
        &mut self,
        _last_checkpointed_id: okaywal::EntryId,
        _checkpointed_entries: &mut okaywal::SegmentReader,
        _wal: &okaywal::WriteAheadLog,
    ) -> io::Result<()> {
        Ok(())
    }
}

/// okaywal: one entry holding every record as a chunk, `commit` (which
/// fsyncs), `shutdown`, then `recover` into a manager that reads every chunk.
/// Checkpointing is pushed past the workload's size so recovery sees all
/// records; its write buffer is set to 64 KiB like blocklog's.
pub fn okaywal_round(w: &Workload, dir: &Path) -> Duration {
    let config = || {
        okaywal::Configuration::default_for(dir)
            .checkpoint_after_bytes(1 << 40)
            .buffer_bytes(64 << 10)
    };
    let log = config().open(Counter::default()).unwrap();
    let t = Instant::now();
    let mut entry = log.begin_entry().unwrap();
    for r in w.records() {
        entry.write_chunk(r).unwrap();
    }
    entry.commit().unwrap();
    log.shutdown().unwrap();
    let counter = Counter::default();
    let log = config().open(counter.clone()).unwrap();
    let elapsed = t.elapsed();
    w.check(
        counter.records.load(Ordering::Relaxed),
        counter.bytes.load(Ordering::Relaxed),
    );
    log.shutdown().unwrap();
    elapsed
}

/// raft-engine (`default-features = false`): every record a key-value `put`
/// in one `LogBatch`, `write(batch, sync = true)`, drop the engine, then
/// `Engine::open` (which replays the log files) and scan every value.
/// Batch compression is off (the payloads are incompressible).
pub fn raft_engine_round(w: &Workload, dir: &Path) -> Duration {
    use raft_engine::{Config, Engine, LogBatch, ReadableSize};
    let config = || Config {
        dir: dir.to_str().unwrap().to_owned(),
        batch_compression_threshold: ReadableSize(0),
        ..Config::default()
    };
    let engine = Engine::open(config()).unwrap();
    let t = Instant::now();
    let mut batch = LogBatch::default();
    for (i, r) in w.records().enumerate() {
        batch
            .put(1, (i as u64).to_be_bytes().to_vec(), r.to_vec())
            .unwrap();
    }
    engine.write(&mut batch, true).unwrap();
    drop(engine);
    let engine = Engine::open(config()).unwrap();
    let (mut n, mut bytes) = (0, 0);
    engine
        .scan_raw_messages(1, None, None, false, |_k, v| {
            n += 1;
            bytes += v.len() as u64;
            true
        })
        .unwrap();
    let elapsed = t.elapsed();
    w.check(n, bytes);
    elapsed
}

/// The floor, not a log: the records' bytes concatenated, written to a file
/// with one `write_all`, `sync_data`, and read back with `fs::read` (no
/// framing, no checksums). No log can do the same I/O in less time.
pub fn floor_round(w: &Workload, dir: &Path) -> Duration {
    use std::io::Write;
    let path = dir.join("plain");
    let t = Instant::now();
    let mut file = File::create(&path).unwrap();
    file.write_all(&w.pool).unwrap();
    file.sync_data().unwrap();
    drop(file);
    let data = std::fs::read(&path).unwrap();
    let elapsed = t.elapsed();
    w.check(w.count as u64, data.len() as u64);
    elapsed
}

/// One round of the workload with one log, returning the timed part.
pub type Round = fn(&Workload, &Path) -> Duration;

/// Every log in the comparison, by name.
pub const PEERS: [(&str, Round); 5] = [
    ("floor", floor_round),
    ("blocklog", blocklog_round),
    ("hidane-core", hidane_round),
    ("okaywal", okaywal_round),
    ("raft-engine", raft_engine_round),
];
