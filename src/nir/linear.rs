//! The stateless NIR nodes (Affine, Linear, Scale, Conv1d/2d, Sum/AvgPool2d,
//! Flatten, Delay) as sparse maps from input index to output entries, and their
//! composition along a path of the graph.
use super::graph::{Node, Value};
use crate::model::MAX_DELAY_STEPS;

/// The most elements (neurons of a population, outputs of a stateless node) one
/// NIR node may have: the import makes every element a neuron or a row of explicit
/// synapses, so a larger node would exhaust memory; real files stay far below.
pub const MAX_NODE_ELEMENTS: usize = 1 << 24;

/// The largest stride, dilation, padding or kernel size accepted: far beyond any
/// real network, and small enough that index arithmetic cannot overflow.
const MAX_CONV_PARAM: i64 = 1 << 24;

/// The element count of `shape`, refused if it overflows or exceeds [`MAX_NODE_ELEMENTS`].
pub(crate) fn elements(shape: &[usize]) -> Result<usize, String> {
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(n) if n <= MAX_NODE_ELEMENTS => Ok(n),
        _ => Err(format!(
            "shape {shape:?} has more than the {MAX_NODE_ELEMENTS} elements a node may have"
        )),
    }
}

/// One output entry of an input element: output index, weight, extra delay in steps.
pub(crate) type Entry = (u32, f64, u32);

/// A stateless node applied to an input of a known shape.
pub(crate) struct Map {
    /// Output shape.
    pub shape: Vec<usize>,
    /// `cols[k]`: where input element `k` goes.
    pub cols: Vec<Vec<Entry>>,
    /// Constant added to the output (Affine and convolution biases).
    pub bias: Option<Vec<f64>>,
}

fn floats(node: &Node, k: &str) -> Vec<f64> {
    node.params
        .get(k)
        .and_then(Value::to_f64)
        .unwrap_or_default()
}

/// An int parameter broadcast to `n` values (NIR stores some as scalars), each
/// within ±[`MAX_CONV_PARAM`].
fn ints(node: &Node, k: &str, n: usize) -> Result<Vec<i64>, String> {
    let v = match node.params.get(k) {
        Some(Value::I64 { data, .. }) if data.len() == n => data.clone(),
        Some(Value::I64 { data, .. }) if data.len() == 1 => vec![data[0]; n],
        Some(v) => {
            return Err(format!(
                "'{k}' must hold 1 or {n} integers, found {}",
                v.describe()
            ));
        }
        None => return Err(format!("'{k}' is missing")),
    };
    match v.iter().position(|x| x.abs() > MAX_CONV_PARAM) {
        Some(i) => Err(format!(
            "{k}[{i}] = {} is beyond the ±{MAX_CONV_PARAM} accepted",
            v[i]
        )),
        None => Ok(v),
    }
}

