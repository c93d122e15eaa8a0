//! The properties of the three fuzz targets, as plain functions of the
//! fuzzer's input bytes. `fuzz/fuzz_targets/*.rs` call them, and
//! `tests/fuzz_regressions.rs` replays
//! the seed corpora and every saved crash through them on stable Rust.
//!
//! Each function panics, with a message saying which property failed, when
//! the reader misbehaves on the input.

use std::collections::HashSet;

use arbitrary::{Arbitrary, Unstructured};
use blocklog::format::BLOCK_SIZE;
use blocklog::{Error, Event, ReaderOptions, RecoveryMode, Resync, WriterOptions};

use crate::oracle::{all_frags, chain_at, prefix_of, subsequence_of, verify_record, Written};
use crate::read::{read_source, Chunked, Run};
use crate::rng::Rng;

// ------------------------------------------------------------------ read_any

/// The reader options a `read_any` input selects with its first bytes.
#[derive(Debug, Clone)]
pub struct ReadConfig {
    /// Resync granularity.
    pub resync: Resync,
    /// Expected log number.
    pub log_number: Option<u32>,
    /// Initial offset (0: none).
    pub initial_offset: u64,
    /// Record size limit.
    pub max_record_size: usize,
    /// The mode whose read is repeated with short reads.
    pub chunked_mode: RecoveryMode,
    /// Chunk sizes for that read.
    pub chunks: Vec<usize>,
}

/// Bytes of configuration at the start of a `read_any` input.
pub const READ_CONFIG_LEN: usize = 12;

impl ReadConfig {
    /// Options for `mode`.
    pub fn options(&self, mode: RecoveryMode) -> ReaderOptions {
        let mut o = ReaderOptions::new()
            .mode(mode)
            .resync(self.resync)
            .initial_offset(self.initial_offset)
            .max_record_size(self.max_record_size);
        if let Some(n) = self.log_number {
            o = o.log_number(n);
        }
        o
    }
}

/// Splits a `read_any` input into its configuration and the log bytes.
pub fn split_read_any(data: &[u8]) -> (ReadConfig, &[u8]) {
    let mut c = [0u8; READ_CONFIG_LEN];
    let n = data.len().min(READ_CONFIG_LEN);
    c[..n].copy_from_slice(&data[..n]);
    let log = &data[n..];
    let flags = c[0];
    let word = |i: usize| u32::from_le_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
    let initial_offset = if flags & 0x08 != 0 {
        u64::from(word(5)) % (log.len() as u64 + BLOCK_SIZE as u64 + 1)
    } else {
        0
    };
    let max_record_size = match c[9] & 3 {
        0 => blocklog::DEFAULT_MAX_RECORD_SIZE,
        1 => usize::from(c[10]),
        _ => (usize::from(c[10]) << 10) | usize::from(c[11]),
    };
    let config = ReadConfig {
        resync: if flags & 0x01 != 0 {
            Resync::Scan
        } else {
            Resync::Block
        },
        log_number: (flags & 0x02 != 0).then(|| word(1)),
        initial_offset,
        max_record_size,
        chunked_mode: RecoveryMode::ALL[usize::from(flags >> 4) & 3],
        chunks: vec![1 + usize::from(c[9] >> 2), 1, 4096 + usize::from(c[11])],
    };
    (config, log)
}

/// Records as (offset, payload).
type Records = Vec<(u64, Vec<u8>)>;

/// The records of tolerate-tail, absolute and skip-corrupt, after checking
/// the recovery table's cross-mode rules on the four modes' reads:
/// tolerate-tail returns what point-in-time returns, absolute a prefix of
/// it, skip-corrupt a superset starting with it.
fn cross_mode_records(tt: &Run, ab: &Run, pit: &Run, sc: &Run) -> (Records, Records, Records) {
    let (tt_r, ab_r, pit_r, sc_r) = (
        records_of(tt),
        records_of(ab),
        records_of(pit),
        records_of(sc),
    );
    assert_eq!(tt_r, pit_r, "tolerate-tail and point-in-time differ");
    assert!(
        tt_r.starts_with(&ab_r),
        "absolute returned records tolerate-tail did not"
    );
    assert!(
        sc_r.starts_with(&pit_r),
        "skip-corrupt lost records point-in-time returned"
    );
    (tt_r, ab_r, sc_r)
}

fn records_of(o: &Run) -> Records {
    o.returned()
        .iter()
        .map(|r| (r.offset, r.payload.to_vec()))
        .collect()
}

