//! Recover a damaged log into a new, clean one: read it in skip-corrupt
//! mode (every damaged region is dropped and reported, every intact record
//! kept), write the records to a temporary file in the input's format,
//! make it durable (the file, then its directory), and only then rename it
//! over the output's name. A crash at any point leaves either no output or
//! a complete one; the input is never changed.
//!
//! ```sh
//! cargo run --example recover -- damaged.log repaired.log
//! cargo run --example recover            # on a demo log with a flipped bit
//! ```

use std::error::Error;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use blocklog::{Event, ReaderOptions, RecoveryMode, Resync, Writer, WriterOptions};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recover: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let mut cleanup = Cleanup(None);
    let (input, output) = match (args.next(), args.next()) {
        (Some(i), Some(o)) => (i, o),
        (None, None) => {
            let (input, output) = demo()?;
            cleanup.0 = input.parent().map(PathBuf::from);
            (input, output)
        }
        _ => return Err("usage: recover DAMAGED.log OUT.log".into()),
    };
    if output.exists() {
        return Err(format!("{} exists", output.display()).into());
    }
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(".recover-{}.tmp", std::process::id()));

    let mut reader = ReaderOptions::new()
        .mode(RecoveryMode::SkipCorrupt)
        .resync(Resync::Scan) // salvage records inside damaged blocks too
        .build(File::open(&input)?);
    let mut writer: Option<Writer<BufWriter<File>>> = None;
    while let Some(event) = reader.next_event()? {
        match event {
            Event::Record(r) => {
                if writer.is_none() {
                    // The first record tells the format: keep a recyclable
                    // log recyclable, with its log number.
                    let mut opts = WriterOptions::new();
                    if let (true, Some(n)) = (reader.is_recyclable(), reader.log_number()) {
                        opts = opts.recyclable(n);
                    }
                    writer = Some(opts.build(BufWriter::new(File::create(&temp)?)));
                }
                if let Some(w) = writer.as_mut() {
                    w.add_record(&r.payload)?;
                }
            }
            Event::Dropped(d) => println!("dropped: {d}"),
            _ => {} // benign regions, a point-in-time stop
        }
    }
    match writer {
        // fdatasync through the BufWriter, then close.
        Some(mut w) => w.sync()?,
        None => File::create(&temp)?.sync_all()?,
    }
    fs::rename(&temp, &output)?;
    sync_dir(&dir)?; // the rename itself is durable only once the directory is
    let s = reader.summary();
    println!(
        "recovered {} records from {} into {}; {} bytes dropped in {} damaged regions",
        s.records,
        input.display(),
        output.display(),
        s.dropped_bytes,
        s.damaged_regions
    );
    Ok(())
}

/// Makes a directory's entries (a rename into it) durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A demo log with one bit flipped mid-file, and where to write its repair.
fn demo() -> Result<(PathBuf, PathBuf), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("blocklog-recover-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let mut writer = Writer::new(Vec::new());
    let mut offsets = Vec::new();
    for i in 0..10 {
        offsets.push(writer.add_record(format!("record {i}").as_bytes())?);
    }
    let mut log = writer.into_inner()?;
    log[offsets[4] as usize + 9] ^= 0x20; // a bit flipped in record 4's payload
    let input = dir.join("damaged.log");
    fs::write(&input, &log)?;
    let output = dir.join("repaired.log");
    let _ = fs::remove_file(&output);
    Ok((input, output))
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
