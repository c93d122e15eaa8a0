//! The `blocklog` command on WAL directories (issue 11): `dump --json DIR`
//! (the lines of `docs/cli.md`, "Directories"), `verify DIR`, `compare`'s
//! four-file scenario and `compare DIR`, on our WAL and on a real RocksDB
//! database directory. Each test is named after its scenario.

use std::fs;
use std::path::Path;
use std::process::Command;

use blocklog::wal::dir;
use blocklog::{RecoveryMode, Writer};
use blocklog_testkit::encoding::hex;
use blocklog_testkit::interop::{encode_batch, generator, Op};
use blocklog_testkit::scenarios::{wal_scenario, WalScenario, DEFAULT_SEED};
use serde_json::{json, Value};

mod common;
use common::{blocklog, code, json_lines, stderr, stdout};

/// The four-file scenario (four files of 50 batches, batch 75 in the
/// middle of file 2 damaged), written into a fresh directory.
fn four_files() -> (tempfile::TempDir, WalScenario) {
    let dir = tempfile::tempdir().unwrap();
    let s = wal_scenario(DEFAULT_SEED).unwrap();
    s.write_to(dir.path()).unwrap();
    (dir, s)
}

fn dump(dir: &Path, args: &[&str]) -> (i32, Vec<Value>) {
    let mut all = vec!["dump", "--json"];
    all.extend_from_slice(args);
    all.push(dir.to_str().unwrap());
    let o = blocklog(&all);
    // Each line keeps its text (key `_text`), for the key order.
    let lines = stdout(&o)
        .lines()
        .zip(json_lines(&o))
        .map(|(text, mut v)| {
            v["_text"] = text.into();
            v
        })
        .collect();
    (code(&o), lines)
}

/// A line's text as printed.
fn text(line: &Value) -> &str {
    line["_text"].as_str().unwrap()
}

fn kinds<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["kind"] == kind).collect()
}

/// The runs of consecutive sequence numbers of the record lines.
fn seq_ranges(lines: &[Value]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for l in kinds(lines, "record") {
        let (seq, count) = (l["seq"].as_u64().unwrap(), l["count"].as_u64().unwrap());
        match runs.last_mut() {
            Some(r) if r.1 + 1 == seq => r.1 = seq + count - 1,
            _ => runs.push((seq, seq + count - 1)),
        }
    }
    runs
}

/// The keys of a line in the order printed (the lines are flat objects of
/// scalars; serde_json's maps sort their keys, so the text is read).
fn keys(line: &Value) -> Vec<String> {
    let text = line["_text"].as_str().expect("a line from dump()");
    let mut found: Vec<(usize, String)> = line
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "_text")
        .map(|k| (text.find(&format!("\"{k}\":")).unwrap(), k.clone()))
        .collect();
    found.sort();
    found.into_iter().map(|f| f.1).collect()
}

/// Every record line is the batch written with its sequence number, in
/// the file it was written to, with the keys of the contract in order.
fn records_are_the_written_batches(lines: &[Value], s: &WalScenario) {
    for l in kinds(lines, "record") {
        assert_eq!(
            keys(l),
            [
                "kind",
                "offset",
                "length",
                "payload_hex",
                "file",
                "seq",
                "count"
            ]
        );
        let b = &s.batches[(l["seq"].as_u64().unwrap() - 1) as usize];
        assert!(b.intact);
        assert_eq!(l["file"], dir::file_name(b.file));
        assert_eq!(l["offset"], b.offset);
        assert_eq!(l["length"], b.payload.len());
        assert_eq!(l["payload_hex"], hex(&b.payload));
        assert_eq!(l["count"], 1);
    }
}

