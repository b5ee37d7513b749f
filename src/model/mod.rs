//! Network descriptions: populations, projections, inputs, grids and monitors.
//!
//! The same types are read from TOML model files ([`Network::from_toml_file`]) and
//! built in code, so the Rust API mirrors the file format field for field. Units:
//! time in ms, voltage in mV, conductance in nS, current in pA, capacitance in pF,
//! rates in Hz.
//!
//! ```
//! use astroglia::model::*;
//! let mut net = Network::new(0.1, 100.0);
//! net.add_population(Population::new("cells", 10, NeuronModel::Lif(LifParams::default())));
//! net.add_projection(Projection::new("cells", "cells", Connect::FixedProbability {
//!     p: 0.1, allow_self: false }).weight(50.0));
//! net.validate().unwrap();
//! ```
pub mod constants;
mod dist;
pub(crate) mod parse;
mod presets;
pub(crate) mod spans;
mod validate;
mod values;

pub use dist::Dist;
pub use parse::{parse_toml, parse_toml_with};

pub use crate::equations::{NeuronModelSpec, SynapseModelSpec};
pub use crate::neuron::registry::adex::AdExPreset;
pub use crate::neuron::registry::params::*;
pub use crate::neuron::{
    FixedPoint, InputOrder, IzhIntegration, IzhParam, IzhPreset, IzhikevichParams, LifCondParams,
    LifParams, LoihiSynapses, NeuronModel, PerNeuron, Rounding, SignMode, SynapseKind, UserNeuron,
};
pub use crate::plasticity::Plasticity;
pub use crate::plasticity::astrocyte::Astrocyte;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn default_dt() -> f64 {
    0.1
}
fn default_duration() -> f64 {
    1000.0
}
fn default_true() -> bool {
    true
}
fn default_one_u32() -> u32 {
    1
}
fn default_one_f64() -> f64 {
    1.0
}
fn default_weight() -> Dist {
    Dist::Const(1.0)
}

/// A whole network: the root of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Model name (defaults to the file stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Integration step in ms (default 0.1).
    #[serde(default = "default_dt")]
    pub dt_ms: f64,
    /// Default simulated time in ms (default 1000); the CLI can override it.
    #[serde(default = "default_duration")]
    pub duration_ms: f64,
    /// Seed for construction and per-step randomness (default 0); the CLI can override it.
    #[serde(default)]
    pub seed: u64,
    /// Neuron populations and spike sources, in global-id order.
    /// Named constants (`[constants] g = 5.0`): any numeric field may be an
    /// expression of them (`weight = "-g * J"`); `--set g=6` overrides one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub constants: BTreeMap<String, f64>,
    /// User-written neuron models (`[[neuron_models]]`), which populations
    /// name with `model = "name"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neuron_models: Vec<crate::equations::neuron::NeuronModelSpec>,
    /// User-written plasticity rules (`[[synapse_models]]`), which projections
    /// name with `plasticity = { user = { model = "name" } }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synapse_models: Vec<crate::equations::synapse::SynapseModelSpec>,
    #[serde(default)]
    pub populations: Vec<Population>,
    /// Synaptic projections between populations.
    #[serde(default)]
    pub projections: Vec<Projection>,
    /// Currents and Poisson drives injected into populations.
    #[serde(default)]
    pub inputs: Vec<Input>,
    /// 3-D grids that give neurons positions (for distance-dependent connectivity).
    #[serde(default)]
    pub grids: Vec<Grid>,
    /// Astrocytes modulating plastic projections (NALSM).
    #[serde(default)]
    pub astrocytes: Vec<Astrocyte>,
    /// What to record.
    #[serde(default)]
    pub monitors: Monitors,
    /// The NIR graph this model was imported from, by reference (the graph
    /// itself stays in its `.nir` file): the NIR export re-reads it and returns
    /// it bit for bit while the model still matches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nir: Option<NirSource>,
    /// The file this network was read from (`None` when built in code): errors
    /// found later, by validation or the build, name it.
    #[serde(skip)]
    pub source: Option<String>,
}

