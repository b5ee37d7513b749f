//! Hardware fit checks: does a built network fit a neuromorphic chip's published
//! per-core and per-chip limits (`astroglia fit MODEL.toml --target loihi2`)?
//!
//! The mapping assumed is the simple one toolchains start from: each population
//! gets whole cores of its own (populations never share a core; on a one-core
//! chip such as Xylo they all share it), enough for its neurons and for its
//! incoming synapses. Real compilers pack better or worse; the report says which
//! limit binds and by how much.
//!
//! Sources of the numbers (each [`Limits`] lists its own, with what is uncertain):
//! - Loihi 2: Intel Labs, "Taking Neuromorphic Computing to the Next Level with
//!   Loihi 2", technology brief (2021): 128 neuromorphic cores, up to 1 M neurons
//!   and 120 M synapses per chip (so 8192 neurons per core); weights up to 8 bits
//!   in Lava's fixed-point `Dense` process; delays up to 62 steps are Loihi 1's
//!   (Davies et al. 2018, IEEE Micro 38(1)) and assumed for Loihi 2.
//! - SpiNNaker2: Mayr, Höppner & Furber (2019), arXiv:1911.02385; Gonzalez et al.
//!   (2024), arXiv:2401.04491: 152 ARM Cortex-M4F processing elements per chip,
//!   128 KB SRAM each. Neurons per core and the synapse word are software limits
//!   of py-spinnaker2 (250 LIF neurons per core, 4-bit weights, 3-bit delays in
//!   its synapse word) and are the least certain numbers here.
//! - Xylo (SynSense Xylo Audio 2, Rockpool documentation "Xylo hardware"): 16
//!   input channels, 1000 hidden and 8 output LIF neurons with exponential
//!   current synapses, 8-bit signed weights, no synaptic delays, no on-chip
//!   learning.
use crate::build::{Built, Delays, Dynamics};
use crate::model::{Network, NeuronModel};
use serde::Serialize;

/// A target chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Intel Loihi 2.
    Loihi2,
    /// SpiNNaker2 (TU Dresden / SpiNNcloud).
    Spinnaker2,
    /// SynSense Xylo (Audio 2).
    Xylo,
}

/// Published (or, where marked, estimated) limits of a chip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limits {
    /// Chip name.
    pub chip: &'static str,
    /// Neurons one core holds.
    pub neurons_per_core: u64,
    /// Cores per chip.
    pub cores_per_chip: u64,
    /// Synapses one core holds (incoming synapses of its neurons).
    pub synapses_per_core: u64,
    /// Largest in-degree of one neuron (its synapses live on its core).
    pub max_fan_in: u64,
    /// Input (spike source) channels, when the chip has a fixed number.
    pub max_inputs: Option<u64>,
    /// Signed weight bits.
    pub weight_bits: u32,
    /// Longest synaptic delay in steps.
    pub max_delay_steps: u64,
    /// Neuron models (model-file keys) the chip runs.
    pub models: &'static [&'static str],
    /// On-chip plasticity.
    pub plasticity: bool,
    /// Where the numbers come from, and which are uncertain.
    pub sources: &'static str,
}

