//! Plasticity variants of one experiment (`[[variants]]`): the same liquid, data,
//! encoder and readout under several rules, compared in one table and figure.
//!
//! Each variant is the experiment's model with some projections' rules replaced
//! ([`variant_network`]); everything else — connectivity, initial weights, neuron
//! parameters, input spikes, splits and seeds — is the same, and
//! [`run_variants`] checks that every variant builds the same synapses. Each
//! variant runs the whole pipeline (init phase where it has plastic projections,
//! feature phase, readout) with its outputs in `OUT/<variant>/`; the comparison
//! goes to `OUT/comparison.json` and `OUT/comparison.png`.

use std::path::Path;

use serde::Serialize;

use super::{Experiment, RunArtifacts, RunOptions, VariantSpec, run_network};
use crate::build::build;
use crate::experiment::compare::set_rule;
use crate::model::Network;
#[cfg(feature = "plot")]
use crate::record::plot::{BarPanel, plot_bar_panels};
use crate::record::write_json_atomic;
use crate::{Error, Result};

/// One variant's row of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantRow {
    /// Variant name.
    pub name: String,
    /// Projections with a rule, and the rule's key (`stdp`, `nalsm`, ...).
    pub plastic: Vec<(String, String)>,
    /// Whether astrocytes modulate any projection.
    pub astrocytes: bool,
    /// Liquid readout accuracies.
    pub test_accuracy: f64,
    /// Validation accuracy.
    pub val_accuracy: f64,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Mean branching factor (when measured).
    pub branching_factor: Option<f64>,
    /// Mean liquid firing rate, Hz.
    pub liquid_rate_hz: f64,
    /// Feature-phase wall time per simulated sample, ms (all instances
    /// together; `None` when every sample came from the cache).
    pub ms_per_sample: Option<f64>,
    /// Init phase, s (0 without one or when cached).
    pub init_s: f64,
    /// The variant's whole run, s.
    pub wall_s: f64,
}

/// The comparison of an experiment's variants (`comparison.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Experiment name.
    pub name: String,
    /// Backend.
    pub backend: String,
    /// Samples in train / validation / test.
    pub samples: [usize; 3],
    /// The readout on the input spike counts (the same for every variant).
    pub input_baseline_test_accuracy: f64,
    /// One row per variant, in file order.
    pub variants: Vec<VariantRow>,
}

/// The model with `v`'s rules put on its projections (see
/// [`VariantSpec::plasticity`]); errors name the variant and the problem.
pub fn variant_network(net: &Network, v: &VariantSpec) -> Result<Network> {
    let fail = |msg: String| Error::setting("variants", format!("variant '{}': {msg}", v.name));
    let mut vnet = net.clone();
    if let Some(unknown) = v
        .plasticity
        .keys()
        .find(|k| *k != "*" && !net.projections.iter().any(|p| p.label() == **k))
    {
        let names: Vec<String> = net.projections.iter().map(|p| p.label()).collect();
        return Err(fail(format!(
            "plasticity: no projection '{unknown}' in the model (it has {})",
            names.join(", ")
        )));
    }
    for k in 0..vnet.projections.len() {
        let label = vnet.projections[k].label();
        let table = v.plasticity.get(&label).or_else(|| v.plasticity.get("*"));
        if let Some(table) = table {
            // A user rule names a [[synapse_models]] entry of the model file.
            let mut table = table.clone();
            if let Some(u) = &mut table.user {
                if u.spec.is_none() {
                    u.spec = net
                        .synapse_models
                        .iter()
                        .find(|m| m.name == u.model)
                        .map(|m| std::sync::Arc::new(m.clone()));
                }
            }
            let rule = table
                .rule()
                .map_err(|p| fail(format!("plasticity.{label}: {}", p[0].1)))?;
            set_rule(&mut vnet, k, rule);
        }
    }
    if !v.astrocytes {
        let names: Vec<String> = vnet.astrocytes.iter().map(|a| a.name.clone()).collect();
        vnet.astrocytes.clear();
        vnet.monitors
            .astrocytes
            .retain(|m| !names.contains(&m.astrocyte));
    }
    vnet.validate().map_err(|e| match e {
        Error::Model { issues, .. } => fail(format!(
            "does not fit the model: {}",
            issues
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )),
        other => other,
    })?;
    Ok(vnet)
}

