//! NIR graph → astroglia [`Network`]: neurons become LIF populations, paths of
//! stateless nodes between them become explicit projections (see the module
//! docs of [`crate::nir`] for the discretisation).
use super::graph::{Nir, Node, Value};
use super::linear::{Entry, compose, merge, node_map};
use crate::error::{Error, Result};
use crate::model::{
    Connect, CurrentInput, Input, LifParams, Network, NeuronModel, Population, Projection,
    Receptor, SpikeSourceParams, StateMonitor, SynapseKind,
};
use std::collections::BTreeMap;

/// Options of [`to_model`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// Integration step in ms (NIR files carry none; default 1 ms).
    pub dt_ms: f64,
    /// The model's default duration in ms (default 1000).
    pub duration_ms: f64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dt_ms: 1.0,
            duration_ms: 1000.0,
        }
    }
}

/// The result of [`to_model`]: the network plus what a caller needs to drive it.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The runnable network (its `nir` field holds the original graph).
    pub network: Network,
    /// Spike-source populations made from the graph's `Input` nodes, with their NIR shapes.
    pub inputs: Vec<(String, Vec<usize>)>,
    /// `(Output node, population it records)`.
    pub outputs: Vec<(String, String)>,
    /// Things accepted leniently (e.g. an Output shape that does not match).
    pub warnings: Vec<String>,
}

/// What a flattened node is.
#[derive(Clone)]
enum Role<'a> {
    /// Top-level Input: a spike-source population.
    Source(Vec<usize>),
    /// A neuron node: a population.
    Neuron(&'a Node),
    /// A stateless node.
    Stateless(&'a Node),
    /// The Input/Output of a nested graph: passes its input through.
    Identity,
    /// Top-level Output.
    Output(Vec<usize>),
}

struct Flat<'a> {
    roles: BTreeMap<String, Role<'a>>,
    edges: Vec<(String, String)>,
}

/// Flattens nested graphs: inner nodes are named `outer.inner`; edges into a
/// subgraph go to its Input node, edges out of it leave from its Output node.
fn flatten<'a>(
    g: &'a super::Graph,
    prefix: &str,
    top: bool,
    flat: &mut Flat<'a>,
) -> std::result::Result<(), String> {
    let full = |n: &str| {
        if prefix.is_empty() {
            n.to_string()
        } else {
            format!("{prefix}.{n}")
        }
    };
    // Endpoint names an outer edge uses for a subgraph node: (into, out of).
    let mut ends: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for (name, node) in &g.nodes {
        let f = full(name);
        if let Some(sub) = &node.graph {
            flatten(sub, &f, false, flat)?;
            let pick = |kind: &str| -> std::result::Result<String, String> {
                let v: Vec<&String> = sub
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.kind == kind)
                    .map(|(k, _)| k)
                    .collect();
                match v.as_slice() {
                    [one] => Ok(format!("{f}.{one}")),
                    _ => Err(format!(
                        "subgraph '{f}' needs exactly one {kind} node, found {}",
                        v.len()
                    )),
                }
            };
            ends.insert(name, (pick("Input")?, pick("Output")?));
            continue;
        }
        let shape = || {
            node.params
                .get("shape")
                .and_then(Value::ints)
                .map(|s| s.iter().map(|&x| x.max(0) as usize).collect())
                .unwrap_or_default()
        };
        let role = match node.kind.as_str() {
            "Input" if top => Role::Source(shape()),
            "Output" if top => Role::Output(shape()),
            "Input" | "Output" => Role::Identity,
            "I" | "IF" | "LI" | "LIF" | "CubaLI" | "CubaLIF" | "Threshold" => Role::Neuron(node),
            _ => Role::Stateless(node),
        };
        if flat.roles.insert(f.clone(), role).is_some() {
            return Err(format!("flattened node name '{f}' is used twice"));
        }
    }
    for [s, t] in &g.edges {
        let s = ends
            .get(s.as_str())
            .map(|e| e.1.clone())
            .unwrap_or_else(|| full(s));
        let t = ends
            .get(t.as_str())
            .map(|e| e.0.clone())
            .unwrap_or_else(|| full(t));
        flat.edges.push((s, t));
    }
    Ok(())
}

