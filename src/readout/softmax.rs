//! Softmax (multinomial logistic) regression trained with minibatches.
//!
//! Logits `z = xW + b` (`W` is `n_features × n_classes`, zero-initialised like
//! NALSM's); the loss of a minibatch of `B` samples is
//! `(1/B) Σ_samples Σ_c −t_c log softmax(z)_c + (l2/2) ‖W‖²` against soft targets
//! `t` ([`Targets`]); the bias is not penalised. Batches are `f32`
//! matrix–matrix products (nalgebra `gemm`).
use super::optim::{Optimiser, OptimiserState};
use super::{FeatureMatrix, softmax_rows};
use super::{
    argmax_rows, check_input, check_labels, check_training, err, linear_scores, scores_block,
};
use crate::Result;
use nalgebra::{DMatrix, DMatrixView, DVector, RealField};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Training targets for class `y` among `k` classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// `t_y = 1`, others 0.
    OneHot,
    /// Label smoothing: `t_y = 1 − eps + eps/k`, others `eps/k`.
    Smoothed {
        /// Mass spread over all classes, in `[0, 1]`.
        eps: f32,
    },
    /// NALSM's soft targets: `t = softmax(s)` with `s_y = true_logit` and
    /// `s_c = other_logit` otherwise. NALSM uses +1 / −1, which for 10 classes
    /// gives 0.4509 / 0.0610 (label smoothing with eps = 10 · 0.0610 = 0.610).
    SoftmaxOf {
        /// Logit of the true class.
        true_logit: f32,
        /// Logit of every other class.
        other_logit: f32,
    },
}

impl Targets {
    /// NALSM's `softmax(±1)` targets.
    pub const NALSM: Targets = Targets::SoftmaxOf {
        true_logit: 1.0,
        other_logit: -1.0,
    };

    /// `(t_true, t_other)` for `k` classes.
    ///
    /// ```
    /// use astroglia::readout::Targets;
    /// let (on, off) = Targets::NALSM.values(10);
    /// let e = std::f32::consts::E;
    /// assert!((on - e / (e + 9.0 / e)).abs() < 1e-6);
    /// assert!((on + 9.0 * off - 1.0).abs() < 1e-6);
    /// assert_eq!(Targets::Smoothed { eps: 0.1 }.values(2), (0.95, 0.05));
    /// ```
    pub fn values(&self, k: usize) -> (f32, f32) {
        let kf = k as f64;
        match *self {
            Targets::OneHot => (1.0, 0.0),
            Targets::Smoothed { eps } => {
                let eps = eps as f64;
                ((1.0 - eps + eps / kf) as f32, (eps / kf) as f32)
            }
            Targets::SoftmaxOf {
                true_logit,
                other_logit,
            } => {
                // exp(other − true) avoids overflow for large logits.
                let r = ((other_logit - true_logit) as f64).exp();
                let on = 1.0 / (1.0 + (kf - 1.0) * r);
                (on as f32, (on * r) as f32)
            }
        }
    }

    fn validate(&self) -> Result<()> {
        match *self {
            Targets::OneHot => Ok(()),
            Targets::Smoothed { eps } if (0.0..=1.0).contains(&eps) => Ok(()),
            Targets::Smoothed { eps } => Err(err(format!(
                "label smoothing eps = {eps} must be in [0, 1]"
            ))),
            Targets::SoftmaxOf {
                true_logit,
                other_logit,
            } if true_logit.is_finite() && other_logit.is_finite() => Ok(()),
            Targets::SoftmaxOf { .. } => Err(err("soft-target logits must be finite")),
        }
    }
}

/// Softmax training settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxConfig {
    /// Update rule.
    pub optimiser: Optimiser,
    /// Samples per minibatch; the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// L2 coefficient: `(l2/2) ‖W‖²` is added to the loss (0 = none).
    pub l2: f32,
    /// Training targets.
    pub targets: Targets,
    /// Reshuffle the training order every epoch (seeded); otherwise batches
    /// follow the sample order, as in NALSM.
    pub shuffle: bool,
    /// Seed of the shuffles (ChaCha8).
    pub seed: u64,
    /// With validation data: stop after this many epochs without a better
    /// validation accuracy.
    pub patience: Option<usize>,
}

