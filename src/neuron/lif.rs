//! Current-based leaky integrate-and-fire neuron, integrated exactly.
//!
//! `C dV/dt = -C (V - E_L)/tau_m + I_exc + I_inh + I_ext + I_bias`, with
//! exponentially decaying synaptic currents (`dI/dt = -I/tau_syn`, weights in pA)
//! or delta synapses (weights in mV, added to V on arrival). The linear system is
//! integrated with its exact propagator (Rotter & Diesmann 1999, as NEST's
//! `iaf_psc_exp`), so a trace under constant input equals the closed form at every
//! step. After a spike V is clamped to `v_reset_mv` for `t_ref_ms`; synaptic
//! currents keep decaying and delta inputs arriving during that time are dropped
//! (or kept, see [`LifParams::refractory_input`]). Whether a step's synaptic input
//! enters the state before or after that step's threshold test (NEST or Brian2)
//! is [`LifParams::input_order`].
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

/// When a step's synaptic input (its delay-ring slot: recurrent spikes and
/// Poisson drives) enters the state, relative to that step's threshold test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputOrder {
    /// Input, then leak and threshold test (as NEST's `iaf_psc_delta`): the
    /// input of step t can make the neuron fire at t.
    #[default]
    BeforeThreshold,
    /// Leak, threshold test, then input, then reset (Brian2's default schedule:
    /// `groups` → `thresholds` → `synapses` → `resets`; for exponential
    /// currents also NEST's `iaf_psc_exp`, which adds a step's input to the
    /// current after updating V): the input of step t acts from step t + 1 on,
    /// and is wiped by the reset if the neuron fired at t.
    AfterThreshold,
}

/// Parameters of [`crate::model::NeuronModel::Lif`] (defaults in brackets).
///
/// Built from the default with one setter per field (it may gain fields, so
/// it is `#[non_exhaustive]`):
///
/// ```
/// use astroglia::model::LifParams;
/// let p = LifParams::default().c_m_pf(200.0).tau_m_ms(20.0).v_th_mv(-50.0);
/// assert_eq!((p.c_m_pf, p.tau_m_ms, p.e_l_mv), (200.0, 20.0, -65.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LifParams {
    /// Membrane capacitance, pF (default 250).
    pub c_m_pf: f64,
    /// Membrane time constant, ms (default 10); `inf` makes a perfect
    /// integrator without leak (NIR's IF and I).
    pub tau_m_ms: f64,
    /// Resting (leak reversal) potential, mV (default -65).
    pub e_l_mv: f64,
    /// Reset potential, mV (default -65).
    pub v_reset_mv: f64,
    /// Threshold, mV (default -50).
    pub v_th_mv: f64,
    /// Absolute refractory period, ms (default 2).
    pub t_ref_ms: f64,
    /// Constant bias current, pA (default 0).
    pub i_bias_pa: f64,
    /// Synapse type (default exponential).
    pub synapse: SynapseKind,
    /// Excitatory synaptic time constant, ms (default 5).
    pub tau_syn_exc_ms: f64,
    /// Inhibitory synaptic time constant, ms (default 5).
    pub tau_syn_inh_ms: f64,
    /// Where a step's synaptic input enters, `"before_threshold"` (default: as
    /// NEST's `iaf_psc_delta`) or `"after_threshold"` (Brian2). One step of
    /// a neuron that is not refractory, with `in` this step's input (mV for delta
    /// synapses, pA for exponential ones), `drive = i_ext + i_bias_pa`, `p33 =
    /// exp(-dt/tau_m)`, `p30`, `p32`, `p22` the propagator entries, f32 operations
    /// in this order (CPU and GPU alike):
    ///
    /// - `before_threshold`, delta: `V ← E_L + (V + in_exc + in_inh − E_L)·p33 +
    ///   drive·p30 (+ I·p32 terms)`; spike if `V ≥ v_th_mv`, then `V ← v_reset_mv`.
    /// - `after_threshold`, delta: `V ← E_L + (V − E_L)·p33 + drive·p30 (+ I·p32
    ///   terms)`; spike if `V ≥ v_th_mv` (then `V ← v_reset_mv`, the input is
    ///   lost), else `V ← V + in_exc + in_inh` (Brian2's `on_pre: v += w`).
    /// - `before_threshold`, exponential: `I ← I + in`, then `V ← E_L + (V −
    ///   E_L)·p33 + drive·p30 + I_exc·p32_exc + I_inh·p32_inh`, threshold, reset,
    ///   `I ← I·p22`: the input moves V within its own step.
    /// - `after_threshold`, exponential: V as above with the currents before the
    ///   input, threshold, reset, then `I ← I·p22 + in` (Brian2's `on_pre: I +=
    ///   w`, and the order of NEST's `iaf_psc_exp`): the input first moves V at
    ///   the next step.
    ///
    /// Refractory steps: see `refractory_input`.
    pub input_order: InputOrder,
    /// Whether delta-synapse input arriving while the neuron is refractory is
    /// kept (`true`, NEST's `refractory_input = True`) or dropped (default
    /// `false`: NEST's default and Brian2's, whose `(unless refractory)` V ignores
    /// synaptic writes). Only for `synapse = "delta"` (exponential currents
    /// always integrate their input, refractory or not). With `true`, a
    /// refractory step does `V ← v_reset_mv + (V + in_exc + in_inh −
    /// v_reset_mv)·p33` (`before_threshold`) or `V ← v_reset_mv + (V −
    /// v_reset_mv)·p33 + in_exc + in_inh` (`after_threshold`) instead of `V ←
    /// v_reset_mv`: the input received during the refractory period leaks with
    /// tau_m from its arrival and is in V when the neuron becomes active again,
    /// as NEST adds its buffer of inputs each decayed by `exp(-r·dt/tau_m)` (r:
    /// refractory steps left at arrival) at the end of the period (here with the
    /// order's own convention, so an input decays exactly as much as one arriving
    /// at an active step). So while refractory `v` reads `v_reset_mv` plus the
    /// input held so far; the drive and the threshold are off as before. Input
    /// arriving at the step the neuron fires is lost in either case (the reset
    /// follows it).
    pub refractory_input: bool,
}

