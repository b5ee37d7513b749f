//! One instance of the CPU reference engine: its state, delay rings and per-step
//! randomness over connectivity shared with the other instances of a batch.
use super::plasticity::{AstroState, PlasticState, apply_modulation, to_fixed};
use crate::backend::Spike;
use crate::backend::schedule::{self, Phase, PhaseTimes};
use crate::build::{Built, BuiltInput, Delays, Dynamics, PoissonKind};
use crate::neuron::{AlignedVec, NeuronKernel, Visit};
use crate::rng::{CounterRng, normal_f32};
use std::sync::Arc;

/// One instance: the built network (its state) and all run-time state.
pub(super) struct Instance {
    net: Built,
    rng: CounterRng,
    /// Per population: `depth × 2 receptors × stride` fixed-point accumulators,
    /// `stride` being the size rounded up to 16 (see [`ring_stride`]).
    rings: Vec<AlignedVec<i32>>,
    /// Per population: ring depth in steps (`BuiltPop::ring_depth`).
    depth: Vec<usize>,
    /// Per population: the ring slot of step `slot_step` (`step % depth`).
    slot: Vec<usize>,
    /// The step `slot` is for (None before the first step).
    slot_step: Option<u64>,
    /// Per population: external current of the current step.
    i_ext: Vec<Vec<f32>>,
    /// Per population: whether `i_ext` may be nonzero this step (false: all zero,
    /// and the kernels skip reading it).
    ext_live: Vec<bool>,
    /// Per population: which current and noise inputs feed it.
    pop_inputs: Vec<Vec<usize>>,
    /// Per population: which Poisson drives feed it (into its ring).
    pop_drives: Vec<Vec<usize>>,
    /// Per population: active-current signature last applied (to skip recomputation).
    current_sig: Vec<Option<Vec<bool>>>,
    /// Per population: projections leaving it.
    out_projs: Vec<Vec<usize>>,
    /// Per projection: compact forms used by delivery (shared by a batch).
    routes: Arc<[Route]>,
    /// Per population: local ids that spiked this step, ascending.
    step_spikes: Vec<Vec<u32>>,
    /// Per spike-source population: next event index.
    source_ptr: Vec<usize>,
    pending: Vec<Spike>,
    /// Per projection: weights and traces when plastic.
    plastic: Vec<Option<PlasticState>>,
    /// Per astrocyte: its state.
    astros: Vec<AstroState>,
    /// Per population: its dynamics as built (None for spike sources), restored
    /// by [`Instance::reset`].
    initial: Vec<Option<Dynamics>>,
    /// Worker pool for neuron updates (None: single-threaded).
    pool: Option<rayon::ThreadPool>,
    /// Wall time per phase, sampled (see [`crate::backend::schedule::SAMPLE`]).
    times: PhaseTimes,
}

/// Compact delivery data of a projection. Propagation is bound by the bytes it
/// streams per synaptic event, so weights shared by every synapse are not read per
/// synapse, targets are narrowed to u16 when the post population allows it (for
/// COBA this brings the whole connectivity within L2), and all-to-all rows are
/// not read at all.
pub(super) struct Route {
    /// The weight of every synapse, when they are all equal.
    weight: Option<i32>,
    /// How targets are stored.
    targets: Targets,
}

enum Targets {
    /// Every row is `0..post size`: delivery is a vectorised add over the target
    /// ring slot.
    Dense,
    /// Copies of the targets as u16 (post population of at most 65536 neurons).
    U16(Vec<u16>),
    /// The projection's own u32 targets.
    U32,
}

