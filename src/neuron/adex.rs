//! Adaptive exponential integrate-and-fire neuron (AdEx; Brette & Gerstner 2005).
//!
//! `C dV/dt = -g_L (V - E_L) + g_L Δ_T exp((V - V_T)/Δ_T) - w + I_syn + I_ext + I_bias`,
//! `τ_w dw/dt = a (V - E_L) - w`; when `V >= v_peak_mv`: `V -> v_reset_mv`,
//! `w -> w + b`, and V is held at `v_reset_mv` for `t_ref_ms` while w evolves.
//! Synapses are exponential currents (`synapse = "current"`, weights in pA,
//! `I_syn = I_exc + I_inh`) or conductances (`"conductance"`, weights in nS,
//! `I_syn = g_e (E_exc - V) + g_i (E_inh - V)`); they decay by `exp(-dt/τ_syn)`.
//! V and w take one forward-Euler step with the step's old values (as Brian2's
//! `euler`), so accuracy follows dt: against an RK4 solution, spike times drift
//! about 0.035 ms per spike at dt 0.01 ms, and at 0.002 ms the first ten spikes of
//! each preset stay within 0.2 ms (five for the chaotic `irregular`). The exponential is [`exp_f32`], written with
//! basic f32 operations so the GPU reproduces it bit for bit.
//!
//! Presets are the firing patterns of Naud et al. (2008, Table 1), each with the
//! step current that shows it ([`AdExPreset::step_current_pa`]).
use serde::{Deserialize, Serialize};

/// Firing patterns of Naud, Marcille, Clopath & Gerstner (2008), Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdExPreset {
    /// Tonic spiking.
    Tonic,
    /// Spike-frequency adaptation.
    Adapting,
    /// Initial burst, then tonic spiking.
    InitialBurst,
    /// Regular bursting.
    RegularBursting,
    /// Delayed, accelerating spiking.
    DelayedAccelerating,
    /// Delayed regular bursting.
    DelayedRegularBursting,
    /// Transient spiking (a few spikes, then silence).
    Transient,
    /// Irregular spiking.
    Irregular,
}

impl AdExPreset {
    /// `[C pF, g_L nS, E_L mV, V_T mV, Δ_T mV, a nS, τ_w ms, b pA, V_r mV]`.
    pub fn values(self) -> [f64; 9] {
        use AdExPreset::*;
        match self {
            Tonic => [200.0, 10.0, -70.0, -50.0, 2.0, 2.0, 30.0, 0.0, -58.0],
            Adapting => [200.0, 12.0, -70.0, -50.0, 2.0, 2.0, 300.0, 60.0, -58.0],
            InitialBurst => [130.0, 18.0, -58.0, -50.0, 2.0, 4.0, 150.0, 120.0, -50.0],
            RegularBursting => [200.0, 10.0, -58.0, -50.0, 2.0, 2.0, 120.0, 100.0, -46.0],
            DelayedAccelerating => [200.0, 12.0, -70.0, -50.0, 2.0, -10.0, 300.0, 0.0, -58.0],
            DelayedRegularBursting => [100.0, 10.0, -65.0, -50.0, 2.0, -10.0, 90.0, 30.0, -47.0],
            Transient => [100.0, 10.0, -65.0, -50.0, 2.0, 10.0, 90.0, 100.0, -47.0],
            Irregular => [100.0, 12.0, -60.0, -50.0, 2.0, -11.0, 130.0, 30.0, -48.0],
        }
    }

    /// The step current (pA) of Naud et al. (2008) that shows the pattern.
    pub fn step_current_pa(self) -> f64 {
        use AdExPreset::*;
        match self {
            Tonic | Adapting => 500.0,
            InitialBurst => 400.0,
            RegularBursting => 210.0,
            DelayedAccelerating => 300.0,
            DelayedRegularBursting => 110.0,
            Transient => 350.0,
            Irregular => 160.0,
        }
    }
}

/// How synaptic weights enter an AdEx neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdExSynapse {
    /// Exponentially decaying currents; weights in pA (negative for inhibition).
    #[default]
    Current,
    /// Exponentially decaying conductances; weights in nS (>= 0).
    Conductance,
}

