//! Current-based leaky integrate-and-fire neuron, integrated exactly.
//!
//! `C dV/dt = -C (V - E_L)/tau_m + I_exc + I_inh + I_ext + I_bias`, with
//! exponentially decaying synaptic currents (`dI/dt = -I/tau_syn`, weights in pA)
//! or delta synapses (weights in mV, added to V on arrival). The linear system is
//! integrated with its exact propagator (Rotter & Diesmann 1999, as NEST's
//! `iaf_psc_exp`), so a trace under constant input equals the closed form at every
//! step. After a spike V is clamped to `v_reset_mv` for `t_ref_ms`; synaptic
//! currents keep decaying and delta inputs arriving during that time are dropped.
use serde::{Deserialize, Serialize};

/// How synaptic input acts on the membrane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SynapseKind {
    /// Exponentially decaying current; weights in pA.
    #[default]
    Exponential,
    /// Instantaneous voltage jump; weights in mV.
    Delta,
}

/// Parameters of [`crate::model::NeuronModel::Lif`] (defaults in brackets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifParams {
    /// Membrane capacitance, pF [250].
    pub c_m_pf: f64,
    /// Membrane time constant, ms [10].
    pub tau_m_ms: f64,
    /// Resting (leak reversal) potential, mV [-65].
    pub e_l_mv: f64,
    /// Reset potential, mV [-65].
    pub v_reset_mv: f64,
    /// Threshold, mV [-50].
    pub v_th_mv: f64,
    /// Absolute refractory period, ms [2].
    pub t_ref_ms: f64,
    /// Constant bias current, pA [0].
    pub i_bias_pa: f64,
    /// Synapse type [exponential].
    pub synapse: SynapseKind,
    /// Excitatory synaptic time constant, ms [5].
    pub tau_syn_exc_ms: f64,
    /// Inhibitory synaptic time constant, ms [5].
    pub tau_syn_inh_ms: f64,
}

impl Default for LifParams {
    fn default() -> Self {
        LifParams {
            c_m_pf: 250.0,
            tau_m_ms: 10.0,
            e_l_mv: -65.0,
            v_reset_mv: -65.0,
            v_th_mv: -50.0,
            t_ref_ms: 2.0,
            i_bias_pa: 0.0,
            synapse: SynapseKind::Exponential,
            tau_syn_exc_ms: 5.0,
            tau_syn_inh_ms: 5.0,
        }
    }
}

impl LifParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        super::positive(&mut out, "c_m_pf", self.c_m_pf);
        super::positive(&mut out, "tau_m_ms", self.tau_m_ms);
        super::positive(&mut out, "tau_syn_exc_ms", self.tau_syn_exc_ms);
        super::positive(&mut out, "tau_syn_inh_ms", self.tau_syn_inh_ms);
        super::non_negative(&mut out, "t_ref_ms", self.t_ref_ms);
        super::finite(&mut out, "e_l_mv", self.e_l_mv);
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

    /// Step constants for step `dt_ms`, computed once in f64.
    pub fn derive(&self, dt_ms: f64) -> LifConsts {
        let p33 = (-dt_ms / self.tau_m_ms).exp();
        let p30 = self.tau_m_ms / self.c_m_pf * (1.0 - p33);
        let p32 = |tau_s: f64| {
            let p22 = (-dt_ms / tau_s).exp();
            if (tau_s - self.tau_m_ms).abs() < 1e-12 {
                dt_ms / self.c_m_pf * p33
            } else {
                tau_s * self.tau_m_ms / (self.c_m_pf * (tau_s - self.tau_m_ms)) * (p22 - p33)
            }
        };
        LifConsts {
            e_l: self.e_l_mv as f32,
            v_reset: self.v_reset_mv as f32,
            v_th: self.v_th_mv as f32,
            p33: p33 as f32,
            p30: p30 as f32,
            p32_exc: p32(self.tau_syn_exc_ms) as f32,
            p32_inh: p32(self.tau_syn_inh_ms) as f32,
            p22_exc: (-dt_ms / self.tau_syn_exc_ms).exp() as f32,
            p22_inh: (-dt_ms / self.tau_syn_inh_ms).exp() as f32,
            i_bias: self.i_bias_pa as f32,
            ref_steps: super::ref_steps(self.t_ref_ms, dt_ms),
            delta: self.synapse == SynapseKind::Delta,
        }
    }
}

