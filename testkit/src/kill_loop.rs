//! The kill -9 loop of the real-crash tests: the test binary re-runs
//! itself as a child process (in child mode, told so by environment
//! variables), the child prints its acknowledgements on stdout, the parent
//! kills it with SIGKILL at a point of its choosing, checks that what was
//! acknowledged survived, and starts the next round.
//!
//! This module holds the mechanics: spawning the test itself as a child
//! ([`KillLoop::spawn`], [`child_args`]), the acknowledgement lines
//! ([`say`], [`Child::next_line`]), the kill ([`Child::kill`],
//! [`Child::kill_after`]), the check that the child did not fail by itself
//! ([`Child::wait_killed`]), a random moment to kill at ([`kill_delay`]),
//! a hang guard ([`HANG_LIMIT`]) and the
//! settings read from the environment ([`env_or`]). What the child does,
//! where the parent kills it and what it checks after the restart are the
//! tests' own (`tests/real_crash.rs`, `tests/group_crash.rs`,
//! `raft/tests/crash.rs`).

use std::io::{BufRead, BufReader, Lines, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, ExitStatus, Stdio};
use std::str::FromStr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// The child's path (a file or a directory of the test's); its presence
/// is what puts the process in child mode.
const CHILD_PATH: &str = "BLOCKLOG_KILL_LOOP_PATH";
/// The child's round.
const CHILD_ROUND: &str = "BLOCKLOG_KILL_LOOP_ROUND";
/// The child's seed.
const CHILD_SEED: &str = "BLOCKLOG_KILL_LOOP_SEED";

/// How long one child may run before the hang guard kills it and fails
/// the round. A round takes milliseconds; the guard only turns a child
/// that hangs (and a parent waiting for an acknowledgement that never
/// comes) into a failure with the child's stderr, instead of a test that
/// never ends. No passing run depends on it.
pub const HANG_LIMIT: Duration = Duration::from_secs(120);

/// The environment variable `var` parsed, or `default` when it is unset
/// or does not parse (the rounds and seeds of the crash tests).
pub fn env_or<T: FromStr>(var: &str, default: T) -> T {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The moment of a kill, drawn from `rng`: one round in ten within the
/// first `early` µs (often before the first acknowledgement), the others
/// between `early` and `late` µs. Any moment must pass: the delay only
/// spreads the kills over what the child does.
pub fn kill_delay(rng: &mut Rng, early: u64, late: u64) -> Duration {
    let micros = match rng.below(10) {
        0 => rng.below(early),
        _ => rng.range(early as usize, late as usize) as u64,
    };
    Duration::from_micros(micros)
}

/// What [`KillLoop::spawn`] tells a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildArgs {
    /// The file or directory the child works on.
    pub path: PathBuf,
    /// The round the child belongs to.
    pub round: u32,
    /// The child's seed.
    pub seed: u64,
}

/// In a child spawned by [`KillLoop::spawn`], what it was told; `None` in
/// the parent (a test calls this first and, in a child, does the child's
/// work and returns).
pub fn child_args() -> Option<ChildArgs> {
    let path = std::env::var_os(CHILD_PATH)?;
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} unset"));
    Some(ChildArgs {
        path: PathBuf::from(path),
        round: var(CHILD_ROUND).parse().unwrap(),
        seed: var(CHILD_SEED).parse().unwrap(),
    })
}

/// In a child: prints `line` on stdout and flushes it, so that the parent
/// has read it before any kill that follows its reading.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// The parent's side of a kill loop: the test binary to re-run, the test
/// to run in it, a temporary directory for the test's files and the
/// children's stderr, and the clock of the whole run.
#[derive(Debug)]
pub struct KillLoop {
    exe: PathBuf,
    test_name: String,
    tmp: tempfile::TempDir,
    started: Instant,
}

impl KillLoop {
    /// A loop whose children run the test `test_name` of this test binary
    /// (by its exact name; ignored tests included).
    pub fn new(test_name: &str) -> KillLoop {
        KillLoop {
            exe: std::env::current_exe().unwrap(),
            test_name: test_name.to_string(),
            tmp: tempfile::tempdir().unwrap(),
            started: Instant::now(),
        }
    }

