//! Fixed-point current-based LIF: the integer arithmetic of a digital
//! neuromorphic core (Loihi's CUBA neuron, Davies et al. 2018, IEEE Micro 38(1);
//! Lava's bit-accurate `PyLifModelBitAcc`), run by both backends with integer
//! operations only, so CPU and GPU agree bit for bit on any device.
//!
//! A population with a [`FixedPoint`] block keeps its [`LifParams`] as the
//! specification and runs this quantised version of them. With `B = state_bits`,
//! `W = weight_bits`, `S = decay_bits` (every state saturates at
//! `[-2^(B-1), 2^(B-1) - 1]`, never wraps):
//!
//! - Membrane: integer `V` with `v = e_l + V·q_v`, `q_v = v_range_mv / 2^(B-1)`
//!   (default range `4·max(|v_th - e_l|, |v_reset - e_l|)`). Threshold
//!   `θ = round((v_th - e_l)/q_v)`, reset `ρ = round((v_reset - e_l)/q_v)`.
//! - Decays: `D = round(p·2^S)` for `p = exp(-dt/τ)` (τ_m, τ_syn_exc, τ_syn_inh);
//!   `decay(x) = sign(x)·⌊(|x|·D + h)/2^S⌋` with `h = 2^(S-1)` (rounding
//!   `nearest`, halves away from zero) or `h = 0` (`toward_zero`, Lava's rule).
//!   The product is split (`|x| = hi·2^S + lo`) so every term fits in 32 bits.
//! - Synaptic currents (exponential synapses): integer `I_r` per receptor, in
//!   units of `q_v·2^-f_r` of membrane change per step (`I·p32/q_v` of the float
//!   model). `f_r ≥ 0` is the largest shift such that the largest sum of `|w|·p32/q_v`
//!   onto one neuron, times `2^f_r`, still fits the state: a step in which every
//!   input arrives at once does not saturate. The membrane gets `I_r ≫ f_r`
//!   (rounded like the decay).
//! - Weights: a `W`-bit mantissa `m ∈ [-(2^(W-1)-1), 2^(W-1)-1]` and one exponent
//!   `e_r ≥ 0` per (population, receptor), the smallest that fits the largest
//!   weight: `m = round(w·g_r·2^f_r / 2^e_r)`, delivered as `m·2^e_r` into the
//!   integer ring (`g_r = p32_r/q_v` for currents, `1/q_v` for delta synapses).
//! - Bias `b = round(i_bias·p30/q_v)`; an external current `x` (pA, f32) enters as
//!   `round_ties_even(x · k)`, `k = f32(p30/q_v)`: one correctly rounded f32
//!   product, the same on every IEEE device.
//!
//! One step (the float model's order, [`super::lif`]): add this step's ring
//! input (to `V` for delta synapses while not refractory, else to `I_r`);
//! `V' = sat(decay_m(V) + Σ_r (I_r ≫ f_r) + b + x)`; spike when not refractory and
//! `V' ≥ θ`, then `V = ρ` for `t_ref`; `I_r = decay_r(I_r)`.
use super::lif::{LifParams, LifState, SynapseKind};
use serde::{Deserialize, Serialize};

/// How the integer decays and shifts round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To nearest, halves away from zero (unbiased for large values).
    #[default]
    Nearest,
    /// Toward zero (truncation of the magnitude, as Lava's Loihi model does):
    /// every state decays to exactly 0, slightly faster than the float model.
    TowardZero,
}

