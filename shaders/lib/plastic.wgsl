// Plastic projections' parameter blocks, rule flags and weight update, shared by
// plasticity.wgsl and three_factor.wgsl and included before them.

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
    // NEAREST | MULTIPLICATIVE | TRIPLET | REWARD | DELTA | HLOP | SPIKING | USER.
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

const NEAREST: u32 = 1u;
const MULTIPLICATIVE: u32 = 2u;
const TRIPLET: u32 = 4u;
const REWARD: u32 = 8u;
const DELTA: u32 = 16u;
const HLOP: u32 = 32u;
const SPIKING: u32 = 64u;
const USER: u32 = 128u;
const NONE: u32 = 0xffffffffu;

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
