//! One network on several threads: every population's neurons split into
//! contiguous parts, one per worker, and delivery split the same way, so each
//! worker writes only its own targets' ring entries (no atomics, no locks).
//! Fixed-point accumulation is order-independent, so the rings, and hence the
//! spikes, are the same for any number of parts. The split is by target, the
//! way an MPI rank would own its neurons and the synapses onto them.
use super::instance::{ring_stride, wrap};
use super::plasticity::to_fixed;
use super::propagate::{Route, Targets, add_const, add_fixed_row, add_row, prefetch_ahead};
use super::team::Team;
use crate::build::{BuiltPop, BuiltProj, Delays, Dynamics};
use std::ops::Range;

/// Synapses below which a network's delivery stays on one thread: a step of
/// such a network takes microseconds, a team's hand-over a good part of that.
pub(super) const MIN_PARALLEL_SYNAPSES: usize = 1 << 20;

/// Neurons below which a population is updated on one thread.
pub(super) const MIN_PARALLEL_NEURONS: usize = 16_384;

/// The least work a phase splits over threads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Grain {
    /// Synapses in all, below which delivery stays on one thread.
    pub synapses: usize,
    /// Neurons of a population, below which it updates on one thread.
    pub neurons: usize,
}

impl Grain {
    /// Where threads pay off on today's machines.
    pub const DEFAULT: Grain = Grain {
        synapses: MIN_PARALLEL_SYNAPSES,
        neurons: MIN_PARALLEL_NEURONS,
    };

    /// Splits every network that can split, so that tests take the threaded
    /// paths on small models.
    #[cfg(test)]
    pub const FINE: Grain = Grain {
        synapses: 0,
        neurons: 32,
    };
}

/// Plastic synapses from which STDP's pair updates pay for a team (the
/// 8000-neuron NALSM liquid has 0.94 M: its init phase took 11-15 % less time
/// on two threads).
const MIN_PARALLEL_PLASTIC: usize = 1 << 19;

/// Whether threads can pay off for a network of `pops` and `projs` (the
/// automatic thread count is 1 where they cannot): a population of at least
/// [`MIN_PARALLEL_NEURONS`], whose rings outgrow a core's cache, or many
/// plastic synapses in a network that [`Partition::new`] splits. Smaller
/// networks deliver faster on one thread, however many static synapses they
/// have (Brunel's 12 500 neurons and 15.6 M synapses took 0.80-0.83 s per
/// biological second on one thread, 0.93-1.05 s on two).
pub(crate) fn worth_threads(pops: &[BuiltPop], projs: &[BuiltProj]) -> bool {
    let (mut all, mut plastic) = (0, 0);
    for p in projs {
        all += p.len();
        plastic += if p.plastic.is_some() { p.len() } else { 0 };
    }
    pops.iter()
        .any(|p| p.size as usize >= Grain::DEFAULT.neurons)
        || (plastic >= MIN_PARALLEL_PLASTIC && all >= Grain::DEFAULT.synapses)
}

/// How a projection's delivery is split.
#[derive(Clone, Copy, PartialEq)]
enum Split {
    /// On the calling thread (plastic weights, per-synapse delays, unsorted
    /// rows, or a small network).
    Serial,
    /// All-to-all rows: each part adds to its range of the slot.
    Dense,
    /// Rows sorted by target: each part finds its range in each row by
    /// binary search (no copy of the connectivity).
    Sorted,
}

/// The parts of every population and how each projection's rows split.
pub(super) struct Partition {
    /// Per population: `parts + 1` boundaries (multiples of 16 but the last,
    /// so every part's ring entries start on a cache line).
    bounds: Vec<Vec<usize>>,
    split: Vec<Split>,
    /// Per projection: its rows are sorted by target, so its plasticity's pair
    /// updates can split by target part too.
    sorted: Vec<bool>,
}

