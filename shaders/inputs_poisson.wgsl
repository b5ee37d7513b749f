// Poisson spike sources for one step (src/rng.rs `PoissonSampler::sample` and
// `BernoulliEach::sample`), appending global ids to the spike record.
//
// `chunks`: one invocation per chunk of `len` sources: word 0 of Philox block
// (stream, 0, step, chunk) gives the spike count k by the binomial threshold table,
// the next k words place the spikes by Floyd's sampling without replacement. The
// chunk reserves k consecutive record entries and checks its earlier picks there.
// `bernoulli`: one invocation per source, word 0 of block (stream, 0, step, i)
// against a shared (uniform rate) or per-source threshold.
// Workgroup z + inst0 = instance: each instance draws with its own key and
// records its spikes as id + instance × n_total. One dispatch covers the batch
// (inst0 = 0) while its instances draw alike, else one per instance.

struct Params {
    n: u32,
    gid0: u32,
    // Chunk length L (chunks) or 0 (bernoulli with per-source thresholds).
    len: u32,
    // Bernoulli threshold shared by all sources (bernoulli with len 1).
    thr: u32,
    stream: u32,
    // Count thresholds: the full-chunk table at [0, full_len), the table of the
    // shorter last chunk at [full_len, full_len + last_len).
    full_len: u32,
    last_len: u32,
    // First instance of this dispatch (workgroup z counts from it).
    inst0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
    _pad4: u32,
}

@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> p: Params;
// Count thresholds (chunks) or per-source thresholds (bernoulli, len 0).
@group(1) @binding(1) var<storage, read> table: array<u32>;
@group(1) @binding(2) var<storage, read_write> rec: array<vec2<u32>>;
@group(1) @binding(3) var<storage, read_write> ctl: array<atomic<u32>>;
// Philox key of each instance (src/rng.rs `CounterRng::key` of its instance seed).
@group(1) @binding(4) var<storage, read> keys: array<vec2<u32>>;

// src/rng.rs `uniform_below_split`: (x * n) >> 32.
fn uniform_below(x: u32, n: u32) -> u32 {
    return mulhi(x, n);
}

fn emit(step: u32, gid: u32) {
    let at = atomicAdd(&ctl[0], 1u);
    if (at < arrayLength(&rec)) {
        rec[at] = vec2<u32>(step, gid);
    }
}

@compute @workgroup_size(64)
fn bernoulli(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = g.x + g.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    var thr = p.thr;
    if (p.len == 0u) {
        thr = table[i];
    }
    let inst = g.z + p.inst0;
    let w = rng_block(keys[inst], p.stream, 0u, st.step, i).x;
    if (thr == 0xffffffffu || w < thr) {
        emit(st.step, p.gid0 + i + inst * st.n_total);
    }
}

@compute @workgroup_size(64)
fn chunks(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = g.x + g.y * nwg.x * 64u;
    let start = c * p.len;
    if (start >= p.n) {
        return;
    }
    let m = min(p.n - start, p.len);
    var t0 = 0u;
    var tn = p.full_len;
    if (m != p.len) {
        t0 = p.full_len;
        tn = p.last_len;
    }
    let inst = g.z + p.inst0;
    let key = keys[inst];
    // Global id of this chunk's first source, as recorded for instance `inst`.
    let id0 = p.gid0 + start + inst * st.n_total;
    var blk = rng_block(key, p.stream, 0u, st.step, c);
    var k = 0u;
    while (k < tn && table[t0 + k] <= blk.x) {
        k++;
    }
    if (k == 0u) {
        return;
    }
    let base = atomicAdd(&ctl[0], k);
    let cap = arrayLength(&rec);
    for (var w = 1u; w <= k; w++) {
        let j = m - k + w - 1u;
        if (w % 4u == 0u) {
            blk = rng_block(key, p.stream, w / 4u, st.step, c);
        }
        let t = id0 + uniform_below(blk[w % 4u], j + 1u);
        var pick = t;
        for (var q = 0u; q + 1u < w; q++) {
            if (base + q < cap && rec[base + q].y == t) {
                pick = id0 + j;
                break;
            }
        }
        if (base + w - 1u < cap) {
            rec[base + w - 1u] = vec2<u32>(st.step, pick);
        }
    }
}