/// One setter per field, `name(value) -> Self`, each documented by its field.
macro_rules! setters {
    ($ty:ident { $($field:ident: $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets [`Self::", stringify!($field), "`](#structfield.", stringify!($field), ").")]
                pub fn $field(mut self, value: $t) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

setters!(LifParams {
    c_m_pf: f64,
    tau_m_ms: f64,
    e_l_mv: f64,
    v_reset_mv: f64,
    v_th_mv: f64,
    t_ref_ms: f64,
    i_bias_pa: f64,
    synapse: SynapseKind,
    tau_syn_exc_ms: f64,
    tau_syn_inh_ms: f64,
    input_order: InputOrder,
    refractory_input: bool,
});

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
            input_order: InputOrder::BeforeThreshold,
            refractory_input: false,
        }
    }
}

impl LifParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        super::positive(&mut out, "c_m_pf", self.c_m_pf);
        // An infinite tau_m is a perfect (non-leaky) integrator: NIR's IF and I.
        if !(self.tau_m_ms > 0.0) {
            out.push((
                "tau_m_ms",
                format!("must be a positive number or inf, got {}", self.tau_m_ms),
            ));
        }
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
        if self.refractory_input && self.synapse != SynapseKind::Delta {
            out.push((
                "refractory_input",
                "applies only to synapse = \"delta\" (exponential synaptic currents \
                 take their input during the refractory period anyway)"
                    .into(),
            ));
        }
        out
    }

    /// The exact propagator entries for step `dt_ms` in f64:
    /// `[p33, p30, p32_exc, p32_inh, p22_exc, p22_inh]` (see `LifConsts`).
    pub fn propagator(&self, dt_ms: f64) -> [f64; 6] {
        let p33 = (-dt_ms / self.tau_m_ms).exp();
        // tau_m = inf: the limits of the expressions below (no leak).
        let no_leak = self.tau_m_ms.is_infinite();
        let p30 = if no_leak {
            dt_ms / self.c_m_pf
        } else {
            self.tau_m_ms / self.c_m_pf * (1.0 - p33)
        };
        let p32 = |tau_s: f64| {
            let p22 = (-dt_ms / tau_s).exp();
            if no_leak {
                tau_s / self.c_m_pf * (1.0 - p22)
            } else if (tau_s - self.tau_m_ms).abs() < 1e-12 {
                dt_ms / self.c_m_pf * p33
            } else {
                tau_s * self.tau_m_ms / (self.c_m_pf * (tau_s - self.tau_m_ms)) * (p22 - p33)
            }
        };
        [
            p33,
            p30,
            p32(self.tau_syn_exc_ms),
            p32(self.tau_syn_inh_ms),
            (-dt_ms / self.tau_syn_exc_ms).exp(),
            (-dt_ms / self.tau_syn_inh_ms).exp(),
        ]
    }

    /// Step constants for step `dt_ms`, computed once in f64.
    pub fn derive(&self, dt_ms: f64) -> LifConsts {
        let [p33, p30, p32_exc, p32_inh, p22_exc, p22_inh] = self.propagator(dt_ms);
        LifConsts {
            e_l: self.e_l_mv as f32,
            v_reset: self.v_reset_mv as f32,
            v_th: self.v_th_mv as f32,
            p33: p33 as f32,
            p30: p30 as f32,
            p32_exc: p32_exc as f32,
            p32_inh: p32_inh as f32,
            p22_exc: p22_exc as f32,
            p22_inh: p22_inh as f32,
            i_bias: self.i_bias_pa as f32,
            ref_steps: super::ref_steps(self.t_ref_ms, dt_ms),
            delta: self.synapse == SynapseKind::Delta,
            after: self.input_order == InputOrder::AfterThreshold,
            keep: self.refractory_input && self.synapse == SynapseKind::Delta,
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
    /// The step's input enters after the threshold test ([`InputOrder::AfterThreshold`]).
    pub after: bool,
    /// Delta input during the refractory period is kept
    /// ([`LifParams::refractory_input`]; only with `delta`).
    pub keep: bool,
}

/// State of a LIF population, structure of arrays.
#[derive(Debug, Clone, Default)]
pub struct LifState {
    /// Membrane potential, mV.
    pub v: super::AlignedVec<f32>,
    /// Excitatory synaptic current, pA.
    pub i_exc: super::AlignedVec<f32>,
    /// Inhibitory synaptic current, pA.
    pub i_inh: super::AlignedVec<f32>,
    /// Clock step from which each neuron may fire again: refractory while
    /// `until > now` (see [`super::CLOCK_LIMIT`]). Never negative.
    pub until: super::AlignedVec<i32>,
    /// The state's clock: steps taken since it was built or last rebased
    /// (always below [`super::CLOCK_LIMIT`]).
    pub now: i32,
}

/// Mutable slices of a [`LifState`] (a whole population or a chunk of it).
pub struct LifView<'a> {
    /// Membrane potential.
    pub v: &'a mut [f32],
    /// Excitatory current.
    pub i_exc: &'a mut [f32],
    /// Inhibitory current.
    pub i_inh: &'a mut [f32],
    /// Clock step from which each neuron may fire again.
    pub until: &'a mut [i32],
    /// The state's clock at this step.
    pub now: i32,
}

impl LifState {
    /// Views the whole state.
    pub fn view(&mut self) -> LifView<'_> {
        LifView {
            v: &mut self.v,
            i_exc: &mut self.i_exc,
            i_inh: &mut self.i_inh,
            until: &mut self.until,
            now: self.now,
        }
    }

    /// Views the state as slices split into chunks of the given lengths.
    pub fn chunks(&mut self, lens: &[usize]) -> Vec<LifView<'_>> {
        let now = self.now;
        let v = super::split_mut(&mut self.v, lens);
        let e = super::split_mut(&mut self.i_exc, lens);
        let i = super::split_mut(&mut self.i_inh, lens);
        let r = super::split_mut(&mut self.until, lens);
        v.into_iter()
            .zip(e)
            .zip(i)
            .zip(r)
            .map(|(((v, i_exc), i_inh), until)| LifView {
                v,
                i_exc,
                i_inh,
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

/// One step: takes this step's synaptic input from the ring slots (fixed point,
/// cleared after reading), integrates exactly, thresholds and resets. `i_ext` is
/// the external current of the step, `None` when the population has none (all
/// zero). Spiking indices (`base` + local) are appended to `spikes`. Returns false
/// if a membrane potential became non-finite.
#[allow(clippy::too_many_arguments)]
pub fn update(
    k: &LifConsts,
    s: LifView<'_>,
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
    k: &LifConsts,
    s: LifView<'_>,
    re: &mut [i32],
    ri: &mut [i32],
    inv: [f32; 2],
    i_ext: Option<&[f32]>,
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.v.len();
    assert!(s.i_exc.len() == n && s.i_inh.len() == n && s.until.len() == n);
    assert!(re.len() == n && ri.len() == n);
    assert!(i_ext.is_none_or(|x| x.len() == n));
    assert!((0..super::CLOCK_LIMIT).contains(&s.now) && k.ref_steps < super::CLOCK_LIMIT);
    let x = i_ext.unwrap_or(&[]);
    if k.after || k.keep {
        // The non-default orders: the portable kernel, monomorphised per option
        // (chosen once per call, so the default loops below are unchanged).
        return match (k.after, k.keep, i_ext.is_some()) {
            (false, false, _) => unreachable!(),
            (false, true, false) => {
                update_blocks::<false, false, true>(k, s, re, ri, inv, x, base, spikes)
            }
            (false, true, true) => {
                update_blocks::<true, false, true>(k, s, re, ri, inv, x, base, spikes)
            }
            (true, false, false) => {
                update_blocks::<false, true, false>(k, s, re, ri, inv, x, base, spikes)
            }
            (true, false, true) => {
                update_blocks::<true, true, false>(k, s, re, ri, inv, x, base, spikes)
            }
            (true, true, false) => {
                update_blocks::<false, true, true>(k, s, re, ri, inv, x, base, spikes)
            }
            (true, true, true) => {
                update_blocks::<true, true, true>(k, s, re, ri, inv, x, base, spikes)
            }
        };
    }
    macro_rules! kernel {
        ($m:ident) => {
            // SAFETY: the CPU supports the extension (`simd()` checked it) and every
            // slice has length n (asserted above; `x` only when it is `Some`).
            unsafe {
                match (k.delta, i_ext.is_some()) {
                    (false, false) => {
                        $m::update::<false, false>(k, s, re, ri, inv, x, base, spikes)
                    }
                    (false, true) => $m::update::<false, true>(k, s, re, ri, inv, x, base, spikes),
                    (true, false) => $m::update::<true, false>(k, s, re, ri, inv, x, base, spikes),
                    (true, true) => $m::update::<true, true>(k, s, re, ri, inv, x, base, spikes),
                }
            }
        };
    }
    match simd {
        #[cfg(all(target_arch = "x86_64", avx512_kernels))]
        super::Simd::Avx512 => kernel!(avx512),
        #[cfg(target_arch = "x86_64")]
        super::Simd::Avx2 => kernel!(avx2),
        _ => match i_ext {
            Some(x) => update_blocks::<true, false, false>(k, s, re, ri, inv, x, base, spikes),
            None => update_blocks::<false, false, false>(k, s, re, ri, inv, &[], base, spikes),
        },
    }
}

/// Without `EXT`, `x` is empty and the external current is 0. `AFTER`: input
/// after the threshold test; `KEEP`: delta input kept while refractory (only
/// acts with delta synapses).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn update_blocks<const EXT: bool, const AFTER: bool, const KEEP: bool>(
    k: &LifConsts,
    s: LifView<'_>,
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
        let args = (
            &mut s.v[a..b],
            &mut s.i_exc[a..b],
            &mut s.i_inh[a..b],
            &mut s.until[a..b],
            &mut ring_exc[a..b],
            &mut ring_inh[a..b],
            if EXT { &x[a..b] } else { &[][..] },
        );
        ok &= if k.delta {
            block::<true, EXT, AFTER, KEEP>(k, args, s.now, inv, f)
        } else {
            block::<false, EXT, AFTER, false>(k, args, s.now, inv, f)
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
/// The arithmetic of each order is documented at [`LifParams::input_order`] and
/// [`LifParams::refractory_input`]; shaders/neuron_lif.wgsl does the same.
#[inline(always)]
fn block<const DELTA: bool, const EXT: bool, const AFTER: bool, const KEEP: bool>(
    k: &LifConsts,
    s: Slices<'_>,
    now: i32,
    inv: [f32; 2],
    flags: &mut [u8],
) -> bool {
    let (v, ie, ii, until, re, ri, x) = s;
    let n = v.len();
    assert!(ie.len() == n && ii.len() == n && until.len() == n);
    let after_spike = super::until_after_spike(k.ref_steps, now);
    assert!(re.len() == n && ri.len() == n && flags.len() == n && (!EXT || x.len() == n));
    let mut bad = false;
    for i in 0..n {
        let in_e = re[i] as f32 * inv[0];
        let in_i = ri[i] as f32 * inv[1];
        re[i] = 0;
        ri[i] = 0;
        let active = until[i] <= now;
        let (mut v0, mut e, mut h) = (v[i], ie[i], ii[i]);
        if AFTER {
            // The input enters below, after the threshold test.
        } else if DELTA && KEEP {
            v0 = v0 + in_e + in_i;
        } else if DELTA {
            // Delta inputs arriving during the refractory period are dropped.
            v0 = if active { v0 + in_e + in_i } else { v0 };
        } else {
            e = e + in_e;
            h = h + in_i;
        }
        let drive = if EXT { x[i] } else { 0.0 } + k.i_bias;
        let v1 = k.e_l + (v0 - k.e_l) * k.p33 + drive * k.p30 + e * k.p32_exc + h * k.p32_inh;
        let spk = active & (v1 >= k.v_th);
        let vn = if DELTA && (AFTER || KEEP) {
            let live = if AFTER { v1 + in_e + in_i } else { v1 };
            let held = if !KEEP {
                k.v_reset
            } else if AFTER {
                k.v_reset + (v0 - k.v_reset) * k.p33 + in_e + in_i
            } else {
                k.v_reset + (v0 - k.v_reset) * k.p33
            };
            if active & !spk {
                live
            } else if active {
                k.v_reset
            } else {
                held
            }
        } else if active & !spk {
            v1
        } else {
            k.v_reset
        };
        v[i] = vn;
        until[i] = if spk { after_spike } else { until[i] };
        if AFTER && !DELTA {
            ie[i] = e * k.p22_exc + in_e;
            ii[i] = h * k.p22_inh + in_i;
        } else {
            ie[i] = e * k.p22_exc;
            ii[i] = h * k.p22_inh;
        }
        flags[i] = spk as u8;
        bad |= !vn.is_finite();
    }
    !bad
}

/// The constant part of the drive without external current: the reference
/// computes `(0.0 + i_bias) * p30` for every neuron, the same value each time.
#[cfg(target_arch = "x86_64")]
fn const_drive(k: &LifConsts) -> f32 {
    (0.0 + k.i_bias) * k.p30
}

/// Hand-written AVX2 version of [`block`]: the same IEEE operations on 8 neurons
/// at a time (see the conductance-based kernel for what it saves).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LifConsts, LifView};
    use crate::neuron::SpikeSink;
    use crate::neuron::until_after_spike;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2, and every slice must have the length of `s.v`
    /// (`x` only when `EXT`).
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn update<const DELTA: bool, const EXT: bool>(
        k: &LifConsts,
        s: LifView<'_>,
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
            let e_l = _mm256_set1_ps(k.e_l);
            let p33 = _mm256_set1_ps(k.p33);
            let p30 = _mm256_set1_ps(k.p30);
            let i_bias = _mm256_set1_ps(k.i_bias);
            let drive_term = _mm256_set1_ps(super::const_drive(k));
            let p32_e = _mm256_set1_ps(k.p32_exc);
            let p32_i = _mm256_set1_ps(k.p32_inh);
            let p22_e = _mm256_set1_ps(k.p22_exc);
            let p22_i = _mm256_set1_ps(k.p22_inh);
            let v_th = _mm256_set1_ps(k.v_th);
            let v_reset = _mm256_set1_ps(k.v_reset);
            let now = _mm256_set1_epi32(s.now);
            let after_spike = _mm256_set1_epi32(until_after_spike(k.ref_steps, s.now));
            let zero = _mm256_setzero_si256();
            let mut sum = _mm256_setzero_ps();
            let (v, ie, ii, until) = (
                s.v.as_mut_ptr(),
                s.i_exc.as_mut_ptr(),
                s.i_inh.as_mut_ptr(),
                s.until.as_mut_ptr(),
            );
            let (pe, pi, px) = (re.as_mut_ptr(), ri.as_mut_ptr(), x.as_ptr());
            let mut sink = SpikeSink::new(spikes, n);
            let mut i = 0;
            while i < body {
                // SAFETY (all pointer accesses): i + 8 <= n and every slice has length n.
                let in_e = _mm256_mul_ps(
                    _mm256_cvtepi32_ps(_mm256_loadu_si256(pe.add(i) as *const __m256i)),
                    inv_e,
                );
                let in_i = _mm256_mul_ps(
                    _mm256_cvtepi32_ps(_mm256_loadu_si256(pi.add(i) as *const __m256i)),
                    inv_i,
                );
                _mm256_storeu_si256(pe.add(i) as *mut __m256i, zero);
                _mm256_storeu_si256(pi.add(i) as *mut __m256i, zero);
                let u = _mm256_loadu_si256(until.add(i) as *const __m256i);
                let refractory = _mm256_castsi256_ps(_mm256_cmpgt_epi32(u, now));
                let mut v0 = _mm256_loadu_ps(v.add(i));
                let mut e = _mm256_loadu_ps(ie.add(i));
                let mut h = _mm256_loadu_ps(ii.add(i));
                if DELTA {
                    // Inputs arriving during the refractory period are dropped.
                    v0 = _mm256_blendv_ps(
                        _mm256_add_ps(_mm256_add_ps(v0, in_e), in_i),
                        v0,
                        refractory,
                    );
                } else {
                    e = _mm256_add_ps(e, in_e);
                    h = _mm256_add_ps(h, in_i);
                }
                let drive = if EXT {
                    _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(px.add(i)), i_bias), p30)
                } else {
                    drive_term
                };
                let v1 = _mm256_add_ps(
                    _mm256_add_ps(
                        _mm256_add_ps(
                            _mm256_add_ps(e_l, _mm256_mul_ps(_mm256_sub_ps(v0, e_l), p33)),
                            drive,
                        ),
                        _mm256_mul_ps(e, p32_e),
                    ),
                    _mm256_mul_ps(h, p32_i),
                );
                let spk = _mm256_andnot_ps(refractory, _mm256_cmp_ps::<_CMP_GE_OQ>(v1, v_th));
                let vn = _mm256_blendv_ps(v1, v_reset, _mm256_or_ps(refractory, spk));
                _mm256_storeu_ps(v.add(i), vn);
                _mm256_storeu_ps(ie.add(i), _mm256_mul_ps(e, p22_e));
                _mm256_storeu_ps(ii.add(i), _mm256_mul_ps(h, p22_i));
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
            let tail = LifView {
                v: &mut s.v[body..],
                i_exc: &mut s.i_exc[body..],
                i_inh: &mut s.i_inh[body..],
                until: &mut s.until[body..],
                now: s.now,
            };
            let x = if EXT { &x[body..] } else { x };
            let (re, ri) = (&mut re[body..], &mut ri[body..]);
            finite
                & super::update_blocks::<EXT, false, false>(
                    k,
                    tail,
                    re,
                    ri,
                    inv,
                    x,
                    base + body as u32,
                    spikes,
                )
        }
    }
}

/// AVX-512 version of [`block`], 16 neurons at a time (see the conductance-based
/// kernel).
#[cfg(all(target_arch = "x86_64", avx512_kernels))]
// Compiled only by Rust >= 1.89 (see build.rs), whatever the crate's rust-version.
#[allow(clippy::incompatible_msrv)]
mod avx512 {
    use super::{LifConsts, LifView};
    use crate::neuron::SpikeSink;
    use crate::neuron::until_after_spike;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX-512 F and DQ, and every slice must have the length
    /// of `s.v` (`x` only when `EXT`).
    #[target_feature(enable = "avx512f,avx512dq")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn update<const DELTA: bool, const EXT: bool>(
        k: &LifConsts,
        s: LifView<'_>,
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
            let e_l = _mm512_set1_ps(k.e_l);
            let p33 = _mm512_set1_ps(k.p33);
            let p30 = _mm512_set1_ps(k.p30);
            let i_bias = _mm512_set1_ps(k.i_bias);
            let drive_term = _mm512_set1_ps(super::const_drive(k));
            let p32_e = _mm512_set1_ps(k.p32_exc);
            let p32_i = _mm512_set1_ps(k.p32_inh);
            let p22_e = _mm512_set1_ps(k.p22_exc);
            let p22_i = _mm512_set1_ps(k.p22_inh);
            let v_th = _mm512_set1_ps(k.v_th);
            let v_reset = _mm512_set1_ps(k.v_reset);
            let now = _mm512_set1_epi32(s.now);
            let after_spike = _mm512_set1_epi32(until_after_spike(k.ref_steps, s.now));
            let zero = _mm512_setzero_si512();
            let mut sum = _mm512_setzero_ps();
            let (v, ie, ii, until) = (
                s.v.as_mut_ptr(),
                s.i_exc.as_mut_ptr(),
                s.i_inh.as_mut_ptr(),
                s.until.as_mut_ptr(),
            );
            let (pe, pi, px) = (re.as_mut_ptr(), ri.as_mut_ptr(), x.as_ptr());
            let mut sink = SpikeSink::new(spikes, n);
            let mut i = 0;
            while i < body {
                // SAFETY (all pointer accesses): i + 16 <= n and every slice has length n.
                let in_e = _mm512_mul_ps(
                    _mm512_cvtepi32_ps(_mm512_loadu_si512(pe.add(i) as *const _)),
                    inv_e,
                );
                let in_i = _mm512_mul_ps(
                    _mm512_cvtepi32_ps(_mm512_loadu_si512(pi.add(i) as *const _)),
                    inv_i,
                );
                _mm512_storeu_si512(pe.add(i) as *mut _, zero);
                _mm512_storeu_si512(pi.add(i) as *mut _, zero);
                let u = _mm512_loadu_si512(until.add(i) as *const _);
                let active = _mm512_cmple_epi32_mask(u, now);
                let mut v0 = _mm512_loadu_ps(v.add(i));
                let mut e = _mm512_loadu_ps(ie.add(i));
                let mut h = _mm512_loadu_ps(ii.add(i));
                if DELTA {
                    // Inputs arriving during the refractory period are dropped.
                    v0 = _mm512_mask_blend_ps(
                        active,
                        v0,
                        _mm512_add_ps(_mm512_add_ps(v0, in_e), in_i),
                    );
                } else {
                    e = _mm512_add_ps(e, in_e);
                    h = _mm512_add_ps(h, in_i);
                }
                let drive = if EXT {
                    _mm512_mul_ps(_mm512_add_ps(_mm512_loadu_ps(px.add(i)), i_bias), p30)
                } else {
                    drive_term
                };
                let v1 = _mm512_add_ps(
                    _mm512_add_ps(
                        _mm512_add_ps(
                            _mm512_add_ps(e_l, _mm512_mul_ps(_mm512_sub_ps(v0, e_l), p33)),
                            drive,
                        ),
                        _mm512_mul_ps(e, p32_e),
                    ),
                    _mm512_mul_ps(h, p32_i),
                );
                // spk = active & v1 >= v_th; keep (v1 stays) = active & !(v1 >= v_th).
                // Masked compares rather than mask logic: the compiler does the latter
                // in general registers, and the round trips cost more than a compare.
                let spk = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(active, v1, v_th);
                let keep = _mm512_mask_cmp_ps_mask::<_CMP_NGE_UQ>(active, v1, v_th);
                let vn = _mm512_mask_blend_ps(keep, v_reset, v1);
                _mm512_storeu_ps(v.add(i), vn);
                _mm512_storeu_ps(ie.add(i), _mm512_mul_ps(e, p22_e));
                _mm512_storeu_ps(ii.add(i), _mm512_mul_ps(h, p22_i));
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
            let tail = LifView {
                v: &mut s.v[body..],
                i_exc: &mut s.i_exc[body..],
                i_inh: &mut s.i_inh[body..],
                until: &mut s.until[body..],
                now: s.now,
            };
            let x = if EXT { &x[body..] } else { x };
            let (re, ri) = (&mut re[body..], &mut ri[body..]);
            finite
                & super::update_blocks::<EXT, false, false>(
                    k,
                    tail,
                    re,
                    ri,
                    inv,
                    x,
                    base + body as u32,
                    spikes,
                )
        }
    }
}

