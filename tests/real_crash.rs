//! Real crashes: a child process appends records to a file and syncs,
//! printing each acknowledgement; the parent kills it with SIGKILL at a
//! random moment, reopens the file and checks that every acknowledged
//! record is there, that nothing else is (only records the child wrote, in
//! order), then cuts the torn tail and lets the next child append to the
//! same log.
//!
//! The child is this test binary itself, re-executed with an environment
//! variable (no helper binary to locate). Rounds and seed:
//! `BLOCKLOG_REAL_CRASH_ROUNDS` (default 200), `BLOCKLOG_REAL_CRASH_SEED`.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use blocklog::{Position, ReaderOptions, RecoveryMode, Writer, WriterOptions};
use blocklog_testkit::kill_loop::{self, env_or, kill_delay, say, ChildArgs, KillLoop};
use blocklog_testkit::read::read;
use blocklog_testkit::rng::Rng;

const TEST_NAME: &str = "sigkill_during_synced_appends";

/// The payload of record `i` of round `round`: the two numbers, then bytes
/// derived from them, so the parent can tell any record's identity and
/// check its every byte.
fn payload(seed: u64, round: u32, i: u32) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ (u64::from(round) << 32) ^ u64::from(i));
    let len = match rng.below(20) {
        0 => rng.range(20_000, 100_000),
        1..=3 => rng.range(300, 5000),
        _ => rng.range(0, 300),
    };
    let mut p = Vec::with_capacity(len + 8);
    p.extend_from_slice(&round.to_le_bytes());
    p.extend_from_slice(&i.to_le_bytes());
    p.extend_from_slice(&rng.bytes(len));
    p
}

/// The child: append and sync until killed (or a safety limit).
fn child(path: &Path, round: u32, seed: u64) {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap();
    let len = file.seek(SeekFrom::End(0)).unwrap();
    let mut rng = Rng::new(seed ^ u64::from(round) ^ 0xC41D);
    let buffer = [0, 4096, 64 * 1024][rng.below(3) as usize];
    let mut w = WriterOptions::new()
        .append_at(len)
        .buffer_size(buffer)
        .build(file);
    let started = Instant::now();
    let mut i = 0u32;
    while i < 20_000 && started.elapsed() < Duration::from_secs(5) {
        let batch = rng.range(1, 4) as u32;
        for _ in 0..batch {
            w.add_record(&payload(seed, round, i)).unwrap();
            i += 1;
        }
        w.sync().unwrap();
        say(&format!("ACK {round} {i}"));
    }
}

#[derive(Debug, Default)]
struct Stats {
    rounds: u64,
    acked: u64,
    recovered_beyond_ack: u64,
    killed_before_first_ack: u64,
    torn_tails: u64,
    bytes_cut: u64,
}

/// Reads the log and checks it: records are `(round, i)` in order, each
/// round contiguous from 0, rounds before `round` exactly as kept, and this
/// round's count at least `acked`. Returns the records' payloads.
fn verify(
    path: &Path,
    seed: u64,
    kept: &[(u32, u32)],
    round: u32,
    acked: u32,
    st: &mut Stats,
) -> Vec<Vec<u8>> {
    let log = std::fs::read(path).unwrap();
    let mut reference = None;
    for mode in RecoveryMode::ALL {
        let out = read(&log, ReaderOptions::new().mode(mode));
        match (&out.error, mode) {
            (None, _) => {}
            (Some(e), RecoveryMode::Absolute) => {
                assert_eq!(
                    e.damage().map(|d| d.position),
                    Some(Position::Tail),
                    "round {round}: {e}"
                )
            }
            (Some(e), _) => panic!("round {round} {mode}: {e}"),
        }
        let records: Vec<Vec<u8>> = out.returned().iter().map(|r| r.payload.to_vec()).collect();
        match &reference {
            None => {
                if !out.dropped.is_empty() {
                    st.torn_tails += 1;
                }
                reference = Some(records);
            }
            Some(r) if mode == RecoveryMode::Absolute => assert!(r.starts_with(&records)),
            Some(r) => assert_eq!(
                r, &records,
                "round {round}: {mode} differs from tolerate-tail"
            ),
        }
    }
    let records = reference.unwrap();
    let mut this_round = 0u32;
    for (k, p) in records.iter().enumerate() {
        assert!(
            p.len() >= 8,
            "round {round}: record #{k} too short to be ours"
        );
        let r = u32::from_le_bytes(p[0..4].try_into().unwrap());
        let i = u32::from_le_bytes(p[4..8].try_into().unwrap());
        assert_eq!(
            p,
            &payload(seed, r, i),
            "round {round}: record #{k} ({r}, {i}) altered or invented"
        );
        if k < kept.len() {
            assert_eq!((r, i), kept[k], "round {round}: an earlier record changed");
        } else {
            assert_eq!(
                (r, i),
                (round, this_round),
                "round {round}: record #{k} out of order"
            );
            this_round += 1;
        }
    }
    assert!(
        this_round >= acked,
        "round {round}: {acked} records acknowledged, {this_round} recovered"
    );
    st.acked += u64::from(acked);
    st.recovered_beyond_ack += u64::from(this_round - acked);
    records
}

