//! Semantic checks of parsed equations and statements against the names a
//! model declares: unknown names, derivatives of non-state variables,
//! assignments to read-only names, literal division by zero and recursive
//! definitions.

use super::ast::{AssignOp, BinOp, Equation, Expr, Span, Statement, UnOp};
use super::parse::{EqError, closest};
use std::collections::HashMap;

/// The names an equation string may use besides its own definitions. The
/// built-ins `t` and `dt` (ms) are always readable and never assignable.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// Fixed per population (or per neuron); readable, not assignable.
    pub parameters: &'a [&'a str],
    /// State variables: may have a derivative and may be assigned.
    pub state: &'a [&'a str],
    /// Other read-only names (e.g. a synapse's weight in a receptor string).
    pub constants: &'a [&'a str],
}

/// The built-in names: time and the time step, both in ms.
pub const BUILTINS: [&str; 2] = ["t", "dt"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    State,
    Parameter,
    Constant,
    Builtin,
    Definition,
}

impl Kind {
    /// "a parameter", "a state variable", ...
    fn article(self) -> &'static str {
        match self {
            Kind::State => "a state variable",
            Kind::Parameter => "a parameter",
            Kind::Constant => "a constant",
            Kind::Builtin => "built in",
            Kind::Definition => "a definition",
        }
    }
}

impl Scope<'_> {
    fn kind(&self, name: &str, defs: &[&str]) -> Option<Kind> {
        if self.state.contains(&name) {
            Some(Kind::State)
        } else if self.parameters.contains(&name) {
            Some(Kind::Parameter)
        } else if self.constants.contains(&name) {
            Some(Kind::Constant)
        } else if BUILTINS.contains(&name) {
            Some(Kind::Builtin)
        } else if defs.contains(&name) {
            Some(Kind::Definition)
        } else {
            None
        }
    }

    /// Every readable name, state variables first (the likeliest typo targets).
    fn readable<'s>(&'s self, defs: &'s [&'s str]) -> impl Iterator<Item = &'s str> + 's {
        self.state
            .iter()
            .chain(self.parameters)
            .chain(defs)
            .chain(self.constants)
            .chain(BUILTINS.iter())
            .copied()
    }
}

fn suggest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> String {
    match closest(name, candidates) {
        Some(c) => format!("; did you mean '{c}'?"),
        None => String::new(),
    }
}

/// Checks an `equations` block: every derivative is of a state variable and
/// appears once, definitions do not shadow other names or appear twice,
/// every name used is known, no division by a literal zero, and definitions
/// are not recursive. A state variable without a derivative is fine (it
/// changes only through reset and receptor statements). Errors are in order
/// of position.
pub fn check_equations(eqs: &[Equation], scope: &Scope) -> Vec<EqError> {
    let defs: Vec<&str> = eqs
        .iter()
        .filter_map(|e| match e {
            Equation::Define { name, .. } => Some(name.as_str()),
            Equation::Derivative { .. } => None,
        })
        .collect();
    let mut errors = Vec::new();
    // The first line of each derivative and definition, for duplicates.
    let mut derived: HashMap<&str, u32> = HashMap::new();
    let mut defined: HashMap<&str, u32> = HashMap::new();
    for eq in eqs {
        match eq {
            Equation::Derivative {
                var,
                var_span,
                expr,
                ..
            } => {
                match scope.kind(var, &defs) {
                    Some(Kind::State) => {}
                    Some(kind) => errors.push(EqError::new(
                        *var_span,
                        format!(
                            "'{var}' is {}, not a state variable: only state variables \
                             have a derivative 'd{var}/dt'",
                            kind.article()
                        ),
                    )),
                    None => errors.push(EqError::new(
                        *var_span,
                        format!(
                            "'d{var}/dt' is the derivative of an unknown state variable \
                             '{var}'{}",
                            suggest(var, scope.state.iter().copied())
                        ),
                    )),
                }
                if let Some(first) = derived.get(var.as_str()) {
                    errors.push(EqError::new(
                        *var_span,
                        format!("a second derivative of '{var}' (the first is on line {first})"),
                    ));
                } else {
                    derived.insert(var, var_span.line);
                }
                errors.extend(check_expr(expr, scope, &defs));
            }
            Equation::Define {
                name,
                name_span,
                expr,
                ..
            } => {
                if let Some(kind) = scope.kind(name, &[]) {
                    errors.push(EqError::new(
                        *name_span,
                        format!(
                            "cannot define '{name}': it is {} (choose another name)",
                            kind.article()
                        ),
                    ));
                }
                if let Some(first) = defined.get(name.as_str()) {
                    errors.push(EqError::new(
                        *name_span,
                        format!("'{name}' is defined twice (first on line {first})"),
                    ));
                } else {
                    defined.insert(name, name_span.line);
                }
                errors.extend(check_expr(expr, scope, &defs));
            }
        }
    }
    errors.extend(order_definitions(eqs).1);
    errors.sort_by_key(|e| (e.span.line, e.span.col));
    errors
}

