//! The on-disk format: block and header sizes, record types, header
//! encoding and the masked CRC32C.
//!
//! `docs/format.md` is the prose specification; this module is its code.
//! Everything here is pure: no I/O, no allocation.

/// Size of a block. Fragments never cross a block boundary.
pub const BLOCK_SIZE: usize = 32 * 1024;

/// Size of a legacy header: masked CRC32C (4), payload length (2), type (1).
pub const HEADER_SIZE: usize = 7;

/// Size of a recyclable header: a legacy header followed by a 4-byte log number.
pub const RECYCLABLE_HEADER_SIZE: usize = 11;

/// The largest payload a single fragment can carry (a whole block minus a header).
pub const MAX_FRAGMENT_PAYLOAD: usize = BLOCK_SIZE - HEADER_SIZE;

/// Type bit marking a metadata record that readers which do not know it may skip.
pub const IGNORABLE_TYPE_BIT: u8 = 0x80;

const MASK_DELTA: u32 = 0xa282_ead8;

/// Masks a CRC32C as LevelDB and RocksDB store it.
///
/// Storing the CRC of data that itself contains CRCs makes accidental
/// matches more likely; rotating and offsetting the value avoids that.
#[inline]
pub fn mask_crc(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Inverts [`mask_crc`].
#[inline]
pub fn unmask_crc(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

/// The physical record type stored in the last byte of a legacy header.
///
/// Values that no known writer produces are kept as [`RecordType::Unknown`]
/// so a reader can report them exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// 0: reserved for preallocated (zero-filled) space; never written as a record.
    Zero,
    /// 1: a whole logical record in one fragment.
    Full,
    /// 2: the first fragment of a logical record.
    First,
    /// 3: an interior fragment.
    Middle,
    /// 4: the last fragment.
    Last,
    /// 5: [`RecordType::Full`] with a recyclable header.
    RecyclableFull,
    /// 6: [`RecordType::First`] with a recyclable header.
    RecyclableFirst,
    /// 7: [`RecordType::Middle`] with a recyclable header.
    RecyclableMiddle,
    /// 8: [`RecordType::Last`] with a recyclable header.
    RecyclableLast,
    /// 9: RocksDB's compression marker: the payload names the compression of
    /// every later record in the file.
    SetCompression,
    /// 10: RocksDB's user-defined timestamp sizes (legacy header).
    TimestampSize,
    /// 11: RocksDB's user-defined timestamp sizes (recyclable header).
    RecyclableTimestampSize,
    /// 130: RocksDB's predecessor-WAL information (legacy header).
    PredecessorWalInfo,
    /// 131: RocksDB's predecessor-WAL information (recyclable header).
    RecyclablePredecessorWalInfo,
    /// 0xF1: blocklog WAL marker at the start of each file: the previous
    /// file's number, last sequence and size (see `docs/wal.md`).
    WalPredecessor,
    /// 0xF2: blocklog WAL marker written after a successful sync: every
    /// byte before the offset it names was durable.
    WalSynced,
    /// 0xF3: blocklog WAL marker closing a file (rotation, clean close).
    WalSeal,
    /// 0xF4: blocklog WAL marker announcing a purge: files entirely at or
    /// below its checkpoint sequence are deleted.
    WalPurge,
    /// 0xF5: a blocklog WAL marker (or the WAL's padding) with a recyclable
    /// header carrying the log number, as a WAL that recycles its files
    /// writes them: the payload's first byte is the legacy type (0xF1 to
    /// 0xF4, or 0xF0 for padding), the rest that type's payload (see
    /// `docs/wal.md`). One type for all of them, so that the decoder's
    /// resync scan has few more candidates to check. (The padding record of
    /// a legacy-header file, 0xF0, is deliberately not a known type: an
    /// ignorable unknown type, bit 0x80, which every reader skips.)
    WalRecyclableMarker,

    /// Any other value.
    Unknown(u8),
}

impl RecordType {
    /// Decodes a type byte.
    pub fn from_byte(b: u8) -> RecordType {
        match b {
            0 => RecordType::Zero,
            1 => RecordType::Full,
            2 => RecordType::First,
            3 => RecordType::Middle,
            4 => RecordType::Last,
            5 => RecordType::RecyclableFull,
            6 => RecordType::RecyclableFirst,
            7 => RecordType::RecyclableMiddle,
            8 => RecordType::RecyclableLast,
            9 => RecordType::SetCompression,
            10 => RecordType::TimestampSize,
            11 => RecordType::RecyclableTimestampSize,
            130 => RecordType::PredecessorWalInfo,
            131 => RecordType::RecyclablePredecessorWalInfo,
            0xF1 => RecordType::WalPredecessor,
            0xF2 => RecordType::WalSynced,
            0xF3 => RecordType::WalSeal,
            0xF4 => RecordType::WalPurge,
            0xF5 => RecordType::WalRecyclableMarker,
            other => RecordType::Unknown(other),
        }
    }

    /// Encodes the type as its byte.
    pub fn to_byte(self) -> u8 {
        match self {
            RecordType::Zero => 0,
            RecordType::Full => 1,
            RecordType::First => 2,
            RecordType::Middle => 3,
            RecordType::Last => 4,
            RecordType::RecyclableFull => 5,
            RecordType::RecyclableFirst => 6,
            RecordType::RecyclableMiddle => 7,
            RecordType::RecyclableLast => 8,
            RecordType::SetCompression => 9,
            RecordType::TimestampSize => 10,
            RecordType::RecyclableTimestampSize => 11,
            RecordType::PredecessorWalInfo => 130,
            RecordType::RecyclablePredecessorWalInfo => 131,
            RecordType::WalPredecessor => 0xF1,
            RecordType::WalSynced => 0xF2,
            RecordType::WalSeal => 0xF3,
            RecordType::WalPurge => 0xF4,
            RecordType::WalRecyclableMarker => 0xF5,
            RecordType::Unknown(b) => b,
        }
    }

    /// Whether a header of this type carries a log number (11-byte header).
    pub fn is_recyclable(self) -> bool {
        matches!(
            self,
            RecordType::RecyclableFull
                | RecordType::RecyclableFirst
                | RecordType::RecyclableMiddle
                | RecordType::RecyclableLast
                | RecordType::RecyclableTimestampSize
                | RecordType::RecyclablePredecessorWalInfo
                | RecordType::WalRecyclableMarker
        )
    }

    /// The header size used by a record of this type.
    pub fn header_size(self) -> usize {
        if self.is_recyclable() {
            RECYCLABLE_HEADER_SIZE
        } else {
            HEADER_SIZE
        }
    }

    /// Whether the type is unknown but marked safe to ignore (bit 0x80 set).
    pub fn is_ignorable_unknown(self) -> bool {
        matches!(self, RecordType::Unknown(b) if b & IGNORABLE_TYPE_BIT != 0)
    }

    /// The fragment role of a data type, or `None` for metadata, zero and unknown types.
    pub fn fragment(self) -> Option<Fragment> {
        match self {
            RecordType::Full | RecordType::RecyclableFull => Some(Fragment::Full),
            RecordType::First | RecordType::RecyclableFirst => Some(Fragment::First),
            RecordType::Middle | RecordType::RecyclableMiddle => Some(Fragment::Middle),
            RecordType::Last | RecordType::RecyclableLast => Some(Fragment::Last),
            _ => None,
        }
    }

    /// Whether a reader knows this type (data fragment or known metadata).
    pub fn is_known(self) -> bool {
        !matches!(self, RecordType::Zero | RecordType::Unknown(_))
    }

    /// The data type for a fragment role in the given header format.
    pub fn for_fragment(fragment: Fragment, recyclable: bool) -> RecordType {
        match (fragment, recyclable) {
            (Fragment::Full, false) => RecordType::Full,
            (Fragment::First, false) => RecordType::First,
            (Fragment::Middle, false) => RecordType::Middle,
            (Fragment::Last, false) => RecordType::Last,
            (Fragment::Full, true) => RecordType::RecyclableFull,
            (Fragment::First, true) => RecordType::RecyclableFirst,
            (Fragment::Middle, true) => RecordType::RecyclableMiddle,
            (Fragment::Last, true) => RecordType::RecyclableLast,
        }
    }
}

/// The role of a data fragment within its logical record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fragment {
    /// The whole record.
    Full,
    /// The first piece of a record spanning blocks.
    First,
    /// A piece between the first and the last.
    Middle,
    /// The last piece.
    Last,
}

