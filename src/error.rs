//! The crate's one error type.

use std::io;
use std::sync::Arc;

use crate::policy::RecoveryMode;
use crate::report::Damage;

/// Every error blocklog returns.
///
/// Errors are cheap to clone (I/O errors are shared behind an [`Arc`]) so a
/// poisoned [`Writer`](crate::Writer) can return the error that poisoned it
/// on every later call.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The underlying reader or writer failed. `offset` is the file offset
    /// the operation was at (for a writer: the first byte not known to be
    /// written). An I/O error is never taken for the end of the log.
    #[error("I/O error at offset {offset}: {source}")]
    Io {
        /// File offset of the failed operation.
        offset: u64,
        /// The error from the underlying `Read` or `Write`.
        #[source]
        source: Arc<io::Error>,
    },

    /// The recovery mode refuses the log because of `damage`. Every record
    /// before the damage was returned first.
    #[error("{mode} recovery refuses the log: {damage}")]
    Corruption {
        /// The mode that refused.
        mode: RecoveryMode,
        /// The damaged region that caused the refusal.
        damage: Damage,
    },

    /// A record is larger than the limit in force (the reader's or the
    /// writer's `max_record_size`). A limit, not damage: the record may be
    /// intact; raise the limit to read (or write) it.
    #[error("record at offset {offset} is larger than the limit of {limit} bytes")]
    RecordTooLarge {
        /// Offset of the record (for a writer: where it would have begun).
        offset: u64,
        /// The limit in force.
        limit: usize,
    },

    /// A recyclable record follows damage in a log whose number is not
    /// known: it could be the current use's or the file's previous use's.
    /// Give the number (the file name's) with `ReaderOptions::log_number`.
    #[error(
        "recyclable record at offset {offset} follows damage and the log number is unknown: \
         give the log number (from the file name) to tell it from a previous use"
    )]
    UnknownLogNumber {
        /// Offset of the record.
        offset: u64,
    },

    /// A caller broke an API contract (the decoder fed bytes of the wrong
    /// size, a writer opened at a wrong offset).
    #[error("invalid input at offset {offset}: {what}")]
    InvalidInput {
        /// The offset concerned.
        offset: u64,
        /// What was wrong.
        what: &'static str,
    },

    /// The log uses a compression this build cannot read.
    #[error(
        "record at offset {offset} sets compression type {compression} ({}), {}",
        crate::compression::compression_name(*.compression),
        crate::compression::what_it_needs(.feature)
    )]
    UnsupportedCompression {
        /// Offset of the compression record.
        offset: u64,
        /// The compression type byte (RocksDB's `CompressionType`).
        compression: u8,
        /// The cargo feature that adds support, or `none` when no feature does.
        feature: &'static str,
    },
}

impl Error {
    pub(crate) fn io(offset: u64, source: io::Error) -> Error {
        Error::Io {
            offset,
            source: Arc::new(source),
        }
    }

    /// The damage behind a [`Error::Corruption`], if this is one.
    pub fn damage(&self) -> Option<&Damage> {
        match self {
            Error::Corruption { damage, .. } => Some(damage),
            _ => None,
        }
    }
}

/// Shorthand for results with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
