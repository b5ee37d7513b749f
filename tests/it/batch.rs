//! Batches: B independent instances over one copy of the connectivity. Each
//! instance must equal a single run with the same construction and instance seed,
//! whatever the thread count, and the instances must actually differ.
use super::util::load;
use astroglia::sim::{BackendKind, SimOptions, Simulator};

/// Hashes of every instance of a run (one hash for a single run).
fn hashes(name: &str, opts: SimOptions, ms: f64) -> Vec<String> {
    let mut sim = Simulator::new(&load(name), opts).unwrap();
    sim.run_ms(ms).unwrap();
    let s = sim.summary();
    if s.instances.is_empty() {
        vec![s.spikes_sha256]
    } else {
        s.instances.into_iter().map(|i| i.spikes_sha256).collect()
    }
}

fn opts(seed: u64, backend: BackendKind) -> SimOptions {
    SimOptions {
        seed: Some(seed),
        backend,
        ..Default::default()
    }
}

/// Instance b of a batch of 8 equals the batch-1 run with instance seed seed + b.
pub fn assert_batch_matches_single_runs(backend: BackendKind, threads: usize, ms: f64) {
    for name in [
        "coba.toml",
        "izhikevich2003.toml",
        "cuba.toml",
        "liquid.toml",
    ] {
        let seed = 11;
        let batch = hashes(
            name,
            SimOptions {
                batch: 8,
                threads,
                ..opts(seed, backend)
            },
            ms,
        );
        assert_eq!(batch.len(), 8);
        for (b, h) in batch.iter().enumerate() {
            let single = hashes(
                name,
                SimOptions {
                    instance_seeds: Some(vec![seed + b as u64]),
                    ..opts(seed, backend)
                },
                ms,
            );
            assert_eq!(
                &single[0], h,
                "{name}: instance {b} differs from its single run"
            );
        }
        let mut distinct = batch.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 8, "{name}: instances should differ");
    }
}

#[test]
fn cpu_batch_of_8_equals_8_single_runs() {
    assert_batch_matches_single_runs(BackendKind::Cpu, 1, 150.0);
}

#[test]
fn cpu_batch_is_independent_of_threads() {
    let one = hashes(
        "coba.toml",
        SimOptions {
            batch: 4,
            ..opts(5, BackendKind::Cpu)
        },
        200.0,
    );
    for threads in [2, 3] {
        let many = hashes(
            "coba.toml",
            SimOptions {
                batch: 4,
                threads,
                ..opts(5, BackendKind::Cpu)
            },
            200.0,
        );
        assert_eq!(one, many, "{threads} threads");
    }
}

#[test]
fn instance_with_the_construction_seed_is_the_single_run() {
    let single = hashes("coba.toml", opts(7, BackendKind::Cpu), 200.0);
    let batch = hashes(
        "coba.toml",
        SimOptions {
            batch: 3,
            ..opts(7, BackendKind::Cpu)
        },
        200.0,
    );
    assert_eq!(single[0], batch[0]);
}

#[test]
fn empty_instance_seed_list_is_an_error() {
    let err = Simulator::new(
        &load("coba.toml"),
        SimOptions {
            instance_seeds: Some(vec![]),
            ..Default::default()
        },
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(err.contains("at least one seed"), "{err}");
}
