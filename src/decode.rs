//! The sans-IO decoder: fed blocks, it returns events, asks for the next
//! block, says "not yet" or ends. Every reader is a thin loop around it:
//! [`Reader`](crate::Reader) over `io::Read` or memory,
//! [`TailReader`](crate::TailReader) over a growing file, and the WAL over
//! a directory of files.
//!
//! The caller feeds the bytes that start at [`Decoder::next_offset`]: a
//! whole block ([`Input::Block`]), or the last bytes it has
//! ([`Input::Last`]) together with what follows them ([`End`]): nothing
//! ever ([`End::Final`]), another log file ([`End::NextFile`]), or bytes
//! not written yet ([`End::MayGrow`]). Then it calls [`Decoder::step`]
//! until it gets [`Step::NeedInput`] (feed again), [`Step::NotYet`] (the
//! input may grow: feed again from `next_offset` once it has) or
//! [`Step::Done`].
//!
//! ```
//! use blocklog::decode::{End, Input, Step};
//! use blocklog::{Event, ReaderOptions, Writer};
//!
//! let mut w = Writer::new(Vec::new());
//! w.add_record(b"one")?;
//! w.add_record(b"two")?;
//! let log = bytes::Bytes::from(w.into_inner()?);
//!
//! let mut decoder = ReaderOptions::new().decoder();
//! let mut records = Vec::new();
//! loop {
//!     match decoder.step()? {
//!         Step::Event(Event::Record(r)) => records.push(r.payload),
//!         Step::Event(_) => {}
//!         Step::NeedInput => {
//!             // Feed the bytes from `next_offset`: here, all of a short log.
//!             let at = decoder.next_offset() as usize;
//!             decoder.feed(Input::Last(log.slice(at..), End::Final))?;
//!         }
//!         Step::NotYet | Step::Done => break,
//!     }
//! }
//! assert_eq!(records, ["one", "two"]);
//! # Ok::<(), blocklog::Error>(())
//! ```

use std::collections::VecDeque;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::compression::{codec_for, Codec, DecompressError, Decompressor};
use crate::error::{Error, Result};
use crate::format::{
    crc32c_of_byte, crc_seed, unmask_crc, Fragment, Header, RecordType, BLOCK_SIZE, HEADER_SIZE,
    RECYCLABLE_HEADER_SIZE,
};
use crate::fragment::{parse_at, scan, Candidates, Parsed, Scan, ScanBudget};
use crate::options::{LogFormat, ReaderOptions};
use crate::policy::{decide, Action, Resync, Situation};
use crate::report::{Benign, BenignKind, Damage, Event, Position, Reason, Record, Stop, Summary};

/// The CRC32C of a legacy FULL header's type byte.
const LEGACY_FULL_SEED: u32 = crc32c_of_byte(1);

/// What follows the last bytes fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    /// Nothing: the log ends here for good. Damage at the end is judged
    /// by look-ahead (a torn tail or not).
    Final,
    /// Another log file follows (the next file of a WAL): the log ends
    /// here, and damage at its end is interior, because the log as a whole
    /// goes on after it.
    NextFile,
    /// Bytes not written yet: the log may grow. An incomplete record or
    /// undecided damage at the end is "not yet" ([`Step::NotYet`]), never
    /// dropped; damage with a valid record after it is still reported, once
    /// the block holding the damage is whole (until then, where reading
    /// resumes after it is not written yet).
    ///
    /// Cost: after "not yet" the decoder keeps its progress (a record
    /// being assembled, undecided damage); [`Decoder::next_offset`] is the
    /// block it stopped in, fed again once longer, or the next one. It
    /// never goes back, so no byte but the last block's is fed twice.
    MayGrow,
}

/// Bytes handed to the decoder, starting at [`Decoder::next_offset`].
#[derive(Debug, Clone)]
pub enum Input {
    /// One whole block ([`BLOCK_SIZE`] bytes); more input follows.
    Block(Bytes),
    /// The last bytes available (at most one block, possibly none), and
    /// what follows them.
    Last(Bytes, End),
}

/// What [`Decoder::step`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next event, in file order.
    Event(Event),
    /// Feed the bytes at [`Decoder::next_offset`].
    NeedInput,
    /// The input ended with [`End::MayGrow`] and everything decidable has
    /// been returned: feed again from [`Decoder::next_offset`] once the log
    /// has grown.
    NotYet,
    /// The log has ended; the [`Summary`] is final.
    Done,
}

/// The header format, as far as the log has fixed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// No data record seen yet (and none stated).
    Unknown,
    /// 7-byte headers.
    Legacy,
    /// 11-byte headers carrying the log number.
    Recyclable,
}

impl Format {
    pub(crate) fn is_recyclable(self) -> bool {
        self == Format::Recyclable
    }
}

/// The read's phase.
#[derive(Debug)]
enum Phase {
    /// Returning events.
    Reading,
    /// After a point-in-time stop: counting the records left unread.
    Counting,
    /// Refused, or the input failed; sticky.
    Failed(Error),
    /// Ended.
    Done,
}

/// A logical record being assembled from fragments.
#[derive(Debug)]
struct Partial {
    start: u64,
    end: u64,
    /// The first fragment, still a slice of its block: the buffer is not
    /// allocated until the record's size is known or a second fragment
    /// arrives (see [`Decoder::size_record`]).
    first: Option<Bytes>,
    buf: BytesMut,
}

impl Partial {
    /// The payload bytes assembled so far.
    fn len(&self) -> usize {
        self.first.as_ref().map_or(0, Bytes::len) + self.buf.len()
    }

