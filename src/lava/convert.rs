//! A float model's `lif` populations as Loihi integers (`loihi_lif`), with
//! what the rounding costs.
//!
//! Each `lif` population (exponential or delta synapses) maps to the chip's
//! recursion with `v = 0` at the reset potential, so the reset is exact:
//!
//! - scale `s` (LSB per mV) puts the threshold at `vth << 6` with `vth` =
//!   [`ConvertOptions::vth`] (2^16 by default, half the 24-bit range: as much
//!   room below the reset as above it);
//! - `dv = round(4096·(1 − e^(−dt/τ_m)))`, `du = round(4096·(1 − e^(−dt/τ_syn))) − 1`
//!   (Lava adds 1), `du = 4095` for delta synapses (u is the step's input alone);
//! - the bias is the float step's constant drive in the shifted frame,
//!   `s·((1 − e^(−dt/τ_m))·(e_l − v_reset) + p30·i_bias)`, as a 13-bit mantissa
//!   and the smallest exponent that holds it;
//! - a weight `w` (pA or mV) adds `s·p32·w` (`s·w` for delta synapses) to `v`
//!   through `u`; each projection gets the weight exponent that fits its
//!   largest weight into 8 bits, and its weight distribution is scaled to
//!   mantissas (Lava truncates each drawn weight toward zero).
//!
//! What Loihi cannot hold is reported, not hidden: the refractory period
//! (none on the chip), a separate inhibitory time constant (one `u` per
//! neuron: the excitatory one is used), input that acts after the threshold
//! test. Currents, noise, Poisson drives, plasticity and other neuron models
//! are refused.
use crate::build::Built;
use crate::model::{
    Connect, LoihiLifParams, LoihiSynapses, Network, NeuronModel, PerNeuron, SignMode, SynapseKind,
};
use serde::Serialize;

/// Settings of [`to_loihi`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Threshold mantissa every population gets (1..=131071, default 65536).
    pub vth: u32,
    /// Seed of the builds the weight errors are measured on.
    pub seed: u64,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            vth: 1 << 16,
            seed: 1,
        }
    }
}

impl ConvertOptions {
    /// Sets [`Self::vth`].
    pub fn vth(mut self, vth: u32) -> Self {
        self.vth = vth;
        self
    }
    /// Sets [`Self::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// One parameter: the float model's value and what the integers give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approx {
    /// The float model's value.
    pub want: f64,
    /// The value the integer parameters stand for.
    pub got: f64,
}

impl Approx {
    /// `got / want − 1` (0 when both are 0).
    pub fn rel_error(&self) -> f64 {
        if self.want == self.got {
            0.0
        } else {
            self.got / self.want - 1.0
        }
    }
}

/// How one population converted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopConversion {
    /// Population.
    pub name: String,
    /// Its integer parameters.
    pub du: u32,
    /// See [`LoihiLifParams::dv`].
    pub dv: u32,
    /// See [`LoihiLifParams::vth`].
    pub vth: u32,
    /// See [`LoihiLifParams::bias_mant`].
    pub bias_mant: i32,
    /// See [`LoihiLifParams::bias_exp`].
    pub bias_exp: i32,
    /// Voltage LSB per mV.
    pub lsb_per_mv: f64,
    /// Membrane time constant, ms.
    pub tau_m_ms: Approx,
    /// Synaptic time constant, ms (infinite for delta synapses: none).
    pub tau_syn_ms: Approx,
    /// Constant drive per step, mV.
    pub bias_mv: Approx,
}

/// How one projection converted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjConversion {
    /// Projection.
    pub name: String,
    /// Its weight exponent.
    pub weight_exp: i32,
    /// Mantissa per weight unit (pA or mV) before truncation.
    pub mantissa_per_unit: f64,
    /// Relative RMS error of the synapses' effect on `v`, over the build:
    /// `sqrt(Σ(got − want)² / Σ want²)`.
    pub rms_error: f64,
    /// Synapses whose nonzero weight became 0.
    pub zeroed: usize,
    /// Synapses.
    pub synapses: usize,
}

