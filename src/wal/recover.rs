//! Recovery across files: [`WalReader`] reads every file of a WAL directory
//! in numeric order as one sequence of batches and applies the WAL's
//! recovery table (`docs/wal.md`, rows W1 to W12) on top of the
//! single-file table (`docs/recovery.md`). [`WalReadOptions`] also lets it
//! read a directory another writer made (RocksDB's WAL files): the
//! [`Flavour::Foreign`] reading of `docs/wal.md`, "Reading another
//! writer's directory".

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

use crate::decode::{Decoder, End, Input, Step};
use crate::error::{Error, Result};
use crate::format::BLOCK_SIZE;
use crate::options::{LogFormat, ReaderOptions};
use crate::policy::{RecoveryMode, Resync};
use crate::reader::{read_block, read_full};
use crate::report::{BenignKind, Event, Outcome, Position, Reason};
use crate::wal::batch;
use crate::wal::dir;
use crate::wal::marker::Marker;
use crate::wal::WalOptions;

/// A batch read back from the WAL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalBatch {
    /// The file's number.
    pub file: u64,
    /// Offset of the batch's record in its file.
    pub offset: u64,
    /// Offset just after the record.
    pub end: u64,
    /// Sequence number of the first entry.
    pub seq: u64,
    /// Number of entries: they take `seq .. seq + count`.
    pub count: u32,
    /// The record's payload: the 12-byte header and the entries.
    pub payload: Bytes,
}

impl WalBatch {
    /// The entries, as slices of the payload.
    pub fn entries(&self) -> Result<Vec<Bytes>> {
        batch::entries(&self.payload, self.offset)
    }

    /// The sequence number of the last entry (`seq - 1` for a foreign
    /// batch of no entry, which takes no sequence number).
    pub fn last_seq(&self) -> u64 {
        (self.seq + u64::from(self.count)).saturating_sub(1)
    }
}

/// Why bytes of a WAL file were dropped (or found missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Damage the file's decoder found (see `docs/recovery.md`).
    Damage {
        /// Its reason.
        reason: Reason,
        /// Tail or interior (in a non-last file, always interior: R15).
        position: Position,
    },
    /// A checksummed record that is not a well-formed batch (W7).
    MalformedBatch(&'static str),
    /// A WAL marker too short for its layout, or whose fields contradict
    /// what was read (W7).
    MalformedMarker(&'static str),
    /// A WAL marker naming another file than the one it is in (W7).
    ForeignMarker {
        /// The file number it names.
        names: u64,
    },
    /// A batch whose sequence number is below the next one expected (W4).
    SequenceRegression {
        /// The sequence number expected.
        expected: u64,
        /// The batch's sequence number.
        found: u64,
    },
    /// A non-last file that does not end with its seal (W6).
    Unsealed,
    /// A non-last file whose size differs from what its successor's
    /// predecessor record says (W6): the range is between the two sizes.
    SizeMismatch {
        /// The size the successor recorded.
        expected: u64,
    },
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Damage { reason, position } => write!(f, "{position} {reason} damage"),
            DropReason::MalformedBatch(w) => write!(f, "malformed batch ({w})"),
            DropReason::MalformedMarker(w) => write!(f, "malformed marker ({w})"),
            DropReason::ForeignMarker { names } => write!(f, "marker of file {names}"),
            DropReason::SequenceRegression { expected, found } => {
                write!(f, "batch of sequence {found} below the expected {expected}")
            }
            DropReason::Unsealed => f.write_str("non-last file without its seal"),
            DropReason::SizeMismatch { expected } => {
                write!(
                    f,
                    "file size differs from the {expected} bytes its successor recorded"
                )
            }
        }
    }
}

