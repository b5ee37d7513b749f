//! CPU (1 thread) against GPU on COBA-style networks: steps/s, synaptic events/s,
//! wall seconds per biological second and the realtime factor, with both spike
//! hashes (they must agree on a bit-exact device); then the GPU's fixed cost per
//! step on a network with nothing to do.
//!
//! `cargo run --release --example gpu_bench -- [sizes...] [--ms T] [--empty-steps S] [--stdp]`
//! (default 4000 64000 256000, 200 ms, 5 x 10000 empty steps). 4000 is models/coba.toml
//! (p = 0.02); other sizes keep 80 synapses per neuron (p = 80/N), as `scaling`.
//! `--stdp` also runs each network with pair STDP on its E → E projection
//! (`stdp_rule`), rows `cpu+stdp` and `gpu+stdp`.
use astroglia::backend::gpu::{GpuContext, STEP_SLOTS};
use astroglia::backend::{Backend, CpuBackend, GpuBackend};
use astroglia::build::{Built, build};
use astroglia::model::*;
use astroglia::plasticity::StdpParams;
use astroglia::sim::Simulator;
use std::sync::Arc;
use std::time::Instant;

fn coba_like(n: u32, ms: f64) -> Network {
    if n == 4000 {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/coba.toml");
        let mut net = Network::from_toml_file(path).expect("shipped model");
        net.duration_ms = ms;
        return net;
    }
    let p = Connect::FixedProbability {
        p: 80.0 / n as f64,
        allow_self: false,
    };
    Network::coba_like(n, p.clone(), p, ms)
}

/// Pair STDP (all-to-all, additive) for the 6 nS E → E synapses: bounds [0, 12] nS,
/// steps of 0.5 % of the range, depression 5 % above potentiation (Song et al.).
fn stdp_rule() -> Plasticity {
    Plasticity::Stdp({
        let mut params = StdpParams::default();
        params.a_plus = 0.06;
        params.a_minus = 0.063;
        params.w_min = 0.0;
        params.w_max = 12.0;
        params
    })
}

/// `net` with [`stdp_rule`] on its E → E projection.
fn with_stdp(mut net: Network) -> Network {
    let ee = net
        .projections
        .iter_mut()
        .find(|p| p.from == "exc" && p.to == "exc")
        .expect("COBA has an E -> E projection");
    ee.plasticity = Some(stdp_rule());
    net
}

/// Runs `net` for `ms` on `backend` (the simulator times `run` only, not the upload).
fn measure(net: &Network, built: &Built, backend: Box<dyn Backend>, ms: f64) -> Row {
    let mut sim = Simulator::with_backend(net, built, backend).expect("simulator");
    // Every spike is recorded, whatever the size asked for.
    sim.set_max_recorded_spikes(None);
    sim.run_ms(ms).expect("runs");
    let s = sim.summary();
    Row {
        sim_s: s.sim_s,
        steps: s.steps,
        events: s.synaptic_events,
        spikes: s.populations.values().map(|p| p.spikes).sum(),
        hash: s.spikes_sha256,
    }
}

struct Row {
    sim_s: f64,
    steps: u64,
    events: u64,
    spikes: u64,
    hash: String,
}