impl super::NeuronType for LifParams {
    type Pop = super::Pop<LifConsts, LifState>;
    const STATE: &'static [super::StateVar] = &[
        super::StateVar::new("v", "mV"),
        super::StateVar::new("i_exc", "pA"),
        super::StateVar::new("i_inh", "pA"),
    ];

    fn check(&self) -> Vec<(&'static str, String)> {
        LifParams::check(self)
    }

    fn receptors(&self) -> [super::registry::ReceptorSpec; 2] {
        use super::registry::ReceptorSpec;
        match self.synapse {
            SynapseKind::Delta => ReceptorSpec::pair("v", "v", "mV"),
            SynapseKind::Exponential => ReceptorSpec::pair("i_exc", "i_inh", "pA"),
        }
    }

    fn build(&self, dt_ms: f64, draw: &mut super::Draw<'_>) -> Self::Pop {
        let v = draw.state("v", self.e_l_mv);
        let i_exc = draw.state("i_exc", 0.0);
        let i_inh = draw.state("i_inh", 0.0);
        super::Pop {
            k: self.derive(dt_ms),
            s: LifState {
                v: v.into(),
                i_exc: i_exc.into(),
                i_inh: i_inh.into(),
                until: super::AlignedVec::zeroed(draw.n),
                now: 0,
            },
        }
    }
}

