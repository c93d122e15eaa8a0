//! # blocklog-testkit
//!
//! The code blocklog's crates share for testing, comparing and
//! benchmarking: one home for each shared thing. Used by the `blocklog`
//! command (`cli/`: its built-in scenarios, the comparison's judge and the
//! read loop), the library's tests (`tests/`), the fuzz targets (`fuzz/`)
//! and the benches (`benches/`). Not published, and not API of the
//! `blocklog` library.
//!
//! - [`rng`]: the seeded pseudo-random generator (SplitMix64);
//! - [`read`]: the one read loop ([`read::read_all`]) and complete reads
//!   collected into a [`read::Run`], with short-read and failing sources;
//! - [`wal_read`]: the one WAL directory read loop ([`wal_read::read_wal`]),
//!   as the units the command shows (batches, drops, gaps, missing files);
//! - [`oracle`]: independent checks of what came back (prefix, subsequence,
//!   fragment chains with valid checksums) and where a record ends
//!   ([`oracle::record_layout`]);
//! - [`logs`]: building and editing logs for the core tests;
//! - [`simfile`]: a simulated file that records every write and sync and
//!   produces the contents a crash leaves at any point (lost, torn, zero- or
//!   old-filled);
//! - [`simdir`]: a WAL directory's recorded steps (directory operations,
//!   writes, syncs) and the directory states a crash after any step can
//!   leave (lost entries, lost or torn unsynced data);
//! - [`kill_loop`]: the kill -9 loop of the real-crash tests (the test
//!   binary re-run as a child, its acknowledgements, SIGKILL, hang guard);
//! - [`hold`]: a WAL file sink whose next write or sync a test can hold
//!   until it releases it, logging every call (group-commit tests);
//! - [`faulty`]: a `Write` wrapper that fails with EIO or ENOSPC at the N-th
//!   write, flush or sync;
//! - [`workload`]: workloads run by real writers over a simulated file,
//!   tracking offsets and acknowledgements;
//! - [`decode_props`]: the decoder's split/refeed/end property and the
//!   helpers that drive a decoder;
//! - [`props`]: the fuzz targets' properties, so that every fuzz input can
//!   be replayed by `cargo test`;
//! - [`scenarios`]: the built-in corruption scenarios of `blocklog compare`
//!   (one file each), and the WAL directory scenario;
//! - [`judge`]: the comparison's judge (written, intact, recovered, lost,
//!   foreign, reported);
//! - [`interop`]: the engines' fixtures, WriteBatch coding, damage recipes;
//! - [`encoding`]: hex and FNV-1a;
//! - [`timed_threads`]: threads started together, timing every call (the
//!   synced-append runs of the group-commit benches);
//! - [`interleaved`]: interleaved rounds (rates, ratios within a round,
//!   latency quantiles) and their Markdown tables;
//! - [`bench`] (feature `bench`): the benches' inputs, work manifest and
//!   thread CPU-time measurement.
#![warn(missing_docs)]
#![deny(unsafe_code)]

#[cfg(feature = "bench")]
#[allow(unsafe_code)] // one clock_gettime call, explained where it is made
pub mod bench;
pub mod decode_props;
pub mod encoding;
pub mod faulty;
pub mod hold;
pub mod interleaved;
pub mod interop;
pub mod judge;
pub mod kill_loop;
pub mod logs;
pub mod oracle;
pub mod props;
pub mod read;
pub mod rng;
pub mod scenarios;
pub mod simdir;
pub mod simfile;
pub mod timed_threads;
pub mod wal_read;
pub mod workload;
