//! The sans-IO core: splitting a record into fragments at a block position
//! (writer side) and parsing one physical record out of a block (reader side).
//!
//! Nothing here reads or writes; the [`Writer`](crate::Writer) and
//! [`Reader`](crate::Reader) drive these functions over `std::io`.

use std::ops::Range;

use crate::format::{
    Fragment, Header, RecordType, BLOCK_SIZE, HEADER_SIZE, RECYCLABLE_HEADER_SIZE,
};
use crate::report::Reason;

// ---------------------------------------------------------------- writing

/// One step of laying a record out from a block position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Zero-fill this many bytes to finish the block (too few left for a header).
    Pad(usize),
    /// Emit a fragment carrying `payload` (a range of the record).
    Emit {
        fragment: Fragment,
        payload: Range<usize>,
    },
}

/// Lays out a record of `len` bytes starting at `block_offset` within a block,
/// with headers of `header_size` bytes, LevelDB's way: when fewer bytes than a
/// header remain, pad them; when exactly a header remains, emit a zero-length
/// fragment there.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    block_offset: usize,
    header_size: usize,
    len: usize,
    done: usize,
    began: bool,
    finished: bool,
}

impl Layout {
    pub(crate) fn new(block_offset: usize, header_size: usize, len: usize) -> Layout {
        debug_assert!(block_offset < BLOCK_SIZE);
        Layout {
            block_offset,
            header_size,
            len,
            done: 0,
            began: false,
            finished: false,
        }
    }

    /// The block offset after the steps taken so far.
    pub(crate) fn block_offset(&self) -> usize {
        self.block_offset
    }
}

impl Iterator for Layout {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if self.finished {
            return None;
        }
        let leftover = BLOCK_SIZE - self.block_offset;
        if leftover < self.header_size {
            self.block_offset = 0;
            return Some(Step::Pad(leftover));
        }
        let avail = leftover - self.header_size;
        let take = avail.min(self.len - self.done);
        let end = self.done + take == self.len;
        let fragment = match (self.began, end) {
            (false, true) => Fragment::Full,
            (false, false) => Fragment::First,
            (true, false) => Fragment::Middle,
            (true, true) => Fragment::Last,
        };
        let payload = self.done..self.done + take;
        self.began = true;
        self.done += take;
        self.block_offset += self.header_size + take;
        if self.block_offset == BLOCK_SIZE {
            self.block_offset = 0;
        }
        self.finished = end;
        Some(Step::Emit { fragment, payload })
    }
}

// ---------------------------------------------------------------- reading

/// What lies at a position of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// No bytes left in the block buffer.
    End,
    /// The rest of the block is too short for a header: the writer's padding.
    Trailer,
    /// A physical record whose checksum matches.
    Record {
        header: Header,
        /// Payload range within the block.
        payload: Range<usize>,
    },
    /// A zero header (type 0, length 0): preallocated or wiped space.
    Zero,
    /// A header whose framing cannot be trusted. `declared_end` is where the
    /// record would end if its length field is right (within the block).
    Broken {
        reason: Reason,
        record_type: RecordType,
        log_number: Option<u32>,
        declared_end: Option<usize>,
    },
    /// The data ends (end of file) inside a header or payload.
    Truncated {
        reason: Reason,
        /// The type byte, when present.
        record_type: Option<RecordType>,
        /// The log-number bytes present (0 to 4 of them).
        log_number_bytes: Vec<u8>,
    },
}

/// Parses the physical record at `pos` of `block`.
///
/// `block` holds the bytes of one block from its start; it is shorter than
/// [`BLOCK_SIZE`] only when the log ends inside this block. `recyclable_log`
/// makes the last 7 to 10 bytes of a block a trailer, as recyclable writers
/// pad them.
pub(crate) fn parse_at(block: &[u8], pos: usize, recyclable_log: bool) -> Parsed {
    let rest = block.len() - pos;
    if rest == 0 {
        return Parsed::End;
    }
    let zone = BLOCK_SIZE - pos;
    if zone < HEADER_SIZE {
        return Parsed::Trailer;
    }
    if rest < HEADER_SIZE {
        return truncated_header(&block[pos..]);
    }
    if zone < RECYCLABLE_HEADER_SIZE && (recyclable_log || block[pos..].iter().all(|&b| b == 0)) {
        // Recyclable writers pad the last 7 to 10 bytes of a block; zeros
        // there are padding whatever the log's format.
        return Parsed::Trailer;
    }
    let record_type = RecordType::from_byte(block[pos + 6]);
    let hsize = record_type.header_size();
    if zone < hsize {
        return Parsed::Broken {
            reason: Reason::BadLength,
            record_type,
            log_number: None,
            declared_end: None,
        };
    }
    if rest < hsize {
        return truncated_header(&block[pos..]);
    }
    let header = match Header::decode(&block[pos..]) {
        Some(h) => h,
        None => return truncated_header(&block[pos..]),
    };
    if record_type == RecordType::Zero && header.length == 0 {
        return Parsed::Zero;
    }
    let start = pos + hsize;
    let end = start + header.length as usize;
    if end > BLOCK_SIZE {
        return Parsed::Broken {
            reason: Reason::BadLength,
            record_type,
            log_number: header.log_number,
            declared_end: None,
        };
    }
    if end > block.len() {
        return Parsed::Truncated {
            reason: Reason::TruncatedPayload,
            record_type: Some(record_type),
            log_number_bytes: header
                .log_number
                .map(|n| n.to_le_bytes().to_vec())
                .unwrap_or_default(),
        };
    }
    if !header.checksum_matches(&block[start..end]) {
        return Parsed::Broken {
            reason: Reason::ChecksumMismatch,
            record_type,
            log_number: header.log_number,
            declared_end: Some(end),
        };
    }
    Parsed::Record {
        header,
        payload: start..end,
    }
}

