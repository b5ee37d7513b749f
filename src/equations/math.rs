//! The functions user-written equations may call, built only from f32 operations
//! that IEEE 754 rounds exactly and that every Vulkan device must implement
//! exactly: `+`, `-`, `*`, `floor`, comparisons and selects, bit casts between f32
//! and u32/i32, and integer add, and, or and shift. No platform `exp`/`log`/`sin`,
//! no hardware division or `sqrt` (Vulkan bounds them only to about 2.5 ulp, so
//! devices would round differently), no fma. `shaders/lib/math.wgsl`
//! ([`MATH_WGSL`]) is the same code in
//! WGSL, operation for operation; compiled through
//! [`crate::backend::gpu::spirv::exact_spirv`] (every float operation
//! `NoContraction`) it gives the same bits as these functions. Keep the two in
//! step: `gpu_math_parity` in the integration tests compares them on every
//! function.
//!
//! Errors in ulps of the result against the f64 result rounded to f32 (0: the
//! correctly rounded f32), measured over each range: every 401st or 1021st f32
//! bit pattern of it plus a uniform grid of 10⁶ points (sin/cos also the f32
//! nearest each multiple of π/2 up to 1e4 and its neighbours; div and pow
//! random pairs). Measure with
//! `cargo test --release --lib equations::math -- --nocapture --test-threads 1`.
//!
//! | function         | range                                   | points | max ulps |
//! |------------------|-----------------------------------------|--------|----------|
//! | [`exp`]          | [-103.9, 88.7] (every finite result)    | 6.5 M  | 1 |
//! | [`log`]          | (0, +inf), subnormals included          | 3.1 M  | 1 |
//! | [`pow`]          | x in [1e-3, 1e3], \|y\| <= 8             | 1 M    | 1 |
//! | [`pow`]          | x > 0 and integer y with x < 0, normal results | 1 M | 8 (about 1 + \|y\|/23) |
//! | [`tanh`]         | every f32                               | 6.7 M  | 1 |
//! | [`sin`], [`cos`] | \|x\| <= 1e4                             | 6.9 M  | 1 |
//! | [`sqrt`]         | [0, +inf), subnormals included          | 3.1 M  | 0 |
//! | [`div`]          | every f32 pair with a normal result      | 3 M    | 0 (1 for subnormal results) |
//! | [`floor`], [`abs`], [`min`], [`max`], [`clip`] | every f32 | 1 M  | 0 (exact) |
//!
//! pow computes `y ln|x|` in double-f32 (log's last roundings and the product's
//! error kept separately), so its error stays 1 ulp for moderate y; what is left
//! grows with |y| (the polynomial part of log, about 2^-29 absolute, times y).
//! Beyond |x| = 1e4, sin and cos lose accuracy slowly (the reduction's products
//! stop being exact at |x| ≈ 12867) but stay in [-1, 1].
//!
//! Non-finite inputs follow IEEE 754 (`exp(-inf) = 0`, `log(0) = -inf`, `log(-1) =
//! NaN`, `sqrt(-0) = -0`, `1/0 = inf`, `sin(inf) = NaN`, ...); each function
//! says what it does. A NaN input comes back as itself (same bits); NaN made
//! from non-NaN inputs is always [`NAN`] (`0x7fc00000`), never a NaN produced by
//! arithmetic, whose bits differ between CPUs and GPUs. Bit-exact agreement
//! assumes a device that keeps subnormals (lavapipe does; real GPUs may flush
//! them to zero).
//!
//! The AdEx model keeps its own, older `crate::neuron::adex::exp_f32` (clamped,
//! a few ulps): its spike hashes are pinned by tests.

/// The WGSL twins (`m_exp`, `m_log`, `m_pow`, `m_tanh`, `m_sin`, `m_cos`,
/// `m_sqrt`, `m_div`, `m_floor`, `m_abs`, `m_min`, `m_max`, `m_clip`), to be
/// prepended to a shader that calls them. Helpers are prefixed `m_` too.
pub const MATH_WGSL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/shaders/lib/math.wgsl"
));

/// The NaN these functions make (a quiet NaN, sign clear).
pub const NAN: f32 = f32::from_bits(0x7fc0_0000);
const INF: f32 = f32::INFINITY;

fn is_nan(x: f32) -> bool {
    x.to_bits() & 0x7fff_ffff > 0x7f80_0000
}

