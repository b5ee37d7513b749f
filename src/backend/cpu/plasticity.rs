//! The plasticity phase on the CPU (the reference a GPU shader must match): per-neuron
//! traces and per-instance weights of plastic projections, updated in the order
//! [`crate::plasticity::stdp`] documents.
use crate::build::{BuiltPlastic, BuiltProj};
use crate::equations::eval::StepEnv;
use crate::equations::synapse::{Csr, RuleArrays, RuleScratch, Side};
use crate::plasticity::astrocyte::{BuiltAstro, Modulation, astro_step};
use crate::plasticity::hlop::Hlop;
use crate::plasticity::kernel::{StdpConsts, Third, TraceSlot, apply, bump};

use super::pairs::{Pairs, SynPtr};
use super::team::Team;

/// Per-instance state of one plastic projection: what the rule's constants
/// declare (triplet traces, an eligibility for the reward hook, errors for the
/// delta hook, an HLOP learner where the rule has one).
#[derive(Clone)]
pub(super) struct PlasticState {
    /// The rule's constants as built (what state it has).
    k: StdpConsts,
    /// Current weight of each synapse (CSR order, weight units).
    pub(super) w: Vec<f32>,
    /// Presynaptic traces `[r1, r2]` (`r2` empty without triplet terms).
    pre: [Vec<f32>; 2],
    /// Postsynaptic traces `[o1, o2]`.
    post: [Vec<f32>; 2],
    /// Current coefficients `[c_pre2, c_pre3, c_post2, c_post3]`, per astrocyte
    /// domain (one entry without an astrocyte).
    pub(super) coef: Vec<[f32; 4]>,
    /// Reward-modulated STDP: eligibility per synapse.
    elig: Vec<f32>,
    /// Reward-modulated STDP: the modulator M.
    pub(super) modulator: f32,
    /// Delta rule: error per postsynaptic neuron.
    pub(super) error: Vec<f32>,
    /// Delta rule with HLOP: the lateral subspace.
    pub(super) hlop: Option<Hlop>,
    /// Scratch: projected presynaptic traces.
    xbuf: Vec<f32>,
    /// Scratch: `lr · error` per postsynaptic neuron.
    gbuf: Vec<f32>,
    /// Every row targets `0..n_post` in order (all-to-all): the delta rule's
    /// row update is then a vectorised loop.
    dense: bool,
    /// A user-written rule's variables.
    user: Option<UserVars>,
}

/// The variables of a user-written rule: per presynaptic neuron, per
/// postsynaptic neuron, per synapse besides `w`.
#[derive(Clone)]
struct UserVars {
    model: std::sync::Arc<crate::equations::synapse::CompiledSynapse>,
    vars: [Vec<Vec<f32>>; 3],
    scratch: RuleScratch,
}

impl UserVars {
    fn new(pl: &BuiltPlastic, n_pre: usize, n_post: usize) -> Option<Self> {
        let u = pl.user.as_ref()?;
        let sizes = [n_pre, n_post, pl.w0.len()];
        Some(UserVars {
            model: u.model.clone(),
            vars: std::array::from_fn(|k| u.init[k].iter().map(|&v| vec![v; sizes[k]]).collect()),
            scratch: RuleScratch::default(),
        })
    }
}

impl PlasticState {
    /// `dense`: the projection's route is all-to-all in order (`Targets::Dense`).
    pub(super) fn new(pl: &BuiltPlastic, n_pre: usize, n_post: usize, dense: bool) -> Self {
        let second = |n: usize| {
            if pl.rule.triplet {
                vec![0.0; n]
            } else {
                vec![]
            }
        };
        PlasticState {
            k: pl.rule,
            w: pl.w0.clone(),
            pre: [vec![0.0; n_pre], second(n_pre)],
            post: [vec![0.0; n_post], second(n_post)],
            coef: vec![pl.rule.coef],
            elig: match pl.rule.third {
                Third::Reward { .. } => vec![0.0; pl.w0.len()],
                _ => vec![],
            },
            modulator: 0.0,
            error: match pl.rule.third {
                Third::Delta { .. } => vec![0.0; n_post],
                _ if pl.user.is_some() => vec![0.0; n_post],
                _ => vec![],
            },
            hlop: pl
                .hlop
                .as_ref()
                .map(|p| Hlop::new(n_pre, p.clone()).expect("validated parameters")),
            xbuf: vec![],
            gbuf: vec![],
            dense,
            user: UserVars::new(pl, n_pre, n_post),
        }
    }

