//! The neuron-model registry: the one list of built-in neuron models.
//!
//! A neuron model is a parameter type implementing [`NeuronType`] (its model-file
//! table, defaults, validation, state variables and how a population is built)
//! whose built population implements [`NeuronKernel`] (its CPU update, state
//! access and WGSL shader with the parameter block the shader reads). The
//! `registry!` invocation at the end of this file turns the list into the
//! [`NeuronModel`] enum of model files and the Rust API, the [`Neurons`] enum
//! of built populations both backends run, and the raw population table the
//! TOML reader fills; parsing, validation, building, state access, monitors and
//! both backends go through them and name no model. Adding a model is one file
//! in `src/neuron/`, its shader in `shaders/` and one line here (see
//! ARCHITECTURE.md).
use crate::model::{Dist, PoissonParams, SpikeSourceParams};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;

/// A neuron model's parameters: the table of its key in a model file.
pub trait NeuronType:
    Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The built population.
    type Pop: NeuronKernel;
    /// State variables that `init` and state monitors may name, with their units.
    const STATE: &'static [StateVar];
    /// The unit of state variable `var` for these parameters (where a model
    /// option changes it, as a synapse kind does); `None` when there is no such
    /// variable.
    fn unit(&self, var: &str) -> Option<&'static str> {
        Self::STATE.iter().find(|s| s.name == var).map(|s| s.unit)
    }
    /// Invalid parameters as (field, message); empty when valid.
    fn check(&self) -> Vec<(&'static str, String)>;
    /// Whether synaptic weights onto this model are conductances (nS), which
    /// must not be negative (inhibition goes through the inhibitory receptor).
    fn conductance_weights(&self) -> bool {
        false
    }
    /// A population of `draw.n` neurons at step `dt_ms`, parameters and initial
    /// state drawn through `draw`.
    fn build(&self, dt_ms: f64, draw: &mut Draw<'_>) -> Self::Pop;
}

/// A state variable of a neuron model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateVar {
    /// Its name in `init`, state monitors and HDF5 files.
    pub name: &'static str,
    /// Its unit (`mV`, `pA`, `nS`, ...; see [`NeuronType::unit`]).
    pub unit: &'static str,
}

impl StateVar {
    /// Variable `name` in `unit`.
    pub const fn new(name: &'static str, unit: &'static str) -> Self {
        StateVar { name, unit }
    }
}

/// The signature of every CPU neuron kernel: constants, a view of (a chunk of) the
/// state, this step's excitatory and inhibitory ring slots (fixed point, cleared
/// after reading), the ring scales, the external current (`None`: zero), the
/// population index of the chunk's first neuron and the spike list to append to.
/// Returns false when a state variable became non-finite.
pub type Kernel<K, V> =
    fn(&K, V, &mut [i32], &mut [i32], [f32; 2], Option<&[f32]>, u32, &mut Vec<u32>) -> bool;

