//! A Poisson drive's exact values (moved from tests/it/poisson_input.rs: the
//! counter-based generator is crate-internal): every step each target neuron
//! receives `weight × k`, `k ~ Binomial(n, rate·dt)` from the counter-based
//! generator, through its delay ring in the same step, checked against an
//! independent draw.
use crate::backend::{Backend, CpuBackend};
use crate::build::{STREAM_POISSON_INPUT, build};
use crate::model::*;
use crate::rng::{BinomialTable, CounterRng};

/// A population that integrates its input exactly and never spikes: delta
/// synapses, no leak (`tau_m = inf`), rest 0, threshold out of reach. Its `v` is
/// the sum of every weight × count it received (integers: exact in f32).
fn integrator(name: &str, size: u32) -> Population {
    Population::new(
        name,
        size,
        NeuronModel::Lif(LifParams {
            synapse: SynapseKind::Delta,
            tau_m_ms: f64::INFINITY,
            e_l_mv: 0.0,
            v_reset_mv: 0.0,
            v_th_mv: 1e9,
            t_ref_ms: 0.0,
            ..LifParams::default()
        }),
    )
}

/// The count neuron `i` of drive `input` draws at `step` (src/rng.rs
/// `add_binomial_drive`), computed here from the generator.
fn count(rng: &CounterRng, table: &BinomialTable, input: usize, step: u64, i: u32) -> u32 {
    let w = rng.block(STREAM_POISSON_INPUT + input as u32, 0, step, i / 4)[(i % 4) as usize];
    table.sample(w)
}

#[test]
fn drive_adds_weight_times_binomial_count_in_the_same_step() {
    let mut net = Network::new(0.1, 10.0);
    net.add_population(integrator("a", 70));
    net.add_input(Input::Poisson(PoissonInput::new("a", 1000, 20.0, 1.0)));
    // Inhibitory by the sign of the weight, on a subset.
    let ids: Vec<u32> = vec![3, 0, 64, 69, 17];
    net.add_input(Input::Poisson(PoissonInput {
        ids: Some(ids.clone()),
        ..PoissonInput::new("a", 500, 100.0, -2.0)
    }));
    let built = build(&net, 5).unwrap();
    let rng = CounterRng::new(5);
    let t0 = BinomialTable::new(1000, 20.0 * 0.1 / 1000.0).unwrap();
    let t1 = BinomialTable::new(500, 100.0 * 0.1 / 1000.0).unwrap();
    let mut cpu = CpuBackend::new(built);
    let mut want = vec![0f64; 70];
    let (mut v, mut nonzero) = (vec![], 0);
    for step in 0..200u64 {
        cpu.inputs(step).unwrap();
        // The drive sits in this step's ring slot before the neuron phase reads it.
        let ring = cpu.ring(0);
        for i in 0..70u32 {
            let mut x = count(&rng, &t0, 0, step, i) as f64;
            if ids.contains(&i) {
                x -= 2.0 * count(&rng, &t1, 1, step, i) as f64;
            }
            want[i as usize] += x;
            nonzero += usize::from(x != 0.0);
        }
        assert!(ring.iter().any(|&r| r != 0) || step > 0);
        cpu.neurons(step).unwrap();
        cpu.propagate(step).unwrap();
        cpu.read_state(0, "v", &mut v).unwrap();
        let got: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        assert_eq!(got, want, "step {step}");
    }
    assert!(nonzero > 5000, "the drive should act ({nonzero})");
}