fn describe(events: &[Event]) -> String {
    let s: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Record(r) => format!("record@{}+{}", r.offset, r.payload.len()),
            Event::Dropped(d) => format!("dropped {d}"),
            Event::Benign(b) => format!("benign {}@{:?}", b.kind.as_str(), b.range),
            other => format!("{other:?}"),
        })
        .collect();
    s.join(", ")
}

/// Checks one read of arbitrary bytes: it terminated (bounded events),
/// offsets strictly increase, every record is made of checksummed fragments
/// and fits the limit, damage lies within the file, and errors are only the
/// mode's refusals or an unsupported compression.
fn check_read(log: &[u8], cfg: &ReadConfig, mode: RecoveryMode, o: &Run) {
    let mut last: Option<u64> = None;
    for r in o.returned() {
        assert!(
            last.is_none_or(|l| r.offset > l),
            "{mode}: offsets do not increase: {}",
            describe(&o.events)
        );
        last = Some(r.offset);
        assert!(
            r.offset >= cfg.initial_offset,
            "{mode}: record before the initial offset"
        );
        assert!(
            r.payload.len() <= cfg.max_record_size,
            "{mode}: record over the limit"
        );
        if let Err(e) = verify_record(log, r) {
            panic!("{mode}: returned record not made of valid fragments: {e}");
        }
    }
    for e in &o.events {
        let range = match e {
            Event::Dropped(d) => d.range.clone(),
            Event::Benign(b) => b.range.clone(),
            _ => continue,
        };
        assert!(
            range.start < range.end && range.end <= log.len() as u64,
            "{mode}: region {range:?} outside a {}-byte file",
            log.len()
        );
    }
    // Reported regions never overlap each other, and no returned record
    // starts inside a dropped region.
    let mut regions: Vec<(u64, u64)> = o
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Dropped(d) => Some((d.range.start, d.range.end)),
            Event::Benign(b) => Some((b.range.start, b.range.end)),
            _ => None,
        })
        .collect();
    regions.sort_unstable();
    for w in regions.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "{mode}: regions overlap: {}",
            describe(&o.events)
        );
    }
    for r in o.returned() {
        assert!(
            !o.dropped.iter().any(|d| d.range.contains(&r.offset)),
            "{mode}: record at {} lies in a dropped region: {}",
            r.offset,
            describe(&o.events)
        );
    }
    match &o.error {
        None => {}
        Some(Error::Corruption { mode: m, .. }) => {
            assert_eq!(*m, mode);
            assert!(
                matches!(mode, RecoveryMode::TolerateTail | RecoveryMode::Absolute),
                "{mode} refused a log"
            );
        }
        // A record over the limit is a limit, not damage; a recyclable
        // record after damage in a log of unknown number cannot be
        // attributed (docs/recovery.md).
        Some(Error::UnsupportedCompression { .. })
        | Some(Error::RecordTooLarge { .. })
        | Some(Error::UnknownLogNumber { .. }) => {}
        Some(e) => panic!("{mode}: unexpected error {e}"),
    }
}

/// The `read_any` target: any bytes, every mode, the input's options.
pub fn read_any(data: &[u8]) {
    let (cfg, log) = split_read_any(data);
    let limit = log.len() + 16;
    let outs: Vec<Run> = RecoveryMode::ALL
        .iter()
        .map(|&m| read_source(log, cfg.options(m), limit))
        .collect();
    for (m, o) in RecoveryMode::ALL.iter().zip(&outs) {
        check_read(log, &cfg, *m, o);
    }
    let [tt, ab, pit, sc] = [&outs[0], &outs[1], &outs[2], &outs[3]];
    let (tt_r, ab_r, sc_r) = cross_mode_records(tt, ab, pit, sc);
    match &tt.error {
        Some(Error::Corruption { damage, .. }) => {
            assert_eq!(
                damage.position,
                blocklog::Position::Interior,
                "tolerate-tail refused tail damage"
            );
            assert_eq!(
                pit.summary.stopped_at.as_ref(),
                Some(damage),
                "point-in-time did not stop there"
            );
        }
        None => {
            assert!(
                pit.summary.stopped_at.is_none(),
                "point-in-time stopped, tolerate-tail did not fail"
            );
            if sc.error.is_none() {
                assert_eq!(sc_r, tt_r, "no interior damage, yet skip-corrupt differs");
            }
        }
        Some(_) => {}
    }
    if ab.error.is_none() {
        assert_eq!(ab_r, tt_r, "absolute accepted the log but returned less");
        assert_eq!(
            tt.summary.damaged_regions, 0,
            "absolute accepted a damaged log"
        );
    }
    // Short reads change nothing.
    let i = RecoveryMode::ALL
        .iter()
        .position(|&m| m == cfg.chunked_mode)
        .unwrap();
    let chunked = read_source(
        Chunked::new(log, cfg.chunks.clone()),
        cfg.options(cfg.chunked_mode),
        limit,
    );
    assert_eq!(
        chunked.events, outs[i].events,
        "short reads changed the events"
    );
    assert_eq!(
        chunked.error.map(|e| e.to_string()),
        outs[i].error.as_ref().map(|e| e.to_string()),
        "short reads changed the error"
    );
}

