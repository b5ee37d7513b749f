//! Astrocytes that set the STDP depression rate (NALSM, Ivanov & Michmizos 2021,
//! `NALSM_ASTRO.py`), generalised to several astrocytes tiling a grid liquid.
//!
//! Each astrocyte integrates the spikes of the liquid neurons in its domain minus
//! its share of the input spikes, every step, after the STDP updates:
//!
//! `A ← A + (dt/tau_a) · (w_a · (S_liquid − S_input) + b_a − A)`
//!
//! then `A`, `w_a`, `b_a` and the modulated projections' potentiation rate `eta`
//! are multiplied by `decay` (NALSM's per-sample fading, 0.99 per ms; 1 = off).
//! With dt = 1 ms this is the paper's update exactly. `A` becomes the depression
//! rate of every [`crate::plasticity::NalsmParams`] synapse whose postsynaptic neuron
//! lies in the domain. With `domains = [dx, dy, dz]` the liquid's grid is cut into
//! dx·dy·dz boxes, one astrocyte each; each counts the input spikes times its share
//! of the liquid's neurons (one domain counts all of them, as in NALSM).
use serde::{Deserialize, Serialize};

/// One astrocyte (or one per domain) in a model file (`[[astrocytes]]`).
///
/// ```
/// use astroglia::plasticity::Astrocyte;
/// let a: Astrocyte = toml::from_str(r#"
///     name = "astro"
///     liquid = ["exc", "inh"]
///     input = ["input"]
///     modulates = ["exc->exc"]
/// "#).unwrap();
/// assert_eq!(a.tau_ms, 100.0);
/// assert_eq!(a.domains, [1, 1, 1]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Astrocyte {
    /// Name (for monitors and recordings).
    pub name: String,
    /// Populations whose spikes count +1 (the liquid).
    pub liquid: Vec<String>,
    /// Populations whose spikes count −1 (the input).
    #[serde(default)]
    pub input: Vec<String>,
    /// Projections (by name or `from->to`) with the `nalsm` rule whose depression
    /// rate this astrocyte sets; their targets must be liquid populations.
    pub modulates: Vec<String>,
    /// Time constant tau_A, ms (default 100).
    #[serde(default = "d_tau")]
    pub tau_ms: f64,
    /// Weight of the spike-count difference, w_A (default 0.015; 0.0075 for 8000
    /// neurons in the paper).
    #[serde(default = "d_w")]
    pub w_a: f64,
    /// Bias b_A (default 0.15).
    #[serde(default = "d_b")]
    pub b_a: f64,
    /// Initial A (default 0.15).
    #[serde(default = "d_a0")]
    pub a0: f64,
    /// Per-step factor on A, w_A, b_A and eta (default 1: no fading).
    #[serde(default = "d_decay")]
    pub decay: f64,
    /// Domains along x, y, z of the liquid's grid (default [1, 1, 1]: one astrocyte).
    #[serde(default = "d_domains")]
    pub domains: [u32; 3],
}

fn d_tau() -> f64 {
    100.0
}
fn d_w() -> f64 {
    0.015
}
fn d_b() -> f64 {
    0.15
}
fn d_a0() -> f64 {
    0.15
}
fn d_decay() -> f64 {
    1.0
}
fn d_domains() -> [u32; 3] {
    [1, 1, 1]
}

impl Astrocyte {
    /// An astrocyte with the paper's parameters over `liquid` and `input`,
    /// modulating `modulates`.
    pub fn new(name: &str, liquid: &[&str], input: &[&str], modulates: &[&str]) -> Self {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        Astrocyte {
            name: name.into(),
            liquid: v(liquid),
            input: v(input),
            modulates: v(modulates),
            tau_ms: d_tau(),
            w_a: d_w(),
            b_a: d_b(),
            a0: d_a0(),
            decay: d_decay(),
            domains: d_domains(),
        }
    }

    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if !(self.tau_ms > 0.0 && self.tau_ms.is_finite()) {
            out.push((
                "tau_ms",
                format!("must be a positive time in ms, got {}", self.tau_ms),
            ));
        }
        for (name, v) in [("w_a", self.w_a), ("b_a", self.b_a), ("a0", self.a0)] {
            if !v.is_finite() {
                out.push((name, format!("must be finite, got {v}")));
            }
        }
        if !(self.decay > 0.0 && self.decay <= 1.0) {
            out.push(("decay", format!("must be in (0, 1], got {}", self.decay)));
        }
        if self.domains.contains(&0) {
            out.push((
                "domains",
                format!("each entry must be at least 1, got {:?}", self.domains),
            ));
        }
        if self.liquid.is_empty() {
            out.push(("liquid", "needs at least one population".into()));
        }
        out
    }
}

/// Step constants of an astrocyte.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AstroConsts {
    /// dt / tau_A.
    pub rate: f32,
    /// Initial w_A.
    pub w_a: f32,
    /// Initial b_A.
    pub b_a: f32,
    /// Initial A.
    pub a0: f32,
    /// Per-step decay.
    pub decay: f32,
}

impl Astrocyte {
    /// Step constants for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> AstroConsts {
        AstroConsts {
            rate: (dt_ms / self.tau_ms) as f32,
            w_a: self.w_a as f32,
            b_a: self.b_a as f32,
            a0: self.a0 as f32,
            decay: self.decay as f32,
        }
    }
}

