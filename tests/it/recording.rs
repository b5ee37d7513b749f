//! The recording's memory bound: a run stops with a typed error when an
//! instance's recording grows past `SimOptions::max_recorded_spikes`, keeping
//! every spike, and a drained loop of the same length stays under it.
use astroglia::Error;
use astroglia::model::*;
use astroglia::record::PopSpikes;
use astroglia::sim::{DEFAULT_MAX_RECORDED_SPIKES, SimOptions, Simulator};

/// 200 LIF neurons driven by a constant current from random potentials: a
/// steady few thousand spikes a second.
fn noisy() -> Network {
    let mut net = Network::new(0.1, 1000.0);
    net.add_population(
        Population::new("n", 200, NeuronModel::Lif(LifParams::default())).init(
            "v",
            Dist::Uniform {
                low: -70.0,
                high: -50.0,
            },
        ),
    );
    net.add_input(Input::Current(CurrentInput::new("n", 500.0)));
    net
}

fn total(spikes: &[PopSpikes]) -> u64 {
    spikes.iter().map(|p| p.ids.len() as u64).sum()
}

/// Every spike of a 1 s run, recorded without a bound.
fn unbounded() -> (u64, Vec<PopSpikes>) {
    let opts = SimOptions::default().seed(4).max_recorded_spikes(None);
    let mut sim = Simulator::new(&noisy(), opts).unwrap();
    sim.run_ms(1000.0).unwrap();
    let spikes = sim.drain_spikes();
    (total(&spikes), spikes)
}

#[test]
fn the_default_bound_is_documented_and_on() {
    assert_eq!(
        SimOptions::default().max_recorded_spikes,
        Some(DEFAULT_MAX_RECORDED_SPIKES)
    );
    assert_eq!(DEFAULT_MAX_RECORDED_SPIKES, 1 << 24);
}

#[test]
fn a_full_recording_stops_the_run_and_keeps_every_spike() {
    let (all, _) = unbounded();
    assert!(all > 400, "the network should fire: {all} spikes");
    let limit = all / 4;
    let opts = SimOptions::default()
        .seed(4)
        .max_recorded_spikes(Some(limit));
    let mut sim = Simulator::new(&noisy(), opts).unwrap();
    let err = sim.run_ms(1000.0).unwrap_err();
    let Error::RecordingFull {
        instance,
        spikes,
        limit: l,
        step,
    } = err
    else {
        panic!("expected RecordingFull, got {err:?}");
    };
    assert_eq!((instance, l), (0, limit));
    assert!(spikes > limit);
    assert!(step > 0 && step < 10_000, "stopped at step {step}");
    assert_eq!(sim.steps_done(), step);
    // Nothing was lost: the recording holds every spike up to the stop.
    let held = sim.drain_spikes();
    assert_eq!(total(&held), spikes);
    let counted: u64 = sim.summary().populations.values().map(|p| p.spikes).sum();
    assert_eq!(counted, spikes);
}

#[test]
fn draining_between_chunks_stays_under_the_bound_and_loses_nothing() {
    let (all, whole) = unbounded();
    let limit = all / 4;
    let opts = SimOptions::default()
        .seed(4)
        .max_recorded_spikes(Some(limit));
    let mut sim = Simulator::new(&noisy(), opts).unwrap();
    let mut chunks: Vec<Vec<PopSpikes>> = vec![];
    for _ in 0..100 {
        sim.run_ms(10.0).unwrap();
        chunks.push(sim.drain_spikes());
    }
    for (p, whole) in whole.iter().enumerate() {
        let steps: Vec<u64> = chunks.iter().flat_map(|c| c[p].steps.clone()).collect();
        let ids: Vec<u32> = chunks.iter().flat_map(|c| c[p].ids.clone()).collect();
        assert_eq!(
            (&steps, &ids),
            (&whole.steps, &whole.ids),
            "population {}",
            whole.population
        );
    }
}

#[test]
fn the_bound_can_be_lifted_between_runs() {
    let (all, _) = unbounded();
    let opts = SimOptions::default()
        .seed(4)
        .max_recorded_spikes(Some(all / 4));
    let mut sim = Simulator::new(&noisy(), opts).unwrap();
    assert!(matches!(
        sim.run_ms(1000.0),
        Err(Error::RecordingFull { .. })
    ));
    sim.set_max_recorded_spikes(None);
    let left = 10_000 - sim.steps_done();
    sim.run_steps(left, |_| {}).unwrap();
    assert_eq!(total(&sim.drain_spikes()), all);
}
