//! The WAL over a directory of files: the scenarios of issue 11, each test
//! named after its scenario and citing the rows of `docs/wal.md` (W1-W12)
//! it checks.

use std::fs::{self, OpenOptions};
use std::path::Path;

use blocklog::wal::{
    dir, Batch, DropReason, GapCause, Problem, Wal, WalBatch, WalEvent, WalOptions, WalReader,
};
use blocklog::{Error, Position, Reader, ReaderOptions, RecoveryMode};
use blocklog_testkit::faulty::{Call, Errno, Fault, Faulty};
use blocklog_testkit::wal_read;

/// Header of a legacy physical record.
const HDR: u64 = 7;

fn entry(seq: u64) -> Vec<u8> {
    format!("entry-{seq:06}").into_bytes()
}

fn one(seq: u64) -> Batch {
    let mut b = Batch::new();
    b.put(&entry(seq)).unwrap();
    b
}

/// Four files of 50 single-entry batches: seq 1-50 in 000001.log, 51-100
/// in 000002.log, and so on, each file sealed (written by four
/// open-append-close rounds).
fn four_files(dir: &Path) {
    for round in 0..4u64 {
        let mut wal = Wal::open(dir, WalOptions::new()).unwrap();
        assert_eq!(wal.file_number(), round + 1);
        for i in 0..50 {
            let seq = round * 50 + i + 1;
            assert_eq!(wal.append(&one(seq)).unwrap(), seq);
        }
        wal.close().unwrap();
    }
}

/// Every event of a read in `mode`, and the error it ended with, if any.
fn read_all(dir: &Path, mode: RecoveryMode) -> (Vec<WalEvent>, Option<Error>) {
    wal_read::events(&mut WalReader::open(dir, &WalOptions::new().mode(mode)).unwrap())
}

