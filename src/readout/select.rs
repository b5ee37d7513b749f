//! Model selection on a validation split: a deterministic stratified split, the
//! ridge λ from a grid, and the softmax learning rate and epoch, each by best
//! validation accuracy. Selected models are trained on the training part only.
use super::ridge::{RidgeSystem, one_hot};
use super::{EpochStats, Ridge, RidgeSolver, Softmax, SoftmaxConfig};
use super::{FeatureMatrix, check_labels, check_training, err};
use crate::Result;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Sample indices of a training and a validation part (each ascending).
/// Build one by hand for a fixed split, e.g. NALSM's last 10,000 training
/// samples as validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training samples.
    pub train: Vec<usize>,
    /// Validation samples.
    pub val: Vec<usize>,
}

/// Splits samples so that every class keeps its proportion: of the `n_c` samples
/// of class c, `round(val_fraction · n_c)` go to validation, chosen by a ChaCha8
/// shuffle seeded with `seed` (classes in order). The same inputs give the same
/// split on every platform.
///
/// ```
/// use astroglia::readout::stratified_split;
/// let labels: Vec<u32> = (0..100).map(|i| if i < 80 { 0 } else { 1 }).collect();
/// let s = stratified_split(&labels, 2, 0.25, 7).unwrap();
/// assert_eq!(s.val.iter().filter(|&&i| labels[i] == 1).count(), 5);
/// assert_eq!(s.val.len(), 25);
/// assert_eq!(s, stratified_split(&labels, 2, 0.25, 7).unwrap());
/// ```
pub fn stratified_split(
    labels: &[u32],
    n_classes: usize,
    val_fraction: f64,
    seed: u64,
) -> Result<Split> {
    if n_classes == 0 {
        return Err(err("zero classes"));
    }
    check_labels(labels, labels.len(), n_classes)?;
    if !(val_fraction > 0.0 && val_fraction < 1.0) {
        return Err(err(format!(
            "validation fraction {val_fraction} must be in (0, 1)"
        )));
    }
    let mut by_class = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut members in by_class {
        members.shuffle(&mut rng);
        let n_val = (val_fraction * members.len() as f64).round() as usize;
        val.extend_from_slice(&members[..n_val]);
        train.extend_from_slice(&members[n_val..]);
    }
    if train.is_empty() || val.is_empty() {
        return Err(err(format!(
            "a validation fraction of {val_fraction} of {} samples leaves {} for training and {} for validation",
            labels.len(),
            train.len(),
            val.len()
        )));
    }
    train.sort_unstable();
    val.sort_unstable();
    Ok(Split { train, val })
}

/// Rows and labels of the training and the validation part, checked.
fn parts(
    x: &FeatureMatrix,
    labels: &[u32],
    n_classes: usize,
    split: &Split,
) -> Result<[(FeatureMatrix, Vec<u32>); 2]> {
    check_split(x, labels, n_classes, split)?;
    let part = |idx: &[usize]| -> Result<(FeatureMatrix, Vec<u32>)> {
        Ok((
            x.select_rows(idx)?,
            idx.iter().map(|&i| labels[i]).collect(),
        ))
    };
    Ok([part(&split.train)?, part(&split.val)?])
}

fn check_split(x: &FeatureMatrix, labels: &[u32], n_classes: usize, split: &Split) -> Result<()> {
    check_training(x, labels, n_classes)?;
    if split.train.is_empty() || split.val.is_empty() {
        return Err(err("a split needs training and validation samples"));
    }
    Ok(())
}

fn check_parts(
    (xt, yt): (&FeatureMatrix, &[u32]),
    (xv, yv): (&FeatureMatrix, &[u32]),
    n_classes: usize,
) -> Result<()> {
    check_training(xt, yt, n_classes)?;
    if xv.n_samples() == 0 {
        return Err(err("a split needs training and validation samples"));
    }
    check_labels(yv, xv.n_samples(), n_classes)?;
    if xv.n_features() != xt.n_features() {
        return Err(err(format!(
            "validation samples have {} features, training samples {}",
            xv.n_features(),
            xt.n_features()
        )));
    }
    Ok(())
}

/// One λ of a ridge grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RidgePoint {
    /// Penalty.
    pub lambda: f64,
    /// Accuracy on the training part.
    pub train_accuracy: f64,
    /// Accuracy on the validation part.
    pub val_accuracy: f64,
}

