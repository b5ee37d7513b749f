// AdEx step (src/neuron/adex.rs `update` and `exp_f32`): the same f32 operations
// in the same order, plain `a * b + c` (never fma). One invocation per neuron and
// instance (workgroup z = instance). Bindings: shaders/lib/neuron.wgsl.

// src/neuron/adex.rs `AdExConsts`, uploaded as it is.
struct Params {
    dt_over_c: f32,
    g_l: f32,
    g_l_delta_t: f32,
    e_l: f32,
    v_t: f32,
    inv_delta_t: f32,
    dt_over_tau_w: f32,
    a: f32,
    b: f32,
    v_reset: f32,
    v_peak: f32,
    e_exc: f32,
    e_inh: f32,
    decay_exc: f32,
    decay_inh: f32,
    i_bias: f32,
    ref_steps: i32,
    // 1: conductance synapses, 0: current synapses.
    conductance: u32,
    _pad0: u32,
    _pad1: u32,
}

// Per instance (instance-major): [v | w | syn_exc | syn_inh | refrac (i32 bits)], n each.
@group(1) @binding(2) var<storage, read_write> state: array<f32>;

// src/neuron/adex.rs `exp_f32`.
fn exp_f32(x0: f32) -> f32 {
    let x = clamp(x0, -87.0f, 88.0f);
    let kf = floor(x * 1.442695f + 0.5f);
    let r = (x - kf * 0.6933594f) - kf * -2.1219444e-4f;
    let p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f
        + r * (0.008333334f + r * 0.0013888889f)))));
    return p * bitcast<f32>(u32(i32(kf) + 127) << 23u);
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
    let s0 = inst * 5u * n;
    let x0 = inst * n;
    let input = take_input(ring_slot(inst), i);
    let e = state[s0 + 2u * n + i] + f32(input.x) * pop.inv_exc;
    let h = state[s0 + 3u * n + i] + f32(input.y) * pop.inv_inh;
    let v = state[s0 + i];
    let w = state[s0 + n + i];
    let r = bitcast<i32>(state[s0 + 4u * n + i]);
    var i_syn = e + h;
    if (k.conductance != 0u) {
        i_syn = e * (k.e_exc - v) + h * (k.e_inh - v);
    }
    let spike_current = k.g_l_delta_t * exp_f32((v - k.v_t) * k.inv_delta_t);
    let dv = k.g_l * (k.e_l - v) + spike_current - w + i_syn + i_ext[x0 + i] + k.i_bias;
    let v1 = v + k.dt_over_c * dv;
    let w1 = w + k.dt_over_tau_w * (k.a * (v - k.e_l) - w);
    let awake = r <= 0;
    let spk = awake && (v1 >= k.v_peak);
    let vn = select(k.v_reset, v1, awake && !spk);
    let wn = select(w1, w1 + k.b, spk);
    state[s0 + i] = vn;
    state[s0 + n + i] = wn;
    state[s0 + 4u * n + i] = bitcast<f32>(select(max(r - 1, 0), k.ref_steps, spk));
    state[s0 + 2u * n + i] = e * k.decay_exc;
    state[s0 + 3u * n + i] = h * k.decay_inh;
    if (spk) {
        emit_spike(i, inst);
    }
    if (!(is_finite(vn) && is_finite(wn))) {
        flag_nonfinite(inst);
    }
}
