//! astroglia [`Network`] → NIR graph, for the subset NIR can express.
use super::convert::{ImportOptions, to_model};
use super::graph::{Graph, Nir, Node, Value};
use crate::build::build;
use crate::error::{Error, Result};
use crate::model::{InputOrder, Network, NeuronModel, SynapseKind};
use std::collections::BTreeMap;

/// The NIR version written by [`from_model`] for models not imported from NIR.
pub const VERSION: &str = "1.0.0";

/// Converts a network to a NIR graph.
///
/// A model imported by [`to_model`] whose populations, projections and inputs
/// are unchanged gives back its original graph, bit for bit, read again from
/// the file its `nir` reference names (see [`crate::nir`]). Any other model is
/// translated: spike sources become `Input`, LIF populations `LIF` (delta
/// synapses), `IF` (`tau_m_ms = inf`) or `CubaLIF` (exponential synapses), and
/// each projection, built with the model's seed, a dense `Linear` node.
/// What NIR cannot express is refused with one error listing every offending
/// population, projection, input and astrocyte.
///
/// ```
/// use astroglia::model::*;
/// let mut net = Network::new(1.0, 100.0);
/// net.add_population(Population::new("in", 2, NeuronModel::SpikeSource(Default::default())));
/// net.add_population(Population::new("out", 1, NeuronModel::Lif(
///     LifParams::default().t_ref_ms(0.0).synapse(SynapseKind::Delta))));
/// net.add_projection(Projection::new("in", "out", Connect::AllToAll { allow_self: true }).weight(2.0));
/// let nir = astroglia::nir::from_model(&net).unwrap();
/// assert_eq!(nir.graph.nodes["out"].kind, "LIF");
/// ```
pub fn from_model(net: &Network) -> Result<Nir> {
    if let Some(orig) = net.nir.as_ref().and_then(super::source::resolve) {
        if unchanged(net, &orig) {
            return Ok(orig);
        }
    }
    translate(net)
}

/// Whether `net` is still what importing `orig` at its step gives (spike-source
/// contents, monitors, name, seed and duration may differ).
fn unchanged(net: &Network, orig: &Nir) -> bool {
    let Ok(fresh) = to_model(
        orig,
        &ImportOptions {
            dt_ms: net.dt_ms,
            duration_ms: net.duration_ms,
        },
    ) else {
        return false;
    };
    let f = fresh.network;
    let strip = |n: &Network| -> Vec<_> {
        n.populations
            .iter()
            .map(|p| match &p.model {
                NeuronModel::SpikeSource(_) => (p.name.clone(), p.size, None),
                m => (p.name.clone(), p.size, Some((m.clone(), p.init.clone()))),
            })
            .collect()
    };
    strip(net) == strip(&f)
        && net.projections == f.projections
        && net.inputs == f.inputs
        && net.astrocytes.is_empty()
        && net.grids.is_empty()
}

fn f32s(shape: &[usize], v: Vec<f64>) -> Value {
    Value::f32(shape, v.into_iter().map(|x| x as f32).collect())
}

/// Why a population's NIR parameters (float32, so beyond ±3.4e38 is infinite; or the factor turning its engine weights
/// into NIR weights) cannot be written: NIR readers expect finite numbers.
fn non_finite(params: &[(&str, Value)], factor: f64) -> Option<String> {
    for (k, v) in params {
        let x = v.to_f64().unwrap_or_default();
        if let Some(x) = x.into_iter().find(|x| !x.is_finite()) {
            return Some(format!("the NIR parameter {k} would be {x} (not finite)"));
        }
    }
    (!factor.is_finite()).then(|| format!("its weights would be scaled by {factor} (not finite)"))
}

