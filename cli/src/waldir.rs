//! WAL directories: `dump DIR` and `verify DIR` read every `NNNNNN.log`
//! of a directory in numeric order as one sequence of batches, with the
//! library's `WalReader` (which decides everything: `docs/wal.md`), through
//! the test kit's WAL read loop (`blocklog_testkit::wal_read`, which says how
//! its events read as lines). `docs/cli.md` documents the lines.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use blocklog::wal::{dir, Dropped, Flavour, WalBatch, WalOptions, WalReadOptions, WalReader};
use blocklog::{LogFormat, Outcome};
use blocklog_testkit::wal_read::{read_wal, SeqGap, WalEnd, WalItem};
use serde_json::Value;

use crate::args::{DumpArgs, ReadArgs, VerifyArgs};
use crate::dump::{dropped_fields, end_fields, record_fields};
use crate::error::{exit_status_for, stdout_error, CliError, EXIT_OK};
use crate::input::{is_stdin, shown};
use crate::text::{file_size, json_object, preview};

/// Whether `path` names a directory (following symbolic links): read as a
/// WAL directory.
pub fn is_dir(path: &Path) -> bool {
    !is_stdin(path) && path.is_dir()
}

/// Refuses the directory-only option for a file.
pub fn file_only(read: &ReadArgs, path: &Path) -> Result<(), CliError> {
    match read.wal {
        Some(_) => Err(CliError::usage(format!(
            "--wal applies to a WAL directory; {} is not one",
            shown(path)
        ))),
        None => Ok(()),
    }
}

/// Refuses a directory holding no WAL file (`NNNNNN.log`): it is not a
/// WAL directory (most likely the wrong one), which reading would show as
/// an empty, clean log.
pub fn has_wal_files(path: &Path) -> Result<(), CliError> {
    let files = dir::list(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "cannot read {}: a directory without WAL files (NNNNNN.log)",
            path.display()
        )));
    }
    Ok(())
}

/// Opens the reader of a directory as the command line says; options that
/// only mean something for one file are usage errors.
fn open(
    read: &ReadArgs,
    path: &Path,
    file_options: &[(&str, bool)],
) -> Result<WalReader, CliError> {
    let mut refused: Vec<&str> = file_options
        .iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| *name)
        .collect();
    if read.log_number.is_some() {
        refused.insert(0, "--log-number (each file's is its number)");
    }
    if !refused.is_empty() {
        return Err(CliError::usage(format!(
            "{} is a WAL directory: {} applies to one file only",
            path.display(),
            refused.join(", ")
        )));
    }
    has_wal_files(path)?;
    let opts = WalOptions::new().mode(read.mode);
    let how = WalReadOptions::new()
        .flavour(read.wal.unwrap_or(Flavour::Detect))
        .resync(read.resync)
        .format(read.format);
    WalReader::open_with(path, &opts, how)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))
}

/// A file's name as the lines give it (`000002.log`).
fn name(number: u64) -> String {
    dir::file_name(number)
}

/// The description of a reading: `4 WAL files (blocklog's), mode M, resync R`.
fn heading(reader: &WalReader, read: &ReadArgs) -> String {
    let n = reader.files().len();
    let mut s = format!(
        "{n} WAL file{} ({}), mode {}, resync {}",
        if n == 1 { "" } else { "s" },
        match reader.flavour() {
            Flavour::Blocklog => "blocklog's",
            _ => "foreign: sequence numbers checked, no markers",
        },
        read.mode,
        read.resync.as_str()
    );
    if read.format != LogFormat::Detect {
        s.push_str(&format!(", format {}", read.format));
    }
    s
}

/// The exit status of a read that ended with `end`.
fn status(end: &WalEnd) -> u8 {
    end.error.as_ref().map_or(EXIT_OK, exit_status_for)
}

// ------------------------------------------------------------------ dump

fn json_item(item: &WalItem) -> String {
    match item {
        WalItem::Batch(b) => {
            let mut f = record_fields(b.offset, &b.payload);
            f.extend([
                ("file", name(b.file).into()),
                ("seq", b.seq.into()),
                ("count", b.count.into()),
            ]);
            json_object(&f)
        }
        WalItem::Dropped(d) => {
            let mut f = dropped_fields(&d.range, d.reason.as_str(), d.reason.is_tail());
            f.push(("file", name(d.file).into()));
            json_object(&f)
        }
        WalItem::Gap(g) => json_object(&[
            ("kind", "gap".into()),
            ("file", name(g.file).into()),
            ("offset", g.offset.into()),
            ("expected_seq", g.expected_seq.into()),
            ("found_seq", g.found_seq.into()),
        ]),
        WalItem::MissingFiles { file, first, last } => json_object(&[
            ("kind", "missing-files".into()),
            ("file", name(*file).into()),
            ("first", name(*first).into()),
            ("last", name(*last).into()),
        ]),
    }
}