    /// Zero traces, eligibility, modulator and error; the rule's own coefficients
    /// (an astrocyte re-applies its own after a reset). Weights and HLOP stay.
    pub(super) fn reset(&mut self, pl: &BuiltPlastic) {
        for t in self.pre.iter_mut().chain(self.post.iter_mut()) {
            t.fill(0.0);
        }
        self.elig.fill(0.0);
        self.error.fill(0.0);
        self.modulator = 0.0;
        self.coef = vec![pl.rule.coef];
        if let Some(u) = &mut self.user {
            let (n_pre, n_post) = (self.pre[0].len(), self.post[0].len());
            *u = UserVars::new(pl, n_pre, n_post).expect("a user rule");
        }
    }

    /// The trace `var` (`r1`, `r2`, `o1`, `o2`, `elig`), when the rule declares
    /// it ([`StdpConsts::slot`]).
    /// A user rule's variables are readable by name.
    pub(super) fn trace(&self, var: &str) -> Option<&[f32]> {
        if let Some(u) = &self.user {
            for (k, side) in [Side::Pre, Side::Post, Side::Synapse]
                .into_iter()
                .enumerate()
            {
                let names = u.model.vars(side);
                // Synapse names start with `w`, which is not among the arrays.
                let skip = usize::from(side == Side::Synapse);
                if let Some(i) = names.iter().skip(skip).position(|n| n == var) {
                    return Some(&u.vars[k][i]);
                }
            }
            return None;
        }
        Some(match self.k.slot(var)? {
            TraceSlot::Pre(i) => &self.pre[i],
            TraceSlot::Post(i) => &self.post[i],
            TraceSlot::Elig => &self.elig,
        })
    }

    /// One step of the rule given the step's presynaptic and postsynaptic spikes
    /// (local ids, ascending).
    pub(super) fn step(
        &mut self,
        pr: &BuiltProj,
        pl: &BuiltPlastic,
        pre: &[u32],
        post: &[u32],
        env: &StepEnv,
    ) {
        if let (Some(u), Some(b)) = (&mut self.user, &pl.user) {
            let [vpre, vpost, vsyn] = &mut u.vars;
            let mut arrays = RuleArrays {
                pre: vpre,
                post: vpost,
                w: &mut self.w,
                syn: vsyn,
                error: &self.error,
                modulator: self.modulator,
            };
            let csr = Csr {
                row_ptr: &pr.row_ptr,
                targets: &pr.targets,
                col_ptr: &pl.col_ptr,
                col_syn: &pl.col_syn,
                col_pre: &pl.col_pre,
            };
            b.model
                .step(&mut arrays, &csr, &b.cols, pre, post, env, &mut u.scratch);
            return;
        }
        if let Third::Delta { lr } = pl.rule.third {
            return self.delta_step(pr, pl, pre, lr);
        }
        self.decay(pl);
        if !pre.is_empty() || !post.is_empty() {
            let n_post = self.post[0].len();
            let (pairs, target) = self.pairs(pr, pl, pre, post);
            // SAFETY: `target` is this rule's weights or eligibility, which
            // nothing else touches while the whole range is updated.
            unsafe { pairs.update(target, 0..n_post) };
        }
        self.finish(pl, pre, post);
    }

    /// Whether a step of this rule splits by postsynaptic part ([`Pairs`]):
    /// two-factor and reward-modulated STDP do, the delta rule and user rules
    /// stay whole.
    pub(super) fn splits(&self, pl: &BuiltPlastic) -> bool {
        self.user.is_none() && !matches!(pl.rule.third, Third::Delta { .. })
    }

    /// A step's first part: every trace (and eligibility) decays.
    pub(super) fn decay(&mut self, pl: &BuiltPlastic) {
        let k = &pl.rule;
        if let Third::Reward { decay: d, .. } = k.third {
            decay(&mut self.elig, d);
        }
        decay(&mut self.pre[0], k.decay_pre[0]);
        decay(&mut self.post[0], k.decay_post[0]);
        if k.triplet {
            decay(&mut self.pre[1], k.decay_pre[1]);
            decay(&mut self.post[1], k.decay_post[1]);
        }
    }

