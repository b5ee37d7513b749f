//! Uploading a built network: state, delay rings, input tables and CSR arrays as
//! storage buffers, one pipeline per shader entry point the network uses, and the
//! bind groups the schedule dispatches with.
//!
//! A batch shares everything built from the connectivity and the parameters
//! (taken from instance 0, and checked equal in the others); per-instance arrays
//! (neuron state, i_ext, delay rings) hold the instances one after the other.
use super::*;

/// What the upload steps share.
pub(super) struct Loader<'a> {
    pub ctx: &'a GpuContext,
    /// Instance 0: connectivity, parameters, inputs.
    pub net: &'a Built,
    /// Every instance of the batch (instance 0 first).
    pub instances: &'a [Built],
    /// Group 0 of every pipeline: the step uniform.
    pub step_layout: &'a wgpu::BindGroupLayout,
    /// Philox key of each instance's per-step randomness, `[instance][2]`.
    pub keys: &'a wgpu::Buffer,
}

/// The error for a batch whose instances differ in something the GPU shares.
fn differs(what: &str, pop: &str) -> crate::Error {
    crate::Error::incompatible(
        "batch",
        format!(
            "the instances of a GPU batch differ in the {what} of population '{pop}'; \
             only initial state and per-step randomness may differ (see Built::instance)"
        ),
    )
}

/// The current and noise terms on the device, every instance's copy.
pub(super) struct InputTerms {
    pub buf: wgpu::Buffer,
    /// Terms of one instance.
    pub stride: u32,
    /// Per model input: its term (None for Poisson drives).
    pub term_of: Vec<Option<u32>>,
}

/// Where the populations' delay rings lie in the shared ring buffer.
pub(super) struct RingLayout {
    /// Per population: index of ring slot 0 (`u32::MAX` for sources).
    pub base: Vec<u32>,
    /// Per population: (first entry, length) of its ring (length 0 for sources).
    pub at: Vec<(u64, u64)>,
    /// Entries of all rings.
    pub len: u64,
}

/// One pipeline per neuron shader in use, by shader file name.
pub(super) type NeuronPipes = Vec<(String, Pipe)>;

/// Bind group layout of the neuron shaders (shaders/lib/neuron.wgsl): population
/// block, model parameters, state, rings, i_ext, record, ctl.
const NEURON_LAYOUT: &[B] = &[B::U, B::U, B::W, B::W, B::R, B::W, B::W];

/// [`NEURON_LAYOUT`] and, for a user model that draws random numbers, the
/// instances' Philox keys and the normal tables.
const DRAW_LAYOUT: &[B] = &[B::U, B::U, B::W, B::W, B::R, B::W, B::W, B::R, B::R];

/// `Pop` of shaders/lib/neuron.wgsl: where a neuron population lies in the network.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, bytemuck::Zeroable)]
pub(super) struct PopBlock {
    n: u32,
    gid0: u32,
    ring: u32,
    depth: u32,
    pop: u32,
    _pad0: u32,
    inv_exc: f32,
    inv_inh: f32,
}

/// Per population with Poisson drives: its size and the drive shader's bind group.
pub(super) type DrivePops = Vec<(u32, wgpu::BindGroup)>;
/// Bind group layout of the source shaders: params, events, record, ctl.
const SOURCE_LAYOUT: &[B] = &[B::U, B::R, B::W, B::W];
/// Bind group layout of the Poisson shaders: params, table, record, ctl, keys.
const POISSON_LAYOUT: &[B] = &[B::U, B::R, B::W, B::W, B::R];

