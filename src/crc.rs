//! CRC32C (Castagnoli), as the format stores it: the crate's one checksum
//! routine, tuned for the short and medium inputs a log is mostly made of.
//!
//! On x86-64 with SSE 4.2 and PCLMULQDQ (detected at run time), inputs of
//! at most [`HW_MAX`] bytes go through the `crc32` instruction:
//!
//! - shorter than [`THREE_WAY_MIN`]: one chain of 8-byte steps and a
//!   4/2/1-byte tail, with no alignment prologue and no table;
//! - from [`THREE_WAY_MIN`] on: three independent chains over the three
//!   thirds of the input (the instruction has a latency of 3 cycles and a
//!   throughput of 1 a cycle, so one chain uses a third of it), joined by
//!   two carry-less multiplications and one more `crc32` (see
//!   [`three_way`]).
//!
//! Longer inputs, and every other target, go to the `crc32c` crate
//! (`benches/crc.rs` measures where each one wins, `docs/performance.md`).

/// Inputs at least this long go through three interleaved chains; shorter
/// ones through one. Measured with `benches/crc.rs` (2026-12-03, 4 rounds):
/// one chain is 1.13x as fast at 192 bytes, the two tie at 256, three
/// chains are 1.15x as fast at 320 bytes, 1.41x at 384 and 2.1x at 1 KiB.
pub(crate) const THREE_WAY_MIN: usize = 256;

/// Inputs longer than this go to the `crc32c` crate. Measured with
/// `benches/crc.rs`: three chains are 1.2-1.45x the crate's speed from 1 KiB
/// to 16 KiB, but only 1.05x (1.02-1.06) at 32 KiB, within the noise.
pub(crate) const HW_MAX: usize = 16 << 10;

/// The longest third (in 8-byte words) joined in one step; longer inputs
/// are done in pieces of three such thirds.
const LANE_WORDS_MAX: usize = 128;

/// CRC32C's polynomial, bit-reflected (bit 0 is the coefficient of x^31).
const POLY: u32 = 0x82f6_3b78;

/// `v · x^n mod P`, for `v` in the bit-reflected form of [`POLY`].
const fn mul_xn(mut v: u32, n: usize) -> u32 {
    let mut i = 0;
    while i < n {
        v = if v & 1 != 0 { (v >> 1) ^ POLY } else { v >> 1 };
        i += 1;
    }
    v
}

/// For `j` words per third: `[x^(128j-33), x^(64j-33)] mod P` (reflected),
/// the factors that move a chain's state over two thirds and over one.
const fn shift_factors() -> [[u64; 2]; LANE_WORDS_MAX + 1] {
    let mut t = [[0u64; 2]; LANE_WORDS_MAX + 1];
    // x^31 is bit 0 in the reflected form; x^95 = x^31 · x^64.
    let mut one = 1u32;
    let mut two = mul_xn(1, 64);
    let mut j = 1;
    while j <= LANE_WORDS_MAX {
        t[j] = [two as u64, one as u64];
        one = mul_xn(one, 64);
        two = mul_xn(two, 128);
        j += 1;
    }
    t
}

/// [`shift_factors`], computed at compile time.
static SHIFT: [[u64; 2]; LANE_WORDS_MAX + 1] = shift_factors();

/// Continues the CRC32C `crc` (of the bytes before `data`) over `data`.
#[inline]
pub(crate) fn append(crc: u32, data: &[u8]) -> u32 {
    append_tuned(crc, data, THREE_WAY_MIN, HW_MAX)
}

/// The CRC32C of `data`.
#[inline]
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    append(0, data)
}

/// [`append`] with its two thresholds as arguments: inputs from
/// `three_way_min` bytes go through three chains, inputs longer than
/// `hw_max` to the crate. The tests and `benches/crc.rs` force each path with it.
#[inline(always)]
pub(crate) fn append_tuned(crc: u32, data: &[u8], three_way_min: usize, hw_max: usize) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() <= hw_max
            && std::arch::is_x86_feature_detected!("sse4.2")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
        {
            // SAFETY: `hw_append` needs the SSE 4.2 and PCLMULQDQ
            // instructions, which the CPU was just detected to have; it
            // reads no memory but `data` and its own table (through safe
            // slice and array reads) and has no other precondition.
            #[allow(unsafe_code)]
            return unsafe { hw_append(crc, data, three_way_min) };
        }
    }
    let _ = (three_way_min, hw_max);
    crc32c::crc32c_append(crc, data)
}

