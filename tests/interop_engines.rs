//! Logs written by our [`Writer`] are replayed by the real engines.
//!
//! The test builds WriteBatch payloads itself (puts, deletes, values that
//! span many blocks), writes them with our writer in the legacy and the
//! recyclable format, places the file as the WAL of a fresh LevelDB 1.23 or
//! RocksDB 7.8.3 database (`gen mkdb`), opens it under each recovery mode
//! (`gen dump`) and checks that the engine replayed every batch (RocksDB's
//! WAL filter reports each one) and that every key holds the value the
//! batches leave.
//!
//! It needs the generator binary, `tests/interop/gen/out/gen` (build it with
//! `tests/interop/gen/generate.sh build`, which installs the engines with
//! apt-get), or a path in `BLOCKLOG_INTEROP_GEN`. Without it the tests print
//! why they skip; under CI (`CI` set) they fail instead.
//!
//! The `rocksdb_11_*` and `rocksdb_9_8_*` tests replay WAL directories our
//! `Wal` wrote with the newer RocksDB releases of two PyPI wheels
//! (`tests/interop/pyrocks/pyrocks.py`), from the venv `.ci/pre-interop.sh`
//! makes (or `BLOCKLOG_PYROCKS_PYTHON`); without it they skip the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use blocklog::{Writer, WriterOptions};
use blocklog_testkit::encoding::*;
use blocklog_testkit::interop::*;

/// A deterministic workload: batches of puts and deletes.
struct Workload {
    batches: Vec<Batch>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Workload {
    /// About 150 batches, 1 to 6 ops each; values from 0 bytes to 150 KB,
    /// so that records span up to six blocks; a quarter of the ops delete
    /// a key written earlier; sequences start at `first_seq`. Random values,
    /// or (`compressible`) text with a random byte every 64.
    fn new(seed: u64, first_seq: u64, compressible: bool) -> Workload {
        let mut rng = seed;
        let mut seq = first_seq;
        let mut live: Vec<Vec<u8>> = vec![];
        let mut batches = vec![];
        let mut next_key = 0u32;
        for i in 0..150 {
            let nops = 1 + (splitmix(&mut rng) % 6) as usize;
            let mut ops = vec![];
            for _ in 0..nops {
                let r = splitmix(&mut rng);
                if r.is_multiple_of(4) && !live.is_empty() {
                    let k = live.swap_remove((r >> 8) as usize % live.len());
                    ops.push(Op::Del(k));
                    continue;
                }
                let len = match r % 10 {
                    0 => 0,
                    1 | 2 => 40_000 + (r >> 16) as usize % 110_000, // spans blocks
                    3 => 32_768 - 7 - 12 - 20,                      // about one block
                    _ => (r >> 16) as usize % 2_000,
                };
                let mut v = Vec::with_capacity(len);
                while v.len() < len {
                    let x = splitmix(&mut rng);
                    if compressible {
                        v.extend_from_slice(format!("blocklog {:>16} ", x % 1000).as_bytes());
                        v.extend_from_slice(&[b'.'; 36]);
                        v.push(x as u8);
                    } else {
                        v.extend_from_slice(&x.to_le_bytes());
                    }
                }
                v.truncate(len);
                let k = format!("key{next_key:06}-{i}").into_bytes();
                next_key += 1;
                live.push(k.clone());
                ops.push(Op::Put(k, v));
            }
            let count = ops.len() as u32;
            batches.push(Batch { seq, count, ops });
            seq += u64::from(count);
        }
        Workload { batches }
    }

    fn reps(&self) -> Vec<Vec<u8>> {
        self.batches
            .iter()
            .map(|b| encode_batch(b.seq, &b.ops))
            .collect()
    }

    /// What the database holds after every batch.
    fn state(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut m = BTreeMap::new();
        for b in &self.batches {
            for op in &b.ops {
                match op {
                    Op::Put(k, v) => {
                        m.insert(k.clone(), v.clone());
                    }
                    Op::Del(k) => {
                        m.remove(k);
                    }
                }
            }
        }
        m
    }

    fn last_seq(&self) -> u64 {
        let b = self.batches.last().unwrap();
        b.seq + u64::from(b.count) - 1
    }
}

/// What `gen dump` printed.
#[derive(Debug, Default)]
struct Dump {
    open_ok: bool,
    status: String,
    /// (seq, count) of each batch RocksDB's recovery replayed.
    batches: Vec<(u64, u32)>,
    latest_seq: Option<u64>,
    kv: BTreeMap<Vec<u8>, Vec<u8>>,
}

fn run(gen: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(gen)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", gen.display()));
    let stdout = String::from_utf8(out.stdout).expect("gen prints text");
    (out.status.success(), stdout)
}

/// Creates a fresh database of `engine` in `dir` and returns the path of
/// the WAL it will replay next.
fn mkdb(gen: &Path, engine: &str, dir: &Path) -> PathBuf {
    let (ok, out) = run(gen, &["mkdb", engine, dir.to_str().unwrap()]);
    assert!(ok, "gen mkdb {engine}: {out}");
    let w: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(w.first(), Some(&"wal"), "gen mkdb printed {out:?}");
    dir.join(w[1])
}

fn dump(gen: &Path, args: &[&str]) -> Dump {
    let (ok, out) = run(gen, args);
    dump_output(ok, &out)
}

/// Parses the output of `gen dump` (or `rocksdb10.py dump`); `ok`: its exit status.
fn dump_output(ok: bool, out: &str) -> Dump {
    let mut d = Dump::default();
    let mut count = None;
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["batch", seq, n] => d.batches.push((seq.parse().unwrap(), n.parse().unwrap())),
            ["open", "ok"] => d.open_ok = true,
            ["open", "error", ..] => d.status = line.to_string(),
            ["latest_seq", n] => d.latest_seq = Some(n.parse().unwrap()),
            ["kv", k, v] => {
                let v = if *v == "=" { vec![] } else { unhex(v) };
                d.kv.insert(unhex(k), v);
            }
            ["count", n] => count = Some(n.parse::<usize>().unwrap()),
            _ => panic!("gen dump printed an unknown line {line:?}"),
        }
    }
    assert_eq!(ok, d.open_ok, "exit status vs output: {out}");
    if d.open_ok {
        assert_eq!(count, Some(d.kv.len()), "kv lines vs count");
    }
    d
}

