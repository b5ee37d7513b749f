//! Monitors: what the run records besides the summary tallies (spike trains,
//! state, rate and weight traces, the branching factor) and the per-instance
//! tally every drained chunk of spikes goes through.
use super::{PopMeta, Simulator};
use crate::analysis::{BranchingParams, BranchingReport, branching_factor};
use crate::analysis::{IsiStats, LiquidGraph, SpikeHasher};
use crate::backend::Spike;
use crate::record::{PopSpikes, RateTrace, Recording, StateTrace, WeightTrace};

/// A state monitor: what to read and how often.
pub(super) struct StateCfg {
    /// Population index, or astrocyte index when `astro`.
    pub(super) pop: usize,
    pub(super) astro: bool,
    pub(super) ids: Option<Vec<u32>>,
    pub(super) var: String,
    pub(super) every: u32,
}

/// A weight monitor: projection index, period, what to keep.
pub(super) struct WeightCfg {
    pub(super) proj: usize,
    pub(super) every: u32,
    pub(super) full: bool,
    pub(super) bins: u32,
}

/// The branching monitor: the liquid's graph, where each population's ids start
/// in it, and the sample length.
pub(super) struct BranchingCfg {
    pub(super) graph: LiquidGraph,
    pub(super) pops: Vec<(usize, u32)>,
    pub(super) sample_steps: u64,
}

/// A rate monitor: population, bin in steps and in ms.
pub(super) struct RateCfg {
    pub(super) pop: usize,
    pub(super) bin: u64,
    pub(super) bin_ms: f64,
}

/// What one instance produced so far.
#[derive(Clone)]
pub(super) struct Tally {
    pub(super) seed: u64,
    pub(super) counts: Vec<u64>,
    /// ISI statistics per population (`None`: a source nobody asked about).
    pub(super) isi: Vec<Option<IsiStats>>,
    pub(super) hasher: SpikeHasher,
    pub(super) events: u64,
    pub(super) spike_rec: Vec<Option<PopSpikes>>,
    pub(super) states: Vec<StateTrace>,
    pub(super) rates: Vec<Vec<u64>>,
    pub(super) weights: Vec<WeightTrace>,
}

impl Tally {
    /// Spikes held in the recording.
    pub(super) fn recorded_spikes(&self) -> u64 {
        self.spike_rec
            .iter()
            .flatten()
            .map(|r| r.ids.len() as u64)
            .sum()
    }

    /// Forgets what was produced, keeping what is monitored.
    pub(super) fn clear(&mut self) {
        self.counts.fill(0);
        self.isi.iter_mut().flatten().for_each(IsiStats::clear);
        self.hasher = SpikeHasher::new();
        self.events = 0;
        for r in self.spike_rec.iter_mut().flatten() {
            r.steps.clear();
            r.ids.clear();
        }
        for s in &mut self.states {
            s.steps.clear();
            s.values.clear();
        }
        self.rates.iter_mut().for_each(Vec::clear);
        for w in &mut self.weights {
            w.steps.clear();
            w.values.clear();
            w.hist.clear();
        }
    }
}

impl Simulator {
    /// Samples the state and weight monitors due at the last step run.
    pub(super) fn record_monitors(&mut self) -> crate::Result<()> {
        let last = self.step - 1;
        let mut vals = vec![];
        for (k, c) in self.state_cfg.iter().enumerate() {
            if last % c.every as u64 != 0 {
                continue;
            }
            for (b, tally) in self.tallies.iter_mut().enumerate() {
                if c.astro {
                    self.backend.read_astrocyte(b, c.pop, &mut vals)?;
                } else {
                    self.backend
                        .read_instance_state(b, c.pop, &c.var, &mut vals)?;
                }
                let trace = &mut tally.states[k];
                trace.steps.push(last);
                match &c.ids {
                    None => trace.values.extend_from_slice(&vals),
                    Some(ids) => trace.values.extend(ids.iter().map(|&i| vals[i as usize])),
                }
            }
        }
        for (k, c) in self.weight_cfg.iter().enumerate() {
            if last % c.every as u64 != 0 {
                continue;
            }
            for (b, tally) in self.tallies.iter_mut().enumerate() {
                self.backend.read_weights(b, c.proj, &mut vals)?;
                let trace = &mut tally.weights[k];
                trace.steps.push(last);
                let h = WeightTrace::histogram(&vals, trace.w_min, trace.w_max, c.bins as usize);
                trace.hist.extend(h);
                if c.full {
                    trace.values.extend_from_slice(&vals);
                }
            }
        }
        Ok(())
    }

    /// What the monitors recorded so far (instance 0).
    pub fn recording(&self) -> Recording {
        self.instance_recording(0).expect("instance 0 exists")
    }

