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
}

/// Payload sizes of the three layouts.
const PREDECESSOR_LEN: usize = 32;
const SYNCED_LEN: usize = 24;
const SEAL_LEN: usize = 24;

impl Marker {
    /// The record type the marker is written with.
    pub fn record_type(&self) -> RecordType {
        match self {
            Marker::Predecessor { .. } => RecordType::WalPredecessor,
            Marker::Synced { .. } => RecordType::WalSynced,
            Marker::Seal { .. } => RecordType::WalSeal,
        }
    }

    /// The file number the marker names.
    pub fn file(&self) -> u64 {
        match *self {
            Marker::Predecessor { file, .. }
            | Marker::Synced { file, .. }
            | Marker::Seal { file, .. } => file,
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
    /// # Ok::<(), blocklog::Error>(())
    /// ```
    pub fn decode(record_type: u8, payload: &[u8], offset: u64) -> Result<Option<Marker>> {
        let need = match RecordType::from_byte(record_type) {
            RecordType::WalPredecessor => PREDECESSOR_LEN,
            RecordType::WalSynced => SYNCED_LEN,
            RecordType::WalSeal => SEAL_LEN,
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
        Ok(Some(match RecordType::from_byte(record_type) {
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
            _ => Marker::Seal {
                file: f(0),
                last_seq: f(1),
                batches: f(2),
            },
        }))
    }
}
