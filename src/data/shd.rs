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
use crate::isolated::Worker;
use ::hdf5::types::{TypeDescriptor, VarLenArray};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
/// spikes are read per sample. The HDF5 reading runs in a child process
/// (`crate::isolated`): a corrupt file that crashes or hangs libhdf5 gives an
/// error.
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
    /// The process reading the file; started again after it stops on a corrupt sample.
    reader: Mutex<Worker>,
    labels: Vec<i64>,
    layout: ShdLayout,
}

/// What the parent asks the reading process.
#[derive(Serialize, Deserialize)]
enum Request {
    /// Check the layout and read the labels.
    Open,
    /// Read the raw spikes of one sample.
    Sample(u64),
}

/// What the reading process answers.
#[derive(Serialize, Deserialize)]
enum Reply {
    Opened { labels: Vec<i64> },
    Spikes { times: Vec<f64>, units: Vec<i64> },
    Failed(String),
}

impl ShdDataset {
    /// Opens `path` and checks that `spikes/times` (variable-length floats),
    /// `spikes/units` (variable-length integers) and `labels` (integers) exist,
    /// are 1-D and have one entry per sample.
    pub fn open(path: impl AsRef<Path>, layout: ShdLayout) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if layout.n_channels == 0 || layout.n_channels > usize::from(u16::MAX) {
            return Err(Error::Range {
                what: "SHD layout: n_channels".into(),
                value: layout.n_channels as f64,
                expected: "1..=65535".into(),
            });
        }
        if !path.is_file() {
            return Err(Error::data(&path, "no such file"));
        }
        let (reader, labels) = start_reader(&path)?;
        Ok(Self {
            path,
            reader: Mutex::new(reader),
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
        let (times, units) = {
            let mut reader = self.reader.lock().unwrap_or_else(|p| p.into_inner());
            if !reader.is_alive() {
                *reader = start_reader(&self.path)?.0;
            }
            match reader.call(&Request::Sample(i as u64))? {
                Reply::Spikes { times, units } => (times, units),
                Reply::Failed(m) => return Err(Error::data(&self.path, m)),
                Reply::Opened { .. } => unreachable!("a sample request is answered with spikes"),
            }
        };
        let err = |name: &str, msg: String| {
            Error::data(&self.path, format!("dataset '{name}': {name}[{i}] {msg}"))
        };
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
            times_s: times,
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

/// What the reading process may allocate besides eight times the file's size.
const READER_MEMORY: u64 = 64 << 20;

/// Starts a process reading `path` and has it check the layout; returns it and the labels.
fn start_reader(path: &Path) -> Result<(Worker, Vec<i64>)> {
    let file = path.to_path_buf();
    let mut open: Option<(::hdf5::Dataset, ::hdf5::Dataset)> = None;
    // One sample's spikes are stored uncompressed (variable-length data is not
    // filtered): even widened to 64 bits they take a few times the file's size.
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let memory = READER_MEMORY.saturating_add(size.saturating_mul(8));
    let mut reader = Worker::spawn(path, Some(memory), move |request: Request| match request {
        Request::Open => match open_datasets(&file) {
            Ok((times, units, labels)) => {
                open = Some((times, units));
                Reply::Opened { labels }
            }
            Err(m) => Reply::Failed(m),
        },
        Request::Sample(i) => match &open {
            Some((times, units)) => read_sample(times, units, i as usize),
            None => Reply::Failed("read before it was opened".into()),
        },
    })?;
    match reader.call(&Request::Open)? {
        Reply::Opened { labels } => Ok((reader, labels)),
        Reply::Failed(m) => Err(Error::data(path, m)),
        Reply::Spikes { .. } => unreachable!("an open request is answered with labels"),
    }
}

/// Whether an element type is acceptable.
#[derive(Clone, Copy)]
enum Want {
    Float,
    Int,
}

/// In the reading process: opens the file and checks the three datasets.
fn open_datasets(
    path: &Path,
) -> std::result::Result<(::hdf5::Dataset, ::hdf5::Dataset, Vec<i64>), String> {
    let file = ::hdf5::File::open(path).map_err(|e| format!("cannot open as HDF5: {e}"))?;
    let err = |name: &str, msg: String| format!("dataset '{name}': {msg}");
    let dataset = |name: &str,
                   vlen: bool,
                   want: Want|
     -> std::result::Result<(::hdf5::Dataset, usize), String> {
        let ds = file
            .dataset(name)
            .map_err(|_| format!("missing dataset '{name}'"))?;
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
        return Err(format!(
            "sample counts differ: spikes/times has {n}, spikes/units {n_units}, labels {n_labels}"
        ));
    }
    let labels = labels_ds
        .read_raw::<i64>()
        .map_err(|e| err("labels", format!("cannot read: {e}")))?;
    Ok((times, units, labels))
}

/// In the reading process: the raw spike times and units of sample `i`.
fn read_sample(times: &::hdf5::Dataset, units: &::hdf5::Dataset, i: usize) -> Reply {
    let err = |name: &str, e: ::hdf5::Error| {
        Reply::Failed(format!("dataset '{name}': {name}[{i}] cannot be read: {e}"))
    };
    let t = match times.read_slice_1d::<VarLenArray<f64>, _>(i..i + 1) {
        Ok(t) => t,
        Err(e) => return err("spikes/times", e),
    };
    let u = match units.read_slice_1d::<VarLenArray<i64>, _>(i..i + 1) {
        Ok(u) => u,
        Err(e) => return err("spikes/units", e),
    };
    Reply::Spikes {
        times: t[0].to_vec(),
        units: u[0].to_vec(),
    }
}
