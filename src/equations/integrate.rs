//! Numerical methods as rewrites of the equations into one step's straight-line
//! assignments.
//!
//! A method turns `dx/dt = f(x, t)` into a list of [`Assign`]s (stage values
//! `k1_x`, intermediate states, then the new state) that both backends run in
//! the same order: the CPU interpreter ([`super::eval`]) and the WGSL generator
//! see one program, so the float operations and their order are the same.
//! Definitions (`name = expr` lines) are evaluated once per stage, from that
//! stage's state.
use super::ast::{BinOp, Equation, Expr, Func, Span, UnOp};
use std::collections::{BTreeMap, HashMap};

/// A numerical method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Forward Euler: `x += dt·f(x, t)` (first order).
    Euler,
    /// The midpoint method (second order), Brian2's `rk2`.
    Rk2,
    /// The classical Runge–Kutta method (fourth order).
    Rk4,
    /// Brian2's exponential Euler: each `f` written as `A + B·x` (A and B free
    /// of `x`, from the state at the start of the step) and solved exactly over
    /// the step, `x ← -A/B + (x + A/B)·exp(B·dt)`; `x + A·dt` where `B` is 0.
    ExponentialEuler,
}

impl Method {
    /// Every method with its model-file name.
    pub const ALL: [(Method, &'static str); 4] = [
        (Method::Euler, "euler"),
        (Method::Rk2, "rk2"),
        (Method::Rk4, "rk4"),
        (Method::ExponentialEuler, "exponential_euler"),
    ];

    /// The method called `name` in a model file.
    pub fn by_name(name: &str) -> Option<Method> {
        Self::ALL.iter().find(|m| m.1 == name).map(|m| m.0)
    }

    /// Its model-file name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|m| m.0 == self).map_or("?", |m| m.1)
    }
}

/// One assignment of a step: `target = expr`. Targets are state variables
/// (written at the end of the step) or temporaries local to the step.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    /// The name assigned.
    pub target: String,
    /// Its value.
    pub expr: Expr,
}

/// Why equations cannot be integrated with a method.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodError {
    /// The derivative's variable.
    pub var: String,
    /// Where the derivative's expression is.
    pub span: Span,
    /// What is wrong.
    pub message: String,
}

/// The step of `eqs` with `method`: assignments that read the state, `t` and
/// `dt` and end by assigning every variable that has a derivative. Names of
/// temporaries start with `_` (not allowed in model files' names).
///
/// Definitions must be free of cycles (checked before, `check`).
#[cfg(test)]
pub fn step(eqs: &[Equation], method: Method) -> Result<Vec<Assign>, MethodError> {
    step_folding(eqs, method, &|_| false)
}