impl Route {
    pub(super) fn new(pr: &crate::build::BuiltProj, post_size: u32) -> Self {
        // Sound unchecked scatters rely on this; a `Built` made by hand may break it.
        assert!(
            pr.targets.iter().all(|&t| t < post_size),
            "projection {}: target index out of range",
            pr.name
        );
        assert!(
            pr.row_ptr.windows(2).all(|w| w[0] <= w[1])
                && pr.row_ptr.last().is_none_or(|&e| e as usize == pr.len()),
            "projection {}: malformed row pointers",
            pr.name
        );
        let weight = match pr.wfix.first() {
            Some(&w) if pr.wfix.iter().all(|&x| x == w) => Some(w),
            _ => None,
        };
        let n = post_size as usize;
        let dense = pr.row_ptr.windows(2).all(|w| (w[1] - w[0]) as usize == n)
            && pr
                .targets
                .chunks(n.max(1))
                .all(|row| row.iter().zip(0..).all(|(&t, i)| t == i));
        let targets = if dense {
            Targets::Dense
        } else if pr.plastic.is_some() {
            // Plastic delivery reads the projection's own targets and live weights.
            Targets::U32
        } else if post_size <= 1 << 16 {
            Targets::U16(pr.targets.iter().map(|&t| t as u16).collect())
        } else {
            Targets::U32
        };
        Route { weight, targets }
    }
}

/// Smallest chunk worth handing to another thread.
const MIN_CHUNK: usize = 1024;

use crate::neuron::registry::Kernel;

/// A population split into chunks for the worker pool: everything but the state.
struct Chunks<'a> {
    pool: Option<&'a rayon::ThreadPool>,
    re: Vec<&'a mut [i32]>,
    ri: Vec<&'a mut [i32]>,
    inv: [f32; 2],
    ext: Vec<Option<&'a [f32]>>,
    lens: &'a [usize],
    out: &'a mut Vec<u32>,
}

impl Chunks<'_> {
    /// Runs `kernel` on every chunk (on the pool when there is one) and appends the
    /// spikes of the chunks in order, so the result never depends on the thread
    /// count. (A single chunk never gets here: see `single_chunk`.)
    fn run<K: Sync, V: Send>(self, k: &K, kernel: Kernel<K, V>, views: Vec<V>) -> bool {
        let Chunks {
            pool,
            re,
            ri,
            inv,
            ext,
            lens,
            out,
        } = self;
        let f = |v, e: &mut [i32], i: &mut [i32], x, b, o: &mut Vec<u32>| {
            kernel(k, v, e, i, inv, x, b, o)
        };
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
        for (chunk_ok, sp) in results {
            ok &= chunk_ok;
            out.extend_from_slice(&sp);
        }
        ok
    }
}

impl Instance {
    /// An instance whose neuron updates use `threads` worker threads (the spikes
    /// are the same for every thread count), delivering through `routes`.
    pub(super) fn new(net: Built, threads: usize, routes: Arc<[Route]>) -> Self {
        let np = net.pops.len();
        let depth: Vec<usize> = net.pops.iter().map(|p| p.ring_depth as usize).collect();
        let rings = net
            .pops
            .iter()
            .zip(&depth)
            .map(|(p, &d)| match p.dynamics {
                Dynamics::Poisson { .. } | Dynamics::SpikeSource(_) => AlignedVec::zeroed(0),
                _ => AlignedVec::zeroed(d * 2 * ring_stride(p.size as usize)),
            })
            .collect();
        let mut pop_inputs = vec![vec![]; np];
        let mut pop_drives = vec![vec![]; np];
        for (k, inp) in net.inputs.iter().enumerate() {
            match inp {
                BuiltInput::Poisson { pop, .. } => pop_drives[*pop].push(k),
                _ => pop_inputs[inp.pop()].push(k),
            }
        }
        let mut out_projs = vec![vec![]; np];
        for (k, pr) in net.projs.iter().enumerate() {
            out_projs[pr.pre].push(k);
        }
        let mut plastic: Vec<Option<PlasticState>> = net
            .projs
            .iter()
            .zip(routes.iter())
            .map(|(pr, route)| {
                pr.plastic.as_ref().map(|pl| {
                    let size = |p: usize| net.pops[p].size as usize;
                    let dense = matches!(route.targets, Targets::Dense);
                    PlasticState::new(pl, size(pr.pre), size(pr.post), dense)
                })
            })
            .collect();
        let astros: Vec<AstroState> = net.astros.iter().map(AstroState::new).collect();
        for (st, b) in astros.iter().zip(net.astros.iter()) {
            apply_modulation(st, b, &net.projs, &mut plastic);
        }
        let initial = net
            .pops
            .iter()
            .map(|p| match p.dynamics {
                Dynamics::SpikeSource(_) => None,
                _ => Some(p.dynamics.clone()),
            })
            .collect();
        Instance {
            astros,
            initial,
            plastic,
            routes,
            slot: vec![0; depth.len()],
            slot_step: None,
            depth,
            rng: CounterRng::new(net.instance_seed),
            i_ext: net
                .pops
                .iter()
                .map(|p| vec![0.0; p.size as usize])
                .collect(),
            ext_live: vec![false; np],
            rings,
            pop_inputs,
            pop_drives,
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
            times: PhaseTimes::default(),
            net,
        }
    }

