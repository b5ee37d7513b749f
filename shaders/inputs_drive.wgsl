// Poisson drives of one population for one step (src/backend/cpu/instance.rs
// `apply_drives`, src/rng.rs `add_binomial_drive`): every target neuron draws its
// own count k ~ Binomial(n, p) from word i % 4 of Philox block (stream, 0, step,
// i / 4) by the host's inverse-CDF table (k = base + the number of thresholds <= the
// word, found by binary search), and adds k × wfix to its ring slot of this step,
// which the neuron phase of the same step reads. Integer arithmetic only, so the
// CPU's ring values are reproduced exactly. One invocation per neuron and instance
// (workgroup z = instance; each instance has its own key and rings); a neuron's
// terms are applied by one invocation, in model order.

struct Params {
    n: u32,
    // Index of this population's ring slot 0 in the shared ring buffer.
    ring: u32,
    depth: u32,
    first_term: u32,
    n_terms: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// One Poisson drive of the population.
struct Term {
    stream: u32,
    // Offset of per-neuron 0/1 flags in `masks`, or ALL for every neuron.
    mask: u32,
    // 0 exc, 1 inh.
    receptor: u32,
    // Weight of one source spike in the receptor's fixed point.
    wfix: i32,
    // Smallest count, and the thresholds at [t0, t0 + len) of `thresholds`.
    base: u32,
    t0: u32,
    len: u32,
    _pad: u32,
}

const ALL: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> p: Params;
@group(1) @binding(1) var<storage, read> terms: array<Term>;
@group(1) @binding(2) var<storage, read> masks: array<u32>;
@group(1) @binding(3) var<storage, read> thresholds: array<u32>;
@group(1) @binding(4) var<storage, read_write> ring: array<i32>;
// Philox key of each instance (src/rng.rs `CounterRng::key` of its instance seed).
@group(1) @binding(5) var<storage, read> keys: array<vec2<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    let inst = g.z;
    let key = keys[inst];
    let slot = p.ring + inst * st.ring_stride + (st.step % p.depth) * 2u * p.n;
    for (var t = p.first_term; t < p.first_term + p.n_terms; t++) {
        let term = terms[t];
        if (term.mask != ALL && masks[term.mask + i] == 0u) {
            continue;
        }
        let x = rng_block(key, term.stream, 0u, st.step, i / 4u)[i % 4u];
        // The number of thresholds <= x (they are non-decreasing).
        var lo = 0u;
        var hi = term.len;
        while (lo < hi) {
            let mid = (lo + hi) / 2u;
            if (thresholds[term.t0 + mid] <= x) {
                lo = mid + 1u;
            } else {
                hi = mid;
            }
        }
        let at = slot + term.receptor * p.n + i;
        ring[at] = ring[at] + term.wfix * i32(term.base + lo);
    }
}