/// [`step`], where Euler folds `dt` into a step-invariant divisor or factor of
/// a right-hand side (`invariant`: the expression reads only parameters and
/// `dt`): `dv/dt = N / c` steps as `v + (dt / c)·N` rather than
/// `v + dt·(N / c)`. The invariant product is computed once, before the run
/// (in f64, see `neuron`), which saves an operation per neuron and step and
/// rounds once where the plain form rounds twice; it is also how hand-written
/// kernels write Euler (`dt_over_c`), so a user model can match one bit for bit.
pub fn step_folding(
    eqs: &[Equation],
    method: Method,
    invariant: &dyn Fn(&Expr) -> bool,
) -> Result<Vec<Assign>, MethodError> {
    let defs: Vec<(&str, &Expr)> = eqs
        .iter()
        .filter_map(|e| match e {
            Equation::Define { name, expr, .. } => Some((name.as_str(), expr)),
            Equation::Derivative { .. } => None,
        })
        .collect();
    let ders: Vec<(&str, &Expr)> = eqs
        .iter()
        .filter_map(|e| match e {
            Equation::Derivative { var, expr, .. } => Some((var.as_str(), expr)),
            Equation::Define { .. } => None,
        })
        .collect();
    let defs = order_definitions(&defs);
    let mut out = Vec::new();
    let vars: Vec<&str> = ders.iter().map(|d| d.0).collect();
    match method {
        Method::Euler => {
            // Per variable: the right-hand side left to evaluate and the
            // factor that multiplies it.
            let mut factor: HashMap<&str, Expr> = HashMap::new();
            let folded: Vec<(&str, &Expr)> = ders
                .iter()
                .map(|&(x, f)| match f {
                    Expr::Binary(BinOp::Div, n, d, _) if invariant(d) => {
                        factor.insert(x, div(var("dt"), (**d).clone()));
                        (x, &**n)
                    }
                    Expr::Binary(BinOp::Mul, p, n, _) if invariant(p) => {
                        factor.insert(x, mul(var("dt"), (**p).clone()));
                        (x, &**n)
                    }
                    _ => (x, f),
                })
                .collect();
            let k = stage(&mut out, &defs, &folded, &identity(&vars), None, "1");
            finish(&mut out, &vars, |x| {
                let h = factor.get(x).cloned().unwrap_or_else(|| var("dt"));
                add(var(x), mul(h, var(&k[x])))
            });
        }
        Method::Rk2 => {
            let k1 = stage(&mut out, &defs, &ders, &identity(&vars), None, "1");
            let mid = shifted(&mut out, &vars, &k1, half_dt(), "2");
            let k2 = stage(&mut out, &defs, &ders, &mid, Some(half_dt()), "2");
            finish(&mut out, &vars, |x| {
                add(var(x), mul(var("dt"), var(&k2[x])))
            });
        }
        Method::Rk4 => {
            let k1 = stage(&mut out, &defs, &ders, &identity(&vars), None, "1");
            let s2 = shifted(&mut out, &vars, &k1, half_dt(), "2");
            let k2 = stage(&mut out, &defs, &ders, &s2, Some(half_dt()), "2");
            let s3 = shifted(&mut out, &vars, &k2, half_dt(), "3");
            let k3 = stage(&mut out, &defs, &ders, &s3, Some(half_dt()), "3");
            let s4 = shifted(&mut out, &vars, &k3, var("dt"), "4");
            let k4 = stage(&mut out, &defs, &ders, &s4, Some(var("dt")), "4");
            // x + dt/6·(k1 + 2·k2 + 2·k3 + k4)
            finish(&mut out, &vars, |x| {
                let sum = add(
                    add(
                        add(var(&k1[x]), mul(num(2.0), var(&k2[x]))),
                        mul(num(2.0), var(&k3[x])),
                    ),
                    var(&k4[x]),
                );
                add(var(x), mul(div(var("dt"), num(6.0)), sum))
            });
        }
        Method::ExponentialEuler => exponential_euler(&mut out, &defs, &ders)?,
    }
    Ok(out)
}

/// Definitions in an order where each comes after those it reads (file order
/// where that works; cycles were refused by the checks).
fn order_definitions<'a>(defs: &[(&'a str, &'a Expr)]) -> Vec<(&'a str, &'a Expr)> {
    let index: HashMap<&str, usize> = defs.iter().enumerate().map(|(i, d)| (d.0, i)).collect();
    let mut done = vec![false; defs.len()];
    let mut order = Vec::with_capacity(defs.len());
    fn visit<'a>(
        i: usize,
        defs: &[(&'a str, &'a Expr)],
        index: &HashMap<&str, usize>,
        done: &mut [bool],
        order: &mut Vec<(&'a str, &'a Expr)>,
        depth: usize,
    ) {
        if done[i] || depth > defs.len() {
            return;
        }
        done[i] = true;
        let mut names = Vec::new();
        names_in(defs[i].1, &mut names);
        for n in names {
            if let Some(&j) = index.get(n.as_str()) {
                visit(j, defs, index, done, order, depth + 1);
            }
        }
        order.push(defs[i]);
    }
    for i in 0..defs.len() {
        visit(i, defs, &index, &mut done, &mut order, 0);
    }
    order
}

/// Every name an expression reads.
pub fn names_in(e: &Expr, out: &mut Vec<String>) {
    e.walk(&mut |e| {
        if let Expr::Var(n, _) = e {
            out.push(n.clone());
        }
    });
}

/// Renames the variables of `e` by `map` (names not in it stay).
pub fn rename(e: &Expr, map: &HashMap<String, Expr>) -> Expr {
    match e {
        Expr::Num(..) => e.clone(),
        Expr::Var(n, _) => map.get(n).cloned().unwrap_or_else(|| e.clone()),
        Expr::Unary(op, a, s) => Expr::Unary(*op, Box::new(rename(a, map)), *s),
        Expr::Binary(op, a, b, s) => {
            Expr::Binary(*op, Box::new(rename(a, map)), Box::new(rename(b, map)), *s)
        }
        Expr::Call(f, args, s) => Expr::Call(*f, args.iter().map(|a| rename(a, map)).collect(), *s),
        Expr::If(c, a, b, s) => Expr::If(
            Box::new(rename(c, map)),
            Box::new(rename(a, map)),
            Box::new(rename(b, map)),
            *s,
        ),
    }
}

