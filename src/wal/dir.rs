//! The WAL directory: file names, listing, the `LOCK` file, making
//! directory entries durable, and [`DirOp`]: every change the WAL makes to
//! its directory goes through one seam that tests can watch or fail.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::wal::writer::{WalOptions, WalSink};

/// A change the WAL is about to make to its directory, shown to the
/// observer of [`WalOptions::observe_dir`] before it is made (tests: crash
/// simulation records them, fault injection fails them). File data goes
/// through the sinks of [`WalOptions::wrap_files`] instead.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirOp {
    /// File `number` is created (it must not exist).
    Create(u64),
    /// Existing file `number` is opened for writing (its sink is wrapped).
    Open(u64),
    /// File `number` is truncated or extended to `len` bytes.
    SetLen(u64, u64),
    /// File `number` is unlinked.
    Remove(u64),
    /// The directory is fsynced.
    SyncDir,
    /// Zeros are written to file `number` (just created, empty) up to `len`
    /// bytes, through the file itself (not its wrapped sink), and the file
    /// is positioned back at 0: preallocation. Zeros read as the end of
    /// the log, so a crash anywhere in it loses nothing.
    Preallocate(u64, u64),
    /// File `number` (purged) is renamed to [`free_name`]`(number)`: kept
    /// for recycling instead of deleted.
    Free(u64),
    /// Free file `number` is unlinked (the pool is full, or recycling is off).
    RemoveFree(u64),
    /// Free file `free` is renamed to file `number` and opened for writing
    /// at offset 0 over its old bytes (its sink is wrapped): recycling.
    Reuse {
        /// The free file's old number.
        free: u64,
        /// The number it takes.
        number: u64,
    },
}

/// The WAL's directory operations, each shown to the options' observer
/// first and its file sinks wrapped by the options' wrapper.
pub(crate) struct Ops<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) opts: &'a WalOptions,
}

impl Ops<'_> {
    fn observe(&self, op: DirOp) -> Result<()> {
        match &self.opts.observe {
            Some(observe) => observe(op).map_err(|e| Error::io(0, e)),
            None => Ok(()),
        }
    }

    fn wrap(&self, number: u64, file: File) -> Box<dyn WalSink> {
        match &self.opts.wrap {
            Some(wrap) => wrap(number, file),
            None => Box::new(file),
        }
    }

    /// Creates file `number`, which must not exist.
    pub(crate) fn create(&self, number: u64) -> Result<Box<dyn WalSink>> {
        self.observe(DirOp::Create(number))?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path_of(self.dir, number))
            .map_err(|e| Error::io(0, e))?;
        Ok(self.wrap(number, file))
    }

    /// Opens existing file `number` for writing, cut (or extended) to `len`
    /// bytes when its size differs, positioned at its end.
    pub(crate) fn open_at(&self, number: u64, len: u64) -> Result<Box<dyn WalSink>> {
        self.observe(DirOp::Open(number))?;
        let mut file = OpenOptions::new()
            .write(true)
            .open(path_of(self.dir, number))
            .map_err(|e| Error::io(0, e))?;
        let size = file.metadata().map_err(|e| Error::io(0, e))?.len();
        if size != len {
            self.observe(DirOp::SetLen(number, len))?;
            file.set_len(len).map_err(|e| Error::io(len, e))?;
        }
        file.seek(SeekFrom::Start(len))
            .map_err(|e| Error::io(len, e))?;
        Ok(self.wrap(number, file))
    }

    /// Creates file `number`, which must not exist, filled with `len` zero
    /// bytes (written, so that its blocks are allocated: appends then
    /// overwrite them without growing the file), positioned at 0.
    pub(crate) fn create_preallocated(&self, number: u64, len: u64) -> Result<Box<dyn WalSink>> {
        self.observe(DirOp::Create(number))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path_of(self.dir, number))
            .map_err(|e| Error::io(0, e))?;
        self.observe(DirOp::Preallocate(number, len))?;
        let zeros = vec![0u8; 64 << 10];
        let mut at = 0u64;
        while at < len {
            let n = (len - at).min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n]).map_err(|e| Error::io(at, e))?;
            at += n as u64;
        }
        file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(0, e))?;
        Ok(self.wrap(number, file))
    }

    /// Cuts (or extends) file `number` to `len` bytes through a handle of
    /// its own (the size is durable once the file is synced).
    pub(crate) fn set_len(&self, number: u64, len: u64) -> Result<()> {
        self.observe(DirOp::SetLen(number, len))?;
        OpenOptions::new()
            .write(true)
            .open(path_of(self.dir, number))
            .and_then(|f| f.set_len(len))
            .map_err(|e| Error::io(len, e))
    }

    /// Renames file `number` to [`free_name`]`(number)` (not durable until
    /// [`sync_dir`](Ops::sync_dir)).
    pub(crate) fn free(&self, number: u64) -> Result<()> {
        self.observe(DirOp::Free(number))?;
        fs::rename(path_of(self.dir, number), free_path(self.dir, number))
            .map_err(|e| Error::io(0, e))
    }

    /// Renames free file `free` to file `number` (which must not exist) and
    /// opens it for writing at offset 0, its old bytes left in place.
    pub(crate) fn reuse(&self, free: u64, number: u64) -> Result<Box<dyn WalSink>> {
        self.observe(DirOp::Reuse { free, number })?;
        let to = path_of(self.dir, number);
        if to.exists() {
            return Err(Error::io(
                0,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "WAL file exists"),
            ));
        }
        fs::rename(free_path(self.dir, free), &to).map_err(|e| Error::io(0, e))?;
        let file = OpenOptions::new()
            .write(true)
            .open(&to)
            .map_err(|e| Error::io(0, e))?;
        Ok(self.wrap(number, file))
    }

    /// Unlinks free file `number` (not durable until [`sync_dir`](Ops::sync_dir)).
    pub(crate) fn remove_free(&self, number: u64) -> Result<()> {
        self.observe(DirOp::RemoveFree(number))?;
        fs::remove_file(free_path(self.dir, number)).map_err(|e| Error::io(0, e))
    }

    /// Unlinks file `number` (not durable until [`sync_dir`](Ops::sync_dir)).
    pub(crate) fn remove(&self, number: u64) -> Result<()> {
        self.observe(DirOp::Remove(number))?;
        fs::remove_file(path_of(self.dir, number)).map_err(|e| Error::io(0, e))
    }

    /// Fsyncs the directory ([`sync_dir`]).
    pub(crate) fn sync_dir(&self) -> Result<()> {
        self.observe(DirOp::SyncDir)?;
        sync_dir(self.dir)
    }
}

