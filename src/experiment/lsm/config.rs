//! The experiment file (`astroglia experiment EXPERIMENT.toml`): which network,
//! data, encoding, phases and readout. Every field, its default and its meaning.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::experiment::compare::RuleTable;
use crate::{Error, Result};

/// A liquid-state-machine experiment.
///
/// ```
/// let exp = astroglia::experiment::lsm::Experiment::parse(r#"
///     model = "digits_liquid.toml"
///     [data]
///     source = "digits"
///     [input]
///     population = "input"
///     [features]
///     populations = ["exc", "inh"]
/// "#, "exp.toml").unwrap();
/// assert_eq!(exp.input.sample_ms, 250.0);
/// assert_eq!(exp.readout.kind, astroglia::experiment::lsm::ReadoutKind::Softmax);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name (default: the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// The network's model file, relative to the experiment file.
    pub model: PathBuf,
    /// Seed of the network, the encoders, the splits and the readout (default 1).
    #[serde(default = "one")]
    pub seed: u64,
    /// Samples simulated together as instances of one batch (default 8).
    #[serde(default = "eight")]
    pub batch: usize,
    /// Where the samples come from.
    pub data: DataSpec,
    /// How a sample becomes input spikes.
    pub input: InputSpec,
    /// NALSM's initialisation phase (absent: none).
    #[serde(default)]
    pub init: Option<InitSpec>,
    /// The feature phase.
    pub features: FeatureSpec,
    /// The classifier on the features.
    #[serde(default)]
    pub readout: ReadoutSpecFile,
    /// Branching factor over the first feature-phase samples (default on, 20).
    #[serde(default = "twenty")]
    pub branching_samples: usize,
    /// Variants of the network's plasticity, each run through the whole pipeline
    /// on the same liquid and data and compared (absent: one plain run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantSpec>,
    /// The file this experiment was read from: errors found later name it.
    #[serde(skip)]
    pub source: Option<String>,
}

/// One plasticity variant of an experiment (`[[variants]]`): the model with some
/// projections' rules replaced. Connectivity, initial weights, inputs and seeds
/// stay the same, so only the plasticity differs.
///
/// ```
/// let exp = astroglia::experiment::lsm::Experiment::parse(r#"
///     model = "digits_nalsm_liquid.toml"
///     data = { source = "digits" }
///     input = { population = "input" }
///     features = { populations = ["exc", "inh"] }
///     [[variants]]
///     name = "static"
///     plasticity = { "*" = { none = {} } }
///     [[variants]]
///     name = "stdp"
///     astrocytes = false
/// "#, "exp.toml").unwrap();
/// assert_eq!(exp.variants.len(), 2);
/// assert!(!exp.variants[1].astrocytes);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Name: the output subdirectory and the row in `comparison.json`.
    pub name: String,
    /// Rule per projection name (a table with one key: `none = {}`, `stdp`,
    /// `triplet`, `nalsm`, `reward_stdp`, `delta` or `user`); `"*"` gives the rule of
    /// every projection not named. Projections not covered keep the model's rule.
    #[serde(default)]
    pub plasticity: std::collections::BTreeMap<String, RuleTable>,
    /// Keep the model's astrocytes (default true); `false` removes them, so
    /// NALSM rules run with their fixed depression rate.
    #[serde(default = "yes")]
    pub astrocytes: bool,
}

/// The dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// `digits` (the 1797 8×8 images built in), `idx` (MNIST / Fashion-MNIST
    /// files in `path`), `nmnist` (a `Train`/`Test` tree at `path`) or `shd`
    /// (`path` holding `shd_train.h5` and `shd_test.h5`).
    pub source: DataSource,
    /// Directory of the files (`--data` overrides it; relative to the experiment
    /// file).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Fraction held out as the test set when the source has no test split
    /// (digits; default 0.2, stratified).
    #[serde(default = "point_two")]
    pub test_fraction: f64,
    /// Fraction of the training samples held out for validation (default 0.2,
    /// stratified).
    #[serde(default = "point_two")]
    pub val_fraction: f64,
    /// Use at most this many training (train + validation) samples, the first in
    /// file order (default all).
    #[serde(default)]
    pub max_train: Option<usize>,
    /// Use at most this many test samples (default all).
    #[serde(default)]
    pub max_test: Option<usize>,
    /// Skip samples that fail to load, with a warning, instead of stopping.
    #[serde(default)]
    pub skip_bad: bool,
}

/// Dataset kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The built-in digits.
    Digits,
    /// IDX image and label files.
    Idx,
    /// An N-MNIST directory tree.
    Nmnist,
    /// SHD HDF5 files.
    Shd,
}

