//! The docs stay true to the code: the file-format references in
//! `docs/reference/` document every key that the formats' serde structures take
//! (traced from the types, not listed by hand), and every relative link in
//! README.md, ARCHITECTURE.md and `docs/` points to a file (and heading) that
//! exists.
//!
//! The trace is a `Deserializer` that feeds each type what it asks for and
//! records the names serde hands it: a struct's fields, an enum's variants.
//! Types that read "a number or a table" (`deserialize_any`, e.g. `Dist`) are
//! first fed a table with an unknown key, and the `unknown_variant` /
//! `unknown_field` error they answer with lists the keys they take. Passes
//! repeat until every enum variant and every such key has been explored.
//! A reference page documents a table at path `a.b` (`[[projections]]`,
//! `projections.connect`) in the section whose heading names that path, or its
//! nearest documented parent, in a code span; each key must appear there as a
//! word of a code span or as `key =` in a fenced block, and each string value
//! a key takes (a unit enum variant) as a word of a code span, or of a string
//! or comment in a fenced block.

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------- the trace

/// An error that remembers the keys serde expected when it was refused one.
#[derive(Debug)]
struct TraceError {
    msg: String,
    expected: Option<(KeyKind, Vec<&'static str>)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum KeyKind {
    /// One of the keys (a tagged enum's variants).
    Variant,
    /// All of the keys (a struct's fields).
    Field,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TraceError {
            msg: msg.to_string(),
            expected: None,
        }
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        TraceError {
            msg: format!("unknown variant {variant}"),
            expected: Some((KeyKind::Variant, expected.to_vec())),
        }
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        TraceError {
            msg: format!("unknown field {field}"),
            expected: Some((KeyKind::Field, expected.to_vec())),
        }
    }
}

/// A table found by the trace: its keys, and the (root, path) pairs it was
/// reached at (a shared type, such as `Dist`, is reached at many).
#[derive(Debug, Default)]
struct Table {
    keys: BTreeSet<String>,
    /// String values a key of the parent table may hold (unit enum variants).
    values: BTreeSet<String>,
    paths: BTreeSet<(usize, String)>,
}

/// What a `deserialize_any` at a path has answered so far.
#[derive(Debug, Clone)]
enum AnyState {
    /// Not yet fed the probe table.
    Probe,
    /// It takes a table with one of these keys; `next` is the next to explore.
    OneOf(Vec<&'static str>, usize),
    /// It takes a table with these keys.
    AllOf(Vec<&'static str>),
    /// It took the probe table (a free-form table).
    Free,
    /// It refused the probe without saying what it takes: feed it a number.
    Number,
}

#[derive(Default)]
struct Registry {
    tables: BTreeMap<String, Table>,
    /// Next variant to explore, per enum.
    cursors: BTreeMap<String, usize>,
    any: BTreeMap<String, AnyState>,
    changed: bool,
    root: usize,
}

impl Registry {
    fn table(&mut self, id: &str, path: &str) -> &mut Table {
        let root = self.root;
        let changed = !self.tables.contains_key(id)
            || !self.tables[id].paths.contains(&(root, path.to_string()));
        self.changed |= changed;
        let t = self.tables.entry(id.to_string()).or_default();
        t.paths.insert((root, path.to_string()));
        t
    }
    fn keys(&mut self, id: &str, path: &str, keys: &[&str]) {
        let t = self.table(id, path);
        let before = t.keys.len();
        t.keys.extend(keys.iter().map(|k| k.to_string()));
        let grew = t.keys.len() != before;
        self.changed |= grew;
    }
    fn value(&mut self, id: &str, path: &str, value: &str) {
        let t = self.table(id, path);
        let new = t.values.insert(value.to_string());
        self.changed |= new;
    }
}

const PROBE: &str = "\u{1}probe";
const MAX_DEPTH: usize = 48;

#[derive(Clone, Copy)]
struct Tracer<'r> {
    reg: &'r RefCell<Registry>,
    path: &'r str,
    depth: usize,
}

impl<'r> Tracer<'r> {
    fn child<T>(&self, seg: &str, f: impl FnOnce(Tracer<'_>) -> T) -> T {
        let path = if self.path.is_empty() {
            seg.to_string()
        } else {
            format!("{}.{seg}", self.path)
        };
        f(Tracer {
            reg: self.reg,
            path: &path,
            depth: self.depth + 1,
        })
    }
    fn check_depth(&self) -> Result<(), TraceError> {
        if self.depth > MAX_DEPTH {
            Err(de::Error::custom(format!("too deep at {}", self.path)))
        } else {
            Ok(())
        }
    }
}

macro_rules! scalar {
    ($($method:ident => $visit:ident($($value:expr)?),)*) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
            v.$visit($($value)?)
        })*
    };
}

