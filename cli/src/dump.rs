//! `blocklog dump`: every record and dropped region of a log, in file order.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::thread;
use std::time::{Duration, Instant};

use blocklog::{Event, Outcome, Position, Summary};
use blocklog_testkit::read::read_all;
use serde_json::Value;

use crate::args::DumpArgs;
use crate::error::{exit_status_for, stdout_error, CliError, EXIT_OK};
use crate::input::{open_input, shown, Settings};
use crate::text::{hex, input_size, json_object, preview};
use crate::waldir;

/// Runs `dump`; returns the exit status.
pub fn run(a: &DumpArgs) -> Result<u8, CliError> {
    if waldir::is_dir(&a.file) {
        return waldir::dump(a);
    }
    waldir::file_only(&a.read, &a.file)?;
    let settings = Settings {
        initial_offset: a.start_offset,
        ..Settings::from_args(&a.read, &a.file)
    };
    let input = open_input(&a.file)?;
    if a.follow && input.is_stream() {
        return Err(CliError::usage(format!(
            "cannot follow {}: it is a stream, not a regular file (without --follow it is read as it arrives)",
            shown(&a.file)
        )));
    }
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
    if a.follow {
        let Some(file) = input.into_file() else {
            return Err(CliError::usage("internal error: no file to follow"));
        };
        return follow(a, settings, &file, &mut out);
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
    finish(a, &end.summary, end.error, &mut out)
}

/// Prints the end line and returns the exit status for a read that ended
/// with `summary` and `error`.
fn finish(
    a: &DumpArgs,
    summary: &Summary,
    error: Option<blocklog::Error>,
    out: &mut impl Write,
) -> Result<u8, CliError> {
    let message = error.as_ref().map(|e| e.to_string());
    let line = if a.json {
        json_end(summary, message.as_deref())
    } else {
        human_end(summary, message.as_deref())
    };
    writeln!(out, "{line}").map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    match error {
        None => Ok(EXIT_OK),
        Some(e) => Err(CliError {
            code: exit_status_for(&e),
            message: format!("{}: {e}", shown(&a.file)),
        }),
    }
}

/// The first pause between polls of a followed log, after new bytes.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between polls (the backoff's cap).
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// `dump --follow`: prints each event of `file` as it completes, polling
/// for growth (pauses from 10 ms, doubling to 100 ms while nothing comes),
/// flushing stdout after each batch. With `--idle-exit`, once no new byte
/// came for that long (the file's length and the reader's position
/// unchanged), the log is taken as complete: what remains (a torn tail) is
/// judged by the mode and printed with the end line.
fn follow(
    a: &DumpArgs,
    settings: Settings,
    file: &File,
    out: &mut impl Write,
) -> Result<u8, CliError> {
    let mut tail = match settings.reader_options().build_tail(file) {
        Ok(tail) => tail,
        Err(e) => return finish(a, &Summary::default(), Some(e), out),
    };
    let line_of = |event: &Event, summary: &Summary| {
        if a.json {
            json_event(event)
        } else {
            human_event(event, summary)
        }
    };
    let length = || file.metadata().map(|m| m.len()).ok();
    let mut error = None;
    let mut seen = (length(), tail.position());
    let mut last_change = Instant::now();
    let mut pause = FIRST_PAUSE;
    'follow: loop {
        let mut printed = false;
        loop {
            match tail.poll_event() {
                Ok(Some(event)) => {
                    if let Some(line) = line_of(&event, tail.summary()) {
                        writeln!(out, "{line}").map_err(stdout_error)?;
                        printed = true;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break 'follow;
                }
            }
        }
        if printed {
            out.flush().map_err(stdout_error)?;
        }
        if tail.summary().stopped_at.is_some() {
            // Point-in-time recovery stopped: nothing after it is returned.
            break;
        }
        let now = (length(), tail.position());
        if now != seen || printed {
            seen = now;
            last_change = Instant::now();
            pause = FIRST_PAUSE;
        } else if a
            .idle_exit
            .is_some_and(|idle| last_change.elapsed() >= idle)
        {
            break;
        }
        thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
    if error.is_none() {
        tail.finish();
        loop {
            match tail.poll_event() {
                Ok(Some(event)) => {
                    if let Some(line) = line_of(&event, tail.summary()) {
                        writeln!(out, "{line}").map_err(stdout_error)?;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
    }
    let summary = tail.summary().clone();
    finish(a, &summary, error, out)
}

/// The fields of a `record` line (a directory's lines add theirs).
pub fn record_fields(offset: u64, payload: &[u8]) -> Vec<(&'static str, Value)> {
    vec![
        ("kind", "record".into()),
        ("offset", offset.into()),
        ("length", payload.len().into()),
        ("payload_hex", hex(payload).into()),
    ]
}

/// The fields of a `dropped` line (a directory's lines add theirs).
pub fn dropped_fields(
    range: &std::ops::Range<u64>,
    reason: &str,
    tail: bool,
) -> Vec<(&'static str, Value)> {
    vec![
        ("kind", "dropped".into()),
        ("offset", range.start.into()),
        ("length", (range.end - range.start).into()),
        ("reason", reason.into()),
        ("tail", tail.into()),
    ]
}

/// The fields of the `end` line (a directory's adds its own).
pub fn end_fields(
    records: u64,
    dropped_bytes: u64,
    outcome: Outcome,
    error: Option<&str>,
) -> Vec<(&'static str, Value)> {
    vec![
        ("kind", "end".into()),
        ("records", records.into()),
        ("dropped_bytes", dropped_bytes.into()),
        ("outcome", outcome.as_str().into()),
        ("error", error.map_or(Value::Null, Value::from)),
    ]
}

/// The JSON line of an event; benign regions have none (nothing was lost).
pub fn json_event(event: &Event) -> Option<String> {
    match event {
        Event::Record(r) => Some(json_object(&record_fields(r.offset, &r.payload))),
        Event::Dropped(d) => Some(json_object(&dropped_fields(
            &d.range,
            d.reason.as_str(),
            d.position == Position::Tail,
        ))),
        _ => None,
    }
}

/// The JSON `end` line.
pub fn json_end(summary: &Summary, error: Option<&str>) -> String {
    json_object(&end_fields(
        summary.records,
        summary.dropped_bytes,
        summary.outcome(),
        error,
    ))
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