fn batches(events: &[WalEvent]) -> Vec<&WalBatch> {
    events
        .iter()
        .filter_map(|e| match e {
            WalEvent::Batch(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn seqs(events: &[WalEvent]) -> Vec<u64> {
    batches(events).iter().map(|b| b.seq).collect()
}

fn range(a: u64, b: u64) -> Vec<u64> {
    (a..=b).collect()
}

/// Checks that every batch returned holds the entry written with its number.
fn entries_match(events: &[WalEvent]) {
    for b in batches(events) {
        assert_eq!(b.entries().unwrap(), [entry(b.seq)], "batch {}", b.seq);
    }
}

/// Where the batch of sequence number `seq` lies.
fn locate(dir: &Path, seq: u64) -> WalBatch {
    let (events, err) = read_all(dir, RecoveryMode::SkipCorrupt);
    assert!(err.is_none());
    batches(&events)
        .into_iter()
        .find(|b| b.seq == seq)
        .cloned()
        .expect("batch present")
}

fn flip(dir: &Path, file: u64, offset: u64, mask: u8) {
    let path = dir::path_of(dir, file);
    let mut bytes = fs::read(&path).unwrap();
    bytes[offset as usize] ^= mask;
    fs::write(&path, bytes).unwrap();
}

fn truncate(dir: &Path, file: u64, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(dir::path_of(dir, file))
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// The four-file scenario with batch 75 (the middle of file 2) damaged.
fn four_files_file_two_damaged(dir: &Path) -> WalBatch {
    four_files(dir);
    let victim = locate(dir, 75);
    assert_eq!(victim.file, 2);
    flip(dir, 2, victim.offset + HDR + 12, 0x01); // an entry byte
    victim
}

/// The damage every mode must see: file 2, interior, at batch 75.
fn is_file_two_damage(p: &Problem, at: u64) -> bool {
    matches!(p, Problem::Dropped(d) if d.file == 2 && d.range.start == at
        && matches!(d.reason, DropReason::Damage { position: Position::Interior, .. }))
}

// W3 (tolerate-tail): damage in a non-last file is an error, after 1-74.
#[test]
fn four_files_file_two_damaged_mid_way_tolerate_tail_refuses_after_seq_74() {
    let dir = tempfile::tempdir().unwrap();
    let victim = four_files_file_two_damaged(dir.path());
    let (events, err) = read_all(dir.path(), RecoveryMode::TolerateTail);
    assert_eq!(seqs(&events), range(1, 74));
    entries_match(&events);
    match err {
        Some(Error::Wal {
            mode: RecoveryMode::TolerateTail,
            problem,
        }) => {
            assert!(is_file_two_damage(&problem, victim.offset), "{problem}")
        }
        other => panic!("{other:?}"),
    }
    // Wal::open refuses the same directory, and changes nothing.
    let before: Vec<_> = (1..=4)
        .map(|n| fs::read(dir::path_of(dir.path(), n)).unwrap())
        .collect();
    assert!(matches!(
        Wal::open(dir.path(), WalOptions::new()),
        Err(Error::Wal { .. })
    ));
    let after: Vec<_> = (1..=4)
        .map(|n| fs::read(dir::path_of(dir.path(), n)).unwrap())
        .collect();
    assert_eq!(before, after);
    assert_eq!(dir::list(dir.path()).unwrap(), [1, 2, 3, 4]);
}

// W3 (absolute): the same error.
#[test]
fn four_files_file_two_damaged_mid_way_absolute_refuses_after_seq_74() {
    let dir = tempfile::tempdir().unwrap();
    let victim = four_files_file_two_damaged(dir.path());
    let (events, err) = read_all(dir.path(), RecoveryMode::Absolute);
    assert_eq!(seqs(&events), range(1, 74));
    match err {
        Some(Error::Wal {
            mode: RecoveryMode::Absolute,
            problem,
        }) => {
            assert!(is_file_two_damage(&problem, victim.offset), "{problem}")
        }
        other => panic!("{other:?}"),
    }
}

// W3 (point-in-time): 1-74, then a stop at the damage; nothing of files 3
// and 4 is replayed, and Wal::open refuses to append after the stop.
#[test]
fn four_files_file_two_damaged_mid_way_point_in_time_stops_at_seq_74() {
    let dir = tempfile::tempdir().unwrap();
    let victim = four_files_file_two_damaged(dir.path());
    let (events, err) = read_all(dir.path(), RecoveryMode::PointInTime);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(seqs(&events), range(1, 74));
    match events.last() {
        Some(WalEvent::Stopped(p)) => assert!(is_file_two_damage(p, victim.offset), "{p}"),
        other => panic!("{other:?}"),
    }
    let opts = WalOptions::new().mode(RecoveryMode::PointInTime);
    match Wal::open(dir.path(), opts) {
        Err(Error::Wal { problem, .. }) => assert!(is_file_two_damage(&problem, victim.offset)),
        other => panic!("{other:?}"),
    }
    assert_eq!(dir::list(dir.path()).unwrap(), [1, 2, 3, 4]);
}

// W3 + W9 (skip-corrupt): 1-74, the dropped range, the gap 75..101, then 101-200.
#[test]
fn four_files_file_two_damaged_mid_way_skip_corrupt_reports_the_gap_75_to_100() {
    let dir = tempfile::tempdir().unwrap();
    let victim = four_files_file_two_damaged(dir.path());
    let (events, err) = read_all(dir.path(), RecoveryMode::SkipCorrupt);
    assert!(err.is_none(), "{err:?}");
    let mut expected = range(1, 74);
    expected.extend(101..=200);
    assert_eq!(seqs(&events), expected);
    entries_match(&events);
    // Between batch 74 and batch 101: the damage, then the gap, never silence.
    let i74 = events
        .iter()
        .position(|e| matches!(e, WalEvent::Batch(b) if b.seq == 74))
        .unwrap();
    let i101 = events
        .iter()
        .position(|e| matches!(e, WalEvent::Batch(b) if b.seq == 101))
        .unwrap();
    let between = &events[i74 + 1..i101];
    assert!(
        between.iter().any(|e| matches!(e, WalEvent::Dropped(d)
        if d.file == 2 && d.range.start == victim.offset)),
        "{between:?}"
    );
    let gaps: Vec<_> = between
        .iter()
        .filter_map(|e| match e {
            WalEvent::Gap(g) => Some(g),
            _ => None,
        })
        .collect();
    assert_eq!(gaps.len(), 1, "{between:?}");
    assert_eq!((gaps[0].expected_seq, gaps[0].found_seq), (75, 101));
    assert_eq!(gaps[0].file, 3);
    // The per-file report says the same.
    let mut reader = WalReader::open(
        dir.path(),
        &WalOptions::new().mode(RecoveryMode::SkipCorrupt),
    )
    .unwrap();
    while reader.next_event().unwrap().is_some() {}
    let report = reader.report();
    let counts: Vec<_> = report.files.iter().map(|f| f.batches).collect();
    assert_eq!(counts, [50, 24, 50, 50]);
    assert!(report.files[1].dropped_bytes > 0);
    assert!(!report.files[1].sealed);
    assert_eq!(report.gaps().count(), 1);
    assert_eq!(report.next_seq, Some(201));
}

// W1: the undamaged scenario is clean in every mode.
#[test]
fn four_intact_files_read_as_one_sequence_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    four_files(dir.path());
    for mode in RecoveryMode::ALL {
        let (events, err) = read_all(dir.path(), mode);
        assert!(err.is_none(), "{mode}: {err:?}");
        assert_eq!(seqs(&events), range(1, 200), "{mode}");
        assert_eq!(events.len(), 200, "{mode}: only batches");
        entries_match(&events);
    }
}

// W2: a multi-block batch whose last fragments never reached the disk.
#[test]
fn a_batch_whose_last_fragments_never_reached_disk_is_never_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
    for seq in 1..=3 {
        wal.append(&one(seq)).unwrap();
    }
    wal.sync().unwrap();
    let mut big = Batch::new();
    for i in 0..40u32 {
        big.put(&vec![i as u8; 2500]).unwrap(); // 100 KB: four blocks
    }
    assert_eq!(wal.append(&big).unwrap(), 4);
    wal.sync().unwrap();
    drop(wal);
    let victim = locate(dir.path(), 4);
    // The crash: only the first two blocks of the batch reached the disk.
    for keep in [
        victim.offset + 40_000,
        victim.offset + 70_000,
        victim.end - 1,
    ] {
        let copy = tempfile::tempdir().unwrap();
        for n in dir::list(dir.path()).unwrap() {
            fs::copy(dir::path_of(dir.path(), n), dir::path_of(copy.path(), n)).unwrap();
        }
        truncate(copy.path(), 1, keep);
        for mode in [
            RecoveryMode::TolerateTail,
            RecoveryMode::PointInTime,
            RecoveryMode::SkipCorrupt,
        ] {
            let (events, err) = read_all(copy.path(), mode);
            assert!(err.is_none(), "{mode}: {err:?}");
            assert_eq!(seqs(&events), [1, 2, 3], "{mode} keep {keep}");
        }
        let (_, err) = read_all(copy.path(), RecoveryMode::Absolute);
        assert!(err.is_some(), "absolute refuses a torn tail (W2)");
        // Reopening cuts it: the next batch takes number 4, and reads back.
        let mut replayed = Vec::new();
        let mut wal =
            Wal::open_with(copy.path(), WalOptions::new(), |b| replayed.push(b.seq)).unwrap();
        assert_eq!(replayed, [1, 2, 3]);
        assert_eq!(wal.append(&one(4)).unwrap(), 4);
        wal.close().unwrap();
        let (events, err) = read_all(copy.path(), RecoveryMode::Absolute);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(seqs(&events), [1, 2, 3, 4]);
        entries_match(&events);
    }
}

/// Recomputes the masked CRC32C of the legacy record at `offset` of `bytes`.
fn fix_checksum(bytes: &mut [u8], offset: usize) {
    let len = u16::from_le_bytes([bytes[offset + 4], bytes[offset + 5]]) as usize;
    let t = bytes[offset + 6];
    let crc = blocklog::format::record_crc(
        blocklog::format::RecordType::from_byte(t),
        None,
        &bytes[offset + 7..offset + 7 + len],
    );
    bytes[offset..offset + 4].copy_from_slice(&blocklog::format::mask_crc(crc).to_le_bytes());
}

// W3, W4: a flipped bit in a sequence number is never returned as a batch
// with a wrong number; with the checksum recomputed (a writer bug, or a
// file from elsewhere), the sequence check still catches it.
#[test]
fn every_bit_flip_in_a_sequence_number_is_never_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
    for seq in 1..=9 {
        wal.append(&one(seq)).unwrap();
    }
    wal.close().unwrap();
    let victim = locate(dir.path(), 5);
    let path = dir::path_of(dir.path(), 1);
    let original = fs::read(&path).unwrap();
    for bit in 0..64 {
        for fix in [false, true] {
            let mut bytes = original.clone();
            let at = (victim.offset + HDR) as usize + bit / 8;
            bytes[at] ^= 1 << (bit % 8);
            if fix {
                fix_checksum(&mut bytes, victim.offset as usize);
            }
            fs::write(&path, &bytes).unwrap();
            for mode in RecoveryMode::ALL {
                let (events, err) = read_all(dir.path(), mode);
                let wrong: Vec<_> = batches(&events)
                    .into_iter()
                    .filter(|b| b.entries().unwrap() != [entry(b.seq)])
                    .collect();
                let case = format!("bit {bit} fix {fix} {mode}");
                if mode == RecoveryMode::SkipCorrupt {
                    // Skip-corrupt may return it (with its number wrong),
                    // but never silently: a gap or a drop is reported.
                    assert!(err.is_none(), "{case}");
                    let reported = events
                        .iter()
                        .any(|e| matches!(e, WalEvent::Gap(_) | WalEvent::Dropped(_)));
                    assert!(reported, "{case}");
                    if !fix {
                        assert!(wrong.is_empty(), "{case}");
                    }
                } else {
                    assert!(wrong.is_empty(), "{case}: {wrong:?}");
                    assert!(seqs(&events).iter().all(|&s| s < 5), "{case}");
                    if mode == RecoveryMode::PointInTime {
                        assert!(
                            matches!(events.last(), Some(WalEvent::Stopped(_))),
                            "{case}"
                        );
                    } else {
                        assert!(err.is_some(), "{case}");
                    }
                }
            }
        }
    }
}

// W2 vs W3: a torn unsynced tail is dropped; damage before a synced marker
// is damage to synced data, refused even when only the marker follows it.
#[test]
fn torn_unsynced_tail_is_fine_but_damage_before_a_synced_marker_is_not() {
    let build = || {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
        for seq in 1..=10 {
            wal.append(&one(seq)).unwrap();
        }
        wal.sync().unwrap(); // synced marker staged after batch 10
        wal.append(&one(11)).unwrap();
        wal.sync().unwrap(); // writes the marker and batch 11
        drop(wal); // crash: batch 11's marker never written
        let b10 = locate(dir.path(), 10);
        let b11 = locate(dir.path(), 11);
        assert!(b11.offset > b10.end, "the synced marker lies between them");
        (dir, b10, b11)
    };

    // The crash tore batch 11 (its sync never returned): dropped, 1-10 kept.
    let (dir, _, b11) = build();
    truncate(dir.path(), 1, b11.offset + 9);
    let (events, err) = read_all(dir.path(), RecoveryMode::TolerateTail);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(seqs(&events), range(1, 10));
    assert!(matches!(events.last(), Some(WalEvent::Dropped(d))
        if matches!(d.reason, DropReason::Damage { position: Position::Tail, .. })));

    // The same torn tail, and bit rot in batch 10, before the marker: the
    // marker proves batch 10 was synced, so this is damage, not a torn write.
    let b10 = locate(dir.path(), 10);
    flip(dir.path(), 1, b10.offset + HDR + 12, 0x40);
    let (events, err) = read_all(dir.path(), RecoveryMode::TolerateTail);
    assert_eq!(seqs(&events), range(1, 9));
    match err {
        Some(Error::Wal { problem, .. }) => assert!(matches!(*problem, Problem::Dropped(ref d)
            if d.range.start == b10.offset
            && matches!(d.reason, DropReason::Damage { position: Position::Interior, .. }))),
        other => panic!("{other:?}"),
    }

    // Without the synced marker the same damage reads as one torn tail:
    // the same batches in a plain log, batch 10 flipped and batch 11 torn,
    // lose batch 10 silently (tail-dropped), as any single-file reader would.
    let mut w = blocklog::Writer::new(Vec::new());
    let mut offsets = Vec::new();
    for seq in 1..=11 {
        offsets.push(w.add_record(one(seq).encode(seq)).unwrap());
    }
    let mut plain = w.into_inner().unwrap();
    plain.truncate(offsets[10] as usize + 9);
    plain[offsets[9] as usize + 7 + 12] ^= 0x40;
    let mut r = ReaderOptions::new().build(&plain[..]);
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 9);
    assert_eq!(r.summary().outcome().as_str(), "tail-dropped");
}

// W5: a missing middle file is a gap, in every mode.
#[test]
fn missing_middle_file_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    four_files(dir.path());
    fs::remove_file(dir::path_of(dir.path(), 2)).unwrap();
    for mode in [RecoveryMode::TolerateTail, RecoveryMode::Absolute] {
        let (events, err) = read_all(dir.path(), mode);
        assert_eq!(seqs(&events), range(1, 50), "{mode}");
        match err {
            Some(Error::Wal { problem, .. }) => assert!(
                matches!(*problem, Problem::Gap(ref g)
                if g.cause == (GapCause::MissingFiles { first: 2, last: 2 })),
                "{problem}"
            ),
            other => panic!("{mode}: {other:?}"),
        }
    }
    let (events, err) = read_all(dir.path(), RecoveryMode::PointInTime);
    assert!(err.is_none());
    assert_eq!(seqs(&events), range(1, 50));
    assert!(matches!(
        events.last(),
        Some(WalEvent::Stopped(Problem::Gap(_)))
    ));

    let (events, err) = read_all(dir.path(), RecoveryMode::SkipCorrupt);
    assert!(err.is_none());
    let mut expected = range(1, 50);
    expected.extend(101..=200);
    assert_eq!(seqs(&events), expected);
    let gaps: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            WalEvent::Gap(g) => Some((g.cause, g.expected_seq, g.found_seq)),
            _ => None,
        })
        .collect();
    assert_eq!(
        gaps,
        [
            (GapCause::MissingFiles { first: 2, last: 2 }, 51, 51),
            (GapCause::Marker, 51, 101), // file 3's predecessor record
        ]
    );
}

