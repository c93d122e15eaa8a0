//! Batches, the WAL's logical records: a 12-byte header (sequence number,
//! u64 little-endian; entry count, u32 little-endian: RocksDB's WriteBatch
//! header) followed by `count` entries, each a varint32 length and that
//! many bytes. See `docs/wal.md`, "Batches".
//!
//! Decoding is bounded: the count and every length are checked against the
//! bytes that remain before anything is allocated, so a malformed payload
//! costs at most one pass over it and never more memory than its size.

use bytes::Bytes;

use crate::error::{Error, Result};

/// Size of a batch header: sequence number (8 bytes) and entry count (4).
pub const BATCH_HEADER_LEN: usize = 12;

/// A batch being built: entries appended in order, written to the WAL as
/// one logical record by [`Wal::append`](crate::wal::Wal::append), which
/// gives it its sequence number. A crash never leaves part of a batch
/// replayable: its checksummed record is whole or dropped.
///
/// ```
/// use blocklog::wal::Batch;
///
/// let mut batch = Batch::new();
/// batch.put(b"set a 1")?.put(b"set b 2")?;
/// assert_eq!(batch.len(), 2);
/// assert_eq!(batch.encoded_len(), 12 + 2 * (1 + 7));
/// # Ok::<(), blocklog::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The encoding, header included (its sequence field is filled when
    /// the batch is appended).
    buf: Vec<u8>,
    count: u32,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch {
            buf: vec![0; BATCH_HEADER_LEN],
            count: 0,
        }
    }

    /// Appends one entry. Fails with [`Error::InvalidInput`] (the batch is
    /// unchanged) when the entry is longer than `u32::MAX` bytes or the
    /// batch already holds `u32::MAX` entries.
    pub fn put(&mut self, entry: &[u8]) -> Result<&mut Batch> {
        let len = u32::try_from(entry.len()).map_err(|_| Error::InvalidInput {
            offset: 0,
            what: "a batch entry is longer than u32::MAX bytes",
        })?;
        if self.count == u32::MAX {
            return Err(Error::InvalidInput {
                offset: 0,
                what: "a batch holds at most u32::MAX entries",
            });
        }
        put_varint32(&mut self.buf, len);
        self.buf.extend_from_slice(entry);
        self.count += 1;
        Ok(self)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the batch has no entry (the WAL refuses to append it).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size of the record payload the batch becomes.
    pub fn encoded_len(&self) -> usize {
        self.buf.len()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.buf.truncate(BATCH_HEADER_LEN);
        self.count = 0;
    }

    /// The encoding with `seq` as its sequence number.
    pub fn encode(&mut self, seq: u64) -> &[u8] {
        self.buf[0..8].copy_from_slice(&seq.to_le_bytes());
        self.buf[8..12].copy_from_slice(&self.count.to_le_bytes());
        &self.buf
    }

    /// Writes the encoding with `seq` as its sequence number into `out`
    /// (cleared first).
    pub fn encode_into(&self, seq: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.buf[BATCH_HEADER_LEN..]);
    }
}

