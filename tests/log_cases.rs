//! The situations of LevelDB's and RocksDB's `db/log_test.cc`, re-expressed
//! in our own words and checked under every recovery mode. Each test names
//! the row of `docs/recovery.md` it exercises.

use blocklog::format::RecordType;
use blocklog::{
    Error, Outcome, Position, ReaderOptions, Reason, RecoveryMode, Resync, WriterOptions,
};
use blocklog_testkit::logs::*;
use blocklog_testkit::read::*;

use RecoveryMode::*;

fn ok_in(run: &Run) -> bool {
    run.error.is_none()
}

// ------------------------------------------------------------ round trips

#[test]
fn empty_log() {
    // R1: clean end.
    for run in read_all_modes(&[]) {
        assert!(run.records.is_empty());
        assert!(ok_in(&run));
        assert_eq!(run.outcome(), Outcome::Clean);
    }
}

#[test]
fn read_write_small_and_empty_records() {
    let recs = vec![b"foo".to_vec(), b"bar".to_vec(), vec![], b"xxxx".to_vec()];
    let (log, offsets) = write_log(&recs);
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), recs);
        assert_eq!(run.records.iter().map(|r| r.0).collect::<Vec<_>>(), offsets);
        assert_eq!(run.outcome(), Outcome::Clean);
    }
}

#[test]
fn many_blocks() {
    let recs: Vec<Vec<u8>> = (0..100_000u32)
        .map(|i| i.to_string().into_bytes())
        .collect();
    let (log, _) = write_log(&recs);
    assert!(log.len() > 20 * BLOCK);
    let run = read(&log, Absolute);
    assert_eq!(run.payloads(), recs);
}

#[test]
fn fragmentation() {
    let recs = vec![
        b"small".to_vec(),
        big("medium", 50_000),
        big("large", 100_000),
    ];
    let (log, _) = write_log(&recs);
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), recs);
    }
}

#[test]
fn marginal_trailer_zero_length_first_fragment() {
    // Leaves exactly one header's worth in the block: the next record gets a
    // zero-length FIRST there.
    let n = BLOCK - 2 * HDR;
    let mut w = writer();
    w.add_record(&big("foo", n)).unwrap();
    assert_eq!(w.offset() as usize, BLOCK - HDR);
    w.add_record(b"").unwrap();
    w.add_record(b"bar").unwrap();
    let log = w.into_inner().unwrap();
    // The empty record is a zero-length FULL at the block's last 7 bytes.
    assert_eq!(log[BLOCK - HDR + 6], RecordType::Full.to_byte());
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), vec![big("foo", n), vec![], b"bar".to_vec()]);
        assert_eq!(run.outcome(), Outcome::Clean);
    }
}

#[test]
fn marginal_trailer2() {
    let n = BLOCK - 2 * HDR;
    let mut w = writer();
    w.add_record(&big("foo", n)).unwrap();
    w.add_record(b"bar").unwrap();
    let log = w.into_inner().unwrap();
    // "bar" starts with a zero-length FIRST in the last 7 bytes of block 0.
    assert_eq!(log[BLOCK - HDR + 6], RecordType::First.to_byte());
    assert_eq!(&log[BLOCK - HDR + 4..BLOCK - HDR + 6], &[0, 0]);
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), vec![big("foo", n), b"bar".to_vec()]);
        assert_eq!(run.records[1].0 as usize, BLOCK - HDR);
        assert!(run.dropped.is_empty());
    }
}

#[test]
fn short_trailer_is_padded() {
    let n = BLOCK - 2 * HDR + 4;
    let mut w = writer();
    w.add_record(&big("foo", n)).unwrap();
    assert_eq!(w.offset() as usize, BLOCK - HDR + 4);
    w.add_record(b"").unwrap();
    w.add_record(b"bar").unwrap();
    let log = w.into_inner().unwrap();
    assert_eq!(&log[BLOCK - 3..BLOCK], &[0, 0, 0]);
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), vec![big("foo", n), vec![], b"bar".to_vec()]);
        assert_eq!(run.records[1].0 as usize, BLOCK);
    }
}

