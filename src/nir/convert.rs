//! NIR graph → astroglia [`Network`]: neurons become LIF populations, paths of
//! stateless nodes between them become explicit projections (see the module
//! docs of [`crate::nir`] for the discretisation).
use super::graph::{Nir, Node, Value};
use super::linear::{Entry, compose, elements, merge, node_map};
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
        let role = match node.kind.as_str() {
            "Input" if top => {
                Role::Source(source_shape(node).map_err(|e| format!("node '{f}' (Input): {e}"))?)
            }
            "Output" if top => Role::Output(
                node.params
                    .get("shape")
                    .and_then(Value::ints)
                    .map(|s| s.iter().map(|&x| x.max(0) as usize).collect())
                    .unwrap_or_default(),
            ),
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

/// The shape of a top-level Input, whose elements become spike sources.
fn source_shape(node: &Node) -> std::result::Result<Vec<usize>, String> {
    let dims = node
        .params
        .get("shape")
        .and_then(Value::ints)
        .unwrap_or_default();
    if dims.iter().any(|&d| d < 0) {
        return Err(format!("shape {dims:?} has a negative dimension"));
    }
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    elements(&shape)?;
    Ok(shape)
}

/// Refuses NaN and infinite parameters of every node, naming the node, the
/// parameter and the element.
fn check_finite(flat: &Flat<'_>) -> std::result::Result<(), String> {
    for (name, role) in &flat.roles {
        let (Role::Neuron(node) | Role::Stateless(node)) = role else {
            continue;
        };
        for (k, v) in &node.params {
            let Some(x) = v.to_f64() else { continue };
            if let Some(i) = x.iter().position(|x| !x.is_finite()) {
                return Err(format!(
                    "node '{name}' ({}): {k}{} = {} is not finite",
                    node.kind,
                    index(v.shape(), i),
                    x[i]
                ));
            }
        }
    }
    Ok(())
}

/// `[i, j, ...]` of flat element `i` in `shape` (empty for a scalar).
fn index(shape: &[usize], mut i: usize) -> String {
    if shape.is_empty() {
        return String::new();
    }
    let mut at = vec![0; shape.len()];
    for (a, &d) in at.iter_mut().zip(shape).rev() {
        *a = i % d.max(1);
        i /= d.max(1);
    }
    format!("{at:?}")
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
    let positive = |k: &str| {
        let x = one(k, None)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(format!("{k} = {x} must be > 0"))
        }
    };
    let r = positive("r")?;
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
            let tau = positive("tau")? * 1e3;
            p.tau_m_ms = tau;
            p.c_m_pf = tau / r;
            (r * dt_ms / tau, 1.0)
        }
        "CubaLI" | "CubaLIF" => {
            let tau_mem = positive("tau_mem")? * 1e3;
            let tau_syn = positive("tau_syn")? * 1e3;
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
    if !(p.v_reset_mv < p.v_th_mv) {
        return Err(format!(
            "v_reset = {} must be below v_threshold = {}",
            p.v_reset_mv, p.v_th_mv
        ));
    }
    representable(node, &p, factor, gain)?;
    Ok((p, factor, gain))
}

