//! The comparison harness's judge: each recovery mode's read of a log,
//! scored against what was written and what is intact on disk.
//!
//! For a built-in [`Scenario`] every count is exact, because the scenario
//! knows by construction which records it wrote and which the damage left
//! intact: **written**, **intact**, **recovered** (records the mode
//! returned), **lost** (intact records it did not return), **foreign**
//! (returned records never written to this log: must be 0) and
//! **reported** (whether the mode reported damage, as a dropped region or
//! an error). For a user's file what was written is unknown: intact is the
//! union of the records any mode returned (each passed its checksum), and
//! written and foreign are not known.
//!
//! A WAL directory (the [`WalScenario`], or a user's directory) is read by
//! [`WalReader`] in each mode, and, for the scenario, also by the
//! [`Column::OldStyle`] reader; its rows also say which sequence numbers
//! came back and whether the holes among them were reported ([`SeqRead`]).

use std::collections::HashSet;
use std::path::Path;

use blocklog::wal::{batch, dir, Flavour, WalOptions, WalReadOptions, WalReader};
use blocklog::{Error, Event, Outcome, ReaderOptions, RecoveryMode, Resync};

use crate::encoding::fnv1a64;
use crate::read::{read_all, ReadEnd};
use crate::scenarios::{Scenario, WalScenario};
use crate::wal_read::{read_wal, WalItem};

/// A recovery mode with its resync strategy: a column of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSpec {
    /// The mode.
    pub mode: RecoveryMode,
    /// The resync strategy.
    pub resync: Resync,
}

impl ModeSpec {
    /// `tolerate-tail`, ..., `skip-corrupt`, `skip-corrupt+scan`.
    pub fn label(&self) -> String {
        match self.resync {
            Resync::Block => self.mode.as_str().to_string(),
            Resync::Scan => format!("{}+scan", self.mode.as_str()),
        }
    }

    /// Reader options for this mode and resync strategy.
    pub fn options(&self) -> ReaderOptions {
        ReaderOptions::new().mode(self.mode).resync(self.resync)
    }
}

/// The compared modes: the four modes with block resync, and skip-corrupt
/// with scan resync.
pub const MODES: [ModeSpec; 5] = [
    ModeSpec {
        mode: RecoveryMode::TolerateTail,
        resync: Resync::Block,
    },
    ModeSpec {
        mode: RecoveryMode::Absolute,
        resync: Resync::Block,
    },
    ModeSpec {
        mode: RecoveryMode::PointInTime,
        resync: Resync::Block,
    },
    ModeSpec {
        mode: RecoveryMode::SkipCorrupt,
        resync: Resync::Block,
    },
    ModeSpec {
        mode: RecoveryMode::SkipCorrupt,
        resync: Resync::Scan,
    },
];

/// Who read, in a row: blocklog's reader in a mode, or (WAL directories)
/// the old-style reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// blocklog's reader ([`WalReader`] for a directory) in a mode.
    Mode(ModeSpec),
    /// The reader the seeds describe (shared/seeds): each file read alone
    /// in numeric order until its first damage, which silently ends that
    /// file (the next one is read); no sequence check. It reports nothing.
    OldStyle,
}

impl Column {
    /// The mode's label, or `old-style`.
    pub fn label(&self) -> String {
        match self {
            Column::Mode(m) => m.label(),
            Column::OldStyle => "old-style".to_string(),
        }
    }
}

/// The sequence numbers a read of a WAL directory returned, and the gaps
/// it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqRead {
    /// The runs of consecutive sequence numbers returned, `(first, last)`.
    pub ranges: Vec<(u64, u64)>,
    /// Gaps the reader reported (or stopped at, or refused).
    pub gaps_reported: u64,
}

impl SeqRead {
    /// The runs of `batches` (`(seq, count)`, in order): a batch starting
    /// just after the previous one's last sequence continues its run.
    pub fn of(batches: &[(u64, u32)], gaps_reported: u64) -> SeqRead {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for &(seq, count) in batches.iter().filter(|b| b.1 > 0) {
            let last = seq + u64::from(count) - 1;
            match ranges.last_mut() {
                Some(r) if r.1.checked_add(1) == Some(seq) => r.1 = last,
                _ => ranges.push((seq, last)),
            }
        }
        SeqRead {
            ranges,
            gaps_reported,
        }
    }

    /// Holes between the runs.
    pub fn holes(&self) -> usize {
        self.ranges.len().saturating_sub(1)
    }

