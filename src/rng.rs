//! Counter-based random numbers that a GPU shader can reproduce bit for bit.
//!
//! Every operation executed at *sampling* time uses only integer arithmetic and
//! exact `f32` operations (integer-to-float conversion, `+`, `-`, `*`; no
//! division, no transcendental functions, no fused multiply-add), so a WGSL port
//! yields identical bits as long as the shader compiler does not contract
//! `a + f * (b - a)` into an FMA. Host-side table construction uses `f64` and
//! the pure-Rust [`libm`] crate, so the tables are identical on every platform.
//!
//! * [`philox4x32_10`], [`CounterRng`]: Philox4x32-10 (Random123) keyed by the
//!   seed; the counter encodes (index, step, stream, sub).
//! * [`unit_f32`], [`uniform_below`], [`normal_f32`]: transforms of one 32-bit word.
//! * [`PoissonSampler`], [`BernoulliEach`]: per-step spike sources.
//! * [`BinomialTable`], [`add_binomial_drive`]: per-neuron Binomial counts (Poisson drives).

use std::sync::OnceLock;

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

const TWO_POW_32: f64 = 4_294_967_296.0;
const TWO_POW_M8: f32 = 1.0 / 256.0;
const TWO_POW_M19: f32 = 1.0 / 524_288.0;
const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;

#[inline]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32 with 10 rounds, exactly as Random123's `philox4x32_R(10, ctr, key)`.
///
/// (Example: the unit test `doc_examples::philox4x32_10`.)
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c[0]);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// Seeded Philox generator addressed by (stream, sub, step, index).
///
/// The key is `[seed as u32, (seed >> 32) as u32]`; [`block`](Self::block) uses
/// the counter `[index, step as u32, (step >> 32) as u32, (stream << 8) | sub]`.
/// `stream` must be `< 2^24` (higher bits would alias other streams; checked in
/// debug builds).
///
/// (Example: the unit test `doc_examples::counter_rng`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterRng {
    key: [u32; 2],
}

impl CounterRng {
    /// Generator keyed by the low and high 32-bit words of `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            key: [seed as u32, (seed >> 32) as u32],
        }
    }

    /// The Philox key (for uploading to a shader).
    pub fn key(&self) -> [u32; 2] {
        self.key
    }

    /// Four random words for `(stream, sub, step, index)`; `stream < 2^24`.
    #[inline]
    pub fn block(&self, stream: u32, sub: u8, step: u64, index: u32) -> [u32; 4] {
        debug_assert!(stream < 1 << 24, "stream {stream} must be < 2^24");
        let ctr = [
            index,
            step as u32,
            (step >> 32) as u32,
            (stream << 8) | sub as u32,
        ];
        philox4x32_10(ctr, self.key)
    }
}

impl CounterRng {
    /// `block(stream, sub, step, first + j)` for `j < N`, as four arrays of words
    /// (word `w` of block `j` is `out[w][j]`): the same integer operations with the
    /// blocks side by side, so the rounds vectorise.
    #[inline(always)]
    pub fn blocks<const N: usize>(
        &self,
        stream: u32,
        sub: u8,
        step: u64,
        first: u32,
    ) -> [[u32; N]; 4] {
        debug_assert!(stream < 1 << 24, "stream {stream} must be < 2^24");
        let mut c0: [u32; N] = std::array::from_fn(|j| first.wrapping_add(j as u32));
        let mut c1 = [step as u32; N];
        let mut c2 = [(step >> 32) as u32; N];
        let mut c3 = [(stream << 8) | sub as u32; N];
        let mut k = self.key;
        for round in 0..10 {
            if round > 0 {
                k[0] = k[0].wrapping_add(PHILOX_W0);
                k[1] = k[1].wrapping_add(PHILOX_W1);
            }
            for j in 0..N {
                let (hi0, lo0) = mulhilo(PHILOX_M0, c0[j]);
                let (hi1, lo1) = mulhilo(PHILOX_M1, c2[j]);
                (c0[j], c1[j], c2[j], c3[j]) = (hi1 ^ c1[j] ^ k[0], lo1, hi0 ^ c3[j] ^ k[1], lo0);
            }
        }
        [c0, c1, c2, c3]
    }
}

crate::neuron::simd_dispatch! {
    /// Adds `mean + std * normal_f32(w)` to `out[i]`, where `w` is word `i % 4` of
    /// `rng.block(stream, 0, step, i / 4)`: Gaussian noise for a whole population,
    /// 64 neurons (16 Philox blocks) at a time.
    pub fn add_normal_noise(rng: &CounterRng, stream: u32, step: u64, mean: f32, std: f32, out: &mut [f32]) -> () => add_normal_noise_body
}

/// Philox blocks per batch of [`add_normal_noise`] (4 neurons each).
const NOISE_BLOCKS: usize = 16;

#[inline(always)]
fn add_normal_noise_body(
    rng: &CounterRng,
    stream: u32,
    step: u64,
    mean: f32,
    std: f32,
    out: &mut [f32],
) {
    const N: usize = NOISE_BLOCKS;
    #[cfg(target_arch = "x86_64")]
    let avx2 = crate::neuron::simd() != crate::neuron::Simd::Portable;
    let tables = normal_tables();
    for (c, chunk) in out.chunks_mut(4 * N).enumerate() {
        let words = rng.blocks::<N>(stream, 0, step, (c * N) as u32);
        // Neuron order: word i % 4 of block i / 4.
        let flat: [u32; 4 * N] = std::array::from_fn(|i| words[i % 4][i / 4]);
        #[cfg(target_arch = "x86_64")]
        if avx2 && chunk.len() == 4 * N {
            // SAFETY: `simd()` only picks a SIMD extension the CPU has (AVX-512
            // implies AVX2 there); the chunk and `flat` both hold 4 N values.
            unsafe { noise_avx2::add(&flat, mean, std, chunk) };
            continue;
        }
        for (x, &w) in chunk.iter_mut().zip(&flat) {
            *x += mean + std * tables.sample(w);
        }
    }
}

