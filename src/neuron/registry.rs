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
use crate::model::Dist;
use crate::rng::CounterRng;
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
    /// Invalid parameters of a population of `size` (per-neuron values of the
    /// wrong length, say): [`Self::check`] unless a model has such values.
    fn check_for(&self, size: u32) -> Vec<(&'static str, String)> {
        let _ = size;
        self.check()
    }
    /// The same parameters with every value a preset or default supplies
    /// written out (what `astroglia models` shows).
    fn explicit(&self) -> Self {
        self.clone()
    }
    /// Its two receptors, `exc` and `inh` in that order: how a weight delivered
    /// to each enters the state, in which unit.
    fn receptors(&self) -> [ReceptorSpec; 2];
    /// Whether synaptic weights onto this model are conductances (nS), which
    /// must not be negative (inhibition goes through the inhibitory receptor).
    fn conductance_weights(&self) -> bool {
        self.receptors().iter().any(|r| r.unit == "nS")
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

/// How a weight delivered to a receptor of a neuron model enters its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceptorSpec {
    /// `exc` or `inh`, as projections name it (`receptor = "inh"`).
    pub name: &'static str,
    /// The state variable the weight is added to (`v`, `i_exc`, `ge`), or `I`
    /// for a current that acts during the step it arrives in.
    pub enters: &'static str,
    /// The unit of its weights (`mV`, `pA`, `nS`).
    pub unit: &'static str,
}

impl ReceptorSpec {
    /// The `exc` and `inh` receptors adding weights in `unit` to `exc` and `inh`.
    pub const fn pair(exc: &'static str, inh: &'static str, unit: &'static str) -> [Self; 2] {
        [
            ReceptorSpec {
                name: "exc",
                enters: exc,
                unit,
            },
            ReceptorSpec {
                name: "inh",
                enters: inh,
                unit,
            },
        ]
    }
}

/// A spike source's parameters: the table of its key in a model file. Sources
/// have no membrane and receive no synapses; the inputs phase emits their spikes.
pub trait SourceType:
    Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The built source.
    type Built: SourceKernel;
    /// Invalid parameters of a source of `size` neurons at step `dt_ms`, as
    /// (field, message); empty when valid.
    fn check(&self, size: u32, dt_ms: f64) -> Vec<(&'static str, String)>;
    /// The source of `size` neurons at step `dt_ms`.
    fn build(&self, size: u32, dt_ms: f64) -> Self::Built;
}

/// A built spike source: what the CPU inputs phase runs of it (its GPU twin is
/// an `inputs_*.wgsl` shader the GPU backend uploads it for).
pub trait SourceKernel: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Appends the local ids that spike at `step` to `out`, drawing from `rng`'s
    /// `stream`; `cursor` is per-instance position state (0 after a reset).
    fn emit(
        &self,
        rng: &CounterRng,
        stream: u32,
        step: u64,
        cursor: &mut usize,
        out: &mut Vec<u32>,
    );
}

/// The step nearest to `ms` (0 for negative times).
pub(crate) fn steps_of(ms: f64, dt: f64) -> u64 {
    (ms / dt).round().max(0.0) as u64
}

/// What a built population runs: neurons of a registered model or a source.
#[derive(Debug, Clone)]
pub enum Dynamics {
    /// Neurons of a registered model.
    Neurons(Neurons),
    /// A registered spike source.
    Source(Sources),
}

