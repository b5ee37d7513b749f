//! Control between runs, for closed loops and per-sample protocols: back to
//! the state after build, new rates for a Poisson source, new events for a
//! spike source, new levels for a current or noise input; snapshots of the
//! state to come back to.
use super::Simulator;
use super::monitors::Tally;
use crate::backend::{InputLevel, Snapshot};
use crate::build::PoissonKind;
use crate::neuron::registry::SourceType;
use crate::neuron::spike_source::SpikeSourceParams;

/// A snapshot of every instance ([`Simulator::store`]).
pub(super) struct Stored {
    step: u64,
    instances: Vec<Snapshot>,
    tallies: Vec<Tally>,
}

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
    /// The instances of a batch share one clock, so a reset takes them all
    /// back: one instance cannot start a new sample while the others run on,
    /// since its per-step randomness and input times would not be a fresh
    /// run's. Independent streams of samples are simulators of their own
    /// (a `Simulator` is `Send`: one per thread).
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// use astroglia::sim::{ResetWeights, SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let net = Network::coba_like(4000, p.clone(), p, 20.0);
    /// let opts = SimOptions::default().seed(1);
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
    /// `instance`: spike k is source `ids[k]` (population-local) at
    /// `times_ms[k]` (ms since the start or the last [`Self::reset`], rounded
    /// to the nearest step; times before the current step are never emitted). Checked as the model file's
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

    /// Sets the rates of Poisson population `population` in `instance`, in
    /// Hz, from the next step on: one rate for every source, or one per
    /// source (each in [0, 1000/dt_ms]). Its active window (`start_ms`,
    /// `stop_ms`) stays, and so do the rates through [`Self::reset`]. Each
    /// instance of a batch can have its own rates, on either backend.
    ///
    /// ```
    /// use astroglia::Error;
    /// use astroglia::model::parse_toml;
    /// use astroglia::sim::{SimOptions, Simulator};
    /// let net = parse_toml(r#"
    ///     dt_ms = 0.1
    ///     [[populations]]
    ///     name = "input"
    ///     size = 100
    ///     poisson = { rate_hz = 0.0 }
    /// "#, "inline").unwrap();
    /// let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    /// sim.set_poisson_rates(0, "input", &[200.0]).unwrap();
    /// sim.run_ms(100.0).unwrap();
    /// assert!(sim.summary().populations["input"].rate_hz > 150.0);
    /// let err = sim.set_poisson_rates(0, "input", &[-1.0]).unwrap_err();
    /// assert!(matches!(err, Error::Range { value: -1.0, .. }));
    /// let err = sim.set_poisson_rates(0, "input", &[1.0, 2.0]).unwrap_err();
    /// assert!(matches!(err, Error::Length { got: 2, .. }));
    /// ```
    pub fn set_poisson_rates(
        &mut self,
        instance: usize,
        population: &str,
        rates_hz: &[f64],
    ) -> crate::Result<()> {
        self.tally(instance)?;
        let pi = self.pop_index(population)?;
        let (size, what) = (
            self.pops[pi].size,
            format!("Poisson rates of '{population}'"),
        );
        if !self.pops[pi].poisson {
            return Err(crate::Error::wrong_kind(
                format!("population '{population}'"),
                "a `poisson` source",
            ));
        }
        if rates_hz.len() != 1 && rates_hz.len() != size as usize {
            return Err(crate::Error::Length {
                what,
                expected: format!("1, or {size} (one per source)"),
                got: rates_hz.len(),
            });
        }
        let max = 1000.0 / self.dt_ms;
        if let Some(&bad) = rates_hz.iter().find(|&&r| !(r >= 0.0 && r <= max)) {
            return Err(crate::Error::Range {
                what,
                value: bad,
                expected: format!("a rate in [0, {max}] Hz"),
            });
        }
        let sampler = match rates_hz {
            [r] => PoissonKind::uniform(size, *r, self.dt_ms),
            r => PoissonKind::each(r, self.dt_ms),
        };
        self.backend.set_poisson(instance, pi, sampler)
    }

    /// Keeps a snapshot of every instance under `name` (replacing one of that
    /// name): the step, neuron state, delay rings, plasticity traces and
    /// eligibilities, plastic weights, HLOP subspaces, astrocytes, and what
    /// was recorded and tallied so far. [`Self::restore`] comes back to it:
    /// a run after a restore gives the spikes the run after the store gave.
    /// Inputs (rates, currents, spike-source events) are not part of it.
    /// The snapshot copies that state and the recording so far (drain the
    /// recording first to keep it small); the connectivity is not copied.
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// use astroglia::sim::{SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let net = Network::coba_like(4000, p.clone(), p, 20.0);
    /// let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    /// sim.run_ms(10.0).unwrap();
    /// sim.store("warm").unwrap();
    /// sim.run_ms(10.0).unwrap();
    /// let first = sim.summary().spikes_sha256;
    /// sim.restore("warm").unwrap();
    /// sim.run_ms(10.0).unwrap();
    /// assert_eq!(sim.summary().spikes_sha256, first);
    /// ```
    pub fn store(&mut self, name: &str) -> crate::Result<()> {
        let instances = (0..self.tallies.len())
            .map(|b| self.backend.snapshot(b))
            .collect::<crate::Result<_>>()?;
        let stored = Stored {
            step: self.step,
            instances,
            tallies: self.tallies.clone(),
        };
        self.stored.insert(name.to_string(), stored);
        Ok(())
    }

    /// Comes back to the snapshot [`Self::store`] kept under `name` (which
    /// stays, to restore again).
    pub fn restore(&mut self, name: &str) -> crate::Result<()> {
        let Some(s) = self.stored.get(name) else {
            let mut known: Vec<String> = self.stored.keys().cloned().collect();
            known.sort();
            return Err(crate::Error::Unknown {
                kind: "snapshot",
                name: name.into(),
                known,
            });
        };
        for (b, snap) in s.instances.iter().enumerate() {
            self.backend.restore(b, snap)?;
        }
        self.step = s.step;
        self.tallies.clone_from(&s.tallies);
        Ok(())
    }

    /// Sets the amplitude of the `current` input onto `population` in
    /// `instance` from the next step on (pA; raw units for Izhikevich), on its
    /// neurons and in its active window as the model file gave them. The
    /// population needs exactly one `current` input (amplitude 0 in the model
    /// file for one set only from code). Levels set stay through a reset.
    pub fn set_current(
        &mut self,
        instance: usize,
        population: &str,
        amplitude: f64,
    ) -> crate::Result<()> {
        let k = self.input_of(instance, population, "current")?;
        finite(&format!("current amplitude of '{population}'"), amplitude)?;
        let level = InputLevel::Current {
            amplitude: amplitude as f32,
        };
        self.backend.set_input(instance, k, level)
    }

    /// Sets the mean and standard deviation (per step) of the `noise` input
    /// onto `population` in `instance` from the next step on, as
    /// [`Self::set_current`] sets a current.
    pub fn set_noise(
        &mut self,
        instance: usize,
        population: &str,
        mean: f64,
        std: f64,
    ) -> crate::Result<()> {
        let k = self.input_of(instance, population, "noise")?;
        finite(&format!("noise mean of '{population}'"), mean)?;
        let what = format!("noise std of '{population}'");
        if !(std >= 0.0 && std.is_finite()) {
            return Err(crate::Error::Range {
                what,
                value: std,
                expected: "a finite value >= 0".into(),
            });
        }
        let level = InputLevel::Noise {
            mean: mean as f32,
            std: std as f32,
        };
        self.backend.set_input(instance, k, level)
    }

    /// The one input of `kind` onto `population`, checking `instance`.
    fn input_of(&self, instance: usize, population: &str, kind: &str) -> crate::Result<usize> {
        self.tally(instance)?;
        let pi = self.pop_index(population)?;
        let found: Vec<usize> = (self.inputs.iter().enumerate())
            .filter(|(_, (k, p))| *k == kind && *p == pi)
            .map(|(k, _)| k)
            .collect();
        match found[..] {
            [k] => Ok(k),
            _ => Err(crate::Error::Argument {
                what: format!("{kind} input of '{population}'"),
                message: format!(
                    "the model has {} onto it; a setter needs exactly one (add one to \
                     [[inputs]], with a level of 0 to set it only from code)",
                    found.len()
                ),
            }),
        }
    }
}

/// Checks that `value` of argument `what` is finite.
fn finite(what: &str, value: f64) -> crate::Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(crate::Error::Range {
            what: what.into(),
            value,
            expected: "a finite value".into(),
        })
    }
}