/// Copies the template database (so that each open starts from the same
/// state: a dump recovers, which changes the directory).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Writes `reps` with `opts`, returns the log.
fn write_log(opts: WriterOptions, reps: &[Vec<u8>]) -> Vec<u8> {
    let mut w: Writer<Vec<u8>> = opts.build(Vec::new());
    for r in reps {
        w.add_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

fn check_replay(what: &str, d: &Dump, w: &Workload, rocksdb: bool) {
    assert!(d.open_ok, "{what}: {}", d.status);
    if rocksdb {
        let want: Vec<(u64, u32)> = w.batches.iter().map(|b| (b.seq, b.count)).collect();
        assert_eq!(d.batches, want, "{what}: batches replayed");
        assert_eq!(d.latest_seq, Some(w.last_seq()), "{what}: latest sequence");
    }
    let state = w.state();
    assert_eq!(d.kv.len(), state.len(), "{what}: number of keys");
    for (k, v) in &state {
        match d.kv.get(k) {
            Some(got) => assert!(
                got == v,
                "{what}: key {} has a {}-byte value, expected {} bytes",
                String::from_utf8_lossy(k),
                got.len(),
                v.len()
            ),
            None => panic!("{what}: key {} missing", String::from_utf8_lossy(k)),
        }
    }
}

/// Places `log` as the WAL of a copy of `template` and opens it.
fn replay(gen: &Path, template: &Path, wal_name: &str, log: &[u8], args: &[&str]) -> Dump {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    copy_dir(template, &db);
    std::fs::write(db.join(wal_name), log).unwrap();
    let mut full = vec!["dump"];
    full.push(args[0]);
    full.push(db.to_str().unwrap());
    full.extend_from_slice(&args[1..]);
    dump(gen, &full)
}

fn template(gen: &Path, engine: &str, root: &Path) -> (PathBuf, String, u32) {
    let dir = root.join(engine);
    let wal = mkdb(gen, engine, &dir);
    let name = wal.file_name().unwrap().to_str().unwrap().to_string();
    let number: u32 = name.trim_end_matches(".log").parse().unwrap();
    (dir, name, number)
}

fn assert_spans_blocks(log: &[u8]) {
    assert!(log.len() > 40 * 32768, "log of {} bytes", log.len());
}

#[test]
fn leveldb_replays_our_legacy_log() {
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let (tmpl, wal, _) = template(&gen, "leveldb", root.path());
    let w = Workload::new(1, 1, false);
    let log = write_log(WriterOptions::new(), &w.reps());
    assert_spans_blocks(&log);
    for mode in ["lenient", "paranoid"] {
        let d = replay(&gen, &tmpl, &wal, &log, &["leveldb", mode]);
        check_replay(&format!("leveldb {mode}"), &d, &w, false);
    }
}

#[test]
fn rocksdb_replays_our_legacy_log_in_every_mode() {
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let (tmpl, wal, _) = template(&gen, "rocksdb", root.path());
    let w = Workload::new(2, 1, false);
    let log = write_log(WriterOptions::new(), &w.reps());
    assert_spans_blocks(&log);
    for mode in ["tolerate", "absolute", "pit", "skip"] {
        let d = replay(&gen, &tmpl, &wal, &log, &["rocksdb", mode]);
        check_replay(&format!("rocksdb legacy {mode}"), &d, &w, true);
    }
}

#[test]
fn rocksdb_replays_our_recyclable_log_in_every_mode() {
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let (tmpl, wal, number) = template(&gen, "rocksdb-recycle", root.path());
    let w = Workload::new(3, 1, false);
    let log = write_log(WriterOptions::new().recyclable(number), &w.reps());
    assert_spans_blocks(&log);
    assert!((5..=8).contains(&log[6]), "recyclable records");
    // 7.8.3 keeps recycling on only in skip mode, but reads recyclable
    // records in every mode.
    for mode in ["tolerate", "absolute", "pit", "skip"] {
        let d = replay(&gen, &tmpl, &wal, &log, &["rocksdb", mode, "recycle=1"]);
        check_replay(&format!("rocksdb recyclable {mode}"), &d, &w, true);
    }
    // Control: the log number in our headers is what RocksDB checks. Under
    // another number every record is an old one, which ends the log.
    let other = write_log(WriterOptions::new().recyclable(number + 1), &w.reps());
    let d = replay(&gen, &tmpl, &wal, &other, &["rocksdb", "pit", "recycle=1"]);
    assert!(d.open_ok, "{}", d.status);
    assert!(d.batches.is_empty() && d.kv.is_empty(), "{d:?}");
}

#[test]
fn rocksdb_replays_our_log_appended_after_a_reopen() {
    // A log written in two sessions (`append_at`), as after a restart of
    // the writing process: the second session pads and continues the
    // block structure where the first one stopped.
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let (tmpl, wal, number) = template(&gen, "rocksdb", root.path());
    let w = Workload::new(4, 1000, false);
    let reps = w.reps();
    for recyclable in [false, true] {
        let opts = || {
            if recyclable {
                WriterOptions::new().recyclable(number)
            } else {
                WriterOptions::new()
            }
        };
        let mut log = write_log(opts(), &reps[..70]);
        let len = log.len() as u64;
        let mut w2 = opts().append_at(len).build(&mut log);
        for r in &reps[70..] {
            w2.add_record(r).unwrap();
        }
        w2.flush().unwrap();
        drop(w2);
        let d = replay(&gen, &tmpl, &wal, &log, &["rocksdb", "absolute"]);
        check_replay(&format!("appended, recyclable {recyclable}"), &d, &w, true);
    }
}

/// Whether a log (legacy headers) holds a MIDDLE fragment.
#[cfg(feature = "zstd")]
fn has_middle_fragment(log: &[u8]) -> bool {
    let mut pos = 0;
    while pos + 7 <= log.len() {
        let left = 32768 - pos % 32768;
        if left < 7 {
            pos += left;
            continue;
        }
        if log[pos + 6] == 3 {
            return true;
        }
        pos += 7 + usize::from(u16::from_le_bytes([log[pos + 4], log[pos + 5]]));
    }
    false
}

/// Our log framed like RocksDB's compressed WALs: a SetCompressionType
/// record, then one zstd frame per WriteBatch (compressed by the test).
/// Values up to 150 KB, so that most records decompress to more than a
/// block, but compressible, so that no compressed record needs a MIDDLE
/// fragment: RocksDB 7.8.3 misreads a compressed record whose consecutive
/// fragments both start a block (MIDDLE then MIDDLE/LAST), its own
/// included ("bad WriteBatch Put"); upstream fixed it in 2023 (RocksDB
/// pull request 11198, "Fix bug in WAL streaming uncompression").
#[cfg(feature = "zstd")]
#[test]
fn rocksdb_replays_a_zstd_log_we_wrote() {
    use blocklog::format::{encode_header, RecordType};
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let (tmpl, wal, _) = template(&gen, "rocksdb", root.path());
    let w = Workload::new(5, 1, true);
    let mut log = vec![0u8; 11];
    let n = encode_header(&mut log, RecordType::SetCompression, None, &[7, 0, 0, 0]);
    log.truncate(n);
    log.extend_from_slice(&[7, 0, 0, 0]);
    let len = log.len() as u64;
    let mut wr = WriterOptions::new().append_at(len).build(&mut log);
    for r in w.reps() {
        wr.add_record(&zstd::stream::encode_all(&r[..], 1).unwrap())
            .unwrap();
    }
    wr.flush().unwrap();
    drop(wr);
    assert!(
        !has_middle_fragment(&log),
        "a compressed record spans 3 blocks"
    );
    assert!(w.reps().iter().filter(|r| r.len() > 32768).count() > 10);
    let d = replay(&gen, &tmpl, &wal, &log, &["rocksdb", "absolute", "zstd"]);
    check_replay("rocksdb zstd", &d, &w, true);
    // And our reader decodes the same file to the same batches.
    let run = blocklog_testkit::read::read(&log, blocklog::ReaderOptions::new());
    let got: Vec<Vec<u8>> = run.records.into_iter().map(|(_, r)| r).collect();
    assert_eq!(got, w.reps());
}

/// A WAL directory written by our `Wal` whose batches are also RocksDB
/// WriteBatches (entries of `rocksdb_cf0_put_entry`): `files` files
/// (rotation at 1 KiB), each with its predecessor (0xF1), synced markers
/// (0xF2) after syncs, and its seal (0xF3). Returns the batches as
/// `(seq, count)`, the file each is in, and the final key/value state.
#[allow(clippy::type_complexity)]
fn wal_of_rocksdb_puts(d: &Path, seed: u64) -> (Vec<(u64, u32, u64)>, BTreeMap<Vec<u8>, Vec<u8>>) {
    use blocklog::wal::{Batch as WalBatch, Wal, WalOptions};
    let mut rng = blocklog_testkit::rng::Rng::new(seed);
    let mut wal = Wal::open(d, WalOptions::new().max_file_size(1024)).unwrap();
    let mut batches = Vec::new();
    let mut state = BTreeMap::new();
    for _ in 0..60 {
        let mut b = WalBatch::new();
        for _ in 0..rng.range(1, 8) {
            let (k, v) = (b'a' + rng.below(26) as u8, rng.below(256) as u8);
            b.put(&rocksdb_cf0_put_entry(k, v)).unwrap();
            state.insert(vec![k], vec![v]);
        }
        let seq = wal.append(&b).unwrap();
        batches.push((seq, b.len() as u32, wal.file_number()));
        if rng.chance(1, 2) {
            wal.sync().unwrap();
        }
    }
    wal.close().unwrap();
    (batches, state)
}

/// The RocksDB version installed (`librocksdb-dev`, which `ldb` and the
/// generator link against). The WAL tests below pin what 7.8.x does: on
/// another version they fail, asking for the behaviour to be measured again.
fn rocksdb_version() -> String {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "librocksdb-dev", "rocksdb-tools"])
        .output()
        .expect("dpkg-query");
    let v = String::from_utf8(out.stdout).unwrap();
    assert!(
        v.starts_with("7.8."),
        "RocksDB {v:?} installed: the WAL marker tests pin 7.8.x's behaviour; \
         measure again and update docs/wal.md (\"What other readers do with them\")"
    );
    v
}

