//! Helpers shared by the integration tests.
use astroglia::model::*;
use astroglia::sim::{SimOptions, Simulator};

/// Path of a model shipped in `models/`.
pub fn model_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

/// Loads a shipped model.
pub fn load(name: &str) -> Network {
    Network::from_toml_file(model_path(name)).expect("shipped model is valid")
}

/// Runs a network for its duration with a seed; returns the simulator.
pub fn run(net: &Network, seed: u64) -> Simulator {
    let mut sim = Simulator::new(net, SimOptions::default().seed(seed)).expect("builds");
    sim.run_ms(net.duration_ms).expect("runs");
    sim
}

/// Spike times in ms per neuron of a population from a run's recording.
pub fn trains(sim: &Simulator, pop: &str) -> Vec<Vec<f64>> {
    let rec = sim.recording();
    let p = rec
        .spikes
        .iter()
        .find(|p| p.population == pop)
        .expect("recorded");
    let mut out = vec![vec![]; p.size as usize];
    for (&s, &i) in p.steps.iter().zip(&p.ids) {
        out[i as usize].push(s as f64 * rec.dt_ms);
    }
    out
}

/// Opens an HDF5 file read-write without HDF5's advisory lock, as the library
/// opens files: a CLI child that another test spawned meanwhile may hold an
/// inherited descriptor of it (HDF5 does not open files close-on-exec).
#[cfg(feature = "cli")]
pub fn open_rw_unlocked(p: &std::path::Path) -> hdf5::File {
    hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false))
        .open_rw(p)
        .unwrap()
}
