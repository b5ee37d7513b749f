//! The names most programs need, in one import.
//!
//! ```
//! use astroglia::prelude::*;
//! let mut net = Network::new(0.1, 100.0);
//! let mut input = Population::new("input", 50, NeuronModel::Poisson(Default::default()));
//! if let NeuronModel::Poisson(p) = &mut input.model {
//!     p.rate_hz = 40.0;
//! }
//! net.populations.push(input);
//! net.populations.push(Population::new("cells", 20, NeuronModel::Lif(LifParams::default())));
//! let mut proj = Projection::new("input", "cells", Connect::FixedProbability { p: 0.5, allow_self: false });
//! proj.weight = Dist::Const(50.0); // pA: `lif` is current-based
//! net.projections.push(proj);
//! let mut sim = Simulator::new(&net, SimOptions::default().seed(1))?;
//! sim.run_ms(100.0)?;
//! // Neuron populations are recorded by default, sources when asked.
//! let spikes: Vec<PopSpikes> = sim.drain_spikes();
//! assert_eq!(spikes[0].population, "cells");
//! assert!(!spikes[0].ids.is_empty());
//! # Ok::<(), Error>(())
//! ```
pub use crate::error::{Error, Result};
pub use crate::model::{
    Connect, Dist, Input, LifCondParams, LifParams, Network, NeuronModel, Plasticity, Population,
    Projection, parse_toml,
};
pub use crate::record::{PopSpikes, Recording};
pub use crate::sim::{BackendKind, ResetWeights, SimOptions, Simulator, Summary, Synapses};
