//! `verify --map`: a log drawn as a strip of blocks coloured by state.
//!
//! Bytes are painted in file order from the reader's events: a record
//! covers the bytes from its first header to the next event (so the block
//! trailers between records count as its own), dropped and benign regions
//! cover their exact ranges. After the point where a mode stops or refuses
//! a log, a salvage read (skip-corrupt, scan resync) paints the rest, so the
//! map also shows what that mode never looked at.

use std::path::Path;

use blocklog::format::BLOCK_SIZE;
use blocklog::{BenignKind, Damage, Event};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::common::{human_bytes, CliError};

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

    fn color(self) -> RGBColor {
        match self {
            State::Valid => RGBColor(0x3a, 0xa6, 0x55),
            State::Padding => RGBColor(0xd4, 0xd4, 0xd4),
            State::Stale => RGBColor(0x8c, 0xb4, 0xd9),
            State::Dropped => RGBColor(0xf5, 0x9a, 0x23),
            State::Damaged => RGBColor(0xd6, 0x27, 0x28),
            State::Unread => RGBColor(0xb9, 0xe0, 0xbf),
        }
    }
}

/// Cells at most per file: larger files put several blocks in a cell.
const MAX_CELLS: u64 = 2048;
/// Cells per row.
const COLUMNS: u64 = 64;

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
    fn columns(&self) -> u64 {
        match self.cells.len() {
            0..=16 => 16,
            17..=32 => 32,
            _ => COLUMNS,
        }
    }

    /// Width of a cell in pixels, gap included.
    fn cell_width(&self) -> i32 {
        CELL_W * (COLUMNS / self.columns()) as i32
    }

    fn rows(&self) -> u64 {
        (self.cells.len() as u64).div_ceil(self.columns())
    }
}

const WIDTH: i32 = 1100;
const MARGIN: i32 = 20;
const LABEL_W: i32 = 110;
const CELL_W: i32 = 14;
const CELL_H: i32 = 22;
const ROW_GAP: i32 = 4;
const LEGEND_H: i32 = 80;
/// PNG legend: swatch size and the gap between swatches.
const SWATCH_W: i32 = 48;
const SWATCH_H: i32 = 16;
const SWATCH_GAP: i32 = 12;
/// PNG: the legend row (swatches and the space under them).
const PNG_LEGEND_H: i32 = SWATCH_H + 20;
/// PNG: above each file's strip, a rule that separates it from the last.
const PNG_FILE_HEAD: i32 = 16;
const PNG_FILE_TAIL: i32 = 4;
/// PNG maps taller than this are refused (the bitmap is held in memory:
/// at most about 90 MB); an SVG map has no such limit.
pub const PNG_MAX_HEIGHT: i32 = 32_768;

/// What `--map` writes, from the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapFormat {
    /// SVG, with titles, labels and a legend in words.
    Svg,
    /// PNG, shapes only (no font is needed): strips and legend swatches.
    Png,
}

/// The map format for `path`: `.svg` or `.png`, else a usage error.
pub fn map_format(path: &Path) -> Result<MapFormat, CliError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => Ok(MapFormat::Svg),
        Some(e) if e.eq_ignore_ascii_case("png") => Ok(MapFormat::Png),
        _ => Err(CliError::usage(format!(
            "cannot draw {}: the file name must end in .svg or .png",
            path.display()
        ))),
    }
}

/// Where things go: the SVG map has text, the PNG map only shapes, so it
/// leaves out the title lines, the row labels and the legend's words.
#[derive(Debug, Clone, Copy)]
struct Layout {
    text: bool,
}

impl Layout {
    fn width(self) -> i32 {
        if self.text {
            WIDTH
        } else {
            2 * MARGIN + COLUMNS as i32 * CELL_W
        }
    }

    fn height(self, maps: &[FileMap]) -> i32 {
        let legend = if self.text { LEGEND_H } else { PNG_LEGEND_H };
        MARGIN * 2 + legend + maps.iter().map(|m| self.file_height(m)).sum::<i32>()
    }

    fn file_height(self, map: &FileMap) -> i32 {
        let rows = map.rows() as i32 * (CELL_H + ROW_GAP);
        if self.text {
            // title, subtitle, rows, totals line, gap
            24 + 20 + rows + 26 + 20
        } else {
            PNG_FILE_HEAD + rows + PNG_FILE_TAIL
        }
    }

    /// Where the strips start, left.
    fn strip_x(self) -> i32 {
        MARGIN + if self.text { LABEL_W } else { 0 }
    }

