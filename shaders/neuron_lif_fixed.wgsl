// Fixed-point current-based LIF step (src/neuron/fixed.rs `update`): integer
// arithmetic only (the one float operation, the external current's product and
// round, is a single correctly rounded f32 multiply), so every device gives the
// CPU's bits. One invocation per neuron and instance (workgroup z = instance).
// Bindings: shaders/lib/neuron.wgsl.

// src/neuron/fixed.rs `FixedGpu`.
struct Params {
    ref_steps: i32,
    // 1: delta synapses (ring input goes to V), 0: currents.
    delta: u32,
    // 1: decays and shifts round toward zero, 0: to nearest (halves away from zero).
    toward_zero: u32,
    smin: i32,
    smax: i32,
    theta: i32,
    reset: i32,
    decay_bits: u32,
    d_m: i32,
    d_exc: i32,
    d_inh: i32,
    frac_exc: u32,
    frac_inh: u32,
    bias: i32,
    k_ext: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
    _pad4: u32,
}

// Per instance (instance-major): [v | i_exc | i_inh | refrac], n each, all i32.
@group(1) @binding(2) var<storage, read_write> state: array<i32>;

fn sat(x: i32) -> i32 {
    return clamp(x, k.smin, k.smax);
}

fn with_sign(x: i32, m: u32) -> i32 {
    return select(i32(m), -i32(m), x < 0);
}

// sign(x)·⌊(|x|·d + h)/2^s⌋ with |x| = hi·2^s + lo so no product exceeds 2^31.
fn decay(x: i32, d: i32, toward_zero: bool) -> i32 {
    let s = k.decay_bits;
    let a = u32(abs(x));
    let hi = a >> s;
    let lo = a & ((1u << s) - 1u);
    let h = select(1u << (s - 1u), 0u, toward_zero);
    return with_sign(x, hi * u32(d) + ((lo * u32(d) + h) >> s));
}

fn shift(x: i32, f: u32) -> i32 {
    if (f == 0u) {
        return x;
    }
    let h = select(1u << (f - 1u), 0u, k.toward_zero != 0u);
    return with_sign(x, (u32(abs(x)) + h) >> f);
}

fn ext(x: f32) -> i32 {
    let y = round(x * k.k_ext);
    let lim = f32(k.smax) + 1.0;
    if (y != y) {
        return 0;
    }
    return sat(i32(clamp(y, -lim, lim)));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = neuron_index(g, nwg);
    if (i >= pop.n) {
        return;
    }
    let n = pop.n;
    let inst = g.z;
    let s0 = inst * 4u * n;
    let x0 = inst * n;
    let input = take_input(ring_slot(inst), i);
    let in_e = input.x;
    let in_i = input.y;
    let r = state[s0 + 3u * n + i];
    let awake = r <= 0;
    var v = state[s0 + i];
    var e = state[s0 + n + i];
    var h = state[s0 + 2u * n + i];
    var syn = 0;
    if (k.delta != 0u) {
        // Inputs arriving during the refractory period are dropped.
        if (awake) {
            v = sat(sat(v + in_e) + in_i);
        }
    } else {
        e = sat(e + in_e);
        h = sat(h + in_i);
        syn = shift(e, k.frac_exc) + shift(h, k.frac_inh);
    }
    let v1 = sat(decay(v, k.d_m, k.toward_zero != 0u) + syn + k.bias + ext(i_ext[x0 + i]));
    let spk = awake && (v1 >= k.theta);
    state[s0 + i] = select(k.reset, v1, awake && !spk);
    state[s0 + 3u * n + i] = select(max(r - 1, 0), k.ref_steps, spk);
    // Currents always round toward zero (see fixed.rs).
    state[s0 + n + i] = decay(e, k.d_exc, true);
    state[s0 + 2u * n + i] = decay(h, k.d_inh, true);
    if (spk) {
        emit_spike(i, inst);
    }
}
