//! What the `file` connect rule reads ([`super::file`]), in the engine's terms.
use super::Rows;
use crate::build::Delays;
use crate::model::Receptor;

/// Per-synapse weights read from a file (model units), in CSR order.
// Only the HDF5 reader makes them.
#[cfg_attr(not(feature = "hdf5"), allow(dead_code))]
#[derive(Debug)]
pub(crate) enum FileWeights {
    /// Every synapse has this weight (kept as one value, as a constant weight is).
    Same(f64),
    /// One weight per synapse.
    Each(Vec<f64>),
}

/// A projection's synapses as read from its file.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// CSR rows (targets ascending within a row).
    pub rows: Rows,
    /// The file's weights, when it has a `weight` dataset.
    pub weights: Option<FileWeights>,
    /// The file's delays in steps, when it has a `delay_ms` dataset.
    pub delays: Option<Delays>,
    /// The receptor the file names (its `receptor` attribute), else `inh`
    /// when its weights are all <= 0 and some < 0.
    pub receptor: Option<Receptor>,
}
