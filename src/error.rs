//! The crate's one error type.
//!
//! This module depends on nothing but the types its variants carry: the
//! names and messages its `Display` needs (RocksDB's compression names) live
//! here, and the codec module imports them, never the other way round.

use std::io;
use std::sync::Arc;

use crate::policy::RecoveryMode;
use crate::report::Damage;
use crate::wal::Problem;

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

    /// Another process (or another open [`Wal`](crate::wal::Wal) of this
    /// process) holds the WAL directory's `LOCK` file.
    #[error("the WAL directory is locked by another user: {}", .path.display())]
    Locked {
        /// The `LOCK` file.
        path: std::path::PathBuf,
    },

    /// A checksummed record of a WAL file is not a well-formed batch (the
    /// 12-byte header, then `count` entries of varint32 length and bytes,
    /// exactly filling the payload).
    #[error("malformed batch at offset {offset}: {what}")]
    MalformedBatch {
        /// Offset of the record in its file (0 when decoded alone).
        offset: u64,
        /// What is wrong with it.
        what: &'static str,
    },

    /// A checksummed WAL marker record (types 0xF1 to 0xF4, see
    /// `docs/wal.md`) whose payload is too short for its layout.
    #[error("malformed WAL marker at offset {offset}: {what}")]
    MalformedMarker {
        /// Offset of the marker record in its file (0 when decoded alone).
        offset: u64,
        /// What is wrong with it.
        what: &'static str,
    },

    /// The WAL's recovery mode refuses the directory because of `problem`
    /// (damage, a sequence gap, a missing or truncated file), or
    /// [`Wal::open`](crate::wal::Wal::open) refuses to append after a
    /// point-in-time stop. Every batch before the problem was returned first.
    #[error("{mode} recovery refuses the WAL: {problem}")]
    Wal {
        /// The mode that refused.
        mode: RecoveryMode,
        /// What it refused.
        problem: Box<Problem>,
    },

    /// A write or `fdatasync` of the WAL failed (`cause`), or a thread
    /// panicked while holding the WAL's state: the WAL is poisoned. The
    /// append (or sync, or wait) that returns this was not acknowledged,
    /// and whether its bytes are durable is **unknown**: they may still
    /// appear after a restart, or not. It is never "failed, not written".
    /// Every later call returns it too; nothing more is written and no
    /// fsync is retried. Reopen the WAL to find out what is on disk:
    /// recovery holds every acknowledged batch, possibly some of these,
    /// in order.
    #[error("outcome unknown (the WAL is poisoned; the data may or may not be durable): {cause}")]
    OutcomeUnknown {
        /// The failure that poisoned the WAL.
        cause: Box<Error>,
    },

    /// The WAL was closed (by another handle): nothing more can be
    /// appended. Every batch acknowledged before the close is durable.
    #[error("the WAL is closed")]
    Closed,

    /// The log uses a compression this build cannot read.
    #[error(
        "record at offset {offset} sets compression type {compression} ({}), {}",
        compression_name(*.compression),
        what_it_needs(.feature)
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
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::{ReaderOptions, RecoveryMode, Writer};
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// writer.add_record(b"one")?;
    /// let mut log = writer.into_inner()?;
    /// log[9] ^= 1; // flip a payload bit
    /// let mut reader = ReaderOptions::new().mode(RecoveryMode::Absolute).build(&log[..]);
    /// let err = reader.next_event().unwrap_err();
    /// assert_eq!(err.damage().map(|d| d.range.start), Some(0));
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn damage(&self) -> Option<&Damage> {
        match self {
            Error::Corruption { damage, .. } => Some(damage),
            _ => None,
        }
    }

    /// The file offset the error is about. Every variant has one, so this is
    /// not an `Option`:
    ///
    /// - [`Error::Io`]: the offset the failed operation was at (for a writer,
    ///   the first byte not known to be written);
    /// - [`Error::Corruption`]: the first byte of the refused damage;
    /// - [`Error::UnsupportedCompression`]: the compression record's offset;
    /// - [`Error::MalformedBatch`]: the batch's record offset;
    /// - [`Error::Wal`]: the problem's offset in its file
    ///   ([`Problem::file`](crate::wal::Problem::file) names the file);
    /// - [`Error::OutcomeUnknown`]: its cause's offset;
    /// - [`Error::Locked`], [`Error::Closed`]: always 0.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::{ReaderOptions, RecoveryMode, Writer};
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// writer.add_record(b"one")?;
    /// let second = writer.add_record(b"two")?;
    /// let mut log = writer.into_inner()?;
    /// log[second as usize + 8] ^= 1; // damage the second record's payload
    /// log.extend_from_slice(b"more bytes after it");
    /// let mut reader = ReaderOptions::new().mode(RecoveryMode::Absolute).build(&log[..]);
    /// assert!(reader.next_event()?.is_some()); // the first record
    /// let err = reader.next_event().unwrap_err();
    /// assert_eq!(err.offset(), second);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn offset(&self) -> u64 {
        match self {
            Error::Io { offset, .. }
            | Error::UnsupportedCompression { offset, .. }
            | Error::RecordTooLarge { offset, .. }
            | Error::UnknownLogNumber { offset }
            | Error::InvalidInput { offset, .. }
            | Error::MalformedBatch { offset, .. }
            | Error::MalformedMarker { offset, .. } => *offset,
            Error::Corruption { damage, .. } => damage.range.start,
            Error::Locked { .. } | Error::Closed => 0,
            Error::OutcomeUnknown { cause } => cause.offset(),
            Error::Wal { problem, .. } => problem.offset(),
        }
    }
}

