//! Crash simulation of the WAL directory (issue 11; `docs/reliability.md`,
//! "Directory crash model"): a workload runs `Wal` on a real directory
//! while `blocklog_testkit::simdir` records every step (create, open,
//! set_len, remove, directory fsync, every write and fdatasync of every
//! file). At every step boundary, the directory states a power loss could
//! leave there (lost directory entries, lost or torn unsynced data) are
//! written to a fresh directory and recovered, in tolerate-tail and
//! point-in-time modes:
//!
//! - `Wal::open` succeeds (W2, W8: a torn tail or a half-created file is
//!   never a refusal; W1 otherwise);
//! - the batches it replays are the first `m` batches appended, in order,
//!   entry for entry, with `m` at least the number acknowledged (append,
//!   then a `sync` or `close` that returned `Ok`) before the crash: nothing
//!   acknowledged lost, nothing invented, no duplicates;
//! - recovery after recovery: two more batches appended and synced, then a
//!   second open (after `close`, or after a crash without it) replays
//!   exactly the first recovery's batches and the two; the directory then
//!   reads as W1 in all four modes.
//!
//! The workload covers the first open (create of 000001.log), appends with
//! and without syncs, rotations (seal, create, predecessor, directory
//! fsync), close, a reopen of a closed WAL, a process crash with unsynced
//! batches and the reopen after it (cut, seal, new file). The purge
//! workload (`wal_crash_every_step_purge_recycle_*`) adds purges (marker,
//! unlinks, a directory fsync after each), recycling (rename of a free
//! file, reuse) and preallocation. The model refuses directory operations
//! it does not know (the extension point is in `testkit/src/simdir.rs`,
//! `on_dir_op`).
//!
//! `wal_crash_every_step_quick` runs in `cargo test` (a bounded, seeded
//! selection of states per step); `wal_crash_every_step_full` is the larger
//! run of `.ci/post-fuzz.sh` (`--ignored`; `BLOCKLOG_WAL_CRASH_SEED`,
//! `BLOCKLOG_WAL_CRASH_SEEDS`, `BLOCKLOG_WAL_CRASH_BUDGET` change it).
//!
//! `shared_wal_crash_every_step_quick` / `_full` run the same checks over a
//! `SharedWal` workload (group commit: several threads in a deterministic
//! interleaving, `Always` and `Bytes` with explicit syncs, gathering,
//! rotations, purges, dying processes; see `record_shared`).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use blocklog::wal::{
    dir, Batch, CommitOptions, DropReason, Problem, SharedWal, SyncPolicy, Wal, WalBatch, WalEvent,
    WalOptions, WalReader,
};
use blocklog::{Error, Position, RecoveryMode};
use blocklog_testkit::hold::{Call as HeldCall, Hold, HANG_GUARD};
use blocklog_testkit::rng::Rng;
use blocklog_testkit::simdir::{CrashState, SimDir};
use blocklog_testkit::wal_read;

/// Rotation threshold of the workload: a few batches per file.
const MAX_FILE: u64 = 2048;
/// The writer's staging buffer: large batches reach the file in pieces.
const BUFFER: usize = 256;

/// A batch as appended: its sequence number and entries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Exp {
    seq: u64,
    entries: Vec<Vec<u8>>,
}

/// The sequence numbers of `batches` (for failure messages).
fn seqs_of(batches: &[Exp]) -> Vec<u64> {
    batches.iter().map(|b| b.seq).collect()
}

impl Exp {
    fn last_seq(&self) -> u64 {
        self.seq + self.entries.len() as u64 - 1
    }

    fn of(b: &WalBatch) -> Exp {
        Exp {
            seq: b.seq,
            entries: b
                .entries()
                .expect("a replayed batch is well formed")
                .iter()
                .map(|e| e.to_vec())
                .collect(),
        }
    }
}

/// What the workload appended and what was acknowledged, by step.
#[derive(Debug)]
struct Model {
    /// `(first step, batches)`: the batches that may be on disk from that
    /// step on. A process crash loses the staged, never written batches:
    /// their sequence numbers are reused after the reopen, which starts a
    /// new epoch with the batches it recovered.
    epochs: Vec<(usize, Vec<Exp>)>,
    /// `(step, n)`: from that step on, the first `n` batches are acknowledged.
    acks: Vec<(usize, usize)>,
    /// `(step, checkpoint)`: a purge through `checkpoint` began at that
    /// step (from then on, batches at or below it may be gone).
    purges: Vec<(usize, u64)>,
    /// The options of the workload's WAL (given a mode): the recoveries
    /// use the same.
    opts: Opts,
}

/// A workload's options, given the recovery mode.
type Opts = fn(RecoveryMode) -> WalOptions;

impl Default for Model {
    fn default() -> Self {
        Model {
            epochs: vec![(0, Vec::new())],
            acks: Vec::new(),
            purges: Vec::new(),
            opts,
        }
    }
}

impl Model {
    fn list(&mut self) -> &mut Vec<Exp> {
        &mut self.epochs.last_mut().expect("an epoch").1
    }

    fn ack(&mut self, step: usize) {
        let n = self.list().len();
        self.acks.push((step, n));
    }

    /// The highest checkpoint of the purges begun by step `k` (0: none).
    fn purged_through(&self, k: usize) -> u64 {
        self.purges
            .iter()
            .filter(|(s, _)| *s <= k)
            .map(|p| p.1)
            .max()
            .unwrap_or(0)
    }

    /// The batches that may be on disk, and how many are acknowledged,
    /// after a crash at step `k`.
    fn at(&self, k: usize) -> (&[Exp], usize) {
        let list = &self
            .epochs
            .iter()
            .rev()
            .find(|(start, _)| *start <= k)
            .expect("epoch 0 starts at step 0")
            .1;
        let acked = self
            .acks
            .iter()
            .rev()
            .find(|(s, _)| *s <= k)
            .map_or(0, |a| a.1);
        (list, acked)
    }
}

/// A batch of one to three entries; now and then a large one that crosses
/// the staging buffer (written in pieces) or a block boundary.
fn random_batch(rng: &mut Rng, tag: u64) -> Batch {
    let mut b = Batch::new();
    for i in 0..rng.range(1, 3) {
        let len = match rng.below(8) {
            0 => rng.range(300, 1500),
            _ => rng.range(0, 60),
        };
        let mut e = format!("{tag}.{i}:").into_bytes();
        e.extend(rng.bytes(len));
        b.put(&e).expect("small entry");
    }
    b
}

fn opts(mode: RecoveryMode) -> WalOptions {
    WalOptions::new()
        .mode(mode)
        .max_file_size(MAX_FILE)
        .buffer_size(BUFFER)
}

