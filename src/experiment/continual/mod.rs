//! Continual-learning experiments (`astroglia continual`): a spiking classifier
//! trained online by the simulator's delta rule on a stream of tasks, with
//! Hebbian learning based orthogonal projection (HLOP; ALGORITHMS.md §2) against
//! plain sequential training and multitask training as baselines.
//!
//! Per method:
//! * **hlop**: before task t every trained projection's lateral subspace freezes
//!   and grows (`hlop.initial` rows at task 0, `hlop.growth` after); the task
//!   trains with presynaptic traces projected off the frozen rows; afterwards the
//!   new rows learn (Oja subspace rule) the principal subspace of the task's
//!   presynaptic firing-rate activity (spike counts of `hlop.samples` training
//!   samples, scaled to unit mean square norm).
//! * **sequential**: the same stream without projection.
//! * **multitask**: every task's samples interleaved (the upper bound).
//!
//! After each task every task seen so far is scored on its test samples:
//! `acc[i][j]`, `ACC = mean_j acc[T−1][j]`, `BWT = mean_{j<T−1} (acc[T−1][j] − acc[j][j])`
//! (ALGORITHMS.md §2.6), in percent. Input spikes of a sample depend only on the
//! seed, its task, epoch and index, so every method sees the same spikes.

pub mod config;
pub mod network;
mod report;
pub mod tasks;

pub use config::*;
pub use network::{Classifier, classifier_network};
pub use report::{table, write_report};
pub use tasks::{Stream, Task};

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::experiment::lsm::Progress;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::build::sub_seed;
use crate::experiment::lsm::RunOptions;
use crate::{Error, Result};
use tasks::{TAG_TEST, TAG_TRAIN};

const TAG_ORDER: u64 = 0xC0_0DE5;
const TAG_HLOP: u64 = 0xC0_4109;
const TAG_ACTIVITY: u64 = 0xC0_AC71;

/// The HLOP subspace of one projection after one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubspaceRecord {
    /// Task just trained.
    pub task: usize,
    /// Projection (`w0`: input → first hidden layer).
    pub projection: String,
    /// Presynaptic dimension.
    pub n: usize,
    /// Lateral neurons (rows), frozen or not.
    pub rows: usize,
    /// Rows frozen during this task (learned on earlier tasks).
    pub frozen: usize,
    /// Largest change of a frozen row's weight during this task (0: untouched).
    pub frozen_drift: f32,
    /// Fraction of the task's (scaled) activity energy inside the learned subspace.
    pub captured_energy: f64,
    /// Smallest and largest singular value of `H` (all rows). The projection
    /// `x − HᵀHx` only removes the subspace when both are near 1 (`HHᵀ = I`).
    pub singular_range: [f64; 2],
}

/// What one method measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodResult {
    /// `acc_matrix[i][j]`: test accuracy (%) on task j after training task i (null
    /// for j > i). Multitask has one row: after training on all tasks.
    pub acc_matrix: Vec<Vec<Option<f64>>>,
    /// Mean final accuracy over tasks, %.
    #[serde(rename = "ACC")]
    pub acc: f64,
    /// Backward transfer, % (None for multitask and single-task streams).
    #[serde(rename = "BWT")]
    pub bwt: Option<f64>,
    /// Online training accuracy (%) of each training stage (per task; one for
    /// multitask), over its last epoch.
    pub train_accuracy: Vec<f64>,
    /// HLOP subspaces after each task (hlop only).
    pub subspaces: Vec<SubspaceRecord>,
    /// Mean firing rate (Hz) of each layer (input first) over the test samples of
    /// the final evaluation.
    pub rates_hz: Vec<f64>,
    /// Fraction of those test samples without any output spike (scored as the
    /// head's first class).
    pub silent_output: f64,
    /// Samples presented for training.
    pub samples_trained: usize,
    /// Wall time of the method, s.
    pub wall_s: f64,
}

/// Everything a continual experiment measured (`results.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Experiment name.
    pub name: String,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// Seed.
    pub seed: u64,
    /// The data.
    pub data: String,
    /// `permuted` or `class_split`.
    pub task_kind: TaskKind,
    /// Tasks in the stream.
    pub n_tasks: usize,
    /// Training samples of each task.
    pub train_samples: Vec<usize>,
    /// Test samples of each task.
    pub test_samples: Vec<usize>,
    /// Layer sizes, input first.
    pub layers: Vec<usize>,
    /// Steps per sample.
    pub sample_steps: u64,
    /// Per method.
    pub methods: BTreeMap<String, MethodResult>,
    /// Whole run, s.
    pub wall_s: f64,
}