impl Target {
    /// The chip's limits.
    pub fn limits(self) -> Limits {
        match self {
            Target::Loihi2 => Limits {
                chip: "Intel Loihi 2",
                neurons_per_core: 8192,
                cores_per_chip: 128,
                // 120 M synapses per chip over 128 cores (the brief gives only the chip total).
                synapses_per_core: 120_000_000 / 128,
                max_fan_in: 120_000_000 / 128,
                max_inputs: None,
                weight_bits: 8,
                max_delay_steps: 62,
                models: &["loihi_lif", "lif"],
                plasticity: true,
                sources: "Intel Loihi 2 technology brief (2021): 128 cores, 1 M neurons, 120 M \
                          synapses per chip; 8-bit weights (Lava Dense); delay 62 steps from \
                          Loihi 1 (Davies et al. 2018), assumed for Loihi 2; synapses per core \
                          is the chip total / 128; neuron and weight arithmetic: Lava's \
                          bit-accurate PyLifModelBitAcc and Dense (lava-nc 0.10.0: 12-bit du, \
                          dv; 17-bit vth; 13-bit bias mantissa, 3-bit exponent; 24-bit u, v; \
                          8-bit weights; weight_exp -8..7 is Loihi 1's, assumed)",
            },
            Target::Spinnaker2 => Limits {
                chip: "SpiNNaker2",
                neurons_per_core: 250,
                cores_per_chip: 152,
                // 128 KB SRAM per PE at 4 bytes per synapse word, before code and state:
                // an upper bound.
                synapses_per_core: 128 * 1024 / 4,
                max_fan_in: 128 * 1024 / 4,
                max_inputs: None,
                weight_bits: 4,
                max_delay_steps: 7,
                models: &["lif"],
                plasticity: true,
                sources: "Mayr et al. 2019 (arXiv:1911.02385), Gonzalez et al. 2024 \
                          (arXiv:2401.04491): 152 PEs per chip, 128 KB SRAM each; 250 neurons \
                          per core, 4-bit weights and 3-bit delays are py-spinnaker2 software \
                          limits (uncertain); synapses per core is an upper bound (128 KB / 4 B)",
            },
            Target::Xylo => Limits {
                chip: "SynSense Xylo Audio 2",
                neurons_per_core: 1000,
                cores_per_chip: 1,
                // Dense input (16 × 1000) and recurrent (1000 × 1000) weight matrices.
                synapses_per_core: 1000 * 1000 + 16 * 1000,
                max_fan_in: 1000 + 16,
                max_inputs: Some(16),
                weight_bits: 8,
                max_delay_steps: 1,
                models: &["lif"],
                plasticity: false,
                sources: "Rockpool documentation, Xylo hardware: 16 inputs, 1000 hidden + 8 \
                          output LIF neurons, 8-bit signed weights, one-step synapses, no \
                          on-chip learning (output neurons counted as hidden here)",
            },
        }
    }
}

/// One limit checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What is checked, e.g. `cores_per_chip`.
    pub limit: String,
    /// The chip's value.
    pub allowed: String,
    /// The model's value.
    pub model: String,
    /// Within the limit.
    pub ok: bool,
    /// What violates it (populations, projections), empty when ok.
    pub detail: String,
}

/// The outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitReport {
    /// Model name.
    pub model: String,
    /// The target and its limits.
    pub limits: Limits,
    /// Every check, in a fixed order.
    pub checks: Vec<Check>,
    /// Cores the simple mapping needs.
    pub cores: u64,
    /// Chips those cores need.
    pub chips: u64,
    /// Every check passed (on one chip).
    pub fits: bool,
}