    /// Allocates the buffer (`capacity` bytes, at least the first
    /// fragment's) and copies the first fragment into it.
    fn materialize(&mut self, capacity: usize) {
        if let Some(first) = self.first.take() {
            self.buf.reserve(capacity.max(first.len()));
            self.buf.extend_from_slice(&first);
        }
    }
}

/// Damage whose position is not known yet: the decoder is looking ahead
/// for a valid record start.
#[derive(Debug)]
struct Pending {
    start: u64,
    end: u64,
    reason: Reason,
    /// End of the last part of the region that is not all zeros (`start` if none).
    nonzero_end: u64,
    /// In a recyclable log: end of the last part of the region that carries
    /// the current log number (what follows it is the file's previous use).
    current_end: Option<u64>,
    /// Non-zero bytes of the region not covered by any header's declared extent.
    unexplained: u64,
    /// The region begins like something a writer writes (a header of a
    /// known type, zeros, or a record already begun).
    plausible_start: bool,
    /// The look-ahead gave up within its work bound: the region cannot be
    /// shown to be a torn tail.
    uncertain: bool,
}

/// The bytes since the last decided unit.
#[derive(Debug)]
enum Span {
    /// Nothing open.
    Clear,
    /// A record being assembled from its fragments.
    Record(Partial),
    /// Damage whose position is not known yet.
    Damage(Pending),
}

/// The sans-IO decoder; see the [module documentation](self).
#[derive(Debug)]
pub struct Decoder {
    opts: ReaderOptions,
    /// The current block's bytes (shorter than a block only at the input's end).
    block: Bytes,
    block_offset: u64,
    pos: usize,
    /// What follows `block`, once the caller has said (`None`: more blocks come).
    end: Option<End>,
    format: Format,
    /// The current use's log number, given or learned.
    log_number: Option<u32>,
    /// A valid unit (record or metadata) has been decoded.
    seen_valid: bool,
    /// Damage has been met (a log number learned after it could be a previous use's).
    seen_damage: bool,
    /// Initial-offset resync: MIDDLE and LAST fragments are skipped silently.
    skipping: bool,
    /// What the bytes since the last decided unit are: nothing open, a
    /// record being assembled, or damage being looked past (never both: a
    /// record met by damage becomes part of it, and a valid start decides
    /// the damage before a record begins).
    span: Span,
    queue: VecDeque<Event>,
    phase: Phase,
    summary: Summary,
    /// The compression a SetCompressionType record asked for (feature `zstd`).
    codec: Option<Codec>,
    decompressor: Decompressor,
    /// The CRC32C of a recyclable FULL header's type and log number.
    seed: Option<(u32, u32)>,
    /// Checksum work the byte scan may still spend in the current block.
    scan_budget: ScanBudget,
    /// Starting past offset 0: the log's first bytes have not been offered yet.
    wants_head: bool,
    /// The reader finds a multi-block record's size ahead (memory, a
    /// seekable source): a first fragment waits for it.
    sizes_ahead: bool,
}

impl Decoder {
    /// A decoder with `opts`; the first bytes it wants are at
    /// [`next_offset`](Decoder::next_offset) (the block holding the initial
    /// offset).
    pub fn new(opts: ReaderOptions) -> Decoder {
        let off = opts.initial_offset;
        let in_block = (off % BLOCK_SIZE as u64) as usize;
        let mut start = off - in_block as u64;
        if in_block > BLOCK_SIZE - HEADER_SIZE {
            // Inside a trailer: the first record starts in the next block.
            start += BLOCK_SIZE as u64;
        }
        let format = match opts.format {
            LogFormat::Detect => Format::Unknown,
            LogFormat::Legacy => Format::Legacy,
            LogFormat::Recyclable => Format::Recyclable,
        };
        Decoder {
            log_number: opts.log_number,
            skipping: off > 0,
            block: Bytes::new(),
            block_offset: start,
            pos: 0,
            end: None,
            format,
            seen_valid: false,
            seen_damage: false,
            span: Span::Clear,
            queue: VecDeque::new(),
            phase: Phase::Reading,
            summary: Summary {
                kept_end: start,
                ..Summary::default()
            },
            codec: None,
            decompressor: Decompressor::new(),
            seed: None,
            scan_budget: ScanBudget::BLOCK,
            wants_head: start > 0,
            sizes_ahead: false,
            opts,
        }
    }

    /// The file offset the next [`feed`](Decoder::feed) must start at: the
    /// next block, or the current one again when it was short (the input
    /// may have grown). It never decreases.
    pub fn next_offset(&self) -> u64 {
        if self.block.len() == BLOCK_SIZE {
            self.block_offset + BLOCK_SIZE as u64
        } else {
            self.block_offset
        }
    }

    /// Whether the decoder wants the log's first bytes to learn its
    /// compression before starting at a later block (initial offset):
    /// true until the first feed when it starts past offset 0.
    pub fn wants_head(&self) -> bool {
        self.wants_head
    }

    /// Gives the decoder the log's first bytes (up to 11) when it starts
    /// past them: a compression record there applies to every later record.
    pub fn feed_head(&mut self, head: &[u8]) -> Result<()> {
        self.wants_head = false;
        if let Some(h) = Header::decode(head) {
            let body = &head[HEADER_SIZE.min(head.len())..];
            if h.record_type == RecordType::SetCompression
                && usize::from(h.length) == body.len()
                && h.checksum_matches(body)
            {
                self.codec = codec_for(body, 0).inspect_err(|e| self.fail(e.clone()))?;
            }
        }
        Ok(())
    }

