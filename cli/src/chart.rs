//! `compare --chart`: a grouped bar chart of records recovered per mode,
//! in SVG or PNG.

use std::path::Path;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::CliError;
use crate::plot::{self, DrawResult, Picture, FONT};

/// One group of bars: a scenario or a file.
#[derive(Debug, Clone)]
pub struct Group {
    /// The label on the vertical axis.
    pub label: String,
    /// Intact records (a black tick), when known.
    pub intact: Option<u64>,
    /// Records recovered, one per series.
    pub values: Vec<u64>,
    /// Per series, whether the mode refused the log (its records are those
    /// returned before the error).
    pub refused: Vec<bool>,
}

/// Series colours (colour-blind friendly, after Okabe and Ito).
const COLORS: [RGBColor; 6] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x56, 0xb4, 0xe9),
];

/// The chart, as a picture.
struct Chart<'a> {
    title: &'a str,
    series: &'a [String],
    groups: &'a [Group],
}

impl Picture for Chart<'_> {
    const NOUN: &'static str = "chart";
    const FEWER: &'static str = "compare fewer files";

    fn size(&self) -> (u32, u32) {
        let height = 140 + self.groups.len() as u32 * (16 * self.series.len() as u32 + 22);
        (1100, height)
    }

    fn paint<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_chart(root, self.title, self.series, self.groups)
    }
}

/// Draws the chart into `path`: SVG or PNG by the file name's extension.
pub fn draw(path: &Path, title: &str, series: &[String], groups: &[Group]) -> Result<(), CliError> {
    let chart = Chart {
        title,
        series,
        groups,
    };
    plot::render(path, &chart).map(|_| ())
}

/// The vertical axis: `n` slots of height 1, one label at the middle of each.
struct Slots(usize);

impl Ranged for Slots {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let frac = value / self.0 as f64;
        limit.0 + (frac * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            (0..self.0).map(|i| i as f64 + 0.5).collect()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0 as f64
    }
}

fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[String],
    groups: &[Group],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let n = groups.len().max(1);
    let max = groups
        .iter()
        .flat_map(|g| g.values.iter().copied().chain(g.intact))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    // Room on the right for the legend.
    let x_max = max * 1.42;
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(200)
        .build_cartesian_2d(0f64..x_max, Slots(n))?;
    let label_of = |y: &f64| {
        let slot = y.floor() as usize;
        n.checked_sub(slot + 1)
            .and_then(|i| labels.get(i))
            .cloned()
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .y_label_formatter(&label_of)
        .y_label_style((FONT, 15))
        .x_label_formatter(&|x| {
            if *x <= max * 1.0001 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .x_desc(
            "records recovered (a pale bar: the mode returned these records, then refused the log)",
        )
        .axis_desc_style((FONT, 15))
        .draw()?;

    let k = series.len().max(1) as f64;
    let bar = 0.86 / k;
    // Slot of group i: y in [n-1-i, n-i], bars from the top down.
    let top = |i: usize, j: usize| (n - i) as f64 - 0.07 - j as f64 * bar;
    let value_style = (FONT, 11)
        .into_font()
        .color(&RGBColor(0x33, 0x33, 0x33))
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (j, name) in series.iter().enumerate() {
        let color = COLORS[j % COLORS.len()];
        chart
            .draw_series(groups.iter().enumerate().map(|(i, g)| {
                let v = g.values.get(j).copied().unwrap_or(0) as f64;
                let style = if g.refused.get(j).copied().unwrap_or(false) {
                    color.mix(0.35).filled()
                } else {
                    color.filled()
                };
                Rectangle::new([(0.0, top(i, j) - bar * 0.92), (v, top(i, j))], style)
            }))?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        chart.draw_series(groups.iter().enumerate().map(|(i, g)| {
            let v = g.values.get(j).copied().unwrap_or(0);
            let text = if g.refused.get(j).copied().unwrap_or(false) {
                format!("{v}, then refused")
            } else {
                v.to_string()
            };
            Text::new(
                text,
                (v as f64 + max * 0.006, top(i, j) - bar * 0.46),
                value_style.clone(),
            )
        }))?;
    }
    if groups.iter().any(|g| g.intact.is_some()) {
        chart
            .draw_series(groups.iter().enumerate().filter_map(|(i, g)| {
                g.intact.map(|v| {
                    PathElement::new(
                        vec![
                            (v as f64, (n - i) as f64 - 0.03),
                            (v as f64, (n - i - 1) as f64 + 0.03),
                        ],
                        BLACK.stroke_width(2),
                    )
                })
            }))?
            .label("intact records on disk")
            .legend(|(x, y)| {
                PathElement::new(vec![(x + 7, y - 7), (x + 7, y + 7)], BLACK.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.92))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
