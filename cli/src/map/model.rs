//! The log map's model: the state of every byte of a file, painted from a
//! reader's events into cells of whole blocks (drawing is `render`'s).
//!
//! Bytes are painted in file order from the reader's events: a record
//! covers the bytes from its first header to the next event (so the block
//! trailers between records count as its own), dropped and benign regions
//! cover their exact ranges. After the point where a mode stops or refuses
//! a log, a salvage read (skip-corrupt, scan resync) paints the rest, so the
//! map also shows what that mode never looked at.

use blocklog::format::BLOCK_SIZE;
use blocklog::{BenignKind, Damage, Event};

/// The state of a byte in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A record (or metadata record) the mode returned.
    Valid,
    /// Block trailers, zero fill, bytes no event covers.
    Padding,
    /// What a recycled file's previous use left behind.
    Stale,
    /// Damage the mode dropped (or point-in-time stopped at) and reported.
    Dropped,
    /// Damage the mode refused, and damage after the point where it stopped.
    Damaged,
    /// Intact records after the point where the mode stopped: never returned.
    Unread,
}

impl State {
    /// Every state, in legend order.
    pub const ALL: [State; 6] = [
        State::Valid,
        State::Padding,
        State::Stale,
        State::Dropped,
        State::Damaged,
        State::Unread,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// Legend label.
    pub fn label(self) -> &'static str {
        match self {
            State::Valid => "valid records",
            State::Padding => "padding / zero fill",
            State::Stale => "stale (previous use)",
            State::Dropped => "dropped damage",
            State::Damaged => "damage (refused or beyond the stop)",
            State::Unread => "intact but not read (after the stop)",
        }
    }
}

/// Cells at most per file: larger files put several blocks in a cell.
const MAX_CELLS: u64 = 2048;
/// Cells per row (at most).
pub const COLUMNS: u64 = 64;

/// One file's painted map.
#[derive(Debug)]
pub struct FileMap {
    title: String,
    subtitle: String,
    len: u64,
    cell_bytes: u64,
    /// Per cell, runs of (state, bytes) in file order.
    cells: Vec<Vec<(State, u64)>>,
    totals: [u64; 6],
    painted_to: u64,
    /// A record whose end is the next event's start.
    open: Option<(u64, State)>,
    /// Whether events now come from after the mode's stop.
    after_stop: bool,
}

impl FileMap {
    /// An empty map of a file of `len` bytes.
    pub fn new(title: String, len: u64) -> FileMap {
        let blocks = len.div_ceil(BLOCK_SIZE as u64).max(1);
        let blocks_per_cell = blocks.div_ceil(MAX_CELLS);
        let cell_bytes = blocks_per_cell * BLOCK_SIZE as u64;
        FileMap {
            title,
            subtitle: String::new(),
            len,
            cell_bytes,
            cells: vec![Vec::new(); blocks.div_ceil(blocks_per_cell) as usize],
            totals: [0; 6],
            painted_to: 0,
            open: None,
            after_stop: false,
        }
    }

    /// Sets the line under the title.
    pub fn set_subtitle(&mut self, subtitle: String) {
        self.subtitle = subtitle;
    }

