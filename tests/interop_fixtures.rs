//! Reading the real engines' logs (tests/interop/fixtures, written by
//! LevelDB 1.23 and RocksDB 7.8.3 through tests/interop/gen): every mode and
//! both resyncs return exactly the WriteBatches the engine wrote, metadata
//! records are consumed, a reused file's stale part is previous use, and a
//! ZSTD-compressed log reads with the `zstd` feature (or fails naming it).
//!
//! No engine is needed: the expectations were recorded from what the
//! generator wrote, not by parsing the files.

use blocklog::format::{encode_header, RecordType};
use blocklog::{BenignKind, Error, ReaderOptions, RecoveryMode, WriterOptions};
use blocklog_testkit::interop::*;
use blocklog_testkit::oracle::record_layout;
use blocklog_testkit::read::*;

fn fixture(name: &str) -> Expected {
    all_expected()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn bytes(e: &Expected) -> Vec<u8> {
    let b = std::fs::read(&e.log_path).unwrap();
    assert_eq!(b.len() as u64, e.file_size, "{}: file size", e.name);
    b
}

/// Checks a whole read against the expectation: the records are the
/// batches, in order, with their offsets where known.
fn check_records(e: &Expected, run: &Run, what: &str) {
    assert!(run.error.is_none(), "{} {what}: {:?}", e.name, run.error);
    assert_eq!(
        run.records.len(),
        e.batches.len(),
        "{} {what}: record count (dropped {:?})",
        e.name,
        run.dropped
    );
    for (i, ((offset, rep), exp)) in run.records.iter().zip(&e.batches).enumerate() {
        if let Some(o) = exp.offset {
            assert_eq!(*offset, o, "{} {what}: offset of batch #{i}", e.name);
        }
        if let Err(m) = check_batch(rep, exp) {
            panic!("{} {what}: batch #{i} (seq {}): {m}", e.name, exp.seq);
        }
    }
}

fn uncompressed() -> Vec<Expected> {
    all_expected()
        .into_iter()
        .filter(|e| e.compression == "none")
        .collect()
}

#[test]
fn the_fixture_set_is_complete() {
    let names: Vec<String> = all_expected().into_iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "leveldb/000004.log",
            "rocksdb-default/000008.log",
            "rocksdb-recycle-zstd/000004.log",
            "rocksdb-recycle/000008.log",
            "rocksdb-recycle/000010.log",
            "rocksdb-zstd/000008.log",
        ]
    );
    let total: u64 = all_expected().iter().map(|e| e.file_size).sum();
    assert!(total < 4 << 20, "fixtures grew to {total} bytes");
}

#[test]
fn expectations_agree_with_the_block_layout() {
    // The recorded offsets and fragment counts follow from the record
    // lengths alone: each record starts where the previous one ended
    // (after any block trailer).
    for e in uncompressed() {
        let header = if e.recyclable { 11 } else { 7 };
        let mut at = 0usize;
        for (i, b) in e.batches.iter().enumerate() {
            if 32768 - at % 32768 < header {
                at += 32768 - at % 32768;
            }
            assert_eq!(b.offset, Some(at as u64), "{} #{i}", e.name);
            let layout = record_layout(at as u64, b.rep_len, header);
            assert_eq!(b.nfrags, Some(layout.fragments), "{} #{i}", e.name);
            at = layout.end as usize;
        }
    }
}

#[test]
fn every_mode_and_resync_returns_the_engines_batches() {
    for e in uncompressed() {
        let log = bytes(&e);
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let what = format!("{mode}/{}", resync.as_str());
                let run = read(&log, opts(mode, resync));
                check_records(&e, &run, &what);
                let live_end = e.batches.last().map_or(0, |b| {
                    b.offset.unwrap() + (b.rep_len + b.nfrags.unwrap() * 11) as u64
                });
                if e.name == "rocksdb-recycle/000010.log" {
                    continue; // its stale part: checked below
                }
                assert!(
                    run.dropped.is_empty(),
                    "{} {what}: {:?}",
                    e.name,
                    run.dropped
                );
                // Nothing but a block trailer may follow the last record.
                for b in &run.benign {
                    assert!(
                        b.range.start <= live_end && b.range.end == e.file_size,
                        "{} {what}: {b:?}",
                        e.name
                    );
                }
            }
        }
    }
}