    /// A step's second part, the pair updates, as a job any part of the
    /// postsynaptic neurons can run, and where it writes.
    pub(super) fn pairs<'a>(
        &'a mut self,
        pr: &'a BuiltProj,
        pl: &'a BuiltPlastic,
        pre: &'a [u32],
        post: &'a [u32],
    ) -> (Pairs<'a>, SynPtr) {
        let reward = matches!(pl.rule.third, Third::Reward { .. });
        let target = if reward { &mut self.elig } else { &mut self.w };
        let target = SynPtr(target.as_mut_ptr(), target.len());
        let pairs = Pairs {
            pr,
            pl,
            pre,
            post,
            r1: &self.pre[0],
            r2: &self.pre[1],
            o1: &self.post[0],
            o2: &self.post[1],
            coef: &self.coef,
        };
        (pairs, target)
    }

    /// A step's last part: the spiking neurons' traces are bumped, and a reward
    /// moves the weights along the eligibility.
    pub(super) fn finish(&mut self, pl: &BuiltPlastic, pre: &[u32], post: &[u32]) {
        let k = &pl.rule;
        let [r1, r2] = &mut self.pre;
        for &j in pre {
            let j = j as usize;
            r1[j] = bump(k.nearest, r1[j]);
            if k.triplet {
                r2[j] = bump(k.nearest, r2[j]);
            }
        }
        let [o1, o2] = &mut self.post;
        for &i in post {
            let i = i as usize;
            o1[i] = bump(k.nearest, o1[i]);
            if k.triplet {
                o2[i] = bump(k.nearest, o2[i]);
            }
        }
        if let Third::Reward { lr, .. } = k.third {
            if self.modulator != 0.0 {
                let g = lr * self.modulator;
                for (ws, &e) in self.w.iter_mut().zip(&self.elig) {
                    *ws = apply(k, *ws, g * e);
                }
            }
        }
    }

    /// The delta rule: bump the presynaptic traces, then, while any error is
    /// nonzero, `w_ij += (lr · error_i) · x_j` with `x` projected off the frozen
    /// HLOP subspace when there is one.
    fn delta_step(&mut self, pr: &BuiltProj, pl: &BuiltPlastic, pre: &[u32], lr: f32) {
        let k = &pl.rule;
        let r1 = &mut self.pre[0];
        decay(r1, k.decay_pre[0]);
        for &j in pre {
            r1[j as usize] = bump(k.nearest, r1[j as usize]);
        }
        if self.error.iter().all(|&e| e == 0.0) {
            return;
        }
        let x: &[f32] = match &self.hlop {
            Some(h) if h.frozen_rows() > 0 => {
                self.xbuf.resize(r1.len(), 0.0);
                h.project(r1, &mut self.xbuf)
                    .expect("trace length is n_pre");
                &self.xbuf
            }
            _ => r1,
        };
        self.gbuf.clear();
        self.gbuf.extend(self.error.iter().map(|&e| lr * e));
        let g = &self.gbuf[..];
        for (j, &xj) in x.iter().enumerate() {
            let row = pr.row_ptr[j] as usize..pr.row_ptr[j + 1] as usize;
            if self.dense {
                delta_row(k, &mut self.w[row], g, xj);
            } else {
                for (ws, &t) in self.w[row.clone()].iter_mut().zip(&pr.targets[row]) {
                    *ws = apply(k, *ws, g[t as usize] * xj);
                }
            }
        }
    }
}

crate::neuron::simd_dispatch! {
    /// `w_t = apply(w_t, g_t · x)` over an all-to-all row.
    fn delta_row(k: &StdpConsts, w: &mut [f32], g: &[f32], x: f32) -> () => delta_row_body
}

#[inline(always)]
fn delta_row_body(k: &StdpConsts, w: &mut [f32], g: &[f32], x: f32) {
    assert_eq!(w.len(), g.len());
    if k.multiplicative {
        w.iter_mut()
            .zip(g)
            .for_each(|(w, &g)| *w = apply(k, *w, g * x));
    } else {
        // `apply` without the weight dependence, so the loop has no branch.
        let (lo, hi) = (k.w_min, k.w_max);
        w.iter_mut()
            .zip(g)
            .for_each(|(w, &g)| *w = (*w + g * x).clamp(lo, hi));
    }
}

fn decay(x: &mut [f32], d: f32) {
    x.iter_mut().for_each(|x| *x *= d);
}

/// The fixed-point ring contribution of weight `w` at scale `scale` (as the shader:
/// round half to even, then convert).
#[inline(always)]
pub(super) fn to_fixed(w: f32, scale: f32) -> i32 {
    round_even(w * scale) as i32
}

/// `x.round_ties_even()`, bit for bit, without libm (without SSE4.1 that is a call
/// to `rintf` per synaptic event, which cost more than the event itself) and
/// without a branch, so loops over it vectorise. Below 2^23 in magnitude, adding
/// and subtracting 1.5·2^52 in f64 rounds to an integer in the default rounding
/// mode (to nearest, ties to even); from 2^23 up every f32 is an integer (or not
/// finite) already. `copysign` keeps -0.
#[inline(always)]
pub(super) fn round_even(x: f32) -> f32 {
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let r = ((f64::from(x) + MAGIC) - MAGIC) as f32;
    if x.abs() < 8_388_608.0 {
        r.copysign(x)
    } else {
        x
    }
}

