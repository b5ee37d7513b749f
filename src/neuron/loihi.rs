//! Loihi's current-based LIF neuron in the chip's own integers, bit for bit as
//! Intel's bit-accurate model of it: Lava's `PyLifModelBitAcc` (lava-nc 0.10.0,
//! `lava/proc/lif/models.py`) fed by `PyDenseModelBitAcc` (`lava/proc/dense`).
//! Both backends run it with 32-bit integer operations only.
//!
//! With `M = 2^23` (24-bit state), one step of a neuron whose incoming
//! connections delivered the weight sum `a` (see [`LoihiSynapses`]):
//!
//! ```text
//! u ← trunc(u·(4096 − du − 1) / 4096) + (a << 6)     (i32, wrapping)
//! u ← u − 2M if u > M;  u + 2M if u ≤ −M             (one wrap, as Lava)
//! v ← clamp(trunc(v·(4096 − dv) / 4096) + u + (bias_mant << bias_exp), −(M−1), M−1)
//! spike when v > vth << 6; then v ← 0                (u is not reset)
//! ```
//!
//! `trunc` rounds toward zero. There is no refractory period: Lava's bit-accurate
//! LIF has none (its `LIFRefractory` is float only). A spike at step t reaches
//! its targets' `a` at step t + delay (Lava's `Dense`: one step).
use super::fixed::decay;
use serde::{Deserialize, Serialize};

/// Half the range of the 24-bit state, `2^23`.
pub const STATE_HALF: i32 = 1 << 23;
/// Fraction bits of the decay constants.
const DECAY_BITS: u32 = 12;
/// Lava's MSB alignment of the synaptic input and the threshold (`act_shift`,
/// `vth_shift`).
pub const ALIGN_SHIFT: u32 = 6;

/// One value for every neuron, or one each (`bias_mant = 5` or `[1, 2, 3]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PerNeuron {
    /// The same value for every neuron.
    One(i32),
    /// One value per neuron, in order.
    Each(Vec<i32>),
}

/// An integer that fits an `i32` (a float only when it is whole).
fn int32<E: serde::de::Error>(v: f64) -> Result<i32, E> {
    if v.fract() == 0.0 && v >= f64::from(i32::MIN) && v <= f64::from(i32::MAX) {
        Ok(v as i32)
    } else {
        Err(E::custom(format!("expected a 32-bit integer, got {v}")))
    }
}

