//! Crash simulation: every write of mixed workloads is torn at many points
//! (lost, cut at any byte, sector-granular zero or old fill), and every
//! resulting file is read in all four recovery modes.
//!
//! Properties, for each crash point:
//! - tolerate-tail, point-in-time and skip-corrupt return exactly the first
//!   `m` records written (same offsets and payloads), with `m` at least the
//!   number of records acknowledged by a sync before the crash (and at least
//!   the number whose bytes all reached the file), and no error;
//! - absolute returns the same prefix and then either ends cleanly or
//!   reports tail damage; when the crash left the log at a record boundary
//!   it ends cleanly;
//! - no reader returns a record that was not written.
//!
//! `crash_points_quick` runs in plain `cargo test`; `crash_points_full` is
//! the larger run of `.ci/post-fuzz.sh` (`cargo test --test crash_sim --
//! --ignored`; `BLOCKLOG_CRASH_SEED` picks another seed).

use std::collections::BTreeMap;

use blocklog::{LogFormat, Position, ReaderOptions, RecoveryMode, Resync, WriterOptions};
use blocklog_testkit::oracle::{prefix_of, record_end, subsequence_of};
use blocklog_testkit::read::read;
use blocklog_testkit::rng::Rng;
use blocklog_testkit::simfile::{torn_image, Fill, Op};
use blocklog_testkit::workload::{run, session, Action, Run, Sizes, Spec};

/// Tallies printed at the end.
#[derive(Debug, Default)]
struct Tally {
    points: u64,
    reads: u64,
    by_kind: BTreeMap<String, u64>,
    acked: u64,
    recovered: u64,
    recovered_unacked: u64,
    absolute_refused: u64,
    lost: u64,
    invented: u64,
}

/// Checks one crash image. `persisted` is the length of the log's prefix
/// known to be intact; `acked` the records acknowledged before the crash.
#[allow(clippy::too_many_arguments)]
fn check_image(
    run: &Run,
    image: &[u8],
    persisted: u64,
    acked: usize,
    clean: bool,
    resync: Resync,
    what: &str,
    t: &mut Tally,
) {
    let complete = run.complete_within(persisted);
    assert!(
        complete >= acked,
        "{what}: harness: acknowledged records not complete"
    );
    t.points += 1;
    t.acked += acked as u64;
    for mode in RecoveryMode::ALL {
        let mut opts = ReaderOptions::new().mode(mode).resync(resync);
        if let Some(n) = run.recyclable {
            opts = opts.log_number(n).format(LogFormat::Recyclable);
        }
        let out = read(image, opts);
        t.reads += 1;
        let got = out.returned();
        let m = match prefix_of(&got, &run.written) {
            Ok(m) => m,
            Err(e) => {
                t.invented += 1;
                panic!("{what} {mode}: not a prefix of the written records: {e}");
            }
        };
        if m < complete {
            t.lost += 1;
            panic!(
                "{what} {mode}/{}: {m} records recovered, {complete} complete ({acked} acknowledged); events {:?}, error {:?}",
                resync.as_str(),
                out.events.iter().filter(|e| !matches!(e, blocklog::Event::Record(_))).collect::<Vec<_>>(),
                out.error
            );
        }
        match mode {
            RecoveryMode::Absolute => {
                if let Some(e) = &out.error {
                    let d = e
                        .damage()
                        .unwrap_or_else(|| panic!("{what}: absolute: not a corruption error: {e}"));
                    assert_eq!(
                        d.position,
                        Position::Tail,
                        "{what}: absolute saw interior damage: {e}"
                    );
                    assert!(
                        !clean,
                        "{what}: absolute refused a log cut at a record boundary: {e}"
                    );
                    t.absolute_refused += 1;
                }
            }
            _ => {
                assert!(
                    out.error.is_none(),
                    "{what} {mode}/{}: error {:?}",
                    resync.as_str(),
                    out.error
                );
                assert!(
                    out.dropped.iter().all(|d| d.position == Position::Tail),
                    "{what} {mode}: interior damage {:?}",
                    out.dropped
                );
                assert!(out.summary.stopped_at.is_none(), "{what} {mode}: stopped");
                if mode == RecoveryMode::TolerateTail {
                    t.recovered += m as u64;
                    t.recovered_unacked += (m - acked) as u64;
                    // Once this log's first record is durable, the reader
                    // learns the log number from it: same result without it.
                    if run.recyclable.is_some() && acked > 0 {
                        let learned = read(image, ReaderOptions::new().mode(mode).resync(resync));
                        t.reads += 1;
                        assert_eq!(
                            learned.events, out.events,
                            "{what}: log number learned, not given"
                        );
                        assert!(learned.error.is_none(), "{what}: {:?}", learned.error);
                    }
                }
            }
        }
    }
}

