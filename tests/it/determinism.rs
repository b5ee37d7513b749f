//! Same model and seed ⇒ the same spikes (spikes_sha256), run after run and with
//! any thread count; a different seed gives different spikes.
use super::util::{load, run};
use astroglia::sim::{SimOptions, Simulator};

fn hash(name: &str, seed: u64, threads: usize, ms: f64) -> String {
    let net = load(name);
    let mut sim = Simulator::new(
        &net,
        SimOptions {
            seed: Some(seed),
            threads,
            ..Default::default()
        },
    )
    .unwrap();
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
    let mut pieces = Simulator::new(
        &net,
        SimOptions {
            seed: Some(9),
            ..Default::default()
        },
    )
    .unwrap();
    for _ in 0..4 {
        pieces.run_ms(net.duration_ms / 4.0).unwrap();
    }
    assert_eq!(whole.spikes_sha256(), pieces.spikes_sha256());
    assert_eq!(
        whole.summary().synaptic_events,
        pieces.summary().synaptic_events
    );
}
