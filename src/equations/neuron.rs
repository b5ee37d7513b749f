//! User-written neuron models: the `[[neuron_models]]` table of a model file,
//! checked and compiled into step, threshold, reset and receptor programs.
//!
//! One step of a population, in order: each receptor's statement with `w` the
//! step's summed weight arriving on it; the integration step of the equations
//! (the [`Method`]); the threshold, tested where the neuron is not refractory;
//! the reset of the neurons that spiked, which then stay refractory (no
//! threshold test) for `refractory_ms`.
use super::ast::{Expr, Statement};
use super::eval::{Input, Program, StepEnv};
use super::integrate::{Assign, Method, step};
use super::{EqError, Scope, check_equations, check_expr, check_statements};
use super::{parse_equations, parse_expr, parse_statements};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A neuron model written in a model file.
///
/// ```
/// use astroglia::equations::neuron::NeuronModelSpec;
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
    /// Parameters and their defaults.
    #[serde(default)]
    pub parameters: BTreeMap<String, f64>,
    /// State variables and their initial values.
    pub state: BTreeMap<String, f64>,
    /// `dx/dt = ...` lines (per ms) and `name = ...` definitions.
    pub equations: String,
    /// Per receptor (`exc`, `inh`, ...), the statement that adds the step's
    /// weight `w` (`i_exc += w`); `w` there is the weight, not a state variable.
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
    /// `euler` (default), `rk2`, `rk4` or `exponential_euler`.
    #[serde(default = "default_method")]
    pub method: String,
}

fn default_method() -> String {
    "euler".into()
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

/// A compiled neuron model.
#[derive(Debug, Clone)]
pub struct CompiledNeuron {
    /// The model's name.
    pub name: String,
    /// State variable names (index = state array).
    pub state: Vec<String>,
    /// Parameter names (index = parameter array).
    pub parameters: Vec<String>,
    /// Receptor names, in the order inputs are given to [`Self::update`].
    pub receptors: Vec<String>,
    /// Refractory steps after a spike.
    pub refractory_steps: u32,
    step: Program,
    threshold: Program,
    reset: Program,
    receptor_programs: Vec<Program>,
}

/// The state of a population of a compiled model.
#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    /// One array per state variable.
    pub vars: Vec<Vec<f32>>,
    /// Remaining refractory steps per neuron.
    pub refractory: Vec<u32>,
}

impl NeuronModelSpec {
    /// Parses and checks every string and compiles the model for step `dt_ms`.
    /// Every problem is listed.
    pub fn compile(&self, dt_ms: f64) -> Result<CompiledNeuron, Vec<SpecError>> {
        let mut errors = Vec::new();
        let at = |field: &str, errs: Vec<EqError>, out: &mut Vec<SpecError>| {
            out.extend(errs.into_iter().map(|error| SpecError {
                field: field.to_string(),
                error,
            }));
        };
        let state: Vec<String> = self.state.keys().cloned().collect();
        let parameters: Vec<String> = self.parameters.keys().cloned().collect();
        let state_refs: Vec<&str> = state.iter().map(String::as_str).collect();
        let param_refs: Vec<&str> = parameters.iter().map(String::as_str).collect();
        let scope = Scope {
            parameters: &param_refs,
            state: &state_refs,
            constants: &[],
        };
        let method = Method::by_name(&self.method);
        if method.is_none() {
            let known: Vec<_> = Method::ALL.iter().map(|m| m.1).collect();
            at(
                "method",
                vec![EqError::new(
                    Default::default(),
                    format!(
                        "unknown method '{}'; expected one of {}",
                        self.method,
                        known.join(", ")
                    ),
                )],
                &mut errors,
            );
        }
        let eqs = parse_equations(&self.equations).unwrap_or_else(|e| {
            at("equations", e, &mut errors);
            vec![]
        });
        at("equations", check_equations(&eqs, &scope), &mut errors);
        let threshold = match parse_expr(&self.threshold) {
            Ok(e) => {
                at("threshold", check_expr(&e, &scope, &[]), &mut errors);
                Some(e)
            }
            Err(e) => {
                at("threshold", e, &mut errors);
                None
            }
        };
        let reset = match parse_statements(&self.reset) {
            Ok(s) => {
                at("reset", check_statements(&s, &scope, &[]), &mut errors);
                s
            }
            Err(e) => {
                at("reset", e, &mut errors);
                vec![]
            }
        };
        // In a receptor statement `w` is the arriving weight.
        let mut receptor_params = param_refs.clone();
        receptor_params.push("w");
        let receptor_state: Vec<&str> = state_refs.iter().copied().filter(|s| *s != "w").collect();
        let receptor_scope = Scope {
            parameters: &receptor_params,
            state: &receptor_state,
            constants: &[],
        };
        let mut receptors = Vec::new();
        for (name, text) in &self.receptors {
            let field = format!("receptors.{name}");
            match parse_statements(text) {
                Ok(s) => {
                    at(
                        &field,
                        check_statements(&s, &receptor_scope, &[]),
                        &mut errors,
                    );
                    receptors.push((name.clone(), s));
                }
                Err(e) => at(&field, e, &mut errors),
            }
        }
        let refractory_steps = if self.refractory_ms.is_finite() && self.refractory_ms >= 0.0 {
            (self.refractory_ms / dt_ms)
                .round()
                .min(f64::from(u32::MAX)) as u32
        } else {
            at(
                "refractory_ms",
                vec![EqError::new(
                    Default::default(),
                    format!("{} is not a duration >= 0", self.refractory_ms),
                )],
                &mut errors,
            );
            0
        };
        let (Some(method), Some(threshold), true) = (method, threshold, errors.is_empty()) else {
            return Err(errors);
        };
        let assigns = match step(&eqs, method) {
            Ok(a) => a,
            Err(e) => {
                return Err(vec![SpecError {
                    field: "equations".into(),
                    error: EqError::new(e.span, e.message),
                }]);
            }
        };
        let mut names: HashMap<String, Input> = state
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), Input::State(i)))
            .collect();
        names.extend(
            parameters
                .iter()
                .enumerate()
                .map(|(i, p)| (p.clone(), Input::Param(i))),
        );
        let compile = |assigns: &[Assign], names: &HashMap<String, Input>| {
            Program::compile(assigns, names).map_err(|e| {
                vec![SpecError {
                    field: "equations".into(),
                    error: EqError::new(Default::default(), e.0),
                }]
            })
        };
        let step = compile(&assigns, &names)?;
        // The threshold writes its truth to an extra state slot after the variables.
        let mut with_spike = names.clone();
        with_spike.insert("_spike".into(), Input::State(state.len()));
        let threshold = compile(
            &[Assign {
                target: "_spike".into(),
                expr: threshold,
            }],
            &with_spike,
        )?;
        let reset = compile(&statements(&reset), &names)?;
        let mut receptor_names = Vec::new();
        let mut receptor_programs = Vec::new();
        for (name, stmts) in receptors {
            let mut rnames = names.clone();
            rnames.insert("w".into(), Input::Param(parameters.len()));
            receptor_programs.push(compile(&statements(&stmts), &rnames)?);
            receptor_names.push(name);
        }
        Ok(CompiledNeuron {
            name: self.name.clone(),
            state,
            parameters,
            receptors: receptor_names,
            refractory_steps,
            step,
            threshold,
            reset,
            receptor_programs,
        })
    }
}

