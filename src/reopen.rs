//! Reopening a log for append after a crash (or a clean exit): recover it
//! with a recovery mode, cut what the mode classed as a torn tail or benign
//! end, make the result durable and get a [`Writer`] positioned where the
//! log may resume.
//!
//! Appending at the file's length is wrong after a crash: a torn write at
//! the end becomes, once records follow it, *interior* damage, which
//! tolerate-tail recovery refuses and skip-corrupt recovery drops together
//! with the rest of its block — the newly acknowledged records with it.
//! The writer must resume where the mode stopped keeping: the summary's
//! [`kept_end`](crate::Summary::kept_end).
//!
//! ```
//! use std::io::Write;
//! use blocklog::reopen::{reopen, ReopenOptions};
//! use blocklog::{Event, Writer};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("000001.log");
//! let mut w = Writer::new(std::fs::File::create(&path)?);
//! w.add_record(b"acknowledged")?;
//! w.sync()?;
//! // A crash in the middle of the next record leaves a torn tail.
//! let mut file = w.into_inner()?;
//! file.write_all(&[0xAB; 5])?;
//! drop(file);
//!
//! // Replay the records while reopening, then append.
//! let mut reopening = ReopenOptions::new().open(&path)?;
//! while let Some(event) = reopening.next_event()? {
//!     if let Event::Record(r) = event {
//!         assert_eq!(&r.payload[..], b"acknowledged");
//!     }
//! }
//! let (mut w, recovered) = reopening.finish()?;
//! assert_eq!(recovered.resume_at, 19);
//! assert_eq!(recovered.cut_ranges, vec![19..24]);
//! w.add_record(b"after the crash")?;
//! w.sync()?;
//! drop(w);
//!
//! // The one-call form, for a caller that does not replay while reopening.
//! let (_w, recovered) = reopen(&path)?;
//! assert_eq!(recovered.summary.records, 2);
//! assert!(recovered.cut_ranges.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Result};
use crate::options::{LogFormat, ReaderOptions, DEFAULT_MAX_RECORD_SIZE};
use crate::policy::{RecoveryMode, Resync};
use crate::reader::Reader;
use crate::report::{BenignKind, Event, Position, Summary};
use crate::writer::{SyncData, Writer, WriterOptions};

/// A file a log can be reopened in: read, written, positioned, cut and
/// made durable. Implemented for [`File`]; a test can implement it for a
/// simulated file.
pub trait LogFile: Read + Write + Seek + SyncData {
    /// Sets the file's length (truncates it).
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's data *and* metadata (its length) durable: `fsync`.
    fn sync_all(&mut self) -> io::Result<()>;
}

impl LogFile for File {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
    fn sync_all(&mut self) -> io::Result<()> {
        File::sync_all(self)
    }
}

/// What to do with the bytes after the point where the log resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cut {
    /// Truncate the file there (the default): torn tail, zero-filled tail
    /// and a recycled file's previous use all go.
    #[default]
    Truncate,
    /// Keep the file's length (a preallocated file) and write zeros over
    /// the tail damage only. Zero-filled space and a recycled file's
    /// previous use are left as they are: the writer overwrites them as it
    /// goes, and the reader tells them from records. The file must not be
    /// open in append mode (`O_APPEND` writes at the end whatever the
    /// position).
    ZeroFill,
}

/// Options for reopening a log, built with chained setters; the reader's
/// options (mode, resync, format, log number, limits) and the writer's
/// (buffer size). The writer's format is the log's, never a setting: see
/// [`Reopening::finish`].
///
/// ```no_run
/// use blocklog::reopen::{Cut, ReopenOptions};
/// use blocklog::{LogFormat, RecoveryMode};
/// let (writer, recovered) = ReopenOptions::new()
///     .mode(RecoveryMode::PointInTime)
///     .format(LogFormat::Recyclable)
///     .log_number(12)          // the file is 000012.log
///     .cut(Cut::ZeroFill)      // a preallocated file keeps its length
///     .buffer_size(256 << 10)
///     .reopen("000012.log")?;
/// # Ok::<(), blocklog::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReopenOptions {
    reader: ReaderOptions,
    cut: Cut,
    buffer_size: Option<usize>,
    max_record_size: usize,
}

impl Default for ReopenOptions {
    fn default() -> Self {
        ReopenOptions {
            reader: ReaderOptions::new(),
            cut: Cut::Truncate,
            buffer_size: None,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }
}

impl ReopenOptions {
    /// Tolerate-tail recovery, format detected, no log number,
    /// [`Cut::Truncate`], the writer's default buffer, records up to
    /// [`DEFAULT_MAX_RECORD_SIZE`].
    pub fn new() -> ReopenOptions {
        ReopenOptions::default()
    }

    /// The recovery mode the log is read with (see `docs/recovery.md`).
    pub fn mode(mut self, mode: RecoveryMode) -> ReopenOptions {
        self.reader = self.reader.mode(mode);
        self
    }

    /// Where the reader resumes after damage that breaks framing.
    pub fn resync(mut self, resync: Resync) -> ReopenOptions {
        self.reader = self.reader.resync(resync);
        self
    }

