//! Populations of user-written neuron models (`[[neuron_models]]`, see
//! [`crate::equations::neuron`]): the registry entry whose kernels are
//! generated. The CPU runs the compiled programs as native code
//! ([`crate::equations::native`]; the interpreter where a program draws); the
//! GPU runs WGSL generated from the same assignments
//! ([`crate::equations::wgsl`]).
use super::AlignedVec;
use super::registry::{Draw, NeuronKernel};
use crate::equations::eval::StepEnv;
use crate::equations::neuron::{Args, CompiledNeuron, NeuronModelSpec, Scratch};
use crate::model::Dist;
use crate::rng::CounterRng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The counter-based stream of user models' draws (keyed by global neuron id).
pub const STREAM_USER: u32 = 0x4_0000;

/// A population's user-written model: the model's name, per-population
/// parameter values (numbers or per-neuron distributions) and the model
/// itself, found by name among the file's `[[neuron_models]]`.
///
/// ```
/// use astroglia::model::NeuronModelSpec;
/// use astroglia::model::{Dist, NeuronModel, Network, Population, UserNeuron};
/// let spec: NeuronModelSpec = toml::from_str(r#"
///     name = "leaky"
///     parameters = { tau = 20.0, i = 30.0 }
///     state = { v = 0.0 }
///     equations = "dv/dt = (i - v) / tau"
///     threshold = "v > 20"
///     reset = "v = 0"
/// "#).unwrap();
/// let mut net = Network::new(0.1, 100.0);
/// let model = UserNeuron::new(spec).with("i", Dist::Const(25.0));
/// net.add_population(Population::new("cells", 10, NeuronModel::User(model)));
/// net.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UserNeuron {
    /// The model's name (`model = "adex"`).
    pub model: String,
    /// Parameter values that replace the model's defaults.
    pub parameters: BTreeMap<String, Dist>,
    /// The model; `None` until a file's population is matched with its
    /// `[[neuron_models]]` entry.
    pub spec: Option<Arc<NeuronModelSpec>>,
}

impl UserNeuron {
    /// A population of `spec` with its default parameters.
    pub fn new(spec: NeuronModelSpec) -> Self {
        UserNeuron {
            model: spec.name.clone(),
            parameters: BTreeMap::new(),
            spec: Some(Arc::new(spec)),
        }
    }

    /// Sets parameter `name` to `value` (a number or a distribution).
    pub fn with(mut self, name: &str, value: Dist) -> Self {
        self.parameters.insert(name.into(), value);
        self
    }

    /// The state variables, in the model's order.
    pub fn state_vars(&self) -> Vec<String> {
        self.spec
            .as_ref()
            .map(|s| s.state.names().map(String::from).collect())
            .unwrap_or_default()
    }

    /// The declared unit of state variable `var` (empty when undeclared).
    pub fn unit(&self, var: &str) -> Option<String> {
        let spec = self.spec.as_ref()?;
        spec.state.get(var)?;
        Some(spec.units.get(var).cloned().unwrap_or_default())
    }

