//! Integration tests: analytic single neurons, Izhikevich presets, reference
//! networks against published statistics, determinism, bad input, the CLI,
//! CPU–GPU parity, batches.
mod bad_models;
mod batch;
mod cli;
mod determinism;
mod gpu_parity;
mod izhikevich_presets;
mod reference_networks;
mod single_neuron;
mod util;
