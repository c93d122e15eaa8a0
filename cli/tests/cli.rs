//! Integration tests of the `blocklog` binary: the JSON contract of
//! `dump --json`, exit statuses, `verify`, `recover` and `compare`, each
//! checked against the library's own results.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use blocklog::format::{BLOCK_SIZE, HEADER_SIZE};
use blocklog::{Event, Position, ReaderOptions, RecoveryMode, Resync, Writer, WriterOptions};
use blocklog_testkit::encoding::{fnv1a64, hex, unhex};
use blocklog_testkit::interop::fixtures_dir;
use blocklog_testkit::read::{read as lib_read, Run};
use blocklog_testkit::scenarios;
use serde_json::Value;

mod common;
use common::{blocklog, code, json_lines, stderr, stdout};

/// A legacy log of `n` records of varied sizes (some spanning blocks);
/// returns the bytes and each record's (offset, payload).
fn log_of(n: usize) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
    let mut w = Writer::new(Vec::new());
    let mut records = Vec::new();
    for i in 0..n {
        let len = match i % 7 {
            3 => 40_000,
            5 => 0,
            _ => 10 + i * 37 % 900,
        };
        let payload: Vec<u8> = (0..len).map(|j| (i * 31 + j * 7) as u8).collect();
        let offset = w.add_record(&payload).unwrap();
        records.push((offset, payload));
    }
    (w.into_inner().unwrap(), records)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

/// Checks `dump --json` output line by line against the library's events.
fn assert_dump_matches(lines: &[Value], lib: &Run) {
    let expected: Vec<&Event> = lib
        .events
        .iter()
        .filter(|e| matches!(e, Event::Record(_) | Event::Dropped(_)))
        .collect();
    assert_eq!(
        lines.len(),
        expected.len() + 1,
        "one line per record or drop, then end"
    );
    for (line, event) in lines.iter().zip(&expected) {
        match event {
            Event::Record(r) => {
                let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
                assert_eq!(keys.len(), 4, "{line}");
                assert_eq!(line["kind"], "record");
                assert_eq!(line["offset"], r.offset);
                assert_eq!(line["length"], r.payload.len() as u64);
                assert_eq!(line["payload_hex"], hex(&r.payload));
            }
            Event::Dropped(d) => {
                assert_eq!(line.as_object().unwrap().len(), 5, "{line}");
                assert_eq!(line["kind"], "dropped");
                assert_eq!(line["offset"], d.range.start);
                assert_eq!(line["length"], d.range.end - d.range.start);
                assert_eq!(line["reason"], d.reason.as_str());
                assert_eq!(line["tail"], d.position == Position::Tail);
            }
            _ => unreachable!(),
        }
    }
    let end = lines.last().unwrap();
    assert_eq!(end.as_object().unwrap().len(), 5, "{end}");
    assert_eq!(end["kind"], "end");
    assert_eq!(end["records"], lib.summary.records);
    assert_eq!(end["dropped_bytes"], lib.summary.dropped_bytes);
    assert_eq!(end["outcome"], lib.summary.outcome().as_str());
    match &lib.error {
        None => assert!(end["error"].is_null()),
        Some(m) => assert_eq!(end["error"], m.to_string().as_str()),
    }
}

#[test]
fn dump_json_clean_log_matches_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, records) = log_of(30);
    let path = write(dir.path(), "clean.log", &bytes);
    let o = blocklog(&["dump", "--json", path.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_dump_matches(&lines, &lib_read(&bytes, ReaderOptions::new()));
    assert_eq!(lines.len(), records.len() + 1);
    for (line, (offset, payload)) in lines.iter().zip(&records) {
        assert_eq!(line["offset"], *offset);
        assert_eq!(line["payload_hex"], hex(payload));
    }
    let end = lines.last().unwrap();
    assert_eq!(end["outcome"], "clean");
    assert_eq!(end["dropped_bytes"], 0);
    assert!(end["error"].is_null());
}

#[test]
fn dump_json_outcomes_and_exit_statuses_per_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, records) = log_of(20);
    // Interior damage: flip a byte in the payload of a small record mid-file.
    let (off, payload) = &records[8];
    assert!(payload.len() > 4 && payload.len() < 900);
    bytes[*off as usize + HEADER_SIZE + 2] ^= 0x40;
    // Tail damage: cut the last record short.
    let cut = bytes.len() - 3;
    bytes.truncate(cut);
    let path = write(dir.path(), "damaged.log", &bytes);
    let cases = [
        ("tolerate-tail", "error", 1),
        ("absolute", "error", 1),
        ("point-in-time", "stopped", 0),
        ("skip-corrupt", "skipped", 0),
    ];
    for (mode, outcome, status) in cases {
        let o = blocklog(&["dump", "--json", "--mode", mode, path.to_str().unwrap()]);
        assert_eq!(code(&o), status, "{mode}: {}", stderr(&o));
        let lines = json_lines(&o);
        let m: RecoveryMode = mode.parse().unwrap();
        let lib = lib_read(&bytes, ReaderOptions::new().mode(m));
        assert_dump_matches(&lines, &lib);
        assert_eq!(lines.last().unwrap()["outcome"], outcome, "{mode}");
        if status == 1 {
            // Records before the damage are still printed, the error is one stderr line.
            assert!(lines.len() > 1, "{mode}");
            assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
            assert!(lines.last().unwrap()["error"]
                .as_str()
                .unwrap()
                .contains("refuses"));
        }
    }
    // skip-corrupt drops the interior damage (tail false; with block resync
    // also the orphaned fragments after the damaged block) and the torn tail
    // (tail true), in file order.
    let o = blocklog(&[
        "dump",
        "--json",
        "--mode",
        "skip-corrupt",
        path.to_str().unwrap(),
    ]);
    let lines = json_lines(&o);
    let dropped: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "dropped").collect();
    assert!(dropped.len() >= 2);
    assert_eq!(dropped[0]["offset"], *off);
    for (i, d) in dropped.iter().enumerate() {
        assert_eq!(d["tail"], i == dropped.len() - 1, "{d}");
    }
    let offsets: Vec<u64> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l["offset"].as_u64().unwrap())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "file order");
    // With scan resync skip-corrupt loses only the damaged record itself.
    let o = blocklog(&[
        "dump",
        "--json",
        "--mode",
        "skip-corrupt",
        "--resync",
        "scan",
        path.to_str().unwrap(),
    ]);
    let lib = lib_read(
        &bytes,
        ReaderOptions::new()
            .mode(RecoveryMode::SkipCorrupt)
            .resync(Resync::Scan),
    );
    assert_dump_matches(&json_lines(&o), &lib);
    assert_eq!(lib.summary.records as usize, records.len() - 2);
}

#[test]
fn dump_json_tail_only_damage_is_tail_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, _) = log_of(10);
    bytes.extend_from_slice(&[0xab; 100]);
    let path = write(dir.path(), "tail.log", &bytes);
    let o = blocklog(&["dump", "--json", path.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let lines = json_lines(&o);
    assert_dump_matches(&lines, &lib_read(&bytes, ReaderOptions::new()));
    let dropped: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "dropped").collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0]["tail"], true);
    assert_eq!(dropped[0]["length"], 100);
    assert_eq!(lines.last().unwrap()["outcome"], "tail-dropped");
    assert_eq!(lines.last().unwrap()["dropped_bytes"], 100);
}

#[test]
fn dump_json_omits_benign_regions() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, records) = log_of(5);
    bytes.resize(bytes.len() + 3 * BLOCK_SIZE, 0);
    let path = write(dir.path(), "prealloc.log", &bytes);
    let o = blocklog(&[
        "dump",
        "--json",
        "--mode",
        "absolute",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), records.len() + 1);
    assert_eq!(lines.last().unwrap()["outcome"], "clean");
    // Human output names the benign region.
    let o = blocklog(&["dump", path.to_str().unwrap()]);
    assert!(stdout(&o).contains("zero-filled-tail"), "{}", stdout(&o));
}

