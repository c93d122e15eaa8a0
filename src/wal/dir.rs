//! The WAL directory: file names, listing, the `LOCK` file, and making
//! directory entries durable.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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

/// The WAL files of `dir`, in numeric order. Other names are ignored.
pub fn list(dir: &Path) -> Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(0, e))? {
        let entry = entry.map_err(|e| Error::io(0, e))?;
        if let Some(n) = entry.file_name().to_str().and_then(parse_name) {
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
    }
}
