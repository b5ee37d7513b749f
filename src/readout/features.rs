//! Features of one sample's spikes: counts per neuron, time-binned counts and
//! exponentially filtered traces, written into one row of a [`FeatureMatrix`].
//!
//! A sample's spikes are `(step, neuron id)` pairs in any order, e.g.
//! `spikes.iter().map(|s| (s.step, s.id))` over a backend's
//! [`Spike`](crate::backend::Spike)s. A [`Window`] picks the readout neurons
//! and the sample's steps; spikes outside it are skipped, so the whole network's
//! record of a run may be passed once per sample.
use super::{FeatureMatrix, err};
use crate::Result;
use serde::{Deserialize, Serialize};

/// The neurons and steps one sample's features are read from: neuron ids
/// `first_neuron .. first_neuron + n_neurons`, steps `first_step .. first_step + n_steps`.
/// Feature times are local: step `first_step` is local step 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First readout neuron id.
    pub first_neuron: u32,
    /// Number of readout neurons (≥ 1).
    pub n_neurons: u32,
    /// First step of the sample.
    pub first_step: u32,
    /// Steps in the sample (≥ 1).
    pub n_steps: u32,
}

/// One block of features; an extractor concatenates its blocks in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeatureKind {
    /// Spikes of each neuron in the window: `n_neurons` values. NALSM's feature.
    Counts,
    /// Spikes of each neuron per time bin: `n_bins × n_neurons` values, bin-major
    /// (feature `bin · n_neurons + neuron`). Local step `s` falls in bin
    /// `⌊s · n_bins / n_steps⌋`, so bins are equal when `n_bins` divides `n_steps`.
    Binned {
        /// Number of bins, `1 ..= n_steps`.
        n_bins: u32,
    },
    /// Exponentially filtered spike trains read at given local steps:
    /// `x_i(t) = Σ_{spikes s of i, s ≤ t} exp(−(t − s)/tau)` (a spike counts 1 in
    /// its own step), `at_steps.len() × n_neurons` values, sample-major.
    Trace {
        /// Time constant in steps (> 0).
        tau_steps: f64,
        /// Local steps at which the traces are read (each `< n_steps`).
        at_steps: Vec<u32>,
    },
}

impl FeatureKind {
    /// A trace read at the end of every `every` steps: local steps
    /// `every − 1, 2·every − 1, …` below `n_steps`.
    ///
    /// ```
    /// use astroglia::readout::FeatureKind;
    /// let k = FeatureKind::trace_every(20.0, 50, 250);
    /// assert_eq!(k, FeatureKind::Trace { tau_steps: 20.0, at_steps: vec![49, 99, 149, 199, 249] });
    /// ```
    pub fn trace_every(tau_steps: f64, every: u32, n_steps: u32) -> Self {
        let every = every.max(1);
        FeatureKind::Trace {
            tau_steps,
            at_steps: (1..=n_steps / every).map(|j| j * every - 1).collect(),
        }
    }
}

/// Turns one sample's spikes into one feature row.
///
/// ```
/// use astroglia::readout::{FeatureExtractor, FeatureKind, Window};
/// let window = Window { first_neuron: 0, n_neurons: 2, first_step: 100, n_steps: 10 };
/// let fx = FeatureExtractor::new(window, vec![
///     FeatureKind::Counts,
///     FeatureKind::Binned { n_bins: 2 },
///     FeatureKind::Trace { tau_steps: 2.0, at_steps: vec![9] },
/// ]).unwrap();
/// assert_eq!(fx.n_features(), 2 + 4 + 2);
/// // neuron 0 spikes at local steps 1 and 9, neuron 1 at 6; id 7 is outside the window.
/// let row = fx.extract([(101, 0), (106, 1), (109, 0), (105, 7)]).unwrap();
/// assert_eq!(&row[..6], &[2.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
/// assert!((row[6] - (1.0 + (-4.0f32).exp())).abs() < 1e-6);
/// assert!((row[7] - (-1.5f32).exp()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureExtractor {
    window: Window,
    kinds: Vec<FeatureKind>,
    /// Per kind: first feature column, and for traces `exp(−d/tau)` for d = 0..n_steps.
    blocks: Vec<(usize, Vec<f32>)>,
    n_features: usize,
}

