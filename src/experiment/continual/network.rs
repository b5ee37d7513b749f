//! The spiking classifier and how it learns: input spike sources → hidden LIF
//! layers → output LIF layer, every projection trained online by the simulator's
//! delta rule (`w_ij += lr · error_i · x_j` on presynaptic traces `x`, projected
//! off the frozen HLOP subspace when the projection has one).
//!
//! A training sample runs in chunks: after `warmup_ms` without updates, and then
//! every `update_every_ms`, the errors are recomputed from the spike counts so far
//! and handed to the simulator, which applies them at every step of the next chunk.
//! The output error is `target − rate` (rate in spikes per step, target
//! `target_rate` for the label's neuron and 0 for the task's other classes); a
//! hidden layer's error is `B e_next`, gated by whether the neuron has spiked, with
//! `B` a fixed random matrix (feedback alignment) or the signs of the current
//! forward weights (sign-symmetric), scaled by `1/sqrt(n_next)`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::config::{Continual, Feedback};
use crate::backend::{Backend, CpuBackend, Spike, ThirdFactor, gpu_batched};
use crate::build::{Built, build, sub_seed};
use crate::model::{
    Connect, Dist, Network, NeuronModel, Plasticity, Population, Projection, SpikeSourceParams,
};
use crate::plasticity::hlop::{Hlop, HlopParams};
use crate::plasticity::three_factor::DeltaParams;
use crate::sim::BackendKind;
use crate::{Error, Result};

const TAG_FEEDBACK: u64 = 0xFEED;

/// The classifier's model: populations `input`, `hidden0`, … and `output`;
/// projections `w0` (input → hidden0), …, `wL` (→ output), all-to-all with the
/// delta rule, with HLOP when `hlop`.
pub fn classifier_network(exp: &Continual, n_in: usize, n_out: usize, hlop: bool) -> Network {
    let n = &exp.network;
    let mut net = Network::new(n.dt_ms, exp.input.sample_ms);
    net.seed = exp.seed;
    net.add_population(Population::new(
        "input",
        n_in as u32,
        NeuronModel::SpikeSource(SpikeSourceParams::default()),
    ));
    let mut names = vec!["input".to_string()];
    let mut sizes = vec![n_in];
    for (l, &h) in n.hidden.iter().enumerate() {
        let name = format!("hidden{l}");
        net.add_population(
            Population::new(&name, h as u32, NeuronModel::Lif(n.neuron.clone()))
                .init("v", n.neuron.e_l_mv),
        );
        names.push(name);
        sizes.push(h);
    }
    net.add_population(
        Population::new("output", n_out as u32, NeuronModel::Lif(n.neuron.clone()))
            .init("v", n.neuron.e_l_mv),
    );
    names.push("output".into());
    for l in 0..exp.n_projections() {
        let gain = Continual::per_projection(&n.init_gain_mv, l);
        let rule = DeltaParams {
            tau_ms: exp.learning.trace_tau_ms,
            lr: Continual::per_projection(&exp.learning.lr, l),
            w_min: -n.w_bound_mv,
            w_max: n.w_bound_mv,
            hlop: hlop.then(|| hlop_params(exp)),
        };
        let mut p = Projection::new(
            &names[l],
            &names[l + 1],
            Connect::AllToAll { allow_self: true },
        )
        .weight(Dist::Normal {
            mean: 0.0,
            std: gain / (sizes[l] as f64).sqrt(),
        })
        .plasticity(Plasticity::Delta(rule));
        p.name = Some(format!("w{l}"));
        net.add_projection(p);
    }
    net
}

/// The HLOP rule of every protected projection.
pub fn hlop_params(exp: &Continual) -> HlopParams {
    HlopParams {
        lr: exp.hlop.lr,
        momentum: exp.hlop.momentum,
        iterations: exp.hlop.iterations,
        ..Default::default()
    }
}

/// Spike counts of one presentation per layer: `[input, hidden0, …, output]`.
pub type Counts = Vec<Vec<f32>>;

/// The classifier on a backend: a one-instance training backend and a batched
/// evaluation backend with copies of the trained weights.
pub struct Classifier {
    train: Box<dyn Backend>,
    eval: Box<dyn Backend>,
    /// Layer of each global neuron id and its index there.
    layer_of: Vec<(usize, u32)>,
    sizes: Vec<usize>,
    input_pop: usize,
    /// Backend index of projection `w{l}`.
    projs: Vec<usize>,
    /// Built projections (CSR layout for sign-symmetric feedback).
    built: Built,
    /// Fixed random feedback `B_l` (`n_l × n_{l+1}`) for hidden layer l.
    random_b: Vec<Vec<f32>>,
    feedback: Feedback,
    gate_hidden: bool,
    target_rate: f32,
    steps: u64,
    warmup: u64,
    chunk: u64,
}

