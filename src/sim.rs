//! The [`Simulator`] facade: owns a backend, runs steps in chunks, keeps the
//! summary statistics of every spike and the recordings the monitors ask for.
use crate::analysis::{BranchingParams, BranchingReport, branching_factor, rate_hz};
use crate::analysis::{IsiStats, LiquidGraph, SpikeHasher};
use crate::backend::{Backend, CpuBackend, GpuBackend, Spike, ThirdFactor};
use crate::build::{Built, build};
use crate::model::Network;
use crate::record::{PopSpikes, RateTrace, Recording, StateTrace, WeightTrace};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Which backend runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// The CPU reference.
    #[default]
    Cpu,
    /// The wgpu/WGSL backend on the best (or the chosen) GPU adapter.
    Gpu,
}

/// Options of a run that are not part of the model.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Overrides the model's seed.
    pub seed: Option<u64>,
    /// Backend.
    pub backend: BackendKind,
    /// Worker threads of the CPU backend (0 or 1: single-threaded). Results do not
    /// depend on it.
    pub threads: usize,
    /// GPU adapter by name substring (default: `ASTROGLIA_ADAPTER`, else the best
    /// adapter: discrete, integrated, virtual, then CPU).
    pub adapter: Option<String>,
    /// Independent instances run side by side over one copy of the connectivity
    /// (0 or 1: a single run). Instance `b` draws its initial state and per-step
    /// randomness from seed + `b`; connectivity and parameters come from the seed.
    pub batch: usize,
    /// Explicit instance seeds, overriding `batch` (one instance per seed).
    pub instance_seeds: Option<Vec<u64>>,
}

impl SimOptions {
    /// The instance seeds of a run whose construction seed is `seed`.
    pub fn instance_seeds(&self, seed: u64) -> Vec<u64> {
        match &self.instance_seeds {
            Some(s) => s.clone(),
            None => consecutive_seeds(seed, self.batch.max(1)),
        }
    }
}

/// `seed`, `seed + 1`, … for `n` instances.
fn consecutive_seeds(seed: u64, n: usize) -> Vec<u64> {
    (0..n as u64).map(|b| seed.wrapping_add(b)).collect()
}

/// Per-population figures of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopSummary {
    /// Neurons.
    pub size: u32,
    /// Spikes emitted.
    pub spikes: u64,
    /// spikes / (size × duration).
    pub rate_hz: f64,
    /// Mean CV of ISIs over neurons with ≥ 3 spikes (null when none).
    pub cv_isi: Option<f64>,
}

/// Bytes of synapse and neuron storage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryBytes {
    /// CSR arrays of all projections.
    pub synapses: u64,
    /// State, parameters and delay rings.
    pub neurons: u64,
}

/// The stable `summary.json` schema of DESIGN.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// Device description.
    pub device: String,
    /// Seed.
    pub seed: u64,
    /// Step, ms.
    pub dt_ms: f64,
    /// Simulated time, ms.
    pub duration_ms: f64,
    /// Steps run.
    pub steps: u64,
    /// Network construction time, s.
    pub build_s: f64,
    /// Simulation loop time, s.
    pub sim_s: f64,
    /// Wall time per phase of the step (`inputs`, `neurons`, `propagate`,
    /// `plasticity`: `sim_s` shared out by the phases' shares of the steps timed,
    /// one in 8, of instance 0 of a batch; absent on the GPU, whose phases
    /// overlap on the device) and
    /// `record` (draining, tallying and monitoring spikes, outside `sim_s`), s.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub phase_s: BTreeMap<String, f64>,
    /// Whole run time (set by the caller), s.
    pub wall_s: f64,
    /// Per population.
    pub populations: BTreeMap<String, PopSummary>,
    /// Σ over spikes of the spiking neuron's out-degree.
    pub synaptic_events: u64,
    /// synaptic_events / sim_s.
    pub events_per_s: f64,
    /// Storage.
    pub memory_bytes: MemoryBytes,
    /// SHA-256 over (step, id) little-endian u32 pairs sorted by step then id.
    pub spikes_sha256: String,
    /// Per plastic projection, its weight statistics (instance 0; absent without
    /// plasticity). Filled by [`Simulator::plasticity_summary`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub plasticity: BTreeMap<String, PlasticSummary>,
    /// Branching factor of the liquid per sample and their mean (instance 0;
    /// present when `[monitors.branching]` is set and a whole sample ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branching_factor: Option<BranchingReport>,
    /// Every instance of a batch (absent for a single run; the fields above are
    /// then those of instance 0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceSummary>,
}

