//! [`Reader`]: reads records from any `std::io::Read` (or a seekable
//! source, or memory) with recovery modes and exact reports of what it
//! dropped. A thin loop around the sans-IO [`Decoder`].

use std::io::{self, Read, Seek, SeekFrom};

use bytes::Bytes;

use crate::decode::{Decoder, End, Input, Step};
use crate::error::{Error, Result};
use crate::format::{BLOCK_SIZE, HEADER_SIZE, RECYCLABLE_HEADER_SIZE};
use crate::options::ReaderOptions;
use crate::report::{Event, Record, Summary};

/// Where a reader's bytes come from.
#[derive(Debug)]
enum Source {
    /// Read sequentially; the first `skip` bytes are read and discarded.
    Stream,
    /// Seeked to each block's offset.
    Seekable,
    /// The whole log in memory.
    Memory(Bytes),
}

/// Reads records from a log.
///
/// Records come back as [`Record`]s holding `bytes::Bytes`: a record stored
/// as one fragment is a zero-copy slice of the block buffer. Damage is
/// handled by the [`RecoveryMode`](crate::RecoveryMode) and reported as
/// [`Event::Dropped`]; the [`Summary`] counts everything.
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
///         _ => {}
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
    kind: Source,
    decoder: Decoder,
    /// The record [`next_record_ref`](Reader::next_record_ref) lent out last,
    /// when it could not lend a slice of the block.
    lent: Option<Bytes>,
    /// How to seek the source, when it is seekable (set by
    /// [`ReaderOptions::build_seekable`]): used to find a multi-block
    /// record's size before assembling it.
    seek: Option<fn(&mut R, SeekFrom) -> io::Result<u64>>,
}

impl<R: Read> Reader<R> {
    /// A tolerate-tail reader with default options.
    ///
    /// ```
    /// let log = blocklog::Writer::new(Vec::new()).into_inner()?;
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// assert!(reader.next_record()?.is_none());
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn new(source: R) -> Reader<R> {
        ReaderOptions::new().build(source)
    }

    pub(crate) fn with_source(opts: ReaderOptions, source: R) -> Reader<R> {
        Reader {
            source,
            kind: Source::Stream,
            decoder: Decoder::new(opts),
            lent: None,
            seek: None,
        }
    }

