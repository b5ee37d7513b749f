//! One instance of the CPU reference engine: its state, delay rings and per-step
//! randomness over connectivity shared with the other instances of a batch, and
//! the step loop over the schedule. The phases live beside their shaders:
//! `inputs.rs`, `neurons.rs`, `propagate.rs` and `plasticity.rs`.
use super::partition::{Grain, Partition};
use super::plasticity::{AstroState, PlasticState, apply_modulation};
use super::propagate::Route;
use super::team::{self, Team};
use crate::backend::Spike;
use crate::backend::schedule::{self, Phase, PhaseTimes};
use crate::build::{Built, BuiltInput, Dynamics, PoissonKind, Sources, SpikeTrain};
use crate::neuron::AlignedVec;
use crate::rng::CounterRng;
use std::sync::Arc;

/// One instance: the built network (its state) and all run-time state.
pub(super) struct Instance {
    pub(super) net: Built,
    pub(super) rng: CounterRng,
    /// Per population: `depth × 2 receptors × stride` fixed-point accumulators,
    /// `stride` being the size rounded up to 16 (see [`ring_stride`]).
    pub(super) rings: Vec<AlignedVec<i32>>,
    /// Per population: ring depth in steps (`BuiltPop::ring_depth`).
    pub(super) depth: Vec<usize>,
    /// Per population: the ring slot of step `slot_step` (`step % depth`).
    pub(super) slot: Vec<usize>,
    /// The step `slot` is for (None before the first step).
    pub(super) slot_step: Option<u64>,
    /// Per population: external current of the current step.
    pub(super) i_ext: Vec<Vec<f32>>,
    /// Per population: whether `i_ext` may be nonzero this step (false: all zero,
    /// and the kernels skip reading it).
    pub(super) ext_live: Vec<bool>,
    /// Per population: which current and noise inputs feed it.
    pub(super) pop_inputs: Vec<Vec<usize>>,
    /// Per population: which Poisson drives feed it (into its ring).
    pub(super) pop_drives: Vec<Vec<usize>>,
    /// Per population: active-current signature last applied (to skip recomputation).
    pub(super) current_sig: Vec<Option<Vec<bool>>>,
    /// Per population: projections leaving it.
    pub(super) out_projs: Vec<Vec<usize>>,
    /// Per projection: compact forms used by delivery (shared by a batch).
    pub(super) routes: Arc<[Route]>,
    /// Per population: local ids that spiked this step, ascending.
    pub(super) step_spikes: Vec<Vec<u32>>,
    /// Per spike-source population: next event index.
    pub(super) source_ptr: Vec<usize>,
    pub(super) pending: Vec<Spike>,
    /// Per projection: weights and traces when plastic.
    pub(super) plastic: Vec<Option<PlasticState>>,
    /// Per astrocyte: its state.
    pub(super) astros: Vec<AstroState>,
    /// Per population: its dynamics as built (None for sources), restored
    /// by [`Instance::reset`].
    pub(super) initial: Vec<Option<Dynamics>>,
    /// Threads for neuron updates and delivery (a team for each `run`).
    pub(super) threads: usize,
    /// Delivery split by target over the pool's threads (None: one thread).
    pub(super) partition: Option<Partition>,
    /// The least work split over threads.
    pub(super) grain: Grain,
    /// Per population, when the neuron phase splits: the boundaries of the
    /// team's parts ([`super::partition::part_bounds`]).
    pub(super) part_bounds: Vec<Vec<usize>>,
    /// Per part of a split neuron phase: its spikes and failures of a step.
    pub(super) part_out: Vec<std::sync::Mutex<super::neurons::PartOut>>,
    /// Wall time per phase, sampled (see [`crate::backend::schedule::SAMPLE`]).
    pub(super) times: PhaseTimes,
}

