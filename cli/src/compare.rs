//! `blocklog compare`: the recovery modes side by side, on built-in
//! corruption scenarios or on the user's files and WAL directories.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use blocklog::{Event, Outcome};
use blocklog_testkit::judge::{
    judge_file, judge_wal_dir, read_wal_dir, scenario_rows, wal_columns, wal_scenario_rows, Column,
    ModeRead, ModeSpec, Row, MODES,
};
use blocklog_testkit::read::read_all;
use blocklog_testkit::scenarios::{self, Scenario, WalScenario};
use serde_json::Value;

use crate::args::{CompareArgs, Format};
use crate::chart::{self, Group};
use crate::error::{stdout_error, CliError, EXIT_OK, EXIT_USAGE};
use crate::input::{open_input, shown, Settings};
use crate::plot::ImageFormat;
use crate::text::json_object;
use crate::waldir;

/// Reads a user's WAL directory in every mode of [`MODES`] and judges the
/// reads.
fn dir_rows(path: &Path) -> Result<Vec<Row>, CliError> {
    waldir::has_wal_files(path)?;
    let mut reads = Vec::new();
    for column in wal_columns(false) {
        let (keys, verdict) = read_wal_dir(path, column)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
        reads.push((column, keys, verdict));
    }
    Ok(judge_wal_dir(&path.display().to_string(), reads))
}

/// Reads a user's file in every mode of [`MODES`] and judges the reads
/// (a directory: [`dir_rows`]).
fn file_rows(path: &Path) -> Result<Vec<Row>, CliError> {
    if waldir::is_dir(path) {
        return dir_rows(path);
    }
    // Opened once: every mode reads the same handle (or, for a stream, the
    // same bytes in memory).
    let input = open_input(path)?.rereadable(path)?;
    let mut reads = Vec::new();
    for m in MODES {
        let settings = Settings::new(m.mode, m.resync, None, path);
        let source = input.reader(path, &m.label())?;
        let mut keys = Vec::new();
        let mut dropped = false;
        let end = read_all(&mut settings.reader_options().build(source), |event, _| {
            match event {
                Event::Record(r) => {
                    keys.push((r.offset, r.payload.len(), crc32c::crc32c(&r.payload)))
                }
                Event::Dropped(_) => dropped = true,
                _ => {}
            }
            Ok::<(), CliError>(())
        })?;
        if let Some(e @ blocklog::Error::Io { .. }) = &end.error {
            return Err(CliError::usage(format!("cannot read {}: {e}", shown(path))));
        }
        reads.push(ModeRead {
            mode: m,
            keys,
            dropped,
            end,
        });
    }
    Ok(judge_file(&path.display().to_string(), reads))
}