/// The map of `node` on an input of shape `input` (sizes only matter for
/// Affine, Linear, Scale and Delay). `dt_s` converts Delay's seconds to steps.
pub(crate) fn node_map(node: &Node, input: &[usize], dt_s: f64) -> Result<Map, String> {
    let n_in: usize = input.iter().product();
    let shape_of = |k: &str| {
        node.params
            .get(k)
            .map(|v| v.shape().to_vec())
            .unwrap_or_default()
    };
    match node.kind.as_str() {
        "Affine" | "Linear" => {
            let ws = shape_of("weight");
            let (rows, cols) = (ws[0], ws[1]);
            elements(&[rows]).map_err(|e| format!("weight: {e}"))?;
            if cols != n_in {
                return Err(format!(
                    "weight has {cols} columns but the input has {n_in} elements (shape {input:?})"
                ));
            }
            let w = floats(node, "weight");
            let map_cols = (0..cols)
                .map(|k| {
                    (0..rows)
                        .filter(|&o| w[o * cols + k] != 0.0)
                        .map(|o| (o as u32, w[o * cols + k], 0))
                        .collect()
                })
                .collect();
            let bias = (node.kind == "Affine").then(|| floats(node, "bias"));
            Ok(Map {
                shape: vec![rows],
                cols: map_cols,
                bias,
            })
        }
        "Scale" | "Delay" => {
            let key = if node.kind == "Scale" {
                "scale"
            } else {
                "delay"
            };
            let v = floats(node, key);
            if v.len() != n_in && v.len() != 1 {
                return Err(format!(
                    "'{key}' has {} elements but the input has {n_in}",
                    v.len()
                ));
            }
            let at = |k: usize| if v.len() == 1 { v[0] } else { v[k] };
            let mut cols = Vec::with_capacity(n_in);
            for k in 0..n_in {
                cols.push(if node.kind == "Scale" {
                    vec![(k as u32, at(k), 0)]
                } else {
                    let steps = (at(k) / dt_s).round();
                    if !(steps >= 0.0) {
                        return Err(format!(
                            "delay[{k}] = {} s is not a non-negative time",
                            at(k)
                        ));
                    }
                    // The projection adds one step of its own.
                    if steps + 1.0 > f64::from(MAX_DELAY_STEPS) {
                        return Err(format!(
                            "delay[{k}] = {} s is {steps:.0} steps, which with the projection's own step is more than the {MAX_DELAY_STEPS} a synapse holds",
                            at(k)
                        ));
                    }
                    vec![(k as u32, 1.0, steps as u32)]
                });
            }
            Ok(Map {
                shape: input.to_vec(),
                cols,
                bias: None,
            })
        }
        "Flatten" => {
            let nd = input.len() as i64;
            let norm = |d: i64| if d < 0 { d + nd } else { d };
            let get = |k: &str| {
                node.params
                    .get(k)
                    .and_then(Value::ints)
                    .and_then(|v| v.first().copied())
                    .unwrap_or(0)
            };
            let (s, e) = (norm(get("start_dim")), norm(get("end_dim")));
            if let Some(t) = node.params.get("input_type").and_then(Value::ints) {
                let want = t.iter().try_fold(1i64, |n, &d| n.checked_mul(d));
                if want != Some(n_in as i64) {
                    let want = want.map_or("too many".into(), |w| w.to_string());
                    return Err(format!(
                        "input_type {t:?} has {want} elements but the input has {n_in} (shape {input:?})"
                    ));
                }
            }
            let shape = if nd == 0 || s > e || s < 0 || e >= nd {
                vec![n_in]
            } else {
                let (s, e) = (s as usize, e as usize);
                let mut out = input[..s].to_vec();
                out.push(input[s..=e].iter().product());
                out.extend_from_slice(&input[e + 1..]);
                out
            };
            Ok(Map {
                shape,
                cols: (0..n_in).map(|k| vec![(k as u32, 1.0, 0)]).collect(),
                bias: None,
            })
        }
        "Conv1d" | "Conv2d" => conv(node, input),
        "SumPool2d" | "AvgPool2d" => pool(node, input),
        other => Err(format!("{other} is not a stateless node")),
    }
}

/// Spatial input dims `[C, ...]` of a convolution or pool: the incoming shape if
/// it has the right rank, else `input_shape` with `c` channels.
fn spatial(
    node: &Node,
    input: &[usize],
    dims: usize,
    c: Option<usize>,
) -> Result<Vec<usize>, String> {
    let n_in = elements(input)?;
    let shape = if input.len() == dims + 1 {
        input.to_vec()
    } else if let (Some(s), Some(c)) = (node.params.get("input_shape").and_then(Value::ints), c) {
        let mut v = vec![c];
        v.extend(s.iter().map(|&x| x.max(0) as usize));
        v
    } else {
        return Err(format!(
            "cannot tell the (C, spatial) shape of an input of shape {input:?}"
        ));
    };
    if elements(&shape).ok() != Some(n_in) || shape.len() != dims + 1 {
        return Err(format!(
            "input of shape {input:?} does not fit the expected [C, ...] shape {shape:?}"
        ));
    }
    Ok(shape)
}