/// The types of our markers in one file, in order, as our reader reports
/// them (known metadata, R10).
fn marker_types(path: &Path) -> Vec<u8> {
    let mut r = blocklog::ReaderOptions::new().build(std::fs::File::open(path).unwrap());
    let mut types = Vec::new();
    while let Some(e) = r.next_event().unwrap() {
        if let blocklog::Event::Benign(blocklog::Benign {
            kind: blocklog::BenignKind::Metadata(t),
            ..
        }) = e
        {
            types.push(t);
        }
    }
    types
}

/// Copies the WAL files of `wal` into `db`, in place of the database's own
/// (empty) WAL: a fresh RocksDB database's MANIFEST says log number 0, so
/// its recovery replays every `NNNNNN.log` of the directory, in numeric
/// order: our 000001.log onwards.
fn place_wal_dir(wal: &Path, db: &Path, db_wal_name: &str) {
    std::fs::remove_file(db.join(db_wal_name)).unwrap();
    for n in blocklog::wal::dir::list(wal).unwrap() {
        std::fs::copy(
            blocklog::wal::dir::path_of(wal, n),
            blocklog::wal::dir::path_of(db, n),
        )
        .unwrap();
    }
}

// docs/wal.md, "What other readers do with them": RocksDB 7.8.3's
// log::Reader (through `ldb dump_wal`) over each file of a WAL we wrote
// returns exactly our batches, in order, with the same sequence numbers and
// counts (the entries are RocksDB puts: `rocksdb_cf0_put_entry`), and
// reports every one of our markers (0xF1 predecessor, 0xF2 synced, 0xF3
// seal) as corruption, "unknown record type": 7.8.3 has no ignorable types
// (RocksDB added the 0x80 mask in 9.11), and it reads the type byte as a
// signed char, so 0xF1 prints as 4294967281 (0xFFFFFFF1).
#[test]
fn rocksdb_7_8_log_reader_returns_our_batches_and_reports_every_marker_as_unknown_type() {
    let Some(_gen) = generator() else { return };
    rocksdb_version();
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let (batches, _) = wal_of_rocksdb_puts(w, 1);
    let files = blocklog::wal::dir::list(w).unwrap();
    assert!(files.len() >= 3, "rotations: {files:?}");
    let mut seen = 0;
    for n in files {
        let path = blocklog::wal::dir::path_of(w, n);
        let out = Command::new("ldb")
            .args([
                "dump_wal",
                &format!("--walfile={}", path.display()),
                "--print_value",
            ])
            .output()
            .expect("ldb (rocksdb-tools) on PATH");
        // Batches on stdout, the reporter's corruption lines on stderr.
        let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
        let mut got = Vec::new();
        let mut unknown = Vec::new();
        for line in text.lines() {
            if let Some(t) = line
                .strip_prefix("Corruption detected in log file Corruption: unknown record type ")
            {
                unknown.push(t.parse::<u32>().unwrap());
            } else if let Some((head, _)) = line.split_once(",PUT(0)") {
                // "seq,count,byte size,offset,PUT(0) : 0xKK 0xVV PUT(0) : ..."
                let f: Vec<&str> = head.split(',').collect();
                let seq: u64 = f[0].parse().unwrap();
                let count: u32 = f[1].parse().unwrap();
                assert_eq!(line.matches("PUT(0) : ").count(), count as usize, "{line}");
                got.push((seq, count));
            } else if !line.trim().is_empty() {
                panic!("file {n}: ldb dump_wal printed {line:?}");
            }
        }
        let want: Vec<(u64, u32)> = batches
            .iter()
            .filter(|b| b.2 == n)
            .map(|b| (b.0, b.1))
            .collect();
        assert_eq!(got, want, "file {n}: batches RocksDB's log reader returned");
        let markers: Vec<u32> = marker_types(&path)
            .into_iter()
            .map(|t| 0xFFFF_FF00 | u32::from(t))
            .collect();
        assert!(markers.len() >= 2, "predecessor and seal at least");
        assert_eq!(
            unknown, markers,
            "file {n}: every marker reported, in order"
        );
        seen += got.len();
    }
    assert_eq!(seen, batches.len());
}