/// Where an imported NIR graph lives: its file and the SHA-256 of its content
/// (version, nodes, datasets' dtype, shape and bits, edges), which a re-read
/// file must still have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NirSource {
    /// The `.nir` file (absolute; absent when the graph was never read from or
    /// written to a file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<std::path::PathBuf>,
    /// Lowercase hex SHA-256 of the graph's content.
    pub sha256: String,
}

/// A group of identical-model neurons (or spike sources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "crate::neuron::registry::PopulationRaw",
    into = "crate::neuron::registry::PopulationRaw"
)]
#[non_exhaustive]
pub struct Population {
    /// Unique name.
    pub name: String,
    /// Number of neurons (at least 1).
    pub size: u32,
    /// The neuron model and its parameters.
    pub model: NeuronModel,
    /// Initial values of state variables (e.g. `v`, `u`, `ge`, `gi`), constants or distributions.
    pub init: BTreeMap<String, Dist>,
    /// Run a `lif` population in integer arithmetic with these bit widths
    /// (see [`FixedPoint`]); `None` (the default) runs it in f32.
    pub fixed_point: Option<FixedPoint>,
}

/// A synaptic projection from one population to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Projection {
    /// Optional name (defaults to `from->to`).
    #[serde(default)]
    pub name: Option<String>,
    /// Presynaptic population.
    pub from: String,
    /// Postsynaptic population.
    pub to: String,
    /// Connectivity rule.
    pub connect: Connect,
    /// Synaptic weight, in the projection's weight unit, which the target's
    /// synapses set: mV for delta-synapse LIF, pA for exponential-current LIF,
    /// AdEx and Izhikevich (raw current units), nS for conductance-based LIF,
    /// a user model's receptor unit. Default 1. The same unit holds for the
    /// `list` and `file` rules' weights, a plastic rule's bounds and steps,
    /// and [`crate::Simulator::set_weights`];
    /// [`crate::Simulator::synapses`] reports it as `weight_unit`.
    #[serde(default = "default_weight")]
    pub weight: Dist,
    /// Sign constraint applied (by clipping) to drawn weights. Default none.
    #[serde(default)]
    pub sign: Sign,
    /// Transmission delay in ms, rounded to whole steps; at least one step and at
    /// most [`MAX_DELAY_STEPS`] (a constant or uniform delay beyond is refused;
    /// the rare draws of an unbounded distribution beyond are cut there). Default
    /// one step.
    #[serde(default)]
    pub delay_ms: Option<Dist>,
    /// Receptor on the target: `exc` or `inh`. Default: `inh` when weights are all
    /// negative, else `exc`.
    #[serde(default)]
    pub receptor: Option<Receptor>,
    /// Plasticity rule (default none: static weights). Initial weights are clipped
    /// to the rule's bounds.
    #[serde(default)]
    pub plasticity: Option<Plasticity>,
    /// How the weights enter a `loihi_lif` target (Lava's bit-accurate
    /// `Dense`: weight exponent, weight bits, sign mode). Default: exponent 0,
    /// 8 bits, sign mode from the weights. Only for `loihi_lif` targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loihi: Option<crate::neuron::LoihiSynapses>,
}

/// Sign constraint on drawn weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    /// Keep drawn values as they are.
    #[default]
    Any,
    /// Clip to >= 0.
    Positive,
    /// Clip to <= 0.
    Negative,
}

/// Which synaptic input channel of the target a projection feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Receptor {
    /// Excitatory channel (index 0).
    Exc,
    /// Inhibitory channel (index 1).
    Inh,
}