/// Engine parameters of a neuron node: (LIF params, weight factor, bias gain).
/// A spike through NIR weight `w` becomes an engine weight `w · factor`; a
/// constant NIR input `b` becomes a current `b · gain`.
fn neuron_params(node: &Node, dt_ms: f64) -> std::result::Result<(LifParams, f64, f64), String> {
    let one = |k: &str, default: Option<f64>| -> std::result::Result<f64, String> {
        let Some(v) = node.params.get(k).and_then(Value::to_f64) else {
            return default.ok_or(format!("'{k}' is missing"));
        };
        let first = *v.first().ok_or(format!("'{k}' is empty"))?;
        if v.iter().any(|x| x.to_bits() != first.to_bits()) {
            return Err(format!(
                "'{k}' differs between neurons; astroglia populations share one value (split the node)"
            ));
        }
        Ok(first)
    };
    if node.kind == "Threshold" {
        return Err("Threshold nodes have no astroglia equivalent (a stateless threshold of a continuous value; astroglia transmits spikes only)".into());
    }
    let r = one("r", None)?;
    if !(r > 0.0 && r.is_finite()) {
        return Err(format!("r must be positive and finite, got {r}"));
    }
    let mut p = LifParams {
        t_ref_ms: 0.0,
        e_l_mv: 0.0,
        v_reset_mv: 0.0,
        v_th_mv: f64::INFINITY,
        synapse: SynapseKind::Delta,
        ..LifParams::default()
    };
    let kind = node.kind.as_str();
    if kind.ends_with('F') {
        p.v_th_mv = one("v_threshold", None)?;
        p.v_reset_mv = one("v_reset", Some(0.0))?;
    }
    if kind != "I" && kind != "IF" {
        p.e_l_mv = one("v_leak", None)?;
    }
    let (factor, gain) = match kind {
        "I" | "IF" => {
            // No time constant: integrated per step, v += r · input.
            p.tau_m_ms = f64::INFINITY;
            p.c_m_pf = dt_ms / r;
            (r, 1.0)
        }
        "LI" | "LIF" => {
            let tau = one("tau", None)? * 1e3;
            p.tau_m_ms = tau;
            p.c_m_pf = tau / r;
            (r * dt_ms / tau, 1.0)
        }
        "CubaLI" | "CubaLIF" => {
            let tau_mem = one("tau_mem", None)? * 1e3;
            let tau_syn = one("tau_syn", None)? * 1e3;
            let w_in = one("w_in", Some(1.0))?;
            p.tau_m_ms = tau_mem;
            p.c_m_pf = tau_mem / r;
            p.synapse = SynapseKind::Exponential;
            p.tau_syn_exc_ms = tau_syn;
            p.tau_syn_inh_ms = tau_syn;
            (w_in * dt_ms / tau_syn, w_in)
        }
        other => {
            return Err(format!(
                "{other} nodes have no astroglia equivalent (a stateless threshold of a continuous value; astroglia transmits spikes only)"
            ));
        }
    };
    Ok((p, factor, gain))
}