/// Bit widths of a fixed-point LIF population (see the module docs for the
/// mapping). In a model file: `fixed_point = { state_bits = 16 }` beside `lif`.
///
/// ```
/// use astroglia::model::*;
/// let fp = FixedPoint { state_bits: 12, ..FixedPoint::default() };
/// let pop = Population::new("cells", 10, NeuronModel::Lif(LifParams::default()))
///     .fixed_point(fp);
/// assert_eq!(pop.fixed_point.unwrap().weight_bits, 8);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FixedPoint {
    /// Bits of the membrane and synaptic-current states, signed (4..=28, default 16).
    pub state_bits: u32,
    /// Bits of a weight mantissa, signed (2..=16 and at most `state_bits`, default 8).
    pub weight_bits: u32,
    /// Fraction bits of the decay factors (4..=15, default 12 as on Loihi).
    pub decay_bits: u32,
    /// Membrane range in mV mapped onto the state, `e_l ± v_range_mv` (default
    /// `4·max(|v_th - e_l|, |v_reset - e_l|)`).
    pub v_range_mv: Option<f64>,
    /// Largest weights a synaptic current holds before it saturates (default 8;
    /// never more than the largest sum of weights onto one neuron needs). More
    /// headroom, coarser currents.
    pub current_headroom: f64,
    /// Rounding of the membrane decay and of the current-to-membrane shift
    /// (default `nearest`); current decays always round toward zero.
    pub rounding: Rounding,
}

impl Default for FixedPoint {
    fn default() -> Self {
        FixedPoint {
            state_bits: 16,
            weight_bits: 8,
            decay_bits: 12,
            v_range_mv: None,
            current_headroom: 8.0,
            rounding: Rounding::Nearest,
        }
    }
}

impl FixedPoint {
    /// Default settings with `state_bits` bits of state.
    pub fn with_state_bits(state_bits: u32) -> Self {
        FixedPoint {
            state_bits,
            ..Default::default()
        }
    }

    /// Lists invalid settings as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if !(4..=28).contains(&self.state_bits) {
            out.push((
                "state_bits",
                format!("must be in 4..=28, got {}", self.state_bits),
            ));
        }
        if !(2..=16).contains(&self.weight_bits) || self.weight_bits > self.state_bits {
            out.push((
                "weight_bits",
                format!(
                    "must be in 2..=16 and at most state_bits ({}), got {}",
                    self.state_bits, self.weight_bits
                ),
            ));
        }
        // 15 keeps the low half of the split decay product below 2^31.
        if !(4..=15).contains(&self.decay_bits) {
            out.push((
                "decay_bits",
                format!("must be in 4..=15, got {}", self.decay_bits),
            ));
        }
        if !(self.current_headroom >= 1.0 && self.current_headroom <= 1e9) {
            out.push((
                "current_headroom",
                format!("must be in [1, 1e9] weights, got {}", self.current_headroom),
            ));
        }
        if let Some(r) = self.v_range_mv {
            if !(r > 0.0 && r.is_finite()) {
                out.push(("v_range_mv", format!("must be a positive number, got {r}")));
            }
        }
        out
    }

    /// The integer constants of `lif` at step `dt_ms`, for inputs whose largest
    /// per-neuron sum of `|w|` is `max_sum[r]` and largest `|w|` is `max_abs[r]`
    /// (model units, receptor r = 0 exc, 1 inh). The settings must be valid.
    pub fn derive(
        &self,
        lif: &LifParams,
        dt_ms: f64,
        max_sum: [f64; 2],
        max_abs: [f64; 2],
    ) -> FixedConsts {
        let b = self.state_bits;
        let smax = (1i32 << (b - 1)) - 1;
        let smin = -(1i32 << (b - 1));
        let sat = |x: f64| x.round().clamp(smin as f64, smax as f64) as i32;
        let range = self.v_range_mv.unwrap_or_else(|| {
            4.0 * (lif.v_th_mv - lif.e_l_mv)
                .abs()
                .max((lif.v_reset_mv - lif.e_l_mv).abs())
        });
        let q_v = range / (1u64 << (b - 1)) as f64;
        let [p33, p30, p32e, p32i, p22e, p22i] = lif.propagator(dt_ms);
        let one = (1u32 << self.decay_bits) as f64;
        let dec = |p: f64| (p * one).round().clamp(0.0, one) as i32;
        let delta = lif.synapse == SynapseKind::Delta;
        let mut frac = [0u32; 2];
        let mut exp = [0u32; 2];
        let mut gain = [0f64; 2];
        let mmax = ((1u32 << (self.weight_bits - 1)) - 1) as f64;
        for (r, p32) in [p32e, p32i].into_iter().enumerate() {
            gain[r] = if delta { 1.0 / q_v } else { p32 / q_v };
            let a = max_sum[r].min(self.current_headroom * max_abs[r]) * gain[r];
            if !delta && a > 0.0 {
                frac[r] = (smax as f64 / a).log2().floor().clamp(0.0, 30.0) as u32;
            }
            let w = max_abs[r] * gain[r] * (frac[r] as f64).exp2();
            while exp[r] < 31 && (w / (exp[r] as f64).exp2()).round() > mmax {
                exp[r] += 1;
            }
        }
        FixedConsts {
            smin,
            smax,
            theta: sat((lif.v_th_mv - lif.e_l_mv) / q_v),
            reset: sat((lif.v_reset_mv - lif.e_l_mv) / q_v),
            decay_bits: self.decay_bits,
            d_m: dec(p33),
            d_exc: dec(p22e),
            d_inh: dec(p22i),
            frac,
            weight_exp: exp,
            weight_max: mmax as i32,
            bias: sat(lif.i_bias_pa * p30 / q_v),
            k_ext: (p30 / q_v) as f32,
            ref_steps: super::ref_steps(lif.t_ref_ms, dt_ms),
            delta,
            toward_zero: self.rounding == Rounding::TowardZero,
            e_l: lif.e_l_mv,
            q_v,
            gain,
        }
    }
}

