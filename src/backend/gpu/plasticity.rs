//! Plasticity on the GPU (the CPU's src/backend/cpu/plasticity.rs): per-instance
//! weights, traces and coefficients of the plastic projections, delivery through
//! the current weights (propagate.wgsl `plastic`), the four phases of
//! shaders/plasticity.wgsl after propagation, the three-factor updates of
//! shaders/three_factor.wgsl and the astrocytes of shaders/astrocyte.wgsl.
//!
//! Every array is instance-major: instance b's weights start at b × `w_stride`
//! (projections one after the other, synapses in CSR order), its traces at
//! b × `t_stride` (per projection r1, [r2], o1, [o2], then the eligibility of a
//! reward-modulated rule or the errors of a delta rule), its coefficients at
//! b × `coef_stride` (per projection one `[c_pre2, c_pre3, c_post2, c_post3]`, or
//! one per astrocyte domain when an astrocyte modulates it). The phases read the
//! step's spikes from the record through the indirect dispatch `args` built for
//! propagation, so many steps still go in one submission.
//!
//! Third factors change only between runs: [`GpuPlasticity::third_factor`] writes
//! the modulator, the errors and the frozen HLOP rows to the device, and keeps on
//! the host, per (instance, projection), whether the rule updates weights, so a
//! submission encodes the three-factor dispatches only when some rule does. HLOP
//! learning itself (a per-sample operation on activity the caller supplies) runs
//! on the host's [`Hlop`]; it changes only trainable rows, which the projection
//! does not use, so only a new task ([`ThirdFactor::HlopTask`], which freezes rows)
//! uploads rows.
//!
//! [`ThirdFactor::HlopTask`]: crate::backend::ThirdFactor::HlopTask
use super::*;
use crate::backend::ThirdFactor;
use crate::equations::synapse::Side;
use crate::equations::wgsl::{SynapseLayout, synapse_shader};
use crate::plasticity::hlop::Hlop;
use crate::plasticity::kernel::{StdpConsts, Third, TraceSlot};

/// Where one plastic projection's state lies in an instance's blocks.
struct Slot {
    proj: usize,
    /// The rule's constants (what state it declares).
    rule: StdpConsts,
    w_at: u32,
    n_syn: u32,
    r_at: u32,
    o_at: u32,
    n_pre: u32,
    n_post: u32,
    /// Eligibility (reward) or errors (delta) in the trace block.
    e_at: u32,
    err_at: u32,
    t_end: u32,
    /// First coefficient set and how many (astrocyte domains, or 1).
    coef_at: u32,
    n_coef: u32,
    hlop: bool,
    /// A user rule's modulator, in the trace block after its errors.
    m_at: u32,
    /// A user rule's programs.
    user: Option<std::sync::Arc<crate::equations::synapse::CompiledSynapse>>,
}

/// Where the plastic projections' weights and traces lie in an instance's blocks.
pub(super) struct Layout {
    slots: Vec<Slot>,
    w_stride: u32,
    t_stride: u32,
    coef_stride: u32,
}

impl Layout {
    /// The layout of `net`'s plastic projections, checked to be indexable with u32
    /// over `batch` instances.
    pub fn new(net: &Built, batch: u64) -> crate::Result<Self> {
        let (mut w, mut t, mut c) = (0u64, 0u64, 0u64);
        let mut slots = vec![];
        for (proj, pr) in net.projs.iter().enumerate() {
            let Some(pl) = &pr.plastic else { continue };
            let (n_pre, n_post) = (net.pops[pr.pre].size, net.pops[pr.post].size);
            let n_syn = pr.len() as u64;
            let per = if pl.rule.triplet { 2 } else { 1 };
            let r_at = t;
            let (mut e_at, mut err_at, mut m_at) = (0, 0, 0);
            let user = pl.user.as_ref().map(|u| u.model.clone());
            // A user rule: its variables (variable-major), errors, modulator.
            let o_at = match &user {
                Some(m) => {
                    let nv = |s| m.vars(s).len() as u64;
                    let o_at = r_at + nv(Side::Pre) * u64::from(n_pre);
                    e_at = o_at + nv(Side::Post) * u64::from(n_post);
                    err_at = e_at + (nv(Side::Synapse) - 1) * n_syn;
                    m_at = err_at + u64::from(n_post);
                    t = m_at + 1;
                    o_at
                }
                None => {
                    let o_at = r_at + per * u64::from(n_pre);
                    t = o_at + per * u64::from(n_post);
                    o_at
                }
            };
            match pl.rule.third {
                _ if user.is_some() => {}
                Third::Reward { .. } => {
                    e_at = t;
                    t += n_syn;
                }
                Third::Delta { .. } => {
                    err_at = t;
                    t += u64::from(n_post);
                }
                Third::None => {}
            }
            let n_coef = pl
                .modulation
                .as_ref()
                .map_or(1, |m| net.astros[m.astro].n_domains as u64);
            slots.push(Slot {
                proj,
                rule: pl.rule,
                w_at: w as u32,
                n_syn: n_syn as u32,
                r_at: r_at as u32,
                o_at: o_at as u32,
                n_pre,
                n_post,
                e_at: e_at as u32,
                err_at: err_at as u32,
                t_end: t as u32,
                coef_at: c as u32,
                n_coef: n_coef as u32,
                hlop: pl.hlop.is_some(),
                m_at: m_at as u32,
                user,
            });
            w += n_syn;
            c += n_coef;
            if (w.max(t).max(c) + 1) * batch > u64::from(u32::MAX) {
                return Err(gpu_err(
                    "plastic weights, traces or coefficients of the batch exceed 2^32 entries",
                ));
            }
        }
        Ok(Layout {
            slots,
            w_stride: w as u32,
            t_stride: t as u32,
            coef_stride: c as u32,
        })
    }

