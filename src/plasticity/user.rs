//! User-written plasticity rules: the registry entry of a projection whose
//! rule is a `[[synapse_models]]` entry (see [`crate::equations::synapse`]).
//! The CPU runs the compiled programs on the interpreter; the GPU runs WGSL
//! generated from the same assignments.
use super::kernel::{Command, Pairing, RuleSpec, StdpConsts, WeightDependence};
use super::registry::PlasticityRule;
use crate::equations::synapse::{CompiledSynapse, Side, SynapseModelSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A projection's user-written rule: the model's name, parameter values that
/// replace its defaults, and the model itself, found by name among the
/// file's `[[synapse_models]]` (`plasticity = { user = { model = "pair" } }`).
///
/// ```
/// use astroglia::model::SynapseModelSpec;
/// use astroglia::plasticity::{Plasticity, UserRule};
/// let spec: SynapseModelSpec = toml::from_str(r#"
///     name = "hebb"
///     parameters = { eta = 0.01, tau = 20.0 }
///     pre = { x = 0.0 }
///     equations = "dx/dt = -x / tau"
///     on_pre = "x += 1"
///     on_post = "w += eta * x"
///     w_max = 1.0
/// "#).unwrap();
/// let rule = Plasticity::User(UserRule::new(spec).with("eta", 0.02));
/// assert!(rule.check().is_empty());
/// assert_eq!(rule.bounds(), (0.0, 1.0));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRule {
    /// The model's name.
    pub model: String,
    /// Parameter values that replace the model's defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, f64>,
    /// The model; `None` until a file's projection is matched with its
    /// `[[synapse_models]]` entry.
    #[serde(skip)]
    pub spec: Option<Arc<SynapseModelSpec>>,
}

impl UserRule {
    /// A rule of `spec` with its default parameters.
    pub fn new(spec: SynapseModelSpec) -> Self {
        UserRule {
            model: spec.name.clone(),
            parameters: BTreeMap::new(),
            spec: Some(Arc::new(spec)),
        }
    }

    /// Sets parameter `name` to `value`.
    pub fn with(mut self, name: &str, value: f64) -> Self {
        self.parameters.insert(name.into(), value);
        self
    }

    /// The rule built for step `dt_ms` (None while the model is unresolved or
    /// does not compile, which validation reports).
    pub fn build(&self, dt_ms: f64) -> Option<BuiltUserRule> {
        let spec = self.spec.as_ref()?;
        let model = spec.compile().ok()?;
        let params: Vec<f64> = spec
            .parameters
            .0
            .iter()
            .map(|(n, v)| self.parameters.get(n).copied().unwrap_or(*v))
            .collect();
        let cols = model.columns_for(&params, dt_ms);
        Some(BuiltUserRule {
            init: [Side::Pre, Side::Post, Side::Synapse].map(|s| spec.initial(s)),
            model: Arc::new(model),
            cols,
        })
    }
}

/// A user rule as both backends run it.
#[derive(Debug, Clone)]
pub struct BuiltUserRule {
    /// The compiled programs.
    pub model: Arc<CompiledSynapse>,
    /// The projection's columns (parameters, then values computed before the run).
    pub cols: Vec<f32>,
    /// Initial value of each presynaptic, postsynaptic and further synapse
    /// variable.
    pub init: [Vec<f32>; 3],
}

const USER_SPEC: RuleSpec = RuleSpec {
    key: "user",
    traces: &[],
    synapse_state: &["w"],
    commands: &[Command::Modulator, Command::Error],
    astrocyte: false,
};

impl PlasticityRule for UserRule {
    const KEY: &'static str = "user";
    const SPEC: &'static RuleSpec = &USER_SPEC;

    fn check(&self) -> Vec<(&'static str, String)> {
        let Some(spec) = &self.spec else {
            return vec![(
                "model",
                format!("no synapse model named '{}' in synapse_models", self.model),
            )];
        };
        let mut out = vec![];
        for (name, v) in &self.parameters {
            if spec.parameters.get(name).is_none() {
                let known: Vec<&str> = spec.parameters.names().collect();
                out.push((
                    "parameters",
                    format!(
                        "'{}' has no parameter '{name}' (it has: {})",
                        spec.name,
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            } else if !v.is_finite() {
                out.push(("parameters", format!("{name} = {v} is not a finite number")));
            }
        }
        out
    }

    fn bounds(&self) -> (f64, f64) {
        self.spec
            .as_ref()
            .map_or((0.0, 1.0), |s| (s.w_min, s.w_max))
    }

    fn derive(&self, dt_ms: f64) -> StdpConsts {
        StdpConsts::new(
            Self::SPEC,
            Pairing::AllToAll,
            WeightDependence::Additive,
            [1.0; 4],
            [0.0; 4],
            self.bounds(),
            dt_ms,
        )
    }
}