impl Default for SoftmaxConfig {
    /// Adam (lr 0.01), batches of 250, 20 epochs, no L2, one-hot targets,
    /// shuffled with seed 0, no early stop.
    fn default() -> Self {
        SoftmaxConfig {
            optimiser: Optimiser::adam(0.01),
            batch_size: 250,
            epochs: 20,
            l2: 0.0,
            targets: Targets::OneHot,
            shuffle: true,
            seed: 0,
            patience: None,
        }
    }
}

impl SoftmaxConfig {
    /// NALSM's readout (`NALSM_OUTPUT_LAYER.py`, ALGORITHMS.md §1.6.3): Adadelta
    /// (lr 0.1, ρ 0.95, eps 1e-8), batches of 250 in fixed order, soft targets
    /// softmax(±1), l2 = 5e-10, up to 5000 epochs (the code's upper bound; the
    /// reported model is the one of the best validation epoch). Use
    /// `batch_size = 50` for 8000-neuron liquids, and
    /// [`Normalisation::L1BatchMax`](super::Normalisation::L1BatchMax) with the
    /// same batch size on the features.
    pub fn nalsm() -> Self {
        SoftmaxConfig {
            optimiser: Optimiser::adadelta(0.1),
            batch_size: 250,
            epochs: 5000,
            l2: 5e-10,
            targets: Targets::NALSM,
            shuffle: false,
            seed: 0,
            patience: None,
        }
    }

    fn validate(&self) -> Result<()> {
        self.optimiser.validate()?;
        self.targets.validate()?;
        if self.batch_size == 0 {
            return Err(err("batch_size must be ≥ 1"));
        }
        if self.epochs == 0 {
            return Err(err("epochs must be ≥ 1"));
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(err(format!("l2 = {} must be ≥ 0 and finite", self.l2)));
        }
        Ok(())
    }
}

/// One epoch of the learning curve, measured after the epoch with its final
/// weights. Losses include the L2 term and use the training targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean loss over the training set.
    pub train_loss: f64,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Mean loss over the validation set, if one was given.
    pub val_loss: Option<f64>,
    /// Validation accuracy, if a validation set was given.
    pub val_accuracy: Option<f64>,
}

/// A fitted softmax readout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Softmax {
    n_features: usize,
    n_classes: usize,
    /// Column-major `n_features × n_classes`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// The result of [`Softmax::fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxFit {
    /// The weights of `best_epoch`.
    pub model: Softmax,
    /// One entry per epoch run.
    pub curve: Vec<EpochStats>,
    /// The epoch of the best validation accuracy (earliest on ties), or the last
    /// epoch without validation data.
    pub best_epoch: usize,
}

impl SoftmaxFit {
    /// The curve entry of the returned model.
    pub fn best(&self) -> &EpochStats {
        &self.curve[self.best_epoch - 1]
    }
}

/// Loss and gradients of one minibatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective<T: RealField> {
    /// Mean cross-entropy plus `(l2/2) ‖W‖²`.
    pub loss: T,
    /// ∂loss/∂W (`n_features × n_classes`).
    pub grad_w: DMatrix<T>,
    /// ∂loss/∂b.
    pub grad_b: DVector<T>,
}

