//! The step on the device: which phases to encode, encoding them in
//! [`STEP`] order into one compute pass per submission, keeping the spike
//! sources' events current, and submitting chunks of steps.
use super::pipelines::{Pipe, gpu_err, grid, storage_sized};
use super::shaders::StepParams;
use super::{GpuBackend, upload};
use crate::backend::schedule::{Phase, STEP};

/// Phases to encode for a step (in [`STEP`] order).
#[derive(Clone, Copy)]
pub(super) struct Phases {
    pub(super) inputs: bool,
    pub(super) neurons: bool,
    pub(super) propagate: bool,
    pub(super) plasticity: bool,
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

pub(super) const ALL_PHASES: Phases = Phases {
    inputs: true,
    neurons: true,
    propagate: true,
    plasticity: true,
};

pub(super) const NO_PHASES: Phases = Phases {
    inputs: false,
    neurons: false,
    propagate: false,
    plasticity: false,
};

impl GpuBackend {
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
        for phase in STEP.into_iter().filter(|&p| ph.has(p)) {
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
                let pipes = self.poisson_pipes.as_ref();
                for pp in self
                    .poisson
                    .iter()
                    .filter(|pp| step >= pp.start && step < pp.stop)
                {
                    for d in &pp.dispatches {
                        let pl =
                            &pipes.expect("built with the populations")[usize::from(!d.chunks)];
                        let (x, y) = grid(d.threads);
                        pass.set_pipeline(&pl.pipeline);
                        pass.set_bind_group(0, &self.step_group, off);
                        pass.set_bind_group(1, &d.group, &[]);
                        pass.dispatch_workgroups(x, y, d.z);
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
    pub(super) fn submit(&mut self, first: u64, n: u64, ph: Phases) -> crate::Result<()> {
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

    /// Makes room in the record for `steps` more steps.
    pub(super) fn reserve(&mut self, steps: u64) -> crate::Result<()> {
        if self.unread_steps > 0 && self.unread_steps + steps > self.batch_steps {
            self.flush()?;
        }
        Ok(())
    }

    pub(super) fn one_phase(&mut self, step: u64, ph: Phases) -> crate::Result<()> {
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

pub(super) fn check_step(first: u64, n: u64) -> crate::Result<()> {
    if first + n > u64::from(u32::MAX) {
        return Err(gpu_err("the GPU backend runs at most 2^32 - 1 steps"));
    }
    Ok(())
}