#[test]
fn reused_file_stale_part_is_previous_use_never_records_or_damage() {
    let e = fixture("rocksdb-recycle/000010.log");
    assert!(e.recyclable);
    let log = bytes(&e);
    // Where the live part ends (recorded by the generator).
    let live: u64 = std::fs::read_to_string(fixtures_dir().join("rocksdb-recycle/lognumbers.txt"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("log 000010.log"))
        .and_then(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|&x| x == "live_bytes")?;
            w.get(i + 1)?.parse().ok()
        })
        .expect("lognumbers.txt gives live_bytes");
    assert_eq!(live, 137_137);
    for given in [None, Some(e.log_number)] {
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let mut o = opts(mode, resync);
                if let Some(n) = given {
                    o = o.log_number(n);
                }
                let what = format!("{mode}/{} log_number {given:?}", resync.as_str());
                let run = read(&log, o);
                check_records(&e, &run, &what);
                assert!(run.dropped.is_empty(), "{what}: {:?}", run.dropped);
                assert_eq!(run.benign.len(), 1, "{what}: {:?}", run.benign);
                let b = &run.benign[0];
                assert_eq!(b.kind, BenignKind::PreviousUse, "{what}");
                assert_eq!(b.range, live..e.file_size, "{what}");
                // Every returned record lies in the live part.
                assert!(run.records.iter().all(|(o, _)| *o < live), "{what}");
            }
        }
    }
    // Read as log 4 (the previous use), the file holds none of that log's
    // records at its start: the live records of log 10 are another use.
    let run = read(&log, ReaderOptions::new().log_number(4));
    assert!(run.records.iter().all(|(_, r)| seq_of(r) < 270));
}

#[test]
fn recyclable_fixture_declared_or_learned_gives_the_same_records() {
    let e = fixture("rocksdb-recycle/000008.log");
    let log = bytes(&e);
    for mode in RecoveryMode::ALL {
        let run = read(
            &log,
            opts(mode, blocklog::Resync::Block).log_number(e.log_number),
        );
        check_records(&e, &run, &format!("{mode} log_number {}", e.log_number));
        assert!(run.dropped.is_empty());
        // Declared as another log number, nothing of it is current.
        let run = read(
            &log,
            opts(mode, blocklog::Resync::Block).log_number(e.log_number + 1),
        );
        assert!(
            run.records.is_empty(),
            "{mode}: {} records",
            run.records.len()
        );
        assert!(run.dropped.is_empty(), "{mode}: {:?}", run.dropped);
    }
}

#[test]
fn initial_offset_starts_at_the_engines_record_boundaries() {
    for e in uncompressed() {
        let log = bytes(&e);
        for i in [1, e.batches.len() / 2, e.batches.len() - 1] {
            let at = e.batches[i].offset.unwrap();
            let run = read(&log, ReaderOptions::new().initial_offset(at));
            assert!(run.error.is_none(), "{}: {:?}", e.name, run.error);
            let seqs: Vec<u64> = run.records.iter().map(|(_, r)| seq_of(r)).collect();
            let want: Vec<u64> = e.batches[i..].iter().map(|b| b.seq).collect();
            assert_eq!(seqs, want, "{} from #{i}", e.name);
        }
    }
}

