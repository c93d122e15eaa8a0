//! The interop harness: the engines' fixtures and their expectation files,
//! WriteBatch encoding and decoding, and the damage recipes of the recorded
//! engine outcomes. The interop tests (`tests/interop_*.rs`) and the CLI's
//! tests use it.

use std::path::{Path, PathBuf};

use crate::encoding::{fnv1a64, unhex};

/// The repository's root (this crate lives in `testkit/`).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// `tests/interop/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    repo_root().join("tests/interop/fixtures")
}

/// The interop generator (`tests/interop/gen/out/gen`, built by
/// `tests/interop/gen/generate.sh build`, which installs LevelDB and
/// RocksDB with apt-get; or the path in `BLOCKLOG_INTEROP_GEN`), or `None`
/// when it is not built: the test that needs it prints why it skips. Under
/// CI (`CI` set) it panics instead: there the engines' tests must run.
pub fn generator() -> Option<PathBuf> {
    let path = match std::env::var_os("BLOCKLOG_INTEROP_GEN") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join("tests/interop/gen/out/gen"),
    };
    if path.is_file() {
        return Some(path);
    }
    let msg = format!(
        "the interop generator is not at {} : run tests/interop/gen/generate.sh build \
         (installs LevelDB and RocksDB with apt-get) or set BLOCKLOG_INTEROP_GEN",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("CI: {msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// `docs/recovery.md`.
pub fn recovery_doc() -> String {
    let p = repo_root().join("docs/recovery.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// ------------------------------------------------------------ expectations

/// One operation of an expected batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpOp {
    /// A put.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value's length.
        value_len: usize,
        /// The value's FNV-1a hash.
        value_fnv: u64,
        /// The value itself when the file gives it (1..64 bytes, or empty).
        value: Option<Vec<u8>>,
    },
    /// A delete.
    Del {
        /// The key.
        key: Vec<u8>,
    },
}

/// One expected WriteBatch record.
#[derive(Debug, Clone)]
pub struct ExpBatch {
    /// The batch's sequence number.
    pub seq: u64,
    /// Its number of operations.
    pub count: u32,
    /// The length of its rep (the record's payload).
    pub rep_len: usize,
    /// The rep's FNV-1a hash.
    pub rep_fnv: u64,
    /// File offset of the first fragment's header (`None` for compressed logs).
    pub offset: Option<u64>,
    /// Number of physical fragments (`None` for compressed logs).
    pub nfrags: Option<usize>,
    /// Its operations.
    pub ops: Vec<ExpOp>,
}

/// A parsed `*.log.expected.txt`.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `leveldb/000004.log` and so on.
    pub name: String,
    /// The log file the expectations describe.
    pub log_path: PathBuf,
    /// The engine and version that wrote it.
    pub engine: String,
    /// The engine's log number for the file.
    pub log_number: u32,
    /// Whether it is in the recyclable format.
    pub recyclable: bool,
    /// The WAL compression (`none`, `zstd`).
    pub compression: String,
    /// The file's size in bytes.
    pub file_size: u64,
    /// The batches, in file order.
    pub batches: Vec<ExpBatch>,
}

fn field<'a>(it: &mut impl Iterator<Item = &'a str>, line: &str) -> &'a str {
    it.next().unwrap_or_else(|| panic!("short line {line:?}"))
}

fn num<T: std::str::FromStr>(s: &str, line: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| panic!("bad number {s:?} in {line:?}"))
}

