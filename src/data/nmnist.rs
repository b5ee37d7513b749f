//! N-MNIST (Orchard et al. 2015): `.bin` event files of 40-bit records and the
//! `Train|Test/<digit>/*.bin` folder tree, read one file at a time.
//!
//! Record layout (big-endian, 5 bytes, no header): byte 0 = x, byte 1 = y,
//! bit 7 of byte 2 = polarity (1 = ON), the other 23 bits of bytes 2..5 = time in
//! µs. A record with `y == 240` marks a time-stamp overflow: it is not an event, and
//! every later time stamp gains `2^13`, as in the reference readers
//! (`eventvision.py`, tonic `read_mnist_file`).
use super::events::{Event, Events, Sensor};
use super::{Sample, SampleData, SampleSource, Split, index_error};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The N-MNIST sensor: 34 × 34 pixels, 2 polarities (2312 channels).
pub const SENSOR: Sensor = Sensor::new(34, 34, 2);

/// Bytes per record.
const RECORD: usize = 5;
/// `y` value of an overflow marker record.
const OVERFLOW_Y: u8 = 240;
/// What an overflow marker adds to later time stamps (the reference readers' value).
const OVERFLOW_US: u64 = 1 << 13;

/// Decodes the records of an ATIS `.bin` file (the format N-MNIST shares with
/// N-Caltech101) without checking addresses against a sensor. `path` only names
/// the data in errors. The length must be a multiple of 5 bytes: an
/// [`Error::Data`] at the byte where the incomplete last record starts.
///
/// ```
/// use astroglia::data::nmnist::decode;
/// // x 7, y 15, ON, t 654 µs; then an overflow marker; then x 1, y 2, OFF, t 3 µs.
/// let bytes = [7, 15, 0x80, 0x02, 0x8E, 0, 240, 0, 0, 0, 1, 2, 0, 0, 3];
/// let ev = decode(&bytes, "sample.bin".as_ref()).unwrap();
/// assert_eq!((ev[0].x, ev[0].y, ev[0].p, ev[0].t_us), (7, 15, 1, 654));
/// assert_eq!((ev[1].x, ev[1].y, ev[1].p, ev[1].t_us), (1, 2, 0, 3 + 8192));
/// let err = decode(&bytes[..14], "cut.bin".as_ref()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "cut.bin: byte 10: truncated: 14 bytes is not a whole number of 5-byte event records (2 records and 4 bytes over)"
/// );
/// ```
pub fn decode(bytes: &[u8], path: &Path) -> Result<Vec<Event>> {
    if bytes.len() % RECORD != 0 {
        return Err(Error::data_at(
            path,
            (bytes.len() - bytes.len() % RECORD) as u64,
            format!(
                "truncated: {} bytes is not a whole number of {RECORD}-byte event records ({} records and {} bytes over)",
                bytes.len(),
                bytes.len() / RECORD,
                bytes.len() % RECORD
            ),
        ));
    }
    let mut offset = 0u64;
    let mut events = Vec::with_capacity(bytes.len() / RECORD);
    for r in bytes.chunks_exact(RECORD) {
        if r[1] == OVERFLOW_Y {
            offset += OVERFLOW_US;
            continue;
        }
        let t = (u64::from(r[2] & 0x7F) << 16) | (u64::from(r[3]) << 8) | u64::from(r[4]);
        events.push(Event {
            x: r[0].into(),
            y: r[1].into(),
            p: r[2] >> 7,
            t_us: t + offset,
        });
    }
    Ok(events)
}

/// Reads one N-MNIST file; every event must lie on the 34 × 34 [`SENSOR`]
/// (an [`Error::Data`] at the byte where the first one off it starts).
///
/// ```no_run
/// let ev = astroglia::data::nmnist::read_file("Test/3/00042.bin").unwrap();
/// println!("{} events over {} µs", ev.len(), ev.events.last().map_or(0, |e| e.t_us));
/// ```
pub fn read_file(path: impl AsRef<Path>) -> Result<Events> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::data(path, format!("cannot read: {e}")))?;
    let events = decode(&bytes, path)?;
    if let Some((i, e)) = events.iter().enumerate().find(|(_, e)| !SENSOR.contains(e)) {
        return Err(Error::data_at(
            path,
            event_offset(&bytes, i),
            format!(
                "event {i} has address x {}, y {} outside the 34x34 N-MNIST sensor",
                e.x, e.y
            ),
        ));
    }
    Ok(Events {
        sensor: SENSOR,
        events,
    })
}

/// The byte offset of event record `i` (overflow markers skipped) of `bytes`.
fn event_offset(bytes: &[u8], i: usize) -> u64 {
    let at = (bytes.chunks_exact(RECORD).enumerate())
        .filter(|(_, r)| r[1] != OVERFLOW_Y)
        .nth(i)
        .map_or(bytes.len(), |(k, _)| k * RECORD);
    at as u64
}