fn truncated_header(bytes: &[u8]) -> Parsed {
    if bytes.iter().all(|&b| b == 0) {
        return Parsed::Zero;
    }
    let record_type = bytes.get(6).map(|&b| RecordType::from_byte(b));
    let log_number_bytes = bytes.get(7..).map(|b| b.to_vec()).unwrap_or_default();
    Parsed::Truncated {
        reason: Reason::TruncatedHeader,
        record_type,
        log_number_bytes,
    }
}

/// Whether a checksummed record found while scanning counts as a place to
/// resume: a known type, and for recyclable types the expected log number
/// (any, when none is known yet); in a recyclable log, no legacy data fragment.
pub(crate) fn acceptable(header: &Header, recyclable_log: bool, expected_log: Option<u32>) -> bool {
    if !header.record_type.is_known() {
        return false;
    }
    if recyclable_log && header.log_number.is_none() && header.record_type.fragment().is_some() {
        // A legacy data fragment cannot belong to a recyclable log's current use.
        return false;
    }
    match (header.log_number, expected_log) {
        (Some(n), Some(e)) => n == e,
        _ => true,
    }
}

/// Searches `block[from..]` byte by byte for the first position holding a
/// checksummed physical record of a known type (see [`acceptable`]). Cheap
/// tests (type byte, log number, length) run before the checksum, so a
/// random byte costs a few comparisons and about one position in seventy a
/// checksum.
pub(crate) fn scan(
    block: &[u8],
    from: usize,
    recyclable_log: bool,
    expected_log: Option<u32>,
    starts_only: bool,
) -> Option<(usize, Header)> {
    let limit = block.len().min(BLOCK_SIZE);
    let mut q = from;
    while q + HEADER_SIZE <= limit {
        let t = RecordType::from_byte(block[q + 6]);
        let plausible = t.is_known()
            && (!starts_only || t.fragment().is_none_or(Fragment::starts_record))
            && q + t.header_size() + (u16::from_le_bytes([block[q + 4], block[q + 5]]) as usize)
                <= limit;
        if plausible {
            if let Parsed::Record { header, .. } = parse_at(block, q, recyclable_log) {
                if acceptable(&header, recyclable_log, expected_log) {
                    return Some((q, header));
                }
            }
        }
        q += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(block_offset: usize, hs: usize, len: usize) -> Vec<Step> {
        Layout::new(block_offset, hs, len).collect()
    }

    #[test]
    fn layout_full_in_one_block() {
        assert_eq!(
            steps(0, 7, 10),
            vec![Step::Emit {
                fragment: Fragment::Full,
                payload: 0..10
            }]
        );
    }

    #[test]
    fn layout_pads_short_trailer_and_emits_zero_length_at_exact_header() {
        // 6 bytes left: pad, then a full record in the next block.
        let s = steps(BLOCK_SIZE - 6, 7, 3);
        assert_eq!(s[0], Step::Pad(6));
        assert!(matches!(
            s[1],
            Step::Emit {
                fragment: Fragment::Full,
                ..
            }
        ));
        // exactly 7 left: zero-length FIRST there.
        let s = steps(BLOCK_SIZE - 7, 7, 3);
        assert_eq!(
            s[0],
            Step::Emit {
                fragment: Fragment::First,
                payload: 0..0
            }
        );
        assert_eq!(
            s[1],
            Step::Emit {
                fragment: Fragment::Last,
                payload: 0..3
            }
        );
        // an empty record at exactly 7 left is a zero-length FULL.
        let s = steps(BLOCK_SIZE - 7, 7, 0);
        assert_eq!(
            s,
            vec![Step::Emit {
                fragment: Fragment::Full,
                payload: 0..0
            }]
        );
    }

    #[test]
    fn layout_spans_blocks() {
        let s = steps(0, 7, 3 * BLOCK_SIZE);
        let kinds: Vec<_> = s
            .iter()
            .map(|s| match s {
                Step::Emit { fragment, .. } => Some(*fragment),
                Step::Pad(_) => None,
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                Some(Fragment::First),
                Some(Fragment::Middle),
                Some(Fragment::Middle),
                Some(Fragment::Last)
            ]
        );
    }
}
