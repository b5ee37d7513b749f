//! Accuracy, per-class accuracy and the confusion matrix, and [`Readout`], one
//! type over the ridge and softmax classifiers.
use super::{FeatureMatrix, check_input, err};
use super::{Ridge, RidgeConfig, Softmax, SoftmaxConfig};
use crate::Result;
use serde::{Deserialize, Serialize};

/// Fraction of `predicted` equal to `truth`.
///
/// ```
/// use astroglia::readout::accuracy;
/// assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2]).unwrap(), 0.75);
/// assert!(accuracy(&[0], &[0, 1]).is_err());
/// ```
pub fn accuracy(predicted: &[u32], truth: &[u32]) -> Result<f64> {
    if predicted.len() != truth.len() {
        return Err(err(format!(
            "{} predictions for {} labels",
            predicted.len(),
            truth.len()
        )));
    }
    if truth.is_empty() {
        return Err(err("accuracy of no samples"));
    }
    let correct = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    Ok(correct as f64 / truth.len() as f64)
}

/// Counts of (true class, predicted class) pairs.
///
/// ```
/// use astroglia::readout::ConfusionMatrix;
/// let cm = ConfusionMatrix::new(&[0, 1, 1, 2], &[0, 1, 2, 2], 3).unwrap();
/// assert_eq!(cm.count(2, 1), 1); // one sample of class 2 predicted as 1
/// assert_eq!(cm.total(), 4);
/// assert_eq!(cm.per_class_accuracy(), vec![Some(1.0), Some(1.0), Some(0.5)]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    n_classes: usize,
    /// Row-major: `counts[truth · n_classes + predicted]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Tallies `predicted` against `truth`; every class index must be below `n_classes`.
    pub fn new(predicted: &[u32], truth: &[u32], n_classes: usize) -> Result<Self> {
        if n_classes == 0 {
            return Err(err("zero classes"));
        }
        if predicted.len() != truth.len() {
            return Err(err(format!(
                "{} predictions for {} labels",
                predicted.len(),
                truth.len()
            )));
        }
        let mut counts = vec![0u64; n_classes * n_classes];
        for (i, (&p, &t)) in predicted.iter().zip(truth).enumerate() {
            if p as usize >= n_classes || t as usize >= n_classes {
                return Err(err(format!(
                    "sample {i}: class {} is out of range for {n_classes} classes",
                    p.max(t)
                )));
            }
            counts[t as usize * n_classes + p as usize] += 1;
        }
        Ok(ConfusionMatrix { n_classes, counts })
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Samples of class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.n_classes + predicted]
    }

    /// All counts, row-major (row = true class).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Samples tallied.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Samples on the diagonal.
    pub fn correct(&self) -> u64 {
        (0..self.n_classes).map(|c| self.count(c, c)).sum()
    }

    /// Samples per true class (row sums).
    pub fn class_totals(&self) -> Vec<u64> {
        self.counts
            .chunks_exact(self.n_classes)
            .map(|r| r.iter().sum())
            .collect()
    }

    /// Overall accuracy; `None` with no samples.
    pub fn accuracy(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.correct() as f64 / total as f64)
    }

    /// Recall of each class; `None` for a class with no samples.
    pub fn per_class_accuracy(&self) -> Vec<Option<f64>> {
        self.class_totals()
            .iter()
            .enumerate()
            .map(|(c, &n)| (n > 0).then(|| self.count(c, c) as f64 / n as f64))
            .collect()
    }
}

/// Which classifier to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ReadoutSpec {
    /// Closed-form ridge on one-hot targets.
    Ridge(RidgeConfig),
    /// Minibatch softmax regression (no validation: the last epoch's weights).
    Softmax(SoftmaxConfig),
}