/// Integer constants of a fixed-point LIF population ([`FixedPoint::derive`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedConsts {
    /// Lowest state value, `-2^(B-1)`.
    pub smin: i32,
    /// Highest state value, `2^(B-1) - 1`.
    pub smax: i32,
    /// Threshold θ (membrane LSB above e_l).
    pub theta: i32,
    /// Reset ρ.
    pub reset: i32,
    /// Fraction bits S of the decay factors.
    pub decay_bits: u32,
    /// Membrane decay factor `round(exp(-dt/τ_m)·2^S)`.
    pub d_m: i32,
    /// Excitatory current decay factor.
    pub d_exc: i32,
    /// Inhibitory current decay factor.
    pub d_inh: i32,
    /// Extra fraction bits `f_r` of each current over the membrane LSB.
    pub frac: [u32; 2],
    /// Weight exponent `e_r` per receptor: a ring input is `m·2^e_r`.
    pub weight_exp: [u32; 2],
    /// Largest weight mantissa, `2^(W-1) - 1`.
    pub weight_max: i32,
    /// Bias per step, membrane LSB.
    pub bias: i32,
    /// Membrane LSB per pA of external current, as the f32 the kernels multiply by.
    pub k_ext: f32,
    /// Refractory period in steps.
    pub ref_steps: i32,
    /// Delta synapses (ring input goes to V).
    pub delta: bool,
    /// Round decays and shifts toward zero instead of to nearest.
    pub toward_zero: bool,
    /// Leak reversal, mV (the membrane's zero).
    pub e_l: f64,
    /// Membrane LSB, mV.
    pub q_v: f64,
    /// Membrane LSB per weight unit (pA or mV) and receptor, before `2^f_r`.
    pub gain: [f64; 2],
}

impl FixedConsts {
    /// The ring value of a weight `w` (model units) on receptor `r`:
    /// `clamp(round(w·g_r·2^(f_r - e_r)), ±(2^(W-1) - 1)) · 2^e_r` (at most 2^30).
    pub fn weight(&self, r: usize, w: f64) -> i32 {
        let m = (w * self.gain[r] * (self.frac[r] as f64 - self.weight_exp[r] as f64).exp2())
            .round()
            .clamp(-self.weight_max as f64, self.weight_max as f64) as i64;
        // Beyond 2^30 the build refuses the population (see `build`'s ring check).
        (m << self.weight_exp[r]).clamp(-(1 << 30), 1 << 30) as i32
    }

    /// Model units (pA or mV) of one ring LSB on receptor `r`.
    pub fn weight_unit(&self, r: usize) -> f64 {
        (-(self.frac[r] as f64)).exp2() / self.gain[r]
    }