/// Parses an expectation file.
pub fn parse_expected(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let log_path = PathBuf::from(path.to_str().unwrap().trim_end_matches(".expected.txt"));
    let name = format!(
        "{}/{}",
        log_path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap(),
        log_path.file_name().unwrap().to_str().unwrap()
    );
    let mut e = Expected {
        name,
        log_path,
        engine: String::new(),
        log_number: 0,
        recyclable: false,
        compression: String::new(),
        file_size: 0,
        batches: vec![],
    };
    let mut declared_batches = None;
    let mut ended = false;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        assert!(!ended, "{}: text after `end`", path.display());
        let mut it = line.split_whitespace();
        let tag = field(&mut it, line);
        match tag {
            "engine" => e.engine = line["engine ".len()..].to_string(),
            "file" => {}
            "log_number" => e.log_number = num(field(&mut it, line), line),
            "recyclable" => e.recyclable = field(&mut it, line) == "1",
            "compression" => e.compression = field(&mut it, line).to_string(),
            "file_size" => e.file_size = num(field(&mut it, line), line),
            "batches" => declared_batches = Some(num::<usize>(field(&mut it, line), line)),
            "batch" => {
                let seq = num(field(&mut it, line), line);
                let count = num(field(&mut it, line), line);
                let rep_len = num(field(&mut it, line), line);
                let rep_fnv = u64::from_str_radix(field(&mut it, line), 16).unwrap();
                let offset = match field(&mut it, line) {
                    "-" => None,
                    s => Some(num(s, line)),
                };
                let nfrags = match field(&mut it, line) {
                    "-" => None,
                    s => Some(num(s, line)),
                };
                e.batches.push(ExpBatch {
                    seq,
                    count,
                    rep_len,
                    rep_fnv,
                    offset,
                    nfrags,
                    ops: vec![],
                });
            }
            "put" | "del" => {
                let key = unhex(field(&mut it, line));
                let op = if tag == "del" {
                    ExpOp::Del { key }
                } else {
                    let value_len = num(field(&mut it, line), line);
                    let value_fnv = u64::from_str_radix(field(&mut it, line), 16).unwrap();
                    let value = match field(&mut it, line) {
                        "=" => Some(vec![]),
                        "-" => None,
                        h => Some(unhex(h)),
                    };
                    ExpOp::Put {
                        key,
                        value_len,
                        value_fnv,
                        value,
                    }
                };
                e.batches
                    .last_mut()
                    .unwrap_or_else(|| panic!("op before any batch: {line:?}"))
                    .ops
                    .push(op);
            }
            "end" => ended = true,
            other => panic!("{}: unknown line tag {other:?}", path.display()),
        }
    }
    assert!(ended, "{}: no `end` line", path.display());
    assert_eq!(
        Some(e.batches.len()),
        declared_batches,
        "{}",
        path.display()
    );
    for b in &e.batches {
        assert_eq!(
            b.ops.len(),
            b.count as usize,
            "{}: batch {}",
            path.display(),
            b.seq
        );
    }
    e
}

