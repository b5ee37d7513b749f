//! Leak check: builds a small network once, then creates a backend (all GPU ones
//! on one shared device), runs a few steps, reads the spikes and drops it, many
//! times in one process; prints the resident set size along the way. A flat RSS
//! means creating and dropping backends releases their buffers, pipelines and
//! bind groups.
//!
//! `cargo run --release --example gpu_leak -- [--runs 1000] [--steps 10]
//! [--backend gpu|cpu] [--model models/liquid.toml]`
use astroglia::backend::gpu::GpuContext;
use astroglia::backend::{Backend, CpuBackend, GpuBackend};
use astroglia::build::build;
use astroglia::model::Network;
use std::sync::Arc;
use std::time::Instant;

/// Resident set size in bytes (VmRSS of /proc/self/status; 0 where there is none).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn main() {
    // SAFETY: first thing in main, before any thread is spawned.
    unsafe { astroglia::backend::gpu::quiet_device_select() };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: u64 = arg(&args, "--runs", 1000);
    let steps: u64 = arg(&args, "--steps", 10);
    let backend: String = arg(&args, "--backend", "gpu".to_string());
    let model: String = arg(
        &args,
        "--model",
        concat!(env!("CARGO_MANIFEST_DIR"), "/models/liquid.toml").to_string(),
    );
    let net = Network::from_toml_file(&model).expect("valid model");
    let built = build(&net, 1).expect("builds");
    let ctx = (backend == "gpu").then(|| Arc::new(GpuContext::new(None).expect("GPU device")));
    if let Some(ctx) = &ctx {
        println!("device: {}", ctx.device_name());
    }
    println!(
        "{model}: {} neurons, {} synapses; {runs} runs of {steps} steps on {backend}",
        built.n_neurons(),
        built.n_synapses()
    );
    let marks = [1, 10, 20, 100, 500, 1000, runs];
    let (t0, rss0) = (Instant::now(), rss_bytes());
    let mut first: Option<Vec<_>> = None;
    let mut at10 = None;
    for run in 1..=runs {
        let mut b: Box<dyn Backend> = match &ctx {
            Some(ctx) => Box::new(GpuBackend::with_context(ctx.clone(), &built).expect("uploads")),
            None => Box::new(CpuBackend::new(built.clone())),
        };
        b.run(0, steps).expect("runs");
        let mut spikes = vec![];
        b.drain_spikes(&mut spikes).expect("reads spikes");
        drop(b);
        // Every run is the same simulation: a leak of state would show here too.
        match &first {
            None => first = Some(spikes),
            Some(f) => assert_eq!(f, &spikes, "run {run} spiked differently"),
        }
        if marks.contains(&run) {
            let rss = rss_bytes();
            at10 = at10.or((run >= 10).then_some(rss));
            println!(
                "after run {run:>5}: RSS {:>8.1} MiB, {:>6.1} s, {:.1} ms/run",
                mib(rss),
                t0.elapsed().as_secs_f64(),
                t0.elapsed().as_secs_f64() * 1000.0 / run as f64
            );
        }
    }
    let end = rss_bytes();
    println!(
        "RSS growth: {:+.1} MiB from before run 1, {:+.1} MiB from run 10 to run {runs} ({:+.1} KiB/run); {} spikes per run",
        (end as f64 - rss0 as f64) / (1 << 20) as f64,
        (end as f64 - at10.unwrap_or(end) as f64) / (1 << 20) as f64,
        (end as f64 - at10.unwrap_or(end) as f64) / 1024.0 / (runs.max(11) - 10) as f64,
        first.map_or(0, |f| f.len())
    );
}
