//! The store beyond openraft's suite: state rebuilt on open, corrupt
//! records refused, a failed sync reaching the flush callback, callbacks in
//! log order, ranges that would make `BTreeMap::range` panic.

mod common;

use std::sync::mpsc;

use blocklog::wal::{Batch, Wal, WalOptions};
use blocklog_raft::{Error, LogStore, Options};
use blocklog_testkit::faulty::{Call, Errno, Fault, Faulty};
use common::*;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::{RaftLogReader, Vote};

#[test]
fn state_is_rebuilt_from_the_wal_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let before = rt.block_on(async {
        let mut s = open(dir.path());
        assert_eq!(image(&mut s).await, Image::default());
        s.save_vote(&Vote::new(1, 0)).await.unwrap();
        s.blocking_append((1..=10).map(|i| entry(1, i, "a")))
            .await
            .unwrap();
        s.save_vote(&Vote::new_committed(2, 1)).await.unwrap();
        s.truncate(log_id(1, 8)).await.unwrap();
        s.blocking_append((8..=12).map(|i| entry(2, i, "b")))
            .await
            .unwrap();
        s.purge(log_id(1, 3)).await.unwrap();
        s.save_committed(Some(log_id(2, 9))).await.unwrap();
        // The committed record is durable with the next sync.
        s.blocking_append([entry(2, 13, "c")]).await.unwrap();
        let img = image(&mut s).await;
        assert_eq!(img.vote, Some(Vote::new_committed(2, 1)));
        assert_eq!(img.last_purged, Some(log_id(1, 3)));
        assert_eq!(img.last_log, Some(log_id(2, 13)));
        assert_eq!(img.committed, Some(log_id(2, 9)));
        let idx: Vec<u64> = img.entries.iter().map(|e| e.1).collect();
        assert_eq!(idx, (4..=13).collect::<Vec<_>>());
        assert_eq!(img.entries[3], (1, 7, "a".into()));
        assert_eq!(img.entries[4], (2, 8, "b".into()));
        img
    });
    for _ in 0..2 {
        let after = rt.block_on(async { image(&mut open(dir.path())).await });
        assert_eq!(after, before);
    }
}

#[test]
fn purging_everything_keeps_the_last_purged_id_as_the_last_log_id() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let mut s = open(dir.path());
        s.blocking_append((1..=3).map(|i| entry(1, i, "a")))
            .await
            .unwrap();
        s.purge(log_id(1, 3)).await.unwrap();
    });
    let img = rt.block_on(async { image(&mut open(dir.path())).await });
    assert_eq!(img.last_purged, Some(log_id(1, 3)));
    assert_eq!(img.last_log, Some(log_id(1, 3)));
    assert!(img.entries.is_empty());
}

/// Writes `records` as one-entry batches of a WAL, as the store would.
fn write_raw(dir: &std::path::Path, records: &[&[u8]]) {
    let mut wal = Wal::open(dir, WalOptions::new()).unwrap();
    for r in records {
        let mut b = Batch::new();
        b.put(r).unwrap();
        wal.append(&b).unwrap();
    }
    wal.close().unwrap();
}

