//! Backends run the phases of the DESIGN.md step on built arrays. The CPU backend is
//! the reference; others must produce the same spikes.
mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;
mod schedule;

pub use cpu::CpuBackend;
#[cfg(feature = "gpu")]
pub use gpu::GpuBackend;
pub use schedule::{Phase, PhaseTimes};

/// One spike: step and global neuron id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct Spike {
    /// Step index (time = step × dt).
    pub step: u32,
    /// Global neuron id.
    pub id: u32,
}

/// A third-factor command to a plastic projection of one instance.
#[derive(Debug, Clone, Copy)]
pub enum ThirdFactor<'a> {
    /// Sets the modulator M of a reward-modulated STDP projection.
    Modulator(f32),
    /// Sets the error of every postsynaptic neuron of a delta-rule projection.
    Error(&'a [f32]),
    /// Runs the HLOP Hebbian rule on `batch` presynaptic activity vectors `x`.
    HlopLearn {
        /// `batch × n_pre` activity vectors, row-major.
        x: &'a [f32],
        /// Number of vectors.
        batch: usize,
    },
    /// Starts a new HLOP task: freezes the current rows and appends `k` new ones.
    HlopTask {
        /// Rows to add.
        k: usize,
        /// Seed of their orthogonal initialisation.
        seed: u64,
    },
}

/// The level of a current or noise input ([`Backend::set_input`]), in the
/// model's current unit (pA; raw units for Izhikevich).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputLevel {
    /// A constant current's amplitude.
    Current {
        /// Amplitude.
        amplitude: f32,
    },
    /// Gaussian noise `mean + std·N(0,1)` per neuron and step.
    Noise {
        /// Mean.
        mean: f32,
        /// Standard deviation per step.
        std: f32,
    },
}

impl InputLevel {
    /// The input a level is for, as [`crate::Error::WrongKind`] names it.
    pub(crate) fn expected(&self) -> &'static str {
        match self {
            InputLevel::Current { .. } => "a current input",
            InputLevel::Noise { .. } => "a noise input",
        }
    }
}

/// An instance's dynamic state ([`Backend::snapshot`]), which only the
/// backend that took it can read.
pub struct Snapshot(Box<dyn std::any::Any + Send>);

impl Snapshot {
    /// Wraps a backend's own state.
    pub fn new<T: std::any::Any + Send>(state: T) -> Self {
        Snapshot(Box::new(state))
    }

    /// The backend's own state, if it is a `T`.
    pub fn get<T: std::any::Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Snapshot")
    }
}

