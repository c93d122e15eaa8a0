//! Recovery of a 1 GiB log with damage, against the bound of reading and
//! checksumming the same file.
//!
//! The log holds records of 100 B, 1000 B, 4000 B and 40,000 B in turn; every
//! 64 MiB one payload byte is flipped (a checksum mismatch), one 4 KiB range
//! is zeroed (a zero header or broken fragments), and the tail is torn. It
//! is read in skip-corrupt mode from a file (page cache, no fsync), from a
//! memory map of the file (`memmap2`, zero-copy), and from memory (through
//! `io::Read`, and zero-copy from `Bytes`); the baselines are CRC32C over the
//! whole log, a memcpy of it and `read(2)` of the file, all in 32 KiB calls.
//! Times are the benchmarking thread's CPU time (`blocklog_testkit::bench::ThreadCpu`).
//!
//! Run: `cargo bench --bench recovery` (or `scripts/bench.sh recovery`).
//! Under `cargo test` the log is 8 MiB and each benchmark runs once.

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::time::Duration;

use blocklog::{Event, Reader, ReaderOptions, RecoveryMode, WriterOptions};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use blocklog_testkit::bench::{bench_mode, manifest, payload_pool, ThreadCpu, Work};

const SIZES: [usize; 4] = [100, 1000, 4000, 40_000];

/// Builds the damaged log; returns it and the number of damage sites.
fn damaged_log(target: usize) -> (Vec<u8>, usize) {
    let pool = payload_pool(1 << 20, 42);
    let mut w = WriterOptions::new()
        .buffer_size(1 << 20)
        .build(Vec::with_capacity(target + (1 << 20)));
    let mut i = 0;
    while w.offset() < target as u64 {
        let size = SIZES[i % SIZES.len()];
        let at = (i * 997) % (pool.len() - size);
        w.add_record(&pool[at..at + size]).unwrap();
        i += 1;
    }
    let mut log = w.into_inner().unwrap();
    let mut sites = 0;
    let step = 64 << 20;
    let mut at = step / 2;
    while at + 4096 < log.len() {
        log[at] ^= 0x5a;
        sites += 1;
        at += step;
    }
    let zero_at = log.len() / 3;
    log[zero_at..zero_at + 4096].fill(0);
    sites += 1;
    let torn = log.len() - 5;
    log.truncate(torn);
    (log, sites + 1)
}

fn recover<R: Read>(reader: &mut Reader<R>) -> (u64, u64) {
    let (mut records, mut dropped) = (0, 0);
    while let Some(ev) = reader.next_event().unwrap() {
        match ev {
            Event::Record(r) => {
                black_box(&r.payload);
                records += 1;
            }
            Event::Dropped(_) => dropped += 1,
            _ => {}
        }
    }
    (records, dropped)
}

fn options() -> ReaderOptions {
    ReaderOptions::new().mode(RecoveryMode::SkipCorrupt)
}

fn recovery(c: &mut Criterion<ThreadCpu>) {
    let target = if bench_mode() { 1 << 30 } else { 8 << 20 };
    let (log, sites) = damaged_log(target);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000042.log");
    std::fs::write(&path, &log).unwrap();

    let (records, dropped) = recover(&mut options().build(&log[..]));
    assert!(
        dropped >= 2 && dropped as usize <= 2 * sites,
        "{dropped} regions dropped"
    );
    let mut summary_reader = options().build(&log[..]);
    recover(&mut summary_reader);
    let payload = summary_reader.summary().record_bytes;
    let label = if bench_mode() { "1GiB" } else { "8MiB" };
    let group_name = format!("recovery-{label}");
    let work = |name: &str| Work {
        id: format!("{group_name}/{name}"),
        records,
        payload_bytes: payload,
        log_bytes: log.len() as u64,
    };
    let mut works = Vec::new();

    let mut g = c.benchmark_group(&group_name);
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(if bench_mode() { 8 } else { 1 }));

    g.bench_function("crc32c", |b| {
        b.iter(|| {
            let mut acc = 0;
            for chunk in log.chunks(32 << 10) {
                acc ^= crc32c::crc32c(chunk);
            }
            acc
        })
    });
    works.push(work("crc32c"));

    let mut block = vec![0u8; 32 << 10];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            for chunk in log.chunks(32 << 10) {
                block[..chunk.len()].copy_from_slice(chunk);
                black_box(&block);
            }
        })
    });
    works.push(work("memcpy"));

    g.bench_function("read2", |b| {
        b.iter(|| {
            let mut f = File::open(&path).unwrap();
            let mut total = 0;
            loop {
                let n = f.read(&mut block).unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
            assert_eq!(total, log.len());
        })
    });
    works.push(work("read2"));

    g.bench_function("skip-corrupt-file", |b| {
        b.iter(|| {
            let got = recover(&mut options().build(File::open(&path).unwrap()));
            assert_eq!(got, (records, dropped));
        })
    });
    works.push(work("skip-corrupt-file"));

    let shared = bytes::Bytes::from(log.clone());
    g.bench_function("skip-corrupt-bytes", |b| {
        b.iter(|| {
            let got = recover(&mut options().build_from_bytes(shared.clone()));
            assert_eq!(got, (records, dropped));
        })
    });
    works.push(work("skip-corrupt-bytes"));

    g.bench_function("skip-corrupt-mmap", |b| {
        b.iter(|| {
            let file = File::open(&path).unwrap();
            // SAFETY: the file is private to this benchmark and nothing
            // modifies or truncates it while it is mapped.
            let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
            let got = recover(&mut options().build_from_bytes(bytes::Bytes::from_owner(map)));
            assert_eq!(got, (records, dropped));
        })
    });
    works.push(work("skip-corrupt-mmap"));

    g.bench_function("skip-corrupt-mem", |b| {
        b.iter(|| {
            let got = recover(&mut options().build(&log[..]));
            assert_eq!(got, (records, dropped));
        })
    });
    works.push(work("skip-corrupt-mem"));
    g.finish();
    manifest("recovery", &works);
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu).configure_from_args();
    targets = recovery
}
criterion_main!(benches);
