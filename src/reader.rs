//! [`Reader`]: reads records from any `std::io::Read`, with recovery modes
//! and exact reports of what it dropped.

use std::collections::VecDeque;
use std::io::{self, Read};

use bytes::{Bytes, BytesMut};

use crate::compression::{codec_for, Codec, DecompressError, Decompressor};
use crate::error::{Error, Result};
use crate::format::{
    crc32c_of_byte, crc_seed, unmask_crc, Fragment, Header, RecordType, BLOCK_SIZE, HEADER_SIZE,
    RECYCLABLE_HEADER_SIZE,
};
use crate::fragment::{acceptable, parse_at, scan, Parsed};
use crate::policy::{decide, Action, RecoveryMode, Resync, Situation};
use crate::report::{Benign, BenignKind, Damage, Event, Position, Reason, Record, Summary};

/// The CRC32C of a legacy FULL header's type byte.
const LEGACY_FULL_SEED: u32 = crc32c_of_byte(1);

/// Default limit on a logical record's size: 64 MiB.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 << 20;

/// Options for a [`Reader`], built with chained setters.
///
/// ```
/// use blocklog::{ReaderOptions, RecoveryMode, Resync};
/// let reader = ReaderOptions::new()
///     .mode(RecoveryMode::SkipCorrupt)
///     .resync(Resync::Scan)
///     .max_record_size(1 << 20)
///     .build(&b""[..]);
/// # drop(reader);
/// ```
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    mode: RecoveryMode,
    resync: Resync,
    log_number: Option<u32>,
    initial_offset: u64,
    max_record_size: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            mode: RecoveryMode::default(),
            resync: Resync::default(),
            log_number: None,
            initial_offset: 0,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }
}

impl ReaderOptions {
    /// Tolerate-tail recovery, block resync, no expected log number, from
    /// offset 0, records up to [`DEFAULT_MAX_RECORD_SIZE`].
    pub fn new() -> ReaderOptions {
        ReaderOptions::default()
    }

    /// The recovery mode (see `docs/recovery.md`).
    pub fn mode(mut self, mode: RecoveryMode) -> ReaderOptions {
        self.mode = mode;
        self
    }

    /// Where to resume after damage that breaks framing.
    pub fn resync(mut self, resync: Resync) -> ReaderOptions {
        self.resync = resync;
        self
    }

    /// Declares the log recyclable, with `log_number` as the number of its
    /// current use: recyclable records carrying another number, and legacy
    /// (7-byte header) data records, are the file's previous use, never this
    /// log's records. Do not set it for a legacy log. Without it, the first
    /// recyclable record seen makes the log recyclable and gives its number.
    pub fn log_number(mut self, log_number: u32) -> ReaderOptions {
        self.log_number = Some(log_number);
        self
    }

    /// Start at the first record whose first fragment begins at or after
    /// `offset` (LevelDB's semantics): the source is read from its start and
    /// the bytes before the block holding `offset` are discarded; fragments
    /// of a record begun earlier are skipped silently.
    pub fn initial_offset(mut self, offset: u64) -> ReaderOptions {
        self.initial_offset = offset;
        self
    }

    /// The largest logical record the reader assembles. A longer one is
    /// dropped as [`Reason::RecordTooLarge`] damage; memory use never exceeds
    /// about this much plus two blocks, whatever the input.
    pub fn max_record_size(mut self, bytes: usize) -> ReaderOptions {
        self.max_record_size = bytes;
        self
    }

    /// Creates a reader over a log held in memory, without copying it:
    /// blocks are slices of `data`, so a record stored as one fragment is a
    /// slice of `data` too. A memory-mapped file can be read this way by
    /// wrapping the map with `Bytes::from_owner`.
    pub fn build_from_bytes(self, data: Bytes) -> Reader<io::Empty> {
        let mut reader = self.build(io::empty());
        reader.mem = Some(data);
        reader
    }