impl FeatureExtractor {
    /// Checks the window and every kind.
    pub fn new(window: Window, kinds: Vec<FeatureKind>) -> Result<Self> {
        if window.n_neurons == 0 || window.n_steps == 0 {
            return Err(err(format!(
                "a feature window needs neurons and steps (got {} neurons, {} steps)",
                window.n_neurons, window.n_steps
            )));
        }
        if window.first_neuron.checked_add(window.n_neurons).is_none()
            || window.first_step.checked_add(window.n_steps).is_none()
        {
            return Err(err("the feature window ends past u32::MAX"));
        }
        if kinds.is_empty() {
            return Err(err("no feature kinds"));
        }
        let n = window.n_neurons as usize;
        let mut blocks = Vec::with_capacity(kinds.len());
        let mut at = 0usize;
        for kind in &kinds {
            let (width, table) = match kind {
                FeatureKind::Counts => (n, Vec::new()),
                FeatureKind::Binned { n_bins } => {
                    if *n_bins == 0 || *n_bins > window.n_steps {
                        return Err(err(format!(
                            "n_bins = {n_bins} must be in 1..={} (the window's steps)",
                            window.n_steps
                        )));
                    }
                    (*n_bins as usize * n, Vec::new())
                }
                FeatureKind::Trace {
                    tau_steps,
                    at_steps,
                } => {
                    if !(*tau_steps > 0.0 && tau_steps.is_finite()) {
                        return Err(err(format!(
                            "trace tau_steps = {tau_steps} must be positive and finite"
                        )));
                    }
                    if at_steps.is_empty() {
                        return Err(err("a trace needs at least one step to read it at"));
                    }
                    if let Some(t) = at_steps.iter().find(|&&t| t >= window.n_steps) {
                        return Err(err(format!(
                            "trace read at local step {t}, past the window's {} steps",
                            window.n_steps
                        )));
                    }
                    let table = (0..window.n_steps)
                        .map(|d| (-(d as f64) / tau_steps).exp() as f32)
                        .collect();
                    (at_steps.len() * n, table)
                }
            };
            blocks.push((at, table));
            at += width;
        }
        Ok(FeatureExtractor {
            window,
            kinds,
            blocks,
            n_features: at,
        })
    }

    /// The window read.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The feature blocks, in column order.
    pub fn kinds(&self) -> &[FeatureKind] {
        &self.kinds
    }

    /// Width of one feature row.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// An empty feature matrix of the right width.
    pub fn matrix(&self) -> FeatureMatrix {
        FeatureMatrix::new(self.n_features)
    }

    /// Writes one sample's features into `row` (overwritten; length `n_features()`).
    pub fn extract_into<I>(&self, spikes: I, row: &mut [f32]) -> Result<()>
    where
        I: IntoIterator<Item = (u32, u32)>,
    {
        if row.len() != self.n_features {
            return Err(err(format!(
                "a feature row of {} values for {} features",
                row.len(),
                self.n_features
            )));
        }
        row.fill(0.0);
        let w = self.window;
        let n = w.n_neurons as usize;
        for (step, id) in spikes {
            let (Some(s), Some(i)) = (
                step.checked_sub(w.first_step),
                id.checked_sub(w.first_neuron),
            ) else {
                continue;
            };
            if s >= w.n_steps || i >= w.n_neurons {
                continue;
            }
            let i = i as usize;
            for (kind, (at, table)) in self.kinds.iter().zip(&self.blocks) {
                match kind {
                    FeatureKind::Counts => row[at + i] += 1.0,
                    FeatureKind::Binned { n_bins } => {
                        let bin = (s as u64 * *n_bins as u64 / w.n_steps as u64) as usize;
                        row[at + bin * n + i] += 1.0;
                    }
                    FeatureKind::Trace { at_steps, .. } => {
                        for (j, &t) in at_steps.iter().enumerate() {
                            if t >= s {
                                row[at + j * n + i] += table[(t - s) as usize];
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// One sample's features as a new vector.
    pub fn extract<I>(&self, spikes: I) -> Result<Vec<f32>>
    where
        I: IntoIterator<Item = (u32, u32)>,
    {
        let mut row = vec![0.0; self.n_features];
        self.extract_into(spikes, &mut row)?;
        Ok(row)
    }

    /// Appends one sample's features as a new row of `x`.
    pub fn push<I>(&self, spikes: I, x: &mut FeatureMatrix) -> Result<()>
    where
        I: IntoIterator<Item = (u32, u32)>,
    {
        if x.n_features() != self.n_features {
            return Err(err(format!(
                "a matrix of {} features for an extractor of {}",
                x.n_features(),
                self.n_features
            )));
        }
        self.extract_into(spikes, x.push_zeroed())
    }
}