    /// Invalid parameter values as (field, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let Some(spec) = &self.spec else {
            return vec![(
                "model".into(),
                format!("no neuron model named '{}' in neuron_models", self.model),
            )];
        };
        let mut out = vec![];
        for (name, d) in &self.parameters {
            if spec.parameters.get(name).is_none() {
                let known: Vec<&str> = spec.parameters.names().collect();
                out.push((
                    format!("parameters.{name}"),
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
            } else if let Err(e) = d.check() {
                out.push((format!("parameters.{name}"), e));
            }
        }
        out
    }

    /// The built population. Validation has compiled the model; a model that
    /// does not compile builds a population whose every step fails.
    pub fn build(&self, dt_ms: f64, draw: &mut Draw<'_>) -> UserPop {
        let spec = self.spec.as_ref().expect("validated: the model was found");
        let model = Arc::new(spec.compile(dt_ms).expect("validated: the model compiles"));
        let n = draw.n;
        let params: Vec<Vec<f64>> = spec
            .parameters
            .0
            .iter()
            .map(|(name, default)| match self.parameters.get(name) {
                Some(d) => (0..n).map(|_| d.sample(draw.params())).collect(),
                None => vec![*default; n],
            })
            .collect();
        let cols = model.columns_for(&params, n, dt_ms);
        let vars: Vec<AlignedVec<f32>> = spec
            .state
            .0
            .iter()
            .map(|(name, v)| draw.state(name, *v).into())
            .collect();
        // Columns equal for every neuron become immediates of the CPU program.
        let uniform: Vec<Option<f32>> = cols
            .iter()
            .map(|c| match c.first() {
                Some(x) if c.iter().all(|y| y.to_bits() == x.to_bits()) => Some(*x),
                _ => None,
            })
            .collect();
        let fused = model.specialised(&uniform);
        let kernel = model.native_kernel(&fused).map(Arc::new);
        UserPop {
            k: UserConsts {
                model,
                fused,
                kernel,
                cols,
                step: 0,
                dt: dt_ms as f32,
                rng: CounterRng::new(draw.instance_seed),
                offset: draw.offset,
            },
            vars,
            refractory: AlignedVec::zeroed(n),
            scratch: vec![],
        }
    }
}

/// What every step of a user population reads besides its state.
#[derive(Debug, Clone)]
pub struct UserConsts {
    /// The compiled model.
    pub model: Arc<CompiledNeuron>,
    /// Its one-pass program, specialised to this population's uniform columns.
    pub fused: crate::equations::eval::Program,
    /// `fused` compiled to a native kernel that also reads the rings and
    /// counts the clocks; `None` where the interpreter runs it.
    pub kernel: Option<Arc<crate::equations::native::Native>>,
    /// Per-neuron columns: parameters, then lifted values.
    pub cols: Vec<Vec<f32>>,
    /// Steps taken (the step's `t` and the draws' counter).
    pub step: u64,
    /// Step, ms.
    pub dt: f32,
    /// The instance's generator.
    pub rng: CounterRng,
    /// Global id of neuron 0 (keys the draws).
    pub offset: u32,
}

/// A built population of a user model.
#[derive(Debug, Clone)]
pub struct UserPop {
    /// Model and columns.
    pub k: UserConsts,
    /// One array per state variable, in the model's order (cache-line
    /// aligned, as the kernels' vector accesses want).
    pub vars: Vec<AlignedVec<f32>>,
    /// Remaining refractory steps per neuron.
    pub refractory: AlignedVec<u32>,
    scratch: Vec<Scratch>,
}

/// Mutable slices of (a chunk of) a user population's state.
pub struct UserView<'a> {
    vars: Vars<'a>,
    refractory: &'a mut [u32],
    scratch: &'a mut Scratch,
}

/// A view's state variables: on the stack for up to six (a view is passed
/// by value every step, so it stays small).
type Vars<'a> = smallvec::SmallVec<[&'a mut [f32]; 6]>;

impl UserPop {
    /// The state variables that became non-finite are named by these.
    fn var_names(&self) -> String {
        self.k.model.state.join("/")
    }
}

