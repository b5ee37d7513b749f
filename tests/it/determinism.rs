//! Same model and seed ⇒ the same spikes (spikes_sha256), run after run and with
//! any thread count; a different seed gives different spikes.
use super::util::{load, run};
use astroglia::sim::{SimOptions, Simulator};

fn hash(name: &str, seed: u64, threads: usize, ms: f64) -> String {
    let net = load(name);
    let mut sim = Simulator::new(&net, SimOptions::default().seed(seed).threads(threads)).unwrap();
    sim.run_ms(ms).unwrap();
    sim.spikes_sha256()
}

#[test]
fn same_seed_gives_identical_spikes_and_other_seed_differs() {
    for name in [
        "coba.toml",
        "izhikevich2003.toml",
        "cuba.toml",
        "liquid.toml",
    ] {
        let a = hash(name, 5, 1, 200.0);
        let b = hash(name, 5, 1, 200.0);
        let c = hash(name, 6, 1, 200.0);
        assert_eq!(a, b, "{name}: repeated run differs");
        assert_ne!(a, c, "{name}: seed has no effect");
    }
}

#[test]
fn thread_count_does_not_change_spikes() {
    for name in ["coba.toml", "izhikevich2003.toml", "liquid.toml"] {
        let one = hash(name, 3, 1, 300.0);
        for threads in [2, 3, 8] {
            assert_eq!(
                one,
                hash(name, 3, threads, 300.0),
                "{name} with {threads} threads"
            );
        }
    }
}

#[test]
fn running_in_pieces_equals_one_run() {
    let net = load("coba.toml");
    let whole = run(&net, 9);
    let mut pieces = Simulator::new(&net, SimOptions::default().seed(9)).unwrap();
    for _ in 0..4 {
        pieces.run_ms(net.duration_ms / 4.0).unwrap();
    }
    assert_eq!(whole.spikes_sha256(), pieces.spikes_sha256());
    assert_eq!(
        whole.summary().synaptic_events,
        pieces.summary().synaptic_events
    );
}

/// Networks large enough for the team to split them (delivery by target
/// part, neuron updates by chunk): the same spikes for 1 to 4 threads. Sorted
/// sparse rows (COBA-style, 64 000 neurons, 80 synapses per neuron) and
/// all-to-all rows (1 200 neurons, 1.4 million synapses).
#[test]
fn split_networks_give_the_same_spikes_for_any_thread_count() {
    use astroglia::model::{Connect, Network};
    let sparse = Connect::FixedProbability {
        p: 80.0 / 64_000.0,
        allow_self: false,
    };
    let dense = Connect::AllToAll { allow_self: false };
    for net in [
        Network::coba_like(64_000, sparse.clone(), sparse, 20.0),
        Network::coba_like(1_200, dense.clone(), dense, 20.0),
    ] {
        let hash = |threads: usize| {
            let mut sim =
                Simulator::new(&net, SimOptions::default().seed(2).threads(threads)).unwrap();
            sim.run_ms(20.0).unwrap();
            let spikes: u64 = sim.summary().populations.values().map(|p| p.spikes).sum();
            (sim.spikes_sha256(), spikes)
        };
        let one = hash(1);
        assert!(one.1 > 100, "{} spikes: too few to compare", one.1);
        for threads in [2, 3, 4] {
            assert_eq!(hash(threads), one, "{threads} threads");
        }
    }
}
