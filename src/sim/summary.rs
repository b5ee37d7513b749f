//! The run's summary: the `summary.json` schema, per-population and
//! per-instance figures, plasticity statistics and the phase times.
use super::Simulator;
use super::monitors::Tally;
use crate::analysis::{BranchingReport, rate_hz};
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-population figures of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopSummary {
    /// Neurons.
    pub size: u32,
    /// Spikes emitted.
    pub spikes: u64,
    /// spikes / (size × duration).
    pub rate_hz: f64,
    /// Mean CV of ISIs over neurons with ≥ 3 spikes (null when none).
    pub cv_isi: Option<f64>,
}

/// Bytes of synapse and neuron storage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryBytes {
    /// CSR arrays of all projections.
    pub synapses: u64,
    /// State, parameters and delay rings.
    pub neurons: u64,
}

/// The stable `summary.json` schema of DESIGN.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// Device description.
    pub device: String,
    /// Seed.
    pub seed: u64,
    /// Step, ms.
    pub dt_ms: f64,
    /// Simulated time, ms.
    pub duration_ms: f64,
    /// Steps run.
    pub steps: u64,
    /// Network construction time, s.
    pub build_s: f64,
    /// Simulation loop time, s.
    pub sim_s: f64,
    /// Wall time per phase of the step (`inputs`, `neurons`, `propagate`,
    /// `plasticity`: `sim_s` shared out by the phases' shares of the steps timed,
    /// one in 8, of instance 0 of a batch; absent on the GPU, whose phases
    /// overlap on the device) and
    /// `record` (draining, tallying and monitoring spikes, outside `sim_s`), s.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub phase_s: BTreeMap<String, f64>,
    /// Whole run time (set by the caller), s.
    pub wall_s: f64,
    /// Per population.
    pub populations: BTreeMap<String, PopSummary>,
    /// Σ over spikes of the spiking neuron's out-degree.
    pub synaptic_events: u64,
    /// synaptic_events / sim_s.
    pub events_per_s: f64,
    /// Storage.
    pub memory_bytes: MemoryBytes,
    /// SHA-256 over (step, id) little-endian u32 pairs sorted by step then id.
    pub spikes_sha256: String,
    /// Per plastic projection, its weight statistics (instance 0; absent without
    /// plasticity). Filled by [`Simulator::plasticity_summary`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub plasticity: BTreeMap<String, PlasticSummary>,
    /// Branching factor of the liquid per sample and their mean (instance 0;
    /// present when `[monitors.branching]` is set and a whole sample ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branching_factor: Option<BranchingReport>,
    /// Every instance of a batch (absent for a single run; the fields above are
    /// then those of instance 0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceSummary>,
}

/// Weight statistics of a plastic projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlasticSummary {
    /// Mean weight.
    pub mean_w: f64,
    /// The rule's lower bound.
    pub w_min: f64,
    /// The rule's upper bound.
    pub w_max: f64,
    /// Fraction of weights above `w_min + 0.9 (w_max − w_min)`.
    pub frac_above_90pct: f64,
    /// Fraction of weights below `w_min + 0.1 (w_max − w_min)`.
    pub frac_below_10pct: f64,
    /// Counts in [`PlasticSummary::HIST_BINS`] equal bins over `[w_min, w_max]`.
    pub hist: Vec<u64>,
}

impl PlasticSummary {
    /// Bins of [`PlasticSummary::hist`].
    pub const HIST_BINS: usize = 20;

    /// Statistics of weights `w` within bounds `[w_min, w_max]`.
    ///
    /// ```
    /// use astroglia::sim::PlasticSummary;
    /// let s = PlasticSummary::of(&[0.0, 0.05, 0.5, 0.95, 1.0], 0.0, 1.0);
    /// assert_eq!(s.frac_above_90pct, 0.4);
    /// assert_eq!(s.frac_below_10pct, 0.4);
    /// assert_eq!(s.hist.iter().sum::<u64>(), 5);
    /// ```
    pub fn of(w: &[f32], w_min: f64, w_max: f64) -> Self {
        let n = w.len().max(1) as f64;
        let range = w_max - w_min;
        let rel = |x: f32| (x as f64 - w_min) / range;
        let hist = crate::record::WeightTrace::histogram(w, w_min, w_max, Self::HIST_BINS);
        PlasticSummary {
            mean_w: w.iter().map(|&x| x as f64).sum::<f64>() / n,
            w_min,
            w_max,
            frac_above_90pct: w.iter().filter(|&&x| rel(x) > 0.9).count() as f64 / n,
            frac_below_10pct: w.iter().filter(|&&x| rel(x) < 0.1).count() as f64 / n,
            hist,
        }
    }
}

