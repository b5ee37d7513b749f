//! The per-synapse arithmetic every trace rule shares, and what a rule declares
//! to the backends: its step constants ([`StdpConsts`]), its update hook
//! ([`Third`]) and its description ([`RuleSpec`]: traces, per-synapse state,
//! third-factor commands, astrocyte coupling).
//!
//! The rule files ([`super::stdp`], [`super::three_factor`]) import this module
//! and [`super::registry`], never each other. See [`super::stdp`] for the trace
//! kernel's equations, timing and order within a step.
use serde::{Deserialize, Serialize};

/// Which spike pairs interact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    /// Every earlier spike of the partner contributes (traces add up).
    #[default]
    AllToAll,
    /// Only the most recent partner spike contributes (traces reset to 1).
    Nearest,
}

/// How the weight limits act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightDependence {
    /// Changes independent of the weight, clipped to `[w_min, w_max]` (hard bounds).
    #[default]
    Additive,
    /// Potentiation scaled by `(w_max − w)/(w_max − w_min)`, depression by
    /// `(w − w_min)/(w_max − w_min)` (soft bounds, van Rossum et al. 2000).
    Multiplicative,
}

/// The kinds of third-factor command a rule may accept (see
/// [`crate::backend::ThirdFactor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// A modulator M ([`crate::Simulator::set_modulator`]).
    Modulator,
    /// An error per postsynaptic neuron ([`crate::Simulator::set_error`]).
    Error,
    /// HLOP learning and new HLOP tasks (where the rule has an HLOP learner).
    Hlop,
}

/// What a rule declares to validation, the API and both backends. The trace
/// kernel keeps per-neuron traces `r1`, `r2` (presynaptic) and `o1`, `o2`
/// (postsynaptic); `r2`, `o2` exist only when the rule's constants have triplet
/// terms ([`StdpConsts::triplet`]).
#[derive(Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// The key naming the rule in a model file.
    pub key: &'static str,
    /// Per-neuron traces a caller may read ([`crate::Simulator::trace`]).
    pub traces: &'static [&'static str],
    /// Per-synapse state (`w`: the weight; `elig`: an eligibility trace, also
    /// readable with [`crate::Simulator::trace`]).
    pub synapse_state: &'static [&'static str],
    /// The third-factor commands it accepts.
    pub commands: &'static [Command],
    /// Whether an astrocyte may set its depression rate.
    pub astrocyte: bool,
}

impl RuleSpec {
    /// Whether the rule accepts commands of kind `c`.
    pub fn accepts(&self, c: Command) -> bool {
        self.commands.contains(&c)
    }
}

/// The update hook of a rule: what runs besides (or instead of) the trace
/// kernel's spike updates. The backends dispatch on it, not on rule names.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Third {
    /// Plain two-factor STDP: changes go to the weight.
    #[default]
    None,
    /// STDP changes go to an eligibility trace decaying by `decay` per step;
    /// `w += lr · M · e` every step.
    Reward {
        /// Per-step eligibility decay.
        decay: f32,
        /// Learning rate.
        lr: f32,
    },
    /// `w_ij += lr · error_i · x_j` every step.
    Delta {
        /// Learning rate.
        lr: f32,
    },
}

/// The compiled form of a rule: what both backends run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StdpConsts {
    /// Traces reset to 1 instead of adding 1.
    pub nearest: bool,
    /// Soft bounds.
    pub multiplicative: bool,
    /// Whether the triplet traces `r2`, `o2` exist.
    pub triplet: bool,
    /// Per-step decay of `[r1, r2]`.
    pub decay_pre: [f32; 2],
    /// Per-step decay of `[o1, o2]`.
    pub decay_post: [f32; 2],
    /// Initial `[c_pre2, c_pre3, c_post2, c_post3]` (modulators may change them).
    pub coef: [f32; 4],
    /// Lower bound.
    pub w_min: f32,
    /// Upper bound.
    pub w_max: f32,
    /// `1 / (w_max − w_min)`.
    pub inv_range: f32,
    /// The update hook (three-factor rules).
    pub third: Third,
    /// What the rule declares ([`super::registry::PlasticityRule::SPEC`]).
    pub spec: &'static RuleSpec,
}

/// Where a per-neuron trace lies in the trace kernel's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceSlot {
    /// Presynaptic trace 0 (`r1`) or 1 (`r2`), one per presynaptic neuron.
    Pre(usize),
    /// Postsynaptic trace 0 (`o1`) or 1 (`o2`), one per postsynaptic neuron.
    Post(usize),
    /// Per-synapse eligibility (`elig`).
    Elig,
}