fn translate(net: &Network) -> Result<Nir> {
    let mut problems = vec![];
    let dt = net.dt_ms;
    let mut graph = Graph::default();
    // Per target population: the factor turning an engine weight into a NIR weight.
    let mut to_nir: BTreeMap<&str, f64> = BTreeMap::new();
    for p in &net.populations {
        let n = p.size as usize;
        let full = |x: f64| f32s(&[n], vec![x; n]);
        let (kind, params, factor): (&str, Vec<(&str, Value)>, f64) = match &p.model {
            NeuronModel::SpikeSource(_) => (
                "Input",
                vec![("shape", Value::i64(&[1], vec![n as i64]))],
                0.0,
            ),
            NeuronModel::Lif(l) => {
                let mut why = vec![];
                if l.t_ref_ms != 0.0 {
                    why.push(format!(
                        "t_ref_ms = {} (NIR neurons have no refractory period)",
                        l.t_ref_ms
                    ));
                }
                if l.i_bias_pa != 0.0 {
                    why.push(format!("i_bias_pa = {} (not exported)", l.i_bias_pa));
                }
                if l.input_order != InputOrder::BeforeThreshold {
                    why.push("input_order = \"after_threshold\" (not exported)".into());
                }
                if l.synapse == SynapseKind::Exponential && l.tau_syn_exc_ms != l.tau_syn_inh_ms {
                    why.push("different excitatory and inhibitory synaptic time constants".into());
                }
                if p.init
                    .iter()
                    .any(|(k, d)| k != "v" || d.constant() != Some(0.0))
                {
                    why.push("initial state other than v = 0 (NIR states start at 0)".into());
                }
                if !why.is_empty() {
                    problems.push(format!("population '{}': {}", p.name, why.join(", ")));
                    continue;
                }
                let r = if l.tau_m_ms.is_infinite() {
                    dt / l.c_m_pf
                } else {
                    l.tau_m_ms / l.c_m_pf
                };
                let spiking = l.v_th_mv.is_finite();
                let mut v = vec![("r", full(r))];
                if spiking {
                    v.push(("v_threshold", full(l.v_th_mv)));
                    v.push(("v_reset", full(l.v_reset_mv)));
                }
                match (l.synapse, l.tau_m_ms.is_infinite()) {
                    (SynapseKind::Delta, true) => (if spiking { "IF" } else { "I" }, v, 1.0 / r),
                    (SynapseKind::Delta, false) => {
                        v.push(("tau", full(l.tau_m_ms * 1e-3)));
                        v.push(("v_leak", full(l.e_l_mv)));
                        (if spiking { "LIF" } else { "LI" }, v, l.tau_m_ms / (r * dt))
                    }
                    (SynapseKind::Exponential, false) => {
                        v.push(("tau_mem", full(l.tau_m_ms * 1e-3)));
                        v.push(("tau_syn", full(l.tau_syn_exc_ms * 1e-3)));
                        v.push(("v_leak", full(l.e_l_mv)));
                        v.push(("w_in", full(1.0)));
                        (
                            if spiking { "CubaLIF" } else { "CubaLI" },
                            v,
                            l.tau_syn_exc_ms / dt,
                        )
                    }
                    (SynapseKind::Exponential, true) => {
                        problems.push(format!("population '{}': exponential synapses on a non-leaky membrane have no NIR node", p.name));
                        continue;
                    }
                }
            }
            NeuronModel::User(u) => {
                problems.push(format!(
                    "population '{}': user-written model '{}' is equations NIR has no node for (NIR's nodes are fixed neuron types: LIF, CubaLIF, IF, LI, ...)",
                    p.name, u.model
                ));
                continue;
            }
            m => {
                problems.push(format!(
                    "population '{}': {} neurons have no NIR equivalent",
                    p.name,
                    m.key()
                ));
                continue;
            }
        };
        if let Some(m) = non_finite(&params, factor) {
            problems.push(format!("population '{}': {m}", p.name));
            continue;
        }
        to_nir.insert(&p.name, factor);
        let node = Node {
            kind: kind.into(),
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            graph: None,
        };
        graph.nodes.insert(p.name.clone(), node);
    }
    for pr in &net.projections {
        let mut why = vec![];
        if pr.plasticity.is_some() {
            why.push("plasticity");
        }
        let one_step = pr.delay_ms.is_none_or(|d| d.constant() == Some(dt))
            && !matches!(&pr.connect, crate::model::Connect::List { delays_ms: Some(d), .. } if d.iter().any(|&x| x != dt));
        if !one_step {
            why.push("delays other than one step");
        }
        if !why.is_empty() {
            problems.push(format!("projection '{}': {}", pr.label(), why.join(", ")));
        }
    }
    for (i, inp) in net.inputs.iter().enumerate() {
        let what = match inp {
            crate::model::Input::Noise(x) => format!("noise into '{}'", x.target),
            crate::model::Input::Current(x) => format!("current into '{}'", x.target),
            crate::model::Input::Poisson(x) => format!("poisson into '{}'", x.target),
        };
        problems.push(format!("inputs[{i}] ({what}): not exported"));
    }
    for a in &net.astrocytes {
        problems.push(format!("astrocyte '{}': NIR has no astrocytes", a.name));
    }
    if !problems.is_empty() {
        return Err(Error::Nir(format!(
            "cannot export to NIR: {}",
            problems.join("; ")
        )));
    }
    let built = build(net, net.seed)?;
    let mut has_out = vec![false; net.populations.len()];
    for (pr, bp) in net.projections.iter().zip(built.projs.iter()) {
        let (pre, post) = (&built.pops[bp.pre], &built.pops[bp.post]);
        has_out[bp.pre] = true;
        let (rows, cols) = (post.size as usize, pre.size as usize);
        let unit = (2.0f64).powi(-post.scale_log2[bp.receptor]) * to_nir[post.name.as_str()];
        let mut w = vec![0.0f64; rows * cols];
        for j in 0..cols {
            for s in bp.row_ptr[j] as usize..bp.row_ptr[j + 1] as usize {
                w[bp.targets[s] as usize * cols + j] += bp.wfix.get(s) as f64 * unit;
            }
        }
        // Written as float32: finite f64 weights beyond ±3.4e38 overflow too.
        if let Some(i) = w.iter().position(|&x| !(x as f32).is_finite()) {
            return Err(Error::Nir(format!(
                "cannot export to NIR: projection '{}': the NIR weight [{}, {}] would be {:?}, not a finite float32",
                pr.label(),
                i / cols,
                i % cols,
                w[i]
            )));
        }
        let name = format!("{}.weight", pr.label());
        if graph.nodes.contains_key(&name) {
            return Err(Error::Nir(format!(
                "cannot export to NIR: node name '{name}' is used twice"
            )));
        }
        graph.nodes.insert(
            name.clone(),
            Node {
                kind: "Linear".into(),
                params: [("weight".to_string(), f32s(&[rows, cols], w))].into(),
                graph: None,
            },
        );
        graph.edges.push([pr.from.clone(), name.clone()]);
        graph.edges.push([name, pr.to.clone()]);
    }
    for (i, p) in net.populations.iter().enumerate() {
        if !has_out[i] && !p.model.is_source() {
            let name = format!("{}.output", p.name);
            graph.nodes.insert(
                name.clone(),
                Node {
                    kind: "Output".into(),
                    params: [("shape".to_string(), Value::i64(&[1], vec![p.size as i64]))].into(),
                    graph: None,
                },
            );
            graph.edges.push([p.name.clone(), name]);
        }
    }
    Ok(Nir {
        version: VERSION.into(),
        graph,
    })
}
