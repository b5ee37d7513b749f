//! Criterion benchmarks of the CPU reference backend: one biological second of the
//! COBA benchmark (4000 neurons, dt 0.1 ms) and of the Izhikevich 2003 network,
//! plus network construction, and COBA with its neuron written as equations
//! (`models/user/coba_user.toml`). Run: `cargo bench --bench engine`.
use astroglia::model::Network;
use astroglia::sim::{SimOptions, Simulator};
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::Path;

fn model(name: &str) -> Network {
    Network::from_toml_file(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(name),
    )
    .unwrap()
}

fn one_second(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_biological_second");
    g.sample_size(20);
    // user/coba_user.toml: COBA's neuron as equations (the interpreter), the
    // same spikes as coba.toml.
    for name in [
        "coba.toml",
        "user/coba_user.toml",
        "izhikevich2003.toml",
        "cuba.toml",
    ] {
        let net = model(name);
        let label = name.trim_start_matches("user/").trim_end_matches(".toml");
        g.bench_function(label, |b| {
            b.iter_batched(
                || Simulator::new(&net, SimOptions::default().seed(1)).unwrap(),
                |mut sim| {
                    sim.run_ms(1000.0).unwrap();
                    sim
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn construction(c: &mut Criterion) {
    let mut g = c.benchmark_group("build");
    g.sample_size(20);
    for name in ["coba.toml", "izhikevich2003.toml"] {
        let net = model(name);
        g.bench_function(name.trim_end_matches(".toml"), |b| {
            b.iter(|| astroglia::build::build(&net, 1).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, one_second, construction);
criterion_main!(benches);
