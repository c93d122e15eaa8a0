//! Threads started together, each timing every one of its calls: the
//! synced-append runs of the group-commit benches (`benches/group_commit.rs`,
//! `benches/peers/src/synced.rs`), where the point is how appends from
//! many threads at once share syncs.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// One run: the time from the threads' common start to the last thread's
/// return, and every call's latency.
pub type Run = (Duration, Vec<Duration>);

/// Starts `threads` threads, each calling its body `per_thread` times (with
/// the call's index), all released together; returns the run.
///
/// `make(thread)` builds thread `thread`'s body before the start (not
/// timed): what the thread owns, such as its clone of the log and its
/// record, is set up there.
pub fn run<M, B>(threads: usize, per_thread: u64, make: M) -> Run
where
    M: Fn(usize) -> B,
    B: FnMut(u64) + Send + 'static,
{
    run_thinking(threads, per_thread, Duration::ZERO, make)
}

/// [`run`], each thread sleeping `think` after each call (not timed): a
/// load whose threads do other work between appends, instead of a closed
/// loop.
pub fn run_thinking<M, B>(threads: usize, per_thread: u64, think: Duration, make: M) -> Run
where
    M: Fn(usize) -> B,
    B: FnMut(u64) + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let mut body = make(t);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let mut lat = Vec::with_capacity(per_thread as usize);
                barrier.wait();
                for i in 0..per_thread {
                    let s = Instant::now();
                    body(i);
                    lat.push(s.elapsed());
                    if !think.is_zero() {
                        thread::sleep(think);
                    }
                }
                lat
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.join().unwrap());
    }
    (start.elapsed(), lat)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[test]
    fn every_thread_makes_every_call() {
        let calls = Arc::new(AtomicU64::new(0));
        let (_, lat) = run(3, 5, |t| {
            let calls = Arc::clone(&calls);
            move |_| {
                calls.fetch_add(t as u64 + 1, Ordering::Relaxed);
            }
        });
        assert_eq!(lat.len(), 15);
        assert_eq!(calls.load(Ordering::Relaxed), 5 * (1 + 2 + 3));
    }

    #[test]
    fn the_think_time_is_not_in_the_latencies() {
        let think = Duration::from_millis(200);
        let (elapsed, lat) = run_thinking(2, 2, think, |_| |_| {});
        assert_eq!(lat.len(), 4);
        // Each thread slept twice after the common start (which the run's
        // clock may read a little after the threads start).
        assert!(elapsed >= think, "{elapsed:?}");
        // An empty call: timed with the sleep, each would take 200 ms.
        assert!(lat.iter().all(|l| *l < think), "{lat:?}");
    }
}
