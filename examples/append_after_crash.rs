//! Append safely to a log after a crash: replay what survived, cut the torn
//! tail the crash left (and only that), make the cut durable, and continue
//! writing where the log may resume — so that the records acknowledged
//! after the restart are read back too.
//!
//! ```sh
//! cargo run --example append_after_crash -- path/to/000123.log "new record" ...
//! cargo run --example append_after_crash   # on a demo log with a torn tail
//! ```
//!
//! Appending at the file's length instead (what `WriterOptions::append_at`
//! with the length would do) turns the torn tail into interior damage once
//! records follow it: tolerate-tail recovery would then refuse the log.

use std::error::Error;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use blocklog::reopen::ReopenOptions;
use blocklog::{Event, ReaderOptions, RecoveryMode, Writer};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("append_after_crash: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let mut cleanup = Cleanup(None);
    let (path, new_records) = match args.next() {
        Some(p) => (
            PathBuf::from(p),
            args.map(|a| a.to_string_lossy().into_owned()).collect(),
        ),
        None => {
            let path = demo_log()?;
            cleanup.0 = Some(path.clone());
            (path, vec!["put k3 v3".to_string()])
        }
    };

    // 1. Replay while reopening: the records come out once, as the file is read.
    let mut reopening = ReopenOptions::new()
        .mode(RecoveryMode::TolerateTail)
        .open(&path)?;
    while let Some(event) = reopening.next_event()? {
        match event {
            Event::Record(r) => println!(
                "replay {:>8}: {}",
                r.offset,
                String::from_utf8_lossy(&r.payload)
            ),
            Event::Dropped(d) => println!("dropped: {d}"),
            _ => {}
        }
    }
    // 2. Cut the torn tail, fsync, and get a writer at the resume point.
    let (mut writer, recovered) = reopening.finish()?;
    println!(
        "resumes at {} (file was {} bytes; cut {:?})",
        recovered.resume_at, recovered.previous_len, recovered.cut_ranges
    );
    // 3. Append and acknowledge only after sync.
    for r in &new_records {
        writer.add_record(r.as_bytes())?;
    }
    writer.sync()?;
    println!("appended and synced {} records", new_records.len());
    drop(writer);

    // 4. The next start-up reads everything back, with nothing dropped.
    let mut reader = ReaderOptions::new()
        .mode(RecoveryMode::TolerateTail)
        .build(File::open(&path)?);
    let records = reader.records().count();
    println!(
        "read back: {records} records, outcome {}",
        reader.summary().outcome()
    );
    Ok(())
}

/// A log with two acknowledged records and a torn third one, as a crash
/// in the middle of a write leaves it.
fn demo_log() -> Result<PathBuf, Box<dyn Error>> {
    let path =
        std::env::temp_dir().join(format!("blocklog-append-demo-{}.log", std::process::id()));
    let mut w = Writer::new(File::create(&path)?);
    w.add_record(b"put k1 v1")?;
    w.add_record(b"put k2 v2")?;
    w.sync()?;
    let mut file = w.into_inner()?;
    // The header and half the payload of a third record reached the disk.
    file.write_all(&[0x5a, 0x11, 0x3c, 0x9e, 20, 0, 1])?;
    file.write_all(b"put k9 ")?;
    file.sync_all()?;
    Ok(path)
}

/// Removes the demo's files when the demo ends (successfully or not).
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}