/// Parameters of [`crate::model::NeuronModel::AdEx`] (model-file table `adex`).
/// Unset membrane parameters come from `preset` (default: Brette & Gerstner
/// 2005's regular spiking cell, `C` 281 pF, `g_L` 30 nS, `E_L` -70.6 mV, `V_T`
/// -50.4 mV, `Δ_T` 2 mV, `a` 4 nS, `τ_w` 144 ms, `b` 80.5 pA, `V_r` -70.6 mV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AdExParams {
    /// A Naud et al. (2008) firing pattern giving the membrane parameters.
    pub preset: Option<AdExPreset>,
    /// Membrane capacitance, pF.
    pub c_m_pf: Option<f64>,
    /// Leak conductance, nS.
    pub g_l_ns: Option<f64>,
    /// Leak reversal, mV.
    pub e_l_mv: Option<f64>,
    /// Exponential threshold V_T, mV.
    pub v_t_mv: Option<f64>,
    /// Slope factor Δ_T, mV.
    pub delta_t_mv: Option<f64>,
    /// Subthreshold adaptation a, nS.
    pub a_ns: Option<f64>,
    /// Adaptation time constant, ms.
    pub tau_w_ms: Option<f64>,
    /// Spike-triggered adaptation b, pA.
    pub b_pa: Option<f64>,
    /// Reset potential V_r, mV.
    pub v_reset_mv: Option<f64>,
    /// Spike cut-off, mV (default 0, NEST's).
    pub v_peak_mv: f64,
    /// Refractory period, ms (default 0).
    pub t_ref_ms: f64,
    /// Synapse type (default current).
    pub synapse: AdExSynapse,
    /// Excitatory synaptic time constant, ms (default 5).
    pub tau_syn_exc_ms: f64,
    /// Inhibitory synaptic time constant, ms (default 10).
    pub tau_syn_inh_ms: f64,
    /// Excitatory reversal for conductance synapses, mV (default 0).
    pub e_exc_mv: f64,
    /// Inhibitory reversal for conductance synapses, mV (default -80).
    pub e_inh_mv: f64,
    /// Constant bias current, pA (default 0).
    pub i_bias_pa: f64,
}

impl Default for AdExParams {
    fn default() -> Self {
        AdExParams {
            preset: None,
            c_m_pf: None,
            g_l_ns: None,
            e_l_mv: None,
            v_t_mv: None,
            delta_t_mv: None,
            a_ns: None,
            tau_w_ms: None,
            b_pa: None,
            v_reset_mv: None,
            v_peak_mv: 0.0,
            t_ref_ms: 0.0,
            synapse: AdExSynapse::Current,
            tau_syn_exc_ms: 5.0,
            tau_syn_inh_ms: 10.0,
            e_exc_mv: 0.0,
            e_inh_mv: -80.0,
            i_bias_pa: 0.0,
        }
    }
}

/// Names of the membrane parameters, in [`AdExPreset::values`] order.
const MEMBRANE: [&str; 9] = [
    "c_m_pf",
    "g_l_ns",
    "e_l_mv",
    "v_t_mv",
    "delta_t_mv",
    "a_ns",
    "tau_w_ms",
    "b_pa",
    "v_reset_mv",
];

impl AdExParams {
    /// The parameters of a preset.
    pub fn preset(p: AdExPreset) -> Self {
        AdExParams {
            preset: Some(p),
            ..Default::default()
        }
    }

    /// The membrane parameters after applying the preset, in [`AdExPreset::values`] order.
    pub fn membrane(&self) -> [f64; 9] {
        let base = match self.preset {
            Some(p) => p.values(),
            None => [281.0, 30.0, -70.6, -50.4, 2.0, 4.0, 144.0, 80.5, -70.6],
        };
        let set = [
            self.c_m_pf,
            self.g_l_ns,
            self.e_l_mv,
            self.v_t_mv,
            self.delta_t_mv,
            self.a_ns,
            self.tau_w_ms,
            self.b_pa,
            self.v_reset_mv,
        ];
        std::array::from_fn(|i| set[i].unwrap_or(base[i]))
    }