/// `(ACC, BWT)` of an accuracy matrix (ALGORITHMS.md §2.6): the mean of the last
/// row, and the mean over j < T−1 of `acc[T−1][j] − acc[j][j]` (None when the
/// matrix is not square or has one task).
///
/// ```
/// use astroglia::experiment::continual::acc_bwt;
/// let m = vec![
///     vec![Some(90.0), None],
///     vec![Some(70.0), Some(80.0)],
/// ];
/// assert_eq!(acc_bwt(&m), (75.0, Some(-20.0)));
/// ```
pub fn acc_bwt(m: &[Vec<Option<f64>>]) -> (f64, Option<f64>) {
    let Some(last) = m.last() else {
        return (f64::NAN, None);
    };
    let t = last.len();
    let vals: Vec<f64> = last.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let acc = vals.iter().sum::<f64>() / t as f64;
    let bwt = (m.len() == t && t > 1).then(|| {
        (0..t - 1)
            .map(|j| vals[j] - m[j][j].unwrap_or(f64::NAN))
            .sum::<f64>()
            / (t - 1) as f64
    });
    (acc, bwt)
}

/// Runs `exp` (relative paths from `base`): every method in `exp.methods`.
pub fn run_continual(exp: &Continual, base: &Path, opts: &RunOptions) -> Result<Results> {
    let wall = Instant::now();
    let stream = Stream::open(exp, base, opts.data_dir.as_deref())?;
    let mut methods = BTreeMap::new();
    let mut backend = String::new();
    let mut layers = vec![];
    let mut sample_steps = 0;
    for &m in &exp.methods {
        let (r, c) = run_method(exp, &stream, m, opts)?;
        backend = c.backend_name().into();
        layers = c.sizes().to_vec();
        sample_steps = c.steps();
        methods.insert(m.key().to_string(), r);
    }
    Ok(Results {
        name: exp.name.clone().unwrap_or_else(|| "continual".into()),
        backend,
        seed: exp.seed,
        data: stream.identity.clone(),
        task_kind: exp.tasks.kind,
        n_tasks: stream.tasks.len(),
        train_samples: stream.tasks.iter().map(|t| t.train.len()).collect(),
        test_samples: stream.tasks.iter().map(|t| t.test.len()).collect(),
        layers,
        sample_steps,
        methods,
        wall_s: wall.elapsed().as_secs_f64(),
    })
}