impl Classifier {
    /// Builds `net` (from [`classifier_network`]) with `exp.seed` on `backend`;
    /// the evaluation backend runs `exp.batch` instances.
    pub fn new(
        exp: &Continual,
        net: &Network,
        backend: BackendKind,
        adapter: Option<&str>,
        threads: usize,
    ) -> Result<Self> {
        let built = build(net, exp.seed)?;
        let make = |batch: usize| -> Result<Box<dyn Backend>> {
            let all = vec![built.clone(); batch];
            Ok(match backend {
                BackendKind::Cpu => Box::new(CpuBackend::batched(all, threads.max(1))?),
                BackendKind::Gpu => gpu_batched(&all, adapter)?,
            })
        };
        let (train, eval) = (make(1)?, make(exp.batch)?);
        let input_pop = net.population_index("input").expect("built above");
        let mut layer_of = vec![];
        let mut sizes = vec![];
        for (l, p) in built.pops.iter().enumerate() {
            layer_of.extend((0..p.size).map(|k| (l, k)));
            sizes.push(p.size as usize);
        }
        let projs = (0..exp.n_projections())
            .map(|l| {
                built
                    .projs
                    .iter()
                    .position(|p| p.name == format!("w{l}"))
                    .expect("built above")
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(exp.seed, TAG_FEEDBACK, 0));
        let random_b = (1..sizes.len() - 1)
            .map(|l| {
                let (n, m) = (sizes[l], sizes[l + 1]);
                let s = 1.0 / (m as f32).sqrt();
                (0..n * m)
                    .map(|_| s * rng.sample::<f32, _>(StandardNormal))
                    .collect()
            })
            .collect();
        let steps_of = |ms: f64| (ms / net.dt_ms).round() as u64;
        let steps = steps_of(exp.input.sample_ms).max(1);
        Ok(Classifier {
            train,
            eval,
            layer_of,
            sizes,
            input_pop,
            projs,
            built,
            random_b,
            feedback: exp.learning.feedback,
            gate_hidden: exp.learning.gate_hidden,
            target_rate: exp.learning.target_rate as f32,
            steps,
            warmup: steps_of(exp.learning.warmup_ms).min(steps - 1),
            chunk: steps_of(exp.learning.update_every_ms).max(1),
        })
    }

    /// Steps per sample.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// `cpu` or `gpu`.
    pub fn backend_name(&self) -> &'static str {
        self.train.name()
    }

