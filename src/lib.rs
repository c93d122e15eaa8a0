//! # blocklog
//!
//! Write-ahead logs in the LevelDB/RocksDB block format: a [`Writer`] over
//! any [`std::io::Write`], a [`Reader`] over any [`std::io::Read`] with four
//! recovery modes, and an exact report of every byte range the reader drops
//! and why.
//!
//! Files are byte-compatible with LevelDB's and RocksDB's logs, including
//! RocksDB's recyclable format (11-byte headers carrying a log number).
//! [`spec::format`] is the on-disk specification; [`spec::recovery`] is the
//! decision table every mode follows (the repository's `docs/format.md` and
//! `docs/recovery.md`, rendered here). The repository's `examples/` show a
//! start-up replay (`replay.rs`) and the repair of a damaged log
//! (`recover.rs`).
//! With the cargo feature `zstd`, RocksDB's compressed logs
//! (`wal_compression`) are read too; without it they are refused with
//! [`Error::UnsupportedCompression`] naming the feature.
//!
//! ```
//! use blocklog::{Event, ReaderOptions, RecoveryMode, Writer};
//!
//! // Write three records, one of them spanning several 32 KiB blocks.
//! let mut writer = Writer::new(Vec::new());
//! writer.add_record(b"first")?;
//! writer.add_record(&vec![b'x'; 100_000])?;
//! writer.add_record(b"third")?;
//! let mut log = writer.into_inner()?;
//!
//! // A crash mid-write leaves a torn tail: cut the last record in half.
//! log.truncate(log.len() - 3);
//!
//! // Tolerate-tail recovery returns what was whole and says what it dropped.
//! let mut reader = ReaderOptions::new()
//!     .mode(RecoveryMode::TolerateTail)
//!     .build(&log[..]);
//! let mut records = Vec::new();
//! while let Some(event) = reader.next_event()? {
//!     match event {
//!         Event::Record(r) => records.push(r.payload),
//!         Event::Dropped(d) => println!("dropped {d}"), // tail truncated-payload damage at ...
//!         _ => {} // benign regions, a point-in-time stop
//!     }
//! }
//! assert_eq!(records.len(), 2);
//! assert_eq!(reader.summary().outcome().as_str(), "tail-dropped");
//!
//! // Absolute consistency refuses the same file, after the records before the damage.
//! let mut strict = ReaderOptions::new().mode(RecoveryMode::Absolute).build(&log[..]);
//! assert!(strict.records().any(|r| r.is_err()));
//! # Ok::<(), blocklog::Error>(())
//! ```
// One `unsafe` call in the crate: the SSE 4.2 + PCLMULQDQ checksum routine
// for short and medium inputs (src/crc.rs), after runtime detection;
// everything else is safe.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod compression;
mod crc;
mod crc_window;
pub mod decode;
pub mod error;
pub mod format;
mod fragment;
pub mod options;
pub mod policy;
pub mod reader;
pub mod reopen;
pub mod report;
pub mod tail;
pub mod wal;
pub mod writer;

pub use decode::Decoder;
pub use error::{Error, Result};
pub use options::{LogFormat, ReaderOptions, DEFAULT_MAX_RECORD_SIZE, DEFAULT_MAX_TORN_TAIL};
pub use policy::{decide, Action, RecoveryMode, Resync, Situation};
pub use reader::Reader;
pub use report::{
    Benign, BenignKind, Damage, Event, Outcome, Position, Reason, Record, Stop, Summary,
};
pub use tail::TailReader;
pub use writer::{IntoInnerError, SyncData, Writer, WriterOptions};

/// The specification, as documentation only (no code): the pages of the
/// repository's `docs/` folder that define what this crate does.
pub mod spec {
    #[doc = include_str!("../docs/format.md")]
    pub mod format {}

    #[doc = include_str!("../docs/recovery.md")]
    pub mod recovery {}

    #[doc = include_str!("../docs/wal.md")]
    pub mod wal {}
}

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
