// Current inputs of one population for one step (src/backend/cpu.rs `apply_inputs`):
// Gaussian noise `mean + std * N(0,1)` and constant currents, summed into i_ext in
// model order from 0.0, so the float additions happen in the CPU's order. Noise of
// neuron i is word i % 4 of Philox block (stream, 0, step, i / 4), turned into a
// normal variate by the two uploaded inverse-CDF tables (src/rng.rs).
// One invocation per neuron and instance (workgroup z = instance; each instance
// has its own key).

struct Params {
    n: u32,
    first_term: u32,
    n_terms: u32,
    // Terms of one instance: instance b's are at b × stride (a setter may
    // change one instance's amplitudes).
    stride: u32,
}

// One input acting on the population.
struct Term {
    // 0: constant current, 1: noise.
    kind: u32,
    // Offset of per-neuron multiplicities in `masks`, or ALL for every neuron once.
    mask: u32,
    stream: u32,
    // Active steps [start, stop) of a current.
    start: u32,
    stop: u32,
    // Amplitude (current) or mean (noise).
    a: f32,
    // Standard deviation (noise).
    b: f32,
    _pad: u32,
}

const ALL: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> p: Params;
@group(1) @binding(1) var<storage, read> terms: array<Term>;
@group(1) @binding(2) var<storage, read> masks: array<u32>;
// body[0..4097] then tail[0..4097] (src/rng.rs NormalTables).
@group(1) @binding(3) var<storage, read> tables: array<f32>;
// [instance][neuron]
@group(1) @binding(4) var<storage, read_write> i_ext: array<f32>;
// Philox key of each instance (src/rng.rs `CounterRng::key` of its instance seed).
@group(1) @binding(5) var<storage, read> keys: array<vec2<u32>>;

const BODY_END: u32 = 0x7ff00000u;
const TAIL: u32 = 4097u;

// src/rng.rs `NormalTables::sample`.
fn normal(x: u32) -> f32 {
    let u = x & 0x7fffffffu;
    var a: f32;
    var b: f32;
    var f: f32;
    if (u < BODY_END) {
        let c = u >> 19u;
        f = f32(u & 0x7ffffu) * (1.0 / 524288.0);
        a = tables[c];
        b = tables[c + 1u];
    } else {
        let v = u - BODY_END;
        let c = v >> 8u;
        f = f32(v & 0xffu) * (1.0 / 256.0);
        a = tables[TAIL + c];
        b = tables[TAIL + c + 1u];
    }
    let z = a + f * (b - a);
    return select(z, -z, (x >> 31u) == 1u);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    let inst = g.z;
    let key = keys[inst];
    var x = 0.0f;
    for (var t = p.first_term; t < p.first_term + p.n_terms; t++) {
        let term = terms[inst * p.stride + t];
        var times = 1u;
        if (term.mask != ALL) {
            times = masks[term.mask + i];
        }
        if (term.kind == 0u) {
            if (st.step < term.start || st.step >= term.stop) {
                times = 0u;
            }
            for (var c = 0u; c < times; c++) {
                x = x + term.a;
            }
        } else if (times > 0u) {
            let w = rng_block(key, term.stream, 0u, st.step, i / 4u)[i % 4u];
            let val = term.a + term.b * normal(w);
            for (var c = 0u; c < times; c++) {
                x = x + val;
            }
        }
    }
    i_ext[inst * p.n + i] = x;
}