/// The signature of every CPU neuron kernel: constants, a view of (a chunk of) the
/// state, this step's excitatory and inhibitory ring slots (fixed point, cleared
/// after reading), the ring scales, the external current (`None`: zero), the
/// population index of the chunk's first neuron and the spike list to append to.
/// Returns false when a state variable became non-finite.
#[allow(dead_code)] // documents the kernels' common shape
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
    /// The shader's name (its pipeline's key) and source: [`Self::SHADER`] and
    /// [`Self::SOURCE`] unless generated.
    fn shader_source(&self) -> (String, std::borrow::Cow<'static, str>) {
        (Self::SHADER.into(), Self::SOURCE.into())
    }
    /// The sections of the GPU state buffer: [`Self::GPU_VARS`] unless generated.
    fn gpu_var_names(&self) -> Vec<String> {
        Self::GPU_VARS.iter().map(|v| v.to_string()).collect()
    }
    /// The variables named when the state becomes non-finite: [`Self::CHECKED`]
    /// unless generated.
    fn checked_vars(&self) -> String {
        Self::CHECKED.into()
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
    /// Global id of the population's neuron 0.
    pub(crate) offset: u32,
    /// The instance's seed (per-step randomness of user models).
    pub(crate) instance_seed: u64,
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
/// `'a` is how long the population stays borrowed: what the operation returns
/// may hold views of its state.
pub trait Visit<'a> {
    /// What the operation returns.
    type Out;
    /// The operation on population `p`.
    fn visit<P: NeuronKernel>(self, p: &'a mut P) -> Self::Out;
}

/// Generates [`NeuronModel`], [`Neurons`] and [`PopulationRaw`] from the list of
/// models (`Variant(module::Params) = key`) and of kernels that no model file names
/// directly (`Variant(Type)`: the fixed-point LIF, a mode of `lif`).
macro_rules! registry {
    (
        models { $( $(#[$doc:meta])* $var:ident($module:ident :: $pty:ident) = $key:ident, )* }
        kernels { $( $(#[$kdoc:meta])* $kvar:ident($kty:ty), )* }
        sources { $( $(#[$sdoc:meta])* $svar:ident($smod:ident :: $sty:ident) = $skey:ident, )* }
    ) => {
        /// The parameter types of the registered models and sources (re-exported
        /// by [`crate::model`]).
        // Some are shadowed by `crate::model`'s explicit re-exports.
        #[allow(unused_imports)]
        pub mod params {
            $( pub use super::$module::$pty; )*
            $( pub use super::$smod::$sty; )*
        }

        /// Which neuron model a population runs, with its parameters.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum NeuronModel {
            $( $(#[$doc])* $var($module::$pty), )*
            $( $(#[$sdoc])* $svar($smod::$sty), )*
            /// A user-written model (`model = "name"`, `[[neuron_models]]`).
            User(super::user::UserNeuron),
        }

        impl NeuronModel {
            /// The keys of the neuron (not source) models, in registry order.
            pub const NEURON_KEYS: &'static [&'static str] = &[$( stringify!($key), )*];
            /// The keys of the sources, in registry order.
            pub const SOURCE_KEYS: &'static [&'static str] = &[$( stringify!($skey), )*];

            /// The key naming this model in a model file.
            pub fn key(&self) -> &'static str {
                match self {
                    $( NeuronModel::$var(_) => stringify!($key), )*
                    $( NeuronModel::$svar(_) => stringify!($skey), )*
                    NeuronModel::User(_) => "model",
                }
            }

            /// Whether the population is a spike source (no membrane, receives no synapses).
            pub fn is_source(&self) -> bool {
                matches!(self, $( NeuronModel::$svar(_) )|*)
            }

            /// State variables that `init` and state monitors may name.
            pub fn state_vars(&self) -> Vec<String> {
                let state: &[StateVar] = match self {
                    $( NeuronModel::$var(_) => <$module::$pty as NeuronType>::STATE, )*
                    $( NeuronModel::$svar(_) => &[], )*
                    NeuronModel::User(u) => return u.state_vars(),
                };
                state.iter().map(|s| s.name.to_string()).collect()
            }

            /// The state variables of a built-in model (empty for sources and
            /// user models).
            pub fn state_spec(&self) -> &'static [StateVar] {
                match self {
                    $( NeuronModel::$var(_) => <$module::$pty as NeuronType>::STATE, )*
                    $( NeuronModel::$svar(_) => &[], )*
                    NeuronModel::User(_) => &[],
                }
            }

            /// [`NeuronType::unit`] of a built-in model.
            fn static_unit(&self, var: &str) -> Option<&'static str> {
                match self {
                    $( NeuronModel::$var(x) => x.unit(var), )*
                    _ => None,
                }
            }

            /// The unit of state variable `var` (see `NeuronType::unit`).
            pub fn unit(&self, var: &str) -> Option<String> {
                match self {
                    $( NeuronModel::$var(x) => x.unit(var).map(String::from), )*
                    $( NeuronModel::$svar(_) => None, )*
                    NeuronModel::User(u) => u.unit(var),
                }
            }

            /// Every registered model and source with its default parameters, in
            /// registry order.
            pub fn defaults() -> Vec<NeuronModel> {
                vec![
                    $( NeuronModel::$var(<$module::$pty>::default()), )*
                    $( NeuronModel::$svar(<$smod::$sty>::default()), )*
                ]
            }

            /// See `NeuronType::explicit` (sources as they are).
            pub fn explicit(&self) -> NeuronModel {
                match self {
                    $( NeuronModel::$var(x) => NeuronModel::$var(x.explicit()), )*
                    $( NeuronModel::$svar(_) => self.clone(), )*
                    NeuronModel::User(_) => self.clone(),
                }
            }

            /// See `NeuronType::receptors`; None for sources.
            pub fn receptors(&self) -> Option<[ReceptorSpec; 2]> {
                match self {
                    $( NeuronModel::$var(x) => Some(x.receptors()), )*
                    $( NeuronModel::$svar(_) => None, )*
                    NeuronModel::User(_) => None,
                }
            }

            /// See `NeuronType::conductance_weights` (false for sources).
            pub fn conductance_weights(&self) -> bool {
                match self {
                    $( NeuronModel::$var(x) => x.conductance_weights(), )*
                    $( NeuronModel::$svar(_) => false, )*
                    NeuronModel::User(_) => false,
                }
            }

            /// Invalid parameters of a population of `size` at step `dt_ms` as
            /// (field within the population, message); empty when valid.
            pub fn check(&self, size: u32, dt_ms: f64) -> Vec<(String, String)> {
                let key = self.key();
                let fields = |v: Vec<(&'static str, String)>| {
                    v.into_iter().map(|(f, m)| (format!("{key}.{f}"), m)).collect()
                };
                match self {
                    $( NeuronModel::$var(x) => fields(x.check_for(size)), )*
                    $( NeuronModel::$svar(x) => fields(x.check(size, dt_ms)), )*
                    NeuronModel::User(u) => u.check(),
                }
            }

            /// The built population of a neuron model; None for sources.
            pub fn build_neurons(&self, dt_ms: f64, draw: &mut Draw<'_>) -> Option<Neurons> {
                match self {
                    $( NeuronModel::$var(x) => Some(Neurons::$var(x.build(dt_ms, draw))), )*
                    $( NeuronModel::$svar(_) => None, )*
                    NeuronModel::User(u) => Some(Neurons::User(u.build(dt_ms, draw))),
                }
            }

            /// The built population of `draw.n` neurons at step `dt_ms`.
            pub fn build(&self, dt_ms: f64, draw: &mut Draw<'_>) -> Dynamics {
                match self {
                    $( NeuronModel::$var(x) => Dynamics::Neurons(Neurons::$var(x.build(dt_ms, draw))), )*
                    $( NeuronModel::$svar(x) => Dynamics::Source(Sources::$svar(x.build(draw.n as u32, dt_ms))), )*
                    NeuronModel::User(u) => Dynamics::Neurons(Neurons::User(u.build(dt_ms, draw))),
                }
            }
        }

        /// A built spike source of any registered kind.
        #[derive(Debug, Clone)]
        pub enum Sources {
            $( $(#[$sdoc])* $svar(<$smod::$sty as SourceType>::Built), )*
        }

        impl Sources {
            /// See [`SourceKernel::emit`].
            pub fn emit(&self, rng: &CounterRng, stream: u32, step: u64, cursor: &mut usize, out: &mut Vec<u32>) {
                match self {
                    $( Sources::$svar(x) => x.emit(rng, stream, step, cursor, out), )*
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
            pub fn visit<'a, V: Visit<'a>>(&'a mut self, v: V) -> V::Out {
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

            /// The shader's name and source ([`NeuronKernel::shader_source`]).
            pub fn shader(&self) -> (String, std::borrow::Cow<'static, str>) {
                match self {
                    $( Neurons::$var(p) => p.shader_source(), )*
                    $( Neurons::$kvar(p) => p.shader_source(), )*
                }
            }

            /// See [`NeuronKernel::gpu_var_names`].
            pub fn gpu_vars(&self) -> Vec<String> {
                match self {
                    $( Neurons::$var(p) => p.gpu_var_names(), )*
                    $( Neurons::$kvar(p) => p.gpu_var_names(), )*
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

            /// See [`NeuronKernel::checked_vars`].
            pub fn checked(&self) -> String {
                match self {
                    $( Neurons::$var(p) => p.checked_vars(), )*
                    $( Neurons::$kvar(p) => p.checked_vars(), )*
                }
            }
        }

        /// Every neuron shader with its file name (validated by the shader tests).
        #[cfg(test)]
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
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $skey: Option<$smod::$sty>,
            )*
            /// A user-written model's name (`[[neuron_models]]`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            model: Option<String>,
            /// A user-written model's parameter values.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            parameters: BTreeMap<String, Dist>,
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
                $( if let Some(p) = r.$skey { models.push(NeuronModel::$svar(p)); } )*
                let user = r.model.is_some();
                if let Some(model) = r.model {
                    models.push(NeuronModel::User(super::user::UserNeuron {
                        model,
                        parameters: r.parameters,
                        spec: None,
                    }));
                } else if !r.parameters.is_empty() {
                    return Err(format!(
                        "population '{}': `parameters` sets a user model's parameters; name the model with `model = \"...\"` (built-in models take theirs in their own table)",
                        r.name
                    ));
                }
                if models.len() != 1 {
                    let keys = [NeuronModel::NEURON_KEYS, NeuronModel::SOURCE_KEYS].concat();
                    return Err(format!(
                        "population '{}' needs exactly one model: a table of {} or `model = \"name\"` of a [[neuron_models]] entry; found {}{}",
                        r.name,
                        keys.join(", "),
                        models.len(),
                        if user { " (`model` and a table)" } else { "" }
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
                    $( $skey: None, )*
                    model: None,
                    parameters: BTreeMap::new(),
                    init: p.init,
                    fixed_point: p.fixed_point,
                };
                match p.model {
                    $( NeuronModel::$var(x) => r.$key = Some(x), )*
                    $( NeuronModel::$svar(x) => r.$skey = Some(x), )*
                    NeuronModel::User(u) => {
                        r.model = Some(u.model);
                        r.parameters = u.parameters;
                    }
                }
                r
            }
        }
    };
}

use super::{fixed, izhikevich, lif, lif_cond, loihi, poisson, spike_source};
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
        /// Loihi's CUBA LIF in the chip's integers, bit for bit as Lava's
        /// `PyLifModelBitAcc`.
        LoihiLif(loihi::LoihiLifParams) = loihi_lif,
    }
    kernels {
        /// Current-based LIF in fixed point (`lif` with a `fixed_point` table).
        LifFixed(fixed::FixedPop),
        /// A user-written model (kernels generated from its equations).
        User(super::user::UserPop),
    }
    sources {
        /// Independent Poisson spike sources.
        Poisson(poisson::PoissonParams) = poisson,
        /// Sources that spike at given times.
        SpikeSource(spike_source::SpikeSourceParams) = spike_source,
    }
}

impl NeuronModel {
    /// The state variables with their units and the initial value a neuron of
    /// these parameters starts from when `init` does not set it (empty for
    /// sources).
    pub fn initial_state(&self) -> Vec<(StateVar, f32)> {
        let Some(pop) = self.default_pop(1, 0) else {
            return vec![];
        };
        let mut out = vec![];
        self.state_spec()
            .iter()
            .filter_map(|s| {
                let unit = self.static_unit(s.name)?;
                pop.read(s.name, &mut out)
                    .then(|| (StateVar { name: s.name, unit }, out[0]))
            })
            .collect()
    }
}

impl NeuronModel {
    /// `n` neurons of this model at dt 0.1 ms with no `init`, parameters drawn
    /// from `seed`; None for sources.
    fn default_pop(&self, n: usize, seed: u64) -> Option<Neurons> {
        let init = BTreeMap::new();
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        let mut draw = Draw {
            n,
            init: &init,
            params: &mut rng,
            state: None,
            offset: 0,
            instance_seed: seed,
        };
        self.build_neurons(0.1, &mut draw)
    }
}

/// A population of `n` neurons of `model` with default initial state.
#[cfg(all(test, feature = "gpu"))]
pub(crate) fn test_pop(model: &NeuronModel, n: usize) -> Neurons {
    model.default_pop(n, 1).expect("a neuron model")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_names_a_shader_and_its_params_block_is_16_byte_sized() {
        for (file, src) in SHADERS.iter().filter(|s| !s.1.is_empty()) {
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
                offset: 0,
                instance_seed: 1,
            };
            let pop = model
                .build_neurons(net_dt, &mut draw)
                .expect("a neuron model");
            assert_eq!(pop.gpu_params().len() % 16, 0, "{}", model.key());
            assert_eq!(pop.gpu_state().len(), 3 * pop.gpu_vars().len());
            for var in model.state_vars() {
                assert!(model.unit(&var).is_some_and(|u| !u.is_empty()), "{var}");
                let mut out = vec![];
                assert!(pop.read(&var, &mut out), "{var}");
                assert_eq!(out.len(), 3, "{var}");
            }
        }
    }
}