#[test]
fn four_files_file_two_damaged_mid_way_dump_json_per_mode() {
    let (dir, s) = four_files();
    let victim = &s.batches[74];
    // (mode, exit status, outcome, seq ranges, gaps, last seq)
    type Case<'a> = (&'a str, i32, &'a str, &'a [(u64, u64)], u64, u64);
    let cases: [Case; 4] = [
        ("tolerate-tail", 1, "error", &[(1, 74)], 0, 74),
        ("absolute", 1, "error", &[(1, 74)], 0, 74),
        ("point-in-time", 0, "stopped", &[(1, 74)], 0, 74),
        ("skip-corrupt", 0, "skipped", &[(1, 74), (101, 200)], 1, 200),
    ];
    for (mode, status, outcome, ranges, gaps, last_seq) in cases {
        let (c, lines) = dump(dir.path(), &["--mode", mode]);
        assert_eq!(c, status, "{mode}");
        assert_eq!(seq_ranges(&lines), ranges, "{mode}");
        records_are_the_written_batches(&lines, &s);
        let end = lines.last().unwrap();
        assert_eq!(
            keys(end),
            [
                "kind",
                "records",
                "dropped_bytes",
                "outcome",
                "error",
                "files",
                "gaps",
                "last_seq"
            ],
            "{mode}"
        );
        assert_eq!(end["outcome"], outcome, "{mode}");
        assert_eq!(end["files"], 4, "{mode}");
        assert_eq!(end["gaps"], gaps, "{mode}");
        assert_eq!(end["last_seq"], last_seq, "{mode}");
        let records: u64 = ranges.iter().map(|r| r.1 - r.0 + 1).sum();
        assert_eq!(end["records"], records, "{mode}");
        assert_eq!(kinds(&lines, "gap").len() as u64, gaps, "{mode}");
        let dropped = kinds(&lines, "dropped");
        let dropped_bytes: u64 = dropped.iter().map(|d| d["length"].as_u64().unwrap()).sum();
        assert_eq!(end["dropped_bytes"], dropped_bytes, "{mode}");
        match status {
            // Refused: the damage is the error, not a dropped line.
            1 => {
                assert!(dropped.is_empty(), "{mode}");
                let e = end["error"].as_str().unwrap();
                assert!(e.contains("file 2") && e.contains("interior"), "{e}");
            }
            _ => {
                assert!(end["error"].is_null());
                let d = dropped[0];
                assert_eq!(
                    keys(d),
                    ["kind", "offset", "length", "reason", "tail", "file"]
                );
                assert_eq!(
                    (&d["file"], &d["offset"], &d["reason"], &d["tail"]),
                    (
                        &json!("000002.log"),
                        &json!(victim.offset),
                        &json!("checksum-mismatch"),
                        &json!(false)
                    ),
                    "{mode}"
                );
            }
        }
    }
    // Skip-corrupt: between batch 74 and batch 101, the damage, the missing
    // seal, then the gap 75..101 that file 3's predecessor record reveals.
    let (_, lines) = dump(dir.path(), &["--mode", "skip-corrupt"]);
    let i74 = lines.iter().position(|l| l["seq"] == 74).unwrap();
    let i101 = lines.iter().position(|l| l["seq"] == 101).unwrap();
    let between: Vec<&Value> = lines[i74 + 1..i101].iter().collect();
    assert_eq!(between.len(), 3, "{between:?}");
    assert_eq!(between[1]["reason"], "unsealed");
    assert_eq!(
        text(between[2]),
        r#"{"kind":"gap","file":"000003.log","offset":0,"expected_seq":75,"found_seq":101}"#
    );
    // With scan resync, skip-corrupt salvages 76-100: the gap is batch 75.
    let (c, lines) = dump(dir.path(), &["--mode", "skip-corrupt", "--resync", "scan"]);
    assert_eq!(c, 0);
    assert_eq!(seq_ranges(&lines), [(1, 74), (76, 200)]);
    let gaps = kinds(&lines, "gap");
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (&gaps[0]["expected_seq"], &gaps[0]["found_seq"]),
        (&json!(75), &json!(76))
    );
    assert_eq!(lines.last().unwrap()["gaps"], 1);
}

