//! Integration tests: analytic single neurons, Izhikevich presets, reference
//! networks against published statistics, determinism, bad input, the CLI,
//! CPU–GPU parity, batches, a 20M-synapse network and a leak check on the GPU,
//! STDP on the CPU and its parity on the GPU, and the parity of three-factor rules
//! and astrocytes.
mod astrocyte;
mod bad_models;
mod batch;
mod cli;
mod determinism;
mod gpu_leak;
mod gpu_parity;
mod gpu_plasticity;
mod gpu_size;
mod gpu_three_factor;
mod izhikevich_presets;
mod reference_networks;
mod single_neuron;
mod stdp;
mod three_factor;
mod util;
