//! The in-memory NIR graph: nodes with their datasets kept exactly as stored
//! (dtype, shape and bits), edges, nested graphs, and the per-type schema check.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole `.nir` file: the format version string and the top-level graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nir {
    /// The file's `/version` (e.g. `0.1.1`, `0.2.0`, `1.0.8`).
    pub version: String,
    /// The top-level graph (`/node`).
    pub graph: Graph,
}

/// A graph: named nodes and directed edges `[source, target]` between them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graph {
    /// Nodes by name (names are arbitrary strings such as `0`, `lif1.lif`).
    pub nodes: BTreeMap<String, Node>,
    /// Edges in file order; cycles are allowed (recurrence).
    pub edges: Vec<[String; 2]>,
}

/// One node: its NIR type name and its datasets, or a nested graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The primitive's class name (`LIF`, `Affine`, ..., `NIRGraph`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Every dataset of the node group except `type`, as stored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
    /// The nested graph of a `NIRGraph` node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Graph>,
}

/// A dataset value with its stored dtype and shape (`[]` for a 0-d scalar).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dtype", rename_all = "lowercase", deny_unknown_fields)]
pub enum Value {
    /// float32 array.
    F32 {
        /// Shape (row-major).
        shape: Vec<usize>,
        /// Elements.
        data: Vec<f32>,
    },
    /// float64 array.
    F64 {
        /// Shape (row-major).
        shape: Vec<usize>,
        /// Elements.
        data: Vec<f64>,
    },
    /// int64 array (shapes, strides, dims).
    I64 {
        /// Shape (row-major).
        shape: Vec<usize>,
        /// Elements.
        data: Vec<i64>,
    },
    /// A scalar UTF-8 string (e.g. a convolution's `padding = "same"`).
    Str {
        /// The string.
        value: String,
    },
}

impl Value {
    /// A float32 array.
    pub fn f32(shape: &[usize], data: Vec<f32>) -> Self {
        Value::F32 {
            shape: shape.to_vec(),
            data,
        }
    }

    /// A float64 array.
    pub fn f64(shape: &[usize], data: Vec<f64>) -> Self {
        Value::F64 {
            shape: shape.to_vec(),
            data,
        }
    }

    /// An int64 array.
    pub fn i64(shape: &[usize], data: Vec<i64>) -> Self {
        Value::I64 {
            shape: shape.to_vec(),
            data,
        }
    }

    /// The shape (`[]` for scalars and strings).
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::F32 { shape, .. } | Value::F64 { shape, .. } | Value::I64 { shape, .. } => shape,
            Value::Str { .. } => &[],
        }
    }

    /// The elements as f64 (exact for f32; ints converted), `None` for a string.
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        match self {
            Value::F32 { data, .. } => Some(data.iter().map(|&x| x as f64).collect()),
            Value::F64 { data, .. } => Some(data.clone()),
            Value::I64 { data, .. } => Some(data.iter().map(|&x| x as f64).collect()),
            Value::Str { .. } => None,
        }
    }

    /// The elements of an int64 dataset.
    pub fn ints(&self) -> Option<&[i64]> {
        match self {
            Value::I64 { data, .. } => Some(data),
            _ => None,
        }
    }

    /// Short description for messages: `float32 [38, 12]`.
    pub fn describe(&self) -> String {
        match self {
            Value::F32 { shape, .. } => format!("float32 {shape:?}"),
            Value::F64 { shape, .. } => format!("float64 {shape:?}"),
            Value::I64 { shape, .. } => format!("int64 {shape:?}"),
            Value::Str { value } => format!("string {value:?}"),
        }
    }

    /// The number of elements stored (1 for a string).
    pub fn elements(&self) -> usize {
        match self {
            Value::F32 { data, .. } => data.len(),
            Value::F64 { data, .. } => data.len(),
            Value::I64 { data, .. } => data.len(),
            Value::Str { .. } => 1,
        }
    }

    /// Bitwise equality (NaN equals itself, -0 differs from 0): what "round-trips
    /// bit for bit" means.
    pub fn same_bits(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::F32 { shape: a, data: x }, Value::F32 { shape: b, data: y }) => {
                a == b
                    && x.len() == y.len()
                    && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            (Value::F64 { shape: a, data: x }, Value::F64 { shape: b, data: y }) => {
                a == b
                    && x.len() == y.len()
                    && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            _ => self == other,
        }
    }
}

impl Graph {
    /// Bitwise equality of two graphs (see [`Value::same_bits`]); edges compared in order.
    pub fn same_bits(&self, other: &Graph) -> bool {
        self.edges == other.edges
            && self.nodes.len() == other.nodes.len()
            && self
                .nodes
                .iter()
                .zip(&other.nodes)
                .all(|((n1, a), (n2, b))| {
                    n1 == n2
                        && a.kind == b.kind
                        && a.params.len() == b.params.len()
                        && a.params
                            .iter()
                            .zip(&b.params)
                            .all(|((k1, v1), (k2, v2))| k1 == k2 && v1.same_bits(v2))
                        && match (&a.graph, &b.graph) {
                            (Some(g), Some(h)) => g.same_bits(h),
                            (None, None) => true,
                            _ => false,
                        }
                })
    }
}