    /// The file's name and size, the map's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The line under the title.
    pub fn subtitle(&self) -> &str {
        &self.subtitle
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Bytes per cell (a whole number of blocks).
    pub fn cell_bytes(&self) -> u64 {
        self.cell_bytes
    }

    /// Per cell, runs of (state, bytes) in file order.
    pub fn cells(&self) -> &[Vec<(State, u64)>] {
        &self.cells
    }

    /// Bytes painted in each state so far.
    pub fn total(&self, state: State) -> u64 {
        self.totals[state.index()]
    }

    /// From now on, events come from the salvage read after the mode's stop.
    pub fn begin_after_stop(&mut self) {
        self.after_stop = true;
        self.open = None;
    }

    /// Paints one event of the reader.
    pub fn event(&mut self, event: &Event) {
        match event {
            Event::Record(r) => {
                self.close(r.offset);
                let state = if self.after_stop {
                    State::Unread
                } else {
                    State::Valid
                };
                self.open = Some((r.offset, state));
            }
            Event::Dropped(d) => {
                let state = if self.after_stop {
                    State::Damaged
                } else {
                    State::Dropped
                };
                self.close(d.range.start);
                self.paint(d.range.start, d.range.end, state);
            }
            Event::Benign(b) => {
                self.close(b.range.start);
                let state = match b.kind {
                    BenignKind::ZeroFilledTail => State::Padding,
                    BenignKind::PreviousUse => State::Stale,
                    _ if self.after_stop => State::Unread,
                    _ => State::Valid,
                };
                self.paint(b.range.start, b.range.end, state);
            }
            _ => {}
        }
    }

    /// Paints the damage the mode refused.
    pub fn refused(&mut self, damage: &Damage) {
        self.close(damage.range.start);
        self.paint(damage.range.start, damage.range.end, State::Damaged);
    }

    /// Where painting has reached.
    pub fn painted_to(&self) -> u64 {
        self.painted_to
    }

    /// Ends the map: the last record runs to the end of the file, unless
    /// `complete` is false (the read failed), when the rest is left unpainted.
    pub fn finish(&mut self, complete: bool) {
        if complete {
            self.close(self.len);
        } else {
            self.open = None;
        }
    }

    fn close(&mut self, at: u64) {
        if let Some((start, state)) = self.open.take() {
            self.paint(start, at, state);
        }
    }

    fn paint(&mut self, start: u64, end: u64, state: State) {
        let end = end.min(self.len);
        if end <= self.painted_to {
            return;
        }
        let start = start.max(self.painted_to);
        if start > self.painted_to {
            self.paint_raw(self.painted_to, start, State::Padding);
        }
        self.paint_raw(start, end, state);
    }

    fn paint_raw(&mut self, mut start: u64, end: u64, state: State) {
        self.totals[state.index()] += end - start;
        self.painted_to = end;
        while start < end {
            let cell = (start / self.cell_bytes) as usize;
            let cell_end = (cell as u64 + 1) * self.cell_bytes;
            let n = end.min(cell_end) - start;
            if let Some(runs) = self.cells.get_mut(cell) {
                match runs.last_mut() {
                    Some((s, bytes)) if *s == state => *bytes += n,
                    _ => runs.push((state, n)),
                }
            }
            start += n;
        }
    }

    /// Cells per row: fewer, wider cells for small files.
    pub fn columns(&self) -> u64 {
        match self.cells.len() {
            0..=16 => 16,
            17..=32 => 32,
            _ => COLUMNS,
        }
    }

    /// Rows of cells.
    pub fn rows(&self) -> u64 {
        (self.cells.len() as u64).div_ceil(self.columns())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    use blocklog::{ReaderOptions, RecoveryMode, Resync, Writer};
    use blocklog_testkit::read::read_all;

    fn paint(bytes: &[u8], mode: RecoveryMode) -> (FileMap, blocklog::Summary) {
        let mut map = FileMap::new("t".into(), bytes.len() as u64);
        let each = |map: &mut FileMap, reader: &mut blocklog::Reader<&[u8]>| {
            read_all(reader, |e, _| {
                map.event(&e);
                Ok::<(), Infallible>(())
            })
            .unwrap_or_else(|never| match never {})
        };
        let end = each(&mut map, &mut ReaderOptions::new().mode(mode).build(bytes));
        let failed = end.error.as_ref().and_then(|e| e.damage());
        if let Some(d) = failed {
            map.refused(d);
        }
        if failed.is_some() || end.summary.stopped_at.is_some() {
            map.begin_after_stop();
            let salvage = ReaderOptions::new()
                .mode(RecoveryMode::SkipCorrupt)
                .resync(Resync::Scan);
            each(&mut map, &mut salvage.build(bytes));
        }
        map.finish(true);
        (map, end.summary)
    }

    fn log() -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        for i in 0..40u32 {
            w.add_record(&vec![i as u8 + 1; 300 + 997 * (i as usize % 5)])
                .unwrap();
        }
        w.add_record(&vec![9; 50_000]).unwrap();
        w.into_inner().unwrap()
    }

    fn total(map: &FileMap) -> u64 {
        State::ALL.iter().map(|s| map.total(*s)).sum()
    }

    #[test]
    fn every_byte_is_painted_once() {
        let bytes = log();
        let (map, _) = paint(&bytes, RecoveryMode::TolerateTail);
        assert_eq!(total(&map), bytes.len() as u64);
        assert_eq!(map.total(State::Valid), bytes.len() as u64);
        let cells: u64 = map
            .cells
            .iter()
            .flat_map(|c| c.iter().map(|(_, n)| n))
            .sum();
        assert_eq!(cells, bytes.len() as u64);
        assert_eq!(map.cells.len(), bytes.len().div_ceil(BLOCK_SIZE));
    }

    #[test]
    fn dropped_and_refused_damage_and_what_lies_beyond() {
        let mut bytes = log();
        bytes[1000] ^= 0x55; // interior damage in block 0
        let len = bytes.len() as u64;
        bytes.extend_from_slice(&[0u8; 5000]); // preallocated tail
        let all = bytes.len() as u64;

        let (map, summary) = paint(&bytes, RecoveryMode::SkipCorrupt);
        assert_eq!(total(&map), all);
        assert_eq!(map.total(State::Dropped), summary.dropped_bytes);
        assert_eq!(map.total(State::Padding), all - len);
        assert_eq!(map.total(State::Damaged), 0);

        let (map, summary) = paint(&bytes, RecoveryMode::PointInTime);
        assert_eq!(total(&map), all);
        assert_eq!(map.total(State::Dropped), summary.dropped_bytes);
        assert!(map.total(State::Unread) > 0);

        let (map, _) = paint(&bytes, RecoveryMode::Absolute);
        assert_eq!(total(&map), all);
        assert_eq!(map.total(State::Dropped), 0);
        assert!(map.total(State::Damaged) > 0);
        assert!(map.total(State::Unread) > 0);
        assert!(map.total(State::Valid) < 1000);
    }

    #[test]
    fn large_files_share_cells() {
        let map = FileMap::new("t".into(), 10_000 * BLOCK_SIZE as u64 + 1);
        assert!(map.cells.len() as u64 <= MAX_CELLS);
        assert_eq!(map.cell_bytes, 5 * BLOCK_SIZE as u64);
        assert_eq!(map.columns(), COLUMNS);
        let small = FileMap::new("t".into(), 3 * BLOCK_SIZE as u64);
        assert_eq!((small.cells.len(), small.columns()), (3, 16));
    }
}
