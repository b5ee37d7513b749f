//! Liquid-state-machine experiments (`astroglia experiment`): NALSM's protocol
//! (ALGORITHMS.md §1.6) on any dataset the readers support.
//!
//! 1. **Init phase** (optional, `[init]`): training samples presented for
//!    `sample_ms` each with plasticity on and astrocytes without decay; neuron,
//!    trace and astrocyte state reset per sample, weights carried over. The final
//!    weights are W_INI.
//! 2. **Feature phase**: every train, validation and test sample is presented for
//!    `input.sample_ms` from a reset state and (with `reset_weights`) W_INI, with
//!    the astrocytes' feature-phase decay; the spike counts of the feature
//!    populations (per time bin) are its features. Samples run as the instances
//!    of a batch; each starts at step 0 from the same state, and its input is
//!    seeded by its index, so features do not depend on the batch size or the
//!    thread count. Features are cached on disk in chunks (resume after an
//!    interruption).
//! 3. **Readout**: normalisation, softmax (best validation epoch) or ridge (best
//!    validation λ) on the training set; accuracy on each set. The same readout on
//!    the input spike counts is the baseline.
//!
//! The branching factor is computed on the first `branching_samples` samples.

mod cache;
pub mod config;
pub mod data;
mod features;
mod readout;
mod report;
mod variants;

pub use config::*;
pub use data::{Dataset, SampleRef, Set};
pub use readout::ReadoutResult;
pub use report::write_report;
pub use variants::{Comparison, VariantRow, run_variants, variant_network, write_comparison};

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::analysis::{BranchingParams, LiquidGraph, branching_factor};
use crate::backend::{Backend, CpuBackend, Spike, gpu_batched};
use crate::build::{Built, build};
use crate::model::Network;
use crate::readout::FeatureMatrix;
use crate::sim::BackendKind;
use crate::{Error, Result};
use features::Counts;

/// Samples per cache chunk.
const CHUNK: usize = 200;

/// How to run an experiment.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Overrides `data.path`.
    pub data_dir: Option<PathBuf>,
    /// Backend.
    pub backend: BackendKind,
    /// GPU adapter filter.
    pub adapter: Option<String>,
    /// CPU worker threads (instances of a batch run in parallel).
    pub threads: usize,
    /// Output directory (results.json, plots, `cache/`).
    pub out: PathBuf,
    /// Show progress bars (with the `progress` feature; without it, only the
    /// lines printed above them).
    pub progress: bool,
}

/// Timings of the phases, s.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Init phase (0 without plastic projections; loading W_INI when cached).
    pub init_s: f64,
    /// Feature phase (simulated samples only).
    pub features_s: f64,
    /// Readout fitting and evaluation.
    pub readout_s: f64,
}

/// Everything an experiment measured (`results.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Experiment name.
    pub name: String,
    /// The network's model file.
    pub model: String,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// Seed.
    pub seed: u64,
    /// Samples in each set.
    pub n_train: usize,
    /// Validation samples.
    pub n_val: usize,
    /// Test samples.
    pub n_test: usize,
    /// Liquid features per sample.
    pub n_features: usize,
    /// The liquid readout's test accuracy.
    pub test_accuracy: f64,
    /// Its validation accuracy (the selection criterion).
    pub val_accuracy: f64,
    /// Its training accuracy.
    pub train_accuracy: f64,
    /// Mean branching factor of the liquid over the first samples (None when no
    /// sample had a value or none was measured).
    pub branching_factor: Option<f64>,
    /// Mean firing rate of the feature populations over all samples, Hz.
    pub liquid_rate_hz: f64,
    /// Feature-phase samples simulated per second (all instances together).
    pub samples_per_s: f64,
    /// Whole run, s.
    pub wall_s: f64,
    /// Per phase, s.
    pub timings: Timings,
    /// Samples presented in the init phase.
    pub init_samples: usize,
    /// Feature-phase samples loaded from the cache rather than simulated.
    pub cached_samples: usize,
    /// The liquid readout in full.
    pub liquid: ReadoutResult,
    /// The same readout on the input spike counts.
    pub input_baseline: ReadoutResult,
}

/// Everything the report plots need beyond [`Results`].
pub struct RunArtifacts {
    /// Results.
    pub results: Results,
    /// Spikes of the first test sample: `(step, liquid id)`, and the liquid size.
    pub raster: (Vec<(u64, u32)>, u32),
    /// Sample length, steps, and step, ms.
    pub sample_steps: u64,
    /// Step, ms.
    pub dt_ms: f64,
}

/// The feature populations: global id → liquid id.
struct Liquid {
    ids: Vec<Option<u32>>,
    size: u32,
    graph: LiquidGraph,
}

