//! Turns a validated [`Network`] into seeded arrays both backends run on:
//! per-population parameters and initial state, CSR projections with fixed-point
//! weights and integer delays, and input schedules.
use crate::connect::Rows;
use crate::model::{Input, Network};
use crate::neuron::{Neurons, Pop};
use crate::rng::BinomialTable;
use std::sync::Arc;

pub mod memory;
mod populations;
mod projections;

use populations::{build_inputs, build_pops, fixed_point_pops, grid_positions, poisson_drives};
use projections::{
    Weights, check_drive_rings, check_fixed_rings, open_files, quantise_projections,
    raw_projections,
};

/// Tags separating the construction random streams.
const TAG_POP: u64 = 1;
const TAG_PROJ: u64 = 2;
const TAG_WEIGHT: u64 = 3;
const TAG_GRID: u64 = 4;

/// First counter-RNG stream of noise inputs (stream = base + input index).
pub(crate) const STREAM_NOISE: u32 = 0x1_0000;
/// First counter-RNG stream of Poisson populations (stream = base + population index).
pub(crate) const STREAM_POISSON: u32 = 0x2_0000;
/// First counter-RNG stream of Poisson drives (stream = base + input index).
pub(crate) const STREAM_POISSON_INPUT: u32 = 0x3_0000;

/// SplitMix64 mixing of (seed, tag, index) into an independent sub-seed.
pub(crate) fn sub_seed(seed: u64, tag: u64, index: u64) -> u64 {
    let mut z =
        seed ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) use crate::neuron::poisson::PoissonKind;
#[cfg(feature = "gpu")]
pub(crate) use crate::neuron::poisson::PoissonSource;
pub(crate) use crate::neuron::spike_source::SpikeTrain;
pub(crate) use crate::neuron::{Dynamics, Sources};

/// A population ready to simulate.
#[derive(Debug, Clone)]
pub struct BuiltPop {
    /// Name.
    pub name: String,
    /// First global neuron id.
    pub offset: u32,
    /// Size.
    pub size: u32,
    /// Dynamics, parameters and initial state.
    pub(crate) dynamics: Dynamics,
    /// Ring-buffer depth in steps: the longest incoming delay (1 when nothing
    /// arrives). The slot of step t is read and cleared by the neuron phase before
    /// the propagation phase of step t adds anything, so deliveries for step
    /// t + depth can reuse it; with the usual one-step delay the ring is one slot.
    pub(crate) ring_depth: u32,
    /// Fixed-point scale per receptor: accumulated integer × `inv_scale` = input.
    pub(crate) inv_scale: [f32; 2],
    /// log2 of the fixed-point scale per receptor.
    pub(crate) scale_log2: [i32; 2],
    /// Grid positions, when on a grid.
    pub positions: Option<Vec<[f64; 3]>>,
}

/// Transmission delays of a projection, in steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delays {
    /// Every synapse has the same delay.
    Const(u16),
    /// One delay per synapse.
    PerSynapse(Vec<u16>),
}

/// A projection ready to simulate.
#[derive(Debug, Clone)]
pub struct BuiltProj {
    /// Display name.
    pub name: String,
    /// Presynaptic population index.
    pub pre: usize,
    /// Postsynaptic population index.
    pub post: usize,
    /// Receptor index on the target (0 exc, 1 inh).
    pub receptor: usize,
    /// CSR row pointers over pre neurons.
    pub row_ptr: Vec<u32>,
    /// Local target index of each synapse.
    pub targets: Vec<u32>,
    /// Fixed-point weights (scale of the target receptor).
    pub(crate) wfix: FixedWeights,
    /// Delays.
    pub(crate) delays: Delays,
    /// Plasticity data, for plastic projections.
    pub plastic: Option<BuiltPlastic>,
}

/// The fixed-point weights of a projection's synapses: one value for all of them
/// (constant weights are not expanded, which matters at 10^7 synapses) or one per
/// synapse in CSR order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FixedWeights {
    /// Every synapse has this weight.
    Same(i32),
    /// The weight of each synapse.
    Each(Vec<i32>),
}

