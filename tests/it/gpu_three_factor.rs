//! GPU three-factor rules and astrocytes equal the CPU reference bit for bit:
//! reward-modulated STDP (a batch of two instances with their own modulators),
//! the delta rule, the delta rule with HLOP over three tasks (a batch of two;
//! analogue and spiking lateral neurons; frozen rows uploaded and their room
//! regrown), and an astrocyte-modulated NALSM liquid with domains (alone and in a
//! batch, phase by phase, and through the CLI): the same spikes
//! (`spikes_sha256`), bit-identical weights, traces and astrocyte states, with
//! modulators, errors and HLOP commands issued between runs; third-factor and
//! astrocyte errors read as on the CPU.
//!
//! Without a GPU adapter the tests print "skipped: no GPU adapter" and pass, unless
//! `ASTROGLIA_REQUIRE_GPU` is set. On a device not declared bit-exact (see
//! `gpu_parity::exact`) only the shapes of the results are compared.
use super::gpu_parity::{cli_summary, exact, gpu};
use super::gpu_plasticity::{
    Case, W_EXC, assert_same_state, bits, cpu_sim, first_diff, gpu_sim, network, plastic,
};
use super::util::load;
use astroglia::backend::gpu::GpuContext;
use astroglia::backend::{Backend, CpuBackend, GpuBackend, ThirdFactor};
use astroglia::build::{Built, build};
use astroglia::model::*;
use astroglia::plasticity::{DeltaParams, RewardStdpParams};
use astroglia::plasticity::{HlopParams, SpikingLateral};
use astroglia::sim::Simulator;
use std::sync::Arc;

/// Both simulators of a parity run.
struct Pair {
    cpu: Simulator,
    gpu: Simulator,
}

impl Pair {
    /// A batch of `n` instances of `net` (instance 0 from `seed`, the others
    /// from seeds 100, 101, …) on both backends.
    fn new(ctx: &Arc<GpuContext>, net: &Network, seed: u64, n: u64) -> Self {
        let built = build(net, seed).unwrap();
        if n == 1 {
            return Pair {
                cpu: cpu_sim(net, &built),
                gpu: gpu_sim(ctx, net, &built),
            };
        }
        let all: Vec<Built> = (0..n)
            .map(|k| match k {
                0 => built.clone(),
                k => built.instance(net, 99 + k).unwrap(),
            })
            .collect();
        let cpu = CpuBackend::batched(all.clone(), 1).unwrap();
        let gpu = GpuBackend::batched_with_context(ctx.clone(), &all).unwrap();
        Pair {
            cpu: Simulator::with_backend(net, &all[0], Box::new(cpu)).unwrap(),
            gpu: Simulator::with_backend(net, &all[0], Box::new(gpu)).unwrap(),
        }
    }

    fn run_ms(&mut self, ms: f64) {
        self.cpu.run_ms(ms).unwrap();
        self.gpu.run_ms(ms).unwrap();
    }

    /// The same third-factor command to both.
    fn third(&mut self, b: usize, proj: &str, cmd: ThirdFactor<'_>) {
        self.cpu.third_factor(b, proj, cmd).unwrap();
        self.gpu.third_factor(b, proj, cmd).unwrap();
    }

    /// Per-instance spike hashes of (cpu, gpu).
    fn hashes(&self) -> (Vec<String>, Vec<String>) {
        let h = |s: &Simulator| -> Vec<String> {
            s.summary()
                .instances
                .into_iter()
                .map(|i| i.spikes_sha256)
                .collect()
        };
        (h(&self.cpu), h(&self.gpu))
    }
}

/// Asserts equal spikes, weights and traces of every instance; returns the
/// fraction of plastic weights of instance 0 that moved from `w0` and the
/// fraction at a bound.
fn assert_same(what: &str, net: &Network, p: &mut Pair, n: usize, w0: &[Vec<f32>]) -> (f64, f64) {
    let (c, g) = p.hashes();
    assert_eq!(c, g, "{what}: spikes_sha256 per instance");
    let mut out = (0.0, 0.0);
    for b in (0..n).rev() {
        out = assert_same_state(what, net, &mut p.cpu, &mut p.gpu, b, w0);
    }
    out
}

fn initial_weights(net: &Network, sim: &mut Simulator) -> Vec<Vec<f32>> {
    plastic(net)
        .iter()
        .map(|n| sim.weights(0, n).unwrap())
        .collect()
}

