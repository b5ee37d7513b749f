//! User-written neuron models: the `[[neuron_models]]` table of a model file,
//! checked and compiled into receptor, step, threshold and reset programs.
//!
//! One step of a population, in order: each receptor's statement with `w` the
//! step's summed weight arriving on it; the integration step of the equations
//! (each variable by its `Method`, all from the state after the receptors);
//! the threshold, tested where the neuron is not refractory; the reset of the
//! neurons that spiked, which then stay refractory (no threshold test, and
//! variables marked `(unless refractory)` held) for `refractory_ms`.
//!
//! Besides `t` and `dt`, the strings may read `i_ext` (the step's external
//! current from `[[inputs]]`, pA) and `not_refractory` (1 or 0).
use super::ast::{BinOp, Equation, Expr, Statement};
use super::eval::{Input, Program, StepEnv};
use super::hoist::{hoist_phases, is_invariant, name};
use super::integrate::{Assign, Method, rename, step_folding};
use super::linear::{eval_f64, linear_system, propagators_from_exponent};
use super::native::{Native, NeuronIo};
use super::{EqError, Scope, check_equations, check_expr, check_statements};
use super::{parse_equations, parse_expr, parse_statements};
use crate::neuron::AlignedVec;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A step's list of arrays, on the stack for up to 16.
pub type Args<T> = smallvec::SmallVec<[T; 16]>;

/// Names every user model may read besides its own: the step's external
/// current and whether the neuron may integrate its held variables.
pub const NEURON_INPUTS: [&str; 2] = ["i_ext", "not_refractory"];

/// The receptors a projection can deliver to (the engine's two ring slots).
pub const RECEPTORS: [&str; 2] = ["exc", "inh"];

/// Draw sites of the programs, apart so that their draws never coincide.
pub(crate) const SITES: [u8; 4] = [0, 64, 128, 192];

/// Named values in the order a file gives them (initial values are drawn in
/// this order, as the built-in models draw theirs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values(pub Vec<(String, f64)>);

impl Values {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Values;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a table of names and numbers")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Values, A::Error> {
                let mut out: Vec<(String, f64)> = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, f64>()? {
                    if out.iter().any(|(n, _)| *n == k) {
                        return Err(serde::de::Error::custom(format!("'{k}' appears twice")));
                    }
                    out.push((k, v));
                }
                Ok(Values(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// How the equations are integrated: one method for all, or one per variable
/// (`{ v = "euler", ge = "exact" }`; `default` for the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MethodChoice {
    /// `euler`, `rk2`, `rk4`, `exponential_euler` or `exact`.
    One(String),
    /// Per state variable, with `default` for those not named.
    PerVariable(BTreeMap<String, String>),
}

impl Default for MethodChoice {
    fn default() -> Self {
        MethodChoice::One("euler".into())
    }
}

/// A method name: a `Method` or `exact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A numerical method.
    Numeric(Method),
    /// Exact propagation of a linear system with step-invariant coefficients.
    Exact,
}

impl Scheme {
    /// The method called `name` in a model file.
    pub fn by_name(name: &str) -> Option<Scheme> {
        if name == "exact" {
            return Some(Scheme::Exact);
        }
        Method::by_name(name).map(Scheme::Numeric)
    }

    /// Its model-file name.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Numeric(m) => m.name(),
            Scheme::Exact => "exact",
        }
    }

    /// Every model-file name.
    pub fn names() -> Vec<&'static str> {
        let mut v: Vec<_> = Method::ALL.iter().map(|m| m.1).collect();
        v.push("exact");
        v
    }
}

/// A neuron model written in a model file.
///
/// ```
/// use astroglia::model::NeuronModelSpec;
/// let spec: NeuronModelSpec = toml::from_str(r#"
///     name = "lif"
///     parameters = { tau = 20.0, e_l = -70.0, v_th = -50.0, v_r = -70.0, i = 25.0 }
///     state = { v = -70.0 }
///     equations = "dv/dt = (e_l - v + i) / tau"
///     threshold = "v > v_th"
///     reset = "v = v_r"
///     method = "exponential_euler"
/// "#).unwrap();
/// let model = spec.compile(0.1).unwrap();
/// assert_eq!(model.state, ["v"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronModelSpec {
    /// The name populations use (`model = "adex"`).
    pub name: String,
    /// Parameters and their defaults (a population may override each, per
    /// neuron too).
    #[serde(default)]
    pub parameters: Values,
    /// State variables and their initial values (a population's `init` may
    /// override them).
    pub state: Values,
    /// Units of parameters and state variables (`{ v = "mV", c_m = "pF" }`),
    /// for the dimension checks; optional.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub units: BTreeMap<String, String>,
    /// `dx/dt = ...` lines (per ms) and `name = ...` definitions.
    pub equations: String,
    /// Per receptor (`exc`, `inh`), the statement that adds the step's weight
    /// `w` (`i_exc += w`); `w` there is the weight, not a state variable.
    #[serde(default)]
    pub receptors: BTreeMap<String, String>,
    /// When a neuron spikes (`v > v_th`).
    pub threshold: String,
    /// What a spike does (`v = v_r; w += b`).
    #[serde(default)]
    pub reset: String,
    /// Steps after a spike without a threshold test, in ms.
    #[serde(default)]
    pub refractory_ms: f64,
    /// `euler` (default), `rk2`, `rk4`, `exponential_euler`, `exact`, or a
    /// table of them per variable.
    #[serde(default)]
    pub method: MethodChoice,
}

/// An error in one field of a [`NeuronModelSpec`], located inside its string
/// where it comes from one.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// The field (`equations`, `threshold`, `receptors.exc`, ...).
    pub field: String,
    /// The place inside the field's string and what is wrong.
    pub error: EqError,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.error)
    }
}

/// A column the compiler computes before the run, per neuron, from the
/// parameters (in f64, rounded once to f32).
#[derive(Debug, Clone, PartialEq)]
pub enum Lifted {
    /// A step-invariant subexpression.
    Expr(Expr),
    /// Entry `(row, col)` of an exactly integrated system's propagator: `E`
    /// (`expm(A·dt)`) or, with `forcing`, `F` (`∫₀^dt expm(A·s) ds`).
    Propagator {
        /// Index into [`CompiledNeuron::systems`].
        system: usize,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
        /// `F` rather than `E`.
        forcing: bool,
    },
}

/// The program of one phase, as assignments (what the WGSL generator emits)
/// and compiled for the CPU interpreter.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Straight-line assignments (temporaries start with `_`).
    pub assigns: Vec<Assign>,
    /// The same, compiled.
    pub program: Program,
}