/// Connectivity rules. Indices are local to each population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Connect {
    /// Every pre to every post.
    AllToAll {
        /// Keep i→i when `from == to` (default true).
        #[serde(default = "default_true")]
        allow_self: bool,
    },
    /// Pre i to post i (sizes must match).
    OneToOne {},
    /// Each ordered pair independently with probability `p`.
    FixedProbability {
        /// Connection probability in \[0, 1\].
        p: f64,
        /// Keep i→i when `from == to` (default false).
        #[serde(default)]
        allow_self: bool,
    },
    /// Each post neuron receives exactly `k` distinct pre neurons.
    FixedIndegree {
        /// In-degree.
        k: u32,
        /// Allow i→i when `from == to` (default false).
        #[serde(default)]
        allow_self: bool,
    },
    /// Each pre neuron projects to exactly `k` distinct post neurons.
    FixedOutdegree {
        /// Out-degree.
        k: u32,
        /// Allow i→i when `from == to` (default false).
        #[serde(default)]
        allow_self: bool,
    },
    /// Distance-dependent probability `c·exp(-(D/lambda)²)` on grid positions (Maass 2002).
    Distance {
        /// Peak probability in \[0, 1\].
        c: f64,
        /// Length constant in grid units.
        lambda: f64,
        /// Allow i→i when `from == to` (default false).
        #[serde(default)]
        allow_self: bool,
    },
    /// Explicit synapse list; optional per-synapse weights and delays override `weight`/`delay_ms`.
    List {
        /// Pre indices.
        pre: Vec<u32>,
        /// Post indices (same length as `pre`).
        post: Vec<u32>,
        /// Optional weights (same length), in the projection's weight unit
        /// (see [`Projection::weight`]).
        #[serde(default)]
        weights: Option<Vec<f64>>,
        /// Optional delays in ms (same length).
        #[serde(default)]
        delays_ms: Option<Vec<f64>>,
    },
    /// Synapses read from an HDF5 connectivity file, as `astroglia run
    /// --save-connectivity` writes it (layout in `docs/connectivity.md`):
    /// datasets `pre` and `post` (local ids, integers) of group
    /// `/projections/<projection>`, and optionally `weight` and `delay_ms`
    /// (floats), which when present override `weight` and `delay_ms` as a
    /// list's do. When `receptor` is not set, the group's `receptor` attribute
    /// gives it, else the weights' sign.
    File {
        /// The file; a relative path is taken from the model file's directory
        /// (from the working directory for a network built in code).
        path: std::path::PathBuf,
        /// The group under `/projections` to read (default: this projection's
        /// label, its `name` or `from->to`).
        #[serde(default)]
        projection: Option<String>,
    },
}

/// Inputs of populations (applied in the input phase of every step): currents and
/// noise add to the external current, Poisson drives to the delay rings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Input {
    /// Gaussian noise current `mean + std·N(0,1)`, redrawn for every neuron every step
    /// (std is per step, not scaled by dt: the Izhikevich 2003 thalamic input).
    Noise(NoiseInput),
    /// A constant current switched on at `start_ms` and off at `stop_ms`.
    Current(CurrentInput),
    /// A private Poisson drive per neuron (Brian2's `PoissonInput`, NEST's
    /// `poisson_generator`): every step each target neuron receives
    /// `weight × k`, `k ~ Binomial(n, rate_hz·dt)`, as synaptic input.
    Poisson(PoissonInput),
}

/// See [`Input::Noise`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NoiseInput {
    /// Target population.
    pub target: String,
    /// Optional subset of neurons, population-local ids (default all).
    #[serde(default)]
    pub ids: Option<Vec<u32>>,
    /// Mean current (pA; raw units for Izhikevich). Default 0.
    #[serde(default)]
    pub mean: f64,
    /// Standard deviation per step.
    pub std: f64,
}

/// See [`Input::Current`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CurrentInput {
    /// Target population.
    pub target: String,
    /// Optional subset of neurons, population-local ids (default all).
    #[serde(default)]
    pub ids: Option<Vec<u32>>,
    /// Amplitude (pA; raw units for Izhikevich).
    pub amplitude: f64,
    /// Switch-on time in ms (default 0).
    #[serde(default)]
    pub start_ms: f64,
    /// Switch-off time in ms, exclusive (default: never).
    #[serde(default)]
    pub stop_ms: Option<f64>,
}

