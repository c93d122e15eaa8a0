//! [`Writer`]: appends records to any `std::io::Write`.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, IoSlice, Seek, SeekFrom, Write};
use std::ops::Range;

use crate::error::{Error, Result};
use crate::format::{
    crc_seed, mask_crc, Fragment, RecordType, BLOCK_SIZE, HEADER_SIZE, RECYCLABLE_HEADER_SIZE,
};
use crate::fragment::{Layout, Step};
use crate::options::DEFAULT_MAX_RECORD_SIZE;

/// A sink that can make written bytes durable.
///
/// [`Writer::sync`] calls it after flushing. Implemented for [`File`] (as
/// `fdatasync`), for [`BufWriter`] around a sink that implements it, and as
/// a no-op for in-memory sinks.
pub trait SyncData {
    /// Makes every byte written so far durable.
    fn sync_data(&mut self) -> io::Result<()>;
}

impl SyncData for File {
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
}

impl SyncData for &File {
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
}

impl<W: SyncData + Write> SyncData for BufWriter<W> {
    fn sync_data(&mut self) -> io::Result<()> {
        self.flush()?;
        self.get_mut().sync_data()
    }
}

impl<T: SyncData + ?Sized> SyncData for &mut T {
    fn sync_data(&mut self) -> io::Result<()> {
        (**self).sync_data()
    }
}

impl<T: SyncData + ?Sized> SyncData for Box<T> {
    fn sync_data(&mut self) -> io::Result<()> {
        (**self).sync_data()
    }
}

/// Memory is as durable as it gets.
impl SyncData for Vec<u8> {
    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Memory is as durable as it gets.
impl<T> SyncData for Cursor<T> {
    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Options for a [`Writer`], built with chained setters.
///
/// ```
/// use blocklog::WriterOptions;
/// let writer = WriterOptions::new()
///     .recyclable(7)          // RocksDB's recyclable format, log number 7
///     .buffer_size(256 << 10) // stage up to 256 KiB before writing
///     .build(Vec::new());
/// # drop(writer);
/// ```
#[derive(Debug, Clone)]
pub struct WriterOptions {
    log_number: Option<u32>,
    append_at: u64,
    buffer_size: usize,
    max_record_size: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            log_number: None,
            append_at: 0,
            buffer_size: 64 * 1024,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }
}

impl WriterOptions {
    /// Legacy (LevelDB) format, a new log at offset 0, a 64 KiB staging buffer.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::WriterOptions;
    ///
    /// let mut writer = WriterOptions::new().build(Vec::new());
    /// assert_eq!(writer.add_record(b"first")?, 0);
    /// assert_eq!(writer.log_number(), None); // legacy format
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn new() -> WriterOptions {
        WriterOptions::default()
    }

    /// Writes RocksDB's recyclable format (11-byte headers, types 5 to 8)
    /// carrying `log_number`, so that a reader can tell this log's records
    /// from a previous use of the same file.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::{Reader, WriterOptions};
    ///
    /// let mut writer = WriterOptions::new().recyclable(7).build(Vec::new());
    /// writer.add_record(b"put k v")?;
    /// let log = writer.into_inner()?;
    /// assert_eq!(log.len(), 11 + 7); // an 11-byte header carrying the log number
    /// let mut reader = Reader::new(&log[..]);
    /// assert!(reader.next_record()?.is_some());
    /// assert_eq!(reader.log_number(), Some(7));
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn recyclable(mut self, log_number: u32) -> WriterOptions {
        self.log_number = Some(log_number);
        self
    }

    /// Appends to an existing log of `len` bytes: the sink must be
    /// positioned at its end. Writing resumes mid-block exactly as if the
    /// same writer had never stopped.
    ///
    /// The length is where the log may resume only if it ends cleanly:
    /// after a crash, reopen it with [`reopen`](crate::reopen::reopen),
    /// which cuts the torn tail first and builds the writer.
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// use blocklog::{Reader, Writer, WriterOptions};
    ///
    /// // A log written by an earlier process...
    /// let mut first = Writer::new(Vec::new());
    /// first.add_record(b"one")?;
    /// let mut log = first.into_inner()?;
    ///
    /// // ...reopened for append at its end (with a file: open it in append mode).
    /// let mut writer = WriterOptions::new().append_at(log.len() as u64).build(&mut log);
    /// assert_eq!(writer.add_record(b"two")?, 10);
    /// writer.flush()?;
    /// drop(writer);
    /// let records: Vec<_> = Reader::new(&log[..]).records().collect::<Result<_, _>>()?;
    /// assert_eq!(records.len(), 2);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn append_at(mut self, len: u64) -> WriterOptions {
        self.append_at = len;
        self
    }