// --------------------------------------------------------- corrupt_roundtrip

/// A record to write: `len` bytes (plus whole blocks when `blocks` says so)
/// generated from `seed` in a `style`.
#[derive(Debug, Clone, Arbitrary)]
pub struct RecSpec {
    /// Length within a block.
    pub len: u16,
    /// Bits 0-1: extra whole blocks; bit 7: use them.
    pub blocks: u8,
    /// 0-1: zeros; 2: a repeated byte; otherwise random.
    pub style: u8,
    /// Payload seed.
    pub seed: u16,
}

/// A corruption applied to the written file. Positions wrap around its length.
#[derive(Debug, Clone, Arbitrary)]
pub enum CorruptOp {
    /// Flip one bit.
    Flip {
        /// Byte.
        at: u32,
        /// Bit (mod 8).
        bit: u8,
    },
    /// Cut the file.
    Truncate {
        /// New length (mod length + 1).
        at: u32,
    },
    /// Zero a range.
    Zero {
        /// Start.
        at: u32,
        /// Length.
        len: u16,
    },
    /// Overwrite a range with pseudo-random bytes (from `seed`, so the
    /// fuzzer cannot forge checksummed records in them).
    Garbage {
        /// Start.
        at: u32,
        /// Length.
        len: u16,
        /// Generator seed.
        seed: u32,
    },
    /// Swap two whole blocks.
    SwapBlocks {
        /// One block.
        a: u8,
        /// The other.
        b: u8,
    },
    /// Copy a whole block over another (or after the last).
    DupBlock {
        /// Source block.
        from: u8,
        /// Destination block.
        to: u8,
    },
}

/// A `corrupt_roundtrip` input.
#[derive(Debug, Clone, Arbitrary)]
pub struct CorruptCase {
    /// Recyclable format with this log number.
    pub log_number: Option<u32>,
    /// Scan resync instead of block.
    pub scan: bool,
    /// Writer buffer size selector.
    pub buffer: u8,
    /// The records.
    pub records: Vec<RecSpec>,
    /// The corruptions, applied in order.
    pub ops: Vec<CorruptOp>,
}

fn make_payload(s: &RecSpec) -> Vec<u8> {
    let mut len = usize::from(s.len) % (BLOCK_SIZE + 64);
    if s.blocks & 0x80 != 0 {
        len += usize::from(s.blocks & 3) * BLOCK_SIZE;
    }
    let mut rng = Rng::new(u64::from(s.seed) ^ (len as u64) << 16);
    match s.style {
        0 | 1 => vec![0; len],
        2 => vec![s.seed as u8; len],
        _ => rng.bytes(len),
    }
}

/// Writes the records of `case`; returns the file and what was written.
fn write_case(
    log_number: Option<u32>,
    buffer: u8,
    payloads: &[Vec<u8>],
) -> (Vec<u8>, Vec<Written>) {
    let mut opts = WriterOptions::new().buffer_size(usize::from(buffer) * 97);
    if let Some(n) = log_number {
        opts = opts.recyclable(n);
    }
    let mut w = opts.build(Vec::new());
    let mut written = Vec::new();
    for p in payloads {
        let offset = w.add_record(p).expect("writing to memory");
        written.push(Written {
            offset,
            end: w.offset(),
            payload: p.clone(),
        });
    }
    (w.into_inner().expect("writing to memory"), written)
}

