// The functions of user-written equations: src/equations/math.rs, the same f32
// operations in the same order (compile with NoContraction, never fma), so the
// GPU gives the CPU's bits. `select(f, t, c)` is Rust's `if c { t } else { f }`.
// Non-finite constants come from m_bits at run time: WGSL constant expressions
// may not be inf or NaN.

fn m_bits(u: u32) -> f32 {
    return bitcast<f32>(u);
}

fn m_is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn m_pow2i(k: i32) -> f32 {
    return bitcast<f32>(u32(k + 127) << 23u);
}

fn m_xor_sign(x: f32, s: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ (bitcast<u32>(s) & 0x80000000u));
}

fn m_clamp_sel(x: f32, lo: f32, hi: f32) -> f32 {
    let y = select(x, hi, x > hi);
    return select(y, lo, x < lo);
}

fn m_mul_err(a: f32, b: f32, p: f32) -> f32 {
    let ca = 4097.0f * a;
    let ah = ca - (ca - a);
    let al = a - ah;
    let cb = 4097.0f * b;
    let bh = cb - (cb - b);
    let bl = b - bh;
    return (((ah * bh - p) + ah * bl) + al * bh) + al * bl;
}

fn m_add_err(a: f32, b: f32, s: f32) -> f32 {
    let bb = s - a;
    return (a - (s - bb)) + (b - bb);
}

struct MFrexp {
    m: f32,
    e: i32,
}

fn m_frexp(x: f32) -> MFrexp {
    let sub = x < 1.1754944e-38f;
    let xs = select(x, x * 16777216.0f, sub);
    let b = bitcast<u32>(xs);
    let e = i32(b >> 23u) - 127;
    return MFrexp(bitcast<f32>((b & 0x007fffffu) | 0x3f800000u), select(e, e - 24, sub));
}

fn m_div_core(a: f32, b: f32) -> f32 {
    var y = 1.4117647f - 0.47058824f * b;
    y = y + y * (1.0f - b * y);
    y = y + y * (1.0f - b * y);
    y = y + y * (1.0f - b * y);
    let q = a * y;
    let p = b * q;
    let r = (a - p) - m_mul_err(b, q, p);
    return q + r * y;
}

fn m_scale(m: f32, k0: i32) -> f32 {
    let k = clamp(k0, -160, 160);
    let k1 = k >> 1u;
    return m * m_pow2i(k1) * m_pow2i(k - k1);
}

fn m_exp(x: f32) -> f32 {
    let nan = m_is_nan(x);
    let xs = m_clamp_sel(select(x, 0.0f, nan), -104.0f, 89.0f);
    let kf = floor(xs * 1.442695f + 0.5f);
    let r = (xs - kf * 0.6933594f) - kf * -2.1219444e-4f;
    let z = r * r;
    let p = (((((1.9875691e-4f * r + 1.3981999e-3f) * r + 8.333452e-3f) * r
        + 4.1665796e-2f)
        * r
        + 0.16666665f)
        * r
        + 0.5f)
        * z
        + r
        + 1.0f;
    let y = m_scale(p, i32(kf));
    return select(y, x, nan);
}

fn m_log_parts(x: f32) -> vec2<f32> {
    let fr = m_frexp(x);
    let big = fr.m > 1.4142135f;
    let m = select(fr.m, fr.m * 0.5f, big);
    let fe = f32(select(fr.e, fr.e + 1, big));
    let f = m - 1.0f;
    let z = f * f;
    var y = ((((((((7.0376836e-2f * f - 0.1151461f) * f + 0.11676998f) * f
        - 0.12420141f)
        * f
        + 0.14249323f)
        * f
        - 0.16668057f)
        * f
        + 0.20000715f)
        * f
        - 0.24999994f)
        * f
        + 0.3333333f)
        * f
        * z;
    y = y + fe * -2.1219444e-4f;
    let h = -0.5f * z;
    let y2 = y + h;
    let l1 = f + y2;
    let c = fe * 0.6933594f;
    let hi = l1 + c;
    let lo = ((m_add_err(y, h, y2) + -0.5f * m_mul_err(f, f, z)) + m_add_err(f, y2, l1))
        + m_add_err(l1, c, hi);
    return vec2<f32>(hi, lo);
}

fn m_log(x: f32) -> f32 {
    let inf = m_bits(0x7f800000u);
    let ok = x > 0.0f && x < inf;
    var r = m_log_parts(select(1.0f, x, ok)).x;
    r = select(r, -inf, x == 0.0f);
    r = select(r, m_bits(0x7fc00000u), x < 0.0f);
    r = select(r, inf, x == inf);
    return select(r, x, m_is_nan(x));
}

fn m_abs(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu);
}

fn m_pow(x: f32, y: f32) -> f32 {
    let inf = m_bits(0x7f800000u);
    let a = m_abs(x);
    let l = m_log(a);
    let ok = a > 0.0f && a < inf;
    let l_lo = m_log_parts(select(1.0f, a, ok)).y;
    let t = y * l;
    let fine = ok && m_abs(y) < 1e30f && m_abs(t) < 104.0f;
    let t_lo = select(0.0f, m_mul_err(y, l, t) + y * l_lo, fine);
    let e = m_exp(t);
    var r = select(e, e + e * t_lo, e < inf);
    r = select(r, 1.0f, a == 1.0f);
    let y_int = floor(y) == y;
    let y_odd = y_int && floor(y * 0.5f) != y * 0.5f;
    r = select(r, m_xor_sign(r, x), y_odd);
    let bad = x < 0.0f && x > -inf && y > -inf && y < inf && !y_int;
    r = select(r, m_bits(0x7fc00000u), bad || m_is_nan(x) || m_is_nan(y));
    return select(r, 1.0f, x == 1.0f || y == 0.0f);
}