// W6: a non-last file cut at a record boundary (its seal lost) is caught.
#[test]
fn truncated_middle_file_is_caught_by_its_seal_and_its_successor() {
    let dir = tempfile::tempdir().unwrap();
    four_files(dir.path());
    let b90 = locate(dir.path(), 90);
    truncate(dir.path(), 2, b90.end); // clean cut after batch 90
    let (events, err) = read_all(dir.path(), RecoveryMode::TolerateTail);
    assert_eq!(seqs(&events), range(1, 90));
    assert!(matches!(err, Some(Error::Wal { .. })), "{err:?}");
    let (events, _) = read_all(dir.path(), RecoveryMode::SkipCorrupt);
    let gaps = wal_read::gaps(&events);
    assert_eq!(gaps, [(91, 101)]);
    assert!(events
        .iter()
        .any(|e| matches!(e, WalEvent::Dropped(d) if d.reason == DropReason::Unsealed)));
    assert!(events.iter().any(|e| matches!(e, WalEvent::Dropped(d)
        if matches!(d.reason, DropReason::SizeMismatch { .. }) && d.file == 2)));
}

// Rotation: every file holds whole batches only, the sequence is one.
#[test]
fn rotation_never_splits_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WalOptions::new().max_file_size(40_000);
    let mut wal = Wal::open(dir.path(), opts.clone()).unwrap();
    let mut sizes = Vec::new();
    for i in 0..200u64 {
        let len = [10, 3000, 20_000, 33_000, 90_000][(i % 5) as usize] + i as usize;
        let mut b = Batch::new();
        b.put(&vec![i as u8; len]).unwrap();
        assert_eq!(wal.append(&b).unwrap(), i + 1);
        sizes.push(len);
        if i.is_multiple_of(7) {
            wal.sync().unwrap();
        }
    }
    wal.close().unwrap();
    let files = dir::list(dir.path()).unwrap();
    assert!(files.len() > 50, "{}", files.len());
    // Each file alone is a clean log of whole batches (absolute mode: no
    // fragment left open at its end), and at most one batch overflows it.
    let mut all = Vec::new();
    for n in &files {
        let bytes = fs::read(dir::path_of(dir.path(), *n)).unwrap();
        let mut r = ReaderOptions::new()
            .mode(RecoveryMode::Absolute)
            .build(&bytes[..]);
        let mut in_file = 0;
        while let Some(rec) = r.next_record().unwrap() {
            let h = blocklog::wal::batch::check(&rec.payload, rec.offset).unwrap();
            all.push((h.seq, rec.payload.len()));
            in_file += 1;
        }
        assert!(
            bytes.len() as u64 <= 40_000 || in_file == 1,
            "file {n}: {} bytes, {in_file} batches",
            bytes.len()
        );
    }
    let seqs: Vec<_> = all.iter().map(|a| a.0).collect();
    assert_eq!(seqs, range(1, 200));
    assert!(all.iter().all(|a| a.1 > 12));
    let lens: Vec<_> = batches(&read_all(dir.path(), RecoveryMode::Absolute).0)
        .iter()
        .map(|b| b.entries().unwrap()[0].len())
        .collect();
    assert_eq!(lens, sizes);
    let (events, err) = read_all(dir.path(), RecoveryMode::Absolute);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(batches(&events).len(), 200);
}

