//! Plasticity rules: learning rules for synaptic and lateral weights, independent of the simulator.
pub mod hlop;
