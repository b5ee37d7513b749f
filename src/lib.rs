//! astroglia: a spiking neural network simulator with an event-driven CPU reference
//! backend, a wgpu/WGSL GPU backend that reproduces its spikes, LIF and Izhikevich
//! neurons, and TOML model files.
//!
//! The default feature, `cli`, builds everything; with `default-features = false`
//! the crate is the CPU engine alone, and `gpu`, `hdf5`, `plot` and `progress` add
//! the GPU backend, HDF5 and NIR files, PNG plots and progress bars
//! (docs/features.md).
//!
//! ```
//! use astroglia::model::Network;
//! use astroglia::sim::{SimOptions, Simulator};
//! let net = astroglia::model::parse_toml(r#"
//!     dt_ms = 0.1
//!     [[populations]]
//!     name = "drive"
//!     size = 20
//!     poisson = { rate_hz = 50.0 }
//!     [[populations]]
//!     name = "cells"
//!     size = 10
//!     lif = {}
//!     [[projections]]
//!     from = "drive"
//!     to = "cells"
//!     connect = { all_to_all = {} }
//!     weight = 300.0
//! "#, "example.toml").unwrap();
//! let mut sim = Simulator::new(&net, SimOptions::default().seed(7)).unwrap();
//! sim.run_ms(200.0).unwrap();
//! let summary = sim.summary();
//! assert!(summary.populations["cells"].rate_hz > 0.0);
//! assert_eq!(summary.spikes_sha256.len(), 64);
//! ```
// `!(x >= 0.0)` is deliberate in validation: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
// `v = v + a * b` is written out to mirror the WGSL shaders operation for operation.
#![allow(clippy::assign_op_pattern)]

/// The source of a WGSL shader: the shared declarations of `shaders/lib/` first,
/// then the named file(s) of `shaders/`. WGSL module-scope declarations may come
/// in any order, so the shared ones are simply concatenated, and every copy is the
/// same text. Neuron shaders use `wgsl!("neuron_x.wgsl")` with the neuron library.
macro_rules! wgsl {
    ($($file:literal),+) => {
        concat!($(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $file))),+)
    };
}

/// A neuron shader: `shaders/lib/step.wgsl`, `shaders/lib/neuron.wgsl`, then `file`.
macro_rules! neuron_wgsl {
    ($file:literal) => {
        wgsl!("lib/step.wgsl", "lib/neuron.wgsl", $file)
    };
}

pub mod analysis;
pub mod backend;
pub mod build;
pub(crate) mod connect;
pub mod data;
pub mod equations;
pub mod error;
pub mod experiment;
pub mod fit;
mod huge_pages;
pub(crate) mod input_file;
#[cfg(feature = "hdf5")]
pub(crate) mod isolated;
pub mod lava;
pub mod model;
pub(crate) mod neuron;
pub mod nir;
pub mod plasticity;
mod prefetch;
pub mod prelude;
pub mod readout;
pub mod record;
pub(crate) mod rng;
pub mod sim;

pub use error::{Error, Result};

/// Compiles and runs the Rust examples of README.md as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Compiles and runs the complete programs of docs/guide/embedding.md as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide/embedding.md")]
pub struct EmbeddingDoctests;
pub use model::Network;
pub use sim::{SimOptions, Simulator, Summary};
