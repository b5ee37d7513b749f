//! CPU–GPU parity: the GPU backend reproduces the CPU reference phase by phase
//! (input currents, neuron states, delay rings, spikes: bit for bit) and end to end
//! (`spikes_sha256` of the shipped models over three seeds).
//!
//! Without any GPU adapter the tests print "skipped: no GPU adapter" and pass,
//! unless `ASTROGLIA_REQUIRE_GPU` is set (CI installs lavapipe and sets it).
use astroglia::backend::gpu::{GpuContext, list_adapters};
use astroglia::backend::{Backend, CpuBackend, GpuBackend, Spike};
use astroglia::build::{Built, build};
use astroglia::model::{Network, parse_toml};
use astroglia::sim::{SimOptions, Simulator};
use std::sync::{Arc, OnceLock};

/// Relative tolerance on population rates for devices that are not bit-exact.
const RATE_TOLERANCE: f64 = 0.01;

/// One device shared by every GPU test (opening it and compiling shaders on
/// lavapipe is the slow part).
pub(super) fn gpu() -> Option<Arc<GpuContext>> {
    static CTX: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    let ctx = CTX
        .get_or_init(|| {
            if list_adapters().is_empty() {
                assert!(
                    std::env::var_os("ASTROGLIA_REQUIRE_GPU").is_none(),
                    "ASTROGLIA_REQUIRE_GPU is set but there is no GPU adapter"
                );
                return None;
            }
            Some(Arc::new(GpuContext::new(None).expect("GPU device")))
        })
        .clone();
    if ctx.is_none() {
        eprintln!("skipped: no GPU adapter");
    }
    ctx
}

/// Whether this device is declared bit-exact: Vulkan with NoContraction SPIR-V on
/// a CPU device (lavapipe: IEEE f32, denormals kept). Real GPUs may flush
/// denormals, and without NoContraction the driver may fuse and reassociate, so
/// elsewhere only statistics are compared.
pub(super) fn exact(ctx: &GpuContext) -> bool {
    ctx.exact && ctx.info.device_type == wgpu::DeviceType::Cpu
}

