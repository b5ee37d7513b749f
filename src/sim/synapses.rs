//! A projection's built synapses as arrays (`Simulator::synapses`), and the
//! chunked walk over them that the connectivity file writer streams.
use super::Simulator;
use crate::build::{Built, BuiltProj, Delays};
use crate::model::{Network, Receptor};

/// The synapses of one projection, one index per synapse, in the engine's
/// order (CSR: by presynaptic neuron, then ascending target).
///
/// `pre` and `post` are local ids: `pre[s]` counts from 0 within the source
/// population `from`, `post[s]` within the target population `to`.
/// `weight` is in the projection's weight unit, as in the model file
/// (`weight_unit`: mV for a delta-synapse LIF, pA for current synapses and
/// Izhikevich, nS for conductance-based LIF), and is the value the engine
/// runs: a static weight as quantised to its receptor's fixed point (exactly
/// representable in f64), a plastic one as it is now (f32). `delay_ms` is the
/// delay in whole steps times `dt_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Synapses {
    /// The projection's label: its `name`, or `from->to`.
    pub projection: String,
    /// Source population.
    pub from: String,
    /// Target population.
    pub to: String,
    /// Receptor on the target.
    pub receptor: Receptor,
    /// Unit of `weight` (`mV`, `pA`, `nS`; empty where the target's model does
    /// not say, as for a user model's receptor statement without a variable unit).
    pub weight_unit: String,
    /// The step, ms (every delay is a whole number of them).
    pub dt_ms: f64,
    /// Whether the weights are plastic (read at the moment of the call).
    pub plastic: bool,
    /// Presynaptic local id of each synapse.
    pub pre: Vec<u32>,
    /// Postsynaptic local id of each synapse.
    pub post: Vec<u32>,
    /// Weight of each synapse, in [`Self::weight_unit`].
    pub weight: Vec<f64>,
    /// Delay of each synapse, ms.
    pub delay_ms: Vec<f64>,
}

/// What the simulator keeps of a projection to describe its synapses; the
/// arrays themselves are the backend's shared `Arc<[BuiltProj]>`.
#[derive(Debug, Clone)]
pub(super) struct ProjMeta {
    from: String,
    to: String,
    receptor: Receptor,
    unit: String,
    /// Model units of one fixed-point unit of a static weight.
    lsb: f64,
}

/// The [`ProjMeta`] of every projection of `b`, built from `net`.
pub(super) fn proj_meta(b: &Built, net: &Network) -> Vec<ProjMeta> {
    b.projs
        .iter()
        .map(|p| {
            let post = &b.pops[p.post];
            let lsb = post.weight_lsb(p.receptor);
            let model = &net.populations[p.post].model;
            let name = ["exc", "inh"][p.receptor];
            let unit = match (model.receptors(), model) {
                (Some(r), _) => r[p.receptor].unit.to_string(),
                (None, crate::model::NeuronModel::User(u)) => u
                    .spec
                    .as_ref()
                    .and_then(|s| s.receptors.get(name))
                    .and_then(|stmt| stmt.split(['+', '-', '=']).next())
                    .and_then(|var| model.unit(var.trim()))
                    .unwrap_or_default(),
                (None, _) => String::new(),
            };
            ProjMeta {
                from: b.pops[p.pre].name.clone(),
                to: post.name.clone(),
                receptor: if p.receptor == 0 {
                    Receptor::Exc
                } else {
                    Receptor::Inh
                },
                unit,
                lsb,
            }
        })
        .collect()
}

impl Simulator {
    /// The weight unit of projection `name` (its `name`, or `from->to`),
    /// which its target's synapses set: `mV` for a delta-synapse LIF, `pA`
    /// for current synapses, `nS` for conductances, a user model's receptor
    /// unit (empty where the model does not say). Weights, rule bounds and
    /// [`Self::set_weights`] use it.
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// use astroglia::sim::{SimOptions, Simulator};
    /// let p = Connect::FixedProbability { p: 0.02, allow_self: false };
    /// let net = Network::coba_like(400, p.clone(), p, 20.0);
    /// let sim = Simulator::new(&net, SimOptions::default()).unwrap();
    /// assert_eq!(sim.weight_unit("exc->exc").unwrap(), "nS");
    /// ```
    pub fn weight_unit(&self, name: &str) -> crate::Result<&str> {
        let k = self.proj_index(name)?;
        Ok(&self.proj_meta[k].unit)
    }

