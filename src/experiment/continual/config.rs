//! The continual-learning experiment file (`astroglia continual EXPERIMENT.toml`):
//! data, task stream, network, learning rule, HLOP and which methods to run.
//! Every field, its default and its meaning.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::neuron::lif::{LifParams, SynapseKind};
use crate::{Error, Result};

/// A continual-learning experiment.
///
/// ```
/// let exp = astroglia::experiment::continual::Continual::parse(r#"
///     [data]
///     source = "digits"
///     [tasks]
///     count = 3
///     [hlop]
///     initial = [20, 40]
///     growth = [10, 20]
/// "#, "exp.toml").unwrap();
/// assert_eq!(exp.network.hidden, vec![100]);
/// assert_eq!(exp.methods.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Continual {
    /// Name (default: the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Seed of the split, permutations, encoders, weights and feedback (default 1).
    #[serde(default = "one")]
    pub seed: u64,
    /// Test (and HLOP activity) samples simulated together as instances of a batch
    /// (default 16).
    #[serde(default = "sixteen")]
    pub batch: usize,
    /// Methods to run, in order (default all: `hlop`, `sequential`, `multitask`).
    #[serde(default = "all_methods")]
    pub methods: Vec<Method>,
    /// Where the images come from.
    pub data: DataSpec,
    /// The task stream.
    pub tasks: TaskSpec,
    /// Input encoding and presentation.
    #[serde(default)]
    pub input: InputSpec,
    /// The spiking classifier.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The error-driven delta rule and the feedback to hidden layers.
    #[serde(default)]
    pub learning: LearningSpec,
    /// HLOP's lateral subspaces (used by the `hlop` method).
    pub hlop: HlopSpec,
}

/// Continual-learning methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Tasks in sequence; weight updates projected off earlier tasks' subspaces.
    Hlop,
    /// Tasks in sequence, plain updates (the forgetting baseline).
    Sequential,
    /// All tasks' samples interleaved (the upper bound).
    Multitask,
}

impl Method {
    /// The name used in results.json.
    pub fn key(self) -> &'static str {
        match self {
            Method::Hlop => "hlop",
            Method::Sequential => "sequential",
            Method::Multitask => "multitask",
        }
    }
}

/// Image datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The 1797 built-in 8×8 digits (split into train and test by `test_fraction`).
    Digits,
    /// IDX files (MNIST, Fashion-MNIST) in `path`, with their own test set.
    Idx,
}

/// The dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// `digits` or `idx`.
    pub source: DataSource,
    /// Directory of IDX files (`--data` overrides it; relative to the experiment file).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Fraction of the digits held out for testing (default 0.2).
    #[serde(default = "point_two")]
    pub test_fraction: f64,
}

/// Kinds of task stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Every task has every class; task t shows the pixels in a fixed seeded
    /// permutation (one shared output layer).
    #[default]
    Permuted,
    /// Task t has classes `t·classes_per_task ..`; each task is scored on its own
    /// classes' outputs (multi-head).
    ClassSplit,
}

/// The task stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// `permuted` (default) or `class_split`.
    #[serde(default)]
    pub kind: TaskKind,
    /// Number of tasks.
    pub count: usize,
    /// Permute task 0 too (default false: task 0 sees the images as they are).
    #[serde(default)]
    pub permute_first: bool,
    /// Classes per task of `class_split` (default 2).
    #[serde(default = "two")]
    pub classes_per_task: usize,
    /// Training samples per task, the first of a seeded shuffle (default all).
    #[serde(default)]
    pub train_samples: Option<usize>,
    /// Test samples per task (default all).
    #[serde(default)]
    pub test_samples: Option<usize>,
    /// Passes over a task's training samples (default 1).
    #[serde(default = "one_usize")]
    pub epochs: usize,
}

/// Input encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputSpec {
    /// Rate of a full-intensity pixel, Hz (default 200).
    pub max_rate_hz: f64,
    /// Presentation of one sample, ms (default 30).
    pub sample_ms: f64,
    /// `poisson` (default: independent spikes) or `regular` (the same rates, spikes
    /// evenly spaced from a random phase, so counts barely vary between
    /// presentations).
    pub coding: InputCoding,
}

/// How pixel intensities become input spikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputCoding {
    /// [`crate::data::encode::poisson`].
    #[default]
    Poisson,
    /// [`crate::data::encode::regular`].
    Regular,
}

impl Default for InputSpec {
    fn default() -> Self {
        InputSpec {
            max_rate_hz: 200.0,
            sample_ms: 30.0,
            coding: InputCoding::Poisson,
        }
    }
}

