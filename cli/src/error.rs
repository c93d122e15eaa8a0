//! How a command fails: one line on stderr and an exit status.

use std::fmt;
use std::io;
use std::path::Path;

use blocklog::Error;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: a recovery mode refused a log (outcome `error`).
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: bad usage, or a file that cannot be read or written.
pub const EXIT_USAGE: u8 = 2;

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

/// The exit status for a read that ended in `error`: 2 when the file could
/// not be read, 1 when the mode refused it.
pub fn exit_status_for(error: &Error) -> u8 {
    match error {
        Error::Io { .. } => EXIT_USAGE,
        _ => EXIT_REFUSED,
    }
}