fn conv(node: &Node, input: &[usize]) -> Result<Map, String> {
    let d = if node.kind == "Conv1d" { 1 } else { 2 };
    let ws = node.params["weight"].shape().to_vec();
    let (c_out, c_in_g, k) = (ws[0], ws[1], ws[2..].to_vec());
    let groups = ints(node, "groups", 1)?[0].max(1) as usize;
    let shape = spatial(node, input, d, Some(c_in_g * groups))?;
    let c_in = shape[0];
    if c_in != c_in_g * groups || c_out % groups != 0 {
        return Err(format!(
            "{c_in} input channels do not fit weight {ws:?} with groups = {groups}"
        ));
    }
    let stride = ints(node, "stride", d)?;
    let dil = ints(node, "dilation", d)?;
    let pad: Vec<i64> = match node.params.get("padding") {
        Some(Value::Str { value }) if value == "valid" => vec![0; d],
        Some(Value::Str { value }) if value == "same" => {
            (0..d).map(|i| dil[i] * (k[i] as i64 - 1) / 2).collect()
        }
        Some(Value::Str { value }) => {
            return Err(format!(
                "padding '{value}' is not 'same', 'valid' or integers"
            ));
        }
        _ => ints(node, "padding", d)?,
    };
    if stride.iter().chain(&dil).any(|&x| x < 1) || pad.iter().any(|&x| x < 0) {
        return Err(format!(
            "stride {stride:?} and dilation {dil:?} must be >= 1, padding {pad:?} >= 0"
        ));
    }
    let same = matches!(node.params.get("padding"), Some(Value::Str { value }) if value == "same");
    if k.iter().any(|&x| x as i64 > MAX_CONV_PARAM) {
        return Err(format!(
            "weight's kernel {:?} is larger than the {MAX_CONV_PARAM} accepted",
            &ws[2..]
        ));
    }
    let out_sp: Vec<usize> = (0..d)
        .map(|i| {
            if same {
                shape[1 + i]
            } else {
                let span = shape[1 + i] as i64 + 2 * pad[i] - dil[i] * (k[i] as i64 - 1) - 1;
                if span < 0 {
                    0
                } else {
                    (span / stride[i] + 1) as usize
                }
            }
        })
        .collect();
    let w = floats(node, "weight");
    let b = floats(node, "bias");
    let (h_in, w_in) = if d == 1 {
        (1, shape[1])
    } else {
        (shape[1], shape[2])
    };
    let (h_out, w_out) = if d == 1 {
        (1, out_sp[0])
    } else {
        (out_sp[0], out_sp[1])
    };
    let (kh, kw) = if d == 1 { (1, k[0]) } else { (k[0], k[1]) };
    let mut out_shape = vec![c_out];
    out_shape.extend(&out_sp);
    elements(&out_shape).map_err(|e| format!("the output: {e}"))?;
    let (sh, sw, ph, pw, dh, dw) = if d == 1 {
        (1, stride[0], 0, pad[0], 1, dil[0])
    } else {
        (stride[0], stride[1], pad[0], pad[1], dil[0], dil[1])
    };
    let n_in = c_in * h_in * w_in;
    let mut cols: Vec<Vec<Entry>> = vec![vec![]; n_in];
    let (og, ig) = (c_out / groups, c_in_g);
    for co in 0..c_out {
        let g = co / og;
        for y in 0..h_out {
            for x in 0..w_out {
                let o = ((co * h_out + y) * w_out + x) as u32;
                for cl in 0..ig {
                    let ci = g * ig + cl;
                    for ky in 0..kh {
                        let iy = (y as i64) * sh - ph + (ky as i64) * dh;
                        if iy < 0 || iy >= h_in as i64 {
                            continue;
                        }
                        for kx in 0..kw {
                            let ix = (x as i64) * sw - pw + (kx as i64) * dw;
                            if ix < 0 || ix >= w_in as i64 {
                                continue;
                            }
                            let wv = w[((co * ig + cl) * kh + ky) * kw + kx];
                            if wv != 0.0 {
                                cols[(ci * h_in + iy as usize) * w_in + ix as usize]
                                    .push((o, wv, 0));
                            }
                        }
                    }
                }
            }
        }
    }
    let plane = h_out * w_out;
    let bias = b
        .iter()
        .any(|&x| x != 0.0)
        .then(|| (0..c_out * plane).map(|i| b[i / plane]).collect());
    Ok(Map {
        shape: out_shape,
        cols,
        bias,
    })
}

