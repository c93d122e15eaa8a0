//! The WAL's markers: metadata records in types with bit 0x80 set, which
//! LevelDB-format readers that do not know them may skip (see
//! `docs/wal.md`, "Markers", for the layouts and what LevelDB and RocksDB
//! do with them). Every field is a u64, little-endian; a payload longer
//! than the layout is a later version and its extra bytes are ignored.

use crate::error::{Error, Result};
use crate::format::RecordType;

/// One WAL marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marker {
    /// Type 0xF1, the first record of every file (written and synced, and
    /// the directory synced, before the file holds any batch).
    Predecessor {
        /// This file's number (its name's).
        file: u64,
        /// The previous file's number (0 for the first file of a new WAL).
        prev_file: u64,
        /// The last sequence number of the previous file (the first
        /// sequence number minus one for a new WAL).
        prev_last_seq: u64,
        /// The previous file's size in bytes once sealed (0 for a new WAL).
        prev_size: u64,
    },
    /// Type 0xF2, written right after a successful sync: every byte of the
    /// file before `synced_through` was durable when it was written.
    Synced {
        /// This file's number.
        file: u64,
        /// End of the synced bytes (the marker's own offset, or the block
        /// start before it when the marker needed a new block).
        synced_through: u64,
        /// The last sequence number those bytes hold.
        last_seq: u64,
    },
    /// Type 0xF3, the last record of a file closed by rotation or by
    /// [`Wal::close`](crate::wal::Wal::close), synced before any later file exists.
    Seal {
        /// This file's number.
        file: u64,
        /// The last sequence number in the file.
        last_seq: u64,
        /// Batches in the file.
        batches: u64,
    },
    /// Type 0xF4, written and synced in the current file before a purge
    /// deletes anything: every file before this one whose sequence numbers
    /// are all at or below `checkpoint` is to be deleted (a purge
    /// interrupted by a crash is finished by the next open).
    Purge {
        /// This file's number.
        file: u64,
        /// The checkpoint sequence: the caller no longer needs the batches
        /// through it.
        checkpoint: u64,
    },
}

/// The kind byte of the WAL's padding inside a recyclable marker record
/// (and, as a record type, the padding of a legacy-header file).
pub const PADDING: u8 = 0xF0;

/// Payload sizes of the four layouts.
const PREDECESSOR_LEN: usize = 32;
const SYNCED_LEN: usize = 24;
const SEAL_LEN: usize = 24;
const PURGE_LEN: usize = 16;

impl Marker {
    /// The record type the marker is written with in a file of legacy
    /// headers (0xF1 to 0xF4).
    pub fn record_type(&self) -> RecordType {
        match self {
            Marker::Predecessor { .. } => RecordType::WalPredecessor,
            Marker::Synced { .. } => RecordType::WalSynced,
            Marker::Seal { .. } => RecordType::WalSeal,
            Marker::Purge { .. } => RecordType::WalPurge,
        }
    }

    /// The payload of the marker in a file of recyclable headers, written
    /// with type 0xF5 ([`RecordType::WalRecyclableMarker`], an 11-byte header
    /// carrying the log number, so that a recycled file's old markers read
    /// as its previous use): the legacy type byte, then [`encode`](Marker::encode).
    pub fn encode_recyclable(&self) -> Vec<u8> {
        let mut out = vec![self.record_type().to_byte()];
        out.extend(self.encode());
        out
    }

    /// The file number the marker names.
    pub fn file(&self) -> u64 {
        match *self {
            Marker::Predecessor { file, .. }
            | Marker::Synced { file, .. }
            | Marker::Seal { file, .. }
            | Marker::Purge { file, .. } => file,
        }
    }

    /// The payload.
    pub fn encode(&self) -> Vec<u8> {
        let fields: &[u64] = &match *self {
            Marker::Predecessor {
                file,
                prev_file,
                prev_last_seq,
                prev_size,
            } => vec![file, prev_file, prev_last_seq, prev_size],
            Marker::Synced {
                file,
                synced_through,
                last_seq,
            } => vec![file, synced_through, last_seq],
            Marker::Seal {
                file,
                last_seq,
                batches,
            } => vec![file, last_seq, batches],
            Marker::Purge { file, checkpoint } => vec![file, checkpoint],
        };
        fields.iter().flat_map(|f| f.to_le_bytes()).collect()
    }

    /// Decodes a checksummed record of type `record_type`: `Ok(None)` when
    /// the type is not one of the WAL's markers; [`Error::MalformedMarker`]
    /// when the payload is too short for the type's layout.
    ///
    /// ```
    /// use blocklog::wal::Marker;
    ///
    /// let seal = Marker::Seal { file: 3, last_seq: 150, batches: 50 };
    /// let payload = seal.encode();
    /// assert_eq!(Marker::decode(seal.record_type().to_byte(), &payload, 0)?, Some(seal));
    /// assert!(Marker::decode(0xF3, &payload[..20], 0).is_err());
    /// assert_eq!(Marker::decode(0x8A, &payload, 0)?, None);
    /// // In a recyclable file: type 0xF5, the legacy type first.
    /// assert_eq!(Marker::decode(0xF5, &seal.encode_recyclable(), 0)?, Some(seal));
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn decode(record_type: u8, payload: &[u8], offset: u64) -> Result<Option<Marker>> {
        // A recyclable marker: its legacy type, then that type's payload
        // (empty, or kind 0xF0: padding).
        let (legacy, payload) = match RecordType::from_byte(record_type) {
            RecordType::WalRecyclableMarker => match payload.split_first() {
                None => return Ok(None),
                Some((&kind, rest)) if (0xF1..=0xF4).contains(&kind) => (kind, rest),
                Some(_) => return Ok(None),
            },
            _ => (record_type, payload),
        };
        let need = match RecordType::from_byte(legacy) {
            RecordType::WalPredecessor => PREDECESSOR_LEN,
            RecordType::WalSynced => SYNCED_LEN,
            RecordType::WalSeal => SEAL_LEN,
            RecordType::WalPurge => PURGE_LEN,
            _ => return Ok(None),
        };
        if payload.len() < need {
            return Err(Error::MalformedMarker {
                offset,
                what: "payload shorter than the marker's layout",
            });
        }
        let f =
            |i: usize| u64::from_le_bytes(payload[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        Ok(Some(match RecordType::from_byte(legacy) {
            RecordType::WalPredecessor => Marker::Predecessor {
                file: f(0),
                prev_file: f(1),
                prev_last_seq: f(2),
                prev_size: f(3),
            },
            RecordType::WalSynced => Marker::Synced {
                file: f(0),
                synced_through: f(1),
                last_seq: f(2),
            },
            RecordType::WalSeal => Marker::Seal {
                file: f(0),
                last_seq: f(1),
                batches: f(2),
            },
            _ => Marker::Purge {
                file: f(0),
                checkpoint: f(1),
            },
        }))
    }
}
