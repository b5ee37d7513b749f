//! User-written neuron models (`[[neuron_models]]`): the COBA copy gives the
//! built-in's spikes bit for bit, every shipped user model gives the same
//! spikes on the CPU and the GPU (alone and in a batch of 4), and a parameter
//! change leaves the generated code as it was. Models that draw random
//! numbers draw the same on both.
use super::gpu_parity::{assert_run_matches, cli_summary, exact, gpu};
use super::util::{load, model_path, run};
use astroglia::model::NeuronModelSpec;
use astroglia::model::{Network, parse_toml_with};

/// A shipped user model, with `overrides` of its constants (to shrink it).
fn user_model(name: &str, overrides: &[(&str, f64)]) -> Network {
    let path = model_path(&format!("user/{name}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let overrides: Vec<(String, f64)> =
        overrides.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    parse_toml_with(&text, &path.display().to_string(), &overrides).expect("valid model")
}

#[test]
fn coba_user_gives_the_built_in_coba_spikes_on_seeds_1_to_3() {
    let mut builtin = load("coba.toml");
    let mut user = user_model("coba_user.toml", &[]);
    builtin.duration_ms = 400.0;
    user.duration_ms = 400.0;
    for seed in 1..=3 {
        let (a, b) = (run(&builtin, seed).summary(), run(&user, seed).summary());
        assert!(a.populations["exc"].spikes > 1000, "seed {seed}: too quiet");
        assert_eq!(a.spikes_sha256, b.spikes_sha256, "seed {seed}");
    }
}

/// The shipped user models at sizes lavapipe runs quickly.
fn shipped() -> Vec<(&'static str, Network)> {
    vec![
        ("coba_user", user_model("coba_user.toml", &[])),
        ("adex", user_model("adex.toml", &[])),
        (
            "brunel_user",
            user_model("brunel_user.toml", &[("N_E", 800.0)]),
        ),
    ]
}

#[test]
fn every_shipped_user_model_gives_the_same_spikes_on_cpu_and_gpu() {
    let Some(ctx) = gpu() else { return };
    for (name, net) in shipped() {
        for seed in [1, 2] {
            assert_run_matches(&ctx, name, &net, seed, 100.0);
        }
    }
}

#[test]
fn every_shipped_user_model_gives_the_cpu_instance_hashes_in_a_gpu_batch_of_4() {
    let Some(ctx) = gpu() else { return };
    for (file, extra) in [
        ("user/coba_user.toml", vec![]),
        ("user/adex.toml", vec![]),
        ("user/brunel_user.toml", vec!["--set", "N_E=800"]),
        ("user/stdp_song_user.toml", vec![]),
        ("user/bcm_user.toml", vec![]),
    ] {
        let summary = |backend: &str| {
            let mut args = vec!["--backend", backend, "--batch", "4", "--duration-ms", "60"];
            args.extend(&extra);
            cli_summary(file, &args)
        };
        let (cpu, gpu) = (summary("cpu"), summary("gpu"));
        let hashes = |s: &serde_json::Value| -> Vec<String> {
            s["instances"]
                .as_array()
                .expect("instances")
                .iter()
                .map(|i| i["spikes_sha256"].as_str().unwrap().to_owned())
                .collect()
        };
        let (a, b) = (hashes(&cpu), hashes(&gpu));
        assert_eq!(a.len(), 4, "{file}");
        assert!(
            a.windows(2).any(|w| w[0] != w[1]),
            "{file}: instances differ"
        );
        if exact(&ctx) {
            assert_eq!(a, b, "{file}");
        }
    }
}

fn lif(tau: f64) -> NeuronModelSpec {
    toml::from_str(&format!(
        r#"
        name = "lif"
        parameters = {{ tau = {tau}, i = 30.0, v_th = 20.0 }}
        state = {{ v = 0.0 }}
        equations = "dv/dt = (i - v) / tau"
        threshold = "v > v_th"
        reset = "v = 0"
        method = "rk4"
        "#
    ))
    .unwrap()
}

/// Parameters live in buffers: a new value changes no generated code (no
/// shader or program is compiled again for a sweep).
#[test]
fn a_parameter_change_recompiles_nothing() {
    let (a, b) = (
        lif(10.0).compile(0.1).unwrap(),
        lif(20.0).compile(0.1).unwrap(),
    );
    assert_eq!(a.wgsl(), b.wgsl());
    assert_eq!(a.describe(), b.describe());
    // The values differ only in the columns computed before the run.
    let cols = |m: &astroglia::equations::CompiledNeuron, tau: f64| {
        m.columns_for(&[vec![tau], vec![30.0], vec![20.0]], 1, 0.1)
    };
    assert_ne!(cols(&a, 10.0), cols(&b, 20.0));
}

/// Draws in every phase (the step, the reset, a receptor): counter-based,
/// keyed by seed, step, neuron and place, so the GPU draws what the CPU draws.
#[test]
fn user_models_that_draw_give_the_same_spikes_on_cpu_and_gpu() {
    let text = r#"
        duration_ms = 200.0
        [[neuron_models]]
        name = "noisy"
        parameters = { tau = 10.0, sigma = 2.0 }
        state = { v = 0.0 }
        equations = "dv/dt = -v / tau + sigma * normal() + (if uniform() < 0.01 then 5.0 else 0.0)"
        receptors = { exc = "v += w * (0.5 + uniform())" }
        threshold = "v > 1"
        reset = "v = -uniform()"
        refractory_ms = 1.0
        method = "euler"

        [[populations]]
        name = "p"
        size = 300
        model = "noisy"

        [[projections]]
        from = "p"
        to = "p"
        connect = { fixed_probability = { p = 0.05 } }
        weight = 0.2
    "#;
    let net = parse_toml_with(text, "noisy.toml", &[]).unwrap();
    // The CPU's draws repeat with the seed and change with it.
    let a = run(&net, 3).summary();
    assert!(a.populations["p"].spikes > 100, "too quiet");
    assert_eq!(a.spikes_sha256, run(&net, 3).summary().spikes_sha256);
    assert_ne!(a.spikes_sha256, run(&net, 4).summary().spikes_sha256);
    let Some(ctx) = gpu() else { return };
    for seed in [3, 4] {
        assert_run_matches(&ctx, "noisy", &net, seed, 200.0);
    }
}

/// The generated shader of every shipped user model (and of one that draws)
/// is valid WGSL and compiles to NoContraction SPIR-V: checked without a GPU.
#[test]
fn generated_shaders_compile_to_exact_spirv() {
    use astroglia::backend::gpu::spirv::exact_spirv;
    let mut nets: Vec<Network> = shipped().into_iter().map(|(_, n)| n).collect();
    nets.push(user_model("adex.toml", &[]));
    let mut drawing = lif(10.0);
    drawing.equations = "dv/dt = (i - v) / tau + normal()".into();
    drawing.reset = "v = uniform()".into();
    let mut count = 0;
    for spec in nets
        .iter()
        .flat_map(|n| n.neuron_models.iter().cloned())
        .chain([drawing])
    {
        let model = spec.compile(0.1).unwrap();
        let src = model.wgsl();
        exact_spirv(&spec.name, &src).unwrap_or_else(|e| panic!("{}: {e}\n{src}", spec.name));
        count += 1;
    }
    assert!(count >= 4);
}

/// A state monitor reads any state variable of a user model, the same on
/// both backends.
#[test]
fn state_monitors_read_user_model_variables_on_both_backends() {
    use astroglia::model::StateMonitor;
    use astroglia::sim::{SimOptions, Simulator};
    let mut net = user_model("adex.toml", &[]);
    net.monitors
        .state
        .push(StateMonitor::new("exc", "w").ids(vec![0, 1, 2]));
    let built = astroglia::build::build(&net, 1).unwrap();
    let mut cpu = Simulator::new(&net, SimOptions::default().seed(1)).unwrap();
    cpu.run_ms(50.0).unwrap();
    let w = cpu.state("exc", "w").unwrap();
    assert_eq!(w.len(), 800);
    assert!(w.iter().any(|&x| x != 0.0), "adaptation moved");
    let Some(ctx) = gpu() else { return };
    let backend = astroglia::backend::GpuBackend::with_context(ctx.clone(), &built).unwrap();
    let mut gpu = Simulator::with_backend(&net, &built, Box::new(backend)).unwrap();
    gpu.run_ms(50.0).unwrap();
    if exact(&ctx) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w), bits(&gpu.state("exc", "w").unwrap()));
    }
}
