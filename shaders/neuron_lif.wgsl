// Current-based LIF step (src/neuron/lif.rs `block`, with the options of
// `input_order` and `refractory_input`): the same f32 operations in
// the same order, written as plain `a * b + c` (never fma) so that a compiler that
// does not contract gives the CPU's bits. One invocation per neuron and instance
// (workgroup z = instance). Bindings: shaders/lib/neuron.wgsl.

// src/neuron/lif.rs `LifGpu`.
struct Params {
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
    ref_steps: i32,
    // 1: delta synapses (inputs jump V), 0: exponential currents.
    delta: u32,
    // 1: the step's input enters after the threshold test (input_order =
    // "after_threshold"), 0: before it.
    after: u32,
    // 1: delta input during the refractory period is kept (refractory_input).
    keep: u32,
    _pad0: u32,
    _pad1: u32,
}

// Per instance (instance-major): [v | i_exc | i_inh | refrac (i32 bits)], n each.
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
    let in_e = f32(input.x) * pop.inv_exc;
    let in_i = f32(input.y) * pop.inv_inh;
    let r = bitcast<i32>(state[s0 + 3u * n + i]);
    let awake = r <= 0;
    var v0 = state[s0 + i];
    var e = state[s0 + n + i];
    var h = state[s0 + 2u * n + i];
    // Uniform branches on the population's options (src/neuron/lif.rs `block`).
    let delta = k.delta != 0u;
    let after = k.after != 0u;
    let keep = delta && k.keep != 0u;
    if (after) {
        // The input enters below, after the threshold test.
    } else if (keep) {
        v0 = v0 + in_e + in_i;
    } else if (delta) {
        // Delta inputs arriving during the refractory period are dropped.
        v0 = select(v0, v0 + in_e + in_i, awake);
    } else {
        e = e + in_e;
        h = h + in_i;
    }
    let drive = i_ext[x0 + i] + k.i_bias;
    let v1 = k.e_l + (v0 - k.e_l) * k.p33 + drive * k.p30 + e * k.p32_exc + h * k.p32_inh;
    let spk = awake && (v1 >= k.v_th);
    var live = v1;
    if (delta && after) {
        live = v1 + in_e + in_i;
    }
    // V of a refractory neuron: the reset, or with `keep` the input held so far.
    var held = k.v_reset;
    if (keep && after) {
        held = k.v_reset + (v0 - k.v_reset) * k.p33 + in_e + in_i;
    } else if (keep) {
        held = k.v_reset + (v0 - k.v_reset) * k.p33;
    }
    let vn = select(select(held, k.v_reset, awake), live, awake && !spk);
    state[s0 + i] = vn;
    state[s0 + 3u * n + i] = bitcast<f32>(select(max(r - 1, 0), k.ref_steps, spk));
    var ne = e * k.p22_exc;
    var nh = h * k.p22_inh;
    if (after && !delta) {
        ne = ne + in_e;
        nh = nh + in_i;
    }
    state[s0 + n + i] = ne;
    state[s0 + 2u * n + i] = nh;
    if (spk) {
        emit_spike(i, inst);
    }
    if (!is_finite(vn)) {
        flag_nonfinite(inst);
    }
}
