//! Writer and reader throughput against the hardware bound, in one run.
//!
//! For every record size (100 B, 1 KiB, 32 761 B, 32 KiB, 1 MiB) the same payload
//! bytes are
//! - written by [`blocklog::Writer`] (legacy and recyclable) into memory
//!   (`-mem`: a `Vec` sink through the staging buffer; `-inmem`:
//!   `WriterOptions::build_in_memory`, encoded in place) and into a real
//!   file (no fsync),
//! - read back by [`blocklog::Reader`] from memory (`-mem`: through
//!   `io::Read`; `-bytes`: zero-copy with `build_from_bytes`; `-bytes-ref`:
//!   zero-copy, payloads lent by `next_record_ref`) and from the file,
//! - sliced into one `Bytes` per record and dropped (`bytes-slice`, records
//!   of one fragment: the reference-count cost of `Bytes` records),
//! - checksummed with the `crc32c` crate in the same fragment-sized calls a
//!   reader or writer must make (the checksum bound),
//! - copied with a plain memcpy, and written/read with bare write(2)/read(2)
//!   (the copy bound).
//!
//! Times are CPU time of the benchmarking thread (see `blocklog_testkit::bench::ThreadCpu`),
//! so that neighbours on a shared machine do not count. Every benchmark
//! reports payload bytes per second. `scripts/bench.sh`
//! turns criterion's estimates and the work manifest this bench writes
//! (`$CARGO_TARGET_DIR/criterion/blocklog-work.tsv`) into records/s and the
//! ratios to the bound.
//!
//! Run: `cargo bench --bench throughput` (or `scripts/bench.sh`). Under
//! `cargo test` the same code runs once per benchmark on a small workload.

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use blocklog::format::MAX_FRAGMENT_PAYLOAD;
use blocklog::{Reader, ReaderOptions, WriterOptions};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use blocklog_testkit::bench::{bench_mode, manifest, payload_pool, ThreadCpu, Work};

/// Record sizes measured.
/// 32 761 B is the largest record stored as one fragment (a whole block);
/// 32 KiB records span two blocks.
const SIZES: [(usize, &str); 5] = [
    (100, "100B"),
    (1024, "1KiB"),
    (MAX_FRAGMENT_PAYLOAD, "32761B"),
    (32 * 1024, "32KiB"),
    (1 << 20, "1MiB"),
];

/// Payload bytes per iteration (at least 8 records).
fn records_for(size: usize) -> usize {
    let total = if bench_mode() { 4 << 20 } else { 64 << 10 };
    (total / size).max(8)
}

/// One record size's inputs: the payloads and the logs they make.
struct Case {
    size: usize,
    label: &'static str,
    pool: Vec<u8>,
    count: usize,
    legacy_log: Vec<u8>,
    recyclable_log: Vec<u8>,
    legacy_file: PathBuf,
    recyclable_file: PathBuf,
}

impl Case {
    fn new(size: usize, label: &'static str, dir: &std::path::Path) -> Case {
        let count = records_for(size);
        let pool = payload_pool(size * count, size as u64);
        let legacy_log = write_log(&pool, size, WriterOptions::new());
        let recyclable_log = write_log(&pool, size, WriterOptions::new().recyclable(7));
        let legacy_file = dir.join(format!("legacy-{label}.log"));
        let recyclable_file = dir.join(format!("recyclable-{label}.log"));
        std::fs::write(&legacy_file, &legacy_log).unwrap();
        std::fs::write(&recyclable_file, &recyclable_log).unwrap();
        Case {
            size,
            label,
            pool,
            count,
            legacy_log,
            recyclable_log,
            legacy_file,
            recyclable_file,
        }
    }

    fn records(&self) -> impl Iterator<Item = &[u8]> {
        self.pool.chunks_exact(self.size)
    }

    fn payload_bytes(&self) -> u64 {
        (self.size * self.count) as u64
    }

    fn work(&self, id: String, log_bytes: usize) -> Work {
        Work {
            id,
            records: self.count as u64,
            payload_bytes: self.payload_bytes(),
            log_bytes: log_bytes as u64,
        }
    }
}

