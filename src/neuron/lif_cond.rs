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
        }
    }
}

/// Per-step constants of a conductance-based LIF population.
#[derive(Debug, Clone, Copy, PartialEq)]
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
}

/// State of a conductance-based LIF population.
#[derive(Debug, Clone, Default)]
pub struct LifCondState {
    /// Membrane potential, mV.
    pub v: super::AlignedVec<f32>,
    /// Excitatory conductance, nS.
    pub ge: super::AlignedVec<f32>,
    /// Inhibitory conductance, nS.
    pub gi: super::AlignedVec<f32>,
    /// Remaining refractory steps.
    pub refrac: super::AlignedVec<i32>,
}

/// Mutable slices of a [`LifCondState`].
pub struct LifCondView<'a> {
    /// Membrane potential.
    pub v: &'a mut [f32],
    /// Excitatory conductance.
    pub ge: &'a mut [f32],
    /// Inhibitory conductance.
    pub gi: &'a mut [f32],
    /// Refractory counters.
    pub refrac: &'a mut [i32],
}

impl LifCondState {
    /// Views the whole state.
    pub fn view(&mut self) -> LifCondView<'_> {
        LifCondView {
            v: &mut self.v,
            ge: &mut self.ge,
            gi: &mut self.gi,
            refrac: &mut self.refrac,
        }
    }

    /// Views the state as slices split into chunks of the given lengths.
    pub fn chunks(&mut self, lens: &[usize]) -> Vec<LifCondView<'_>> {
        let v = super::split_mut(&mut self.v, lens);
        let e = super::split_mut(&mut self.ge, lens);
        let i = super::split_mut(&mut self.gi, lens);
        let r = super::split_mut(&mut self.refrac, lens);
        v.into_iter()
            .zip(e)
            .zip(i)
            .zip(r)
            .map(|(((v, ge), gi), refrac)| LifCondView { v, ge, gi, refrac })
            .collect()
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
    assert!(s.ge.len() == n && s.gi.len() == n && s.refrac.len() == n);
    assert!(re.len() == n && ri.len() == n);
    assert!(i_ext.is_none_or(|x| x.len() == n));
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
            &mut s.refrac[a..b],
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
    refrac: &mut [i32],
    re: &mut [i32],
    ri: &mut [i32],
    inv: [f32; 2],
    x: &[f32],
    flags: &mut [u8],
) -> bool {
    let n = v.len();
    assert!(ge.len() == n && gi.len() == n && refrac.len() == n);
    assert!(re.len() == n && ri.len() == n && flags.len() == n && (!EXT || x.len() == n));
    let mut bad = false;
    for i in 0..n {
        let g_e = ge[i] + re[i] as f32 * inv[0];
        let g_i = gi[i] + ri[i] as f32 * inv[1];
        re[i] = 0;
        ri[i] = 0;
        let v0 = v[i];
        let r = refrac[i];
        let i_syn = k.g_l * (k.e_l - v0) + g_e * (k.e_exc - v0) + g_i * (k.e_inh - v0);
        let x_i = if EXT { x[i] } else { 0.0 };
        let v1 = v0 + k.dt_over_c * (i_syn + x_i + k.i_bias);
        let active = r <= 0;
        let spk = active & (v1 >= k.v_th);
        let vn = if active & !spk { v1 } else { k.v_reset };
        v[i] = vn;
        refrac[i] = if spk { k.ref_steps } else { (r - 1).max(0) };
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
/// storing and scanning a flag per neuron, and checks finiteness with two integer
/// operations instead of packing a flag per neuron.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LifCondConsts, LifCondView};
    use crate::neuron::SpikeSink;
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
            let ref_steps = _mm256_set1_epi32(k.ref_steps);
            let zero = _mm256_setzero_si256();
            let minus_one = _mm256_set1_epi32(-1);
            let abs_bits = _mm256_set1_epi32(0x7fff_ffff);
            // Largest |v| bit pattern seen: >= 0x7f80_0000 iff some v is inf or NaN.
            let mut worst = zero;
            let (v, ge, gi, refrac) = (
                s.v.as_mut_ptr(),
                s.ge.as_mut_ptr(),
                s.gi.as_mut_ptr(),
                s.refrac.as_mut_ptr(),
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
                let r = _mm256_loadu_si256(refrac.add(i) as *const __m256i);
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
                // refractory = r > 0; spk = !refractory & v1 >= v_th (false for NaN, as `>=`).
                let refractory = _mm256_castsi256_ps(_mm256_cmpgt_epi32(r, zero));
                let spk = _mm256_andnot_ps(refractory, _mm256_cmp_ps::<_CMP_GE_OQ>(v1, v_th));
                // v keeps v1 only when active and not spiking.
                let vn = _mm256_blendv_ps(v1, v_reset, _mm256_or_ps(refractory, spk));
                let r_dec = _mm256_max_epi32(_mm256_add_epi32(r, minus_one), zero);
                let rn = _mm256_castps_si256(_mm256_blendv_ps(
                    _mm256_castsi256_ps(r_dec),
                    _mm256_castsi256_ps(ref_steps),
                    spk,
                ));
                _mm256_storeu_ps(v.add(i), vn);
                _mm256_storeu_si256(refrac.add(i) as *mut __m256i, rn);
                _mm256_storeu_ps(ge.add(i), _mm256_mul_ps(g_e, decay_e));
                _mm256_storeu_ps(gi.add(i), _mm256_mul_ps(g_i, decay_i));
                worst =
                    _mm256_max_epu32(worst, _mm256_and_si256(_mm256_castps_si256(vn), abs_bits));
                sink.push_mask(_mm256_movemask_ps(spk) as u32, base + i as u32);
                i += 8;
            }
            drop(sink);
            let limit = _mm256_set1_epi32(0x7f7f_ffff);
            let finite =
                _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(worst, limit))) == 0;
            let tail = LifCondView {
                v: &mut s.v[body..],
                ge: &mut s.ge[body..],
                gi: &mut s.gi[body..],
                refrac: &mut s.refrac[body..],
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
/// and blends, `fpclass` for finiteness) and 32 vector registers. Zen 4 executes each 512-bit operation as two 256-bit ones,
/// yet the halved instruction count still makes this about a quarter faster.
#[cfg(all(target_arch = "x86_64", avx512_kernels))]
// Compiled only by Rust >= 1.89 (see build.rs), whatever the crate's rust-version.
#[allow(clippy::incompatible_msrv)]
mod avx512 {
    use super::{LifCondConsts, LifCondView};
    use crate::neuron::SpikeSink;
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
            let ref_steps = _mm512_set1_epi32(k.ref_steps);
            let zero = _mm512_setzero_si512();
            let one = _mm512_set1_epi32(1);
            // `vn * 0` is ±0 for finite vn and NaN for inf or NaN, and a NaN stays in
            // the sum: two vector operations per 16 neurons instead of a class test
            // and a mask move to a general register.
            let zero_ps = _mm512_setzero_ps();
            let mut nan = _mm512_setzero_ps();
            let (v, ge, gi, refrac) = (
                s.v.as_mut_ptr(),
                s.ge.as_mut_ptr(),
                s.gi.as_mut_ptr(),
                s.refrac.as_mut_ptr(),
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
                let r = _mm512_loadu_si512(refrac.add(i) as *const _);
                let active = _mm512_cmple_epi32_mask(r, zero);
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
                let r_dec = _mm512_max_epi32(_mm512_sub_epi32(r, one), zero);
                let rn = _mm512_mask_blend_epi32(spk, r_dec, ref_steps);
                _mm512_storeu_ps(v.add(i), vn);
                _mm512_storeu_si512(refrac.add(i) as *mut _, rn);
                _mm512_storeu_ps(ge.add(i), _mm512_mul_ps(g_e, decay_e));
                _mm512_storeu_ps(gi.add(i), _mm512_mul_ps(g_i, decay_i));
                nan = _mm512_add_ps(nan, _mm512_mul_ps(vn, zero_ps));
                sink.push_mask(spk as u32, base + i as u32);
                i += 16;
            }
            drop(sink);
            let tail = LifCondView {
                v: &mut s.v[body..],
                ge: &mut s.ge[body..],
                gi: &mut s.gi[body..],
                refrac: &mut s.refrac[body..],
            };
            let x = if EXT { &x[body..] } else { x };
            let (re, ri) = (&mut re[body..], &mut ri[body..]);
            let bad = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(nan, nan);
            (bad == 0)
                & super::update_blocks::<EXT>(k, tail, re, ri, inv, x, base + body as u32, spikes)
        }
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
            refrac: (0..n).map(|_| r.refrac()).collect(),
        }
    }

    /// Steps the portable kernel and `simd` side by side and compares every bit.
    fn compare(simd: Simd, k: &LifCondConsts, n: usize, ext: bool, poison: bool, seed: u64) {
        let mut r = Rand(seed);
        let mut a = state(&mut r, n);
        if poison && n > 3 {
            a.v[n / 2] = f32::NAN;
            a.ge[n - 1] = f32::INFINITY;
        }
        let mut b = a.clone();
        let inv = [2f32.powi(-16), 2f32.powi(-12)];
        for step in 0..20 {
            let mut ring_a: Vec<i32> = (0..2 * n).map(|_| r.ring()).collect();
            let mut ring_b = ring_a.clone();
            let x: Vec<f32> = (0..n).map(|_| r.f32(-200.0, 400.0)).collect();
            let x = ext.then_some(&x[..]);
            let (mut out_a, mut out_b) = (vec![7], vec![7]);
            let (ea, ia) = ring_a.split_at_mut(n);
            let (eb, ib) = ring_b.split_at_mut(n);
            let ok_a = update_with(Simd::Portable, k, a.view(), ea, ia, inv, x, 100, &mut out_a);
            let ok_b = update_with(simd, k, b.view(), eb, ib, inv, x, 100, &mut out_b);
            let what = format!("{simd:?} n {n} ext {ext} step {step}");
            assert_eq!(ok_a, ok_b, "{what}");
            assert_eq!(out_a, out_b, "{what}");
            assert_eq!(ring_a, ring_b, "{what}");
            assert!(ring_a.iter().all(|&q| q == 0), "{what}");
            assert!(
                same(&a.v, &b.v) && same(&a.ge, &b.ge) && same(&a.gi, &b.gi),
                "{what}"
            );
            assert_eq!(a.refrac, b.refrac, "{what}");
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
                        for poison in [false, true] {
                            compare(simd, k, n, ext, poison, 1 + j as u64 * 1000 + n as u64);
                        }
                    }
                }
            }
        }
    }
}
