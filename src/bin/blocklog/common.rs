//! What the commands share: errors and exit statuses, opening inputs with a
//! progress bar, reader settings, and small formatting helpers.

use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;

use blocklog::{Error, Event, Reader, ReaderOptions, RecoveryMode, Resync, Summary};
use indicatif::{ProgressBar, ProgressStyle};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: a recovery mode refused a log (outcome `error`).
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: bad usage, or a file that cannot be read or written.
pub const EXIT_USAGE: u8 = 2;

/// Files larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: u64 = 4 << 20;

/// A failure that ends the command: one line on stderr and an exit status.
#[derive(Debug)]
pub struct CliError {
    /// The exit status.
    pub code: u8,
    /// The message, without the program name.
    pub message: String,
}

impl CliError {
    /// A failure with exit status 2 (usage, unreadable or unwritable file).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: &Path, what: &str, e: &io::Error) -> CliError {
        CliError::usage(format!("cannot {what} {}: {e}", path.display()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The error for a failed write to standard output. A closed pipe (as in
/// `blocklog dump --json log | head`) ends the command quietly.
pub fn stdout_error(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CliError {
            code: EXIT_OK,
            message: String::new(),
        }
    } else {
        CliError::usage(format!("cannot write to standard output: {e}"))
    }
}

/// A JSON object with its keys in the given order.
pub fn json_object(fields: &[(&str, serde_json::Value)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&serde_json::Value::from(*k).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// The exit status for a read that ended in `error`: 2 when the file could
/// not be read, 1 when the mode refused it.
pub fn exit_status_for(error: &Error) -> u8 {
    match error {
        Error::Io { .. } => EXIT_USAGE,
        _ => EXIT_REFUSED,
    }
}

/// How to read a log: the reader options the commands expose.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Recovery mode.
    pub mode: RecoveryMode,
    /// Resync strategy.
    pub resync: Resync,
    /// Expected log number for recyclable records, if known.
    pub log_number: Option<u32>,
    /// Where to start reading.
    pub initial_offset: u64,
}

impl Settings {
    /// The reader options for these settings.
    pub fn reader_options(&self) -> ReaderOptions {
        let mut o = ReaderOptions::new()
            .mode(self.mode)
            .resync(self.resync)
            .initial_offset(self.initial_offset);
        if let Some(n) = self.log_number {
            o = o.log_number(n);
        }
        o
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
/// with its file's number. The number is compared only with recyclable
/// headers, so a legacy log reads the same with it.
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

/// How a whole read ended.
#[derive(Debug)]
pub struct ReadEnd {
    /// The reader's final counters.
    pub summary: Summary,
    /// The error that ended the read, if one did.
    pub error: Option<Error>,
}

/// Reads every event of `reader`, handing each to `on_event` with the
/// summary so far, until the end of the log or an error.
pub fn read_all<R: Read>(
    mut reader: Reader<R>,
    mut on_event: impl FnMut(&Event, &Summary) -> Result<(), CliError>,
) -> Result<ReadEnd, CliError> {
    let error = loop {
        match reader.next_event() {
            Ok(Some(event)) => on_event(&event, reader.summary())?,
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Ok(ReadEnd {
        summary: reader.summary().clone(),
        error,
    })
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A short printable preview of a payload: printable ASCII as is, other
/// bytes as `\xNN`, at most `max` bytes shown.
pub fn preview(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

/// A byte count for people: `1234 bytes`, `12.1 KiB`, `3.4 MiB`.
pub fn human_bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} bytes")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64)
    }
}

/// A file size for people: `123 bytes`, or `1.2 MiB (1234567 bytes)`.
pub fn file_size(n: u64) -> String {
    if n < 1024 {
        human_bytes(n)
    } else {
        format!("{} ({n} bytes)", human_bytes(n))
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

    #[test]
    fn hex_and_preview() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(preview(b"ab\x01\"", 10), "ab\\x01\\\"");
        assert_eq!(preview(b"abcdef", 3), "abc...");
        assert_eq!(human_bytes(10), "10 bytes");
        assert_eq!(human_bytes(2048), "2.0 KiB");
    }
}
