//! Izhikevich (2003) neuron: `v' = 0.04 v² + 5 v + 140 - u + I`, `u' = a (b v - u)`;
//! when `v >= v_peak` (30 mV): `v <- c`, `u <- u + d`.
//!
//! Parameters a, b, c, d come from a preset (Izhikevich 2003, Fig. 2) or are given
//! per population; each may also be `base + scale · r^power` with one `r ~ U(0,1)`
//! drawn per neuron and shared by all four, which is how the 1000-neuron network of
//! the paper makes its neurons heterogeneous. Integration defaults to the paper's
//! scheme: two half steps of v (u held), then one step of u with the new v.
//! Input currents are in the model's raw units.
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Firing-pattern presets (a, b, c, d) from Izhikevich (2003), Fig. 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IzhPreset {
    /// Regular spiking: a=0.02 b=0.2 c=-65 d=8.
    RS,
    /// Intrinsically bursting: 0.02 0.2 -55 4.
    IB,
    /// Chattering: 0.02 0.2 -50 2.
    CH,
    /// Fast spiking: 0.1 0.2 -65 2.
    FS,
    /// Low-threshold spiking: 0.02 0.25 -65 2.
    LTS,
    /// Thalamo-cortical: 0.02 0.25 -65 0.05.
    TC,
    /// Resonator: 0.1 0.26 -65 2.
    RZ,
}

impl IzhPreset {
    /// (a, b, c, d).
    pub fn abcd(self) -> [f64; 4] {
        match self {
            IzhPreset::RS => [0.02, 0.2, -65.0, 8.0],
            IzhPreset::IB => [0.02, 0.2, -55.0, 4.0],
            IzhPreset::CH => [0.02, 0.2, -50.0, 2.0],
            IzhPreset::FS => [0.1, 0.2, -65.0, 2.0],
            IzhPreset::LTS => [0.02, 0.25, -65.0, 2.0],
            IzhPreset::TC => [0.02, 0.25, -65.0, 0.05],
            IzhPreset::RZ => [0.1, 0.26, -65.0, 2.0],
        }
    }
}

/// A per-neuron parameter `base + scale · r^power` (`r ~ U(0,1)` per neuron).
/// In TOML either a number (the base) or `{ base = .., scale = .., power = .. }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IzhParam {
    /// Value at r = 0.
    pub base: f64,
    /// Multiplier of `r^power` (default 0: constant).
    pub scale: f64,
    /// Exponent of r (default 1).
    pub power: f64,
}

impl From<f64> for IzhParam {
    fn from(base: f64) -> Self {
        IzhParam {
            base,
            scale: 0.0,
            power: 1.0,
        }
    }
}

impl IzhParam {
    /// Value for a neuron with random number `r`.
    pub fn at(&self, r: f64) -> f64 {
        if self.scale == 0.0 {
            self.base
        } else {
            self.base + self.scale * r.powf(self.power)
        }
    }
}

