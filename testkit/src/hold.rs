//! A sink a test can *hold*: the next `write` or `fdatasync` call armed
//! blocks inside the sink (before it reaches the wrapped sink) until the
//! test releases it, so a test can act while a group commit's leader is
//! stuck in its write or its sync, and know it, without waiting for time.
//! Every call that goes through is logged, in order, across every file of
//! a WAL, so a test can tell which bytes a sync covered.
//!
//! ```
//! use blocklog::wal::{Batch, CommitOptions, SharedWal, WalOptions};
//! use blocklog_testkit::hold::{Call, Hold};
//!
//! let dir = tempfile::tempdir()?;
//! let hold = Hold::new();
//! let opts = WalOptions::new().wrap_files(hold.wrap_files());
//! let wal = SharedWal::open(dir.path(), opts, CommitOptions::new())?;
//! hold.hold_next(Call::Write);
//! let w = wal.clone();
//! let t = std::thread::spawn(move || w.append(Batch::new().put(b"x").unwrap()).map(drop));
//! assert_eq!(hold.wait_held(), Call::Write); // the leader is inside write(2)
//! hold.release();
//! t.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use blocklog::wal::WalSink;
use blocklog::SyncData;

/// How long [`Hold::wait_held`] waits before it panics: never reached by a
/// passing test (a hang guard, not a timing assumption).
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A call a [`Hold`] can stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `Write::write`.
    Write,
    /// `SyncData::sync_data`.
    Sync,
}

/// A call that went through a held sink (after any hold), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `len` bytes written to WAL file `file`, starting `at` bytes after
    /// where the file's sink started (0 for a new file).
    Write {
        /// The WAL file number.
        file: u64,
        /// Offset from the sink's starting position.
        at: u64,
        /// Bytes the call accepted.
        len: u64,
    },
    /// WAL file `file` fdatasynced (successfully): everything written to
    /// it before is durable.
    Sync {
        /// The WAL file number.
        file: u64,
    },
}

#[derive(Debug, Default)]
struct State {
    /// Holds armed: each stops the next call of its kind.
    armed: VecDeque<Call>,
    /// The call stopped in the sink now, if any.
    held: Option<Call>,
    /// Holds entered so far, and released so far.
    entered: usize,
    released: usize,
    events: Vec<Event>,
}

/// The controller shared by the test and every sink it wraps (cheap to
/// clone).
#[derive(Debug, Clone, Default)]
pub struct Hold(Arc<(Mutex<State>, Condvar)>);

impl Hold {
    /// A controller with nothing armed: its sinks pass every call through.
    pub fn new() -> Hold {
        Hold::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms a hold: the next call of `call` (after those already armed of
    /// that kind) stops inside the sink until [`release`](Hold::release).
    pub fn hold_next(&self, call: Call) {
        self.lock().armed.push_back(call);
    }

    /// Waits until a call is stopped in a sink, and returns which kind.
    /// The test waits for a condition, not for a duration; a generous
    /// deadline ([`HANG_GUARD`]) only turns a hang (the code under test
    /// broken) into a panic.
    pub fn wait_held(&self) -> Call {
        let deadline = Instant::now() + HANG_GUARD;
        let mut g = self.lock();
        loop {
            if let Some(c) = g.held {
                return c;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "hold: no call was held within {HANG_GUARD:?}"
            );
            g = self
                .0
                 .1
                .wait_timeout(g, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Whether a call is stopped in a sink now.
    pub fn is_held(&self) -> bool {
        self.lock().held.is_some()
    }

    /// Lets the call stopped in the sink go on (waiting for one to be
    /// stopped first if none is yet).
    pub fn release(&self) {
        self.wait_held();
        let mut g = self.lock();
        g.released += 1;
        g.held = None;
        self.0 .1.notify_all();
    }

    /// Every call that went through so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// How many syncs went through so far.
    pub fn syncs(&self) -> usize {
        self.lock()
            .events
            .iter()
            .filter(|e| matches!(e, Event::Sync { .. }))
            .count()
    }

    /// Wraps `inner`, the sink of WAL file `file`.
    pub fn wrap<W: WalSink>(&self, file: u64, inner: W) -> HoldSink<W> {
        HoldSink {
            inner,
            file,
            at: 0,
            hold: self.clone(),
        }
    }

    /// A [`WalOptions::wrap_files`](blocklog::wal::WalOptions::wrap_files)
    /// wrapper: every file of the WAL goes through this controller.
    pub fn wrap_files(&self) -> impl Fn(u64, File) -> Box<dyn WalSink> + Send + Sync + 'static {
        let hold = self.clone();
        move |file, f| Box::new(hold.wrap(file, f))
    }

    /// Stops here if a hold of `call` is armed, until released.
    fn gate(&self, call: Call) {
        let mut g = self.lock();
        if let Some(i) = g.armed.iter().position(|&c| c == call) {
            g.armed.remove(i);
            // One held call at a time: a second one waits its turn.
            while g.held.is_some() {
                g = self.0 .1.wait(g).unwrap_or_else(|p| p.into_inner());
            }
            let me = g.entered;
            g.entered += 1;
            g.held = Some(call);
            self.0 .1.notify_all();
            while g.released <= me {
                g = self.0 .1.wait(g).unwrap_or_else(|p| p.into_inner());
            }
        }
    }

    fn log(&self, e: Event) {
        self.lock().events.push(e);
    }
}

/// A sink wrapped by a [`Hold`].
pub struct HoldSink<W> {
    inner: W,
    file: u64,
    /// Bytes written through this sink so far.
    at: u64,
    hold: Hold,
}

impl<W> fmt::Debug for HoldSink<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HoldSink")
            .field("file", &self.file)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Write for HoldSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hold.gate(Call::Write);
        let n = self.inner.write(buf)?;
        self.hold.log(Event::Write {
            file: self.file,
            at: self.at,
            len: n as u64,
        });
        self.at += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: SyncData> SyncData for HoldSink<W> {
    fn sync_data(&mut self) -> io::Result<()> {
        self.hold.gate(Call::Sync);
        self.inner.sync_data()?;
        self.hold.log(Event::Sync { file: self.file });
        Ok(())
    }
}
