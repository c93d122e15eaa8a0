//! CRC32C (Castagnoli), as the format stores it: the crate's one checksum
//! routine, tuned for the short inputs a log is mostly made of.
//!
//! Inputs shorter than [`SHORT_MAX`] on x86-64 with SSE 4.2 go through the
//! hardware instruction in a plain loop of 8-byte steps and a 4/2/1-byte
//! tail, with no alignment prologue and no table: at 100 bytes that is 13
//! instructions, where the `crc32c` crate first aligns to 8 bytes byte by
//! byte and ends byte by byte too (up to 14 one-byte steps more), behind a
//! function call. Longer inputs, and every other target, go to the `crc32c`
//! crate, whose three-way interleaved loop is the faster one there
//! (`benches/throughput.rs`, `docs/performance.md`).

/// Inputs at least this long go to the `crc32c` crate. Below it the crate
/// computes them serially too (its interleaved loop starts at 768 bytes),
/// so the short routine is never the slower one.
pub(crate) const SHORT_MAX: usize = 768;

/// Continues the CRC32C `crc` (of the bytes before `data`) over `data`.
#[inline]
pub(crate) fn append(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() < SHORT_MAX && std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: `short_sse42` needs the SSE 4.2 instructions, which the
            // CPU was just detected to have; it touches no memory but `data`
            // (through safe slice reads) and has no other precondition.
            #[allow(unsafe_code)]
            return unsafe { short_sse42(crc, data) };
        }
    }
    crc32c::crc32c_append(crc, data)
}

/// The CRC32C of `data`.
#[inline]
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    append(0, data)
}

/// [`append`] for short inputs with the SSE 4.2 `crc32` instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn short_sse42(crc: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};
    let mut c = u64::from(!crc);
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        c = _mm_crc32_u64(c, u64::from_le_bytes(w.try_into().expect("8 bytes")));
    }
    let rest = words.remainder();
    // The instruction leaves the upper half zero.
    let mut c = c as u32;
    let (four, rest) = rest.split_at(rest.len() & 4);
    if let Ok(w) = <[u8; 4]>::try_from(four) {
        c = _mm_crc32_u32(c, u32::from_le_bytes(w));
    }
    let (two, rest) = rest.split_at(rest.len() & 2);
    if let Ok(w) = <[u8; 2]>::try_from(two) {
        c = _mm_crc32_u16(c, u16::from_le_bytes(w));
    }
    if let Some(&b) = rest.first() {
        c = _mm_crc32_u8(c, b);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_crc32c_crate_at_every_length_and_alignment() {
        let data: Vec<u8> = (0..2 * SHORT_MAX + 64)
            .map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        for start in 0..16 {
            for len in 0..=(2 * SHORT_MAX).min(data.len() - start) {
                let d = &data[start..start + len];
                for seed in [0u32, 0x1234_5678, u32::MAX] {
                    assert_eq!(
                        append(seed, d),
                        crc32c::crc32c_append(seed, d),
                        "start {start} len {len} seed {seed:#x}"
                    );
                }
            }
        }
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }
}
