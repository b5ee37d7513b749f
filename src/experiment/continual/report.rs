//! The continual experiment's outputs: results.json, per-task accuracy curves and
//! a text table.

use std::path::Path;

use super::Results;
use crate::Result;
#[cfg(feature = "plot")]
use crate::record::plot::{Series, plot_lines};
use crate::record::write_json_atomic;

/// Writes `results.json` and, with the `plot` feature, `accuracy.png` into `dir`:
/// one panel per sequential method with each task's test accuracy as tasks are
/// added, and one with the mean accuracy over the tasks seen so far (multitask as
/// a flat line at its ACC).
pub fn write_report(dir: &Path, r: &Results) -> Result<()> {
    write_json_atomic(&dir.join("results.json"), r)?;
    #[cfg(feature = "plot")]
    plot_accuracy(dir, r)?;
    Ok(())
}

#[cfg(feature = "plot")]
fn plot_accuracy(dir: &Path, r: &Results) -> Result<()> {
    let mut panels = vec![];
    let mut mean = vec![];
    for (name, m) in &r.methods {
        if name == "multitask" {
            let last = r.n_tasks.saturating_sub(1) as f64;
            mean.push(Series {
                label: format!("multitask (ACC {:.1} %)", m.acc),
                points: vec![(0.0, m.acc), (last, m.acc)],
            });
            continue;
        }
        let series = (0..r.n_tasks)
            .map(|j| Series {
                label: format!("task {j}"),
                points: m
                    .acc_matrix
                    .iter()
                    .enumerate()
                    .filter_map(|(i, row)| Some((i as f64, row[j]?)))
                    .collect(),
            })
            .collect();
        panels.push((
            format!(
                "{}: {name}, test accuracy per task (ACC {:.1} %, BWT {})",
                r.name,
                m.acc,
                m.bwt.map_or("-".into(), |b| format!("{b:+.1}"))
            ),
            series,
        ));
        mean.push(Series {
            label: name.clone(),
            points: m
                .acc_matrix
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let seen: Vec<f64> = row.iter().flatten().copied().collect();
                    (
                        i as f64,
                        seen.iter().sum::<f64>() / seen.len().max(1) as f64,
                    )
                })
                .collect(),
        });
    }
    panels.push((
        format!("{}: mean test accuracy over the tasks seen", r.name),
        mean,
    ));
    plot_lines(
        &dir.join("accuracy.png"),
        &panels,
        "tasks trained - 1",
        "accuracy (%)",
    )
}

/// A text table: one line per method with ACC, BWT, the accuracy matrix and the
/// wall time.
pub fn table(r: &Results) -> String {
    let mut s = format!(
        "{}: {} tasks ({:?}), {} backend, layers {:?}, {} steps per sample\n",
        r.name, r.n_tasks, r.task_kind, r.backend, r.layers, r.sample_steps
    );
    s.push_str(&format!(
        "  {:<11} {:>8} {:>8} {:>8}  accuracy matrix (%)\n",
        "method", "ACC %", "BWT", "wall s"
    ));
    for (name, m) in &r.methods {
        let rows: Vec<String> = m
            .acc_matrix
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| v.map_or("-".into(), |a| format!("{a:.1}")))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        s.push_str(&format!(
            "  {:<11} {:>8.2} {:>8} {:>8.1}  {}\n",
            name,
            m.acc,
            m.bwt.map_or("-".into(), |b| format!("{b:+.2}")),
            m.wall_s,
            rows.join(" | ")
        ));
    }
    s
}