/// `2^k` for k in [-126, 127].
fn pow2i(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// `x` with its sign bit xor-ed with `s`'s.
fn xor_sign(x: f32, s: f32) -> f32 {
    f32::from_bits(x.to_bits() ^ (s.to_bits() & 0x8000_0000))
}

/// `lo` if `x < lo`, `hi` if `x > hi`, else `x` (NaN stays NaN).
fn clamp_sel(x: f32, lo: f32, hi: f32) -> f32 {
    let y = if x > hi { hi } else { x };
    if x < lo { lo } else { y }
}

/// The rounding error of `p = a * b`: `a * b = p + err` exactly (Dekker;
/// Veltkamp splits with 4097 = 2^12 + 1), for |a|, |b| well below 2^115.
fn mul_err(a: f32, b: f32, p: f32) -> f32 {
    let ca = 4097.0 * a;
    let ah = ca - (ca - a);
    let al = a - ah;
    let cb = 4097.0 * b;
    let bh = cb - (cb - b);
    let bl = b - bh;
    (((ah * bh - p) + ah * bl) + al * bh) + al * bl
}

/// The rounding error of `s = a + b`: `a + b = s + err` exactly (Knuth).
fn add_err(a: f32, b: f32, s: f32) -> f32 {
    let bb = s - a;
    (a - (s - bb)) + (b - bb)
}

/// Positive finite non-zero `x` as `m * 2^e`, m in [1, 2) (subnormals scaled up
/// exactly first).
fn frexp(x: f32) -> (f32, i32) {
    let sub = x < 1.175_494_4e-38;
    let xs = if sub { x * 16_777_216.0 } else { x };
    let b = xs.to_bits();
    let e = (b >> 23) as i32 - 127;
    let e = if sub { e - 24 } else { e };
    (f32::from_bits((b & 0x007f_ffff) | 0x3f80_0000), e)
}

/// `a / b` for a, b in [1, 2): Newton reciprocal from a linear seed, then one
/// correction with the exact residual `a - b q`.
fn div_core(a: f32, b: f32) -> f32 {
    // 24/17 - 8/17 b: relative error <= 1/17, squared by each step.
    let mut y = 1.411_764_7 - 0.470_588_24 * b;
    y = y + y * (1.0 - b * y);
    y = y + y * (1.0 - b * y);
    y = y + y * (1.0 - b * y);
    let q = a * y;
    let p = b * q;
    // a - p is exact (p is within a few ulps of a).
    let r = (a - p) - mul_err(b, q, p);
    q + r * y
}

/// `m * 2^k` with one rounding, for m in [0.5, 4) and k in [-300, 300]: the two
/// factors are normal and the first product is exact.
fn scale(m: f32, k: i32) -> f32 {
    let k = k.clamp(-160, 160);
    let k1 = k >> 1;
    m * pow2i(k1) * pow2i(k - k1)
}

/// e^x. `exp(NaN) = NaN`, `exp(+inf) = +inf`, `exp(-inf) = 0`; results above
/// f32::MAX (x > 88.72) are +inf, below the smallest subnormal (x < -103.97) 0.
pub fn exp(x: f32) -> f32 {
    let nan = is_nan(x);
    let xs = clamp_sel(if nan { 0.0 } else { x }, -104.0, 89.0);
    // LOG2_E is 1.442695f in the WGSL (same f32), as SQRT_2 is 1.4142135f.
    let kf = (xs * std::f32::consts::LOG2_E + 0.5).floor();
    // Cody–Waite: kf * 0.693359375 is exact (9 + 8 bits), so is the subtraction.
    let r = (xs - kf * 0.693_359_4) - kf * -2.121_944_4e-4;
    let z = r * r;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 0.166_666_65)
        * r
        + 0.5)
        * z
        + r
        + 1.0;
    let y = scale(p, kf as i32);
    if nan { x } else { y }
}

