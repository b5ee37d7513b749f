//! Checks of a TOML document that serde's field-by-field reading cannot make:
//! numbers no field may hold, and arrays given where a table belongs (serde
//! would read `lif = [1, 2]` as `lif`'s first two fields, in order).
use super::spans;
use crate::error::ModelIssue;
use toml::{Table, Value};

/// Every NaN and infinity in the document, as issues at their fields. Only a
/// time constant may be `inf` (no decay: `tau_m_ms = inf` is the no-leak limit).
pub fn non_finite(text: &str, doc: &Table) -> Vec<ModelIssue> {
    let mut found = vec![];
    walk_table(doc, "", &mut |path, key, v| {
        if let Value::Float(x) = v {
            let time_constant = key.starts_with("tau") && *x == f64::INFINITY;
            if !x.is_finite() && !time_constant {
                found.push(issue(
                    text,
                    path,
                    format!("must be a finite number, got {x}"),
                ));
            }
        }
    });
    found
}

/// The first array in `doc` where `read` (the document as it was read, written
/// back) holds a table.
pub fn array_for_table(text: &str, doc: &Table, read: &Value) -> Option<ModelIssue> {
    let Value::Table(read) = read else {
        return None;
    };
    first_array_for_table(text, doc, read, "")
}

fn first_array_for_table(text: &str, doc: &Table, read: &Table, at: &str) -> Option<ModelIssue> {
    for (key, v) in doc {
        let path = join(at, key);
        match (v, read.get(key)?) {
            (Value::Array(_), Value::Table(_)) => {
                return Some(issue(
                    text,
                    &path,
                    "expected a table such as `{ name = value }`, got an array".into(),
                ));
            }
            (Value::Table(d), Value::Table(r)) => {
                if let Some(i) = first_array_for_table(text, d, r, &path) {
                    return Some(i);
                }
            }
            (Value::Array(d), Value::Array(r)) => {
                for (k, (d, r)) in d.iter().zip(r).enumerate() {
                    if let (Value::Table(d), Value::Table(r)) = (d, r) {
                        let p = format!("{path}[{k}]");
                        if let Some(i) = first_array_for_table(text, d, r, &p) {
                            return Some(i);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn issue(text: &str, path: &str, message: String) -> ModelIssue {
    ModelIssue {
        line: spans::line_of_path(text, path),
        column: None,
        field: path.to_string(),
        message,
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// Calls `f(path, key, value)` for every value under `t`, depth first.
fn walk_table(t: &Table, at: &str, f: &mut impl FnMut(&str, &str, &Value)) {
    for (key, v) in t {
        walk(v, &join(at, key), key, f);
    }
}

fn walk(v: &Value, path: &str, key: &str, f: &mut impl FnMut(&str, &str, &Value)) {
    f(path, key, v);
    match v {
        Value::Table(t) => walk_table(t, path, f),
        Value::Array(a) => {
            for (k, x) in a.iter().enumerate() {
                walk(x, &format!("{path}[{k}]"), key, f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn nan_and_inf_are_found_where_they_are_but_an_infinite_tau_is_not() {
        let t = "[[p]]\nx = 1.0\n[[p]]\nw = [1.0, nan]\ntau_m_ms = inf\n";
        let found = non_finite(t, &doc(t));
        assert_eq!(found.len(), 1);
        let i = &found[0];
        assert_eq!((i.line, i.field.as_str()), (Some(4), "p[1].w[1]"));
        assert_eq!(i.message, "must be a finite number, got NaN");
        let t = "a = { b = -inf, c = nan }\n";
        let fields: Vec<String> = non_finite(t, &doc(t))
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(fields, ["a.b", "a.c"]);
        let t = "tau = inf\ntau_x = 2.0\n";
        assert!(non_finite(t, &doc(t)).is_empty());
    }

    #[test]
    fn an_array_read_as_a_table_is_found() {
        let t = "[[populations]]\nname = \"a\"\nlif = [1, 2]\n";
        let read: Value = "[[populations]]\nname = \"a\"\nlif = { x = 1, y = 2 }\n"
            .parse::<Table>()
            .map(Value::Table)
            .unwrap();
        let i = array_for_table(t, &doc(t), &read).unwrap();
        assert_eq!((i.line, i.field.as_str()), (Some(3), "populations[0].lif"));
        assert!(array_for_table(t, &doc(t), &Value::Table(doc(t))).is_none());
    }
}