#[test]
fn aligned_eof_and_file_ending_inside_trailer() {
    // R1: a log that ends inside a block trailer ends cleanly.
    let n = BLOCK - 2 * HDR + 4;
    let (log, _) = write_log(&[big("foo", n)]);
    assert_eq!(log.len(), BLOCK - HDR + 4);
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), vec![big("foo", n)]);
        assert_eq!(run.outcome(), Outcome::Clean);
    }
    // A file ending inside the trailer with the padding bytes present.
    let mut padded = log.clone();
    padded.extend_from_slice(&[0, 0]);
    for run in read_all_modes(&padded) {
        assert_eq!(run.outcome(), Outcome::Clean);
        assert_eq!(run.records.len(), 1);
    }
}

#[test]
fn open_for_append() {
    let (mut log, _) = write_log(&[b"hello".to_vec()]);
    let len = log.len() as u64;
    let mut w = WriterOptions::new().append_at(len).build(&mut log);
    assert_eq!(w.add_record(b"world").unwrap(), len);
    w.flush().unwrap();
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), vec![b"hello".to_vec(), b"world".to_vec()]);
    }
}

#[test]
fn open_for_append_mid_block_across_trailer() {
    // Resume at every awkward position around a block end.
    for first in [
        BLOCK - 2 * HDR - 1,
        BLOCK - 2 * HDR,
        BLOCK - 2 * HDR + 3,
        BLOCK - HDR,
    ] {
        let (mut log, _) = write_log(&[big("a", first)]);
        let len = log.len() as u64;
        let mut w = WriterOptions::new().append_at(len).build(&mut log);
        w.add_record(&big("b", 40_000)).unwrap();
        w.add_record(b"c").unwrap();
        w.flush().unwrap();
        let whole = write_log(&[big("a", first), big("b", 40_000), b"c".to_vec()]).0;
        assert_eq!(
            log, whole,
            "append at {len} must equal one uninterrupted write"
        );
    }
}

#[test]
fn random_read() {
    let recs: Vec<Vec<u8>> = (0..500u64)
        .map(|i| {
            noise(
                i,
                (noise(i + 1000, 2)[0] as usize * 131 + i as usize * 7) % 70_000,
            )
        })
        .collect();
    let (log, offsets) = write_log(&recs);
    let run = read(&log, Absolute);
    assert_eq!(run.payloads(), recs);
    assert_eq!(run.records.iter().map(|r| r.0).collect::<Vec<_>>(), offsets);
}

#[test]
fn one_byte_reads_give_identical_results() {
    let recs = vec![
        b"small".to_vec(),
        big("medium", 50_000),
        big("large", 100_000),
    ];
    let (mut log, _) = write_log(&recs);
    log[BLOCK + 100] ^= 0x10; // damage inside "medium"'s second fragment
    for mode in RecoveryMode::ALL {
        for resync in [Resync::Block, Resync::Scan] {
            let opts = ReaderOptions::new().mode(mode).resync(resync);
            let a = read(&log, opts.clone());
            let b = read_source(OneByte(&log[..]), opts, log.len() + 16);
            assert_eq!(a.records, b.records);
            assert_eq!(a.dropped, b.dropped);
            assert_eq!(a.benign, b.benign);
            assert_eq!(a.error.is_some(), b.error.is_some());
            assert_eq!(a.summary, b.summary);
        }
    }
}

// ------------------------------------------------------------ read errors (R9)

#[test]
fn read_error_is_never_taken_for_eof() {
    let recs: Vec<Vec<u8>> = (0..10).map(|i| big("x", 10_000 + i)).collect();
    let (log, _) = write_log(&recs);
    for mode in RecoveryMode::ALL {
        let run = read_source(
            FailAfter {
                data: &log,
                ok: BLOCK + 5,
                pos: 0,
            },
            ReaderOptions::new().mode(mode),
            log.len() + 16,
        );
        match run.error {
            Some(Error::Io { offset, .. }) => assert_eq!(offset, BLOCK as u64 + 5),
            other => panic!("{mode}: expected an I/O error, got {other:?}"),
        }
        // Only records wholly inside the first block came out before the error.
        assert_eq!(run.records.len(), 3);
        assert_eq!(run.outcome(), Outcome::Error);
    }
}

// ------------------------------------------------------------ types