    /// The next record, skipping damage the mode accepts. `Ok(None)` at the
    /// end of the log; an error when the mode refuses the log, a record is
    /// over the size limit or the source fails, after every record before
    /// the cause. An error is sticky: every later call returns it again.
    ///
    /// ```
    /// let mut w = blocklog::Writer::new(Vec::new());
    /// w.add_record(b"hello")?;
    /// let log = w.into_inner()?;
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// let record = reader.next_record()?.expect("one record");
    /// assert_eq!((record.offset, &record.payload[..]), (0, &b"hello"[..]));
    /// assert_eq!(record.end, 12); // 7-byte header + 5 bytes
    /// assert!(reader.next_record()?.is_none());
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        // The common case first, without wrapping the record in an event.
        if let Some((offset, payload)) = self.decoder.fast_full() {
            return Ok(Some(Record {
                offset,
                end: self.decoder.here(),
                payload: self.decoder.block().slice(payload),
            }));
        }
        self.next_record_slow()
    }

    /// [`next_record`](Reader::next_record) past the fast path.
    fn next_record_slow(&mut self) -> Result<Option<Record>> {
        loop {
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
    ///
    /// ```
    /// let mut w = blocklog::Writer::new(Vec::new());
    /// w.add_record(b"a")?;
    /// w.add_record(b"bc")?;
    /// let log = w.into_inner()?;
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// let mut total = 0;
    /// while let Some((_offset, payload)) = reader.next_record_ref()? {
    ///     total += payload.len();
    /// }
    /// assert_eq!(total, 3);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    #[inline]
    pub fn next_record_ref(&mut self) -> Result<Option<(u64, &[u8])>> {
        self.lent = None;
        if let Some((offset, payload)) = self.decoder.fast_full() {
            return Ok(Some((offset, &self.decoder.block()[payload])));
        }
        match self.next_record_slow()? {
            Some(record) => {
                let payload = self.lent.insert(record.payload);
                Ok(Some((record.offset, &payload[..])))
            }
            None => Ok(None),
        }
    }

    /// Like [`next_record`](Reader::next_record), copying the payload into
    /// `buf` (cleared first) and returning the record's offset.
    ///
    /// ```
    /// let mut w = blocklog::Writer::new(Vec::new());
    /// w.add_record(b"xyz")?;
    /// let log = w.into_inner()?;
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// let mut buf = Vec::new();
    /// assert_eq!(reader.read_into(&mut buf)?, Some(0));
    /// assert_eq!(buf, b"xyz");
    /// assert_eq!(reader.read_into(&mut buf)?, None);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
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

    /// The next record, dropped region, benign region or stop, in file order.
    ///
    /// ```
    /// use blocklog::{Event, Reader, Writer};
    /// let mut w = Writer::new(Vec::new());
    /// w.add_record(b"kept")?;
    /// w.add_record(b"torn")?;
    /// let mut log = w.into_inner()?;
    /// log.truncate(log.len() - 2); // a crash mid-write
    /// let mut reader = Reader::new(&log[..]);
    /// assert!(matches!(reader.next_event()?, Some(Event::Record(_))));
    /// match reader.next_event()? {
    ///     Some(Event::Dropped(d)) => assert_eq!(d.range, 11..log.len() as u64),
    ///     other => panic!("expected the torn tail, got {other:?}"),
    /// }
    /// assert!(reader.next_event()?.is_none());
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some((offset, payload)) = self.decoder.fast_full() {
                return Ok(Some(Event::Record(Record {
                    offset,
                    end: self.decoder.here(),
                    payload: self.decoder.block().slice(payload),
                })));
            }
            match self.decoder.step()? {
                Step::Event(event) => return Ok(Some(event)),
                Step::NeedInput => self.fill(),
                Step::NotYet | Step::Done => return Ok(None),
            }
        }
    }

    /// An iterator over the records. It ends after the first error.
    ///
    /// ```
    /// let mut w = blocklog::Writer::new(Vec::new());
    /// for r in [&b"a"[..], b"b", b"c"] {
    ///     w.add_record(r)?;
    /// }
    /// let log = w.into_inner()?;
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// let records: Vec<_> = reader.records().collect::<Result<_, _>>()?;
    /// assert_eq!(records.len(), 3);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn records(&mut self) -> Records<'_, R> {
        Records {
            reader: self,
            done: false,
        }
    }

    /// An iterator over the events. It ends after the first error.
    ///
    /// ```
    /// let mut w = blocklog::Writer::new(Vec::new());
    /// w.add_record(b"a")?;
    /// let mut log = w.into_inner()?;
    /// log.extend_from_slice(&[0; 100]); // preallocated space
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// let events: Vec<_> = reader.events().collect::<Result<_, _>>()?;
    /// assert_eq!(events.len(), 2); // the record, then the zero-filled tail
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn events(&mut self) -> Events<'_, R> {
        Events {
            reader: self,
            done: false,
        }
    }

    /// Reads the bytes the decoder asks for; an I/O error is handed to it.
    fn fill(&mut self) {
        if self.decoder.wants_head() {
            if let Err(e) = self.read_head() {
                self.decoder.fail_input(e);
                return;
            }
        }
        let offset = self.decoder.next_offset();
        if self.decoder.wants_record_size() {
            if let Err(e) = self.size_record(offset) {
                self.decoder.fail_input(e);
                return;
            }
        }
        let result = match &self.kind {
            Source::Memory(mem) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(mem.len());
                let end = start.saturating_add(BLOCK_SIZE).min(mem.len());
                let data = mem.slice(start..end);
                Ok(if end - start == BLOCK_SIZE && end < mem.len() {
                    Input::Block(data)
                } else {
                    Input::Last(data, End::Final)
                })
            }
            Source::Stream | Source::Seekable => self.read_block(offset),
        };
        let fed = result.and_then(|input| self.decoder.feed(input));
        if let Err(e) = fed {
            self.decoder.fail_input(e);
        }
    }

    /// A record's first fragment has arrived, and the next fragment starts
    /// at `offset`: where the source allows looking ahead (memory, a
    /// seekable source), reads the headers of the blocks that follow to
    /// find the record's size, so that it is assembled in a buffer of that
    /// size (no reallocation, no copy of a copy); then returns to `offset`.
    /// A plain stream cannot look ahead: the buffer grows as usual.
    fn size_record(&mut self, offset: u64) -> Result<()> {
        let Some((first, recyclable)) = self.decoder.unsized_record() else {
            return Ok(());
        };
        let limit = self.decoder.options().max_record_size;
        let total = match (&self.kind, self.seek) {
            (Source::Memory(mem), _) => size_ahead(first, offset, recyclable, limit, |at, h| {
                let at = usize::try_from(at).ok()?;
                h.copy_from_slice(mem.get(at..at.checked_add(h.len())?)?);
                Some(())
            }),
            (Source::Seekable, Some(seek)) => {
                let source = &mut self.source;
                let total = size_ahead(first, offset, recyclable, limit, |at, h| {
                    seek(source, SeekFrom::Start(at)).ok()?;
                    (read_full(source, h, at).ok()? == h.len()).then_some(())
                });
                seek(source, SeekFrom::Start(offset)).map_err(|e| Error::io(offset, e))?;
                total
            }
            _ => None,
        };
        self.decoder.size_record(total);
        Ok(())
    }

    /// Reads the block at `offset` from the source (seeking first when the
    /// source is seekable and positioned elsewhere).
    fn read_block(&mut self, offset: u64) -> Result<Input> {
        read_block(&mut self.source, &mut self.decoder, offset, End::Final)
    }

    /// Starting past offset 0: hands the decoder the log's first bytes (a
    /// compression record there applies to every record), then gets the
    /// source to the first block wanted.
    fn read_head(&mut self) -> Result<()> {
        let start = self.decoder.next_offset();
        let mut head = [0u8; RECYCLABLE_HEADER_SIZE];
        let got = match &self.kind {
            Source::Memory(mem) => {
                let n = head.len().min(mem.len());
                head[..n].copy_from_slice(&mem[..n]);
                n
            }
            Source::Stream | Source::Seekable => read_full(&mut self.source, &mut head, 0)?,
        };
        self.decoder.feed_head(&head[..got])?;
        if let Source::Stream = self.kind {
            // A plain reader can only read and discard up to the start.
            let mut rest = (&mut self.source).take(start - got as u64);
            io::copy(&mut rest, &mut io::sink()).map_err(|e| Error::io(got as u64, e))?;
        }
        Ok(())
    }
}

