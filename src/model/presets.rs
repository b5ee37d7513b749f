//! Networks built in code for benchmarks and scaling studies.
use super::{Connect, Dist, LifCondParams, Network, NeuronModel, Population, Projection, Receptor};

impl Network {
    /// The COBA benchmark's neurons, weights (6 nS excitatory, 67 nS inhibitory) and
    /// initial state (as `models/coba.toml`) at `n` neurons, 80 % excitatory, dt
    /// 0.1 ms. Every excitatory projection (onto both populations) uses
    /// `from_exc`, every inhibitory one `from_inh`.
    /// `models/coba.toml` is `p = 0.02` at 4000 neurons; scaling studies keep 80
    /// synapses per neuron (p = 80 / n).
    ///
    /// ```
    /// use astroglia::model::{Connect, Network};
    /// let p = Connect::FixedProbability { p: 80.0 / 16_000.0, allow_self: false };
    /// let net = Network::coba_like(16_000, p.clone(), p, 100.0);
    /// assert_eq!(net.populations.len(), 2);
    /// assert_eq!(net.projections.len(), 4);
    /// ```
    pub fn coba_like(n: u32, from_exc: Connect, from_inh: Connect, duration_ms: f64) -> Network {
        let mut net = Network::new(0.1, duration_ms);
        net.name = Some(format!("coba_{n}"));
        for (name, size) in [("exc", n * 4 / 5), ("inh", n / 5)] {
            net.add_population(
                Population::new(name, size, NeuronModel::LifCond(LifCondParams::default()))
                    .init("v", normal(-65.0, 5.0))
                    .init("ge", normal(40.0, 15.0))
                    .init("gi", normal(200.0, 120.0)),
            );
        }
        for (from, connect, w, r) in [
            ("exc", from_exc, 6.0, Receptor::Exc),
            ("inh", from_inh, 67.0, Receptor::Inh),
        ] {
            for to in ["exc", "inh"] {
                net.add_projection(
                    Projection::new(from, to, connect.clone())
                        .weight(w)
                        .receptor(r),
                );
            }
        }
        net
    }
}

fn normal(mean: f64, std: f64) -> Dist {
    Dist::Normal { mean, std }
}
