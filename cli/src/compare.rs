//! `blocklog compare`: the recovery modes side by side, on built-in
//! corruption scenarios or on the user's files.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use blocklog::{Event, Outcome};
use blocklog_testkit::judge::{judge_file, scenario_rows, ModeRead, ModeSpec, Row, MODES};
use blocklog_testkit::read::read_all;
use blocklog_testkit::scenarios::{self, Scenario, MISSING_SCENARIOS};
use serde_json::Value;

use crate::args::{CompareArgs, Format};
use crate::chart::{self, Group};
use crate::error::{stdout_error, CliError, EXIT_OK, EXIT_USAGE};
use crate::input::{open_input, shown, Settings};
use crate::plot::ImageFormat;
use crate::text::json_object;

/// Reads a user's file in every mode of [`MODES`] and judges the reads.
fn file_rows(path: &Path) -> Result<Vec<Row>, CliError> {
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
        if let Some(dir) = &o.save_scenarios {
            save(dir, &scenarios)?;
        }
        let mut notes = scenario_notes(o.seed);
        notes.extend(
            scenarios
                .iter()
                .map(|s| format!("{}: {}.", s.name, s.description)),
        );
        (scenario_rows(&scenarios), notes, Some(o.seed))
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

fn save(dir: &Path, scenarios: &[Scenario]) -> Result<(), CliError> {
    fs::create_dir_all(dir).map_err(|e| CliError::io(dir, "create", &e))?;
    for (i, s) in scenarios.iter().enumerate() {
        let path = dir.join(scenario_file_name(i, s));
        fs::write(&path, &s.bytes).map_err(|e| CliError::io(&path, "write", &e))?;
    }
    Ok(())
}

/// The name `--save-scenarios` gives scenario `i`.
pub fn scenario_file_name(i: usize, s: &Scenario) -> String {
    format!("{:02}-{}.log", i + 1, s.name)
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
        MISSING_SCENARIOS.to_string(),
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
        "outcome",
    ];
    let numeric = [false, false, true, true, true, true, true, false, false];
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
            r.mode.label(),
            opt(r.written),
            r.intact.to_string(),
            r.recovered.to_string(),
            r.lost.to_string(),
            opt(r.foreign),
            reported_cell(r).to_string(),
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
    json_object(&[
        ("source", r.source.clone().into()),
        ("mode", r.mode.mode.as_str().into()),
        ("resync", r.mode.resync.as_str().into()),
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
    for r in rows {
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