impl<R: Read + Seek> Reader<R> {
    pub(crate) fn with_seekable(opts: ReaderOptions, mut source: R) -> Result<Reader<R>> {
        let decoder = Decoder::new(opts);
        let at = if decoder.wants_head() {
            0
        } else {
            decoder.next_offset()
        };
        source
            .seek(SeekFrom::Start(at))
            .map_err(|e| Error::io(at, e))?;
        let mut reader = Reader {
            source,
            kind: Source::Seekable,
            decoder,
            lent: None,
            seek: Some(|source: &mut R, to| source.seek(to)),
        };
        reader.decoder.set_sizes_ahead();
        if reader.decoder.wants_head() {
            reader.read_head()?;
            let start = reader.decoder.next_offset();
            reader
                .source
                .seek(SeekFrom::Start(start))
                .map_err(|e| Error::io(start, e))?;
        }
        Ok(reader)
    }
}

impl Reader<io::Empty> {
    pub(crate) fn with_bytes(opts: ReaderOptions, data: Bytes) -> Reader<io::Empty> {
        let mut decoder = Decoder::new(opts);
        decoder.set_sizes_ahead();
        Reader {
            source: io::empty(),
            kind: Source::Memory(data),
            decoder,
            lent: None,
            seek: None,
        }
    }
}

