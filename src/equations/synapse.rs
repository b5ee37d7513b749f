//! User-written plasticity rules (`[[synapse_models]]`): per-synapse
//! variables (the weight `w` and others), per-neuron variables of the
//! presynaptic and postsynaptic side (traces), their equations, and the
//! statements a presynaptic or postsynaptic spike runs.
//!
//! **One step** (after propagation, as the built-in rules):
//! 1. every presynaptic and postsynaptic variable advances by its equation
//!    (`exact` solves linear decays exactly, as Brian2's event-driven
//!    traces); synapse variables with an equation advance too, every
//!    synapse every step (clock-driven: costly, use it only when needed);
//! 2. each presynaptic spike runs the `on_pre` statements that change
//!    synapse variables on each outgoing synapse, then each postsynaptic
//!    spike the `on_post` ones on each incoming synapse; they read the
//!    neuron variables as step 1 left them;
//! 3. the statements that change neuron variables run once per spike (the
//!    trace bumps: `on_pre` changes presynaptic ones, `on_post` postsynaptic
//!    ones).
//!
//! After every statement group and step that changes it, the weight is
//! clipped to `[w_min, w_max]`, which also sets the fixed-point range the
//! weight is delivered in. Built-in names: `w`, `t`, `dt`, `modulator` (the
//! instance's modulator, [`crate::Simulator::set_modulator`]) and `error`
//! (the postsynaptic neuron's error, [`crate::Simulator::set_error`]).
//!
//! ```
//! use astroglia::model::SynapseModelSpec;
//! let spec: SynapseModelSpec = toml::from_str(r#"
//!     name = "pair_stdp"
//!     parameters = { tau_pre = 20.0, tau_post = 20.0, a_plus = 0.01, a_minus = 0.0105 }
//!     pre = { a_pre = 0.0 }
//!     post = { a_post = 0.0 }
//!     equations = """
//!     da_pre/dt = -a_pre / tau_pre
//!     da_post/dt = -a_post / tau_post
//!     """
//!     on_pre = "w -= a_minus * a_post; a_pre += 1"
//!     on_post = "w += a_plus * a_pre; a_post += 1"
//!     w_max = 1.0
//!     method = "exact"
//! "#).unwrap();
//! let rule = spec.compile().unwrap();
//! assert_eq!(rule.vars(astroglia::equations::Side::Pre), ["a_pre"]);
//! ```
use super::ast::{Equation, Expr};
use super::check::{Scope, check_equations, check_statements};
use super::eval::{Input, Program, StepEnv};
use super::hoist::{hoist_phases, is_invariant};
use super::integrate::{Assign, names_in, rename};
use super::neuron::{
    Lifted, MethodChoice, Phase, Scheme, SpecError, Values, definitions, inline_all,
    inlined_definitions, integrate, is_name, lifted_values, located, schemes, statements,
    unlocated,
};
use super::parse::{EqError, parse_equations, parse_statements};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The names every rule may read besides its own.
pub const RULE_INPUTS: [&str; 3] = ["w", "modulator", "error"];

/// A user-written plasticity rule as a model file gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynapseModelSpec {
    /// The name projections use (`plasticity = { user = { model = "..." } }`).
    pub name: String,
    /// Parameters and their defaults, one value per projection (a projection
    /// may override each).
    #[serde(default)]
    pub parameters: Values,
    /// Presynaptic-neuron variables and their initial values (traces).
    #[serde(default)]
    pub pre: Values,
    /// Postsynaptic-neuron variables and their initial values.
    #[serde(default)]
    pub post: Values,
    /// Per-synapse variables besides the weight `w`, and their initial values.
    #[serde(default)]
    pub synapse: Values,
    /// `dx/dt = ...` lines (per ms) of any of these variables and `name = ...`
    /// definitions.
    #[serde(default)]
    pub equations: String,
    /// What a presynaptic spike does (`w -= a_minus * a_post; a_pre += 1`).
    #[serde(default)]
    pub on_pre: String,
    /// What a postsynaptic spike does (`w += a_plus * a_pre; a_post += 1`).
    #[serde(default)]
    pub on_post: String,
    /// Lower weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (default 0).
    #[serde(default)]
    pub w_min: f64,
    /// Upper weight bound in the projection's weight unit (see [`crate::model::Projection::weight`]) (required: it sets the fixed-point range).
    pub w_max: f64,
    /// `euler` (default), `rk2`, `rk4`, `exponential_euler`, `exact`, or a
    /// table of them per variable.
    #[serde(default)]
    pub method: MethodChoice,
}