/// The converted model and its report ([`to_loihi`]).
#[derive(Debug, Clone, Serialize)]
pub struct Conversion {
    /// The model with `loihi_lif` populations.
    #[serde(skip)]
    pub model: Network,
    /// Per converted population.
    pub populations: Vec<PopConversion>,
    /// Per projection.
    pub projections: Vec<ProjConversion>,
    /// What Loihi cannot hold and was dropped or approximated.
    pub notes: Vec<String>,
}

fn refuse(what: String) -> crate::Error {
    crate::Error::Unsupported {
        backend: "Loihi conversion",
        what,
    }
}

/// The smallest exponent in `lo..=hi` with `|x| / 2^e ≤ max`, and the mantissa.
fn mant_exp(x: f64, max: f64, lo: i32, hi: i32) -> (i32, i32) {
    let mut e = lo;
    while e < hi && (x / f64::from(e).exp2()).abs().round() > max {
        e += 1;
    }
    let m = (x / f64::from(e).exp2()).round().clamp(-max, max);
    (m as i32, e)
}

/// The float weights of projection `k` of `built`, per synapse, in model units.
fn float_weights(built: &Built, k: usize) -> Vec<f64> {
    let pr = &built.projs[k];
    let unit = built.pops[pr.post].weight_lsb(pr.receptor);
    pr.wfix
        .iter(pr.len())
        .map(|w| f64::from(w) * unit)
        .collect()
}

/// Converts every `lif` population of `net` to `loihi_lif` (module docs).
///
/// ```
/// use astroglia::lava::convert::{to_loihi, ConvertOptions};
/// let net = astroglia::model::Network::from_toml_file("models/cuba.toml").unwrap();
/// let c = to_loihi(&net, &ConvertOptions::default()).unwrap();
/// // At dt = 0.1 ms the 12-bit decay of tau_m = 20 ms is dv = 20: 2 % off.
/// assert!(c.populations.iter().all(|p| p.tau_m_ms.rel_error().abs() < 0.03));
/// assert!(c.projections.iter().all(|p| p.rms_error < 0.01 && p.zeroed == 0));
/// // CUBA's 5 ms refractory period has no place on the chip.
/// assert!(c.notes.iter().any(|n| n.contains("t_ref_ms 5 dropped")));
/// ```
pub fn to_loihi(net: &Network, opts: &ConvertOptions) -> crate::Result<Conversion> {
    to_loihi_built(net, &crate::build::build(net, opts.seed)?, opts)
}

