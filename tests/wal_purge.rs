//! Purge, recycling and preallocation of the WAL: the scenarios of issue
//! 11's second part, each test named after its scenario and citing the rows
//! of `docs/wal.md` it checks (W1-W12, and P1-P9 for purge, recycling and
//! preallocation).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use blocklog::format::{mask_crc, record_crc, RecordType};
use blocklog::wal::dir::{self, DirOp};
use blocklog::wal::{Batch, DropReason, Problem, Wal, WalEvent, WalOptions, WalReader};
use blocklog::{BenignKind, Error, Event, Reader, RecoveryMode, SyncData};
use blocklog_testkit::rng::Rng;

const MODES: [RecoveryMode; 4] = [
    RecoveryMode::TolerateTail,
    RecoveryMode::Absolute,
    RecoveryMode::PointInTime,
    RecoveryMode::SkipCorrupt,
];

/// The entry of batch `seq`: `len` bytes derived from the sequence number.
fn entry(seq: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seq);
    let mut e = format!("entry-{seq:08}-").into_bytes();
    e.extend(rng.bytes(len.saturating_sub(e.len())));
    e
}

fn batch(seq: u64, len: usize) -> Batch {
    let mut b = Batch::new();
    b.put(&entry(seq, len)).unwrap();
    b
}

/// Appends batches `from..to` of `len` bytes, then syncs.
fn append(wal: &mut Wal, from: u64, to: u64, len: usize) {
    for seq in from..to {
        assert_eq!(wal.append(&batch(seq, len)).unwrap(), seq);
    }
    wal.sync().unwrap();
}

/// Every batch of the directory read in `mode`, checked against its entry
/// (`len(seq)` bytes): their sequence numbers, or the error the read ended with.
fn read(dir: &Path, mode: RecoveryMode, len: impl Fn(u64) -> usize) -> Result<Vec<u64>, Error> {
    let mut reader = WalReader::open(dir, &WalOptions::new().mode(mode))?;
    let mut seqs = Vec::new();
    while let Some(ev) = reader.next_event()? {
        match ev {
            WalEvent::Batch(b) => {
                assert_eq!(
                    b.entries().unwrap(),
                    [entry(b.seq, len(b.seq))],
                    "batch {}",
                    b.seq
                );
                seqs.push(b.seq);
            }
            other => panic!("{mode:?}: unexpected {other:?}"),
        }
    }
    Ok(seqs)
}

fn range(a: u64, b: u64) -> Vec<u64> {
    (a..b).collect()
}

/// `seqs` as `(first, last, count)`, for short failure messages; the
/// checks compare whole vectors through it only when it differs.
fn span(seqs: &[u64]) -> (Option<u64>, Option<u64>, usize) {
    (seqs.first().copied(), seqs.last().copied(), seqs.len())
}

/// Asserts `got == want`, printing only their spans when they differ.
#[track_caller]
fn same(got: &[u64], want: &[u64], what: impl std::fmt::Debug) {
    assert!(
        got == want,
        "{what:?}: got {:?}, want {:?}",
        span(got),
        span(want)
    );
}

fn size(dir: &Path, number: u64) -> u64 {
    fs::metadata(dir::path_of(dir, number)).unwrap().len()
}

/// What happened, in order: directory operations and the writes and syncs
/// of each file's sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Dir(DirOp),
    Write(u64),
    Sync(u64),
}

/// Picks the step a run crashes at (called for every step, in order).
type CrashAt = Box<dyn FnMut(&Step) -> bool + Send>;

/// The shared log of a run, and where it crashes: from the first step
/// `crash_at` accepts on, every operation fails and reaches nothing (the
/// disk keeps what was done before it).
struct Run {
    log: Vec<Step>,
    crash_at: Option<CrashAt>,
    crashed: bool,
}

