//! `TailReader` following a real file while a writer appends to it (issue
//! 10): every record exactly once, in order, none dropped, whatever the
//! writer's write sizes (1-byte writes included); a torn record at the end
//! is "not yet" while following and tail damage after `finish()`; bit rot
//! before the end is reported while following.
//!
//! Nothing here relies on timing to pass: the follower sleeps 1 ms between
//! empty polls, and a generous deadline only guards against a hang.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blocklog::{Error, Event, Outcome, Position, ReaderOptions, RecoveryMode, Writer};

/// Hang guard only: a test that passes never comes near it.
const DEADLINE: Duration = Duration::from_secs(300);

/// Record `i`'s payload: its length varies (empty, small, several blocks).
fn payload(i: usize) -> Vec<u8> {
    let len = match i % 7 {
        0 => 0,
        1 => 1,
        2 => 100 + i,
        3 => 70_000 + i, // three blocks
        4 => 32 * 1024 - 7 - (i % 9),
        5 => 5000,
        _ => 2 * 32 * 1024 + 11, // spans three blocks
    };
    (0..len).map(|j| (i * 131 + j * 7) as u8).collect()
}

/// Writes through to a file in pieces: 1-byte writes at times, flushed.
struct Split {
    file: File,
    n: u64,
}

impl Write for Split {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.n = self
            .n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let piece = match (self.n >> 33) % 4 {
            0 => 1,
            1 => 1 + ((self.n >> 40) % 64) as usize,
            2 => 1 + ((self.n >> 40) % 5000) as usize,
            _ => buf.len(),
        };
        let n = self.file.write(&buf[..piece.min(buf.len())])?;
        self.file.flush()?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn poll_until_none(tail: &mut blocklog::TailReader<File>) -> Result<Vec<Event>, Error> {
    let mut out = vec![];
    while let Some(e) = tail.poll_event()? {
        out.push(e);
    }
    Ok(out)
}

#[test]
fn a_follower_gets_every_record_once_in_order_while_a_writer_appends() {
    const N: usize = 120;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000007.log");
    File::create(&path).unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let writer = {
        let path = path.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let file = OpenOptions::new().append(true).open(&path).unwrap();
            let mut w = Writer::new(Split { file, n: 42 });
            for i in 0..N {
                w.add_record(&payload(i)).unwrap();
                w.flush().unwrap();
                if i % 10 == 0 {
                    std::thread::yield_now();
                }
            }
            done.store(true, Ordering::SeqCst);
        })
    };

    let follower = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut tail = ReaderOptions::new()
                .mode(RecoveryMode::TolerateTail)
                .build_tail(File::open(&path).unwrap())
                .unwrap();
            let start = Instant::now();
            let mut got: Vec<(u64, Vec<u8>)> = vec![];
            let mut empty_polls = 0u64;
            loop {
                assert!(start.elapsed() < DEADLINE, "hang: {} records", got.len());
                // Read the flag before polling: once it is set, the file is complete.
                let writer_done = done.load(Ordering::SeqCst);
                match tail.poll_event().expect("no error while following") {
                    Some(Event::Record(r)) => got.push((r.offset, r.payload.to_vec())),
                    Some(Event::Dropped(d)) => panic!("dropped while following: {d}"),
                    Some(_) => {}
                    None if writer_done => break,
                    None => {
                        empty_polls += 1;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
            tail.finish();
            for e in poll_until_none(&mut tail).expect("clean end") {
                match e {
                    Event::Record(r) => got.push((r.offset, r.payload.to_vec())),
                    other => panic!("after finish: {other:?}"),
                }
            }
            (got, tail.summary().clone(), empty_polls)
        })
    };

    writer.join().unwrap();
    let (got, summary, _empty_polls) = follower.join().unwrap();
    assert_eq!(got.len(), N, "every record exactly once");
    for (i, (_, p)) in got.iter().enumerate() {
        assert_eq!(*p, payload(i), "record {i} in order");
    }
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "offsets increase");
    assert_eq!(summary.outcome(), Outcome::Clean);
    assert_eq!(summary.records, N as u64);
    // The same file read at once gives the same records.
    let log = std::fs::read(&path).unwrap();
    let mut r = ReaderOptions::new().build(&log[..]);
    let whole: Vec<(u64, Vec<u8>)> = r
        .records()
        .map(|r| r.map(|r| (r.offset, r.payload.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(whole, got);
}

/// A log whose last record (spanning blocks) is cut: the writer crashed.
fn torn_log() -> (Vec<u8>, usize) {
    let mut w = Writer::new(Vec::new());
    for i in 0..10 {
        w.add_record(&payload(i)).unwrap();
    }
    w.add_record(&vec![b'x'; 80_000]).unwrap();
    let mut log = w.into_inner().unwrap();
    log.truncate(log.len() - 30_000);
    (log, 10)
}

#[test]
fn a_torn_record_at_the_end_is_not_yet_while_following_and_tail_damage_after_finish() {
    let (log, n) = torn_log();
    for mode in RecoveryMode::ALL {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000001.log");
        std::fs::write(&path, &log).unwrap();
        let mut tail = ReaderOptions::new()
            .mode(mode)
            .build_tail(File::open(&path).unwrap())
            .unwrap();
        let events = poll_until_none(&mut tail).unwrap();
        assert_eq!(events.len(), n, "{mode}: the whole records, nothing else");
        assert!(events.iter().all(|e| matches!(e, Event::Record(_))));
        // Polled again (the writer may still be writing): still nothing.
        for _ in 0..3 {
            assert!(tail.poll_event().unwrap().is_none(), "{mode}");
        }
        assert_eq!(tail.summary().damaged_regions, 0, "{mode}: undecided");
        assert_eq!(tail.summary().outcome(), Outcome::Clean);
        tail.finish();
        let after = poll_until_none(&mut tail);
        match mode {
            RecoveryMode::Absolute => {
                let e = after.expect_err("absolute refuses a torn tail");
                assert_eq!(e.damage().map(|d| d.position), Some(Position::Tail));
            }
            _ => {
                let after = after.unwrap();
                assert_eq!(after.len(), 1, "{mode}: {after:?}");
                let Event::Dropped(d) = &after[0] else {
                    panic!("{mode}: {after:?}")
                };
                assert_eq!(d.position, Position::Tail, "{mode}");
                assert_eq!(d.range.end, log.len() as u64);
                assert_eq!(tail.summary().outcome(), Outcome::TailDropped, "{mode}");
            }
        }
    }
}

#[test]
fn bit_rot_before_the_end_is_reported_while_following() {
    for mode in [RecoveryMode::TolerateTail, RecoveryMode::SkipCorrupt] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000001.log");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let mut w = Writer::new(file);
        let mut offsets = vec![];
        for i in 0..40u8 {
            offsets.push(w.add_record(&[i; 1000]).unwrap());
        }
        w.flush().unwrap();
        // Bit rot in record 3 (first block), after it was written.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[offsets[3] as usize + 7 + 500] ^= 0x04;
        std::fs::write(&path, &bytes).unwrap();
        let mut tail = ReaderOptions::new()
            .mode(mode)
            .build_tail(File::open(&path).unwrap())
            .unwrap();
        // Appending more continues the log (a fresh writer at the end of the
        // file writes at its offset: `WriterOptions::append_at`).
        let mut w = blocklog::WriterOptions::new()
            .append_at(bytes.len() as u64)
            .build(OpenOptions::new().append(true).open(&path).unwrap());
        for i in 40..50u8 {
            w.add_record(&[i; 1000]).unwrap();
        }
        w.flush().unwrap();
        let mut records = vec![];
        let mut dropped = vec![];
        let mut error = None;
        loop {
            match tail.poll_event() {
                Ok(Some(Event::Record(r))) => records.push(r.payload[0]),
                Ok(Some(Event::Dropped(d))) => dropped.push(d),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        // All of this while following (finish() was never called).
        match mode {
            RecoveryMode::TolerateTail => {
                assert_eq!(records, [0, 1, 2]);
                let e = error.expect("tolerate-tail refuses interior damage while following");
                let d = e.damage().expect("a corruption");
                assert_eq!(d.position, Position::Interior);
                assert_eq!(d.range.start, offsets[3]);
                // Sticky.
                assert!(tail.poll_event().is_err());
            }
            _ => {
                assert!(error.is_none(), "{error:?}");
                // The rest of the first block, then the fragments of a
                // record begun in it: interior regions, starting at record 3.
                assert!(!dropped.is_empty());
                assert!(dropped.iter().all(|d| d.position == Position::Interior));
                assert_eq!(dropped[0].range.start, offsets[3], "{dropped:?}");
                // Block resync: the rest of the first block is lost, the
                // records after it (and the appended ones) come back.
                assert_eq!(&records[..3], [0, 1, 2]);
                assert_eq!(records.last(), Some(&49));
                assert!(records.windows(2).all(|w| w[0] < w[1]));
                tail.finish();
                assert!(poll_until_none(&mut tail).unwrap().is_empty());
                assert_eq!(tail.summary().outcome(), Outcome::Skipped);
            }
        }
    }
}

const BLOCK: usize = 32 * 1024;

/// A log that becomes visible a few bytes at a time, counting what is read.
struct Growing {
    log: Vec<u8>,
    visible: usize,
    pos: u64,
    read: u64,
}

impl io::Read for Growing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let at = (self.pos as usize).min(self.visible);
        let n = buf.len().min(self.visible - at);
        buf[..n].copy_from_slice(&self.log[at..at + n]);
        self.pos += n as u64;
        self.read += n as u64;
        Ok(n)
    }
}

impl io::Seek for Growing {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        match to {
            io::SeekFrom::Start(p) => self.pos = p,
            _ => unreachable!("the tail reader seeks from the start"),
        }
        Ok(self.pos)
    }
}