/// [`to_loihi`] of `net` already built as `float_built` (whose seed the
/// weight errors are measured with; `opts.seed` is not used).
pub(crate) fn to_loihi_built(
    net: &Network,
    float_built: &Built,
    opts: &ConvertOptions,
) -> crate::Result<Conversion> {
    let seed = float_built.seed;
    if !(1..=131_071).contains(&opts.vth) {
        return Err(crate::Error::argument(
            "vth",
            format!("must be in 1..=131071, got {}", opts.vth),
        ));
    }
    let dt = net.dt_ms;
    let mut out = net.clone();
    let mut notes = vec![];
    let mut pops = vec![];
    // Per population: LSB of v per weight unit (None: a source).
    let mut gain: Vec<Option<f64>> = vec![];
    for (pi, p) in net.populations.iter().enumerate() {
        let lif = match &p.model {
            NeuronModel::Lif(l) => l,
            m if m.is_source() => {
                gain.push(None);
                continue;
            }
            m => {
                return Err(refuse(format!(
                    "convert '{}': it is {}, and only lif maps to Loihi's neuron",
                    p.name,
                    m.key()
                )));
            }
        };
        let span = lif.v_th_mv - lif.v_reset_mv;
        if !(span > 0.0) {
            return Err(refuse(format!(
                "convert '{}': v_th_mv must lie above v_reset_mv",
                p.name
            )));
        }
        let s = f64::from(opts.vth) * 64.0 / span;
        let [p33, p30, p32e, p32i, p22e, p22i] = lif.propagator(dt);
        let delta = lif.synapse == SynapseKind::Delta;
        let dv = (4096.0 * (1.0 - p33)).round().clamp(0.0, 4095.0) as u32;
        let du = if delta {
            4095
        } else {
            ((4096.0 * (1.0 - p22e)).round() - 1.0).clamp(0.0, 4095.0) as u32
        };
        let bias_want = (1.0 - p33) * (lif.e_l_mv - lif.v_reset_mv) + p30 * lif.i_bias_pa;
        let (bias_mant, bias_exp) = mant_exp(bias_want * s, 4095.0, 0, 7);
        let tau = |keep: f64| {
            if keep >= 1.0 {
                f64::INFINITY
            } else if keep <= 0.0 {
                0.0
            } else {
                -dt / keep.ln()
            }
        };
        pops.push(PopConversion {
            name: p.name.clone(),
            du,
            dv,
            vth: opts.vth,
            bias_mant,
            bias_exp,
            lsb_per_mv: s,
            tau_m_ms: Approx {
                want: lif.tau_m_ms,
                got: tau(f64::from(4096 - dv) / 4096.0),
            },
            tau_syn_ms: Approx {
                want: if delta { 0.0 } else { lif.tau_syn_exc_ms },
                got: tau(f64::from(4096 - du as i32 - 1) / 4096.0),
            },
            bias_mv: Approx {
                want: bias_want,
                got: f64::from(bias_mant << bias_exp) / s,
            },
        });
        let name = &p.name;
        if lif.t_ref_ms > 0.0 {
            notes.push(format!(
                "'{name}': t_ref_ms {} dropped (Loihi's LIF has no refractory period)",
                lif.t_ref_ms
            ));
        }
        if !delta && (p22e != p22i || p32e != p32i) {
            notes.push(format!(
                "'{name}': one current per neuron on Loihi; tau_syn_inh_ms {} becomes tau_syn_exc_ms {}",
                lif.tau_syn_inh_ms, lif.tau_syn_exc_ms
            ));
        }
        if lif.input_order != crate::neuron::InputOrder::BeforeThreshold {
            notes.push(format!(
                "'{name}': input acts before the threshold test on Loihi (input_order ignored)"
            ));
        }
        if p.fixed_point.is_some() {
            notes.push(format!("'{name}': its fixed_point table is replaced"));
        }
        gain.push(Some(if delta { s } else { s * p32e }));
        let q = &mut out.populations[pi];
        q.model = NeuronModel::LoihiLif(
            LoihiLifParams::default()
                .du(du)
                .dv(dv)
                .vth(opts.vth)
                .bias_mant(PerNeuron::One(bias_mant))
                .bias_exp(PerNeuron::One(bias_exp)),
        );
        q.fixed_point = None;
        // Initial v in the shifted frame; other state has no counterpart.
        let init = std::mem::take(&mut q.init);
        for (var, d) in init {
            if var == "v" {
                let shifted = d.affine(s, -lif.v_reset_mv * s).ok_or_else(|| {
                    refuse(format!(
                        "convert '{name}': init.v {d:?} has no shifted form"
                    ))
                })?;
                q.init.insert(var, shifted);
            } else {
                notes.push(format!("'{name}': init.{var} dropped"));
            }
        }
    }
    if !net.inputs.is_empty() {
        return Err(refuse(
            "convert inputs[0]: Loihi's neuron takes bias and spikes only (make the drive a \
             poisson or spike_source population with a projection)"
                .into(),
        ));
    }
    let mut projs = vec![];
    let mut exps = vec![];
    // Negative exponents per target population (the build takes two).
    let mut negative = vec![0; net.populations.len()];
    for (k, pr) in net.projections.iter().enumerate() {
        if pr.plasticity.is_some() {
            return Err(refuse(format!(
                "convert '{}': Lava's bit-accurate Dense is static (no plasticity)",
                pr.label()
            )));
        }
        if matches!(pr.connect, Connect::File { .. }) {
            return Err(refuse(format!(
                "convert '{}': weights read from a file keep their units (scale the file)",
                pr.label()
            )));
        }
        let post = float_built.projs[k].post;
        let g = gain[post].expect("validation: projections end at neurons");
        let w = float_weights(float_built, k);
        let top = w.iter().fold(0.0f64, |m, w| m.max(w.abs())) * g / 64.0;
        let mixed = LoihiSynapses::default().sign_mode_of(&w) == SignMode::Mixed;
        let (_, mut e) = mant_exp(top, if mixed { 254.0 } else { 255.0 }, -8, 7);
        if e < 0 {
            negative[post] += 1;
            if negative[post] > 2 {
                notes.push(format!(
                    "'{}': weight_exp {e} raised to 0 (two other projections onto '{}' have \
                     negative exponents, the most one population takes)",
                    pr.label(),
                    pr.to
                ));
                e = 0;
            }
        }
        let k_m = g / 64.0 / f64::from(e).exp2();
        let q = &mut out.projections[k];
        q.weight = pr.weight.affine(k_m, 0.0).expect("a scaled distribution");
        if let Connect::List {
            weights: Some(ws), ..
        } = &mut q.connect
        {
            ws.iter_mut().for_each(|x| *x *= k_m);
        }
        q.loihi = Some(LoihiSynapses::default().weight_exp(e));
        exps.push((pr.label(), e, k_m, g, w));
    }
    // What the converted model's weights are, synapse by synapse.
    out.monitors.state.retain(|m| {
        let keep = !net
            .population_index(&m.population)
            .is_some_and(|pi| matches!(net.populations[pi].model, NeuronModel::Lif(_)))
            || m.var == "v";
        if !keep {
            notes.push(format!("state monitor {}.{} dropped", m.population, m.var));
        }
        keep
    });
    out.validate()?;
    let built = crate::build::build(&out, seed)?;
    for (k, (name, e, k_m, g, want)) in exps.into_iter().enumerate() {
        let (_, mantissas) = built.loihi_mantissas(&out, k).expect("converted");
        let (mut num, mut den, mut zeroed) = (0.0, 0.0, 0);
        for (&m, w) in mantissas.iter().zip(&want) {
            let got = f64::from(m) * 64.0 * f64::from(e).exp2();
            let w = w * g;
            num += (got - w) * (got - w);
            den += w * w;
            zeroed += (m == 0 && w != 0.0) as usize;
        }
        projs.push(ProjConversion {
            name,
            weight_exp: e,
            mantissa_per_unit: k_m,
            rms_error: if den > 0.0 { (num / den).sqrt() } else { 0.0 },
            zeroed,
            synapses: want.len(),
        });
    }
    Ok(Conversion {
        model: out,
        populations: pops,
        projections: projs,
        notes,
    })
}