/// Metadata records of every kind RocksDB defines (types 10/11 and 130/131
/// are not produced by 7.8.3, so they are placed around the engine's own
/// batches): consumed, never returned, and the batches come back intact.
#[test]
fn metadata_records_around_engine_batches_are_consumed() {
    let e = fixture("rocksdb-default/000008.log");
    let reps: Vec<Vec<u8>> = read(&bytes(&e), ReaderOptions::new())
        .records
        .into_iter()
        .map(|(_, r)| r)
        .take(30)
        .collect();
    for recyclable in [false, true] {
        let n = 77u32;
        let meta: &[(RecordType, &[u8])] = if recyclable {
            &[
                (RecordType::SetCompression, &[0, 0, 0, 0]),
                (RecordType::RecyclablePredecessorWalInfo, &[9; 20]),
                (RecordType::RecyclableTimestampSize, &[0, 0, 0, 0, 8, 0]),
            ]
        } else {
            &[
                (RecordType::SetCompression, &[0, 0, 0, 0]),
                (RecordType::PredecessorWalInfo, &[9; 20]),
                (RecordType::TimestampSize, &[0, 0, 0, 0, 8, 0]),
            ]
        };
        let mut log = Vec::new();
        let put_meta = |log: &mut Vec<u8>, t: RecordType, body: &[u8]| {
            assert!(32768 - log.len() % 32768 >= 11 + body.len());
            let mut h = [0u8; 11];
            let len = encode_header(&mut h, t, t.is_recyclable().then_some(n), body);
            log.extend_from_slice(&h[..len]);
            log.extend_from_slice(body);
        };
        for (t, body) in meta {
            put_meta(&mut log, *t, body);
        }
        let mut wopts = WriterOptions::new();
        if recyclable {
            wopts = wopts.recyclable(n);
        }
        let len = log.len() as u64;
        let mut w = wopts.clone().append_at(len).build(&mut log);
        for r in &reps[..10] {
            w.add_record(r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        // Timestamp sizes between batches, as RocksDB writes them when a
        // column family's timestamp size changes.
        let (t, body) = meta[2];
        put_meta(&mut log, t, body);
        let len = log.len() as u64;
        let mut w = wopts.append_at(len).build(&mut log);
        for r in &reps[10..] {
            w.add_record(r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let run = read(&log, opts(mode, resync));
                assert!(
                    run.error.is_none() && run.dropped.is_empty(),
                    "{mode}: {run:?}"
                );
                let got: Vec<&Vec<u8>> = run.records.iter().map(|(_, r)| r).collect();
                assert_eq!(
                    got,
                    reps.iter().collect::<Vec<_>>(),
                    "{mode} recyclable {recyclable}"
                );
                let kinds: Vec<BenignKind> = run.benign.iter().map(|b| b.kind).collect();
                let types: Vec<u8> = meta.iter().map(|(t, _)| t.to_byte()).collect();
                assert_eq!(
                    kinds,
                    [types[0], types[1], types[2], types[2]].map(BenignKind::Metadata),
                    "{mode} recyclable {recyclable}"
                );
            }
        }
    }
}

#[test]
fn compression_types_other_than_zstd_are_refused_by_name() {
    for (t, name) in [(1u8, "snappy"), (4, "lz4"), (42, "unknown")] {
        let mut log = vec![0u8; 11];
        let len = encode_header(&mut log, RecordType::SetCompression, None, &[t, 0, 0, 0]);
        log.truncate(len);
        log.extend_from_slice(&[t, 0, 0, 0]);
        let mut w = WriterOptions::new()
            .append_at(log.len() as u64)
            .build(&mut log);
        w.add_record(b"after").unwrap();
        w.flush().unwrap();
        drop(w);
        for mode in RecoveryMode::ALL {
            let run = read(&log, opts(mode, blocklog::Resync::Block));
            assert!(run.records.is_empty());
            match run.error {
                Some(ref err @ Error::UnsupportedCompression { compression, .. }) => {
                    assert_eq!(compression, t);
                    let msg = err.to_string();
                    assert!(msg.contains(&format!("type {t} ({name})")), "{msg}");
                    assert!(msg.contains("cannot read"), "{msg}");
                }
                ref other => panic!("type {t} {mode}: {other:?}"),
            }
        }
    }
}

// ------------------------------------------------------------ zstd

fn compressed() -> Vec<Expected> {
    let v: Vec<Expected> = all_expected()
        .into_iter()
        .filter(|e| e.compression == "zstd")
        .collect();
    assert_eq!(v.len(), 2);
    v
}

#[cfg(not(feature = "zstd"))]
#[test]
fn zstd_logs_need_the_zstd_feature() {
    for e in compressed() {
        let log = bytes(&e);
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let run = read(&log, opts(mode, resync));
                assert!(
                    run.records.is_empty(),
                    "{}: a compressed record was returned",
                    e.name
                );
                match run.error {
                    Some(
                        ref err @ Error::UnsupportedCompression {
                            offset: 0,
                            compression: 7,
                            feature: "zstd",
                        },
                    ) => {
                        let msg = err.to_string();
                        assert!(msg.contains("feature `zstd`"), "{msg}");
                    }
                    ref other => panic!("{} {mode}: {other:?}", e.name),
                }
            }
        }
        // Also when the read starts past the compression record.
        let run = read(&log, ReaderOptions::new().initial_offset(40_000));
        assert!(run.records.is_empty());
        assert!(matches!(
            run.error,
            Some(Error::UnsupportedCompression { .. })
        ));
    }
}

