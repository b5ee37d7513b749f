//! `Backend::reset` and `Backend::set_spike_source` on the GPU: a batch whose
//! instances get different spike-source events, runs, resets, gets weights
//! written and new (longer) events, and runs again, equals the CPU reference bit
//! for bit (spikes, weights, traces, astrocyte states); a reset run reproduces
//! the first run exactly; bad events are refused with the CPU's messages.
//!
//! Without any GPU adapter the tests print "skipped: no GPU adapter" and pass
//! (see gpu_parity.rs).
use super::gpu_parity::{exact, gpu};
use super::gpu_plasticity::{bits, first_diff};
use astroglia::backend::{Backend, CpuBackend, GpuBackend, Spike};
use astroglia::build::{Built, build};
use astroglia::model::{Network, parse_toml};

/// A spike-source input onto a small LIF liquid through NALSM-plastic
/// projections, with an astrocyte setting their depression rate.
pub(super) const MODEL: &str = r#"
name = "reset"
dt_ms = 1.0
duration_ms = 100.0
seed = 5

[[populations]]
name = "input"
size = 32
spike_source = { times_ms = [1.0, 2.0], ids = [0, 1] }

[[populations]]
name = "exc"
size = 80
lif = { c_m_pf = 0.6321, tau_m_ms = 64.0, e_l_mv = 0.0, v_reset_mv = 0.0, v_th_mv = 20.0, t_ref_ms = 2.0, tau_syn_exc_ms = 1.0, tau_syn_inh_ms = 1.0 }

[[populations]]
name = "inh"
size = 20
lif = { c_m_pf = 0.6321, tau_m_ms = 64.0, e_l_mv = 0.0, v_reset_mv = 0.0, v_th_mv = 20.0, t_ref_ms = 2.0, tau_syn_exc_ms = 1.0, tau_syn_inh_ms = 1.0 }

[[projections]]
name = "in_exc"
from = "input"
to = "exc"
connect = { fixed_probability = { p = 0.3 } }
weight = 3.0
receptor = "exc"
plasticity = { nalsm = { w_min = 0.0, w_max = 3.0 } }

[[projections]]
name = "ee"
from = "exc"
to = "exc"
connect = { fixed_probability = { p = 0.1 } }
weight = 2.0
plasticity = { nalsm = { w_min = 0.0, w_max = 3.0 } }

[[projections]]
name = "ei"
from = "exc"
to = "inh"
connect = { fixed_probability = { p = 0.2 } }
weight = 3.0

[[projections]]
name = "ie"
from = "inh"
to = "exc"
connect = { fixed_probability = { p = 0.3 } }
weight = -3.0

[[astrocytes]]
name = "astro"
liquid = ["exc", "inh"]
input = ["input"]
modulates = ["in_exc", "ee"]
w_a = 0.015
"#;

const STEPS: u64 = 100;

fn network() -> (Network, Built, usize) {
    let net = parse_toml(MODEL, "reset.toml").expect("valid model");
    let built = build(&net, 5).unwrap();
    let input = built.pops.iter().position(|p| p.name == "input").unwrap();
    (net, built, input)
}

/// Pseudo-random events over `STEPS` steps of 32 inputs, each firing with
/// probability about `p` per step (sorted by step, then id).
fn events(seed: u64, p: f64) -> Vec<(u64, u32)> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = vec![];
    for step in 0..STEPS {
        for id in 0..32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (x >> 11) as f64 / (1u64 << 53) as f64 <= p {
                out.push((step, id));
            }
        }
    }
    out
}

fn drain(be: &mut dyn Backend) -> Vec<Vec<Spike>> {
    let mut out = vec![vec![]; be.batch()];
    be.drain_batch(&mut out).unwrap();
    out
}

