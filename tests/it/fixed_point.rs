//! Fixed-point LIF mode (issue 7): CPU and GPU give identical spikes and states;
//! the CUBA benchmark's rates at 16-bit state stay within 2 % of float; bad
//! fixed-point settings give located errors; `fit` reports each kind of limit.
use astroglia::build::build;
use astroglia::experiment::fixed_error::{ErrorOptions, fixed_point_error};
use astroglia::fit::{Target, check};
use astroglia::model::{FixedPoint, Network, parse_toml};
use astroglia::sim::{BackendKind, SimOptions, Simulator};

/// Relative rate tolerance of fixed point vs float on CUBA (the issue's figure).
const CUBA_RATE_TOLERANCE: f64 = 0.02;

fn run_hash(net: &Network, seed: u64, backend: BackendKind, threads: usize) -> (String, u64) {
    let mut sim = Simulator::new(
        net,
        SimOptions::default()
            .seed(seed)
            .backend(backend)
            .threads(threads),
    )
    .expect("builds");
    sim.run_ms(net.duration_ms).expect("runs");
    let s = sim.summary();
    let spikes = s.populations.values().map(|p| p.spikes).sum();
    (s.spikes_sha256, spikes)
}

fn fixed(name: &str, bits: u32, duration_ms: f64) -> Network {
    let mut net = super::util::load(name);
    net.duration_ms = duration_ms;
    net.set_fixed_point(Some(FixedPoint::with_state_bits(bits)));
    net
}

#[test]
fn fixed_point_spikes_match_on_cpu_threads_and_gpu() {
    let cases = [
        fixed("cuba.toml", 16, 100.0),
        fixed("liquid.toml", 12, 300.0),
    ];
    for net in &cases {
        let (cpu, n) = run_hash(net, 3, BackendKind::Cpu, 1);
        assert!(n > 100, "{:?}: only {n} spikes", net.name);
        // Chunked neuron updates give the same spikes.
        assert_eq!(run_hash(net, 3, BackendKind::Cpu, 3).0, cpu);
        // Fixed point is not float: the hashes differ.
        let mut float = net.clone();
        float.set_fixed_point(None);
        assert_ne!(run_hash(&float, 3, BackendKind::Cpu, 1).0, cpu);
        if super::gpu_parity::gpu().is_some() {
            // Integer arithmetic only: exact on every device, not just lavapipe.
            assert_eq!(
                run_hash(net, 3, BackendKind::Gpu, 1).0,
                cpu,
                "{:?}",
                net.name
            );
        }
    }
}

/// Delta and exponential synapses, external currents (noise and a constant
/// current: the one float product), refractory drops and saturation: every
/// state variable equal after every step on both backends.
#[test]
fn fixed_point_states_match_step_by_step_on_the_gpu() {
    let toml = r#"
dt_ms = 0.1
[[populations]]
name = "src"
size = 50
poisson = { rate_hz = 200.0 }
[[populations]]
name = "exp"
size = 70
lif = { tau_syn_exc_ms = 2.0, tau_syn_inh_ms = 8.0, i_bias_pa = 150.0 }
fixed_point = { state_bits = 10, weight_bits = 6, decay_bits = 9, current_headroom = 2.0 }
init = { v = { uniform = { low = -70.0, high = -50.0 } } }
[[populations]]
name = "delta"
size = 40
lif = { synapse = "delta", t_ref_ms = 1.0 }
fixed_point = { state_bits = 20, rounding = "toward_zero" }
[[projections]]
from = "src"
to = "exp"
connect = { fixed_probability = { p = 0.3 } }
weight = { uniform = { low = 50.0, high = 400.0 } }
[[projections]]
from = "src"
to = "exp"
connect = { fixed_probability = { p = 0.2 } }
weight = -300.0
[[projections]]
from = "exp"
to = "delta"
connect = { fixed_probability = { p = 0.5 } }
weight = { normal = { mean = 4.0, std = 3.0 } }
delay_ms = { uniform = { low = 0.1, high = 2.0 } }
[[inputs]]
noise = { target = "delta", mean = 300.0, std = 200.0 }
[[inputs]]
current = { target = "exp", amplitude = 80.0, start_ms = 5.0, stop_ms = 15.0 }
"#;
    if let Some(spikes) = super::gpu_parity::assert_phases_match(toml, 5, 300) {
        assert!(spikes > 200, "{spikes} spikes");
    }
}

#[test]
fn cuba_rates_at_16_bits_stay_within_2_percent_of_float() {
    // CUBA is chaotic: single-seed rates move by ~2 % between seeds, so the
    // rates are pooled over four seeds (as `astroglia fixed-point` does).
    let net = super::util::load("cuba.toml");
    let opts = ErrorOptions {
        state_bits: vec![16],
        ..Default::default()
    };
    let r = fixed_point_error(&net, &opts).unwrap();
    for (pop, modes) in &r.populations {
        let float = modes[0].rate_hz;
        assert!(float > 4.0 && float < 8.0, "{pop}: float rate {float}");
        let err = modes[1].rate_error.unwrap();
        eprintln!(
            "{pop}: float {float:.4} Hz, 16 bit {:.4} Hz ({:+.2} %)",
            modes[1].rate_hz,
            100.0 * err
        );
        assert!(err.abs() < CUBA_RATE_TOLERANCE, "{pop}: {err}");
    }
}