#[test]
fn sigkill_during_synced_appends() {
    if let Some(c) = kill_loop::child_args() {
        child(&c.path, c.round, c.seed);
        return;
    }
    let rounds: u32 = env_or("BLOCKLOG_REAL_CRASH_ROUNDS", 200);
    let seed: u64 = env_or("BLOCKLOG_REAL_CRASH_SEED", 20261121);
    let kl = KillLoop::new(TEST_NAME);
    let mut rng = Rng::new(seed);
    let mut st = Stats::default();
    let mut kept: Vec<(u32, u32)> = Vec::new();
    let mut path = kl.dir().join("log-0");
    for round in 0..rounds {
        if round % 10 == 0 {
            path = kl.dir().join(format!("log-{round}"));
            kept.clear();
        }
        let child = kl.spawn(&ChildArgs {
            path: path.clone(),
            round,
            seed,
        });
        let delay = kill_delay(&mut rng, 3_000, 40_000);
        let mut acked = 0u32;
        for line in child.kill_after(delay) {
            let mut f = line.split_whitespace();
            if f.next() == Some("ACK") {
                let r: u32 = f.next().unwrap().parse().unwrap();
                assert_eq!(r, round);
                acked = f.next().unwrap().parse().unwrap();
            }
        }
        if acked == 0 {
            st.killed_before_first_ack += 1;
        }
        if !path.exists() {
            File::create(&path).unwrap();
        }
        let records = verify(&path, seed, &kept, round, acked, &mut st);
        // Cut the torn tail (if any) so the next child appends after the
        // last whole record: exactly the bytes a writer would have produced.
        let mut w = Writer::new(Vec::new());
        for p in &records {
            w.add_record(p).unwrap();
        }
        let clean = w.into_inner().unwrap();
        let log = std::fs::read(&path).unwrap();
        assert_eq!(
            &log[..clean.len()],
            &clean[..],
            "round {round}: the log's prefix is not what a writer writes"
        );
        st.bytes_cut += (log.len() - clean.len()) as u64;
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(clean.len() as u64)
            .unwrap();
        kept = records
            .iter()
            .map(|p| {
                (
                    u32::from_le_bytes(p[0..4].try_into().unwrap()),
                    u32::from_le_bytes(p[4..8].try_into().unwrap()),
                )
            })
            .collect();
        st.rounds += 1;
    }
    println!(
        "real crashes (seed {seed}): {} SIGKILLs in {:.1} s; {} records acknowledged, all recovered (+{} written but not yet acknowledged); {} kills before the first ack; {} torn tails ({} bytes cut); records lost: 0",
        st.rounds,
        kl.elapsed().as_secs_f64(),
        st.acked,
        st.recovered_beyond_ack,
        st.killed_before_first_ack,
        st.torn_tails,
        st.bytes_cut
    );
}