/// Per-instance state of one astrocyte (all its domains).
#[derive(Clone)]
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

/// Sets the coefficients of every projection astrocyte `b` modulates from its
/// current state.
pub(super) fn apply_modulation(
    st: &AstroState,
    b: &BuiltAstro,
    projs: &[BuiltProj],
    plastic: &mut [Option<PlasticState>],
) {
    for &k in &b.modulates {
        let m = projs[k]
            .plastic
            .as_ref()
            .and_then(|p| p.modulation.as_ref());
        if let (Some(ps), Some(m)) = (&mut plastic[k], m) {
            st.coef(m, &mut ps.coef);
        }
    }
}

impl super::instance::Instance {
    /// Phase 4: every plastic projection's rule over this step's spikes; with a
    /// team, the pair updates of the rules that split run by target part.
    pub(super) fn plasticity(&mut self, team: Option<&Team>) {
        let step = self.slot_step.unwrap_or(0);
        let dt = self.net.dt_ms as f32;
        let env = StepEnv {
            t: step as f32 * dt,
            dt,
            step,
            rng: None,
        };
        let split = self.partition.as_ref().zip(team);
        let splits = |k: usize, ps: &PlasticState, pl: &BuiltPlastic| {
            split.is_some_and(|(p, _)| p.splits_pairs(k)) && ps.splits(pl)
        };
        // The rules that split decay here, run their pair updates on the
        // team, and finish below; the others take their whole step here.
        let projs = &self.net.projs;
        let spikes = &self.step_spikes;
        let mut jobs: Vec<(usize, Pairs, SynPtr)> = vec![];
        for (k, ps) in self.plastic.iter_mut().enumerate() {
            let (Some(ps), Some(pl)) = (ps.as_mut(), projs[k].plastic.as_ref()) else {
                continue;
            };
            let pr = &projs[k];
            let (pre, post) = (&spikes[pr.pre][..], &spikes[pr.post][..]);
            if !splits(k, ps, pl) {
                ps.step(pr, pl, pre, post, &env);
                continue;
            }
            ps.decay(pl);
            if !pre.is_empty() || !post.is_empty() {
                let (pairs, w) = ps.pairs(pr, pl, pre, post);
                jobs.push((pr.post, pairs, w));
            }
        }
        if let (Some((partition, team)), false) = (split, jobs.is_empty()) {
            team.run(&|part| {
                for (pop, pairs, w) in &jobs {
                    let targets = partition.range(*pop, part);
                    if !targets.is_empty() {
                        // SAFETY: `w` is the projection's own array, and the
                        // parts' target ranges are disjoint.
                        unsafe { pairs.update(*w, targets) };
                    }
                }
            });
        }
        drop(jobs);
        if split.is_some() {
            for (k, pr) in projs.iter().enumerate() {
                if let (Some(ps), Some(pl)) = (&mut self.plastic[k], &pr.plastic) {
                    if splits(k, ps, pl) {
                        ps.finish(pl, &spikes[pr.pre], &spikes[pr.post]);
                    }
                }
            }
        }
        // Astrocytes integrate this step's spikes; the rates they set act next step.
        for (st, b) in self.astros.iter_mut().zip(self.net.astros.iter()) {
            st.step(b, &self.step_spikes);
            apply_modulation(st, b, &self.net.projs, &mut self.plastic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{round_even, to_fixed};

    #[test]
    fn round_even_matches_round_ties_even_bit_for_bit() {
        let mut xs = vec![
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.49999997,
            4_194_303.5,
            4_194_304.5,
            8_388_607.5,
            8_388_609.0,
            1e30,
            -1e30,
            f32::MAX,
            f32::MIN_POSITIVE,
            1e-40,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        // Every half-integer and its neighbours up to 2^12, and a sweep of bit patterns.
        for i in -8192..8192 {
            let h = i as f32 * 0.5;
            xs.extend([
                h,
                f32::from_bits(h.to_bits() + 1),
                f32::from_bits(h.to_bits() - 1),
            ]);
        }
        xs.extend((0..200_000u32).map(|k| f32::from_bits(k.wrapping_mul(2_654_435_761))));
        for x in xs {
            let (a, b) = (round_even(x), x.round_ties_even());
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{x}: {a} vs {b}"
            );
            assert_eq!(to_fixed(x, 1.0), x.round_ties_even() as i32, "{x}");
        }
    }
}