/// Checks `built` (built from `net`) against `target`'s limits.
///
/// ```
/// use astroglia::fit::{check, Target};
/// let net = astroglia::model::parse_toml(
///     "[[populations]]\nname = \"n\"\nsize = 100\nlif = { t_ref_ms = 0.0 }\n", "m.toml").unwrap();
/// let built = astroglia::build::build(&net, 1).unwrap();
/// let r = check(&net, &built, Target::Loihi2);
/// assert!(r.fits);
/// assert_eq!(r.cores, 1);
/// ```
pub fn check(net: &Network, built: &Built, target: Target) -> FitReport {
    let lim = target.limits();
    let mut checks = vec![];
    let mut push = |limit: &str, allowed: String, model: String, bad: Vec<String>| {
        checks.push(Check {
            limit: limit.into(),
            allowed,
            model,
            ok: bad.is_empty(),
            detail: bad.join("; "),
        });
    };
    let n = built.pops.len();
    let is_source = |pi: usize| matches!(built.pops[pi].dynamics, Dynamics::Source(_));
    // Degrees: in-degree per post neuron, out-degree per pre neuron (global ids).
    let total = built.n_neurons() as usize;
    let mut fan_in = vec![0u64; total];
    let mut syn_in = vec![0u64; n];
    for pr in built.projs.iter() {
        let off = built.pops[pr.post].offset as usize;
        for &t in &pr.targets {
            fan_in[off + t as usize] += 1;
        }
        syn_in[pr.post] += pr.targets.len() as u64;
    }

    // Neuron models.
    let bad: Vec<String> = net
        .populations
        .iter()
        .filter(|p| !p.model.is_source() && !lim.models.contains(&p.model.key()))
        .map(|p| format!("'{}' is {}", p.name, p.model.key()))
        .collect();
    push("neuron_models", lim.models.join(", "), model_keys(net), bad);

    // Cores: whole cores per population, bounded by neurons and synapses per core.
    let mut cores = 0u64;
    for pi in (0..n).filter(|&pi| !is_source(pi)) {
        let size = u64::from(built.pops[pi].size);
        cores += size
            .div_ceil(lim.neurons_per_core)
            .max(syn_in[pi].div_ceil(lim.synapses_per_core));
    }
    let neurons: u64 = (0..n)
        .filter(|&pi| !is_source(pi))
        .map(|pi| u64::from(built.pops[pi].size))
        .sum();
    if lim.cores_per_chip == 1 {
        // A single-core chip (Xylo) holds every population in one array.
        let syn: u64 = syn_in.iter().sum();
        cores = neurons
            .div_ceil(lim.neurons_per_core)
            .max(syn.div_ceil(lim.synapses_per_core));
    }
    let chips = cores.div_ceil(lim.cores_per_chip).max(1);
    let bad = if cores > lim.cores_per_chip {
        vec![format!(
            "{neurons} neurons and their synapses need {cores} cores ({chips} chips) at \
             {} neurons or {} synapses per core",
            lim.neurons_per_core, lim.synapses_per_core
        )]
    } else {
        vec![]
    };
    push(
        "cores_per_chip",
        lim.cores_per_chip.to_string(),
        format!("{cores} cores"),
        bad,
    );

    // Fan-in: a neuron's synapses must fit the synapse memory of its core.
    let max_in = fan_in.iter().copied().max().unwrap_or(0);
    let bad = (0..n)
        .filter_map(|pi| {
            let p = &built.pops[pi];
            let r = p.offset as usize..(p.offset + p.size) as usize;
            let over = fan_in[r].iter().filter(|&&d| d > lim.max_fan_in).count();
            (over > 0).then(|| {
                format!(
                    "'{}': {over} neurons with more than {} inputs",
                    p.name, lim.max_fan_in
                )
            })
        })
        .collect();
    push(
        "max_fan_in",
        lim.max_fan_in.to_string(),
        max_in.to_string(),
        bad,
    );

    // Inputs.
    let inputs: u64 = (0..n)
        .filter(|&pi| is_source(pi))
        .map(|pi| u64::from(built.pops[pi].size))
        .sum();
    let bad = match lim.max_inputs {
        Some(cap) if inputs > cap => vec![format!("{inputs} source neurons, {cap} channels")],
        _ => vec![],
    };
    push(
        "max_inputs",
        lim.max_inputs.map_or("none".into(), |c| c.to_string()),
        inputs.to_string(),
        bad,
    );

    // Weights: the model's own bits, and weights lost to quantisation.
    if target == Target::Loihi2 {
        let (params, bad_params, wb, bad) = loihi_check(net, built);
        push("loihi_params", "loihi_lif".into(), params, bad_params);
        push("weight_bits", lim.weight_bits.to_string(), wb, bad);
    } else {
        let (wb, bad) = weight_check(net, built, lim.weight_bits);
        push("weight_bits", lim.weight_bits.to_string(), wb, bad);
    }

    // Delays.
    let mut max_d = 0u64;
    let mut bad = vec![];
    for pr in built.projs.iter() {
        let d = match &pr.delays {
            Delays::Const(d) => u64::from(*d),
            Delays::PerSynapse(v) => v.iter().copied().max().unwrap_or(1) as u64,
        };
        max_d = max_d.max(d);
        if d > lim.max_delay_steps {
            bad.push(format!("'{}': {d} steps", pr.name));
        }
    }
    push(
        "max_delay_steps",
        lim.max_delay_steps.to_string(),
        max_d.to_string(),
        bad,
    );

    // Plasticity.
    let plastic: Vec<String> = net
        .projections
        .iter()
        .filter(|p| p.plasticity.is_some())
        .map(|p| format!("'{}'", p.label()))
        .collect();
    let value = format!("{} plastic projections", plastic.len());
    push(
        "plasticity",
        if lim.plasticity {
            "programmable"
        } else {
            "none"
        }
        .into(),
        value,
        if lim.plasticity { vec![] } else { plastic },
    );

    let fits = checks.iter().all(|c| c.ok);
    FitReport {
        model: built.name.clone(),
        limits: lim,
        checks,
        cores,
        chips,
        fits,
    }
}

fn model_keys(net: &Network) -> String {
    let mut keys: Vec<&str> = net
        .populations
        .iter()
        .filter(|p| !p.model.is_source())
        .map(|p| p.model.key())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.join(", ")
}