impl Conversion {
    /// The report as text: parameters, weights, notes.
    pub fn text(&self) -> String {
        let mut s = String::from(
            "population      du    dv     vth  bias (mant<<exp)   tau_m ms (err)        tau_syn ms (err)      bias mV/step (err)\n",
        );
        let pct = |a: &Approx| format!("{:.4} ({:+.2}%)", a.got, 100.0 * a.rel_error());
        for p in &self.populations {
            s += &format!(
                "{:<14} {:>4} {:>5} {:>7}  {:>6}<<{:<9} {:<21} {:<21} {}\n",
                p.name,
                p.du,
                p.dv,
                p.vth,
                p.bias_mant,
                p.bias_exp,
                pct(&p.tau_m_ms),
                pct(&p.tau_syn_ms),
                pct(&p.bias_mv)
            );
        }
        s += "projection            weight_exp  mantissa/unit   rms error  zeroed\n";
        for p in &self.projections {
            s += &format!(
                "{:<22} {:>9}  {:>13.4}  {:>9.3}%  {} of {}\n",
                p.name,
                p.weight_exp,
                p.mantissa_per_unit,
                100.0 * p.rms_error,
                p.zeroed,
                p.synapses
            );
        }
        for n in &self.notes {
            s += &format!("note: {n}\n");
        }
        s
    }
}
