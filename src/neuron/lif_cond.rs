//! Conductance-based leaky integrate-and-fire neuron (the COBA benchmark neuron).
//!
//! `C dV/dt = g_L (E_L - V) + g_e (E_exc - V) + g_i (E_inh - V) + I_ext + I_bias`,
//! `dg_e/dt = -g_e/tau_exc`, `dg_i/dt = -g_i/tau_inh`; weights are conductance
//! increments in nS. V is advanced by forward Euler with the conductances of the
//! step (as Brette et al. 2007 benchmark 1, dt = 0.1 ms); conductances decay by the
//! exact factor `exp(-dt/tau)`. During the refractory period V is clamped to
//! `v_reset_mv` and conductances keep decaying and accumulating.
use serde::{Deserialize, Serialize};

/// Parameters of [`crate::model::NeuronModel::LifCond`] (defaults: the COBA benchmark).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifCondParams {
    /// Membrane capacitance, pF (default 200).
    pub c_m_pf: f64,
    /// Leak conductance, nS (default 10).
    pub g_l_ns: f64,
    /// Leak reversal, mV (default -60).
    pub e_l_mv: f64,
    /// Reset potential, mV (default -60).
    pub v_reset_mv: f64,
    /// Threshold, mV (default -50).
    pub v_th_mv: f64,
    /// Refractory period, ms (default 5).
    pub t_ref_ms: f64,
    /// Excitatory reversal, mV (default 0).
    pub e_exc_mv: f64,
    /// Inhibitory reversal, mV (default -80).
    pub e_inh_mv: f64,
    /// Excitatory conductance time constant, ms (default 5).
    pub tau_syn_exc_ms: f64,
    /// Inhibitory conductance time constant, ms (default 10).
    pub tau_syn_inh_ms: f64,
    /// Constant bias current, pA (default 0).
    pub i_bias_pa: f64,
}

impl Default for LifCondParams {
    fn default() -> Self {
        LifCondParams {
            c_m_pf: 200.0,
            g_l_ns: 10.0,
            e_l_mv: -60.0,
            v_reset_mv: -60.0,
            v_th_mv: -50.0,
            t_ref_ms: 5.0,
            e_exc_mv: 0.0,
            e_inh_mv: -80.0,
            tau_syn_exc_ms: 5.0,
            tau_syn_inh_ms: 10.0,
            i_bias_pa: 0.0,
        }
    }
}

impl LifCondParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        super::positive(&mut out, "c_m_pf", self.c_m_pf);
        super::positive(&mut out, "g_l_ns", self.g_l_ns);
        super::positive(&mut out, "tau_syn_exc_ms", self.tau_syn_exc_ms);
        super::positive(&mut out, "tau_syn_inh_ms", self.tau_syn_inh_ms);
        super::non_negative(&mut out, "t_ref_ms", self.t_ref_ms);
        super::finite(&mut out, "e_l_mv", self.e_l_mv);
        super::finite(&mut out, "e_exc_mv", self.e_exc_mv);
        super::finite(&mut out, "e_inh_mv", self.e_inh_mv);
        super::finite(&mut out, "i_bias_pa", self.i_bias_pa);
        if !(self.v_reset_mv < self.v_th_mv) {
            out.push((
                "v_reset_mv",
                format!(
                    "must be below v_th_mv ({}), got {}",
                    self.v_th_mv, self.v_reset_mv
                ),
            ));
        }
        out
    }

    /// Step constants for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> LifCondConsts {
        LifCondConsts {
            dt_over_c: (dt_ms / self.c_m_pf) as f32,
            g_l: self.g_l_ns as f32,
            e_l: self.e_l_mv as f32,
            e_exc: self.e_exc_mv as f32,
            e_inh: self.e_inh_mv as f32,
            v_reset: self.v_reset_mv as f32,
            v_th: self.v_th_mv as f32,
            decay_exc: (-dt_ms / self.tau_syn_exc_ms).exp() as f32,
            decay_inh: (-dt_ms / self.tau_syn_inh_ms).exp() as f32,
            i_bias: self.i_bias_pa as f32,
            ref_steps: super::ref_steps(self.t_ref_ms, dt_ms),
            _pad0: 0,
        }
    }
}