    /// The integer of a float state value: `var` is `v` (mV), `i_exc` or `i_inh` (pA).
    pub fn quantise(&self, var: &str, x: f64) -> i32 {
        let q = match var {
            "v" => (x - self.e_l) / self.q_v,
            "i_exc" => x * self.gain[0] * (self.frac[0] as f64).exp2(),
            _ => x * self.gain[1] * (self.frac[1] as f64).exp2(),
        };
        q.round().clamp(self.smin as f64, self.smax as f64) as i32
    }

    /// The float value (mV or pA) of an integer state of `var` (see [`Self::quantise`]).
    pub fn value(&self, var: &str, q: i32) -> f32 {
        (match var {
            "v" => self.e_l + q as f64 * self.q_v,
            "i_exc" => q as f64 * self.weight_unit(0),
            _ => q as f64 * self.weight_unit(1),
        }) as f32
    }

    /// An integer state holding `lif`'s float state.
    pub fn quantise_state(&self, s: &LifState) -> FixedState {
        let q = |var: &str, x: &[f32]| x.iter().map(|&x| self.quantise(var, x as f64)).collect();
        FixedState {
            v: q("v", &s.v),
            i_exc: q("i_exc", &s.i_exc),
            i_inh: q("i_inh", &s.i_inh),
            refrac: s.refrac_steps().collect(),
        }
    }

    fn sat(&self, x: i32) -> i32 {
        x.clamp(self.smin, self.smax)
    }

    /// The external current `x` (pA) as membrane LSB per step.
    #[inline]
    pub fn ext(&self, x: f32) -> i32 {
        let y = (x * self.k_ext).round_ties_even();
        let lim = (self.smax as f32) + 1.0;
        // NaN gives 0 (as in the shader); the float clamp keeps the cast exact.
        if y.is_nan() {
            0
        } else {
            self.sat(y.clamp(-lim, lim) as i32)
        }
    }
}

/// `sign(x)·⌊(|x|·d + h)/2^s⌋`, `h = 2^(s-1)` or 0 when `toward_zero`, for
/// `|x| < 2^28`, `0 ≤ d ≤ 2^s`, `1 ≤ s ≤ 15`, in 32-bit arithmetic: with
/// `|x| = hi·2^s + lo` it is `hi·d + ⌊(lo·d + h)/2^s⌋`, and `lo·d + h < 2^31`.
#[inline(always)]
pub fn decay(x: i32, d: i32, s: u32, toward_zero: bool) -> i32 {
    let a = x.unsigned_abs();
    let (hi, lo) = (a >> s, a & ((1 << s) - 1));
    let h = if toward_zero { 0 } else { 1u32 << (s - 1) };
    let m = (hi * d as u32 + ((lo * d as u32 + h) >> s)) as i32;
    if x < 0 { -m } else { m }
}

/// `x / 2^f` rounded like [`decay`] (`f ≤ 30`, `|x| < 2^28`).
#[inline(always)]
pub fn shift(x: i32, f: u32, toward_zero: bool) -> i32 {
    if f == 0 {
        return x;
    }
    let h = if toward_zero { 0 } else { 1u32 << (f - 1) };
    let m = ((x.unsigned_abs() + h) >> f) as i32;
    if x < 0 { -m } else { m }
}

/// State of a fixed-point LIF population, structure of arrays.
#[derive(Debug, Clone, Default)]
pub struct FixedState {
    /// Membrane, LSB above e_l.
    pub v: super::AlignedVec<i32>,
    /// Excitatory current, `q_v·2^-f_exc` per step.
    pub i_exc: super::AlignedVec<i32>,
    /// Inhibitory current.
    pub i_inh: super::AlignedVec<i32>,
    /// Remaining refractory steps.
    pub refrac: super::AlignedVec<i32>,
}

/// Mutable slices of a [`FixedState`] (a whole population or a chunk of it).
pub struct FixedView<'a> {
    /// Membrane.
    pub v: &'a mut [i32],
    /// Excitatory current.
    pub i_exc: &'a mut [i32],
    /// Inhibitory current.
    pub i_inh: &'a mut [i32],
    /// Refractory counters.
    pub refrac: &'a mut [i32],
}

