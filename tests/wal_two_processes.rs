//! Two OS processes on one WAL directory (issue 11; `docs/wal.md`,
//! "Files", the `LOCK`): while one process holds a `Wal`, a `Wal::open` by
//! a second process fails at once with `Error::Locked` naming `LOCK` and
//! changes nothing; the holder goes on appending and syncing, unaffected;
//! a read-only `WalReader` in the second process still reads (it takes no
//! lock); once the holder exits, or is killed with SIGKILL, the lock is free
//! and the next open recovers every batch the holder acknowledged.
//!
//! The processes are this test binary re-executed with an environment
//! variable saying which role to play (no helper binary to locate): the
//! holder takes commands on stdin and answers on stdout, one line each, so
//! every step waits for the previous one's answer (nothing depends on timing).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use blocklog::wal::{dir, Batch, Wal, WalEvent, WalOptions, WalReader};
use blocklog::Error;

const ROLE: &str = "BLOCKLOG_WAL_ROLE";
const DIR: &str = "BLOCKLOG_WAL_DIR";
const TEST_NAME: &str =
    "second_process_open_fails_locked_holder_unaffected_lock_freed_on_exit_and_sigkill";

fn batch(i: u64) -> Batch {
    let mut b = Batch::new();
    b.put(format!("holder batch {i}").as_bytes()).unwrap();
    b
}

/// The holder: opens the WAL, then for each line on stdin: `append` appends
/// and syncs a batch and answers `ACK <seq>`; `close` closes and exits.
/// Answers `HELD <next_seq>` once open.
fn holder(d: &Path) {
    let mut wal = Wal::open(d, WalOptions::new()).unwrap();
    let mut out = std::io::stdout();
    writeln!(out, "HELD {}", wal.next_seq()).unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        match line.unwrap().as_str() {
            "append" => {
                let seq = wal.append(&batch(wal.next_seq())).unwrap();
                wal.sync().unwrap();
                writeln!(out, "ACK {seq}").unwrap();
            }
            "close" => {
                wal.close().unwrap();
                writeln!(out, "CLOSED").unwrap();
                out.flush().unwrap();
                return;
            }
            other => panic!("holder: unknown command {other}"),
        }
        out.flush().unwrap();
    }
}

/// The prober: one `Wal::open`, its outcome on stdout; then a read-only
/// `WalReader` over the directory, the number of batches it read.
fn prober(d: &Path) {
    match Wal::open(d, WalOptions::new()) {
        Ok(wal) => {
            println!("OPENED {}", wal.recovery().batches());
            wal.close().unwrap();
        }
        Err(Error::Locked { path }) => println!("LOCKED {}", path.display()),
        Err(e) => println!("ERROR {e}"),
    }
    let mut r = WalReader::open(d, &WalOptions::new()).unwrap();
    let mut n = 0;
    while let Some(e) = r.next_event().unwrap() {
        if matches!(e, WalEvent::Batch(_)) {
            n += 1;
        }
    }
    println!("READ {n}");
}