/// Per-step constants of a conductance-based LIF population; the GPU reads the
/// same block (`Params` of shaders/neuron_lif_cond.wgsl).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LifCondConsts {
    /// dt / C, ms/pF.
    pub dt_over_c: f32,
    /// Leak conductance, nS.
    pub g_l: f32,
    /// Leak reversal, mV.
    pub e_l: f32,
    /// Excitatory reversal, mV.
    pub e_exc: f32,
    /// Inhibitory reversal, mV.
    pub e_inh: f32,
    /// Reset, mV.
    pub v_reset: f32,
    /// Threshold, mV.
    pub v_th: f32,
    /// Excitatory conductance decay per step.
    pub decay_exc: f32,
    /// Inhibitory conductance decay per step.
    pub decay_inh: f32,
    /// Bias current, pA.
    pub i_bias: f32,
    /// Refractory period in steps.
    pub ref_steps: i32,
    /// Pads the block to 16 bytes (WGSL uniform layout).
    pub _pad0: u32,
}

/// State of a conductance-based LIF population. The refractory period is kept
/// as the clock step it ends (see [`CLOCK_LIMIT`]).
#[derive(Debug, Clone, Default)]
pub struct LifCondState {
    /// Membrane potential, mV.
    pub v: super::AlignedVec<f32>,
    /// Excitatory conductance, nS.
    pub ge: super::AlignedVec<f32>,
    /// Inhibitory conductance, nS.
    pub gi: super::AlignedVec<f32>,
    /// Clock step from which each neuron may fire again: refractory while
    /// `until > now`. Never negative.
    pub until: super::AlignedVec<i32>,
    /// The state's clock: steps taken since it was built or last rebased
    /// (always below [`CLOCK_LIMIT`]).
    pub now: i32,
}

use super::CLOCK_LIMIT;

/// Mutable slices of a [`LifCondState`].
pub struct LifCondView<'a> {
    /// Membrane potential.
    pub v: &'a mut [f32],
    /// Excitatory conductance.
    pub ge: &'a mut [f32],
    /// Inhibitory conductance.
    pub gi: &'a mut [f32],
    /// Clock step from which each neuron may fire again.
    pub until: &'a mut [i32],
    /// The state's clock at this step.
    pub now: i32,
}

impl LifCondState {
    /// Views the whole state.
    pub fn view(&mut self) -> LifCondView<'_> {
        LifCondView {
            v: &mut self.v,
            ge: &mut self.ge,
            gi: &mut self.gi,
            until: &mut self.until,
            now: self.now,
        }
    }

    /// Views the state as slices split into chunks of the given lengths.
    pub fn chunks(&mut self, lens: &[usize]) -> Vec<LifCondView<'_>> {
        let now = self.now;
        let v = super::split_mut(&mut self.v, lens);
        let e = super::split_mut(&mut self.ge, lens);
        let i = super::split_mut(&mut self.gi, lens);
        let r = super::split_mut(&mut self.until, lens);
        v.into_iter()
            .zip(e)
            .zip(i)
            .zip(r)
            .map(|(((v, ge), gi), until)| LifCondView {
                v,
                ge,
                gi,
                until,
                now,
            })
            .collect()
    }

    /// Advances the clock by one step; call it once after each [`update`] of the
    /// whole state (the views' kernels cannot, as they may be chunks).
    pub fn tick(&mut self) {
        super::tick_clock(&mut self.now, &mut self.until);
    }

    /// Remaining refractory steps of each neuron (0 when it may fire).
    pub fn refrac_steps(&self) -> impl Iterator<Item = i32> + '_ {
        super::remaining(self.now, &self.until)
    }
}

/// One step: adds this step's synaptic input from the ring slots (fixed point,
/// cleared after reading), integrates, thresholds, resets. `i_ext` is the external
/// current of the step, `None` when the population has none (all zero). Spiking
/// indices (`base` + local) are appended to `spikes`. Returns false if a membrane
/// potential became non-finite.
#[allow(clippy::too_many_arguments)]
pub fn update(
    k: &LifCondConsts,
    s: LifCondView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    inv: [f32; 2],
    i_ext: Option<&[f32]>,
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    update_with(
        super::simd(),
        k,
        s,
        ring_exc,
        ring_inh,
        inv,
        i_ext,
        base,
        spikes,
    )
}