/// Weight statistics of a plastic projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlasticSummary {
    /// Mean weight.
    pub mean_w: f64,
    /// The rule's lower bound.
    pub w_min: f64,
    /// The rule's upper bound.
    pub w_max: f64,
    /// Fraction of weights above `w_min + 0.9 (w_max − w_min)`.
    pub frac_above_90pct: f64,
    /// Fraction of weights below `w_min + 0.1 (w_max − w_min)`.
    pub frac_below_10pct: f64,
    /// Counts in [`PlasticSummary::HIST_BINS`] equal bins over `[w_min, w_max]`.
    pub hist: Vec<u64>,
}

impl PlasticSummary {
    /// Bins of [`PlasticSummary::hist`].
    pub const HIST_BINS: usize = 20;

    /// Statistics of weights `w` within bounds `[w_min, w_max]`.
    ///
    /// ```
    /// use astroglia::sim::PlasticSummary;
    /// let s = PlasticSummary::of(&[0.0, 0.05, 0.5, 0.95, 1.0], 0.0, 1.0);
    /// assert_eq!(s.frac_above_90pct, 0.4);
    /// assert_eq!(s.frac_below_10pct, 0.4);
    /// assert_eq!(s.hist.iter().sum::<u64>(), 5);
    /// ```
    pub fn of(w: &[f32], w_min: f64, w_max: f64) -> Self {
        let n = w.len().max(1) as f64;
        let range = w_max - w_min;
        let rel = |x: f32| (x as f64 - w_min) / range;
        let hist = crate::record::WeightTrace::histogram(w, w_min, w_max, Self::HIST_BINS);
        PlasticSummary {
            mean_w: w.iter().map(|&x| x as f64).sum::<f64>() / n,
            w_min,
            w_max,
            frac_above_90pct: w.iter().filter(|&&x| rel(x) > 0.9).count() as f64 / n,
            frac_below_10pct: w.iter().filter(|&&x| rel(x) < 0.1).count() as f64 / n,
            hist,
        }
    }
}

/// The figures of one instance of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSummary {
    /// Seed of the instance's initial state and per-step randomness.
    pub seed: u64,
    /// Per population.
    pub populations: BTreeMap<String, PopSummary>,
    /// Σ over spikes of the spiking neuron's out-degree.
    pub synaptic_events: u64,
    /// As [`Summary::spikes_sha256`].
    pub spikes_sha256: String,
}

struct PopMeta {
    name: String,
    offset: u32,
    size: u32,
}

/// A state monitor: what to read and how often.
struct StateCfg {
    /// Population index, or astrocyte index when `astro`.
    pop: usize,
    astro: bool,
    ids: Option<Vec<u32>>,
    var: String,
    every: u32,
}

/// A weight monitor: projection index, period, what to keep.
struct WeightCfg {
    proj: usize,
    every: u32,
    full: bool,
    bins: u32,
}

/// The branching monitor: the liquid's graph, where each population's ids start
/// in it, and the sample length.
struct BranchingCfg {
    graph: LiquidGraph,
    pops: Vec<(usize, u32)>,
    sample_steps: u64,
}

/// A rate monitor: population, bin in steps and in ms.
struct RateCfg {
    pop: usize,
    bin: u64,
    bin_ms: f64,
}

/// What one instance produced so far.
struct Tally {
    seed: u64,
    counts: Vec<u64>,
    isi: Vec<IsiStats>,
    hasher: SpikeHasher,
    events: u64,
    spike_rec: Vec<Option<PopSpikes>>,
    states: Vec<StateTrace>,
    rates: Vec<Vec<u64>>,
    weights: Vec<WeightTrace>,
}