    /// Plastic weights per instance.
    pub fn w_stride(&self) -> u32 {
        self.w_stride
    }

    /// First weight of projection `proj` in an instance's block, when plastic.
    pub fn w_at(&self, proj: usize) -> Option<u32> {
        self.slot(proj).map(|s| s.w_at)
    }

    fn slot(&self, proj: usize) -> Option<&Slot> {
        self.slots.iter().find(|s| s.proj == proj)
    }

    fn slot_index(&self, proj: usize) -> Option<usize> {
        self.slots.iter().position(|s| s.proj == proj)
    }
}

/// Propagation's buffers the plasticity pipelines bind too.
pub(super) struct Shared<'a> {
    pub ctl: &'a wgpu::Buffer,
    pub rec: &'a wgpu::Buffer,
    pub tab: &'a wgpu::Buffer,
    pub row_ptr: &'a wgpu::Buffer,
    pub targets: &'a wgpu::Buffer,
    pub delays: &'a wgpu::Buffer,
    pub ring: &'a wgpu::Buffer,
}

/// Bind group layout of plasticity.wgsl: Plastic, ctl, rec, rules, idx, targets,
/// weights, traces, coef. Eight storage buffers, WebGPU's default per-stage limit:
/// the row pointers (n_pre + 1 words per projection) are copied into `idx` rather
/// than bound from propagation.
const RULE_LAYOUT: &[B] = &[B::U, B::R, B::R, B::R, B::R, B::R, B::W, B::W, B::R];
/// Bind group layout of three_factor.wgsl: Plastic, rules, idx, targets, weights,
/// traces, third, hlop.
const THREE_LAYOUT: &[B] = &[B::U, B::R, B::R, B::R, B::W, B::R, B::R, B::W];
/// Bind group layout of astrocyte.wgsl: Astros, ctl, rec, astros, aidx, state,
/// counts, coef.
const ASTRO_LAYOUT: &[B] = &[B::U, B::R, B::R, B::R, B::R, B::W, B::W, B::W];
/// Bind group layout of propagate.wgsl (`main` and `plastic`).
pub(super) const PROPAGATE_LAYOUT: &[B] = &[B::W, B::R, B::R, B::R, B::R, B::R, B::R, B::W];

/// Where the HLOP rows and scratch lie in an instance's HLOP block: every HLOP
/// rule's drives y [k_cap], then every one's projected trace [n_pre], then every
/// one's frozen rows [k_cap × n_pre].
#[derive(Default)]
struct HlopLayout {
    /// Per slot: rows of room (0 without HLOP).
    k_cap: Vec<u32>,
    /// Per slot: y, x and H offsets.
    at: Vec<[u32; 3]>,
    /// Entries of the y regions (where the x regions start).
    x_base: u32,
    /// Entries of the x regions.
    x_len: u32,
    /// Entries of one instance's block.
    stride: u32,
}

impl HlopLayout {
    fn new(slots: &[Slot], k_cap: Vec<u32>, batch: u32) -> crate::Result<Self> {
        let hl = |s: &Slot| s.hlop;
        let y: u64 = k_cap.iter().map(|&k| u64::from(k)).sum();
        let x: u64 = slots
            .iter()
            .filter(|s| hl(s))
            .map(|s| u64::from(s.n_pre))
            .sum();
        let (mut ya, mut xa, mut ha) = (0u64, y, y + x);
        let mut at = vec![];
        for (s, &k) in slots.iter().zip(&k_cap) {
            at.push([ya as u32, xa as u32, ha as u32]);
            if hl(s) {
                ya += u64::from(k);
                xa += u64::from(s.n_pre);
                ha += u64::from(k) * u64::from(s.n_pre);
            }
        }
        if (ha + 1) * u64::from(batch) > u64::from(u32::MAX) {
            return Err(gpu_err("HLOP rows of the batch exceed 2^32 entries"));
        }
        Ok(HlopLayout {
            k_cap,
            at,
            x_base: y as u32,
            x_len: x as u32,
            stride: ha as u32,
        })
    }
}

/// The astrocytes on the device.
struct GpuAstro {
    /// Per astrocyte: first entry of its A in an instance's state block, and its
    /// domains (its gains follow its A).
    at: Vec<(u32, u32)>,
    state_stride: u32,
    /// Domains of all astrocytes (the `update` dispatch).
    domains: u32,
    state: wgpu::Buffer,
    /// One instance's state as built (for [`GpuPlasticity::reset`]).
    state0: Vec<f32>,
    counts: wgpu::Buffer,
    count_stride: u32,
    count: (Pipe, wgpu::BindGroup),
    update: (Pipe, wgpu::BindGroup),
}

/// The part of an instance's plasticity state kept on the host.
pub(super) struct HostState {
    third: Vec<[u32; 4]>,
    hlops: Vec<Option<Hlop>>,
}

