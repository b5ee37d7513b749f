//! Ridge regression in closed form, for regression targets or one-hot classes.
//!
//! Minimises `‖Y − XW − 1bᵀ‖² + λ‖W‖²` (the bias is not penalised): with centred
//! `Xc`, `Yc`, the primal solution is `W = (XcᵀXc + λI)⁻¹ XcᵀYc` (Cholesky of a
//! `p × p` system) and the dual one `W = Xcᵀ (XcXcᵀ + λI)⁻¹ Yc` (an `n × n`
//! system, cheaper when there are fewer samples than features); then
//! `b = ȳ − Wᵀx̄`. Sums are accumulated in `f64`.
use super::{FeatureMatrix, softmax_rows};
use super::{argmax_rows, check_input, check_labels, check_training, err, linear_scores};
use crate::Result;
use nalgebra::{Cholesky, DMatrix, DMatrixView, DVector};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which linear system to solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RidgeSolver {
    /// Primal when samples ≥ features, dual otherwise.
    #[default]
    Auto,
    /// `(XcᵀXc + λI) W = XcᵀYc`.
    Primal,
    /// `W = Xcᵀ (XcXcᵀ + λI)⁻¹ Yc`.
    Dual,
}

/// Ridge settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RidgeConfig {
    /// Penalty λ ≥ 0 on `‖W‖²` (not scaled by the sample count). λ = 0 works only
    /// when the centred system is positive definite.
    pub lambda: f64,
    /// Which system to solve.
    pub solver: RidgeSolver,
}

impl Default for RidgeConfig {
    /// λ = 1, [`RidgeSolver::Auto`].
    fn default() -> Self {
        RidgeConfig {
            lambda: 1.0,
            solver: RidgeSolver::Auto,
        }
    }
}

/// A fitted linear map `y = Wᵀx + b`.
///
/// ```
/// use astroglia::readout::{FeatureMatrix, Ridge, RidgeConfig};
/// // y = 2x + 1, recovered as λ → 0.
/// let x = FeatureMatrix::from_rows(&[[0.0], [1.0], [2.0], [3.0]]).unwrap();
/// let y = FeatureMatrix::from_rows(&[[1.0], [3.0], [5.0], [7.0]]).unwrap();
/// let cfg = RidgeConfig { lambda: 1e-9, ..Default::default() };
/// let m = Ridge::fit_targets(&cfg, &x, &y).unwrap();
/// assert!((m.weight(0, 0) - 2.0).abs() < 1e-5 && (m.bias()[0] - 1.0).abs() < 1e-5);
/// // Classes: one-hot targets, prediction by the largest output.
/// let labels = [0, 0, 1, 1];
/// let c = Ridge::fit_classes(&RidgeConfig::default(), &x, &labels, 2).unwrap();
/// assert_eq!(c.predict(&x).unwrap(), labels);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    n_features: usize,
    n_outputs: usize,
    /// Column-major `n_features × n_outputs`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// Rows per block when accumulating the normal equations.
const BLOCK_ROWS: usize = 1024;
/// Fixed number of row ranges summed in parallel, so the sums (and the fitted
/// weights) do not depend on the number of threads.
const PARTS: usize = 4;

/// The centred normal equations of one data set, solvable for any λ.
pub(crate) struct RidgeSystem {
    mean_x: DVector<f64>,
    mean_y: DVector<f64>,
    kind: System,
}

enum System {
    /// `XcᵀXc` (p × p) and `XcᵀYc` (p × k).
    Primal {
        gram: DMatrix<f64>,
        xty: DMatrix<f64>,
    },
    /// `XcXcᵀ` (n × n), `Yc` (n × k) and `Xc` (n × p).
    Dual {
        kernel: DMatrix<f64>,
        yc: DMatrix<f64>,
        xc: DMatrix<f64>,
    },
}

/// Column means in `f64`.
fn column_means(m: &FeatureMatrix) -> DVector<f64> {
    let mut mean = DVector::<f64>::zeros(m.n_features());
    for row in m.rows() {
        mean.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
    }
    mean / m.n_samples() as f64
}