// docs/wal.md, "What other readers do with them": RocksDB 7.8.3 opening a
// database whose WAL files are ours (every file of a directory our Wal
// wrote, RocksDB puts as entries): tolerate-corrupted-tail and absolute
// refuse to open ("unknown record type", the predecessor record at the
// start of 000001.log); point-in-time opens having replayed nothing (it
// stops at that first marker: silent loss of every batch); only
// skip-any-corrupted-records replays every batch, in order, and the
// database then holds exactly the puts' final state.
#[test]
fn rocksdb_7_8_db_open_replays_our_wal_directory_only_when_skipping_corrupted_records() {
    let Some(gen) = generator() else { return };
    rocksdb_version();
    let root = tempfile::tempdir().unwrap();
    let (tmpl, db_wal, _) = template(&gen, "rocksdb", root.path());
    let w = root.path().join("wal");
    let (batches, state) = wal_of_rocksdb_puts(&w, 2);
    let want: Vec<(u64, u32)> = batches.iter().map(|b| (b.0, b.1)).collect();
    let last = batches.last().map(|b| b.0 + u64::from(b.1) - 1).unwrap();
    for mode in ["tolerate", "absolute", "pit", "skip"] {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("db");
        copy_dir(&tmpl, &db);
        place_wal_dir(&w, &db, &db_wal);
        let d = dump(&gen, &["dump", "rocksdb", db.to_str().unwrap(), mode]);
        match mode {
            "tolerate" | "absolute" => {
                assert!(!d.open_ok, "{mode}: opened");
                assert_eq!(
                    d.status, "open error Corruption: unknown record type 4294967281",
                    "{mode}"
                );
            }
            "pit" => {
                assert!(d.open_ok, "{mode}: {}", d.status);
                assert_eq!(d.batches, [], "{mode}: stops at the first marker");
                assert_eq!(d.latest_seq, Some(0));
                assert!(d.kv.is_empty());
            }
            _ => {
                assert!(d.open_ok, "{mode}: {}", d.status);
                assert_eq!(d.batches, want, "{mode}: batches replayed");
                assert_eq!(d.latest_seq, Some(last), "{mode}");
                assert_eq!(d.kv, state, "{mode}: the puts' final state");
            }
        }
    }
}