impl DropReason {
    /// The kebab-case name used by the CLI and the docs: the damage's
    /// reason (`checksum-mismatch`, ...), or `malformed-batch`,
    /// `malformed-marker`, `foreign-marker`, `sequence-regression`,
    /// `unsealed`, `size-mismatch`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DropReason::Damage { reason, .. } => reason.as_str(),
            DropReason::MalformedBatch(_) => "malformed-batch",
            DropReason::MalformedMarker(_) => "malformed-marker",
            DropReason::ForeignMarker { .. } => "foreign-marker",
            DropReason::SequenceRegression { .. } => "sequence-regression",
            DropReason::Unsealed => "unsealed",
            DropReason::SizeMismatch { .. } => "size-mismatch",
        }
    }

    /// Whether this is tail damage: a torn write with nothing valid after
    /// it, in the newest file (everything else is interior).
    pub fn is_tail(&self) -> bool {
        matches!(
            self,
            DropReason::Damage {
                position: Position::Tail,
                ..
            }
        )
    }
}

/// A byte range of a WAL file dropped (or found missing), and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dropped {
    /// The file's number.
    pub file: u64,
    /// File offsets `[start, end)`.
    pub range: Range<u64>,
    /// Why.
    pub reason: DropReason,
}

impl Dropped {
    /// Bytes in the range.
    pub fn len(&self) -> u64 {
        self.range.end - self.range.start
    }

    /// Whether the range is empty (an unsealed file that ends cleanly).
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in file {} at bytes [{}, {})",
            self.reason, self.file, self.range.start, self.range.end
        )
    }
}

/// What revealed a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GapCause {
    /// A batch's sequence number is above the next one expected.
    Sequence,
    /// Files are missing from the numbering (W5); the sequence numbers
    /// they held are reported by the next gap, when known.
    MissingFiles {
        /// The first missing number.
        first: u64,
        /// The last missing number.
        last: u64,
    },
    /// A predecessor, synced or seal marker names a later last sequence
    /// than the batches read (W9): synced batches are missing.
    Marker,
}

/// Sequence numbers missing from the WAL: `[expected_seq, found_seq)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gap {
    /// The file where the gap was found.
    pub file: u64,
    /// Offset in that file of what revealed it.
    pub offset: u64,
    /// The sequence number expected next.
    pub expected_seq: u64,
    /// The sequence number found (equal to `expected_seq` when files are
    /// missing but what they held is not known yet).
    pub found_seq: u64,
    /// What revealed it.
    pub cause: GapCause,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause {
            GapCause::MissingFiles { first, last } => write!(
                f,
                "files {first} to {last} missing before file {}",
                self.file
            ),
            _ => write!(
                f,
                "sequence numbers {}..{} missing (file {} offset {})",
                self.expected_seq, self.found_seq, self.file, self.offset
            ),
        }
    }
}

/// Something the WAL's recovery table rules on: dropped bytes or a gap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Problem {
    /// Bytes dropped.
    Dropped(Dropped),
    /// Sequence numbers (or files) missing.
    Gap(Gap),
}

impl Problem {
    /// The file concerned.
    pub fn file(&self) -> u64 {
        match self {
            Problem::Dropped(d) => d.file,
            Problem::Gap(g) => g.file,
        }
    }

    /// The offset in that file.
    pub fn offset(&self) -> u64 {
        match self {
            Problem::Dropped(d) => d.range.start,
            Problem::Gap(g) => g.offset,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Dropped(d) => d.fmt(f),
            Problem::Gap(g) => g.fmt(f),
        }
    }
}

/// One item of a WAL read, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalEvent {
    /// A batch, in sequence order.
    Batch(WalBatch),
    /// Bytes dropped: tail damage of the newest file in any mode but
    /// absolute, anything skip-corrupt drops, or the damage point-in-time
    /// recovery stops at (reported just before [`WalEvent::Stopped`]).
    Dropped(Dropped),
    /// Missing sequence numbers or files (skip-corrupt).
    Gap(Gap),
    /// Point-in-time recovery stopped here: nothing after it, in this file
    /// or any later one, is returned.
    Stopped(Problem),
}

