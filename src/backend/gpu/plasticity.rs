//! Plasticity on the GPU (the CPU's src/backend/cpu/plasticity.rs): per-instance
//! weights, traces and coefficients of the plastic projections, delivery through
//! the current weights (propagate.wgsl `plastic`), and the four phases of
//! shaders/plasticity.wgsl after propagation.
//!
//! Every array is instance-major: instance b's weights start at b × `w_stride`
//! (projections one after the other, synapses in CSR order), its traces at
//! b × `t_stride` (per projection r1, [r2], o1, [o2]), its coefficients at
//! b × projections. The phases read the step's spikes from the record through the
//! indirect dispatch `args` built for propagation, so many steps still go in one
//! submission.
use super::*;

/// Where one plastic projection's state lies in an instance's blocks.
struct Slot {
    proj: usize,
    w_at: u32,
    n_syn: u32,
    r_at: u32,
    o_at: u32,
    n_pre: u32,
    n_post: u32,
    triplet: bool,
}

/// Where the plastic projections' weights and traces lie in an instance's blocks.
pub(super) struct Layout {
    slots: Vec<Slot>,
    w_stride: u32,
    t_stride: u32,
}

impl Layout {
    /// The layout of `net`'s plastic projections, checked to be indexable with u32
    /// over `batch` instances.
    pub fn new(net: &Built, batch: u64) -> crate::Result<Self> {
        let (mut w, mut t) = (0u64, 0u64);
        let mut slots = vec![];
        for (proj, pr) in net.projs.iter().enumerate() {
            let Some(pl) = &pr.plastic else { continue };
            let (n_pre, n_post) = (net.pops[pr.pre].size, net.pops[pr.post].size);
            let per = if pl.rule.triplet { 2 } else { 1 };
            let r_at = t;
            let o_at = r_at + per * u64::from(n_pre);
            slots.push(Slot {
                proj,
                w_at: w as u32,
                n_syn: pr.len() as u32,
                r_at: r_at as u32,
                o_at: o_at as u32,
                n_pre,
                n_post,
                triplet: pl.rule.triplet,
            });
            w += pr.len() as u64;
            t = o_at + per * u64::from(n_post);
            if (w.max(t) + 1) * batch > u64::from(u32::MAX) {
                return Err(gpu_err(
                    "plastic weights or traces of the batch exceed 2^32 entries",
                ));
            }
        }
        Ok(Layout {
            slots,
            w_stride: w as u32,
            t_stride: t as u32,
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
/// Bind group layout of propagate.wgsl (`main` and `plastic`).
pub(super) const PROPAGATE_LAYOUT: &[B] = &[B::W, B::R, B::R, B::R, B::R, B::R, B::R, B::W];

/// The plastic projections on the device.
pub(super) struct GpuPlasticity {
    layout: Layout,
    batch: u32,
    weights: wgpu::Buffer,
    traces: wgpu::Buffer,
    /// `[c_pre2, c_pre3, c_post2, c_post3]` per instance and projection; a buffer
    /// so that modulators can rewrite it on the device (none does yet).
    #[allow(dead_code)]
    coef: wgpu::Buffer,
    deliver: (Pipe, wgpu::BindGroup),
    /// decay, on_pre, on_post, bump_traces: the CPU's order.
    phases: Vec<(Pipe, wgpu::BindGroup)>,
}

impl GpuPlasticity {
    /// Uploads the state of every plastic projection (None without any).
    pub fn upload(
        load: &upload::Loader,
        layout: Layout,
        sh: Shared,
    ) -> crate::Result<Option<Self>> {
        if layout.slots.is_empty() {
            return Ok(None);
        }
        let net = load.net;
        let batch = load.instances.len();
        let mut syn_at = Vec::with_capacity(net.projs.len());
        let mut at = 0u32;
        for pr in net.projs.iter() {
            syn_at.push(at);
            at += pr.len() as u32;
        }
        let (mut rules, mut idx, mut w0, mut coef) = (vec![], vec![], vec![], vec![]);
        for s in &layout.slots {
            let pr = &net.projs[s.proj];
            let pl = pr.plastic.as_ref().expect("plastic");
            let k = &pl.rule;
            let flags = [
                (k.nearest, RULE_NEAREST),
                (k.multiplicative, RULE_MULTIPLICATIVE),
                (k.triplet, RULE_TRIPLET),
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
            });
            w0.extend_from_slice(&pl.w0);
        }
        if idx.len() as u64 >= u64::from(u32::MAX) {
            return Err(gpu_err("plasticity index exceeds 2^32 entries"));
        }
        let mut weights = Vec::with_capacity(w0.len() * batch);
        for _ in 0..batch {
            weights.extend_from_slice(&w0);
            coef.extend(layout.slots.iter().map(|s| {
                net.projs[s.proj]
                    .plastic
                    .as_ref()
                    .expect("plastic")
                    .rule
                    .coef
            }));
        }
        let ctx = load.ctx;
        let weights = storage(ctx, "plastic weights", bytemuck::cast_slice(&weights))?;
        let traces = storage_sized(
            ctx,
            "plasticity traces",
            u64::from(layout.t_stride) * batch as u64 * 4,
        )?;
        let coef = storage(ctx, "plasticity coefficients", bytemuck::cast_slice(&coef))?;
        let rules_buf = storage(ctx, "plasticity rules", bytemuck::cast_slice(&rules))?;
        let idx = storage(ctx, "plasticity index", bytemuck::cast_slice(&idx))?;
        let prm = PlasticParams {
            n_rules: rules.len() as u32,
            w_stride: layout.w_stride,
            t_stride: layout.t_stride,
            _pad: 0,
        };
        let prm = uniform(&ctx.device, "plasticity", bytemuck::bytes_of(&prm));

        let deliver = load.pipe(
            "propagate plastic",
            PROPAGATE,
            "plastic",
            &[PROPAGATE_LAYOUT],
        )?;
        let group = bind(
            &ctx.device,
            "propagate plastic",
            &deliver.groups[0],
            &[
                sh.ctl, sh.rec, sh.tab, sh.row_ptr, sh.targets, &weights, sh.delays, sh.ring,
            ],
        );
        let deliver = (deliver, group);
        let bufs = [
            &prm, sh.ctl, sh.rec, &rules_buf, &idx, sh.targets, &weights, &traces, &coef,
        ];
        let phases = ["decay", "on_pre", "on_post", "bump_traces"]
            .into_iter()
            .map(|entry| {
                let name = format!("plasticity {entry}");
                let p = load.pipe(&name, PLASTICITY, entry, &[RULE_LAYOUT])?;
                let g = bind(&ctx.device, &name, &p.groups[0], &bufs);
                Ok((p, g))
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(Some(GpuPlasticity {
            layout,
            batch: batch as u32,
            weights,
            traces,
            coef,
            deliver,
            phases,
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
        let (p, g) = &self.deliver;
        pass.set_pipeline(&p.pipeline);
        pass.set_bind_group(0, step_group, off);
        pass.set_bind_group(1, g, &[]);
        pass.dispatch_workgroups_indirect(dispatch, 0);
    }

    /// The rule phases of the step: decay over every trace, then the spike phases
    /// over the step's spikes (the indirect dispatch of propagation).
    pub fn encode_rules(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        step_group: &wgpu::BindGroup,
        off: &[u32],
        dispatch: &wgpu::Buffer,
    ) {
        for (k, (p, g)) in self.phases.iter().enumerate() {
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, step_group, off);
            pass.set_bind_group(1, g, &[]);
            if k == 0 {
                let (x, y) = grid(self.layout.t_stride);
                pass.dispatch_workgroups(x, y, self.batch);
            } else {
                pass.dispatch_workgroups_indirect(dispatch, 0);
            }
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

    /// Trace `var` (`r1`, `r2`, `o1`, `o2`) of plastic projection `proj` in
    /// `instance`; None if the projection is static or has no such trace.
    pub fn read_trace(
        &self,
        ctx: &GpuContext,
        instance: usize,
        proj: usize,
        var: &str,
    ) -> Option<crate::Result<Vec<f32>>> {
        let s = self.layout.slot(proj)?;
        let (at, n) = match (var, s.triplet) {
            ("r1", _) => (s.r_at, s.n_pre),
            ("r2", true) => (s.r_at + s.n_pre, s.n_pre),
            ("o1", _) => (s.o_at, s.n_post),
            ("o2", true) => (s.o_at + s.n_post, s.n_post),
            _ => return None,
        };
        let at = u64::from(self.layout.t_stride) * instance as u64 + u64::from(at);
        Some(read_f32(ctx, &self.traces, at, n))
    }
}

/// `n` f32 values of `buf` from entry `at`.
fn read_f32(ctx: &GpuContext, buf: &wgpu::Buffer, at: u64, n: u32) -> crate::Result<Vec<f32>> {
    if n == 0 {
        return Ok(vec![]);
    }
    read_buffer(ctx, buf, at * 4, u64::from(n) * 4)
}