impl FixedState {
    /// Views the whole state.
    pub fn view(&mut self) -> FixedView<'_> {
        FixedView {
            v: &mut self.v,
            i_exc: &mut self.i_exc,
            i_inh: &mut self.i_inh,
            refrac: &mut self.refrac,
        }
    }

    /// Views the state split into chunks of the given lengths.
    pub fn chunks(&mut self, lens: &[usize]) -> Vec<FixedView<'_>> {
        let v = super::split_mut(&mut self.v, lens);
        let e = super::split_mut(&mut self.i_exc, lens);
        let i = super::split_mut(&mut self.i_inh, lens);
        let r = super::split_mut(&mut self.refrac, lens);
        v.into_iter()
            .zip(e)
            .zip(i)
            .zip(r)
            .map(|(((v, i_exc), i_inh), refrac)| FixedView {
                v,
                i_exc,
                i_inh,
                refrac,
            })
            .collect()
    }
}

/// One step (the same signature as [`super::lif::update`]; `inv` is unused, the
/// ring already holds state units). Integer state cannot become non-finite, so
/// it always returns true.
#[allow(clippy::too_many_arguments)]
pub fn update(
    k: &FixedConsts,
    s: FixedView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    _inv: [f32; 2],
    i_ext: Option<&[f32]>,
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.v.len();
    assert!(s.i_exc.len() == n && s.i_inh.len() == n && s.refrac.len() == n);
    assert!(ring_exc.len() == n && ring_inh.len() == n);
    assert!(i_ext.is_none_or(|x| x.len() == n));
    let (sh, tz) = (k.decay_bits, k.toward_zero);
    for i in 0..n {
        let (in_e, in_i) = (ring_exc[i], ring_inh[i]);
        ring_exc[i] = 0;
        ring_inh[i] = 0;
        let r = s.refrac[i];
        let awake = r <= 0;
        let mut v = s.v[i];
        let (mut e, mut h) = (s.i_exc[i], s.i_inh[i]);
        let mut syn = 0;
        if k.delta {
            // Inputs arriving during the refractory period are dropped.
            if awake {
                v = k.sat(k.sat(v + in_e) + in_i);
            }
        } else {
            e = k.sat(e + in_e);
            h = k.sat(h + in_i);
            syn = shift(e, k.frac[0], tz) + shift(h, k.frac[1], tz);
        }
        let x = i_ext.map_or(0, |x| k.ext(x[i]));
        let v1 = k.sat(decay(v, k.d_m, sh, tz) + syn + k.bias + x);
        let spk = awake && v1 >= k.theta;
        s.v[i] = if awake && !spk { v1 } else { k.reset };
        s.refrac[i] = if spk { k.ref_steps } else { (r - 1).max(0) };
        // Currents always round toward zero: to nearest, a current below
        // 0.5/(1 - p) LSB would never decay and drive the membrane for ever.
        s.i_exc[i] = decay(e, k.d_exc, sh, true);
        s.i_inh[i] = decay(h, k.d_inh, sh, true);
        if spk {
            spikes.push(base + i as u32);
        }
    }
    true
}

/// A fixed-point LIF population (a `lif` population with a `fixed_point` table).
pub type FixedPop = super::Pop<FixedConsts, FixedState>;

/// `Params` of shaders/neuron_lif_fixed.wgsl: the integer constants the shader reads.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct FixedGpu {
    ref_steps: i32,
    delta: u32,
    toward_zero: u32,
    smin: i32,
    smax: i32,
    theta: i32,
    reset: i32,
    decay_bits: u32,
    d_m: i32,
    d_exc: i32,
    d_inh: i32,
    frac_exc: u32,
    frac_inh: u32,
    bias: i32,
    k_ext: f32,
    _pad: [u32; 5],
}

