//! The GPU backend: the phases of the DESIGN.md step as WGSL compute shaders on
//! wgpu, with the same arrays and arithmetic as the CPU reference. Spikes match the
//! CPU bit for bit where f32 operations are evaluated as written: on Vulkan the
//! shaders go in as SPIR-V with `NoContraction` ([`spirv`]), and lavapipe is
//! tested to match exactly.
//!
//! Schedule: [`Backend::run`] encodes every step of the chunk into one compute
//! pass (one submission per at most [`STEP_SLOTS`] steps) with no host round trip
//! in between; the step index reaches the shaders through a uniform buffer read at
//! a dynamic offset. Per step: inputs (noise/currents, Poisson, spike sources),
//! neuron updates, then `args` turns the step's spikes into an indirect dispatch
//! of `propagate`; with plastic projections, the same indirect dispatch delivers
//! through their current weights and runs the spike phases of the rules
//! (`plasticity.rs`, `shaders/plasticity.wgsl`), then the three-factor updates
//! (`shaders/three_factor.wgsl`) and the astrocytes (`shaders/astrocyte.wgsl`).
//! Modulators, errors and HLOP rows change only between runs
//! ([`Backend::third_factor`] writes them to the device). Spikes are appended as (step, id)
//! pairs to one device record with an atomic counter and read back once per
//! `run`; `drain_spikes` sorts them.
//!
//! Between samples, [`Backend::reset`] writes an instance's state as built back
//! to the device (keeping plastic weights and frozen HLOP rows) and
//! [`Backend::set_spike_source`] replaces an instance's spike-source events (the
//! events table is uploaded again, grown if needed, before the next submission).
//!
//! Batches ([`GpuBackend::batched`]): B instances share the connectivity,
//! parameters and input tables other than spike-source events (uploaded once;
//! each instance has its own events); per-instance arrays (neuron state,
//! i_ext, delay rings, non-finite flags, Philox keys, plastic weights, traces,
//! coefficients, third factors, HLOP rows and astrocyte states) hold the instances
//! one after the other, instance-major. Every
//! per-neuron dispatch covers all instances with workgroup z = instance; all
//! instances append to the one spike record, instance b's entries as
//! (step, id + b × n_total), so the indirect propagate dispatch is sized by the
//! step's spikes over all instances, and read-back splits them again.
use super::schedule::{self, Phase};
use super::{Backend, Spike};
use crate::build::{Built, BuiltInput, BuiltPop, Delays, Dynamics, PoissonKind, STREAM_POISSON};
use crate::rng::{CounterRng, normal_tables};
use bytemuck::Pod;
use std::sync::Arc;
use wgpu::util::DeviceExt;

mod context;
mod plasticity;
pub mod shaders;
pub mod spirv;
mod upload;

pub use context::{ADAPTER_ENV, GpuContext, SHADERS_ENV, list_adapters, quiet_device_select};
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

struct NeuronPop {
    /// File name of its shader (the key of its pipeline).
    shader: &'static str,
    /// The variables named when the state becomes non-finite.
    checked: &'static str,
    /// Sections of the state buffer, in order.
    vars: &'static [&'static str],
    /// The sections that are state variables a user may read.
    readable: Vec<&'static str>,
    /// Turns state words into model units (None: f32 bits).
    decode: Option<crate::neuron::registry::Decode>,
    pop: usize,
    n: u32,
    state: wgpu::Buffer,
    /// The state as built, every instance's (for [`Backend::reset`]).
    init: Vec<u32>,
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
    pop: usize,
    size: u32,
    gid0: u32,
    /// Per instance: its sorted (step, id) events (to size each step's dispatch
    /// and to upload again when one instance's change).
    events: Vec<Vec<[u32; 2]>>,
}

impl SourcePop {
    /// Invocations step `step` needs: the most events any instance has then.
    fn count(&self, step: u64) -> u32 {
        let Ok(step) = u32::try_from(step) else {
            return 0;
        };
        self.events
            .iter()
            .map(|ev| ev.partition_point(|e| e[0] <= step) - ev.partition_point(|e| e[0] < step))
            .max()
            .unwrap_or(0) as u32
    }
}

