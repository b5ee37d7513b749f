//! The [`Simulator`] facade: owns a backend, runs steps in chunks, keeps the
//! summary statistics of every spike and the recordings the monitors ask for.
use crate::analysis::{IsiStats, LiquidGraph, SpikeHasher};
use crate::backend::{Backend, CpuBackend, Spike, ThirdFactor, gpu_batched};
use crate::build::{Built, build};
use crate::model::Network;
use crate::record::{PopSpikes, StateTrace, WeightTrace};
use std::time::Instant;

mod control;
mod monitors;
mod summary;
mod synapses;

pub use control::ResetWeights;
use monitors::{BranchingCfg, RateCfg, StateCfg, Tally, WeightCfg};
pub use summary::{InstanceSummary, MemoryBytes, PlasticSummary, PopSummary, Summary};
pub use synapses::Synapses;

/// Which backend runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BackendKind {
    /// The CPU reference.
    #[default]
    Cpu,
    /// The wgpu/WGSL backend on the best (or the chosen) GPU adapter. Without the
    /// `gpu` feature, asking for it fails with [`crate::Error::MissingFeature`].
    Gpu,
}

/// Options of a run that are not part of the model. Built from the default
/// with the builder methods (new fields may be added, so it is
/// `#[non_exhaustive]`):
///
/// ```
/// use astroglia::sim::{BackendKind, SimOptions};
/// let opts = SimOptions::default().seed(7).batch(4).backend(BackendKind::Cpu);
/// assert_eq!(opts.seed, Some(7));
/// assert_eq!(opts.instance_seeds(7), [7, 8, 9, 10]);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimOptions {
    /// Overrides the model's seed.
    pub seed: Option<u64>,
    /// Backend.
    pub backend: BackendKind,
    /// Worker threads of the CPU backend: 0 chooses (see
    /// [`crate::backend::CpuBackend::batched`]), 1 is single-threaded. Results
    /// do not depend on it.
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
    /// The most spikes an instance's recording may hold (default
    /// [`DEFAULT_MAX_RECORDED_SPIKES`], [`RECORDED_SPIKE_BYTES`] each: 192 MiB); `None`
    /// lifts the bound. A run whose recording grows past it stops after the
    /// chunk that crossed it with [`crate::Error::RecordingFull`], keeping
    /// every spike; [`Simulator::drain_spikes`] empties the recording, and a
    /// spikes monitor narrows what is recorded.
    pub max_recorded_spikes: Option<u64>,
}

/// Bytes one recorded spike takes: its step (`u64`) and local id (`u32`).
pub const RECORDED_SPIKE_BYTES: u64 = 12;

/// The default of [`SimOptions::max_recorded_spikes`]: 2^24 spikes, 192 MiB.
pub const DEFAULT_MAX_RECORDED_SPIKES: u64 = 1 << 24;

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            seed: None,
            backend: BackendKind::default(),
            threads: 0,
            adapter: None,
            batch: 0,
            instance_seeds: None,
            max_recorded_spikes: Some(DEFAULT_MAX_RECORDED_SPIKES),
        }
    }
}

impl SimOptions {
    /// Overrides the model's seed (`None`: the model's).
    pub fn seed(mut self, seed: impl Into<Option<u64>>) -> Self {
        self.seed = seed.into();
        self
    }

    /// The backend.
    pub fn backend(mut self, backend: BackendKind) -> Self {
        self.backend = backend;
        self
    }

    /// Worker threads of the CPU backend (0 chooses, 1 is single-threaded).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The GPU adapter, by name substring.
    pub fn adapter(mut self, name: impl Into<String>) -> Self {
        self.adapter = Some(name.into());
        self
    }