#[test]
fn bad_record_type_alone_is_tail_damage() {
    // R5 + R3: a checksummed record of an unknown type is dropped alone.
    let (mut log, _) = write_log(&[b"foo".to_vec()]);
    log[6] = 100;
    fix_checksum(&mut log, 0);
    let [tt, abs, pit, skip] = read_all_modes(&log);
    assert!(tt.records.is_empty() && ok_in(&tt));
    assert_eq!(tt.dropped[0].reason, Reason::UnknownType);
    assert_eq!(tt.dropped[0].range, 0..10);
    assert_eq!(tt.dropped[0].position, Position::Tail);
    assert!(abs.error.is_some());
    assert!(ok_in(&pit) && pit.records.is_empty());
    assert!(ok_in(&skip) && skip.records.is_empty());
}

#[test]
fn bad_record_type_in_interior_drops_only_that_record() {
    // R5 + R4: valid framing, so reading continues right after it.
    let (mut log, offsets) = write_log(&[b"foo".to_vec(), b"bar".to_vec(), b"baz".to_vec()]);
    let at = offsets[1] as usize;
    log[at + 6] = 100;
    fix_checksum(&mut log, at);
    let [tt, abs, pit, skip] = read_all_modes(&log);
    assert_eq!(tt.payloads(), vec![b"foo".to_vec()]);
    assert!(matches!(tt.error, Some(Error::Corruption { .. })));
    assert!(abs.error.is_some());
    assert_eq!(pit.payloads(), vec![b"foo".to_vec()]);
    assert_eq!(pit.summary.unread_records, 1);
    assert_eq!(pit.outcome(), Outcome::Stopped);
    // Even with block resync, an out-of-place record with a good checksum is
    // dropped alone: "baz" in the same block survives.
    assert_eq!(skip.payloads(), vec![b"foo".to_vec(), b"baz".to_vec()]);
    assert_eq!(skip.dropped[0].range, offsets[1]..offsets[2]);
}

#[test]
fn ignorable_record_type_is_skipped_silently() {
    // R6.
    let (mut log, offsets) = write_log(&[b"foo".to_vec(), b"meta".to_vec(), b"bar".to_vec()]);
    let at = offsets[1] as usize;
    log[at + 6] = 0x80 | 42;
    fix_checksum(&mut log, at);
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), vec![b"foo".to_vec(), b"bar".to_vec()]);
        assert!(run.dropped.is_empty());
        assert_eq!(run.outcome(), Outcome::Clean);
        assert_eq!(run.benign.len(), 1);
    }
}

// ------------------------------------------------------------ truncation (R3)

#[test]
fn truncated_trailing_record() {
    let (mut log, _) = write_log(&[b"foo".to_vec()]);
    log.truncate(log.len() - 4); // cuts into the header
    let [tt, abs, pit, skip] = read_all_modes(&log);
    for run in [&tt, &pit, &skip] {
        assert!(ok_in(run) && run.records.is_empty());
        assert_eq!(run.outcome(), Outcome::TailDropped);
        assert_eq!(run.dropped[0].reason, Reason::TruncatedHeader);
        assert_eq!(run.dropped[0].range, 0..6);
    }
    assert_eq!(
        abs.error.as_ref().unwrap().damage().unwrap().reason,
        Reason::TruncatedHeader
    );
}

#[test]
fn bad_length_in_interior() {
    // LevelDB's BadLength: the first record fills a block; its length field
    // is corrupted; "foo" in the next block is intact.
    let payload_size = BLOCK - HDR;
    let (mut log, _) = write_log(&[big("bar", payload_size), b"foo".to_vec()]);
    log[4] = log[4].wrapping_add(1);
    let [tt, abs, pit, skip] = read_all_modes(&log);
    assert!(tt.error.is_some() && tt.records.is_empty());
    assert!(abs.error.is_some());
    assert!(pit.records.is_empty() && pit.summary.unread_records == 1);
    assert_eq!(skip.payloads(), vec![b"foo".to_vec()]);
    assert_eq!(skip.dropped.len(), 1);
    assert_eq!(skip.dropped[0].reason, Reason::BadLength);
    assert_eq!(skip.dropped[0].range, 0..BLOCK as u64);
    assert_eq!(skip.dropped[0].position, Position::Interior);
}