/// Where a rule's variable lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// One per presynaptic neuron.
    Pre,
    /// One per postsynaptic neuron.
    Post,
    /// One per synapse (`w` first).
    Synapse,
}

impl Side {
    fn what(self) -> &'static str {
        match self {
            Side::Pre => "a presynaptic variable",
            Side::Post => "a postsynaptic variable",
            Side::Synapse => "a synapse variable",
        }
    }
}

/// A compiled rule.
///
/// Every program reads the columns in one order: the parameters, the lifted
/// values, `modulator`, `error`, then the presynaptic and the postsynaptic
/// variables (where they are not the program's state); its state is the
/// variables of its side (`Self::vars`).
#[derive(Debug, Clone)]
pub struct CompiledSynapse {
    /// The rule's name.
    pub name: String,
    /// Parameter names (the first columns).
    pub parameters: Vec<String>,
    /// Per-neuron and per-synapse variable names: pre, post, synapse (`w` first).
    vars: [Vec<String>; 3],
    /// Columns computed before the run, after the parameters.
    pub lifted: Vec<Lifted>,
    /// The exactly integrated systems (see [`super::neuron::CompiledNeuron::systems`]).
    pub systems: Vec<Vec<Expr>>,
    /// How each variable with a derivative is integrated.
    pub schemes: Vec<(String, Scheme)>,
    /// One step of each side's equations (empty where none).
    pub advance: [Phase; 3],
    /// Synapse statements of a presynaptic spike (per outgoing synapse).
    pub on_pre_synapse: Phase,
    /// Synapse statements of a postsynaptic spike (per incoming synapse).
    pub on_post_synapse: Phase,
    /// Presynaptic-variable statements of a presynaptic spike.
    pub on_pre_neuron: Phase,
    /// Postsynaptic-variable statements of a postsynaptic spike.
    pub on_post_neuron: Phase,
    /// Weight bounds.
    pub w_min: f32,
    /// Upper weight bound.
    pub w_max: f32,
    /// Whether any program reads `modulator` / `error`.
    pub reads: [bool; 2],
}

fn side_index(s: Side) -> usize {
    match s {
        Side::Pre => 0,
        Side::Post => 1,
        Side::Synapse => 2,
    }
}

