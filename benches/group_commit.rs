//! Group commit: synced appends of 100-byte records through a `SharedWal`
//! (`SyncPolicy::Always`) on a real file, from 1, 2, 4, 8, 16 and 64
//! threads, beside the floor a single thread cannot beat: a raw loop of
//! `write` + `fdatasync` of one record's bytes.
//!
//! Two parts, both wall time (the point is the sync):
//!
//! - criterion: `group-commit-100B/raw-write-fdatasync` and
//!   `group-commit-100B/threads/N`, one iteration = one synced append per
//!   thread (throughput in appends);
//! - with `--bench`, an interleaved table: rounds that each run every
//!   configuration once (a fixed number of appends), so neighbours on this
//!   shared machine slow all of them alike; it prints the medians over the
//!   rounds of appends/s, the ratio to one thread and to the raw loop,
//!   p50/p99 append latency with the raw loop's median fsync latency, the
//!   appends per sync, and the median of the row's own `fdatasync` calls
//!   (each WAL file wrapped in a sink that times them), and writes them to
//!   `$CARGO_TARGET_DIR/criterion/group-commit.md`; then a second one for
//!   threads that sleep between appends (300 µs or 1 ms: not a closed
//!   loop), `group-commit-think.md`.
//!
//! Run: `cargo bench --bench group_commit` (or `scripts/bench.sh group`).

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use blocklog::wal::{Batch, CommitOptions, SharedWal, WalOptions};
use blocklog::SyncData;
use blocklog_testkit::bench::criterion_dir;
use blocklog_testkit::interleaved::{percentile, table, Rounds};
use blocklog_testkit::rng::Rng;
use blocklog_testkit::timed_threads::{self, Run};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const THREADS: [usize; 6] = [1, 2, 4, 8, 16, 64];
const SIZE: usize = 100;

fn record() -> Vec<u8> {
    Rng::new(100).bytes(SIZE)
}

/// `n` appends of `write(2)` + `fdatasync` of one 107-byte record (header
/// and payload); returns the elapsed time and each append's latency.
///
/// `overwrite`: the file is first written full of zeros and synced, so the
/// loop overwrites allocated blocks and `fdatasync` has no file size to
/// commit (what a preallocated or recycled file gives; okaywal and
/// raft-engine preallocate). Otherwise the file grows with every append,
/// as the WAL's files do.
fn raw_loop(dir: &Path, n: u64, overwrite: bool) -> Run {
    let mut w = blocklog::Writer::new(Vec::new());
    w.add_record(&record()).unwrap();
    let bytes = w.into_inner().unwrap();
    let mut file = File::create(dir.join("raw.log")).unwrap();
    if overwrite {
        file.write_all(&vec![0; bytes.len() * n as usize]).unwrap();
        file.sync_all().unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
    }
    let mut lat = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        file.write_all(&bytes).unwrap();
        file.sync_data().unwrap();
        lat.push(t.elapsed());
    }
    (start.elapsed(), lat)
}

/// Preallocation of the `-prealloc` rows: more than the largest row
/// writes (64 threads x 60 appends x 138 bytes), so no append grows the
/// file, and small enough to zero cheaply for every run.
const PREALLOC: u64 = 4 << 20;

/// `threads` threads each appending `per_thread` synced 100-byte batches
/// to a fresh WAL (preallocated to `prealloc` bytes, 0: not); returns the
/// elapsed time (first append to last return) and every append's latency.
fn group(dir: &Path, threads: usize, per_thread: u64, prealloc: u64) -> Run {
    group_thinking(dir, threads, per_thread, prealloc, Duration::ZERO)
}

/// [`group`], each thread sleeping `think` between its appends (not
/// timed): threads that do other work between appends.
fn group_thinking(
    dir: &Path,
    threads: usize,
    per_thread: u64,
    prealloc: u64,
    think: Duration,
) -> Run {
    let opts = WalOptions::new()
        .preallocate(prealloc)
        .wrap_files(|_, f| Box::new(Timed(f)));
    let wal = SharedWal::open(dir, opts, CommitOptions::new()).unwrap();
    lock(&SYNC_TIMES).clear(); // the open's syncs
    let run = timed_threads::run_thinking(threads, per_thread, think, |_| {
        let wal = wal.clone();
        let mut batch = Batch::new();
        batch.put(&record()).unwrap();
        move |_| {
            wal.append(&batch).unwrap();
        }
    });
    assert_eq!(wal.durable_seq(), threads as u64 * per_thread);
    let stats = wal.stats();
    SYNCS.fetch_add(stats.syncs, Ordering::Relaxed);
    APPENDS.fetch_add(stats.appends, Ordering::Relaxed);
    let synced = std::mem::take(&mut *lock(&SYNC_TIMES));
    lock(&RUN_SYNC_TIMES).extend(synced);
    wal.close().unwrap();
    run
}

