//! Reusable reliability-test utilities (used with `mod support;`):
//!
//! - [`rng`]: a seeded generator, so every run is reproducible;
//! - [`simfile`]: a simulated file that records every write and sync and
//!   produces the contents a crash leaves at any point (lost, torn, zero- or
//!   old-filled);
//! - [`faulty`]: a `Write` wrapper that fails with EIO or ENOSPC at the N-th
//!   write, flush or sync;
//! - [`workload`]: workloads run by real writers over a simulated file,
//!   tracking offsets and acknowledgements;
//! - [`oracle`]: complete reads and independent checks (prefix, subsequence,
//!   fragment chains with valid checksums);
//! - [`props`]: the fuzz targets' properties, shared with `fuzz/` so every
//!   fuzz input can be replayed by `cargo test`.
#![allow(dead_code)]

pub mod faulty;
pub mod oracle;
pub mod props;
pub mod rng;
pub mod simfile;
pub mod workload;