/// A compiled neuron model.
///
/// Programs read state variable `i` as `Input::State(i)` and per-neuron column
/// `j` as `Input::Param(j)`; the columns are the parameters, then the lifted
/// values ([`Self::lifted`]), then `i_ext`, `not_refractory` and `w`
/// (columns `columns() + 0, 1, 2`).
#[derive(Debug, Clone)]
pub struct CompiledNeuron {
    /// The model's name.
    pub name: String,
    /// State variable names (index = state array).
    pub state: Vec<String>,
    /// Parameter names (the first columns).
    pub parameters: Vec<String>,
    /// Columns computed before the run, after the parameters.
    pub lifted: Vec<Lifted>,
    /// The exactly integrated systems: `A·dt` (row-major, step-invariant
    /// expressions; see `super::linear::LinearSystem::exponent`).
    pub systems: Vec<Vec<Expr>>,
    /// Refractory steps after a spike.
    pub refractory_steps: u32,
    /// Whether any program draws random numbers.
    pub draws: bool,
    /// How each variable with a derivative is integrated, in state order.
    pub schemes: Vec<(String, Scheme)>,
    /// The receptor phases, `exc` and `inh` (absent: weights are dropped).
    pub receptors: [Option<Phase>; 2],
    /// The integration step.
    pub step: Phase,
    /// Writes 1 to the extra state slot after the variables where the
    /// threshold holds.
    pub threshold: Phase,
    /// The reset.
    pub reset: Phase,
    /// The receptors, the step, the threshold and (where it draws nothing)
    /// the reset as one program (one pass over the state); the receptors'
    /// `w` are the columns after `not_refractory`, `exc` then `inh`.
    fused: Program,
    /// What `fused` was compiled from (for [`Self::specialised`]).
    fused_source: (Vec<Segment>, HashMap<String, Input>),
    /// Whether `fused` also runs the reset (on the neurons that fired).
    reset_fused: bool,
}

/// Assignments whose draws are numbered from a first site.
type Segment = (Vec<Assign>, u8);

/// The state of a population of a compiled model (the reference evaluator's,
/// in tests).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    /// One array per state variable.
    pub vars: Vec<Vec<f32>>,
    /// Remaining refractory steps per neuron.
    pub refractory: Vec<u32>,
}

pub(super) fn located(field: &str, errs: Vec<EqError>, out: &mut Vec<SpecError>) {
    out.extend(errs.into_iter().map(|error| SpecError {
        field: field.to_string(),
        error,
    }));
}

pub(super) fn unlocated(field: &str, message: String) -> SpecError {
    SpecError {
        field: field.into(),
        error: EqError::new(Default::default(), message),
    }
}