    /// Runs steps `first..first + n`, phase by phase in [`schedule::STEP`] order.
    pub(super) fn run(&mut self, first: u64, n: u64) -> crate::Result<()> {
        let plastic = self.has_plasticity();
        for step in first..first + n {
            for phase in schedule::STEP {
                let mut times = self.times;
                match phase {
                    Phase::Inputs => times.run(phase, step, || self.inputs(step))?,
                    Phase::Neurons => times.run(phase, step, || self.neurons(step))?,
                    Phase::Propagate => times.run(phase, step, || self.propagate(step))?,
                    Phase::Plasticity if plastic => times.run(phase, step, || self.plasticity()),
                    Phase::Plasticity => {}
                }
                self.times = times;
            }
        }
        Ok(())
    }

    /// Wall time per phase so far.
    pub(super) fn phase_times(&self) -> PhaseTimes {
        self.times
    }

    /// The delay ring of population `pop`: `depth × 2 receptors × size` fixed-point
    /// accumulators (empty for sources), without the padding the backend keeps
    /// internally. For per-phase parity tests.
    pub(super) fn ring(&self, pop: usize) -> Vec<i32> {
        let n = self.net.pops[pop].size as usize;
        self.rings[pop]
            .chunks(ring_stride(n).max(1))
            .flat_map(|slice| &slice[..n])
            .copied()
            .collect()
    }

    /// The built network (parameters, connectivity, current state).
    pub(super) fn built(&self) -> &Built {
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
                BuiltInput::Poisson { .. } => {}
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
                        None => crate::rng::add_normal_noise(
                            &self.rng, *stream, step, *mean, *std, i_ext,
                        ),
                        Some(ids) => ids.iter().for_each(|&i| i_ext[i as usize] += draw(i)),
                    }
                }
                BuiltInput::Poisson { .. } => {}
            }
        }
        self.ext_live[pi] = has_noise || sig.iter().any(|&on| on);
        self.current_sig[pi] = Some(sig);
    }

    /// Adds the Poisson drives of population `pi` to its ring slot of `step`
    /// (`slot` must be synced to `step`), which the neuron phase of the same step
    /// reads: the drive acts like synaptic input arriving now.
    fn apply_drives(&mut self, pi: usize, step: u64) {
        let n = self.net.pops[pi].size as usize;
        let stride = ring_stride(n);
        let slot = self.slot[pi];
        for &k in &self.pop_drives[pi] {
            let BuiltInput::Poisson {
                ids,
                receptor,
                wfix,
                table,
                stream,
                ..
            } = &self.net.inputs[k]
            else {
                continue;
            };
            let at = (slot * 2 + receptor) * stride;
            let dst = &mut self.rings[pi][at..at + n];
            match ids {
                None => crate::rng::add_binomial_drive(&self.rng, *stream, step, table, *wfix, dst),
                Some(ids) => {
                    for &i in ids {
                        let x = self.rng.block(*stream, 0, step, i / 4)[(i % 4) as usize];
                        let d = &mut dst[i as usize];
                        *d = d.wrapping_add(wfix.wrapping_mul(table.sample(x) as i32));
                    }
                }
            }
        }
    }
}