    /// Staged bytes are written to the sink once they reach this size (and
    /// on [`Writer::flush`] and [`Writer::sync`]). 0 writes every record as
    /// soon as it is added. A record of at least half this size that spans
    /// blocks is not staged: it is written at once, after what is staged,
    /// in one vectored write from the caller's memory.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::WriterOptions;
    ///
    /// // Unbuffered: each record reaches the sink as soon as it is added.
    /// let mut writer = WriterOptions::new().buffer_size(0).build(Vec::new());
    /// writer.add_record(b"now")?;
    /// assert_eq!(writer.staged_len(), 0);
    /// assert_eq!(writer.get_ref().len(), 10);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn buffer_size(mut self, bytes: usize) -> WriterOptions {
        self.buffer_size = bytes;
        self
    }

    /// The largest record [`Writer::add_record`] accepts (default
    /// [`DEFAULT_MAX_RECORD_SIZE`], the reader's default limit, so that a
    /// default reader reads back everything a default writer wrote). A
    /// longer record is refused with
    /// [`Error::RecordTooLarge`] before
    /// anything is staged; the writer is not poisoned. Raise the readers'
    /// [`max_record_size`](crate::ReaderOptions::max_record_size) as well
    /// when raising this.
    pub fn max_record_size(mut self, bytes: usize) -> WriterOptions {
        self.max_record_size = bytes;
        self
    }

    /// Creates the writer.
    ///
    /// A plain [`Write`] cannot tell its length or position, so nothing
    /// checks that the sink ends at [`append_at`](WriterOptions::append_at):
    /// for a file use [`build_seekable`](WriterOptions::build_seekable),
    /// and to reopen a log after a crash use
    /// [`reopen`](crate::reopen::reopen), which also cuts the torn tail.
    ///
    /// # Example
    ///
    /// ```
    /// use std::fs::File;
    ///
    /// use blocklog::WriterOptions;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let file = File::create(dir.path().join("000001.log"))?;
    /// let mut writer = WriterOptions::new().recyclable(1).build(file);
    /// writer.add_record(b"hello")?;
    /// writer.sync()?; // durable: fdatasync
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<W: Write>(self, sink: W) -> Writer<W> {
        Writer {
            sink,
            block_offset: (self.append_at % BLOCK_SIZE as u64) as usize,
            written: self.append_at,
            log_number: self.log_number,
            staged: Vec::with_capacity(self.buffer_size.min(1 << 20)),
            buffer_size: self.buffer_size,
            poisoned: None,
            seeds: [
                Fragment::Full,
                Fragment::First,
                Fragment::Middle,
                Fragment::Last,
            ]
            .map(|f| {
                crc_seed(
                    RecordType::for_fragment(f, self.log_number.is_some()),
                    self.log_number,
                )
            }),
            scratch: Vec::new(),
            pieces: Vec::new(),
            max_record_size: self.max_record_size,
            hand_over: None,
        }
    }

    /// Creates a writer that builds the log in memory, in `log` itself:
    /// each record's header and payload are encoded straight into it, so a
    /// payload is copied once (a writer over a `Vec` sink from
    /// [`build`](WriterOptions::build) copies it into its staging buffer,
    /// then into the sink). Reserve `log`'s capacity ahead to avoid the
    /// copies of its growth.
    ///
    /// `log` holds the log so far (usually nothing): records are appended
    /// after its bytes, as with [`append_at`](WriterOptions::append_at)
    /// of its length, which this replaces (a value given to `append_at` is
    /// not used). Nothing is written to the sink until
    /// [`flush`](Writer::flush) (or [`into_inner`](Writer::into_inner)),
    /// which hands the buffer over without copying it when the sink is
    /// empty: every record is [staged](Writer::staged_len) until then, and
    /// [`buffer_size`](WriterOptions::buffer_size) does not apply. After a
    /// flush the writer goes on in a new buffer, appended to the sink at
    /// the next flush.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::{Reader, WriterOptions};
    ///
    /// let mut writer = WriterOptions::new().build_in_memory(Vec::with_capacity(1 << 20));
    /// for i in 0..1000u32 {
    ///     writer.add_record(&i.to_le_bytes())?;
    /// }
    /// let log: Vec<u8> = writer.into_inner()?; // the same buffer, not a copy
    /// assert_eq!(log.len(), 1000 * (7 + 4));
    /// assert_eq!(Reader::new(&log[..]).records().count(), 1000);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn build_in_memory(self, log: Vec<u8>) -> Writer<Vec<u8>> {
        let len = log.len() as u64;
        let mut writer = WriterOptions {
            append_at: 0,
            buffer_size: 0,
            ..self
        }
        .build(Vec::new());
        writer.buffer_size = usize::MAX;
        writer.block_offset = (len % BLOCK_SIZE as u64) as usize;
        writer.staged = log;
        writer.hand_over = Some(hand_over_vec);
        writer
    }

    /// Creates the writer over a seekable sink (a [`File`], also one opened
    /// with `O_APPEND`), checking the append position: the sink is seeked
    /// to its end, whose offset must be [`append_at`](WriterOptions::append_at)
    /// (0 for a new log). Otherwise it fails with
    /// [`Error::InvalidInput`] whose `offset` is
    /// the sink's length; a failed seek is [`Error::Io`].
    ///
    /// This checks only the length, not that the log ends cleanly there:
    /// after a crash, the end of a log may be a torn write, and appending
    /// after it would hide the records appended behind what then reads as
    /// interior damage. [`reopen`](crate::reopen::reopen) recovers the log,
    /// cuts the torn tail and positions the file.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use blocklog::{Error, WriterOptions};
    /// let mut w = WriterOptions::new().build_seekable(Cursor::new(Vec::new()))?;
    /// w.add_record(b"one")?;
    /// let log = w.into_inner()?.into_inner();
    /// let len = log.len() as u64;
    /// // The right length resumes the log ...
    /// let again = WriterOptions::new().append_at(len).build_seekable(Cursor::new(log.clone()));
    /// assert!(again.is_ok());
    /// // ... a wrong one is refused.
    /// let wrong = WriterOptions::new().append_at(len - 1).build_seekable(Cursor::new(log));
    /// assert!(matches!(wrong, Err(Error::InvalidInput { offset, .. }) if offset == len));
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn build_seekable<W: Write + Seek>(self, mut sink: W) -> Result<Writer<W>> {
        let len = sink
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::io(self.append_at, e))?;
        if len != self.append_at {
            return Err(Error::InvalidInput {
                offset: len,
                what: "append_at is not the length of the sink (given as the offset)",
            });
        }
        Ok(self.build(sink))
    }
}