/// A fitted classifier over feature rows.
///
/// ```
/// use astroglia::readout::*;
/// let x = FeatureMatrix::from_rows(&[[0.0, 1.0], [1.0, 0.0], [0.1, 0.8], [0.9, 0.1]]).unwrap();
/// let y = [0, 1, 0, 1];
/// let spec = ReadoutSpec::Softmax(SoftmaxConfig { epochs: 100, batch_size: 4, ..Default::default() });
/// let r = Readout::fit(&spec, &x, &y, 2).unwrap();
/// assert_eq!(r.predict(&x).unwrap(), y);
/// let p = r.predict_proba(&x).unwrap();
/// assert!((p.row(0).iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// assert_eq!(r.confusion(&x, &y).unwrap().accuracy(), Some(1.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Readout {
    /// A ridge classifier.
    Ridge(Ridge),
    /// A softmax classifier.
    Softmax(Softmax),
}

impl Readout {
    /// Fits `spec` on `x`, `labels` (each below `n_classes`).
    pub fn fit(
        spec: &ReadoutSpec,
        x: &FeatureMatrix,
        labels: &[u32],
        n_classes: usize,
    ) -> Result<Self> {
        Ok(match spec {
            ReadoutSpec::Ridge(c) => Readout::Ridge(Ridge::fit_classes(c, x, labels, n_classes)?),
            ReadoutSpec::Softmax(c) => {
                Readout::Softmax(Softmax::fit(c, x, labels, n_classes, None)?.model)
            }
        })
    }

    /// Input features.
    pub fn n_features(&self) -> usize {
        match self {
            Readout::Ridge(m) => m.n_features(),
            Readout::Softmax(m) => m.n_features(),
        }
    }

    /// Classes.
    pub fn n_classes(&self) -> usize {
        match self {
            Readout::Ridge(m) => m.n_outputs(),
            Readout::Softmax(m) => m.n_classes(),
        }
    }

    /// The predicted class per sample.
    pub fn predict(&self, x: &FeatureMatrix) -> Result<Vec<u32>> {
        match self {
            Readout::Ridge(m) => m.predict(x),
            Readout::Softmax(m) => m.predict(x),
        }
    }

    /// Class probabilities per sample; for ridge, the softmax of its scores
    /// (see [`Ridge::predict_proba`]).
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<FeatureMatrix> {
        match self {
            Readout::Ridge(m) => m.predict_proba(x),
            Readout::Softmax(m) => m.predict_proba(x),
        }
    }

    /// The confusion matrix of the predictions on a labelled set.
    pub fn confusion(&self, x: &FeatureMatrix, labels: &[u32]) -> Result<ConfusionMatrix> {
        check_input(x, self.n_features())?;
        ConfusionMatrix::new(&self.predict(x)?, labels, self.n_classes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readout_serialises_and_predicts_the_same_after_a_round_trip() {
        let x = FeatureMatrix::from_rows(&[[0.0, 1.0], [1.0, 0.0], [0.2, 0.7]]).unwrap();
        let y = [0, 1, 0];
        for spec in [
            ReadoutSpec::Ridge(RidgeConfig::default()),
            ReadoutSpec::Softmax(SoftmaxConfig {
                epochs: 5,
                ..Default::default()
            }),
        ] {
            let r = Readout::fit(&spec, &x, &y, 2).unwrap();
            let back: Readout = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(back, r);
            assert_eq!(
                back.predict_proba(&x).unwrap(),
                r.predict_proba(&x).unwrap()
            );
        }
    }

    #[test]
    fn a_model_with_inconsistent_shapes_is_refused() {
        let json = r#"{"Softmax":{"n_features":2,"n_classes":2,"weights":[0.0],"bias":[0.0,0.0]}}"#;
        let r: Readout = serde_json::from_str(json).unwrap();
        let x = FeatureMatrix::from_rows(&[[0.0, 1.0]]).unwrap();
        assert_eq!(
            r.predict(&x).unwrap_err().to_string(),
            "readout: softmax model has inconsistent shapes"
        );
    }
}