impl<'de> Deserialize<'de> for IzhParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            base: f64,
            #[serde(default)]
            scale: f64,
            #[serde(default = "one")]
            power: f64,
        }
        fn one() -> f64 {
            1.0
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IzhParam;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a table { base, scale, power }")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<IzhParam, E> {
                Ok(v.into())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IzhParam, E> {
                Ok((v as f64).into())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IzhParam, E> {
                Ok((v as f64).into())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IzhParam, A::Error> {
                let f = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(IzhParam {
                    base: f.base,
                    scale: f.scale,
                    power: f.power,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// How v and u are advanced each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IzhIntegration {
    /// Two half steps of v, then u with the new v (Izhikevich 2003 `net.m`).
    #[default]
    HalfSteps,
    /// One forward-Euler step of v and u (u uses the old v).
    Euler,
}

/// Parameters of [`crate::model::NeuronModel::Izhikevich`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct IzhikevichParams {
    /// Preset giving a, b, c, d (default RS); explicit values override it.
    pub preset: Option<IzhPreset>,
    /// Recovery time scale a (1/ms).
    pub a: Option<IzhParam>,
    /// Recovery sensitivity b.
    pub b: Option<IzhParam>,
    /// Reset potential c (mV).
    pub c: Option<IzhParam>,
    /// Recovery increment d.
    pub d: Option<IzhParam>,
    /// Spike cut-off, mV (default 30).
    pub v_peak_mv: Option<f64>,
    /// Integration scheme (default half_steps).
    pub integration: IzhIntegration,
}

impl IzhikevichParams {
    /// Parameters of a preset.
    pub fn preset(p: IzhPreset) -> Self {
        IzhikevichParams {
            preset: Some(p),
            ..Default::default()
        }
    }

    /// The four parameters after applying the preset (RS when none).
    pub fn resolved(&self) -> [IzhParam; 4] {
        let base = self.preset.unwrap_or(IzhPreset::RS).abcd();
        [
            self.a.unwrap_or(base[0].into()),
            self.b.unwrap_or(base[1].into()),
            self.c.unwrap_or(base[2].into()),
            self.d.unwrap_or(base[3].into()),
        ]
    }

    /// Spike cut-off in mV.
    pub fn v_peak(&self) -> f64 {
        self.v_peak_mv.unwrap_or(30.0)
    }

    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        let names = ["a", "b", "c", "d"];
        for (p, n) in self.resolved().iter().zip(names) {
            if !(p.base.is_finite() && p.scale.is_finite() && p.power.is_finite()) || p.power < 0.0
            {
                out.push((
                    n,
                    format!("needs finite base/scale and power >= 0, got {p:?}"),
                ));
            }
        }
        super::finite(&mut out, "v_peak_mv", self.v_peak());
        out
    }
}

/// Per-step constants of an Izhikevich population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IzhConsts {
    /// Step, ms.
    pub dt: f32,
    /// Half step, ms.
    pub half_dt: f32,
    /// Spike cut-off, mV.
    pub v_peak: f32,
    /// Integration scheme.
    pub integration: IzhIntegration,
}

impl IzhConsts {
    /// Constants for step `dt_ms`.
    pub fn new(p: &IzhikevichParams, dt_ms: f64) -> Self {
        IzhConsts {
            dt: dt_ms as f32,
            half_dt: (dt_ms * 0.5) as f32,
            v_peak: p.v_peak() as f32,
            integration: p.integration,
        }
    }
}

/// State of an Izhikevich population (per-neuron parameters included).
#[derive(Debug, Clone, Default)]
pub struct IzhState {
    /// Membrane potential, mV.
    pub v: Vec<f32>,
    /// Recovery variable.
    pub u: Vec<f32>,
    /// Per-neuron a.
    pub a: Vec<f32>,
    /// Per-neuron b.
    pub b: Vec<f32>,
    /// Per-neuron c.
    pub c: Vec<f32>,
    /// Per-neuron d.
    pub d: Vec<f32>,
}

/// Mutable slices of an [`IzhState`].
pub struct IzhView<'a> {
    /// Membrane potential.
    pub v: &'a mut [f32],
    /// Recovery.
    pub u: &'a mut [f32],
    /// Per-neuron a.
    pub a: &'a [f32],
    /// Per-neuron b.
    pub b: &'a [f32],
    /// Per-neuron c.
    pub c: &'a [f32],
    /// Per-neuron d.
    pub d: &'a [f32],
}

impl IzhState {
    /// Views the whole state.
    pub fn view(&mut self) -> IzhView<'_> {
        IzhView {
            v: &mut self.v,
            u: &mut self.u,
            a: &self.a,
            b: &self.b,
            c: &self.c,
            d: &self.d,
        }
    }

    /// Views the state as slices split into chunks of the given lengths.
    pub fn chunks(&mut self, lens: &[usize]) -> Vec<IzhView<'_>> {
        let v = super::split_mut(&mut self.v, lens);
        let u = super::split_mut(&mut self.u, lens);
        let a = super::split(&self.a, lens);
        let b = super::split(&self.b, lens);
        let c = super::split(&self.c, lens);
        let d = super::split(&self.d, lens);
        v.into_iter()
            .zip(u)
            .zip(a.into_iter().zip(b))
            .zip(c.into_iter().zip(d))
            .map(|(((v, u), (a, b)), (c, d))| IzhView { v, u, a, b, c, d })
            .collect()
    }
}

