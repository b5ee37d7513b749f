// Three-factor weight updates (src/backend/cpu/plasticity.rs `PlasticState::step`
// and `delta_step`, src/plasticity/three_factor.rs, the projection of
// src/plasticity/hlop.rs): after plasticity.wgsl's four phases of a step.
//
// * `update`, one invocation per synapse: reward-modulated STDP (REWARD) with a
//   nonzero modulator M, `w = apply(w, (lr · M) · e)`; the delta rule (DELTA) with
//   any nonzero error, `w = apply(w, (lr · error_i) · x_j)`, x the presynaptic
//   trace r1 or, with frozen HLOP rows, its projection. Delta synapses are visited
//   through the incoming (CSC) entries, which give each synapse's presynaptic
//   neuron without a search.
// * `hlop_y` then `hlop_x` compute that projection `x − Hᵀ(H x)` for the delta
//   rules with frozen rows, in two dispatches: one invocation per frozen row
//   (`y_j = Σ_i H_ji x_i`, summed in ascending i as the CPU's `lateral`), then one
//   per presynaptic neuron (`x_i + (−y_j) · H_ji` in ascending j, the CPU's
//   `axpy`). Each sum is one invocation's sequential loop, so the order, and with
//   NoContraction every rounding, is the CPU's.
//
// Whether a rule of an instance updates this step (M ≠ 0, some error ≠ 0) and its
// frozen row count come from `third`, which the host rewrites between runs.

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> pl: Plastic;
@group(1) @binding(1) var<storage, read> rules: array<Rule>;
@group(1) @binding(2) var<storage, read> idx: array<u32>;
// Propagate's local target of every synapse.
@group(1) @binding(3) var<storage, read> targets: array<u32>;
@group(1) @binding(4) var<storage, read_write> weights: array<f32>;
@group(1) @binding(5) var<storage, read> traces: array<f32>;
// Rule k of instance b at b * n_rules + k: [f32 bits of the modulator M,
// 1 when the rule updates weights this step, frozen HLOP rows, 0].
@group(1) @binding(6) var<storage, read> third: array<vec4<u32>>;
// Per instance (b * h_stride): every HLOP rule's drives y, then every one's
// projected trace, then every one's frozen rows.
@group(1) @binding(7) var<storage, read_write> hlop: array<f32>;

// --- end apply ---

// hlop.rs `SpikingLateral::quantise`: `round(clamp(y, −s, s) / s · T) / T · s`,
// round half to even, the clamp written out as f32::clamp.
fn quantise(r: Rule, y: f32) -> f32 {
    let s = r.q_scale;
    var c = y;
    if (c < -s) {
        c = -s;
    }
    if (c > s) {
        c = s;
    }
    return round(c / s * r.q_levels) / r.q_levels * s;
}

// y_j = q(Σ_i H_ji x_i) for frozen row j of a delta rule with HLOP (hlop.rs
// `lateral`: f32 `sum` adds the products in order from −0.0, and −0.0 + p = p).
@compute @workgroup_size(64)
fn hlop_y(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * WG;
    for (var k = 0u; k < pl.n_rules; k++) {
        let r = rules[k];
        if ((r.flags & HLOP) == 0u || i < r.y_at || i - r.y_at >= r.k_cap) {
            continue;
        }
        let j = i - r.y_at;
        let th = third[g.z * pl.n_rules + k];
        if (th.y == 0u || j >= th.z) {
            return;
        }
        let hb = g.z * pl.h_stride;
        let x = g.z * pl.t_stride + r.r_at;
        let h = hb + r.h_at + j * r.n_pre;
        var v = hlop[h] * traces[x];
        for (var q = 1u; q < r.n_pre; q++) {
            v = v + hlop[h + q] * traces[x + q];
        }
        if ((r.flags & SPIKING) != 0u) {
            v = quantise(r, v);
        }
        hlop[hb + r.y_at + j] = v;
        return;
    }
}

// x_i − Σ_j y_j H_ji for presynaptic neuron i of a delta rule with frozen HLOP
// rows (hlop.rs `project_in_place`: `x += (−y_j) · H_j` row after row).
@compute @workgroup_size(64)
fn hlop_x(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Invocation i: entry x_base + i of the HLOP block (the x regions).
    let i = pl.x_base + g.x + g.y * nwg.x * WG;
    for (var k = 0u; k < pl.n_rules; k++) {
        let r = rules[k];
        if ((r.flags & HLOP) == 0u || i < r.x_at || i - r.x_at >= r.n_pre) {
            continue;
        }
        let q = i - r.x_at;
        let th = third[g.z * pl.n_rules + k];
        if (th.y == 0u || th.z == 0u) {
            return;
        }
        let hb = g.z * pl.h_stride;
        var v = traces[g.z * pl.t_stride + r.r_at + q];
        for (var j = 0u; j < th.z; j++) {
            v = v + (-hlop[hb + r.y_at + j]) * hlop[hb + r.h_at + j * r.n_pre + q];
        }
        hlop[hb + r.x_at + q] = v;
        return;
    }
}

// The weight update of every synapse of every three-factor rule of every instance
// (workgroup z = instance) that updates this step.
@compute @workgroup_size(64)
fn update(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * WG;
    if (i >= pl.w_stride) {
        return;
    }
    // Rules lie in weight order: the first one whose weights end past i holds it.
    for (var k = 0u; k < pl.n_rules; k++) {
        let r = rules[k];
        if (i >= r.w_at + r.n_syn) {
            continue;
        }
        let th = third[g.z * pl.n_rules + k];
        if (th.y == 0u) {
            return;
        }
        let wb = g.z * pl.w_stride + r.w_at;
        let tb = g.z * pl.t_stride;
        let n = i - r.w_at;
        if ((r.flags & REWARD) != 0u) {
            // CPU: g = lr · M once per step, then apply(w, g · e).
            let gm = r.lr * bitcast<f32>(th.x);
            weights[wb + n] = apply(r, weights[wb + n], gm * traces[tb + r.e_at + n]);
        } else if ((r.flags & DELTA) != 0u) {
            // n is an incoming entry: its synapse, presynaptic and postsynaptic neuron.
            let s = idx[r.ent_at + n];
            let j = idx[r.ent_at + r.n_syn + n];
            let t = targets[r.syn_at + s];
            var x = traces[tb + r.r_at + j];
            if ((r.flags & HLOP) != 0u && th.z > 0u) {
                x = hlop[g.z * pl.h_stride + r.x_at + j];
            }
            let e = traces[tb + r.err_at + t];
            weights[wb + s] = apply(r, weights[wb + s], (r.lr * e) * x);
        }
        return;
    }
}