impl FixedWeights {
    /// The weight of synapse `s`.
    #[inline]
    pub fn get(&self, s: usize) -> i32 {
        match self {
            FixedWeights::Same(w) => *w,
            FixedWeights::Each(v) => v[s],
        }
    }

    /// The one weight of every synapse of a projection of `n` synapses, where
    /// they share one (`None` for an empty projection).
    pub fn same(&self, n: usize) -> Option<i32> {
        match self {
            FixedWeights::Same(w) => (n > 0).then_some(*w),
            FixedWeights::Each(v) => v.first().copied().filter(|&w| v.iter().all(|&x| x == w)),
        }
    }

    /// The per-synapse weights, where they were given one by one.
    pub fn each(&self) -> Option<&[i32]> {
        match self {
            FixedWeights::Same(_) => None,
            FixedWeights::Each(v) => Some(v),
        }
    }

    /// The weights of `n` synapses, in CSR order.
    pub fn iter(&self, n: usize) -> impl Iterator<Item = i32> + '_ {
        (0..n).map(move |s| self.get(s))
    }
}

/// What a plastic projection adds: its rule, initial weights and an incoming index.
#[derive(Debug, Clone)]
pub struct BuiltPlastic {
    /// The rule's step constants.
    pub(crate) rule: crate::plasticity::stdp::StdpConsts,
    /// Initial weight of each synapse (weight units, within the rule's bounds).
    /// Instances copy it; delivery rounds `w · scale` to the ring's fixed point.
    pub w0: Vec<f32>,
    /// Fixed-point scale of the target receptor (a power of two).
    pub scale: f32,
    /// HLOP parameters (delta rule with orthogonal projection).
    pub(crate) hlop: Option<crate::plasticity::hlop::HlopParams>,
    /// The astrocyte setting the depression rate, when one does.
    pub(crate) modulation: Option<crate::plasticity::astrocyte::Modulation>,
    /// Incoming index (CSC) over post neurons: entries `col_ptr[i]..col_ptr[i + 1]`.
    pub(crate) col_ptr: Vec<u32>,
    /// Synapse index (into the CSR arrays) of each incoming entry.
    pub(crate) col_syn: Vec<u32>,
    /// Presynaptic neuron of each incoming entry.
    pub(crate) col_pre: Vec<u32>,
    /// A user-written rule's programs and columns (its `rule` then holds only
    /// the weight bounds).
    pub(crate) user: Option<crate::plasticity::BuiltUserRule>,
}

impl BuiltPlastic {
    fn new(
        rule: crate::plasticity::stdp::StdpConsts,
        w0: Vec<f32>,
        scale: f32,
        rows: &Rows,
        n_post: usize,
    ) -> Self {
        let mut col_ptr = vec![0u32; n_post + 1];
        for &t in &rows.targets {
            col_ptr[t as usize + 1] += 1;
        }
        for i in 0..n_post {
            col_ptr[i + 1] += col_ptr[i];
        }
        let mut fill = col_ptr.clone();
        let mut col_syn = vec![0u32; rows.targets.len()];
        let mut col_pre = vec![0u32; rows.targets.len()];
        // Synapses in CSR order, so each column lists its entries by ascending pre.
        for j in 0..rows.row_ptr.len() - 1 {
            for s in rows.row_ptr[j]..rows.row_ptr[j + 1] {
                let t = rows.targets[s as usize] as usize;
                let at = fill[t] as usize;
                col_syn[at] = s;
                col_pre[at] = j as u32;
                fill[t] += 1;
            }
        }
        BuiltPlastic {
            rule,
            user: None,
            hlop: None,
            modulation: None,
            w0,
            scale,
            col_ptr,
            col_syn,
            col_pre,
        }
    }

    /// Bytes of the plasticity arrays shared by instances.
    pub fn bytes(&self) -> usize {
        (self.w0.len() + self.col_ptr.len() + self.col_syn.len() + self.col_pre.len()) * 4
    }
}

impl BuiltProj {
    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the projection has no synapse.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Bytes used by the synapse arrays.
    pub fn bytes(&self) -> usize {
        self.row_ptr.len() * 4
            + self.targets.len() * 4
            + self.wfix.each().map_or(0, |w| w.len() * 4)
            + match &self.delays {
                Delays::Const(_) => 0,
                Delays::PerSynapse(d) => d.len() * 2,
            }
            + self.plastic.as_ref().map_or(0, BuiltPlastic::bytes)
    }
}