/// Tear positions within a write of `len` bytes at `offset`: its ends, the
/// bytes around every header it holds, every 512-byte sector boundary,
/// and a few random bytes.
fn tear_points(
    run: &Run,
    offset: u64,
    len: usize,
    rng: &mut Rng,
    random: usize,
    sectors_max: usize,
) -> (Vec<usize>, Vec<usize>) {
    let end = offset + len as u64;
    let mut bytes = vec![0, len];
    let block = blocklog::format::BLOCK_SIZE as u64;
    let mut heads: Vec<u64> = run
        .written
        .iter()
        .map(|w| w.offset)
        .filter(|&o| o >= offset && o < end)
        .collect();
    let mut b = offset.div_ceil(block) * block;
    while b < end {
        heads.push(b);
        b += block;
    }
    for h in heads {
        for d in [0u64, 1, 4, 6, 7, 8, 10, 11, 12] {
            if h + d < end {
                bytes.push((h + d - offset) as usize);
            }
        }
    }
    for _ in 0..random {
        bytes.push(rng.below(len as u64 + 1) as usize);
    }
    bytes.sort_unstable();
    bytes.dedup();
    let mut sectors: Vec<usize> = Vec::new();
    let mut s = offset.div_ceil(512) * 512;
    while s < end {
        sectors.push((s - offset) as usize);
        s += 512;
    }
    if sectors.len() > sectors_max {
        // Keep every 4 KiB boundary and a sample of the others.
        let (four, other): (Vec<usize>, Vec<usize>) = sectors
            .into_iter()
            .partition(|&t| (offset + t as u64).is_multiple_of(4096));
        let mut keep = four;
        keep.truncate(sectors_max / 2);
        let room = sectors_max - keep.len();
        for _ in 0..room {
            keep.push(other[rng.below(other.len() as u64) as usize]);
        }
        keep.sort_unstable();
        keep.dedup();
        sectors = keep;
    }
    (bytes, sectors)
}

/// Crashes `run` at every write, at the tear points above, with every fill.
fn crash_everywhere(
    run: &Run,
    name: &str,
    rng: &mut Rng,
    random: usize,
    sectors_max: usize,
    t: &mut Tally,
) {
    let has_base = !run.disk.base().is_empty();
    let mut writes = 0usize;
    run.disk.replay(|i, op, before| {
        let Op::Write { offset, data } = op else {
            return;
        };
        writes += 1;
        let acked = run.acked_before(i);
        let (bytes, sectors) = tear_points(run, *offset, data.len(), rng, random, sectors_max);
        let mut points: Vec<(usize, Fill, &str)> = Vec::new();
        for &b in &bytes {
            points.push((b, Fill::Absent, "cut-at-byte"));
        }
        // Zero fill at a few arbitrary bytes too (stricter than any disk).
        for &b in bytes.iter().filter(|_| rng.chance(1, 4)) {
            points.push((b, Fill::Zeros, "zeros-at-byte"));
        }
        for &s in &sectors {
            let four = (*offset + s as u64).is_multiple_of(4096);
            points.push((s, Fill::Zeros, if four { "zeros-4k" } else { "zeros-512" }));
            if has_base {
                points.push((s, Fill::Old, if four { "old-4k" } else { "old-512" }));
            }
        }
        for (torn, fill, kind) in points {
            if torn == data.len() && fill != Fill::Absent {
                continue; // nothing torn: same as the cut at the end
            }
            let image = torn_image(before, *offset, data, torn, fill);
            let persisted = *offset + torn as u64;
            let clean = run.is_clean_end(persisted);
            let resync = if rng.chance(1, 2) {
                Resync::Block
            } else {
                Resync::Scan
            };
            let what = format!(
                "{name}: write #{writes} at {offset} (+{} bytes) torn at {torn}, {}",
                data.len(),
                fill.name()
            );
            check_image(run, &image, persisted, acked, clean, resync, &what, t);
            *t.by_kind.entry(kind.to_string()).or_default() += 1;
        }
    });
    // And the crash that loses everything unsynced, after the last call.
    let n = run.disk.op_count();
    let image = run.disk.durable_image(n);
    let persisted = image
        .len()
        .min(run.written.last().map_or(0, |w| w.end as usize)) as u64;
    check_image(
        run,
        &image,
        persisted,
        run.acked_before(n),
        true,
        Resync::Block,
        &format!("{name}: final"),
        t,
    );
    *t.by_kind.entry("unsynced-lost".into()).or_default() += 1;
}

