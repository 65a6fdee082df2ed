//! Charts as inline SVG, drawn with `plotters` (SVG backend, no font backend: the browser
//! renders the text; plotters only estimates its size).
//!
//! Chart coordinates are floating-point pixels and axis positions: this is the one module
//! where floats are allowed, for drawing only. Every figure shown as text is formatted from
//! the integers (points, cents) before it gets here.
#![allow(clippy::float_arithmetic)]

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::ReportError;

/// One group of the production-vs-exports chart: a country in a period.
#[derive(Debug, Clone)]
pub(crate) struct Volume {
    /// e.g. `SL 2026-Q1`.
    pub(crate) label: String,
    /// The country's production, exports and imports in points, in the order of the bars.
    pub(crate) carats_pt: [u64; 3],
}

/// One row of the value-per-carat chart: a certificate against its origin's band.
#[derive(Debug, Clone)]
pub(crate) struct ValueRow {
    /// e.g. `CI-2026-000009 (CI)`.
    pub(crate) label: String,
    /// The certificate's value per carat, in cents.
    pub(crate) value: u64,
    /// The benchmark, low and high ends of the band, in cents per carat, if known.
    pub(crate) band: Option<(u64, u64, u64)>,
    /// Outside the band (ST-1).
    pub(crate) flagged: bool,
}

