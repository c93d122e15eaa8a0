//! `blocklog`: inspect, verify, repair and compare recovery of write-ahead
//! logs in the LevelDB/RocksDB block format.
//!
//! See `docs/cli.md` for the commands, the JSON contract of `dump --json`
//! and the exit statuses.

#[path = "blocklog/chart.rs"]
mod chart;
#[path = "blocklog/common.rs"]
mod common;
#[path = "blocklog/compare.rs"]
mod compare;
#[path = "blocklog/dump.rs"]
mod dump;
#[path = "blocklog/map.rs"]
mod map;
#[path = "blocklog/recover.rs"]
mod recover;
#[path = "blocklog/scenarios.rs"]
mod scenarios;
#[path = "blocklog/verify.rs"]
mod verify;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use blocklog::{RecoveryMode, Resync};
use clap::{Args, Parser, Subcommand, ValueEnum};

use common::{Settings, EXIT_OK, EXIT_USAGE};

/// Inspect, verify, repair and compare recovery of LevelDB/RocksDB-format logs.
#[derive(Debug, Parser)]
#[command(name = "blocklog", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every record and every dropped region of a log, in file order.
    Dump(DumpArgs),
    /// Summarise logs: records, bytes, damage and the mode's verdict.
    Verify(VerifyArgs),
    /// Write a new, clean log holding the records a mode recovers.
    Recover(RecoverArgs),
    /// Compare the recovery modes on built-in corruption scenarios or on your files.
    Compare(CompareArgs),
}

/// Recovery mode names, as RocksDB's `WALRecoveryMode` in kebab case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// Drop damage at the tail; refuse damage in the interior.
    TolerateTail,
    /// Refuse any damage.
    Absolute,
    /// Stop at the first damage, keeping everything before it.
    PointInTime,
    /// Drop every damaged region and keep going.
    SkipCorrupt,
}

impl From<ModeArg> for RecoveryMode {
    fn from(m: ModeArg) -> RecoveryMode {
        match m {
            ModeArg::TolerateTail => RecoveryMode::TolerateTail,
            ModeArg::Absolute => RecoveryMode::Absolute,
            ModeArg::PointInTime => RecoveryMode::PointInTime,
            ModeArg::SkipCorrupt => RecoveryMode::SkipCorrupt,
        }
    }
}

/// Where reading resumes after damage that breaks framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ResyncArg {
    /// At the next block boundary, as LevelDB and RocksDB do.
    Block,
    /// At the next header with a valid checksum in the damaged block (salvage).
    Scan,
}

impl From<ResyncArg> for Resync {
    fn from(r: ResyncArg) -> Resync {
        match r {
            ResyncArg::Block => Resync::Block,
            ResyncArg::Scan => Resync::Scan,
        }
    }
}

/// Options every reading command takes.
#[derive(Debug, Args)]
struct ReadOpts {
    /// Expected log number of recyclable records [default: the number in the
    /// file name, as in 000123.log; otherwise the first recyclable record's].
    #[arg(long, value_name = "N")]
    log_number: Option<u32>,
    /// Where reading resumes after damage that breaks framing.
    #[arg(long, value_enum, default_value = "block", value_name = "HOW")]
    resync: ResyncArg,
}

#[derive(Debug, Args)]
struct DumpArgs {
    /// Recovery mode.
    #[arg(long, value_enum, default_value = "tolerate-tail", value_name = "M")]
    mode: ModeArg,
    #[command(flatten)]
    read: ReadOpts,
    /// Start at the first record whose first fragment begins at or after this offset.
    #[arg(long, default_value_t = 0, value_name = "N")]
    start_offset: u64,
    /// One JSON object per line (see docs/cli.md for the contract).
    #[arg(long)]
    json: bool,
    /// The log file.
    file: PathBuf,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Recovery mode.
    #[arg(long, value_enum, default_value = "tolerate-tail", value_name = "M")]
    mode: ModeArg,
    #[command(flatten)]
    read: ReadOpts,
    /// Draw each file as a strip of blocks coloured by state: FILE.svg with
    /// labels, or FILE.png of shapes only (legend order printed on stderr).
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    map: Option<PathBuf>,
    /// The log files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct RecoverArgs {
    /// Recovery mode deciding which records are kept.
    #[arg(long, value_enum, value_name = "M")]
    mode: ModeArg,
    #[command(flatten)]
    read: ReadOpts,
    /// Where to write the new log (never the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
    /// The damaged log.
    file: PathBuf,
}

/// Output formats of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// An aligned table for the terminal.
    Table,
    /// A Markdown table.
    Markdown,
    /// One JSON document.
    Json,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: FormatArg,
    /// Draw a grouped bar chart of records recovered per mode (SVG).
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
    /// Seed of the built-in scenarios' random records.
    #[arg(long, default_value_t = scenarios::DEFAULT_SEED)]
    seed: u64,
    /// Also write each built-in scenario's log file into this directory.
    #[arg(long, value_name = "DIR")]
    save_scenarios: Option<PathBuf>,
    /// Logs to compare the modes on, instead of the built-in scenarios.
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help or --version; nothing more to do if printing fails.
            let _ = e.print();
            return ExitCode::from(EXIT_OK);
        }
        Err(e) => {
            // A usage error, as one line.
            let text = e.render().to_string();
            let mut line = String::new();
            for part in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if !line.is_empty() {
                    let joined = part.starts_with('[') || line.ends_with(':');
                    line.push_str(if joined { " " } else { "; " });
                }
                line.push_str(part);
            }
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            let _ = writeln!(io::stderr(), "blocklog: {line}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match cli.command {
        Command::Dump(a) => dump::run(&dump::DumpOptions {
            settings: Settings {
                mode: a.mode.into(),
                resync: a.read.resync.into(),
                log_number: a.read.log_number,
                initial_offset: a.start_offset,
            },
            log_number_given: a.read.log_number.is_some(),
            json: a.json,
            file: a.file,
        }),
        Command::Verify(a) => verify::run(&verify::VerifyOptions {
            mode: a.mode.into(),
            resync: a.read.resync.into(),
            log_number: a.read.log_number,
            map: a.map,
            files: a.files,
        }),
        Command::Recover(a) => recover::run(&recover::RecoverOptions {
            mode: a.mode.into(),
            resync: a.read.resync.into(),
            log_number: a.read.log_number,
            input: a.file,
            output: a.output,
            force: a.force,
        }),
        Command::Compare(a) => compare::run(&compare::CompareOptions {
            format: match a.format {
                FormatArg::Table => compare::Format::Table,
                FormatArg::Markdown => compare::Format::Markdown,
                FormatArg::Json => compare::Format::Json,
            },
            chart: a.chart,
            seed: a.seed,
            save_scenarios: a.save_scenarios,
            files: a.files,
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.code == EXIT_OK => ExitCode::SUCCESS,
        Err(e) => {
            let _ = io::stdout().flush();
            let _ = writeln!(io::stderr(), "blocklog: {e}");
            ExitCode::from(e.code)
        }
    }
}