    /// Creates the reader.
    pub fn build<R: Read>(self, source: R) -> Reader<R> {
        Reader {
            source,
            mem: None,
            seed: None,
            lent: None,
            expected_log: self.log_number,
            // A log number given up front says the log is recyclable: legacy
            // records and other numbers are a previous use from the start.
            recyclable: self.log_number.is_some(),
            resyncing: self.initial_offset > 0,
            opts: self,
            block: Bytes::new(),
            block_offset: 0,
            next_block_offset: 0,
            started: false,
            pos: 0,
            source_done: false,
            partial: None,
            pending: None,
            queue: VecDeque::new(),
            state: State::Reading,
            counting: false,
            summary: Summary::default(),
            codec: None,
            decompressor: Decompressor::new(),
        }
    }
}

/// A logical record being assembled from fragments.
#[derive(Debug)]
struct Partial {
    start: u64,
    end: u64,
    buf: BytesMut,
    too_large: bool,
}

/// Damage whose position is not known yet: the reader is looking ahead for
/// a valid record.
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
}

#[derive(Debug)]
enum State {
    Reading,
    Failed(Error),
    Done,
}

/// Reads records from a log.
///
/// Records come back as [`Record`]s holding `bytes::Bytes`: a record stored
/// as one fragment is a zero-copy slice of the block buffer. Damage is
/// handled by the [`RecoveryMode`] and reported as [`Event::Dropped`]; the
/// [`Summary`] counts everything.
///
/// ```
/// use blocklog::{Event, ReaderOptions, RecoveryMode, Writer};
/// let mut w = Writer::new(Vec::new());
/// for i in 0..3u8 {
///     w.add_record(&[i; 10])?;
/// }
/// let mut log = w.into_inner()?;
/// log[7 + 17 + 3] ^= 1; // flip a bit in the second record's payload
///
/// let mut r = ReaderOptions::new().mode(RecoveryMode::SkipCorrupt).build(&log[..]);
/// while let Some(event) = r.next_event()? {
///     match event {
///         Event::Record(rec) => println!("record at {}: {:?}", rec.offset, rec.payload),
///         Event::Dropped(d) => println!("dropped {d}"),
///         Event::Benign(_) => {}
///     }
/// }
/// // Block resync drops the rest of the damaged block: only the first record survives.
/// assert_eq!(r.summary().records, 1);
/// assert_eq!(r.summary().outcome().as_str(), "skipped");
/// # Ok::<(), blocklog::Error>(())
/// ```
#[derive(Debug)]
pub struct Reader<R> {
    source: R,
    /// The whole log, when reading from memory ([`ReaderOptions::build_from_bytes`]).
    mem: Option<Bytes>,
    /// The CRC32C of a recyclable FULL header's type and log number, for
    /// the log number it was computed for.
    seed: Option<(u32, u32)>,
    /// The record [`next_record_ref`](Reader::next_record_ref) lent out last,
    /// when it could not lend a slice of the block.
    lent: Option<Bytes>,
    opts: ReaderOptions,
    /// The current block's bytes (shorter than a block only at the end of the log).
    block: Bytes,
    block_offset: u64,
    next_block_offset: u64,
    started: bool,
    pos: usize,
    source_done: bool,
    expected_log: Option<u32>,
    /// A log number was given, or a checksummed recyclable record has been seen.
    recyclable: bool,
    /// Initial-offset resync: MIDDLE and LAST fragments are skipped silently.
    resyncing: bool,
    partial: Option<Partial>,
    pending: Option<Pending>,
    queue: VecDeque<Event>,
    state: State,
    /// After a point-in-time stop: count the records left unread.
    counting: bool,
    summary: Summary,
    /// The compression a SetCompressionType record asked for (feature `zstd`).
    codec: Option<Codec>,
    decompressor: Decompressor,
}

impl<R: Read> Reader<R> {
    /// A tolerate-tail reader with default options.
    pub fn new(source: R) -> Reader<R> {
        ReaderOptions::new().build(source)
    }

