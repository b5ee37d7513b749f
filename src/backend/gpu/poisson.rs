//! Poisson source populations on the device (shaders/inputs_poisson.wgsl): per
//! instance, the parameter block and threshold table of its sampler. While every
//! instance draws alike, one dispatch covers the batch (workgroup z = instance);
//! once [`Backend::set_poisson`](crate::backend::Backend::set_poisson) made them
//! differ, each instance has its own dispatch, which offsets z by `inst0`.
use super::GpuContext;
use super::pipelines::{Pipe, bind, storage, uniform};
use super::shaders::PoissonParams;
use crate::build::{PoissonKind, PoissonSource, STREAM_POISSON};

/// What the shaders need of one instance's sampler.
#[derive(PartialEq)]
pub(super) struct Draw {
    prm: PoissonParams,
    /// Count thresholds (chunks) or per-source thresholds (bernoulli, `len` 0).
    table: Vec<u32>,
    /// Whether the `chunks` entry point draws it (else `bernoulli`).
    chunks: bool,
    /// Invocations: one per chunk or per source.
    threads: u32,
}

impl Draw {
    /// The draw of `sampler` for population `pi` of `size` sources from global
    /// id `gid0`; None when it never fires.
    pub(super) fn new(pi: usize, size: u32, gid0: u32, sampler: &PoissonKind) -> Option<Draw> {
        let mut prm = PoissonParams {
            n: size,
            gid0,
            stream: STREAM_POISSON + pi as u32,
            ..Default::default()
        };
        let (table, chunks, threads) = match sampler {
            PoissonKind::Uniform(s) if s.p() == 0.0 => return None,
            PoissonKind::Uniform(s) if s.chunk_len() == 1 => {
                prm.len = 1;
                prm.thr = s.threshold();
                (vec![], false, size)
            }
            PoissonKind::Uniform(s) => {
                prm.len = s.chunk_len();
                let (f, l) = (s.count_thresholds(false), s.count_thresholds(true));
                prm.full_len = f.len() as u32;
                prm.last_len = l.len() as u32;
                ([f, l].concat(), true, size.div_ceil(s.chunk_len()))
            }
            PoissonKind::Each(b) => (b.thresholds().to_vec(), false, size),
        };
        (threads > 0).then_some(Draw {
            prm,
            table,
            chunks,
            threads,
        })
    }
}

/// One dispatch of a Poisson population.
pub(super) struct Dispatch {
    /// Whether it runs the `chunks` entry point (else `bernoulli`).
    pub chunks: bool,
    pub threads: u32,
    /// Instances it covers (workgroup z): the batch, or 1.
    pub z: u32,
    pub group: wgpu::BindGroup,
}

/// What a Poisson population's bind groups bind besides its own buffers.
pub(super) struct Bindings<'a> {
    pub ctx: &'a GpuContext,
    pub chunks: &'a Pipe,
    pub bernoulli: &'a Pipe,
    pub rec: &'a wgpu::Buffer,
    pub ctl: &'a wgpu::Buffer,
    pub keys: &'a wgpu::Buffer,
}

impl Bindings<'_> {
    /// The pipeline of the `chunks` or the `bernoulli` entry point.
    pub(super) fn pipe(&self, chunks: bool) -> &Pipe {
        if chunks { self.chunks } else { self.bernoulli }
    }
}

/// A Poisson population on the device.
pub(super) struct PoissonPop {
    pub name: String,
    pub pop: usize,
    pub size: u32,
    pub gid0: u32,
    /// Active steps `[start, stop)`, the same in every instance.
    pub start: u64,
    pub stop: u64,
    /// Per instance: its draw (None: silent).
    draws: Vec<Option<Draw>>,
    pub dispatches: Vec<Dispatch>,
}

impl PoissonPop {
    /// Population `pi` (named `name`, `size` sources from global id `gid0`)
    /// with each instance's built source.
    pub(super) fn new(
        pi: usize,
        name: &str,
        size: u32,
        gid0: u32,
        sources: &[&PoissonSource],
        b: &Bindings<'_>,
    ) -> crate::Result<Self> {
        let (start, stop) = (sources[0].start, sources[0].stop);
        if sources.iter().any(|s| (s.start, s.stop) != (start, stop)) {
            return Err(crate::Error::incompatible(
                "batch",
                format!(
                    "the instances of a GPU batch differ in the active steps of Poisson \
                     population '{name}'"
                ),
            ));
        }
        let mut pop = PoissonPop {
            name: name.into(),
            pop: pi,
            size,
            gid0,
            start,
            stop,
            draws: sources
                .iter()
                .map(|s| Draw::new(pi, size, gid0, &s.sampler))
                .collect(),
            dispatches: vec![],
        };
        pop.upload(b)?;
        Ok(pop)
    }

    /// Instance `instance` draws with `sampler` from the next step on.
    pub(super) fn set(
        &mut self,
        instance: usize,
        sampler: &PoissonKind,
        b: &Bindings<'_>,
    ) -> crate::Result<()> {
        self.draws[instance] = Draw::new(self.pop, self.size, self.gid0, sampler);
        self.upload(b)
    }

    /// Parameter blocks, tables and bind groups of the dispatches.
    fn upload(&mut self, b: &Bindings<'_>) -> crate::Result<()> {
        let batch = self.draws.len() as u32;
        let alike = self.draws.windows(2).all(|w| w[0] == w[1]);
        let runs: Vec<(u32, u32, &Draw)> = if alike {
            self.draws[0].iter().map(|d| (0, batch, d)).collect()
        } else {
            (self.draws.iter().enumerate())
                .filter_map(|(k, d)| Some((k as u32, 1, d.as_ref()?)))
                .collect()
        };
        let mut dispatches = Vec::with_capacity(runs.len());
        for (inst0, z, d) in runs {
            let prm = PoissonParams { inst0, ..d.prm };
            let label = format!("{} thresholds", self.name);
            let tb = storage(b.ctx, &label, bytemuck::cast_slice(&d.table))?;
            let ub = uniform(&b.ctx.device, &self.name, bytemuck::bytes_of(&prm));
            let layout = &b.pipe(d.chunks).groups[0];
            let group = bind(
                &b.ctx.device,
                &self.name,
                layout,
                &[&ub, &tb, b.rec, b.ctl, b.keys],
            );
            dispatches.push(Dispatch {
                chunks: d.chunks,
                threads: d.threads,
                z,
                group,
            });
        }
        self.dispatches = dispatches;
        Ok(())
    }
}
