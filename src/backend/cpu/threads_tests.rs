//! Every shipped network, split wherever it can be (a fine grain, so that even
//! small populations and projections take the threaded paths), gives the same
//! spikes and the same plastic weights on 1 to 4 threads.
use super::CpuBackend;
use super::partition::Grain;
use crate::backend::{Backend, Spike};
use crate::build::{Built, Dynamics, Sources, build};
use crate::model::Network;
use std::path::{Path, PathBuf};

/// Network files (experiment files, which name a model, are left out).
fn shipped_networks() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut files = vec![];
    for dir in ["", "user", "lsm/liquids"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if path.extension().is_some_and(|e| e == "toml") && text.contains("[[populations]]") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Spikes and plastic weights of `built` over `steps` steps on `threads`
/// threads, its empty spike sources driven by a fixed pseudo-random pattern
/// (5 % of the channels a step).
fn run(built: &Built, threads: usize, steps: u64) -> (Vec<Spike>, Vec<Vec<f32>>) {
    let sources: Vec<(usize, u32)> = (built.pops.iter().enumerate())
        .filter(|(_, p)| {
            matches!(&p.dynamics, Dynamics::Source(Sources::SpikeSource(s)) if s.0.is_empty())
        })
        .map(|(k, p)| (k, p.size))
        .collect();
    let plastic: Vec<usize> = (0..built.projs.len())
        .filter(|&k| built.projs[k].plastic.is_some())
        .collect();
    let mut b = CpuBackend::with_threads(built.clone(), threads);
    b.instances[0].set_grain(Grain::FINE);
    for (pop, size) in sources {
        let events = (0..steps)
            .flat_map(|s| (0..size).map(move |c| (s, c)))
            .filter(|&(s, c)| (s * 7919 + u64::from(c) * 104_729) % 20 == 0)
            .collect();
        b.set_spike_source(0, pop, events).unwrap();
    }
    b.run(0, steps).unwrap();
    let mut spikes = vec![];
    b.drain_spikes(&mut spikes).unwrap();
    let weights = plastic
        .iter()
        .map(|&k| {
            let mut w = vec![];
            b.read_weights(0, k, &mut w).unwrap();
            w
        })
        .collect();
    (spikes, weights)
}

#[test]
fn every_shipped_network_is_the_same_on_one_to_four_threads() {
    let files = shipped_networks();
    assert!(files.len() >= 20, "{files:?}");
    for path in files {
        let net = Network::from_toml_file(&path).unwrap();
        let built = build(&net, 7).unwrap();
        let steps = (100.0 / net.dt_ms).round() as u64;
        let one = run(&built, 1, steps);
        assert!(
            !one.0.is_empty(),
            "{}: no spikes to compare",
            path.display()
        );
        for threads in 2..=4 {
            assert!(
                one == run(&built, threads, steps),
                "{} differs on {threads} threads",
                path.display()
            );
        }
    }
}
