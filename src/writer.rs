//! [`Writer`]: appends records to any `std::io::Write`.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Write};

use crate::error::{Error, Result};
use crate::format::{encode_header, RecordType, BLOCK_SIZE, HEADER_SIZE, RECYCLABLE_HEADER_SIZE};
use crate::fragment::{Layout, Step};

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
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            log_number: None,
            append_at: 0,
            buffer_size: 64 * 1024,
        }
    }
}

impl WriterOptions {
    /// Legacy (LevelDB) format, a new log at offset 0, a 64 KiB staging buffer.
    pub fn new() -> WriterOptions {
        WriterOptions::default()
    }

    /// Writes RocksDB's recyclable format (11-byte headers, types 5 to 8)
    /// carrying `log_number`, so that a reader can tell this log's records
    /// from a previous use of the same file.
    pub fn recyclable(mut self, log_number: u32) -> WriterOptions {
        self.log_number = Some(log_number);
        self
    }

    /// Appends to an existing log of `len` bytes: the sink must be
    /// positioned at its end. Writing resumes mid-block exactly as if the
    /// same writer had never stopped.
    pub fn append_at(mut self, len: u64) -> WriterOptions {
        self.append_at = len;
        self
    }

    /// Staged bytes are written to the sink once they reach this size (and
    /// on [`Writer::flush`] and [`Writer::sync`]). 0 writes every record as
    /// soon as it is added.
    pub fn buffer_size(mut self, bytes: usize) -> WriterOptions {
        self.buffer_size = bytes;
        self
    }

    /// Creates the writer.
    pub fn build<W: Write>(self, sink: W) -> Writer<W> {
        Writer {
            sink,
            block_offset: (self.append_at % BLOCK_SIZE as u64) as usize,
            written: self.append_at,
            log_number: self.log_number,
            staged: Vec::with_capacity(self.buffer_size.min(1 << 20)),
            buffer_size: self.buffer_size,
            poisoned: None,
        }
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
}

impl<W: Write> Writer<W> {
    /// A legacy-format writer for a new log, with default options.
    pub fn new(sink: W) -> Writer<W> {
        WriterOptions::new().build(sink)
    }

    /// Appends one record and returns the file offset of its first header.
    ///
    /// The record may stay staged in memory until the next flush or sync.
    pub fn add_record(&mut self, payload: &[u8]) -> Result<u64> {
        self.check_poisoned()?;
        let header_size = self.header_size();
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
                        offset = Some(self.offset());
                    }
                    let record_type = RecordType::for_fragment(fragment, self.log_number.is_some());
                    let at = self.staged.len();
                    self.staged.resize(at + header_size, 0);
                    encode_header(
                        &mut self.staged[at..],
                        record_type,
                        self.log_number,
                        &payload[range.clone()],
                    );
                    self.staged.extend_from_slice(&payload[range]);
                }
            }
        }
        self.block_offset = layout.block_offset();
        debug_assert_eq!(self.block_offset as u64, self.offset() % BLOCK_SIZE as u64);
        if self.staged.len() >= self.buffer_size {
            self.write_staged()?;
        }
        Ok(offset.expect("every record has at least one fragment"))
    }

    /// Writes every staged byte to the sink and flushes it.
    pub fn flush(&mut self) -> Result<()> {
        self.check_poisoned()?;
        self.write_staged()?;
        let offset = self.written;
        let r = self.sink.flush();
        self.poison_on(offset, r)
    }

    /// The file offset the next record's first byte will take (the log's
    /// length once everything staged is written).
    pub fn offset(&self) -> u64 {
        self.written + self.staged.len() as u64
    }

    /// Bytes staged and not yet handed to the sink.
    pub fn staged_len(&self) -> usize {
        self.staged.len()
    }

    /// Whether this writer emits the recyclable format, and with which log number.
    pub fn log_number(&self) -> Option<u32> {
        self.log_number
    }

    /// The error that poisoned the writer, if any.
    pub fn poisoned(&self) -> Option<&Error> {
        self.poisoned.as_ref()
    }

    /// The sink.
    pub fn get_ref(&self) -> &W {
        &self.sink
    }

    /// The sink, mutably. Writing to it directly desynchronises the writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.sink
    }

    /// Flushes and returns the sink. (Dropping a writer without flushing
    /// discards what is staged: nothing staged was ever acknowledged.)
    pub fn into_inner(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.sink)
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
        let r = self.sink.write_all(&self.staged);
        self.poison_on(offset, r)?;
        self.written += self.staged.len() as u64;
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
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        let offset = self.written;
        let r = self.sink.sync_data();
        self.poison_on(offset, r)
    }
}