/// Rows `range` of `m`, centred, transposed into an `f64` matrix (cols × rows):
/// filled column by column, it reads `m` row by row.
fn centred_block_t(
    m: &FeatureMatrix,
    mean: &DVector<f64>,
    rows: std::ops::Range<usize>,
) -> DMatrix<f64> {
    let p = m.n_features();
    let data = &m.as_slice()[rows.start * p..rows.end * p];
    DMatrix::from_fn(p, rows.len(), |j, i| data[i * p + j] as f64 - mean[j])
}

impl RidgeSystem {
    pub(crate) fn new(x: &FeatureMatrix, y: &FeatureMatrix, solver: RidgeSolver) -> Result<Self> {
        let (n, p, k) = (x.n_samples(), x.n_features(), y.n_features());
        let mean_x = column_means(x);
        let mean_y = column_means(y);
        let dual = match solver {
            RidgeSolver::Auto => n < p,
            RidgeSolver::Primal => false,
            RidgeSolver::Dual => true,
        };
        let kind = if dual {
            let xct = centred_block_t(x, &mean_x, 0..n);
            let xc = xct.transpose();
            let yc = centred_block_t(y, &mean_y, 0..n).transpose();
            let mut kernel = DMatrix::zeros(n, n);
            kernel.gemm(1.0, &xc, &xct, 0.0);
            System::Dual { kernel, yc, xc }
        } else {
            let part = n.div_ceil(PARTS);
            let sums: Vec<(DMatrix<f64>, DMatrix<f64>)> = (0..PARTS)
                .into_par_iter()
                .map(|q| {
                    let mut gram = DMatrix::<f64>::zeros(p, p);
                    let mut xty = DMatrix::<f64>::zeros(p, k);
                    let end = ((q + 1) * part).min(n);
                    let mut start = (q * part).min(n);
                    while start < end {
                        let stop = (start + BLOCK_ROWS).min(end);
                        let xbt = centred_block_t(x, &mean_x, start..stop);
                        let ybt = centred_block_t(y, &mean_y, start..stop);
                        // Contiguous operands only (see `scores_block`).
                        gram.gemm(1.0, &xbt, &xbt.transpose(), 1.0);
                        xty.gemm(1.0, &xbt, &ybt.transpose(), 1.0);
                        start = stop;
                    }
                    (gram, xty)
                })
                .collect();
            let mut gram = DMatrix::<f64>::zeros(p, p);
            let mut xty = DMatrix::<f64>::zeros(p, k);
            for (g, t) in sums {
                gram += g;
                xty += t;
            }
            System::Primal { gram, xty }
        };
        Ok(RidgeSystem {
            mean_x,
            mean_y,
            kind,
        })
    }

    pub(crate) fn solve(&self, lambda: f64) -> Result<Ridge> {
        if !(lambda >= 0.0 && lambda.is_finite()) {
            return Err(err(format!(
                "ridge lambda = {lambda} must be ≥ 0 and finite"
            )));
        }
        let singular = || {
            err(format!(
                "the ridge system is not positive definite at lambda = {lambda}; use a larger lambda"
            ))
        };
        // Cholesky of `a + λI`, refused when numerically singular: a pivot² below
        // 1e-12 of the largest diagonal entry (an exactly singular matrix can
        // still pass nalgebra's positivity test by rounding).
        let factor = |a: &DMatrix<f64>| {
            let a = a + DMatrix::identity(a.nrows(), a.ncols()) * lambda;
            let scale = a.diagonal().max();
            let chol = Cholesky::new(a).ok_or_else(singular)?;
            let pivot = chol
                .l_dirty()
                .diagonal()
                .iter()
                .fold(f64::INFINITY, |m, &v| m.min(v * v));
            if pivot <= 1e-12 * scale {
                return Err(singular());
            }
            Ok(chol)
        };
        let w: DMatrix<f64> = match &self.kind {
            System::Primal { gram, xty } => factor(gram)?.solve(xty),
            System::Dual { kernel, yc, xc } => xc.transpose() * factor(kernel)?.solve(yc),
        };
        if w.iter().any(|v| !v.is_finite()) {
            return Err(singular());
        }
        let bias = &self.mean_y - w.transpose() * &self.mean_x;
        Ok(Ridge {
            n_features: w.nrows(),
            n_outputs: w.ncols(),
            weights: w.iter().map(|&v| v as f32).collect(),
            bias: bias.iter().map(|&v| v as f32).collect(),
        })
    }
}

