//! Regression tests for the defects the new reader core fixed (issue 10),
//! each named after its defect, plus one defect this suite found (a torn
//! record of header-like bytes read as interior damage), fixed by the
//! sliding-window checksums of the byte scan (src/crc_window.rs).

use blocklog_testkit::interop as harness;

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use blocklog::{
    BenignKind, Error, Event, LogFormat, Outcome, Position, ReaderOptions, Reason, RecoveryMode,
    Resync, Summary, Writer, WriterOptions,
};
use bytes::Bytes;

/// Everything one read gave.
#[derive(Debug)]
struct Run {
    records: Vec<(u64, Vec<u8>)>,
    dropped: Vec<blocklog::Damage>,
    benign: Vec<blocklog::Benign>,
    error: Option<Error>,
    summary: Summary,
}

fn read(log: &[u8], opts: ReaderOptions) -> Run {
    let mut r = opts.build_from_bytes(Bytes::copy_from_slice(log));
    let mut run = Run {
        records: vec![],
        dropped: vec![],
        benign: vec![],
        error: None,
        summary: Summary::default(),
    };
    loop {
        match r.next_event() {
            Ok(Some(Event::Record(rec))) => run.records.push((rec.offset, rec.payload.to_vec())),
            Ok(Some(Event::Dropped(d))) => run.dropped.push(d),
            Ok(Some(Event::Benign(b))) => run.benign.push(b),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                run.error = Some(e);
                break;
            }
        }
    }
    run.summary = r.summary().clone();
    run
}

fn payloads(run: &Run) -> Vec<Vec<u8>> {
    run.records.iter().map(|r| r.1.clone()).collect()
}

const RESYNCS: [Resync; 2] = [Resync::Block, Resync::Scan];

// ---------------------------------------------------------------- defect 1

