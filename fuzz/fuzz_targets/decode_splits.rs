//! Arbitrary block splits, refeeds and ends for the sans-IO decoder; the
//! property is `blocklog_testkit::decode_props::check` (also run by
//! `tests/decoder.rs` as a quickcheck property and over the seeds).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blocklog_testkit::decode_props::check(data);
});