/// Loss and gradient of a batch: `x` row-major `B × p`, `targets` row-major
/// `B × k`, `w` `p × k`. Generic so that it can be checked in `f64`; training
/// uses `f32`.
///
/// ```
/// use astroglia::readout::softmax::objective;
/// use nalgebra::{DMatrix, DVector};
/// // Zero weights: uniform softmax, loss ln 2, gradient (p − t)/B · x.
/// let o = objective(&[1.0f64, 2.0], 1, &[1.0, 0.0, 0.0, 1.0],
///                   &DMatrix::zeros(1, 2), &DVector::zeros(2), 0.0).unwrap();
/// assert!((o.loss - 2f64.ln()).abs() < 1e-12);
/// assert!((o.grad_w[(0, 0)] - (-0.5 * 1.0 + 0.5 * 2.0) / 2.0).abs() < 1e-12);
/// assert!(o.grad_b[0].abs() < 1e-12);
/// ```
pub fn objective<T: RealField + Copy>(
    x: &[T],
    n_features: usize,
    targets: &[T],
    w: &DMatrix<T>,
    bias: &DVector<T>,
    l2: T,
) -> Result<Objective<T>> {
    let (p, k) = w.shape();
    if n_features != p || n_features == 0 || k == 0 || bias.len() != k || x.len() % p != 0 {
        return Err(err(format!(
            "objective: {} values of {n_features} features, W {p}×{k}, {} biases",
            x.len(),
            bias.len()
        )));
    }
    let rows = x.len() / p;
    if rows == 0 || targets.len() != rows * k {
        return Err(err(format!(
            "objective: {rows} samples and {} target values for {k} classes",
            targets.len()
        )));
    }
    // Only contiguous column-major operands: the row-major batch is Xᵀ (p × B).
    let xt = DMatrixView::from_slice(x, p, rows);
    let mut z = DMatrix::<T>::zeros(k, rows);
    z.gemm(T::one(), &w.transpose(), &xt, T::zero());
    let inv_n = T::one() / nalgebra::convert::<f64, T>(rows as f64);
    let mut loss = T::zero();
    // ∂loss/∂z, B × k.
    let mut d = DMatrix::<T>::zeros(rows, k);
    for (i, zc) in z.column_iter().enumerate() {
        let zi = zc + bias;
        let m = zi.iter().fold(zi[0], |m, &v| m.max(v));
        let sum = zi.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
        let lse = m + sum.ln();
        let t = &targets[i * k..(i + 1) * k];
        let t_sum = t.iter().fold(T::zero(), |s, &v| s + v);
        for c in 0..k {
            loss += t[c] * (lse - zi[c]);
            // ∂/∂z_c of Σ −t log softmax(z) = softmax(z)_c · Σt − t_c.
            d[(i, c)] = ((zi[c] - lse).exp() * t_sum - t[c]) * inv_n;
        }
    }
    let half = nalgebra::convert::<f64, T>(0.5);
    loss = loss * inv_n + half * l2 * w.norm_squared();
    let mut grad_w = w * l2;
    grad_w.gemm(T::one(), &xt, &d, T::one());
    let grad_b = DVector::from_iterator(k, (0..k).map(|c| d.column(c).sum()));
    Ok(Objective {
        loss,
        grad_w,
        grad_b,
    })
}

/// Rows per parallel work item when evaluating a whole set.
const EVAL_CHUNK_ROWS: usize = 2048;

impl Softmax {
    /// Zero weights and biases (uniform predictions).
    pub fn zeros(n_features: usize, n_classes: usize) -> Self {
        Softmax {
            n_features,
            n_classes,
            weights: vec![0.0; n_features * n_classes],
            bias: vec![0.0; n_classes],
        }
    }

