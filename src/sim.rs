//! The [`Simulator`] facade: owns a backend, runs steps in chunks, keeps the
//! summary statistics of every spike and the recordings the monitors ask for.
use crate::analysis::{rate_hz, IsiStats, SpikeHasher};
use crate::backend::{Backend, CpuBackend, GpuBackend, Spike};
use crate::build::{build, Built};
use crate::model::Network;
use crate::record::{PopSpikes, RateTrace, Recording, StateTrace};
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
}

struct PopMeta {
    name: String,
    offset: u32,
    size: u32,
}

struct StateRec {
    pop: usize,
    ids: Option<Vec<u32>>,
    trace: StateTrace,
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
    counts: Vec<u64>,
    isi: Vec<IsiStats>,
    hasher: SpikeHasher,
    events: u64,
    spike_mask: Vec<Option<Vec<bool>>>,
    spike_rec: Vec<Option<PopSpikes>>,
    states: Vec<StateRec>,
    rates: Vec<(usize, u64, f64, Vec<u64>)>,
    buf: Vec<Spike>,
}

impl Simulator {
    /// Validates and builds `net`, then creates the backend.
    pub fn new(net: &Network, opts: SimOptions) -> crate::Result<Self> {
        let t0 = Instant::now();
        let seed = opts.seed.unwrap_or(net.seed);
        let built = build(net, seed)?;
        let meta = built_meta(&built);
        let backend: Box<dyn Backend> = match opts.backend {
            BackendKind::Cpu => Box::new(CpuBackend::with_threads(built, opts.threads)),
            BackendKind::Gpu => Box::new(GpuBackend::new(&built, opts.adapter.as_deref())?),
        };
        Self::assemble(net, meta, backend, t0)
    }

    /// Creates a simulator over an already built network and a backend.
    pub fn with_backend(
        net: &Network,
        built: &Built,
        backend: Box<dyn Backend>,
    ) -> crate::Result<Self> {
        Self::assemble(net, built_meta(built), backend, Instant::now())
    }

