//! `blocklog`: inspect, verify, repair and compare recovery of write-ahead
//! logs in the LevelDB/RocksDB block format.
//!
//! See `docs/cli.md` for the commands, the JSON contract of `dump --json`
//! and the exit statuses.

mod args;
mod chart;
mod compare;
mod dump;
mod error;
mod input;
mod map;
mod plot;
mod recover;
mod text;
mod verify;
mod waldir;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use error::{EXIT_OK, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help or --version; nothing more to do if printing fails.
            let _ = e.print();
            return ExitCode::from(EXIT_OK);
        }
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "blocklog: {}",
                one_line(&e.render().to_string())
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match &cli.command {
        Command::Dump(a) => dump::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Recover(a) => recover::run(a),
        Command::Compare(a) => compare::run(a),
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

/// A usage error from clap, as one line.
fn one_line(text: &str) -> String {
    let mut line = String::new();
    for part in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !line.is_empty() {
            let joined = part.starts_with('[') || line.ends_with(':');
            line.push_str(if joined { " " } else { "; " });
        }
        line.push_str(part);
    }
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}
