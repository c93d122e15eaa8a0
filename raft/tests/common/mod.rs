//! Shared by the store's tests: entries, log ids, the store's whole state.

#![allow(dead_code)]

use std::path::Path;

use blocklog_raft::kv::{KvConfig, Set};
use blocklog_raft::{LogStore, Options};
use openraft::storage::RaftLogStorage;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, Vote};

pub type Store = LogStore<KvConfig>;

pub fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 0), index)
}

/// Entry `index` of `term`, setting `k<index>` to `value`.
pub fn entry(term: u64, index: u64, value: &str) -> Entry<KvConfig> {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(Set {
            key: format!("k{index}"),
            value: value.to_string(),
        }),
    }
}

/// What a store holds: vote, last purged, committed, entries as
/// (term, index, value).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    pub vote: Option<Vote<u64>>,
    pub last_purged: Option<LogId<u64>>,
    pub last_log: Option<LogId<u64>>,
    pub committed: Option<LogId<u64>>,
    pub entries: Vec<(u64, u64, String)>,
}

pub async fn image(store: &mut Store) -> Image {
    let state = store.get_log_state().await.unwrap();
    let entries = store
        .try_get_log_entries(..)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let value = match e.payload {
                EntryPayload::Normal(s) => s.value,
                other => format!("{other:?}"),
            };
            (e.log_id.leader_id.term, e.log_id.index, value)
        })
        .collect();
    Image {
        vote: store.read_vote().await.unwrap(),
        last_purged: state.last_purged_log_id,
        last_log: state.last_log_id,
        committed: store.read_committed().await.unwrap(),
        entries,
    }
}

pub fn open(dir: &Path) -> Store {
    LogStore::open(dir, Options::new()).unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}