/// Appends `v` as a varint32 (7 bits a byte, low bits first).
fn put_varint32(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint32 at `*pos` of `buf`, advancing `pos`.
fn get_varint32(buf: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    for i in 0..5 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if i == 4 && b > 0x0f {
            return None; // more than 32 bits
        }
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A batch header's fields: after the whole payload was checked
/// ([`check`]), or the header alone ([`header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Sequence number of the batch's first entry.
    pub seq: u64,
    /// Number of entries (at least 1 after [`check`]; [`header`] accepts 0);
    /// the entries take sequence numbers `seq .. seq + count`.
    pub count: u32,
}

/// Reads the 12-byte header alone, as RocksDB's WriteBatch header (the
/// entries that follow are another writer's, not checked): the payload
/// must hold the header and `seq + count` must not overflow. A count of 0
/// is accepted (a RocksDB batch of log data only takes no sequence
/// number). `offset` is the record's offset, for the error.
///
/// ```
/// use blocklog::wal::batch;
///
/// let rep = [&41u64.to_le_bytes()[..], &3u32.to_le_bytes(), b"not our entries"].concat();
/// let h = batch::header(&rep, 0)?;
/// assert_eq!((h.seq, h.count), (41, 3));
/// assert!(batch::check(&rep, 0).is_err());
/// # Ok::<(), blocklog::Error>(())
/// ```
pub fn header(payload: &[u8], offset: u64) -> Result<BatchHeader> {
    let bad = |what| Error::MalformedBatch { offset, what };
    if payload.len() < BATCH_HEADER_LEN {
        return Err(bad("shorter than the 12-byte batch header"));
    }
    let seq = u64::from_le_bytes(payload[0..8].try_into().expect("8 bytes"));
    let count = u32::from_le_bytes(payload[8..12].try_into().expect("4 bytes"));
    if seq.checked_add(u64::from(count)).is_none() {
        return Err(bad("sequence number + count overflows"));
    }
    Ok(BatchHeader { seq, count })
}

/// Checks a whole batch payload (header, then exactly `count` entries
/// filling it) without allocating, and returns its header. `offset` is the
/// record's offset, for the error.
///
/// Fails with [`Error::MalformedBatch`] when the payload is shorter than a
/// header, holds no entry, has an entry running past its end or a bad
/// varint, has bytes left after the last entry, or when `seq + count`
/// overflows.
pub fn check(payload: &[u8], offset: u64) -> Result<BatchHeader> {
    let bad = |what| Error::MalformedBatch { offset, what };
    let h = header(payload, offset)?;
    let count = h.count;
    if count == 0 {
        return Err(bad("a batch with no entry"));
    }
    // Every entry takes at least one byte (its length): a count larger than
    // the bytes left is refused before walking them.
    if count as usize > payload.len() - BATCH_HEADER_LEN {
        return Err(bad("more entries than the payload has bytes"));
    }
    let mut pos = BATCH_HEADER_LEN;
    for _ in 0..count {
        let len =
            get_varint32(payload, &mut pos).ok_or_else(|| bad("bad varint32 entry length"))?;
        let end = pos
            .checked_add(len as usize)
            .filter(|&e| e <= payload.len())
            .ok_or_else(|| bad("an entry runs past the end of the batch"))?;
        pos = end;
    }
    if pos != payload.len() {
        return Err(bad("bytes after the last entry"));
    }
    Ok(h)
}

/// The entries of a batch payload, as zero-copy slices of it, after the
/// same checks as [`check`].
///
/// ```
/// use blocklog::wal::{batch, Batch};
///
/// let mut b = Batch::new();
/// b.put(b"one")?.put(b"")?.put(b"three")?;
/// let payload = bytes::Bytes::copy_from_slice(b.encode(41));
/// assert_eq!(batch::check(&payload, 0)?.seq, 41);
/// assert_eq!(batch::entries(&payload, 0)?, ["one", "", "three"]);
/// # Ok::<(), blocklog::Error>(())
/// ```
pub fn entries(payload: &Bytes, offset: u64) -> Result<Vec<Bytes>> {
    let header = check(payload, offset)?;
    // Bounded by the payload's size (checked above).
    let mut out = Vec::with_capacity(header.count as usize);
    let mut pos = BATCH_HEADER_LEN;
    for _ in 0..header.count {
        let len = get_varint32(payload, &mut pos).expect("checked") as usize;
        out.push(payload.slice(pos..pos + len));
        pos += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip_at_every_width() {
        for v in [
            0u32,
            1,
            127,
            128,
            16_383,
            16_384,
            1 << 21,
            (1 << 28) - 1,
            1 << 28,
            u32::MAX,
        ] {
            let mut buf = Vec::new();
            put_varint32(&mut buf, v);
            let mut pos = 0;
            assert_eq!(get_varint32(&buf, &mut pos), Some(v));
            assert_eq!(pos, buf.len());
        }
        // A fifth byte with more than 4 bits, and a varint cut short.
        assert_eq!(get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x10], &mut 0), None);
        assert_eq!(get_varint32(&[0x80], &mut 0), None);
    }

    #[test]
    fn malformed_batches_are_refused_with_a_reason() {
        let mut b = Batch::new();
        b.put(b"abc").unwrap();
        let good = b.encode(7).to_vec();
        assert_eq!(check(&good, 0).unwrap(), BatchHeader { seq: 7, count: 1 });
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..11].to_vec(), "shorter"),
            (
                [&good[..8], &0u32.to_le_bytes()[..], &good[12..]].concat(),
                "no entry",
            ),
            (
                [&good[..8], &1000u32.to_le_bytes()[..], &good[12..]].concat(),
                "more entries",
            ),
            (
                [&u64::MAX.to_le_bytes()[..], &good[8..]].concat(),
                "overflows",
            ),
            (good[..good.len() - 1].to_vec(), "runs past"),
            ([&good[..], b"x"].concat(), "after the last"),
        ];
        for (payload, what) in cases {
            match check(&payload, 5) {
                Err(Error::MalformedBatch { offset: 5, what: w }) => {
                    assert!(w.contains(what), "{w}")
                }
                other => panic!("{what}: {other:?}"),
            }
        }
    }
}
