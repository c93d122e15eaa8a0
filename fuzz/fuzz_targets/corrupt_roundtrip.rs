//! Records written, then corrupted (bit flips, truncation, zeroed and
//! garbage ranges, block swaps and duplicates): skip-corrupt returns a
//! subsequence, point-in-time a prefix, absolute all or an error,
//! tolerate-tail the documented rule; never a record (or, when blocks
//! move, a fragment) that was not written. See `blocklog_testkit::props` (testkit/src/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

use blocklog_testkit::props;

fuzz_target!(|data: &[u8]| props::corrupt_roundtrip(data));
