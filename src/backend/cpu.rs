//! The CPU reference backend: time-driven neuron updates, event-driven propagation
//! through integer delay rings, counter-based per-step randomness.
use super::{Backend, Spike};
use crate::build::{Built, BuiltInput, Delays, Dynamics, PoissonKind};
use crate::neuron::{izhikevich, lif, lif_cond};
use crate::rng::{normal_f32, CounterRng};

/// The reference engine. Holds the built network and all run-time state.
pub struct CpuBackend {
    net: Built,
    rng: CounterRng,
    /// Per population: `depth × 2 receptors × size` fixed-point accumulators.
    rings: Vec<Vec<i32>>,
    /// Per population: external current of the current step.
    i_ext: Vec<Vec<f32>>,
    /// Per population: which inputs feed it.
    pop_inputs: Vec<Vec<usize>>,
    /// Per population: active-current signature last applied (to skip recomputation).
    current_sig: Vec<Option<Vec<bool>>>,
    /// Per population: projections leaving it.
    out_projs: Vec<Vec<usize>>,
    /// Per population: local ids that spiked this step, ascending.
    step_spikes: Vec<Vec<u32>>,
    /// Per spike-source population: next event index.
    source_ptr: Vec<usize>,
    pending: Vec<Spike>,
    /// Worker pool for neuron updates (None: single-threaded).
    pool: Option<rayon::ThreadPool>,
}

/// Smallest chunk worth handing to another thread.
const MIN_CHUNK: usize = 1024;

/// Runs `f` on every chunk (on the pool when there is one) and appends the spikes
/// of the chunks in order, so the result never depends on the thread count.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn update_chunks<V: Send>(
    pool: Option<&rayon::ThreadPool>,
    views: Vec<V>,
    re: Vec<&mut [i32]>,
    ri: Vec<&mut [i32]>,
    ext: Vec<&[f32]>,
    lens: &[usize],
    f: impl Fn(V, &mut [i32], &mut [i32], &[f32], u32, &mut Vec<u32>) -> bool + Sync,
    out: &mut Vec<u32>,
) -> bool {
    if views.len() == 1 {
        let (v, e, i, x) = (
            views.into_iter().next(),
            re.into_iter().next(),
            ri.into_iter().next(),
            ext[0],
        );
        return f(v.expect("one"), e.expect("one"), i.expect("one"), x, 0, out);
    }
    use rayon::prelude::*;
    let mut base = 0u32;
    let bases: Vec<u32> = lens
        .iter()
        .map(|&l| {
            let b = base;
            base += l as u32;
            b
        })
        .collect();
    let jobs: Vec<_> = views
        .into_iter()
        .zip(re)
        .zip(ri)
        .zip(ext)
        .zip(bases)
        .collect();
    let run = || {
        jobs.into_par_iter()
            .map(|((((v, e), i), x), b)| {
                let mut sp = vec![];
                let ok = f(v, e, i, x, b, &mut sp);
                (ok, sp)
            })
            .collect::<Vec<_>>()
    };
    let results = match pool {
        Some(p) => p.install(run),
        None => run(),
    };
    let mut ok = true;
    for (k, sp) in results {
        ok &= k;
        out.extend_from_slice(&sp);
    }
    ok
}

impl CpuBackend {
    /// Creates a single-threaded backend over a built network.
    pub fn new(net: Built) -> Self {
        Self::with_threads(net, 1)
    }

