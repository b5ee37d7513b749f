//! The GPU backend: the phases of the DESIGN.md step as WGSL compute shaders on
//! wgpu, with the same arrays and arithmetic as the CPU reference so that spikes
//! match bit for bit where the device evaluates `a * b + c` unfused.
//!
//! Schedule: [`Backend::run`] encodes every step of the chunk into one compute
//! pass (one submission per at most [`STEP_SLOTS`] steps) with no host round trip
//! in between; the step index reaches the shaders through a uniform buffer read at
//! a dynamic offset. Per step: inputs (noise/currents, Poisson, spike sources),
//! neuron updates, then `args` turns the step's spikes into an indirect dispatch
//! of `propagate`. Spikes are appended as (step, id) pairs to one device record
//! with an atomic counter and read back once per `run`; `drain_spikes` sorts them.
use super::{Backend, Spike};
use crate::build::{Built, BuiltInput, Delays, Dynamics, PoissonKind, STREAM_POISSON};
use crate::neuron::izhikevich::IzhIntegration;
use crate::rng::{normal_tables, CounterRng};
use bytemuck::Pod;
use std::sync::Arc;
use wgpu::util::DeviceExt;

mod context;
pub mod shaders;
pub mod spirv;

pub use context::{list_adapters, GpuContext, ADAPTER_ENV, SHADERS_ENV};
use shaders::*;

/// Invocations per workgroup of every per-neuron shader.
const WG: u32 = 64;
/// Workgroups per dimension every WebGPU device supports.
const MAX_WG: u32 = 65_535;
/// Steps per submission (slots of the step uniform buffer).
pub const STEP_SLOTS: u64 = 1000;
/// Most (step, id) entries the spike record holds (64 MiB).
const MAX_RECORD: u64 = 1 << 23;
/// Words of `ctl` before the per-population non-finite flags.
const CTL_HEAD: usize = 4;

fn gpu_err(msg: impl Into<String>) -> crate::Error {
    crate::Error::Gpu(msg.into())
}

/// Binding kinds of an explicit bind group layout.
#[derive(Clone, Copy)]
enum B {
    /// Uniform read at a dynamic offset.
    Dyn,
    /// Uniform.
    U,
    /// Read-only storage.
    R,
    /// Read-write storage.
    W,
}

fn layout(device: &wgpu::Device, label: &str, kinds: &[B]) -> wgpu::BindGroupLayout {
    let entries: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match k {
                    B::Dyn | B::U => wgpu::BufferBindingType::Uniform,
                    B::R => wgpu::BufferBindingType::Storage { read_only: true },
                    B::W => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: matches!(k, B::Dyn),
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    })
}

/// A compute pipeline and the layouts of its bind groups after group 0 (the step).
struct Pipe {
    pipeline: wgpu::ComputePipeline,
    groups: Vec<wgpu::BindGroupLayout>,
}

fn pipe(
    ctx: &GpuContext,
    step: &wgpu::BindGroupLayout,
    name: &str,
    src: &str,
    entry: &str,
    groups: &[&[B]],
) -> crate::Result<Pipe> {
    let device = &ctx.device;
    let module = ctx.shader(name, src, &[entry])?;
    let groups: Vec<_> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| layout(device, &format!("{name} group {}", i + 1), g))
        .collect();
    let mut all = vec![Some(step)];
    all.extend(groups.iter().map(Some));
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(name),
        bind_group_layouts: &all,
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(&pl),
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    Ok(Pipe { pipeline, groups })
}

/// Bind group of `bufs` in binding order.
fn bind(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    bufs: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<_> = bufs
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

/// Workgroup grid covering `threads` invocations of `WG` (2-D past 65,535 groups;
/// the shaders linearise `x + y * num_workgroups.x * WG`).
fn grid(threads: u32) -> (u32, u32) {
    let groups = threads.div_ceil(WG);
    if groups <= MAX_WG {
        (groups, 1)
    } else {
        (MAX_WG, groups.div_ceil(MAX_WG))
    }
}

/// Which neuron shader a population runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Model {
    Lif,
    LifCond,
    Izhikevich,
}

impl Model {
    /// State sections of the population's state buffer, in order.
    fn vars(self) -> &'static [&'static str] {
        match self {
            Model::Lif => &["v", "i_exc", "i_inh", "refrac"],
            Model::LifCond => &["v", "ge", "gi", "refrac"],
            Model::Izhikevich => &["v", "u", "a", "b", "c", "d"],
        }
    }
}

struct NeuronPop {
    model: Model,
    pop: usize,
    n: u32,
    state: wgpu::Buffer,
    i_ext: wgpu::Buffer,
    group: wgpu::BindGroup,
    /// Bind group of the noise/current shader when the population has inputs.
    inputs: Option<wgpu::BindGroup>,
}

