//! One network and input under several plasticity rules, side by side
//! (`astroglia compare`).
//!
//! A rules file lists named variants, each `name` plus exactly one rule table
//! ([`RuleTable`]: a registered rule's key — `stdp`, `triplet`, `nalsm`,
//! `reward_stdp`, `delta`, read as a [`Plasticity`] — or `none = {}` for static
//! weights):
//!
//! ```toml
//! [[rules]]
//! name = "additive"
//! stdp = { a_plus = 0.006, a_minus = 0.0063, w_max = 0.6 }
//! [[rules]]
//! name = "multiplicative"
//! stdp = { weight_dependence = "multiplicative", a_plus = 0.006, a_minus = 0.0063, w_max = 0.6 }
//! ```
//!
//! A variant may run a user-written rule (`user = { model = "pair" }`) that the
//! rules file declares in its own `[[synapse_models]]` tables
//! (docs/user-models.md).
//!
//! Every variant puts its rule on the chosen projections and runs the same model
//! with the same seed, so connectivity, initial state and input spikes are the
//! same; only the rule differs. [`run_compare`] returns a [`Comparison`] (rates,
//! spike hash, weight statistics and optionally the liquid's branching factor per
//! variant), [`write_plots`] draws it.
//!
//! ```
//! use astroglia::experiment::compare::{parse_rules, run_compare, CompareOptions};
//! let net = astroglia::model::parse_toml(r#"
//!     dt_ms = 0.1
//!     [[populations]]
//!     name = "inputs"
//!     size = 50
//!     poisson = { rate_hz = 20.0 }
//!     [[populations]]
//!     name = "cell"
//!     size = 1
//!     lif = {}
//!     [[projections]]
//!     name = "syn"
//!     from = "inputs"
//!     to = "cell"
//!     connect = { all_to_all = {} }
//!     weight = 40.0
//!     plasticity = { stdp = { w_max = 50.0, a_plus = 1.0, a_minus = 1.05 } }
//! "#, "example.toml")?;
//! let rules = parse_rules(r#"
//!     [[rules]]
//!     name = "static"
//!     none = {}
//!     [[rules]]
//!     name = "stdp"
//!     stdp = { w_max = 50.0, a_plus = 1.0, a_minus = 1.05 }
//! "#, "rules.toml")?;
//! let opts = CompareOptions { projections: vec!["all".into()], duration_ms: Some(200.0),
//!                             ..Default::default() };
//! let cmp = run_compare(&net, &rules, &opts, |_, _| {})?;
//! assert_eq!(cmp.variants.len(), 2);
//! assert_eq!(cmp.variants[0].plasticity["syn"].mean_w, 40.0);
//! # Ok::<(), astroglia::Error>(())
//! ```
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis::{BranchingParams, BranchingReport, LiquidGraph, branching_factor};
use crate::error::ModelIssue;
use crate::model::spans;
use crate::model::{Network, SpikeMonitor};
use crate::plasticity::Plasticity;
use crate::plasticity::registry::NamedRuleTable;
pub use crate::plasticity::registry::{NoRule, RuleTable};
#[cfg(feature = "plot")]
use crate::record::plot::{Series, plot_grouped_bars, plot_lines};
use crate::sim::{PlasticSummary, PopSummary, SimOptions, Simulator};
use crate::{Error, Result};

/// One named variant of a rules file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleVariant {
    /// Name shown in tables, plots and `compare.json`.
    pub name: String,
    /// The rule put on the compared projections; `None` for static weights.
    pub rule: Option<Plasticity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rules: Vec<NamedRuleTable>,
    /// User-written rules the variants name (`user = { model = "name" }`).
    #[serde(default)]
    synapse_models: Vec<crate::equations::synapse::SynapseModelSpec>,
}

/// Puts `rule` on projection `k` of `net`. Astrocytes modulate NALSM rules only,
/// so other rules leave the astrocytes' `modulates` lists; static weights need no
/// weight snapshots, so a static projection's weight monitors go.
pub(crate) fn set_rule(net: &mut Network, k: usize, rule: Option<Plasticity>) {
    let label = net.projections[k].label();
    if !rule.as_ref().is_some_and(|r| r.spec().astrocyte) {
        for a in &mut net.astrocytes {
            a.modulates.retain(|m| *m != label);
        }
    }
    if rule.is_none() {
        net.monitors.weights.retain(|m| m.projection != label);
    }
    if let Some(Plasticity::User(crate::plasticity::UserRule {
        spec: Some(spec), ..
    })) = &rule
    {
        if !net.synapse_models.iter().any(|m| m.name == spec.name) {
            net.synapse_models.push((**spec).clone());
        }
    }
    net.projections[k].plasticity = rule;
}