/// A current input, resolved to steps and indices.
#[derive(Debug, Clone)]
pub(crate) enum BuiltInput {
    /// Gaussian noise `mean + std·N(0,1)` per neuron per step.
    Noise {
        /// Target population.
        pop: usize,
        /// Neurons (None: all).
        ids: Option<Vec<u32>>,
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
        /// Counter-RNG stream.
        stream: u32,
    },
    /// Constant current on steps `[start, stop)`.
    Current {
        /// Target population.
        pop: usize,
        /// Neurons (None: all).
        ids: Option<Vec<u32>>,
        /// Amplitude.
        amplitude: f32,
        /// First step.
        start: u64,
        /// First step after.
        stop: u64,
    },
    /// A private Poisson drive ([`crate::model::PoissonInput`]): `wfix × k` into
    /// the ring slot of the current step, `k` drawn per neuron from `table` with
    /// word `i % 4` of block `(stream, 0, step, i / 4)` (see
    /// `crate::rng::add_binomial_drive`).
    Poisson {
        /// Target population.
        pop: usize,
        /// Neurons (None: all); no repeats.
        ids: Option<Vec<u32>>,
        /// Receptor index (0 exc, 1 inh).
        receptor: usize,
        /// Weight of one source spike in the receptor's fixed point.
        wfix: i32,
        /// Binomial(n, rate·dt) sampler.
        table: BinomialTable,
        /// Counter-RNG stream.
        stream: u32,
    },
}

impl BuiltInput {
    /// The population the input acts on.
    pub fn pop(&self) -> usize {
        match self {
            BuiltInput::Noise { pop, .. }
            | BuiltInput::Current { pop, .. }
            | BuiltInput::Poisson { pop, .. } => *pop,
        }
    }
}

/// A network turned into arrays.
#[derive(Debug, Clone)]
pub struct Built {
    /// Model name.
    pub name: String,
    /// Step, ms.
    pub dt_ms: f64,
    /// Seed of construction: connectivity, weights, delays, neuron parameters.
    pub seed: u64,
    /// Seed of this instance's initial state and per-step randomness (noise,
    /// Poisson sources); equal to `seed` unless made by [`Built::instance`].
    pub instance_seed: u64,
    /// Populations in global-id order.
    pub pops: Vec<BuiltPop>,
    /// Projections, shared by every instance of a batch.
    pub projs: Arc<[BuiltProj]>,
    /// Current inputs.
    pub(crate) inputs: Vec<BuiltInput>,
    /// Out-degree of every global neuron (for synaptic-event counts).
    pub(crate) out_degree: Vec<u32>,
    /// Astrocytes.
    pub(crate) astros: Arc<[crate::plasticity::astrocyte::BuiltAstro]>,
    /// What the build did that the model may not mean (initial weights
    /// clipped by a rule's bounds, ...); the CLI prints them.
    pub warnings: Vec<String>,
}

impl BuiltPop {
    /// Model units of one ring unit of a static weight on `receptor`.
    pub(crate) fn weight_lsb(&self, receptor: usize) -> f64 {
        match &self.dynamics {
            Dynamics::Neurons(Neurons::LifFixed(fx)) => fx.k.weight_unit(receptor),
            _ => (-f64::from(self.scale_log2[receptor])).exp2(),
        }
    }
}

impl Built {
    /// Lava's integer weights of projection `k` (of `net`, which this was
    /// built from) onto a `loihi_lif` population, in CSR order, and the shift
    /// that took them into the ring (`weight_exp` plus the ring's input shift;
    /// exact while it is at most 23); `None` for other targets.
    pub(crate) fn loihi_mantissas(&self, net: &Network, k: usize) -> Option<(u32, Vec<i32>)> {
        let pr = &self.projs[k];
        let Dynamics::Neurons(Neurons::LoihiLif(post)) = &self.pops[pr.post].dynamics else {
            return None;
        };
        let e = net.projections[k]
            .loihi
            .as_ref()
            .map_or(0, |l| l.weight_exp);
        let shift = post.k.weight_shift(pr.receptor, e);
        Some((shift, pr.wfix.iter(pr.len()).map(|w| w >> shift).collect()))
    }

