//! Purge: [`Wal::purge_through`] drops the batches through a checkpoint
//! sequence by deleting whole files (or, with recycling on, keeping them as
//! free files for reuse), crash-safe: a purge marker is synced first, then
//! the files go, lowest first, then the directory is synced; an interrupted
//! purge is finished by the next [`Wal::open`]. See `docs/wal.md`, "Purge"
//! and "Recycling".

use std::collections::VecDeque;

use crate::error::{Error, Result};
use crate::wal::dir::Ops;
use crate::wal::marker::Marker;
use crate::wal::recover::Recovery;
use crate::wal::writer::{Live, Wal};

impl Wal {
    /// Drops every sealed file whose sequence numbers are all at or below
    /// `checkpoint` (the caller no longer needs those batches), lowest file
    /// first, never the current file; returns the numbers of the files
    /// dropped (none: nothing is written).
    ///
    /// The steps, each one durable before the next: (1) every batch
    /// appended is synced (acknowledged) and a purge marker naming the
    /// checkpoint is appended to the current file and synced; (2) the
    /// files are unlinked, lowest first (with recycling on, renamed to
    /// `NNNNNN.free` instead, up to the pool's size); (3) the directory is
    /// synced. A crash at any step leaves a WAL that opens, and the next
    /// [`open`](Wal::open) finishes the purge from the marker. The files
    /// left are a contiguous run whose lowest file's predecessor record
    /// gives the first sequence number (W10).
    ///
    /// A checkpoint at or past [`next_seq`](Wal::next_seq) is
    /// [`Error::InvalidInput`] (nothing appended can be covered by it yet),
    /// without poisoning; a failed write, fsync, unlink or rename poisons
    /// the WAL.
    ///
    /// ```
    /// use blocklog::wal::{Batch, Wal, WalOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let opts = WalOptions::new().max_file_size(64 << 10);
    /// let mut wal = Wal::open(dir.path(), opts.clone())?;
    /// let mut batch = Batch::new();
    /// batch.put(&[7u8; 1000])?;
    /// for _ in 0..200 {
    ///     wal.append(&batch)?;
    /// }
    /// wal.sync()?;
    /// assert_eq!(wal.file_numbers(), [1, 2, 3, 4]);
    /// // 64 batches a file. Batches 1..=130 are checkpointed elsewhere:
    /// // files 1 (1..=64) and 2 (65..=128) hold nothing later.
    /// assert_eq!(wal.purge_through(130)?, [1, 2]);
    /// assert_eq!(wal.file_numbers(), [3, 4]);
    /// drop(wal);
    /// let mut first = None;
    /// let wal = Wal::open_with(dir.path(), opts, |b| { first.get_or_insert(b.seq); })?;
    /// assert_eq!(first, Some(129)); // file 3's first batch
    /// # drop(wal);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn purge_through(&mut self, checkpoint: u64) -> Result<Vec<u64>> {
        self.check_poisoned()?;
        if checkpoint >= self.next_seq {
            return Err(Error::InvalidInput {
                offset: self.writer.offset(),
                what: "a purge checkpoint at or past the next sequence number",
            });
        }
        let count = deletable(&self.files, checkpoint, self.number);
        if count == 0 {
            return Ok(Vec::new());
        }
        let r = self.purge_steps(checkpoint, count);
        self.poison_on(r)
    }

    fn purge_steps(&mut self, checkpoint: u64, count: usize) -> Result<Vec<u64>> {
        // (1) The marker, durable before anything is deleted.
        self.sync()?;
        let marker = Marker::Purge {
            file: self.number,
            checkpoint,
        };
        self.add_marker(&marker)?;
        self.writer.sync()?;
        // (2) and (3).
        let victims: Vec<Live> = self.files.drain(..count).collect();
        let ops = Ops {
            dir: &self.dir,
            opts: &self.opts,
        };
        retire(&ops, &victims, &mut self.free)?;
        Ok(victims.iter().map(|f| f.number).collect())
    }
}

/// How many of `files` (lowest first) a purge through `checkpoint` drops:
/// the run from the lowest whose sequences are all known and at or below
/// the checkpoint, all numbered below `before` (the current file, or the
/// file holding the purge marker).
fn deletable(files: &VecDeque<Live>, checkpoint: u64, before: u64) -> usize {
    files
        .iter()
        .take_while(|f| f.number < before && f.through.is_some_and(|t| t <= checkpoint))
        .count()
}

/// Unlinks `victims` in order, or (recycling on, pool not full, the file
/// written by this WAL with recyclable headers) renames them to free files,
/// syncing the directory after each one. POSIX keeps each name's entry
/// operations apart until the directory is synced: with one sync at the
/// end, a crash could keep a lower file and lose a higher one, and the
/// files left would have a missing middle file (W5) that recovery refuses.
/// One directory sync per file keeps the remaining files a contiguous run
/// at every instant (`tests/wal_crash.rs`, the unordered-entries run).
fn retire(ops: &Ops<'_>, victims: &[Live], free: &mut Vec<u64>) -> Result<()> {
    for f in victims {
        if f.recyclable && free.len() < ops.opts.recycle {
            ops.free(f.number)?;
            free.push(f.number);
        } else {
            ops.remove(f.number)?;
        }
        ops.sync_dir()?;
    }
    Ok(())
}

/// The files recovery read, as purge sees them: the last sequence number
/// through each (from the next file's predecessor record, else its own
/// batches or predecessor; `last_seq` for the newest), and whether it may
/// be recycled (recyclable headers, and its predecessor record names it:
/// this WAL wrote it).
pub(super) fn live_files(recovery: &Recovery, last_seq: u64) -> VecDeque<Live> {
    let files = &recovery.files;
    let prev_last = |m: &Option<Marker>| match m {
        Some(Marker::Predecessor { prev_last_seq, .. }) => Some(*prev_last_seq),
        _ => None,
    };
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let through = match files.get(i + 1) {
                None => Some(last_seq),
                Some(next) => prev_last(&next.predecessor)
                    .filter(|_| next.number == f.number + 1)
                    .or(f.last_seq)
                    .or_else(|| prev_last(&f.predecessor)),
            };
            Live {
                number: f.number,
                through,
                recyclable: f.recyclable && f.predecessor.is_some(),
            }
        })
        .collect()
}

/// Finishes the purge of the newest purge marker recovery read: drops the
/// files before the marker's file entirely at or below its checkpoint that
/// are still there, lowest first, syncing the directory after each.
pub(super) fn finish_interrupted(
    ops: &Ops<'_>,
    recovery: &Recovery,
    live: &mut VecDeque<Live>,
    free: &mut Vec<u64>,
) -> Result<()> {
    let Some(purged) = recovery.purge else {
        return Ok(());
    };
    let count = deletable(live, purged.checkpoint, purged.file);
    if count == 0 {
        return Ok(());
    }
    let victims: Vec<Live> = live.drain(..count).collect();
    retire(ops, &victims, free)
}

/// Unlinks the free files beyond the pool's size (all of them with
/// recycling off), then syncs the directory if any went.
pub(super) fn trim_free(ops: &Ops<'_>, free: &mut Vec<u64>) -> Result<()> {
    if free.len() <= ops.opts.recycle {
        return Ok(());
    }
    for number in free.drain(ops.opts.recycle..) {
        ops.remove_free(number)?;
    }
    ops.sync_dir()
}