/// [`update`] with the given kernel, which must be one [`super::simd`] can return.
#[allow(clippy::too_many_arguments)]
fn update_with(
    simd: super::Simd,
    k: &LifCondConsts,
    s: LifCondView<'_>,
    re: &mut [i32],
    ri: &mut [i32],
    inv: [f32; 2],
    i_ext: Option<&[f32]>,
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.v.len();
    assert!(s.ge.len() == n && s.gi.len() == n && s.until.len() == n);
    assert!(re.len() == n && ri.len() == n);
    assert!(i_ext.is_none_or(|x| x.len() == n));
    assert!((0..CLOCK_LIMIT).contains(&s.now) && k.ref_steps < CLOCK_LIMIT);
    match (simd, i_ext) {
        // SAFETY (all arms): the CPU supports the extension (`simd()` checked it)
        // and every slice has length n (asserted above).
        #[cfg(all(target_arch = "x86_64", avx512_kernels))]
        (super::Simd::Avx512, Some(x)) => unsafe {
            avx512::update::<true>(k, s, re, ri, inv, x, base, spikes)
        },
        #[cfg(all(target_arch = "x86_64", avx512_kernels))]
        (super::Simd::Avx512, None) => unsafe {
            avx512::update::<false>(k, s, re, ri, inv, &[], base, spikes)
        },
        #[cfg(target_arch = "x86_64")]
        (super::Simd::Avx2, Some(x)) => unsafe {
            avx2::update::<true>(k, s, re, ri, inv, x, base, spikes)
        },
        #[cfg(target_arch = "x86_64")]
        (super::Simd::Avx2, None) => unsafe {
            avx2::update::<false>(k, s, re, ri, inv, &[], base, spikes)
        },
        (_, Some(x)) => update_blocks::<true>(k, s, re, ri, inv, x, base, spikes),
        (_, None) => update_blocks::<false>(k, s, re, ri, inv, &[], base, spikes),
    }
}

/// Portable path (and the SIMD kernels' tails): `block` over chunks of [`super::BLOCK`].
/// Without `EXT`, `x` is empty and the external current is 0.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn update_blocks<const EXT: bool>(
    k: &LifCondConsts,
    s: LifCondView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    inv: [f32; 2],
    x: &[f32],
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.v.len();
    if n == 0 {
        // The SIMD kernels' tail is usually empty: skip clearing the flags.
        return true;
    }
    let mut flags = [0u8; super::BLOCK];
    let mut ok = true;
    for a in (0..n).step_by(super::BLOCK) {
        let b = (a + super::BLOCK).min(n);
        let f = &mut flags[..b - a];
        ok &= block::<EXT>(
            k,
            &mut s.v[a..b],
            &mut s.ge[a..b],
            &mut s.gi[a..b],
            &mut s.until[a..b],
            s.now,
            &mut ring_exc[a..b],
            &mut ring_inh[a..b],
            inv,
            if EXT { &x[a..b] } else { &[] },
            f,
        );
        super::collect_spikes(f, base + a as u32, spikes);
    }
    ok
}

/// Branch-free body so the compiler vectorises it; `flags[i]` = 1 when i spiked.
/// This is the reference formulation of the model: the SIMD kernels must match it
/// bit for bit.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<const EXT: bool>(
    k: &LifCondConsts,
    v: &mut [f32],
    ge: &mut [f32],
    gi: &mut [f32],
    until: &mut [i32],
    now: i32,
    re: &mut [i32],
    ri: &mut [i32],
    inv: [f32; 2],
    x: &[f32],
    flags: &mut [u8],
) -> bool {
    let n = v.len();
    assert!(ge.len() == n && gi.len() == n && until.len() == n);
    let after_spike = super::until_after_spike(k.ref_steps, now);
    assert!(re.len() == n && ri.len() == n && flags.len() == n && (!EXT || x.len() == n));
    let mut bad = false;
    for i in 0..n {
        let g_e = ge[i] + re[i] as f32 * inv[0];
        let g_i = gi[i] + ri[i] as f32 * inv[1];
        re[i] = 0;
        ri[i] = 0;
        let v0 = v[i];
        let i_syn = k.g_l * (k.e_l - v0) + g_e * (k.e_exc - v0) + g_i * (k.e_inh - v0);
        let x_i = if EXT { x[i] } else { 0.0 };
        let v1 = v0 + k.dt_over_c * (i_syn + x_i + k.i_bias);
        let active = until[i] <= now;
        let spk = active & (v1 >= k.v_th);
        let vn = if active & !spk { v1 } else { k.v_reset };
        v[i] = vn;
        until[i] = if spk { after_spike } else { until[i] };
        ge[i] = g_e * k.decay_exc;
        gi[i] = g_i * k.decay_inh;
        flags[i] = spk as u8;
        bad |= !vn.is_finite();
    }
    !bad
}