    /// Step constants for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> AdExConsts {
        let [c, g_l, e_l, v_t, delta_t, a, tau_w, b, v_r] = self.membrane();
        AdExConsts {
            dt_over_c: (dt_ms / c) as f32,
            g_l: g_l as f32,
            g_l_delta_t: (g_l * delta_t) as f32,
            e_l: e_l as f32,
            v_t: v_t as f32,
            inv_delta_t: (1.0 / delta_t) as f32,
            dt_over_tau_w: (dt_ms / tau_w) as f32,
            a: a as f32,
            b: b as f32,
            v_reset: v_r as f32,
            v_peak: self.v_peak_mv as f32,
            e_exc: self.e_exc_mv as f32,
            e_inh: self.e_inh_mv as f32,
            decay_exc: (-dt_ms / self.tau_syn_exc_ms).exp() as f32,
            decay_inh: (-dt_ms / self.tau_syn_inh_ms).exp() as f32,
            i_bias: self.i_bias_pa as f32,
            ref_steps: crate::neuron::ref_steps(self.t_ref_ms, dt_ms),
            conductance: (self.synapse == AdExSynapse::Conductance) as u32,
            _pad: [0; 2],
        }
    }
}

/// Per-step constants of an AdEx population; the GPU reads the same block
/// (`Params` of shaders/neuron_adex.wgsl).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AdExConsts {
    /// dt / C, ms/pF.
    pub dt_over_c: f32,
    /// Leak conductance, nS.
    pub g_l: f32,
    /// g_L·Δ_T, nS·mV.
    pub g_l_delta_t: f32,
    /// Leak reversal, mV.
    pub e_l: f32,
    /// Exponential threshold, mV.
    pub v_t: f32,
    /// 1/Δ_T, 1/mV.
    pub inv_delta_t: f32,
    /// dt / τ_w.
    pub dt_over_tau_w: f32,
    /// Subthreshold adaptation, nS.
    pub a: f32,
    /// Spike-triggered adaptation, pA.
    pub b: f32,
    /// Reset, mV.
    pub v_reset: f32,
    /// Spike cut-off, mV.
    pub v_peak: f32,
    /// Excitatory reversal, mV.
    pub e_exc: f32,
    /// Inhibitory reversal, mV.
    pub e_inh: f32,
    /// Excitatory synaptic decay per step.
    pub decay_exc: f32,
    /// Inhibitory synaptic decay per step.
    pub decay_inh: f32,
    /// Bias current, pA.
    pub i_bias: f32,
    /// Refractory period in steps.
    pub ref_steps: i32,
    /// 1: conductance synapses, 0: current synapses.
    pub conductance: u32,
    /// Pads the block to 16 bytes (WGSL uniform layout).
    pub _pad: [u32; 2],
}

/// `exp(x)` from basic f32 operations only (Cephes' range reduction, a degree-6
/// Taylor polynomial, a power of two from the exponent bits), so that the shader
/// computes the same bits; relative error below 5e-7 (a few ulp) on `[-87, 88]`,
/// where `x` is clamped.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let kf = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = (x - kf * 0.693_359_4) - kf * -2.121_944_4e-4;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_888_9)))));
    p * f32::from_bits(((kf as i32 + 127) as u32) << 23)
}

/// State of an AdEx population.
#[derive(Debug, Clone, Default)]
pub struct AdExState {
    /// Membrane potential, mV.
    pub v: Vec<f32>,
    /// Adaptation current, pA.
    pub w: Vec<f32>,
    /// Excitatory synaptic current (pA) or conductance (nS).
    pub syn_exc: Vec<f32>,
    /// Inhibitory synaptic current (pA) or conductance (nS).
    pub syn_inh: Vec<f32>,
    /// Remaining refractory steps.
    pub refrac: Vec<i32>,
}

/// Mutable slices of an [`AdExState`].
pub struct AdExView<'a> {
    v: &'a mut [f32],
    w: &'a mut [f32],
    syn_exc: &'a mut [f32],
    syn_inh: &'a mut [f32],
    refrac: &'a mut [i32],
}

