//! Criterion benchmark of the NALSM feature phase: samples per second through the
//! 1000-neuron NALSM liquid (models/digits_nalsm_liquid.toml: NALSM STDP on every
//! projection, one astrocyte decaying 0.99 per ms), 250 ms per sample, exactly as
//! `astroglia experiment` presents them: every instance reset, its plastic weights
//! reset to the initial ones, a digit's NALSM rate code as input, then one batched
//! run and a drain of the spikes. Throughput is in samples (criterion's
//! "elements/s").
//!
//! Groups: `cpu` at batch 1 and 8 (every core) and, when a GPU adapter is found,
//! `gpu` at batch 1, 8 and 64 (on lavapipe this measures a CPU emulation, so it is
//! skipped unless `ASTROGLIA_BENCH_GPU=1`).
//!
//! Run: `cargo bench --bench lsm` (GPU: `ASTROGLIA_BENCH_GPU=1 cargo bench --bench lsm`).
use std::path::{Path, PathBuf};

use astroglia::backend::{Backend, CpuBackend, GpuBackend};
use astroglia::build::{Built, build};
use astroglia::experiment::lsm::{Dataset, Experiment};
use astroglia::model::Network;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SAMPLE_MS: f64 = 250.0;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// The network with the feature phase's astrocyte decay, its input population,
/// plastic projections and the encoded inputs of 64 digits.
struct Setup {
    built: Built,
    input: usize,
    plastic: Vec<(usize, Vec<f32>)>,
    inputs: Vec<Vec<(u64, u32)>>,
}

fn setup() -> Setup {
    let exp = Experiment::load(&models().join("digits_nalsm.toml")).unwrap();
    let mut net = Network::from_toml_file(models().join(&exp.model)).unwrap();
    net.astrocytes.iter_mut().for_each(|a| a.decay = 0.99);
    let built = build(&net, exp.seed).unwrap();
    let input = net.population_index(&exp.input.population).unwrap();
    let plastic = built
        .projs
        .iter()
        .enumerate()
        .filter_map(|(k, p)| Some((k, p.plastic.as_ref()?.w0.clone())))
        .collect();
    let mut ds = Dataset::open(&exp, &models(), None).unwrap();
    ds.set_dt(net.dt_ms);
    let steps = (SAMPLE_MS / net.dt_ms).round() as usize;
    let refs = ds.samples[..64].to_vec();
    let inputs = refs
        .into_iter()
        .map(|r| ds.encode(r, steps, exp.seed).unwrap().1)
        .collect();
    Setup {
        built,
        input,
        plastic,
        inputs,
    }
}

/// Presents `batch` samples (starting at sample `next`) as one batched run.
fn present(b: &mut dyn Backend, s: &Setup, next: &mut usize, steps: u64) {
    for i in 0..b.batch() {
        b.reset(i).unwrap();
        for (k, w) in &s.plastic {
            b.write_weights(i, *k, w).unwrap();
        }
        b.set_spike_source(i, s.input, s.inputs[*next % s.inputs.len()].clone())
            .unwrap();
        *next += 1;
    }
    b.run(0, steps).unwrap();
    let mut spikes = vec![vec![]; b.batch()];
    b.drain_batch(&mut spikes).unwrap();
}

fn feature_phase(c: &mut Criterion) {
    let s = setup();
    let steps = (SAMPLE_MS / s.built.dt_ms).round() as u64;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group("nalsm_feature_phase_cpu");
    g.sample_size(10);
    for batch in [1usize, 8] {
        let mut b = CpuBackend::batched(vec![s.built.clone(); batch], threads).unwrap();
        let mut next = 0;
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(BenchmarkId::new("batch", batch), |bench| {
            bench.iter(|| present(&mut b, &s, &mut next, steps))
        });
    }
    g.finish();

    if std::env::var("ASTROGLIA_BENCH_GPU").as_deref() != Ok("1") {
        return;
    }
    let mut g = c.benchmark_group("nalsm_feature_phase_gpu");
    g.sample_size(10);
    for batch in [1usize, 8, 64] {
        let mut b = match GpuBackend::batched(&vec![s.built.clone(); batch], None) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("no GPU backend: {e}");
                return;
            }
        };
        let mut next = 0;
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(BenchmarkId::new("batch", batch), |bench| {
            bench.iter(|| present(&mut b, &s, &mut next, steps))
        });
    }
    g.finish();
}

criterion_group!(benches, feature_phase);
criterion_main!(benches);