/// Runs a network and collects what it produced.
///
/// ```
/// use astroglia::model::*;
/// use astroglia::sim::{Simulator, SimOptions};
/// let mut net = Network::new(0.1, 50.0);
/// net.add_population(Population::new("n", 4, NeuronModel::Lif(LifParams::default())));
/// net.add_input(Input::Current(CurrentInput {
///     target: "n".into(), ids: None, amplitude: 500.0, start_ms: 0.0, stop_ms: None }));
/// let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
/// sim.run_ms(50.0).unwrap();
/// let s = sim.summary();
/// assert!(s.populations["n"].spikes > 0);
/// let v = sim.state("n", "v").unwrap();
/// assert_eq!(v.len(), 4);
/// ```
///
/// A batch runs independent instances over one copy of the connectivity:
///
/// ```
/// use astroglia::model::*;
/// use astroglia::sim::{Simulator, SimOptions};
/// let mut net = Network::new(0.1, 50.0);
/// net.add_population(Population::new("n", 100, NeuronModel::Lif(LifParams::default()))
///     .init("v", Dist::Uniform { low: -70.0, high: -50.0 }));
/// net.add_input(Input::Noise(NoiseInput {
///     target: "n".into(), ids: None, mean: 300.0, std: 200.0 }));
/// let opts = SimOptions { seed: Some(3), batch: 4, ..Default::default() };
/// let mut sim = Simulator::new(&net, opts).unwrap();
/// sim.run_ms(50.0).unwrap();
/// let s = sim.summary();
/// assert_eq!(s.instances.len(), 4);
/// assert_eq!(s.instances[2].seed, 5);
/// assert_ne!(s.instances[0].spikes_sha256, s.instances[1].spikes_sha256);
/// ```
pub struct Simulator {
    backend: Box<dyn Backend>,
    name: String,
    dt_ms: f64,
    seed: u64,
    pops: Vec<PopMeta>,
    out_degree: Vec<u32>,
    memory: MemoryBytes,
    step: u64,
    build_s: f64,
    sim_s: f64,
    /// Time spent draining spikes, tallying and monitoring, s.
    record_s: f64,
    spike_mask: Vec<Option<Vec<bool>>>,
    state_cfg: Vec<StateCfg>,
    rate_cfg: Vec<RateCfg>,
    weight_cfg: Vec<WeightCfg>,
    branching: Option<BranchingCfg>,
    tallies: Vec<Tally>,
    bufs: Vec<Vec<Spike>>,
    /// Projections: display name and, when plastic, the rule's bounds.
    projs: Vec<(String, Option<(f64, f64)>)>,
    /// Astrocyte names.
    astro_names: Vec<String>,
}

impl Simulator {
    /// Validates and builds `net` (with [`SimOptions::instance_seeds`] for a
    /// batch), then creates the backend.
    pub fn new(net: &Network, opts: SimOptions) -> crate::Result<Self> {
        let t0 = Instant::now();
        let seed = opts.seed.unwrap_or(net.seed);
        let built = build(net, seed)?;
        let seeds = opts.instance_seeds(seed);
        if seeds.is_empty() {
            return Err(crate::Error::Invalid(
                "instance_seeds: at least one seed is needed".into(),
            ));
        }
        let meta = built_meta(&built, net)?;
        let instances = seeds
            .iter()
            .map(|&s| {
                if s == seed {
                    Ok(built.clone())
                } else {
                    built.instance(net, s)
                }
            })
            .collect::<crate::Result<Vec<_>>>()?;
        let backend: Box<dyn Backend> = match opts.backend {
            BackendKind::Cpu => Box::new(CpuBackend::batched(instances, opts.threads)?),
            BackendKind::Gpu => Box::new(GpuBackend::batched(&instances, opts.adapter.as_deref())?),
        };
        Self::assemble(net, meta, &seeds, backend, t0)
    }

    /// Creates a simulator over an already built network and a backend (one
    /// instance, or [`Backend::batch`] instances with seeds `built.instance_seed`
    /// + b).
    pub fn with_backend(
        net: &Network,
        built: &Built,
        backend: Box<dyn Backend>,
    ) -> crate::Result<Self> {
        let seeds = consecutive_seeds(built.instance_seed, backend.batch());
        Self::assemble(
            net,
            built_meta(built, net)?,
            &seeds,
            backend,
            Instant::now(),
        )
    }

