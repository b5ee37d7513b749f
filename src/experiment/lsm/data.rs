//! The experiment's samples: opening the dataset, the train / validation / test
//! split, and turning a sample into input spikes.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::config::{DataSource, EncodingKind, Experiment};
use crate::build::sub_seed;
use crate::data::encode::{Encoding, NalsmRate};
use crate::data::events::Rounding;
use crate::data::{SampleData, SampleSource, Split, digits::Digits};
use crate::{Error, Result};

/// Which set a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Set {
    /// Readout training.
    Train,
    /// Readout model selection.
    Val,
    /// Reported accuracy.
    Test,
}

/// A sample to present: which source (0 training file, 1 test file), its index
/// there, and its set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRef {
    /// 0: the training source, 1: the test source.
    pub source: usize,
    /// Index in the source.
    pub index: usize,
    /// Set.
    pub set: Set,
}

/// The opened dataset and its split.
pub struct Dataset {
    /// Training source, and the test source when the dataset has one.
    pub sources: Vec<Box<dyn SampleSource>>,
    /// Every sample in presentation order: train, then validation, then test.
    pub samples: Vec<SampleRef>,
    /// Classes.
    pub n_classes: usize,
    /// Input channels.
    pub n_channels: usize,
    /// What identifies the data in the feature cache.
    pub identity: String,
    /// Why each sample left out by `data.skip_bad` failed to load.
    pub skipped: Vec<String>,
    encoders: Vec<Encoding>,
}