struct PoissonPop {
    chunks: bool,
    threads: u32,
    start: u64,
    stop: u64,
    group: wgpu::BindGroup,
}

struct SourcePop {
    /// Sorted steps of the uploaded events (to size each step's dispatch).
    steps: Vec<u64>,
    group: wgpu::BindGroup,
}

/// Phases to encode for a step.
#[derive(Clone, Copy)]
struct Phases {
    inputs: bool,
    neurons: bool,
    propagate: bool,
}

const ALL_PHASES: Phases = Phases {
    inputs: true,
    neurons: true,
    propagate: true,
};

/// The GPU engine: device buffers for the whole network and the pipelines it needs.
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    names: Vec<String>,
    neurons: Vec<NeuronPop>,
    poisson: Vec<PoissonPop>,
    sources: Vec<SourcePop>,
    pipes: Vec<(Model, Pipe)>,
    noise_pipe: Option<Pipe>,
    bernoulli_pipe: Option<Pipe>,
    chunks_pipe: Option<Pipe>,
    source_pipe: Option<Pipe>,
    args_pipe: Pipe,
    prop_pipe: Pipe,
    step_buf: wgpu::Buffer,
    step_group: wgpu::BindGroup,
    step_stride: u64,
    ctl: wgpu::Buffer,
    rec: wgpu::Buffer,
    rec_cap: u64,
    dispatch: wgpu::Buffer,
    args_groups: [wgpu::BindGroup; 2],
    prop_group: wgpu::BindGroup,
    /// Steps whose spikes may still sit in the device record.
    unread_steps: u64,
    /// Steps the record can take between read-backs without overflowing.
    batch_steps: u64,
    pending: Vec<Spike>,
    /// Per population: first ring entry and ring length (0 for sources).
    ring_at: Vec<(u64, u64)>,
    ring: wgpu::Buffer,
    _keep: Vec<wgpu::Buffer>,
}

impl GpuBackend {
    /// Opens the best adapter (or the one named by `adapter` / `ASTROGLIA_ADAPTER`)
    /// and uploads the network.
    pub fn new(net: &Built, adapter: Option<&str>) -> crate::Result<Self> {
        Self::with_context(Arc::new(GpuContext::new(adapter)?), net)
    }

    /// Uploads the network to an existing device (tests share one).
    pub fn with_context(ctx: Arc<GpuContext>, net: &Built) -> crate::Result<Self> {
        Self::with_record(ctx, net, None)
    }

    /// Like [`Self::with_context`] with a spike record of `entries` (step, id)
    /// pairs instead of the default (every neuron spiking every step of a
    /// [`STEP_SLOTS`]-step chunk, at most 2^23 and the device limit). A run is split
    /// into read-backs of `entries / neurons` steps; a step that alone emits more
    /// spikes than the record holds is reported as an error.
    pub fn with_record(
        ctx: Arc<GpuContext>,
        net: &Built,
        entries: Option<u64>,
    ) -> crate::Result<Self> {
        let c = ctx.clone();
        c.scoped("uploading the network", || Self::upload(ctx, net, entries))?
    }

    /// The delay ring of population `pop`, laid out as [`CpuBackend::ring`]
    /// (empty for sources). For per-phase parity tests.
    ///
    /// [`CpuBackend::ring`]: super::CpuBackend::ring
    pub fn ring(&self, pop: usize) -> crate::Result<Vec<i32>> {
        let (base, len) = self.ring_at.get(pop).copied().unwrap_or((0, 0));
        if len == 0 {
            return Ok(vec![]);
        }
        read_buffer(&self.ctx, &self.ring, base * 4, len * 4)
    }

