//! The log map's renderer: each file's cells as a strip of blocks coloured
//! by state, with titles, row labels, totals and a legend, in SVG or PNG
//! (the same text in both: the PNG's comes from the bundled font).

use std::path::Path;

use blocklog::format::BLOCK_SIZE;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::model::{FileMap, State, COLUMNS};
use crate::error::CliError;
use crate::plot::{self, DrawResult, Picture, FONT};
use crate::text::human_bytes;

/// A state's colour.
fn color(state: State) -> RGBColor {
    match state {
        State::Valid => RGBColor(0x3a, 0xa6, 0x55),
        State::Padding => RGBColor(0xd4, 0xd4, 0xd4),
        State::Stale => RGBColor(0x8c, 0xb4, 0xd9),
        State::Dropped => RGBColor(0xf5, 0x9a, 0x23),
        State::Damaged => RGBColor(0xd6, 0x27, 0x28),
        State::Unread => RGBColor(0xb9, 0xe0, 0xbf),
    }
}

const WIDTH: i32 = 1100;
const MARGIN: i32 = 20;
/// Room left of the strips for the row labels.
const LABEL_W: i32 = 110;
const CELL_W: i32 = 14;
const CELL_H: i32 = 22;
const ROW_GAP: i32 = 4;
/// The map's first line and the legend under it.
const LEGEND_H: i32 = 80;
/// A legend swatch's side.
const SWATCH: i32 = 16;

/// Width of one of `map`'s cells in pixels, gap included.
fn cell_width(map: &FileMap) -> i32 {
    CELL_W * (COLUMNS / map.columns()) as i32
}

/// Height of one file's part: title, subtitle, rows, totals line, gap.
fn file_height(map: &FileMap) -> i32 {
    24 + 20 + map.rows() as i32 * (CELL_H + ROW_GAP) + 26 + 20
}

/// Legend swatch `i`, in two rows of three, each box followed by its
/// label: its top left corner.
fn swatch(i: usize) -> (i32, i32) {
    let i = i as i32;
    (MARGIN + (i % 3) * 340, MARGIN + 28 + (i / 3) * 24)
}

/// The maps of one `verify --map` run, as one picture.
struct Maps<'a>(&'a [FileMap]);

impl Picture for Maps<'_> {
    const NOUN: &'static str = "map";
    const FEWER: &'static str = "map fewer files";

    fn size(&self) -> (u32, u32) {
        let height = MARGIN * 2 + LEGEND_H + self.0.iter().map(file_height).sum::<i32>();
        (WIDTH as u32, height as u32)
    }

    fn paint<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_all(root, self.0)
    }
}

/// Draws `maps` into `path`: SVG or PNG by the file name's extension.
pub fn draw(path: &Path, maps: &[FileMap]) -> Result<(), CliError> {
    plot::render(path, &Maps(maps)).map(|_| ())
}

/// Draws the maps: the legend, then each file's title, rows and totals.
fn draw_all<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, maps: &[FileMap]) -> DrawResult<DB> {
    let text = |t: String, at: (i32, i32), style: TextStyle<'_>| -> DrawResult<DB> {
        root.draw(&Text::new(t, at, style))?;
        Ok(())
    };
    root.fill(&WHITE)?;
    let title = (FONT, 20).into_font().style(FontStyle::Bold);
    text(
        "blocklog verify: log map (each cell is a block; colours show what the mode did with its bytes; \
         a cell holding damage has a thick border)"
            .to_string(),
        (MARGIN, MARGIN),
        (FONT, 15).into_font().into(),
    )?;
    for (i, state) in State::ALL.iter().enumerate() {
        let (x, y) = swatch(i);
        let square = [(x, y), (x + SWATCH, y + SWATCH)];
        root.draw(&Rectangle::new(square, color(*state).filled()))?;
        root.draw(&Rectangle::new(square, BLACK.stroke_width(1)))?;
        text(
            state.label().to_string(),
            (x + SWATCH + 8, y + 1),
            (FONT, 14).into_font().into(),
        )?;
    }
    let mut y = MARGIN + LEGEND_H;
    let strip_x = MARGIN + LABEL_W;
    for map in maps {
        text(map.title().to_string(), (MARGIN, y), title.clone().into())?;
        y += 24;
        let cell_bytes = map.cell_bytes();
        let cell_desc = if cell_bytes == BLOCK_SIZE as u64 {
            "1 cell = 1 block (32 KiB)".to_string()
        } else {
            format!(
                "1 cell = {} blocks ({})",
                cell_bytes / BLOCK_SIZE as u64,
                human_bytes(cell_bytes)
            )
        };
        text(
            format!("{}; {cell_desc}", map.subtitle()),
            (MARGIN, y),
            (FONT, 14).into_font().into(),
        )?;
        y += 20;
        let label = (FONT, 12)
            .into_font()
            .color(&RGBColor(0x55, 0x55, 0x55))
            .pos(Pos::new(HPos::Right, VPos::Center));
        let (columns, cell_w, len) = (map.columns(), cell_width(map), map.len());
        for row in 0..map.rows() {
            let first_cell = row * columns;
            let offset = first_cell * cell_bytes;
            text(
                format!("block {}", offset / BLOCK_SIZE as u64),
                (strip_x - 8, y + CELL_H / 2),
                label.clone(),
            )?;
            for col in 0..columns {
                let cell = (first_cell + col) as usize;
                let Some(runs) = map.cells().get(cell) else {
                    break;
                };
                let x0 = strip_x + col as i32 * cell_w;
                let full = cell_w - 2;
                let scale = full as f64 / cell_bytes as f64;
                // The last cell is as wide as the part of the file it holds.
                let cell_start = cell as u64 * cell_bytes;
                let held = (len - cell_start.min(len)).min(cell_bytes);
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
                            color(state).filled(),
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
                    Some(d) => color(d).stroke_width(3),
                    None => RGBColor(0x70, 0x70, 0x70).stroke_width(1),
                };
                root.draw(&Rectangle::new([(x0, y), (x1, y + CELL_H)], border))?;
            }
            y += CELL_H + ROW_GAP;
        }
        let totals: Vec<String> = State::ALL
            .iter()
            .filter(|s| map.total(**s) > 0)
            .map(|s| format!("{}: {}", s.label(), human_bytes(map.total(*s))))
            .collect();
        text(
            totals.join(" | "),
            (MARGIN, y + 4),
            (FONT, 13).into_font().into(),
        )?;
        y += 26 + 20;
    }
    Ok(())
}