/// See [`Input::Poisson`]: `n` independent Poisson sources of `rate_hz` per target
/// neuron, each spike acting like one arriving through a projection of weight
/// `weight` onto `receptor`, without the sources existing as neurons.
///
/// Every step, every target neuron (or each of `ids`) draws its own count
/// `k ~ Binomial(n, rate_hz · dt_ms / 1000)` from the counter-based generator
/// (instance seed, a stream per input, the step, the neuron), so the draws are
/// the same on every backend, thread count and batch. `weight × k` enters the
/// neuron's delay ring for the current step, in the receptor's fixed point, and
/// the neuron phase of the same step integrates it exactly like recurrent input:
/// a delta-synapse LIF jumps by `weight × k` mV (dropped while refractory), an
/// exponential synapse or conductance is incremented. Cost O(neurons) per step.
///
/// ```
/// use astroglia::model::*;
/// let mut net = Network::new(0.1, 100.0);
/// net.add_population(Population::new("exc", 100, NeuronModel::Lif(
///     LifParams::default().synapse(SynapseKind::Delta))));
/// net.add_input(Input::Poisson(PoissonInput::new("exc", 1000, 20.0, 0.1)));
/// net.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PoissonInput {
    /// Target population (a neuron population, not a spike source).
    pub target: String,
    /// Optional subset of neurons, population-local ids without repeats
    /// (default all).
    #[serde(default)]
    pub ids: Option<Vec<u32>>,
    /// Sources per neuron (at least 1).
    pub n: u32,
    /// Rate of each source in Hz (`rate_hz · dt_ms / 1000 <= 1`).
    pub rate_hz: f64,
    /// Weight of one source spike, in the target's synaptic units as for a
    /// projection: mV for delta-synapse LIF, pA for exponential-current LIF and
    /// Izhikevich, nS for conductance-based LIF (which needs `weight >= 0`).
    pub weight: f64,
    /// Receptor on the target: `exc` or `inh`. Default: `inh` when `weight < 0`,
    /// else `exc`.
    #[serde(default)]
    pub receptor: Option<Receptor>,
}

impl PoissonInput {
    /// A drive of `n` sources at `rate_hz` with `weight` into every neuron of
    /// `target`, on the receptor the weight's sign picks.
    pub fn new(target: &str, n: u32, rate_hz: f64, weight: f64) -> Self {
        PoissonInput {
            target: target.into(),
            ids: None,
            n,
            rate_hz,
            weight,
            receptor: None,
        }
    }

    /// Restricts the drive to these neurons (population-local ids, without
    /// repeats).
    pub fn ids(mut self, ids: Vec<u32>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Sets the receptor (default: from the weight's sign).
    pub fn receptor(mut self, r: Receptor) -> Self {
        self.receptor = Some(r);
        self
    }

    /// The receptor this drive feeds, resolving the default from the weight sign.
    pub fn resolved_receptor(&self) -> Receptor {
        self.receptor.unwrap_or(if self.weight < 0.0 {
            Receptor::Inh
        } else {
            Receptor::Exc
        })
    }
}

/// A 3-D grid of unit spacing holding the neurons of some populations. Positions are
/// assigned in population order, randomly permuted over the grid when `shuffle` is
/// true (NALSM intermixes excitatory and inhibitory neurons this way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Grid dimensions; their product must equal the populations' total size.
    pub shape: [u32; 3],
    /// Populations placed on the grid.
    pub populations: Vec<String>,
    /// Randomly permute positions (default true).
    #[serde(default = "default_true")]
    pub shuffle: bool,
    /// Distance between neighbouring grid points (default 1).
    #[serde(default = "default_one_f64")]
    pub spacing: f64,
}

/// What a run records. Summary statistics (rates, CV, hash) always cover every spike.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Monitors {
    /// Spike recorders; when absent every neuron population is recorded. Spike
    /// sources are recorded (and their CV ISI computed) only when listed.
    #[serde(default)]
    pub spikes: Option<Vec<SpikeMonitor>>,
    /// State-variable recorders.
    #[serde(default)]
    pub state: Vec<StateMonitor>,
    /// Population-rate recorders.
    #[serde(default)]
    pub rate: Vec<RateMonitor>,
    /// Astrocyte recorders (the depression rate A of every domain).
    #[serde(default)]
    pub astrocytes: Vec<AstrocyteMonitor>,
    /// Weight snapshots and histograms of plastic projections.
    #[serde(default)]
    pub weights: Vec<WeightMonitor>,
    /// Branching factor of a liquid (reported in the run summary).
    #[serde(default)]
    pub branching: Option<BranchingMonitor>,
}

