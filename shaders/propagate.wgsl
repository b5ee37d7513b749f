// Event-driven delivery (src/backend/cpu.rs `propagate`): every spike of the step
// adds the fixed-point weight of each outgoing synapse into ring slot
// (step + delay) % depth of its target. Integer atomics make the result independent
// of the order in which workgroups run.
//
// `args` (one invocation, after the neuron phase) turns the step's spikes, record
// entries [ctl[1], count), into the indirect dispatch of `main` and sets the next
// step's start. `main`: one workgroup per spike, its invocations stride the rows.
// The spikes of every instance of a batch share the record and one dispatch; each
// goes to its own instance's rings. `main` delivers static projections (fixed-point
// weights), `plastic` the plastic ones (each instance's current f32 weights, rounded
// as the CPU's `to_fixed`); integer adds make the split invisible in the rings.

@group(0) @binding(0) var<uniform> st: Step;
// [0] spike count, [1] first record entry of the current step, [2] first record
// entry of the step being propagated, [3] unused, [4 + b * n_pops + pop] first
// non-finite step of instance b.
@group(1) @binding(0) var<storage, read_write> ctl: array<atomic<u32>>;
@group(1) @binding(1) var<storage, read> rec: array<vec2<u32>>;
// Header [n_pops, pop table offset, proj table offset, out list offset, plastic
// weights per instance]; per population [gid0, size, first out entry, out
// entries]; per projection [ring slot 0 of the target, target size, target depth,
// receptor, row_ptr offset, synapse offset, constant delay or 0 for per-synapse,
// delay offset, first plastic weight in an instance's block or NONE for a static
// projection, f32 bits of the fixed-point scale]; out list of projection indices.
@group(1) @binding(2) var<storage, read> tab: array<u32>;
@group(1) @binding(3) var<storage, read> row_ptr: array<u32>;
@group(1) @binding(4) var<storage, read> targets: array<u32>;
// Fixed-point weights for `main`; for `plastic`, the f32 bits of the plastic
// weights (instance-major blocks of tab[4]).
@group(1) @binding(5) var<storage, read> wfix: array<i32>;
@group(1) @binding(6) var<storage, read> delays: array<u32>;
@group(1) @binding(7) var<storage, read_write> ring: array<atomic<i32>>;

// Indirect dispatch arguments of `main` (x, y, z); bound only by `args`.
@group(2) @binding(0) var<storage, read_write> dispatch: array<u32>;

// Workgroups per dimension that every WebGPU device supports.
const MAX_X: u32 = 65535u;
const WG: u32 = 64u;
const NONE: u32 = 0xffffffffu;
// Words per projection entry of `tab`.
const PROJ_WORDS: u32 = 10u;

@compute @workgroup_size(1)
fn args() {
    let start = atomicLoad(&ctl[1]);
    let end = min(atomicLoad(&ctl[0]), arrayLength(&rec));
    let n = end - start;
    let x = min(n, MAX_X);
    dispatch[0] = x;
    dispatch[1] = select(1u, (n + x - 1u) / x, x > 0u);
    dispatch[2] = 1u;
    atomicStore(&ctl[2], start);
    atomicStore(&ctl[1], end);
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    deliver(wid.x + wid.y * nwg.x, lid, false);
}

@compute @workgroup_size(64)
fn plastic(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    deliver(wid.x + wid.y * nwg.x, lid, true);
}

// Delivers spike `k` of the step through its population's static (`plastic`
// false) or plastic outgoing projections.
fn deliver(k: u32, lid: u32, plastic: bool) {
    let s = atomicLoad(&ctl[2]) + k;
    if (s >= atomicLoad(&ctl[1])) {
        return;
    }
    // Record ids carry the instance: id + instance × n_total.
    let tagged = rec[s].y;
    let inst = tagged / st.n_total;
    let gid = tagged - inst * st.n_total;
    let ring_inst = inst * st.ring_stride;
    let n_pops = tab[0];
    let pops = tab[1];
    let projs = tab[2];
    let outs = tab[3];
    var pop = 0u;
    for (var q = 0u; q < n_pops; q++) {
        let o = tab[pops + 4u * q];
        if (gid >= o && gid - o < tab[pops + 4u * q + 1u]) {
            pop = q;
            break;
        }
    }
    let local = gid - tab[pops + 4u * pop];
    let o0 = tab[pops + 4u * pop + 2u];
    let on = tab[pops + 4u * pop + 3u];
    for (var o = o0; o < o0 + on; o++) {
        let pr = projs + PROJ_WORDS * tab[outs + o];
        let w_at = tab[pr + 8u];
        if ((w_at != NONE) != plastic) {
            continue;
        }
        let ring0 = ring_inst + tab[pr];
        let n = tab[pr + 1u];
        let depth = tab[pr + 2u];
        let receptor = tab[pr + 3u];
        let rows = tab[pr + 4u] + local;
        let syn = tab[pr + 5u];
        let dconst = tab[pr + 6u];
        let doff = tab[pr + 7u];
        let now = st.step % depth;
        let a = row_ptr[rows];
        let b = row_ptr[rows + 1u];
        for (var j = a + lid; j < b; j += WG) {
            var d = dconst;
            if (d == 0u) {
                d = delays[doff + j];
            }
            let slot = (now + d % depth) % depth;
            let at = ring0 + (slot * 2u + receptor) * n + targets[syn + j];
            var w = 0;
            if (plastic) {
                // CPU `to_fixed`: WGSL round is half to even (SPIR-V RoundEven) and
                // i32() saturates to the i32 range, like `as i32`; the scale keeps
                // |w × scale| within that range anyway.
                let wf = bitcast<f32>(wfix[inst * tab[4] + w_at + j]);
                w = i32(round(wf * bitcast<f32>(tab[pr + 9u])));
            } else {
                w = wfix[syn + j];
            }
            atomicAdd(&ring[at], w);
        }
    }
}
