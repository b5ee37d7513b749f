//! Reading `.nir` HDF5 files into a [`Nir`], with errors located by HDF5 path.
use super::graph::{Graph, check_node};
#[cfg(feature = "hdf5")]
use super::graph::{Nir, Node, Value};
#[cfg(feature = "hdf5")]
use crate::error::{Error, Result};
#[cfg(feature = "hdf5")]
use ::hdf5::types::{FloatSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
#[cfg(feature = "hdf5")]
use ::hdf5::{Dataset, Group};
#[cfg(feature = "hdf5")]
use std::collections::{BTreeSet, HashMap};
#[cfg(feature = "hdf5")]
use std::path::Path;

/// The most levels of nested `NIRGraph`s a file may have (the top-level graph is
/// level 1): real files use two; the limit keeps a deeply nested (or linked)
/// file from exhausting the stack, or memory with its long paths.
pub const MAX_DEPTH: usize = 64;

/// The most elements one dataset may hold (256 MiB of float32), checked from its
/// shape before its data is read: a few kB of gzip-compressed zeros can declare
/// gigabytes.
pub const MAX_DATASET_ELEMENTS: usize = 1 << 26;

#[cfg(feature = "hdf5")]
/// Reads a `.nir` file (any version seen so far: 0.1.1, 0.2.0, 1.x; plain or
/// gzip-compressed datasets) and checks it: every node type known, every
/// required dataset present with a consistent shape, every edge naming an
/// existing node (in nested graphs too). Every problem found is listed, each
/// with its HDF5 path. libhdf5 reads the file in a child process
/// (`crate::isolated`): a corrupt file that crashes or hangs it gives an error.
///
/// ```no_run
/// let nir = astroglia::nir::read("lif_norse.nir").unwrap();
/// assert_eq!(nir.graph.nodes["1"].kind, "LIF");
/// ```
pub fn read(path: impl AsRef<Path>) -> Result<Nir> {
    let path = path.as_ref();
    let fail = |m: String| Error::data(path, m);
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    let file = path.to_path_buf();
    let (version, graph, mut problems) =
        crate::isolated::run(path, move || read_groups(&file))?.map_err(fail)?;
    if let Some(g) = &graph {
        check_graph(g, "/node", 1, &mut problems);
    }
    match graph {
        Some(graph) if problems.is_empty() => {
            let nir = Nir { version, graph };
            super::source::remember(&nir, path);
            Ok(nir)
        }
        _ => Err(fail(problems.join("; "))),
    }
}

#[cfg(feature = "hdf5")]
/// What the reading process found: the version, the graph as far as it could
/// be read, and the problems met on the way.
type Groups = (String, Option<Graph>, Vec<String>);

#[cfg(feature = "hdf5")]
/// In the reading process ([`crate::isolated`]): the file's HDF5 groups as a
/// graph; `Err` for a problem that stops the reading.
fn read_groups(path: &Path) -> std::result::Result<Groups, String> {
    let file =
        crate::record::hdf5::open_unlocked(path).map_err(|e| format!("not an HDF5 file: {e}"))?;
    let version = match file.dataset("version") {
        Ok(ds) => read_string(&ds).map_err(|m| format!("/version: {m}"))?,
        Err(_) => return Err("/version: missing (is this a NIR file?)".into()),
    };
    let root = file
        .group("node")
        .map_err(|_| "/node: missing group (the top-level NIRGraph)".to_string())?;
    let mut walk = Walk {
        seen: HashMap::new(),
        problems: vec![],
    };
    let graph = walk.graph(&root, "/node", 1);
    Ok((version, graph, walk.problems))
}

/// Checks a graph already in memory (built in code or deserialised) the way
/// [`read`] checks a file; `at` prefixes the messages.
pub fn check(graph: &Graph, at: &str) -> std::result::Result<(), String> {
    let mut problems = vec![];
    check_graph(graph, at, 1, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Checks graph `g` at path `at`, `depth` graphs deep.
fn check_graph(g: &Graph, at: &str, depth: usize, problems: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        problems.push(format!(
            "{at}: graphs nested {depth} deep, more than the limit of {MAX_DEPTH}"
        ));
        return;
    }
    for (name, node) in &g.nodes {
        let here = format!("{at}/nodes/{name}");
        match (&node.graph, node.kind.as_str()) {
            (Some(sub), "NIRGraph") => check_graph(sub, &here, depth + 1, problems),
            (None, "NIRGraph") => {
                problems.push(format!("{here}: NIRGraph node without nodes/edges"))
            }
            _ => check_node(&here, node, problems),
        }
    }
    for (i, [src, dst]) in g.edges.iter().enumerate() {
        for (end, name) in [("source", src), ("destination", dst)] {
            if !g.nodes.contains_key(name) {
                problems.push(format!(
                    "{at}/edges[{i}]: edge '{src}' -> '{dst}' references {end} node '{name}', which does not exist in this graph (nodes: {})",
                    g.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
}

#[cfg(feature = "hdf5")]
/// Walks the HDF5 groups of a graph, remembering every graph group read, so
/// that links cannot make the walk endless (a link back to an ancestor) or
/// exponential (one group linked from many places).
struct Walk {
    /// Every graph group read so far: (file number and object token) → its path.
    seen: HashMap<String, String>,
    problems: Vec<String>,
}

#[cfg(feature = "hdf5")]
impl Walk {
    /// Reads the graph in group `g` at path `at`, `depth` graphs deep.
    fn graph(&mut self, g: &Group, at: &str, depth: usize) -> Option<Graph> {
        if depth > MAX_DEPTH {
            self.problems.push(format!(
                "{at}: graphs nested {depth} deep, more than the limit of {MAX_DEPTH}"
            ));
            return None;
        }
        self.first_visit(g, at)?;
        let nodes_group = match g.group("nodes") {
            Ok(n) => n,
            Err(_) => {
                self.problems.push(format!("{at}/nodes: missing group"));
                return None;
            }
        };
        let mut graph = Graph::default();
        let names = match nodes_group.member_names() {
            Ok(n) => n,
            Err(e) => {
                self.problems
                    .push(format!("{at}/nodes: cannot list members: {e}"));
                return None;
            }
        };
        for name in names {
            let here = format!("{at}/nodes/{name}");
            let Ok(ng) = nodes_group.group(&name) else {
                self.problems.push(format!("{here}: expected a node group"));
                continue;
            };
            if let Some(node) = self.node(&ng, &here, depth) {
                graph.nodes.insert(name, node);
            }
        }
        match g.dataset("edges") {
            Ok(ds) => match read_edges(&ds) {
                Ok(e) => graph.edges = e,
                Err(m) => self.problems.push(format!("{at}/edges: {m}")),
            },
            Err(_) => self.problems.push(format!("{at}/edges: missing dataset")),
        }
        Some(graph)
    }

    /// Records that the group `g` is read at `at`; `None` (and a problem naming
    /// both paths) if it was read before through another link.
    fn first_visit(&mut self, g: &Group, at: &str) -> Option<()> {
        let info = match g.loc_info() {
            Ok(i) => i,
            Err(e) => {
                self.problems
                    .push(format!("{at}: cannot identify the group: {e}"));
                return None;
            }
        };
        // `LocationToken` has no `Hash`; its `Debug` form is the object's address.
        let key = format!("{}:{:?}", info.fileno, info.token);
        let Some(before) = self.seen.get(&key) else {
            self.seen.insert(key, at.to_string());
            return Some(());
        };
        let message = if at.starts_with(&format!("{before}/")) {
            format!("{at}: a link back to its ancestor {before} (a cycle)")
        } else {
            format!("{at}: the same group as {before} (linked twice)")
        };
        self.problems.push(message);
        None
    }

    fn node(&mut self, g: &Group, at: &str, depth: usize) -> Option<Node> {
        let kind = match g.dataset("type") {
            Ok(ds) => match read_string(&ds) {
                Ok(s) => s,
                Err(m) => {
                    self.problems.push(format!("{at}/type: {m}"));
                    return None;
                }
            },
            Err(_) => {
                self.problems.push(format!("{at}/type: missing dataset"));
                return None;
            }
        };
        let mut node = Node {
            kind,
            params: Default::default(),
            graph: None,
        };
        if node.kind == "NIRGraph" {
            node.graph = self.graph(g, at, depth + 1);
            return Some(node);
        }
        let members = g.member_names().unwrap_or_default();
        // Metadata never changes execution; it is not kept (documented in the module).
        let skip: BTreeSet<&str> = ["type", "metadata"].into();
        for k in members.iter().filter(|k| !skip.contains(k.as_str())) {
            let here = format!("{at}/{k}");
            let Ok(ds) = g.dataset(k) else {
                self.problems
                    .push(format!("{here}: expected a dataset, found a group"));
                continue;
            };
            match read_value(&ds) {
                Ok(v) => {
                    node.params.insert(k.clone(), v);
                }
                Err(m) => self.problems.push(format!("{here}: {m}")),
            }
        }
        Some(node)
    }
}

#[cfg(feature = "hdf5")]
/// Refuses a dataset of more than [`MAX_DATASET_ELEMENTS`] before reading it: a
/// gzip-compressed array of zeros of a few kB could otherwise fill the memory.
fn check_size(ds: &Dataset) -> std::result::Result<(), String> {
    let n = ds.size();
    if n > MAX_DATASET_ELEMENTS {
        return Err(format!(
            "shape {:?} has {n} elements, more than the {MAX_DATASET_ELEMENTS} a dataset may hold",
            ds.shape()
        ));
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn read_value(ds: &Dataset) -> std::result::Result<Value, String> {
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| format!("unreadable datatype: {e}"))?;
    check_size(ds)?;
    let shape = ds.shape();
    let err = |e: ::hdf5::Error| format!("cannot read: {e}");
    Ok(match desc {
        TypeDescriptor::Float(FloatSize::U4) => Value::F32 {
            shape,
            data: ds.read_raw().map_err(err)?,
        },
        TypeDescriptor::Float(_) => Value::F64 {
            shape,
            data: ds.read_raw().map_err(err)?,
        },
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => Value::I64 {
            shape,
            data: ds.read_raw().map_err(err)?,
        },
        TypeDescriptor::VarLenUnicode
        | TypeDescriptor::VarLenAscii
        | TypeDescriptor::FixedAscii(_)
        | TypeDescriptor::FixedUnicode(_) => Value::Str {
            value: read_string(ds)?,
        },
        other => return Err(format!("unsupported datatype {other:?}")),
    })
}

#[cfg(feature = "hdf5")]
/// A scalar string dataset (variable-length UTF-8 as h5py writes it, or ASCII).
fn read_string(ds: &Dataset) -> std::result::Result<String, String> {
    let v = read_strings(ds)?;
    match (ds.ndim(), v.len()) {
        (0, 1) => Ok(v.into_iter().next().expect("one")),
        _ => Err(format!(
            "expected a scalar string, found shape {:?}",
            ds.shape()
        )),
    }
}

#[cfg(feature = "hdf5")]
fn read_strings(ds: &Dataset) -> std::result::Result<Vec<String>, String> {
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| format!("unreadable datatype: {e}"))?;
    check_size(ds)?;
    let err = |e: ::hdf5::Error| format!("cannot read strings: {e}");
    match desc {
        TypeDescriptor::VarLenUnicode => Ok(ds
            .read_raw::<VarLenUnicode>()
            .map_err(err)?
            .iter()
            .map(|s| s.to_string())
            .collect()),
        TypeDescriptor::VarLenAscii => Ok(ds
            .read_raw::<VarLenAscii>()
            .map_err(err)?
            .iter()
            .map(|s| s.to_string())
            .collect()),
        other => Err(format!("expected variable-length strings, found {other:?}")),
    }
}

#[cfg(feature = "hdf5")]
fn read_edges(ds: &Dataset) -> std::result::Result<Vec<[String; 2]>, String> {
    let shape = ds.shape();
    let flat = read_strings(ds)?;
    if flat.is_empty() && shape.iter().product::<usize>() == 0 {
        return Ok(vec![]);
    }
    if shape.len() != 2 || shape[1] != 2 {
        return Err(format!(
            "expected shape (E, 2) of node names, found {shape:?}"
        ));
    }
    Ok(flat
        .chunks(2)
        .map(|c| [c[0].clone(), c[1].clone()])
        .collect())
}