/// [`NormalTables::sample`] on 8 words at once with AVX2 gathers: the same integer
/// steps and the same three `f32` operations per word.
#[cfg(target_arch = "x86_64")]
mod noise_avx2 {
    use super::{BODY_END, TWO_POW_M8, TWO_POW_M19, normal_tables};
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    /// `body` then `tail` in one slice, so one gather serves both kinds of cell.
    fn joined() -> &'static [f32] {
        static JOINED: OnceLock<Vec<f32>> = OnceLock::new();
        JOINED.get_or_init(|| {
            let t = normal_tables();
            [&t.body[..], &t.tail[..]].concat()
        })
    }

    /// `out[i] += mean + std * normal_f32(words[i])`.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn add(words: &[u32], mean: f32, std: f32, out: &mut [f32]) {
        unsafe {
            assert!(words.len() == out.len() && out.len() % 8 == 0);
            let table = joined();
            // Tail cells start after the 4097 body entries.
            let tail_base = normal_tables().body.len();
            assert!(tail_base == 4097 && table.len() == 2 * tail_base);
            let low31 = _mm256_set1_epi32(0x7FFF_FFFF);
            let body_end = _mm256_set1_epi32(BODY_END as i32);
            let m19 = _mm256_set1_epi32(0x7_FFFF);
            let m8 = _mm256_set1_epi32(0xFF);
            let s19 = _mm256_set1_ps(TWO_POW_M19);
            let s8 = _mm256_set1_ps(TWO_POW_M8);
            let tail0 = _mm256_set1_epi32(tail_base as i32);
            let one = _mm256_set1_epi32(1);
            let sign = _mm256_set1_epi32(i32::MIN);
            let (mean, std) = (_mm256_set1_ps(mean), _mm256_set1_ps(std));
            for i in (0..out.len()).step_by(8) {
                // SAFETY: i + 8 <= len for both slices (asserted above).
                let x = _mm256_loadu_si256(words.as_ptr().add(i) as *const __m256i);
                let u = _mm256_and_si256(x, low31);
                // u < BODY_END (both below 2^31, so the signed compare is exact).
                let body = _mm256_cmpgt_epi32(body_end, u);
                let v = _mm256_sub_epi32(u, body_end);
                let cell = _mm256_blendv_epi8(
                    _mm256_add_epi32(tail0, _mm256_srli_epi32::<8>(v)),
                    _mm256_srli_epi32::<19>(u),
                    body,
                );
                let f = _mm256_blendv_ps(
                    _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(v, m8)), s8),
                    _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(u, m19)), s19),
                    _mm256_castsi256_ps(body),
                );
                // SAFETY: body cells are <= 4094 and tail cells <= 4095, so `cell + 1`
                // is within `table` (2 × 4097 entries).
                let a = _mm256_i32gather_ps::<4>(table.as_ptr(), cell);
                let b = _mm256_i32gather_ps::<4>(table.as_ptr(), _mm256_add_epi32(cell, one));
                let z = _mm256_add_ps(a, _mm256_mul_ps(f, _mm256_sub_ps(b, a)));
                // -z when the top bit of the word is set: flip the sign bit.
                let z = _mm256_xor_ps(z, _mm256_castsi256_ps(_mm256_and_si256(x, sign)));
                let o = out.as_mut_ptr().add(i);
                let r = _mm256_add_ps(mean, _mm256_mul_ps(std, z));
                _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), r));
            }
        }
    }
}

/// Uniform `f32` in `[0, 1)`: `(x >> 8) as f32 * 2^-24` (exact).
///
/// (Example: the unit test `doc_examples::unit_f32`.)
#[inline]
pub fn unit_f32(x: u32) -> f32 {
    (x >> 8) as f32 * TWO_POW_M24
}

/// Integer in `[0, n)` from one word: `(x * n) >> 32` in 64-bit arithmetic
/// (Lemire's multiply-shift; bias at most `n / 2^32`). Returns 0 when `n == 0`.
///
/// WGSL has no 64-bit integers, so a shader must compute the high word with a
/// 16-bit split multiply: see [`uniform_below_split`], which gives the same result.
///
/// (Example: the unit test `doc_examples::uniform_below`.)
#[inline]
pub fn uniform_below(x: u32, n: u32) -> u32 {
    ((x as u64 * n as u64) >> 32) as u32
}

/// Same as [`uniform_below`] using only `u32` operations (the WGSL formulation):
/// the high word of the 64-bit product assembled from 16-bit partial products.
/// No intermediate overflows.
#[inline]
#[cfg(test)]
pub fn uniform_below_split(x: u32, n: u32) -> u32 {
    let (xl, xh) = (x & 0xFFFF, x >> 16);
    let (nl, nh) = (n & 0xFFFF, n >> 16);
    let ll = xl * nl;
    let lh = xl * nh;
    let hl = xh * nl;
    let hh = xh * nh;
    let cross = (ll >> 16) + (lh & 0xFFFF) + hl;
    hh + (lh >> 16) + (cross >> 16)
}

/// `u` values below this use the body table of [`NormalTables`].
const BODY_END: u32 = (1 << 31) - (1 << 20);

/// Inverse-CDF tables of the half-normal quantile `H(p) = Φ⁻¹((1 + p) / 2)`.
///
/// * `body[i] = H(i / 4096)` for `i < 4096`; `body[4096]` (which would be
///   `H(1) = ∞`) holds the finite `H(1 − 2^-33)`. Only `body[..=4094]` is read:
///   the body covers `p < 1 − 2^-11`, cells `0..=4093`.
/// * `tail[i] = H(1 − 2^-11 + i·2^-23)` for `i < 4096`, `tail[4096] = H(1 − 2^-33)`.
///
/// (Example: the unit test `doc_examples::normal_tables`.)
#[derive(Clone, Debug, PartialEq)]
pub struct NormalTables {
    /// `H(i/4096)`, 4097 entries.
    pub body: Vec<f32>,
    /// `H(1 − 2^-11 + i·2^-23)`, 4097 entries, the last one `H(1 − 2^-33)`.
    pub tail: Vec<f32>,
}

impl NormalTables {
    fn build() -> Self {
        // H(p) = upper_quantile(q) with q = (1 - p) / 2 computed exactly.
        let last = upper_normal_quantile(libm::ldexp(1.0, -34)) as f32;
        let body = (0..=4096u32)
            .map(|i| match i {
                4096 => last,
                _ => upper_normal_quantile(f64::from(4096 - i) / 8192.0) as f32,
            })
            .collect();
        let tail = (0..=4096u32)
            .map(|i| match i {
                4096 => last,
                _ => upper_normal_quantile(libm::ldexp(f64::from(4096 - i), -24)) as f32,
            })
            .collect();
        Self { body, tail }
    }

