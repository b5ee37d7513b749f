// Trace-based STDP (src/backend/cpu/plasticity.rs `PlasticState::step`, arithmetic
// of src/plasticity/stdp.rs): four dispatches after propagation, in the CPU's
// order, each a barrier for the next: `decay` every trace, `on_pre` (weights of the
// outgoing rows of the step's spiking neurons), `on_post` (weights of their
// incoming columns), `bump` (their traces). Every plastic projection of every
// instance goes in the same four dispatches: projections have disjoint state, so
// interleaving them cannot change a bit.
//
// Three-factor rules share these phases: reward-modulated STDP (REWARD) decays its
// eligibility trace with the other traces and sends the spike phases' changes to
// it instead of the weight, unclipped; the delta rule (DELTA) only decays and bumps
// its presynaptic trace r1. Their weight updates follow in three_factor.wgsl.
// Astrocyte-modulated NALSM projections read the coefficients of the
// postsynaptic neuron's domain, which astrocyte.wgsl rewrites after these phases.
//
// The spike entry points read the step's record entries [ctl[2], ctl[1]), set by
// propagate's `args`, through the same indirect dispatch as `propagate`: one
// workgroup per spike, its invocations striding the row or column. A synapse lies
// in one row and one column and a neuron spikes at most once per step, so within a
// dispatch each weight is written by at most one invocation: no atomics.
//
// `apply`, `dw_pre`, `dw_post` and `bump` are stdp.rs `apply`, `on_pre`, `on_post`
// and `bump` operation for operation; on Vulkan the SPIR-V marks every float
// operation NoContraction, so `c + d * r` is never fused.

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> pl: Plastic;
// [1] first record entry after the step's spikes, [2] first entry of the step.
@group(1) @binding(1) var<storage, read> ctl: array<u32>;
@group(1) @binding(2) var<storage, read> rec: array<vec2<u32>>;
@group(1) @binding(3) var<storage, read> rules: array<Rule>;
@group(1) @binding(4) var<storage, read> idx: array<u32>;
// Propagate's local target of every synapse.
@group(1) @binding(5) var<storage, read> targets: array<u32>;
@group(1) @binding(6) var<storage, read_write> weights: array<f32>;
@group(1) @binding(7) var<storage, read_write> traces: array<f32>;
// [c_pre2, c_pre3, c_post2, c_post3] of rule k in instance b at
// b * coef_stride + coef_at (+ domain): a buffer, not constants, because
// astrocytes rewrite them on the device.
@group(1) @binding(8) var<storage, read> coef: array<vec4<f32>>;

// stdp.rs `on_pre`.
fn dw_pre(c: vec4<f32>, o1: f32, r2: f32) -> f32 {
    return o1 * (c.x + c.y * r2);
}

// stdp.rs `on_post`.
fn dw_post(c: vec4<f32>, r1: f32, o2: f32) -> f32 {
    return r1 * (c.z + c.w * o2);
}

// stdp.rs `bump`.
fn bump(nearest: bool, x: f32) -> f32 {
    if (nearest) {
        return 1.0;
    }
    return x + 1.0;
}

// The coefficients of rule `r` for postsynaptic neuron `i` of instance
// `b` (CPU `coef_of`).
fn coef_of(r: Rule, b: u32, i: u32) -> vec4<f32> {
    var d = 0u;
    if (r.dom_at != NONE) {
        d = idx[r.dom_at + i];
    }
    return coef[b * pl.coef_stride + r.coef_at + d];
}

// The spike of workgroup `wid`: (instance, global id), or x = NONE past the step's
// spikes.
fn spike(wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let s = ctl[2] + wid.x + wid.y * nwg.x;
    if (s >= ctl[1]) {
        return vec2<u32>(NONE, 0u);
    }
    let tagged = rec[s].y;
    let inst = tagged / st.n_total;
    return vec2<u32>(inst, tagged - inst * st.n_total);
}

// Every trace (and eligibility) of every instance by one step (workgroup z =
// instance); errors stay, and the delta rule's postsynaptic traces too (the CPU
// never touches them).
@compute @workgroup_size(64)
fn decay(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * WG;
    if (i >= pl.t_stride) {
        return;
    }
    // Rules lie in trace order: the first one whose entries end past i holds it.
    for (var k = 0u; k < pl.n_rules; k++) {
        let r = rules[k];
        if (i >= r.t_end) {
            continue;
        }
        if ((r.flags & USER) != 0u) {
            // Its generated shader advances a user rule's variables.
            return;
        }
        let per = select(1u, 2u, (r.flags & TRIPLET) != 0u);
        var d = r.decay_o1;
        if (i < r.o_at) {
            d = select(r.decay_r1, r.decay_r2, i - r.r_at >= r.n_pre);
        } else if (i - r.o_at < per * r.n_post) {
            if ((r.flags & DELTA) != 0u) {
                return;
            }
            if (i - r.o_at >= r.n_post) {
                d = r.decay_o2;
            }
        } else if ((r.flags & REWARD) != 0u) {
            d = r.decay_e;
        } else {
            return;
        }
        let at = g.z * pl.t_stride + i;
        traces[at] = traces[at] * d;
        return;
    }
}