fn replayed(dir: &Path, o: WalOptions) -> (Wal, Vec<Exp>) {
    let mut got = Vec::new();
    let wal = Wal::open_with(dir, o, |b| got.push(Exp::of(b)))
        .unwrap_or_else(|e| panic!("workload: open failed: {e}"));
    (wal, got)
}

/// Appends `n` random batches, syncing after each with probability 1/2.
fn appends(wal: &mut Wal, n: usize, rng: &mut Rng, sim: &SimDir, model: &mut Model) {
    for _ in 0..n {
        let b = random_batch(rng, wal.next_seq());
        let seq = wal.append(&b).expect("append");
        model.list().push(Exp {
            seq,
            entries: batch_entries(&b, seq),
        });
        if rng.chance(1, 2) {
            wal.sync().expect("sync");
            model.ack(sim.len());
        }
    }
}

/// The entries of `b` as its encoding holds them.
fn batch_entries(b: &Batch, seq: u64) -> Vec<Vec<u8>> {
    let mut b = b.clone();
    let payload = bytes::Bytes::copy_from_slice(b.encode(seq));
    blocklog::wal::batch::entries(&payload, 0)
        .expect("our own encoding")
        .iter()
        .map(|e| e.to_vec())
        .collect()
}

/// Runs the workload on `dir`, recording it; returns the recorder and the model.
fn record(dir: &Path, seed: u64) -> (SimDir, Model) {
    let sim = SimDir::new();
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    let o = || sim.attach(opts(RecoveryMode::TolerateTail));

    // A new WAL: 000001.log created; appends, syncs, rotations; close.
    let (mut wal, got) = replayed(dir, o());
    assert!(got.is_empty());
    appends(&mut wal, rng.range(8, 12), &mut rng, &sim, &mut model);
    wal.close().expect("close");
    model.ack(sim.len());

    // Reopen a closed WAL (a new file, nothing cut); appends; unsynced
    // batches; a process crash in the middle of writing a large batch.
    let (mut wal, got) = replayed(dir, o());
    assert_eq!(&got, model.list(), "workload: reopen after close");
    model.ack(sim.len());
    appends(&mut wal, rng.range(4, 7), &mut rng, &sim, &mut model);
    for _ in 0..rng.range(1, 2) {
        let b = random_batch(&mut rng, wal.next_seq());
        let seq = wal.append(&b).expect("append");
        model.list().push(Exp {
            seq,
            entries: batch_entries(&b, seq),
        });
    }
    sim.kill_in_next_write(rng.range(1, 600));
    let mut big = Batch::new();
    let big_len = rng.range(700, 1400);
    big.put(&rng.bytes(big_len)).unwrap();
    let seq = wal.next_seq();
    if wal.append(&big).is_ok() {
        model.list().push(Exp {
            seq,
            entries: batch_entries(&big, seq),
        });
        assert!(wal.sync().is_err(), "workload: the killed process synced");
    }
    drop(wal);
    sim.revive();

    // The reopen after the crash: what reached the page cache is replayed
    // (at least what was acknowledged), the torn tail cut, the file sealed,
    // a new file created. Every replayed batch is acknowledged once it
    // returns.
    reopen_after_crash(dir, &sim, &mut model, o());
    let (mut wal, got) = replayed(dir, o());
    assert_eq!(&got, model.list(), "workload: reopen after close");
    model.ack(sim.len());
    appends(&mut wal, rng.range(8, 12), &mut rng, &sim, &mut model);
    wal.close().expect("close");
    model.ack(sim.len());

    // A process crash while creating the next file (its predecessor torn,
    // W8): the next open deletes it and creates it again.
    sim.kill_in_next_write(rng.range(0, 30));
    assert!(
        Wal::open(dir, o()).is_err(),
        "workload: the killed process opened"
    );
    sim.revive();
    let (mut wal, got) = replayed(dir, o());
    assert_eq!(&got, model.list(), "workload: reopen after a torn creation");
    model.ack(sim.len());
    appends(&mut wal, rng.range(3, 6), &mut rng, &sim, &mut model);
    wal.close().expect("close");
    model.ack(sim.len());
    (sim, model)
}

/// Opens after a process crash: the replayed batches (a prefix of those
/// appended, holding every acknowledged one) start a new epoch, all
/// acknowledged once the open returns.
fn reopen_after_crash(dir: &Path, sim: &SimDir, model: &mut Model, o: WalOptions) {
    let start = sim.len();
    let (_, acked) = model.at(start);
    let (wal, got) = replayed(dir, o);
    assert!(got.len() >= acked, "workload: acknowledged batches lost");
    assert_eq!(&got[..], &model.list()[..got.len()], "workload: reopen");
    model.epochs.push((start, got));
    model.ack(sim.len());
    wal.close().expect("close");
    model.ack(sim.len());
}

/// Where the states are materialised: tmpfs when there is one (every
/// recovery fsyncs; the model, not the disk, decides what survived).
fn scratch_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

#[derive(Debug, Default)]
struct Tally {
    points: usize,
    states: usize,
    product: u128,
    /// The largest product of choices at one step.
    max_product: u128,
    /// Steps whose product exceeded the budget (states sampled, not all).
    sampled: usize,
    recoveries: usize,
    acked: usize,
    recovered: usize,
}

