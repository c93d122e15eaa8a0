//! Reading a whole log: the one read loop of the tree.
//!
//! [`read_all`] streams a reader's events through a callback to the end of
//! the log or the first error; the `blocklog` command runs every read on it
//! (dump prints as it goes, recover writes as it goes). [`read`] and
//! [`read_source`] collect a read into a [`Run`] for the tests, checking on
//! the way that the reader terminates and stays finished.

use std::io::{self, Read};

use blocklog::{
    Benign, Damage, Error, Event, Outcome, Reader, ReaderOptions, Record, RecoveryMode, Resync,
    Summary,
};

/// How a whole read ended.
#[derive(Debug)]
pub struct ReadEnd {
    /// The reader's final counters.
    pub summary: Summary,
    /// The error that ended the read, if one did.
    pub error: Option<Error>,
}

/// Reads every event of `reader`, handing each to `on_event` with the
/// reader (for its summary so far, its log number), until the end of the
/// log or an error. An error of `on_event` ends the read and is returned.
pub fn read_all<R: Read, E>(
    reader: &mut Reader<R>,
    mut on_event: impl FnMut(Event, &Reader<R>) -> Result<(), E>,
) -> Result<ReadEnd, E> {
    let error = loop {
        match reader.next_event() {
            Ok(Some(event)) => on_event(event, reader)?,
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Ok(ReadEnd {
        summary: reader.summary().clone(),
        error,
    })
}

/// Everything one complete read produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// The records, as (offset, payload).
    pub records: Vec<(u64, Vec<u8>)>,
    /// The dropped regions.
    pub dropped: Vec<Damage>,
    /// The benign regions.
    pub benign: Vec<Benign>,
    /// The error that ended the read, if any.
    pub error: Option<Error>,
    /// The final summary.
    pub summary: Summary,
}

impl Run {
    /// The payloads of the records, in order.
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        self.records.iter().map(|(_, p)| p.clone()).collect()
    }

    /// The read's outcome.
    pub fn outcome(&self) -> Outcome {
        self.summary.outcome()
    }

    /// The records among the events, as the reader returned them.
    pub fn returned(&self) -> Vec<&Record> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Record(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// The damage behind a corruption error.
    pub fn error_damage(&self) -> Option<&Damage> {
        self.error.as_ref().and_then(Error::damage)
    }
}

/// What [`read`] accepts as its options: [`ReaderOptions`], or a
/// [`RecoveryMode`] alone (the other options at their defaults).
pub trait IntoOptions {
    /// The reader options.
    fn into_options(self) -> ReaderOptions;
}

impl IntoOptions for ReaderOptions {
    fn into_options(self) -> ReaderOptions {
        self
    }
}

impl IntoOptions for RecoveryMode {
    fn into_options(self) -> ReaderOptions {
        ReaderOptions::new().mode(self)
    }
}

/// Reads `source` to the end (or the first error) with `opts`. Panics if
/// the reader yields more than `limit` events (it would not terminate), or
/// if, once finished, it does not stay finished: the end is final and an
/// error is sticky (asking again never turns a refusal or an I/O error into
/// a clean end of log).
pub fn read_source<R: Read>(source: R, opts: impl IntoOptions, limit: usize) -> Run {
    let mut reader = opts.into_options().build(source);
    let mut run = Run {
        events: Vec::new(),
        records: Vec::new(),
        dropped: Vec::new(),
        benign: Vec::new(),
        error: None,
        summary: Summary::default(),
    };
    let end = read_all(&mut reader, |event, _| {
        match &event {
            Event::Record(r) => run.records.push((r.offset, r.payload.to_vec())),
            Event::Dropped(d) => run.dropped.push(d.clone()),
            Event::Benign(b) => run.benign.push(b.clone()),
            _ => {}
        }
        run.events.push(event);
        if run.events.len() > limit {
            Err(format!("reader yields more than {limit} events"))
        } else {
            Ok(())
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    match (&end.error, reader.next_event()) {
        (None, Ok(None)) => {}
        (Some(e), Err(again)) => {
            assert_eq!(again.to_string(), e.to_string(), "the error is not sticky")
        }
        (e, again) => panic!("reader did not stay finished: ended with {e:?}, then {again:?}"),
    }
    run.error = end.error;
    run.summary = end.summary;
    run
}

/// Reads a log held in memory (at most one event per 7 bytes can come out
/// of a log, so more than `len + 16` means the reader would not stop).
pub fn read(log: &[u8], opts: impl IntoOptions) -> Run {
    read_source(log, opts, log.len() + 16)
}

/// Reads with a mode and a resync strategy.
pub fn read_resync(log: &[u8], mode: RecoveryMode, resync: Resync) -> Run {
    read(log, opts(mode, resync))
}

/// Reads under the four modes.
pub fn read_all_modes(log: &[u8]) -> [Run; 4] {
    RecoveryMode::ALL.map(|m| read(log, m))
}

/// Options with a mode and a resync strategy.
pub fn opts(mode: RecoveryMode, resync: Resync) -> ReaderOptions {
    ReaderOptions::new().mode(mode).resync(resync)
}

/// Both resync strategies.
pub const RESYNCS: [Resync; 2] = [Resync::Block, Resync::Scan];

/// A `Read` that returns at most a few bytes per call, cycling through
/// `sizes`, to prove short reads change nothing.
#[derive(Debug)]
pub struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    i: usize,
}

impl<'a> Chunked<'a> {
    /// Reads `data` in chunks of the given sizes (each at least 1).
    pub fn new(data: &'a [u8], sizes: Vec<usize>) -> Chunked<'a> {
        let sizes = if sizes.is_empty() { vec![1] } else { sizes };
        Chunked { data, sizes, i: 0 }
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.sizes[self.i % self.sizes.len()].max(1);
        self.i += 1;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A source that returns at most one byte per call.
#[derive(Debug)]
pub struct OneByte<R>(pub R);

impl<R: Read> Read for OneByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

/// A source that fails after `ok` bytes.
#[derive(Debug)]
pub struct FailAfter<'a> {
    /// The bytes served before the failure.
    pub data: &'a [u8],
    /// How many bytes are served before every read fails.
    pub ok: usize,
    /// Bytes served so far.
    pub pos: usize,
}

impl Read for FailAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.ok {
            return Err(io::Error::other("injected read error"));
        }
        let n = buf
            .len()
            .min(self.ok - self.pos)
            .min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blocklog::Writer;

    #[test]
    fn a_run_holds_every_event_and_the_end() {
        let mut w = Writer::new(Vec::new());
        w.add_record(b"one").unwrap();
        w.add_record(&[7; 40_000]).unwrap();
        let mut log = w.into_inner().unwrap();
        log.truncate(log.len() - 5);
        let run = read(&log, RecoveryMode::TolerateTail);
        assert_eq!(run.records, vec![(0, b"one".to_vec())]);
        assert_eq!(run.dropped.len(), 1);
        assert_eq!(run.events.len(), 2);
        assert_eq!(run.outcome(), Outcome::TailDropped);
        let strict = read(&log, RecoveryMode::Absolute);
        assert!(strict.error_damage().is_some());
        let chunked = read_source(Chunked::new(&log, vec![1, 3]), RecoveryMode::Absolute, 100);
        assert_eq!(chunked.records, strict.records);
        let failed = read_source(
            FailAfter {
                data: &log,
                ok: 100,
                pos: 0,
            },
            RecoveryMode::TolerateTail,
            100,
        );
        assert!(matches!(failed.error, Some(Error::Io { .. })));
    }

    #[test]
    #[should_panic(expected = "more than 0 events")]
    fn a_reader_that_does_not_stop_is_caught() {
        let mut w = Writer::new(Vec::new());
        w.add_record(b"one").unwrap();
        let log = w.into_inner().unwrap();
        read_source(&log[..], RecoveryMode::TolerateTail, 0);
    }
}
