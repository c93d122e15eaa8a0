//! The command line: every option declared once, as the clap `Args` the
//! commands run on. Modes, resync strategies and header formats are parsed
//! by the library's `FromStr` (`blocklog::RecoveryMode`, `blocklog::Resync`,
//! `blocklog::LogFormat`).

use std::path::PathBuf;
use std::time::Duration;

use blocklog::wal::Flavour;
use blocklog::{LogFormat, RecoveryMode, Resync};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use blocklog_testkit::scenarios;

/// Inspect, verify, repair and compare recovery of LevelDB/RocksDB-format logs.
#[derive(Debug, Parser)]
#[command(
    name = "blocklog",
    version,
    about = "Write-ahead logs in the LevelDB/RocksDB block format, with exact recovery modes and damage reports",
    long_about = None
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every record and every dropped region of a log, in file order.
    Dump(DumpArgs),
    /// Summarise logs: records, bytes, damage and the mode's verdict.
    Verify(VerifyArgs),
    /// Write a new, clean log holding the records a mode recovers.
    Recover(RecoverArgs),
    /// Compare the recovery modes on built-in corruption scenarios or on your files.
    Compare(CompareArgs),
}

/// What a recovery mode does, for `--help`.
fn mode_help(mode: RecoveryMode) -> &'static str {
    match mode {
        RecoveryMode::TolerateTail => "Drop damage at the tail; refuse damage in the interior",
        RecoveryMode::Absolute => "Refuse any damage",
        RecoveryMode::PointInTime => "Stop at the first damage, keeping everything before it",
        RecoveryMode::SkipCorrupt => "Drop every damaged region and keep going",
    }
}

/// Parses a recovery mode name with `RecoveryMode::from_str` (the names
/// are listed, with what each mode does, in `--help` and in the error for
/// a wrong one).
fn mode_parser() -> impl TypedValueParser<Value = RecoveryMode> {
    PossibleValuesParser::new(
        RecoveryMode::ALL.map(|m| PossibleValue::new(m.as_str()).help(mode_help(m))),
    )
    .try_map(|s| s.parse::<RecoveryMode>())
}

/// Parses a resync strategy name with `Resync::from_str`.
fn resync_parser() -> impl TypedValueParser<Value = Resync> {
    PossibleValuesParser::new([
        PossibleValue::new(Resync::Block.as_str())
            .help("At the next block boundary, as LevelDB and RocksDB do"),
        PossibleValue::new(Resync::Scan.as_str())
            .help("At the next header with a valid checksum in the damaged block (salvage)"),
    ])
    .try_map(|s| s.parse::<Resync>())
}

/// Parses a header format name with `LogFormat::from_str`.
fn format_parser() -> impl TypedValueParser<Value = LogFormat> {
    PossibleValuesParser::new([
        PossibleValue::new(LogFormat::Detect.as_str())
            .help("The first valid record fixes the format, as RocksDB reads"),
        PossibleValue::new(LogFormat::Legacy.as_str())
            .help("7-byte headers (LevelDB, RocksDB without log recycling)"),
        PossibleValue::new(LogFormat::Recyclable.as_str()).help(
            "11-byte headers with the log number (RocksDB with recycle_log_file_num > 0): \
             legacy records are a previous use of the file",
        ),
    ])
    .try_map(|s| s.parse::<LogFormat>())
}

/// Parses a WAL flavour name with `Flavour::from_str`.
fn flavour_parser() -> impl TypedValueParser<Value = Flavour> {
    PossibleValuesParser::new([
        PossibleValue::new(Flavour::Detect.as_str())
            .help("blocklog's when a file starts with blocklog's predecessor record, else foreign"),
        PossibleValue::new(Flavour::Blocklog.as_str())
            .help("Written by blocklog::wal::Wal: markers, seals, consecutive file numbers"),
        PossibleValue::new(Flavour::Foreign.as_str())
            .help("Another writer's (RocksDB's WAL files): sequence numbers checked, nothing else"),
    ])
    .try_map(|s| s.parse::<Flavour>())
}

/// How to read a log: the options of every reading command (`dump`,
/// `verify`, `recover`).
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// Recovery mode.
    #[arg(long, default_value = "tolerate-tail", value_name = "M", value_parser = mode_parser())]
    pub mode: RecoveryMode,
    /// The file's log number, compared only with recyclable headers (a
    /// legacy log reads the same with it) [default: the number in the file
    /// name, as in 000123.log].
    #[arg(long, value_name = "N")]
    pub log_number: Option<u32>,
    /// The header format.
    #[arg(long, default_value = "detect", value_name = "F", value_parser = format_parser())]
    pub format: LogFormat,
    /// Where reading resumes after damage that breaks framing.
    #[arg(long, default_value = "block", value_name = "HOW", value_parser = resync_parser())]
    pub resync: Resync,
    /// A WAL directory only: what its files are [default: detect].
    #[arg(long, value_name = "F", value_parser = flavour_parser())]
    pub wal: Option<Flavour>,
}

