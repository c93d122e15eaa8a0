//! The recovery table: what each situation means under each mode.
//!
//! [`decide`] is the only place that turns a situation into an action;
//! `docs/recovery.md` documents exactly this function, row by row.

use std::fmt;
use std::str::FromStr;

use crate::report::Position;

/// How the reader treats damage. Names follow RocksDB's `WALRecoveryMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecoveryMode {
    /// Drop damage at the tail (a crash mid-write); refuse damage in the interior.
    #[default]
    TolerateTail,
    /// Refuse any damage.
    Absolute,
    /// Stop at the first damage and return everything before it.
    PointInTime,
    /// Drop every damaged region, resync, and keep going.
    SkipCorrupt,
}

impl RecoveryMode {
    /// The four modes.
    pub const ALL: [RecoveryMode; 4] = [
        RecoveryMode::TolerateTail,
        RecoveryMode::Absolute,
        RecoveryMode::PointInTime,
        RecoveryMode::SkipCorrupt,
    ];

    /// The kebab-case name used by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryMode::TolerateTail => "tolerate-tail",
            RecoveryMode::Absolute => "absolute",
            RecoveryMode::PointInTime => "point-in-time",
            RecoveryMode::SkipCorrupt => "skip-corrupt",
        }
    }
}

impl fmt::Display for RecoveryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error parsing a [`RecoveryMode`] or [`Resync`] name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct ParseNameError(pub String);

impl FromStr for RecoveryMode {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecoveryMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ParseNameError(s.to_string()))
    }
}

/// Where reading resumes after damage that breaks framing (bad checksum,
/// bad length, zeroes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Resync {
    /// Drop the rest of the damaged block and resume at the next block
    /// boundary, as LevelDB and RocksDB do.
    #[default]
    Block,
    /// Salvage: search the rest of the damaged block byte by byte for the
    /// next header with a valid checksum and resume there.
    Scan,
}

impl Resync {
    /// `"block"` or `"scan"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resync::Block => "block",
            Resync::Scan => "scan",
        }
    }
}

impl FromStr for Resync {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "block" => Ok(Resync::Block),
            "scan" => Ok(Resync::Scan),
            _ => Err(ParseNameError(s.to_string())),
        }
    }
}

/// What the reader has found, before any decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Situation {
    /// The log ends cleanly (at a record boundary, in a block trailer).
    CleanEnd,
    /// Zero bytes from here to the end of the log.
    ZeroFilledTail,
    /// In a recyclable log, the previous use's bytes after the last current record.
    PreviousUse,
    /// A checksummed record of an unknown type with the ignorable bit.
    IgnorableRecord,
    /// A damaged region at the given position.
    Damage(Position),
    /// The underlying reader failed.
    IoError,
}

/// What the reader does about a situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Nothing is lost: go on (or end normally).
    Accept,
    /// Report the region as dropped and go on after it.
    Drop,
    /// Report the region and end the read successfully; nothing after it is returned.
    Stop,
    /// Return an error (after every record before the region).
    Fail,
}

/// The recovery table. See `docs/recovery.md`.
pub const fn decide(mode: RecoveryMode, situation: Situation) -> Action {
    use Action::*;
    use Position::*;
    use RecoveryMode::*;
    use Situation::*;
    match (situation, mode) {
        (CleanEnd | ZeroFilledTail | PreviousUse | IgnorableRecord, _) => Accept,
        (IoError, _) => Fail,
        (Damage(Tail), TolerateTail | SkipCorrupt) => Drop,
        (Damage(Tail), PointInTime) => Stop,
        (Damage(Tail), Absolute) => Fail,
        (Damage(Interior), TolerateTail | Absolute) => Fail,
        (Damage(Interior), PointInTime) => Stop,
        (Damage(Interior), SkipCorrupt) => Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        for m in RecoveryMode::ALL {
            assert_eq!(m.as_str().parse::<RecoveryMode>().unwrap(), m);
        }
        assert!("tolerate_tail".parse::<RecoveryMode>().is_err());
        assert_eq!("scan".parse::<Resync>().unwrap(), Resync::Scan);
    }

    #[test]
    fn benign_situations_are_accepted_in_every_mode() {
        for m in RecoveryMode::ALL {
            for s in [
                Situation::CleanEnd,
                Situation::ZeroFilledTail,
                Situation::PreviousUse,
                Situation::IgnorableRecord,
            ] {
                assert_eq!(decide(m, s), Action::Accept);
            }
            assert_eq!(decide(m, Situation::IoError), Action::Fail);
        }
    }
}