/// The result of [`select_ridge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeSelection {
    /// Fitted on the training part with the chosen λ.
    pub model: Ridge,
    /// The chosen λ.
    pub lambda: f64,
    /// Its validation accuracy.
    pub val_accuracy: f64,
    /// Every λ in grid order.
    pub curve: Vec<RidgePoint>,
}

/// Fits ridge classifiers for every λ in `lambdas` on `split.train` (the normal
/// equations are formed once) and keeps the best validation accuracy; ties go to
/// the larger λ.
///
/// ```
/// use astroglia::readout::{select_ridge, stratified_split, FeatureMatrix, RidgeSolver};
/// let x = FeatureMatrix::from_rows(&(0..40).map(|i| [i as f32, (i % 3) as f32]).collect::<Vec<_>>()).unwrap();
/// let y: Vec<u32> = (0..40).map(|i| u32::from(i >= 20)).collect();
/// let split = stratified_split(&y, 2, 0.25, 1).unwrap();
/// let sel = select_ridge(&x, &y, 2, &split, &[1e-3, 1.0, 1e6], RidgeSolver::Auto).unwrap();
/// assert_eq!(sel.curve.len(), 3);
/// assert!(sel.val_accuracy >= 0.9);
/// ```
pub fn select_ridge(
    x: &FeatureMatrix,
    labels: &[u32],
    n_classes: usize,
    split: &Split,
    lambdas: &[f64],
    solver: RidgeSolver,
) -> Result<RidgeSelection> {
    let [(xt, yt), (xv, yv)] = parts(x, labels, n_classes, split)?;
    select_ridge_parts((&xt, &yt), (&xv, &yv), n_classes, lambdas, solver)
}

/// [`select_ridge`] on a training and a validation part already apart (no copies).
pub fn select_ridge_parts(
    (xt, yt): (&FeatureMatrix, &[u32]),
    (xv, yv): (&FeatureMatrix, &[u32]),
    n_classes: usize,
    lambdas: &[f64],
    solver: RidgeSolver,
) -> Result<RidgeSelection> {
    check_parts((xt, yt), (xv, yv), n_classes)?;
    if lambdas.is_empty() {
        return Err(err("an empty lambda grid"));
    }
    let system = RidgeSystem::new(xt, &one_hot(yt, n_classes), solver)?;
    let mut best: Option<(Ridge, f64, f64)> = None;
    let mut curve = Vec::with_capacity(lambdas.len());
    for &lambda in lambdas {
        let model = system.solve(lambda)?;
        let val_accuracy = model.accuracy(xv, yv)?;
        curve.push(RidgePoint {
            lambda,
            train_accuracy: model.accuracy(xt, yt)?,
            val_accuracy,
        });
        let better = best
            .as_ref()
            .is_none_or(|(_, l, a)| val_accuracy > *a || (val_accuracy == *a && lambda > *l));
        if better {
            best = Some((model, lambda, val_accuracy));
        }
    }
    let (model, lambda, val_accuracy) = best.expect("non-empty grid");
    Ok(RidgeSelection {
        model,
        lambda,
        val_accuracy,
        curve,
    })
}

/// The result of [`select_softmax`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxSelection {
    /// The weights of the chosen epoch, trained on the training part.
    pub model: Softmax,
    /// The chosen learning rate.
    pub learning_rate: f32,
    /// The chosen epoch (1-based).
    pub epoch: usize,
    /// Its validation accuracy.
    pub val_accuracy: f64,
    /// The learning curve of every learning rate, in grid order.
    pub curves: Vec<(f32, Vec<EpochStats>)>,
}

impl SoftmaxSelection {
    /// The learning curve of the chosen learning rate.
    pub fn curve(&self) -> &[EpochStats] {
        self.curves
            .iter()
            .find(|(lr, _)| *lr == self.learning_rate)
            .map_or(&[], |(_, c)| c)
    }
}

