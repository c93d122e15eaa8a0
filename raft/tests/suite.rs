//! openraft's own storage conformance suite (`openraft::testing::Suite`),
//! run against a `LogStore` in a fresh WAL directory per test.

use blocklog_raft::kv::{KvConfig, KvStateMachine};
use blocklog_raft::{LogStore, Options};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{AnyError, StorageError, StorageIOError};
use tempfile::TempDir;

struct Builder;

impl StoreBuilder<KvConfig, LogStore<KvConfig>, KvStateMachine, TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore<KvConfig>, KvStateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir()
            .map_err(|e| StorageError::from(StorageIOError::write(AnyError::new(&e))))?;
        let store = LogStore::open(dir.path().join("wal"), Options::new())
            .map_err(|e| StorageError::from(StorageIOError::write(AnyError::new(&e))))?;
        Ok((dir, store, KvStateMachine::new()))
    }
}

#[test]
fn openraft_storage_suite() {
    if let Err(e) = Suite::test_all(Builder) {
        panic!("openraft's storage suite failed: {e}");
    }
}
