//! The `file` connect rule in a build without the `hdf5` feature: opening a
//! connectivity file fails with [`Error::MissingFeature`].
use super::Ends;
pub(crate) use super::loaded::{FileWeights, Loaded};
use crate::error::{Error, Result};
use std::path::Path;

/// A connectivity file, which this build cannot open.
#[derive(Debug)]
pub(crate) enum Source {}

impl Source {
    /// Fails: reading the file needs libhdf5.
    pub(crate) fn open(path: &Path, _group: &str, what: &str) -> Result<Self> {
        let what = format!("{what}: the connectivity file {}", path.display());
        Err(Error::missing_feature("hdf5", what))
    }

    /// Never called: no `Source` exists.
    pub(crate) fn known(&self) -> crate::build::memory::Known {
        match *self {}
    }

    /// Never called: no `Source` exists.
    pub(crate) fn load(self, _: &Ends, _: f64, _: bool) -> Result<Loaded> {
        match self {}
    }
}
