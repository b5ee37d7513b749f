//! [`FeatureMatrix`]: samples × features, row-major `f32`, filled one sample at a time.
use super::err;
use crate::Result;
use serde::{Deserialize, Serialize};

/// Samples × features, row-major `f32` (one row per sample), grown one row at a
/// time. Serialisable so that extracted features can be cached.
///
/// ```
/// use astroglia::readout::FeatureMatrix;
/// let mut x = FeatureMatrix::new(3);
/// x.push_row(&[1.0, 2.0, 3.0]).unwrap();
/// x.push_zeroed()[1] = 5.0;
/// assert_eq!(x.n_samples(), 2);
/// assert_eq!(x.row(1), &[0.0, 5.0, 0.0]);
/// assert_eq!(x.get(0, 2), 3.0);
/// assert!(x.push_row(&[1.0]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct FeatureMatrix {
    n_samples: usize,
    n_features: usize,
    data: Vec<f32>,
}

/// The serialised form, checked on the way in.
#[derive(Clone, Serialize, Deserialize)]
struct Repr {
    n_samples: usize,
    n_features: usize,
    data: Vec<f32>,
}

impl TryFrom<Repr> for FeatureMatrix {
    type Error = crate::Error;
    fn try_from(r: Repr) -> Result<Self> {
        if r.n_samples.checked_mul(r.n_features) != Some(r.data.len()) {
            return Err(err(format!(
                "{} values for {} samples of {} features",
                r.data.len(),
                r.n_samples,
                r.n_features
            )));
        }
        Ok(FeatureMatrix {
            n_samples: r.n_samples,
            n_features: r.n_features,
            data: r.data,
        })
    }
}

impl From<FeatureMatrix> for Repr {
    fn from(m: FeatureMatrix) -> Self {
        Repr {
            n_samples: m.n_samples,
            n_features: m.n_features,
            data: m.data,
        }
    }
}

impl FeatureMatrix {
    /// An empty matrix of rows of `n_features` values.
    pub fn new(n_features: usize) -> Self {
        Self::with_capacity(n_features, 0)
    }

    /// An empty matrix with room for `n_samples` rows.
    pub fn with_capacity(n_features: usize, n_samples: usize) -> Self {
        FeatureMatrix {
            n_samples: 0,
            n_features,
            data: Vec::with_capacity(n_features * n_samples),
        }
    }

    /// Wraps row-major `data`; its length must be a multiple of `n_features ≥ 1`.
    ///
    /// ```
    /// use astroglia::readout::FeatureMatrix;
    /// let x = FeatureMatrix::from_vec(2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// assert_eq!(x.row(1), &[3.0, 4.0]);
    /// assert!(FeatureMatrix::from_vec(3, vec![1.0; 4]).is_err());
    /// ```
    pub fn from_vec(n_features: usize, data: Vec<f32>) -> Result<Self> {
        if n_features == 0 || data.len() % n_features != 0 {
            return Err(err(format!(
                "{} values do not make rows of {} features",
                data.len(),
                n_features
            )));
        }
        Ok(FeatureMatrix {
            n_samples: data.len() / n_features,
            n_features,
            data,
        })
    }

    /// Stacks equal-length rows.
    ///
    /// ```
    /// use astroglia::readout::FeatureMatrix;
    /// let x = FeatureMatrix::from_rows(&[[1.0, 2.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(x.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn from_rows<R: AsRef<[f32]>>(rows: &[R]) -> Result<Self> {
        let n_features = rows.first().map_or(0, |r| r.as_ref().len());
        let mut m = Self::with_capacity(n_features, rows.len());
        for r in rows {
            m.push_row(r.as_ref())?;
        }
        Ok(m)
    }

    /// Appends one sample.
    pub fn push_row(&mut self, row: &[f32]) -> Result<()> {
        if row.len() != self.n_features {
            return Err(err(format!(
                "a row of {} values for a matrix of {} features",
                row.len(),
                self.n_features
            )));
        }
        self.data.extend_from_slice(row);
        self.n_samples += 1;
        Ok(())
    }

    /// Appends a row of zeros and returns it for filling in place.
    pub fn push_zeroed(&mut self) -> &mut [f32] {
        let start = self.data.len();
        self.data.resize(start + self.n_features, 0.0);
        self.n_samples += 1;
        &mut self.data[start..]
    }

    /// Number of rows.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of columns.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Row `i`; panics if `i ≥ n_samples()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Row `i`, mutable; panics if `i ≥ n_samples()`.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Entry (`sample`, `feature`); panics out of range, like slice indexing.
    pub fn get(&self, sample: usize, feature: usize) -> f32 {
        assert!(feature < self.n_features, "feature {feature} out of range");
        self.data[sample * self.n_features + feature]
    }

    /// Rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        let n = self.n_features.max(1);
        self.data.chunks_exact(n).take(self.n_samples)
    }

    /// Rows in order, mutable.
    pub fn rows_mut(&mut self) -> impl ExactSizeIterator<Item = &mut [f32]> {
        let n = self.n_features.max(1);
        let rows = self.n_samples;
        self.data.chunks_exact_mut(n).take(rows)
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// All values, row-major, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The rows `indices`, in that order (a subset, or a permutation).
    ///
    /// ```
    /// use astroglia::readout::FeatureMatrix;
    /// let x = FeatureMatrix::from_rows(&[[1.0], [2.0], [3.0]]).unwrap();
    /// assert_eq!(x.select_rows(&[2, 0]).unwrap().as_slice(), &[3.0, 1.0]);
    /// assert!(x.select_rows(&[3]).is_err());
    /// ```
    pub fn select_rows(&self, indices: &[usize]) -> Result<Self> {
        let mut m = Self::with_capacity(self.n_features, indices.len());
        for &i in indices {
            if i >= self.n_samples {
                return Err(err(format!(
                    "row {i} out of range for {} samples",
                    self.n_samples
                )));
            }
            m.push_row(self.row(i))?;
        }
        Ok(m)
    }

    /// Errors on the first NaN or infinite value, naming its sample and feature.
    pub fn check_finite(&self) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(at) => Err(err(format!(
                "feature {} of sample {} is {}",
                at % self.n_features,
                at / self.n_features,
                self.data[at]
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_and_inconsistent_input_is_refused() {
        let x = FeatureMatrix::from_rows(&[[1.0, 2.0], [3.0, 4.0]]).unwrap();
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(serde_json::from_str::<FeatureMatrix>(&json).unwrap(), x);
        let bad = r#"{"n_samples":3,"n_features":2,"data":[1.0,2.0,3.0,4.0]}"#;
        let e = serde_json::from_str::<FeatureMatrix>(bad).unwrap_err();
        assert!(
            e.to_string()
                .contains("4 values for 3 samples of 2 features"),
            "{e}"
        );
    }

    #[test]
    fn check_finite_names_the_first_bad_value() {
        let mut x = FeatureMatrix::from_rows(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).unwrap();
        assert!(x.check_finite().is_ok());
        x.row_mut(1)[2] = f32::INFINITY;
        assert_eq!(
            x.check_finite().unwrap_err().to_string(),
            "readout: feature 2 of sample 1 is inf"
        );
    }
}