fn spawn(role: &str, d: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DIR, d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The lines of a child's stdout that are ours (the test harness prints
/// its own lines too, and "test NAME ... " before ours on the same line).
struct Lines(BufReader<ChildStdout>);

impl Lines {
    fn next(&mut self, prefix: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.0.read_line(&mut line).unwrap();
            assert!(n > 0, "child exited before answering {prefix}");
            // Our word, then a space or the end of the line.
            let ours = line.match_indices(prefix).find(|(at, _)| {
                line[at + prefix.len()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
            });
            if let Some((at, _)) = ours {
                return line[at + prefix.len()..].trim().to_string();
            }
        }
    }
}

struct Holder {
    child: Child,
    stdin: ChildStdin,
    out: Lines,
}

impl Holder {
    fn start(d: &Path) -> (Holder, u64) {
        let mut child = spawn("holder", d);
        let stdin = child.stdin.take().unwrap();
        let mut out = Lines(BufReader::new(child.stdout.take().unwrap()));
        let next: u64 = out.next("HELD").parse().unwrap();
        (Holder { child, stdin, out }, next)
    }

    fn append(&mut self) -> u64 {
        writeln!(self.stdin, "append").unwrap();
        self.stdin.flush().unwrap();
        self.out.next("ACK").parse().unwrap()
    }
}

/// Runs a prober to its end: `(LOCKED path | OPENED batches | ERROR e, batches read)`.
fn probe(d: &Path) -> (String, u64) {
    let mut child = spawn("prober", d);
    let mut out = Lines(BufReader::new(child.stdout.take().unwrap()));
    // The first of our lines is the open's outcome.
    let mut line = String::new();
    let first = loop {
        line.clear();
        if out.0.read_line(&mut line).unwrap() == 0 {
            panic!("prober said nothing: {:?}", child.wait());
        }
        let found = ["LOCKED ", "OPENED ", "ERROR "]
            .iter()
            .find_map(|p| line.find(p));
        if let Some(at) = found {
            break line[at..].trim_end().to_string();
        }
    };
    let read: u64 = out.next("READ").parse().unwrap();
    assert!(child.wait().unwrap().success(), "prober failed");
    (first, read)
}

/// Every file of `d` and its contents.
fn snapshot(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(d)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The sequence numbers of the batches in `d` (tolerate-tail).
fn seqs(d: &Path) -> Vec<u64> {
    let mut r = WalReader::open(d, &WalOptions::new()).unwrap();
    let mut v = Vec::new();
    while let Some(e) = r.next_event().unwrap() {
        if let WalEvent::Batch(b) = e {
            assert_eq!(
                b.entries().unwrap(),
                [format!("holder batch {}", b.seq).into_bytes()]
            );
            v.push(b.seq);
        }
    }
    v
}

// The LOCK of docs/wal.md ("Files") across processes; W1 after a clean
// exit, W2/W1 after SIGKILL (every acknowledged batch recovered).
#[test]
fn second_process_open_fails_locked_holder_unaffected_lock_freed_on_exit_and_sigkill() {
    if let (Some(role), Some(d)) = (std::env::var_os(ROLE), std::env::var_os(DIR)) {
        match role.to_str() {
            Some("holder") => holder(Path::new(&d)),
            Some("prober") => prober(Path::new(&d)),
            other => panic!("unknown role {other:?}"),
        }
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let lock_path = d.join(dir::LOCK_NAME);

    // A holder with two acknowledged batches.
    let (mut h, next) = Holder::start(d);
    assert_eq!(next, 1);
    assert_eq!(h.append(), 1);
    assert_eq!(h.append(), 2);

    // A second process: Locked, naming LOCK; nothing changed; reading works.
    let before = snapshot(d);
    let (outcome, read) = probe(d);
    assert_eq!(outcome, format!("LOCKED {}", lock_path.display()));
    assert_eq!(read, 2, "the read-only reader takes no lock");
    assert_eq!(
        snapshot(d),
        before,
        "the refused open changed the directory"
    );

    // The holder is unaffected: it appends and syncs on, then exits.
    assert_eq!(h.append(), 3);
    writeln!(h.stdin, "close").unwrap();
    h.stdin.flush().unwrap();
    h.out.next("CLOSED");
    assert!(h.child.wait().unwrap().success());
    assert_eq!(seqs(d), [1, 2, 3]);

    // After the exit the lock is free: the next process opens (and closes).
    let (outcome, _) = probe(d);
    assert_eq!(outcome, "OPENED 3");

    // A holder killed with SIGKILL while holding the lock.
    let (mut h, next) = Holder::start(d);
    assert_eq!(next, 4);
    assert_eq!(h.append(), 4);
    let (outcome, _) = probe(d);
    assert!(outcome.starts_with("LOCKED "), "{outcome}");
    h.child.kill().unwrap(); // SIGKILL on Unix
    let status = h.child.wait().unwrap();
    assert!(!status.success(), "the holder was killed: {status:?}");
    drop(h.stdin);

    // The lock died with it; every acknowledged batch is recovered.
    let (outcome, read) = probe(d);
    assert_eq!(outcome, "OPENED 4");
    assert_eq!(read, 4);
    assert_eq!(seqs(d), [1, 2, 3, 4]);
}