impl<R> Reader<R> {
    /// Counters of the read so far; final once the reader has returned
    /// `None` or an error.
    ///
    /// ```
    /// let mut w = blocklog::Writer::new(Vec::new());
    /// w.add_record(b"abc")?;
    /// let log = w.into_inner()?;
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// while reader.next_record()?.is_some() {}
    /// let s = reader.summary();
    /// assert_eq!((s.records, s.record_bytes, s.kept_end), (1, 3, 10));
    /// assert_eq!(s.outcome().as_str(), "clean");
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn summary(&self) -> &Summary {
        self.decoder.summary()
    }

    /// The log number of the current use, when known (given or learned).
    ///
    /// ```
    /// let mut w = blocklog::WriterOptions::new().recyclable(9).build(Vec::new());
    /// w.add_record(b"r")?;
    /// let log = w.into_inner()?;
    /// let mut reader = blocklog::Reader::new(&log[..]);
    /// reader.next_record()?;
    /// assert_eq!(reader.log_number(), Some(9));
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn log_number(&self) -> Option<u32> {
        self.decoder.log_number()
    }

    /// Whether the log is read as recyclable: stated with
    /// [`ReaderOptions::format`], or fixed by its first data record.
    ///
    /// ```
    /// let mut w = blocklog::Writer::new(Vec::new());
    /// w.add_record(b"r")?;
    /// let log = w.into_inner()?;
    /// // Reading a legacy log with its file's number changes nothing.
    /// let mut reader = blocklog::ReaderOptions::new().log_number(3).build(&log[..]);
    /// assert_eq!(reader.records().count(), 1);
    /// assert!(!reader.is_recyclable());
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn is_recyclable(&self) -> bool {
        self.decoder.is_recyclable()
    }

    /// The options in force.
    ///
    /// ```
    /// use blocklog::{ReaderOptions, RecoveryMode};
    /// let reader = ReaderOptions::new().mode(RecoveryMode::Absolute).build(&b""[..]);
    /// assert_eq!(reader.options().recovery_mode(), RecoveryMode::Absolute);
    /// ```
    pub fn options(&self) -> &ReaderOptions {
        self.decoder.options()
    }

    /// The source.
    ///
    /// ```
    /// let reader = blocklog::Reader::new(std::io::Cursor::new(Vec::<u8>::new()));
    /// let cursor = reader.into_inner();
    /// assert_eq!(cursor.position(), 0);
    /// ```
    pub fn into_inner(self) -> R {
        self.source
    }
}

/// Reads the block at `offset` (the source is positioned there) into the
/// decoder's last block when it can take it back, and says how the input
/// continues if the block is short: `end`.
pub(crate) fn read_block<R: Read>(
    source: &mut R,
    decoder: &mut Decoder,
    offset: u64,
    end: End,
) -> Result<Input> {
    // A recycled block is already a block long: reading over its old bytes
    // needs no zeroing first.
    let mut buf = decoder.recycle_block().unwrap_or_default();
    if buf.len() != BLOCK_SIZE {
        buf.resize(BLOCK_SIZE, 0);
    }
    let filled = read_full(source, &mut buf, offset)?;
    buf.truncate(filled);
    let data = buf.freeze();
    Ok(if filled == BLOCK_SIZE {
        Input::Block(data)
    } else {
        Input::Last(data, end)
    })
}