#[test]
fn four_files_file_two_damaged_mid_way_verify_exit_statuses_per_mode() {
    let (dir, _) = four_files();
    let path = dir.path().to_str().unwrap();
    for (mode, status, verdict) in [
        (
            "tolerate-tail",
            1,
            "REFUSED: tolerate-tail recovery refuses the WAL",
        ),
        ("absolute", 1, "REFUSED: absolute recovery refuses the WAL"),
        (
            "point-in-time",
            0,
            "STOPPED at interior checksum-mismatch damage in file 2",
        ),
        ("skip-corrupt", 0, "SKIPPED: "),
    ] {
        let o = blocklog(&["verify", "--mode", mode, path]);
        assert_eq!(code(&o), status, "{mode}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("4 WAL files (blocklog's)"), "{text}");
        assert!(
            text.contains(&format!("  verdict:  {verdict}")),
            "{mode}: {text}"
        );
        assert!(
            text.contains("000002.log: ") && text.contains("seq 51-74"),
            "{text}"
        );
    }
    let o = blocklog(&["verify", "--mode", "skip-corrupt", path]);
    let text = stdout(&o);
    assert!(
        text.contains("sequence numbers 75..100 missing (expected 75, found 101)"),
        "{text}"
    );
    assert!(
        text.contains("batches:  174, last seq 200; 1 gap"),
        "{text}"
    );
    // A file and a directory in one call: the worst status wins.
    let empty = dir.path().join("empty.log");
    fs::write(&empty, b"").unwrap();
    let o = blocklog(&["verify", empty.to_str().unwrap(), path]);
    assert_eq!(code(&o), 1);
}

/// A directory of another writer's files (RocksDB-style batches: the
/// header, then tagged entries), numbered as given.
fn foreign_dir(files: &[(u64, &[(u64, u32)])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (number, batches) in files {
        let mut w = Writer::new(Vec::new());
        for &(seq, count) in batches.iter() {
            let ops: Vec<Op> = (0..count)
                .map(|i| Op::Put(format!("k{seq}.{i}").into_bytes(), b"v".to_vec()))
                .collect();
            w.add_record(&encode_batch(seq, &ops)).unwrap();
        }
        fs::write(dir::path_of(dir.path(), *number), w.into_inner().unwrap()).unwrap();
    }
    dir
}

#[test]
fn sequence_regression_is_a_gap_line_then_a_dropped_batch() {
    // 1-4, then a batch of 3 (below the expected 5), then 5-6.
    let dir = foreign_dir(&[(7, &[(1, 4), (3, 1), (5, 2)])]);
    let gap = r#"{"kind":"gap","file":"000007.log","offset":"#;
    let (c, lines) = dump(dir.path(), &["--mode", "skip-corrupt"]);
    assert_eq!(c, 0);
    assert_eq!(seq_ranges(&lines), [(1, 6)]);
    let kinds_seen: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds_seen, ["record", "gap", "dropped", "record", "end"]);
    assert!(text(&lines[1]).starts_with(gap), "{}", lines[1]);
    assert_eq!(
        (&lines[1]["expected_seq"], &lines[1]["found_seq"]),
        (&json!(5), &json!(3))
    );
    assert_eq!(lines[2]["reason"], "sequence-regression");
    assert_eq!(lines[2]["offset"], lines[1]["offset"]);
    let end = lines.last().unwrap();
    assert_eq!(
        (&end["gaps"], &end["outcome"]),
        (&json!(1), &json!("skipped"))
    );
    // Refused: the gap line, then the end line with the error (exit 1).
    for mode in ["tolerate-tail", "absolute"] {
        let (c, lines) = dump(dir.path(), &["--mode", mode]);
        assert_eq!(c, 1, "{mode}");
        let kinds_seen: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds_seen, ["record", "gap", "end"], "{mode}");
        assert_eq!(lines[1]["found_seq"], 3);
        assert_eq!(lines[2]["gaps"], 1);
        assert_eq!(lines[2]["outcome"], "error");
    }
    let (c, lines) = dump(dir.path(), &["--mode", "point-in-time"]);
    assert_eq!(c, 0);
    let kinds_seen: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds_seen, ["record", "gap", "dropped", "end"]);
    assert_eq!(lines[3]["outcome"], "stopped");
}

