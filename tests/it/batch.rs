//! Batches: B independent instances over one copy of the connectivity. Each
//! instance must equal a single run with the same construction and instance seed,
//! whatever the thread count, and the instances must actually differ.
use super::gpu_parity::{exact, gpu};
use super::util::load;
use astroglia::backend::{Backend, CpuBackend, GpuBackend};
use astroglia::build::{Built, build};
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
    SimOptions::default().seed(seed).backend(backend)
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
        let batch = hashes(name, opts(seed, backend).batch(8).threads(threads), ms);
        assert_eq!(batch.len(), 8);
        for (b, h) in batch.iter().enumerate() {
            let single = hashes(name, opts(seed, backend).seeds(vec![seed + b as u64]), ms);
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
fn gpu_batch_of_8_equals_8_single_runs() {
    if gpu().is_none() {
        return;
    }
    // Bit parity with the CPU is asserted below; without it (a device that is not
    // bit-exact) single and batched runs still do the same arithmetic.
    assert_batch_matches_single_runs(BackendKind::Gpu, 1, 100.0);
}

const MODELS: [&str; 4] = [
    "coba.toml",
    "izhikevich2003.toml",
    "cuba.toml",
    "liquid.toml",
];

/// `b` instances of `name` built with `seed` (instance seeds seed + b).
fn instances(name: &str, seed: u64, b: u64) -> (astroglia::model::Network, Vec<Built>) {
    let net = load(name);
    let built = build(&net, seed).unwrap();
    let all = (0..b)
        .map(|k| {
            if k == 0 {
                built.clone()
            } else {
                built.instance(&net, seed + k).unwrap()
            }
        })
        .collect();
    (net, all)
}

/// Instance hashes of a batch run on `backend` for `ms`.
fn batch_hashes(
    net: &astroglia::model::Network,
    built: &Built,
    backend: Box<dyn Backend>,
    ms: f64,
) -> Vec<String> {
    let mut sim = Simulator::with_backend(net, built, backend).unwrap();
    sim.run_ms(ms).unwrap();
    let s = sim.summary();
    s.instances.into_iter().map(|i| i.spikes_sha256).collect()
}

#[test]
fn gpu_batch_of_8_hashes_equal_cpu_batch_of_8() {
    let Some(ctx) = gpu() else { return };
    for name in MODELS {
        let (net, all) = instances(name, 21, 8);
        let ms = 200.0;
        let cpu = batch_hashes(
            &net,
            &all[0],
            Box::new(CpuBackend::batched(all.clone(), 1).unwrap()),
            ms,
        );
        let gpu = batch_hashes(
            &net,
            &all[0],
            Box::new(GpuBackend::batched_with_context(ctx.clone(), &all).unwrap()),
            ms,
        );
        assert_eq!(gpu.len(), 8);
        if exact(&ctx) {
            assert_eq!(cpu, gpu, "{name}");
        } else {
            eprintln!("{name}: device not bit-exact, hashes not compared");
        }
    }
}

#[test]
fn gpu_batch_instance_state_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for name in ["izhikevich2003.toml", "coba.toml"] {
        let (_, all) = instances(name, 4, 5);
        let mut cpu = CpuBackend::batched(all.clone(), 1).unwrap();
        let mut gpu = GpuBackend::batched_with_context(ctx.clone(), &all).unwrap();
        assert_eq!(gpu.batch(), 5);
        cpu.run(0, 300).unwrap();
        gpu.run(0, 300).unwrap();
        for (pi, p) in all[0].pops.iter().enumerate() {
            for var in ["v", "u", "ge", "gi", "i_ext"] {
                let (mut a, mut b) = (vec![], vec![]);
                if cpu.read_instance_state(3, pi, var, &mut a).is_err() {
                    continue;
                }
                gpu.read_instance_state(3, pi, var, &mut b).unwrap();
                assert_eq!(a.len(), b.len(), "{name} {}.{var}", p.name);
                if exact(&ctx) {
                    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "{name} instance 3 {}.{var}", p.name);
                }
            }
        }
        // Instance 3 differs from instance 0.
        let (mut a, mut b) = (vec![], vec![]);
        gpu.read_instance_state(0, 0, "v", &mut a).unwrap();
        gpu.read_instance_state(3, 0, "v", &mut b).unwrap();
        assert_ne!(a, b, "{name}");
        assert!(gpu.read_instance_state(5, 0, "v", &mut b).is_err());
        let mut out = vec![vec![]; 5];
        gpu.drain_batch(&mut out).unwrap();
        let mut want = vec![vec![]; 5];
        cpu.drain_batch(&mut want).unwrap();
        if exact(&ctx) {
            assert_eq!(out, want, "{name}");
        }
        assert!(gpu.drain_batch(&mut vec![vec![]; 4]).is_err());
    }
}

#[test]
fn gpu_batch_with_a_small_record_splits_runs() {
    let Some(ctx) = gpu() else { return };
    let (net, all) = instances("liquid.toml", 5, 3);
    let n = u64::from(all[0].n_neurons());
    let cpu = batch_hashes(
        &net,
        &all[0],
        Box::new(CpuBackend::batched(all.clone(), 1).unwrap()),
        200.0,
    );
    // Two steps of the whole batch per read-back.
    let small = GpuBackend::batched_with_record(ctx.clone(), &all, Some(2 * 3 * n)).unwrap();
    let gpu = batch_hashes(&net, &all[0], Box::new(small), 200.0);
    if exact(&ctx) {
        assert_eq!(cpu, gpu);
    }
}

#[test]
fn gpu_batch_refuses_instances_of_other_networks() {
    let Some(ctx) = gpu() else { return };
    let (_, mut all) = instances("coba.toml", 5, 2);
    all.push(build(&load("coba.toml"), 6).unwrap());
    let err = GpuBackend::batched_with_context(ctx, &all)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("share their connectivity"), "{err}");
}

#[test]
fn cpu_batch_is_independent_of_threads() {
    let one = hashes("coba.toml", opts(5, BackendKind::Cpu).batch(4), 200.0);
    for threads in [2, 3] {
        let many = hashes(
            "coba.toml",
            opts(5, BackendKind::Cpu).batch(4).threads(threads),
            200.0,
        );
        assert_eq!(one, many, "{threads} threads");
    }
}

#[test]
fn instance_with_the_construction_seed_is_the_single_run() {
    let single = hashes("coba.toml", opts(7, BackendKind::Cpu), 200.0);
    let batch = hashes("coba.toml", opts(7, BackendKind::Cpu).batch(3), 200.0);
    assert_eq!(single[0], batch[0]);
}

#[test]
fn empty_instance_seed_list_is_an_error() {
    let err = Simulator::new(&load("coba.toml"), SimOptions::default().seeds(vec![]))
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("at least one seed"), "{err}");
}
