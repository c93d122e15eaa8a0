//! Replay a write-ahead log at start-up: read it in tolerate-tail mode (a
//! torn last write, as a crash leaves it, is dropped and reported; damage
//! in the interior stops the start-up), apply each record to the state,
//! and say what was replayed and what was dropped.
//!
//! ```sh
//! cargo run --example replay -- path/to/000123.log
//! cargo run --example replay            # on a demo log with a torn tail
//! ```
//!
//! Records are `put KEY VALUE` or `del KEY`, applied to a map in memory.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use blocklog::{Event, ReaderOptions, RecoveryMode, Writer};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut cleanup = Cleanup(None);
    let path = match std::env::args_os().nth(1) {
        Some(p) => PathBuf::from(p),
        None => {
            let path = demo_log()?;
            cleanup.0 = path.parent().map(PathBuf::from);
            path
        }
    };
    let file = File::open(&path)?;
    let mut reader = ReaderOptions::new()
        .mode(RecoveryMode::TolerateTail)
        .build(file);
    let mut state = BTreeMap::new();
    // `?` here ends the start-up on interior damage (the mode refuses the
    // log), or on an I/O error: the records before it were applied.
    while let Some(event) = reader.next_event()? {
        match event {
            Event::Record(r) => apply(&mut state, &r.payload)
                .map_err(|e| format!("record at offset {}: {e}", r.offset))?,
            Event::Dropped(d) => println!("dropped: {d}"),
            _ => {} // benign: zero fill, a previous use's bytes, metadata
        }
    }
    let summary = reader.summary();
    println!(
        "{}: replayed {} records ({} payload bytes), {} bytes dropped, outcome {}",
        path.display(),
        summary.records,
        summary.record_bytes,
        summary.dropped_bytes,
        summary.outcome()
    );
    for (k, v) in &state {
        println!("  {k} = {v}");
    }
    Ok(())
}

/// Applies `put KEY VALUE` or `del KEY`.
fn apply(state: &mut BTreeMap<String, String>, record: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(record).map_err(|e| e.to_string())?;
    let mut words = text.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("put"), Some(k), Some(v)) => {
            state.insert(k.to_string(), v.to_string());
        }
        (Some("del"), Some(k), None) => {
            state.remove(k);
        }
        _ => return Err(format!("not a command: {text:?}")),
    }
    Ok(())
}

/// Writes a demo log whose last record was torn by a "crash".
fn demo_log() -> Result<PathBuf, Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("blocklog-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("000001.log");
    let mut writer = Writer::new(File::create(&path)?);
    for record in ["put a 1", "put b 2", "del a", "put c 3"] {
        writer.add_record(record.as_bytes())?;
    }
    writer.sync()?;
    writer.add_record(b"put d 4 (torn by the crash)")?;
    let file = writer.into_inner()?;
    let len = file.metadata()?.len();
    file.set_len(len - 5)?;
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
