//! The plasticity phase on the CPU (mirrors `shaders/plasticity.wgsl`): per-neuron
//! traces and per-instance weights of plastic projections, updated in the order
//! [`crate::plasticity::stdp`] documents.
use crate::build::{BuiltPlastic, BuiltProj};
use crate::plasticity::astrocyte::{astro_step, BuiltAstro, Modulation};
use crate::plasticity::stdp::{apply, bump, on_post, on_pre};

/// Per-instance state of one plastic projection.
pub(super) struct PlasticState {
    /// Current weight of each synapse (CSR order, weight units).
    pub(super) w: Vec<f32>,
    /// Presynaptic traces `[r1, r2]` (`r2` empty without triplet terms).
    pre: [Vec<f32>; 2],
    /// Postsynaptic traces `[o1, o2]`.
    post: [Vec<f32>; 2],
    /// Current coefficients `[c_pre2, c_pre3, c_post2, c_post3]`, per astrocyte
    /// domain (one entry without an astrocyte).
    pub(super) coef: Vec<[f32; 4]>,
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
            coef: vec![pl.rule.coef],
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
        // The coefficients of a postsynaptic neuron's astrocyte domain.
        let domains = pl.modulation.as_ref().map(|m| &m.domain_of_post[..]);
        let coef_of = |t: usize| match domains {
            Some(d) => &coef[d[t] as usize],
            None => &coef[0],
        };
        for &j in pre {
            let j = j as usize;
            let r2j = if k.triplet { r2[j] } else { 0.0 };
            let row = pr.row_ptr[j] as usize..pr.row_ptr[j + 1] as usize;
            for (ws, &t) in w[row.clone()].iter_mut().zip(&pr.targets[row]) {
                let t = t as usize;
                *ws = apply(k, *ws, on_pre(coef_of(t), o1[t], r2j));
            }
        }
        for &i in post {
            let i = i as usize;
            let o2i = if k.triplet { o2[i] } else { 0.0 };
            let c = coef_of(i);
            let col = pl.col_ptr[i] as usize..pl.col_ptr[i + 1] as usize;
            for (&s, &j) in pl.col_syn[col.clone()].iter().zip(&pl.col_pre[col]) {
                let ws = &mut w[s as usize];
                *ws = apply(k, *ws, on_post(c, r1[j as usize], o2i));
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

/// Per-instance state of one astrocyte (all its domains).
pub(super) struct AstroState {
    /// Depression rate A per domain.
    pub(super) a: Vec<f32>,
    /// Accumulated decay of w_A, b_A and eta.
    gain: f32,
    /// Scratch: liquid spikes per domain this step.
    count: Vec<u32>,
}

impl AstroState {
    pub(super) fn new(b: &BuiltAstro) -> Self {
        AstroState {
            a: vec![b.consts.a0; b.n_domains],
            gain: 1.0,
            count: vec![0; b.n_domains],
        }
    }

    /// One step given every population's spikes (local ids) this step.
    pub(super) fn step(&mut self, b: &BuiltAstro, spikes: &[Vec<u32>]) {
        self.count.iter_mut().for_each(|c| *c = 0);
        for (p, dom) in &b.liquid {
            for &i in &spikes[*p] {
                self.count[dom[i as usize] as usize] += 1;
            }
        }
        let input: u32 = b.input.iter().map(|&p| spikes[p].len() as u32).sum();
        for ((a, &c), &share) in self.a.iter_mut().zip(&self.count).zip(&b.share) {
            let drive = c as f32 - share * input as f32;
            *a = astro_step(&b.consts, *a, self.gain, drive);
        }
        self.gain *= b.consts.decay;
    }

    /// The coefficients per domain of a projection this astrocyte modulates.
    pub(super) fn coef(&self, m: &Modulation, out: &mut Vec<[f32; 4]>) {
        out.clear();
        out.extend(self.a.iter().map(|&a| m.coef(a, self.gain)));
    }
}
