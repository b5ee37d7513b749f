//! MNIST-style image sets (MNIST, Fashion-MNIST): an IDX file of `u8` images and
//! an IDX file of `u8` labels, images read one at a time.
use super::idx::{self, IdxData, IdxReader, IdxType};
use super::{Sample, SampleData, SampleSource, Split};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Images `[n, rows, cols]` (u8) with labels `[n]` (u8), pixels scaled to `[0, 1]`
/// by `/ 255`. Opening reads and checks all labels; images are read on demand.
///
/// ```
/// use astroglia::data::idx::{write, IdxArray, IdxData};
/// use astroglia::data::mnist::IdxDataset;
/// use astroglia::data::{SampleData, SampleSource};
/// let dir = std::env::temp_dir().join(format!("mnist-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let images = IdxArray { dims: vec![2, 1, 2], data: IdxData::U8(vec![0, 255, 51, 102]) };
/// let labels = IdxArray { dims: vec![2], data: IdxData::U8(vec![7, 3]) };
/// write(dir.join("t10k-images-idx3-ubyte.gz"), &images).unwrap();
/// write(dir.join("t10k-labels-idx1-ubyte"), &labels).unwrap();
/// let mut set = IdxDataset::open_dir(&dir, astroglia::data::Split::Test).unwrap();
/// let s = set.get(1).unwrap();
/// assert_eq!((s.label, s.data), (3, SampleData::Image { pixels: vec![0.2, 0.4], dims: vec![1, 2] }));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct IdxDataset {
    images: IdxReader,
    labels_path: PathBuf,
    labels: Vec<u8>,
    n_classes: usize,
}

impl IdxDataset {
    /// Opens an image file and its label file; labels must be `< n_classes`.
    pub fn open(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        n_classes: usize,
    ) -> Result<Self> {
        let images = IdxReader::open(images)?;
        if images.dtype() != IdxType::U8 || images.dims().len() != 3 {
            return Err(Error::data(
                images.path(),
                format!(
                    "expected u8 images of dims [n, rows, cols], found {:?} of dims {:?}",
                    images.dtype(),
                    images.dims()
                ),
            ));
        }
        let labels_path = labels.as_ref().to_path_buf();
        let array = idx::read(&labels_path)?;
        let labels = match array.data {
            IdxData::U8(v) if array.dims.len() == 1 => v,
            other => {
                return Err(Error::data(
                    &labels_path,
                    format!(
                        "expected u8 labels of dims [n], found {:?} of dims {:?}",
                        other.dtype(),
                        array.dims
                    ),
                ));
            }
        };
        if labels.len() != images.len() {
            return Err(Error::data(
                &labels_path,
                format!(
                    "holds {} labels but {} holds {} images",
                    labels.len(),
                    images.path().display(),
                    images.len()
                ),
            ));
        }
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= n_classes)
        {
            return Err(Error::data(
                &labels_path,
                format!("label {i} is {l}, outside the {n_classes} classes"),
            ));
        }
        Ok(Self {
            images,
            labels_path,
            labels,
            n_classes,
        })
    }

    /// Opens the standard file names in `dir`, `train-` or `t10k-`
    /// `images-idx3-ubyte` and `labels-idx1-ubyte`, each with or without `.gz`
    /// (the names of MNIST and of Debian's `dataset-fashion-mnist`); 10 classes.
    pub fn open_dir(dir: impl AsRef<Path>, split: Split) -> Result<Self> {
        let dir = dir.as_ref();
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let find = |stem: String| -> Result<PathBuf> {
            [format!("{stem}.gz"), stem.clone()]
                .into_iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
                .ok_or_else(|| Error::data(dir, format!("no {stem} or {stem}.gz in this folder")))
        };
        Self::open(
            find(format!("{prefix}-images-idx3-ubyte"))?,
            find(format!("{prefix}-labels-idx1-ubyte"))?,
            10,
        )
    }

    /// The label file.
    pub fn labels_path(&self) -> &Path {
        &self.labels_path
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// `[rows, cols]`.
    pub fn image_dims(&self) -> [usize; 2] {
        [self.images.dims()[1], self.images.dims()[2]]
    }

    /// Image `i`, row-major, in `[0, 1]`.
    pub fn image(&mut self, i: usize) -> Result<Vec<f32>> {
        Ok(match self.images.item(i)? {
            IdxData::U8(v) => v.iter().map(|&b| f32::from(b) / 255.0).collect(),
            other => other.to_f32(), // unreachable: checked to be u8 at open
        })
    }
}

impl SampleSource for IdxDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn n_channels(&self) -> usize {
        self.images.item_values()
    }

    fn get(&mut self, i: usize) -> Result<Sample> {
        let pixels = self.image(i)?;
        Ok(Sample {
            index: i,
            label: self.labels[i] as usize,
            data: SampleData::Image {
                pixels,
                dims: self.image_dims().to_vec(),
            },
        })
    }
}