impl Fragment {
    /// Whether this fragment begins a logical record.
    pub fn starts_record(self) -> bool {
        matches!(self, Fragment::Full | Fragment::First)
    }
}

/// A decoded header. The checksum is not verified by decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The masked CRC32C as stored.
    pub masked_crc: u32,
    /// Payload length in bytes.
    pub length: u16,
    /// Record type.
    pub record_type: RecordType,
    /// Log number, present for recyclable types.
    pub log_number: Option<u32>,
}

impl Header {
    /// Size of this header on disk.
    pub fn size(&self) -> usize {
        self.record_type.header_size()
    }

    /// Decodes a header from the start of `buf`; `None` when `buf` is shorter
    /// than the header its type byte calls for.
    pub fn decode(buf: &[u8]) -> Option<Header> {
        if buf.len() < HEADER_SIZE {
            return None;
        }
        let record_type = RecordType::from_byte(buf[6]);
        let log_number = if record_type.is_recyclable() {
            if buf.len() < RECYCLABLE_HEADER_SIZE {
                return None;
            }
            Some(u32::from_le_bytes([buf[7], buf[8], buf[9], buf[10]]))
        } else {
            None
        };
        Some(Header {
            masked_crc: u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]),
            length: u16::from_le_bytes([buf[4], buf[5]]),
            record_type,
            log_number,
        })
    }

    /// Whether `payload` matches the stored checksum.
    #[inline]
    pub fn checksum_matches(&self, payload: &[u8]) -> bool {
        unmask_crc(self.masked_crc) == record_crc(self.record_type, self.log_number, payload)
    }
}