/// Runs `compare`; returns the exit status.
pub fn run(o: &CompareArgs) -> Result<u8, CliError> {
    if let Some(path) = &o.chart {
        ImageFormat::of(path)?;
    }
    // Files that could not be read: (source, message), each also on stderr.
    let mut unreadable: Vec<(String, String)> = Vec::new();
    let (rows, notes, seed) = if o.files.is_empty() {
        let scenarios = scenarios::all(o.seed);
        let wal = scenarios::wal_scenario(o.seed)
            .map_err(|e| CliError::usage(format!("cannot build the WAL scenario: {e}")))?;
        if let Some(dir) = &o.save_scenarios {
            save(dir, &scenarios, &wal)?;
        }
        let mut notes = scenario_notes(o.seed);
        notes.extend(
            scenarios
                .iter()
                .map(|s| format!("{}: {}.", s.name, s.description)),
        );
        notes.push(format!("{}: {}.", wal.name, wal.description));
        let mut rows = scenario_rows(&scenarios);
        let wal_rows = wal_rows(&wal)?;
        notes.push(sequences_note(&wal_rows));
        rows.extend(wal_rows);
        (rows, notes, Some(o.seed))
    } else {
        if o.save_scenarios.is_some() {
            return Err(CliError::usage(
                "--save-scenarios writes the built-in scenarios; it cannot be used with files",
            ));
        }
        let mut rows = Vec::new();
        for f in &o.files {
            // One unreadable file does not end the comparison of the others.
            match file_rows(f) {
                Ok(r) => rows.extend(r),
                Err(e) => {
                    let _ = writeln!(io::stderr(), "blocklog: {e}");
                    unreadable.push((f.display().to_string(), e.message));
                }
            }
        }
        (rows, file_notes(), None)
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut text = match o.format {
        Format::Table => table(&rows, &notes, false),
        Format::Markdown => table(&rows, &notes, true),
        Format::Json => json(&rows, &notes, seed, &unreadable),
    };
    if o.format != Format::Json {
        for (source, message) in &unreadable {
            text.push_str(if o.format == Format::Markdown {
                "- "
            } else {
                "* "
            });
            text.push_str(&format!("{source}: UNREADABLE: {message}\n"));
        }
    }
    out.write_all(text.as_bytes()).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    if let Some(path) = o.chart.as_ref().filter(|_| !rows.is_empty()) {
        let (title, groups) = chart_groups(&rows, seed.is_some());
        let series: Vec<String> = MODES.iter().map(ModeSpec::label).collect();
        chart::draw(path, &title, &series, &groups)?;
        let _ = writeln!(io::stderr(), "chart written to {}", path.display());
    }
    Ok(if unreadable.is_empty() {
        EXIT_OK
    } else {
        EXIT_USAGE
    })
}

/// The WAL scenario's rows: its files written into a temporary directory,
/// read there in every column.
fn wal_rows(wal: &WalScenario) -> Result<Vec<Row>, CliError> {
    let tmp = tempfile::tempdir()
        .map_err(|e| CliError::usage(format!("cannot create a temporary directory: {e}")))?;
    wal.write_to(tmp.path())
        .map_err(|e| CliError::io(tmp.path(), "write", &e))?;
    wal_scenario_rows(wal, tmp.path())
        .map_err(|e| CliError::usage(format!("cannot read the WAL scenario: {e}")))
}

fn save(dir: &Path, scenarios: &[Scenario], wal: &WalScenario) -> Result<(), CliError> {
    fs::create_dir_all(dir).map_err(|e| CliError::io(dir, "create", &e))?;
    for (i, s) in scenarios.iter().enumerate() {
        let path = dir.join(scenario_file_name(i, s.name, ".log"));
        fs::write(&path, &s.bytes).map_err(|e| CliError::io(&path, "write", &e))?;
    }
    let sub = dir.join(scenario_file_name(scenarios.len(), wal.name, ""));
    fs::create_dir_all(&sub).map_err(|e| CliError::io(&sub, "create", &e))?;
    wal.write_to(&sub)
        .map_err(|e| CliError::io(&sub, "write", &e))
}

/// The name `--save-scenarios` gives scenario `i`: `01-clean.log`, ...,
/// `13-four-files-file-2-damaged` (a directory).
pub fn scenario_file_name(i: usize, name: &str, ext: &str) -> String {
    format!("{:02}-{name}{ext}", i + 1)
}

/// What each column of the WAL scenario returned, as sequence ranges.
fn sequences_note(rows: &[Row]) -> String {
    let parts: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let seq = r.seq.as_ref()?;
            let gaps = match (seq.holes(), seq.gaps_reported) {
                (0, 0) => String::new(),
                (_, 0) => " (hole not reported)".to_string(),
                (_, n) => format!(" ({n} gap{} reported)", if n == 1 { "" } else { "s" }),
            };
            Some(format!("{} {}{gaps}", r.column.label(), seq.ranges_text()))
        })
        .collect();
    format!(
        "{}, the sequence numbers each reader returned: {}.",
        rows.first().map_or("", |r| r.source.as_str()),
        parts.join("; ")
    )
}

fn scenario_notes(seed: u64) -> Vec<String> {
    vec![
        "written: records written to the log; intact: those the damage left untouched on disk \
         (known by construction); recovered: records the mode returned; lost: intact records \
         not returned; foreign: returned records never written to this log (must be 0); \
         reported: whether the mode reported damage (a dropped region or an error), \
         'MISSED' when damage is present and was not reported."
            .to_string(),
        format!(
            "Scenarios are built from seeded random records (--seed {seed}); \
             --save-scenarios DIR writes their files."
        ),
        "four-files-file-2-damaged is a WAL directory written by blocklog::wal::Wal, read by \
         its WalReader in each mode (batches for records); old-style reads each file alone to \
         its first damage, silently, without sequence checks (the reader of shared/seeds); \
         seq holes: whether the holes in the sequence numbers returned were reported as gaps."
            .to_string(),
    ]
}

fn file_notes() -> Vec<String> {
    vec![
        "intact: records any mode returned (each passed its checksum); what was written is \
         unknown for your files, so records destroyed by damage are not counted; lost: intact \
         records the mode did not return; reported: whether the mode reported damage."
            .to_string(),
    ]
}

fn holes_cell(r: &Row) -> &'static str {
    match &r.seq {
        None => "-",
        Some(s) if s.holes() == 0 => "none",
        Some(s) if s.gaps_reported > 0 => "reported",
        Some(_) => "MISSED",
    }
}

