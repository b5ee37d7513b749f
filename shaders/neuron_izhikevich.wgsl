// Izhikevich step (src/neuron/izhikevich.rs `block` and `dvdt`): the same f32
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
    // 1: two half steps of v then u (Izhikevich 2003), 0: forward Euler.
    half: u32,
    inv_exc: f32,
    inv_inh: f32,
    dt: f32,
    half_dt: f32,
    v_peak: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> k: Params;
// Per instance (instance-major): [v | u | a | b | c | d], n each.
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

fn dvdt(v: f32, u: f32, i: f32) -> f32 {
    return (0.04f * v + 5.0f) * v + 140.0f - u + i;
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
    let s0 = inst * 6u * n;
    let x0 = inst * n;
    let slot = k.ring + inst * st.ring_stride + (st.step % k.depth) * 2u * n;
    let cur = f32(ring[slot + i]) * k.inv_exc + f32(ring[slot + n + i]) * k.inv_inh + i_ext[x0 + i];
    ring[slot + i] = 0;
    ring[slot + n + i] = 0;
    var v = state[s0 + i];
    var u = state[s0 + n + i];
    let a = state[s0 + 2u * n + i];
    let b = state[s0 + 3u * n + i];
    if (k.half != 0u) {
        v = v + k.half_dt * dvdt(v, u, cur);
        v = v + k.half_dt * dvdt(v, u, cur);
        u = u + k.dt * (a * (b * v - u));
    } else {
        let dv = dvdt(v, u, cur);
        u = u + k.dt * (a * (b * v - u));
        v = v + k.dt * dv;
    }
    let spk = v >= k.v_peak;
    state[s0 + i] = select(v, state[s0 + 4u * n + i], spk);
    let un = select(u, u + state[s0 + 5u * n + i], spk);
    state[s0 + n + i] = un;
    if (spk) {
        let at = atomicAdd(&ctl[0], 1u);
        if (at < arrayLength(&rec)) {
            rec[at] = vec2<u32>(st.step, k.gid0 + i + inst * st.n_total);
        }
    }
    if (!(is_finite(v) && is_finite(un))) {
        atomicMin(&ctl[4u + inst * st.n_pops + k.pop], st.step);
    }
}
