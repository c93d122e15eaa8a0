//! [`Wal`]: the write side of a WAL directory: open (recover, cut the
//! newest file's torn tail, seal it, start a new file), append, sync,
//! rotate, close.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format::{RecordType, BLOCK_SIZE, HEADER_SIZE};
use crate::policy::RecoveryMode;
use crate::wal::batch::Batch;
use crate::wal::dir::{self, DirOp, Ops};
use crate::wal::marker::Marker;
use crate::wal::purge;
use crate::wal::recover::{Recovery, WalBatch, WalEvent, WalReader};
use crate::writer::{SyncData, Writer, WriterOptions};
use crate::DEFAULT_MAX_RECORD_SIZE;

/// What a WAL file is written through: a [`File`], or (tests) a wrapper
/// around one that injects faults.
pub trait WalSink: Write + SyncData + Send + fmt::Debug {}

impl<T: Write + SyncData + Send + fmt::Debug> WalSink for T {}

/// Wraps each file opened for writing (tests: fault injection).
type Wrap = Arc<dyn Fn(u64, File) -> Box<dyn WalSink> + Send + Sync>;

/// Sees (and may fail) each directory operation (tests: crash simulation).
type Observe = Arc<dyn Fn(DirOp) -> std::io::Result<()> + Send + Sync>;

/// Options of a WAL, built with chained setters.
///
/// ```
/// use blocklog::wal::WalOptions;
/// use blocklog::RecoveryMode;
///
/// let opts = WalOptions::new()
///     .mode(RecoveryMode::PointInTime)
///     .max_file_size(4 << 20)
///     .first_sequence(1);
/// # drop(opts);
/// ```
#[derive(Clone)]
pub struct WalOptions {
    pub(crate) mode: RecoveryMode,
    pub(crate) max_file_size: u64,
    pub(crate) first_sequence: u64,
    pub(crate) max_record_size: usize,
    pub(crate) buffer_size: usize,
    pub(crate) recycle: usize,
    pub(crate) preallocate: u64,
    pub(crate) wrap: Option<Wrap>,
    pub(crate) observe: Option<Observe>,
}

impl fmt::Debug for WalOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalOptions")
            .field("mode", &self.mode)
            .field("max_file_size", &self.max_file_size)
            .field("first_sequence", &self.first_sequence)
            .field("max_record_size", &self.max_record_size)
            .field("buffer_size", &self.buffer_size)
            .field("recycle", &self.recycle)
            .field("preallocate", &self.preallocate)
            .finish_non_exhaustive()
    }
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            mode: RecoveryMode::TolerateTail,
            max_file_size: 64 << 20,
            first_sequence: 1,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            buffer_size: 64 << 10,
            recycle: 0,
            preallocate: 0,
            wrap: None,
            observe: None,
        }
    }
}

impl WalOptions {
    /// Tolerate-tail recovery, 64 MiB files, sequence numbers from 1.
    pub fn new() -> WalOptions {
        WalOptions::default()
    }

    /// The recovery mode of [`Wal::open`] and [`WalReader`] (`docs/wal.md`).
    pub fn mode(mut self, mode: RecoveryMode) -> WalOptions {
        self.mode = mode;
        self
    }

    /// Rotate to a new file before a batch would take the current one past
    /// this size. A batch is never split: a file holding a single batch
    /// larger than this exceeds it.
    pub fn max_file_size(mut self, bytes: u64) -> WalOptions {
        self.max_file_size = bytes;
        self
    }

    /// The sequence number of a new WAL's first entry (at least 1; an
    /// existing WAL continues its own numbering).
    pub fn first_sequence(mut self, seq: u64) -> WalOptions {
        self.first_sequence = seq;
        self
    }

    /// The largest batch encoding appended or read back.
    pub fn max_record_size(mut self, bytes: usize) -> WalOptions {
        self.max_record_size = bytes;
        self
    }

    /// The writer's staging buffer (see [`WriterOptions::buffer_size`]).
    pub fn buffer_size(mut self, bytes: usize) -> WalOptions {
        self.buffer_size = bytes;
        self
    }

    /// Recycling (opt-in, off with 0): keep up to `files` purged files (as
    /// `NNNNNN.free`) and reuse them for new files instead of creating
    /// them. Every file is then written with recyclable headers carrying
    /// its number, so a reused file's old bytes read as its previous use,
    /// never as batches (`docs/wal.md`, "Recycling").
    pub fn recycle(mut self, files: usize) -> WalOptions {
        self.recycle = files;
        self
    }

