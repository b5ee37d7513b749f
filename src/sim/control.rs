//! Control between runs, for closed loops and per-sample protocols: back to
//! the state after build, and new events for a spike source.
use super::Simulator;
use crate::neuron::registry::SourceType;
use crate::neuron::spike_source::SpikeSourceParams;

/// What [`Simulator::reset`] does with the weights of plastic projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetWeights {
    /// Keep what plasticity has learnt (a new sample through a trained network).
    Keep,
    /// Back to the weights the network was built with.
    Restore,
}

impl Simulator {
    /// Returns every instance to the state after build: neuron state, delay
    /// rings, spike-source positions, plasticity traces, eligibilities and
    /// astrocytes; plastic weights as `weights` says. Steps count from 0
    /// again, and per-step randomness is keyed by the step, so a run after a
    /// reset gives the spikes the same run gives on a new simulator. The
    /// recording, the monitors and the summary start again too (drain or read
    /// them first). Events set by [`Self::set_spike_source`] are kept.
    /// For `Restore` the simulator keeps a copy of the built plastic weights
    /// (4 bytes per plastic synapse, read once at construction).
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// use astroglia::sim::{ResetWeights, SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let net = Network::coba_like(4000, p.clone(), p, 20.0);
    /// let opts = SimOptions { seed: Some(1), ..Default::default() };
    /// let mut sim = Simulator::new(&net, opts).unwrap();
    /// sim.run_ms(20.0).unwrap();
    /// let first = sim.summary().spikes_sha256;
    /// sim.reset(ResetWeights::Restore).unwrap();
    /// sim.run_ms(20.0).unwrap();
    /// assert_eq!(sim.summary().spikes_sha256, first);
    /// ```
    pub fn reset(&mut self, weights: ResetWeights) -> crate::Result<()> {
        for instance in 0..self.tallies.len() {
            self.backend.reset(instance)?;
            if weights == ResetWeights::Restore {
                for (k, w0) in self.initial_weights.iter().enumerate() {
                    if let Some(w0) = w0 {
                        self.backend.write_weights(instance, k, w0)?;
                    }
                }
            }
        }
        self.step = 0;
        self.sim_s = 0.0;
        self.record_s = 0.0;
        self.tallies.iter_mut().for_each(|t| t.clear());
        Ok(())
    }

    /// Replaces the events of spike-source population `population` of
    /// `instance`: spike k is source `ids[k]` at `times_ms[k]` (ms since the
    /// start or the last [`Self::reset`], rounded to the nearest step; times
    /// before the current step are never emitted). Checked as the model file's
    /// `spike_source` is: equal lengths, ids within the population, times
    /// finite and non-negative.
    pub fn set_spike_source(
        &mut self,
        instance: usize,
        population: &str,
        times_ms: &[f64],
        ids: &[u32],
    ) -> crate::Result<()> {
        self.tally(instance)?;
        let pi = self.pop_index(population)?;
        let params = SpikeSourceParams {
            times_ms: times_ms.to_vec(),
            ids: ids.to_vec(),
        };
        let problems = params.check(self.pops[pi].size, self.dt_ms);
        if let Some((field, msg)) = problems.first() {
            return Err(crate::Error::Argument {
                what: format!("spike source '{population}': {field}"),
                message: msg.clone(),
            });
        }
        let events = params.build(self.pops[pi].size, self.dt_ms).0;
        self.backend.set_spike_source(instance, pi, events)
    }
}