/// Without external current the reference computes `(i_syn + 0.0) + i_bias`. That
/// equals `i_syn + (0.0 + i_bias)` for every `i_syn` (they could differ only in the
/// sign of a zero sum, and `+ 0.0` already turns -0 into +0), so the SIMD kernels
/// add this one constant and skip reading `i_ext`.
#[cfg(target_arch = "x86_64")]
fn bias_term<const EXT: bool>(k: &LifCondConsts) -> f32 {
    if EXT { k.i_bias } else { 0.0 + k.i_bias }
}

/// Hand-written AVX2 version of [`block`]: the same IEEE operations on 8 neurons
/// at a time. Compared with the auto-vectorised loop it keeps the constants in
/// registers, tests for spikes with one `movemask` per 8 neurons instead of
/// storing and scanning a flag per neuron, writes `until` only for blocks with a
/// spike, and checks finiteness with one running sum (see
/// [`crate::neuron::all_finite`]).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LifCondConsts, LifCondView};
    use crate::neuron::SpikeSink;
    use crate::neuron::until_after_spike;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2, and every slice must have the length of `s.v`
    /// (`x` only when `EXT`).
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn update<const EXT: bool>(
        k: &LifCondConsts,
        s: LifCondView<'_>,
        re: &mut [i32],
        ri: &mut [i32],
        inv: [f32; 2],
        x: &[f32],
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool {
        unsafe {
            let n = s.v.len();
            let body = n - n % 8;
            let inv_e = _mm256_set1_ps(inv[0]);
            let inv_i = _mm256_set1_ps(inv[1]);
            let g_l = _mm256_set1_ps(k.g_l);
            let e_l = _mm256_set1_ps(k.e_l);
            let e_exc = _mm256_set1_ps(k.e_exc);
            let e_inh = _mm256_set1_ps(k.e_inh);
            let dt_over_c = _mm256_set1_ps(k.dt_over_c);
            let bias = _mm256_set1_ps(super::bias_term::<EXT>(k));
            let v_th = _mm256_set1_ps(k.v_th);
            let v_reset = _mm256_set1_ps(k.v_reset);
            let decay_e = _mm256_set1_ps(k.decay_exc);
            let decay_i = _mm256_set1_ps(k.decay_inh);
            let now = _mm256_set1_epi32(s.now);
            let after_spike = _mm256_set1_epi32(until_after_spike(k.ref_steps, s.now));
            let zero = _mm256_setzero_si256();
            let mut sum = _mm256_setzero_ps();
            let (v, ge, gi, until) = (
                s.v.as_mut_ptr(),
                s.ge.as_mut_ptr(),
                s.gi.as_mut_ptr(),
                s.until.as_mut_ptr(),
            );
            let (pe, pi, px) = (re.as_mut_ptr(), ri.as_mut_ptr(), x.as_ptr());
            let mut sink = SpikeSink::new(spikes, n);
            let mut i = 0;
            while i < body {
                // SAFETY (all pointer accesses): i + 8 <= n and every slice has length n.
                let q_e = _mm256_loadu_si256(pe.add(i) as *const __m256i);
                let q_i = _mm256_loadu_si256(pi.add(i) as *const __m256i);
                _mm256_storeu_si256(pe.add(i) as *mut __m256i, zero);
                _mm256_storeu_si256(pi.add(i) as *mut __m256i, zero);
                let g_e = _mm256_add_ps(
                    _mm256_loadu_ps(ge.add(i)),
                    _mm256_mul_ps(_mm256_cvtepi32_ps(q_e), inv_e),
                );
                let g_i = _mm256_add_ps(
                    _mm256_loadu_ps(gi.add(i)),
                    _mm256_mul_ps(_mm256_cvtepi32_ps(q_i), inv_i),
                );
                let v0 = _mm256_loadu_ps(v.add(i));
                let u = _mm256_loadu_si256(until.add(i) as *const __m256i);
                let i_syn = _mm256_add_ps(
                    _mm256_add_ps(
                        _mm256_mul_ps(g_l, _mm256_sub_ps(e_l, v0)),
                        _mm256_mul_ps(g_e, _mm256_sub_ps(e_exc, v0)),
                    ),
                    _mm256_mul_ps(g_i, _mm256_sub_ps(e_inh, v0)),
                );
                let drive = if EXT {
                    _mm256_add_ps(_mm256_add_ps(i_syn, _mm256_loadu_ps(px.add(i))), bias)
                } else {
                    _mm256_add_ps(i_syn, bias)
                };
                let v1 = _mm256_add_ps(v0, _mm256_mul_ps(dt_over_c, drive));
                // refractory = until > now; spk = !refractory & v1 >= v_th (false
                // for NaN, as `>=`).
                let refractory = _mm256_castsi256_ps(_mm256_cmpgt_epi32(u, now));
                let spk = _mm256_andnot_ps(refractory, _mm256_cmp_ps::<_CMP_GE_OQ>(v1, v_th));
                // v keeps v1 only when active and not spiking.
                let vn = _mm256_blendv_ps(v1, v_reset, _mm256_or_ps(refractory, spk));
                _mm256_storeu_ps(v.add(i), vn);
                _mm256_storeu_ps(ge.add(i), _mm256_mul_ps(g_e, decay_e));
                _mm256_storeu_ps(gi.add(i), _mm256_mul_ps(g_i, decay_i));
                sum = _mm256_add_ps(sum, vn);
                let m = _mm256_movemask_ps(spk) as u32;
                if m != 0 {
                    let lanes = _mm256_castps_si256(spk);
                    _mm256_maskstore_epi32(until.add(i), lanes, after_spike);
                    sink.push_mask(m, base + i as u32);
                }
                i += 8;
            }
            drop(sink);
            let sum: [f32; 8] = std::mem::transmute(sum);
            let finite = crate::neuron::all_finite(&sum, &s.v[..body]);
            let tail = LifCondView {
                v: &mut s.v[body..],
                ge: &mut s.ge[body..],
                gi: &mut s.gi[body..],
                until: &mut s.until[body..],
                now: s.now,
            };
            let x = if EXT { &x[body..] } else { x };
            let (re, ri) = (&mut re[body..], &mut ri[body..]);
            finite
                & super::update_blocks::<EXT>(k, tail, re, ri, inv, x, base + body as u32, spikes)
        }
    }
}