impl SynapseModelSpec {
    /// Parses and checks every string and compiles the rule (the step enters through [`CompiledSynapse::columns_for`]).
    pub fn compile(&self) -> Result<CompiledSynapse, Vec<SpecError>> {
        let mut errors = Vec::new();
        let parameters: Vec<String> = self.parameters.names().map(String::from).collect();
        let pre: Vec<String> = self.pre.names().map(String::from).collect();
        let post: Vec<String> = self.post.names().map(String::from).collect();
        let mut syn: Vec<String> = vec!["w".into()];
        syn.extend(self.synapse.names().map(String::from));
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (field, values) in [
            ("parameters", &self.parameters),
            ("pre", &self.pre),
            ("post", &self.post),
            ("synapse", &self.synapse),
        ] {
            for (n, v) in &values.0 {
                let f = format!("{field}.{n}");
                if !is_name(n) {
                    errors.push(unlocated(
                        &f,
                        format!("'{n}' is not a name (letters, digits and '_', not starting with a digit or '_')"),
                    ));
                } else if RULE_INPUTS.contains(&n.as_str())
                    || super::check::BUILTINS.contains(&n.as_str())
                {
                    errors.push(unlocated(
                        &f,
                        format!("'{n}' is built in; choose another name"),
                    ));
                } else if let Some(other) = seen.insert(n, field) {
                    errors.push(unlocated(
                        &f,
                        format!("'{n}' is declared in both {other} and {field}"),
                    ));
                }
                if !v.is_finite() {
                    errors.push(unlocated(&f, format!("{v} is not a finite number")));
                }
            }
        }
        if !(self.w_min.is_finite() && self.w_max.is_finite() && self.w_min < self.w_max) {
            errors.push(unlocated(
                "w_max",
                format!(
                    "must be finite and above w_min ({}), got {}",
                    self.w_min, self.w_max
                ),
            ));
        }
        let vars = [pre, post, syn];
        let side_of = |n: &str| -> Option<Side> {
            [Side::Pre, Side::Post, Side::Synapse]
                .into_iter()
                .find(|&s| vars[side_index(s)].iter().any(|v| v == n))
        };
        let all_vars: Vec<&str> = vars.iter().flatten().map(String::as_str).collect();
        let param_refs: Vec<&str> = parameters.iter().map(String::as_str).collect();
        let scope = Scope {
            parameters: &param_refs,
            state: &all_vars,
            constants: &RULE_INPUTS[1..],
        };
        let eqs = parse_equations(&self.equations).unwrap_or_else(|e| {
            located("equations", e, &mut errors);
            vec![]
        });
        let eq_errors = check_equations(&eqs, &scope);
        let eqs_ok = eq_errors.is_empty();
        located("equations", eq_errors, &mut errors);
        let defs = definitions(&eqs);
        let inline = if eqs_ok {
            inlined_definitions(&eqs)
        } else {
            HashMap::new()
        };
        // What a name of side `s` may read: its own side, parameters and
        // inputs; synapse statements read everything.
        let readable = |s: Side, n: &str| -> bool {
            match side_of(n) {
                Some(o) => s == Side::Synapse || o == s,
                None => !(s == Side::Pre && n == "error"),
            }
        };
        let check_reads = |field: &str,
                           s: Side,
                           what: &str,
                           e: &Expr,
                           span_of: super::ast::Span,
                           errors: &mut Vec<SpecError>| {
            let mut names = Vec::new();
            names_in(&rename(e, &inline), &mut names);
            for n in names {
                if !readable(s, &n) {
                    let whose = side_of(&n).map_or("the postsynaptic error", |o| o.what());
                    errors.push(SpecError {
                        field: field.into(),
                        error: EqError::new(
                            span_of,
                            format!(
                                "{what} is {} and cannot read '{n}' ({whose}): it runs once per neuron, not per synapse",
                                s.what()
                            ),
                        ),
                    });
                }
            }
        };
        for e in &eqs {
            if let Equation::Derivative { var, expr, .. } = e {
                if let Some(s) = side_of(var) {
                    if s != Side::Synapse {
                        check_reads(
                            "equations",
                            s,
                            &format!("'{var}'"),
                            expr,
                            expr.span(),
                            &mut errors,
                        );
                    }
                }
            }
        }
        // Statements split by the side they change.
        let mut spike_phases: [(Vec<Assign>, Vec<Assign>); 2] = Default::default();
        for (k, (field, text, own, other)) in [
            ("on_pre", &self.on_pre, Side::Pre, Side::Post),
            ("on_post", &self.on_post, Side::Post, Side::Pre),
        ]
        .into_iter()
        .enumerate()
        {
            let stmts = match parse_statements(text) {
                Ok(s) => s,
                Err(e) => {
                    located(field, e, &mut errors);
                    continue;
                }
            };
            let errs = check_statements(&stmts, &scope, &defs);
            let ok = errs.is_empty();
            located(field, errs, &mut errors);
            if !ok {
                continue;
            }
            for st in &stmts {
                let assign = inline_all(statements(std::slice::from_ref(st)), &inline);
                match side_of(&st.target) {
                    Some(Side::Synapse) => spike_phases[k].0.extend(assign),
                    Some(s) if s == own => {
                        check_reads(
                            field,
                            own,
                            &format!("'{}'", st.target),
                            &assign[0].expr,
                            st.expr.span(),
                            &mut errors,
                        );
                        spike_phases[k].1.extend(assign);
                    }
                    Some(s) if s == other => errors.push(SpecError {
                        field: field.into(),
                        error: EqError::new(
                            st.target_span,
                            format!(
                                "{field} cannot change '{}': it is {}; change it in {}",
                                st.target,
                                s.what(),
                                if k == 0 { "on_post" } else { "on_pre" }
                            ),
                        ),
                    }),
                    _ => {}
                }
            }
        }
        let schemes = schemes(&self.method, &eqs, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let invariant_name = |n: &str| n == "dt" || parameters.iter().any(|p| p == n);
        let invariant = |e: &Expr| is_invariant(e, &invariant_name);
        let mut systems = Vec::new();
        let mut lifted_props = Vec::new();
        let mut advance: Vec<Vec<Assign>> = Vec::new();
        for side in &vars {
            let side_eqs: Vec<Equation> = eqs
                .iter()
                .filter(|e| match e {
                    Equation::Derivative { var, .. } => side.contains(var),
                    Equation::Define { .. } => true,
                })
                .cloned()
                .collect();
            let side_schemes: Vec<(String, Scheme)> = schemes
                .iter()
                .filter(|(v, _)| side.contains(v))
                .cloned()
                .collect();
            let assigns = integrate(
                &side_eqs,
                &side_schemes,
                side,
                &invariant,
                &mut systems,
                &mut lifted_props,
            )
            .map_err(|e| vec![e])?;
            advance.push(assigns);
        }
        let [(pre_syn, pre_neuron), (post_syn, post_neuron)] = spike_phases;
        let mut phases = advance;
        phases.extend([pre_syn, post_syn, pre_neuron, post_neuron]);
        let (parts, lifted_exprs) = hoist_phases(phases, &invariant_name, lifted_props.len());
        let mut lifted = lifted_props;
        lifted.extend(lifted_exprs.into_iter().map(Lifted::Expr));
        let c = parameters.len() + lifted.len();
        // Columns: parameters, lifted, modulator, error, then the other sides.
        let names_for = |own: Side| -> HashMap<String, Input> {
            let mut names: HashMap<String, Input> = HashMap::new();
            for (k, p) in parameters.iter().enumerate() {
                names.insert(p.clone(), Input::Param(k));
            }
            for k in 0..lifted.len() {
                names.insert(format!("_h{k}"), Input::Param(parameters.len() + k));
            }
            names.insert("modulator".into(), Input::Param(c));
            names.insert("error".into(), Input::Param(c + 1));
            let mut next = c + 2;
            for side in [Side::Pre, Side::Post, Side::Synapse] {
                for (k, v) in vars[side_index(side)].iter().enumerate() {
                    if side == own {
                        names.insert(v.clone(), Input::State(k));
                    } else if side != Side::Synapse {
                        names.insert(v.clone(), Input::Param(next));
                        next += 1;
                    }
                }
            }
            names
        };
        let phase = |assigns: Vec<Assign>, own: Side| -> Result<Phase, Vec<SpecError>> {
            let program = Program::compile(&assigns, &names_for(own))
                .map_err(|e| vec![unlocated("equations", e.0)])?;
            Ok(Phase { assigns, program })
        };
        let mut parts = parts.into_iter();
        let mut next = || parts.next().expect("a part per phase");
        let advance = [
            phase(next(), Side::Pre)?,
            phase(next(), Side::Post)?,
            phase(next(), Side::Synapse)?,
        ];
        let on_pre_synapse = phase(next(), Side::Synapse)?;
        let on_post_synapse = phase(next(), Side::Synapse)?;
        let on_pre_neuron = phase(next(), Side::Pre)?;
        let on_post_neuron = phase(next(), Side::Post)?;
        let phases = || {
            advance.iter().chain([
                &on_pre_synapse,
                &on_post_synapse,
                &on_pre_neuron,
                &on_post_neuron,
            ])
        };
        if phases().any(|ph| ph.program.draws()) {
            return Err(vec![unlocated(
                "equations",
                "random draws (uniform, normal) are available in neuron models, not in synapse models"
                    .into(),
            )]);
        }
        let mut reads = [false; 2];
        for ph in phases() {
            for a in &ph.assigns {
                let mut names = Vec::new();
                names_in(&a.expr, &mut names);
                reads[0] |= names.iter().any(|n| n == "modulator");
                reads[1] |= names.iter().any(|n| n == "error");
            }
        }
        Ok(CompiledSynapse {
            name: self.name.clone(),
            parameters,
            vars,
            lifted,
            systems,
            schemes,
            advance,
            on_pre_synapse,
            on_post_synapse,
            on_pre_neuron,
            on_post_neuron,
            w_min: self.w_min as f32,
            w_max: self.w_max as f32,
            reads,
        })
    }

    /// The initial values of the variables of `side` (`w` excluded: the
    /// projection's weights give it).
    pub(crate) fn initial(&self, side: Side) -> Vec<f32> {
        let values = match side {
            Side::Pre => &self.pre,
            Side::Post => &self.post,
            Side::Synapse => &self.synapse,
        };
        values.0.iter().map(|(_, v)| *v as f32).collect()
    }
}

/// The arrays one step of a rule reads and changes.
pub struct RuleArrays<'a> {
    /// Per presynaptic variable, one value per presynaptic neuron.
    pub pre: &'a mut [Vec<f32>],
    /// Per postsynaptic variable, one value per postsynaptic neuron.
    pub post: &'a mut [Vec<f32>],
    /// The weights (CSR order).
    pub w: &'a mut [f32],
    /// Per further synapse variable, one value per synapse.
    pub syn: &'a mut [Vec<f32>],
    /// Error per postsynaptic neuron (empty: zero).
    pub error: &'a [f32],
    /// The modulator.
    pub modulator: f32,
}

