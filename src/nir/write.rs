//! Writing a [`Nir`] as a `.nir` HDF5 file, the layout `nir.write` produces.
use super::graph::{Graph, Nir, Value};
use crate::error::{Error, Result};
use crate::record::TempFile;
use ::hdf5::types::VarLenUnicode;
use ::hdf5::{File, Group, H5Type};
use std::path::Path;

/// Writes `nir` to `path` atomically (temporary file, then rename), checking the
/// graph first as [`super::read`] would. Strings are variable-length UTF-8 and
/// arrays keep their dtype (float32, float64, int64); non-scalar arrays are
/// gzip-compressed, as the reference `nir.write` does by default.
///
/// ```no_run
/// let nir = astroglia::nir::read("in.nir").unwrap();
/// astroglia::nir::write(&nir, "out.nir").unwrap();
/// ```
pub fn write(nir: &Nir, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    super::read::check(&nir.graph, "/node")
        .map_err(|m| Error::io(path, format!("invalid graph: {m}")))?;
    let tmp = TempFile::new(path)?;
    write_file(tmp.path(), nir).map_err(|e| Error::io(path, e))?;
    std::fs::File::open(tmp.path())
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))?;
    tmp.commit()?;
    super::source::remember(nir, path);
    Ok(())
}

fn write_file(path: &Path, nir: &Nir) -> ::hdf5::Result<()> {
    let file = File::create(path)?;
    write_str(&file, "version", &nir.version)?;
    let root = file.create_group("node")?;
    write_graph(&root, &nir.graph)
}

fn write_graph(g: &Group, graph: &Graph) -> ::hdf5::Result<()> {
    write_str(g, "type", "NIRGraph")?;
    let flat: Vec<VarLenUnicode> = graph
        .edges
        .iter()
        .flatten()
        .map(|s| vlen(s))
        .collect::<::hdf5::Result<_>>()?;
    g.new_dataset::<VarLenUnicode>()
        .shape([graph.edges.len(), 2])
        .create("edges")?
        .write_raw(&flat)?;
    let nodes = g.create_group("nodes")?;
    for (name, node) in &graph.nodes {
        let ng = nodes.create_group(name)?;
        if let Some(sub) = &node.graph {
            write_graph(&ng, sub)?;
            continue;
        }
        write_str(&ng, "type", &node.kind)?;
        for (k, v) in &node.params {
            match v {
                Value::F32 { shape, data } => write_array(&ng, k, shape, data)?,
                Value::F64 { shape, data } => write_array(&ng, k, shape, data)?,
                Value::I64 { shape, data } => write_array(&ng, k, shape, data)?,
                Value::Str { value } => write_str(&ng, k, value)?,
            }
        }
    }
    Ok(())
}

fn vlen(s: &str) -> ::hdf5::Result<VarLenUnicode> {
    s.parse::<VarLenUnicode>()
        .map_err(|e| format!("string {s:?} cannot be stored: {e}").into())
}

fn write_str(g: &Group, name: &str, s: &str) -> ::hdf5::Result<()> {
    g.new_dataset::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&vlen(s)?)
}

fn write_array<T: H5Type>(
    g: &Group,
    name: &str,
    shape: &[usize],
    data: &[T],
) -> ::hdf5::Result<()> {
    let ds = if shape.is_empty() || data.is_empty() {
        g.new_dataset::<T>().shape(shape).create(name)?
    } else {
        g.new_dataset::<T>().deflate(4).shape(shape).create(name)?
    };
    ds.write_raw(data)
}