    fn assemble(
        net: &Network,
        meta: BuiltMeta,
        seeds: &[u64],
        backend: Box<dyn Backend>,
        t0: Instant,
    ) -> crate::Result<Self> {
        if backend.batch() != seeds.len() {
            return Err(crate::Error::Invalid(format!(
                "the backend runs {} instances, {} seeds given",
                backend.batch(),
                seeds.len()
            )));
        }
        let idx = |name: &str| net.population_index(name).expect("validated");
        let np = meta.pops.len();
        let mut spike_mask: Vec<Option<Vec<bool>>> = vec![None; np];
        let mut want = |pi: usize, ids: &Option<Vec<u32>>| {
            let m = spike_mask[pi].get_or_insert_with(|| vec![false; meta.pops[pi].size as usize]);
            match ids {
                None => m.iter_mut().for_each(|x| *x = true),
                Some(ids) => ids.iter().for_each(|&i| m[i as usize] = true),
            }
        };
        match &net.monitors.spikes {
            None => (0..np).for_each(|pi| want(pi, &None)),
            Some(list) => list.iter().for_each(|m| want(idx(&m.population), &m.ids)),
        }
        // The branching factor needs every spike of the liquid.
        if let Some(b) = &meta.branching {
            b.pops.iter().for_each(|&(pi, _)| want(pi, &None));
        }
        let state_cfg: Vec<StateCfg> = net
            .monitors
            .state
            .iter()
            .map(|m| StateCfg {
                pop: idx(&m.population),
                astro: false,
                ids: m.ids.clone(),
                var: m.var.clone(),
                every: m.every,
            })
            .chain(net.monitors.astrocytes.iter().map(|m| {
                StateCfg {
                    pop: net
                        .astrocytes
                        .iter()
                        .position(|a| a.name == m.astrocyte)
                        .expect("validated"),
                    astro: true,
                    ids: None,
                    var: "A".into(),
                    every: m.every,
                }
            }))
            .collect();
        let rate_cfg: Vec<RateCfg> = net
            .monitors
            .rate
            .iter()
            .map(|m| {
                let bin = ((m.bin_ms / meta.dt_ms).round() as u64).max(1);
                RateCfg {
                    pop: idx(&m.population),
                    bin,
                    bin_ms: bin as f64 * meta.dt_ms,
                }
            })
            .collect();
        let projs: Vec<(String, Option<(f64, f64)>)> = net
            .projections
            .iter()
            .map(|p| (p.label(), p.plasticity.as_ref().map(|r| r.bounds())))
            .collect();
        let weight_cfg: Vec<WeightCfg> = net
            .monitors
            .weights
            .iter()
            .map(|m| WeightCfg {
                proj: projs
                    .iter()
                    .position(|p| p.0 == m.projection)
                    .expect("validated"),
                every: m.every,
                full: m.full,
                bins: m.bins,
            })
            .collect();
        let weight_traces: Vec<WeightTrace> = weight_cfg
            .iter()
            .map(|c| {
                let (w_min, w_max) = projs[c.proj].1.expect("validated plastic");
                let (pre, post) = meta.synapses[c.proj].clone().expect("monitored");
                WeightTrace {
                    projection: projs[c.proj].0.clone(),
                    every: c.every,
                    w_min,
                    w_max,
                    pre,
                    post,
                    bins: c.bins,
                    ..Default::default()
                }
            })
            .collect();
        let tallies = seeds
            .iter()
            .map(|&seed| Tally {
                seed,
                counts: vec![0; np],
                isi: meta
                    .pops
                    .iter()
                    .map(|p| IsiStats::new(p.size as usize))
                    .collect(),
                hasher: SpikeHasher::new(),
                events: 0,
                spike_rec: (0..np)
                    .map(|pi| {
                        spike_mask[pi].as_ref().map(|_| PopSpikes {
                            population: meta.pops[pi].name.clone(),
                            size: meta.pops[pi].size,
                            ..Default::default()
                        })
                    })
                    .collect(),
                states: state_cfg
                    .iter()
                    .map(|c| StateTrace {
                        population: if c.astro {
                            net.astrocytes[c.pop].name.clone()
                        } else {
                            meta.pops[c.pop].name.clone()
                        },
                        var: c.var.clone(),
                        ids: c.ids.clone().unwrap_or_else(|| {
                            if c.astro {
                                let [x, y, z] = net.astrocytes[c.pop].domains;
                                (0..x * y * z).collect()
                            } else {
                                (0..meta.pops[c.pop].size).collect()
                            }
                        }),
                        every: c.every,
                        steps: vec![],
                        values: vec![],
                    })
                    .collect(),
                rates: vec![vec![]; rate_cfg.len()],
                weights: weight_traces.clone(),
            })
            .collect();
        Ok(Simulator {
            backend,
            name: meta.name,
            dt_ms: meta.dt_ms,
            seed: meta.seed,
            pops: meta.pops,
            out_degree: meta.out_degree,
            memory: meta.memory,
            step: 0,
            build_s: t0.elapsed().as_secs_f64(),
            sim_s: 0.0,
            record_s: 0.0,
            spike_mask,
            state_cfg,
            rate_cfg,
            bufs: vec![vec![]; seeds.len()],
            astro_names: net.astrocytes.iter().map(|a| a.name.clone()).collect(),
            projs,
            weight_cfg,
            branching: meta.branching,
            tallies,
        })
    }

