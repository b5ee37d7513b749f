//! PNG plots of a [`Recording`]: spike rasters with population rates, and
//! plain histograms (e.g. of synaptic weights).
//!
//! Text uses an embedded DejaVu Sans (see `fonts/DejaVuSans-LICENSE.txt`)
//! registered with plotters' `ab_glyph` backend, so plotting works on
//! machines without any system fonts and never touches fontconfig. Images are
//! rendered into memory, encoded as PNG and written with
//! [`write_atomic`].

use std::error::Error as StdError;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Recording, write_atomic};
use crate::{Error, Result};

mod confusion;
mod weights;
pub use confusion::plot_confusion;
pub use weights::plot_weights;

/// Raster image size in pixels.
const RASTER_SIZE: (u32, u32) = (1200, 700);
/// Histogram image size in pixels.
const HISTOGRAM_SIZE: (u32, u32) = (1000, 600);
/// Above this many spikes the raster shows a deterministic subsample: more
/// points only add rendering time, not information, at this resolution.
const MAX_RASTER_POINTS: usize = 200_000;
/// Width reserved right of the plots for population labels.
const LABEL_AREA_W: u32 = 170;
/// Family name the embedded font is registered under; plotters resolves
/// `("sans-serif", size)` styles to it.
const FONT_FAMILY: &str = "sans-serif";
static FONT_TTF: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Tableau 10: distinguishable colours that survive being drawn as 1-px dots.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

type DrawResult<T = ()> = std::result::Result<T, Box<dyn StdError>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws a spike raster of `rec` to a PNG at `path` (1200×700).
///
/// The upper panel plots each spike at (time in ms, global neuron index),
/// populations stacked in recording order from the bottom, each in its own
/// colour and labelled on the right. The lower panel shows each population's
/// mean firing rate (Hz per neuron) in bins of max(dt, duration/500) ms,
/// computed from all spikes. Above 200 000 spikes a deterministic subsample
/// is drawn and the title says so.
pub fn plot_raster(path: &Path, rec: &Recording, title: &str) -> Result<()> {
    if !(rec.dt_ms.is_finite() && rec.dt_ms > 0.0) {
        return Err(Error::io(
            path,
            format!("cannot plot: dt_ms must be positive, got {}", rec.dt_ms),
        ));
    }
    render_png(path, RASTER_SIZE, |root| draw_raster(root, rec, title))
}

/// Draws a histogram of `values` with `bins` equal-width bins spanning their
/// range to a PNG at `path` (1000×600). Non-finite values are left out and
/// counted in the title; an empty input gives empty axes.
pub fn plot_histogram(
    path: &Path,
    values: &[f64],
    bins: usize,
    title: &str,
    x_label: &str,
) -> Result<()> {
    if bins == 0 {
        return Err(Error::io(path, "cannot plot a histogram with 0 bins"));
    }
    render_png(path, HISTOGRAM_SIZE, |root| {
        draw_histogram(root, values, bins, title, x_label)
    })
}

/// Size of [`plot_lines`] and [`plot_grouped_bars`] images in pixels (per panel
/// height for [`plot_lines`]).
const CHART_SIZE: (u32, u32) = (1000, 600);

/// One labelled line of [`plot_lines`]: `(x, y)` points joined in order; a
/// non-finite `y` breaks the line.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// Draws panels of overlaid labelled lines to a PNG at `path` (1000 px wide,
/// 600 px per panel, at most 4 panels tall), one colour per series index, a
/// legend in each panel. Each panel is `(title, series)`.
pub fn plot_lines(
    path: &Path,
    panels: &[(String, Vec<Series>)],
    x_label: &str,
    y_label: &str,
) -> Result<()> {
    if panels.is_empty() {
        return Err(Error::io(path, "cannot plot: no panels"));
    }
    let rows = panels.len().min(4);
    let size = (CHART_SIZE.0, CHART_SIZE.1 * rows as u32);
    render_png(path, size, |root| {
        root.fill(&WHITE)?;
        for ((title, series), area) in panels.iter().zip(root.split_evenly((rows, 1))) {
            draw_lines(&area, title, series, x_label, y_label)?;
        }
        Ok(())
    })
}

