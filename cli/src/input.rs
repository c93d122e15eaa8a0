//! Opening inputs (each exactly once: regular files, FIFOs, standard input;
//! with a progress bar for large files) and the reader settings a command
//! reads them with.

use std::fs::{File, FileType, Metadata};
use std::io::{self, IsTerminal, Read, Seek, SeekFrom};
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

/// The name that means standard input.
pub const STDIN: &str = "-";

/// Whether `path` is `-`, standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// `path` as messages show it (`standard input` for `-`).
pub fn shown(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

/// An input, opened once: a regular file (seekable, of known length) or a
/// stream (a FIFO, standard input), read once from its start.
pub struct Input {
    /// The length of a regular file; for standard input redirected from a
    /// regular file, its length (the progress bar's total); `None` for a
    /// stream of unknown length.
    pub len: Option<u64>,
    /// The metadata of the opened handle (`None` for standard input where
    /// the platform gives none).
    pub meta: Option<Metadata>,
    source: Source,
}

enum Source {
    /// A regular file, at its start.
    File(File),
    /// A FIFO or standard input: no seeking, read as it comes.
    Stream(Box<dyn Read>),
}

/// Opens `path` for reading, exactly once (a FIFO would give its bytes to
/// one opener only): `-` is standard input; a regular file or a FIFO is
/// read; a directory, a device or a socket is an exit-2 error, as is an
/// unreadable file. The kind comes from the opened handle, never from the
/// path again.
pub fn open_input(path: &Path) -> Result<Input, CliError> {
    if is_stdin(path) {
        return open_stdin();
    }
    let file = File::open(path).map_err(|e| CliError::io(path, "read", &e))?;
    let meta = file
        .metadata()
        .map_err(|e| CliError::io(path, "read", &e))?;
    let file_type = meta.file_type();
    if file_type.is_file() {
        return Ok(Input {
            len: Some(meta.len()),
            meta: Some(meta),
            source: Source::File(file),
        });
    }
    if file_type.is_dir() {
        return Err(CliError::usage(format!(
            "cannot read {}: it is a directory",
            path.display()
        )));
    }
    if is_fifo(&meta) {
        return Ok(Input {
            len: None,
            meta: Some(meta),
            source: Source::Stream(Box::new(file)),
        });
    }
    Err(CliError::usage(format!(
        "cannot read {}: not a regular file, FIFO or stdin ({})",
        path.display(),
        kind_name(&meta)
    )))
}

#[cfg(unix)]
fn open_stdin() -> Result<Input, CliError> {
    use std::os::fd::AsFd;
    let err = |e: io::Error| CliError::usage(format!("cannot read standard input: {e}"));
    // A handle of its own on the same open file (closing it leaves fd 0 open).
    let file = File::from(io::stdin().as_fd().try_clone_to_owned().map_err(err)?);
    let meta = file.metadata().map_err(err)?;
    if meta.is_dir() {
        return Err(CliError::usage(
            "cannot read standard input: it is a directory",
        ));
    }
    if is_device(&meta) && !io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "cannot read standard input: not a regular file, FIFO or pipe ({})",
            kind_name(&meta)
        )));
    }
    Ok(Input {
        len: meta.is_file().then_some(meta.len()),
        meta: Some(meta),
        source: Source::Stream(Box::new(file)),
    })
}

#[cfg(not(unix))]
fn open_stdin() -> Result<Input, CliError> {
    Ok(Input {
        len: None,
        meta: None,
        source: Source::Stream(Box::new(io::stdin())),
    })
}

#[cfg(unix)]
fn is_fifo(meta: &Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: &Metadata) -> bool {
    false
}

#[cfg(unix)]
fn is_device(meta: &Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    t.is_char_device() || t.is_block_device()
}

/// What a file that is not read is, for messages.
fn kind_name(meta: &Metadata) -> &'static str {
    file_kind(&meta.file_type())
}

/// What a file is, for messages: `a regular file`, `a directory`, `a
/// symbolic link`, `a FIFO`, `a character device`, ...
pub fn file_kind(t: &FileType) -> &'static str {
    if t.is_file() {
        return "a regular file";
    }
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a file"
}

/// A reader over an input, as [`Input::reader`] gives it.
pub type InputReader = Progress<Box<dyn Read>>;

impl Input {
    /// Whether the input is a stream (a FIFO or standard input).
    pub fn is_stream(&self) -> bool {
        matches!(self.source, Source::Stream(_))
    }

    /// The regular file, for reading it while it grows (`dump --follow`);
    /// `None` for a stream.
    pub fn into_file(self) -> Option<File> {
        match self.source {
            Source::File(f) => Some(f),
            Source::Stream(_) => None,
        }
    }

    /// The input as one reader from its start, with a progress bar.
    pub fn reader(self, label: &str) -> InputReader {
        let source: Box<dyn Read> = match self.source {
            Source::File(f) => Box::new(f),
            Source::Stream(s) => s,
        };
        Progress::new(source, self.len, label)
    }

    /// The input as something read several times (every mode of `compare`,
    /// the salvage read behind `verify --map`): a regular file is read
    /// again through the same handle from its start; a stream is read into
    /// memory once.
    pub fn rereadable(self, path: &Path) -> Result<Reread, CliError> {
        match self.source {
            Source::File(f) => Ok(Reread::File(f, self.len.unwrap_or(0))),
            Source::Stream(mut s) => {
                let mut bytes = Vec::new();
                s.read_to_end(&mut bytes)
                    .map_err(|e| CliError::usage(format!("cannot read {}: {e}", shown(path))))?;
                Ok(Reread::Memory(bytes))
            }
        }
    }
}

/// An input read several times (see [`Input::rereadable`]).
pub enum Reread {
    /// A regular file and its length.
    File(File, u64),
    /// A stream's bytes.
    Memory(Vec<u8>),
}

impl Reread {
    /// The input's length.
    pub fn len(&self) -> u64 {
        match self {
            Reread::File(_, n) => *n,
            Reread::Memory(b) => b.len() as u64,
        }
    }

    /// A reader from the input's start.
    pub fn reader(&self, path: &Path, label: &str) -> Result<Progress<RereadSource<'_>>, CliError> {
        let source = match self {
            Reread::File(f, _) => {
                let mut f = f;
                f.seek(SeekFrom::Start(0))
                    .map_err(|e| CliError::io(path, "read", &e))?;
                RereadSource::File(f)
            }
            Reread::Memory(b) => RereadSource::Memory(b),
        };
        let len = match self {
            Reread::File(_, n) => Some(*n),
            Reread::Memory(_) => None,
        };
        Ok(Progress::new(source, len, label))
    }
}

/// A reader over a [`Reread`].
pub enum RereadSource<'a> {
    /// The file, read from its start.
    File(&'a File),
    /// The stream's bytes.
    Memory(&'a [u8]),
}

impl Read for RereadSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            RereadSource::File(f) => f.read(buf),
            RereadSource::Memory(b) => b.read(buf),
        }
    }
}

/// A reader that advances a progress bar on stderr, shown only for large
/// files when stderr is a terminal.
pub struct Progress<R> {
    inner: R,
    bar: Option<ProgressBar>,
}

impl<R> Progress<R> {
    /// Wraps `inner`, of `len` bytes (no bar for a stream of unknown length).
    pub fn new(inner: R, len: Option<u64>, label: &str) -> Progress<R> {
        let len = len.unwrap_or(0);
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
