//! Record compression in RocksDB WALs.
//!
//! RocksDB (6.x and later) can compress its WAL (`wal_compression`). Such a
//! log starts with a SetCompressionType record (type 9, 7-byte header even in
//! a recyclable log) whose payload is a fixed32 holding RocksDB's
//! `CompressionType`; every later data record's reassembled payload is then
//! a complete compressed stream (for ZSTD, one frame) that decompresses to
//! the record the engine wrote. Fragmentation, checksums and recovery work
//! on the compressed bytes exactly as on plain ones.
//!
//! RocksDB only supports ZSTD for its WAL. Reading it needs blocklog's cargo
//! feature `zstd`; without the feature the reader returns
//! [`Error::UnsupportedCompression`] naming the feature. Any other
//! compression type is refused with the same error, naming the type.

use crate::error::Error;

/// RocksDB's `CompressionType` value for no compression.
const NO_COMPRESSION: u32 = 0;
/// RocksDB's `CompressionType` value for ZSTD.
const ZSTD: u32 = 7;

/// A codec this build can decompress. Without any compression feature the
/// enum has no variants: a reader can never hold one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// ZSTD frames.
    #[cfg(feature = "zstd")]
    Zstd,
}

/// The codec a SetCompressionType payload asks for: `Ok(None)` for no
/// compression, an error for a compression this build cannot read (`offset`
/// is the record's, for the error).
pub(crate) fn codec_for(payload: &[u8], offset: u64) -> Result<Option<Codec>, Error> {
    let mut word = [0u8; 4];
    let n = payload.len().min(4);
    word[..n].copy_from_slice(&payload[..n]);
    let compression = u32::from_le_bytes(word);
    let unsupported = |feature| Error::UnsupportedCompression {
        offset,
        compression: u8::try_from(compression).unwrap_or(u8::MAX),
        feature,
    };
    match compression {
        NO_COMPRESSION => Ok(None),
        #[cfg(feature = "zstd")]
        ZSTD => Ok(Some(Codec::Zstd)),
        #[cfg(not(feature = "zstd"))]
        ZSTD => Err(unsupported("zstd")),
        _ => Err(unsupported("none")),
    }
}

/// Why a compressed record could not be turned back into its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "zstd"), allow(dead_code))]
pub(crate) enum DecompressError {
    /// The record decompresses to more than the reader's `max_record_size`.
    TooLarge,
    /// The compressed bytes are not a valid stream of the codec.
    Invalid,
}

/// Log2 of the smallest window limit: 8 MiB.
#[cfg(feature = "zstd")]
const MIN_WINDOW_LOG: u32 = 23;

/// A decompressor, kept by the reader across records so that its context
/// (about 100 KiB for ZSTD) is allocated once.
pub(crate) struct Decompressor {
    #[cfg(feature = "zstd")]
    zstd: Option<zstd::stream::raw::Decoder<'static>>,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decompressor")
    }
}

impl Decompressor {
    /// A decompressor with no context allocated yet.
    pub(crate) fn new() -> Decompressor {
        Decompressor {
            #[cfg(feature = "zstd")]
            zstd: None,
        }
    }