/// Runs one method; returns its result and the classifier as trained.
pub fn run_method(
    exp: &Continual,
    stream: &Stream,
    method: Method,
    opts: &RunOptions,
) -> Result<(MethodResult, Classifier)> {
    let t0 = Instant::now();
    let hlop = method == Method::Hlop;
    let net = classifier_network(exp, stream.n_channels, stream.n_classes, hlop);
    let mut c = Classifier::new(
        exp,
        &net,
        opts.backend,
        opts.adapter.as_deref(),
        opts.threads,
    )?;
    let n_tasks = stream.tasks.len();
    if hlop {
        for l in 0..exp.n_projections() {
            let total = exp.hlop.initial[l] + exp.hlop.growth[l] * (n_tasks - 1);
            let n = c.sizes()[l];
            if total > n {
                return Err(Error::setting(
                    "hlop",
                    format!(
                        "hlop: projection w{l} has {n} presynaptic neurons, but initial[{l}] + \
                     growth[{l}] × {} tasks = {total} rows",
                        n_tasks - 1
                    ),
                ));
            }
        }
    }
    let epochs = exp.tasks.epochs;
    let total_train: usize = stream.tasks.iter().map(|t| t.train.len()).sum::<usize>() * epochs;
    let total_test: usize = stream.tasks.iter().map(|t| t.test.len()).sum();
    let evals = match method {
        Method::Multitask => total_test,
        _ => (0..n_tasks)
            .map(|i| {
                stream.tasks[..=i]
                    .iter()
                    .map(|t| t.test.len())
                    .sum::<usize>()
            })
            .sum(),
    };
    let bar = crate::experiment::lsm::progress_bar(
        opts.progress,
        (total_train + evals) as u64,
        method.key(),
    );
    let mut res = MethodResult {
        acc_matrix: vec![],
        acc: f64::NAN,
        bwt: None,
        train_accuracy: vec![],
        subspaces: vec![],
        rates_hz: vec![],
        silent_output: 0.0,
        samples_trained: 0,
        wall_s: 0.0,
    };
    let mut stats = TestStats::default();
    match method {
        Method::Hlop | Method::Sequential => {
            let mut before: Vec<Vec<f32>> = vec![vec![]; exp.n_projections()];
            for i in 0..n_tasks {
                if hlop {
                    for (l, b) in before.iter_mut().enumerate() {
                        let k = if i == 0 {
                            exp.hlop.initial[l]
                        } else {
                            exp.hlop.growth[l]
                        };
                        c.hlop_task(l, k, sub_seed(exp.seed, TAG_HLOP, (i * 64 + l) as u64))?;
                        *b = c.hlop(l)?.frozen_weights().to_vec();
                    }
                }
                let items: Vec<(usize, usize)> =
                    stream.tasks[i].train.iter().map(|&s| (i, s)).collect();
                let acc = train_items(exp, stream, &mut c, &items, i as u64, &bar)?;
                res.train_accuracy.push(acc);
                res.samples_trained += items.len() * epochs;
                c.sync_eval()?;
                let mut row = vec![None; n_tasks];
                stats = TestStats::default();
                for (j, r) in row.iter_mut().enumerate().take(i + 1) {
                    *r = Some(evaluate(exp, stream, &mut c, j, &bar, &mut stats)?);
                }
                if hlop {
                    learn_subspaces(exp, stream, &mut c, i, &before, &mut res.subspaces)?;
                }
                let shown: Vec<String> = row[..=i]
                    .iter()
                    .map(|a| format!("{:.1}", a.unwrap_or(f64::NAN)))
                    .collect();
                bar.println(format!(
                    "{}: after task {i}: train {acc:.1} %, test [{}] %",
                    method.key(),
                    shown.join(", ")
                ));
                res.acc_matrix.push(row);
            }
        }
        Method::Multitask => {
            let items: Vec<(usize, usize)> = stream
                .tasks
                .iter()
                .enumerate()
                .flat_map(|(t, task)| task.train.iter().map(move |&s| (t, s)))
                .collect();
            let acc = train_items(exp, stream, &mut c, &items, 1 << 20, &bar)?;
            res.train_accuracy.push(acc);
            res.samples_trained += items.len() * epochs;
            c.sync_eval()?;
            let row = (0..n_tasks)
                .map(|j| evaluate(exp, stream, &mut c, j, &bar, &mut stats).map(Some))
                .collect::<Result<Vec<_>>>()?;
            res.acc_matrix.push(row);
        }
    }
    bar.finish_and_clear();
    let seconds = stats.samples.max(1) as f64 * c.steps() as f64 * exp.network.dt_ms / 1000.0;
    res.rates_hz = stats
        .spikes
        .iter()
        .zip(c.sizes())
        .map(|(s, &n)| s / (n as f64 * seconds))
        .collect();
    res.silent_output = stats.silent as f64 / stats.samples.max(1) as f64;
    let (acc, bwt) = acc_bwt(&res.acc_matrix);
    res.acc = acc;
    res.bwt = bwt;
    res.wall_s = t0.elapsed().as_secs_f64();
    Ok((res, c))
}

/// Trains on `items` (`(task, training sample)`) for `exp.tasks.epochs` epochs,
/// reshuffled per epoch with a seed keyed by `stage`; returns the training
/// accuracy (%) of the last epoch.
fn train_items(
    exp: &Continual,
    stream: &Stream,
    c: &mut Classifier,
    items: &[(usize, usize)],
    stage: u64,
    bar: &Progress,
) -> Result<f64> {
    let steps = c.steps() as usize;
    let mut correct = 0;
    let mut order = items.to_vec();
    for epoch in 0..exp.tasks.epochs {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(sub_seed(
            exp.seed,
            TAG_ORDER,
            stage * 4096 + epoch as u64,
        )));
        correct = 0;
        for &(t, s) in &order {
            let seed = sub_seed(
                sub_seed(exp.seed, TAG_TRAIN, t as u64),
                epoch as u64,
                s as u64,
            );
            let (events, label) =
                stream.encode(t, true, s, steps, &exp.input, exp.network.dt_ms, seed)?;
            let head = &stream.tasks[t].head;
            if c.train_sample(events, label, head)? == label {
                correct += 1;
            }
            bar.inc(1);
        }
    }
    Ok(100.0 * correct as f64 / items.len().max(1) as f64)
}