/// Runs every variant of `exp` through the whole pipeline, `OUT/<variant>/`
/// holding each one's cache and outputs; `on_run` gets each finished run (to
/// write its report). Errors before any simulation when a variant does not fit
/// the model or builds different synapses than the first.
pub fn run_variants(
    exp: &Experiment,
    base: &Path,
    opts: &RunOptions,
    mut on_run: impl FnMut(&VariantSpec, &RunArtifacts) -> Result<()>,
) -> Result<Comparison> {
    if exp.variants.is_empty() {
        return Err(Error::setting(
            "variants",
            "the experiment has no [[variants]]: run it with run_experiment".into(),
        ));
    }
    let model_path = base.join(&exp.model);
    let net = Network::from_toml_file(&model_path)?;
    let nets = exp
        .variants
        .iter()
        .map(|v| variant_network(&net, v))
        .collect::<Result<Vec<_>>>()?;
    same_synapses(exp, &nets)?;

    let mut single = exp.clone();
    single.variants.clear();
    let mut rows = vec![];
    // Only the first run's results are kept: they name the backend and splits.
    let mut first: Option<super::Results> = None;
    for (v, vnet) in exp.variants.iter().zip(&nets) {
        let mut vopts = opts.clone();
        vopts.out = opts.out.join(&v.name);
        std::fs::create_dir_all(&vopts.out).map_err(|e| Error::io(&vopts.out, e))?;
        single.name = Some(format!(
            "{}/{}",
            exp.name.as_deref().unwrap_or("experiment"),
            v.name
        ));
        let key = serde_json::to_string(vnet).expect("serialisable");
        let run = run_network(&single, vnet, &model_path, &key, base, &vopts)?;
        on_run(v, &run)?;
        let r = &run.results;
        rows.push(VariantRow {
            name: v.name.clone(),
            plastic: vnet
                .projections
                .iter()
                .filter_map(|p| Some((p.label(), p.plasticity.as_ref()?.key().to_string())))
                .collect(),
            astrocytes: vnet.astrocytes.iter().any(|a| !a.modulates.is_empty()),
            test_accuracy: r.test_accuracy,
            val_accuracy: r.val_accuracy,
            train_accuracy: r.train_accuracy,
            branching_factor: r.branching_factor,
            liquid_rate_hz: r.liquid_rate_hz,
            ms_per_sample: (r.samples_per_s > 0.0).then(|| 1000.0 / r.samples_per_s),
            init_s: r.timings.init_s,
            wall_s: r.wall_s,
        });
        first.get_or_insert(run.results);
    }
    let r = &first.expect("at least one variant");
    Ok(Comparison {
        name: exp.name.clone().unwrap_or_else(|| "experiment".into()),
        backend: r.backend.clone(),
        samples: [r.n_train, r.n_val, r.n_test],
        input_baseline_test_accuracy: r.input_baseline.test_accuracy,
        variants: rows,
    })
}

/// Every variant must build the first one's synapses (targets, initial weights,
/// delays).
fn same_synapses(exp: &Experiment, nets: &[Network]) -> Result<()> {
    let built = nets
        .iter()
        .map(|n| build(n, exp.seed))
        .collect::<Result<Vec<_>>>()?;
    for (v, b) in exp.variants.iter().zip(&built).skip(1) {
        for (p, q) in built[0].projs.iter().zip(b.projs.iter()) {
            let same = p.pre == q.pre
                && p.post == q.post
                && p.row_ptr == q.row_ptr
                && p.targets == q.targets
                && p.wfix == q.wfix
                && p.delays == q.delays;
            if !same {
                return Err(Error::setting(
                    "variants",
                    format!(
                        "variant '{}': projection '{}' builds other synapses than in variant '{}'",
                        v.name, p.name, exp.variants[0].name
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Comparison {
    /// The comparison as a Markdown table (accuracies in %, cost per sample in
    /// ms of feature-phase wall time).
    pub fn table(&self) -> String {
        let mut t = String::from(
            "| variant | rules | test % | val % | train % | BF | rate (Hz) | ms/sample | init (s) |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for v in &self.variants {
            let mut rules: Vec<&str> = v.plastic.iter().map(|(_, r)| r.as_str()).collect();
            rules.sort_unstable();
            rules.dedup();
            let rules = if rules.is_empty() {
                "static".to_string()
            } else {
                rules.join("+") + if v.astrocytes { " + astrocyte" } else { "" }
            };
            t += &format!(
                "| {} | {} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {} | {:.1} |\n",
                v.name,
                rules,
                100.0 * v.test_accuracy,
                100.0 * v.val_accuracy,
                100.0 * v.train_accuracy,
                v.branching_factor.map_or("-".into(), |b| format!("{b:.3}")),
                v.liquid_rate_hz,
                v.ms_per_sample
                    .map_or("cached".into(), |m| format!("{m:.2}")),
                v.init_s,
            );
        }
        t += &format!(
            "| input counts | - | {:.2} | | | | | | |\n",
            100.0 * self.input_baseline_test_accuracy
        );
        t
    }
}

/// Writes `comparison.json` and, with the `plot` feature, `comparison.png` (test
/// accuracy, branching factor, liquid rate and cost per sample, one panel each)
/// into `dir`.
pub fn write_comparison(dir: &Path, cmp: &Comparison) -> Result<()> {
    write_json_atomic(&dir.join("comparison.json"), cmp)?;
    #[cfg(feature = "plot")]
    plot_comparison(dir, cmp)?;
    Ok(())
}

#[cfg(feature = "plot")]
fn plot_comparison(dir: &Path, cmp: &Comparison) -> Result<()> {
    let names: Vec<String> = cmp.variants.iter().map(|v| v.name.clone()).collect();
    let col = |f: &dyn Fn(&VariantRow) -> f64| cmp.variants.iter().map(f).collect::<Vec<_>>();
    let panels: Vec<BarPanel> = vec![
        (
            format!("{}: test accuracy", cmp.name),
            "accuracy (%)".into(),
            col(&|v| 100.0 * v.test_accuracy),
        ),
        (
            "branching factor".into(),
            "BF".into(),
            col(&|v| v.branching_factor.unwrap_or(f64::NAN)),
        ),
        (
            "liquid firing rate".into(),
            "rate (Hz)".into(),
            col(&|v| v.liquid_rate_hz),
        ),
        (
            "feature-phase cost".into(),
            "ms per sample".into(),
            col(&|v| v.ms_per_sample.unwrap_or(f64::NAN)),
        ),
    ];
    plot_bar_panels(&dir.join("comparison.png"), &names, &panels)
}