// LOCK: a second open of the directory fails at once.
#[test]
fn second_process_fails_fast_on_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
    // In-process: File::try_lock is flock(2) on Linux, held per open file
    // description, so a second open of LOCK conflicts like another process.
    match Wal::open(dir.path(), WalOptions::new()) {
        Err(Error::Locked { path }) => assert_eq!(path, dir.path().join("LOCK")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        dir::list(dir.path()).unwrap(),
        [1],
        "the refused open changed nothing"
    );
    drop(wal);
    let wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
    assert_eq!(wal.file_number(), 2);
}

// Poisoning: after a failed fsync or write every call fails with the same
// error, nothing more reaches the file, and reopening keeps every batch
// synced before the failure.
#[test]
fn poisoned_after_write_error() {
    let faults = [
        // Sync calls on file 1: 0 is its creation, 1 the first sync() below.
        Fault {
            call: Call::Sync,
            nth: 2,
            errno: Errno::Eio,
            short_first: false,
        },
        // Write calls (buffer 0): 0 the predecessor, 1 batch 1, 2 the synced
        // marker, 3 batch 2: half of it is written, then ENOSPC.
        Fault {
            call: Call::Write,
            nth: 3,
            errno: Errno::Enospc,
            short_first: true,
        },
    ];
    for fault in faults {
        let dir = tempfile::tempdir().unwrap();
        let opts = WalOptions::new()
            .buffer_size(0)
            .wrap_files(move |n, f| Box::new(Faulty::new(f, (n == 1).then_some(fault))));
        let mut wal = Wal::open(dir.path(), opts).unwrap();
        wal.append(&one(1)).unwrap();
        wal.sync().unwrap(); // acknowledged
        let failed = wal.append(&one(2)).and_then(|_| wal.sync()).unwrap_err();
        assert!(matches!(failed, Error::Io { .. }), "{failed:?}");
        let len = fs::metadata(dir::path_of(dir.path(), 1)).unwrap().len();
        for _ in 0..3 {
            assert_eq!(
                wal.append(&one(3)).unwrap_err().to_string(),
                failed.to_string()
            );
            assert_eq!(wal.sync().unwrap_err().to_string(), failed.to_string());
        }
        assert!(wal.poisoned().is_some());
        assert_eq!(wal.close().unwrap_err().to_string(), failed.to_string());
        assert_eq!(
            fs::metadata(dir::path_of(dir.path(), 1)).unwrap().len(),
            len,
            "{fault:?}"
        );
        // Reopening: batch 1 is back; batch 2 is what the disk kept (unknown
        // to the writer, whole or not at all); a new file follows.
        let mut seqs = Vec::new();
        let wal = Wal::open_with(dir.path(), WalOptions::new(), |b| seqs.push(b.seq)).unwrap();
        assert!(seqs == [1] || seqs == [1, 2], "{fault:?}: {seqs:?}");
        assert_eq!(wal.file_number(), 2);
        assert_eq!(wal.next_seq(), seqs.len() as u64 + 1);
    }
}