fn reported_cell(r: &Row) -> &'static str {
    match (r.damage_reported, r.damage_present) {
        (true, _) => "yes",
        (false, Some(true)) => "MISSED",
        (false, _) => "no",
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn table(rows: &[Row], notes: &[String], markdown: bool) -> String {
    let first = if rows.iter().any(|r| r.written.is_some()) {
        "scenario"
    } else {
        "file"
    };
    let headers = [
        first,
        "mode",
        "written",
        "intact",
        "recovered",
        "lost",
        "foreign",
        "reported",
        "seq holes",
        "outcome",
    ];
    let numeric = [
        false, false, true, true, true, true, true, false, false, false,
    ];
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut previous = None;
    for r in rows {
        let show = markdown || previous != Some(&r.source);
        previous = Some(&r.source);
        cells.push(vec![
            if show {
                r.source.clone()
            } else {
                String::new()
            },
            r.column.label(),
            opt(r.written),
            r.intact.to_string(),
            r.recovered.to_string(),
            r.lost.to_string(),
            opt(r.foreign),
            reported_cell(r).to_string(),
            holes_cell(r).to_string(),
            r.outcome.as_str().to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].len())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let cell = |c: usize, s: &str| {
        if numeric[c] {
            format!("{s:>w$}", w = widths[c])
        } else {
            format!("{s:<w$}", w = widths[c])
        }
    };
    let mut s = String::new();
    let line = |fields: Vec<String>| {
        if markdown {
            format!("| {} |\n", fields.join(" | "))
        } else {
            format!("{}\n", fields.join("  ").trim_end())
        }
    };
    s.push_str(&line(
        headers
            .iter()
            .enumerate()
            .map(|(c, h)| cell(c, h))
            .collect(),
    ));
    if markdown {
        let rule: Vec<String> = widths
            .iter()
            .zip(numeric)
            .map(|(w, n)| {
                let dashes = "-".repeat((*w).max(3));
                if n {
                    format!("{}:", &dashes[1..])
                } else {
                    dashes
                }
            })
            .collect();
        s.push_str(&line(rule));
    } else {
        let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        s.push_str(&"-".repeat(total));
        s.push('\n');
    }
    let mut previous = None;
    for (r, row) in rows.iter().zip(&cells) {
        if !markdown && previous.is_some() && previous != Some(&r.source) {
            s.push('\n');
        }
        previous = Some(&r.source);
        s.push_str(&line(
            row.iter().enumerate().map(|(c, v)| cell(c, v)).collect(),
        ));
    }
    s.push('\n');
    for n in notes {
        s.push_str(if markdown { "- " } else { "* " });
        s.push_str(n);
        s.push('\n');
    }
    s
}

fn row_json(r: &Row) -> String {
    let opt = |v: Option<u64>| v.map_or(Value::Null, Value::from);
    let (mode, resync) = match r.column {
        Column::Mode(m) => (m.mode.as_str(), Value::from(m.resync.as_str())),
        Column::OldStyle => ("old-style", Value::Null),
    };
    let sequences = r.seq.as_ref().map_or(Value::Null, |s| {
        Value::from(
            s.ranges
                .iter()
                .map(|&(a, b)| Value::from(vec![a, b]))
                .collect::<Vec<_>>(),
        )
    });
    json_object(&[
        ("source", r.source.clone().into()),
        ("mode", mode.into()),
        ("resync", resync),
        ("written", opt(r.written)),
        ("intact", r.intact.into()),
        ("recovered", r.recovered.into()),
        ("lost", r.lost.into()),
        ("foreign", opt(r.foreign)),
        (
            "damage_present",
            r.damage_present.map_or(Value::Null, Value::from),
        ),
        ("damage_reported", r.damage_reported.into()),
        ("outcome", r.outcome.as_str().into()),
        ("dropped_bytes", r.dropped_bytes.into()),
        ("error", r.error.clone().map_or(Value::Null, Value::from)),
        ("sequences", sequences),
        (
            "gaps_reported",
            opt(r.seq.as_ref().map(|s| s.gaps_reported)),
        ),
    ])
}

/// The JSON document; `unreadable` (files that could not be read) adds
/// the key `unreadable` after `notes`, only when there are some.
fn json(
    rows: &[Row],
    notes: &[String],
    seed: Option<u64>,
    unreadable: &[(String, String)],
) -> String {
    let rows: Vec<String> = rows.iter().map(row_json).collect();
    let notes: Vec<String> = notes
        .iter()
        .map(|n| Value::from(n.as_str()).to_string())
        .collect();
    let unreadable = if unreadable.is_empty() {
        String::new()
    } else {
        let files: Vec<String> = unreadable
            .iter()
            .map(|(source, message)| {
                json_object(&[
                    ("source", source.as_str().into()),
                    ("error", message.as_str().into()),
                ])
            })
            .collect();
        format!(",\"unreadable\":[{}]", files.join(","))
    };
    format!(
        "{{\"kind\":\"compare\",\"seed\":{},\"rows\":[{}],\"notes\":[{}]{unreadable}}}\n",
        seed.map_or(Value::Null, Value::from),
        rows.join(","),
        notes.join(",")
    )
}

fn chart_groups(rows: &[Row], scenarios: bool) -> (String, Vec<Group>) {
    let mut groups: Vec<Group> = Vec::new();
    // The chart's series are the modes: the old-style reader is in the table.
    for r in rows.iter().filter(|r| matches!(r.column, Column::Mode(_))) {
        match groups.last_mut() {
            Some(g) if g.label == r.source => {
                g.values.push(r.recovered);
                g.refused.push(r.outcome == Outcome::Error);
            }
            _ => groups.push(Group {
                label: r.source.clone(),
                intact: Some(r.intact),
                values: vec![r.recovered],
                refused: vec![r.outcome == Outcome::Error],
            }),
        }
    }
    if !scenarios {
        for g in &mut groups {
            g.label = Path::new(&g.label)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| g.label.clone());
        }
    }
    let title = if scenarios {
        "Records recovered per recovery mode, by corruption scenario"
    } else {
        "Records recovered per recovery mode, by file"
    };
    (title.to_string(), groups)
}
