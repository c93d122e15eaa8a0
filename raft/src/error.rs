//! The crate's error type, and its mapping into openraft's [`StorageError`].

use openraft::{AnyError, ErrorSubject, ErrorVerb, NodeId, StorageError, StorageIOError};

/// Every error the log store returns before it is mapped into openraft's
/// [`StorageError`] (the `RaftLogStorage` methods return that).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The WAL failed: I/O, a refused recovery, a poisoned handle.
    #[error(transparent)]
    Wal(#[from] blocklog::Error),

    /// A checksummed WAL entry that is not a well-formed raft record: an
    /// unknown tag, or a body that does not decode. Never skipped: the
    /// store refuses to open.
    #[error("corrupt raft record in WAL file {file} at offset {offset} (sequence {seq}): {what}")]
    Corrupt {
        /// The WAL file's number.
        file: u64,
        /// Offset of the batch's record in that file.
        offset: u64,
        /// The WAL sequence number of the entry.
        seq: u64,
        /// What is wrong with it.
        what: String,
    },

    /// A log entry whose record does not fit in one WAL record.
    #[error("log entry {index} takes {bytes} bytes, more than the WAL's record limit of {limit}")]
    EntryTooLarge {
        /// The entry's raft log index.
        index: u64,
        /// Its encoded size (with the batch header).
        bytes: usize,
        /// The limit (`Options::max_record_size`).
        limit: usize,
    },

    /// A value could not be encoded as a record (a serializer error).
    #[error("encoding a raft record: {0}")]
    Encode(String),

    /// The store's flusher thread is gone (it could not be started), or
    /// a durable operation's completion was dropped unsent.
    #[error("the log store's flusher thread is not running")]
    Stopped,

    /// A thread panicked while holding the store's state lock: the
    /// in-memory state is no longer trusted.
    #[error("the log store's state lock is poisoned")]
    Poisoned,
}

impl Error {
    /// Maps the error into openraft's [`StorageError`], naming what was
    /// being done (`subject`, `verb`).
    pub fn into_storage<NID: NodeId>(
        self,
        subject: ErrorSubject<NID>,
        verb: ErrorVerb,
    ) -> StorageError<NID> {
        StorageIOError::new(subject, verb, AnyError::new(&self)).into()
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
