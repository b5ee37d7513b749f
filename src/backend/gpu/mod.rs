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
use super::{Backend, InputLevel, Spike};
use crate::build::{
    Built, BuiltInput, BuiltPop, Delays, Dynamics, PoissonKind, Sources, SpikeTrain,
};
use crate::rng::{CounterRng, normal_tables};
use bytemuck::Pod;
use std::sync::Arc;
use wgpu::util::DeviceExt;

mod access;
mod context;
mod pipelines;
mod plasticity;
mod poisson;
mod record;
mod schedule;
pub(crate) mod shaders;
#[doc(hidden)]
pub mod spirv;
mod upload;

pub use context::{ADAPTER_ENV, GpuContext, SHADERS_ENV, list_adapters, quiet_device_select};
use pipelines::{
    B, Pipe, bind, gpu_err, grid, layout, pipe, read_buffer, storage, storage_sized, uniform,
};
use poisson::PoissonPop;
use schedule::{ALL_PHASES, NO_PHASES, Phases, check_step};
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

struct NeuronPop {
    /// File name of its shader (the key of its pipeline).
    shader: String,
    /// The variables named when the state becomes non-finite.
    checked: String,
    /// Sections of the state buffer, in order.
    vars: Vec<String>,
    /// The sections that are state variables a user may read.
    readable: Vec<String>,
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

/// The dynamic state of a GPU instance ([`Backend::snapshot`]): the words of
/// its regions of the device buffers, in [`GpuBackend::state_regions`] order,
/// and the part of its plasticity kept on the host.
struct InstanceState {
    words: Vec<Vec<u32>>,
    plastic: Option<plasticity::HostState>,
}

/// The GPU engine: device buffers for the whole network and the pipelines it needs.
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    names: Vec<String>,
    neurons: Vec<NeuronPop>,
    poisson: Vec<PoissonPop>,
    sources: Vec<SourcePop>,
    pipes: upload::NeuronPipes,
    noise_pipe: Option<Pipe>,
    /// Current and noise terms, per instance.
    input_terms: Option<upload::InputTerms>,
    /// Per population with Poisson drives: its size and bind group.
    drives: upload::DrivePops,
    drive_pipe: Option<Pipe>,
    /// The Poisson shader's `chunks` and `bernoulli` pipelines.
    poisson_pipes: Option<[Pipe; 2]>,
    /// Philox key of each instance.
    keys: wgpu::Buffer,
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
    /// The regions of the device buffers holding `instance`'s dynamic state
    /// (neuron state, external currents, delay rings, plasticity): (buffer,
    /// byte offset, bytes), none empty.
    fn state_regions(&self, instance: usize) -> Vec<(&wgpu::Buffer, u64, u64)> {
        let b = instance as u64;
        let mut out = vec![];
        for p in &self.neurons {
            let len = (p.init.len() / self.batch as usize) as u64 * 4;
            out.push((&p.state, b * len, len));
            let n = u64::from(p.n) * 4;
            out.push((&p.i_ext, b * n, n));
        }
        let ring = u64::from(self.ring_stride) * 4;
        out.push((&self.ring, b * ring, ring));
        if let Some(pl) = &self.plastic {
            pl.state_regions(instance, &mut out);
        }
        out.retain(|r| r.2 > 0);
        out
    }

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

