//! Times whole `Simulator::run_ms(1000)` calls of the COBA benchmark, as
//! `benches/engine.rs` does, and prints the minimum and median: on a shared machine
//! noise only adds time, so the minimum is the repeatable figure.
//!
//! `cargo run --release --example time_coba -- [RUNS] [MODEL]` (default 20 runs
//! of `models/coba.toml`; `models/user/coba_user.toml` times the same network
//! with its neuron written as equations). Pin it to one core with `taskset -c 1`
//! to measure the one-core target.
use astroglia::model::Network;
use astroglia::sim::{SimOptions, Simulator};
use std::time::Instant;

fn main() -> astroglia::Result<()> {
    let runs: usize = match std::env::args().nth(1) {
        None => 20,
        Some(a) => a.parse().map_err(|_| {
            astroglia::Error::argument("RUNS", format!("must be a positive integer, got '{a}'"))
        })?,
    };
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        std::env::args()
            .nth(2)
            .unwrap_or_else(|| "models/coba.toml".into()),
    );
    let net = Network::from_toml_file(&model)?;
    let (mut whole, mut backend) = (vec![], vec![]);
    let mut sha = String::new();
    for _ in 0..runs.max(1) {
        let opts = SimOptions::default().seed(1);
        let mut sim = Simulator::new(&net, opts)?;
        let t = Instant::now();
        sim.run_ms(1000.0)?;
        whole.push(t.elapsed().as_secs_f64());
        let s = sim.summary();
        backend.push(s.sim_s);
        sha = s.spikes_sha256;
    }
    whole.sort_by(f64::total_cmp);
    backend.sort_by(f64::total_cmp);
    println!(
        "{}, 1 s of biological time, {} runs: run_ms min {:.4} s, median {:.4} s; \
         backend loop min {:.4} s; spikes_sha256 {}",
        model.display(),
        whole.len(),
        whole[0],
        whole[whole.len() / 2],
        backend[0],
        &sha[..12]
    );
    Ok(())
}