fn draw_lines(
    root: &Area,
    title: &str,
    series: &[Series],
    x_label: &str,
    y_label: &str,
) -> DrawResult {
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (mut x0, mut x1, mut y0, mut y1) = finite().fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, f64::NEG_INFINITY),
        |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if !(x1 > x0) {
        (x0, x1) = if x0.is_finite() {
            (x0 - 0.5, x0 + 0.5)
        } else {
            (0.0, 1.0)
        };
    }
    if !(y1 > y0) {
        y1 = y0 + 1.0;
    }
    y1 += 0.05 * (y1 - y0);
    y0 -= if y0 < 0.0 { 0.05 * (y1 - y0) } else { 0.0 };
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(22))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        // Split at non-finite values so gaps stay gaps.
        let mut first = true;
        for run in s.points.split(|(x, y)| !(x.is_finite() && y.is_finite())) {
            if run.is_empty() {
                continue;
            }
            let drawn = if run.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(run[0], 3, colour.filled())))?
            } else {
                chart.draw_series(LineSeries::new(run.iter().copied(), colour.stroke_width(2)))?
            };
            if first {
                drawn.label(s.label.clone()).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3))
                });
                first = false;
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(font(14))
        .draw()?;
    Ok(())
}

/// Draws a grouped bar chart to a PNG at `path` (1000×600): one group per entry
/// of `groups` along x, in each group one bar per series `(label, values)` (value
/// `i` belongs to group `i`), one colour per series, with a legend.
pub fn plot_grouped_bars(
    path: &Path,
    groups: &[String],
    series: &[(String, Vec<f64>)],
    title: &str,
    y_label: &str,
) -> Result<()> {
    if groups.is_empty() || series.is_empty() {
        return Err(Error::io(path, "cannot plot: no bars"));
    }
    render_png(path, CHART_SIZE, |root| {
        draw_grouped_bars(root, groups, series, title, y_label)
    })
}

/// One panel of [`plot_bar_panels`]: title, y-axis label and one value per group.
pub type BarPanel = (String, String, Vec<f64>);

/// Draws side-by-side bar charts sharing the groups along x to a PNG at `path`
/// (two panels per row, 1000×450 per row): one panel per quantity, so values on
/// different scales (accuracy, rates, costs) sit in one figure.
pub fn plot_bar_panels(path: &Path, groups: &[String], panels: &[BarPanel]) -> Result<()> {
    if groups.is_empty() || panels.is_empty() {
        return Err(Error::io(path, "cannot plot: no bars"));
    }
    let rows = panels.len().div_ceil(2);
    let cols = panels.len().min(2);
    render_png(path, (CHART_SIZE.0, 450 * rows as u32), |root| {
        for (area, (title, y_label, values)) in root.split_evenly((rows, cols)).iter().zip(panels) {
            let series = [(String::new(), values.clone())];
            draw_grouped_bars(area, groups, &series, title, y_label)?;
        }
        Ok(())
    })
}

fn draw_grouped_bars(
    root: &Area,
    groups: &[String],
    series: &[(String, Vec<f64>)],
    title: &str,
    y_label: &str,
) -> DrawResult {
    let y_max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let n = groups.len();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(22))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..n as f64, 0.0..y_max)?;
    let names: Vec<String> = groups.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let g = x - x.floor();
            let i = x.floor() as usize;
            if (g - 0.5).abs() < 1e-6 && i < names.len() {
                names[i].clone()
            } else {
                String::new()
            }
        })
        .y_desc(y_label)
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;
    let k = series.len() as f64;
    let width = 0.8 / k;
    for (j, (label, values)) in series.iter().enumerate() {
        let colour = PALETTE[j % PALETTE.len()];
        chart
            .draw_series(values.iter().take(n).enumerate().map(|(i, &v)| {
                let x0 = i as f64 + 0.1 + j as f64 * width;
                let v = if v.is_finite() { v } else { 0.0 };
                Rectangle::new([(x0, 0.0), (x0 + width, v)], colour.filled())
            }))?
            .label(label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    if series.iter().any(|(label, _)| !label.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(font(14))
            .draw()?;
    }
    Ok(())
}

/// Registers the embedded font once per process.
fn ensure_font() -> std::result::Result<(), &'static str> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_TTF).is_ok()
    });
    ok.then_some(()).ok_or("embedded font failed to load")
}

