//! The plasticity phase on the CPU (mirrors `shaders/plasticity.wgsl`): per-neuron
//! traces and per-instance weights of plastic projections, updated in the order
//! [`crate::plasticity::stdp`] documents.
use crate::build::{BuiltPlastic, BuiltProj};
use crate::plasticity::stdp::{apply, bump, on_post, on_pre};

/// Per-instance state of one plastic projection.
pub(super) struct PlasticState {
    /// Current weight of each synapse (CSR order, weight units).
    pub(super) w: Vec<f32>,
    /// Presynaptic traces `[r1, r2]` (`r2` empty without triplet terms).
    pre: [Vec<f32>; 2],
    /// Postsynaptic traces `[o1, o2]`.
    post: [Vec<f32>; 2],
    /// Current coefficients `[c_pre2, c_pre3, c_post2, c_post3]`.
    pub(super) coef: [f32; 4],
}

impl PlasticState {
    pub(super) fn new(pl: &BuiltPlastic, n_pre: usize, n_post: usize) -> Self {
        let second = |n: usize| {
            if pl.rule.triplet {
                vec![0.0; n]
            } else {
                vec![]
            }
        };
        PlasticState {
            w: pl.w0.clone(),
            pre: [vec![0.0; n_pre], second(n_pre)],
            post: [vec![0.0; n_post], second(n_post)],
            coef: pl.rule.coef,
        }
    }

    /// The trace `var` (`r1`, `r2`, `o1`, `o2`), when it exists.
    pub(super) fn trace(&self, var: &str) -> Option<&[f32]> {
        let t = match var {
            "r1" => &self.pre[0],
            "r2" => &self.pre[1],
            "o1" => &self.post[0],
            "o2" => &self.post[1],
            _ => return None,
        };
        (!t.is_empty()).then_some(&t[..])
    }

    /// One step of the rule given the step's presynaptic and postsynaptic spikes
    /// (local ids, ascending).
    pub(super) fn step(&mut self, pr: &BuiltProj, pl: &BuiltPlastic, pre: &[u32], post: &[u32]) {
        let k = &pl.rule;
        let PlasticState {
            w,
            pre: [r1, r2],
            post: [o1, o2],
            coef,
        } = self;
        decay(r1, k.decay_pre[0]);
        decay(o1, k.decay_post[0]);
        if k.triplet {
            decay(r2, k.decay_pre[1]);
            decay(o2, k.decay_post[1]);
        }
        for &j in pre {
            let j = j as usize;
            let r2j = if k.triplet { r2[j] } else { 0.0 };
            let row = pr.row_ptr[j] as usize..pr.row_ptr[j + 1] as usize;
            for (ws, &t) in w[row.clone()].iter_mut().zip(&pr.targets[row]) {
                *ws = apply(k, *ws, on_pre(coef, o1[t as usize], r2j));
            }
        }
        for &i in post {
            let i = i as usize;
            let o2i = if k.triplet { o2[i] } else { 0.0 };
            let col = pl.col_ptr[i] as usize..pl.col_ptr[i + 1] as usize;
            for (&s, &j) in pl.col_syn[col.clone()].iter().zip(&pl.col_pre[col]) {
                let ws = &mut w[s as usize];
                *ws = apply(k, *ws, on_post(coef, r1[j as usize], o2i));
            }
        }
        for &j in pre {
            let j = j as usize;
            r1[j] = bump(k.nearest, r1[j]);
            if k.triplet {
                r2[j] = bump(k.nearest, r2[j]);
            }
        }
        for &i in post {
            let i = i as usize;
            o1[i] = bump(k.nearest, o1[i]);
            if k.triplet {
                o2[i] = bump(k.nearest, o2[i]);
            }
        }
    }
}

fn decay(x: &mut [f32], d: f32) {
    x.iter_mut().for_each(|x| *x *= d);
}

/// The fixed-point ring contribution of weight `w` at scale `scale` (as the shader:
/// round half to even, then convert).
#[inline(always)]
pub(super) fn to_fixed(w: f32, scale: f32) -> i32 {
    (w * scale).round_ties_even() as i32
}
