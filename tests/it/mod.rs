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
mod adex;
mod astrocyte;
mod bad_models;
mod batch;
mod cli;
mod closed_loop;
mod compare;
mod connectivity;
mod constants;
mod continual;
mod control;
mod data;
mod data_malformed;
mod determinism;
mod docs;
mod experiment;
mod fixed_point;
mod fuzz_regressions;
mod gpu_leak;
mod gpu_math_parity;
mod gpu_parity;
mod gpu_plasticity;
mod gpu_reset;
mod gpu_size;
mod gpu_three_factor;
mod hardening;
mod izhikevich_presets;
mod lif_options;
mod limits;
mod malformed_corpus;
mod monitors;
mod nir_files;
mod nir_hardening;
mod nir_run;
mod poisson_input;
mod readout;
mod reference_networks;
mod single_neuron;
mod stdp;
mod three_factor;
mod user_model_errors;
mod user_models;
mod user_rules;
mod util;
mod variants;
