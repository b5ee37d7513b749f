//! The CPU neuron phase: each population's registered kernel on this step's ring
//! slot, whole or in chunks on the run's team of threads (shaders/neuron_*.wgsl).
use super::instance::{Instance, ring_stride};
use super::partition::Grain;
use super::team::Team;
use crate::build::Dynamics;
use crate::neuron::{NeuronKernel, Visit};
use std::sync::Mutex;

use crate::neuron::registry::Kernel;

/// One chunk's work: its view, ring slices, external current and first index.
type Job<'a, V> = (V, &'a mut [i32], &'a mut [i32], Option<&'a [f32]>, u32);

/// A population split into chunks for the team: everything but the state.
struct Chunks<'a> {
    team: &'a Team<'a>,
    re: Vec<&'a mut [i32]>,
    ri: Vec<&'a mut [i32]>,
    inv: [f32; 2],
    ext: Vec<Option<&'a [f32]>>,
    lens: &'a [usize],
    out: &'a mut Vec<u32>,
}

impl Chunks<'_> {
    /// Runs `kernel` on every chunk, chunk `p` on the team's thread `p`, and
    /// appends the spikes of the chunks in order, so the result never depends
    /// on the thread count. (A single chunk never gets here: see `splits`.)
    fn run<K: Sync, V: Send>(self, k: &K, kernel: Kernel<K, V>, views: Vec<V>) -> bool {
        let Chunks {
            team,
            re,
            ri,
            inv,
            ext,
            lens,
            out,
        } = self;
        let mut base = 0u32;
        let jobs: Vec<Mutex<Option<Job<'_, V>>>> = views
            .into_iter()
            .zip(re)
            .zip(ri)
            .zip(ext)
            .zip(lens)
            .map(|((((v, e), i), x), &len)| {
                let b = base;
                base += len as u32;
                Mutex::new(Some((v, e, i, x, b)))
            })
            .collect();
        let results: Vec<Mutex<(bool, Vec<u32>)>> =
            jobs.iter().map(|_| Mutex::new((true, vec![]))).collect();
        team.run(&|p| {
            let job = jobs
                .get(p)
                .and_then(|j| j.lock().expect("not poisoned").take());
            if let Some((v, e, i, x, b)) = job {
                let mut sp = vec![];
                let ok = kernel(k, v, e, i, inv, x, b, &mut sp);
                *results[p].lock().expect("not poisoned") = (ok, sp);
            }
        });
        let mut ok = true;
        for r in results {
            let (chunk_ok, sp) = r.into_inner().expect("not poisoned");
            ok &= chunk_ok;
            out.extend_from_slice(&sp);
        }
        ok
    }
}

/// Whether a population of `n` neurons is split over `threads` threads: not
/// below `grain.neurons`, which update in about the time of a team's hand-over.
pub(super) fn splits(n: usize, threads: usize, grain: Grain) -> bool {
    threads > 1 && n >= grain.neurons
}

/// Chunk lengths for `threads` workers, each at least half the grain: one chunk
/// when threading would not pay.
fn chunk_lens(n: usize, threads: usize, grain: Grain) -> Vec<usize> {
    if !splits(n, threads, grain) {
        return vec![n];
    }
    let k = threads.min(n / (grain.neurons / 2));
    // Multiples of 16 neurons keep every chunk 64-byte aligned (see `ring_stride`).
    let size = n.div_ceil(k).next_multiple_of(16);
    let mut lens = vec![size; n / size];
    if n % size > 0 {
        lens.push(n % size);
    }
    lens
}

/// One step of a neuron population: its kernel on the whole population, or on
/// chunks on the team.
struct NeuronStep<'a> {
    team: Option<&'a Team<'a>>,
    grain: Grain,
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
            team,
            grain,
            re,
            ri,
            inv,
            ext,
            out,
        } = self;
        let n = re.len();
        let threads = team.map_or(1, Team::size);
        let ok = if let (Some(team), true) = (team, splits(n, threads, grain)) {
            let lens = chunk_lens(n, threads, grain);
            let (re, ri) = (split_mut(re, &lens), split_mut(ri, &lens));
            let ext: Vec<Option<&[f32]>> = match ext {
                Some(x) => split(x, &lens).into_iter().map(Some).collect(),
                None => vec![None; lens.len()],
            };
            let chunks = Chunks {
                team,
                re,
                ri,
                inv,
                ext,
                lens: &lens,
                out,
            };
            let (k, views) = p.chunks(&lens);
            chunks.run(k, P::update, views)
        } else {
            // One chunk: call the kernel on the whole population, without the
            // per-step allocations of the chunked path.
            let (k, view) = p.whole();
            P::update(k, view, re, ri, inv, ext, 0, out)
        };
        p.tick();
        (ok, P::CHECKED)
    }
}

impl Instance {
    pub(super) fn neurons(&mut self, step: u64, team: Option<&Team>) -> crate::Result<()> {
        self.sync_slots(step);
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
                    team,
                    grain: self.grain,
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
