//! Datasets and input encoders: N-MNIST event files, SHD/SSC HDF5 spike files,
//! IDX image sets (MNIST, Fashion-MNIST), the scikit-learn digits, and encoders that
//! turn images or events into per-step input spike lists.
//!
//! Every reader implements [`SampleSource`]: labelled samples addressed by index,
//! read lazily where the format allows. Every problem with a file is an
//! [`Error::Data`] naming the file and what is wrong.
//!
//! ```
//! use astroglia::data::{digits::Digits, encode, SampleSource, SampleData};
//! let mut digits = Digits::embedded().unwrap();
//! assert_eq!((digits.len(), digits.n_classes(), digits.n_channels()), (1797, 10, 64));
//! let sample = digits.get(0).unwrap();
//! let SampleData::Image { pixels, .. } = &sample.data else { unreachable!() };
//! let spikes = encode::poisson(pixels, 100.0, 1.0, 50, 7).unwrap();
//! assert_eq!((sample.label, spikes.steps.len()), (0, 50));
//! ```
use crate::error::{Error, Result};

pub mod digits;
pub mod encode;
pub mod events;
pub mod idx;
pub mod mnist;
pub mod nmnist;
#[cfg(feature = "hdf5")]
pub mod shd;

pub use events::{Event, Events, Sensor};

/// Which half of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training samples.
    Train,
    /// Test samples.
    Test,
}

/// The input of one sample.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleData {
    /// A grey-level image, row-major, values in `[0, 1]`.
    Image {
        /// `dims.iter().product()` values.
        pixels: Vec<f32>,
        /// Shape, e.g. `[28, 28]` or `[8, 8]`.
        dims: Vec<usize>,
    },
    /// Events (camera or spike recordings).
    Events(Events),
}

/// One labelled sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its index in the source.
    pub index: usize,
    /// Class, `< n_classes`.
    pub label: usize,
    /// The input.
    pub data: SampleData,
}

/// Labelled samples addressed by index; readers load a sample only when asked.
pub trait SampleSource {
    /// Number of samples.
    fn len(&self) -> usize;

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of classes; every label is below it.
    fn n_classes(&self) -> usize;

    /// Input channels of a sample: pixels of an image, channels of the sensor.
    fn n_channels(&self) -> usize;

    /// Reads sample `i` (`i < len()`).
    fn get(&mut self, i: usize) -> Result<Sample>;

    /// All samples in index order; see [`Samples`] for `skip_bad`.
    fn iter(&mut self, skip_bad: bool) -> Samples<'_>
    where
        Self: Sized,
    {
        let n = self.len();
        Samples::new(self, (0..n).collect(), skip_bad)
    }
}

/// Iterator over chosen samples of a source. With `skip_bad`, a sample that fails
/// to load is reported on stderr as a warning, recorded in
/// [`skipped`](Self::skipped) and passed over; without it, the first failure is
/// returned as an `Err` and ends the iteration.
///
/// ```
/// use astroglia::data::{digits::Digits, SampleSource, Samples};
/// let mut digits = Digits::embedded().unwrap();
/// let labels: Vec<usize> = Samples::new(&mut digits, vec![3, 1, 9999], true)
///     .map(|s| s.unwrap().label)
///     .collect();
/// assert_eq!(labels, vec![3, 1]); // index 9999 is skipped with a warning
/// ```
pub struct Samples<'a> {
    source: &'a mut dyn SampleSource,
    indices: std::vec::IntoIter<usize>,
    skip_bad: bool,
    skipped: Vec<(usize, String)>,
    failed: bool,
}

impl<'a> Samples<'a> {
    /// Visits `indices` of `source` in the given order.
    pub fn new(source: &'a mut dyn SampleSource, indices: Vec<usize>, skip_bad: bool) -> Self {
        Self {
            source,
            indices: indices.into_iter(),
            skip_bad,
            skipped: Vec::new(),
            failed: false,
        }
    }

    /// Samples passed over so far, with the reason (only with `skip_bad`).
    pub fn skipped(&self) -> &[(usize, String)] {
        &self.skipped
    }
}

impl Iterator for Samples<'_> {
    type Item = Result<Sample>;

    fn next(&mut self) -> Option<Result<Sample>> {
        if self.failed {
            return None;
        }
        for i in self.indices.by_ref() {
            match self.source.get(i) {
                Ok(s) => return Some(Ok(s)),
                Err(e) if self.skip_bad => {
                    eprintln!("warning: skipping sample {i}: {e}");
                    self.skipped.push((i, e.to_string()));
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// The error for an index past the end of a source called `name`.
pub(crate) fn index_error(name: &std::path::Path, i: usize, len: usize) -> Error {
    Error::data(
        name,
        format!("sample index {i} is out of range ({len} samples)"),
    )
}