/// The plastic projections and astrocytes on the device.
pub(super) struct GpuPlasticity {
    layout: Layout,
    batch: u32,
    weights: wgpu::Buffer,
    traces: wgpu::Buffer,
    /// One instance's coefficients as built (for [`GpuPlasticity::reset`]).
    coef0: Vec<[f32; 4]>,
    coef: wgpu::Buffer,
    rules: Vec<RuleParams>,
    rules_buf: wgpu::Buffer,
    prm: PlasticParams,
    prm_buf: wgpu::Buffer,
    idx: wgpu::Buffer,
    targets: wgpu::Buffer,
    /// Per instance and slot: [modulator bits, updates this step, frozen HLOP
    /// rows, 0] (three_factor.wgsl `third`), and its device copy.
    third: Vec<[u32; 4]>,
    third_buf: wgpu::Buffer,
    /// Per instance and slot: the HLOP learner, when the rule has one.
    hlops: Vec<Vec<Option<Hlop>>>,
    hlop_layout: HlopLayout,
    hlop_buf: wgpu::Buffer,
    deliver: Option<(Pipe, wgpu::BindGroup)>,
    /// decay, on_pre, on_post, bump_traces: the CPU's order.
    phases: Vec<(Pipe, wgpu::BindGroup)>,
    /// Per user rule: advance (and its invocations), on_pre, on_post, bump.
    user: Vec<(u32, [(Pipe, wgpu::BindGroup); 4])>,
    /// One instance's trace block as built (user rules' initial values).
    traces0: Vec<f32>,
    /// hlop_y, hlop_x, update (three_factor.wgsl), sharing one layout.
    three: Vec<Pipe>,
    three_group: wgpu::BindGroup,
    astro: Option<GpuAstro>,
}

impl GpuPlasticity {
    /// Uploads the state of every plastic projection and astrocyte (None without
    /// any).
    pub fn upload(
        load: &upload::Loader,
        layout: Layout,
        sh: Shared,
    ) -> crate::Result<Option<Self>> {
        let net = load.net;
        if layout.slots.is_empty() && net.astros.is_empty() {
            return Ok(None);
        }
        let batch = load.instances.len();
        let mut syn_at = Vec::with_capacity(net.projs.len());
        let mut at = 0u32;
        for pr in net.projs.iter() {
            syn_at.push(at);
            at += pr.len() as u32;
        }
        let (mut rules, mut idx, mut w0, mut coef0) = (vec![], vec![], vec![], vec![]);
        let mut user_at = vec![];
        let mut traces0 = vec![0.0f32; layout.t_stride as usize];
        for s in &layout.slots {
            let pr = &net.projs[s.proj];
            let pl = pr.plastic.as_ref().expect("plastic");
            let k = &pl.rule;
            let spiking = pl.hlop.as_ref().and_then(|h| h.spiking.as_ref());
            let (decay_e, lr) = match k.third {
                Third::Reward { decay, lr } => (decay, lr),
                Third::Delta { lr } => (1.0, lr),
                Third::None => (1.0, 0.0),
            };
            let flags = [
                (k.nearest, RULE_NEAREST),
                (k.multiplicative, RULE_MULTIPLICATIVE),
                (k.triplet, RULE_TRIPLET),
                (matches!(k.third, Third::Reward { .. }), RULE_REWARD),
                (matches!(k.third, Third::Delta { .. }), RULE_DELTA),
                (s.hlop, RULE_HLOP),
                (spiking.is_some(), RULE_SPIKING),
                (s.user.is_some(), RULE_USER),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .fold(0, |f, (_, bit)| f | bit);
            let row_at = idx.len() as u32;
            idx.extend_from_slice(&pr.row_ptr);
            let col_at = idx.len() as u32;
            idx.extend_from_slice(&pl.col_ptr);
            let ent_at = idx.len() as u32;
            idx.extend_from_slice(&pl.col_syn);
            idx.extend_from_slice(&pl.col_pre);
            let dom_at = match &pl.modulation {
                Some(m) => {
                    let at = idx.len() as u32;
                    idx.extend_from_slice(&m.domain_of_post);
                    at
                }
                None => u32::MAX,
            };
            if let (Some(m), Some(u)) = (&s.user, &pl.user) {
                let par_at = idx.len() as u32;
                idx.extend(u.cols.iter().map(|c| c.to_bits()));
                let src_at = idx.len() as u32;
                if m.clock_driven() {
                    for j in 0..s.n_pre as usize {
                        let len = (pr.row_ptr[j + 1] - pr.row_ptr[j]) as usize;
                        idx.extend(std::iter::repeat_n(j as u32, len));
                    }
                }
                user_at.push(SynapseLayout {
                    pre_gid0: net.pops[pr.pre].offset,
                    n_pre: s.n_pre,
                    post_gid0: net.pops[pr.post].offset,
                    n_post: s.n_post,
                    n_syn: s.n_syn,
                    w_at: s.w_at,
                    r_at: s.r_at,
                    o_at: s.o_at,
                    e_at: s.e_at,
                    err_at: s.err_at,
                    m_at: s.m_at,
                    syn_at: syn_at[s.proj],
                    row_at,
                    col_at,
                    ent_at,
                    par_at,
                    src_at,
                });
                // Initial values, variable-major.
                let mut at = s.r_at as usize;
                for (k, n) in [(0, s.n_pre), (1, s.n_post), (2, s.n_syn)] {
                    for &v in &u.init[k] {
                        traces0[at..at + n as usize].fill(v);
                        at += n as usize;
                    }
                }
            }
            rules.push(RuleParams {
                pre_gid0: net.pops[pr.pre].offset,
                n_pre: s.n_pre,
                post_gid0: net.pops[pr.post].offset,
                n_post: s.n_post,
                n_syn: s.n_syn,
                flags,
                w_at: s.w_at,
                r_at: s.r_at,
                o_at: s.o_at,
                syn_at: syn_at[s.proj],
                row_at,
                col_at,
                ent_at,
                decay_r1: k.decay_pre[0],
                decay_r2: k.decay_pre[1],
                decay_o1: k.decay_post[0],
                decay_o2: k.decay_post[1],
                w_min: k.w_min,
                w_max: k.w_max,
                inv_range: k.inv_range,
                e_at: s.e_at,
                err_at: s.err_at,
                t_end: s.t_end,
                coef_at: s.coef_at,
                dom_at,
                decay_e,
                lr,
                q_scale: spiking.map_or(1.0, |q| q.scale),
                q_levels: spiking.map_or(1.0, |q| q.levels as f32),
                ..Default::default()
            });
            w0.extend_from_slice(&pl.w0);
            // As the CPU starts: the rule's own coefficients, or those its
            // astrocyte sets from A(0) = a0 and gain 1 in every domain.
            match &pl.modulation {
                Some(m) => {
                    let a0 = net.astros[m.astro].consts.a0;
                    coef0.extend((0..s.n_coef).map(|_| m.coef(a0, 1.0)));
                }
                None => coef0.push(k.coef),
            }
        }
        if idx.len() as u64 >= u64::from(u32::MAX) {
            return Err(gpu_err("plasticity index exceeds 2^32 entries"));
        }
        let mut weights = Vec::with_capacity(w0.len() * batch);
        let mut coef = Vec::with_capacity(coef0.len() * batch);
        for _ in 0..batch {
            weights.extend_from_slice(&w0);
            coef.extend_from_slice(&coef0);
        }
        let ctx = load.ctx;
        let weights = storage(ctx, "plastic weights", bytemuck::cast_slice(&weights))?;
        let traces = if traces0.iter().all(|&v| v == 0.0) {
            storage_sized(
                ctx,
                "plasticity traces",
                u64::from(layout.t_stride) * batch as u64 * 4,
            )?
        } else {
            let all: Vec<f32> = (0..batch).flat_map(|_| traces0.iter().copied()).collect();
            storage(ctx, "plasticity traces", bytemuck::cast_slice(&all))?
        };
        if coef.is_empty() {
            // Astrocytes without plastic projections still bind the array, and a
            // binding holds at least one element.
            coef.push([0.0; 4]);
        }
        let coef = storage(ctx, "plasticity coefficients", bytemuck::cast_slice(&coef))?;
        let coef1 = coef0;
        let hlop_layout = HlopLayout::new(&layout.slots, vec![0; layout.slots.len()], 1)?;
        let hlop_buf = storage_sized(ctx, "HLOP rows", 4)?;
        // The rules' HLOP offsets are set by `relayout_hlop` when rows arrive.
        let rules_buf = storage(
            ctx,
            "plasticity rules",
            bytemuck::cast_slice(&with_hlop(&rules, &hlop_layout)),
        )?;
        let idx = storage(ctx, "plasticity index", bytemuck::cast_slice(&idx))?;
        let third = vec![[0u32; 4]; layout.slots.len() * batch];
        let third_buf = storage(ctx, "third factors", bytemuck::cast_slice(&third))?;
        let prm = PlasticParams {
            n_rules: rules.len() as u32,
            w_stride: layout.w_stride,
            t_stride: layout.t_stride,
            coef_stride: layout.coef_stride,
            h_stride: hlop_layout.stride,
            x_base: hlop_layout.x_base,
            _pad: [0; 2],
        };
        let prm_buf = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("plasticity"),
                contents: bytemuck::bytes_of(&prm),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            });