#[test]
fn synthetic_foreign_directory_with_a_sequence_hole_reports_it() {
    // RocksDB-like numbers (4, 9, 11); 6..=9 were in a file now gone.
    let dir = foreign_dir(&[(4, &[(1, 3), (4, 2)]), (9, &[(10, 1)]), (11, &[(11, 5)])]);
    let (c, lines) = dump(dir.path(), &["--mode", "skip-corrupt"]);
    assert_eq!(c, 0);
    assert_eq!(seq_ranges(&lines), [(1, 5), (10, 15)]);
    let gaps = kinds(&lines, "gap");
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        text(gaps[0]),
        r#"{"kind":"gap","file":"000009.log","offset":0,"expected_seq":6,"found_seq":10}"#
    );
    let end = lines.last().unwrap();
    assert_eq!(
        (
            &end["files"],
            &end["gaps"],
            &end["last_seq"],
            &end["outcome"]
        ),
        (&json!(3), &json!(1), &json!(15), &json!("skipped"))
    );
    assert!(kinds(&lines, "dropped").is_empty(), "no seal is looked for");
    assert!(
        kinds(&lines, "missing-files").is_empty(),
        "numbers may skip"
    );
    let (c, lines) = dump(dir.path(), &["--mode", "tolerate-tail"]);
    assert_eq!(c, 1);
    assert_eq!(seq_ranges(&lines), [(1, 5)]);
    assert_eq!(kinds(&lines, "gap").len(), 1);
    let o = blocklog(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("(foreign: sequence numbers checked, no markers)"));
    // Told it is blocklog's, the same directory is refused at once.
    let (c, lines) = dump(dir.path(), &["--wal", "blocklog"]);
    assert_eq!(c, 1);
    assert_eq!(lines.last().unwrap()["records"], 0);
}

/// What `gen waldir` printed: the batches still in WAL files
/// `(file, seq, count)`, the files purged, the WAL files left.
struct GenDir {
    batches: Vec<(String, u64, u64)>,
    purged: u64,
    wals: Vec<String>,
}

fn gen_waldir(gen: &Path, dir: &Path, recycle: bool) -> GenDir {
    let mut cmd = Command::new(gen);
    cmd.arg("waldir").arg(dir);
    if recycle {
        cmd.arg("recycle");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut g = GenDir {
        batches: vec![],
        purged: 0,
        wals: vec![],
    };
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let w: Vec<&str> = line.split(' ').collect();
        match w.as_slice() {
            ["batch", f, s, c] => {
                g.batches
                    .push((f.to_string(), s.parse().unwrap(), c.parse().unwrap()))
            }
            ["purged", n] => g.purged = n.parse().unwrap(),
            ["wal", f] => g.wals.push(f.to_string()),
            _ => panic!("gen waldir printed {line:?}"),
        }
    }
    g
}