/// What recovery found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileReport {
    /// The file's number.
    pub number: u64,
    /// Its size when read.
    pub size: u64,
    /// Batches returned.
    pub batches: u64,
    /// Sequence number of the first entry returned.
    pub first_seq: Option<u64>,
    /// Sequence number of the last entry returned.
    pub last_seq: Option<u64>,
    /// Bytes dropped, summed over `dropped`.
    pub dropped_bytes: u64,
    /// Every dropped range, with its reason.
    pub dropped: Vec<Dropped>,
    /// Every gap found in this file.
    pub gaps: Vec<Gap>,
    /// The predecessor record, if intact.
    pub predecessor: Option<Marker>,
    /// The file ends with its seal (closed by rotation or `close`).
    pub sealed: bool,
    /// Intact units read (batches and markers).
    pub units: u64,
    /// End of what the mode kept (see [`Summary::kept_end`](crate::Summary::kept_end)).
    pub kept_end: u64,
    /// The file was written with recyclable headers (log number = file
    /// number), as a WAL that recycles its files writes them.
    pub recyclable: bool,
}

/// What recovery found in the whole directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// The mode used.
    pub mode: RecoveryMode,
    /// One report per file read, in order.
    pub files: Vec<FileReport>,
    /// The sequence number after the last batch (or marker) read; `None`
    /// when the directory holds nothing.
    pub next_seq: Option<u64>,
    /// Where point-in-time recovery stopped.
    pub stopped: Option<Problem>,
    /// The newest purge marker read: [`Wal::open`](crate::wal::Wal::open)
    /// finishes that purge (deletes the files before `file` entirely at or
    /// below `checkpoint` that are still there).
    pub purge: Option<Purged>,
}

/// A purge marker read back: the file it is in and its checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Purged {
    /// The file holding the marker (the file current when the purge ran).
    pub file: u64,
    /// Every file before `file` whose sequences are all at or below this is purged.
    pub checkpoint: u64,
}

impl Recovery {
    /// The outcome of a read that ended without an error, in the words of
    /// one file's ([`Summary::outcome`](crate::Summary::outcome)):
    /// [`Stopped`](Outcome::Stopped) when point-in-time recovery stopped
    /// (at damage or at a gap), [`Skipped`](Outcome::Skipped) when
    /// skip-corrupt recovery dropped anything but tail damage or found a
    /// gap, [`TailDropped`](Outcome::TailDropped) when only tail damage was
    /// dropped, else [`Clean`](Outcome::Clean). A read that ended with an
    /// error (the mode refused, or I/O) is [`Outcome::Error`]: the report
    /// does not know that, its reader does.
    pub fn outcome(&self) -> Outcome {
        if self.stopped.is_some() {
            Outcome::Stopped
        } else if self.gaps().next().is_some() || self.dropped().any(|d| !d.reason.is_tail()) {
            Outcome::Skipped
        } else if self.dropped().next().is_some() {
            Outcome::TailDropped
        } else {
            Outcome::Clean
        }
    }

    /// Batches returned, over every file.
    pub fn batches(&self) -> u64 {
        self.files.iter().map(|f| f.batches).sum()
    }

    /// Every gap, in order.
    pub fn gaps(&self) -> impl Iterator<Item = &Gap> {
        self.files.iter().flat_map(|f| f.gaps.iter())
    }

    /// Every dropped range, in order.
    pub fn dropped(&self) -> impl Iterator<Item = &Dropped> {
        self.files.iter().flat_map(|f| f.dropped.iter())
    }
}

/// What a [`WalReader`] may require of a directory's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Flavour {
    /// Written by [`Wal`](crate::wal::Wal): every file starts with its
    /// predecessor record and every non-last file ends with its seal,
    /// numbers are consecutive, every record is a well-formed batch
    /// ([`batch::check`]), and the markers' claims are checked (W1-W12).
    #[default]
    Blocklog,
    /// Written by another writer in the same block format whose records
    /// each start with the 12-byte batch header (RocksDB's WAL files, whose
    /// WriteBatches carry it). Only the header is read
    /// ([`batch::header`]: the entries are not ours, a count of 0 is
    /// accepted), sequence numbers must still follow on across records and
    /// files, and the decoder's table applies to each file (damage at a
    /// non-last file's end is interior). Nothing else is required: no
    /// marker is interpreted (metadata records are benign), no seal is
    /// looked for, and file numbers need not be consecutive (RocksDB's
    /// share their counter with its other files), so a missing file is
    /// seen only through the sequence numbers it held.
    Foreign,
    /// [`Blocklog`](Flavour::Blocklog) when any file of the directory
    /// starts with an intact predecessor record naming that file, else
    /// [`Foreign`](Flavour::Foreign); decided when the reader is opened
    /// ([`WalReader::flavour`] says which).
    Detect,
}