/// Name of the lock file.
pub const LOCK_NAME: &str = "LOCK";

/// The file name of WAL file `number`: six digits at least, zero-padded
/// (`000012.log`), so names sort like numbers up to 999 999.
pub fn file_name(number: u64) -> String {
    format!("{number:06}.log")
}

/// The number of a WAL file name, if it is one exactly as
/// [`file_name`] writes it (`12.log` and `0000012.log` are not).
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    (file_name(n) == name).then_some(n)
}

/// The name of a free file (a purged file kept for recycling):
/// `NNNNNN.free`, six digits at least, its number the file's last.
pub fn free_name(number: u64) -> String {
    format!("{number:06}.free")
}

/// The number of a free file's name, if it is one exactly as
/// [`free_name`] writes it.
pub fn parse_free_name(name: &str) -> Option<u64> {
    let log = format!("{}.log", name.strip_suffix(".free")?);
    parse_name(&log)
}

/// The path of free file `number` in `dir`.
pub fn free_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(free_name(number))
}

/// The WAL files of `dir`, in numeric order. Other names are ignored.
pub fn list(dir: &Path) -> Result<Vec<u64>> {
    list_by(dir, parse_name)
}

/// The free files of `dir` (purged, kept for recycling), in numeric order.
pub fn list_free(dir: &Path) -> Result<Vec<u64>> {
    list_by(dir, parse_free_name)
}

fn list_by(dir: &Path, parse: fn(&str) -> Option<u64>) -> Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(0, e))? {
        let entry = entry.map_err(|e| Error::io(0, e))?;
        if let Some(n) = entry.file_name().to_str().and_then(parse) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// The path of file `number` in `dir`.
pub fn path_of(dir: &Path, number: u64) -> PathBuf {
    dir.join(file_name(number))
}

/// Opens (creating it if needed) and locks `dir/LOCK` with an exclusive OS
/// lock ([`File::try_lock`]: `flock` on Unix, `LockFileEx` on Windows). The
/// lock belongs to the open file: it is released when the returned `File`
/// is dropped or the process dies. On Unix the lock is per open file
/// description, so a second open of the same directory fails even within
/// one process. A held lock is [`Error::Locked`], at once (no waiting).
pub fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(0, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked { path }),
        Err(TryLockError::Error(e)) => Err(Error::io(0, e)),
    }
}

/// Makes the directory's entries durable (`fsync` of the directory): after
/// a create, rename or delete, the change survives a crash only once this
/// returns. A no-op where directories cannot be opened as files (Windows).
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(0, e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_six_digits_and_parse_back_exactly() {
        assert_eq!(file_name(12), "000012.log");
        assert_eq!(file_name(1_234_567), "1234567.log");
        for n in [0, 1, 12, 999_999, 1_000_000, u64::MAX] {
            assert_eq!(parse_name(&file_name(n)), Some(n));
        }
        for bad in [
            "12.log",
            "0000012.log",
            "000012.LOG",
            "00001a.log",
            "LOCK",
            "000012.log.tmp",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
        assert_eq!(free_name(12), "000012.free");
        assert_eq!(parse_free_name("000012.free"), Some(12));
        for bad in ["12.free", "000012.log", "0000012.free", "000012.free.tmp"] {
            assert_eq!(parse_free_name(bad), None, "{bad}");
        }
    }
}
