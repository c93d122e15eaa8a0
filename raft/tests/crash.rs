//! Real crashes of the log store: a child process votes, appends (several
//! appends in flight at once), truncates and purges in a loop, printing
//! `DO <op>` before each operation and `ACK <op number>` when it is
//! acknowledged (the flush callback for an append; the return for the
//! others); the parent kills it with SIGKILL after a random number of
//! acknowledgements, reopens the store and checks that its state is the
//! acknowledged state plus, at most, a prefix of the operations in flight:
//! no acknowledged entry lost, no truncated or purged entry back, the vote
//! never behind the last one acknowledged. The next child carries on from
//! the recovered state in the same directory.
//!
//! The child is this test binary, re-executed. Rounds and seed:
//! `BLOCKLOG_RAFT_CRASH_ROUNDS` (default 40; the ignored `_long` test:
//! 150), `BLOCKLOG_RAFT_CRASH_SEED`.

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::mpsc;

use blocklog_raft::{LogStore, Options};
use blocklog_testkit::kill_loop::{self, env_or, say, ChildArgs, KillLoop};
use blocklog_testkit::rng::Rng;
use common::*;
use openraft::storage::RaftLogStorage;
use openraft::Vote;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// Entries `first .. first + n` of `term`, each with `value`.
    Append {
        term: u64,
        first: u64,
        n: u64,
        value: String,
    },
    Vote(u64),
    Truncate(u64),
    Purge {
        term: u64,
        index: u64,
    },
}

impl Op {
    fn line(&self) -> String {
        match self {
            Op::Append {
                term,
                first,
                n,
                value,
            } => format!("A {term} {first} {n} {value}"),
            Op::Vote(t) => format!("V {t}"),
            Op::Truncate(i) => format!("T {i}"),
            Op::Purge { term, index } => format!("P {term} {index}"),
        }
    }

    fn parse(s: &str) -> Op {
        let f: Vec<&str> = s.split_whitespace().collect();
        let n = |i: usize| f[i].parse::<u64>().unwrap();
        match f[0] {
            "A" => Op::Append {
                term: n(1),
                first: n(2),
                n: n(3),
                value: f[4].to_string(),
            },
            "V" => Op::Vote(n(1)),
            "T" => Op::Truncate(n(1)),
            "P" => Op::Purge {
                term: n(1),
                index: n(2),
            },
            other => panic!("unknown op {other}"),
        }
    }
}

/// The store's state as the operations define it (the same rules as the
/// store's, written again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Model {
    vote: Option<u64>,
    purged: Option<(u64, u64)>,
    entries: BTreeMap<u64, (u64, String)>,
}

impl Model {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Append {
                term,
                first,
                n,
                value,
            } => {
                for i in *first..first + n {
                    self.entries.insert(i, (*term, value.clone()));
                }
            }
            Op::Vote(t) => self.vote = Some(*t),
            Op::Truncate(i) => drop(self.entries.split_off(i)),
            Op::Purge { term, index } => {
                if self.purged.is_none_or(|(_, p)| p < *index) {
                    self.entries = self.entries.split_off(&(index + 1));
                    self.purged = Some((*term, *index));
                }
            }
        }
    }

    fn last(&self) -> Option<(u64, u64)> {
        match self.entries.last_key_value() {
            Some((i, (t, _))) => Some((*t, *i)),
            None => self.purged,
        }
    }

    fn from_image(img: &Image) -> Model {
        Model {
            vote: img.vote.map(|v| v.leader_id.term),
            purged: img.last_purged.map(|l| (l.leader_id.term, l.index)),
            entries: img
                .entries
                .iter()
                .map(|(t, i, v)| (*i, (*t, v.clone())))
                .collect(),
        }
    }
}

/// The child: operations until killed (or a safety limit).
fn child(dir: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let max_file = [4 << 10, 64 << 10, 64 << 20][rng.below(3) as usize];
    let rt = runtime();
    rt.block_on(async {
        let mut s: Store = LogStore::open(dir, Options::new().max_file_size(max_file)).unwrap();
        let mut m = Model::from_image(&image(&mut s).await);
        let (tx, rx) = mpsc::channel::<()>();
        let mut in_flight = 0;
        for k in 0..20_000u64 {
            let first_index = m.purged.map_or(1, |p| p.1 + 1);
            let last_index = m.last().map_or(0, |l| l.1);
            let has_entries = !m.entries.is_empty();
            let term = m.vote.unwrap_or(0);
            let op = match rng.below(10) {
                _ if m.vote.is_none() => Op::Vote(1),
                0 => Op::Vote(term + 1),
                1 if has_entries => {
                    Op::Truncate(rng.range(first_index as usize, last_index as usize) as u64)
                }
                2 if has_entries => {
                    let index = rng.range(first_index as usize, last_index as usize) as u64;
                    Op::Purge {
                        term: m.entries[&index].0,
                        index,
                    }
                }
                _ => Op::Append {
                    term,
                    first: last_index + 1,
                    n: rng.range(1, 4) as u64,
                    value: format!("s{seed:x}k{k}"),
                },
            };
            say(&format!("DO {k} {}", op.line()));
            m.apply(&op);
            match &op {
                Op::Append {
                    term,
                    first,
                    n,
                    value,
                } => {
                    let entries = (*first..first + n)
                        .map(|i| entry(*term, i, value))
                        .collect();
                    let tx = tx.clone();
                    s.append_with(entries, move |r| {
                        r.unwrap();
                        say(&format!("ACK {k}"));
                        let _ = tx.send(());
                    })
                    .unwrap();
                    in_flight += 1;
                    if in_flight >= rng.range(1, 15) {
                        for _ in 0..in_flight {
                            rx.recv().unwrap();
                        }
                        in_flight = 0;
                    }
                }
                Op::Vote(t) => s.save_vote(&Vote::new(*t, 0)).await.unwrap(),
                Op::Truncate(i) => s.truncate(log_id(0, *i)).await.unwrap(),
                Op::Purge { term, index } => s.purge(log_id(*term, *index)).await.unwrap(),
            }
            if !matches!(op, Op::Append { .. }) {
                say(&format!("ACK {k}"));
            }
        }
    });
}