/// The projection's connectivity as the rule walks it.
pub struct Csr<'a> {
    /// Outgoing synapses of presynaptic neuron `j`: `row_ptr[j]..row_ptr[j + 1]`.
    pub row_ptr: &'a [u32],
    /// Postsynaptic neuron of each synapse.
    pub targets: &'a [u32],
    /// Incoming entries of postsynaptic neuron `i`: `col_ptr[i]..col_ptr[i + 1]`.
    pub col_ptr: &'a [u32],
    /// Synapse of each incoming entry.
    pub col_syn: &'a [u32],
    /// Presynaptic neuron of each incoming entry.
    pub col_pre: &'a [u32],
}

const LANES: usize = super::eval::LANES;

/// Scratch of a rule's steps, kept between steps.
#[derive(Debug, Default, Clone)]
pub struct RuleScratch {
    /// Gathered state and columns, [`LANES`] each.
    state: Vec<Vec<f32>>,
    cols: Vec<Vec<f32>>,
    /// The index of each gathered lane (synapse or neuron).
    at: Vec<usize>,
    /// Per gathered lane, its presynaptic and postsynaptic neuron.
    pre_of: Vec<usize>,
    post_of: Vec<usize>,
    /// Presynaptic neuron of each synapse (clock-driven synapse equations).
    source: Vec<u32>,
    /// Per side, the columns and `modulator`, one value per neuron
    /// (advancing in place).
    broadcast: [Vec<Vec<f32>>; 2],
    zeros: Vec<f32>,
}

