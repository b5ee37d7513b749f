//! Poisson spike sources (`poisson = { rate_hz, rates_hz, start_ms, stop_ms }`):
//! each source spikes independently with probability rate·dt per step, drawn
//! from the counter-based RNG so that both backends draw the same spikes. The
//! GPU twin is `shaders/inputs_poisson.wgsl`.
use super::registry::SourceType;
use crate::rng::{BernoulliEach, CounterRng, PoissonSampler};
use serde::{Deserialize, Serialize};

/// Poisson spike sources: each source spikes independently with probability rate·dt per step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PoissonParams {
    /// Rate of every source in Hz (ignored when `rates_hz` is given).
    #[serde(default)]
    pub rate_hz: f64,
    /// Optional per-source rates in Hz (length = population size).
    #[serde(default)]
    pub rates_hz: Option<Vec<f64>>,
    /// First active time in ms (default 0).
    #[serde(default)]
    pub start_ms: f64,
    /// End of activity in ms, exclusive (default: never).
    #[serde(default)]
    pub stop_ms: Option<f64>,
}

impl PoissonParams {
    /// Sets the rate of every source (Hz).
    pub fn rate_hz(mut self, rate_hz: f64) -> Self {
        self.rate_hz = rate_hz;
        self
    }

    /// Sets one rate per source (Hz; length = population size).
    pub fn rates_hz(mut self, rates_hz: Vec<f64>) -> Self {
        self.rates_hz = Some(rates_hz);
        self
    }

    /// Sets the first active time (ms).
    pub fn start_ms(mut self, start_ms: f64) -> Self {
        self.start_ms = start_ms;
        self
    }

    /// Sets the end of activity (ms, exclusive).
    pub fn stop_ms(mut self, stop_ms: f64) -> Self {
        self.stop_ms = Some(stop_ms);
        self
    }
}

/// A built Poisson population, active on steps `[start, stop)`.
#[derive(Debug, Clone)]
pub struct PoissonSource {
    /// Sampler (uniform rate) or per-source probabilities.
    pub sampler: PoissonKind,
    /// First active step.
    pub start: u64,
    /// First inactive step.
    pub stop: u64,
}

/// How a Poisson population draws its spikes.
#[derive(Debug, Clone)]
pub enum PoissonKind {
    /// All sources share one rate.
    Uniform(PoissonSampler),
    /// Per-source rates.
    Each(BernoulliEach),
}

impl PoissonKind {
    /// `size` sources at one rate, probability rate·dt per step (the rate
    /// checked first, as [`PoissonParams`]'s `rate_hz` is).
    pub fn uniform(size: u32, rate_hz: f64, dt_ms: f64) -> Self {
        PoissonKind::Uniform(PoissonSampler::new(size, rate_to_p(rate_hz, dt_ms)))
    }

    /// One source per rate (checked first, as `rates_hz` is).
    pub fn each(rates_hz: &[f64], dt_ms: f64) -> Self {
        let p: Vec<f64> = rates_hz.iter().map(|&h| rate_to_p(h, dt_ms)).collect();
        PoissonKind::Each(BernoulliEach::new(&p))
    }
}

/// The probability of a spike per step at `hz`.
fn rate_to_p(hz: f64, dt_ms: f64) -> f64 {
    (hz * dt_ms / 1000.0).clamp(0.0, 1.0)
}

impl SourceType for PoissonParams {
    type Built = PoissonSource;

    fn check(&self, size: u32, dt_ms: f64) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if !(self.rate_hz >= 0.0 && self.rate_hz * dt_ms <= 1000.0) {
            out.push((
                "rate_hz",
                format!("must be in [0, 1000/dt_ms] Hz, got {}", self.rate_hz),
            ));
        }
        if let Some(r) = &self.rates_hz {
            if r.len() != size as usize {
                out.push((
                    "rates_hz",
                    format!("has {} entries, expected size = {size}", r.len()),
                ));
            }
            if let Some(bad) = r.iter().find(|&&v| !(v >= 0.0 && v * dt_ms <= 1000.0)) {
                out.push((
                    "rates_hz",
                    format!("rates must be in [0, 1000/dt_ms] Hz, got {bad}"),
                ));
            }
        }
        if !(self.start_ms >= 0.0) {
            out.push(("start_ms", format!("must be >= 0, got {}", self.start_ms)));
        }
        if let Some(s) = self.stop_ms {
            if !(s >= self.start_ms) {
                out.push(("stop_ms", format!("must be >= start_ms, got {s}")));
            }
        }
        out
    }

    fn build(&self, size: u32, dt_ms: f64) -> PoissonSource {
        PoissonSource {
            sampler: match &self.rates_hz {
                Some(r) => PoissonKind::each(r, dt_ms),
                None => PoissonKind::uniform(size, self.rate_hz, dt_ms),
            },
            start: super::registry::steps_of(self.start_ms, dt_ms),
            stop: self
                .stop_ms
                .map_or(u64::MAX, |s| super::registry::steps_of(s, dt_ms)),
        }
    }
}

impl super::registry::SourceKernel for PoissonSource {
    fn emit(&self, rng: &CounterRng, stream: u32, step: u64, _: &mut usize, out: &mut Vec<u32>) {
        if step < self.start || step >= self.stop {
            return;
        }
        match &self.sampler {
            PoissonKind::Uniform(s) => s.sample(rng, stream, step, out),
            PoissonKind::Each(s) => s.sample(rng, stream, step, out),
        }
    }
}