/// Every expectation file under `fixtures/`, sorted by name.
pub fn all_expected() -> Vec<Expected> {
    let mut out = vec![];
    for dir in std::fs::read_dir(fixtures_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.to_str().unwrap().ends_with(".log.expected.txt") {
                out.push(parse_expected(&f));
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

// ------------------------------------------------------------ WriteBatch

/// An operation in a WriteBatch (default column family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Put (key, value).
    Put(Vec<u8>, Vec<u8>),
    /// Delete key.
    Del(Vec<u8>),
}

/// A decoded WriteBatch rep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The sequence number.
    pub seq: u64,
    /// The operation count in the header.
    pub count: u32,
    /// The operations.
    pub ops: Vec<Op>,
}

fn put_varint32(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint32(data: &[u8], pos: &mut usize) -> Result<u32, String> {
    let mut v: u32 = 0;
    for shift in (0..35).step_by(7) {
        let b = *data.get(*pos).ok_or("varint runs past the end")?;
        *pos += 1;
        v |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint longer than 5 bytes".into())
}

fn get_slice<'a>(data: &'a [u8], pos: &mut usize) -> Result<&'a [u8], String> {
    let len = get_varint32(data, pos)? as usize;
    let s = data
        .get(*pos..*pos + len)
        .ok_or_else(|| format!("slice of {len} bytes runs past the end"))?;
    *pos += len;
    Ok(s)
}

/// Encodes a WriteBatch rep: fixed64 sequence, fixed32 count, ops.
pub fn encode_batch(seq: u64, ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for op in ops {
        match op {
            Op::Put(k, v) => {
                out.push(1);
                put_varint32(&mut out, k.len() as u32);
                out.extend_from_slice(k);
                put_varint32(&mut out, v.len() as u32);
                out.extend_from_slice(v);
            }
            Op::Del(k) => {
                out.push(0);
                put_varint32(&mut out, k.len() as u32);
                out.extend_from_slice(k);
            }
        }
    }
    out
}

/// Decodes a WriteBatch rep (Put and Delete in the default column family).
pub fn decode_batch(rep: &[u8]) -> Result<Batch, String> {
    if rep.len() < 12 {
        return Err(format!(
            "rep of {} bytes is shorter than its header",
            rep.len()
        ));
    }
    let seq = u64::from_le_bytes(rep[0..8].try_into().unwrap());
    let count = u32::from_le_bytes(rep[8..12].try_into().unwrap());
    let mut pos = 12;
    let mut ops = vec![];
    while pos < rep.len() {
        let tag = rep[pos];
        pos += 1;
        match tag {
            1 => {
                let k = get_slice(rep, &mut pos)?.to_vec();
                let v = get_slice(rep, &mut pos)?.to_vec();
                ops.push(Op::Put(k, v));
            }
            0 => ops.push(Op::Del(get_slice(rep, &mut pos)?.to_vec())),
            t => return Err(format!("unexpected op tag {t} at {}", pos - 1)),
        }
    }
    if ops.len() != count as usize {
        return Err(format!("count {count} but {} ops", ops.len()));
    }
    Ok(Batch { seq, count, ops })
}

/// The sequence number of a rep (its first 8 bytes).
pub fn seq_of(rep: &[u8]) -> u64 {
    u64::from_le_bytes(rep[..8].try_into().expect("rep has a header"))
}

/// Checks a record returned by our reader against an expected batch.
pub fn check_batch(rep: &[u8], exp: &ExpBatch) -> Result<(), String> {
    if rep.len() != exp.rep_len {
        return Err(format!("rep length {} != {}", rep.len(), exp.rep_len));
    }
    if fnv1a64(rep) != exp.rep_fnv {
        return Err(format!(
            "rep FNV {:016x} != {:016x}",
            fnv1a64(rep),
            exp.rep_fnv
        ));
    }
    let b = decode_batch(rep)?;
    if b.seq != exp.seq || b.count != exp.count {
        return Err(format!(
            "header seq {} count {} != seq {} count {}",
            b.seq, b.count, exp.seq, exp.count
        ));
    }
    for (i, (got, want)) in b.ops.iter().zip(&exp.ops).enumerate() {
        let ok = match (got, want) {
            (Op::Del(k), ExpOp::Del { key }) => k == key,
            (
                Op::Put(k, v),
                ExpOp::Put {
                    key,
                    value_len,
                    value_fnv,
                    value,
                },
            ) => {
                k == key
                    && v.len() == *value_len
                    && fnv1a64(v) == *value_fnv
                    && value.as_ref().is_none_or(|w| w == v)
            }
            _ => false,
        };
        if !ok {
            return Err(format!("op {i}: got {got:?}, expected {want:?}"));
        }
    }
    Ok(())
}

// ------------------------------------------------------------ damage recipes

/// Applies one outcome file's recipe (a JSON array of steps) to `bytes`.
pub fn apply_recipe(bytes: &mut Vec<u8>, recipe: &serde_json::Value) {
    for step in recipe.as_array().expect("recipe is an array") {
        let int = |k: &str| {
            step[k]
                .as_u64()
                .unwrap_or_else(|| panic!("step {step} lacks {k}")) as usize
        };
        match step["op"].as_str().expect("step has an op") {
            "truncate" => bytes.truncate(int("len")),
            "flip_bit" => bytes[int("offset")] ^= 1 << int("bit"),
            "zero_range" => bytes[int("start")..int("end")].fill(0),
            "append_zeros" => bytes.resize(bytes.len() + int("len"), 0),
            "append_hex" => bytes.extend(unhex(step["hex"].as_str().unwrap())),
            other => panic!("unknown recipe op {other}"),
        }
    }
}

/// Loads `fixtures/NAME`.
pub fn load_json(name: &str) -> serde_json::Value {
    let p = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An entry of a [`blocklog::wal::Batch`] whose encoding inside the batch is
/// also a RocksDB WriteBatch record: a put of the one-byte `key` to the
/// one-byte `value` in column family 0 (the default).
///
/// A WAL entry is a varint32 length and that many bytes; this entry is 5
/// bytes long, so its length byte is 0x05, which RocksDB reads as the tag
/// `kTypeColumnFamilyValue`; the five bytes are then the column family
/// (varint 0), the key's length (1), the key, the value's length (1), the
/// value. One entry is one RocksDB record and the batch header is shared, so
/// the entry count and the sequence numbers (one per entry) agree: a WAL of
/// such batches is a WAL RocksDB can replay as a database's.
pub fn rocksdb_cf0_put_entry(key: u8, value: u8) -> [u8; 5] {
    [0x00, 0x01, key, 0x01, value]
}