/// The duration of every `fdatasync` of a WAL file since the WAL of the
/// current `group` run opened.
static SYNC_TIMES: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
/// Those of the appends of the `group` runs since the last reset (for the
/// interleaved table's median fdatasync column).
static RUN_SYNC_TIMES: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A WAL file that times its `fdatasync` calls into [`SYNC_TIMES`].
#[derive(Debug)]
struct Timed(File);

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl SyncData for Timed {
    fn sync_data(&mut self) -> io::Result<()> {
        let t = Instant::now();
        let r = self.0.sync_data();
        lock(&SYNC_TIMES).push(t.elapsed());
        r
    }
}

/// Syncs and appends of the `group` runs since the last reset (for the
/// interleaved table's appends-per-sync column).
static SYNCS: AtomicU64 = AtomicU64::new(0);
static APPENDS: AtomicU64 = AtomicU64::new(0);

fn criterion_part(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("group-commit-{SIZE}B"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw-write-fdatasync", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().unwrap();
            raw_loop(dir.path(), iters, false).0
        })
    });
    g.bench_function("raw-overwrite-fdatasync", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().unwrap();
            raw_loop(dir.path(), iters, true).0
        })
    });
    for (name, pre) in [("threads", 0), ("threads-prealloc", PREALLOC)] {
        for threads in THREADS {
            g.throughput(Throughput::Elements(threads as u64));
            g.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &t| {
                b.iter_custom(|iters| {
                    let dir = tempfile::tempdir().unwrap();
                    group(dir.path(), t, iters, pre).0
                })
            });
        }
    }
    g.finish();
}

/// The interleaved table (see the module docs).
fn interleaved() {
    let rounds = rounds();
    take_counts(); // what the criterion part counted
    lock(&RUN_SYNC_TIMES).clear();
    // Appends per configuration and round: enough groups for stable
    // percentiles at 64 threads, short enough for the 1-thread rows.
    let total = |threads: usize| -> u64 { (threads as u64 * 60).max(1500) };
    // (None, _): the raw loop on a growing file (false) or an allocated
    // one (true); (Some(t), p): the WAL from t threads, preallocated if p.
    // The two WAL rows of a thread count run back to back in each round.
    let configs: Vec<(Option<usize>, bool)> = [(None, false), (None, true)]
        .into_iter()
        .chain(
            THREADS
                .iter()
                .flat_map(|&t| [(Some(t), false), (Some(t), true)]),
        )
        .collect();
    let mut per_sync = vec![(0u64, 0u64); configs.len()];
    let mut sync_times: Vec<Vec<Duration>> = vec![Vec::new(); configs.len()];
    let m = Rounds::measure(rounds, configs.len(), |k| {
        let dir = tempfile::tempdir().unwrap();
        let run = match configs[k] {
            (None, allocated) => (total(1), raw_loop(dir.path(), total(1), allocated)),
            (Some(t), pre) => {
                let per = total(t) / t as u64;
                let pre = if pre { PREALLOC } else { 0 };
                (per * t as u64, group(dir.path(), t, per, pre))
            }
        };
        let (a, s) = take_counts();
        per_sync[k].0 += a;
        per_sync[k].1 += s;
        sync_times[k].extend(std::mem::take(&mut *lock(&RUN_SYNC_TIMES)));
        run
    });
    // Ratios are taken within each round, then the median over the rounds.
    let raw_p50 = |allocated: bool| m.latency(usize::from(allocated), 0.5);
    let mut out = String::new();
    out.push_str(&format!(
        "Interleaved: {rounds} rounds, each running every row once; medians over the rounds, \
         ratios taken within a round. Raw loop: median write + fdatasync latency {:.1} µs \
         (growing file), {:.1} µs (allocated file).\n\n",
        raw_p50(false).as_secs_f64() * 1e6,
        raw_p50(true).as_secs_f64() * 1e6
    ));
    // The 1-thread WAL row of the same preallocation: the "vs 1 thread"
    // base; the raw loop of the same kind of file: the "vs raw" base.
    let one = |pre: bool| 2 + usize::from(pre);
    // The median of the row's own fdatasync calls (pooled over the
    // rounds): what a group waits for at that thread count.
    let sync_median: Vec<Option<Duration>> = sync_times
        .iter_mut()
        .map(|v| {
            v.sort_unstable();
            (!v.is_empty()).then(|| percentile(v, 0.5))
        })
        .collect();
    let rows: Vec<Vec<String>> = configs
        .iter()
        .enumerate()
        .map(|(k, cfg)| {
            let (p50, p99) = (m.latency(k, 0.5), m.latency(k, 0.99));
            let name = match cfg {
                (None, false) => "raw write + fdatasync, growing file (1 thread)".to_string(),
                (None, true) => "raw write + fdatasync, allocated file (1 thread)".to_string(),
                (Some(t), pre) => format!(
                    "SharedWal{}, {t} thread{}",
                    if *pre { " prealloc" } else { "" },
                    if *t == 1 { "" } else { "s" }
                ),
            };
            vec![
                name,
                format!("{:.0}", m.rate(k)),
                match cfg {
                    (Some(_), pre) => format!("{:.2}", m.ratio(k, one(*pre))),
                    (None, _) => String::new(),
                },
                format!("{:.2}", m.ratio(k, usize::from(cfg.1))),
                format!("{:.1}", p50.as_secs_f64() * 1e6),
                format!("{:.1}", p99.as_secs_f64() * 1e6),
                format!("{:.2}", p99.as_secs_f64() / raw_p50(cfg.1).as_secs_f64()),
                per_sync_cell(per_sync[k]),
                match sync_median[k] {
                    Some(d) => format!("{:.1}", d.as_secs_f64() * 1e6),
                    None => String::new(),
                },
                match sync_median[k] {
                    Some(d) => format!("{:.2}", p99.as_secs_f64() / d.as_secs_f64()),
                    None => String::new(),
                },
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "row",
            "synced appends/s",
            "vs 1 thread",
            "vs raw loop",
            "p50 µs",
            "p99 µs",
            "p99 / raw p50",
            "appends per sync",
            "median fdatasync µs",
            "p99 / median fdatasync",
        ],
        &rows,
    ));
    publish("group-commit.md", &out);
}