/// One network on the CPU and the GPU: a row each, then whether the hashes agree.
fn bench(ctx: &Arc<GpuContext>, n: u32, net: &Network, tag: &str, ms: f64) {
    let built = build(net, 1).expect("builds");
    let t = Instant::now();
    let gpu = GpuBackend::with_context(ctx.clone(), &built).expect("uploads");
    let upload_s = t.elapsed().as_secs_f64();
    let rows = [
        (
            format!("cpu{tag}"),
            None,
            measure(net, &built, Box::new(CpuBackend::new(built.clone())), ms),
        ),
        (
            format!("gpu{tag}"),
            Some(upload_s),
            measure(net, &built, Box::new(gpu), ms),
        ),
    ];
    for (name, up, r) in &rows {
        let bio_s = r.steps as f64 * net.dt_ms / 1000.0;
        println!(
            "{:>7} {:>10} {:>8} {:>8} {:>9.0} {:>10.3e} {:>9.3} {:>9.3} {:>8.2} {:>8}  {}",
            n,
            built.n_synapses(),
            name,
            up.map_or("-".into(), |u| format!("{u:.3}")),
            r.steps as f64 / r.sim_s,
            r.events as f64 / r.sim_s,
            r.sim_s / bio_s,
            bio_s / r.sim_s,
            r.spikes as f64 / (f64::from(n) * bio_s),
            r.spikes,
            &r.hash[..16]
        );
    }
    let (a, b) = (&rows[0].2.hash, &rows[1].2.hash);
    let verdict = if a == b { "agree" } else { "DIFFER" };
    println!("{:>7} spike hashes {verdict}: cpu {a}, gpu {b}", "");
}

fn main() {
    // SAFETY: first thing in main, before any thread is spawned.
    unsafe { astroglia::backend::gpu::quiet_device_select() };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let ms: f64 = value("--ms").and_then(|v| v.parse().ok()).unwrap_or(200.0);
    let empty_steps: u64 = value("--empty-steps")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let stdp = args.iter().any(|a| a == "--stdp");
    let mut sizes: Vec<u32> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !matches!(args[i - 1].as_str(), "--ms" | "--empty-steps"))
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![4_000, 64_000, 256_000];
    }
    let ctx = Arc::new(GpuContext::new(None).expect("GPU device"));
    println!("device: {}", ctx.device_name());
    println!("cpu: 1 thread; {ms} ms simulated per network (dt 0.1 ms)");
    println!(
        "{:>7} {:>10} {:>8} {:>8} {:>9} {:>10} {:>9} {:>9} {:>8} {:>8}  spikes_sha256",
        "neurons",
        "synapses",
        "",
        "upload_s",
        "steps/s",
        "events/s",
        "s/bio-s",
        "realtime",
        "rate_Hz",
        "spikes"
    );
    for n in sizes {
        let base = coba_like(n, ms);
        let variants = if stdp {
            vec![("", base.clone()), ("+stdp", with_stdp(base))]
        } else {
            vec![("", base)]
        };
        for (tag, net) in variants {
            bench(&ctx, n, &net, tag, ms);
        }
    }

    // Fixed cost per step: one neuron that never spikes, no inputs, no synapses.
    // Each step still dispatches the neuron update, `args` and an empty indirect
    // propagate; STEP_SLOTS steps go in one submission.
    let mut net = Network::new(0.1, 1.0);
    net.add_population(Population::new(
        "idle",
        1,
        NeuronModel::LifCond(LifCondParams::default()),
    ));
    let built = build(&net, 1).expect("builds");
    let mut gpu = GpuBackend::with_context(ctx.clone(), &built).expect("uploads");
    gpu.run(0, STEP_SLOTS).expect("warm-up");
    // Several repeats: the minimum is the overhead, the median shows the noise.
    let mut per_step: Vec<f64> = (1..=5)
        .map(|k| {
            let t = Instant::now();
            gpu.run(k * empty_steps, empty_steps).expect("runs");
            t.elapsed().as_secs_f64() * 1e6 / empty_steps as f64
        })
        .collect();
    per_step.sort_by(f64::total_cmp);
    let (gpu_min, gpu_med) = (per_step[0], per_step[2]);
    let mut cpu = CpuBackend::new(built);
    let t = Instant::now();
    cpu.run(0, empty_steps).expect("runs");
    let cpu_us = t.elapsed().as_secs_f64() * 1e6 / empty_steps as f64;
    println!(
        "empty network (1 idle neuron), 5 x {empty_steps} steps, {STEP_SLOTS} steps per \
         submission: gpu {gpu_min:.2} us/step (median {gpu_med:.2}), cpu {cpu_us:.3} us/step"
    );
}