/// Trains `base` with each learning rate in `learning_rates` (empty: only
/// `base`'s own) on `split.train`, up to `base.epochs`, and keeps the learning
/// rate and epoch of the best validation accuracy; ties go to the earlier
/// learning rate in the grid, then the earlier epoch.
///
/// ```
/// use astroglia::readout::{select_softmax, stratified_split, FeatureMatrix, SoftmaxConfig};
/// let x = FeatureMatrix::from_rows(&(0..40).map(|i| [(i % 2) as f32, 1.0 - (i % 2) as f32]).collect::<Vec<_>>()).unwrap();
/// let y: Vec<u32> = (0..40).map(|i| i % 2).collect();
/// let split = stratified_split(&y, 2, 0.25, 1).unwrap();
/// let base = SoftmaxConfig { epochs: 5, batch_size: 10, ..Default::default() };
/// let sel = select_softmax(&x, &y, 2, &split, &base, &[0.01, 0.1]).unwrap();
/// assert_eq!(sel.val_accuracy, 1.0);
/// assert_eq!(sel.curve().len(), 5);
/// ```
pub fn select_softmax(
    x: &FeatureMatrix,
    labels: &[u32],
    n_classes: usize,
    split: &Split,
    base: &SoftmaxConfig,
    learning_rates: &[f32],
) -> Result<SoftmaxSelection> {
    let [(xt, yt), (xv, yv)] = parts(x, labels, n_classes, split)?;
    select_softmax_parts((&xt, &yt), (&xv, &yv), n_classes, base, learning_rates)
}

/// [`select_softmax`] on a training and a validation part already apart (no copies).
pub fn select_softmax_parts(
    (xt, yt): (&FeatureMatrix, &[u32]),
    (xv, yv): (&FeatureMatrix, &[u32]),
    n_classes: usize,
    base: &SoftmaxConfig,
    learning_rates: &[f32],
) -> Result<SoftmaxSelection> {
    check_parts((xt, yt), (xv, yv), n_classes)?;
    let own = [base.optimiser.lr()];
    let grid = if learning_rates.is_empty() {
        &own[..]
    } else {
        learning_rates
    };
    let mut best: Option<SoftmaxSelection> = None;
    let mut curves = Vec::with_capacity(grid.len());
    for &lr in grid {
        let cfg = SoftmaxConfig {
            optimiser: base.optimiser.with_lr(lr),
            ..*base
        };
        let fit = Softmax::fit(&cfg, xt, yt, n_classes, Some((xv, yv)))?;
        let acc = fit.best().val_accuracy.expect("validation given");
        if best.as_ref().is_none_or(|b| acc > b.val_accuracy) {
            best = Some(SoftmaxSelection {
                model: fit.model,
                learning_rate: lr,
                epoch: fit.best_epoch,
                val_accuracy: acc,
                curves: Vec::new(),
            });
        }
        curves.push((lr, fit.curve));
    }
    let mut sel = best.expect("non-empty grid");
    sel.curves = curves;
    Ok(sel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_that_leaves_a_part_empty_is_an_error() {
        assert_eq!(
            stratified_split(&[0, 1, 1], 2, 0.1, 0)
                .unwrap_err()
                .to_string(),
            "readout: a validation fraction of 0.1 of 3 samples leaves 3 for training and 0 for validation"
        );
    }

    #[test]
    fn softmax_selection_reports_the_curve_of_the_chosen_rate() {
        let rows: Vec<[f32; 2]> = (0..60)
            .map(|i| [(i % 3) as f32, ((i % 3) * 2 % 3) as f32])
            .collect();
        let x = FeatureMatrix::from_rows(&rows).unwrap();
        let y: Vec<u32> = (0..60).map(|i| (i % 3) as u32).collect();
        let split = stratified_split(&y, 3, 0.2, 5).unwrap();
        // A rate far too small to learn in 3 epochs, and a good one.
        let base = SoftmaxConfig {
            epochs: 3,
            batch_size: 8,
            optimiser: crate::readout::Optimiser::Sgd { lr: 1.0 },
            ..Default::default()
        };
        let sel = select_softmax(&x, &y, 3, &split, &base, &[1e-9, 1.0]).unwrap();
        assert_eq!(sel.learning_rate, 1.0);
        assert_eq!(sel.curves.len(), 2);
        assert_eq!(sel.curve(), &sel.curves[1].1[..]);
        assert_eq!(
            sel.curve()[sel.epoch - 1].val_accuracy,
            Some(sel.val_accuracy)
        );
        assert_eq!(
            sel.model
                .accuracy(
                    &x.select_rows(&split.val).unwrap(),
                    &split.val.iter().map(|&i| y[i]).collect::<Vec<_>>()
                )
                .unwrap(),
            sel.val_accuracy
        );
    }
}