/// `dv/dt` in the exact operation order both backends use.
#[inline(always)]
pub fn dvdt(v: f32, u: f32, i: f32) -> f32 {
    (0.04 * v + 5.0) * v + 140.0 - u + i
}

/// One step. Synaptic input (exc + inh ring slots, cleared after reading) and
/// `i_ext` (`None`: zero) are currents for this step. Spiking indices (`base` +
/// local) are appended to `spikes`. Returns false if v or u became non-finite.
#[allow(clippy::too_many_arguments)]
pub fn update(
    k: &IzhConsts,
    s: IzhView<'_>,
    ring_exc: &mut [i32],
    ring_inh: &mut [i32],
    inv: [f32; 2],
    i_ext: Option<&[f32]>,
    base: u32,
    spikes: &mut Vec<u32>,
) -> bool {
    match i_ext {
        Some(x) => update_ext(k, s, ring_exc, ring_inh, inv, x, base, spikes),
        None => update_zero(k, s, ring_exc, ring_inh, inv, &[], base, spikes),
    }
}

super::simd_dispatch! {
    fn update_ext(
        k: &IzhConsts,
        s: IzhView<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv: [f32; 2],
        x: &[f32],
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool => update_blocks::<true>
}

super::simd_dispatch! {
    fn update_zero(
        k: &IzhConsts,
        s: IzhView<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv: [f32; 2],
        x: &[f32],
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool => update_blocks::<false>
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn update_blocks<const EXT: bool>(
    k: &IzhConsts,
    s: IzhView<'_>,
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
        let view = IzhView {
            v: &mut s.v[a..b],
            u: &mut s.u[a..b],
            a: &s.a[a..b],
            b: &s.b[a..b],
            c: &s.c[a..b],
            d: &s.d[a..b],
        };
        let (re, ri) = (&mut ring_exc[a..b], &mut ring_inh[a..b]);
        let x = if EXT { &i_ext[a..b] } else { &[][..] };
        ok &= match k.integration {
            IzhIntegration::HalfSteps => block::<true, EXT>(k, view, re, ri, inv, x, f),
            IzhIntegration::Euler => block::<false, EXT>(k, view, re, ri, inv, x, f),
        };
        super::collect_spikes(f, base + a as u32, spikes);
    }
    ok
}

/// Branch-free body so the compiler vectorises it; `flags[i]` = 1 when i spiked.
#[inline(always)]
fn block<const HALF: bool, const EXT: bool>(
    k: &IzhConsts,
    s: IzhView<'_>,
    re: &mut [i32],
    ri: &mut [i32],
    inv: [f32; 2],
    x: &[f32],
    flags: &mut [u8],
) -> bool {
    let n = s.v.len();
    assert!(s.u.len() == n && s.a.len() == n && s.b.len() == n && s.c.len() == n && s.d.len() == n);
    assert!(re.len() == n && ri.len() == n && flags.len() == n && (!EXT || x.len() == n));
    let mut bad = false;
    for i in 0..n {
        let cur = re[i] as f32 * inv[0] + ri[i] as f32 * inv[1] + if EXT { x[i] } else { 0.0 };
        re[i] = 0;
        ri[i] = 0;
        let (mut v, mut u) = (s.v[i], s.u[i]);
        let (a, b) = (s.a[i], s.b[i]);
        if HALF {
            v = v + k.half_dt * dvdt(v, u, cur);
            v = v + k.half_dt * dvdt(v, u, cur);
            u = u + k.dt * (a * (b * v - u));
        } else {
            let dv = dvdt(v, u, cur);
            u = u + k.dt * (a * (b * v - u));
            v = v + k.dt * dv;
        }
        let spk = v >= k.v_peak;
        s.v[i] = if spk { s.c[i] } else { v };
        let un = if spk { u + s.d[i] } else { u };
        s.u[i] = un;
        flags[i] = spk as u8;
        bad |= !(v.is_finite() & un.is_finite());
    }
    !bad
}

impl super::NeuronType for IzhikevichParams {
    type Pop = super::Pop<IzhConsts, IzhState>;
    // u has the units of dv/dt (Brian2's example: volt/second).
    const STATE: &'static [super::StateVar] = &[
        super::StateVar::new("v", "mV"),
        super::StateVar::new("u", "mV/ms"),
    ];

    fn check(&self) -> Vec<(&'static str, String)> {
        IzhikevichParams::check(self)
    }

    fn receptors(&self) -> [super::registry::ReceptorSpec; 2] {
        super::registry::ReceptorSpec::pair("I", "I", "pA")
    }

    fn explicit(&self) -> Self {
        let [a, b, c, d] = self.resolved();
        IzhikevichParams {
            a: Some(a),
            b: Some(b),
            c: Some(c),
            d: Some(d),
            v_peak_mv: Some(self.v_peak()),
            ..self.clone()
        }
    }

    /// Per-neuron a, b, c, d from the parameter stream (one uniform draw per
    /// neuron for all four), then v and u (default `b·v`).
    fn build(&self, dt_ms: f64, draw: &mut super::Draw<'_>) -> Self::Pop {
        use rand::Rng;
        let [a, b, c, d] = self.resolved();
        let mut st = IzhState::default();
        for _ in 0..draw.n {
            let r: f64 = draw.params().random();
            st.a.push(a.at(r) as f32);
            st.b.push(b.at(r) as f32);
            st.c.push(c.at(r) as f32);
            st.d.push(d.at(r) as f32);
        }
        st.v = draw.state("v", -65.0);
        st.u = draw.state_or("u", |i| st.b[i] * st.v[i]);
        super::Pop {
            k: IzhConsts::new(self, dt_ms),
            s: st,
        }
    }
}

/// `Params` of shaders/neuron_izhikevich.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct IzhGpu {
    dt: f32,
    half_dt: f32,
    v_peak: f32,
    half: u32,
}

