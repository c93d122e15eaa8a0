//! One test per row of `docs/recovery.md`, each checked under the four modes.

use blocklog::format::{encode_header, RecordType};
use blocklog::{
    BenignKind, Error, Outcome, Position, ReaderOptions, Reason, RecoveryMode, Resync,
    WriterOptions,
};
use blocklog_testkit::logs::*;
use blocklog_testkit::read::*;

/// What one mode must do with a log.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// No error; exactly this many records (a prefix or, for skip-corrupt,
    /// the listed count); this outcome.
    Ok(usize, Outcome),
    /// An error after exactly this many records.
    Err(usize),
}

/// Checks a log against the wanted behaviour of [tolerate-tail, absolute,
/// point-in-time, skip-corrupt], with both resync options unless a test
/// says otherwise. Every returned record must be one of `written`, in order.
/// Logs are read as RocksDB reads a WAL, with the file's number (every log
/// here is log 3; a legacy log reads the same with it, issue 10).
fn check(log: &[u8], written: &[Vec<u8>], want: [Want; 4], resyncs: &[Resync]) -> Vec<Run> {
    let mut runs = vec![];
    for &resync in resyncs {
        for (mode, want) in RecoveryMode::ALL.into_iter().zip(want) {
            let opts = ReaderOptions::new().mode(mode).resync(resync);
            let run = read(log, opts.log_number(3));
            let got = run.payloads();
            let mut it = written.iter();
            assert!(
                got.iter().all(|g| it.any(|w| w == g)),
                "{mode}/{resync:?}: returned a record that was not written"
            );
            match want {
                Want::Ok(n, outcome) => {
                    assert!(
                        run.error.is_none(),
                        "{mode}/{resync:?}: unexpected {:?}",
                        run.error
                    );
                    assert_eq!(got.len(), n, "{mode}/{resync:?}: record count");
                    assert_eq!(run.outcome(), outcome, "{mode}/{resync:?}: outcome");
                }
                Want::Err(n) => {
                    assert!(run.error.is_some(), "{mode}/{resync:?}: expected an error");
                    assert_eq!(got.len(), n, "{mode}/{resync:?}: records before the error");
                    assert_eq!(run.outcome(), Outcome::Error);
                }
            }
            runs.push(run);
        }
    }
    runs
}

const BOTH: &[Resync] = &[Resync::Block, Resync::Scan];

fn small_records(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| noise(i as u64, 50 + i * 13)).collect()
}

fn mixed_records() -> Vec<Vec<u8>> {
    // Small records, then multi-block ones, then small ones: 4 blocks or so.
    let mut v = small_records(20);
    v.push(noise(100, 40_000));
    v.extend((0..20).map(|i| noise(200 + i, 300)));
    v.push(noise(300, 30_000));
    v.extend((0..10).map(|i| noise(400 + i, 64)));
    v
}

use Outcome::*;
use Want::*;

// ----------------------------------------------------------------- R1

#[test]
fn r1_clean_end_block_trailer_and_end_inside_trailer() {
    let recs = mixed_records();
    let (log, _) = write_log(&recs);
    let n = recs.len();
    check(&log, &recs, [Ok(n, Clean); 4], BOTH);
    // A log ending in a trailer (3 padding bytes at the block end).
    let recs2 = vec![big("a", BLOCK - 2 * HDR + 4), b"b".to_vec()];
    let (log2, off) = write_log(&recs2);
    assert_eq!(off[1], BLOCK as u64);
    check(&log2[..BLOCK - 1], &recs2, [Ok(1, Clean); 4], BOTH);
    check(&log2[..BLOCK], &recs2, [Ok(1, Clean); 4], BOTH);
}

// ----------------------------------------------------------------- R2

#[test]
fn r2_zero_filled_tail_is_benign_in_every_mode() {
    let recs = mixed_records();
    let (mut log, _) = write_log(&recs);
    let end = log.len() as u64;
    log.extend(std::iter::repeat_n(0u8, 64 * 1024));
    let n = recs.len();
    for run in check(&log, &recs, [Ok(n, Clean); 4], BOTH) {
        assert!(run.dropped.is_empty());
        let b = run.benign.last().unwrap();
        assert_eq!(b.kind, BenignKind::ZeroFilledTail);
        assert_eq!(b.range, end..log.len() as u64);
    }
}