/// The size of a record whose first fragment (`first` bytes) ends the
/// block before `offset`, from the headers at the starts of the blocks
/// that follow, read by `header_at(offset, buf)`: MIDDLE fragments that
/// fill their blocks, then a LAST. Checksums are not verified (the size is
/// a capacity hint), so the result is bounded by the headers actually
/// there: at most a block more than the bytes present, and never more than
/// `limit`. `None` when the headers do not describe such a record.
fn size_ahead(
    first: usize,
    mut offset: u64,
    recyclable: bool,
    limit: usize,
    mut header_at: impl FnMut(u64, &mut [u8]) -> Option<()>,
) -> Option<usize> {
    let (hsize, middle, last) = if recyclable {
        (RECYCLABLE_HEADER_SIZE, 7, 8)
    } else {
        (HEADER_SIZE, 3, 4)
    };
    let mut h = [0u8; RECYCLABLE_HEADER_SIZE];
    let h = &mut h[..hsize];
    let mut total = first;
    loop {
        if !offset.is_multiple_of(BLOCK_SIZE as u64) {
            return None;
        }
        header_at(offset, h)?;
        let len = usize::from(u16::from_le_bytes([h[4], h[5]]));
        if len > BLOCK_SIZE - hsize {
            return None;
        }
        total = total.checked_add(len).filter(|&t| t <= limit)?;
        match h[6] {
            t if t == last => return Some(total),
            t if t == middle && len == BLOCK_SIZE - hsize => offset += BLOCK_SIZE as u64,
            _ => return None,
        }
    }
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
pub(crate) fn read_full<R: Read>(source: &mut R, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match source.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(offset + got as u64, e)),
        }
    }
    Ok(got)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Writer, WriterOptions};

    /// `size_ahead` over an in-memory log.
    fn ahead(log: &[u8], first: usize, offset: u64, limit: usize) -> Option<usize> {
        size_ahead(first, offset, false, limit, |at, h| {
            let at = usize::try_from(at).ok()?;
            h.copy_from_slice(log.get(at..at.checked_add(h.len())?)?);
            Some(())
        })
    }

    #[test]
    fn size_ahead_finds_the_record_and_stays_bounded() {
        let mut w = Writer::new(Vec::new());
        w.add_record(&vec![5u8; 100_000]).unwrap();
        let log = w.into_inner().unwrap();
        let first = BLOCK_SIZE - HEADER_SIZE;
        assert_eq!(
            ahead(&log, first, BLOCK_SIZE as u64, usize::MAX),
            Some(100_000)
        );
        // Over the limit, or cut before its LAST: no hint.
        assert_eq!(ahead(&log, first, BLOCK_SIZE as u64, 99_999), None);
        assert_eq!(
            ahead(
                &log[..2 * BLOCK_SIZE + 3],
                first,
                BLOCK_SIZE as u64,
                usize::MAX
            ),
            None
        );
        // A header claiming more than a block holds, or a FULL where a
        // fragment is due: no hint.
        let mut bad = log.clone();
        bad[BLOCK_SIZE + 4..BLOCK_SIZE + 6].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(ahead(&bad, first, BLOCK_SIZE as u64, usize::MAX), None);
        let mut bad = log.clone();
        bad[BLOCK_SIZE + 6] = 1;
        assert_eq!(ahead(&bad, first, BLOCK_SIZE as u64, usize::MAX), None);
        assert_eq!(ahead(&log, first, 5, usize::MAX), None);
    }

    #[test]
    fn a_wrong_size_hint_changes_no_record() {
        let mut w = WriterOptions::new().build(Vec::new());
        w.add_record(&vec![1u8; 70_000]).unwrap();
        w.add_record(b"after").unwrap();
        let mut log = w.into_inner().unwrap();
        // The MIDDLE claims to be a LAST: the hint is short; the record
        // still fails its checksum and is dropped as damage, as without it.
        log[BLOCK_SIZE + 6] = 4;
        let read = |r: &mut dyn FnMut() -> Result<Option<Record>>| {
            let mut out = Vec::new();
            while let Ok(Some(rec)) = r() {
                out.push(rec.payload);
            }
            out
        };
        let mut seekable = ReaderOptions::new()
            .build_seekable(io::Cursor::new(log.clone()))
            .unwrap();
        let mut stream = Reader::new(&log[..]);
        let mut memory = ReaderOptions::new().build_from_bytes(Bytes::from(log.clone()));
        let a = read(&mut || seekable.next_record());
        let b = read(&mut || stream.next_record());
        let c = read(&mut || memory.next_record());
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(seekable.summary(), stream.summary());
    }
}