/// Computes the branching factor (ALGORITHMS.md §1.7, see
/// [`crate::analysis::branching`]) of the liquid formed by `populations` over
/// consecutive samples of `sample_ms`; every spike of the liquid is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BranchingMonitor {
    /// Populations of the liquid, in liquid-id order.
    pub populations: Vec<String>,
    /// Sample length in ms (default 250, NALSM's); sample `k` covers
    /// `[k, k + 1) · sample_ms`, and a trailing partial sample is left out.
    #[serde(default = "default_sample_ms")]
    pub sample_ms: f64,
}

fn default_sample_ms() -> f64 {
    250.0
}

/// Snapshots a plastic projection's weights every `every` steps (at the steps
/// where `step % every == 0`, like state monitors): a histogram over the rule's
/// bounds always, and every weight when `full`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WeightMonitor {
    /// Plastic projection (its `name`, or `from->to`).
    pub projection: String,
    /// Sampling period in steps (required: weights change slowly, and a full
    /// snapshot of a large projection is large).
    pub every: u32,
    /// Keep every weight of every snapshot (default true); `false` keeps only
    /// the histograms.
    #[serde(default = "default_true")]
    pub full: bool,
    /// Equal-width histogram bins over `[w_min, w_max]` (default 20).
    #[serde(default = "default_bins")]
    pub bins: u32,
}

fn default_bins() -> u32 {
    20
}

/// Records an astrocyte's A (one column per domain) every `every` steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AstrocyteMonitor {
    /// Astrocyte name.
    pub astrocyte: String,
    /// Sampling period in steps (default 1).
    #[serde(default = "default_one_u32")]
    pub every: u32,
}

/// Records the spikes of a population (or a subset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SpikeMonitor {
    /// Population.
    pub population: String,
    /// Optional subset, population-local ids (default all).
    #[serde(default)]
    pub ids: Option<Vec<u32>>,
}

/// Records a state variable every `every` steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StateMonitor {
    /// Population.
    pub population: String,
    /// Variable name (see [`NeuronModel::state_vars`]).
    pub var: String,
    /// Neurons to record, population-local ids (default all).
    #[serde(default)]
    pub ids: Option<Vec<u32>>,
    /// Sampling period in steps (default 1).
    #[serde(default = "default_one_u32")]
    pub every: u32,
}

/// Records the population rate in bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateMonitor {
    /// Population.
    pub population: String,
    /// Bin width in ms (default 1).
    #[serde(default = "default_one_f64")]
    pub bin_ms: f64,
}

impl NoiseInput {
    /// Gaussian current noise of `mean` and `std` (per step) into every neuron
    /// of `target`.
    pub fn new(target: &str, mean: f64, std: f64) -> Self {
        NoiseInput {
            target: target.into(),
            ids: None,
            mean,
            std,
        }
    }

    /// Restricts the noise to these neurons (population-local ids).
    pub fn ids(mut self, ids: Vec<u32>) -> Self {
        self.ids = Some(ids);
        self
    }
}

impl CurrentInput {
    /// A constant current of `amplitude` into every neuron of `target`, from
    /// time 0 on.
    pub fn new(target: &str, amplitude: f64) -> Self {
        CurrentInput {
            target: target.into(),
            ids: None,
            amplitude,
            start_ms: 0.0,
            stop_ms: None,
        }
    }

    /// Restricts the current to these neurons (population-local ids).
    pub fn ids(mut self, ids: Vec<u32>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Switches the current on at `start_ms` (ms).
    pub fn start_ms(mut self, start_ms: f64) -> Self {
        self.start_ms = start_ms;
        self
    }

    /// Switches the current off at `stop_ms` (ms, exclusive).
    pub fn stop_ms(mut self, stop_ms: f64) -> Self {
        self.stop_ms = Some(stop_ms);
        self
    }
}

impl SpikeMonitor {
    /// Records every spike of `population`.
    pub fn new(population: &str) -> Self {
        SpikeMonitor {
            population: population.into(),
            ids: None,
        }
    }

    /// Records only these neurons (population-local ids).
    pub fn ids(mut self, ids: Vec<u32>) -> Self {
        self.ids = Some(ids);
        self
    }
}

impl StateMonitor {
    /// Records `var` of every neuron of `population` every step.
    pub fn new(population: &str, var: &str) -> Self {
        StateMonitor {
            population: population.into(),
            var: var.into(),
            ids: None,
            every: 1,
        }
    }

