//! Reader memory: the peak of heap bytes live while a [`Reader`] reads a log
//! whose largest record is N bytes, measured with a counting global
//! allocator (a `realloc` counts the old and the new block as both live, as
//! a moving reallocation holds them).
//!
//! Records are read one at a time and dropped before the next, as a
//! recovery loop that applies each record does. The peak is compared with
//! the target: two 32 KiB blocks plus the largest record.
//!
//! A second column measures physical memory: a child process reads the same
//! log and reports the growth of its peak resident set (`VmHWM` minus the
//! `VmRSS` before reading, from `/proc/self/status`), which counts a
//! reallocation that the kernel moves in place (`mremap`) only once.
//!
//! Run: `cargo bench --bench memory` (prints a table; not a criterion bench).

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use blocklog::{Reader, ReaderOptions, WriterOptions};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let now = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments;
// the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size);
        let p = System.realloc(ptr, layout, new_size);
        LIVE.fetch_sub(layout.size(), Relaxed);
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const BLOCK: usize = 32 * 1024;

/// A `kB` field of `/proc/self/status`, in bytes (0 where unavailable).
fn status_kb(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Reads every record of `path`, dropping each; returns the count. The
/// file is read as a plain `io::Read` (`Reader::new`), or, `seekable`, with
/// `ReaderOptions::build_seekable`, which finds a multi-block record's size
/// ahead from its blocks' headers.
fn read_all(path: &std::path::Path, max: usize, seekable: bool) -> usize {
    let file = File::open(path).unwrap();
    let mut n = 0;
    let mut count = |r: blocklog::Record| {
        assert!(r.payload.len() <= max);
        n += 1;
    };
    if seekable {
        let mut reader = ReaderOptions::new().build_seekable(file).unwrap();
        while let Some(r) = reader.next_record().unwrap() {
            count(r);
        }
    } else {
        let mut reader = Reader::new(file);
        while let Some(r) = reader.next_record().unwrap() {
            count(r);
        }
    }
    n
}

/// The peak of heap bytes live while `read_all` runs.
fn peak_heap(path: &std::path::Path, max: usize, seekable: bool) -> usize {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    assert_eq!(read_all(path, max, seekable), 64);
    PEAK.load(Relaxed) - base
}

/// The child: reads the log and prints its peak resident-set growth.
fn child(path: &str, max: usize, seekable: bool) {
    let before = status_kb("VmRSS:");
    read_all(std::path::Path::new(path), max, seekable);
    let peak = status_kb("VmHWM:");
    println!("{}", peak.saturating_sub(before));
}

/// Runs the child on `path`; `None` where /proc is unavailable.
fn rss_growth(path: &std::path::Path, max: usize, seekable: bool) -> Option<usize> {
    let out = std::process::Command::new(std::env::current_exe().ok()?)
        .arg("--child")
        .arg(path)
        .arg(max.to_string())
        .arg(if seekable { "seekable" } else { "stream" })
        .output()
        .ok()?;
    let v: usize = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    (v > 0).then_some(v)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(
            &args[i + 1],
            args[i + 2].parse().unwrap(),
            args[i + 3] == "seekable",
        );
        return;
    }
    let bench = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().unwrap();
    let maxima: &[usize] = if bench {
        &[100, 1024, 32 * 1024, 1 << 20, 16 << 20, 64 << 20]
    } else {
        &[100, 32 * 1024, 1 << 20]
    };
    println!("| largest record | log size | target: 2 blocks + largest | `build_seekable(File)`: peak heap (counting allocator) | peak RSS growth (child process) | heap within target | `Reader::new(File)` (plain `io::Read`): peak heap | peak RSS growth | heap within target |");
    println!("|---:|---:|---:|---:|---:|---|---:|---:|---|");
    let mut all_within = true;
    for (i, &max) in maxima.iter().enumerate() {
        let path = dir.path().join(format!("{i}.log"));
        {
            let mut w = WriterOptions::new().build(File::create(&path).unwrap());
            let small = vec![7u8; 100.min(max)];
            let big = vec![9u8; max];
            for k in 0..64 {
                w.add_record(if k % 8 == 3 { &big } else { &small })
                    .unwrap();
            }
            w.flush().unwrap();
        }
        let log_len = std::fs::metadata(&path).unwrap().len();
        let target = 2 * BLOCK + max;
        let mut row = format!("| {max} | {log_len} | {target} |");
        for seekable in [true, false] {
            let peak = peak_heap(&path, max, seekable);
            let rss = rss_growth(&path, max, seekable).map_or("n/a".to_string(), |v| v.to_string());
            let within = peak <= target;
            if seekable {
                all_within &= within;
            }
            row += &format!(
                " {peak} | {rss} | {} ({:.2}x) |",
                if within { "yes" } else { "NO" },
                peak as f64 / target as f64
            );
        }
        println!("{row}");
    }
    println!("\nall within target (seekable reader): {all_within}");
}