/// A real RocksDB database directory, read in every mode: one record line
/// per batch RocksDB wrote to the WAL files still there, with its file,
/// sequence number and count; no gap, no drop; and verify says clean.
fn rocksdb_dir_reads_clean(dir: &Path, g: &GenDir, stale_tail: bool) {
    let numbers: Vec<u64> = g.wals.iter().map(|w| dir::parse_name(w).unwrap()).collect();
    assert!(numbers.len() >= 2, "{:?}", g.wals);
    assert!(
        numbers.windows(2).all(|p| p[1] > p[0] + 1),
        "numbers skip: {numbers:?}"
    );
    assert!(g.purged > 0, "the oldest WAL files were purged");
    assert!(g.batches[0].1 > 1, "the log starts after the purged files");
    for mode in RecoveryMode::ALL {
        let (c, lines) = dump(dir, &["--mode", mode.as_str()]);
        assert_eq!(c, 0, "{mode}");
        let got: Vec<(String, u64, u64)> = kinds(&lines, "record")
            .iter()
            .map(|l| {
                (
                    l["file"].as_str().unwrap().to_string(),
                    l["seq"].as_u64().unwrap(),
                    l["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, g.batches, "{mode}");
        assert_eq!(lines.len(), got.len() + 1, "{mode}: no gap, no drop");
        let end = lines.last().unwrap();
        let (last_file, last, count) = g.batches.last().unwrap();
        assert!(g.wals.contains(last_file));
        assert_eq!(
            (
                &end["files"],
                &end["gaps"],
                &end["last_seq"],
                &end["outcome"]
            ),
            (
                &json!(g.wals.len()),
                &json!(0),
                &json!(last + count - 1),
                &json!("clean")
            ),
            "{mode}"
        );
    }
    let o = blocklog(&["verify", "--mode", "absolute", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let text = stdout(&o);
    assert!(
        text.contains("(foreign: sequence numbers checked, no markers)"),
        "{text}"
    );
    assert!(text.contains("  verdict:  OK: clean"), "{text}");
    if stale_tail {
        // The reused file's previous use is there, and benign: what a
        // single-file verify of it says.
        let last = dir.join(g.wals.last().unwrap());
        let o = blocklog(&["verify", last.to_str().unwrap()]);
        assert!(
            stdout(&o).contains("benign:   previous-use"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn rocksdb_database_directory_dumps_with_seq_and_count_and_no_spurious_gap() {
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let db = root.path().join("db");
    let g = gen_waldir(&gen, &db, false);
    assert!(db.join("CURRENT").is_file() && db.join("LOCK").is_file());
    rocksdb_dir_reads_clean(&db, &g, false);
    // The same directory with a middle WAL file removed: the hole shows in
    // the sequence numbers (the file numbers cannot tell).
    fs::remove_file(db.join(&g.wals[1])).unwrap();
    let (c, lines) = dump(&db, &["--mode", "skip-corrupt"]);
    assert_eq!(c, 0);
    let gaps = kinds(&lines, "gap");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["file"], g.wals[2].as_str());
}

#[test]
fn rocksdb_recycled_wal_directory_reads_with_each_files_number() {
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let db = root.path().join("db");
    let g = gen_waldir(&gen, &db, true);
    // Recyclable headers: the log number in them is the file's number.
    for w in &g.wals {
        let bytes = fs::read(db.join(w)).unwrap();
        assert!((5..=8).contains(&bytes[6]), "{w}: recyclable records");
    }
    rocksdb_dir_reads_clean(&db, &g, false);
    // Taken while the database was open: the reused file's stale records
    // of its previous number are still behind the new ones.
    rocksdb_dir_reads_clean(&root.path().join("db.open"), &g, true);
}

#[test]
fn compare_shows_the_four_file_scenario_per_mode_and_the_old_style_reader() {
    let o = blocklog(&["compare", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows: Vec<&Value> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "four-files-file-2-damaged")
        .collect();
    // (mode, resync, recovered, sequences, gaps reported, damage reported, outcome)
    let want = [
        (
            "tolerate-tail",
            json!("block"),
            74,
            json!([[1, 74]]),
            0,
            true,
            "error",
        ),
        (
            "absolute",
            json!("block"),
            74,
            json!([[1, 74]]),
            0,
            true,
            "error",
        ),
        (
            "point-in-time",
            json!("block"),
            74,
            json!([[1, 74]]),
            0,
            true,
            "stopped",
        ),
        (
            "skip-corrupt",
            json!("block"),
            174,
            json!([[1, 74], [101, 200]]),
            1,
            true,
            "skipped",
        ),
        (
            "skip-corrupt",
            json!("scan"),
            199,
            json!([[1, 74], [76, 200]]),
            1,
            true,
            "skipped",
        ),
        (
            "old-style",
            Value::Null,
            174,
            json!([[1, 74], [101, 200]]),
            0,
            false,
            "clean",
        ),
    ];
    assert_eq!(rows.len(), want.len());
    for (row, (mode, resync, recovered, sequences, gaps, reported, outcome)) in
        rows.iter().zip(want)
    {
        let what = format!("{mode} {resync}");
        assert_eq!(row["mode"], mode, "{what}");
        assert_eq!(row["resync"], resync, "{what}");
        assert_eq!(
            (&row["written"], &row["intact"]),
            (&json!(200), &json!(199)),
            "{what}"
        );
        assert_eq!(row["recovered"], recovered, "{what}");
        assert_eq!(row["lost"], 199 - recovered, "{what}");
        assert_eq!(row["foreign"], 0, "{what}");
        assert_eq!(row["sequences"], sequences, "{what}");
        assert_eq!(row["gaps_reported"], gaps, "{what}");
        assert_eq!(row["damage_present"], true, "{what}");
        assert_eq!(row["damage_reported"], reported, "{what}");
        assert_eq!(row["outcome"], outcome, "{what}");
    }
    // The table (what `cargo run --release -- compare` prints): the old
    // style reader's hole is MISSED, skip-corrupt's reported.
    let o = blocklog(&["compare"]);
    assert_eq!(code(&o), 0);
    let table = stdout(&o);
    let line = |label: &str| {
        table
            .lines()
            .skip_while(|l| !l.starts_with("four-files-file-2-damaged"))
            .find(|l| l.split_whitespace().any(|w| w == label))
            .unwrap_or_else(|| panic!("no {label} row in {table}"))
            .to_string()
    };
    assert!(
        line("old-style").contains("MISSED    MISSED"),
        "{}",
        line("old-style")
    );
    assert!(
        line("skip-corrupt").contains("reported"),
        "{}",
        line("skip-corrupt")
    );
    assert!(
        table.contains("old-style 1-74, 101-200 (hole not reported)"),
        "{table}"
    );
    // --save-scenarios writes the directory, which dump reads as above.
    let saved = tempfile::tempdir().unwrap();
    let o = blocklog(&[
        "compare",
        "--save-scenarios",
        saved.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let dir = saved.path().join("13-four-files-file-2-damaged");
    assert_eq!(dir::list(&dir).unwrap(), [1, 2, 3, 4]);
    let (c, lines) = dump(&dir, &["--mode", "skip-corrupt"]);
    assert_eq!(c, 0);
    assert_eq!(seq_ranges(&lines), [(1, 74), (101, 200)]);
}

#[test]
fn compare_on_a_wal_directory_reads_it_in_every_mode() {
    let (dir, _) = four_files();
    let o = blocklog(&["compare", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    // Intact: the union of what the modes returned (scan salvages 199).
    assert!(rows
        .iter()
        .all(|r| r["intact"] == 199 && r["written"].is_null()));
    let recovered: Vec<u64> = rows
        .iter()
        .map(|r| r["recovered"].as_u64().unwrap())
        .collect();
    assert_eq!(recovered, [74, 74, 74, 174, 199]);
    assert_eq!(rows[3]["sequences"], json!([[1, 74], [101, 200]]));
    assert_eq!(rows[3]["gaps_reported"], 1);
}

#[test]
fn options_for_one_file_are_usage_errors_on_a_directory() {
    let (dir, _) = four_files();
    let path = dir.path().to_str().unwrap();
    let map = dir.path().join("m.svg").to_str().unwrap().to_string();
    for args in [
        vec!["dump", "--follow", path],
        vec!["dump", "--start-offset", "10", path],
        vec!["dump", "--log-number", "3", path],
        vec!["verify", "--map", &map, path],
    ] {
        let o = blocklog(&args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains("is a WAL directory"), "{}", stderr(&o));
    }
    assert!(!Path::new(&map).exists(), "nothing drawn");
    let file = dir.path().join("000001.log");
    let o = blocklog(&["dump", "--wal", "foreign", file.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--wal applies to a WAL directory"));
    // One file of the directory is still a plain log (the markers benign).
    let o = blocklog(&["dump", "--json", file.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    assert_eq!(json_lines(&o).last().unwrap()["records"], 50);
}