    /// Records only these neurons (population-local ids).
    pub fn ids(mut self, ids: Vec<u32>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Samples every `every` steps.
    pub fn every(mut self, every: u32) -> Self {
        self.every = every;
        self
    }
}

impl RateMonitor {
    /// Records the rate of `population` in 1 ms bins.
    pub fn new(population: &str) -> Self {
        RateMonitor {
            population: population.into(),
            bin_ms: 1.0,
        }
    }

    /// Sets the bin width (ms).
    pub fn bin_ms(mut self, bin_ms: f64) -> Self {
        self.bin_ms = bin_ms;
        self
    }
}

impl WeightMonitor {
    /// Snapshots the weights of the plastic `projection` (its name, or
    /// `from->to`) every `every` steps: every weight and a 20-bin histogram.
    pub fn new(projection: &str, every: u32) -> Self {
        WeightMonitor {
            projection: projection.into(),
            every,
            full: true,
            bins: default_bins(),
        }
    }

    /// Keeps every weight (`true`, the default) or only the histograms.
    pub fn full(mut self, full: bool) -> Self {
        self.full = full;
        self
    }

    /// Sets the number of histogram bins.
    pub fn bins(mut self, bins: u32) -> Self {
        self.bins = bins;
        self
    }
}

impl AstrocyteMonitor {
    /// Records the astrocyte named `astrocyte` every step.
    pub fn new(astrocyte: &str) -> Self {
        AstrocyteMonitor {
            astrocyte: astrocyte.into(),
            every: 1,
        }
    }

    /// Samples every `every` steps.
    pub fn every(mut self, every: u32) -> Self {
        self.every = every;
        self
    }
}

impl BranchingMonitor {
    /// The branching factor of the liquid formed by `populations` (in
    /// liquid-id order), over samples of 250 ms.
    pub fn new(populations: &[&str]) -> Self {
        BranchingMonitor {
            populations: populations.iter().map(|p| p.to_string()).collect(),
            sample_ms: default_sample_ms(),
        }
    }

    /// Sets the sample length (ms).
    pub fn sample_ms(mut self, sample_ms: f64) -> Self {
        self.sample_ms = sample_ms;
        self
    }
}

/// The most steps one run may take: step indices reach the GPU as u32, and a
/// run of 2^32 steps is 13 years of biological time at dt 0.1 ms.
pub const MAX_STEPS: u64 = u32::MAX as u64;

/// The most neurons a network holds: neuron ids are u32.
pub const MAX_NEURONS: u64 = u32::MAX as u64;

/// The most synapses one projection holds: rows index them with u32.
pub const MAX_SYNAPSES: u64 = u32::MAX as u64;

/// The longest delay in steps: delays are stored as u16.
pub const MAX_DELAY_STEPS: u32 = u16::MAX as u32;

/// The number of steps of `duration_ms` at `dt_ms`, or why a run cannot take
/// them (`what` names the duration's origin in the message).
pub fn duration_steps(what: &str, duration_ms: f64, dt_ms: f64) -> Result<u64, String> {
    if !(duration_ms.is_finite() && duration_ms >= 0.0) {
        return Err(format!(
            "{what} must be a finite number >= 0, got {duration_ms}"
        ));
    }
    let steps = (duration_ms / dt_ms).round();
    if !(steps <= MAX_STEPS as f64) {
        // Plain `{}` would print 1e300 with all its 301 digits.
        let num = |x: f64| {
            if x != 0.0 && !(1e-4..1e9).contains(&x.abs()) {
                format!("{x:e}")
            } else {
                format!("{x}")
            }
        };
        return Err(format!(
            "{what} = {} ms is {steps:.1e} steps of dt_ms = {}, more than the {MAX_STEPS} one \
             run can take",
            num(duration_ms),
            num(dt_ms)
        ));
    }
    Ok(steps as u64)
}

/// The most steps one sample of an experiment may take: each step of a sample
/// is held in memory while it is encoded (10^7 steps is 1000 s at dt 0.1 ms,
/// a thousand times the longest N-MNIST or SHD sample).
pub const MAX_SAMPLE_STEPS: u64 = 10_000_000;

/// The number of steps of a sample of `sample_ms` at `dt_ms`, at least one, or
/// why an experiment cannot take them.
pub fn sample_steps(sample_ms: f64, dt_ms: f64) -> Result<u64, String> {
    let steps = (sample_ms / dt_ms).round();
    if !(sample_ms.is_finite() && sample_ms > 0.0) {
        return Err(format!("must be a positive time in ms, got {sample_ms}"));
    }
    if !(steps <= MAX_SAMPLE_STEPS as f64) {
        return Err(format!(
            "{sample_ms:e} ms is {steps:.1e} steps of dt_ms = {dt_ms}, more than the \
             {MAX_SAMPLE_STEPS} a sample can take"
        ));
    }
    Ok((steps as u64).max(1))
}

impl Network {
    /// Sets `duration_ms` from the command-line option `flag`, refusing a
    /// duration no run can take with an [`crate::Error::Setting`] naming the flag.
    pub fn set_duration_from(&mut self, flag: &str, duration_ms: f64) -> crate::Result<()> {
        let dt = if self.dt_ms > 0.0 { self.dt_ms } else { 1.0 };
        duration_steps(flag, duration_ms, dt).map_err(|m| crate::Error::setting(flag, m))?;
        self.duration_ms = duration_ms;
        Ok(())
    }

