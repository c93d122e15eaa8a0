//! Differential recovery against the real engines.
//!
//! The generator (tests/interop/gen) damaged the engines' own logs with the
//! recipes in `fixtures/*-outcomes.json` and recorded what RocksDB 7.8.3
//! recovered under each `wal_recovery_mode` (and LevelDB 1.23 with
//! `paranoid_checks` off and on). Here the same recipes are applied to the
//! pristine fixtures and our reader runs in the matching mode. Every
//! difference must be one of the deliberate ones in [`KNOWN`], each of
//! which `docs/recovery.md` lists with its reason: a new difference, or a
//! listed one that went away, fails the test.
//!
//! Run with `--nocapture` to see the full table.

use std::collections::BTreeSet;

use blocklog::{ReaderOptions, RecoveryMode, Resync};
use blocklog_testkit::interop::*;
use blocklog_testkit::read::*;
use serde_json::Value;

/// What a recovery ended with, in the tables' notation: `#0-#48,#69-#97`
/// (batch positions recovered), `fails`, or `hangs`.
fn describe(seqs: Option<&[u64]>, batch_seqs: &[u64]) -> String {
    let Some(seqs) = seqs else {
        return "fails".into();
    };
    let pos: Vec<usize> = seqs
        .iter()
        .map(|s| {
            batch_seqs
                .iter()
                .position(|b| b == s)
                .unwrap_or_else(|| panic!("seq {s} is not a batch of the log"))
        })
        .collect();
    if pos.is_empty() {
        return "nothing".into();
    }
    let mut parts = vec![];
    let mut i = 0;
    while i < pos.len() {
        let mut j = i;
        while j + 1 < pos.len() && pos[j + 1] == pos[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            format!("#{}", pos[i])
        } else {
            format!("#{}-#{}", pos[i], pos[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// The engine's outcome for one (damage, mode).
fn engine(o: &Value, batch_seqs: &[u64]) -> String {
    if o["open_ok"].as_bool().unwrap() {
        let seqs: Vec<u64> = o["recovered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert!(
            o["partial"].as_array().is_none_or(|p| p.is_empty()),
            "a batch was partly applied: {o}"
        );
        describe(Some(&seqs), batch_seqs)
    } else if o["status"].as_str().unwrap().starts_with("TIMEOUT") {
        "hangs".into()
    } else {
        "fails".into()
    }
}

/// Ours: the batches returned, unless the mode refused the log. Our
/// records are checked to be the log's batches, intact and in order.
fn ours(log: &[u8], opts: ReaderOptions, batch_seqs: &[u64]) -> String {
    let run = read(log, opts);
    let seqs: Vec<u64> = run.records.iter().map(|(_, r)| seq_of(r)).collect();
    for (_, r) in &run.records {
        decode_batch(r).unwrap_or_else(|e| panic!("a returned record is not a batch: {e}"));
    }
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, seqs, "records out of order or repeated");
    if run.error.is_some() {
        "fails".into()
    } else {
        describe(Some(&seqs), batch_seqs)
    }
}

fn mode_for(engine_mode: &str) -> RecoveryMode {
    match engine_mode {
        "kTolerateCorruptedTailRecords" => RecoveryMode::TolerateTail,
        "kAbsoluteConsistency" => RecoveryMode::Absolute,
        "kPointInTimeRecovery" => RecoveryMode::PointInTime,
        "kSkipAnyCorruptedRecords" => RecoveryMode::SkipCorrupt,
        // LevelDB: lenient recovery skips corruption and goes on; paranoid
        // checks refuse corruption but tolerate a torn tail.
        "paranoid_checks=false" => RecoveryMode::SkipCorrupt,
        "paranoid_checks=true" => RecoveryMode::TolerateTail,
        other => panic!("unknown mode {other}"),
    }
}

/// A deliberate difference: (fixture, damage, engine mode) → the engine's
/// outcome and ours, and why. docs/recovery.md ("Measured against the
/// engines") must have the same row.
struct Known {
    fixture: &'static str,
    damage: &'static str,
    mode: &'static str,
    engine: &'static str,
    ours: &'static str,
    /// The reason, in short; the docs' bullets above the table explain it.
    #[allow(dead_code)]
    why: &'static str,
}

const DEFAULT: &str = "rocksdb-default/000008.log";
const LEVELDB: &str = "leveldb/000004.log";
const REUSED: &str = "rocksdb-recycle/000010.log";
const ZSTD: &str = "rocksdb-zstd/000008.log";

const fn known(
    fixture: &'static str,
    damage: &'static str,
    mode: &'static str,
    engine: &'static str,
    ours: &'static str,
    why: &'static str,
) -> Known {
    Known {
        fixture,
        damage,
        mode,
        engine,
        ours,
        why,
    }
}

const KNOWN: &[Known] = &[
    known(
        DEFAULT,
        "bitflip-last-payload",
        "kTolerateCorruptedTailRecords",
        "fails",
        "#0-#96",
        "a bad checksum with nothing valid after it is a torn write: tail dropped",
    ),
    known(
        LEVELDB,
        "bitflip-last-payload",
        "paranoid_checks=true",
        "fails",
        "#0-#96",
        "the same",
    ),
    known(
        DEFAULT,
        "zero-block-small-records",
        "kSkipAnyCorruptedRecords",
        "fails",
        "#0-#46,#69-#97",
        "RocksDB 7.8.3 defect (\"Write batch content corrupted\"); LevelDB agrees with us",
    ),
    known(
        REUSED,
        "none",
        "kAbsoluteConsistency",
        "fails",
        "#0-#27",
        "a reused file's stale tail is previous use (R7), not damage",
    ),
    known(
        REUSED,
        "stale-tail-block-rest",
        "kAbsoluteConsistency",
        "fails",
        "#0-#27",
        "the same",
    ),
    known(
        REUSED,
        "none",
        "kSkipAnyCorruptedRecords",
        "hangs",
        "#0-#27",
        "RocksDB 7.8.3 loops forever on a header of another log number",
    ),
    known(
        REUSED,
        "bitflip-mid-payload",
        "kTolerateCorruptedTailRecords",
        "#0-#8",
        "fails",
        "RocksDB ends a recyclable log at a bad checksum; intact batches follow: interior (R4)",
    ),
    known(
        REUSED,
        "bitflip-mid-payload",
        "kSkipAnyCorruptedRecords",
        "hangs",
        "#0-#8,#16-#27",
        "RocksDB 7.8.3 loops",
    ),
    known(
        REUSED,
        "lognum-mismatch-mid",
        "kTolerateCorruptedTailRecords",
        "#0-#8",
        "fails",
        "another log number followed by current records is interior (R11)",
    ),
    known(
        REUSED,
        "lognum-mismatch-mid",
        "kAbsoluteConsistency",
        "#0-#8",
        "fails",
        "the same",
    ),
    known(
        REUSED,
        "lognum-mismatch-mid",
        "kSkipAnyCorruptedRecords",
        "hangs",
        "#0-#8,#16-#27",
        "RocksDB 7.8.3 loops",
    ),
    known(
        ZSTD,
        "bitflip-last-payload",
        "kTolerateCorruptedTailRecords",
        "fails",
        "#0-#41",
        "a bad checksum with nothing valid after it is a torn write: tail dropped",
    ),
    known(
        ZSTD,
        "bitflip-mid-payload",
        "kSkipAnyCorruptedRecords",
        "#0-#13",
        "#0-#13,#35-#42",
        "each record is its own zstd frame: we decode every intact record after the damage",
    ),
    known(
        ZSTD,
        "bitflip-mid-length-high",
        "kSkipAnyCorruptedRecords",
        "#0-#13",
        "#0-#13,#35-#42",
        "the same",
    ),
    known(
        ZSTD,
        "bitflip-first-fragment",
        "kSkipAnyCorruptedRecords",
        "#0-#33",
        "#0-#33,#35-#42",
        "the same",
    ),
    known(
        ZSTD,
        "zero-block",
        "kSkipAnyCorruptedRecords",
        "#0-#33,#37-#42",
        "#0-#33,#36-#42",
        "RocksDB decodes #36 as the continuation of #34's unfinished frame",
    ),
];

/// Every recorded (damage, mode) of one outcome file: the fixture's name,
/// then (damage, mode, engine, ours).
fn rows(file: &str) -> (String, Vec<(String, String, String, String)>) {
    let j = load_json(file);
    let fixture = j["fixture"].as_str().unwrap();
    let pristine = std::fs::read(fixtures_dir().join(fixture)).unwrap();
    let batch_seqs: Vec<u64> = j["batch_seqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let mut out = vec![];
    for o in j["outcomes"].as_array().unwrap() {
        let damage = o["damage"].as_str().unwrap();
        let mode = o["mode"].as_str().unwrap();
        let d = j["damages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == damage)
            .unwrap_or_else(|| panic!("{file}: no recipe for {damage}"));
        let mut log = pristine.clone();
        apply_recipe(&mut log, &d["recipe"]);
        let theirs = engine(o, &batch_seqs);
        let mine = ours(
            &log,
            ReaderOptions::new()
                .mode(mode_for(mode))
                .resync(Resync::Block),
            &batch_seqs,
        );
        out.push((damage.to_string(), mode.to_string(), theirs, mine));
    }
    (fixture.to_string(), out)
}

fn compare(file: &str) {
    let doc = recovery_doc();
    let section = doc
        .split("## Where we deliberately differ from RocksDB")
        .nth(1)
        .expect("docs/recovery.md has the section on deliberate differences");
    let (fixture, rows) = rows(file);
    let mut seen = BTreeSet::new();
    let mut failures = vec![];
    println!("\n{fixture}:\n| damage | mode | engine | ours |\n|---|---|---|---|");
    for (damage, mode, theirs, mine) in rows {
        let known = KNOWN
            .iter()
            .find(|k| k.fixture == fixture && k.damage == damage && k.mode == mode);
        let mark = if theirs == mine { "" } else { " (differs)" };
        println!("| {damage} | {mode} | {theirs} | {mine}{mark} |");
        let Some(k) = known else {
            if theirs != mine {
                failures.push(format!(
                    "{damage} × {mode}: engine {theirs}, ours {mine}: a new difference \
                     (fix the reader, or list it here and in docs/recovery.md)"
                ));
            }
            continue;
        };
        seen.insert((k.damage, k.mode));
        if k.engine != theirs || k.ours != mine {
            failures.push(format!(
                "{damage} × {mode}: listed as engine {} / ours {}, now engine {theirs} / ours {mine}",
                k.engine, k.ours
            ));
        }
        if theirs == mine {
            failures.push(format!(
                "{damage} × {mode}: listed as a difference but agrees"
            ));
        }
        let row = format!("| {fixture} | {damage} | {mode} | {theirs} | {mine} |");
        if !section.contains(&row) {
            failures.push(format!("docs/recovery.md lacks the row {row}"));
        }
    }
    for k in KNOWN.iter().filter(|k| k.fixture == fixture) {
        if !seen.contains(&(k.damage, k.mode)) {
            failures.push(format!(
                "{} × {}: listed but not recorded",
                k.damage, k.mode
            ));
        }
    }
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
}

#[test]
fn rocksdb_default_log() {
    compare("rocksdb-outcomes.json");
}

#[test]
fn rocksdb_reused_recyclable_log() {
    compare("rocksdb-recycle-outcomes.json");
}

#[test]
fn leveldb_log() {
    compare("leveldb-outcomes.json");
}

/// RocksDB's compressed log (needs the `zstd` feature to be read at all).
#[cfg(feature = "zstd")]
#[test]
fn rocksdb_zstd_log() {
    compare("rocksdb-zstd-outcomes.json");
}

/// The bytes a recipe changed (flipped, zeroed from non-zero, appended);
/// a truncation changes none.
fn changed_offsets(pristine: &[u8], damaged: &[u8]) -> Vec<u64> {
    let common = pristine.len().min(damaged.len());
    let mut v: Vec<u64> = (0..common)
        .filter(|&i| pristine[i] != damaged[i])
        .map(|i| i as u64)
        .collect();
    v.extend((common..damaged.len()).map(|i| i as u64));
    v
}

/// Nothing is lost silently: under skip-corrupt (and point-in-time, up to
/// where it stops) every byte a recipe changed lies in a region the reader
/// reported, as dropped damage or as a benign region (zeros, previous use),
/// and every batch the engine wrote is either returned or inside a
/// reported region.
#[test]
fn every_damaged_byte_and_lost_batch_is_reported() {
    let mut files = vec![
        "rocksdb-outcomes.json",
        "rocksdb-recycle-outcomes.json",
        "leveldb-outcomes.json",
    ];
    if cfg!(feature = "zstd") {
        files.push("rocksdb-zstd-outcomes.json");
    }
    for file in files {
        let j = load_json(file);
        let fixture = j["fixture"].as_str().unwrap();
        let pristine = std::fs::read(fixtures_dir().join(fixture)).unwrap();
        let expected = parse_expected(&fixtures_dir().join(format!("{fixture}.expected.txt")));
        // Where each batch starts (compressed logs' expectations give no offsets).
        let offsets: Vec<u64> = read(&pristine, ReaderOptions::new())
            .records
            .iter()
            .map(|(o, _)| *o)
            .collect();
        assert_eq!(offsets.len(), expected.batches.len(), "{fixture}");
        for (b, o) in expected.batches.iter().zip(&offsets) {
            assert!(b.offset.is_none_or(|e| e == *o), "{fixture}");
        }
        for d in j["damages"].as_array().unwrap() {
            let name = d["name"].as_str().unwrap();
            let mut log = pristine.clone();
            apply_recipe(&mut log, &d["recipe"]);
            let run = read(
                &log,
                ReaderOptions::new()
                    .mode(RecoveryMode::SkipCorrupt)
                    .resync(Resync::Block),
            );
            assert!(run.error.is_none(), "{fixture} {name}: {:?}", run.error);
            let reported = |p: u64| {
                run.dropped.iter().any(|x| x.range.contains(&p))
                    || run.benign.iter().any(|x| x.range.contains(&p))
            };
            for p in changed_offsets(&pristine, &log) {
                assert!(
                    reported(p),
                    "{fixture} {name}: byte {p} changed, not reported"
                );
            }
            let returned: BTreeSet<u64> = run.records.iter().map(|(_, r)| seq_of(r)).collect();
            for (b, &off) in expected.batches.iter().zip(&offsets) {
                if off >= log.len() as u64 {
                    continue; // cut off entirely: a shorter log, nothing to report
                }
                assert!(
                    returned.contains(&b.seq) || reported(off),
                    "{fixture} {name}: batch {} at {off} lost silently",
                    b.seq
                );
            }
        }
    }
}
