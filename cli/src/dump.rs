//! `blocklog dump`: every record and dropped region of a log, in file order.

use std::io::{self, BufWriter, Write};

use blocklog::{Event, Position, Summary};
use blocklog_testkit::read::read_all;
use serde_json::Value;

use crate::args::DumpArgs;
use crate::error::{exit_status_for, stdout_error, CliError, EXIT_OK};
use crate::input::{open_input, shown, Settings};
use crate::text::{hex, input_size, json_object, preview};

/// Runs `dump`; returns the exit status.
pub fn run(a: &DumpArgs) -> Result<u8, CliError> {
    let settings = Settings {
        initial_offset: a.start_offset,
        ..Settings::from_args(&a.read, &a.file)
    };
    let input = open_input(&a.file)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if !a.json {
        writeln!(
            out,
            "{}: {}, mode {}, resync {}{}",
            shown(&a.file),
            input_size(input.len.filter(|_| !input.is_stream())),
            settings.mode,
            settings.resync.as_str(),
            settings.log_number_note()
        )
        .map_err(stdout_error)?;
        if settings.initial_offset > 0 {
            writeln!(out, "starting at offset {}", settings.initial_offset)
                .map_err(stdout_error)?;
        }
    }
    let mut reader = settings.reader_options().build(input.reader("dump"));
    let end = read_all(&mut reader, |event, reader| {
        let line = if a.json {
            json_event(&event)
        } else {
            human_event(&event, reader.summary())
        };
        match line {
            Some(line) => writeln!(out, "{line}").map_err(stdout_error),
            None => Ok(()),
        }
    })?;
    let message = end.error.as_ref().map(|e| e.to_string());
    let line = if a.json {
        json_end(&end.summary, message.as_deref())
    } else {
        human_end(&end.summary, message.as_deref())
    };
    writeln!(out, "{line}").map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    match end.error {
        None => Ok(EXIT_OK),
        Some(e) => Err(CliError {
            code: exit_status_for(&e),
            message: format!("{}: {e}", shown(&a.file)),
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