/// Statements as assignments: `x op= e` becomes `x = x op e`.
fn statements(stmts: &[Statement]) -> Vec<Assign> {
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

impl CompiledNeuron {
    /// The initial state of `n` neurons from the spec's initial values.
    pub fn initial_state(&self, spec: &NeuronModelSpec, n: usize) -> UserState {
        UserState {
            vars: self
                .state
                .iter()
                .map(|s| vec![spec.state[s] as f32; n])
                .collect(),
            refractory: vec![0; n],
        }
    }

    /// One step of neurons `0..n`: `inputs[r]` is the weight arriving on
    /// receptor `r` this step (per neuron), `params[i]` parameter `i` per
    /// neuron. Appends the ids (`first + i`) of the neurons that spiked.
    pub fn update(
        &self,
        s: &mut UserState,
        params: &[&[f32]],
        inputs: &[&[f32]],
        env: &StepEnv,
        first: u32,
        spikes: &mut Vec<u32>,
    ) {
        let n = s.refractory.len();
        let mut vars: Vec<&mut [f32]> = s.vars.iter_mut().map(|v| &mut v[..]).collect();
        for (prog, input) in self.receptor_programs.iter().zip(inputs) {
            let mut p: Vec<&[f32]> = params.to_vec();
            p.push(input);
            prog.run(&mut vars, &p, n, first, env);
        }
        self.step.run(&mut vars, params, n, first, env);
        let mut spike = vec![0f32; n];
        {
            let mut with_spike: Vec<&mut [f32]> = vars.iter_mut().map(|v| &mut v[..]).collect();
            with_spike.push(&mut spike);
            self.threshold.run(&mut with_spike, params, n, first, env);
        }
        for (i, r) in s.refractory.iter_mut().enumerate() {
            if *r > 0 {
                *r -= 1;
                spike[i] = 0.0;
            } else if spike[i] != 0.0 {
                *r = self.refractory_steps;
            }
        }
        // The reset runs once over the neurons that spiked, gathered: spikes
        // are rare and the reset's cost should follow them.
        let ids: Vec<usize> = (0..n).filter(|&i| spike[i] != 0.0).collect();
        if ids.is_empty() {
            return;
        }
        let gather = |a: &[f32]| ids.iter().map(|&i| a[i]).collect::<Vec<f32>>();
        let mut g_vars: Vec<Vec<f32>> = vars.iter().map(|v| gather(v)).collect();
        let g_params: Vec<Vec<f32>> = params.iter().map(|p| gather(p)).collect();
        {
            let mut v: Vec<&mut [f32]> = g_vars.iter_mut().map(|v| &mut v[..]).collect();
            let p: Vec<&[f32]> = g_params.iter().map(|p| &p[..]).collect();
            let index = |j: usize| first + ids[j] as u32;
            self.reset.run_indexed(&mut v, &p, ids.len(), &index, env);
        }
        for (var, g) in vars.iter_mut().zip(&g_vars) {
            for (&i, &x) in ids.iter().zip(g) {
                var[i] = x;
            }
        }
        spikes.extend(ids.iter().map(|&i| first + i as u32));
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
        let params: Vec<Vec<f32>> = m
            .parameters
            .iter()
            .map(|p| vec![s.parameters[p] as f32])
            .collect();
        let p: Vec<&[f32]> = params.iter().map(|v| &v[..]).collect();
        let mut spikes_at = vec![];
        for step in 0..100_000u64 {
            let env = StepEnv {
                t: step as f32 * dt as f32,
                dt: dt as f32,
                step,
                rng: None,
            };
            let mut spikes = vec![];
            m.update(&mut st, &p, &[], &env, 0, &mut spikes);
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
        m.update(&mut st, &[], &[&[3.0, 0.0]], &env, 0, &mut vec![]);
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