/// [`append`] with the `crc32` and `pclmulqdq` instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2,pclmulqdq")]
fn hw_append(crc: u32, data: &[u8], three_way_min: usize) -> u32 {
    let state = if data.len() >= three_way_min {
        three_way(!crc, data)
    } else {
        serial(!crc, data)
    };
    !state
}

/// Continues the raw (not inverted) CRC register `state` over `data`, one
/// chain of 8-byte steps, then 4, 2 and 1 bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn serial(state: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};
    let (words, rest) = data.as_chunks::<8>();
    let mut c = u64::from(state);
    for w in words {
        c = _mm_crc32_u64(c, u64::from_le_bytes(*w));
    }
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
    c
}

/// Continues the raw CRC register `state` over `data` in three chains.
///
/// The input is cut into a head and three thirds `A`, `B`, `C` of `8j`
/// bytes each (`j` as large as fits, at most [`LANE_WORDS_MAX`]; longer
/// inputs are done in pieces of `3 · 8 · LANE_WORDS_MAX` bytes first). The
/// head (under 24 bytes) continues `state` serially; then `A` continues it
/// while `B` and `C` start from 0, one 8-byte step of each in turn. The
/// register is linear: the state after `A B C` is `a · x^(2·64j) + b ·
/// x^(64j) + c (mod P)`. A carry-less product of a 32-bit state and the
/// reflected `x^(e-33) mod P`, read as 64 bits, is `state · x^(e-33) · x`,
/// and `crc32(0, that)` multiplies by `x^32` and reduces: `state · x^e mod
/// P`. So the two products (with [`SHIFT`]'s factors for `j`) are added
/// (XOR) and reduced by one `crc32`, then `c` is added.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2,pclmulqdq")]
fn three_way(mut state: u32, mut data: &[u8]) -> u32 {
    const PIECE: usize = 3 * 8 * LANE_WORDS_MAX;
    while data.len() > PIECE {
        let (piece, rest) = data.split_at(PIECE);
        state = thirds(state, piece, LANE_WORDS_MAX);
        data = rest;
    }
    let j = data.len() / 24;
    let (head, body) = data.split_at(data.len() - 24 * j);
    let state = serial(state, head);
    if j == 0 {
        return state;
    }
    thirds(state, body, j)
}

/// Continues `state` over `data`, exactly three thirds of `j` words each
/// (`1 ≤ j ≤ LANE_WORDS_MAX`), in three chains joined at the end.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2,pclmulqdq")]
fn thirds(state: u32, data: &[u8], j: usize) -> u32 {
    use std::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_crc32_u64, _mm_cvtsi128_si64, _mm_cvtsi64_si128, _mm_xor_si128,
    };
    let (words, _) = data.as_chunks::<8>();
    let (a, rest) = words.split_at(j);
    let (b, c) = rest.split_at(j);
    let (mut ca, mut cb, mut cc) = (u64::from(state), 0u64, 0u64);
    for ((x, y), z) in a.iter().zip(b).zip(c) {
        ca = _mm_crc32_u64(ca, u64::from_le_bytes(*x));
        cb = _mm_crc32_u64(cb, u64::from_le_bytes(*y));
        cc = _mm_crc32_u64(cc, u64::from_le_bytes(*z));
    }
    let [two, one] = SHIFT[j];
    // The states and factors are below 2^32: the casts keep their bits.
    let pa = _mm_clmulepi64_si128(
        _mm_cvtsi64_si128(ca as i64),
        _mm_cvtsi64_si128(two as i64),
        0x00,
    );
    let pb = _mm_clmulepi64_si128(
        _mm_cvtsi64_si128(cb as i64),
        _mm_cvtsi64_si128(one as i64),
        0x00,
    );
    let p = _mm_cvtsi128_si64(_mm_xor_si128(pa, pb)) as u64;
    (_mm_crc32_u64(0, p) ^ cc) as u32
}