fn gpu_backend(ctx: &Arc<GpuContext>, built: &Built) -> GpuBackend {
    GpuBackend::with_context(ctx.clone(), built).expect("network uploads")
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Runs `steps` steps phase by phase on both backends and asserts after every
/// phase: i_ext after inputs, every state variable after the neuron update, the
/// delay rings after propagation, and the step's spikes. Returns the number of
/// spikes, or None without a GPU.
pub(super) fn assert_phases_match(toml: &str, seed: u64, steps: u64) -> Option<usize> {
    let ctx = gpu()?;
    let net = parse_toml(toml, "phases.toml").expect("valid model");
    let built = build(&net, seed).unwrap();
    let mut cpu = CpuBackend::new(built.clone());
    let mut gpu = gpu_backend(&ctx, &built);
    let vars = [
        "v", "u", "w", "i_exc", "i_inh", "ge", "gi", "syn_exc", "syn_inh",
    ];
    let mut spikes = 0;
    for step in 0..steps {
        cpu.inputs(step).unwrap();
        gpu.inputs(step).unwrap();
        for (pi, p) in built.pops.iter().enumerate() {
            let (mut a, mut b) = (vec![], vec![]);
            if cpu.read_state(pi, "i_ext", &mut a).is_ok() {
                gpu.read_state(pi, "i_ext", &mut b).unwrap();
                assert_eq!(bits(&a), bits(&b), "step {step}: i_ext of {}", p.name);
            }
        }
        cpu.neurons(step).unwrap();
        gpu.neurons(step).unwrap();
        for (pi, p) in built.pops.iter().enumerate() {
            for var in vars {
                let (mut a, mut b) = (vec![], vec![]);
                if cpu.read_state(pi, var, &mut a).is_ok() {
                    gpu.read_state(pi, var, &mut b).unwrap();
                    if let Some(i) = a
                        .iter()
                        .zip(&b)
                        .position(|(x, y)| x.to_bits() != y.to_bits())
                    {
                        panic!(
                            "step {step}: {}.{var}[{i}] is {} on the CPU, {} on the GPU",
                            p.name, a[i], b[i]
                        );
                    }
                }
            }
        }
        cpu.propagate(step).unwrap();
        gpu.propagate(step).unwrap();
        for (pi, p) in built.pops.iter().enumerate() {
            let (a, b) = (cpu.ring(pi), gpu.ring(pi).unwrap());
            assert!(
                a == b,
                "step {step}: delay ring of {} ({} values on the CPU, {} on the GPU; first difference at {:?})",
                p.name,
                a.len(),
                b.len(),
                a.iter().zip(&b).position(|(x, y)| x != y)
            );
        }
        let (mut a, mut b) = (vec![], vec![]);
        cpu.drain_spikes(&mut a).unwrap();
        gpu.drain_spikes(&mut b).unwrap();
        assert_eq!(a, b, "step {step}: spikes");
        spikes += a.len();
    }
    assert!(spikes > 0, "the test network should spike");
    Some(spikes)
}

#[test]
fn lif_exponential_phases_match_cpu_bit_for_bit() {
    assert_phases_match(
        r#"
        dt_ms = 0.1
        [[populations]]
        name = "a"
        size = 3000
        lif = { i_bias_pa = 200.0, t_ref_ms = 0.5 }
        init = { v = { uniform = { low = -70.0, high = -49.0 } }, i_exc = { uniform = { low = 0.0, high = 800.0 } }, i_inh = { uniform = { low = -800.0, high = 0.0 } } }
        [[projections]]
        from = "a"
        to = "a"
        connect = { fixed_probability = { p = 0.05 } }
        weight = { uniform = { low = 0.0, high = 60.0 } }
        delay_ms = { uniform = { low = 0.1, high = 2.0 } }
        [[projections]]
        from = "a"
        to = "a"
        connect = { fixed_indegree = { k = 40 } }
        weight = { uniform = { low = -90.0, high = 0.0 } }
        delay_ms = 0.3
        [[inputs]]
        noise = { target = "a", mean = 50.0, std = 100.0 }
        [[inputs]]
        current = { target = "a", amplitude = 30.0, start_ms = 0.5, stop_ms = 1.5, ids = [1, 2, 3, 3, 500] }
        [[inputs]]
        noise = { target = "a", std = 20.0, ids = [7, 8, 2999] }
        "#,
        11,
        40,
    );
}

#[test]
fn lif_delta_phases_match_cpu_bit_for_bit() {
    assert_phases_match(
        r#"
        dt_ms = 0.1
        [[populations]]
        name = "a"
        size = 2000
        lif = { synapse = "delta", tau_m_ms = 20.0, e_l_mv = 0.0, v_reset_mv = 0.0, v_th_mv = 20.0, t_ref_ms = 0.3, i_bias_pa = 400.0 }
        init = { v = { uniform = { low = 0.0, high = 20.0 } } }
        [[projections]]
        from = "a"
        to = "a"
        connect = { fixed_probability = { p = 0.05 } }
        weight = { normal = { mean = 0.5, std = 2.0 } }
        delay_ms = { uniform = { low = 0.1, high = 1.0 } }
        [[projections]]
        from = "a"
        to = "a"
        connect = { fixed_indegree = { k = 50 } }
        weight = { uniform = { low = -3.0, high = 0.0 } }
        delay_ms = 0.2
        [[inputs]]
        noise = { target = "a", mean = 50.0, std = 300.0 }
        "#,
        12,
        40,
    );
}

#[test]
fn lif_cond_phases_match_cpu_bit_for_bit() {
    assert_phases_match(
        r#"
        dt_ms = 0.1
        [[populations]]
        name = "e"
        size = 2500
        lif_cond = { t_ref_ms = 0.5 }
        init = { v = { uniform = { low = -65.0, high = -49.0 } }, ge = { uniform = { low = 0.0, high = 80.0 } }, gi = { uniform = { low = 0.0, high = 300.0 } } }
        [[populations]]
        name = "i"
        size = 700
        lif_cond = { i_bias_pa = 150.0 }
        init = { v = { uniform = { low = -65.0, high = -49.0 } } }
        [[projections]]
        from = "e"
        to = "i"
        connect = { fixed_probability = { p = 0.1 } }
        weight = { uniform = { low = 0.0, high = 12.0 } }
        [[projections]]
        from = "i"
        to = "e"
        connect = { fixed_probability = { p = 0.1 } }
        weight = 67.0
        receptor = "inh"
        delay_ms = 0.5
        [[projections]]
        from = "e"
        to = "e"
        connect = { fixed_outdegree = { k = 30 } }
        weight = 6.0
        [[inputs]]
        noise = { target = "e", mean = 100.0, std = 300.0 }
        "#,
        13,
        40,
    );
}

#[test]
fn izhikevich_phases_match_cpu_bit_for_bit() {
    for integration in ["half_steps", "euler"] {
        assert_phases_match(
            &format!(
                r#"
                dt_ms = 0.5
                [[populations]]
                name = "rs"
                size = 2000
                izhikevich = {{ preset = "RS", integration = "{integration}" }}
                init = {{ v = {{ uniform = {{ low = -80.0, high = 25.0 }} }}, u = {{ uniform = {{ low = -20.0, high = 10.0 }} }} }}
                [[populations]]
                name = "mix"
                size = 500
                [populations.izhikevich]
                a = {{ base = 0.02, scale = 0.08, power = 1.0 }}
                b = {{ base = 0.25, scale = -0.05, power = 1.0 }}
                integration = "{integration}"
                [[projections]]
                from = "rs"
                to = "mix"
                connect = {{ all_to_all = {{}} }}
                weight = {{ uniform = {{ low = 0.0, high = 0.5 }} }}
                [[projections]]
                from = "rs"
                to = "rs"
                connect = {{ fixed_probability = {{ p = 0.2 }} }}
                weight = {{ uniform = {{ low = 0.0, high = 0.5 }} }}
                delay_ms = 1.0
                [[projections]]
                from = "mix"
                to = "mix"
                connect = {{ all_to_all = {{}} }}
                weight = {{ uniform = {{ low = -1.0, high = 0.0 }} }}
                [[projections]]
                from = "mix"
                to = "rs"
                connect = {{ fixed_probability = {{ p = 0.3 }} }}
                weight = {{ uniform = {{ low = -1.0, high = 0.0 }} }}
                delay_ms = {{ uniform = {{ low = 0.5, high = 3.0 }} }}
                [[inputs]]
                noise = {{ target = "rs", std = 5.0 }}
                [[inputs]]
                noise = {{ target = "mix", mean = 1.0, std = 2.0 }}
                [[inputs]]
                current = {{ target = "mix", amplitude = 3.0, start_ms = 2.0, ids = [0, 1, 2] }}
                "#
            ),
            14,
            30,
        );
    }
}

#[test]
fn poisson_and_spike_sources_match_cpu_bit_for_bit() {
    assert_phases_match(
        r#"
        dt_ms = 1.0
        [[populations]]
        name = "chunked"
        size = 1000
        poisson = { rate_hz = 50.0 }
        [[populations]]
        name = "sparse"
        size = 5000
        poisson = { rate_hz = 0.01 }
        [[populations]]
        name = "dense"
        size = 300
        poisson = { rate_hz = 300.0, start_ms = 5.0, stop_ms = 40.0 }
        [[populations]]
        name = "each"
        size = 6
        poisson = { rates_hz = [0.0, 1000.0, 20.0, 200.0, 500.0, 999.0] }
        [[populations]]
        name = "silent"
        size = 50
        poisson = { rate_hz = 0.0 }
        [[populations]]
        name = "times"
        size = 4
        spike_source = { times_ms = [0.0, 3.0, 3.0, 3.2, 10.0, 55.0, 1e6], ids = [0, 1, 2, 1, 3, 0, 2] }
        [[populations]]
        name = "cells"
        size = 400
        lif = {}
        [[projections]]
        from = "chunked"
        to = "cells"
        connect = { fixed_probability = { p = 0.1 } }
        weight = 40.0
        [[projections]]
        from = "dense"
        to = "cells"
        connect = { fixed_probability = { p = 0.1 } }
        weight = -20.0
        delay_ms = { uniform = { low = 1.0, high = 4.0 } }
        [[projections]]
        from = "each"
        to = "cells"
        connect = { all_to_all = {} }
        weight = 100.0
        [[projections]]
        from = "times"
        to = "cells"
        connect = { all_to_all = {} }
        weight = 400.0
        delay_ms = 2.0
        [[projections]]
        from = "sparse"
        to = "cells"
        connect = { fixed_outdegree = { k = 3 } }
        weight = 500.0
        "#,
        15,
        60,
    );
}

/// Spike lists of every population merged into (step, global id) order.
fn all_spikes(sim: &Simulator, built: &Built) -> Vec<Spike> {
    let rec = sim.recording();
    let mut out = vec![];
    for ps in &rec.spikes {
        let off = built
            .pops
            .iter()
            .find(|p| p.name == ps.population)
            .expect("population")
            .offset;
        out.extend(ps.steps.iter().zip(&ps.ids).map(|(&s, &i)| Spike {
            step: s as u32,
            id: off + i,
        }));
    }
    out.sort_unstable();
    out
}

/// Runs `net` for `ms` with `seed` on both backends; equal hashes on a bit-exact
/// device, else the first differing step is reported and rates must agree.
pub(super) fn assert_run_matches(
    ctx: &Arc<GpuContext>,
    name: &str,
    net: &Network,
    seed: u64,
    ms: f64,
) {
    let built = build(net, seed).unwrap();
    let mut cpu = Simulator::new(net, SimOptions::default().seed(seed)).unwrap();
    let mut gpu = Simulator::with_backend(net, &built, Box::new(gpu_backend(ctx, &built))).unwrap();
    cpu.run_ms(ms).unwrap();
    gpu.run_ms(ms).unwrap();
    let (a, b) = (cpu.summary(), gpu.summary());
    if a.spikes_sha256 == b.spikes_sha256 {
        eprintln!(
            "{name} seed {seed}, {ms} ms: equal spikes_sha256 {}",
            a.spikes_sha256
        );
        return;
    }
    let (sa, sb) = (all_spikes(&cpu, &built), all_spikes(&gpu, &built));
    let first = sa
        .iter()
        .zip(&sb)
        .position(|(x, y)| x != y)
        .map(|k| sa[k].step.min(sb[k].step))
        .or_else(|| sa.get(sb.len()).or(sb.get(sa.len())).map(|s| s.step));
    let msg = format!(
        "{name} seed {seed}: spikes differ from step {first:?} on ({}, cpu {} spikes, gpu {})",
        b.device,
        sa.len(),
        sb.len()
    );
    assert!(!exact(ctx), "{msg}; this device is declared bit-exact");
    eprintln!("{msg}");
    for (pop, pa) in &a.populations {
        let pb = &b.populations[pop];
        let rel = (pa.rate_hz - pb.rate_hz).abs() / pa.rate_hz.max(1e-9);
        assert!(
            rel <= RATE_TOLERANCE,
            "{name} seed {seed}: {pop} rate {} Hz on the CPU, {} Hz on the GPU",
            pa.rate_hz,
            pb.rate_hz
        );
    }
}

/// The model's full second with seeds 1, 2 and 3.
fn model_parity(file: &str) {
    let Some(ctx) = gpu() else { return };
    let net = super::util::load(file);
    for seed in 1..=3 {
        assert_run_matches(&ctx, file, &net, seed, net.duration_ms);
    }
}

#[test]
fn izhikevich2003_spikes_match_cpu() {
    model_parity("izhikevich2003.toml");
}

#[test]
fn coba_spikes_match_cpu() {
    model_parity("coba.toml");
}

#[test]
fn cuba_spikes_match_cpu() {
    model_parity("cuba.toml");
}

#[test]
fn liquid_spikes_match_cpu() {
    model_parity("liquid.toml");
}

#[test]
fn final_state_matches_cpu_after_a_run() {
    let Some(ctx) = gpu() else { return };
    let net = super::util::load("izhikevich2003.toml");
    let built = build(&net, 4).unwrap();
    let mut cpu = CpuBackend::new(built.clone());
    let mut gpu = gpu_backend(&ctx, &built);
    cpu.run(0, 300).unwrap();
    gpu.run(0, 300).unwrap();
    for var in ["v", "u", "i_ext"] {
        let (mut a, mut b) = (vec![], vec![]);
        cpu.read_state(0, var, &mut a).unwrap();
        gpu.read_state(0, var, &mut b).unwrap();
        if exact(&ctx) {
            assert_eq!(bits(&a), bits(&b), "{var}");
        }
    }
    assert!(gpu.read_state(0, "refrac", &mut vec![]).is_err());
    let (mut a, mut b) = (vec![], vec![]);
    cpu.drain_spikes(&mut a).unwrap();
    gpu.drain_spikes(&mut b).unwrap();
    assert!(a.windows(2).all(|w| w[0] < w[1]));
    assert!(
        b.windows(2).all(|w| w[0] < w[1]),
        "drain_spikes orders by (step, id)"
    );
}

#[test]
fn blow_up_is_reported_with_population_and_step() {
    let Some(ctx) = gpu() else { return };
    let net = parse_toml(
        r#"
        dt_ms = 1.0
        [[populations]]
        name = "ok"
        size = 10
        lif = {}
        [[populations]]
        name = "wild"
        size = 100
        izhikevich = {}
        [[inputs]]
        current = { target = "wild", amplitude = 1e30, start_ms = 7.0, ids = [42] }
        "#,
        "blowup.toml",
    )
    .unwrap();
    let built = build(&net, 1).unwrap();
    let err = |b: &mut dyn Backend| b.run(0, 50).unwrap_err().to_string();
    let want = err(&mut CpuBackend::new(built.clone()));
    assert!(want.contains("'wild'"), "{want}");
    assert_eq!(err(&mut gpu_backend(&ctx, &built)), want);
}

#[test]
fn unknown_adapter_name_is_a_clear_error() {
    if gpu().is_none() {
        return;
    }
    let net = super::util::load("liquid.toml");
    let err = Simulator::new(
        &net,
        SimOptions::default()
            .backend(astroglia::sim::BackendKind::Gpu)
            .adapter("no-such-device-xyz"),
    )
    .err()
    .expect("no adapter matches")
    .to_string();
    assert!(
        err.starts_with("GPU: no GPU adapter matches 'no-such-device-xyz'"),
        "{err}"
    );
    assert!(err.contains("available:"), "{err}");
}

#[test]
fn cli_backend_gpu_writes_the_cpu_hash_and_the_device() {
    let Some(ctx) = gpu() else { return };
    let summary = |backend: &str| {
        cli_summary(
            "liquid.toml",
            &["--backend", backend, "--duration-ms", "200", "--seed", "8"],
        )
    };
    let (cpu, gpu) = (summary("cpu"), summary("gpu"));
    assert_eq!(gpu["backend"], "gpu");
    let device = gpu["device"].as_str().unwrap();
    assert!(device.starts_with(&ctx.info.name), "{device}");
    assert!(device.contains(&ctx.info.driver), "{device}");
    if exact(&ctx) {
        assert_eq!(cpu["spikes_sha256"], gpu["spikes_sha256"]);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_astroglia"))
        .arg("devices")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with(&ctx.info.name)),
        "{text}"
    );
}