/// A previous use of the file: a recyclable log with another log number.
fn stale_log(rng: &mut Rng, log_number: u32, len: usize) -> Vec<u8> {
    let mut w = WriterOptions::new()
        .recyclable(log_number)
        .build(Vec::new());
    while (w.offset() as usize) < len {
        let n = rng.range(0, 3000);
        w.add_record(&rng.bytes(n)).unwrap();
    }
    w.into_inner().unwrap()
}

/// A previous use of the file by a legacy log.
fn stale_legacy_log(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut w = blocklog::Writer::new(Vec::new());
    while (w.offset() as usize) < len {
        let n = rng.range(0, 3000);
        w.add_record(&rng.bytes(n)).unwrap();
    }
    w.into_inner().unwrap()
}

/// The mixed workloads: fresh legacy and recyclable logs, small,
/// multi-block and block-edge records, reopenings, preallocated files and
/// recycled files over a previous use.
fn workloads(seed: u64, scale: usize) -> Vec<Spec> {
    let mut rng = Rng::new(seed);
    let mut specs = Vec::new();
    for k in 0..scale {
        let buffers = [0usize, 512, 4096, 64 * 1024];
        let sessions = |rng: &mut Rng, count: usize, sizes: Sizes, header: usize, n: usize| {
            let mut v = Vec::new();
            let mut pos = 0u64;
            for _ in 0..count {
                let buf = buffers[rng.below(4) as usize];
                let mut s = session(rng, n, sizes, header, pos, buf);
                if rng.chance(1, 4) {
                    s.short_writes = Some(rng.range(100, 5000));
                }
                for a in &s.actions {
                    if let Action::Add(p) = a {
                        pos = record_end(pos, p.len(), header);
                    }
                }
                v.push(s);
            }
            v
        };
        let lognum = 100 + k as u32;
        specs.push(Spec {
            name: format!("legacy-small-{k}"),
            recyclable: None,
            base: Vec::new(),
            sessions: sessions(&mut rng, 1, Sizes::Small, 7, 40),
        });
        specs.push(Spec {
            name: format!("legacy-mixed-reopen-{k}"),
            recyclable: None,
            base: Vec::new(),
            sessions: sessions(&mut rng, 3, Sizes::Mixed, 7, 8),
        });
        specs.push(Spec {
            name: format!("legacy-edges-{k}"),
            recyclable: None,
            base: Vec::new(),
            sessions: sessions(&mut rng, 2, Sizes::Edges, 7, 12),
        });
        specs.push(Spec {
            name: format!("legacy-preallocated-{k}"),
            recyclable: None,
            base: vec![0; 96 * 1024],
            sessions: sessions(&mut rng, 2, Sizes::Mixed, 7, 6),
        });
        specs.push(Spec {
            name: format!("recyclable-edges-reopen-{k}"),
            recyclable: Some(lognum),
            base: Vec::new(),
            sessions: sessions(&mut rng, 2, Sizes::Edges, 11, 12),
        });
        let stale_len = rng.range(20_000, 120_000);
        specs.push(Spec {
            name: format!("recyclable-over-stale-{k}"),
            recyclable: Some(lognum),
            base: stale_log(&mut rng, lognum - 50, stale_len),
            sessions: sessions(&mut rng, 2, Sizes::Mixed, 11, 8),
        });
        specs.push(Spec {
            name: format!("recyclable-small-over-stale-{k}"),
            recyclable: Some(lognum),
            base: stale_log(&mut rng, lognum + 7, 40_000),
            sessions: sessions(&mut rng, 1, Sizes::Small, 11, 40),
        });
        specs.push(Spec {
            name: format!("recyclable-over-legacy-{k}"),
            recyclable: Some(lognum),
            base: stale_legacy_log(&mut rng, 40_000),
            sessions: sessions(&mut rng, 1, Sizes::Edges, 11, 10),
        });
    }
    specs
}