#[test]
fn a_corrupt_record_is_a_clear_error_on_open() {
    let good = {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let mut s = open(dir.path());
            s.blocking_append([entry(1, 1, "a")]).await.unwrap();
        });
        // The first batch's entry of the store's own WAL.
        let mut reader = blocklog::wal::WalReader::open(dir.path(), &WalOptions::new()).unwrap();
        let mut out = None;
        while let Some(ev) = reader.next_event().unwrap() {
            if let blocklog::wal::WalEvent::Batch(b) = ev {
                out = Some(b.entries().unwrap()[0].to_vec());
            }
        }
        out.unwrap()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"X{}".to_vec(), "unknown record tag 0x58"),
        (Vec::new(), "an empty record"),
        (b"E{\"log_id\":".to_vec(), "EOF"),
        (b"T\x01\x02".to_vec(), "a truncate record of 2 bytes"),
        (b"V[[[[[[[[[[[[[[[[[[[[".to_vec(), ""),
        // Nesting deep enough to overflow a naive recursive decoder.
        ([b"P".to_vec(), vec![b'['; 100_000]].concat(), "expected"),
        (good[..good.len() - 1].to_vec(), ""),
    ];
    for (bad, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_raw(dir.path(), &[&good, &bad]);
        let err =
            LogStore::<blocklog_raft::kv::KvConfig>::open(dir.path(), Options::new()).unwrap_err();
        match &err {
            Error::Corrupt { seq, what, .. } => {
                assert_eq!(*seq, 2, "{err}");
                assert!(what.contains(says), "{err}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_failed_sync_reaches_the_flush_callback_and_every_later_write() {
    for nth in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let fault = Fault {
            call: Call::Sync,
            // Sync 0 makes the new file's predecessor durable.
            nth,
            errno: Errno::Eio,
            short_first: false,
        };
        let opts = Options::new().wal_hook(move |o| {
            o.wrap_files(move |n, f| Box::new(Faulty::new(f, (n == 1).then_some(fault))))
        });
        let rt = runtime();
        rt.block_on(async {
            let mut s: Store = LogStore::open(dir.path(), opts).unwrap();
            if nth == 2 {
                s.blocking_append([entry(1, 1, "acked")]).await.unwrap();
            }
            let err = s
                .blocking_append([entry(1, nth as u64, "lost")])
                .await
                .unwrap_err();
            assert!(err.to_string().contains("I/O error"), "{err}");
            // Never a later success.
            let next = entry(1, nth as u64 + 1, "after");
            assert!(s.blocking_append([next]).await.is_err());
            assert!(s.save_vote(&Vote::new(5, 0)).await.is_err());
            assert!(s.truncate(log_id(1, 1)).await.is_err());
            assert!(s.purge(log_id(1, 1)).await.is_err());
        });
        let img = rt.block_on(async { image(&mut open(dir.path())).await });
        assert_eq!(img.vote, None);
        match nth {
            1 => assert!(img.entries.iter().all(|e| e.2 != "after"), "{img:?}"),
            _ => {
                assert_eq!(img.entries[0], (1, 1, "acked".into()));
                assert!(img.entries.iter().all(|e| e.2 != "after"), "{img:?}");
            }
        }
    }
}

#[test]
fn flush_callbacks_fire_in_log_order_and_entries_are_readable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel();
    let rt = runtime();
    rt.block_on(async {
        let mut s = open(dir.path());
        let mut reader = s.get_log_reader().await;
        for i in 1..=200u64 {
            let tx = tx.clone();
            s.append_with(vec![entry(1, i, "x")], move |r| {
                tx.send((i, r.is_ok())).unwrap();
            })
            .unwrap();
            let got = reader.try_get_log_entries(i..=i).await.unwrap();
            assert_eq!(got.len(), 1);
        }
        // An empty append's callback still comes after every earlier one.
        let tx = tx.clone();
        s.append_with(Vec::new(), move |r| tx.send((0, r.is_ok())).unwrap())
            .unwrap();
    });
    drop(tx);
    let order: Vec<(u64, bool)> = rx.iter().collect();
    let mut want: Vec<(u64, bool)> = (1..=200).map(|i| (i, true)).collect();
    want.push((0, true));
    assert_eq!(order, want);
}

#[test]
fn large_appends_split_into_records_and_oversized_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let opts = Options::new().max_record_size(4096);
    rt.block_on(async {
        let mut s: Store = LogStore::open(dir.path(), opts.clone()).unwrap();
        let big = "v".repeat(1000);
        s.blocking_append((1..=20).map(|i| entry(1, i, &big)))
            .await
            .unwrap();
        let huge = "h".repeat(5000);
        let err = s.blocking_append([entry(1, 21, &huge)]).await.unwrap_err();
        assert!(err.to_string().contains("record limit"), "{err}");
        // Refused before anything changed: not readable, and the store goes on.
        assert_eq!(image(&mut s).await.entries.len(), 20);
        s.blocking_append([entry(1, 21, "small")]).await.unwrap();
    });
    let mut s: Store = LogStore::open(dir.path(), opts).unwrap();
    let img = rt.block_on(image(&mut s));
    assert_eq!(img.entries.len(), 21);
    assert_eq!(img.entries[20].2, "small");
}