#[test]
fn dump_start_offset_is_the_initial_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, records) = log_of(25);
    let path = write(dir.path(), "offset.log", &bytes);
    for start in [
        1u64,
        records[10].0,
        records[10].0 + 1,
        BLOCK_SIZE as u64 + 5,
    ] {
        let o = blocklog(&[
            "dump",
            "--json",
            "--start-offset",
            &start.to_string(),
            path.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 0);
        let lines = json_lines(&o);
        assert_dump_matches(
            &lines,
            &lib_read(&bytes, ReaderOptions::new().initial_offset(start)),
        );
        let first = lines[0]["offset"].as_u64().unwrap();
        assert!(first >= start);
    }
}

/// A recycled file: log `current` written over a longer log `current - 1`.
fn recycled(current: u32) -> (Vec<u8>, usize) {
    let mut old = WriterOptions::new()
        .recyclable(current - 1)
        .build(Vec::new());
    for i in 0..40u32 {
        old.add_record(format!("old record {i} {}", "o".repeat(300)).as_bytes())
            .unwrap();
    }
    let old = old.into_inner().unwrap();
    let mut cur = WriterOptions::new().recyclable(current).build(Vec::new());
    for i in 0..10u32 {
        cur.add_record(format!("current record {i} {}", "c".repeat(200)).as_bytes())
            .unwrap();
    }
    let mut bytes = cur.into_inner().unwrap();
    let n = bytes.len();
    bytes.extend_from_slice(&old[n..]);
    (bytes, 10)
}

#[test]
fn dump_log_number_comes_from_the_file_name_or_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, current) = recycled(9);
    let records = |path: &Path, extra: &[&str]| -> (u64, Vec<Value>) {
        let mut args = vec!["dump", "--json"];
        args.extend_from_slice(extra);
        args.push(path.to_str().unwrap());
        let o = blocklog(&args);
        let lines = json_lines(&o);
        (lines.last().unwrap()["records"].as_u64().unwrap(), lines)
    };
    // Named after its own number: the current records, the previous use is benign.
    let named = write(dir.path(), "000009.log", &bytes);
    let (n, lines) = records(&named, &[]);
    assert_eq!(n as usize, current);
    assert_dump_matches(
        &lines,
        &lib_read(&bytes, ReaderOptions::new().log_number(9)),
    );
    assert_eq!(lines.last().unwrap()["outcome"], "clean");
    // No number in the name: the first recyclable record's number (9).
    let plain = write(dir.path(), "wal.log", &bytes);
    assert_eq!(records(&plain, &[]).0 as usize, current);
    // A name saying 8: log 9's records are not this log's.
    let wrong = write(dir.path(), "000008.log", &bytes);
    let (n, lines) = records(&wrong, &["--mode", "skip-corrupt"]);
    assert_dump_matches(
        &lines,
        &lib_read(
            &bytes,
            ReaderOptions::new()
                .log_number(8)
                .mode(RecoveryMode::SkipCorrupt),
        ),
    );
    assert!((n as usize) < current);
    // --log-number overrides the name.
    assert_eq!(records(&wrong, &["--log-number", "9"]).0 as usize, current);
    // Recycled for log 10, which wrote nothing yet: all of it is a previous use.
    let fresh = write(dir.path(), "000010.log", &bytes);
    let (n, lines) = records(&fresh, &["--mode", "absolute"]);
    assert_eq!(n, 0);
    assert_eq!(lines.last().unwrap()["outcome"], "clean");
    let o = blocklog(&["dump", fresh.to_str().unwrap()]);
    assert!(stdout(&o).contains("previous-use"), "{}", stdout(&o));
    // A legacy log named like a RocksDB log is read without a log number.
    let (legacy, written) = log_of(6);
    let named = write(dir.path(), "000004.log", &legacy);
    let (n, lines) = records(&named, &[]);
    assert_eq!(n as usize, written.len());
    assert_dump_matches(&lines, &lib_read(&legacy, ReaderOptions::new()));
}

#[test]
fn verify_warns_when_the_whole_file_is_a_previous_use() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, current) = recycled(9);
    let path = write(dir.path(), "000009.log", &bytes);
    let p = path.to_str().unwrap();
    // Its own number: the current records, no warning.
    let o = blocklog(&["verify", p]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("records:  {current} ")),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("warning"), "{}", stdout(&o));
    // A wrong number: every record is another log's, so the file reads as
    // a previous use; the verdict stays what the mode says, with a warning.
    for mode in ["tolerate-tail", "absolute"] {
        let o = blocklog(&["verify", "--mode", mode, "--log-number", "10", p]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("records:  0 "), "{text}");
        assert!(text.contains("verdict:  OK: clean"), "{text}");
        let warning: Vec<&str> = text.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warning.len(), 1, "{text}");
        assert!(
            warning[0].contains("the whole file is a previous use of it")
                && warning[0].contains("log number 10")
                && warning[0].contains("is the log number right? (--log-number N)"),
            "{text}"
        );
    }
    // A legacy log read as recyclable: also nothing but a previous use.
    let (legacy, _) = log_of(5);
    let legacy = write(dir.path(), "000003.log", &legacy);
    let o = blocklog(&["verify", "--format", "recyclable", legacy.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("warning:  the whole file is a previous use"),
        "{}",
        stdout(&o)
    );
    let o = blocklog(&["verify", legacy.to_str().unwrap()]);
    assert!(!stdout(&o).contains("warning"), "{}", stdout(&o));
}

