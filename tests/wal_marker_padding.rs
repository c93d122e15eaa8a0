//! Regression (found by the group-commit kill -9 test): a WAL marker that
//! does not fit in the rest of a block used to be preceded by zeros to the
//! block end; 7 or more zeros followed by a record read as interior
//! zero-header damage (docs/recovery.md), so tolerate-tail recovery refused
//! a directory holding only acknowledged batches. The writer now ends the
//! block with a checksummed padding record (type 0xF0, docs/wal.md
//! "Markers"); this test covers every leftover from 0 to 39 bytes.

use std::path::Path;

use blocklog::wal::{Batch, Wal, WalEvent, WalOptions, WalReader};
use blocklog::RecoveryMode;

/// One batch whose record leaves `leftover` bytes in the first block after
/// the predecessor marker (39 bytes).
fn filling(leftover: usize) -> Batch {
    let mut b = Batch::new();
    b.put(&vec![7u8; 32707 - leftover]).unwrap();
    b
}

fn small() -> Batch {
    let mut b = Batch::new();
    b.put(b"after the marker").unwrap();
    b
}

fn read(dir: &Path, mode: RecoveryMode) -> Vec<u64> {
    let mut r = WalReader::open(dir, &WalOptions::new().mode(mode)).unwrap();
    let mut seqs = Vec::new();
    loop {
        match r.next_event() {
            Ok(Some(WalEvent::Batch(b))) => seqs.push(b.seq),
            Ok(Some(_)) => {}
            Ok(None) => return seqs,
            Err(e) => panic!("{mode}: {e}"),
        }
    }
}

#[test]
fn a_synced_marker_at_a_block_end_reads_back_in_every_mode() {
    for leftover in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
        wal.append(&filling(leftover)).unwrap();
        wal.sync().unwrap(); // the synced marker goes to the block end
        wal.append(&small()).unwrap();
        wal.sync().unwrap();
        drop(wal);
        for mode in RecoveryMode::ALL {
            assert_eq!(
                read(dir.path(), mode),
                [1, 2],
                "leftover {leftover}, {mode}"
            );
        }
        let wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
        assert_eq!(wal.next_seq(), 3, "leftover {leftover}");
    }
}

#[test]
fn a_seal_at_a_block_end_reads_back_in_every_mode() {
    for leftover in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
        wal.append(&filling(leftover)).unwrap();
        wal.close().unwrap(); // the seal goes to the block end
        let mut wal = Wal::open(dir.path(), WalOptions::new()).unwrap();
        wal.append(&small()).unwrap();
        wal.close().unwrap();
        for mode in RecoveryMode::ALL {
            assert_eq!(
                read(dir.path(), mode),
                [1, 2],
                "leftover {leftover}, {mode}"
            );
        }
    }
}