        let mut deliver = None;
        let mut phases = vec![];
        let mut user = vec![];
        let mut three = vec![];
        if !layout.slots.is_empty() {
            let p = load.pipe(
                "propagate plastic",
                PROPAGATE,
                "plastic",
                &[PROPAGATE_LAYOUT],
            )?;
            let group = bind(
                &ctx.device,
                "propagate plastic",
                &p.groups[0],
                &[
                    sh.ctl, sh.rec, sh.tab, sh.row_ptr, sh.targets, &weights, sh.delays, sh.ring,
                ],
            );
            deliver = Some((p, group));
            let bufs = [
                &prm_buf, sh.ctl, sh.rec, &rules_buf, &idx, sh.targets, &weights, &traces, &coef,
            ];
            for entry in ["decay", "on_pre", "on_post", "bump_traces"] {
                let name = format!("plasticity {entry}");
                let p = load.pipe(&name, PLASTICITY, entry, &[RULE_LAYOUT])?;
                let g = bind(&ctx.device, &name, &p.groups[0], &bufs);
                phases.push((p, g));
            }
            // Each user rule runs its generated shader over the same bindings.
            let users = layout.slots.iter().filter_map(|s| s.user.as_ref());
            for (m, at) in users.zip(&user_at) {
                let src = synapse_shader(m, at, net.dt_ms as f32);
                let mut pipes = vec![];
                for entry in ["advance", "on_pre", "on_post", "bump"] {
                    let name = format!("user rule '{}' {entry}", m.name);
                    let p = load.pipe(&name, &src, entry, &[RULE_LAYOUT])?;
                    let g = bind(&ctx.device, &name, &p.groups[0], &bufs);
                    pipes.push((p, g));
                }
                let mut threads = at.n_pre + at.n_post;
                if m.clock_driven() {
                    threads += at.n_syn;
                }
                let pipes: [(Pipe, wgpu::BindGroup); 4] = pipes
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("four entries"));
                user.push((threads, pipes));
            }
            // three_factor.wgsl runs the update hooks (Third) rules declare.
            if layout.slots.iter().any(|s| s.rule.third != Third::None) {
                for entry in ["hlop_y", "hlop_x", "update"] {
                    let name = format!("three-factor {entry}");
                    three.push(load.pipe(&name, THREE_FACTOR, entry, &[THREE_LAYOUT])?);
                }
            }
        }
        let hlops = (0..batch)
            .map(|_| {
                layout
                    .slots
                    .iter()
                    .map(|s| {
                        let pl = net.projs[s.proj].plastic.as_ref().expect("plastic");
                        pl.hlop.as_ref().map(|p| {
                            Hlop::new(s.n_pre as usize, p.clone()).expect("validated parameters")
                        })
                    })
                    .collect()
            })
            .collect();
        let astro = GpuAstro::upload(load, &layout, &sh, &coef)?;
        Ok(Some(GpuPlasticity {
            three_group: three_group(
                &ctx.device,
                three.first(),
                [
                    &prm_buf, &rules_buf, &idx, sh.targets, &weights, &traces, &third_buf,
                    &hlop_buf,
                ],
            ),
            layout,
            batch: batch as u32,
            weights,
            traces,
            coef0: coef1,
            coef,
            rules,
            rules_buf,
            prm,
            prm_buf,
            idx,
            targets: sh.targets.clone(),
            third,
            third_buf,
            hlops,
            hlop_layout,
            hlop_buf,
            deliver,
            phases,
            user,
            traces0,
            three,
            astro,
        }))
    }

    /// Delivery of the step's spikes through the plastic projections (after
    /// `main` of propagate.wgsl, with the same indirect dispatch).
    pub fn encode_delivery(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        step_group: &wgpu::BindGroup,
        off: &[u32],
        dispatch: &wgpu::Buffer,
    ) {
        if let Some((p, g)) = &self.deliver {
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, step_group, off);
            pass.set_bind_group(1, g, &[]);
            pass.dispatch_workgroups_indirect(dispatch, 0);
        }
    }

    /// The rule phases of the step: decay over every trace, the spike phases over
    /// the step's spikes (the indirect dispatch of propagation), the three-factor
    /// updates of the rules that update this step, then the astrocytes.
    pub fn encode_rules(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        step_group: &wgpu::BindGroup,
        off: &[u32],
        dispatch: &wgpu::Buffer,
    ) {
        let z = self.batch;
        let set = |pass: &mut wgpu::ComputePass<'_>, p: &Pipe, g: &wgpu::BindGroup| {
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, step_group, off);
            pass.set_bind_group(1, g, &[]);
        };
        for (k, (p, g)) in self.phases.iter().enumerate() {
            set(pass, p, g);
            if k == 0 {
                let (x, y) = grid(self.layout.t_stride);
                pass.dispatch_workgroups(x, y, z);
            } else {
                pass.dispatch_workgroups_indirect(dispatch, 0);
            }
        }
        for (threads, pipes) in &self.user {
            for (k, (p, g)) in pipes.iter().enumerate() {
                set(pass, p, g);
                if k == 0 {
                    let (x, y) = grid(*threads);
                    pass.dispatch_workgroups(x, y, z);
                } else {
                    pass.dispatch_workgroups_indirect(dispatch, 0);
                }
            }
        }
        let n = self.layout.slots.len();
        let active = |s: usize| (0..z as usize).any(|b| self.third[b * n + s][1] != 0);
        let hlop = (0..n).any(|s| {
            self.layout.slots[s].hlop
                && (0..z as usize).any(|b| {
                    let t = self.third[b * n + s];
                    t[1] != 0 && t[2] != 0
                })
        });
        let sizes = [
            (hlop, self.hlop_layout.x_base),
            (hlop, self.hlop_layout.x_len),
            ((0..n).any(active), self.layout.w_stride),
        ];
        for (p, (on, threads)) in self.three.iter().zip(sizes) {
            if on && threads > 0 {
                set(pass, p, &self.three_group);
                let (x, y) = grid(threads);
                pass.dispatch_workgroups(x, y, z);
            }
        }
        if let Some(a) = &self.astro {
            let (p, g) = &a.count;
            set(pass, p, g);
            pass.dispatch_workgroups_indirect(dispatch, 0);
            let (p, g) = &a.update;
            set(pass, p, g);
            let (x, y) = grid(a.domains);
            pass.dispatch_workgroups(x, y, z);
        }
    }

    /// The weights of plastic projection `proj` in `instance` (None if static).
    pub fn read_weights(
        &self,
        ctx: &GpuContext,
        instance: usize,
        proj: usize,
    ) -> Option<crate::Result<Vec<f32>>> {
        let s = self.layout.slot(proj)?;
        let at = u64::from(self.layout.w_stride) * instance as u64 + u64::from(s.w_at);
        Some(read_f32(ctx, &self.weights, at, s.n_syn))
    }

    /// Overwrites the weights of plastic projection `proj` in `instance` (`w`
    /// already checked and clipped by [`super::super::clipped_weights`]).
    pub fn write_weights(&self, ctx: &GpuContext, instance: usize, proj: usize, w: &[f32]) {
        let Some(s) = self.layout.slot(proj) else {
            return;
        };
        if w.is_empty() {
            return;
        }
        let at = u64::from(self.layout.w_stride) * instance as u64 + u64::from(s.w_at);
        ctx.queue
            .write_buffer(&self.weights, at * 4, bytemuck::cast_slice(w));
    }

    /// Trace `var` (`r1`, `r2`, `o1`, `o2`, `elig`) of plastic projection `proj`
    /// in `instance`; None if the projection is static or its rule declares no
    /// such trace ([`StdpConsts::slot`]).
    pub fn read_trace(
        &self,
        ctx: &GpuContext,
        instance: usize,
        proj: usize,
        var: &str,
    ) -> Option<crate::Result<Vec<f32>>> {
        let s = self.layout.slot(proj)?;
        if let Some(m) = &s.user {
            let find = |side| m.vars(side).iter().position(|v| v == var);
            let (at, n) = if let Some(k) = find(Side::Pre) {
                (s.r_at + k as u32 * s.n_pre, s.n_pre)
            } else if let Some(k) = find(Side::Post) {
                (s.o_at + k as u32 * s.n_post, s.n_post)
            } else {
                match find(Side::Synapse) {
                    Some(k) if k > 0 => (s.e_at + (k as u32 - 1) * s.n_syn, s.n_syn),
                    _ => return None,
                }
            };
            let at = u64::from(self.layout.t_stride) * instance as u64 + u64::from(at);
            return Some(read_f32(ctx, &self.traces, at, n));
        }
        let (at, n) = match s.rule.slot(var)? {
            TraceSlot::Pre(i) => (s.r_at + i as u32 * s.n_pre, s.n_pre),
            TraceSlot::Post(i) => (s.o_at + i as u32 * s.n_post, s.n_post),
            TraceSlot::Elig => (s.e_at, s.n_syn),
        };
        let at = u64::from(self.layout.t_stride) * instance as u64 + u64::from(at);
        Some(read_f32(ctx, &self.traces, at, n))
    }

    /// A copy of the host-side HLOP learner of projection `proj` in `instance`
    /// (None if it has none).
    pub fn hlop(&self, instance: usize, proj: usize) -> Option<Hlop> {
        let k = self.layout.slot_index(proj)?;
        self.hlops.get(instance)?.get(k)?.clone()
    }

    /// The depression rate A of every domain of astrocyte `astro` in `instance`
    /// (None without such an astrocyte).
    pub fn read_astrocyte(
        &self,
        ctx: &GpuContext,
        instance: usize,
        astro: usize,
    ) -> Option<crate::Result<Vec<f32>>> {
        let a = self.astro.as_ref()?;
        let &(at, n) = a.at.get(astro)?;
        let at = u64::from(a.state_stride) * instance as u64 + u64::from(at);
        Some(read_f32(ctx, &a.state, at, n))
    }

    /// The number of astrocytes.
    pub fn n_astrocytes(&self) -> usize {
        self.astro.as_ref().map_or(0, |a| a.at.len())
    }

    /// Applies a third-factor command (already checked by
    /// [`crate::backend::check_third_factor`]) to plastic projection `proj` of
    /// `instance`: what the next runs read is written to the device now.
    pub fn third_factor(
        &mut self,
        ctx: &GpuContext,
        instance: usize,
        proj: usize,
        cmd: ThirdFactor<'_>,
    ) -> crate::Result<()> {
        let k = self.layout.slot_index(proj).expect("checked: plastic");
        let n = self.layout.slots.len();
        let t = instance * n + k;
        let s = &self.layout.slots[k];
        if s.user.is_some() {
            // A user rule reads its modulator and errors from its trace block.
            let base = u64::from(self.layout.t_stride) * instance as u64;
            let (at, data) = match cmd {
                ThirdFactor::Modulator(m) => (s.m_at, vec![m]),
                ThirdFactor::Error(e) => (s.err_at, e.to_vec()),
                _ => return Ok(()),
            };
            if !data.is_empty() {
                ctx.queue.write_buffer(
                    &self.traces,
                    (base + u64::from(at)) * 4,
                    bytemuck::cast_slice(&data),
                );
            }
            return Ok(());
        }
        match cmd {
            ThirdFactor::Modulator(m) => {
                self.third[t][0] = m.to_bits();
                self.third[t][1] = u32::from(m != 0.0);
            }
            ThirdFactor::Error(e) => {
                let s = &self.layout.slots[k];
                let at = u64::from(self.layout.t_stride) * instance as u64 + u64::from(s.err_at);
                if !e.is_empty() {
                    ctx.queue
                        .write_buffer(&self.traces, at * 4, bytemuck::cast_slice(e));
                }
                // The CPU skips the update while every error is zero.
                self.third[t][1] = u32::from(e.iter().any(|&x| x != 0.0));
            }
            ThirdFactor::HlopLearn { x, batch } => {
                // Only trainable rows change: nothing the device uses.
                let h = self.hlops[instance][k].as_mut().expect("checked: hlop");
                return h.hebbian_update(x, batch);
            }
            ThirdFactor::HlopTask { k: rows, seed } => {
                let h = self.hlops[instance][k].as_mut().expect("checked: hlop");
                h.freeze();
                let grown = h.grow(rows, seed);
                let frozen = h.frozen_rows() as u32;
                self.third[t][2] = frozen;
                if frozen > self.hlop_layout.k_cap[k] {
                    self.relayout_hlop(ctx)?;
                } else {
                    self.write_rows(ctx, instance, k);
                }
                self.write_third(ctx, t);
                return grown;
            }
        }
        self.write_third(ctx, t);
        Ok(())
    }

    /// Back to the state as built in `instance`: zero traces, eligibility, errors
    /// and modulators, the coefficients and astrocyte states as uploaded. Weights
    /// and frozen HLOP rows stay.
    pub fn reset(&mut self, ctx: &GpuContext, instance: usize) {
        let b = instance as u64;
        let zero = |buf: &wgpu::Buffer, stride: u32| {
            if stride > 0 {
                ctx.queue.write_buffer(
                    buf,
                    b * u64::from(stride) * 4,
                    &vec![0u8; stride as usize * 4],
                );
            }
        };
        if self.layout.t_stride > 0 {
            ctx.queue.write_buffer(
                &self.traces,
                b * u64::from(self.layout.t_stride) * 4,
                bytemuck::cast_slice(&self.traces0),
            );
        }
        let n = self.layout.slots.len();
        for t in instance * n..(instance + 1) * n {
            self.third[t][0] = 0;
            self.third[t][1] = 0;
            self.write_third(ctx, t);
        }
        if !self.coef0.is_empty() {
            ctx.queue.write_buffer(
                &self.coef,
                b * u64::from(self.layout.coef_stride) * 16,
                bytemuck::cast_slice(&self.coef0),
            );
        }
        if let Some(a) = &self.astro {
            if !a.state0.is_empty() {
                ctx.queue.write_buffer(
                    &a.state,
                    b * u64::from(a.state_stride) * 4,
                    bytemuck::cast_slice(&a.state0),
                );
            }
            zero(&a.counts, a.count_stride);
        }
    }

    /// The regions of the device buffers holding `instance`'s weights,
    /// traces, coefficients and astrocyte states: (buffer, byte offset, bytes).
    pub fn state_regions<'a>(
        &'a self,
        instance: usize,
        out: &mut Vec<(&'a wgpu::Buffer, u64, u64)>,
    ) {
        let b = instance as u64;
        let mut push = |buf, bytes: u64| out.push((buf, b * bytes, bytes));
        push(&self.weights, u64::from(self.layout.w_stride) * 4);
        push(&self.traces, u64::from(self.layout.t_stride) * 4);
        push(&self.coef, u64::from(self.layout.coef_stride) * 16);
        if let Some(a) = &self.astro {
            push(&a.state, u64::from(a.state_stride) * 4);
            push(&a.counts, u64::from(a.count_stride) * 4);
        }
    }

    /// `instance`'s third factors and HLOP learners (kept on the host).
    pub fn host_state(&self, instance: usize) -> HostState {
        let n = self.layout.slots.len();
        HostState {
            third: self.third[instance * n..(instance + 1) * n].to_vec(),
            hlops: self.hlops[instance].clone(),
        }
    }

    /// Puts a [`Self::host_state`] into `instance` and onto the device.
    pub fn restore_host(
        &mut self,
        ctx: &GpuContext,
        instance: usize,
        s: &HostState,
    ) -> crate::Result<()> {
        let n = self.layout.slots.len();
        if s.third.len() != n || s.hlops.len() != self.hlops[instance].len() {
            return Err(crate::backend::foreign_snapshot());
        }
        self.third[instance * n..(instance + 1) * n].copy_from_slice(&s.third);
        for t in instance * n..(instance + 1) * n {
            self.write_third(ctx, t);
        }
        let rows = |h: &[Option<Hlop>]| -> Vec<usize> {
            h.iter()
                .map(|h| h.as_ref().map_or(0, |h| h.frozen_weights().len()))
                .collect()
        };
        let changed = rows(&s.hlops) != rows(&self.hlops[instance]);
        self.hlops[instance].clone_from(&s.hlops);
        if changed {
            self.relayout_hlop(ctx)?;
        } else {
            for k in 0..n {
                self.write_rows(ctx, instance, k);
            }
        }
        Ok(())
    }

    fn write_third(&self, ctx: &GpuContext, t: usize) {
        ctx.queue.write_buffer(
            &self.third_buf,
            t as u64 * 16,
            bytemuck::cast_slice(&self.third[t..t + 1]),
        );
    }

    /// Uploads the frozen HLOP rows of slot `k` of `instance`.
    fn write_rows(&self, ctx: &GpuContext, instance: usize, k: usize) {
        let Some(h) = &self.hlops[instance][k] else {
            return;
        };
        let rows = h.frozen_weights();
        if rows.is_empty() {
            return;
        }
        let at = u64::from(self.hlop_layout.stride) * instance as u64
            + u64::from(self.hlop_layout.at[k][2]);
        ctx.queue
            .write_buffer(&self.hlop_buf, at * 4, bytemuck::cast_slice(rows));
    }

    /// Makes room for every instance's frozen HLOP rows: a new layout (rows of
    /// room per rule: the most any instance has frozen), rules and HLOP buffer,
    /// with every instance's frozen rows uploaded again.
    fn relayout_hlop(&mut self, ctx: &GpuContext) -> crate::Result<()> {
        let n = self.layout.slots.len();
        let k_cap: Vec<u32> = (0..n)
            .map(|k| {
                (0..self.batch as usize)
                    .map(|b| self.third[b * n + k][2])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        if k_cap == self.hlop_layout.k_cap {
            return Ok(());
        }
        let hl = HlopLayout::new(&self.layout.slots, k_cap, self.batch)?;
        self.hlop_buf = storage_sized(
            ctx,
            "HLOP rows",
            u64::from(hl.stride) * u64::from(self.batch) * 4,
        )?;
        self.hlop_layout = hl;
        ctx.queue.write_buffer(
            &self.rules_buf,
            0,
            bytemuck::cast_slice(&with_hlop(&self.rules, &self.hlop_layout)),
        );
        self.prm.h_stride = self.hlop_layout.stride;
        self.prm.x_base = self.hlop_layout.x_base;
        ctx.queue
            .write_buffer(&self.prm_buf, 0, bytemuck::bytes_of(&self.prm));
        self.three_group = three_group(
            &ctx.device,
            self.three.first(),
            [
                &self.prm_buf,
                &self.rules_buf,
                &self.idx,
                &self.targets,
                &self.weights,
                &self.traces,
                &self.third_buf,
                &self.hlop_buf,
            ],
        );
        for b in 0..self.batch as usize {
            for k in 0..n {
                self.write_rows(ctx, b, k);
            }
        }
        Ok(())
    }
}

/// `rules` with the HLOP offsets of `hl`.
fn with_hlop(rules: &[RuleParams], hl: &HlopLayout) -> Vec<RuleParams> {
    rules
        .iter()
        .zip(hl.k_cap.iter().zip(&hl.at))
        .map(|(r, (&k_cap, &[y_at, x_at, h_at]))| RuleParams {
            k_cap,
            y_at,
            x_at,
            h_at,
            ..*r
        })
        .collect()
}

/// The bind group of three_factor.wgsl (an empty one when no rule needs it: the
/// pipelines exist only when some does).
fn three_group(
    device: &wgpu::Device,
    pipe: Option<&Pipe>,
    bufs: [&wgpu::Buffer; 8],
) -> wgpu::BindGroup {
    match pipe {
        Some(p) => bind(device, "three-factor", &p.groups[0], &bufs),
        None => {
            let empty = layout(device, "three-factor (unused)", &[]);
            bind(device, "three-factor (unused)", &empty, &[])
        }
    }
}

impl GpuAstro {
    /// Uploads the astrocytes of the network (None without any): A(0) = a0 and
    /// gain 1 in every domain of every instance, zero counts.
    fn upload(
        load: &upload::Loader,
        layout: &Layout,
        sh: &Shared,
        coef: &wgpu::Buffer,
    ) -> crate::Result<Option<Self>> {
        let net = load.net;
        if net.astros.is_empty() {
            return Ok(None);
        }
        let (mut astros, mut aidx, mut state0) = (vec![], vec![], vec![]);
        let (mut count_at, mut dom0) = (0u32, 0u32);
        let mut at = vec![];
        // Domain arrays go after every record; (position of the placeholder, array).
        let mut domains: Vec<(usize, &[u32])> = vec![];
        for b in net.astros.iter() {
            let n_dom = b.n_domains as u32;
            let state_at = state0.len() as u32;
            state0.extend(std::iter::repeat_n(b.consts.a0, n_dom as usize));
            state0.extend(std::iter::repeat_n(1.0f32, n_dom as usize));
            at.push((state_at, n_dom));
            let liquid_at = aidx.len() as u32;
            for (p, dom) in &b.liquid {
                let pop = &net.pops[*p];
                aidx.extend([pop.offset, pop.size, u32::MAX]);
                if n_dom > 1 {
                    domains.push((aidx.len() - 1, dom));
                }
            }
            let input_at = aidx.len() as u32;
            for &p in &b.input {
                aidx.extend([net.pops[p].offset, net.pops[p].size]);
            }
            let share_at = aidx.len() as u32;
            aidx.extend(b.share.iter().map(|s| s.to_bits()));
            let mod_at = aidx.len() as u32;
            for &k in &b.modulates {
                let s = layout.slot(k).expect("modulated projections are plastic");
                let m = net.projs[k]
                    .plastic
                    .as_ref()
                    .and_then(|p| p.modulation.as_ref())
                    .expect("validated: nalsm with a modulation");
                aidx.extend([
                    s.coef_at,
                    m.trace_step.to_bits(),
                    m.eta_step.to_bits(),
                    u32::from(m.inhibitory),
                ]);
            }
            let k = &b.consts;
            astros.push(AstroRule {
                n_dom,
                dom0,
                state_at,
                count_at,
                n_liquid: b.liquid.len() as u32,
                liquid_at,
                n_input: b.input.len() as u32,
                input_at,
                share_at,
                n_mod: b.modulates.len() as u32,
                mod_at,
                rate: k.rate,
                w_a: k.w_a,
                b_a: k.b_a,
                decay: k.decay,
                _pad: 0,
            });
            count_at += n_dom + 2;
            dom0 += n_dom;
        }
        for (place, dom) in domains {
            aidx[place] = aidx.len() as u32;
            aidx.extend_from_slice(dom);
        }
        let batch = load.instances.len();
        let state_stride = state0.len() as u32;
        if (u64::from(state_stride.max(count_at)) + 1) * batch as u64 > u64::from(u32::MAX) {
            return Err(gpu_err("astrocyte state of the batch exceeds 2^32 entries"));
        }
        let ctx = load.ctx;
        let state: Vec<f32> = (0..batch).flat_map(|_| state0.iter().copied()).collect();
        let state = storage(ctx, "astrocyte state", bytemuck::cast_slice(&state))?;
        let counts = storage_sized(
            ctx,
            "astrocyte counts",
            u64::from(count_at) * batch as u64 * 4,
        )?;
        let prm = AstroParams {
            n_astro: astros.len() as u32,
            state_stride,
            count_stride: count_at,
            coef_stride: layout.coef_stride,
        };
        let prm = uniform(&ctx.device, "astrocytes", bytemuck::bytes_of(&prm));
        let astros = storage(ctx, "astrocytes", bytemuck::cast_slice(&astros))?;
        let aidx = storage(ctx, "astrocyte index", bytemuck::cast_slice(&aidx))?;
        let bufs = [&prm, sh.ctl, sh.rec, &astros, &aidx, &state, &counts, coef];
        let mut pipes = vec![];
        for entry in ["count", "update"] {
            let name = format!("astrocyte {entry}");
            let p = load.pipe(&name, ASTROCYTE, entry, &[ASTRO_LAYOUT])?;
            let g = bind(&ctx.device, &name, &p.groups[0], &bufs);
            pipes.push((p, g));
        }
        let update = pipes.pop().expect("two");
        let count = pipes.pop().expect("two");
        Ok(Some(GpuAstro {
            at,
            state_stride,
            domains: dom0,
            state,
            state0,
            counts,
            count_stride: count_at,
            count,
            update,
        }))
    }
}

/// `n` f32 values of `buf` from entry `at`.
fn read_f32(ctx: &GpuContext, buf: &wgpu::Buffer, at: u64, n: u32) -> crate::Result<Vec<f32>> {
    if n == 0 {
        return Ok(vec![]);
    }
    read_buffer(ctx, buf, at * 4, u64::from(n) * 4)
}