impl NeuronModelSpec {
    /// Parses and checks every string and compiles the model for step `dt_ms`.
    /// Every problem is listed.
    pub fn compile(&self, dt_ms: f64) -> Result<CompiledNeuron, Vec<SpecError>> {
        let mut errors = Vec::new();
        let state: Vec<String> = self.state.names().map(String::from).collect();
        let parameters: Vec<String> = self.parameters.names().map(String::from).collect();
        for (field, names) in [("state", &state), ("parameters", &parameters)] {
            for n in names.iter() {
                if !is_name(n) {
                    errors.push(unlocated(
                        &format!("{field}.{n}"),
                        format!("'{n}' is not a name (letters, digits and '_', not starting with a digit or '_')"),
                    ));
                } else if NEURON_INPUTS.contains(&n.as_str())
                    || super::check::BUILTINS.contains(&n.as_str())
                {
                    errors.push(unlocated(
                        &format!("{field}.{n}"),
                        format!("'{n}' is built in; choose another name"),
                    ));
                }
            }
        }
        for n in &state {
            if parameters.contains(n) {
                errors.push(unlocated(
                    &format!("state.{n}"),
                    format!("'{n}' is both a parameter and a state variable"),
                ));
            }
        }
        for (field, values) in [("parameters", &self.parameters), ("state", &self.state)] {
            for (n, v) in &values.0 {
                if !v.is_finite() {
                    errors.push(unlocated(
                        &format!("{field}.{n}"),
                        format!("{v} is not a finite number"),
                    ));
                }
            }
        }
        let state_refs: Vec<&str> = state.iter().map(String::as_str).collect();
        let param_refs: Vec<&str> = parameters.iter().map(String::as_str).collect();
        let scope = Scope {
            parameters: &param_refs,
            state: &state_refs,
            constants: &NEURON_INPUTS,
        };
        let eqs = parse_equations(&self.equations).unwrap_or_else(|e| {
            located("equations", e, &mut errors);
            vec![]
        });
        let eq_errors = check_equations(&eqs, &scope);
        let eqs_ok = eq_errors.is_empty();
        located("equations", eq_errors, &mut errors);
        let defs = definitions(&eqs);
        let threshold = match parse_expr(&self.threshold) {
            Ok(e) => {
                located("threshold", check_expr(&e, &scope, &defs), &mut errors);
                Some(e)
            }
            Err(e) => {
                located("threshold", e, &mut errors);
                None
            }
        };
        let reset = match parse_statements(&self.reset) {
            Ok(s) => {
                located("reset", check_statements(&s, &scope, &defs), &mut errors);
                s
            }
            Err(e) => {
                located("reset", e, &mut errors);
                vec![]
            }
        };
        // In a receptor statement `w` is the arriving weight.
        let mut receptor_consts = NEURON_INPUTS.to_vec();
        receptor_consts.push("w");
        let receptor_state: Vec<&str> = state_refs.iter().copied().filter(|s| *s != "w").collect();
        let receptor_scope = Scope {
            parameters: &param_refs,
            state: &receptor_state,
            constants: &receptor_consts,
        };
        let mut receptors: [Option<Vec<Statement>>; 2] = [None, None];
        for (name, text) in &self.receptors {
            let field = format!("receptors.{name}");
            let Some(slot) = RECEPTORS.iter().position(|r| r == name) else {
                errors.push(unlocated(
                    &field,
                    format!("unknown receptor '{name}'; projections deliver to 'exc' and 'inh'"),
                ));
                continue;
            };
            match parse_statements(text) {
                Ok(s) => {
                    located(
                        &field,
                        check_statements(&s, &receptor_scope, &defs),
                        &mut errors,
                    );
                    receptors[slot] = Some(s);
                }
                Err(e) => located(&field, e, &mut errors),
            }
        }
        let refractory_steps = if self.refractory_ms.is_finite() && self.refractory_ms >= 0.0 {
            (self.refractory_ms / dt_ms)
                .round()
                .min(f64::from(super::super::neuron::CLOCK_LIMIT - 1)) as u32
        } else {
            errors.push(unlocated(
                "refractory_ms",
                format!("{} is not a duration >= 0", self.refractory_ms),
            ));
            0
        };
        if eqs_ok {
            self.check_units(&eqs, threshold.as_ref(), &reset, &receptors, &mut errors);
        }
        let schemes = self.schemes(&eqs, &mut errors);
        let Some(threshold) = threshold else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let invariant_name = |n: &str| n == "dt" || parameters.iter().any(|p| p == n);
        let invariant = |e: &Expr| is_invariant(e, &invariant_name);
        let mut systems = Vec::new();
        let mut lifted_props = Vec::new();
        let mut step_assigns = integrate(
            &eqs,
            &schemes,
            &state,
            &invariant,
            &mut systems,
            &mut lifted_props,
        )
        .map_err(|e| vec![e])?;
        // Variables marked `(unless refractory)` keep their value while refractory.
        let held: Vec<&str> = eqs
            .iter()
            .filter_map(|e| match e {
                Equation::Derivative { var, .. } if unless_refractory(e) => Some(var.as_str()),
                _ => None,
            })
            .collect();
        for a in step_assigns.iter_mut() {
            if held.contains(&a.target.as_str()) {
                a.expr = Expr::If(
                    Box::new(name("not_refractory")),
                    Box::new(a.expr.clone()),
                    Box::new(name(&a.target)),
                    Default::default(),
                );
            }
        }
        // Definitions read by the threshold, reset and receptors, written out.
        let inline = inlined_definitions(&eqs);
        let threshold_assigns = vec![Assign {
            target: "_spike".into(),
            expr: rename(&threshold, &inline),
        }];
        let reset_assigns = inline_all(statements(&reset), &inline);
        let mut receptor_assigns: [Option<Vec<Assign>>; 2] =
            receptors.map(|r| r.map(|s| inline_all(statements(&s), &inline)));
        // One list of lifted columns for every phase.
        let mut phases = vec![step_assigns, threshold_assigns, reset_assigns];
        phases.extend(receptor_assigns.iter_mut().flatten().map(std::mem::take));
        let (parts, lifted_exprs) = hoist_phases(phases, &invariant_name, lifted_props.len());
        let mut lifted = lifted_props;
        lifted.extend(lifted_exprs.into_iter().map(Lifted::Expr));
        let mut parts = parts.into_iter();
        let step_assigns = parts.next().expect("step");
        let threshold_assigns = parts.next().expect("threshold");
        let reset_assigns = parts.next().expect("reset");
        for r in receptor_assigns.iter_mut().flatten() {
            *r = parts.next().expect("receptor");
        }

        let p = parameters.len();
        let mut names: HashMap<String, Input> = state
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), Input::State(i)))
            .collect();
        names.extend(
            parameters
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), Input::Param(i))),
        );
        for k in 0..lifted.len() {
            names.insert(format!("_h{k}"), Input::Param(p + k));
        }
        let inputs = p + lifted.len();
        names.insert("i_ext".into(), Input::Param(inputs));
        names.insert("not_refractory".into(), Input::Param(inputs + 1));
        let phase = |assigns: Vec<Assign>,
                     names: &HashMap<String, Input>,
                     site: u8|
         -> Result<Phase, Vec<SpecError>> {
            let program = Program::compile_at(&assigns, names, site)
                .map_err(|e| vec![unlocated("equations", e.0)])?;
            Ok(Phase { assigns, program })
        };
        let step = phase(step_assigns, &names, SITES[0])?;
        let mut with_spike = names.clone();
        with_spike.insert("_spike".into(), Input::State(state.len()));
        let threshold = phase(threshold_assigns, &with_spike, SITES[1])?;
        let reset = phase(reset_assigns, &names, SITES[2])?;
        let mut rnames = names.clone();
        rnames.insert("w".into(), Input::Param(inputs + 2));
        let mut receptors: [Option<Phase>; 2] = [None, None];
        for (slot, r) in receptor_assigns.into_iter().enumerate() {
            if let Some(a) = r {
                receptors[slot] = Some(phase(a, &rnames, SITES[3] + 32 * slot as u8)?);
            }
        }
        // One pass: the receptors (their `w` renamed apart), the step, the
        // threshold; what the phases compiled apart compute, in that order.
        let mut fnames = with_spike.clone();
        let mut renamed: Vec<(Vec<Assign>, u8)> = Vec::new();
        for (slot, r) in receptors.iter().enumerate() {
            let Some(r) = r else { continue };
            let w = format!("_w_{}", RECEPTORS[slot]);
            fnames.insert(w.clone(), Input::Param(inputs + 2 + slot));
            let map: HashMap<String, Expr> = [("w".to_string(), name(&w))].into();
            let assigns = r
                .assigns
                .iter()
                .map(|a| Assign {
                    target: a.target.clone(),
                    expr: rename(&a.expr, &map),
                })
                .collect();
            renamed.push((assigns, SITES[3] + 32 * slot as u8));
        }
        let mut segments: Vec<(&[Assign], u8)> =
            renamed.iter().map(|(a, s)| (&a[..], *s)).collect();
        segments.push((&step.assigns, SITES[0]));
        segments.push((&threshold.assigns, SITES[1]));
        // A reset without draws joins the pass, each statement selected on the
        // neurons that fired (the same operations on their lanes; the others
        // keep their values), so no second pass gathers them. A drawing reset
        // stays apart: draws would keep the whole pass off native code.
        let reset_fused = !reset.program.draws();
        let guarded: Vec<Assign> = if reset_fused {
            reset.assigns.iter().map(fired_only).collect()
        } else {
            vec![]
        };
        if reset_fused {
            segments.push((&guarded, SITES[2]));
        }
        let fused = Program::compile_segments(&segments, &fnames)
            .map_err(|e| vec![unlocated("equations", e.0)])?;
        let fused_source = (
            segments.iter().map(|(a, s)| (a.to_vec(), *s)).collect(),
            fnames,
        );
        let draws = [&step, &threshold, &reset]
            .into_iter()
            .chain(receptors.iter().flatten())
            .any(|ph| ph.program.draws());
        Ok(CompiledNeuron {
            name: self.name.clone(),
            state,
            parameters,
            lifted,
            systems,
            refractory_steps,
            draws,
            schemes,
            receptors,
            step,
            threshold,
            reset,
            fused,
            fused_source,
            reset_fused,
        })
    }

    /// Dimensional consistency, where `units` (or `: unit` on equation lines)
    /// declare units: each error names the term and both units.
    fn check_units(
        &self,
        eqs: &[Equation],
        threshold: Option<&Expr>,
        reset: &[Statement],
        receptors: &[Option<Vec<Statement>>; 2],
        errors: &mut Vec<SpecError>,
    ) {
        use super::units::{Unit, UnitChecker, parse_unit};
        let lines_declare = eqs.iter().any(|e| match e {
            Equation::Derivative { unit, .. } | Equation::Define { unit, .. } => unit.is_some(),
        });
        if self.units.is_empty() && !lines_declare {
            return;
        }
        let mut declared: BTreeMap<String, Unit> = BTreeMap::new();
        for (name, text) in &self.units {
            let known = self.state.get(name).is_some() || self.parameters.get(name).is_some();
            if !known {
                errors.push(unlocated(
                    &format!("units.{name}"),
                    format!("'{name}' is neither a parameter nor a state variable"),
                ));
            }
            match parse_unit(text) {
                Ok(u) => {
                    declared.insert(name.clone(), u);
                }
                Err(e) => errors.push(unlocated(&format!("units.{name}"), e)),
            }
        }
        for b in ["t", "dt"] {
            declared.insert(b.into(), Unit::MS);
        }
        if let Ok(pa) = parse_unit("pA") {
            declared.insert("i_ext".into(), pa);
        }
        declared.insert("not_refractory".into(), Unit::ONE);
        let mut checker = UnitChecker::new(&declared);
        located("equations", checker.check_equations(eqs), errors);
        if let Some(t) = threshold {
            located("threshold", checker.check_condition(t), errors);
        }
        let none = BTreeMap::new();
        located("reset", checker.check_statements(reset, &none), errors);
        for (slot, stmts) in receptors.iter().enumerate() {
            let Some(stmts) = stmts else { continue };
            // `w` arrives in the unit of what it is added to.
            let mut extra = BTreeMap::new();
            if let Some(u) = stmts.first().and_then(|s| checker.unit(&s.target)) {
                extra.insert("w".to_string(), u);
            }
            located(
                &format!("receptors.{}", RECEPTORS[slot]),
                checker.check_statements(stmts, &extra),
                errors,
            );
        }
    }

    /// Each derivative's scheme, in equation order.
    fn schemes(&self, eqs: &[Equation], errors: &mut Vec<SpecError>) -> Vec<(String, Scheme)> {
        schemes(&self.method, eqs, errors)
    }
}