fn identity(vars: &[&str]) -> HashMap<String, Expr> {
    vars.iter().map(|v| (v.to_string(), var(v))).collect()
}

fn half_dt() -> Expr {
    mul(num(0.5), var("dt"))
}

/// One evaluation of every derivative at the state `state` (names → the
/// expressions holding that stage's values) and time `t + shift`; returns the
/// names of the stage values `_k<tag>_<x>`.
fn stage(
    out: &mut Vec<Assign>,
    defs: &[(&str, &Expr)],
    ders: &[(&str, &Expr)],
    state: &HashMap<String, Expr>,
    shift: Option<Expr>,
    tag: &str,
) -> BTreeMap<String, String> {
    let mut map = state.clone();
    if let Some(shift) = shift {
        map.insert("t".into(), add(var("t"), shift));
    }
    for (name, expr) in defs {
        let temp = format!("_d{tag}_{name}");
        out.push(Assign {
            target: temp.clone(),
            expr: rename(expr, &map),
        });
        map.insert(name.to_string(), var(&temp));
    }
    let mut k = BTreeMap::new();
    for (x, expr) in ders {
        let temp = format!("_k{tag}_{x}");
        out.push(Assign {
            target: temp.clone(),
            expr: rename(expr, &map),
        });
        k.insert(x.to_string(), temp);
    }
    k
}

/// The intermediate state `x + h·k_x` as temporaries `_s<tag>_<x>`.
fn shifted(
    out: &mut Vec<Assign>,
    vars: &[&str],
    k: &BTreeMap<String, String>,
    h: Expr,
    tag: &str,
) -> HashMap<String, Expr> {
    vars.iter()
        .map(|x| {
            let temp = format!("_s{tag}_{x}");
            out.push(Assign {
                target: temp.clone(),
                expr: add(var(x), mul(h.clone(), var(&k[*x]))),
            });
            (x.to_string(), var(&temp))
        })
        .collect()
}

/// The new state: computed into temporaries first (every stage read the old
/// state), then assigned.
fn finish(out: &mut Vec<Assign>, vars: &[&str], new: impl Fn(&str) -> Expr) {
    for x in vars {
        out.push(Assign {
            target: format!("_new_{x}"),
            expr: new(x),
        });
    }
    for x in vars {
        out.push(Assign {
            target: x.to_string(),
            expr: var(&format!("_new_{x}")),
        });
    }
}

fn exponential_euler(
    out: &mut Vec<Assign>,
    defs: &[(&str, &Expr)],
    ders: &[(&str, &Expr)],
) -> Result<(), MethodError> {
    // Linearity is judged with definitions written out: `I = g*(v - e)` makes
    // `dv/dt = -I/c` linear in v.
    let mut inline: HashMap<String, Expr> = HashMap::new();
    for (name, expr) in defs {
        let e = rename(expr, &inline);
        inline.insert(name.to_string(), e);
    }
    let vars: Vec<&str> = ders.iter().map(|d| d.0).collect();
    for (x, expr) in ders {
        let f = rename(expr, &inline);
        let Some((a, b)) = split_linear(&f, x) else {
            return Err(MethodError {
                var: x.to_string(),
                span: expr.span(),
                message: format!(
                    "exponential_euler needs d{x}/dt linear in {x} (A + B*{x}, with A and B free of {x}); use rk4, rk2 or euler"
                ),
            });
        };
        let new = if is_zero(&b) {
            add(var(x), mul(var("dt"), a))
        } else {
            // -A/B + (x + A/B)·exp(B·dt)
            let ba = format!("_ba_{x}");
            out.push(Assign {
                target: ba.clone(),
                expr: div(a, b.clone()),
            });
            let growth = Expr::Call(Func::Exp, vec![mul(b, var("dt"))], Span::default());
            add(neg(var(&ba)), mul(add(var(x), var(&ba)), growth))
        };
        out.push(Assign {
            target: format!("_new_{x}"),
            expr: new,
        });
    }
    for x in &vars {
        out.push(Assign {
            target: x.to_string(),
            expr: var(&format!("_new_{x}")),
        });
    }
    Ok(())
}