    /// Preallocation (opt-in, off with 0): each new file is first filled
    /// with this many zero bytes, which appends then overwrite, so that a
    /// sync does not have to grow the file. A file is cut to its seal when
    /// sealed (`docs/wal.md`, "Preallocation").
    pub fn preallocate(mut self, bytes: u64) -> WalOptions {
        self.preallocate = bytes;
        self
    }

    /// Tests only: writes each file opened for writing (given its number:
    /// created, or reopened to be cut and sealed) through `wrap`, to inject
    /// faults or record what reaches the file.
    #[doc(hidden)]
    pub fn wrap_files(
        mut self,
        wrap: impl Fn(u64, File) -> Box<dyn WalSink> + Send + Sync + 'static,
    ) -> WalOptions {
        self.wrap = Some(Arc::new(wrap));
        self
    }

    /// Tests only: shows each directory operation to `observe` before it
    /// is made; an error from it fails the operation (fault injection).
    #[doc(hidden)]
    pub fn observe_dir(
        mut self,
        observe: impl Fn(DirOp) -> std::io::Result<()> + Send + Sync + 'static,
    ) -> WalOptions {
        self.observe = Some(Arc::new(observe));
        self
    }
}

/// A write-ahead log over a directory of numbered files (`docs/wal.md`).
///
/// [`open`](Wal::open) recovers the directory with the mode, cuts the
/// newest file's torn tail, seals it, and starts a new file;
/// [`append`](Wal::append) writes a batch as one record and returns its
/// sequence number; [`sync`](Wal::sync) makes every appended batch durable
/// (acknowledged); [`close`](Wal::close) seals the file.
///
/// After any I/O error the WAL is poisoned: every later call returns that
/// error. Whether the batches appended since the last successful sync are
/// durable is then unknown (a failed fsync is never retried); reopening
/// finds out, recovering what reached the disk, and starts a new file.
///
/// ```
/// use blocklog::wal::{Batch, Wal, WalEvent, WalOptions, WalReader};
///
/// let dir = tempfile::tempdir()?;
/// let mut wal = Wal::open(dir.path(), WalOptions::new())?;
/// let mut batch = Batch::new();
/// batch.put(b"set a 1")?.put(b"set b 2")?;
/// assert_eq!(wal.append(&batch)?, 1); // entries 1 and 2
/// assert_eq!(wal.append(&batch)?, 3);
/// wal.sync()?; // both batches are acknowledged
/// drop(wal); // a crash: no seal
///
/// // Reopening replays them and starts a new file.
/// let mut seqs = Vec::new();
/// let wal = Wal::open_with(dir.path(), WalOptions::new(), |b| seqs.push(b.seq))?;
/// assert_eq!(seqs, [1, 3]);
/// assert_eq!(wal.next_seq(), 5);
/// assert_eq!(wal.file_number(), 2);
/// wal.close()?;
///
/// // Any reader sees one sequence of batches over both files.
/// let mut reader = WalReader::open(dir.path(), &WalOptions::new())?;
/// let mut batches = 0;
/// while let Some(event) = reader.next_event()? {
///     if let WalEvent::Batch(b) = event {
///         assert_eq!(b.entries()?.len(), 2);
///         batches += 1;
///     }
/// }
/// assert_eq!(batches, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Wal {
    pub(super) dir: PathBuf,
    pub(super) opts: WalOptions,
    /// Held for the WAL's life: the OS lock on `LOCK`.
    _lock: File,
    pub(super) writer: Writer<Box<dyn WalSink>>,
    pub(super) number: u64,
    pub(super) next_seq: u64,
    batches_in_file: u64,
    /// Batches appended since the last sync.
    dirty: bool,
    poisoned: Option<Error>,
    recovery: Recovery,
    /// The encoding of the batch being appended (reused).
    scratch: Vec<u8>,
    /// The sealed files before the current one, lowest first.
    pub(super) files: VecDeque<Live>,
    /// Free files (purged, kept for recycling), by number.
    pub(super) free: Vec<u64>,
    /// The current file is written with recyclable headers.
    pub(super) recyclable: bool,
    /// The current file may hold bytes past the write position
    /// (preallocated zeros, a recycled file's old bytes): cut when sealed.
    slack: bool,
}

