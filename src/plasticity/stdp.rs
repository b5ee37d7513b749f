//! Trace-based spike-timing-dependent plasticity.
//!
//! Every rule here is one kernel with per-neuron traces: two presynaptic traces
//! `r1, r2` (time constants `tau_plus`, `tau_x`) and two postsynaptic traces `o1, o2`
//! (`tau_minus`, `tau_y`), each jumping by 1 at its neuron's spikes (set to 1 with
//! nearest-spike pairing) and decaying exponentially. With coefficients
//! `c = [c_pre2, c_pre3, c_post2, c_post3]`:
//!
//! * at a presynaptic spike: `w += o1 · (c_pre2 + c_pre3 · r2)`,
//! * at a postsynaptic spike: `w += r1 · (c_post2 + c_post3 · o2)`,
//!
//! using each trace's value *before* the current spike's jump, then the weight is
//! clipped to `[w_min, w_max]` (additive, hard bounds) or the change is scaled by the
//! distance to the bound it moves toward (multiplicative, soft bounds). Pair STDP is
//! `c = [-a_minus, 0, a_plus, 0]`, the triplet rule (Pfister & Gerstner 2006) is
//! `[-A2-, -A3-, A2+, A3+]`, and NALSM's rule is a pair rule whose depression rate an
//! astrocyte can set.
//!
//! **Timing.** A spike is timed at the step its neuron emits it: the transmission
//! delay is not part of Δt (equivalently, all of the delay is dendritic and the
//! synapse sees the presynaptic spike at emission). **Order within a step** (after
//! propagation): decay every trace by one step, apply presynaptic-spike updates
//! (outgoing rows), then postsynaptic-spike updates (incoming columns), then bump the
//! traces. A pair with Δt = t_post − t_pre = k steps > 0 therefore changes the weight
//! by `c_post2 · exp(−k·dt/tau_plus)` and one with Δt = −k by
//! `c_pre2 · exp(−k·dt/tau_minus)`; simultaneous spikes (Δt = 0) do not interact.
//! Weights are in the projection's weight unit; spikes delivered in a step use the
//! weight from before that step's update.
use super::kernel::check_rule;
use super::kernel::{AstroCoupling, RuleSpec};
pub use super::kernel::{Pairing, StdpConsts, WeightDependence};
use super::registry::PlasticityRule;
use serde::{Deserialize, Serialize};

/// Pair-based STDP (Song, Miller & Abbott 2000; Brian2's `STDP.py` example).
///
/// ```
/// use astroglia::plasticity::StdpParams;
/// let mut p = StdpParams::default();
/// (p.a_plus, p.a_minus, p.w_max) = (1e-4, 1.05e-4, 0.01);
/// assert!(p.check().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StdpParams {
    /// Spike pairing (default `all_to_all`).
    pub pairing: Pairing,
    /// Weight dependence (default `additive`).
    pub weight_dependence: WeightDependence,
    /// Presynaptic trace time constant (potentiation window), ms (default 20).
    pub tau_plus_ms: f64,
    /// Postsynaptic trace time constant (depression window), ms (default 20).
    pub tau_minus_ms: f64,
    /// Potentiation of a pre-before-post pair at Δt → 0⁺, weight units (default 0.01).
    pub a_plus: f64,
    /// Depression of a post-before-pre pair at Δt → 0⁻, weight units, ≥ 0 (default 0.0105).
    pub a_minus: f64,
    /// Lower weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 0).
    pub w_min: f64,
    /// Upper weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 1).
    pub w_max: f64,
}

impl Default for StdpParams {
    fn default() -> Self {
        StdpParams {
            pairing: Pairing::AllToAll,
            weight_dependence: WeightDependence::Additive,
            tau_plus_ms: 20.0,
            tau_minus_ms: 20.0,
            a_plus: 0.01,
            a_minus: 0.0105,
            w_min: 0.0,
            w_max: 1.0,
        }
    }
}

