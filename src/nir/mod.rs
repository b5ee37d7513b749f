//! NIR (Neuromorphic Intermediate Representation) import and export.
//!
//! [`read`] loads a `.nir` HDF5 file into a [`Nir`] that keeps every dataset
//! exactly as stored (dtype, shape, bits); [`write()`] writes one back in the
//! layout of the reference `nir.write` (gzip arrays, UTF-8 strings). [`to_model`]
//! turns a graph into a runnable [`Network`](crate::model::Network), and
//! [`from_model`] does the reverse for the subset NIR can express.
//!
//! ```no_run
//! use astroglia::nir::{read, to_model, from_model, write, ImportOptions};
//! let nir = read("cnn_sinabs_nmnist.nir")?;
//! let imported = to_model(&nir, &ImportOptions::default())?; // dt = 1 ms
//! let back = from_model(&imported.network)?; // the original graph, bit for bit
//! write(&back, "copy.nir")?;
//! # Ok::<(), astroglia::Error>(())
//! ```
//!
//! # Mapping
//!
//! - `Input` → a spike-source population (`spike_source`, no spikes until set);
//!   `Output` → records the population feeding it (and its `v` for LI, CubaLI, I).
//! - Neuron nodes → one `lif` population each, with `t_ref_ms = 0`, `v` starting
//!   at 0 and every NIR voltage used as mV unchanged. Per-neuron parameter arrays
//!   must hold one value (every real file does); otherwise the import fails.
//! - Every path of stateless nodes (`Affine`, `Linear`, `Scale`, `Conv1d`,
//!   `Conv2d`, `SumPool2d`, `AvgPool2d`, `Flatten`, `Delay`, nested-graph ports)
//!   from one population to another becomes one explicit (`list`) projection:
//!   the sparse product of the nodes' maps, parallel paths summed. Convolutions
//!   and pools follow PyTorch (zero padding, `AvgPool2d` divides by the kernel
//!   area). Biases become constant `current` inputs, one per neuron.
//! - Nested `NIRGraph`s are flattened; inner node `n` of subgraph `g` is the
//!   population `g.n`. Recurrent edges (cycles through a neuron) are kept; a cycle
//!   of stateless nodes only is an error.
//! - `Threshold`, and anything fed by the voltage of an `LI`/`CubaLI`/`I` node,
//!   cannot run (astroglia transmits spikes only) and fail with the node named;
//!   they still read and write.
//!
//! # Discretisation (τ in seconds, as every real file uses; step `dt`)
//!
//! Input spikes are 1 during one step, so a spike through weight `w` carries the
//! charge `w·dt`. The linear dynamics are integrated exactly (the LIF exact
//! propagator, zero-order hold), so:
//!
//! | NIR | astroglia `lif` | spike through `w` | bias `b` |
//! |---|---|---|---|
//! | `LIF`/`LI`: τ dv/dt = v_leak − v + r·I | `delta`, `tau_m = τ`, `e_l = v_leak`, `c_m = τ/r` | v += r·w·dt/τ | current `b` |
//! | `CubaLIF`/`CubaLI`: τ_syn dI/dt = −I + w_in·S | `exponential`, `tau_syn = τ_syn`, `c_m = τ_mem/r` | I += w_in·w·dt/τ_syn | current `w_in·b` |
//! | `IF`/`I`: dv/dt = r·I | `delta`, `tau_m_ms = inf`, `c_m = dt/r` | v += r·w | v += r·b per step |
//!
//! `IF` and `I` have no time constant, so they integrate per step (v += r·I each
//! step), as the frameworks that wrote the real files (sinabs, snnTorch) do. A
//! CubaLIF bias enters the membrane at its synaptic steady state `w_in·b` (exact
//! after the first few τ_syn). `LI`, `CubaLI` and `I` have `v_th = inf`.
//!
//! **Reset:** a neuron spikes when `v ≥ v_threshold` after the step's update and
//! is set to `v_reset` (0 when the file has no `v_reset`, as the reference
//! reader defaults it). NIR writes `v > v_threshold`; the two differ only on exact
//! equality.
//!
//! **Steps:** every projection takes one step (the engine's minimum delay), and a
//! `Delay` node adds `round(delay/dt)` more. A spike of the input at step `t`
//! therefore moves the first neuron layer at step `t + 1`, and the output of a
//! network `L` neuron layers deep appears `L` steps after a framework that
//! passes input through a layer within the step.
//!
//! # Export
//!
//! The imported model keeps a reference to the original graph (the `nir` table
//! of the model file, a [`NirSource`](crate::model::NirSource): the `.nir` file
//! and the [`digest`] of its graph; [`read`] and [`write()`] note which file holds
//! which graph, so [`to_model`] fills the file in for any graph read or written
//! before). [`from_model`] reads that file again and returns its graph unchanged
//! while the file still holds it and the populations, projections and inputs
//! still match it: parameters round-trip bit for bit. Without the file (moved,
//! changed, or a graph never in a file) the model is translated.
//! Other models are translated (see [`from_model`]); Izhikevich and
//! conductance-based neurons, Poisson sources, refractory periods, plasticity,
//! astrocytes, noise and current inputs and multi-step delays are refused, with
//! every offending item listed.
//!
//! Not kept: `metadata` groups (they never change execution).
//!
//! # Limits
//!
//! Files are untrusted input, so what would exhaust the stack, the memory or the
//! time is refused with the place named: graphs nested more than [`MAX_DEPTH`]
//! deep, HDF5 links that reach one graph group twice (a cycle, or a shared
//! group), datasets of more than [`MAX_DATASET_ELEMENTS`] elements, nodes of more
//! than [`MAX_NODE_ELEMENTS`], and NaN or infinite parameters (on export too).
//! Parallel paths are summed node by node, so the import takes time linear in
//! the graph however many paths it has; the inputs summed into one node must
//! have one shape.
mod convert;
mod export;
mod graph;
mod linear;
mod read;
mod source;
#[cfg(feature = "hdf5")]
mod write;

pub use convert::{ImportOptions, Imported, to_model};
pub use export::{VERSION, from_model};
pub use graph::{Graph, NODE_TYPES, Nir, Node, Value};
pub use linear::MAX_NODE_ELEMENTS;
#[cfg(feature = "hdf5")]
pub use read::read;
pub use read::{MAX_DATASET_ELEMENTS, MAX_DEPTH, check};
pub use source::digest;
#[cfg(feature = "hdf5")]
pub use write::write;

/// Writes a model file (TOML) atomically; [`Network::from_toml_file`](crate::model::Network::from_toml_file)
/// reads it back to the same network, `nir` reference included.
pub fn write_model(
    net: &crate::model::Network,
    path: impl AsRef<std::path::Path>,
) -> crate::Result<()> {
    let path = path.as_ref();
    let text = toml::to_string(net)
        .map_err(|e| crate::Error::io(path, format!("cannot serialise the model: {e}")))?;
    crate::record::write_atomic(path, text.as_bytes())
}