    /// An empty network with the given step and duration (ms).
    pub fn new(dt_ms: f64, duration_ms: f64) -> Self {
        Network {
            name: None,
            dt_ms,
            duration_ms,
            seed: 0,
            constants: BTreeMap::new(),
            neuron_models: vec![],
            synapse_models: vec![],
            populations: vec![],
            projections: vec![],
            inputs: vec![],
            grids: vec![],
            astrocytes: vec![],
            monitors: Monitors::default(),
            nir: None,
            source: None,
        }
    }

    /// Reads and validates a TOML model file. Errors name the file, line and field.
    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let text = crate::input_file::read_text(path)?;
        let mut net = parse_toml(&text, &path.display().to_string())?;
        net.source = Some(path.display().to_string());
        if net.name.is_none() {
            net.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(net)
    }

    /// Adds a population; returns `self` for chaining.
    pub fn add_population(&mut self, p: Population) -> &mut Self {
        if let NeuronModel::User(UserNeuron {
            spec: Some(spec), ..
        }) = &p.model
        {
            if !self.neuron_models.iter().any(|m| m.name == spec.name) {
                self.neuron_models.push((**spec).clone());
            }
        }
        self.populations.push(p);
        self
    }

    /// Gives each population of a user model named in a file (`model =
    /// "name"`) its `[[neuron_models]]` entry.
    pub(crate) fn resolve_models(&mut self) {
        let models: Vec<std::sync::Arc<crate::equations::neuron::NeuronModelSpec>> = self
            .neuron_models
            .iter()
            .map(|m| std::sync::Arc::new(m.clone()))
            .collect();
        for p in &mut self.populations {
            if let NeuronModel::User(u) = &mut p.model {
                if u.spec.is_none() {
                    u.spec = models.iter().find(|m| m.name == u.model).cloned();
                }
            }
        }
        let rules: Vec<std::sync::Arc<crate::equations::synapse::SynapseModelSpec>> = self
            .synapse_models
            .iter()
            .map(|m| std::sync::Arc::new(m.clone()))
            .collect();
        for p in &mut self.projections {
            if let Some(crate::plasticity::Plasticity::User(u)) = &mut p.plasticity {
                if u.spec.is_none() {
                    u.spec = rules.iter().find(|m| m.name == u.model).cloned();
                }
            }
        }
    }

    /// Adds a projection; returns `self` for chaining.
    pub fn add_projection(&mut self, p: Projection) -> &mut Self {
        if let Some(crate::plasticity::Plasticity::User(crate::plasticity::UserRule {
            spec: Some(spec),
            ..
        })) = &p.plasticity
        {
            if !self.synapse_models.iter().any(|m| m.name == spec.name) {
                self.synapse_models.push((**spec).clone());
            }
        }
        self.projections.push(p);
        self
    }