/// The CRC32C of the single byte `b` (reflected polynomial 0x82F63B78,
/// initial value and final XOR all ones), computed at compile time where
/// used in constants.
pub(crate) const fn crc32c_of_byte(b: u8) -> u32 {
    let mut crc = !0u32 ^ b as u32;
    let mut bit = 0;
    while bit < 8 {
        crc = if crc & 1 == 1 {
            (crc >> 1) ^ 0x82f6_3b78
        } else {
            crc >> 1
        };
        bit += 1;
    }
    !crc
}

/// CRC32C of each single byte: the checksum of a header's type byte, so
/// that the payload's checksum continues from it without a separate call.
const TYPE_CRC: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = crc32c_of_byte(i as u8);
        i += 1;
    }
    table
};

/// The CRC32C of a header's checksummed prefix: the type byte, then the log
/// number for recyclable types. A record's checksum continues from it.
#[inline]
pub(crate) fn crc_seed(record_type: RecordType, log_number: Option<u32>) -> u32 {
    let crc = TYPE_CRC[record_type.to_byte() as usize];
    match log_number {
        Some(n) => crate::crc::append(crc, &n.to_le_bytes()),
        None => crc,
    }
}

/// The (unmasked) CRC32C a header stores for a record: over the type byte,
/// the log number for recyclable types, then the payload.
#[inline]
pub fn record_crc(record_type: RecordType, log_number: Option<u32>, payload: &[u8]) -> u32 {
    crate::crc::append(crc_seed(record_type, log_number), payload)
}

/// Encodes a header for `payload` into `out` and returns its size.
///
/// `log_number` must be `Some` exactly for recyclable types.
///
/// # Panics
/// Panics if `payload` is longer than `u16::MAX` or `out` is shorter than the
/// header. Both are internal invariants of the writer.
pub fn encode_header(
    out: &mut [u8],
    record_type: RecordType,
    log_number: Option<u32>,
    payload: &[u8],
) -> usize {
    debug_assert_eq!(record_type.is_recyclable(), log_number.is_some());
    let len = u16::try_from(payload.len()).expect("fragment payload fits a u16");
    let crc = mask_crc(record_crc(record_type, log_number, payload));
    out[0..4].copy_from_slice(&crc.to_le_bytes());
    out[4..6].copy_from_slice(&len.to_le_bytes());
    out[6] = record_type.to_byte();
    if let Some(n) = log_number {
        out[7..11].copy_from_slice(&n.to_le_bytes());
        RECYCLABLE_HEADER_SIZE
    } else {
        HEADER_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_roundtrip() {
        for crc in [0u32, 1, 0xdead_beef, u32::MAX, 0xa282_ead8] {
            assert_eq!(unmask_crc(mask_crc(crc)), crc);
            assert_ne!(mask_crc(crc), crc);
        }
    }

    #[test]
    fn crc32c_known_vectors() {
        // RFC 3720 test vectors for CRC32C.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c::crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        let inc: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c::crc32c(&inc), 0x46dd_794e);
    }

    #[test]
    fn type_crc_table_matches_crc32c() {
        for b in 0..=255u8 {
            assert_eq!(TYPE_CRC[b as usize], crc32c::crc32c(&[b]), "byte {b}");
            let t = RecordType::from_byte(b);
            let mut prefix = vec![b];
            prefix.extend_from_slice(&0x0102_0304u32.to_le_bytes());
            assert_eq!(crc_seed(t, Some(0x0102_0304)), crc32c::crc32c(&prefix));
            assert_eq!(
                record_crc(t, None, b"abc"),
                crc32c::crc32c(&[b, b'a', b'b', b'c'])
            );
        }
    }

    #[test]
    fn type_bytes_roundtrip() {
        for b in 0..=255u8 {
            assert_eq!(RecordType::from_byte(b).to_byte(), b);
        }
    }

    #[test]
    fn header_roundtrip() {
        let mut buf = [0u8; 11];
        let n = encode_header(&mut buf, RecordType::RecyclableFirst, Some(77), b"abc");
        assert_eq!(n, 11);
        let h = Header::decode(&buf).unwrap();
        assert_eq!(h.length, 3);
        assert_eq!(h.log_number, Some(77));
        assert!(h.checksum_matches(b"abc"));
        assert!(!h.checksum_matches(b"abd"));
        assert!(Header::decode(&buf[..10]).is_none());
    }
}