impl<'de, 'r> Deserializer<'de> for Tracer<'r> {
    type Error = TraceError;

    scalar! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i8(0),
        deserialize_i16 => visit_i16(0),
        deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u8(0),
        deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_str(""),
        deserialize_string => visit_str(""),
        deserialize_bytes => visit_bytes(&[]),
        deserialize_byte_buf => visit_bytes(&[]),
        deserialize_unit => visit_unit(),
        deserialize_identifier => visit_str(""),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        self.check_depth()?;
        let state = self
            .reg
            .borrow()
            .any
            .get(self.path)
            .cloned()
            .unwrap_or(AnyState::Probe);
        let set = |s: AnyState| {
            let mut r = self.reg.borrow_mut();
            r.changed = true;
            r.any.insert(self.path.to_string(), s);
        };
        match state {
            AnyState::Probe => {
                let result = v.visit_map(ProbeMap { done: false });
                match &result {
                    Ok(_) => set(AnyState::Free),
                    Err(TraceError {
                        expected: Some((KeyKind::Variant, keys)),
                        ..
                    }) => set(AnyState::OneOf(keys.clone(), 0)),
                    Err(TraceError {
                        expected: Some((KeyKind::Field, keys)),
                        ..
                    }) => set(AnyState::AllOf(keys.clone())),
                    Err(_) => set(AnyState::Number),
                }
                result
            }
            AnyState::OneOf(keys, next) => {
                let id = format!("one of {}", keys.join(","));
                self.reg.borrow_mut().keys(&id, self.path, &keys);
                if next + 1 < keys.len() {
                    set(AnyState::OneOf(keys.clone(), next + 1));
                }
                v.visit_map(KeyMap {
                    tracer: self,
                    keys: vec![keys[next]],
                    i: 0,
                })
            }
            AnyState::AllOf(keys) => {
                let id = format!("table of {}", keys.join(","));
                self.reg.borrow_mut().keys(&id, self.path, &keys);
                v.visit_map(KeyMap {
                    tracer: self,
                    keys,
                    i: 0,
                })
            }
            AnyState::Free => v.visit_map(ProbeMap { done: false }),
            AnyState::Number => v.visit_f64(0.0),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, TraceError> {
        v.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, TraceError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        self.check_depth()?;
        v.visit_seq(Seq {
            tracer: self,
            left: 1,
            tuple: false,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, TraceError> {
        self.check_depth()?;
        v.visit_seq(Seq {
            tracer: self,
            left: len,
            tuple: true,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, TraceError> {
        self.deserialize_tuple(len, v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        self.check_depth()?;
        v.visit_map(FreeMap {
            tracer: self,
            done: false,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TraceError> {
        self.check_depth()?;
        let id = format!("struct {name} {{{}}}", fields.join(","));
        self.reg.borrow_mut().keys(&id, self.path, fields);
        v.visit_map(KeyMap {
            tracer: self,
            keys: fields.to_vec(),
            i: 0,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TraceError> {
        self.check_depth()?;
        let id = format!("enum {name} [{}]", variants.join(","));
        let chosen = {
            let mut r = self.reg.borrow_mut();
            let next = *r.cursors.get(&id).unwrap_or(&0);
            if next < variants.len() {
                r.cursors.insert(id.clone(), next + 1);
                r.changed = true;
                next
            } else {
                0
            }
        };
        v.visit_enum(Enum {
            tracer: self,
            id,
            variant: variants[chosen],
        })
    }
}

/// A sequence of one element (or of a tuple's length); an element the type
/// refuses (a validation after its fields were traced) ends the sequence.
struct Seq<'r> {
    tracer: Tracer<'r>,
    left: usize,
    tuple: bool,
}

impl<'de, 'r> SeqAccess<'de> for Seq<'r> {
    type Error = TraceError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, TraceError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        match seed.deserialize(self.tracer) {
            Ok(v) => Ok(Some(v)),
            Err(e) if self.tuple => Err(e),
            Err(_) => Ok(None),
        }
    }
}

/// The table of a struct (or of keys learnt from a probe): every key once.
struct KeyMap<'r> {
    tracer: Tracer<'r>,
    keys: Vec<&'static str>,
    i: usize,
}

impl<'de, 'r> MapAccess<'de> for KeyMap<'r> {
    type Error = TraceError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TraceError> {
        if self.i == self.keys.len() {
            return Ok(None);
        }
        seed.deserialize(self.keys[self.i].into_deserializer())
            .map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, TraceError> {
        let key = self.keys[self.i];
        self.i += 1;
        self.tracer.child(key, |t| seed.deserialize(t))
    }
}

/// A map with free-form keys (`BTreeMap<String, _>`): one entry, path `*`.
struct FreeMap<'r> {
    tracer: Tracer<'r>,
    done: bool,
}

impl<'de, 'r> MapAccess<'de> for FreeMap<'r> {
    type Error = TraceError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TraceError> {
        if self.done {
            return Ok(None);
        }
        seed.deserialize("x".into_deserializer()).map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, TraceError> {
        self.done = true;
        self.tracer.child("*", |t| seed.deserialize(t))
    }
}

/// The probe: a table with one key no type takes, holding an empty string.
struct ProbeMap {
    done: bool,
}

impl<'de> MapAccess<'de> for ProbeMap {
    type Error = TraceError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TraceError> {
        if self.done {
            return Ok(None);
        }
        seed.deserialize(PROBE.into_deserializer()).map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, TraceError> {
        self.done = true;
        seed.deserialize("".into_deserializer())
    }
}

struct Enum<'r> {
    tracer: Tracer<'r>,
    id: String,
    variant: &'static str,
}

impl<'de, 'r> EnumAccess<'de> for Enum<'r> {
    type Error = TraceError;
    type Variant = Self;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), TraceError> {
        let v = seed.deserialize(self.variant.into_deserializer())?;
        Ok((v, self))
    }
}

impl<'de, 'r> VariantAccess<'de> for Enum<'r> {
    type Error = TraceError;
    fn unit_variant(self) -> Result<(), TraceError> {
        // A string value of the key that holds the enum: documented in the
        // parent table's section.
        let parent = self.tracer.path.rsplit_once('.').map_or("", |p| p.0);
        let id = format!("values of {}", self.id);
        self.tracer
            .reg
            .borrow_mut()
            .value(&id, parent, self.variant);
        Ok(())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, TraceError> {
        self.tracer
            .reg
            .borrow_mut()
            .keys(&self.id, self.tracer.path, &[self.variant]);
        self.tracer.child(self.variant, |t| seed.deserialize(t))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, TraceError> {
        self.tracer
            .reg
            .borrow_mut()
            .keys(&self.id, self.tracer.path, &[self.variant]);
        self.tracer
            .child(self.variant, |t| t.deserialize_tuple(len, v))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TraceError> {
        self.tracer
            .reg
            .borrow_mut()
            .keys(&self.id, self.tracer.path, &[self.variant]);
        let id = format!("{} :: {}", self.id, self.variant);
        self.tracer.child(self.variant, |t| {
            t.reg.borrow_mut().keys(&id, t.path, fields);
            v.visit_map(KeyMap {
                tracer: t,
                keys: fields.to_vec(),
                i: 0,
            })
        })
    }
}

/// Traces `T` as root number `root` until a pass finds nothing new.
fn trace<'de, T: Deserialize<'de>>(reg: &RefCell<Registry>, root: usize) {
    reg.borrow_mut().root = root;
    for _ in 0..1000 {
        reg.borrow_mut().changed = false;
        let _ = T::deserialize(Tracer {
            reg,
            path: "",
            depth: 0,
        });
        if !reg.borrow().changed {
            return;
        }
    }
    panic!("the trace did not settle after 1000 passes");
}

// ------------------------------------------------------------- the docs side

fn root_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A Markdown page's headings (level, the paths named in its code spans,
/// first line, end line of its section) and lines.
struct Page {
    name: String,
    lines: Vec<String>,
    /// Whether each line lies in a fenced code block.
    fenced: Vec<bool>,
    headings: Vec<Heading>,
}

struct Heading {
    level: usize,
    text: String,
    paths: Vec<String>,
    start: usize,
    end: usize,
}

/// The text of each code span in `line`.
fn code_spans(line: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut rest = line;
    while let Some(a) = rest.find('`') {
        let ticks = rest[a..].chars().take_while(|&c| c == '`').count();
        let open = &rest[a..a + ticks];
        let after = &rest[a + ticks..];
        match after.find(open) {
            Some(b) => {
                out.push(after[..b].trim());
                rest = &after[b + ticks..];
            }
            None => break,
        }
    }
    out
}

/// `[[populations]]` → `populations`; `projections.connect` stays.
fn table_path(span: &str) -> String {
    span.trim_matches(|c| c == '[' || c == ']')
        .trim()
        .to_string()
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

impl Page {
    fn read(rel: &str) -> Page {
        let text =
            std::fs::read_to_string(root_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let mut fenced = vec![false; lines.len()];
        let mut fence: Option<String> = None;
        let mut headings: Vec<Heading> = vec![];
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                let mark: String = t.chars().take_while(|&c| c == '`' || c == '~').collect();
                match &fence {
                    None => fence = Some(mark),
                    Some(m) if t.trim_end() == m.as_str() => fence = None,
                    _ => {}
                }
                fenced[i] = true;
                continue;
            }
            fenced[i] = fence.is_some();
            if fence.is_none() && line.starts_with('#') {
                let level = line.chars().take_while(|&c| c == '#').count();
                if level <= 6 && line[level..].starts_with(' ') {
                    let text = line[level..].trim().to_string();
                    let paths = code_spans(&text).into_iter().map(table_path).collect();
                    headings.push(Heading {
                        level,
                        text,
                        paths,
                        start: i,
                        end: lines.len(),
                    });
                }
            }
        }
        for i in 0..headings.len() {
            let level = headings[i].level;
            if let Some(next) = headings[i + 1..].iter().find(|h| h.level <= level) {
                headings[i].end = next.start;
            }
        }
        Page {
            name: rel.to_string(),
            lines,
            fenced,
            headings,
        }
    }

    /// The words documented in lines `a..b`: words of code spans, and keys
    /// set (`key = `) or tables opened (`[a.b]`) in fenced blocks.
    fn documented(&self, a: usize, b: usize) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for i in a..b {
            let line = &self.lines[i];
            if self.fenced[i] {
                let t = line.trim();
                if let Some((k, _)) = t.split_once('=') {
                    out.extend(words(k).map(String::from));
                } else if t.starts_with('[') {
                    out.extend(words(t).map(String::from));
                }
                // `"*" = { ... }` and inline tables: every word before an `=`.
                for part in t.split(['{', ',']) {
                    if let Some((k, _)) = part.split_once('=') {
                        out.extend(words(k).map(String::from));
                    }
                }
                // String values (`"hlop"`) and the values a comment lists
                // (`# digits | idx`).
                for (i, quoted) in t.split('"').enumerate() {
                    if i % 2 == 1 {
                        out.extend(words(quoted).map(String::from));
                    }
                }
                if let Some((_, comment)) = t.split_once('#') {
                    out.extend(words(comment).map(String::from));
                }
            } else {
                for span in code_spans(line) {
                    out.extend(words(span).map(String::from));
                }
            }
        }
        out
    }

    /// The section that documents the table at `path`: the heading naming the
    /// longest prefix of it; the whole page for the root (`""`).
    fn section(&self, path: &str) -> Option<(usize, usize, String)> {
        if path.is_empty() {
            return Some((0, self.lines.len(), "the whole page".into()));
        }
        let mut best: Option<(usize, &Heading)> = None;
        for h in &self.headings {
            for p in &h.paths {
                let matches = p == path || path.starts_with(&format!("{p}."));
                if matches && !p.is_empty() && best.is_none_or(|(l, _)| p.len() > l) {
                    best = Some((p.len(), h));
                }
            }
        }
        best.map(|(_, h)| (h.start, h.end, format!("section '{}'", h.text)))
    }
}

#[test]
fn reference_pages_document_every_key_of_the_file_formats() {
    let roots = [
        "docs/reference/model-file.md",
        "docs/reference/experiment-file.md",
        "docs/reference/continual-file.md",
        "docs/reference/rules-file.md",
    ];
    let reg = RefCell::new(Registry::default());
    trace::<astroglia::model::Network>(&reg, 0);
    trace::<astroglia::experiment::lsm::config::Experiment>(&reg, 1);
    trace::<astroglia::experiment::continual::config::Continual>(&reg, 2);
    trace::<RulesFile>(&reg, 3);
    let reg = reg.into_inner();
    if std::env::var_os("ASTROGLIA_DOCS_TRACE").is_some() {
        for (id, t) in &reg.tables {
            eprintln!(
                "{id}\n  keys {:?}\n  values {:?}\n  at {:?}",
                t.keys, t.values, t.paths
            );
        }
    }
    // A type the trace could not open would leave its keys unchecked.
    let stuck: Vec<&String> = reg
        .any
        .iter()
        .filter(|(_, s)| matches!(s, AnyState::Probe))
        .map(|(p, _)| p)
        .collect();
    assert!(stuck.is_empty(), "untraced: {stuck:?}");
    assert!(
        reg.tables.len() > 40,
        "only {} tables traced",
        reg.tables.len()
    );

    let pages: Vec<Page> = roots.iter().map(|r| Page::read(r)).collect();
    let mut problems = vec![];
    for (id, t) in &reg.tables {
        let wanted: BTreeSet<&String> = t.keys.iter().chain(&t.values).collect();
        let mut tried = vec![];
        let mut ok = false;
        for (root, path) in &t.paths {
            let page = &pages[*root];
            match page.section(path) {
                None => tried.push(format!("{}: no heading names `{path}`", page.name)),
                Some((a, b, what)) => {
                    let have = page.documented(a, b);
                    let missing: Vec<&&String> = wanted
                        .iter()
                        .filter(|k| !have.contains(k.as_str()))
                        .collect();
                    if missing.is_empty() {
                        ok = true;
                        break;
                    }
                    tried.push(format!(
                        "{}: {what} (for `{path}`) lacks {missing:?}",
                        page.name
                    ));
                }
            }
        }
        if !ok {
            problems.push(format!("{id}:\n    {}", tried.join("\n    ")));
        }
    }
    assert!(
        problems.is_empty(),
        "undocumented keys ({}):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// The rules file of `astroglia compare` (private in the crate): `[[rules]]`,
/// each a `name` (which the page documents too) and the keys of one rule
/// table, and user rules.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RulesFile {
    rules: Vec<astroglia::experiment::compare::RuleTable>,
    #[serde(default)]
    synapse_models: Vec<astroglia::model::SynapseModelSpec>,
}

// --------------------------------------------------------------- the links

/// GitHub's anchor of a heading: lower case, spaces to `-`, punctuation
/// other than `-` and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(page: &Page) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for h in &page.headings {
        let s = slug(&h.text.replace('`', ""));
        let n = seen.entry(s.clone()).or_insert(0);
        out.insert(if *n == 0 {
            s.clone()
        } else {
            format!("{s}-{n}")
        });
        *n += 1;
    }
    out
}

fn markdown_files() -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let r = format!("{rel}/{name}");
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &r, out);
            } else if name.ends_with(".md") {
                out.push(r);
            }
        }
    }
    let mut out = vec!["README.md".to_string(), "ARCHITECTURE.md".to_string()];
    walk(&root_dir().join("docs"), "docs", &mut out);
    out.sort();
    out
}

/// `[text](target)` links outside code: their targets.
fn link_targets(page: &Page) -> Vec<(usize, String)> {
    let mut out = vec![];
    for (i, line) in page.lines.iter().enumerate() {
        if page.fenced[i] {
            continue;
        }
        // Drop code spans: `[a](b)` inside them is not a link.
        let mut plain = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                plain.push(c);
            }
        }
        let mut rest = plain.as_str();
        while let Some(a) = rest.find("](") {
            let after = &rest[a + 2..];
            let Some(b) = after.find(')') else { break };
            out.push((i + 1, after[..b].trim().to_string()));
            rest = &after[b..];
        }
    }
    out
}

#[test]
fn relative_links_in_the_docs_resolve() {
    let root = root_dir();
    let mut problems = vec![];
    let mut pages: BTreeMap<PathBuf, Page> = BTreeMap::new();
    let files = markdown_files();
    for f in &files {
        pages.insert(root.join(f), Page::read(f));
    }
    let mut links = 0;
    for f in &files {
        let page = &pages[&root.join(f)];
        for (line, target) in link_targets(page) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            links += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let path = if file.is_empty() {
                root.join(f)
            } else {
                root.join(f).parent().unwrap().join(file)
            };
            if !path.exists() {
                problems.push(format!("{f}:{line}: {target}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                let Ok(canon) = path.canonicalize() else {
                    continue;
                };
                let rel = canon.strip_prefix(root.canonicalize().unwrap()).unwrap();
                let key = root.join(rel);
                if !key.to_string_lossy().ends_with(".md") {
                    continue;
                }
                if !pages.contains_key(&key) {
                    pages.insert(key.clone(), Page::read(&rel.to_string_lossy()));
                }
                if !anchors(&pages[&key]).contains(anchor) {
                    problems.push(format!("{f}:{line}: {target}: no heading with that anchor"));
                }
            }
        }
    }
    assert!(links > 20, "only {links} relative links found");
    assert!(
        problems.is_empty(),
        "broken links:\n  {}",
        problems.join("\n  ")
    );
}