#[cfg(feature = "zstd")]
mod zstd_feature {
    use super::*;
    use blocklog::Reason;

    #[test]
    fn zstd_logs_decode_to_the_engines_batches() {
        for e in compressed() {
            let log = bytes(&e);
            for mode in RecoveryMode::ALL {
                for resync in RESYNCS {
                    let what = format!("{mode}/{}", resync.as_str());
                    let run = read(&log, opts(mode, resync));
                    check_records(&e, &run, &what);
                    assert!(
                        run.dropped.is_empty(),
                        "{} {what}: {:?}",
                        e.name,
                        run.dropped
                    );
                    assert_eq!(run.benign[0].kind, BenignKind::Metadata(9), "{}", e.name);
                    assert_eq!(run.benign[0].range, 0..11, "{}", e.name);
                }
            }
            if e.recyclable {
                // Declared up front: the compression record has a legacy
                // header, and is still this log's metadata, not a previous use.
                let run = read(&log, ReaderOptions::new().log_number(e.log_number));
                check_records(&e, &run, "log number given");
                assert!(run.dropped.is_empty(), "{:?}", run.dropped);
            }
        }
    }

    #[test]
    fn zstd_initial_offset_past_the_compression_record() {
        for e in compressed() {
            let log = bytes(&e);
            let all = read(&log, ReaderOptions::new());
            // A record in the first block (the compression record is
            // skipped as before the start) and one in a later block (its
            // block is not even read).
            for min in [1u64, 32_768] {
                let Some(i) = all.records.iter().position(|(o, _)| *o >= min) else {
                    continue;
                };
                let run = read(&log, ReaderOptions::new().initial_offset(all.records[i].0));
                assert!(run.error.is_none(), "{}: {:?}", e.name, run.error);
                assert_eq!(
                    run.records,
                    all.records[i..].to_vec(),
                    "{} from {min}",
                    e.name
                );
            }
        }
    }