/// Renders with `draw` into an RGB buffer of `size`, encodes it as PNG and
/// writes it atomically to `path`.
fn render_png(path: &Path, size: (u32, u32), draw: impl FnOnce(&Area) -> DrawResult) -> Result<()> {
    ensure_font().map_err(|e| Error::io(path, e))?;
    let (w, h) = size;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(&root)
            .and_then(|()| Ok(root.present()?))
            .map_err(|e| Error::io(path, format!("cannot render plot: {e}")))?;
    }
    let png = encode_png(&rgb, size).map_err(|e| Error::io(path, e))?;
    write_atomic(path, &png)
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    // Plots are flat colour: unfiltered rows at zlib level 3 come out smaller than
    // the png crate's adaptive filter at its default level, in a third of the time
    // (the Brunel raster: 137 KB in 21 ms against 163 KB in 65 ms).
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(3));
    for row in rgb.chunks_exact(w as usize * 3) {
        z.write_all(&[0])?;
        z.write_all(row)?;
    }
    let idat = z.finish()?;
    let mut out = Vec::with_capacity(idat.len() + 64);
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_chunk(png::chunk::IDAT, &idat)?;
    // Dropping the writer appends IEND (its `finish` wants the image data written
    // through it); writing into a Vec cannot fail.
    drop(writer);
    Ok(out)
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&BLACK)
}

/// Deterministic pseudo-random keep/drop decision for subsampling: a hash
/// rather than a stride, so regular firing patterns cannot alias with it.
fn keep(pop: usize, index: usize, threshold: u64) -> bool {
    // splitmix64 finaliser.
    let mut z = (((pop as u64) << 40) ^ index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) < threshold
}

/// Formats an integer with thousands separators for titles.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let head = (digits.len() - 1) % 3 + 1;
    let mut out = digits[..head].to_string();
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).expect("ASCII digits"));
    }
    out
}

/// Spreads label centres (pixel y, ascending) at least `gap` apart within
/// `[lo, hi]`, moving each as little as a two-pass sweep allows.
fn spread_labels(ys: &mut [f64], gap: f64, lo: f64, hi: f64) {
    for i in 0..ys.len() {
        let min = if i == 0 { lo } else { ys[i - 1] + gap };
        ys[i] = ys[i].max(min);
    }
    for i in (0..ys.len()).rev() {
        let max = if i + 1 == ys.len() {
            hi
        } else {
            ys[i + 1] - gap
        };
        ys[i] = ys[i].min(max);
    }
}