    /// Independent instances run side by side (seeds: seed, seed + 1, …).
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Explicit instance seeds, one instance per seed (overrides
    /// [`Self::batch`]).
    pub fn seeds(mut self, seeds: Vec<u64>) -> Self {
        self.instance_seeds = Some(seeds);
        self
    }

    /// The most spikes an instance's recording may hold ([`Self::max_recorded_spikes`](#structfield.max_recorded_spikes));
    /// `None` lifts the bound.
    pub fn max_recorded_spikes(mut self, limit: impl Into<Option<u64>>) -> Self {
        self.max_recorded_spikes = limit.into();
        self
    }

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

struct PopMeta {
    name: String,
    offset: u32,
    size: u32,
    /// A spike source (its spikes are recorded and its ISIs kept only when asked).
    source: bool,
    /// A Poisson source (its rates can be set).
    poisson: bool,
    /// The state variables [`Simulator::state`] can read (with `i_ext` for
    /// neurons), to list when one asked for is not among them.
    vars: Vec<String>,
}

/// Runs a network and collects what it produced.
///
/// ```
/// use astroglia::model::*;
/// use astroglia::sim::{Simulator, SimOptions};
/// let mut net = Network::new(0.1, 50.0);
/// net.add_population(Population::new("n", 4, NeuronModel::Lif(LifParams::default())));
/// net.add_input(Input::Current(CurrentInput::new("n", 500.0)));
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
/// net.add_input(Input::Noise(NoiseInput::new("n", 300.0, 200.0)));
/// let opts = SimOptions::default().seed(3).batch(4);
/// let mut sim = Simulator::new(&net, opts).unwrap();
/// sim.run_ms(50.0).unwrap();
/// let s = sim.summary();
/// assert_eq!(s.instances.len(), 4);
/// assert_eq!(s.instances[2].seed, 5);
/// assert_ne!(s.instances[0].spikes_sha256, s.instances[1].spikes_sha256);
/// ```
///
/// A `Simulator` is `Send`: it can move to another thread between runs. In a
/// loop of short runs, [`Simulator::drain_spikes`] takes each chunk's spikes
/// out of the recording, so memory stays flat.
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
    /// Per projection, when plastic: its weights as built, which
    /// [`Simulator::reset`] can restore.
    initial_weights: Vec<Option<Vec<f32>>>,
    /// What the build warned of ([`Simulator::warnings`]).
    warnings: Vec<String>,
    /// Per model input: its kind (`current`, `noise`, `poisson`) and target.
    inputs: Vec<(&'static str, usize)>,
    /// Snapshots by name ([`Simulator::store`]).
    stored: std::collections::HashMap<String, control::Stored>,
    /// The built projections the backend runs (shared with it, not copied):
    /// connectivity, static weights and delays for [`Simulator::synapses`].
    built_projs: std::sync::Arc<[crate::build::BuiltProj]>,
    /// Per projection: populations, receptor and weight unit.
    proj_meta: Vec<synapses::ProjMeta>,
    /// [`SimOptions::max_recorded_spikes`].
    max_recorded_spikes: Option<u64>,
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
            return Err(crate::Error::argument(
                "instance_seeds",
                "at least one seed is needed",
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
            BackendKind::Gpu => gpu_batched(&instances, opts.adapter.as_deref())?,
        };
        let mut sim = Self::assemble(net, meta, &seeds, backend, t0)?;
        sim.max_recorded_spikes = opts.max_recorded_spikes;
        Ok(sim)
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
            return Err(crate::Error::incompatible(
                "seeds",
                format!(
                    "the backend runs {} instances, {} seeds given",
                    backend.batch(),
                    seeds.len()
                ),
            ));
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
            // By default what the network computes, not what it is given: sources
            // cost a count per run of spikes unless a monitor names them.
            None => (0..np)
                .filter(|&pi| !meta.pops[pi].source)
                .for_each(|pi| want(pi, &None)),
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
                    .zip(&spike_mask)
                    .map(|(p, m)| {
                        (!p.source || m.is_some()).then(|| IsiStats::new(p.size as usize))
                    })
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
                        unit: if c.astro {
                            "1".into()
                        } else {
                            net.populations[c.pop]
                                .model
                                .unit(&c.var)
                                .unwrap_or_default()
                        },
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
        let mut backend = backend;
        let initial_weights = (projs.iter().enumerate())
            .map(|(k, p)| {
                p.1.map(|_| {
                    let mut w = vec![];
                    backend.read_weights(0, k, &mut w).map(|()| w)
                })
                .transpose()
            })
            .collect::<crate::Result<_>>()?;
        Ok(Simulator {
            backend,
            initial_weights,
            stored: Default::default(),
            inputs: (net.inputs.iter())
                .map(|inp| {
                    let (kind, target) = match inp {
                        crate::model::Input::Current(x) => ("current", &x.target),
                        crate::model::Input::Noise(x) => ("noise", &x.target),
                        crate::model::Input::Poisson(x) => ("poisson", &x.target),
                    };
                    (kind, net.population_index(target).expect("validated"))
                })
                .collect(),
            built_projs: meta.projs,
            proj_meta: meta.proj_meta,
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
            max_recorded_spikes: Some(DEFAULT_MAX_RECORDED_SPIKES),
            state_cfg,
            rate_cfg,
            bufs: vec![vec![]; seeds.len()],
            astro_names: net.astrocytes.iter().map(|a| a.name.clone()).collect(),
            projs,
            weight_cfg,
            branching: meta.branching,
            warnings: meta.warnings,
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

    /// What the build did that the model may not mean: e.g. initial weights
    /// of a plastic projection clipped by its rule's bounds (more than 1 % of
    /// them), which a `w_max` in the wrong unit causes.
    ///
    /// ```
    /// use astroglia::model::{Connect, Dist, Network, Plasticity};
    /// use astroglia::sim::{SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let mut net = Network::coba_like(1000, p.clone(), p, 20.0);
    /// // STDP's default bounds are [0, 1]; COBA's excitatory weights are 4 nS.
    /// net.projections[0].plasticity = Some(Plasticity::Stdp(Default::default()));
    /// let sim = Simulator::new(&net, SimOptions::default()).unwrap();
    /// assert!(sim.warnings()[0].contains("were clipped"), "{:?}", sim.warnings());
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
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
            self.record_monitors()?;
            self.record_s += t_record.elapsed().as_secs_f64();
            progress(self.step - start);
            self.check_recording()?;
        }
        Ok(())
    }

    /// Sets [`SimOptions::max_recorded_spikes`] (for a simulator made by
    /// [`Self::with_backend`], or to change it between runs).
    pub fn set_max_recorded_spikes(&mut self, limit: Option<u64>) {
        self.max_recorded_spikes = limit;
    }

    /// [`crate::Error::RecordingFull`] when an instance's recording holds more
    /// than [`SimOptions::max_recorded_spikes`].
    fn check_recording(&self) -> crate::Result<()> {
        let Some(limit) = self.max_recorded_spikes else {
            return Ok(());
        };
        for (instance, t) in self.tallies.iter().enumerate() {
            let spikes = t.recorded_spikes();
            if spikes > limit {
                return Err(crate::Error::RecordingFull {
                    instance,
                    spikes,
                    limit,
                    step: self.step,
                });
            }
        }
        Ok(())
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
        self.tallies
            .get(instance)
            .ok_or_else(|| crate::Error::no_index("instance", instance, self.tallies.len()))
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
        let pi = self.pop_index(population)?;
        self.tally(instance)?;
        let mut out = vec![];
        match self
            .backend
            .read_instance_state(instance, pi, var, &mut out)
        {
            Err(crate::Error::Unknown {
                kind: "state variable",
                name,
                known,
            }) if known.is_empty() => Err(crate::Error::Unknown {
                kind: "state variable",
                name,
                known: self.pops[pi].vars.clone(),
            }),
            r => r.map(|()| out),
        }
    }

    /// Index of the population named `name`.
    fn pop_index(&self, name: &str) -> crate::Result<usize> {
        (self.pops.iter())
            .position(|p| p.name == name)
            .ok_or_else(|| crate::Error::Unknown {
                kind: "population",
                name: name.into(),
                known: self.pops.iter().map(|p| p.name.clone()).collect(),
            })
    }

    /// Index of the projection named `name` (its `name`, or `from->to`).
    fn proj_index(&self, name: &str) -> crate::Result<usize> {
        (self.projs.iter())
            .position(|p| p.0 == name)
            .ok_or_else(|| crate::Error::Unknown {
                kind: "projection",
                name: name.into(),
                known: self.projs.iter().map(|p| p.0.clone()).collect(),
            })
    }

    /// Current weights of projection `name` in `instance`, in the projection's
    /// weight unit ([`Self::weight_unit`]), synapses in CSR order (by
    /// presynaptic neuron, as [`Self::synapses`] lists them).
    pub fn weights(&mut self, instance: usize, name: &str) -> crate::Result<Vec<f32>> {
        let k = self.proj_index(name)?;
        self.tally(instance)?;
        let mut out = vec![];
        self.backend.read_weights(instance, k, &mut out)?;
        Ok(out)
    }

    /// Overwrites the weights of plastic projection `name` in `instance`, in
    /// the projection's weight unit ([`Self::weight_unit`]: mV, pA or nS by
    /// the target's synapses), in the order of [`Self::weights`]; clipped to
    /// the rule's bounds, which are in the same unit.
    pub fn set_weights(&mut self, instance: usize, name: &str, w: &[f32]) -> crate::Result<()> {
        let k = self.proj_index(name)?;
        self.tally(instance)?;
        self.backend.write_weights(instance, k, w)
    }

    /// A plasticity trace of projection `name` in `instance`: `r1`, `r2`
    /// (presynaptic, per pre neuron), `o1`, `o2` (postsynaptic), or `elig`
    /// (reward STDP's eligibility, per synapse in CSR order): whatever its
    /// rule declares ([`crate::plasticity::PlasticityRule::SPEC`]).
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

    /// Sets the error of every postsynaptic neuron of delta-rule projection `name`
    /// (`error[i]`: the target population's local neuron `i`).
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
            .ok_or_else(|| crate::Error::Unknown {
                kind: "astrocyte",
                name: name.into(),
                known: self.astro_names.clone(),
            })?;
        self.tally(instance)?;
        let mut out = vec![];
        self.backend.read_astrocyte(instance, k, &mut out)?;
        Ok(out)
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
    projs: std::sync::Arc<[crate::build::BuiltProj]>,
    proj_meta: Vec<synapses::ProjMeta>,
    warnings: Vec<String>,
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
        warnings: b.warnings.clone(),
        name: b.name.clone(),
        dt_ms: b.dt_ms,
        seed: b.seed,
        pops: b
            .pops
            .iter()
            .zip(&net.populations)
            .map(|(p, model)| PopMeta {
                name: p.name.clone(),
                offset: p.offset,
                size: p.size,
                source: model.model.is_source(),
                poisson: matches!(model.model, crate::neuron::NeuronModel::Poisson(_)),
                vars: if model.model.is_source() {
                    vec![]
                } else {
                    let mut v = model.model.state_vars();
                    v.push("i_ext".into());
                    v
                },
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
        projs: b.projs.clone(),
        proj_meta: synapses::proj_meta(b, net),
    })
}