/// The spike sources on the device: one events buffer (see
/// [`upload::source_table`]), uploaded again before the next submission once
/// some instance's events change.
struct SourceDevice {
    pipe: Pipe,
    /// Per source: its parameter block.
    params: Vec<wgpu::Buffer>,
    events: wgpu::Buffer,
    /// Per source: its bind group.
    groups: Vec<wgpu::BindGroup>,
    dirty: bool,
}

/// Phases to encode for a step (in [`schedule::STEP`] order).
#[derive(Clone, Copy)]
struct Phases {
    inputs: bool,
    neurons: bool,
    propagate: bool,
    plasticity: bool,
}

impl Phases {
    fn has(self, p: Phase) -> bool {
        match p {
            Phase::Inputs => self.inputs,
            Phase::Neurons => self.neurons,
            Phase::Propagate => self.propagate,
            Phase::Plasticity => self.plasticity,
        }
    }
}

const ALL_PHASES: Phases = Phases {
    inputs: true,
    neurons: true,
    propagate: true,
    plasticity: true,
};

const NO_PHASES: Phases = Phases {
    inputs: false,
    neurons: false,
    propagate: false,
    plasticity: false,
};

/// The GPU engine: device buffers for the whole network and the pipelines it needs.
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    names: Vec<String>,
    neurons: Vec<NeuronPop>,
    poisson: Vec<PoissonPop>,
    sources: Vec<SourcePop>,
    pipes: upload::NeuronPipes,
    noise_pipe: Option<Pipe>,
    /// Per population with Poisson drives: its size and bind group.
    drives: upload::DrivePops,
    drive_pipe: Option<Pipe>,
    bernoulli_pipe: Option<Pipe>,
    chunks_pipe: Option<Pipe>,
    source_dev: Option<SourceDevice>,
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
    /// Spikes read back and not yet drained, per instance.
    pending: Vec<Vec<Spike>>,
    /// Per population: first ring entry and ring length (0 for sources), in
    /// instance 0.
    ring_at: Vec<(u64, u64)>,
    ring: wgpu::Buffer,
    /// Instances in the batch.
    batch: u32,
    /// Neurons of one instance.
    n_total: u32,
    /// Ring entries of one instance.
    ring_stride: u32,
    /// The projections (for weight read-back) and the inverse fixed-point scale of
    /// each one's target receptor.
    projs: Arc<[crate::build::BuiltProj]>,
    proj_inv_scale: Vec<f32>,
    /// Size of each projection's postsynaptic population.
    post_size: Vec<u32>,
    /// Weights, traces and pipelines of the plastic projections.
    plastic: Option<plasticity::GpuPlasticity>,
    /// The step whose propagation ran alone ([`Backend::propagate`]) and whose
    /// spikes the plasticity phase may still read from the record.
    propagated: Option<u64>,
}

impl GpuBackend {
    /// Opens the best adapter (or the one named by `adapter` / `ASTROGLIA_ADAPTER`)
    /// and uploads the network.
    pub fn new(net: &Built, adapter: Option<&str>) -> crate::Result<Self> {
        Self::with_context(Arc::new(GpuContext::new(adapter)?), net)
    }

    /// A batch of instances (see [`Built::instance`]) on the best adapter (or the
    /// one named). Instance b's spikes are those it produces alone.
    pub fn batched(instances: &[Built], adapter: Option<&str>) -> crate::Result<Self> {
        Self::batched_with_context(Arc::new(GpuContext::new(adapter)?), instances)
    }

    /// Uploads the network to an existing device (tests share one).
    pub fn with_context(ctx: Arc<GpuContext>, net: &Built) -> crate::Result<Self> {
        Self::with_record(ctx, net, None)
    }

    /// Uploads a batch of instances (see [`Built::instance`]: they must share
    /// their connectivity) to an existing device.
    pub fn batched_with_context(ctx: Arc<GpuContext>, instances: &[Built]) -> crate::Result<Self> {
        Self::batched_with_record(ctx, instances, None)
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
        Self::batched_with_record(ctx, std::slice::from_ref(net), entries)
    }

    /// [`Self::batched_with_context`] with a spike record of `entries` (step, id)
    /// pairs shared by all instances (see [`Self::with_record`]; the read-backs
    /// then come every `entries / (neurons × instances)` steps).
    pub fn batched_with_record(
        ctx: Arc<GpuContext>,
        instances: &[Built],
        entries: Option<u64>,
    ) -> crate::Result<Self> {
        let c = ctx.clone();
        c.scoped("uploading the network", || {
            Self::upload(ctx, instances, entries)
        })?
    }