impl NeuronKernel for UserPop {
    type Consts = UserConsts;
    type View<'a> = UserView<'a>;
    const SHADER: &'static str = "neuron_user.wgsl";
    const SOURCE: &'static str = "";
    const GPU_VARS: &'static [&'static str] = &[];

    fn chunks(&mut self, lens: &[usize]) -> (&UserConsts, Vec<UserView<'_>>) {
        self.scratch.resize(lens.len(), Scratch::default());
        let mut per_var: Vec<Vec<&mut [f32]>> = self
            .vars
            .iter_mut()
            .map(|v| super::split_mut(v, lens))
            .collect();
        let refr = super::split_mut(&mut self.refractory, lens);
        let views = refr
            .into_iter()
            .zip(self.scratch.iter_mut())
            .enumerate()
            .map(|(c, (refractory, scratch))| UserView {
                vars: per_var
                    .iter_mut()
                    .map(|v| std::mem::take(&mut v[c]))
                    .collect(),
                refractory,
                scratch,
            })
            .collect();
        (&self.k, views)
    }

    fn whole(&mut self) -> (&UserConsts, UserView<'_>) {
        if self.scratch.is_empty() {
            self.scratch.push(Scratch::default());
        }
        (
            &self.k,
            UserView {
                vars: self.vars.iter_mut().map(|v| &mut v[..]).collect(),
                refractory: &mut self.refractory,
                scratch: &mut self.scratch[0],
            },
        )
    }

    fn update(
        k: &UserConsts,
        mut s: UserView<'_>,
        ring_exc: &mut [i32],
        ring_inh: &mut [i32],
        inv: [f32; 2],
        i_ext: Option<&[f32]>,
        base: u32,
        spikes: &mut Vec<u32>,
    ) -> bool {
        let n = s.refractory.len();
        let at = base as usize;
        let cols: Args<&[f32]> = k.cols.iter().map(|c| &c[at..at + n]).collect();
        let env = StepEnv {
            t: k.step as f32 * k.dt,
            dt: k.dt,
            step: k.step,
            rng: Some((&k.rng, STREAM_USER)),
        };
        let before = spikes.len();
        if let Some(kernel) = &k.kernel {
            let ok = k.model.update_native(
                kernel,
                &k.fused,
                &mut s.vars,
                s.refractory,
                &cols,
                [ring_exc, ring_inh],
                inv,
                i_ext,
                &env,
                k.offset + base,
                s.scratch,
                spikes,
            );
            for id in &mut spikes[before..] {
                *id -= k.offset;
            }
            return ok;
        }
        let mut w = s.scratch.take_weights();
        for ((buf, ring), inv) in w.iter_mut().zip([ring_exc, ring_inh]).zip(inv) {
            buf.clear();
            buf.extend(ring.iter().map(|&x| x as f32 * inv));
            ring.fill(0);
        }
        let ok = k.model.update_with(
            &k.fused,
            &mut s.vars,
            s.refractory,
            &cols,
            [Some(&w[0]), Some(&w[1])],
            i_ext,
            &env,
            k.offset + base,
            s.scratch,
            spikes,
        );
        s.scratch.put_weights(w);
        // Draws are keyed by global ids; the spike list takes local ones.
        for id in &mut spikes[before..] {
            *id -= k.offset;
        }
        ok
    }

    fn tick(&mut self) {
        self.k.step += 1;
    }

    fn read(&self, var: &str, out: &mut Vec<f32>) -> bool {
        match self.k.model.state.iter().position(|s| s == var) {
            Some(i) => super::registry::copy_into(out, &self.vars[i]),
            None => false,
        }
    }

    fn bytes_per_neuron(&self) -> usize {
        4 * (self.vars.len() + self.k.cols.len() + 1)
    }

    fn gpu_params(&self) -> Vec<u8> {
        crate::equations::wgsl::params_block(&self.k.model, self.k.dt)
    }

    fn gpu_state(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let cols = self.k.cols.iter().map(|c| &c[..]);
        for v in self.vars.iter().map(|v| &v[..]).chain(cols) {
            out.extend(v.iter().map(|x| x.to_bits()));
        }
        out.extend_from_slice(&self.refractory);
        out
    }

    fn shader_source(&self) -> (String, std::borrow::Cow<'static, str>) {
        let src = crate::equations::wgsl::neuron_shader(&self.k.model);
        (
            format!("neuron_user_{}.wgsl", self.k.model.name),
            src.into(),
        )
    }

    fn gpu_var_names(&self) -> Vec<String> {
        let m = &self.k.model;
        let mut v: Vec<String> = m.state.clone();
        v.extend((0..self.k.cols.len()).map(|c| format!("_col{c}")));
        v.push("_refractory".into());
        v
    }

    fn checked_vars(&self) -> String {
        self.var_names()
    }
}
