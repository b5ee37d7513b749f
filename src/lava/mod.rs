//! Lava-style network descriptions (`astroglia-lava-1` JSON): Loihi LIF
//! processes, input spike trains and connections in the chip's integers, as
//! Intel's Lava builds them (`LIF`, `RingBuffer`, `Dense`), with what a run
//! recorded. [`LavaNet::to_network`] makes a runnable model of one,
//! [`LavaNet::from_network`] describes a model's `loihi_lif` network for Lava,
//! and `scripts/lava/lava_json.py` runs a description in Lava. The format is
//! docs/reference/lava-json.md.
//!
//! A Lava step is one step of the model (`dt_ms` = 1): Lava's time step `s + 1`
//! is step `s` here, and `Dense` delivers a spike one step later.
//!
//! ```
//! let text = r#"{"format": "astroglia-lava-1", "name": "two", "steps": 20,
//!   "processes": [
//!     {"type": "LIF", "name": "a", "size": 1, "vth": 1, "bias_mant": 10},
//!     {"type": "LIF", "name": "b", "size": 1, "du": 4095, "vth": 1}],
//!   "connections": [{"from": "a", "to": "b", "pre": [0], "post": [0], "weight": [2]}]}"#;
//! let lava = astroglia::lava::LavaNet::parse(text, "two.json").unwrap();
//! let net = lava.to_network().unwrap();
//! let mut sim = astroglia::Simulator::new(&net, astroglia::SimOptions::default()).unwrap();
//! sim.run_ms(20.0).unwrap();
//! // a spikes every 7 steps (v > 64 at 70); each spike gives b's u 2 << 6 = 128 once.
//! assert_eq!(sim.summary().populations["a"].spikes, 2);
//! assert_eq!(sim.summary().populations["b"].spikes, 2);
//! ```
pub mod convert;
mod export;

use crate::model::{
    Connect, Dist, LoihiLifParams, LoihiSynapses, Network, NeuronModel, PerNeuron, Population,
    Projection, SignMode, SpikeSourceParams,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` value of this version.
pub const FORMAT: &str = "astroglia-lava-1";

/// A Lava network: processes, connections and (optionally) what a run recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LavaNet {
    /// Always [`FORMAT`].
    pub format: String,
    /// The network's name.
    pub name: String,
    /// One line on what it is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What made the file (script, Lava version, process models).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generator: String,
    /// Steps to run.
    pub steps: u64,
    /// The processes, in order.
    pub processes: Vec<Process>,
    /// The connections.
    #[serde(default)]
    pub connections: Vec<Connection>,
    /// What a run recorded, by LIF process name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recorded: BTreeMap<String, Recorded>,
}

/// A Lava process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Process {
    /// `lava.proc.lif.process.LIF` run by `PyLifModelBitAcc`.
    #[serde(rename = "LIF")]
    Lif {
        /// Process name (unique).
        name: String,
        /// Neurons.
        size: u32,
        /// Current decay (12 bits).
        #[serde(default)]
        du: u32,
        /// Voltage decay (12 bits).
        #[serde(default)]
        dv: u32,
        /// Threshold mantissa (17 bits; Lava's default 10).
        #[serde(default = "default_vth")]
        vth: u32,
        /// Bias mantissa.
        #[serde(default)]
        bias_mant: PerNeuron,
        /// Bias exponent.
        #[serde(default)]
        bias_exp: PerNeuron,
        /// Initial current.
        #[serde(default)]
        u: PerNeuron,
        /// Initial voltage.
        #[serde(default)]
        v: PerNeuron,
    },
    /// `lava.proc.io.source.RingBuffer`: input spikes.
    RingBuffer {
        /// Process name (unique).
        name: String,
        /// Channels.
        size: u32,
        /// `[step, channel]` of every spike.
        #[serde(default)]
        spikes: Vec<[u64; 2]>,
    },
}

fn default_vth() -> u32 {
    10
}

fn default_weight_bits() -> u32 {
    8
}

impl Process {
    /// The process name.
    pub fn name(&self) -> &str {
        match self {
            Process::Lif { name, .. } | Process::RingBuffer { name, .. } => name,
        }
    }

    /// Its neurons or channels.
    pub fn size(&self) -> u32 {
        match self {
            Process::Lif { size, .. } | Process::RingBuffer { size, .. } => *size,
        }
    }
}

/// A `Dense` connection, as (pre, post, weight) triples; absent pairs have weight 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Name (default `from->to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Presynaptic process.
    pub from: String,
    /// Postsynaptic LIF process.
    pub to: String,
    /// Presynaptic index of each synapse.
    pub pre: Vec<u32>,
    /// Postsynaptic index of each synapse.
    pub post: Vec<u32>,
    /// Integer weight of each synapse (Lava clips and truncates it, see
    /// [`LoihiSynapses::weights`]).
    pub weight: Vec<i64>,
    /// Weight exponent.
    #[serde(default)]
    pub weight_exp: i32,
    /// Weight bits.
    #[serde(default = "default_weight_bits")]
    pub num_weight_bits: u32,
    /// Sign mode (default: from the weights).
    #[serde(default)]
    pub sign_mode: Option<SignMode>,
}