/// Applies `ops`; returns whether any of them moved data (block swap or duplication).
fn corrupt(file: &mut Vec<u8>, ops: &[CorruptOp]) -> bool {
    let mut moved = false;
    for op in ops {
        let len = file.len();
        if len == 0 {
            break;
        }
        let at = |a: u32| a as usize % len;
        let full = len / BLOCK_SIZE;
        match *op {
            CorruptOp::Flip { at: a, bit } => file[at(a)] ^= 1 << (bit % 8),
            CorruptOp::Truncate { at: a } => file.truncate(a as usize % (len + 1)),
            CorruptOp::Zero { at: a, len: n } => {
                let s = at(a);
                let e = (s + usize::from(n)).min(len);
                file[s..e].fill(0);
            }
            CorruptOp::Garbage {
                at: a,
                len: n,
                seed,
            } => {
                let s = at(a);
                let e = (s + usize::from(n)).min(len);
                Rng::new(u64::from(seed)).fill(&mut file[s..e]);
            }
            CorruptOp::SwapBlocks { a, b } => {
                if full >= 2 {
                    let (a, b) = (usize::from(a) % full, usize::from(b) % full);
                    if a != b {
                        let (lo, hi) = (a.min(b), a.max(b));
                        let (x, y) = file.split_at_mut(hi * BLOCK_SIZE);
                        x[lo * BLOCK_SIZE..(lo + 1) * BLOCK_SIZE]
                            .swap_with_slice(&mut y[..BLOCK_SIZE]);
                        moved = true;
                    }
                }
            }
            CorruptOp::DupBlock { from, to } => {
                if full >= 1 {
                    let f = usize::from(from) % full;
                    let t = usize::from(to) % (full + 1);
                    if f != t {
                        let block = file[f * BLOCK_SIZE..(f + 1) * BLOCK_SIZE].to_vec();
                        if file.len() < (t + 1) * BLOCK_SIZE {
                            file.resize((t + 1) * BLOCK_SIZE, 0);
                        }
                        file[t * BLOCK_SIZE..(t + 1) * BLOCK_SIZE].copy_from_slice(&block);
                        moved = true;
                    }
                }
            }
        }
    }
    moved
}

/// Byte ranges where `b` differs from `a` (everything past the shorter end counts).
fn changed_ranges(a: &[u8], b: &[u8]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    let n = a.len().min(b.len());
    let mut i = 0;
    while i < n {
        if a[i] != b[i] {
            let s = i;
            while i < n && a[i] != b[i] {
                i += 1;
            }
            out.push((s as u64, i as u64));
        } else {
            i += 1;
        }
    }
    if a.len() != b.len() {
        out.push((n as u64, u64::MAX));
    }
    out
}