#[test]
fn bad_length_at_end_is_tail() {
    let (mut log, _) = write_log(&[b"foo".to_vec()]);
    log.truncate(log.len() - 1);
    let [tt, abs, pit, skip] = read_all_modes(&log);
    for run in [&tt, &pit, &skip] {
        assert!(ok_in(run) && run.records.is_empty());
        assert_eq!(run.dropped[0].reason, Reason::TruncatedPayload);
        assert_eq!(run.dropped[0].position, Position::Tail);
    }
    assert!(abs.error.is_some());
}

#[test]
fn checksum_mismatch_of_last_record_is_tail_damage() {
    // Deliberate difference from RocksDB (docs/recovery.md): a bad checksum
    // with nothing valid after it is what a torn write leaves.
    let (mut log, _) = write_log(&[b"foooooo".to_vec()]);
    log[0] ^= 0x0e;
    let [tt, abs, pit, skip] = read_all_modes(&log);
    assert_eq!(tt.dropped[0].reason, Reason::ChecksumMismatch);
    assert_eq!(tt.dropped[0].range, 0..14);
    assert!(ok_in(&tt) && ok_in(&pit) && ok_in(&skip));
    assert!(abs.error.is_some());
}

// ------------------------------------------------------------ out-of-place fragments (R5)

#[test]
fn unexpected_middle_type() {
    let (mut log, _) = write_log(&[b"foo".to_vec()]);
    log[6] = RecordType::Middle.to_byte();
    fix_checksum(&mut log, 0);
    let run = read(&log, TolerateTail);
    assert!(run.records.is_empty());
    assert_eq!(run.dropped[0].reason, Reason::MissingFirst);
    assert_eq!(run.dropped[0].range, 0..10);
}

#[test]
fn unexpected_last_type() {
    let (mut log, _) = write_log(&[b"foo".to_vec(), b"bar".to_vec()]);
    log[6] = RecordType::Last.to_byte();
    fix_checksum(&mut log, 0);
    let [tt, _, pit, skip] = read_all_modes(&log);
    assert!(tt.error.is_some(), "interior: a valid record follows");
    assert!(pit.records.is_empty());
    assert_eq!(skip.payloads(), vec![b"bar".to_vec()]);
    assert_eq!(skip.dropped[0].reason, Reason::MissingFirst);
}

#[test]
fn unexpected_full_type_after_first() {
    // FIRST followed by FULL: the FIRST's record is lost, the FULL is read.
    let (mut log, _) = write_log(&[b"foo".to_vec(), b"bar".to_vec()]);
    log[6] = RecordType::First.to_byte();
    fix_checksum(&mut log, 0);
    let [tt, abs, pit, skip] = read_all_modes(&log);
    assert!(tt.error.is_some() && abs.error.is_some());
    assert_eq!(pit.summary.unread_records, 1);
    assert_eq!(skip.payloads(), vec![b"bar".to_vec()]);
    assert_eq!(skip.dropped[0].reason, Reason::MissingLast);
    assert_eq!(skip.dropped[0].range, 0..10);
    assert_eq!(skip.dropped[0].position, Position::Interior);
}

#[test]
fn unexpected_first_type_after_first() {
    let (mut log, _) = write_log(&[b"foo".to_vec(), big("bar", 100_000)]);
    log[6] = RecordType::First.to_byte();
    fix_checksum(&mut log, 0);
    let skip = read(&log, SkipCorrupt);
    assert_eq!(skip.payloads(), vec![big("bar", 100_000)]);
    assert_eq!(skip.dropped[0].reason, Reason::MissingLast);
}

#[test]
fn missing_last_at_end_is_tail() {
    let (mut log, _) = write_log(&[big("bar", BLOCK)]);
    log.truncate(log.len() - 14); // removes the LAST fragment entirely
    let [tt, abs, pit, skip] = read_all_modes(&log);
    for run in [&tt, &pit, &skip] {
        assert!(ok_in(run) && run.records.is_empty());
        assert_eq!(run.dropped[0].reason, Reason::MissingLast);
        assert_eq!(run.dropped[0].range, 0..BLOCK as u64);
        assert_eq!(run.dropped[0].position, Position::Tail);
    }
    assert!(abs.error.is_some());
}

