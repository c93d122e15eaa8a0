//! Reopening a log for append (issue 10, defects 3, 4, 5 and 11): the
//! reopen call, the writer's record limit, its append-position check, and
//! a poisoned writer's sink and offset. Ends with the crash/reopen property.

use std::fs::{File, OpenOptions};
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use blocklog::reopen::{Cut, LogFile, ReopenOptions};
use blocklog::{
    Error, LogFormat, Position, ReaderOptions, RecoveryMode, SyncData, Writer, WriterOptions,
    DEFAULT_MAX_RECORD_SIZE,
};
use blocklog_testkit::faulty::{Call, Errno, Fault, Faulty};
use blocklog_testkit::read::read;
use blocklog_testkit::rng::Rng;
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

const BLOCK: usize = blocklog::format::BLOCK_SIZE;

fn payloads(log: &[u8], opts: ReaderOptions) -> Result<Vec<Vec<u8>>, Error> {
    let out = read(log, opts);
    match out.error {
        Some(e) => Err(e),
        None => Ok(out.payloads()),
    }
}

fn record(i: usize, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(i as u64 * 7919 + len as u64);
    let mut p = format!("record {i} ").into_bytes();
    p.extend(rng.bytes(len));
    p
}

/// The bytes a writer produces for `records` appended at `at` (to tear one).
fn encoded(opts: WriterOptions, at: u64, records: &[Vec<u8>]) -> Vec<u8> {
    let mut w = opts.append_at(at).build(Vec::new());
    for r in records {
        w.add_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// Reads back `path` in tolerate-tail and skip-corrupt: exactly `expected`.
fn assert_reads_back(
    path: &std::path::Path,
    opts: ReaderOptions,
    expected: &[Vec<u8>],
    what: &str,
) {
    let log = std::fs::read(path).unwrap();
    for mode in [RecoveryMode::TolerateTail, RecoveryMode::SkipCorrupt] {
        let got = payloads(&log, opts.clone().mode(mode))
            .unwrap_or_else(|e| panic!("{what}: {mode} refuses the log: {e}"));
        assert_eq!(got.len(), expected.len(), "{what}: {mode}");
        assert!(got == expected, "{what}: {mode}: records differ");
    }
}

/// Defect 3: crash mid-record, reopen with the call, add and sync: every
/// acknowledged record reads back, in tolerate-tail and skip-corrupt alike
/// (appending at the file's length made the torn tail interior).
#[test]
fn appending_after_a_torn_tail_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = 0;
    for recyclable in [None, Some(7u32)] {
        let wopts = || match recyclable {
            Some(n) => WriterOptions::new().recyclable(n),
            None => WriterOptions::new(),
        };
        let ropts = || match recyclable {
            Some(n) => ReaderOptions::new().log_number(n),
            None => ReaderOptions::new(),
        };
        for (k, torn_len) in [5_000usize, 40_000, 100_000].into_iter().enumerate() {
            for cut in [1usize, 6, 7, 11, 12, 3_000, BLOCK - 20, BLOCK + 9] {
                let path = dir.path().join(format!("{recyclable:?}-{k}-{cut}.log"));
                let acked: Vec<Vec<u8>> = (0..3).map(|i| record(i, 300 * i)).collect();
                let mut w = wopts().build(File::create(&path).unwrap());
                for r in &acked {
                    w.add_record(r).unwrap();
                }
                w.sync().unwrap();
                let at = w.offset();
                drop(w);
                // The crash: part of the next record reached the file.
                let torn = encoded(wopts(), at, &[record(99, torn_len)]);
                let cut = cut.min(torn.len() - 1);
                let mut f = OpenOptions::new().append(true).open(&path).unwrap();
                f.write_all(&torn[..cut]).unwrap();
                drop(f);

                let mut expected = acked.clone();
                for round in 0..2 {
                    let (mut w, rec) = ReopenOptions::new().reopen(&path).unwrap();
                    assert_eq!(rec.summary.records as usize, expected.len());
                    if round == 0 {
                        assert_eq!(rec.resume_at, at);
                        assert_eq!(rec.cut_ranges, vec![at..at + cut as u64]);
                    }
                    for i in 0..4 {
                        let p = record(100 + 10 * round + i, 20_000 * i);
                        w.add_record(&p).unwrap();
                        expected.push(p);
                    }
                    w.sync().unwrap();
                    assert_reads_back(
                        &path,
                        ropts(),
                        &expected,
                        &format!("{path:?} round {round}"),
                    );
                    // And crash mid-record again.
                    let at = w.offset();
                    drop(w);
                    let torn = encoded(wopts(), at, &[record(98, torn_len)]);
                    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
                    f.write_all(&torn[..cut.min(torn.len() - 1)]).unwrap();
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 48);
}

/// Defect 3 after ENOSPC mid-record: the disk fills up in the middle of a
/// record's write; the poisoned writer is dropped, the log reopened with
/// the call, and the records acknowledged before and after read back.
#[test]
fn appending_after_enospc_mid_record_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    for nth in 0..6 {
        let path = dir.path().join(format!("enospc-{nth}.log"));
        let file = File::create(&path).unwrap();
        let fault = Fault {
            call: Call::Write,
            nth,
            errno: Errno::Enospc,
            short_first: true,
        };
        let mut w = WriterOptions::new()
            .buffer_size(0)
            .build(Faulty::new(file, Some(fault)));
        let mut acked = Vec::new();
        let mut added = Vec::new();
        let mut failed = false;
        for i in 0..10 {
            let p = record(i, [10, 50_000, 700][i % 3]);
            if w.add_record(&p).is_err() || w.sync().is_err() {
                failed = true;
                break;
            }
            added.push(p);
            acked = added.clone();
        }
        assert!(failed, "ENOSPC at write {nth} never surfaced");
        assert!(w.poisoned().is_some());
        let (faulty, _) = w.into_inner().unwrap_err().into_parts();
        drop(faulty);

        let mut reopening = ReopenOptions::new().open(&path).unwrap();
        let mut replayed = Vec::new();
        while let Some(e) = reopening.next_event().unwrap() {
            if let blocklog::Event::Record(r) = e {
                replayed.push(r.payload.to_vec());
            }
        }
        assert_eq!(replayed, acked, "ENOSPC at write {nth}");
        let (mut w, rec) = reopening.finish().unwrap();
        assert!(
            !rec.cut_ranges.is_empty(),
            "write {nth}: half a record reached the file"
        );
        let mut expected = acked;
        for i in 0..3 {
            let p = record(200 + i, 30_000);
            w.add_record(&p).unwrap();
            expected.push(p);
        }
        w.sync().unwrap();
        assert_reads_back(
            &path,
            ReaderOptions::new(),
            &expected,
            &format!("ENOSPC at write {nth}"),
        );
    }
}

/// Defect 3 in a preallocated, zero-filled file: a crash mid-record leaves
/// the torn record among the zeros. Zero-fill keeps the length and the
/// appended records read back; truncation works as well.
#[test]
fn appending_to_a_preallocated_file_after_a_torn_tail_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    const PREALLOCATED: u64 = 4 * BLOCK as u64;
    for cut in [Cut::ZeroFill, Cut::Truncate] {
        let path = dir.path().join(format!("{cut:?}.log"));
        let file = File::create(&path).unwrap();
        file.set_len(PREALLOCATED).unwrap();
        let mut w = WriterOptions::new().build(file);
        let acked: Vec<_> = (0..5).map(|i| record(i, 1000 * i)).collect();
        for r in &acked {
            w.add_record(r).unwrap();
        }
        w.sync().unwrap();
        let at = w.offset();
        let mut file = w.into_inner().unwrap();
        let torn = encoded(WriterOptions::new(), at, &[record(9, 50_000)]);
        file.write_all(&torn[..20_000]).unwrap();
        drop(file);

        let (mut w, rec) = ReopenOptions::new().cut(cut).reopen(&path).unwrap();
        assert_eq!(rec.resume_at, at);
        assert_eq!(rec.previous_len, PREALLOCATED);
        let len = std::fs::metadata(&path).unwrap().len();
        match cut {
            Cut::ZeroFill => {
                assert_eq!(rec.cut_ranges.len(), 1, "{:?}", rec.cut_ranges);
                let zeroed = &rec.cut_ranges[0];
                assert!(
                    zeroed.start == at && zeroed.end >= at + 19_000,
                    "{zeroed:?}"
                );
                assert_eq!(len, PREALLOCATED);
            }
            Cut::Truncate => assert_eq!(len, at),
        }
        let mut expected = acked.clone();
        for i in 0..3 {
            let p = record(50 + i, 15_000);
            w.add_record(&p).unwrap();
            expected.push(p);
        }
        w.sync().unwrap();
        drop(w);
        assert_reads_back(&path, ReaderOptions::new(), &expected, &format!("{cut:?}"));
        // Reopening the clean, preallocated log cuts nothing with zero-fill.
        let (_w, rec) = ReopenOptions::new().cut(cut).reopen(&path).unwrap();
        assert!(rec.cut_ranges.is_empty(), "{cut:?}: {:?}", rec.cut_ranges);
        assert_eq!(rec.summary.records as usize, expected.len());
    }
}

/// The reopen call refuses what the mode refuses, and a point-in-time stop,
/// leaving the file untouched; skip-corrupt keeps the interior damage it
/// dropped and resumes after the last record.
#[test]
fn reopen_refuses_what_the_mode_refuses_and_cuts_only_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<_> = (0..12).map(|i| record(i, 9_000)).collect();
    let clean = encoded(WriterOptions::new(), 0, &records);
    // Torn tail: absolute refuses.
    let path = dir.path().join("torn.log");
    let mut torn = clean.clone();
    torn.extend_from_slice(
        &encoded(WriterOptions::new(), clean.len() as u64, &[record(9, 99)])[..30],
    );
    std::fs::write(&path, &torn).unwrap();
    let e = ReopenOptions::new()
        .mode(RecoveryMode::Absolute)
        .reopen(&path)
        .unwrap_err();
    assert_eq!(e.damage().map(|d| d.position), Some(Position::Tail), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), torn);

    // Interior damage (a bit flip in the second block) and a torn tail.
    let path = dir.path().join("interior.log");
    let mut bad = torn.clone();
    bad[BLOCK + 100] ^= 0x10;
    std::fs::write(&path, &bad).unwrap();
    for mode in [RecoveryMode::TolerateTail, RecoveryMode::PointInTime] {
        let e = ReopenOptions::new().mode(mode).reopen(&path).unwrap_err();
        assert!(matches!(e, Error::Corruption { .. }), "{mode}: {e}");
        assert_eq!(
            e.damage().map(|d| d.position),
            Some(Position::Interior),
            "{mode}: {e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bad, "{mode}");
    }
    let (mut w, rec) = ReopenOptions::new()
        .mode(RecoveryMode::SkipCorrupt)
        .reopen(&path)
        .unwrap();
    assert!(rec.summary.interior_dropped);
    assert_eq!(rec.resume_at, clean.len() as u64);
    assert_eq!(rec.cut_ranges, vec![clean.len() as u64..torn.len() as u64]);
    w.add_record(b"after").unwrap();
    w.sync().unwrap();
    let log = std::fs::read(&path).unwrap();
    assert_eq!(
        log[..clean.len()],
        bad[..clean.len()],
        "interior damage stays"
    );
    let got = payloads(&log, ReaderOptions::new().mode(RecoveryMode::SkipCorrupt)).unwrap();
    assert_eq!(got.last().map(|p| &p[..]), Some(&b"after"[..]));

    // A missing file is an I/O error, not a new log.
    let e = ReopenOptions::new()
        .reopen(dir.path().join("missing.log"))
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

/// A recyclable log is continued with its log number, learned or given;
/// a new recyclable log is started by stating the format.
#[test]
fn reopen_continues_a_recyclable_log_in_its_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000012.log");
    std::fs::write(
        &path,
        encoded(WriterOptions::new().recyclable(12), 0, &[record(0, 10)]),
    )
    .unwrap();
    let (mut w, _) = ReopenOptions::new().reopen(&path).unwrap();
    assert_eq!(w.log_number(), Some(12));
    w.add_record(b"more").unwrap();
    w.sync().unwrap();
    drop(w);
    let (w, rec) = ReopenOptions::new().log_number(12).reopen(&path).unwrap();
    assert_eq!((w.log_number(), rec.summary.records), (Some(12), 2));

    let path = dir.path().join("000013.log");
    std::fs::write(&path, b"").unwrap();
    let (w, _) = ReopenOptions::new().reopen(&path).unwrap();
    assert_eq!(w.log_number(), None, "an empty log is legacy unless stated");
    let (w, _) = ReopenOptions::new()
        .format(LogFormat::Recyclable)
        .log_number(13)
        .reopen(&path)
        .unwrap();
    assert_eq!(w.log_number(), Some(13));
    let e = ReopenOptions::new()
        .format(LogFormat::Recyclable)
        .reopen(&path)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
}

/// Defect 4: the writer refuses, typed, a record the default reader would
/// not read (64 MiB + 1 byte), without poisoning; the limit can be raised.
#[test]
fn writer_refuses_a_record_larger_than_the_default_reader_reads() {
    let big = vec![1u8; DEFAULT_MAX_RECORD_SIZE + 1];
    let mut w = Writer::new(Vec::new());
    w.add_record(b"before").unwrap();
    let at = w.offset();
    match w.add_record(&big) {
        Err(Error::RecordTooLarge { offset, limit }) => {
            assert_eq!((offset, limit), (at, DEFAULT_MAX_RECORD_SIZE))
        }
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    assert!(w.poisoned().is_none());
    assert_eq!(w.offset(), at, "nothing staged");
    w.add_record(b"after").unwrap();
    let log = w.into_inner().unwrap();
    assert_eq!(
        payloads(&log, ReaderOptions::new()).unwrap(),
        vec![b"before".to_vec(), b"after".to_vec()]
    );
    // Exactly the limit is written and read back by a default reader.
    let mut w = WriterOptions::new().max_record_size(1000).build(Vec::new());
    assert!(matches!(
        w.add_record(&[0; 1001]),
        Err(Error::RecordTooLarge { limit: 1000, .. })
    ));
    w.add_record(&[0; 1000]).unwrap();
    let mut w = Writer::new(Vec::new());
    w.add_record(&big[1..]).unwrap();
    let log = w.into_inner().unwrap();
    assert_eq!(
        payloads(&log, ReaderOptions::new()).unwrap()[0].len(),
        DEFAULT_MAX_RECORD_SIZE
    );
}

/// Defect 5: a wrong `append_at` (0, len - 1, len + 1) is refused on a
/// file, typed, and the right one accepted, also for an `O_APPEND` file.
#[test]
fn wrong_append_at_is_refused_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut w = WriterOptions::new()
        .build_seekable(File::create(&path).unwrap())
        .unwrap();
    w.add_record(b"one").unwrap();
    w.add_record(&[5; 40_000]).unwrap();
    w.sync().unwrap();
    let len = w.offset();
    drop(w);
    for wrong in [0, len - 1, len + 1] {
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        match WriterOptions::new().append_at(wrong).build_seekable(file) {
            Err(Error::InvalidInput { offset, .. }) => assert_eq!(offset, len),
            other => panic!(
                "append_at({wrong}) of a {len}-byte file: {:?}",
                other.map(|_| ())
            ),
        }
    }
    for append in [false, true] {
        let file = OpenOptions::new()
            .write(!append)
            .append(append)
            .open(&path)
            .unwrap();
        let mut w = WriterOptions::new()
            .append_at(len)
            .build_seekable(file)
            .unwrap();
        w.add_record(b"two").unwrap();
        w.sync().unwrap();
        let got = payloads(&std::fs::read(&path).unwrap(), ReaderOptions::new()).unwrap();
        assert_eq!(got.last().unwrap(), b"two", "append mode {append}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), w.offset());
        // Back to the same log for the next round.
        w.into_inner().unwrap().set_len(len).unwrap();
    }
}

/// Defect 11: a poisoned writer's `into_inner` returns the sink with the
/// error, and `offset()` does not count what never reached the sink.
#[test]
fn poisoned_writer_returns_its_sink_and_does_not_overstate_its_offset() {
    let fault = Fault {
        call: Call::Write,
        nth: 1,
        errno: Errno::Eio,
        short_first: false,
    };
    let mut w = WriterOptions::new()
        .buffer_size(0)
        .build(Faulty::new(Vec::new(), Some(fault)));
    w.add_record(b"reached the sink").unwrap();
    let reached = w.offset();
    assert_eq!(w.written_offset(), reached);
    let e = w.add_record(&[1; 5_000]).unwrap_err();
    assert!(
        matches!(e, Error::Io { offset, .. } if offset == reached),
        "{e}"
    );
    assert_eq!(w.offset(), reached);
    assert_eq!(w.written_offset(), reached);
    assert_eq!(w.staged_len(), 5_000 + 7, "kept, never written");
    let err = w.into_inner().unwrap_err();
    assert_eq!(err.error().to_string(), e.to_string());
    let sink = err.into_inner();
    assert_eq!(sink.get_ref().len() as u64, reached);

    // A healthy writer: offset() counts what is staged.
    let mut w = Writer::new(Vec::new());
    w.add_record(b"staged").unwrap();
    assert_eq!((w.offset(), w.written_offset()), (13, 0));
    // `?` still converts the error.
    let f = || -> blocklog::Result<Vec<u8>> { Ok(Writer::new(Vec::new()).into_inner()?) };
    assert!(f().unwrap().is_empty());
}

// ---------------------------------------------------------------- property

/// A file in memory that remembers what the last sync made durable and the
/// writes since, so that a crash can keep any prefix of those writes and
/// tear the next one (its missing part absent or zeros).
#[derive(Debug, Default)]
struct MemFile {
    durable: Vec<u8>,
    /// Changes since the last sync: `Some(bytes)` written at the offset, or
    /// `None` for a truncation to the offset.
    pending: Vec<(u64, Option<Vec<u8>>)>,
    data: Vec<u8>,
    pos: u64,
}

fn apply(image: &mut Vec<u8>, offset: u64, change: &Option<Vec<u8>>) {
    match change {
        Some(bytes) => blocklog_testkit::simfile::apply(image, offset, bytes),
        None => image.truncate(offset as usize),
    }
}

impl MemFile {
    fn with(data: Vec<u8>) -> MemFile {
        MemFile {
            durable: data.clone(),
            data,
            ..MemFile::default()
        }
    }

    /// The contents after a crash now; the file reopens with them.
    fn crash(&self, rng: &mut Rng) -> MemFile {
        let mut image = self.durable.clone();
        let kept = rng.range(0, self.pending.len());
        for (offset, change) in &self.pending[..kept] {
            apply(&mut image, *offset, change);
        }
        if let Some((offset, Some(bytes))) = self.pending.get(kept).filter(|(_, b)| b.is_some()) {
            let torn = rng.range(0, bytes.len());
            blocklog_testkit::simfile::apply(&mut image, *offset, &bytes[..torn]);
            if rng.chance(1, 2) {
                let end = (*offset as usize + bytes.len()).max(image.len());
                image.resize(end, 0);
                let from = *offset as usize + torn;
                image[from..*offset as usize + bytes.len()].fill(0);
            }
        }
        MemFile::with(image)
    }
}

impl Read for MemFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let at = (self.pos as usize).min(self.data.len());
        let n = buf.len().min(self.data.len() - at);
        buf[..n].copy_from_slice(&self.data[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for MemFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let change = Some(buf.to_vec());
        apply(&mut self.data, self.pos, &change);
        self.pending.push((self.pos, change));
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for MemFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut c = Cursor::new(&self.data);
        c.set_position(self.pos);
        self.pos = c.seek(to)?;
        Ok(self.pos)
    }
}

impl SyncData for MemFile {
    fn sync_data(&mut self) -> io::Result<()> {
        self.durable = self.data.clone();
        self.pending.clear();
        Ok(())
    }
}

impl LogFile for MemFile {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.data.resize(len as usize, 0);
        self.pending.push((len, None));
        Ok(())
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    rounds: usize,
    recyclable: bool,
    preallocated: bool,
    cut: Cut,
}

impl Arbitrary for Case {
    fn arbitrary(g: &mut Gen) -> Case {
        Case {
            seed: u64::arbitrary(g),
            rounds: 2 + usize::arbitrary(g) % 5,
            recyclable: bool::arbitrary(g),
            preallocated: bool::arbitrary(g),
            cut: if bool::arbitrary(g) {
                Cut::Truncate
            } else {
                Cut::ZeroFill
            },
        }
    }
}

/// Figures of the property's runs, printed at the end.
#[derive(Debug, Default)]
struct Figures {
    cases: u64,
    rounds: u64,
    added: u64,
    acked: u64,
    beyond_ack: u64,
}

/// One case: crash anywhere (any prefix of the writes since the last sync,
/// the next one torn), reopen with the call, append and sync, crash again,
/// for several rounds. Every read in tolerate-tail (and skip-corrupt)
/// returns the log kept so far, then some of the last session's records
/// (at least every acknowledged one), in order, nothing else.
fn crash_reopen_rounds(case: &Case, fig: &mut Figures) -> Result<(), String> {
    let mut rng = Rng::new(case.seed);
    let n = 40 + (case.seed % 1000) as u32;
    let ropts = || {
        let o = ReaderOptions::new();
        if case.recyclable {
            o.log_number(n)
        } else {
            o
        }
    };
    let mut file = MemFile::with(if case.preallocated {
        vec![0; rng.range(1, 6 * BLOCK)]
    } else {
        Vec::new()
    });
    let mut log: Vec<Vec<u8>> = Vec::new();
    for round in 0..case.rounds {
        let mut opts = ReopenOptions::new()
            .cut(case.cut)
            .buffer_size([0, 4096, 64 << 10][rng.below(3) as usize]);
        if case.recyclable {
            opts = opts.format(LogFormat::Recyclable).log_number(n);
        }
        let mut reopening = opts.open_file(file).map_err(|e| e.to_string())?;
        let mut replayed = Vec::new();
        while let Some(e) = reopening
            .next_event()
            .map_err(|e| format!("round {round}: {e}"))?
        {
            if let blocklog::Event::Record(r) = e {
                replayed.push(r.payload.to_vec());
            }
        }
        if replayed != log {
            return Err(format!(
                "round {round}: the reopen call replayed other records"
            ));
        }
        let (mut w, _) = reopening
            .finish()
            .map_err(|e| format!("round {round}: {e}"))?;
        let mut added = Vec::new();
        let mut acked = 0;
        for _ in 0..rng.range(0, 12) {
            let len = match rng.below(10) {
                0 => rng.range(BLOCK / 2, 3 * BLOCK),
                1 => BLOCK - 2 * 11 + rng.range(0, 16),
                _ => rng.range(0, 800),
            };
            let p = rng.bytes(len);
            w.add_record(&p).map_err(|e| e.to_string())?;
            added.push(p);
            match rng.below(4) {
                0 => {
                    w.sync().map_err(|e| e.to_string())?;
                    acked = added.len();
                }
                1 => w.flush().map_err(|e| e.to_string())?,
                _ => {}
            }
        }
        fig.added += added.len() as u64;
        fig.acked += acked as u64;
        // The crash: what is staged is lost, unsynced writes partly.
        let crashed = w.get_ref().crash(&mut rng);
        drop(w);
        let mut next = Vec::new();
        for mode in [RecoveryMode::TolerateTail, RecoveryMode::SkipCorrupt] {
            let got = payloads(&crashed.data, ropts().mode(mode))
                .map_err(|e| format!("round {round}, {mode}: refused: {e}"))?;
            let m = got
                .len()
                .checked_sub(log.len())
                .filter(|_| got.starts_with(&log));
            let m = m.ok_or_else(|| format!("round {round}, {mode}: lost records"))?;
            if m < acked || m > added.len() || got[log.len()..] != added[..m] {
                return Err(format!(
                    "round {round}, {mode}: {m} new records read, {acked} acknowledged, {} added",
                    added.len()
                ));
            }
            if mode == RecoveryMode::TolerateTail {
                fig.beyond_ack += (m - acked) as u64;
                next = got;
            }
        }
        log = next;
        file = crashed;
        fig.rounds += 1;
    }
    fig.cases += 1;
    Ok(())
}

static FIGURES: std::sync::Mutex<Figures> = std::sync::Mutex::new(Figures {
    cases: 0,
    rounds: 0,
    added: 0,
    acked: 0,
    beyond_ack: 0,
});

fn prop_crash_reopen(case: Case) -> TestResult {
    let mut fig = FIGURES.lock().unwrap_or_else(|e| e.into_inner());
    match crash_reopen_rounds(&case, &mut fig) {
        Ok(()) => TestResult::passed(),
        Err(e) => TestResult::error(format!("{case:?}: {e}")),
    }
}

/// The property: any crash point, reopen with the call, append and sync,
/// crash again, any number of times: nothing acknowledged is lost.
#[test]
fn crash_reopen_append_rounds_keep_every_acknowledged_record() {
    const CASES: u64 = 200;
    QuickCheck::new()
        .tests(CASES)
        .max_tests(CASES)
        .quickcheck(prop_crash_reopen as fn(Case) -> TestResult);
    let fig = FIGURES.lock().unwrap();
    println!("crash/reopen property: {fig:?}");
    assert!(fig.cases == CASES && fig.acked > 0, "{fig:?}");
}