    /// The device context.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    fn upload(ctx: Arc<GpuContext>, net: &Built, entries: Option<u64>) -> crate::Result<Self> {
        let dev = &ctx.device;
        let key = CounterRng::new(net.seed).key();
        let np = net.pops.len();
        let step_layout = layout(dev, "step", &[B::Dyn]);
        let stride = u64::from(ctx.limits.min_uniform_buffer_offset_alignment)
            .max(std::mem::size_of::<StepParams>() as u64);
        let step_buf = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("steps"),
            size: stride * STEP_SLOTS,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let step_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("step"),
            layout: &step_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &step_buf,
                    offset: 0,
                    size: wgpu::BufferSize::new(std::mem::size_of::<StepParams>() as u64),
                }),
            }],
        });
        let mk = |name: &str, src: &str, entry: &str, groups: &[&[B]]| {
            pipe(&ctx, &step_layout, name, src, entry, groups)
        };

        // Spike record: every neuron spiking every step of a full chunk, capped.
        let n_total = u64::from(net.n_neurons()).max(1);
        let max_entries = (ctx.limits.max_storage_buffer_binding_size / 8)
            .min(ctx.limits.max_buffer_size / 8)
            .min(MAX_RECORD);
        let rec_cap = entries
            .unwrap_or(n_total * STEP_SLOTS)
            .min(max_entries)
            .max(1);
        let batch_steps = (rec_cap / n_total).max(1);
        let rec = storage_sized(&ctx, "spike record", rec_cap * 8)?;
        let mut ctl_init = vec![0u32; CTL_HEAD + np];
        ctl_init[CTL_HEAD..].fill(u32::MAX);
        let ctl = storage(&ctx, "ctl", bytemuck::cast_slice(&ctl_init))?;

        // Delay rings of all neuron populations in one buffer (shared with propagate).
        let mut ring_base = vec![u32::MAX; np];
        let mut ring_at = vec![(0, 0); np];
        let mut ring_len = 0u64;
        for (pi, p) in net.pops.iter().enumerate() {
            if !matches!(
                p.dynamics,
                Dynamics::Poisson { .. } | Dynamics::SpikeSource(_)
            ) {
                ring_base[pi] = u32::try_from(ring_len)
                    .map_err(|_| gpu_err("delay rings exceed 2^32 entries"))?;
                let len = u64::from(p.ring_depth) * 2 * u64::from(p.size);
                ring_at[pi] = (ring_len, len);
                ring_len += len;
            }
        }
        let ring = storage_sized(&ctx, "delay rings", ring_len.max(1) * 4)?;

        // Neuron populations.
        let nlayout: &[B] = &[B::U, B::W, B::W, B::R, B::W, B::W];
        let mut pipes: Vec<(Model, Pipe)> = vec![];
        let mut neurons = vec![];
        let mut keep = vec![];
        for (pi, p) in net.pops.iter().enumerate() {
            let n = p.size;
            let (model, params, state): (Model, Vec<u8>, Vec<f32>) = match &p.dynamics {
                Dynamics::Lif(k, s) => {
                    let prm = LifParams {
                        n,
                        gid0: p.offset,
                        ring: ring_base[pi],
                        depth: p.ring_depth,
                        pop: pi as u32,
                        ref_steps: k.ref_steps,
                        delta: k.delta as u32,
                        inv_exc: p.inv_scale[0],
                        inv_inh: p.inv_scale[1],
                        e_l: k.e_l,
                        v_reset: k.v_reset,
                        v_th: k.v_th,
                        p33: k.p33,
                        p30: k.p30,
                        p32_exc: k.p32_exc,
                        p32_inh: k.p32_inh,
                        p22_exc: k.p22_exc,
                        p22_inh: k.p22_inh,
                        i_bias: k.i_bias,
                        ..Default::default()
                    };
                    let refrac = s.refrac.iter().map(|&r| f32::from_bits(r as u32));
                    let st = [&s.v[..], &s.i_exc, &s.i_inh]
                        .concat()
                        .into_iter()
                        .chain(refrac)
                        .collect();
                    (Model::Lif, bytemuck::bytes_of(&prm).to_vec(), st)
                }
                Dynamics::LifCond(k, s) => {
                    let prm = LifCondParams {
                        n,
                        gid0: p.offset,
                        ring: ring_base[pi],
                        depth: p.ring_depth,
                        pop: pi as u32,
                        ref_steps: k.ref_steps,
                        inv_exc: p.inv_scale[0],
                        inv_inh: p.inv_scale[1],
                        dt_over_c: k.dt_over_c,
                        g_l: k.g_l,
                        e_l: k.e_l,
                        e_exc: k.e_exc,
                        e_inh: k.e_inh,
                        v_reset: k.v_reset,
                        v_th: k.v_th,
                        decay_exc: k.decay_exc,
                        decay_inh: k.decay_inh,
                        i_bias: k.i_bias,
                        ..Default::default()
                    };
                    let refrac = s.refrac.iter().map(|&r| f32::from_bits(r as u32));
                    let st = [&s.v[..], &s.ge, &s.gi]
                        .concat()
                        .into_iter()
                        .chain(refrac)
                        .collect();
                    (Model::LifCond, bytemuck::bytes_of(&prm).to_vec(), st)
                }
                Dynamics::Izhikevich(k, s) => {
                    let prm = IzhParams {
                        n,
                        gid0: p.offset,
                        ring: ring_base[pi],
                        depth: p.ring_depth,
                        pop: pi as u32,
                        half: (k.integration == IzhIntegration::HalfSteps) as u32,
                        inv_exc: p.inv_scale[0],
                        inv_inh: p.inv_scale[1],
                        dt: k.dt,
                        half_dt: k.half_dt,
                        v_peak: k.v_peak,
                        ..Default::default()
                    };
                    let st = [&s.v[..], &s.u, &s.a, &s.b, &s.c, &s.d].concat();
                    (Model::Izhikevich, bytemuck::bytes_of(&prm).to_vec(), st)
                }
                Dynamics::Poisson { .. } | Dynamics::SpikeSource(_) => continue,
            };
            if !pipes.iter().any(|(m, _)| *m == model) {
                let (name, src) = match model {
                    Model::Lif => ("neuron_lif", NEURON_LIF),
                    Model::LifCond => ("neuron_lif_cond", NEURON_LIF_COND),
                    Model::Izhikevich => ("neuron_izhikevich", NEURON_IZHIKEVICH),
                };
                pipes.push((model, mk(name, src, "main", &[nlayout])?));
            }
            let pl = &pipes.iter().find(|(m, _)| *m == model).expect("added").1;
            let state = storage(
                &ctx,
                &format!("{} state", p.name),
                bytemuck::cast_slice(&state),
            )?;
            let i_ext = storage(
                &ctx,
                &format!("{} i_ext", p.name),
                bytemuck::cast_slice(&vec![0f32; n as usize]),
            )?;
            let ub = uniform(dev, &p.name, &params);
            let group = bind(
                dev,
                &p.name,
                &pl.groups[0],
                &[&ub, &state, &ring, &i_ext, &rec, &ctl],
            );
            keep.push(ub);
            neurons.push(NeuronPop {
                model,
                pop: pi,
                n,
                state,
                i_ext,
                group,
                inputs: None,
            });
        }

        // Noise and constant currents, per population in model order.
        let mut terms: Vec<NoiseTerm> = vec![];
        let mut masks: Vec<u32> = vec![];
        let mut per_pop: Vec<(usize, u32, u32)> = vec![];
        for (pi, p) in net.pops.iter().enumerate() {
            let first = terms.len() as u32;
            for inp in &net.inputs {
                let (pop, ids) = match inp {
                    BuiltInput::Noise { pop, ids, .. } | BuiltInput::Current { pop, ids, .. } => {
                        (*pop, ids)
                    }
                };
                if pop != pi {
                    continue;
                }
                let mask = match ids {
                    None => u32::MAX,
                    Some(ids) => {
                        let at = masks.len();
                        masks.resize(at + p.size as usize, 0);
                        for &i in ids {
                            masks[at + i as usize] += 1;
                        }
                        at as u32
                    }
                };
                // Steps are below 2^32 (checked in `run`), so clamping is exact.
                let clamp = |s: u64| s.min(u64::from(u32::MAX)) as u32;
                terms.push(match inp {
                    BuiltInput::Current {
                        amplitude,
                        start,
                        stop,
                        ..
                    } => NoiseTerm {
                        kind: 0,
                        mask,
                        start: clamp(*start),
                        stop: clamp(*stop),
                        a: *amplitude,
                        ..Default::default()
                    },
                    BuiltInput::Noise {
                        mean, std, stream, ..
                    } => NoiseTerm {
                        kind: 1,
                        mask,
                        stream: *stream,
                        a: *mean,
                        b: *std,
                        ..Default::default()
                    },
                });
            }
            let count = terms.len() as u32 - first;
            if count > 0 {
                per_pop.push((pi, first, count));
            }
        }
        let mut noise_pipe = None;
        if !per_pop.is_empty() {
            let pl = mk(
                "inputs_noise",
                INPUTS_NOISE,
                "main",
                &[&[B::U, B::R, B::R, B::R, B::W]],
            )?;
            let terms_buf = storage(&ctx, "input terms", bytemuck::cast_slice(&terms))?;
            let masks_buf = storage(&ctx, "input masks", bytemuck::cast_slice(&masks))?;
            let t = normal_tables();
            let tables = storage(
                &ctx,
                "normal tables",
                bytemuck::cast_slice(&[&t.body[..], &t.tail[..]].concat()),
            )?;
            for (pi, first, count) in per_pop {
                let Some(np) = neurons.iter_mut().find(|x| x.pop == pi) else {
                    continue;
                };
                let prm = NoiseParams {
                    n: np.n,
                    first_term: first,
                    n_terms: count,
                    key0: key[0],
                    key1: key[1],
                    ..Default::default()
                };
                let ub = uniform(dev, "noise params", bytemuck::bytes_of(&prm));
                np.inputs = Some(bind(
                    dev,
                    "inputs",
                    &pl.groups[0],
                    &[&ub, &terms_buf, &masks_buf, &tables, &np.i_ext],
                ));
                keep.push(ub);
            }
            keep.extend([terms_buf, masks_buf, tables]);
            noise_pipe = Some(pl);
        }

        // Poisson and spike-source populations.
        let src_layout: &[B] = &[B::U, B::R, B::W, B::W];
        let (mut bernoulli_pipe, mut chunks_pipe, mut source_pipe) = (None, None, None);
        let mut poisson = vec![];
        let mut sources = vec![];
        let mut events: Vec<[u32; 2]> = vec![];
        let mut source_pending = vec![];
        for (pi, p) in net.pops.iter().enumerate() {
            match &p.dynamics {
                Dynamics::Poisson {
                    sampler,
                    start,
                    stop,
                } => {
                    let mut prm = PoissonParams {
                        n: p.size,
                        gid0: p.offset,
                        stream: STREAM_POISSON + pi as u32,
                        key0: key[0],
                        key1: key[1],
                        ..Default::default()
                    };
                    let (table, chunks, threads): (Vec<u32>, bool, u32) = match sampler {
                        PoissonKind::Uniform(s) if s.p() == 0.0 => continue,
                        PoissonKind::Uniform(s) if s.chunk_len() == 1 => {
                            prm.len = 1;
                            prm.thr = s.threshold();
                            (vec![], false, p.size)
                        }
                        PoissonKind::Uniform(s) => {
                            prm.len = s.chunk_len();
                            let (f, l) = (s.count_thresholds(false), s.count_thresholds(true));
                            prm.full_len = f.len() as u32;
                            prm.last_len = l.len() as u32;
                            ([f, l].concat(), true, p.size.div_ceil(s.chunk_len()))
                        }
                        PoissonKind::Each(b) => {
                            prm.len = 0;
                            (b.thresholds().to_vec(), false, p.size)
                        }
                    };
                    let slot = if chunks {
                        &mut chunks_pipe
                    } else {
                        &mut bernoulli_pipe
                    };
                    let entry = if chunks { "chunks" } else { "bernoulli" };
                    if slot.is_none() {
                        *slot = Some(mk(
                            &format!("inputs_poisson {entry}"),
                            INPUTS_POISSON,
                            entry,
                            &[src_layout],
                        )?);
                    }
                    let pl = slot.as_ref().expect("just built");
                    let tb = storage(
                        &ctx,
                        &format!("{} thresholds", p.name),
                        bytemuck::cast_slice(&table),
                    )?;
                    let ub = uniform(dev, &p.name, bytemuck::bytes_of(&prm));
                    let group = bind(dev, &p.name, &pl.groups[0], &[&ub, &tb, &rec, &ctl]);
                    keep.extend([tb, ub]);
                    poisson.push(PoissonPop {
                        chunks,
                        threads,
                        start: *start,
                        stop: *stop,
                        group,
                    });
                }
                Dynamics::SpikeSource(ev) => {
                    // Steps past 2^32 are never run (checked in `run`).
                    let ev: Vec<_> = ev
                        .iter()
                        .filter(|(s, _)| *s < u64::from(u32::MAX))
                        .collect();
                    let first = events.len() as u32;
                    events.extend(ev.iter().map(|&&(s, i)| [s as u32, i]));
                    let prm = SourceParams {
                        gid0: p.offset,
                        first,
                        count: ev.len() as u32,
                        ..Default::default()
                    };
                    source_pending.push((
                        p.name.clone(),
                        prm,
                        ev.iter().map(|e| e.0).collect::<Vec<_>>(),
                    ));
                }
                _ => {}
            }
        }
        if !source_pending.is_empty() {
            let pl = mk("inputs_source", INPUTS_SOURCE, "main", &[src_layout])?;
            let eb = storage(&ctx, "source events", bytemuck::cast_slice(&events))?;
            for (name, prm, steps) in source_pending {
                let ub = uniform(dev, &name, bytemuck::bytes_of(&prm));
                let group = bind(dev, &name, &pl.groups[0], &[&ub, &eb, &rec, &ctl]);
                keep.push(ub);
                sources.push(SourcePop { steps, group });
            }
            keep.push(eb);
            source_pipe = Some(pl);
        }

        // Connectivity: concatenated CSR arrays and the lookup table of propagate.
        let mut out_projs = vec![vec![]; np];
        for (k, pr) in net.projs.iter().enumerate() {
            if ring_base[pr.post] != u32::MAX {
                out_projs[pr.pre].push(k as u32);
            }
        }
        let (pops_at, projs_at) = (4, 4 + 4 * np);
        let outs_at = projs_at + 8 * net.projs.len();
        let mut tab = vec![np as u32, pops_at as u32, projs_at as u32, outs_at as u32];
        let mut outs = vec![];
        for (p, o) in net.pops.iter().zip(&out_projs) {
            tab.extend([p.offset, p.size, outs.len() as u32, o.len() as u32]);
            outs.extend_from_slice(o);
        }
        let (mut row_ptr, mut targets, mut wfix, mut delays) = (vec![], vec![], vec![], vec![]);
        for pr in &net.projs {
            let post = &net.pops[pr.post];
            let (dconst, doff) = match &pr.delays {
                Delays::Const(d) => (u32::from(*d), 0),
                Delays::PerSynapse(ds) => {
                    let at = delays.len() as u32;
                    delays.extend(ds.iter().map(|&d| u32::from(d)));
                    (0, at)
                }
            };
            tab.extend([
                ring_base[pr.post],
                post.size,
                post.ring_depth,
                pr.receptor as u32,
                row_ptr.len() as u32,
                targets.len() as u32,
                dconst,
                doff,
            ]);
            row_ptr.extend_from_slice(&pr.row_ptr);
            targets.extend_from_slice(&pr.targets);
            wfix.extend_from_slice(&pr.wfix);
        }
        if targets.len() as u64 >= u64::from(u32::MAX)
            || row_ptr.len() as u64 >= u64::from(u32::MAX)
        {
            return Err(gpu_err("more than 2^32 synapses"));
        }
        tab.extend(outs);
        let tab_buf = storage(&ctx, "connectivity table", bytemuck::cast_slice(&tab))?;
        let row_buf = storage(&ctx, "row pointers", bytemuck::cast_slice(&row_ptr))?;
        let tgt_buf = storage(&ctx, "synapse targets", bytemuck::cast_slice(&targets))?;
        let w_buf = storage(&ctx, "synapse weights", bytemuck::cast_slice(&wfix))?;
        let d_buf = storage(&ctx, "synapse delays", bytemuck::cast_slice(&delays))?;
        let dispatch = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("propagate dispatch"),
            contents: bytemuck::cast_slice(&[0u32, 1, 1]),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::INDIRECT,
        });
        let args_pipe = mk(
            "propagate args",
            PROPAGATE,
            "args",
            &[&[B::W, B::R], &[B::W]],
        )?;
        let prop_pipe = mk(
            "propagate",
            PROPAGATE,
            "main",
            &[&[B::W, B::R, B::R, B::R, B::R, B::R, B::R, B::W]],
        )?;
        let args_groups = [
            bind(dev, "args", &args_pipe.groups[0], &[&ctl, &rec]),
            bind(dev, "args dispatch", &args_pipe.groups[1], &[&dispatch]),
        ];
        let prop_group = bind(
            dev,
            "propagate",
            &prop_pipe.groups[0],
            &[
                &ctl, &rec, &tab_buf, &row_buf, &tgt_buf, &w_buf, &d_buf, &ring,
            ],
        );
        keep.extend([tab_buf, row_buf, tgt_buf, w_buf, d_buf]);

        Ok(GpuBackend {
            names: net.pops.iter().map(|p| p.name.clone()).collect(),
            neurons,
            poisson,
            sources,
            pipes,
            noise_pipe,
            bernoulli_pipe,
            chunks_pipe,
            source_pipe,
            args_pipe,
            prop_pipe,
            step_buf,
            step_group,
            step_stride: stride,
            ctl,
            rec,
            rec_cap,
            dispatch,
            args_groups,
            prop_group,
            unread_steps: 0,
            batch_steps,
            pending: vec![],
            ring_at,
            ring,
            _keep: keep,
            ctx,
        })
    }

    /// Encodes the chosen phases of `step`, reading the step from uniform slot `slot`.
    fn encode_step(&self, pass: &mut wgpu::ComputePass<'_>, step: u64, slot: u64, ph: Phases) {
        let off = [(slot * self.step_stride) as u32];
        let mut go = |pl: &Pipe, group: &wgpu::BindGroup, (x, y): (u32, u32)| {
            if x == 0 {
                return;
            }
            pass.set_pipeline(&pl.pipeline);
            pass.set_bind_group(0, &self.step_group, &off);
            pass.set_bind_group(1, group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        };
        if ph.inputs {
            if let Some(pl) = &self.noise_pipe {
                for np in &self.neurons {
                    if let Some(g) = &np.inputs {
                        go(pl, g, grid(np.n));
                    }
                }
            }
            for pp in &self.poisson {
                if step >= pp.start && step < pp.stop {
                    let pl = if pp.chunks {
                        &self.chunks_pipe
                    } else {
                        &self.bernoulli_pipe
                    };
                    go(pl.as_ref().expect("built"), &pp.group, grid(pp.threads));
                }
            }
            for sp in &self.sources {
                let count = sp.steps.partition_point(|&s| s <= step)
                    - sp.steps.partition_point(|&s| s < step);
                if count > 0 {
                    let pl = self.source_pipe.as_ref().expect("built");
                    go(pl, &sp.group, grid(count as u32));
                }
            }
        }
        if ph.neurons {
            for np in &self.neurons {
                let pl = &self
                    .pipes
                    .iter()
                    .find(|(m, _)| *m == np.model)
                    .expect("built")
                    .1;
                go(pl, &np.group, grid(np.n));
            }
        }
        if ph.propagate {
            pass.set_pipeline(&self.args_pipe.pipeline);
            pass.set_bind_group(0, &self.step_group, &off);
            pass.set_bind_group(1, &self.args_groups[0], &[]);
            pass.set_bind_group(2, &self.args_groups[1], &[]);
            pass.dispatch_workgroups(1, 1, 1);
            pass.set_pipeline(&self.prop_pipe.pipeline);
            pass.set_bind_group(0, &self.step_group, &off);
            pass.set_bind_group(1, &self.prop_group, &[]);
            pass.dispatch_workgroups_indirect(&self.dispatch, 0);
        }
    }

    /// Encodes and submits steps `first..first + n` (n ≤ STEP_SLOTS) with the given phases.
    fn submit(&mut self, first: u64, n: u64, ph: Phases) -> crate::Result<()> {
        let mut slots = vec![0u8; (n * self.step_stride) as usize];
        for k in 0..n {
            let prm = StepParams {
                step: (first + k) as u32,
                ..Default::default()
            };
            let at = (k * self.step_stride) as usize;
            slots[at..at + std::mem::size_of::<StepParams>()]
                .copy_from_slice(bytemuck::bytes_of(&prm));
        }
        let ctx = self.ctx.clone();
        ctx.scoped("running steps", || {
            ctx.queue.write_buffer(&self.step_buf, 0, &slots);
            let mut enc = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("steps"),
                });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("steps"),
                    timestamp_writes: None,
                });
                for k in 0..n {
                    self.encode_step(&mut pass, first + k, k, ph);
                }
            }
            ctx.queue.submit([enc.finish()]);
        })
    }

    /// Reads the device spike record into `pending`, resets it, and reports
    /// overflow and non-finite state.
    fn flush(&mut self) -> crate::Result<()> {
        let ctl_words = CTL_HEAD + self.names.len();
        let ctl: Vec<u32> = read_buffer(&self.ctx, &self.ctl, 0, (ctl_words * 4) as u64)?;
        let count = u64::from(ctl[0]);
        if count > self.rec_cap {
            return Err(gpu_err(format!(
                "spike record overflow: {count} spikes in {} steps, the record holds {} \
                 (device limit max_storage_buffer_binding_size {} bytes)",
                self.unread_steps, self.rec_cap, self.ctx.limits.max_storage_buffer_binding_size
            )));
        }
        if count > 0 {
            let rec: Vec<[u32; 2]> = read_buffer(&self.ctx, &self.rec, 0, count * 8)?;
            self.pending
                .extend(rec.iter().map(|&[step, id]| Spike { step, id }));
        }
        self.ctx
            .queue
            .write_buffer(&self.ctl, 0, bytemuck::cast_slice(&[0u32; CTL_HEAD]));
        self.unread_steps = 0;
        if let Some((pi, &step)) = ctl[CTL_HEAD..]
            .iter()
            .enumerate()
            .filter(|(_, &s)| s != u32::MAX)
            .min_by_key(|(_, &s)| s)
        {
            let var = match self.neurons.iter().find(|x| x.pop == pi).map(|x| x.model) {
                Some(Model::Izhikevich) => "v/u",
                _ => "v",
            };
            return Err(crate::Error::NonFinite {
                population: self.names[pi].clone(),
                var: var.into(),
                step: u64::from(step),
            });
        }
        Ok(())
    }

    /// Makes room in the record for `steps` more steps.
    fn reserve(&mut self, steps: u64) -> crate::Result<()> {
        if self.unread_steps > 0 && self.unread_steps + steps > self.batch_steps {
            self.flush()?;
        }
        Ok(())
    }

    fn one_phase(&mut self, step: u64, ph: Phases) -> crate::Result<()> {
        check_step(step, 1)?;
        if ph.inputs {
            self.reserve(1)?;
        }
        self.submit(step, 1, ph)?;
        if ph.propagate {
            self.unread_steps += 1;
        }
        Ok(())
    }
}