#[test]
fn r2_zero_filled_tail_from_a_block_boundary() {
    let recs = vec![big("x", BLOCK - HDR)]; // exactly one block
    let (mut log, _) = write_log(&recs);
    log.extend(std::iter::repeat_n(0u8, 3 * BLOCK + 17));
    check(&log, &recs, [Ok(1, Clean); 4], BOTH);
}

// ----------------------------------------------------------------- R3

fn tail_wants(kept: usize) -> [Want; 4] {
    [
        Ok(kept, TailDropped),
        Err(kept),
        Ok(kept, TailDropped),
        Ok(kept, TailDropped),
    ]
}

fn assert_tail_damage(runs: &[Run], reason: Reason, range: std::ops::Range<u64>) {
    for run in runs.iter().filter(|r| r.error.is_none()) {
        assert_eq!(run.dropped.len(), 1, "{:?}", run.dropped);
        assert_eq!(run.dropped[0].reason, reason);
        assert_eq!(run.dropped[0].position, Position::Tail);
        assert_eq!(run.dropped[0].range, range);
    }
    for run in runs.iter().filter(|r| r.error.is_some()) {
        let d = run.error.as_ref().unwrap().damage().unwrap();
        assert_eq!((d.reason, d.position), (reason, Position::Tail));
    }
}

#[test]
fn r3_torn_header() {
    let recs = mixed_records();
    let (log, off) = write_log(&recs);
    let last = *off.last().unwrap();
    let torn = &log[..last as usize + 4];
    let runs = check(torn, &recs, tail_wants(recs.len() - 1), BOTH);
    assert_tail_damage(&runs, Reason::TruncatedHeader, last..last + 4);
}

#[test]
fn r3_torn_payload() {
    let recs = mixed_records();
    let (log, off) = write_log(&recs);
    let last = *off.last().unwrap();
    let torn = &log[..log.len() - 5];
    let runs = check(torn, &recs, tail_wants(recs.len() - 1), BOTH);
    assert_tail_damage(&runs, Reason::TruncatedPayload, last..torn.len() as u64);
}

#[test]
fn r3_incomplete_fragmented_record_at_end() {
    let mut recs = small_records(5);
    recs.push(noise(9, 3 * BLOCK));
    let (log, off) = write_log(&recs);
    // Cut after the FIRST and one MIDDLE: at a fragment boundary.
    let cut = 2 * BLOCK;
    let runs = check(&log[..cut], &recs, tail_wants(5), BOTH);
    assert_tail_damage(&runs, Reason::MissingLast, off[5]..cut as u64);
}

#[test]
fn r3_bit_flip_in_the_last_record() {
    let recs = mixed_records();
    let (mut log, off) = write_log(&recs);
    let last = *off.last().unwrap();
    log[last as usize + HDR + 10] ^= 0x04;
    let runs = check(&log, &recs, tail_wants(recs.len() - 1), BOTH);
    assert_tail_damage(&runs, Reason::ChecksumMismatch, last..log.len() as u64);
}

#[test]
fn r3_bad_length_in_the_last_record() {
    let recs = mixed_records();
    let (mut log, off) = write_log(&recs);
    let last = *off.last().unwrap() as usize;
    log[last + 5] = 0xff; // length now runs past the block
    let runs = check(&log, &recs, tail_wants(recs.len() - 1), BOTH);
    assert_tail_damage(&runs, Reason::BadLength, last as u64..log.len() as u64);
}

#[test]
fn r3_garbage_tail() {
    let recs = mixed_records();
    let (mut log, _) = write_log(&recs);
    let end = log.len() as u64;
    log.extend(noise(77, 5000));
    let runs = check(&log, &recs, tail_wants(recs.len()), BOTH);
    for run in runs.iter().filter(|r| r.error.is_none()) {
        assert_eq!(run.dropped[0].range.start, end);
        assert_eq!(run.dropped[0].position, Position::Tail);
    }
}