fn crash_all(seed: u64, scale: usize, random: usize, sectors_max: usize) -> Tally {
    let mut t = Tally::default();
    let mut rng = Rng::new(seed ^ 0xC0FFEE);
    for spec in workloads(seed, scale) {
        let r = run(&spec);
        let (p0, t0) = (t.points, std::time::Instant::now());
        crash_everywhere(&r, &spec.name, &mut rng, random, sectors_max, &mut t);
        if std::env::var_os("BLOCKLOG_CRASH_VERBOSE").is_some() {
            println!(
                "  {:<32} {:>7} bytes {:>6} points {:>6} ms",
                spec.name,
                r.disk.image().len(),
                t.points - p0,
                t0.elapsed().as_millis()
            );
        }
    }
    println!(
        "crash simulation (seed {seed}): {} crash points, {} reads",
        t.points, t.reads
    );
    for (k, n) in &t.by_kind {
        println!("  {k:>14}: {n}");
    }
    println!(
        "  acknowledged records expected (sum over points): {}, recovered by tolerate-tail: {} ({} of them beyond the last sync)",
        t.acked, t.recovered, t.recovered_unacked
    );
    println!(
        "  absolute refused a torn tail: {} times",
        t.absolute_refused
    );
    println!(
        "  records lost: {}, records invented: {}",
        t.lost, t.invented
    );
    t
}

#[test]
fn crash_points_quick() {
    let t = crash_all(1, 2, 2, 24);
    assert_eq!((t.lost, t.invented), (0, 0));
    assert!(t.points >= 10_000, "only {} crash points", t.points);
}

