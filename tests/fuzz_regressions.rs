//! Regression tests for every bug the reliability work found (crash
//! simulation, fault injection, fuzzing), each reduced to its smallest
//! input, plus a replay of the committed fuzz seed corpora and of every
//! saved fuzz crash through the fuzz targets' properties.

use blocklog::{BenignKind, Event, ReaderOptions, RecoveryMode, Writer, WriterOptions};
use blocklog_testkit::read::read;

/// Found by crash simulation: after an error, the next call returned
/// `Ok(None)`, so a caller that retried saw a clean end of log. Errors are
/// now sticky.
#[test]
fn reader_error_is_sticky() {
    let mut w = Writer::new(Vec::new());
    w.add_record(b"one").unwrap();
    w.add_record(b"two").unwrap();
    let mut log = w.into_inner().unwrap();
    log.truncate(log.len() - 1);
    let mut r = ReaderOptions::new()
        .mode(RecoveryMode::Absolute)
        .build(&log[..]);
    assert_eq!(&r.next_record().unwrap().unwrap().payload[..], b"one");
    let first = r.next_record().unwrap_err();
    for _ in 0..3 {
        let again = r.next_record().unwrap_err();
        assert_eq!(again.to_string(), first.to_string());
    }
}

/// Found by crash simulation: a torn write whose lost part reads as zeros
/// over the rest of one block and all of the next was reported as tail
/// damage up to the block boundary (so absolute refused a log cut at a
/// record boundary): the zero region of the second block moved the end of
/// the non-zero bytes.
#[test]
fn zero_tail_spanning_blocks_is_benign() {
    let mut w = Writer::new(Vec::new());
    let mut n = 0;
    while w.offset() < 40_000 {
        w.add_record(&[n as u8 + 1; 1000]).unwrap();
        n += 1;
    }
    let mut log = w.into_inner().unwrap();
    let clean_end = log.len();
    log.resize(clean_end + 60_000, 0); // preallocated, never written
    for mode in RecoveryMode::ALL {
        let out = read(&log, ReaderOptions::new().mode(mode));
        assert!(out.error.is_none(), "{mode}: {:?}", out.error);
        assert_eq!(out.returned().len(), n, "{mode}");
        assert!(out.dropped.is_empty(), "{mode}: {:?}", out.dropped);
        let benign: Vec<_> = out
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Benign(b) => Some(b.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(benign.len(), 1, "{mode}: {benign:?}");
        assert_eq!(benign[0].kind, BenignKind::ZeroFilledTail);
        assert_eq!(benign[0].range, clean_end as u64..log.len() as u64);
    }
}

/// Found by fuzzing (`corrupt_roundtrip`, a bug in the property, not the
/// reader; saved as `fuzz/regressions/corrupt_roundtrip/cut-inside-a-zero-header-byte`):
/// a log cut one byte into its first header, where that byte (the
/// checksum's lowest) is zero, is a zero-filled tail (R2), which absolute
/// accepts; the property expected an error for every cut off a record
/// boundary. A cut whose header bytes are not all zero is still refused.
#[test]
fn a_cut_inside_a_header_whose_bytes_are_zero_is_a_zero_filled_tail() {
    let mut found = None;
    for i in 0u32..10_000 {
        let mut w = Writer::new(Vec::new());
        w.add_record(format!("record {i}").as_bytes()).unwrap();
        let log = w.into_inner().unwrap();
        if log[0] == 0 && log[1] != 0 {
            found = Some(log);
            break;
        }
    }
    let log = found.expect("a record whose checksum starts with a zero byte");
    let zero_cut = &log[..1];
    for mode in RecoveryMode::ALL {
        let out = read(zero_cut, ReaderOptions::new().mode(mode));
        assert!(out.error.is_none(), "{mode}: {:?}", out.error);
        assert!(out.returned().is_empty(), "{mode}");
    }
    let torn = &log[..2]; // a zero byte, then a non-zero one: a torn header
    let out = read(torn, ReaderOptions::new().mode(RecoveryMode::Absolute));
    assert!(out.error.is_some(), "absolute accepted a torn header");
    let out = read(torn, ReaderOptions::new().mode(RecoveryMode::TolerateTail));
    assert!(
        out.error.is_none() && out.returned().is_empty(),
        "{:?}",
        out.error
    );
}

/// Found by crash simulation: a recycled file whose first write was lost
/// (zeros, then the previous use's bytes) was read as a legacy log because
/// no current record had been seen, and its previous use was reported as
/// tail damage even though the reader was given the log number.
#[test]
fn given_log_number_makes_previous_use_benign_before_any_record() {
    let mut old = WriterOptions::new().recyclable(50).build(Vec::new());
    for i in 0..30u8 {
        old.add_record(&[i; 700]).unwrap();
    }
    let mut file = old.into_inner().unwrap();
    file[..1782].fill(0); // the new log's first write, lost as zeros
    for mode in RecoveryMode::ALL {
        let out = read(&file, ReaderOptions::new().mode(mode).log_number(51));
        assert!(out.error.is_none(), "{mode}: {:?}", out.error);
        assert!(
            out.returned().is_empty(),
            "{mode}: previous use read as records"
        );
        assert!(out.dropped.is_empty(), "{mode}: {:?}", out.dropped);
    }
}

/// Same situation over a file last used by a legacy log: a caller that
/// knows the file was recycled states the format, and then its records are
/// a previous use, never this log's records. (Without the statement the
/// number says nothing about the format: the file reads as a legacy log
/// whose start was zeroed, interior damage; issue 10.)
#[test]
fn given_log_number_never_returns_legacy_records_of_a_previous_use() {
    let mut old = Writer::new(Vec::new());
    for i in 0..30u8 {
        old.add_record(&[i; 700]).unwrap();
    }
    let mut file = old.into_inner().unwrap();
    file[..100].fill(0);
    let detect = read(&file, ReaderOptions::new().log_number(51));
    assert_eq!(
        detect
            .error
            .as_ref()
            .and_then(|e| e.damage())
            .map(|d| d.position),
        Some(blocklog::Position::Interior)
    );
    for mode in RecoveryMode::ALL {
        let out = read(
            &file,
            ReaderOptions::new()
                .mode(mode)
                .log_number(51)
                .format(blocklog::LogFormat::Recyclable),
        );
        assert!(out.error.is_none(), "{mode}: {:?}", out.error);
        assert!(
            out.returned().is_empty(),
            "{mode}: legacy previous use read as records"
        );
    }
}

// ------------------------------------------------- fuzz corpora, on stable

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use blocklog_testkit::props::{self, CorruptCase, CorruptOp, WRecord, WriteCase, READ_CONFIG_LEN};
use blocklog_testkit::rng::Rng;

/// Named predicates a generated seed input must satisfy.
type Wanted<T> = Vec<(&'static str, Box<dyn Fn(&T) -> bool>)>;

const TARGETS: [&str; 3] = ["read_any", "corrupt_roundtrip", "write_read"];

fn run_target(target: &str, data: &[u8]) {
    match target {
        "read_any" => props::read_any(data),
        "corrupt_roundtrip" => props::corrupt_roundtrip(data),
        "write_read" => props::write_read(data),
        _ => unreachable!(),
    }
}

fn fuzz_dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A read_any input: configuration bytes, then a log.
fn read_any_input(flags: u8, log_number: u32, initial: u32, limit: [u8; 3], log: &[u8]) -> Vec<u8> {
    let mut v = vec![flags];
    v.extend_from_slice(&log_number.to_le_bytes());
    v.extend_from_slice(&initial.to_le_bytes());
    v.extend_from_slice(&limit);
    assert_eq!(v.len(), READ_CONFIG_LEN);
    v.extend_from_slice(log);
    v
}

fn sample_log(rng: &mut Rng, recyclable: Option<u32>, n: usize, big: bool) -> Vec<u8> {
    let mut opts = WriterOptions::new();
    if let Some(l) = recyclable {
        opts = opts.recyclable(l);
    }
    let mut w = opts.build(Vec::new());
    for i in 0..n {
        let len = if big && i % 4 == 1 {
            rng.range(30_000, 70_000)
        } else {
            rng.range(0, 200)
        };
        w.add_record(&rng.bytes(len)).unwrap();
    }
    w.into_inner().unwrap()
}

/// The seed corpora, generated deterministically: valid logs in both
/// formats with damage of every kind for `read_any`, and structured inputs
/// chosen for variety (multi-block records, recyclable logs, every
/// corruption kind, several sessions) for the other two.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rng = Rng::new(5);
    // read_any
    let legacy = sample_log(&mut rng, None, 12, false);
    let recyc = sample_log(&mut rng, Some(7), 12, false);
    let big = sample_log(&mut rng, None, 6, true);
    let big_r = sample_log(&mut rng, Some(9), 6, true);
    let mut push = |name: &str, data: Vec<u8>| out.push(("read_any", name.to_string(), data));
    push("empty", read_any_input(0, 0, 0, [0; 3], &[]));
    push("legacy", read_any_input(0, 0, 0, [0; 3], &legacy));
    push(
        "legacy-absolute-chunked",
        read_any_input(0x10, 0, 0, [0; 3], &legacy),
    );
    push(
        "recyclable-lognum",
        read_any_input(0x02, 7, 0, [0; 3], &recyc),
    );
    push(
        "recyclable-wrong-lognum",
        read_any_input(0x02, 8, 0, [0; 3], &recyc),
    );
    push("multiblock", read_any_input(0x20, 0, 0, [0; 3], &big));
    push(
        "multiblock-recyclable-scan",
        read_any_input(0x03, 9, 0, [0; 3], &big_r),
    );
    push(
        "multiblock-limit",
        read_any_input(0x30, 0, 0, [2, 40, 0], &big),
    );
    push(
        "initial-offset",
        read_any_input(0x08, 0, 40_000, [0; 3], &big),
    );
    let mut flipped = big.clone();
    flipped[100] ^= 4;
    flipped[40_000] ^= 1;
    push("flipped-scan", read_any_input(0x01, 0, 0, [0; 3], &flipped));
    let mut zeroed = big.clone();
    zeroed[32_768..65_536].fill(0);
    push("zeroed-block", read_any_input(0x20, 0, 0, [0; 3], &zeroed));
    let mut torn = recyc.clone();
    torn.truncate(torn.len() - 5);
    push(
        "torn-recyclable",
        read_any_input(0x10, 0, 0, [1, 30, 0], &torn),
    );
    let mut over = big_r.clone();
    over[..recyc.len()].copy_from_slice(&recyc);
    push(
        "recycled-over-older",
        read_any_input(0x02, 7, 0, [0; 3], &over[..50_000]),
    );
    // corrupt_roundtrip and write_read: random bytes, kept when they decode
    // to the shapes wanted.
    let mut wanted: Wanted<CorruptCase> = vec![
        (
            "flip",
            Box::new(|c| c.ops.iter().any(|o| matches!(o, CorruptOp::Flip { .. }))),
        ),
        (
            "truncate",
            Box::new(|c| {
                c.ops
                    .iter()
                    .any(|o| matches!(o, CorruptOp::Truncate { .. }))
            }),
        ),
        (
            "zero",
            Box::new(|c| c.ops.iter().any(|o| matches!(o, CorruptOp::Zero { .. }))),
        ),
        (
            "garbage",
            Box::new(|c| c.ops.iter().any(|o| matches!(o, CorruptOp::Garbage { .. }))),
        ),
        (
            "swap",
            Box::new(|c| {
                c.ops
                    .iter()
                    .any(|o| matches!(o, CorruptOp::SwapBlocks { .. }))
            }),
        ),
        (
            "dup",
            Box::new(|c| {
                c.ops
                    .iter()
                    .any(|o| matches!(o, CorruptOp::DupBlock { .. }))
            }),
        ),
        (
            "multiblock",
            Box::new(|c| c.records.iter().any(|r| r.blocks & 0x80 != 0)),
        ),
        (
            "recyclable",
            Box::new(|c| c.log_number.is_some() && c.records.len() > 4),
        ),
        ("many-records", Box::new(|c| c.records.len() > 12)),
    ];
    let mut tries = 0;
    while !wanted.is_empty() && tries < 200_000 {
        tries += 1;
        let len = rng.range(16, 400);
        let data = rng.bytes(len);
        let Ok(c) = CorruptCase::arbitrary_take_rest(Unstructured::new(&data)) else {
            continue;
        };
        if c.records.is_empty() || c.ops.is_empty() {
            continue;
        }
        if let Some(i) = wanted.iter().position(|(_, f)| f(&c)) {
            let (name, _) = wanted.remove(i);
            out.push(("corrupt_roundtrip", name.to_string(), data));
        }
    }
    let mut wanted: Wanted<WriteCase> = vec![
        (
            "legacy",
            Box::new(|c| c.log_number.is_none() && c.sessions.iter().any(|s| s.records.len() > 2)),
        ),
        (
            "recyclable",
            Box::new(|c| c.log_number.is_some() && c.sessions.iter().any(|s| s.records.len() > 2)),
        ),
        (
            "reopened",
            Box::new(|c| c.sessions.iter().filter(|s| !s.records.is_empty()).count() >= 3),
        ),
        (
            "multiblock",
            Box::new(|c| {
                c.sessions
                    .iter()
                    .flat_map(|s| &s.records)
                    .any(|r| matches!(r, WRecord::Fill { blocks, .. } if blocks % 4 > 0))
            }),
        ),
        (
            "empty-records",
            Box::new(|c| {
                c.sessions
                    .iter()
                    .flat_map(|s| &s.records)
                    .any(|r| matches!(r, WRecord::Bytes(b) if b.is_empty()))
            }),
        ),
    ];
    let mut tries = 0;
    while !wanted.is_empty() && tries < 200_000 {
        tries += 1;
        let len = rng.range(16, 600);
        let data = rng.bytes(len);
        let Ok(c) = WriteCase::arbitrary_take_rest(Unstructured::new(&data)) else {
            continue;
        };
        if let Some(i) = wanted.iter().position(|(_, f)| f(&c)) {
            let (name, _) = wanted.remove(i);
            out.push(("write_read", name.to_string(), data));
        }
    }
    out
}

/// The committed seed corpora are exactly what `seeds()` generates (set
/// `BLOCKLOG_UPDATE_SEEDS=1` to rewrite them), and every seed passes its
/// target's properties.
#[test]
fn seed_corpora_are_current_and_pass() {
    let update = std::env::var_os("BLOCKLOG_UPDATE_SEEDS").is_some();
    let seeds = seeds();
    for target in TARGETS {
        assert!(
            seeds.iter().filter(|s| s.0 == target).count() >= 5,
            "{target}: too few seeds"
        );
    }
    for (target, name, data) in &seeds {
        let path = fuzz_dir("seeds", target).join(name);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, data).unwrap();
        } else {
            let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (run with BLOCKLOG_UPDATE_SEEDS=1)", path.display())
            });
            assert!(
                &on_disk == data,
                "{} is stale (run with BLOCKLOG_UPDATE_SEEDS=1)",
                path.display()
            );
        }
        run_target(target, data);
    }
    for target in TARGETS {
        let committed = files(&fuzz_dir("seeds", target)).len();
        assert_eq!(
            committed,
            seeds.iter().filter(|s| s.0 == target).count(),
            "{target}: stray seed files"
        );
    }
}