    /// The synapses of projection `name` (its `name`, or `from->to`) in
    /// `instance`, as arrays: see [`Synapses`] for ids, units and order.
    /// Connectivity and delays are the same in every instance; plastic weights
    /// are read from the backend as they are now, static ones are the built ones.
    ///
    /// ```
    /// use astroglia::model::*;
    /// use astroglia::sim::{Simulator, SimOptions};
    /// let mut net = Network::new(0.1, 10.0);
    /// net.add_population(Population::new("a", 3, NeuronModel::Lif(LifParams::default())));
    /// net.add_population(Population::new("b", 2, NeuronModel::Lif(LifParams::default())));
    /// net.add_projection(Projection::new("a", "b", Connect::AllToAll { allow_self: true })
    ///     .weight(2.0).delay_ms(1.5));
    /// let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    /// let s = sim.synapses(0, "a->b").unwrap();
    /// assert_eq!(s.pre, [0, 0, 1, 1, 2, 2]);
    /// assert_eq!(s.post, [0, 1, 0, 1, 0, 1]);
    /// assert!(s.weight.iter().all(|&w| w == 2.0));
    /// assert!(s.delay_ms.iter().all(|&d| (d - 1.5).abs() < 1e-9));
    /// assert_eq!(s.weight_unit, "pA");
    /// ```
    pub fn synapses(&mut self, instance: usize, name: &str) -> crate::Result<Synapses> {
        let k = self.proj_index(name)?;
        let mut out = self.synapse_header(k);
        let n = self.built_projs[k].len();
        out.pre.reserve_exact(n);
        out.post.reserve_exact(n);
        out.weight.reserve_exact(n);
        out.delay_ms.reserve_exact(n);
        self.synapse_chunks(instance, k, 1 << 16, |pre, post, w, d| {
            out.pre.extend_from_slice(pre);
            out.post.extend_from_slice(post);
            out.weight.extend_from_slice(w);
            out.delay_ms.extend_from_slice(d);
            Ok(())
        })?;
        Ok(out)
    }

    /// The model's name.
    pub fn model_name(&self) -> &str {
        &self.name
    }

    /// The projections' labels, in model order.
    pub fn projection_names(&self) -> Vec<String> {
        self.projs.iter().map(|p| p.0.clone()).collect()
    }

    /// Projection `k`'s [`Synapses`] without the arrays.
    pub(crate) fn synapse_header(&self, k: usize) -> Synapses {
        let m = &self.proj_meta[k];
        Synapses {
            projection: self.projs[k].0.clone(),
            from: m.from.clone(),
            to: m.to.clone(),
            receptor: m.receptor,
            weight_unit: m.unit.clone(),
            dt_ms: self.dt_ms,
            plastic: self.projs[k].1.is_some(),
            pre: vec![],
            post: vec![],
            weight: vec![],
            delay_ms: vec![],
        }
    }

    /// Number of synapses of projection `name`.
    pub fn synapse_count(&self, name: &str) -> crate::Result<usize> {
        Ok(self.built_projs[self.proj_index(name)?].len())
    }

    /// Number of synapses of projection `k`.
    #[cfg(feature = "hdf5")]
    pub(crate) fn projection_len(&self, k: usize) -> usize {
        self.built_projs[k].len()
    }

    /// Calls `f(pre, post, weight, delay_ms)` on consecutive runs of at most
    /// `chunk` synapses of projection `k` in `instance`, in CSR order; only a
    /// plastic projection's current weights are copied whole.
    pub(crate) fn synapse_chunks(
        &mut self,
        instance: usize,
        k: usize,
        chunk: usize,
        mut f: impl FnMut(&[u32], &[u32], &[f64], &[f64]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        self.tally(instance)?;
        let projs = std::sync::Arc::clone(&self.built_projs);
        let pr: &BuiltProj = &projs[k];
        let live = match pr.plastic {
            Some(_) => {
                let mut w = vec![];
                self.backend.read_weights(instance, k, &mut w)?;
                Some(w)
            }
            None => None,
        };
        let (lsb, dt, n) = (self.proj_meta[k].lsb, self.dt_ms, pr.len());
        let chunk = chunk.max(1);
        let (mut pre, mut w, mut d) = (
            Vec::with_capacity(chunk.min(n)),
            Vec::with_capacity(chunk.min(n)),
            Vec::with_capacity(chunk.min(n)),
        );
        let mut row = 0usize;
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            pre.clear();
            w.clear();
            d.clear();
            for s in start..end {
                while pr.row_ptr[row + 1] as usize <= s {
                    row += 1;
                }
                pre.push(row as u32);
            }
            match &live {
                Some(live) => w.extend(live[start..end].iter().map(|&x| f64::from(x))),
                None => w.extend((start..end).map(|s| f64::from(pr.wfix.get(s)) * lsb)),
            }
            match &pr.delays {
                Delays::Const(c) => d.resize(end - start, f64::from(*c) * dt),
                Delays::PerSynapse(v) => d.extend(v[start..end].iter().map(|&x| f64::from(x) * dt)),
            }
            f(&pre, &pr.targets[start..end], &w, &d)?;
        }
        Ok(())
    }
}