    /// Another instance of this network for a batch: the same connectivity (shared,
    /// not copied), weights, delays and neuron parameters, with initial state and
    /// per-step randomness from `instance_seed`. An instance whose seed is the
    /// construction seed is the network itself, so a batch of one reproduces a
    /// single run, and instance `b` of a batch equals a single run made with the
    /// same construction seed and instance seed.
    ///
    /// ```
    /// # use astroglia::model::*;
    /// let mut net = Network::new(0.1, 10.0);
    /// net.add_population(Population::new("n", 8, NeuronModel::Lif(LifParams::default()))
    ///     .init("v", Dist::Uniform { low: -70.0, high: -50.0 }));
    /// let built = astroglia::build::build(&net, 1).unwrap();
    /// let other = built.instance(&net, 2).unwrap();
    /// assert!(std::sync::Arc::ptr_eq(&built.projs, &other.projs));
    /// assert_eq!(other.instance_seed, 2);
    /// ```
    pub fn instance(&self, net: &Network, instance_seed: u64) -> crate::Result<Built> {
        let mut none = vec![None; net.populations.len()];
        let fresh = build_pops(net, self.seed, instance_seed, &mut none)?;
        if fresh.len() != self.pops.len() {
            return Err(crate::Error::incompatible(
                "network",
                "Built::instance: the network is not the one this was built from",
            ));
        }
        // Only the state is new: copy the rest field by field rather than clone
        // whole populations (state included) and overwrite it.
        let pops = self
            .pops
            .iter()
            .zip(fresh)
            .map(|(base, f)| BuiltPop {
                name: base.name.clone(),
                offset: base.offset,
                size: base.size,
                // A fixed-point population keeps its constants and quantises the new state.
                dynamics: match (&base.dynamics, f.dynamics) {
                    (
                        Dynamics::Neurons(Neurons::LifFixed(fx)),
                        Dynamics::Neurons(Neurons::Lif(lif)),
                    ) => Dynamics::Neurons(Neurons::LifFixed(Pop {
                        k: fx.k,
                        s: fx.k.quantise_state(&lif.s),
                    })),
                    // The input shift is set once the projections are known.
                    (
                        Dynamics::Neurons(Neurons::LoihiLif(lo)),
                        Dynamics::Neurons(Neurons::LoihiLif(fresh)),
                    ) => Dynamics::Neurons(Neurons::LoihiLif(Pop {
                        k: lo.k,
                        s: fresh.s,
                    })),
                    (_, d) => d,
                },
                ring_depth: base.ring_depth,
                inv_scale: base.inv_scale,
                scale_log2: base.scale_log2,
                positions: base.positions.clone(),
            })
            .collect();
        Ok(Built {
            name: self.name.clone(),
            dt_ms: self.dt_ms,
            seed: self.seed,
            instance_seed,
            pops,
            projs: self.projs.clone(),
            inputs: self.inputs.clone(),
            out_degree: self.out_degree.clone(),
            astros: self.astros.clone(),
            warnings: self.warnings.clone(),
        })
    }

    /// Total neurons (sources included).
    pub fn n_neurons(&self) -> u32 {
        self.pops.iter().map(|p| p.size).sum()
    }

    /// Total synapses.
    pub fn n_synapses(&self) -> usize {
        self.projs.iter().map(|p| p.len()).sum()
    }

    /// Bytes of synapse storage (CSR arrays).
    pub fn synapse_bytes(&self) -> usize {
        self.projs.iter().map(|p| p.bytes()).sum()
    }

    /// Bytes of neuron state, parameters and ring buffers.
    pub fn neuron_bytes(&self) -> usize {
        self.pops
            .iter()
            .map(|p| {
                let n = p.size as usize;
                let state = match &p.dynamics {
                    Dynamics::Neurons(x) => x.bytes_per_neuron() * n,
                    Dynamics::Source(_) => 0,
                };
                let ring = if p.dynamics_is_source() {
                    0
                } else {
                    2 * p.ring_depth as usize * n * 4
                };
                state + ring + 4 * n
            })
            .sum()
    }

