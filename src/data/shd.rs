//! Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC): one HDF5 file
//! per split, read one sample at a time.
//!
//! Layout (Cramer et al. 2020): `spikes/times` and `spikes/units` are 1-D datasets
//! of variable-length arrays, element `i` holding the spike times (seconds) and
//! channels of sample `i`; `labels` holds one class per sample. Times may be stored
//! as any float width (the releases use float16) and units and labels as any integer
//! width; HDF5 converts them on reading.
use super::events::{Event, Events, Sensor};
use super::{Sample, SampleData, SampleSource, index_error};
use crate::error::{Error, Result};
use ::hdf5::types::{TypeDescriptor, VarLenArray};
use std::path::{Path, PathBuf};

/// Channel and class counts a file is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShdLayout {
    /// Units must be below this (700 cochlea channels in SHD and SSC).
    pub n_channels: usize,
    /// Labels must be below this.
    pub n_classes: usize,
}

impl ShdLayout {
    /// SHD: 700 channels, 20 classes (English and German digits).
    pub const SHD: Self = Self {
        n_channels: 700,
        n_classes: 20,
    };
    /// SSC: 700 channels, 35 classes (Speech Commands words).
    pub const SSC: Self = Self {
        n_channels: 700,
        n_classes: 35,
    };
}

/// The spikes of one sample, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpikeList {
    /// Spike times in seconds.
    pub times_s: Vec<f64>,
    /// Channel of each spike, `< n_channels`.
    pub units: Vec<u32>,
}

/// An open SHD or SSC file. Opening checks the layout and reads the labels;
/// spikes are read per sample.
///
/// ```no_run
/// use astroglia::data::shd::{ShdDataset, ShdLayout};
/// use astroglia::data::SampleSource;
/// let mut test = ShdDataset::open("shd_test.h5", ShdLayout::SHD).unwrap();
/// let first = test.spikes(0).unwrap();
/// println!("{} samples; sample 0 has {} spikes, class {}", test.len(), first.units.len(), test.label(0).unwrap());
/// ```
#[derive(Debug)]
pub struct ShdDataset {
    path: PathBuf,
    times: ::hdf5::Dataset,
    units: ::hdf5::Dataset,
    labels: Vec<i64>,
    layout: ShdLayout,
}

/// Whether an element type is acceptable.
#[derive(Clone, Copy)]
enum Want {
    Float,
    Int,
}

