//! A fault injector: a `Write` + [`SyncData`] wrapper that fails with EIO
//! or ENOSPC at the N-th write, flush or sync call.

use std::io::{self, Write};

use blocklog::SyncData;

/// A kind of call the injector counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// `Write::write`.
    Write,
    /// `Write::flush`.
    Flush,
    /// `SyncData::sync_data`.
    Sync,
}

impl Call {
    /// All kinds.
    pub const ALL: [Call; 3] = [Call::Write, Call::Flush, Call::Sync];

    fn index(self) -> usize {
        match self {
            Call::Write => 0,
            Call::Flush => 1,
            Call::Sync => 2,
        }
    }
}

/// The error injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errno {
    /// EIO (5 on Linux): the device failed.
    Eio,
    /// ENOSPC (28 on Linux): the device is full.
    Enospc,
}

impl Errno {
    /// Both.
    pub const ALL: [Errno; 2] = [Errno::Eio, Errno::Enospc];

    /// The raw OS error number (Linux values).
    pub fn raw(self) -> i32 {
        match self {
            Errno::Eio => 5,
            Errno::Enospc => 28,
        }
    }

    /// A fresh `io::Error` for it.
    pub fn error(self) -> io::Error {
        io::Error::from_raw_os_error(self.raw())
    }
}

/// When and how to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// The kind of call that fails.
    pub call: Call,
    /// Which call of that kind fails, counting from 0.
    pub nth: usize,
    /// The error.
    pub errno: Errno,
    /// For a write: first accept half of the buffer (a short write, as a
    /// nearly full disk does), and fail the call after it.
    pub short_first: bool,
}

/// Wraps a sink and injects one [`Fault`].
#[derive(Debug)]
pub struct Faulty<W> {
    inner: W,
    fault: Option<Fault>,
    counts: [usize; 3],
    /// The short write happened; the next write fails.
    armed: bool,
    fired: bool,
    calls_after_fault: usize,
}

impl<W> Faulty<W> {
    /// Wraps `inner`; with `fault: None` it only counts calls.
    pub fn new(inner: W, fault: Option<Fault>) -> Faulty<W> {
        Faulty {
            inner,
            fault,
            counts: [0; 3],
            armed: false,
            fired: false,
            calls_after_fault: 0,
        }
    }

    /// Calls of `kind` seen so far.
    pub fn calls(&self, kind: Call) -> usize {
        self.counts[kind.index()]
    }

    /// Whether the fault has been injected.
    pub fn fired(&self) -> bool {
        self.fired
    }

    /// Calls of any kind that reached the wrapper after the fault.
    pub fn calls_after_fault(&self) -> usize {
        self.calls_after_fault
    }

    /// The wrapped sink.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Counts a call; `Some(error)` when this call must fail.
    fn enter(&mut self, kind: Call) -> Option<io::Error> {
        if self.fired {
            self.calls_after_fault += 1;
        }
        let n = self.counts[kind.index()];
        self.counts[kind.index()] += 1;
        let f = self.fault?;
        if self.fired || f.call != kind {
            return None;
        }
        if self.armed || (n == f.nth && !(kind == Call::Write && f.short_first)) {
            self.fired = true;
            return Some(f.errno.error());
        }
        None
    }
}

impl<W: Write> Write for Faulty<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.counts[Call::Write.index()];
        if let Some(e) = self.enter(Call::Write) {
            return Err(e);
        }
        if let Some(f) = self.fault {
            if f.call == Call::Write && f.short_first && n == f.nth && !self.fired && !self.armed {
                self.armed = true;
                let half = buf.len() / 2;
                if half == 0 {
                    // Nothing to accept: fail right away.
                    self.fired = true;
                    return Err(f.errno.error());
                }
                return self.inner.write(&buf[..half]);
            }
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.enter(Call::Flush) {
            return Err(e);
        }
        self.inner.flush()
    }
}

impl<W: SyncData> SyncData for Faulty<W> {
    fn sync_data(&mut self) -> io::Result<()> {
        if let Some(e) = self.enter(Call::Sync) {
            return Err(e);
        }
        self.inner.sync_data()
    }
}