/// A run, shared by the observer and the sinks.
#[derive(Clone)]
struct Shared(Arc<Mutex<Run>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl Shared {
    fn step(&self, s: Step) -> io::Result<()> {
        let mut r = self.0.lock().unwrap();
        let hit = r.crash_at.as_mut().is_some_and(|f| f(&s));
        if r.crashed || hit {
            r.crashed = true;
            return Err(io::Error::other("injected crash"));
        }
        r.log.push(s);
        Ok(())
    }

    fn log(&self) -> Vec<Step> {
        self.0.lock().unwrap().log.clone()
    }
}

/// A file sink whose writes and syncs are steps of the run.
#[derive(Debug)]
struct Logged {
    number: u64,
    file: File,
    run: Shared,
}

impl Write for Logged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.run.step(Step::Write(self.number))?;
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SyncData for Logged {
    fn sync_data(&mut self) -> io::Result<()> {
        self.run.step(Step::Sync(self.number))?;
        self.file.sync_data()
    }
}

/// `opts` with every directory operation and file write and sync a logged
/// step, unbuffered (each record is one write); the run crashes at the
/// step `crash_at` picks.
fn logged(opts: WalOptions, crash_at: Option<CrashAt>) -> (WalOptions, Shared) {
    let run = Shared(Arc::new(Mutex::new(Run {
        log: Vec::new(),
        crash_at,
        crashed: false,
    })));
    let (r1, r2) = (run.clone(), run.clone());
    let opts = opts
        .buffer_size(0)
        .observe_dir(move |op| r1.step(Step::Dir(op)))
        .wrap_files(move |number, file| {
            Box::new(Logged {
                number,
                file,
                run: r2.clone(),
            })
        });
    (opts, run)
}

/// Crashes at the `n`-th step of the run (0-based).
fn at_step(n: usize) -> CrashAt {
    let mut seen = 0;
    Box::new(move |_| {
        seen += 1;
        seen - 1 == n
    })
}

/// 1000-byte entries and 64 KiB files: 64 batches a file.
const BIG: usize = 1000;
const PER_FILE: u64 = 64;

fn small_files() -> WalOptions {
    WalOptions::new().max_file_size(64 << 10)
}

// P1, P2, W10: whole files through the checkpoint, lowest first, after the
// purge marker is synced, the directory synced after each; the log then
// starts at the lowest file left.
#[test]
fn purge_through_a_checkpoint_deletes_whole_files_lowest_first_after_its_synced_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (opts, run) = logged(small_files(), None);
    let mut wal = Wal::open(dir.path(), opts).unwrap();
    append(&mut wal, 1, 301, BIG);
    assert_eq!(wal.file_numbers(), [1, 2, 3, 4, 5]);
    let before = run.log().len();
    assert_eq!(wal.purge_through(130).unwrap(), [1, 2]);
    assert_eq!(
        run.log()[before..],
        [
            Step::Write(5),
            Step::Sync(5),
            Step::Dir(DirOp::Remove(1)),
            Step::Dir(DirOp::SyncDir),
            Step::Dir(DirOp::Remove(2)),
            Step::Dir(DirOp::SyncDir),
        ]
    );
    assert_eq!(wal.file_numbers(), [3, 4, 5]);
    assert_eq!(dir::list(dir.path()).unwrap(), [3, 4, 5]);
    drop(wal);
    for mode in MODES {
        assert_eq!(
            read(dir.path(), mode, |_| BIG).unwrap(),
            range(129, 301),
            "{mode:?}"
        );
    }
    let mut seqs = Vec::new();
    let wal = Wal::open_with(dir.path(), small_files(), |b| seqs.push(b.seq)).unwrap();
    same(&seqs, &range(129, 301), ());
    assert_eq!(wal.next_seq(), 301);
    assert_eq!(wal.file_numbers(), [3, 4, 5, 6]);
}

// P2: never the current file, never a file holding a sequence above the
// checkpoint; a checkpoint not yet appended is refused without poisoning;
// nothing to purge writes nothing.
#[test]
fn purge_never_deletes_the_current_file_nor_a_file_holding_a_later_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let (opts, run) = logged(small_files(), None);
    let mut wal = Wal::open(dir.path(), opts).unwrap();
    append(&mut wal, 1, 201, BIG);
    assert_eq!(wal.file_numbers(), [1, 2, 3, 4]);
    let before = run.log().len();
    assert_eq!(wal.purge_through(63).unwrap(), Vec::<u64>::new());
    assert_eq!(run.log().len(), before, "nothing to purge: nothing written");
    assert_eq!(wal.purge_through(64).unwrap(), [1]);
    assert_eq!(wal.purge_through(127).unwrap(), Vec::<u64>::new());
    let refused = wal.purge_through(201).unwrap_err();
    assert!(matches!(refused, Error::InvalidInput { .. }), "{refused:?}");
    assert!(wal.poisoned().is_none());
    // Everything appended: every sealed file goes, the current one stays.
    assert_eq!(wal.purge_through(200).unwrap(), [2, 3]);
    assert_eq!(wal.file_numbers(), [4]);
    append(&mut wal, 201, 211, BIG);
    drop(wal);
    for mode in MODES {
        assert_eq!(
            read(dir.path(), mode, |_| BIG).unwrap(),
            range(193, 211),
            "{mode:?}"
        );
    }
}

