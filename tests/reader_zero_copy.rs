//! The zero-copy ways of reading (`ReaderOptions::build_from_bytes`,
//! `Reader::next_record_ref`, `Reader::read_into`) return exactly what the
//! ordinary reader over `io::Read` returns: the same events, errors and
//! summary, on intact and damaged logs, in every mode, resync and initial
//! offset.

use blocklog::{Event, ReaderOptions, RecoveryMode, Resync, WriterOptions};
use blocklog_testkit::rng::Rng;
use bytes::Bytes;

/// A log of records of mixed sizes (one-fragment and spanning blocks).
fn log(rng: &mut Rng, recyclable: bool) -> Vec<u8> {
    let opts = if recyclable {
        WriterOptions::new().recyclable(3)
    } else {
        WriterOptions::new()
    };
    let mut w = opts.build(Vec::new());
    for i in 0..rng.index(60) + 1 {
        let len = match rng.index(4) {
            0 => rng.index(20),
            1 => rng.index(2000),
            2 => rng.index(40_000),
            _ => 32 * 1024 - 7 - rng.index(8),
        };
        w.add_record(&vec![i as u8; len]).unwrap();
    }
    w.into_inner().unwrap()
}

/// Flips, zeroes or cuts a few places.
fn damage(rng: &mut Rng, log: &mut Vec<u8>) {
    for _ in 0..rng.index(4) {
        if log.is_empty() {
            return;
        }
        let at = rng.index(log.len());
        match rng.index(3) {
            0 => log[at] ^= 1 << rng.index(8),
            1 => {
                let end = (at + rng.index(100)).min(log.len());
                log[at..end].fill(0);
            }
            _ => log.truncate(at),
        }
    }
}

type Outcome = (Vec<Result<Event, String>>, blocklog::Summary);

/// One way of reading the next record: its offset and payload.
type NextRecord<'a> = Box<dyn FnMut() -> Result<Option<(u64, Vec<u8>)>, String> + 'a>;

fn via_read(opts: &ReaderOptions, log: &[u8]) -> Outcome {
    let mut r = opts.clone().build(log);
    let events = r.events().map(|e| e.map_err(|e| e.to_string())).collect();
    (events, r.summary().clone())
}

fn via_bytes(opts: &ReaderOptions, log: &[u8]) -> Outcome {
    let mut r = opts.clone().build_from_bytes(Bytes::copy_from_slice(log));
    let events = r.events().map(|e| e.map_err(|e| e.to_string())).collect();
    (events, r.summary().clone())
}

/// Records only, through `next_record`, `next_record_ref` and `read_into`.
fn records_three_ways(opts: &ReaderOptions, log: &[u8]) {
    let collect = |mut next: NextRecord| {
        let mut out = Vec::new();
        loop {
            match next() {
                Ok(Some(r)) => out.push(Ok(r)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            }
        }
        out
    };
    let mut a = opts.clone().build(log);
    let by_record = collect(Box::new(move || {
        a.next_record()
            .map(|o| o.map(|r| (r.offset, r.payload.to_vec())))
            .map_err(|e| e.to_string())
    }));
    let mut b = opts.clone().build_from_bytes(Bytes::copy_from_slice(log));
    let by_ref = collect(Box::new(move || {
        b.next_record_ref()
            .map(|o| o.map(|(off, p)| (off, p.to_vec())))
            .map_err(|e| e.to_string())
    }));
    let mut c = opts.clone().build(log);
    let mut buf = Vec::new();
    let by_into = collect(Box::new(move || {
        c.read_into(&mut buf)
            .map(|o| o.map(|off| (off, buf.clone())))
            .map_err(|e| e.to_string())
    }));
    assert_eq!(by_ref, by_record);
    assert_eq!(by_into, by_record);
}

#[test]
fn zero_copy_reads_match_reads_through_io_read() {
    let mut rng = Rng::new(0x5eed_0fb1_0c00);
    for round in 0..300 {
        let recyclable = round % 2 == 1;
        let mut bytes = log(&mut rng, recyclable);
        if round % 5 != 0 {
            damage(&mut rng, &mut bytes);
        }
        let initial = match rng.index(3) {
            0 => 0,
            _ => rng.index(bytes.len() + 1) as u64,
        };
        for mode in [
            RecoveryMode::TolerateTail,
            RecoveryMode::Absolute,
            RecoveryMode::PointInTime,
            RecoveryMode::SkipCorrupt,
        ] {
            for resync in [Resync::Block, Resync::Scan] {
                let mut opts = ReaderOptions::new()
                    .mode(mode)
                    .resync(resync)
                    .initial_offset(initial);
                if recyclable && rng.index(2) == 0 {
                    opts = opts.log_number(3);
                }
                assert_eq!(
                    via_bytes(&opts, &bytes),
                    via_read(&opts, &bytes),
                    "round {round} mode {mode:?} resync {resync:?} initial {initial}"
                );
                records_three_ways(&opts, &bytes);
            }
        }
    }
}