/// `blocklog dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// How to read.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Start at the first record whose first fragment begins at or after this offset.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub start_offset: u64,
    /// One JSON object per line (see docs/cli.md for the contract).
    #[arg(long)]
    pub json: bool,
    /// Follow the log while it grows: print each record as it completes
    /// (a regular file only; runs until killed, or see --idle-exit).
    #[arg(long)]
    pub follow: bool,
    /// With --follow: after SECS seconds (integer or fraction) without new
    /// bytes, take the log as complete, print what remains (a torn tail)
    /// and the end line, and exit.
    #[arg(long, value_name = "SECS", requires = "follow", value_parser = parse_secs)]
    pub idle_exit: Option<Duration>,
    /// The log file (`-`: standard input), or a WAL directory (its
    /// NNNNNN.log files, in numeric order).
    pub file: PathBuf,
}

/// Parses a non-negative number of seconds, such as `1` or `0.5`.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{s:?} is not a number of seconds"))
}

/// `blocklog verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// How to read.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Draw each file as a strip of blocks coloured by state, with its
    /// labels and legend: FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub map: Option<PathBuf>,
    /// The log files (`-`: standard input) or WAL directories.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `blocklog recover`: `--mode` has no default (the mode decides which
/// records are kept, so it is always said).
#[derive(Debug, Args)]
#[command(mut_arg("mode", |a| a
    .required(true)
    .default_value(None)
    .help("Recovery mode deciding which records are kept")))]
// Re-added after `--mode`, so that the usage line lists `--mode` first.
#[command(mut_arg("output", |a| a))]
pub struct RecoverArgs {
    /// How to read.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Where to write the new log (never the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// The damaged log (`-`: standard input).
    pub file: PathBuf,
}

/// Output formats of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for the terminal.
    Table,
    /// A Markdown table.
    Markdown,
    /// One JSON document.
    Json,
}

/// `blocklog compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Draw a grouped bar chart of records recovered per mode (SVG or PNG).
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub chart: Option<PathBuf>,
    /// Seed of the built-in scenarios' random records.
    #[arg(long, default_value_t = scenarios::DEFAULT_SEED)]
    pub seed: u64,
    /// Also write each built-in scenario's log file into this directory.
    #[arg(long, value_name = "DIR")]
    pub save_scenarios: Option<PathBuf>,
    /// Logs (or WAL directories) to compare the modes on, instead of the
    /// built-in scenarios.
    pub files: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn modes_and_resyncs_parse_with_the_library() {
        let cli =
            Cli::try_parse_from(["blocklog", "dump", "--mode", "point-in-time", "x.log"]).unwrap();
        let Command::Dump(a) = cli.command else {
            panic!("not dump")
        };
        assert_eq!(a.read.mode, RecoveryMode::PointInTime);
        assert_eq!(a.read.resync, Resync::Block);
        assert!(Cli::try_parse_from(["blocklog", "dump", "--mode", "lenient", "x.log"]).is_err());
        // recover needs --mode; the others default to tolerate-tail.
        assert!(Cli::try_parse_from(["blocklog", "recover", "-o", "y", "x.log"]).is_err());
        let cli = Cli::try_parse_from(["blocklog", "verify", "--resync", "scan", "x.log"]).unwrap();
        let Command::Verify(a) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(
            (a.read.mode, a.read.resync, a.read.format),
            (RecoveryMode::TolerateTail, Resync::Scan, LogFormat::Detect)
        );
        for f in [LogFormat::Detect, LogFormat::Legacy, LogFormat::Recyclable] {
            let cli =
                Cli::try_parse_from(["blocklog", "dump", "--format", f.as_str(), "x.log"]).unwrap();
            let Command::Dump(a) = cli.command else {
                panic!("not dump")
            };
            assert_eq!(a.read.format, f);
        }
        assert!(Cli::try_parse_from(["blocklog", "dump", "--format", "rocks", "x.log"]).is_err());
        // --idle-exit: seconds, integer or fraction, with --follow only.
        for (secs, want) in [("1", 1000), ("0.25", 250), ("0", 0)] {
            let cli =
                Cli::try_parse_from(["blocklog", "dump", "--follow", "--idle-exit", secs, "x.log"])
                    .unwrap();
            let Command::Dump(a) = cli.command else {
                panic!("not dump")
            };
            assert!(a.follow);
            assert_eq!(a.idle_exit, Some(Duration::from_millis(want)));
        }
        for bad in [
            vec!["blocklog", "dump", "--idle-exit", "1", "x.log"],
            vec!["blocklog", "dump", "--follow", "--idle-exit", "-1", "x.log"],
            vec![
                "blocklog",
                "dump",
                "--follow",
                "--idle-exit",
                "soon",
                "x.log",
            ],
            vec![
                "blocklog",
                "dump",
                "--follow",
                "--idle-exit",
                "inf",
                "x.log",
            ],
        ] {
            assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
        }
    }
}
