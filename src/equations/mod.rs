//! User-written models: equation strings parsed into a typed expression tree
//! (`ast`), checked against the model's names (`check`) and units
//! (`units`), evaluated on the CPU and translated to WGSL.
//!
//! ```
//! use astroglia::equations::{Scope, check_equations, check_statements, parse_equations, parse_statements};
//! let eqs = parse_equations("
//!     dv/dt = (-g_l*(v - e_l) + g_l*delta_t*exp((v - v_t)/delta_t) - w + i_exc - i_inh) / c_m
//!     dw/dt = (a*(v - e_l) - w) / tau_w
//!     di_exc/dt = -i_exc / 5.0
//! ").unwrap();
//! assert_eq!(eqs.len(), 3);
//! let scope = Scope {
//!     parameters: &["g_l", "e_l", "delta_t", "v_t", "c_m", "a", "tau_w", "v_r", "b", "v_peak"],
//!     state: &["v", "w", "i_exc", "i_inh"],
//!     constants: &[],
//! };
//! assert!(check_equations(&eqs, &scope).is_empty());
//! let reset = parse_statements("v = v_r; w += b").unwrap();
//! assert!(check_statements(&reset, &scope, &[]).is_empty());
//! // Errors point into the string.
//! let errs = parse_equations("dv/dt = -v *").unwrap_err();
//! assert_eq!(errs[0].to_string(), "line 1, column 13: expected an expression after '*', found end of line");
//! ```
pub(crate) mod ast;
pub(crate) mod check;
pub(crate) mod eval;
pub(crate) mod hoist;
pub(crate) mod integrate;
pub(crate) mod linear;
#[doc(hidden)]
pub mod math;
pub(crate) mod native;
pub(crate) mod neuron;
pub(crate) mod parse;
pub(crate) mod synapse;
pub(crate) mod units;
pub(crate) mod wgsl;
#[cfg(target_arch = "x86_64")]
mod wide;

pub use check::{Scope, check_equations, check_expr, check_statements, definition_order};
pub use neuron::{CompiledNeuron, MethodChoice, NeuronModelSpec, Scheme, SpecError, Values};
pub use parse::{EqError, parse_equations, parse_expr, parse_statements};
pub use synapse::{CompiledSynapse, Side, SynapseModelSpec};

impl CompiledNeuron {
    /// The WGSL compute shader of this model's neuron phase (what
    /// `astroglia check --emit wgsl` prints). Parameters live in buffers: the
    /// text depends on the equations only.
    pub fn wgsl(&self) -> String {
        wgsl::neuron_shader(self)
    }
}

impl CompiledSynapse {
    /// The WGSL compute shader of this rule for step `dt_ms`, laid out as for
    /// a network whose only plastic projection has `n_pre` presynaptic and
    /// `n_post` postsynaptic neurons and `n_syn` synapses (what
    /// `astroglia check --emit wgsl` prints, with 100, 100 and 10 000).
    pub fn wgsl(&self, n_pre: u32, n_post: u32, n_syn: u32, dt_ms: f64) -> String {
        let at = wgsl::SynapseLayout::alone(self, n_pre, n_post, n_syn);
        wgsl::synapse_shader(self, &at, dt_ms as f32)
    }
}
