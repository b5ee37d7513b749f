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
}