    /// Layer sizes `[input, hidden…, output]`.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    fn count(&self, spikes: &[Spike], counts: &mut Counts) {
        for s in spikes {
            let (l, k) = self.layer_of[s.id as usize];
            counts[l][k as usize] += 1.0;
        }
    }

    /// Trains on one sample (`events` on the input, class `label`, scored on
    /// `head`); returns the class the output spike counts predicted.
    pub fn train_sample(
        &mut self,
        events: Vec<(u64, u32)>,
        label: usize,
        head: &[usize],
    ) -> Result<usize> {
        let b = self.train.as_mut();
        b.reset(0)?;
        b.set_spike_source(0, self.input_pop, events)?;
        let mut counts: Counts = self.sizes.iter().map(|&n| vec![0.0; n]).collect();
        let mut sink = vec![vec![]];
        let signs = match self.feedback {
            Feedback::Alignment => None,
            Feedback::SignSymmetric => Some(self.sign_feedback()?),
        };
        let mut done = 0;
        if self.warmup > 0 {
            self.train.run(0, self.warmup)?;
            self.train.drain_batch(&mut sink)?;
            self.count(&sink[0], &mut counts);
            sink[0].clear();
            done = self.warmup;
        }
        while done < self.steps {
            let errors = self.errors(&counts, done, label, head, signs.as_deref());
            for (l, e) in errors.iter().enumerate() {
                self.train
                    .third_factor(0, self.projs[l], ThirdFactor::Error(e))?;
            }
            let n = self.chunk.min(self.steps - done);
            self.train.run(done, n)?;
            self.train.drain_batch(&mut sink)?;
            self.count(&sink[0], &mut counts);
            sink[0].clear();
            done += n;
        }
        Ok(predict(counts.last().expect("output layer"), head))
    }

    /// Errors of every trained projection's postsynaptic layer (`w0`'s first).
    fn errors(
        &self,
        counts: &Counts,
        done: u64,
        label: usize,
        head: &[usize],
        signs: Option<&[Vec<f32>]>,
    ) -> Vec<Vec<f32>> {
        let n_layers = self.sizes.len();
        let inv = 1.0 / done.max(1) as f32;
        let out = &counts[n_layers - 1];
        let mut e_out = vec![0.0f32; out.len()];
        for &o in head {
            let target = if o == label { self.target_rate } else { 0.0 };
            e_out[o] = target - out[o] * inv;
        }
        // Back from the output: errors[l] is the error of layer l + 1.
        let mut errors = vec![vec![]; n_layers - 1];
        errors[n_layers - 2] = e_out;
        for l in (1..n_layers - 1).rev() {
            let next = &errors[l];
            let m = next.len();
            let b = match signs {
                Some(s) => &s[l - 1],
                None => &self.random_b[l - 1],
            };
            let e: Vec<f32> = (0..self.sizes[l])
                .map(|h| {
                    if self.gate_hidden && counts[l][h] == 0.0 {
                        return 0.0;
                    }
                    let row = &b[h * m..(h + 1) * m];
                    row.iter().zip(next).map(|(w, e)| w * e).sum()
                })
                .collect();
            errors[l - 1] = e;
        }
        errors
    }

    /// `sign(W_{l+1}) / sqrt(n_{l+2})` for each hidden layer l, dense `n × m`.
    fn sign_feedback(&mut self) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![];
        for l in 1..self.sizes.len() - 1 {
            let pr = &self.built.projs[self.projs[l]];
            let (n, m) = (self.sizes[l], self.sizes[l + 1]);
            let mut w = vec![];
            self.train.read_weights(0, self.projs[l], &mut w)?;
            let s = 1.0 / (m as f32).sqrt();
            let mut dense = vec![0.0f32; n * m];
            for j in 0..n {
                let row = pr.row_ptr[j] as usize..pr.row_ptr[j + 1] as usize;
                for (syn, &t) in row.clone().zip(&pr.targets[row]) {
                    dense[j * m + t as usize] = s * w[syn].signum() * f32::from(w[syn] != 0.0);
                }
            }
            out.push(dense);
        }
        Ok(out)
    }

    /// Copies the trained weights into every evaluation instance.
    pub fn sync_eval(&mut self) -> Result<()> {
        let mut w = vec![];
        for &k in &self.projs {
            self.train.read_weights(0, k, &mut w)?;
            for i in 0..self.eval.batch() {
                self.eval.write_weights(i, k, &w)?;
            }
        }
        Ok(())
    }

    /// Presents each input of `inputs` (at most the evaluation batch) to its own
    /// instance, without learning, from a reset state; returns the spike counts.
    pub fn present(&mut self, inputs: Vec<Vec<(u64, u32)>>) -> Result<Vec<Counts>> {
        let n = inputs.len();
        let batch = self.eval.batch();
        if n > batch {
            return Err(Error::Length {
                what: "inputs".into(),
                expected: format!("at most {batch} (the evaluation batch)"),
                got: n,
            });
        }
        let mut inputs = inputs.into_iter();
        for i in 0..batch {
            self.eval.reset(i)?;
            let ev = inputs.next().unwrap_or_default();
            self.eval.set_spike_source(i, self.input_pop, ev)?;
        }
        self.eval.run(0, self.steps)?;
        let mut spikes = vec![vec![]; batch];
        self.eval.drain_batch(&mut spikes)?;
        Ok(spikes
            .iter()
            .take(n)
            .map(|s| {
                let mut c: Counts = self.sizes.iter().map(|&n| vec![0.0; n]).collect();
                self.count(s, &mut c);
                c
            })
            .collect())
    }

    /// Starts an HLOP task on projection `w{l}`: freezes its rows, adds `k`.
    pub fn hlop_task(&mut self, l: usize, k: usize, seed: u64) -> Result<()> {
        self.train
            .third_factor(0, self.projs[l], ThirdFactor::HlopTask { k, seed })
    }

    /// Hebbian updates of `w{l}`'s trainable HLOP rows on `batch` activity vectors.
    pub fn hlop_learn(&mut self, l: usize, x: &[f32], batch: usize) -> Result<()> {
        self.train
            .third_factor(0, self.projs[l], ThirdFactor::HlopLearn { x, batch })
    }

    /// A copy of `w{l}`'s HLOP learner.
    pub fn hlop(&mut self, l: usize) -> Result<Hlop> {
        self.train.read_hlop(0, self.projs[l])
    }
}

/// The class of `head` with the most output spikes (the first on ties).
pub fn predict(out: &[f32], head: &[usize]) -> usize {
    let mut best = head[0];
    for &o in head {
        if out[o] > out[best] {
            best = o;
        }
    }
    best
}