#[test]
fn r3_torn_record_followed_by_zeros() {
    // The torn part of the last write reads as zeros: damage, then a
    // zero-filled tail.
    let recs = mixed_records();
    let (mut log, off) = write_log(&recs);
    let last = *off.last().unwrap() as usize;
    let n = log.len();
    log[last + HDR + 20..n].fill(0);
    log.extend(std::iter::repeat_n(0u8, 2 * BLOCK));
    let runs = check(&log, &recs, tail_wants(recs.len() - 1), BOTH);
    for run in runs.iter().filter(|r| r.error.is_none()) {
        assert_eq!(run.dropped[0].range, last as u64..n as u64);
        assert_eq!(run.benign.last().unwrap().kind, BenignKind::ZeroFilledTail);
    }
}

// ----------------------------------------------------------------- R4

fn interior_wants(before: usize, skip_keeps: usize) -> [Want; 4] {
    [
        Err(before),
        Err(before),
        Ok(before, Stopped),
        Ok(skip_keeps, Skipped),
    ]
}

#[test]
fn r4_bit_flip_mid_file() {
    let recs = mixed_records();
    let (mut log, off) = write_log(&recs);
    let victim = 5;
    log[off[victim] as usize + HDR + 3] ^= 0x80;
    // Block resync loses the rest of block 0; scan resync only the victim.
    let in_block0 = off.iter().filter(|&&o| o < BLOCK as u64).count();
    let block = check(
        &log,
        &recs,
        interior_wants(victim, recs.len() - (in_block0 - victim)),
        &[Resync::Block],
    );
    let scan = check(
        &log,
        &recs,
        interior_wants(victim, recs.len() - 1),
        &[Resync::Scan],
    );
    // The FIRST of the 40 000-byte record lies in block 0 too: with block
    // resync its LAST is an orphan in block 1, reported as part of the loss.
    assert!(block[3]
        .dropped
        .iter()
        .all(|d| d.position == Position::Interior));
    assert_eq!(scan[3].dropped.len(), 1);
    let d = &scan[3].dropped[0];
    assert_eq!(d.range, off[victim]..off[victim + 1]);
    assert_eq!(d.reason, Reason::ChecksumMismatch);
    // Point-in-time counts what it left unread (as skip-corrupt would have read).
    assert_eq!(
        scan[2].summary.unread_records as usize,
        recs.len() - victim - 1
    );
    assert_eq!(
        scan[2].summary.stopped_at.as_ref().unwrap().range.start,
        off[victim]
    );
    // The refusal names the damage.
    match &scan[0].error {
        Some(Error::Corruption { mode, damage }) => {
            assert_eq!(*mode, RecoveryMode::TolerateTail);
            assert_eq!(damage.position, Position::Interior);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn r4_bit_rot_in_the_last_block_with_records_after_it_in_the_same_block() {
    // Look-ahead, not EOF, decides: this is interior even in block resync.
    let recs = small_records(30);
    let (mut log, off) = write_log(&recs);
    assert!(log.len() < BLOCK);
    log[off[10] as usize + HDR + 1] ^= 1;
    check(&log, &recs, interior_wants(10, 10), &[Resync::Block]);
    check(&log, &recs, interior_wants(10, 29), &[Resync::Scan]);
}

#[test]
fn r4_zeroed_interior_block() {
    let recs: Vec<Vec<u8>> = (0..40).map(|i| noise(i, 3000)).collect();
    let (mut log, off) = write_log(&recs);
    log[BLOCK..2 * BLOCK].fill(0);
    let before = off.iter().filter(|&&o| o < BLOCK as u64).count() - 1; // the last one spans into block 1
    let after = off.iter().filter(|&&o| o >= 2 * BLOCK as u64).count();
    let runs = check(&log, &recs, interior_wants(before, before + after), BOTH);
    let skip = &runs[3];
    assert!(skip
        .dropped
        .iter()
        .all(|d| d.position == Position::Interior));
    assert_eq!(skip.dropped[0].reason, Reason::ZeroHeader);
}

#[test]
fn r4_first_without_last_mid_file() {
    // A multi-block record whose LAST fragment was replaced by a FULL.
    let recs = vec![
        b"a".to_vec(),
        noise(1, 50_000),
        b"b".to_vec(),
        b"c".to_vec(),
    ];
    let (mut log, off) = write_log(&recs);
    // Turn the LAST fragment (in block 1) into garbage with a valid FULL
    // header of another record: rewrite it as a FULL carrying "x".
    let last_at = BLOCK; // the LAST fragment starts block 1
    let mut hdr = [0u8; 7];
    encode_header(&mut hdr, RecordType::Full, None, b"x");
    let len = u16::from_le_bytes([log[last_at + 4], log[last_at + 5]]) as usize;
    let mut rebuilt = log[..last_at].to_vec();
    rebuilt.extend_from_slice(&hdr);
    rebuilt.push(b'x');
    rebuilt.extend_from_slice(&log[last_at + HDR + len..]);
    // Keep later offsets as they were: pad the gap with a zero-length ignorable record.
    let gap = (HDR + len) - (HDR + 1);
    let mut filler = vec![0u8; gap];
    encode_header(
        &mut filler,
        RecordType::Unknown(0xfe),
        None,
        &vec![0u8; gap - HDR],
    );
    rebuilt.splice(last_at + HDR + 1..last_at + HDR + 1, filler);
    assert_eq!(rebuilt.len(), log.len());
    log = rebuilt;
    let mut written = recs.clone();
    written.insert(2, b"x".to_vec());
    let runs = check(&log, &written, interior_wants(1, 4), BOTH);
    let d = &runs[3].dropped[0];
    assert_eq!(d.reason, Reason::MissingLast);
    assert_eq!(d.range, off[1]..BLOCK as u64);
}

#[test]
fn r4_garbage_inserted_mid_file() {
    let recs = small_records(40);
    let (mut log, off) = write_log(&recs);
    let at = off[20] as usize;
    log.splice(at..at, noise(5, 333));
    check(&log, &recs, interior_wants(20, 20), &[Resync::Block]);
    // Scan finds the next header after the garbage: only nothing is lost.
    let runs = check(&log, &recs, interior_wants(20, 40), &[Resync::Scan]);
    assert_eq!(runs[3].dropped[0].range, at as u64..(at + 333) as u64);
}

// ----------------------------------------------------------------- R5

// ----------------------------------------------------------------- R13

/// A record over `max_record_size` is a limit, not damage: the read fails
/// with `Error::RecordTooLarge` in every mode, after the records before it,
/// and never drops the (intact) record. (Issue 10, defect 9.)
#[test]
fn r13_record_larger_than_the_limit_is_a_limit_not_damage() {
    let recs = vec![b"a".to_vec(), noise(1, 100_000), b"b".to_vec()];
    let (log, off) = write_log(&recs);
    for mode in RecoveryMode::ALL {
        for limit in [50_000, 10] {
            let run = read(&log, ReaderOptions::new().mode(mode).max_record_size(limit));
            assert_eq!(run.payloads(), vec![b"a".to_vec()], "{mode}");
            assert!(run.dropped.is_empty(), "{mode}: a limit is not damage");
            match run.error {
                Some(blocklog::Error::RecordTooLarge { offset, limit: l }) => {
                    assert_eq!((offset, l), (off[1], limit), "{mode}")
                }
                ref other => panic!("{mode}: expected the limit, got {other:?}"),
            }
            assert_ne!(run.summary.outcome(), blocklog::Outcome::Clean);
        }
    }
    // `max_record_size(0)` on a clean log: reported as the limit (at the
    // first non-empty record), never as corruption; empty records pass.
    let run = read(
        &log,
        ReaderOptions::new()
            .mode(RecoveryMode::SkipCorrupt)
            .max_record_size(0),
    );
    assert!(run.records.is_empty() && run.dropped.is_empty());
    assert!(matches!(
        run.error,
        Some(blocklog::Error::RecordTooLarge {
            offset: 0,
            limit: 0
        })
    ));
    let (empty, _) = write_log(&[vec![], vec![]]);
    let run = read(&empty, ReaderOptions::new().max_record_size(0));
    assert_eq!(run.payloads(), vec![Vec::<u8>::new(), vec![]]);
    assert!(run.error.is_none());
}

// ----------------------------------------------------------------- R7/R8/R11

#[test]
fn r7_zeroed_start_of_a_recycled_file_with_current_fragments_after_is_damage() {
    // Regression (found by the corruption property): a current-log orphan
    // after the damage means the region is this log's, not the previous use.
    let recs = vec![noise(1, 741), noise(2, 41_288), noise(3, 32_104)];
    let (mut log, _) = write_with(WriterOptions::new().recyclable(3), &recs);
    let n = log.len().min(46_492);
    log[1..n].fill(0);
    let runs = check(
        &log,
        &recs,
        [
            Ok(0, TailDropped),
            Err(0),
            Ok(0, TailDropped),
            Ok(0, TailDropped),
        ],
        BOTH,
    );
    assert!(runs[0].dropped[0].range.end > 46_492);
}

#[test]
fn r8_one_flipped_bit_in_the_last_records_type_or_log_number_is_damage_not_previous_use() {
    // Regression (found by the corruption property): a flip that made the
    // last record's type a non-recyclable one, or its log number another,
    // read as the file's previous use (R7): absolute recovered one record
    // less without an error. The record's checksum matches once the field
    // is restored, which proves it is this log's record, damaged (R8).
    let recs = vec![noise(1, 300), noise(2, 70_000), noise(3, 41)];
    let (pristine, offsets) = write_with(WriterOptions::new().recyclable(3), &recs);
    let last = *offsets.last().unwrap() as usize;
    for byte in 6..11 {
        for bit in 0..8 {
            let mut log = pristine.clone();
            log[last + byte] ^= 1 << bit;
            let runs = check(
                &log,
                &recs,
                [
                    Ok(2, TailDropped),
                    Err(2),
                    Ok(2, TailDropped),
                    Ok(2, TailDropped),
                ],
                BOTH,
            );
            let d = &runs[0].dropped[0];
            assert_eq!(d.range.start, last as u64, "byte {byte} bit {bit}");
            assert!(
                runs[0].benign.is_empty(),
                "byte {byte} bit {bit}: {:?}",
                runs[0].benign
            );
        }
    }
}

// ----------------------------------------------------------------- R10

#[test]
fn r10_metadata_records_are_consumed() {
    let mut log = vec![];
    // SetCompression(none) then a timestamp-size record, then data.
    for (t, body) in [
        (RecordType::SetCompression, vec![0u8, 0, 0, 0]),
        (RecordType::TimestampSize, vec![1, 2, 3]),
    ] {
        let mut h = [0u8; 7];
        encode_header(&mut h, t, None, &body);
        log.extend_from_slice(&h);
        log.extend_from_slice(&body);
    }
    let len = log.len() as u64;
    let mut w = WriterOptions::new().append_at(len).build(&mut log);
    w.add_record(b"data").unwrap();
    w.flush().unwrap();
    let runs = check(&log, &[b"data".to_vec()], [Ok(1, Clean); 4], BOTH);
    assert_eq!(runs[0].benign.len(), 2);
}

// With the feature, tests/interop_fixtures.rs reads real compressed logs.
#[cfg(not(feature = "zstd"))]
#[test]
fn r10_compressed_log_needs_the_zstd_feature() {
    let mut log = vec![0u8; 11];
    encode_header(&mut log, RecordType::SetCompression, None, &[7, 0, 0, 0]);
    log.truncate(7);
    log.extend_from_slice(&[7, 0, 0, 0]);
    let run = read(&log, RecoveryMode::SkipCorrupt);
    let err = run.error.unwrap();
    assert!(matches!(
        err,
        Error::UnsupportedCompression { compression: 7, .. }
    ));
    assert!(err.to_string().contains("zstd"));
}

#[test]
fn policy_function_matches_the_table() {
    use blocklog::{decide, Action::*, Situation::*};
    let rows = [
        (Damage(Position::Tail), [Drop, Fail, Stop, Drop]),
        (Damage(Position::Interior), [Fail, Fail, Stop, Drop]),
        (CleanEnd, [Accept; 4]),
        (ZeroFilledTail, [Accept; 4]),
        (PreviousUse, [Accept; 4]),
        (IgnorableRecord, [Accept; 4]),
        (IoError, [Fail; 4]),
    ];
    for (situation, actions) in rows {
        for (mode, action) in RecoveryMode::ALL.into_iter().zip(actions) {
            assert_eq!(decide(mode, situation), action, "{situation:?} {mode}");
        }
    }
}