/// The figures of one instance of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSummary {
    /// Seed of the instance's initial state and per-step randomness.
    pub seed: u64,
    /// Per population.
    pub populations: BTreeMap<String, PopSummary>,
    /// Σ over spikes of the spiking neuron's out-degree.
    pub synaptic_events: u64,
    /// As [`Summary::spikes_sha256`].
    pub spikes_sha256: String,
}

impl Simulator {
    /// See [`Summary::phase_s`].
    fn phase_s(&self) -> BTreeMap<String, f64> {
        // The sampled times give each phase's share; the measured loop time
        // is what is shared out, so one preempted sampled step (counted 8 times)
        // skews the split but not the total.
        let sampled = self.backend.phase_times();
        let total: f64 = sampled.iter().flat_map(|t| t.seconds).sum();
        let scale = if total > 0.0 { self.sim_s / total } else { 0.0 };
        let mut out: BTreeMap<String, f64> = sampled
            .iter()
            .flat_map(|t| t.named())
            .map(|(k, v)| (k.to_string(), v * scale))
            .collect();
        out.insert("record".into(), self.record_s);
        out
    }

    /// Weight statistics of every plastic projection of `instance`.
    pub fn plasticity_summary(
        &mut self,
        instance: usize,
    ) -> crate::Result<BTreeMap<String, PlasticSummary>> {
        let mut out = BTreeMap::new();
        for k in 0..self.projs.len() {
            let Some((lo, hi)) = self.projs[k].1 else {
                continue;
            };
            let mut w = vec![];
            self.backend.read_weights(instance, k, &mut w)?;
            out.insert(self.projs[k].0.clone(), PlasticSummary::of(&w, lo, hi));
        }
        Ok(out)
    }

    /// Spike counts so far, per population in model order (instance 0).
    pub fn spike_counts(&self) -> Vec<(String, u64)> {
        self.pops
            .iter()
            .zip(&self.tallies[0].counts)
            .map(|(p, &c)| (p.name.clone(), c))
            .collect()
    }

    /// SHA-256 of all spikes so far (see DESIGN.md), instance 0.
    pub fn spikes_sha256(&self) -> String {
        self.tallies[0].hasher.clone().finish()
    }

    fn instance_summary(&self, t: &Tally) -> InstanceSummary {
        let duration_ms = self.step as f64 * self.dt_ms;
        let populations = self
            .pops
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let cv = t.isi[i]
                    .as_ref()
                    .map_or(f64::NAN, crate::analysis::IsiStats::cv);
                (
                    p.name.clone(),
                    PopSummary {
                        size: p.size,
                        spikes: t.counts[i],
                        rate_hz: rate_hz(t.counts[i], p.size, duration_ms),
                        cv_isi: cv.is_finite().then_some(cv),
                    },
                )
            })
            .collect();
        InstanceSummary {
            seed: t.seed,
            populations,
            synaptic_events: t.events,
            spikes_sha256: t.hasher.clone().finish(),
        }
    }

    /// The run's summary (wall_s is left 0 for the caller to fill): instance 0's
    /// figures, and every instance's under `instances` for a batch.
    pub fn summary(&self) -> Summary {
        let first = self.instance_summary(&self.tallies[0]);
        let events: u64 = self.tallies.iter().map(|t| t.events).sum();
        Summary {
            model: self.name.clone(),
            backend: self.backend.name().into(),
            device: self.backend.device(),
            seed: self.seed,
            dt_ms: self.dt_ms,
            duration_ms: self.step as f64 * self.dt_ms,
            steps: self.step,
            build_s: self.build_s,
            sim_s: self.sim_s,
            phase_s: self.phase_s(),
            wall_s: 0.0,
            populations: first.populations,
            synaptic_events: first.synaptic_events,
            // Throughput counts the work of every instance.
            events_per_s: if self.sim_s > 0.0 {
                events as f64 / self.sim_s
            } else {
                0.0
            },
            memory_bytes: self.memory.clone(),
            spikes_sha256: first.spikes_sha256,
            plasticity: BTreeMap::new(),
            branching_factor: self.branching_report(),
            instances: if self.tallies.len() > 1 {
                self.tallies
                    .iter()
                    .map(|t| self.instance_summary(t))
                    .collect()
            } else {
                vec![]
            },
        }
    }
}
