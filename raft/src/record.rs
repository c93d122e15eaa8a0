//! The records the store keeps in the WAL: each is one WAL entry whose
//! first byte tags its kind (see `docs/raft.md`).
//!
//! | tag | record | body |
//! |---|---|---|
//! | `E` | a log entry | the entry, JSON |
//! | `V` | a vote | the vote, JSON |
//! | `T` | truncate: drop entries with index ≥ body | u64 little-endian |
//! | `P` | purge: drop entries up to the log id, inclusive | the log id, JSON |
//! | `C` | the committed log id | `Option<LogId>`, JSON |

use openraft::{LogId, RaftTypeConfig, Vote};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

const ENTRY: u8 = b'E';
const VOTE: u8 = b'V';
const TRUNCATE: u8 = b'T';
const PURGE: u8 = b'P';
const COMMITTED: u8 = b'C';

/// One record, decoded.
#[derive(Debug)]
pub(crate) enum Record<C: RaftTypeConfig> {
    /// A log entry (appended).
    Entry(C::Entry),
    /// The vote saved.
    Vote(Vote<C::NodeId>),
    /// Entries with an index at or above this one are dropped.
    Truncate(u64),
    /// Entries up to this log id, inclusive, are dropped.
    Purge(LogId<C::NodeId>),
    /// The committed log id saved.
    Committed(Option<LogId<C::NodeId>>),
}

fn json<T: Serialize>(tag: u8, value: &T) -> Result<Vec<u8>> {
    let mut out = vec![tag];
    serde_json::to_writer(&mut out, value).map_err(|e| Error::Encode(e.to_string()))?;
    Ok(out)
}

/// Encodes a log entry's record.
pub(crate) fn entry<C: RaftTypeConfig>(entry: &C::Entry) -> Result<Vec<u8>> {
    json(ENTRY, entry)
}

/// Encodes a vote's record.
pub(crate) fn vote<C: RaftTypeConfig>(vote: &Vote<C::NodeId>) -> Result<Vec<u8>> {
    json(VOTE, vote)
}

/// Encodes a truncation's record.
pub(crate) fn truncate(since: u64) -> Vec<u8> {
    let mut out = vec![TRUNCATE];
    out.extend_from_slice(&since.to_le_bytes());
    out
}

/// Encodes a purge's record.
pub(crate) fn purge<C: RaftTypeConfig>(upto: &LogId<C::NodeId>) -> Result<Vec<u8>> {
    json(PURGE, upto)
}

/// Encodes the committed log id's record.
pub(crate) fn committed<C: RaftTypeConfig>(c: &Option<LogId<C::NodeId>>) -> Result<Vec<u8>> {
    json(COMMITTED, c)
}

fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// Decodes a record; the error says what is wrong (the caller adds where).
pub(crate) fn decode<C: RaftTypeConfig>(bytes: &[u8]) -> Result<Record<C>, String> {
    let Some((&tag, body)) = bytes.split_first() else {
        return Err("an empty record".into());
    };
    match tag {
        ENTRY => from_json(body).map(Record::Entry),
        VOTE => from_json(body).map(Record::Vote),
        TRUNCATE => {
            let b: [u8; 8] = body
                .try_into()
                .map_err(|_| format!("a truncate record of {} bytes, not 8", body.len()))?;
            Ok(Record::Truncate(u64::from_le_bytes(b)))
        }
        PURGE => from_json(body).map(Record::Purge),
        COMMITTED => from_json(body).map(Record::Committed),
        other => Err(format!("unknown record tag 0x{other:02x}")),
    }
}