impl Flavour {
    /// Kebab-case name: `blocklog`, `foreign`, `detect`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Blocklog => "blocklog",
            Flavour::Foreign => "foreign",
            Flavour::Detect => "detect",
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Flavour {
    type Err = Error;

    fn from_str(s: &str) -> Result<Flavour> {
        [Flavour::Blocklog, Flavour::Foreign, Flavour::Detect]
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(Error::InvalidInput {
                offset: 0,
                what: "a WAL flavour is blocklog, foreign or detect",
            })
    }
}

/// How a [`WalReader`] reads, beyond the [`WalOptions`] it shares with
/// [`Wal::open`](crate::wal::Wal::open) (which reads with the defaults):
/// the directory's [`Flavour`] (default [`Flavour::Blocklog`]), and each
/// file's resync strategy and header format (defaults
/// [`Resync::Block`], [`LogFormat::Detect`]; see [`ReaderOptions`]).
///
/// ```
/// use blocklog::wal::{Flavour, WalOptions, WalReadOptions, WalReader};
/// use blocklog::Resync;
///
/// let dir = tempfile::tempdir()?;
/// let read = WalReadOptions::new().flavour(Flavour::Detect).resync(Resync::Scan);
/// let reader = WalReader::open_with(dir.path(), &WalOptions::new(), read)?;
/// assert_eq!(reader.flavour(), Flavour::Blocklog); // an empty directory
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalReadOptions {
    flavour: Flavour,
    resync: Resync,
    format: LogFormat,
}

impl WalReadOptions {
    /// The defaults: blocklog's files, block resync, format detected.
    pub fn new() -> WalReadOptions {
        WalReadOptions::default()
    }

    /// What the files must be.
    pub fn flavour(mut self, flavour: Flavour) -> WalReadOptions {
        self.flavour = flavour;
        self
    }

    /// Where each file's reading resumes after damage that breaks framing.
    pub fn resync(mut self, resync: Resync) -> WalReadOptions {
        self.resync = resync;
        self
    }

    /// Each file's header format.
    pub fn format(mut self, format: LogFormat) -> WalReadOptions {
        self.format = format;
        self
    }
}

/// The file being read.
#[derive(Debug)]
struct Current {
    number: u64,
    file: File,
    decoder: Decoder,
    is_last: bool,
}

#[derive(Debug)]
enum State {
    Reading,
    Done,
    Failed(Error),
}

/// Reads a WAL directory as one sequence of batches, file after file,
/// checking predecessor records, seals, synced markers and the continuity
/// of sequence numbers (a batch's sequence must be the previous batch's
/// plus its count), and ruling on every problem with the mode
/// (`docs/wal.md`, the recovery table). Read-only: it takes no lock and
/// changes nothing ([`Wal::open`](crate::wal::Wal::open) does both).
#[derive(Debug)]
pub struct WalReader {
    dir: PathBuf,
    mode: RecoveryMode,
    max_record_size: usize,
    /// Resolved: never `Detect`.
    flavour: Flavour,
    resync: Resync,
    format: LogFormat,
    numbers: Vec<u64>,
    next: usize,
    current: Option<Current>,
    queue: VecDeque<WalEvent>,
    state: State,
    expected: Option<u64>,
    report: Recovery,
}

impl WalReader {
    /// A reader over the files of `dir`, listed now, written by
    /// [`Wal`](crate::wal::Wal) ([`Flavour::Blocklog`]).
    pub fn open(dir: impl AsRef<Path>, opts: &WalOptions) -> Result<WalReader> {
        WalReader::open_with(dir, opts, WalReadOptions::new())
    }

