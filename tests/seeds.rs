//! The failures described in `../shared/seeds/` (analyses of an older
//! teaching codebase's logs), each as a test that blocklog must pass.
//! Payloads here are WriteBatch-shaped: an 8-byte sequence number and a
//! 4-byte count in front of the operations, as LevelDB and RocksDB write them.

use blocklog::{Event, Position, ReaderOptions, Reason, RecoveryMode, Resync};
use blocklog_testkit::logs::*;
use blocklog_testkit::read::*;

fn batch(seq: u64, ops: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = seq.to_le_bytes().to_vec();
    b.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for (k, v) in ops {
        b.push(1);
        b.push(k.len() as u8);
        b.extend_from_slice(k);
        b.extend_from_slice(&(v.len() as u32).to_le_bytes());
        b.extend_from_slice(v);
    }
    b
}

fn seq_of(payload: &[u8]) -> u64 {
    u64::from_le_bytes(payload[..8].try_into().unwrap())
}

fn batches(range: std::ops::RangeInclusive<u64>, value_len: usize) -> Vec<Vec<u8>> {
    range
        .map(|s| batch(s, &[(format!("k{s}").as_bytes(), &noise(s, value_len))]))
        .collect()
}

/// Seed: "the log stops at the first bad checksum and silently drops the
/// valid records after mid-file corruption". Here no mode is silent: the
/// records after the damage are returned (skip-corrupt), counted
/// (point-in-time), or the read fails loudly (tolerate-tail, absolute).
#[test]
fn mid_file_corruption_never_silently_drops_later_records() {
    let recs = batches(51..=100, 600); // ~2 blocks
    let (mut log, off) = write_log(&recs);
    let victim = (75 - 51) as usize;
    log[off[victim] as usize + HDR + 20] ^= 0x01;

    let skip = read_resync(&log, RecoveryMode::SkipCorrupt, Resync::Scan);
    let seqs: Vec<u64> = skip.payloads().iter().map(|p| seq_of(p)).collect();
    assert_eq!(seqs, (51..=100).filter(|&s| s != 75).collect::<Vec<_>>());
    assert_eq!(skip.dropped.len(), 1);
    assert_eq!(skip.dropped[0].position, Position::Interior);

    // (Counted as scan resync would read them; block resync would also lose
    // the rest of the damaged block, and counts accordingly.)
    let pit = read_resync(&log, RecoveryMode::PointInTime, Resync::Scan);
    assert_eq!(pit.records.len(), victim);
    assert_eq!(
        pit.summary.unread_records, 25,
        "the loss is counted, not hidden"
    );

    for mode in [RecoveryMode::TolerateTail, RecoveryMode::Absolute] {
        let run = read(&log, mode);
        assert_eq!(run.records.len(), victim);
        assert!(run.error.is_some(), "{mode} must refuse interior damage");
    }
}

/// Seed: "sequence gaps are never reported". Within one file, the dropped
/// region is reported in file order, exactly between the records around the
/// gap, so a consumer can see which sequence numbers are missing and why.
#[test]
fn a_gap_is_reported_where_it_is() {
    let recs = batches(1..=200, 400);
    let (mut log, off) = write_log(&recs);
    // Wipe a whole block in the middle.
    log[BLOCK..2 * BLOCK].fill(0);
    let mut r = ReaderOptions::new()
        .mode(RecoveryMode::SkipCorrupt)
        .build(&log[..]);
    let mut last_seq = 0;
    let mut gaps = vec![];
    while let Some(ev) = r.next_event().unwrap() {
        match ev {
            Event::Record(rec) => {
                let s = seq_of(&rec.payload);
                assert!(s > last_seq);
                last_seq = s;
            }
            Event::Dropped(d) => gaps.push((last_seq, d)),
            _ => {}
        }
    }
    assert_eq!(gaps.len(), 1);
    let (before, d) = &gaps[0];
    assert_eq!(d.reason, Reason::ZeroHeader);
    assert_eq!(d.position, Position::Interior);
    // The region starts where the first lost record starts.
    let first_lost = recs.iter().position(|p| seq_of(p) == before + 1).unwrap();
    assert_eq!(d.range.start, off[first_lost]);
    assert_eq!(r.summary().outcome().as_str(), "skipped");
}

/// Seed: "`seq_num` lies outside the CRC". Every byte of a record's payload,
/// sequence number included, is covered by its checksum: flipping any bit
/// of the sequence number is detected.
#[test]
fn every_bit_of_the_sequence_number_is_checksummed() {
    let recs = batches(1000..=1002, 50);
    let (log, off) = write_log(&recs);
    for byte in 0..8 {
        for bit in 0..8 {
            let mut bad = log.clone();
            bad[off[1] as usize + HDR + byte] ^= 1 << bit;
            let run = read_resync(&bad, RecoveryMode::SkipCorrupt, Resync::Scan);
            let seqs: Vec<u64> = run.payloads().iter().map(|p| seq_of(p)).collect();
            assert_eq!(seqs, vec![1000, 1002], "byte {byte} bit {bit}");
            assert_eq!(run.dropped[0].reason, Reason::ChecksumMismatch);
        }
    }
}

/// Seed: "half-written batches are replayed". A batch is one record; a
/// record torn anywhere (between fragments or inside one) is never returned,
/// in any mode, whichever resync.
#[test]
fn a_half_written_batch_is_never_returned() {
    let mut recs = batches(1..=3, 100);
    let big_batch = batch(4, &[(b"a", &noise(4, 40_000)), (b"b", &noise(5, 50_000))]);
    recs.push(big_batch);
    let (log, off) = write_log(&recs);
    let start = off[3] as usize;
    for cut in (start + 1..log.len())
        .step_by(997)
        .chain([BLOCK, 2 * BLOCK, log.len() - 1])
    {
        for mode in RecoveryMode::ALL {
            for resync in [Resync::Block, Resync::Scan] {
                let run = read_resync(&log[..cut], mode, resync);
                assert!(
                    run.records.len() <= 3,
                    "cut {cut} {mode} {resync:?}: torn batch returned"
                );
                if mode != RecoveryMode::Absolute {
                    assert_eq!(run.records.len(), 3, "cut {cut} {mode}: whole batches kept");
                    assert_eq!(run.dropped.len(), 1);
                    assert_eq!(run.dropped[0].position, Position::Tail);
                } else {
                    assert!(run.error.is_some());
                }
            }
        }
    }
}

/// Seed: "a torn tail and mid-file bit rot are treated the same". They are
/// not: the same checksum failure is tail damage when nothing valid follows
/// and interior damage when something does.
#[test]
fn torn_tail_and_bit_rot_are_told_apart() {
    let recs = batches(1..=20, 100);
    let (log, off) = write_log(&recs);
    let mut torn = log.clone();
    torn[off[19] as usize + HDR + 5] ^= 0x10;
    let mut rotten = log.clone();
    rotten[off[10] as usize + HDR + 5] ^= 0x10;
    let t = read(&torn, RecoveryMode::TolerateTail);
    assert!(t.error.is_none());
    assert_eq!(t.dropped[0].position, Position::Tail);
    let r = read(&rotten, RecoveryMode::TolerateTail);
    assert_eq!(
        r.error.unwrap().damage().unwrap().position,
        Position::Interior
    );
}
