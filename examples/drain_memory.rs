//! Memory of a chunked run: COBA (4000 neurons) in chunks of 1 ms, the
//! spikes taken out after each chunk with `drain_spikes`, against the same
//! run leaving them in the recording. Prints the resident set size (VmRSS of
//! /proc/self/status, Linux) every 1000 chunks.
//!
//! `cargo run --release --example drain_memory -- [chunks]` (default 10000)
use astroglia::model::{Connect, Network};
use astroglia::sim::{SimOptions, Simulator};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kib.unwrap_or(f64::NAN) / 1024.0
}

fn run(chunks: usize, drain: bool) -> astroglia::Result<()> {
    let p = Connect::FixedProbability {
        p: 0.02,
        allow_self: false,
    };
    let net = Network::coba_like(4000, p.clone(), p, 20.0);
    let mut sim = Simulator::new(&net, SimOptions::default())?;
    let mut drained = 0usize;
    println!(
        "{}:",
        if drain {
            "drain_spikes after every chunk"
        } else {
            "recording kept"
        }
    );
    for c in 1..=chunks {
        sim.run_ms(1.0)?;
        if drain {
            drained += sim
                .drain_spikes()
                .iter()
                .map(|p| p.ids.len())
                .sum::<usize>();
        }
        if c % 1000 == 0 {
            println!(
                "  {c:6} chunks: RSS {:7.1} MiB, {drained} spikes drained",
                rss_mib()
            );
        }
    }
    Ok(())
}

fn main() -> astroglia::Result<()> {
    let chunks = std::env::args()
        .nth(1)
        .map_or(10_000, |a| a.parse().expect("chunks: a whole number"));
    // Draining first, so the kept recording's growth cannot hide in its RSS.
    run(chunks, true)?;
    run(chunks, false)
}
