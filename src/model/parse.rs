//! TOML reading: raw serde types, and errors located by line and field.
use super::{spans, values};
use crate::error::{Error, ModelIssue};

/// Parses and validates a model from TOML text; `source_name` (usually the file
/// path) prefixes every error.
///
/// ```
/// let net = astroglia::model::parse_toml(
///     "dt_ms = 0.1\n[[populations]]\nname = \"n\"\nsize = 2\nlif = {}\n", "inline.toml").unwrap();
/// assert_eq!(net.populations[0].size, 2);
/// let err = astroglia::model::parse_toml(
///     "dt_ms = -1\n[[populations]]\nname = \"n\"\nsize = 2\nlif = {}\n", "bad.toml").unwrap_err();
/// assert_eq!(err.to_string(), "bad.toml: invalid model: line 1: dt_ms: must be a positive number of ms, got -1");
/// ```
pub fn parse_toml(text: &str, source_name: &str) -> crate::Result<super::Network> {
    parse_toml_with(text, source_name, &super::constants::overrides())
}

/// [`parse_toml`] with `overrides` for the file's `[constants]` (what the CLI's
/// `--set NAME=VALUE` gives).
///
/// ```
/// let text = "[constants]\ng = 5.0\nJ = 0.1\n\n[[populations]]\nname = \"n\"\nsize = 2\nlif = {}\n\n\
///             [[projections]]\nfrom = \"n\"\nto = \"n\"\nconnect = { all_to_all = {} }\nweight = \"-g * J\"\n";
/// let net = astroglia::model::parse_toml(text, "m.toml").unwrap();
/// assert_eq!(net.projections[0].weight, astroglia::model::Dist::Const(-0.5));
/// let net = astroglia::model::parse_toml_with(text, "m.toml", &[("g".into(), 6.0)]).unwrap();
/// assert_eq!(net.projections[0].weight, astroglia::model::Dist::Const(-0.6000000000000001));
/// assert_eq!(net.constants["g"], 6.0);
/// ```
pub fn parse_toml_with(
    text: &str,
    source_name: &str,
    overrides: &[(String, f64)],
) -> crate::Result<super::Network> {
    let fail = |issues: Vec<ModelIssue>| Error::Model {
        source_name: source_name.to_string(),
        issues,
    };
    let original = text;
    let expanded = expand_constants(text, overrides).map_err(fail)?;
    let text = expanded.as_str();
    let (mut net, doc) = deserialize_tables::<super::Network>(text).map_err(|i| fail(vec![i]))?;
    net.resolve_models();
    for (name, v) in overrides {
        net.constants.insert(name.clone(), *v);
    }
    let mut issues = with_non_finite(text, &doc, super::validate::validate(&net));
    if !issues.is_empty() {
        for i in &mut issues {
            i.line = spans::line_of_path(text, &i.field);
            // Places inside strings are counted in the file as written:
            // the expansion of constants may shorten a line before them.
            locate_in_string(original, i);
        }
        issues.sort_by_key(|i| i.line);
        return Err(fail(issues));
    }
    Ok(net)
}

/// An issue whose message starts with a place inside the field's string
/// (`line 2, column 9: ...`, from the equations of a user model) gets the
/// file's line and column of that place instead.
fn locate_in_string(text: &str, issue: &mut ModelIssue) {
    let Some(rest) = issue.message.strip_prefix("line ") else {
        return;
    };
    let Some((line, rest)) = rest.split_once(", column ") else {
        return;
    };
    let Some((col, message)) = rest.split_once(": ") else {
        return;
    };
    let (Ok(line), Ok(col)) = (line.parse::<u32>(), col.parse::<u32>()) else {
        return;
    };
    if let Some((l, c)) = spans::position_in_string(text, &issue.field, line, col) {
        issue.line = Some(l);
        issue.column = Some(c);
        issue.message = message.to_string();
    }
}

/// Deserialises TOML `text` into `T`; a syntax or type error becomes one
/// [`ModelIssue`] located by line and dotted field path (shared by model,
/// rules and experiment files).
pub(crate) fn deserialize_located<T: serde::de::DeserializeOwned>(
    text: &str,
) -> std::result::Result<T, ModelIssue> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let mut message = first_line(e.message());
        // toml's message leaves the key out; its span points at it.
        if message == "duplicate key" {
            if let Some(key) = e.span().and_then(|s| text.get(s)) {
                message = format!("duplicate key `{}`", key.trim());
            }
        }
        ModelIssue {
            line: e.span().map(|s| spans::line_of_offset(text, s.start)),
            column: None,
            field: "syntax".into(),
            message,
        }
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| spans::line_of_offset(text, s.start))
            .or_else(|| spans::line_of_path(text, &field));
        ModelIssue {
            line,
            column: None,
            field: if field == "." { "(root)".into() } else { field },
            message: first_line(inner.message()),
        }
    })
}