// docs/wal.md, "What other readers do with them": LevelDB 1.23 with one of
// our WAL files as its log: with paranoid checks the open fails at the
// first marker ("unknown record type"); without, it drops the markers and
// opens, but replays nothing (our entries are not LevelDB WriteBatch
// records: "unknown WriteBatch tag", ignored).
#[test]
fn leveldb_reports_our_markers_as_unknown_record_type_and_cannot_replay_our_batches() {
    let Some(gen) = generator() else { return };
    let root = tempfile::tempdir().unwrap();
    let (tmpl, db_wal, _) = template(&gen, "leveldb", root.path());
    let w = root.path().join("wal");
    wal_of_rocksdb_puts(&w, 3);
    let log = std::fs::read(blocklog::wal::dir::path_of(&w, 1)).unwrap();
    let paranoid = replay(&gen, &tmpl, &db_wal, &log, &["leveldb", "paranoid"]);
    assert!(!paranoid.open_ok);
    assert_eq!(
        paranoid.status,
        "open error Corruption: unknown record type 4294967281"
    );
    let lenient = replay(&gen, &tmpl, &db_wal, &log, &["leveldb", "lenient"]);
    assert!(lenient.open_ok, "{}", lenient.status);
    assert!(lenient.kv.is_empty(), "{:?}", lenient.kv);
}