#[test]
fn small_spike_record_splits_runs_and_reports_overflow() {
    let Some(ctx) = gpu() else { return };
    let net = super::util::load("liquid.toml");
    let built = build(&net, 5).unwrap();
    let run = |entries: u64| {
        let b = GpuBackend::with_record(ctx.clone(), &built, Some(entries)).unwrap();
        let mut sim = Simulator::with_backend(&net, &built, Box::new(b)).unwrap();
        sim.run_ms(300.0).map(|_| sim.spikes_sha256())
    };
    let mut cpu = Simulator::new(&net, SimOptions::default().seed(5)).unwrap();
    cpu.run_ms(300.0).unwrap();
    // Three steps per read-back: 100 read-backs per 300-step chunk.
    let hash = run(3 * u64::from(built.n_neurons())).unwrap();
    if exact(&ctx) {
        assert_eq!(hash, cpu.spikes_sha256());
    }
    // Room for 5 spikes: the liquid's bursts overflow it.
    let err = run(5).unwrap_err().to_string();
    assert!(err.starts_with("GPU: spike record overflow: "), "{err}");
}

#[test]
fn buffer_over_the_device_limit_is_refused_naming_the_limit() {
    let Some(ctx) = gpu() else { return };
    // Delay 1000 steps: the ring holds 1000 × 2 × n i32, just over the limit.
    let limit = ctx.limits.max_storage_buffer_binding_size;
    let n = (limit / (1000 * 2 * 4) + 1).min(4_000_000);
    if 1000 * 2 * 4 * n <= limit {
        eprintln!("skipped: binding limit {limit} too large to exceed cheaply");
        return;
    }
    let net = parse_toml(
        &format!(
            r#"
            dt_ms = 1.0
            [[populations]]
            name = "big"
            size = {n}
            lif = {{}}
            [[projections]]
            from = "big"
            to = "big"
            connect = {{ one_to_one = {{}} }}
            delay_ms = 1000.0
            "#
        ),
        "big.toml",
    )
    .unwrap();
    let built = build(&net, 1).unwrap();
    let err = GpuBackend::with_context(ctx.clone(), &built)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.starts_with("GPU: delay rings would take "), "{err}");
    assert!(
        err.contains(&format!("max_storage_buffer_binding_size ({limit} bytes)")),
        "{err}"
    );
}

#[test]
fn cli_gpu_batch_writes_the_cpu_instance_hashes() {
    let Some(ctx) = gpu() else { return };
    let summary = |backend: &str| {
        cli_summary(
            "coba.toml",
            &["--backend", backend, "--batch", "4", "--duration-ms", "100"],
        )
    };
    let (cpu, gpu) = (summary("cpu"), summary("gpu"));
    assert_eq!(gpu["backend"], "gpu");
    let hashes = |s: &serde_json::Value| -> Vec<String> {
        s["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .map(|i| i["spikes_sha256"].as_str().unwrap().to_owned())
            .collect()
    };
    let (a, b) = (hashes(&cpu), hashes(&gpu));
    assert_eq!(b.len(), 4);
    if exact(&ctx) {
        assert_eq!(a, b);
    }
}

/// `astroglia run MODEL ARGS` into a temporary directory; its summary.json.
pub(super) fn cli_summary(model: &str, args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_astroglia"))
        .args(["run", &super::util::model_path(model).display().to_string()])
        .args(args)
        .args(["--no-plot", "--no-hdf5", "-q", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}
