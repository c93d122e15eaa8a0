//! Building and editing logs for the core tests: write records, make
//! payloads, fix a checksum after an edit.

use blocklog::{Writer, WriterOptions};

use crate::rng::Rng;

/// The block size.
pub const BLOCK: usize = blocklog::format::BLOCK_SIZE;
/// The legacy header size.
pub const HDR: usize = blocklog::format::HEADER_SIZE;
/// The recyclable header size.
pub const RHDR: usize = blocklog::format::RECYCLABLE_HEADER_SIZE;

/// Writes `records` into a new legacy log: its bytes and each record's offset.
pub fn write_log(records: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    write_with(WriterOptions::new(), records)
}

/// Writes `records` with `opts` into a new log: its bytes and each record's offset.
pub fn write_with(opts: WriterOptions, records: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut w = opts.build(Vec::new());
    let offsets = records.iter().map(|r| w.add_record(r).unwrap()).collect();
    (w.into_inner().unwrap(), offsets)
}

/// A writer into memory.
pub fn writer() -> Writer<Vec<u8>> {
    Writer::new(Vec::new())
}

/// `n` bytes made of `tag` repeated: LevelDB's BigString.
pub fn big(tag: &str, n: usize) -> Vec<u8> {
    tag.bytes().cycle().take(n).collect()
}

/// `n` pseudo-random bytes from `seed` ([`Rng`]).
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

/// Rewrites the checksum of the record whose header is at `at`
/// after its header or payload was edited.
pub fn fix_checksum(log: &mut [u8], at: usize) {
    let t = blocklog::format::RecordType::from_byte(log[at + 6]);
    let len = u16::from_le_bytes([log[at + 4], log[at + 5]]) as usize;
    let hs = t.header_size();
    let ln = if t.is_recyclable() {
        Some(u32::from_le_bytes(log[at + 7..at + 11].try_into().unwrap()))
    } else {
        None
    };
    let crc = blocklog::format::record_crc(t, ln, &log[at + hs..at + hs + len]);
    log[at..at + 4].copy_from_slice(&blocklog::format::mask_crc(crc).to_le_bytes());
}