/// A ring's storage, written by several parts at disjoint indices.
#[derive(Clone, Copy)]
struct RingPtr(*mut i32, usize);
// SAFETY: the parts write disjoint index ranges (see `Partition::deliver`).
unsafe impl Send for RingPtr {}
unsafe impl Sync for RingPtr {}

impl Partition {
    /// `parts` parts per population; `None` when the network has fewer synapses
    /// than `grain`'s (threads would not pay off in delivery).
    pub(super) fn new(
        pops: &[BuiltPop],
        projs: &[BuiltProj],
        routes: &[Route],
        parts: usize,
        grain: Grain,
    ) -> Option<Partition> {
        let synapses: usize = projs.iter().map(BuiltProj::len).sum();
        if parts < 2 || synapses < grain.synapses {
            return None;
        }
        let bounds = pops
            .iter()
            .map(|p| {
                let n = p.size as usize;
                let size = n.div_ceil(parts).next_multiple_of(16);
                (0..=parts).map(|k| (k * size).min(n)).collect()
            })
            .collect();
        let sorted: Vec<bool> = projs
            .iter()
            .map(|pr| {
                pr.row_ptr
                    .windows(2)
                    .all(|w| pr.targets[w[0] as usize..w[1] as usize].is_sorted())
            })
            .collect();
        let split = projs
            .iter()
            .zip(routes)
            .zip(&sorted)
            .map(|((pr, route), &sorted)| {
                let target_pop = &pops[pr.post];
                if !matches!(pr.delays, Delays::Const(_))
                    || matches!(target_pop.dynamics, Dynamics::Source(_))
                {
                    Split::Serial
                } else if route.is_dense() {
                    Split::Dense
                } else if sorted {
                    Split::Sorted
                } else {
                    Split::Serial
                }
            })
            .collect();
        Some(Partition {
            bounds,
            split,
            sorted,
        })
    }

    /// Whether the pair updates of plastic projection `k` split by target part.
    pub(super) fn splits_pairs(&self, k: usize) -> bool {
        self.sorted[k]
    }

    /// The neurons of population `pop` in part `part`.
    pub(super) fn range(&self, pop: usize, part: usize) -> Range<usize> {
        self.bounds[pop][part]..self.bounds[pop][part + 1]
    }

    /// Whether projection `k` is delivered by [`Self::deliver`].
    pub(super) fn parallel(&self, k: usize) -> bool {
        self.split[k] != Split::Serial
    }

    /// Delivers `spikes[pre]` through every split projection, part by part
    /// on `team`: part `p` writes only the entries of targets in its range.
    #[allow(clippy::too_many_arguments)]
    // Kept out of `propagate`: inlined, it cost the one-thread path about 5 %
    // at 256k neurons.
    #[inline(never)]
    pub(super) fn deliver(
        &self,
        team: &Team,
        pops: &[BuiltPop],
        projs: &[BuiltProj],
        routes: &[Route],
        plastic: &[Option<(&[f32], f32)>],
        out_projs: &[Vec<usize>],
        spikes: &[Vec<u32>],
        rings: &mut [crate::neuron::AlignedVec<i32>],
        slot: &[usize],
        depth: &[usize],
    ) {
        let rings: Vec<RingPtr> = rings
            .iter_mut()
            .map(|r| RingPtr(r.as_mut_ptr(), r.len()))
            .collect();
        debug_assert!(self.bounds.iter().all(|b| b.len() == team.size() + 1));
        team.run(&|part| {
            {
                for (pre, spikes) in spikes.iter().enumerate() {
                    if spikes.is_empty() {
                        continue;
                    }
                    for &k in &out_projs[pre] {
                        if !self.parallel(k) {
                            continue;
                        }
                        let pr = &projs[k];
                        let (lo, hi) = (self.bounds[pr.post][part], self.bounds[pr.post][part + 1]);
                        if lo == hi {
                            continue;
                        }
                        let Delays::Const(d) = pr.delays else {
                            unreachable!("split projections have one delay")
                        };
                        let n = pops[pr.post].size as usize;
                        let s = wrap(slot[pr.post] + d as usize, depth[pr.post]);
                        let at = (s * 2 + pr.receptor) * ring_stride(n) + lo;
                        let RingPtr(ptr, len) = rings[pr.post];
                        assert!(at + (hi - lo) <= len, "a part's slice lies in its ring");
                        // SAFETY: in bounds (asserted), and the parts' ranges
                        // `lo..hi` are disjoint, so no two threads hold
                        // overlapping slices; the ring outlives the call.
                        let dst = unsafe { std::slice::from_raw_parts_mut(ptr.add(at), hi - lo) };
                        let part = Part {
                            pr,
                            route: &routes[k],
                            split: self.split[k],
                            plastic: plastic[k],
                        };
                        part.deliver(spikes, dst, lo);
                    }
                }
            }
        });
    }
}