fn m_tanh(x: f32) -> f32 {
    let nan = m_is_nan(x);
    let a = select(m_clamp_sel(m_abs(x), 0.0f, 10.0f), 0.0f, nan);
    let z = a * a;
    let small = ((((-5.7049887e-3f * z + 2.063909e-2f) * z - 5.3739716e-2f) * z
        + 0.13331442f)
        * z
        - 0.3333328f)
        * z
        * a
        + a;
    let fr = m_frexp(m_exp(a + a) + 1.0f);
    let large = 1.0f - m_scale(m_div_core(1.0f, fr.m), 1 - fr.e);
    let t = m_xor_sign(select(large, small, a < 0.625f), x);
    return select(t, x, nan);
}

fn m_sin_cos_poly(r: f32, r_lo: f32) -> vec2<f32> {
    let z = r * r;
    let s = (((-1.9515296e-4f * z + 8.332161e-3f) * z - 0.16666655f) * z * r + r_lo) + r;
    let c = ((((2.4433157e-5f * z - 1.3887316e-3f) * z + 4.1666646e-2f) * z * z - 0.5f * z)
        - r * r_lo)
        + 1.0f;
    return vec2<f32>(s, c);
}

struct MReduced {
    r: f32,
    r_lo: f32,
    q: u32,
}

fn m_reduce(a: f32) -> MReduced {
    let kf = floor(a * 0.63661975f + 0.5f);
    let r2 = (a + kf * -1.5703125f) + kf * -4.837513e-4f;
    let p3 = kf * -7.5495336e-8f;
    let r3 = r2 + p3;
    let p4 = kf * -2.563344e-12f;
    let r = r3 + p4;
    let r_lo = m_add_err(r2, p3, r3) + m_add_err(r3, p4, r);
    let q = kf - 4.0f * floor(kf * 0.25f);
    return MReduced(r, r_lo, u32(q));
}

fn m_sin(x: f32) -> f32 {
    let a = m_abs(x);
    let fin = a < m_bits(0x7f800000u);
    let red = m_reduce(select(0.0f, a, fin));
    let sc = m_sin_cos_poly(red.r, red.r_lo);
    var v = select(sc.x, sc.y, (red.q & 1u) == 1u);
    v = select(v, -v, (red.q & 2u) == 2u);
    v = m_clamp_sel(v, -1.0f, 1.0f);
    v = m_xor_sign(v, x);
    v = select(m_bits(0x7fc00000u), v, fin);
    return select(v, x, m_is_nan(x));
}

fn m_cos(x: f32) -> f32 {
    let a = m_abs(x);
    let fin = a < m_bits(0x7f800000u);
    let red = m_reduce(select(0.0f, a, fin));
    let sc = m_sin_cos_poly(red.r, red.r_lo);
    var v = select(sc.y, sc.x, (red.q & 1u) == 1u);
    v = select(v, -v, red.q == 1u || red.q == 2u);
    v = m_clamp_sel(v, -1.0f, 1.0f);
    v = select(m_bits(0x7fc00000u), v, fin);
    return select(v, x, m_is_nan(x));
}

fn m_sqrt(x: f32) -> f32 {
    let inf = m_bits(0x7f800000u);
    let ok = x > 0.0f && x < inf;
    let fr = m_frexp(select(1.0f, x, ok));
    let odd = (fr.e & 1) != 0;
    let m = select(fr.m, fr.m + fr.m, odd);
    let e = select(fr.e, fr.e - 1, odd);
    var y = bitcast<f32>(0x5f3759dfu - (bitcast<u32>(m) >> 1u));
    y = y * (1.5f - 0.5f * m * y * y);
    y = y * (1.5f - 0.5f * m * y * y);
    y = y * (1.5f - 0.5f * m * y * y);
    let s = m * y;
    let p = s * s;
    let r = (m - p) - m_mul_err(s, s, p);
    let s2 = s + 0.5f * y * r;
    var v = s2 * m_pow2i(e >> 1u);
    v = select(v, x, x == 0.0f);
    v = select(v, m_bits(0x7fc00000u), x < 0.0f);
    v = select(v, inf, x == inf);
    return select(v, x, m_is_nan(x));
}

fn m_div(a: f32, b: f32) -> f32 {
    let inf = m_bits(0x7f800000u);
    let aa = m_abs(a);
    let ab = m_abs(b);
    let ok = aa > 0.0f && aa < inf && ab > 0.0f && ab < inf;
    let fa = m_frexp(select(1.0f, aa, ok));
    let fb = m_frexp(select(1.0f, ab, ok));
    var v = m_scale(m_div_core(fa.m, fb.m), fa.e - fb.e);
    v = select(v, 0.0f, aa == 0.0f || ab == inf);
    v = select(v, inf, ab == 0.0f || aa == inf);
    v = m_xor_sign(m_xor_sign(v, a), b);
    v = select(v, m_bits(0x7fc00000u), (aa == 0.0f && ab == 0.0f) || (aa == inf && ab == inf));
    v = select(v, b, m_is_nan(b));
    return select(v, a, m_is_nan(a));
}

fn m_floor(x: f32) -> f32 {
    return select(floor(x), x, m_is_nan(x));
}

fn m_min(a: f32, b: f32) -> f32 {
    let v = select(select(a, b, b < a), b, m_is_nan(b));
    return select(v, a, m_is_nan(a));
}

fn m_max(a: f32, b: f32) -> f32 {
    let v = select(select(a, b, b > a), b, m_is_nan(b));
    return select(v, a, m_is_nan(a));
}

fn m_clip(x: f32, lo: f32, hi: f32) -> f32 {
    return m_min(m_max(x, lo), hi);
}
