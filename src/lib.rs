//! astroglia: a spiking neural network simulator.
pub mod error;
pub use error::{Error, Result};
