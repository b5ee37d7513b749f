// Spike-source populations: every instance's sorted (step, local id) event list
// (replaced between runs by `set_spike_source`); each step, invocation i appends
// the i-th event of that step (found by binary search), as the CPU does with its
// event pointer. Workgroup z = instance.

struct Params {
    gid0: u32,
    // events[range_at + instance] = (first, count): that instance's events of this
    // population are events[first .. first + count).
    range_at: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> p: Params;
@group(1) @binding(1) var<storage, read> events: array<vec2<u32>>;
@group(1) @binding(2) var<storage, read_write> rec: array<vec2<u32>>;
@group(1) @binding(3) var<storage, read_write> ctl: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * 64u;
    let range = events[p.range_at + g.z];
    let end = range.x + range.y;
    // First event at or after this step.
    var lo = range.x;
    var hi = end;
    while (lo < hi) {
        let mid = lo + (hi - lo) / 2u;
        if (events[mid].x < st.step) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    let e = lo + i;
    if (e >= end || events[e].x != st.step) {
        return;
    }
    let at = atomicAdd(&ctl[0], 1u);
    if (at < arrayLength(&rec)) {
        rec[at] = vec2<u32>(st.step, p.gid0 + events[e].y + g.z * st.n_total);
    }
}