#[test]
fn usage_errors_and_unreadable_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.log");
    for args in [
        vec!["dump", missing.to_str().unwrap()],
        vec!["dump", "--json", missing.to_str().unwrap()],
        vec!["dump", dir.path().to_str().unwrap()],
        vec!["dump", "--mode", "lenient", "x.log"],
        vec!["dump"],
        vec!["frobnicate"],
        vec!["verify", missing.to_str().unwrap()],
        vec!["recover", "x.log", "-o", "y.log"],
    ] {
        let o = blocklog(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty() || args[0] == "verify", "{args:?}");
        // One clear line, never a panic.
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("blocklog: "), "{}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    // One clear line for an unreadable file.
    let o = blocklog(&["dump", missing.to_str().unwrap()]);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = blocklog(&["--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("compare"));
}

#[test]
fn verify_summarises_and_exits_1_when_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, records) = log_of(12);
    let clean = write(dir.path(), "clean.log", &bytes);
    let mut damaged = bytes.clone();
    let off = records[2].0 as usize;
    damaged[off + HEADER_SIZE + 1] ^= 1;
    let bad = write(dir.path(), "bad.log", &damaged);

    let o = blocklog(&["verify", clean.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.contains(&format!("records:  {}", records.len())),
        "{out}"
    );
    assert!(out.contains("OK: clean"), "{out}");

    let o = blocklog(&["verify", clean.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains("REFUSED"), "{out}");
    assert!(out.contains("checksum-mismatch"), "{out}");

    let o = blocklog(&["verify", "--mode", "skip-corrupt", bad.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("SKIPPED"), "{}", stdout(&o));

    // The SVG map, with the states named in its legend.
    let map = dir.path().join("map.svg");
    let o = blocklog(&[
        "verify",
        "--map",
        map.to_str().unwrap(),
        clean.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    let svg = fs::read_to_string(&map).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
    for label in [
        "valid records",
        "dropped damage",
        "stale (previous use)",
        "bad.log",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    // The dropped-damage colour fills only its legend box for a clean log,
    // and cells too when skip-corrupt drops damage.
    let dropped_fill = |args: &[&str]| {
        let mut a = vec!["verify", "--map", map.to_str().unwrap()];
        a.extend_from_slice(args);
        blocklog(&a);
        fs::read_to_string(&map)
            .unwrap()
            .matches("fill=\"#F59A23\"")
            .count()
    };
    assert_eq!(dropped_fill(&[clean.to_str().unwrap()]), 1);
    assert!(dropped_fill(&["--mode", "skip-corrupt", bad.to_str().unwrap()]) > 1);
    for bad_name in ["map.gif", "map"] {
        let o = blocklog(&[
            "verify",
            "--map",
            dir.path().join(bad_name).to_str().unwrap(),
            clean.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 2, "{bad_name}");
        assert!(stderr(&o).contains(".svg or .png"), "{}", stderr(&o));
        assert!(o.stdout.is_empty(), "{bad_name}: nothing verified");
    }
}

/// Decodes an RGB(A) PNG: (width, height, RGB pixels row by row).
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let step = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let pixels = buf[..info.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}

#[test]
fn verify_map_png_draws_the_strips_and_their_text() {
    const VALID: [u8; 3] = [0x3a, 0xa6, 0x55];
    const DAMAGED: [u8; 3] = [0xd6, 0x27, 0x28];
    const UNREAD: [u8; 3] = [0xb9, 0xe0, 0xbf];
    let dir = tempfile::tempdir().unwrap();
    // Over 64 blocks: two rows of cells per file.
    let (bytes, records) = log_of(400);
    let blocks = bytes.len().div_ceil(BLOCK_SIZE);
    assert!((65..=128).contains(&blocks), "{blocks} blocks");
    let clean = write(dir.path(), "clean.log", &bytes);
    let mut damaged = bytes.clone();
    // Damage half way: valid records before it, unread ones after.
    let off = records[records.len() / 2].0 as usize;
    damaged[off + HEADER_SIZE + 1] ^= 1;
    let bad = write(dir.path(), "bad.log", &damaged);

    let map = dir.path().join("out.png");
    let o = blocklog(&[
        "verify",
        "--map",
        map.to_str().unwrap(),
        clean.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // stdout is the summary, as without a map; stderr only says where the
    // map went (its legend is in the picture, as in the SVG).
    let plain = blocklog(&["verify", clean.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(stdout(&o), stdout(&plain));
    assert_eq!(
        stderr(&o),
        format!("map written to {}\n", map.display()),
        "{}",
        stderr(&o)
    );

    let png_bytes = fs::read(&map).unwrap();
    assert!(png_bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let (width, height, pixels) = decode_png(&png_bytes);
    // docs/cli.md: the SVG's layout, 1100 wide; 20 + 80 (legend) + per file
    // 24 (title) + 20 (subtitle) + 26 per row + 26 (totals) + 20, + 20.
    let rows = blocks.div_ceil(64) as u32;
    let file_h = 24 + 20 + 26 * rows + 26 + 20;
    assert_eq!((width, height), (1100, 20 + 80 + 2 * file_h + 20));
    let px = |x: u32, y: u32| pixels[(y * width + x) as usize];
    let count = |y0: u32, y1: u32, colour: [u8; 3]| {
        (y0..y1)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y) == colour)
            .count()
    };
    // Text: dark pixels (black or grey, anti-aliased) where the words go.
    let inked = |x0: u32, x1: u32, y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y).iter().all(|&c| c < 0x90))
            .count()
    };
    // The legend: six swatches, two rows of three, each with its label.
    let legend = [
        VALID,
        [0xd4, 0xd4, 0xd4],
        [0x8c, 0xb4, 0xd9],
        [0xf5, 0x9a, 0x23],
        DAMAGED,
        UNREAD,
    ];
    for (i, colour) in legend.iter().enumerate() {
        let (x, y) = (20 + 340 * (i as u32 % 3), 48 + 24 * (i as u32 / 3));
        assert_eq!(px(x + 8, y + 8), *colour, "swatch {i}");
        assert!(
            inked(x + 24, x + 200, y, y + 18) > 40,
            "label of swatch {i}"
        );
    }
    // The map's first line, each file's title and its row labels.
    assert!(inked(20, 600, 20, 40) > 200, "the first line");
    let first = (20 + 80, 20 + 80 + file_h);
    let second = (first.1, first.1 + file_h);
    for (y0, _) in [first, second] {
        assert!(inked(20, 300, y0, y0 + 22) > 100, "title at {y0}");
        assert!(inked(20, 600, y0 + 24, y0 + 42) > 100, "subtitle at {y0}");
        for row in 0..rows {
            let y = y0 + 44 + 26 * row;
            assert!(inked(60, 126, y, y + 22) > 20, "row label {row} at {y0}");
        }
    }
    // Nothing is drawn left of the row labels' column in the strips' rows.
    assert_eq!(inked(0, 20, first.0, height), 0);
    // The strips: the clean log is valid throughout (no damage at all); the
    // refused log is valid up to the damage, and intact but unread after it.
    let cells = (blocks * 12) as f64; // 12 px of colour per cell
    assert!(count(first.0, first.1, VALID) as f64 > cells * 22.0 * 0.7);
    assert_eq!(count(first.0, first.1, DAMAGED), 0);
    assert_eq!(count(first.0, first.1, UNREAD), 0);
    assert!(count(second.0, second.1, DAMAGED) > 0);
    assert!(count(second.0, second.1, VALID) as f64 > cells * 22.0 * 0.3);
    assert!(count(second.0, second.1, UNREAD) as f64 > cells * 22.0 * 0.3);
    // The cell holding the damage has a red border: 14 px per cell, 64 a row,
    // from x = 130 (after the row labels).
    let cell = (off / BLOCK_SIZE) as u32;
    let (x0, y0) = (130 + 14 * (cell % 64), second.0 + 44 + 26 * (cell / 64));
    assert_eq!(px(x0, y0 + 11), DAMAGED);
    assert_eq!(
        px(x0 + 14 + 6, y0 + 11),
        UNREAD,
        "the next cell is not read"
    );

    // Skip-corrupt drops the damage: orange instead of red.
    let o = blocklog(&[
        "verify",
        "--mode",
        "skip-corrupt",
        "--map",
        map.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (_, height, pixels) = decode_png(&fs::read(&map).unwrap());
    assert_eq!(height, 20 + 80 + file_h + 20);
    let strip = &pixels[(width * first.0) as usize..];
    assert!(strip.contains(&[0xf5, 0x9a, 0x23]));
    assert!(!strip.contains(&DAMAGED));
}

/// Records as (offset, payload).
type Records = Vec<(u64, Vec<u8>)>;

/// Reads `path` in absolute mode (a recovered log must be clean): its
/// records, whether it is recyclable, and its log number.
fn read_clean(path: &Path) -> (Records, bool, Option<u32>) {
    let bytes = fs::read(path).unwrap();
    let mut r = ReaderOptions::new()
        .mode(RecoveryMode::Absolute)
        .build(&bytes[..]);
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().expect("recovered log is clean") {
        out.push((rec.offset, rec.payload.to_vec()));
    }
    (out, r.is_recyclable(), r.log_number())
}

#[test]
fn recover_writes_the_modes_records_and_never_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, records) = log_of(30);
    let off = records[9].0 as usize;
    bytes[off + HEADER_SIZE + 1] ^= 1;
    bytes.extend_from_slice(&[7; 50]);
    let input = write(dir.path(), "in.log", &bytes);
    for (mode, resync) in [
        ("skip-corrupt", "block"),
        ("skip-corrupt", "scan"),
        ("point-in-time", "block"),
    ] {
        let out = dir.path().join(format!("{mode}-{resync}.log"));
        let o = blocklog(&[
            "recover",
            "--mode",
            mode,
            "--resync",
            resync,
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let lib = lib_read(
            &bytes,
            ReaderOptions::new()
                .mode(mode.parse().unwrap())
                .resync(if resync == "scan" {
                    Resync::Scan
                } else {
                    Resync::Block
                }),
        );
        let expected: Vec<Vec<u8>> = lib
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Record(r) => Some(r.payload.to_vec()),
                _ => None,
            })
            .collect();
        let (got, recyclable, _) = read_clean(&out);
        let got: Vec<Vec<u8>> = got.into_iter().map(|(_, p)| p).collect();
        assert_eq!(got, expected, "{mode} {resync}");
        assert!(!recyclable);
    }
    assert_eq!(fs::read(&input).unwrap(), bytes, "input untouched");

    // Never the input, not even through another name.
    let o = blocklog(&[
        "recover",
        "--mode",
        "skip-corrupt",
        "--force",
        input.to_str().unwrap(),
        "-o",
        input.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    let alias = dir.path().join(".").join("in.log");
    let o = blocklog(&[
        "recover",
        "--mode",
        "skip-corrupt",
        "--force",
        input.to_str().unwrap(),
        "-o",
        alias.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(fs::read(&input).unwrap(), bytes, "input untouched");

    // An existing output needs --force.
    let out = dir.path().join("skip-corrupt-block.log");
    let args = |force: bool| {
        let mut a = vec!["recover", "--mode", "skip-corrupt", input.to_str().unwrap()];
        a.extend(["-o", out.to_str().unwrap()]);
        if force {
            a.push("--force");
        }
        blocklog(&a)
    };
    assert_eq!(code(&args(false)), 2);
    assert_eq!(code(&args(true)), 0);

    // A mode that refuses the log writes nothing and exits 1.
    let refused = dir.path().join("absolute.log");
    let o = blocklog(&[
        "recover",
        "--mode",
        "absolute",
        input.to_str().unwrap(),
        "-o",
        refused.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(!refused.exists());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        4,
        "no temporary file left"
    );
}

#[test]
fn recover_keeps_a_recyclable_logs_format_and_number() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, current) = recycled(12);
    let input = write(dir.path(), "000012.log", &bytes);
    let out = dir.path().join("out.log");
    let o = blocklog(&[
        "recover",
        "--mode",
        "tolerate-tail",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (records, recyclable, number) = read_clean(&out);
    assert_eq!(records.len(), current);
    assert!(recyclable);
    assert_eq!(number, Some(12));
    assert!(records[0].1.starts_with(b"current record 0 "));
}

/// What the library says about a scenario in one mode, computed here
/// independently of the binary's harness.
struct Expected {
    recovered: u64,
    lost: u64,
    foreign: u64,
    reported: bool,
    outcome: &'static str,
    dropped_bytes: u64,
    error: Option<String>,
}

fn expected(s: &scenarios::Scenario, mode: RecoveryMode, resync: Resync) -> Expected {
    let mut opts = ReaderOptions::new().mode(mode).resync(resync);
    if let Some(n) = s.log_number {
        opts = opts.log_number(n);
    }
    let lib = lib_read(&s.bytes, opts);
    let returned: Vec<(u64, Vec<u8>)> = lib
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Record(r) => Some((r.offset, r.payload.to_vec())),
            _ => None,
        })
        .collect();
    let got: HashSet<&(u64, Vec<u8>)> = returned.iter().collect();
    let written: HashSet<(u64, Vec<u8>)> = s
        .records
        .iter()
        .map(|r| (r.offset, r.payload.clone()))
        .collect();
    Expected {
        recovered: returned.len() as u64,
        lost: s
            .records
            .iter()
            .filter(|r| r.intact && !got.contains(&(r.offset, r.payload.clone())))
            .count() as u64,
        foreign: returned.iter().filter(|r| !written.contains(r)).count() as u64,
        reported: lib.error.is_some() || lib.events.iter().any(|e| matches!(e, Event::Dropped(_))),
        outcome: lib.summary.outcome().as_str(),
        dropped_bytes: lib.summary.dropped_bytes,
        error: lib.error.map(|e| e.to_string()),
    }
}

#[test]
fn compare_json_matches_the_library_on_every_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("scenarios");
    let o = blocklog(&[
        "compare",
        "--format",
        "json",
        "--save-scenarios",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["kind"], "compare");
    assert_eq!(doc["seed"], scenarios::DEFAULT_SEED);
    let rows = doc["rows"].as_array().unwrap();
    let all = scenarios::all(scenarios::DEFAULT_SEED);
    let names: Vec<&str> = all.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "clean",
            "torn-header",
            "torn-payload",
            "incomplete-fragmented",
            "bit-flip-mid-file",
            "bit-flip-last-record",
            "bad-length",
            "zeroed-interior-block",
            "zero-filled-tail",
            "garbage-tail",
            "stale-recycled-tail",
            "first-without-last",
        ]
    );
    let modes = [
        (RecoveryMode::TolerateTail, Resync::Block),
        (RecoveryMode::Absolute, Resync::Block),
        (RecoveryMode::PointInTime, Resync::Block),
        (RecoveryMode::SkipCorrupt, Resync::Block),
        (RecoveryMode::SkipCorrupt, Resync::Scan),
    ];
    // The single-file scenarios, then the WAL directory's six rows (the
    // modes and the old-style reader: cli/tests/wal_dir.rs checks them).
    assert_eq!(rows.len(), all.len() * modes.len() + 6);
    assert!(rows[all.len() * modes.len()..]
        .iter()
        .all(|r| r["source"] == "four-files-file-2-damaged"));
    let mut rows = rows.iter();
    for (i, s) in all.iter().enumerate() {
        // The saved file is the scenario's bytes.
        let file = saved.join(format!("{:02}-{}.log", i + 1, s.name));
        assert_eq!(fs::read(&file).unwrap(), s.bytes, "{}", s.name);
        for (mode, resync) in modes {
            let row = rows.next().unwrap();
            let e = expected(s, mode, resync);
            let what = format!("{} {mode} {}", s.name, resync.as_str());
            assert_eq!(row["source"], s.name, "{what}");
            assert_eq!(row["mode"], mode.as_str(), "{what}");
            assert_eq!(row["resync"], resync.as_str(), "{what}");
            assert_eq!(row["written"], s.records.len() as u64, "{what}");
            assert_eq!(
                row["intact"],
                s.records.iter().filter(|r| r.intact).count() as u64
            );
            assert_eq!(row["recovered"], e.recovered, "{what}");
            assert_eq!(row["lost"], e.lost, "{what}");
            assert_eq!(row["foreign"], e.foreign, "{what}");
            assert_eq!(row["damage_present"], s.damaged, "{what}");
            assert_eq!(row["damage_reported"], e.reported, "{what}");
            assert_eq!(row["outcome"], e.outcome, "{what}");
            assert_eq!(row["dropped_bytes"], e.dropped_bytes, "{what}");
            match &e.error {
                None => assert!(row["error"].is_null(), "{what}"),
                Some(m) => assert_eq!(row["error"], m.as_str(), "{what}"),
            }
        }
    }
    let notes: Vec<&str> = doc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("four-files-file-2-damaged: a WAL directory")),
        "{notes:?}"
    );
}

#[test]
fn scenarios_are_what_they_claim() {
    let all = scenarios::all(scenarios::DEFAULT_SEED);
    for s in &all {
        // No reader returns a record the construction calls damaged, nor a
        // record that was never written: "intact" is exact from both sides.
        let written: HashSet<(u64, Vec<u8>)> = s
            .records
            .iter()
            .map(|r| (r.offset, r.payload.clone()))
            .collect();
        let intact: HashSet<(u64, Vec<u8>)> = s
            .records
            .iter()
            .filter(|r| r.intact)
            .map(|r| (r.offset, r.payload.clone()))
            .collect();
        let salvage = expected(s, RecoveryMode::SkipCorrupt, Resync::Scan);
        assert_eq!(salvage.foreign, 0, "{}", s.name);
        let mut opts = ReaderOptions::new()
            .mode(RecoveryMode::SkipCorrupt)
            .resync(Resync::Scan);
        if let Some(n) = s.log_number {
            opts = opts.log_number(n);
        }
        for e in lib_read(&s.bytes, opts).events {
            if let Event::Record(r) = e {
                let key = (r.offset, r.payload.to_vec());
                assert!(written.contains(&key), "{}", s.name);
                assert!(
                    intact.contains(&key),
                    "{}: returned a damaged record",
                    s.name
                );
            }
        }
        let damaged = s.records.len() - intact.len();
        match s.name {
            "clean" | "zero-filled-tail" | "garbage-tail" | "stale-recycled-tail" => {
                assert_eq!(damaged, 0, "{}", s.name)
            }
            _ => assert!(damaged >= 1, "{}", s.name),
        }
        assert_eq!(
            s.damaged,
            !matches!(s.name, "clean" | "zero-filled-tail" | "stale-recycled-tail")
        );
    }
    // Deterministic: the same seed builds the same files; another seed others.
    let again = scenarios::all(scenarios::DEFAULT_SEED);
    assert!(all.iter().zip(&again).all(|(a, b)| a.bytes == b.bytes));
    let other = scenarios::all(scenarios::DEFAULT_SEED + 1);
    assert!(all.iter().zip(&other).all(|(a, b)| a.bytes != b.bytes));
}

#[test]
fn compare_on_files_tables_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, records) = log_of(20);
    let off = records[6].0 as usize;
    bytes[off + HEADER_SIZE] ^= 1;
    let a = write(dir.path(), "a.log", &bytes);
    let (clean, _) = log_of(8);
    let b = write(dir.path(), "b.log", &clean);
    let o = blocklog(&[
        "compare",
        "--format",
        "json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert!(doc["seed"].is_null());
    // Intact for a user's file: the union of what the modes returned.
    let salvage = lib_read(
        &bytes,
        ReaderOptions::new()
            .mode(RecoveryMode::SkipCorrupt)
            .resync(Resync::Scan),
    );
    for row in &rows[..5] {
        assert!(row["written"].is_null());
        assert_eq!(row["intact"], salvage.summary.records);
        let m: RecoveryMode = row["mode"].as_str().unwrap().parse().unwrap();
        let r = if row["resync"] == "scan" {
            Resync::Scan
        } else {
            Resync::Block
        };
        let lib = lib_read(&bytes, ReaderOptions::new().mode(m).resync(r));
        assert_eq!(row["recovered"], lib.summary.records);
        assert_eq!(row["lost"], salvage.summary.records - lib.summary.records);
        assert_eq!(row["outcome"], lib.summary.outcome().as_str());
        assert_eq!(row["damage_reported"], true);
    }
    for row in &rows[5..] {
        assert_eq!(row["recovered"], 8);
        assert_eq!(row["lost"], 0);
        assert_eq!(row["outcome"], "clean");
        assert_eq!(row["damage_reported"], false);
    }

    // The built-in table, in Markdown and for the terminal.
    let o = blocklog(&["compare", "--format", "markdown"]);
    assert_eq!(code(&o), 0);
    let md = stdout(&o);
    assert!(md.starts_with("| scenario "), "{md}");
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| ")).count(),
        2 + 12 * 5 + 6
    );
    assert!(md.contains("| torn-header") && md.contains("skip-corrupt+scan"));
    let o = blocklog(&["compare"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("first-without-last"));

    // The chart, as SVG and as PNG (with its text: the bundled font).
    let chart = dir.path().join("chart.svg");
    let o = blocklog(&[
        "compare",
        "--format",
        "json",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let svg = fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"));
    for label in [
        "skip-corrupt+scan",
        "zeroed-interior-block",
        "records recovered",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    let png = dir.path().join("c.png");
    let o = blocklog(&["compare", "--chart", png.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&blocklog(&["compare"])));
    let (width, height, pixels) = decode_png(&fs::read(&png).unwrap());
    // Thirteen groups: the WAL scenario's modes too (not the old-style row).
    assert_eq!((width, height), (1100, 140 + 13 * (16 * 5 + 22)));
    let px = |x: u32, y: u32| pixels[(y * width + x) as usize];
    let inked = |x0: u32, x1: u32, y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y).iter().all(|&c| c < 0x90))
            .count()
    };
    // The title across the top, the scenario names left of the bars.
    assert!(inked(200, 900, 0, 40) > 300, "no title");
    assert!(inked(0, 210, 40, height - 60) > 1000, "no scenario names");
    // The chart's colours: each mode's bars.
    for colour in [[0x00, 0x72, 0xb2], [0xcc, 0x79, 0xa7]] {
        assert!(pixels.contains(&colour), "{colour:?}");
    }
    for bad in ["c.gif", "c"] {
        let o = blocklog(&["compare", "--chart", dir.path().join(bad).to_str().unwrap()]);
        assert_eq!(code(&o), 2, "{bad}");
        assert!(o.stdout.is_empty(), "{bad}");
        assert!(stderr(&o).contains(".svg or .png"), "{}", stderr(&o));
    }
}

/// `(offset, length, hash)` of every batch an expectation file lists; the
/// offset is `None` where the engine compressed the log.
fn expected_batches(path: &Path) -> Vec<(Option<u64>, u64, u64)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("batch "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[5].parse().ok(),
                f[3].parse().unwrap(),
                u64::from_str_radix(f[4], 16).unwrap(),
            )
        })
        .collect()
}

#[test]
fn dump_json_reads_the_engines_own_logs() {
    // Logs written by LevelDB and RocksDB (tests/interop), named as the
    // engines name them: the log number in the name applies to recyclable
    // logs only, so the legacy ones must still give every record.
    // Each is read with its file's own number (from the name, and given),
    // with the format detected and stated: exactly its batches in every mode.
    let fixtures = fixtures_dir();
    for (log, number, format) in [
        ("leveldb/000004.log", "4", "legacy"),
        ("rocksdb-default/000008.log", "8", "legacy"),
        ("rocksdb-recycle/000008.log", "8", "recyclable"),
        ("rocksdb-recycle/000010.log", "10", "recyclable"),
    ] {
        let path = fixtures.join(log);
        if !path.exists() {
            panic!("missing fixture {}", path.display());
        }
        let expected = expected_batches(&fixtures.join(format!("{log}.expected.txt")));
        assert!(!expected.is_empty(), "{log}");
        let variants: [&[&str]; 4] = [
            &[],
            &["--log-number", number],
            &["--format", "detect"],
            &["--format", format, "--log-number", number],
        ];
        for (mode, extra) in ["tolerate-tail", "absolute", "point-in-time", "skip-corrupt"]
            .into_iter()
            .flat_map(|m| variants.iter().map(move |v| (m, v)))
        {
            let mut args = vec!["dump", "--json", "--mode", mode];
            args.extend_from_slice(extra);
            args.push(path.to_str().unwrap());
            let o = blocklog(&args);
            let mode = format!("{mode} {extra:?}");
            assert_eq!(code(&o), 0, "{log} {mode}: {}", stderr(&o));
            let lines = json_lines(&o);
            let got: Vec<(Option<u64>, u64, u64)> = lines[..lines.len() - 1]
                .iter()
                .map(|l| {
                    assert_eq!(l["kind"], "record", "{log} {mode}: {l}");
                    let payload = unhex(l["payload_hex"].as_str().unwrap());
                    (
                        l["offset"].as_u64(),
                        l["length"].as_u64().unwrap(),
                        fnv1a64(&payload),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{log} {mode}");
            assert_eq!(lines.last().unwrap()["outcome"], "clean", "{log} {mode}");
        }
    }
    // A zstd-compressed RocksDB log: decompressed records when the library
    // is built with compression support, otherwise a clear refusal.
    let zstd = fixtures.join("rocksdb-zstd/000008.log");
    if zstd.exists() {
        let expected = expected_batches(&fixtures.join("rocksdb-zstd/000008.log.expected.txt"));
        let o = blocklog(&["dump", "--json", zstd.to_str().unwrap()]);
        let lines = json_lines(&o);
        let end = lines.last().unwrap();
        if code(&o) == 0 {
            let got: Vec<(u64, u64)> = lines[..lines.len() - 1]
                .iter()
                .map(|l| {
                    let payload = unhex(l["payload_hex"].as_str().unwrap());
                    (payload.len() as u64, fnv1a64(&payload))
                })
                .collect();
            let want: Vec<(u64, u64)> = expected.iter().map(|&(_, n, h)| (n, h)).collect();
            assert_eq!(got, want);
        } else {
            assert_eq!(code(&o), 1);
            assert_eq!(end["outcome"], "error");
            assert!(end["error"].as_str().unwrap().contains("zstd"), "{end}");
        }
    }
}

#[test]
fn dump_of_a_recycled_file_whose_first_write_was_lost_shows_no_stale_records() {
    // Log 9 wrote over log 8's file, but its first block never reached the
    // disk (zeros): the number in the name still marks log 8's records stale.
    let dir = tempfile::tempdir().unwrap();
    let mut old = WriterOptions::new().recyclable(8).build(Vec::new());
    while old.offset() < 3 * BLOCK_SIZE as u64 {
        old.add_record(&[b'o'; 500]).unwrap();
    }
    let mut bytes = old.into_inner().unwrap();
    bytes[..BLOCK_SIZE].fill(0);
    // Without the number from the name, log 8's records would be read as the log.
    let plain = write(dir.path(), "wal.log", &bytes);
    let o = blocklog(&[
        "dump",
        "--json",
        "--mode",
        "skip-corrupt",
        plain.to_str().unwrap(),
    ]);
    // Without it, the log number cannot be learned after the damage: the
    // read fails instead of returning log 8's records (issue 10, defect 6).
    let end = json_lines(&o).last().unwrap().clone();
    assert_eq!(end["records"], 0, "{end}");
    assert!(
        end["error"].as_str().unwrap().contains("log number"),
        "{end}"
    );
    assert_eq!(code(&o), 1);
    let path = write(dir.path(), "000009.log", &bytes);
    for mode in ["tolerate-tail", "absolute", "point-in-time", "skip-corrupt"] {
        let o = blocklog(&["dump", "--json", "--mode", mode, path.to_str().unwrap()]);
        let lines = json_lines(&o);
        assert!(
            lines.iter().all(|l| l["kind"] != "record"),
            "{mode}: a previous use's record was printed as this log's"
        );
        assert_eq!(lines.last().unwrap()["records"], 0);
    }
}

// ---- Inputs: each opened once; FIFOs and standard input read as streams;
// devices refused (issue 10, defect 12).

/// Waits for `child` at most `secs` seconds (a hang guard, not a timing
/// assertion): kills it and panics if it has not exited by then.
fn output_within(mut child: Child, secs: u64, what: &str) -> Output {
    use std::io::Read;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {secs} s");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn spawn_blocklog(args: &[&str], stdin: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_blocklog"))
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run blocklog")
}

/// Creates a FIFO with mkfifo(1).
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs blocklog on a FIFO that a writer thread feeds with `bytes` (in
/// small writes), within a hang guard.
#[cfg(unix)]
fn blocklog_on_fifo(fifo: &Path, bytes: &[u8], args: &[&str]) -> Output {
    let feeder = {
        let (fifo, bytes) = (fifo.to_path_buf(), bytes.to_vec());
        thread::spawn(move || {
            use std::io::Write;
            // Blocks until blocklog opens the FIFO; a closed reader ends it (EPIPE).
            let mut w = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            for chunk in bytes.chunks(5000) {
                if w.write_all(chunk).is_err() {
                    break;
                }
            }
        })
    };
    let o = output_within(
        spawn_blocklog(args, Stdio::null()),
        60,
        &format!("{args:?}"),
    );
    if !feeder.is_finished() {
        // blocklog never opened the FIFO (or opened it twice and stopped
        // early): let the writer go, then fail below if it mattered.
        let fifo = fifo.to_path_buf();
        thread::spawn(move || {
            use std::io::Read;
            if let Ok(mut r) = fs::File::open(&fifo) {
                let _ = r.read_to_end(&mut Vec::new());
            }
        });
    }
    o
}

#[cfg(unix)]
#[test]
fn a_fifo_is_opened_once_and_read_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, _) = log_of(25);
    bytes.truncate(bytes.len() - 5); // a torn tail, for a verdict worth checking
    let fifo_dir = dir.path().join("fifo");
    let file_dir = dir.path().join("file");
    fs::create_dir_all(&fifo_dir).unwrap();
    fs::create_dir_all(&file_dir).unwrap();
    let fifo = fifo_dir.join("000007.log");
    mkfifo(&fifo);
    let file = write(&file_dir, "000007.log", &bytes);
    let (f, r) = (fifo.to_str().unwrap(), file.to_str().unwrap());
    let same = |fifo_out: &str, file_out: &str, what: &str| {
        assert_eq!(
            fifo_out.replace(f, "LOG"),
            file_out.replace(r, "LOG"),
            "{what}: the FIFO reads like the file"
        );
    };
    // dump: the same JSON lines as the regular file.
    for mode in ["tolerate-tail", "absolute"] {
        let o = blocklog_on_fifo(&fifo, &bytes, &["dump", "--json", "--mode", mode, f]);
        let want = blocklog(&["dump", "--json", "--mode", mode, r]);
        assert_eq!(code(&o), code(&want), "{mode}: {}", stderr(&o));
        same(&stdout(&o), &stdout(&want), mode);
        assert_dump_matches(
            &json_lines(&o),
            &lib_read(
                &bytes,
                ReaderOptions::new()
                    .mode(mode.parse().unwrap())
                    .log_number(7),
            ),
        );
    }
    // verify: the same verdict; a stream's size is what was read.
    let o = blocklog_on_fifo(&fifo, &bytes, &["verify", f]);
    let want = blocklog(&["verify", r]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.lines().next().unwrap().contains("stream, "), "{text}");
    let body = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&text), body(&stdout(&want)));
    assert!(text.contains("verdict:  OK: tail damage dropped"), "{text}");
    // verify --map reads twice: from memory, not by opening the FIFO again.
    let map = dir.path().join("map.svg");
    let o = blocklog_on_fifo(
        &fifo,
        &bytes,
        &[
            "verify",
            "--mode",
            "absolute",
            "--map",
            map.to_str().unwrap(),
            f,
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("REFUSED"), "{}", stdout(&o));
    assert!(fs::metadata(&map).unwrap().len() > 0);
    // compare reads five modes: the same rows as the regular file.
    let o = blocklog_on_fifo(&fifo, &bytes, &["compare", "--format", "json", f]);
    let want = blocklog(&["compare", "--format", "json", r]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    same(&stdout(&o), &stdout(&want), "compare");
    // recover from a FIFO.
    let out = dir.path().join("out.log");
    let o = blocklog_on_fifo(
        &fifo,
        &bytes,
        &[
            "recover",
            "--mode",
            "tolerate-tail",
            f,
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let got = lib_read(&fs::read(&out).unwrap(), ReaderOptions::new());
    assert_eq!(
        got.payloads(),
        lib_read(&bytes, ReaderOptions::new()).payloads()
    );
}

#[test]
fn a_dash_is_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, records) = log_of(20);
    bytes.truncate(bytes.len() - 3);
    let file = write(dir.path(), "wal.log", &bytes);
    let r = file.to_str().unwrap();
    let piped = |args: &[&str]| {
        let mut child = spawn_blocklog(args, Stdio::piped());
        let mut stdin = child.stdin.take().unwrap();
        let data = bytes.clone();
        let feeder = thread::spawn(move || {
            use std::io::Write;
            for chunk in data.chunks(7000) {
                if stdin.write_all(chunk).is_err() {
                    break;
                }
            }
        });
        let o = output_within(child, 60, &format!("{args:?}"));
        feeder.join().unwrap();
        o
    };
    let o = piped(&["dump", "--json", "-"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&blocklog(&["dump", "--json", r])));
    // All records but the torn last, its tail `dropped` line, the end line.
    assert_eq!(json_lines(&o).len(), records.len() + 1);
    let o = piped(&["dump", "-"]);
    assert!(
        stdout(&o).starts_with("standard input: stream, mode tolerate-tail"),
        "{}",
        stdout(&o)
    );
    let o = piped(&["verify", "--mode", "absolute", "-"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("standard input: stream, "),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("REFUSED"), "{}", stdout(&o));
    let out = dir.path().join("out.log");
    let o = piped(&[
        "recover",
        "--mode",
        "skip-corrupt",
        "-",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("from standard input into"),
        "{}",
        stdout(&o)
    );
    let got = lib_read(&fs::read(&out).unwrap(), ReaderOptions::new());
    assert_eq!(got.records.len(), records.len() - 1);
    // Standard input redirected from a regular file reads the same.
    let o = output_within(
        spawn_blocklog(
            &["dump", "--json", "-"],
            Stdio::from(fs::File::open(&file).unwrap()),
        ),
        60,
        "dump - < file",
    );
    assert_eq!(stdout(&o), stdout(&blocklog(&["dump", "--json", r])));
}

#[cfg(target_os = "linux")]
#[test]
fn devices_are_refused_not_read_forever() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = log_of(3);
    let good = write(dir.path(), "good.log", &bytes);
    let out = dir.path().join("out.log");
    for args in [
        vec!["dump", "/dev/zero"],
        vec!["dump", "--json", "/dev/zero"],
        vec!["verify", "/dev/zero"],
        vec![
            "recover",
            "--mode",
            "skip-corrupt",
            "/dev/zero",
            "-o",
            out.to_str().unwrap(),
        ],
        vec!["compare", "/dev/zero"],
    ] {
        let o = output_within(
            spawn_blocklog(&args, Stdio::null()),
            60,
            &format!("{args:?}"),
        );
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).trim_end(),
            "blocklog: cannot read /dev/zero: not a regular file, FIFO or stdin (a character device)",
            "{args:?}"
        );
    }
    assert!(!out.exists());
    // verify goes on with the other files.
    let o = blocklog(&["verify", "/dev/zero", good.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).contains("verdict:  OK: clean"), "{}", stdout(&o));
    // /dev/zero as standard input: refused too.
    let o = output_within(
        spawn_blocklog(
            &["dump", "-"],
            Stdio::from(fs::File::open("/dev/zero").unwrap()),
        ),
        60,
        "dump - < /dev/zero",
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o)
            .starts_with("blocklog: cannot read standard input: not a regular file, FIFO or pipe"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn recover_force_replaces_only_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, records) = log_of(6);
    let input = write(dir.path(), "in.log", &bytes);
    let victim = write(dir.path(), "victim", b"not a log");
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let dangling = dir.path().join("dangling.log");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let subdir = dir.path().join("subdir.log");
    fs::create_dir(&subdir).unwrap();
    let fifo = dir.path().join("fifo.log");
    mkfifo(&fifo);
    for (out, kind) in [
        (&link, "a symbolic link"),
        (&dangling, "a symbolic link"),
        (&subdir, "a directory"),
        (&fifo, "a FIFO"),
    ] {
        for force in [true, false] {
            let mut args = vec!["recover", "--mode", "skip-corrupt"];
            if force {
                args.push("--force");
            }
            args.extend([input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
            let o = output_within(
                spawn_blocklog(&args, Stdio::null()),
                60,
                &format!("{args:?}"),
            );
            assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
            assert_eq!(
                stderr(&o).trim_end(),
                format!(
                    "blocklog: refusing to replace {}: it is {kind} (recover replaces only a regular file)",
                    out.display()
                )
            );
        }
    }
    // Nothing was replaced, nothing written through the link, no temp file left.
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&victim).unwrap(), b"not a log");
    assert!(subdir.is_dir());
    let names: HashSet<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    // A regular file is replaced with --force.
    let o = blocklog(&[
        "recover",
        "--mode",
        "skip-corrupt",
        "--force",
        input.to_str().unwrap(),
        "-o",
        victim.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(read_clean(&victim).0.len(), records.len());
}

/// Whether strace(1) can trace here (ptrace may be forbidden in containers).
fn strace_works() -> bool {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(target_os = "linux")]
#[test]
fn recover_syncs_the_directory_after_its_rename() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, records) = log_of(6);
    let input = write(dir.path(), "in.log", &bytes);
    // A relative output (no parent in the name): the directory is ".".
    let o = Command::new(env!("CARGO_BIN_EXE_blocklog"))
        .args(["recover", "--mode", "absolute", "in.log", "-o", "rel.log"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        read_clean(&dir.path().join("rel.log")).0.len(),
        records.len()
    );
    if !strace_works() {
        // Under CI the check must run (.ci/pre-tools.sh installs strace).
        assert!(
            std::env::var_os("CI").is_none(),
            "strace cannot trace under CI: the fsync order would go unchecked"
        );
        eprintln!("strace cannot trace here: the fsync order is not checked");
        return;
    }
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("out.log");
    let trace = dir.path().join("trace.txt");
    let o = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,open,fsync,fdatasync,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_blocklog"))
        .args([
            "recover",
            "--mode",
            "absolute",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let trace = fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains(&format!("\"{}\"", out.display())))
        .unwrap_or_else(|| panic!("no rename to the output:\n{trace}"));
    // The temp file is synced before the rename ...
    assert!(
        lines[..renamed].iter().any(|l| l.contains("fsync(")),
        "{trace}"
    );
    // ... and the output's directory, opened after it, is synced.
    let dir_fd = lines[renamed..]
        .iter()
        .find(|l| l.contains("open") && l.contains(&format!("\"{}\"", out_dir.display())))
        .and_then(|l| l.rsplit("= ").next())
        .map(|fd| fd.trim().to_string())
        .unwrap_or_else(|| panic!("the directory is not opened after the rename:\n{trace}"));
    assert!(
        lines[renamed..]
            .iter()
            .any(|l| l.contains(&format!("fsync({dir_fd})"))),
        "the directory is not synced after the rename:\n{trace}"
    );
}

#[test]
fn compare_goes_on_past_an_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = log_of(8);
    let good = write(dir.path(), "good.log", &bytes);
    let missing = dir.path().join("missing.log");
    let (g, m, d) = (
        good.to_str().unwrap(),
        missing.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    );
    let alone = blocklog(&["compare", "--format", "json", g]);
    assert_eq!(code(&alone), 0);
    let alone: Value = serde_json::from_str(&stdout(&alone)).unwrap();
    assert!(
        alone.get("unreadable").is_none(),
        "unchanged when all files read"
    );
    let o = blocklog(&["compare", "--format", "json", m, g, d]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    let errors: Vec<&str> = err.lines().collect();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(
        errors[0].starts_with(&format!("blocklog: cannot read {m}: ")),
        "{}",
        errors[0]
    );
    assert_eq!(
        errors[1],
        format!("blocklog: cannot read {d}: a directory without WAL files (NNNNNN.log)")
    );
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The readable file's rows exactly as alone; the others listed after the notes.
    assert_eq!(doc["rows"], alone["rows"]);
    assert_eq!(doc["notes"], alone["notes"]);
    // Key order (serde_json's Value sorts keys: check the text).
    let raw = stdout(&o);
    assert!(
        raw.starts_with(r#"{"kind":"compare","seed":null,"rows":["#),
        "{raw}"
    );
    let notes_at = raw.find(r#"],"notes":["#).unwrap();
    assert!(
        raw[notes_at..].contains(r#"],"unreadable":[{"source":"#),
        "{raw}"
    );
    assert!(raw.ends_with("]}\n"), "{raw}");
    assert_eq!(doc.as_object().unwrap().len(), 5);
    let unreadable = doc["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 2);
    assert_eq!(unreadable[0]["source"], m);
    assert_eq!(
        format!("blocklog: {}", unreadable[0]["error"].as_str().unwrap()),
        errors[0]
    );
    assert_eq!(unreadable[1]["source"], d);
    // The table too: the good file's rows, then a line per unreadable file.
    let chart = dir.path().join("c.svg");
    let o = blocklog(&["compare", "--chart", chart.to_str().unwrap(), g, m]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(g), "{text}");
    assert_eq!(text.matches("tolerate-tail").count(), 1, "{text}");
    assert!(
        text.contains(&format!("* {m}: UNREADABLE: cannot read {m}: ")),
        "{text}"
    );
    assert!(fs::metadata(&chart).unwrap().len() > 0);
}

// ---- dump --follow

/// Receives the next line of a followed dump (a hang guard of 60 s).
fn next_line(lines: &mpsc::Receiver<String>, what: &str) -> Option<Value> {
    match lines.recv_timeout(Duration::from_secs(60)) {
        Ok(l) => {
            Some(serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no line for 60 s"),
    }
}

#[test]
fn dump_follow_prints_records_as_they_complete_and_a_torn_tail_at_the_end() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    // The whole log the "writer" will append, record by record, and one
    // more record (spanning blocks) that the crash leaves torn.
    let (mut bytes, records) = log_of(24);
    let complete = bytes.len();
    let mut w = Writer::new(Vec::new());
    // Re-encode the torn record after the others: same writer state.
    for (_, p) in &records {
        w.add_record(p).unwrap();
    }
    let torn_at = w.add_record(&[0x5a; 50_000]).unwrap() as usize;
    let full = w.into_inner().unwrap();
    assert_eq!(&full[..complete], &bytes[..]);
    bytes = full;
    let cut = torn_at + 40_000; // inside the torn record's second fragment
    assert!(cut < bytes.len());
    let mut ends: Vec<usize> = records.iter().skip(1).map(|r| r.0 as usize).collect();
    ends.push(torn_at);
    ends.push(cut);

    let path = dir.path().join("000005.log");
    fs::File::create(&path).unwrap();
    let mut child = spawn_blocklog(
        &[
            "dump",
            "--follow",
            "--json",
            "--idle-exit",
            "2",
            path.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let (go, gate) = mpsc::channel::<()>();
    let writer = {
        let path = path.clone();
        thread::spawn(move || {
            let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
            let mut at = 0;
            for (i, &end) in ends.iter().enumerate() {
                let piece = &bytes[at..end];
                if i % 3 == 1 || i == ends.len() - 1 {
                    // In several small writes, with pauses: an incomplete
                    // record at the end must wait, never be dropped.
                    for part in piece.chunks(piece.len() / 3 + 1) {
                        f.write_all(part).unwrap();
                        f.flush().unwrap();
                        thread::sleep(Duration::from_millis(15));
                    }
                } else {
                    f.write_all(piece).unwrap();
                }
                at = end;
                if i == 0 {
                    // The first record's line comes before anything more is written.
                    gate.recv_timeout(Duration::from_secs(60))
                        .expect("the first record was not printed while following");
                }
            }
            // The "crash": the torn record's rest is never written.
        })
    };
    let first = next_line(&lines, "first record").expect("a line");
    assert_eq!(first["kind"], "record", "{first}");
    assert_eq!(first["offset"], records[0].0);
    go.send(()).unwrap();
    let mut got = vec![first];
    while let Some(line) = next_line(&lines, "follow") {
        got.push(line);
    }
    writer.join().unwrap();
    reader.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "blocklog did not exit");
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    // Every record exactly once, in order; then the torn tail; then the end.
    assert_eq!(got.len(), records.len() + 2, "{got:#?}");
    for (line, (offset, payload)) in got.iter().zip(&records) {
        assert_eq!(line["kind"], "record", "{line}");
        assert_eq!(line["offset"], *offset);
        assert_eq!(line["payload_hex"], hex(payload));
    }
    let dropped = &got[records.len()];
    assert_eq!(dropped["kind"], "dropped", "{dropped}");
    assert_eq!(dropped["offset"], torn_at as u64);
    assert_eq!(dropped["tail"], true);
    let end = got.last().unwrap();
    assert_eq!(end["kind"], "end");
    assert_eq!(end["records"], records.len() as u64);
    assert_eq!(end["outcome"], "tail-dropped");
    // Exactly what a dump of the final file prints.
    let o = blocklog(&["dump", "--json", path.to_str().unwrap()]);
    assert_eq!(json_lines(&o), got);
}

#[test]
fn dump_follow_of_a_complete_log_is_its_dump() {
    let dir = tempfile::tempdir().unwrap();
    let all = scenarios::all(scenarios::DEFAULT_SEED);
    for s in all.iter().filter(|s| {
        matches!(
            s.name,
            "torn-payload" | "bit-flip-mid-file" | "stale-recycled-tail"
        )
    }) {
        let path = write(dir.path(), &format!("{}.log", s.name), &s.bytes);
        let p = path.to_str().unwrap();
        let runs = ["tolerate-tail", "absolute", "point-in-time", "skip-corrupt"]
            .map(|m| (m, &["--json"][..]))
            .into_iter()
            .chain([
                ("tolerate-tail", &[][..]),
                ("skip-corrupt", &["--json", "--start-offset", "40000"][..]),
            ]);
        for (mode, extra) in runs {
            let mut args = vec!["dump", "--mode", mode];
            args.extend_from_slice(extra);
            args.push(p);
            let want = blocklog(&args);
            args.splice(1..1, ["--follow", "--idle-exit", "0.05"]);
            let o = output_within(
                spawn_blocklog(&args, Stdio::null()),
                60,
                &format!("{args:?}"),
            );
            assert_eq!(code(&o), code(&want), "{args:?}: {}", stderr(&o));
            assert_eq!(stdout(&o), stdout(&want), "{args:?}");
            assert_eq!(stderr(&o), stderr(&want), "{args:?}");
        }
    }
    // Streams cannot be followed; --idle-exit needs --follow.
    let path = write(dir.path(), "x.log", &all[0].bytes);
    let o = output_within(
        spawn_blocklog(
            &["dump", "--follow", "-"],
            Stdio::from(fs::File::open(&path).unwrap()),
        ),
        60,
        "follow -",
    );
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).starts_with("blocklog: cannot follow standard input: it is a stream"),
        "{}",
        stderr(&o)
    );
    let o = blocklog(&["dump", "--idle-exit", "1", path.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--follow"), "{}", stderr(&o));
}
