//! Side by side: synced appends of 100-byte records from 1, 4, 16 and 64
//! threads with blocklog's `SharedWal` (group commit), okaywal and
//! raft-engine (see `src/synced.rs`), wall time.
//!
//! criterion rows `synced-100B/<log>/<threads>` (one iteration = one
//! synced append per thread), then, with `--bench`, an interleaved table:
//! rounds that each run every log at every thread count once, medians over
//! the rounds, and each peer's ratio to blocklog in the same round.
//!
//! Run: `cd benches/peers && cargo bench --bench synced`.

use std::time::Duration;

use blocklog_peer_bench::synced::SYNCED;
use blocklog_testkit::interleaved::{table, Rounds};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const THREADS: [usize; 4] = [1, 4, 16, 64];

fn record() -> Vec<u8> {
    (0..100u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

fn criterion_part(c: &mut Criterion) {
    let rec = record();
    let mut g = c.benchmark_group("synced-100B");
    for (name, f) in SYNCED {
        for threads in THREADS {
            g.throughput(Throughput::Elements(threads as u64));
            g.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &t| {
                b.iter_custom(|iters| {
                    let dir = tempfile::tempdir().unwrap();
                    f(dir.path(), t, iters, &rec).0
                })
            });
        }
    }
    g.finish();
}

fn interleaved() {
    let rec = record();
    let rounds = 5;
    let total = |t: usize| (t as u64 * 40).max(800);
    // Row `j * SYNCED.len() + k`: log `k` at `THREADS[j]` threads; each
    // round runs the logs of a thread count back to back.
    let row = |j: usize, k: usize| j * SYNCED.len() + k;
    let m = Rounds::measure(rounds, THREADS.len() * SYNCED.len(), |r| {
        let (t, (_, f)) = (THREADS[r / SYNCED.len()], SYNCED[r % SYNCED.len()]);
        let dir = tempfile::tempdir().unwrap();
        let per = total(t) / t as u64;
        (per * t as u64, f(dir.path(), t, per, &rec))
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut rows = Vec::new();
    for (j, &t) in THREADS.iter().enumerate() {
        for (k, (name, _)) in SYNCED.iter().enumerate() {
            rows.push(vec![
                name.to_string(),
                t.to_string(),
                format!("{:.0}", m.rate(row(j, k))),
                format!("{:.2}", m.ratio(row(j, k), row(j, 0))),
                format!("{:.1}", us(m.latency(row(j, k), 0.5))),
                format!("{:.1}", us(m.latency(row(j, k), 0.99))),
            ]);
        }
    }
    let out = format!(
        "Interleaved: {rounds} rounds, each running every log at every thread count once; medians over the rounds.\n\n{}",
        table(
            &[
                "log",
                "threads",
                "synced appends/s",
                "vs blocklog (same round)",
                "p50 µs",
                "p99 µs"
            ],
            &rows
        )
    );
    println!("\n{out}");
}

fn benches(c: &mut Criterion) {
    criterion_part(c);
    if std::env::args().any(|a| a == "--bench") {
        interleaved();
    }
}

criterion_group! {
    name = synced;
    config = Criterion::default()
        .without_plots()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10)
        .configure_from_args();
    targets = benches
}
criterion_main!(synced);
