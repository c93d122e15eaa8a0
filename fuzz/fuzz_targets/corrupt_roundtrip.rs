//! Records written, then corrupted (bit flips, truncation, zeroed and
//! garbage ranges, block swaps and duplicates): skip-corrupt returns a
//! subsequence, point-in-time a prefix, absolute all or an error,
//! tolerate-tail the documented rule; never a record (or, when blocks
//! move, a fragment) that was not written. See `tests/support/props.rs`.
#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/oracle.rs"]
mod oracle;
#[path = "../../tests/support/props.rs"]
mod props;
#[path = "../../tests/support/rng.rs"]
mod rng;

fuzz_target!(|data: &[u8]| props::corrupt_roundtrip(data));