impl Loader<'_> {
    pub fn pipe(&self, name: &str, src: &str, entry: &str, groups: &[&[B]]) -> crate::Result<Pipe> {
        pipe(self.ctx, self.step_layout, name, src, entry, groups)
    }

    fn uniform(&self, label: &str, data: &[u8]) -> wgpu::Buffer {
        uniform(&self.ctx.device, label, data)
    }

    fn bind(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        bufs: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        bind(&self.ctx.device, label, layout, bufs)
    }

    /// Where each population's delay ring lies in the shared ring buffer.
    pub fn ring_layout(&self) -> crate::Result<RingLayout> {
        let np = self.net.pops.len();
        let mut ring_base = vec![u32::MAX; np];
        let mut ring_at = vec![(0, 0); np];
        let mut ring_len = 0u64;
        for (pi, p) in self.net.pops.iter().enumerate() {
            if !matches!(p.dynamics, Dynamics::Source(_)) {
                ring_base[pi] = u32::try_from(ring_len)
                    .map_err(|_| gpu_err("delay rings exceed 2^32 entries"))?;
                let len = u64::from(p.ring_depth) * 2 * u64::from(p.size);
                ring_at[pi] = (ring_len, len);
                ring_len += len;
            }
        }
        Ok(RingLayout {
            base: ring_base,
            at: ring_at,
            len: ring_len,
        })
    }

    /// Neuron populations: state buffer (the model's variables one after the
    /// other), zeroed i_ext, parameter block and bind group; one pipeline per model.
    pub fn neurons(
        &self,
        ring_base: &[u32],
        ring: &wgpu::Buffer,
        rec: &wgpu::Buffer,
        ctl: &wgpu::Buffer,
    ) -> crate::Result<(Vec<NeuronPop>, NeuronPipes)> {
        let mut pipes: NeuronPipes = vec![];
        let mut neurons = vec![];
        let mut tables: Option<wgpu::Buffer> = None;
        for (pi, p) in self.net.pops.iter().enumerate() {
            let n = p.size;
            let Dynamics::Neurons(kernel) = &p.dynamics else {
                continue;
            };
            let (shader, src) = kernel.shader();
            let head = PopBlock {
                n,
                gid0: p.offset,
                ring: ring_base[pi],
                depth: p.ring_depth,
                pop: pi as u32,
                _pad0: 0,
                inv_exc: p.inv_scale[0],
                inv_inh: p.inv_scale[1],
            };
            let params = kernel.gpu_params();
            let mut init = kernel.gpu_state();
            for other in &self.instances[1..] {
                let Dynamics::Neurons(k) = &other.pops[pi].dynamics else {
                    return Err(differs("model", &p.name));
                };
                if k.shader().0 != shader || k.gpu_params() != params {
                    return Err(differs("parameters", &p.name));
                }
                init.extend(k.gpu_state());
            }
            let draws = matches!(kernel, crate::neuron::Neurons::User(u) if u.k.model.draws);
            if !pipes.iter().any(|(m, _)| *m == shader) {
                let label = shader.trim_end_matches(".wgsl");
                let layout = if draws { DRAW_LAYOUT } else { NEURON_LAYOUT };
                pipes.push((shader.clone(), self.pipe(label, &src, "main", &[layout])?));
            }
            let pl = &pipes.iter().find(|(m, _)| *m == shader).expect("added").1;
            let state = storage(
                self.ctx,
                &format!("{} state", p.name),
                bytemuck::cast_slice(&init),
            )?;
            let i_ext = storage(
                self.ctx,
                &format!("{} i_ext", p.name),
                bytemuck::cast_slice(&vec![0f32; n as usize * self.instances.len()]),
            )?;
            let hb = self.uniform(&p.name, bytemuck::bytes_of(&head));
            let kb = self.uniform(&format!("{} params", p.name), &params);
            let group = if draws {
                let t = normal_tables();
                if tables.is_none() {
                    tables = Some(storage(
                        self.ctx,
                        "normal tables",
                        bytemuck::cast_slice(&[&t.body[..], &t.tail[..]].concat()),
                    )?);
                }
                let tables = tables.as_ref().expect("made");
                self.bind(
                    &p.name,
                    &pl.groups[0],
                    &[&hb, &kb, &state, ring, &i_ext, rec, ctl, self.keys, tables],
                )
            } else {
                self.bind(
                    &p.name,
                    &pl.groups[0],
                    &[&hb, &kb, &state, ring, &i_ext, rec, ctl],
                )
            };
            let vars = kernel.gpu_vars();
            let mut scratch = vec![];
            neurons.push(NeuronPop {
                shader,
                checked: kernel.checked(),
                vars: vars.clone(),
                readable: vars
                    .iter()
                    .filter(|v| kernel.read(v, &mut scratch))
                    .cloned()
                    .collect(),
                decode: kernel.gpu_decode(),
                pop: pi,
                n,
                state,
                init,
                i_ext,
                group,
                inputs: None,
            });
        }
        Ok((neurons, pipes))
    }

    /// Noise and constant currents: one term per input in model order (so the
    /// float sums follow the CPU's order), per-neuron multiplicities for inputs
    /// restricted to ids, the normal tables; a bind group per population with inputs.
    pub fn currents(
        &self,
        neurons: &mut [NeuronPop],
    ) -> crate::Result<(Option<Pipe>, Option<InputTerms>)> {
        let net = self.net;
        if self.instances[1..]
            .iter()
            .any(|b| format!("{:?}", b.inputs) != format!("{:?}", net.inputs))
        {
            return Err(crate::Error::incompatible(
                "batch",
                "the instances of a GPU batch differ in their current inputs",
            ));
        }
        let mut terms: Vec<NoiseTerm> = vec![];
        let mut masks: Vec<u32> = vec![];
        let mut per_pop: Vec<(usize, u32, u32)> = vec![];
        let mut term_of = vec![None; net.inputs.len()];
        for (pi, p) in net.pops.iter().enumerate() {
            let first = terms.len() as u32;
            for (k, inp) in net.inputs.iter().enumerate() {
                let (pop, ids) = match inp {
                    BuiltInput::Noise { pop, ids, .. } | BuiltInput::Current { pop, ids, .. } => {
                        (*pop, ids)
                    }
                    // Into the rings: see `drives`.
                    BuiltInput::Poisson { .. } => continue,
                };
                if pop != pi {
                    continue;
                }
                let mask = match ids {
                    None => u32::MAX,
                    Some(ids) => {
                        let at = masks.len();
                        masks.resize(at + p.size as usize, 0);
                        for &i in ids {
                            masks[at + i as usize] += 1;
                        }
                        at as u32
                    }
                };
                term_of[k] = Some(terms.len() as u32);
                // Steps are below 2^32 (checked in `run`), so clamping is exact.
                let clamp = |s: u64| s.min(u64::from(u32::MAX)) as u32;
                terms.push(match inp {
                    BuiltInput::Current {
                        amplitude,
                        start,
                        stop,
                        ..
                    } => NoiseTerm {
                        kind: 0,
                        mask,
                        start: clamp(*start),
                        stop: clamp(*stop),
                        a: *amplitude,
                        ..Default::default()
                    },
                    BuiltInput::Noise {
                        mean, std, stream, ..
                    } => NoiseTerm {
                        kind: 1,
                        mask,
                        stream: *stream,
                        a: *mean,
                        b: *std,
                        ..Default::default()
                    },
                    BuiltInput::Poisson { .. } => unreachable!("skipped above"),
                });
            }
            let count = terms.len() as u32 - first;
            if count > 0 {
                per_pop.push((pi, first, count));
            }
        }
        if per_pop.is_empty() {
            return Ok((None, None));
        }
        let pl = self.pipe(
            "inputs_noise",
            INPUTS_NOISE,
            "main",
            &[&[B::U, B::R, B::R, B::R, B::W, B::R]],
        )?;
        let stride = terms.len() as u32;
        let all = terms.repeat(self.instances.len());
        let terms_buf = storage(self.ctx, "input terms", bytemuck::cast_slice(&all))?;
        let masks_buf = storage(self.ctx, "input masks", bytemuck::cast_slice(&masks))?;
        let t = normal_tables();
        let tables = storage(
            self.ctx,
            "normal tables",
            bytemuck::cast_slice(&[&t.body[..], &t.tail[..]].concat()),
        )?;
        for (pi, first, count) in per_pop {
            let Some(np) = neurons.iter_mut().find(|x| x.pop == pi) else {
                continue;
            };
            let prm = NoiseParams {
                n: np.n,
                first_term: first,
                n_terms: count,
                stride,
            };
            let ub = self.uniform("noise params", bytemuck::bytes_of(&prm));
            np.inputs = Some(self.bind(
                "inputs",
                &pl.groups[0],
                &[&ub, &terms_buf, &masks_buf, &tables, &np.i_ext, self.keys],
            ));
        }
        let terms = InputTerms {
            buf: terms_buf,
            stride,
            term_of,
        };
        Ok((Some(pl), Some(terms)))
    }

    /// Poisson drives: one term per drive in model order, 0/1 flags for drives
    /// restricted to ids, the binomial thresholds of all drives in one buffer; a
    /// (size, bind group) per population with drives, and the pipeline if any.
    pub fn drives(
        &self,
        ring_base: &[u32],
        ring: &wgpu::Buffer,
    ) -> crate::Result<(DrivePops, Option<Pipe>)> {
        let net = self.net;
        let mut terms: Vec<DriveTerm> = vec![];
        let mut masks: Vec<u32> = vec![];
        let mut thresholds: Vec<u32> = vec![];
        let mut per_pop: Vec<(usize, u32, u32)> = vec![];
        for (pi, p) in net.pops.iter().enumerate() {
            let first = terms.len() as u32;
            for inp in &net.inputs {
                let BuiltInput::Poisson {
                    pop,
                    ids,
                    receptor,
                    wfix,
                    table,
                    stream,
                } = inp
                else {
                    continue;
                };
                if *pop != pi {
                    continue;
                }
                let mask = match ids {
                    None => u32::MAX,
                    Some(ids) => {
                        let at = masks.len();
                        masks.resize(at + p.size as usize, 0);
                        for &i in ids {
                            masks[at + i as usize] = 1;
                        }
                        at as u32
                    }
                };
                let t0 = thresholds.len() as u32;
                thresholds.extend_from_slice(table.thresholds());
                terms.push(DriveTerm {
                    stream: *stream,
                    mask,
                    receptor: *receptor as u32,
                    wfix: *wfix,
                    base: table.base(),
                    t0,
                    len: table.thresholds().len() as u32,
                    _pad: 0,
                });
            }
            let count = terms.len() as u32 - first;
            if count > 0 {
                per_pop.push((pi, first, count));
            }
        }
        if per_pop.is_empty() {
            return Ok((vec![], None));
        }
        let pl = self.pipe(
            "inputs_drive",
            INPUTS_DRIVE,
            "main",
            &[&[B::U, B::R, B::R, B::R, B::W, B::R]],
        )?;
        let terms_buf = storage(self.ctx, "drive terms", bytemuck::cast_slice(&terms))?;
        let masks_buf = storage(self.ctx, "drive masks", bytemuck::cast_slice(&masks))?;
        let thr_buf = storage(
            self.ctx,
            "drive thresholds",
            bytemuck::cast_slice(&thresholds),
        )?;
        let groups = per_pop
            .into_iter()
            .map(|(pi, first, count)| {
                let p = &net.pops[pi];
                let prm = DriveParams {
                    n: p.size,
                    ring: ring_base[pi],
                    depth: p.ring_depth,
                    first_term: first,
                    n_terms: count,
                    ..Default::default()
                };
                let ub = self.uniform("drive params", bytemuck::bytes_of(&prm));
                let group = self.bind(
                    &format!("{} drives", p.name),
                    &pl.groups[0],
                    &[&ub, &terms_buf, &masks_buf, &thr_buf, ring, self.keys],
                );
                (p.size, group)
            })
            .collect();
        Ok((groups, Some(pl)))
    }

    /// Poisson populations, and the `chunks` and `bernoulli` pipelines when
    /// there are any (both: a setter may switch a population between them).
    pub fn poisson(
        &self,
        rec: &wgpu::Buffer,
        ctl: &wgpu::Buffer,
    ) -> crate::Result<(Vec<PoissonPop>, Option<[Pipe; 2]>)> {
        let is_poisson = |p: &BuiltPop| matches!(p.dynamics, Dynamics::Source(Sources::Poisson(_)));
        if !self.net.pops.iter().any(is_poisson) {
            return Ok((vec![], None));
        }
        let pipe = |entry: &str| {
            let label = format!("inputs_poisson {entry}");
            self.pipe(&label, INPUTS_POISSON, entry, &[POISSON_LAYOUT])
        };
        let (chunks, bernoulli) = (pipe("chunks")?, pipe("bernoulli")?);
        let b = poisson::Bindings {
            ctx: self.ctx,
            chunks: &chunks,
            bernoulli: &bernoulli,
            rec,
            ctl,
            keys: self.keys,
        };
        let mut out = vec![];
        for (pi, p) in self.net.pops.iter().enumerate() {
            if !is_poisson(p) {
                continue;
            }
            let sources = (self.instances.iter())
                .map(|inst| match &inst.pops[pi].dynamics {
                    Dynamics::Source(Sources::Poisson(s)) => Ok(s),
                    _ => Err(differs("model", &p.name)),
                })
                .collect::<crate::Result<Vec<_>>>()?;
            out.push(PoissonPop::new(
                pi, &p.name, p.size, p.offset, &sources, &b,
            )?);
        }
        Ok((out, Some([chunks, bernoulli])))
    }

    /// Spike-source populations: every instance's sorted (step, id) events in one
    /// buffer (see [`source_table`]), a parameter block and bind group each.
    pub fn spike_sources(
        &self,
        rec: &wgpu::Buffer,
        ctl: &wgpu::Buffer,
    ) -> crate::Result<(Vec<SourcePop>, Option<SourceDevice>)> {
        let mut sources = vec![];
        for (pi, p) in self.net.pops.iter().enumerate() {
            if !matches!(p.dynamics, Dynamics::Source(Sources::SpikeSource(_))) {
                continue;
            }
            let events = self
                .instances
                .iter()
                .map(|b| match &b.pops[pi].dynamics {
                    Dynamics::Source(Sources::SpikeSource(SpikeTrain(ev))) => Ok(source_events(ev)),
                    _ => Err(differs("model", &p.name)),
                })
                .collect::<crate::Result<Vec<_>>>()?;
            sources.push(SourcePop {
                pop: pi,
                size: p.size,
                gid0: p.offset,
                events,
            });
        }
        if sources.is_empty() {
            return Ok((vec![], None));
        }
        let pipe = self.pipe("inputs_source", INPUTS_SOURCE, "main", &[SOURCE_LAYOUT])?;
        let table = source_table(&sources);
        let events = storage(self.ctx, "source events", bytemuck::cast_slice(&table))?;
        let batch = self.instances.len() as u32;
        let params: Vec<_> = sources
            .iter()
            .enumerate()
            .map(|(k, sp)| {
                let prm = SourceParams {
                    gid0: sp.gid0,
                    range_at: k as u32 * batch,
                    ..Default::default()
                };
                let name = &self.net.pops[sp.pop].name;
                self.uniform(name, bytemuck::bytes_of(&prm))
            })
            .collect();
        let groups = source_groups(&self.ctx.device, &pipe, &params, &events, rec, ctl);
        Ok((
            sources,
            Some(SourceDevice {
                pipe,
                params,
                events,
                groups,
                dirty: false,
            }),
        ))
    }

    /// Connectivity: the lookup table of propagate.wgsl and the concatenated CSR
    /// arrays (row pointers, targets, fixed-point weights, per-synapse delays);
    /// plastic projections' entries point into the weights of `plastic`.
    pub fn connectivity(
        &self,
        ring_base: &[u32],
        plastic: &super::plasticity::Layout,
    ) -> crate::Result<[wgpu::Buffer; 5]> {
        let net = self.net;
        let np = net.pops.len();
        let mut out_projs = vec![vec![]; np];
        for (k, pr) in net.projs.iter().enumerate() {
            if ring_base[pr.post] != u32::MAX {
                out_projs[pr.pre].push(k as u32);
            }
        }
        let (pops_at, projs_at) = (5, 5 + 4 * np);
        let outs_at = projs_at + 10 * net.projs.len();
        let mut tab = vec![
            np as u32,
            pops_at as u32,
            projs_at as u32,
            outs_at as u32,
            plastic.w_stride(),
        ];
        let mut outs = vec![];
        for (p, o) in net.pops.iter().zip(&out_projs) {
            tab.extend([p.offset, p.size, outs.len() as u32, o.len() as u32]);
            outs.extend_from_slice(o);
        }
        let (mut row_ptr, mut targets, mut wfix, mut delays) = (vec![], vec![], vec![], vec![]);
        for (k, pr) in net.projs.iter().enumerate() {
            let post = &net.pops[pr.post];
            let (dconst, doff) = match &pr.delays {
                Delays::Const(d) => (u32::from(*d), 0),
                Delays::PerSynapse(ds) => {
                    let at = delays.len() as u32;
                    delays.extend(ds.iter().map(|&d| u32::from(d)));
                    (0, at)
                }
            };
            tab.extend([
                ring_base[pr.post],
                post.size,
                post.ring_depth,
                pr.receptor as u32,
                row_ptr.len() as u32,
                targets.len() as u32,
                dconst,
                doff,
                plastic.w_at(k).unwrap_or(u32::MAX),
                pr.plastic.as_ref().map_or(0, |pl| pl.scale.to_bits()),
            ]);
            row_ptr.extend_from_slice(&pr.row_ptr);
            targets.extend_from_slice(&pr.targets);
            wfix.extend(pr.wfix.iter(pr.len()));
        }
        if targets.len() as u64 >= u64::from(u32::MAX)
            || row_ptr.len() as u64 >= u64::from(u32::MAX)
        {
            return Err(gpu_err("more than 2^32 synapses"));
        }
        tab.extend(outs);
        Ok([
            storage(self.ctx, "connectivity table", bytemuck::cast_slice(&tab))?,
            storage(self.ctx, "row pointers", bytemuck::cast_slice(&row_ptr))?,
            storage(self.ctx, "synapse targets", bytemuck::cast_slice(&targets))?,
            storage(self.ctx, "synapse weights", bytemuck::cast_slice(&wfix))?,
            storage(self.ctx, "synapse delays", bytemuck::cast_slice(&delays))?,
        ])
    }
}