// P3, W10: a crash at every step of a purge leaves a WAL that reads in
// every mode; the next open finishes the purge if its marker was written,
// and purges nothing otherwise.
#[test]
fn purge_interrupted_at_every_step_finishes_on_the_next_open() {
    let scenario = |dir: &Path, crash_at: Option<CrashAt>| {
        let (opts, run) = logged(small_files(), crash_at);
        let mut wal = Wal::open(dir, opts).unwrap();
        append(&mut wal, 1, 301, BIG);
        let before = run.log().len();
        let r = wal.purge_through(200);
        (before, r, run.log())
    };
    let clean = tempfile::tempdir().unwrap();
    let (start, r, log) = scenario(clean.path(), None);
    assert_eq!(r.unwrap(), [1, 2, 3]);
    let steps = &log[start..];
    let marker_write = steps.iter().position(|s| *s == Step::Write(5)).unwrap();
    for k in 0..steps.len() {
        let dir = tempfile::tempdir().unwrap();
        let (_, r, _) = scenario(dir.path(), Some(at_step(start + k)));
        assert!(r.is_err(), "step {k} {:?}", steps[k]);
        for mode in MODES {
            let seqs = read(dir.path(), mode, |_| BIG).unwrap();
            assert_eq!(seqs.last(), Some(&300), "step {k} {mode:?}");
        }
        // The open replays what is there (the files are read before the
        // purge is finished: those the crash left), then finishes it.
        let removed = steps[..k]
            .iter()
            .filter(|s| matches!(s, Step::Dir(DirOp::Remove(_))))
            .count() as u64;
        let mut seqs = Vec::new();
        let wal = Wal::open_with(dir.path(), small_files(), |b| seqs.push(b.seq)).unwrap();
        assert_eq!(
            seqs,
            range(1 + removed * PER_FILE, 301),
            "step {k} {:?}",
            steps[k]
        );
        let purged = k > marker_write;
        assert_eq!(wal.recovery().purge.is_some(), purged, "step {k}");
        let (files, first): (&[u64], _) = match purged {
            true => (&[4, 5, 6], 193),
            false => (&[1, 2, 3, 4, 5, 6], 1),
        };
        assert_eq!(wal.file_numbers(), files, "step {k} {:?}", steps[k]);
        drop(wal);
        for mode in MODES {
            let seqs = read(dir.path(), mode, |_| BIG).unwrap();
            same(&seqs, &range(first, 301), (k, mode));
        }
        assert_eq!(dir::list_free(dir.path()).unwrap(), Vec::<u64>::new());
    }
}

/// Appends a legacy-header marker record of `t` with `fields` to file `number`.
fn append_marker(dir: &Path, number: u64, t: RecordType, fields: &[u64]) {
    let payload: Vec<u8> = fields.iter().flat_map(|f| f.to_le_bytes()).collect();
    let mut rec = mask_crc(record_crc(t, None, &payload))
        .to_le_bytes()
        .to_vec();
    rec.extend((payload.len() as u16).to_le_bytes());
    rec.push(t.to_byte());
    rec.extend(&payload);
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir::path_of(dir, number))
        .unwrap();
    f.write_all(&rec).unwrap();
}

