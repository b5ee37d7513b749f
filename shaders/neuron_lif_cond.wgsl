// Conductance-based LIF step (src/neuron/lif_cond.rs `block`): the same f32
// operations in the same order, plain `a * b + c` (never fma). One invocation per
// neuron and instance (workgroup z = instance). Bindings: shaders/lib/neuron.wgsl.

// src/neuron/lif_cond.rs `LifCondConsts`, uploaded as it is.
struct Params {
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
    ref_steps: i32,
    _pad0: u32,
}

// Per instance (instance-major): [v | ge | gi | refrac (i32 bits)], n each.
@group(1) @binding(2) var<storage, read_write> state: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = neuron_index(g, nwg);
    if (i >= pop.n) {
        return;
    }
    let n = pop.n;
    // Instance `inst`: its state block, i_ext block and rings.
    let inst = g.z;
    let s0 = inst * 4u * n;
    let x0 = inst * n;
    let input = take_input(ring_slot(inst), i);
    let g_e = state[s0 + n + i] + f32(input.x) * pop.inv_exc;
    let g_i = state[s0 + 2u * n + i] + f32(input.y) * pop.inv_inh;
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
        emit_spike(i, inst);
    }
    if (!is_finite(vn)) {
        flag_nonfinite(inst);
    }
}