    /// The spikes of population `population` recorded so far in `instance`
    /// (since the last drain), without copying the rest of the recording;
    /// `None` when the population is not recorded (a spike source no spikes
    /// monitor names, or one a `[[monitors.spikes]]` list leaves out).
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// use astroglia::sim::{SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let net = Network::coba_like(4000, p.clone(), p, 20.0);
    /// let mut sim = Simulator::new(&net, SimOptions::default().seed(1)).unwrap();
    /// sim.run_ms(20.0).unwrap();
    /// let exc = sim.population_spikes(0, "exc").unwrap().expect("recorded");
    /// assert_eq!(exc.ids.len() as u64, sim.summary().populations["exc"].spikes);
    /// ```
    pub fn population_spikes(
        &self,
        instance: usize,
        population: &str,
    ) -> crate::Result<Option<&PopSpikes>> {
        let pi = self.pop_index(population)?;
        Ok(self.tally(instance)?.spike_rec[pi].as_ref())
    }

    /// What the monitors recorded so far in `instance`.
    pub fn instance_recording(&self, instance: usize) -> crate::Result<Recording> {
        let t = self.tally(instance)?;
        let duration_ms = self.step as f64 * self.dt_ms;
        Ok(Recording {
            dt_ms: self.dt_ms,
            duration_ms,
            spikes: t.spike_rec.iter().flatten().cloned().collect(),
            states: t.states.clone(),
            rates: self
                .rate_cfg
                .iter()
                .zip(&t.rates)
                .map(|(c, counts)| {
                    let nb = self.step.div_ceil(c.bin) as usize;
                    let size = self.pops[c.pop].size as f64;
                    let mut r: Vec<f64> = counts
                        .iter()
                        .map(|&n| n as f64 / (size * c.bin_ms / 1000.0))
                        .collect();
                    r.resize(nb, 0.0);
                    RateTrace {
                        population: self.pops[c.pop].name.clone(),
                        bin_ms: c.bin_ms,
                        rates_hz: r,
                    }
                })
                .collect(),
            weights: t.weights.clone(),
        })
    }

    /// Takes the spikes recorded in instance 0 since the last drain (or the
    /// start): one [`PopSpikes`] per recorded population, in model order, with
    /// local ids and steps (time in ms = step × [`Self::dt_ms`]; the global id
    /// is [`Self::population_offset`] + the local id). The spikes leave the
    /// recording, so a loop that runs short chunks and drains after each holds
    /// only one chunk's spikes however long it runs. [`Self::recording`] and
    /// the branching monitor then see only what has not been drained; the
    /// summary's counts and `spikes_sha256` still cover every spike.
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// use astroglia::sim::{SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let net = Network::coba_like(4000, p.clone(), p, 20.0);
    /// let opts = SimOptions::default().seed(1);
    /// let mut sim = Simulator::new(&net, opts).unwrap();
    /// let mut spikes = 0;
    /// for _ in 0..20 {
    ///     sim.run_ms(1.0).unwrap();
    ///     spikes += sim.drain_spikes().iter().map(|p| p.ids.len()).sum::<usize>();
    /// }
    /// let total: u64 = sim.summary().populations.values().map(|p| p.spikes).sum();
    /// assert_eq!(spikes as u64, total);
    /// ```
    pub fn drain_spikes(&mut self) -> Vec<PopSpikes> {
        self.drain_instance_spikes(0).expect("instance 0 exists")
    }

    /// Runs `n` steps and hands each instance's spikes to `sink(instance,
    /// spikes)` after every chunk of at most 1000 steps, taking them out of
    /// the recording (as [`Self::drain_instance_spikes`]): the spikes held
    /// are one chunk's, however long the run.
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// use astroglia::sim::{SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let net = Network::coba_like(4000, p.clone(), p, 20.0);
    /// let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    /// let mut spikes = 0;
    /// sim.run_streaming(2500, |_, chunk| {
    ///     spikes += chunk.iter().map(|p| p.ids.len()).sum::<usize>();
    /// })
    /// .unwrap();
    /// let total: u64 = sim.summary().populations.values().map(|p| p.spikes).sum();
    /// assert_eq!(spikes as u64, total);
    /// ```
    pub fn run_streaming(
        &mut self,
        n: u64,
        mut sink: impl FnMut(usize, Vec<PopSpikes>),
    ) -> crate::Result<()> {
        let end = self.step + n;
        while self.step < end {
            self.run_steps((end - self.step).min(1000), |_| {})?;
            for b in 0..self.tallies.len() {
                sink(b, self.drain_instance_spikes(b)?);
            }
        }
        Ok(())
    }

