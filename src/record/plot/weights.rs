//! Weight-distribution plots: how a plastic projection's histogram evolves.

use std::path::Path;

use plotters::prelude::*;

use super::{Area, DrawResult, fmt_integer, font, integer_label_count, render_png, thousands};
use super::{CHART_SIZE, PALETTE};
use crate::{Error, Result};

/// Draws a plastic projection's weight histograms to a PNG at `path`.
///
/// `snapshots` are `(time in ms, counts)` pairs, every `counts` with the same
/// number of equal bins over `[w_min, w_max]`. The lower panel shows the last
/// histogram as bars; with two or more snapshots an upper panel shows them all
/// as a heat map (time across, weight up, shade = fraction of synapses in the
/// bin relative to the fullest bin, on a square-root scale so small populations
/// stay visible).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("weights.png");
/// let snaps = vec![(0.0, vec![0, 10, 0]), (100.0, vec![4, 2, 4])];
/// astroglia::record::plot::plot_weights(&path, "E->E", 0.0, 1.0, &snaps).unwrap();
/// assert!(path.exists());
/// ```
pub fn plot_weights(
    path: &Path,
    title: &str,
    w_min: f64,
    w_max: f64,
    snapshots: &[(f64, Vec<u64>)],
) -> Result<()> {
    let bins = snapshots.first().map_or(0, |s| s.1.len());
    if bins == 0 || snapshots.iter().any(|s| s.1.len() != bins) {
        return Err(Error::io(
            path,
            "cannot plot weights: no snapshots, or snapshots with differing bin counts",
        ));
    }
    if !(w_min.is_finite() && w_max.is_finite() && w_max > w_min) {
        return Err(Error::io(
            path,
            format!("cannot plot weights: bounds [{w_min}, {w_max}] are not an interval"),
        ));
    }
    let heat = snapshots.len() >= 2;
    let size = (CHART_SIZE.0, CHART_SIZE.1 * if heat { 2 } else { 1 });
    render_png(path, size, |root| {
        root.fill(&WHITE)?;
        let last = snapshots.last().expect("checked non-empty");
        if heat {
            let (top, bottom) = root.split_vertically(CHART_SIZE.1);
            draw_heat(&top, title, w_min, w_max, snapshots)?;
            draw_bars(&bottom, title, w_min, w_max, last)
        } else {
            draw_bars(root, title, w_min, w_max, last)
        }
    })
}

fn draw_heat(
    root: &Area,
    title: &str,
    w_min: f64,
    w_max: f64,
    snaps: &[(f64, Vec<u64>)],
) -> DrawResult {
    let bins = snaps[0].1.len();
    let t0 = snaps[0].0;
    let t_end = snaps[snaps.len() - 1].0;
    // Each snapshot's column runs to the next one; the last gets the mean width.
    let mean_dt = ((t_end - t0) / (snaps.len() - 1) as f64).max(f64::MIN_POSITIVE);
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{title}: weight histogram over time"), font(22))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(t0..t_end + mean_dt, w_min..w_max)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (ms)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("weight")
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;
    let width = (w_max - w_min) / bins as f64;
    let base = PALETTE[0];
    let frac = |counts: &[u64], c: u64| c as f64 / counts.iter().sum::<u64>().max(1) as f64;
    let top = snaps
        .iter()
        .flat_map(|(_, h)| h.iter().map(|&c| frac(h, c)))
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    chart.draw_series(snaps.iter().enumerate().flat_map(|(k, (t, counts))| {
        let t1 = snaps.get(k + 1).map_or(t + mean_dt, |s| s.0);
        counts.iter().enumerate().map(move |(i, &c)| {
            // White at 0, full colour at the fullest bin of any snapshot.
            let a = (frac(counts, c) / top).sqrt();
            let mix = |ch: u8| (255.0 - a * (255.0 - ch as f64)).round() as u8;
            let colour = RGBColor(mix(base.0), mix(base.1), mix(base.2));
            let y0 = w_min + i as f64 * width;
            Rectangle::new([(*t, y0), (t1, y0 + width)], colour.filled())
        })
    }))?;
    Ok(())
}

fn draw_bars(
    root: &Area,
    title: &str,
    w_min: f64,
    w_max: f64,
    (t, counts): &(f64, Vec<u64>),
) -> DrawResult {
    let n: u64 = counts.iter().sum();
    let c_max = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.05;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title}: weights at {t} ms (n = {})", thousands(n as usize)),
            font(22),
        )
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(w_min..w_max, 0.0..c_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc("weight")
        .y_desc("synapses")
        .y_labels(integer_label_count(c_max))
        .y_label_formatter(&|y| fmt_integer(*y))
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;
    let width = (w_max - w_min) / counts.len() as f64;
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let x0 = w_min + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], PALETTE[0].filled())
            }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_snapshots_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.png");
        let e = plot_weights(&p, "x", 0.0, 1.0, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.png") && e.contains("no snapshots"), "{e}");
        let mixed = [(0.0, vec![1, 2]), (1.0, vec![1, 2, 3])];
        assert!(plot_weights(&p, "x", 0.0, 1.0, &mixed).is_err());
        let e = plot_weights(&p, "x", 1.0, 1.0, &mixed[..1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an interval"), "{e}");
        assert!(!p.exists());
    }
}
