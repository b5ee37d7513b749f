//! The experiment's readout: normalisation, model selection on the validation
//! set, accuracies and the test confusion matrix.

use serde::Serialize;

use super::Set;
use super::config::{NormKind, ReadoutKind, ReadoutSpecFile};
use super::features::{RowSource, gather};
use crate::Result;
use crate::readout::{
    ConfusionMatrix, EpochStats, FeatureMatrix, Normalisation, Normaliser, RidgeSolver,
    SoftmaxConfig, select_ridge_parts, select_softmax_parts,
};

/// A fitted readout's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ReadoutResult {
    /// `softmax` or `ridge`.
    pub kind: ReadoutKind,
    /// Normalisation.
    pub normalisation: NormKind,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Validation accuracy of the chosen model.
    pub val_accuracy: f64,
    /// Training accuracy of the chosen model.
    pub train_accuracy: f64,
    /// Test accuracy per class (`null` for a class absent from the test set).
    pub per_class_test_accuracy: Vec<Option<f64>>,
    /// Test confusion matrix: `confusion[truth][predicted]`.
    pub confusion: Vec<Vec<u64>>,
    /// Softmax: the chosen learning rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f32>,
    /// Softmax: the chosen (best validation) epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<usize>,
    /// Ridge: the chosen λ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// Softmax: the chosen learning rate's curve, per epoch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub learning_curve: Vec<EpochStats>,
}

fn rows_of(x: &dyn RowSource, sets: &[Set], want: Set) -> FeatureMatrix {
    let idx: Vec<usize> = (0..sets.len()).filter(|&i| sets[i] == want).collect();
    gather(x, &idx)
}

/// Normalises each set (fitted on the training set), chooses the model on the
/// validation set and scores it. Each set is gathered from `x` once and
/// normalised in place, so the sets together take one `f32` copy of `x`.
pub fn fit_and_score(
    spec: &ReadoutSpecFile,
    x: &dyn RowSource,
    labels: &[u32],
    sets: &[Set],
    n_classes: usize,
    seed: u64,
) -> Result<ReadoutResult> {
    let pick = |s: Set| -> Vec<u32> {
        labels
            .iter()
            .zip(sets)
            .filter(|&(_, &t)| t == s)
            .map(|(&l, _)| l)
            .collect()
    };
    let (ytr, yva, yte) = (pick(Set::Train), pick(Set::Val), pick(Set::Test));
    let kind = match spec.normalisation {
        NormKind::Nalsm => Normalisation::L1BatchMax {
            batch_size: spec.batch_size,
        },
        NormKind::Zscore => Normalisation::ZScore { eps: 1e-6 },
        NormKind::None => Normalisation::None,
    };
    let mut xtr = rows_of(x, sets, Set::Train);
    let norm = Normaliser::fit(kind, &xtr)?;
    norm.transform(&mut xtr)?;
    let mut xva = rows_of(x, sets, Set::Val);
    norm.transform(&mut xva)?;
    let mut xte = rows_of(x, sets, Set::Test);
    norm.transform(&mut xte)?;
    let mut out = ReadoutResult {
        kind: spec.kind,
        normalisation: spec.normalisation,
        test_accuracy: 0.0,
        val_accuracy: 0.0,
        train_accuracy: 0.0,
        per_class_test_accuracy: vec![],
        confusion: vec![],
        learning_rate: None,
        epoch: None,
        lambda: None,
        learning_curve: vec![],
    };
    let (pred_te, pred_tr) = match spec.kind {
        ReadoutKind::Softmax => {
            let base = SoftmaxConfig {
                epochs: spec.epochs,
                batch_size: spec.batch_size,
                seed,
                ..SoftmaxConfig::nalsm()
            };
            let sel = select_softmax_parts(
                (&xtr, &ytr),
                (&xva, &yva),
                n_classes,
                &base,
                &spec.learning_rates,
            )?;
            out.val_accuracy = sel.val_accuracy;
            out.learning_rate = Some(sel.learning_rate);
            out.epoch = Some(sel.epoch);
            out.learning_curve = sel.curve().to_vec();
            (sel.model.predict(&xte)?, sel.model.predict(&xtr)?)
        }
        ReadoutKind::Ridge => {
            let sel = select_ridge_parts(
                (&xtr, &ytr),
                (&xva, &yva),
                n_classes,
                &spec.lambdas,
                RidgeSolver::Auto,
            )?;
            out.val_accuracy = sel.val_accuracy;
            out.lambda = Some(sel.lambda);
            (sel.model.predict(&xte)?, sel.model.predict(&xtr)?)
        }
    };
    let acc = |p: &[u32], y: &[u32]| {
        p.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len().max(1) as f64
    };
    out.test_accuracy = acc(&pred_te, &yte);
    out.train_accuracy = acc(&pred_tr, &ytr);
    let cm = ConfusionMatrix::new(&pred_te, &yte, n_classes)?;
    out.per_class_test_accuracy = cm.per_class_accuracy();
    out.confusion = (0..n_classes)
        .map(|t| (0..n_classes).map(|p| cm.count(t, p)).collect())
        .collect();
    Ok(out)
}