    /// `1-74, 101-200` (`none` when nothing came back).
    pub fn ranges_text(&self) -> String {
        if self.ranges.is_empty() {
            return "none".to_string();
        }
        let runs: Vec<String> = self
            .ranges
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        runs.join(", ")
    }
}

/// One scenario (or file, or directory) read in one mode, judged.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario name or file path.
    pub source: String,
    /// Who read.
    pub column: Column,
    /// Records written (scenarios only).
    pub written: Option<u64>,
    /// Records intact on disk (for files: the records any mode returned).
    pub intact: u64,
    /// Records the mode returned.
    pub recovered: u64,
    /// Intact records the mode did not return.
    pub lost: u64,
    /// Returned records never written to this log (scenarios only; must be 0).
    pub foreign: Option<u64>,
    /// Whether the scenario holds damage to report (scenarios only).
    pub damage_present: Option<bool>,
    /// Whether the mode reported damage (a dropped region or an error).
    pub damage_reported: bool,
    /// The outcome.
    pub outcome: Outcome,
    /// Bytes reported dropped.
    pub dropped_bytes: u64,
    /// The error that ended the read, if any.
    pub error: Option<String>,
    /// For a WAL directory: the sequence numbers returned, the gaps reported.
    pub seq: Option<SeqRead>,
}

/// Reads a scenario in one mode and judges the result against what was
/// written and what is intact.
pub fn judge_scenario(s: &Scenario, m: ModeSpec) -> Row {
    let mut opts = m.options();
    if let Some(n) = s.log_number {
        opts = opts.log_number(n);
    }
    let mut reader = opts.build(&s.bytes[..]);
    let mut returned = Vec::new();
    let mut reported = false;
    let end = read_all(&mut reader, |event, _| {
        match event {
            Event::Record(r) => returned.push((r.offset, r.payload)),
            Event::Dropped(_) => reported = true,
            _ => {}
        }
        Ok::<(), std::convert::Infallible>(())
    });
    let end = match end {
        Ok(end) => end,
        Err(never) => match never {},
    };
    let got: HashSet<(u64, &[u8])> = returned.iter().map(|(o, p)| (*o, &p[..])).collect();
    let written: HashSet<(u64, &[u8])> = s
        .records
        .iter()
        .map(|r| (r.offset, &r.payload[..]))
        .collect();
    let lost = s
        .records
        .iter()
        .filter(|r| r.intact && !got.contains(&(r.offset, &r.payload[..])))
        .count() as u64;
    let foreign = returned
        .iter()
        .filter(|(o, p)| !written.contains(&(*o, &p[..])))
        .count() as u64;
    Row {
        source: s.name.to_string(),
        column: Column::Mode(m),
        written: Some(s.written() as u64),
        intact: s.intact() as u64,
        recovered: returned.len() as u64,
        lost,
        foreign: Some(foreign),
        damage_present: Some(s.damaged),
        damage_reported: reported || end.error.is_some(),
        outcome: end.summary.outcome(),
        dropped_bytes: end.summary.dropped_bytes,
        error: end.error.map(|e| e.to_string()),
        seq: None,
    }
}

/// Every scenario in every mode of [`MODES`].
pub fn scenario_rows(scenarios: &[Scenario]) -> Vec<Row> {
    scenarios
        .iter()
        .flat_map(|s| MODES.iter().map(move |&m| judge_scenario(s, m)))
        .collect()
}

/// A record's identity in a user's file: offset, length and CRC32C.
pub type RecordKey = (u64, usize, u32);

/// One mode's read of a user's file, as the judge needs it.
#[derive(Debug)]
pub struct ModeRead {
    /// The mode.
    pub mode: ModeSpec,
    /// The records it returned, in order.
    pub keys: Vec<RecordKey>,
    /// Whether it dropped a region.
    pub dropped: bool,
    /// How the read ended.
    pub end: ReadEnd,
}

/// How a read ended, as a row shows it.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Whether damage (or a gap) was reported: a dropped region, a gap, an
    /// error.
    pub reported: bool,
    /// The outcome.
    pub outcome: Outcome,
    /// Bytes reported dropped.
    pub dropped_bytes: u64,
    /// The error that ended the read.
    pub error: Option<String>,
    /// For a WAL directory: the sequence numbers returned.
    pub seq: Option<SeqRead>,
}

