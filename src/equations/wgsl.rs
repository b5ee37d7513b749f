//! WGSL generated from a compiled user model: the same assignments the CPU
//! interpreter runs ([`super::neuron::Phase`]), as the same f32 operations.
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