/// The events of a spike source the GPU can run (steps below 2^32 - 1: later
/// ones are never run, see `check_step`), as (step, id) words.
pub(super) fn source_events(ev: &[(u64, u32)]) -> Vec<[u32; 2]> {
    ev.iter()
        .filter(|(s, _)| *s < u64::from(u32::MAX))
        .map(|&(s, i)| [s as u32, i])
        .collect()
}

/// The device table of the spike sources: first, per source and instance
/// (source-major), the (first, count) of its events; then the events.
pub(super) fn source_table(sources: &[SourcePop]) -> Vec<[u32; 2]> {
    let ranges: usize = sources.iter().map(|s| s.events.len()).sum();
    let mut table = vec![[0u32; 2]; ranges];
    let mut k = 0;
    for sp in sources {
        for ev in &sp.events {
            table[k] = [table.len() as u32, ev.len() as u32];
            table.extend_from_slice(ev);
            k += 1;
        }
    }
    table
}

/// The bind groups of the spike sources over the events buffer `events`.
pub(super) fn source_groups(
    device: &wgpu::Device,
    pipe: &Pipe,
    params: &[wgpu::Buffer],
    events: &wgpu::Buffer,
    rec: &wgpu::Buffer,
    ctl: &wgpu::Buffer,
) -> Vec<wgpu::BindGroup> {
    params
        .iter()
        .map(|ub| {
            bind(
                device,
                "spike source",
                &pipe.groups[0],
                &[ub, events, rec, ctl],
            )
        })
        .collect()
}
