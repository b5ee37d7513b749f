//! The pair updates of two-factor and reward-modulated STDP (a presynaptic
//! spike meets the postsynaptic traces, a postsynaptic spike the presynaptic
//! ones), whole or split by postsynaptic part. Every synapse belongs to the part
//! of its target, so parts write disjoint weights, and each synapse gets the
//! same operations in the same order as on one thread: the weights are the same
//! for any thread count.
use std::ops::Range;

use crate::build::{BuiltPlastic, BuiltProj};
use crate::plasticity::kernel::{Third, apply, on_post, on_pre};

/// A projection's weights (or eligibility), written by several parts at the
/// synapses of their own targets.
#[derive(Clone, Copy)]
pub(super) struct SynPtr(pub(super) *mut f32, pub(super) usize);
// SAFETY: parts write disjoint synapses (see `Pairs::update`).
unsafe impl Send for SynPtr {}
unsafe impl Sync for SynPtr {}

/// One step's pair updates of one projection: the rule, the step's spikes
/// (local ids, ascending) and the traces after their decay.
pub(super) struct Pairs<'a> {
    pub(super) pr: &'a BuiltProj,
    pub(super) pl: &'a BuiltPlastic,
    pub(super) pre: &'a [u32],
    pub(super) post: &'a [u32],
    pub(super) r1: &'a [f32],
    pub(super) r2: &'a [f32],
    pub(super) o1: &'a [f32],
    pub(super) o2: &'a [f32],
    /// Coefficients per astrocyte domain (one entry without an astrocyte).
    pub(super) coef: &'a [[f32; 4]],
}

impl Pairs<'_> {
    /// Updates the synapses onto postsynaptic neurons `targets`. Short of the
    /// whole range the projection's rows must be sorted by target.
    ///
    /// # Safety
    /// `w` must point to the projection's `pr.len()` weights (or eligibilities),
    /// and no other thread may touch the synapses onto `targets` meanwhile.
    pub(super) unsafe fn update(&self, w: SynPtr, targets: Range<usize>) {
        let (pr, pl) = (self.pr, self.pl);
        let k = &pl.rule;
        // Reward-modulated STDP changes the eligibility, by addition.
        let reward = matches!(k.third, Third::Reward { .. });
        let whole = targets.start == 0 && targets.end >= self.o1.len();
        let domains = pl.modulation.as_ref().map(|m| &m.domain_of_post[..]);
        let coef_of = |t: usize| match domains {
            Some(d) => &self.coef[d[t] as usize],
            None => &self.coef[0],
        };
        let change = |s: usize, dw: f32| {
            debug_assert!(s < w.1);
            // SAFETY: `s` is a synapse of this projection onto `targets`
            // (the caller's guarantee).
            unsafe {
                let p = w.0.add(s);
                *p = if reward { *p + dw } else { apply(k, *p, dw) };
            }
        };
        for &j in self.pre {
            let j = j as usize;
            let r2j = if k.triplet { self.r2[j] } else { 0.0 };
            let mut row = pr.row_ptr[j] as usize..pr.row_ptr[j + 1] as usize;
            if !whole {
                let t = &pr.targets[row.clone()];
                let lo = t.partition_point(|&x| (x as usize) < targets.start);
                let hi = t.partition_point(|&x| (x as usize) < targets.end);
                row = row.start + lo..row.start + hi;
            }
            for (s, &t) in row.clone().zip(&pr.targets[row]) {
                let t = t as usize;
                change(s, on_pre(coef_of(t), self.o1[t], r2j));
            }
        }
        let post = if whole {
            self.post
        } else {
            let lo = self.post.partition_point(|&i| (i as usize) < targets.start);
            let hi = self.post.partition_point(|&i| (i as usize) < targets.end);
            &self.post[lo..hi]
        };
        for &i in post {
            let i = i as usize;
            let o2i = if k.triplet { self.o2[i] } else { 0.0 };
            let c = coef_of(i);
            let col = pl.col_ptr[i] as usize..pl.col_ptr[i + 1] as usize;
            for (&s, &j) in pl.col_syn[col.clone()].iter().zip(&pl.col_pre[col]) {
                change(s as usize, on_post(c, self.r1[j as usize], o2i));
            }
        }
    }
}