/// The classifier: input spike sources → hidden LIF layers → output LIF layer,
/// all-to-all, every projection trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSpec {
    /// Time step, ms (default 1).
    pub dt_ms: f64,
    /// Hidden layer sizes (default `[100]`).
    pub hidden: Vec<usize>,
    /// Initial weight standard deviation times `sqrt(n_pre)`, mV, per projection
    /// (input → first hidden first; one value is used for all; default `[60]`).
    pub init_gain_mv: Vec<f64>,
    /// Weights are clipped to `[-w_bound_mv, w_bound_mv]` (default 20).
    pub w_bound_mv: f64,
    /// The neurons of hidden and output layers (default: LIF with delta synapses,
    /// τm 10 ms, 15 mV from rest to threshold, 1 ms refractory).
    pub neuron: LifParams,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            dt_ms: 1.0,
            hidden: vec![100],
            init_gain_mv: vec![60.0],
            w_bound_mv: 20.0,
            neuron: LifParams {
                synapse: SynapseKind::Delta,
                t_ref_ms: 1.0,
                ..Default::default()
            },
        }
    }
}

/// Error feedback to hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// A fixed random matrix B (feedback alignment).
    #[default]
    Alignment,
    /// The signs of the current forward weights (sign-symmetric feedback).
    SignSymmetric,
}

/// The delta rule and its errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearningSpec {
    /// Learning rate per projection (one value is used for all; default `[0.002]`).
    pub lr: Vec<f64>,
    /// Presynaptic trace time constant, ms (default 10).
    pub trace_tau_ms: f64,
    /// Output rate of the target class, spikes per step; others aim at 0 (default 0.2).
    pub target_rate: f64,
    /// Steps at the start of a sample without updates, ms (default 10).
    pub warmup_ms: f64,
    /// The errors are recomputed from the spike counts so far every this many ms
    /// (default 5; one step gives per-step updates).
    pub update_every_ms: f64,
    /// `alignment` (default) or `sign_symmetric`.
    pub feedback: Feedback,
    /// Gates a hidden neuron's error by whether it has spiked in the sample (the
    /// derivative of a rectifying unit; default true).
    pub gate_hidden: bool,
}

impl Default for LearningSpec {
    fn default() -> Self {
        LearningSpec {
            lr: vec![0.002],
            trace_tau_ms: 10.0,
            target_rate: 0.2,
            warmup_ms: 10.0,
            update_every_ms: 5.0,
            feedback: Feedback::Alignment,
            gate_hidden: true,
        }
    }
}

/// HLOP's lateral subspaces, one per trained projection (input → first hidden
/// first): `initial[l]` rows for task 0, `growth[l]` more at each later task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HlopSpec {
    /// Rows of each projection's subspace for task 0.
    pub initial: Vec<usize>,
    /// Rows added at each later task.
    pub growth: Vec<usize>,
    /// Hebbian learning rate (default 0.05; activity is scaled to unit mean
    /// square norm per task, so this is per unit energy).
    #[serde(default = "point_o_five")]
    pub lr: f32,
    /// Momentum (default 0.9).
    #[serde(default = "point_nine")]
    pub momentum: f32,
    /// Hebbian iterations per minibatch (default 5).
    #[serde(default = "five")]
    pub iterations: u32,
    /// Training samples of a task whose activity trains its subspace (default 500).
    #[serde(default = "five_hundred")]
    pub samples: usize,
    /// Passes over those samples (default 20).
    #[serde(default = "twenty")]
    pub epochs: usize,
    /// Minibatch size of the Hebbian updates (default 50).
    #[serde(default = "fifty")]
    pub batch: usize,
}

fn one() -> u64 {
    1
}
fn one_usize() -> usize {
    1
}
fn two() -> usize {
    2
}
fn five() -> u32 {
    5
}
fn sixteen() -> usize {
    16
}
fn twenty() -> usize {
    20
}
fn fifty() -> usize {
    50
}
fn five_hundred() -> usize {
    500
}
fn point_two() -> f64 {
    0.2
}
fn point_o_five() -> f32 {
    0.05
}
fn point_nine() -> f32 {
    0.9
}
fn all_methods() -> Vec<Method> {
    vec![Method::Hlop, Method::Sequential, Method::Multitask]
}

impl Continual {
    /// Reads and checks an experiment file; errors name the file, line and field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::input_file::read_text(path)?;
        let mut exp = Self::parse(&text, &path.display().to_string())?;
        if exp.name.is_none() {
            exp.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(exp)
    }