    /// Hands over the bytes at [`next_offset`](Decoder::next_offset).
    ///
    /// Fails with [`Error::InvalidInput`] when the input breaks the
    /// contract: a `Block` that is not exactly one block, `Last` longer
    /// than a block, or a block fed again with fewer bytes than before.
    pub fn feed(&mut self, input: Input) -> Result<()> {
        let offset = self.next_offset();
        let (data, end) = match input {
            Input::Block(b) if b.len() == BLOCK_SIZE => (b, None),
            Input::Last(b, end) if b.len() <= BLOCK_SIZE => (b, Some(end)),
            Input::Block(b) | Input::Last(b, _) => {
                return Err(Error::InvalidInput {
                    offset,
                    what: if b.len() > BLOCK_SIZE {
                        "more than one block fed at once"
                    } else {
                        "a short block fed as a whole block"
                    },
                })
            }
        };
        if offset == self.block_offset {
            // The same block again, now longer (or first fed).
            if data.len() < self.pos {
                return Err(Error::InvalidInput {
                    offset,
                    what: "the input shrank",
                });
            }
        } else {
            self.block_offset = offset;
            self.pos = 0;
            self.scan_budget = ScanBudget::BLOCK;
        }
        self.wants_head = false;
        let fed_end = offset + data.len() as u64;
        self.summary.bytes_read = self.summary.bytes_read.max(fed_end);
        self.block = data;
        self.end = end;
        Ok(())
    }

    /// Tells the decoder that the input failed at `offset`: the read ends
    /// with this error (sticky), after the events before it.
    pub fn fail_input(&mut self, error: Error) {
        self.fail(error);
    }