#[test]
#[ignore = "larger run, in .ci/post-fuzz.sh: cargo test --test crash_sim -- --ignored"]
fn crash_points_full() {
    let seed = std::env::var("BLOCKLOG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let t = crash_all(seed, 4, 6, 120);
    assert_eq!((t.lost, t.invented), (0, 0));
    assert!(t.points >= 25_000, "only {} crash points", t.points);
}

/// Crashes where a disk persists sectors in any order. With `since_sync`
/// false, a random subset of the 512-byte sectors of the last write reached
/// the disk; with it true, a random subset of every sector changed since the
/// last sync (the page cache writes dirty pages back in any order). The
/// other sectors read as zeros (past the synced end of the log) or as their
/// old, durable contents. Damage can then lie *before* intact bytes, i.e.
/// look interior, so tolerate-tail may refuse the log — but only after
/// returning every acknowledged record (acknowledged records precede
/// everything unsynced), and point-in-time and skip-corrupt still return all
/// of them. Nothing is invented. Returns (points, tolerate-tail refusals,
/// acknowledged records lost).
fn crash_reordered(
    run: &Run,
    name: &str,
    rng: &mut Rng,
    masks: usize,
    since_sync: bool,
) -> (u64, u64, u64) {
    let has_base = !run.disk.base().is_empty();
    let (mut points, mut refused, mut lost) = (0u64, 0u64, 0u64);
    let mut durable = run.disk.base();
    let (mut log_end, mut synced_end) = (0u64, 0u64);
    run.disk.replay(|i, op, before| {
        let (o, data) = match op {
            Op::Write { offset, data } => (*offset, data),
            Op::Sync => {
                durable = before.to_vec();
                synced_end = log_end;
                return;
            }
            Op::Flush => return,
        };
        let end = o + data.len() as u64;
        log_end = log_end.max(end);
        let new = torn_image(before, o, data, data.len(), Fill::Absent);
        // The byte range whose sectors may be lost, and what they revert to.
        let (lo, old): (u64, &[u8]) = if since_sync {
            (synced_end, &durable)
        } else {
            (o, before)
        };
        let first = lo / 512;
        let last = (end.max(lo + 1) - 1) / 512;
        if last == first {
            return;
        }
        let acked = run.acked_before(i);
        for _ in 0..masks {
            for fill in [Fill::Zeros, Fill::Old] {
                if fill == Fill::Old && !has_base {
                    continue;
                }
                let mut image = new.clone();
                let mut kept_all = true;
                for s in first..=last {
                    if rng.chance(1, 2) {
                        continue; // this sector reached the disk
                    }
                    kept_all = false;
                    let a = (s * 512).max(lo) as usize;
                    let b = (((s + 1) * 512) as usize).min(image.len());
                    for (k, byte) in image[a..b].iter_mut().enumerate() {
                        *byte = match fill {
                            Fill::Zeros => 0,
                            _ => old.get(a + k).copied().unwrap_or(0),
                        };
                    }
                }
                if kept_all {
                    continue;
                }
                points += 1;
                let what = format!(
                    "{name}: write at {o} (+{}) with sectors lost ({})",
                    data.len(),
                    fill.name()
                );
                for mode in RecoveryMode::ALL {
                    let mut opts = ReaderOptions::new().mode(mode);
                    if let Some(n) = run.recyclable {
                        opts = opts.log_number(n).format(LogFormat::Recyclable);
                    }
                    let out = read(&image, opts);
                    let got = out.returned();
                    let m = match mode {
                        RecoveryMode::SkipCorrupt => {
                            let idx = subsequence_of(&got, &run.written)
                                .unwrap_or_else(|e| panic!("{what} {mode}: {e}"));
                            idx.iter().take_while(|&&k| k < acked).count()
                        }
                        _ => prefix_of(&got, &run.written)
                            .unwrap_or_else(|e| panic!("{what} {mode}: {e}")),
                    };
                    if m < acked {
                        lost += 1;
                    }
                    assert!(
                        m >= acked,
                        "{what} {mode}: {m} records, {acked} acknowledged"
                    );
                    match (mode, &out.error) {
                        (_, None) => {}
                        (RecoveryMode::TolerateTail, Some(e)) => {
                            assert_eq!(
                                e.damage().map(|d| d.position),
                                Some(Position::Interior),
                                "{what}: {e}"
                            );
                            refused += 1;
                        }
                        (RecoveryMode::Absolute, Some(e)) => {
                            assert!(e.damage().is_some(), "{what}: {e}")
                        }
                        (_, Some(e)) => panic!("{what} {mode}: {e}"),
                    }
                }
            }
        }
    });
    (points, refused, lost)
}

#[test]
fn crash_points_reordered_sectors() {
    let mut rng = Rng::new(77);
    for since_sync in [false, true] {
        let (mut points, mut refused, mut lost) = (0, 0, 0);
        for spec in workloads(3, 2) {
            let r = run(&spec);
            let (p, f, l) = crash_reordered(
                &r,
                &spec.name,
                &mut rng,
                if since_sync { 4 } else { 8 },
                since_sync,
            );
            points += p;
            refused += f;
            lost += l;
        }
        let scope = if since_sync {
            "every sector written since the last sync"
        } else {
            "sectors of the last write"
        };
        println!(
            "reordered sectors ({scope}): {points} crash points; tolerate-tail refused {refused} of them (interior-looking damage among unacknowledged records); acknowledged records lost: {lost}"
        );
        assert_eq!(lost, 0);
        assert!(points >= 1000, "only {points} points");
    }
}
