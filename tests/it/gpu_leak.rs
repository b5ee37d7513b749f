//! Leak check: many GPU backends created, run and dropped on one device keep the
//! resident set flat (examples/gpu_leak.rs runs 1000 and prints the figures).
//!
//! RSS is per process and the other tests of this binary allocate in parallel, so
//! the loop runs in a child process: this test binary re-run on the ignored
//! `leak_child` alone.
use astroglia::backend::gpu::GpuContext;
use astroglia::backend::{Backend, GpuBackend};
use astroglia::build::build;
use std::sync::Arc;

const CHILD_ENV: &str = "ASTROGLIA_LEAK_CHILD";
/// Runs in the child, and the runs after which RSS is read: the first once
/// allocator pools and driver caches have settled, then twice 40 runs later.
const RUNS: u64 = 100;
const CHECKPOINTS: [u64; 3] = [20, 60, 100];
/// Allowed growth over 40 runs: a leaked backend (its ~0.5 MB of buffers, or even
/// just its pipelines and bind groups) per run would exceed it in both intervals.
/// A leak grows steadily, so only growth in both intervals fails: the allocator or
/// the driver now and then maps a new arena once (seen: a single 8.5 MiB step).
const MAX_GROWTH: u64 = 4 << 20;

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS");
    kb * 1024
}

#[test]
fn repeated_backends_keep_memory_flat() {
    if !cfg!(target_os = "linux") || super::gpu_parity::gpu().is_none() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "it::gpu_leak::leak_child", "--ignored"])
        .args(["--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("RSS growth"), "the child ran no loop: {text}");
    eprintln!(
        "{}",
        text.lines()
            .filter(|l| l.contains("RSS"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The loop itself; only does something when started by the test above.
#[test]
#[ignore = "run by repeated_backends_keep_memory_flat in a child process"]
fn leak_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let net = super::util::load("liquid.toml");
    let built = build(&net, 1).unwrap();
    let ctx = Arc::new(GpuContext::new(None).expect("GPU device"));
    let mut rss = vec![];
    let mut first: Option<Vec<_>> = None;
    for run in 1..=RUNS {
        let mut b = GpuBackend::with_context(ctx.clone(), &built).expect("uploads");
        b.run(0, 10).unwrap();
        let mut spikes = vec![];
        b.drain_spikes(&mut spikes).unwrap();
        drop(b);
        match &first {
            None => first = Some(spikes),
            Some(f) => assert_eq!(f, &spikes, "run {run}"),
        }
        if CHECKPOINTS.contains(&run) {
            rss.push(rss_bytes());
        }
    }
    let mib = |b: u64| b as f64 / 1048576.0;
    let growth: Vec<u64> = rss.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
    eprintln!(
        "RSS growth over runs {:?}: {:.2} MiB, then {:.2} MiB ({:.1} MiB -> {:.1} MiB)",
        CHECKPOINTS,
        mib(growth[0]),
        mib(growth[1]),
        mib(rss[0]),
        mib(rss[2])
    );
    assert!(
        growth.iter().min().unwrap() < &MAX_GROWTH,
        "RSS grew steadily: {growth:?} bytes over the intervals between runs {CHECKPOINTS:?}"
    );
}