    /// The next step; see [`Step`]. An error (the mode refuses the log, a
    /// limit, or a failure given to [`fail_input`](Decoder::fail_input)) is
    /// sticky: every later call returns it again.
    pub fn step(&mut self) -> Result<Step> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(Step::Event(ev));
            }
            match &self.phase {
                Phase::Failed(e) => return Err(e.clone()),
                Phase::Done => return Ok(Step::Done),
                Phase::Reading | Phase::Counting => {}
            }
            if self.block.len() < BLOCK_SIZE && self.end.is_none() {
                // Waiting for this block (first fed, or fed again after "not yet").
                return Ok(Step::NeedInput);
            }
            if self.pos >= self.block.len() {
                let complete = self.block.len() == BLOCK_SIZE;
                match self.end {
                    None => return Ok(Step::NeedInput),
                    Some(End::MayGrow) if complete => {
                        // The next block is not written yet.
                        self.block_offset += BLOCK_SIZE as u64;
                        self.block = Bytes::new();
                        self.pos = 0;
                        self.scan_budget = ScanBudget::BLOCK;
                    }
                    Some(_) => {}
                }
                let end = self.end.expect("an end was given");
                if let Some(step) = self.finish(end) {
                    return Ok(step);
                }
                continue;
            }
            if let Some(step) = self.advance() {
                return Ok(step);
            }
        }
    }

    /// Counters of the read so far; final once [`step`](Decoder::step) has
    /// returned [`Step::Done`] or an error.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The log number of the current use, when known (given or learned).
    pub fn log_number(&self) -> Option<u32> {
        self.log_number
    }

    /// Whether the log is read as recyclable (stated, or fixed by its first
    /// data record).
    pub fn is_recyclable(&self) -> bool {
        self.format.is_recyclable()
    }

    /// The options in force.
    pub fn options(&self) -> &ReaderOptions {
        &self.opts
    }

    /// Whether the read has ended (done or failed).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Done | Phase::Failed(_))
    }

    // ------------------------------------------------------------ fast path

    /// The common case without the general machinery: the next unit is a
    /// checksummed FULL fragment of the log's format (of the current use,
    /// in a recyclable log) within the current block, and nothing is
    /// queued, pending, being assembled, skipped or decompressed. Returns
    /// the record's offset and its payload's range in
    /// [`block`](Decoder::block), or `None` for everything else, which
    /// [`step`](Decoder::step) handles and which reaches the same result on
    /// the cases taken here.
    #[inline]
    pub(crate) fn fast_full(&mut self) -> Option<(u64, Range<usize>)> {
        if !self.opts.fast_path
            || !self.queue.is_empty()
            || !matches!(self.span, Span::Clear)
            || self.skipping
            || self.codec.is_some()
            || !matches!(self.phase, Phase::Reading)
        {
            return None;
        }
        let pos = self.pos;
        let (hsize, log_number, seed) = match (self.format, *self.block.get(pos + 6)?) {
            (Format::Legacy, 1) => (HEADER_SIZE, None, LEGACY_FULL_SEED),
            (Format::Recyclable, 5) => {
                let n = self.log_number?;
                let seed = match self.seed {
                    Some((m, seed)) if m == n => seed,
                    _ => {
                        let seed = crc_seed(RecordType::RecyclableFull, Some(n));
                        self.seed = Some((n, seed));
                        seed
                    }
                };
                (RECYCLABLE_HEADER_SIZE, Some(n), seed)
            }
            _ => return None,
        };
        let payload = full_record_at(&self.block, pos, hsize, log_number, seed)?;
        if payload.len() > self.opts.max_record_size {
            return None;
        }
        let here = self.block_offset + pos as u64;
        if here < self.opts.initial_offset {
            return None;
        }
        self.pos = payload.end;
        let end = self.block_offset + payload.end as u64;
        self.seen_valid = true;
        self.summary.records += 1;
        self.summary.record_bytes += payload.len() as u64;
        self.summary.kept_end = end;
        Some((here, payload))
    }

    /// The current block's bytes (payload ranges from
    /// [`fast_full`](Decoder::fast_full) index into it).
    pub(crate) fn block(&self) -> &Bytes {
        &self.block
    }

    /// The end offset of the record [`fast_full`](Decoder::fast_full) just
    /// returned (the current position).
    pub(crate) fn here(&self) -> u64 {
        self.block_offset + self.pos as u64
    }

    /// Takes back a block the decoder has finished with, so that a reader
    /// can read the next one into the same memory when no record still
    /// shares it. `None` unless the current block is whole and consumed.
    pub(crate) fn recycle_block(&mut self) -> Option<BytesMut> {
        if self.block.len() != BLOCK_SIZE || self.pos < BLOCK_SIZE || self.end.is_some() {
            return None;
        }
        self.block_offset += BLOCK_SIZE as u64;
        self.pos = 0;
        self.scan_budget = ScanBudget::BLOCK;
        std::mem::take(&mut self.block).try_into_mut().ok()
    }

    // ------------------------------------------------------------ machinery

    /// The record being assembled, taken out (the span is then clear).
    fn take_partial(&mut self) -> Option<Partial> {
        match std::mem::replace(&mut self.span, Span::Clear) {
            Span::Record(p) => Some(p),
            other => {
                self.span = other;
                None
            }
        }
    }

    /// The damage being looked past, taken out (the span is then clear).
    fn take_pending(&mut self) -> Option<Pending> {
        match std::mem::replace(&mut self.span, Span::Clear) {
            Span::Damage(p) => Some(p),
            other => {
                self.span = other;
                None
            }
        }
    }

    fn reading(&self) -> bool {
        matches!(self.phase, Phase::Reading | Phase::Counting)
    }

    fn counting(&self) -> bool {
        matches!(self.phase, Phase::Counting)
    }

    fn fail(&mut self, e: Error) {
        self.summary.failed = true;
        self.phase = Phase::Failed(e);
    }

    /// Parses one more unit of the current block, queueing events or
    /// changing phase; `Some` when the step must return now.
    fn advance(&mut self) -> Option<Step> {
        let here = self.here();
        let parsed = parse_at(&self.block, self.pos, self.format.is_recyclable());
        if matches!(parsed, Parsed::Zero | Parsed::Broken { .. })
            && self.block.len() < BLOCK_SIZE
            && self.end == Some(End::MayGrow)
        {
            // Damage in a block the log may still grow into: where reading
            // resumes after it (the next block under block resync, the next
            // valid record under scan resync) depends on bytes not written
            // yet, so the visible end is no resync point. Wait, as for a
            // unit not written completely; judge it once the block is whole
            // or the log final.
            self.end = None;
            return Some(Step::NotYet);
        }
        match parsed {
            Parsed::End | Parsed::Trailer => self.pos = self.block.len(),
            Parsed::Record { header, payload } => self.on_record(here, header, payload),
            Parsed::Zero => self.on_broken(here, Reason::ZeroHeader, false, None, None),
            Parsed::Broken {
                reason,
                record_type,
                log_number,
                declared_end,
            } => {
                let log_bytes = log_number.map(u32::to_le_bytes);
                let current = self.is_current(
                    Some(record_type),
                    log_bytes.as_ref().map_or(&[][..], |b| &b[..]),
                ) || self.restores_as_current(self.pos);
                self.on_broken(here, reason, current, declared_end, declared_end)
            }
            Parsed::Truncated {
                reason,
                record_type,
                log_number_bytes,
            } => {
                if self.end == Some(End::MayGrow) {
                    // The rest of this unit is not written yet: wait for it.
                    self.end = None;
                    return Some(Step::NotYet);
                }
                // A length running past the end of the file is a torn tail
                // only if nothing valid follows: a damaged length field can
                // claim bytes that hold intact records. Resync as for any
                // broken header (the rest of the data is searched).
                let current = self.is_current(record_type, &log_number_bytes);
                // Its bytes to the end are explained by its header when the
                // type is one a writer writes.
                let explained = record_type.is_some_and(RecordType::is_known);
                let explained_to = explained.then_some(self.block.len());
                self.on_broken(here, reason, current, None, explained_to);
            }
        }
        None
    }

    /// Whether a damaged header carries the current log number (only
    /// meaningful in a recyclable log): a recyclable type whose log-number
    /// bytes, as far as present, are the expected ones. A header cut before
    /// its type byte cannot be told apart, and counts as current.
    fn is_current(&self, record_type: Option<RecordType>, log_bytes: &[u8]) -> bool {
        match record_type {
            Some(t) if t.is_recyclable() => match self.log_number {
                Some(e) => e.to_le_bytes().starts_with(log_bytes),
                None => true,
            },
            Some(_) => false,
            None => true,
        }
    }

    /// Whether the damaged header at `pos` of a recyclable log, which does
    /// not read as the current use's (a type without a log number, or
    /// another log number), checksums as a record of the current use once
    /// its type byte is one a recyclable writer writes and its log number
    /// the current one: then it is this log's record with one damaged
    /// field (a flipped bit in its type or log number), not the previous
    /// use's bytes, and it must not be taken for them (a checksum that
    /// matches is the evidence). The checksums are taken from the block's
    /// scan budget; without budget left the header stays unexplained.
    fn restores_as_current(&mut self, pos: usize) -> bool {
        const WRITTEN: [RecordType; 7] = [
            RecordType::RecyclableFull,
            RecordType::RecyclableFirst,
            RecordType::RecyclableMiddle,
            RecordType::RecyclableLast,
            RecordType::RecyclableTimestampSize,
            RecordType::RecyclablePredecessorWalInfo,
            RecordType::WalRecyclableMarker,
        ];
        let (Format::Recyclable, Some(n)) = (self.format, self.log_number) else {
            return false;
        };
        let Some(h) = self.block.get(pos..pos + RECYCLABLE_HEADER_SIZE) else {
            return false;
        };
        let stored = unmask_crc(u32::from_le_bytes([h[0], h[1], h[2], h[3]]));
        let start = pos + RECYCLABLE_HEADER_SIZE;
        let end = start + usize::from(u16::from_le_bytes([h[4], h[5]]));
        if end > self.block.len().min(BLOCK_SIZE)
            || !self.scan_budget.spend_strong(WRITTEN.len() * (end - start))
        {
            return false;
        }
        let payload = &self.block[start..end];
        WRITTEN
            .iter()
            .any(|&t| crate::crc::append(crc_seed(t, Some(n)), payload) == stored)
    }

    fn on_record(&mut self, here: u64, header: Header, payload: Range<usize>) {
        let end_pos = payload.end;
        let end = self.block_offset + end_pos as u64;
        let t = header.record_type;
        self.pos = end_pos;
        // The format and the log number (see docs/recovery.md).
        if let Some(n) = header.log_number {
            match self.format {
                Format::Legacy => {
                    self.damage(here, end, Reason::MixedFormat, false);
                    return;
                }
                Format::Unknown | Format::Recyclable => self.format = Format::Recyclable,
            }
            match self.log_number {
                Some(e) if e != n => {
                    self.damage(here, end, Reason::StaleLogNumber, false);
                    return;
                }
                Some(_) => {}
                None if self.seen_damage => {
                    // After damage, this may be the previous use's record:
                    // refuse to guess (after a point-in-time stop, it is
                    // simply not counted).
                    if !self.counting() {
                        self.fail(Error::UnknownLogNumber { offset: here });
                    }
                    return;
                }
                None => self.log_number = Some(n),
            }
        } else if t.fragment().is_some() {
            match self.format {
                Format::Recyclable => {
                    self.damage(here, end, Reason::StaleLogNumber, false);
                    return;
                }
                Format::Unknown => self.format = Format::Legacy,
                Format::Legacy => {}
            }
        }
        if here < self.opts.initial_offset {
            // Before the requested start: skipped silently, but a
            // compression record still applies to the records after it.
            self.take_partial();
            self.seen_valid = true;
            if t == RecordType::SetCompression {
                let body = self.block.slice(payload);
                self.set_compression(here, &body);
            }
            return;
        }
        let Some(fragment) = t.fragment() else {
            self.on_non_data(here, end, t, payload);
            return;
        };
        match fragment {
            Fragment::Full | Fragment::First => {
                if let Some(p) = self.take_partial() {
                    self.damage(p.start, p.end, Reason::MissingLast, true);
                }
                self.valid_start();
                if !self.reading() {
                    return;
                }
                self.skipping = false;
                let len = payload.len();
                if !self.within_limit(here, len) {
                    return;
                }
                if fragment == Fragment::Full {
                    let payload = self.block.slice(payload);
                    self.emit_record(here, end, payload);
                } else {
                    // With a reader that can look ahead, the buffer waits
                    // for the record's size (or for the next fragment).
                    let mut buf = BytesMut::new();
                    let first = if self.sizes_ahead {
                        Some(self.block.slice(payload))
                    } else {
                        buf.reserve((2 * len).min(self.opts.max_record_size));
                        buf.extend_from_slice(&self.block[payload]);
                        None
                    };
                    self.span = Span::Record(Partial {
                        start: here,
                        end,
                        first,
                        buf,
                    });
                }
            }
            Fragment::Middle | Fragment::Last => {
                let current = header.log_number.is_some();
                let Span::Record(p) = &mut self.span else {
                    if !self.skipping {
                        self.damage(here, end, Reason::MissingFirst, current);
                    }
                    return;
                };
                p.end = end;
                let (start, size) = (p.start, p.len() + payload.len());
                if !self.within_limit(start, size) {
                    return;
                }
                let default = self.default_capacity();
                if let Span::Record(p) = &mut self.span {
                    p.materialize(default);
                    p.buf.extend_from_slice(&self.block[payload]);
                }
                if fragment == Fragment::Last {
                    let p = self.take_partial().expect("a record is being assembled");
                    self.emit_record(p.start, p.end, p.buf.freeze());
                }
            }
        }
    }

    /// The capacity of a record's buffer when its size is not known: twice
    /// its first fragment (it grows by doubling from there), within the limit.
    fn default_capacity(&self) -> usize {
        match &self.span {
            Span::Record(p) => (2 * p.len()).min(self.opts.max_record_size),
            _ => 0,
        }
    }

    /// Tells the decoder that its reader finds a multi-block record's size
    /// ahead (see [`size_record`](Decoder::size_record)).
    pub(crate) fn set_sizes_ahead(&mut self) {
        self.sizes_ahead = true;
    }

    /// Whether a record's first fragment is waiting for its size: a reader
    /// that can look ahead (a seekable source, memory) finds it and calls
    /// [`size_record`](Decoder::size_record) before the next block.
    pub(crate) fn wants_record_size(&self) -> bool {
        matches!(&self.span, Span::Record(p) if p.first.is_some())
    }

    /// The record being assembled, if its buffer is not allocated yet: its
    /// first fragment's length, and whether its headers are recyclable ones.
    pub(crate) fn unsized_record(&self) -> Option<(usize, bool)> {
        match &self.span {
            Span::Record(p) => p
                .first
                .as_ref()
                .map(|f| (f.len(), self.format.is_recyclable())),
            _ => None,
        }
    }

    /// Allocates the buffer of the record being assembled: `total` bytes
    /// when the reader found its size ahead (taken as a hint: it is capped
    /// at `max_record_size`, and a record that turns out longer grows as
    /// usual), the default otherwise. Copies the first fragment into it,
    /// so that its block is free again.
    pub(crate) fn size_record(&mut self, total: Option<usize>) {
        let capacity = match total {
            Some(t) => t.min(self.opts.max_record_size),
            None => self.default_capacity(),
        };
        if let Span::Record(p) = &mut self.span {
            p.materialize(capacity);
        }
    }

    /// Whether a record of at least `size` bytes starting at `offset` is
    /// within `max_record_size`; if not, the read fails with the limit
    /// (a valid record is never dropped because of a setting). Records
    /// after a point-in-time stop are only counted.
    fn within_limit(&mut self, offset: u64, size: usize) -> bool {
        if size <= self.opts.max_record_size {
            return true;
        }
        self.take_partial();
        if !self.counting() {
            self.fail(Error::RecordTooLarge {
                offset,
                limit: self.opts.max_record_size,
            });
        }
        false
    }

    /// A checksummed record that is not a data fragment.
    fn on_non_data(&mut self, here: u64, end: u64, t: RecordType, payload: Range<usize>) {
        if t.is_ignorable_unknown() {
            // Reported only when nothing earlier is still undecided (a record
            // being assembled, damage being looked past), so that events stay
            // in file order; inside such a span it is skipped silently.
            let in_order = matches!(self.span, Span::Clear);
            if in_order
                && !self.counting()
                && decide(self.opts.mode, Situation::IgnorableRecord) == Action::Accept
            {
                self.seen_valid = true;
                self.summary.kept_end = end;
                self.queue.push_back(Event::Benign(Benign {
                    range: here..end,
                    kind: BenignKind::Ignorable(t.to_byte()),
                    payload: self.block.slice(payload),
                }));
            }
            return;
        }
        if !t.is_known() {
            self.damage(here, end, Reason::UnknownType, false);
            return;
        }
        // Known metadata: it starts a unit of the log like a record does.
        if let Some(p) = self.take_partial() {
            self.damage(p.start, p.end, Reason::MissingLast, true);
        }
        self.valid_start();
        if !self.reading() {
            return;
        }
        if t == RecordType::SetCompression {
            let body = self.block.slice(payload.clone());
            if !self.set_compression(here, &body) {
                return;
            }
        }
        if !self.counting() {
            self.seen_valid = true;
            self.summary.kept_end = end;
            self.queue.push_back(Event::Benign(Benign {
                range: here..end,
                kind: BenignKind::Metadata(t.to_byte()),
                payload: self.block.slice(payload),
            }));
        }
    }

    /// Applies a SetCompressionType record: later records are decompressed.
    /// False (and the decoder failed) when this build cannot read the compression.
    fn set_compression(&mut self, offset: u64, payload: &[u8]) -> bool {
        match codec_for(payload, offset) {
            Ok(codec) => {
                self.codec = codec;
                true
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// A whole record `[offset, end)` with a good checksum: returned (after
    /// decompression in a compressed log) or counted.
    fn emit_record(&mut self, offset: u64, end: u64, payload: Bytes) {
        let payload = match self.codec {
            None => payload,
            Some(codec) => {
                let limit = self.opts.max_record_size;
                match self.decompressor.decompress(codec, &payload, limit) {
                    Ok(plain) => Bytes::from(plain),
                    Err(DecompressError::TooLarge) => {
                        self.within_limit(offset, limit.saturating_add(1));
                        return;
                    }
                    Err(DecompressError::Invalid) => {
                        // Out of place like R5: dropped alone, then judged by position.
                        self.damage(offset, end, Reason::DecompressionFailed, true);
                        return;
                    }
                }
            }
        };
        self.seen_valid = true;
        if self.counting() {
            self.summary.unread_records += 1;
            return;
        }
        self.summary.records += 1;
        self.summary.record_bytes += payload.len() as u64;
        self.summary.kept_end = end;
        self.queue.push_back(Event::Record(Record {
            offset,
            end,
            payload,
        }));
    }

    /// What the byte scan accepts as a record in this log.
    fn candidates(&self, starts_only: bool) -> Candidates {
        Candidates {
            format: self.format,
            log_number: self.log_number,
            starts_only,
        }
    }

    /// Damage that breaks framing at `here` (the current position): resync.
    /// `declared_end` is where the damaged record says it ends within the
    /// block; `explained_to`, how far its header explains the bytes after
    /// it (they are not garbage).
    fn on_broken(
        &mut self,
        here: u64,
        reason: Reason,
        current: bool,
        declared_end: Option<usize>,
        explained_to: Option<usize>,
    ) {
        let block_len = self.block.len();
        let at = self.pos;
        let from = at + 1;
        let (resume, valid_start_follows, gave_up) = match self.opts.resync {
            Resync::Block if self.pending_is_interior_anyway() => {
                // The scan would only decide the position of damage that is
                // interior whatever follows: skip it (the rest of the block
                // is dropped either way), so that garbage costs a parse per
                // block, not a scan per byte.
                (block_len, false, false)
            }
            Resync::Block => {
                let found = scan(
                    &self.block,
                    from,
                    self.candidates(true),
                    &mut self.scan_budget,
                );
                if let Scan::Stale(_) = found {
                    // A checksummed record of another log number: the file
                    // is a recycled one, and that record its previous use.
                    self.format = Format::Recyclable;
                }
                (
                    block_len,
                    matches!(found, Scan::Found(..)),
                    found == Scan::GaveUp,
                )
            }
            Resync::Scan => {
                let cands = self.candidates(false);
                let jump = declared_end.filter(|&e| {
                    e >= block_len
                        || BLOCK_SIZE - e < HEADER_SIZE
                        || matches!(
                            parse_at(&self.block, e, self.format.is_recyclable()),
                            Parsed::Record { header, .. } if cands.accepts(&header, e)
                        )
                });
                match jump {
                    Some(q) => (q.min(block_len), false, false),
                    None => match scan(&self.block, from, cands, &mut self.scan_budget) {
                        Scan::Found(q, _) | Scan::Stale(q) => (q, false, false),
                        Scan::NotFound => (block_len, false, false),
                        Scan::GaveUp => (block_len, false, true),
                    },
                }
            }
        };
        self.pos = resume;
        let end = self.block_offset + resume as u64;
        let nonzero = |b: &[u8]| b.iter().filter(|&&x| x != 0).count() as u64;
        let explained_to = explained_to.map_or(at, |e| e.clamp(at, resume));
        let unexplained = nonzero(&self.block[explained_to..resume]);
        let plausible = self.plausible_start(at);
        if reason == Reason::ZeroHeader {
            let zero = unexplained == 0;
            self.add_damage(here, end, reason, current, zero, unexplained, plausible);
        } else {
            // A broken record followed by nothing but zeros to the resume
            // point: the zeros are a separate, all-zero region.
            match declared_end {
                Some(e) if e > at && e < resume && unexplained == 0 => {
                    let e = self.block_offset + e as u64;
                    self.add_damage(here, e, reason, current, false, 0, plausible);
                    // The zeros are their own cause: a zero header, as a
                    // parse starting there finds them.
                    self.add_damage(e, end, Reason::ZeroHeader, false, true, 0, true);
                }
                _ => self.add_damage(here, end, reason, current, false, unexplained, plausible),
            }
        }
        if gave_up {
            if let Span::Damage(p) = &mut self.span {
                p.uncertain = true;
            }
        }
        if valid_start_follows && matches!(self.span, Span::Damage(_)) {
            self.resolve(Position::Interior);
        }
    }

    /// Whether the damage being looked past is interior whatever follows:
    /// too much unexplained garbage for a torn write, a look-ahead that gave
    /// up, or nothing valid before it and no write-like start (see
    /// [`resolve`](Decoder::resolve)). While the format is open and the
    /// number known, only the garbage bound counts: a record of another
    /// number found by the scan would make the region a previous use.
    fn pending_is_interior_anyway(&self) -> bool {
        let Span::Damage(p) = &self.span else {
            return false;
        };
        let garbage = p.uncertain || p.unexplained > self.opts.max_torn_tail;
        if self.format == Format::Unknown && self.log_number.is_some() {
            // More than a torn write's worth of garbage and no record of
            // another number found in it: not a previous use either.
            return garbage;
        }
        garbage || (!self.seen_valid && !p.plausible_start && !self.format.is_recyclable())
    }

    /// Whether the bytes at `at` of the block begin like something a writer
    /// writes: a header whose type byte is zero (not written) or known with
    /// a length that fits the block, or fewer bytes than a header.
    fn plausible_start(&self, at: usize) -> bool {
        let b = &self.block[at.min(self.block.len())..];
        if b.len() < HEADER_SIZE {
            return true;
        }
        let t = RecordType::from_byte(b[6]);
        let len = usize::from(u16::from_le_bytes([b[4], b[5]]));
        // A type byte of zero: the header's end was not written (yet).
        t == RecordType::Zero || (t.is_known() && at + t.header_size() + len <= BLOCK_SIZE)
    }

    /// Records a damaged region `[start, end)` that breaks nothing else
    /// (an out-of-place record with a good checksum, R5). A record being
    /// assembled is lost with it.
    fn damage(&mut self, start: u64, end: u64, reason: Reason, current: bool) {
        self.add_damage(start, end, reason, current, false, 0, true);
    }

    /// Adds `[start, end)` to the damage whose position is not known yet.
    /// `zero`: the region holds only zero bytes (what preallocation
    /// leaves); `unexplained`: its non-zero bytes no header accounts for;
    /// `plausible`: it begins like something a writer writes.
    #[allow(clippy::too_many_arguments)]
    fn add_damage(
        &mut self,
        start: u64,
        end: u64,
        reason: Reason,
        current: bool,
        zero: bool,
        unexplained: u64,
        plausible: bool,
    ) {
        let (start, current, zero, plausible) = match self.take_partial() {
            Some(p) => (p.start.min(start), true, false, true),
            None => (start, current, zero, plausible),
        };
        if start < self.opts.initial_offset && !matches!(self.span, Span::Damage(_)) {
            // Damage that begins before the requested start is not ours to report.
            return;
        }
        self.seen_damage = true;
        // Only the part that is this log's counts as garbage: in a
        // recyclable log, other bytes are the file's previous use.
        let unexplained = if current || !self.format.is_recyclable() {
            unexplained
        } else {
            0
        };
        // An all-zero region adds no non-zero bytes: it must not move the
        // end of the non-zero part of a region already pending.
        let nonzero_end = if zero { None } else { Some(end) };
        let current_end = current.then_some(end);
        match &mut self.span {
            Span::Damage(p) => {
                p.end = p.end.max(end);
                if let Some(n) = nonzero_end {
                    p.nonzero_end = p.nonzero_end.max(n);
                }
                p.current_end = p.current_end.max(current_end);
                p.unexplained = p.unexplained.saturating_add(unexplained);
            }
            _ => {
                self.span = Span::Damage(Pending {
                    start,
                    end,
                    reason,
                    nonzero_end: nonzero_end.unwrap_or(start),
                    current_end,
                    unexplained,
                    plausible_start: plausible,
                    uncertain: false,
                })
            }
        }
    }

    /// A valid record starts here: pending damage is interior.
    fn valid_start(&mut self) {
        if matches!(self.span, Span::Damage(_)) {
            self.resolve(Position::Interior);
        }
    }

    /// Decides the pending damage now that its position is known. At the
    /// end of the log (`Tail`), damage is a torn write only if a crash can
    /// explain it; otherwise it is interior.
    fn resolve(&mut self, position: Position) {
        let Some(p) = self.take_pending() else { return };
        // At the end: some of it may be nothing but preallocation or a previous use.
        let (damage_end, rest_kind) = if self.format.is_recyclable() {
            (p.current_end.unwrap_or(p.start), BenignKind::PreviousUse)
        } else {
            (p.nonzero_end, BenignKind::ZeroFilledTail)
        };
        // Damage there is a torn write only if a crash can explain it.
        let torn = damage_end <= p.start
            || (!p.uncertain
                && p.unexplained <= self.opts.max_torn_tail
                && (self.seen_valid || p.plausible_start));
        if position == Position::Interior || !torn {
            self.apply(Damage {
                range: p.start..p.end,
                reason: p.reason,
                position: Position::Interior,
            });
            return;
        }
        let rest_kind = if p.nonzero_end <= damage_end.max(p.start) {
            BenignKind::ZeroFilledTail
        } else {
            rest_kind
        };
        if damage_end > p.start {
            self.apply(Damage {
                range: p.start..damage_end,
                reason: p.reason,
                position,
            });
        }
        if damage_end < p.end && self.reading() && !self.counting() {
            let situation = match rest_kind {
                BenignKind::ZeroFilledTail => Situation::ZeroFilledTail,
                _ => Situation::PreviousUse,
            };
            if decide(self.opts.mode, situation) == Action::Accept {
                self.queue.push_back(Event::Benign(Benign {
                    range: damage_end..p.end,
                    kind: rest_kind,
                    payload: Bytes::new(),
                }));
            }
        }
    }

    /// Applies the recovery table to a damaged region.
    fn apply(&mut self, damage: Damage) {
        if self.counting() {
            return;
        }
        self.summary.damaged_regions += 1;
        match decide(self.opts.mode, Situation::Damage(damage.position)) {
            Action::Accept => {}
            Action::Drop => {
                self.note_dropped(&damage);
                self.queue.push_back(Event::Dropped(damage));
            }
            Action::Stop => {
                self.note_dropped(&damage);
                self.queue.push_back(Event::Dropped(damage.clone()));
                if damage.position == Position::Interior {
                    self.summary.stopped_at = Some(damage.clone());
                    self.phase = Phase::Counting;
                    self.queue.push_back(Event::Stopped(Stop { damage }));
                }
            }
            Action::Fail => self.fail(Error::Corruption {
                mode: self.opts.mode,
                damage,
            }),
        }
    }

    fn note_dropped(&mut self, damage: &Damage) {
        self.summary.dropped_bytes += damage.len();
        match damage.position {
            Position::Interior => self.summary.interior_dropped = true,
            Position::Tail => self.summary.tail_dropped = true,
        }
    }

    /// The input has ended (for now, with `MayGrow`); `Some` when the step
    /// must return.
    fn finish(&mut self, end: End) -> Option<Step> {
        if end == End::MayGrow {
            // Undecided damage and a record being assembled are kept as
            // they are: the next feed continues where this one ended, as a
            // read of the whole log would (damage is never parsed in a
            // block the log may still grow into; see `advance`), so no
            // byte is parsed twice.
            self.end = None;
            return Some(Step::NotYet);
        }
        if let Some(p) = self.take_partial() {
            self.damage(p.start, p.end, Reason::MissingLast, true);
        }
        if matches!(self.span, Span::Damage(_)) {
            self.resolve(match end {
                End::NextFile => Position::Interior,
                _ => Position::Tail,
            });
        }
        if self.reading() {
            self.phase = Phase::Done;
        }
        None
    }
}

/// The payload range of a checksummed FULL record at `pos` of `block`
/// with a header of `hsize` bytes (a recyclable one carrying
/// `log_number`), whose header's type byte and log number have checksum
/// `seed`; `None` if the bytes there are anything else.
#[inline]
fn full_record_at(
    block: &[u8],
    pos: usize,
    hsize: usize,
    log_number: Option<u32>,
    seed: u32,
) -> Option<Range<usize>> {
    if pos + hsize > BLOCK_SIZE {
        return None;
    }
    let h = block.get(pos..pos + hsize)?;
    let len = usize::from(u16::from_le_bytes([h[4], h[5]]));
    let start = pos + hsize;
    let end = start + len;
    if end > block.len() {
        return None;
    }
    if let Some(n) = log_number {
        if h[7..11] != n.to_le_bytes() {
            return None;
        }
    }
    let masked = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    (unmask_crc(masked) == crate::crc::append(seed, &block[start..end])).then_some(start..end)
}