/// Asserts equal weights, traces and astrocyte states in every instance.
fn assert_same_state(what: &str, built: &Built, cpu: &mut CpuBackend, gpu: &mut GpuBackend) {
    for b in 0..cpu.batch() {
        for (k, pr) in built.projs.iter().enumerate() {
            let (mut a, mut g) = (vec![], vec![]);
            cpu.read_weights(b, k, &mut a).unwrap();
            gpu.read_weights(b, k, &mut g).unwrap();
            assert_eq!(
                first_diff(&a, &g),
                None,
                "{what}: weights of {} in instance {b}",
                pr.name
            );
            for var in ["r1", "r2", "o1", "o2"] {
                if cpu.read_trace(b, k, var, &mut a).is_ok() {
                    gpu.read_trace(b, k, var, &mut g).unwrap();
                    assert_eq!(
                        bits(&a),
                        bits(&g),
                        "{what}: trace {var} of {} in instance {b}",
                        pr.name
                    );
                }
            }
        }
        let (mut a, mut g) = (vec![], vec![]);
        cpu.read_astrocyte(b, 0, &mut a).unwrap();
        gpu.read_astrocyte(b, 0, &mut g).unwrap();
        assert_eq!(bits(&a), bits(&g), "{what}: astrocyte of instance {b}");
        for (pi, p) in built.pops.iter().enumerate() {
            for var in ["v", "i_exc", "i_inh"] {
                if cpu.read_instance_state(b, pi, var, &mut a).is_ok() {
                    gpu.read_instance_state(b, pi, var, &mut g).unwrap();
                    assert_eq!(
                        bits(&a),
                        bits(&g),
                        "{what}: {var} of {} in instance {b}",
                        p.name
                    );
                }
            }
        }
    }
}

