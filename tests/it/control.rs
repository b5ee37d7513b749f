//! Control of a simulation between runs (`Simulator::reset`,
//! `Simulator::set_spike_source`) on both backends, over gpu_reset.rs's
//! plastic liquid with an astrocyte: a reset run reproduces the
//! first run exactly, restored weights are the built ones and kept weights
//! the learnt ones, each instance keeps its own spike-source events, the GPU
//! (lavapipe in CI) gives the CPU's spikes, and misuse is refused.
use super::gpu_parity::gpu;
use super::gpu_reset::MODEL;
use astroglia::model::parse_toml;
use astroglia::sim::{BackendKind, ResetWeights, SimOptions, Simulator};

/// Input `k`: every input fires every `3 + k` ms from `k` ms on.
fn source(k: usize) -> (Vec<f64>, Vec<u32>) {
    let (mut times, mut ids) = (vec![], vec![]);
    for t in (k..100).step_by(3 + k) {
        for id in 0..32 {
            times.push(t as f64);
            ids.push(id);
        }
    }
    (times, ids)
}

fn simulator(backend: BackendKind) -> Simulator {
    let net = parse_toml(MODEL, "control.toml").unwrap();
    let opts = SimOptions::default().seed(5).batch(2).backend(backend);
    let mut sim = Simulator::new(&net, opts).unwrap();
    for k in 0..2 {
        let (times, ids) = source(k);
        sim.set_spike_source(k, "input", &times, &ids).unwrap();
    }
    sim
}

fn hashes(sim: &Simulator) -> Vec<String> {
    let s = sim.summary();
    s.instances
        .iter()
        .map(|i| i.spikes_sha256.clone())
        .collect()
}

/// Runs, resets and runs again on `backend`; returns the first run's hashes.
fn reset_reproduces(backend: BackendKind) -> Vec<String> {
    let mut sim = simulator(backend);
    let built = sim.weights(0, "ee").unwrap();
    sim.run_ms(100.0).unwrap();
    let first = hashes(&sim);
    assert_ne!(first[0], first[1], "the instances got different inputs");
    let learnt = sim.weights(1, "ee").unwrap();
    assert_ne!(learnt, built, "plasticity changed the weights");

    sim.reset(ResetWeights::Keep).unwrap();
    assert_eq!(sim.steps_done(), 0);
    assert_eq!(sim.summary().populations["exc"].spikes, 0);
    assert_eq!(sim.weights(1, "ee").unwrap(), learnt);

    sim.reset(ResetWeights::Restore).unwrap();
    assert_eq!(sim.weights(1, "ee").unwrap(), built);
    sim.run_ms(100.0).unwrap();
    assert_eq!(hashes(&sim), first, "a reset run is the first run");
    assert_eq!(sim.weights(1, "ee").unwrap(), learnt);
    first
}

#[test]
fn reset_runs_reproduce_the_first_run_on_the_cpu_and_the_gpu() {
    let cpu = reset_reproduces(BackendKind::Cpu);
    if gpu().is_some() {
        assert_eq!(reset_reproduces(BackendKind::Gpu), cpu, "GPU against CPU");
    }
}

#[test]
fn misuse_of_the_controls_is_refused_with_typed_errors() {
    use astroglia::Error;
    let mut sim = simulator(BackendKind::Cpu);
    let refused = |r: astroglia::Result<()>, what: &str| {
        let e = r.expect_err(what);
        assert!(e.to_string().contains(what), "{e} should mention {what:?}");
        e
    };
    let e = refused(sim.set_spike_source(0, "nope", &[1.0], &[0]), "nope");
    assert!(
        matches!(&e, Error::Unknown { kind: "population", name, known }
            if name == "nope" && known == &["input", "exc", "inh"]),
        "{e:?}"
    );
    for (times, ids, what) in [
        (&[1.0, 2.0][..], &[0][..], "entries"),
        (&[-1.0], &[0], ">= 0"),
        (&[1.0], &[32], "out of range"),
    ] {
        let e = refused(sim.set_spike_source(0, "input", times, ids), what);
        assert!(matches!(e, Error::Argument { .. }), "{e:?}");
    }
    let e = refused(sim.set_spike_source(2, "input", &[1.0], &[0]), "index 2");
    assert!(
        matches!(
            e,
            Error::NoIndex {
                kind: "instance",
                index: 2,
                count: 2
            }
        ),
        "{e:?}"
    );
    refused(
        sim.set_spike_source(0, "exc", &[1.0], &[0]),
        "not a spike source",
    );
    let e = sim.weights(0, "nope").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unknown {
                kind: "projection",
                ..
            }
        ),
        "{e:?}"
    );
    let e = sim.astrocyte(0, "nope").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unknown {
                kind: "astrocyte",
                ..
            }
        ),
        "{e:?}"
    );
}

