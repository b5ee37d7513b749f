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
    /// Membrane capacitance, pF [200].
    pub c_m_pf: f64,
    /// Leak conductance, nS [10].
    pub g_l_ns: f64,
    /// Leak reversal, mV [-60].
    pub e_l_mv: f64,
    /// Reset potential, mV [-60].
    pub v_reset_mv: f64,
    /// Threshold, mV [-50].
    pub v_th_mv: f64,
    /// Refractory period, ms [5].
    pub t_ref_ms: f64,
    /// Excitatory reversal, mV [0].
    pub e_exc_mv: f64,
    /// Inhibitory reversal, mV [-80].
    pub e_inh_mv: f64,
    /// Excitatory conductance time constant, ms [5].
    pub tau_syn_exc_ms: f64,
    /// Inhibitory conductance time constant, ms [10].
    pub tau_syn_inh_ms: f64,
    /// Constant bias current, pA [0].
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
    pub v: Vec<f32>,
    /// Excitatory conductance, nS.
    pub ge: Vec<f32>,
    /// Inhibitory conductance, nS.
    pub gi: Vec<f32>,
    /// Remaining refractory steps.
    pub refrac: Vec<i32>,
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

super::simd_dispatch! {
    /// One step: adds this step's synaptic input from the ring slots (fixed point,
    /// cleared after reading), integrates, thresholds, resets. Spiking indices
    /// (`base` + local) are appended to `spikes`. Returns false if a membrane
    /// potential became non-finite.
    pub fn update(
        k: &LifCondConsts,
        s: LifCondView<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv_scale: [f32; 2],
        i_ext: &[f32],
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool => update_blocks
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn update_blocks(
    k: &LifCondConsts,
    s: LifCondView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    inv: [f32; 2],
    i_ext: &[f32],
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.v.len();
    let mut flags = [0u8; super::BLOCK];
    let mut ok = true;
    for a in (0..n).step_by(super::BLOCK) {
        let b = (a + super::BLOCK).min(n);
        let f = &mut flags[..b - a];
        ok &= block(
            k,
            &mut s.v[a..b],
            &mut s.ge[a..b],
            &mut s.gi[a..b],
            &mut s.refrac[a..b],
            &mut ring_exc[a..b],
            &mut ring_inh[a..b],
            inv,
            &i_ext[a..b],
            f,
        );
        super::collect_spikes(f, base + a as u32, spikes);
    }
    ok
}

/// Branch-free body so the compiler vectorises it; `flags[i]` = 1 when i spiked.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block(
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
    assert!(re.len() == n && ri.len() == n && x.len() == n && flags.len() == n);
    let mut bad = false;
    for i in 0..n {
        let g_e = ge[i] + re[i] as f32 * inv[0];
        let g_i = gi[i] + ri[i] as f32 * inv[1];
        re[i] = 0;
        ri[i] = 0;
        let v0 = v[i];
        let r = refrac[i];
        let i_syn = k.g_l * (k.e_l - v0) + g_e * (k.e_exc - v0) + g_i * (k.e_inh - v0);
        let v1 = v0 + k.dt_over_c * (i_syn + x[i] + k.i_bias);
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