    /// Creates a backend whose neuron updates use `threads` worker threads. The
    /// spikes are the same for every thread count.
    pub fn with_threads(net: Built, threads: usize) -> Self {
        let np = net.pops.len();
        let rings = net
            .pops
            .iter()
            .map(|p| match p.dynamics {
                Dynamics::Poisson { .. } | Dynamics::SpikeSource(_) => vec![],
                _ => vec![0i32; p.ring_depth as usize * 2 * p.size as usize],
            })
            .collect();
        let mut pop_inputs = vec![vec![]; np];
        for (k, inp) in net.inputs.iter().enumerate() {
            let pop = match inp {
                BuiltInput::Noise { pop, .. } | BuiltInput::Current { pop, .. } => *pop,
            };
            pop_inputs[pop].push(k);
        }
        let mut out_projs = vec![vec![]; np];
        for (k, pr) in net.projs.iter().enumerate() {
            out_projs[pr.pre].push(k);
        }
        CpuBackend {
            rng: CounterRng::new(net.seed),
            i_ext: net
                .pops
                .iter()
                .map(|p| vec![0.0; p.size as usize])
                .collect(),
            rings,
            pop_inputs,
            current_sig: vec![None; np],
            out_projs,
            step_spikes: vec![vec![]; np],
            source_ptr: vec![0; np],
            pending: vec![],
            pool: (threads > 1)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .ok()
                })
                .flatten(),
            net,
        }
    }

    /// The delay ring of population `pop`: `depth × 2 receptors × size` fixed-point
    /// accumulators (empty for sources). For per-phase parity tests.
    pub fn ring(&self, pop: usize) -> &[i32] {
        &self.rings[pop]
    }

    /// The built network (parameters, connectivity, current state).
    pub fn built(&self) -> &Built {
        &self.net
    }

    fn apply_inputs(&mut self, pi: usize, step: u64) {
        let inputs = &self.pop_inputs[pi];
        if inputs.is_empty() {
            return;
        }
        let mut has_noise = false;
        let mut sig = Vec::with_capacity(inputs.len());
        for &k in inputs {
            match &self.net.inputs[k] {
                BuiltInput::Noise { .. } => has_noise = true,
                BuiltInput::Current { start, stop, .. } => sig.push(step >= *start && step < *stop),
            }
        }
        if !has_noise && self.current_sig[pi].as_ref() == Some(&sig) {
            return;
        }
        let i_ext = &mut self.i_ext[pi];
        i_ext.fill(0.0);
        for &k in inputs {
            match &self.net.inputs[k] {
                BuiltInput::Current {
                    ids,
                    amplitude,
                    start,
                    stop,
                    ..
                } => {
                    if step >= *start && step < *stop {
                        match ids {
                            None => i_ext.iter_mut().for_each(|x| *x += amplitude),
                            Some(ids) => ids.iter().for_each(|&i| i_ext[i as usize] += amplitude),
                        }
                    }
                }
                BuiltInput::Noise {
                    ids,
                    mean,
                    std,
                    stream,
                    ..
                } => {
                    // Word i % 4 of block i / 4: one Philox call serves four neurons.
                    let draw = |i: u32| {
                        let w = self.rng.block(*stream, 0, step, i / 4)[(i % 4) as usize];
                        mean + std * normal_f32(w)
                    };
                    match ids {
                        None => {
                            for (q, chunk) in i_ext.chunks_mut(4).enumerate() {
                                let w = self.rng.block(*stream, 0, step, q as u32);
                                for (x, &word) in chunk.iter_mut().zip(&w) {
                                    *x += mean + std * normal_f32(word);
                                }
                            }
                        }
                        Some(ids) => ids.iter().for_each(|&i| i_ext[i as usize] += draw(i)),
                    }
                }
            }
        }
        self.current_sig[pi] = Some(sig);
    }
}