fn check_step(first: u64, n: u64) -> crate::Result<()> {
    if first + n > u64::from(u32::MAX) {
        return Err(gpu_err("the GPU backend runs at most 2^32 - 1 steps"));
    }
    Ok(())
}

fn uniform(device: &wgpu::Device, label: &str, data: &[u8]) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: data,
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

const STORAGE_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A storage buffer holding `data` (at least 4 bytes: bindings cannot be empty).
fn storage(ctx: &GpuContext, label: &str, data: &[u8]) -> crate::Result<wgpu::Buffer> {
    ctx.check_size(label, data.len() as u64)?;
    let contents: &[u8] = if data.is_empty() { &[0; 4] } else { data };
    Ok(ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: STORAGE_USAGE,
        }))
}

/// A zeroed storage buffer of `bytes`.
fn storage_sized(ctx: &GpuContext, label: &str, bytes: u64) -> crate::Result<wgpu::Buffer> {
    ctx.check_size(label, bytes)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4),
        usage: STORAGE_USAGE,
        mapped_at_creation: false,
    }))
}

/// Copies `bytes` of `buf` from `offset` to the host (waits for the device).
fn read_buffer<T: Pod>(
    ctx: &GpuContext,
    buf: &wgpu::Buffer,
    offset: u64,
    bytes: u64,
) -> crate::Result<Vec<T>> {
    let staging = ctx.scoped("reading back", || {
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read back"),
            });
        enc.copy_buffer_to_buffer(buf, offset, &staging, 0, bytes);
        ctx.queue.submit([enc.finish()]);
        staging
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    ctx.wait()?;
    rx.recv()
        .map_err(|_| gpu_err("read-back callback never ran"))?
        .map_err(|e| gpu_err(format!("mapping a read-back buffer: {e}")))?;
    let out = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| gpu_err(format!("mapping a read-back buffer: {e}")))?;
        bytemuck::cast_slice::<u8, T>(&view).to_vec()
    };
    staging.unmap();
    Ok(out)
}

