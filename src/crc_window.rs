//! Sliding-window CRC32C for the byte scan.
//!
//! Looking past damage, the reader checks the checksum of every position
//! that looks like a header. In a byte pattern that looks like a header at
//! every position (a block of 0x01 or 0x0B bytes), the candidates share a
//! length, and their checksummed windows (type byte, log number, payload:
//! contiguous bytes of the block) overlap almost entirely. CRC32C is linear
//! over GF(2), so the checksum of a window moved by one byte follows from
//! the previous one in O(1): add the byte entering at the end, remove the
//! byte leaving at the start. That turns the scan of such patterns from
//! O(length) per position into O(1), without `unsafe` or SIMD.
//!
//! The algebra (reflected CRC32C, polynomial 0x82F63B78): for byte strings
//! `A` and `B`, `crc(A ‖ B) = crc(A) · x^(8·|B|) ⊕ crc(B)` (multiplication
//! modulo the polynomial). With `A` one byte `a` and `W` the window that
//! follows it: `crc(W') = append(crc(a ‖ W), b) ⊕ crc(a) · x^(8·n)` where
//! `W'` is `W` moved one byte on, `b` the byte entering and `n = |W|`.

use crate::format::crc32c_of_byte;

/// CRC32C's polynomial, reflected.
const POLY: u32 = 0x82f6_3b78;

/// The byte-at-a-time table of the reflected CRC32C.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// `a · b` modulo the polynomial, in the reflected representation (bit 31
/// is x^0).
const fn mul(a: u32, mut b: u32) -> u32 {
    let mut m = 1u32 << 31;
    let mut p = 0u32;
    loop {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                return p;
            }
        }
        m >>= 1;
        if m == 0 {
            return p;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
}

/// `x^(2^k)` modulo the polynomial, for k = 0..32.
const X2N: [u32; 32] = {
    let mut t = [0u32; 32];
    t[0] = 1 << 30; // x^1
    let mut k = 1;
    while k < 32 {
        t[k] = mul(t[k - 1], t[k - 1]);
        k += 1;
    }
    t
};

/// `x^(8·n)` modulo the polynomial: what multiplying by it does to a
/// checksum is appending `n` zero bytes' worth of shift.
fn x8n(mut n: usize) -> u32 {
    let mut p = 1u32 << 31; // x^0
    let mut k = 3;
    while n != 0 {
        if n & 1 != 0 {
            p = mul(X2N[k & 31], p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

/// Appends one byte to a CRC32C.
#[inline]
fn append_byte(crc: u32, b: u8) -> u32 {
    let s = !crc;
    !((s >> 8) ^ TABLE[((s ^ u32::from(b)) & 0xff) as usize])
}

/// How far a cached window may be moved on, byte by byte, before a direct
/// checksum is cheaper to reason about (and to bound).
const MAX_ROLL: usize = 64;

/// Windows kept at once (candidates of a few different lengths interleave).
const SLOTS: usize = 4;

/// The checksum of one window of the block, and what moving it needs.
#[derive(Debug)]
struct Window {
    start: usize,
    len: usize,
    crc: u32,
    /// `crc(b) · x^(8·len)` for every byte `b`: the contribution of the
    /// byte leaving the window. Built when the window first moves.
    leaving: Option<Box<[u32; 256]>>,
}

/// Window checksums over one block, cached by length. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    slots: Vec<Window>,
    next: usize,
}

impl Windows {
    /// The CRC32C of `block[start..start + len]`, and the work it took in
    /// bytes (the bytes checksummed, the steps moved, or a table built).
    pub(crate) fn crc(&mut self, block: &[u8], start: usize, len: usize) -> (u32, usize) {
        let slot = self.slots.iter().position(|w| w.len == len);
        if let Some(i) = slot {
            let w = &mut self.slots[i];
            if w.start <= start && start - w.start <= MAX_ROLL {
                let steps = start - w.start;
                let mut work = steps;
                if steps > 0 && w.leaving.is_none() {
                    w.leaving = Some(leaving_table(len));
                    work += 2048;
                }
                if let Some(leaving) = &w.leaving {
                    for s in w.start..start {
                        w.crc = append_byte(w.crc, block[s + len]) ^ leaving[block[s] as usize];
                    }
                }
                w.start = start;
                return (w.crc, work);
            }
            w.start = start;
            w.crc = crate::crc::crc32c(&block[start..start + len]);
            return (w.crc, len);
        }
        let crc = crate::crc::crc32c(&block[start..start + len]);
        let w = Window {
            start,
            len,
            crc,
            leaving: None,
        };
        if self.slots.len() < SLOTS {
            self.slots.push(w);
        } else {
            self.slots[self.next] = w;
            self.next = (self.next + 1) % SLOTS;
        }
        (crc, len)
    }
}

/// `crc(b) · x^(8·len)` for every byte `b`, from nine multiplications:
/// the map is affine in `b`.
fn leaving_table(len: usize) -> Box<[u32; 256]> {
    let k = x8n(len);
    let base = mul(k, crc32c_of_byte(0));
    let mut bit = [0u32; 8];
    for (i, d) in bit.iter_mut().enumerate() {
        *d = mul(k, crc32c_of_byte(1 << i) ^ crc32c_of_byte(0));
    }
    let mut t = Box::new([0u32; 256]);
    t[0] = base;
    for b in 1..256usize {
        t[b] = t[b & (b - 1)] ^ bit[b.trailing_zeros() as usize];
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use blocklog_testkit::logs::noise;

    #[test]
    fn combine_matches_crc32c() {
        let data = noise(7, 3000);
        for split in [0, 1, 2, 100, 2999, 3000] {
            let (a, b) = data.split_at(split);
            let combined = mul(x8n(b.len()), crc32c::crc32c(a)) ^ crc32c::crc32c(b);
            assert_eq!(combined, crc32c::crc32c(&data), "split {split}");
        }
        assert_eq!(
            append_byte(crc32c::crc32c(b"ab"), b'c'),
            crc32c::crc32c(b"abc")
        );
    }

    #[test]
    fn moved_windows_match_direct_checksums() {
        for (seed, pattern) in [(1, false), (2, true)] {
            let mut block = noise(seed, 40_000);
            if pattern {
                block.iter_mut().step_by(3).for_each(|b| *b = 0x0b);
            }
            let mut w = Windows::default();
            for len in [1usize, 2, 257, 2827, 30_000] {
                for start in (0..block.len() - len).step_by(997).take(12) {
                    for d in [0usize, 1, 2, 5, 64, 65, 200] {
                        let s = start + d;
                        if s + len > block.len() {
                            continue;
                        }
                        let (crc, _) = w.crc(&block, s, len);
                        assert_eq!(crc, crc32c::crc32c(&block[s..s + len]), "{len} {s}");
                    }
                }
            }
        }
    }
}
