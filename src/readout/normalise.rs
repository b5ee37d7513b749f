//! Feature normalisation fitted on training features and applied to any set:
//! z-score, min-max, and NALSM's per-sample L1 followed by a division by a maximum.
//! A fitted [`Normaliser`] is serialisable, so it can be cached beside a model.
use super::{FeatureMatrix, err};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which normalisation to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Normalisation {
    /// Leave features as they are.
    None,
    /// `(x − mean) / sqrt(var + eps)` per feature (population variance of the
    /// training set); constant features become 0.
    ZScore {
        /// Added to the variance (> 0 keeps silent neurons finite).
        eps: f32,
    },
    /// `(x − min) / (max − min)` per feature over the training set; a constant
    /// feature becomes `x − min`.
    MinMax,
    /// NALSM with a fitted maximum: each sample divided by its L1 norm, then by the
    /// largest L1-normalised training value.
    L1Max,
    /// NALSM exactly (`NALSM_OUTPUT_LAYER.py`, ALGORITHMS.md §1.6.3): each sample
    /// divided by its L1 norm, then each block of `batch_size` consecutive samples
    /// by its own largest value. Nothing is fitted; with the softmax's unshuffled
    /// minibatches of the same size the blocks are its minibatches, as in NALSM.
    L1BatchMax {
        /// Samples per block (NALSM: 250 for 1000-neuron liquids, 50 for 8000).
        batch_size: usize,
    },
}

/// A fitted normalisation.
///
/// Departure from NALSM: a sample with no spikes (L1 norm 0) stays all-zero
/// where TensorFlow would divide 0 by 0; a block whose maximum is not positive
/// is left undivided.
///
/// ```
/// use astroglia::readout::{FeatureMatrix, Normalisation, Normaliser};
/// let train = FeatureMatrix::from_rows(&[[1.0, 10.0], [3.0, 10.0]]).unwrap();
/// let z = Normaliser::fit(Normalisation::ZScore { eps: 0.0 }, &train).unwrap();
/// assert_eq!(z.transformed(&train).unwrap().as_slice(), &[-1.0, 0.0, 1.0, 0.0]);
///
/// let l1 = Normaliser::fit(Normalisation::L1Max, &train).unwrap();
/// // L1 rows: [1/11, 10/11], [3/13, 10/13]; the largest value is 10/11.
/// let y = l1.transformed(&train).unwrap();
/// assert!((y.get(0, 1) - 1.0).abs() < 1e-6);
/// assert!((y.get(1, 0) - 3.0 / 13.0 / (10.0 / 11.0)).abs() < 1e-6);
///
/// let json = z.to_json().unwrap();
/// assert_eq!(Normaliser::from_json(&json).unwrap(), z);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Normaliser {
    /// [`Normalisation::None`].
    Identity {
        /// Features per sample.
        n_features: usize,
    },
    /// [`Normalisation::ZScore`].
    ZScore {
        /// Training mean per feature.
        mean: Vec<f32>,
        /// `sqrt(var + eps)` per feature; 1 where that is 0.
        scale: Vec<f32>,
    },
    /// [`Normalisation::MinMax`].
    MinMax {
        /// Training minimum per feature.
        min: Vec<f32>,
        /// `max − min` per feature; 1 where that is 0.
        range: Vec<f32>,
    },
    /// [`Normalisation::L1Max`].
    L1Max {
        /// Features per sample.
        n_features: usize,
        /// Largest L1-normalised training value (1 if none is positive).
        max: f32,
    },
    /// [`Normalisation::L1BatchMax`].
    L1BatchMax {
        /// Features per sample.
        n_features: usize,
        /// Samples per block.
        batch_size: usize,
    },
}

/// Divides a row by its L1 norm; an all-zero row stays zero.
fn l1_row(row: &mut [f32]) {
    let norm: f32 = row.iter().map(|v| v.abs()).sum();
    if norm > 0.0 {
        row.iter_mut().for_each(|v| *v /= norm);
    }
}

fn row_max(x: &[f32]) -> f32 {
    x.iter().cloned().fold(f32::NEG_INFINITY, f32::max)
}

