//! What a reader tells besides records: damaged regions, benign regions,
//! and the summary of a whole read.

use std::fmt;
use std::ops::Range;

use bytes::Bytes;

/// A logical record as the reader returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// File offset of the header of the record's first fragment.
    pub offset: u64,
    /// File offset just after the record's last fragment: where the next
    /// unit of the log begins (or its block's trailer).
    pub end: u64,
    /// The record's payload, as written.
    pub payload: Bytes,
}

/// Why a region was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The stored CRC32C does not match the type and payload.
    ChecksumMismatch,
    /// The length field runs past the end of the block.
    BadLength,
    /// A checksummed record of a type no reader knows and that is not marked ignorable.
    UnknownType,
    /// A zero header (type 0, length 0) with valid records after it.
    ZeroHeader,
    /// A MIDDLE or LAST fragment with no FIRST before it.
    MissingFirst,
    /// A FIRST (and MIDDLEs) with no LAST: interrupted by another record or the end of the log.
    MissingLast,
    /// A recyclable record carrying another log number, with current records after it.
    StaleLogNumber,
    /// A checksummed record of the other header format than the one the
    /// log's first record fixed (a recyclable record in a legacy log), or
    /// than the caller stated.
    MixedFormat,
    /// The log ends inside a header.
    TruncatedHeader,
    /// The log ends inside a payload.
    TruncatedPayload,
    /// In a compressed log (RocksDB's `wal_compression`), a record whose
    /// checksums match but whose payload is not a valid compressed stream.
    DecompressionFailed,
}

impl Reason {
    /// The kebab-case name used by the CLI and the docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ChecksumMismatch => "checksum-mismatch",
            Reason::BadLength => "bad-length",
            Reason::UnknownType => "unknown-type",
            Reason::ZeroHeader => "zero-header",
            Reason::MissingFirst => "missing-first",
            Reason::MissingLast => "missing-last",
            Reason::StaleLogNumber => "stale-log-number",
            Reason::MixedFormat => "mixed-format",
            Reason::TruncatedHeader => "truncated-header",
            Reason::TruncatedPayload => "truncated-payload",
            Reason::DecompressionFailed => "decompression-failed",
        }
    }

    /// All reasons, for tables and tests.
    pub const ALL: [Reason; 11] = [
        Reason::ChecksumMismatch,
        Reason::BadLength,
        Reason::UnknownType,
        Reason::ZeroHeader,
        Reason::MissingFirst,
        Reason::MissingLast,
        Reason::StaleLogNumber,
        Reason::MixedFormat,
        Reason::TruncatedHeader,
        Reason::TruncatedPayload,
        Reason::DecompressionFailed,
    ];
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where damage lies, decided by looking ahead rather than by the end of file alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// No valid record starts after the damage: what a crash mid-write leaves.
    Tail,
    /// A valid record starts after the damage: corruption of written data.
    Interior,
}

impl Position {
    /// `"tail"` or `"interior"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Tail => "tail",
            Position::Interior => "interior",
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A damaged byte range and what the reader knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Damage {
    /// File offsets `[start, end)` of the dropped bytes.
    pub range: Range<u64>,
    /// The first cause found in the range.
    pub reason: Reason,
    /// Tail or interior.
    pub position: Position,
}

impl Damage {
    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.range.end - self.range.start
    }

    /// Whether the range is empty (never the case for reported damage).
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} damage at bytes [{}, {})",
            self.position, self.reason, self.range.start, self.range.end
        )
    }
}

/// A region the reader passed over without losing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BenignKind {
    /// Zero bytes to the end of the log, as preallocation leaves them.
    ZeroFilledTail,
    /// In a recyclable log: what the file's previous use left after the last current record.
    PreviousUse,
    /// A checksummed record of an unknown type marked ignorable (bit 0x80).
    Ignorable(u8),
    /// A known metadata record (RocksDB compression, timestamp sizes, predecessor WAL), consumed.
    Metadata(u8),
}

impl BenignKind {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BenignKind::ZeroFilledTail => "zero-filled-tail",
            BenignKind::PreviousUse => "previous-use",
            BenignKind::Ignorable(_) => "ignorable",
            BenignKind::Metadata(_) => "metadata",
        }
    }
}

/// A benign region and its extent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Benign {
    /// File offsets `[start, end)`.
    pub range: Range<u64>,
    /// What it is.
    pub kind: BenignKind,
    /// For a metadata or ignorable record: its payload, checksummed (a
    /// WAL's markers come this way). Empty for the other kinds.
    pub payload: Bytes,
}

/// Where point-in-time recovery stopped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stop {
    /// The interior damage it stopped at (also reported just before as
    /// [`Event::Dropped`]). Nothing after its start is returned.
    pub damage: Damage,
}

/// One item of a read, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A record.
    Record(Record),
    /// A region dropped as damage (only when the mode accepts dropping it, or
    /// when point-in-time recovery stops at it).
    Dropped(Damage),
    /// A region passed over without loss.
    Benign(Benign),
    /// Point-in-time recovery stopped at interior damage: the read ends
    /// here (no record after it is returned).
    Stopped(Stop),
}

/// How a whole read ended, as the CLI reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// No damage.
    Clean,
    /// Only tail damage was dropped.
    TailDropped,
    /// Point-in-time recovery stopped at interior damage.
    Stopped,
    /// Skip-corrupt recovery dropped interior damage and went on.
    Skipped,
    /// The mode refused the log, or an I/O error ended the read.
    Error,
}

impl Outcome {
    /// Kebab-case name (`clean`, `tail-dropped`, `stopped`, `skipped`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::TailDropped => "tail-dropped",
            Outcome::Stopped => "stopped",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counters of a read so far; complete once the reader has returned `None` or an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records returned.
    pub records: u64,
    /// Payload bytes returned.
    pub record_bytes: u64,
    /// Damaged regions reported (dropped, stopped at, or refused).
    pub damaged_regions: u64,
    /// Bytes in damaged regions reported as dropped or stopped at.
    pub dropped_bytes: u64,
    /// Interior damage was dropped (skip-corrupt).
    pub interior_dropped: bool,
    /// Tail damage was dropped.
    pub tail_dropped: bool,
    /// Point-in-time recovery stopped at this interior damage.
    pub stopped_at: Option<crate::report::Damage>,
    /// After a point-in-time stop: intact records after the stop that were
    /// left unread (as skip-corrupt would have returned them).
    pub unread_records: u64,
    /// The reader failed (refusal or I/O error).
    pub failed: bool,
    /// Bytes consumed from the source.
    pub bytes_read: u64,
    /// The end of what the mode kept: the offset just after the last
    /// record, metadata or ignorable record accepted, and before any tail
    /// damage, zero-filled tail or previous use. Once a read has ended
    /// without error and without stopping, a writer may resume the log
    /// here after cutting what follows (see
    /// [`reopen`](crate::reopen::reopen)).
    pub kept_end: u64,
}

impl Summary {
    /// The outcome as the CLI reports it.
    pub fn outcome(&self) -> Outcome {
        if self.failed {
            Outcome::Error
        } else if self.stopped_at.is_some() {
            Outcome::Stopped
        } else if self.interior_dropped {
            Outcome::Skipped
        } else if self.tail_dropped {
            Outcome::TailDropped
        } else {
            Outcome::Clean
        }
    }
}
