//! Arbitrary record sequences, legacy or recyclable, appended across
//! reopenings: every mode returns exactly what was written. See
//! `tests/support/props.rs`.
#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/oracle.rs"]
mod oracle;
#[path = "../../tests/support/props.rs"]
mod props;
#[path = "../../tests/support/rng.rs"]
mod rng;

fuzz_target!(|data: &[u8]| props::write_read(data));