/// Elements per receptor slice of a ring for `n` neurons: a multiple of 16, so that
/// every slice starts on a 64-byte boundary like the neuron state (the kernels'
/// vector accesses then never straddle cache lines). The padding stays zero.
fn ring_stride(n: usize) -> usize {
    n.next_multiple_of(16)
}

/// `a % m` for `a < 2 m`.
#[inline(always)]
fn wrap(a: usize, m: usize) -> usize {
    debug_assert!(a < 2 * m);
    if a >= m { a - m } else { a }
}

/// A synapse target index as stored (u16 when the target population is small).
trait Target: Copy {
    fn index(self) -> usize;
}

impl Target for u16 {
    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }
}

impl Target for u32 {
    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }
}

crate::neuron::simd_dispatch! {
    /// Adds `w` to every element (an all-to-all row with one weight).
    fn add_const(dst: &mut [i32], w: i32) -> () => add_const_body
}

crate::neuron::simd_dispatch! {
    /// Adds `w[i]` to `dst[i]` (an all-to-all row).
    fn add_row(dst: &mut [i32], w: &[i32]) -> () => add_row_body
}

crate::neuron::simd_dispatch! {
    /// Adds `to_fixed(w[i], scale)` to `dst[i]` (an all-to-all plastic row). Under
    /// the AVX2 dispatch `round_ties_even` is one vector instruction; only the
    /// portable path (CPUs without AVX2) calls libm per element.
    fn add_fixed_row(dst: &mut [i32], w: &[f32], scale: f32) -> () => add_fixed_row_body
}

#[inline(always)]
fn add_fixed_row_body(dst: &mut [i32], w: &[f32], scale: f32) {
    assert_eq!(dst.len(), w.len());
    dst.iter_mut()
        .zip(w)
        .for_each(|(x, &w)| *x = x.wrapping_add((w * scale).round_ties_even() as i32));
}

/// Adds `to_fixed(w[s], scale)` to `dst[targets[s]]` (a plastic row).
#[inline(always)]
fn scatter_fixed(dst: &mut [i32], targets: &[u32], w: &[f32], scale: f32) {
    for (&t, &w) in targets.iter().zip(w) {
        dst[t as usize] = dst[t as usize].wrapping_add(to_fixed(w, scale));
    }
}

#[inline(always)]
fn add_const_body(dst: &mut [i32], w: i32) {
    dst.iter_mut().for_each(|x| *x = x.wrapping_add(w));
}

#[inline(always)]
fn add_row_body(dst: &mut [i32], w: &[i32]) {
    assert_eq!(dst.len(), w.len());
    dst.iter_mut()
        .zip(w)
        .for_each(|(x, &w)| *x = x.wrapping_add(w));
}

/// Adds `w` to `dst[t]` for every target `t` of a row.
#[inline(always)]
fn scatter_const<T: Target>(dst: &mut [i32], targets: &[T], w: i32) {
    for &t in targets {
        let t = t.index();
        debug_assert!(t < dst.len());
        // SAFETY: every target is below its post population's size, which is
        // `dst.len()` (checked once in `CpuBackend::with_threads`).
        let x = unsafe { dst.get_unchecked_mut(t) };
        *x = x.wrapping_add(w);
    }
}

/// Adds `w[s]` to `dst[targets[s]]` for every synapse `s` of a row.
#[inline(always)]
fn scatter<T: Target>(dst: &mut [i32], targets: &[T], w: &[i32]) {
    for (&t, &w) in targets.iter().zip(w) {
        let t = t.index();
        debug_assert!(t < dst.len());
        // SAFETY: as in `scatter_const`.
        let x = unsafe { dst.get_unchecked_mut(t) };
        *x = x.wrapping_add(w);
    }
}

