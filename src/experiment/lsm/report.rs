//! The experiment's outputs: results.json, learning curves, the confusion matrix
//! and a raster of one sample.

use std::path::Path;

use super::RunArtifacts;
use crate::Result;
#[cfg(feature = "plot")]
use crate::record::plot::{Series, plot_confusion, plot_lines, plot_raster};
use crate::record::write_json_atomic;
#[cfg(feature = "plot")]
use crate::record::{PopSpikes, Recording};

/// Writes `results.json` and, with the `plot` feature, `learning_curve.png`
/// (softmax), `confusion.png` and `raster.png` into `dir`.
pub fn write_report(dir: &Path, run: &RunArtifacts) -> Result<()> {
    write_json_atomic(&dir.join("results.json"), &run.results)?;
    #[cfg(feature = "plot")]
    write_plots(dir, run)?;
    Ok(())
}

#[cfg(feature = "plot")]
fn write_plots(dir: &Path, run: &RunArtifacts) -> Result<()> {
    let r = &run.results;
    let curve = |name: &str, c: &[crate::readout::EpochStats]| -> Vec<Series> {
        vec![
            Series {
                label: format!("{name} train"),
                points: c
                    .iter()
                    .map(|e| (e.epoch as f64, 100.0 * e.train_accuracy))
                    .collect(),
            },
            Series {
                label: format!("{name} validation"),
                points: c
                    .iter()
                    .map(|e| (e.epoch as f64, 100.0 * e.val_accuracy.unwrap_or(f64::NAN)))
                    .collect(),
            },
        ]
    };
    if !r.liquid.learning_curve.is_empty() {
        let mut series = curve("liquid", &r.liquid.learning_curve);
        series.extend(curve("input counts", &r.input_baseline.learning_curve));
        plot_lines(
            &dir.join("learning_curve.png"),
            &[(format!("{}: readout accuracy per epoch", r.name), series)],
            "epoch",
            "accuracy (%)",
        )?;
    }
    plot_confusion(
        &dir.join("confusion.png"),
        &format!(
            "{}: test confusion, accuracy {:.2} %",
            r.name,
            100.0 * r.test_accuracy
        ),
        &r.liquid.confusion,
    )?;
    let (spikes, size) = &run.raster;
    let rec = Recording {
        dt_ms: run.dt_ms,
        duration_ms: run.sample_steps as f64 * run.dt_ms,
        spikes: vec![PopSpikes {
            population: "liquid".into(),
            size: *size,
            steps: spikes.iter().map(|s| s.0).collect(),
            ids: spikes.iter().map(|s| s.1).collect(),
        }],
        ..Default::default()
    };
    plot_raster(
        &dir.join("raster.png"),
        &rec,
        &format!("{}: first test sample", r.name),
    )
}
