//! Shared helpers for the core tests: build logs, damage them, read them
//! under every mode.
#![allow(dead_code)]

use std::io::{self, Read};

use blocklog::{
    Benign, Damage, Error, Event, Outcome, ReaderOptions, RecoveryMode, Resync, Summary, Writer,
    WriterOptions,
};

pub const BLOCK: usize = blocklog::format::BLOCK_SIZE;
pub const HDR: usize = blocklog::format::HEADER_SIZE;
pub const RHDR: usize = blocklog::format::RECYCLABLE_HEADER_SIZE;

/// Everything one read produced.
#[derive(Debug)]
pub struct Run {
    pub records: Vec<(u64, Vec<u8>)>,
    pub dropped: Vec<Damage>,
    pub benign: Vec<Benign>,
    pub error: Option<Error>,
    pub summary: Summary,
}

impl Run {
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        self.records.iter().map(|(_, p)| p.clone()).collect()
    }
    pub fn outcome(&self) -> Outcome {
        self.summary.outcome()
    }
}

pub fn read_with(bytes: &[u8], opts: ReaderOptions) -> Run {
    read_source(bytes, opts)
}

pub fn read_source<R: Read>(source: R, opts: ReaderOptions) -> Run {
    let mut r = opts.build(source);
    let mut run = Run {
        records: vec![],
        dropped: vec![],
        benign: vec![],
        error: None,
        summary: Summary::default(),
    };
    loop {
        match r.next_event() {
            Ok(Some(Event::Record(rec))) => run.records.push((rec.offset, rec.payload.to_vec())),
            Ok(Some(Event::Dropped(d))) => run.dropped.push(d),
            Ok(Some(Event::Benign(b))) => run.benign.push(b),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                run.error = Some(e);
                break;
            }
        }
    }
    // The end is final, and an error is sticky: asking again never turns a
    // refusal or an I/O error into a clean end of log.
    let after = r.next_event();
    match &run.error {
        None => assert!(matches!(after, Ok(None)), "not fused: {after:?}"),
        Some(e) => assert_eq!(after.err().map(|a| a.to_string()), Some(e.to_string())),
    }
    run.summary = r.summary().clone();
    run
}

pub fn read(bytes: &[u8], mode: RecoveryMode) -> Run {
    read_with(bytes, ReaderOptions::new().mode(mode))
}

pub fn read_resync(bytes: &[u8], mode: RecoveryMode, resync: Resync) -> Run {
    read_with(bytes, ReaderOptions::new().mode(mode).resync(resync))
}

/// Reads under the four modes.
pub fn read_all_modes(bytes: &[u8]) -> [Run; 4] {
    RecoveryMode::ALL.map(|m| read(bytes, m))
}

pub fn write_log(records: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    write_with(WriterOptions::new(), records)
}

pub fn write_with(opts: WriterOptions, records: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut w = opts.build(Vec::new());
    let offsets = records.iter().map(|r| w.add_record(r).unwrap()).collect();
    (w.into_inner().unwrap(), offsets)
}

pub fn writer() -> Writer<Vec<u8>> {
    Writer::new(Vec::new())
}

/// `n` bytes made of `tag` repeated: LevelDB's BigString.
pub fn big(tag: &str, n: usize) -> Vec<u8> {
    tag.bytes().cycle().take(n).collect()
}

/// Deterministic pseudo-random bytes.
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Rewrites the checksum of the legacy record whose header is at `at`
/// after its header or payload was edited.
pub fn fix_checksum(log: &mut [u8], at: usize) {
    let t = blocklog::format::RecordType::from_byte(log[at + 6]);
    let len = u16::from_le_bytes([log[at + 4], log[at + 5]]) as usize;
    let hs = t.header_size();
    let ln = if t.is_recyclable() {
        Some(u32::from_le_bytes(log[at + 7..at + 11].try_into().unwrap()))
    } else {
        None
    };
    let crc = blocklog::format::record_crc(t, ln, &log[at + hs..at + hs + len]);
    log[at..at + 4].copy_from_slice(&blocklog::format::mask_crc(crc).to_le_bytes());
}

/// A source that returns at most one byte per call.
pub struct OneByte<R>(pub R);

impl<R: Read> Read for OneByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

/// A source that fails after `ok` bytes.
pub struct FailAfter<'a> {
    pub data: &'a [u8],
    pub ok: usize,
    pub pos: usize,
}

impl Read for FailAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.ok {
            return Err(io::Error::other("injected read error"));
        }
        let n = buf
            .len()
            .min(self.ok - self.pos)
            .min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The end offset of a record of `len` bytes whose first header is at
/// `start`, with headers of `hdr` bytes (the writer's layout).
pub fn record_end(start: u64, len: usize, hdr: usize) -> u64 {
    let mut pos = start as usize;
    let mut left = len;
    loop {
        let room = BLOCK - pos % BLOCK;
        if room < hdr {
            pos += room;
            continue;
        }
        let take = left.min(room - hdr);
        pos += hdr + take;
        left -= take;
        if left == 0 {
            return pos as u64;
        }
    }
}