/// Reward-modulated STDP on input → E, E → E and E → I of the recurrent test
/// network (tests/it/gpu_plasticity.rs).
fn reward_case() -> Case {
    Case {
        name: "reward_stdp",
        exc: Plasticity::RewardStdp({
            let mut params = RewardStdpParams::default();
            params.lr = 2e-4;
            params.w_max = W_EXC;
            params
        }),
        inh: None,
    }
}

#[test]
fn reward_stdp_matches_cpu_over_one_second_with_modulators_set_mid_run() {
    let Some(ctx) = gpu() else { return };
    let net = network(&reward_case(), 1000.0);
    let mut p = Pair::new(&ctx, &net, 5, 2);
    let w0 = initial_weights(&net, &mut p.cpu);
    let names = plastic(&net);
    // 200 ms of eligibility only; then each instance gets its own reward
    // schedule, including a pause (M = 0) and a negative modulator.
    p.run_ms(200.0);
    let schedule: [[f32; 2]; 4] = [[1.0, -0.5], [0.0, 2.0], [-1.5, 0.0], [0.75, 1.0]];
    for ms in schedule {
        for (b, m) in ms.into_iter().enumerate() {
            for name in &names {
                p.third(b, name, ThirdFactor::Modulator(m));
            }
        }
        p.run_ms(200.0);
    }
    let e0 = p.gpu.weights(0, "e->e").unwrap();
    assert_ne!(
        e0,
        p.gpu.weights(1, "e->e").unwrap(),
        "weights per instance"
    );
    if !exact(&ctx) {
        return;
    }
    let (moved, at_bound) = assert_same("reward_stdp", &net, &mut p, 2, &w0);
    println!(
        "reward_stdp: {:.0} % of plastic weights moved, {:.0} % at a bound",
        100.0 * moved,
        100.0 * at_bound
    );
    assert!(moved > 0.5 && at_bound < 0.9, "{moved} {at_bound}");
}

#[test]
fn reward_stdp_eligibility_reads_as_on_cpu() {
    let Some(ctx) = gpu() else { return };
    let net = network(&reward_case(), 100.0);
    let mut p = Pair::new(&ctx, &net, 7, 2);
    p.run_ms(60.0);
    p.third(1, "e->e", ThirdFactor::Modulator(1.0));
    p.run_ms(40.0);
    for name in plastic(&net) {
        for b in 0..2 {
            let x = p.cpu.trace(b, &name, "elig").unwrap();
            let y = p.gpu.trace(b, &name, "elig").unwrap();
            assert_eq!(x.len(), p.cpu.weights(b, &name).unwrap().len(), "{name}");
            assert!(x.iter().any(|&e| e != 0.0), "{name}: eligibility moved");
            if exact(&ctx) {
                assert_eq!(first_diff(&x, &y), None, "elig of {name} in instance {b}");
            }
        }
    }
}

/// A delta rule on input → E, E → E and E → I; with `hlop`, HLOP on input → E
/// (analogue lateral neurons) and E → E (spiking ones).
fn delta_case(hlop: bool) -> Case {
    let rule = |hlop: Option<HlopParams>| {
        Plasticity::Delta({
            let mut params = DeltaParams::default();
            params.lr = 2e-4;
            params.w_min = -W_EXC;
            params.w_max = W_EXC;
            params.hlop = hlop;
            params
        })
    };
    Case {
        name: if hlop { "delta with hlop" } else { "delta" },
        exc: rule(hlop.then(HlopParams::default)),
        inh: None,
    }
}

/// The network of `case` with HLOP (when the case has it) only where
/// [`delta_case`] says: spiking lateral neurons on E → E, none on E → I.
fn delta_network(case: &Case, ms: f64) -> Network {
    let mut net = network(case, ms);
    for pr in &mut net.projections {
        let label = pr.label();
        let Some(Plasticity::Delta(d)) = &mut pr.plasticity else {
            continue;
        };
        match label.as_str() {
            "e->e" => {
                if let Some(h) = &mut d.hlop {
                    h.spiking = Some({
                        let mut params = SpikingLateral::default();
                        params.scale = 2.0;
                        params.levels = 40;
                        params
                    });
                }
            }
            "e->i" => d.hlop = None,
            _ => {}
        }
    }
    net
}

