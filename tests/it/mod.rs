//! Integration tests: analytic single neurons, Izhikevich presets, reference
//! networks against published statistics, determinism, bad input, the CLI.
mod bad_models;
mod cli;
mod determinism;
mod izhikevich_presets;
mod reference_networks;
mod single_neuron;
mod util;