/// AVX-512 version of [`block`], 16 neurons at a time: the same IEEE operations
/// as the AVX2 kernel, with compare results in mask registers (masked compares
/// and blends) and 32 vector registers. Zen 4 executes each 512-bit operation as
/// two 256-bit ones, yet the halved instruction count still makes this about a
/// quarter faster.
#[cfg(all(target_arch = "x86_64", avx512_kernels))]
// Compiled only by Rust >= 1.89 (see build.rs), whatever the crate's rust-version.
#[allow(clippy::incompatible_msrv)]
mod avx512 {
    use super::{LifCondConsts, LifCondView};
    use crate::neuron::SpikeSink;
    use crate::neuron::until_after_spike;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX-512 F and DQ, and every slice must have the length
    /// of `s.v` (`x` only when `EXT`).
    #[target_feature(enable = "avx512f,avx512dq")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn update<const EXT: bool>(
        k: &LifCondConsts,
        s: LifCondView<'_>,
        re: &mut [i32],
        ri: &mut [i32],
        inv: [f32; 2],
        x: &[f32],
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool {
        unsafe {
            let n = s.v.len();
            let body = n - n % 16;
            let inv_e = _mm512_set1_ps(inv[0]);
            let inv_i = _mm512_set1_ps(inv[1]);
            let g_l = _mm512_set1_ps(k.g_l);
            let e_l = _mm512_set1_ps(k.e_l);
            let e_exc = _mm512_set1_ps(k.e_exc);
            let e_inh = _mm512_set1_ps(k.e_inh);
            let dt_over_c = _mm512_set1_ps(k.dt_over_c);
            let bias = _mm512_set1_ps(super::bias_term::<EXT>(k));
            let v_th = _mm512_set1_ps(k.v_th);
            let v_reset = _mm512_set1_ps(k.v_reset);
            let decay_e = _mm512_set1_ps(k.decay_exc);
            let decay_i = _mm512_set1_ps(k.decay_inh);
            let now = _mm512_set1_epi32(s.now);
            let after_spike = _mm512_set1_epi32(until_after_spike(k.ref_steps, s.now));
            let zero = _mm512_setzero_si512();
            let mut sum = _mm512_setzero_ps();
            let (v, ge, gi, until) = (
                s.v.as_mut_ptr(),
                s.ge.as_mut_ptr(),
                s.gi.as_mut_ptr(),
                s.until.as_mut_ptr(),
            );
            let (pe, pi, px) = (re.as_mut_ptr(), ri.as_mut_ptr(), x.as_ptr());
            let mut sink = SpikeSink::new(spikes, n);
            let mut i = 0;
            while i < body {
                // SAFETY (all pointer accesses): i + 16 <= n and every slice has length n.
                let q_e = _mm512_loadu_si512(pe.add(i) as *const _);
                let q_i = _mm512_loadu_si512(pi.add(i) as *const _);
                _mm512_storeu_si512(pe.add(i) as *mut _, zero);
                _mm512_storeu_si512(pi.add(i) as *mut _, zero);
                let g_e = _mm512_add_ps(
                    _mm512_loadu_ps(ge.add(i)),
                    _mm512_mul_ps(_mm512_cvtepi32_ps(q_e), inv_e),
                );
                let g_i = _mm512_add_ps(
                    _mm512_loadu_ps(gi.add(i)),
                    _mm512_mul_ps(_mm512_cvtepi32_ps(q_i), inv_i),
                );
                let v0 = _mm512_loadu_ps(v.add(i));
                let active =
                    _mm512_cmple_epi32_mask(_mm512_loadu_si512(until.add(i) as *const _), now);
                let i_syn = _mm512_add_ps(
                    _mm512_add_ps(
                        _mm512_mul_ps(g_l, _mm512_sub_ps(e_l, v0)),
                        _mm512_mul_ps(g_e, _mm512_sub_ps(e_exc, v0)),
                    ),
                    _mm512_mul_ps(g_i, _mm512_sub_ps(e_inh, v0)),
                );
                let drive = if EXT {
                    _mm512_add_ps(_mm512_add_ps(i_syn, _mm512_loadu_ps(px.add(i))), bias)
                } else {
                    _mm512_add_ps(i_syn, bias)
                };
                let v1 = _mm512_add_ps(v0, _mm512_mul_ps(dt_over_c, drive));
                // spk = active & v1 >= v_th; keep (v1 stays) = active & !(v1 >= v_th).
                // Masked compares rather than mask logic: the compiler does the latter
                // in general registers, and the round trips cost more than a compare.
                let spk = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(active, v1, v_th);
                let keep = _mm512_mask_cmp_ps_mask::<_CMP_NGE_UQ>(active, v1, v_th);
                let vn = _mm512_mask_blend_ps(keep, v_reset, v1);
                _mm512_storeu_ps(v.add(i), vn);
                _mm512_storeu_ps(ge.add(i), _mm512_mul_ps(g_e, decay_e));
                _mm512_storeu_ps(gi.add(i), _mm512_mul_ps(g_i, decay_i));
                sum = _mm512_add_ps(sum, vn);
                let m = spk as u32;
                if m != 0 {
                    _mm512_mask_storeu_epi32(until.add(i) as *mut _, spk, after_spike);
                    sink.push_mask(m, base + i as u32);
                }
                i += 16;
            }
            drop(sink);
            let sum: [f32; 16] = std::mem::transmute(sum);
            let finite = crate::neuron::all_finite(&sum, &s.v[..body]);
            let tail = LifCondView {
                v: &mut s.v[body..],
                ge: &mut s.ge[body..],
                gi: &mut s.gi[body..],
                until: &mut s.until[body..],
                now: s.now,
            };
            let x = if EXT { &x[body..] } else { x };
            let (re, ri) = (&mut re[body..], &mut ri[body..]);
            finite
                & super::update_blocks::<EXT>(k, tail, re, ri, inv, x, base + body as u32, spikes)
        }
    }
}