    /// A record whose checksums match but whose compressed bytes are not a
    /// zstd frame is damage (`decompression-failed`), handled by position.
    #[test]
    fn undecodable_compressed_record_is_damage() {
        let e = fixture("rocksdb-zstd/000008.log");
        let log = bytes(&e);
        let all = read(&log, ReaderOptions::new());
        // Rewrite the log with our writer: the same compressed records, one
        // replaced by bytes that are not zstd, with valid checksums.
        let raw = raw_records(&log);
        assert_eq!(raw.len(), e.batches.len());
        for victim in [5, raw.len() - 1] {
            let mut out = log[..11].to_vec(); // the compression record
            let mut w = WriterOptions::new().append_at(11).build(&mut out);
            for (i, r) in raw.iter().enumerate() {
                if i == victim {
                    w.add_record(b"not a zstd frame at all").unwrap();
                } else {
                    w.add_record(r).unwrap();
                }
            }
            w.flush().unwrap();
            drop(w);
            let tail = victim == raw.len() - 1;
            for mode in RecoveryMode::ALL {
                let run = read(&out, opts(mode, blocklog::Resync::Block));
                let want_ok = match mode {
                    RecoveryMode::SkipCorrupt => true,
                    RecoveryMode::TolerateTail => tail,
                    RecoveryMode::PointInTime => true,
                    RecoveryMode::Absolute => false,
                };
                assert_eq!(
                    run.error.is_none(),
                    want_ok,
                    "{mode} victim {victim}: {run:?}"
                );
                // Skip-corrupt drops the record alone; every other mode
                // returns the records before it (then stops or fails).
                let want: Vec<Vec<u8>> = all
                    .records
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        *i < victim || (*i > victim && mode == RecoveryMode::SkipCorrupt)
                    })
                    .map(|(_, (_, r))| r.clone())
                    .collect();
                let got: Vec<Vec<u8>> = run.records.iter().map(|(_, r)| r.clone()).collect();
                assert_eq!(got, want, "{mode} victim {victim}");
                let damage = run
                    .dropped
                    .first()
                    .cloned()
                    .or_else(|| run.error.as_ref().and_then(|e| e.damage().cloned()))
                    .expect("the damage is reported");
                assert_eq!(damage.reason, Reason::DecompressionFailed, "{mode}");
                assert_eq!(damage.range.start, all.records[victim].0, "{mode}");
            }
        }
    }

    /// The compressed payloads of a log's records, read as an uncompressed
    /// log (the compression record removed).
    fn raw_records(log: &[u8]) -> Vec<Vec<u8>> {
        let mut plain = vec![0u8; 11];
        // Keep the layout: replace the compression record by one that says
        // "no compression" (same size, valid checksum).
        encode_header(&mut plain, RecordType::SetCompression, None, &[0, 0, 0, 0]);
        plain.truncate(7);
        plain.extend_from_slice(&[0, 0, 0, 0]);
        plain.extend_from_slice(&log[11..]);
        let run = read(&plain, ReaderOptions::new());
        assert!(run.error.is_none() && run.dropped.is_empty());
        run.records.into_iter().map(|(_, r)| r).collect()
    }

    /// A record that decompresses to more than `max_record_size` is a
    /// limit (R13): the read fails with `RecordTooLarge` at the first such
    /// record, after every record before it, in every mode.
    #[test]
    fn decompressed_size_is_bounded_by_max_record_size() {
        let e = fixture("rocksdb-zstd/000008.log");
        let log = bytes(&e);
        let biggest = e.batches.iter().map(|b| b.rep_len).max().unwrap();
        let limit = biggest - 1;
        let first_big = e.batches.iter().position(|b| b.rep_len > limit).unwrap();
        for mode in RecoveryMode::ALL {
            let run = read(&log, ReaderOptions::new().mode(mode).max_record_size(limit));
            assert_eq!(run.records.len(), first_big, "{mode}");
            assert!(run.records.iter().all(|(_, r)| r.len() <= limit));
            assert!(run.dropped.is_empty(), "{mode}: a limit is not damage");
            match run.error {
                Some(blocklog::Error::RecordTooLarge { offset, limit: l }) => {
                    assert_eq!(l, limit);
                    let last = run.records.last().map_or(0, |(o, _)| *o);
                    assert!(
                        offset > last,
                        "{mode}: the limit is met after the records returned"
                    );
                }
                ref other => panic!("{mode}: expected the limit, got {other:?}"),
            }
        }
    }

    /// Our writer's records compressed by the test, framed like RocksDB's
    /// (compression record, then one zstd frame per record), read back.
    #[test]
    fn records_spanning_blocks_in_a_compressed_log() {
        let mut log = vec![0u8; 11];
        encode_header(&mut log, RecordType::SetCompression, None, &[7, 0, 0, 0]);
        log.truncate(7);
        log.extend_from_slice(&[7, 0, 0, 0]);
        let payloads: Vec<Vec<u8>> = (0..20u64)
            .map(|i| {
                // Poorly compressible, so that frames span blocks.
                let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                (0..(i as usize * 7919))
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect()
            })
            .collect();
        let mut w = WriterOptions::new().append_at(11).build(&mut log);
        for p in &payloads {
            w.add_record(&zstd::stream::encode_all(&p[..], 1).unwrap())
                .unwrap();
        }
        w.flush().unwrap();
        drop(w);
        assert!(log.len() > 3 * 32768);
        let run = read(&log, ReaderOptions::new());
        assert!(run.error.is_none() && run.dropped.is_empty(), "{run:?}");
        let got: Vec<Vec<u8>> = run.records.into_iter().map(|(_, r)| r).collect();
        assert_eq!(got, payloads);
    }
}

