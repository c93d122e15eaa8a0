//! `WalReader` over another writer's directory (`Flavour::Foreign`,
//! `docs/wal.md`, "Reading another writer's directory") and the detection
//! of a directory's flavour. Directories are built here with the plain
//! writer and RocksDB-style WriteBatch payloads (the 12-byte header, then
//! tagged entries that are not ours); `cli/tests/wal_dir.rs` reads the
//! real RocksDB's.

use std::path::Path;

use blocklog::wal::{
    dir, Batch, DropReason, Flavour, Problem, Wal, WalEvent, WalOptions, WalReadOptions, WalReader,
};
use blocklog::{Error, RecoveryMode, WriterOptions};
use blocklog_testkit::interop::{encode_batch, Op};
use blocklog_testkit::wal_read;

/// A WriteBatch of `count` puts, starting at `seq`.
fn rep(seq: u64, count: u32) -> Vec<u8> {
    let ops: Vec<Op> = (0..count)
        .map(|i| Op::Put(format!("k{seq}-{i}").into_bytes(), vec![7; 30]))
        .collect();
    encode_batch(seq, &ops)
}

/// Writes file `number` of `dir` holding `batches` (`(seq, count)`), in
/// RocksDB's recyclable format when `recyclable`.
fn write_file(dir: &Path, number: u64, batches: &[(u64, u32)], recyclable: bool) {
    let opts = if recyclable {
        WriterOptions::new().recyclable(number as u32)
    } else {
        WriterOptions::new()
    };
    let mut w = opts.build(Vec::new());
    for &(seq, count) in batches {
        w.add_record(&rep(seq, count)).unwrap();
    }
    std::fs::write(dir::path_of(dir, number), w.into_inner().unwrap()).unwrap();
}

fn read(dir: &Path, mode: RecoveryMode, flavour: Flavour) -> (Vec<WalEvent>, Option<Error>) {
    let read = WalReadOptions::new().flavour(flavour);
    wal_read::events(&mut WalReader::open_with(dir, &WalOptions::new().mode(mode), read).unwrap())
}

fn seqs(events: &[WalEvent]) -> Vec<(u64, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            WalEvent::Batch(b) => Some((b.seq, b.count)),
            _ => None,
        })
        .collect()
}

/// Three files numbered as RocksDB numbers them (4, 9, 13: the counter is
/// shared with its other files), sequence numbers continuous, batches of
/// several entries.
fn rocksdb_like(dir: &Path) -> Vec<(u64, u32)> {
    let all = [(41, 3), (44, 1), (45, 2), (47, 5), (52, 1), (53, 4)];
    write_file(dir, 4, &all[..2], false);
    write_file(dir, 9, &all[2..4], false);
    write_file(dir, 13, &all[4..], false);
    all.to_vec()
}

#[test]
fn detect_tells_our_directories_from_another_writers() {
    let ours = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(ours.path(), WalOptions::new()).unwrap();
    let mut b = Batch::new();
    b.put(b"x").unwrap();
    wal.append(&b).unwrap();
    wal.close().unwrap();
    let foreign = tempfile::tempdir().unwrap();
    rocksdb_like(foreign.path());
    let empty = tempfile::tempdir().unwrap();
    for (dir, want) in [
        (ours.path(), Flavour::Blocklog),
        (foreign.path(), Flavour::Foreign),
        (empty.path(), Flavour::Blocklog),
    ] {
        let read = WalReadOptions::new().flavour(Flavour::Detect);
        let r = WalReader::open_with(dir, &WalOptions::new(), read).unwrap();
        assert_eq!(r.flavour(), want, "{}", dir.display());
    }
    // The default stays blocklog's: Wal::open never takes a directory for
    // another writer's.
    let r = WalReader::open(foreign.path(), &WalOptions::new()).unwrap();
    assert_eq!(r.flavour(), Flavour::Blocklog);
}

#[test]
fn foreign_files_with_numbers_that_skip_read_as_one_sequence_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let all = rocksdb_like(dir.path());
    for mode in RecoveryMode::ALL {
        let (events, err) = read(dir.path(), mode, Flavour::Foreign);
        assert!(err.is_none(), "{mode}: {err:?}");
        assert_eq!(seqs(&events), all, "{mode}: batches only, no gap");
        assert_eq!(events.len(), all.len(), "{mode}");
    }
    // Read as blocklog's, the same files are refused: their entries are
    // not ours (and the numbers skip).
    let (events, err) = read(dir.path(), RecoveryMode::TolerateTail, Flavour::Blocklog);
    assert!(seqs(&events).is_empty());
    assert!(matches!(err, Some(Error::Wal { .. })), "{err:?}");
}

