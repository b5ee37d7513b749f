//! Spike sources that fire at listed times (`spike_source = { times_ms, ids }`),
//! the input of the LSM experiments, whose events each sample replaces
//! ([`crate::backend::Backend::set_spike_source`]). The GPU twin is
//! `shaders/inputs_source.wgsl`.
use super::registry::{SourceKernel, SourceType, steps_of};
use crate::rng::CounterRng;
use serde::{Deserialize, Serialize};

/// Sources that spike at listed times: spike k is source `ids[k]` at `times_ms[k]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SpikeSourceParams {
    /// Spike times in ms (rounded to the nearest step).
    #[serde(default)]
    pub times_ms: Vec<f64>,
    /// Source index of each spike.
    #[serde(default)]
    pub ids: Vec<u32>,
}

impl SpikeSourceParams {
    /// Source `ids[k]` spikes at `times_ms[k]`.
    pub fn new(times_ms: Vec<f64>, ids: Vec<u32>) -> Self {
        Self { times_ms, ids }
    }
}

/// A built spike source: its `(step, id)` events, sorted, without repeats.
#[derive(Debug, Clone, Default)]
pub struct SpikeTrain(pub Vec<(u64, u32)>);

impl SourceType for SpikeSourceParams {
    type Built = SpikeTrain;

    fn check(&self, size: u32, _dt_ms: f64) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if self.times_ms.len() != self.ids.len() {
            out.push((
                "ids",
                format!(
                    "has {} entries but times_ms has {}",
                    self.ids.len(),
                    self.times_ms.len()
                ),
            ));
        }
        if let Some(bad) = self.ids.iter().find(|&&i| i >= size) {
            out.push((
                "ids",
                format!("index {bad} out of range for a population of {size}"),
            ));
        }
        if let Some(bad) = self
            .times_ms
            .iter()
            .find(|t| !(**t >= 0.0 && t.is_finite()))
        {
            out.push((
                "times_ms",
                format!("times must be finite and >= 0, got {bad}"),
            ));
        }
        out
    }

    fn build(&self, _size: u32, dt_ms: f64) -> SpikeTrain {
        let mut ev: Vec<(u64, u32)> = self
            .times_ms
            .iter()
            .zip(&self.ids)
            .map(|(&t, &i)| (steps_of(t, dt_ms), i))
            .collect();
        ev.sort_unstable();
        ev.dedup();
        SpikeTrain(ev)
    }
}

impl SourceKernel for SpikeTrain {
    /// Emits the events of `step`, `next` being the index of the first event not
    /// yet passed (the backend keeps it per instance and rewinds it on reset).
    fn emit(&self, _: &CounterRng, _: u32, step: u64, next: &mut usize, out: &mut Vec<u32>) {
        let ev = &self.0;
        while *next < ev.len() && ev[*next].0 < step {
            *next += 1;
        }
        while *next < ev.len() && ev[*next].0 == step {
            out.push(ev[*next].1);
            *next += 1;
        }
    }
}
