//! Helpers shared by the benches (feature `bench`): workload data, the work
//! manifest that `scripts/bench.sh` reads next to criterion's estimates, and
//! a thread CPU-time measurement for criterion.

use std::io::Write;
use std::path::PathBuf;

use crate::rng::Rng;

/// Whether the binary runs as a benchmark (`cargo bench`), not as a test
/// (`cargo test --benches`, where inputs are kept small).
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `len` pseudo-random bytes ([`Rng`], seeded): incompressible, and the
/// same from run to run.
pub fn payload_pool(len: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(len)
}

/// What one benchmark iteration does, for turning times into rates.
#[derive(Debug, Clone)]
pub struct Work {
    /// criterion's `group/function` id.
    pub id: String,
    /// Logical records per iteration.
    pub records: u64,
    /// Payload bytes per iteration.
    pub payload_bytes: u64,
    /// Log bytes per iteration (payload, headers and padding).
    pub log_bytes: u64,
}

/// Criterion's output directory (as criterion itself finds it when
/// `CARGO_TARGET_DIR` is set, which `scripts/bench.sh` does).
pub fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("criterion")
}

/// Writes `blocklog-work-<name>.tsv` into criterion's output directory
/// (bench mode only).
pub fn manifest(name: &str, works: &[Work]) {
    if !bench_mode() {
        return;
    }
    let dir = criterion_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = std::fs::File::create(dir.join(format!("blocklog-work-{name}.tsv"))).unwrap();
    writeln!(f, "id\trecords\tpayload_bytes\tlog_bytes").unwrap();
    for w in works {
        writeln!(
            f,
            "{}\t{}\t{}\t{}",
            w.id, w.records, w.payload_bytes, w.log_bytes
        )
        .unwrap();
    }
}

/// Criterion measurement: CPU time of the benchmarking thread (user and
/// system, `CLOCK_THREAD_CPUTIME_ID`), not wall time. On a shared machine a
/// benchmark is often descheduled; wall time then measures the neighbours,
/// thread CPU time still measures the work (including the kernel's share of
/// `read(2)`/`write(2)` and page faults). Nothing here waits for a device.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadCpu;

/// The calling thread's CPU time so far.
pub fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a valid,
    // exclusive pointer and reads nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl criterion::measurement::Measurement for ThreadCpu {
    type Intermediate = std::time::Duration;
    type Value = std::time::Duration;

    fn start(&self) -> Self::Intermediate {
        thread_cpu()
    }
    fn end(&self, start: Self::Intermediate) -> Self::Value {
        thread_cpu().saturating_sub(start)
    }
    fn add(&self, a: &Self::Value, b: &Self::Value) -> Self::Value {
        *a + *b
    }
    fn zero(&self) -> Self::Value {
        std::time::Duration::ZERO
    }
    fn to_f64(&self, value: &Self::Value) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
        // Durations in nanoseconds, formatted as criterion formats wall time.
        static WALL: criterion::measurement::WallTime = criterion::measurement::WallTime;
        criterion::measurement::Measurement::formatter(&WALL)
    }
}