impl ShdDataset {
    /// Opens `path` and checks that `spikes/times` (variable-length floats),
    /// `spikes/units` (variable-length integers) and `labels` (integers) exist,
    /// are 1-D and have one entry per sample.
    pub fn open(path: impl AsRef<Path>, layout: ShdLayout) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if layout.n_channels == 0 || layout.n_channels > usize::from(u16::MAX) {
            return Err(Error::Invalid(format!(
                "SHD layout: n_channels must be in 1..=65535, got {}",
                layout.n_channels
            )));
        }
        if !path.is_file() {
            return Err(Error::data(&path, "no such file"));
        }
        let file = ::hdf5::File::open(&path)
            .map_err(|e| Error::data(&path, format!("cannot open as HDF5: {e}")))?;
        let err = |name: &str, msg: String| Error::data(&path, format!("dataset '{name}': {msg}"));
        let dataset = |name: &str, vlen: bool, want: Want| -> Result<(::hdf5::Dataset, usize)> {
            let ds = file
                .dataset(name)
                .map_err(|_| Error::data(&path, format!("missing dataset '{name}'")))?;
            let shape = ds.shape();
            if shape.len() != 1 {
                return Err(err(name, format!("expected 1-D, found shape {shape:?}")));
            }
            let desc = ds.dtype().and_then(|t| t.to_descriptor());
            let elem = match (&desc, vlen) {
                (Ok(TypeDescriptor::VarLenArray(inner)), true) => Some(&**inner),
                (Ok(d), false) => Some(d),
                _ => None,
            };
            let ok = matches!(
                (elem, want),
                (Some(TypeDescriptor::Float(_)), Want::Float)
                    | (
                        Some(TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)),
                        Want::Int
                    )
            );
            if !ok {
                let found = desc.map_or_else(|_| "an unsupported type".into(), |d| d.to_string());
                let expected = match (vlen, want) {
                    (true, Want::Float) => "variable-length arrays of floats (seconds)",
                    (true, Want::Int) => "variable-length arrays of integers",
                    (false, _) => "integers",
                };
                return Err(err(name, format!("expected {expected}, found {found}")));
            }
            Ok((ds, shape[0]))
        };
        let (times, n) = dataset("spikes/times", true, Want::Float)?;
        let (units, n_units) = dataset("spikes/units", true, Want::Int)?;
        let (labels_ds, n_labels) = dataset("labels", false, Want::Int)?;
        if n_units != n || n_labels != n {
            return Err(Error::data(
                &path,
                format!(
                    "sample counts differ: spikes/times has {n}, spikes/units {n_units}, labels {n_labels}"
                ),
            ));
        }
        let labels = labels_ds
            .read_raw::<i64>()
            .map_err(|e| err("labels", format!("cannot read: {e}")))?;
        Ok(Self {
            path,
            times,
            units,
            labels,
            layout,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The channel and class counts the file is checked against.
    pub fn layout(&self) -> ShdLayout {
        self.layout
    }

    /// Label of sample `i`, checked against the class count.
    pub fn label(&self, i: usize) -> Result<usize> {
        let &l = self
            .labels
            .get(i)
            .ok_or_else(|| index_error(&self.path, i, self.labels.len()))?;
        usize::try_from(l)
            .ok()
            .filter(|&l| l < self.layout.n_classes)
            .ok_or_else(|| {
                Error::data(
                    &self.path,
                    format!(
                        "dataset 'labels': labels[{i}] = {l} is outside the {} classes",
                        self.layout.n_classes
                    ),
                )
            })
    }

    /// The spikes of sample `i`; checks that times and units have the same length,
    /// times are finite and `>= 0`, and units are below the channel count.
    pub fn spikes(&self, i: usize) -> Result<SpikeList> {
        if i >= self.labels.len() {
            return Err(index_error(&self.path, i, self.labels.len()));
        }
        let err = |name: &str, msg: String| {
            Error::data(&self.path, format!("dataset '{name}': {name}[{i}] {msg}"))
        };
        let times = self
            .times
            .read_slice_1d::<VarLenArray<f64>, _>(i..i + 1)
            .map_err(|e| err("spikes/times", format!("cannot be read: {e}")))?;
        let units = self
            .units
            .read_slice_1d::<VarLenArray<i64>, _>(i..i + 1)
            .map_err(|e| err("spikes/units", format!("cannot be read: {e}")))?;
        let (times, units) = (times[0].as_slice(), units[0].as_slice());
        if times.len() != units.len() {
            return Err(Error::data(
                &self.path,
                format!(
                    "sample {i}: spikes/times[{i}] has {} spikes but spikes/units[{i}] has {}",
                    times.len(),
                    units.len()
                ),
            ));
        }
        if let Some((k, t)) = times
            .iter()
            .enumerate()
            .find(|(_, t)| !(t.is_finite() && **t >= 0.0))
        {
            return Err(err(
                "spikes/times",
                format!("holds time {t} s at spike {k}; times must be finite and >= 0"),
            ));
        }
        let n = self.layout.n_channels;
        let mut out = Vec::with_capacity(units.len());
        for (k, &u) in units.iter().enumerate() {
            match u32::try_from(u) {
                Ok(u) if (u as usize) < n => out.push(u),
                _ => {
                    return Err(err(
                        "spikes/units",
                        format!("holds unit {u} at spike {k}, outside the {n} channels"),
                    ));
                }
            }
        }
        Ok(SpikeList {
            times_s: times.to_vec(),
            units: out,
        })
    }

    /// The spikes of sample `i` as events on an `n_channels × 1 × 1` sensor
    /// (x = unit, time rounded to whole µs), as tonic presents SHD.
    pub fn events(&self, i: usize) -> Result<Events> {
        let s = self.spikes(i)?;
        let sensor = Sensor::new(self.layout.n_channels as u16, 1, 1);
        let events = s
            .times_s
            .iter()
            .zip(&s.units)
            .map(|(&t, &u)| Event {
                x: u as u16,
                y: 0,
                p: 0,
                t_us: (t * 1e6).round() as u64,
            })
            .collect();
        Ok(Events { sensor, events })
    }
}

impl SampleSource for ShdDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn n_classes(&self) -> usize {
        self.layout.n_classes
    }

    fn n_channels(&self) -> usize {
        self.layout.n_channels
    }

    fn get(&mut self, i: usize) -> Result<Sample> {
        let label = self.label(i)?;
        Ok(Sample {
            index: i,
            label,
            data: SampleData::Events(self.events(i)?),
        })
    }
}