#[test]
fn partial_last_at_end_is_tail() {
    let (mut log, _) = write_log(&[big("bar", BLOCK)]);
    log.truncate(log.len() - 1);
    let run = read(&log, TolerateTail);
    assert!(run.records.is_empty() && ok_in(&run));
    assert_eq!(run.dropped.len(), 1);
    assert_eq!(run.dropped[0].range, 0..(log.len() as u64));
    assert_eq!(run.dropped[0].reason, Reason::TruncatedPayload);
}

#[test]
fn no_splicing_when_a_middle_block_is_wiped() {
    // LevelDB's ErrorJoinsRecords: fragments are never joined across damage.
    let (mut log, _) = write_log(&[big("foo", BLOCK), big("bar", BLOCK), b"correct".to_vec()]);
    for b in &mut log[BLOCK..2 * BLOCK] {
        *b = b'x';
    }
    for resync in [Resync::Block, Resync::Scan] {
        let skip = read_resync(&log, SkipCorrupt, resync);
        assert_eq!(skip.payloads(), vec![b"correct".to_vec()], "{resync:?}");
        let dropped: u64 = skip.dropped.iter().map(|d| d.len()).sum();
        assert!((2 * BLOCK as u64..=2 * BLOCK as u64 + 100).contains(&dropped));
        assert!(skip
            .dropped
            .iter()
            .all(|d| d.position == Position::Interior));
    }
    let [tt, abs, pit, _] = read_all_modes(&log);
    assert!(tt.error.is_some() && abs.error.is_some());
    assert!(pit.records.is_empty() && pit.summary.unread_records == 1);
}

// ------------------------------------------------------------ initial offset

const IO_SIZES: [usize; 6] = [10_000, 10_000, 2 * BLOCK - 1000, 1, 13_716, BLOCK - HDR];

fn initial_offset_log() -> (Vec<u8>, Vec<u64>) {
    let recs: Vec<Vec<u8>> = IO_SIZES
        .iter()
        .enumerate()
        .map(|(i, &n)| vec![b'a' + i as u8; n])
        .collect();
    write_log(&recs)
}

fn check_initial_offset(initial: u64, expected_index: usize) {
    let (log, offsets) = initial_offset_log();
    // LevelDB's table of record offsets.
    let expected_offsets = [
        0u64,
        (HDR + 10_000) as u64,
        (2 * (HDR + 10_000)) as u64,
        (2 * (HDR + 10_000) + (2 * BLOCK - 1000) + 3 * HDR) as u64,
        (2 * (HDR + 10_000) + (2 * BLOCK - 1000) + 3 * HDR + HDR + 1) as u64,
        (3 * BLOCK) as u64,
    ];
    assert_eq!(offsets, expected_offsets);
    for mode in RecoveryMode::ALL {
        let run = read(
            &log,
            ReaderOptions::new().mode(mode).initial_offset(initial),
        );
        assert!(
            run.dropped.is_empty(),
            "{mode} at {initial}: {:?}",
            run.dropped
        );
        assert!(run.error.is_none());
        let got: Vec<u64> = run.records.iter().map(|r| r.0).collect();
        assert_eq!(
            got,
            expected_offsets[expected_index..].to_vec(),
            "{mode} at {initial}"
        );
        let first = &run.records[0].1;
        assert_eq!(first.len(), IO_SIZES[expected_index]);
        assert_eq!(first[0], b'a' + expected_index as u8);
    }
}

