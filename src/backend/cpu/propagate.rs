//! The CPU propagation phase: the rows of this step's spikes into the delay rings
//! (shaders/propagate.wgsl), through compact per-projection routes.
use super::instance::{Instance, ring_stride, wrap};
use super::plasticity::to_fixed;
use super::team::Team;
use crate::backend::Spike;
use crate::build::{BuiltProj, Delays};
use crate::prefetch;

/// Compact delivery data of a projection. Propagation is bound by the bytes it
/// streams per synaptic event, so weights shared by every synapse are not read per
/// synapse, targets are narrowed to u16 when the post population allows it (for
/// COBA this brings the whole connectivity within L2), and all-to-all rows are
/// not read at all.
pub(super) struct Route {
    /// The weight of every synapse, when they are all equal.
    pub(super) weight: Option<i32>,
    /// How targets are stored.
    pub(super) targets: Targets,
}

pub(super) enum Targets {
    /// Every row is `0..post size`: delivery is a vectorised add over the target
    /// ring slot.
    Dense,
    /// Copies of the targets as u16 (post population of at most 65536 neurons).
    U16(Vec<u16>),
    /// The projection's own u32 targets.
    U32,
}

impl Route {
    /// Whether every row is `0..post size` (delivery is a vectorised add).
    pub(super) fn is_dense(&self) -> bool {
        matches!(self.targets, Targets::Dense)
    }

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
        let weight = pr.wfix.same(pr.len());
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
        match &targets {
            Targets::U16(t) => crate::huge_pages::advise(t),
            Targets::U32 => crate::huge_pages::advise(&pr.targets),
            Targets::Dense => {}
        }
        if weight.is_none() {
            crate::huge_pages::advise(pr.wfix.each().unwrap_or(&[]));
        }
        Route { weight, targets }
    }
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
    pub(super) fn add_const(dst: &mut [i32], w: i32) -> () => add_const_body
}

crate::neuron::simd_dispatch! {
    /// Adds `w[i]` to `dst[i]` (an all-to-all row).
    pub(super) fn add_row(dst: &mut [i32], w: &[i32]) -> () => add_row_body
}

crate::neuron::simd_dispatch! {
    /// Adds `to_fixed(w[i], scale)` to `dst[i]` (an all-to-all plastic row). Under
    /// the AVX2 dispatch `round_ties_even` is one vector instruction; only the
    /// portable path (CPUs without AVX2) calls libm per element.
    pub(super) fn add_fixed_row(dst: &mut [i32], w: &[f32], scale: f32) -> () => add_fixed_row_body
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

/// How many spikes ahead row pointers (or cuts) are asked for.
pub(super) const FAR: usize = 16;
/// How many spikes ahead a row's targets are asked for.
pub(super) const NEAR: usize = 4;

/// Before delivering spike `x` of `spikes` through `pr`: asks for the row
/// pointers of spike `x + FAR` and the targets of spike `x + NEAR`. Spikes
/// are sparse among large populations, so both are cache misses the hardware
/// prefetcher cannot foresee (at 256 000 neurons they took about a third of
/// delivery); a row's targets take longer to arrive from memory than a row
/// takes to deliver, hence several rows ahead.
#[inline(always)]
pub(super) fn prefetch_ahead(pr: &BuiltProj, route: &Route, spikes: &[u32], x: usize) {
    if let Some(&far) = spikes.get(x + FAR) {
        prefetch::line(&pr.row_ptr, far as usize);
    }
    if let Some(&next) = spikes.get(x + NEAR) {
        let row = pr.row_ptr[next as usize] as usize..pr.row_ptr[next as usize + 1] as usize;
        match &route.targets {
            Targets::U16(t) => prefetch::span(t, row),
            Targets::U32 => prefetch::span(&pr.targets, row),
            Targets::Dense => {}
        }
    }
}

impl Instance {
    pub(super) fn propagate(&mut self, step: u64, team: Option<&Team>) -> crate::Result<()> {
        self.sync_slots(step);
        let split = self.partition.as_ref().zip(team);
        if let Some((partition, team)) = split {
            if self.step_spikes.iter().any(|s| !s.is_empty()) {
                // Plastic projections deliver their live weights.
                let weights: Vec<Option<(&[f32], f32)>> = (self.plastic.iter())
                    .zip(self.net.projs.iter())
                    .map(|(ps, pr)| Some((&ps.as_ref()?.w[..], pr.plastic.as_ref()?.scale)))
                    .collect();
                partition.deliver(
                    team,
                    &self.net.pops,
                    &self.net.projs,
                    &self.routes,
                    &weights,
                    &self.out_projs,
                    &self.step_spikes,
                    &mut self.rings,
                    &self.slot,
                    &self.depth,
                );
            }
        }
        for pi in 0..self.net.pops.len() {
            let spikes = &self.step_spikes[pi];
            if spikes.is_empty() {
                continue;
            }
            for &k in &self.out_projs[pi] {
                if split.is_some_and(|(p, _)| p.parallel(k)) {
                    continue;
                }
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
                // Per-synapse weights; only read where `route.weight` is None.
                let wfix = pr.wfix.each().unwrap_or(&[]);
                match &pr.delays {
                    Delays::Const(d) => {
                        // 1 <= d <= depth, so one conditional subtraction replaces `% depth`.
                        let slot = wrap(now + *d as usize, depth);
                        let base = (slot * 2 + pr.receptor) * stride;
                        let dst = &mut ring[base..base + n];
                        for (x, &j) in spikes.iter().enumerate() {
                            prefetch_ahead(pr, route, spikes, x);
                            let r = rows(j);
                            match (plastic, &route.targets, route.weight) {
                                (Some((w, scale)), Targets::Dense, _) => {
                                    add_fixed_row(dst, &w[r], scale)
                                }
                                (Some((w, scale)), _, _) => {
                                    scatter_fixed(dst, &pr.targets[r.clone()], &w[r], scale)
                                }
                                (None, Targets::Dense, Some(w)) => add_const(dst, w),
                                (None, Targets::Dense, None) => add_row(dst, &wfix[r]),
                                (None, Targets::U16(t), Some(w)) => scatter_const(dst, &t[r], w),
                                (None, Targets::U16(t), None) => {
                                    scatter(dst, &t[r.clone()], &wfix[r])
                                }
                                (None, Targets::U32, Some(w)) => {
                                    scatter_const(dst, &pr.targets[r], w)
                                }
                                (None, Targets::U32, None) => {
                                    scatter(dst, &pr.targets[r.clone()], &wfix[r])
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
                                    None => pr.wfix.get(s),
                                };
                                *x = x.wrapping_add(w);
                            }
                        }
                    }
                }
            }
        }
        let step32 = u32::try_from(step)
            .map_err(|_| crate::Error::Resources("more than 2^32 steps".into()))?;
        for (pi, spikes) in self.step_spikes.iter().enumerate() {
            let off = self.net.pops[pi].offset;
            self.pending.extend(spikes.iter().map(|&i| Spike {
                step: step32,
                id: off + i,
            }));
        }
        Ok(())
    }
}
