//! A simulated file that records every write, flush and sync, and can
//! produce the contents a crash would leave at any point of that history.
//!
//! [`SimDisk`] is the file; [`SimFile`] is an open handle on it that
//! implements `Write` and [`blocklog::SyncData`], so a `Writer` can be
//! built over it. Handles share the disk, so a log can be closed and
//! reopened for append, and the test keeps the history afterwards.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use blocklog::SyncData;

/// One call that reached the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `data` was written at `offset`.
    Write {
        /// File offset of the first byte.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `flush` (moves nothing to stable storage).
    Flush,
    /// `sync_data`: every write before it is durable.
    Sync,
}

/// What lies in the part of a torn write that did not reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fill {
    /// Nothing: the file ends where the torn write stopped (or keeps its
    /// older, longer length).
    Absent,
    /// Zeros up to the end of the write (the file size was updated, the
    /// data was not).
    Zeros,
    /// The file's previous contents (a recycled or preallocated file); past
    /// the previous end of file, nothing.
    Old,
}

impl Fill {
    /// All variants.
    pub const ALL: [Fill; 3] = [Fill::Absent, Fill::Zeros, Fill::Old];

    /// Short name for printed tables.
    pub fn name(self) -> &'static str {
        match self {
            Fill::Absent => "absent",
            Fill::Zeros => "zeros",
            Fill::Old => "old",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    base: Vec<u8>,
    ops: Vec<Op>,
    image: Vec<u8>,
}

/// A simulated file with its whole history. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct SimDisk(Rc<RefCell<State>>);

impl SimDisk {
    /// An empty file.
    pub fn new() -> SimDisk {
        SimDisk::default()
    }

    /// A file that already holds `contents` (durably): a recycled log's
    /// previous use, or preallocated zeros.
    pub fn with_contents(contents: Vec<u8>) -> SimDisk {
        SimDisk(Rc::new(RefCell::new(State {
            image: contents.clone(),
            base: contents,
            ops: Vec::new(),
        })))
    }

    /// A handle positioned at `offset`, as a log opened for append there.
    pub fn open_at(&self, offset: u64) -> SimFile {
        SimFile {
            disk: self.clone(),
            pos: offset,
            max_write: None,
        }
    }

    /// The contents a process sees now (every write applied).
    pub fn image(&self) -> Vec<u8> {
        self.0.borrow().image.clone()
    }

    /// The contents before any write.
    pub fn base(&self) -> Vec<u8> {
        self.0.borrow().base.clone()
    }

    /// Number of recorded calls.
    pub fn op_count(&self) -> usize {
        self.0.borrow().ops.len()
    }

    /// A copy of the history.
    pub fn ops(&self) -> Vec<Op> {
        self.0.borrow().ops.clone()
    }

    /// The contents that survive a crash right after call `upto` (exclusive)
    /// when nothing unsynced reaches the disk: the base plus every write
    /// before the last sync before `upto`.
    pub fn durable_image(&self, upto: usize) -> Vec<u8> {
        let st = self.0.borrow();
        let last_sync = st.ops[..upto].iter().rposition(|o| *o == Op::Sync);
        let mut image = st.base.clone();
        if let Some(s) = last_sync {
            for op in &st.ops[..s] {
                if let Op::Write { offset, data } = op {
                    apply(&mut image, *offset, data);
                }
            }
        }
        image
    }

    /// Calls `f(index, op, image_before_op)` for every call in order,
    /// maintaining the image incrementally.
    pub fn replay(&self, mut f: impl FnMut(usize, &Op, &[u8])) {
        let st = self.0.borrow();
        let mut image = st.base.clone();
        for (i, op) in st.ops.iter().enumerate() {
            f(i, op, &image);
            if let Op::Write { offset, data } = op {
                apply(&mut image, *offset, data);
            }
        }
    }

    fn write_at(&self, offset: u64, data: &[u8]) {
        let mut st = self.0.borrow_mut();
        apply(&mut st.image, offset, data);
        st.ops.push(Op::Write {
            offset,
            data: data.to_vec(),
        });
    }

    fn push(&self, op: Op) {
        self.0.borrow_mut().ops.push(op);
    }
}

/// Writes `data` at `offset` of `image`, extending it (with zeros for a hole).
pub fn apply(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let off = offset as usize;
    if image.len() < off + data.len() {
        image.resize(off + data.len(), 0);
    }
    image[off..off + data.len()].copy_from_slice(data);
}

/// The contents after a crash that tore the write of `data` at `offset`
/// over `before` (the image just before that write): its first `torn`
/// bytes reached the disk, the rest is `fill`.
pub fn torn_image(before: &[u8], offset: u64, data: &[u8], torn: usize, fill: Fill) -> Vec<u8> {
    let mut image = before.to_vec();
    apply(&mut image, offset, &data[..torn]);
    let start = offset as usize + torn;
    let end = offset as usize + data.len();
    match fill {
        Fill::Absent => {}
        Fill::Zeros => {
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].fill(0);
        }
        Fill::Old => {
            // `before` already holds the old bytes where the file had any.
        }
    }
    image
}

/// An open handle on a [`SimDisk`].
#[derive(Debug)]
pub struct SimFile {
    disk: SimDisk,
    pos: u64,
    max_write: Option<usize>,
}

impl SimFile {
    /// Makes every `write` call accept at most `n` bytes (short writes), so
    /// one `write_all` becomes several recorded writes.
    pub fn short_writes(mut self, n: usize) -> SimFile {
        self.max_write = Some(n.max(1));
        self
    }

    /// The disk this handle writes to.
    pub fn disk(&self) -> &SimDisk {
        &self.disk
    }
}

impl Write for SimFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.max_write.map_or(buf.len(), |m| m.min(buf.len()));
        if n > 0 {
            self.disk.write_at(self.pos, &buf[..n]);
            self.pos += n as u64;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.disk.push(Op::Flush);
        Ok(())
    }
}

impl SyncData for SimFile {
    fn sync_data(&mut self) -> io::Result<()> {
        self.disk.push(Op::Sync);
        Ok(())
    }
}