/// Input encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// The spike-source population receiving channel `k` as neuron `k`.
    pub population: String,
    /// `nalsm_rate` (images; default), `poisson`, `latency` or `events`.
    #[serde(default)]
    pub encoding: EncodingKind,
    /// Rate of a full-intensity pixel for `poisson`, Hz (default 100).
    #[serde(default = "hundred")]
    pub max_rate_hz: f64,
    /// Intensity threshold of `latency` (default 0).
    #[serde(default)]
    pub threshold: f32,
    /// Length of a feature-phase sample, ms (default 250).
    #[serde(default = "two_fifty")]
    pub sample_ms: f64,
}

/// Encoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodingKind {
    /// NALSM's Bernoulli rate code (L1 then set-max normalisation).
    #[default]
    NalsmRate,
    /// Poisson rate code.
    Poisson,
    /// One spike per channel, brighter earlier.
    Latency,
    /// Events binned to the step.
    Events,
}

/// NALSM's initialisation phase: samples presented briefly with plasticity on,
/// weights carried over from sample to sample, astrocytes without decay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitSpec {
    /// Training samples presented, drawn without replacement in seeded order.
    pub samples: usize,
    /// Presentation per sample, ms (default 20).
    #[serde(default = "twenty_f")]
    pub sample_ms: f64,
}

/// The feature phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Populations read out, in feature order.
    pub populations: Vec<String>,
    /// Time bins per sample: 1 gives spike counts (default 1).
    #[serde(default = "one_u")]
    pub bins: usize,
    /// Reset plastic weights to their post-init values before every sample
    /// (NALSM; default true).
    #[serde(default = "yes")]
    pub reset_weights: bool,
    /// Astrocyte per-step decay during this phase (NALSM 0.99; default: the
    /// model's).
    #[serde(default)]
    pub astrocyte_decay: Option<f64>,
}

/// The readout as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutSpecFile {
    /// `softmax` (NALSM's: Adadelta, soft targets, best-validation epoch;
    /// default) or `ridge` (closed form, λ chosen on validation).
    #[serde(default)]
    pub kind: ReadoutKind,
    /// Normalisation: `nalsm` (per-sample L1, then minibatch max; default),
    /// `zscore` or `none`.
    #[serde(default)]
    pub normalisation: NormKind,
    /// Softmax epochs, the best validation epoch kept (default 200).
    #[serde(default = "two_hundred")]
    pub epochs: usize,
    /// Softmax minibatch (default 250).
    #[serde(default = "two_fifty_u")]
    pub batch_size: usize,
    /// Softmax learning rates tried (default `[0.1]`, NALSM's).
    #[serde(default = "nalsm_lr")]
    pub learning_rates: Vec<f32>,
    /// Ridge penalties tried (default `[1e-3, 1e-2, 0.1, 1, 10, 100]`).
    #[serde(default = "lambdas")]
    pub lambdas: Vec<f64>,
}

impl Default for ReadoutSpecFile {
    fn default() -> Self {
        ReadoutSpecFile {
            kind: ReadoutKind::default(),
            normalisation: NormKind::default(),
            epochs: two_hundred(),
            batch_size: two_fifty_u(),
            learning_rates: nalsm_lr(),
            lambdas: lambdas(),
        }
    }
}

/// Classifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadoutKind {
    /// Softmax regression.
    #[default]
    Softmax,
    /// Ridge regression.
    Ridge,
}

/// Feature normalisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// NALSM's.
    #[default]
    Nalsm,
    /// Per feature, fitted on the training set.
    Zscore,
    /// None.
    None,
}

