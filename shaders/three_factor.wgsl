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

// The step being run and the batch geometry (same in every slot).
struct Step {
    step: u32,
    // Neurons of one instance (global ids 0..n_total); a record entry of instance
    // b carries id + b * n_total.
    n_total: u32,
    // Ring entries of one instance (instance b's rings start at b * ring_stride).
    ring_stride: u32,
    // Populations (ctl[4 + b * n_pops + pop] is instance b's non-finite flag).
    n_pops: u32,
}

struct Plastic {
    // Plastic projections: entries of `rules`, and of `third` per instance.
    n_rules: u32,
    // Weights of one instance: instance b's block starts at b * w_stride.
    w_stride: u32,
    // Traces (and eligibilities, errors) of one instance: instance b's block
    // starts at b * t_stride.
    t_stride: u32,
    // Coefficients of one instance: instance b's block starts at b * coef_stride.
    coef_stride: u32,
    // HLOP rows and scratch of one instance, and where its x regions start
    // (three_factor.wgsl).
    h_stride: u32,
    x_base: u32,
    _pad1: u32,
    _pad2: u32,
}

// One plastic projection (src/backend/gpu/shaders.rs `RuleParams`).
struct Rule {
    // Global id of presynaptic neuron 0, presynaptic size, and the same for the
    // postsynaptic population.
    pre_gid0: u32,
    n_pre: u32,
    post_gid0: u32,
    n_post: u32,
    n_syn: u32,
    // NEAREST | MULTIPLICATIVE | TRIPLET | REWARD | DELTA | HLOP | SPIKING.
    flags: u32,
    // First weight of the projection in an instance's block (synapses in CSR order).
    w_at: u32,
    // In an instance's trace block: r1 [n_pre] then, with the triplet terms,
    // r2 [n_pre]; o1 [n_post] then o2 [n_post]; then the eligibility [n_syn]
    // (REWARD, at e_at) or the error [n_post] (DELTA, at err_at); the rule's
    // entries end at t_end. Projections follow each other.
    r_at: u32,
    o_at: u32,
    // First synapse of the projection in propagate's `targets`.
    syn_at: u32,
    // In `idx`: row pointers [n_pre + 1], column pointers [n_post + 1], and the
    // incoming entries: synapse [n_syn] then presynaptic neuron [n_syn].
    row_at: u32,
    col_at: u32,
    ent_at: u32,
    // Per-step decay of r1, r2, o1, o2.
    decay_r1: f32,
    decay_r2: f32,
    decay_o1: f32,
    decay_o2: f32,
    w_min: f32,
    w_max: f32,
    // 1 / (w_max - w_min).
    inv_range: f32,
    e_at: u32,
    err_at: u32,
    t_end: u32,
    // In an instance's coefficient block: the rule's coefficients, one per
    // astrocyte domain; `dom_at` (in `idx`) the domain of each postsynaptic
    // neuron, or NONE for a single set.
    coef_at: u32,
    dom_at: u32,
    // REWARD: per-step eligibility decay; REWARD and DELTA: learning rate.
    decay_e: f32,
    lr: f32,
    // HLOP (three_factor.wgsl), in an instance's HLOP block: frozen rows
    // [k_cap × n_pre] at h_at, their drives y [k_cap] at y_at, the projected
    // trace [n_pre] at x_at; SPIKING quantises y with scale and levels.
    h_at: u32,
    y_at: u32,
    x_at: u32,
    k_cap: u32,
    q_scale: f32,
    q_levels: f32,
}

const MULTIPLICATIVE: u32 = 2u;
const REWARD: u32 = 8u;
const DELTA: u32 = 16u;
const HLOP: u32 = 32u;
const SPIKING: u32 = 64u;
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

// --- apply (a copy of plasticity.wgsl's, checked equal by a test) ---
// stdp.rs `apply`: the change under the weight dependence, then f32::clamp written
// out (WGSL's clamp may return +0.0 for -0.0, Rust's keeps it).
fn apply(r: Rule, w: f32, dw: f32) -> f32 {
    var step = dw;
    if ((r.flags & MULTIPLICATIVE) != 0u) {
        var room = w - r.w_min;
        if (dw > 0.0) {
            room = r.w_max - w;
        }
        step = dw * (room * r.inv_range);
    }
    var x = w + step;
    if (x < r.w_min) {
        x = r.w_min;
    }
    if (x > r.w_max) {
        x = r.w_max;
    }
    return x;
}
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