    /// Step size in ms.
    pub fn dt_ms(&self) -> f64 {
        self.dt_ms
    }

    /// Steps run so far.
    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Instances in the batch.
    pub fn batch(&self) -> usize {
        self.tallies.len()
    }

    /// Runs for `ms` of simulated time (rounded to whole steps).
    pub fn run_ms(&mut self, ms: f64) -> crate::Result<()> {
        let n = (ms / self.dt_ms).round().max(0.0) as u64;
        self.run_steps(n, |_| {})
    }

    /// Runs `n` steps; `progress` is called with the number of steps done so far in
    /// this call after every chunk.
    pub fn run_steps(&mut self, n: u64, mut progress: impl FnMut(u64)) -> crate::Result<()> {
        const CHUNK: u64 = 1000;
        let start = self.step;
        let end = self.step + n;
        while self.step < end {
            let mut chunk = (end - self.step).min(CHUNK);
            let periods = self.state_cfg.iter().map(|c| c.every);
            for every in periods.chain(self.weight_cfg.iter().map(|c| c.every)) {
                let every = every as u64;
                let next = self.step.div_ceil(every) * every;
                chunk = chunk.min(next - self.step + 1);
            }
            let t = Instant::now();
            self.backend.run(self.step, chunk)?;
            let t_record = Instant::now();
            self.sim_s += (t_record - t).as_secs_f64();
            self.step += chunk;
            self.absorb_spikes()?;
            let last = self.step - 1;
            let mut vals = vec![];
            for (k, c) in self.state_cfg.iter().enumerate() {
                if last % c.every as u64 != 0 {
                    continue;
                }
                for (b, tally) in self.tallies.iter_mut().enumerate() {
                    if c.astro {
                        self.backend.read_astrocyte(b, c.pop, &mut vals)?;
                    } else {
                        self.backend
                            .read_instance_state(b, c.pop, &c.var, &mut vals)?;
                    }
                    let trace = &mut tally.states[k];
                    trace.steps.push(last);
                    match &c.ids {
                        None => trace.values.extend_from_slice(&vals),
                        Some(ids) => trace.values.extend(ids.iter().map(|&i| vals[i as usize])),
                    }
                }
            }
            for (k, c) in self.weight_cfg.iter().enumerate() {
                if last % c.every as u64 != 0 {
                    continue;
                }
                for (b, tally) in self.tallies.iter_mut().enumerate() {
                    self.backend.read_weights(b, c.proj, &mut vals)?;
                    let trace = &mut tally.weights[k];
                    trace.steps.push(last);
                    let h =
                        WeightTrace::histogram(&vals, trace.w_min, trace.w_max, c.bins as usize);
                    trace.hist.extend(h);
                    if c.full {
                        trace.values.extend_from_slice(&vals);
                    }
                }
            }
            self.record_s += t_record.elapsed().as_secs_f64();
            progress(self.step - start);
        }
        Ok(())
    }

    /// See [`Summary::phase_s`].
    fn phase_s(&self) -> BTreeMap<String, f64> {
        // The sampled times give each phase's share; the measured loop time
        // is what is shared out, so one preempted sampled step (counted 8 times)
        // skews the split but not the total.
        let sampled = self.backend.phase_times();
        let total: f64 = sampled.iter().flat_map(|t| t.seconds).sum();
        let scale = if total > 0.0 { self.sim_s / total } else { 0.0 };
        let mut out: BTreeMap<String, f64> = sampled
            .iter()
            .flat_map(|t| t.named())
            .map(|(k, v)| (k.to_string(), v * scale))
            .collect();
        out.insert("record".into(), self.record_s);
        out
    }

    fn absorb_spikes(&mut self) -> crate::Result<()> {
        self.bufs.iter_mut().for_each(Vec::clear);
        self.backend.drain_batch(&mut self.bufs)?;
        for (tally, buf) in self.tallies.iter_mut().zip(&self.bufs) {
            tally.absorb(
                buf,
                &self.pops,
                &self.out_degree,
                &self.spike_mask,
                &self.rate_cfg,
            );
        }
        Ok(())
    }

    fn tally(&self, instance: usize) -> crate::Result<&Tally> {
        self.tallies.get(instance).ok_or_else(|| {
            crate::Error::Invalid(format!(
                "no instance {instance} (the batch has {})",
                self.tallies.len()
            ))
        })
    }

