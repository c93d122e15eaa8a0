//! [`ReaderOptions`]: how a log is read (mode, resync, format, log number,
//! start offset, limits), shared by every reader adaptor and the decoder.

use std::io::{self, Read, Seek};

use bytes::Bytes;

use crate::decode::Decoder;
use crate::error::Result;
use crate::policy::{RecoveryMode, Resync};
use crate::reader::Reader;
use crate::tail::TailReader;

/// Default limit on a logical record's size: 64 MiB. The [`Writer`](crate::Writer)
/// refuses larger records by default, so a default reader can read
/// everything a default writer wrote.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 << 20;

/// Default bound on the non-zero bytes a torn write may leave unexplained
/// by record headers (see [`ReaderOptions::max_torn_tail`]): 1 MiB.
pub const DEFAULT_MAX_TORN_TAIL: u64 = 1 << 20;

/// Which header format a log uses.
///
/// LevelDB and RocksDB by default write the legacy format (7-byte
/// headers); RocksDB with `recycle_log_file_num > 0` writes the recyclable
/// format (11-byte headers carrying the log number), which lets a reader
/// tell a reused file's current records from its previous use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// The first valid data record fixes the format (RocksDB's rule). A
    /// record of the other format after it is an out-of-place record
    /// ([`Reason::MixedFormat`](crate::Reason::MixedFormat)), except that a
    /// legacy record after recyclable ones is the file's previous use.
    #[default]
    Detect,
    /// A legacy log: recyclable records in it are out of place.
    Legacy,
    /// A recyclable log, for a caller that knows the file was recycled:
    /// legacy data records are a previous use of the file from the start.
    Recyclable,
}

impl LogFormat {
    /// `"detect"`, `"legacy"` or `"recyclable"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Detect => "detect",
            LogFormat::Legacy => "legacy",
            LogFormat::Recyclable => "recyclable",
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LogFormat {
    type Err = crate::policy::ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [LogFormat::Detect, LogFormat::Legacy, LogFormat::Recyclable]
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| crate::policy::ParseNameError(s.to_string()))
    }
}

/// Options for reading a log, built with chained setters; `build*` makes
/// the reader.
///
/// ```
/// use blocklog::{LogFormat, ReaderOptions, RecoveryMode, Resync};
/// let reader = ReaderOptions::new()
///     .mode(RecoveryMode::SkipCorrupt)
///     .resync(Resync::Scan)
///     .log_number(12)          // the file is 000012.log
///     .format(LogFormat::Detect)
///     .max_record_size(1 << 20)
///     .build(&b""[..]);
/// # drop(reader);
/// ```
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    pub(crate) mode: RecoveryMode,
    pub(crate) resync: Resync,
    pub(crate) log_number: Option<u32>,
    pub(crate) format: LogFormat,
    pub(crate) initial_offset: u64,
    pub(crate) max_record_size: usize,
    pub(crate) max_torn_tail: u64,
    pub(crate) fast_path: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            mode: RecoveryMode::default(),
            resync: Resync::default(),
            log_number: None,
            format: LogFormat::Detect,
            initial_offset: 0,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            max_torn_tail: DEFAULT_MAX_TORN_TAIL,
            fast_path: true,
        }
    }
}

impl ReaderOptions {
    /// Tolerate-tail recovery, block resync, format detected, no log
    /// number, from offset 0, records up to [`DEFAULT_MAX_RECORD_SIZE`].
    pub fn new() -> ReaderOptions {
        ReaderOptions::default()
    }

    /// The recovery mode (see `docs/recovery.md`).
    pub fn mode(mut self, mode: RecoveryMode) -> ReaderOptions {
        self.mode = mode;
        self
    }

    /// Where to resume after damage that breaks framing.
    pub fn resync(mut self, resync: Resync) -> ReaderOptions {
        self.resync = resync;
        self
    }