/// Triplet STDP (Pfister & Gerstner 2006). Defaults: the visual-cortex all-to-all
/// "full" set; the other published sets are [`TripletParams::visual_cortex_minimal`]
/// and [`TripletParams::visual_cortex_nearest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TripletParams {
    /// Spike pairing (default `all_to_all`).
    pub pairing: Pairing,
    /// Weight dependence (default `additive`).
    pub weight_dependence: WeightDependence,
    /// Pair potentiation amplitude A2+ (default 5e-10).
    pub a2_plus: f64,
    /// Triplet potentiation amplitude A3+ (default 6.2e-3).
    pub a3_plus: f64,
    /// Pair depression amplitude A2− (default 7e-3).
    pub a2_minus: f64,
    /// Triplet depression amplitude A3− (default 2.3e-4).
    pub a3_minus: f64,
    /// Presynaptic pair trace r1, ms (default 16.8).
    pub tau_plus_ms: f64,
    /// Postsynaptic pair trace o1, ms (default 33.7).
    pub tau_minus_ms: f64,
    /// Presynaptic triplet trace r2, ms (default 101).
    pub tau_x_ms: f64,
    /// Postsynaptic triplet trace o2, ms (default 125).
    pub tau_y_ms: f64,
    /// Lower weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 0).
    pub w_min: f64,
    /// Upper weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 1).
    pub w_max: f64,
}

impl Default for TripletParams {
    fn default() -> Self {
        TripletParams {
            pairing: Pairing::AllToAll,
            weight_dependence: WeightDependence::Additive,
            a2_plus: 5e-10,
            a3_plus: 6.2e-3,
            a2_minus: 7e-3,
            a3_minus: 2.3e-4,
            tau_plus_ms: 16.8,
            tau_minus_ms: 33.7,
            tau_x_ms: 101.0,
            tau_y_ms: 125.0,
            w_min: 0.0,
            w_max: 1.0,
        }
    }
}

impl TripletParams {
    /// Visual cortex, all-to-all, minimal model (A2+ = A3− = 0).
    pub fn visual_cortex_minimal() -> Self {
        TripletParams {
            a2_plus: 0.0,
            a3_plus: 6.5e-3,
            a2_minus: 7.1e-3,
            a3_minus: 0.0,
            ..Default::default()
        }
    }

    /// Visual cortex, nearest-spike, full model.
    pub fn visual_cortex_nearest() -> Self {
        TripletParams {
            pairing: Pairing::Nearest,
            a2_plus: 8.8e-11,
            a3_plus: 5.3e-2,
            a2_minus: 6.6e-3,
            a3_minus: 3.1e-3,
            tau_x_ms: 714.0,
            tau_y_ms: 40.0,
            ..Default::default()
        }
    }
}

/// Which side of NALSM's sign handling a projection takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presynaptic {
    /// Excitatory or input synapses: causal pairs potentiate (+eta), acausal pairs
    /// depress (−A).
    #[default]
    Excitatory,
    /// Inhibitory synapses (w ≤ 0): causal pairs make w more negative (−A), acausal
    /// pairs less negative (+eta).
    Inhibitory,
}

/// NALSM's STDP (Ivanov & Michmizos 2021, `NALSM_STDP.py`):
/// `dw = c_causal · x_pre · S_post + c_acausal · x_post · S_pre` with traces
/// `x ← d·(x + a·S)`; an astrocyte modulating the projection replaces the depression
/// rate A every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NalsmParams {
    /// Potentiation rate eta (default 0.15).
    pub eta: f64,
    /// Depression rate A until an astrocyte sets it (default 0.15).
    pub depression: f64,
    /// Trace increment a per spike (default 0.1).
    pub trace_step: f64,
    /// Trace time constant, ms (default 10; the code's per-ms factor 0.904774
    /// corresponds to 9.99 ms).
    pub tau_ms: f64,
    /// Sign handling (default `excitatory`).
    pub presynaptic: Presynaptic,
    /// Lower weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 0; −3 for inhibitory and input synapses in NALSM).
    pub w_min: f64,
    /// Upper weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 3).
    pub w_max: f64,
}

impl Default for NalsmParams {
    fn default() -> Self {
        NalsmParams {
            eta: 0.15,
            depression: 0.15,
            trace_step: 0.1,
            tau_ms: 10.0,
            presynaptic: Presynaptic::Excitatory,
            w_min: 0.0,
            w_max: 3.0,
        }
    }
}

impl StdpParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        check_rule(
            &[
                ("tau_plus_ms", self.tau_plus_ms),
                ("tau_minus_ms", self.tau_minus_ms),
            ],
            &[("a_plus", self.a_plus), ("a_minus", self.a_minus)],
            self.w_min,
            self.w_max,
        )
    }
}

impl TripletParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        check_rule(
            &[
                ("tau_plus_ms", self.tau_plus_ms),
                ("tau_minus_ms", self.tau_minus_ms),
                ("tau_x_ms", self.tau_x_ms),
                ("tau_y_ms", self.tau_y_ms),
            ],
            &[
                ("a2_plus", self.a2_plus),
                ("a3_plus", self.a3_plus),
                ("a2_minus", self.a2_minus),
                ("a3_minus", self.a3_minus),
            ],
            self.w_min,
            self.w_max,
        )
    }
}