    /// Current values of a state variable of a population (instance 0).
    pub fn state(&mut self, population: &str, var: &str) -> crate::Result<Vec<f32>> {
        self.instance_state(0, population, var)
    }

    /// Current values of a state variable of a population of `instance`.
    pub fn instance_state(
        &mut self,
        instance: usize,
        population: &str,
        var: &str,
    ) -> crate::Result<Vec<f32>> {
        let pi = self
            .pops
            .iter()
            .position(|p| p.name == population)
            .ok_or_else(|| crate::Error::Invalid(format!("no population named '{population}'")))?;
        self.tally(instance)?;
        let mut out = vec![];
        self.backend
            .read_instance_state(instance, pi, var, &mut out)?;
        Ok(out)
    }

    /// Index of the projection named `name` (its `name`, or `from->to`).
    fn proj_index(&self, name: &str) -> crate::Result<usize> {
        self.projs.iter().position(|p| p.0 == name).ok_or_else(|| {
            let known: Vec<&str> = self.projs.iter().map(|p| p.0.as_str()).collect();
            crate::Error::Invalid(format!(
                "no projection named '{name}' (known: {})",
                known.join(", ")
            ))
        })
    }

    /// Current weights of projection `name` in `instance` (weight units, synapses
    /// in CSR order: by presynaptic neuron).
    pub fn weights(&mut self, instance: usize, name: &str) -> crate::Result<Vec<f32>> {
        let k = self.proj_index(name)?;
        self.tally(instance)?;
        let mut out = vec![];
        self.backend.read_weights(instance, k, &mut out)?;
        Ok(out)
    }

    /// Overwrites the weights of plastic projection `name` in `instance` (clipped
    /// to the rule's bounds).
    pub fn set_weights(&mut self, instance: usize, name: &str, w: &[f32]) -> crate::Result<()> {
        let k = self.proj_index(name)?;
        self.tally(instance)?;
        self.backend.write_weights(instance, k, w)
    }

    /// A plasticity trace of projection `name` in `instance`: `r1`, `r2`
    /// (presynaptic, per pre neuron) or `o1`, `o2` (postsynaptic).
    pub fn trace(&mut self, instance: usize, name: &str, var: &str) -> crate::Result<Vec<f32>> {
        let k = self.proj_index(name)?;
        self.tally(instance)?;
        let mut out = vec![];
        self.backend.read_trace(instance, k, var, &mut out)?;
        Ok(out)
    }

    /// Sets the modulator (reward) M of reward-modulated STDP projection `name`.
    pub fn set_modulator(&mut self, instance: usize, name: &str, m: f32) -> crate::Result<()> {
        self.third_factor(instance, name, ThirdFactor::Modulator(m))
    }

    /// Sets the error of every postsynaptic neuron of delta-rule projection `name`.
    pub fn set_error(&mut self, instance: usize, name: &str, error: &[f32]) -> crate::Result<()> {
        self.third_factor(instance, name, ThirdFactor::Error(error))
    }

    /// A third-factor command (modulator, error, HLOP learning or a new HLOP
    /// task) to projection `name` of `instance`.
    pub fn third_factor(
        &mut self,
        instance: usize,
        name: &str,
        cmd: ThirdFactor<'_>,
    ) -> crate::Result<()> {
        let k = self.proj_index(name)?;
        self.tally(instance)?;
        self.backend.third_factor(instance, k, cmd)
    }

    /// The depression rate A of every domain of astrocyte `name` in `instance`.
    pub fn astrocyte(&mut self, instance: usize, name: &str) -> crate::Result<Vec<f32>> {
        let k = self
            .astro_names
            .iter()
            .position(|a| a == name)
            .ok_or_else(|| crate::Error::Invalid(format!("no astrocyte named '{name}'")))?;
        self.tally(instance)?;
        let mut out = vec![];
        self.backend.read_astrocyte(instance, k, &mut out)?;
        Ok(out)
    }

    /// Weight statistics of every plastic projection of `instance`.
    pub fn plasticity_summary(
        &mut self,
        instance: usize,
    ) -> crate::Result<BTreeMap<String, PlasticSummary>> {
        let mut out = BTreeMap::new();
        for k in 0..self.projs.len() {
            let Some((lo, hi)) = self.projs[k].1 else {
                continue;
            };
            let mut w = vec![];
            self.backend.read_weights(instance, k, &mut w)?;
            out.insert(self.projs[k].0.clone(), PlasticSummary::of(&w, lo, hi));
        }
        Ok(out)
    }