/// The think-time table: the raw loop and `SharedWal` rows whose threads
/// sleep between appends (300 µs or 1 ms), interleaved in rounds as above;
/// the latency against the raw loop's, and appends per sync. It shows
/// what waiting for the previous group's members would cost when they are
/// not coming back at once (`docs/performance.md`, "Group commit").
fn thinking() {
    let rounds = rounds();
    // (threads, think in µs); (1, 0) is the raw loop.
    let configs: [(usize, u64); 5] = [(1, 0), (4, 300), (16, 300), (4, 1000), (16, 1000)];
    let total = 800u64;
    let mut per_sync = vec![(0u64, 0u64); configs.len()];
    take_counts();
    let m = Rounds::measure(rounds, configs.len(), |k| {
        let dir = tempfile::tempdir().unwrap();
        let run = match configs[k] {
            (1, 0) => raw_loop(dir.path(), total, false),
            (t, think) => {
                let think = Duration::from_micros(think);
                group_thinking(dir.path(), t, total / t as u64, 0, think)
            }
        };
        let (a, s) = take_counts();
        per_sync[k].0 += a;
        per_sync[k].1 += s;
        lock(&RUN_SYNC_TIMES).clear();
        (total, run)
    });
    let raw = m.latency(0, 0.5).as_secs_f64();
    let rows: Vec<Vec<String>> = configs
        .iter()
        .enumerate()
        .map(|(k, &(t, think))| {
            let (p50, p99) = (m.latency(k, 0.5), m.latency(k, 0.99));
            vec![
                match (t, think) {
                    (1, 0) => "raw write + fdatasync, growing file (1 thread)".to_string(),
                    (t, think) => format!("SharedWal, {t} threads, {think} µs between appends"),
                },
                format!("{:.1}", p50.as_secs_f64() * 1e6),
                format!("{:.1}", p99.as_secs_f64() * 1e6),
                format!("{:.2}", p50.as_secs_f64() / raw),
                format!("{:.2}", p99.as_secs_f64() / raw),
                per_sync_cell(per_sync[k]),
            ]
        })
        .collect();
    let mut out = format!(
        "Think time: {rounds} rounds, each running every row once ({total} appends a row); \
         latencies over all rounds.\n\n"
    );
    out.push_str(&table(
        &[
            "row",
            "p50 µs",
            "p99 µs",
            "p50 / raw p50",
            "p99 / raw p50",
            "appends per sync",
        ],
        &rows,
    ));
    publish("group-commit-think.md", &out);
}

/// The number of interleaved rounds: `GROUP_COMMIT_ROUNDS`, else 7.
fn rounds() -> usize {
    std::env::var("GROUP_COMMIT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7)
}

/// The appends and syncs counted since the last call.
fn take_counts() -> (u64, u64) {
    (
        APPENDS.swap(0, Ordering::Relaxed),
        SYNCS.swap(0, Ordering::Relaxed),
    )
}

/// The appends-per-sync cell of (appends, syncs); empty with no sync.
fn per_sync_cell((appends, syncs): (u64, u64)) -> String {
    match syncs {
        0 => String::new(),
        s => format!("{:.1}", appends as f64 / s as f64),
    }
}

/// Prints a table and writes it to `name` in criterion's directory.
fn publish(name: &str, out: &str) {
    println!("\n{out}");
    let dir = criterion_dir();
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(name), out);
    }
}

fn benches(c: &mut Criterion) {
    criterion_part(c);
    if std::env::args().any(|a| a == "--bench") {
        interleaved();
        thinking();
    }
}

criterion_group! {
    name = group_commit;
    config = Criterion::default()
        .without_plots()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .configure_from_args();
    targets = benches
}
criterion_main!(group_commit);
