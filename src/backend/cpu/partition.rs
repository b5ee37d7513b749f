//! One network on several threads: every population's neurons split into
//! contiguous parts, one per worker, and delivery split the same way, so each
//! worker writes only its own targets' ring entries (no atomics, no locks).
//! Fixed-point accumulation is order-independent, so the rings, and hence the
//! spikes, are the same for any number of parts. The split is by target, the
//! way an MPI rank would own its neurons and the synapses onto them.
use super::instance::{ring_stride, wrap};
use super::plasticity::to_fixed;
use super::propagate::{FAR, NEAR, Route, Targets, add_const, add_fixed_row, add_row};
use super::team::Team;
use crate::build::{BuiltPop, BuiltProj, Delays, Dynamics};
use crate::prefetch;
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

/// Whether threads can pay off for a network of `pops` and `projs` (the
/// automatic thread count is 1 where they cannot): a population of at least
/// [`MIN_PARALLEL_NEURONS`], whose rings outgrow a core's cache, or at least
/// [`MIN_PARALLEL_SYNAPSES`] synapses, which [`Partition::new`] splits.
/// Brunel's 12 500 neurons and 15.6 M synapses took 0.52-0.95 s per biological
/// second on two threads (7 of 8 runs at most 0.65 s), 0.65-0.82 s on one;
/// COBA's 4000 neurons and 0.32 M synapses stay on one.
pub(crate) fn worth_threads(pops: &[BuiltPop], projs: &[BuiltProj]) -> bool {
    let synapses: usize = projs.iter().map(BuiltProj::len).sum();
    synapses >= Grain::DEFAULT.synapses
        || pops
            .iter()
            .any(|p| p.size as usize >= Grain::DEFAULT.neurons)
}

/// The `parts + 1` boundaries of `n` neurons' parts: multiples of 16 but the
/// last, so every part's state and ring entries start on a cache line. The
/// neuron phase splits the same way, so a thread updates the neurons whose
/// ring entries it delivers to, and they stay in its core's cache.
pub(super) fn part_bounds(n: usize, parts: usize) -> Vec<usize> {
    let size = n.div_ceil(parts).next_multiple_of(16);
    (0..=parts).map(|k| (k * size).min(n)).collect()
}

/// How a projection's delivery is split.
#[derive(Clone, Copy, PartialEq)]
enum Split {
    /// On the calling thread (plastic weights, per-synapse delays, unsorted
    /// rows, or a small network).
    Serial,
    /// All-to-all rows: each part adds to its range of the slot.
    Dense,
    /// Rows sorted by target: each part reads its segment of each row
    /// ([`Cuts`]).
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
    /// Per projection split by sorted rows: where each part's targets begin in
    /// each row (see [`Cuts`]); empty for the others.
    cuts: Vec<Cuts>,
}

/// Where each part's synapses lie in each row of a projection whose rows are
/// sorted by target: `parts + 1` synapse indices per row, the row's start,
/// the first synapse of each later part, and the row's end. A part reads its
/// own segment of each row and no other (a binary search per row and part
/// had each part read most of every row, and its dependent loads took half of
/// delivery at 256 000 neurons). It is the row pointer of the synapses a part
/// owns, as an MPI rank would store them. It costs `(parts + 1) × 4` bytes
/// per row: 12 on two threads against 320 for a row of 80 u32 targets, but as
/// much as the targets themselves near 80 threads, where a part's segment is
/// about one synapse and splitting the spikes instead would serve better.
#[derive(Default)]
struct Cuts {
    at: Vec<u32>,
    parts: usize,
}

impl Cuts {
    fn new(pr: &BuiltProj, bounds: &[usize]) -> Cuts {
        let parts = bounds.len() - 1;
        let mut at = Vec::with_capacity(pr.row_ptr.len().saturating_sub(1) * (parts + 1));
        for w in pr.row_ptr.windows(2) {
            let row = &pr.targets[w[0] as usize..w[1] as usize];
            at.push(w[0]);
            for &b in &bounds[1..parts] {
                at.push(w[0] + row.partition_point(|&t| (t as usize) < b) as u32);
            }
            at.push(w[1]);
        }
        crate::huge_pages::advise(&at);
        Cuts { at, parts }
    }

    /// The synapses of row `j` onto part `part`'s targets.
    #[inline(always)]
    fn segment(&self, j: u32, part: usize) -> Range<usize> {
        let i = j as usize * (self.parts + 1) + part;
        self.at[i] as usize..self.at[i + 1] as usize
    }

