//! The CRC32C routine of `src/crc.rs` (its source compiled in) against the
//! `crc32c` crate, at any seed, start offset, length and split: every path
//! (as tuned, one chain, three chains). The property is
//! `check_against_crate` in `src/crc.rs`, which its unit tests also replay
//! on `regressions/crc/` and on random inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/crc.rs"]
mod crc;

fuzz_target!(|data: &[u8]| crc::check_against_crate(data));
