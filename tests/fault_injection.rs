//! Fault injection: for workloads of appends, flushes and syncs, fail the
//! N-th write, flush or sync call with EIO or ENOSPC (optionally after a
//! short write), for every N the workload makes. Each time:
//! - the error reaches the caller, as `Error::Io` carrying the errno;
//! - the writer is poisoned: every later call returns the same error and
//!   nothing more reaches the sink;
//! - reading the file afterwards, both as written and as a crash right after
//!   the fault would leave it (only synced bytes), returns every record
//!   acknowledged before the fault, then possibly more of the written
//!   records, in order, and nothing else;
//! - cutting the log after the last record recovered and reopening it for
//!   append there (the recovery the writer's documentation prescribes)
//!   gives a log that reads back whole.

use blocklog::{Error, Position, ReaderOptions, RecoveryMode, Writer, WriterOptions};
use blocklog_testkit::faulty::{Call, Errno, Fault, Faulty};
use blocklog_testkit::oracle::{prefix_of, Written};
use blocklog_testkit::read::read;
use blocklog_testkit::rng::Rng;
use blocklog_testkit::simfile::SimDisk;
use blocklog_testkit::workload::{payload, Action};

/// A fault-injection workload.
#[derive(Debug, Clone)]
struct FSpec {
    name: String,
    recyclable: Option<u32>,
    buffer_size: usize,
    short_writes: Option<usize>,
    /// Records written and synced by an earlier writer before this one opens
    /// the log for append.
    prelude: Vec<Vec<u8>>,
    actions: Vec<Action>,
}

struct Outcome {
    disk: SimDisk,
    written: Vec<Written>,
    acked: usize,
    error: Option<Error>,
    calls: [usize; 3],
    calls_after_fault: usize,
}

fn writer_options(spec: &FSpec) -> WriterOptions {
    match spec.recyclable {
        Some(n) => WriterOptions::new().recyclable(n),
        None => WriterOptions::new(),
    }
}

fn drive(spec: &FSpec, fault: Option<Fault>) -> Outcome {
    let disk = SimDisk::new();
    let mut written = Vec::new();
    let mut start = 0;
    if !spec.prelude.is_empty() {
        let mut w = writer_options(spec).build(disk.open_at(0));
        for p in &spec.prelude {
            let offset = w.add_record(p).unwrap();
            written.push(Written {
                offset,
                end: w.offset(),
                payload: p.clone(),
            });
        }
        w.sync().unwrap();
        start = w.offset();
    }
    let mut acked = written.len();
    let mut file = disk.open_at(start);
    if let Some(n) = spec.short_writes {
        file = file.short_writes(n);
    }
    let mut w: Writer<Faulty<_>> = writer_options(spec)
        .append_at(start)
        .buffer_size(spec.buffer_size)
        .build(Faulty::new(file, fault));
    let mut error = None;
    let mut actions = spec.actions.iter().chain(std::iter::once(&Action::Sync));
    for a in &mut actions {
        let r = match a {
            Action::Add(p) => w.add_record(p).map(|offset| {
                written.push(Written {
                    offset,
                    end: w.offset(),
                    payload: p.clone(),
                })
            }),
            Action::Flush => w.flush(),
            Action::Sync => w.sync().map(|()| acked = written.len()),
        };
        if let Err(e) = r {
            error = Some(e);
            break;
        }
    }
    if let Some(e) = &error {
        // Poisoned: every later call fails with the same error, and touches nothing.
        assert_eq!(w.poisoned().map(|p| p.to_string()), Some(e.to_string()));
        let again = [
            w.add_record(b"after the fault").map(|_| ()),
            w.flush(),
            w.sync(),
        ];
        for r in again {
            assert_eq!(r.unwrap_err().to_string(), e.to_string(), "{}", spec.name);
        }
    }
    let f = w.get_ref();
    Outcome {
        disk: disk.clone(),
        written,
        acked,
        error,
        calls: [
            f.calls(Call::Write),
            f.calls(Call::Flush),
            f.calls(Call::Sync),
        ],
        calls_after_fault: f.calls_after_fault(),
    }
}

/// Reads `image` in every mode: the first `m >= acked` written records,
/// nothing else; no error except absolute's refusal of a torn tail.
fn check_image(spec: &FSpec, o: &Outcome, image: &[u8], what: &str) -> usize {
    let complete = o
        .written
        .iter()
        .take_while(|w| w.end <= image.len() as u64)
        .count();
    let mut recovered = usize::MAX;
    for mode in RecoveryMode::ALL {
        let mut opts = ReaderOptions::new().mode(mode);
        if let Some(n) = spec.recyclable {
            opts = opts.log_number(n);
        }
        let out = read(image, opts);
        let got = out.returned();
        let m = prefix_of(&got, &o.written).unwrap_or_else(|e| panic!("{what} {mode}: {e}"));
        assert!(
            m >= o.acked,
            "{what} {mode}: {m} records, {} acknowledged",
            o.acked
        );
        match (mode, &out.error) {
            (_, None) => {
                assert!(
                    m >= complete,
                    "{what} {mode}: {m} records, {complete} complete"
                );
                assert!(
                    out.dropped.iter().all(|d| d.position == Position::Tail),
                    "{what} {mode}"
                );
            }
            (RecoveryMode::Absolute, Some(e)) => {
                assert_eq!(
                    e.damage().map(|d| d.position),
                    Some(Position::Tail),
                    "{what}: {e}"
                );
            }
            (_, Some(e)) => panic!("{what} {mode}: {e}"),
        }
        if mode == RecoveryMode::TolerateTail {
            recovered = m;
        }
    }
    recovered
}