/// Chunk lengths for `threads` workers: one chunk when threading would not pay.
fn chunk_lens(n: usize, threads: usize) -> Vec<usize> {
    if threads <= 1 || n < 2 * MIN_CHUNK {
        return vec![n];
    }
    let k = threads.min(n / MIN_CHUNK);
    let size = n.div_ceil(k);
    let mut lens = vec![size; n / size];
    if n % size > 0 {
        lens.push(n % size);
    }
    lens
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn device(&self) -> String {
        match &self.pool {
            Some(p) => format!("cpu ({} threads)", p.current_num_threads()),
            None => "cpu (1 thread)".into(),
        }
    }

    fn inputs(&mut self, step: u64) -> crate::Result<()> {
        for pi in 0..self.net.pops.len() {
            self.step_spikes[pi].clear();
            match &self.net.pops[pi].dynamics {
                Dynamics::Poisson {
                    sampler,
                    start,
                    stop,
                } => {
                    if step >= *start && step < *stop {
                        let stream = crate::build::STREAM_POISSON + pi as u32;
                        match sampler {
                            PoissonKind::Uniform(s) => {
                                s.sample(&self.rng, stream, step, &mut self.step_spikes[pi])
                            }
                            PoissonKind::Each(s) => {
                                s.sample(&self.rng, stream, step, &mut self.step_spikes[pi])
                            }
                        }
                    }
                }
                Dynamics::SpikeSource(ev) => {
                    let p = &mut self.source_ptr[pi];
                    while *p < ev.len() && ev[*p].0 < step {
                        *p += 1;
                    }
                    while *p < ev.len() && ev[*p].0 == step {
                        self.step_spikes[pi].push(ev[*p].1);
                        *p += 1;
                    }
                }
                _ => self.apply_inputs(pi, step),
            }
        }
        Ok(())
    }

    fn neurons(&mut self, step: u64) -> crate::Result<()> {
        use crate::neuron::{split, split_mut};
        let threads = self.pool.as_ref().map_or(1, |p| p.current_num_threads());
        for pi in 0..self.net.pops.len() {
            let pop = &mut self.net.pops[pi];
            let n = pop.size as usize;
            let ring = &mut self.rings[pi];
            if ring.is_empty() {
                continue;
            }
            let slot = (step % pop.ring_depth as u64) as usize;
            let (re, ri) = ring[slot * 2 * n..(slot + 1) * 2 * n].split_at_mut(n);
            let lens = chunk_lens(n, threads);
            let (re, ri) = (split_mut(re, &lens), split_mut(ri, &lens));
            let ext = split(&self.i_ext[pi], &lens);
            let inv = pop.inv_scale;
            let out = &mut self.step_spikes[pi];
            let pool = self.pool.as_ref();
            let (ok, var) = match &mut pop.dynamics {
                Dynamics::Lif(k, s) => {
                    let k = *k;
                    let f =
                        move |v, e: &mut [i32], i: &mut [i32], x: &[f32], b, o: &mut Vec<u32>| {
                            lif::update(&k, v, e, i, inv, x, b, o)
                        };
                    (
                        update_chunks(pool, s.chunks(&lens), re, ri, ext, &lens, f, out),
                        "v",
                    )
                }
                Dynamics::LifCond(k, s) => {
                    let k = *k;
                    let f =
                        move |v, e: &mut [i32], i: &mut [i32], x: &[f32], b, o: &mut Vec<u32>| {
                            lif_cond::update(&k, v, e, i, inv, x, b, o)
                        };
                    (
                        update_chunks(pool, s.chunks(&lens), re, ri, ext, &lens, f, out),
                        "v",
                    )
                }
                Dynamics::Izhikevich(k, s) => {
                    let k = *k;
                    let f =
                        move |v, e: &mut [i32], i: &mut [i32], x: &[f32], b, o: &mut Vec<u32>| {
                            izhikevich::update(&k, v, e, i, inv, x, b, o)
                        };
                    (
                        update_chunks(pool, s.chunks(&lens), re, ri, ext, &lens, f, out),
                        "v/u",
                    )
                }
                _ => (true, ""),
            };
            if !ok {
                return Err(crate::Error::NonFinite {
                    population: pop.name.clone(),
                    var: var.into(),
                    step,
                });
            }
        }
        Ok(())
    }

    fn propagate(&mut self, step: u64) -> crate::Result<()> {
        for pi in 0..self.net.pops.len() {
            let spikes = &self.step_spikes[pi];
            if spikes.is_empty() {
                continue;
            }
            for &k in &self.out_projs[pi] {
                let pr = &self.net.projs[k];
                let post = &self.net.pops[pr.post];
                let n = post.size as usize;
                let depth = post.ring_depth as u64;
                let ring = &mut self.rings[pr.post];
                match &pr.delays {
                    Delays::Const(d) => {
                        let slot = ((step + *d as u64) % depth) as usize;
                        let base = (slot * 2 + pr.receptor) * n;
                        let dst = &mut ring[base..base + n];
                        for &j in spikes {
                            let (a, b) = (
                                pr.row_ptr[j as usize] as usize,
                                pr.row_ptr[j as usize + 1] as usize,
                            );
                            for (&t, &w) in pr.targets[a..b].iter().zip(&pr.wfix[a..b]) {
                                let x = &mut dst[t as usize];
                                *x = x.wrapping_add(w);
                            }
                        }
                    }
                    Delays::PerSynapse(ds) => {
                        for &j in spikes {
                            let (a, b) = (
                                pr.row_ptr[j as usize] as usize,
                                pr.row_ptr[j as usize + 1] as usize,
                            );
                            for s in a..b {
                                let slot = ((step + ds[s] as u64) % depth) as usize;
                                let x = &mut ring
                                    [(slot * 2 + pr.receptor) * n + pr.targets[s] as usize];
                                *x = x.wrapping_add(pr.wfix[s]);
                            }
                        }
                    }
                }
            }
        }
        let step32 = u32::try_from(step)
            .map_err(|_| crate::Error::Invalid("more than 2^32 steps".into()))?;
        for (pi, spikes) in self.step_spikes.iter().enumerate() {
            let off = self.net.pops[pi].offset;
            self.pending.extend(spikes.iter().map(|&i| Spike {
                step: step32,
                id: off + i,
            }));
        }
        Ok(())
    }

    fn drain_spikes(&mut self, out: &mut Vec<Spike>) -> crate::Result<()> {
        out.append(&mut self.pending);
        Ok(())
    }

    fn read_state(&mut self, pop: usize, var: &str, out: &mut Vec<f32>) -> crate::Result<()> {
        let p = self
            .net
            .pops
            .get(pop)
            .ok_or_else(|| crate::Error::Invalid(format!("no population with index {pop}")))?;
        let src: &[f32] = match (&p.dynamics, var) {
            (Dynamics::Lif(..) | Dynamics::LifCond(..) | Dynamics::Izhikevich(..), "i_ext") => {
                &self.i_ext[pop]
            }
            (Dynamics::Lif(_, s), "v") => &s.v,
            (Dynamics::Lif(_, s), "i_exc") => &s.i_exc,
            (Dynamics::Lif(_, s), "i_inh") => &s.i_inh,
            (Dynamics::LifCond(_, s), "v") => &s.v,
            (Dynamics::LifCond(_, s), "ge") => &s.ge,
            (Dynamics::LifCond(_, s), "gi") => &s.gi,
            (Dynamics::Izhikevich(_, s), "v") => &s.v,
            (Dynamics::Izhikevich(_, s), "u") => &s.u,
            _ => {
                return Err(crate::Error::Invalid(format!(
                    "population '{}' has no state variable '{var}'",
                    p.name
                )))
            }
        };
        out.clear();
        out.extend_from_slice(src);
        Ok(())
    }
}