#[test]
fn reversed_and_empty_ranges_read_nothing() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let mut s = open(dir.path());
        s.blocking_append((1..=5).map(|i| entry(1, i, "a")))
            .await
            .unwrap();
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = s.try_get_log_entries(4..2).await.unwrap();
        assert!(reversed.is_empty());
        assert!(s.try_get_log_entries(3..3).await.unwrap().is_empty());
        use std::ops::Bound::Excluded;
        let b = (Excluded(3u64), Excluded(3u64));
        assert!(s.try_get_log_entries(b).await.unwrap().is_empty());
        let b = (Excluded(u64::MAX), Excluded(u64::MAX));
        assert!(s.try_get_log_entries(b).await.unwrap().is_empty());
        assert_eq!(s.try_get_log_entries(2..=u64::MAX).await.unwrap().len(), 4);
    });
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _s = open(dir.path());
    let err =
        LogStore::<blocklog_raft::kv::KvConfig>::open(dir.path(), Options::new()).unwrap_err();
    assert!(
        matches!(err, Error::Wal(blocklog::Error::Locked { .. })),
        "{err:?}"
    );
}

/// The WAL files (`NNNNNN.log`) in `dir`.
fn wal_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            blocklog::wal::dir::parse_name(&name.to_string_lossy()).is_some()
        })
        .count()
}

#[test]
fn purge_drops_wal_files_and_reopen_rebuilds_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    // About ten entries a file.
    let opts = Options::new().max_file_size(4 << 10);
    let value = "v".repeat(300);
    let before = rt.block_on(async {
        let mut s: Store = LogStore::open(dir.path(), opts.clone()).unwrap();
        // The vote and committed records land in the first file: a purge
        // that drops it must keep them.
        s.save_vote(&Vote::new_committed(3, 1)).await.unwrap();
        s.blocking_append((1..=5).map(|i| entry(3, i, &value)))
            .await
            .unwrap();
        s.save_committed(Some(log_id(3, 4))).await.unwrap();
        for first in (6..=200).step_by(5) {
            s.blocking_append((first..first + 5).map(|i| entry(3, i, &value)))
                .await
                .unwrap();
        }
        // Entries 191..=200 rewritten in term 4: their first versions are
        // dead records above the purge.
        s.truncate(log_id(3, 191)).await.unwrap();
        s.blocking_append((191..=200).map(|i| entry(4, i, "new")))
            .await
            .unwrap();
        let files = wal_files(dir.path());
        assert!(files > 20, "{files}");
        // The files of entries 1..=10 go, not the one holding entry 11
        // (nor, before it, the vote and committed records: written again).
        s.purge(log_id(3, 10)).await.unwrap();
        let after10 = wal_files(dir.path());
        assert!(after10 < files, "{files} files, {after10} after purging 10");
        let img = image(&mut s).await;
        drop(s);
        let mut s: Store = LogStore::open(dir.path(), opts.clone()).unwrap();
        assert_eq!(image(&mut s).await, img);
        assert_eq!(img.entries.len(), 190);
        assert_eq!(img.entries[0], (3, 11, value.clone()));
        assert_eq!(img.vote, Some(Vote::new_committed(3, 1)));
        assert_eq!(img.committed, Some(log_id(3, 4)));
        s.purge(log_id(3, 180)).await.unwrap();
        let after = wal_files(dir.path());
        // Left: the files from entry 181's on (with the dead first versions
        // of 191..=200) and the current one.
        assert!(after * 4 < files, "{files} files, {after} after the purge");
        let img = image(&mut s).await;
        assert_eq!(img.vote, Some(Vote::new_committed(3, 1)));
        assert_eq!(img.committed, Some(log_id(3, 4)));
        assert_eq!(img.last_purged, Some(log_id(3, 180)));
        assert_eq!(img.entries.len(), 20);
        assert_eq!(img.entries[0], (3, 181, value.clone()));
        assert_eq!(img.entries[10], (4, 191, "new".into()));
        img
    });
    for _ in 0..2 {
        let mut s: Store = LogStore::open(dir.path(), opts.clone()).unwrap();
        let after = rt.block_on(image(&mut s));
        assert_eq!(after, before);
    }
    // A lower purge after the reopen changes nothing: the highest is kept,
    // and written again.
    rt.block_on(async {
        let mut s: Store = LogStore::open(dir.path(), opts.clone()).unwrap();
        s.purge(log_id(3, 150)).await.unwrap();
        s.purge(log_id(4, 200)).await.unwrap();
    });
    let mut s: Store = LogStore::open(dir.path(), opts).unwrap();
    let img = rt.block_on(image(&mut s));
    assert_eq!(img.vote, Some(Vote::new_committed(3, 1)));
    assert_eq!(img.committed, Some(log_id(3, 4)));
    assert_eq!(img.last_purged, Some(log_id(4, 200)));
    assert_eq!(img.last_log, Some(log_id(4, 200)));
    assert!(img.entries.is_empty());
    assert!(wal_files(dir.path()) <= 2);
}