    /// A temporary directory for the test's files, removed with the loop.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// The time since [`KillLoop::new`].
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Starts a child: this test binary running the loop's test, with
    /// `args` in its environment (see [`child_args`]), stdout piped to the
    /// parent, stderr to a file shown if the child fails.
    pub fn spawn(&self, args: &ChildArgs) -> Child {
        let stderr = self.tmp.path().join("child.stderr");
        let mut process = Command::new(&self.exe)
            .args([
                "--exact",
                &self.test_name,
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_PATH, &args.path)
            .env(CHILD_ROUND, args.round.to_string())
            .env(CHILD_SEED, args.seed.to_string())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = process.stdout.take().unwrap();
        let process = Arc::new(Mutex::new(process));
        let (stop, stopped) = mpsc::channel::<()>();
        let guarded = Arc::clone(&process);
        // The child is reaped only after this thread has ended, so its pid
        // cannot have been reused when the guard kills it.
        let guard = std::thread::spawn(move || match stopped.recv_timeout(HANG_LIMIT) {
            Err(RecvTimeoutError::Timeout) => {
                let _ = guarded.lock().unwrap().kill();
                true
            }
            _ => false,
        });
        Child {
            process,
            lines: Some(BufReader::new(stdout).lines()),
            prefix: format!("test {} ... ", self.test_name),
            stderr,
            round: args.round,
            guard: Some((stop, guard)),
        }
    }
}

/// A running child of a [`KillLoop`].
#[derive(Debug)]
pub struct Child {
    process: Arc<Mutex<std::process::Child>>,
    lines: Option<Lines<BufReader<ChildStdout>>>,
    /// What libtest prints before the child's first line.
    prefix: String,
    stderr: PathBuf,
    round: u32,
    guard: Option<(mpsc::Sender<()>, JoinHandle<bool>)>,
}

impl Child {
    /// The next line the child printed (without the `test <name> ... `
    /// that libtest may print before the first one), or `None` once its
    /// stdout is closed: it was killed or it ended.
    pub fn next_line(&mut self) -> Option<String> {
        let line = self.lines.as_mut()?.next()?.ok()?;
        Some(strip(&self.prefix, line))
    }

    /// Kills the child with SIGKILL.
    pub fn kill(&self) {
        self.process.lock().unwrap().kill().unwrap();
    }

    /// Reads every line the child prints while `delay` passes, kills it,
    /// waits for it and returns the lines (as [`Child::next_line`] gives
    /// them). A child that ended by itself before the kill must have
    /// succeeded.
    pub fn kill_after(mut self, delay: Duration) -> Vec<String> {
        let lines = self.lines.take().unwrap();
        let prefix = self.prefix.clone();
        let reader = std::thread::spawn(move || {
            lines
                .map_while(Result::ok)
                .map(|line| strip(&prefix, line))
                .collect::<Vec<String>>()
        });
        std::thread::sleep(delay);
        self.kill();
        let lines = reader.join().unwrap();
        let status = self.finish();
        assert!(
            status.success() || status.code().is_none(),
            "round {}: the child failed ({status}):\n{}",
            self.round,
            self.stderr_text()
        );
        lines
    }

    /// Waits for the child, which must have been killed (by [`Child::kill`]):
    /// one that exited by itself failed, and its stderr is shown.
    pub fn wait_killed(mut self) {
        let status = self.finish();
        assert!(
            status.code().is_none(),
            "round {}: the child exited by itself ({status}): it failed:\n{}",
            self.round,
            self.stderr_text()
        );
    }

    /// Stops the hang guard (failing the round if it fired), then reaps
    /// the child.
    fn finish(&mut self) -> ExitStatus {
        self.lines = None;
        let (stop, guard) = self.guard.take().unwrap();
        drop(stop);
        let hung = guard.join().unwrap();
        let status = self.process.lock().unwrap().wait().unwrap();
        assert!(
            !hung,
            "round {}: the child hung; the hang guard killed it after {HANG_LIMIT:?}:\n{}",
            self.round,
            self.stderr_text()
        );
        status
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Child {
    /// A child left running (its round failed before [`Child::kill_after`]
    /// or [`Child::wait_killed`]) is killed and reaped.
    fn drop(&mut self) {
        if let Some((stop, guard)) = self.guard.take() {
            drop(stop);
            let _ = guard.join();
            if let Ok(mut process) = self.process.lock() {
                let _ = process.kill();
                let _ = process.wait();
            }
        }
    }
}

/// `line` without libtest's `prefix`.
fn strip(prefix: &str, line: String) -> String {
    match line.strip_prefix(prefix) {
        Some(rest) => rest.to_string(),
        None => line,
    }
}