/// Stores the plastic liquid half way, runs on, restores and runs again on
/// `backend`; returns the hashes, weights and astrocyte of the run after the store.
fn store_restore(backend: BackendKind) -> (Vec<String>, Vec<f32>, Vec<f32>) {
    let mut sim = simulator(backend);
    sim.run_ms(40.0).unwrap();
    sim.store("t40").unwrap();
    sim.run_ms(60.0).unwrap();
    let after = (
        hashes(&sim),
        sim.weights(1, "ee").unwrap(),
        sim.astrocyte(1, "astro").unwrap(),
    );
    // Something else in between: another store, a reset and a different run.
    sim.store("t100").unwrap();
    sim.reset(ResetWeights::Restore).unwrap();
    sim.run_ms(25.0).unwrap();
    sim.restore("t40").unwrap();
    assert_eq!(sim.steps_done(), 40);
    sim.run_ms(60.0).unwrap();
    let again = (
        hashes(&sim),
        sim.weights(1, "ee").unwrap(),
        sim.astrocyte(1, "astro").unwrap(),
    );
    assert!(again == after, "a run after restore is the run after store");
    after
}

#[test]
fn store_and_restore_come_back_to_the_same_state_on_the_cpu_and_the_gpu() {
    let cpu = store_restore(BackendKind::Cpu);
    if gpu().is_some() {
        assert!(store_restore(BackendKind::Gpu) == cpu, "GPU against CPU");
    }
}

const LEVELS: &str = r#"
dt_ms = 0.1
seed = 2

[[populations]]
name = "cells"
size = 10
lif = { c_m_pf = 200.0, tau_m_ms = 20.0, e_l_mv = -60.0, v_reset_mv = -60.0, v_th_mv = -50.0, t_ref_ms = 2.0 }

[[populations]]
name = "noisy"
size = 200
lif = { c_m_pf = 200.0, tau_m_ms = 20.0, e_l_mv = -60.0, v_reset_mv = -60.0, v_th_mv = -50.0, t_ref_ms = 2.0 }

[[inputs]]
current = { target = "cells", amplitude = 0.0 }

[[inputs]]
noise = { target = "noisy", std = 0.0 }
"#;

/// Two instances with their own current and noise levels on `backend`:
/// instance 0 stays silent, instance 1 fires; returns instance 1's hash.
fn levels(backend: BackendKind) -> String {
    let net = parse_toml(LEVELS, "levels.toml").unwrap();
    let opts = SimOptions::default().batch(2).backend(backend);
    let mut sim = Simulator::new(&net, opts).unwrap();
    sim.set_current(1, "cells", 300.0).unwrap();
    sim.set_noise(1, "noisy", 50.0, 400.0).unwrap();
    sim.run_ms(1000.0).unwrap();
    let s = sim.summary();
    let rate = |b: usize, pop: &str| {
        let spikes = &sim.instance_recording(b).unwrap().spikes;
        let p = spikes.iter().find(|p| p.population == pop).unwrap();
        p.ids.len() as f64 / f64::from(p.size)
    };
    assert_eq!(
        rate(0, "cells") + rate(0, "noisy"),
        0.0,
        "instance 0 has no input"
    );
    // 300 pA through 100 MOhm: 30 mV against a 10 mV gap, so an interval of
    // 2 ms + 20 ms * ln(30 / 20) = 10.1 ms (analytic, continuous time).
    let analytic = 1000.0 / (2.0 + 20.0 * (30.0f64 / 20.0).ln());
    assert!(
        (rate(1, "cells") - analytic).abs() < 0.02 * analytic,
        "{}",
        rate(1, "cells")
    );
    assert!(rate(1, "noisy") > 1.0, "the noise drives spikes");
    s.instances[1].spikes_sha256.clone()
}

#[test]
fn currents_and_noise_set_per_instance_on_the_cpu_and_the_gpu() {
    let cpu = levels(BackendKind::Cpu);
    if gpu().is_some() {
        assert_eq!(levels(BackendKind::Gpu), cpu, "GPU against CPU");
    }
    let net = parse_toml(LEVELS, "levels.toml").unwrap();
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    use astroglia::Error;
    let e = sim.set_current(0, "noisy", 1.0).unwrap_err();
    assert!(matches!(e, Error::Argument { .. }), "{e:?}");
    let e = sim.set_noise(0, "noisy", 0.0, -1.0).unwrap_err();
    assert!(matches!(e, Error::Range { .. }), "{e:?}");
    let e = sim.set_current(0, "cells", f64::INFINITY).unwrap_err();
    assert!(matches!(e, Error::Range { .. }), "{e:?}");
}
