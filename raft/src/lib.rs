//! openraft's log storage on blocklog's write-ahead log.
//!
//! [`LogStore`] implements openraft 0.9's v2 storage API
//! ([`RaftLogStorage`](openraft::storage::RaftLogStorage) and
//! [`RaftLogReader`](openraft::RaftLogReader)) on a blocklog WAL directory,
//! through the group-commit handle [`blocklog::wal::SharedWal`]: the vote, the entries, truncations, purges and the committed
//! log id are records of the one WAL, so every write is ordered by
//! construction and the whole state is rebuilt from the WAL on open. What
//! is durable when, the record layout, how a purge deletes WAL files and
//! the limits are in `docs/raft.md`.
//!
//! [`kv`] is a small in-memory key-value state machine, for the example
//! cluster and the tests.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod commit;
mod error;
pub mod kv;
mod record;
mod store;

pub use error::{Error, Result};
pub use store::{LogReader, LogStore, Options};