    fn check_instance(&self, instance: usize) -> crate::Result<()> {
        if instance < self.batch as usize {
            Ok(())
        } else {
            Err(crate::Error::no_index(
                "instance",
                instance,
                self.batch as usize,
            ))
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
        let net = instances.first().ok_or_else(|| {
            crate::Error::argument("instances", "a batch needs at least one instance")
        })?;
        if instances
            .iter()
            .any(|b| !Arc::ptr_eq(&b.projs, &net.projs) || b.pops.len() != net.pops.len())
        {
            return Err(crate::Error::incompatible(
                "batch",
                "the instances of a batch must share their connectivity (see Built::instance)",
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
        let (noise_pipe, input_terms) = load.currents(&mut neurons)?;
        let (drives, drive_pipe) = load.drives(&rings.base, &ring)?;
        let (poisson, poisson_pipes) = load.poisson(&rec, &ctl)?;
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
            input_terms,
            drives,
            drive_pipe,
            poisson_pipes,
            keys,
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
            return Err(crate::Error::Gpu(format!(
                "plasticity of step {step} must directly follow its propagation, \
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
            .ok_or_else(|| crate::Error::no_index("population", pop, self.names.len()))?;
        let Some(sp) = self.sources.iter_mut().find(|s| s.pop == pop) else {
            return Err(crate::Error::wrong_kind(
                format!("population '{name}'"),
                "a spike source",
            ));
        };
        super::check_spike_events(name, sp.size, &events)?;
        sp.events[instance] = upload::source_events(&events);
        self.source_dev
            .as_mut()
            .expect("a spike source is uploaded")
            .dirty = true;
        Ok(())
    }

    fn set_poisson(
        &mut self,
        instance: usize,
        pop: usize,
        sampler: PoissonKind,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let (Some(pp), Some([chunks, bernoulli])) = (
            self.poisson.iter_mut().find(|p| p.pop == pop),
            &self.poisson_pipes,
        ) else {
            return Err(match self.names.get(pop) {
                None => crate::Error::no_index("population", pop, self.names.len()),
                Some(name) => {
                    crate::Error::wrong_kind(format!("population '{name}'"), "a Poisson source")
                }
            });
        };
        let b = poisson::Bindings {
            ctx: &self.ctx,
            chunks,
            bernoulli,
            rec: &self.rec,
            ctl: &self.ctl,
            keys: &self.keys,
        };
        pp.set(instance, &sampler, &b)
    }

    fn snapshot(&mut self, instance: usize) -> crate::Result<super::Snapshot> {
        self.check_instance(instance)?;
        if self.unread_steps > 0 {
            self.flush()?;
        }
        let words = (self.state_regions(instance).into_iter())
            .map(|(buf, at, bytes)| read_buffer::<u32>(&self.ctx, buf, at, bytes))
            .collect::<crate::Result<_>>()?;
        let plastic = self.plastic.as_ref().map(|pl| pl.host_state(instance));
        Ok(super::Snapshot::new(InstanceState { words, plastic }))
    }

    fn restore(&mut self, instance: usize, snapshot: &super::Snapshot) -> crate::Result<()> {
        self.check_instance(instance)?;
        let s = snapshot.get::<InstanceState>().ok_or_else(|| {
            crate::Error::incompatible("snapshot", "the snapshot was not taken by the GPU backend")
        })?;
        if self.unread_steps > 0 {
            self.flush()?;
        }
        let regions = self.state_regions(instance);
        let fits = regions.len() == s.words.len()
            && (regions.iter().zip(&s.words)).all(|(r, w)| r.2 == w.len() as u64 * 4);
        if !fits {
            return Err(crate::backend::foreign_snapshot());
        }
        for ((buf, at, _), w) in regions.into_iter().zip(&s.words) {
            self.ctx
                .queue
                .write_buffer(buf, at, bytemuck::cast_slice(w));
        }
        self.pending[instance].clear();
        if let (Some(pl), Some(h)) = (&mut self.plastic, &s.plastic) {
            pl.restore_host(&self.ctx, instance, h)?;
        }
        Ok(())
    }

    fn set_input(&mut self, instance: usize, input: usize, level: InputLevel) -> crate::Result<()> {
        self.check_instance(instance)?;
        let Some((terms, t)) =
            (self.input_terms.as_ref()).and_then(|it| Some((it, (*it.term_of.get(input)?)?)))
        else {
            return Err(crate::Error::wrong_kind(
                format!("input {input}"),
                "a current or noise input",
            ));
        };
        let (a, b) = match level {
            InputLevel::Current { amplitude } => (amplitude, 0.0),
            InputLevel::Noise { mean, std } => (mean, std),
        };
        let at = (instance as u64 * u64::from(terms.stride) + u64::from(t))
            * size_of::<NoiseTerm>() as u64
            + std::mem::offset_of!(NoiseTerm, a) as u64;
        let words = match level {
            InputLevel::Current { .. } => 1,
            InputLevel::Noise { .. } => 2,
        };
        let ab = [a, b];
        (self.ctx.queue).write_buffer(&terms.buf, at, bytemuck::cast_slice(&ab[..words]));
        Ok(())
    }

    fn drain_batch(&mut self, out: &mut [Vec<Spike>]) -> crate::Result<()> {
        self.drain(out)
    }

    fn read_instance_state(
        &mut self,
        instance: usize,
        pop: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.instance_state_into(instance, pop, var, out)
    }

    fn read_weights(
        &mut self,
        instance: usize,
        proj: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.weights_into(instance, proj, out)
    }

    fn write_weights(&mut self, instance: usize, proj: usize, w: &[f32]) -> crate::Result<()> {
        self.check_instance(instance)?;
        let pr = self
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.projs.len()))?;
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
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.projs.len()))?;
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
        let pr = (self.projs.get(proj))
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.projs.len()))?;
        self.plastic
            .as_ref()
            .and_then(|pl| pl.hlop(instance, proj))
            .ok_or_else(|| super::no_hlop(pr))
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
            .ok_or_else(|| {
                let n = self.plastic.as_ref().map_or(0, |pl| pl.n_astrocytes());
                crate::Error::no_index("astrocyte", astro, n)
            })?;
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
        let pr = (self.projs.get(proj))
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.projs.len()))?;
        if pr.plastic.is_none() {
            return Err(crate::Error::wrong_kind(
                format!("projection '{}'", pr.name),
                "plastic",
            ));
        }
        let t = self
            .plastic
            .as_ref()
            .and_then(|pl| pl.read_trace(&self.ctx, instance, proj, var))
            .ok_or_else(|| crate::Error::Unknown {
                kind: "plasticity trace",
                name: var.into(),
                known: vec![],
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
