//! Arbitrary bytes, read in every mode with the options the input's first
//! bytes select: no panic, termination, bounded memory, increasing
//! offsets, records made of checksummed fragments, cross-mode consistency.
//! The properties live in `blocklog_testkit::props` (testkit/src/props.rs).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;

use blocklog_testkit::props;

/// Counts live heap bytes and their peak, to bound the reader's memory.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let (cfg, log) = props::split_read_any(data);
    // Memory: stream every event (dropping each), measuring the peak of
    // live heap bytes above what was live before the reader existed.
    for mode in blocklog::RecoveryMode::ALL {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let mut reader = cfg.options(mode).build(log);
        let mut n = 0usize;
        while let Ok(Some(_event)) = reader.next_event() {
            n += 1;
            assert!(n <= log.len() + 16, "{mode}: too many events");
        }
        drop(reader);
        let used = PEAK.load(Ordering::Relaxed) - base;
        let bound = 2 * cfg.max_record_size.min(log.len()) + 6 * blocklog::format::BLOCK_SIZE;
        assert!(
            used <= bound,
            "{mode}: reader used {used} bytes, bound {bound} (limit {})",
            cfg.max_record_size
        );
    }
    props::read_any(data);
});