impl Normaliser {
    /// Fits `kind` on training features (at least one sample, all finite).
    pub fn fit(kind: Normalisation, x: &FeatureMatrix) -> Result<Self> {
        if x.n_samples() == 0 || x.n_features() == 0 {
            return Err(err("cannot fit a normalisation on an empty feature matrix"));
        }
        x.check_finite()?;
        let p = x.n_features();
        Ok(match kind {
            Normalisation::None => Normaliser::Identity { n_features: p },
            Normalisation::ZScore { eps } => {
                if !(eps >= 0.0 && eps.is_finite()) {
                    return Err(err(format!("z-score eps = {eps} must be ≥ 0")));
                }
                let n = x.n_samples() as f64;
                let mut mean = vec![0.0f64; p];
                for row in x.rows() {
                    mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
                }
                mean.iter_mut().for_each(|m| *m /= n);
                let mut var = vec![0.0f64; p];
                for row in x.rows() {
                    for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                        *s += (v as f64 - m).powi(2);
                    }
                }
                let scale = var
                    .iter()
                    .map(|s| {
                        let sd = (s / n + eps as f64).sqrt() as f32;
                        if sd > 0.0 { sd } else { 1.0 }
                    })
                    .collect();
                Normaliser::ZScore {
                    mean: mean.iter().map(|&m| m as f32).collect(),
                    scale,
                }
            }
            Normalisation::MinMax => {
                let mut min = x.row(0).to_vec();
                let mut max = min.clone();
                for row in x.rows() {
                    for ((lo, hi), &v) in min.iter_mut().zip(max.iter_mut()).zip(row) {
                        *lo = lo.min(v);
                        *hi = hi.max(v);
                    }
                }
                let range = min
                    .iter()
                    .zip(&max)
                    .map(|(lo, hi)| if hi > lo { hi - lo } else { 1.0 })
                    .collect();
                Normaliser::MinMax { min, range }
            }
            Normalisation::L1Max => {
                let mut max = f32::NEG_INFINITY;
                let mut row = vec![0.0; p];
                for r in x.rows() {
                    row.copy_from_slice(r);
                    l1_row(&mut row);
                    max = max.max(row_max(&row));
                }
                Normaliser::L1Max {
                    n_features: p,
                    max: if max > 0.0 { max } else { 1.0 },
                }
            }
            Normalisation::L1BatchMax { batch_size } => {
                if batch_size == 0 {
                    return Err(err("L1BatchMax batch_size must be ≥ 1"));
                }
                Normaliser::L1BatchMax {
                    n_features: p,
                    batch_size,
                }
            }
        })
    }

    /// Features per sample this normaliser expects.
    pub fn n_features(&self) -> usize {
        match self {
            Normaliser::Identity { n_features }
            | Normaliser::L1Max { n_features, .. }
            | Normaliser::L1BatchMax { n_features, .. } => *n_features,
            Normaliser::ZScore { mean, .. } => mean.len(),
            Normaliser::MinMax { min, .. } => min.len(),
        }
    }

    /// Normalises `x` in place (its width must match, its values be finite).
    pub fn transform(&self, x: &mut FeatureMatrix) -> Result<()> {
        if x.n_features() != self.n_features() {
            return Err(err(format!(
                "samples have {} features, the normaliser expects {}",
                x.n_features(),
                self.n_features()
            )));
        }
        x.check_finite()?;
        match self {
            Normaliser::Identity { .. } => {}
            Normaliser::ZScore { mean, scale } => {
                for row in x.rows_mut() {
                    for ((v, m), s) in row.iter_mut().zip(mean).zip(scale) {
                        *v = (*v - m) / s;
                    }
                }
            }
            Normaliser::MinMax { min, range } => {
                for row in x.rows_mut() {
                    for ((v, lo), r) in row.iter_mut().zip(min).zip(range) {
                        *v = (*v - lo) / r;
                    }
                }
            }
            Normaliser::L1Max { max, .. } => {
                for row in x.rows_mut() {
                    l1_row(row);
                    row.iter_mut().for_each(|v| *v /= max);
                }
            }
            Normaliser::L1BatchMax {
                n_features,
                batch_size,
            } => {
                if *batch_size == 0 {
                    return Err(err("L1BatchMax batch_size must be ≥ 1"));
                }
                let p = *n_features;
                for block in x.as_mut_slice().chunks_mut(batch_size * p.max(1)) {
                    block.chunks_exact_mut(p.max(1)).for_each(l1_row);
                    let max = row_max(block);
                    if max > 0.0 {
                        block.iter_mut().for_each(|v| *v /= max);
                    }
                }
            }
        }
        Ok(())
    }

    /// A normalised copy of `x`.
    pub fn transformed(&self, x: &FeatureMatrix) -> Result<FeatureMatrix> {
        let mut y = x.clone();
        self.transform(&mut y)?;
        Ok(y)
    }

    /// JSON text of this normaliser.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| err(format!("normaliser to JSON: {e}")))
    }

    /// Reads a normaliser back from [`to_json`](Self::to_json) text.
    pub fn from_json(text: &str) -> Result<Self> {
        let n: Normaliser =
            serde_json::from_str(text).map_err(|e| err(format!("normaliser from JSON: {e}")))?;
        n.check()?;
        Ok(n)
    }

    /// Writes [`to_json`](Self::to_json) to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| Error::io(path, e))
    }

    /// Reads a normaliser written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = crate::input_file::read_text(path)?;
        Self::from_json(&text)
    }

    /// Rejects hand-edited or corrupt parameters.
    fn check(&self) -> Result<()> {
        let ok = match self {
            Normaliser::Identity { .. } => true,
            Normaliser::ZScore { mean, scale } => {
                mean.len() == scale.len()
                    && mean.iter().all(|v| v.is_finite())
                    && scale.iter().all(|&s| s > 0.0 && s.is_finite())
            }
            Normaliser::MinMax { min, range } => {
                min.len() == range.len()
                    && min.iter().all(|v| v.is_finite())
                    && range.iter().all(|&r| r > 0.0 && r.is_finite())
            }
            Normaliser::L1Max { max, .. } => *max > 0.0 && max.is_finite(),
            Normaliser::L1BatchMax { batch_size, .. } => *batch_size > 0,
        };
        if ok {
            Ok(())
        } else {
            Err(err("normaliser parameters are inconsistent or not finite"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train() -> FeatureMatrix {
        FeatureMatrix::from_rows(&[
            [1.0, 0.0, 4.0],
            [3.0, 0.0, 0.0],
            [2.0, 0.0, 2.0],
            [6.0, 0.0, 2.0],
        ])
        .unwrap()
    }

    #[test]
    fn zscore_gives_zero_mean_unit_variance_on_training_data() {
        let x = train();
        let n = Normaliser::fit(Normalisation::ZScore { eps: 0.0 }, &x).unwrap();
        let y = n.transformed(&x).unwrap();
        for j in [0, 2] {
            let col: Vec<f64> = y.rows().map(|r| r[j] as f64).collect();
            let mean = col.iter().sum::<f64>() / 4.0;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
            assert!(
                mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5,
                "{j}: {mean} {var}"
            );
        }
        // The constant column stays finite (0) with eps = 0.
        assert!(y.rows().all(|r| r[1] == 0.0));
    }

    #[test]
    fn min_max_maps_training_range_to_unit_interval() {
        let n = Normaliser::fit(Normalisation::MinMax, &train()).unwrap();
        let y = n.transformed(&train()).unwrap();
        assert_eq!(y.row(0), &[0.0, 0.0, 1.0]);
        assert_eq!(y.row(3), &[1.0, 0.0, 0.5]);
    }

    #[test]
    fn l1_batch_max_divides_each_block_by_its_own_maximum() {
        // Blocks of 2 rows. Row L1s: [1,0,4]/5, [3,0,0]/3 → max 1;
        // [2,0,2]/4, [6,0,2]/8 → max 0.75.
        let n = Normaliser::fit(Normalisation::L1BatchMax { batch_size: 2 }, &train()).unwrap();
        let y = n.transformed(&train()).unwrap();
        let want = [
            [0.2, 0.0, 0.8],
            [1.0, 0.0, 0.0],
            [0.5 / 0.75, 0.0, 0.5 / 0.75],
            [1.0, 0.0, 0.25 / 0.75],
        ];
        for (row, w) in y.rows().zip(want) {
            for (a, b) in row.iter().zip(w) {
                assert!((a - b).abs() < 1e-6, "{row:?} vs {w:?}");
            }
        }
        // An all-zero sample stays zero (TF would give NaN).
        let mut z = FeatureMatrix::from_rows(&[[0.0, 0.0, 0.0]]).unwrap();
        n.transform(&mut z).unwrap();
        assert_eq!(z.row(0), &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn l1_max_uses_the_training_maximum_on_new_data() {
        let n = Normaliser::fit(Normalisation::L1Max, &train()).unwrap();
        assert_eq!(
            n,
            Normaliser::L1Max {
                n_features: 3,
                max: 1.0
            }
        );
        let y = n
            .transformed(&FeatureMatrix::from_rows(&[[1.0, 1.0, 2.0]]).unwrap())
            .unwrap();
        assert_eq!(y.row(0), &[0.25, 0.25, 0.5]);
    }

    #[test]
    fn saved_normaliser_loads_back_and_corrupt_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("norm.json");
        let n = Normaliser::fit(Normalisation::ZScore { eps: 1e-3 }, &train()).unwrap();
        n.save(&path).unwrap();
        assert_eq!(Normaliser::load(&path).unwrap(), n);
        let bad = r#"{"ZScore":{"mean":[0.0],"scale":[0.0]}}"#;
        assert_eq!(
            Normaliser::from_json(bad).unwrap_err().to_string(),
            "readout: normaliser parameters are inconsistent or not finite"
        );
    }
}