    /// Standard normal variate from one word; see [`normal_f32`].
    #[inline]
    pub fn sample(&self, x: u32) -> f32 {
        let u = x & 0x7FFF_FFFF;
        let (a, b, f) = if u < BODY_END {
            let c = (u >> 19) as usize;
            let f = (u & 0x7_FFFF) as f32 * TWO_POW_M19;
            (self.body[c], self.body[c + 1], f)
        } else {
            let v = u - BODY_END;
            let c = (v >> 8) as usize;
            let f = (v & 0xFF) as f32 * TWO_POW_M8;
            (self.tail[c], self.tail[c + 1], f)
        };
        let z = a + f * (b - a);
        if x >> 31 == 1 { -z } else { z }
    }
}

/// The shared normal tables, built on first use.
pub fn normal_tables() -> &'static NormalTables {
    static TABLES: OnceLock<NormalTables> = OnceLock::new();
    TABLES.get_or_init(NormalTables::build)
}

/// Standard normal variate from one word by table lookup and linear interpolation.
///
/// The top bit is the sign; `u = x & 0x7FFF_FFFF` selects the half-normal
/// quantile at `p = u / 2^31`: body cells of width `2^-12` for `p < 1 − 2^-11`,
/// tail cells of width `2^-23` beyond, so `|z| ≤ H(1 − 2^-33) ≈ 6.444`.
/// Only `a + f * (b - a)` is evaluated in `f32`.
///
/// (Example: the unit test `doc_examples::normal_f32`.)
#[inline]
pub fn normal_f32(x: u32) -> f32 {
    normal_tables().sample(x)
}

/// `z > 0` with `P(Z > z) = q`, for `0 < q ≤ 0.5`: Acklam's rational
/// approximation refined by two Halley steps against `libm::erfc`.
fn upper_normal_quantile(q: f64) -> f64 {
    #[rustfmt::skip]
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1, 2.209_460_984_245_205e2, -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2, -3.066_479_806_614_716e1, 2.506_628_277_459_239,
    ];
    #[rustfmt::skip]
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1, 1.615_858_368_580_409e2, -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1, -1.328_068_155_288_572e1,
    ];
    #[rustfmt::skip]
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3, -3.223_964_580_411_365e-1, -2.400_758_277_161_838,
        -2.549_671_058_254_016, 4.374_664_141_464_968, 2.938_163_982_698_783,
    ];
    #[rustfmt::skip]
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let poly = |c: &[f64], t: f64| c.iter().fold(0.0, |acc, &k| acc * t + k);
    // Lower-tail quantile x = Φ⁻¹(q) ≤ 0.
    let mut x = if q < 0.02425 {
        let t = libm::sqrt(-2.0 * libm::log(q));
        poly(&C, t) / (poly(&D, t) * t + 1.0)
    } else {
        let r = q - 0.5;
        let s = r * r;
        poly(&A, s) * r / (poly(&B, s) * s + 1.0)
    };
    for _ in 0..2 {
        let e = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2) - q;
        let u = e * libm::sqrt(2.0 * std::f64::consts::PI) * libm::exp(0.5 * x * x);
        x -= u / (1.0 + 0.5 * x * u);
    }
    -x
}

/// Bernoulli threshold `round(p · 2^32)`, saturating at `u32::MAX`, which
/// [`bernoulli_hit`] treats as "always". `p` is clamped to `[0, 1]` (NaN → 0).
///
/// (Example: the unit test `doc_examples::bernoulli_threshold`.)
pub fn bernoulli_threshold(p: f64) -> u32 {
    let t = (clamp_prob(p) * TWO_POW_32).round();
    if t >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        t as u32
    }
}

/// Bernoulli test of word `x` against a [`bernoulli_threshold`]:
/// `thr == u32::MAX || x < thr`.
#[inline]
pub fn bernoulli_hit(x: u32, thr: u32) -> bool {
    thr == u32::MAX || x < thr
}

