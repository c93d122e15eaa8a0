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

use std::collections::HashSet;

use blocklog::{Error, Event, Outcome, ReaderOptions, RecoveryMode, Resync};

use crate::read::{read_all, ReadEnd};
use crate::scenarios::Scenario;

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

/// One scenario (or file) read in one mode, judged.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario name or file path.
    pub source: String,
    /// The mode.
    pub mode: ModeSpec,
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
        mode: m,
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

/// Judges the reads of one file in several modes: "intact" is the union of
/// the records any mode returned.
pub fn judge_file(source: &str, reads: Vec<ModeRead>) -> Vec<Row> {
    let intact: HashSet<RecordKey> = reads.iter().flat_map(|r| r.keys.iter().copied()).collect();
    reads
        .into_iter()
        .map(|r| {
            let got: HashSet<RecordKey> = r.keys.iter().copied().collect();
            Row {
                source: source.to_string(),
                mode: r.mode,
                written: None,
                intact: intact.len() as u64,
                recovered: r.keys.len() as u64,
                lost: intact.difference(&got).count() as u64,
                foreign: None,
                damage_present: None,
                damage_reported: r.dropped || r.end.error.is_some(),
                outcome: r.end.summary.outcome(),
                dropped_bytes: r.end.summary.dropped_bytes,
                error: r.end.error.as_ref().map(Error::to_string),
            }
        })
        .collect()
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
        for r in &rows {
            assert_eq!(r.foreign, Some(0), "{} {}", r.source, r.mode.label());
            assert!(r.intact <= r.written.unwrap_or(0), "{}", r.source);
            assert_eq!(
                r.lost + r.recovered,
                r.intact,
                "{} {}",
                r.source,
                r.mode.label()
            );
        }
        let clean = &rows[0];
        assert_eq!(clean.source, "clean");
        assert_eq!((clean.lost, clean.damage_reported), (0, false));
        assert_eq!(clean.outcome, Outcome::Clean);
        // Absolute refuses every damaged scenario, and says so.
        for r in rows.iter().filter(|r| r.mode == MODES[1]) {
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
        assert_eq!((rows[0].intact, rows[0].lost, rows[0].recovered), (2, 1, 1));
        assert_eq!((rows[1].intact, rows[1].lost, rows[1].recovered), (2, 0, 2));
        assert!(rows[0].damage_reported && !rows[1].damage_reported);
    }
}