impl<'de> Deserialize<'de> for PerNeuron {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PerNeuron;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or a list of integers, one per neuron")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PerNeuron, E> {
                i32::try_from(v)
                    .map(PerNeuron::One)
                    .map_err(|_| E::custom(format!("expected a 32-bit integer, got {v}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PerNeuron, E> {
                i32::try_from(v)
                    .map(PerNeuron::One)
                    .map_err(|_| E::custom(format!("expected a 32-bit integer, got {v}")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<PerNeuron, E> {
                int32(v).map(PerNeuron::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PerNeuron, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(x) = seq.next_element::<f64>()? {
                    out.push(int32(x)?);
                }
                Ok(PerNeuron::Each(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Default for PerNeuron {
    fn default() -> Self {
        PerNeuron::One(0)
    }
}

impl From<i32> for PerNeuron {
    fn from(v: i32) -> Self {
        PerNeuron::One(v)
    }
}

impl PerNeuron {
    /// The value of neuron `i`.
    pub fn at(&self, i: usize) -> i32 {
        match self {
            PerNeuron::One(v) => *v,
            PerNeuron::Each(v) => v[i],
        }
    }

    /// Every value (one for [`PerNeuron::One`]).
    pub fn values(&self) -> &[i32] {
        match self {
            PerNeuron::One(v) => std::slice::from_ref(v),
            PerNeuron::Each(v) => v,
        }
    }

    fn check(&self, field: &'static str, lo: i32, hi: i32, out: &mut Vec<(&'static str, String)>) {
        if let Some(bad) = self.values().iter().find(|v| !(lo..=hi).contains(*v)) {
            out.push((field, format!("must be in {lo}..={hi}, got {bad}")));
        }
    }
}

/// Parameters of [`crate::model::NeuronModel::LoihiLif`]: Lava's `LIF` process
/// in its integer (chip) units, with the chip's ranges. Defaults are Lava's.
///
/// ```
/// use astroglia::model::{LoihiLifParams, PerNeuron};
/// let p = LoihiLifParams::default().du(4095).dv(410).vth(100).bias_mant(PerNeuron::One(60));
/// assert!(p.check_for(10).is_empty());
/// assert_eq!(p.bias(0), 60);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LoihiLifParams {
    /// Current decay, 12 bits (0..=4095, default 0): `u` keeps
    /// `(4096 − du − 1)/4096` of itself each step (Lava adds 1, `ds_offset`).
    pub du: u32,
    /// Voltage decay, 12 bits (0..=4095, default 0): `v` keeps `(4096 − dv)/4096`.
    pub dv: u32,
    /// Threshold mantissa, 17 bits unsigned (0..=131071, default 10): a neuron
    /// spikes when `v > vth << 6`.
    pub vth: u32,
    /// Bias mantissa, 13 bits signed (−4096..=4095, default 0), one or per neuron.
    pub bias_mant: PerNeuron,
    /// Bias exponent, 3 bits (0..=7, default 0): the bias is `bias_mant << bias_exp`.
    pub bias_exp: PerNeuron,
}

impl Default for LoihiLifParams {
    fn default() -> Self {
        LoihiLifParams {
            du: 0,
            dv: 0,
            vth: 10,
            bias_mant: PerNeuron::One(0),
            bias_exp: PerNeuron::One(0),
        }
    }
}

impl LoihiLifParams {
    /// Sets [`Self::du`].
    pub fn du(mut self, du: u32) -> Self {
        self.du = du;
        self
    }
    /// Sets [`Self::dv`].
    pub fn dv(mut self, dv: u32) -> Self {
        self.dv = dv;
        self
    }
    /// Sets [`Self::vth`].
    pub fn vth(mut self, vth: u32) -> Self {
        self.vth = vth;
        self
    }
    /// Sets [`Self::bias_mant`].
    pub fn bias_mant(mut self, m: PerNeuron) -> Self {
        self.bias_mant = m;
        self
    }
    /// Sets [`Self::bias_exp`].
    pub fn bias_exp(mut self, e: PerNeuron) -> Self {
        self.bias_exp = e;
        self
    }

    /// Invalid parameters of a population of `size` as (field, message).
    pub fn check_for(&self, size: u32) -> Vec<(&'static str, String)> {
        let mut out = self.check_ranges();
        for (f, p) in [("bias_mant", &self.bias_mant), ("bias_exp", &self.bias_exp)] {
            if let PerNeuron::Each(v) = p {
                if v.len() != size as usize {
                    out.push((
                        f,
                        format!(
                            "has {} values for a population of {size} (give one, or one per neuron)",
                            v.len()
                        ),
                    ));
                }
            }
        }
        out
    }

    /// Parameters outside the chip's ranges, as (field, message).
    fn check_ranges(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        for (f, v) in [("du", self.du), ("dv", self.dv)] {
            if v > 4095 {
                out.push((f, format!("must be in 0..=4095 (12 bits), got {v}")));
            }
        }
        if self.vth > 131_071 {
            out.push((
                "vth",
                format!("must be in 0..=131071 (17 bits), got {}", self.vth),
            ));
        }
        self.bias_mant.check("bias_mant", -4096, 4095, &mut out);
        self.bias_exp.check("bias_exp", 0, 7, &mut out);
        out
    }

    /// The bias of neuron `i`, `bias_mant << bias_exp` (parameters valid).
    pub fn bias(&self, i: usize) -> i32 {
        self.bias_mant.at(i) << self.bias_exp.at(i)
    }

    fn consts(&self) -> LoihiConsts {
        LoihiConsts {
            keep_u: 4096 - self.du as i32 - 1,
            keep_v: 4096 - self.dv as i32,
            vth: (self.vth as i32) << ALIGN_SHIFT,
            in_shift: [0, 0],
        }
    }
}

/// How Lava's bit-accurate `Dense` turns a connection's weights into input: a
/// projection's `loihi` table (`loihi = { weight_exp = 2 }`). Weights are
/// integers; onto a [`LoihiLifParams`] population they are Lava's, mantissas
/// with no unit.
///
/// ```
/// use astroglia::model::{LoihiSynapses, SignMode};
/// let s = LoihiSynapses::default().weight_exp(-3);
/// // Mixed signs: 8 bits plus sign, the lowest bit dropped (Lava's truncation).
/// assert_eq!(s.weights(&[255.0, -3.0, 300.0]), vec![254, -4, 254]);
/// assert_eq!(s.sign_mode_of(&[1.0, 2.0]), SignMode::Excitatory);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LoihiSynapses {
    /// Weight exponent (default 0): a step's input from this projection is
    /// `Σ w << weight_exp` (`>>` for a negative exponent, which floors the
    /// projection's sum), wrapping in 32 bits as Lava's int32 does. Models take
    /// −24..=31, what Lava computes; the chip's −8..=7 is for `astroglia fit`.
    pub weight_exp: i32,
    /// Weight bits (1..=8, default 8): the lowest `k = 8 − num_weight_bits`
    /// bits of an excitatory or inhibitory weight's magnitude are dropped; a
    /// mixed-sign weight becomes `(w >> k) << k` with `k` one larger, which
    /// floors negative weights.
    pub num_weight_bits: u32,
    /// Which signs the weights have (default: from the weights, as Lava).
    pub sign_mode: Option<SignMode>,
}

impl Default for LoihiSynapses {
    fn default() -> Self {
        LoihiSynapses {
            weight_exp: 0,
            num_weight_bits: 8,
            sign_mode: None,
        }
    }
}

/// The signs of a connection's weights (Lava's `SignMode`): each mode has its
/// own range of 8-bit weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignMode {
    /// Both signs: −256..=255 with even values only at 8 bits.
    Mixed,
    /// Non-negative: 0..=255.
    Excitatory,
    /// Non-positive: −255..=0.
    Inhibitory,
}

impl LoihiSynapses {
    /// Sets [`Self::weight_exp`].
    pub fn weight_exp(mut self, e: i32) -> Self {
        self.weight_exp = e;
        self
    }
    /// Sets [`Self::num_weight_bits`].
    pub fn num_weight_bits(mut self, b: u32) -> Self {
        self.num_weight_bits = b;
        self
    }
    /// Sets [`Self::sign_mode`].
    pub fn sign_mode(mut self, m: SignMode) -> Self {
        self.sign_mode = Some(m);
        self
    }

    /// Invalid settings as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if !(-24..=31).contains(&self.weight_exp) {
            out.push((
                "weight_exp",
                format!("must be in -24..=31, got {}", self.weight_exp),
            ));
        }
        if !(1..=8).contains(&self.num_weight_bits) {
            out.push((
                "num_weight_bits",
                format!("must be in 1..=8, got {}", self.num_weight_bits),
            ));
        }
        out
    }

    /// The sign mode of weights `w`: the set one, else Lava's
    /// `determine_sign_mode` (all ≥ 0: excitatory; all ≤ 0: inhibitory).
    pub fn sign_mode_of(&self, w: &[f64]) -> SignMode {
        self.sign_mode.unwrap_or_else(|| {
            if w.iter().all(|&w| w >= 0.0) {
                SignMode::Excitatory
            } else if w.iter().all(|&w| w <= 0.0) {
                SignMode::Inhibitory
            } else {
                SignMode::Mixed
            }
        })
    }

    /// The integer weights Lava's bit-accurate `Dense` uses for `w`, before the
    /// exponent: each truncated toward zero to an integer, clipped to the sign
    /// mode's 8-bit range and cut to `num_weight_bits` (`clip_weights` and
    /// `truncate_weights` of `lava/utils/weightutils.py`).
    pub fn weights(&self, w: &[f64]) -> Vec<i32> {
        let mode = self.sign_mode_of(w);
        w.iter().map(|&w| self.weight(mode, w)).collect()
    }

    /// One weight of [`Self::weights`] in sign mode `mode`.
    pub fn weight(&self, mode: SignMode, w: f64) -> i32 {
        let mixed = mode == SignMode::Mixed;
        let flip = mode == SignMode::Inhibitory;
        // numpy's float-to-int32 cast truncates toward zero.
        let mut m = w.trunc().clamp(-1e9, 1e9) as i32;
        if flip {
            m = -m;
        }
        let lo = if mixed { -256 } else { 0 };
        m = m.clamp(lo, 255);
        let cut = 8 - self.num_weight_bits.min(8) + mixed as u32;
        m = (m >> cut) << cut;
        if flip { -m } else { m }
    }
}

/// Per-step constants of a Loihi LIF population.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoihiConsts {
    /// `4096 − du − 1`: what `u` keeps, in 1/4096.
    pub keep_u: i32,
    /// `4096 − dv`.
    pub keep_v: i32,
    /// The threshold `vth << 6`.
    pub vth: i32,
    /// Each of the two rings holds its input `2^in_shift[r]` times over, so
    /// that the one projection with a negative weight exponent a ring may hold
    /// is floored on its own, as Lava floors each connection's sum.
    pub in_shift: [u32; 2],
}

impl LoihiConsts {
    /// How far the ring's values of a projection with `weight_exp` on ring
    /// `receptor` are shifted up from Lava's integer weights.
    pub fn weight_shift(&self, receptor: usize, weight_exp: i32) -> u32 {
        // Validation and the build keep it in 0..=31.
        (weight_exp + self.in_shift[receptor] as i32) as u32
    }
}

/// State of a Loihi LIF population, structure of arrays.
#[derive(Debug, Clone, Default)]
pub struct LoihiState {
    /// Current `u`.
    pub u: super::AlignedVec<i32>,
    /// Voltage `v`.
    pub v: super::AlignedVec<i32>,
    /// Bias per neuron, `bias_mant << bias_exp` (constant).
    pub bias: super::AlignedVec<i32>,
}

/// Mutable slices of (a chunk of) a [`LoihiState`].
pub struct LoihiView<'a> {
    /// Current.
    pub u: &'a mut [i32],
    /// Voltage.
    pub v: &'a mut [i32],
    /// Bias.
    pub bias: &'a mut [i32],
}

impl LoihiState {
    fn view(&mut self) -> LoihiView<'_> {
        LoihiView {
            u: &mut self.u,
            v: &mut self.v,
            bias: &mut self.bias,
        }
    }

    fn chunks(&mut self, lens: &[usize]) -> Vec<LoihiView<'_>> {
        let u = super::split_mut(&mut self.u, lens);
        let v = super::split_mut(&mut self.v, lens);
        let b = super::split_mut(&mut self.bias, lens);
        u.into_iter()
            .zip(v)
            .zip(b)
            .map(|((u, v), bias)| LoihiView { u, v, bias })
            .collect()
    }
}

