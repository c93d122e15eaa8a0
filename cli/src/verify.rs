//! `blocklog verify`: a summary per file and the mode's verdict.

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use blocklog::{BenignKind, Damage, Event, Outcome, RecoveryMode, Resync};
use blocklog_testkit::read::read_all;

use crate::args::VerifyArgs;
use crate::dump::benign_name;
use crate::error::{exit_status_for, stdout_error, CliError, EXIT_OK, EXIT_REFUSED};
use crate::input::{open_input, shown, Settings};
use crate::map::{self, FileMap};
use crate::plot::ImageFormat;
use crate::text::file_size;
use crate::waldir;

/// Damage lines listed per file before the rest is only counted.
const MAX_LISTED: usize = 20;

/// Runs `verify`; returns the exit status.
pub fn run(o: &VerifyArgs) -> Result<u8, CliError> {
    if let Some(path) = &o.map {
        ImageFormat::of(path)?;
        // Before anything is read or drawn: a map is of files.
        if let Some(dir) = o.files.iter().find(|f| waldir::is_dir(f)) {
            return Err(CliError::usage(format!(
                "{} is a WAL directory: --map applies to files only",
                dir.display()
            )));
        }
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let mut status = EXIT_OK;
    let mut maps = Vec::new();
    for (i, file) in o.files.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(stdout_error)?;
        }
        let verified = if waldir::is_dir(file) {
            waldir::verify(o, file, &mut out).map(|code| (code, None))
        } else {
            verify_file(o, file, &mut out)
        };
        match verified {
            Ok((code, map)) => {
                status = status.max(code);
                maps.extend(map);
            }
            Err(e) if e.code == EXIT_OK => return Err(e),
            Err(e) => {
                out.flush().map_err(stdout_error)?;
                let _ = writeln!(io::stderr(), "blocklog: {e}");
                writeln!(out, "{}: UNREADABLE: {e}", shown(file)).map_err(stdout_error)?;
                status = status.max(e.code);
            }
        }
    }
    out.flush().map_err(stdout_error)?;
    if let Some(path) = &o.map {
        map::draw(path, &maps)?;
        let _ = writeln!(io::stderr(), "map written to {}", path.display());
    }
    Ok(status)
}