#[test]
fn too_few_bits_silence_cuba() {
    // A known failure, not a tolerance: at 8 bits the leak per step (dt/τ_m of a
    // few mV) is below half an LSB, so the membrane never moves toward e_l.
    let net = fixed("cuba.toml", 8, 200.0);
    let (_, n) = run_hash(&net, 1, BackendKind::Cpu, 1);
    let (_, m) = run_hash(&fixed("cuba.toml", 16, 200.0), 1, BackendKind::Cpu, 1);
    assert!(n * 20 < m, "8 bit {n} spikes, 16 bit {m}");
}

#[test]
fn bad_fixed_point_settings_give_located_errors() {
    let base = "[[populations]]\nname = \"a\"\nsize = 10\n";
    let cases = [
        (
            "lif = {}\nfixed_point = { state_bits = 40, weight_bits = 20, decay_bits = 3 }\n",
            "f.toml: invalid model: line 5: populations[0].fixed_point.state_bits: must be in 4..=28, got 40; \
             line 5: populations[0].fixed_point.weight_bits: must be in 2..=16 and at most state_bits (40), got 20; \
             line 5: populations[0].fixed_point.decay_bits: must be in 4..=15, got 3",
        ),
        (
            "lif_cond = {}\nfixed_point = { v_range_mv = 0.0 }\n",
            "f.toml: invalid model: line 5: populations[0].fixed_point: only 'lif' populations have a fixed-point mode, not 'lif_cond'; \
             line 5: populations[0].fixed_point.v_range_mv: must be a positive number, got 0",
        ),
        (
            "lif = {}\nfixed_point = { bits = 16 }\n",
            "f.toml: invalid model: line 5: populations[0].fixed_point.bits: unknown field `bits`, expected one of \
             `state_bits`, `weight_bits`, `decay_bits`, `v_range_mv`, `current_headroom`, `rounding`",
        ),
        (
            "lif = {}\nfixed_point = { rounding = \"up\" }\n",
            "f.toml: invalid model: line 5: populations[0].fixed_point.rounding: unknown variant `up`, expected `nearest` or `toward_zero`",
        ),
        (
            "lif = {}\nfixed_point = {}\n[[projections]]\nfrom = \"a\"\nto = \"a\"\n\
             connect = { one_to_one = {} }\nplasticity = { stdp = {} }\n",
            "f.toml: invalid model: line 10: projections[0].plasticity: 'a' runs in fixed point, which has no plastic synapses",
        ),
    ];
    for (tail, expected) in cases {
        let err = parse_toml(&format!("{base}{tail}"), "f.toml").unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
    // A ring that could overflow is refused when building.
    let huge = format!(
        "{base}lif = {{ synapse = \"delta\" }}\nfixed_point = {{ state_bits = 28, v_range_mv = 0.001 }}\n\
         [[projections]]\nfrom = \"a\"\nto = \"a\"\nconnect = {{ all_to_all = {{}} }}\nweight = 1000.0\n"
    );
    let err = build(&parse_toml(&huge, "f.toml").unwrap(), 1).unwrap_err();
    assert!(
        err.to_string()
            .contains("fixed-point population 'a': one step's input can reach"),
        "{err}"
    );
}

fn fit(toml: &str, target: Target) -> astroglia::fit::FitReport {
    let net = parse_toml(toml, "fit.toml").unwrap();
    check(&net, &build(&net, 1).unwrap(), target)
}

fn violated(r: &astroglia::fit::FitReport) -> Vec<&str> {
    r.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.limit.as_str())
        .collect()
}

