//! User-written plasticity rules (`[[synapse_models]]`): the pair-STDP copy
//! gives the built-in rule's spikes and final weights bit for bit over 100 s,
//! every shipped rule gives the same spikes and weights on the CPU and the GPU
//! (alone and in a batch), the BCM rule's sliding threshold brings an
//! over-driven neuron's rate down and holds it, and the third factors
//! (modulator, error) reach a user rule the same way on both backends.
use super::gpu_parity::{exact, gpu};
use super::gpu_plasticity::{cpu_sim, gpu_sim};
use super::util::{load, model_path, run};
use astroglia::build::build;
use astroglia::model::{Network, parse_toml};
use astroglia::sim::Simulator;

fn user(name: &str) -> Network {
    Network::from_toml_file(model_path(&format!("user/{name}"))).expect("shipped model is valid")
}

fn bits(w: &[f32]) -> Vec<u32> {
    w.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn stdp_song_user_gives_the_built_in_spikes_and_weights_over_100_s() {
    let (builtin, written) = (load("stdp_song.toml"), user("stdp_song_user.toml"));
    assert_eq!(builtin.duration_ms, 100_000.0);
    assert_eq!(written.duration_ms, 100_000.0);
    let (mut a, mut b) = (run(&builtin, 1), run(&written, 1));
    let (sa, sb) = (a.summary(), b.summary());
    assert!(sa.populations["neuron"].spikes > 1000, "the neuron fires");
    assert_eq!(sa.spikes_sha256, sb.spikes_sha256);
    let (wa, wb) = (a.weights(0, "stdp").unwrap(), b.weights(0, "stdp").unwrap());
    assert_eq!(bits(&wa), bits(&wb), "final weights bit for bit");
    // The run did learn: the weights went bimodal (Song et al. 2000).
    let high = wa.iter().filter(|&&w| w > 0.9 * 0.6).count();
    let low = wa.iter().filter(|&&w| w < 0.1 * 0.6).count();
    assert!(high > 100 && low > 100, "{high} high, {low} low");
}

/// The shipped user rules, shortened for lavapipe.
fn shipped() -> Vec<(&'static str, Network, f64)> {
    vec![
        ("stdp_song_user", user("stdp_song_user.toml"), 300.0),
        ("bcm_user", user("bcm_user.toml"), 300.0),
    ]
}

#[test]
fn every_shipped_user_rule_gives_the_same_spikes_and_weights_on_cpu_and_gpu() {
    let Some(ctx) = gpu() else { return };
    for (name, net, ms) in shipped() {
        let built = build(&net, 2).unwrap();
        let (mut c, mut g) = (cpu_sim(&net, &built), gpu_sim(&ctx, &net, &built));
        c.run_ms(ms).unwrap();
        g.run_ms(ms).unwrap();
        let label = net.projections[0].label();
        let proj = label.as_str();
        let (wc, wg) = (c.weights(0, proj).unwrap(), g.weights(0, proj).unwrap());
        let w0 = cpu_sim(&net, &built).weights(0, proj).unwrap();
        assert_ne!(bits(&wc), bits(&w0), "{name}: the weights changed");
        if exact(&ctx) {
            assert_eq!(
                c.summary().spikes_sha256,
                g.summary().spikes_sha256,
                "{name}"
            );
            assert_eq!(bits(&wc), bits(&wg), "{name}: weights");
            for var in ["a_pre", "a_post", "x", "y", "theta"] {
                if let Ok(tc) = c.trace(0, proj, var) {
                    assert_eq!(
                        bits(&tc),
                        bits(&g.trace(0, proj, var).unwrap()),
                        "{name} {var}"
                    );
                }
            }
        }
    }
}

#[test]
fn bcm_threshold_brings_the_rate_down_and_holds_it() {
    let net = user("bcm_user.toml");
    let sim = run(&net, 1);
    let rec = sim.recording();
    let rates = &rec
        .rates
        .iter()
        .find(|r| r.population == "cells")
        .expect("rate monitor")
        .rates_hz;
    assert_eq!(rates.len(), 20);
    let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len() as f64;
    let (first, last) = (rates[0], mean(&rates[15..]));
    // theta starts at 1 (far below y² of a neuron firing at 60 Hz): synapses
    // grow, theta catches up, and the rate falls to where y² ≈ theta.
    assert!(
        first > 2.0 * last,
        "first second {first} Hz, last 5 s {last} Hz"
    );
    for r in &rates[10..] {
        assert!((r - last).abs() < 0.35 * last, "{rates:?}");
    }
}

const THIRD: &str = r#"
dt_ms = 0.1
duration_ms = 200.0

[[synapse_models]]
name = "gated"
parameters = { tau = 20.0, eta = 0.05 }
pre = { x = 0.0 }
post = { e = 0.0 }
equations = """
dx/dt = -x / tau
de/dt = (error - e) / tau
"""
on_pre = "x += 1"
on_post = "w += eta * modulator * x + eta * e"
w_min = 0.0
w_max = 100.0
method = { x = "exact", e = "euler" }

[[populations]]
name = "in"
size = 40
poisson = { rate_hz = 50.0 }

[[populations]]
name = "out"
size = 6
lif = { t_ref_ms = 2.0 }

[[projections]]
name = "p"
from = "in"
to = "out"
connect = { all_to_all = {} }
weight = 40.0
plasticity = { user = { model = "gated" } }
"#;

/// The weight changes follow the modulator's sign and the error, set
/// between runs, identically on both backends.
#[test]
fn modulator_and_error_reach_a_user_rule_on_both_backends() {
    let net = parse_toml(THIRD, "third.toml").unwrap();
    let built = build(&net, 3).unwrap();
    let drive = |sim: &mut Simulator, m: f32, err: f32| -> Vec<f32> {
        sim.set_modulator(0, "p", m).unwrap();
        sim.set_error(0, "p", &[err; 6]).unwrap();
        sim.run_ms(100.0).unwrap();
        sim.weights(0, "p").unwrap()
    };
    let mut c = cpu_sim(&net, &built);
    let w0 = c.weights(0, "p").unwrap();
    let up = drive(&mut c, 1.0, 0.0);
    let down = drive(&mut c, -1.0, -0.5);
    let sum = |w: &[f32]| w.iter().map(|&x| f64::from(x)).sum::<f64>();
    assert!(
        sum(&up) > sum(&w0) + 1.0,
        "a positive modulator potentiates"
    );
    assert!(
        sum(&down) < sum(&up) - 1.0,
        "a negative one (and error) depresses"
    );
    let Some(ctx) = gpu() else { return };
    let mut g = gpu_sim(&ctx, &net, &built);
    let (gu, gd) = (drive(&mut g, 1.0, 0.0), drive(&mut g, -1.0, -0.5));
    if exact(&ctx) {
        assert_eq!(bits(&up), bits(&gu));
        assert_eq!(bits(&down), bits(&gd));
        assert_eq!(
            bits(&c.trace(0, "p", "e").unwrap()),
            bits(&g.trace(0, "p", "e").unwrap())
        );
        assert_eq!(c.summary().spikes_sha256, g.summary().spikes_sha256);
    }
}

/// The generated shader of every shipped user rule (and of a clock-driven
/// one) is valid WGSL and compiles to NoContraction SPIR-V: checked without
/// a GPU.
#[test]
fn generated_rule_shaders_compile_to_exact_spirv() {
    use astroglia::backend::gpu::spirv::exact_spirv;
    use astroglia::model::SynapseModelSpec;
    let mut specs: Vec<SynapseModelSpec> = shipped()
        .into_iter()
        .flat_map(|(_, n, _)| n.synapse_models)
        .collect();
    let mut clock = specs[0].clone();
    clock.name = "clock".into();
    clock.synapse = toml::from_str("u = 0.5").unwrap();
    clock
        .equations
        .push_str("du/dt = (a_pre * a_post - u) / tau_pre\n");
    clock.on_post = "w += a_plus * a_pre * u; a_post += 1".into();
    specs.push(clock);
    for spec in &specs {
        let model = spec
            .compile()
            .unwrap_or_else(|e| panic!("{}: {e:?}", spec.name));
        let src = model.wgsl(10, 3, 30, 0.1);
        exact_spirv(&spec.name, &src).unwrap_or_else(|e| panic!("{}: {e}\n{src}", spec.name));
    }
    assert!(specs.last().unwrap().compile().unwrap().clock_driven());
}

/// `astroglia compare` runs a user-written rule beside the built-ins: the
/// rules file declares it, and its copy of pair STDP gives the built-in
/// variant's spikes and weight statistics.
#[test]
fn compare_runs_a_user_rule_beside_the_built_in_one() {
    use astroglia::experiment::compare::{CompareOptions, parse_rules, run_compare};
    let written = user("stdp_song_user.toml");
    let mut models = toml::Table::new();
    models.insert(
        "synapse_models".into(),
        toml::Value::try_from(&written.synapse_models).unwrap(),
    );
    let models = toml::to_string(&models).unwrap();
    let rules = format!(
        "[[rules]]\nname = \"built-in\"\n\
         stdp = {{ a_plus = 0.006, a_minus = 0.0063, w_max = 0.6 }}\n\
         [[rules]]\nname = \"written\"\nuser = {{ model = \"pair_stdp\" }}\n{models}"
    );
    let variants = parse_rules(&rules, "rules.toml").unwrap();
    let opts = CompareOptions {
        projections: vec!["stdp".into()],
        duration_ms: Some(2000.0),
        ..Default::default()
    };
    let cmp = run_compare(&load("stdp_song.toml"), &variants, &opts, |_, _| {}).unwrap();
    let (a, b) = (&cmp.variants[0], &cmp.variants[1]);
    assert_eq!(a.spikes_sha256, b.spikes_sha256);
    assert_eq!(a.plasticity["stdp"].mean_w, b.plasticity["stdp"].mean_w);
    let bad = rules.replace("model = \"pair_stdp\" }", "model = \"pairs\" }");
    let e = parse_rules(&bad, "rules.toml").unwrap_err().to_string();
    assert!(e.contains("no synapse model named 'pairs'"), "{e}");
}

/// An experiment variant names a rule of the model file's `[[synapse_models]]`.
#[test]
fn an_experiment_variant_runs_a_user_rule_of_the_model_file() {
    use astroglia::experiment::lsm::{VariantSpec, variant_network};
    use astroglia::plasticity::Plasticity;
    let mut net = load("stdp_song.toml");
    net.synapse_models = user("stdp_song_user.toml").synapse_models;
    let v: VariantSpec = toml::from_str(
        "name = \"written\"\nplasticity = { stdp = { user = { model = \"pair_stdp\" } } }",
    )
    .unwrap();
    let vnet = variant_network(&net, &v).unwrap();
    assert!(matches!(
        &vnet.projections[0].plasticity,
        Some(Plasticity::User(u)) if u.spec.is_some()
    ));
    let v: VariantSpec =
        toml::from_str("name = \"typo\"\nplasticity = { stdp = { user = { model = \"pairs\" } } }")
            .unwrap();
    let e = variant_network(&net, &v).unwrap_err().to_string();
    assert!(e.contains("no synapse model named 'pairs'"), "{e}");
}