impl Dataset {
    /// Opens the data `exp` names (`data_dir` overrides its path; a relative path
    /// is taken from `base`) and splits it with `exp.seed`.
    pub fn open(exp: &Experiment, base: &Path, data_dir: Option<&Path>) -> Result<Self> {
        let d = &exp.data;
        let dir: Option<PathBuf> = data_dir
            .map(Path::to_path_buf)
            .or_else(|| d.path.as_ref().map(|p| base.join(p)));
        let need_dir = || {
            dir.clone().ok_or_else(|| {
                Error::setting(
                    "data.path",
                    "this dataset needs a directory: set data.path or --data DIR".into(),
                )
            })
        };
        let sources: Vec<Box<dyn SampleSource>> = match d.source {
            DataSource::Digits => vec![Box::new(match &dir {
                Some(p) => Digits::load(p)?,
                None => Digits::embedded()?,
            })],
            DataSource::Idx => {
                let p = need_dir()?;
                vec![
                    Box::new(crate::data::mnist::IdxDataset::open_dir(&p, Split::Train)?),
                    Box::new(crate::data::mnist::IdxDataset::open_dir(&p, Split::Test)?),
                ]
            }
            DataSource::Nmnist => {
                let p = need_dir()?;
                vec![
                    Box::new(crate::data::nmnist::NmnistDataset::open(&p, Split::Train)?),
                    Box::new(crate::data::nmnist::NmnistDataset::open(&p, Split::Test)?),
                ]
            }
            #[cfg(feature = "hdf5")]
            DataSource::Shd => {
                let p = need_dir()?;
                let open = |f: &str| {
                    crate::data::shd::ShdDataset::open(p.join(f), crate::data::shd::ShdLayout::SHD)
                };
                vec![
                    Box::new(open("shd_train.h5")?),
                    Box::new(open("shd_test.h5")?),
                ]
            }
            #[cfg(not(feature = "hdf5"))]
            DataSource::Shd => return Err(Error::missing_feature("hdf5", "the SHD dataset")),
        };
        let n_classes = sources[0].n_classes();
        let n_channels = sources[0].n_channels();
        if let Some(t) = sources.get(1) {
            if t.n_channels() != n_channels || t.n_classes() != n_classes {
                return Err(Error::setting(
                    "data",
                    format!(
                        "the test set has {} channels and {} classes, the training set {} and {}",
                        t.n_channels(),
                        t.n_classes(),
                        n_channels,
                        n_classes
                    ),
                ));
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(exp.seed, 0x5B1, 0));
        let cap = |n: usize, max: Option<usize>| max.map_or(n, |m| m.min(n));
        let (mut train, mut test): (Vec<usize>, Vec<usize>) = if sources.len() == 2 {
            (
                (0..cap(sources[0].len(), d.max_train)).collect(),
                (0..cap(sources[1].len(), d.max_test)).collect(),
            )
        } else {
            let mut all: Vec<usize> = (0..sources[0].len()).collect();
            all.shuffle(&mut rng);
            let n_test = (all.len() as f64 * d.test_fraction).round() as usize;
            let test = all.split_off(all.len() - n_test);
            let n = all.len();
            all.truncate(cap(n, d.max_train));
            let nt = test.len();
            (all, test.into_iter().take(cap(nt, d.max_test)).collect())
        };
        train.shuffle(&mut rng);
        let n_val = (train.len() as f64 * d.val_fraction).round() as usize;
        let val = train.split_off(train.len() - n_val);
        // Presentation order within a set is index order: reads stay sequential.
        train.sort_unstable();
        let mut val = val;
        val.sort_unstable();
        test.sort_unstable();
        let mut sources = sources;
        let mut skipped = vec![];
        if d.skip_bad {
            let test_source = sources.len() - 1;
            for (src, set) in [(0, &mut train), (0, &mut val), (test_source, &mut test)] {
                set.retain(|&i| match sources[src].get(i) {
                    Ok(_) => true,
                    Err(e) => {
                        skipped.push(e.to_string());
                        false
                    }
                });
            }
        }
        Self::assemble(exp, dir, sources, train, val, test, skipped)
    }

    /// The dataset of the chosen `train`, `val` and `test` samples.
    fn assemble(
        exp: &Experiment,
        dir: Option<PathBuf>,
        sources: Vec<Box<dyn SampleSource>>,
        train: Vec<usize>,
        val: Vec<usize>,
        test: Vec<usize>,
        skipped: Vec<String>,
    ) -> Result<Self> {
        let d = &exp.data;
        let (n_classes, n_channels) = (sources[0].n_classes(), sources[0].n_channels());
        if train.is_empty() || val.is_empty() || test.is_empty() {
            return Err(Error::setting(
                "split",
                format!(
                    "the split leaves {} training, {} validation and {} test samples; \
                 every set needs at least one",
                    train.len(),
                    val.len(),
                    test.len()
                ),
            ));
        }
        let test_source = sources.len() - 1;
        let samples: Vec<SampleRef> = train
            .iter()
            .map(|&index| SampleRef {
                source: 0,
                index,
                set: Set::Train,
            })
            .chain(val.iter().map(|&index| SampleRef {
                source: 0,
                index,
                set: Set::Val,
            }))
            .chain(test.iter().map(|&index| SampleRef {
                source: test_source,
                index,
                set: Set::Test,
            }))
            .collect();
        let identity = format!(
            "{:?} {} {} {}",
            d.source,
            dir.as_ref()
                .map_or("<built-in>".into(), |p| p.display().to_string()),
            sources[0].len(),
            sources.get(1).map_or(0, |s| s.len())
        );
        let mut ds = Dataset {
            sources,
            samples,
            n_classes,
            n_channels,
            identity,
            encoders: vec![],
            skipped,
        };
        ds.encoders = ds.fit_encoders(exp)?;
        Ok(ds)
    }

    /// One encoder per source (NALSM's rate code normalises each set by its own
    /// largest L1-normalised pixel).
    fn fit_encoders(&mut self, exp: &Experiment) -> Result<Vec<Encoding>> {
        let inp = &exp.input;
        let events = matches!(exp.data.source, DataSource::Nmnist | DataSource::Shd);
        if events != (inp.encoding == EncodingKind::Events) {
            let (has, needs) = if events {
                ("events", "\"events\"")
            } else {
                ("images", "\"nalsm_rate\", \"poisson\" or \"latency\"")
            };
            return Err(exp.issue(
                "input.encoding",
                format!(
                    "{:?} cannot encode {:?} data, which holds {has}; use {needs}",
                    inp.encoding, exp.data.source
                ),
            ));
        }
        let mut out = vec![];
        for s in 0..self.sources.len() {
            out.push(match inp.encoding {
                EncodingKind::NalsmRate => {
                    let src = &mut self.sources[s];
                    let mut images = vec![];
                    for i in 0..src.len() {
                        let sample = match src.get(i) {
                            Err(_) if exp.data.skip_bad => continue,
                            r => r?,
                        };
                        if let SampleData::Image { pixels, .. } = sample.data {
                            images.push(pixels);
                        } else {
                            return Err(Error::setting(
                                "encoding",
                                "the nalsm_rate encoding needs images; use events".into(),
                            ));
                        }
                    }
                    Encoding::NalsmRate(NalsmRate::fit(images.iter().map(|v| &v[..]))?)
                }
                EncodingKind::Poisson => Encoding::Poisson {
                    max_rate_hz: inp.max_rate_hz,
                    dt_ms: 1.0,
                },
                EncodingKind::Latency => Encoding::Latency {
                    threshold: inp.threshold,
                },
                EncodingKind::Events => Encoding::Events {
                    dt_us: 1000,
                    rounding: Rounding::Nearest,
                },
            });
        }
        Ok(out)
    }

    /// Sets the step of time-based encoders.
    pub fn set_dt(&mut self, dt_ms: f64) {
        for e in &mut self.encoders {
            match e {
                Encoding::Poisson { dt_ms: d, .. } => *d = dt_ms,
                Encoding::Events { dt_us, .. } => *dt_us = (dt_ms * 1000.0).round().max(1.0) as u64,
                _ => {}
            }
        }
    }

    /// Loads `r` and encodes it over `n_steps`, seeded by its source and index;
    /// returns its label and `(step, channel)` events.
    pub fn encode(
        &mut self,
        r: SampleRef,
        n_steps: usize,
        seed: u64,
    ) -> Result<(u32, Vec<(u64, u32)>)> {
        let sample = self.sources[r.source].get(r.index)?;
        let s = self.encoders[r.source].encode(
            &sample,
            n_steps,
            sub_seed(seed, 0xE4C0 + r.source as u64, r.index as u64),
        )?;
        let events = s
            .steps
            .iter()
            .enumerate()
            .flat_map(|(k, ch)| ch.iter().map(move |&c| (k as u64, c)))
            .collect();
        Ok((sample.label as u32, events))
    }
}
