//! Step-invariant subexpressions, computed once before the run.
//!
//! A subexpression that reads only parameters, numbers and `dt` has the same
//! value at every step: `exp(-dt / tau)`, `dt / c_m`, `g_l * delta_t`. The
//! compiler lifts each (the largest such subtrees) out of the step into a
//! per-neuron column evaluated in f64 when the population is built, rounded
//! once to f32. The step then does less work per neuron, and both backends read
//! the same column, so hoisting never costs CPU–GPU parity.
use super::ast::{Expr, Func, Span};
use super::integrate::Assign;
use std::collections::HashMap;

/// Whether `e` reads only names for which `invariant` holds, numbers and
/// built-in functions, and draws nothing.
pub fn is_invariant(e: &Expr, invariant: &dyn Fn(&str) -> bool) -> bool {
    let mut ok = true;
    e.walk(&mut |x| match x {
        Expr::Var(n, _) if !invariant(n) => ok = false,
        Expr::Call(Func::Uniform | Func::Normal, _, _) => ok = false,
        _ => {}
    });
    ok
}

/// Replaces the largest invariant subtrees of every assignment (other than
/// single names and numbers, which cost nothing) by names `_h<first>`,
/// `_h<first + 1>`, ...;
/// returns the lifted expressions in that order. Equal subtrees share a name.
pub fn hoist(assigns: &mut [Assign], invariant: &dyn Fn(&str) -> bool, first: usize) -> Vec<Expr> {
    let mut lifted: Vec<Expr> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for a in assigns.iter_mut() {
        a.expr = lift(&a.expr, invariant, first, &mut lifted, &mut seen);
    }
    lifted
}

/// [`hoist`] over several phases at once (one list of lifted columns for
/// all of them); returns the phases, rewritten, and the lifted expressions.
pub fn hoist_phases(
    phases: Vec<Vec<Assign>>,
    invariant: &dyn Fn(&str) -> bool,
    first: usize,
) -> (Vec<Vec<Assign>>, Vec<Expr>) {
    let lens: Vec<usize> = phases.iter().map(Vec::len).collect();
    let mut all: Vec<Assign> = phases.into_iter().flatten().collect();
    let lifted = hoist(&mut all, invariant, first);
    let mut parts = Vec::with_capacity(lens.len());
    let mut rest = all.into_iter();
    for l in lens {
        parts.push(rest.by_ref().take(l).collect());
    }
    (parts, lifted)
}

fn lift(
    e: &Expr,
    invariant: &dyn Fn(&str) -> bool,
    first: usize,
    lifted: &mut Vec<Expr>,
    seen: &mut HashMap<String, usize>,
) -> Expr {
    if !matches!(e, Expr::Num(..) | Expr::Var(..)) && is_invariant(e, invariant) {
        let key = key(e);
        let k = *seen.entry(key).or_insert_with(|| {
            lifted.push(e.clone());
            lifted.len() - 1
        });
        return Expr::Var(format!("_h{}", first + k), e.span());
    }
    let mut go = |x: &Expr| Box::new(lift(x, invariant, first, lifted, seen));
    match e {
        Expr::Num(..) | Expr::Var(..) => e.clone(),
        Expr::Unary(op, a, s) => Expr::Unary(*op, go(a), *s),
        Expr::Binary(op, a, b, s) => {
            let a = go(a);
            Expr::Binary(*op, a, go(b), *s)
        }
        Expr::Call(f, args, s) => Expr::Call(
            *f,
            args.iter()
                .map(|x| lift(x, invariant, first, lifted, seen))
                .collect(),
            *s,
        ),
        Expr::If(c, a, b, s) => {
            let c = go(c);
            let a = go(a);
            Expr::If(c, a, go(b), *s)
        }
    }
}

/// A text naming the expression's structure (spans left out).
fn key(e: &Expr) -> String {
    match e {
        Expr::Num(v, _) => format!("{:?}", v.to_bits()),
        Expr::Var(n, _) => n.clone(),
        Expr::Unary(op, a, _) => format!("({op:?} {})", key(a)),
        Expr::Binary(op, a, b, _) => format!("({op:?} {} {})", key(a), key(b)),
        Expr::Call(f, args, _) => {
            let args: Vec<String> = args.iter().map(key).collect();
            format!("({f:?} {})", args.join(" "))
        }
        Expr::If(c, a, b, _) => format!("(if {} {} {})", key(c), key(a), key(b)),
    }
}

/// A name at no place (for generated expressions).
pub(crate) fn name(n: &str) -> Expr {
    Expr::Var(n.to_string(), Span::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equations::linear::eval_f64;
    use crate::equations::parse_expr;

    #[test]
    fn the_largest_invariant_subtrees_are_lifted_once() {
        let params = |n: &str| matches!(n, "tau" | "c" | "dt" | "g");
        let mut a = vec![
            Assign {
                target: "x".into(),
                expr: parse_expr("v * exp(-dt / tau) + g * c * v").unwrap(),
            },
            Assign {
                target: "y".into(),
                expr: parse_expr("exp(-dt / tau) - v").unwrap(),
            },
        ];
        let lifted = hoist(&mut a, &params, 0);
        assert_eq!(lifted.len(), 2);
        assert_eq!(key(&a[0].expr), "(Add (Mul v _h0) (Mul _h1 v))");
        assert_eq!(key(&a[1].expr), "(Sub _h0 v)");
        let v = |n: &str| match n {
            "tau" => Some(5.0),
            "dt" => Some(0.1),
            _ => None,
        };
        assert_eq!(eval_f64(&lifted[0], &v), Some((-0.1f64 / 5.0).exp()));
        assert_eq!(eval_f64(&lifted[1], &v), None, "g has no value");
    }

    #[test]
    fn draws_are_never_invariant() {
        let e = parse_expr("normal() * tau").unwrap();
        assert!(!is_invariant(&e, &|_| true));
        assert_eq!(eval_f64(&e, &|_| Some(1.0)), None);
    }
}