/// Newer RocksDB releases, bundled in two PyPI wheels and driven by
/// `tests/interop/pyrocks/pyrocks.py`: `rocksdict` 0.3.29 (RocksDB 9.8.4, all
/// four recovery modes) and `amulet-rocksdb` 1.0.6 (RocksDB 11.1.2, which takes
/// no recovery mode: point-in-time, RocksDB's default). Returns a Python with
/// both (`BLOCKLOG_PYROCKS_PYTHON`, else the venv `.ci/pre-interop.sh` makes:
/// `interop-venv/bin/python` in the target directory), or `None` with a
/// message; under CI it fails instead.
fn pyrocks() -> Option<PathBuf> {
    let python = match std::env::var_os("BLOCKLOG_PYROCKS_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        // The test binary is TARGET/debug/deps/interop_engines-HASH.
        None => std::env::current_exe()
            .unwrap()
            .ancestors()
            .map(|a| a.join("interop-venv/bin/python"))
            .find(|p| p.is_file()),
    };
    if let Some(p) = python.filter(|p| p.is_file()) {
        return Some(p);
    }
    let msg = "no Python with rocksdict and amulet-rocksdb: run .ci/pre-interop.sh (makes \
               TARGET/interop-venv with pip) or set BLOCKLOG_PYROCKS_PYTHON to a python \
               that imports both";
    if std::env::var_os("CI").is_some() {
        panic!("CI: {msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

fn pyrocks_run(python: &Path, engine: &str, args: &[&str]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pyrocks/pyrocks.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(engine)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || out.status.code() == Some(2),
        "pyrocks.py {engine} {args:?}: {stderr}"
    );
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

/// How the WAL of [`wal_of_unique_puts`] ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum WalEnd {
    /// `close`: the newest file sealed.
    Clean,
    /// The process dies after the last `sync`: the newest file is not
    /// sealed, and the synced marker staged by that sync never reaches it.
    Crash,
    /// As `Crash`, and the last batch's record is torn (its last 3 bytes
    /// never reached the disk).
    Torn,
}

/// A WAL directory written by our `Wal` (files rotated at 512 bytes, so
/// about a dozen; predecessor, synced and seal markers) whose entries are
/// RocksDB puts in column family 0. Every put writes a key no other batch
/// writes (the one-byte keys 0..200, in small batches), except one batch of
/// 8000 puts to the keys 200..=255 (a 40 KB record over two blocks, in a
/// file of its own), so that the keys present tell exactly which batches
/// were replayed. Returns each batch's `(seq, count)` and the key/value
/// state each batch leaves: `states[i]` after batches `0..=i`.
#[allow(clippy::type_complexity)]
fn wal_of_unique_puts(
    d: &Path,
    seed: u64,
    end: WalEnd,
) -> (Vec<(u64, u32)>, Vec<BTreeMap<Vec<u8>, Vec<u8>>>) {
    use blocklog::wal::{Batch as WalBatch, Wal, WalOptions};
    let mut rng = blocklog_testkit::rng::Rng::new(seed);
    let mut wal = Wal::open(d, WalOptions::new().max_file_size(512)).unwrap();
    let (mut batches, mut states) = (Vec::new(), Vec::new());
    let mut state = BTreeMap::new();
    let mut key = 0u8;
    while key < 200 {
        let mut b = WalBatch::new();
        if batches.len() == 10 {
            for i in 0..8000u32 {
                let (k, v) = (200 + (i % 56) as u8, rng.below(256) as u8);
                b.put(&rocksdb_cf0_put_entry(k, v)).unwrap();
                state.insert(vec![k], vec![v]);
            }
        } else {
            for _ in 0..rng.range(1, 7).min(usize::from(200 - key)) {
                let v = rng.below(256) as u8;
                b.put(&rocksdb_cf0_put_entry(key, v)).unwrap();
                state.insert(vec![key], vec![v]);
                key += 1;
            }
        }
        let seq = wal.append(&b).unwrap();
        batches.push((seq, b.len() as u32));
        states.push(state.clone());
        if rng.chance(1, 2) {
            wal.sync().unwrap();
        }
    }
    match end {
        WalEnd::Clean => wal.close().unwrap(),
        WalEnd::Crash | WalEnd::Torn => {
            wal.sync().unwrap();
            drop(wal); // no seal, no close: what a killed process leaves
        }
    }
    // What our own reader finds: every batch; the newest file ends with the
    // seal (clean) or with the last batch's record (crash).
    let files = blocklog::wal::dir::list(d).unwrap();
    assert!(files.len() >= 8, "rotations: {files:?}");
    let newest = blocklog::wal::dir::path_of(d, *files.last().unwrap());
    let mut r = blocklog::wal::WalReader::open(d, &WalOptions::new()).unwrap();
    let mut read = Vec::new();
    while let Some(e) = r.next_event().unwrap() {
        match e {
            blocklog::wal::WalEvent::Batch(b) => read.push(b),
            other => panic!("our reader: {other:?}"),
        }
    }
    let got: Vec<(u64, u32)> = read.iter().map(|b| (b.seq, b.count)).collect();
    assert_eq!(got, batches);
    let len = std::fs::metadata(&newest).unwrap().len();
    let last_end = read.last().unwrap().end;
    if end == WalEnd::Clean {
        assert!(last_end < len, "a seal after the last batch");
    } else {
        assert_eq!(last_end, len, "the newest file ends with the last batch");
    }
    if end == WalEnd::Torn {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&newest)
            .unwrap();
        f.set_len(len - 3).unwrap();
    }
    (batches, states)
}

/// Opens a copy of `tmpl` (a fresh database of `engine`) whose WAL files are
/// those of `wal`, in `mode`.
fn pyrocks_replay(
    python: &Path,
    engine: &str,
    (tmpl, db_wal): &(PathBuf, String),
    wal: &Path,
    mode: &str,
) -> Dump {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    copy_dir(tmpl, &db);
    place_wal_dir(wal, &db, db_wal);
    let (ok, out) = pyrocks_run(python, engine, &["dump", db.to_str().unwrap(), mode]);
    dump_output(ok, &out)
}

/// A fresh database of `engine` in `root/ENGINE`: its directory and the name
/// of its (empty) WAL, after checking that it is RocksDB `version`. Its
/// MANIFEST's log number is 0 (as with 7.8.3), so recovery replays every
/// `NNNNNN.log` from 000001.log.
fn pyrocks_template(python: &Path, engine: &str, version: &str, root: &Path) -> (PathBuf, String) {
    let dir = root.join(engine);
    let (ok, out) = pyrocks_run(python, engine, &["mkdb", dir.to_str().unwrap()]);
    assert!(ok, "mkdb: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("rocksdb {version}").as_str()),
        "{engine}: these tests pin what this RocksDB release does with our markers; \
         measure again and update docs/wal.md (\"What other readers do with them\")"
    );
    let w: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(w.first(), Some(&"wal"), "mkdb printed {out:?}");
    (dir, w[1].to_string())
}

/// RocksDB recovered exactly batches `0..n`: every key of each with its
/// value, no other key, and (when the binding reports it) the latest
/// sequence that of batch `n - 1` (0 for none).
fn check_batches(
    what: &str,
    d: &Dump,
    batches: &[(u64, u32)],
    states: &[BTreeMap<Vec<u8>, Vec<u8>>],
    n: usize,
) {
    assert!(d.open_ok, "{what}: {}", d.status);
    if let Some(latest) = d.latest_seq {
        let want = n
            .checked_sub(1)
            .map_or(0, |i| batches[i].0 + u64::from(batches[i].1) - 1);
        assert_eq!(latest, want, "{what}: latest sequence");
    }
    let empty = BTreeMap::new();
    let want = n.checked_sub(1).map_or(&empty, |i| &states[i]);
    for (k, v) in want {
        match d.kv.get(k) {
            Some(got) => assert_eq!(got, v, "{what}: key {k:?}"),
            None => {
                let b = states.iter().position(|s| s.contains_key(k)).unwrap();
                panic!(
                    "{what}: key {k:?} of batch #{b} (seq {}) missing",
                    batches[b].0
                )
            }
        }
    }
    assert_eq!(
        d.kv.len(),
        want.len(),
        "{what}: keys not written by batches 0..{n}"
    );
}

const WAL_ENDS: [WalEnd; 3] = [WalEnd::Clean, WalEnd::Crash, WalEnd::Torn];

// docs/wal.md, "What other readers do with them": RocksDB 11.1.2
// (amulet-rocksdb 1.0.6) opening a database whose WAL files are every file
// of a directory our Wal wrote (markers 0xF1, 0xF2, 0xF3 among the batches)
// replays every batch in all four recovery modes, for a clean close and for
// a crash (no seal). With the last batch torn, tolerate-corrupted-tail,
// point-in-time and skip-any replay every batch but that one, and absolute
// refuses the open.
#[test]
fn rocksdb_11_replays_our_wal_directory_in_every_mode() {
    let Some(python) = pyrocks() else { return };
    let root = tempfile::tempdir().unwrap();
    let tmpl = pyrocks_template(&python, "amulet", "11.1.2", root.path());
    for (i, end) in WAL_ENDS.into_iter().enumerate() {
        let w = root.path().join(format!("wal-{end:?}"));
        let (batches, states) = wal_of_unique_puts(&w, 10 + i as u64, end);
        for mode in ["tolerate", "absolute", "pit", "skip"] {
            let what = format!("{end:?} end, {mode}");
            let d = pyrocks_replay(&python, "amulet", &tmpl, &w, mode);
            match (end, mode) {
                (WalEnd::Torn, "absolute") => {
                    assert!(!d.open_ok, "{what}: opened");
                    assert_eq!(
                        d.status, "open error Corruption: truncated record body",
                        "{what}"
                    );
                }
                (WalEnd::Torn, _) => check_batches(&what, &d, &batches, &states, batches.len() - 1),
                _ => check_batches(&what, &d, &batches, &states, batches.len()),
            }
        }
    }
}

// The control of the test above: the same directory (clean end) with the
// predecessor record at the start of 000001.log given type 0x71 (0xF1
// without the ignorable bit, checksum recomputed). RocksDB 11.1.2 then does
// what 7.8.3 does with every marker: tolerate-corrupted-tail and absolute
// refuse to open ("unknown record type 113"), point-in-time replays
// nothing, skip-any replays every batch. So the replay above depends on
// the bit, and the test sees a marker that breaks replay.
#[test]
fn rocksdb_11_without_the_ignorable_bit_a_marker_breaks_replay() {
    let Some(python) = pyrocks() else { return };
    let root = tempfile::tempdir().unwrap();
    let tmpl = pyrocks_template(&python, "amulet", "11.1.2", root.path());
    let w = root.path().join("wal");
    let (batches, states) = wal_of_unique_puts(&w, 20, WalEnd::Clean);
    let first = blocklog::wal::dir::path_of(&w, 1);
    let mut bytes = std::fs::read(&first).unwrap();
    assert_eq!(bytes[6], 0xF1, "the predecessor starts the file");
    let len = usize::from(u16::from_le_bytes([bytes[4], bytes[5]]));
    bytes[6] = 0x71;
    let crc = blocklog::format::mask_crc(blocklog::format::record_crc(
        blocklog::format::RecordType::from_byte(0x71),
        None,
        &bytes[7..7 + len],
    ));
    bytes[0..4].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&first, &bytes).unwrap();
    for mode in ["tolerate", "absolute", "pit", "skip"] {
        let what = format!("0x71 predecessor, {mode}");
        let d = pyrocks_replay(&python, "amulet", &tmpl, &w, mode);
        match mode {
            "tolerate" | "absolute" => {
                assert!(!d.open_ok, "{what}: opened");
                assert_eq!(
                    d.status, "open error Corruption: unknown record type 113",
                    "{what}"
                );
            }
            "pit" => check_batches(&what, &d, &batches, &states, 0),
            _ => check_batches(&what, &d, &batches, &states, batches.len()),
        }
    }
}