/// Checks an expression: every name is a parameter, state variable,
/// constant, built-in or one of `defs`, and nothing is divided by a literal
/// zero.
pub fn check_expr(e: &Expr, scope: &Scope, defs: &[&str]) -> Vec<EqError> {
    let mut errors = Vec::new();
    e.walk(&mut |e| match e {
        Expr::Var(name, span) if scope.kind(name, defs).is_none() => {
            errors.push(EqError::new(
                *span,
                format!(
                    "unknown identifier '{name}'{}",
                    suggest(name, scope.readable(defs))
                ),
            ));
        }
        Expr::Binary(BinOp::Div, _, rhs, _) if is_literal_zero(rhs) => {
            errors.push(division_by_zero(rhs.span()));
        }
        _ => {}
    });
    errors
}

/// Checks statements: each target is a state variable (parameters,
/// constants, definitions, `t` and `dt` cannot be assigned), its value
/// passes [`check_expr`], and `/=` is not by a literal zero. `defs` are the
/// model's definitions, readable here.
pub fn check_statements(stmts: &[Statement], scope: &Scope, defs: &[&str]) -> Vec<EqError> {
    let mut errors = Vec::new();
    for s in stmts {
        let name = &s.target;
        match scope.kind(name, defs) {
            Some(Kind::State) => {}
            Some(kind) => errors.push(EqError::new(
                s.target_span,
                format!(
                    "cannot assign to '{name}': it is {}; only state variables can be assigned",
                    kind.article()
                ),
            )),
            None => errors.push(EqError::new(
                s.target_span,
                format!(
                    "cannot assign to unknown state variable '{name}'{}",
                    suggest(name, scope.state.iter().copied())
                ),
            )),
        }
        if s.op == AssignOp::Div && is_literal_zero(&s.expr) {
            errors.push(division_by_zero(s.expr.span()));
        }
        errors.extend(check_expr(&s.expr, scope, defs));
    }
    errors
}

/// The indices into `eqs` of its definitions (`name = expr`), ordered so that
/// each comes after the definitions it uses (otherwise in line order). The
/// error names the first cycle, e.g. `a -> b -> a`.
pub fn definition_order(eqs: &[Equation]) -> Result<Vec<usize>, EqError> {
    let (order, cycles) = order_definitions(eqs);
    match cycles.into_iter().next() {
        None => Ok(order),
        Some(e) => Err(e),
    }
}

fn division_by_zero(span: Span) -> EqError {
    EqError::new(span, "division by a literal zero")
}

fn is_literal_zero(e: &Expr) -> bool {
    match e {
        Expr::Num(v, _) => *v == 0.0,
        Expr::Unary(UnOp::Neg, arg, _) => is_literal_zero(arg),
        _ => false,
    }
}