    /// The file's log number, as RocksDB always knows it (from the file
    /// name). It is compared only with recyclable headers: a recyclable
    /// record carrying another number is the file's previous use. It says
    /// nothing about the format: a legacy log read with its number reads
    /// exactly as without it.
    ///
    /// Without it, the number is learned from the first recyclable record,
    /// but only when nothing damaged comes before that record: after damage
    /// a record of the previous use cannot be told from a current one, and
    /// the read fails with [`Error::UnknownLogNumber`](crate::Error::UnknownLogNumber).
    pub fn log_number(mut self, log_number: u32) -> ReaderOptions {
        self.log_number = Some(log_number);
        self
    }

    /// The header format; [`LogFormat::Detect`] by default.
    pub fn format(mut self, format: LogFormat) -> ReaderOptions {
        self.format = format;
        self
    }

    /// Start at the first record whose first fragment begins at or after
    /// `offset` (LevelDB's semantics); fragments of a record begun earlier
    /// are skipped silently. A seekable source
    /// ([`build_seekable`](ReaderOptions::build_seekable)) and memory seek
    /// to the block holding `offset`; a plain [`Read`] source has to read
    /// and discard the bytes before it. Offsets are file offsets: a plain
    /// source must be positioned at the start of the log.
    pub fn initial_offset(mut self, offset: u64) -> ReaderOptions {
        self.initial_offset = offset;
        self
    }

    /// The largest logical record the reader assembles. A longer record is
    /// a resource limit, not damage: the read fails with
    /// [`Error::RecordTooLarge`](crate::Error::RecordTooLarge) in every
    /// mode, so a valid record is never dropped because of a setting. Memory
    /// use never exceeds about this much plus two blocks, whatever the input.
    pub fn max_record_size(mut self, bytes: usize) -> ReaderOptions {
        self.max_record_size = bytes;
        self
    }

    /// How many non-zero bytes at the end of a log, not explained by any
    /// record header, a torn write may leave (default
    /// [`DEFAULT_MAX_TORN_TAIL`]). Damage at the end of the log with more
    /// unexplained garbage than this, or damage in a log that has no valid
    /// unit before it and does not begin like a record, is not a torn tail:
    /// it is treated as interior damage (see `docs/recovery.md`, R3).
    pub fn max_torn_tail(mut self, bytes: u64) -> ReaderOptions {
        self.max_torn_tail = bytes;
        self
    }

    /// Turns the FULL-record fast path off (testing only: both paths must
    /// give identical events).
    #[doc(hidden)]
    pub fn fast_path(mut self, on: bool) -> ReaderOptions {
        self.fast_path = on;
        self
    }

    /// The recovery mode in force.
    pub fn recovery_mode(&self) -> RecoveryMode {
        self.mode
    }

    /// The start offset in force.
    pub fn start_offset(&self) -> u64 {
        self.initial_offset
    }

    /// The sans-IO decoder with these options, for callers that bring
    /// their own I/O.
    pub fn decoder(self) -> Decoder {
        Decoder::new(self)
    }

    /// A reader over any [`Read`], from its current position, which must be
    /// the start of the log.
    pub fn build<R: Read>(self, source: R) -> Reader<R> {
        Reader::with_source(self, source)
    }

    /// A reader over a seekable source: the start offset is reached by
    /// seeking (not by reading), and offsets are absolute whatever the
    /// source's position was.
    pub fn build_seekable<R: Read + Seek>(self, source: R) -> Result<Reader<R>> {
        Reader::with_seekable(self, source)
    }

    /// A reader over a log held in memory, without copying it: blocks are
    /// slices of `data`, so a record stored as one fragment is a slice of
    /// `data` too. A memory-mapped file can be read this way by wrapping
    /// the map with `Bytes::from_owner`.
    pub fn build_from_bytes(self, data: Bytes) -> Reader<io::Empty> {
        Reader::with_bytes(self, data)
    }

    /// A reader that follows a log while it grows (see [`TailReader`]).
    pub fn build_tail<R: Read + Seek>(self, source: R) -> Result<TailReader<R>> {
        TailReader::new(self, source)
    }
}