    /// The next record, skipping damage the mode accepts. `Ok(None)` at the
    /// end of the log; an error when the mode refuses the log or the source
    /// fails, after every record before the cause. An error is sticky:
    /// every later call returns it again.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            if let Some(record) = self.fast_full() {
                return Ok(Some(record));
            }
            match self.next_event()? {
                Some(Event::Record(r)) => return Ok(Some(r)),
                Some(_) => continue,
                None => return Ok(None),
            }
        }
    }

    /// Like [`next_record`](Reader::next_record), lending the payload
    /// instead of returning shared [`Bytes`]: no reference count to update
    /// and nothing to free per record, the fastest way to scan a log. The
    /// slice is valid until the next call; the `u64` is the record's offset.
    pub fn next_record_ref(&mut self) -> Result<Option<(u64, &[u8])>> {
        if self.lent.is_some() {
            self.lent = None;
        }
        if let Some((offset, payload)) = self.fast_full_range() {
            return Ok(Some((offset, &self.block[payload])));
        }
        match self.next_record()? {
            Some(record) => {
                let payload = self.lent.insert(record.payload);
                Ok(Some((record.offset, &payload[..])))
            }
            None => Ok(None),
        }
    }

    /// Like [`next_record`](Reader::next_record), copying the payload into
    /// `buf` (cleared first) and returning the record's offset.
    pub fn read_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<u64>> {
        buf.clear();
        match self.next_record_ref()? {
            Some((offset, payload)) => {
                buf.extend_from_slice(payload);
                Ok(Some(offset))
            }
            None => Ok(None),
        }
    }

    /// The next record, dropped region or benign region, in file order.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        if let Some(record) = self.fast_full() {
            return Ok(Some(Event::Record(record)));
        }
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(Some(ev));
            }
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(None),
                State::Failed(e) => {
                    // Errors are sticky: calling again never turns a
                    // refusal or an I/O error into a clean end of log.
                    self.state = State::Failed(e.clone());
                    return Err(e);
                }
                State::Reading => {
                    self.state = State::Reading;
                    self.advance();
                }
            }
        }
    }

    /// An iterator over the records. It ends after the first error.
    pub fn records(&mut self) -> Records<'_, R> {
        Records {
            reader: self,
            done: false,
        }
    }

    /// An iterator over the events. It ends after the first error.
    pub fn events(&mut self) -> Events<'_, R> {
        Events {
            reader: self,
            done: false,
        }
    }

    /// Counters of the read so far; final once the reader has returned
    /// `None` or an error.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The log number of the current use, when known (given or learned).
    pub fn log_number(&self) -> Option<u32> {
        self.expected_log
    }

    /// Whether the log is read as recyclable: a log number was given, or a
    /// recyclable record was seen.
    pub fn is_recyclable(&self) -> bool {
        self.recyclable
    }

    /// The options in force.
    pub fn options(&self) -> &ReaderOptions {
        &self.opts
    }

    /// The source.
    pub fn into_inner(self) -> R {
        self.source
    }

    // ------------------------------------------------------------ machinery

    /// The common case without the general machinery: the next unit is a
    /// checksummed FULL fragment (of the current use, in a recyclable log)
    /// within the current block, and nothing is queued, pending, being
    /// assembled, skipped or decompressed. Returns `None` for everything
    /// else, which [`advance`](Reader::advance) handles, and which reaches
    /// the same result on the cases taken here.
    #[inline]
    fn fast_full(&mut self) -> Option<Record> {
        let (offset, payload) = self.fast_full_range()?;
        Some(Record {
            offset,
            payload: self.block.slice(payload),
        })
    }

    /// [`fast_full`](Reader::fast_full)'s work: the record's offset and its
    /// payload's range in the current block.
    #[inline]
    fn fast_full_range(&mut self) -> Option<(u64, std::ops::Range<usize>)> {
        if !self.queue.is_empty()
            || self.partial.is_some()
            || self.pending.is_some()
            || self.counting
            || self.resyncing
            || self.codec.is_some()
            || !matches!(self.state, State::Reading)
        {
            return None;
        }
        let pos = self.pos;
        let block = &self.block[..];
        let (record_type, hsize, log_number) = match *block.get(pos + 6)? {
            1 if !self.recyclable => (RecordType::Full, HEADER_SIZE, None),
            5 => (
                RecordType::RecyclableFull,
                RECYCLABLE_HEADER_SIZE,
                Some(self.expected_log?),
            ),
            _ => return None,
        };
        if pos + hsize > BLOCK_SIZE || pos + hsize > block.len() {
            return None;
        }
        let mut h = [0u8; RECYCLABLE_HEADER_SIZE];
        h[..hsize].copy_from_slice(&block[pos..pos + hsize]);
        let len = u16::from_le_bytes([h[4], h[5]]) as usize;
        let start = pos + hsize;
        let end = start + len;
        if end > block.len() || len > self.opts.max_record_size {
            return None;
        }
        if let Some(n) = log_number {
            if h[7..11] != n.to_le_bytes() {
                return None;
            }
        }
        let here = self.block_offset + pos as u64;
        if here < self.opts.initial_offset {
            return None;
        }
        let seed = match (log_number, self.seed) {
            (None, _) => LEGACY_FULL_SEED,
            (Some(n), Some((m, seed))) if m == n => seed,
            (Some(n), _) => {
                let seed = crc_seed(record_type, Some(n));
                self.seed = Some((n, seed));
                seed
            }
        };
        let block = &self.block[..];
        let masked = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        if unmask_crc(masked) != crc32c::crc32c_append(seed, &block[start..end]) {
            return None;
        }
        self.pos = end;
        self.recyclable |= log_number.is_some();
        self.summary.records += 1;
        self.summary.record_bytes += len as u64;
        Some((here, start..end))
    }

    fn reading(&self) -> bool {
        matches!(self.state, State::Reading)
    }

    fn here(&self) -> u64 {
        self.block_offset + self.pos as u64
    }

    /// Parses one more unit of the log, queueing events or changing state.
    fn advance(&mut self) {
        if self.pos >= self.block.len() && !self.load_block() {
            if self.reading() {
                self.finish();
            }
            return;
        }
        let here = self.here();
        match parse_at(&self.block, self.pos, self.recyclable) {
            Parsed::End | Parsed::Trailer => self.pos = self.block.len(),
            Parsed::Record { header, payload } => self.on_record(here, header, payload),
            Parsed::Zero => self.on_broken(here, Reason::ZeroHeader, false, None),
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
                );
                self.on_broken(here, reason, current, declared_end)
            }
            Parsed::Truncated {
                reason,
                record_type,
                log_number_bytes,
            } => {
                // A length running past the end of the file is a torn tail
                // only if nothing valid follows: a damaged length field can
                // claim bytes that hold intact records. Resync as for any
                // broken header (the rest of the data is searched).
                let current = self.is_current(record_type, &log_number_bytes);
                self.on_broken(here, reason, current, None);
            }
        }
    }

    /// Reads the next block. False at the end of the source or on an error
    /// (then the state is `Failed`).
    fn load_block(&mut self) -> bool {
        if self.source_done {
            return false;
        }
        if !self.started {
            self.started = true;
            if !self.skip_to_initial_block() {
                return false;
            }
        }
        if let Some(mem) = &self.mem {
            // Reading from memory: the block is a slice of the log.
            let offset = self.next_block_offset;
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(mem.len());
            let end = start.saturating_add(BLOCK_SIZE).min(mem.len());
            let filled = end - start;
            self.block = mem.slice(start..end);
            self.summary.bytes_read += filled as u64;
            if filled < BLOCK_SIZE {
                self.source_done = true;
            }
            self.block_offset = offset;
            self.next_block_offset = offset + BLOCK_SIZE as u64;
            self.pos = 0;
            return filled > 0;
        }
        let mut buf = match std::mem::take(&mut self.block).try_into_mut() {
            Ok(b) => b,
            Err(_) => BytesMut::new(),
        };
        if buf.len() < BLOCK_SIZE {
            buf.resize(BLOCK_SIZE, 0);
        }
        let offset = self.next_block_offset;
        let mut filled = 0;
        while filled < BLOCK_SIZE {
            match self.source.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.fail_io(offset + filled as u64, e);
                    return false;
                }
            }
        }
        self.summary.bytes_read += filled as u64;
        if filled < BLOCK_SIZE {
            self.source_done = true;
            buf.truncate(filled);
        }
        self.block = buf.freeze();
        self.block_offset = offset;
        self.next_block_offset = offset + BLOCK_SIZE as u64;
        self.pos = 0;
        filled > 0
    }

    /// Discards the source's bytes before the block holding the initial
    /// offset (or the next block, when the offset is in a trailer).
    fn skip_to_initial_block(&mut self) -> bool {
        let off = self.opts.initial_offset;
        let in_block = (off % BLOCK_SIZE as u64) as usize;
        let mut start = off - in_block as u64;
        if in_block > BLOCK_SIZE - 6 {
            start += BLOCK_SIZE as u64;
        }
        if start == 0 {
            return true;
        }
        // A compression record can only be the file's first record: look at
        // it before discarding, so the records after the offset decode.
        let mut head = [0u8; crate::format::HEADER_SIZE + 4];
        let mut got = 0;
        if let Some(mem) = &self.mem {
            // Reading from memory: the head is the log's first bytes.
            got = head.len().min(mem.len());
            head[..got].copy_from_slice(&mem[..got]);
        }
        while got < head.len() && self.mem.is_none() {
            match self.source.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.fail_io(got as u64, e);
                    return false;
                }
            }
        }
        if let Some(h) = Header::decode(&head[..got]) {
            let body = &head[crate::format::HEADER_SIZE..got];
            if h.record_type == RecordType::SetCompression
                && usize::from(h.length) == body.len()
                && h.checksum_matches(body)
                && !self.set_compression(0, body)
            {
                return false;
            }
        }
        let skipped = match &self.mem {
            // Reading from memory: nothing to discard.
            Some(mem) => Ok(start.min(mem.len() as u64)),
            None => {
                let mut rest = (&mut self.source).take(start - got as u64);
                io::copy(&mut rest, &mut io::sink()).map(|n| n + got as u64)
            }
        };
        match skipped {
            Ok(n) => {
                self.summary.bytes_read += n;
                self.next_block_offset = n;
                self.block_offset = n;
                if n < start {
                    self.source_done = true;
                    return false;
                }
                true
            }
            Err(e) => {
                self.fail_io(0, e);
                false
            }
        }
    }

    fn fail_io(&mut self, offset: u64, e: io::Error) {
        self.summary.failed = true;
        self.state = State::Failed(Error::io(offset, e));
    }

    /// Whether a damaged header carries the current log number (only
    /// meaningful in a recyclable log): a recyclable type whose log-number
    /// bytes, as far as present, are the expected ones. A header cut before
    /// its type byte cannot be told apart, and counts as current.
    fn is_current(&self, record_type: Option<RecordType>, log_bytes: &[u8]) -> bool {
        match record_type {
            Some(t) if t.is_recyclable() => match self.expected_log {
                Some(e) => e.to_le_bytes().starts_with(log_bytes),
                None => true,
            },
            Some(_) => false,
            None => true,
        }
    }

    fn on_record(&mut self, here: u64, header: Header, payload: std::ops::Range<usize>) {
        let end_pos = payload.end;
        let end = self.block_offset + end_pos as u64;
        let t = header.record_type;
        if let Some(n) = header.log_number {
            self.recyclable = true;
            match self.expected_log {
                None => self.expected_log = Some(n),
                Some(e) if e != n => {
                    self.pos = end_pos;
                    self.damage(here, end, Reason::StaleLogNumber, false);
                    return;
                }
                Some(_) => {}
            }
        }
        if here < self.opts.initial_offset {
            // Before the requested start: skipped silently, but a
            // compression record still applies to the records after it.
            self.pos = end_pos;
            self.partial = None;
            if t == RecordType::SetCompression {
                let body = self.block.slice(payload);
                self.set_compression(here, &body);
            }
            return;
        }
        self.pos = end_pos;
        if self.recyclable && header.log_number.is_none() && t.fragment().is_some() {
            self.damage(here, end, Reason::StaleLogNumber, false);
            return;
        }
        let Some(fragment) = t.fragment() else {
            self.on_non_data(here, end, t, payload);
            return;
        };
        let current = header.log_number.is_some();
        match fragment {
            Fragment::Full | Fragment::First => {
                if let Some(p) = self.partial.take() {
                    self.damage(p.start, p.end, Reason::MissingLast, true);
                }
                self.valid_start();
                if !self.reading() {
                    return;
                }
                self.resyncing = false;
                let len = payload.len();
                if fragment == Fragment::Full {
                    if len > self.opts.max_record_size {
                        self.damage(here, end, Reason::RecordTooLarge, current);
                    } else {
                        let payload = self.block.slice(payload);
                        self.emit_record(here, end, payload);
                    }
                } else {
                    let too_large = len > self.opts.max_record_size;
                    let mut buf = BytesMut::new();
                    if !too_large {
                        buf.reserve((2 * len).min(self.opts.max_record_size));
                        buf.extend_from_slice(&self.block[payload]);
                    }
                    self.partial = Some(Partial {
                        start: here,
                        end,
                        buf,
                        too_large,
                    });
                }
            }
            Fragment::Middle | Fragment::Last => {
                let Some(p) = self.partial.as_mut() else {
                    if !self.resyncing {
                        self.damage(here, end, Reason::MissingFirst, current);
                    }
                    return;
                };
                p.end = end;
                if !p.too_large {
                    if p.buf.len() + payload.len() > self.opts.max_record_size {
                        p.too_large = true;
                        p.buf = BytesMut::new();
                    } else {
                        p.buf.extend_from_slice(&self.block[payload]);
                    }
                }
                if fragment == Fragment::Last {
                    let p = self.partial.take().expect("partial present");
                    if p.too_large {
                        self.damage(p.start, p.end, Reason::RecordTooLarge, current);
                    } else {
                        self.emit_record(p.start, p.end, p.buf.freeze());
                    }
                }
            }
        }
    }

    /// A checksummed record that is not a data fragment.
    fn on_non_data(&mut self, here: u64, end: u64, t: RecordType, payload: std::ops::Range<usize>) {
        if t.is_ignorable_unknown() {
            // Reported only when nothing earlier is still undecided (a record
            // being assembled, damage being looked past), so that events stay
            // in file order; inside such a span it is skipped silently.
            let in_order = self.partial.is_none() && self.pending.is_none();
            if in_order
                && !self.counting
                && decide(self.opts.mode, Situation::IgnorableRecord) == Action::Accept
            {
                self.queue.push_back(Event::Benign(Benign {
                    range: here..end,
                    kind: BenignKind::Ignorable(t.to_byte()),
                }));
            }
            return;
        }
        if !t.is_known() {
            self.damage(here, end, Reason::UnknownType, false);
            return;
        }
        // Known metadata: it starts a unit of the log like a record does.
        if let Some(p) = self.partial.take() {
            self.damage(p.start, p.end, Reason::MissingLast, true);
        }
        self.valid_start();
        if !self.reading() {
            return;
        }
        if t == RecordType::SetCompression {
            let body = self.block.slice(payload);
            if !self.set_compression(here, &body) {
                return;
            }
        }
        if !self.counting {
            self.queue.push_back(Event::Benign(Benign {
                range: here..end,
                kind: BenignKind::Metadata(t.to_byte()),
            }));
        }
    }

    /// Applies a SetCompressionType record: later records are decompressed.
    /// False (and the reader failed) when this build cannot read the compression.
    fn set_compression(&mut self, offset: u64, payload: &[u8]) -> bool {
        match codec_for(payload, offset) {
            Ok(codec) => {
                self.codec = codec;
                true
            }
            Err(e) => {
                self.summary.failed = true;
                self.state = State::Failed(e);
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
                    Err(e) => {
                        // Out of place like R5: dropped alone, then judged by position.
                        let reason = match e {
                            DecompressError::TooLarge => Reason::RecordTooLarge,
                            DecompressError::Invalid => Reason::DecompressionFailed,
                        };
                        self.damage(offset, end, reason, true);
                        return;
                    }
                }
            }
        };
        if self.counting {
            self.summary.unread_records += 1;
            return;
        }
        self.summary.records += 1;
        self.summary.record_bytes += payload.len() as u64;
        self.queue
            .push_back(Event::Record(Record { offset, payload }));
    }

    /// Damage that breaks framing at `here` (the current position): resync.
    fn on_broken(&mut self, here: u64, reason: Reason, current: bool, declared_end: Option<usize>) {
        let block_len = self.block.len();
        let from = self.pos + 1;
        let (resume, valid_start_follows) = match self.opts.resync {
            Resync::Block => {
                let found = scan(&self.block, from, self.recyclable, self.expected_log, true);
                (block_len, found.is_some())
            }
            Resync::Scan => {
                let jump = declared_end.filter(|&e| {
                    e >= block_len
                        || BLOCK_SIZE - e < crate::format::HEADER_SIZE
                        || matches!(
                            parse_at(&self.block, e, self.recyclable),
                            Parsed::Record { header, .. }
                                if acceptable(&header, self.recyclable, self.expected_log)
                        )
                });
                let q = jump.or_else(|| {
                    scan(&self.block, from, self.recyclable, self.expected_log, false)
                        .map(|(q, _)| q)
                });
                (q.unwrap_or(block_len).min(block_len), false)
            }
        };
        self.pos = resume;
        let end = self.block_offset + resume as u64;
        let at = (here - self.block_offset) as usize;
        let all_zero = |b: &[u8]| b.iter().all(|&x| x == 0);
        if reason == Reason::ZeroHeader {
            let zero = all_zero(&self.block[at..resume]);
            self.add_damage(here, end, reason, current, zero);
        } else {
            // A broken record followed by nothing but zeros to the resume
            // point: the zeros are a separate, all-zero region.
            match declared_end {
                Some(e) if e > at && e < resume && all_zero(&self.block[e..resume]) => {
                    self.add_damage(here, self.block_offset + e as u64, reason, current, false);
                    self.add_damage(self.block_offset + e as u64, end, reason, false, true);
                }
                _ => self.add_damage(here, end, reason, current, false),
            }
        }
        if valid_start_follows && self.pending.is_some() {
            self.resolve(Position::Interior);
        }
    }

    /// Records a damaged region `[start, end)` whose position is not known
    /// yet. A record being assembled is lost with it.
    fn damage(&mut self, start: u64, end: u64, reason: Reason, current: bool) {
        self.add_damage(start, end, reason, current, false);
    }

    /// [`damage`](Reader::damage) for a region known to hold only zero bytes
    /// when `zero` is true (what preallocation leaves).
    fn add_damage(&mut self, start: u64, end: u64, reason: Reason, current: bool, zero: bool) {
        let (start, current, zero) = match self.partial.take() {
            Some(p) => (p.start.min(start), true, false),
            None => (start, current, zero),
        };
        if start < self.opts.initial_offset && self.pending.is_none() {
            // Damage that begins before the requested start is not ours to report.
            return;
        }
        // An all-zero region adds no non-zero bytes: it must not move the
        // end of the non-zero part of a region already pending.
        let nonzero_end = if zero { None } else { Some(end) };
        let current_end = current.then_some(end);
        match &mut self.pending {
            Some(p) => {
                p.end = p.end.max(end);
                if let Some(n) = nonzero_end {
                    p.nonzero_end = p.nonzero_end.max(n);
                }
                p.current_end = p.current_end.max(current_end);
            }
            None => {
                self.pending = Some(Pending {
                    start,
                    end,
                    reason,
                    nonzero_end: nonzero_end.unwrap_or(start),
                    current_end,
                })
            }
        }
    }

    /// A valid record starts here: pending damage is interior.
    fn valid_start(&mut self) {
        if self.pending.is_some() {
            self.resolve(Position::Interior);
        }
    }

    /// Decides the pending damage now that its position is known.
    fn resolve(&mut self, position: Position) {
        let Some(p) = self.pending.take() else { return };
        if position == Position::Interior {
            self.apply(Damage {
                range: p.start..p.end,
                reason: p.reason,
                position,
            });
            return;
        }
        // Tail: some of it may be nothing but preallocation or a previous use.
        let (damage_end, rest_kind) = if self.recyclable {
            (p.current_end.unwrap_or(p.start), BenignKind::PreviousUse)
        } else {
            (p.nonzero_end, BenignKind::ZeroFilledTail)
        };
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
        if damage_end < p.end && self.reading() && !self.counting {
            let situation = match rest_kind {
                BenignKind::ZeroFilledTail => Situation::ZeroFilledTail,
                _ => Situation::PreviousUse,
            };
            if decide(self.opts.mode, situation) == Action::Accept {
                self.queue.push_back(Event::Benign(Benign {
                    range: damage_end..p.end,
                    kind: rest_kind,
                }));
            }
        }
    }

    /// Applies the recovery table to a damaged region.
    fn apply(&mut self, damage: Damage) {
        if self.counting {
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
                if damage.position == Position::Interior {
                    self.summary.stopped_at = Some(damage.clone());
                    self.counting = true;
                }
                self.queue.push_back(Event::Dropped(damage));
            }
            Action::Fail => {
                self.summary.failed = true;
                self.state = State::Failed(Error::Corruption {
                    mode: self.opts.mode,
                    damage,
                });
            }
        }
    }

    fn note_dropped(&mut self, damage: &Damage) {
        self.summary.dropped_bytes += damage.len();
        match damage.position {
            Position::Interior => self.summary.interior_dropped = true,
            Position::Tail => self.summary.tail_dropped = true,
        }
    }

    /// The source has ended.
    fn finish(&mut self) {
        if let Some(p) = self.partial.take() {
            self.damage(p.start, p.end, Reason::MissingLast, true);
        }
        if self.pending.is_some() {
            self.resolve(Position::Tail);
        }
        if self.reading() {
            self.state = State::Done;
        }
    }
}

/// Turns a reader call into an iterator step; `done` is set at the end and
/// after the first error.
fn step<T>(done: &mut bool, r: Result<Option<T>>) -> Option<Result<T>> {
    let item = r.transpose();
    *done = !matches!(item, Some(Ok(_)));
    item
}

/// Iterator over a reader's records; see [`Reader::records`].
#[derive(Debug)]
pub struct Records<'a, R> {
    reader: &'a mut Reader<R>,
    done: bool,
}

impl<R: Read> Iterator for Records<'_, R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        step(&mut self.done, self.reader.next_record())
    }
}

/// Iterator over a reader's events; see [`Reader::events`].
#[derive(Debug)]
pub struct Events<'a, R> {
    reader: &'a mut Reader<R>,
    done: bool,
}

impl<R: Read> Iterator for Events<'_, R> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        step(&mut self.done, self.reader.next_event())
    }
}