impl Instance {
    /// An instance whose neuron updates use `threads` worker threads (the spikes
    /// are the same for every thread count), delivering through `routes`.
    pub(super) fn new(net: Built, threads: usize, routes: Arc<[Route]>) -> Self {
        let np = net.pops.len();
        let depth: Vec<usize> = net.pops.iter().map(|p| p.ring_depth as usize).collect();
        let rings = net
            .pops
            .iter()
            .zip(&depth)
            .map(|(p, &d)| match p.dynamics {
                Dynamics::Source(_) => AlignedVec::zeroed(0),
                _ => AlignedVec::zeroed(d * 2 * ring_stride(p.size as usize)),
            })
            .collect();
        let mut pop_inputs = vec![vec![]; np];
        let mut pop_drives = vec![vec![]; np];
        for (k, inp) in net.inputs.iter().enumerate() {
            match inp {
                BuiltInput::Poisson { pop, .. } => pop_drives[*pop].push(k),
                _ => pop_inputs[inp.pop()].push(k),
            }
        }
        let mut out_projs = vec![vec![]; np];
        for (k, pr) in net.projs.iter().enumerate() {
            out_projs[pr.pre].push(k);
        }
        let mut plastic: Vec<Option<PlasticState>> = net
            .projs
            .iter()
            .zip(routes.iter())
            .map(|(pr, route)| {
                pr.plastic.as_ref().map(|pl| {
                    let size = |p: usize| net.pops[p].size as usize;
                    let dense = route.is_dense();
                    PlasticState::new(pl, size(pr.pre), size(pr.post), dense)
                })
            })
            .collect();
        let astros: Vec<AstroState> = net.astros.iter().map(AstroState::new).collect();
        for (st, b) in astros.iter().zip(net.astros.iter()) {
            apply_modulation(st, b, &net.projs, &mut plastic);
        }
        let initial = net
            .pops
            .iter()
            .map(|p| match p.dynamics {
                // Sources have no state; what a setter gave them stays.
                Dynamics::Source(_) => None,
                _ => Some(p.dynamics.clone()),
            })
            .collect();
        let grain = Grain::DEFAULT;
        let partition = Partition::new(&net.pops, &net.projs, &routes, threads, grain);
        Instance {
            partition,
            grain,
            astros,
            initial,
            plastic,
            routes,
            slot: vec![0; depth.len()],
            slot_step: None,
            depth,
            rng: CounterRng::new(net.instance_seed),
            i_ext: net
                .pops
                .iter()
                .map(|p| vec![0.0; p.size as usize])
                .collect(),
            ext_live: vec![false; np],
            rings,
            pop_inputs,
            pop_drives,
            current_sig: vec![None; np],
            out_projs,
            step_spikes: vec![vec![]; np],
            source_ptr: vec![0; np],
            pending: vec![],
            threads,
            times: PhaseTimes::default(),
            part_bounds: vec![],
            part_out: vec![],
            net,
        }
    }

    /// Runs steps `first..first + n`, phase by phase in [`schedule::STEP`] order,
    /// with a team of threads where some phase splits.
    pub(super) fn run(&mut self, first: u64, n: u64) -> crate::Result<()> {
        let split = self.partition.is_some()
            || self
                .net
                .pops
                .iter()
                .any(|p| super::neurons::splits(p.size as usize, self.threads, self.grain));
        if self.threads > 1 && split {
            team::with_team(self.threads, |team| self.steps(first, n, Some(team)))
        } else {
            self.steps(first, n, None)
        }
    }

    fn steps(&mut self, first: u64, n: u64, team: Option<&Team>) -> crate::Result<()> {
        let plastic = self.has_plasticity();
        for step in first..first + n {
            for phase in schedule::STEP {
                let mut times = self.times;
                match phase {
                    Phase::Inputs => times.run(phase, step, || self.inputs(step))?,
                    Phase::Neurons => times.run(phase, step, || self.neurons(step, team))?,
                    Phase::Propagate => times.run(phase, step, || self.propagate(step, team))?,
                    Phase::Plasticity if plastic => {
                        times.run(phase, step, || self.plasticity(team))
                    }
                    Phase::Plasticity => {}
                }
                self.times = times;
            }
        }
        Ok(())
    }

    /// Splits work from `grain` on (tests: small networks on the threaded paths).
    #[cfg(test)]
    pub(super) fn set_grain(&mut self, grain: Grain) {
        self.grain = grain;
        self.partition = Partition::new(
            &self.net.pops,
            &self.net.projs,
            &self.routes,
            self.threads,
            grain,
        );
    }

    /// Wall time per phase so far.
    pub(super) fn phase_times(&self) -> PhaseTimes {
        self.times
    }

    /// The delay ring of population `pop`: `depth × 2 receptors × size` fixed-point
    /// accumulators (empty for sources), without the padding the backend keeps
    /// internally. For per-phase parity tests.
    pub(super) fn ring(&self, pop: usize) -> Vec<i32> {
        let n = self.net.pops[pop].size as usize;
        self.rings[pop]
            .chunks(ring_stride(n).max(1))
            .flat_map(|slice| &slice[..n])
            .copied()
            .collect()
    }

    /// The built network (parameters, connectivity, current state).
    pub(super) fn built(&self) -> &Built {
        &self.net
    }
}

/// Elements per receptor slice of a ring for `n` neurons: a multiple of 16, so that
/// every slice starts on a 64-byte boundary like the neuron state (the kernels'
/// vector accesses then never straddle cache lines). The padding stays zero.
pub(super) fn ring_stride(n: usize) -> usize {
    n.next_multiple_of(16)
}