impl Backend for GpuBackend {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn device(&self) -> String {
        self.ctx.device_name()
    }

    fn inputs(&mut self, step: u64) -> crate::Result<()> {
        let ph = Phases {
            inputs: true,
            neurons: false,
            propagate: false,
        };
        self.one_phase(step, ph)
    }

    fn neurons(&mut self, step: u64) -> crate::Result<()> {
        let ph = Phases {
            inputs: false,
            neurons: true,
            propagate: false,
        };
        self.one_phase(step, ph)
    }

    fn propagate(&mut self, step: u64) -> crate::Result<()> {
        let ph = Phases {
            inputs: false,
            neurons: false,
            propagate: true,
        };
        self.one_phase(step, ph)
    }

    fn drain_spikes(&mut self, out: &mut Vec<Spike>) -> crate::Result<()> {
        if self.unread_steps > 0 {
            self.flush()?;
        }
        // The order inside a step depends on scheduling; the contract is (step, id).
        self.pending.sort_unstable();
        out.append(&mut self.pending);
        Ok(())
    }

    fn read_state(&mut self, pop: usize, var: &str, out: &mut Vec<f32>) -> crate::Result<()> {
        let name = self
            .names
            .get(pop)
            .ok_or_else(|| crate::Error::Invalid(format!("no population with index {pop}")))?;
        let np = self.neurons.iter().find(|x| x.pop == pop);
        let (buf, at) = match (np, var) {
            (Some(np), "i_ext") => (&np.i_ext, 0),
            (Some(np), v) => match np.model.vars().iter().position(|x| *x == v) {
                Some(k) if v != "refrac" && !matches!(v, "a" | "b" | "c" | "d") => (&np.state, k),
                _ => (&np.state, usize::MAX),
            },
            (None, _) => (&self.ctl, usize::MAX),
        };
        if at == usize::MAX {
            return Err(crate::Error::Invalid(format!(
                "population '{name}' has no state variable '{var}'"
            )));
        }
        let n = u64::from(np.expect("neuron population").n);
        *out = if n == 0 {
            vec![]
        } else {
            read_buffer(&self.ctx, buf, at as u64 * n * 4, n * 4)?
        };
        Ok(())
    }

    fn run(&mut self, first: u64, n: u64) -> crate::Result<()> {
        check_step(first, n)?;
        let end = first + n;
        let mut step = first;
        while step < end {
            self.reserve(1)?;
            let room = self.batch_steps - self.unread_steps;
            let k = (end - step).min(STEP_SLOTS).min(room);
            self.submit(step, k, ALL_PHASES)?;
            self.unread_steps += k;
            step += k;
        }
        self.flush()
    }
}