/// The error of [`Writer::into_inner`]: the error that poisoned the writer
/// (or that the final flush met), together with the sink, which is not
/// dropped (like `std::io::IntoInnerError`). Bytes still staged are
/// discarded: none of them was acknowledged.
pub struct IntoInnerError<W> {
    sink: W,
    error: Error,
}

impl<W> IntoInnerError<W> {
    /// The error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The error, dropping the sink.
    pub fn into_error(self) -> Error {
        self.error
    }

    /// The sink, dropping the error.
    pub fn into_inner(self) -> W {
        self.sink
    }

    /// The sink and the error.
    pub fn into_parts(self) -> (W, Error) {
        (self.sink, self.error)
    }
}

impl<W> std::fmt::Debug for IntoInnerError<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntoInnerError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<W> std::fmt::Display for IntoInnerError<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl<W> std::error::Error for IntoInnerError<W> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// So that `writer.into_inner()?` works in functions returning [`Error`].
impl<W> From<IntoInnerError<W>> for Error {
    fn from(e: IntoInnerError<W>) -> Error {
        e.error
    }
}

/// Appends records to a log.
///
/// Records are staged in memory and written to the sink in large writes;
/// [`flush`](Writer::flush) hands everything to the sink and
/// [`sync`](Writer::sync) also makes it durable. A record is acknowledged
/// only by a successful `sync` after it.
///
/// After any I/O error the writer is *poisoned*: every later call returns
/// that same error, since bytes it had accepted may or may not have reached
/// the sink. Reopen the log (reading it recovers what did) and append anew.
///
/// ```
/// use blocklog::{Reader, Writer};
/// let mut w = Writer::new(Vec::new());
/// w.add_record(b"hello")?;
/// w.add_record(&vec![7u8; 100_000])?; // spans four blocks
/// let bytes = w.into_inner()?;
/// let records: Vec<_> = Reader::new(&bytes[..]).records().collect::<Result<_, _>>()?;
/// assert_eq!(&records[0].payload[..], b"hello");
/// assert_eq!(records[1].payload.len(), 100_000);
/// # Ok::<(), blocklog::Error>(())
/// ```
#[derive(Debug)]
pub struct Writer<W: Write> {
    sink: W,
    /// Position within the current block of the next byte (staged or not).
    block_offset: usize,
    /// File offset of the first staged byte (bytes before it were written to the sink).
    written: u64,
    log_number: Option<u32>,
    staged: Vec<u8>,
    buffer_size: usize,
    poisoned: Option<Error>,
    /// CRC32C of each fragment type's checksummed header prefix (type byte
    /// and log number), indexed by [`Fragment`] as `usize`.
    seeds: [u32; 4],
    /// Headers of a record being written directly (reused).
    scratch: Vec<u8>,
    /// The pieces of a record being written directly (reused).
    pieces: Vec<Piece>,
    /// Longer records are refused.
    max_record_size: usize,
    /// Hands the staged bytes to the sink without going through
    /// [`Write`] (set only by [`WriterOptions::build_in_memory`], for a
    /// `Vec<u8>` sink: the staged buffer becomes the sink, no copy).
    hand_over: Option<fn(&mut W, &mut Vec<u8>)>,
}