// Presynaptic spikes: every outgoing synapse of the spiking neuron.
@compute @workgroup_size(64)
fn on_pre(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let sp = spike(wid, nwg);
    if (sp.x == NONE) {
        return;
    }
    let wb = sp.x * pl.w_stride;
    let tb = sp.x * pl.t_stride;
    for (var k = 0u; k < pl.n_rules; k++) {
        let r = rules[k];
        let j = sp.y - r.pre_gid0;
        if (sp.y < r.pre_gid0 || j >= r.n_pre || (r.flags & (DELTA | USER)) != 0u) {
            continue;
        }
        var r2 = 0.0;
        if ((r.flags & TRIPLET) != 0u) {
            r2 = traces[tb + r.r_at + r.n_pre + j];
        }
        let reward = (r.flags & REWARD) != 0u;
        let a = idx[r.row_at + j];
        let b = idx[r.row_at + j + 1u];
        for (var s = a + lid; s < b; s += WG) {
            let t = targets[r.syn_at + s];
            let dw = dw_pre(coef_of(r, sp.x, t), traces[tb + r.o_at + t], r2);
            if (reward) {
                let at = tb + r.e_at + s;
                traces[at] = traces[at] + dw;
            } else {
                let at = wb + r.w_at + s;
                weights[at] = apply(r, weights[at], dw);
            }
        }
    }
}

// Postsynaptic spikes: every incoming synapse of the spiking neuron.
@compute @workgroup_size(64)
fn on_post(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let sp = spike(wid, nwg);
    if (sp.x == NONE) {
        return;
    }
    let wb = sp.x * pl.w_stride;
    let tb = sp.x * pl.t_stride;
    for (var k = 0u; k < pl.n_rules; k++) {
        let r = rules[k];
        let i = sp.y - r.post_gid0;
        if (sp.y < r.post_gid0 || i >= r.n_post || (r.flags & (DELTA | USER)) != 0u) {
            continue;
        }
        var o2 = 0.0;
        if ((r.flags & TRIPLET) != 0u) {
            o2 = traces[tb + r.o_at + r.n_post + i];
        }
        let c = coef_of(r, sp.x, i);
        let reward = (r.flags & REWARD) != 0u;
        let a = idx[r.col_at + i];
        let b = idx[r.col_at + i + 1u];
        for (var e = a + lid; e < b; e += WG) {
            let s = idx[r.ent_at + e];
            let r1 = traces[tb + r.r_at + idx[r.ent_at + r.n_syn + e]];
            let dw = dw_post(c, r1, o2);
            if (reward) {
                let at = tb + r.e_at + s;
                traces[at] = traces[at] + dw;
            } else {
                let at = wb + r.w_at + s;
                weights[at] = apply(r, weights[at], dw);
            }
        }
    }
}

// The spiking neuron's traces, one rule per invocation (the delta rule has no
// postsynaptic trace to bump).
@compute @workgroup_size(64)
fn bump_traces(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let sp = spike(wid, nwg);
    if (sp.x == NONE) {
        return;
    }
    let tb = sp.x * pl.t_stride;
    for (var k = lid; k < pl.n_rules; k += WG) {
        let r = rules[k];
        if ((r.flags & USER) != 0u) {
            continue;
        }
        let nearest = (r.flags & NEAREST) != 0u;
        let triplet = (r.flags & TRIPLET) != 0u;
        let j = sp.y - r.pre_gid0;
        if (sp.y >= r.pre_gid0 && j < r.n_pre) {
            let at = tb + r.r_at + j;
            traces[at] = bump(nearest, traces[at]);
            if (triplet) {
                traces[at + r.n_pre] = bump(nearest, traces[at + r.n_pre]);
            }
        }
        let i = sp.y - r.post_gid0;
        if (sp.y >= r.post_gid0 && i < r.n_post && (r.flags & DELTA) == 0u) {
            let at = tb + r.o_at + i;
            traces[at] = bump(nearest, traces[at]);
            if (triplet) {
                traces[at + r.n_post] = bump(nearest, traces[at + r.n_post]);
            }
        }
    }
}