#[test]
fn initial_offset_read_start() {
    check_initial_offset(0, 0);
}
#[test]
fn initial_offset_second_one_off() {
    check_initial_offset(1, 1);
}
#[test]
fn initial_offset_second_ten_thousand() {
    check_initial_offset(10_000, 1);
}
#[test]
fn initial_offset_second_start() {
    check_initial_offset(10_007, 1);
}
#[test]
fn initial_offset_third_one_off() {
    check_initial_offset(10_008, 2);
}
#[test]
fn initial_offset_third_start() {
    check_initial_offset(20_014, 2);
}
#[test]
fn initial_offset_fourth_one_off() {
    check_initial_offset(20_015, 3);
}
#[test]
fn initial_offset_fourth_first_block_trailer() {
    check_initial_offset((BLOCK - 4) as u64, 3);
}
#[test]
fn initial_offset_fourth_middle_block() {
    check_initial_offset((BLOCK + 1) as u64, 3);
}
#[test]
fn initial_offset_fourth_last_block() {
    check_initial_offset((2 * BLOCK + 1) as u64, 3);
}
#[test]
fn initial_offset_fourth_start() {
    check_initial_offset((2 * (HDR + 1000) + (2 * BLOCK - 1000) + 3 * HDR) as u64, 3);
}
#[test]
fn initial_offset_into_block_padding() {
    check_initial_offset((3 * BLOCK - 3) as u64, 5);
}
#[test]
fn initial_offset_at_and_past_end() {
    let (log, _) = initial_offset_log();
    for off in [log.len() as u64, log.len() as u64 + 5] {
        for mode in RecoveryMode::ALL {
            let run = read(&log, ReaderOptions::new().mode(mode).initial_offset(off));
            assert!(run.records.is_empty() && run.error.is_none() && run.dropped.is_empty());
        }
    }
}

#[test]
fn skip_into_multi_record() {
    // Starting inside a multi-block record skips its MIDDLE/LAST silently.
    let (log, _) = write_log(&[big("foo", 3 * BLOCK), b"correct".to_vec()]);
    for mode in RecoveryMode::ALL {
        let run = read(
            &log,
            ReaderOptions::new().mode(mode).initial_offset(BLOCK as u64),
        );
        assert_eq!(run.payloads(), vec![b"correct".to_vec()]);
        assert!(run.dropped.is_empty() && run.error.is_none());
    }
}

// ------------------------------------------------------------ recycled logs (R7, R8, R11)

fn recyclable(log_number: u32) -> WriterOptions {
    WriterOptions::new().recyclable(log_number)
}

#[test]
fn recyclable_roundtrip_and_header_layout() {
    let recs = vec![b"foo".to_vec(), big("bar", 70_000), vec![]];
    let (log, offsets) = write_with(recyclable(7), &recs);
    assert_eq!(log[6], RecordType::RecyclableFull.to_byte());
    assert_eq!(&log[7..11], &7u32.to_le_bytes());
    assert_eq!(offsets[1], (RHDR + 3) as u64);
    for run in read_all_modes(&log) {
        assert_eq!(run.payloads(), recs);
        assert_eq!(run.outcome(), Outcome::Clean);
    }
    let run = read(&log, ReaderOptions::new().log_number(7));
    assert_eq!(run.payloads(), recs);
}

#[test]
fn recycled_file_previous_use_is_end_of_log() {
    // RocksDB's Recycle test: a file of log 1 filling two blocks, reused by
    // log 123 which writes two records over its start.
    let mut old = recyclable(1).build(Vec::new());
    for r in ["foo", "bar", "baz", "bif", "blitz"] {
        old.add_record(r.as_bytes()).unwrap();
    }
    while old.offset() < 2 * BLOCK as u64 {
        old.add_record(b"xxxxxxxxxxxxxxxx").unwrap();
    }
    let mut file = old.into_inner().unwrap();
    let old_len = file.len();
    let mut new = recyclable(123).build(std::io::Cursor::new(&mut file));
    new.add_record(b"foo").unwrap();
    new.add_record(b"bar").unwrap();
    new.flush().unwrap();
    assert_eq!(file.len(), old_len);
    for mode in RecoveryMode::ALL {
        for opts in [
            ReaderOptions::new().mode(mode).log_number(123),
            ReaderOptions::new().mode(mode),
        ] {
            let run = read(&file, opts);
            assert_eq!(
                run.payloads(),
                vec![b"foo".to_vec(), b"bar".to_vec()],
                "{mode}"
            );
            assert!(
                run.error.is_none() && run.dropped.is_empty(),
                "{mode}: {:?}",
                run.dropped
            );
            assert_eq!(run.outcome(), Outcome::Clean);
            assert_eq!(run.benign.last().unwrap().kind.as_str(), "previous-use");
            assert_eq!(run.benign.last().unwrap().range.end, old_len as u64);
        }
    }
}