/// `e` as `A + B·x` with `A`, `B` free of `x`, lightly simplified (0 and 1
/// folded away); `None` where `e` is not linear in `x`.
pub fn split_linear(e: &Expr, x: &str) -> Option<(Expr, Expr)> {
    if !mentions(e, x) {
        return Some((e.clone(), num(0.0)));
    }
    match e {
        Expr::Var(n, _) if n == x => Some((num(0.0), num(1.0))),
        Expr::Unary(UnOp::Neg, a, _) => {
            let (a, b) = split_linear(a, x)?;
            Some((neg(a), neg(b)))
        }
        Expr::Binary(op @ (BinOp::Add | BinOp::Sub), l, r, _) => {
            let (la, lb) = split_linear(l, x)?;
            let (ra, rb) = split_linear(r, x)?;
            let f = |p: Expr, q: Expr| match op {
                BinOp::Add => add(p, q),
                _ => sub(p, q),
            };
            Some((f(la, ra), f(lb, rb)))
        }
        Expr::Binary(BinOp::Mul, l, r, _) => {
            let (c, other) = if !mentions(l, x) {
                (l, r)
            } else if !mentions(r, x) {
                (r, l)
            } else {
                return None;
            };
            let (a, b) = split_linear(other, x)?;
            let c = (**c).clone();
            Some((mul(c.clone(), a), mul(c, b)))
        }
        Expr::Binary(BinOp::Div, l, r, _) if !mentions(r, x) => {
            let (a, b) = split_linear(l, x)?;
            Some((div(a, (**r).clone()), div(b, (**r).clone())))
        }
        _ => None,
    }
}

fn mentions(e: &Expr, x: &str) -> bool {
    let mut names = Vec::new();
    names_in(e, &mut names);
    names.iter().any(|n| n == x)
}

fn is_zero(e: &Expr) -> bool {
    matches!(e, Expr::Num(v, _) if *v == 0.0)
}

fn is_one(e: &Expr) -> bool {
    matches!(e, Expr::Num(v, _) if *v == 1.0)
}

fn num(v: f64) -> Expr {
    Expr::Num(v, Span::default())
}

fn var(n: &str) -> Expr {
    Expr::Var(n.to_string(), Span::default())
}

fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b), Span::default())
}

fn add(a: Expr, b: Expr) -> Expr {
    match (is_zero(&a), is_zero(&b)) {
        (true, _) => b,
        (_, true) => a,
        _ => bin(BinOp::Add, a, b),
    }
}

fn sub(a: Expr, b: Expr) -> Expr {
    match (is_zero(&a), is_zero(&b)) {
        (_, true) => a,
        (true, _) => neg(b),
        _ => bin(BinOp::Sub, a, b),
    }
}

fn mul(a: Expr, b: Expr) -> Expr {
    if is_zero(&a) || is_zero(&b) {
        num(0.0)
    } else if is_one(&a) {
        b
    } else if is_one(&b) {
        a
    } else {
        bin(BinOp::Mul, a, b)
    }
}

fn div(a: Expr, b: Expr) -> Expr {
    if is_zero(&a) {
        num(0.0)
    } else if is_one(&b) {
        a
    } else {
        bin(BinOp::Div, a, b)
    }
}

