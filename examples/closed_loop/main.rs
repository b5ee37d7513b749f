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
    let exc = f64::from(sim.population_size("exc")?);
    let mut sequential = vec![];
    for s in 0..SAMPLES {
        let [(raster, input)] = <[_; 1]>::try_from(run_samples(&mut sim, s)?).expect("one");
        let rate = raster.len() as f64 / (exc * CHUNKS as f64 * CHUNK_MS / 1000.0);
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

    // Sample 2 stored half way; its second half run, then run again from the snapshot.
    sim.reset(ResetWeights::Restore)?;
    let mut trial = Trial::new(2, 1);
    trial.run(&mut sim, CHUNKS / 2)?;
    sim.store("half")?;
    let saved = trial.clone();
    trial.run(&mut sim, CHUNKS / 2)?;
    let first_pass = trial.out[0].0.clone();
    sim.restore("half")?;
    let mut trial = saved;
    trial.run(&mut sim, CHUNKS / 2)?;
    println!(
        "second half of sample 2 again after restore: identical = {}; = the uninterrupted sample: {}",
        trial.out[0].0 == first_pass,
        first_pass == sequential[2]
    );
    Ok(())
}
