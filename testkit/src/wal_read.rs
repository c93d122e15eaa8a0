//! Reading a WAL directory: the one WAL read loop of the tree.
//!
//! [`read_wal`] streams a [`WalReader`]'s events through a callback as
//! [`WalItem`]s, the units the `blocklog` command prints (`dump --json DIR`
//! lines, `verify DIR` summaries, `compare DIR` rows): batches, dropped
//! ranges, sequence gaps and missing files. It adds no ruling of its own:
//! the reader decides (`docs/wal.md`); this loop only says, in one place,
//! how its events read as those units:
//!
//! - every discontinuity of the sequence is one [`WalItem::Gap`], above
//!   (`found_seq > expected_seq`: a [`WalEvent::Gap`]) or below (a batch
//!   dropped for [`DropReason::SequenceRegression`]: the gap comes first,
//!   then the drop);
//! - a gap is shown whatever the mode made of it: reported (skip-corrupt),
//!   where point-in-time recovery stopped, or refused (then it is also the
//!   read's error);
//! - a dropped range is shown when the mode dropped it (or stopped at it),
//!   never when it refused it (as for one file: the error says it);
//! - missing files (W5, blocklog's directories only) are their own item,
//!   followed by the gap they leave when the next file's predecessor
//!   record says what they held.

use blocklog::wal::{
    DropReason, Dropped, Flavour, GapCause, Problem, Recovery, WalBatch, WalEvent, WalReader,
};
use blocklog::{Error, Outcome};

/// A discontinuity of the sequence: the batch (or marker) at `offset` of
/// file `file` starts at `found_seq`, not at `expected_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqGap {
    /// The file's number.
    pub file: u64,
    /// Offset of what revealed it.
    pub offset: u64,
    /// The sequence number expected next.
    pub expected_seq: u64,
    /// The one found (below `expected_seq` for a regression).
    pub found_seq: u64,
}

/// One unit of a WAL directory's read, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalItem {
    /// A batch returned.
    Batch(WalBatch),
    /// A range the mode dropped (or stopped at).
    Dropped(Dropped),
    /// A discontinuity of the sequence.
    Gap(SeqGap),
    /// Files `first..=last` are missing before file `file`.
    MissingFiles {
        /// The file after the missing ones.
        file: u64,
        /// The first missing number.
        first: u64,
        /// The last missing number.
        last: u64,
    },
}

/// How a whole WAL read ended.
#[derive(Debug)]
pub struct WalEnd {
    /// The reader's report.
    pub report: Recovery,
    /// The directory's WAL files, in reading order.
    pub files: Vec<u64>,
    /// The flavour they were read as.
    pub flavour: Flavour,
    /// The error that ended the read, if one did.
    pub error: Option<Error>,
    /// Batches returned.
    pub records: u64,
    /// Bytes in the dropped items.
    pub dropped_bytes: u64,
    /// Gap items.
    pub gaps: u64,
    /// Sequence number of the last entry returned.
    pub last_seq: Option<u64>,
}

impl WalEnd {
    /// The outcome, as for one file: `error` when the read ended with an
    /// error, else the report's ([`Recovery::outcome`]).
    pub fn outcome(&self) -> Outcome {
        match self.error {
            Some(_) => Outcome::Error,
            None => self.report.outcome(),
        }
    }
}

/// The items a problem shows as when it is not a dropped range the mode
/// dropped: its gap, or the missing files (a refused or stopped-at damage
/// shows nothing more: the error, or its dropped item before the stop).
fn problem_items(p: &Problem) -> Option<WalItem> {
    match p {
        Problem::Gap(g) => Some(match g.cause {
            GapCause::MissingFiles { first, last } => WalItem::MissingFiles {
                file: g.file,
                first,
                last,
            },
            _ => WalItem::Gap(SeqGap {
                file: g.file,
                offset: g.offset,
                expected_seq: g.expected_seq,
                found_seq: g.found_seq,
            }),
        }),
        Problem::Dropped(d) => regression_gap(d).map(WalItem::Gap),
    }
}

/// The gap a batch dropped for its sequence regression shows.
fn regression_gap(d: &Dropped) -> Option<SeqGap> {
    match d.reason {
        DropReason::SequenceRegression { expected, found } => Some(SeqGap {
            file: d.file,
            offset: d.range.start,
            expected_seq: expected,
            found_seq: found,
        }),
        _ => None,
    }
}

/// Every event of `reader`, to the end of the directory or an error, and
/// the error the read ended with, if any (the raw events, for the WAL
/// tests; [`read_wal`] gives them as [`WalItem`]s).
pub fn events(reader: &mut WalReader) -> (Vec<WalEvent>, Option<Error>) {
    let mut events = Vec::new();
    loop {
        match reader.next_event() {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// The `(expected_seq, found_seq)` of every [`WalEvent::Gap`] in `events`.
pub fn gaps(events: &[WalEvent]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            WalEvent::Gap(g) => Some((g.expected_seq, g.found_seq)),
            _ => None,
        })
        .collect()
}

/// Reads every event of `reader`, handing each [`WalItem`] to `on_item`,
/// to the end of the directory or an error. An error of `on_item` ends the
/// read and is returned.
pub fn read_wal<E>(
    mut reader: WalReader,
    mut on_item: impl FnMut(WalItem) -> Result<(), E>,
) -> Result<WalEnd, E> {
    let (mut records, mut dropped_bytes, mut gaps, mut last_seq) = (0, 0, 0, None);
    let mut emit = |item: WalItem| {
        match &item {
            WalItem::Batch(b) => {
                records += 1;
                if b.count > 0 {
                    last_seq = Some(b.last_seq());
                }
            }
            WalItem::Dropped(d) => dropped_bytes += d.len(),
            WalItem::Gap(_) => gaps += 1,
            WalItem::MissingFiles { .. } => {}
        }
        on_item(item)
    };
    let error = loop {
        match reader.next_event() {
            Ok(Some(WalEvent::Batch(b))) => emit(WalItem::Batch(b))?,
            Ok(Some(WalEvent::Dropped(d))) => {
                if let Some(g) = regression_gap(&d) {
                    emit(WalItem::Gap(g))?;
                }
                emit(WalItem::Dropped(d))?;
            }
            Ok(Some(WalEvent::Gap(g))) => {
                if let Some(item) = problem_items(&Problem::Gap(g)) {
                    emit(item)?;
                }
            }
            // A stop at damage follows its dropped item (a regression's
            // included); a stop at a gap has shown nothing yet.
            Ok(Some(WalEvent::Stopped(p @ Problem::Gap(_)))) => {
                if let Some(item) = problem_items(&p) {
                    emit(item)?;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(e) => {
                if let Error::Wal { problem, .. } = &e {
                    if let Some(item) = problem_items(problem) {
                        emit(item)?;
                    }
                }
                break Some(e);
            }
        }
    };
    let files = reader.files().to_vec();
    let flavour = reader.flavour();
    Ok(WalEnd {
        report: reader.into_report(),
        files,
        flavour,
        error,
        records,
        dropped_bytes,
        gaps,
        last_seq,
    })
}