/// One step of Lava's bit-accurate LIF (module docs). `ring_exc` and
/// `ring_inh` hold this step's weight sums (both signs), times `2^in_shift[r]`;
/// `a` is their floored sum. There is no external current (validation refuses
/// one).
#[allow(clippy::too_many_arguments)]
pub fn update(
    k: &LoihiConsts,
    s: LoihiView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    _inv: [f32; 2],
    i_ext: Option<&[f32]>,
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    let n = s.u.len();
    assert!(s.v.len() == n && s.bias.len() == n);
    assert!(ring_exc.len() == n && ring_inh.len() == n);
    debug_assert!(i_ext.is_none());
    let m = STATE_HALF;
    for i in 0..n {
        let a = (ring_exc[i] >> k.in_shift[0]).wrapping_add(ring_inh[i] >> k.in_shift[1]);
        ring_exc[i] = 0;
        ring_inh[i] = 0;
        let mut u = decay(s.u[i], k.keep_u, DECAY_BITS, true).wrapping_add(a << ALIGN_SHIFT);
        if u > m {
            u -= 2 * m;
        } else if u <= -m {
            u += 2 * m;
        }
        s.u[i] = u;
        let v = decay(s.v[i], k.keep_v, DECAY_BITS, true)
            .wrapping_add(u)
            .wrapping_add(s.bias[i])
            .clamp(-(m - 1), m - 1);
        let spk = v > k.vth;
        s.v[i] = if spk { 0 } else { v };
        if spk {
            spikes.push(base + i as u32);
        }
    }
    true
}