/// One step of one domain's astrocyte (plain f32 operations, for a shader to repeat):
/// `drive = liquid − share · input` spikes this step, `gain` the accumulated decay.
/// Returns the new `A`.
#[inline(always)]
pub fn astro_step(k: &AstroConsts, a: f32, gain: f32, drive: f32) -> f32 {
    let target = (k.w_a * gain) * drive + k.b_a * gain;
    (a + k.rate * (target - a)) * k.decay
}

/// An astrocyte resolved to indices.
#[derive(Debug, Clone)]
pub struct BuiltAstro {
    /// Name.
    #[allow(dead_code)] // shown by `Debug`
    pub name: String,
    /// Step constants.
    pub consts: AstroConsts,
    /// Number of domains (one astrocyte each).
    pub n_domains: usize,
    /// Liquid populations and the domain of each of their neurons.
    pub liquid: Vec<(usize, Vec<u32>)>,
    /// Input populations.
    pub input: Vec<usize>,
    /// Per domain, its share of the liquid's neurons (weight of the input count).
    pub share: Vec<f32>,
    /// Modulated projections.
    pub modulates: Vec<usize>,
}

/// How an astrocyte drives a plastic projection.
#[derive(Debug, Clone)]
pub struct Modulation {
    /// Index of the astrocyte.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub astro: usize,
    /// Domain of each postsynaptic neuron.
    pub domain_of_post: Vec<u32>,
    /// The rule's trace increment `a` (A·a is the depression coefficient).
    pub trace_step: f32,
    /// The rule's initial `eta·a` (decays with the astrocyte's gain).
    pub eta_step: f32,
    /// Inhibitory sign handling (depression coefficient in the post slot).
    pub inhibitory: bool,
}

impl Modulation {
    /// The coefficients `[c_pre2, c_pre3, c_post2, c_post3]` for depression rate
    /// `a` and accumulated decay `gain`.
    #[inline(always)]
    pub fn coef(&self, a: f32, gain: f32) -> [f32; 4] {
        let dep = -(a * self.trace_step);
        let pot = self.eta_step * gain;
        if self.inhibitory {
            [pot, 0.0, dep, 0.0]
        } else {
            [dep, 0.0, pot, 0.0]
        }
    }
}

/// Resolves the model's astrocytes; returns them and, per projection, its
/// modulation (the model must be valid).
pub fn build_astrocytes(
    net: &crate::model::Network,
    pops: &[crate::build::BuiltPop],
) -> (Vec<BuiltAstro>, Vec<Option<Modulation>>) {
    let mut mods: Vec<Option<Modulation>> = vec![None; net.projections.len()];
    let mut out = vec![];
    for (ai, a) in net.astrocytes.iter().enumerate() {
        let idx = |name: &String| net.population_index(name).expect("validated");
        let [dx, dy, dz] = a.domains;
        let n_domains = (dx * dy * dz) as usize;
        let domain_of = |p: usize| -> Vec<u32> {
            let bp = &pops[p];
            match (&bp.positions, n_domains) {
                (Some(pos), n) if n > 1 => {
                    let g = net
                        .grids
                        .iter()
                        .find(|g| g.populations.contains(&bp.name))
                        .expect("validated: domains need a grid");
                    let cell = |v: f64, s: u32, d: u32| {
                        let i = ((v / g.spacing).round() as i64).clamp(0, s as i64 - 1) as u32;
                        i * d / s
                    };
                    pos.iter()
                        .map(|q| {
                            let (x, y, z) = (
                                cell(q[0], g.shape[0], dx),
                                cell(q[1], g.shape[1], dy),
                                cell(q[2], g.shape[2], dz),
                            );
                            (x * dy + y) * dz + z
                        })
                        .collect()
                }
                _ => vec![0; bp.size as usize],
            }
        };
        let liquid: Vec<(usize, Vec<u32>)> = a
            .liquid
            .iter()
            .map(|n| (idx(n), domain_of(idx(n))))
            .collect();
        let mut counts = vec![0f64; n_domains];
        for (_, d) in &liquid {
            d.iter().for_each(|&d| counts[d as usize] += 1.0);
        }
        let total: f64 = counts.iter().sum();
        let share = counts.iter().map(|c| (c / total.max(1.0)) as f32).collect();
        let mut modulates = vec![];
        for m in &a.modulates {
            let k = net
                .projections
                .iter()
                .position(|p| &p.label() == m)
                .expect("validated");
            let pr = &net.projections[k];
            let Some(c) = pr.plasticity.as_ref().and_then(|r| r.astrocyte()) else {
                unreachable!("validated: modulated projections have a rule astrocytes modulate")
            };
            mods[k] = Some(Modulation {
                astro: ai,
                domain_of_post: domain_of(idx(&pr.to)),
                trace_step: c.trace_step,
                eta_step: c.eta_step,
                inhibitory: c.inhibitory,
            });
            modulates.push(k);
        }
        out.push(BuiltAstro {
            name: a.name.clone(),
            consts: a.derive(net.dt_ms),
            n_domains,
            liquid,
            input: a.input.iter().map(idx).collect(),
            share,
            modulates,
        });
    }
    (out, mods)
}
