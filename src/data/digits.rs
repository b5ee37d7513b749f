//! The scikit-learn digits: 1797 real 8 × 8 handwritten digits (UCI "Optical
//! Recognition of Handwritten Digits", Alpaydin & Kaynak 1998), embedded in the
//! library so the default experiment needs no files.
//!
//! The file (`digits.csv.gz` of scikit-learn, copied to `data/digits/`) has one
//! sample per line: 64 comma-separated pixel counts in `0..=16`, row-major, then
//! the label `0..=9`. Pixels are scaled to `[0, 1]` by `/ 16`.
use super::{Sample, SampleData, SampleSource, index_error};
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The embedded copy of `data/digits/sklearn_digits.csv.gz` (57 523 bytes).
pub static EMBEDDED_GZ: &[u8] = include_bytes!("../../data/digits/sklearn_digits.csv.gz");

/// Pixels per image.
pub const PIXELS: usize = 64;

/// The digits, all in memory (460 kB).
#[derive(Clone)]
pub struct Digits {
    name: PathBuf,
    images: Vec<f32>,
    labels: Vec<u8>,
}

impl std::fmt::Debug for Digits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digits")
            .field("name", &self.name)
            .field("samples", &self.labels.len())
            .finish()
    }
}

impl Digits {
    /// The embedded copy.
    ///
    /// ```
    /// let d = astroglia::data::digits::Digits::embedded().unwrap();
    /// assert_eq!(d.labels().len(), 1797);
    /// assert_eq!(d.image(0).unwrap()[2], 5.0 / 16.0);
    /// ```
    pub fn embedded() -> Result<Self> {
        Self::parse(EMBEDDED_GZ, Path::new("<embedded>/sklearn_digits.csv.gz"))
    }

    /// Reads a digits CSV file, gzipped or not.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|e| Error::data(path, format!("cannot read: {e}")))?;
        Self::parse(&bytes, path)
    }

    /// Parses the CSV (gunzipping it first when it starts with the gzip magic
    /// bytes); `name` only names the data in errors.
    ///
    /// ```
    /// use astroglia::data::digits::Digits;
    /// let row = |label: &str| format!("{}{label}\n", "16,".repeat(64));
    /// let d = Digits::parse(row("3").as_bytes(), "one.csv".as_ref()).unwrap();
    /// assert_eq!((d.labels(), d.image(0).unwrap()[63]), (&[3u8][..], 1.0));
    /// let err = Digits::parse(row("12").as_bytes(), "bad.csv".as_ref()).unwrap_err();
    /// assert_eq!(err.to_string(), "bad.csv: line 1: label 12 is outside 0..=9");
    /// ```
    pub fn parse(bytes: &[u8], name: &Path) -> Result<Self> {
        let err = |m: String| Error::data(name, m);
        let mut text = String::new();
        if bytes.starts_with(&[0x1F, 0x8B]) {
            // Bounded: a small gzip stream can inflate to any size.
            let limit = crate::input_file::MAX_TEXT_BYTES;
            MultiGzDecoder::new(bytes)
                .take(limit + 1)
                .read_to_string(&mut text)
                .map_err(|e| err(format!("corrupt gzip data or not UTF-8 text: {e}")))?;
            if text.len() as u64 > limit {
                return Err(err(format!("inflates to more than {limit} bytes")));
            }
        } else {
            text = String::from_utf8(bytes.to_vec())
                .map_err(|e| err(format!("not UTF-8 text: {e}")))?;
        }
        let (mut images, mut labels) = (Vec::new(), Vec::new());
        for (k, line) in text.lines().enumerate() {
            let line_no = k + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != PIXELS + 1 {
                return Err(err(format!(
                    "line {line_no}: expected {} comma-separated values (64 pixels, then the label), found {}",
                    PIXELS + 1,
                    fields.len()
                )));
            }
            for (col, f) in fields.iter().enumerate() {
                let v: u32 = f.trim().parse().map_err(|_| {
                    err(format!(
                        "line {line_no}, column {}: '{f}' is not a non-negative integer",
                        col + 1
                    ))
                })?;
                if col < PIXELS {
                    if v > 16 {
                        return Err(err(format!(
                            "line {line_no}, column {}: pixel {v} is outside 0..=16",
                            col + 1
                        )));
                    }
                    images.push(v as f32 / 16.0);
                } else if v > 9 {
                    return Err(err(format!("line {line_no}: label {v} is outside 0..=9")));
                } else {
                    labels.push(v as u8);
                }
            }
        }
        if labels.is_empty() {
            return Err(err("no samples".into()));
        }
        Ok(Self {
            name: name.to_path_buf(),
            images,
            labels,
        })
    }

    /// Image `i`: 64 values in `[0, 1]`, row-major.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        (i < self.labels.len()).then(|| &self.images[i * PIXELS..(i + 1) * PIXELS])
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Every image, one after another (`64 * len()` values).
    pub fn images(&self) -> &[f32] {
        &self.images
    }
}

impl SampleSource for Digits {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn n_classes(&self) -> usize {
        10
    }

    fn n_channels(&self) -> usize {
        PIXELS
    }

    fn get(&mut self, i: usize) -> Result<Sample> {
        let pixels = self
            .image(i)
            .ok_or_else(|| index_error(&self.name, i, self.labels.len()))?
            .to_vec();
        Ok(Sample {
            index: i,
            label: self.labels[i] as usize,
            data: SampleData::Image {
                pixels,
                dims: vec![8, 8],
            },
        })
    }
}