/// log(x) for positive finite x as hi + lo: hi is [`log`]'s result, lo the
/// rounding errors of its last three additions and of f² (for [`pow`]).
fn log_parts(x: f32) -> (f32, f32) {
    let (m, e) = frexp(x);
    // m in [sqrt(1/2), sqrt(2)) so that f = m - 1 is small; m - 1 is exact.
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let fe = (if big { e + 1 } else { e }) as f32;
    let f = m - 1.0;
    let z = f * f;
    let mut y =
        ((((((((7.037_683_6e-2 * f - 0.115_146_1) * f + 0.116_769_98) * f - 0.124_201_41) * f
            + 0.142_493_23)
            * f
            - 0.166_680_57)
            * f
            + 0.200_007_15)
            * f
            - 0.249_999_94)
            * f
            + 0.333_333_3)
            * f
            * z;
    y = y + fe * -2.121_944_4e-4;
    let h = -0.5 * z;
    let y2 = y + h;
    let l1 = f + y2;
    // fe * 0.693359375 is exact (9 + 8 bits).
    let c = fe * 0.693_359_4;
    let hi = l1 + c;
    let lo =
        ((add_err(y, h, y2) + -0.5 * mul_err(f, f, z)) + add_err(f, y2, l1)) + add_err(l1, c, hi);
    (hi, lo)
}

/// Natural logarithm. `log(±0) = -inf`, `log(x < 0) = NaN`, `log(+inf) = +inf`,
/// `log(NaN) = NaN`.
pub fn log(x: f32) -> f32 {
    let ok = x > 0.0 && x < INF;
    let (r, _) = log_parts(if ok { x } else { 1.0 });
    let r = if x == 0.0 { -INF } else { r };
    let r = if x < 0.0 { NAN } else { r };
    let r = if x == INF { INF } else { r };
    if is_nan(x) { x } else { r }
}

/// `x^y` as `exp(y * log|x|)`, so the error grows with |y ln x| (log's rounding
/// is multiplied by y). Special cases as IEEE 754 `pow`: `pow(x, ±0) = 1` and
/// `pow(1, y) = 1` for every x, y (NaN included); x < 0 needs an integer y
/// (odd y: negative result), else NaN; `pow(±0, y > 0) = +0` (-0 for odd y and
/// x = -0), `pow(±0, y < 0) = +inf` (-inf likewise); overflow gives inf,
/// underflow 0; any other NaN input gives NaN.
pub fn pow(x: f32, y: f32) -> f32 {
    let a = abs(x);
    let l = log(a);
    let ok = a > 0.0 && a < INF;
    let (_, l_lo) = log_parts(if ok { a } else { 1.0 });
    let t = y * l;
    // y ln|x| as t + t_lo (the product's rounding error and log's own), where
    // that is finite and the split in mul_err cannot overflow.
    let fine = ok && abs(y) < 1e30 && abs(t) < 104.0;
    let t_lo = if fine {
        mul_err(y, l, t) + y * l_lo
    } else {
        0.0
    };
    let e = exp(t);
    let r = if e < INF { e + e * t_lo } else { e };
    let r = if a == 1.0 { 1.0 } else { r };
    let y_int = y.floor() == y;
    let y_odd = y_int && (y * 0.5).floor() != y * 0.5;
    let r = if y_odd { xor_sign(r, x) } else { r };
    let bad = x < 0.0 && x > -INF && y > -INF && y < INF && !y_int;
    let r = if bad || is_nan(x) || is_nan(y) {
        NAN
    } else {
        r
    };
    if x == 1.0 || y == 0.0 { 1.0 } else { r }
}

/// Hyperbolic tangent: an odd polynomial for |x| < 0.625, else `1 - 2 / (e^(2|x|)
/// + 1)` with [`div`]'s algorithm; ±1 beyond |x| = 9.1 (and for ±inf),
/// `tanh(NaN) = NaN`, `tanh(-0) = -0`.
pub fn tanh(x: f32) -> f32 {
    let a = clamp_sel(abs(x), 0.0, 10.0);
    let a = if is_nan(x) { 0.0 } else { a };
    let z = a * a;
    let small = ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 0.133_314_42)
        * z
        - 0.333_332_8)
        * z
        * a
        + a;
    let (m, e) = frexp(exp(a + a) + 1.0);
    let large = 1.0 - scale(div_core(1.0, m), 1 - e);
    let t = if a < 0.625 { small } else { large };
    let t = xor_sign(t, x);
    if is_nan(x) { x } else { t }
}

