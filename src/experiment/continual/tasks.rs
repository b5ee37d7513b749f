//! Task streams over an image set: permuted-pixel tasks (every class, a fixed
//! seeded pixel permutation per task) and class-split tasks (disjoint classes,
//! scored on their own outputs), with the images they use loaded into memory.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::config::{Continual, DataSource, TaskKind};
use crate::build::sub_seed;
use crate::data::encode::poisson;
use crate::data::{SampleData, SampleSource, Split, digits::Digits, mnist::IdxDataset};
use crate::{Error, Result};

/// Seed tags of the stream's random choices.
const TAG_SPLIT: u64 = 0xC0_5917;
const TAG_PERM: u64 = 0xC0_9E21;
const TAG_PICK: u64 = 0xC0_91C4;
/// Seed tag of the input spikes of a test (or activity) presentation.
pub const TAG_TEST: u64 = 0xC0_7E57;
/// Seed tag of the input spikes of a training presentation.
pub const TAG_TRAIN: u64 = 0xC0_7A19;

/// A list of indices per task.
type PerTask = Vec<Vec<usize>>;

/// One task: its pixel permutation, the classes it is scored on, and its samples
/// (indices into [`Stream::train`] and [`Stream::test`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Channel `c` of the input shows pixel `perm[c]` (None: the identity).
    pub perm: Option<Vec<u32>>,
    /// The output neurons (classes) the task is trained and scored on.
    pub head: Vec<usize>,
    /// Training samples.
    pub train: Vec<usize>,
    /// Test samples.
    pub test: Vec<usize>,
}

/// Labelled images held in memory.
#[derive(Debug, Clone, Default)]
pub struct Images {
    /// Row-major pixels in `[0, 1]`, `n_channels` per image.
    pub pixels: Vec<Vec<f32>>,
    /// Class of each image.
    pub labels: Vec<u8>,
}

/// The task stream and the images it uses.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Tasks in training order.
    pub tasks: Vec<Task>,
    /// Training images.
    pub train: Images,
    /// Test images.
    pub test: Images,
    /// Pixels per image.
    pub n_channels: usize,
    /// Classes (output neurons).
    pub n_classes: usize,
    /// What the data is, for the report.
    pub identity: String,
}

