//! A model's `loihi_lif` network as a Lava description.
use super::{Connection, FORMAT, LavaNet, Process};
use crate::build::{Delays, Dynamics};
use crate::model::{Dist, Network, NeuronModel};
use crate::neuron::Sources;

fn unsupported(what: String) -> crate::Error {
    crate::Error::Unsupported {
        backend: "Lava export",
        what,
    }
}

impl LavaNet {
    /// Describes `net`, built with `seed`, for Lava: every population must be
    /// `loihi_lif` (with constant `init`) or `spike_source`, every projection
    /// a one-step delay onto `loihi_lif`. Weights are those the build drew, as
    /// Lava's integers (after clipping and truncation; `weight_exp` as set);
    /// sources' spikes are at their steps. Runs `steps` steps.
    ///
    /// ```
    /// use astroglia::model::*;
    /// let mut net = Network::new(1.0, 10.0);
    /// net.add_population(Population::new("a", 4,
    ///     NeuronModel::LoihiLif(LoihiLifParams::default().bias_mant(PerNeuron::One(30)))));
    /// net.add_projection(Projection::new("a", "a", Connect::AllToAll { allow_self: false })
    ///     .weight(Dist::Uniform { low: -50.0, high: 50.0 }));
    /// let lava = astroglia::lava::LavaNet::from_network(&net, 1, 10).unwrap();
    /// assert_eq!(lava.connections[0].weight.len(), 12);
    /// // Back to a model: the same spikes.
    /// let back = lava.to_network().unwrap();
    /// # let run = |n: &Network| { let mut s = astroglia::Simulator::new(n, astroglia::SimOptions::default()).unwrap();
    /// #     s.run_ms(10.0).unwrap(); s.summary().spikes_sha256.clone() };
    /// assert_eq!(run(&net), run(&back));
    /// ```
    pub fn from_network(net: &Network, seed: u64, steps: u64) -> crate::Result<LavaNet> {
        let built = crate::build::build(net, seed)?;
        let mut processes = vec![];
        for (p, bp) in net.populations.iter().zip(&built.pops) {
            processes.push(match (&p.model, &bp.dynamics) {
                (NeuronModel::LoihiLif(l), _) => {
                    let mut init = [0i32; 2];
                    for (k, var) in ["u", "v"].into_iter().enumerate() {
                        match p.init.get(var) {
                            None => {}
                            Some(Dist::Const(x)) => init[k] = x.round() as i32,
                            Some(_) => {
                                return Err(unsupported(format!(
                                    "describe '{}': its initial {var} is drawn (give a constant)",
                                    p.name
                                )));
                            }
                        }
                    }
                    Process::Lif {
                        name: p.name.clone(),
                        size: p.size,
                        du: l.du,
                        dv: l.dv,
                        vth: l.vth,
                        bias_mant: l.bias_mant.clone(),
                        bias_exp: l.bias_exp.clone(),
                        u: init[0].into(),
                        v: init[1].into(),
                    }
                }
                (_, Dynamics::Source(Sources::SpikeSource(train))) => Process::RingBuffer {
                    name: p.name.clone(),
                    size: p.size,
                    spikes: train.0.iter().map(|&(s, i)| [s, u64::from(i)]).collect(),
                },
                (m, _) => {
                    return Err(unsupported(format!(
                        "describe '{}': it is {}, and Lava's Loihi processes are loihi_lif and \
                         spike_source",
                        p.name,
                        m.key()
                    )));
                }
            });
        }
        if let Some(input) = net.inputs.first() {
            return Err(unsupported(format!(
                "describe an input ({:?}): Lava's Loihi processes take bias and spikes only",
                input_kind(input)
            )));
        }
        let mut connections = vec![];
        for (k, (pr, bp)) in net.projections.iter().zip(built.projs.iter()).enumerate() {
            let (shift, mantissas) = built
                .loihi_mantissas(net, k)
                .expect("validation: projections end at loihi_lif or sources refuse them");
            if !matches!(bp.delays, Delays::Const(1)) {
                return Err(unsupported(format!(
                    "describe '{}': its delays are not one step (Lava's Dense has one)",
                    bp.name
                )));
            }
            let syn = pr.loihi.clone().unwrap_or_default();
            if shift > 23 {
                return Err(unsupported(format!(
                    "describe '{}': weight_exp {} shifts a 9-bit mantissa past 32 bits, so \
                     the ring no longer holds it",
                    bp.name, syn.weight_exp
                )));
            }
            // CSR rows: synapse s of row j has pre j, post targets[s].
            let pre = (0..bp.row_ptr.len() - 1)
                .flat_map(|j| (bp.row_ptr[j]..bp.row_ptr[j + 1]).map(move |_| j as u32))
                .collect();
            let weight = mantissas.into_iter().map(i64::from).collect();
            // Clipping and truncation are idempotent, and Lava's own sign mode of
            // these integers gives them back unchanged.
            let sign_mode = None;
            connections.push(Connection {
                name: pr.name.clone(),
                from: pr.from.clone(),
                to: pr.to.clone(),
                pre,
                post: bp.targets.clone(),
                weight,
                weight_exp: syn.weight_exp,
                num_weight_bits: syn.num_weight_bits,
                sign_mode,
            });
        }
        Ok(LavaNet {
            format: FORMAT.into(),
            name: built.name.clone(),
            description: String::new(),
            generator: format!(
                "astroglia {} (LavaNet::from_network)",
                env!("CARGO_PKG_VERSION")
            ),
            steps,
            processes,
            connections,
            recorded: Default::default(),
        })
    }
}

fn input_kind(input: &crate::model::Input) -> &'static str {
    match input {
        crate::model::Input::Noise(_) => "noise",
        crate::model::Input::Current(_) => "current",
        crate::model::Input::Poisson(_) => "poisson",
    }
}