    /// Legend swatch `i`: top left corner and width.
    fn swatch(self, i: usize) -> (i32, i32, i32) {
        let i = i as i32;
        if self.text {
            // Two rows of three, each box followed by its label.
            (MARGIN + (i % 3) * 340, MARGIN + 28 + (i / 3) * 24, 16)
        } else {
            // One row, left to right in `State::ALL` order.
            (MARGIN + i * (SWATCH_W + SWATCH_GAP), MARGIN, SWATCH_W)
        }
    }
}

/// Draws `maps` into `path`: SVG or PNG by the file name's extension.
pub fn draw(path: &Path, maps: &[FileMap]) -> Result<MapFormat, CliError> {
    let format = map_format(path)?;
    let layout = Layout {
        text: format == MapFormat::Svg,
    };
    let (width, height) = (layout.width(), layout.height(maps));
    let size = (width as u32, height as u32);
    match format {
        MapFormat::Svg => render(
            SVGBackend::new(path, size).into_drawing_area(),
            path,
            maps,
            layout,
        )?,
        MapFormat::Png => {
            if height > PNG_MAX_HEIGHT {
                return Err(CliError::usage(format!(
                    "cannot draw {}: a PNG map of these files would be {height} pixels tall \
                     (at most {PNG_MAX_HEIGHT}); write FILE.svg, or map fewer files",
                    path.display()
                )));
            }
            render(
                BitMapBackend::new(path, size).into_drawing_area(),
                path,
                maps,
                layout,
            )?
        }
    }
    Ok(format)
}

/// The line that tells what a PNG map (which has no text) shows.
pub fn png_legend(maps: &[FileMap]) -> String {
    let legend: Vec<&str> = State::ALL.iter().map(|s| s.label()).collect();
    let strips: Vec<&str> = maps.iter().map(|m| m.title.as_str()).collect();
    format!(
        "legend swatches, left to right: {}; strips, top to bottom: {}",
        legend.join(", "),
        if strips.is_empty() {
            "none".to_string()
        } else {
            strips.join(", ")
        }
    )
}

fn render<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    path: &Path,
    maps: &[FileMap],
    layout: Layout,
) -> Result<(), CliError> {
    draw_all(&root, maps, layout).map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))?;
    Ok(())
}

/// Refuses anything but an `.svg` path, with the reason (charts need text).
pub fn check_svg_path(path: &Path) -> Result<(), CliError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => Ok(()),
        Some(e) if e.eq_ignore_ascii_case("png") => Err(CliError::usage(format!(
            "cannot draw {}: only SVG output is supported for charts (a chart needs text, and \
             PNG text would need a font rasteriser and system fonts); write FILE.svg and convert \
             it, e.g. with rsvg-convert",
            path.display()
        ))),
        _ => Err(CliError::usage(format!(
            "cannot draw {}: the file name must end in .svg",
            path.display()
        ))),
    }
}

