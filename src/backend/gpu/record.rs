//! Read-back: the device spike record (and the non-finite flags beside it)
//! into each instance's pending spikes, draining them in (step, id) order, and
//! the delay rings for the per-phase parity tests.
use super::pipelines::{gpu_err, read_buffer};
use super::{CTL_HEAD, GpuBackend};
use crate::backend::Spike;

impl GpuBackend {
    /// The delay ring of population `pop` of instance 0, laid out as
    /// [`CpuBackend::ring`] (empty for sources). For per-phase parity tests.
    ///
    /// [`CpuBackend::ring`]: crate::backend::CpuBackend::ring
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

    /// Reads the device spike record into `pending`, resets it, and reports
    /// overflow and non-finite state.
    pub(super) fn flush(&mut self) -> crate::Result<()> {
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
                .map_or("v", |x| &x.checked);
            return Err(crate::Error::NonFinite {
                population: self.names[pi].clone(),
                var: var.into(),
                step: u64::from(step),
            });
        }
        Ok(())
    }

    /// Drains the spikes read back so far (see [`Backend::drain_batch`]).
    ///
    /// [`Backend::drain_batch`]: crate::backend::Backend::drain_batch
    pub(super) fn drain(&mut self, out: &mut [Vec<Spike>]) -> crate::Result<()> {
        crate::backend::check_batch_len(out.len(), self.batch as usize)?;
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
}
