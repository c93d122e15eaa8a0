//! [`TailReader`]: follows a log while a writer appends to it.

use std::io::{Read, Seek, SeekFrom};

use crate::decode::{Decoder, End, Step};
use crate::error::{Error, Result};
use crate::options::ReaderOptions;
use crate::reader::{read_block, read_full};
use crate::report::{Event, Record, Summary};

/// Follows a growing log: returns each record once it is complete, and
/// says "nothing yet" (`Ok(None)`) instead of dropping an incomplete record
/// at the current end. Damage with a valid record after it is still
/// reported as the mode says; damage at the current end waits, because the
/// writer may still be writing there. [`finish`](TailReader::finish) ends
/// following: the log is then judged as complete (a torn tail is dropped or
/// refused by the mode).
///
/// Each poll reads from the first byte not yet decided, so a reader polls
/// cheaply however large the log is; it works on preallocated (zero-filled)
/// files too, since it reads their contents rather than their length.
///
/// ```
/// use std::io::Write;
/// use blocklog::{ReaderOptions, Writer};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("000001.log");
/// let mut writer = Writer::new(std::fs::File::create(&path)?);
/// let mut tail = ReaderOptions::new().build_tail(std::fs::File::open(&path)?)?;
///
/// assert!(tail.poll_record()?.is_none()); // nothing written yet
/// writer.add_record(b"first")?;
/// writer.flush()?;
/// assert_eq!(&tail.poll_record()?.expect("complete")[..], b"first");
/// assert!(tail.poll_record()?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TailReader<R> {
    source: R,
    decoder: Decoder,
    /// Following has ended: the input is final.
    finished: bool,
}

impl<R: Read + Seek> TailReader<R> {
    pub(crate) fn new(opts: ReaderOptions, mut source: R) -> Result<TailReader<R>> {
        let mut decoder = Decoder::new(opts);
        if decoder.wants_head() {
            let mut head = [0u8; crate::format::RECYCLABLE_HEADER_SIZE];
            source
                .seek(SeekFrom::Start(0))
                .map_err(|e| Error::io(0, e))?;
            let got = read_full(&mut source, &mut head, 0)?;
            decoder.feed_head(&head[..got])?;
        }
        Ok(TailReader {
            source,
            decoder,
            finished: false,
        })
    }

    /// The next event that is complete now, or `Ok(None)` when nothing
    /// more is written yet (poll again later). After
    /// [`finish`](TailReader::finish), `Ok(None)` means the end of the log.
    pub fn poll_event(&mut self) -> Result<Option<Event>> {
        loop {
            match self.decoder.step()? {
                Step::Event(event) => return Ok(Some(event)),
                Step::NeedInput => self.fill(),
                Step::NotYet | Step::Done => return Ok(None),
            }
        }
    }

    /// The next record that is complete now, or `Ok(None)`; see
    /// [`poll_event`](TailReader::poll_event). Returns the payload; the
    /// record's offsets are in [`poll_full_record`](TailReader::poll_full_record).
    pub fn poll_record(&mut self) -> Result<Option<bytes::Bytes>> {
        Ok(self.poll_full_record()?.map(|r| r.payload))
    }

    /// The next complete [`Record`], or `Ok(None)`.
    pub fn poll_full_record(&mut self) -> Result<Option<Record>> {
        while let Some(event) = self.poll_event()? {
            if let Event::Record(r) = event {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Ends following: from now on the log is taken as complete, so what
    /// is incomplete at its end is judged by the mode (a torn tail).
    /// Continue with [`poll_event`](TailReader::poll_event) to get the
    /// remaining events; `Ok(None)` then means the end.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Counters of the read so far.
    pub fn summary(&self) -> &Summary {
        self.decoder.summary()
    }

    /// The offset up to which the log has been decided: every event before
    /// it has been returned.
    pub fn position(&self) -> u64 {
        self.decoder.next_offset()
    }

    /// The source, shared: for example to look at a file's length.
    pub fn get_ref(&self) -> &R {
        &self.source
    }

    /// The source, mutable. Each poll seeks to the first undecided block
    /// before reading, so moving the source's position does no harm; what
    /// it holds must only grow (bytes already read must not change).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.source
    }

    /// The source.
    pub fn into_inner(self) -> R {
        self.source
    }

    /// Reads from the first undecided block to the current end of the
    /// file, one block at a time, and feeds it.
    fn fill(&mut self) {
        let offset = self.decoder.next_offset();
        let end = if self.finished {
            End::Final
        } else {
            End::MayGrow
        };
        let fed = self
            .source
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(offset, e))
            .and_then(|_| read_block(&mut self.source, &mut self.decoder, offset, end))
            .and_then(|input| self.decoder.feed(input));
        if let Err(e) = fed {
            self.decoder.fail_input(e);
        }
    }
}
