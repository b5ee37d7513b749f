// Current-based LIF step (src/neuron/lif.rs `block`): the same f32 operations in
// the same order, written as plain `a * b + c` (never fma) so that a compiler that
// does not contract gives the CPU's bits. One invocation per neuron and instance
// (workgroup z = instance).

struct Params {
    n: u32,
    // Global id of local neuron 0.
    gid0: u32,
    // Index of this population's ring slot 0 in the shared ring buffer.
    ring: u32,
    depth: u32,
    pop: u32,
    ref_steps: i32,
    // 1: delta synapses (inputs jump V), 0: exponential currents.
    delta: u32,
    _pad0: u32,
    inv_exc: f32,
    inv_inh: f32,
    e_l: f32,
    v_reset: f32,
    v_th: f32,
    p33: f32,
    p30: f32,
    p32_exc: f32,
    p32_inh: f32,
    p22_exc: f32,
    p22_inh: f32,
    i_bias: f32,
}

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> k: Params;
// Per instance (instance-major): [v | i_exc | i_inh | refrac (i32 bits)], n each.
@group(1) @binding(1) var<storage, read_write> state: array<f32>;
@group(1) @binding(2) var<storage, read_write> ring: array<i32>;
@group(1) @binding(3) var<storage, read> i_ext: array<f32>;
@group(1) @binding(4) var<storage, read_write> rec: array<vec2<u32>>;
// [0] spike count, [1..4) propagate bookkeeping, [4 + b * n_pops + pop] first
// non-finite step of instance b.
@group(1) @binding(5) var<storage, read_write> ctl: array<atomic<u32>>;

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * 64u;
    if (i >= k.n) {
        return;
    }
    let n = k.n;
    // Instance `inst`: its state block, i_ext block and rings.
    let inst = g.z;
    let s0 = inst * 4u * n;
    let x0 = inst * n;
    let slot = k.ring + inst * st.ring_stride + (st.step % k.depth) * 2u * n;
    let in_e = f32(ring[slot + i]) * k.inv_exc;
    let in_i = f32(ring[slot + n + i]) * k.inv_inh;
    ring[slot + i] = 0;
    ring[slot + n + i] = 0;
    let r = bitcast<i32>(state[s0 + 3u * n + i]);
    let awake = r <= 0;
    var v0 = state[s0 + i];
    var e = state[s0 + n + i];
    var h = state[s0 + 2u * n + i];
    if (k.delta != 0u) {
        // Delta inputs arriving during the refractory period are dropped.
        v0 = select(v0, v0 + in_e + in_i, awake);
    } else {
        e = e + in_e;
        h = h + in_i;
    }
    let drive = i_ext[x0 + i] + k.i_bias;
    let v1 = k.e_l + (v0 - k.e_l) * k.p33 + drive * k.p30 + e * k.p32_exc + h * k.p32_inh;
    let spk = awake && (v1 >= k.v_th);
    let vn = select(k.v_reset, v1, awake && !spk);
    state[s0 + i] = vn;
    state[s0 + 3u * n + i] = bitcast<f32>(select(max(r - 1, 0), k.ref_steps, spk));
    state[s0 + n + i] = e * k.p22_exc;
    state[s0 + 2u * n + i] = h * k.p22_inh;
    if (spk) {
        let at = atomicAdd(&ctl[0], 1u);
        if (at < arrayLength(&rec)) {
            rec[at] = vec2<u32>(st.step, k.gid0 + i + inst * st.n_total);
        }
    }
    if (!is_finite(vn)) {
        atomicMin(&ctl[4u + inst * st.n_pops + k.pop], st.step);
    }
}