/// A Loihi LIF population.
pub type LoihiPop = super::Pop<LoihiConsts, LoihiState>;

impl super::NeuronType for LoihiLifParams {
    type Pop = LoihiPop;
    const STATE: &'static [super::StateVar] = &[
        super::StateVar::new("u", "int"),
        super::StateVar::new("v", "int"),
    ];

    fn check(&self) -> Vec<(&'static str, String)> {
        self.check_ranges()
    }

    fn check_for(&self, size: u32) -> Vec<(&'static str, String)> {
        LoihiLifParams::check_for(self, size)
    }

    fn receptors(&self) -> [super::registry::ReceptorSpec; 2] {
        super::registry::ReceptorSpec::pair("u", "u", "int")
    }

    /// `u` and `v` from `init` (default 0), truncated to integers as Lava does.
    fn build(&self, _dt_ms: f64, draw: &mut super::Draw<'_>) -> LoihiPop {
        // Lava takes any int32 (and truncates floats); beyond 2^24 the f32
        // of `init` is not exact.
        let int = |x: Vec<f32>| -> super::AlignedVec<i32> {
            x.into_iter()
                .map(|x| x.trunc() as i32)
                .collect::<Vec<_>>()
                .into()
        };
        let u = int(draw.state("u", 0.0));
        let v = int(draw.state("v", 0.0));
        let bias = (0..draw.n).map(|i| self.bias(i)).collect::<Vec<_>>().into();
        super::Pop {
            k: self.consts(),
            s: LoihiState { u, v, bias },
        }
    }
}