/// [`Writer::hand_over`] for a `Vec<u8>` sink: an empty sink takes the
/// staged buffer itself (no byte copied); a non-empty one gets the bytes
/// appended.
fn hand_over_vec(sink: &mut Vec<u8>, staged: &mut Vec<u8>) {
    if sink.is_empty() {
        std::mem::swap(sink, staged);
    } else {
        sink.append(staged);
    }
}

/// One piece of a record written directly: padding, or a fragment's header
/// (range of the scratch buffer) and payload (range of the record).
#[derive(Debug)]
enum Piece {
    Pad(usize),
    Fragment(Range<usize>, Range<usize>),
}

/// `Write::write_all` for a list of buffers (the standard library's is not
/// stable yet): retries on `Interrupted`, fails with `WriteZero` when the
/// sink accepts nothing.
fn write_all_vectored<W: Write>(sink: &mut W, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match sink.write_vectored(bufs) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl<W: Write> Writer<W> {
    /// A legacy-format writer for a new log, with default options.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// writer.add_record(b"hello")?;
    /// assert_eq!(writer.into_inner()?.len(), 7 + 5);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn new(sink: W) -> Writer<W> {
        WriterOptions::new().build(sink)
    }

    /// Appends one record and returns the file offset of its first header.
    ///
    /// The record may stay staged in memory until the next flush or sync.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// assert_eq!(writer.add_record(b"first")?, 0);
    /// assert_eq!(writer.add_record(b"second")?, 12); // 7-byte header + 5 bytes
    /// // A record larger than a block is split into fragments across blocks.
    /// assert_eq!(writer.add_record(&vec![0; 100_000])?, 25);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    #[inline]
    pub fn add_record(&mut self, payload: &[u8]) -> Result<u64> {
        // The common case, small enough to inline into the caller's loop: a
        // healthy writer, a record within the limit that is one FULL
        // fragment in the current block and leaves the staging buffer below
        // its size (nothing to write to the sink).
        let header_size = self.header_size();
        let leftover = BLOCK_SIZE - self.block_offset;
        let size = header_size + payload.len();
        if self.poisoned.is_none()
            && payload.len() <= self.max_record_size
            && size <= leftover
            && self.staged.len() + size < self.buffer_size
        {
            let offset = self.end();
            self.stage_full(payload);
            self.block_offset += size;
            if self.block_offset == BLOCK_SIZE {
                self.block_offset = 0;
            }
            return Ok(offset);
        }
        self.add_record_slow(payload)
    }

    /// [`add_record`](Writer::add_record) for everything else.
    #[inline(never)]
    fn add_record_slow(&mut self, payload: &[u8]) -> Result<u64> {
        self.check_poisoned()?;
        if payload.len() > self.max_record_size {
            // Refused before anything is staged: the writer stays usable.
            return Err(Error::RecordTooLarge {
                offset: self.offset(),
                limit: self.max_record_size,
            });
        }
        let header_size = self.header_size();
        let leftover = BLOCK_SIZE - self.block_offset;
        if leftover >= header_size && payload.len() <= leftover - header_size {
            // Fast path: the record is one FULL fragment in the current block.
            let offset = self.end();
            self.stage_full(payload);
            self.block_offset += header_size + payload.len();
            if self.block_offset == BLOCK_SIZE {
                self.block_offset = 0;
            }
            if self.staged.len() >= self.buffer_size {
                self.write_staged()?;
            }
            return Ok(offset);
        }
        if payload.len() >= self.buffer_size / 2 {
            // The record goes to the sink at once or nearly (it fills at
            // least half the buffer): hand it over without copying it into
            // the staging buffer, whose copy would be a second one.
            return self.write_direct(payload);
        }
        let mut offset = None;
        let mut layout = Layout::new(self.block_offset, header_size, payload.len());
        let fragments = payload.len() / (BLOCK_SIZE - header_size) + 2;
        self.staged
            .reserve(payload.len() + fragments * 2 * header_size);
        for step in layout.by_ref() {
            match step {
                Step::Pad(n) => {
                    self.staged.resize(self.staged.len() + n, 0);
                }
                Step::Emit {
                    fragment,
                    payload: range,
                } => {
                    if offset.is_none() {
                        offset = Some(self.end());
                    }
                    let mut header = [0u8; RECYCLABLE_HEADER_SIZE];
                    self.encode(&mut header, fragment, &payload[range.clone()]);
                    self.staged.extend_from_slice(&header[..header_size]);
                    self.staged.extend_from_slice(&payload[range]);
                }
            }
        }
        self.block_offset = layout.block_offset();
        debug_assert_eq!(self.block_offset as u64, self.end() % BLOCK_SIZE as u64);
        if self.staged.len() >= self.buffer_size {
            self.write_staged()?;
        }
        Ok(offset.expect("every record has at least one fragment"))
    }

    /// Appends one metadata record of `record_type` (a type that is not a
    /// data fragment) carrying `payload`, as a single physical record: when
    /// it does not fit in the rest of the current block, the block is padded
    /// with zeros and the record starts the next one. Returns its offset.
    /// Used by the WAL for its markers. A legacy type gets a 7-byte header;
    /// a recyclable type (only in a recyclable writer) an 11-byte header
    /// carrying the writer's log number.
    ///
    /// Fails with [`Error::InvalidInput`] (not poisoning) for a data type,
    /// a recyclable type in a legacy writer, or a payload longer than one
    /// block can hold.
    pub(crate) fn add_metadata(&mut self, record_type: RecordType, payload: &[u8]) -> Result<u64> {
        self.check_poisoned()?;
        let log_number = if record_type.is_recyclable() {
            self.log_number
        } else {
            None
        };
        let header_size = record_type.header_size();
        if record_type.fragment().is_some()
            || (record_type.is_recyclable() && log_number.is_none())
            || payload.len() > BLOCK_SIZE - header_size
        {
            return Err(Error::InvalidInput {
                offset: self.offset(),
                what: "a metadata record is one record of a non-data type within a block (recyclable types in a recyclable log only)",
            });
        }
        let leftover = BLOCK_SIZE - self.block_offset;
        if leftover < header_size + payload.len() {
            // The rest of the block: zeros when shorter than a header of
            // the log's format (a trailer), else a padding record (zeros
            // there would read as a zero header: damage): type 0xF0, an
            // ignorable type unknown to every reader (kept unknown so that
            // the decoder's resync scan spends no checksums on it), or in a
            // recyclable log 0xF5 (kind 0xF0), carrying the log number so
            // that an old use's padding reads as stale.
            let pad_type = match self.log_number {
                Some(_) => RecordType::WalRecyclableMarker,
                None => RecordType::Unknown(0xF0),
            };
            let pad_header = pad_type.header_size();
            if leftover >= pad_header {
                let mut pad = vec![0u8; leftover - pad_header];
                if let (Some(kind), Some(_)) = (pad.first_mut(), self.log_number) {
                    *kind = 0xF0;
                }
                self.push_record(pad_type, self.log_number, &pad);
            } else {
                self.staged.resize(self.staged.len() + leftover, 0);
            }
            self.block_offset = 0;
        }
        let offset = self.end();
        self.push_record(record_type, log_number, payload);
        self.block_offset += header_size + payload.len();
        if self.block_offset == BLOCK_SIZE {
            self.block_offset = 0;
        }
        if self.staged.len() >= self.buffer_size {
            self.write_staged()?;
        }
        Ok(offset)
    }

    /// Stages one physical record of `record_type` (its header carrying
    /// `log_number` when given) without moving the block position.
    fn push_record(&mut self, record_type: RecordType, log_number: Option<u32>, payload: &[u8]) {
        let crc = mask_crc(crate::crc::append(
            crc_seed(record_type, log_number),
            payload,
        ));
        self.staged.extend_from_slice(&crc.to_le_bytes());
        self.staged
            .extend_from_slice(&(payload.len() as u16).to_le_bytes());
        self.staged.push(record_type.to_byte());
        if let Some(n) = log_number {
            self.staged.extend_from_slice(&n.to_le_bytes());
        }
        self.staged.extend_from_slice(payload);
    }

    /// Stages a FULL record: its header (of a size known at compile time
    /// in each branch, so that it is copied without a call) and `payload`,
    /// with one capacity check. `payload` fits the current block.
    #[inline]
    fn stage_full(&mut self, payload: &[u8]) {
        let crc = mask_crc(crate::crc::append(
            self.seeds[Fragment::Full as usize],
            payload,
        ));
        let [c0, c1, c2, c3] = crc.to_le_bytes();
        let [l0, l1] = (payload.len() as u16).to_le_bytes();
        match self.log_number {
            None => {
                self.staged.reserve(HEADER_SIZE + payload.len());
                let t = RecordType::Full.to_byte();
                self.staged.extend_from_slice(&[c0, c1, c2, c3, l0, l1, t]);
            }
            Some(n) => {
                self.staged.reserve(RECYCLABLE_HEADER_SIZE + payload.len());
                let t = RecordType::RecyclableFull.to_byte();
                let [n0, n1, n2, n3] = n.to_le_bytes();
                self.staged
                    .extend_from_slice(&[c0, c1, c2, c3, l0, l1, t, n0, n1, n2, n3]);
            }
        }
        self.staged.extend_from_slice(payload);
    }

    /// Encodes the header of a fragment carrying `payload` into `out`.
    #[inline]
    fn encode(&self, out: &mut [u8; RECYCLABLE_HEADER_SIZE], fragment: Fragment, payload: &[u8]) {
        let len = payload.len() as u16;
        debug_assert!(payload.len() <= BLOCK_SIZE);
        let seed = self.seeds[fragment as usize];
        let crc = mask_crc(crate::crc::append(seed, payload));
        out[0..4].copy_from_slice(&crc.to_le_bytes());
        out[4..6].copy_from_slice(&len.to_le_bytes());
        out[6] = RecordType::for_fragment(fragment, self.log_number.is_some()).to_byte();
        if let Some(n) = self.log_number {
            out[7..11].copy_from_slice(&n.to_le_bytes());
        }
    }

    /// Writes what is staged and then `payload`'s fragments to the sink in
    /// vectored writes: headers and padding from a scratch buffer, the
    /// payload from the caller's memory. The sink sees exactly the bytes (and
    /// an error is reported at exactly the offset) that staging the record
    /// and writing the staging buffer would have produced.
    fn write_direct(&mut self, payload: &[u8]) -> Result<u64> {
        let header_size = self.header_size();
        let mut layout = Layout::new(self.block_offset, header_size, payload.len());
        let mut headers = std::mem::take(&mut self.scratch);
        headers.clear();
        let mut pieces = std::mem::take(&mut self.pieces);
        pieces.clear();
        let mut pos = self.end();
        let mut offset = None;
        for step in layout.by_ref() {
            match step {
                Step::Pad(n) => {
                    pieces.push(Piece::Pad(n));
                    pos += n as u64;
                }
                Step::Emit {
                    fragment,
                    payload: range,
                } => {
                    offset.get_or_insert(pos);
                    let mut header = [0u8; RECYCLABLE_HEADER_SIZE];
                    self.encode(&mut header, fragment, &payload[range.clone()]);
                    let at = headers.len();
                    headers.extend_from_slice(&header[..header_size]);
                    pos += (header_size + range.len()) as u64;
                    pieces.push(Piece::Fragment(at..at + header_size, range));
                }
            }
        }
        const ZEROS: [u8; RECYCLABLE_HEADER_SIZE] = [0; RECYCLABLE_HEADER_SIZE];
        // Up to 2 MiB of payload the slices live on the stack.
        const ON_STACK: usize = 2 * 64 + 2;
        let count = 1 + pieces
            .iter()
            .map(|p| match p {
                Piece::Pad(_) => 1,
                Piece::Fragment(..) => 2,
            })
            .sum::<usize>();
        let mut stack = [IoSlice::new(&[]); ON_STACK];
        let mut heap = Vec::new();
        let slices: &mut [IoSlice<'_>] = if count <= ON_STACK {
            &mut stack[..count]
        } else {
            heap.resize(count, IoSlice::new(&[]));
            &mut heap
        };
        slices[0] = IoSlice::new(&self.staged);
        let mut i = 1;
        for piece in &pieces {
            match piece {
                Piece::Pad(n) => {
                    slices[i] = IoSlice::new(&ZEROS[..*n]);
                    i += 1;
                }
                Piece::Fragment(h, p) => {
                    slices[i] = IoSlice::new(&headers[h.clone()]);
                    slices[i + 1] = IoSlice::new(&payload[p.clone()]);
                    i += 2;
                }
            }
        }
        let total = pos - self.written;
        let start = self.written;
        let r = write_all_vectored(&mut self.sink, slices);
        drop(heap);
        if r.is_ok() {
            self.written += total;
            self.staged.clear();
        } else {
            // As if the record had been staged: the poisoned writer keeps it.
            for piece in &pieces {
                match piece {
                    Piece::Pad(n) => self.staged.resize(self.staged.len() + n, 0),
                    Piece::Fragment(h, p) => {
                        self.staged.extend_from_slice(&headers[h.clone()]);
                        self.staged.extend_from_slice(&payload[p.clone()]);
                    }
                }
            }
        }
        self.scratch = headers;
        self.pieces = pieces;
        self.block_offset = layout.block_offset();
        self.poison_on(start, r)?;
        debug_assert_eq!(self.block_offset as u64, self.end() % BLOCK_SIZE as u64);
        Ok(offset.expect("every record has at least one fragment"))
    }

    /// Writes every staged byte to the sink and flushes it.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// writer.add_record(b"staged")?;
    /// assert!(writer.get_ref().is_empty()); // still in the writer's buffer
    /// writer.flush()?;
    /// assert_eq!(writer.get_ref().len(), 13);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn flush(&mut self) -> Result<()> {
        self.check_poisoned()?;
        self.write_staged()?;
        let offset = self.written;
        let r = self.sink.flush();
        self.poison_on(offset, r)
    }

    /// The file offset the next record's first byte will take (the log's
    /// length once everything staged is written).
    ///
    /// A poisoned writer writes nothing more, so what it had staged never
    /// reaches the sink: its `offset` is then
    /// [`written_offset`](Writer::written_offset), never more than the sink got.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// assert_eq!(writer.offset(), 0);
    /// writer.add_record(b"abc")?;
    /// assert_eq!(writer.offset(), 10); // where the next record will start
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn offset(&self) -> u64 {
        if self.poisoned.is_some() {
            self.written
        } else {
            self.end()
        }
    }

    /// The end of the bytes the sink has accepted: every byte before it was
    /// handed over by a write that succeeded (not necessarily durable: that
    /// takes a [`sync`](Writer::sync)). After a failed write, bytes of that
    /// write may have reached the sink too (a short write before the
    /// error); this offset does not count them. It is the `offset` of the
    /// [`Error::Io`] that poisoned the writer.
    pub fn written_offset(&self) -> u64 {
        self.written
    }

    /// The offset after everything staged (healthy or not).
    fn end(&self) -> u64 {
        self.written + self.staged.len() as u64
    }

    /// Bytes staged and not yet handed to the sink.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// writer.add_record(b"abc")?;
    /// assert_eq!(writer.staged_len(), 10);
    /// writer.flush()?;
    /// assert_eq!(writer.staged_len(), 0);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn staged_len(&self) -> usize {
        self.staged.len()
    }

    /// Whether this writer emits the recyclable format, and with which log number.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::{Writer, WriterOptions};
    ///
    /// assert_eq!(Writer::new(Vec::new()).log_number(), None);
    /// let recyclable = WriterOptions::new().recyclable(42).build(Vec::new());
    /// assert_eq!(recyclable.log_number(), Some(42));
    /// ```
    pub fn log_number(&self) -> Option<u32> {
        self.log_number
    }

    /// The error that poisoned the writer, if any.
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::{self, Write};
    ///
    /// use blocklog::Writer;
    ///
    /// /// A disk that is full.
    /// struct Full;
    /// impl Write for Full {
    ///     fn write(&mut self, _: &[u8]) -> io::Result<usize> {
    ///         Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"))
    ///     }
    ///     fn flush(&mut self) -> io::Result<()> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let mut writer = Writer::new(Full);
    /// writer.add_record(b"lost")?; // staged only
    /// assert!(writer.poisoned().is_none());
    /// assert!(writer.flush().is_err());
    /// // From now on every call returns the same error.
    /// assert!(writer.poisoned().is_some());
    /// assert!(writer.add_record(b"more").is_err());
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn poisoned(&self) -> Option<&Error> {
        self.poisoned.as_ref()
    }

    /// The sink.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// writer.add_record(b"abc")?;
    /// writer.flush()?;
    /// assert_eq!(writer.get_ref().len(), 10);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn get_ref(&self) -> &W {
        &self.sink
    }

    /// The sink, mutably. Writing to it directly desynchronises the writer.
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::Cursor;
    ///
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Cursor::new(Vec::new()));
    /// writer.add_record(b"abc")?;
    /// writer.flush()?;
    /// // Inspecting the sink is fine; writing to it would corrupt the log.
    /// assert_eq!(writer.get_mut().position(), 10);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.sink
    }

    /// Flushes and returns the sink. (Dropping a writer without flushing
    /// discards what is staged: nothing staged was ever acknowledged.)
    ///
    /// When the writer is poisoned or the flush fails, the sink comes back
    /// inside the error ([`IntoInnerError::into_inner`]), not dropped.
    ///
    /// # Example
    ///
    /// ```
    /// use blocklog::Writer;
    ///
    /// let mut writer = Writer::new(Vec::new());
    /// writer.add_record(b"abc")?;
    /// let log: Vec<u8> = writer.into_inner()?; // flushed first
    /// assert_eq!(log.len(), 10);
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn into_inner(mut self) -> Result<W, IntoInnerError<W>> {
        match self.flush() {
            Ok(()) => Ok(self.sink),
            Err(error) => Err(IntoInnerError {
                sink: self.sink,
                error,
            }),
        }
    }

    fn header_size(&self) -> usize {
        if self.log_number.is_some() {
            RECYCLABLE_HEADER_SIZE
        } else {
            HEADER_SIZE
        }
    }

    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn write_staged(&mut self) -> Result<()> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let offset = self.written;
        let len = self.staged.len() as u64;
        if let Some(hand_over) = self.hand_over {
            hand_over(&mut self.sink, &mut self.staged);
        } else {
            let r = self.sink.write_all(&self.staged);
            self.poison_on(offset, r)?;
        }
        self.written += len;
        self.staged.clear();
        Ok(())
    }

    fn poison_on(&mut self, offset: u64, r: io::Result<()>) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = Error::io(offset, e);
                self.poisoned = Some(err.clone());
                Err(err)
            }
        }
    }
}