/// Converts a NIR graph into a runnable network with step `opts.dt_ms`.
///
/// Every `Input` becomes a spike-source population (no spikes: set them with
/// `spike_source` times in the model or `Backend::set_spike_source`), every
/// neuron node a LIF population, and every path of stateless nodes between two
/// populations one explicit projection. Errors name the node and what is wrong.
///
/// ```no_run
/// use astroglia::nir::{read, to_model, ImportOptions};
/// let nir = read("lif_norse.nir").unwrap();
/// let imported = to_model(&nir, &ImportOptions { dt_ms: 0.1, ..Default::default() }).unwrap();
/// assert_eq!(imported.inputs[0].0, "input");
/// ```
pub fn to_model(nir: &Nir, opts: &ImportOptions) -> Result<Imported> {
    let bad = |m: String| Error::Invalid(format!("NIR import: {m}"));
    super::read::check(&nir.graph, "/node").map_err(bad)?;
    if !(opts.dt_ms > 0.0 && opts.dt_ms.is_finite()) {
        return Err(bad(format!("dt_ms must be positive, got {}", opts.dt_ms)));
    }
    let dt_s = opts.dt_ms * 1e-3;
    let mut flat = Flat {
        roles: BTreeMap::new(),
        edges: vec![],
    };
    flatten(&nir.graph, "", true, &mut flat).map_err(bad)?;
    let mut net = Network::new(opts.dt_ms, opts.duration_ms);
    let mut out = Imported {
        network: Network::new(opts.dt_ms, opts.duration_ms),
        inputs: vec![],
        outputs: vec![],
        warnings: vec![],
    };
    // Populations, in flattened-name order.
    let mut pops: BTreeMap<String, (Vec<usize>, f64, f64)> = BTreeMap::new();
    for (name, role) in &flat.roles {
        match role {
            Role::Source(shape) => {
                let size: usize = shape.iter().product();
                net.add_population(Population::new(
                    name,
                    size as u32,
                    NeuronModel::SpikeSource(SpikeSourceParams::default()),
                ));
                out.inputs.push((name.clone(), shape.clone()));
                pops.insert(name.clone(), (shape.clone(), 0.0, 0.0));
            }
            Role::Neuron(node) => {
                let (p, factor, gain) = neuron_params(node, opts.dt_ms)
                    .map_err(|m| bad(format!("node '{name}' ({}): {m}", node.kind)))?;
                let shape: Vec<usize> = node
                    .params
                    .values()
                    .next()
                    .map(|v| v.shape().to_vec())
                    .unwrap_or_default();
                let size: usize = shape.iter().product();
                net.add_population(
                    Population::new(name, size as u32, NeuronModel::Lif(p)).init("v", 0.0),
                );
                pops.insert(name.clone(), (shape, factor, gain));
            }
            _ => {}
        }
    }
    // Walks from a population (or a bias) through stateless nodes.
    type Reach = BTreeMap<String, Vec<Vec<Entry>>>;
    #[allow(clippy::too_many_arguments)]
    fn walk<'a>(
        at: &str,
        shape: &[usize],
        rows: &[Vec<Entry>],
        flat: &Flat<'a>,
        dt_s: f64,
        stack: &mut Vec<String>,
        reach: &mut Reach,
        succ: &dyn Fn(&str) -> Vec<String>,
    ) -> std::result::Result<(), String> {
        for t in succ(at) {
            match &flat.roles[&t] {
                Role::Neuron(_) | Role::Source(_) => {
                    let acc = reach
                        .entry(t.clone())
                        .or_insert_with(|| vec![vec![]; rows.len()]);
                    for (a, r) in acc.iter_mut().zip(rows) {
                        a.extend_from_slice(r);
                    }
                }
                Role::Output(_) => {}
                Role::Identity => {
                    if stack.contains(&t) {
                        return Err(format!("cycle of stateless nodes through '{t}'"));
                    }
                    stack.push(t.clone());
                    walk(&t, shape, rows, flat, dt_s, stack, reach, succ)?;
                    stack.pop();
                }
                Role::Stateless(node) => {
                    if stack.contains(&t) {
                        return Err(format!(
                            "cycle of stateless nodes through '{t}' (no neuron breaks it)"
                        ));
                    }
                    let m = node_map(node, shape, dt_s)
                        .map_err(|e| format!("node '{t}' ({}): {e}", node.kind))?;
                    let next = compose(rows, &m.cols);
                    stack.push(t.clone());
                    walk(&t, &m.shape, &next, flat, dt_s, stack, reach, succ)?;
                    stack.pop();
                }
            }
        }
        Ok(())
    }
    let succ_v = |n: &str| {
        flat.edges
            .iter()
            .filter(|e| e.0 == n)
            .map(|e| e.1.clone())
            .collect::<Vec<_>>()
    };
    let mut biases: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (name, (shape, _, _)) in &pops {
        let n: usize = shape.iter().product();
        let rows: Vec<Vec<Entry>> = (0..n as u32).map(|j| vec![(j, 1.0, 0)]).collect();
        if let Some(Role::Neuron(node)) = flat.roles.get(name) {
            if matches!(node.kind.as_str(), "LI" | "CubaLI" | "I") {
                if let Some(t) = succ_v(name)
                    .iter()
                    .find(|t| !matches!(flat.roles[*t], Role::Output(_)))
                {
                    return Err(bad(format!(
                        "node '{name}' ({}) feeds '{t}', but it outputs its voltage, which astroglia cannot transmit (only spikes); only an Output may follow it",
                        node.kind
                    )));
                }
            }
        }
        let mut reach = Reach::new();
        walk(
            name,
            shape,
            &rows,
            &flat,
            dt_s,
            &mut vec![],
            &mut reach,
            &succ_v,
        )
        .map_err(bad)?;
        for (target, rows) in reach {
            let (tshape, factor, _) = &pops[&target];
            if matches!(flat.roles[&target], Role::Source(_)) {
                return Err(bad(format!("'{name}' feeds the Input node '{target}'")));
            }
            let want: usize = tshape.iter().product();
            let (mut pre, mut post, mut w, mut d) = (vec![], vec![], vec![], vec![]);
            let mut delayed = false;
            for (j, row) in rows.into_iter().enumerate() {
                for (o, x, e) in merge(row) {
                    if o as usize >= want {
                        return Err(bad(format!(
                            "the path '{name}' -> '{target}' produces more than the {want} elements of '{target}' (shape {tshape:?})"
                        )));
                    }
                    pre.push(j as u32);
                    post.push(o);
                    w.push(x * factor);
                    d.push((1 + e) as f64 * opts.dt_ms);
                    delayed |= e > 0;
                }
            }
            let connect = Connect::List {
                pre,
                post,
                weights: Some(w),
                delays_ms: delayed.then_some(d),
            };
            net.add_projection(Projection::new(name, &target, connect).receptor(Receptor::Exc));
        }
    }
    // Biases: each stateless node's constant output, carried to the populations.
    for (name, role) in &flat.roles {
        let Role::Stateless(node) = role else {
            continue;
        };
        if !node.params.contains_key("bias") {
            continue;
        }
        // The bias only exists once the node's input shape is known: find it from the
        // population paths (a bias on an unreachable node never acts).
        let Some(shape) = input_shape(name, &flat, &pops, dt_s) else {
            continue;
        };
        let m = node_map(node, &shape, dt_s).map_err(|e| bad(format!("node '{name}': {e}")))?;
        let Some(b) = m.bias.filter(|b| b.iter().any(|&x| x != 0.0)) else {
            continue;
        };
        let rows = vec![
            b.iter()
                .enumerate()
                .filter(|&(_, &x)| x != 0.0)
                .map(|(k, &x)| (k as u32, x, 0))
                .collect(),
        ];
        let mut reach = Reach::new();
        walk(
            name,
            &m.shape,
            &rows,
            &flat,
            dt_s,
            &mut vec![name.clone()],
            &mut reach,
            &succ_v,
        )
        .map_err(bad)?;
        for (target, rows) in reach {
            let n: usize = pops[&target].0.iter().product();
            let acc = biases.entry(target).or_insert_with(|| vec![0.0; n]);
            for (o, x, _) in merge(rows.into_iter().next().unwrap_or_default()) {
                acc[o as usize] += x;
            }
        }
    }
    for (target, b) in biases {
        let gain = pops[&target].2;
        for (i, x) in b.iter().enumerate().filter(|&(_, &x)| x != 0.0) {
            net.add_input(Input::Current(CurrentInput {
                target: target.clone(),
                ids: Some(vec![i as u32]),
                amplitude: x * gain,
                start_ms: 0.0,
                stop_ms: None,
            }));
        }
    }
    // Outputs: the population feeding each Output (through nested-graph ports).
    for (name, role) in &flat.roles {
        let Role::Output(shape) = role else { continue };
        let mut from: Vec<&str> = flat
            .edges
            .iter()
            .filter(|e| &e.1 == name)
            .map(|e| e.0.as_str())
            .collect();
        let mut hops = 0;
        while let [one] = from.as_slice() {
            if !matches!(flat.roles.get(*one), Some(Role::Identity)) || hops > flat.roles.len() {
                break;
            }
            from = flat
                .edges
                .iter()
                .filter(|e| e.1 == *one)
                .map(|e| e.0.as_str())
                .collect();
            hops += 1;
        }
        let [src] = from.as_slice() else {
            out.warnings.push(format!(
                "Output '{name}' is not fed by exactly one node; it is not recorded"
            ));
            continue;
        };
        let Some((pshape, _, _)) = pops.get(*src) else {
            out.warnings.push(format!("Output '{name}' follows the stateless node '{src}'; astroglia records populations only, so it is not recorded"));
            continue;
        };
        if pshape != shape {
            out.warnings.push(format!("Output '{name}' has shape {shape:?} but '{src}' has shape {pshape:?}; recording '{src}' as it is"));
        }
        if let Some(Role::Neuron(n)) = flat.roles.get(*src) {
            if matches!(n.kind.as_str(), "LI" | "CubaLI" | "I") {
                net.monitors.state.push(StateMonitor {
                    population: src.to_string(),
                    var: "v".into(),
                    ids: None,
                    every: 1,
                });
            }
        }
        out.outputs.push((name.clone(), src.to_string()));
    }
    net.name = Some("nir".into());
    net.nir = Some(super::source::source_of(nir));
    net.validate()
        .map_err(|e| bad(format!("the converted network is invalid: {e}")))?;
    out.network = net;
    Ok(out)
}

/// The input shape of a stateless node, found by walking forward from each
/// population until the node is reached.
fn input_shape(
    target: &str,
    flat: &Flat<'_>,
    pops: &BTreeMap<String, (Vec<usize>, f64, f64)>,
    dt_s: f64,
) -> Option<Vec<usize>> {
    fn go(
        at: &str,
        shape: &[usize],
        target: &str,
        flat: &Flat<'_>,
        dt_s: f64,
        depth: usize,
    ) -> Option<Vec<usize>> {
        if depth > flat.roles.len() {
            return None;
        }
        for (_, t) in flat.edges.iter().filter(|e| e.0 == at) {
            if t == target {
                return Some(shape.to_vec());
            }
            let next = match &flat.roles[t] {
                Role::Identity => shape.to_vec(),
                Role::Stateless(n) => node_map(n, shape, dt_s).ok()?.shape,
                _ => continue,
            };
            if let Some(s) = go(t, &next, target, flat, dt_s, depth + 1) {
                return Some(s);
            }
        }
        None
    }
    pops.iter()
        .find_map(|(p, (shape, _, _))| go(p, shape, target, flat, dt_s, 0))
}