/// One step (see [`crate::neuron::registry::Kernel`]); returns false when v or w
/// became non-finite.
#[allow(clippy::too_many_arguments)]
pub fn update(
    k: &AdExConsts,
    s: AdExView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    inv: [f32; 2],
    i_ext: Option<&[f32]>,
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.v.len();
    assert!(s.w.len() == n && s.syn_exc.len() == n && s.syn_inh.len() == n);
    assert!(s.refrac.len() == n && ring_exc.len() == n && ring_inh.len() == n);
    assert!(i_ext.is_none_or(|x| x.len() == n));
    let mut ok = true;
    for i in 0..n {
        let e = s.syn_exc[i] + ring_exc[i] as f32 * inv[0];
        let h = s.syn_inh[i] + ring_inh[i] as f32 * inv[1];
        ring_exc[i] = 0;
        ring_inh[i] = 0;
        let v = s.v[i];
        let w = s.w[i];
        let r = s.refrac[i];
        let i_syn = if k.conductance != 0 {
            e * (k.e_exc - v) + h * (k.e_inh - v)
        } else {
            e + h
        };
        let x = i_ext.map_or(0.0, |x| x[i]);
        let spike_current = k.g_l_delta_t * exp_f32((v - k.v_t) * k.inv_delta_t);
        let dv = k.g_l * (k.e_l - v) + spike_current - w + i_syn + x + k.i_bias;
        let v1 = v + k.dt_over_c * dv;
        let w1 = w + k.dt_over_tau_w * (k.a * (v - k.e_l) - w);
        let awake = r <= 0;
        let spk = awake && v1 >= k.v_peak;
        let vn = if awake && !spk { v1 } else { k.v_reset };
        let wn = if spk { w1 + k.b } else { w1 };
        s.v[i] = vn;
        s.w[i] = wn;
        s.refrac[i] = if spk { k.ref_steps } else { (r - 1).max(0) };
        s.syn_exc[i] = e * k.decay_exc;
        s.syn_inh[i] = h * k.decay_inh;
        if spk {
            spikes.push(base + i as u32);
        }
        ok &= vn.is_finite() && wn.is_finite();
    }
    ok
}

impl crate::neuron::NeuronType for AdExParams {
    type Pop = crate::neuron::Pop<AdExConsts, AdExState>;
    const STATE: &'static [crate::neuron::StateVar] = &[
        crate::neuron::StateVar::new("v", "mV"),
        crate::neuron::StateVar::new("w", "pA"),
        crate::neuron::StateVar::new("syn_exc", "pA"),
        crate::neuron::StateVar::new("syn_inh", "pA"),
    ];

    fn unit(&self, var: &str) -> Option<&'static str> {
        match var {
            "syn_exc" | "syn_inh" if self.synapse == AdExSynapse::Conductance => Some("nS"),
            _ => Self::STATE.iter().find(|s| s.name == var).map(|s| s.unit),
        }
    }

    fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        let m = self.membrane();
        for (field, v) in MEMBRANE.iter().zip(m) {
            match *field {
                "c_m_pf" | "g_l_ns" | "delta_t_mv" | "tau_w_ms" => {
                    crate::neuron::positive(&mut out, field, v)
                }
                _ => crate::neuron::finite(&mut out, field, v),
            }
        }
        crate::neuron::positive(&mut out, "tau_syn_exc_ms", self.tau_syn_exc_ms);
        crate::neuron::positive(&mut out, "tau_syn_inh_ms", self.tau_syn_inh_ms);
        crate::neuron::non_negative(&mut out, "t_ref_ms", self.t_ref_ms);
        crate::neuron::finite(&mut out, "e_exc_mv", self.e_exc_mv);
        crate::neuron::finite(&mut out, "e_inh_mv", self.e_inh_mv);
        crate::neuron::finite(&mut out, "i_bias_pa", self.i_bias_pa);
        if !(m[8] < self.v_peak_mv && m[3] < self.v_peak_mv) {
            out.push((
                "v_peak_mv",
                format!(
                    "must be above v_reset_mv ({}) and v_t_mv ({}), got {}",
                    m[8], m[3], self.v_peak_mv
                ),
            ));
        }
        out
    }

    fn explicit(&self) -> Self {
        let m = self.membrane().map(Some);
        AdExParams {
            c_m_pf: m[0],
            g_l_ns: m[1],
            e_l_mv: m[2],
            v_t_mv: m[3],
            delta_t_mv: m[4],
            a_ns: m[5],
            tau_w_ms: m[6],
            b_pa: m[7],
            v_reset_mv: m[8],
            ..self.clone()
        }
    }

    fn receptors(&self) -> [crate::neuron::registry::ReceptorSpec; 2] {
        let unit = match self.synapse {
            AdExSynapse::Current => "pA",
            AdExSynapse::Conductance => "nS",
        };
        crate::neuron::registry::ReceptorSpec::pair("syn_exc", "syn_inh", unit)
    }

    fn build(&self, dt_ms: f64, draw: &mut crate::neuron::Draw<'_>) -> Self::Pop {
        let e_l = self.membrane()[2];
        let s = AdExState {
            v: draw.state("v", e_l),
            w: draw.state("w", 0.0),
            syn_exc: draw.state("syn_exc", 0.0),
            syn_inh: draw.state("syn_inh", 0.0),
            refrac: vec![0; draw.n],
        };
        crate::neuron::Pop {
            k: self.derive(dt_ms),
            s,
        }
    }
}