fn json_end(end: &WalEnd, error: Option<&str>) -> String {
    let mut f = end_fields(end.records, end.dropped_bytes, end.outcome(), error);
    f.extend([
        ("files", end.files.len().into()),
        ("gaps", end.gaps.into()),
        ("last_seq", end.last_seq.map_or(Value::Null, Value::from)),
    ]);
    json_object(&f)
}

fn gap_text(g: &SeqGap) -> String {
    if g.found_seq > g.expected_seq {
        format!(
            "sequence numbers {}..{} missing (expected {}, found {})",
            g.expected_seq,
            g.found_seq - 1,
            g.expected_seq,
            g.found_seq
        )
    } else {
        format!(
            "sequence goes back: expected {}, found {}",
            g.expected_seq, g.found_seq
        )
    }
}

fn dropped_text(d: &Dropped) -> String {
    format!(
        "{:>12}  DROPPED  {:>8} bytes  {} (bytes {}..{})",
        d.range.start,
        d.len(),
        d.reason,
        d.range.start,
        d.range.end
    )
}

fn batch_text(b: &WalBatch) -> String {
    format!(
        "{:>12}  batch    {:>8} bytes  seq {}{}  \"{}\"",
        b.offset,
        b.payload.len(),
        b.seq,
        match b.count {
            1 => String::new(),
            0 => " (no entry)".to_string(),
            _ => format!("-{}", b.last_seq()),
        },
        preview(b.payload.get(12..).unwrap_or_default(), 40)
    )
}

fn human_item(item: &WalItem) -> String {
    match item {
        WalItem::Batch(b) => batch_text(b),
        WalItem::Dropped(d) => dropped_text(d),
        WalItem::Gap(g) => format!("{:>12}  GAP      {}", g.offset, gap_text(g)),
        WalItem::MissingFiles { first, last, .. } => {
            format!(
                "              MISSING  files {} to {}",
                name(*first),
                name(*last)
            )
        }
    }
}

fn human_end(end: &WalEnd, error: Option<&str>) -> String {
    let mut s = format!(
        "-- {} batches, {} bytes dropped, {} gap{}, last seq {}; outcome {}",
        end.records,
        end.dropped_bytes,
        end.gaps,
        if end.gaps == 1 { "" } else { "s" },
        end.last_seq
            .map_or_else(|| "none".to_string(), |s| s.to_string()),
        end.outcome()
    );
    if end.report.stopped.is_some() {
        s.push_str("; stopped: nothing after it returned, in this file or any later one");
    }
    if let Some(e) = error {
        s.push_str(&format!(": {e}"));
    }
    s
}

/// The file an item belongs to.
fn item_file(item: &WalItem) -> u64 {
    match item {
        WalItem::Batch(b) => b.file,
        WalItem::Dropped(d) => d.file,
        WalItem::Gap(g) => g.file,
        WalItem::MissingFiles { file, .. } => *file,
    }
}

/// `dump DIR`.
pub fn dump(a: &DumpArgs) -> Result<u8, CliError> {
    let reader = open(
        &a.read,
        &a.file,
        &[
            ("--follow", a.follow),
            ("--start-offset", a.start_offset > 0),
        ],
    )?;
    let mut out = BufWriter::new(io::stdout().lock());
    if !a.json {
        writeln!(out, "{}: {}", a.file.display(), heading(&reader, &a.read))
            .map_err(stdout_error)?;
    }
    let mut current = None;
    let end = read_wal(reader, |item| {
        if a.json {
            return writeln!(out, "{}", json_item(&item)).map_err(stdout_error);
        }
        let file = item_file(&item);
        if current != Some(file) {
            current = Some(file);
            writeln!(out, "{}", name(file)).map_err(stdout_error)?;
        }
        writeln!(out, "{}", human_item(&item)).map_err(stdout_error)
    })?;
    let message = end.error.as_ref().map(|e| e.to_string());
    let line = if a.json {
        json_end(&end, message.as_deref())
    } else {
        human_end(&end, message.as_deref())
    };
    writeln!(out, "{line}").map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    match &end.error {
        None => Ok(EXIT_OK),
        Some(e) => Err(CliError {
            code: status(&end),
            message: format!("{}: {e}", a.file.display()),
        }),
    }
}