fn run(test_name: &str, rounds: u32) {
    let seed: u64 = env_or("BLOCKLOG_RAFT_CRASH_SEED", 20261203);
    let kl = KillLoop::new(test_name);
    let dir = kl.dir().join("wal");
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    let rt = runtime();
    let (mut acked_total, mut beyond_ack, mut ops_total) = (0u64, 0u64, 0u64);
    let (mut purge_kills, mut files_dropped) = (0u64, 0u64);
    for round in 0..rounds {
        let kill_after = match rng.below(8) {
            0 => 0,
            1 => rng.range(1, 4),
            _ => rng.range(4, 60),
        };
        // Some rounds are killed instead as soon as a purge starts (its
        // `DO` line read), so the kill lands in or just before the purge:
        // its record's write and sync, the files' unlinks.
        let kill_at_purge = kill_after > 3 && rng.below(3) == 0;
        let mut killed = kill_after == 0;
        let mut child = kl.spawn(&ChildArgs {
            path: dir.clone(),
            round,
            seed: rng.next_u64(),
        });
        let mut pending: VecDeque<(u64, Op)> = VecDeque::new();
        let mut acks = 0;
        if kill_after == 0 {
            child.kill();
        }
        while let Some(line) = child.next_line() {
            if let Some(rest) = line.strip_prefix("DO ") {
                let (k, op) = rest.split_once(' ').unwrap();
                let op = Op::parse(op);
                if kill_at_purge && !killed && matches!(op, Op::Purge { .. }) {
                    child.kill(); // SIGKILL
                    killed = true;
                    purge_kills += 1;
                }
                pending.push_back((k.parse().unwrap(), op));
                ops_total += 1;
            } else if let Some(k) = line.strip_prefix("ACK ") {
                let k: u64 = k.parse().unwrap();
                let (oldest, op) = pending.pop_front().expect("an ACK without its DO");
                assert_eq!(k, oldest, "round {round}: acknowledged out of log order");
                model.apply(&op);
                acks += 1;
                acked_total += 1;
                if acks == kill_after && !kill_at_purge {
                    child.kill(); // SIGKILL
                    killed = true;
                }
            }
        }
        child.wait_killed();
        // The recovered state: the acknowledged one plus a prefix of what
        // was in flight.
        let img = rt.block_on(async { image(&mut open(&dir)).await });
        let got = Model::from_image(&img);
        let mut candidate = model.clone();
        let mut matched = candidate == got;
        let mut extra = 0;
        for (_, op) in &pending {
            if matched {
                break;
            }
            candidate.apply(op);
            extra += 1;
            matched = candidate == got;
        }
        assert!(
            matched,
            "round {round}: recovered state is neither the acknowledged one nor it plus a prefix \
             of the {} operations in flight\nacknowledged: {model:?}\nin flight: {pending:?}\n\
             recovered: {got:?}",
            pending.len()
        );
        assert!(got.vote >= model.vote, "round {round}: the vote went back");
        beyond_ack += extra;
        model = got;
        // Files are never recycled here: the lowest file's number says how
        // many purges deleted.
        let lowest = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                blocklog::wal::dir::parse_name(&e.unwrap().file_name().to_string_lossy())
            })
            .min()
            .unwrap_or(1);
        files_dropped = lowest - 1;
    }
    eprintln!(
        "raft crash test: {rounds} rounds, {ops_total} operations, {acked_total} acknowledged, \
         {beyond_ack} in flight and recovered anyway; {purge_kills} killed as a purge started, \
         {files_dropped} WAL files deleted by purges; final: {} entries, vote {:?}, purged {:?}",
        model.entries.len(),
        model.vote,
        model.purged
    );
    assert!(
        acked_total > u64::from(rounds),
        "too few acknowledgements to mean anything"
    );
    assert!(
        files_dropped > 0 && purge_kills > 0,
        "no purge deleted a file, or no kill landed at a purge: the run does not cover purge"
    );
}

fn child_or(test_name: &str, default_rounds: u32) {
    if let Some(c) = kill_loop::child_args() {
        child(&c.path, c.seed);
        return;
    }
    run(
        test_name,
        env_or("BLOCKLOG_RAFT_CRASH_ROUNDS", default_rounds),
    );
}

#[test]
fn sigkill_while_voting_appending_truncating_purging() {
    child_or("sigkill_while_voting_appending_truncating_purging", 40);
}

/// The long run, for CI's post stage (`.ci/post-raft.sh`).
#[test]
#[ignore]
fn sigkill_while_voting_appending_truncating_purging_long() {
    child_or(
        "sigkill_while_voting_appending_truncating_purging_long",
        150,
    );
}