#[test]
fn recycled_torn_current_record_is_tail_damage() {
    // R8: a header with the current log number that fails its checks.
    let mut old = recyclable(1).build(Vec::new());
    while old.offset() < BLOCK as u64 {
        old.add_record(&big("old", 500)).unwrap();
    }
    let mut file = old.into_inner().unwrap();
    let mut new = recyclable(2).build(std::io::Cursor::new(&mut file));
    new.add_record(b"keep").unwrap();
    let torn_at = new.add_record(&big("torn", 300)).unwrap() as usize;
    new.flush().unwrap();
    file[torn_at + RHDR + 100] ^= 1; // the torn part holds other bytes
    let [tt, abs, pit, skip] = read_all_modes(&file);
    for run in [&tt, &pit, &skip] {
        assert_eq!(run.payloads(), vec![b"keep".to_vec()]);
        assert_eq!(run.dropped.len(), 1);
        assert_eq!(run.dropped[0].reason, Reason::ChecksumMismatch);
        assert_eq!(run.dropped[0].position, Position::Tail);
        assert_eq!(run.dropped[0].range.start, torn_at as u64);
    }
    assert!(abs.error.is_some());
}

#[test]
fn stale_record_followed_by_current_record_is_interior() {
    // R11: look-ahead rules. A current record after stale bytes means the
    // stale bytes sit where this log's data should be.
    let (mut log, offsets) = write_with(
        recyclable(5),
        &[b"one".to_vec(), b"two".to_vec(), b"three".to_vec()],
    );
    let at = offsets[1] as usize;
    log[at + 7..at + 11].copy_from_slice(&4u32.to_le_bytes());
    fix_checksum(&mut log, at);
    let [tt, abs, pit, skip] = read_all_modes(&log);
    assert!(tt.error.is_some() && abs.error.is_some());
    assert_eq!(
        tt.error.unwrap().damage().unwrap().reason,
        Reason::StaleLogNumber
    );
    assert_eq!(pit.payloads(), vec![b"one".to_vec()]);
    assert_eq!(skip.payloads(), vec![b"one".to_vec(), b"three".to_vec()]);
}

#[test]
fn recycled_log_mid_block_checksum_error_with_current_records_after_is_interior() {
    let recs: Vec<Vec<u8>> = (0..20).map(|i| big(&i.to_string(), 100)).collect();
    let (mut log, offsets) = write_with(recyclable(9), &recs);
    log[offsets[3] as usize + RHDR + 5] ^= 0x40;
    let tt = read(&log, TolerateTail);
    assert_eq!(tt.payloads(), recs[..3].to_vec());
    let err = tt.error.unwrap();
    assert_eq!(err.damage().unwrap().position, Position::Interior);
    let skip = read_resync(&log, SkipCorrupt, Resync::Scan);
    let mut want = recs.clone();
    want.remove(3);
    assert_eq!(skip.payloads(), want);
}

#[test]
fn events_stay_in_file_order_around_an_ignorable_record() {
    // An ignorable record between a FIRST and the FULL that interrupts it:
    // the missing-last damage (lower offset) comes first; the ignorable
    // record inside the undecided span is skipped silently.
    let (mut log, offsets) = write_log(&[b"foo".to_vec(), b"meta".to_vec(), b"bar".to_vec()]);
    log[6] = RecordType::First.to_byte();
    fix_checksum(&mut log, 0);
    let at = offsets[1] as usize;
    log[at + 6] = 0x80 | 7;
    fix_checksum(&mut log, at);
    let run = read(&log, SkipCorrupt);
    assert_eq!(run.payloads(), vec![b"bar".to_vec()]);
    assert_eq!(run.dropped.len(), 1);
    assert_eq!(run.dropped[0].reason, Reason::MissingLast);
    assert!(run.benign.is_empty());
    // Every event in file order.
    let mut r = ReaderOptions::new().mode(SkipCorrupt).build(&log[..]);
    let mut last = 0;
    while let Some(ev) = r.next_event().unwrap() {
        let start = match ev {
            blocklog::Event::Record(r) => r.offset,
            blocklog::Event::Dropped(d) => d.range.start,
            blocklog::Event::Benign(b) => b.range.start,
            _ => continue,
        };
        assert!(start >= last);
        last = start;
    }
}
