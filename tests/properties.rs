//! quickcheck properties of the writer and reader (docs/recovery.md rows R3, R4, R5).

use blocklog::{ReaderOptions, RecoveryMode, Resync, WriterOptions};
use blocklog_testkit::logs::*;
use blocklog_testkit::oracle::record_end;
use blocklog_testkit::read::*;
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

/// A record sequence with sizes from empty to several blocks.
#[derive(Debug, Clone)]
struct Records(Vec<Vec<u8>>);

impl Arbitrary for Records {
    fn arbitrary(g: &mut Gen) -> Records {
        let n = usize::arbitrary(g) % 40;
        let recs = (0..n)
            .map(|i| {
                let len = match u8::arbitrary(g) % 10 {
                    0 => 0,
                    1..=5 => usize::arbitrary(g) % 200,
                    6..=7 => usize::arbitrary(g) % 5_000,
                    8 => BLOCK - 2 * HDR + (usize::arbitrary(g) % 16),
                    _ => usize::arbitrary(g) % 120_000,
                };
                noise(u64::arbitrary(g) ^ i as u64, len)
            })
            .collect();
        Records(recs)
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Records>> {
        let v = self.0.clone();
        Box::new((0..v.len()).map(move |i| {
            let mut w = v.clone();
            w.remove(i);
            Records(w)
        }))
    }
}

/// One corruption of a log.
#[derive(Debug, Clone)]
enum Corruption {
    BitFlip { at: usize, bit: u8 },
    Truncate { at: usize },
    Zero { at: usize, len: usize },
    Garbage { at: usize, len: usize, seed: u64 },
    Insert { at: usize, len: usize, seed: u64 },
}

impl Arbitrary for Corruption {
    fn arbitrary(g: &mut Gen) -> Corruption {
        let at = usize::arbitrary(g);
        let len = 1 + usize::arbitrary(g) % (2 * BLOCK);
        match u8::arbitrary(g) % 5 {
            0 => Corruption::BitFlip {
                at,
                bit: u8::arbitrary(g) % 8,
            },
            1 => Corruption::Truncate { at },
            2 => Corruption::Zero { at, len },
            3 => Corruption::Garbage {
                at,
                len,
                seed: u64::arbitrary(g),
            },
            _ => Corruption::Insert {
                at,
                len: len % 300 + 1,
                seed: u64::arbitrary(g),
            },
        }
    }
}

impl Corruption {
    fn apply(&self, log: &mut Vec<u8>) {
        if log.is_empty() {
            return;
        }
        let n = log.len();
        match *self {
            Corruption::BitFlip { at, bit } => log[at % n] ^= 1 << bit,
            Corruption::Truncate { at } => log.truncate(at % n),
            Corruption::Zero { at, len } => {
                let a = at % n;
                let b = (a + len).min(n);
                log[a..b].fill(0);
            }
            Corruption::Garbage { at, len, seed } => {
                let a = at % n;
                let b = (a + len).min(n);
                log[a..b].copy_from_slice(&noise(seed, b - a));
            }
            Corruption::Insert { at, len, seed } => {
                let a = at % n;
                let g = noise(seed, len);
                log.splice(a..a, g);
            }
        }
    }
}

/// Where a corruption cuts the log short, if it does: a truncation, or
/// zeros from some offset to the end (indistinguishable from preallocation).
fn effective_cut(c: &Corruption, pristine: &[u8]) -> Option<u64> {
    let len = pristine.len();
    match *c {
        Corruption::Truncate { at } => Some((at % len) as u64),
        // Zeroing bytes that were already zero changes nothing: the cut is
        // at the first byte the zeros actually overwrote.
        Corruption::Zero { at, len: n } if (at % len) + n >= len => {
            let from = at % len;
            let first = pristine[from..].iter().position(|&b| b != 0);
            Some(first.map_or(len, |i| from + i) as u64)
        }
        _ => None,
    }
}

fn is_subsequence(got: &[Vec<u8>], of: &[Vec<u8>]) -> bool {
    let mut it = of.iter();
    got.iter().all(|g| it.any(|w| w == g))
}

fn is_prefix(got: &[Vec<u8>], of: &[Vec<u8>]) -> bool {
    got.len() <= of.len() && got.iter().zip(of).all(|(a, b)| a == b)
}

fn offsets_increase(run: &Run) -> bool {
    run.records.windows(2).all(|w| w[0].0 < w[1].0)
}

fn qc() -> QuickCheck {
    QuickCheck::new().tests(150).max_tests(2000)
}

#[test]
fn any_record_sequence_roundtrips() {
    fn prop(recs: Records, recyclable: bool, split: usize) -> bool {
        // Written in two sessions: the second appends at the first's length.
        let cut = if recs.0.is_empty() {
            0
        } else {
            split % (recs.0.len() + 1)
        };
        let opts = |o: WriterOptions| if recyclable { o.recyclable(77) } else { o };
        let (mut log, _) = write_with(opts(WriterOptions::new()), &recs.0[..cut]);
        let len = log.len() as u64;
        let mut w = opts(WriterOptions::new().append_at(len)).build(&mut log);
        for r in &recs.0[cut..] {
            w.add_record(r).unwrap();
        }
        w.flush().unwrap();
        RecoveryMode::ALL.iter().all(|&m| {
            let run = read(&log, m);
            run.error.is_none()
                && run.payloads() == recs.0
                && run.dropped.is_empty()
                && offsets_increase(&run)
        })
    }
    qc().quickcheck(prop as fn(Records, bool, usize) -> bool);
}

#[test]
fn single_corruption_keeps_every_mode_honest() {
    fn prop(recs: Records, c: Corruption, recyclable: bool) -> TestResult {
        if recs.0.is_empty() {
            return TestResult::discard();
        }
        let opts = if recyclable {
            WriterOptions::new().recyclable(3)
        } else {
            WriterOptions::new()
        };
        let (mut log, offsets) = write_with(opts, &recs.0);
        let pristine = log.clone();
        c.apply(&mut log);
        let written = &recs.0;
        for resync in [Resync::Block, Resync::Scan] {
            // Read as RocksDB reads a WAL: with the file's number (3), which
            // a legacy log ignores.
            let run = |m| {
                read(
                    &log,
                    ReaderOptions::new().mode(m).resync(resync).log_number(3),
                )
            };
            let skip = run(RecoveryMode::SkipCorrupt);
            let pit = run(RecoveryMode::PointInTime);
            let abs = run(RecoveryMode::Absolute);
            let tt = run(RecoveryMode::TolerateTail);
            // Never a record that was not written; offsets strictly increase.
            for r in [&skip, &pit, &abs, &tt] {
                if !is_subsequence(&r.payloads(), written) || !offsets_increase(r) {
                    return TestResult::error(format!("{c:?} {resync:?}: invented or reordered"));
                }
            }
            if skip.error.is_some() || pit.error.is_some() {
                return TestResult::error(format!(
                    "{c:?}: skip/pit must not fail: {:?}",
                    skip.error
                ));
            }
            if !is_prefix(&pit.payloads(), written) || !is_prefix(&tt.payloads(), written) {
                return TestResult::error(format!("{c:?} {resync:?}: pit/tt not a prefix"));
            }
            // Absolute: everything, or an error (a cut is checked below).
            // Garbage or zeros over the type or log number of a recyclable
            // log's last record (or bytes inserted inside that header) make
            // it read as the previous use, i.e. the end of the log (a limit
            // of the format, as in RocksDB). One flipped bit does not: the
            // record's checksum matches with the field restored (R8).
            let cut = effective_cut(&c, &pristine).is_some();
            let last_number = recyclable && {
                let n = pristine.len();
                let number = *offsets.last().expect("records") as usize + 7;
                let hit = |a: usize, b: usize| a < number + 4 && number - 1 < b;
                match c {
                    Corruption::BitFlip { .. } => false,
                    Corruption::Garbage { at, len, .. } | Corruption::Zero { at, len } => {
                        hit(at % n, (at % n + len).min(n))
                    }
                    Corruption::Insert { at, .. } => {
                        (number - 7 + 1..number + 4).contains(&(at % n))
                    }
                    Corruption::Truncate { .. } => false,
                }
            };
            if !cut && !last_number && abs.error.is_none() && abs.payloads() != *written {
                return TestResult::error(format!(
                    "{c:?} {resync:?}: absolute lost records silently"
                ));
            }
            // Damage is never silent: if records went missing, something was reported.
            // (A cut at a record boundary, zeros to the end, or a recycled
            // log's foreign bytes at the end look exactly like a shorter log;
            // they are reported as benign regions, or not at all for a cut.)
            let lost = skip.payloads().len() < written.len();
            let explained = !skip.dropped.is_empty()
                || !skip.benign.is_empty()
                || matches!(c, Corruption::Truncate { .. });
            if lost && !explained {
                return TestResult::error(format!(
                    "{c:?} {resync:?}: records lost without a report"
                ));
            }
            if log == pristine && (abs.error.is_some() || !skip.dropped.is_empty()) {
                return TestResult::error("unchanged log reported damage");
            }
            // Tolerate-tail never returns less than point-in-time unless it fails.
            if tt.error.is_none() && tt.payloads().len() < pit.payloads().len() {
                return TestResult::error("tolerate-tail returned less than point-in-time");
            }
        }
        // A pure truncation (or zeros from some point to the end, which is
        // what preallocated space looks like) is a torn tail: every mode but absolute returns
        // exactly the records that lie wholly before the cut, without error;
        // absolute returns them too, or an error.
        if let Some(cut) = effective_cut(&c, &pristine) {
            let hdr = if recyclable { RHDR } else { HDR };
            let whole = offsets
                .iter()
                .zip(&recs.0)
                .filter(|(&o, r)| record_end(o, r.len(), hdr) <= cut)
                .count();
            for m in RecoveryMode::ALL {
                let r = read(&log, ReaderOptions::new().mode(m).log_number(3));
                let exact = r.payloads() == recs.0[..whole];
                let ok = if m == RecoveryMode::Absolute {
                    r.error.is_some() || exact
                } else {
                    r.error.is_none() && exact
                };
                if !ok {
                    return TestResult::error(format!(
                        "{m}: truncation at {cut} kept {} of {whole} whole records ({:?})",
                        r.records.len(),
                        r.error
                    ));
                }
            }
        }
        TestResult::passed()
    }
    qc().quickcheck(prop as fn(Records, Corruption, bool) -> TestResult);
}

#[test]
fn reader_terminates_without_panic_on_arbitrary_bytes() {
    fn prop(
        bytes: Vec<u8>,
        seed: u64,
        mode: u8,
        scan: bool,
        offset: u16,
        log: Option<u32>,
    ) -> bool {
        // Arbitrary bytes, and arbitrary bytes stretched over several blocks.
        let mut big = bytes.clone();
        if !bytes.is_empty() {
            big = noise(seed, 3 * BLOCK + (seed as usize % BLOCK));
            for (i, b) in bytes.iter().enumerate() {
                let at = (i * 7919) % big.len();
                big[at] = *b;
            }
        }
        for input in [&bytes, &big] {
            let mut opts = ReaderOptions::new()
                .mode(RecoveryMode::ALL[mode as usize % 4])
                .resync(if scan { Resync::Scan } else { Resync::Block })
                .initial_offset(offset as u64)
                .max_record_size(40_000);
            if let Some(n) = log {
                opts = opts.log_number(n);
            }
            let run = read(input, opts);
            if !offsets_increase(&run) || run.records.iter().any(|r| r.1.len() > 40_000) {
                return false;
            }
        }
        true
    }
    qc().quickcheck(prop as fn(Vec<u8>, u64, u8, bool, u16, Option<u32>) -> bool);
}

#[test]
fn corrupting_a_valid_log_never_panics_and_reports_consistently() {
    // Many corruptions of one multi-block log, every mode, both resyncs.
    fn prop(cs: Vec<Corruption>) -> bool {
        let recs: Vec<Vec<u8>> = (0..30)
            .map(|i| noise(i, (i as usize * 3_331) % 50_000))
            .collect();
        let (mut log, _) = write_log(&recs);
        for c in cs.iter().take(6) {
            c.apply(&mut log);
        }
        RecoveryMode::ALL.iter().all(|&m| {
            [Resync::Block, Resync::Scan].iter().all(|&rs| {
                let run = read_resync(&log, m, rs);
                let dropped: u64 = run.dropped.iter().map(|d| d.len()).sum();
                is_subsequence(&run.payloads(), &recs)
                    && dropped == run.summary.dropped_bytes
                    && run
                        .dropped
                        .iter()
                        .all(|d| !d.is_empty() && d.range.end <= log.len() as u64)
                    && run
                        .dropped
                        .windows(2)
                        .all(|w| w[0].range.end <= w[1].range.start)
            })
        })
    }
    QuickCheck::new()
        .tests(60)
        .quickcheck(prop as fn(Vec<Corruption>) -> bool);
}
