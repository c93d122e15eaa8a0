//! Opening inputs (with a progress bar for large files) and the reader
//! settings a command reads them with.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;

use blocklog::{LogFormat, ReaderOptions, RecoveryMode, Resync};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::ReadArgs;
use crate::error::CliError;

/// Files larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: u64 = 4 << 20;

/// How to read one file: the reader options the commands expose.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Recovery mode.
    pub mode: RecoveryMode,
    /// Resync strategy.
    pub resync: Resync,
    /// Header format.
    pub format: LogFormat,
    /// Expected log number for recyclable records, if known.
    pub log_number: Option<u32>,
    /// Whether the log number was given (`--log-number`) rather than taken
    /// from the file name.
    pub log_number_given: bool,
    /// Where to start reading.
    pub initial_offset: u64,
}

impl Settings {
    /// Settings for reading `file` with `mode` and `resync`, the format
    /// detected: the log number is `given`, else the one in the file's name
    /// ([`default_log_number`]).
    pub fn new(mode: RecoveryMode, resync: Resync, given: Option<u32>, file: &Path) -> Settings {
        Settings {
            mode,
            resync,
            format: LogFormat::Detect,
            log_number: given.or_else(|| default_log_number(file)),
            log_number_given: given.is_some(),
            initial_offset: 0,
        }
    }

    /// Settings for reading `file` as the command line says.
    pub fn from_args(read: &ReadArgs, file: &Path) -> Settings {
        Settings {
            format: read.format,
            ..Settings::new(read.mode, read.resync, read.log_number, file)
        }
    }

    /// The reader options for these settings.
    pub fn reader_options(&self) -> ReaderOptions {
        let mut o = ReaderOptions::new()
            .mode(self.mode)
            .resync(self.resync)
            .format(self.format)
            .initial_offset(self.initial_offset);
        if let Some(n) = self.log_number {
            o = o.log_number(n);
        }
        o
    }

    /// `, log number N`, with where it came from (empty without one), and
    /// `, format F` unless the format is detected.
    pub fn log_number_note(&self) -> String {
        let mut s = match (self.log_number, self.log_number_given) {
            (Some(n), true) => format!(", log number {n}"),
            (Some(n), false) => format!(", log number {n} (from the file name)"),
            (None, _) => String::new(),
        };
        if self.format != LogFormat::Detect {
            s.push_str(&format!(", format {}", self.format));
        }
        s
    }
}

/// The log number in a file name like `000123.log`, as RocksDB names its logs.
pub fn log_number_from_path(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".log")?;
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The log number a reading command assumes for `path` when `--log-number`
/// is not given: the number in the file name, as RocksDB reads every WAL
/// with its file's number (no probing). The number is compared only with
/// recyclable headers, so a legacy log reads the same with it.
pub fn default_log_number(path: &Path) -> Option<u32> {
    log_number_from_path(path)
}

/// An opened input file with its length.
pub struct Input {
    /// The file, wrapped to drive the progress bar.
    pub reader: Progress<File>,
    /// Its length in bytes.
    pub len: u64,
}

/// Opens `path` for reading; a directory or unreadable file is an exit-2 error.
pub fn open_input(path: &Path, label: &str) -> Result<Input, CliError> {
    let file = File::open(path).map_err(|e| CliError::io(path, "open", &e))?;
    let meta = file
        .metadata()
        .map_err(|e| CliError::io(path, "read", &e))?;
    if meta.is_dir() {
        return Err(CliError::usage(format!(
            "cannot read {}: it is a directory",
            path.display()
        )));
    }
    let len = meta.len();
    Ok(Input {
        reader: Progress::new(file, len, label),
        len,
    })
}

/// A reader that advances a progress bar on stderr, shown only for large
/// files when stderr is a terminal.
pub struct Progress<R> {
    inner: R,
    bar: Option<ProgressBar>,
}

impl<R> Progress<R> {
    /// Wraps `inner`, of `len` bytes.
    pub fn new(inner: R, len: u64, label: &str) -> Progress<R> {
        let bar = (len > PROGRESS_THRESHOLD && io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(len);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_string());
            bar
        });
        Progress { inner, bar }
    }
}

impl<R> Drop for Progress<R> {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_numbers_from_names() {
        assert_eq!(log_number_from_path(Path::new("/x/000123.log")), Some(123));
        assert_eq!(log_number_from_path(Path::new("7.log")), Some(7));
        assert_eq!(log_number_from_path(Path::new("wal.log")), None);
        assert_eq!(log_number_from_path(Path::new("000123.sst")), None);
        assert_eq!(log_number_from_path(Path::new(".log")), None);
        assert_eq!(log_number_from_path(Path::new("99999999999.log")), None);
    }
}