/// A built neuron population: what both backends need of it.
pub trait NeuronKernel: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Per-step constants the CPU kernel reads.
    type Consts: Sync;
    /// Mutable slices of (a chunk of) the state.
    type View<'a>: Send
    where
        Self: 'a;
    /// The variables reported when the state becomes non-finite (`v`, `v/u`).
    const CHECKED: &'static str = "v";
    /// File name of the WGSL shader (in `shaders/`).
    const SHADER: &'static str;
    /// Its source, with the shared declarations of `shaders/lib/`
    /// (`wgsl!("neuron_x.wgsl")` of [`crate::backend::gpu::shaders`]).
    const SOURCE: &'static str;
    /// The sections of the GPU state buffer, in order (`n` words each).
    const GPU_VARS: &'static [&'static str];
    /// Constants and the state split into chunks of `lens`.
    fn chunks(&mut self, lens: &[usize]) -> (&Self::Consts, Vec<Self::View<'_>>);
    /// Constants and the whole state.
    fn whole(&mut self) -> (&Self::Consts, Self::View<'_>);
    /// One step of one view (see [`Kernel`]).
    #[allow(clippy::too_many_arguments)]
    fn update(
        k: &Self::Consts,
        s: Self::View<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv: [f32; 2],
        i_ext: Option<&[f32]>,
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool;
    /// Called once after every step of the whole population.
    fn tick(&mut self) {}
    /// Copies the values of state variable `var`, in model units, into `out`
    /// (reusing its allocation); false when the model has no such variable.
    fn read(&self, var: &str, out: &mut Vec<f32>) -> bool;
    /// Bytes of state per neuron.
    fn bytes_per_neuron(&self) -> usize;
    /// The shader's `Params` block (bytes of a `#[repr(C)]` Pod struct that
    /// mirrors it field for field, its size a multiple of 16).
    fn gpu_params(&self) -> Vec<u8>;
    /// The GPU state: the [`Self::GPU_VARS`] sections one after the other.
    fn gpu_state(&self) -> Vec<u32>;
    /// How the GPU words of a state variable become model units (`None`: they
    /// are the f32 values' bits).
    fn gpu_decode(&self) -> Option<Decode> {
        None
    }
}

/// Turns a GPU state word of variable `var` into model units.
pub type Decode = Box<dyn Fn(&str, u32) -> f32 + Send + Sync>;

/// `out` = `src`, reusing `out`'s allocation; true (for [`NeuronKernel::read`]).
pub fn copy_into(out: &mut Vec<f32>, src: &[f32]) -> bool {
    out.clear();
    out.extend_from_slice(src);
    true
}

/// A population's constants and state: the usual [`NeuronKernel`] implementor.
#[derive(Debug, Clone)]
pub struct Pop<K, S> {
    /// Per-step constants.
    pub k: K,
    /// State arrays.
    pub s: S,
}

/// Draws a population's per-neuron parameters and initial state, in the order
/// the model asks (the construction streams of [`crate::build`]).
pub struct Draw<'a> {
    /// Number of neurons.
    pub n: usize,
    pub(crate) init: &'a BTreeMap<String, Dist>,
    pub(crate) params: &'a mut ChaCha8Rng,
    pub(crate) state: Option<&'a mut ChaCha8Rng>,
}

impl Draw<'_> {
    /// The stream of per-neuron parameters (seeded by the construction seed).
    pub fn params(&mut self) -> &mut ChaCha8Rng {
        self.params
    }

    /// Initial values of `var`: drawn from its `init` distribution, else `default`.
    pub fn state(&mut self, var: &str, default: f64) -> Vec<f32> {
        self.state_or(var, |_| default as f32)
    }

    /// Initial values of `var`: drawn from its `init` distribution, else
    /// `default(i)` for neuron `i`.
    pub fn state_or(&mut self, var: &str, default: impl FnMut(usize) -> f32) -> Vec<f32> {
        let rng = match self.state.as_deref_mut() {
            Some(r) => r,
            None => &mut *self.params,
        };
        match self.init.get(var) {
            Some(d) => (0..self.n).map(|_| d.sample(rng) as f32).collect(),
            None => (0..self.n).map(default).collect(),
        }
    }
}

/// Runs a generic operation on the kernel type of a built population
/// ([`Neurons::visit`]): the CPU backend's step is one.
pub trait Visit {
    /// What the operation returns.
    type Out;
    /// The operation on population `p`.
    fn visit<P: NeuronKernel>(self, p: &mut P) -> Self::Out;
}