/// Deterministic errors in [−1, 1) for `n` neurons (0 for every third when
/// `sparse`).
fn errors(n: u32, seed: u32, sparse: bool) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) % 2001;
            if sparse && i % 3 == 0 {
                0.0
            } else {
                h as f32 / 1000.0 - 1.0
            }
        })
        .collect()
}

/// Sets fresh errors on every delta projection of instance `b`.
fn set_errors(p: &mut Pair, net: &Network, b: usize, seed: u32, zero: bool) {
    for (name, n) in [("in->e", 160), ("e->e", 160), ("e->i", 40)] {
        if !plastic(net).contains(&name.to_string()) {
            continue;
        }
        let e = if zero {
            vec![0.0; n as usize]
        } else {
            errors(n, seed, seed % 2 == 1)
        };
        p.third(b, name, ThirdFactor::Error(&e));
    }
}

#[test]
fn delta_rule_matches_cpu_over_one_second_with_errors_set_mid_run() {
    let Some(ctx) = gpu() else { return };
    let case = delta_case(false);
    let net = delta_network(&case, 1000.0);
    let mut p = Pair::new(&ctx, &net, 7, 1);
    let w0 = initial_weights(&net, &mut p.cpu);
    // Errors, new errors, all zero (the update is skipped), errors again.
    for (seed, zero, ms) in [(1, false, 300.0), (2, false, 300.0), (0, true, 200.0)] {
        set_errors(&mut p, &net, 0, seed, zero);
        p.run_ms(ms);
    }
    set_errors(&mut p, &net, 0, 3, false);
    p.run_ms(200.0);
    if !exact(&ctx) {
        return;
    }
    let (moved, at_bound) = assert_same(case.name, &net, &mut p, 1, &w0);
    println!(
        "delta: {:.0} % of plastic weights moved, {:.0} % at a bound",
        100.0 * moved,
        100.0 * at_bound
    );
    assert!(moved > 0.5 && at_bound < 0.9, "{moved} {at_bound}");
}

/// r1 of `proj` of instance `b` on both backends, asserted equal.
fn same_trace(p: &mut Pair, b: usize, proj: &str) -> Vec<f32> {
    let x = p.cpu.trace(b, proj, "r1").unwrap();
    let y = p.gpu.trace(b, proj, "r1").unwrap();
    assert_eq!(first_diff(&x, &y), None, "r1 of {proj} in instance {b}");
    x
}

/// A batch of two; in instance b each task adds b more rows, so the instances
/// freeze different numbers of rows and the device's room per rule is the
/// larger.
#[test]
fn delta_rule_with_hlop_matches_cpu_across_three_tasks() {
    let Some(ctx) = gpu() else { return };
    let case = delta_case(true);
    let net = delta_network(&case, 1000.0);
    let mut p = Pair::new(&ctx, &net, 11, 2);
    let w0 = initial_weights(&net, &mut p.cpu);
    let hlop = ["in->e", "e->e"];
    // Task k: new rows (the previous ones frozen: none, 8, then 12 in instance
    // 0, so the device regrows its room for rows), errors, 300 ms of training
    // while the presynaptic traces are sampled, then Hebbian learning on the
    // samples.
    for (task, rows) in [8usize, 4, 4].into_iter().enumerate() {
        for b in 0..2 {
            for name in hlop {
                let seed = 10 * task as u64 + name.len() as u64 + 100 * b as u64;
                p.third(b, name, ThirdFactor::HlopTask { k: rows + b, seed });
            }
            set_errors(&mut p, &net, b, 2 * task as u32 + b as u32 + 1, false);
        }
        let mut xs = vec![vec![]; 4];
        for _ in 0..10 {
            p.run_ms(30.0);
            if !exact(&ctx) {
                continue;
            }
            for b in 0..2 {
                for (k, name) in hlop.iter().enumerate() {
                    let x = same_trace(&mut p, b, name);
                    xs[2 * b + k].extend(x);
                }
            }
        }
        if !exact(&ctx) {
            continue;
        }
        for b in 0..2 {
            for (k, name) in hlop.iter().enumerate() {
                let x = &xs[2 * b + k];
                let batch = x.len() / if k == 0 { 200 } else { 160 };
                for _ in 0..20 {
                    p.third(b, name, ThirdFactor::HlopLearn { x, batch });
                }
            }
        }
        assert_same(&format!("hlop task {task}"), &net, &mut p, 2, &w0);
    }
    if !exact(&ctx) {
        return;
    }
    let (moved, at_bound) = assert_same(case.name, &net, &mut p, 2, &w0);
    println!(
        "delta with hlop: {:.0} % of plastic weights moved, {:.0} % at a bound",
        100.0 * moved,
        100.0 * at_bound
    );
    assert!(moved > 0.5 && at_bound < 0.9, "{moved} {at_bound}");
}