/// Each derivative's scheme under `method`, in equation order.
pub(super) fn schemes(
    method: &MethodChoice,
    eqs: &[Equation],
    errors: &mut Vec<SpecError>,
) -> Vec<(String, Scheme)> {
    let vars: Vec<&str> = eqs
        .iter()
        .filter_map(|e| match e {
            Equation::Derivative { var, .. } => Some(var.as_str()),
            Equation::Define { .. } => None,
        })
        .collect();
    let scheme = |field: &str, text: &str, errors: &mut Vec<SpecError>| {
        Scheme::by_name(text).or_else(|| {
            errors.push(unlocated(
                field,
                format!(
                    "unknown method '{text}'; expected one of {}",
                    Scheme::names().join(", ")
                ),
            ));
            None
        })
    };
    match method {
        MethodChoice::One(m) => match scheme("method", m, errors) {
            Some(s) => vars.iter().map(|v| (v.to_string(), s)).collect(),
            None => vec![],
        },
        MethodChoice::PerVariable(map) => {
            for k in map.keys() {
                if k != "default" && !vars.contains(&k.as_str()) {
                    errors.push(unlocated(
                            &format!("method.{k}"),
                            format!("'{k}' has no derivative in equations; name a variable that has one, or 'default'"),
                        ));
                }
            }
            let default = match map.get("default") {
                Some(d) => scheme("method.default", d, errors),
                None => Some(Scheme::Numeric(Method::Euler)),
            };
            vars.iter()
                .filter_map(|v| {
                    let s = match map.get(*v) {
                        Some(m) => scheme(&format!("method.{v}"), m, errors),
                        None => default,
                    }?;
                    Some((v.to_string(), s))
                })
                .collect()
        }
    }
}

/// The names `eqs` define (`name = expr` lines).
pub(super) fn definitions(eqs: &[Equation]) -> Vec<&str> {
    eqs.iter()
        .filter_map(|e| match e {
            Equation::Define { name, .. } => Some(name.as_str()),
            Equation::Derivative { .. } => None,
        })
        .collect()
}

/// Whether an equation line is marked `(unless refractory)`.
fn unless_refractory(e: &Equation) -> bool {
    matches!(e, Equation::Derivative { flags, .. }
        if flags.iter().any(|f| f.0 == super::ast::UNLESS_REFRACTORY))
}

/// `a` applied to the neurons that fired this step: `x = if _spike and
/// not_refractory then e else x`.
fn fired_only(a: &Assign) -> Assign {
    let at = a.expr.span();
    let var = |n: &str| Box::new(Expr::Var(n.into(), at));
    let fired = Expr::Binary(BinOp::And, var("_spike"), var("not_refractory"), at);
    Assign {
        target: a.target.clone(),
        expr: Expr::If(
            Box::new(fired),
            Box::new(a.expr.clone()),
            var(&a.target),
            at,
        ),
    }
}

pub(super) fn is_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Definitions written out in terms of state, parameters and built-ins.
pub(super) fn inlined_definitions(eqs: &[Equation]) -> HashMap<String, Expr> {
    let mut inline: HashMap<String, Expr> = HashMap::new();
    let order = super::definition_order(eqs).unwrap_or_default();
    for i in order {
        if let Equation::Define { name, expr, .. } = &eqs[i] {
            let e = rename(expr, &inline);
            inline.insert(name.clone(), e);
        }
    }
    inline
}

pub(super) fn inline_all(assigns: Vec<Assign>, inline: &HashMap<String, Expr>) -> Vec<Assign> {
    assigns
        .into_iter()
        .map(|a| Assign {
            expr: rename(&a.expr, inline),
            target: a.target,
        })
        .collect()
}

/// The step: each group of variables sharing a numerical method integrated by
/// it (temporaries prefixed by the group), exact systems propagated, every
/// group reading the state at the start of the step; then the new values
/// stored, in state order.
pub(super) fn integrate(
    eqs: &[Equation],
    schemes: &[(String, Scheme)],
    state: &[String],
    invariant: &dyn Fn(&Expr) -> bool,
    systems: &mut Vec<Vec<Expr>>,
    lifted: &mut Vec<Lifted>,
) -> Result<Vec<Assign>, SpecError> {
    let mut body = Vec::new();
    let mut stores: BTreeMap<usize, Assign> = BTreeMap::new();
    let mut groups: Vec<(Scheme, Vec<&str>)> = Vec::new();
    for (v, s) in schemes {
        match groups.iter_mut().find(|g| g.0 == *s) {
            Some(g) => g.1.push(v),
            None => groups.push((*s, vec![v])),
        }
    }
    for (gi, (scheme, vars)) in groups.iter().enumerate() {
        let assigns = match scheme {
            Scheme::Numeric(method) => {
                let subset: Vec<Equation> = eqs
                    .iter()
                    .filter(|e| match e {
                        Equation::Derivative { var, .. } => vars.contains(&var.as_str()),
                        Equation::Define { .. } => true,
                    })
                    .cloned()
                    .collect();
                step_folding(&subset, *method, invariant).map_err(|e| SpecError {
                    field: "equations".into(),
                    error: EqError::new(e.span, e.message),
                })?
            }
            Scheme::Exact => exact(eqs, vars, state, systems, lifted)?,
        };
        // Temporaries get the group's prefix; stores wait for the end.
        let prefix = |n: &str| format!("_g{gi}{n}");
        let mut map: HashMap<String, Expr> = HashMap::new();
        for a in &assigns {
            if a.target.starts_with('_') {
                map.insert(a.target.clone(), name(&prefix(&a.target)));
            }
        }
        for a in assigns {
            let expr = rename(&a.expr, &map);
            match state.iter().position(|s| *s == a.target) {
                Some(i) => {
                    stores.insert(
                        i,
                        Assign {
                            target: a.target,
                            expr,
                        },
                    );
                }
                None => body.push(Assign {
                    target: prefix(&a.target),
                    expr,
                }),
            }
        }
    }
    body.extend(stores.into_values());
    Ok(body)
}