    /// The file's log number (from its name), as
    /// [`ReaderOptions::log_number`]. In a recyclable log the writer writes
    /// it too; give it for every recyclable log, so that a recycled file's
    /// previous use is never taken for the current one.
    pub fn log_number(mut self, log_number: u32) -> ReopenOptions {
        self.reader = self.reader.log_number(log_number);
        self
    }

    /// The header format, as [`ReaderOptions::format`]. To start a new
    /// recyclable log in an empty (or recycled) file, state
    /// [`LogFormat::Recyclable`] with the [`log_number`](ReopenOptions::log_number).
    pub fn format(mut self, format: LogFormat) -> ReopenOptions {
        self.reader = self.reader.format(format);
        self
    }

    /// The largest record, for the reader and the writer alike, so that
    /// what the writer appends can be read back with the same limit.
    pub fn max_record_size(mut self, bytes: usize) -> ReopenOptions {
        self.reader = self.reader.max_record_size(bytes);
        self.max_record_size = bytes;
        self
    }

    /// The reader's bound on a torn tail's unexplained bytes
    /// ([`ReaderOptions::max_torn_tail`]).
    pub fn max_torn_tail(mut self, bytes: u64) -> ReopenOptions {
        self.reader = self.reader.max_torn_tail(bytes);
        self
    }

    /// What to do with the end of the file after the point of resumption.
    pub fn cut(mut self, cut: Cut) -> ReopenOptions {
        self.cut = cut;
        self
    }

    /// The writer's staging buffer ([`WriterOptions::buffer_size`]).
    pub fn buffer_size(mut self, bytes: usize) -> ReopenOptions {
        self.buffer_size = Some(bytes);
        self
    }

    /// Opens the log file at `path` (for reading and writing; it must
    /// exist) and starts reading it; nothing is changed until
    /// [`Reopening::finish`].
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Reopening<File>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(0, e))?;
        self.open_file(file)
    }

    /// Starts reading the log in `file`, which must be open for reading and
    /// writing (not in append mode with [`Cut::ZeroFill`]).
    pub fn open_file<F: LogFile>(&self, file: F) -> Result<Reopening<F>> {
        let reader = self.reader.clone().build_seekable(file)?;
        Ok(Reopening {
            reader,
            options: self.clone(),
            resume_at: 0,
            tail: Vec::new(),
            done: false,
        })
    }

    /// Reopens the log at `path` in one call: [`open`](ReopenOptions::open),
    /// read every event (discarding them), [`finish`](Reopening::finish).
    /// To replay the records, use `open` and
    /// [`Reopening::next_event`] instead, which reads the file once.
    pub fn reopen(&self, path: impl AsRef<Path>) -> Result<(Writer<File>, Recovered)> {
        self.open(path)?.finish()
    }
}

/// Reopens the log at `path` for append with default options
/// (tolerate-tail recovery, [`Cut::Truncate`]): see
/// [`ReopenOptions::reopen`] and [`Reopening::finish`].
pub fn reopen(path: impl AsRef<Path>) -> Result<(Writer<File>, Recovered)> {
    ReopenOptions::new().reopen(path)
}

/// What [`Reopening::finish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovered {
    /// The read's summary (records recovered, damage dropped).
    pub summary: Summary,
    /// Where the writer resumes: the end of what the mode kept
    /// ([`Summary::kept_end`]), or after interior damage skip-corrupt
    /// dropped after it. The first record appended begins here (after
    /// block padding if fewer than a header's bytes remain in the block).
    pub resume_at: u64,
    /// The file's length before.
    pub previous_len: u64,
    /// How the end was cut.
    pub cut: Cut,
    /// The byte ranges cut: `[resume_at, previous_len)` when truncated;
    /// the tail damage zeroed with [`Cut::ZeroFill`]. Empty when the log
    /// ended cleanly.
    pub cut_ranges: Vec<Range<u64>>,
}

/// A log being reopened: its events, in file order, for the caller to
/// replay, then [`finish`](Reopening::finish) for the writer.
///
/// Why events and not a callback or a vector: the caller's replay can fail
/// with its own error type (propagated with `?` in its own function, not
/// wrapped into ours), records are handed over one by one (a vector of a
/// whole log is an unbounded allocation), and the file is read only once.
#[derive(Debug)]
pub struct Reopening<F> {
    reader: Reader<F>,
    options: ReopenOptions,
    /// End of the last unit that stays: a record, metadata, or interior
    /// damage skip-corrupt dropped.
    resume_at: u64,
    /// Tail damage after `resume_at`.
    tail: Vec<Range<u64>>,
    done: bool,
}