/// The `corrupt_roundtrip` target.
pub fn corrupt_roundtrip(data: &[u8]) {
    let Ok(mut case) = CorruptCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    case.records.truncate(64);
    case.ops.truncate(8);
    let payloads: Vec<Vec<u8>> = case.records.iter().map(make_payload).collect();
    let total: usize = payloads.iter().map(Vec::len).sum();
    if total > 1 << 20 {
        return;
    }
    let (orig, written) = write_case(case.log_number, case.buffer, &payloads);
    let mut file = orig.clone();
    let moved = corrupt(&mut file, &case.ops);
    let changes = changed_ranges(&orig, &file);
    let first_change = changes.first().map_or(u64::MAX, |c| c.0);
    let intact = written.iter().take_while(|w| w.end <= first_change).count();
    let resync = if case.scan {
        Resync::Scan
    } else {
        Resync::Block
    };
    let limit = file.len() + 16;
    let outs: Vec<Run> = RecoveryMode::ALL
        .iter()
        .map(|&m| {
            let mut o = ReaderOptions::new().mode(m).resync(resync);
            if let Some(n) = case.log_number {
                o = o.log_number(n);
            }
            read_source(&file[..], o, limit)
        })
        .collect();
    let orig_frags: HashSet<(u8, Option<u32>, Vec<u8>)> = if moved {
        all_frags(&orig)
            .into_iter()
            .map(|f| (f.kind, f.log_number, f.payload))
            .collect()
    } else {
        HashSet::new()
    };
    for (mode, o) in RecoveryMode::ALL.iter().copied().zip(&outs) {
        let got = o.returned();
        for r in &got {
            if let Err(e) = verify_record(&file, r) {
                panic!("{mode}: record not made of valid fragments: {e}");
            }
        }
        assert!(
            matches!(o.error, None | Some(Error::Corruption { .. })),
            "{mode}: unexpected error {:?}",
            o.error
        );
        if moved {
            // Whole blocks moved: records may come back twice or spliced from
            // fragments of different records (the format cannot tell), but
            // every fragment is one that was written.
            for r in &got {
                for f in chain_at(&file, r.offset).unwrap() {
                    assert!(
                        orig_frags.contains(&(f.kind, f.log_number, f.payload.clone())),
                        "{mode}: fragment at {} was never written",
                        f.offset
                    );
                }
            }
            continue;
        }
        let m = match mode {
            RecoveryMode::SkipCorrupt => subsequence_of(&got, &written)
                .unwrap_or_else(|e| panic!("{mode}: not a subsequence: {e}"))
                .len(),
            _ => prefix_of(&got, &written).unwrap_or_else(|e| panic!("{mode}: not a prefix: {e}")),
        };
        assert!(
            m >= intact,
            "{mode}: {m} records, {intact} lie before the first change"
        );
        if mode == RecoveryMode::SkipCorrupt && resync == Resync::Block {
            // Block resync loses nothing outside the damaged blocks: a record
            // with no change between its block's start and its end comes back.
            let idx = subsequence_of(&got, &written).unwrap();
            for (i, w) in written.iter().enumerate() {
                let from = w.offset - w.offset % BLOCK_SIZE as u64;
                let touched = changes.iter().any(|&(s, e)| s < w.end && e > from);
                assert!(
                    touched || idx.contains(&i),
                    "skip-corrupt lost record #{i} at {} (untouched block)",
                    w.offset
                );
            }
        }
    }
    let [tt, ab, pit, sc] = [&outs[0], &outs[1], &outs[2], &outs[3]];
    let (tt_r, ab_r, sc_r) = cross_mode_records(tt, ab, pit, sc);
    match &tt.error {
        Some(e) => {
            let d = e.damage().unwrap();
            assert_eq!(
                d.position,
                blocklog::Position::Interior,
                "tolerate-tail refused tail damage"
            );
            assert_eq!(
                pit.summary.stopped_at.as_ref(),
                Some(d),
                "point-in-time did not stop there"
            );
        }
        None => {
            assert!(
                pit.summary.stopped_at.is_none(),
                "point-in-time stopped, tolerate-tail did not fail"
            );
            assert_eq!(sc_r, tt_r, "no interior damage, yet skip-corrupt differs");
        }
    }
    if ab.error.is_none() {
        assert_eq!(ab_r, tt_r, "absolute accepted the log but returned less");
        assert_eq!(
            tt.summary.damaged_regions, 0,
            "absolute accepted a damaged log"
        );
    }
    if changes.is_empty() {
        for (m, o) in RecoveryMode::ALL.iter().zip(&outs) {
            assert!(
                o.error.is_none() && o.returned().len() == written.len(),
                "{m}: clean log misread"
            );
        }
    }
    // A pure truncation: the documented tail rule exactly.
    if !moved && file.len() < orig.len() && orig.starts_with(&file) {
        let cut = file.len() as u64;
        let complete = written.iter().take_while(|w| w.end <= cut).count();
        // Only zeros after the last complete record (a cut inside a header
        // whose first bytes are zero, as a checksum's can be) is a
        // zero-filled tail, benign in every mode (docs/recovery.md, R2).
        let last_end = written
            .iter()
            .take_while(|w| w.end <= cut)
            .last()
            .map_or(0, |w| w.end);
        let zero_tail = file[last_end as usize..].iter().all(|&b| b == 0);
        let clean = cut == 0
            || zero_tail
            || written.iter().enumerate().any(|(i, w)| {
                let next = written.get(i + 1).map_or(w.end, |n| n.offset);
                w.end <= cut && cut <= next
            });
        for (m, o) in RecoveryMode::ALL.iter().zip(&outs) {
            if *m == RecoveryMode::Absolute {
                assert_eq!(
                    o.error.is_none(),
                    clean,
                    "absolute on a cut at {cut}: {:?}",
                    o.error
                );
            } else {
                assert!(o.error.is_none(), "{m}: truncation refused: {:?}", o.error);
                assert_eq!(o.returned().len(), complete, "{m}: cut at {cut}");
            }
        }
    }
}

// ---------------------------------------------------------------- write_read

/// A record for `write_read`.
#[derive(Debug, Clone, Arbitrary)]
pub enum WRecord {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `len` copies of `byte`, plus `blocks % 4` whole blocks.
    Fill {
        /// Length within a block.
        len: u16,
        /// Extra blocks.
        blocks: u8,
        /// The byte.
        byte: u8,
    },
}