/// The files of one N-MNIST split, `<root>/Train|Test/<digit>/*.bin`, in sorted
/// order (class folder, then file name); the label is the folder name. Opening
/// lists the files; each sample is read when asked for.
///
/// ```no_run
/// use astroglia::data::{nmnist::NmnistDataset, SampleSource, Split};
/// let mut test = NmnistDataset::open("/data/N-MNIST", Split::Test).unwrap();
/// for sample in test.iter(true) {
///     let sample = sample.unwrap();
///     println!("{} -> class {}", sample.index, sample.label);
/// }
/// ```
#[derive(Debug, Clone)]
pub struct NmnistDataset {
    dir: PathBuf,
    files: Vec<(PathBuf, u8)>,
}

impl NmnistDataset {
    /// Lists `<root>/Train` or `<root>/Test`. Sub-folders must be named `0`..`9`;
    /// entries starting with `.` and plain files beside the class folders are
    /// ignored, as are files in class folders not ending in `.bin`.
    pub fn open(root: impl AsRef<Path>, split: Split) -> Result<Self> {
        let dir = root.as_ref().join(match split {
            Split::Train => "Train",
            Split::Test => "Test",
        });
        let listing = |d: &Path| -> Result<Vec<(String, PathBuf)>> {
            let mut out = Vec::new();
            let rd = std::fs::read_dir(d)
                .map_err(|e| Error::data(d, format!("cannot list the folder: {e}")))?;
            for entry in rd {
                let entry = entry.map_err(|e| Error::data(d, format!("cannot list: {e}")))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') {
                    out.push((name, entry.path()));
                }
            }
            out.sort();
            Ok(out)
        };
        let mut files = Vec::new();
        for (name, path) in listing(&dir)? {
            if !path.is_dir() {
                continue;
            }
            let label = match name.as_bytes() {
                [d @ b'0'..=b'9'] => d - b'0',
                _ => {
                    return Err(Error::data(
                        &dir,
                        format!("folder '{name}' is not a class folder (expected 0 to 9)"),
                    ));
                }
            };
            for (file, p) in listing(&path)? {
                if file.ends_with(".bin") && !p.is_dir() {
                    files.push((p, label));
                }
            }
        }
        if files.is_empty() {
            return Err(Error::data(
                &dir,
                "no samples: expected <digit>/*.bin files below this folder",
            ));
        }
        Ok(Self { dir, files })
    }

    /// The split folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// File and label of sample `i`.
    pub fn entry(&self, i: usize) -> Option<(&Path, usize)> {
        self.files.get(i).map(|(p, l)| (p.as_path(), *l as usize))
    }

    /// Events of sample `i`.
    pub fn events(&self, i: usize) -> Result<Events> {
        let (path, _) = self
            .entry(i)
            .ok_or_else(|| index_error(&self.dir, i, self.files.len()))?;
        read_file(path)
    }

    /// Every sample with its label, all in memory (about 5 kB per N-MNIST sample).
    pub fn load_all(&self) -> Result<Vec<(Events, usize)>> {
        (0..self.files.len())
            .map(|i| Ok((self.events(i)?, self.files[i].1 as usize)))
            .collect()
    }
}

impl SampleSource for NmnistDataset {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn n_classes(&self) -> usize {
        10
    }

    fn n_channels(&self) -> usize {
        SENSOR.n_channels()
    }

    fn get(&mut self, i: usize) -> Result<Sample> {
        let events = self.events(i)?;
        Ok(Sample {
            index: i,
            label: self.files[i].1 as usize,
            data: SampleData::Events(events),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes events as records (no overflow handling).
    fn encode(ev: &[(u8, u8, u8, u32)]) -> Vec<u8> {
        ev.iter()
            .flat_map(|&(x, y, p, t)| [x, y, (p << 7) | (t >> 16) as u8, (t >> 8) as u8, t as u8])
            .collect()
    }

    #[test]
    fn full_23_bit_time_and_polarity_bit_are_separate() {
        let bytes = encode(&[(33, 33, 1, (1 << 23) - 1), (0, 0, 0, 1 << 22)]);
        let ev = decode(&bytes, Path::new("x")).unwrap();
        assert_eq!(
            (ev[0].p, ev[0].t_us, ev[0].x, ev[0].y),
            (1, (1 << 23) - 1, 33, 33)
        );
        assert_eq!((ev[1].p, ev[1].t_us), (0, 1 << 22));
    }

    #[test]
    fn overflow_markers_accumulate() {
        let mut bytes = encode(&[(1, 1, 0, 10)]);
        bytes.extend([0, 240, 0, 0, 0, 0, 240, 0, 0, 0]);
        bytes.extend(encode(&[(2, 2, 1, 5)]));
        let ev = decode(&bytes, Path::new("x")).unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].t_us, 5 + 2 * 8192);
    }

    #[test]
    fn empty_input_is_no_events() {
        assert!(decode(&[], Path::new("x")).unwrap().is_empty());
    }
}