    /// Asks for the cache line of row `j`'s cuts.
    #[inline(always)]
    fn prefetch(&self, j: u32, part: usize) {
        prefetch::line(&self.at, j as usize * (self.parts + 1) + part);
    }
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
        let bounds: Vec<Vec<usize>> = pops
            .iter()
            .map(|p| part_bounds(p.size as usize, parts))
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
            .collect::<Vec<Split>>();
        let cuts = projs
            .iter()
            .zip(&split)
            .map(|(pr, &split)| match split {
                Split::Sorted => Cuts::new(pr, &bounds[pr.post]),
                _ => Cuts::default(),
            })
            .collect();
        Some(Partition {
            bounds,
            split,
            sorted,
            cuts,
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
                    let one = Part {
                        pr,
                        route: &routes[k],
                        split: self.split[k],
                        plastic: plastic[k],
                        cuts: &self.cuts[k],
                        part,
                    };
                    one.deliver(spikes, dst, lo);
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
    cuts: &'a Cuts,
    part: usize,
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
            cuts,
            part,
        } = *self;
        let wfix = pr.wfix.each().unwrap_or(&[]);
        if split == Split::Dense {
            let hi = lo + dst.len();
            for &j in spikes {
                let r = pr.row_ptr[j as usize] as usize..pr.row_ptr[j as usize + 1] as usize;
                match (plastic, route.weight) {
                    (Some((w, scale)), _) => add_fixed_row(dst, &w[r][lo..hi], scale),
                    (None, Some(w)) => add_const(dst, w),
                    (None, None) => add_row(dst, &wfix[r][lo..hi]),
                }
            }
            return;
        }
        debug_assert!(split == Split::Sorted, "serial projections are not split");
        for (x, &j) in spikes.iter().enumerate() {
            if let Some(&far) = spikes.get(x + FAR) {
                cuts.prefetch(far, part);
            }
            if let Some(&next) = spikes.get(x + NEAR) {
                let next = cuts.segment(next, part);
                match &route.targets {
                    Targets::U16(t) => prefetch::span(t, next),
                    _ => prefetch::span(&pr.targets, next),
                }
            }
            let r = cuts.segment(j, part);
            match (plastic, route.weight, &route.targets) {
                (Some((w, scale)), ..) => {
                    let w = w[r.clone()].iter().map(|&w| to_fixed(w, scale));
                    add_segment(&pr.targets[r], dst, lo, w)
                }
                (None, Some(w), Targets::U16(t)) => {
                    add_segment(&t[r], dst, lo, std::iter::repeat(w))
                }
                (None, Some(w), _) => add_segment(&pr.targets[r], dst, lo, std::iter::repeat(w)),
                (None, None, Targets::U16(t)) => {
                    add_segment(&t[r.clone()], dst, lo, wfix[r].iter().copied())
                }
                (None, None, _) => {
                    add_segment(&pr.targets[r.clone()], dst, lo, wfix[r].iter().copied())
                }
            }
        }
    }
}

/// Adds into `dst`, the ring entries of targets `lo..lo + dst.len()`, the
/// weights `weights` of a row's segment onto them.
#[inline(always)]
fn add_segment<T: Copy + Into<u32>>(
    segment: &[T],
    dst: &mut [i32],
    lo: usize,
    weights: impl Iterator<Item = i32>,
) {
    for (&t, w) in segment.iter().zip(weights) {
        let x = &mut dst[t.into() as usize - lo];
        *x = x.wrapping_add(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::FixedWeights;

    #[test]
    fn parts_tile_the_population_on_cache_lines() {
        for n in [0, 1, 15, 16, 17, 100, 1000, 12_800, 51_200] {
            for parts in 1..=5 {
                let b = part_bounds(n, parts);
                assert_eq!(b.len(), parts + 1);
                assert_eq!((b[0], b[parts]), (0, n));
                assert!(b.windows(2).all(|w| w[0] <= w[1]));
                assert!(b[..parts].iter().all(|&x| x % 16 == 0 || x == n));
            }
        }
    }

    /// Each part's segment of a row holds exactly the row's synapses onto the
    /// part's targets, and the segments tile the row in order.
    #[test]
    fn cuts_give_each_part_its_own_targets() {
        let mut rng = crate::neuron::test_util::Rand(7);
        let n = 1000;
        let (mut row_ptr, mut targets) = (vec![0u32], vec![]);
        for _ in 0..200 {
            let mut row: Vec<u32> = (0..n).filter(|_| rng.chance(0.05)).collect();
            row.sort_unstable();
            targets.extend(row);
            row_ptr.push(targets.len() as u32);
        }
        let pr = BuiltProj {
            name: "p".into(),
            pre: 0,
            post: 0,
            receptor: 0,
            row_ptr,
            targets,
            wfix: FixedWeights::Same(1),
            delays: Delays::Const(1),
            plastic: None,
        };
        for parts in 1..=4 {
            let bounds = part_bounds(n as usize, parts);
            let cuts = Cuts::new(&pr, &bounds);
            for j in 0..200u32 {
                let row = pr.row_ptr[j as usize] as usize..pr.row_ptr[j as usize + 1] as usize;
                let mut at = row.start;
                for q in 0..parts {
                    let seg = cuts.segment(j, q);
                    assert_eq!(seg.start, at, "segments are contiguous");
                    let inside = |t: &u32| (bounds[q]..bounds[q + 1]).contains(&(*t as usize));
                    assert!(pr.targets[seg.clone()].iter().all(inside));
                    let all = pr.targets[row.clone()].iter().filter(|t| inside(t)).count();
                    assert_eq!(seg.len(), all, "row {j}, part {q}");
                    at = seg.end;
                }
                assert_eq!(at, row.end);
            }
        }
    }
}
