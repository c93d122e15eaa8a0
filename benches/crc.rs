//! The CRC32C routines side by side, on record-like inputs, in one run.
//!
//! For every input size (100 B … 32 KiB) a pool of about 256 KiB holds
//! consecutive inputs 7 bytes apart (a record's payload follows its 7-byte
//! header, so most inputs are not 8-byte aligned); one iteration checksums
//! every input of the pool with
//! - `crate`: the `crc32c` crate (`crc32c_append`),
//! - `serial`: blocklog's one-chain `crc32` loop at every size (below 768 B
//!   this was `src/crc.rs` before the three-chain routine; from 768 B on
//!   that routine gave the input to the crate),
//! - `three-way`: blocklog's three-chain routine at every size,
//! - `append`: `src/crc.rs`'s dispatch as tuned (what the writer and the
//!   reader call).
//!
//! The source of `src/crc.rs` is compiled into this bench (`#[path]`), so
//! each path can be forced without a public API. Times are the benchmarking
//! thread's CPU time (`blocklog_testkit::bench::ThreadCpu`). Run:
//! `cargo bench --bench crc`; `scripts/perf/crc_rounds.py` runs the built
//! binary in interleaved rounds and prints same-round ratios.

use std::hint::black_box;
use std::time::Duration;

use blocklog_testkit::bench::{bench_mode, payload_pool, ThreadCpu};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[allow(dead_code)]
#[path = "../src/crc.rs"]
mod crc;

/// Input sizes measured.
const SIZES: [(usize, &str); 13] = [
    (100, "100B"),
    (192, "192B"),
    (256, "256B"),
    (320, "320B"),
    (384, "384B"),
    (512, "512B"),
    (768, "768B"),
    (1024, "1KiB"),
    (2048, "2KiB"),
    (4096, "4KiB"),
    (8192, "8KiB"),
    (16384, "16KiB"),
    (32 * 1024, "32KiB"),
];

/// The inputs of one size: ranges of one pool, each 7 bytes after the last.
fn inputs(pool: &[u8], size: usize) -> Vec<&[u8]> {
    let mut v = Vec::new();
    let mut at = 7;
    while at + size <= pool.len() {
        v.push(&pool[at..at + size]);
        at += size + 7;
    }
    v
}

fn run(inputs: &[&[u8]], f: impl Fn(u32, &[u8]) -> u32) -> u32 {
    let mut acc = 0;
    for d in inputs {
        acc ^= f(0x5eed, d);
    }
    acc
}

fn crc_routines(c: &mut Criterion<ThreadCpu>) {
    let total = if bench_mode() { 256 << 10 } else { 64 << 10 };
    let pool = payload_pool(total + (64 << 10), 14);
    for (size, label) in SIZES {
        let inputs = inputs(&pool[..(total + 2 * size).min(pool.len())], size);
        let bytes: usize = inputs.iter().map(|d| d.len()).sum();
        let want = run(&inputs, crc32c::crc32c_append);
        let mut g = c.benchmark_group(format!("crc-{label}"));
        g.throughput(Throughput::Bytes(bytes as u64));
        // Each routine is its own closure type, so that `run` calls it
        // directly (inlined where it can be), as the writer and reader do.
        fn one(
            g: &mut criterion::BenchmarkGroup<'_, ThreadCpu>,
            inputs: &[&[u8]],
            want: u32,
            name: &str,
            f: impl Fn(u32, &[u8]) -> u32 + Copy,
        ) {
            assert_eq!(run(inputs, f), want, "{name}");
            g.bench_function(name, |b| b.iter(|| black_box(run(black_box(inputs), f))));
        }
        one(&mut g, &inputs, want, "crate", crc32c::crc32c_append);
        one(&mut g, &inputs, want, "serial", |s, d| {
            crc::append_tuned(s, d, usize::MAX, usize::MAX)
        });
        one(&mut g, &inputs, want, "three-way", |s, d| {
            crc::append_tuned(s, d, 0, usize::MAX)
        });
        one(&mut g, &inputs, want, "append", crc::append);
        g.finish();
    }
}

fn config() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = crc_routines
}
criterion_main!(benches);
