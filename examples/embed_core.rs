//! The smallest embedding of the CPU engine: builds the COBA E/I network in code,
//! runs 1 s and prints the spike count and the spike hash. Needs no feature, so
//! it measures the core (docs/features.md):
//! `cargo run --release --no-default-features --example embed_core`.
use astroglia::model::{Connect, Network};
use astroglia::sim::{SimOptions, Simulator};

fn main() -> astroglia::Result<()> {
    let p = Connect::FixedProbability {
        p: 0.02,
        allow_self: false,
    };
    let net = Network::coba_like(4000, p.clone(), p, 1000.0);
    let mut sim = Simulator::new(&net, SimOptions::default().seed(1))?;
    sim.run_ms(1000.0)?;
    let s = sim.summary();
    let spikes: u64 = s.populations.values().map(|p| p.spikes).sum();
    println!("spikes {spikes}");
    println!("spikes_sha256 {}", s.spikes_sha256);
    Ok(())
}