/// The property of the `crc` fuzz target (`fuzz/fuzz_targets/crc.rs`),
/// also replayed by the unit tests: `input` is a seed (4 bytes), a start
/// offset (the low 4 bits of 1 byte), a cut (1 byte, a fraction of the
/// rest), then the bytes to checksum. Every path of [`append_tuned`] (as
/// tuned, one chain only, three chains from the first byte) and an append
/// in two calls cut there must equal the `crc32c` crate.
#[cfg(any(test, fuzzing))]
#[cfg_attr(fuzzing, allow(dead_code))] // Used by the fuzz target's copy of this module.
pub(crate) fn check_against_crate(input: &[u8]) {
    let Some((head, rest)) = input.split_first_chunk::<6>() else {
        return;
    };
    let seed = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let data = rest.get(usize::from(head[4] & 15)..).unwrap_or(&[]);
    let want = crc32c::crc32c_append(seed, data);
    let len = data.len();
    assert_eq!(append(seed, data), want, "append, len {len}");
    let serial = append_tuned(seed, data, usize::MAX, usize::MAX);
    assert_eq!(serial, want, "one chain, len {len}");
    let three = append_tuned(seed, data, 0, usize::MAX);
    assert_eq!(three, want, "three chains, len {len}");
    let (x, y) = data.split_at(len * usize::from(head[5]) / 255);
    assert_eq!(
        append(append(seed, x), y),
        want,
        "cut at {}, len {len}",
        x.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random bytes (a fixed xorshift), the same every run.
    fn bytes(len: usize, mut x: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Every path (the dispatch as tuned, one chain only, three chains from
    /// the first byte) against the crate.
    fn check(seed: u32, d: &[u8], what: &str) {
        let want = crc32c::crc32c_append(seed, d);
        assert_eq!(append(seed, d), want, "append: {what}");
        assert_eq!(
            append_tuned(seed, d, usize::MAX, usize::MAX),
            want,
            "serial: {what}"
        );
        assert_eq!(
            append_tuned(seed, d, 0, usize::MAX),
            want,
            "three-way: {what}"
        );
    }

    #[test]
    fn matches_the_crc32c_crate_at_every_length_alignment_and_seed() {
        let data = bytes(4096 + 16, 0x9e37_79b9_7f4a_7c15);
        for start in 0..16 {
            for len in 0..=4096 {
                let d = &data[start..start + len];
                for seed in [0u32, 0x1234_5678, u32::MAX] {
                    check(seed, d, &format!("start {start} len {len} seed {seed:#x}"));
                }
            }
        }
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn matches_the_crc32c_crate_at_random_lengths_to_64_kib() {
        let data = bytes((64 << 10) + 16, 0x2545_f491_4f6c_dd1d);
        let mut x = 0x853c_49e6_748f_ea9bu64;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as usize
        };
        // The piece boundaries of `three_way`.
        let piece = 3 * 8 * LANE_WORDS_MAX;
        let mut lens: Vec<usize> = (1..=8)
            .flat_map(|k| [k * piece - 1, k * piece, k * piece + 1, k * piece + 23])
            .collect();
        // Around the crate's threshold, and random lengths.
        lens.extend([HW_MAX - 1, HW_MAX, HW_MAX + 1]);
        lens.extend((0..400).map(|_| next() % ((64 << 10) + 1)));
        for len in lens {
            let start = next() % 16;
            let seed = next() as u32;
            check(
                seed,
                &data[start..start + len],
                &format!("start {start} len {len}"),
            );
        }
    }

    #[test]
    fn shift_factors_are_powers_of_x() {
        // x^(64j-33) for j = 1 is x^31 (bit 0); each next one is 64 more.
        let t = shift_factors();
        assert_eq!(t[1][1], 1);
        for j in 1..LANE_WORDS_MAX {
            assert_eq!(u64::from(mul_xn(t[j][1] as u32, 64)), t[j + 1][1], "j {j}");
            assert_eq!(u64::from(mul_xn(t[j][1] as u32, 64 * j)), t[j][0], "j {j}");
        }
        // x^32 mod P is the polynomial's low terms.
        assert_eq!(mul_xn(1, 1), POLY);
    }

    /// A split anywhere gives the same CRC as one call (the contract the
    /// writer and the header seeds rely on).
    #[test]
    fn appending_in_two_calls_is_one_call() {
        let data = bytes(5000, 7);
        for cut in (0..=5000).step_by(37) {
            let (x, y) = data.split_at(cut);
            assert_eq!(append(append(0, x), y), crc32c(&data), "cut {cut}");
        }
    }

    /// Every input saved under `fuzz/regressions/crc/` (kept after a fix)
    /// and random ones (a stable-Rust stand-in for the fuzzer) pass the
    /// fuzz target's property.
    #[test]
    fn fuzz_property_on_saved_and_random_inputs() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/crc");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries {
                let path = e.unwrap().path();
                check_against_crate(&std::fs::read(&path).unwrap());
            }
        }
        let mut x = 5u64;
        for i in 0..300 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = if i % 10 == 0 { 40_000 } else { 1_200 };
            check_against_crate(&bytes((x >> 33) as usize % len, x));
        }
    }
}
