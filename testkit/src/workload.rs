//! Workloads: sequences of appends, flushes, syncs and reopenings, run by a
//! real `Writer` over a [`SimDisk`], remembering what was written where and
//! which records each sync acknowledged.

use blocklog::{Writer, WriterOptions};

use crate::oracle::{record_end, Written};
use crate::rng::Rng;
use crate::simfile::{Op, SimDisk};

/// One step of a session.
#[derive(Debug, Clone)]
pub enum Action {
    /// `add_record`.
    Add(Vec<u8>),
    /// `flush`.
    Flush,
    /// `sync`: acknowledges every record added before it.
    Sync,
}

/// One opening of the log: a writer from the log's current end.
#[derive(Debug, Clone)]
pub struct Session {
    /// The writer's staging buffer size.
    pub buffer_size: usize,
    /// Split each write into writes of at most this many bytes.
    pub short_writes: Option<usize>,
    /// What the session does.
    pub actions: Vec<Action>,
}

/// A whole workload.
#[derive(Debug, Clone)]
pub struct Spec {
    /// A name for printed tables.
    pub name: String,
    /// `Some(n)`: recyclable format with log number `n`.
    pub recyclable: Option<u32>,
    /// What the file holds before the log is written over it.
    pub base: Vec<u8>,
    /// Openings, in order.
    pub sessions: Vec<Session>,
}

/// The result of running a [`Spec`].
#[derive(Debug, Clone)]
pub struct Run {
    /// The file and its history.
    pub disk: SimDisk,
    /// Every record added, in order.
    pub written: Vec<Written>,
    /// `(index of the Sync call in the history, records acknowledged by it)`.
    pub syncs: Vec<(usize, usize)>,
    /// The log number, for a recyclable log.
    pub recyclable: Option<u32>,
}

impl Run {
    /// Records acknowledged by syncs that completed before call `op`.
    pub fn acked_before(&self, op: usize) -> usize {
        self.syncs
            .iter()
            .take_while(|(i, _)| *i < op)
            .map(|&(_, n)| n)
            .last()
            .unwrap_or(0)
    }

    /// Records whose bytes all lie before `len` (complete in a file whose
    /// first `len` bytes are the log as written).
    pub fn complete_within(&self, len: u64) -> usize {
        self.written.iter().take_while(|w| w.end <= len).count()
    }

    /// Whether `len` is a clean end of the log: at the end of a record, or
    /// in the zero padding between two records.
    pub fn is_clean_end(&self, len: u64) -> bool {
        if len == 0 {
            return true;
        }
        self.written.iter().enumerate().any(|(i, w)| {
            let next = self.written.get(i + 1).map_or(w.end, |n| n.offset);
            w.end <= len && len <= next
        })
    }
}

/// Runs `spec` with real writers over a simulated file.
pub fn run(spec: &Spec) -> Run {
    let disk = if spec.base.is_empty() {
        SimDisk::new()
    } else {
        SimDisk::with_contents(spec.base.clone())
    };
    let mut written: Vec<Written> = Vec::new();
    let mut syncs = Vec::new();
    let mut end = 0u64;
    for s in &spec.sessions {
        let mut file = disk.open_at(end);
        if let Some(n) = s.short_writes {
            file = file.short_writes(n);
        }
        let mut opts = WriterOptions::new()
            .append_at(end)
            .buffer_size(s.buffer_size);
        if let Some(n) = spec.recyclable {
            opts = opts.recyclable(n);
        }
        let mut w: Writer<_> = opts.build(file);
        for a in &s.actions {
            match a {
                Action::Add(p) => {
                    let offset = w.add_record(p).expect("simulated file never fails");
                    written.push(Written {
                        offset,
                        end: w.offset(),
                        payload: p.clone(),
                    });
                }
                Action::Flush => w.flush().expect("flush"),
                Action::Sync => {
                    w.sync().expect("sync");
                    let idx = disk.ops().iter().rposition(|o| *o == Op::Sync).unwrap();
                    syncs.push((idx, written.len()));
                }
            }
        }
        end = w.offset();
        // Dropping the writer discards what is staged, like a process exit.
        drop(w);
        assert_eq!(
            disk.image().len() as u64,
            end.max(spec.base.len() as u64),
            "every session must end with a flush or sync"
        );
    }
    Run {
        disk,
        written,
        syncs,
        recyclable: spec.recyclable,
    }
}

/// Record sizes that exercise block boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizes {
    /// 0 to 300 bytes.
    Small,
    /// Mostly small, some of 1 to 3 blocks.
    Mixed,
    /// Sizes that leave 0 to 12 bytes at the end of a block.
    Edges,
}

/// A payload of `len` bytes; `style` picks random, zero or repeated bytes.
pub fn payload(rng: &mut Rng, len: usize) -> Vec<u8> {
    match rng.below(8) {
        0 => vec![0; len],
        1 => vec![rng.below(256) as u8; len],
        _ => rng.bytes(len),
    }
}

/// A random session of `n` records.
pub fn session(
    rng: &mut Rng,
    n: usize,
    sizes: Sizes,
    header: usize,
    start: u64,
    buffer_size: usize,
) -> Session {
    let mut actions = Vec::new();
    let mut pos = start as usize;
    let block = blocklog::format::BLOCK_SIZE;
    for _ in 0..n {
        let len = match sizes {
            Sizes::Small => rng.range(0, 300),
            Sizes::Mixed => {
                if rng.chance(1, 6) {
                    rng.range(block / 2, 3 * block)
                } else {
                    rng.range(0, 2000)
                }
            }
            Sizes::Edges => {
                // Aim the end of the record at `slack` bytes before a block end.
                let slack = rng.range(0, 12);
                let in_block = pos % block;
                let room = block - in_block;
                if room > header + slack + 1 && rng.chance(3, 4) {
                    room - header - slack
                } else {
                    rng.range(0, 40)
                }
            }
        };
        pos = record_end(pos as u64, len, header) as usize;
        actions.push(Action::Add(payload(rng, len)));
        match rng.below(6) {
            0 => actions.push(Action::Sync),
            1 => actions.push(Action::Flush),
            _ => {}
        }
    }
    actions.push(Action::Sync);
    Session {
        buffer_size,
        short_writes: None,
        actions,
    }
}