    /// Trains on `x`, `labels` (each below `n_classes`). With `validation`, the
    /// returned model is the one of the epoch with the best validation accuracy
    /// (NALSM reports test accuracy at that epoch); otherwise the last one.
    /// Deterministic for a given configuration and data (any thread count).
    ///
    /// ```
    /// use astroglia::readout::{FeatureMatrix, Softmax, SoftmaxConfig};
    /// let x = FeatureMatrix::from_rows(&[[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2]]).unwrap();
    /// let y = [0, 0, 1, 1];
    /// let cfg = SoftmaxConfig { batch_size: 2, epochs: 50, ..Default::default() };
    /// let fit = Softmax::fit(&cfg, &x, &y, 2, Some((&x, &y))).unwrap();
    /// assert_eq!(fit.best().val_accuracy, Some(1.0));
    /// assert_eq!(fit.model.predict(&x).unwrap(), y);
    /// ```
    pub fn fit(
        config: &SoftmaxConfig,
        x: &FeatureMatrix,
        labels: &[u32],
        n_classes: usize,
        validation: Option<(&FeatureMatrix, &[u32])>,
    ) -> Result<SoftmaxFit> {
        config.validate()?;
        check_training(x, labels, n_classes)?;
        if let Some((vx, vy)) = validation {
            if vx.n_samples() == 0 {
                return Err(err("empty validation set"));
            }
            check_input(vx, x.n_features())?;
            check_labels(vy, vx.n_samples(), n_classes)?;
        }
        let (n, p, k) = (x.n_samples(), x.n_features(), n_classes);
        let (on, off) = config.targets.values(k);
        let mut w = DMatrix::<f32>::zeros(p, k);
        let mut b = DVector::<f32>::zeros(k);
        let mut opt_w = OptimiserState::new(config.optimiser, p * k)?;
        let mut opt_b = OptimiserState::new(config.optimiser, k)?;
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut xbuf: Vec<f32> = Vec::new();
        let mut tbuf: Vec<f32> = Vec::new();
        let mut curve = Vec::new();
        let mut best: Option<(usize, f64, Softmax)> = None;
        let mut model = Softmax::zeros(p, k);
        for epoch in 1..=config.epochs {
            if config.shuffle {
                order.shuffle(&mut rng);
            }
            for batch in order.chunks(config.batch_size) {
                let xb: &[f32] = if config.shuffle {
                    xbuf.clear();
                    batch.iter().for_each(|&i| xbuf.extend_from_slice(x.row(i)));
                    &xbuf
                } else {
                    // Unshuffled batches are contiguous rows.
                    &x.as_slice()[batch[0] * p..(batch[0] + batch.len()) * p]
                };
                tbuf.clear();
                for &i in batch {
                    let l = labels[i] as usize;
                    tbuf.extend((0..k).map(|c| if c == l { on } else { off }));
                }
                let o = objective(xb, p, &tbuf, &w, &b, config.l2)?;
                opt_w.step(w.as_mut_slice(), o.grad_w.as_slice())?;
                opt_b.step(b.as_mut_slice(), o.grad_b.as_slice())?;
            }
            if w.iter().chain(b.iter()).any(|v| !v.is_finite()) {
                return Err(err(format!(
                    "softmax training diverged in epoch {epoch} (non-finite weights); lower the learning rate"
                )));
            }
            model.weights.copy_from_slice(w.as_slice());
            model.bias.copy_from_slice(b.as_slice());
            let (train_loss, train_accuracy) = model.evaluate(x, labels, config)?;
            let mut stats = EpochStats {
                epoch,
                train_loss,
                train_accuracy,
                val_loss: None,
                val_accuracy: None,
            };
            if let Some((vx, vy)) = validation {
                let (vl, va) = model.evaluate(vx, vy, config)?;
                stats.val_loss = Some(vl);
                stats.val_accuracy = Some(va);
                if best.as_ref().is_none_or(|(_, acc, _)| va > *acc) {
                    best = Some((epoch, va, model.clone()));
                }
            }
            curve.push(stats);
            if let (Some(patience), Some((best_epoch, _, _))) = (config.patience, &best) {
                if epoch - best_epoch >= patience {
                    break;
                }
            }
        }
        Ok(match best {
            Some((best_epoch, _, model)) => SoftmaxFit {
                model,
                curve,
                best_epoch,
            },
            None => SoftmaxFit {
                best_epoch: curve.len(),
                model,
                curve,
            },
        })
    }

    /// Mean loss (with the L2 term) and accuracy on a labelled set.
    fn evaluate(
        &self,
        x: &FeatureMatrix,
        labels: &[u32],
        config: &SoftmaxConfig,
    ) -> Result<(f64, f64)> {
        let (p, k) = (self.n_features, self.n_classes);
        let (on, off) = config.targets.values(k);
        let wt = self.weights().transpose();
        let chunks: Vec<(f64, usize)> = x
            .as_slice()
            .par_chunks(EVAL_CHUNK_ROWS * p)
            .zip(labels.par_chunks(EVAL_CHUNK_ROWS))
            .map(|(xs, ls)| {
                let mut z = vec![0.0f32; ls.len() * k];
                scores_block(xs, p, &wt, &self.bias, &mut z);
                let mut loss = 0.0f64;
                let mut correct = 0;
                for (row, &l) in z.chunks_exact(k).zip(ls) {
                    let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
                    let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
                    let mut arg = 0;
                    for (c, &v) in row.iter().enumerate() {
                        let t = if c == l as usize { on } else { off } as f64;
                        loss += t * (lse - v as f64);
                        if v > row[arg] {
                            arg = c;
                        }
                    }
                    correct += usize::from(arg == l as usize);
                }
                (loss, correct)
            })
            .collect();
        let n = x.n_samples() as f64;
        let loss: f64 = chunks.iter().map(|c| c.0).sum::<f64>() / n;
        let correct: usize = chunks.iter().map(|c| c.1).sum();
        let l2: f64 = self.weights.iter().map(|&v| (v as f64).powi(2)).sum();
        Ok((loss + 0.5 * config.l2 as f64 * l2, correct as f64 / n))
    }