/// Refuses parameters that are each valid but combine into engine values out
/// of range (`tau / r` underflowing to 0, `r · dt / tau` overflowing, ...),
/// naming the node's parameters since the engine's names mean nothing in NIR.
fn representable(
    node: &Node,
    p: &LifParams,
    factor: f64,
    gain: f64,
) -> std::result::Result<(), String> {
    let mut issues: Vec<String> = p
        .check()
        .into_iter()
        .map(|(field, m)| format!("{field} {m}"))
        .collect();
    if !(factor.is_finite() && gain.is_finite()) {
        issues.push(format!(
            "a weight factor of {factor} and a bias gain of {gain}"
        ));
    }
    if issues.is_empty() {
        return Ok(());
    }
    let given: Vec<String> = node
        .params
        .iter()
        // Debug prints 1e300 where Display would print all 301 digits.
        .filter_map(|(k, v)| Some(format!("{k} = {:?}", v.to_f64()?.first()?)))
        .collect();
    Err(format!(
        "{} give values astroglia cannot represent: {}",
        given.join(", "),
        issues.join("; ")
    ))
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
    let bad = |m: String| Error::Nir(format!("NIR import: {m}"));
    super::read::check(&nir.graph, "/node").map_err(bad)?;
    if !(opts.dt_ms > 0.0 && opts.dt_ms.is_finite()) {
        return Err(bad(format!(
            "dt_ms = {} must be positive and finite",
            opts.dt_ms
        )));
    }
    let dt_s = opts.dt_ms * 1e-3;
    let mut flat = Flat {
        roles: BTreeMap::new(),
        edges: vec![],
    };
    flatten(&nir.graph, "", true, &mut flat).map_err(bad)?;
    check_finite(&flat).map_err(bad)?;
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
                let (param, shape) = node
                    .params
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str(), v.shape().to_vec()))
                    .unwrap_or_default();
                let size = elements(&shape)
                    .map_err(|e| bad(format!("node '{name}' ({}): {param}: {e}", node.kind)))?;
                net.add_population(
                    Population::new(name, size as u32, NeuronModel::Lif(p)).init("v", 0.0),
                );
                pops.insert(name.clone(), (shape, factor, gain));
            }
            _ => {}
        }
    }
    let succ = successors(&flat);
    let mut shapes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut biases: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (name, (shape, _, _)) in &pops {
        let n: usize = shape.iter().product();
        let rows: Vec<Vec<Entry>> = (0..n as u32).map(|j| vec![(j, 1.0, 0)]).collect();
        if let Some(Role::Neuron(node)) = flat.roles.get(name) {
            if matches!(node.kind.as_str(), "LI" | "CubaLI" | "I") {
                if let Some(t) = succ
                    .get(name.as_str())
                    .into_iter()
                    .flatten()
                    .find(|t| !matches!(flat.roles[**t], Role::Output(_)))
                {
                    return Err(bad(format!(
                        "node '{name}' ({}) feeds '{t}', but it outputs its voltage, which astroglia cannot transmit (only spikes); only an Output may follow it",
                        node.kind
                    )));
                }
            }
        }
        let reach =
            propagate(name, shape.clone(), rows, &flat, &succ, dt_s, &mut shapes).map_err(bad)?;
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
                    let weight = finite_product(x, *factor).map_err(|m| {
                        bad(format!("a weight from '{name}' into node '{target}': {m}"))
                    })?;
                    pre.push(j as u32);
                    post.push(o);
                    w.push(weight);
                    d.push((1.0 + e as f64) * opts.dt_ms);
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
        // The bias only exists once the node's input shape is known from the
        // population paths (a bias on an unreachable node never acts).
        let Some(shape) = shapes.get(name) else {
            continue;
        };
        let m = node_map(node, shape, dt_s)
            .map_err(|e| bad(format!("node '{name}' ({}): {e}", node.kind)))?;
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
        let reach = propagate(name, m.shape, rows, &flat, &succ, dt_s, &mut shapes).map_err(bad)?;
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
            let amplitude = finite_product(*x, gain)
                .map_err(|m| bad(format!("the bias into node '{target}'[{i}]: {m}")))?;
            net.add_input(Input::Current(CurrentInput {
                target: target.clone(),
                ids: Some(vec![i as u32]),
                amplitude,
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

/// `x · factor`, refused when it overflows (huge weights, or a tiny τ).
fn finite_product(x: f64, factor: f64) -> std::result::Result<f64, String> {
    let y = x * factor;
    if y.is_finite() {
        Ok(y)
    } else {
        Err(format!(
            "{x:?} (the weights on the way multiplied) times {factor:?} (from the node's parameters) is {y}"
        ))
    }
}

/// Successors of every flattened node, one per edge, in edge order.
type Succ<'f> = BTreeMap<&'f str, Vec<&'f str>>;

fn successors<'f>(flat: &'f Flat<'_>) -> Succ<'f> {
    let mut succ = Succ::new();
    for (s, t) in &flat.edges {
        succ.entry(s.as_str()).or_default().push(t.as_str());
    }
    succ
}

/// Per origin element, the entries it reaches in each population.
type Reach = BTreeMap<String, Vec<Vec<Entry>>>;

/// An input arriving at a stateless node: its shape and, per origin element,
/// its entries.
type Arrival = (Vec<usize>, Vec<Vec<Entry>>);

/// Carries `rows` (per origin element, the entries into the output of `from`,
/// of shape `shape`) through the stateless nodes after `from` to the
/// populations they reach, parallel paths summed. Each stateless node is
/// converted once, after all its inputs arrived (in topological order), so the
/// work is linear in nodes and edges however many paths there are. Notes the
/// input shape of every stateless node reached in `shapes` (the first one seen).
fn propagate(
    from: &str,
    shape: Vec<usize>,
    rows: Vec<Vec<Entry>>,
    flat: &Flat<'_>,
    succ: &Succ<'_>,
    dt_s: f64,
    shapes: &mut BTreeMap<String, Vec<usize>>,
) -> std::result::Result<Reach, String> {
    let order = topo_order(from, flat, succ)?;
    let mut pending: BTreeMap<&str, Arrival> = BTreeMap::new();
    let mut reach = Reach::new();
    deliver(from, (shape, rows), flat, succ, &mut pending, &mut reach)?;
    for t in order {
        let (shape, rows) = pending.remove(t).expect("reached nodes get an input");
        let out = match &flat.roles[t] {
            Role::Stateless(node) => {
                let m = node_map(node, &shape, dt_s)
                    .map_err(|e| format!("node '{t}' ({}): {e}", node.kind))?;
                (m.shape, compose(&rows, &m.cols))
            }
            _ => (shape.clone(), rows),
        };
        shapes.entry(t.to_string()).or_insert(shape);
        deliver(t, out, flat, succ, &mut pending, &mut reach)?;
    }
    Ok(reach)
}

/// Hands the output of `at` to each of its successors: populations collect it,
/// stateless nodes add it to their input (which must have the same shape).
fn deliver<'f>(
    at: &str,
    (shape, rows): Arrival,
    flat: &Flat<'_>,
    succ: &Succ<'f>,
    pending: &mut BTreeMap<&'f str, Arrival>,
    reach: &mut Reach,
) -> std::result::Result<(), String> {
    for &t in succ.get(at).into_iter().flatten() {
        match &flat.roles[t] {
            Role::Neuron(_) | Role::Source(_) => {
                let acc = reach
                    .entry(t.to_string())
                    .or_insert_with(|| vec![vec![]; rows.len()]);
                for (a, r) in acc.iter_mut().zip(&rows) {
                    a.extend_from_slice(r);
                }
            }
            Role::Output(_) => {}
            Role::Identity | Role::Stateless(_) => match pending.get_mut(t) {
                None => {
                    pending.insert(t, (shape.clone(), rows.clone()));
                }
                Some((s, _)) if *s != shape => {
                    return Err(format!(
                        "node '{t}' sums inputs of different shapes: {s:?}, and {shape:?} from '{at}'"
                    ));
                }
                Some((_, acc)) => {
                    for (a, r) in acc.iter_mut().zip(&rows) {
                        a.extend_from_slice(r);
                        *a = merge(std::mem::take(a));
                    }
                }
            },
        }
    }
    Ok(())
}

/// The stateless nodes reachable from `from` through stateless nodes only, in
/// topological order (`from` excluded); a cycle among them is an error, since no
/// neuron breaks it. Iterative, so long chains cannot overflow the stack.
fn topo_order<'f>(
    from: &'f str,
    flat: &Flat<'_>,
    succ: &Succ<'f>,
) -> std::result::Result<Vec<&'f str>, String> {
    let stateless = |t: &str| matches!(flat.roles[t], Role::Stateless(_) | Role::Identity);
    // false: on the current path; true: finished.
    let mut done: BTreeMap<&str, bool> = BTreeMap::from([(from, false)]);
    let mut post = vec![];
    let mut stack: Vec<(&str, usize)> = vec![(from, 0)];
    while let Some((at, i)) = stack.last_mut() {
        let at = *at;
        let next = succ.get(at).and_then(|v| v.get(*i)).copied();
        *i += 1;
        match next {
            None => {
                done.insert(at, true);
                post.push(at);
                stack.pop();
            }
            Some(t) if stateless(t) => match done.get(t) {
                Some(false) => {
                    return Err(format!(
                        "cycle of stateless nodes through '{t}' (no neuron breaks it)"
                    ));
                }
                Some(true) => {}
                None => {
                    done.insert(t, false);
                    stack.push((t, 0));
                }
            },
            Some(_) => {}
        }
    }
    post.pop(); // `from`, finished last
    post.reverse();
    Ok(post)
}