// W7: a purge marker naming another file, or a checkpoint past the batches
// before it, is refused, stopped at or dropped like any bad marker.
#[test]
fn a_purge_marker_naming_another_file_or_past_its_batches_is_a_bad_marker() {
    for (fields, foreign) in [([7u64, 5], true), ([1, 11], false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
        append(&mut wal, 1, 11, 100);
        drop(wal);
        append_marker(dir.path(), 1, RecordType::WalPurge, &fields);
        for mode in [RecoveryMode::TolerateTail, RecoveryMode::Absolute] {
            let err = read(dir.path(), mode, |_| 100).unwrap_err();
            let Error::Wal { problem, .. } = err else {
                panic!("{err:?}")
            };
            let Problem::Dropped(d) = *problem else {
                panic!("{problem:?}")
            };
            match d.reason {
                DropReason::ForeignMarker { names } => assert!(foreign && names == 7),
                DropReason::MalformedMarker(_) => assert!(!foreign),
                other => panic!("{other:?}"),
            }
        }
        let mut reader = WalReader::open(
            dir.path(),
            &WalOptions::new().mode(RecoveryMode::SkipCorrupt),
        )
        .unwrap();
        let mut dropped = 0;
        while let Some(ev) = reader.next_event().unwrap() {
            dropped += matches!(ev, WalEvent::Dropped(_)) as usize;
        }
        assert_eq!(dropped, 1);
        assert_eq!(reader.report().purge, None);
    }
}

/// Entry sizes of the recycling scenario: big ones first, small ones after
/// the purge (a recycled file's new content is shorter than its old).
fn recycled_len(seq: u64) -> usize {
    if seq <= 260 {
        BIG
    } else {
        100
    }
}

/// Files 1-5 hold 1..=260 (63 batches a file: recyclable headers are
/// longer), files 1 (1..=63) and 2 (64..=126) are purged into the free pool,
/// then batches from 261 fill file 5 and rotate into file 6, a reused free
/// file, which gets `in_six` small batches.
fn recycle_scenario(dir: &Path, opts: WalOptions, in_six: u64) -> Wal {
    let mut wal = Wal::open(dir, opts).unwrap();
    append(&mut wal, 1, 261, BIG);
    assert_eq!(wal.purge_through(130).unwrap(), [1, 2]);
    assert_eq!(dir::list_free(dir).unwrap(), [1, 2]);
    let mut seq = 261;
    while wal.file_number() == 5 {
        wal.append(&batch(seq, 100)).unwrap();
        seq += 1;
    }
    for _ in 1..in_six {
        wal.append(&batch(seq, 100)).unwrap();
        seq += 1;
    }
    wal.sync().unwrap();
    wal
}

// P5, P6, R7, W2: a crash while appending to a recycled file; its old
// bytes (the previous use, another log number) follow the new content and
// are never replayed, in any mode.
#[test]
fn stale_records_in_a_recycled_file_never_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small_files().recycle(2);
    let wal = recycle_scenario(dir.path(), opts.clone(), 5);
    let last = wal.next_seq() - 1;
    assert_eq!(wal.file_numbers(), [3, 4, 5, 6]);
    assert_eq!(dir::list_free(dir.path()).unwrap(), [1]);
    drop(wal); // a crash: file 6 unsealed, its old bytes after its new ones
    assert!(
        size(dir.path(), 6) > 60 << 10,
        "file 6 keeps file 2's bytes"
    );
    for mode in MODES {
        let seqs = read(dir.path(), mode, recycled_len).unwrap();
        same(&seqs, &range(127, last + 1), mode);
    }
    let mut seqs = Vec::new();
    let mut wal = Wal::open_with(dir.path(), opts.clone(), |b| seqs.push(b.seq)).unwrap();
    same(&seqs, &range(127, last + 1), ());
    // Open cut file 6 at its new content and sealed it; file 7 is the last
    // free file, reused.
    assert!(size(dir.path(), 6) < 4 << 10);
    assert_eq!(dir::list_free(dir.path()).unwrap(), Vec::<u64>::new());
    assert_eq!(wal.file_numbers(), [3, 4, 5, 6, 7]);
    append(&mut wal, last + 1, last + 4, 100);
    wal.close().unwrap();
    for mode in MODES {
        let seqs = read(dir.path(), mode, recycled_len).unwrap();
        same(&seqs, &range(127, last + 4), mode);
    }
}