/// R16, the work bound: undecided damage at the current end is kept, not
/// parsed again on every poll. A multi-block record whose last fragment is
/// damaged makes the damage start 100 KB back, and 20 blocks of garbage
/// follow it (within `max_torn_tail`, so it stays undecided until the end).
/// The log grows a block at a time, as behind a writer that flushes whole
/// blocks, so every poll ends at a block boundary with the damage
/// undecided. The bytes read must stay within the log's length plus a
/// block a poll; a decoder that goes back to the damage's start reads the
/// record and the garbage so far again on each poll (quadratic).
#[test]
fn undecided_damage_while_following_is_not_read_again_each_poll() {
    let mut w = Writer::new(Vec::new());
    w.add_record(b"before").unwrap();
    w.add_record(&vec![9u8; 100_000]).unwrap();
    let mut log = w.into_inner().unwrap();
    let last = log.len() - 10;
    log[last] ^= 0x55; // the LAST fragment's checksum fails
    log.extend((0..20 * 32 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1));
    let len = log.len();
    let mut tail = ReaderOptions::new()
        .mode(RecoveryMode::SkipCorrupt)
        .build_tail(Growing {
            log,
            visible: 0,
            pos: 0,
            read: 0,
        })
        .unwrap();
    let mut polls = 0u64;
    let mut records = 0;
    loop {
        while let Some(e) = tail.poll_event().unwrap() {
            if let Event::Record(_) = e {
                records += 1;
            }
        }
        let src = tail.get_mut();
        if src.visible == len {
            break;
        }
        src.visible = ((src.visible / BLOCK + 1) * BLOCK).min(len);
        polls += 1;
    }
    tail.finish();
    let mut dropped = vec![];
    while let Some(e) = tail.poll_event().unwrap() {
        if let Event::Dropped(d) = e {
            dropped.push(d);
        }
    }
    assert_eq!(records, 1, "only the first record is intact");
    assert_eq!(dropped.len(), 1, "one damaged region: {dropped:?}");
    let read = tail.get_mut().read;
    let bound = len as u64 + polls * BLOCK as u64;
    assert!(
        read <= bound,
        "read {read} bytes over {polls} polls of a {len}-byte log (bound {bound})"
    );
}