/// One-hot targets `n × n_classes`.
pub(crate) fn one_hot(labels: &[u32], n_classes: usize) -> FeatureMatrix {
    let mut y = FeatureMatrix::with_capacity(n_classes, labels.len());
    for &l in labels {
        y.push_zeroed()[l as usize] = 1.0;
    }
    y
}

impl Ridge {
    /// Fits continuous targets `y` (one row per sample of `x`).
    pub fn fit_targets(config: &RidgeConfig, x: &FeatureMatrix, y: &FeatureMatrix) -> Result<Self> {
        if x.n_samples() == 0 || x.n_features() == 0 || y.n_features() == 0 {
            return Err(err("ridge needs samples, features and at least one target"));
        }
        if y.n_samples() != x.n_samples() {
            return Err(err(format!(
                "{} target rows for {} samples",
                y.n_samples(),
                x.n_samples()
            )));
        }
        x.check_finite()?;
        y.check_finite()?;
        RidgeSystem::new(x, y, config.solver)?.solve(config.lambda)
    }

    /// Fits one-hot targets of `labels` (each below `n_classes`).
    pub fn fit_classes(
        config: &RidgeConfig,
        x: &FeatureMatrix,
        labels: &[u32],
        n_classes: usize,
    ) -> Result<Self> {
        check_training(x, labels, n_classes)?;
        Self::fit_targets(config, x, &one_hot(labels, n_classes))
    }

    /// Input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Outputs (classes).
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// `W[feature, output]`.
    pub fn weight(&self, feature: usize, output: usize) -> f32 {
        self.weights()[(feature, output)]
    }

    /// `W`, `n_features × n_outputs`.
    pub fn weights(&self) -> DMatrixView<'_, f32> {
        DMatrixView::from_slice(&self.weights, self.n_features, self.n_outputs)
    }

    /// `b`, one per output.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    fn check(&self) -> Result<()> {
        if self.n_outputs == 0
            || self.weights.len() != self.n_features * self.n_outputs
            || self.bias.len() != self.n_outputs
        {
            return Err(err("ridge model has inconsistent shapes"));
        }
        Ok(())
    }

    /// `xW + b` per sample (`n × n_outputs`).
    pub fn scores(&self, x: &FeatureMatrix) -> Result<FeatureMatrix> {
        self.check()?;
        check_input(x, self.n_features)?;
        Ok(linear_scores(x, &self.weights, &self.bias))
    }

    /// The output with the largest score per sample (ties: lowest index).
    pub fn predict(&self, x: &FeatureMatrix) -> Result<Vec<u32>> {
        Ok(argmax_rows(&self.scores(x)?))
    }

    /// Softmax of the scores: a monotone map to the simplex, not calibrated
    /// probabilities (ridge is not a probabilistic model).
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<FeatureMatrix> {
        let mut s = self.scores(x)?;
        softmax_rows(&mut s);
        Ok(s)
    }

    /// Fraction of `labels` predicted correctly.
    pub fn accuracy(&self, x: &FeatureMatrix, labels: &[u32]) -> Result<f64> {
        check_labels(labels, x.n_samples(), self.n_outputs)?;
        super::accuracy(&self.predict(x)?, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_does_not_depend_on_the_thread_count() {
        // Enough rows for several blocks in each of the PARTS ranges.
        let rows: Vec<Vec<f32>> = (0..9000)
            .map(|i| {
                (0..7)
                    .map(|j| ((i * 31 + j * 17) % 23) as f32 / 23.0)
                    .collect()
            })
            .collect();
        let x = FeatureMatrix::from_rows(&rows).unwrap();
        let y: Vec<u32> = (0..9000).map(|i| (i % 4) as u32).collect();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| Ridge::fit_classes(&RidgeConfig::default(), &x, &y, 4).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn scores_equal_weights_times_features_plus_bias() {
        let x = FeatureMatrix::from_rows(&[[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]]).unwrap();
        let m = Ridge::fit_classes(&RidgeConfig::default(), &x, &[0, 1, 0], 2).unwrap();
        let s = m.scores(&x).unwrap();
        for (i, row) in x.rows().enumerate() {
            for c in 0..2 {
                let want = m.bias()[c] + row[0] * m.weight(0, c) + row[1] * m.weight(1, c);
                assert!((s.get(i, c) - want).abs() < 1e-6);
            }
        }
        let p = m.predict_proba(&x).unwrap();
        assert!(p.rows().all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-6));
    }
}