    /// Population index and local index of a global id.
    pub fn locate(&self, id: u32) -> Option<(usize, u32)> {
        let k = self
            .pops
            .partition_point(|p| p.offset <= id)
            .checked_sub(1)?;
        let p = &self.pops[k];
        (id - p.offset < p.size).then_some((k, id - p.offset))
    }
}

/// `x.round() as i32`, without the libm call that `round()` is on the baseline
/// x86-64 target (it dominated the quantisation of large projections).
fn round_to_i32(x: f64) -> i32 {
    // 2^52: from here on every f64 is an integer.
    if !(x.abs() < 4_503_599_627_370_496.0) {
        return x.round() as i32;
    }
    // Both steps are exact: truncation of |x| < 2^52 and the fractional part.
    let t = x as i64;
    let frac = x - t as f64;
    // Branch-free: with random weights the direction is unpredictable.
    let r = t + (frac >= 0.5) as i64 - (frac <= -0.5) as i64;
    // Saturate exactly as `f64 as i32` does.
    r.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// Builds the network with `seed`. The network must have passed validation.
pub fn build(net: &Network, seed: u64) -> crate::Result<Built> {
    net.validate()?;
    // Connectivity files are opened first: their synapse counts enter the estimate.
    let mut files = open_files(net)?;
    let known: Vec<_> = files
        .iter()
        .map(|f| f.as_ref().map(|f| f.known()))
        .collect();
    memory::check_with(net, net.source_name(), &known)?;
    let dt = net.dt_ms;
    let mut positions = grid_positions(net, seed);

    let mut pops = build_pops(net, seed, seed, &mut positions)?;

    // Connectivity and float weights first; quantised once every incoming sum is known.
    let mut raws = raw_projections(net, seed, &pops, &mut files)?;
    projections::loihi_rings(net, &mut pops, &mut raws)?;
    let warnings = clipping_warnings(&raws);

    // Poisson drives: their largest count per step enters the receptor scales below.
    let drives = poisson_drives(net)?;

    // Fixed-point scale per (post population, receptor): the largest power of two such
    // that the sum of |w| over all synapses onto any neuron, plus the most any Poisson
    // drive can add in one step, fits in an i32, so ring accumulation can never
    // overflow whatever arrives in one step.
    let mut sums: Vec<[Vec<f64>; 2]> = pops
        .iter()
        .map(|p| [vec![0.0; p.size as usize], vec![0.0; p.size as usize]])
        .collect();
    for d in &drives {
        let most = f64::from(d.table.max()) * d.weight.abs();
        let s = &mut sums[d.pop][d.receptor];
        match &net.inputs[d.input] {
            Input::Poisson(x) if x.ids.is_some() => {
                x.ids.iter().flatten().for_each(|&i| s[i as usize] += most)
            }
            _ => s.iter_mut().for_each(|x| *x += most),
        }
    }
    for r in &raws {
        let s = &mut sums[r.post][r.receptor];
        match r.rule.map(|rule| rule.bounds()) {
            // A plastic weight can reach either bound.
            Some((lo, hi)) => {
                let m = lo.abs().max(hi.abs());
                r.rows.targets.iter().for_each(|t| s[*t as usize] += m);
            }
            None => match &r.w {
                Weights::Same(c) => {
                    let a = c.abs();
                    r.rows.targets.iter().for_each(|t| s[*t as usize] += a);
                }
                Weights::Each(w) => {
                    for (t, w) in r.rows.targets.iter().zip(w) {
                        s[*t as usize] += w.abs();
                    }
                }
            },
        }
        let maxd = match &r.delays {
            Delays::Const(d) => *d as u32,
            Delays::PerSynapse(v) => v.iter().copied().max().unwrap_or(1) as u32,
        };
        pops[r.post].ring_depth = pops[r.post].ring_depth.max(maxd);
    }
    let drive_w: Vec<[f64; 1]> = drives.iter().map(|d| [d.weight]).collect();
    fixed_point_pops(
        net,
        &mut pops,
        &sums,
        &raws
            .iter()
            .map(|r| (r.post, r.receptor, r.w.values()))
            .chain(
                drives
                    .iter()
                    .zip(&drive_w)
                    .map(|(d, w)| (d.pop, d.receptor, &w[..])),
            )
            .collect::<Vec<_>>(),
    );
    for (p, s) in pops.iter_mut().zip(&sums) {
        if matches!(
            p.dynamics,
            Dynamics::Neurons(Neurons::LifFixed(_) | Neurons::LoihiLif(_))
        ) {
            continue;
        }
        for (rc, sums) in s.iter().enumerate() {
            let max = sums.iter().cloned().fold(0.0f64, f64::max);
            let k = if max > 0.0 {
                ((i32::MAX as f64) / max).log2().floor().clamp(-60.0, 60.0) as i32
            } else {
                24
            };
            p.scale_log2[rc] = k;
            p.inv_scale[rc] = (2.0f64).powi(-k) as f32;
        }
    }
    let (mut projs, out_degree) = quantise_projections(raws, &pops, dt);

    // The Poisson drives in the receptors' fixed point.
    let mut drive_fix = Vec::with_capacity(drives.len());
    for d in &drives {
        let p = &pops[d.pop];
        let wfix = match &p.dynamics {
            Dynamics::Neurons(Neurons::LifFixed(fx)) => fx.k.weight(d.receptor, d.weight),
            Dynamics::Neurons(Neurons::LoihiLif(lo)) => {
                let s = crate::neuron::LoihiSynapses::default();
                s.weights(&[d.weight])[0] << lo.k.in_shift[d.receptor]
            }
            _ => round_to_i32(d.weight * (2.0f64).powi(p.scale_log2[d.receptor])),
        };
        if wfix == 0 && d.weight != 0.0 {
            return Err(crate::Error::model_issue(
                net.source_name(),
                format!("inputs[{}].poisson.weight", d.input),
                format!(
                    "poisson into '{}': weight {} rounds to 0 at the receptor's fixed-point \
                     scale (one unit is {}); the other input onto the receptor is too large \
                     next to it",
                    p.name, d.weight, p.inv_scale[d.receptor]
                ),
            ));
        }
        drive_fix.push((d.pop, d.receptor, d.input, wfix, d.table.max()));
    }
    check_fixed_rings(&pops, &projs, &drive_fix, net)?;
    check_drive_rings(&pops, &projs, &drive_fix, net)?;

    let inputs = build_inputs(net, drives, &drive_fix);

    let (astros, mods) = crate::plasticity::astrocyte::build_astrocytes(net, &pops);
    for (pr, m) in projs.iter_mut().zip(mods) {
        if let (Some(pl), Some(m)) = (&mut pr.plastic, m) {
            pl.modulation = Some(m);
        }
    }
    Ok(Built {
        astros: astros.into(),
        name: net.name.clone().unwrap_or_else(|| "network".into()),
        dt_ms: dt,
        seed,
        instance_seed: seed,
        pops,
        projs: projs.into(),
        inputs,
        out_degree,
        warnings,
    })
}

/// A warning for each plastic projection whose rule's bounds clipped more
/// than 1 % of its initial weights: bounds in the wrong unit (a `w_max` of 1
/// against weights of 20 pA) clip silently otherwise.
fn clipping_warnings(raws: &[projections::Raw]) -> Vec<String> {
    let mut out = vec![];
    for r in raws {
        let (Some(rule), ns) = (r.rule, r.rows.targets.len()) else {
            continue;
        };
        if r.clipped * 100 > ns {
            let (lo, hi) = rule.bounds();
            out.push(format!(
                "projection '{}': {} of {ns} initial weights ({:.1} %) lie outside its rule's \
                 bounds [{lo}, {hi}] and were clipped to them (the bounds are in the \
                 projection's weight unit)",
                r.name,
                r.clipped,
                100.0 * r.clipped as f64 / ns as f64
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::round_to_i32;

    #[test]
    fn round_to_i32_matches_round_then_cast() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            2_147_483_647.4,
            2_147_483_647.5,
            -2_147_483_648.5,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        let mut z = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let scale = [1.0, 1e3, 1e6, 1e9, 1e12][(z % 5) as usize];
            xs.push(((z >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * scale);
            xs.push((z % 20_000) as f64 / 4.0 - 2500.0);
        }
        for x in xs {
            assert_eq!(round_to_i32(x), x.round() as i32, "{x}");
        }
    }
}