/// Recovers `state` (a crash at step `k`) in `mode` and checks it, then
/// appends, reopens and checks again.
fn check_state(
    model: &Model,
    k: usize,
    state: &CrashState,
    mode: RecoveryMode,
    close: bool,
    what: &str,
    t: &mut Tally,
) {
    let (list, acked) = model.at(k);
    let tmp = tempfile::tempdir_in(scratch_root()).unwrap();
    let d = tmp.path();
    state.materialise(d).unwrap();
    let ctx = || format!("{what}, step {k}, {mode}, state [{}]", state.desc);

    // W1/W2/W8 (W10 after a purge): open succeeds and replays, in order,
    // the batches appended from some start on: before the start only
    // batches a purge begun before the crash covers; at least through the
    // last acknowledged one.
    let mut got = Vec::new();
    let opts = model.opts;
    let mut wal = Wal::open_with(d, opts(mode), |b| got.push(Exp::of(b)))
        .unwrap_or_else(|e| panic!("{}: open failed: {e}", ctx()));
    t.recoveries += 1;
    let start = match got.first() {
        Some(first) => list.iter().position(|b| b == first).unwrap_or_else(|| {
            panic!("{}: replayed batch {} was never appended", ctx(), first.seq)
        }),
        None => list.iter().take_while(|b| b.seq < wal.next_seq()).count(),
    };
    let purged = model.purged_through(k);
    assert!(
        list[..start].iter().all(|b| b.last_seq() <= purged),
        "{}: batches {:?} missing at the start, purge checkpoint {purged}",
        ctx(),
        list[..start].iter().map(|b| b.seq).collect::<Vec<_>>()
    );
    assert!(
        start + got.len() <= list.len() && got[..] == list[start..start + got.len()],
        "{}: replayed batches are not a run of those appended: {:?}, appended {:?}",
        ctx(),
        seqs_of(&got),
        seqs_of(list)
    );
    assert!(
        start + got.len() >= acked,
        "{}: {} batches replayed from #{start}, {acked} acknowledged",
        ctx(),
        got.len()
    );
    t.acked += acked;
    t.recovered += got.len();
    let next = match (got.last(), start) {
        (Some(b), _) => b.last_seq() + 1,
        (None, 0) => 1,
        (None, s) => list[s - 1].last_seq() + 1,
    };
    assert_eq!(wal.next_seq(), next, "{}", ctx());

    // Recovery after recovery.
    let mut more = got.clone();
    for i in 0..2u64 {
        let mut b = Batch::new();
        b.put(format!("after-{k}-{i}").as_bytes()).unwrap();
        let seq = wal.append(&b).unwrap();
        more.push(Exp {
            seq,
            entries: vec![format!("after-{k}-{i}").into_bytes()],
        });
    }
    wal.sync().unwrap();
    if close {
        wal.close().unwrap();
    } else {
        drop(wal);
    }
    let mut again = Vec::new();
    let wal = Wal::open_with(d, opts(RecoveryMode::TolerateTail), |b| {
        again.push(Exp::of(b))
    })
    .unwrap_or_else(|e| panic!("{}: second open failed: {e}", ctx()));
    t.recoveries += 1;
    // The same batches, but for those the first open's finishing of an
    // interrupted purge removed (W10).
    let skipped = more.len().saturating_sub(again.len());
    assert!(
        more.ends_with(&again) && more[..skipped].iter().all(|b| b.last_seq() <= purged),
        "{}: second recovery: {:?}, expected {:?} (purge checkpoint {purged})",
        ctx(),
        seqs_of(&again),
        seqs_of(&more)
    );
    let more = again;
    wal.close().unwrap();

    // W1: sealed, cut, continuous: every mode reads it all, nothing dropped.
    for m in RecoveryMode::ALL {
        let mut r = WalReader::open(d, &opts(m)).unwrap();
        let mut read = Vec::new();
        loop {
            match r.next_event() {
                Ok(Some(WalEvent::Batch(b))) => read.push(Exp::of(&b)),
                Ok(Some(other)) => panic!("{}: {m} after recovery: {other:?}", ctx()),
                Ok(None) => break,
                Err(e) => panic!("{}: {m} after recovery: {e}", ctx()),
            }
        }
        assert!(
            read == more,
            "{}: {m} after recovery: {:?}, expected {:?}",
            ctx(),
            seqs_of(&read),
            seqs_of(&more)
        );
    }
}

/// A workload: runs on the directory with the seed, recording.
type Workload = fn(&Path, u64) -> (SimDir, Model);

/// Crashes the workload of `seed` at every step, checking up to `budget`
/// states per step.
fn crash_every_step(seed: u64, budget: usize, t: &mut Tally) {
    crash_every_step_of(record, seed, budget, t)
}

