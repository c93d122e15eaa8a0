//! `blocklog recover`: a new, clean log holding the records a mode recovers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use blocklog::{Event, Writer, WriterOptions};
use blocklog_testkit::read::read_all;

use crate::args::RecoverArgs;
use crate::error::{exit_status_for, stdout_error, CliError, EXIT_OK};
use crate::input::{file_kind, is_stdin, open_input, shown, Settings};

/// Runs `recover`; returns the exit status.
pub fn run(a: &RecoverArgs) -> Result<u8, CliError> {
    crate::waldir::file_only(&a.read, &a.file)?;
    let settings = Settings::from_args(&a.read, &a.file);
    let input = open_input(&a.file)?;
    if same_file(input.meta.as_ref(), &a.file, &a.output) {
        return Err(CliError::usage(format!(
            "refusing to write {}: it is the input file (recover never overwrites its input)",
            a.output.display()
        )));
    }
    // Only a regular file is ever replaced (with --force): never a symbolic
    // link (nor the file it names), a device, a FIFO or a directory.
    match fs::symlink_metadata(&a.output) {
        Ok(m) if !m.file_type().is_file() => {
            return Err(CliError::usage(format!(
                "refusing to replace {}: it is {} (recover replaces only a regular file)",
                a.output.display(),
                file_kind(&m.file_type())
            )));
        }
        Ok(_) if !a.force => {
            return Err(CliError::usage(format!(
                "{} exists; pass --force to replace it",
                a.output.display()
            )));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(CliError::io(&a.output, "check", &e)),
    }
    let temp = temp_path(&a.output);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| CliError::io(&temp, "create", &e))?;
    let result = copy_records(settings, input.reader("recover"), file, &temp);
    let done = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    if let Some(e) = &done.error {
        let _ = fs::remove_file(&temp);
        return Err(CliError {
            code: exit_status_for(e),
            message: format!(
                "{}: {e}; nothing written (a more lenient --mode, such as skip-corrupt, keeps what it can)",
                shown(&a.file)
            ),
        });
    }
    fs::rename(&temp, &a.output).map_err(|e| {
        let _ = fs::remove_file(&temp);
        CliError::io(&a.output, "write", &e)
    })?;
    // The rename is durable once the directory holding it is synced.
    sync_dir(&a.output)?;
    let s = &done.summary;
    let format = match done.log_number {
        Some(n) => format!("recyclable format, log number {n}"),
        None => "legacy format".to_string(),
    };
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "recovered {} records ({} payload bytes) from {} into {} ({format}); \
         {} bytes dropped in {} damaged region{}; outcome {}",
        s.records,
        s.record_bytes,
        shown(&a.file),
        a.output.display(),
        s.dropped_bytes,
        s.damaged_regions,
        if s.damaged_regions == 1 { "" } else { "s" },
        s.outcome()
    )
    .map_err(stdout_error)?;
    if s.stopped_at.is_some() && s.unread_records > 0 {
        writeln!(
            out,
            "note: point-in-time recovery stopped at interior damage; {} intact records after it \
             are not in the output (skip-corrupt would keep them)",
            s.unread_records
        )
        .map_err(stdout_error)?;
    }
    Ok(EXIT_OK)
}

struct Copied {
    summary: blocklog::Summary,
    error: Option<blocklog::Error>,
    log_number: Option<u32>,
}

/// Reads the input with `settings` and writes every record it returns to
/// `file`, in the input's format (recyclable logs keep their log number).
fn copy_records(
    settings: Settings,
    source: impl io::Read,
    file: File,
    temp: &Path,
) -> Result<Copied, CliError> {
    let mut reader = settings.reader_options().build(source);
    let sink = BufWriter::with_capacity(1 << 20, file);
    let mut writer: Option<Writer<BufWriter<File>>> = None;
    let mut sink = Some(sink);
    let write_err =
        |e: blocklog::Error| CliError::usage(format!("cannot write {}: {e}", temp.display()));
    let end = read_all(&mut reader, |event, reader| {
        let Event::Record(r) = event else {
            return Ok(());
        };
        if writer.is_none() {
            let mut opts = WriterOptions::new();
            if reader.is_recyclable() {
                if let Some(n) = reader.log_number() {
                    opts = opts.recyclable(n);
                }
            }
            if let Some(s) = sink.take() {
                writer = Some(opts.build(s));
            }
        }
        if let Some(w) = writer.as_mut() {
            w.add_record(&r.payload).map_err(write_err)?;
        }
        Ok(())
    })?;
    let error = end.error;
    let log_number = writer.as_ref().and_then(|w| w.log_number());
    let mut file = match writer {
        Some(w) => w
            .into_inner()
            .map_err(|e| write_err(e.into_error()))?
            .into_inner()
            .map_err(|e| CliError::io(temp, "write", e.error()))?,
        None => sink
            .take()
            .map(|s| {
                s.into_inner()
                    .map_err(|e| CliError::io(temp, "write", e.error()))
            })
            .transpose()?
            .ok_or_else(|| CliError::usage("internal error: no output"))?,
    };
    if error.is_none() {
        file.flush().map_err(|e| CliError::io(temp, "write", &e))?;
        file.sync_all()
            .map_err(|e| CliError::io(temp, "sync", &e))?;
    }
    Ok(Copied {
        summary: end.summary,
        error,
        log_number,
    })
}

/// Syncs the directory holding `path`, so that a rename into it survives a
/// crash (a no-op where directories cannot be opened, as on Windows).
fn sync_dir(path: &Path) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| CliError::io(dir, "sync the directory", &e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A temporary name beside `output`, renamed over it once complete.
fn temp_path(output: &Path) -> PathBuf {
    let mut name = output
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".blocklog-recover-{}.tmp", std::process::id()));
    output.with_file_name(name)
}

/// Whether `output` is the input (opened from `input`, with the opened
/// handle's metadata `meta`), through links, too.
fn same_file(meta: Option<&fs::Metadata>, input: &Path, output: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Some(mi), Ok(mo)) = (meta, fs::metadata(output)) {
            return mi.dev() == mo.dev() && mi.ino() == mo.ino();
        }
    }
    let _ = meta;
    if is_stdin(input) {
        return false;
    }
    match (fs::canonicalize(input), fs::canonicalize(output)) {
        (Ok(ci), Ok(co)) => ci == co,
        _ => false,
    }
}