/// The phases of one step, in schedule order, over one network. Backends are
/// `Send`, so a simulation can move to another thread (an async task, a
/// control loop) between calls.
pub trait Backend: Send {
    /// Short name (`cpu`, `gpu`).
    fn name(&self) -> &'static str;
    /// Human description of the device.
    fn device(&self) -> String;
    /// Phase 1: spike sources and input currents for `step`.
    fn inputs(&mut self, step: u64) -> crate::Result<()>;
    /// Phase 2: neuron integration, threshold, reset; collects the step's spikes.
    fn neurons(&mut self, step: u64) -> crate::Result<()>;
    /// Phase 3: event-driven delivery of the step's spikes into delay rings.
    fn propagate(&mut self, step: u64) -> crate::Result<()>;
    /// Phase 4: plasticity (no-op without plastic synapses).
    fn plasticity(&mut self, _step: u64) -> crate::Result<()> {
        Ok(())
    }
    /// Instances in the batch (1 unless built as a batch).
    fn batch(&self) -> usize {
        1
    }
    /// Appends the spikes each instance emitted since the last call to `out[b]`
    /// (`out.len()` must equal [`Backend::batch`]), ordered by step, then global id.
    fn drain_batch(&mut self, out: &mut [Vec<Spike>]) -> crate::Result<()>;
    /// [`Backend::drain_batch`] for a backend with one instance.
    fn drain_spikes(&mut self, out: &mut Vec<Spike>) -> crate::Result<()> {
        self.drain_batch(std::slice::from_mut(out))
    }
    /// Copies a state variable of population `pop` of `instance` into `out`
    /// (`i_ext`: the external current of the last step, on every neuron population).
    fn read_instance_state(
        &mut self,
        instance: usize,
        pop: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()>;
    /// [`Backend::read_instance_state`] of instance 0.
    fn read_state(&mut self, pop: usize, var: &str, out: &mut Vec<f32>) -> crate::Result<()> {
        self.read_instance_state(0, pop, var, out)
    }
    /// Copies the current weights of projection `proj` of `instance`, in the
    /// projection's weight unit ([`crate::model::Projection::weight`]),
    /// synapses in CSR order: by presynaptic neuron, then as connected.
    fn read_weights(
        &mut self,
        instance: usize,
        proj: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()>;
    /// Overwrites the weights of plastic projection `proj` of `instance`, in
    /// the projection's weight unit and CSR order (clipped to the rule's
    /// bounds), e.g. to reset them between samples.
    fn write_weights(&mut self, instance: usize, proj: usize, w: &[f32]) -> crate::Result<()>;
    /// Copies a plasticity trace (`r1`, `r2`: presynaptic; `o1`, `o2`: postsynaptic;
    /// `elig`: per-synapse eligibility) of plastic projection `proj` of
    /// `instance`, where its rule declares it
    /// (`crate::plasticity::kernel::StdpConsts::slot`).
    fn read_trace(
        &mut self,
        instance: usize,
        proj: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()>;
    /// Applies a third-factor command to plastic projection `proj` of `instance`.
    fn third_factor(
        &mut self,
        instance: usize,
        proj: usize,
        cmd: ThirdFactor<'_>,
    ) -> crate::Result<()>;
    /// A copy of the HLOP learner (lateral weights, frozen rows, momentum) of
    /// plastic projection `proj` of `instance`; fails when it has no HLOP.
    fn read_hlop(
        &mut self,
        instance: usize,
        proj: usize,
    ) -> crate::Result<crate::plasticity::hlop::Hlop> {
        Err(crate::Error::Unsupported {
            backend: self.name(),
            what: format!("read the HLOP subspace of projection {proj} of instance {instance}"),
        })
    }
    /// Copies the depression rate A of every domain of astrocyte `astro` of `instance`.
    fn read_astrocyte(
        &mut self,
        instance: usize,
        astro: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()>;
    /// Returns `instance` to the state it had when built, as at the start of a new
    /// sample: neuron state, delay rings, spike-source positions, plasticity
    /// traces, eligibilities, modulator, error and astrocytes. Plastic weights
    /// (see [`Backend::write_weights`]), an HLOP subspace and spike-source events
    /// set by [`Backend::set_spike_source`] are kept. Steps then count from 0
    /// again: per-step randomness is keyed by the step, so a sample run after a
    /// reset sees the same noise whatever ran before it.
    fn reset(&mut self, instance: usize) -> crate::Result<()> {
        Err(crate::Error::Unsupported {
            backend: self.name(),
            what: format!("reset instance {instance} between samples yet"),
        })
    }
    /// Replaces the events of spike-source population `pop` of `instance` with
    /// `events` (`(step, local id)`, sorted by step then id, ids within the
    /// population) and rewinds it to its first event.
    fn set_spike_source(
        &mut self,
        instance: usize,
        pop: usize,
        _events: Vec<(u64, u32)>,
    ) -> crate::Result<()> {
        Err(crate::Error::Unsupported {
            backend: self.name(),
            what: format!("set the spikes of population {pop} of instance {instance} yet"),
        })
    }
    /// Replaces the sampler of Poisson population `pop` of `instance` (its
    /// active steps stay); it draws from the next step on.
    fn set_poisson(
        &mut self,
        instance: usize,
        pop: usize,
        _sampler: crate::build::PoissonKind,
    ) -> crate::Result<()> {
        Err(crate::Error::Unsupported {
            backend: self.name(),
            what: format!("set the rates of population {pop} of instance {instance} yet"),
        })
    }
    /// A copy of the dynamic state of `instance`: neuron state, external
    /// currents, delay rings, plasticity traces, eligibilities, third
    /// factors, plastic weights, HLOP subspaces and astrocytes. Not the
    /// inputs (rates, currents, spike-source events) or the step.
    fn snapshot(&mut self, instance: usize) -> crate::Result<Snapshot> {
        Err(crate::Error::Unsupported {
            backend: self.name(),
            what: format!("take a snapshot of instance {instance}"),
        })
    }
    /// Puts a [`Backend::snapshot`] of this backend (of any of its
    /// instances) into `instance`.
    fn restore(&mut self, instance: usize, _snapshot: &Snapshot) -> crate::Result<()> {
        Err(crate::Error::Unsupported {
            backend: self.name(),
            what: format!("restore instance {instance}"),
        })
    }
    /// A new level for current or noise input `input` (model order) of
    /// `instance`, from the next step on; its neurons and active steps stay.
    fn set_input(
        &mut self,
        instance: usize,
        input: usize,
        _level: InputLevel,
    ) -> crate::Result<()> {
        Err(crate::Error::Unsupported {
            backend: self.name(),
            what: format!("set input {input} of instance {instance} yet"),
        })
    }
    /// Runs `phase` of `step`.
    fn phase(&mut self, phase: Phase, step: u64) -> crate::Result<()> {
        match phase {
            Phase::Inputs => self.inputs(step),
            Phase::Neurons => self.neurons(step),
            Phase::Propagate => self.propagate(step),
            Phase::Plasticity => self.plasticity(step),
        }
    }
    /// Runs steps `first..first + n` in `schedule::STEP` order. Backends
    /// override it to batch steps.
    fn run(&mut self, first: u64, n: u64) -> crate::Result<()> {
        for step in first..first + n {
            for phase in schedule::STEP {
                self.phase(phase, step)?;
            }
        }
        Ok(())
    }
    /// Wall time spent in each phase so far (instance 0), where the backend
    /// measures it (the CPU does; GPU phases overlap on the device).
    fn phase_times(&self) -> Option<PhaseTimes> {
        None
    }
}

/// The checks every backend makes on new events for spike source `name` of
/// `size` neurons (see [`Backend::set_spike_source`]), with the same messages.
pub(crate) fn check_spike_events(
    name: &str,
    size: u32,
    events: &[(u64, u32)],
) -> crate::Result<()> {
    if let Some(&(step, id)) = events.iter().find(|e| e.1 >= size) {
        return Err(crate::Error::argument(
            format!("spike source '{name}': ids"),
            format!("id {id} at step {step} is outside its {size} neurons"),
        ));
    }
    if let Some(w) = events.windows(2).find(|w| w[1] <= w[0]) {
        return Err(crate::Error::argument(
            format!("spike source '{name}': events"),
            format!(
                "must be sorted by step, then id, without repeats; {:?} follows {:?}",
                w[1], w[0]
            ),
        ));
    }
    Ok(())
}

impl ThirdFactor<'_> {
    /// The kind of command, as rules declare what they accept
    /// (`crate::plasticity::kernel::RuleSpec::commands`).
    pub fn kind(&self) -> crate::plasticity::kernel::Command {
        use crate::plasticity::kernel::Command;
        match self {
            ThirdFactor::Modulator(_) => Command::Modulator,
            ThirdFactor::Error(_) => Command::Error,
            ThirdFactor::HlopLearn { .. } | ThirdFactor::HlopTask { .. } => Command::Hlop,
        }
    }
}

/// The checks every backend makes on third-factor command `cmd` to projection
/// `pr` (`n_post` postsynaptic neurons), with the same messages: the rule must
/// declare the command ([`crate::plasticity::kernel::RuleSpec::commands`]), an
/// HLOP command needs an HLOP learner, values must fit.
pub(crate) fn check_third_factor(
    pr: &crate::build::BuiltProj,
    n_post: usize,
    cmd: &ThirdFactor<'_>,
) -> crate::Result<()> {
    use crate::plasticity::kernel::Command;
    let name = format!("projection '{}'", pr.name);
    let Some(pl) = &pr.plastic else {
        return Err(crate::Error::wrong_kind(name, "plastic"));
    };
    let kind = cmd.kind();
    if kind == Command::Hlop {
        if !pl.rule.spec.accepts(kind) || pl.hlop.is_none() {
            return Err(no_hlop(pr));
        }
    } else if !pl.rule.spec.accepts(kind) {
        let rules = crate::plasticity::Plasticity::accepting(kind);
        return Err(crate::Error::wrong_kind(
            name,
            format!("plastic with a {rules} rule"),
        ));
    }
    match cmd {
        ThirdFactor::Modulator(m) if !m.is_finite() => {
            return Err(crate::Error::Range {
                what: format!("modulator of {name}"),
                value: f64::from(*m),
                expected: "a finite value".into(),
            });
        }
        ThirdFactor::Error(e) => {
            if e.len() != n_post {
                return Err(crate::Error::Length {
                    what: format!("errors of {name}"),
                    expected: format!("{n_post} (one per postsynaptic neuron)"),
                    got: e.len(),
                });
            }
            if let Some(x) = e.iter().find(|x| !x.is_finite()) {
                return Err(crate::Error::Range {
                    what: format!("errors of {name}"),
                    value: f64::from(*x),
                    expected: "finite values".into(),
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// `w` clipped to the bounds of plastic projection `pr` (as the rule clips), or
/// the error every backend gives for weights the projection cannot take.
pub(crate) fn clipped_weights(pr: &crate::build::BuiltProj, w: &[f32]) -> crate::Result<Vec<f32>> {
    let name = format!("projection '{}'", pr.name);
    let Some(pl) = &pr.plastic else {
        return Err(crate::Error::wrong_kind(
            name,
            "plastic: its weights are fixed",
        ));
    };
    if w.len() != pr.len() {
        return Err(crate::Error::Length {
            what: format!("weights of {name}"),
            expected: format!("{} (one per synapse)", pr.len()),
            got: w.len(),
        });
    }
    if let Some(&bad) = w.iter().find(|x| !x.is_finite()) {
        return Err(crate::Error::Range {
            what: format!("weights of {name}"),
            value: f64::from(bad),
            expected: "finite values".into(),
        });
    }
    let k = &pl.rule;
    Ok(w.iter().map(|&x| x.clamp(k.w_min, k.w_max)).collect())
}

/// The error for an HLOP command to, or an HLOP read of, projection `pr`,
/// which has no HLOP learner.
pub(crate) fn no_hlop(pr: &crate::build::BuiltProj) -> crate::Error {
    crate::Error::wrong_kind(
        format!("projection '{}'", pr.name),
        "plastic with an HLOP learner (`hlop`)",
    )
}

/// The error for a spike buffer list whose length is not the batch size.
pub(crate) fn check_batch_len(got: usize, batch: usize) -> crate::Result<()> {
    if got == batch {
        Ok(())
    } else {
        Err(crate::Error::Length {
            what: "spike buffers".into(),
            expected: format!("{batch} (one per instance of the batch)"),
            got,
        })
    }
}

/// The GPU backend over `instances` on `adapter` (a name substring), boxed; without
/// the `gpu` feature, [`Error::MissingFeature`](crate::Error::MissingFeature).
pub fn gpu_batched(
    instances: &[crate::build::Built],
    adapter: Option<&str>,
) -> crate::Result<Box<dyn Backend>> {
    #[cfg(feature = "gpu")]
    {
        Ok(Box::new(GpuBackend::batched(instances, adapter)?))
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = (instances, adapter);
        Err(crate::Error::missing_feature("gpu", "the GPU backend"))
    }
}

/// The error of a [`Backend::restore`] given a snapshot whose shapes do not
/// fit: it was taken from an instance of another network.
pub(crate) fn foreign_snapshot() -> crate::Error {
    crate::Error::incompatible("snapshot", "the snapshot was taken from another network")
}
