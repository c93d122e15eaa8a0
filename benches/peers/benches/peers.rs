//! Side by side: append + one sync + read-back of the same records with
//! blocklog and its Rust peers (see `src/lib.rs` for each one's round).
//!
//! Run: `cd benches/peers && cargo bench` (or `scripts/bench.sh peers`).

use std::time::Duration;

use blocklog_peer_bench::{Workload, PEERS};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn peers(c: &mut Criterion) {
    let bench = std::env::args().any(|a| a == "--bench");
    let scale = if bench { 1 } else { 16 };
    for (size, count, label) in [
        (100, 20_000 / scale, "100B"),
        (1024, 4096 / scale, "1KiB"),
        (32 * 1024, 128 / scale, "32KiB"),
    ] {
        let w = Workload::new(size, count);
        let mut g = c.benchmark_group(format!("peers-{label}"));
        g.throughput(Throughput::Bytes(w.bytes()));
        for (name, round) in PEERS {
            g.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let dir = tempfile::tempdir().unwrap();
                        total += round(&w, dir.path());
                    }
                    total
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .configure_from_args();
    targets = peers
}
criterion_main!(benches);