impl<F: LogFile> Reopening<F> {
    /// The next event of the read (as [`Reader::next_event`]); `Ok(None)`
    /// at the end. An error is the mode refusing the log (or an I/O
    /// error): [`finish`](Reopening::finish) would return it too, and the
    /// file is left untouched.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        if self.done {
            return Ok(None);
        }
        let event = self.reader.next_event()?;
        match &event {
            None => self.done = true,
            Some(Event::Record(r)) => self.keep(r.end),
            Some(Event::Benign(b)) => match b.kind {
                BenignKind::ZeroFilledTail | BenignKind::PreviousUse => {}
                _ => self.keep(b.range.end),
            },
            Some(Event::Dropped(d)) => match d.position {
                Position::Tail => self.tail.push(d.range.clone()),
                // Dropped by skip-corrupt: it stays in the file, and what
                // is appended goes after it.
                Position::Interior => self.keep(d.range.end),
            },
            Some(Event::Stopped(_)) => {}
        }
        Ok(event)
    }

    fn keep(&mut self, end: u64) {
        self.resume_at = self.resume_at.max(end);
        let at = self.resume_at;
        self.tail.retain(|r| r.start >= at);
    }

    /// The summary of the read so far.
    pub fn summary(&self) -> &Summary {
        self.reader.summary()
    }

    /// Reads what is left (discarding it), then cuts, syncs and positions
    /// the file and returns the writer:
    ///
    /// 1. If the mode refuses the log, that error (the file is untouched).
    /// 2. If point-in-time recovery stopped at interior damage,
    ///    [`Error::Corruption`] with that damage (untouched): records
    ///    appended after the stop would never be read back.
    /// 3. The writer resumes at [`Recovered::resume_at`]; everything after
    ///    it is what the mode classed as a torn tail or benign (zero-filled
    ///    tail, previous use). Interior damage skip-corrupt dropped stays.
    ///    [`Cut::Truncate`] cuts the file there; [`Cut::ZeroFill`] writes
    ///    zeros over the tail damage.
    /// 4. `fsync` (data and length), even when nothing was cut: the
    ///    records recovered may have been read from the cache of a crashed
    ///    process's writes, and the writer's first `sync` acknowledges
    ///    everything before it.
    /// 5. The file is positioned at `resume_at` and the writer built with
    ///    [`WriterOptions::append_at`]`(resume_at)`, in the log's format: a
    ///    recyclable log (stated, or fixed by its first record) is
    ///    continued with its log number (given or learned; a recyclable log
    ///    whose number is unknown is refused with [`Error::InvalidInput`]),
    ///    any other log in the legacy format.
    pub fn finish(mut self) -> Result<(Writer<F>, Recovered)> {
        while self.next_event()?.is_some() {}
        let summary = self.reader.summary().clone();
        if let Some(damage) = &summary.stopped_at {
            return Err(Error::Corruption {
                mode: RecoveryMode::PointInTime,
                damage: damage.clone(),
            });
        }
        let resume_at = self.resume_at.max(summary.kept_end);
        let log_number = match (self.reader.is_recyclable(), self.reader.log_number()) {
            (false, _) => None,
            (true, Some(n)) => Some(n),
            (true, None) => {
                return Err(Error::InvalidInput {
                    offset: resume_at,
                    what: "a recyclable log whose log number is unknown: give it",
                })
            }
        };
        let cut = self.options.cut;
        let tail = std::mem::take(&mut self.tail);
        let mut file = self.reader.into_inner();
        let previous_len = file.seek(SeekFrom::End(0)).map_err(|e| Error::io(0, e))?;
        let mut cut_ranges = Vec::new();
        match cut {
            Cut::Truncate => {
                if previous_len > resume_at {
                    file.set_len(resume_at)
                        .map_err(|e| Error::io(resume_at, e))?;
                    cut_ranges.push(resume_at..previous_len);
                }
            }
            Cut::ZeroFill => {
                for range in tail {
                    let range = range.start.max(resume_at)..range.end.min(previous_len);
                    if range.is_empty() {
                        continue;
                    }
                    zero(&mut file, range.clone())?;
                    cut_ranges.push(range);
                }
            }
        }
        file.sync_all().map_err(|e| Error::io(resume_at, e))?;
        file.seek(SeekFrom::Start(resume_at))
            .map_err(|e| Error::io(resume_at, e))?;
        let mut writer = WriterOptions::new()
            .append_at(resume_at)
            .max_record_size(self.options.max_record_size);
        if let Some(n) = self.options.buffer_size {
            writer = writer.buffer_size(n);
        }
        if let Some(n) = log_number {
            writer = writer.recyclable(n);
        }
        let recovered = Recovered {
            summary,
            resume_at,
            previous_len,
            cut,
            cut_ranges,
        };
        Ok((writer.build(file), recovered))
    }
}

/// Writes zeros over `range` of `file`.
fn zero<F: LogFile>(file: &mut F, range: Range<u64>) -> Result<()> {
    const ZEROS: [u8; 4096] = [0; 4096];
    file.seek(SeekFrom::Start(range.start))
        .map_err(|e| Error::io(range.start, e))?;
    let mut at = range.start;
    while at < range.end {
        let n = (range.end - at).min(ZEROS.len() as u64) as usize;
        file.write_all(&ZEROS[..n]).map_err(|e| Error::io(at, e))?;
        at += n as u64;
    }
    file.flush().map_err(|e| Error::io(at, e))
}