    /// Spike counts so far, per population in model order (instance 0).
    pub fn spike_counts(&self) -> Vec<(String, u64)> {
        self.pops
            .iter()
            .zip(&self.tallies[0].counts)
            .map(|(p, &c)| (p.name.clone(), c))
            .collect()
    }

    /// SHA-256 of all spikes so far (see DESIGN.md), instance 0.
    pub fn spikes_sha256(&self) -> String {
        self.tallies[0].hasher.clone().finish()
    }

    /// What the monitors recorded so far (instance 0).
    pub fn recording(&self) -> Recording {
        self.instance_recording(0).expect("instance 0 exists")
    }

    /// What the monitors recorded so far in `instance`.
    pub fn instance_recording(&self, instance: usize) -> crate::Result<Recording> {
        let t = self.tally(instance)?;
        let duration_ms = self.step as f64 * self.dt_ms;
        Ok(Recording {
            dt_ms: self.dt_ms,
            duration_ms,
            spikes: t.spike_rec.iter().flatten().cloned().collect(),
            states: t.states.clone(),
            rates: self
                .rate_cfg
                .iter()
                .zip(&t.rates)
                .map(|(c, counts)| {
                    let nb = self.step.div_ceil(c.bin) as usize;
                    let size = self.pops[c.pop].size as f64;
                    let mut r: Vec<f64> = counts
                        .iter()
                        .map(|&n| n as f64 / (size * c.bin_ms / 1000.0))
                        .collect();
                    r.resize(nb, 0.0);
                    RateTrace {
                        population: self.pops[c.pop].name.clone(),
                        bin_ms: c.bin_ms,
                        rates_hz: r,
                    }
                })
                .collect(),
            weights: t.weights.clone(),
        })
    }

    /// The branching monitor's report for instance 0 (`None` without the monitor
    /// or before a whole sample has run).
    fn branching_report(&self) -> Option<BranchingReport> {
        let cfg = self.branching.as_ref()?;
        let samples = self.step / cfg.sample_steps;
        if samples == 0 {
            return None;
        }
        let t = &self.tallies[0];
        let spikes: Vec<(u64, u32)> = cfg
            .pops
            .iter()
            .filter_map(|&(pi, off)| Some((t.spike_rec[pi].as_ref()?, off)))
            .flat_map(|(rec, off)| {
                rec.steps
                    .iter()
                    .zip(&rec.ids)
                    .map(move |(&s, &i)| (s, off + i))
            })
            .collect();
        let starts: Vec<u64> = (0..samples).map(|k| k * cfg.sample_steps).collect();
        branching_factor(
            &cfg.graph,
            &spikes,
            &starts,
            cfg.sample_steps,
            self.dt_ms,
            &BranchingParams::default(),
        )
        .ok()
    }

    fn instance_summary(&self, t: &Tally) -> InstanceSummary {
        let duration_ms = self.step as f64 * self.dt_ms;
        let populations = self
            .pops
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let cv = t.isi[i].cv();
                (
                    p.name.clone(),
                    PopSummary {
                        size: p.size,
                        spikes: t.counts[i],
                        rate_hz: rate_hz(t.counts[i], p.size, duration_ms),
                        cv_isi: cv.is_finite().then_some(cv),
                    },
                )
            })
            .collect();
        InstanceSummary {
            seed: t.seed,
            populations,
            synaptic_events: t.events,
            spikes_sha256: t.hasher.clone().finish(),
        }
    }

    /// The run's summary (wall_s is left 0 for the caller to fill): instance 0's
    /// figures, and every instance's under `instances` for a batch.
    pub fn summary(&self) -> Summary {
        let first = self.instance_summary(&self.tallies[0]);
        let events: u64 = self.tallies.iter().map(|t| t.events).sum();
        Summary {
            model: self.name.clone(),
            backend: self.backend.name().into(),
            device: self.backend.device(),
            seed: self.seed,
            dt_ms: self.dt_ms,
            duration_ms: self.step as f64 * self.dt_ms,
            steps: self.step,
            build_s: self.build_s,
            sim_s: self.sim_s,
            phase_s: self.phase_s(),
            wall_s: 0.0,
            populations: first.populations,
            synaptic_events: first.synaptic_events,
            // Throughput counts the work of every instance.
            events_per_s: if self.sim_s > 0.0 {
                events as f64 / self.sim_s
            } else {
                0.0
            },
            memory_bytes: self.memory.clone(),
            spikes_sha256: first.spikes_sha256,
            plasticity: BTreeMap::new(),
            branching_factor: self.branching_report(),
            instances: if self.tallies.len() > 1 {
                self.tallies
                    .iter()
                    .map(|t| self.instance_summary(t))
                    .collect()
            } else {
                vec![]
            },
        }
    }
}