/// What a run recorded of one LIF process.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// `[step, neuron]` of every spike, by step then neuron.
    #[serde(default)]
    pub spikes: Vec<[u64; 2]>,
    /// `u` after each step: one row per step, one value per neuron.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub u: Vec<Vec<i32>>,
    /// `v` after each step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v: Vec<Vec<i32>>,
}

impl LavaNet {
    /// Parses a description; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> crate::Result<LavaNet> {
        let net: LavaNet = serde_json::from_str(text).map_err(|e| {
            crate::Error::data(
                source,
                format!("line {} column {}: {e}", e.line(), e.column()),
            )
        })?;
        if net.format != FORMAT {
            return Err(crate::Error::data(
                source,
                format!("format is {:?}, expected {FORMAT:?}", net.format),
            ));
        }
        Ok(net)
    }

    /// Reads a description file.
    pub fn read(path: &std::path::Path) -> crate::Result<LavaNet> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
        LavaNet::parse(&text, &path.display().to_string())
    }

    /// The description as a model: each LIF a `loihi_lif` population, each
    /// RingBuffer a `spike_source`, each connection a `list` projection with
    /// a one-step delay and its `loihi` table; `dt_ms` 1, `duration_ms` the
    /// steps. The model is validated; errors name the process or connection.
    pub fn to_network(&self) -> crate::Result<Network> {
        let source = format!("{}.json", self.name);
        let issue = |place: String, msg: String| crate::Error::model_issue(&source, place, msg);
        let mut net = Network::new(1.0, self.steps as f64);
        net.name = Some(self.name.clone());
        for (i, p) in self.processes.iter().enumerate() {
            let pop = match p {
                Process::Lif {
                    name,
                    size,
                    du,
                    dv,
                    vth,
                    bias_mant,
                    bias_exp,
                    u,
                    v,
                } => {
                    let params = LoihiLifParams::default()
                        .du(*du)
                        .dv(*dv)
                        .vth(*vth)
                        .bias_mant(bias_mant.clone())
                        .bias_exp(bias_exp.clone());
                    let mut pop = Population::new(name, *size, NeuronModel::LoihiLif(params));
                    for (var, x) in [("u", u), ("v", v)] {
                        let first = x.values().first().copied().unwrap_or(0);
                        if x.values().iter().any(|&y| y != first) {
                            return Err(issue(
                                format!("processes[{i}].{var}"),
                                "initial values that differ between neurons are not supported \
                                 (give one value)"
                                    .into(),
                            ));
                        }
                        if first != 0 {
                            pop = pop.init(var, Dist::Const(f64::from(first)));
                        }
                    }
                    pop
                }
                Process::RingBuffer { name, size, spikes } => {
                    let times = spikes.iter().map(|s| s[0] as f64).collect();
                    let ids = spikes.iter().map(|s| s[1].min(u64::from(u32::MAX)) as u32);
                    Population::new(
                        name,
                        *size,
                        NeuronModel::SpikeSource(SpikeSourceParams::new(times, ids.collect())),
                    )
                }
            };
            net.add_population(pop);
        }
        for (i, c) in self.connections.iter().enumerate() {
            let mut pairs: Vec<(u32, u32)> =
                c.pre.iter().copied().zip(c.post.iter().copied()).collect();
            pairs.sort_unstable();
            if let Some(w) = pairs.windows(2).find(|w| w[0] == w[1]) {
                return Err(issue(
                    format!("connections[{i}]"),
                    format!(
                        "synapse (pre {}, post {}) is listed twice (Dense has one weight per pair)",
                        w[0].0, w[0].1
                    ),
                ));
            }
            if c.pre.len() != c.post.len() || c.pre.len() != c.weight.len() {
                return Err(issue(
                    format!("connections[{i}]"),
                    format!(
                        "pre, post and weight must have one entry per synapse, got {}, {} and {}",
                        c.pre.len(),
                        c.post.len(),
                        c.weight.len()
                    ),
                ));
            }
            let syn = LoihiSynapses {
                weight_exp: c.weight_exp,
                num_weight_bits: c.num_weight_bits,
                sign_mode: c.sign_mode,
            };
            let connect = Connect::List {
                pre: c.pre.clone(),
                post: c.post.clone(),
                weights: Some(c.weight.iter().map(|&w| w as f64).collect()),
                delays_ms: None,
            };
            let mut pr = Projection::new(&c.from, &c.to, connect)
                .delay_ms(1.0)
                .loihi(syn);
            if let Some(n) = &c.name {
                pr = pr.name(n);
            }
            net.add_projection(pr);
        }
        net.validate().map_err(|e| match e {
            crate::Error::Model { issues, .. } => crate::Error::Model {
                source_name: source.clone(),
                issues,
            },
            e => e,
        })?;
        Ok(net)
    }
}