// Reopen: a new file each time; every synced batch comes back, unsynced
// ones are gone or whole; the old file is sealed.
#[test]
fn reopen_starts_a_new_file_and_keeps_every_synced_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
    for seq in 1..=20 {
        wal.append(&one(seq)).unwrap();
    }
    wal.sync().unwrap();
    for seq in 21..=25 {
        wal.append(&one(seq)).unwrap(); // staged, never synced
    }
    drop(wal); // crash
    let mut got = Vec::new();
    let mut wal = Wal::open_with(dir.path(), WalOptions::new(), |b| got.push(b.seq)).unwrap();
    assert_eq!(got, range(1, 20));
    assert_eq!(wal.file_number(), 2);
    assert!(wal.recovery().files[0].predecessor.is_some());
    for seq in 21..=30 {
        assert_eq!(wal.append(&one(seq)).unwrap(), seq);
    }
    wal.sync().unwrap();
    drop(wal);
    let mut got = Vec::new();
    let wal = Wal::open_with(dir.path(), WalOptions::new(), |b| got.push(b.seq)).unwrap();
    assert_eq!(got, range(1, 30));
    assert_eq!(wal.file_number(), 3);
    drop(wal);
    // Every file but the newest is sealed; the directory reads clean even in
    // absolute mode (the newest file: its predecessor only).
    let (events, err) = read_all(dir.path(), RecoveryMode::Absolute);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(seqs(&events), range(1, 30));
    let mut reader = WalReader::open(dir.path(), &WalOptions::new()).unwrap();
    while reader.next_event().unwrap().is_some() {}
    let sealed: Vec<_> = reader.report().files.iter().map(|f| f.sealed).collect();
    assert_eq!(sealed, [true, true, false]);
}