/// Every input saved under `fuzz/regressions/<target>/` (crashes found by
/// fuzzing, kept after the fix) passes its target's properties.
#[test]
fn saved_fuzz_crashes_pass() {
    let mut n = 0;
    for target in TARGETS {
        for path in files(&fuzz_dir("regressions", target)) {
            let data = std::fs::read(&path).unwrap();
            println!("{target}: {}", path.display());
            run_target(target, &data);
            n += 1;
        }
    }
    println!("{n} saved fuzz inputs replayed");
}

/// A quick stable-Rust stand-in for the fuzzers: random inputs of every
/// target through the same properties.
#[test]
fn random_inputs_pass_the_fuzz_properties() {
    let mut rng = Rng::new(99);
    for i in 0..300 {
        for target in TARGETS {
            let len = if target == "read_any" && i % 10 == 0 {
                rng.range(0, 70_000)
            } else {
                rng.range(0, 600)
            };
            let data = rng.bytes(len);
            run_target(target, &data);
        }
    }
}

/// Replays the local, uncommitted fuzz corpora (`fuzz/corpus/<target>/`,
/// grown by `cargo fuzz run`) through the properties on stable Rust: run by
/// hand after changing a property, `cargo test --test fuzz_regressions --
/// --ignored`.
#[test]
#[ignore = "replays fuzz/corpus/, which only exists after local fuzzing"]
fn replay_local_fuzz_corpora() {
    for target in TARGETS {
        let inputs = files(&fuzz_dir("corpus", target));
        for path in &inputs {
            let data = std::fs::read(path).unwrap();
            let r = std::panic::catch_unwind(|| run_target(target, &data));
            assert!(r.is_ok(), "{target}: {} fails", path.display());
        }
        println!("{target}: {} corpus inputs pass", inputs.len());
    }
}