/// `Params` of shaders/neuron_lif.wgsl: [`LifConsts`] with the flags as u32s
/// (padded to 64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LifGpu {
    e_l: f32,
    v_reset: f32,
    v_th: f32,
    p33: f32,
    p30: f32,
    p32_exc: f32,
    p32_inh: f32,
    p22_exc: f32,
    p22_inh: f32,
    i_bias: f32,
    ref_steps: i32,
    delta: u32,
    after: u32,
    keep: u32,
    _pad: [u32; 2],
}

impl super::NeuronKernel for super::Pop<LifConsts, LifState> {
    type Consts = LifConsts;
    type View<'a> = LifView<'a>;
    const SHADER: &'static str = "neuron_lif.wgsl";
    const SOURCE: &'static str = neuron_wgsl!("neuron_lif.wgsl");
    const GPU_VARS: &'static [&'static str] = &["v", "i_exc", "i_inh", "refrac"];

    fn chunks(&mut self, lens: &[usize]) -> (&LifConsts, Vec<LifView<'_>>) {
        (&self.k, self.s.chunks(lens))
    }

    fn whole(&mut self) -> (&LifConsts, LifView<'_>) {
        (&self.k, self.s.view())
    }

    fn update(
        k: &LifConsts,
        s: LifView<'_>,
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
            "i_exc" => &self.s.i_exc,
            "i_inh" => &self.s.i_inh,
            _ => return false,
        };
        crate::neuron::registry::copy_into(out, src)
    }

    fn bytes_per_neuron(&self) -> usize {
        16
    }

    fn gpu_params(&self) -> Vec<u8> {
        let k = &self.k;
        bytemuck::bytes_of(&LifGpu {
            e_l: k.e_l,
            v_reset: k.v_reset,
            v_th: k.v_th,
            p33: k.p33,
            p30: k.p30,
            p32_exc: k.p32_exc,
            p32_inh: k.p32_inh,
            p22_exc: k.p22_exc,
            p22_inh: k.p22_inh,
            i_bias: k.i_bias,
            ref_steps: k.ref_steps,
            delta: k.delta as u32,
            after: k.after as u32,
            keep: k.keep as u32,
            _pad: [0; 2],
        })
        .to_vec()
    }

    fn gpu_state(&self) -> Vec<u32> {
        let s = &self.s;
        let floats = [&s.v[..], &s.i_exc, &s.i_inh]
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

    #[test]
    fn infinite_tau_m_is_the_no_leak_limit() {
        let p = |tau_m_ms| LifParams {
            tau_m_ms,
            c_m_pf: 4.0,
            tau_syn_exc_ms: 2.0,
            ..Default::default()
        };
        let inf = p(f64::INFINITY).derive(0.5);
        assert!(p(f64::INFINITY).check().is_empty());
        assert_eq!((inf.p33, inf.p30), (1.0, 0.125));
        // The limit of the finite-tau propagator entries.
        let big = p(1e9).derive(0.5);
        assert!((big.p30 - inf.p30).abs() < 1e-6 && (big.p32_exc - inf.p32_exc).abs() < 1e-6);
        assert!(!p(0.0).check().is_empty() && !p(f64::NAN).check().is_empty());
    }

    /// Random state around threshold, with refractory neurons and odd values.
    fn state(r: &mut Rand, n: usize) -> LifState {
        LifState {
            v: (0..n)
                .map(|_| {
                    if r.chance(0.1) {
                        -50.0
                    } else {
                        r.f32(-70.0, -45.0)
                    }
                })
                .collect(),
            i_exc: (0..n)
                .map(|_| {
                    if r.chance(0.1) {
                        -0.0
                    } else {
                        r.f32(-50.0, 500.0)
                    }
                })
                .collect(),
            i_inh: (0..n).map(|_| r.f32(-500.0, 0.0)).collect(),
            // Clock 40: refractory where `until` > 40.
            until: (0..n).map(|_| 30 + r.refrac()).collect(),
            now: 40,
        }
    }

    /// Odd values planted in the state of a kernel comparison.
    #[derive(Clone, Copy, Debug)]
    enum Poison {
        None,
        /// A NaN potential and an infinite current: the step must fail.
        NonFinite,
        /// Huge finite potentials, whose running sums overflow.
        Huge,
    }

    /// Steps the portable kernel and `simd` side by side and compares every bit.
    fn compare(simd: Simd, k: &LifConsts, n: usize, ext: bool, poison: Poison, seed: u64) {
        let mut r = Rand(seed);
        let mut a = state(&mut r, n);
        match poison {
            Poison::NonFinite if n > 3 => {
                a.v[n / 2] = f32::NAN;
                a.i_exc[n - 1] = f32::INFINITY;
            }
            // Finite after a step (|p33| <= 1); a lane's sum of 16 is not.
            Poison::Huge => a.v.fill(-3e37),
            _ => {}
        }
        let mut b = a.clone();
        let inv = [2f32.powi(-16), 2f32.powi(-12)];
        for step in 0..20 {
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
            let what = format!(
                "{simd:?} delta {} n {n} ext {ext} {poison:?} step {step}",
                k.delta
            );
            assert_eq!(ok_a, ok_b, "{what}");
            if huge {
                assert_eq!(ok_a, a.v.iter().all(|v| v.is_finite()), "{what}");
            }
            assert_eq!(out_a, out_b, "{what}");
            assert_eq!(ring_a, ring_b, "{what}");
            assert!(ring_a.iter().all(|&q| q == 0), "{what}");
            assert!(
                same(&a.v, &b.v) && same(&a.i_exc, &b.i_exc) && same(&a.i_inh, &b.i_inh),
                "{what}"
            );
            assert_eq!(a.until, b.until, "{what}");
            a.tick();
            b.tick();
        }
    }

    #[test]
    fn simd_kernels_match_the_portable_one_bit_for_bit() {
        let exp = LifParams {
            e_l_mv: -49.0,
            v_reset_mv: -60.0,
            tau_m_ms: 20.0,
            c_m_pf: 200.0,
            ..Default::default()
        };
        let delta = LifParams {
            synapse: SynapseKind::Delta,
            ..exp.clone()
        };
        let biased = LifParams {
            i_bias_pa: 300.0,
            ..exp.clone()
        };
        let consts = [
            exp.derive(0.1),
            delta.derive(0.1),
            biased.derive(0.1),
            LifConsts {
                i_bias: -0.0,
                ..exp.derive(0.1)
            },
        ];
        for simd in available() {
            for (j, k) in consts.iter().enumerate() {
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