/// One projection's delivery into one part of its targets.
struct Part<'a> {
    pr: &'a BuiltProj,
    route: &'a Route,
    split: Split,
    /// Plastic: the live weights and the ring's scale.
    plastic: Option<(&'a [f32], f32)>,
}

impl Part<'_> {
    /// Delivers `spikes` into `dst`, the slot's entries of targets
    /// `lo..lo + dst.len()`.
    fn deliver(&self, spikes: &[u32], dst: &mut [i32], lo: usize) {
        let Part {
            pr,
            route,
            split,
            plastic,
        } = *self;
        let hi = lo + dst.len();
        let wfix = pr.wfix.each().unwrap_or(&[]);
        for (x, &j) in spikes.iter().enumerate() {
            prefetch_ahead(pr, route, spikes, x);
            let r = pr.row_ptr[j as usize] as usize..pr.row_ptr[j as usize + 1] as usize;
            match (split, plastic, route.weight) {
                (Split::Dense, Some((w, scale)), _) => add_fixed_row(dst, &w[r][lo..hi], scale),
                (Split::Sorted, Some((w, scale)), _) => {
                    let w = &w[r.clone()];
                    let fixed = |s: Range<usize>| w[s].iter().map(move |&w| to_fixed(w, scale));
                    sorted_range(&pr.targets[r], dst, lo, fixed)
                }
                (Split::Dense, None, Some(w)) => add_const(dst, w),
                (Split::Dense, None, None) => add_row(dst, &wfix[r][lo..hi]),
                (Split::Sorted, None, Some(w)) => {
                    let same = |_| std::iter::repeat(w);
                    match &route.targets {
                        Targets::U16(t) => sorted_range(&t[r], dst, lo, same),
                        _ => sorted_range(&pr.targets[r], dst, lo, same),
                    }
                }
                (Split::Sorted, None, None) => {
                    let w = &wfix[r.clone()];
                    let each = |s: Range<usize>| w[s].iter().copied();
                    match &route.targets {
                        Targets::U16(t) => sorted_range(&t[r], dst, lo, each),
                        _ => sorted_range(&pr.targets[r], dst, lo, each),
                    }
                }
                (Split::Serial, ..) => unreachable!("serial projections are not split"),
            }
        }
    }
}

/// Adds into `dst` the synapses of one sorted row whose targets lie in
/// `lo..lo + dst.len()`; `weights` gives the fixed-point weights of the row's
/// synapses in a range of it.
#[inline(always)]
fn sorted_range<T: Copy + Into<u32>, I: Iterator<Item = i32>>(
    row: &[T],
    dst: &mut [i32],
    lo: usize,
    weights: impl FnOnce(Range<usize>) -> I,
) {
    let hi = lo + dst.len();
    let a = row.partition_point(|&t| (t.into() as usize) < lo);
    let b = a + row[a..].partition_point(|&t| (t.into() as usize) < hi);
    for (&t, w) in row[a..b].iter().zip(weights(a..b)) {
        let x = &mut dst[t.into() as usize - lo];
        *x = x.wrapping_add(w);
    }
}