impl super::NeuronKernel for FixedPop {
    type Consts = FixedConsts;
    type View<'a> = FixedView<'a>;
    const SHADER: &'static str = "neuron_lif_fixed.wgsl";
    const SOURCE: &'static str = neuron_wgsl!("neuron_lif_fixed.wgsl");
    const GPU_VARS: &'static [&'static str] = &["v", "i_exc", "i_inh", "refrac"];

    fn chunks(&mut self, lens: &[usize]) -> (&FixedConsts, Vec<FixedView<'_>>) {
        (&self.k, self.s.chunks(lens))
    }

    fn whole(&mut self) -> (&FixedConsts, FixedView<'_>) {
        (&self.k, self.s.view())
    }

    fn update(
        k: &FixedConsts,
        s: FixedView<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv: [f32; 2],
        i_ext: Option<&[f32]>,
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool {
        update(k, s, ring_exc, ring_inh, inv, i_ext, base, spikes)
    }

    fn read(&self, var: &str, out: &mut Vec<f32>) -> bool {
        let q: &[i32] = match var {
            "v" => &self.s.v,
            "i_exc" => &self.s.i_exc,
            "i_inh" => &self.s.i_inh,
            _ => return false,
        };
        out.clear();
        out.extend(q.iter().map(|&q| self.k.value(var, q)));
        true
    }

    fn bytes_per_neuron(&self) -> usize {
        16
    }

    fn gpu_params(&self) -> Vec<u8> {
        let k = &self.k;
        bytemuck::bytes_of(&FixedGpu {
            ref_steps: k.ref_steps,
            delta: k.delta as u32,
            toward_zero: k.toward_zero as u32,
            smin: k.smin,
            smax: k.smax,
            theta: k.theta,
            reset: k.reset,
            decay_bits: k.decay_bits,
            d_m: k.d_m,
            d_exc: k.d_exc,
            d_inh: k.d_inh,
            frac_exc: k.frac[0],
            frac_inh: k.frac[1],
            bias: k.bias,
            k_ext: k.k_ext,
            _pad: [0; 5],
        })
        .to_vec()
    }

    fn gpu_state(&self) -> Vec<u32> {
        let s = &self.s;
        let all = [&s.v[..], &s.i_exc, &s.i_inh, &s.refrac].concat();
        all.into_iter().map(|q| q as u32).collect()
    }

    fn gpu_decode(&self) -> Option<super::registry::Decode> {
        let k = self.k;
        Some(Box::new(move |var, word| k.value(var, word as i32)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuron::test_util::Rand;

    /// Exact reference in i64 / f64 for the 32-bit split arithmetic.
    fn decay_ref(x: i32, d: i32, s: u32, tz: bool) -> i32 {
        let a = (x as i64).abs() * d as i64 + if tz { 0 } else { 1 << (s - 1) };
        let m = (a >> s) as i32;
        if x < 0 { -m } else { m }
    }

    #[test]
    fn split_decay_equals_the_wide_product() {
        let mut r = Rand(7);
        for s in 4..=15 {
            for _ in 0..20_000 {
                let x = (r.next() as i32) >> 4; // |x| < 2^27
                let d = (r.next() % ((1 << s) + 1)) as i32;
                for tz in [false, true] {
                    assert_eq!(decay(x, d, s, tz), decay_ref(x, d, s, tz), "{x} {d} {s}");
                }
            }
            let top = (1 << 27) - 1;
            for x in [0, 1, -1, top, -top - 1] {
                assert_eq!(decay(x, 1 << s, s, false), x);
                assert_eq!(
                    decay(x, (1 << s) - 1, s, true),
                    decay_ref(x, (1 << s) - 1, s, true)
                );
            }
        }
        // Nearest rounds halves away from zero, symmetrically.
        assert_eq!(decay(3, 2048, 12, false), 2);
        assert_eq!(decay(-3, 2048, 12, false), -2);
        assert_eq!(decay(3, 2048, 12, true), 1);
        assert_eq!(shift(5, 1, false), 3);
        assert_eq!(shift(-5, 1, false), -3);
        assert_eq!(shift(-5, 1, true), -2);
    }

    fn cuba_like() -> LifParams {
        LifParams {
            c_m_pf: 200.0,
            tau_m_ms: 20.0,
            e_l_mv: -49.0,
            v_reset_mv: -60.0,
            v_th_mv: -50.0,
            t_ref_ms: 5.0,
            tau_syn_inh_ms: 10.0,
            ..Default::default()
        }
    }

    #[test]
    fn derive_maps_parameters_as_documented() {
        let fp = FixedPoint::default();
        let k = fp.derive(&cuba_like(), 0.1, [1000.0, 2000.0], [16.2, 90.0]);
        // Range 4 × 11 mV over 2^15 steps.
        assert!((k.q_v - 44.0 / 32768.0).abs() < 1e-15);
        assert_eq!(k.theta, (-1.0 / k.q_v).round() as i32);
        assert_eq!(k.reset, (-11.0 / k.q_v).round() as i32);
        assert_eq!(k.d_m, ((-0.1f64 / 20.0).exp() * 4096.0).round() as i32);
        assert_eq!(k.d_inh, ((-0.1f64 / 10.0).exp() * 4096.0).round() as i32);
        // The largest input sum (capped at 8 of the largest weights) fits the
        // state; one more fraction bit would not.
        for r in 0..2 {
            let a = [8.0 * 16.2, 8.0 * 90.0][r] * k.gain[r];
            assert!(a * (k.frac[r] as f64).exp2() <= k.smax as f64);
            assert!(a * (k.frac[r] as f64 + 1.0).exp2() > k.smax as f64);
            // The largest weight uses the mantissa without overflowing it.
            let m = k.weight(r, [16.2, -90.0][r]) >> k.weight_exp[r];
            assert!(m.abs() <= 127 && m.abs() > 63, "{m}");
            let back = k.weight(r, [16.2, -90.0][r]) as f64 * k.weight_unit(r);
            assert!((back / [16.2, -90.0][r] - 1.0).abs() < 0.01, "{back}");
        }
        assert_eq!(k.ext(f32::NAN), 0);
        assert_eq!(k.ext(1e30), k.smax);
        assert_eq!(k.ext(-1e30), k.smin);
    }

    #[test]
    fn check_reports_out_of_range_widths() {
        let bad = FixedPoint {
            state_bits: 40,
            weight_bits: 1,
            decay_bits: 16,
            v_range_mv: Some(-1.0),
            current_headroom: 0.5,
            rounding: Rounding::Nearest,
        };
        let fields: Vec<&str> = bad.check().iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "state_bits",
                "weight_bits",
                "decay_bits",
                "current_headroom",
                "v_range_mv"
            ]
        );
        assert!(FixedPoint::default().check().is_empty());
    }

    #[test]
    fn a_constant_current_neuron_tracks_the_float_one() {
        // A constant drive from rest: the integer neuron spikes on the step the
        // f64 recursion with its quantised decay and bias predicts, and (with
        // 15 decay bits) within one step of the float closed form.
        let p = LifParams {
            i_bias_pa: 400.0,
            ..Default::default()
        };
        let dt = 0.1;
        let fp = FixedPoint {
            state_bits: 24,
            decay_bits: 15,
            ..Default::default()
        };
        let k = fp.derive(&p, dt, [0.0; 2], [0.0; 2]);
        let mut s = FixedState {
            v: vec![0].into(),
            i_exc: vec![0].into(),
            i_inh: vec![0].into(),
            refrac: vec![0].into(),
        };
        let (mut re, mut ri) = ([0], [0]);
        let mut first = None;
        for step in 0..1000u32 {
            let mut out = vec![];
            update(&k, s.view(), &mut re, &mut ri, [1.0; 2], None, 0, &mut out);
            if !out.is_empty() {
                first = Some(step);
                break;
            }
        }
        let pe = k.d_m as f64 / 32768.0;
        let (mut v, mut predicted) = (0.0f64, None);
        for step in 0..1000u32 {
            v = v * pe + k.bias as f64;
            if v >= k.theta as f64 {
                predicted = Some(step);
                break;
            }
        }
        assert_eq!(first, predicted);
        // v(t) = e_l + R I (1 - exp(-t/τ)), R I = 16 mV; threshold 15 mV above rest.
        let t = -10.0 * (1.0f64 - 15.0 / 16.0).ln();
        let float_step = (t / dt).ceil() - 1.0;
        assert!(
            (first.unwrap() as f64 - float_step).abs() <= 1.0,
            "{first:?} {float_step}"
        );
    }
}