/// Judges reads of one input (a file, a directory) in several columns,
/// each given as the identities of what it returned: "intact" is the union
/// of what any column returned.
fn judge_union<K: Copy + Eq + std::hash::Hash>(
    source: &str,
    reads: Vec<(Column, Vec<K>, Verdict)>,
) -> Vec<Row> {
    let intact: HashSet<K> = reads.iter().flat_map(|r| r.1.iter().copied()).collect();
    reads
        .into_iter()
        .map(|(column, keys, v)| {
            let got: HashSet<K> = keys.iter().copied().collect();
            Row {
                source: source.to_string(),
                column,
                written: None,
                intact: intact.len() as u64,
                recovered: keys.len() as u64,
                lost: intact.difference(&got).count() as u64,
                foreign: None,
                damage_present: None,
                damage_reported: v.reported,
                outcome: v.outcome,
                dropped_bytes: v.dropped_bytes,
                error: v.error,
                seq: v.seq,
            }
        })
        .collect()
}

/// Judges the reads of one file in several modes: "intact" is the union of
/// the records any mode returned.
pub fn judge_file(source: &str, reads: Vec<ModeRead>) -> Vec<Row> {
    let reads = reads
        .into_iter()
        .map(|r| {
            let v = Verdict {
                reported: r.dropped || r.end.error.is_some(),
                outcome: r.end.summary.outcome(),
                dropped_bytes: r.end.summary.dropped_bytes,
                error: r.end.error.as_ref().map(Error::to_string),
                seq: None,
            };
            (Column::Mode(r.mode), r.keys, v)
        })
        .collect();
    judge_union(source, reads)
}

/// A batch's identity in a WAL directory: file, offset, length, FNV-1a.
pub type BatchKey = (u64, u64, usize, u64);

fn batch_key(file: u64, offset: u64, payload: &[u8]) -> BatchKey {
    (file, offset, payload.len(), fnv1a64(payload))
}

/// One read of a WAL directory: the identities of the batches returned,
/// and the verdict. An I/O error (or a directory that cannot be listed) is
/// an `Err`: nothing to judge.
pub fn read_wal_dir(dir: &Path, column: Column) -> Result<(Vec<BatchKey>, Verdict), Error> {
    let m = match column {
        Column::Mode(m) => m,
        Column::OldStyle => return read_old_style(dir),
    };
    let read = WalReadOptions::new()
        .flavour(Flavour::Detect)
        .resync(m.resync);
    let reader = WalReader::open_with(dir, &WalOptions::new().mode(m.mode), read)?;
    let mut keys = Vec::new();
    let mut seqs = Vec::new();
    let mut reported = false;
    let end = read_wal(reader, |item| {
        match item {
            WalItem::Batch(b) => {
                keys.push(batch_key(b.file, b.offset, &b.payload));
                seqs.push((b.seq, b.count));
            }
            _ => reported = true,
        }
        Ok::<(), std::convert::Infallible>(())
    });
    let end = match end {
        Ok(end) => end,
        Err(never) => match never {},
    };
    if let Some(e @ Error::Io { .. }) = end.error {
        return Err(e);
    }
    let outcome = end.outcome();
    Ok((
        keys,
        Verdict {
            reported: reported || end.error.is_some(),
            outcome,
            dropped_bytes: end.dropped_bytes,
            error: end.error.as_ref().map(Error::to_string),
            seq: Some(SeqRead::of(&seqs, end.gaps)),
        },
    ))
}

/// [`Column::OldStyle`]: each file alone, to its first damage (silently),
/// records taken for batches by their 12-byte header, nothing checked
/// across records or files, nothing reported.
fn read_old_style(dir: &Path) -> Result<(Vec<BatchKey>, Verdict), Error> {
    let mut keys = Vec::new();
    let mut seqs = Vec::new();
    for number in dir::list(dir)? {
        let bytes = std::fs::read(dir::path_of(dir, number)).map_err(|e| Error::Io {
            offset: 0,
            source: std::sync::Arc::new(e),
        })?;
        let mut reader = ReaderOptions::new()
            .mode(RecoveryMode::PointInTime)
            .build(&bytes[..]);
        // Its first damage ends the file: the read stops (an error or a
        // point-in-time stop alike), and nothing is said.
        while let Ok(Some(event)) = reader.next_event() {
            match event {
                Event::Record(r) => {
                    if let Ok(h) = batch::header(&r.payload, r.offset) {
                        keys.push(batch_key(number, r.offset, &r.payload));
                        seqs.push((h.seq, h.count));
                    }
                }
                Event::Dropped(_) | Event::Stopped(_) => break,
                _ => {}
            }
        }
    }
    Ok((
        keys,
        Verdict {
            reported: false,
            outcome: Outcome::Clean,
            dropped_bytes: 0,
            error: None,
            seq: Some(SeqRead::of(&seqs, 0)),
        },
    ))
}

