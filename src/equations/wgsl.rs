//! WGSL generated from a compiled user model: the same assignments the CPU
//! interpreter runs (`super::neuron::Phase`), as the same f32 operations.
//!
//! Every number is written as the bits of its f32 (`bitcast<f32>(..)`), so no
//! decimal is parsed twice; division and the functions call the shared
//! sequences of `shaders/lib/math.wgsl` ([`super::math`]); comparisons and
//! logic give 1.0 or 0.0 as on the CPU. The shader is compiled through the
//! same NoContraction SPIR-V path as the built-in ones, so no product is fused
//! into an addition and the GPU gives the CPU's bits.
use super::ast::{BinOp, Expr, Func, UnOp};
use super::integrate::Assign;
use super::neuron::{CompiledNeuron, Phase};
use super::synapse::CompiledSynapse;
use std::collections::HashMap;
use std::fmt::Write;

/// The `Params` block of a user model's shader: `dt` and the refractory steps.
pub fn params_block(model: &CompiledNeuron, dt: f32) -> Vec<u8> {
    let words: [u32; 4] = [dt.to_bits(), model.refractory_steps, 0, 0];
    bytemuck::cast_slice(&words).to_vec()
}

/// Names of one phase's values in the generated code.
struct Names {
    map: HashMap<String, String>,
    next: usize,
    /// The next draw's site (as [`super::eval::Program::compile_at`] numbers them).
    site: u32,
}

impl Names {
    fn get(&self, n: &str) -> String {
        self.map
            .get(n)
            .cloned()
            .unwrap_or_else(|| format!("/* unknown {n} */ 0.0"))
    }
}