// ------------------------------------------------------------------ verify

/// `verify DIR`: one summary line per file, the gaps, the verdict; returns
/// the exit status (1 when the mode refuses the directory).
pub fn verify(o: &VerifyArgs, path: &Path, out: &mut impl Write) -> Result<u8, CliError> {
    let reader = open(&o.read, path, &[])?;
    let w = stdout_error;
    writeln!(out, "{}: {}", path.display(), heading(&reader, &o.read)).map_err(w)?;
    let mut items = Vec::new();
    let end = read_wal(reader, |item| {
        if !matches!(item, WalItem::Batch(_)) {
            items.push(item);
        }
        Ok::<(), CliError>(())
    })?;
    let refused = match &end.error {
        Some(blocklog::Error::Wal { problem, .. }) => Some(problem.file()),
        _ => None,
    };
    for &number in &end.files {
        let Some(f) = end.report.files.iter().find(|f| f.number == number) else {
            writeln!(
                out,
                "  {}: not read (the mode ended the read before it)",
                name(number)
            )
            .map_err(w)?;
            continue;
        };
        let seqs = match (f.first_seq, f.last_seq) {
            (Some(a), Some(b)) => format!(", seq {a}-{b}"),
            _ => String::new(),
        };
        let mut notes = Vec::new();
        if end.flavour == Flavour::Blocklog {
            notes.push(if f.sealed { "sealed" } else { "not sealed" }.to_string());
        }
        if f.dropped_bytes > 0 {
            notes.push(format!("{} bytes dropped", f.dropped_bytes));
        }
        if refused == Some(number) {
            notes.push("REFUSED here".to_string());
        }
        writeln!(
            out,
            "  {}: {}; {} batches{seqs}{}",
            name(number),
            file_size(f.size),
            f.batches,
            notes.iter().map(|n| format!("; {n}")).collect::<String>()
        )
        .map_err(w)?;
        for item in items.iter().filter(|i| item_file(i) == number) {
            let text = match item {
                WalItem::Dropped(d) => format!(
                    "bytes {}..{} ({} bytes): {}, dropped",
                    d.range.start,
                    d.range.end,
                    d.len(),
                    d.reason
                ),
                WalItem::Gap(g) => format!("at offset {}: {}", g.offset, gap_text(g)),
                WalItem::MissingFiles { first, last, .. } => {
                    format!(
                        "files {} to {} missing before it",
                        name(*first),
                        name(*last)
                    )
                }
                WalItem::Batch(_) => continue,
            };
            writeln!(out, "      {text}").map_err(w)?;
        }
    }
    writeln!(
        out,
        "  batches:  {}, last seq {}; {} gap{}",
        end.records,
        end.last_seq
            .map_or_else(|| "none".to_string(), |s| s.to_string()),
        end.gaps,
        if end.gaps == 1 { "" } else { "s" }
    )
    .map_err(w)?;
    let verdict = match (&end.error, end.outcome()) {
        (Some(e), _) => format!("REFUSED: {e}"),
        (None, Outcome::Clean) => "OK: clean".to_string(),
        (None, Outcome::TailDropped) => {
            format!("OK: tail damage dropped ({} bytes)", end.dropped_bytes)
        }
        (None, Outcome::Stopped) => format!(
            "STOPPED at {}: nothing after it was returned",
            end.report
                .stopped
                .as_ref()
                .map_or_else(String::new, |p| p.to_string())
        ),
        (None, Outcome::Skipped) => format!(
            "SKIPPED: {} bytes dropped, {} gap{}, reading went on",
            end.dropped_bytes,
            end.gaps,
            if end.gaps == 1 { "" } else { "s" }
        ),
        (None, Outcome::Error) => "REFUSED".to_string(),
    };
    writeln!(out, "  verdict:  {verdict}").map_err(w)?;
    if end.error.is_some() || end.report.stopped.is_some() {
        writeln!(
            out,
            "  note:     the mode did not look past its stop; `blocklog dump --mode skip-corrupt` shows the rest"
        )
        .map_err(w)?;
    }
    Ok(status(&end))
}
