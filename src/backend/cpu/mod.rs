//! The CPU reference backend: time-driven neuron updates, event-driven propagation
//! through integer delay rings, counter-based per-step randomness, and a batch of
//! independent instances over one copy of the connectivity.
mod inputs;
mod instance;
mod neurons;
mod pairs;
mod partition;
mod plasticity;
#[cfg(test)]
mod poisson_input_tests;
mod propagate;
mod snapshot;
mod team;
#[cfg(test)]
mod threads_tests;

use super::{Backend, Spike};
use crate::build::Built;
use instance::Instance;
use propagate::Route;
use std::sync::Arc;

/// The reference engine: one or more instances of a built network.
///
/// ```
/// use astroglia::backend::{Backend, CpuBackend};
/// use astroglia::model::*;
/// let mut net = Network::new(0.1, 20.0);
/// net.add_population(Population::new("n", 4, NeuronModel::Lif(LifParams::default()))
///     .init("v", Dist::Uniform { low: -70.0, high: -40.0 }));
/// let built = astroglia::build::build(&net, 1).unwrap();
/// // Two instances: the network itself and one with initial state from seed 7.
/// let batch = vec![built.clone(), built.instance(&net, 7).unwrap()];
/// let mut cpu = CpuBackend::batched(batch, 1).unwrap();
/// cpu.run(0, 200).unwrap();
/// let mut spikes = vec![vec![], vec![]];
/// cpu.drain_batch(&mut spikes).unwrap();
/// assert_eq!(cpu.batch(), 2);
/// ```
pub struct CpuBackend {
    instances: Vec<Instance>,
    /// Worker pool over instances when there are several (each instance then runs
    /// single-threaded), else inside the one instance.
    pool: Option<rayon::ThreadPool>,
    threads: usize,
}

impl CpuBackend {
    /// Creates a single-threaded backend over a built network.
    pub fn new(net: Built) -> Self {
        Self::with_threads(net, 1)
    }

    /// Creates a backend whose neuron updates use `threads` worker threads. The
    /// spikes are the same for every thread count.
    pub fn with_threads(net: Built, threads: usize) -> Self {
        Self::batched(vec![net], threads).expect("one instance is a valid batch")
    }

    /// A batch of instances (see [`Built::instance`]) that must share their
    /// connectivity. With `threads` > 1 the instances run in parallel; each one's
    /// spikes are those it would produce alone. A single instance uses the
    /// threads for its neuron updates and delivery where the network is large
    /// enough. `threads` 0 chooses: every core for a batch, or for a network
    /// with a population of at least 16 384 neurons or at least 2^20
    /// synapses; else one.
    pub fn batched(instances: Vec<Built>, threads: usize) -> crate::Result<Self> {
        let first = instances.first().ok_or_else(|| {
            crate::Error::argument("instances", "a batch needs at least one instance")
        })?;
        if instances
            .iter()
            .any(|b| !Arc::ptr_eq(&b.projs, &first.projs))
        {
            return Err(crate::Error::incompatible(
                "batch",
                "the instances of a batch must share their connectivity (see Built::instance)",
            ));
        }
        let routes: Arc<[Route]> = first
            .projs
            .iter()
            .map(|pr| Route::new(pr, first.pops[pr.post].size))
            .collect();
        let several = instances.len() > 1;
        let threads = match threads {
            // Automatic: every core for a batch or a network large enough to
            // pay for the threads' coordination, else one.
            0 if several || partition::worth_threads(&first.pops, &first.projs) => {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            }
            0 => 1,
            t => t,
        };
        let pool = || {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok()
        };
        let inner = if several { 1 } else { threads };
        Ok(CpuBackend {
            instances: instances
                .into_iter()
                .map(|b| Instance::new(b, inner, routes.clone()))
                .collect(),
            pool: (several && threads > 1).then(pool).flatten(),
            threads,
        })
    }

    /// The delay ring of population `pop` of instance 0: `depth × 2 receptors ×
    /// size` fixed-point accumulators (empty for sources). For per-phase parity tests.
    pub fn ring(&self, pop: usize) -> Vec<i32> {
        self.instances[0].ring(pop)
    }

    /// The built network of instance 0 (parameters, connectivity, current state).
    pub fn built(&self) -> &Built {
        self.instances[0].built()
    }

    fn instance(&self, b: usize) -> crate::Result<&Instance> {
        self.instances
            .get(b)
            .ok_or_else(|| crate::Error::no_index("instance", b, self.instances.len()))
    }

    fn instance_mut(&mut self, b: usize) -> crate::Result<&mut Instance> {
        let n = self.instances.len();
        self.instances
            .get_mut(b)
            .ok_or_else(|| crate::Error::no_index("instance", b, n))
    }

