//! `blocklog dump`: every record and dropped region of a log, in file order.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use blocklog::{Event, Position, Summary};
use serde_json::Value;

use crate::common::{
    default_log_number, exit_status_for, file_size, hex, json_object, open_input, preview,
    stdout_error, CliError, Settings, EXIT_OK,
};

/// What `dump` was asked.
#[derive(Debug)]
pub struct DumpOptions {
    /// Reader settings (the log number may be filled from the file name).
    pub settings: Settings,
    /// Whether `--log-number` was given.
    pub log_number_given: bool,
    /// JSON lines instead of human output.
    pub json: bool,
    /// The log.
    pub file: PathBuf,
}

/// Runs `dump`; returns the exit status.
pub fn run(o: &DumpOptions) -> Result<u8, CliError> {
    let mut settings = o.settings;
    if settings.log_number.is_none() {
        settings.log_number = default_log_number(&o.file);
    }
    let input = open_input(&o.file, "dump")?;
    let mut out = BufWriter::new(io::stdout().lock());
    if !o.json {
        let number = match (settings.log_number, o.log_number_given) {
            (Some(n), true) => format!(", log number {n}"),
            (Some(n), false) => format!(", log number {n} (from the file name)"),
            (None, _) => String::new(),
        };
        writeln!(
            out,
            "{}: {}, mode {}, resync {}{}",
            o.file.display(),
            file_size(input.len),
            settings.mode,
            settings.resync.as_str(),
            number
        )
        .map_err(stdout_error)?;
        if settings.initial_offset > 0 {
            writeln!(out, "starting at offset {}", settings.initial_offset)
                .map_err(stdout_error)?;
        }
    }
    let mut reader = settings.reader_options().build(input.reader);
    let error = loop {
        match reader.next_event() {
            Ok(Some(event)) => {
                let line = if o.json {
                    json_event(&event)
                } else {
                    human_event(&event, reader.summary())
                };
                if let Some(line) = line {
                    writeln!(out, "{line}").map_err(stdout_error)?;
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let summary = reader.summary().clone();
    let message = error.as_ref().map(|e| e.to_string());
    let end = if o.json {
        json_end(&summary, message.as_deref())
    } else {
        human_end(&summary, message.as_deref())
    };
    writeln!(out, "{end}").map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    match error {
        None => Ok(EXIT_OK),
        Some(e) => Err(CliError {
            code: exit_status_for(&e),
            message: format!("{}: {e}", o.file.display()),
        }),
    }
}

/// The JSON line of an event; benign regions have none (nothing was lost).
pub fn json_event(event: &Event) -> Option<String> {
    match event {
        Event::Record(r) => Some(json_object(&[
            ("kind", "record".into()),
            ("offset", r.offset.into()),
            ("length", r.payload.len().into()),
            ("payload_hex", hex(&r.payload).into()),
        ])),
        Event::Dropped(d) => Some(json_object(&[
            ("kind", "dropped".into()),
            ("offset", d.range.start.into()),
            ("length", d.len().into()),
            ("reason", d.reason.as_str().into()),
            ("tail", (d.position == Position::Tail).into()),
        ])),
        _ => None,
    }
}

/// The JSON `end` line.
pub fn json_end(summary: &Summary, error: Option<&str>) -> String {
    json_object(&[
        ("kind", "end".into()),
        ("records", summary.records.into()),
        ("dropped_bytes", summary.dropped_bytes.into()),
        ("outcome", summary.outcome().as_str().into()),
        ("error", error.map_or(Value::Null, Value::from)),
    ])
}

fn human_event(event: &Event, summary: &Summary) -> Option<String> {
    Some(match event {
        Event::Record(r) => format!(
            "{:>12}  record   {:>8} bytes  \"{}\"",
            r.offset,
            r.payload.len(),
            preview(&r.payload, 40)
        ),
        Event::Dropped(d) => {
            let stopped = summary.stopped_at.as_ref() == Some(d);
            format!(
                "{:>12}  DROPPED  {:>8} bytes  {} ({} damage, bytes {}..{}){}",
                d.range.start,
                d.len(),
                d.reason,
                d.position,
                d.range.start,
                d.range.end,
                if stopped { "; reading stops here" } else { "" }
            )
        }
        Event::Benign(b) => format!(
            "{:>12}  benign   {:>8} bytes  {} (nothing lost)",
            b.range.start,
            b.range.end - b.range.start,
            benign_name(b.kind)
        ),
        _ => return None,
    })
}

/// A benign region's name, with the record type for metadata and ignorable records.
pub fn benign_name(kind: blocklog::BenignKind) -> String {
    match kind {
        blocklog::BenignKind::Metadata(t) | blocklog::BenignKind::Ignorable(t) => {
            format!("{} record (type {t})", kind.as_str())
        }
        _ => kind.as_str().to_string(),
    }
}

fn human_end(summary: &Summary, error: Option<&str>) -> String {
    let mut s = format!(
        "-- {} records ({} payload bytes), {} bytes dropped",
        summary.records, summary.record_bytes, summary.dropped_bytes
    );
    if summary.stopped_at.is_some() {
        s.push_str(&format!(
            "; stopped at interior damage, {} intact records after it not returned",
            summary.unread_records
        ));
    }
    s.push_str(&format!("; outcome {}", summary.outcome()));
    if let Some(e) = error {
        s.push_str(&format!(": {e}"));
    }
    s
}
