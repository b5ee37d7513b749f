//! Named constants of a model file (`[constants] g = 5.0`) and numeric fields
//! written as expressions of them (`weight = "-g * J"`), with `--set NAME=VALUE`
//! overrides: a parameter sweep is one file and a loop.
//!
//! A constant is a number or an expression of other constants (no cycles). A
//! string is read as an expression only where the file's schema wants a number
//! there (the typed reading says so, with the string's place), so names and
//! other strings are never touched. Expressions are those of equation strings
//! (`+ - * / **`, functions, `if then else`) over constants, evaluated in f64.
use super::spans;
use crate::equations::ast::{BinOp, Expr, Func, UnOp};
use crate::equations::parse_expr;
use crate::error::ModelIssue;
use std::collections::BTreeMap;
use std::sync::RwLock;

/// Overrides every model read in this process takes (the CLI's `--set`).
static OVERRIDES: RwLock<Vec<(String, f64)>> = RwLock::new(Vec::new());

/// Sets the constants every later model file read in this process is given
/// instead of its own values (`--set g=6`). A name the file does not define is
/// an error of that file.
pub fn set_overrides(values: Vec<(String, f64)>) {
    *OVERRIDES.write().unwrap_or_else(|p| p.into_inner()) = values;
}

/// The overrides set with [`set_overrides`].
pub fn overrides() -> Vec<(String, f64)> {
    OVERRIDES.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Parses `NAME=VALUE` (the CLI's `--set`): VALUE is a number.
pub fn parse_override(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got '{s}'"))?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("'{name}' is not a constant's name"));
    }
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number", value.trim()))?;
    if !v.is_finite() {
        return Err(format!("{v} is not a finite number"));
    }
    Ok((name.to_string(), v))
}

/// The values of the document's `[constants]` table with `overrides` applied.
pub(crate) fn values(
    text: &str,
    doc: &toml::Table,
    overrides: &[(String, f64)],
) -> Result<BTreeMap<String, f64>, Vec<ModelIssue>> {
    let issue = |name: &str, message: String| ModelIssue {
        line: spans::line_of_path(text, &format!("constants.{name}")),
        column: None,
        field: format!("constants.{name}"),
        message,
    };
    let table = match doc.get("constants") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => {
            return Err(vec![ModelIssue {
                line: spans::line_of_path(text, "constants"),
                column: None,
                field: "constants".into(),
                message: "expected a table of named numbers".into(),
            }]);
        }
    };
    let mut issues = Vec::new();
    let mut pending: BTreeMap<String, Expr> = BTreeMap::new();
    let mut known: BTreeMap<String, f64> = BTreeMap::new();
    for (name, value) in &table {
        match value {
            toml::Value::Float(v) => {
                known.insert(name.clone(), *v);
            }
            toml::Value::Integer(v) => {
                known.insert(name.clone(), *v as f64);
            }
            toml::Value::String(s) => match parse_expr(s) {
                Ok(e) => {
                    pending.insert(name.clone(), e);
                }
                Err(errs) => issues.push(issue(name, format!("in \"{s}\": {}", errs[0]))),
            },
            _ => issues.push(issue(
                name,
                "expected a number or an expression string".into(),
            )),
        }
    }
    for (name, v) in overrides {
        if !table.contains_key(name) {
            let names: Vec<&str> = table.keys().map(String::as_str).collect();
            issues.push(ModelIssue {
                line: None,
                column: None,
                field: "constants".into(),
                message: format!(
                    "--set {name}: the model has no constant '{name}' (its constants: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            });
            continue;
        }
        pending.remove(name);
        known.insert(name.clone(), *v);
    }
    // Evaluate what can be, until nothing more can: the rest reads an unknown
    // name or is part of a cycle.
    loop {
        let ready: Vec<String> = pending
            .iter()
            .filter(|(_, e)| names(e).iter().all(|n| known.contains_key(n)))
            .map(|(n, _)| n.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for name in ready {
            let e = pending.remove(&name).expect("pending");
            match eval(&e, &known) {
                Ok(v) => {
                    known.insert(name, v);
                }
                Err(m) => issues.push(issue(&name, m)),
            }
        }
    }
    for (name, e) in &pending {
        let missing: Vec<String> = names(e)
            .into_iter()
            .filter(|n| !known.contains_key(n))
            .collect();
        let cyclic = missing.iter().any(|m| pending.contains_key(m));
        let message = if cyclic {
            format!(
                "reads {} and they read it back (a cycle)",
                missing.join(", ")
            )
        } else {
            format!("unknown constant {}", missing.join(", "))
        };
        issues.push(issue(name, message));
    }
    if issues.is_empty() {
        Ok(known)
    } else {
        Err(issues)
    }
}

/// Evaluates the expression string `s` over `constants`.
pub(crate) fn evaluate(s: &str, constants: &BTreeMap<String, f64>) -> Result<f64, String> {
    let e = parse_expr(s).map_err(|errs| errs[0].to_string())?;
    let unknown: Vec<String> = names(&e)
        .into_iter()
        .filter(|n| !constants.contains_key(n))
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = constants.keys().map(String::as_str).collect();
        return Err(format!(
            "unknown constant {} (constants: {})",
            unknown.join(", "),
            if known.is_empty() {
                "none; define them in [constants]".to_string()
            } else {
                known.join(", ")
            }
        ));
    }
    eval(&e, constants)
}

fn names(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    crate::equations::integrate::names_in(e, &mut out);
    out
}

fn eval(e: &Expr, c: &BTreeMap<String, f64>) -> Result<f64, String> {
    let v = match e {
        Expr::Num(v, _) => *v,
        Expr::Var(n, _) => *c.get(n).ok_or_else(|| format!("unknown constant {n}"))?,
        Expr::Unary(UnOp::Neg, a, _) => -eval(a, c)?,
        Expr::Unary(UnOp::Not, a, _) => f64::from(eval(a, c)? == 0.0),
        Expr::Binary(op, a, b, _) => {
            let (a, b) = (eval(a, c)?, eval(b, c)?);
            match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Lt => f64::from(a < b),
                BinOp::Le => f64::from(a <= b),
                BinOp::Gt => f64::from(a > b),
                BinOp::Ge => f64::from(a >= b),
                BinOp::Eq => f64::from(a == b),
                BinOp::Ne => f64::from(a != b),
                BinOp::And => f64::from(a != 0.0 && b != 0.0),
                BinOp::Or => f64::from(a != 0.0 || b != 0.0),
            }
        }
        Expr::Call(f, args, _) => {
            let a: Vec<f64> = args.iter().map(|a| eval(a, c)).collect::<Result<_, _>>()?;
            match f {
                Func::Exp => a[0].exp(),
                Func::Log => a[0].ln(),
                Func::Sqrt => a[0].sqrt(),
                Func::Pow => a[0].powf(a[1]),
                Func::Abs => a[0].abs(),
                Func::Min => a[0].min(a[1]),
                Func::Max => a[0].max(a[1]),
                Func::Clip => a[0].max(a[1]).min(a[2]),
                Func::Tanh => a[0].tanh(),
                Func::Sin => a[0].sin(),
                Func::Cos => a[0].cos(),
                Func::Floor => a[0].floor(),
                Func::Uniform | Func::Normal => {
                    return Err(format!(
                        "{}() draws a random number: constants are fixed",
                        f.name()
                    ));
                }
            }
        }
        Expr::If(cond, a, b, _) => {
            if eval(cond, c)? != 0.0 {
                eval(a, c)?
            } else {
                eval(b, c)?
            }
        }
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("evaluates to {v}"))
    }
}

/// Where `text[span]` is a basic or literal one-line TOML string, its contents.
pub(crate) fn string_at(text: &str, span: std::ops::Range<usize>) -> Option<&str> {
    let lit = text.get(span)?.trim();
    let inner = lit
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| lit.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))?;
    // Escapes and multi-line strings are not expressions.
    (!inner.contains(['\\', '\n', '"', '\''])).then_some(inner)
}
