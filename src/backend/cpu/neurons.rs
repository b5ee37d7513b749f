//! The CPU neuron phase: each population's registered kernel on this step's ring
//! slot, whole, or split into one chunk per thread of the run's team
//! (shaders/neuron_*.wgsl).
use super::instance::{Instance, ring_stride};
use super::partition::{Grain, part_bounds};
use super::team::Team;
use crate::build::Dynamics;
use crate::neuron::{NeuronKernel, Visit};
use std::sync::Mutex;

/// Whether a population of `n` neurons makes a team worth having: from
/// `grain.neurons` on, its update takes longer than a team's hand-over.
pub(super) fn splits(n: usize, threads: usize, grain: Grain) -> bool {
    threads > 1 && n >= grain.neurons
}

/// The excitatory and inhibitory entries of ring slot `slot` of a population
/// of `n` neurons.
fn slot_entries(ring: &mut [i32], slot: usize, n: usize) -> (&mut [i32], &mut [i32]) {
    let stride = ring_stride(n);
    let (re, ri) = ring[slot * 2 * stride..(slot + 1) * 2 * stride].split_at_mut(stride);
    (&mut re[..n], &mut ri[..n])
}

/// One chunk's update: returns whether the state stayed finite, appending the
/// chunk's spikes (population indices) to the list it is given.
type Job<'a> = Box<dyn FnOnce(&mut Vec<u32>) -> bool + Send + 'a>;

/// What each part's thread gets of every population: `(population, job)`.
type PartJobs<'a> = Vec<(usize, Job<'a>)>;

/// What one part's thread found in a step: its spikes of each population,
/// and the first population whose state became non-finite (kept by the
/// instance, so the lists are not allocated anew each step).
pub(super) type PartOut = (Vec<Vec<u32>>, Option<usize>);

/// The population's state, ring slots and external current split by `bounds`,
/// one job per chunk.
struct Chunked<'a> {
    bounds: &'a [usize],
    re: &'a mut [i32],
    ri: &'a mut [i32],
    inv: [f32; 2],
    ext: Option<&'a [f32]>,
}

impl<'a> Visit<'a> for Chunked<'a> {
    type Out = Vec<Job<'a>>;

    fn visit<P: NeuronKernel>(self, p: &'a mut P) -> Vec<Job<'a>> {
        use crate::neuron::{split, split_mut};
        let Chunked {
            bounds,
            re,
            ri,
            inv,
            ext,
        } = self;
        let lens: Vec<usize> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
        let (re, ri) = (split_mut(re, &lens), split_mut(ri, &lens));
        let ext: Vec<Option<&[f32]>> = match ext {
            Some(x) => split(x, &lens).into_iter().map(Some).collect(),
            None => vec![None; lens.len()],
        };
        let (k, views) = p.chunks(&lens);
        views
            .into_iter()
            .zip(re)
            .zip(ri)
            .zip(ext)
            .zip(bounds)
            .map(|((((view, re), ri), ext), &base)| -> Job<'a> {
                Box::new(move |out| P::update(k, view, re, ri, inv, ext, base as u32, out))
            })
            .collect()
    }
}

/// One step of a whole population on the calling thread.
struct Whole<'a> {
    re: &'a mut [i32],
    ri: &'a mut [i32],
    inv: [f32; 2],
    ext: Option<&'a [f32]>,
    out: &'a mut Vec<u32>,
}

impl<'a> Visit<'a> for Whole<'a> {
    type Out = bool;

    fn visit<P: NeuronKernel>(self, p: &'a mut P) -> bool {
        let (k, view) = p.whole();
        let ok = P::update(k, view, self.re, self.ri, self.inv, self.ext, 0, self.out);
        p.tick();
        ok
    }
}

/// The end of a split step: each population's tick, once.
struct Tick;

impl Visit<'_> for Tick {
    type Out = ();

    fn visit<P: NeuronKernel>(self, p: &mut P) {
        p.tick();
    }
}

/// The variables checked for finiteness.
struct Checked;

impl Visit<'_> for Checked {
    type Out = &'static str;

    fn visit<P: NeuronKernel>(self, _: &mut P) -> &'static str {
        P::CHECKED
    }
}