    /// Adds an input; returns `self` for chaining.
    pub fn add_input(&mut self, i: Input) -> &mut Self {
        self.inputs.push(i);
        self
    }

    /// Runs every `lif` population in fixed point with `fp` (or every one in
    /// float with `None`); other models are left as they are.
    pub fn set_fixed_point(&mut self, fp: Option<FixedPoint>) -> &mut Self {
        for p in &mut self.populations {
            if matches!(p.model, NeuronModel::Lif(_)) {
                p.fixed_point = fp.clone();
            }
        }
        self
    }

    /// The file the network was read from, or `<builder>` for one built in code.
    pub fn source_name(&self) -> &str {
        self.source.as_deref().unwrap_or("<builder>")
    }

    /// Index of a population by name.
    pub fn population_index(&self, name: &str) -> Option<usize> {
        self.populations.iter().position(|p| p.name == name)
    }

    /// Checks the whole description; lists every problem found.
    pub fn validate(&self) -> crate::Result<()> {
        let issues = validate::validate(self);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::Model {
                source_name: self.source_name().into(),
                issues,
            })
        }
    }
}

impl Population {
    /// A population with default initial state.
    pub fn new(name: &str, size: u32, model: NeuronModel) -> Self {
        Population {
            name: name.into(),
            size,
            model,
            init: BTreeMap::new(),
            fixed_point: None,
        }
    }

    /// Runs the population in fixed point (`lif` populations only).
    pub fn fixed_point(mut self, fp: FixedPoint) -> Self {
        self.fixed_point = Some(fp);
        self
    }

    /// Sets the initial value (or distribution) of a state variable.
    pub fn init(mut self, var: &str, value: impl Into<Dist>) -> Self {
        self.init.insert(var.into(), value.into());
        self
    }
}

impl Projection {
    /// A projection with weight 1, one-step delay and the default receptor.
    pub fn new(from: &str, to: &str, connect: Connect) -> Self {
        Projection {
            name: None,
            from: from.into(),
            to: to.into(),
            connect,
            weight: default_weight(),
            sign: Sign::Any,
            delay_ms: None,
            receptor: None,
            plasticity: None,
            loihi: None,
        }
    }

    /// Sets how the weights enter a `loihi_lif` target (its `loihi` table).
    pub fn loihi(mut self, s: crate::neuron::LoihiSynapses) -> Self {
        self.loihi = Some(s);
        self
    }

    /// Names the projection (default `from->to`): monitors, weight readers and
    /// the summary address it by this name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Makes the projection plastic under `rule`.
    pub fn plasticity(mut self, rule: Plasticity) -> Self {
        self.plasticity = Some(rule);
        self
    }

    /// Sets the weight (constant or distribution), in the projection's weight
    /// unit (see [`Projection::weight`](#structfield.weight)).
    pub fn weight(mut self, w: impl Into<Dist>) -> Self {
        self.weight = w.into();
        self
    }

    /// Sets the delay in ms.
    pub fn delay_ms(mut self, d: impl Into<Dist>) -> Self {
        self.delay_ms = Some(d.into());
        self
    }

    /// Sets the receptor.
    pub fn receptor(mut self, r: Receptor) -> Self {
        self.receptor = Some(r);
        self
    }

    /// Sets the sign constraint.
    pub fn sign(mut self, s: Sign) -> Self {
        self.sign = s;
        self
    }

    /// The receptor this projection feeds, resolving the default from the weight sign.
    pub fn resolved_receptor(&self) -> Receptor {
        self.receptor.unwrap_or_else(|| {
            let (_, hi) = match (&self.connect, self.sign) {
                (_, Sign::Negative) => (0.0, 0.0),
                (
                    Connect::List {
                        weights: Some(w), ..
                    },
                    _,
                ) => (0.0, w.iter().cloned().fold(f64::NEG_INFINITY, f64::max)),
                _ => self.weight.bounds(),
            };
            if hi <= 0.0 && !(hi == 0.0 && self.weight.bounds().0 == 0.0) {
                Receptor::Inh
            } else {
                Receptor::Exc
            }
        })
    }

    /// The display name: `name` or `from->to`.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", self.from, self.to))
    }
}
