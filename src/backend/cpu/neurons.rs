//! The CPU neuron phase: each population's registered kernel on this step's ring
//! slot, whole or in chunks on the worker pool (shaders/neuron_*.wgsl).
use super::instance::{Instance, ring_stride};
use crate::build::Dynamics;
use crate::neuron::{NeuronKernel, Visit};

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
}