// W8: a crash while creating a file (lost directory entry, empty file,
// torn predecessor record) leaves a WAL that opens with every batch.
#[test]
fn crash_during_file_creation_leaves_a_wal_that_opens() {
    for crash in ["entry lost", "empty", "torn predecessor"] {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
        for seq in 1..=5 {
            wal.append(&one(seq)).unwrap();
        }
        wal.close().unwrap();
        drop(Wal::open(dir.path(), WalOptions::new()).unwrap()); // creates file 2
        match crash {
            "entry lost" => fs::remove_file(dir::path_of(dir.path(), 2)).unwrap(),
            "empty" => truncate(dir.path(), 2, 0),
            _ => truncate(dir.path(), 2, 20),
        }
        let mut got = Vec::new();
        let mut wal = Wal::open_with(dir.path(), WalOptions::new(), |b| got.push(b.seq)).unwrap();
        assert_eq!(got, range(1, 5), "{crash}");
        assert_eq!(wal.append(&one(6)).unwrap(), 6, "{crash}");
        wal.close().unwrap();
        let (events, err) = read_all(dir.path(), RecoveryMode::Absolute);
        assert!(err.is_none(), "{crash}: {err:?}");
        assert_eq!(seqs(&events), range(1, 6), "{crash}");
    }
}

// The plain single-file reader over one WAL file sees the markers as
// metadata and the batches as records (what older tools see).
#[test]
fn a_wal_file_is_a_plain_log_to_the_single_file_reader() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
    wal.append(&one(1)).unwrap();
    wal.sync().unwrap();
    wal.close().unwrap();
    let bytes = fs::read(dir::path_of(dir.path(), 1)).unwrap();
    let mut r = Reader::new(&bytes[..]);
    let mut types = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        match ev {
            blocklog::Event::Record(_) => types.push(1),
            blocklog::Event::Benign(b) => match b.kind {
                blocklog::BenignKind::Metadata(t) => types.push(t),
                k => panic!("{k:?}"),
            },
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(types, [0xF1, 1, 0xF2, 0xF3]);
    assert_eq!(r.summary().outcome().as_str(), "clean");
}
