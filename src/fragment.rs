//! The sans-IO core: splitting a record into fragments at a block position
//! (writer side) and parsing one physical record out of a block (reader side).
//!
//! Nothing here reads or writes; the [`Writer`](crate::Writer) and the
//! [`Decoder`](crate::decode::Decoder) drive these functions.

use std::ops::Range;

use crate::crc_window::Windows;
use crate::decode::Format;
use crate::format::{
    unmask_crc, Fragment, Header, RecordType, BLOCK_SIZE, HEADER_SIZE, RECYCLABLE_HEADER_SIZE,
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

/// What the byte scan accepts as a place to resume: a checksummed
/// physical record of a known type that this log could hold at that
/// position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidates {
    /// The log's format so far: in a legacy log recyclable records are out
    /// of place, in a recyclable log legacy data fragments are.
    pub(crate) format: Format,
    /// The current use's log number, when known: recyclable records must carry it.
    pub(crate) log_number: Option<u32>,
    /// Only records that can start a logical record (FULL, FIRST, metadata).
    pub(crate) starts_only: bool,
}

impl Candidates {
    /// The cheap tests, on the header bytes at `q` of `block` alone: type,
    /// format, log number, and where the length says the record ends (a
    /// writer ends every FIRST and MIDDLE exactly at its block's end, and
    /// begins every MIDDLE and LAST at a block's start).
    #[inline]
    fn plausible(&self, block: &[u8], q: usize, limit: usize) -> bool {
        let t = RecordType::from_byte(block[q + 6]);
        if !t.is_known() {
            return false;
        }
        let recyclable = t.is_recyclable();
        match self.format {
            Format::Legacy if recyclable => return false,
            Format::Recyclable if !recyclable && t.fragment().is_some() => return false,
            _ => {}
        }
        let hsize = t.header_size();
        if q + hsize > limit {
            return false;
        }
        if let (true, Some(n)) = (recyclable, self.log_number) {
            // Before the format is fixed, another number's record is still
            // worth a checksum: it is evidence of a recycled file.
            if block[q + 7..q + 11] != n.to_le_bytes() && self.format != Format::Unknown {
                return false;
            }
        }
        let end = q + hsize + usize::from(u16::from_le_bytes([block[q + 4], block[q + 5]]));
        match t.fragment() {
            _ if end > limit => false,
            None | Some(Fragment::Full) => true,
            Some(Fragment::First) => end == BLOCK_SIZE,
            Some(Fragment::Middle) => !self.starts_only && q == 0 && end == BLOCK_SIZE,
            Some(Fragment::Last) => !self.starts_only && q == 0,
        }
    }

    /// Whether a checksummed record at `q` is acceptable (the format and
    /// log-number tests of [`plausible`](Candidates::plausible)).
    pub(crate) fn accepts(&self, header: &Header, _q: usize) -> bool {
        if !header.record_type.is_known() {
            return false;
        }
        let recyclable = header.log_number.is_some();
        match self.format {
            Format::Legacy if recyclable => return false,
            Format::Recyclable if !recyclable && header.record_type.fragment().is_some() => {
                return false
            }
            _ => {}
        }
        match (header.log_number, self.log_number) {
            (Some(n), Some(e)) => n == e,
            _ => true,
        }
    }
}

/// What the byte scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// An acceptable record at this position.
    Found(usize, Header),
    /// None in the rest of the block.
    NotFound,
    /// None, but a checksummed recyclable record of another log number at
    /// this position (the log's format is not fixed yet): the file was
    /// recycled, and this is its previous use.
    Stale(usize),
    /// The checksum budget ran out before the end of the block.
    GaveUp,
}

/// Checksum work the byte scan may spend in one block. Candidates whose
/// end is followed by something header-like (a known or zero type byte,
/// the block's end, its trailer or the end of the data) are *strong*: a
/// record a writer wrote is always followed that way unless the bytes after
/// it are damaged too. When the strong budget runs out the scan gives up;
/// weak candidates are checked only while their smaller budget lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanBudget {
    strong: usize,
    weak: usize,
}

impl ScanBudget {
    /// Takes `work` checksummed bytes from the strong candidates' share;
    /// `false` (and nothing taken) when less than that is left.
    pub(crate) fn spend_strong(&mut self, work: usize) -> bool {
        match self.strong.checked_sub(work) {
            Some(left) => {
                self.strong = left;
                true
            }
            None => false,
        }
    }

    /// A block's budget: 128 blocks' worth of checksummed bytes for strong
    /// candidates, 16 for weak ones. A damaged block of random bytes
    /// followed by zeros (a torn write of random data) uses up to a quarter
    /// of it; a byte pattern that passes the cheap tests at every position
    /// (a file of 0x0B bytes, before any record fixed the format) at most
    /// all of it: about 4 MiB of checksum per 32 KiB block.
    pub(crate) const BLOCK: ScanBudget = ScanBudget {
        strong: 128 * BLOCK_SIZE,
        weak: 16 * BLOCK_SIZE,
    };
}

/// Whether what follows a candidate ending at `end` looks like the next
/// unit of a log: the end of the data or of the block, a trailer, or a
/// header whose type byte is known or zero.
#[inline]
fn followed_like_a_log(block: &[u8], end: usize, limit: usize) -> bool {
    end + HEADER_SIZE > limit || BLOCK_SIZE - end < HEADER_SIZE || {
        let t = RecordType::from_byte(block[end + 6]);
        t == RecordType::Zero || t.is_known() || t.is_ignorable_unknown()
    }
}

/// Searches `block[from..]` byte by byte for the first position holding an
/// acceptable checksummed physical record (see [`Candidates`]). Cheap tests
/// run before the checksum, and the checksummed bytes are taken from
/// `budget` (see [`ScanBudget`]), so adversarial garbage costs a bounded
/// amount of work per block.
pub(crate) fn scan(block: &[u8], from: usize, cands: Candidates, budget: &mut ScanBudget) -> Scan {
    let limit = block.len().min(BLOCK_SIZE);
    let recyclable = cands.format == Format::Recyclable;
    let mut windows = Windows::default();
    let mut stale = None;
    let mut q = from;
    while q + HEADER_SIZE <= limit {
        if cands.plausible(block, q, limit) {
            let t = RecordType::from_byte(block[q + 6]);
            let len = usize::from(u16::from_le_bytes([block[q + 4], block[q + 5]]));
            let strong = followed_like_a_log(block, q + t.header_size() + len, limit);
            let left = if strong {
                &mut budget.strong
            } else {
                &mut budget.weak
            };
            if *left == 0 {
                if strong {
                    return Scan::GaveUp;
                }
            } else {
                // The checksummed bytes: type byte, log number, payload.
                let (crc, work) = windows.crc(block, q + 6, t.header_size() - 6 + len);
                *left = left.saturating_sub(work);
                let stored =
                    u32::from_le_bytes([block[q], block[q + 1], block[q + 2], block[q + 3]]);
                if crc == unmask_crc(stored) {
                    if let Parsed::Record { header, .. } = parse_at(block, q, recyclable) {
                        if cands.accepts(&header, q) {
                            return Scan::Found(q, header);
                        }
                        if header.log_number.is_some() && stale.is_none() {
                            stale = Some(q);
                        }
                    }
                }
            }
        }
        q += 1;
    }
    stale.map_or(Scan::NotFound, Scan::Stale)
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