#[test]
fn gpu_reset_and_per_instance_spike_sources_match_cpu() {
    let Some(ctx) = gpu() else { return };
    if !exact(&ctx) {
        return;
    }
    let (net, built, input) = network();
    let all: Vec<Built> = (0..3)
        .map(|k| match k {
            0 => built.clone(),
            k => built.instance(&net, 100 + k).unwrap(),
        })
        .collect();
    let mut cpu = CpuBackend::batched(all.clone(), 1).unwrap();
    let mut gpu = GpuBackend::batched_with_context(ctx.clone(), &all).unwrap();
    let plastic: Vec<usize> = (0..built.projs.len())
        .filter(|&k| built.projs[k].plastic.is_some())
        .collect();
    for b in 0..3 {
        let ev = events(1 + b as u64, 0.05 + 0.03 * b as f64);
        cpu.set_spike_source(b, input, ev.clone()).unwrap();
        gpu.set_spike_source(b, input, ev).unwrap();
    }
    cpu.run(0, STEPS).unwrap();
    gpu.run(0, STEPS).unwrap();
    let (sc, sg) = (drain(&mut cpu), drain(&mut gpu));
    assert_eq!(sc, sg, "first run: spikes");
    assert!(
        sc.iter().all(|s| !s.is_empty()),
        "first run: every instance spikes"
    );
    assert_ne!(sc[0], sc[1], "different events give different spikes");
    assert_same_state("first run", &built, &mut cpu, &mut gpu);

    // Reset, then each instance gets the weights its neighbour learnt and
    // longer event lists (the device buffer grows).
    let learnt: Vec<Vec<Vec<f32>>> = (0..3)
        .map(|b| {
            plastic
                .iter()
                .map(|&k| {
                    let mut w = vec![];
                    cpu.read_weights(b, k, &mut w).unwrap();
                    w
                })
                .collect()
        })
        .collect();
    for b in 0..3 {
        cpu.reset(b).unwrap();
        gpu.reset(b).unwrap();
    }
    assert_same_state("after the reset", &built, &mut cpu, &mut gpu);
    for b in 0..3 {
        for (w, &k) in learnt[(b + 1) % 3].iter().zip(&plastic) {
            cpu.write_weights(b, k, w).unwrap();
            gpu.write_weights(b, k, w).unwrap();
        }
        let ev = events(10 + b as u64, 0.2 + 0.1 * b as f64);
        cpu.set_spike_source(b, input, ev.clone()).unwrap();
        gpu.set_spike_source(b, input, ev).unwrap();
    }
    // Instance 1 gets no input at all this time.
    cpu.set_spike_source(1, input, vec![]).unwrap();
    gpu.set_spike_source(1, input, vec![]).unwrap();
    cpu.run(0, STEPS).unwrap();
    gpu.run(0, STEPS).unwrap();
    let (sc2, sg2) = (drain(&mut cpu), drain(&mut gpu));
    assert_eq!(sc2, sg2, "second run: spikes");
    assert!(!sc2[0].is_empty() && !sc2[2].is_empty());
    assert_same_state("second run", &built, &mut cpu, &mut gpu);
    println!(
        "spikes per instance: first run {:?}, second run {:?}",
        sc.iter().map(Vec::len).collect::<Vec<_>>(),
        sc2.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[test]
fn gpu_reset_run_reproduces_the_first_run() {
    let Some(ctx) = gpu() else { return };
    let (net, built, input) = network();
    let all = vec![built.clone(), built.instance(&net, 7).unwrap()];
    let mut gpu = GpuBackend::batched_with_context(ctx.clone(), &all).unwrap();
    let plastic: Vec<usize> = (0..built.projs.len())
        .filter(|&k| built.projs[k].plastic.is_some())
        .collect();
    let weights = |gpu: &mut GpuBackend| -> Vec<Vec<Vec<f32>>> {
        (0..2)
            .map(|b| {
                plastic
                    .iter()
                    .map(|&k| {
                        let mut w = vec![];
                        gpu.read_weights(b, k, &mut w).unwrap();
                        w
                    })
                    .collect()
            })
            .collect()
    };
    let w0 = weights(&mut gpu);
    for b in 0..2 {
        gpu.set_spike_source(b, input, events(3 + b as u64, 0.1))
            .unwrap();
    }
    gpu.run(0, STEPS).unwrap();
    let first = drain(&mut gpu);
    let w1 = weights(&mut gpu);
    assert!(first.iter().all(|s| !s.is_empty()));
    assert_ne!(w0, w1, "the weights learn");
    let mut astro = vec![];
    gpu.read_astrocyte(0, 0, &mut astro).unwrap();
    // Run on partly (undrained spikes are dropped by the reset), then reset.
    gpu.run(0, 10).unwrap();
    for (b, w0) in w0.iter().enumerate() {
        gpu.reset(b).unwrap();
        for (w, &k) in w0.iter().zip(&plastic) {
            gpu.write_weights(b, k, w).unwrap();
        }
    }
    // Instance 1 gets its events again (rewound either way).
    gpu.set_spike_source(1, input, events(4, 0.1)).unwrap();
    gpu.run(0, STEPS).unwrap();
    assert_eq!(drain(&mut gpu), first, "spikes after the reset");
    assert_eq!(weights(&mut gpu), w1, "weights after the reset");
    let mut again = vec![];
    gpu.read_astrocyte(0, 0, &mut again).unwrap();
    assert_eq!(bits(&astro), bits(&again), "astrocyte after the reset");
}

#[test]
fn gpu_bad_spike_source_events_are_refused_as_on_cpu() {
    let Some(ctx) = gpu() else { return };
    let (_, built, input) = network();
    let mut cpu = CpuBackend::new(built.clone());
    let mut gpu = GpuBackend::with_context(ctx.clone(), &built).unwrap();
    let exc = built.pops.iter().position(|p| p.name == "exc").unwrap();
    type Case = (usize, Vec<(u64, u32)>, &'static str);
    let cases: Vec<Case> = vec![
        (exc, vec![(0, 0)], "is not a spike source"),
        (99, vec![(0, 0)], "no population with index 99"),
        (input, vec![(0, 1), (3, 32)], "outside its 32 neurons"),
        (input, vec![(2, 1), (1, 0)], "must be sorted"),
        (input, vec![(2, 1), (2, 0)], "must be sorted"),
        (input, vec![(2, 1), (2, 1)], "without repeats"),
    ];
    for (pop, ev, want) in cases {
        let c = cpu.set_spike_source(0, pop, ev.clone()).unwrap_err();
        let g = gpu.set_spike_source(0, pop, ev.clone()).unwrap_err();
        assert_eq!(c.to_string(), g.to_string(), "{ev:?}");
        assert!(c.to_string().contains(want), "{c}");
    }
    assert!(gpu.set_spike_source(1, input, vec![]).is_err());
    assert!(gpu.reset(1).is_err());
    // The refused calls changed nothing: both still run the model's events alike.
    cpu.run(0, 20).unwrap();
    gpu.run(0, 20).unwrap();
    assert_eq!(drain(&mut cpu), drain(&mut gpu));
}