/// `a % m` for `a < 2 m`.
#[inline(always)]
pub(super) fn wrap(a: usize, m: usize) -> usize {
    debug_assert!(a < 2 * m);
    if a >= m { a - m } else { a }
}

impl Instance {
    /// Sets `slot` for `step`. The next step's slots follow with one conditional
    /// subtraction each; a 64-bit division per population and projection was a
    /// few percent of a COBA step.
    pub(super) fn sync_slots(&mut self, step: u64) {
        if self.slot_step == Some(step) {
            return;
        }
        if self.slot_step.is_some_and(|s| s.wrapping_add(1) == step) {
            for (sl, &d) in self.slot.iter_mut().zip(&self.depth) {
                *sl = wrap(*sl + 1, d.max(1));
            }
        } else {
            for (sl, &d) in self.slot.iter_mut().zip(&self.depth) {
                *sl = (step % d.max(1) as u64) as usize;
            }
        }
        self.slot_step = Some(step);
    }

    /// Applies a third-factor command to plastic projection `proj`.
    pub(super) fn third_factor(
        &mut self,
        proj: usize,
        cmd: crate::backend::ThirdFactor<'_>,
    ) -> crate::Result<()> {
        use crate::backend::ThirdFactor as T;
        let pr = self
            .net
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.net.projs.len()))?;
        let n_post = self.net.pops[pr.post].size as usize;
        crate::backend::check_third_factor(pr, n_post, &cmd)?;
        let ps = self.plastic[proj].as_mut().expect("checked: plastic");
        match cmd {
            T::Modulator(m) => ps.modulator = m,
            T::Error(e) => ps.error.copy_from_slice(e),
            T::HlopLearn { x, batch } => {
                let h = ps.hlop.as_mut().expect("checked: hlop");
                h.hebbian_update(x, batch)?;
            }
            T::HlopTask { k, seed } => {
                let h = ps.hlop.as_mut().expect("checked: hlop");
                h.freeze();
                h.grow(k, seed)?;
            }
        }
        Ok(())
    }

    /// The depression rate A of every domain of astrocyte `astro`.
    pub(super) fn read_astrocyte(&self, astro: usize, out: &mut Vec<f32>) -> crate::Result<()> {
        let st = self
            .astros
            .get(astro)
            .ok_or_else(|| crate::Error::no_index("astrocyte", astro, self.astros.len()))?;
        out.clear();
        out.extend_from_slice(&st.a);
        Ok(())
    }

    /// Back to the state as built, keeping plastic weights, HLOP subspaces and
    /// spike-source events (see `Backend::reset`).
    pub(super) fn reset(&mut self) {
        for (pop, init) in self.net.pops.iter_mut().zip(&self.initial) {
            if let Some(d) = init {
                pop.dynamics = d.clone();
            }
        }
        self.rings.iter_mut().for_each(|r| r.fill(0));
        self.i_ext.iter_mut().for_each(|v| v.fill(0.0));
        self.ext_live.fill(false);
        self.current_sig.fill(None);
        self.step_spikes.iter_mut().for_each(Vec::clear);
        self.source_ptr.fill(0);
        self.pending.clear();
        for (st, pr) in self.plastic.iter_mut().zip(self.net.projs.iter()) {
            if let (Some(st), Some(pl)) = (st, &pr.plastic) {
                st.reset(pl);
            }
        }
        self.astros = self.net.astros.iter().map(AstroState::new).collect();
        for (st, b) in self.astros.iter().zip(self.net.astros.iter()) {
            apply_modulation(st, b, &self.net.projs, &mut self.plastic);
        }
    }

    /// New events for spike-source population `pop`, from its first one.
    pub(super) fn set_spike_source(
        &mut self,
        pop: usize,
        events: Vec<(u64, u32)>,
    ) -> crate::Result<()> {
        let n = self.net.pops.len();
        let p = (self.net.pops.get_mut(pop))
            .ok_or_else(|| crate::Error::no_index("population", pop, n))?;
        let Dynamics::Source(Sources::SpikeSource(SpikeTrain(ev))) = &mut p.dynamics else {
            return Err(crate::Error::wrong_kind(
                format!("population '{}'", p.name),
                "a spike source",
            ));
        };
        crate::backend::check_spike_events(&p.name, p.size, &events)?;
        *ev = events;
        self.source_ptr[pop] = 0;
        Ok(())
    }

    /// A new sampler for Poisson population `pop`.
    pub(super) fn set_poisson(&mut self, pop: usize, sampler: PoissonKind) -> crate::Result<()> {
        let n = self.net.pops.len();
        let p = (self.net.pops.get_mut(pop))
            .ok_or_else(|| crate::Error::no_index("population", pop, n))?;
        let Dynamics::Source(Sources::Poisson(ps)) = &mut p.dynamics else {
            return Err(crate::Error::wrong_kind(
                format!("population '{}'", p.name),
                "a Poisson source",
            ));
        };
        ps.sampler = sampler;
        Ok(())
    }

    /// A new level for current or noise input `input`.
    pub(super) fn set_input(
        &mut self,
        input: usize,
        level: crate::backend::InputLevel,
    ) -> crate::Result<()> {
        use crate::backend::InputLevel;
        let n = self.net.inputs.len();
        match (self.net.inputs.get_mut(input), level) {
            (
                Some(BuiltInput::Current { pop, amplitude, .. }),
                InputLevel::Current { amplitude: a },
            ) => {
                *amplitude = a;
                // The currents are recomputed at the next step.
                self.current_sig[*pop] = None;
            }
            (Some(BuiltInput::Noise { mean, std, .. }), InputLevel::Noise { mean: m, std: s }) => {
                (*mean, *std) = (m, s);
            }
            (None, _) => return Err(crate::Error::no_index("input", input, n)),
            (Some(_), level) => {
                return Err(crate::Error::wrong_kind(
                    format!("input {input}"),
                    level.expected(),
                ));
            }
        }
        Ok(())
    }

    /// Whether any projection is plastic.
    pub(super) fn has_plasticity(&self) -> bool {
        self.plastic.iter().any(Option::is_some) || !self.astros.is_empty()
    }

    /// The current weights of projection `proj` (weight units, CSR order).
    pub(super) fn read_weights(&self, proj: usize, out: &mut Vec<f32>) -> crate::Result<()> {
        let pr = self
            .net
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.net.projs.len()))?;
        out.clear();
        match &self.plastic[proj] {
            Some(ps) => out.extend_from_slice(&ps.w),
            None => {
                let inv = self.net.pops[pr.post].inv_scale[pr.receptor];
                out.extend(pr.wfix.iter(pr.len()).map(|w| w as f32 * inv));
            }
        }
        Ok(())
    }

    /// Overwrites the weights of plastic projection `proj` (clipped to its bounds).
    pub(super) fn write_weights(&mut self, proj: usize, w: &[f32]) -> crate::Result<()> {
        let pr = self
            .net
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.net.projs.len()))?;
        let w = crate::backend::clipped_weights(pr, w)?;
        if let Some(ps) = &mut self.plastic[proj] {
            ps.w = w;
        }
        Ok(())
    }

    /// The error for projection `proj`, which has no HLOP learner.
    fn no_hlop(&self, proj: usize) -> crate::Error {
        match self.net.projs.get(proj) {
            None => crate::Error::no_index("projection", proj, self.net.projs.len()),
            Some(pr) => crate::backend::no_hlop(pr),
        }
    }

    /// A copy of the HLOP learner of plastic projection `proj`.
    pub(super) fn read_hlop(&self, proj: usize) -> crate::Result<crate::plasticity::hlop::Hlop> {
        self.plastic
            .get(proj)
            .and_then(|p| p.as_ref())
            .and_then(|p| p.hlop.clone())
            .ok_or_else(|| self.no_hlop(proj))
    }

    /// A trace (`r1`, `r2`, `o1`, `o2`) of plastic projection `proj`.
    pub(super) fn read_trace(
        &self,
        proj: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        let ps = (self.plastic.get(proj))
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.plastic.len()))?
            .as_ref()
            .ok_or_else(|| {
                crate::Error::wrong_kind(
                    format!("projection '{}'", self.net.projs[proj].name),
                    "plastic",
                )
            })?;
        let t = ps.trace(var).ok_or_else(|| crate::Error::Unknown {
            kind: "plasticity trace",
            name: var.into(),
            known: vec![],
        })?;
        out.clear();
        out.extend_from_slice(t);
        Ok(())
    }

    pub(super) fn drain_spikes(&mut self, out: &mut Vec<Spike>) {
        out.append(&mut self.pending);
    }

    pub(super) fn read_state(
        &self,
        pop: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        let p = self
            .net
            .pops
            .get(pop)
            .ok_or_else(|| crate::Error::no_index("population", pop, self.net.pops.len()))?;
        let found = match (&p.dynamics, var) {
            (Dynamics::Neurons(_), "i_ext") => {
                crate::neuron::registry::copy_into(out, &self.i_ext[pop])
            }
            (Dynamics::Neurons(x), var) => x.read(var, out),
            _ => false,
        };
        if found {
            Ok(())
        } else {
            Err(crate::Error::Unknown {
                kind: "state variable",
                name: var.into(),
                known: vec![],
            })
        }
    }
}
