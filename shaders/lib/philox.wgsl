// Counter-based random numbers of the input phases (inputs_noise.wgsl,
// inputs_poisson.wgsl), included before their own files.

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
