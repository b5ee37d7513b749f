//! The error of fixed-point mode: a model runs in float and at several state
//! widths over the same seeds, and the population rates and spike counts are
//! compared (`astroglia fixed-point MODEL.toml`).
//!
//! Chaotic networks (CUBA) diverge spike by spike after a few ms whatever the
//! arithmetic, so the comparison is statistical: rates summed over seeds.
use crate::model::{FixedPoint, Network};
use crate::sim::{BackendKind, SimOptions, Simulator};
use serde::Serialize;
use std::collections::BTreeMap;

/// What [`fixed_point_error`] runs.
#[derive(Debug, Clone)]
pub struct ErrorOptions {
    /// State widths to compare with float (each a run per seed).
    pub state_bits: Vec<u32>,
    /// Settings other than `state_bits` (default: [`FixedPoint::default`]).
    pub base: FixedPoint,
    /// Seeds; rates are pooled over them.
    pub seeds: Vec<u64>,
    /// Simulated time per run, ms (default: the model's).
    pub duration_ms: Option<f64>,
    /// Backend of every run.
    pub backend: BackendKind,
}

impl Default for ErrorOptions {
    fn default() -> Self {
        ErrorOptions {
            state_bits: vec![8, 12, 16, 24],
            base: FixedPoint::default(),
            seeds: vec![1, 2, 3, 4],
            duration_ms: None,
            backend: BackendKind::Cpu,
        }
    }
}

/// Spikes and rate of one population in one mode, pooled over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeStat {
    /// `None` for float, else the state width.
    pub state_bits: Option<u32>,
    /// Spikes over every seed.
    pub spikes: u64,
    /// Mean rate over the seeds, Hz.
    pub rate_hz: f64,
    /// (fixed - float) / float rate; 0 for float (null when float is silent).
    pub rate_error: Option<f64>,
    /// Fixed minus float spike count per seed, in seed order.
    pub spike_diff: Vec<i64>,
}

/// The report: per population, float first, then each state width.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReport {
    /// Model name.
    pub model: String,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Simulated time per run, ms.
    pub duration_ms: f64,
    /// The settings besides the state width.
    pub fixed_point: FixedPoint,
    /// Neuron populations (sources left out) and their modes.
    pub populations: BTreeMap<String, Vec<ModeStat>>,
}

/// Runs `net` in float and with every `lif` population in fixed point at each
/// of `opts.state_bits`, over `opts.seeds`.
///
/// ```
/// use astroglia::experiment::fixed_error::{fixed_point_error, ErrorOptions};
/// let net = astroglia::model::parse_toml(
///     "dt_ms = 0.1\nduration_ms = 50\n[[populations]]\nname = \"n\"\nsize = 4\n\
///      lif = { i_bias_pa = 500.0 }\n", "m.toml").unwrap();
/// let opts = ErrorOptions { state_bits: vec![16], seeds: vec![1], ..Default::default() };
/// let r = fixed_point_error(&net, &opts).unwrap();
/// let n = &r.populations["n"];
/// assert_eq!(n[0].state_bits, None);
/// assert!(n[1].rate_error.unwrap().abs() < 0.05);
/// ```
pub fn fixed_point_error(net: &Network, opts: &ErrorOptions) -> crate::Result<ErrorReport> {
    if opts.seeds.is_empty() {
        return Err(crate::Error::setting(
            "seeds",
            "fixed-point error: no seeds".into(),
        ));
    }
    let mut net = net.clone();
    if let Some(d) = opts.duration_ms {
        net.set_duration_from("--duration-ms", d)?;
    }
    let net = &net;
    let duration = net.duration_ms;
    let modes: Vec<Option<u32>> = std::iter::once(None)
        .chain(opts.state_bits.iter().map(|&b| Some(b)))
        .collect();
    let mut populations: BTreeMap<String, Vec<ModeStat>> = BTreeMap::new();
    let mut float_counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut backend = String::new();
    for mode in modes {
        let mut n = net.clone();
        n.set_fixed_point(mode.map(|b| FixedPoint {
            state_bits: b,
            ..opts.base.clone()
        }));
        n.validate()?;
        let mut counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut rates: BTreeMap<String, f64> = BTreeMap::new();
        for &seed in &opts.seeds {
            let mut sim =
                Simulator::new(&n, SimOptions::default().seed(seed).backend(opts.backend))?;
            sim.run_ms(duration)?;
            let s = sim.summary();
            backend = s.backend.clone();
            for (name, p) in s.populations {
                if n.populations
                    .iter()
                    .any(|q| q.name == name && q.model.is_source())
                {
                    continue;
                }
                counts.entry(name.clone()).or_default().push(p.spikes);
                *rates.entry(name).or_default() += p.rate_hz / opts.seeds.len() as f64;
            }
        }
        for (name, c) in counts {
            let rate = rates[&name];
            let float = float_counts
                .entry(name.clone())
                .or_insert_with(|| c.clone());
            let float_rate = populations
                .get(&name)
                .and_then(|v| v.first())
                .map_or(rate, |f| f.rate_hz);
            populations.entry(name).or_default().push(ModeStat {
                state_bits: mode,
                spikes: c.iter().sum(),
                rate_hz: rate,
                rate_error: (float_rate > 0.0).then(|| rate / float_rate - 1.0),
                spike_diff: c
                    .iter()
                    .zip(float.iter())
                    .map(|(&a, &b)| a as i64 - b as i64)
                    .collect(),
            });
        }
    }
    Ok(ErrorReport {
        model: net.name.clone().unwrap_or_else(|| "model".into()),
        backend,
        seeds: opts.seeds.clone(),
        duration_ms: duration,
        fixed_point: opts.base.clone(),
        populations,
    })
}

impl ErrorReport {
    /// A text table: the float rate, then each width's rate and relative error.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{}: fixed point vs float, {} seed(s) × {} ms on {} (weight_bits {}, decay_bits {}, rounding {:?})\n",
            self.model,
            self.seeds.len(),
            self.duration_ms,
            self.backend,
            self.fixed_point.weight_bits,
            self.fixed_point.decay_bits,
            self.fixed_point.rounding
        );
        let Some(first) = self.populations.values().next() else {
            return out;
        };
        out += &format!("  {:<12} {:>10}", "population", "float Hz");
        for m in &first[1..] {
            out += &format!(
                " {:>21}",
                format!("{} bit Hz (error)", m.state_bits.unwrap_or(0))
            );
        }
        out += "\n";
        for (name, modes) in &self.populations {
            out += &format!("  {:<12} {:>10.4}", name, modes[0].rate_hz);
            for m in &modes[1..] {
                let err = m
                    .rate_error
                    .map_or("-".to_string(), |e| format!("{:+.2} %", 100.0 * e));
                out += &format!(" {:>21}", format!("{:.4} ({err})", m.rate_hz));
            }
            out += "\n";
        }
        out
    }
}