/// models/nalsm_liquid.toml with its astrocyte split into `domains` and fading by
/// `decay` per step, for `ms`.
fn liquid(domains: [u32; 3], decay: f64, ms: f64) -> Network {
    let mut net = load("nalsm_liquid.toml");
    net.duration_ms = ms;
    net.astrocytes[0].domains = domains;
    net.astrocytes[0].decay = decay;
    net
}

/// Asserts bit-identical astrocyte states of instance `b`; returns them.
fn same_astrocyte(what: &str, p: &mut Pair, b: usize) -> Vec<f32> {
    let a = p.cpu.astrocyte(b, "astro").unwrap();
    let g = p.gpu.astrocyte(b, "astro").unwrap();
    assert_eq!(
        first_diff(&a, &g),
        None,
        "{what}: astrocyte A of instance {b}"
    );
    a
}

#[test]
fn astrocyte_modulated_liquid_matches_cpu_over_one_second() {
    let Some(ctx) = gpu() else { return };
    for (domains, decay, ms, n) in [([2, 1, 1], 1.0, 1000.0, 1), ([2, 2, 2], 0.999, 300.0, 2)] {
        let what = format!("domains {domains:?}, decay {decay}");
        let net = liquid(domains, decay, ms);
        let mut p = Pair::new(&ctx, &net, 1, n);
        let w0 = initial_weights(&net, &mut p.cpu);
        // The model's monitor reads A every 10 steps, so the run goes in
        // 10-step submissions; check A a few times on the way too.
        for _ in 0..4 {
            p.run_ms(ms / 4.0);
            if exact(&ctx) {
                same_astrocyte(&what, &mut p, 0);
            }
        }
        let a = p.gpu.astrocyte(n as usize - 1, "astro").unwrap();
        assert_eq!(a.len(), domains.iter().product::<u32>() as usize);
        if !exact(&ctx) {
            continue;
        }
        let (moved, _) = assert_same(&what, &net, &mut p, n as usize, &w0);
        let a = (0..n as usize)
            .map(|b| same_astrocyte(&what, &mut p, b))
            .collect::<Vec<_>>();
        assert!(a[0].windows(2).any(|w| w[0] != w[1]), "{what}: {a:?}");
        // Bits, not values: the recording holds no NaN, and -0.0 must match too.
        let rec = |s: &Simulator| -> Vec<(Vec<u64>, Vec<u32>)> {
            let r = s.recording();
            r.states
                .iter()
                .map(|t| (t.steps.clone(), bits(&t.values)))
                .collect()
        };
        let (rc, rg) = (rec(&p.cpu), rec(&p.gpu));
        assert!(!rc.is_empty() && !rc[0].0.is_empty(), "{what}: monitor");
        assert_eq!(rc, rg, "{what}: the astrocyte monitor");
        println!(
            "{what}: A {:?}, {:.0} % of weights moved, spikes {}",
            a[0],
            100.0 * moved,
            p.cpu
                .summary()
                .populations
                .values()
                .map(|x| x.spikes)
                .sum::<u64>()
        );
    }
}

/// Steps `steps` of the liquid phase by phase and compares A and every weight
/// after each step (finds the first step and array that differ).
#[test]
fn astrocyte_matches_cpu_step_by_step() {
    let Some(ctx) = gpu() else { return };
    if !exact(&ctx) {
        return;
    }
    let net = liquid([2, 1, 1], 0.99, 100.0);
    let built = build(&net, 3).unwrap();
    let mut cpu = CpuBackend::new(built.clone());
    let mut gpu = GpuBackend::with_context(ctx.clone(), &built).unwrap();
    for step in 0..100 {
        for be in [&mut cpu as &mut dyn Backend, &mut gpu] {
            be.inputs(step).unwrap();
            be.neurons(step).unwrap();
            be.propagate(step).unwrap();
            be.plasticity(step).unwrap();
        }
        let (mut a, mut b) = (vec![], vec![]);
        cpu.read_astrocyte(0, 0, &mut a).unwrap();
        gpu.read_astrocyte(0, 0, &mut b).unwrap();
        assert_eq!(bits(&a), bits(&b), "step {step}: A");
        for (k, pr) in built.projs.iter().enumerate() {
            cpu.read_weights(0, k, &mut a).unwrap();
            gpu.read_weights(0, k, &mut b).unwrap();
            assert_eq!(
                first_diff(&a, &b),
                None,
                "step {step}: weights of {}",
                pr.name
            );
        }
        let (mut a, mut b) = (vec![], vec![]);
        cpu.drain_spikes(&mut a).unwrap();
        gpu.drain_spikes(&mut b).unwrap();
        assert_eq!(a, b, "step {step}: spikes");
    }
}