/// Crashes `workload` of `seed` at every step, checking up to `budget`
/// states per step.
fn crash_every_step_of(workload: Workload, seed: u64, budget: usize, t: &mut Tally) {
    let run_dir = tempfile::tempdir_in(scratch_root()).unwrap();
    let (sim, model) = workload(run_dir.path(), seed);
    let steps = sim.steps();
    if std::env::var_os("BLOCKLOG_WAL_CRASH_PRINT").is_some() {
        for (i, s) in steps.iter().enumerate() {
            println!("seed {seed} step {i}: {s}");
        }
    }
    let mut rng = Rng::new(seed ^ 0x51D1);
    for k in 0..=steps.len() {
        let (states, sizes) = sim.states(k, budget, &mut rng);
        t.points += 1;
        t.states += states.len();
        t.product += sizes.product;
        t.max_product = t.max_product.max(sizes.product);
        t.sampled += usize::from(sizes.product > budget as u128);
        let last = if k == 0 {
            "start".to_string()
        } else {
            steps[k - 1].to_string()
        };
        let what = format!("seed {seed}, after {last}");
        for (i, state) in states.iter().enumerate() {
            for mode in [RecoveryMode::TolerateTail, RecoveryMode::PointInTime] {
                check_state(&model, k, state, mode, i % 2 == 0, &what, t);
            }
        }
    }
    // The harness itself: the last state with everything is the workload's end.
    let end = sim.everything(steps.len());
    let (list, acked) = model.at(steps.len());
    assert_eq!(acked, list.len(), "the workload ends with close");
    assert!(!end.files.is_empty());
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// W1, W2, W8 (and the open steps of docs/wal.md): every step boundary of a
// workload with create, appends, syncs, rotations, close, reopen, a process
// crash and the reopen after it; a seeded selection of states per step.
#[test]
fn wal_crash_every_step_quick() {
    let mut t = Tally::default();
    let first = env_u64("BLOCKLOG_WAL_CRASH_SEED", 11);
    for seed in first..first + 3 {
        crash_every_step(seed, 64, &mut t);
    }
    println!("wal crash quick: {t:?}");
    assert!(t.points > 250, "{t:?}");
    assert!(
        t.states >= t.product as usize / 2,
        "most of the product checked: {t:?}"
    );
}

// The larger run of .ci/post-fuzz.sh: several seeds, more states per step.
#[test]
#[ignore = "slow: run by .ci/post-fuzz.sh"]
fn wal_crash_every_step_full() {
    let mut t = Tally::default();
    let first = env_u64("BLOCKLOG_WAL_CRASH_SEED", 11);
    let seeds = env_u64("BLOCKLOG_WAL_CRASH_SEEDS", 24);
    let budget = env_u64("BLOCKLOG_WAL_CRASH_BUDGET", 256) as usize;
    for seed in first..first + seeds {
        crash_every_step(seed, budget, &mut t);
    }
    println!("wal crash full: {t:?}");
}

/// Every state at every step of `sim` (up to `budget` per step) checked as
/// in the workload.
fn check_every_state(sim: &SimDir, model: &Model, budget: usize, what: &str) -> Tally {
    let mut t = Tally::default();
    let mut rng = Rng::new(7);
    for k in 0..=sim.len() {
        let (states, sizes) = sim.states(k, budget, &mut rng);
        t.points += 1;
        t.states += states.len();
        t.product += sizes.product;
        for (i, state) in states.iter().enumerate() {
            for mode in [RecoveryMode::TolerateTail, RecoveryMode::PointInTime] {
                check_state(model, k, state, mode, i % 2 == 0, what, &mut t);
            }
        }
    }
    t
}

// W6, W1 (open step 3): the process dies between the seal's write and its
// fdatasync (close fails), so the seal is in the page cache only. The
// reopen finds a sealed newest file and must fdatasync it before creating
// the next file: otherwise a power loss after the creation takes the seal
// and the batches it replayed, leaving an unsealed non-last file that
// tolerate-tail refuses (W6). Found by wal_crash_every_step_quick (seed 12).
#[test]
fn process_dies_between_seal_and_its_fsync_reopen_syncs_the_sealed_file() {
    let run_dir = tempfile::tempdir_in(scratch_root()).unwrap();
    let d = run_dir.path();
    let sim = SimDir::new();
    let o = || sim.attach(opts(RecoveryMode::TolerateTail));
    let mut model = Model::default();
    let mut wal = Wal::open(d, o()).unwrap();
    for i in 0..3u64 {
        let mut b = Batch::new();
        b.put(format!("batch {i}").as_bytes()).unwrap();
        let seq = wal.append(&b).unwrap();
        model.list().push(Exp {
            seq,
            entries: batch_entries(&b, seq),
        });
        if i == 0 {
            wal.sync().unwrap();
            model.ack(sim.len());
        }
    }
    // The seal (and the two unsynced batches) reach the page cache, then
    // the process dies before the fdatasync.
    sim.kill_in_next_write(usize::MAX);
    assert!(wal.close().is_err());
    sim.revive();
    reopen_after_crash(d, &sim, &mut model, o());
    assert_eq!(
        model.at(sim.len()).0.len(),
        3,
        "the reopen replays all three"
    );

    // The reopen fdatasynced file 1 before creating file 2.
    let steps = sim.steps();
    let create2 = steps
        .iter()
        .position(|s| matches!(s, blocklog_testkit::simdir::Step::Create { number: 2, .. }))
        .unwrap();
    let open1 = steps
        .iter()
        .position(|s| *s == blocklog_testkit::simdir::Step::Open { number: 1 })
        .expect("the reopen opens the sealed file");
    assert!(
        steps[open1..create2]
            .iter()
            .any(|s| matches!(s, blocklog_testkit::simdir::Step::Sync { number: 1, .. })),
        "no fdatasync of the sealed file before the next one is created: {:?}",
        steps.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    // And no crash anywhere loses a batch or makes the directory unopenable.
    let t = check_every_state(&sim, &model, 1000, "seal without fsync");
    assert!(t.states > t.points, "{t:?}");
}

/// A WAL of one file: b1, b2 (each synced: a synced marker follows each,
/// written with the next batch) and an unsynced b3 of 3000 bytes (written
/// through the staging buffer; in the page cache, not synced); the process
/// dies. Returns the three batches as read back (their offsets).
fn three_batches_b3_unsynced(d: &Path) -> Vec<WalBatch> {
    let mut wal = Wal::open(d, WalOptions::new().buffer_size(BUFFER)).unwrap();
    for (i, len) in [20usize, 20, 3000].into_iter().enumerate() {
        let mut b = Batch::new();
        b.put(&vec![b'a' + i as u8; len]).unwrap();
        wal.append(&b).unwrap();
        if i < 2 {
            wal.sync().unwrap();
        }
    }
    drop(wal);
    let (events, err) = read(d, RecoveryMode::Absolute);
    assert!(err.is_none(), "{err:?}");
    let b: Vec<WalBatch> = events
        .into_iter()
        .filter_map(|e| match e {
            WalEvent::Batch(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(
        b.iter().map(|b| (b.file, b.seq)).collect::<Vec<_>>(),
        [(1, 1), (1, 2), (1, 3)]
    );
    b
}

fn read(d: &Path, mode: RecoveryMode) -> (Vec<WalEvent>, Option<Error>) {
    wal_read::events(&mut WalReader::open(d, &opts(mode)).unwrap())
}

fn seqs(events: &[WalEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            WalEvent::Batch(b) => Some(b.seq),
            _ => None,
        })
        .collect()
}

fn flip(d: &Path, offset: u64) {
    let path = dir::path_of(d, 1);
    let mut bytes = fs::read(&path).unwrap();
    bytes[offset as usize] ^= 0x10;
    fs::write(&path, bytes).unwrap();
}

/// The header of a legacy physical record, and the batch header after it.
const ENTRY_BYTE: u64 = 7 + 12 + 1;

// W3 (the markers tell it apart): a bit flip in b2, which a later synced
// marker proves was synced, is damage with a valid unit after it:
// tolerate-tail refuses after b1, point-in-time stops there, and Wal::open
// refuses and changes nothing.
#[test]
fn bit_flip_in_synced_batch_before_a_synced_marker_is_refused_by_tolerate_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let b = three_batches_b3_unsynced(d);
    flip(d, b[1].offset + ENTRY_BYTE);
    let (events, err) = read(d, RecoveryMode::TolerateTail);
    assert_eq!(seqs(&events), [1]);
    match err {
        Some(Error::Wal { problem, .. }) => assert!(
            matches!(&*problem, Problem::Dropped(x) if x.range.start == b[1].offset
                && matches!(x.reason, DropReason::Damage { position: Position::Interior, .. })),
            "{problem}"
        ),
        other => panic!("tolerate-tail: {other:?}"),
    }
    let (events, err) = read(d, RecoveryMode::PointInTime);
    assert!(err.is_none());
    assert_eq!(seqs(&events), [1]);
    assert!(
        matches!(events.last(), Some(WalEvent::Stopped(_))),
        "{events:?}"
    );
    let before = fs::read(dir::path_of(d, 1)).unwrap();
    assert!(matches!(
        Wal::open(d, opts(RecoveryMode::TolerateTail)),
        Err(Error::Wal { .. })
    ));
    assert_eq!(fs::read(dir::path_of(d, 1)).unwrap(), before);
    assert_eq!(dir::list(d).unwrap(), [1]);
}

// W2 (the markers tell it apart): the same bit flip in b3, the unsynced
// batch after the last synced marker with nothing valid after it, is a torn
// tail: tolerate-tail drops it and returns b1 and b2; absolute refuses;
// Wal::open cuts it, seals the file and starts the next.
#[test]
fn bit_flip_in_unsynced_tail_after_the_last_synced_marker_is_dropped_as_torn() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let b = three_batches_b3_unsynced(d);
    flip(d, b[2].offset + ENTRY_BYTE);
    let (events, err) = read(d, RecoveryMode::TolerateTail);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(seqs(&events), [1, 2]);
    assert!(
        events.iter().any(
            |e| matches!(e, WalEvent::Dropped(x) if x.range.start == b[2].offset
            && matches!(x.reason, DropReason::Damage { position: Position::Tail, .. }))
        ),
        "{events:?}"
    );
    assert!(matches!(
        read(d, RecoveryMode::Absolute).1,
        Some(Error::Wal { .. })
    ));
    let (wal, got) = replayed(d, opts(RecoveryMode::TolerateTail));
    assert_eq!(got.iter().map(|b| b.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(wal.file_number(), 2);
    wal.close().unwrap();
    assert_eq!(seqs(&read(d, RecoveryMode::Absolute).0), [1, 2]);
}

// W2: b3's write torn (a prefix of it reached the disk, at a byte or at a
// sector boundary, the rest absent or zeros) after the last synced marker:
// dropped, b1 and b2 returned.
#[test]
fn torn_write_of_unsynced_tail_after_the_last_synced_marker_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let b = three_batches_b3_unsynced(d);
    let path = dir::path_of(d, 1);
    let whole = fs::read(&path).unwrap();
    let (start, end) = (b[2].offset as usize, b[2].end as usize);
    let mut cases = 0;
    for cut in [
        start + 1,
        start + 7,
        start + 512,
        (start + end) / 2,
        end - 1,
    ] {
        for zeros in [false, true] {
            let mut torn = whole[..cut].to_vec();
            if zeros {
                torn.resize(whole.len(), 0);
            }
            fs::write(&path, &torn).unwrap();
            let (events, err) = read(d, RecoveryMode::TolerateTail);
            assert!(err.is_none(), "cut {cut} zeros {zeros}: {err:?}");
            assert_eq!(seqs(&events), [1, 2], "cut {cut} zeros {zeros}");
            cases += 1;
        }
    }
    assert_eq!(cases, 10);
}

fn purge_opts(mode: RecoveryMode) -> WalOptions {
    opts(mode).recycle(2).preallocate(MAX_FILE)
}

/// Purges through the sequence of a random acknowledged batch; records it.
fn purge(wal: &mut Wal, rng: &mut Rng, sim: &SimDir, model: &mut Model) {
    let last = wal.next_seq() - 1;
    if last == 0 {
        return;
    }
    let cp = rng.range(1, last as usize) as u64;
    model.purges.push((sim.len(), cp));
    let dropped = wal.purge_through(cp).expect("purge");
    // A purge that drops files syncs every batch appended first (one that
    // drops none writes nothing).
    if !dropped.is_empty() {
        model.ack(sim.len());
    }
}

/// The purge workload: recycling (a pool of 2 free files) and preallocated
/// files; appends with rotations, purges (files renamed to free files or
/// unlinked), rotations that reuse free files, a process crash mid-write
/// and the reopen after it, a purge interrupted by a process crash (the
/// next open finishes it).
fn record_purge(dir: &Path, seed: u64) -> (SimDir, Model) {
    let sim = SimDir::new();
    let mut rng = Rng::new(seed);
    let mut model = Model {
        opts: purge_opts,
        ..Model::default()
    };
    let o = || sim.attach(purge_opts(RecoveryMode::TolerateTail));
    let (mut wal, got) = replayed(dir, o());
    assert!(got.is_empty());
    appends(&mut wal, rng.range(8, 12), &mut rng, &sim, &mut model);
    purge(&mut wal, &mut rng, &sim, &mut model);
    appends(&mut wal, rng.range(8, 12), &mut rng, &sim, &mut model);
    purge(&mut wal, &mut rng, &sim, &mut model);
    appends(&mut wal, rng.range(4, 8), &mut rng, &sim, &mut model);
    wal.close().expect("close");
    model.ack(sim.len());

    // Reopen; appends reusing free files; a purge killed mid-way.
    let (mut wal, got) = replayed(dir, o());
    let (list, _) = model.at(sim.len());
    assert!(list.ends_with(&got), "workload: reopen after close");
    model.ack(sim.len());
    appends(&mut wal, rng.range(6, 10), &mut rng, &sim, &mut model);
    wal.sync().expect("sync");
    model.ack(sim.len());
    let last = wal.next_seq() - 1;
    let cp = rng.range(last as usize / 2, last as usize) as u64;
    model.purges.push((sim.len(), cp));
    // The purge marker's write goes through; the process dies before its
    // fdatasync or just after (the renames / unlinks then never happen).
    sim.kill_in_next_write(usize::MAX);
    let _ = wal.purge_through(cp);
    drop(wal);
    sim.revive();
    let start = sim.len();
    let (wal, got) = replayed(dir, o());
    let (list, acked) = model.at(start);
    let s = list
        .iter()
        .position(|b| Some(b) == got.first())
        .unwrap_or(list.len());
    assert!(
        s + got.len() >= acked,
        "workload: acknowledged batches lost"
    );
    let mut kept = list[..s].to_vec();
    kept.extend(got);
    model.epochs.push((start, kept));
    model.ack(sim.len());
    drop(wal);
    let (mut wal, _) = replayed(dir, o());
    appends(&mut wal, rng.range(6, 10), &mut rng, &sim, &mut model);
    wal.close().expect("close");
    model.ack(sim.len());
    (sim, model)
}

/// The purge workload on a file system whose metadata journal commits
/// directory operations in order (ext4, XFS in practice).
fn record_purge_ordered(dir: &Path, seed: u64) -> (SimDir, Model) {
    let (sim, model) = record_purge(dir, seed);
    sim.entry_order(blocklog_testkit::simdir::EntryOrder::Ordered);
    (sim, model)
}

// W1, W2, W8, W10 with purge, recycling and preallocation: every step of
// the purge workload, every state, directory operations surviving in order.
#[test]
fn wal_crash_every_step_purge_recycle_quick() {
    let mut t = Tally::default();
    let first = env_u64("BLOCKLOG_WAL_CRASH_SEED", 11);
    for seed in first..first + 3 {
        crash_every_step_of(record_purge_ordered, seed, 64, &mut t);
    }
    println!("wal crash purge quick: {t:?}");
    assert!(t.points > 300, "{t:?}");
}

// The larger run of .ci/post-fuzz.sh for the purge workload.
#[test]
#[ignore = "slow: run by .ci/post-fuzz.sh"]
fn wal_crash_every_step_purge_recycle_full() {
    let mut t = Tally::default();
    let first = env_u64("BLOCKLOG_WAL_CRASH_SEED", 11);
    let seeds = env_u64("BLOCKLOG_WAL_CRASH_SEEDS", 24) / 2;
    let budget = env_u64("BLOCKLOG_WAL_CRASH_BUDGET", 256) as usize;
    for seed in first..first + seeds {
        crash_every_step_of(record_purge_ordered, seed, budget, &mut t);
    }
    println!("wal crash purge full: {t:?}");
}

// W5 vs W10 under POSIX's promise (each name's entry operations survive
// independently until the directory is fsynced): a purge that unlinked or
// renamed its files lowest first with one directory fsync at the end could
// keep a lower file and lose a higher one's entry ("files 3 to 3 missing
// before file 4", refused by tolerate-tail: seed 11, step 104 failed so).
// Purge now fsyncs the directory after each file.
#[test]
fn wal_crash_every_step_purge_recycle_posix_unordered_entries() {
    let mut t = Tally::default();
    crash_every_step_of(record_purge, 11, 64, &mut t);
    println!("wal crash purge posix: {t:?}");
}

// ---------------------------------------------------------------------------
// SharedWal (group commit, docs/wal.md "Group commit") under the same
// simulated directory. Threads append concurrently, but in a deterministic
// interleaving: a `Hold` layered over the recording sinks stops the
// leader's first write (or sync) of a round before it is recorded, the
// other threads queue one at a time meanwhile (their queue order, hence
// their sequence numbers, is fixed), then the leader goes on and gathers
// them (or they form the next group). Nothing else runs while a round is
// in flight, so the op log, and the step at which every acknowledgement is
// observed, are the same on every run of a seed.
//
// Acknowledged: an `append` that returned `Ok` under `Always`; under
// `Bytes` everything at or below `durable_seq()` read after each call,
// what `sync`, `wait_durable` and a purge that dropped files report, and
// each `on_durable` callback that fired `Ok`, at the step it fired.

/// The `Hold` wrapper over the recording sinks of `sim`, and a
/// [`StepMark`] over it.
fn held(sim: &SimDir, hold: &Hold, mode: RecoveryMode) -> WalOptions {
    let (h, sim2) = (hold.clone(), sim.clone());
    sim.attach_with(opts(mode), move |n, s| {
        Box::new(StepMark {
            inner: h.wrap(n, s),
            sim: sim2.clone(),
        })
    })
}

thread_local! {
    /// The step just after this thread's last fdatasync of a WAL file:
    /// where an `on_durable` callback run by that thread (the one that
    /// completed the sync, docs/wal.md) learned of the durability. Read
    /// there rather than `sim.len()`, which the next group's leader may
    /// already have moved on: the acknowledgement steps stay the same on
    /// every run.
    static LAST_SYNC: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// A sink that notes in [`LAST_SYNC`] the step after each of its syncs.
struct StepMark<W> {
    inner: W,
    sim: SimDir,
}

impl<W> std::fmt::Debug for StepMark<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepMark")
    }
}

impl<W: std::io::Write> std::io::Write for StepMark<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: blocklog::SyncData> blocklog::SyncData for StepMark<W> {
    fn sync_data(&mut self) -> std::io::Result<()> {
        self.inner.sync_data()?;
        // Only the leader touches the files: nothing was recorded since.
        LAST_SYNC.with(|c| c.set(Some(self.sim.len())));
        Ok(())
    }
}

/// The state of the SharedWal workload.
struct Driver<'a> {
    /// `None` between a crash and the reopen.
    wal: Option<SharedWal>,
    hold: Hold,
    sim: &'a SimDir,
    model: Model,
    rng: Rng,
    /// Tags the batches (their entries name it), in append order.
    tag: u64,
    /// The `on_durable` callbacks fired and not yet acknowledged: the
    /// sequence number, the step at which it fired, whether `Ok`.
    fired: Arc<Mutex<Vec<(u64, usize, bool)>>>,
}

/// What the SharedWal workloads covered, over every run of the process:
/// rounds of several appends made durable by one sync (gathered), files
/// dropped by purges, files created, acknowledgements by `on_durable`.
static COVERED: Mutex<[usize; 4]> = Mutex::new([0; 4]);

fn cover(what: usize, n: usize) {
    COVERED.lock().unwrap_or_else(|p| p.into_inner())[what] += n;
}

/// One append of a round: its batch and whether it is `append_durable`.
type Req = (Batch, bool);

/// Waits until `n` requests are queued (a condition; the deadline only
/// guards against a hang).
fn wait_queued(wal: &SharedWal, n: usize) {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while wal.queued() < n {
        assert!(std::time::Instant::now() < deadline, "hang guard");
        std::thread::yield_now();
    }
}

/// Acknowledges, at `step`, every batch of the current epoch through
/// sequence number `seq`.
fn ack_through(model: &mut Model, step: usize, seq: u64) {
    let n = model
        .list()
        .iter()
        .take_while(|b| b.last_seq() <= seq)
        .count();
    let prev = model.acks.last().copied().unwrap_or((0, 0));
    assert!(step >= prev.0, "acknowledgements out of log order");
    model.acks.push((step, n));
}

impl Driver<'_> {
    fn w(&self) -> &SharedWal {
        self.wal.as_ref().expect("workload: a shared WAL open")
    }

    fn batch(&mut self) -> Batch {
        self.tag += 1;
        random_batch(&mut self.rng, self.tag)
    }

    /// A batch of one short entry: its record is one write call.
    fn small(&mut self) -> Batch {
        self.tag += 1;
        let mut b = Batch::new();
        b.put(format!("{}:small", self.tag).as_bytes())
            .expect("small entry");
        b
    }

    /// Runs one round: the first request's group is held at its next
    /// `at` call; the others queue behind it, in order; the watermark is
    /// read and acknowledged meanwhile; then it goes on. `then_sync`: the
    /// next sync after that is held too (the sync of a group that gathered
    /// the others, when `at` is its write), and the watermark read again
    /// there. `watch`: an `on_durable` callback on every batch, recording
    /// the step it fires at. The batches are added to the model as they
    /// are queued (acknowledged or not, they may be on disk). Returns each
    /// request's result, in queue order.
    fn round(
        &mut self,
        reqs: Vec<Req>,
        at: HeldCall,
        then_sync: bool,
        watch: bool,
    ) -> Vec<Result<u64, Error>> {
        let mut seq = self.w().next_seq();
        let mut expect = Vec::new();
        self.hold.hold_next(at);
        if then_sync {
            self.hold.hold_next(HeldCall::Sync);
        }
        let mut threads = Vec::new();
        for (i, (b, durable)) in reqs.into_iter().enumerate() {
            let e = Exp {
                seq,
                entries: batch_entries(&b, seq),
            };
            let list = self.model.list();
            if let Some(prev) = list.last() {
                assert_eq!(e.seq, prev.last_seq() + 1, "workload: contiguous");
            }
            list.push(e);
            expect.push(seq);
            seq += b.len() as u64;
            let w = self.w().clone();
            threads.push(std::thread::spawn(move || {
                if durable {
                    w.append_durable(&b)
                } else {
                    w.append(&b)
                }
            }));
            if i == 0 {
                assert_eq!(self.hold.wait_held(), at, "workload: the first group held");
            } else {
                wait_queued(self.w(), i);
            }
            if watch {
                let (fired, sim) = (Arc::clone(&self.fired), self.sim.clone());
                let last = seq - 1;
                let driver = std::thread::current().id();
                self.w().on_durable(last, move |r| {
                    // On the driver's thread (fired at once, or by its own
                    // sync) nothing else runs: now. Else the step after
                    // the sync of the leader running it.
                    let step = match LAST_SYNC.with(|c| c.get()) {
                        Some(s) if std::thread::current().id() != driver => s,
                        _ => sim.len(),
                    };
                    fired.lock().unwrap().push((last, step, r.is_ok()));
                });
            }
        }
        self.ack_durable();
        self.hold.release();
        if then_sync {
            assert_eq!(
                self.hold.wait_held(),
                HeldCall::Sync,
                "workload: a sync held"
            );
            self.ack_durable();
            self.hold.release();
        }
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (r, e) in results.iter().zip(&expect) {
            if let Ok(s) = r {
                assert_eq!(s, e, "workload: sequence numbers in queue order");
            }
        }
        self.drain_fired();
        results
    }

    /// Acknowledges what the callbacks fired `Ok` said, at the steps they
    /// fired at (log order).
    fn drain_fired(&mut self) {
        let mut fired = std::mem::take(&mut *self.fired.lock().unwrap());
        fired.sort_by_key(|&(seq, step, _)| (step, seq));
        for (seq, step, ok) in fired {
            if ok {
                ack_through(&mut self.model, step, seq);
                cover(3, 1);
            }
        }
    }

    /// Acknowledges what the watermark says is durable, now.
    fn ack_durable(&mut self) {
        self.drain_fired();
        let d = self.w().durable_seq();
        ack_through(&mut self.model, self.sim.len(), d);
    }

    /// An `Always` round of `k` appends, all acknowledged: gathered into
    /// the leader's sync (its write held; its sync held too, or not), or
    /// queued during its sync (the next group).
    fn always_round(&mut self, k: usize) {
        let (at, then_sync) = match self.rng.below(3) {
            0 => (HeldCall::Write, false),
            1 => (HeldCall::Write, true),
            _ => (HeldCall::Sync, false),
        };
        let reqs = (0..k).map(|_| (self.batch(), false)).collect();
        let before = self.w().stats();
        for r in self.round(reqs, at, then_sync, true) {
            r.expect("workload: append");
        }
        let after = self.w().stats();
        if k > 1 && at == HeldCall::Write {
            assert_eq!(after.syncs - before.syncs, 1, "workload: gathered");
            cover(0, 1);
        }
        let step = self.sim.len();
        self.model.ack(step);
        assert_eq!(self.w().durable_seq(), self.w().written_seq());
    }

    /// A `Bytes` round: plain appends and some durable ones, watched. When
    /// the first is durable (its group syncs), its sync may be held.
    fn bytes_round(&mut self, k: usize) {
        let reqs: Vec<Req> = (0..k)
            .map(|_| {
                let durable = self.rng.chance(1, 3);
                (self.batch(), durable)
            })
            .collect();
        let (at, then_sync) = match (reqs[0].1, self.rng.below(3)) {
            (true, 1) => (HeldCall::Write, true),
            (true, 2) => (HeldCall::Sync, false),
            _ => (HeldCall::Write, false),
        };
        for r in self.round(reqs, at, then_sync, true) {
            r.expect("workload: append");
        }
        self.ack_durable();
    }

    /// A purge through a random sequence number appended (files holding
    /// only sequences at or below it are dropped; then every batch written
    /// was synced first: acknowledged).
    fn purge(&mut self) {
        let last = self.w().written_seq();
        let first = self.model.list().first().map_or(1, |b| b.seq);
        if last <= first {
            return;
        }
        let cp = self.rng.range(first as usize, last as usize) as u64;
        self.model.purges.push((self.sim.len(), cp));
        let dropped = self.w().purge_through(cp).expect("workload: purge");
        cover(1, dropped.len());
        if !dropped.is_empty() {
            assert_eq!(self.w().durable_seq(), self.w().written_seq());
        }
        self.ack_durable();
    }
}