/// A sealed file of the WAL, as purge sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Live {
    pub(super) number: u64,
    /// The last sequence number through this file (`None`: not known, as
    /// after damage; such a file is never purged).
    pub(super) through: Option<u64>,
    /// Written by this WAL with recyclable headers: may be recycled.
    pub(super) recyclable: bool,
}

/// A file created for writing: its writer and how it was made.
pub(super) struct NewFile {
    writer: Writer<Box<dyn WalSink>>,
    recyclable: bool,
    slack: bool,
}

impl Wal {
    /// Opens (creating it if needed) the WAL in `dir`, recovering it with
    /// the options' mode; the recovered batches are read and discarded
    /// (see [`open_with`](Wal::open_with) to replay them).
    pub fn open(dir: impl AsRef<Path>, opts: WalOptions) -> Result<Wal> {
        Wal::open_with(dir, opts, |_| {})
    }

    /// Opens the WAL in `dir`, handing every recovered batch to `replay`
    /// in sequence order, then:
    ///
    /// 1. takes the `LOCK` file (first: [`Error::Locked`] if another user holds it);
    /// 2. refuses what the mode refuses (the [`Error::Wal`] problem, files
    ///    untouched), and a point-in-time stop at damage or a gap
    ///    (appending after it would put acknowledged batches where no
    ///    point-in-time recovery reads them);
    /// 3. deletes a newest file holding nothing intact (its creation never
    ///    completed), or else cuts the newest file at the end of what the
    ///    mode kept (its torn tail), seals it unless sealed, and syncs it;
    /// 4. creates the next file, with its predecessor record, synced, and
    ///    syncs the directory, before anything can be appended.
    pub fn open_with(
        dir: impl AsRef<Path>,
        opts: WalOptions,
        mut replay: impl FnMut(&WalBatch),
    ) -> Result<Wal> {
        let dir = dir.as_ref().to_path_buf();
        if opts.first_sequence == 0 {
            return Err(Error::InvalidInput {
                offset: 0,
                what: "a WAL's first sequence number is at least 1",
            });
        }
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(|e| Error::io(0, e))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                dir::sync_dir(parent)?;
            }
        }
        let lock = dir::lock(&dir)?;
        let mut free = dir::list_free(&dir)?;
        let mut reader = WalReader::open(&dir, &opts)?;
        while let Some(event) = reader.next_event()? {
            if let WalEvent::Batch(b) = event {
                replay(&b);
            }
        }
        let recovery = reader.into_report();
        if let Some(problem) = &recovery.stopped {
            return Err(Error::Wal {
                mode: opts.mode,
                problem: Box::new(problem.clone()),
            });
        }
        let next_seq = recovery.next_seq.unwrap_or(opts.first_sequence);
        let last_seq = next_seq - 1;
        let ops = Ops {
            dir: &dir,
            opts: &opts,
        };
        let mut live = purge::live_files(&recovery, last_seq);
        // A purge interrupted by a crash: finish it (its marker was synced).
        purge::finish_interrupted(&ops, &recovery, &mut live, &mut free)?;
        purge::trim_free(&ops, &mut free)?;
        let files = &recovery.files;
        let (number, prev_size) = match files.last() {
            None => (1, 0),
            Some(newest) if newest.units == 0 => {
                // Its creation never completed: nothing in it was acknowledged.
                ops.remove(newest.number)?;
                ops.sync_dir()?;
                live.retain(|f| f.number != newest.number);
                let prev_size = files.len().checked_sub(2).map_or(0, |i| files[i].size);
                (newest.number, prev_size)
            }
            Some(newest) => {
                let size = finish_newest(&dir, newest, last_seq, &opts)?;
                (newest.number + 1, size)
            }
        };
        let predecessor = Marker::Predecessor {
            file: number,
            prev_file: number - 1,
            prev_last_seq: last_seq,
            prev_size,
        };
        let new = create_file(&dir, number, &predecessor, &opts, &mut free)?;
        Ok(Wal {
            dir,
            opts,
            _lock: lock,
            writer: new.writer,
            number,
            next_seq,
            batches_in_file: 0,
            dirty: false,
            poisoned: None,
            recovery,
            scratch: Vec::new(),
            files: live,
            free,
            recyclable: new.recyclable,
            slack: new.slack,
        })
    }

    /// Appends `batch` as one record and returns the sequence number of its
    /// first entry (its entries take `seq .. seq + batch.len()`). Not yet
    /// durable: [`sync`](Wal::sync) acknowledges it.
    ///
    /// Rotates first when the batch would take the file past
    /// `max_file_size` (and the file already holds a batch): the file is
    /// sealed and synced, the next one created, synced and its directory
    /// entry synced.
    ///
    /// An empty batch is [`Error::InvalidInput`], a batch larger than
    /// `max_record_size` [`Error::RecordTooLarge`]; neither poisons.
    pub fn append(&mut self, batch: &Batch) -> Result<u64> {
        self.check_poisoned()?;
        if batch.is_empty() {
            return Err(Error::InvalidInput {
                offset: self.writer.offset(),
                what: "an empty batch",
            });
        }
        let len = batch.encoded_len();
        if len > self.opts.max_record_size {
            return Err(Error::RecordTooLarge {
                offset: self.writer.offset(),
                limit: self.opts.max_record_size,
            });
        }
        let seq = self.next_seq;
        let next = seq
            .checked_add(batch.len() as u64)
            .ok_or(Error::InvalidInput {
                offset: self.writer.offset(),
                what: "sequence numbers exhausted",
            })?;
        if self.batches_in_file > 0
            && self.writer.offset() + record_size(len) > self.opts.max_file_size
        {
            let r = self.rotate();
            self.poison_on(r)?;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        batch.encode_into(seq, &mut scratch);
        let r = self.writer.add_record(&scratch);
        self.scratch = scratch;
        self.poison_on(r)?;
        self.next_seq = next;
        self.batches_in_file += 1;
        self.dirty = true;
        Ok(seq)
    }

    /// Makes every batch appended so far durable (`fdatasync`); on success
    /// they are acknowledged. Then stages a synced marker recording it (it
    /// reaches the disk with the next write). A failure poisons the WAL.
    pub fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        if !self.dirty {
            return Ok(());
        }
        let r = self.writer.sync();
        self.poison_on(r)?;
        self.dirty = false;
        let marker = Marker::Synced {
            file: self.number,
            synced_through: self.writer.offset(),
            last_seq: self.next_seq - 1,
        };
        let r = self.add_marker(&marker);
        self.poison_on(r).map(drop)
    }

    /// Seals the current file and syncs it: every batch appended is
    /// acknowledged, and recovery knows the file ended cleanly. Releases
    /// the lock.
    pub fn close(mut self) -> Result<()> {
        self.check_poisoned()?;
        let r = self.seal();
        self.poison_on(r)
    }

    /// The sequence number the next appended batch gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The number of the file being appended to.
    pub fn file_number(&self) -> u64 {
        self.number
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What recovery found when the WAL was opened.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The error that poisoned the WAL, if any.
    pub fn poisoned(&self) -> Option<&Error> {
        self.poisoned.as_ref()
    }

    /// The numbers of the files the WAL holds, lowest first (the sealed
    /// ones, then the current one).
    pub fn file_numbers(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.files.iter().map(|f| f.number).collect();
        v.push(self.number);
        v
    }

    /// Hands every staged byte to the file (`write(2)`), without syncing:
    /// readers of the directory see the batches, which are not durable
    /// yet. A failure poisons the WAL. (The group commit writes a group
    /// with this, then syncs it or not.)
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.check_poisoned()?;
        let r = self.writer.flush();
        self.poison_on(r)
    }

    /// Whether a batch was appended since the last successful sync: then
    /// [`sync`](Wal::sync) calls `fdatasync`, else it does nothing.
    pub(crate) fn has_unsynced(&self) -> bool {
        self.dirty
    }

    /// The options the WAL was opened with.
    pub(crate) fn options(&self) -> &WalOptions {
        &self.opts
    }

    pub(super) fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub(super) fn poison_on<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.poisoned = Some(e.clone());
        }
        r
    }

    /// Stages `marker` in the current file, with the header format of its
    /// batches.
    pub(super) fn add_marker(&mut self, marker: &Marker) -> Result<u64> {
        add_marker(&mut self.writer, marker, self.recyclable)
    }

    /// Writes the seal, cuts the file there if it holds bytes past it
    /// (preallocated or recycled), and syncs the file: a sealed file ends
    /// at its seal.
    fn seal(&mut self) -> Result<()> {
        let seal = Marker::Seal {
            file: self.number,
            last_seq: self.next_seq - 1,
            batches: self.batches_in_file,
        };
        self.add_marker(&seal)?;
        if self.slack {
            self.writer.flush()?;
            let ops = Ops {
                dir: &self.dir,
                opts: &self.opts,
            };
            ops.set_len(self.number, self.writer.offset())?;
            self.slack = false;
        }
        self.writer.sync()?;
        self.dirty = false;
        Ok(())
    }

    /// Seal and sync the current file, then create the next one.
    fn rotate(&mut self) -> Result<()> {
        self.seal()?;
        let predecessor = Marker::Predecessor {
            file: self.number + 1,
            prev_file: self.number,
            prev_last_seq: self.next_seq - 1,
            prev_size: self.writer.offset(),
        };
        self.files.push_back(Live {
            number: self.number,
            through: Some(self.next_seq - 1),
            recyclable: self.recyclable,
        });
        let new = create_file(
            &self.dir,
            self.number + 1,
            &predecessor,
            &self.opts,
            &mut self.free,
        )?;
        self.writer = new.writer;
        self.recyclable = new.recyclable;
        self.slack = new.slack;
        self.number += 1;
        self.batches_in_file = 0;
        Ok(())
    }
}

