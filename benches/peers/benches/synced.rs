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

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn interleaved() {
    let rec = record();
    let rounds = 5;
    let total = |t: usize| (t as u64 * 40).max(800);
    // rates[log][threads]: appends/s per round; ratio[log][threads]: vs blocklog, per round.
    let mut rates = vec![vec![Vec::new(); THREADS.len()]; SYNCED.len()];
    let mut ratios = vec![vec![Vec::new(); THREADS.len()]; SYNCED.len()];
    let mut lats = vec![vec![Vec::new(); THREADS.len()]; SYNCED.len()];
    for _ in 0..rounds {
        for (j, &t) in THREADS.iter().enumerate() {
            let mut this = Vec::new();
            for (k, (_, f)) in SYNCED.iter().enumerate() {
                let dir = tempfile::tempdir().unwrap();
                let per = total(t) / t as u64;
                let (elapsed, lat) = f(dir.path(), t, per, &rec);
                let r = (per * t as u64) as f64 / elapsed.as_secs_f64();
                rates[k][j].push(r);
                lats[k][j].extend(lat);
                this.push(r);
            }
            for k in 0..SYNCED.len() {
                ratios[k][j].push(this[k] / this[0]);
            }
        }
    }
    let mut out = format!(
        "Interleaved: {rounds} rounds, each running every log at every thread count once; medians over the rounds.\n\n\
         | log | threads | synced appends/s | vs blocklog (same round) | p50 µs | p99 µs |\n|---|---:|---:|---:|---:|---:|\n"
    );
    for (j, &t) in THREADS.iter().enumerate() {
        for (k, (name, _)) in SYNCED.iter().enumerate() {
            let mut l = std::mem::take(&mut lats[k][j]);
            l.sort();
            out.push_str(&format!(
                "| {name} | {t} | {:.0} | {:.2} | {:.1} | {:.1} |\n",
                median(rates[k][j].clone()),
                median(ratios[k][j].clone()),
                percentile(&l, 0.5),
                percentile(&l, 0.99)
            ));
        }
    }
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