/// The columns a WAL directory is read in: the modes of [`MODES`], then
/// (`old_style`) the old-style reader.
pub fn wal_columns(old_style: bool) -> Vec<Column> {
    let mut columns: Vec<Column> = MODES.iter().copied().map(Column::Mode).collect();
    if old_style {
        columns.push(Column::OldStyle);
    }
    columns
}

/// Judges reads of a user's WAL directory: "intact" is the union of the
/// batches any column returned.
pub fn judge_wal_dir(source: &str, reads: Vec<(Column, Vec<BatchKey>, Verdict)>) -> Vec<Row> {
    judge_union(source, reads)
}

/// Reads the WAL scenario, written into `dir`, in every column (the modes,
/// then the old-style reader) and judges each read against what was
/// written and what is intact.
pub fn wal_scenario_rows(s: &WalScenario, dir: &Path) -> Result<Vec<Row>, Error> {
    let written: HashSet<BatchKey> = s
        .batches
        .iter()
        .map(|b| batch_key(b.file, b.offset, &b.payload))
        .collect();
    let intact: Vec<BatchKey> = s
        .batches
        .iter()
        .filter(|b| b.intact)
        .map(|b| batch_key(b.file, b.offset, &b.payload))
        .collect();
    let mut rows = Vec::new();
    for column in wal_columns(true) {
        let (keys, v) = read_wal_dir(dir, column)?;
        let got: HashSet<BatchKey> = keys.iter().copied().collect();
        rows.push(Row {
            source: s.name.to_string(),
            column,
            written: Some(s.written() as u64),
            intact: intact.len() as u64,
            recovered: keys.len() as u64,
            lost: intact.iter().filter(|k| !got.contains(k)).count() as u64,
            foreign: Some(keys.iter().filter(|k| !written.contains(k)).count() as u64),
            damage_present: Some(s.damaged),
            damage_reported: v.reported,
            outcome: v.outcome,
            dropped_bytes: v.dropped_bytes,
            error: v.error,
            seq: v.seq,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{all, DEFAULT_SEED};

    #[test]
    fn the_judge_counts_what_it_claims() {
        let scenarios = all(DEFAULT_SEED);
        let rows = scenario_rows(&scenarios);
        assert_eq!(rows.len(), scenarios.len() * MODES.len());
        assert!(rows.iter().all(|r| matches!(r.column, Column::Mode(_))));
        for r in &rows {
            assert_eq!(r.foreign, Some(0), "{} {}", r.source, r.column.label());
            assert!(r.intact <= r.written.unwrap_or(0), "{}", r.source);
            assert_eq!(
                r.lost + r.recovered,
                r.intact,
                "{} {}",
                r.source,
                r.column.label()
            );
        }
        let clean = &rows[0];
        assert_eq!(clean.source, "clean");
        assert_eq!((clean.lost, clean.damage_reported), (0, false));
        assert_eq!(clean.outcome, Outcome::Clean);
        // Absolute refuses every damaged scenario, and says so.
        for r in rows.iter().filter(|r| r.column == Column::Mode(MODES[1])) {
            let damaged = r.damage_present == Some(true);
            assert_eq!(r.damage_reported, damaged, "{}", r.source);
            assert_eq!(r.error.is_some(), damaged, "{}", r.source);
        }
    }

    #[test]
    fn a_file_judge_takes_the_union_as_intact() {
        let end = |records| ReadEnd {
            summary: blocklog::Summary {
                records,
                ..Default::default()
            },
            error: None,
        };
        let reads = vec![
            ModeRead {
                mode: MODES[0],
                keys: vec![(0, 1, 1)],
                dropped: true,
                end: end(1),
            },
            ModeRead {
                mode: MODES[3],
                keys: vec![(0, 1, 1), (40, 2, 2)],
                dropped: false,
                end: end(2),
            },
        ];
        let rows = judge_file("f.log", reads);
        assert!(rows.iter().all(|r| r.seq.is_none()));
        assert_eq!((rows[0].intact, rows[0].lost, rows[0].recovered), (2, 1, 1));
        assert_eq!((rows[1].intact, rows[1].lost, rows[1].recovered), (2, 0, 2));
        assert!(rows[0].damage_reported && !rows[1].damage_reported);
    }
}
