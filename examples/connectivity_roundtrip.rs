//! The Brunel network's 15.6 M synapses saved to an HDF5 connectivity file and
//! read back through the `file` connect rule, with the peak resident memory of
//! each phase against the engine's own synapse storage.
//!
//! ```text
//! cargo run --release --example connectivity_roundtrip -- [MS] [DIR]
//! ```
//!
//! Runs `models/brunel.toml` for MS ms (default 20), saves its connectivity to
//! DIR/brunel_conn.h5 (default: a temporary directory), drops the network,
//! builds it again with every projection read from the file, runs it and checks
//! that the spikes are the same. Peak RSS is `VmHWM`, reset between phases
//! through `/proc/self/clear_refs`.
use astroglia::model::{Connect, Network};
use astroglia::record::connectivity::write_connectivity;
use astroglia::sim::{SimOptions, Simulator};
use std::time::Instant;

/// `VmRSS` or `VmHWM` of this process, bytes.
fn status(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Starts a new peak: `VmHWM` becomes the current RSS.
fn reset_peak() {
    // Linux >= 4.0; where it is refused the peaks are cumulative.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

fn main() -> astroglia::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ms: f64 = args.first().map_or(20.0, |a| a.parse().expect("MS"));
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = args
        .get(1)
        .map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);
    let file = dir.join("brunel_conn.h5");
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/brunel.toml");
    let net = Network::from_toml_file(&model)?;
    let opts = SimOptions::default().threads(1);
    let base = status("VmRSS:");
    println!("baseline RSS {}", mb(base));

    reset_peak();
    let t = Instant::now();
    let mut sim = Simulator::new(&net, opts.clone())?;
    let syn_bytes = sim.summary().memory_bytes.synapses;
    let n_syn: u64 = sim
        .projection_names()
        .iter()
        .map(|p| sim.synapse_count(p).unwrap() as u64)
        .sum();
    println!(
        "build from rules: {n_syn} synapses, in-engine synapse storage {}, peak RSS {} ({:.1} s)",
        mb(syn_bytes),
        mb(status("VmHWM:")),
        t.elapsed().as_secs_f64()
    );
    sim.run_ms(ms)?;
    let sha = sim.summary().spikes_sha256;

    reset_peak();
    let rss = status("VmRSS:");
    let t = Instant::now();
    write_connectivity(&file, &mut sim, 0)?;
    let peak = status("VmHWM:");
    println!(
        "save: RSS before {}, peak {} (+{} over the resident network), file {} ({:.1} s)",
        mb(rss),
        mb(peak),
        mb(peak.saturating_sub(rss)),
        mb(std::fs::metadata(&file).map_or(0, |m| m.len())),
        t.elapsed().as_secs_f64()
    );
    drop(sim);

    let mut loaded = net.clone();
    for p in &mut loaded.projections {
        p.connect = Connect::File {
            path: file.clone(),
            projection: None,
        };
    }
    reset_peak();
    let rss = status("VmRSS:");
    let t = Instant::now();
    let mut sim = Simulator::new(&loaded, opts)?;
    let peak = status("VmHWM:");
    let loaded_bytes = sim.summary().memory_bytes.synapses;
    println!(
        "load through the file rule: RSS before {}, peak {} (+{}), in-engine synapse storage {} ({:.1} s)",
        mb(rss),
        mb(peak),
        mb(peak.saturating_sub(rss)),
        mb(loaded_bytes),
        t.elapsed().as_secs_f64()
    );
    println!(
        "load peak over the baseline: {:.2}x the in-engine synapse storage",
        peak.saturating_sub(base) as f64 / loaded_bytes as f64
    );
    sim.run_ms(ms)?;
    let again = sim.summary().spikes_sha256;
    println!("spikes_sha256 {sha}\n          read {again}");
    assert_eq!(sha, again, "the round trip changed the spikes");
    Ok(())
}