impl CompiledSynapse {
    /// The variable names of `side` (`Side::Synapse` starts with `w`).
    pub fn vars(&self, side: Side) -> &[String] {
        &self.vars[side_index(side)]
    }

    /// Number of columns before `modulator`.
    pub(crate) fn columns(&self) -> usize {
        self.parameters.len() + self.lifted.len()
    }

    /// The columns of a projection whose parameter `k` is `params[k]`: the
    /// parameters, then the lifted values computed in f64 at step `dt_ms`.
    pub fn columns_for(&self, params: &[f64], dt_ms: f64) -> Vec<f32> {
        let mut cols: Vec<f32> = params.iter().map(|&p| p as f32).collect();
        cols.extend(lifted_values(
            &self.parameters,
            &self.lifted,
            &self.systems,
            &|k| params[k],
            dt_ms,
        ));
        cols
    }

    /// Whether synapse variables have equations (every synapse every step).
    pub fn clock_driven(&self) -> bool {
        !self.advance[2].assigns.is_empty()
    }

    /// The integration scheme and every phase, as text (`astroglia check
    /// --emit scheme`).
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut out = format!("synapse model '{}'\n  methods:", self.name);
        for (v, s) in &self.schemes {
            let _ = write!(out, " {v}: {}", s.name());
        }
        let _ = writeln!(out, "\n  weight bounds: [{}, {}]", self.w_min, self.w_max);
        for (k, l) in self.lifted.iter().enumerate() {
            if let Lifted::Expr(e) = l {
                let _ = writeln!(out, "    _h{k} = {e}");
            } else {
                let _ = writeln!(out, "    _h{k} = a propagator entry (exact)");
            }
        }
        let phases = [
            ("advance presynaptic variables", &self.advance[0]),
            ("advance postsynaptic variables", &self.advance[1]),
            (
                "advance synapse variables (every synapse)",
                &self.advance[2],
            ),
            (
                "presynaptic spike, each outgoing synapse",
                &self.on_pre_synapse,
            ),
            (
                "postsynaptic spike, each incoming synapse",
                &self.on_post_synapse,
            ),
            ("presynaptic spike, the neuron", &self.on_pre_neuron),
            ("postsynaptic spike, the neuron", &self.on_post_neuron),
        ];
        for (label, phase) in phases {
            if phase.assigns.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {label}:");
            for a in &phase.assigns {
                let _ = writeln!(out, "    {} = {}", a.target, a.expr);
            }
        }
        out
    }

    /// One step of the rule over a projection (see the module docs for the
    /// order): `cols` from [`Self::columns_for`], the step's presynaptic and
    /// postsynaptic spikes as local ids in ascending order.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step(
        &self,
        a: &mut RuleArrays,
        csr: &Csr,
        cols: &[f32],
        pre_spikes: &[u32],
        post_spikes: &[u32],
        env: &StepEnv,
        scratch: &mut RuleScratch,
    ) {
        let n_pre = csr.row_ptr.len().saturating_sub(1);
        let n_post = csr.col_ptr.len().saturating_sub(1);
        let n_syn = csr.targets.len();
        // 1. Equations.
        if !self.advance[0].assigns.is_empty() {
            self.advance_neurons(Side::Pre, a, cols, n_pre, env, scratch);
        }
        if !self.advance[1].assigns.is_empty() {
            self.advance_neurons(Side::Post, a, cols, n_post, env, scratch);
        }
        if self.clock_driven() {
            if scratch.source.len() != n_syn {
                scratch.source.clear();
                for j in 0..n_pre {
                    let len = csr.row_ptr[j + 1] - csr.row_ptr[j];
                    scratch
                        .source
                        .extend(std::iter::repeat_n(j as u32, len as usize));
                }
            }
            let source = std::mem::take(&mut scratch.source);
            let mut syns = (0..n_syn).map(|s| (s, source[s] as usize, csr.targets[s] as usize));
            self.run_synapses(&self.advance[2], a, cols, &mut syns, env, scratch);
            scratch.source = source;
        }
        // 2. Synapse statements.
        if !self.on_pre_synapse.assigns.is_empty() {
            let mut syns = pre_spikes.iter().flat_map(|&j| {
                let j = j as usize;
                (csr.row_ptr[j] as usize..csr.row_ptr[j + 1] as usize)
                    .map(move |s| (s, j, csr.targets[s] as usize))
            });
            self.run_synapses(&self.on_pre_synapse, a, cols, &mut syns, env, scratch);
        }
        if !self.on_post_synapse.assigns.is_empty() {
            let mut syns = post_spikes.iter().flat_map(|&i| {
                let i = i as usize;
                (csr.col_ptr[i] as usize..csr.col_ptr[i + 1] as usize)
                    .map(move |e| (csr.col_syn[e] as usize, csr.col_pre[e] as usize, i))
            });
            self.run_synapses(&self.on_post_synapse, a, cols, &mut syns, env, scratch);
        }
        // 3. Neuron statements.
        if !self.on_pre_neuron.assigns.is_empty() {
            let mut ids = pre_spikes.iter().map(|&j| j as usize);
            self.run_neurons(
                &self.on_pre_neuron,
                Side::Pre,
                a,
                cols,
                &mut ids,
                env,
                scratch,
            );
        }
        if !self.on_post_neuron.assigns.is_empty() {
            let mut ids = post_spikes.iter().map(|&i| i as usize);
            self.run_neurons(
                &self.on_post_neuron,
                Side::Post,
                a,
                cols,
                &mut ids,
                env,
                scratch,
            );
        }
    }

    /// Fills the columns every program reads in a block: the projection's
    /// columns and `modulator` broadcast, `error` and the other side's
    /// variables gathered per lane.
    fn fill_columns(
        &self,
        own: Side,
        a: &RuleArrays,
        cols: &[f32],
        len: usize,
        scratch: &mut RuleScratch,
    ) {
        let c = cols.len();
        let n_cols = c + 2 + self.vars[0].len() + self.vars[1].len();
        scratch.cols.resize_with(n_cols, || vec![0.0; LANES]);
        for (k, &v) in cols.iter().enumerate() {
            scratch.cols[k][..len].fill(v);
        }
        scratch.cols[c][..len].fill(a.modulator);
        let RuleScratch {
            cols: out,
            pre_of,
            post_of,
            ..
        } = scratch;
        for (k, &i) in post_of[..len].iter().enumerate() {
            out[c + 1][k] = a.error.get(i).copied().unwrap_or(0.0);
        }
        // Neuron programs read their own side only (checked).
        if own != Side::Synapse {
            return;
        }
        let mut next = c + 2;
        {
            for v in a.pre.iter() {
                for (k, &j) in pre_of[..len].iter().enumerate() {
                    out[next][k] = v[j];
                }
                next += 1;
            }
        }
        {
            for v in a.post.iter() {
                for (k, &i) in post_of[..len].iter().enumerate() {
                    out[next][k] = v[i];
                }
                next += 1;
            }
        }
    }

    /// Advances every neuron of side `own` (`n` of them) in place: the
    /// columns broadcast once to `n` lanes, no gathering.
    fn advance_neurons(
        &self,
        own: Side,
        a: &mut RuleArrays,
        cols: &[f32],
        n: usize,
        env: &StepEnv,
        scratch: &mut RuleScratch,
    ) {
        let c = cols.len();
        let b = &mut scratch.broadcast[side_index(own)];
        if b.len() != c + 1 || b.first().is_some_and(|v| v.len() != n) {
            *b = cols.iter().map(|&v| vec![v; n]).collect();
            b.push(vec![0.0; n]);
        }
        b[c].fill(a.modulator);
        if scratch.zeros.len() < n {
            scratch.zeros = vec![0.0; n];
        }
        let mut p: Vec<&[f32]> = b.iter().map(|v| &v[..]).collect();
        p.push(if own == Side::Post && !a.error.is_empty() {
            a.error
        } else {
            &scratch.zeros
        });
        let vars: &mut [Vec<f32>] = if own == Side::Pre { a.pre } else { a.post };
        let mut st: Vec<&mut [f32]> = vars.iter_mut().map(|v| &mut v[..]).collect();
        self.advance[side_index(own)]
            .program
            .run(&mut st, &p, n, 0, env);
    }

    /// Runs `phase` over the neurons `ids` of side `own`, [`LANES`] at a time.
    #[allow(clippy::too_many_arguments)]
    fn run_neurons(
        &self,
        phase: &Phase,
        own: Side,
        a: &mut RuleArrays,
        cols: &[f32],
        ids: &mut dyn Iterator<Item = usize>,
        env: &StepEnv,
        scratch: &mut RuleScratch,
    ) {
        let nv = self.vars[side_index(own)].len();
        scratch
            .state
            .resize_with(nv.max(scratch.state.len()), || vec![0.0; LANES]);
        loop {
            scratch.at.clear();
            scratch.at.extend((&mut *ids).take(LANES));
            let len = scratch.at.len();
            if len == 0 {
                return;
            }
            scratch.pre_of.clear();
            scratch.post_of.clear();
            let at = &scratch.at;
            match own {
                Side::Pre => scratch.pre_of.extend_from_slice(at),
                _ => scratch.post_of.extend_from_slice(at),
            }
            if own == Side::Pre {
                scratch.post_of.resize(len, usize::MAX);
            } else {
                scratch.pre_of.resize(len, 0);
            }
            let vars: &mut [Vec<f32>] = if own == Side::Pre { a.pre } else { a.post };
            for (g, v) in scratch.state.iter_mut().zip(vars.iter()) {
                for (k, &i) in scratch.at.iter().enumerate() {
                    g[k] = v[i];
                }
            }
            self.fill_columns(own, a, cols, len, scratch);
            let c: Vec<&[f32]> = scratch.cols.iter().map(|c| &c[..]).collect();
            let mut s: Vec<&mut [f32]> =
                scratch.state[..nv].iter_mut().map(|v| &mut v[..]).collect();
            phase.program.run(&mut s, &c, len, 0, env);
            let vars: &mut [Vec<f32>] = if own == Side::Pre { a.pre } else { a.post };
            for (g, v) in scratch.state.iter().zip(vars.iter_mut()) {
                for (k, &i) in scratch.at.iter().enumerate() {
                    v[i] = g[k];
                }
            }
        }
    }

    /// Runs `phase` over synapses `(synapse, pre, post)`, [`LANES`] at a
    /// time, and clips the weights.
    fn run_synapses(
        &self,
        phase: &Phase,
        a: &mut RuleArrays,
        cols: &[f32],
        syns: &mut dyn Iterator<Item = (usize, usize, usize)>,
        env: &StepEnv,
        scratch: &mut RuleScratch,
    ) {
        let nv = self.vars[2].len();
        scratch
            .state
            .resize_with(nv.max(scratch.state.len()), || vec![0.0; LANES]);
        loop {
            scratch.at.clear();
            scratch.pre_of.clear();
            scratch.post_of.clear();
            for (s, j, i) in (&mut *syns).take(LANES) {
                scratch.at.push(s);
                scratch.pre_of.push(j);
                scratch.post_of.push(i);
            }
            let len = scratch.at.len();
            if len == 0 {
                return;
            }
            for (k, &s) in scratch.at.iter().enumerate() {
                scratch.state[0][k] = a.w[s];
            }
            for (g, v) in scratch.state[1..nv].iter_mut().zip(a.syn.iter()) {
                for (k, &s) in scratch.at.iter().enumerate() {
                    g[k] = v[s];
                }
            }
            self.fill_columns(Side::Synapse, a, cols, len, scratch);
            let c: Vec<&[f32]> = scratch.cols.iter().map(|c| &c[..]).collect();
            let mut s: Vec<&mut [f32]> =
                scratch.state[..nv].iter_mut().map(|v| &mut v[..]).collect();
            phase.program.run(&mut s, &c, len, 0, env);
            for (k, &s) in scratch.at.iter().enumerate() {
                a.w[s] = scratch.state[0][k].clamp(self.w_min, self.w_max);
            }
            for (g, v) in scratch.state[1..nv].iter().zip(a.syn.iter_mut()) {
                for (k, &s) in scratch.at.iter().enumerate() {
                    v[s] = g[k];
                }
            }
        }
    }
}