fn pool(node: &Node, input: &[usize]) -> Result<Map, String> {
    let shape = spatial(node, input, 2, None)?;
    let k = ints(node, "kernel_size", 2)?;
    let s = ints(node, "stride", 2)?;
    let p = ints(node, "padding", 2)?;
    if k.iter().chain(&s).any(|&x| x < 1) || p.iter().any(|&x| x < 0) {
        return Err(format!(
            "kernel_size {k:?} and stride {s:?} must be >= 1, padding {p:?} >= 0"
        ));
    }
    let (c, h, w) = (shape[0], shape[1] as i64, shape[2] as i64);
    let ho = ((h + 2 * p[0] - k[0]) / s[0] + 1).max(0) as usize;
    let wo = ((w + 2 * p[1] - k[1]) / s[1] + 1).max(0) as usize;
    elements(&[c, ho, wo]).map_err(|e| format!("the output: {e}"))?;
    // AvgPool2d divides by the kernel area, padding included (PyTorch's default).
    let scale = if node.kind == "AvgPool2d" {
        1.0 / (k[0] * k[1]) as f64
    } else {
        1.0
    };
    let mut cols: Vec<Vec<Entry>> = vec![vec![]; c * (h * w) as usize];
    for ch in 0..c {
        for y in 0..ho {
            for x in 0..wo {
                let o = ((ch * ho + y) * wo + x) as u32;
                for ky in 0..k[0] {
                    let iy = y as i64 * s[0] - p[0] + ky;
                    for kx in 0..k[1] {
                        let ix = x as i64 * s[1] - p[1] + kx;
                        if (0..h).contains(&iy) && (0..w).contains(&ix) {
                            cols[(ch as i64 * h * w + iy * w + ix) as usize].push((o, scale, 0));
                        }
                    }
                }
            }
        }
    }
    Ok(Map {
        shape: vec![c, ho, wo],
        cols,
        bias: None,
    })
}

/// Composes `rows` (per source element: entries into the current node's input)
/// with `map`: the entries into the map's output, merged by (index, delay).
pub(crate) fn compose(rows: &[Vec<Entry>], cols: &[Vec<Entry>]) -> Vec<Vec<Entry>> {
    rows.iter()
        .map(|row| {
            let mut out: Vec<Entry> = vec![];
            for &(k, w, d) in row {
                for &(o, c, e) in &cols[k as usize] {
                    // Saturates: a sum beyond u32 is refused later as too long a delay.
                    out.push((o, w * c, d.saturating_add(e)));
                }
            }
            merge(out)
        })
        .collect()
}

/// Sorts entries by (index, delay) and sums duplicates.
pub(crate) fn merge(mut v: Vec<Entry>) -> Vec<Entry> {
    v.sort_by_key(|e| (e.0, e.2));
    let mut out: Vec<Entry> = Vec::with_capacity(v.len());
    for e in v {
        match out.last_mut() {
            Some(l) if l.0 == e.0 && l.2 == e.2 => l.1 += e.1,
            _ => out.push(e),
        }
    }
    out
}