impl crate::neuron::NeuronKernel for crate::neuron::Pop<AdExConsts, AdExState> {
    type Consts = AdExConsts;
    type View<'a> = AdExView<'a>;
    const CHECKED: &'static str = "v/w";
    const SHADER: &'static str = "neuron_adex.wgsl";
    const SOURCE: &'static str = neuron_wgsl!("neuron_adex.wgsl");
    const GPU_VARS: &'static [&'static str] = &["v", "w", "syn_exc", "syn_inh", "refrac"];

    fn chunks(&mut self, lens: &[usize]) -> (&AdExConsts, Vec<AdExView<'_>>) {
        let s = &mut self.s;
        let v = crate::neuron::split_mut(&mut s.v, lens);
        let w = crate::neuron::split_mut(&mut s.w, lens);
        let e = crate::neuron::split_mut(&mut s.syn_exc, lens);
        let h = crate::neuron::split_mut(&mut s.syn_inh, lens);
        let r = crate::neuron::split_mut(&mut s.refrac, lens);
        let views = v
            .into_iter()
            .zip(w)
            .zip(e.into_iter().zip(h))
            .zip(r)
            .map(|(((v, w), (syn_exc, syn_inh)), refrac)| AdExView {
                v,
                w,
                syn_exc,
                syn_inh,
                refrac,
            })
            .collect();
        (&self.k, views)
    }

    fn whole(&mut self) -> (&AdExConsts, AdExView<'_>) {
        let s = &mut self.s;
        let view = AdExView {
            v: &mut s.v,
            w: &mut s.w,
            syn_exc: &mut s.syn_exc,
            syn_inh: &mut s.syn_inh,
            refrac: &mut s.refrac,
        };
        (&self.k, view)
    }

    fn update(
        k: &AdExConsts,
        s: AdExView<'_>,
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
        let src: &[f32] = match var {
            "v" => &self.s.v,
            "w" => &self.s.w,
            "syn_exc" => &self.s.syn_exc,
            "syn_inh" => &self.s.syn_inh,
            _ => return false,
        };
        crate::neuron::registry::copy_into(out, src)
    }

    fn bytes_per_neuron(&self) -> usize {
        20
    }

    fn gpu_params(&self) -> Vec<u8> {
        bytemuck::bytes_of(&self.k).to_vec()
    }

    fn gpu_state(&self) -> Vec<u32> {
        let s = &self.s;
        let floats = [&s.v[..], &s.w, &s.syn_exc, &s.syn_inh].concat();
        let words = floats.into_iter().map(f32::to_bits);
        words.chain(s.refrac.iter().map(|&r| r as u32)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_5e_7_of_the_exact_exp() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp_f32(x) as f64, (x as f64).exp());
            assert!(
                (got / want - 1.0).abs() < 5e-7,
                "exp({x}) = {got}, exact {want}"
            );
            x += 0.0137;
        }
        assert_eq!(exp_f32(1000.0), exp_f32(88.0));
        assert!(exp_f32(-1000.0) > 0.0);
    }

    #[test]
    fn parameters_are_checked_with_their_fields() {
        let bad = AdExParams {
            delta_t_mv: Some(0.0),
            v_peak_mv: -60.0,
            ..Default::default()
        };
        let fields: Vec<_> = crate::neuron::NeuronType::check(&bad)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["delta_t_mv", "v_peak_mv"]);
    }
}