/// Per-step constants of a LIF population (exact propagator entries).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifConsts {
    /// Leak reversal, mV.
    pub e_l: f32,
    /// Reset, mV.
    pub v_reset: f32,
    /// Threshold, mV.
    pub v_th: f32,
    /// Membrane decay `exp(-dt/tau_m)`.
    pub p33: f32,
    /// Constant-current gain `tau_m/C (1 - p33)`, mV/pA.
    pub p30: f32,
    /// Excitatory current to voltage propagator, mV/pA.
    pub p32_exc: f32,
    /// Inhibitory current to voltage propagator, mV/pA.
    pub p32_inh: f32,
    /// Excitatory current decay.
    pub p22_exc: f32,
    /// Inhibitory current decay.
    pub p22_inh: f32,
    /// Bias current, pA.
    pub i_bias: f32,
    /// Refractory period in steps.
    pub ref_steps: i32,
    /// Delta synapses (inputs jump V) instead of exponential currents.
    pub delta: bool,
}

/// State of a LIF population, structure of arrays.
#[derive(Debug, Clone, Default)]
pub struct LifState {
    /// Membrane potential, mV.
    pub v: Vec<f32>,
    /// Excitatory synaptic current, pA.
    pub i_exc: Vec<f32>,
    /// Inhibitory synaptic current, pA.
    pub i_inh: Vec<f32>,
    /// Remaining refractory steps.
    pub refrac: Vec<i32>,
}

/// Mutable slices of a [`LifState`] (a whole population or a chunk of it).
pub struct LifView<'a> {
    /// Membrane potential.
    pub v: &'a mut [f32],
    /// Excitatory current.
    pub i_exc: &'a mut [f32],
    /// Inhibitory current.
    pub i_inh: &'a mut [f32],
    /// Refractory counters.
    pub refrac: &'a mut [i32],
}

impl LifState {
    /// Views the state as slices split into chunks of the given lengths.
    pub fn chunks(&mut self, lens: &[usize]) -> Vec<LifView<'_>> {
        let v = super::split_mut(&mut self.v, lens);
        let e = super::split_mut(&mut self.i_exc, lens);
        let i = super::split_mut(&mut self.i_inh, lens);
        let r = super::split_mut(&mut self.refrac, lens);
        v.into_iter()
            .zip(e)
            .zip(i)
            .zip(r)
            .map(|(((v, i_exc), i_inh), refrac)| LifView {
                v,
                i_exc,
                i_inh,
                refrac,
            })
            .collect()
    }
}

super::simd_dispatch! {
    /// One step: takes this step's synaptic input from the ring slots (fixed point,
    /// cleared after reading), integrates exactly, thresholds and resets. Spiking
    /// indices (`base` + local) are appended to `spikes`. Returns false if a
    /// membrane potential became non-finite.
    pub fn update(
        k: &LifConsts,
        s: LifView<'_>,
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
    k: &LifConsts,
    s: LifView<'_>,
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
        let args = (
            &mut s.v[a..b],
            &mut s.i_exc[a..b],
            &mut s.i_inh[a..b],
            &mut s.refrac[a..b],
            &mut ring_exc[a..b],
            &mut ring_inh[a..b],
            &i_ext[a..b],
        );
        ok &= if k.delta {
            block::<true>(k, args, inv, f)
        } else {
            block::<false>(k, args, inv, f)
        };
        super::collect_spikes(f, base + a as u32, spikes);
    }
    ok
}

type Slices<'a> = (
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [i32],
    &'a mut [i32],
    &'a mut [i32],
    &'a [f32],
);

/// Branch-free body so the compiler vectorises it; `flags[i]` = 1 when i spiked.
#[inline(always)]
fn block<const DELTA: bool>(k: &LifConsts, s: Slices<'_>, inv: [f32; 2], flags: &mut [u8]) -> bool {
    let (v, ie, ii, refrac, re, ri, x) = s;
    let n = v.len();
    assert!(ie.len() == n && ii.len() == n && refrac.len() == n);
    assert!(re.len() == n && ri.len() == n && x.len() == n && flags.len() == n);
    let mut bad = false;
    for i in 0..n {
        let in_e = re[i] as f32 * inv[0];
        let in_i = ri[i] as f32 * inv[1];
        re[i] = 0;
        ri[i] = 0;
        let r = refrac[i];
        let active = r <= 0;
        let (mut v0, mut e, mut h) = (v[i], ie[i], ii[i]);
        if DELTA {
            // Delta inputs arriving during the refractory period are dropped.
            v0 = if active { v0 + in_e + in_i } else { v0 };
        } else {
            e = e + in_e;
            h = h + in_i;
        }
        let drive = x[i] + k.i_bias;
        let v1 = k.e_l + (v0 - k.e_l) * k.p33 + drive * k.p30 + e * k.p32_exc + h * k.p32_inh;
        let spk = active & (v1 >= k.v_th);
        let vn = if active & !spk { v1 } else { k.v_reset };
        v[i] = vn;
        refrac[i] = if spk { k.ref_steps } else { (r - 1).max(0) };
        ie[i] = e * k.p22_exc;
        ii[i] = h * k.p22_inh;
        flags[i] = spk as u8;
        bad |= !vn.is_finite();
    }
    !bad
}