fn clamp_prob(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

/// `n` independent sources each spiking with probability `p` per step, sampled
/// in `O(spikes + n / chunk_len)` per step.
///
/// Sources are split into chunks of `L = chunk_len()` (a power of two in
/// `8..=4096` nearest to `1/p`; the last chunk may be shorter). For chunk `c`
/// the words come from `rng.block(stream, sub, step, c)` with `sub = 0, 1, …`:
/// word 0 of sub 0 gives the spike count `k` (the number of entries of the
/// chunk's binomial CDF threshold table that are `≤` the word), the next `k`
/// words in order give positions by Robert Floyd's sampling without
/// replacement (`t = uniform_below(w, j + 1)` for `j = len − k .. len`; take
/// `j` if `t` was already taken). If `p ≥ 1/8` the sampler has `L = 1` and
/// tests every source `i` with [`bernoulli_hit`]`(rng.block(stream, 0, step, i)[0], thr)`.
///
/// `p` is clamped to `[0, 1]` (NaN → 0); `p = 0` never spikes and `p = 1` always does.
///
/// (Example: the unit test `doc_examples::poisson_sampler`.)
#[derive(Clone, Debug, PartialEq)]
pub struct PoissonSampler {
    n: u32,
    p: f64,
    len: u32,
    thr: u32,
    full: Vec<u32>,
    last: Vec<u32>,
}

impl PoissonSampler {
    /// Sampler for `n` sources with per-step probability `p` (clamped to `[0, 1]`).
    pub fn new(n: u32, p: f64) -> Self {
        let p = clamp_prob(p);
        let thr = bernoulli_threshold(p);
        if p >= 0.125 {
            let (full, last) = (Vec::new(), Vec::new());
            return Self {
                n,
                p,
                len: 1,
                thr,
                full,
                last,
            };
        }
        let len = if p > 0.0 {
            1u32 << (libm::round(libm::log2(1.0 / p)) as u32).clamp(3, 12)
        } else {
            4096
        };
        let full = if n >= len {
            count_thresholds(len, p)
        } else {
            Vec::new()
        };
        let last = count_thresholds(n % len, p);
        Self {
            n,
            p,
            len,
            thr,
            full,
            last,
        }
    }

    /// Chunk length `L` (1 in Bernoulli mode).
    pub fn chunk_len(&self) -> u32 {
        self.len
    }

    /// Number of sources.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// The clamped spike probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Bernoulli threshold used when `chunk_len() == 1`.
    pub fn threshold(&self) -> u32 {
        self.thr
    }

    /// Count thresholds for a chunk of length `chunk_len()` (`last == false`) or
    /// for the shorter last chunk (`last == true`; empty if there is none).
    pub fn count_thresholds(&self, last: bool) -> &[u32] {
        if last { &self.last } else { &self.full }
    }

    /// Appends the indices of the sources spiking at `step`, ascending.
    pub fn sample(&self, rng: &CounterRng, stream: u32, step: u64, out: &mut Vec<u32>) {
        if self.len == 1 {
            let hits =
                (0..self.n).filter(|&i| bernoulli_hit(rng.block(stream, 0, step, i)[0], self.thr));
            out.extend(hits);
            return;
        }
        if self.p == 0.0 {
            return;
        }
        for c in 0..self.n.div_ceil(self.len) {
            let start = c * self.len;
            let m = (self.n - start).min(self.len);
            let table = if m == self.len {
                &self.full
            } else {
                &self.last
            };
            let mut block = rng.block(stream, 0, step, c);
            let k = table.iter().take_while(|&&t| t <= block[0]).count() as u32;
            let base = out.len();
            for (w, j) in (1usize..).zip(m - k..m) {
                if w % 4 == 0 {
                    block = rng.block(stream, (w / 4) as u8, step, c);
                }
                let t = start + uniform_below(block[w % 4], j + 1);
                let pick = if out[base..].contains(&t) {
                    start + j
                } else {
                    t
                };
                out.push(pick);
            }
            out[base..].sort_unstable();
        }
    }
}

/// `T[k] = round(2^32 · P(K ≤ k))` for `K ~ Binomial(m, p)`, stopping before the
/// first value that reaches `2^32`.
fn count_thresholds(m: u32, p: f64) -> Vec<u32> {
    let q = 1.0 - p;
    let mut pmf = libm::exp(f64::from(m) * libm::log1p(-p));
    let (mut cdf, mut out) = (0.0, Vec::new());
    for k in 0..m {
        cdf += pmf;
        let t = libm::round(cdf * TWO_POW_32);
        if t >= TWO_POW_32 {
            break;
        }
        out.push(t as u32);
        pmf *= f64::from(m - k) / f64::from(k + 1) * p / q;
    }
    // Each spike needs one word; subs are u8, so at most 1023 positions.
    assert!(out.len() < 1024, "binomial table too long");
    out
}

/// Longest threshold table [`BinomialTable::new`] accepts (about 13 standard
/// deviations of the binomial fit in it: `n·p·(1 − p)` up to about 2·10^7).
pub const MAX_BINOMIAL_TABLE: usize = 1 << 16;

/// Binomial(n, p) variates from one 32-bit word each, by inverse CDF over a table
/// built on the host: `k = base + #{ j : thr[j] <= x }`, where
/// `thr[j] = round(2^32 · P(K ≤ base + j))` (non-decreasing, the first one above
/// zero, stopping before the first value that reaches 2^32). Sampling is integer
/// compares only, so a shader reproduces it bit for bit with any search order.
///
/// The table is built in `f64` by the ratio recurrence of the probability mass
/// function from the mode outwards (no `lgamma`), cut where the mass falls below
/// `2^-50` of the mode's and normalised by the sum, so it holds for any `n`
/// whose distribution is narrow enough to fit [`MAX_BINOMIAL_TABLE`] entries.
///
/// (Example: the unit test `doc_examples::binomial_table`.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinomialTable {
    base: u32,
    thr: Vec<u32>,
}

impl BinomialTable {
    /// The table of Binomial(`n`, `p`), `p` clamped to `[0, 1]` (NaN → 0). Fails
    /// when the table would be longer than [`MAX_BINOMIAL_TABLE`].
    pub fn new(n: u32, p: f64) -> Result<Self, String> {
        let p = clamp_prob(p);
        if n == 0 || p == 0.0 {
            return Ok(Self {
                base: 0,
                thr: vec![],
            });
        }
        if p == 1.0 {
            return Ok(Self {
                base: n,
                thr: vec![],
            });
        }
        let q = 1.0 - p;
        let too_long = || {
            format!(
                "Binomial({n}, {p}) needs more than {MAX_BINOMIAL_TABLE} table entries \
                 (n·p·(1 − p) = {:.3e} is too large)",
                f64::from(n) * p * q
            )
        };
        let mode = ((f64::from(n) + 1.0) * p).floor().min(f64::from(n)) as u32;
        // Masses relative to the mode's, walking down then up.
        const CUT: f64 = 1.0 / 1_125_899_906_842_624.0; // 2^-50
        let (mut below, mut above) = (vec![], vec![]);
        let (mut w, mut k) = (1.0f64, mode);
        while k > 0 {
            w *= f64::from(k) / f64::from(n - k + 1) * (q / p);
            if w < CUT {
                break;
            }
            below.push(w);
            k -= 1;
            if below.len() > 2 * MAX_BINOMIAL_TABLE {
                return Err(too_long());
            }
        }
        let (mut w, mut k) = (1.0f64, mode);
        while k < n {
            w *= f64::from(n - k) / f64::from(k + 1) * (p / q);
            if w < CUT {
                break;
            }
            above.push(w);
            k += 1;
            if above.len() > 2 * MAX_BINOMIAL_TABLE {
                return Err(too_long());
            }
        }
        let masses: Vec<f64> = below
            .iter()
            .rev()
            .copied()
            .chain(std::iter::once(1.0))
            .chain(above.iter().copied())
            .collect();
        let total: f64 = masses.iter().sum();
        let mut base = mode - below.len() as u32;
        let (mut cdf, mut thr) = (0.0f64, Vec::new());
        for m in masses {
            cdf += m;
            let t = libm::round(cdf / total * TWO_POW_32);
            if t >= TWO_POW_32 {
                break;
            }
            if t == 0.0 && thr.is_empty() {
                // Every word counts this entry: fold it into the base.
                base += 1;
                continue;
            }
            thr.push(t as u32);
        }
        if thr.len() > MAX_BINOMIAL_TABLE {
            return Err(too_long());
        }
        Ok(Self { base, thr })
    }

    /// The smallest value drawn (values below it have probability under 2^-33).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub fn base(&self) -> u32 {
        self.base
    }

    /// The largest value drawn: `base() + thresholds().len()`.
    pub fn max(&self) -> u32 {
        self.base + self.thr.len() as u32
    }

    /// The thresholds (for uploading to a shader).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub fn thresholds(&self) -> &[u32] {
        &self.thr
    }

    /// The variate of word `x`.
    #[inline]
    pub fn sample(&self, x: u32) -> u32 {
        self.base + self.thr.partition_point(|&t| t <= x) as u32
    }
}