fn err<E: std::fmt::Debug>(e: E) -> ReportError {
    ReportError::Chart(format!("{e:?}"))
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Which axis of a chart carries the values (the other one carries the bars or rows).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Values {
    Vertical,
    Horizontal,
}

/// Draws the grid: light lines across the values only, the value axis described as `desc`
/// with its labels written by `label`, and no axis for the bars or rows.
fn mesh(
    chart: &mut Chart<'_, '_>,
    values: Values,
    desc: &str,
    label: &dyn Fn(&f64) -> String,
) -> Result<(), ReportError> {
    let mut m = chart.configure_mesh();
    match values {
        Values::Vertical => m.disable_x_mesh().disable_x_axis().y_desc(desc).y_label_formatter(label),
        Values::Horizontal => m.disable_y_mesh().disable_y_axis().x_desc(desc).x_label_formatter(label),
    };
    m.light_line_style(RGBColor(235, 235, 235)).label_style(("sans-serif", 13)).draw().map_err(err)
}

/// Finishes a chart: the series legend (top right), a label for each bar or row (its text, the
/// chart point it belongs to and the offset in pixels from there; `anchor` is where on the
/// label that point is), the title, top left.
fn finish<'b, 'l>(
    root: &DrawingArea<SVGBackend<'b>, Shift>,
    chart: &mut Chart<'b, 'b>,
    labels: impl Iterator<Item = (&'l String, (f64, f64), (i32, i32))>,
    anchor: Pos,
    title: &str,
) -> Result<(), ReportError> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let style = TextStyle::from(("sans-serif", 13).into_font()).color(&BLACK).pos(anchor);
    for (text, at, (dx, dy)) in labels {
        let (x, y) = chart.backend_coord(&at);
        root.draw(&Text::new(text.clone(), (x + dx, y + dy), style.clone())).map_err(err)?;
    }
    let title_style = TextStyle::from(("sans-serif", 15).into_font()).color(&GREY);
    root.draw(&Text::new(title, (12, 10), title_style)).map_err(err)?;
    root.present().map_err(err)
}

const GREEN: RGBColor = RGBColor(46, 125, 50);
const BLUE: RGBColor = RGBColor(21, 101, 192);
const AMBER: RGBColor = RGBColor(239, 160, 0);
const RED_: RGBColor = RGBColor(198, 40, 40);
const GREY: RGBColor = RGBColor(90, 90, 90);

fn ct(pt: u64) -> f64 {
    pt as f64 / 100.0
}

fn dollars(c: u64) -> f64 {
    c as f64 / 100.0
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Grouped bars: production, exports and imports (carats) per country and period.
pub(crate) fn volumes(data: &[Volume]) -> Result<String, ReportError> {
    let mut buf = String::new();
    let n = data.len().max(1);
    let width = (200 + 140 * n).clamp(760, 1100) as u32;
    {
        let root = SVGBackend::with_string(&mut buf, (width, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let ymax = nice_max(data.iter().flat_map(|d| d.carats_pt).map(ct).fold(0.0, f64::max) * 1.35);
        let mut chart = ChartBuilder::on(&root)
            .margin_top(34)
            .margin_right(16)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n as f64, 0f64..ymax)
            .map_err(err)?;
        mesh(&mut chart, Values::Vertical, "carats", &|v| format!("{v:.0}"))?;
        let series = [(0usize, "production", GREEN), (1, "exports", BLUE), (2, "imports", AMBER)];
        for (k, name, colour) in series {
            chart
                .draw_series(data.iter().enumerate().map(|(i, d)| {
                    let v = d.carats_pt[k];
                    let x0 = i as f64 + 0.14 + 0.24 * k as f64;
                    Rectangle::new([(x0, 0.0), (x0 + 0.22, ct(v))], colour.filled())
                }))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled()));
        }
        let labels = data.iter().enumerate().map(|(i, d)| (&d.label, (i as f64 + 0.5, 0.0), (0, 8)));
        finish(
            &root,
            &mut chart,
            labels,
            Pos::new(HPos::Center, VPos::Top),
            "Production, exports and imports per country and quarter (carats)",
        )?;
    }
    Ok(buf)
}

/// Value per carat of each certificate against its origin's benchmark band.
pub(crate) fn values(rows: &[ValueRow]) -> Result<String, ReportError> {
    let mut buf = String::new();
    let n = rows.len().max(1);
    // Two empty rows on top for the legend.
    let height = (178 + 44 * n) as u32;
    {
        let root: DrawingArea<SVGBackend<'_>, Shift> =
            SVGBackend::with_string(&mut buf, (1000, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let xmax = nice_max(
            rows.iter()
                .map(|r| dollars(r.value).max(r.band.map(|b| dollars(b.2)).unwrap_or(0.0)))
                .fold(0.0, f64::max)
                * 1.05,
        );
        let mut chart = ChartBuilder::on(&root)
            .margin_top(34)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(230)
            .build_cartesian_2d(0f64..xmax, 0f64..n as f64 + 2.0)
            .map_err(err)?;
        mesh(&mut chart, Values::Horizontal, "US$ per carat", &|v| format!("${v:.0}"))?;
        let row_y = |i: usize| (n - 1 - i) as f64;
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                r.band.map(|(_, lo, hi)| {
                    Rectangle::new(
                        [(dollars(lo), row_y(i) + 0.22), (dollars(hi), row_y(i) + 0.78)],
                        RGBColor(200, 230, 201).filled(),
                    )
                })
            }))
            .map_err(err)?
            .label("benchmark band")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], RGBColor(200, 230, 201).filled()));
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                r.band.map(|(b, _, _)| {
                    PathElement::new(
                        vec![(dollars(b), row_y(i) + 0.15), (dollars(b), row_y(i) + 0.85)],
                        GREEN.stroke_width(3),
                    )
                })
            }))
            .map_err(err)?
            .label("benchmark")
            .legend(|(x, y)| PathElement::new(vec![(x + 6, y - 7), (x + 6, y + 7)], GREEN.stroke_width(3)));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let colour = if r.flagged { RED_ } else { BLUE };
                Circle::new((dollars(r.value), row_y(i) + 0.5), 7, colour.filled())
            }))
            .map_err(err)?
            .label("certificate US$/ct (red: outside the band, ST-1)")
            .legend(|(x, y)| Circle::new((x + 6, y), 6, BLUE.filled()));
        let labels = rows.iter().enumerate().map(|(i, r)| (&r.label, (0.0, row_y(i) + 0.5), (-10, 0)));
        finish(
            &root,
            &mut chart,
            labels,
            Pos::new(HPos::Right, VPos::Center),
            "Value per carat of each certificate against its origin's benchmark band (ST-1)",
        )?;
    }
    Ok(buf)
}