/// Stages `marker` in `writer`: with a legacy header, or (a recyclable
/// file) as type 0xF5 with the log number.
fn add_marker(
    writer: &mut Writer<Box<dyn WalSink>>,
    marker: &Marker,
    recyclable: bool,
) -> Result<u64> {
    if recyclable {
        writer.add_metadata(RecordType::WalRecyclableMarker, &marker.encode_recyclable())
    } else {
        writer.add_metadata(marker.record_type(), &marker.encode())
    }
}

/// The most a record of `len` payload bytes can take in a file: its
/// headers and the padding before a new block.
fn record_size(len: usize) -> u64 {
    let fragments = len / (BLOCK_SIZE - HEADER_SIZE) + 2;
    (len + fragments * HEADER_SIZE + HEADER_SIZE) as u64
}

/// Creates file `number` holding `predecessor`, synced, and syncs the
/// directory. With recycling on (and a number that fits a log number), the
/// file is written with recyclable headers, and a free file is reused when
/// there is one (renamed, then overwritten from 0); otherwise it is
/// created, filled with zeros first when preallocation is on.
fn create_file(
    dir: &Path,
    number: u64,
    predecessor: &Marker,
    opts: &WalOptions,
    free: &mut Vec<u64>,
) -> Result<NewFile> {
    let ops = Ops { dir, opts };
    let log_number = u32::try_from(number).ok().filter(|_| opts.recycle > 0);
    let (sink, slack) = match (log_number, free.pop()) {
        (Some(_), Some(old)) => (ops.reuse(old, number)?, true),
        (_, old) => {
            free.extend(old);
            if opts.preallocate > 0 {
                (ops.create_preallocated(number, opts.preallocate)?, true)
            } else {
                (ops.create(number)?, false)
            }
        }
    };
    let mut wopts = WriterOptions::new()
        .buffer_size(opts.buffer_size)
        .max_record_size(opts.max_record_size);
    if let Some(n) = log_number {
        wopts = wopts.recyclable(n);
    }
    let mut writer = wopts.build(sink);
    add_marker(&mut writer, predecessor, log_number.is_some())?;
    writer.sync()?;
    ops.sync_dir()?;
    Ok(NewFile {
        writer,
        recyclable: log_number.is_some(),
        slack,
    })
}

