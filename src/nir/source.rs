//! The link from an imported model back to its NIR file: the graph's digest
//! and the `.nir` files this process read or wrote, so that the export of an
//! unchanged imported model can re-read the original graph (the model keeps
//! only a [`NirSource`], never the graph).
use super::graph::{Graph, Nir, Value};
use crate::model::NirSource;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
#[cfg(feature = "hdf5")]
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Digest → the file last read or written with that graph, in this process.
fn files() -> &'static Mutex<BTreeMap<String, PathBuf>> {
    static FILES: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    FILES.get_or_init(Default::default)
}

/// Records that `path` holds `nir` (after a read or a write).
#[cfg(feature = "hdf5")]
pub(super) fn remember(nir: &Nir, path: &Path) {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut files = files().lock().unwrap_or_else(|e| e.into_inner());
    files.insert(digest(nir), path);
}

/// The reference an imported model keeps to `nir`: its digest and, when this
/// process read or wrote it, its file.
pub(super) fn source_of(nir: &Nir) -> NirSource {
    let sha256 = digest(nir);
    let files = files().lock().unwrap_or_else(|e| e.into_inner());
    NirSource {
        path: files.get(&sha256).cloned(),
        sha256,
    }
}

/// The graph `src` refers to: its file (or the last one this process read or
/// wrote with that digest) read again, if it still holds that graph.
#[cfg(feature = "hdf5")]
pub(super) fn resolve(src: &NirSource) -> Option<Nir> {
    let known = files()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&src.sha256)
        .cloned();
    src.path
        .iter()
        .chain(known.iter())
        .filter_map(|p| super::read::read(p).ok())
        .find(|nir| digest(nir) == src.sha256)
}

/// Without the `hdf5` feature no file can be read again: the model is translated.
#[cfg(not(feature = "hdf5"))]
pub(super) fn resolve(_src: &NirSource) -> Option<Nir> {
    None
}

/// SHA-256 (lowercase hex) of a graph's content: the version, every node's
/// name, type and datasets (dtype, shape, bits) and nested graph, and the edges.
pub fn digest(nir: &Nir) -> String {
    let mut bytes = vec![];
    put_str(&mut bytes, &nir.version);
    put_graph(&mut bytes, &nir.graph);
    format!("{:x}", Sha256::digest(&bytes))
}

fn put_len(b: &mut Vec<u8>, n: usize) {
    b.extend((n as u64).to_le_bytes());
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put_len(b, s.len());
    b.extend(s.as_bytes());
}

fn put_graph(b: &mut Vec<u8>, g: &Graph) {
    put_len(b, g.nodes.len());
    for (name, node) in &g.nodes {
        put_str(b, name);
        put_str(b, &node.kind);
        put_len(b, node.params.len());
        for (key, v) in &node.params {
            put_str(b, key);
            put_value(b, v);
        }
        match &node.graph {
            None => b.push(0),
            Some(sub) => {
                b.push(1);
                put_graph(b, sub);
            }
        }
    }
    put_len(b, g.edges.len());
    for [from, to] in &g.edges {
        put_str(b, from);
        put_str(b, to);
    }
}

fn put_value(b: &mut Vec<u8>, v: &Value) {
    let shape = |b: &mut Vec<u8>, s: &[usize]| {
        put_len(b, s.len());
        s.iter().for_each(|&d| put_len(b, d));
    };
    match v {
        Value::F32 { shape: s, data } => {
            b.push(0);
            shape(b, s);
            put_len(b, data.len());
            data.iter()
                .for_each(|x| b.extend(x.to_bits().to_le_bytes()));
        }
        Value::F64 { shape: s, data } => {
            b.push(1);
            shape(b, s);
            put_len(b, data.len());
            data.iter()
                .for_each(|x| b.extend(x.to_bits().to_le_bytes()));
        }
        Value::I64 { shape: s, data } => {
            b.push(2);
            shape(b, s);
            put_len(b, data.len());
            data.iter().for_each(|x| b.extend(x.to_le_bytes()));
        }
        Value::Str { value } => {
            b.push(3);
            put_str(b, value);
        }
    }
}

#[cfg(all(test, feature = "hdf5"))]
mod tests {
    use super::*;

    #[test]
    fn a_source_resolves_while_its_file_holds_the_graph() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nir/two_lif_neurons.nir");
        let mut nir = super::super::read(&data).unwrap();
        // A graph of its own, so no other test's reads move its entry.
        nir.version = "0.0.0-source-test".into();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.nir");
        super::super::write(&nir, &file).unwrap();
        let src = source_of(&nir);
        assert_eq!(src.path, Some(std::fs::canonicalize(&file).unwrap()));
        assert_eq!(src.sha256.len(), 64);
        assert_eq!(resolve(&src), Some(nir.clone()));
        // Another graph's digest does not resolve to this file.
        let mut other = nir.clone();
        other.version.push('x');
        let wrong = NirSource {
            sha256: digest(&other),
            ..src.clone()
        };
        assert_eq!(resolve(&wrong), None);
        // Bits count: -0 and 0 differ.
        let zero = |x: f32| {
            let mut g = nir.clone();
            g.graph
                .nodes
                .values_mut()
                .next()
                .unwrap()
                .params
                .insert("z".into(), Value::f32(&[], vec![x]));
            digest(&g)
        };
        assert_ne!(zero(0.0), zero(-0.0));
        std::fs::remove_file(&file).unwrap();
        assert_eq!(resolve(&src), None);
    }
}
