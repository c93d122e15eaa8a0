//! Oracles: what a reader returned, checked against what was written and
//! against the bytes, independently of the reader's code; and the one
//! answer to "where does a record end" ([`record_layout`]).

use blocklog::format::{record_crc, unmask_crc, RecordType, BLOCK_SIZE, RECYCLABLE_HEADER_SIZE};
use blocklog::Record;

/// A record as the writer laid it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Offset of its first header (what `add_record` returned).
    pub offset: u64,
    /// End of its last fragment (`Writer::offset` right after `add_record`).
    pub end: u64,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Checks that `got` is exactly `written[..m]` (same offsets, same
/// payloads) and returns `m`.
pub fn prefix_of(got: &[&Record], written: &[Written]) -> Result<usize, String> {
    if got.len() > written.len() {
        return Err(format!(
            "{} records returned, only {} written",
            got.len(),
            written.len()
        ));
    }
    for (i, (g, w)) in got.iter().zip(written).enumerate() {
        if g.offset != w.offset || g.payload[..] != w.payload[..] {
            return Err(format!(
                "record #{i}: got offset {} len {}, written offset {} len {}",
                g.offset,
                g.payload.len(),
                w.offset,
                w.payload.len()
            ));
        }
    }
    Ok(got.len())
}

/// Checks that `got` is a subsequence of `written` in order (matched by
/// offset and payload) and returns the indices matched.
pub fn subsequence_of(got: &[&Record], written: &[Written]) -> Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(got.len());
    let mut j = 0;
    for (i, g) in got.iter().enumerate() {
        while j < written.len() && written[j].offset < g.offset {
            j += 1;
        }
        match written.get(j) {
            Some(w) if w.offset == g.offset && w.payload[..] == g.payload[..] => {
                out.push(j);
                j += 1;
            }
            _ => {
                return Err(format!(
                    "record #{i} (offset {}, len {}) was not written there (or is out of order)",
                    g.offset,
                    g.payload.len()
                ))
            }
        }
    }
    Ok(out)
}

/// One physical record of a fragment chain: where its header starts, its
/// type byte, its log number and its payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frag {
    /// Offset of the header.
    pub offset: u64,
    /// The type byte.
    pub kind: u8,
    /// The log number, for recyclable types.
    pub log_number: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Parses the physical record at `pos` (independently of the crate's
/// parser), verifying its checksum. `None` if there is no header with a
/// valid checksum there.
pub fn frag_at(log: &[u8], pos: usize) -> Option<Frag> {
    let left = BLOCK_SIZE - pos % BLOCK_SIZE;
    let head = log.get(pos..pos + 7)?;
    let kind = head[6];
    let t = RecordType::from_byte(kind);
    let hsize = t.header_size();
    if left < hsize || pos + hsize > log.len() {
        return None;
    }
    let log_number = if t.is_recyclable() {
        Some(u32::from_le_bytes(log[pos + 7..pos + 11].try_into().ok()?))
    } else {
        None
    };
    let len = u16::from_le_bytes([head[4], head[5]]) as usize;
    if hsize + len > left || pos + hsize + len > log.len() {
        return None;
    }
    let payload = &log[pos + hsize..pos + hsize + len];
    let stored = unmask_crc(u32::from_le_bytes([head[0], head[1], head[2], head[3]]));
    if stored != record_crc(t, log_number, payload) {
        return None;
    }
    Some(Frag {
        offset: pos as u64,
        kind,
        log_number,
        payload: payload.to_vec(),
    })
}

/// The chain of checksummed fragments that forms the record starting at
/// `offset`: a FULL, or a FIRST, MIDDLEs and a LAST, skipping block
/// trailers and ignorable records between them. Errors describe why the
/// bytes at `offset` are not a whole record.
pub fn chain_at(log: &[u8], offset: u64) -> Result<Vec<Frag>, String> {
    let mut pos = offset as usize;
    let mut frags: Vec<Frag> = Vec::new();
    loop {
        let left = BLOCK_SIZE - pos % BLOCK_SIZE;
        let hsize = frags
            .first()
            .map_or(7, |f| RecordType::from_byte(f.kind).header_size());
        let trailer_zero = left < RECYCLABLE_HEADER_SIZE
            && log[pos.min(log.len())..(pos + left).min(log.len())]
                .iter()
                .all(|&b| b == 0);
        if !frags.is_empty() && (left < hsize || trailer_zero) {
            pos += left;
            continue;
        }
        let f = frag_at(log, pos).ok_or_else(|| format!("no valid fragment at {pos}"))?;
        pos += RecordType::from_byte(f.kind).header_size() + f.payload.len();
        let t = RecordType::from_byte(f.kind);
        if t.is_ignorable_unknown() && !frags.is_empty() {
            continue;
        }
        let role = t
            .fragment()
            .ok_or_else(|| format!("type {} at {} is not a data fragment", f.kind, f.offset))?;
        use blocklog::format::Fragment::*;
        match (frags.first(), role) {
            (None, Full) => return Ok(vec![f]),
            (None, First) => frags.push(f),
            (None, _) => return Err(format!("record at {offset} starts with {role:?}")),
            (Some(first), Middle | Last) => {
                if t.is_recyclable() != RecordType::from_byte(first.kind).is_recyclable()
                    || f.log_number != first.log_number
                {
                    return Err(format!("fragment at {} mixes formats or logs", f.offset));
                }
                frags.push(f);
                if role == Last {
                    return Ok(frags);
                }
            }
            (Some(_), r) => return Err(format!("{r:?} at {} inside a record", f.offset)),
        }
    }
}

/// Checks a returned record against the bytes: it is made of fragments with
/// valid checksums whose payloads concatenate to it.
pub fn verify_record(log: &[u8], rec: &Record) -> Result<Vec<Frag>, String> {
    let frags = chain_at(log, rec.offset)?;
    let joined: Vec<u8> = frags
        .iter()
        .flat_map(|f| f.payload.iter().copied())
        .collect();
    if joined[..] != rec.payload[..] {
        return Err(format!(
            "record at {}: payload ({} bytes) differs from its fragments ({} bytes)",
            rec.offset,
            rec.payload.len(),
            joined.len()
        ));
    }
    Ok(frags)
}

/// Every checksummed physical record found walking a clean log from its start.
pub fn all_frags(log: &[u8]) -> Vec<Frag> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < log.len() {
        let left = BLOCK_SIZE - pos % BLOCK_SIZE;
        match frag_at(log, pos) {
            Some(f) => {
                pos += RecordType::from_byte(f.kind).header_size() + f.payload.len();
                out.push(f);
            }
            None => pos += left,
        }
    }
    out
}