/// Cuts the newest file at the end of what recovery kept, seals it unless
/// it is sealed, syncs it, and returns its size.
///
/// A sealed file is synced too: a seal found on open proves nothing about
/// durability (the process may have died between the seal's write and its
/// fdatasync), and once the next file exists a power loss that took the
/// seal and the batches before it would leave an unsealed non-last file
/// (W6) and lose batches this open replayed.
fn finish_newest(
    dir: &Path,
    newest: &crate::wal::recover::FileReport,
    last_seq: u64,
    opts: &WalOptions,
) -> Result<u64> {
    let keep = newest.kept_end;
    let sink = Ops { dir, opts }.open_at(newest.number, keep)?;
    let mut wopts = WriterOptions::new()
        .append_at(keep)
        .max_record_size(opts.max_record_size);
    let log_number = u32::try_from(newest.number)
        .ok()
        .filter(|_| newest.recyclable);
    if let Some(n) = log_number {
        wopts = wopts.recyclable(n);
    }
    let mut writer = wopts.build(sink);
    if !newest.sealed {
        let seal = Marker::Seal {
            file: newest.number,
            last_seq,
            batches: newest.batches,
        };
        add_marker(&mut writer, &seal, log_number.is_some())?;
    }
    writer.sync()?;
    Ok(writer.offset())
}