/// Loihi 2 through the profile of Lava's bit-accurate model: `loihi_lif`
/// populations hold the chip's integers already (validation keeps them in
/// range); `lif` populations are converted ([`crate::lava::convert`]), and
/// whatever the conversion drops or refuses is a violation. Returns (the
/// parameters' state, their problems, the weights' state, their problems):
/// weights whose nonzero value becomes a zero mantissa are lost.
fn loihi_check(net: &Network, built: &Built) -> (String, Vec<String>, String, Vec<String>) {
    use crate::lava::convert::ConvertOptions;
    let lif = net
        .populations
        .iter()
        .filter(|p| matches!(p.model, NeuronModel::Lif(_)))
        .count();
    let mut bad_params = vec![];
    let mut bad_w = vec![];
    // Native populations: weights lost to the 8-bit mantissas.
    for (k, pr) in built.projs.iter().enumerate() {
        let Some((_, mantissas)) = built.loihi_mantissas(net, k) else {
            continue;
        };
        let e = net.projections[k]
            .loihi
            .as_ref()
            .map_or(0, |l| l.weight_exp);
        if !(-8..=7).contains(&e) {
            bad_w.push(format!(
                "'{}': weight_exp {e} outside the chip's -8..=7",
                pr.name
            ));
        }
        let zero = mantissas.iter().filter(|&&m| m == 0).count();
        if zero > 0 {
            bad_w.push(format!(
                "'{}': {zero} of {} weights are 0 on the chip",
                pr.name,
                pr.len()
            ));
        }
    }
    let params = if lif == 0 {
        "loihi_lif".to_string()
    } else {
        match crate::lava::convert::to_loihi_built(net, built, &ConvertOptions::default()) {
            Err(e) => {
                bad_params.push(format!("{lif} lif populations do not convert: {e}"));
            }
            Ok(c) => {
                bad_params.extend(c.notes.iter().cloned());
                for p in c.projections.iter().filter(|p| p.zeroed > 0) {
                    bad_w.push(format!(
                        "'{}': {} of {} weights are 0 on the chip",
                        p.name, p.zeroed, p.synapses
                    ));
                }
            }
        }
        format!("{lif} lif (converted)")
    };
    (params, bad_params, "8 + weight_exp".into(), bad_w)
}

/// The model's weight bits (its fixed-point `weight_bits`, or `float`), and the
/// problems at `bits`: a fixed-point model with wider weights, and projections
/// whose weights round to 0 when every weight onto a (population, receptor)
/// shares one `bits`-bit mantissa scale (as on Loihi, Lava's `weight_exp`).
fn weight_check(net: &Network, built: &Built, bits: u32) -> (String, Vec<String>) {
    let mut bad = vec![];
    let mut widths = vec![];
    for p in &net.populations {
        if let (Some(fp), NeuronModel::Lif(_)) = (&p.fixed_point, &p.model) {
            widths.push(fp.weight_bits);
            if fp.weight_bits > bits {
                bad.push(format!("'{}' uses {}-bit weights", p.name, fp.weight_bits));
            }
        }
    }
    let mmax = f64::from((1u32 << (bits - 1)) - 1);
    for pi in 0..built.pops.len() {
        for r in 0..2 {
            let projs: Vec<_> = built
                .projs
                .iter()
                .filter(|pr| pr.post == pi && pr.receptor == r)
                .collect();
            // Ring values are proportional to the weights on one (population, receptor).
            let top = projs
                .iter()
                .flat_map(|pr| pr.wfix.iter(pr.len()))
                .map(|w| f64::from(w.unsigned_abs()))
                .fold(0.0, f64::max);
            for pr in projs {
                let zero = pr
                    .wfix
                    .iter(pr.len())
                    .filter(|&w| {
                        w != 0 && (f64::from(w.unsigned_abs()) / top * mmax).round() == 0.0
                    })
                    .count();
                if zero > 0 {
                    bad.push(format!(
                        "'{}': {zero} of {} weights round to 0 at {bits} bits",
                        pr.name,
                        pr.len()
                    ));
                }
            }
        }
    }
    widths.sort_unstable();
    widths.dedup();
    let model = if widths.is_empty() {
        "float".to_string()
    } else {
        widths
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    (model, bad)
}

impl FitReport {
    /// The report as text: one line per limit, then the verdict.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} on {}: {} cores on {} chip(s)\n",
            self.model, self.limits.chip, self.cores, self.chips
        );
        out += &format!("  {:<18} {:>14} {:>28}  status\n", "limit", "chip", "model");
        for c in &self.checks {
            out += &format!(
                "  {:<18} {:>14} {:>28}  {}\n",
                c.limit,
                c.allowed,
                c.model,
                if c.ok { "ok" } else { "VIOLATED" }
            );
            if !c.detail.is_empty() {
                out += &format!("      {}\n", c.detail);
            }
        }
        out += &format!(
            "  {}\n  sources: {}\n",
            if self.fits { "fits" } else { "does NOT fit" },
            self.limits.sources
        );
        out
    }
}