    /// Decompresses one record. Never allocates an output larger than
    /// `limit` bytes, nor a decoding window larger than the smallest power
    /// of two at or above `limit` (or 8 MiB when `limit` is smaller),
    /// whatever `input` claims.
    #[cfg_attr(not(feature = "zstd"), allow(unused_variables))]
    pub(crate) fn decompress(
        &mut self,
        codec: Codec,
        input: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, DecompressError> {
        match codec {
            #[cfg(feature = "zstd")]
            Codec::Zstd => self.zstd(input, limit),
        }
    }

    #[cfg(feature = "zstd")]
    fn zstd(&mut self, input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
        use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

        let invalid = |_: std::io::Error| DecompressError::Invalid;
        // The window a frame may ask for: enough for a record of `limit`
        // bytes, and at least 8 MiB (what zstd's levels up to 19 use for
        // streams of unknown size), never more than zstd's 2^31.
        let window_log = usize::BITS - limit.saturating_sub(1).leading_zeros();
        let window_log = window_log.clamp(MIN_WINDOW_LOG, 31);
        let decoder = match &mut self.zstd {
            Some(d) => {
                d.reinit().map_err(invalid)?;
                d
            }
            None => self.zstd.insert(Decoder::new().map_err(invalid)?),
        };
        decoder
            .set_parameter(DParameter::WindowLogMax(window_log))
            .map_err(invalid)?;

        let mut input = InBuffer::around(input);
        let mut out: Vec<u8> = Vec::new();
        loop {
            let (read_before, len_before) = (input.pos(), out.len());
            let remaining = if out.len() < out.capacity() {
                let mut ob = OutBuffer::around_pos(&mut out, len_before);
                decoder.run(&mut input, &mut ob).map_err(invalid)?
            } else if out.capacity() < limit {
                // Grow geometrically, never past the limit.
                let target = (2 * out.capacity()).max(4 * input.src.len()).max(4096);
                out.reserve_exact(target.min(limit) - out.len());
                continue;
            } else {
                // Full at the limit: one more byte of output means too large.
                let mut probe = [0u8; 1];
                let mut ob = OutBuffer::around(&mut probe[..]);
                let remaining = decoder.run(&mut input, &mut ob).map_err(invalid)?;
                if ob.pos() > 0 {
                    return Err(DecompressError::TooLarge);
                }
                remaining
            };
            let input_done = input.pos() == input.src.len();
            if remaining == 0 && input_done {
                // A frame ended exactly at the end of the record.
                return Ok(out);
            }
            let progressed = input.pos() != read_before || out.len() != len_before;
            let room = out.len() < out.capacity();
            // The record ends inside a frame, or the decoder is stuck.
            if room && !progressed {
                return Err(DecompressError::Invalid);
            }
        }
    }
}

#[cfg(all(test, feature = "zstd"))]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(data, 3).unwrap()
    }

    #[test]
    fn roundtrip_and_reuse() {
        let mut d = Decompressor::new();
        for len in [0usize, 1, 100, 4095, 4096, 4097, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let out = d.decompress(Codec::Zstd, &frame(&data), 1 << 20).unwrap();
            assert_eq!(out, data, "len {len}");
        }
    }

    #[test]
    fn exact_limit_is_accepted_one_more_byte_is_not() {
        let mut d = Decompressor::new();
        let data = vec![b'a'; 10_000];
        let f = frame(&data);
        assert_eq!(d.decompress(Codec::Zstd, &f, 10_000).unwrap(), data);
        assert_eq!(
            d.decompress(Codec::Zstd, &f, 9_999),
            Err(DecompressError::TooLarge)
        );
    }

    #[test]
    fn a_bomb_is_refused_without_allocating_its_size() {
        // 64 MiB of zeros compresses to a few KiB; a 1 MiB limit must stop
        // it after at most 1 MiB of output.
        let zeros = vec![0u8; 1 << 20];
        let mut w = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        w.set_pledged_src_size(Some(64 << 20)).unwrap();
        w.include_contentsize(true).unwrap();
        for _ in 0..64 {
            std::io::Write::write_all(&mut w, &zeros).unwrap();
        }
        let bomb = w.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        let mut d = Decompressor::new();
        let err = d.decompress(Codec::Zstd, &bomb, 1 << 20).unwrap_err();
        assert!(
            matches!(err, DecompressError::TooLarge | DecompressError::Invalid),
            "{err:?}"
        );
        // The same reader still decodes a good frame afterwards.
        assert_eq!(
            d.decompress(Codec::Zstd, &frame(b"ok"), 1 << 20).unwrap(),
            b"ok"
        );
    }

    #[test]
    fn corrupt_and_truncated_frames_are_invalid() {
        let mut d = Decompressor::new();
        let data: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
        let f = frame(&data);
        for cut in [0, 1, 4, 10, f.len() / 2, f.len() - 1] {
            assert!(
                matches!(
                    d.decompress(Codec::Zstd, &f[..cut], 1 << 20),
                    Err(DecompressError::Invalid)
                ),
                "cut at {cut}"
            );
        }
        let mut bad = f.clone();
        bad.extend_from_slice(b"trailing garbage");
        assert!(matches!(
            d.decompress(Codec::Zstd, &bad, 1 << 20),
            Err(DecompressError::Invalid)
        ));
        let mut flipped = f.clone();
        let at = flipped.len() - 2; // inside the content checksum
        flipped[at] ^= 1;
        assert!(matches!(
            d.decompress(Codec::Zstd, &flipped, 1 << 20),
            Err(DecompressError::Invalid)
        ));
    }

    #[test]
    fn codec_names() {
        assert_eq!(codec_for(&[7, 0, 0, 0], 0).unwrap(), Some(Codec::Zstd));
        assert_eq!(codec_for(&[0, 0, 0, 0], 0).unwrap(), None);
        let e = codec_for(&[4, 0, 0, 0], 9).unwrap_err();
        assert!(e.to_string().contains("lz4"), "{e}");
    }
}
