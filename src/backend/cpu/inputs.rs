//! The CPU input phase: spike sources, Poisson sources, currents and noise, and
//! Poisson drives into this step's ring slot (shaders/inputs_*.wgsl).
use super::instance::{Instance, ring_stride};
use crate::build::{BuiltInput, Dynamics};
use crate::rng::normal_f32;

impl Instance {
    fn apply_inputs(&mut self, pi: usize, step: u64) {
        let inputs = &self.pop_inputs[pi];
        if inputs.is_empty() {
            return;
        }
        let mut has_noise = false;
        let mut sig = Vec::with_capacity(inputs.len());
        for &k in inputs {
            match &self.net.inputs[k] {
                BuiltInput::Noise { .. } => has_noise = true,
                BuiltInput::Current { start, stop, .. } => sig.push(step >= *start && step < *stop),
                BuiltInput::Poisson { .. } => {}
            }
        }
        if !has_noise && self.current_sig[pi].as_ref() == Some(&sig) {
            return;
        }
        let i_ext = &mut self.i_ext[pi];
        i_ext.fill(0.0);
        for &k in inputs {
            match &self.net.inputs[k] {
                BuiltInput::Current {
                    ids,
                    amplitude,
                    start,
                    stop,
                    ..
                } => {
                    if step >= *start && step < *stop {
                        match ids {
                            None => i_ext.iter_mut().for_each(|x| *x += amplitude),
                            Some(ids) => ids.iter().for_each(|&i| i_ext[i as usize] += amplitude),
                        }
                    }
                }
                BuiltInput::Noise {
                    ids,
                    mean,
                    std,
                    stream,
                    ..
                } => {
                    // Word i % 4 of block i / 4: one Philox call serves four neurons.
                    let draw = |i: u32| {
                        let w = self.rng.block(*stream, 0, step, i / 4)[(i % 4) as usize];
                        mean + std * normal_f32(w)
                    };
                    match ids {
                        None => crate::rng::add_normal_noise(
                            &self.rng, *stream, step, *mean, *std, i_ext,
                        ),
                        Some(ids) => ids.iter().for_each(|&i| i_ext[i as usize] += draw(i)),
                    }
                }
                BuiltInput::Poisson { .. } => {}
            }
        }
        self.ext_live[pi] = has_noise || sig.iter().any(|&on| on);
        self.current_sig[pi] = Some(sig);
    }

    /// Adds the Poisson drives of population `pi` to its ring slot of `step`
    /// (`slot` must be synced to `step`), which the neuron phase of the same step
    /// reads: the drive acts like synaptic input arriving now.
    fn apply_drives(&mut self, pi: usize, step: u64) {
        let n = self.net.pops[pi].size as usize;
        let stride = ring_stride(n);
        let slot = self.slot[pi];
        for &k in &self.pop_drives[pi] {
            let BuiltInput::Poisson {
                ids,
                receptor,
                wfix,
                table,
                stream,
                ..
            } = &self.net.inputs[k]
            else {
                continue;
            };
            let at = (slot * 2 + receptor) * stride;
            let dst = &mut self.rings[pi][at..at + n];
            match ids {
                None => crate::rng::add_binomial_drive(&self.rng, *stream, step, table, *wfix, dst),
                Some(ids) => {
                    for &i in ids {
                        let x = self.rng.block(*stream, 0, step, i / 4)[(i % 4) as usize];
                        let d = &mut dst[i as usize];
                        *d = d.wrapping_add(wfix.wrapping_mul(table.sample(x) as i32));
                    }
                }
            }
        }
    }

    pub(super) fn inputs(&mut self, step: u64) -> crate::Result<()> {
        self.sync_slots(step);
        for pi in 0..self.net.pops.len() {
            self.step_spikes[pi].clear();
            match &self.net.pops[pi].dynamics {
                Dynamics::Source(src) => src.emit(
                    &self.rng,
                    crate::build::STREAM_POISSON + pi as u32,
                    step,
                    &mut self.source_ptr[pi],
                    &mut self.step_spikes[pi],
                ),
                _ => {
                    self.apply_inputs(pi, step);
                    if !self.pop_drives[pi].is_empty() {
                        self.apply_drives(pi, step);
                    }
                }
            }
        }
        Ok(())
    }
}