impl Tally {
    /// Adds the spikes of one chunk (ordered by step, then id).
    fn absorb(
        &mut self,
        buf: &[Spike],
        pops: &[PopMeta],
        out_degree: &[u32],
        spike_mask: &[Option<Vec<bool>>],
        rate_cfg: &[RateCfg],
    ) {
        self.hasher.update_spikes(buf);
        // Spikes come ordered by step, then id, so they form runs of one population:
        // look the population and its monitors up once per run, not per spike.
        let mut rest = buf;
        while let Some(first) = rest.first() {
            let pi = pops.partition_point(|p| p.offset <= first.id) - 1;
            let (offset, size) = (pops[pi].offset, pops[pi].size);
            let len = rest
                .iter()
                .take_while(|s| s.id >= offset && s.id - offset < size)
                .count();
            assert!(len > 0, "spike id {} outside every population", first.id);
            let (run, tail) = rest.split_at(len);
            rest = tail;
            self.counts[pi] += len as u64;
            let isi = &mut self.isi[pi];
            let mut rec = match (&spike_mask[pi], &mut self.spike_rec[pi]) {
                (Some(mask), Some(rec)) => Some((mask, rec)),
                _ => None,
            };
            for s in run {
                let local = s.id - offset;
                isi.push(local as usize, s.step as u64);
                self.events += out_degree[s.id as usize] as u64;
                if let Some((mask, rec)) = &mut rec {
                    if mask[local as usize] {
                        rec.steps.push(s.step as u64);
                        rec.ids.push(local);
                    }
                }
            }
            for (c, counts) in rate_cfg.iter().zip(&mut self.rates) {
                if c.pop == pi {
                    for s in run {
                        let b = (s.step as u64 / c.bin) as usize;
                        if counts.len() <= b {
                            counts.resize(b + 1, 0);
                        }
                        counts[b] += 1;
                    }
                }
            }
        }
    }
}

struct BuiltMeta {
    name: String,
    dt_ms: f64,
    seed: u64,
    pops: Vec<PopMeta>,
    out_degree: Vec<u32>,
    memory: MemoryBytes,
    /// Per projection, for weight-monitored ones: (pre, post) local neuron of
    /// each synapse in CSR order.
    synapses: Vec<Option<(Vec<u32>, Vec<u32>)>>,
    branching: Option<BranchingCfg>,
}

fn built_meta(b: &Built, net: &Network) -> crate::Result<BuiltMeta> {
    let branching = match &net.monitors.branching {
        None => None,
        Some(m) => {
            let pops: Vec<usize> = m
                .populations
                .iter()
                .map(|p| net.population_index(p).expect("validated"))
                .collect();
            let (graph, offsets) = LiquidGraph::of_populations(b, &pops)?;
            Some(BranchingCfg {
                graph,
                pops: pops.into_iter().zip(offsets).collect(),
                sample_steps: ((m.sample_ms / b.dt_ms).round() as u64).max(1),
            })
        }
    };
    let monitored = |name: &str| net.monitors.weights.iter().any(|m| m.projection == name);
    Ok(BuiltMeta {
        name: b.name.clone(),
        dt_ms: b.dt_ms,
        seed: b.seed,
        pops: b
            .pops
            .iter()
            .map(|p| PopMeta {
                name: p.name.clone(),
                offset: p.offset,
                size: p.size,
            })
            .collect(),
        out_degree: b.out_degree.clone(),
        memory: MemoryBytes {
            synapses: b.synapse_bytes() as u64,
            neurons: b.neuron_bytes() as u64,
        },
        synapses: b
            .projs
            .iter()
            .map(|p| {
                monitored(&p.name).then(|| {
                    let pre = (0..p.row_ptr.len().saturating_sub(1))
                        .flat_map(|i| {
                            let n = p.row_ptr[i + 1] - p.row_ptr[i];
                            std::iter::repeat_n(i as u32, n as usize)
                        })
                        .collect();
                    (pre, p.targets.clone())
                })
            })
            .collect(),
        branching,
    })
}
