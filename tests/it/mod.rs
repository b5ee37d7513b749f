//! Integration tests: analytic single neurons, Izhikevich presets, reference
//! networks against published statistics, determinism, bad input, the CLI,
//! CPU–GPU parity, batches, a 20M-synapse network, a leak check on the GPU,
//! plasticity, three-factor rules and astrocytes on both backends, continual learning with HLOP,
//! the `lif` step-order and refractory-input options,
//! monitors, rule comparison, dataset readers and encoders on real and malformed files, the
//! readout classifiers, LSM experiments with their plasticity variants, NIR import and export,
//! connectivity saved and read back through the `file` rule,
//! fixed-point mode, inputs refused before any work starts (durations, outputs), and a
//! generated corpus of malformed inputs run through the binary under a memory cap.
//! Modules that need a cargo feature are gated on it (the binary and the GPU helpers
//! of `gpu_parity` need `cli`); the core build runs the rest and `missing_features`.
#[cfg(feature = "cli")]
mod adex;
mod astrocyte;
mod bad_models;
#[cfg(feature = "cli")]
mod batch;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod closed_loop;
#[cfg(feature = "cli")]
mod compare;
#[cfg(feature = "cli")]
mod connectivity;
#[cfg(feature = "cli")]
mod constants;
#[cfg(feature = "cli")]
mod continual;
#[cfg(feature = "cli")]
mod control;
#[cfg(feature = "hdf5")]
mod data;
#[cfg(feature = "hdf5")]
mod data_malformed;
mod determinism;
mod docs;
mod errors;
#[cfg(feature = "hdf5")]
mod experiment;
#[cfg(feature = "cli")]
mod fixed_point;
#[cfg(feature = "hdf5")]
mod fuzz_regressions;
#[cfg(feature = "cli")]
mod gpu_leak;
#[cfg(feature = "cli")]
mod gpu_math_parity;
#[cfg(feature = "cli")]
mod gpu_parity;
#[cfg(feature = "cli")]
mod gpu_plasticity;
#[cfg(feature = "cli")]
mod gpu_reset;
#[cfg(feature = "cli")]
mod gpu_size;
#[cfg(feature = "cli")]
mod gpu_three_factor;
#[cfg(feature = "cli")]
mod hardening;
mod izhikevich_presets;
#[cfg(feature = "cli")]
mod lif_options;
#[cfg(feature = "cli")]
mod limits;
#[cfg(feature = "cli")]
mod loihi;
#[cfg(feature = "cli")]
mod malformed_corpus;
#[cfg(not(feature = "gpu"))]
mod missing_features;
#[cfg(feature = "cli")]
mod monitors;
#[cfg(feature = "cli")]
mod nir_files;
#[cfg(feature = "cli")]
mod nir_hardening;
#[cfg(feature = "cli")]
mod nir_run;
#[cfg(feature = "cli")]
mod poisson_input;
mod readout;
mod recording;
mod reference_networks;
mod single_neuron;
mod stdp;
mod three_factor;
#[cfg(feature = "cli")]
mod user_model_errors;
#[cfg(feature = "cli")]
mod user_models;
#[cfg(feature = "cli")]
mod user_rules;
mod util;
mod variants;