fn draw_raster(root: &Area, rec: &Recording, title: &str) -> DrawResult {
    let dt = rec.dt_ms;
    let total_spikes: usize = rec.spikes.iter().map(|p| p.steps.len()).sum();
    let offsets: Vec<u64> = rec
        .spikes
        .iter()
        .scan(0u64, |acc, p| {
            let start = *acc;
            *acc += u64::from(p.size);
            Some(start)
        })
        .collect();
    let n_neurons = rec.spikes.iter().map(|p| u64::from(p.size)).sum::<u64>();
    let last_spike = rec
        .spikes
        .iter()
        .filter_map(|p| p.steps.last())
        .max()
        .map_or(0.0, |&s| (s + 1) as f64 * dt);
    let t_max = rec.duration_ms.max(last_spike);
    let t_max = if t_max > 0.0 { t_max } else { 1.0 };
    let y_max = n_neurons.max(1) as f64;

    let threshold = if total_spikes > MAX_RASTER_POINTS {
        (MAX_RASTER_POINTS as f64 / total_spikes as f64 * u64::MAX as f64) as u64
    } else {
        u64::MAX
    };
    let shown: Vec<Vec<(f64, f64)>> = rec
        .spikes
        .iter()
        .enumerate()
        .map(|(pi, p)| {
            p.steps
                .iter()
                .zip(&p.ids)
                .enumerate()
                .filter(|&(i, _)| threshold == u64::MAX || keep(pi, i, threshold))
                .map(|(_, (&s, &id))| (s as f64 * dt, (offsets[pi] + u64::from(id)) as f64 + 0.5))
                .collect()
        })
        .collect();
    let n_shown: usize = shown.iter().map(Vec::len).sum();

    let full_title = if n_shown < total_spikes {
        format!(
            "{title} (subsampled: {} of {} spikes shown)",
            thousands(n_shown),
            thousands(total_spikes)
        )
    } else {
        format!("{title} ({} spikes)", thousands(total_spikes))
    };
    root.fill(&WHITE)?;
    let body = root.titled(&full_title, font(22))?;
    let (_, body_h) = body.dim_in_pixel();
    let (upper, lower) = body.split_vertically(body_h * 66 / 100);

    // Upper panel: the raster.
    let mut chart = ChartBuilder::on(&upper)
        .margin(8)
        .margin_right(LABEL_AREA_W)
        .x_label_area_size(28)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .y_desc("neuron")
        .y_labels(integer_label_count(y_max))
        .x_label_formatter(&|x| fmt_num(*x))
        .y_label_formatter(&|y| fmt_integer(*y))
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;

    // Marker height follows the row height so sparse rasters get visible
    // ticks and dense ones single-pixel dots.
    let (_, plot_h) = chart.plotting_area().dim_in_pixel();
    let row_px = f64::from(plot_h) / y_max;
    let mark_h = (row_px * 0.8).clamp(1.0, 12.0).round() as i32;
    let mark_top = -mark_h / 2;
    let mark_w = if n_shown < 20_000 { 2 } else { 1 };

    for (pi, points) in shown.iter().enumerate() {
        let color = PALETTE[pi % PALETTE.len()];
        // Thin separators between population bands.
        if pi > 0 {
            let y = offsets[pi] as f64;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, y), (t_max, y)],
                RGBColor(200, 200, 200).stroke_width(1),
            )))?;
        }
        chart.draw_series(points.iter().map(|&p| {
            EmptyElement::at(p)
                + Rectangle::new(
                    // The bitmap backend fills bottom-right exclusive.
                    [(0, mark_top), (mark_w, mark_top + mark_h)],
                    color.filled(),
                )
        }))?;
    }

    // Population labels in the right margin, aligned with their bands.
    if !rec.spikes.is_empty() {
        let mut centres: Vec<(f64, usize)> = rec
            .spikes
            .iter()
            .enumerate()
            .map(|(pi, p)| {
                let mid = offsets[pi] as f64 + f64::from(p.size) / 2.0;
                (f64::from(chart.backend_coord(&(t_max, mid)).1), pi)
            })
            .collect();
        centres.sort_by(|a, b| a.0.total_cmp(&b.0));
        let top = f64::from(chart.backend_coord(&(t_max, y_max)).1);
        let bottom = f64::from(chart.backend_coord(&(t_max, 0.0)).1);
        let mut ys: Vec<f64> = centres.iter().map(|c| c.0).collect();
        spread_labels(&mut ys, 18.0, top, bottom);
        let x = chart.backend_coord(&(t_max, 0.0)).0 + 12;
        let label_style = font(14).pos(Pos::new(HPos::Left, VPos::Center));
        for (&y, &(_, pi)) in ys.iter().zip(&centres) {
            let y = y.round() as i32;
            let p = &rec.spikes[pi];
            let color = PALETTE[pi % PALETTE.len()];
            root.draw(&Rectangle::new(
                [(x, y - 5), (x + 10, y + 5)],
                color.filled(),
            ))?;
            root.draw_text(
                &format!("{} ({})", p.population, p.size),
                &label_style,
                (x + 16, y),
            )?;
        }
    }

    // Lower panel: per-population rate from all spikes, not the subsample.
    let bin = dt.max(t_max / 500.0);
    let n_bins = ((t_max / bin).ceil() as usize).max(1);
    let rates: Vec<Vec<(f64, f64)>> = rec
        .spikes
        .iter()
        .map(|p| {
            let mut counts = vec![0u32; n_bins];
            for &s in &p.steps {
                let b = ((s as f64 * dt / bin) as usize).min(n_bins - 1);
                counts[b] += 1;
            }
            let norm = f64::from(p.size.max(1)) * bin / 1000.0;
            counts
                .iter()
                .enumerate()
                .map(|(b, &c)| ((b as f64 + 0.5) * bin, f64::from(c) / norm))
                .collect()
        })
        .collect();
    let r_max = rates.iter().flatten().map(|&(_, r)| r).fold(0.0, f64::max);
    let r_max = if r_max > 0.0 { r_max * 1.08 } else { 1.0 };

    let mut chart = ChartBuilder::on(&lower)
        .margin(8)
        .margin_right(LABEL_AREA_W)
        .x_label_area_size(42)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..t_max, 0.0..r_max)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc("time (ms)")
        .y_desc(format!("rate (Hz), {} ms bins", fmt_num(bin)))
        .y_labels(5)
        .x_label_formatter(&|x| fmt_num(*x))
        .y_label_formatter(&|y| fmt_num(*y))
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;
    for (pi, series) in rates.into_iter().enumerate() {
        let color = PALETTE[pi % PALETTE.len()];
        chart.draw_series(LineSeries::new(series, color.stroke_width(2)))?;
    }
    Ok(())
}