/// Parses a rules file (see the [module docs](self)). Every problem is an
/// [`Error::Rules`] naming `source_name`, the line and the field, e.g.
/// `rules.toml: invalid rules file: line 3: rules[0].stdp.a_plus: ...`.
///
/// ```
/// use astroglia::experiment::compare::parse_rules;
/// let err = parse_rules("[[rules]]\nname = \"a\"\nstdp = { tau_plus_ms = -1.0 }\n", "r.toml")
///     .unwrap_err();
/// assert!(err.to_string().starts_with("r.toml: invalid rules file: line 3: rules[0].stdp.tau_plus_ms:"));
/// ```
pub fn parse_rules(text: &str, source_name: &str) -> Result<Vec<RuleVariant>> {
    let fail = |issues: Vec<ModelIssue>| Error::Rules {
        source_name: source_name.to_string(),
        issues,
    };
    let file: RulesFile =
        crate::model::parse::deserialize_located(text).map_err(|i| fail(vec![i]))?;
    let mut issues = vec![];
    let mut push = |field: String, message: String| {
        issues.push(ModelIssue {
            line: spans::line_of_path(text, &field),
            column: None,
            field,
            message,
        })
    };
    if file.rules.is_empty() {
        push("rules".into(), "no variants: add [[rules]] entries".into());
    }
    for (i, m) in file.synapse_models.iter().enumerate() {
        for e in m.compile().err().unwrap_or_default() {
            push(
                format!("synapse_models[{i}].{}", e.field),
                e.error.to_string(),
            );
        }
    }
    let models: Vec<std::sync::Arc<crate::equations::synapse::SynapseModelSpec>> = file
        .synapse_models
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
    let mut out = vec![];
    for (i, raw) in file.rules.into_iter().enumerate() {
        let f = format!("rules[{i}]");
        if raw.name.trim().is_empty() {
            push(format!("{f}.name"), "must not be empty".into());
        } else if out.iter().any(|v: &RuleVariant| v.name == raw.name) {
            push(
                format!("{f}.name"),
                format!("duplicate variant name '{}'", raw.name),
            );
        }
        let name = raw.name.clone();
        let mut table = raw.table();
        if let Some(u) = &mut table.user {
            u.spec = models.iter().find(|m| m.name == u.model).cloned();
        }
        match table.rule() {
            Ok(rule) => out.push(RuleVariant { name, rule }),
            Err(problems) => {
                for (field, message) in problems {
                    let field = if field.is_empty() {
                        f.clone()
                    } else {
                        format!("{f}.{field}")
                    };
                    push(field, message);
                }
            }
        }
    }
    if !issues.is_empty() {
        issues.sort_by_key(|i| i.line);
        return Err(fail(issues));
    }
    Ok(out)
}

/// Reads and parses a rules file ([`parse_rules`]).
pub fn load_rules(path: &Path) -> Result<Vec<RuleVariant>> {
    let text = crate::input_file::read_text(path)?;
    parse_rules(&text, &path.display().to_string())
}

/// What [`run_compare`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Projections (names, or `from->to` for unnamed ones) that get each variant's
    /// rule; `all` selects every projection that has plasticity in the model.
    pub projections: Vec<String>,
    /// Seed of every variant (default: the model's).
    pub seed: Option<u64>,
    /// Simulated time in ms (default: the model's `duration_ms`).
    pub duration_ms: Option<f64>,
    /// Populations forming the liquid whose branching factor is computed (none:
    /// no branching factor).
    pub bf_populations: Vec<String>,
    /// Length of a branching-factor sample in ms.
    pub bf_sample_ms: f64,
    /// Worker threads of each simulation.
    pub threads: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            projections: vec![],
            seed: None,
            duration_ms: None,
            bf_populations: vec![],
            bf_sample_ms: 250.0,
            threads: 1,
        }
    }
}

/// The outcome of [`run_compare`], written as `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Model name.
    pub model: String,
    /// Seed of every variant.
    pub seed: u64,
    /// Step in ms.
    pub dt_ms: f64,
    /// Simulated time in ms.
    pub duration_ms: f64,
    /// The projections that got each variant's rule.
    pub projections: Vec<String>,
    /// How the branching factor was computed (absent without `bf_populations`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branching: Option<BranchingSetup>,
    /// One entry per variant, in rules-file order.
    pub variants: Vec<VariantResult>,
}