/// Converts to an [`io::Error`], for code that works in `io::Result`.
///
/// An [`Error::Io`] keeps its [`io::ErrorKind`]; corruption, unsupported
/// compression and an unknown log number become
/// [`io::ErrorKind::InvalidData`], a record over the limit
/// [`io::ErrorKind::FileTooLarge`], a broken API contract
/// [`io::ErrorKind::InvalidInput`]. In both cases the
/// blocklog error is the new error's inner error (its
/// [`get_ref`](io::Error::get_ref), and its message), so the offset and the
/// damage are not lost.
///
/// # Example
///
/// ```
/// use std::io;
///
/// use blocklog::{ReaderOptions, RecoveryMode};
///
/// fn first_record(log: &[u8]) -> io::Result<Vec<u8>> {
///     let mut reader = ReaderOptions::new().mode(RecoveryMode::Absolute).build(log);
///     let record = reader.next_record()?; // blocklog::Error -> io::Error
///     Ok(record.map(|r| r.payload.to_vec()).unwrap_or_default())
/// }
///
/// let err = first_record(b"not a log, just some bytes").unwrap_err();
/// assert_eq!(err.kind(), io::ErrorKind::InvalidData);
/// let inner = err.get_ref().and_then(|e| e.downcast_ref::<blocklog::Error>());
/// assert!(matches!(inner, Some(blocklog::Error::Corruption { .. })));
/// ```
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io { source, .. } => source.kind(),
            Error::Corruption { .. }
            | Error::UnsupportedCompression { .. }
            | Error::UnknownLogNumber { .. }
            | Error::MalformedBatch { .. }
            | Error::MalformedMarker { .. }
            | Error::Wal { .. } => io::ErrorKind::InvalidData,
            Error::Locked { .. } => io::ErrorKind::ResourceBusy,
            Error::OutcomeUnknown { cause } => io::Error::from((**cause).clone()).kind(),
            Error::Closed => io::ErrorKind::BrokenPipe,
            Error::RecordTooLarge { .. } => io::ErrorKind::FileTooLarge,
            Error::InvalidInput { .. } => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// RocksDB's name for a `CompressionType` byte, for error messages.
pub(crate) fn compression_name(compression: u8) -> &'static str {
    match compression {
        0 => "none",
        1 => "snappy",
        2 => "zlib",
        3 => "bzip2",
        4 => "lz4",
        5 => "lz4hc",
        6 => "xpress",
        7 => "zstd",
        _ => "unknown",
    }
}

/// The end of [`Error::UnsupportedCompression`]'s message.
fn what_it_needs(feature: &str) -> String {
    if feature == "none" {
        "which blocklog cannot read (RocksDB compresses WALs only with zstd)".to_string()
    } else {
        format!("which needs blocklog's cargo feature `{feature}`")
    }
}

/// Shorthand for results with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReaderOptions, Writer};

    /// The error absolute mode returns for a log whose record at `start`
    /// is damaged.
    fn corruption(start: u64) -> Error {
        let mut w = Writer::new(Vec::new());
        while w.offset() < start {
            let room = (start - w.offset()) as usize;
            w.add_record(&vec![1; room.saturating_sub(7).min(100)])
                .unwrap();
        }
        assert_eq!(w.offset(), start);
        w.add_record(b"damaged").unwrap();
        let mut log = w.into_inner().unwrap();
        log[start as usize + 8] ^= 1;
        log.extend_from_slice(&[5; 20]);
        let mut r = ReaderOptions::new()
            .mode(RecoveryMode::Absolute)
            .build(&log[..]);
        loop {
            match r.next_event() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("no error"),
                Err(e) => return e,
            }
        }
    }

    #[test]
    fn every_variant_has_an_offset() {
        let io = Error::io(17, io::Error::other("boom"));
        assert_eq!(io.offset(), 17);
        assert_eq!(corruption(107).offset(), 107);
        let unsupported = Error::UnsupportedCompression {
            offset: 99,
            compression: 4,
            feature: "none",
        };
        assert_eq!(unsupported.offset(), 99);
        assert!(unsupported.to_string().contains("lz4"), "{unsupported}");
        assert_eq!(compression_name(7), "zstd");
    }

    #[test]
    fn into_io_error_keeps_the_kind_and_the_source() {
        let e = Error::io(5, io::Error::new(io::ErrorKind::UnexpectedEof, "short"));
        let converted: io::Error = e.clone().into();
        assert_eq!(converted.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(converted.to_string(), e.to_string());
        let inner = converted.get_ref().and_then(|i| i.downcast_ref::<Error>());
        assert_eq!(inner.map(Error::offset), Some(5));

        for e in [
            corruption(0),
            Error::UnsupportedCompression {
                offset: 0,
                compression: 7,
                feature: "zstd",
            },
        ] {
            let converted: io::Error = e.clone().into();
            assert_eq!(converted.kind(), io::ErrorKind::InvalidData, "{e}");
            assert_eq!(converted.to_string(), e.to_string());
            assert!(converted
                .get_ref()
                .is_some_and(|i| i.downcast_ref::<Error>().is_some()));
        }
    }
}