impl NalsmParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        check_rule(
            &[("tau_ms", self.tau_ms)],
            &[
                ("eta", self.eta),
                ("depression", self.depression),
                ("trace_step", self.trace_step),
            ],
            self.w_min,
            self.w_max,
        )
    }
}

impl StdpParams {
    /// Step constants for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> StdpConsts {
        StdpConsts::pair(
            Self::SPEC,
            self.pairing,
            self.weight_dependence,
            (self.tau_plus_ms, self.tau_minus_ms),
            (self.a_plus, self.a_minus),
            (self.w_min, self.w_max),
            dt_ms,
        )
    }
}

impl TripletParams {
    /// Step constants for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> StdpConsts {
        StdpConsts::new(
            Self::SPEC,
            self.pairing,
            self.weight_dependence,
            [
                self.tau_plus_ms,
                self.tau_x_ms,
                self.tau_minus_ms,
                self.tau_y_ms,
            ],
            [-self.a2_minus, -self.a3_minus, self.a2_plus, self.a3_plus],
            (self.w_min, self.w_max),
            dt_ms,
        )
    }
}

impl NalsmParams {
    /// Step constants for step `dt_ms`: traces normalised to jumps of 1, so the
    /// trace increment `a` is folded into the coefficients.
    pub fn derive(&self, dt_ms: f64) -> StdpConsts {
        let t = self.tau_ms;
        let (pot, dep) = (
            self.eta * self.trace_step,
            self.depression * self.trace_step,
        );
        let coef = match self.presynaptic {
            Presynaptic::Excitatory => [-dep, 0.0, pot, 0.0],
            Presynaptic::Inhibitory => [pot, 0.0, -dep, 0.0],
        };
        StdpConsts::new(
            Self::SPEC,
            Pairing::AllToAll,
            WeightDependence::Additive,
            [t, t, t, t],
            coef,
            (self.w_min, self.w_max),
            dt_ms,
        )
    }
}

/// The trace kernel's traces without triplet terms.
const PAIR_TRACES: &[&str] = &["r1", "o1"];

impl PlasticityRule for StdpParams {
    const KEY: &'static str = "stdp";
    const SPEC: &'static RuleSpec = &RuleSpec {
        key: Self::KEY,
        traces: PAIR_TRACES,
        synapse_state: &["w"],
        commands: &[],
        astrocyte: false,
    };
    fn check(&self) -> Vec<(&'static str, String)> {
        StdpParams::check(self)
    }
    fn bounds(&self) -> (f64, f64) {
        (self.w_min, self.w_max)
    }
    fn derive(&self, dt_ms: f64) -> StdpConsts {
        StdpParams::derive(self, dt_ms)
    }
}

impl PlasticityRule for TripletParams {
    const KEY: &'static str = "triplet";
    /// `r2`, `o2` exist when `a3_plus` or `a3_minus` is nonzero.
    const SPEC: &'static RuleSpec = &RuleSpec {
        key: Self::KEY,
        traces: &["r1", "r2", "o1", "o2"],
        synapse_state: &["w"],
        commands: &[],
        astrocyte: false,
    };
    fn check(&self) -> Vec<(&'static str, String)> {
        TripletParams::check(self)
    }
    fn bounds(&self) -> (f64, f64) {
        (self.w_min, self.w_max)
    }
    fn derive(&self, dt_ms: f64) -> StdpConsts {
        TripletParams::derive(self, dt_ms)
    }
}

impl PlasticityRule for NalsmParams {
    const KEY: &'static str = "nalsm";
    const SPEC: &'static RuleSpec = &RuleSpec {
        key: Self::KEY,
        traces: PAIR_TRACES,
        synapse_state: &["w"],
        commands: &[],
        astrocyte: true,
    };
    fn check(&self) -> Vec<(&'static str, String)> {
        NalsmParams::check(self)
    }
    fn bounds(&self) -> (f64, f64) {
        (self.w_min, self.w_max)
    }
    fn derive(&self, dt_ms: f64) -> StdpConsts {
        NalsmParams::derive(self, dt_ms)
    }
    fn astrocyte(&self) -> Option<AstroCoupling> {
        Some(AstroCoupling {
            trace_step: self.trace_step as f32,
            eta_step: (self.eta * self.trace_step) as f32,
            inhibitory: self.presynaptic == Presynaptic::Inhibitory,
        })
    }
}