/// Exact propagation of the linear system of `vars`: split into independent
/// subsystems (no coefficient links them), each `x ← E·x + F·b` with `E`, `F`
/// lifted columns computed before the run (see [`super::linear`]) and `b`
/// from the state at the start of the step.
fn exact(
    eqs: &[Equation],
    vars: &[&str],
    state: &[String],
    systems: &mut Vec<Vec<Expr>>,
    lifted: &mut Vec<Lifted>,
) -> Result<Vec<Assign>, SpecError> {
    use super::ast::BinOp;
    let state_refs: Vec<&str> = state.iter().map(String::as_str).collect();
    let sys = linear_system(eqs, vars, &state_refs).map_err(|e| SpecError {
        field: "equations".into(),
        error: EqError::new(e.span, e.message),
    })?;
    let n = sys.vars.len();
    let zero = |e: &Expr| matches!(e, Expr::Num(v, _) if *v == 0.0);
    // Components of the coupling graph.
    let mut comp: Vec<usize> = (0..n).collect();
    fn root(c: &mut [usize], mut i: usize) -> usize {
        while c[i] != i {
            i = c[i];
        }
        i
    }
    for i in 0..n {
        for j in 0..n {
            if i != j && !zero(&sys.a[i][j]) {
                let (a, b) = (root(&mut comp, i), root(&mut comp, j));
                comp[a.max(b)] = a.min(b);
            }
        }
    }
    let exponent = sys.exponent();
    let mut out = Vec::new();
    let bin = |op, a: Expr, b: Expr| Expr::Binary(op, Box::new(a), Box::new(b), Default::default());
    for r in 0..n {
        let members: Vec<usize> = (0..n).filter(|&i| root(&mut comp, i) == r).collect();
        if members.is_empty() {
            continue;
        }
        let system = systems.len();
        systems.push(
            members
                .iter()
                .flat_map(|&i| members.iter().map(move |&j| (i, j)))
                .map(|(i, j)| exponent[i][j].clone())
                .collect(),
        );
        let mut column = |row: usize, col: usize, forcing: bool| {
            lifted.push(Lifted::Propagator {
                system,
                row,
                col,
                forcing,
            });
            name(&format!("_h{}", lifted.len() - 1))
        };
        for &i in &members {
            if !zero(&sys.b[i]) {
                out.push(Assign {
                    target: format!("_b_{}", sys.vars[i]),
                    expr: sys.b[i].clone(),
                });
            }
        }
        for (ri, &i) in members.iter().enumerate() {
            let mut sum: Option<Expr> = None;
            let mut plus = |t: Expr| {
                sum = Some(match sum.take() {
                    None => t,
                    Some(s) => bin(BinOp::Add, s, t),
                });
            };
            for (cj, &j) in members.iter().enumerate() {
                plus(bin(BinOp::Mul, column(ri, cj, false), name(&sys.vars[j])));
            }
            for (cj, &j) in members.iter().enumerate() {
                if !zero(&sys.b[j]) {
                    plus(bin(
                        BinOp::Mul,
                        column(ri, cj, true),
                        name(&format!("_b_{}", sys.vars[j])),
                    ));
                }
            }
            out.push(Assign {
                target: format!("_new_{}", sys.vars[i]),
                expr: sum.expect("a term"),
            });
        }
        for &i in &members {
            out.push(Assign {
                target: sys.vars[i].clone(),
                expr: name(&format!("_new_{}", sys.vars[i])),
            });
        }
    }
    Ok(out)
}

/// Statements as assignments: `x op= e` becomes `x = x op e`.
pub(super) fn statements(stmts: &[Statement]) -> Vec<Assign> {
    use super::ast::{AssignOp, BinOp};
    stmts
        .iter()
        .map(|s| {
            let target = Expr::Var(s.target.clone(), s.target_span);
            let op = match s.op {
                AssignOp::Set => None,
                AssignOp::Add => Some(BinOp::Add),
                AssignOp::Sub => Some(BinOp::Sub),
                AssignOp::Mul => Some(BinOp::Mul),
                AssignOp::Div => Some(BinOp::Div),
            };
            let expr = match op {
                None => s.expr.clone(),
                Some(op) => Expr::Binary(
                    op,
                    Box::new(target),
                    Box::new(s.expr.clone()),
                    s.expr.span(),
                ),
            };
            Assign {
                target: s.target.clone(),
                expr,
            }
        })
        .collect()
}

/// Whether every `x` is finite: an or over all of them rather than a search
/// that stops at the first, so that LLVM vectorises it.
fn all_finite(v: &[f32]) -> bool {
    !v.iter().fold(false, |bad, x| bad | !x.is_finite())
}

/// Scratch arrays of one update, kept between steps.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    weights: [Vec<f32>; 2],
    awake: Vec<f32>,
    zeros: Vec<f32>,
    spike: Vec<f32>,
    ids: Vec<usize>,
    gathered: Vec<Vec<f32>>,
    /// The native kernel's: zeros for an absent input, the spike slot
    /// (cache-line aligned for its vector accesses) and spike indices.
    kernel_zeros: AlignedVec<f32>,
    kernel_spike: AlignedVec<f32>,
    kernel_ids: Vec<u32>,
}

impl Scratch {
    /// The buffers for the receptors' weights (returned by [`Self::put_weights`]).
    pub(crate) fn take_weights(&mut self) -> [Vec<f32>; 2] {
        std::mem::take(&mut self.weights)
    }

    /// Gives the weight buffers back for the next step.
    pub(crate) fn put_weights(&mut self, w: [Vec<f32>; 2]) {
        self.weights = w;
    }
}