/// Opens the SharedWal of the workload (policy `policy`) on `dir`,
/// checking the replay against the model (after a purge, its tail).
fn open_shared(
    dir: &Path,
    sim: &SimDir,
    hold: &Hold,
    model: &mut Model,
    policy: SyncPolicy,
) -> SharedWal {
    let (wal, got) = replayed(dir, held(sim, hold, RecoveryMode::TolerateTail));
    assert!(model.list().ends_with(&got), "workload: replay");
    model.ack(sim.len());
    SharedWal::new(
        wal,
        CommitOptions::new().policy(policy).max_group_bytes(4096),
    )
    .expect("workload: share")
}

impl Driver<'_> {
    /// Opens the WAL again after a close or a crash ([`open_shared`]).
    fn reopen(&mut self, dir: &Path, policy: SyncPolicy) {
        let wal = open_shared(dir, self.sim, &self.hold, &mut self.model, policy);
        self.wal = Some(wal);
    }
}

/// A process crash in a round (`kill`: bytes of the next write that reach
/// the file; `usize::MAX`: that write whole, then the sync fails): every
/// member gets `OutcomeUnknown`, nothing is acknowledged, then the reopen
/// (`Wal`) replays a run of the appended batches holding every
/// acknowledged one: a new epoch.
fn crash_round(d: &mut Driver<'_>, dir: &Path, kill: usize, reqs: Vec<Req>) {
    let before = d.w().durable_seq();
    d.sim.kill_in_next_write(kill);
    for r in d.round(reqs, HeldCall::Write, false, true) {
        let e = r.expect_err("workload: acknowledged by a dead process");
        assert!(matches!(e, Error::OutcomeUnknown { .. }), "workload: {e}");
    }
    assert_eq!(d.w().durable_seq(), before, "workload: watermark moved");
    d.wal = None; // every handle dropped: the process is gone
    d.drain_fired(); // none `Ok`: the callbacks pending got the error
    d.sim.revive();
    let start = d.sim.len();
    let (list, acked) = d.model.at(start);
    let (wal, got) = replayed(dir, held(d.sim, &d.hold, RecoveryMode::TolerateTail));
    let s = list
        .iter()
        .position(|b| Some(b) == got.first())
        .unwrap_or(list.len());
    assert!(
        s + got.len() >= acked,
        "workload: acknowledged batches lost"
    );
    assert_eq!(&got[..], &list[s..s + got.len()], "workload: reopen");
    let mut kept = list[..s].to_vec();
    kept.extend(got);
    d.model.epochs.push((start, kept));
    d.model.ack(d.sim.len());
    wal.close().expect("workload: close");
    d.model.ack(d.sim.len());
}

