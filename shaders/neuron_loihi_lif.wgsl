// Loihi's CUBA LIF, bit for bit as Lava's PyLifModelBitAcc (src/neuron/loihi.rs
// `update`): 32-bit integer operations only, wrapping as numpy's int32 does.
// One invocation per neuron and instance (workgroup z = instance).
// Bindings: shaders/lib/neuron.wgsl.

// src/neuron/loihi.rs `LoihiGpu`.
struct Params {
    // 4096 - du - 1: what u keeps, in 1/4096.
    keep_u: i32,
    // 4096 - dv.
    keep_v: i32,
    // vth << 6.
    vth: i32,
    // Each ring holds its input 2^in_shift times over (src/neuron/loihi.rs).
    in_shift_exc: u32,
    in_shift_inh: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Per instance (instance-major): [u | v | bias], n each, all i32.
@group(1) @binding(2) var<storage, read_write> state: array<i32>;

const HALF: i32 = 8388608;

// trunc(x·d / 4096) with |x| = hi·4096 + lo, so no product exceeds 2^31.
fn decay(x: i32, d: i32) -> i32 {
    let a = u32(abs(x));
    let m = (a >> 12u) * u32(d) + (((a & 4095u) * u32(d)) >> 12u);
    return select(i32(m), -i32(m), x < 0);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = neuron_index(g, nwg);
    if (i >= pop.n) {
        return;
    }
    let n = pop.n;
    let s0 = g.z * 3u * n;
    let input = take_input(ring_slot(g.z), i);
    let a = (input.x >> k.in_shift_exc) + (input.y >> k.in_shift_inh);
    var u = decay(state[s0 + i], k.keep_u) + (a << 6u);
    if (u > HALF) {
        u = u - 2 * HALF;
    } else if (u <= -HALF) {
        u = u + 2 * HALF;
    }
    state[s0 + i] = u;
    let v = clamp(decay(state[s0 + n + i], k.keep_v) + u + state[s0 + 2u * n + i], 1 - HALF, HALF - 1);
    let spk = v > k.vth;
    state[s0 + n + i] = select(v, 0, spk);
    if (spk) {
        emit_spike(i, g.z);
    }
}
