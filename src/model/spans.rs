//! Maps field paths such as `populations[1].lif.tau_m_ms` to lines of a TOML source.
use toml::de::{DeTable, DeValue};

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = vec![];
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        while let Some(end) = rest.find(']') {
            if let Ok(i) = rest[1..end].parse() {
                out.push(Seg::Index(i));
            }
            rest = &rest[end + 1..];
        }
    }
    out
}

/// 1-based line of a byte offset.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Line of the deepest part of `path` present in the document.
pub fn line_of_path(text: &str, path: &str) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut offset: Option<usize> = None;
    let mut table: Option<&DeTable> = Some(doc.get_ref());
    let mut array: Option<&toml::de::DeArray> = None;
    for seg in segments(path) {
        let value: &toml::Spanned<DeValue> = match seg {
            Seg::Key(k) => {
                let found = table
                    .take()
                    .and_then(|t| t.iter().find(|(key, _)| key.get_ref().as_ref() == k));
                let Some((key, v)) = found else { break };
                offset = Some(key.span().start);
                v
            }
            Seg::Index(i) => {
                let Some(v) = array.take().and_then(|a| a.get(i)) else {
                    break;
                };
                offset = Some(v.span().start);
                v
            }
        };
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    offset.map(|o| line_of_offset(text, o))
}

/// Byte range of the value at `path`, when the whole path is present.
fn value_span(text: &str, path: &str) -> Option<std::ops::Range<usize>> {
    let doc = DeTable::parse(text).ok()?;
    let mut table: Option<&DeTable> = Some(doc.get_ref());
    let mut array: Option<&toml::de::DeArray> = None;
    let mut span = None;
    for seg in segments(path) {
        let value: &toml::Spanned<DeValue> = match seg {
            Seg::Key(k) => {
                table
                    .take()?
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k)?
                    .1
            }
            Seg::Index(i) => array.take()?.get(i)?,
        };
        span = Some(value.span());
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    span
}

/// File line and column (1-based) of line `line`, column `col` (1-based,
/// in characters) inside the string value at `path`. Exact for literal
/// strings and for basic strings without escapes before the place.
pub fn position_in_string(text: &str, path: &str, line: u32, col: u32) -> Option<(usize, usize)> {
    let span = value_span(text, path)?;
    let raw = text.get(span.clone())?;
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| raw.starts_with(q))?;
    let mut start = span.start + quote.len();
    if quote.len() == 3 {
        // A new line right after the opening quotes is not part of the value.
        let rest = &text[start..];
        if rest.starts_with("\r\n") {
            start += 2;
        } else if rest.starts_with('\n') {
            start += 1;
        }
    }
    // Walk the raw text, counting the value's lines and characters: an escape
    // (`\n`, `\"`, `\u00e9`, ...) is one character of the value, and `\n`
    // starts a line of it.
    let basic = quote.starts_with('"');
    let body = &text[start..span.end];
    let (mut l, mut c) = (1u32, 1u32);
    let mut chars = body.char_indices().peekable();
    let mut at = None;
    while let Some((i, ch)) = chars.next() {
        if l == line && c == col {
            at = Some(start + i);
            break;
        }
        let newline = if basic && ch == '\\' {
            match chars.next() {
                Some((_, 'n')) => true,
                Some((_, 'u')) => {
                    chars.nth(3);
                    false
                }
                Some((_, 'U')) => {
                    chars.nth(7);
                    false
                }
                _ => false,
            }
        } else {
            ch == '\n'
        };
        if newline {
            l += 1;
            c = 1;
        } else {
            c += 1;
        }
    }
    let at = at?;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before: usize = text[line_start..at].chars().count();
    Some((line_of_offset(text, at), before + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_of_nested_paths() {
        let text = "dt_ms = 0.1\n[[populations]]\nname = \"a\"\n[[populations]]\nname = \"b\"\nsize = 3\n[populations.lif]\ntau_m_ms = -1\n";
        assert_eq!(line_of_path(text, "dt_ms"), Some(1));
        assert_eq!(line_of_path(text, "populations[1].size"), Some(6));
        assert_eq!(line_of_path(text, "populations[1].lif.tau_m_ms"), Some(8));
        assert_eq!(line_of_path(text, "populations[1].missing"), Some(4));
    }

    #[test]
    fn places_inside_strings_map_to_the_file() {
        let text = "[[neuron_models]]\nname = \"m\"\nthreshold = \"v > x\"\nequations = \"\"\"\ndv/dt = -v\n  dw/dt = q\n\"\"\"\n";
        let p = |l, c| position_in_string(text, "neuron_models[0].threshold", l, c);
        assert_eq!(p(1, 5), Some((3, 18)));
        let p = |l, c| position_in_string(text, "neuron_models[0].equations", l, c);
        assert_eq!(p(1, 1), Some((5, 1)));
        assert_eq!(p(2, 11), Some((6, 11)));
        assert_eq!(
            position_in_string(text, "neuron_models[1].equations", 1, 1),
            None
        );
    }
}