/// The SharedWal workload: `Always` rounds (gathered into one sync, or
/// queued during a sync), rotations (2 KiB files), a purge, close; reopen
/// with `Bytes(1500)`: plain and durable appends in held groups watched by
/// `on_durable`, `sync`, `wait_durable`, purges, then a process that dies
/// after its first write reached the page cache (the gathered write
/// fails); reopen with `Always`: a process dies in the middle of a write
/// (torn), then one whose write went through and whose sync fails; more
/// rounds, a purge, close.
fn record_shared(dir: &Path, seed: u64) -> (SimDir, Model) {
    let sim = SimDir::new();
    let hold = Hold::new();
    let mut model = Model::default();
    let wal = open_shared(dir, &sim, &hold, &mut model, SyncPolicy::Always);
    let mut d = Driver {
        wal: Some(wal),
        hold: hold.clone(),
        sim: &sim,
        model,
        rng: Rng::new(seed),
        tag: 0,
        fired: Arc::default(),
    };
    for _ in 0..d.rng.range(4, 6) {
        let k = d.rng.range(1, 4);
        d.always_round(k);
    }
    d.purge();
    let k = d.rng.range(2, 3);
    d.always_round(k);
    d.w().clone().close().expect("workload: close");
    d.model.ack(sim.len());

    // Bytes: written at once, synced by the group crossing 1500 bytes, by
    // durable appends, sync, wait_durable and purge.
    d.reopen(dir, SyncPolicy::Bytes(1500));
    for _ in 0..d.rng.range(6, 9) {
        match d.rng.below(5) {
            0 => {
                let b = d.batch();
                let seq = d.w().append(&b).expect("workload: append");
                d.model.list().push(Exp {
                    seq,
                    entries: batch_entries(&b, seq),
                });
                d.ack_durable();
            }
            1 => {
                let seq = d.w().sync().expect("workload: sync");
                d.drain_fired();
                ack_through(&mut d.model, sim.len(), seq);
            }
            2 => {
                let last = d.w().written_seq();
                let first = d.model.list().first().map_or(1, |b| b.seq);
                if last >= first {
                    let seq = d.rng.range(first as usize, last as usize) as u64;
                    d.w().wait_durable(seq).expect("workload: wait_durable");
                    assert!(d.w().durable_seq() >= seq);
                    d.ack_durable();
                }
            }
            _ => {
                let k = d.rng.range(2, 4);
                d.bytes_round(k);
            }
        }
    }
    d.purge();
    let k = d.rng.range(2, 3);
    d.bytes_round(k);
    let reqs = vec![(d.small(), true), (d.small(), false), (d.small(), true)];
    crash_round(&mut d, dir, usize::MAX, reqs);

    // Always again: a write torn by a dying process; a sync failing.
    d.reopen(dir, SyncPolicy::Always);
    let k = d.rng.range(2, 3);
    d.always_round(k);
    let kill = d.rng.range(1, 600);
    let reqs = (0..3).map(|_| (d.batch(), false)).collect();
    crash_round(&mut d, dir, kill, reqs);
    d.reopen(dir, SyncPolicy::Always);
    let k = d.rng.range(1, 2);
    d.always_round(k);
    let reqs = vec![(d.small(), false)];
    crash_round(&mut d, dir, usize::MAX, reqs);
    d.reopen(dir, SyncPolicy::Always);
    for _ in 0..d.rng.range(2, 3) {
        let k = d.rng.range(1, 4);
        d.always_round(k);
    }
    d.purge();
    d.w().clone().close().expect("workload: close");
    d.drain_fired();
    d.model.ack(sim.len());
    let creates = sim
        .steps()
        .iter()
        .filter(|s| matches!(s, blocklog_testkit::simdir::Step::Create { .. }))
        .count();
    cover(2, creates);
    let model = d.model;
    (sim, model)
}

