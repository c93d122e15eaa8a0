//! The WAL directory against its raw baselines, each ratio from one run.
//!
//! - `wal-sync-100B`: one synced append of a 100 B batch (`append` then
//!   `sync`) through [`Wal`], against a raw loop of `write(2)` +
//!   `fdatasync(2)` of exactly the bytes the WAL wrote (its records and
//!   synced markers, cut at each batch's end) to a file in the same
//!   directory; each with and without preallocation (the raw file then
//!   overwrites zeros written beforehand). Wall time: the device's flush is
//!   the cost being measured.
//! - `wal-rotate`: an append that rotates (seal, fdatasync, create the next
//!   file, its predecessor record, fdatasync, directory fsync, then the
//!   batch and its sync) against the same synced append without rotation.
//! - `wal-recovery-1GiB`: [`WalReader`] over a directory of 16 files of
//!   64 MiB (batches of 100 B, 1000 B and 4000 B entries in turn), against
//!   the single-file [`Reader`] over the same files one after the other,
//!   and `read(2)` of them. Thread CPU time (page cache, nothing waits for
//!   the device), as in `benches/recovery.rs`.
//!
//! The files live in a temporary directory under the target directory
//! (`CARGO_TARGET_DIR`, default `./target`): a real file system (not tmpfs),
//! named in `docs/performance.md` with the figures.
//!
//! Run: `cargo bench --bench wal`. Under `cargo test` (and `--test`) the
//! directory is 8 MiB (4 files of 2 MiB) and each benchmark runs once; the
//! 1 GiB directory is built only when benchmarking.

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use blocklog::wal::{dir, Batch, Wal, WalEvent, WalOptions, WalReader};
use blocklog::{Event, Reader};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use blocklog_testkit::bench::{bench_mode, criterion_dir, payload_pool, ThreadCpu};

/// Benchmarking for real: `cargo bench`, not `cargo test` nor criterion's
/// `--test` mode (which runs each benchmark once, on the small inputs).
fn benchmarking() -> bool {
    bench_mode() && !std::env::args().any(|a| a == "--test")
}

/// A scratch directory on the target directory's file system.
fn scratch() -> tempfile::TempDir {
    let base = criterion_dir();
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

fn batch_of(entry: &[u8]) -> Batch {
    let mut b = Batch::new();
    b.put(entry).unwrap();
    b
}

/// The bytes `n` synced appends of 100 B batches write to a WAL's first
/// file after its predecessor record, cut at each batch's end (so a chunk
/// is the previous sync's synced marker, then the batch): what the raw
/// baseline writes, one chunk per `write` + `fdatasync`.
fn wal_chunks(n: usize, entry: &[u8]) -> Vec<Vec<u8>> {
    let d = scratch();
    let opts = WalOptions::new().max_file_size(u64::MAX);
    let mut wal = Wal::open(d.path(), opts.clone()).unwrap();
    for _ in 0..n {
        wal.append(&batch_of(entry)).unwrap();
        wal.sync().unwrap();
    }
    drop(wal);
    let bytes = std::fs::read(dir::path_of(d.path(), 1)).unwrap();
    let mut reader = WalReader::open(d.path(), &opts).unwrap();
    let mut chunks = Vec::new();
    let mut prev = None;
    while let Some(ev) = reader.next_event().unwrap() {
        if let WalEvent::Batch(b) = ev {
            let start = prev.unwrap_or(b.offset);
            chunks.push(bytes[start as usize..b.end as usize].to_vec());
            prev = Some(b.end);
        }
    }
    assert_eq!(chunks.len(), n);
    chunks
}

/// `iters` synced appends through a fresh WAL; the time of the appends only.
fn wal_appends(iters: u64, entry: &[u8], opts: &WalOptions) -> Duration {
    let d = scratch();
    let mut wal = Wal::open(d.path(), opts.clone()).unwrap();
    let batch = batch_of(entry);
    let start = Instant::now();
    for _ in 0..iters {
        wal.append(&batch).unwrap();
        wal.sync().unwrap();
    }
    let t = start.elapsed();
    wal.close().unwrap();
    t
}

/// `iters` raw `write` + `fdatasync` of the WAL's chunks (in turn) to a
/// fresh file, zero-filled to `prealloc` bytes first; the loop's time only.
fn raw_appends(iters: u64, chunks: &[Vec<u8>], prealloc: u64) -> Duration {
    let d = scratch();
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(d.path().join("raw.log"))
        .unwrap();
    if prealloc > 0 {
        let zeros = vec![0u8; 1 << 20];
        let mut left = prealloc;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n]).unwrap();
            left -= n as u64;
        }
        f.sync_all().unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
    }
    let start = Instant::now();
    for i in 0..iters as usize {
        f.write_all(&chunks[i % chunks.len()]).unwrap();
        f.sync_data().unwrap();
    }
    start.elapsed()
}

