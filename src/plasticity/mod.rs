//! Plasticity rules: trace-based STDP (pair, triplet, NALSM), with their parameters
//! and the per-synapse arithmetic both backends share, and the Hebbian orthogonal
//! projection (HLOP) subspace learner.
pub mod astrocyte;
pub mod hlop;
pub mod stdp;
pub mod three_factor;

pub use stdp::{NalsmParams, Pairing, Presynaptic, StdpParams, TripletParams, WeightDependence};

use serde::{Deserialize, Serialize};

/// The plasticity rule of a projection (`plasticity = { stdp = { … } }` in a model
/// file). See [`stdp`] for the shared trace kernel, timing and step order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Plasticity {
    /// Pair-based STDP.
    Stdp(StdpParams),
    /// Triplet STDP.
    Triplet(TripletParams),
    /// NALSM's STDP (depression rate settable by an astrocyte).
    Nalsm(NalsmParams),
    /// Reward-modulated STDP (eligibility trace × modulator).
    RewardStdp(three_factor::RewardStdpParams),
    /// Error-driven delta rule (error × presynaptic trace), optionally with HLOP.
    Delta(three_factor::DeltaParams),
}

impl Plasticity {
    /// The key naming the rule in a model file.
    pub fn key(&self) -> &'static str {
        match self {
            Plasticity::Stdp(_) => "stdp",
            Plasticity::Triplet(_) => "triplet",
            Plasticity::Nalsm(_) => "nalsm",
            Plasticity::RewardStdp(_) => "reward_stdp",
            Plasticity::Delta(_) => "delta",
        }
    }

    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        match self {
            Plasticity::Stdp(p) => p.check(),
            Plasticity::Triplet(p) => p.check(),
            Plasticity::Nalsm(p) => p.check(),
            Plasticity::RewardStdp(p) => p.check(),
            Plasticity::Delta(p) => p.check(),
        }
    }

    /// Step constants for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> stdp::StdpConsts {
        match self {
            Plasticity::Stdp(p) => p.derive(dt_ms),
            Plasticity::Triplet(p) => p.derive(dt_ms),
            Plasticity::Nalsm(p) => p.derive(dt_ms),
            Plasticity::RewardStdp(p) => p.derive(dt_ms),
            Plasticity::Delta(p) => p.derive(dt_ms),
        }
    }

    /// Weight bounds `(w_min, w_max)`.
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            Plasticity::Stdp(p) => (p.w_min, p.w_max),
            Plasticity::Triplet(p) => (p.w_min, p.w_max),
            Plasticity::Nalsm(p) => (p.w_min, p.w_max),
            Plasticity::RewardStdp(p) => (p.w_min, p.w_max),
            Plasticity::Delta(p) => (p.w_min, p.w_max),
        }
    }
}