impl Liquid {
    fn new(net: &Network, built: &Built, pops: &[String]) -> Result<Self> {
        let idx: Vec<usize> = pops
            .iter()
            .map(|p| {
                net.population_index(p).ok_or_else(|| {
                    Error::setting(
                        "features.populations",
                        format!("features.populations: no population '{p}' in the model"),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let (graph, offsets) = LiquidGraph::of_populations(built, &idx)?;
        let total: usize = built.pops.iter().map(|p| p.size as usize).sum();
        let mut ids = vec![None; total];
        for (&pi, &off) in idx.iter().zip(&offsets) {
            let p = &built.pops[pi];
            for k in 0..p.size {
                ids[(p.offset + k) as usize] = Some(off + k);
            }
        }
        Ok(Liquid {
            ids,
            size: graph.len() as u32,
            graph,
        })
    }

    fn spikes(&self, spikes: &[Spike]) -> Vec<(u64, u32)> {
        spikes
            .iter()
            .filter_map(|s| Some((s.step as u64, self.ids[s.id as usize]?)))
            .collect()
    }
}

/// Runs `exp` (its relative paths taken from `base`) and writes `results.json`,
/// plots and the feature cache under `opts.out`.
pub fn run_experiment(exp: &Experiment, base: &Path, opts: &RunOptions) -> Result<RunArtifacts> {
    if !exp.variants.is_empty() {
        return Err(Error::setting(
            "variants",
            format!(
                "the experiment has {} [[variants]]: run it with run_variants",
                exp.variants.len()
            ),
        ));
    }
    let model_path = base.join(&exp.model);
    let net = Network::from_toml_file(&model_path)?;
    let model_text = crate::input_file::read_text(&model_path)?;
    run_network(exp, &net, &model_path, &model_text, base, opts)
}

/// [`run_experiment`] on a network already loaded from `model_path`; `model_key`
/// (the model file's text, or the variant network) keys the feature cache.
fn run_network(
    exp: &Experiment,
    net: &Network,
    model_path: &Path,
    model_key: &str,
    base: &Path,
    opts: &RunOptions,
) -> Result<RunArtifacts> {
    let wall = Instant::now();
    let mut ds = Dataset::open(exp, base, opts.data_dir.as_deref())?;
    if let Some(first) = ds.skipped.first() {
        eprintln!(
            "warning: data.skip_bad: left out {} samples that failed to load (the first: {first})",
            ds.skipped.len()
        );
    }
    ds.set_dt(net.dt_ms);
    let input_pop = check_input(net, exp, ds.n_channels)?;
    let sample_steps = steps_of(exp, "input.sample_ms", exp.input.sample_ms, net.dt_ms)?;
    if exp.features.bins as u64 > sample_steps {
        return Err(exp.issue(
            "features.bins",
            format!(
                "{} bins is more than the {sample_steps} steps of a sample",
                exp.features.bins
            ),
        ));
    }

    let key = {
        let mut h = Sha256::new();
        let mut e = exp.clone();
        // Neither the readout nor the batch size changes the features.
        e.readout = ReadoutSpecFile::default();
        e.name = None;
        e.batch = 0;
        h.update(serde_json::to_vec(&e).expect("serialisable"));
        h.update(model_key.as_bytes());
        h.update(ds.identity.as_bytes());
        h.update(format!("{:?}", opts.backend).as_bytes());
        let hex: String = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        hex
    };
    let cache_dir = opts.out.join("cache").join(&key);
    std::fs::create_dir_all(&cache_dir).map_err(|e| Error::io(&cache_dir, e))?;

    // Init phase.
    let mut timings = Timings::default();
    let t = Instant::now();
    let w_ini = init_phase(exp, net, &mut ds, input_pop, &cache_dir, opts)?;
    // Zero when nothing is plastic (no init phase ran).
    timings.init_s = w_ini.as_ref().map_or(0.0, |_| t.elapsed().as_secs_f64());

    // Feature phase.
    let mut feat_net = net.clone();
    if let Some(d) = exp.features.astrocyte_decay {
        feat_net.astrocytes.iter_mut().for_each(|a| a.decay = d);
    }
    let built = build(&feat_net, exp.seed)?;
    let liquid = Liquid::new(&feat_net, &built, &exp.features.populations)?;
    let plastic: Vec<usize> = (0..built.projs.len())
        .filter(|&k| built.projs[k].plastic.is_some())
        .collect();
    let batch = exp.batch.min(ds.samples.len()).max(1);
    let mut backend = make_backend(&built, batch, opts)?;
    let w0 = match w_ini {
        Some(w) => w,
        None => read_plastic(backend.as_mut(), &plastic)?,
    };
    let bins = exp.features.bins;
    let n_liq = liquid.size as usize * bins;
    let row_len = 1 + n_liq + ds.n_channels;
    let n = ds.samples.len();
    // The compact counts, the input counts, and the readout's normalised f32 copy.
    let count_bytes = if sample_steps <= u64::from(u16::MAX) {
        2.0
    } else {
        4.0
    };
    let need = n as f64 * (n_liq as f64 * (count_bytes + 4.0) + ds.n_channels as f64 * 4.0);
    if let Some((limit, origin)) = crate::build::memory::limit().filter(|l| need > l.0 as f64) {
        return Err(Error::Resources(format!(
            "{}: the features of {n} samples ({row_len} values each: {} liquid neurons \
             × {bins} bins, the input counts and the label) need about {}, more than the {} {origin}",
            exp.source_name(),
            liquid.size,
            crate::build::memory::bytes(need),
            crate::build::memory::bytes(limit as f64)
        )));
    }
    let bar = progress_bar(opts.progress, n as u64, "features");
    let mut liquid_x = Counts::with_capacity(n_liq, n, sample_steps);
    let mut input_x = FeatureMatrix::with_capacity(ds.n_channels, n);
    let mut bf: Vec<f64> = vec![];
    let mut labels: Vec<u32> = Vec::with_capacity(n);
    let (mut simulated, mut cached) = (0usize, 0usize);
    let t = Instant::now();
    for (k, chunk_refs) in ds.samples.clone().chunks(CHUNK).enumerate() {
        let path = cache::chunk_path(&cache_dir, k);
        let chunk = match cache::load(&path, chunk_refs.len(), row_len, Some(ds.n_classes))? {
            Some(c) => {
                cached += chunk_refs.len();
                bar.inc(chunk_refs.len() as u64);
                c
            }
            None => {
                let mut c = cache::Chunk {
                    labels: vec![],
                    row_len,
                    values: vec![],
                };
                for (j, group) in chunk_refs.chunks(batch).enumerate() {
                    let first = k * CHUNK + j * batch;
                    let runs = present(
                        backend.as_mut(),
                        &mut ds,
                        group,
                        input_pop,
                        &plastic,
                        &w0,
                        exp,
                        sample_steps,
                    )?;
                    for (i, (label, spikes, input_counts)) in runs.into_iter().enumerate() {
                        let liq = liquid.spikes(&spikes);
                        let bf = if first + i < exp.branching_samples {
                            branching_factor(
                                &liquid.graph,
                                &liq,
                                &[0],
                                sample_steps,
                                net.dt_ms,
                                &BranchingParams::default(),
                            )
                            .ok()
                            .and_then(|r| r.mean)
                            .map_or(f32::NAN, |v| v as f32)
                        } else {
                            f32::NAN
                        };
                        c.labels.push(label);
                        c.values.push(bf);
                        let start = c.values.len();
                        c.values.resize(start + n_liq, 0.0);
                        for &(step, id) in &liq {
                            let b = (step as usize * bins / sample_steps as usize).min(bins - 1);
                            c.values[start + id as usize * bins + b] += 1.0;
                        }
                        c.values.extend(input_counts);
                    }
                    simulated += group.len();
                    bar.inc(group.len() as u64);
                }
                cache::save(&path, &c)?;
                c
            }
        };
        if chunk.labels.len() != chunk_refs.len() {
            return Err(Error::io(
                &path,
                "feature chunk has the wrong number of samples",
            ));
        }
        for (label, row) in chunk
            .labels
            .into_iter()
            .zip(chunk.values.chunks_exact(row_len))
        {
            labels.push(label);
            bf.extend(Some(f64::from(row[0])).filter(|v| v.is_finite()));
            liquid_x.push(&row[1..1 + n_liq], &path)?;
            input_x.push_row(&row[1 + n_liq..])?;
        }
    }
    bar.finish_and_clear();
    timings.features_s = t.elapsed().as_secs_f64();

    // Raster of the first test sample (always simulated: cheap, and not cached).
    let first_test = ds
        .samples
        .iter()
        .copied()
        .find(|r| r.set == Set::Test)
        .expect("split checked");
    let runs = present(
        backend.as_mut(),
        &mut ds,
        &[first_test],
        input_pop,
        &plastic,
        &w0,
        exp,
        sample_steps,
    )?;
    let raster = (liquid.spikes(&runs[0].1), liquid.size);

    // Readout.
    let t = Instant::now();
    let sets: Vec<Set> = ds.samples.iter().map(|r| r.set).collect();
    let liquid_spikes = liquid_x.total();
    let liquid_r = readout::fit_and_score(
        &exp.readout,
        &liquid_x,
        &labels,
        &sets,
        ds.n_classes,
        exp.seed,
    )?;
    drop(liquid_x);
    let input_r = readout::fit_and_score(
        &exp.readout,
        &input_x,
        &labels,
        &sets,
        ds.n_classes,
        exp.seed,
    )?;
    timings.readout_s = t.elapsed().as_secs_f64();

    let count = |s: Set| sets.iter().filter(|&&x| x == s).count();
    let results = Results {
        name: exp.name.clone().unwrap_or_else(|| "experiment".into()),
        model: model_path.display().to_string(),
        backend: backend.name().into(),
        seed: exp.seed,
        n_train: count(Set::Train),
        n_val: count(Set::Val),
        n_test: count(Set::Test),
        n_features: n_liq,
        test_accuracy: liquid_r.test_accuracy,
        val_accuracy: liquid_r.val_accuracy,
        train_accuracy: liquid_r.train_accuracy,
        branching_factor: (!bf.is_empty()).then(|| bf.iter().sum::<f64>() / bf.len() as f64),
        liquid_rate_hz: {
            let sample_s = sample_steps as f64 * net.dt_ms / 1000.0;
            liquid_spikes / (labels.len().max(1) as f64 * liquid.size as f64 * sample_s)
        },
        samples_per_s: if simulated > 0 {
            simulated as f64 / timings.features_s
        } else {
            0.0
        },
        wall_s: wall.elapsed().as_secs_f64(),
        timings,
        init_samples: exp.init.as_ref().map_or(0, |i| i.samples),
        cached_samples: cached,
        liquid: liquid_r,
        input_baseline: input_r,
    };
    Ok(RunArtifacts {
        results,
        raster,
        sample_steps,
        dt_ms: net.dt_ms,
    })
}

/// The input population's index; it must be a spike source with a neuron per channel.
/// The steps of a sample of `ms` from the experiment's field `what`.
fn steps_of(exp: &Experiment, what: &str, ms: f64, dt_ms: f64) -> Result<u64> {
    crate::model::sample_steps(ms, dt_ms).map_err(|message| exp.issue(what, message))
}

fn check_input(net: &Network, exp: &Experiment, channels: usize) -> Result<usize> {
    let name = &exp.input.population;
    let model = net.source_name();
    let pi = net.population_index(name).ok_or_else(|| {
        exp.issue(
            "input.population",
            format!("no population '{name}' in the model {model}"),
        )
    })?;
    let p = &net.populations[pi];
    if !matches!(p.model, crate::model::NeuronModel::SpikeSource(_)) || (p.size as usize) < channels
    {
        return Err(exp.issue(
            "input.population",
            format!(
                "'{name}' of {model} must be a spike source (spike_source = {{}}) with at \
                 least {channels} neurons, one per input channel of the data; it has {} neurons",
                p.size
            ),
        ));
    }
    Ok(pi)
}

fn make_backend(built: &Built, batch: usize, opts: &RunOptions) -> Result<Box<dyn Backend>> {
    let instances = vec![built.clone(); batch];
    Ok(match opts.backend {
        BackendKind::Cpu => Box::new(CpuBackend::batched(instances, opts.threads.max(1))?),
        BackendKind::Gpu => gpu_batched(&instances, opts.adapter.as_deref())?,
    })
}

fn read_plastic(b: &mut dyn Backend, plastic: &[usize]) -> Result<Vec<Vec<f32>>> {
    plastic
        .iter()
        .map(|&k| {
            let mut w = vec![];
            b.read_weights(0, k, &mut w)?;
            Ok(w)
        })
        .collect()
}

/// One sample's label, spikes (global ids) and input spike counts per channel.
type Presented = (u32, Vec<Spike>, Vec<f32>);

/// Presents `group` (at most the batch size) as instances `0..group.len()` from a
/// reset state with weights `w0`, for `steps` steps.
#[allow(clippy::too_many_arguments)]
fn present(
    b: &mut dyn Backend,
    ds: &mut Dataset,
    group: &[SampleRef],
    input_pop: usize,
    plastic: &[usize],
    w0: &[Vec<f32>],
    exp: &Experiment,
    steps: u64,
) -> Result<Vec<Presented>> {
    let mut out = Vec::with_capacity(group.len());
    for i in 0..b.batch() {
        b.reset(i)?;
        if exp.features.reset_weights {
            for (&k, w) in plastic.iter().zip(w0) {
                b.write_weights(i, k, w)?;
            }
        }
        let (label, events) = match group.get(i) {
            Some(&r) => ds.encode(r, steps as usize, exp.seed)?,
            None => (0, vec![]),
        };
        let mut counts = vec![0.0f32; ds.n_channels];
        events.iter().for_each(|&(_, c)| counts[c as usize] += 1.0);
        b.set_spike_source(i, input_pop, events)?;
        if i < group.len() {
            out.push((label, vec![], counts));
        }
    }
    b.run(0, steps)?;
    let mut spikes = vec![vec![]; b.batch()];
    b.drain_batch(&mut spikes)?;
    for (o, s) in out.iter_mut().zip(spikes) {
        o.1 = s;
    }
    Ok(out)
}

/// NALSM's init phase in instance 0 of a one-instance backend; `None` without
/// `[init]` or plastic projections. W_INI is cached.
fn init_phase(
    exp: &Experiment,
    net: &Network,
    ds: &mut Dataset,
    input_pop: usize,
    cache_dir: &Path,
    opts: &RunOptions,
) -> Result<Option<Vec<Vec<f32>>>> {
    let Some(init) = &exp.init else {
        return Ok(None);
    };
    let mut init_net = net.clone();
    init_net.astrocytes.iter_mut().for_each(|a| a.decay = 1.0);
    let built = build(&init_net, exp.seed)?;
    let plastic: Vec<usize> = (0..built.projs.len())
        .filter(|&k| built.projs[k].plastic.is_some())
        .collect();
    if plastic.is_empty() {
        return Ok(None);
    }
    let sizes: Vec<usize> = plastic.iter().map(|&k| built.projs[k].len()).collect();
    let path = cache::chunk_path(cache_dir, 999_999);
    let total: usize = sizes.iter().sum();
    if let Some(c) = cache::load(&path, 1, total, None)? {
        let mut rest = &c.values[..];
        return Ok(Some(
            sizes
                .iter()
                .map(|&n| {
                    let (a, b) = rest.split_at(n);
                    rest = b;
                    a.to_vec()
                })
                .collect(),
        ));
    }
    let mut b = make_backend(&built, 1, opts)?;
    let steps = steps_of(exp, "init.sample_ms", init.sample_ms, net.dt_ms)?;
    let train: Vec<SampleRef> = ds
        .samples
        .iter()
        .copied()
        .filter(|r| r.set == Set::Train)
        .collect();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(
        crate::build::sub_seed(exp.seed, 0x1A17, 0),
    );
    let mut order = vec![];
    let bar = progress_bar(opts.progress, init.samples as u64, "init");
    let mut sink = vec![vec![]];
    for _ in 0..init.samples {
        if order.is_empty() {
            order = train.clone();
            rand::seq::SliceRandom::shuffle(&mut order[..], &mut rng);
        }
        let r = order.pop().expect("refilled");
        b.reset(0)?;
        let (_, events) = ds.encode(r, steps as usize, exp.seed ^ 0x1A17)?;
        b.set_spike_source(0, input_pop, events)?;
        b.run(0, steps)?;
        sink[0].clear();
        b.drain_batch(&mut sink)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let w = read_plastic(b.as_mut(), &plastic)?;
    cache::save(
        &path,
        &cache::Chunk {
            labels: vec![0],
            row_len: total,
            values: w.concat(),
        },
    )?;
    Ok(Some(w))
}

/// A progress bar over `len` samples labelled `what` (hidden unless `show`).
#[cfg(feature = "progress")]
pub(crate) fn progress_bar(show: bool, len: u64, what: &str) -> Progress {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} samples ({{per_sec}}, ETA {{eta}})"
        ))
        .expect("valid template"),
    );
    bar
}

/// Without the `progress` feature: no bar, only the lines printed through it.
#[cfg(not(feature = "progress"))]
pub(crate) fn progress_bar(show: bool, _len: u64, _what: &str) -> Progress {
    Progress { show }
}

/// The experiments' progress bar on stderr.
#[cfg(feature = "progress")]
pub(crate) type Progress = indicatif::ProgressBar;

/// Stands in for the progress bar without the `progress` feature.
#[cfg(not(feature = "progress"))]
pub(crate) struct Progress {
    show: bool,
}

#[cfg(not(feature = "progress"))]
impl Progress {
    pub(crate) fn inc(&self, _delta: u64) {}

    pub(crate) fn finish_and_clear(&self) {}

    /// Prints `msg` on stderr when shown, as the bar would above itself.
    pub(crate) fn println(&self, msg: impl AsRef<str>) {
        if self.show {
            eprintln!("{}", msg.as_ref());
        }
    }
}