/// Regression: a damaged header whose length runs past the end of the file
/// was taken for a torn tail without looking further, so intact records
/// after it in the same (last) block were lost silently. In a recyclable
/// log the region even became "previous use", and absolute consistency
/// returned fewer records without an error. Garbage claiming 1000 bytes is
/// inserted before the engine's last records.
#[test]
fn damage_claiming_past_the_end_does_not_hide_later_records() {
    for name in ["rocksdb-recycle/000008.log", "rocksdb-default/000008.log"] {
        let e = fixture(name);
        let log = bytes(&e);
        let last = e.batches.last().unwrap();
        // Insert before the last record (it lies in the file's last block).
        let at = last.offset.unwrap() as usize;
        let header = if e.recyclable { 11 } else { 7 };
        assert!(
            at % 32768 + 200 + header + last.rep_len < 32768,
            "{name}: room in the block"
        );
        let mut garbage = vec![0xa5u8; 200];
        garbage[4..6].copy_from_slice(&1000u16.to_le_bytes());
        garbage[6] = 1; // a legacy FULL header: checksum unchecked, length past the end
        let mut damaged = log[..at].to_vec();
        damaged.extend_from_slice(&garbage);
        damaged.extend_from_slice(&log[at..]);
        assert!(
            at + 7 + 1000 > damaged.len(),
            "{name}: the length runs past the end"
        );
        for mode in RecoveryMode::ALL {
            for resync in RESYNCS {
                let run = read(&damaged, opts(mode, resync));
                let what = format!("{name} {mode}/{}", resync.as_str());
                let seqs: Vec<u64> = run.records.iter().map(|(_, r)| seq_of(r)).collect();
                let all: Vec<u64> = e.batches.iter().map(|b| b.seq).collect();
                let before = &all[..all.len() - 1];
                // Interior damage: refused, stopped before it, or skipped.
                match mode {
                    RecoveryMode::TolerateTail | RecoveryMode::Absolute => {
                        assert!(run.error.is_some(), "{what}: {seqs:?}");
                        assert_eq!(seqs, before, "{what}");
                    }
                    RecoveryMode::PointInTime => {
                        assert!(run.error.is_none(), "{what}");
                        assert_eq!(seqs, before, "{what}");
                        assert_eq!(run.dropped.len(), 1, "{what}");
                        assert_eq!(run.dropped[0].position, blocklog::Position::Interior);
                    }
                    RecoveryMode::SkipCorrupt => {
                        assert!(run.error.is_none(), "{what}");
                        assert_eq!(run.dropped.len(), 1, "{what}");
                        assert_eq!(run.dropped[0].position, blocklog::Position::Interior);
                        // Scan resync finds the last record; block resync
                        // drops the rest of the block, as the engines do.
                        let want = if resync == blocklog::Resync::Scan {
                            &all[..]
                        } else {
                            before
                        };
                        assert_eq!(seqs, want, "{what}");
                    }
                }
            }
        }
    }
}
