//! The step's phases, listed once. Every backend runs them in this order
//! ([`super::Backend::run`], the CPU instance loop and the GPU encoder iterate
//! [`STEP`]), and the CPU times each one for `summary.json`'s `phase_s`.
use std::time::Instant;

/// A phase of the step (DESIGN.md, "The step").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Spike sources, Poisson sources, currents and noise.
    Inputs,
    /// Neuron update: ring input, integration, threshold, reset.
    Neurons,
    /// Event-driven delivery of the step's spikes into the delay rings.
    Propagate,
    /// Traces, STDP, three-factor rules, astrocytes.
    Plasticity,
}

/// One step, in order.
pub const STEP: [Phase; 4] = [
    Phase::Inputs,
    Phase::Neurons,
    Phase::Propagate,
    Phase::Plasticity,
];

impl Phase {
    /// The phase's name in `summary.json`'s `phase_s`.
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Inputs => "inputs",
            Phase::Neurons => "neurons",
            Phase::Propagate => "propagate",
            Phase::Plasticity => "plasticity",
        }
    }

    /// Its position in `STEP`.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// One step in [`SAMPLE`] is timed phase by phase, and each timed step stands for
/// `SAMPLE` steps: five clock reads in every step of a COBA second (0.019 s for
/// 10 000 steps) would be a visible share of it; sampled, COBA measured no slower.
pub const SAMPLE: u64 = 8;

/// Estimated wall time per phase, in `STEP` order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseTimes {
    /// Seconds per phase.
    pub seconds: [f64; 4],
}

impl PhaseTimes {
    /// Runs `f` for `phase` of `step`, timing it when `step` is a sampled one.
    #[inline(always)]
    pub fn run<T>(&mut self, phase: Phase, step: u64, f: impl FnOnce() -> T) -> T {
        if step % SAMPLE != 0 {
            return f();
        }
        let t = Instant::now();
        let out = f();
        self.seconds[phase.index()] += t.elapsed().as_secs_f64() * SAMPLE as f64;
        out
    }

    /// `(name, seconds)` of every phase.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        STEP.iter().map(|p| (p.name(), self.seconds[p.index()]))
    }
}