impl<W: Write + SyncData> Writer<W> {
    /// Flushes, then makes everything written durable (`fdatasync` for a
    /// [`File`]). Records added before a successful `sync` are acknowledged:
    /// a reader in any mode but absolute recovers them after a crash.
    ///
    /// # Example
    ///
    /// ```
    /// use std::fs::File;
    ///
    /// use blocklog::Writer;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut writer = Writer::new(File::create(dir.path().join("000003.log"))?);
    /// writer.add_record(b"put k1 v1")?;
    /// writer.add_record(b"put k2 v2")?;
    /// writer.sync()?; // both records are now acknowledged
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        let offset = self.written;
        let r = self.sink.sync_data();
        self.poison_on(offset, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record sizes around every boundary the fast and direct paths split on.
    fn sizes() -> Vec<usize> {
        let mut v = vec![
            0,
            1,
            6,
            7,
            100,
            1000,
            32 * 1024 - 11,
            32 * 1024 - 7,
            32 * 1024,
        ];
        v.extend([32 * 1024 + 1, 65 * 1024, 200_000, 1 << 20]);
        v
    }

    fn log_with(opts: WriterOptions, records: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
        let mut w = opts.build(Vec::new());
        let offsets = records.iter().map(|r| w.add_record(r).unwrap()).collect();
        (w.into_inner().unwrap(), offsets)
    }

    /// Three records of each of [`sizes`], of different bytes.
    fn records_of_every_size() -> Vec<Vec<u8>> {
        let mut records = Vec::new();
        for (i, &n) in sizes().iter().enumerate() {
            for j in 0..3 {
                records.push(vec![(i * 7 + j) as u8; n + j]);
            }
        }
        records
    }

    /// Default options, recyclable (log number 9) or legacy.
    fn base(recyclable: bool) -> WriterOptions {
        let o = WriterOptions::new();
        if recyclable {
            o.recyclable(9)
        } else {
            o
        }
    }

    #[test]
    fn direct_writes_match_staged_writes() {
        let records = records_of_every_size();
        for recyclable in [false, true] {
            let base = || base(recyclable);
            // A buffer larger than the log stages everything: the reference.
            let reference = log_with(base().buffer_size(usize::MAX), &records);
            for buffer in [0, 1, 100, 64 << 10, 1 << 20] {
                let got = log_with(base().buffer_size(buffer), &records);
                assert_eq!(got, reference, "buffer {buffer} recyclable {recyclable}");
            }
        }
    }

    #[test]
    fn in_memory_writes_match_staged_writes_also_after_a_prefix_and_a_flush() {
        let records = records_of_every_size();
        for recyclable in [false, true] {
            let base = || base(recyclable);
            let (reference, offsets) = log_with(base(), &records);
            // From nothing, in one buffer.
            let mut w = base().build_in_memory(Vec::new());
            let got: Vec<u64> = records.iter().map(|r| w.add_record(r).unwrap()).collect();
            assert_eq!(got, offsets);
            assert_eq!(w.staged_len(), reference.len());
            assert_eq!(
                w.into_inner().unwrap(),
                reference,
                "recyclable {recyclable}"
            );
            // After a prefix (mid-block), with flushes between records.
            for split in [1, 4, 20, records.len() - 1] {
                let cut = offsets[split] as usize;
                let mut w = base()
                    .append_at(12345) // replaced by the prefix's length
                    .build_in_memory(reference[..cut].to_vec());
                for (k, r) in records[split..].iter().enumerate() {
                    assert_eq!(w.add_record(r).unwrap(), offsets[split + k]);
                    if k % 5 == 4 {
                        w.flush().unwrap();
                        assert_eq!(w.staged_len(), 0);
                        assert_eq!(w.written_offset(), w.offset());
                    }
                }
                assert_eq!(w.into_inner().unwrap(), reference, "split {split}");
            }
        }
    }

    #[test]
    fn in_memory_writer_hands_over_its_buffer_without_copying() {
        let buf = Vec::with_capacity(1 << 20);
        let at = buf.as_ptr();
        let mut w = WriterOptions::new().build_in_memory(buf);
        for i in 0..1000u32 {
            w.add_record(&i.to_le_bytes()).unwrap();
        }
        w.add_record(&[5; 100_000]).unwrap(); // staged too, spanning blocks
        let log = w.into_inner().unwrap();
        assert_eq!(log.as_ptr(), at, "the log is the buffer given, not a copy");
        assert_eq!(log.len(), 1000 * 11 + 100_000 + 4 * 7);
    }

    /// A sink that accepts `limit` bytes, then fails; it takes at most 5
    /// bytes per call to exercise partial vectored writes.
    struct Failing {
        got: Vec<u8>,
        limit: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.got.len() >= self.limit {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(5).min(self.limit - self.got.len());
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn direct_write_failure_poisons_like_a_staged_one() {
        let big = vec![3u8; 100_000];
        for (buffer, at) in [(0, 12), (64 << 10, 0)] {
            let mut w = WriterOptions::new().buffer_size(buffer).build(Failing {
                got: Vec::new(),
                limit: 50_000,
            });
            w.add_record(b"small").unwrap();
            let err = w.add_record(&big).unwrap_err();
            assert!(
                matches!(err, Error::Io { offset, .. } if offset == at),
                "{err:?}"
            );
            // Both paths keep the record staged; neither counts it as written.
            assert_eq!(w.offset(), at);
            assert_eq!(w.written_offset(), at);
            assert!(w.add_record(b"x").is_err());
            assert_eq!(w.get_ref().got.len(), 50_000);
        }
    }
}