crate::neuron::simd_dispatch! {
    /// Adds `w · k_i` (wrapping) to `dst[i]`, where `k_i = table.sample(x)` and `x`
    /// is word `i % 4` of `rng.block(stream, 0, step, i / 4)`: a private
    /// Binomial(n, p) count for every neuron of a population, 64 at a time.
    pub fn add_binomial_drive(rng: &CounterRng, stream: u32, step: u64, table: &BinomialTable, w: i32, dst: &mut [i32]) -> () => add_binomial_drive_body
}

/// Tables up to this length are searched by counting every entry (branch-free,
/// vectorised over 64 neurons); longer ones by binary search.
const SHORT_TABLE: usize = 64;

#[inline(always)]
fn add_binomial_drive_body(
    rng: &CounterRng,
    stream: u32,
    step: u64,
    table: &BinomialTable,
    w: i32,
    dst: &mut [i32],
) {
    const N: usize = NOISE_BLOCKS;
    if table.thr.is_empty() {
        let add = w.wrapping_mul(table.base as i32);
        if add != 0 {
            dst.iter_mut().for_each(|x| *x = x.wrapping_add(add));
        }
        return;
    }
    for (c, chunk) in dst.chunks_mut(4 * N).enumerate() {
        let words = rng.blocks::<N>(stream, 0, step, (c * N) as u32);
        let flat: [u32; 4 * N] = std::array::from_fn(|i| words[i % 4][i / 4]);
        let mut k = [table.base; 4 * N];
        if table.thr.len() <= SHORT_TABLE {
            for &t in &table.thr {
                for (k, &x) in k.iter_mut().zip(&flat) {
                    *k += (t <= x) as u32;
                }
            }
        } else {
            for (k, &x) in k.iter_mut().zip(&flat) {
                *k = table.sample(x);
            }
        }
        for (d, &k) in chunk.iter_mut().zip(&k) {
            *d = d.wrapping_add(w.wrapping_mul(k as i32));
        }
    }
}

/// Independent sources with individual per-step probabilities; one word each.
///
/// Source `i` spikes at `step` iff
/// [`bernoulli_hit`]`(rng.block(stream, 0, step, i)[0], thresholds()[i])`.
///
/// (Example: the unit test `doc_examples::bernoulli_each`.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BernoulliEach {
    thr: Vec<u32>,
}

impl BernoulliEach {
    /// One source per probability (each clamped to `[0, 1]`).
    pub fn new(ps: &[f64]) -> Self {
        Self {
            thr: ps.iter().map(|&p| bernoulli_threshold(p)).collect(),
        }
    }

    /// Per-source thresholds (for uploading to a shader).
    pub fn thresholds(&self) -> &[u32] {
        &self.thr
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.thr.len()
    }

    /// Whether there are no sources.
    pub fn is_empty(&self) -> bool {
        self.thr.is_empty()
    }