#[test]
fn a_sequence_hole_across_foreign_files_is_a_gap_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), 4, &[(1, 2), (3, 1)], false);
    // The file holding 4..=9 is gone (file 7): only the numbers say so.
    write_file(dir.path(), 11, &[(10, 3), (13, 1)], false);
    for mode in [RecoveryMode::TolerateTail, RecoveryMode::Absolute] {
        let (events, err) = read(dir.path(), mode, Flavour::Foreign);
        assert_eq!(seqs(&events), [(1, 2), (3, 1)], "{mode}");
        match err {
            Some(Error::Wal { problem, .. }) => assert!(
                matches!(*problem, Problem::Gap(ref g)
                if (g.file, g.offset, g.expected_seq, g.found_seq) == (11, 0, 4, 10)),
                "{problem}"
            ),
            other => panic!("{mode}: {other:?}"),
        }
    }
    let (events, err) = read(dir.path(), RecoveryMode::PointInTime, Flavour::Foreign);
    assert!(err.is_none());
    assert_eq!(seqs(&events), [(1, 2), (3, 1)]);
    assert!(matches!(
        events.last(),
        Some(WalEvent::Stopped(Problem::Gap(_)))
    ));
    let (events, err) = read(dir.path(), RecoveryMode::SkipCorrupt, Flavour::Foreign);
    assert!(err.is_none());
    assert_eq!(seqs(&events), [(1, 2), (3, 1), (10, 3), (13, 1)]);
    let gaps = wal_read::gaps(&events);
    assert_eq!(gaps, [(4, 10)]);
}

#[test]
fn a_foreign_regression_is_dropped_naming_both_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), 5, &[(1, 4), (3, 1), (5, 2)], false);
    let (events, err) = read(dir.path(), RecoveryMode::SkipCorrupt, Flavour::Foreign);
    assert!(err.is_none());
    assert_eq!(seqs(&events), [(1, 4), (5, 2)]);
    assert!(events.iter().any(|e| matches!(e, WalEvent::Dropped(d)
        if d.reason == DropReason::SequenceRegression { expected: 5, found: 3 })));
    let (_, err) = read(dir.path(), RecoveryMode::TolerateTail, Flavour::Foreign);
    assert!(matches!(err, Some(Error::Wal { .. })));
}

#[test]
fn a_foreign_batch_of_no_entry_takes_no_sequence_number() {
    // RocksDB writes a batch of log data only with count 0.
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), 8, &[(1, 2), (3, 0), (3, 1)], false);
    let (events, err) = read(dir.path(), RecoveryMode::Absolute, Flavour::Foreign);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(seqs(&events), [(1, 2), (3, 0), (3, 1)]);
}

#[test]
fn a_recycled_foreign_file_reads_with_its_number_and_its_stale_tail_is_benign() {
    // File 12 reuses the bytes of a file once numbered 6: its recyclable
    // headers carry 12 now, and 6 behind the new records.
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), 9, &[(1, 3), (4, 2)], true);
    let mut old = WriterOptions::new().recyclable(6).build(Vec::new());
    for seq in 100..160 {
        old.add_record(&rep(seq, 1)).unwrap();
    }
    let old = old.into_inner().unwrap();
    let mut new = WriterOptions::new().recyclable(12).build(Vec::new());
    new.add_record(&rep(6, 2)).unwrap();
    let mut bytes = new.into_inner().unwrap();
    assert!(old.len() > bytes.len());
    bytes.extend_from_slice(&old[bytes.len()..]);
    std::fs::write(dir::path_of(dir.path(), 12), bytes).unwrap();
    for mode in RecoveryMode::ALL {
        let (events, err) = read(dir.path(), mode, Flavour::Foreign);
        assert!(err.is_none(), "{mode}: {err:?}");
        assert_eq!(seqs(&events), [(1, 3), (4, 2), (6, 2)], "{mode}");
        assert_eq!(events.len(), 3, "{mode}: no drop, no gap");
    }
}