/// Where a record lies, as the writer lays it out (LevelDB's layout,
/// computed independently of the writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The offset just after its last fragment.
    pub end: u64,
    /// The number of its physical fragments.
    pub fragments: usize,
}

/// The layout of a record of `len` bytes whose first header goes at
/// `start`, with headers of `header` bytes: a block with less room than a
/// header left is skipped (its trailer), and a fragment may carry an empty
/// payload when only a header fits.
pub fn record_layout(start: u64, len: usize, header: usize) -> Layout {
    let block = BLOCK_SIZE as u64;
    let header = header as u64;
    let mut pos = start;
    let mut left = len as u64;
    let mut fragments = 0;
    loop {
        let room = block - pos % block;
        if room < header {
            pos += room;
            continue;
        }
        let take = left.min(room - header);
        pos += header + take;
        left -= take;
        fragments += 1;
        if left == 0 {
            return Layout {
                end: pos,
                fragments,
            };
        }
    }
}

/// The offset just after a record of `len` bytes whose first header goes
/// at `start`, with headers of `header` bytes ([`record_layout`]'s end).
pub fn record_end(start: u64, len: usize, header: usize) -> u64 {
    record_layout(start, len, header).end
}

#[cfg(test)]
mod tests {
    use super::*;
    use blocklog::format::{HEADER_SIZE, RECYCLABLE_HEADER_SIZE};
    use blocklog::WriterOptions;

    #[test]
    fn record_layout_matches_the_writer() {
        for header in [HEADER_SIZE, RECYCLABLE_HEADER_SIZE] {
            let mut opts = WriterOptions::new();
            if header == RECYCLABLE_HEADER_SIZE {
                opts = opts.recyclable(3);
            }
            let mut w = opts.build(Vec::new());
            let room = BLOCK_SIZE - header;
            // Sizes around block edges: a block exactly filled, a trailer
            // left, room for a header only, and records spanning blocks.
            for len in [0, 10, room - 10 - 2 * header, 3, 0, room, 70_000, 5, 1] {
                let start = w.offset();
                let offset = w.add_record(&vec![1; len]).unwrap();
                let layout = record_layout(start, len, header);
                assert_eq!(layout.end, w.offset(), "len {len} at {start}");
                assert!(offset >= start && offset < layout.end);
                let n = if len > 2 * BLOCK_SIZE { 3 } else { 1 };
                assert!(layout.fragments >= n, "len {len}");
            }
        }
        assert_eq!(
            record_layout(0, 0, 7),
            Layout {
                end: 7,
                fragments: 1
            }
        );
        let only_header = (BLOCK_SIZE - 7) as u64;
        assert_eq!(
            record_layout(only_header, 1, 7),
            Layout {
                end: BLOCK_SIZE as u64 + 8,
                fragments: 2
            }
        );
    }
}
