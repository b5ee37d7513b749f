// Conductance-based LIF step (src/neuron/lif_cond.rs `block`): the same f32
// operations in the same order, plain `a * b + c` (never fma). One invocation per
// neuron and instance (workgroup z = instance).

struct Params {
    n: u32,
    // Global id of local neuron 0.
    gid0: u32,
    // Index of this population's ring slot 0 in the shared ring buffer.
    ring: u32,
    depth: u32,
    pop: u32,
    ref_steps: i32,
    inv_exc: f32,
    inv_inh: f32,
    dt_over_c: f32,
    g_l: f32,
    e_l: f32,
    e_exc: f32,
    e_inh: f32,
    v_reset: f32,
    v_th: f32,
    decay_exc: f32,
    decay_inh: f32,
    i_bias: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> k: Params;
// Per instance (instance-major): [v | ge | gi | refrac (i32 bits)], n each.
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
    let g_e = state[s0 + n + i] + f32(ring[slot + i]) * k.inv_exc;
    let g_i = state[s0 + 2u * n + i] + f32(ring[slot + n + i]) * k.inv_inh;
    ring[slot + i] = 0;
    ring[slot + n + i] = 0;
    let v0 = state[s0 + i];
    let r = bitcast<i32>(state[s0 + 3u * n + i]);
    let i_syn = k.g_l * (k.e_l - v0) + g_e * (k.e_exc - v0) + g_i * (k.e_inh - v0);
    let v1 = v0 + k.dt_over_c * (i_syn + i_ext[x0 + i] + k.i_bias);
    let awake = r <= 0;
    let spk = awake && (v1 >= k.v_th);
    let vn = select(k.v_reset, v1, awake && !spk);
    state[s0 + i] = vn;
    state[s0 + 3u * n + i] = bitcast<f32>(select(max(r - 1, 0), k.ref_steps, spk));
    state[s0 + n + i] = g_e * k.decay_exc;
    state[s0 + 2u * n + i] = g_i * k.decay_inh;
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
