// Poisson spike sources for one step (src/rng.rs `PoissonSampler::sample` and
// `BernoulliEach::sample`), appending global ids to the spike record.
//
// `chunks`: one invocation per chunk of `len` sources: word 0 of Philox block
// (stream, 0, step, chunk) gives the spike count k by the binomial threshold table,
// the next k words place the spikes by Floyd's sampling without replacement. The
// chunk reserves k consecutive record entries and checks its earlier picks there.
// `bernoulli`: one invocation per source, word 0 of block (stream, 0, step, i)
// against a shared (uniform rate) or per-source threshold.
// Workgroup z = instance: each instance draws with its own key and records its
// spikes as id + instance × n_total.

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
    _pad0: u32,
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

// --- philox: keep identical in inputs_noise.wgsl and inputs_poisson.wgsl ---
const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High word of the 64-bit product a * b from 16-bit partial products
// (src/rng.rs `uniform_below_split`).
fn mulhi(a: u32, b: u32) -> u32 {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    let cross = (ll >> 16u) + (lh & 0xffffu) + hl;
    return hh + (lh >> 16u) + (cross >> 16u);
}

// Philox4x32-10 (src/rng.rs `philox4x32_10`).
fn philox(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        if (r > 0u) {
            k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
        }
        let hi0 = mulhi(PHILOX_M0, c.x);
        let lo0 = PHILOX_M0 * c.x;
        let hi1 = mulhi(PHILOX_M1, c.z);
        let lo1 = PHILOX_M1 * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// CounterRng::block for a step below 2^32.
fn rng_block(key: vec2<u32>, stream: u32, sub: u32, step: u32, index: u32) -> vec4<u32> {
    return philox(vec4<u32>(index, step, 0u, (stream << 8u) | sub), key);
}
// --- end philox ---

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
    let inst = g.z;
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
    let inst = g.z;
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