impl CompiledNeuron {
    /// The integration scheme and every phase's assignments, as text (what
    /// `astroglia check --emit scheme` prints).
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut out = format!("neuron model '{}'\n  methods:", self.name);
        for (v, s) in &self.schemes {
            let _ = write!(out, " {v}: {}", s.name());
        }
        let _ = writeln!(out, "\n  refractory: {} steps", self.refractory_steps);
        if !self.lifted.is_empty() {
            out.push_str("  computed before the run (f64, per neuron):\n");
        }
        for (k, l) in self.lifted.iter().enumerate() {
            let what = match l {
                Lifted::Expr(e) => e.to_string(),
                Lifted::Propagator {
                    system,
                    row,
                    col,
                    forcing,
                } => format!(
                    "{}[{row}][{col}] of expm(A·dt) of system {system} (A·dt = [{}])",
                    if *forcing { "F" } else { "E" },
                    self.systems[*system]
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let _ = writeln!(out, "    _h{k} = {what}");
        }
        let phases = [
            ("receptor exc", self.receptors[0].as_ref()),
            ("receptor inh", self.receptors[1].as_ref()),
            ("step", Some(&self.step)),
            ("threshold", Some(&self.threshold)),
            ("reset (spiking neurons)", Some(&self.reset)),
        ];
        for (label, phase) in phases {
            let Some(phase) = phase else { continue };
            let _ = writeln!(out, "  {label}:");
            for a in &phase.assigns {
                let _ = writeln!(out, "    {} = {}", a.target, a.expr);
            }
        }
        out
    }

    /// The one-pass program of a population whose column `k` holds the
    /// same value `uniform[k]` for every neuron: those columns become
    /// immediates (no loads, operations with an immediate), the same f32
    /// values in the same operations. Compiling takes microseconds; the GPU
    /// shader stays as it is.
    pub(crate) fn specialised(&self, uniform: &[Option<f32>]) -> Program {
        let (segments, names) = &self.fused_source;
        let mut names = names.clone();
        for input in names.values_mut() {
            if let Input::Param(k) = *input {
                if let Some(Some(v)) = uniform.get(k).filter(|_| k < self.columns()) {
                    *input = Input::Const(*v);
                }
            }
        }
        let segments: Vec<(&[Assign], u8)> = segments.iter().map(|(a, s)| (&a[..], *s)).collect();
        Program::compile_segments(&segments, &names).unwrap_or_else(|_| self.fused.clone())
    }

    /// Number of per-neuron columns before the per-step inputs.
    pub(crate) fn columns(&self) -> usize {
        self.parameters.len() + self.lifted.len()
    }

    /// The per-neuron columns of `n` neurons: parameter `i` from `param(i)`
    /// (per neuron), then the lifted values, computed in f64 at step `dt_ms`.
    /// Neurons with equal parameters share one computation.
    pub fn columns_for(&self, params: &[Vec<f64>], n: usize, dt_ms: f64) -> Vec<Vec<f32>> {
        let mut cols: Vec<Vec<f32>> = params
            .iter()
            .map(|p| p.iter().map(|&x| x as f32).collect())
            .collect();
        let mut lifted = vec![Vec::with_capacity(n); self.lifted.len()];
        let mut last: Option<(Vec<u64>, Vec<f32>)> = None;
        for i in 0..n {
            let row: Vec<u64> = params.iter().map(|p| p[i].to_bits()).collect();
            let values = match &last {
                Some((r, v)) if *r == row => v.clone(),
                _ => {
                    let v = self.lifted_values(&|k| params[k][i], dt_ms);
                    last = Some((row, v.clone()));
                    v
                }
            };
            for (col, x) in lifted.iter_mut().zip(values) {
                col.push(x);
            }
        }
        cols.append(&mut lifted);
        cols
    }

    /// The lifted values of one neuron whose parameter `k` is `param(k)`.
    fn lifted_values(&self, param: &dyn Fn(usize) -> f64, dt_ms: f64) -> Vec<f32> {
        lifted_values(&self.parameters, &self.lifted, &self.systems, param, dt_ms)
    }
}

/// The lifted values (`lifted`, of the exactly integrated `systems`) where
/// parameter `k` (of `parameters`) is `param(k)`, at step `dt_ms`.
pub(super) fn lifted_values(
    parameters: &[String],
    lifted: &[Lifted],
    systems: &[Vec<Expr>],
    param: &dyn Fn(usize) -> f64,
    dt_ms: f64,
) -> Vec<f32> {
    let value = |n: &str| {
        if n == "dt" {
            return Some(dt_ms);
        }
        parameters.iter().position(|p| p == n).map(param)
    };
    let props: Vec<(Vec<f64>, Vec<f64>)> = systems
        .iter()
        .map(|m| {
            let size = (m.len() as f64).sqrt() as usize;
            let m: Vec<f64> = m
                .iter()
                .map(|e| eval_f64(e, &value).unwrap_or(f64::NAN))
                .collect();
            propagators_from_exponent(&m, size, dt_ms)
        })
        .collect();
    lifted
        .iter()
        .map(|l| match l {
            Lifted::Expr(e) => eval_f64(e, &value).unwrap_or(f64::NAN) as f32,
            Lifted::Propagator {
                system,
                row,
                col,
                forcing,
            } => {
                let (e, f) = &props[*system];
                let m = (e.len() as f64).sqrt() as usize;
                let at = row * m + col;
                (if *forcing { f[at] } else { e[at] }) as f32
            }
        })
        .collect()
}

impl CompiledNeuron {
    /// The initial state of `n` neurons from the spec's initial values.
    #[cfg(test)]
    pub(crate) fn initial_state(&self, spec: &NeuronModelSpec, n: usize) -> UserState {
        UserState {
            vars: self
                .state
                .iter()
                .map(|s| vec![spec.state.get(s).unwrap_or(0.0) as f32; n])
                .collect(),
            refractory: vec![0; n],
        }
    }

    /// One step of neurons `0..n` (`n` = the length of `refractory`):
    /// `cols` the per-neuron columns ([`Self::columns_for`], sliced to these
    /// neurons), `weights[r]` the weight arriving on receptor `r` this step,
    /// `i_ext` the external current (`None`: zero). Appends the ids
    /// (`first + i`) of the neurons that spiked. Returns false when a state
    /// variable became non-finite.
    #[allow(clippy::too_many_arguments)]
    #[cfg(test)]
    pub(crate) fn update(
        &self,
        vars: &mut [&mut [f32]],
        refractory: &mut [u32],
        cols: &[&[f32]],
        weights: [Option<&[f32]>; 2],
        i_ext: Option<&[f32]>,
        env: &StepEnv,
        first: u32,
        scratch: &mut Scratch,
        spikes: &mut Vec<u32>,
    ) -> bool {
        self.update_with(
            &self.fused,
            vars,
            refractory,
            cols,
            weights,
            i_ext,
            env,
            first,
            scratch,
            spikes,
        )
    }

    /// [`Self::update`] running `fused`, the model's one-pass program or a
    /// [`Self::specialised`] one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update_with(
        &self,
        fused: &Program,
        vars: &mut [&mut [f32]],
        refractory: &mut [u32],
        cols: &[&[f32]],
        weights: [Option<&[f32]>; 2],
        i_ext: Option<&[f32]>,
        env: &StepEnv,
        first: u32,
        scratch: &mut Scratch,
        spikes: &mut Vec<u32>,
    ) -> bool {
        let n = refractory.len();
        let Scratch {
            weights: _,
            awake,
            zeros,
            spike,
            ids,
            gathered,
            ..
        } = scratch;
        // Read-only zeros (absent inputs) and the threshold's output, which
        // the program writes in full: sized, never cleared.
        if zeros.len() != n {
            zeros.clear();
            zeros.resize(n, 0.0);
        }
        awake.clear();
        awake.extend(refractory.iter().map(|&r| if r == 0 { 1.0 } else { 0.0 }));
        let mut p: Args<&[f32]> = Args::with_capacity(cols.len() + 4);
        p.extend_from_slice(cols);
        p.push(i_ext.unwrap_or(zeros));
        p.push(awake);
        p.push(weights[0].unwrap_or(zeros));
        p.push(weights[1].unwrap_or(zeros));
        spike.resize(n, 0.0);
        {
            let mut with_spike: Args<&mut [f32]> = vars.iter_mut().map(|v| &mut v[..]).collect();
            with_spike.push(spike);
            fused.run(&mut with_spike, &p, n, first, env);
        }
        p.truncate(cols.len() + 2);
        ids.clear();
        // Spikes are rare: a chunk without one only counts its clocks down,
        // in a loop without branches.
        const CHUNK: usize = 64;
        for (c, (rs, sp)) in refractory
            .chunks_mut(CHUNK)
            .zip(spike.chunks(CHUNK))
            .enumerate()
        {
            let fired = rs
                .iter()
                .zip(sp)
                .fold(false, |f, (&r, &s)| f | ((r == 0) & (s != 0.0)));
            if !fired {
                rs.iter_mut().for_each(|r| *r = r.saturating_sub(1));
                continue;
            }
            for (k, (r, &s)) in rs.iter_mut().zip(sp).enumerate() {
                if *r > 0 {
                    *r -= 1;
                } else if s != 0.0 {
                    *r = self.refractory_steps;
                    ids.push(c * CHUNK + k);
                }
            }
        }
        let finite = vars.iter().all(|v| all_finite(v));
        finite & self.reset_fired(vars, &p, ids, gathered, first, env, spikes)
    }