#[test]
fn a_failed_sync_fails_every_pending_and_later_callback_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let fault = Fault {
        call: Call::Sync,
        // Sync 0 makes the new file's predecessor durable; sync 2 fails.
        nth: 2,
        errno: Errno::Eio,
        short_first: false,
    };
    let opts = Options::new().wal_hook(move |o| {
        o.wrap_files(move |n, f| Box::new(Faulty::new(f, (n == 1).then_some(fault))))
    });
    let (tx, rx) = mpsc::channel();
    let rt = runtime();
    let accepted = rt.block_on(async {
        let mut s: Store = LogStore::open(dir.path(), opts).unwrap();
        s.blocking_append([entry(1, 1, "acked")]).await.unwrap();
        // Appends in flight when the next sync fails, and after it: each
        // one the store accepts gets exactly one callback.
        let mut accepted = Vec::new();
        for i in 2..=40u64 {
            let tx = tx.clone();
            if s.append_with(vec![entry(1, i, "x")], move |r| {
                tx.send((i, r.is_ok())).unwrap()
            })
            .is_ok()
            {
                accepted.push(i);
            }
        }
        // The vote waits behind them in the same queue: it fails too.
        assert!(s.save_vote(&Vote::new(5, 0)).await.is_err());
        assert!(s.append_with(vec![entry(1, 41, "y")], |_| ()).is_err());
        accepted
    });
    drop(tx);
    let got: Vec<(u64, bool)> = rx.iter().collect();
    // Index 2 was accepted (nothing had failed yet); every accepted append
    // was told, in log order, and none of them succeeded.
    assert_eq!(accepted.first(), Some(&2));
    let want: Vec<(u64, bool)> = accepted.iter().map(|&i| (i, false)).collect();
    assert_eq!(got, want);
    let img = rt.block_on(async { image(&mut open(dir.path())).await });
    assert_eq!(img.entries[0], (1, 1, "acked".into()));
    // Written before the failure was known, never acknowledged: it may or
    // may not have reached the disk.
    assert!(img.vote.is_none() || img.vote == Some(Vote::new(5, 0)));
}