// P6, W6, W1: a sealed recycled file ends at its seal (cut there before its
// successor exists), so its successor's predecessor record gives its size
// and absolute recovery accepts the directory.
#[test]
fn a_sealed_recycled_file_ends_at_its_seal() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small_files().recycle(2);
    let mut wal = recycle_scenario(dir.path(), opts.clone(), 1);
    let mut seq = wal.next_seq();
    while wal.file_number() == 6 {
        wal.append(&batch(seq, 100)).unwrap();
        seq += 1;
    }
    wal.sync().unwrap();
    // File 6 was file 2 (64 KiB); its new content is 64 KiB of small
    // batches, sealed and cut: file 7 is file 1, reused.
    assert_eq!(dir::list_free(dir.path()).unwrap(), Vec::<u64>::new());
    drop(wal);
    let seqs = read(dir.path(), RecoveryMode::Absolute, recycled_len).unwrap();
    same(&seqs, &range(127, seq), ());
    let mut reader = WalReader::open(dir.path(), &opts).unwrap();
    while reader.next_event().unwrap().is_some() {}
    let files = &reader.report().files;
    let six = files.iter().find(|f| f.number == 6).unwrap();
    assert!(six.sealed && six.recyclable);
    assert_eq!(six.size, six.kept_end);
}

// P7, W8: a crash right after a free file is renamed to its new number
// (before, or while, its predecessor record is written, or before the
// directory is synced): nothing acknowledged is lost, nothing stale is
// replayed, and the WAL goes on.
#[test]
fn crash_right_after_reusing_a_free_file_loses_nothing_and_replays_nothing_stale() {
    for crash in [Step::Write(6), Step::Sync(6), Step::Dir(DirOp::SyncDir)] {
        let dir = tempfile::tempdir().unwrap();
        let mut reused = false;
        let crash_at: CrashAt = Box::new(move |s| {
            reused |= matches!(s, Step::Dir(DirOp::Reuse { number: 6, .. }));
            reused && *s == crash
        });
        let (opts, _) = logged(small_files().recycle(2), Some(crash_at));
        let mut wal = Wal::open(dir.path(), opts).unwrap();
        append(&mut wal, 1, 261, BIG);
        assert_eq!(wal.purge_through(130).unwrap(), [1, 2]);
        let mut seq = 261;
        let failed = loop {
            match wal.append(&batch(seq, 100)) {
                Ok(_) => seq += 1,
                Err(e) => break e,
            }
            wal.sync().unwrap();
        };
        assert!(matches!(failed, Error::Io { .. }), "{crash:?}: {failed:?}");
        drop(wal);
        // Batches 129..seq were acknowledged; `seq` never was.
        for mode in MODES {
            let seqs = read(dir.path(), mode, recycled_len).unwrap();
            same(&seqs, &range(127, seq), (crash, mode));
        }
        let opts = small_files().recycle(2);
        let mut got = Vec::new();
        let mut wal = Wal::open_with(dir.path(), opts.clone(), |b| got.push(b.seq)).unwrap();
        same(&got, &range(127, seq), crash);
        append(&mut wal, seq, seq + 3, 100);
        drop(wal);
        for mode in MODES {
            let seqs = read(dir.path(), mode, recycled_len).unwrap();
            same(&seqs, &range(127, seq + 3), (crash, mode));
        }
    }
}