    /// Parses and checks experiment TOML; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self> {
        crate::model::parse::parse_checked(text, Continual::problems).map_err(|issues| {
            Error::Experiment {
                source_name: source_name.to_string(),
                issues,
            }
        })
    }

    /// Trained projections: one per hidden layer plus the output layer.
    pub fn n_projections(&self) -> usize {
        self.network.hidden.len() + 1
    }

    /// Value `l` of a per-projection list (a single value applies to all).
    pub fn per_projection<T: Copy>(list: &[T], l: usize) -> T {
        if list.len() == 1 { list[0] } else { list[l] }
    }

    /// Every value out of range, as `(field, message)`.
    fn problems(&self) -> Vec<(String, String)> {
        let mut p = vec![];
        let mut check = |ok: bool, field: &str, msg: String| {
            if !ok {
                p.push((field.to_string(), msg));
            }
        };
        let n_proj = self.n_projections();
        let pos = |x: f64| x.is_finite() && x > 0.0;
        check(
            self.batch >= 1,
            "batch",
            format!("must be at least 1, got {}", self.batch),
        );
        check(
            !self.methods.is_empty(),
            "methods",
            "must name at least one of hlop, sequential, multitask".into(),
        );
        let d = &self.data;
        check(
            d.test_fraction > 0.0 && d.test_fraction < 1.0,
            "data.test_fraction",
            format!("must be in (0, 1), got {}", d.test_fraction),
        );
        let t = &self.tasks;
        check(
            t.count >= 1,
            "tasks.count",
            format!("must be at least 1, got {}", t.count),
        );
        check(
            t.epochs >= 1,
            "tasks.epochs",
            format!("must be at least 1, got {}", t.epochs),
        );
        check(
            t.classes_per_task >= 1,
            "tasks.classes_per_task",
            format!("must be at least 1, got {}", t.classes_per_task),
        );
        for (f, v) in [
            ("tasks.train_samples", t.train_samples),
            ("tasks.test_samples", t.test_samples),
        ] {
            check(
                v != Some(0),
                f,
                "must be at least 1 (leave it out for all)".into(),
            );
        }
        check(
            pos(self.input.max_rate_hz)
                && self.input.max_rate_hz * self.network.dt_ms / 1000.0 <= 1.0,
            "input.max_rate_hz",
            format!(
                "must be positive with max_rate_hz * dt_ms / 1000 <= 1, got {}",
                self.input.max_rate_hz
            ),
        );
        let n = &self.network;
        if let Err(e) = crate::model::sample_steps(self.input.sample_ms, n.dt_ms) {
            check(false, "input.sample_ms", e);
        }
        check(
            pos(n.dt_ms),
            "network.dt_ms",
            format!("must be a positive time in ms, got {}", n.dt_ms),
        );
        check(
            n.hidden.iter().all(|&h| h >= 1),
            "network.hidden",
            format!("sizes must be at least 1, got {:?}", n.hidden),
        );
        let list_ok = |len: usize| len == 1 || len == n_proj;
        check(
            list_ok(n.init_gain_mv.len())
                && n.init_gain_mv.iter().all(|&g| g.is_finite() && g >= 0.0),
            "network.init_gain_mv",
            format!(
                "must be one value >= 0 or one per trained projection ({n_proj}), got {:?}",
                n.init_gain_mv
            ),
        );
        check(
            pos(n.w_bound_mv),
            "network.w_bound_mv",
            format!("must be positive, got {}", n.w_bound_mv),
        );
        if let Some((f, m)) = n.neuron.check().into_iter().next() {
            check(false, &format!("network.neuron.{f}"), m);
        }
        let l = &self.learning;
        check(
            list_ok(l.lr.len()) && l.lr.iter().all(|&x| pos(x)),
            "learning.lr",
            format!(
                "must be one positive value or one per trained projection ({n_proj}), got {:?}",
                l.lr
            ),
        );
        for (f, v) in [
            ("learning.trace_tau_ms", l.trace_tau_ms),
            ("learning.target_rate", l.target_rate),
            ("learning.update_every_ms", l.update_every_ms),
        ] {
            check(pos(v), f, format!("must be positive, got {v}"));
        }
        check(
            l.warmup_ms.is_finite() && l.warmup_ms >= 0.0 && l.warmup_ms < self.input.sample_ms,
            "learning.warmup_ms",
            format!(
                "must be in [0, input.sample_ms = {}), got {}",
                self.input.sample_ms, l.warmup_ms
            ),
        );
        let h = &self.hlop;
        for (f, v) in [("hlop.initial", &h.initial), ("hlop.growth", &h.growth)] {
            check(
                v.len() == n_proj,
                f,
                format!("needs one size per trained projection ({n_proj}), got {v:?}"),
            );
        }
        check(
            h.lr.is_finite() && h.lr > 0.0,
            "hlop.lr",
            format!("must be positive, got {}", h.lr),
        );
        check(
            (0.0..1.0).contains(&h.momentum),
            "hlop.momentum",
            format!("must be in [0, 1), got {}", h.momentum),
        );
        for (f, v) in [
            ("hlop.iterations", h.iterations as usize),
            ("hlop.samples", h.samples),
            ("hlop.epochs", h.epochs),
            ("hlop.batch", h.batch),
        ] {
            check(v >= 1, f, format!("must be at least 1, got {v}"));
        }
        p
    }
}
