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

/// One step: adds synaptic input, integrates, thresholds, resets. Spiking local
/// indices are appended to `spikes`. Returns false if a state became non-finite.
pub fn update(
    k: &LifCondConsts,
    s: LifCondView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    inv_scale: [f32; 2],
    i_ext: &[f32],
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.v.len();
    let mut finite = true;
    for i in 0..n {
        let in_e = ring_exc[i] as f32 * inv_scale[0];
        let in_i = ring_inh[i] as f32 * inv_scale[1];
        ring_exc[i] = 0;
        ring_inh[i] = 0;
        let ge = s.ge[i] + in_e;
        let gi = s.gi[i] + in_i;
        let mut v = s.v[i];
        let r = s.refrac[i];
        if r > 0 {
            s.refrac[i] = r - 1;
            v = k.v_reset;
        } else {
            let i_syn = k.g_l * (k.e_l - v) + ge * (k.e_exc - v) + gi * (k.e_inh - v);
            v = v + k.dt_over_c * (i_syn + i_ext[i] + k.i_bias);
            if v >= k.v_th {
                spikes.push(base + i as u32);
                v = k.v_reset;
                s.refrac[i] = k.ref_steps;
            }
        }
        s.ge[i] = ge * k.decay_exc;
        s.gi[i] = gi * k.decay_inh;
        s.v[i] = v;
        finite &= v.is_finite();
    }
    finite
}