/// Spike counts (`[input, hidden…, output]`) of `samples` of task `t` (training
/// or test images), presented without learning, batch by batch.
#[allow(clippy::too_many_arguments)]
fn counts_of(
    exp: &Continual,
    stream: &Stream,
    c: &mut Classifier,
    t: usize,
    train: bool,
    samples: &[usize],
    tag: u64,
    mut each: impl FnMut(usize, network::Counts),
) -> Result<()> {
    let steps = c.steps() as usize;
    for group in samples.chunks(exp.batch) {
        let mut inputs = vec![];
        let mut labels = vec![];
        for &s in group {
            let seed = sub_seed(sub_seed(exp.seed, tag, t as u64), 0, s as u64);
            let (ev, label) =
                stream.encode(t, train, s, steps, &exp.input, exp.network.dt_ms, seed)?;
            inputs.push(ev);
            labels.push(label);
        }
        for (label, counts) in labels.into_iter().zip(c.present(inputs)?) {
            each(label, counts);
        }
    }
    Ok(())
}

/// Activity over test presentations: spikes per layer, samples, silent outputs.
#[derive(Default)]
struct TestStats {
    spikes: Vec<f64>,
    samples: usize,
    silent: usize,
}

/// Test accuracy (%) on task `j`; adds the presentations to `stats`.
fn evaluate(
    exp: &Continual,
    stream: &Stream,
    c: &mut Classifier,
    j: usize,
    bar: &Progress,
    stats: &mut TestStats,
) -> Result<f64> {
    let task = &stream.tasks[j];
    let mut correct = 0usize;
    counts_of(
        exp,
        stream,
        c,
        j,
        false,
        &task.test,
        TAG_TEST,
        |label, counts| {
            let out = counts.last().expect("output layer");
            if network::predict(out, &task.head) == label {
                correct += 1;
            }
            stats.spikes.resize(counts.len(), 0.0);
            for (s, layer) in stats.spikes.iter_mut().zip(&counts) {
                *s += layer.iter().map(|&v| v as f64).sum::<f64>();
            }
            stats.samples += 1;
            stats.silent += usize::from(task.head.iter().all(|&o| out[o] == 0.0));
            bar.inc(1);
        },
    )?;
    Ok(100.0 * correct as f64 / task.test.len() as f64)
}

/// After task `i`: trains the new HLOP rows of every projection on the task's
/// presynaptic activity and records the subspaces (`before[l]`: the frozen rows
/// when the task began).
fn learn_subspaces(
    exp: &Continual,
    stream: &Stream,
    c: &mut Classifier,
    i: usize,
    before: &[Vec<f32>],
    out: &mut Vec<SubspaceRecord>,
) -> Result<()> {
    let task = &stream.tasks[i];
    let n = exp.hlop.samples.min(task.train.len());
    let n_proj = exp.n_projections();
    let sizes = c.sizes().to_vec();
    let mut acts: Vec<Vec<f32>> = vec![vec![]; n_proj];
    counts_of(
        exp,
        stream,
        c,
        i,
        true,
        &task.train[..n],
        TAG_ACTIVITY,
        |_, counts| {
            for (l, a) in acts.iter_mut().enumerate() {
                a.extend_from_slice(&counts[l]);
            }
        },
    )?;
    for (l, x) in acts.iter_mut().enumerate() {
        let dim = sizes[l];
        let energy = x.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>() / n as f64;
        if energy > 0.0 {
            let s = (1.0 / energy.sqrt()) as f32;
            x.iter_mut().for_each(|v| *v *= s);
            for _ in 0..exp.hlop.epochs {
                for chunk in x.chunks(exp.hlop.batch * dim) {
                    c.hlop_learn(l, chunk, chunk.len() / dim)?;
                }
            }
        }
        let h = c.hlop(l)?;
        let frozen = h.frozen_rows();
        let drift = h
            .frozen_weights()
            .iter()
            .zip(&before[l])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        // Energy inside the span of every row: 1 − |x − Hᵀ H x|² / |x|².
        let mut all = h.clone();
        all.freeze();
        let mut resid = vec![0.0f32; x.len()];
        all.project(x, &mut resid)?;
        let sq = |v: &[f32]| v.iter().map(|a| (*a as f64) * (*a as f64)).sum::<f64>();
        let total = sq(x);
        out.push(SubspaceRecord {
            task: i,
            projection: format!("w{l}"),
            n: dim,
            rows: h.k(),
            frozen,
            frozen_drift: drift,
            singular_range: singular_range(h.weights(), h.k(), dim),
            captured_energy: if total > 0.0 {
                1.0 - sq(&resid) / total
            } else {
                0.0
            },
        });
    }
    Ok(())
}

/// `[min, max]` singular value of the `k × n` row-major matrix `h`.
fn singular_range(h: &[f32], k: usize, n: usize) -> [f64; 2] {
    if k == 0 {
        return [0.0, 0.0];
    }
    let m = nalgebra::DMatrix::from_row_iterator(k, n, h.iter().map(|&v| v as f64));
    let sv = m.singular_values();
    [sv.min(), sv.max()]
}
