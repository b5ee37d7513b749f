//! COBA-style networks of growing size with 80 synapses per neuron (p = 80/N, the
//! COBA weights, 80 % excitatory): prints construction time, simulation time per
//! biological second, synaptic events/s and bytes per synapse.
//!
//! `cargo run --release --example scaling -- [sizes...] [--ms T] [--threads N]`
//! (default 16000 64000 256000, 200 ms, the automatic thread count); also prints
//! spikes_sha256, the same for any thread count.
use astroglia::model::*;
use astroglia::sim::{SimOptions, Simulator};
use std::time::Instant;

/// COBA at `n` neurons with 80 synapses per neuron.
fn coba_like(n: u32, ms: f64) -> Network {
    let p = Connect::FixedProbability {
        p: 80.0 / n as f64,
        allow_self: false,
    };
    Network::coba_like(n, p.clone(), p, ms)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ms = args
        .iter()
        .position(|a| a == "--ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(200.0);
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut sizes: Vec<u32> = args
        .iter()
        .enumerate()
        .filter(|&(i, _)| i == 0 || !["--ms", "--threads"].contains(&args[i - 1].as_str()))
        .filter_map(|(_, a)| a.parse().ok())
        .filter(|&n: &u32| n >= 100)
        .collect();
    if sizes.is_empty() {
        sizes = vec![16_000, 64_000, 256_000];
    }
    println!(
        "{:>8} {:>11} {:>8} {:>12} {:>10} {:>12} {:>8} {:>14}",
        "neurons",
        "synapses",
        "build_s",
        "s/bio-s",
        "rate_Hz",
        "events/s",
        "B/syn",
        "spikes_sha256"
    );
    for n in sizes {
        let net = coba_like(n, ms);
        let t = Instant::now();
        let opts = SimOptions::default()
            .seed(1)
            .threads(threads)
            // Every spike is recorded, whatever the size asked for.
            .max_recorded_spikes(None);
        let mut sim = Simulator::new(&net, opts).unwrap();
        let build_s = t.elapsed().as_secs_f64();
        sim.run_ms(ms).unwrap();
        let s = sim.summary();
        let syn = s.memory_bytes.synapses as f64;
        let nsyn: u64 = {
            let b = astroglia::build::build(&net, 1).unwrap();
            b.n_synapses() as u64
        };
        let spikes: u64 = s.populations.values().map(|p| p.spikes).sum();
        println!(
            "{:>8} {:>11} {:>8.3} {:>12.4} {:>10.2} {:>12.3e} {:>8.2} {:>14}",
            n,
            nsyn,
            build_s,
            s.sim_s * 1000.0 / ms,
            spikes as f64 / (n as f64 * ms / 1000.0),
            s.events_per_s,
            syn / nsyn as f64,
            &s.spikes_sha256[..12]
        );
        let phases: Vec<String> = s
            .phase_s
            .iter()
            .map(|(k, v)| format!("{k} {:.4}", v * 1000.0 / ms))
            .collect();
        eprintln!("  per bio-s by phase: {}", phases.join(", "));
    }
}