/// [`deserialize_located`], refusing an array given where `T` has a table;
/// also returns the document as a plain table for the checks that follow.
pub(crate) fn deserialize_tables<T: serde::de::DeserializeOwned + serde::Serialize>(
    text: &str,
) -> std::result::Result<(T, toml::Table), ModelIssue> {
    let value: T = deserialize_located(text)?;
    // Parsed once more, untyped: serde accepted the text, so this succeeds.
    let doc: toml::Table = text.parse().unwrap_or_default();
    if let Some(issue) = toml::Value::try_from(&value)
        .ok()
        .and_then(|read| values::array_for_table(text, &doc, &read))
    {
        return Err(issue);
    }
    Ok((value, doc))
}

/// `issues` with every NaN and infinity of the document in place of what they
/// caused: a check on another field that compared against NaN names the wrong
/// field, so issues whose message shows a non-finite number give way.
fn with_non_finite(text: &str, doc: &toml::Table, mut issues: Vec<ModelIssue>) -> Vec<ModelIssue> {
    let found = values::non_finite(text, doc);
    if found.is_empty() {
        return issues;
    }
    let shows_non_finite = |m: &str| {
        m.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "NaN" || w == "inf")
    };
    issues.retain(|i| !found.iter().any(|f| f.field == i.field) && !shows_non_finite(&i.message));
    issues.extend(found);
    issues
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Deserialises TOML `text` into `T` ([`deserialize_located`]) and checks it:
/// `problems` lists every value out of range as `(field, message)`, each located
/// by the field's line. Experiment files of every kind share it.
pub(crate) fn parse_checked<T: serde::de::DeserializeOwned + serde::Serialize>(
    text: &str,
    problems: impl FnOnce(&T) -> Vec<(String, String)>,
) -> std::result::Result<T, Vec<ModelIssue>> {
    let (value, doc) = deserialize_tables::<T>(text).map_err(|i| vec![i])?;
    let issues: Vec<ModelIssue> = problems(&value)
        .into_iter()
        .map(|(field, message)| ModelIssue {
            line: spans::line_of_path(text, &field),
            column: None,
            field,
            message,
        })
        .collect();
    let mut issues = with_non_finite(text, &doc, issues);
    issues.sort_by_key(|i| i.line);
    if issues.is_empty() {
        Ok(value)
    } else {
        Err(issues)
    }
}

/// `text` with every string that stands where a number belongs replaced by the
/// value of its expression over the file's constants ([`super::constants`]).
fn expand_constants(text: &str, overrides: &[(String, f64)]) -> Result<String, Vec<ModelIssue>> {
    // A syntax error is reported by the typed reading that follows.
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Ok(text.to_string());
    };
    let constants = super::constants::values(text, &doc, overrides)?;
    let mut text = text.to_string();
    // Each round replaces one string; a file has fewer strings than bytes.
    for _ in 0..=text.len() {
        let Ok(de) = toml::Deserializer::parse(&text) else {
            break;
        };
        let Err(e) = serde_path_to_error::deserialize::<_, super::Network>(de) else {
            break;
        };
        let field = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message();
        let wants_number = message.starts_with("invalid type: string")
            || message.contains("did not match any variant");
        let Some(span) = inner.span().filter(|_| wants_number) else {
            break;
        };
        let Some(expr) = super::constants::string_at(&text, span.clone()) else {
            break;
        };
        let value = super::constants::evaluate(expr, &constants).map_err(|m| {
            // What the field wants comes first: the string may be a plain mistake.
            let wanted = if message.starts_with("invalid type") {
                first_line(message)
            } else {
                "expected a number".to_string()
            };
            vec![ModelIssue {
                line: Some(spans::line_of_offset(&text, span.start)),
                column: None,
                field: field.clone(),
                message: format!("{wanted}; as an expression of [constants], \"{expr}\": {m}"),
            }]
        })?;
        // Whole numbers as integers: they fit integer fields (sizes) and float ones.
        let literal = if value.fract() == 0.0 && value.abs() < 9.0e15 {
            format!("{}", value as i64)
        } else {
            format!("{value:?}")
        };
        text.replace_range(span, &literal);
    }
    Ok(text)
}