impl Stream {
    /// Opens the data `exp` names (`data_dir` overrides `data.path`, relative paths
    /// are taken from `base`) and builds the task stream with `exp.seed`.
    pub fn open(exp: &Continual, base: &Path, data_dir: Option<&Path>) -> Result<Self> {
        let dir: Option<PathBuf> = data_dir
            .map(Path::to_path_buf)
            .or_else(|| exp.data.path.as_ref().map(|p| base.join(p)));
        let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(exp.seed, TAG_SPLIT, 0));
        // Sources, their candidate indices (shuffled) and all their labels.
        #[allow(clippy::type_complexity)]
        let (mut train_src, mut test_src, train_idx, test_idx, train_lab, test_lab): (
            Box<dyn SampleSource>,
            Box<dyn SampleSource>,
            Vec<usize>,
            Vec<usize>,
            Vec<u8>,
            Vec<u8>,
        ) = match exp.data.source {
            DataSource::Digits => {
                let d = match &dir {
                    Some(p) => Digits::load(p)?,
                    None => Digits::embedded()?,
                };
                let mut all: Vec<usize> = (0..d.len()).collect();
                all.shuffle(&mut rng);
                let n_test = (all.len() as f64 * exp.data.test_fraction).round() as usize;
                let test = all.split_off(all.len() - n_test);
                let labels = d.labels().to_vec();
                (
                    Box::new(d.clone()),
                    Box::new(d),
                    all,
                    test,
                    labels.clone(),
                    labels,
                )
            }
            DataSource::Idx => {
                let p = dir.clone().ok_or_else(|| {
                    Error::setting(
                        "data.path",
                        "data.source = \"idx\" needs a directory: set data.path or --data DIR"
                            .into(),
                    )
                })?;
                let tr = IdxDataset::open_dir(&p, Split::Train)?;
                let te = IdxDataset::open_dir(&p, Split::Test)?;
                let mut a: Vec<usize> = (0..tr.len()).collect();
                let mut b: Vec<usize> = (0..te.len()).collect();
                a.shuffle(&mut rng);
                b.shuffle(&mut rng);
                let (la, lb) = (tr.labels().to_vec(), te.labels().to_vec());
                (Box::new(tr), Box::new(te), a, b, la, lb)
            }
        };
        let n_channels = train_src.n_channels();
        let n_classes = train_src.n_classes();
        if test_src.n_channels() != n_channels {
            return Err(Error::setting(
                "data",
                format!(
                    "the test images have {} pixels, the training images {n_channels}",
                    test_src.n_channels()
                ),
            ));
        }
        let labels_of =
            |all: &[u8], idx: &[usize]| -> Vec<u8> { idx.iter().map(|&i| all[i]).collect() };
        let t = &exp.tasks;
        // Each task holds its sample lists, and each method a task × task accuracy
        // matrix: refuse a count whose lists alone would not fit.
        let per_task = (train_idx.len() + test_idx.len() + n_classes + n_channels) as f64 * 8.0;
        let need = t.count as f64 * (per_task + t.count as f64 * 8.0 * exp.methods.len() as f64);
        if let Some((limit, origin)) = crate::build::memory::limit().filter(|l| need > l.0 as f64) {
            return Err(Error::Resources(format!(
                "tasks.count = {} tasks need about {} for their sample lists and accuracy \
                 matrices, more than the {} {origin}",
                t.count,
                crate::build::memory::bytes(need),
                crate::build::memory::bytes(limit as f64)
            )));
        }
        let cap = |v: Vec<usize>, n: Option<usize>| -> Vec<usize> {
            let m = n.map_or(v.len(), |n| n.min(v.len()));
            v.into_iter().take(m).collect()
        };
        // Which source samples each task uses (positions in train_idx / test_idx).
        let (task_train, task_test, heads): (PerTask, PerTask, PerTask) = match t.kind {
            TaskKind::Permuted => {
                let tr = cap((0..train_idx.len()).collect(), t.train_samples);
                let te = cap((0..test_idx.len()).collect(), t.test_samples);
                let head: Vec<usize> = (0..n_classes).collect();
                (vec![tr; t.count], vec![te; t.count], vec![head; t.count])
            }
            TaskKind::ClassSplit => {
                let need = t.count.saturating_mul(t.classes_per_task);
                if need > n_classes {
                    return Err(Error::setting(
                        "tasks",
                        format!(
                            "tasks: {} class-split tasks of {} classes need {need} classes; the data has {n_classes}",
                            t.count, t.classes_per_task
                        ),
                    ));
                }
                let ltr = labels_of(&train_lab, &train_idx);
                let lte = labels_of(&test_lab, &test_idx);
                let mut a = vec![];
                let mut b = vec![];
                let mut h = vec![];
                for k in 0..t.count {
                    let head: Vec<usize> =
                        (k * t.classes_per_task..(k + 1) * t.classes_per_task).collect();
                    let pick = |l: &[u8]| -> Vec<usize> {
                        (0..l.len())
                            .filter(|&i| head.contains(&(l[i] as usize)))
                            .collect()
                    };
                    a.push(cap(pick(&ltr), t.train_samples));
                    b.push(cap(pick(&lte), t.test_samples));
                    h.push(head);
                }
                (a, b, h)
            }
        };
        // Load every image used once; tasks refer to the loaded copies.
        let load = |src: &mut Box<dyn SampleSource>,
                    idx: &[usize],
                    per_task: &[Vec<usize>]|
         -> Result<(Images, Vec<Vec<usize>>)> {
            let mut used: Vec<usize> = per_task.iter().flatten().copied().collect();
            // In file order: a gzipped IDX file rewinds on every backward read.
            used.sort_unstable_by_key(|&pos| idx[pos]);
            used.dedup();
            let mut at = vec![usize::MAX; idx.len()];
            let mut images = Images::default();
            for (k, &pos) in used.iter().enumerate() {
                at[pos] = k;
                let s = src.get(idx[pos])?;
                let SampleData::Image { pixels, .. } = s.data else {
                    return Err(Error::setting(
                        "data.source",
                        "continual tasks need image data".into(),
                    ));
                };
                images.pixels.push(pixels);
                images.labels.push(s.label as u8);
            }
            let remapped = per_task
                .iter()
                .map(|v| v.iter().map(|&p| at[p]).collect())
                .collect();
            Ok((images, remapped))
        };
        let (train, task_train) = load(&mut train_src, &train_idx, &task_train)?;
        let (test, task_test) = load(&mut test_src, &test_idx, &task_test)?;
        let tasks = (0..t.count)
            .map(|k| {
                let perm =
                    (t.kind == TaskKind::Permuted && (k > 0 || t.permute_first)).then(|| {
                        let mut p: Vec<u32> = (0..n_channels as u32).collect();
                        p.shuffle(&mut ChaCha8Rng::seed_from_u64(sub_seed(
                            exp.seed, TAG_PERM, k as u64,
                        )));
                        p
                    });
                let mut tr = task_train[k].clone();
                // A seeded order per task (the epochs reshuffle it).
                tr.shuffle(&mut ChaCha8Rng::seed_from_u64(sub_seed(
                    exp.seed, TAG_PICK, k as u64,
                )));
                Task {
                    perm,
                    head: heads[k].clone(),
                    train: tr,
                    test: task_test[k].clone(),
                }
            })
            .collect::<Vec<_>>();
        if let Some((k, task)) = tasks
            .iter()
            .enumerate()
            .find(|(_, t)| t.train.is_empty() || t.test.is_empty())
        {
            return Err(Error::setting(
                "tasks",
                format!(
                    "task {k} has {} training and {} test samples; each needs at least one",
                    task.train.len(),
                    task.test.len()
                ),
            ));
        }
        let identity = format!(
            "{:?} {}",
            exp.data.source,
            dir.as_ref()
                .map_or("<built-in>".into(), |p| p.display().to_string())
        );
        Ok(Stream {
            tasks,
            train,
            test,
            n_channels,
            n_classes,
            identity,
        })
    }

    /// Image `i` of `train` (or the test set) as task `task` shows it, encoded as
    /// `input` says over `steps` steps with `seed`: `(step, channel)` events and the
    /// label.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        task: usize,
        train: bool,
        i: usize,
        steps: usize,
        input: &super::InputSpec,
        dt_ms: f64,
        seed: u64,
    ) -> Result<(Vec<(u64, u32)>, usize)> {
        let set = if train { &self.train } else { &self.test };
        let px = &set.pixels[i];
        let shown: Vec<f32> = match &self.tasks[task].perm {
            Some(p) => p.iter().map(|&j| px[j as usize]).collect(),
            None => px.clone(),
        };
        let code = match input.coding {
            super::InputCoding::Poisson => poisson,
            super::InputCoding::Regular => crate::data::encode::regular,
        };
        let s = code(&shown, input.max_rate_hz, dt_ms, steps, seed)?;
        let events = s
            .steps
            .iter()
            .enumerate()
            .flat_map(|(k, ch)| ch.iter().map(move |&c| (k as u64, c)))
            .collect();
        Ok((events, set.labels[i] as usize))
    }
}
