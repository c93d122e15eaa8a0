//! Arbitrary record sequences, legacy or recyclable, appended across
//! reopenings: every mode returns exactly what was written. See
//! `blocklog_testkit::props` (testkit/src/props.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

use blocklog_testkit::props;

fuzz_target!(|data: &[u8]| props::write_read(data));