    /// [`Self::drain_spikes`] of `instance`.
    pub fn drain_instance_spikes(&mut self, instance: usize) -> crate::Result<Vec<PopSpikes>> {
        self.tally(instance)?;
        let t = &mut self.tallies[instance];
        Ok(t.spike_rec
            .iter_mut()
            .flatten()
            .map(|rec| PopSpikes {
                population: rec.population.clone(),
                size: rec.size,
                steps: std::mem::take(&mut rec.steps),
                ids: std::mem::take(&mut rec.ids),
            })
            .collect())
    }

    /// The number of neurons of population `name` (local ids are `0..size`).
    pub fn population_size(&self, name: &str) -> crate::Result<u32> {
        Ok(self.pops[self.pop_index(name)?].size)
    }

    /// Where the global ids of population `name` start (spikes of the backend
    /// and NIR use global ids; the recording and the API use local ones).
    pub fn population_offset(&self, name: &str) -> crate::Result<u32> {
        Ok(self.pops[self.pop_index(name)?].offset)
    }

    /// The branching monitor's report for instance 0 (`None` without the monitor
    /// or before a whole sample has run).
    pub(super) fn branching_report(&self) -> Option<BranchingReport> {
        let cfg = self.branching.as_ref()?;
        let samples = self.step / cfg.sample_steps;
        if samples == 0 {
            return None;
        }
        let t = &self.tallies[0];
        let spikes: Vec<(u64, u32)> = cfg
            .pops
            .iter()
            .filter_map(|&(pi, off)| Some((t.spike_rec[pi].as_ref()?, off)))
            .flat_map(|(rec, off)| {
                rec.steps
                    .iter()
                    .zip(&rec.ids)
                    .map(move |(&s, &i)| (s, off + i))
            })
            .collect();
        let starts: Vec<u64> = (0..samples).map(|k| k * cfg.sample_steps).collect();
        branching_factor(
            &cfg.graph,
            &spikes,
            &starts,
            cfg.sample_steps,
            self.dt_ms,
            &BranchingParams::default(),
        )
        .ok()
    }
}

impl Tally {
    /// Adds the spikes of one chunk (ordered by step, then id).
    pub(super) fn absorb(
        &mut self,
        buf: &[Spike],
        pops: &[PopMeta],
        out_degree: &[u32],
        spike_mask: &[Option<Vec<bool>>],
        rate_cfg: &[RateCfg],
    ) {
        self.hasher.update_spikes(buf);
        // Spikes come ordered by step, then id, so they form runs of one population:
        // look the population and its monitors up once per run, not per spike.
        let mut rest = buf;
        while let Some(first) = rest.first() {
            let pi = pops.partition_point(|p| p.offset <= first.id) - 1;
            let (offset, size) = (pops[pi].offset, pops[pi].size);
            let len = rest
                .iter()
                .take_while(|s| s.id >= offset && s.id - offset < size)
                .count();
            assert!(len > 0, "spike id {} outside every population", first.id);
            let (run, tail) = rest.split_at(len);
            rest = tail;
            self.counts[pi] += len as u64;
            let Some(isi) = &mut self.isi[pi] else {
                self.events += run
                    .iter()
                    .map(|s| u64::from(out_degree[s.id as usize]))
                    .sum::<u64>();
                self.add_rates(pi, run, rate_cfg);
                continue;
            };
            let mut rec = match (&spike_mask[pi], &mut self.spike_rec[pi]) {
                (Some(mask), Some(rec)) => Some((mask, rec)),
                _ => None,
            };
            for (x, s) in run.iter().enumerate() {
                if let Some(ahead) = run.get(x + 8) {
                    isi.prefetch((ahead.id - offset) as usize);
                    crate::prefetch::line(out_degree, ahead.id as usize);
                }
                let local = s.id - offset;
                isi.push(local as usize, s.step as u64);
                self.events += out_degree[s.id as usize] as u64;
                if let Some((mask, rec)) = &mut rec {
                    if mask[local as usize] {
                        rec.steps.push(s.step as u64);
                        rec.ids.push(local);
                    }
                }
            }
            self.add_rates(pi, run, rate_cfg);
        }
    }

    /// Adds a run of spikes of population `pi` to its rate monitors.
    fn add_rates(&mut self, pi: usize, run: &[Spike], rate_cfg: &[RateCfg]) {
        for (c, counts) in rate_cfg.iter().zip(&mut self.rates) {
            if c.pop == pi {
                for s in run {
                    let b = (s.step as u64 / c.bin) as usize;
                    if counts.len() <= b {
                        counts.resize(b + 1, 0);
                    }
                    counts[b] += 1;
                }
            }
        }
    }
}