/// Generates [`NeuronModel`], [`Neurons`] and [`PopulationRaw`] from the list of
/// models (`Variant(module::Params) = key`) and of kernels that no model file names
/// directly (`Variant(Type)`: the fixed-point LIF, a mode of `lif`).
macro_rules! registry {
    (
        models { $( $(#[$doc:meta])* $var:ident($module:ident :: $pty:ident) = $key:ident, )* }
        kernels { $( $(#[$kdoc:meta])* $kvar:ident($kty:ty), )* }
    ) => {
        /// The parameter types of the registered models (re-exported by
        /// [`crate::model`]).
        pub mod params {
            $( pub use super::$module::$pty; )*
        }

        /// Which neuron model a population runs, with its parameters.
        #[derive(Debug, Clone, PartialEq)]
        pub enum NeuronModel {
            $( $(#[$doc])* $var($module::$pty), )*
            /// Independent Poisson spike sources.
            Poisson(PoissonParams),
            /// Sources that spike at given times.
            SpikeSource(SpikeSourceParams),
        }

        impl NeuronModel {
            /// The keys of the neuron (not source) models, in registry order.
            pub const NEURON_KEYS: &'static [&'static str] = &[$( stringify!($key), )*];

            /// The key naming this model in a model file.
            pub fn key(&self) -> &'static str {
                match self {
                    $( NeuronModel::$var(_) => stringify!($key), )*
                    NeuronModel::Poisson(_) => "poisson",
                    NeuronModel::SpikeSource(_) => "spike_source",
                }
            }

            /// Whether the population is a spike source (no membrane, receives no synapses).
            pub fn is_source(&self) -> bool {
                matches!(self, NeuronModel::Poisson(_) | NeuronModel::SpikeSource(_))
            }

            /// State variables that `init` and state monitors may name.
            pub fn state_vars(&self) -> Vec<&'static str> {
                let state: &[StateVar] = match self {
                    $( NeuronModel::$var(_) => <$module::$pty as NeuronType>::STATE, )*
                    NeuronModel::Poisson(_) | NeuronModel::SpikeSource(_) => &[],
                };
                state.iter().map(|s| s.name).collect()
            }

            /// The unit of state variable `var` (see [`NeuronType::unit`]).
            pub fn unit(&self, var: &str) -> Option<&'static str> {
                match self {
                    $( NeuronModel::$var(x) => x.unit(var), )*
                    NeuronModel::Poisson(_) | NeuronModel::SpikeSource(_) => None,
                }
            }

            /// See [`NeuronType::conductance_weights`] (false for sources).
            pub fn conductance_weights(&self) -> bool {
                match self {
                    $( NeuronModel::$var(x) => x.conductance_weights(), )*
                    NeuronModel::Poisson(_) | NeuronModel::SpikeSource(_) => false,
                }
            }

            /// Invalid parameters of a neuron model as (field, message); None for sources.
            pub fn check_neuron(&self) -> Option<Vec<(&'static str, String)>> {
                match self {
                    $( NeuronModel::$var(x) => Some(x.check()), )*
                    NeuronModel::Poisson(_) | NeuronModel::SpikeSource(_) => None,
                }
            }

            /// The built population of a neuron model; None for sources.
            pub fn build_neurons(&self, dt_ms: f64, draw: &mut Draw<'_>) -> Option<Neurons> {
                match self {
                    $( NeuronModel::$var(x) => Some(Neurons::$var(x.build(dt_ms, draw))), )*
                    NeuronModel::Poisson(_) | NeuronModel::SpikeSource(_) => None,
                }
            }
        }

        /// A built neuron population of any registered kernel.
        #[derive(Debug, Clone)]
        pub enum Neurons {
            $( $(#[$doc])* $var(<$module::$pty as NeuronType>::Pop), )*
            $( $(#[$kdoc])* $kvar($kty), )*
        }

        impl Neurons {
            /// Runs `v` on the population's kernel type.
            pub fn visit<V: Visit>(&mut self, v: V) -> V::Out {
                match self {
                    $( Neurons::$var(p) => v.visit(p), )*
                    $( Neurons::$kvar(p) => v.visit(p), )*
                }
            }

            /// See [`NeuronKernel::read`].
            pub fn read(&self, var: &str, out: &mut Vec<f32>) -> bool {
                match self {
                    $( Neurons::$var(p) => p.read(var, out), )*
                    $( Neurons::$kvar(p) => p.read(var, out), )*
                }
            }

            /// See [`NeuronKernel::bytes_per_neuron`].
            pub fn bytes_per_neuron(&self) -> usize {
                match self {
                    $( Neurons::$var(p) => p.bytes_per_neuron(), )*
                    $( Neurons::$kvar(p) => p.bytes_per_neuron(), )*
                }
            }

            /// The shader's file name and source.
            pub fn shader(&self) -> (&'static str, &'static str) {
                fn of<P: NeuronKernel>(_: &P) -> (&'static str, &'static str) {
                    (P::SHADER, P::SOURCE)
                }
                match self {
                    $( Neurons::$var(p) => of(p), )*
                    $( Neurons::$kvar(p) => of(p), )*
                }
            }

            /// See [`NeuronKernel::GPU_VARS`].
            pub fn gpu_vars(&self) -> &'static [&'static str] {
                fn of<P: NeuronKernel>(_: &P) -> &'static [&'static str] {
                    P::GPU_VARS
                }
                match self {
                    $( Neurons::$var(p) => of(p), )*
                    $( Neurons::$kvar(p) => of(p), )*
                }
            }

            /// See [`NeuronKernel::gpu_params`].
            pub fn gpu_params(&self) -> Vec<u8> {
                match self {
                    $( Neurons::$var(p) => p.gpu_params(), )*
                    $( Neurons::$kvar(p) => p.gpu_params(), )*
                }
            }

            /// See [`NeuronKernel::gpu_state`].
            pub fn gpu_state(&self) -> Vec<u32> {
                match self {
                    $( Neurons::$var(p) => p.gpu_state(), )*
                    $( Neurons::$kvar(p) => p.gpu_state(), )*
                }
            }

            /// See [`NeuronKernel::gpu_decode`].
            pub fn gpu_decode(&self) -> Option<Decode> {
                match self {
                    $( Neurons::$var(p) => p.gpu_decode(), )*
                    $( Neurons::$kvar(p) => p.gpu_decode(), )*
                }
            }

            /// See [`NeuronKernel::CHECKED`].
            pub fn checked(&self) -> &'static str {
                fn of<P: NeuronKernel>(_: &P) -> &'static str {
                    P::CHECKED
                }
                match self {
                    $( Neurons::$var(p) => of(p), )*
                    $( Neurons::$kvar(p) => of(p), )*
                }
            }
        }

        /// Every neuron shader with its file name (validated by the shader tests).
        pub const SHADERS: &[(&str, &str)] = &[
            $( (<<$module::$pty as NeuronType>::Pop as NeuronKernel>::SHADER,
                <<$module::$pty as NeuronType>::Pop as NeuronKernel>::SOURCE), )*
            $( (<$kty as NeuronKernel>::SHADER, <$kty as NeuronKernel>::SOURCE), )*
        ];

        /// A population as written in a file: the model is the one key among the
        /// registered models' keys, `poisson` and `spike_source`.
        #[derive(Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct PopulationRaw {
            name: String,
            size: u32,
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $key: Option<$module::$pty>,
            )*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            poisson: Option<PoissonParams>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            spike_source: Option<SpikeSourceParams>,
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            init: BTreeMap<String, Dist>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            fixed_point: Option<crate::neuron::FixedPoint>,
        }

        impl TryFrom<PopulationRaw> for crate::model::Population {
            type Error = String;
            fn try_from(r: PopulationRaw) -> Result<Self, String> {
                let mut models = vec![];
                $( if let Some(p) = r.$key { models.push(NeuronModel::$var(p)); } )*
                if let Some(p) = r.poisson {
                    models.push(NeuronModel::Poisson(p));
                }
                if let Some(p) = r.spike_source {
                    models.push(NeuronModel::SpikeSource(p));
                }
                if models.len() != 1 {
                    return Err(format!(
                        "population '{}' needs exactly one model table ({}, poisson or spike_source), found {}",
                        r.name,
                        NeuronModel::NEURON_KEYS.join(", "),
                        models.len()
                    ));
                }
                Ok(crate::model::Population {
                    name: r.name,
                    size: r.size,
                    model: models.pop().expect("one model"),
                    init: r.init,
                    fixed_point: r.fixed_point,
                })
            }
        }

        impl From<crate::model::Population> for PopulationRaw {
            fn from(p: crate::model::Population) -> Self {
                let mut r = PopulationRaw {
                    name: p.name,
                    size: p.size,
                    $( $key: None, )*
                    poisson: None,
                    spike_source: None,
                    init: p.init,
                    fixed_point: p.fixed_point,
                };
                match p.model {
                    $( NeuronModel::$var(x) => r.$key = Some(x), )*
                    NeuronModel::Poisson(x) => r.poisson = Some(x),
                    NeuronModel::SpikeSource(x) => r.spike_source = Some(x),
                }
                r
            }
        }
    };
}

use super::{fixed, izhikevich, lif, lif_cond};
#[path = "adex.rs"]
pub mod adex;

registry! {
    models {
        /// Current-based leaky integrate-and-fire (delta or exponential synapses).
        Lif(lif::LifParams) = lif,
        /// Conductance-based leaky integrate-and-fire with exponential conductances.
        LifCond(lif_cond::LifCondParams) = lif_cond,
        /// Izhikevich (2003) neuron with presets and per-neuron random parameters.
        Izhikevich(izhikevich::IzhikevichParams) = izhikevich,
        /// Adaptive exponential integrate-and-fire (Brette & Gerstner 2005).
        AdEx(adex::AdExParams) = adex,
    }
    kernels {
        /// Current-based LIF in fixed point (`lif` with a `fixed_point` table).
        LifFixed(fixed::FixedPop),
    }
}

/// A population of `n` neurons of `model` with default initial state.
#[cfg(test)]
pub(crate) fn test_pop(model: &NeuronModel, n: usize) -> Neurons {
    let init = BTreeMap::new();
    let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    let mut draw = Draw {
        n,
        init: &init,
        params: &mut rng,
        state: None,
    };
    model.build_neurons(0.1, &mut draw).expect("a neuron model")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_names_a_shader_and_its_params_block_is_16_byte_sized() {
        for (file, src) in SHADERS {
            assert!(src.contains("fn main"), "{file}");
        }
        let net_dt = 0.1;
        let init = BTreeMap::new();
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        for model in [
            NeuronModel::Lif(Default::default()),
            NeuronModel::LifCond(Default::default()),
            NeuronModel::Izhikevich(Default::default()),
        ] {
            let mut draw = Draw {
                n: 3,
                init: &init,
                params: &mut rng,
                state: None,
            };
            let pop = model
                .build_neurons(net_dt, &mut draw)
                .expect("a neuron model");
            assert_eq!(pop.gpu_params().len() % 16, 0, "{}", model.key());
            assert_eq!(pop.gpu_state().len(), 3 * pop.gpu_vars().len());
            for var in model.state_vars() {
                assert!(model.unit(var).is_some_and(|u| !u.is_empty()), "{var}");
                let mut out = vec![];
                assert!(pop.read(var, &mut out), "{var}");
                assert_eq!(out.len(), 3, "{var}");
            }
        }
    }
}