fn verify_file(
    o: &VerifyArgs,
    file: &Path,
    out: &mut impl Write,
) -> Result<(u8, Option<FileMap>), CliError> {
    waldir::file_only(&o.read, file)?;
    let settings = Settings::from_args(&o.read, file);
    let input = open_input(file)?;
    // A map may need a second (salvage) read: the input is read again
    // through its one handle, or a stream is held in memory.
    let (input, reread) = if o.map.is_some() {
        (None, Some(input.rereadable(file)?))
    } else {
        (Some(input), None)
    };
    // The length, when known (not for a stream read as it comes).
    let len = match (&input, &reread) {
        (_, Some(r)) => Some(r.len()),
        (Some(i), None) => i.len.filter(|_| !i.is_stream()),
        (None, None) => None,
    };
    let source: Box<dyn Read + '_> = match (input, &reread) {
        (_, Some(r)) => Box::new(r.reader(file, "verify")?),
        (Some(i), None) => Box::new(i.reader("verify")),
        (None, None) => return Err(CliError::usage("internal error: no input")),
    };
    let mut map = o.map.as_ref().map(|_| {
        let len = len.unwrap_or(0);
        FileMap::new(format!("{} ({} bytes)", shown(file), len), len)
    });
    let mut damage: Vec<(Damage, &'static str)> = Vec::new();
    let mut damage_count = 0u64;
    let mut benign: Vec<(BenignKind, u64, u64)> = Vec::new();
    let end = read_all(
        &mut settings.reader_options().build(source),
        |event, reader| {
            let summary = reader.summary();
            if let Some(m) = map.as_mut() {
                m.event(&event);
            }
            match &event {
                Event::Dropped(d) => {
                    damage_count += 1;
                    if damage.len() < MAX_LISTED {
                        let what = if summary.stopped_at.as_ref() == Some(d) {
                            "reading stopped here"
                        } else {
                            "dropped"
                        };
                        damage.push((d.clone(), what));
                    }
                }
                Event::Benign(b) => {
                    let n = b.range.end - b.range.start;
                    match benign
                        .iter_mut()
                        .find(|(k, _, _)| k.as_str() == b.kind.as_str())
                    {
                        Some(entry) => {
                            entry.1 += 1;
                            entry.2 += n;
                        }
                        None => benign.push((b.kind, 1, n)),
                    }
                }
                _ => {}
            }
            Ok::<(), CliError>(())
        },
    )?;
    let s = &end.summary;
    if let Some(d) = end.error.as_ref().and_then(|e| e.damage()) {
        damage_count += 1;
        damage.push((d.clone(), "refused"));
    }

    let w = |e| stdout_error(e);
    writeln!(
        out,
        "{}: {}; mode {}, resync {}{}",
        shown(file),
        len.map_or_else(
            || format!("stream, {} read", file_size(s.bytes_read)),
            file_size
        ),
        settings.mode,
        settings.resync.as_str(),
        settings.log_number_note()
    )
    .map_err(w)?;
    writeln!(
        out,
        "  records:  {} ({} payload bytes)",
        s.records, s.record_bytes
    )
    .map_err(w)?;
    for (kind, count, bytes) in &benign {
        writeln!(
            out,
            "  benign:   {} x{count}, {bytes} bytes (nothing lost)",
            benign_name(*kind)
        )
        .map_err(w)?;
    }
    if damage.is_empty() {
        writeln!(out, "  damage:   none").map_err(w)?;
    }
    for (i, (d, what)) in damage.iter().enumerate() {
        writeln!(
            out,
            "  {}bytes {}..{} ({} bytes): {}, {} damage, {what}",
            if i == 0 { "damage:   " } else { "          " },
            d.range.start,
            d.range.end,
            d.len(),
            d.reason,
            d.position
        )
        .map_err(w)?;
    }
    if damage_count > damage.len() as u64 {
        writeln!(
            out,
            "            ... and {} more damaged regions",
            damage_count - damage.len() as u64
        )
        .map_err(w)?;
    }
    let (verdict, code) = match (&end.error, s.outcome()) {
        (Some(e), _) => (format!("REFUSED: {e}"), exit_status_for(e)),
        (None, Outcome::Clean) => ("OK: clean".to_string(), EXIT_OK),
        (None, Outcome::TailDropped) => (
            format!("OK: tail damage dropped ({} bytes)", s.dropped_bytes),
            EXIT_OK,
        ),
        (None, Outcome::Stopped) => (
            format!(
                "STOPPED at interior damage: {} intact records after it were not returned",
                s.unread_records
            ),
            EXIT_OK,
        ),
        (None, Outcome::Skipped) => (
            format!(
                "SKIPPED interior damage: {} bytes dropped, reading went on",
                s.dropped_bytes
            ),
            EXIT_OK,
        ),
        (None, Outcome::Error) => ("REFUSED".to_string(), EXIT_REFUSED),
    };
    let stopped_early = end.error.is_some() || s.stopped_at.is_some();
    writeln!(out, "  verdict:  {verdict}").map_err(w)?;
    if s.records == 0 && benign.iter().any(|(k, _, _)| *k == BenignKind::PreviousUse) {
        // Nothing but a previous use: a fresh recycled log, or the wrong
        // number (the name or --log-number) making the current records stale.
        let which = settings
            .log_number
            .map(|n| format!(" (no record carries log number {n})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  warning:  the whole file is a previous use of it{which}; is the log number right? (--log-number N)"
        )
        .map_err(w)?;
    }
    if stopped_early && len.is_none_or(|n| s.bytes_read < n) {
        writeln!(
            out,
            "  note:     the mode did not look past its stop; `blocklog dump --mode skip-corrupt` shows the rest"
        )
        .map_err(w)?;
    }

    if let Some(m) = map.as_mut() {
        if let Some(d) = end.error.as_ref().and_then(|e| e.damage()) {
            m.refused(d);
        }
        let io_failed = matches!(end.error, Some(blocklog::Error::Io { .. }));
        let beyond_stop = stopped_early && !io_failed && m.painted_to() < len.unwrap_or(0);
        if let Some(reread) = reread.as_ref().filter(|_| beyond_stop) {
            // Show what lies beyond the stop with a salvage read.
            m.begin_after_stop();
            let salvage = Settings {
                mode: RecoveryMode::SkipCorrupt,
                resync: Resync::Scan,
                ..settings
            };
            let after = read_all(
                &mut salvage.reader_options().build(reread.reader(file, "map")?),
                |event, _| {
                    m.event(&event);
                    Ok::<(), CliError>(())
                },
            )?;
            m.finish(after.error.is_none());
        } else {
            m.finish(!io_failed);
        }
        m.set_subtitle(format!(
            "mode {}: {} records, outcome {}",
            settings.mode,
            s.records,
            s.outcome()
        ));
    }
    Ok((code, map))
}