    /// A reader over the files of `dir`, listed now, read as `read` says
    /// (a [`Flavour::Detect`] is decided now, from the files' first
    /// records).
    pub fn open_with(
        dir: impl AsRef<Path>,
        opts: &WalOptions,
        read: WalReadOptions,
    ) -> Result<WalReader> {
        let dir = dir.as_ref().to_path_buf();
        let numbers = dir::list(&dir)?;
        let flavour = match read.flavour {
            Flavour::Detect => detect(&dir, &numbers)?,
            f => f,
        };
        Ok(WalReader {
            dir,
            mode: opts.mode,
            max_record_size: opts.max_record_size,
            flavour,
            resync: read.resync,
            format: read.format,
            numbers,
            next: 0,
            current: None,
            queue: VecDeque::new(),
            state: State::Reading,
            expected: None,
            report: Recovery {
                mode: opts.mode,
                ..Recovery::default()
            },
        })
    }

    /// The next event; `Ok(None)` at the end (or after a point-in-time
    /// stop). An error (the mode refuses a problem, or I/O) is sticky.
    pub fn next_event(&mut self) -> Result<Option<WalEvent>> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(Some(ev));
            }
            match &self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Done => return Ok(None),
                State::Reading => {}
            }
            if self.current.is_none() {
                if self.next == self.numbers.len() {
                    self.report.next_seq = self.expected;
                    self.state = State::Done;
                    continue;
                }
                self.open_next()?;
                continue;
            }
            let cur = self.current.as_mut().expect("a file is open");
            let step = match cur.decoder.step() {
                Ok(step) => step,
                Err(e) => {
                    let number = cur.number;
                    return Err(self.fail(match e {
                        Error::Corruption { mode, damage } => Error::Wal {
                            mode,
                            problem: Box::new(Problem::Dropped(Dropped {
                                file: number,
                                range: damage.range.clone(),
                                reason: DropReason::Damage {
                                    reason: damage.reason,
                                    position: damage.position,
                                },
                            })),
                        },
                        other => other,
                    }));
                }
            };
            match step {
                Step::NeedInput => self.feed(),
                Step::Event(ev) => self.on_event(ev)?,
                Step::NotYet | Step::Done => self.end_file()?,
            }
        }
    }

    /// The flavour the files are read as (never [`Flavour::Detect`]).
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The numbers of the WAL files of the directory, in the order they
    /// are read (all of them, however far the read goes).
    pub fn files(&self) -> &[u64] {
        &self.numbers
    }

    /// What the read found so far; complete once `next_event` returned
    /// `Ok(None)`.
    pub fn report(&self) -> &Recovery {
        &self.report
    }

    /// The report, consuming the reader.
    pub fn into_report(self) -> Recovery {
        self.report
    }

    fn fail(&mut self, e: Error) -> Error {
        self.state = State::Failed(e.clone());
        e
    }

    fn file_report(&mut self) -> &mut FileReport {
        self.report.files.last_mut().expect("a file is open")
    }

    fn number(&self) -> u64 {
        self.current.as_ref().map_or(0, |c| c.number)
    }

    /// Rules on a problem: skip-corrupt reports it and goes on (`true`),
    /// point-in-time stops (`false`), the others refuse.
    fn problem(&mut self, problem: Problem) -> Result<bool> {
        let idx = self
            .report
            .files
            .iter()
            .rposition(|f| f.number == problem.file());
        if let Some(report) = idx.map(|i| &mut self.report.files[i]) {
            match &problem {
                Problem::Dropped(d) => {
                    report.dropped_bytes += d.len();
                    report.dropped.push(d.clone());
                }
                Problem::Gap(g) => report.gaps.push(g.clone()),
            }
        }
        match self.mode {
            RecoveryMode::SkipCorrupt => {
                self.queue.push_back(match problem {
                    Problem::Dropped(d) => WalEvent::Dropped(d),
                    Problem::Gap(g) => WalEvent::Gap(g),
                });
                Ok(true)
            }
            RecoveryMode::PointInTime => {
                if let Problem::Dropped(d) = &problem {
                    self.queue.push_back(WalEvent::Dropped(d.clone()));
                }
                self.stop(problem);
                Ok(false)
            }
            mode => Err(self.fail(Error::Wal {
                mode,
                problem: Box::new(problem),
            })),
        }
    }

    fn stop(&mut self, problem: Problem) {
        self.queue.push_back(WalEvent::Stopped(problem.clone()));
        self.report.stopped = Some(problem);
        self.report.next_seq = self.expected;
        self.state = State::Done;
        self.current = None;
    }

    fn open_next(&mut self) -> Result<()> {
        let number = self.numbers[self.next];
        let is_last = self.next + 1 == self.numbers.len();
        let prev = self.next.checked_sub(1).map(|i| self.numbers[i]);
        self.next += 1;
        let path = dir::path_of(&self.dir, number);
        let file = File::open(&path).map_err(|e| self.fail(Error::io(0, e)))?;
        let size = file
            .metadata()
            .map_err(|e| self.fail(Error::io(0, e)))?
            .len();
        let mut opts = ReaderOptions::new()
            .mode(self.mode)
            .resync(self.resync)
            .format(self.format)
            .max_record_size(self.max_record_size);
        if let Ok(n) = u32::try_from(number) {
            // Compared only with recyclable headers (RocksDB's WALs).
            opts = opts.log_number(n);
        }
        self.report.files.push(FileReport {
            number,
            size,
            ..FileReport::default()
        });
        self.current = Some(Current {
            number,
            file,
            decoder: opts.decoder(),
            is_last,
        });
        let consecutive = self.flavour == Flavour::Blocklog;
        if let Some(prev) = prev.filter(|&p| consecutive && p + 1 != number) {
            let expected = self.expected.unwrap_or(0);
            self.problem(Problem::Gap(Gap {
                file: number,
                offset: 0,
                expected_seq: expected,
                found_seq: expected,
                cause: GapCause::MissingFiles {
                    first: prev + 1,
                    last: number - 1,
                },
            }))?;
        }
        Ok(())
    }

    /// Feeds the decoder the block it asks for.
    fn feed(&mut self) {
        let cur = self.current.as_mut().expect("a file is open");
        let at = cur.decoder.next_offset();
        let end = if cur.is_last {
            End::Final
        } else {
            End::NextFile
        };
        // The decoder's last block is reused when it is done with it (no
        // zeroed allocation per block).
        let read = cur
            .file
            .seek(SeekFrom::Start(at))
            .map_err(|e| Error::io(at, e))
            .and_then(|_| read_block(&mut cur.file, &mut cur.decoder, at, end));
        let input = match read {
            Ok(input) => input,
            Err(e) => {
                cur.decoder.fail_input(e);
                return;
            }
        };
        if let Err(e) = cur.decoder.feed(input) {
            cur.decoder.fail_input(e);
        }
    }

    fn on_event(&mut self, ev: Event) -> Result<()> {
        let file = self.number();
        match ev {
            Event::Record(r) => {
                self.file_report().units += 1;
                let parsed = match self.flavour {
                    Flavour::Foreign => batch::header(&r.payload, r.offset),
                    _ => batch::check(&r.payload, r.offset),
                };
                let header = match parsed {
                    Ok(h) => h,
                    Err(e) => {
                        let what = match e {
                            Error::MalformedBatch { what, .. } => what,
                            _ => "malformed",
                        };
                        self.problem(Problem::Dropped(Dropped {
                            file,
                            range: r.offset..r.end,
                            reason: DropReason::MalformedBatch(what),
                        }))?;
                        return Ok(());
                    }
                };
                if let Some(expected) = self.expected {
                    if header.seq > expected {
                        let go_on = self.problem(Problem::Gap(Gap {
                            file,
                            offset: r.offset,
                            expected_seq: expected,
                            found_seq: header.seq,
                            cause: GapCause::Sequence,
                        }))?;
                        if !go_on {
                            return Ok(());
                        }
                    } else if header.seq < expected {
                        self.problem(Problem::Dropped(Dropped {
                            file,
                            range: r.offset..r.end,
                            reason: DropReason::SequenceRegression {
                                expected,
                                found: header.seq,
                            },
                        }))?;
                        return Ok(());
                    }
                }
                // Checked not to overflow; a foreign batch of no entry
                // takes no sequence number.
                let next = header.seq + u64::from(header.count);
                self.expected = Some(next);
                let report = self.file_report();
                report.batches += 1;
                if header.count > 0 {
                    report.first_seq.get_or_insert(header.seq);
                    report.last_seq = Some(next - 1);
                }
                self.queue.push_back(WalEvent::Batch(WalBatch {
                    file,
                    offset: r.offset,
                    end: r.end,
                    seq: header.seq,
                    count: header.count,
                    payload: r.payload,
                }));
            }
            Event::Dropped(d) => {
                let dropped = Dropped {
                    file,
                    range: d.range.clone(),
                    reason: DropReason::Damage {
                        reason: d.reason,
                        position: d.position,
                    },
                };
                let report = self.file_report();
                report.dropped_bytes += dropped.len();
                report.dropped.push(dropped.clone());
                self.queue.push_back(WalEvent::Dropped(dropped));
            }
            Event::Stopped(stop) => {
                if stop.damage.position == Position::Interior {
                    let d = stop.damage;
                    self.stop(Problem::Dropped(Dropped {
                        file,
                        range: d.range,
                        reason: DropReason::Damage {
                            reason: d.reason,
                            position: d.position,
                        },
                    }));
                }
            }
            Event::Benign(b) => match b.kind {
                BenignKind::Metadata(t) | BenignKind::Ignorable(t) => {
                    self.file_report().units += 1;
                    if self.flavour == Flavour::Blocklog {
                        self.on_marker(t, b.range, &b.payload)?;
                    }
                }
                _ => {}
            },
        }
        Ok(())
    }

    fn on_marker(&mut self, t: u8, range: Range<u64>, payload: &[u8]) -> Result<()> {
        let file = self.number();
        let bad = |reason| {
            Problem::Dropped(Dropped {
                file,
                range: range.clone(),
                reason,
            })
        };
        let marker = match Marker::decode(t, payload, range.start) {
            Ok(None) => return Ok(()), // RocksDB's metadata, or another writer's
            Ok(Some(m)) => m,
            Err(_) => {
                self.problem(bad(DropReason::MalformedMarker("too short")))?;
                return Ok(());
            }
        };
        if marker.file() != file {
            self.problem(bad(DropReason::ForeignMarker {
                names: marker.file(),
            }))?;
            return Ok(());
        }
        match marker {
            Marker::Predecessor {
                prev_file,
                prev_last_seq,
                prev_size,
                ..
            } => {
                self.file_report().predecessor = Some(marker);
                if prev_file != file.wrapping_sub(1) {
                    self.problem(bad(DropReason::MalformedMarker(
                        "the predecessor is not the previous number",
                    )))?;
                    return Ok(());
                }
                let n = self.report.files.len();
                let prev = (n >= 2)
                    .then(|| &self.report.files[n - 2])
                    .filter(|p| p.number == prev_file)
                    .map(|p| p.size);
                if let Some(size) = prev.filter(|&s| s != prev_size) {
                    let go_on = self.problem(Problem::Dropped(Dropped {
                        file: prev_file,
                        range: size.min(prev_size)..size.max(prev_size),
                        reason: DropReason::SizeMismatch {
                            expected: prev_size,
                        },
                    }))?;
                    if !go_on {
                        return Ok(());
                    }
                }
                self.claim(prev_last_seq, range.start, "predecessor")
            }
            Marker::Synced {
                synced_through,
                last_seq,
                ..
            } => {
                if synced_through > range.start {
                    self.problem(bad(DropReason::MalformedMarker(
                        "synced offset past the marker",
                    )))?;
                    return Ok(());
                }
                self.claim(last_seq, range.start, "synced")
            }
            Marker::Seal { last_seq, .. } => {
                self.file_report().sealed = true;
                self.claim(last_seq, range.start, "seal")
            }
            Marker::Purge { checkpoint, .. } => {
                // A checkpoint is a sequence the caller had appended: one
                // past the batches before the marker contradicts them.
                if self.expected.is_some_and(|e| checkpoint >= e) {
                    self.problem(bad(DropReason::MalformedMarker(
                        "purge checkpoint past the batches read",
                    )))?;
                    return Ok(());
                }
                self.report.purge = Some(Purged { file, checkpoint });
                Ok(())
            }
        }
    }

    /// A marker at `offset` says the batches before it end at `last_seq`.
    fn claim(&mut self, last_seq: u64, offset: u64, what: &'static str) -> Result<()> {
        let file = self.number();
        let Some(next) = last_seq.checked_add(1) else {
            return self
                .problem(Problem::Dropped(Dropped {
                    file,
                    range: offset..offset,
                    reason: DropReason::MalformedMarker("last sequence overflows"),
                }))
                .map(drop);
        };
        match self.expected {
            None => self.expected = Some(next),
            Some(expected) if next > expected => {
                if self.problem(Problem::Gap(Gap {
                    file,
                    offset,
                    expected_seq: expected,
                    found_seq: next,
                    cause: GapCause::Marker,
                }))? {
                    self.expected = Some(next);
                }
            }
            Some(expected) if next < expected => {
                let reason = DropReason::MalformedMarker(match what {
                    "predecessor" => "predecessor's last sequence is below the batches read",
                    "seal" => "seal's last sequence is below the batches read",
                    _ => "synced marker's last sequence is below the batches read",
                });
                self.problem(Problem::Dropped(Dropped {
                    file,
                    range: offset..offset,
                    reason,
                }))?;
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn end_file(&mut self) -> Result<()> {
        let cur = self.current.take().expect("a file is open");
        let kept_end = cur.decoder.summary().kept_end;
        let recyclable = cur.decoder.is_recyclable();
        let report = self.file_report();
        report.kept_end = kept_end;
        report.recyclable = recyclable;
        let (sealed, size) = (report.sealed, report.size);
        if !cur.is_last && !sealed && self.flavour == Flavour::Blocklog {
            // The seal is missing; bytes the decoder dropped are reported
            // already, so the range is empty, at the end of the file.
            self.problem(Problem::Dropped(Dropped {
                file: cur.number,
                range: size..size,
                reason: DropReason::Unsealed,
            }))?;
        }
        Ok(())
    }
}

/// [`Flavour::Detect`]: blocklog's when any of the files starts with an
/// intact predecessor record naming it (its first block is decoded: the
/// first record must be that marker), else foreign.
fn detect(dir: &Path, numbers: &[u64]) -> Result<Flavour> {
    for &number in numbers {
        let mut file = File::open(dir::path_of(dir, number)).map_err(|e| Error::io(0, e))?;
        let mut buf = BytesMut::zeroed(BLOCK_SIZE);
        let n = read_full(&mut file, &mut buf, 0)?;
        buf.truncate(n);
        let mut decoder = ReaderOptions::new()
            .mode(RecoveryMode::SkipCorrupt)
            .decoder();
        if decoder.feed(Input::Last(buf.freeze(), End::Final)).is_err() {
            continue;
        }
        if let Ok(Step::Event(Event::Benign(b))) = decoder.step() {
            if let BenignKind::Metadata(t) = b.kind {
                if let Ok(Some(Marker::Predecessor { file, .. })) =
                    Marker::decode(t, &b.payload, b.range.start)
                {
                    if file == number && b.range.start == 0 {
                        return Ok(Flavour::Blocklog);
                    }
                }
            }
        }
    }
    Ok(if numbers.is_empty() {
        Flavour::Blocklog
    } else {
        Flavour::Foreign
    })
}
