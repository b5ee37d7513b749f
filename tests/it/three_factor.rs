//! Three-factor contracts: reward-modulated STDP moves weights only through its
//! eligibility trace times the modulator, and the delta rule with HLOP leaves an
//! earlier task's readout untouched while the unprojected rule disturbs it.
use astroglia::backend::ThirdFactor;
use astroglia::model::*;
use astroglia::plasticity::HlopParams;
use astroglia::plasticity::{DeltaParams, RewardStdpParams};
use astroglia::sim::{SimOptions, Simulator};

#[test]
fn reward_stdp_changes_weights_by_modulated_eligibility() {
    let dt = 0.1;
    let mut net = Network::new(dt, 200.0);
    let src = |t: f64| NeuronModel::SpikeSource(SpikeSourceParams::new(vec![t], vec![0]));
    net.add_population(Population::new("pre", 1, src(10.0)));
    net.add_population(Population::new("drive", 1, src(14.9)));
    let lif = LifParams::default().synapse(SynapseKind::Delta);
    net.add_population(Population::new("post", 1, NeuronModel::Lif(lif)).init("v", -65.0));
    net.add_projection(Projection::new("drive", "post", Connect::OneToOne {}).weight(100.0));
    let mut p = RewardStdpParams::default();
    p.w_min = -1.0;
    let mut syn = Projection::new("pre", "post", Connect::OneToOne {})
        .weight(0.0)
        .plasticity(Plasticity::RewardStdp(p.clone()));
    syn.name = Some("syn".into());
    net.add_projection(syn);
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    // Without reward the causal pair (post at 15 ms) only builds eligibility.
    sim.run_ms(20.0).unwrap();
    assert_eq!(sim.weights(0, "syn").unwrap()[0], 0.0);
    sim.set_modulator(0, "syn", 1.0).unwrap();
    let n = 1000;
    sim.run_steps(n, |_| {}).unwrap();
    // e = a_plus exp(-5/tau_plus) at 15 ms, decaying by d_e per step; w gains
    // lr * e every step.
    let d_e = (-dt / p.tau_e_ms).exp();
    let e15 = p.a_plus * (-5.0 / p.tau_plus_ms).exp();
    let e20 = e15 * d_e.powi(50);
    let expect: f64 = (1..=n as i32).map(|i| p.lr * e20 * d_e.powi(i)).sum();
    let got = sim.weights(0, "syn").unwrap()[0] as f64;
    assert!((got - expect).abs() < 1e-4 * expect, "{got} vs {expect}");
    // A negative reward reverses the change.
    sim.set_modulator(0, "syn", -1.0).unwrap();
    sim.run_steps(n, |_| {}).unwrap();
    assert!((sim.weights(0, "syn").unwrap()[0] as f64) < got);
    let e = sim.set_modulator(0, "syn", f32::NAN).unwrap_err();
    assert!(matches!(e, astroglia::Error::Range { .. }), "{e:?}");
    assert!(e.to_string().contains("NaN is out of range"), "{e}");
}

/// Poisson spike times of 20 sources: sources 0–9 active in [0, 500) ms (task 1),
/// 5–14 in [500, 1000) ms (task 2).
fn task_spikes() -> SpikeSourceParams {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (mut times_ms, mut ids) = (vec![], vec![]);
    for t in 0..1000u32 {
        let active = if t < 500 { 0..10 } else { 5..15 };
        for i in active {
            if rng.random::<f64>() < 0.04 + 0.003 * i as f64 {
                times_ms.push(t as f64);
                ids.push(i);
            }
        }
    }
    SpikeSourceParams::new(times_ms, ids)
}

fn readout(hlop: bool) -> Network {
    let mut net = Network::new(1.0, 1000.0);
    net.add_population(Population::new(
        "in",
        20,
        NeuronModel::SpikeSource(task_spikes()),
    ));
    net.add_population(Population::new(
        "out",
        3,
        NeuronModel::Lif(LifParams::default()),
    ));
    let mut rule = DeltaParams::default();
    (rule.lr, rule.w_min, rule.w_max) = (0.002, -10.0, 10.0);
    rule.hlop = hlop.then(|| {
        let mut h = HlopParams::default();
        h.lr = 0.05;
        h
    });
    let mut p = Projection::new("in", "out", Connect::AllToAll { allow_self: true })
        .weight(0.0)
        .plasticity(Plasticity::Delta(rule));
    p.name = Some("readout".into());
    net.add_projection(p);
    net
}

/// Readout outputs `W x` for every trace vector in `xs` (all-to-all CSR:
/// `w[j * 3 + i]` is input j onto output i).
fn outputs(w: &[f32], xs: &[f32]) -> Vec<f64> {
    xs.chunks(20)
        .flat_map(|x| {
            (0..3).map(move |i| {
                (0..20)
                    .map(|j| w[j * 3 + i] as f64 * x[j] as f64)
                    .sum::<f64>()
            })
        })
        .collect()
}

/// Trains task 1 then task 2 with the delta rule; returns the relative change of
/// the task-1 outputs caused by training task 2, and how far task 2 moved weights.
fn continual(hlop: bool) -> (f64, f64) {
    let mut sim = Simulator::new(&readout(hlop), SimOptions::default()).unwrap();
    let tf = |sim: &mut Simulator, cmd| sim.third_factor(0, "readout", cmd).unwrap();
    if hlop {
        tf(&mut sim, ThirdFactor::HlopTask { k: 10, seed: 3 });
    }
    sim.set_error(0, "readout", &[1.0, -0.5, 0.25]).unwrap();
    let mut xs = vec![];
    for _ in 0..100 {
        sim.run_ms(5.0).unwrap();
        xs.extend(sim.trace(0, "readout", "r1").unwrap());
    }
    if hlop {
        for _ in 0..1000 {
            tf(
                &mut sim,
                ThirdFactor::HlopLearn {
                    x: &xs,
                    batch: xs.len() / 20,
                },
            );
        }
        // Task 2 begins: task 1's rows are frozen, 5 fresh rows follow.
        tf(&mut sim, ThirdFactor::HlopTask { k: 5, seed: 4 });
    }
    let w1 = sim.weights(0, "readout").unwrap();
    let before = outputs(&w1, &xs);
    sim.set_error(0, "readout", &[-0.5, 1.0, -1.0]).unwrap();
    sim.run_ms(500.0).unwrap();
    let w2 = sim.weights(0, "readout").unwrap();
    let after = outputs(&w2, &xs);
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let diff: Vec<f64> = before.iter().zip(&after).map(|(a, b)| a - b).collect();
    let moved: Vec<f64> = w1.iter().zip(&w2).map(|(a, b)| (a - b) as f64).collect();
    (
        norm(&diff) / norm(&before),
        norm(&moved) / norm(&w1.iter().map(|&x| x as f64).collect::<Vec<_>>()),
    )
}

#[test]
fn delta_rule_with_hlop_protects_the_earlier_task() {
    let (with, moved_with) = continual(true);
    let (without, moved_without) = continual(false);
    println!(
        "task-1 output change: {with:.2e} with HLOP, {without:.2e} without; weights moved {moved_with:.2} / {moved_without:.2}"
    );
    assert!(with < 1e-3, "{with}");
    assert!(without > 0.1, "{without}");
    // Task 2 still learns with the projection.
    assert!(moved_with > 0.1, "{moved_with}");
}
