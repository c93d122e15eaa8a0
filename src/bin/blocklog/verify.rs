//! `blocklog verify`: a summary per file and the mode's verdict.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use blocklog::{BenignKind, Damage, Event, Outcome, RecoveryMode, Resync};

use crate::common::{
    default_log_number, exit_status_for, file_size, open_input, read_all, stdout_error, CliError,
    Settings, EXIT_OK, EXIT_REFUSED,
};
use crate::dump::benign_name;
use crate::map::{self, FileMap};

/// What `verify` was asked.
#[derive(Debug)]
pub struct VerifyOptions {
    /// Recovery mode.
    pub mode: RecoveryMode,
    /// Resync strategy.
    pub resync: Resync,
    /// Expected log number (else from each file's name).
    pub log_number: Option<u32>,
    /// Where to draw the map.
    pub map: Option<PathBuf>,
    /// The logs.
    pub files: Vec<PathBuf>,
}

/// Damage lines listed per file before the rest is only counted.
const MAX_LISTED: usize = 20;

/// Runs `verify`; returns the exit status.
pub fn run(o: &VerifyOptions) -> Result<u8, CliError> {
    if let Some(path) = &o.map {
        map::map_format(path)?;
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let mut status = EXIT_OK;
    let mut maps = Vec::new();
    for (i, file) in o.files.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(stdout_error)?;
        }
        match verify_file(o, file, &mut out) {
            Ok((code, map)) => {
                status = status.max(code);
                maps.extend(map);
            }
            Err(e) if e.code == EXIT_OK => return Err(e),
            Err(e) => {
                out.flush().map_err(stdout_error)?;
                let _ = writeln!(io::stderr(), "blocklog: {e}");
                writeln!(out, "{}: UNREADABLE: {e}", file.display()).map_err(stdout_error)?;
                status = status.max(e.code);
            }
        }
    }
    out.flush().map_err(stdout_error)?;
    if let Some(path) = &o.map {
        // stdout holds the summary; the PNG map's legend (it has no text)
        // goes to stderr with the notice.
        let note = match map::draw(path, &maps)? {
            map::MapFormat::Svg => String::new(),
            map::MapFormat::Png => format!(" ({})", map::png_legend(&maps)),
        };
        let _ = writeln!(io::stderr(), "map written to {}{note}", path.display());
    }
    Ok(status)
}

fn settings_for(o: &VerifyOptions, file: &Path, mode: RecoveryMode, resync: Resync) -> Settings {
    Settings {
        mode,
        resync,
        log_number: o.log_number.or_else(|| default_log_number(file)),
        initial_offset: 0,
    }
}

fn verify_file(
    o: &VerifyOptions,
    file: &Path,
    out: &mut impl Write,
) -> Result<(u8, Option<FileMap>), CliError> {
    let settings = settings_for(o, file, o.mode, o.resync);
    let input = open_input(file, "verify")?;
    let len = input.len;
    let mut map = o
        .map
        .as_ref()
        .map(|_| FileMap::new(format!("{} ({} bytes)", file.display(), len), len));
    let mut damage: Vec<(Damage, &'static str)> = Vec::new();
    let mut damage_count = 0u64;
    let mut benign: Vec<(BenignKind, u64, u64)> = Vec::new();
    let end = read_all(
        settings.reader_options().build(input.reader),
        |event, summary| {
            if let Some(m) = map.as_mut() {
                m.event(event);
            }
            match event {
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
            Ok(())
        },
    )?;
    let s = &end.summary;
    if let Some(d) = end.error.as_ref().and_then(|e| e.damage()) {
        damage_count += 1;
        damage.push((d.clone(), "refused"));
    }

    let number = match (o.log_number, settings.log_number) {
        (Some(n), _) => format!(", log number {n}"),
        (None, Some(n)) => format!(", log number {n} (from the file name)"),
        _ => String::new(),
    };
    let w = |e| stdout_error(e);
    writeln!(
        out,
        "{}: {}; mode {}, resync {}{}",
        file.display(),
        file_size(len),
        settings.mode,
        settings.resync.as_str(),
        number
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
    if stopped_early && s.bytes_read < len {
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
        if stopped_early && !io_failed && m.painted_to() < len {
            // Show what lies beyond the stop with a salvage read.
            m.begin_after_stop();
            let salvage = settings_for(o, file, RecoveryMode::SkipCorrupt, Resync::Scan);
            let input = open_input(file, "map")?;
            let after = read_all(salvage.reader_options().build(input.reader), |event, _| {
                m.event(event);
                Ok(())
            })?;
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
