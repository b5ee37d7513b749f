// Izhikevich step (src/neuron/izhikevich.rs `block` and `dvdt`): the same f32
// operations in the same order, plain `a * b + c` (never fma). One invocation per
// neuron and instance (workgroup z = instance). Bindings: shaders/lib/neuron.wgsl.

// src/neuron/izhikevich.rs `IzhGpu`.
struct Params {
    dt: f32,
    half_dt: f32,
    v_peak: f32,
    // 1: two half steps of v then u (Izhikevich 2003), 0: forward Euler.
    half: u32,
}

// Per instance (instance-major): [v | u | a | b | c | d], n each.
@group(1) @binding(2) var<storage, read_write> state: array<f32>;

fn dvdt(v: f32, u: f32, i: f32) -> f32 {
    return (0.04f * v + 5.0f) * v + 140.0f - u + i;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = neuron_index(g, nwg);
    if (i >= pop.n) {
        return;
    }
    let n = pop.n;
    // Instance `inst`: its state block, i_ext block and rings.
    let inst = g.z;
    let s0 = inst * 6u * n;
    let x0 = inst * n;
    let input = take_input(ring_slot(inst), i);
    let cur = f32(input.x) * pop.inv_exc + f32(input.y) * pop.inv_inh + i_ext[x0 + i];
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
        emit_spike(i, inst);
    }
    if (!(is_finite(v) && is_finite(un))) {
        flag_nonfinite(inst);
    }
}