/// One opening of the log for `write_read`.
#[derive(Debug, Clone, Arbitrary)]
pub struct WSession {
    /// Writer buffer size (times 61).
    pub buffer: u16,
    /// Records.
    pub records: Vec<WRecord>,
    /// End with `sync` (else `flush`).
    pub sync: bool,
}

/// A `write_read` input.
#[derive(Debug, Clone, Arbitrary)]
pub struct WriteCase {
    /// Recyclable format with this log number.
    pub log_number: Option<u32>,
    /// Openings, each appending at the log's length.
    pub sessions: Vec<WSession>,
    /// Picks the record used as an initial offset.
    pub start_at: u16,
}

/// The `write_read` target.
pub fn write_read(data: &[u8]) {
    let Ok(mut case) = WriteCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    case.sessions.truncate(8);
    let mut log: Vec<u8> = Vec::new();
    let mut written: Vec<Written> = Vec::new();
    let mut total = 0usize;
    for s in &case.sessions {
        let len = log.len() as u64;
        let mut cursor = std::io::Cursor::new(std::mem::take(&mut log));
        cursor.set_position(len);
        let mut opts = WriterOptions::new()
            .append_at(len)
            .buffer_size(usize::from(s.buffer) * 61);
        if let Some(n) = case.log_number {
            opts = opts.recyclable(n);
        }
        let mut w = opts.build(cursor);
        for r in s.records.iter().take(64) {
            let p = match r {
                WRecord::Bytes(b) => b.clone(),
                WRecord::Fill { len, blocks, byte } => {
                    vec![*byte; usize::from(*len) + usize::from(blocks % 4) * BLOCK_SIZE]
                }
            };
            total += p.len();
            if total > 2 << 20 {
                break;
            }
            let offset = w.add_record(&p).unwrap();
            assert_eq!(
                offset,
                written.last().map_or(0, |l: &Written| l.end).max(offset)
            );
            written.push(Written {
                offset,
                end: w.offset(),
                payload: p,
            });
        }
        if s.sync {
            w.sync().unwrap();
        } else {
            w.flush().unwrap();
        }
        log = w.into_inner().unwrap().into_inner();
        assert_eq!(
            log.len() as u64,
            written.last().map_or(0, |l| l.end).max(len)
        );
    }
    let limit = log.len() + 16;
    for mode in RecoveryMode::ALL {
        for resync in [Resync::Block, Resync::Scan] {
            for given in [false, true] {
                let mut o = ReaderOptions::new().mode(mode).resync(resync);
                if let (true, Some(n)) = (given, case.log_number) {
                    o = o.log_number(n);
                }
                let out = read_source(&log[..], o, limit);
                assert!(out.error.is_none(), "{mode}: {:?}", out.error);
                assert_eq!(
                    out.events.len(),
                    out.returned().len(),
                    "{mode}: not only records: {}",
                    describe(&out.events)
                );
                let m =
                    prefix_of(&out.returned(), &written).unwrap_or_else(|e| panic!("{mode}: {e}"));
                assert_eq!(m, written.len(), "{mode}: records missing");
                assert_eq!(out.summary.outcome(), blocklog::Outcome::Clean);
            }
        }
    }
    // Short reads.
    let chunked = read_source(
        Chunked::new(&log, vec![1, 7, 3000]),
        ReaderOptions::new(),
        limit,
    );
    assert_eq!(
        chunked.returned().len(),
        written.len(),
        "short reads lost records"
    );
    // Initial offsets: at a record's first byte, and one byte before it.
    if !written.is_empty() {
        let k = usize::from(case.start_at) % (written.len() + 1);
        let at = written.get(k).map_or(log.len() as u64, |w| w.offset);
        for off in [at, at.saturating_sub(1).max(written[0].offset.min(at))] {
            let want = written.iter().filter(|w| w.offset >= off).count();
            let out = read_source(&log[..], ReaderOptions::new().initial_offset(off), limit);
            assert!(out.error.is_none(), "initial offset {off}: {:?}", out.error);
            let got = out.returned();
            assert_eq!(got.len(), want, "initial offset {off}");
            assert!(got
                .iter()
                .zip(&written[written.len() - want..])
                .all(|(g, w)| g.offset == w.offset && g.payload[..] == w.payload[..]));
        }
    }
}
