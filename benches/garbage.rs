//! Defect 8 of issue 10: the work per byte of garbage is bounded. Reads a
//! clean log and files of the same size made of garbage (0x0B bytes, which
//! pass the byte scan's cheap tests at every position before any record
//! fixed the format; 0x01 bytes, legacy FULL headers; random bytes; 0xFF
//! bytes) in skip-corrupt mode with both resyncs, from memory.
//!
//! Besides criterion's estimates, prints each input's time as a ratio to
//! the clean log's (thread CPU time, best of a few runs).
//!
//! Run: `cargo bench --bench garbage` (quick: `-- --quick`). Under
//! `cargo test` the inputs are 256 KiB and each benchmark runs once.

use std::hint::black_box;
use std::time::Duration;

use blocklog::{ReaderOptions, RecoveryMode, Resync, Writer};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use blocklog_testkit::bench::{bench_mode, payload_pool, thread_cpu, ThreadCpu};

fn size() -> usize {
    if bench_mode() {
        4 << 20
    } else {
        256 << 10
    }
}

/// The inputs, all `size()` bytes long.
fn inputs() -> Vec<(&'static str, Bytes)> {
    let n = size();
    let pool = payload_pool(1 << 20, 7);
    let mut w = Writer::new(Vec::with_capacity(n + 4096));
    let mut i = 0;
    while (w.offset() as usize) < n - 2000 {
        let len = [100, 1000, 4000][i % 3];
        let at = (i * 997) % (pool.len() - len);
        w.add_record(&pool[at..at + len]).unwrap();
        i += 1;
    }
    let mut clean = w.into_inner().unwrap();
    clean.resize(n, 0); // zero-filled tail: still clean
    vec![
        ("clean", Bytes::from(clean)),
        ("0x0b", Bytes::from(vec![0x0b; n])),
        ("0x01", Bytes::from(vec![0x01; n])),
        ("random", Bytes::from(payload_pool(n, 99))),
        ("0xff", Bytes::from(vec![0xff; n])),
    ]
}

fn read_all(log: &Bytes, resync: Resync) -> u64 {
    let mut r = ReaderOptions::new()
        .mode(RecoveryMode::SkipCorrupt)
        .resync(resync)
        .build_from_bytes(log.clone());
    let mut n = 0;
    while let Ok(Some(e)) = r.next_event() {
        black_box(&e);
        n += 1;
    }
    n
}

/// Best-of-`runs` thread CPU time of one read.
fn best(log: &Bytes, resync: Resync, runs: usize) -> Duration {
    (0..runs)
        .map(|_| {
            let t = thread_cpu();
            black_box(read_all(log, resync));
            thread_cpu() - t
        })
        .min()
        .unwrap()
}

fn garbage(c: &mut Criterion<ThreadCpu>) {
    let inputs = inputs();
    for resync in [Resync::Block, Resync::Scan] {
        let name = format!("garbage-{}", resync.as_str());
        let mut g = c.benchmark_group(&name);
        g.throughput(Throughput::Bytes(size() as u64));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(100));
        g.measurement_time(Duration::from_secs(if bench_mode() { 3 } else { 1 }));
        for (label, log) in &inputs {
            g.bench_function(*label, |b| b.iter(|| read_all(log, resync)));
        }
        g.finish();
        // The ratios the defect is about.
        let runs = if bench_mode() { 5 } else { 1 };
        let clean = best(&inputs[0].1, resync, runs);
        let mut line = format!("{name}: clean {:.2} ms", clean.as_secs_f64() * 1e3);
        for (label, log) in &inputs[1..] {
            let t = best(log, resync, runs);
            line += &format!(
                ", {label} {:.2} ms ({:.1}x)",
                t.as_secs_f64() * 1e3,
                t.as_secs_f64() / clean.as_secs_f64()
            );
        }
        eprintln!("{line}");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu).configure_from_args();
    targets = garbage
}
criterion_main!(benches);