/// Node types this crate knows, with (required, optional) datasets.
pub const NODE_TYPES: &[(&str, &[&str], &[&str])] = &[
    ("Input", &["shape"], &[]),
    ("Output", &["shape"], &[]),
    ("Affine", &["weight", "bias"], &[]),
    ("Linear", &["weight"], &[]),
    ("Scale", &["scale"], &[]),
    (
        "Conv1d",
        &["weight", "stride", "padding", "dilation", "groups", "bias"],
        &["input_shape"],
    ),
    (
        "Conv2d",
        &["weight", "stride", "padding", "dilation", "groups", "bias"],
        &["input_shape"],
    ),
    ("SumPool2d", &["kernel_size", "stride", "padding"], &[]),
    ("AvgPool2d", &["kernel_size", "stride", "padding"], &[]),
    ("Flatten", &["start_dim", "end_dim"], &["input_type"]),
    ("Delay", &["delay"], &[]),
    ("Threshold", &["threshold"], &[]),
    ("I", &["r"], &[]),
    ("IF", &["r", "v_threshold"], &["v_reset"]),
    ("LI", &["tau", "r", "v_leak"], &[]),
    ("LIF", &["tau", "r", "v_leak", "v_threshold"], &["v_reset"]),
    ("CubaLI", &["tau_syn", "tau_mem", "r", "v_leak"], &["w_in"]),
    (
        "CubaLIF",
        &["tau_syn", "tau_mem", "r", "v_leak", "v_threshold"],
        &["v_reset", "w_in"],
    ),
    ("NIRGraph", &[], &[]),
];

/// Whether `kind` is a neuron (stateful, per-neuron parameters of one shape).
pub fn is_neuron(kind: &str) -> bool {
    matches!(
        kind,
        "I" | "IF" | "LI" | "LIF" | "CubaLI" | "CubaLIF" | "Threshold" | "Delay"
    )
}

/// Checks one node's datasets against [`NODE_TYPES`]: every required dataset
/// present, floats where floats are expected, matrices and per-neuron arrays of
/// consistent shapes. `at` is the node's HDF5 path, used in every message.
pub fn check_node(at: &str, node: &Node, problems: &mut Vec<String>) {
    let Some((_, required, optional)) = NODE_TYPES.iter().find(|t| t.0 == node.kind) else {
        let known: Vec<&str> = NODE_TYPES.iter().map(|t| t.0).collect();
        problems.push(format!(
            "{at}: unknown node type '{}' (known: {})",
            node.kind,
            known.join(", ")
        ));
        return;
    };
    for r in *required {
        if !node.params.contains_key(*r) {
            problems.push(format!("{at}: {} node has no '{r}' dataset", node.kind));
        }
    }
    for (k, v) in &node.params {
        // Graphs built in code or deserialised may disagree; files never do.
        let count = v.shape().iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if count != Some(v.elements()) {
            problems.push(format!(
                "{at}/{k}: shape {:?} does not hold the {} elements stored",
                v.shape(),
                v.elements()
            ));
        }
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            problems.push(format!(
                "{at}/{k}: unexpected dataset for a {} node",
                node.kind
            ));
        }
        let is_float = matches!(v, Value::F32 { .. } | Value::F64 { .. });
        let int_param = matches!(
            k.as_str(),
            "shape"
                | "stride"
                | "padding"
                | "dilation"
                | "groups"
                | "input_shape"
                | "kernel_size"
                | "start_dim"
                | "end_dim"
                | "input_type"
        );
        if int_param {
            let ok = matches!(v, Value::I64 { .. })
                || (k == "padding" && matches!(v, Value::Str { .. }));
            if !ok {
                problems.push(format!(
                    "{at}/{k}: expected integers, found {}",
                    v.describe()
                ));
            }
        } else if !is_float {
            problems.push(format!(
                "{at}/{k}: expected a float array, found {}",
                v.describe()
            ));
        }
    }
    let shape = |k: &str| node.params.get(k).map(|v| v.shape().to_vec());
    let mut expect = |k: &str, want: &dyn Fn(&[usize]) -> bool, what: &str| {
        if let Some(s) = shape(k) {
            if !want(&s) {
                problems.push(format!("{at}/{k}: expected {what}, found shape {s:?}"));
            }
        }
    };
    match node.kind.as_str() {
        "Affine" | "Linear" => {
            expect("weight", &|s| s.len() == 2, "a 2-d matrix (out, in)");
            if let Some(w) = shape("weight").filter(|s| s.len() == 2) {
                expect(
                    "bias",
                    &|s| s == [w[0]],
                    &format!("shape [{}] (the weight's rows)", w[0]),
                );
            }
        }
        "Conv1d" | "Conv2d" => {
            let d = if node.kind == "Conv1d" { 3 } else { 4 };
            expect(
                "weight",
                &|s| s.len() == d,
                &format!("a {d}-d kernel (C_out, C_in, ...)"),
            );
            if let Some(w) = shape("weight").filter(|s| s.len() == d) {
                expect(
                    "bias",
                    &|s| s == [w[0]],
                    &format!("shape [{}] (C_out)", w[0]),
                );
            }
        }
        "Input" | "Output" => expect("shape", &|s| s.len() == 1, "a 1-d int64 shape"),
        k if is_neuron(k) => {
            let mut first: Option<(&String, Vec<usize>)> = None;
            for (name, v) in &node.params {
                match &first {
                    None => first = Some((name, v.shape().to_vec())),
                    Some((n0, s0)) if s0.as_slice() != v.shape() => problems.push(format!(
                        "{at}/{name}: shape {:?} differs from {n0}'s {:?} (every neuron parameter has the node's shape)",
                        v.shape(),
                        s0
                    )),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