fn synced_appends(c: &mut Criterion<WallTime>) {
    let entry = payload_pool(100 - 13, 7); // a 100 B batch: 12 B header, 1 B length
    assert_eq!(batch_of(&entry).encoded_len(), 100);
    let chunks = wal_chunks(if benchmarking() { 4000 } else { 50 }, &entry);
    let prealloc = 64 << 20;
    let mut g = c.benchmark_group("wal-sync-100B");
    g.throughput(Throughput::Elements(1));
    if !benchmarking() {
        g.sample_size(10);
    }
    g.measurement_time(Duration::from_secs(if benchmarking() { 20 } else { 1 }));
    let plain = WalOptions::new();
    g.bench_function("wal", |b| b.iter_custom(|n| wal_appends(n, &entry, &plain)));
    g.bench_function("raw-write-fdatasync", |b| {
        b.iter_custom(|n| raw_appends(n, &chunks, 0))
    });
    let pre = WalOptions::new().preallocate(prealloc);
    g.bench_function("wal-prealloc", |b| {
        b.iter_custom(|n| wal_appends(n, &entry, &pre))
    });
    g.bench_function("raw-prealloc", |b| {
        b.iter_custom(|n| raw_appends(n, &chunks, prealloc))
    });
    g.finish();

    // Rotation: every append but a file's first rotates when files hold
    // one batch; the same synced append without rotation beside it.
    let mut g = c.benchmark_group("wal-rotate");
    if !benchmarking() {
        g.sample_size(10);
    }
    g.measurement_time(Duration::from_secs(if benchmarking() { 20 } else { 1 }));
    let rotating = WalOptions::new().max_file_size(1);
    g.bench_function("append-sync", |b| {
        b.iter_custom(|n| wal_appends(n, &entry, &plain))
    });
    g.bench_function("rotate-append-sync", |b| {
        b.iter_custom(|n| wal_appends(n, &entry, &rotating))
    });
    g.finish();
}

/// Builds a WAL of `files` files of about `file_size` bytes in `d`; returns
/// the batches written.
fn build_dir(d: &Path, files: u64, file_size: u64) -> u64 {
    let pool = payload_pool(1 << 20, 42);
    let sizes = [100, 1000, 4000];
    let opts = WalOptions::new()
        .max_file_size(file_size)
        .buffer_size(1 << 20);
    let mut wal = Wal::open(d, opts).unwrap();
    let mut i = 0usize;
    while wal.file_number() <= files {
        let size = sizes[i % sizes.len()];
        let at = (i * 997) % (pool.len() - size);
        wal.append(&batch_of(&pool[at..at + size])).unwrap();
        i += 1;
    }
    // The last append rotated into file `files + 1`: the directory holds
    // `files` full files and one with a single batch.
    wal.close().unwrap();
    i as u64
}

fn wal_recovery(c: &mut Criterion<ThreadCpu>) {
    let (files, file_size, label) = if benchmarking() {
        (16, 64 << 20, "1GiB")
    } else {
        (4, 2 << 20, "8MiB")
    };
    let d = scratch();
    let batches = build_dir(d.path(), files, file_size);
    let numbers = dir::list(d.path()).unwrap();
    let total: u64 = numbers
        .iter()
        .map(|&n| std::fs::metadata(dir::path_of(d.path(), n)).unwrap().len())
        .sum();
    let opts = WalOptions::new();
    let mut g = c.benchmark_group(format!("wal-recovery-{label}"));
    g.throughput(Throughput::Bytes(total));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(if benchmarking() { 10 } else { 1 }));
    g.bench_function("wal-reader", |b| {
        b.iter(|| {
            let mut reader = WalReader::open(d.path(), &opts).unwrap();
            let mut n = 0u64;
            while let Some(ev) = reader.next_event().unwrap() {
                if let WalEvent::Batch(b) = ev {
                    black_box(&b.payload);
                    n += 1;
                }
            }
            assert_eq!(n, batches);
        })
    });
    g.bench_function("reader-per-file", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for &number in &numbers {
                let f = File::open(dir::path_of(d.path(), number)).unwrap();
                let mut reader = Reader::new(f);
                while let Some(ev) = reader.next_event().unwrap() {
                    if let Event::Record(r) = ev {
                        black_box(&r.payload);
                        n += 1;
                    }
                }
            }
            assert_eq!(n, batches);
        })
    });
    let mut block = vec![0u8; 32 << 10];
    g.bench_function("read2", |b| {
        b.iter(|| {
            let mut read = 0u64;
            for &number in &numbers {
                let mut f = File::open(dir::path_of(d.path(), number)).unwrap();
                loop {
                    let n = f.read(&mut block).unwrap();
                    if n == 0 {
                        break;
                    }
                    read += n as u64;
                }
            }
            assert_eq!(read, total);
        })
    });
    g.finish();
}

criterion_group! {
    name = sync_benches;
    config = Criterion::default().configure_from_args();
    targets = synced_appends
}
criterion_group! {
    name = recovery_benches;
    config = Criterion::default().with_measurement(ThreadCpu).configure_from_args();
    targets = wal_recovery
}
criterion_main!(sync_benches, recovery_benches);
