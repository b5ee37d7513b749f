// Shared by every neuron shader (src/neuron/registry.rs): the bindings, the ring
// read and the spike and non-finite reports. A model's own file declares its
// `Params` (binding 1, the Rust block of its `gpu_params`) and its `state`
// (binding 2: its GPU_VARS sections, n words each, instance-major, as f32 or i32).

// The population's place in the network (src/backend/gpu/upload.rs `PopBlock`).
struct Pop {
    n: u32,
    // Global id of local neuron 0.
    gid0: u32,
    // Index of this population's ring slot 0 in the shared ring buffer.
    ring: u32,
    depth: u32,
    pop: u32,
    _pad0: u32,
    // Model units of one ring LSB, per receptor.
    inv_exc: f32,
    inv_inh: f32,
}

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> pop: Pop;
@group(1) @binding(1) var<uniform> k: Params;
@group(1) @binding(3) var<storage, read_write> ring: array<i32>;
// [instance][neuron]
@group(1) @binding(4) var<storage, read> i_ext: array<f32>;
@group(1) @binding(5) var<storage, read_write> rec: array<vec2<u32>>;
// [0] spike count, [1..4) propagate bookkeeping, [4 + b * n_pops + pop] first
// non-finite step of instance b.
@group(1) @binding(6) var<storage, read_write> ctl: array<atomic<u32>>;

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// The local neuron of an invocation (workgroups of 64, x then y; z = instance).
fn neuron_index(g: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return g.x + g.y * nwg.x * 64u;
}

// Ring index of this step's excitatory slot of instance `inst` (inhibitory: + n).
fn ring_slot(inst: u32) -> u32 {
    return pop.ring + inst * st.ring_stride + (st.step % pop.depth) * 2u * pop.n;
}

// This step's (excitatory, inhibitory) ring input of neuron i, cleared.
fn take_input(slot: u32, i: u32) -> vec2<i32> {
    let x = vec2<i32>(ring[slot + i], ring[slot + pop.n + i]);
    ring[slot + i] = 0;
    ring[slot + pop.n + i] = 0;
    return x;
}

// Records a spike of neuron i of instance inst at this step.
fn emit_spike(i: u32, inst: u32) {
    let at = atomicAdd(&ctl[0], 1u);
    if (at < arrayLength(&rec)) {
        rec[at] = vec2<u32>(st.step, pop.gid0 + i + inst * st.n_total);
    }
}

// Reports that instance inst's state became non-finite at this step.
fn flag_nonfinite(inst: u32) {
    atomicMin(&ctl[4u + inst * st.n_pops + pop.pop], st.step);
}