fn one() -> u64 {
    1
}
fn one_u() -> usize {
    1
}
fn eight() -> usize {
    8
}
fn twenty() -> usize {
    20
}
fn twenty_f() -> f64 {
    20.0
}
fn point_two() -> f64 {
    0.2
}
fn hundred() -> f64 {
    100.0
}
fn two_fifty() -> f64 {
    250.0
}
fn two_fifty_u() -> usize {
    250
}
fn two_hundred() -> usize {
    200
}
fn yes() -> bool {
    true
}
fn nalsm_lr() -> Vec<f32> {
    vec![0.1]
}
fn lambdas() -> Vec<f64> {
    vec![1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
}

impl Experiment {
    /// Reads and checks an experiment file; errors name the file, line and field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::input_file::read_text(path)?;
        let mut exp = Self::parse(&text, &path.display().to_string())?;
        exp.source = Some(path.display().to_string());
        if exp.name.is_none() {
            exp.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(exp)
    }

    /// The file the experiment was read from, or `<experiment>`.
    pub fn source_name(&self) -> &str {
        self.source.as_deref().unwrap_or("<experiment>")
    }

    /// An error in `field` found after parsing (against the model or the data),
    /// naming the experiment file.
    pub fn issue(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Experiment {
            source_name: self.source_name().into(),
            issues: vec![crate::error::ModelIssue {
                line: None,
                column: None,
                field: field.into(),
                message: message.into(),
            }],
        }
    }

    /// Parses and checks experiment TOML; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self> {
        crate::model::parse::parse_checked(text, Experiment::problems).map_err(|issues| {
            Error::Experiment {
                source_name: source_name.to_string(),
                issues,
            }
        })
    }

    /// Every value out of range, as `(field, message)`.
    fn problems(&self) -> Vec<(String, String)> {
        let mut p = vec![];
        let mut check = |ok: bool, field: &str, msg: String| {
            if !ok {
                p.push((field.to_string(), msg));
            }
        };
        check(
            self.batch >= 1,
            "batch",
            format!("must be at least 1, got {}", self.batch),
        );
        let frac = |x: f64| x > 0.0 && x < 1.0;
        check(
            frac(self.data.test_fraction),
            "data.test_fraction",
            format!("must be in (0, 1), got {}", self.data.test_fraction),
        );
        check(
            frac(self.data.val_fraction),
            "data.val_fraction",
            format!("must be in (0, 1), got {}", self.data.val_fraction),
        );
        let ms = |x: f64| x.is_finite() && x > 0.0;
        check(
            ms(self.input.sample_ms),
            "input.sample_ms",
            format!(
                "must be a positive time in ms, got {}",
                self.input.sample_ms
            ),
        );
        check(
            self.input.max_rate_hz.is_finite() && self.input.max_rate_hz > 0.0,
            "input.max_rate_hz",
            format!("must be positive, got {}", self.input.max_rate_hz),
        );
        if let Some(init) = &self.init {
            check(
                ms(init.sample_ms),
                "init.sample_ms",
                format!("must be a positive time in ms, got {}", init.sample_ms),
            );
        }
        check(
            !self.features.populations.is_empty(),
            "features.populations",
            "must name at least one population".into(),
        );
        check(
            self.features.bins >= 1,
            "features.bins",
            format!("must be at least 1, got {}", self.features.bins),
        );
        if let Some(d) = self.features.astrocyte_decay {
            check(
                d > 0.0 && d <= 1.0,
                "features.astrocyte_decay",
                format!("must be in (0, 1], got {d}"),
            );
        }
        let r = &self.readout;
        check(
            r.epochs >= 1,
            "readout.epochs",
            format!("must be at least 1, got {}", r.epochs),
        );
        check(
            r.batch_size >= 1,
            "readout.batch_size",
            format!("must be at least 1, got {}", r.batch_size),
        );
        check(
            !r.learning_rates.is_empty()
                && r.learning_rates.iter().all(|&x| x.is_finite() && x > 0.0),
            "readout.learning_rates",
            format!("must be positive numbers, got {:?}", r.learning_rates),
        );
        check(
            !r.lambdas.is_empty() && r.lambdas.iter().all(|&x| x.is_finite() && x >= 0.0),
            "readout.lambdas",
            format!("must be numbers >= 0, got {:?}", r.lambdas),
        );
        for (i, v) in self.variants.iter().enumerate() {
            let f = format!("variants[{i}]");
            let name_ok = !v.name.trim().is_empty()
                && !v.name.contains(['/', '\\'])
                && v.name != "."
                && v.name != ".."
                && v.name != "cache";
            check(
                name_ok,
                &format!("{f}.name"),
                format!(
                    "must be a non-empty directory name other than 'cache', got '{}'",
                    v.name
                ),
            );
            check(
                !self.variants[..i].iter().any(|w| w.name == v.name),
                &format!("{f}.name"),
                format!("duplicate variant name '{}'", v.name),
            );
            for (proj, table) in &v.plasticity {
                if let Err(problems) = table.rule() {
                    // A user rule's model is found in the model file, read later.
                    let unresolved = table.user.as_ref().is_some_and(|u| u.spec.is_none());
                    for (field, message) in problems {
                        if unresolved && field == "user.model" {
                            continue;
                        }
                        let base = format!("{f}.plasticity.{proj}");
                        let field = if field.is_empty() {
                            base
                        } else {
                            format!("{base}.{field}")
                        };
                        check(false, &field, message);
                    }
                }
            }
        }
        p
    }
}