/// The recovery the writer's documentation prescribes after a fault: read
/// the log, cut it after the last record recovered, reopen it for append
/// there and go on. The result reads back as the recovered records followed
/// by the new ones, in every mode, with no damage.
fn reopen_and_continue(spec: &FSpec, o: &Outcome, image: &[u8], recovered: usize, what: &str) {
    let end = o.written[..recovered].last().map_or(0, |w| w.end);
    let disk = SimDisk::with_contents(image[..end as usize].to_vec());
    let mut w = writer_options(spec).append_at(end).build(disk.open_at(end));
    let mut written = o.written[..recovered].to_vec();
    for i in 0..3u8 {
        let p = vec![i; 100 + 20_000 * usize::from(i)];
        let offset = w.add_record(&p).unwrap();
        written.push(Written {
            offset,
            end: w.offset(),
            payload: p,
        });
    }
    w.sync().unwrap();
    let log = disk.image();
    for mode in RecoveryMode::ALL {
        let mut opts = ReaderOptions::new().mode(mode);
        if let Some(n) = spec.recyclable {
            opts = opts.log_number(n);
        }
        let out = read(&log, opts);
        assert!(
            out.error.is_none(),
            "{what}: after reopening, {mode}: {:?}",
            out.error
        );
        assert!(
            out.dropped.is_empty(),
            "{what}: after reopening, {mode}: {:?}",
            out.dropped
        );
        let m = prefix_of(&out.returned(), &written)
            .unwrap_or_else(|e| panic!("{what}: after reopening: {e}"));
        assert_eq!(m, written.len(), "{what}: after reopening, {mode}");
    }
}

fn specs(seed: u64) -> Vec<FSpec> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let actions = |rng: &mut Rng, n: usize, big: bool| {
        let mut v = Vec::new();
        for _ in 0..n {
            let len = if big && rng.chance(1, 5) {
                rng.range(20_000, 80_000)
            } else {
                rng.range(0, 700)
            };
            v.push(Action::Add(payload(rng, len)));
            match rng.below(5) {
                0 => v.push(Action::Sync),
                1 => v.push(Action::Flush),
                _ => {}
            }
        }
        v
    };
    for (i, (buffer_size, short, recyclable, prelude, big)) in [
        (0usize, None, None, 0usize, false),
        (300, None, Some(9u32), 0, true),
        (64 * 1024, None, None, 5, true),
        (0, Some(1000usize), Some(12), 3, true),
        (4096, Some(333), None, 0, false),
    ]
    .into_iter()
    .enumerate()
    {
        let prelude = (0..prelude).map(|_| {
            let n = rng.range(0, 5000);
            payload(&mut rng, n)
        });
        out.push(FSpec {
            name: format!("workload-{i} (buffer {buffer_size}, short writes {short:?}, recyclable {recyclable:?})"),
            recyclable,
            buffer_size,
            short_writes: short,
            prelude: prelude.collect(),
            actions: actions(&mut rng, 30, big),
        });
    }
    out
}

#[test]
fn every_write_flush_and_sync_failure() {
    let mut faults = 0u64;
    let mut images = 0u64;
    let mut acked_total = 0u64;
    let mut recovered_total = 0u64;
    for spec in specs(7) {
        let dry = drive(&spec, None);
        assert!(dry.error.is_none());
        assert_eq!(dry.acked, dry.written.len());
        let mut per_spec = 0;
        for call in Call::ALL {
            let count = dry.calls[call as usize];
            for nth in 0..count {
                for errno in Errno::ALL {
                    for short_first in [false, true] {
                        if short_first && call != Call::Write {
                            continue;
                        }
                        let fault = Fault {
                            call,
                            nth,
                            errno,
                            short_first,
                        };
                        let o = drive(&spec, Some(fault));
                        let what = format!("{}: {fault:?}", spec.name);
                        let e = o
                            .error
                            .clone()
                            .unwrap_or_else(|| panic!("{what}: the fault never surfaced"));
                        match &e {
                            Error::Io { source, .. } => {
                                assert_eq!(source.raw_os_error(), Some(errno.raw()), "{what}: {e}")
                            }
                            other => panic!("{what}: not an I/O error: {other}"),
                        }
                        assert_eq!(
                            o.calls_after_fault, 0,
                            "{what}: the sink was used after the fault"
                        );
                        let all = o.disk.image();
                        let durable = o.disk.durable_image(o.disk.op_count());
                        let r = check_image(&spec, &o, &all, &format!("{what} (as written)"));
                        check_image(&spec, &o, &durable, &format!("{what} (synced bytes only)"));
                        reopen_and_continue(&spec, &o, &all, r, &what);
                        faults += 1;
                        images += 2;
                        per_spec += 1;
                        acked_total += o.acked as u64;
                        recovered_total += r as u64;
                    }
                }
            }
        }
        println!(
            "{}: {} writes, {} flushes, {} syncs; {per_spec} faults injected",
            spec.name, dry.calls[0], dry.calls[1], dry.calls[2]
        );
    }
    println!(
        "fault injection: {faults} faults, {images} files read in 4 modes; {acked_total} acknowledged records expected, {recovered_total} recovered from the written files; records lost: 0, invented: 0"
    );
    assert!(faults > 500, "only {faults} faults");
}