/// Asks for the first three cache lines of `row[at..]`, the next spike's targets,
/// while the current spike's row is delivered: rows start at random places, so the
/// hardware prefetcher misses their first lines (about 2 % of a COBA second). Only
/// u16 targets do this: for other layouts it has not been measured.
#[inline(always)]
fn prefetch_row<T>(row: &[T], at: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = row.as_ptr().wrapping_add(at).cast::<i8>();
        // SAFETY: prefetches never fault, and `wrapping_add` keeps the pointer
        // arithmetic defined even past the end of `row`.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(128));
        }
    }
}

/// Whether a population of `n` neurons is updated as one chunk.
fn single_chunk(n: usize, threads: usize) -> bool {
    threads <= 1 || n < 2 * MIN_CHUNK
}

/// Chunk lengths for `threads` workers: one chunk when threading would not pay.
fn chunk_lens(n: usize, threads: usize) -> Vec<usize> {
    if single_chunk(n, threads) {
        return vec![n];
    }
    let k = threads.min(n / MIN_CHUNK);
    // Multiples of 16 neurons keep every chunk 64-byte aligned (see `ring_stride`).
    let size = n.div_ceil(k).next_multiple_of(16);
    let mut lens = vec![size; n / size];
    if n % size > 0 {
        lens.push(n % size);
    }
    lens
}

/// One step of a neuron population: its kernel on the whole population, or on
/// chunks on the worker pool.
struct NeuronStep<'a> {
    pool: Option<&'a rayon::ThreadPool>,
    threads: usize,
    re: &'a mut [i32],
    ri: &'a mut [i32],
    inv: [f32; 2],
    ext: Option<&'a [f32]>,
    out: &'a mut Vec<u32>,
}

impl Visit for NeuronStep<'_> {
    /// Whether the state stayed finite, and the variables checked.
    type Out = (bool, &'static str);

    fn visit<P: NeuronKernel>(self, p: &mut P) -> (bool, &'static str) {
        use crate::neuron::{split, split_mut};
        let NeuronStep {
            pool,
            threads,
            re,
            ri,
            inv,
            ext,
            out,
        } = self;
        let n = re.len();
        let ok = if single_chunk(n, threads) {
            // One chunk: call the kernel on the whole population, without the
            // per-step allocations of the chunked path.
            let (k, view) = p.whole();
            P::update(k, view, re, ri, inv, ext, 0, out)
        } else {
            let lens = chunk_lens(n, threads);
            let (re, ri) = (split_mut(re, &lens), split_mut(ri, &lens));
            let ext: Vec<Option<&[f32]>> = match ext {
                Some(x) => split(x, &lens).into_iter().map(Some).collect(),
                None => vec![None; lens.len()],
            };
            let chunks = Chunks {
                pool,
                re,
                ri,
                inv,
                ext,
                lens: &lens,
                out,
            };
            let (k, views) = p.chunks(&lens);
            chunks.run(k, P::update, views)
        };
        p.tick();
        (ok, P::CHECKED)
    }
}