    /// The model's one-pass program `fused` compiled to a native kernel that
    /// also reads the rings, counts the clocks down and checks finiteness
    /// ([`Self::update_native`]); `None` where it cannot be (it draws).
    pub(crate) fn native_kernel(&self, fused: &Program) -> Option<Native> {
        let c = self.columns();
        Native::compile_neuron(
            fused,
            NeuronIo {
                awake: c + 1,
                rings: [c + 2, c + 3],
                spike: self.state.len(),
                refractory_steps: self.refractory_steps,
            },
        )
    }

    /// [`Self::update`] through a [`Self::native_kernel`] of `fused`, which
    /// reads the receptors' weights from the fixed-point `rings` (scaled by
    /// `inv`, then zeroed) in the same pass: the same values and spikes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update_native(
        &self,
        kernel: &Native,
        fused: &Program,
        vars: &mut [&mut [f32]],
        refractory: &mut [u32],
        cols: &[&[f32]],
        rings: [&mut [i32]; 2],
        inv: [f32; 2],
        i_ext: Option<&[f32]>,
        env: &StepEnv,
        first: u32,
        scratch: &mut Scratch,
        spikes: &mut Vec<u32>,
    ) -> bool {
        let n = refractory.len();
        let Scratch {
            awake,
            kernel_zeros: zeros,
            kernel_spike: spike,
            ids,
            gathered,
            kernel_ids,
            ..
        } = scratch;
        if zeros.len() != n {
            *zeros = AlignedVec::zeroed(n);
        }
        // The reset runs on neurons that fired, which were awake.
        if awake.len() != n || awake.first() != Some(&1.0) {
            awake.clear();
            awake.resize(n, 1.0);
        }
        let mut p: Args<&[f32]> = Args::new();
        p.extend_from_slice(cols);
        p.push(i_ext.unwrap_or(zeros));
        p.push(awake);
        if spike.len() != n {
            *spike = AlignedVec::zeroed(n);
        }
        kernel_ids.resize(n, 0);
        let (mut finite, done, count) = {
            let mut with_spike: Args<&mut [f32]> = vars.iter_mut().map(|v| &mut v[..]).collect();
            with_spike.push(spike);
            kernel.run_neurons(
                fused,
                &mut with_spike,
                &p,
                rings,
                inv,
                refractory,
                kernel_ids,
                n,
                env.t,
                env.dt,
            )
        };
        for (i, v) in vars.iter().enumerate() {
            if !fused.touches_state(i) {
                finite &= all_finite(v);
            }
        }
        ids.clear();
        ids.extend(kernel_ids[..count].iter().map(|&i| i as usize));
        // Past the eight-lane part the spike slot holds exactly 1.0 or +0.0:
        // an or of 64 values' bits finds the few chunks with a spike.
        const CHUNK: usize = 64;
        for (c, sp) in spike[done..].chunks(CHUNK).enumerate() {
            if sp.iter().fold(0, |f, &s| f | s.to_bits()) != 0 {
                let at = done + c * CHUNK;
                ids.extend((0..sp.len()).filter(|&k| sp[k] != 0.0).map(|k| at + k));
            }
        }
        finite & self.reset_fired(vars, &p, ids, gathered, first, env, spikes)
    }

    /// Runs the reset on the neurons `ids` (gathered: spikes are rare and
    /// the reset's cost should follow them), whose columns are `p`, unless
    /// the one-pass program ran it, and appends their ids. Returns whether
    /// their reset state is finite.
    #[allow(clippy::too_many_arguments)]
    fn reset_fired(
        &self,
        vars: &mut [&mut [f32]],
        p: &[&[f32]],
        ids: &[usize],
        gathered: &mut Vec<Vec<f32>>,
        first: u32,
        env: &StepEnv,
        spikes: &mut Vec<u32>,
    ) -> bool {
        if self.reset_fused || ids.is_empty() {
            spikes.extend(ids.iter().map(|&i| first + i as u32));
            return true;
        }
        gathered.resize(vars.len() + p.len(), Vec::new());
        let (g_vars, g_cols) = gathered.split_at_mut(vars.len());
        // Only what the reset reads or writes (the others stay empty).
        let program = &self.reset.program;
        for (j, (g, a)) in g_vars.iter_mut().zip(vars.iter()).enumerate() {
            g.clear();
            if program.touches_state(j) {
                g.extend(ids.iter().map(|&i| a[i]));
            }
        }
        for (j, (g, a)) in g_cols.iter_mut().zip(p).enumerate() {
            g.clear();
            if program.reads_param(j) {
                g.extend(ids.iter().map(|&i| a[i]));
            }
        }
        {
            let mut v: Args<&mut [f32]> = g_vars.iter_mut().map(|v| &mut v[..]).collect();
            let c: Args<&[f32]> = g_cols.iter().map(|c| &c[..]).collect();
            let index = |j: usize| first + ids[j] as u32;
            self.reset
                .program
                .run_indexed(&mut v, &c, ids.len(), &index, env);
        }
        for (var, g) in vars.iter_mut().zip(g_vars.iter()) {
            // An empty `g` (untouched) writes nothing.
            for (&i, &x) in ids.iter().zip(g) {
                var[i] = x;
            }
        }
        spikes.extend(ids.iter().map(|&i| first + i as u32));
        g_vars.iter().all(|v| all_finite(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> NeuronModelSpec {
        toml::from_str(text).unwrap()
    }

    /// A LIF driven by a constant current, integrated exactly: its spike times
    /// are the closed form's, `T = tau·ln(I / (I - (v_th - e_l)))` apart.
    #[test]
    fn lif_fires_at_the_analytic_period() {
        let s = spec(
            r#"
            name = "lif"
            parameters = { tau = 20.0, e_l = -70.0, v_th = -50.0, v_r = -70.0, i = 25.0 }
            state = { v = -70.0 }
            equations = "dv/dt = (e_l - v + i) / tau"
            threshold = "v > v_th"
            reset = "v = v_r"
            method = "exponential_euler"
            "#,
        );
        let dt = 0.01;
        let m = s.compile(dt).unwrap();
        let mut st = m.initial_state(&s, 1);
        let params: Vec<Vec<f64>> = m
            .parameters
            .iter()
            .map(|p| vec![s.parameters.get(p).unwrap()])
            .collect();
        let cols = m.columns_for(&params, 1, dt);
        let p: Vec<&[f32]> = cols.iter().map(|v| &v[..]).collect();
        let mut scratch = Scratch::default();
        let mut spikes_at = vec![];
        for step in 0..100_000u64 {
            let env = StepEnv {
                t: step as f32 * dt as f32,
                dt: dt as f32,
                step,
                rng: None,
            };
            let mut spikes = vec![];
            let mut vars: Vec<&mut [f32]> = st.vars.iter_mut().map(|v| &mut v[..]).collect();
            m.update(
                &mut vars,
                &mut st.refractory,
                &p,
                [None, None],
                None,
                &env,
                0,
                &mut scratch,
                &mut spikes,
            );
            if !spikes.is_empty() {
                spikes_at.push((step + 1) as f64 * dt);
            }
        }
        let period = 20.0 * (25.0f64 / 5.0).ln();
        assert!(spikes_at.len() >= 30, "{}", spikes_at.len());
        for (k, t) in spikes_at.iter().enumerate() {
            // Each period is rounded up to a whole step.
            let expected = (k + 1) as f64 * (period / dt).ceil() * dt;
            assert!(
                (t - expected).abs() < 1.5 * dt,
                "spike {k}: {t} vs {expected}"
            );
        }
    }

    /// The reset in the one pass (selected on the neurons that fired) gives
    /// what the reset run apart on them gives: a reset that draws stays
    /// apart, and `+ 0.0 * uniform()` changes none of its values.
    #[test]
    fn the_reset_in_the_pass_matches_the_reset_apart() {
        let model = |extra: &str| {
            spec(&format!(
                r#"
                name = "reset"
                parameters = {{ tau = 10.0, v_r = -0.25, v_th = 1.0, i = 0.0 }}
                state = {{ v = 0.0, w = 0.0 }}
                equations = "dv/dt = (i_ext + i - v - w) / tau\ndw/dt = -w / 30.0"
                threshold = "v > v_th"
                reset = "v = v_r; w = w + 0.5 * v{extra}"
                refractory_ms = 0.5
                "#
            ))
        };
        let (fused_spec, apart_spec) = (model(""), model(" + 0.0 * uniform()"));
        let dt = 0.1;
        let (fused, apart) = (
            fused_spec.compile(dt).unwrap(),
            apart_spec.compile(dt).unwrap(),
        );
        assert!(fused.reset_fused && !apart.reset_fused);
        // 37 neurons: whole groups of eight and a remainder.
        let n = 37;
        let drive: Vec<f32> = (0..n).map(|k| 1.5 + 2.0 * k as f32).collect();
        let rng = crate::rng::CounterRng::new(7);
        let run = |m: &CompiledNeuron, s: &NeuronModelSpec| {
            let mut st = m.initial_state(s, n);
            let params: Vec<Vec<f64>> = m
                .parameters
                .iter()
                .map(|p| vec![s.parameters.get(p).unwrap(); n])
                .collect();
            let cols = m.columns_for(&params, n, dt);
            let p: Vec<&[f32]> = cols.iter().map(|v| &v[..]).collect();
            let mut scratch = Scratch::default();
            let mut spikes = vec![];
            for step in 0..400u64 {
                let env = StepEnv {
                    t: step as f32 * dt as f32,
                    dt: dt as f32,
                    step,
                    rng: Some((&rng, 3)),
                };
                let mut vars: Vec<&mut [f32]> = st.vars.iter_mut().map(|v| &mut v[..]).collect();
                let before = spikes.len();
                assert!(m.update(
                    &mut vars,
                    &mut st.refractory,
                    &p,
                    [None, None],
                    Some(&drive),
                    &env,
                    0,
                    &mut scratch,
                    &mut spikes,
                ));
                spikes[before..]
                    .iter_mut()
                    .for_each(|id| *id += (step as u32) << 8);
            }
            let bits: Vec<Vec<u32>> = st
                .vars
                .iter()
                .map(|v| v.iter().map(|x| x.to_bits()).collect())
                .collect();
            (spikes, bits, st.refractory.to_vec())
        };
        let (want, got) = (run(&apart, &apart_spec), run(&fused, &fused_spec));
        assert!(want.0.len() > 100, "{} spikes", want.0.len());
        assert_eq!(got, want);
    }

    #[test]
    fn receptors_add_the_arriving_weight() {
        let s = spec(
            r#"
            name = "adexish"
            state = { v = 0.0, w = 2.0, i_exc = 0.0 }
            equations = "di_exc/dt = -i_exc / 5.0"
            receptors = { exc = "i_exc += w" }
            threshold = "v > 1"
            "#,
        );
        let m = s.compile(1.0).unwrap();
        let mut st = m.initial_state(&s, 2);
        let env = StepEnv {
            t: 0.0,
            dt: 1.0,
            step: 0,
            rng: None,
        };
        // The folded Euler factor dt / 5 is a column computed before the run.
        let cols = m.columns_for(&[], 2, 1.0);
        let cols: Vec<&[f32]> = cols.iter().map(|c| &c[..]).collect();
        let mut vars: Vec<&mut [f32]> = st.vars.iter_mut().map(|v| &mut v[..]).collect();
        m.update(
            &mut vars,
            &mut st.refractory,
            &cols,
            [Some(&[3.0, 0.0]), None],
            None,
            &env,
            0,
            &mut Scratch::default(),
            &mut vec![],
        );
        let i_exc = m.state.iter().position(|s| s == "i_exc").unwrap();
        let w = m.state.iter().position(|s| s == "w").unwrap();
        // The weight arrived, then one Euler step of decay: 3·(1 - 1/5).
        assert_eq!(st.vars[i_exc], [3.0 * (1.0 - 0.2f32), 0.0]);
        assert_eq!(st.vars[w], [2.0, 2.0], "the state variable w is untouched");
    }

    #[test]
    fn every_problem_is_reported_with_its_field_and_column() {
        let s = spec(
            r#"
            name = "bad"
            parameters = { tau = 10.0 }
            state = { v = 0.0 }
            equations = "dv/dt = -v / tau + foo"
            threshold = "v >"
            reset = "tau = 1"
            method = "midpoint"
            "#,
        );
        let errs: Vec<String> = s
            .compile(0.1)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        let all = errs.join("\n");
        assert!(
            all.contains("method") && all.contains("unknown method 'midpoint'"),
            "{all}"
        );
        assert!(
            all.contains("equations: line 1, column 20") && all.contains("foo"),
            "{all}"
        );
        assert!(all.contains("threshold: line 1, column 4"), "{all}");
        assert!(
            all.contains("reset: line 1, column 1") && all.contains("parameter"),
            "{all}"
        );
    }
}