/// `Params` of shaders/neuron_loihi_lif.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LoihiGpu {
    keep_u: i32,
    keep_v: i32,
    vth: i32,
    in_shift_exc: u32,
    in_shift_inh: u32,
    _pad: [u32; 3],
}

impl super::NeuronKernel for LoihiPop {
    type Consts = LoihiConsts;
    type View<'a> = LoihiView<'a>;
    const SHADER: &'static str = "neuron_loihi_lif.wgsl";
    const SOURCE: &'static str = neuron_wgsl!("neuron_loihi_lif.wgsl");
    const GPU_VARS: &'static [&'static str] = &["u", "v", "bias"];

    fn chunks(&mut self, lens: &[usize]) -> (&LoihiConsts, Vec<LoihiView<'_>>) {
        (&self.k, self.s.chunks(lens))
    }

    fn whole(&mut self) -> (&LoihiConsts, LoihiView<'_>) {
        (&self.k, self.s.view())
    }

    fn update(
        k: &LoihiConsts,
        s: LoihiView<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv: [f32; 2],
        i_ext: Option<&[f32]>,
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool {
        update(k, s, ring_exc, ring_inh, inv, i_ext, base, spikes)
    }

    /// Integers as f32: exact, as every state value is below 2^24 in magnitude.
    fn read(&self, var: &str, out: &mut Vec<f32>) -> bool {
        let q: &[i32] = match var {
            "u" => &self.s.u,
            "v" => &self.s.v,
            _ => return false,
        };
        out.clear();
        out.extend(q.iter().map(|&q| q as f32));
        true
    }

    fn bytes_per_neuron(&self) -> usize {
        12
    }

    fn gpu_params(&self) -> Vec<u8> {
        let k = &self.k;
        bytemuck::bytes_of(&LoihiGpu {
            keep_u: k.keep_u,
            keep_v: k.keep_v,
            vth: k.vth,
            in_shift_exc: k.in_shift[0],
            in_shift_inh: k.in_shift[1],
            _pad: [0; 3],
        })
        .to_vec()
    }

    fn gpu_state(&self) -> Vec<u32> {
        let s = &self.s;
        let all = [&s.u[..], &s.v, &s.bias].concat();
        all.into_iter().map(|q| q as u32).collect()
    }

    fn gpu_decode(&self) -> Option<super::registry::Decode> {
        Some(Box::new(|_, word| word as i32 as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(k: &LoihiConsts, s: &mut LoihiState, input: i32) -> bool {
        let (mut re, mut ri) = (vec![input], vec![0]);
        let mut out = vec![];
        update(k, s.view(), &mut re, &mut ri, [1.0; 2], None, 0, &mut out);
        !out.is_empty()
    }

    fn one(u: i32, v: i32, bias: i32) -> LoihiState {
        LoihiState {
            u: vec![u].into(),
            v: vec![v].into(),
            bias: vec![bias].into(),
        }
    }

    #[test]
    fn a_bias_driven_neuron_follows_the_integer_recursion() {
        // dv = 0 (no leak), bias 3 << 2 = 12 per step, vth 1 → 64: spikes when
        // v > 64, i.e. at v = 72 on the 6th step, then restarts from 0.
        let p = LoihiLifParams::default()
            .vth(1)
            .bias_mant(PerNeuron::One(3))
            .bias_exp(PerNeuron::One(2));
        let k = p.consts();
        let mut s = one(0, 0, p.bias(0));
        let spikes: Vec<bool> = (0..12).map(|_| run(&k, &mut s, 0)).collect();
        let at: Vec<usize> = (0..12).filter(|&i| spikes[i]).collect();
        assert_eq!(at, [5, 11]);
    }

    #[test]
    fn decays_truncate_toward_zero_and_u_always_decays() {
        // du = 0 still decays u by 1/4096 (Lava's ds_offset); negative values
        // truncate toward zero, as numpy's sign·(|x| >> 12).
        let k = LoihiLifParams::default()
            .du(0)
            .dv(2048)
            .vth(131_071)
            .consts();
        let mut s = one(-4097, -3, 0);
        run(&k, &mut s, 0);
        assert_eq!(s.u[0], -(4097 * 4095 / 4096));
        // v: trunc(-3 · 2048/4096) = -1, plus the new u.
        assert_eq!(s.v[0], -1 + s.u[0]);
    }

    #[test]
    fn u_wraps_once_and_v_saturates_below_2_pow_23() {
        let k = LoihiLifParams::default().du(4095).vth(131_071).consts();
        // du = 4095 keeps nothing: u is the input << 6.
        let mut s = one(0, 0, 0);
        run(&k, &mut s, (1 << 17) + 1);
        // 2^23 + 64 wraps to 64 − 2^23.
        assert_eq!(s.u[0], 64 - STATE_HALF);
        assert_eq!(s.v[0], 64 - STATE_HALF);
        // Exactly 2^23 does not wrap (Lava's test is `> 2^23`); v clips at 2^23 − 1.
        let mut s = one(0, 0, 0);
        assert!(run(&k, &mut s, 1 << 17));
        assert_eq!(s.u[0], STATE_HALF);
        // The clipped v (2^23 − 1) exceeds vth << 6 = 8388544: a spike, v reset.
        assert_eq!(s.v[0], 0);
        // −2^23 wraps to +2^23.
        let mut s = one(0, 0, 0);
        run(&k, &mut s, -(1 << 17));
        assert_eq!(s.u[0], STATE_HALF);
    }

    #[test]
    fn lava_weights_clip_and_truncate_by_sign_mode() {
        let s = LoihiSynapses::default();
        assert_eq!(s.weights(&[300.0, 7.9, 0.0]), [255, 7, 0]);
        assert_eq!(s.weights(&[-300.0, -7.9]), [-255, -7]);
        assert_eq!(s.weights(&[-300.0, 5.0, -5.0]), [-256, 4, -6]);
        let s6 = LoihiSynapses::default().num_weight_bits(6);
        assert_eq!(s6.weights(&[255.0, 7.0]), [252, 4]);
        assert_eq!(s6.weights(&[-255.0, -7.0]), [-252, -4]);
        assert_eq!(s6.weights(&[-255.0, 7.0]), [-256, 0]);
        let forced = LoihiSynapses::default().sign_mode(SignMode::Excitatory);
        assert_eq!(forced.weights(&[-5.0, 5.0]), [0, 5]);
    }

    #[test]
    fn check_names_out_of_range_fields() {
        let p = LoihiLifParams::default()
            .du(4096)
            .vth(131_072)
            .bias_mant(PerNeuron::Each(vec![4096, 0]))
            .bias_exp(PerNeuron::One(8));
        let f: Vec<&str> = p.check_for(3).iter().map(|x| x.0).collect();
        assert_eq!(f, ["du", "vth", "bias_mant", "bias_exp", "bias_mant"]);
        let s = LoihiSynapses::default().weight_exp(32).num_weight_bits(0);
        assert_eq!(s.check().len(), 2);
    }
}