impl Instance {
    pub(super) fn inputs(&mut self, step: u64) -> crate::Result<()> {
        self.sync_slots(step);
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
                _ => {
                    self.apply_inputs(pi, step);
                    if !self.pop_drives[pi].is_empty() {
                        self.apply_drives(pi, step);
                    }
                }
            }
        }
        Ok(())
    }

    /// Sets `slot` for `step`. The next step's slots follow with one conditional
    /// subtraction each; a 64-bit division per population and projection was a
    /// few percent of a COBA step.
    fn sync_slots(&mut self, step: u64) {
        if self.slot_step == Some(step) {
            return;
        }
        if self.slot_step.is_some_and(|s| s.wrapping_add(1) == step) {
            for (sl, &d) in self.slot.iter_mut().zip(&self.depth) {
                *sl = wrap(*sl + 1, d.max(1));
            }
        } else {
            for (sl, &d) in self.slot.iter_mut().zip(&self.depth) {
                *sl = (step % d.max(1) as u64) as usize;
            }
        }
        self.slot_step = Some(step);
    }

    pub(super) fn neurons(&mut self, step: u64) -> crate::Result<()> {
        self.sync_slots(step);
        let threads = self.pool.as_ref().map_or(1, |p| p.current_num_threads());
        for pi in 0..self.net.pops.len() {
            let pop = &mut self.net.pops[pi];
            let n = pop.size as usize;
            let ring = &mut self.rings[pi];
            if ring.is_empty() {
                continue;
            }
            let slot = self.slot[pi];
            let stride = ring_stride(n);
            let (re, ri) = ring[slot * 2 * stride..(slot + 1) * 2 * stride].split_at_mut(stride);
            let (re, ri) = (&mut re[..n], &mut ri[..n]);
            let (ok, var) = match &mut pop.dynamics {
                Dynamics::Neurons(neurons) => neurons.visit(NeuronStep {
                    pool: self.pool.as_ref(),
                    threads,
                    re,
                    ri,
                    inv: pop.inv_scale,
                    ext: self.ext_live[pi].then_some(&self.i_ext[pi][..]),
                    out: &mut self.step_spikes[pi],
                }),
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

    pub(super) fn propagate(&mut self, step: u64) -> crate::Result<()> {
        self.sync_slots(step);
        for pi in 0..self.net.pops.len() {
            let spikes = &self.step_spikes[pi];
            if spikes.is_empty() {
                continue;
            }
            for &k in &self.out_projs[pi] {
                let pr = &self.net.projs[k];
                let route = &self.routes[k];
                let post = &self.net.pops[pr.post];
                let n = post.size as usize;
                let stride = ring_stride(n);
                let depth = self.depth[pr.post];
                let now = self.slot[pr.post];
                let ring = &mut self.rings[pr.post];
                let rows =
                    |j: u32| pr.row_ptr[j as usize] as usize..pr.row_ptr[j as usize + 1] as usize;
                // Plastic projections deliver their live weights, rounded to the
                // ring's fixed point per event.
                let plastic = match (&self.plastic[k], &pr.plastic) {
                    (Some(ps), Some(pl)) => Some((&ps.w[..], pl.scale)),
                    _ => None,
                };
                match &pr.delays {
                    Delays::Const(d) => {
                        // 1 <= d <= depth, so one conditional subtraction replaces `% depth`.
                        let slot = wrap(now + *d as usize, depth);
                        let base = (slot * 2 + pr.receptor) * stride;
                        let dst = &mut ring[base..base + n];
                        for (x, &j) in spikes.iter().enumerate() {
                            if let (Some(&next), Targets::U16(t)) =
                                (spikes.get(x + 1), &route.targets)
                            {
                                prefetch_row(t, pr.row_ptr[next as usize] as usize);
                            }
                            let r = rows(j);
                            match (plastic, &route.targets, route.weight) {
                                (Some((w, scale)), Targets::Dense, _) => {
                                    add_fixed_row(dst, &w[r], scale)
                                }
                                (Some((w, scale)), _, _) => {
                                    scatter_fixed(dst, &pr.targets[r.clone()], &w[r], scale)
                                }
                                (None, Targets::Dense, Some(w)) => add_const(dst, w),
                                (None, Targets::Dense, None) => add_row(dst, &pr.wfix[r]),
                                (None, Targets::U16(t), Some(w)) => scatter_const(dst, &t[r], w),
                                (None, Targets::U16(t), None) => {
                                    scatter(dst, &t[r.clone()], &pr.wfix[r])
                                }
                                (None, Targets::U32, Some(w)) => {
                                    scatter_const(dst, &pr.targets[r], w)
                                }
                                (None, Targets::U32, None) => {
                                    scatter(dst, &pr.targets[r.clone()], &pr.wfix[r])
                                }
                            }
                        }
                    }
                    Delays::PerSynapse(ds) => {
                        for &j in spikes {
                            for s in rows(j) {
                                let slot = wrap(now + ds[s] as usize, depth);
                                let x = &mut ring
                                    [(slot * 2 + pr.receptor) * stride + pr.targets[s] as usize];
                                let w = match plastic {
                                    Some((w, scale)) => to_fixed(w[s], scale),
                                    None => pr.wfix[s],
                                };
                                *x = x.wrapping_add(w);
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

    /// Phase 4: every plastic projection's rule over this step's spikes.
    pub(super) fn plasticity(&mut self) {
        for (k, pr) in self.net.projs.iter().enumerate() {
            if let (Some(ps), Some(pl)) = (&mut self.plastic[k], &pr.plastic) {
                ps.step(
                    pr,
                    pl,
                    &self.step_spikes[pr.pre],
                    &self.step_spikes[pr.post],
                );
            }
        }
        // Astrocytes integrate this step's spikes; the rates they set act next step.
        for (st, b) in self.astros.iter_mut().zip(self.net.astros.iter()) {
            st.step(b, &self.step_spikes);
            apply_modulation(st, b, &self.net.projs, &mut self.plastic);
        }
    }

    /// Applies a third-factor command to plastic projection `proj`.
    pub(super) fn third_factor(
        &mut self,
        proj: usize,
        cmd: crate::backend::ThirdFactor<'_>,
    ) -> crate::Result<()> {
        use crate::backend::ThirdFactor as T;
        let pr = self
            .net
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::Invalid(format!("no projection with index {proj}")))?;
        let n_post = self.net.pops[pr.post].size as usize;
        crate::backend::check_third_factor(pr, n_post, &cmd)?;
        let ps = self.plastic[proj].as_mut().expect("checked: plastic");
        match cmd {
            T::Modulator(m) => ps.modulator = m,
            T::Error(e) => ps.error.copy_from_slice(e),
            T::HlopLearn { x, batch } => {
                let h = ps.hlop.as_mut().expect("checked: hlop");
                h.hebbian_update(x, batch)?;
            }
            T::HlopTask { k, seed } => {
                let h = ps.hlop.as_mut().expect("checked: hlop");
                h.freeze();
                h.grow(k, seed)?;
            }
        }
        Ok(())
    }

    /// The depression rate A of every domain of astrocyte `astro`.
    pub(super) fn read_astrocyte(&self, astro: usize, out: &mut Vec<f32>) -> crate::Result<()> {
        let st = self
            .astros
            .get(astro)
            .ok_or_else(|| crate::Error::Invalid(format!("no astrocyte with index {astro}")))?;
        out.clear();
        out.extend_from_slice(&st.a);
        Ok(())
    }

    /// Back to the state as built, keeping plastic weights, HLOP subspaces and
    /// spike-source events (see `Backend::reset`).
    pub(super) fn reset(&mut self) {
        for (pop, init) in self.net.pops.iter_mut().zip(&self.initial) {
            if let Some(d) = init {
                pop.dynamics = d.clone();
            }
        }
        self.rings.iter_mut().for_each(|r| r.fill(0));
        self.i_ext.iter_mut().for_each(|v| v.fill(0.0));
        self.ext_live.fill(false);
        self.current_sig.fill(None);
        self.step_spikes.iter_mut().for_each(Vec::clear);
        self.source_ptr.fill(0);
        self.pending.clear();
        for (st, pr) in self.plastic.iter_mut().zip(self.net.projs.iter()) {
            if let (Some(st), Some(pl)) = (st, &pr.plastic) {
                st.reset(pl);
            }
        }
        self.astros = self.net.astros.iter().map(AstroState::new).collect();
        for (st, b) in self.astros.iter().zip(self.net.astros.iter()) {
            apply_modulation(st, b, &self.net.projs, &mut self.plastic);
        }
    }

    /// New events for spike-source population `pop`, from its first one.
    pub(super) fn set_spike_source(
        &mut self,
        pop: usize,
        events: Vec<(u64, u32)>,
    ) -> crate::Result<()> {
        let p = self
            .net
            .pops
            .get_mut(pop)
            .ok_or_else(|| crate::Error::Invalid(format!("no population with index {pop}")))?;
        let Dynamics::SpikeSource(ev) = &mut p.dynamics else {
            return Err(crate::Error::Invalid(format!(
                "population '{}' is not a spike source",
                p.name
            )));
        };
        crate::backend::check_spike_events(&p.name, p.size, &events)?;
        *ev = events;
        self.source_ptr[pop] = 0;
        Ok(())
    }

    /// Whether any projection is plastic.
    pub(super) fn has_plasticity(&self) -> bool {
        self.plastic.iter().any(Option::is_some) || !self.astros.is_empty()
    }

    /// The current weights of projection `proj` (weight units, CSR order).
    pub(super) fn read_weights(&self, proj: usize, out: &mut Vec<f32>) -> crate::Result<()> {
        let pr = self
            .net
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::Invalid(format!("no projection with index {proj}")))?;
        out.clear();
        match &self.plastic[proj] {
            Some(ps) => out.extend_from_slice(&ps.w),
            None => {
                let inv = self.net.pops[pr.post].inv_scale[pr.receptor];
                out.extend(pr.wfix.iter().map(|&w| w as f32 * inv));
            }
        }
        Ok(())
    }

    /// Overwrites the weights of plastic projection `proj` (clipped to its bounds).
    pub(super) fn write_weights(&mut self, proj: usize, w: &[f32]) -> crate::Result<()> {
        let pr = self
            .net
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::Invalid(format!("no projection with index {proj}")))?;
        let w = crate::backend::clipped_weights(pr, w)?;
        if let Some(ps) = &mut self.plastic[proj] {
            ps.w = w;
        }
        Ok(())
    }

    /// A copy of the HLOP learner of plastic projection `proj`.
    pub(super) fn read_hlop(&self, proj: usize) -> crate::Result<crate::plasticity::hlop::Hlop> {
        self.plastic
            .get(proj)
            .and_then(|p| p.as_ref())
            .and_then(|p| p.hlop.clone())
            .ok_or_else(|| crate::Error::Invalid(format!("projection {proj} has no HLOP")))
    }

    /// A trace (`r1`, `r2`, `o1`, `o2`) of plastic projection `proj`.
    pub(super) fn read_trace(
        &self,
        proj: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        let t = self
            .plastic
            .get(proj)
            .and_then(|p| p.as_ref())
            .and_then(|p| p.trace(var))
            .ok_or_else(|| {
                crate::Error::Invalid(format!("projection {proj} has no plasticity trace '{var}'"))
            })?;
        out.clear();
        out.extend_from_slice(t);
        Ok(())
    }

    pub(super) fn drain_spikes(&mut self, out: &mut Vec<Spike>) {
        out.append(&mut self.pending);
    }

    pub(super) fn read_state(
        &self,
        pop: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        let p = self
            .net
            .pops
            .get(pop)
            .ok_or_else(|| crate::Error::Invalid(format!("no population with index {pop}")))?;
        let values = match (&p.dynamics, var) {
            (Dynamics::Neurons(_), "i_ext") => Some(self.i_ext[pop].clone()),
            (Dynamics::Neurons(x), var) => x.read(var),
            _ => None,
        };
        *out = values.ok_or_else(|| {
            crate::Error::Invalid(format!(
                "population '{}' has no state variable '{var}'",
                p.name
            ))
        })?;
        Ok(())
    }
}