/// The whole neuron shader of `model` (one invocation per neuron and
/// instance; bindings of `shaders/lib/neuron.wgsl`). Its state buffer holds,
/// per instance, the state variables, the per-neuron columns and the
/// refractory counters, `n` words each.
pub fn neuron_shader(model: &CompiledNeuron) -> String {
    let s = model.state.len();
    let c = model.columns();
    let words = s + c + 1;
    let mut out = String::new();
    out.push_str(wgsl!("lib/step.wgsl", "lib/neuron.wgsl"));
    out.push_str(super::math::MATH_WGSL);
    if model.draws {
        out.push_str(wgsl!("lib/philox.wgsl"));
        let _ = write!(
            out,
            "
// Draws (src/equations/eval.rs `Instr::Draw`): word 0 of the Philox block of
// (stream, site, step, global id) under the instance's key; uniform as
// src/rng.rs `unit_f32`, normal as `NormalTables::sample`.
@group(1) @binding(7) var<storage, read> keys: array<vec2<u32>>;
// body[0..4097] then tail[0..4097] (src/rng.rs NormalTables).
@group(1) @binding(8) var<storage, read> tables: array<f32>;

fn draw_word(inst: u32, site: u32, i: u32) -> u32 {{
    return rng_block(keys[inst], {stream}u, site, st.step, pop.gid0 + i).x;
}}

fn draw_uniform(x: u32) -> f32 {{
    return f32(x >> 8u) * (1.0f / 16777216.0f);
}}

fn draw_normal(x: u32) -> f32 {{
    let u = x & 0x7fffffffu;
    var a: f32;
    var b: f32;
    var f: f32;
    if (u < 0x7ff00000u) {{
        let c = u >> 19u;
        f = f32(u & 0x7ffffu) * (1.0f / 524288.0f);
        a = tables[c];
        b = tables[c + 1u];
    }} else {{
        let v = u - 0x7ff00000u;
        let c = v >> 8u;
        f = f32(v & 0xffu) * (1.0f / 256.0f);
        a = tables[4097u + c];
        b = tables[4097u + c + 1u];
    }}
    let z = a + f * (b - a);
    return select(z, -z, (x >> 31u) == 1u);
}}
",
            stream = crate::neuron::user::STREAM_USER,
        );
    }
    let _ = write!(
        out,
        "
// Generated from the user model '{name}' (src/equations/wgsl.rs).
struct Params {{
    dt: f32,
    ref_steps: u32,
    _pad0: u32,
    _pad1: u32,
}}

// Per instance: {s} state variables, {c} columns, the refractory counters; n each.
@group(1) @binding(2) var<storage, read_write> state: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {{
    let i = neuron_index(g, nwg);
    if (i >= pop.n) {{
        return;
    }}
    let n = pop.n;
    let inst = g.z;
    let s0 = inst * {words}u * n;
    let input = take_input(ring_slot(inst), i);
    let t = f32(st.step) * k.dt;
    let dt = k.dt;
    let x_ext = i_ext[inst * n + i];
    let refr = bitcast<u32>(state[s0 + {c_end}u * n + i]);
    let awake = select(0.0f, 1.0f, refr == 0u);
",
        name = model.name,
        c_end = s + c,
    );
    let mut names = Names {
        map: HashMap::new(),
        next: 0,
        site: 0,
    };
    let sites = super::neuron::SITES;
    for (k, v) in model.state.iter().enumerate() {
        let _ = writeln!(out, "    var sv{k} = state[s0 + {k}u * n + i];");
        names.map.insert(v.clone(), format!("sv{k}"));
    }
    for k in 0..c {
        let _ = writeln!(out, "    let c{k} = state[s0 + {}u * n + i];", s + k);
    }
    for (k, p) in model.parameters.iter().enumerate() {
        names.map.insert(p.clone(), format!("c{k}"));
    }
    for k in 0..model.lifted.len() {
        names
            .map
            .insert(format!("_h{k}"), format!("c{}", model.parameters.len() + k));
    }
    names.map.insert("i_ext".into(), "x_ext".into());
    names.map.insert("not_refractory".into(), "awake".into());
    names.map.insert("t".into(), "t".into());
    names.map.insert("dt".into(), "dt".into());
    for (slot, phase) in model.receptors.iter().enumerate() {
        let Some(phase) = phase else { continue };
        let (lane, inv) = if slot == 0 {
            ("x", "inv_exc")
        } else {
            ("y", "inv_inh")
        };
        let _ = writeln!(
            out,
            "    {{\n        let w_in = f32(input.{lane}) * pop.{inv};"
        );
        let mut scoped = Names {
            map: names.map.clone(),
            next: names.next,
            site: u32::from(sites[3]) + 32 * slot as u32,
        };
        scoped.map.insert("w".into(), "w_in".into());
        emit(&mut out, phase, &mut scoped, "        ");
        names.next = scoped.next;
        out.push_str("    }\n");
    }
    names.site = u32::from(sites[0]);
    emit(&mut out, &model.step, &mut names, "    ");
    names.site = u32::from(sites[1]);
    emit(&mut out, &model.threshold, &mut names, "    ");
    let spike = names.get("_spike");
    let _ = writeln!(out, "    let spk = awake != 0.0f && {spike} != 0.0f;");
    out.push_str("    if (spk) {\n");
    let mut scoped = Names {
        map: names.map.clone(),
        next: names.next,
        site: u32::from(sites[2]),
    };
    emit(&mut out, &model.reset, &mut scoped, "        ");
    out.push_str("        emit_spike(i, inst);\n    }\n");
    let _ = writeln!(
        out,
        "    state[s0 + {c_end}u * n + i] = bitcast<f32>(select(select(0u, k.ref_steps, spk), refr - 1u, refr > 0u));",
        c_end = s + c
    );
    let mut finite = Vec::new();
    for k in 0..s {
        let _ = writeln!(out, "    state[s0 + {k}u * n + i] = sv{k};");
        finite.push(format!("is_finite(sv{k})"));
    }
    if !finite.is_empty() {
        let _ = writeln!(
            out,
            "    if (!({})) {{\n        flag_nonfinite(inst);\n    }}",
            finite.join(" && ")
        );
    }
    out.push_str("}\n");
    out
}

/// One phase's assignments: temporaries as `let`, state variables assigned.
fn emit(out: &mut String, phase: &Phase, names: &mut Names, indent: &str) {
    for Assign { target, expr } in &phase.assigns {
        let value = expr_wgsl(expr, names);
        match names.map.get(target) {
            Some(v) if v.starts_with("sv") => {
                let _ = writeln!(out, "{indent}{v} = {value};");
            }
            _ => {
                let id = format!("r{}", names.next);
                names.next += 1;
                let _ = writeln!(out, "{indent}let {id} = {value};");
                names.map.insert(target.clone(), id);
            }
        }
    }
}

fn num(v: f64) -> String {
    format!("bitcast<f32>({:#010x}u)", (v as f32).to_bits())
}

fn truth(cond: String) -> String {
    format!("select(0.0f, 1.0f, {cond})")
}

/// The expression in WGSL; operands are written in the order the CPU
/// compiler visits them, so draws get the same sites.
fn expr_wgsl(e: &Expr, names: &mut Names) -> String {
    match e {
        Expr::Num(v, _) => num(*v),
        Expr::Var(n, _) => names.get(n),
        Expr::Unary(UnOp::Neg, a, _) => format!("(-{})", expr_wgsl(a, names)),
        Expr::Unary(UnOp::Not, a, _) => truth(format!("{} == 0.0f", expr_wgsl(a, names))),
        Expr::Binary(op, a, b, _) => {
            let (a, b) = (expr_wgsl(a, names), expr_wgsl(b, names));
            match op {
                BinOp::Add => format!("({a} + {b})"),
                BinOp::Sub => format!("({a} - {b})"),
                BinOp::Mul => format!("({a} * {b})"),
                BinOp::Div => format!("m_div({a}, {b})"),
                BinOp::Lt => truth(format!("{a} < {b}")),
                BinOp::Le => truth(format!("{a} <= {b}")),
                BinOp::Gt => truth(format!("{a} > {b}")),
                BinOp::Ge => truth(format!("{a} >= {b}")),
                BinOp::Eq => truth(format!("{a} == {b}")),
                BinOp::Ne => truth(format!("{a} != {b}")),
                BinOp::And => truth(format!("({a} != 0.0f) && ({b} != 0.0f)")),
                BinOp::Or => truth(format!("({a} != 0.0f) || ({b} != 0.0f)")),
            }
        }
        Expr::Call(f @ (Func::Uniform | Func::Normal), _, _) => {
            let site = names.site;
            names.site += 1;
            let kind = if *f == Func::Normal {
                "normal"
            } else {
                "uniform"
            };
            format!("draw_{kind}(draw_word(inst, {site}u, i))")
        }
        Expr::Call(f, args, _) => {
            let args: Vec<String> = args.iter().map(|a| expr_wgsl(a, names)).collect();
            let name = match f {
                Func::Exp => "m_exp",
                Func::Log => "m_log",
                Func::Sqrt => "m_sqrt",
                Func::Pow => "m_pow",
                Func::Abs => "m_abs",
                Func::Min => "m_min",
                Func::Max => "m_max",
                Func::Clip => "m_clip",
                Func::Tanh => "m_tanh",
                Func::Sin => "m_sin",
                Func::Cos => "m_cos",
                Func::Floor => "m_floor",
                Func::Uniform | Func::Normal => unreachable!("drawn above"),
            };
            format!("{name}({})", args.join(", "))
        }
        Expr::If(c, a, b, _) => {
            let (c, a, b) = (
                expr_wgsl(c, names),
                expr_wgsl(a, names),
                expr_wgsl(b, names),
            );
            format!("select({b}, {a}, {c} != 0.0f)")
        }
    }
}

/// Where a user rule's arrays lie on the device (entries of the plasticity
/// buffers; see `src/backend/gpu/plasticity.rs`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SynapseLayout {
    /// Global id of presynaptic neuron 0 and the presynaptic size.
    pub pre_gid0: u32,
    /// Presynaptic neurons.
    pub n_pre: u32,
    /// Global id of postsynaptic neuron 0.
    pub post_gid0: u32,
    /// Postsynaptic neurons.
    pub n_post: u32,
    /// Synapses.
    pub n_syn: u32,
    /// First weight in an instance's weight block.
    pub w_at: u32,
    /// In an instance's trace block: presynaptic variables (variable-major),
    /// postsynaptic ones, further synapse variables, the errors, the modulator.
    pub r_at: u32,
    /// Postsynaptic variables.
    pub o_at: u32,
    /// Further synapse variables.
    pub e_at: u32,
    /// Errors per postsynaptic neuron.
    pub err_at: u32,
    /// The modulator.
    pub m_at: u32,
    /// First synapse in propagate's `targets`.
    pub syn_at: u32,
    /// In `idx`: row pointers, column pointers, incoming entries (synapse then
    /// presynaptic neuron), the columns as f32 bits, the presynaptic neuron of
    /// each synapse (clock-driven rules only).
    pub row_at: u32,
    /// Column pointers.
    pub col_at: u32,
    /// Incoming entries.
    pub ent_at: u32,
    /// The columns.
    pub par_at: u32,
    /// Presynaptic neuron of each synapse.
    pub src_at: u32,
}

impl SynapseLayout {
    /// The layout of a projection of `model` that is the network's only
    /// plastic one (what `astroglia check --emit wgsl` shows).
    pub fn alone(model: &CompiledSynapse, n_pre: u32, n_post: u32, n_syn: u32) -> Self {
        use super::synapse::Side;
        let nv = |s| model.vars(s).len() as u32;
        let o_at = nv(Side::Pre) * n_pre;
        let e_at = o_at + nv(Side::Post) * n_post;
        let err_at = e_at + (nv(Side::Synapse) - 1) * n_syn;
        let col_at = n_pre + 1;
        let ent_at = col_at + n_post + 1;
        let par_at = ent_at + 2 * n_syn;
        SynapseLayout {
            n_pre,
            n_post,
            n_syn,
            o_at,
            e_at,
            err_at,
            m_at: err_at + n_post,
            col_at,
            ent_at,
            par_at,
            src_at: par_at + model.columns() as u32,
            ..Default::default()
        }
    }
}

/// The shader of a user rule on one projection: entry points `advance` (one
/// invocation per presynaptic, postsynaptic neuron and, for clock-driven
/// rules, synapse), `on_pre`, `on_post` (a workgroup per spike striding its row
/// or column, as plasticity.wgsl) and `bump` (the neuron statements); the
/// bindings of plasticity.wgsl.
pub fn synapse_shader(model: &CompiledSynapse, at: &SynapseLayout, dt: f32) -> String {
    use super::synapse::Side;
    let mut out = String::new();
    out.push_str(wgsl!("lib/step.wgsl", "lib/plastic.wgsl"));
    out.push_str(super::math::MATH_WGSL);
    let _ = write!(
        out,
        "
// Generated from the user rule '{name}' (src/equations/wgsl.rs).
@group(0) @binding(0) var<uniform> st: Step;
@group(1) @binding(0) var<uniform> pl: Plastic;
@group(1) @binding(1) var<storage, read> ctl: array<u32>;
@group(1) @binding(2) var<storage, read> rec: array<vec2<u32>>;
@group(1) @binding(4) var<storage, read> idx: array<u32>;
@group(1) @binding(5) var<storage, read> targets: array<u32>;
@group(1) @binding(6) var<storage, read_write> weights: array<f32>;
@group(1) @binding(7) var<storage, read_write> traces: array<f32>;

const WG: u32 = 64u;

// The spike of workgroup `wid`: (instance, global id), or x = NONE past the
// step's spikes (plasticity.wgsl `spike`).
fn spike(wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {{
    let s = ctl[2] + wid.x + wid.y * nwg.x;
    if (s >= ctl[1]) {{
        return vec2<u32>(NONE, 0u);
    }}
    let tagged = rec[s].y;
    let inst = tagged / st.n_total;
    return vec2<u32>(inst, tagged - inst * st.n_total);
}}
",
        name = model.name,
    );
    let n_cols = model.columns();
    let np = model.vars(Side::Pre).len();
    let nq = model.vars(Side::Post).len();
    let ns = model.vars(Side::Synapse).len();
    // The names every phase reads besides the variables.
    let base = |site: u32| {
        let mut map = HashMap::new();
        for (k, p) in model.parameters.iter().enumerate() {
            map.insert(p.clone(), format!("c{k}"));
        }
        for k in 0..model.lifted.len() {
            map.insert(format!("_h{k}"), format!("c{}", model.parameters.len() + k));
        }
        for n in ["t", "dt", "modulator", "error"] {
            map.insert(n.to_string(), n.to_string());
        }
        Names { map, next: 0, site }
    };
    let prelude = |out: &mut String, indent: &str| {
        let _ = writeln!(out, "{indent}let tb = inst * pl.t_stride;");
        let _ = writeln!(out, "{indent}let wb = inst * pl.w_stride;");
        let _ = writeln!(
            out,
            "{indent}let dt = bitcast<f32>({:#010x}u);",
            dt.to_bits()
        );
        let _ = writeln!(out, "{indent}let t = f32(st.step) * dt;");
        let _ = writeln!(out, "{indent}let modulator = traces[tb + {}u];", at.m_at);
        for k in 0..n_cols {
            let _ = writeln!(
                out,
                "{indent}let c{k} = bitcast<f32>(idx[{}u]);",
                at.par_at as usize + k
            );
        }
    };
    // Loads of each side's variables: (own: `var sv`, other: `let`).
    let load = |out: &mut String, names: &mut Names, side: Side, own: bool, indent: &str| {
        let (vars, prefix) = match side {
            Side::Pre => (model.vars(Side::Pre), "p"),
            Side::Post => (model.vars(Side::Post), "q"),
            Side::Synapse => (model.vars(Side::Synapse), "s"),
        };
        for (k, v) in vars.iter().enumerate() {
            let addr = match side {
                Side::Pre => format!("traces[tb + {}u + j]", at.r_at + k as u32 * at.n_pre),
                Side::Post => format!("traces[tb + {}u + i]", at.o_at + k as u32 * at.n_post),
                Side::Synapse if k == 0 => format!("weights[wb + {}u + s]", at.w_at),
                Side::Synapse => {
                    format!("traces[tb + {}u + s]", at.e_at + (k as u32 - 1) * at.n_syn)
                }
            };
            let id = if own {
                format!("sv{prefix}{k}")
            } else {
                format!("{prefix}v{k}")
            };
            let kw = if own { "var" } else { "let" };
            let _ = writeln!(out, "{indent}{kw} {id} = {addr};");
            names.map.insert(v.clone(), id.clone());
            // `emit` assigns names starting with `sv`; the rest are lets.
        }
    };
    let store = |out: &mut String, side: Side, indent: &str| {
        let n = match side {
            Side::Pre => np,
            Side::Post => nq,
            Side::Synapse => ns,
        };
        for k in 0..n {
            let (addr, id) = match side {
                Side::Pre => (
                    format!("traces[tb + {}u + j]", at.r_at + k as u32 * at.n_pre),
                    format!("svp{k}"),
                ),
                Side::Post => (
                    format!("traces[tb + {}u + i]", at.o_at + k as u32 * at.n_post),
                    format!("svq{k}"),
                ),
                Side::Synapse if k == 0 => {
                    // f32::clamp written out, as plastic.wgsl `apply`.
                    let _ = writeln!(
                        out,
                        "{indent}if (svs0 < {lo}) {{ svs0 = {lo}; }}\n{indent}if (svs0 > {hi}) {{ svs0 = {hi}; }}",
                        lo = num(f64::from(model.w_min)),
                        hi = num(f64::from(model.w_max)),
                    );
                    (
                        format!("weights[wb + {}u + s]", at.w_at),
                        "svs0".to_string(),
                    )
                }
                Side::Synapse => (
                    format!("traces[tb + {}u + s]", at.e_at + (k as u32 - 1) * at.n_syn),
                    format!("svs{k}"),
                ),
            };
            let _ = writeln!(out, "{indent}{addr} = {id};");
        }
    };
    let error_at = |var: &str| format!("traces[tb + {}u + {var}]", at.err_at);
    // advance
    let _ = write!(
        out,
        "
@compute @workgroup_size(64)
fn advance(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {{
    let k = g.x + g.y * nwg.x * WG;
    let inst = g.z;
"
    );
    prelude(&mut out, "    ");
    let (n_pre, n_post) = (at.n_pre, at.n_post);
    if !model.advance[0].assigns.is_empty() {
        let _ = writeln!(out, "    if (k < {n_pre}u) {{\n        let j = k;");
        let mut names = base(0);
        load(&mut out, &mut names, Side::Pre, true, "        ");
        emit(&mut out, &model.advance[0], &mut names, "        ");
        store(&mut out, Side::Pre, "        ");
        out.push_str("        return;\n    }\n");
    }
    if !model.advance[1].assigns.is_empty() {
        let _ = writeln!(
            out,
            "    if (k >= {n_pre}u && k < {}u) {{\n        let i = k - {n_pre}u;\n        let error = {};",
            n_pre + n_post,
            error_at("i")
        );
        let mut names = base(0);
        load(&mut out, &mut names, Side::Post, true, "        ");
        emit(&mut out, &model.advance[1], &mut names, "        ");
        store(&mut out, Side::Post, "        ");
        out.push_str("        return;\n    }\n");
    }
    if model.clock_driven() {
        let _ = writeln!(
            out,
            "    if (k >= {}u && k < {}u) {{\n        let s = k - {}u;\n        let j = idx[{}u + s];\n        let i = targets[{}u + s];\n        let error = {};",
            n_pre + n_post,
            n_pre + n_post + at.n_syn,
            n_pre + n_post,
            at.src_at,
            at.syn_at,
            error_at("i")
        );
        let mut names = base(0);
        load(&mut out, &mut names, Side::Pre, false, "        ");
        load(&mut out, &mut names, Side::Post, false, "        ");
        load(&mut out, &mut names, Side::Synapse, true, "        ");
        emit(&mut out, &model.advance[2], &mut names, "        ");
        store(&mut out, Side::Synapse, "        ");
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    // on_pre / on_post
    for (entry, phase, pre) in [
        ("on_pre", &model.on_pre_synapse, true),
        ("on_post", &model.on_post_synapse, false),
    ] {
        let _ = write!(
            out,
            "
@compute @workgroup_size(64)
fn {entry}(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {{
    let sp = spike(wid, nwg);
    if (sp.x == NONE) {{
        return;
    }}
"
        );
        if phase.assigns.is_empty() {
            out.push_str("}\n");
            continue;
        }
        let (gid0, n) = if pre {
            (at.pre_gid0, at.n_pre)
        } else {
            (at.post_gid0, at.n_post)
        };
        let _ = writeln!(
            out,
            "    if (sp.y < {gid0}u || sp.y - {gid0}u >= {n}u) {{\n        return;\n    }}\n    let inst = sp.x;"
        );
        prelude(&mut out, "    ");
        if pre {
            let _ = writeln!(
                out,
                "    let j = sp.y - {gid0}u;\n    let a = idx[{r}u + j];\n    let b = idx[{r}u + j + 1u];\n    for (var s = a + lid; s < b; s += WG) {{\n        let i = targets[{sa}u + s];",
                r = at.row_at,
                sa = at.syn_at
            );
        } else {
            let _ = writeln!(
                out,
                "    let i = sp.y - {gid0}u;\n    let a = idx[{c}u + i];\n    let b = idx[{c}u + i + 1u];\n    for (var e = a + lid; e < b; e += WG) {{\n        let s = idx[{en}u + e];\n        let j = idx[{en}u + {ns}u + e];",
                c = at.col_at,
                en = at.ent_at,
                ns = at.n_syn
            );
        }
        let _ = writeln!(out, "        let error = {};", error_at("i"));
        let mut names = base(0);
        load(&mut out, &mut names, Side::Pre, false, "        ");
        load(&mut out, &mut names, Side::Post, false, "        ");
        load(&mut out, &mut names, Side::Synapse, true, "        ");
        emit(&mut out, phase, &mut names, "        ");
        store(&mut out, Side::Synapse, "        ");
        out.push_str("    }\n}\n");
    }
    // bump
    let _ = write!(
        out,
        "
@compute @workgroup_size(64)
fn bump(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {{
    let sp = spike(wid, nwg);
    if (sp.x == NONE || lid != 0u) {{
        return;
    }}
    let inst = sp.x;
"
    );
    prelude(&mut out, "    ");
    if !model.on_pre_neuron.assigns.is_empty() {
        let _ = writeln!(
            out,
            "    if (sp.y >= {g}u && sp.y - {g}u < {n}u) {{\n        let j = sp.y - {g}u;",
            g = at.pre_gid0,
            n = at.n_pre
        );
        let mut names = base(0);
        load(&mut out, &mut names, Side::Pre, true, "        ");
        emit(&mut out, &model.on_pre_neuron, &mut names, "        ");
        store(&mut out, Side::Pre, "        ");
        out.push_str("    }\n");
    }
    if !model.on_post_neuron.assigns.is_empty() {
        let _ = writeln!(
            out,
            "    if (sp.y >= {g}u && sp.y - {g}u < {n}u) {{\n        let i = sp.y - {g}u;\n        let error = {};",
            error_at("i"),
            g = at.post_gid0,
            n = at.n_post
        );
        let mut names = base(0);
        load(&mut out, &mut names, Side::Post, true, "        ");
        emit(&mut out, &model.on_post_neuron, &mut names, "        ");
        store(&mut out, Side::Post, "        ");
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}
