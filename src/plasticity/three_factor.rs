//! Three-factor rules: an eligibility or presynaptic trace times a modulator that
//! the library API (or an experiment) sets.
//!
//! * **Reward-modulated STDP** (Izhikevich 2007): pair-STDP changes accumulate in a
//!   per-synapse eligibility trace `e` (decay `tau_e`) instead of the weight; every
//!   step `w += lr · M · e`, `M` being the reward/modulator (default 0, set with
//!   [`crate::Simulator::set_modulator`]). Costs O(synapses) per step while `M ≠ 0`.
//! * **Delta rule** for readouts: every step `w_ij += lr · error_i · x_j`, `x_j` the
//!   presynaptic trace (jumps by 1 at each spike, decays with `tau_ms`) and `error_i`
//!   set per postsynaptic neuron with [`crate::Simulator::set_error`] (default 0).
//!   With `hlop`, `x` is first projected off the frozen HLOP subspace
//!   (`x − Hᵀ H x`, [`crate::plasticity::hlop`]), so updates leave earlier tasks'
//!   responses alone.
use super::hlop::HlopParams;
pub use super::kernel::Third;
use super::kernel::{Command, Pairing, RuleSpec, StdpConsts, WeightDependence, check_rule};
use super::registry::PlasticityRule;
use serde::{Deserialize, Serialize};

/// Reward-modulated pair STDP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RewardStdpParams {
    /// Spike pairing (default `all_to_all`).
    pub pairing: Pairing,
    /// Presynaptic trace time constant, ms (default 20).
    pub tau_plus_ms: f64,
    /// Postsynaptic trace time constant, ms (default 20).
    pub tau_minus_ms: f64,
    /// Eligibility change of a causal pair at Δt → 0⁺ (default 1).
    pub a_plus: f64,
    /// Eligibility change (magnitude) of an acausal pair at Δt → 0⁻ (default 1.5).
    pub a_minus: f64,
    /// Eligibility time constant, ms (default 1000).
    pub tau_e_ms: f64,
    /// Learning rate: weight change per unit modulator and eligibility per step (default 0.001).
    pub lr: f64,
    /// Lower weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 0).
    pub w_min: f64,
    /// Upper weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 1).
    pub w_max: f64,
}

impl Default for RewardStdpParams {
    fn default() -> Self {
        RewardStdpParams {
            pairing: Pairing::AllToAll,
            tau_plus_ms: 20.0,
            tau_minus_ms: 20.0,
            a_plus: 1.0,
            a_minus: 1.5,
            tau_e_ms: 1000.0,
            lr: 0.001,
            w_min: 0.0,
            w_max: 1.0,
        }
    }
}

/// Error-driven delta rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DeltaParams {
    /// Presynaptic trace time constant, ms (default 20).
    pub tau_ms: f64,
    /// Learning rate (default 0.01).
    pub lr: f64,
    /// Lower weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default -1).
    pub w_min: f64,
    /// Upper weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 1).
    pub w_max: f64,
    /// Hebbian orthogonal projection of the presynaptic trace (default none).
    pub hlop: Option<HlopParams>,
}

impl Default for DeltaParams {
    fn default() -> Self {
        DeltaParams {
            tau_ms: 20.0,
            lr: 0.01,
            w_min: -1.0,
            w_max: 1.0,
            hlop: None,
        }
    }
}

impl RewardStdpParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        check_rule(
            &[
                ("tau_plus_ms", self.tau_plus_ms),
                ("tau_minus_ms", self.tau_minus_ms),
                ("tau_e_ms", self.tau_e_ms),
            ],
            &[
                ("a_plus", self.a_plus),
                ("a_minus", self.a_minus),
                ("lr", self.lr),
            ],
            self.w_min,
            self.w_max,
        )
    }

    /// Step constants: the pair-STDP kernel writing into the eligibility trace.
    pub fn derive(&self, dt_ms: f64) -> StdpConsts {
        let mut k = StdpConsts::pair(
            Self::SPEC,
            self.pairing,
            WeightDependence::Additive,
            (self.tau_plus_ms, self.tau_minus_ms),
            (self.a_plus, self.a_minus),
            (self.w_min, self.w_max),
            dt_ms,
        );
        k.third = Third::Reward {
            decay: (-dt_ms / self.tau_e_ms).exp() as f32,
            lr: self.lr as f32,
        };
        k
    }
}

impl DeltaParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = check_rule(
            &[("tau_ms", self.tau_ms)],
            &[("lr", self.lr)],
            self.w_min,
            self.w_max,
        );
        if let Some(h) = &self.hlop {
            out.extend(
                h.check()
                    .into_iter()
                    .map(|(f, m)| ("hlop", format!("{f}: {m}"))),
            );
        }
        out
    }

    /// Step constants: only the presynaptic trace is used.
    pub fn derive(&self, dt_ms: f64) -> StdpConsts {
        let mut k = StdpConsts::pair(
            Self::SPEC,
            Pairing::AllToAll,
            WeightDependence::Additive,
            (self.tau_ms, self.tau_ms),
            (0.0, 0.0),
            (self.w_min, self.w_max),
            dt_ms,
        );
        k.third = Third::Delta { lr: self.lr as f32 };
        k
    }
}

impl PlasticityRule for RewardStdpParams {
    const KEY: &'static str = "reward_stdp";
    const SPEC: &'static RuleSpec = &RuleSpec {
        key: Self::KEY,
        traces: &["r1", "o1"],
        synapse_state: &["w", "elig"],
        commands: &[Command::Modulator],
        astrocyte: false,
    };
    fn check(&self) -> Vec<(&'static str, String)> {
        RewardStdpParams::check(self)
    }
    fn bounds(&self) -> (f64, f64) {
        (self.w_min, self.w_max)
    }
    fn derive(&self, dt_ms: f64) -> StdpConsts {
        RewardStdpParams::derive(self, dt_ms)
    }
}

impl PlasticityRule for DeltaParams {
    const KEY: &'static str = "delta";
    /// `o1` is kept (always 0) so the delta rule has the trace kernel's layout.
    const SPEC: &'static RuleSpec = &RuleSpec {
        key: Self::KEY,
        traces: &["r1", "o1"],
        synapse_state: &["w"],
        commands: &[Command::Error, Command::Hlop],
        astrocyte: false,
    };
    fn check(&self) -> Vec<(&'static str, String)> {
        DeltaParams::check(self)
    }
    fn bounds(&self) -> (f64, f64) {
        (self.w_min, self.w_max)
    }
    fn derive(&self, dt_ms: f64) -> StdpConsts {
        DeltaParams::derive(self, dt_ms)
    }
    fn hlop(&self) -> Option<&HlopParams> {
        self.hlop.as_ref()
    }
}