fn write_log(pool: &[u8], size: usize, opts: WriterOptions) -> Vec<u8> {
    let mut w = opts.build(Vec::new());
    for r in pool.chunks_exact(size) {
        w.add_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// The checksum work a reader or writer cannot avoid: one CRC32C per
/// fragment over its payload (the type byte folds into a precomputed seed).
fn crc_bound(case: &Case) -> u32 {
    let mut acc = 0u32;
    for r in case.records() {
        for frag in r.chunks(MAX_FRAGMENT_PAYLOAD) {
            acc ^= crc32c::crc32c(frag);
        }
    }
    acc
}

fn bench_write(c: &mut Criterion<ThreadCpu>, case: &Case, works: &mut Vec<Work>) {
    let group_name = format!("write-{}", case.label);
    let mut g = c.benchmark_group(&group_name);
    g.throughput(Throughput::Bytes(case.payload_bytes()));
    let log_len = case.legacy_log.len();

    g.bench_function("crc32c", |b| b.iter(|| black_box(crc_bound(case))));
    works.push(case.work(format!("{group_name}/crc32c"), log_len));

    let mut out: Vec<u8> = Vec::with_capacity(log_len + (1 << 16));
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            out.clear();
            for r in case.records() {
                out.extend_from_slice(r);
            }
            black_box(out.len())
        })
    });
    works.push(case.work(format!("{group_name}/memcpy"), log_len));

    let path = case.legacy_file.with_extension("w");
    g.bench_function("write2", |b| {
        // The kernel's share: the finished log handed to write(2) in 64 KiB calls.
        b.iter_batched_ref(
            || File::create(&path).unwrap(),
            |f| {
                for chunk in case.legacy_log.chunks(64 << 10) {
                    f.write_all(chunk).unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
    works.push(case.work(format!("{group_name}/write2"), log_len));

    for (fmt, recyclable, log) in [
        ("legacy", false, &case.legacy_log),
        ("recyclable", true, &case.recyclable_log),
    ] {
        let opts = || {
            if recyclable {
                WriterOptions::new().recyclable(7)
            } else {
                WriterOptions::new()
            }
        };
        g.bench_function(format!("{fmt}-mem"), |b| {
            b.iter(|| {
                out.clear();
                let mut w = opts().build(&mut out);
                for r in case.records() {
                    w.add_record(r).unwrap();
                }
                w.flush().unwrap();
                drop(w);
                debug_assert_eq!(out.len(), log.len());
            })
        });
        works.push(case.work(format!("{group_name}/{fmt}-mem"), log.len()));

        // The same into memory with `build_in_memory`: records encoded
        // straight into the (reserved) buffer, handed back without a copy.
        let mut buf: Vec<u8> = Vec::with_capacity(log_len + (1 << 16));
        g.bench_function(format!("{fmt}-inmem"), |b| {
            b.iter(|| {
                let mut v = std::mem::take(&mut buf);
                v.clear();
                let mut w = opts().build_in_memory(v);
                for r in case.records() {
                    w.add_record(r).unwrap();
                }
                buf = w.into_inner().unwrap();
                debug_assert_eq!(buf.len(), log.len());
            })
        });
        works.push(case.work(format!("{group_name}/{fmt}-inmem"), log.len()));

        g.bench_function(format!("{fmt}-file"), |b| {
            b.iter_batched_ref(
                || File::create(&path).unwrap(),
                |f| {
                    let mut w = opts().build(&mut *f);
                    for r in case.records() {
                        w.add_record(r).unwrap();
                    }
                    w.flush().unwrap();
                },
                BatchSize::PerIteration,
            )
        });
        works.push(case.work(format!("{group_name}/{fmt}-file"), log.len()));
    }
    g.finish();
    let _ = std::fs::remove_file(&path);
}

fn count_records<R: Read>(mut r: Reader<R>) -> usize {
    let mut n = 0;
    while let Some(rec) = r.next_record().unwrap() {
        black_box(&rec.payload);
        n += 1;
    }
    n
}

fn bench_read(c: &mut Criterion<ThreadCpu>, case: &Case, works: &mut Vec<Work>) {
    let group_name = format!("read-{}", case.label);
    let mut g = c.benchmark_group(&group_name);
    g.throughput(Throughput::Bytes(case.payload_bytes()));
    let log_len = case.legacy_log.len();

    g.bench_function("crc32c", |b| b.iter(|| black_box(crc_bound(case))));
    works.push(case.work(format!("{group_name}/crc32c"), log_len));

    let mut block = vec![0u8; 32 * 1024];
    g.bench_function("memcpy", |b| {
        // The copy a reader over `io::Read` makes: the log, block by block.
        b.iter(|| {
            for chunk in case.legacy_log.chunks(block.len()) {
                block[..chunk.len()].copy_from_slice(chunk);
                black_box(&block);
            }
        })
    });
    works.push(case.work(format!("{group_name}/memcpy"), log_len));

    let mut file = File::open(&case.legacy_file).unwrap();
    g.bench_function("read2", |b| {
        // The kernel's share: the log file read(2) in 32 KiB calls (page cache).
        b.iter(|| {
            file.seek(SeekFrom::Start(0)).unwrap();
            let mut total = 0;
            loop {
                let n = file.read(&mut block).unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
            assert_eq!(total, log_len);
        })
    });
    works.push(case.work(format!("{group_name}/read2"), log_len));

    if case.size <= MAX_FRAGMENT_PAYLOAD {
        // What a `Bytes` record costs beyond the checksum: one slice of the
        // shared block per record, and its drop (a reference-count increment
        // and decrement, through the `bytes` crate's vtable).
        let shared = bytes::Bytes::from(case.legacy_log.clone());
        let mut ranges = Vec::with_capacity(case.count);
        let mut r = ReaderOptions::new().build_from_bytes(shared.clone());
        while let Some((offset, payload)) = r.next_record_ref().unwrap() {
            let start = offset as usize + blocklog::format::HEADER_SIZE;
            ranges.push(start..start + payload.len());
        }
        g.bench_function("bytes-slice", |b| {
            b.iter(|| {
                for range in &ranges {
                    black_box(shared.slice(range.clone()));
                }
            })
        });
        works.push(case.work(format!("{group_name}/bytes-slice"), log_len));
    }

    for (fmt, log, path) in [
        ("legacy", &case.legacy_log, &case.legacy_file),
        ("recyclable", &case.recyclable_log, &case.recyclable_file),
    ] {
        g.bench_function(format!("{fmt}-mem"), |b| {
            b.iter(|| assert_eq!(count_records(Reader::new(&log[..])), case.count))
        });
        works.push(case.work(format!("{group_name}/{fmt}-mem"), log.len()));

        let shared = bytes::Bytes::from(log.clone());
        g.bench_function(format!("{fmt}-bytes"), |b| {
            b.iter(|| {
                let r = ReaderOptions::new().build_from_bytes(shared.clone());
                assert_eq!(count_records(r), case.count)
            })
        });
        works.push(case.work(format!("{group_name}/{fmt}-bytes"), log.len()));

        g.bench_function(format!("{fmt}-bytes-ref"), |b| {
            b.iter(|| {
                let mut r = ReaderOptions::new().build_from_bytes(shared.clone());
                let mut n = 0;
                while let Some((_, payload)) = r.next_record_ref().unwrap() {
                    black_box(payload);
                    n += 1;
                }
                assert_eq!(n, case.count)
            })
        });
        works.push(case.work(format!("{group_name}/{fmt}-bytes-ref"), log.len()));

        g.bench_function(format!("{fmt}-file"), |b| {
            b.iter(|| {
                let f = OpenOptions::new().read(true).open(path).unwrap();
                assert_eq!(count_records(ReaderOptions::new().build(f)), case.count)
            })
        });
        works.push(case.work(format!("{group_name}/{fmt}-file"), log.len()));
    }
    g.finish();
}

fn throughput(c: &mut Criterion<ThreadCpu>) {
    let dir = tempfile::tempdir().unwrap();
    let mut works = Vec::new();
    for (size, label) in SIZES {
        let case = Case::new(size, label, dir.path());
        bench_write(c, &case, &mut works);
        bench_read(c, &case, &mut works);
    }
    manifest("throughput", &works);
}

fn config() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = throughput
}
criterion_main!(benches);