impl StdpConsts {
    /// The constants of a rule of the trace kernel: time constants of
    /// `[r1, r2, o1, o2]`, coefficients `[c_pre2, c_pre3, c_post2, c_post3]`,
    /// bounds and step `dt` (ms).
    pub fn new(
        spec: &'static RuleSpec,
        pairing: Pairing,
        dep: WeightDependence,
        taus: [f64; 4],
        coef: [f64; 4],
        (w_min, w_max): (f64, f64),
        dt: f64,
    ) -> Self {
        let d = |tau: f64| (-dt / tau).exp() as f32;
        StdpConsts {
            nearest: pairing == Pairing::Nearest,
            multiplicative: dep == WeightDependence::Multiplicative,
            triplet: coef[1] != 0.0 || coef[3] != 0.0,
            decay_pre: [d(taus[0]), d(taus[1])],
            decay_post: [d(taus[2]), d(taus[3])],
            coef: coef.map(|c| c as f32),
            w_min: w_min as f32,
            w_max: w_max as f32,
            inv_range: (1.0 / (w_max - w_min)) as f32,
            third: Default::default(),
            spec,
        }
    }

    /// Pair-STDP constants (`tau_plus`, `tau_minus`, `a_plus`, `a_minus ≥ 0`).
    #[allow(clippy::too_many_arguments)]
    pub fn pair(
        spec: &'static RuleSpec,
        pairing: Pairing,
        dep: WeightDependence,
        (tau_plus, tau_minus): (f64, f64),
        (a_plus, a_minus): (f64, f64),
        bounds: (f64, f64),
        dt: f64,
    ) -> Self {
        StdpConsts::new(
            spec,
            pairing,
            dep,
            [tau_plus, tau_plus, tau_minus, tau_minus],
            [-a_minus, 0.0, a_plus, 0.0],
            bounds,
            dt,
        )
    }

    /// Where the readable state variable `var` lies, if the rule declares it and
    /// (for `r2`, `o2`) has triplet terms.
    pub fn slot(&self, var: &str) -> Option<TraceSlot> {
        let declared = self.spec.traces.contains(&var)
            || (var != "w" && self.spec.synapse_state.contains(&var));
        if !declared {
            return None;
        }
        match var {
            "r1" => Some(TraceSlot::Pre(0)),
            "o1" => Some(TraceSlot::Post(0)),
            "r2" if self.triplet => Some(TraceSlot::Pre(1)),
            "o2" if self.triplet => Some(TraceSlot::Post(1)),
            "elig" if matches!(self.third, Third::Reward { .. }) => Some(TraceSlot::Elig),
            _ => None,
        }
    }
}

/// The checks every trace rule shares: positive time constants, finite
/// non-negative amplitudes, `w_min < w_max`.
pub fn check_rule(
    taus: &[(&'static str, f64)],
    amps: &[(&'static str, f64)],
    w_min: f64,
    w_max: f64,
) -> Vec<(&'static str, String)> {
    let mut out = vec![];
    for &(name, t) in taus {
        if !(t > 0.0 && t.is_finite()) {
            out.push((name, format!("must be a positive time in ms, got {t}")));
        }
    }
    for &(name, a) in amps {
        if !(a >= 0.0 && a.is_finite()) {
            out.push((name, format!("must be a finite number ≥ 0, got {a}")));
        }
    }
    if !(w_min.is_finite() && w_max.is_finite() && w_min < w_max) {
        out.push((
            "w_max",
            format!("must be finite and above w_min ({w_min}), got {w_max}"),
        ));
    }
    out
}

/// Applies a change `dw` to `w` under the rule's weight dependence. Plain f32
/// operations in a fixed order, so a shader can repeat them bit for bit.
#[inline(always)]
pub fn apply(k: &StdpConsts, w: f32, dw: f32) -> f32 {
    let step = if k.multiplicative {
        let room = if dw > 0.0 { k.w_max - w } else { w - k.w_min };
        dw * (room * k.inv_range)
    } else {
        dw
    };
    (w + step).clamp(k.w_min, k.w_max)
}

/// The change at a presynaptic spike: `o1 · (c_pre2 + c_pre3 · r2)`.
#[inline(always)]
pub fn on_pre(coef: &[f32; 4], o1: f32, r2: f32) -> f32 {
    o1 * (coef[0] + coef[1] * r2)
}

/// The change at a postsynaptic spike: `r1 · (c_post2 + c_post3 · o2)`.
#[inline(always)]
pub fn on_post(coef: &[f32; 4], r1: f32, o2: f32) -> f32 {
    r1 * (coef[2] + coef[3] * o2)
}

/// Bumps a trace at a spike.
#[inline(always)]
pub fn bump(nearest: bool, x: f32) -> f32 {
    if nearest { 1.0 } else { x + 1.0 }
}

/// How an astrocyte's depression rate A enters a rule's coefficients (see
/// [`super::astrocyte::Modulation`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AstroCoupling {
    /// The trace increment a (A · a is the depression coefficient).
    pub trace_step: f32,
    /// eta · a, the potentiation coefficient.
    pub eta_step: f32,
    /// Inhibitory sign handling (the coefficients trade places).
    pub inhibitory: bool,
}