fn neg(a: Expr) -> Expr {
    match a {
        Expr::Num(v, s) => Expr::Num(-v, s),
        Expr::Unary(UnOp::Neg, inner, _) => *inner,
        a => Expr::Unary(UnOp::Neg, Box::new(a), Span::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equations::eval::{Input, Program, StepEnv};

    /// `dx/dt = -x/tau + t` (tau = 1): x(t) = t - 1 + (x0 + 1)·e^(-t).
    fn equation() -> Vec<Equation> {
        vec![Equation::Derivative {
            var: "x".into(),
            var_span: Span::default(),
            expr: add(neg(div(var("x"), var("tau"))), var("t")),
            unit: None,
            flags: Vec::new(),
        }]
    }

    fn solve(method: Method, dt: f32, t_end: f32) -> f32 {
        let prog = Program::compile(
            &step(&equation(), method).unwrap(),
            &[
                ("x".to_string(), Input::State(0)),
                ("tau".into(), Input::Param(0)),
            ]
            .into_iter()
            .collect(),
        )
        .unwrap();
        let mut x = [0.5f32];
        let tau = [1.0f32];
        let steps = (t_end / dt).round() as u64;
        for s in 0..steps {
            let env = StepEnv {
                t: s as f32 * dt,
                dt,
                step: s,
                rng: None,
            };
            prog.run(&mut [&mut x[..]], &[&tau[..]], 1, 0, &env);
        }
        x[0]
    }

    fn order(method: Method, dt: f32) -> f64 {
        let t_end = 2.0;
        let exact = t_end as f64 - 1.0 + 1.5 * (-(t_end as f64)).exp();
        let e1 = (solve(method, dt, t_end) as f64 - exact).abs();
        let e2 = (solve(method, dt / 2.0, t_end) as f64 - exact).abs();
        (e1 / e2).log2()
    }

    #[test]
    fn methods_converge_at_their_orders() {
        let euler = order(Method::Euler, 0.05);
        let rk2 = order(Method::Rk2, 0.05);
        let rk4 = order(Method::Rk4, 0.2);
        let exp_euler = order(Method::ExponentialEuler, 0.05);
        eprintln!(
            "orders: euler {euler:.3}, rk2 {rk2:.3}, rk4 {rk4:.3}, exponential_euler {exp_euler:.3}"
        );
        assert!((euler - 1.0).abs() < 0.1, "{euler}");
        assert!((rk2 - 2.0).abs() < 0.15, "{rk2}");
        assert!((rk4 - 4.0).abs() < 0.3, "{rk4}");
        assert!((exp_euler - 1.0).abs() < 0.1, "{exp_euler}");
    }

    #[test]
    fn exponential_euler_is_exact_for_constant_coefficients() {
        // dx/dt = (a - x)/tau with a = 2, tau = 3: x = a + (x0 - a)·e^(-t/tau).
        let eqs = vec![Equation::Derivative {
            var: "x".into(),
            var_span: Span::default(),
            expr: div(sub(num(2.0), var("x")), num(3.0)),
            unit: None,
            flags: Vec::new(),
        }];
        let prog = Program::compile(
            &step(&eqs, Method::ExponentialEuler).unwrap(),
            &[("x".to_string(), Input::State(0))].into_iter().collect(),
        )
        .unwrap();
        let mut x = [0.0f32];
        for s in 0..100 {
            let env = StepEnv {
                t: 0.0,
                dt: 0.5,
                step: s,
                rng: None,
            };
            prog.run(&mut [&mut x[..]], &[], 1, 0, &env);
        }
        let exact = 2.0 - 2.0 * (-50.0f64 / 3.0).exp();
        assert!(
            ((x[0] as f64 - exact) / exact).abs() < 1e-6,
            "{} vs {exact}",
            x[0]
        );
    }

    #[test]
    fn nonlinear_equations_are_refused_by_exponential_euler() {
        let eqs = vec![Equation::Derivative {
            var: "v".into(),
            var_span: Span::default(),
            expr: mul(var("v"), var("v")),
            unit: None,
            flags: Vec::new(),
        }];
        let e = step(&eqs, Method::ExponentialEuler).unwrap_err();
        assert!(e.message.contains("linear in v"), "{}", e.message);
    }

    #[test]
    fn definitions_are_evaluated_per_stage() {
        // I = g*(v - e); dv/dt = -I: v' = -g(v - e), linear, e = 1, g = 2.
        let eqs = vec![
            Equation::Define {
                name: "I".into(),
                name_span: Span::default(),
                expr: mul(var("g"), sub(var("v"), var("e"))),
                unit: None,
            },
            Equation::Derivative {
                var: "v".into(),
                var_span: Span::default(),
                expr: neg(var("I")),
                unit: None,
                flags: Vec::new(),
            },
        ];
        let names = [
            ("v".to_string(), Input::State(0)),
            ("g".into(), Input::Const(2.0)),
            ("e".into(), Input::Const(1.0)),
        ]
        .into_iter()
        .collect();
        for method in [Method::Rk4, Method::ExponentialEuler] {
            let prog = Program::compile(&step(&eqs, method).unwrap(), &names).unwrap();
            let mut v = [0.0f32];
            for s in 0..200 {
                let env = StepEnv {
                    t: 0.0,
                    dt: 0.01,
                    step: s,
                    rng: None,
                };
                prog.run(&mut [&mut v[..]], &[], 1, 0, &env);
            }
            let exact = 1.0 - (-4.0f64).exp();
            assert!((v[0] as f64 - exact).abs() < 1e-5, "{method:?}: {}", v[0]);
        }
    }
}