impl super::NeuronType for LifCondParams {
    type Pop = super::Pop<LifCondConsts, LifCondState>;
    const STATE: &'static [super::StateVar] = &[
        super::StateVar::new("v", "mV"),
        super::StateVar::new("ge", "nS"),
        super::StateVar::new("gi", "nS"),
    ];

    fn check(&self) -> Vec<(&'static str, String)> {
        LifCondParams::check(self)
    }

    fn receptors(&self) -> [super::registry::ReceptorSpec; 2] {
        super::registry::ReceptorSpec::pair("ge", "gi", "nS")
    }

    fn build(&self, dt_ms: f64, draw: &mut super::Draw<'_>) -> Self::Pop {
        let v = draw.state("v", self.e_l_mv);
        let ge = draw.state("ge", 0.0);
        let gi = draw.state("gi", 0.0);
        super::Pop {
            k: self.derive(dt_ms),
            s: LifCondState {
                v: v.into(),
                ge: ge.into(),
                gi: gi.into(),
                until: super::AlignedVec::zeroed(draw.n),
                now: 0,
            },
        }
    }
}

impl super::NeuronKernel for super::Pop<LifCondConsts, LifCondState> {
    type Consts = LifCondConsts;
    type View<'a> = LifCondView<'a>;
    const SHADER: &'static str = "neuron_lif_cond.wgsl";
    const SOURCE: &'static str = neuron_wgsl!("neuron_lif_cond.wgsl");
    const GPU_VARS: &'static [&'static str] = &["v", "ge", "gi", "refrac"];

    fn chunks(&mut self, lens: &[usize]) -> (&LifCondConsts, Vec<LifCondView<'_>>) {
        (&self.k, self.s.chunks(lens))
    }

    fn whole(&mut self) -> (&LifCondConsts, LifCondView<'_>) {
        (&self.k, self.s.view())
    }

    fn update(
        k: &LifCondConsts,
        s: LifCondView<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv: [f32; 2],
        i_ext: Option<&[f32]>,
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool {
        update(k, s, ring_exc, ring_inh, inv, i_ext, base, spikes)
    }

    fn tick(&mut self) {
        self.s.tick();
    }

    fn read(&self, var: &str, out: &mut Vec<f32>) -> bool {
        let src: &[f32] = match var {
            "v" => &self.s.v,
            "ge" => &self.s.ge,
            "gi" => &self.s.gi,
            _ => return false,
        };
        crate::neuron::registry::copy_into(out, src)
    }

    fn bytes_per_neuron(&self) -> usize {
        16
    }

    fn gpu_params(&self) -> Vec<u8> {
        bytemuck::bytes_of(&self.k).to_vec()
    }

    fn gpu_state(&self) -> Vec<u32> {
        let s = &self.s;
        let floats = [&s.v[..], &s.ge, &s.gi]
            .concat()
            .into_iter()
            .map(f32::to_bits);
        floats.chain(s.refrac_steps().map(|r| r as u32)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuron::Simd;
    use crate::neuron::test_util::{Rand, available, same};

    /// Random state around threshold, with refractory neurons and odd values.
    fn state(r: &mut Rand, n: usize) -> LifCondState {
        LifCondState {
            v: (0..n)
                .map(|_| {
                    if r.chance(0.1) {
                        -50.0
                    } else {
                        r.f32(-70.0, -45.0)
                    }
                })
                .collect(),
            ge: (0..n)
                .map(|_| {
                    if r.chance(0.1) {
                        -0.0
                    } else {
                        r.f32(-5.0, 100.0)
                    }
                })
                .collect(),
            gi: (0..n).map(|_| r.f32(0.0, 300.0)).collect(),
            // Clock 40: refractory where `until` > 40.
            until: (0..n).map(|_| 30 + r.refrac()).collect(),
            now: 40,
        }
    }

    /// Odd values planted in the state of a kernel comparison.
    #[derive(Clone, Copy, Debug)]
    enum Poison {
        None,
        /// A NaN potential and an infinite conductance: the step must fail.
        NonFinite,
        /// Huge finite potentials, whose running sums overflow.
        Huge,
    }

    /// Steps the portable kernel and `simd` side by side and compares every bit.
    fn compare(simd: Simd, k: &LifCondConsts, n: usize, ext: bool, poison: Poison, seed: u64) {
        let mut r = Rand(seed);
        let mut a = state(&mut r, n);
        match poison {
            Poison::NonFinite if n > 3 => {
                a.v[n / 2] = f32::NAN;
                a.ge[n - 1] = f32::INFINITY;
            }
            Poison::Huge => {
                // Below f32::MAX / g_l, so each potential stays finite; a lane's
                // sum of 16 of them is not.
                a.v.fill(-3e37);
                a.ge.fill(0.0);
                a.gi.fill(0.0);
            }
            _ => {}
        }
        let mut b = a.clone();
        let inv = [2f32.powi(-16), 2f32.powi(-12)];
        for step in 0..20 {
            // No input for huge potentials: a conductance times one overflows.
            let huge = matches!(poison, Poison::Huge);
            let mut ring_a: Vec<i32> = (0..2 * n)
                .map(|_| if huge { 0 } else { r.ring() })
                .collect();
            let mut ring_b = ring_a.clone();
            let x: Vec<f32> = (0..n).map(|_| r.f32(-200.0, 400.0)).collect();
            let x = ext.then_some(&x[..]);
            let (mut out_a, mut out_b) = (vec![7], vec![7]);
            let (ea, ia) = ring_a.split_at_mut(n);
            let (eb, ib) = ring_b.split_at_mut(n);
            let ok_a = update_with(Simd::Portable, k, a.view(), ea, ia, inv, x, 100, &mut out_a);
            let ok_b = update_with(simd, k, b.view(), eb, ib, inv, x, 100, &mut out_b);
            let what = format!("{simd:?} n {n} ext {ext} {poison:?} step {step}");
            assert_eq!(ok_a, ok_b, "{what}");
            if let Poison::Huge = poison {
                assert_eq!(ok_a, a.v.iter().all(|v| v.is_finite()), "{what}");
            }
            assert_eq!(out_a, out_b, "{what}");
            assert_eq!(ring_a, ring_b, "{what}");
            assert!(ring_a.iter().all(|&q| q == 0), "{what}");
            assert!(
                same(&a.v, &b.v) && same(&a.ge, &b.ge) && same(&a.gi, &b.gi),
                "{what}"
            );
            assert_eq!(a.until, b.until, "{what}");
            a.tick();
            b.tick();
        }
    }

    #[test]
    fn simd_kernels_match_the_portable_one_bit_for_bit() {
        let plain = LifCondParams::default().derive(0.1);
        let biased = LifCondParams {
            i_bias_pa: 150.0,
            ..Default::default()
        }
        .derive(0.1);
        let neg_zero = LifCondConsts {
            i_bias: -0.0,
            ..plain
        };
        for simd in available() {
            for (j, k) in [plain, biased, neg_zero].iter().enumerate() {
                for n in [0, 5, 8, 93, 256] {
                    for ext in [false, true] {
                        for poison in [Poison::None, Poison::NonFinite, Poison::Huge] {
                            compare(simd, k, n, ext, poison, 1 + j as u64 * 1000 + n as u64);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    /// A neuron driven far above threshold fires, is refractory for exactly
    /// `ref_steps` steps, fires again, and so on, across a clock rebase.
    #[test]
    fn refractory_periods_are_exact_across_a_clock_rebase() {
        let k = LifCondParams {
            i_bias_pa: 1e6,
            t_ref_ms: 0.5,
            ..Default::default()
        }
        .derive(0.1);
        assert_eq!(k.ref_steps, 5);
        let mut s = LifCondState {
            v: vec![-60.0; 3].into(),
            ge: vec![0.0; 3].into(),
            gi: vec![0.0; 3].into(),
            // Neuron 2 starts 3 steps into a period.
            until: vec![0, 0, CLOCK_LIMIT - 17].into(),
            now: CLOCK_LIMIT - 20,
        };
        let (mut re, mut ri) = ([0; 3], [0; 3]);
        let mut fired = vec![vec![]; 3];
        for step in 0..40 {
            let mut out = vec![];
            assert!(update(
                &k,
                s.view(),
                &mut re,
                &mut ri,
                [1.0; 2],
                None,
                0,
                &mut out
            ));
            out.iter().for_each(|&i| fired[i as usize].push(step));
            s.tick();
            assert!((0..CLOCK_LIMIT).contains(&s.now));
        }
        assert_eq!(fired[0], (0..40).step_by(6).collect::<Vec<_>>());
        assert_eq!(fired[1], fired[0]);
        assert_eq!(fired[2], (3..40).step_by(6).collect::<Vec<_>>());
        assert_eq!(s.now, 20, "the clock was rebased after 20 steps");
    }

    #[test]
    fn refrac_steps_counts_down_and_survives_a_rebase() {
        let mut s = LifCondState {
            v: vec![0.0; 3].into(),
            ge: vec![0.0; 3].into(),
            gi: vec![0.0; 3].into(),
            until: vec![0, CLOCK_LIMIT + 2, CLOCK_LIMIT - 1].into(),
            now: CLOCK_LIMIT - 2,
        };
        assert_eq!(s.refrac_steps().collect::<Vec<_>>(), [0, 4, 1]);
        s.tick();
        assert_eq!(s.refrac_steps().collect::<Vec<_>>(), [0, 3, 0]);
        s.tick();
        assert_eq!((s.now, &s.until[..]), (0, &[0, 2, 0][..]));
        assert_eq!(s.refrac_steps().collect::<Vec<_>>(), [0, 2, 0]);
    }
}