    fn assemble(
        net: &Network,
        meta: BuiltMeta,
        backend: Box<dyn Backend>,
        t0: Instant,
    ) -> crate::Result<Self> {
        let idx = |name: &str| net.population_index(name).expect("validated");
        let np = meta.pops.len();
        let mut spike_mask: Vec<Option<Vec<bool>>> = vec![None; np];
        let mut spike_rec: Vec<Option<PopSpikes>> = (0..np).map(|_| None).collect();
        let mut want = |pi: usize, ids: &Option<Vec<u32>>| {
            let size = meta.pops[pi].size;
            if spike_rec[pi].is_none() {
                spike_rec[pi] = Some(PopSpikes {
                    population: meta.pops[pi].name.clone(),
                    size,
                    ..Default::default()
                });
                spike_mask[pi] = Some(vec![false; size as usize]);
            }
            let m = spike_mask[pi].as_mut().expect("set above");
            match ids {
                None => m.iter_mut().for_each(|x| *x = true),
                Some(ids) => ids.iter().for_each(|&i| m[i as usize] = true),
            }
        };
        match &net.monitors.spikes {
            None => (0..np).for_each(|pi| want(pi, &None)),
            Some(list) => list.iter().for_each(|m| want(idx(&m.population), &m.ids)),
        }
        let states = net
            .monitors
            .state
            .iter()
            .map(|m| StateRec {
                pop: idx(&m.population),
                ids: m.ids.clone(),
                trace: StateTrace {
                    population: m.population.clone(),
                    var: m.var.clone(),
                    ids: m
                        .ids
                        .clone()
                        .unwrap_or_else(|| (0..meta.pops[idx(&m.population)].size).collect()),
                    every: m.every,
                    steps: vec![],
                    values: vec![],
                },
            })
            .collect();
        let rates = net
            .monitors
            .rate
            .iter()
            .map(|m| {
                let bin = ((m.bin_ms / meta.dt_ms).round() as u64).max(1);
                (idx(&m.population), bin, bin as f64 * meta.dt_ms, vec![])
            })
            .collect();
        Ok(Simulator {
            backend,
            name: meta.name,
            dt_ms: meta.dt_ms,
            seed: meta.seed,
            counts: vec![0; np],
            isi: meta
                .pops
                .iter()
                .map(|p| IsiStats::new(p.size as usize))
                .collect(),
            pops: meta.pops,
            out_degree: meta.out_degree,
            memory: meta.memory,
            step: 0,
            build_s: t0.elapsed().as_secs_f64(),
            sim_s: 0.0,
            hasher: SpikeHasher::new(),
            events: 0,
            spike_mask,
            spike_rec,
            states,
            rates,
            buf: vec![],
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
            for s in &self.states {
                let every = s.trace.every as u64;
                let next = self.step.div_ceil(every) * every;
                chunk = chunk.min(next - self.step + 1);
            }
            let t = Instant::now();
            self.backend.run(self.step, chunk)?;
            self.sim_s += t.elapsed().as_secs_f64();
            self.step += chunk;
            self.absorb_spikes()?;
            let last = self.step - 1;
            for s in &mut self.states {
                if last % s.trace.every as u64 == 0 {
                    let mut vals = vec![];
                    self.backend.read_state(s.pop, &s.trace.var, &mut vals)?;
                    s.trace.steps.push(last);
                    match &s.ids {
                        None => s.trace.values.extend_from_slice(&vals),
                        Some(ids) => s.trace.values.extend(ids.iter().map(|&i| vals[i as usize])),
                    }
                }
            }
            progress(self.step - start);
        }
        Ok(())
    }

    fn absorb_spikes(&mut self) -> crate::Result<()> {
        self.buf.clear();
        self.backend.drain_spikes(&mut self.buf)?;
        // Spikes come ordered by step, then id, so they form runs of one population:
        // look the population and its monitors up once per run, not per spike.
        let mut rest = &self.buf[..];
        while let Some(first) = rest.first() {
            let pi = self.pops.partition_point(|p| p.offset <= first.id) - 1;
            let (offset, size) = (self.pops[pi].offset, self.pops[pi].size);
            let len = rest
                .iter()
                .take_while(|s| s.id >= offset && s.id - offset < size)
                .count();
            assert!(len > 0, "spike id {} outside every population", first.id);
            let (run, tail) = rest.split_at(len);
            rest = tail;
            self.counts[pi] += len as u64;
            let isi = &mut self.isi[pi];
            let mut rec = match (&self.spike_mask[pi], &mut self.spike_rec[pi]) {
                (Some(mask), Some(rec)) => Some((mask, rec)),
                _ => None,
            };
            for s in run {
                let local = s.id - offset;
                isi.push(local as usize, s.step as u64);
                self.hasher.update(s.step as u64, s.id);
                self.events += self.out_degree[s.id as usize] as u64;
                if let Some((mask, rec)) = &mut rec {
                    if mask[local as usize] {
                        rec.steps.push(s.step as u64);
                        rec.ids.push(local);
                    }
                }
            }
            for (rp, bin, _, counts) in &mut self.rates {
                if *rp == pi {
                    for s in run {
                        let b = (s.step as u64 / *bin) as usize;
                        if counts.len() <= b {
                            counts.resize(b + 1, 0);
                        }
                        counts[b] += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Current values of a state variable of a population.
    pub fn state(&mut self, population: &str, var: &str) -> crate::Result<Vec<f32>> {
        let pi = self
            .pops
            .iter()
            .position(|p| p.name == population)
            .ok_or_else(|| crate::Error::Invalid(format!("no population named '{population}'")))?;
        let mut out = vec![];
        self.backend.read_state(pi, var, &mut out)?;
        Ok(out)
    }

    /// Spike counts so far, per population in model order.
    pub fn spike_counts(&self) -> Vec<(String, u64)> {
        self.pops
            .iter()
            .zip(&self.counts)
            .map(|(p, &c)| (p.name.clone(), c))
            .collect()
    }

    /// SHA-256 of all spikes so far (see DESIGN.md).
    pub fn spikes_sha256(&self) -> String {
        self.hasher.clone().finish()
    }

    /// What the monitors recorded so far.
    pub fn recording(&self) -> Recording {
        let duration_ms = self.step as f64 * self.dt_ms;
        Recording {
            dt_ms: self.dt_ms,
            duration_ms,
            spikes: self.spike_rec.iter().flatten().cloned().collect(),
            states: self.states.iter().map(|s| s.trace.clone()).collect(),
            rates: self
                .rates
                .iter()
                .map(|(pi, bin, bin_ms, counts)| {
                    let nb = self.step.div_ceil(*bin) as usize;
                    let size = self.pops[*pi].size as f64;
                    let mut r: Vec<f64> = counts
                        .iter()
                        .map(|&c| c as f64 / (size * bin_ms / 1000.0))
                        .collect();
                    r.resize(nb, 0.0);
                    RateTrace {
                        population: self.pops[*pi].name.clone(),
                        bin_ms: *bin_ms,
                        rates_hz: r,
                    }
                })
                .collect(),
        }
    }

    /// The run's summary (wall_s is left 0 for the caller to fill).
    pub fn summary(&self) -> Summary {
        let duration_ms = self.step as f64 * self.dt_ms;
        let populations = self
            .pops
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let cv = self.isi[i].cv();
                (
                    p.name.clone(),
                    PopSummary {
                        size: p.size,
                        spikes: self.counts[i],
                        rate_hz: rate_hz(self.counts[i], p.size, duration_ms),
                        cv_isi: cv.is_finite().then_some(cv),
                    },
                )
            })
            .collect();
        Summary {
            model: self.name.clone(),
            backend: self.backend.name().into(),
            device: self.backend.device(),
            seed: self.seed,
            dt_ms: self.dt_ms,
            duration_ms,
            steps: self.step,
            build_s: self.build_s,
            sim_s: self.sim_s,
            wall_s: 0.0,
            populations,
            synaptic_events: self.events,
            events_per_s: if self.sim_s > 0.0 {
                self.events as f64 / self.sim_s
            } else {
                0.0
            },
            memory_bytes: self.memory.clone(),
            spikes_sha256: self.spikes_sha256(),
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
}

fn built_meta(b: &Built) -> BuiltMeta {
    BuiltMeta {
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
    }
}