    /// Input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// `W`, `n_features × n_classes`.
    pub fn weights(&self) -> DMatrixView<'_, f32> {
        DMatrixView::from_slice(&self.weights, self.n_features, self.n_classes)
    }

    /// `b`, one per class.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    fn check(&self) -> Result<()> {
        if self.n_classes == 0
            || self.weights.len() != self.n_features * self.n_classes
            || self.bias.len() != self.n_classes
        {
            return Err(err("softmax model has inconsistent shapes"));
        }
        Ok(())
    }

    /// Logits `xW + b` per sample (`n × n_classes`).
    pub fn logits(&self, x: &FeatureMatrix) -> Result<FeatureMatrix> {
        self.check()?;
        check_input(x, self.n_features)?;
        Ok(linear_scores(x, &self.weights, &self.bias))
    }

    /// Class probabilities per sample (`n × n_classes`, rows sum to 1).
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<FeatureMatrix> {
        let mut z = self.logits(x)?;
        softmax_rows(&mut z);
        Ok(z)
    }

    /// The most probable class per sample (ties: lowest index).
    pub fn predict(&self, x: &FeatureMatrix) -> Result<Vec<u32>> {
        Ok(argmax_rows(&self.logits(x)?))
    }

    /// Fraction of `labels` predicted correctly.
    pub fn accuracy(&self, x: &FeatureMatrix, labels: &[u32]) -> Result<f64> {
        check_labels(labels, x.n_samples(), self.n_classes)?;
        super::accuracy(&self.predict(x)?, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (FeatureMatrix, Vec<u32>) {
        let rows: Vec<[f32; 2]> = (0..40)
            .map(|i| [(i % 2) as f32, (i % 5) as f32 * 0.1])
            .collect();
        (
            FeatureMatrix::from_rows(&rows).unwrap(),
            (0..40).map(|i| i % 2).collect(),
        )
    }

    #[test]
    fn targets_sum_to_one() {
        for t in [
            Targets::OneHot,
            Targets::Smoothed { eps: 0.3 },
            Targets::NALSM,
        ] {
            for k in [2, 10] {
                let (on, off) = t.values(k);
                assert!((on + (k - 1) as f32 * off - 1.0).abs() < 1e-6, "{t:?} {k}");
                assert!(on > off);
            }
        }
    }

    #[test]
    fn patience_stops_after_epochs_without_improvement() {
        let (x, y) = toy();
        let cfg = SoftmaxConfig {
            epochs: 100,
            patience: Some(3),
            batch_size: 8,
            ..Default::default()
        };
        let fit = Softmax::fit(&cfg, &x, &y, 2, Some((&x, &y))).unwrap();
        assert_eq!(fit.curve.len(), fit.best_epoch + 3);
        assert_eq!(fit.best().val_accuracy, Some(1.0));
    }

    #[test]
    fn divergence_is_an_error() {
        let (mut x, y) = toy();
        x.as_mut_slice().iter_mut().for_each(|v| *v *= 1e30);
        let cfg = SoftmaxConfig {
            optimiser: Optimiser::Sgd { lr: 1e30 },
            epochs: 3,
            ..Default::default()
        };
        assert_eq!(
            Softmax::fit(&cfg, &x, &y, 2, None).unwrap_err().to_string(),
            "readout: softmax training diverged in epoch 1 (non-finite weights); lower the learning rate"
        );
    }

    #[test]
    fn fit_and_scores_do_not_depend_on_the_thread_count() {
        let rows: Vec<Vec<f32>> = (0..3000)
            .map(|i| (0..12).map(|j| ((i * 7 + j * 13) % 17) as f32).collect())
            .collect();
        let x = FeatureMatrix::from_rows(&rows).unwrap();
        let y: Vec<u32> = (0..3000).map(|i| (i % 3) as u32).collect();
        let cfg = SoftmaxConfig {
            epochs: 2,
            ..Default::default()
        };
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let fit = Softmax::fit(&cfg, &x, &y, 3, Some((&x, &y))).unwrap();
                let p = fit.model.predict_proba(&x).unwrap();
                (fit, p)
            })
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn objective_refuses_mismatched_shapes() {
        let w = DMatrix::<f32>::zeros(2, 3);
        let b = DVector::<f32>::zeros(3);
        assert_eq!(
            objective(&[1.0, 2.0], 2, &[1.0, 0.0], &w, &b, 0.0)
                .unwrap_err()
                .to_string(),
            "readout: objective: 1 samples and 2 target values for 3 classes"
        );
    }
}