/// Short human form of a number: no trailing zeros, at most 3 decimals.
fn fmt_num(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Tick label for a count axis: integers only, since a tick at 2.5 neurons
/// (or a label rounded to a duplicate "2") would mislead.
fn fmt_integer(y: f64) -> String {
    if (y - y.round()).abs() < 1e-9 {
        format!("{y:.0}")
    } else {
        String::new()
    }
}

/// At most 10 ticks, and no more than there are integers in `0..=max`, so
/// short count axes get integer ticks.
fn integer_label_count(max: f64) -> usize {
    (max.floor() as usize + 1).clamp(2, 10)
}

fn draw_histogram(
    root: &Area,
    values: &[f64],
    bins: usize,
    title: &str,
    x_label: &str,
) -> DrawResult {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let dropped = values.len() - finite.len();
    let (mut lo, mut hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if finite.is_empty() {
        (lo, hi) = (0.0, 1.0);
    } else if hi <= lo {
        // All values equal: give the single bar some width.
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u64; bins];
    for &v in &finite {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let c_max = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.05;

    let mut full_title = format!("{title} (n = {})", thousands(finite.len()));
    if dropped > 0 {
        full_title.push_str(&format!(", {} non-finite omitted", thousands(dropped)));
    }
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(full_title, font(22))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(lo..hi, 0.0..c_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(x_label)
        .y_desc("count")
        .y_labels(integer_label_count(c_max))
        .y_label_formatter(&|y| fmt_integer(*y))
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;
    let fill = PALETTE[0];
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], fill.filled())
            }),
    )?;
    // Outlines keep adjacent bars of equal height distinguishable.
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], WHITE.stroke_width(1))
            }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{PopSpikes, leftover_temp_files};

    /// Decodes a PNG, returning (width, height, RGB(A) bytes).
    fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    /// Two populations with a 40 Hz-ish rhythm plus background noise.
    fn recording(n_exc: u32, n_inh: u32, duration_ms: f64, per_step: u32) -> Recording {
        let dt = 0.1;
        let steps = (duration_ms / dt) as u64;
        let mut pops = vec![
            PopSpikes {
                population: "exc".into(),
                size: n_exc,
                ..Default::default()
            },
            PopSpikes {
                population: "inh".into(),
                size: n_inh,
                ..Default::default()
            },
            PopSpikes {
                population: "silent".into(),
                size: n_inh / 2,
                ..Default::default()
            },
        ];
        let mut x: u64 = 12345;
        for s in 0..steps {
            let burst = (s % 250) < 30;
            for (pi, p) in pops.iter_mut().take(2).enumerate() {
                let k = if burst { per_step * 4 } else { per_step / 2 } >> pi;
                for _ in 0..k {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    p.steps.push(s);
                    p.ids.push(((x >> 33) % u64::from(p.size)) as u32);
                }
            }
        }
        Recording {
            dt_ms: dt,
            duration_ms,
            spikes: pops,
            ..Default::default()
        }
    }

    #[test]
    fn raster_is_a_png_of_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raster.png");
        plot_raster(&path, &recording(800, 200, 500.0, 2), "two populations").unwrap();
        let (w, h, pixels) = decode(&path);
        assert_eq!((w, h), RASTER_SIZE);
        // Something other than the white background was drawn.
        assert!(pixels.chunks(3).filter(|p| p != &[255, 255, 255]).count() > 10_000);
        assert!(leftover_temp_files(dir.path()).is_empty());
    }

    #[test]
    fn huge_raster_is_subsampled() {
        let rec = recording(10_000, 2_500, 1000.0, 200);
        let total: usize = rec.spikes.iter().map(|p| p.steps.len()).sum();
        assert!(total > 1_000_000, "{total}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        let t = std::time::Instant::now();
        plot_raster(&path, &rec, "large network").unwrap();
        eprintln!("{total} spikes plotted in {:?}", t.elapsed());
        assert_eq!(decode(&path).0, RASTER_SIZE.0);
    }

    #[test]
    fn empty_recordings_still_plot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.png");
        let rec = Recording {
            dt_ms: 0.1,
            ..Default::default()
        };
        plot_raster(&path, &rec, "nothing").unwrap();
        assert_eq!(decode(&path).0, RASTER_SIZE.0);
        plot_histogram(&path, &[], 10, "no weights", "w").unwrap();
        assert_eq!(decode(&path).0, HISTOGRAM_SIZE.0);
    }

    #[test]
    fn raster_rejects_bad_dt_and_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.png");
        assert!(plot_raster(&path, &Recording::default(), "x").is_err());
        let path = dir.path().join("nope/r.png");
        let err = plot_raster(&path, &recording(10, 10, 10.0, 1), "x").unwrap_err();
        assert!(err.to_string().contains("nope/r.png"), "{err}");
    }

    #[test]
    fn histogram_is_a_png_of_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weights.png");
        let mut x: u64 = 7;
        let mut values: Vec<f64> = (0..50_000)
            .map(|_| {
                // Sum of uniforms: roughly normal around 0.5.
                (0..4)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (x >> 11) as f64 / (1u64 << 53) as f64
                    })
                    .sum::<f64>()
                    / 4.0
            })
            .collect();
        values.push(f64::NAN);
        plot_histogram(&path, &values, 40, "synaptic weights", "weight (nS)").unwrap();
        assert_eq!((decode(&path).0, decode(&path).1), HISTOGRAM_SIZE);
        plot_histogram(&path, &[2.0; 5], 10, "constant", "w").unwrap();
        assert!(plot_histogram(&path, &[1.0], 0, "zero bins", "w").is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(fmt_num(0.1), "0.1");
        assert_eq!(fmt_num(2.0), "2");
        let mut ys = vec![10.0, 11.0, 12.0, 100.0];
        spread_labels(&mut ys, 5.0, 0.0, 100.0);
        assert_eq!(ys, vec![10.0, 15.0, 20.0, 100.0]);
        let mut ys = vec![99.0, 100.0];
        spread_labels(&mut ys, 5.0, 0.0, 100.0);
        assert_eq!(ys, vec![95.0, 100.0]);
    }
}