/// An astrocyte that modulates nothing, in a network without plasticity, still
/// integrates the liquid's spikes alike.
#[test]
fn astrocyte_without_plastic_projections_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    let mut net = liquid([1, 2, 1], 1.0, 200.0);
    net.astrocytes[0].modulates.clear();
    net.projections.iter_mut().for_each(|p| p.plasticity = None);
    let mut p = Pair::new(&ctx, &net, 4, 1);
    p.run_ms(200.0);
    if exact(&ctx) {
        let (c, g) = p.hashes();
        assert_eq!(c, g);
        let a = same_astrocyte("no plasticity", &mut p, 0);
        assert!(a[0] != a[1], "{a:?}");
    }
}

#[test]
fn gpu_third_factor_and_astrocyte_errors_read_as_on_cpu() {
    let Some(ctx) = gpu() else { return };
    let net = delta_network(&delta_case(true), 10.0);
    let mut p = Pair::new(&ctx, &net, 2, 1);
    let nan = [f32::NAN; 160];
    let short = [0.5; 3];
    let cmds: [(&str, ThirdFactor<'_>); 8] = [
        ("in->e", ThirdFactor::Modulator(1.0)),
        ("i->i", ThirdFactor::Modulator(1.0)),
        ("in->e", ThirdFactor::Error(&short)),
        ("in->e", ThirdFactor::Error(&nan)),
        ("e->i", ThirdFactor::HlopTask { k: 2, seed: 1 }),
        ("in->e", ThirdFactor::HlopTask { k: 201, seed: 1 }),
        (
            "in->e",
            ThirdFactor::HlopLearn {
                x: &short,
                batch: 1,
            },
        ),
        ("nope", ThirdFactor::Modulator(0.0)),
    ];
    for (name, cmd) in cmds {
        let c = p.cpu.third_factor(0, name, cmd).unwrap_err().to_string();
        let g = p.gpu.third_factor(0, name, cmd).unwrap_err().to_string();
        assert_eq!(c, g, "{name} {cmd:?}");
    }
    // This network has no astrocyte: the backends answer alike.
    let built = build(&net, 2).unwrap();
    let mut cpu = CpuBackend::new(built.clone());
    let mut gpu = GpuBackend::with_context(ctx.clone(), &built).unwrap();
    let c = cpu
        .read_astrocyte(0, 0, &mut vec![])
        .unwrap_err()
        .to_string();
    let g = gpu
        .read_astrocyte(0, 0, &mut vec![])
        .unwrap_err()
        .to_string();
    assert_eq!(c, g);
    // The failed HlopTask froze the rows before failing, on both: the runs
    // still agree.
    set_errors(&mut p, &net, 0, 5, false);
    p.run_ms(10.0);
    if exact(&ctx) {
        let (c, g) = p.hashes();
        assert_eq!(c, g);
        let w = p.cpu.weights(0, "in->e").unwrap();
        assert_eq!(bits(&w), bits(&p.gpu.weights(0, "in->e").unwrap()));
    }
}

#[test]
fn cli_gpu_run_of_nalsm_liquid_writes_the_cpu_summary() {
    let Some(ctx) = gpu() else { return };
    let summary = |backend: &str| {
        cli_summary(
            "nalsm_liquid.toml",
            &["--backend", backend, "--duration-ms", "200"],
        )
    };
    let (cpu, gpu) = (summary("cpu"), summary("gpu"));
    assert_eq!(gpu["backend"], "gpu");
    assert!(gpu["plasticity"]["ee"]["mean_w"].is_number());
    if exact(&ctx) {
        assert_eq!(cpu["spikes_sha256"], gpu["spikes_sha256"]);
        assert_eq!(cpu["plasticity"], gpu["plasticity"]);
    }
}