/// A plotting failure as a one-line error.
pub fn plot_error<E: std::fmt::Debug>(path: &Path, e: E) -> CliError {
    CliError::usage(format!("cannot write {}: {e:?}", path.display()))
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws the maps; text (titles, labels, legend words) only when
/// `layout.text`, so the bitmap backend never needs a font.
fn draw_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    maps: &[FileMap],
    layout: Layout,
) -> DrawResult<DB> {
    let text = |t: String, at: (i32, i32), style: TextStyle<'_>| -> DrawResult<DB> {
        if layout.text {
            root.draw(&Text::new(t, at, style))?;
        }
        Ok(())
    };
    root.fill(&WHITE)?;
    let title = ("sans-serif", 20).into_font().style(FontStyle::Bold);
    text(
        "blocklog verify: log map (each cell is a block; colours show what the mode did with its bytes; \
         a cell holding damage has a thick border)"
            .to_string(),
        (MARGIN, MARGIN),
        ("sans-serif", 15).into_font().into(),
    )?;
    for (i, state) in State::ALL.iter().enumerate() {
        let (x, y, w) = layout.swatch(i);
        root.draw(&Rectangle::new(
            [(x, y), (x + w, y + SWATCH_H)],
            state.color().filled(),
        ))?;
        root.draw(&Rectangle::new(
            [(x, y), (x + w, y + SWATCH_H)],
            BLACK.stroke_width(1),
        ))?;
        text(
            state.label().to_string(),
            (x + w + 8, y + 1),
            ("sans-serif", 14).into_font().into(),
        )?;
    }
    let mut y = MARGIN + if layout.text { LEGEND_H } else { PNG_LEGEND_H };
    let strip_x = layout.strip_x();
    for map in maps {
        if layout.text {
            text(map.title.clone(), (MARGIN, y), title.clone().into())?;
            y += 24;
            let cell_desc = if map.cell_bytes == BLOCK_SIZE as u64 {
                "1 cell = 1 block (32 KiB)".to_string()
            } else {
                format!(
                    "1 cell = {} blocks ({})",
                    map.cell_bytes / BLOCK_SIZE as u64,
                    human_bytes(map.cell_bytes)
                )
            };
            text(
                format!("{}; {cell_desc}", map.subtitle),
                (MARGIN, y),
                ("sans-serif", 14).into_font().into(),
            )?;
            y += 20;
        } else {
            // A rule across the strip's width separates the files.
            let strip_w = COLUMNS as i32 * CELL_W;
            root.draw(&Rectangle::new(
                [(strip_x, y + 6), (strip_x + strip_w, y + 8)],
                RGBColor(0x40, 0x40, 0x40).filled(),
            ))?;
            y += PNG_FILE_HEAD;
        }
        let label = ("sans-serif", 12)
            .into_font()
            .color(&RGBColor(0x55, 0x55, 0x55))
            .pos(Pos::new(HPos::Right, VPos::Center));
        let (columns, cell_w) = (map.columns(), map.cell_width());
        for row in 0..map.rows() {
            let first_cell = row * columns;
            let offset = first_cell * map.cell_bytes;
            text(
                format!("block {}", offset / BLOCK_SIZE as u64),
                (strip_x - 8, y + CELL_H / 2),
                label.clone(),
            )?;
            for col in 0..columns {
                let cell = (first_cell + col) as usize;
                let Some(runs) = map.cells.get(cell) else {
                    break;
                };
                let x0 = strip_x + col as i32 * cell_w;
                let full = cell_w - 2;
                let scale = full as f64 / map.cell_bytes as f64;
                // The last cell is as wide as the part of the file it holds.
                let cell_start = cell as u64 * map.cell_bytes;
                let held = (map.len - cell_start.min(map.len)).min(map.cell_bytes);
                let x1 = x0 + ((held as f64 * scale).round() as i32).clamp(3, full);
                let mut x = x0 as f64;
                for &(state, bytes) in runs {
                    let w = bytes as f64 * scale;
                    let (a, b) = (x.round() as i32, (x + w).round() as i32);
                    // Keep a sliver of damage visible even when it is a few bytes.
                    let b = if matches!(state, State::Dropped | State::Damaged) {
                        b.max(a + 2)
                    } else {
                        b
                    };
                    if b > a {
                        root.draw(&Rectangle::new(
                            [(a, y), (b.min(x1), y + CELL_H)],
                            state.color().filled(),
                        ))?;
                    }
                    x += w;
                }
                // A cell holding damage gets a thick border of its colour, so
                // that a few damaged bytes in a large cell still show.
                let worst = [State::Damaged, State::Dropped]
                    .into_iter()
                    .find(|d| runs.iter().any(|(s, _)| s == d));
                let border = match worst {
                    Some(d) => d.color().stroke_width(3),
                    None => RGBColor(0x70, 0x70, 0x70).stroke_width(1),
                };
                root.draw(&Rectangle::new([(x0, y), (x1, y + CELL_H)], border))?;
            }
            y += CELL_H + ROW_GAP;
        }
        if layout.text {
            let totals: Vec<String> = State::ALL
                .iter()
                .filter(|s| map.total(**s) > 0)
                .map(|s| format!("{}: {}", s.label(), human_bytes(map.total(*s))))
                .collect();
            text(
                totals.join(" | "),
                (MARGIN, y + 4),
                ("sans-serif", 13).into_font().into(),
            )?;
            y += 26 + 20;
        } else {
            y += PNG_FILE_TAIL;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use blocklog::{ReaderOptions, RecoveryMode, Resync, Writer};

    fn paint(bytes: &[u8], mode: RecoveryMode) -> (FileMap, blocklog::Summary) {
        let mut map = FileMap::new("t".into(), bytes.len() as u64);
        let mut r = ReaderOptions::new().mode(mode).build(bytes);
        let mut failed = None;
        loop {
            match r.next_event() {
                Ok(Some(e)) => map.event(&e),
                Ok(None) => break,
                Err(e) => {
                    failed = e.damage().cloned();
                    break;
                }
            }
        }
        if let Some(d) = &failed {
            map.refused(d);
        }
        let summary = r.summary().clone();
        if failed.is_some() || summary.stopped_at.is_some() {
            map.begin_after_stop();
            let mut salvage = ReaderOptions::new()
                .mode(RecoveryMode::SkipCorrupt)
                .resync(Resync::Scan)
                .build(bytes);
            while let Ok(Some(e)) = salvage.next_event() {
                map.event(&e);
            }
        }
        map.finish(true);
        (map, summary)
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