    /// The delay ring of population `pop` of instance 0, laid out as
    /// [`CpuBackend::ring`] (empty for sources). For per-phase parity tests.
    ///
    /// [`CpuBackend::ring`]: super::CpuBackend::ring
    pub fn ring(&self, pop: usize) -> crate::Result<Vec<i32>> {
        self.instance_ring(0, pop)
    }

    /// The delay ring of population `pop` of `instance` (see [`Self::ring`]).
    pub fn instance_ring(&self, instance: usize, pop: usize) -> crate::Result<Vec<i32>> {
        self.check_instance(instance)?;
        let (base, len) = self.ring_at.get(pop).copied().unwrap_or((0, 0));
        if len == 0 {
            return Ok(vec![]);
        }
        let at = base + instance as u64 * u64::from(self.ring_stride);
        read_buffer(&self.ctx, &self.ring, at * 4, len * 4)
    }

    fn check_instance(&self, instance: usize) -> crate::Result<()> {
        if instance < self.batch as usize {
            Ok(())
        } else {
            Err(crate::Error::Invalid(format!(
                "no instance {instance} (the batch has {})",
                self.batch
            )))
        }
    }

    /// The device context.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    fn upload(
        ctx: Arc<GpuContext>,
        instances: &[Built],
        entries: Option<u64>,
    ) -> crate::Result<Self> {
        let net = instances
            .first()
            .ok_or_else(|| crate::Error::Invalid("a batch needs at least one instance".into()))?;
        if instances
            .iter()
            .any(|b| !Arc::ptr_eq(&b.projs, &net.projs) || b.pops.len() != net.pops.len())
        {
            return Err(crate::Error::Invalid(
                "the instances of a batch must share their connectivity (see Built::instance)"
                    .into(),
            ));
        }
        let dev = &ctx.device;
        let np = net.pops.len();
        let batch = instances.len() as u64;
        let max_z = u64::from(ctx.limits.max_compute_workgroups_per_dimension);
        if batch > max_z {
            return Err(gpu_err(format!(
                "a batch of {batch} instances is more than the device's \
                 max_compute_workgroups_per_dimension ({max_z}) on {}",
                ctx.info.name
            )));
        }
        // Record ids carry the instance as id + b × n_total.
        let n_total = u64::from(net.n_neurons()).max(1);
        if batch * n_total > u64::from(u32::MAX) {
            return Err(gpu_err(format!(
                "a batch of {batch} instances of {n_total} neurons exceeds 2^32 neurons"
            )));
        }
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
        let keys: Vec<[u32; 2]> = instances
            .iter()
            .map(|b| CounterRng::new(b.instance_seed).key())
            .collect();
        let keys = storage(&ctx, "philox keys", bytemuck::cast_slice(&keys))?;
        let load = upload::Loader {
            ctx: &ctx,
            net,
            instances,
            step_layout: &step_layout,
            keys: &keys,
        };

        // Spike record: every neuron of every instance spiking every step of a
        // full chunk, capped.
        let max_entries = (ctx.limits.max_storage_buffer_binding_size / 8)
            .min(ctx.limits.max_buffer_size / 8)
            .min(MAX_RECORD);
        let rec_cap = entries
            .unwrap_or(n_total * batch * STEP_SLOTS)
            .min(max_entries)
            .max(1);
        let rec = storage_sized(&ctx, "spike record", rec_cap * 8)?;
        let mut ctl_init = vec![0u32; CTL_HEAD + np * batch as usize];
        ctl_init[CTL_HEAD..].fill(u32::MAX);
        let ctl = storage(&ctx, "ctl", bytemuck::cast_slice(&ctl_init))?;

        // Delay rings of all neuron populations in one buffer (shared with propagate).
        let rings = load.ring_layout()?;
        let ring_entries = rings.len * batch;
        if ring_entries > u64::from(u32::MAX) {
            return Err(gpu_err("delay rings exceed 2^32 entries"));
        }
        let ring = storage_sized(&ctx, "delay rings", ring_entries.max(1) * 4)?;

        let (mut neurons, pipes) = load.neurons(&rings.base, &ring, &rec, &ctl)?;
        let noise_pipe = load.currents(&mut neurons)?;
        let (drives, drive_pipe) = load.drives(&rings.base, &ring)?;
        let (poisson, chunks_pipe, bernoulli_pipe) = load.poisson(&rec, &ctl)?;
        let (sources, source_dev) = load.spike_sources(&rec, &ctl)?;
        let plastic_layout = plasticity::Layout::new(net, batch)?;
        let [tab, row_ptr, targets, wfix, delays] =
            load.connectivity(&rings.base, &plastic_layout)?;

        let dispatch = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("propagate dispatch"),
            contents: bytemuck::cast_slice(&[0u32, 1, 1]),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::INDIRECT,
        });
        let args_pipe = load.pipe(
            "propagate args",
            PROPAGATE,
            "args",
            &[&[B::W, B::R], &[B::W]],
        )?;
        let prop_pipe = load.pipe(
            "propagate",
            PROPAGATE,
            "main",
            &[plasticity::PROPAGATE_LAYOUT],
        )?;
        let args_groups = [
            bind(dev, "args", &args_pipe.groups[0], &[&ctl, &rec]),
            bind(dev, "args dispatch", &args_pipe.groups[1], &[&dispatch]),
        ];
        let prop_group = bind(
            dev,
            "propagate",
            &prop_pipe.groups[0],
            &[&ctl, &rec, &tab, &row_ptr, &targets, &wfix, &delays, &ring],
        );
        let plastic = plasticity::GpuPlasticity::upload(
            &load,
            plastic_layout,
            plasticity::Shared {
                ctl: &ctl,
                rec: &rec,
                tab: &tab,
                row_ptr: &row_ptr,
                targets: &targets,
                delays: &delays,
                ring: &ring,
            },
        )?;

        Ok(GpuBackend {
            names: net.pops.iter().map(|p| p.name.clone()).collect(),
            neurons,
            poisson,
            sources,
            pipes,
            noise_pipe,
            drives,
            drive_pipe,
            bernoulli_pipe,
            chunks_pipe,
            source_dev,
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
            batch_steps: (rec_cap / (n_total * batch)).max(1),
            pending: vec![vec![]; batch as usize],
            ring_at: rings.at,
            ring,
            batch: batch as u32,
            n_total: n_total as u32,
            ring_stride: rings.len as u32,
            proj_inv_scale: net
                .projs
                .iter()
                .map(|p| net.pops[p.post].inv_scale[p.receptor])
                .collect(),
            post_size: net.projs.iter().map(|p| net.pops[p.post].size).collect(),
            projs: net.projs.clone(),
            plastic,
            propagated: None,
            ctx,
        })
    }

    /// Encodes the chosen phases of `step`, reading the step from uniform slot `slot`.
    fn encode_step(&self, pass: &mut wgpu::ComputePass<'_>, step: u64, slot: u64, ph: Phases) {
        let off = [(slot * self.step_stride) as u32];
        let z = self.batch;
        let go = |pass: &mut wgpu::ComputePass<'_>,
                  pl: &Pipe,
                  group: &wgpu::BindGroup,
                  (x, y): (u32, u32)| {
            if x == 0 {
                return;
            }
            pass.set_pipeline(&pl.pipeline);
            pass.set_bind_group(0, &self.step_group, &off);
            pass.set_bind_group(1, group, &[]);
            pass.dispatch_workgroups(x, y, z);
        };
        for phase in schedule::STEP.into_iter().filter(|&p| ph.has(p)) {
            self.encode_phase(pass, phase, step, &off, &go);
        }
    }

    /// Encodes `phase` of `step` (step uniform at dynamic offset `off`).
    fn encode_phase(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        phase: Phase,
        step: u64,
        off: &[u32],
        go: &impl Fn(&mut wgpu::ComputePass<'_>, &Pipe, &wgpu::BindGroup, (u32, u32)),
    ) {
        match phase {
            Phase::Inputs => {
                if let Some(pl) = &self.noise_pipe {
                    for np in &self.neurons {
                        if let Some(g) = &np.inputs {
                            go(pass, pl, g, grid(np.n));
                        }
                    }
                }
                if let Some(pl) = &self.drive_pipe {
                    for (n, g) in &self.drives {
                        go(pass, pl, g, grid(*n));
                    }
                }
                for pp in &self.poisson {
                    if step >= pp.start && step < pp.stop {
                        let pl = if pp.chunks {
                            &self.chunks_pipe
                        } else {
                            &self.bernoulli_pipe
                        };
                        go(
                            pass,
                            pl.as_ref().expect("built"),
                            &pp.group,
                            grid(pp.threads),
                        );
                    }
                }
                for (sp, g) in self
                    .sources
                    .iter()
                    .zip(self.source_dev.iter().flat_map(|d| &d.groups))
                {
                    let count = sp.count(step);
                    if count > 0 {
                        let pl = &self.source_dev.as_ref().expect("built").pipe;
                        go(pass, pl, g, grid(count));
                    }
                }
            }
            Phase::Neurons => {
                for np in &self.neurons {
                    let pl = &self
                        .pipes
                        .iter()
                        .find(|(m, _)| *m == np.shader)
                        .expect("built")
                        .1;
                    go(pass, pl, &np.group, grid(np.n));
                }
            }
            Phase::Propagate => {
                pass.set_pipeline(&self.args_pipe.pipeline);
                pass.set_bind_group(0, &self.step_group, off);
                pass.set_bind_group(1, &self.args_groups[0], &[]);
                pass.set_bind_group(2, &self.args_groups[1], &[]);
                pass.dispatch_workgroups(1, 1, 1);
                pass.set_pipeline(&self.prop_pipe.pipeline);
                pass.set_bind_group(0, &self.step_group, off);
                pass.set_bind_group(1, &self.prop_group, &[]);
                pass.dispatch_workgroups_indirect(&self.dispatch, 0);
                if let Some(pl) = &self.plastic {
                    pl.encode_delivery(pass, &self.step_group, off, &self.dispatch);
                }
            }
            Phase::Plasticity => {
                if let Some(pl) = &self.plastic {
                    pl.encode_rules(pass, &self.step_group, off, &self.dispatch);
                }
            }
        }
    }

    /// Uploads the spike sources' events again if some changed, in a larger
    /// buffer (and new bind groups) when they no longer fit.
    fn sync_sources(&mut self) -> crate::Result<()> {
        let Some(dev) = self.source_dev.as_mut().filter(|d| d.dirty) else {
            return Ok(());
        };
        let table = upload::source_table(&self.sources);
        if table.len() as u64 >= u64::from(u32::MAX) {
            return Err(gpu_err("spike-source events exceed 2^32 entries"));
        }
        let bytes = table.len() as u64 * 8;
        if bytes > dev.events.size() {
            let size = bytes.max(dev.events.size().saturating_mul(3) / 2);
            let size = size
                .min(self.ctx.limits.max_storage_buffer_binding_size)
                .max(bytes);
            dev.events = storage_sized(&self.ctx, "source events", size.next_multiple_of(8))?;
            dev.groups = upload::source_groups(
                &self.ctx.device,
                &dev.pipe,
                &dev.params,
                &dev.events,
                &self.rec,
                &self.ctl,
            );
        }
        self.ctx
            .queue
            .write_buffer(&dev.events, 0, bytemuck::cast_slice(&table));
        dev.dirty = false;
        Ok(())
    }

    /// Encodes and submits steps `first..first + n` (n ≤ STEP_SLOTS) with the given phases.
    fn submit(&mut self, first: u64, n: u64, ph: Phases) -> crate::Result<()> {
        if ph.inputs {
            self.sync_sources()?;
        }
        let mut slots = vec![0u8; (n * self.step_stride) as usize];
        for k in 0..n {
            let prm = StepParams {
                step: (first + k) as u32,
                n_total: self.n_total,
                ring_stride: self.ring_stride,
                n_pops: self.names.len() as u32,
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
        let np = self.names.len();
        let ctl_words = CTL_HEAD + np * self.batch as usize;
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
            let n = self.n_total;
            for &[step, id] in &rec {
                let b = id / n;
                self.pending[b as usize].push(Spike {
                    step,
                    id: id - b * n,
                });
            }
        }
        self.ctx
            .queue
            .write_buffer(&self.ctl, 0, bytemuck::cast_slice(&[0u32; CTL_HEAD]));
        self.unread_steps = 0;
        // The record no longer holds that step's spikes.
        self.propagated = None;
        // As the CPU reports it: the first instance that blew up, its first step.
        if let Some((pi, &step)) = ctl[CTL_HEAD..]
            .chunks(np.max(1))
            .find(|flags| flags.iter().any(|&s| s != u32::MAX))
            .and_then(|flags| {
                flags
                    .iter()
                    .enumerate()
                    .filter(|&(_, &s)| s != u32::MAX)
                    .min_by_key(|&(_, &s)| s)
            })
        {
            let var = self
                .neurons
                .iter()
                .find(|x| x.pop == pi)
                .map_or("v", |x| x.checked);
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

    fn batch(&self) -> usize {
        self.batch as usize
    }

    fn inputs(&mut self, step: u64) -> crate::Result<()> {
        let ph = Phases {
            inputs: true,
            ..NO_PHASES
        };
        self.one_phase(step, ph)
    }

    fn neurons(&mut self, step: u64) -> crate::Result<()> {
        let ph = Phases {
            neurons: true,
            ..NO_PHASES
        };
        self.one_phase(step, ph)
    }

    fn propagate(&mut self, step: u64) -> crate::Result<()> {
        let ph = Phases {
            propagate: true,
            ..NO_PHASES
        };
        self.one_phase(step, ph)?;
        self.propagated = Some(step);
        Ok(())
    }

    /// Phase 4 of `step`, which must directly follow [`Backend::propagate`] of
    /// `step`: it reads the step's spikes from the device record, which draining
    /// spikes empties.
    fn plasticity(&mut self, step: u64) -> crate::Result<()> {
        if self.plastic.is_none() {
            return Ok(());
        }
        if self.propagated.take() != Some(step) {
            return Err(crate::Error::Invalid(format!(
                "GPU plasticity of step {step} must directly follow its propagation, \
                 before spikes are drained"
            )));
        }
        let ph = Phases {
            plasticity: true,
            ..NO_PHASES
        };
        self.one_phase(step, ph)
    }

    /// Writes the state as built to the device (neuron state, zeroed i_ext and
    /// delay rings, plasticity traces, third factors, coefficients and astrocyte
    /// states) and drops the instance's spikes not yet drained. Spike sources need
    /// nothing: each step finds its events by binary search.
    fn reset(&mut self, instance: usize) -> crate::Result<()> {
        self.check_instance(instance)?;
        let b = instance as u64;
        let np = self.names.len();
        let queue = &self.ctx.queue;
        // Its non-finite flags too, so that the flush below reports only others'.
        if np > 0 {
            queue.write_buffer(
                &self.ctl,
                (CTL_HEAD as u64 + b * np as u64) * 4,
                bytemuck::cast_slice(&vec![u32::MAX; np]),
            );
        }
        if self.unread_steps > 0 {
            self.flush()?;
        }
        self.pending[instance].clear();
        let queue = &self.ctx.queue;
        for p in &self.neurons {
            let len = p.init.len() / self.batch as usize;
            let init = &p.init[instance * len..(instance + 1) * len];
            if !init.is_empty() {
                queue.write_buffer(&p.state, b * len as u64 * 4, bytemuck::cast_slice(init));
            }
            let n = u64::from(p.n);
            if n > 0 {
                queue.write_buffer(&p.i_ext, b * n * 4, &vec![0u8; n as usize * 4]);
            }
        }
        let stride = u64::from(self.ring_stride);
        if stride > 0 {
            queue.write_buffer(&self.ring, b * stride * 4, &vec![0u8; stride as usize * 4]);
        }
        if let Some(pl) = &mut self.plastic {
            pl.reset(&self.ctx, instance);
        }
        Ok(())
    }

    fn set_spike_source(
        &mut self,
        instance: usize,
        pop: usize,
        events: Vec<(u64, u32)>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let name = self
            .names
            .get(pop)
            .ok_or_else(|| crate::Error::Invalid(format!("no population with index {pop}")))?;
        let Some(sp) = self.sources.iter_mut().find(|s| s.pop == pop) else {
            return Err(crate::Error::Invalid(format!(
                "population '{name}' is not a spike source"
            )));
        };
        super::check_spike_events(name, sp.size, &events)?;
        sp.events[instance] = upload::source_events(&events);
        self.source_dev
            .as_mut()
            .expect("a spike source is uploaded")
            .dirty = true;
        Ok(())
    }

    fn drain_batch(&mut self, out: &mut [Vec<Spike>]) -> crate::Result<()> {
        super::check_batch_len(out.len(), self.batch as usize)?;
        if self.unread_steps > 0 {
            self.flush()?;
        }
        // The order inside a step depends on scheduling; the contract is (step, id).
        for (pending, out) in self.pending.iter_mut().zip(out) {
            pending.sort_unstable();
            out.append(pending);
        }
        Ok(())
    }

    fn read_instance_state(
        &mut self,
        instance: usize,
        pop: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let name = self
            .names
            .get(pop)
            .ok_or_else(|| crate::Error::Invalid(format!("no population with index {pop}")))?;
        let np = self.neurons.iter().find(|x| x.pop == pop);
        // Blocks of n values: instance b's i_ext is block b, its variable k block
        // b × vars + k of the state buffer.
        let (buf, at) = match (np, var) {
            (Some(np), "i_ext") => (&np.i_ext, instance),
            (Some(np), v) => match np.vars.iter().position(|x| *x == v) {
                Some(k) if np.readable.contains(&v) => (&np.state, instance * np.vars.len() + k),
                _ => (&np.state, usize::MAX),
            },
            (None, _) => (&self.ctl, usize::MAX),
        };
        if at == usize::MAX {
            return Err(crate::Error::Invalid(format!(
                "population '{name}' has no state variable '{var}'"
            )));
        }
        let np = np.expect("neuron population");
        let n = u64::from(np.n);
        *out = if n == 0 {
            vec![]
        } else {
            read_buffer(&self.ctx, buf, at as u64 * n * 4, n * 4)?
        };
        if let (Some(decode), true) = (&np.decode, var != "i_ext") {
            out.iter_mut().for_each(|x| *x = decode(var, x.to_bits()));
        }
        Ok(())
    }

    fn read_weights(
        &mut self,
        instance: usize,
        proj: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let pr = self
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::Invalid(format!("no projection with index {proj}")))?;
        if let Some(w) = self
            .plastic
            .as_ref()
            .and_then(|pl| pl.read_weights(&self.ctx, instance, proj))
        {
            *out = w?;
            return Ok(());
        }
        let inv = self.proj_inv_scale[proj];
        out.clear();
        out.extend(pr.wfix.iter().map(|&w| w as f32 * inv));
        Ok(())
    }

    fn write_weights(&mut self, instance: usize, proj: usize, w: &[f32]) -> crate::Result<()> {
        self.check_instance(instance)?;
        let pr = self
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::Invalid(format!("no projection with index {proj}")))?;
        let w = super::clipped_weights(pr, w)?;
        let pl = self
            .plastic
            .as_ref()
            .expect("a plastic projection is uploaded");
        pl.write_weights(&self.ctx, instance, proj, &w);
        Ok(())
    }

    fn third_factor(
        &mut self,
        instance: usize,
        proj: usize,
        cmd: super::ThirdFactor<'_>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let pr = self
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::Invalid(format!("no projection with index {proj}")))?;
        super::check_third_factor(pr, self.post_size[proj] as usize, &cmd)?;
        let pl = self
            .plastic
            .as_mut()
            .expect("a plastic projection is uploaded");
        pl.third_factor(&self.ctx, instance, proj, cmd)
    }

    fn read_hlop(
        &mut self,
        instance: usize,
        proj: usize,
    ) -> crate::Result<crate::plasticity::hlop::Hlop> {
        self.check_instance(instance)?;
        self.plastic
            .as_ref()
            .and_then(|pl| pl.hlop(instance, proj))
            .ok_or_else(|| crate::Error::Invalid(format!("projection {proj} has no HLOP")))
    }

    fn read_astrocyte(
        &mut self,
        instance: usize,
        astro: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let a = self
            .plastic
            .as_ref()
            .and_then(|pl| pl.read_astrocyte(&self.ctx, instance, astro))
            .ok_or_else(|| crate::Error::Invalid(format!("no astrocyte with index {astro}")))?;
        *out = a?;
        Ok(())
    }

    fn read_trace(
        &mut self,
        instance: usize,
        proj: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let t = self
            .plastic
            .as_ref()
            .and_then(|pl| pl.read_trace(&self.ctx, instance, proj, var))
            .ok_or_else(|| {
                crate::Error::Invalid(format!("projection {proj} has no plasticity trace '{var}'"))
            })?;
        *out = t?;
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
