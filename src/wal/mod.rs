//! A write-ahead log over a directory of numbered files, each a log in the
//! block format, recovered as one sequence of batches. The on-disk design,
//! the markers and the recovery table are in `docs/wal.md`
//! ([`spec::wal`](crate::spec::wal)).
//!
//! - [`batch`]: the batch layout (12-byte header, varint32 entries);
//! - [`marker`]: the predecessor, synced, seal and purge markers;
//! - [`purge`]: dropping whole files through a checkpoint, recycling them;
//! - [`dir`]: file names, listing, the `LOCK` file, directory fsync;
//! - [`recover`]: [`WalReader`], recovery across files;
//! - [`writer`]: [`Wal`], open, append, sync, rotate, close;
//! - [`group`]: [`SharedWal`], concurrent appends with group commit, sync
//!   policies and the durable watermark.

pub mod batch;
pub mod dir;
pub mod group;
pub mod marker;
pub mod purge;
pub mod recover;
pub mod writer;

pub use batch::{Batch, BatchHeader};
pub use group::{CommitOptions, CommitStats, SharedWal, SyncPolicy};
pub use marker::Marker;
pub use recover::{
    DropReason, Dropped, FileReport, Flavour, Gap, GapCause, Problem, Purged, Recovery, WalBatch,
    WalEvent, WalReadOptions, WalReader,
};
pub use writer::{Wal, WalOptions, WalSink};
