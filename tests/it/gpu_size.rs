//! Size: a 200,000-neuron COBA-style network with 20 million synapses runs on the
//! GPU backend and gives the CPU's spikes. Skips like `gpu_parity` without an adapter.
use super::gpu_parity::{exact, gpu};
use astroglia::backend::{CpuBackend, GpuBackend};
use astroglia::build::build;
use astroglia::model::*;
use astroglia::sim::Simulator;

/// COBA (see `Network::coba_like`) at `n` neurons with a fixed in-degree of `k_exc`
/// excitatory and `k_inh` inhibitory inputs per neuron (COBA at 4000 neurons has 64
/// and 16 on average).
fn coba_indegree(n: u32, k_exc: u32, k_inh: u32, ms: f64) -> Network {
    let k = |k| Connect::FixedIndegree {
        k,
        allow_self: false,
    };
    Network::coba_like(n, k(k_exc), k(k_inh), ms)
}

#[test]
fn twenty_million_synapses_match_cpu() {
    let Some(ctx) = gpu() else { return };
    let (n, ms) = (200_000, 50.0);
    let net = coba_indegree(n, 80, 20, ms);
    let built = build(&net, 1).unwrap();
    let synapses = built.n_synapses() as u64;
    assert_eq!(synapses, 20_000_000);
    // Targets and weights are one u32/i32 array each over all projections: 80 MB
    // here, under lavapipe's 128 MiB max_storage_buffer_binding_size.
    eprintln!(
        "{synapses} synapses: {} bytes per synapse array, binding limit {} bytes",
        synapses * 4,
        ctx.limits.max_storage_buffer_binding_size
    );
    let gpu_backend = GpuBackend::with_context(ctx.clone(), &built).expect("network uploads");
    let mut gpu = Simulator::with_backend(&net, &built, Box::new(gpu_backend)).unwrap();
    gpu.run_ms(ms).unwrap();
    let mut cpu =
        Simulator::with_backend(&net, &built, Box::new(CpuBackend::new(built.clone()))).unwrap();
    cpu.run_ms(ms).unwrap();
    let (a, b) = (cpu.summary(), gpu.summary());
    let spikes: u64 = a.populations.values().map(|p| p.spikes).sum();
    assert!(spikes > 0, "the network should spike");
    assert!(b.synaptic_events > 0);
    eprintln!(
        "{n} neurons, {ms} ms: {spikes} spikes, {} synaptic events, spikes_sha256 cpu {} gpu {}",
        a.synaptic_events, a.spikes_sha256, b.spikes_sha256
    );
    if exact(&ctx) {
        assert_eq!(a.spikes_sha256, b.spikes_sha256, "{}", b.device);
    } else {
        let rel = |x: u64, y: u64| (x as f64 - y as f64).abs() / (x as f64).max(1.0);
        let gspikes: u64 = b.populations.values().map(|p| p.spikes).sum();
        assert!(
            rel(spikes, gspikes) < 0.01,
            "cpu {spikes} spikes, gpu {gspikes}"
        );
    }
}
