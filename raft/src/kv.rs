//! A small in-memory key-value state machine and the type configuration it
//! runs in: what the example cluster and the tests use beside the
//! [`LogStore`](crate::LogStore). The state machine and its snapshot live
//! in memory only: a restarted node rebuilds it by re-applying the
//! committed entries of its log.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, BasicNode, EntryPayload, ErrorSubject, ErrorVerb, LogId, RaftSnapshotBuilder,
    Snapshot, SnapshotMeta, StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};

use crate::Error;

/// A write: set `key` to `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Set {
    /// The key.
    pub key: String,
    /// Its new value.
    pub value: String,
}

/// What applying an entry returned: the key's previous value, if it had one
/// (always `None` for blank and membership entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous(pub Option<String>);

openraft::declare_raft_types!(
    /// The type configuration of the key-value example: [`Set`] requests,
    /// `u64` node ids, [`BasicNode`], in-memory snapshots.
    pub KvConfig:
        D = Set,
        R = Previous,
);

/// The node id type of [`KvConfig`].
pub type NodeId = u64;

#[derive(Debug, Default)]
struct Inner {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
    data: BTreeMap<String, String>,
    snapshot: Option<(SnapshotMeta<NodeId, BasicNode>, Vec<u8>)>,
    snapshots_built: u64,
}

/// What a snapshot holds.
#[derive(Serialize, Deserialize)]
struct Image {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
    data: BTreeMap<String, String>,
}

/// An in-memory key-value state machine; clones share it (so a test or an
/// example can read the map while openraft owns a clone).
#[derive(Debug, Clone, Default)]
pub struct KvStateMachine {
    inner: Arc<Mutex<Inner>>,
}

fn sm_err(e: Error) -> StorageError<NodeId> {
    e.into_storage(ErrorSubject::StateMachine, ErrorVerb::Read)
}

impl KvStateMachine {
    /// An empty state machine.
    pub fn new() -> KvStateMachine {
        KvStateMachine::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, Error> {
        self.inner.lock().map_err(|_| Error::Poisoned)
    }

    /// The value of `key`, if set ([`Error::Poisoned`] if a thread
    /// panicked while applying).
    pub fn get(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(self.lock()?.data.get(key).cloned())
    }

    /// Every key and its value.
    pub fn data(&self) -> Result<BTreeMap<String, String>, Error> {
        Ok(self.lock()?.data.clone())
    }
}

impl RaftSnapshotBuilder<KvConfig> for KvStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<KvConfig>, StorageError<NodeId>> {
        let mut inner = self.lock().map_err(sm_err)?;
        let image = Image {
            last_applied: inner.last_applied,
            membership: inner.membership.clone(),
            data: inner.data.clone(),
        };
        let bytes = serde_json::to_vec(&image)
            .map_err(|e| StorageIOError::write_snapshot(None, AnyError::new(&e)))?;
        inner.snapshots_built += 1;
        let id = match inner.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, inner.snapshots_built),
            None => format!("none-{}", inner.snapshots_built),
        };
        let meta = SnapshotMeta {
            last_log_id: inner.last_applied,
            last_membership: inner.membership.clone(),
            snapshot_id: id,
        };
        inner.snapshot = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<KvConfig> for KvStateMachine {
    type SnapshotBuilder = KvStateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        let inner = self.lock().map_err(sm_err)?;
        Ok((inner.last_applied, inner.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Previous>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = openraft::Entry<KvConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut inner = self.lock().map_err(sm_err)?;
        let mut out = Vec::new();
        for entry in entries {
            inner.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => out.push(Previous(None)),
                EntryPayload::Normal(Set { key, value }) => {
                    out.push(Previous(inner.data.insert(key, value)));
                }
                EntryPayload::Membership(m) => {
                    inner.membership = StoredMembership::new(Some(entry.log_id), m);
                    out.push(Previous(None));
                }
            }
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let image: Image = serde_json::from_slice(&bytes).map_err(|e| {
            StorageIOError::read_snapshot(Some(meta.signature()), AnyError::new(&e))
        })?;
        let mut inner = self.lock().map_err(sm_err)?;
        inner.last_applied = meta.last_log_id;
        inner.membership = meta.last_membership.clone();
        inner.data = image.data;
        inner.snapshot = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<KvConfig>>, StorageError<NodeId>> {
        let inner = self.lock().map_err(sm_err)?;
        Ok(inner.snapshot.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(bytes.clone())),
        }))
    }
}
