//! Confusion-matrix heat maps.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PALETTE, font, render_png};
use crate::{Error, Result};

/// Draws `counts[truth][predicted]` as a heat map (shade = fraction of the true
/// class, each cell labelled with its count) to a PNG at `path` (800×800).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("confusion.png");
/// astroglia::record::plot::plot_confusion(&path, "test", &[vec![5, 1], vec![0, 6]]).unwrap();
/// assert!(path.exists());
/// ```
pub fn plot_confusion(path: &Path, title: &str, counts: &[Vec<u64>]) -> Result<()> {
    let n = counts.len();
    if n == 0 || counts.iter().any(|r| r.len() != n) {
        return Err(Error::io(
            path,
            "cannot plot a confusion matrix that is not square and non-empty",
        ));
    }
    render_png(path, (800, 800), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..n as f64, 0.0..n as f64)?;
        let centre = |v: &f64| {
            let c = v - 0.5;
            if c >= 0.0 && (c - c.round()).abs() < 1e-9 && (c.round() as usize) < n {
                format!("{}", c.round() as usize)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(2 * n + 1)
            .y_labels(2 * n + 1)
            .x_label_formatter(&centre)
            .y_label_formatter(&|v| centre(&(n as f64 - v)))
            .x_desc("predicted class")
            .y_desc("true class")
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()?;
        let base = PALETTE[0];
        for (t, row) in counts.iter().enumerate() {
            let total = row.iter().sum::<u64>().max(1) as f64;
            for (p, &c) in row.iter().enumerate() {
                let a = c as f64 / total;
                let mix = |ch: u8| (255.0 - a * (255.0 - ch as f64)).round() as u8;
                let y0 = (n - 1 - t) as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(p as f64, y0), (p as f64 + 1.0, y0 + 1.0)],
                    RGBColor(mix(base.0), mix(base.1), mix(base.2)).filled(),
                )))?;
                if c > 0 {
                    let colour = if a > 0.5 { WHITE } else { BLACK };
                    let style = font(if n > 12 { 10 } else { 16 })
                        .color(&colour)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    chart.draw_series(std::iter::once(Text::new(
                        c.to_string(),
                        (p as f64 + 0.5, y0 + 0.5),
                        style,
                    )))?;
                }
            }
        }
        Ok(())
    })
}