impl Instance {
    pub(super) fn neurons(&mut self, step: u64, team: Option<&Team>) -> crate::Result<()> {
        self.sync_slots(step);
        let ok = match team {
            Some(team) => self.neurons_split(team),
            None => self.neurons_whole(),
        };
        match ok {
            Ok(()) => Ok(()),
            Err(pi) => {
                let pop = &mut self.net.pops[pi];
                let var = match &mut pop.dynamics {
                    Dynamics::Neurons(neurons) => neurons.visit(Checked),
                    Dynamics::Source(_) => "",
                };
                Err(crate::Error::NonFinite {
                    population: pop.name.clone(),
                    var: var.into(),
                    step,
                })
            }
        }
    }

    /// Every population on the calling thread; `Err(p)`: population `p`'s
    /// state became non-finite.
    fn neurons_whole(&mut self) -> Result<(), usize> {
        for pi in 0..self.net.pops.len() {
            let pop = &mut self.net.pops[pi];
            let n = pop.size as usize;
            let ring = &mut self.rings[pi];
            let Dynamics::Neurons(neurons) = &mut pop.dynamics else {
                continue;
            };
            let (re, ri) = slot_entries(ring, self.slot[pi], n);
            let ok = neurons.visit(Whole {
                re,
                ri,
                inv: pop.inv_scale,
                ext: self.ext_live[pi].then_some(&self.i_ext[pi][..]),
                out: &mut self.step_spikes[pi],
            });
            if !ok {
                return Err(pi);
            }
        }
        Ok(())
    }

    /// Every population split into one chunk per thread (the parts of
    /// [`part_bounds`]), all in one job of `team`: thread `p` updates chunk `p`
    /// of each. The chunks' spikes are appended in chunk order, so the spike
    /// lists never depend on the thread count.
    fn neurons_split(&mut self, team: &Team) -> Result<(), usize> {
        let parts = team.size();
        let np = self.net.pops.len();
        if self.part_out.len() != parts {
            self.part_bounds = (self.net.pops.iter())
                .map(|p| part_bounds(p.size as usize, parts))
                .collect();
            self.part_out = (0..parts)
                .map(|_| Mutex::new((vec![vec![]; np], None)))
                .collect();
        }
        let mut jobs: Vec<PartJobs> = (0..parts).map(|_| Vec::with_capacity(np)).collect();
        let pops = self.net.pops.iter_mut();
        let each = pops.zip(&mut self.rings).zip(&self.part_bounds);
        for (pi, ((pop, ring), bounds)) in each.enumerate() {
            let n = pop.size as usize;
            let Dynamics::Neurons(neurons) = &mut pop.dynamics else {
                continue;
            };
            let (re, ri) = slot_entries(ring, self.slot[pi], n);
            let chunks = neurons.visit(Chunked {
                bounds,
                re,
                ri,
                inv: pop.inv_scale,
                ext: self.ext_live[pi].then_some(&self.i_ext[pi][..]),
            });
            for (p, job) in chunks.into_iter().enumerate() {
                jobs[p].push((pi, job));
            }
        }
        let outs = &self.part_out;
        let jobs: Vec<Mutex<PartJobs>> = jobs.into_iter().map(Mutex::new).collect();
        team.run(&|p| {
            let mine = std::mem::take(&mut *jobs[p].lock().expect("not poisoned"));
            let mut out = outs[p].lock().expect("not poisoned");
            let (spikes, bad) = &mut *out;
            for (pi, job) in mine {
                if !job(&mut spikes[pi]) && bad.is_none() {
                    *bad = Some(pi);
                }
            }
        });
        drop(jobs);
        let mut bad: Option<usize> = None;
        for out in &self.part_out {
            let mut out = out.lock().expect("not poisoned");
            let (spikes, b) = &mut *out;
            bad = bad.into_iter().chain(b.take()).min();
            for (all, chunk) in self.step_spikes.iter_mut().zip(spikes) {
                all.extend_from_slice(chunk);
                chunk.clear();
            }
        }
        for pop in &mut self.net.pops {
            if let Dynamics::Neurons(neurons) = &mut pop.dynamics {
                neurons.visit(Tick);
            }
        }
        bad.map_or(Ok(()), Err)
    }
}