    /// Runs `f` on every instance, in parallel on the pool when there is one, and
    /// returns the first error in instance order.
    fn each(&mut self, f: impl Fn(&mut Instance) -> crate::Result<()> + Sync) -> crate::Result<()> {
        match &self.pool {
            Some(pool) => {
                use rayon::prelude::*;
                let results: Vec<_> =
                    pool.install(|| self.instances.par_iter_mut().map(&f).collect());
                results.into_iter().collect()
            }
            None => self.instances.iter_mut().try_for_each(f),
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn device(&self) -> String {
        match self.threads {
            1 => "cpu (1 thread)".into(),
            t => format!("cpu ({t} threads)"),
        }
    }

    fn batch(&self) -> usize {
        self.instances.len()
    }

    fn inputs(&mut self, step: u64) -> crate::Result<()> {
        self.each(|i| i.inputs(step))
    }

    fn neurons(&mut self, step: u64) -> crate::Result<()> {
        self.each(|i| i.neurons(step, None))
    }

    fn propagate(&mut self, step: u64) -> crate::Result<()> {
        self.each(|i| i.propagate(step, None))
    }

    fn plasticity(&mut self, _step: u64) -> crate::Result<()> {
        self.each(|i| {
            i.plasticity(None);
            Ok(())
        })
    }

    fn read_weights(
        &mut self,
        instance: usize,
        proj: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.instance(instance)?.read_weights(proj, out)
    }

    fn write_weights(&mut self, instance: usize, proj: usize, w: &[f32]) -> crate::Result<()> {
        self.instance_mut(instance)?.write_weights(proj, w)
    }

    fn third_factor(
        &mut self,
        instance: usize,
        proj: usize,
        cmd: super::ThirdFactor<'_>,
    ) -> crate::Result<()> {
        self.instance_mut(instance)?.third_factor(proj, cmd)
    }

    fn read_hlop(
        &mut self,
        instance: usize,
        proj: usize,
    ) -> crate::Result<crate::plasticity::hlop::Hlop> {
        self.instance(instance)?.read_hlop(proj)
    }

    fn read_astrocyte(
        &mut self,
        instance: usize,
        astro: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.instance(instance)?.read_astrocyte(astro, out)
    }

    fn read_trace(
        &mut self,
        instance: usize,
        proj: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.instance(instance)?.read_trace(proj, var, out)
    }

    fn reset(&mut self, instance: usize) -> crate::Result<()> {
        self.instance_mut(instance)?.reset();
        Ok(())
    }

    fn set_spike_source(
        &mut self,
        instance: usize,
        pop: usize,
        events: Vec<(u64, u32)>,
    ) -> crate::Result<()> {
        self.instance_mut(instance)?.set_spike_source(pop, events)
    }

    fn set_poisson(
        &mut self,
        instance: usize,
        pop: usize,
        sampler: crate::build::PoissonKind,
    ) -> crate::Result<()> {
        self.instance_mut(instance)?.set_poisson(pop, sampler)
    }

    fn set_input(
        &mut self,
        instance: usize,
        input: usize,
        level: super::InputLevel,
    ) -> crate::Result<()> {
        self.instance_mut(instance)?.set_input(input, level)
    }

    fn snapshot(&mut self, instance: usize) -> crate::Result<super::Snapshot> {
        Ok(super::Snapshot::new(self.instance(instance)?.snapshot()))
    }

    fn restore(&mut self, instance: usize, snapshot: &super::Snapshot) -> crate::Result<()> {
        let state = snapshot.get::<snapshot::InstanceState>().ok_or_else(|| {
            crate::Error::incompatible("snapshot", "the snapshot was not taken by the CPU backend")
        })?;
        self.instance_mut(instance)?.restore(state)
    }

    fn drain_batch(&mut self, out: &mut [Vec<Spike>]) -> crate::Result<()> {
        super::check_batch_len(out.len(), self.instances.len())?;
        for (inst, o) in self.instances.iter_mut().zip(out) {
            inst.drain_spikes(o);
        }
        Ok(())
    }

    fn read_instance_state(
        &mut self,
        instance: usize,
        pop: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.instance(instance)?.read_state(pop, var, out)
    }

    fn run(&mut self, first: u64, n: u64) -> crate::Result<()> {
        // Instances are independent: each runs all `n` steps while its state is
        // in cache.
        self.each(|i| i.run(first, n))
    }

    fn phase_times(&self) -> Option<super::PhaseTimes> {
        Some(self.instances[0].phase_times())
    }
}
