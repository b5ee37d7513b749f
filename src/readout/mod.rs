//! Liquid-state-machine readouts: features from one sample's spikes, feature
//! normalisation, ridge and softmax classifiers, model selection on a validation
//! split, and accuracy metrics.
//!
//! The NALSM readout (Ivanov & Michmizos 2021, ALGORITHMS.md §1.6.3) is spike
//! counts of the liquid, [`Normalisation::L1BatchMax`], and
//! [`SoftmaxConfig::nalsm`] (Adadelta, soft targets, best validation epoch).
//!
//! ```
//! use astroglia::readout::*;
//! // Two liquid neurons (ids 10 and 11) over 4 steps; class 0 drives neuron 10,
//! // class 1 drives neuron 11. Spikes are (step, neuron id) pairs.
//! let window = Window { first_neuron: 10, n_neurons: 2, first_step: 0, n_steps: 4 };
//! let features = FeatureExtractor::new(window, vec![FeatureKind::Counts]).unwrap();
//! let mut x = features.matrix();
//! let mut labels = Vec::new();
//! for i in 0..20u32 {
//!     let class = i % 2;
//!     let busy = 10 + class;
//!     let spikes = [(0, busy), (2, busy), (3, busy), (1, 21 - busy)];
//!     features.push(spikes, &mut x).unwrap();
//!     labels.push(class);
//! }
//! let norm = Normaliser::fit(Normalisation::ZScore { eps: 1e-6 }, &x).unwrap();
//! norm.transform(&mut x).unwrap();
//! let model = Readout::fit(&ReadoutSpec::Ridge(RidgeConfig::default()), &x, &labels, 2).unwrap();
//! let predicted = model.predict(&x).unwrap();
//! assert_eq!(accuracy(&predicted, &labels).unwrap(), 1.0);
//! ```

pub mod features;
pub mod matrix;
pub mod metrics;
pub mod normalise;
pub mod optim;
pub mod ridge;
pub mod select;
pub mod softmax;

pub use features::{FeatureExtractor, FeatureKind, Window};
pub use matrix::FeatureMatrix;
pub use metrics::{ConfusionMatrix, Readout, ReadoutSpec, accuracy};
pub use normalise::{Normalisation, Normaliser};
pub use optim::{Optimiser, OptimiserState};
pub use ridge::{Ridge, RidgeConfig, RidgeSolver};
pub use select::{
    RidgePoint, RidgeSelection, SoftmaxSelection, Split, select_ridge, select_ridge_parts,
    select_softmax, select_softmax_parts, stratified_split,
};
pub use softmax::{EpochStats, Softmax, SoftmaxConfig, SoftmaxFit, Targets};

use crate::{Error, Result};
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};
use rayon::prelude::*;

/// Rows per parallel work item when scoring many samples.
const SCORE_CHUNK_ROWS: usize = 1024;

pub(crate) fn err(message: impl Into<String>) -> Error {
    Error::Readout(message.into())
}

/// Checks a training set: features present and finite, one label per sample,
/// every label below `n_classes`.
pub(crate) fn check_training(x: &FeatureMatrix, labels: &[u32], n_classes: usize) -> Result<()> {
    if n_classes == 0 {
        return Err(err("zero classes"));
    }
    if x.n_samples() == 0 {
        return Err(err("no training samples"));
    }
    if x.n_features() == 0 {
        return Err(err("samples have no features"));
    }
    check_labels(labels, x.n_samples(), n_classes)?;
    x.check_finite()
}

/// One label per sample, each below `n_classes`.
pub(crate) fn check_labels(labels: &[u32], n_samples: usize, n_classes: usize) -> Result<()> {
    if labels.len() != n_samples {
        return Err(err(format!(
            "{} labels for {} samples",
            labels.len(),
            n_samples
        )));
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= n_classes)
    {
        return Err(err(format!(
            "label {l} of sample {i} is out of range for {n_classes} classes"
        )));
    }
    Ok(())
}

/// Checks that `x` has the `n_features` columns a model was fitted on and is finite.
pub(crate) fn check_input(x: &FeatureMatrix, n_features: usize) -> Result<()> {
    if x.n_features() != n_features {
        return Err(err(format!(
            "samples have {} features, the model expects {}",
            x.n_features(),
            n_features
        )));
    }
    x.check_finite()
}

/// `x · W + b` for every row of `x`, with `W` column-major `p × k`; parallel over
/// fixed row chunks, so the result does not depend on the thread count.
pub(crate) fn linear_scores(x: &FeatureMatrix, w: &[f32], bias: &[f32]) -> FeatureMatrix {
    let (p, k) = (x.n_features(), bias.len());
    let mut out = vec![0.0f32; x.n_samples() * k];
    if p == 0 || k == 0 {
        out.chunks_exact_mut(k.max(1))
            .for_each(|r| r.copy_from_slice(bias));
    } else {
        let wt = DMatrixView::from_slice(w, p, k).transpose();
        out.par_chunks_mut(SCORE_CHUNK_ROWS * k)
            .zip(x.as_slice().par_chunks(SCORE_CHUNK_ROWS * p))
            .for_each(|(o, xs)| scores_block(xs, p, &wt, bias, o));
    }
    FeatureMatrix::from_vec(k.max(1), out).unwrap_or_else(|_| FeatureMatrix::new(k))
}

/// Writes `xs · W + b` into `out` (row-major, `rows × k`) for the row-major block
/// `xs` of `rows × p` values; `wt` is `Wᵀ` (`k × p`).
///
/// Every operand is a contiguous column-major matrix: the row-major blocks are
/// the transposes `xsᵀ` (`p × rows`) and `outᵀ` (`k × rows`). nalgebra 0.34's
/// `gemm` reads past the end of strided (row-major) views on its small-matrix
/// path, so none is used.
pub(crate) fn scores_block(xs: &[f32], p: usize, wt: &DMatrix<f32>, bias: &[f32], out: &mut [f32]) {
    let k = bias.len();
    let rows = xs.len() / p;
    let xt = DMatrixView::from_slice(xs, p, rows);
    let mut ot = DMatrixViewMut::from_slice(out, k, rows);
    ot.gemm(1.0, wt, &xt, 0.0);
    for row in out.chunks_exact_mut(k) {
        row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
    }
}

/// Index of the largest entry of each row; ties go to the lowest index.
pub(crate) fn argmax_rows(scores: &FeatureMatrix) -> Vec<u32> {
    scores
        .rows()
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// Replaces every row by its softmax.
pub(crate) fn softmax_rows(scores: &mut FeatureMatrix) {
    for row in scores.rows_mut() {
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            sum += *v;
        }
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}