/// Defect 1: a legacy log read with its own log number returned nothing.
/// The engines' fixtures, read with their file's number, give exactly the
/// batches listed in their `*.expected.txt`, in every mode and resync.
#[test]
fn defect_1_legacy_log_read_with_its_own_log_number_returns_its_records() {
    let mut checked = 0;
    for e in harness::all_expected() {
        if e.compression != "none" && !cfg!(feature = "zstd") {
            continue;
        }
        let log = std::fs::read(&e.log_path).unwrap();
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let what = format!("{} {mode} {resync:?} log_number {}", e.name, e.log_number);
                let run = read(
                    &log,
                    blocklog_testkit::read::opts(mode, resync).log_number(e.log_number),
                );
                assert!(run.error.is_none(), "{what}: {:?}", run.error);
                assert_eq!(run.records.len(), e.batches.len(), "{what}");
                for (i, ((offset, rep), exp)) in run.records.iter().zip(&e.batches).enumerate() {
                    if let Some(o) = exp.offset {
                        assert_eq!(*offset, o, "{what}: offset of #{i}");
                    }
                    if let Err(m) = harness::check_batch(rep, exp) {
                        panic!("{what}: batch #{i}: {m}");
                    }
                }
                assert_eq!(run.summary.outcome(), Outcome::Clean, "{what}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 4 * 2 * 4, "{checked} reads");
}

/// The same for a log written here: the number changes nothing.
#[test]
fn defect_1_legacy_log_with_a_log_number_reads_as_without() {
    let mut w = Writer::new(Vec::new());
    for i in 0..50u32 {
        w.add_record(&vec![i as u8; (i as usize * 1999) % 70_000])
            .unwrap();
    }
    let log = w.into_inner().unwrap();
    for mode in RecoveryMode::ALL {
        let with = read(&log, ReaderOptions::new().mode(mode).log_number(4));
        let without = read(&log, ReaderOptions::new().mode(mode));
        assert_eq!(with.records.len(), 50, "{mode}");
        assert_eq!(with.records, without.records, "{mode}");
        assert!(with.benign.is_empty(), "{mode}: {:?}", with.benign);
        assert_eq!(with.summary.outcome(), Outcome::Clean);
    }
}

// ---------------------------------------------------------------- defect 2

/// Legacy A B, one checksummed recyclable record R, legacy C D.
fn mixed_log() -> (Vec<u8>, u64) {
    let mut w = Writer::new(Vec::new());
    w.add_record(b"A").unwrap();
    w.add_record(b"B").unwrap();
    let log = w.into_inner().unwrap();
    let r_at = log.len() as u64;
    let mut w = WriterOptions::new()
        .recyclable(4)
        .append_at(r_at)
        .build(log);
    w.add_record(b"R").unwrap();
    let log = w.into_inner().unwrap();
    let len = log.len() as u64;
    let mut w = WriterOptions::new().append_at(len).build(log);
    w.add_record(b"C").unwrap();
    w.add_record(b"D").unwrap();
    (w.into_inner().unwrap(), r_at)
}

/// Defect 2: a recyclable record after the first record of a legacy log
/// made the log recyclable (A B R returned, C D "previous use", clean).
/// RocksDB's rule: the first record fixes the format; R is a bad record,
/// dropped alone (mixed-format), interior.
#[test]
fn defect_2_recyclable_record_in_a_legacy_log_is_a_bad_record() {
    let (log, r_at) = mixed_log();
    let ab = vec![b"A".to_vec(), b"B".to_vec()];
    let abcd = vec![b"A".to_vec(), b"B".to_vec(), b"C".to_vec(), b"D".to_vec()];
    for format in [LogFormat::Detect, LogFormat::Legacy] {
        for resync in RESYNCS {
            for mode in RecoveryMode::ALL {
                let what = format!("{format} {resync:?} {mode}");
                let run = read(
                    &log,
                    ReaderOptions::new()
                        .mode(mode)
                        .resync(resync)
                        .format(format),
                );
                assert!(
                    run.benign.is_empty(),
                    "{what}: no previous use: {:?}",
                    run.benign
                );
                let r_damage = |d: &blocklog::Damage| {
                    d.reason == Reason::MixedFormat
                        && d.position == Position::Interior
                        && d.range == (r_at..r_at + 12)
                };
                match mode {
                    RecoveryMode::TolerateTail | RecoveryMode::Absolute => {
                        assert_eq!(payloads(&run), ab, "{what}");
                        let e = run.error.as_ref().expect("refused");
                        assert!(r_damage(e.damage().unwrap()), "{what}: {e}");
                    }
                    RecoveryMode::PointInTime => {
                        assert_eq!(payloads(&run), ab, "{what}");
                        assert_eq!(run.dropped.len(), 1);
                        assert!(r_damage(&run.dropped[0]), "{what}");
                        assert_eq!(run.summary.outcome(), Outcome::Stopped);
                        assert_eq!(run.summary.unread_records, 2, "{what}");
                    }
                    _ => {
                        assert_eq!(payloads(&run), abcd, "{what}");
                        assert_eq!(run.dropped.len(), 1, "{what}: one region");
                        assert!(r_damage(&run.dropped[0]), "{what}: {:?}", run.dropped);
                        assert_eq!(run.summary.outcome(), Outcome::Skipped);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- defect 6

/// A recycled file: the previous use (log 3, 400 records tagged 3) with the
/// current use (log 4, 120 records tagged 4) written over its start; then
/// the first header overwritten.
fn recycled_with_lost_first_header() -> Vec<u8> {
    let mut w = WriterOptions::new().recyclable(3).build(Vec::new());
    for i in 0..400u32 {
        let mut p = vec![3u8; 500];
        p[1..5].copy_from_slice(&i.to_le_bytes());
        w.add_record(&p).unwrap();
    }
    let mut file = w.into_inner().unwrap();
    let mut w = WriterOptions::new().recyclable(4).build(Vec::new());
    for i in 0..120u32 {
        let mut p = vec![4u8; 700];
        p[1..5].copy_from_slice(&i.to_le_bytes());
        w.add_record(&p).unwrap();
    }
    let current = w.into_inner().unwrap();
    assert!(current.len() < file.len());
    file[..current.len()].copy_from_slice(&current);
    file[..11].fill(0xab);
    file
}

/// Defect 6: without a log number, skip-corrupt learned the number from the
/// first recyclable record after the damage, and the previous use's
/// records came back as current. Now the read fails with
/// `UnknownLogNumber` before any such record; with the number, no
/// previous-use record is returned either.
#[test]
fn defect_6_log_number_is_not_learned_after_damage() {
    let file = recycled_with_lost_first_header();
    for resync in RESYNCS {
        let run = read(
            &file,
            ReaderOptions::new()
                .mode(RecoveryMode::SkipCorrupt)
                .resync(resync),
        );
        assert!(
            matches!(run.error, Some(Error::UnknownLogNumber { .. })),
            "{resync:?}: {:?}",
            run.error
        );
        assert!(
            run.records.iter().all(|r| r.1[0] != 3),
            "{resync:?}: previous use returned"
        );

        let run = read(
            &file,
            ReaderOptions::new()
                .mode(RecoveryMode::SkipCorrupt)
                .resync(resync)
                .log_number(4),
        );
        assert!(run.error.is_none(), "{resync:?}: {:?}", run.error);
        assert!(
            run.records.iter().all(|r| r.1[0] == 4),
            "{resync:?}: previous use returned"
        );
        assert!(
            run.records.len() >= 70,
            "{resync:?}: {} current records",
            run.records.len()
        );
        assert!(
            run.benign.iter().any(|b| b.kind == BenignKind::PreviousUse),
            "{resync:?}: the rest is previous use"
        );
    }
}

// ---------------------------------------------------------------- defect 7

fn is_interior_everywhere(log: &[u8], what: &str) {
    for mode in RecoveryMode::ALL {
        let run = read(log, ReaderOptions::new().mode(mode));
        let outcome = run.summary.outcome();
        assert_ne!(outcome, Outcome::TailDropped, "{what} {mode}");
        assert_ne!(outcome, Outcome::Clean, "{what} {mode}");
        match mode {
            RecoveryMode::TolerateTail | RecoveryMode::Absolute => {
                let e = run.error.expect("refused");
                assert_eq!(
                    e.damage().map(|d| d.position),
                    Some(Position::Interior),
                    "{what} {mode}"
                );
            }
            _ => {
                assert!(run.error.is_none(), "{what} {mode}: {:?}", run.error);
                assert!(
                    run.dropped.iter().any(|d| d.position == Position::Interior),
                    "{what} {mode}: {:?}",
                    run.dropped
                );
            }
        }
    }
}

/// Random bytes, never zero (the test kit's generator).
fn noise(seed: u64, n: usize) -> Vec<u8> {
    blocklog_testkit::logs::noise(seed, n)
        .into_iter()
        .map(|b| b | 1)
        .collect()
}

/// Defect 7: 100 MiB of 0xFF bytes verified as "OK: tail damage dropped".
/// A file with no valid record that does not begin like a record, or more
/// unexplained garbage than a torn write can leave, is not a torn tail.
#[test]
fn defect_7_garbage_is_not_a_torn_tail() {
    is_interior_everywhere(&vec![0xff; 4 << 20], "4 MiB of 0xFF");
    let mut w = Writer::new(Vec::new());
    for i in 0..20u8 {
        w.add_record(&[i; 300]).unwrap();
    }
    let mut log = w.into_inner().unwrap();
    log.extend(noise(7, (blocklog::DEFAULT_MAX_TORN_TAIL as usize) * 3 / 2));
    is_interior_everywhere(&log, "records then 1.5 MiB of garbage");
    // The bound is the option's.
    let mut w = Writer::new(Vec::new());
    w.add_record(b"r").unwrap();
    let mut small = w.into_inner().unwrap();
    small.extend(noise(9, 5000));
    let run = read(&small, ReaderOptions::new().max_torn_tail(1000));
    assert_eq!(
        run.error.and_then(|e| e.damage().map(|d| d.position)),
        Some(Position::Interior)
    );
}

/// Defect 7, what stays right: appended zeros, a torn record, a torn
/// multi-block record, a few KiB of garbage after the last record.
#[test]
fn defect_7_real_torn_tails_stay_tail() {
    let mut w = Writer::new(Vec::new());
    for i in 0..20u8 {
        w.add_record(&[i; 300]).unwrap();
    }
    let base = w.into_inner().unwrap();
    let mut zeros = base.clone();
    zeros.extend(vec![0; 100_000]);
    let run = read(&zeros, ReaderOptions::new().mode(RecoveryMode::Absolute));
    assert_eq!(run.summary.outcome(), Outcome::Clean);
    assert_eq!(run.records.len(), 20);
    assert!(run
        .benign
        .iter()
        .any(|b| b.kind == BenignKind::ZeroFilledTail));

    let mut w = WriterOptions::new()
        .append_at(base.len() as u64)
        .build(base.clone());
    w.add_record(&[b'q'; 1000]).unwrap();
    let mut torn = w.into_inner().unwrap();
    torn.truncate(torn.len() - 400);

    let mut w = WriterOptions::new()
        .append_at(base.len() as u64)
        .build(base.clone());
    w.add_record(&[b'm'; 100_000]).unwrap();
    let mut torn_multi = w.into_inner().unwrap();
    torn_multi.truncate(torn_multi.len() - 50_000);

    let mut garbage = base.clone();
    garbage.extend(noise(3, 4096));

    for (log, what) in [
        (torn, "torn record"),
        (torn_multi, "torn multi-block record"),
        (garbage, "4 KiB of garbage"),
    ] {
        for mode in [
            RecoveryMode::TolerateTail,
            RecoveryMode::SkipCorrupt,
            RecoveryMode::PointInTime,
        ] {
            let run = read(&log, ReaderOptions::new().mode(mode));
            assert!(run.error.is_none(), "{what} {mode}: {:?}", run.error);
            assert_eq!(run.records.len(), 20, "{what} {mode}");
            assert_eq!(run.summary.outcome(), Outcome::TailDropped, "{what} {mode}");
            assert!(run.dropped.iter().all(|d| d.position == Position::Tail));
        }
    }
}

// ---------------------------------------------------------------- defect 8

/// Defect 8: a file of 0x0B bytes read about 400x slower than a clean log
/// (the timing is in `benches/garbage.rs`). Here: 2 MiB of 0x0B, and of
/// other header-like bytes, terminate and are classified as damage, with
/// no record, in every mode and resync.
#[test]
fn defect_8_header_like_garbage_terminates_and_is_damage() {
    for byte in [0x0bu8, 0x01, 0x09] {
        let log = vec![byte; 2 << 20];
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let what = format!("{byte:#04x} {mode} {resync:?}");
                let run = read(&log, ReaderOptions::new().mode(mode).resync(resync));
                assert!(run.records.is_empty(), "{what}");
                assert_ne!(run.summary.outcome(), Outcome::Clean, "{what}");
                assert_ne!(run.summary.outcome(), Outcome::TailDropped, "{what}");
                if mode == RecoveryMode::SkipCorrupt {
                    // Every byte is accounted for.
                    let covered: u64 = run.dropped.iter().map(|d| d.len()).sum::<u64>()
                        + run
                            .benign
                            .iter()
                            .map(|b| b.range.end - b.range.start)
                            .sum::<u64>();
                    assert_eq!(covered, log.len() as u64, "{what}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------- defect 9

/// Defect 9: `max_record_size(0)` turned a clean log into "corruption". A
/// limit is reported as `RecordTooLarge`, never as damage, in every mode.
#[test]
fn defect_9_record_size_limit_is_a_limit_not_damage() {
    let mut w = Writer::new(Vec::new());
    w.add_record(b"").unwrap();
    w.add_record(b"abc").unwrap();
    w.add_record(&[7; 50_000]).unwrap();
    let log = w.into_inner().unwrap();
    for (limit, kept, at) in [(0usize, 1usize, 7u64), (3, 2, 17), (49_999, 2, 17)] {
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let what = format!("limit {limit} {mode} {resync:?}");
                let run = read(
                    &log,
                    ReaderOptions::new()
                        .mode(mode)
                        .resync(resync)
                        .max_record_size(limit),
                );
                assert_eq!(run.records.len(), kept, "{what}");
                match run.error {
                    Some(Error::RecordTooLarge { offset, limit: l }) => {
                        assert_eq!((offset, l), (at, limit), "{what}");
                    }
                    other => panic!("{what}: {other:?}"),
                }
                assert!(run.dropped.is_empty(), "{what}: {:?}", run.dropped);
                assert_eq!(run.summary.damaged_regions, 0, "{what}");
            }
        }
    }
    // With the limit met, the log is clean.
    let run = read(&log, ReaderOptions::new().max_record_size(50_000));
    assert_eq!(
        (run.records.len(), run.summary.outcome()),
        (3, Outcome::Clean)
    );
}

// --------------------------------------------------------------- defect 10

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Defect 10: `initial_offset` read and discarded every byte before the
/// offset, and gave wrong offsets when the source was already positioned.
/// A seekable source seeks: O(block) bytes read, absolute offsets.
#[test]
fn defect_10_initial_offset_seeks_on_seekable_sources() {
    let mut w = Writer::new(Vec::new());
    let mut offsets = vec![];
    while w.offset() < 10 << 20 {
        let i = offsets.len();
        offsets.push(w.add_record(&vec![i as u8; 1000 + i % 3000]).unwrap());
    }
    let log = w.into_inner().unwrap();
    let start = offsets[offsets.len() - 5] - 3; // just before the fifth-last record
    let want: Vec<u64> = offsets[offsets.len() - 5..].to_vec();
    for positioned_at in [0u64, 12345, log.len() as u64] {
        let mut cursor = Cursor::new(&log[..]);
        cursor.set_position(positioned_at);
        let source = Counting {
            inner: cursor,
            read: 0,
        };
        let mut r = ReaderOptions::new()
            .initial_offset(start)
            .build_seekable(source)
            .unwrap();
        let got: Vec<u64> = r.records().map(|r| r.unwrap().offset).collect();
        assert_eq!(got, want, "positioned at {positioned_at}");
        assert_eq!(r.summary().outcome(), Outcome::Clean);
        let read = r.into_inner().read;
        assert!(
            read <= 3 * blocklog::format::BLOCK_SIZE as u64 + 11,
            "read {read} bytes of a {}-byte log",
            log.len()
        );
    }
    // The same records as from memory.
    let mut m = ReaderOptions::new()
        .initial_offset(start)
        .build_from_bytes(Bytes::copy_from_slice(&log));
    let mem: Vec<u64> = m.records().map(|r| r.unwrap().offset).collect();
    assert_eq!(mem, want);
}

// --------------------------------------------------------- found by this suite

/// Found by this suite, fixed: a torn record whose payload is made of
/// header-like bytes (0x01: legacy FULL of length 257; 0x09: compression
/// record of length 2313) and whose cut leaves more than a few KiB of it in
/// the last block is reported as *interior* damage: the byte scan that
/// looks ahead for a valid record start runs out of its work budget (every
/// position passes the cheap tests and costs a checksum), the region is
/// marked uncertain, and an uncertain region is never a torn tail. So
/// tolerate-tail refused a log whose only problem is a crash mid-write
/// (`Corruption { damage: interior truncated-payload [5035, 63367) }`).
/// Candidates of one length now share a sliding-window checksum (O(1) per
/// position), so the budget is not exhausted: tail damage, `tail-dropped`.
#[test]
fn torn_record_of_header_like_bytes_is_a_torn_tail() {
    for byte in [0x01u8, 0x09] {
        let mut w = Writer::new(Vec::new());
        for i in 0..5u8 {
            w.add_record(&[i; 1000]).unwrap();
        }
        w.add_record(&vec![byte; 3 * 32768]).unwrap();
        let mut log = w.into_inner().unwrap();
        log.truncate(log.len() - 40_000);
        let run = read(&log, ReaderOptions::new().mode(RecoveryMode::TolerateTail));
        assert!(run.error.is_none(), "{byte:#04x}: {:?}", run.error);
        assert_eq!(run.records.len(), 5);
        assert_eq!(run.summary.outcome(), Outcome::TailDropped, "{byte:#04x}");
    }
}
