// Astrocytes (src/backend/cpu/plasticity.rs `AstroState::step` and
// `apply_modulation`, arithmetic of src/plasticity/astrocyte.rs `astro_step` and
// `Modulation::coef`): two dispatches after the plasticity phases of a step, as
// the CPU runs them after every projection's rule.
//
// * `count`, one workgroup per spike of the step (propagation's indirect
//   dispatch): each astrocyte adds 1 to the spike count of the neuron's domain
//   when the neuron is in its liquid, and to its input count when it is in its
//   input. Integer atomics: the order cannot matter.
// * `update`, one invocation per domain (workgroup z = instance):
//   `A ← (A + rate · ((w_A · gain) · drive + b_A · gain − A)) · decay` with
//   `drive = liquid − share · input`, `gain ← gain · decay`, then the domain's
//   coefficients of every projection the astrocyte modulates, which the next
//   step's STDP phases read. Each domain keeps its own copy of the gain (the CPU
//   keeps one): every copy sees the same multiplications, so they stay equal.
//
// Counts are zeroed by the invocation that reads them. The input count, which
// every domain reads, alternates between two slots by step parity: `update` of
// step t reads slot t & 1 and zeroes slot (t + 1) & 1 for the next step.

struct Astros {
    // Astrocytes: entries of `astros`.
    n_astro: u32,
    // Per-instance strides of `state`, `counts` and `coef`.
    state_stride: u32,
    count_stride: u32,
    coef_stride: u32,
}

// One astrocyte with all its domains (src/backend/gpu/shaders.rs `AstroRule`).
struct Astro {
    n_dom: u32,
    // Its first domain among every astrocyte's domains (the `update` index).
    dom0: u32,
    // In an instance's state block: A [n_dom] then gain [n_dom].
    state_at: u32,
    // In an instance's count block: spikes per domain [n_dom], then the input
    // count in two slots [2].
    count_at: u32,
    // In `aidx`: liquid populations (gid0, size, domain of each neuron in `aidx`
    // or NONE for domain 0), input populations (gid0, size), the share of each
    // domain (f32 bits), and the modulated projections (coefficient entry in an
    // instance's block, f32 bits of trace_step and eta_step, inhibitory).
    n_liquid: u32,
    liquid_at: u32,
    n_input: u32,
    input_at: u32,
    share_at: u32,
    n_mod: u32,
    mod_at: u32,
    // dt / tau_A, w_A, b_A, per-step decay.
    rate: f32,
    w_a: f32,
    b_a: f32,
    decay: f32,
    _pad: u32,
}

const NONE: u32 = 0xffffffffu;
const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> prm: Astros;
// [1] first record entry after the step's spikes, [2] first entry of the step.
@group(1) @binding(1) var<storage, read> ctl: array<u32>;
@group(1) @binding(2) var<storage, read> rec: array<vec2<u32>>;
@group(1) @binding(3) var<storage, read> astros: array<Astro>;
@group(1) @binding(4) var<storage, read> aidx: array<u32>;
@group(1) @binding(5) var<storage, read_write> state: array<f32>;
@group(1) @binding(6) var<storage, read_write> counts: array<atomic<u32>>;
// plasticity.wgsl's coefficients (vec4 per rule and domain, instance-major).
@group(1) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;

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

// The step's spikes into the counts, one astrocyte per invocation.
@compute @workgroup_size(64)
fn count(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let sp = spike(wid, nwg);
    if (sp.x == NONE) {
        return;
    }
    for (var a = lid; a < prm.n_astro; a += WG) {
        let s = astros[a];
        let cb = sp.x * prm.count_stride + s.count_at;
        for (var l = 0u; l < s.n_liquid; l++) {
            let p = s.liquid_at + 3u * l;
            let i = sp.y - aidx[p];
            if (sp.y >= aidx[p] && i < aidx[p + 1u]) {
                var d = 0u;
                if (aidx[p + 2u] != NONE) {
                    d = aidx[aidx[p + 2u] + i];
                }
                atomicAdd(&counts[cb + d], 1u);
            }
        }
        for (var q = 0u; q < s.n_input; q++) {
            let p = s.input_at + 2u * q;
            if (sp.y >= aidx[p] && sp.y - aidx[p] < aidx[p + 1u]) {
                atomicAdd(&counts[cb + s.n_dom + (st.step & 1u)], 1u);
            }
        }
    }
}

// One domain's astrocyte by one step, and the coefficients it sets.
@compute @workgroup_size(64)
fn update(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * WG;
    for (var a = 0u; a < prm.n_astro; a++) {
        let s = astros[a];
        if (i < s.dom0 || i - s.dom0 >= s.n_dom) {
            continue;
        }
        let d = i - s.dom0;
        let cb = g.z * prm.count_stride + s.count_at;
        let c = atomicLoad(&counts[cb + d]);
        atomicStore(&counts[cb + d], 0u);
        let parity = st.step & 1u;
        let input = atomicLoad(&counts[cb + s.n_dom + parity]);
        if (d == 0u) {
            atomicStore(&counts[cb + s.n_dom + (parity ^ 1u)], 0u);
        }
        // AstroState::step: drive = c as f32 − share · input as f32.
        let drive = f32(c) - bitcast<f32>(aidx[s.share_at + d]) * f32(input);
        let at = g.z * prm.state_stride + s.state_at + d;
        let gain = state[at + s.n_dom];
        // astro_step.
        let target_a = (s.w_a * gain) * drive + s.b_a * gain;
        let next = (state[at] + s.rate * (target_a - state[at])) * s.decay;
        let gain_next = gain * s.decay;
        state[at] = next;
        state[at + s.n_dom] = gain_next;
        // Modulation::coef with the new A and gain, for every modulated projection.
        for (var m = 0u; m < s.n_mod; m++) {
            let p = s.mod_at + 4u * m;
            let dep = -(next * bitcast<f32>(aidx[p + 1u]));
            let pot = bitcast<f32>(aidx[p + 2u]) * gain_next;
            var c4 = vec4<f32>(dep, 0.0, pot, 0.0);
            if (aidx[p + 3u] != 0u) {
                c4 = vec4<f32>(pot, 0.0, dep, 0.0);
            }
            coef[g.z * prm.coef_stride + aidx[p] + d] = c4;
        }
        return;
    }
}