/// The liquid of the branching factor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchingSetup {
    /// Its populations, in liquid-id order.
    pub populations: Vec<String>,
    /// Neurons in it.
    pub neurons: usize,
    /// Distinct recurrent synapses among them (self-connections left out).
    pub edges: usize,
    /// Sample length in ms; sample `k` covers `[k, k + 1) · sample_ms`.
    pub sample_ms: f64,
}

/// The figures of one variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantResult {
    /// Variant name.
    pub name: String,
    /// Its rule (`null` for static weights).
    pub rule: Option<Plasticity>,
    /// Per population: size, spikes, rate_hz, cv_isi.
    pub populations: BTreeMap<String, PopSummary>,
    /// SHA-256 of all spikes (see DESIGN.md).
    pub spikes_sha256: String,
    /// Final weight statistics of each compared projection, over the rule's bounds
    /// (for static weights: the bounds of the model's or another variant's rule).
    pub plasticity: BTreeMap<String, PlasticSummary>,
    /// Branching factor of the liquid per sample, and their mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branching_factor: Option<BranchingReport>,
    /// Seconds spent simulating.
    pub sim_s: f64,
}

/// Indices of the projections `names` selects (`all`: every plastic one). An
/// unknown name is an [`Error::Setting`] listing the known ones.
pub fn resolve_projections(net: &Network, names: &[String]) -> Result<Vec<usize>> {
    if names.is_empty() {
        return Err(Error::setting(
            "--projection",
            "give at least one --projection (a projection name, or `all`)".into(),
        ));
    }
    let mut out = vec![];
    for name in names {
        if name == "all" {
            let plastic: Vec<usize> = (0..net.projections.len())
                .filter(|&k| net.projections[k].plasticity.is_some())
                .collect();
            if plastic.is_empty() {
                return Err(Error::setting(
                    "--projection",
                    "--projection all: the model has no projection with plasticity; \
                     name the projections instead"
                        .into(),
                ));
            }
            out.extend(plastic);
            continue;
        }
        match net.projections.iter().position(|p| &p.label() == name) {
            Some(k) => out.push(k),
            None => {
                let known: Vec<String> = net.projections.iter().map(|p| p.label()).collect();
                return Err(Error::setting(
                    "--projection",
                    format!(
                        "--projection {name}: no such projection (known: {})",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Bins `w` like [`PlasticSummary::of`], for static weights with no rule bounds.
fn stats(w: &[f32], bounds: Option<(f64, f64)>) -> PlasticSummary {
    let (lo, hi) = bounds.unwrap_or_else(|| {
        let lo = w.iter().fold(f64::INFINITY, |a, &x| a.min(x as f64));
        let hi = w.iter().fold(f64::NEG_INFINITY, |a, &x| a.max(x as f64));
        if lo.is_finite() && hi > lo {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 0.5, lo + 0.5)
        } else {
            (0.0, 1.0)
        }
    });
    PlasticSummary::of(w, lo, hi)
}

/// Runs `net` once per variant (see the [module docs](self)); `progress(variant,
/// steps_done)` is called as each runs. Unknown projections or populations, a
/// rule that does not fit the model and bad durations are [`Error::Setting`].
pub fn run_compare(
    net: &Network,
    variants: &[RuleVariant],
    opts: &CompareOptions,
    mut progress: impl FnMut(usize, u64),
) -> Result<Comparison> {
    let mut net = net.clone();
    if let Some(d) = opts.duration_ms {
        net.set_duration_from("--duration-ms", d)?;
    }
    if variants.is_empty() {
        return Err(Error::setting(
            "variants",
            "no rule variants to compare".into(),
        ));
    }
    let projs = resolve_projections(&net, &opts.projections)?;
    let seed = opts.seed.unwrap_or(net.seed);
    let steps = (net.duration_ms / net.dt_ms).round() as u64;

    // The liquid: its populations, their liquid-id offsets and recurrent edges.
    let liquid = if opts.bf_populations.is_empty() {
        None
    } else {
        Some(liquid_graph(&mut net, seed, steps, opts)?)
    };

    // Bounds for static-weight variants: the model's rule, else a variant's.
    let fallback: Vec<Option<(f64, f64)>> = projs
        .iter()
        .map(|&k| {
            net.projections[k]
                .plasticity
                .as_ref()
                .or_else(|| variants.iter().find_map(|v| v.rule.as_ref()))
                .map(|r| r.bounds())
        })
        .collect();

    let mut results = vec![];
    for (vi, v) in variants.iter().enumerate() {
        let mut vnet = net.clone();
        for &k in &projs {
            set_rule(&mut vnet, k, v.rule.clone());
        }
        vnet.validate().map_err(|e| match e {
            Error::Model { issues, .. } => Error::setting(
                "variants",
                format!(
                    "variant '{}' does not fit the model: {}",
                    v.name,
                    issues
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            other => other,
        })?;
        let mut sim = Simulator::new(
            &vnet,
            SimOptions::default()
                .seed(seed)
                .threads(opts.threads.max(1)),
        )?;
        sim.run_steps(steps, |done| progress(vi, done))?;
        let summary = sim.summary();
        let mut plasticity = BTreeMap::new();
        for (j, &k) in projs.iter().enumerate() {
            let name = vnet.projections[k].label();
            let w = sim.weights(0, &name)?;
            let bounds = v.rule.as_ref().map(|r| r.bounds()).or(fallback[j]);
            plasticity.insert(name, stats(&w, bounds));
        }
        let branching_factor = match &liquid {
            None => None,
            Some(l) => Some(l.branching(&sim, steps, net.dt_ms)?),
        };
        results.push(VariantResult {
            name: v.name.clone(),
            rule: v.rule.clone(),
            populations: summary.populations,
            spikes_sha256: summary.spikes_sha256,
            plasticity,
            branching_factor,
            sim_s: summary.sim_s,
        });
    }
    Ok(Comparison {
        model: net.name.clone().unwrap_or_else(|| "model".into()),
        seed,
        dt_ms: net.dt_ms,
        duration_ms: steps as f64 * net.dt_ms,
        projections: projs.iter().map(|&k| net.projections[k].label()).collect(),
        branching: liquid.map(|l| l.setup),
        variants: results,
    })
}

struct Liquid {
    setup: BranchingSetup,
    graph: LiquidGraph,
    /// (population name, liquid-id offset).
    offsets: Vec<(String, u32)>,
    sample_steps: u64,
}

/// Builds the liquid graph and makes sure its populations' spikes are recorded.
fn liquid_graph(net: &mut Network, seed: u64, steps: u64, opts: &CompareOptions) -> Result<Liquid> {
    let mut pops: Vec<usize> = vec![];
    for name in &opts.bf_populations {
        let Some(i) = net.population_index(name) else {
            let known: Vec<&str> = net.populations.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::setting(
                "--bf-population",
                format!(
                    "--bf-population {name}: no such population (known: {})",
                    known.join(", ")
                ),
            ));
        };
        if !pops.contains(&i) {
            pops.push(i);
        }
    }
    let ms = opts.bf_sample_ms;
    if !(ms.is_finite() && ms > 0.0) {
        return Err(Error::setting(
            "--bf-sample-ms",
            format!("--bf-sample-ms must be a positive number, got {ms}"),
        ));
    }
    let sample_steps = (ms / net.dt_ms).round() as u64;
    if sample_steps == 0 || sample_steps > steps {
        return Err(Error::setting(
            "--bf-sample-ms",
            format!(
                "--bf-sample-ms {ms} does not fit in the simulated {} ms",
                steps as f64 * net.dt_ms
            ),
        ));
    }
    let built = crate::build::build(net, seed)?;
    let (graph, ids) = LiquidGraph::of_populations(&built, &pops)?;
    let offsets: Vec<(String, u32)> = pops
        .iter()
        .zip(ids)
        .map(|(&i, off)| (built.pops[i].name.clone(), off))
        .collect();
    let n = graph.len() as u32;
    if graph.n_edges() == 0 {
        return Err(Error::setting(
            "--bf-population",
            format!(
                "--bf-population {}: no projection connects these populations to each other",
                opts.bf_populations.join(", ")
            ),
        ));
    }
    // Record every spike of the liquid (no spike monitors means all are recorded).
    if let Some(monitors) = &mut net.monitors.spikes {
        let names: Vec<String> = pops
            .iter()
            .map(|&i| net.populations[i].name.clone())
            .collect();
        monitors.retain(|m| !names.contains(&m.population));
        monitors.extend(names.into_iter().map(|population| SpikeMonitor {
            population,
            ids: None,
        }));
    }
    Ok(Liquid {
        setup: BranchingSetup {
            populations: pops
                .iter()
                .map(|&i| net.populations[i].name.clone())
                .collect(),
            neurons: n as usize,
            edges: graph.n_edges(),
            sample_ms: sample_steps as f64 * net.dt_ms,
        },
        graph,
        offsets,
        sample_steps,
    })
}

impl Liquid {
    fn branching(&self, sim: &Simulator, steps: u64, dt_ms: f64) -> Result<BranchingReport> {
        let rec = sim.recording();
        let mut spikes = vec![];
        for (name, off) in &self.offsets {
            if let Some(p) = rec.spikes.iter().find(|p| &p.population == name) {
                spikes.extend(p.steps.iter().zip(&p.ids).map(|(&s, &i)| (s, off + i)));
            }
        }
        let starts: Vec<u64> = (0..steps / self.sample_steps)
            .map(|k| k * self.sample_steps)
            .collect();
        branching_factor(
            &self.graph,
            &spikes,
            &starts,
            self.sample_steps,
            dt_ms,
            &BranchingParams::default(),
        )
    }
}

/// Writes `weights.png` (final weight distribution of each compared projection,
/// every variant overlaid), `rates.png` (rate of each non-source population per
/// variant) and, when computed, `branching.png` (branching factor per sample over
/// time per variant) into `dir`. `sources` names populations left out of
/// `rates.png` (unless nothing else is left). Needs the `plot` feature.
#[cfg(feature = "plot")]
pub fn write_plots(dir: &Path, cmp: &Comparison, sources: &[String]) -> Result<()> {
    let title = |what: &str| {
        format!(
            "{} — {what}, seed {}, {} ms",
            cmp.model, cmp.seed, cmp.duration_ms
        )
    };
    let panels: Vec<(String, Vec<Series>)> = cmp
        .projections
        .iter()
        .map(|proj| {
            let series = cmp
                .variants
                .iter()
                .filter_map(|v| {
                    let s = v.plasticity.get(proj)?;
                    let n = s.hist.iter().sum::<u64>().max(1) as f64;
                    let width = (s.w_max - s.w_min) / s.hist.len() as f64;
                    // A step outline of the histogram, as fractions of synapses.
                    let mut points = vec![(s.w_min, 0.0)];
                    for (i, &c) in s.hist.iter().enumerate() {
                        let x0 = s.w_min + i as f64 * width;
                        let y = c as f64 / n;
                        points.push((x0, y));
                        points.push((x0 + width, y));
                    }
                    points.push((s.w_max, 0.0));
                    Some(Series {
                        label: v.name.clone(),
                        points,
                    })
                })
                .collect();
            (title(&format!("final weights of '{proj}'")), series)
        })
        .collect();
    if !panels.is_empty() {
        plot_lines(
            &dir.join("weights.png"),
            &panels,
            "weight",
            "fraction of synapses",
        )?;
    }

    let all: Vec<String> = cmp
        .variants
        .first()
        .map(|v| v.populations.keys().cloned().collect())
        .unwrap_or_default();
    let mut groups: Vec<String> = all
        .iter()
        .filter(|p| !sources.contains(p))
        .cloned()
        .collect();
    if groups.is_empty() {
        groups = all;
    }
    let series: Vec<(String, Vec<f64>)> = cmp
        .variants
        .iter()
        .map(|v| {
            let rates = groups
                .iter()
                .map(|g| v.populations.get(g).map_or(0.0, |p| p.rate_hz))
                .collect();
            (v.name.clone(), rates)
        })
        .collect();
    if !groups.is_empty() {
        plot_grouped_bars(
            &dir.join("rates.png"),
            &groups,
            &series,
            &title("population rates"),
            "rate (Hz per neuron)",
        )?;
    }

    if let Some(b) = &cmp.branching {
        let series: Vec<Series> = cmp
            .variants
            .iter()
            .filter_map(|v| {
                let r = v.branching_factor.as_ref()?;
                let points = r
                    .per_sample
                    .iter()
                    .enumerate()
                    .map(|(k, bf)| {
                        (
                            (k as f64 + 0.5) * b.sample_ms / 1000.0,
                            bf.unwrap_or(f64::NAN),
                        )
                    })
                    .collect();
                Some(Series {
                    label: v.name.clone(),
                    points,
                })
            })
            .collect();
        plot_lines(
            &dir.join("branching.png"),
            &[(
                title(&format!(
                    "branching factor of {} per {} ms sample",
                    b.populations.join("+"),
                    b.sample_ms
                )),
                series,
            )],
            "time (s)",
            "branching factor",
        )?;
    }
    Ok(())
}

/// One line per variant: rates of the non-`sources` populations, weight
/// statistics of each compared projection, mean branching factor and the start of
/// the spike hash.
pub fn table(cmp: &Comparison, sources: &[String]) -> String {
    use std::fmt::Write as _;
    let width = cmp
        .variants
        .iter()
        .map(|v| v.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut out = String::new();
    for v in &cmp.variants {
        let _ = write!(out, "{:<width$}", v.name);
        let mut shown = false;
        for (p, s) in &v.populations {
            if !sources.contains(p) {
                let _ = write!(out, "  {p} {:.2} Hz", s.rate_hz);
                shown = true;
            }
        }
        if !shown {
            for (p, s) in &v.populations {
                let _ = write!(out, "  {p} {:.2} Hz", s.rate_hz);
            }
        }
        for (proj, s) in &v.plasticity {
            let _ = write!(
                out,
                "  {proj}: mean_w {:.4} >90% {:.3} <10% {:.3}",
                s.mean_w, s.frac_above_90pct, s.frac_below_10pct
            );
        }
        if let Some(r) = &v.branching_factor {
            let _ = write!(
                out,
                "  BF {}",
                r.mean.map_or("-".into(), |m| format!("{m:.3}"))
            );
        }
        let _ = writeln!(out, "  sha256 {}", &v.spikes_sha256[..12]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_rules(text, "r.toml").unwrap_err().to_string()
    }

    #[test]
    fn bad_rules_files_are_located() {
        assert_eq!(
            err("[[rules]]\nname = \"a\"\nstdp = { a_pluss = 1.0 }\n"),
            "r.toml: invalid rules file: line 3: rules[0].stdp.a_pluss: unknown field `a_pluss`, \
             expected one of `pairing`, `weight_dependence`, `tau_plus_ms`, `tau_minus_ms`, \
             `a_plus`, `a_minus`, `w_min`, `w_max`"
        );
        let e = err("[[rules]]\nname = \"a\"\nhebb = {}\n");
        assert!(
            e.starts_with("r.toml: invalid rules file: line 3: rules[0].hebb:"),
            "{e}"
        );
        let e = err("[[rules]]\nname = \"a\"\n");
        assert!(e.contains("line 1: rules[0]: needs one rule table"), "{e}");
        let e = err("[[rules]]\nname = \"a\"\nnone = {}\nstdp = {}\n");
        assert!(
            e.contains("line 4: rules[0].stdp: several rule tables (none, stdp)"),
            "{e}"
        );
        let e = err("[[rules]]\nname = \"a\"\nnone = {}\n[[rules]]\nname = \"a\"\nnone = {}\n");
        assert!(
            e.contains("line 5: rules[1].name: duplicate variant name 'a'"),
            "{e}"
        );
        let e = err("[[rules]]\nname = \"a\"\nstdp = { w_min = 1.0, w_max = 0.5 }\n");
        assert!(e.contains("line 3: rules[0].stdp."), "{e}");
        let e = err("[[rules]]\nname = \"a\"\nnone = { x = 1 }\n");
        assert!(e.contains("line 3: rules[0].none"), "{e}");
        let e = err("rules = [\n");
        assert!(e.contains("syntax"), "{e}");
        let e = err("");
        assert!(e.contains("missing field `rules`"), "{e}");
        let e = err("rules = []\n");
        assert!(e.contains("line 1: rules: no variants"), "{e}");
        let e = err("[[rules]]\nname = 3\nnone = {}\n");
        assert!(e.contains("line 2: rules[0].name"), "{e}");
    }

    #[test]
    fn parses_every_rule_kind() {
        let v = parse_rules(
            "[[rules]]\nname = \"s\"\nnone = {}\n[[rules]]\nname = \"t\"\ntriplet = { w_max = 0.6 }\n\
             [[rules]]\nname = \"n\"\nstdp = { pairing = \"nearest\" }\n",
            "r.toml",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].rule, None);
        assert_eq!(v[1].rule.as_ref().unwrap().key(), "triplet");
        assert_eq!(v[2].rule.as_ref().unwrap().key(), "stdp");
    }
}