// W1, W2, W8, W10, P1–P3 for the shared WAL: every step of the SharedWal
// workload (gathered groups, groups queued during a sync, Always and
// Bytes, durable appends, on_durable, sync, wait_durable, rotations,
// purges, a failed sync and a torn write from a dead process), a seeded
// selection of states per step; every acknowledged append recovered exact
// and in order, nothing invented or duplicated, and after two more
// appends a clean directory in all four modes.
#[test]
fn shared_wal_crash_every_step_quick() {
    let mut t = Tally::default();
    let first = env_u64("BLOCKLOG_WAL_CRASH_SEED", 11);
    let started = std::time::Instant::now();
    for seed in first..first + 2 {
        crash_every_step_of(record_shared, seed, 24, &mut t);
    }
    let covered = *COVERED.lock().unwrap();
    println!(
        "shared wal crash quick: {t:?} in {:?}; [gathered rounds, files purged, files created, on_durable acks] {covered:?}",
        started.elapsed()
    );
    assert!(t.points > 200 && t.acked > 0, "{t:?}");
    assert!(covered.iter().all(|&n| n > 0), "{covered:?}");
}

// The SharedWal workload is deterministic although several threads append:
// the same op log and the same acknowledgement steps on every run of a seed
// (so a failure found by a seed is found again by it).
#[test]
fn shared_wal_workload_is_deterministic() {
    let seed = env_u64("BLOCKLOG_WAL_CRASH_SEED", 11);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let d = tempfile::tempdir_in(scratch_root()).unwrap();
            let (sim, model) = record_shared(d.path(), seed);
            (sim.steps(), model.acks, model.epochs, model.purges)
        })
        .collect();
    assert!(runs[0].0 == runs[1].0, "the op logs differ");
    assert_eq!(runs[0].1, runs[1].1, "the acknowledgements differ");
    assert!(runs[0].2 == runs[1].2 && runs[0].3 == runs[1].3);
}

// The larger run of .ci/post-fuzz.sh for the SharedWal workload.
#[test]
#[ignore = "slow: run by .ci/post-fuzz.sh"]
fn shared_wal_crash_every_step_full() {
    let mut t = Tally::default();
    let first = env_u64("BLOCKLOG_WAL_CRASH_SEED", 11);
    let seeds = env_u64("BLOCKLOG_WAL_CRASH_SEEDS", 24) / 2;
    let budget = env_u64("BLOCKLOG_WAL_CRASH_BUDGET", 256) as usize;
    let started = std::time::Instant::now();
    for seed in first..first + seeds {
        crash_every_step_of(record_shared, seed, budget, &mut t);
    }
    let covered = *COVERED.lock().unwrap();
    println!(
        "shared wal crash full: {t:?} in {:?}; [gathered rounds, files purged, files created, on_durable acks] {covered:?}",
        started.elapsed()
    );
}