// P4, P8: only files this WAL wrote with recyclable headers are recycled:
// files written without recycling are deleted by a purge, not kept.
#[test]
fn only_files_written_with_recyclable_headers_are_recycled() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), small_files()).unwrap();
    append(&mut wal, 1, 201, BIG);
    wal.close().unwrap();
    let opts = small_files().recycle(8);
    let mut wal = Wal::open(dir.path(), opts.clone()).unwrap();
    assert_eq!(wal.file_numbers(), [1, 2, 3, 4, 5]);
    append(&mut wal, 201, 331, BIG);
    assert_eq!(wal.file_numbers(), [1, 2, 3, 4, 5, 6, 7]);
    // Files 1-4 are legacy (written without recycling: 1..=200); 5 and 6
    // recyclable (201..=263, 264..=326).
    assert_eq!(wal.purge_through(330).unwrap(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(dir::list_free(dir.path()).unwrap(), [5, 6]);
    drop(wal);
    for mode in MODES {
        same(
            &read(dir.path(), mode, |_| BIG).unwrap(),
            &range(327, 331),
            mode,
        );
    }
    // Recycling off: the free files are deleted on open.
    let wal = Wal::open(dir.path(), small_files()).unwrap();
    assert_eq!(dir::list_free(dir.path()).unwrap(), Vec::<u64>::new());
    drop(wal);
}

// P9, R2, W2: a preallocated file's zero tail is the end of the log in
// every mode; open cuts it; a sealed preallocated file ends at its seal, so
// its successor records its size (W6) and absolute recovery accepts it.
#[test]
fn preallocated_zero_tail_reads_as_the_end_and_sealed_files_end_at_their_seal() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small_files().preallocate(256 << 10);
    let mut wal = Wal::open(dir.path(), opts.clone()).unwrap();
    append(&mut wal, 1, 101, BIG);
    assert_eq!(wal.file_numbers(), [1, 2]);
    drop(wal); // a crash: file 2 holds 36 batches, then zeros
    assert!(size(dir.path(), 1) < 64 << 10, "sealed: cut at its seal");
    assert_eq!(size(dir.path(), 2), 256 << 10, "the newest keeps its zeros");
    for mode in MODES {
        same(
            &read(dir.path(), mode, |_| BIG).unwrap(),
            &range(1, 101),
            mode,
        );
    }
    let mut seqs = Vec::new();
    let wal = Wal::open_with(dir.path(), opts, |b| seqs.push(b.seq)).unwrap();
    same(&seqs, &range(1, 101), ());
    assert!(size(dir.path(), 2) < 64 << 10, "open cut the zeros");
    assert_eq!(size(dir.path(), 3), 256 << 10);
    wal.close().unwrap();
    assert!(size(dir.path(), 3) < 4 << 10, "close cut the zeros");
    for mode in MODES {
        same(
            &read(dir.path(), mode, |_| BIG).unwrap(),
            &range(1, 101),
            mode,
        );
    }
}

// W1 (and every row whose data follows a marker): a marker that does not
// fit in the rest of its block follows a padding record (0xF0, or 0xF9 in
// a recyclable file) filling it, not zeros, which would read as a zero
// header: interior damage before the next block's records.
#[test]
fn a_marker_that_does_not_fit_its_block_follows_a_padding_record_not_zeros() {
    for recycle in [0, 2] {
        let dir = tempfile::tempdir().unwrap();
        let opts = WalOptions::new().recycle(recycle);
        let mut wal = Wal::open(dir.path(), opts.clone()).unwrap();
        // Batch 1 ends 20 bytes before the first block's end (after the
        // predecessor, a header, 12 bytes of batch header and a 3-byte
        // varint): its synced marker does not fit there.
        let hdr = if recycle > 0 { 11 } else { 7 };
        let mut lens = vec![32_768 - 20 - (hdr + 32) - hdr - 15];
        let mut rng = Rng::new(11 + recycle as u64);
        lens.extend((0..199).map(|_| rng.range(20, 700)));
        for (i, &len) in lens.iter().enumerate() {
            wal.append(&batch(i as u64 + 1, len)).unwrap();
            wal.sync().unwrap(); // a synced marker after every batch
        }
        drop(wal);
        let len_of = |seq: u64| lens[seq as usize - 1];
        for mode in MODES {
            same(
                &read(dir.path(), mode, len_of).unwrap(),
                &range(1, 201),
                (recycle, mode),
            );
        }
        let bytes = fs::read(dir::path_of(dir.path(), 1)).unwrap();
        let mut reader = Reader::new(&bytes[..]);
        let mut pads = 0;
        while let Some(ev) = reader.next_event().unwrap() {
            match ev {
                Event::Benign(b) => match b.kind {
                    BenignKind::Ignorable(0xF0) => pads += 1,
                    BenignKind::Metadata(0xF5) if b.payload.first() == Some(&0xF0) => pads += 1,
                    BenignKind::Metadata(_) => {}
                    other => panic!("{other:?}"),
                },
                Event::Record(_) => {}
                other => panic!("{other:?}"),
            }
        }
        assert!(pads > 0, "recycle {recycle}: no marker met a block end");
        let mut got = Vec::new();
        let wal = Wal::open_with(dir.path(), opts, |b| got.push(b.seq)).unwrap();
        same(&got, &range(1, 201), recycle);
        wal.close().unwrap();
    }
}