/// sin and cos of r + r_lo for |r| <= π/4 (a little beyond is fine), r_lo
/// tiny: sin(r) + r_lo and cos(r) - r r_lo.
fn sin_cos_poly(r: f32, r_lo: f32) -> (f32, f32) {
    let z = r * r;
    let s = (((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 0.166_666_55) * z * r + r_lo) + r;
    let c = ((((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z)
        - r * r_lo)
        + 1.0;
    (s, c)
}

/// |x| reduced by the nearest multiple k of π/2: (r, r_lo, k mod 4), r + r_lo
/// the reduced argument to about 2^-40 relative. π/2 is split in
/// three 11-bit parts and a fourth f32 (Cody–Waite), so for k < 2^13 (|x| <=
/// 12867) the products are exact and r is accurate to about 1 ulp; larger |x|
/// still give an r within a few ulp(x) of the true one.
fn reduce(a: f32) -> (f32, f32, u32) {
    let kf = (a * 0.636_619_75 + 0.5).floor();
    let r2 = (a + kf * -1.570_312_5) + kf * -4.837_513e-4;
    let p3 = kf * -7.549_533_6e-8;
    let r3 = r2 + p3;
    let p4 = kf * -2.563_344e-12;
    let r = r3 + p4;
    let r_lo = add_err(r2, p3, r3) + add_err(r3, p4, r);
    // k mod 4 computed in f32, exact for any k.
    let q = kf - 4.0 * (kf * 0.25).floor();
    (r, r_lo, q as u32)
}

/// Sine. Error bound for |x| <= 1e4; beyond, the absolute error grows like
/// |x|·2^-24 (the argument's own uncertainty) but the result stays in [-1, 1].
/// `sin(±inf) = NaN`, `sin(NaN) = NaN`, `sin(-0) = -0`.
pub fn sin(x: f32) -> f32 {
    let a = abs(x);
    let fin = a < INF;
    let (r, r_lo, q) = reduce(if fin { a } else { 0.0 });
    let (s, c) = sin_cos_poly(r, r_lo);
    let v = if q & 1 == 1 { c } else { s };
    let v = if q & 2 == 2 { -v } else { v };
    let v = clamp_sel(v, -1.0, 1.0);
    let v = xor_sign(v, x);
    let v = if fin { v } else { NAN };
    if is_nan(x) { x } else { v }
}

/// Cosine; as [`sin`]. `cos(±inf) = NaN`, `cos(NaN) = NaN`.
pub fn cos(x: f32) -> f32 {
    let a = abs(x);
    let fin = a < INF;
    let (r, r_lo, q) = reduce(if fin { a } else { 0.0 });
    let (s, c) = sin_cos_poly(r, r_lo);
    let v = if q & 1 == 1 { s } else { c };
    let v = if q == 1 || q == 2 { -v } else { v };
    let v = clamp_sel(v, -1.0, 1.0);
    let v = if fin { v } else { NAN };
    if is_nan(x) { x } else { v }
}

/// Square root: Newton reciprocal square root from the bit-trick seed, then one
/// correction with the exact residual. `sqrt(±0) = ±0`, `sqrt(x < 0) = NaN`,
/// `sqrt(+inf) = +inf`, `sqrt(NaN) = NaN`.
pub fn sqrt(x: f32) -> f32 {
    let ok = x > 0.0 && x < INF;
    let (m, e) = frexp(if ok { x } else { 1.0 });
    // Even exponent: m in [1, 4).
    let odd = e & 1 != 0;
    let m = if odd { m + m } else { m };
    let e = if odd { e - 1 } else { e };
    let mut y = f32::from_bits(0x5f37_59df - (m.to_bits() >> 1));
    y = y * (1.5 - 0.5 * m * y * y);
    y = y * (1.5 - 0.5 * m * y * y);
    y = y * (1.5 - 0.5 * m * y * y);
    let s = m * y;
    let p = s * s;
    // m - p is exact (p is within a few ulps of m).
    let r = (m - p) - mul_err(s, s, p);
    let s = s + 0.5 * y * r;
    let v = s * pow2i(e >> 1);
    let v = if x == 0.0 { x } else { v };
    let v = if x < 0.0 { NAN } else { v };
    let v = if x == INF { INF } else { v };
    if is_nan(x) { x } else { v }
}

/// `a / b` (the equations' `/`). `x/±0 = ±inf` (x != 0), `0/0 = NaN`, `inf/inf =
/// NaN`, `x/±inf = ±0`, `inf/x = ±inf`; a NaN input gives NaN (a's bits when a is
/// NaN, else b's). Subnormal results are rounded twice (≤ 1 ulp).
pub fn div(a: f32, b: f32) -> f32 {
    let (aa, ab) = (abs(a), abs(b));
    let ok = aa > 0.0 && aa < INF && ab > 0.0 && ab < INF;
    let (ma, ea) = frexp(if ok { aa } else { 1.0 });
    let (mb, eb) = frexp(if ok { ab } else { 1.0 });
    let v = scale(div_core(ma, mb), ea - eb);
    let v = if aa == 0.0 || ab == INF { 0.0 } else { v };
    let v = if ab == 0.0 || aa == INF { INF } else { v };
    let v = xor_sign(xor_sign(v, a), b);
    let v = if (aa == 0.0 && ab == 0.0) || (aa == INF && ab == INF) {
        NAN
    } else {
        v
    };
    let v = if is_nan(b) { b } else { v };
    if is_nan(a) { a } else { v }
}

/// Floor (exact natively); `floor(NaN)` is x itself.
pub fn floor(x: f32) -> f32 {
    if is_nan(x) { x } else { x.floor() }
}

/// |x| by clearing the sign bit (NaN keeps its payload).
pub fn abs(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0x7fff_ffff)
}

/// The smaller of a and b; a if they compare equal (`min(-0, 0) = -0`,
/// `min(0, -0) = 0`); NaN if either is (a's bits first). Hardware min is not
/// used: its NaN and ±0 results differ between devices.
pub fn min(a: f32, b: f32) -> f32 {
    let v = if b < a { b } else { a };
    let v = if is_nan(b) { b } else { v };
    if is_nan(a) { a } else { v }
}

/// The larger of a and b; as [`min`].
pub fn max(a: f32, b: f32) -> f32 {
    let v = if b > a { b } else { a };
    let v = if is_nan(b) { b } else { v };
    if is_nan(a) { a } else { v }
}

/// `min(max(x, lo), hi)`: hi when lo > hi.
pub fn clip(x: f32, lo: f32, hi: f32) -> f32 {
    min(max(x, lo), hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between two f32 (±0 equal).
    fn ulps(a: f32, b: f32) -> u64 {
        let o = |x: f32| {
            let b = x.to_bits();
            let m = (b & 0x7fff_ffff) as i64;
            if b >> 31 == 1 { -m } else { m }
        };
        (o(a) - o(b)).unsigned_abs()
    }

    /// Every `step`-th f32 bit pattern in [lo, hi] (0 <= lo), mirrored when `neg`,
    /// plus `grid + 1` evenly spaced points in [lo, hi] (or [-hi, hi]).
    fn inputs(lo: f32, hi: f32, step: u32, grid: u32, neg: bool) -> Vec<f32> {
        let mut v = vec![];
        let mut i = lo.to_bits();
        while i <= hi.to_bits() {
            v.push(f32::from_bits(i));
            if neg {
                v.push(-f32::from_bits(i));
            }
            i += step;
        }
        let l = if neg { -hi as f64 } else { lo as f64 };
        for k in 0..=grid {
            v.push((l + (hi as f64 - l) * k as f64 / grid as f64) as f32);
        }
        v
    }

    /// A deterministic stream of u32 (SplitMix-style).
    fn rng(seed: u64) -> impl FnMut() -> u32 {
        let mut s = seed;
        move || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 32) as u32
        }
    }

    /// Max ulps of `f` against `want` (f64, rounded to f32) over `xs`; prints a
    /// table row with the worst input.
    fn measure(
        name: &str,
        range: &str,
        xs: &[f32],
        f: impl Fn(f32) -> f32,
        want: impl Fn(f64) -> f64,
    ) -> u64 {
        let (mut worst, mut at) = (0, 0.0);
        for &x in xs {
            let u = ulps(f(x), want(x as f64) as f32);
            if u > worst {
                (worst, at) = (u, x);
            }
        }
        eprintln!(
            "| {name:<5} | {range:<26} | {:>9} | {worst:>3} ulp | at {at:e}",
            xs.len()
        );
        worst
    }

    #[test]
    fn exp_is_within_1_ulp() {
        let mut xs = inputs(0.0, 103.9, 401, 1_000_000, true);
        xs.retain(|x| *x <= 88.7);
        assert!(measure("exp", "[-103.9, 88.7]", &xs, exp, f64::exp) <= 1);
    }

    #[test]
    fn log_is_within_1_ulp() {
        let xs = inputs(f32::from_bits(1), f32::MAX, 1021, 1_000_000, false);
        let xs: Vec<f32> = xs.into_iter().filter(|x| *x > 0.0).collect();
        assert!(measure("log", "(0, inf)", &xs, log, f64::ln) <= 1);
    }

    #[test]
    fn tanh_is_within_1_ulp() {
        let xs = inputs(0.0, f32::MAX, 1021, 1_000_000, true);
        let mut g = inputs(0.0, 10.0, 4099, 1_000_000, true);
        g.extend(xs);
        assert!(measure("tanh", "all f32", &g, tanh, f64::tanh) <= 1);
    }

    /// f32 nearest each multiple of π/2 up to 1e4 and its two neighbours: where
    /// the reduced argument is smallest.
    fn near_multiples_of_pi_2() -> Vec<f32> {
        let mut v = vec![];
        for k in 1..=6366 {
            let x = (k as f64 * std::f64::consts::FRAC_PI_2) as f32;
            for b in [x.to_bits() - 1, x.to_bits(), x.to_bits() + 1] {
                v.extend([f32::from_bits(b), -f32::from_bits(b)]);
            }
        }
        v
    }

    #[test]
    fn sin_cos_are_within_1_ulp() {
        let mut xs = inputs(0.0, 1e4, 401, 1_000_000, true);
        xs.extend(near_multiples_of_pi_2());
        assert!(measure("sin", "[-1e4, 1e4]", &xs, sin, f64::sin) <= 1);
        assert!(measure("cos", "[-1e4, 1e4]", &xs, cos, f64::cos) <= 1);
    }

    #[test]
    fn sqrt_is_correctly_rounded() {
        let xs = inputs(0.0, f32::MAX, 1021, 1_000_000, false);
        assert_eq!(measure("sqrt", "[0, inf)", &xs, sqrt, f64::sqrt), 0);
    }

    #[test]
    fn div_is_correctly_rounded() {
        let mut next = rng(1);
        let (mut worst, mut worst_sub, mut n) = (0, 0, 0);
        for i in 0..3_000_000 {
            // Random finite bit patterns, and mantissas in [1, 2) where rounding
            // cases are dense.
            let (a, b) = if i % 2 == 0 {
                (
                    f32::from_bits(next() & 0xff7f_ffff),
                    f32::from_bits(next() & 0xff7f_ffff),
                )
            } else {
                (
                    f32::from_bits(0x3f80_0000 | (next() & 0x7f_ffff)),
                    f32::from_bits(0x3f80_0000 | (next() & 0x7f_ffff)),
                )
            };
            let want = (a as f64 / b as f64) as f32;
            let u = ulps(div(a, b), want);
            n += 1;
            if want.abs() < f32::MIN_POSITIVE {
                worst_sub = worst_sub.max(u);
            } else {
                assert!(u == 0, "{a:e} / {b:e}: {} vs {want:e}", div(a, b));
                worst = worst.max(u);
            }
        }
        eprintln!(
            "| div   | all f32 (subnormal result) | {n:>9} | {worst:>3} ulp | ({worst_sub} ulp)"
        );
        assert!(worst_sub <= 1);
    }

    #[test]
    fn pow_is_within_2_ulp_plus_y_over_16() {
        let mut next = rng(2);
        let u01 = |v: u32| v as f64 / 2f64.powi(32);
        let (mut worst, mut worst_y) = ([0; 2], 0.0f32);
        let n = 2_000_000;
        for i in 0..n {
            // Half with x in [1e-3, 1e3], y in [-8, 8]; half with any normal x and
            // y picked so that the result spans the normal range; every 8th of
            // those with x negative and y an integer.
            let (x, y) = if i % 2 == 0 {
                let x = 10f64.powf(-3.0 + 6.0 * u01(next())) as f32;
                (x, (-8.0 + 16.0 * u01(next())) as f32)
            } else {
                let x = 2f64.powf(-126.0 + 253.0 * u01(next())) as f32;
                let y = ((-87.0 + 175.0 * u01(next())) / (x as f64).ln()) as f32;
                if i % 16 == 1 { (-x, y.round()) } else { (x, y) }
            };
            let want = (x as f64).powf(y as f64) as f32;
            if want == 0.0 || !want.is_finite() || want.abs() < f32::MIN_POSITIVE {
                continue;
            }
            let u = ulps(pow(x, y), want);
            // log's remaining error (about 2^-29 absolute) is multiplied by y.
            let bound = if i % 2 == 0 {
                1
            } else {
                2 + (y.abs() / 16.0) as u64
            };
            assert!(u <= bound, "pow({x:e}, {y:e}) {u} ulp");
            worst[i % 2] = worst[i % 2].max(u);
            worst_y = worst_y.max((u as f32 - 1.0) / y.abs());
        }
        eprintln!(
            "| pow   | x [1e-3, 1e3], |y| <= 8    | {:>9} | {:>3} ulp |",
            n / 2,
            worst[0]
        );
        eprintln!(
            "| pow   | all normal results         | {:>9} | {:>3} ulp | (ulp - 1) / |y| <= 1/{:.0}",
            n / 2,
            worst[1],
            1.0 / worst_y
        );
    }

    #[test]
    fn special_values() {
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        let same = |a: f32, b: f32| assert_eq!(a.to_bits(), b.to_bits(), "{a} vs {b}");
        same(exp(-inf), 0.0);
        same(exp(inf), inf);
        same(exp(89.0), inf);
        same(exp(-104.0), 0.0);
        same(exp(0.0), 1.0);
        same(log(0.0), -inf);
        same(log(-0.0), -inf);
        same(log(-1.0), NAN);
        same(log(inf), inf);
        same(log(1.0), 0.0);
        same(sqrt(-0.0), -0.0);
        same(sqrt(-1.0), NAN);
        same(sqrt(inf), inf);
        same(sqrt(4.0), 2.0);
        same(div(1.0, 0.0), inf);
        same(div(-1.0, 0.0), -inf);
        same(div(0.0, 0.0), NAN);
        same(div(inf, inf), NAN);
        same(div(1.0, -inf), -0.0);
        same(div(-inf, 2.0), -inf);
        same(div(6.0, 3.0), 2.0);
        same(tanh(-0.0), -0.0);
        same(tanh(inf), 1.0);
        same(tanh(-20.0), -1.0);
        same(sin(-0.0), -0.0);
        same(sin(inf), NAN);
        same(cos(-inf), NAN);
        same(cos(0.0), 1.0);
        same(pow(nan, 0.0), 1.0);
        same(pow(1.0, nan), 1.0);
        same(pow(-2.0, 3.0), -8.0);
        same(pow(-2.0, 0.5), NAN);
        same(pow(-0.0, 3.0), -0.0);
        same(pow(0.0, -1.0), inf);
        same(pow(-0.0, -3.0), -inf);
        same(pow(-inf, 3.0), -inf);
        same(pow(-1.0, inf), 1.0);
        same(pow(0.5, inf), 0.0);
        same(pow(2.0, 10.0), 1024.0);
        same(pow(4.0, 0.5), 2.0);
        same(min(-0.0, 0.0), -0.0);
        same(min(0.0, -0.0), 0.0);
        same(max(1.0, 2.0), 2.0);
        same(clip(5.0, 0.0, 1.0), 1.0);
        same(clip(-5.0, 0.0, 1.0), 0.0);
        // A NaN input comes back with its own bits.
        let p = f32::from_bits(0x7fc1_2345);
        for f in [exp, log, tanh, sin, cos, sqrt, floor] {
            same(f(p), p);
        }
        same(div(p, 1.0), p);
        same(div(1.0, p), p);
        same(min(1.0, p), p);
        same(max(p, 1.0), p);
        same(pow(2.0, p), NAN);
    }

    #[test]
    fn native_ops_are_exact() {
        let mut next = rng(3);
        for _ in 0..1_000_000 {
            let (a, b) = (f32::from_bits(next()), f32::from_bits(next()));
            if a.is_nan() || b.is_nan() {
                continue;
            }
            assert_eq!(floor(a).to_bits(), a.floor().to_bits());
            assert_eq!(abs(a).to_bits(), a.abs().to_bits());
            assert_eq!(min(a, b), a.min(b));
            assert_eq!(max(a, b), a.max(b));
        }
    }
}