// docs/wal.md, "What other readers do with them": rocksdict 0.3.29's RocksDB
// (9.8.4, below 9.11: no ignorable record types) does with our WAL
// directory what 7.8.3 does, whatever the end: tolerate-corrupted-tail and
// absolute refuse to open at the first marker ("unknown record type
// 4294967281"), point-in-time opens having replayed nothing, and only
// skip-any-corrupted-records replays the batches: all of them, but the torn
// last one.
#[test]
fn rocksdb_9_8_replays_our_wal_directory_only_when_skipping_corrupted_records() {
    let Some(python) = pyrocks() else { return };
    let root = tempfile::tempdir().unwrap();
    let tmpl = pyrocks_template(&python, "rocksdict", "9.8.4", root.path());
    for (i, end) in WAL_ENDS.into_iter().enumerate() {
        let w = root.path().join(format!("wal-{end:?}"));
        let (batches, states) = wal_of_unique_puts(&w, 30 + i as u64, end);
        for mode in ["tolerate", "absolute", "pit", "skip"] {
            let what = format!("{end:?} end, {mode}");
            let d = pyrocks_replay(&python, "rocksdict", &tmpl, &w, mode);
            match mode {
                "tolerate" | "absolute" => {
                    assert!(!d.open_ok, "{what}: opened");
                    assert_eq!(
                        d.status, "open error Corruption: unknown record type 4294967281",
                        "{what}"
                    );
                }
                "pit" => check_batches(&what, &d, &batches, &states, 0),
                _ => {
                    let n = batches.len() - usize::from(end == WalEnd::Torn);
                    check_batches(&what, &d, &batches, &states, n)
                }
            }
        }
    }
}