    /// Appends the indices of the sources spiking at `step`, ascending.
    pub fn sample(&self, rng: &CounterRng, stream: u32, step: u64, out: &mut Vec<u32>) {
        for (i, &t) in (0u32..).zip(&self.thr) {
            if bernoulli_hit(rng.block(stream, 0, step, i)[0], t) {
                out.push(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_rate(hits: u64, trials: u64, p: f64, what: &str) {
        let se = (p * (1.0 - p) / trials as f64).sqrt();
        let rate = hits as f64 / trials as f64;
        assert!(
            (rate - p).abs() <= 5.0 * se + 1e-12,
            "{what}: rate {rate} vs p {p} (se {se})"
        );
    }

    #[test]
    fn philox_known_answers() {
        // Random123 examples/kat_vectors (philox4x32 10): ctr, key, expected.
        let kat: [([u32; 4], [u32; 2], [u32; 4]); 5] = [
            (
                [0; 4],
                [0; 2],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
            (
                [1, 0, 0, 0],
                [1, 0],
                [0xac08141b, 0xdfc5ccbe, 0x79c07a47, 0xa7f66093],
            ),
            (
                [0x452821e6, 0x38d01377, 0xbe5466cf, 0x34e90c6c],
                [0, 0x80000000],
                [0x94ca5566, 0x14924b2f, 0x28214292, 0x59faeaee],
            ),
        ];
        for (ctr, key, want) in kat {
            assert_eq!(philox4x32_10(ctr, key), want, "ctr {ctr:x?} key {key:x?}");
        }
    }

    #[test]
    fn counter_layout() {
        let rng = CounterRng::new(0xDEAD_BEEF_0123_4567);
        assert_eq!(rng.key(), [0x0123_4567, 0xDEAD_BEEF]);
        let step = 0x0000_0005_8000_0001;
        let want = philox4x32_10([9, 0x8000_0001, 5, (0xAB_CDEF << 8) | 0x42], rng.key());
        assert_eq!(rng.block(0xAB_CDEF, 0x42, step, 9), want);
    }

    #[test]
    fn unit_and_uniform_below() {
        assert_eq!(unit_f32(0), 0.0);
        assert!(unit_f32(u32::MAX) < 1.0);
        assert_eq!(unit_f32(0x8000_0000), 0.5);
        let rng = CounterRng::new(11);
        let edge = [0, 1, 0xFFFF, 0x1_0000, 0x8000_0000, u32::MAX - 1, u32::MAX];
        for &x in &edge {
            for &n in &edge {
                assert_eq!(uniform_below(x, n), uniform_below_split(x, n), "{x} {n}");
            }
        }
        for i in 0..250_000 {
            let [x, n, s, _] = rng.block(0, 0, 0, i);
            let n = n >> (s % 32); // cover small and large n
            let r = uniform_below(x, n);
            assert_eq!(r, uniform_below_split(x, n));
            assert!(n == 0 || r < n);
        }
    }

    #[test]
    fn normal_table_values() {
        let t = normal_tables();
        assert_eq!((t.body.len(), t.tail.len()), (4097, 4097));
        // Reference quantiles from Python's statistics.NormalDist().inv_cdf.
        let check = |got: f32, want: f64| {
            assert!(
                (f64::from(got) - want).abs() <= 2e-7 * want.max(1.0),
                "{got} vs {want}"
            )
        };
        for (q, want) in [
            (0.25, 0.674_489_750_196_081_7),
            (2f64.powi(-12), 3.487_104_104_114_431_3),
        ] {
            assert!((upper_normal_quantile(q) - want).abs() < 1e-13 * want);
        }
        assert!((upper_normal_quantile(2f64.powi(-34)) - 6.443_934_526_538_563_5).abs() < 1e-12);
        check(t.body[0], 0.0);
        check(t.body[1024], 0.318_639_363_964_375_14); // H(0.25)
        check(t.body[2048], 0.674_489_750_196_081_7); // H(0.5)
        check(t.body[3072], 1.150_349_380_376_007_9); // H(0.75)
        check(t.body[4094], 3.487_104_104_114_431_3); // H(1 - 2^-11)
        check(t.tail[0], 3.487_104_104_114_431_3);
        check(t.tail[4095], 5.294_704_084_854_597); // H(1 - 2^-23)
        check(t.tail[4096], 6.443_934_526_538_563_5); // H(1 - 2^-33)
        assert!(t.body.windows(2).all(|w| w[0] < w[1]));
        assert!(t.tail.windows(2).all(|w| w[0] < w[1]));
        assert!(t.body.iter().chain(&t.tail).all(|v| v.is_finite()));
        // Interpolated off-grid quantiles: H(0.9) = Φ⁻¹(0.95), H(0.99) = Φ⁻¹(0.995).
        // Linear-interpolation error is at most H''·(2^-12)²/8 ≈ 2.3e-5 at p = 0.99.
        let at = |p: f64, want: f64| {
            let got = f64::from(normal_f32((p * 2f64.powi(31)) as u32));
            assert!((got - want).abs() < 3e-5, "H({p}) = {got} vs {want}");
        };
        at(0.9, 1.644_853_626_951_471_5);
        at(0.99, 2.575_829_303_548_9);
        assert_eq!(normal_f32(0), 0.0);
        assert!(normal_f32(BODY_END - 1) < t.tail[0]);
        assert_eq!(normal_f32(BODY_END), t.tail[0]);
        assert_eq!(
            normal_f32(0x7FFF_FFFF),
            t.tail[4095] + (255.0 / 256.0) * (t.tail[4096] - t.tail[4095])
        );
    }

    #[test]
    fn normal_symmetry() {
        let rng = CounterRng::new(5);
        for i in 0..10_000 {
            for x in rng.block(1, 0, 0, i) {
                assert_eq!(normal_f32(x | 0x8000_0000), -normal_f32(x & 0x7FFF_FFFF));
            }
        }
    }

    #[test]
    fn normal_moments() {
        let rng = CounterRng::new(2024);
        let (mut s1, mut s2, mut gt2, mut gt3) = (0.0f64, 0.0f64, 0u64, 0u64);
        let blocks = 262_144u32;
        for i in 0..blocks {
            for x in rng.block(2, 0, 17, i) {
                let z = f64::from(normal_f32(x));
                s1 += z;
                s2 += z * z;
                gt2 += u64::from(z.abs() > 2.0);
                gt3 += u64::from(z.abs() > 3.0);
            }
        }
        let n = f64::from(blocks) * 4.0;
        let (mean, var) = (s1 / n, s2 / n - (s1 / n).powi(2));
        assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
        assert_rate(gt2, n as u64, 0.045_500_263_896_358_4, "P(|z|>2)");
        assert_rate(gt3, n as u64, 0.002_699_796_063_260_2, "P(|z|>3)");
    }

    /// Runs `steps` steps; checks indices, returns per-source and per-step counts.
    fn run(n: u32, p: f64, steps: u64, seed: u64) -> (Vec<u64>, Vec<f64>) {
        let s = PoissonSampler::new(n, p);
        let rng = CounterRng::new(seed);
        let (mut per_source, mut per_step, mut out) =
            (vec![0u64; n as usize], Vec::new(), Vec::new());
        for step in 0..steps {
            out.clear();
            s.sample(&rng, 3, step, &mut out);
            assert!(out.windows(2).all(|w| w[0] < w[1]), "not sorted/unique");
            for &i in &out {
                per_source[i as usize] += 1;
            }
            per_step.push(out.len() as f64);
        }
        (per_source, per_step)
    }

    #[test]
    fn poisson_chunk_choice() {
        assert_eq!(PoissonSampler::new(1000, 0.01).chunk_len(), 128);
        assert_eq!(PoissonSampler::new(1000, 0.12).chunk_len(), 8);
        assert_eq!(PoissonSampler::new(1000, 0.125).chunk_len(), 1);
        assert_eq!(PoissonSampler::new(1000, 1e-5).chunk_len(), 4096);
        assert_eq!(PoissonSampler::new(1000, -1.0).p(), 0.0);
        assert_eq!(PoissonSampler::new(1000, 7.0).p(), 1.0);
        let s = PoissonSampler::new(1000, 0.01);
        assert!(!s.count_thresholds(true).is_empty());
        assert!(!s.count_thresholds(false).is_empty());
        assert!(
            PoissonSampler::new(1024, 0.01)
                .count_thresholds(true)
                .is_empty()
        );
    }

    #[test]
    fn poisson_extremes() {
        let (src, step) = run(300, 0.0, 200, 1);
        assert!(src.iter().all(|&c| c == 0) && step.iter().all(|&c| c == 0.0));
        let (src, _) = run(300, 1.0, 200, 1);
        assert!(src.iter().all(|&c| c == 200));
        let mut out = Vec::new();
        PoissonSampler::new(0, 0.01).sample(&CounterRng::new(1), 0, 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn poisson_per_source_and_count_statistics() {
        // (n, p): chunked with a short last chunk, and Bernoulli mode.
        for (n, p) in [(1000u32, 0.01), (300, 0.05), (77, 0.11), (257, 0.3)] {
            let steps = 20_000u64;
            let (src, cnt) = run(n, p, steps, 42);
            let var_each = steps as f64 * p * (1.0 - p);
            let chi2: f64 = src
                .iter()
                .map(|&c| (c as f64 - steps as f64 * p).powi(2) / var_each)
                .sum();
            let nf = f64::from(n);
            assert!(
                (chi2 - nf).abs() < 6.0 * (2.0 * nf).sqrt(),
                "n {n} p {p}: chi2 {chi2}"
            );
            for (i, &c) in src.iter().enumerate() {
                let z = (c as f64 - steps as f64 * p) / var_each.sqrt();
                assert!(z.abs() < 6.0, "n {n} p {p}: source {i} z {z}");
            }
            // Per-step counts ~ Binomial(n, p): mean, variance, lag-1 correlation.
            let t = cnt.len() as f64;
            let mean = cnt.iter().sum::<f64>() / t;
            let c2 = cnt.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / t;
            let c4 = cnt.iter().map(|c| (c - mean).powi(4)).sum::<f64>() / t;
            let (bm, bv) = (nf * p, nf * p * (1.0 - p));
            assert!(
                (mean - bm).abs() < 5.0 * (bv / t).sqrt(),
                "n {n} p {p}: mean {mean}"
            );
            assert!(
                (c2 - bv).abs() < 5.0 * ((c4 - c2 * c2) / t).sqrt(),
                "n {n} p {p}: var {c2}"
            );
            let lag1 = cnt
                .windows(2)
                .map(|w| (w[0] - mean) * (w[1] - mean))
                .sum::<f64>()
                / (t - 1.0)
                / c2;
            assert!(lag1.abs() < 5.0 / t.sqrt(), "n {n} p {p}: lag-1 {lag1}");
        }
    }

    #[test]
    fn poisson_tiny_rate() {
        // L = 4096 and n = 5000: one full chunk and a last chunk of 904.
        let (n, p, steps) = (5000u32, 1e-5, 40_000u64);
        let (src, _) = run(n, p, steps, 9);
        assert_rate(src.iter().sum(), u64::from(n) * steps, p, "all");
        assert_rate(src[4096..].iter().sum(), 904 * steps, p, "last chunk");
        assert_rate(
            src[..2048].iter().sum(),
            2048 * steps,
            p,
            "first half of chunk",
        );
    }

    #[test]
    fn determinism_and_streams() {
        let s = PoissonSampler::new(2000, 0.02);
        let rng = CounterRng::new(77);
        let draw = |rng: &CounterRng, stream, step| {
            let mut v = Vec::new();
            s.sample(rng, stream, step, &mut v);
            v
        };
        assert_eq!(draw(&rng, 1, 5), draw(&CounterRng::new(77), 1, 5));
        assert_ne!(draw(&rng, 1, 5), draw(&rng, 2, 5));
        assert_ne!(draw(&rng, 1, 5), draw(&rng, 1, 6));
        assert_ne!(draw(&rng, 1, 5), draw(&CounterRng::new(78), 1, 5));
    }

    #[test]
    fn bernoulli_each_rates() {
        let ps = [0.0, 1.0, 1e-3, 0.05, 0.5, 0.9, 0.999];
        let src = BernoulliEach::new(&ps);
        assert_eq!(src.len(), ps.len());
        let rng = CounterRng::new(8);
        let (mut counts, mut out, steps) = (vec![0u64; ps.len()], Vec::new(), 100_000u64);
        for step in 0..steps {
            out.clear();
            src.sample(&rng, 4, step, &mut out);
            assert!(out.windows(2).all(|w| w[0] < w[1]));
            out.iter().for_each(|&i| counts[i as usize] += 1);
        }
        for (&c, &p) in counts.iter().zip(&ps) {
            assert_rate(c, steps, p, "bernoulli each");
        }
        assert_eq!((counts[0], counts[1]), (0, steps));
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn gathered_normals_match_the_scalar_lookup_in_body_and_tail() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut words: Vec<u32> = vec![
            0,
            1,
            BODY_END - 1,
            BODY_END,
            BODY_END + 255,
            BODY_END + 256,
            0x7FFF_FFFF,
        ];
        words.extend(words.clone().iter().map(|w| w | 0x8000_0000));
        let mut z = 0x9E37_79B9_7F4A_7C15u64;
        for k in 0..4000u32 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            // Every other word in the tail cells (u >= BODY_END), either sign.
            let w = z as u32;
            let tail = (BODY_END + w % (0x8000_0000 - BODY_END)) | (w & 0x8000_0000);
            words.push(if k % 2 == 0 { tail } else { w });
        }
        words.truncate(words.len() / 8 * 8);
        let mut out: Vec<f32> = (0..words.len()).map(|i| i as f32 - 100.0).collect();
        let expect: Vec<f32> = out
            .iter()
            .zip(&words)
            .map(|(&x, &w)| x + (0.5 + 3.0 * normal_f32(w)))
            .collect();
        // SAFETY: AVX2 checked above.
        unsafe { noise_avx2::add(&words, 0.5, 3.0, &mut out) };
        for (i, (a, b)) in out.iter().zip(&expect).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "word {:#x}", words[i]);
        }
    }

    #[test]
    fn batched_blocks_and_noise_match_single_blocks() {
        let rng = CounterRng::new(0x1234_5678_9abc_def0);
        for (stream, sub, step, first) in [
            (0, 0, 0, 0),
            (0x1_0003, 2, 77, 5),
            (0xff_ffff, 255, u64::MAX, u32::MAX - 3),
        ] {
            let b = rng.blocks::<16>(stream, sub, step, first);
            let got: Vec<[u32; 4]> = (0..16)
                .map(|j| [b[0][j], b[1][j], b[2][j], b[3][j]])
                .collect();
            let want: Vec<[u32; 4]> = (0..16u32)
                .map(|j| rng.block(stream, sub, step, first.wrapping_add(j)))
                .collect();
            assert_eq!(got, want);
        }
        for n in [0, 3, 64, 1000, 1001] {
            let mut out: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 3.0).collect();
            let mut expect = out.clone();
            for (i, x) in expect.iter_mut().enumerate() {
                let w = rng.block(9, 0, 42, (i / 4) as u32)[i % 4];
                *x += 1.5 + 2.5 * normal_f32(w);
            }
            add_normal_noise(&rng, 9, 42, 1.5, 2.5, &mut out);
            assert_eq!(
                out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                expect.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}

#[cfg(test)]
mod binomial_tests {
    use super::*;

    /// Mean and variance of the table's distribution, exactly: each word value
    /// range between thresholds has its count.
    fn moments(t: &BinomialTable) -> (f64, f64) {
        let mut edges = vec![0f64];
        edges.extend(t.thresholds().iter().map(|&x| f64::from(x)));
        edges.push(TWO_POW_32);
        let (mut m1, mut m2) = (0.0, 0.0);
        for (j, w) in edges.windows(2).enumerate() {
            let pr = (w[1] - w[0]) / TWO_POW_32;
            let k = f64::from(t.base()) + j as f64;
            m1 += pr * k;
            m2 += pr * k * k;
        }
        (m1, m2 - m1 * m1)
    }

    #[test]
    fn small_tables_equal_the_direct_cdf() {
        for (n, p) in [
            (1000u32, 0.002),
            (100, 0.05),
            (20, 0.3),
            (1, 0.5),
            (3, 0.999),
        ] {
            let t = BinomialTable::new(n, p).unwrap();
            assert_eq!(t.base(), 0, "n {n} p {p}");
            let direct = count_thresholds(n, p);
            assert_eq!(t.thresholds().len(), direct.len(), "n {n} p {p}");
            for (a, b) in t.thresholds().iter().zip(&direct) {
                assert!(a.abs_diff(*b) <= 1, "n {n} p {p}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn moments_match_the_binomial_for_small_and_huge_n() {
        for (n, p) in [
            (1000u32, 0.002),
            (1, 0.3),
            (50, 0.5),
            (1_000_000, 0.3),
            (4_000_000_000, 1e-6),
            (100_000, 0.9999),
        ] {
            let t = BinomialTable::new(n, p).unwrap();
            let (mean, var) = moments(&t);
            let (bm, bv) = (f64::from(n) * p, f64::from(n) * p * (1.0 - p));
            assert!(
                (mean - bm).abs() < 1e-6 * bm.max(1.0),
                "n {n} p {p}: mean {mean} vs {bm}"
            );
            assert!(
                (var - bv).abs() < 1e-5 * bv.max(1.0),
                "n {n} p {p}: var {var} vs {bv}"
            );
            assert!(t.thresholds().windows(2).all(|w| w[0] <= w[1]));
            assert!(t.thresholds().first().is_none_or(|&x| x > 0));
            assert!(t.max() <= n);
        }
    }

    #[test]
    fn extremes_and_too_wide() {
        assert_eq!(BinomialTable::new(0, 0.5).unwrap().max(), 0);
        assert_eq!(BinomialTable::new(9, 0.0).unwrap().max(), 0);
        let one = BinomialTable::new(9, 1.0).unwrap();
        assert_eq!((one.base(), one.max(), one.sample(0)), (9, 9, 9));
        let err = BinomialTable::new(u32::MAX, 0.5).unwrap_err();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn drive_matches_the_scalar_sampler() {
        let rng = CounterRng::new(0xABCD);
        // Short tables (counted), long tables (binary search), constant draws.
        for (n, p) in [
            (1000u32, 0.002),
            (1000, 0.02),
            (100, 0.5),
            (10_000_000, 0.01),
            (5, 1.0),
            (3, 0.0),
        ] {
            let t = BinomialTable::new(n, p).unwrap();
            for len in [0usize, 3, 64, 1000, 1001] {
                let start: Vec<i32> = (0..len as i32).map(|i| i * 7 - 300).collect();
                let mut want = start.clone();
                for (i, x) in want.iter_mut().enumerate() {
                    let word = rng.block(5, 0, 99, (i / 4) as u32)[i % 4];
                    *x = x.wrapping_add(-3 * t.sample(word) as i32);
                }
                let mut dst = start.clone();
                add_binomial_drive(&rng, 5, 99, &t, -3, &mut dst);
                assert_eq!(dst, want, "n {n} p {p} len {len}");
                let mut dst = start.clone();
                add_binomial_drive_body(&rng, 5, 99, &t, -3, &mut dst);
                assert_eq!(dst, want, "portable: n {n} p {p} len {len}");
            }
        }
    }
}

/// The examples of this module's documentation (crate-private, so not doc
/// tests).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn philox4x32_10() {
        use crate::rng::philox4x32_10;
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
    }

    #[test]
    fn counter_rng() {
        use crate::rng::{CounterRng, philox4x32_10};
        let rng = CounterRng::new(0x0000_0002_0000_0001);
        let words = rng.block(3, 1, 7, 42);
        assert_eq!(words, philox4x32_10([42, 7, 0, (3 << 8) | 1], [1, 2]));
    }

    #[test]
    fn unit_f32() {
        use crate::rng::unit_f32;
        assert_eq!(unit_f32(0), 0.0);
        assert_eq!(unit_f32(u32::MAX), 1.0 - 2f32.powi(-24));
    }

    #[test]
    fn uniform_below() {
        use crate::rng::{uniform_below, uniform_below_split};
        assert_eq!(uniform_below(u32::MAX, 10), 9);
        assert_eq!(uniform_below(0x8000_0000, 10), 5);
        assert_eq!(uniform_below_split(0x8000_0000, 10), 5);
    }

    #[test]
    fn normal_tables() {
        use crate::rng::normal_tables;
        let t = normal_tables();
        assert_eq!((t.body.len(), t.tail.len()), (4097, 4097));
        assert!((t.body[2048] - 0.674_489_75).abs() < 1e-6); // H(0.5)
    }

    #[test]
    fn normal_f32() {
        use crate::rng::{CounterRng, normal_f32};
        assert!((normal_f32(1 << 30) - 0.674_489_75).abs() < 1e-6);
        assert_eq!(normal_f32(0x8000_0000 | (1 << 30)), -normal_f32(1 << 30));
        let z = normal_f32(CounterRng::new(1).block(0, 0, 0, 0)[0]);
        assert!(z.is_finite());
    }

    #[test]
    fn bernoulli_threshold() {
        use crate::rng::{bernoulli_hit, bernoulli_threshold};
        assert_eq!(bernoulli_threshold(0.25), 1 << 30);
        assert!(bernoulli_hit(u32::MAX, bernoulli_threshold(1.0)));
        assert!(!bernoulli_hit(0, bernoulli_threshold(0.0)));
    }

    #[test]
    fn poisson_sampler() {
        use crate::rng::{CounterRng, PoissonSampler};
        let sampler = PoissonSampler::new(10_000, 0.002);
        assert_eq!(sampler.chunk_len(), 512);
        let mut spikes = Vec::new();
        sampler.sample(&CounterRng::new(7), 0, 0, &mut spikes);
        assert!(spikes.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn binomial_table() {
        use crate::rng::BinomialTable;
        let t = BinomialTable::new(1000, 0.002).unwrap();
        assert_eq!(t.sample(0), t.base());
        assert_eq!(t.sample(u32::MAX), t.max());
        assert!(t.max() < 30);
        assert_eq!(BinomialTable::new(7, 1.0).unwrap().sample(123), 7);
    }

    #[test]
    fn bernoulli_each() {
        use crate::rng::{BernoulliEach, CounterRng};
        let src = BernoulliEach::new(&[0.0, 1.0, 0.5]);
        let mut out = Vec::new();
        src.sample(&CounterRng::new(3), 1, 10, &mut out);
        assert!(out.contains(&1) && !out.contains(&0));
    }
}