#[test]
fn fit_reports_each_kind_of_limit() {
    let net = super::util::load("cuba.toml");
    let r = check(&net, &build(&net, 1).unwrap(), Target::Loihi2);
    // Loihi's LIF (Lava's bit-accurate model) has no refractory period and one
    // synaptic time constant: CUBA's lif populations do not convert losslessly.
    assert_eq!(violated(&r), ["loihi_params"], "{}", r.text());
    assert_eq!((r.cores, r.chips), (2, 1));
    let text = std::fs::read_to_string(super::util::model_path("cuba.toml"))
        .unwrap()
        .replace("t_ref_ms = 5.0", "t_ref_ms = 0.0")
        .replace("tau_syn_inh_ms = 10.0", "tau_syn_inh_ms = 5.0");
    let r = fit(&text, Target::Loihi2);
    assert!(r.fits && r.cores == 2 && r.chips == 1, "{}", r.text());
    // 3200 + 800 neurons at 1000 per core: 4 cores, Xylo has one.
    let r = check(&net, &build(&net, 1).unwrap(), Target::Xylo);
    assert_eq!(violated(&r), ["cores_per_chip"]);
    assert_eq!((r.cores, r.chips, r.fits), (4, 4, false));

    let pop = |name: &str, size: u32, model: &str| {
        format!("[[populations]]\nname = \"{name}\"\nsize = {size}\n{model}\n")
    };
    let proj = |from: &str, to: &str, extra: &str| {
        format!("[[projections]]\nfrom = \"{from}\"\nto = \"{to}\"\n{extra}\n")
    };
    let izh = pop("a", 10, "izhikevich = {}");
    assert_eq!(violated(&fit(&izh, Target::Loihi2)), ["neuron_models"]);
    // 40 000 inputs onto one neuron: more than a SpiNNaker2 core's 32 768 synapses.
    let wide = pop("s", 40_000, "poisson = { rate_hz = 1.0 }")
        + &pop("a", 1, "lif = {}")
        + &proj("s", "a", "connect = { all_to_all = {} }");
    assert_eq!(violated(&fit(&wide, Target::Spinnaker2)), ["max_fan_in"]);
    let inputs = pop("s", 20, "poisson = { rate_hz = 1.0 }")
        + &pop("a", 10, "lif = {}")
        + &proj("s", "a", "connect = { one_to_one = {} }");
    let inputs = inputs.replace("one_to_one = {}", "fixed_indegree = { k = 2 }");
    assert_eq!(violated(&fit(&inputs, Target::Xylo)), ["max_inputs"]);
    // 4-bit weights cannot hold a 1:1000 ratio onto one receptor, and a 12-bit
    // fixed-point model does not fit 4-bit weights.
    let weights = pop("a", 10, "lif = {}\nfixed_point = { weight_bits = 12 }")
        + &proj("a", "a", "connect = { one_to_one = {} }\nweight = 1000.0")
        + &proj("a", "a", "connect = { one_to_one = {} }\nweight = 1.0");
    let r = fit(&weights, Target::Spinnaker2);
    assert_eq!(violated(&r), ["weight_bits"]);
    assert_eq!(
        r.checks
            .iter()
            .find(|c| c.limit == "weight_bits")
            .unwrap()
            .detail,
        "'a' uses 12-bit weights; 'a->a': 10 of 10 weights round to 0 at 4 bits"
    );
    // On Loihi each projection has its own weight exponent: that ratio fits,
    // but weights whose mantissa is cut to 0 do not.
    let lif0 = "lif = { t_ref_ms = 0.0 }";
    let ratio = pop("a", 10, lif0)
        + &proj("a", "a", "connect = { one_to_one = {} }\nweight = 1000.0")
        + &proj("a", "a", "connect = { one_to_one = {} }\nweight = 1.0");
    assert!(fit(&ratio, Target::Loihi2).fits);
    let cut = pop("a", 10, "loihi_lif = {}")
        + &proj(
            "a",
            "a",
            "connect = { one_to_one = {} }\nweight = 5.0\nloihi = { num_weight_bits = 4 }",
        );
    let r = fit(&cut, Target::Loihi2);
    assert_eq!(violated(&r), ["weight_bits"]);
    let default_lif = fit(&pop("a", 10, "lif = {}"), Target::Loihi2);
    assert_eq!(violated(&default_lif), ["loihi_params"]);
    let delays =
        pop("a", 10, lif0) + &proj("a", "a", "connect = { one_to_one = {} }\ndelay_ms = 10.0");
    let r = fit(&delays, Target::Loihi2);
    assert_eq!(violated(&r), ["max_delay_steps"]);
    assert_eq!(
        r.checks
            .iter()
            .find(|c| c.limit == "max_delay_steps")
            .unwrap()
            .model,
        "100"
    );
    let plastic = pop("a", 10, lif0)
        + &proj(
            "a",
            "a",
            "connect = { one_to_one = {} }\nplasticity = { stdp = {} }",
        );
    assert_eq!(violated(&fit(&plastic, Target::Xylo)), ["plasticity"]);
    // Lava's bit-accurate Dense is static.
    assert_eq!(violated(&fit(&plastic, Target::Loihi2)), ["loihi_params"]);
}

#[test]
fn cli_fit_and_fixed_point_report() {
    let bin = || std::process::Command::new(env!("CARGO_BIN_EXE_astroglia"));
    let cuba = super::util::model_path("cuba.toml");
    let out = bin()
        .args(["fit", "--target", "xylo", "--json"])
        .arg(&cuba)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fits"], false);
    assert_eq!(v["cores"], 4);
    let out = bin()
        .args(["fit", "--target", "loihi2"])
        .arg(&cuba)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("t_ref_ms 5 dropped"));

    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "fixed-point",
            "--bits",
            "16",
            "--seeds",
            "1",
            "--duration-ms",
            "100",
            "--out",
        ])
        .arg(dir.path())
        .arg(&cuba)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("16 bit Hz (error)"), "{text}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("fixed_point.json")).unwrap())
            .unwrap();
    assert_eq!(v["populations"]["exc"][1]["state_bits"], 16);
    let out = bin()
        .args(["run", "--fixed-point", "99", "--duration-ms", "1"])
        .arg(&cuba)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("fixed_point.state_bits: must be in 4..=28, got 99")
    );
}