impl super::NeuronKernel for super::Pop<IzhConsts, IzhState> {
    type Consts = IzhConsts;
    type View<'a> = IzhView<'a>;
    const CHECKED: &'static str = "v/u";
    const SHADER: &'static str = "neuron_izhikevich.wgsl";
    const SOURCE: &'static str = neuron_wgsl!("neuron_izhikevich.wgsl");
    const GPU_VARS: &'static [&'static str] = &["v", "u", "a", "b", "c", "d"];

    fn chunks(&mut self, lens: &[usize]) -> (&IzhConsts, Vec<IzhView<'_>>) {
        (&self.k, self.s.chunks(lens))
    }

    fn whole(&mut self) -> (&IzhConsts, IzhView<'_>) {
        (&self.k, self.s.view())
    }

    fn update(
        k: &IzhConsts,
        s: IzhView<'_>,
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
            "u" => &self.s.u,
            _ => return false,
        };
        crate::neuron::registry::copy_into(out, src)
    }

    fn bytes_per_neuron(&self) -> usize {
        24
    }

    fn gpu_params(&self) -> Vec<u8> {
        let k = &self.k;
        bytemuck::bytes_of(&IzhGpu {
            dt: k.dt,
            half_dt: k.half_dt,
            v_peak: k.v_peak,
            half: (k.integration == IzhIntegration::HalfSteps) as u32,
        })
        .to_vec()
    }

    fn gpu_state(&self) -> Vec<u32> {
        let s = &self.s;
        let all = [&s.v[..], &s.u, &s.a, &s.b, &s.c, &s.d].concat();
        all.into_iter().map(f32::to_bits).collect()
    }
}
