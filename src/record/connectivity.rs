//! Connectivity files: every projection's synapses, as `astroglia run
//! --save-connectivity` writes them and the `file` connect rule reads them.
//!
//! ```text
//! /                          attrs: format = "astroglia-connectivity", version = 1,
//!                                   model, dt_ms, instance
//! /projections/<label>/      one group per projection (its `name`, or `from->to`)
//!     pre       u32 [n]      presynaptic local id (within `from`)
//!     post      u32 [n]      postsynaptic local id (within `to`)
//!     weight    f64 [n]      weight in `weight_unit`, as the engine runs it
//!     delay_ms  f64 [n]      delay, a whole number of steps of dt_ms
//!     attrs: from, to, receptor ("exc" | "inh"), weight_unit, plastic (0 | 1),
//!            dt_ms, n_synapses
//! ```
//!
//! Synapses are in the engine's order (by `pre`, then ascending `post`), so
//! reading a file back costs no sort. The arrays are written [`CHUNK`]
//! synapses at a time from the engine's own: a projection is never copied
//! whole (a plastic one's current weights excepted). The file is built under
//! a temporary name in the same directory, synced, then renamed over `path`.
use std::path::Path;

use ::hdf5::types::VarLenUnicode;
use ::hdf5::{File, H5Type, Location};

use super::TempFile;
use crate::sim::Simulator;
use crate::{Error, Result};

/// Synapses written per call to libhdf5.
pub const CHUNK: usize = 1 << 18;

/// The `format` attribute on the root of a connectivity file.
pub const FORMAT: &str = "astroglia-connectivity";

/// Writes every projection of `sim`'s `instance` to `path` in the layout above:
/// connectivity and delays as built, weights as they are now (a plastic
/// projection's learnt ones).
pub fn write_connectivity(path: &Path, sim: &mut Simulator, instance: usize) -> Result<()> {
    let names = sim.projection_names();
    for name in &names {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            return Err(Error::io(
                path,
                format!(
                    "projection name {name:?} cannot name an HDF5 group (non-empty, not '.', \
                     no '/' or NUL); give the projection another `name`"
                ),
            ));
        }
    }
    let tmp = TempFile::new(path)?;
    write_file(tmp.path(), path, sim, instance, &names).map_err(|e| match e {
        Written::Hdf5(e) => Error::io(path, e),
        Written::Sim(e) => e,
    })?;
    // HDF5 has closed the file; fsync it before the rename so a crash cannot
    // leave a renamed-but-empty file.
    std::fs::File::open(tmp.path())
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))?;
    tmp.commit()
}

/// A failure while writing: libhdf5's, or the simulator's (reading weights).
enum Written {
    Hdf5(::hdf5::Error),
    Sim(Error),
}

impl From<::hdf5::Error> for Written {
    fn from(e: ::hdf5::Error) -> Self {
        Written::Hdf5(e)
    }
}

/// Writes the file at `path` (errors name `target`, the file it becomes).
fn write_file(
    path: &Path,
    target: &Path,
    sim: &mut Simulator,
    instance: usize,
    names: &[String],
) -> std::result::Result<(), Written> {
    let file = File::create(path)?;
    str_attr(&file, "format", FORMAT)?;
    scalar_attr(&file, "version", &1u32)?;
    str_attr(&file, "model", sim.model_name())?;
    scalar_attr(&file, "dt_ms", &sim.dt_ms())?;
    scalar_attr(&file, "instance", &(instance as u64))?;
    let projections = file.create_group("projections")?;
    for (k, name) in names.iter().enumerate() {
        let h = sim.synapse_header(k);
        let n = sim.projection_len(k);
        let g = projections.create_group(name)?;
        str_attr(&g, "from", &h.from)?;
        str_attr(&g, "to", &h.to)?;
        str_attr(
            &g,
            "receptor",
            match h.receptor {
                crate::model::Receptor::Exc => "exc",
                crate::model::Receptor::Inh => "inh",
            },
        )?;
        str_attr(&g, "weight_unit", &h.weight_unit)?;
        scalar_attr(&g, "plastic", &u8::from(h.plastic))?;
        scalar_attr(&g, "dt_ms", &h.dt_ms)?;
        scalar_attr(&g, "n_synapses", &(n as u64))?;
        let pre = g.new_dataset::<u32>().shape(n).create("pre")?;
        let post = g.new_dataset::<u32>().shape(n).create("post")?;
        let weight = g.new_dataset::<f64>().shape(n).create("weight")?;
        let delay = g.new_dataset::<f64>().shape(n).create("delay_ms")?;
        let mut at = 0usize;
        sim.synapse_chunks(instance, k, CHUNK, |p, q, w, d| {
            let r = at..at + p.len();
            let io = |e: ::hdf5::Error| Error::io(target, e);
            pre.write_slice(p, r.clone()).map_err(io)?;
            post.write_slice(q, r.clone()).map_err(io)?;
            weight.write_slice(w, r.clone()).map_err(io)?;
            delay.write_slice(d, r).map_err(io)?;
            at += p.len();
            Ok(())
        })
        .map_err(Written::Sim)?;
    }
    drop(projections);
    Ok(file.close()?)
}

fn scalar_attr<T: H5Type>(loc: &Location, name: &str, value: &T) -> ::hdf5::Result<()> {
    loc.new_attr::<T>()
        .shape(())
        .create(name)?
        .write_scalar(value)
}

fn str_attr(loc: &Location, name: &str, value: &str) -> ::hdf5::Result<()> {
    let v: VarLenUnicode = value.parse().map_err(|e| format!("{e}"))?;
    scalar_attr(loc, name, &v)
}