/// A dependency-first order of the definitions and one error per cycle found
/// (reported at the name of the definition where the cycle closes).
fn order_definitions(eqs: &[Equation]) -> (Vec<usize>, Vec<EqError>) {
    // (index into eqs, name, name span, expression) of each definition.
    let defs: Vec<(usize, &str, Span, &Expr)> = eqs
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Equation::Define {
                name,
                name_span,
                expr,
                ..
            } => Some((i, name.as_str(), *name_span, expr)),
            Equation::Derivative { .. } => None,
        })
        .collect();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (k, d) in defs.iter().enumerate() {
        index.entry(d.1).or_insert(k);
    }
    // The definitions each one uses, in order of first use.
    let deps: Vec<Vec<usize>> = defs
        .iter()
        .map(|d| {
            let mut uses = Vec::new();
            d.3.walk(&mut |e| {
                // No let chains: the crate supports Rust 1.85.
                let used = match e {
                    Expr::Var(name, _) => index.get(name.as_str()).copied(),
                    _ => None,
                };
                if let Some(k) = used.filter(|k| !uses.contains(k)) {
                    uses.push(k);
                }
            });
            uses
        })
        .collect();
    // Iterative depth-first search: a long chain of definitions must not
    // overflow the stack.
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut mark = vec![NEW; defs.len()];
    let mut order = Vec::with_capacity(defs.len());
    let mut errors = Vec::new();
    for root in 0..defs.len() {
        if mark[root] != NEW {
            continue;
        }
        mark[root] = OPEN;
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let Some(&dep) = deps[node].get(next) else {
                mark[node] = DONE;
                order.push(defs[node].0);
                stack.pop();
                continue;
            };
            top.1 += 1;
            match mark[dep] {
                NEW => {
                    mark[dep] = OPEN;
                    stack.push((dep, 0));
                }
                OPEN => {
                    let from = stack.iter().position(|s| s.0 == dep).unwrap_or(0);
                    let mut names: Vec<&str> = stack[from..].iter().map(|s| defs[s.0].1).collect();
                    names.push(defs[dep].1);
                    let message = if names.len() == 2 {
                        format!(
                            "recursive definition: '{}' refers to itself ({})",
                            names[0],
                            names.join(" -> ")
                        )
                    } else {
                        format!("recursive definitions: {}", names.join(" -> "))
                    };
                    errors.push(EqError::new(defs[dep].2, message));
                }
                _ => {}
            }
        }
    }
    (order, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equations::parse::{parse_equations, parse_expr, parse_statements};

    const SCOPE: Scope = Scope {
        parameters: &["tau_m", "e_l", "v_peak", "v_r", "beta"],
        state: &["v", "w", "i_syn"],
        constants: &["weight"],
    };

    fn eq_errors(src: &str) -> Vec<EqError> {
        let eqs = parse_equations(src).unwrap_or_else(|e| panic!("{src:?}: {}", e[0]));
        check_equations(&eqs, &SCOPE)
    }

    fn stmt_errors(src: &str, defs: &[&str]) -> Vec<EqError> {
        let stmts = parse_statements(src).unwrap_or_else(|e| panic!("{src:?}: {}", e[0]));
        check_statements(&stmts, &SCOPE, defs)
    }

    /// Exactly one error, at `line`:`col`, mentioning every word.
    fn one_at(errs: Vec<EqError>, line: u32, col: u32, words: &[&str]) {
        assert_eq!(errs.len(), 1, "{errs:?}");
        let e = &errs[0];
        assert_eq!((e.span.line, e.span.col), (line, col), "{e}");
        for w in words {
            assert!(e.message.contains(w), "{e:?} lacks {w:?}");
        }
    }

    #[test]
    fn valid_models_pass() {
        assert!(
            eq_errors(
                "dv/dt = (e_l - v + i_total) / tau_m + 0 * t * dt\n\
                 i_total = i_syn * gain\n\
                 gain = if v > v_peak then 0 else 1\n\
                 di_syn/dt = -i_syn / 5"
            )
            .is_empty()
        );
        // `w` has no derivative: it changes only by reset.
        assert!(eq_errors("dv/dt = -v / tau_m").is_empty());
        assert!(
            stmt_errors("v = v_r; w += beta * gain; i_syn += weight / 2", &["gain"]).is_empty()
        );
        let e = parse_expr("v > v_peak + t").unwrap();
        assert!(check_expr(&e, &SCOPE, &[]).is_empty());
    }

    #[test]
    fn unknown_identifiers() {
        one_at(
            eq_errors("dv/dt = (e_l - v) / tau_mm"),
            1,
            21,
            &["unknown identifier 'tau_mm'", "did you mean 'tau_m'"],
        );
        let errs = eq_errors("dv/dt = zzz");
        one_at(errs.clone(), 1, 9, &["unknown identifier 'zzz'"]);
        assert!(!errs[0].message.contains("did you mean"), "{}", errs[0]);
        let e = parse_expr("v > v_peek").unwrap();
        one_at(
            check_expr(&e, &SCOPE, &[]),
            1,
            5,
            &["'v_peek'", "did you mean 'v_peak'"],
        );
        let e = parse_expr("x + 1").unwrap();
        assert!(check_expr(&e, &SCOPE, &["x"]).is_empty());
        one_at(
            check_expr(&e, &SCOPE, &[]),
            1,
            1,
            &["unknown identifier 'x'"],
        );
        one_at(
            stmt_errors("v = v_r\nw += weigth", &[]),
            2,
            6,
            &["unknown identifier 'weigth'", "did you mean 'weight'"],
        );
    }

    #[test]
    fn derivative_errors() {
        one_at(
            eq_errors("dv/dt = 1\ndtau_m/dt = 1"),
            2,
            2,
            &["'tau_m' is a parameter", "not a state variable"],
        );
        one_at(
            eq_errors("dweight/dt = 1"),
            1,
            2,
            &["'weight' is a constant"],
        );
        one_at(eq_errors("dt/dt = 1"), 1, 2, &["'t' is built in"]);
        one_at(
            eq_errors("x = v\ndx/dt = 1"),
            2,
            2,
            &["'x' is a definition", "not a state variable"],
        );
        one_at(
            eq_errors("dvv/dt = 1"),
            1,
            2,
            &["unknown state variable 'vv'", "did you mean 'v'"],
        );
        one_at(
            eq_errors("dv/dt = 1\ndw/dt = 2\n\ndv/dt = 3"),
            4,
            2,
            &["second derivative of 'v'", "first is on line 1"],
        );
    }

    #[test]
    fn definition_errors() {
        one_at(
            eq_errors("tau_m = 3"),
            1,
            1,
            &["cannot define 'tau_m'", "a parameter"],
        );
        one_at(
            eq_errors("  v = 3"),
            1,
            3,
            &["cannot define 'v'", "a state variable"],
        );
        one_at(
            eq_errors("weight = 3"),
            1,
            1,
            &["cannot define 'weight'", "a constant"],
        );
        one_at(
            eq_errors("dt = 3"),
            1,
            1,
            &["cannot define 'dt'", "built in"],
        );
        one_at(
            eq_errors("x = 1\nx = 2"),
            2,
            1,
            &["'x' is defined twice", "first on line 1"],
        );
    }

    #[test]
    fn recursion_and_order() {
        one_at(
            eq_errors("a = b + 1\nb = a * 2\ndv/dt = a"),
            1,
            1,
            &["recursive definitions: a -> b -> a"],
        );
        one_at(
            eq_errors("dv/dt = -v\nx = x + 1"),
            2,
            1,
            &["'x' refers to itself", "x -> x"],
        );
        one_at(
            eq_errors("p = q\nq = r + v\nr = exp(p)"),
            1,
            1,
            &["p -> q -> r -> p"],
        );
        // Used before it is defined: fine without a cycle.
        let eqs = parse_equations("y = x * 2\nx = v + 1\ndv/dt = y\nz = y + x").unwrap();
        assert!(check_equations(&eqs, &SCOPE).is_empty());
        assert_eq!(definition_order(&eqs).unwrap(), [1, 0, 3]);
        let eqs = parse_equations("a = b\nb = a").unwrap();
        let e = definition_order(&eqs).unwrap_err();
        assert!(e.message.contains("a -> b -> a"), "{e}");
        // A long chain is ordered without deep recursion.
        let chain: Vec<String> = (0..20_000)
            .map(|i| format!("x{i} = x{} + 1", i + 1))
            .collect();
        let eqs = parse_equations(&(chain.join("\n") + "\nx20000 = v")).unwrap();
        let order = definition_order(&eqs).unwrap();
        assert_eq!((order[0], order.len()), (20_000, 20_001));
    }

    #[test]
    fn division_by_literal_zero() {
        one_at(
            eq_errors("dv/dt = v / 0"),
            1,
            13,
            &["division by a literal zero"],
        );
        one_at(
            eq_errors("dv/dt = v / 0.0"),
            1,
            13,
            &["division by a literal zero"],
        );
        one_at(
            eq_errors("dv/dt = v / -0"),
            1,
            13,
            &["division by a literal zero"],
        );
        one_at(
            eq_errors("dv/dt = v / (0)"),
            1,
            14,
            &["division by a literal zero"],
        );
        assert!(eq_errors("dv/dt = v / 0.5 + 0 / tau_m").is_empty());
        one_at(
            stmt_errors("v = v_r; w /= 0", &[]),
            1,
            15,
            &["division by a literal zero"],
        );
        one_at(
            stmt_errors("w = 1 / 0e3", &[]),
            1,
            9,
            &["division by a literal zero"],
        );
    }

    #[test]
    fn assignment_errors() {
        one_at(
            stmt_errors("v = v_r; tau_m = 1", &[]),
            1,
            10,
            &[
                "cannot assign to 'tau_m'",
                "a parameter",
                "only state variables",
            ],
        );
        one_at(
            stmt_errors("weight += 1", &[]),
            1,
            1,
            &["cannot assign to 'weight'", "a constant"],
        );
        one_at(
            stmt_errors("t = 0", &[]),
            1,
            1,
            &["cannot assign to 't'", "built in"],
        );
        one_at(
            stmt_errors("\n dt *= 2", &[]),
            2,
            2,
            &["cannot assign to 'dt'"],
        );
        one_at(
            stmt_errors("gain -= 1", &["gain"]),
            1,
            1,
            &["cannot assign to 'gain'", "a definition"],
        );
        one_at(
            stmt_errors("v = 1; ww = 2", &[]),
            1,
            8,
            &["unknown state variable 'ww'", "did you mean 'w'"],
        );
    }
}
