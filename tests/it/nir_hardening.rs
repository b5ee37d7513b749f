//! NIR files built to break the reader and the importer: HDF5 link cycles and
//! deep nesting, exponentially many paths, huge shapes, invalid and non-finite
//! parameters. Each is refused (exit 2) naming the place in the file or the
//! node and parameter, or imported in linear time.
use astroglia::model::{LifParams, Network, NeuronModel, Population, Projection, SynapseKind};
use astroglia::nir::{self, Graph, Nir, Node, Value};
use std::path::{Path, PathBuf};
use std::process::Output;

fn node(kind: &str, params: Vec<(&str, Value)>) -> Node {
    Node {
        kind: kind.into(),
        params: params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        graph: None,
    }
}

fn shape(dims: &[i64]) -> Value {
    Value::i64(&[dims.len()], dims.to_vec())
}

fn lif(n: usize, tau: f32, r: f32) -> Node {
    let full = |x: f32| Value::f32(&[n], vec![x; n]);
    node(
        "LIF",
        vec![
            ("tau", full(tau)),
            ("r", full(r)),
            ("v_leak", full(0.0)),
            ("v_threshold", full(1.0)),
        ],
    )
}

/// A graph from `nodes` and edges `a -> b` given as pairs.
fn graph(nodes: Vec<(&str, Node)>, edges: &[(&str, &str)]) -> Nir {
    Nir {
        version: "1.0.8".into(),
        graph: Graph {
            nodes: nodes.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
            edges: edges
                .iter()
                .map(|(a, b)| [a.to_string(), b.to_string()])
                .collect(),
        },
    }
}

/// `in [2] -> mid -> lif [2] -> out`, with `mid` given.
fn through(mid: Node) -> Nir {
    graph(
        vec![
            ("in", node("Input", vec![("shape", shape(&[2]))])),
            ("mid", mid),
            ("lif", lif(2, 0.01, 1.0)),
            ("out", node("Output", vec![("shape", shape(&[2]))])),
        ],
        &[("in", "mid"), ("mid", "lif"), ("lif", "out")],
    )
}

fn written(dir: &Path, name: &str, g: &Nir) -> PathBuf {
    let p = dir.join(name);
    nir::write(g, &p).unwrap();
    p
}

fn import(file: &Path, extra: &[&str]) -> Output {
    let out = file.with_extension("toml");
    std::process::Command::new(env!("CARGO_BIN_EXE_astroglia"))
        .args(["nir", "import"])
        .arg(file)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap()
}

/// The import's exit code and stderr.
fn refused(file: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let o = import(file, extra);
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into())
}

/// Asserts exit code 2 and that stderr names the file and holds every word of `want`.
fn assert_refused(file: &Path, extra: &[&str], want: &str) {
    let (code, err) = refused(file, extra);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains(want), "want {want:?} in {err}");
}

#[test]
fn link_cycles_and_shared_groups_are_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let sub = graph(
        vec![
            ("input", node("Input", vec![("shape", shape(&[2]))])),
            ("output", node("Output", vec![("shape", shape(&[2]))])),
        ],
        &[("input", "output")],
    );
    let mut g = through(node(
        "Scale",
        vec![("scale", Value::f32(&[2], vec![1.0; 2]))],
    ));
    g.graph.nodes.insert(
        "sub".into(),
        Node {
            kind: "NIRGraph".into(),
            params: Default::default(),
            graph: Some(sub.graph),
        },
    );
    // File name, the link made in a `nodes` group, the error.
    type Link = fn(&hdf5::Group);
    let cases: [(&str, Link, &str); 3] = [
        (
            "hard.nir",
            |n| n.link_hard("/node", "back").unwrap(),
            "/node/nodes/sub/nodes/back: a link back to its ancestor /node (a cycle)",
        ),
        (
            "soft.nir",
            |n| n.link_soft("/node/nodes/sub", "back").unwrap(),
            "/node/nodes/sub/nodes/back: a link back to its ancestor /node/nodes/sub (a cycle)",
        ),
        (
            "shared.nir",
            |n| n.link_hard("/node/nodes/sub", "twin").unwrap(),
            "/node/nodes/twin: the same group as /node/nodes/sub (linked twice)",
        ),
    ];
    for (name, link, want) in cases {
        let p = written(dir.path(), name, &g);
        let f = super::util::open_rw_unlocked(&p);
        let nodes = if name == "shared.nir" {
            f.group("node/nodes").unwrap()
        } else {
            f.group("node/nodes/sub/nodes").unwrap()
        };
        link(&nodes);
        drop((nodes, f));
        assert_refused(&p, &[], want);
    }
}

/// A file of `depth` NIRGraphs nested one in the other, written with the hdf5
/// crate (astroglia refuses to write it).
fn nested(path: &Path, depth: usize) {
    let f = hdf5::File::create(path).unwrap();
    let s = |g: &hdf5::Group, k: &str, v: &str| {
        let v: hdf5::types::VarLenUnicode = v.parse().unwrap();
        g.new_dataset::<hdf5::types::VarLenUnicode>()
            .create(k)
            .unwrap()
            .write_scalar(&v)
            .unwrap();
    };
    s(&f, "version", "1.0.8");
    let mut g = f.create_group("node").unwrap();
    for _ in 0..depth {
        s(&g, "type", "NIRGraph");
        g.new_dataset::<hdf5::types::VarLenUnicode>()
            .shape([0, 2])
            .create("edges")
            .unwrap();
        g = g.create_group("nodes").unwrap().create_group("g").unwrap();
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_cheaply() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(nir::MAX_DEPTH, 64);
    for depth in [65, 6000] {
        let p = dir.path().join(format!("deep{depth}.nir"));
        nested(&p, depth);
        let start = std::time::Instant::now();
        assert_refused(&p, &[], "graphs nested 65 deep, more than the limit of 64");
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }
    // At the limit the nesting itself is fine (the innermost graph has no Input).
    let p = dir.path().join("deep64.nir");
    nested(&p, 64);
    let (code, err) = refused(&p, &[]);
    assert!(!err.contains("more than the limit"), "{err}");
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn parallel_paths_are_summed_once_per_node_not_enumerated() {
    let dir = tempfile::tempdir().unwrap();
    let half = || node("Scale", vec![("scale", Value::f32(&[2], vec![0.5; 2]))]);
    let blocks = 30;
    let names: Vec<String> = (0..=blocks).map(|i| format!("s{i}")).collect();
    let mut nodes = vec![
        ("in", node("Input", vec![("shape", shape(&[2]))])),
        ("lif", lif(2, 0.01, 1.0)),
        ("out", node("Output", vec![("shape", shape(&[2]))])),
    ];
    let mut edges: Vec<(String, String)> = vec![
        ("in".into(), "s0".into()),
        (names[blocks].clone(), "lif".into()),
        ("lif".into(), "out".into()),
    ];
    let one = || node("Scale", vec![("scale", Value::f32(&[2], vec![1.0; 2]))]);
    let branches: Vec<(String, String)> = (0..blocks)
        .map(|i| (format!("a{i}"), format!("b{i}")))
        .collect();
    for name in &names {
        nodes.push((name, one()));
    }
    for (i, (a, b)) in branches.iter().enumerate() {
        nodes.push((a, half()));
        nodes.push((b, half()));
        for x in [a, b] {
            edges.push((names[i].clone(), x.clone()));
            edges.push((x.clone(), names[i + 1].clone()));
        }
    }
    let edges: Vec<(&str, &str)> = edges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = written(dir.path(), "residual.nir", &graph(nodes, &edges));
    let start = std::time::Instant::now();
    let o = import(&p, &[]);
    assert!(start.elapsed().as_secs() < 30, "{:?}", start.elapsed());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("2 populations, 1 projections"), "{stdout}");
    // 2^30 paths of weight 2^-30 each: weight 1, times r·dt/tau.
    let net = Network::from_toml_file(p.with_extension("toml")).unwrap();
    match &net.projections[0].connect {
        astroglia::model::Connect::List {
            weights: Some(w), ..
        } => {
            assert_eq!(w.len(), 2);
            let factor = 1.0 / (f64::from(0.01f32) * 1e3);
            assert_eq!(w, &[factor; 2]);
        }
        c => panic!("{c:?}"),
    }
    // Inputs of different shapes into one node: refused, naming it.
    let g = graph(
        vec![
            ("in", node("Input", vec![("shape", shape(&[4]))])),
            (
                "lin",
                node(
                    "Linear",
                    vec![("weight", Value::f32(&[2, 4], vec![1.0; 8]))],
                ),
            ),
            (
                "s",
                node("Scale", vec![("scale", Value::f32(&[1], vec![1.0]))]),
            ),
            ("lif", lif(2, 0.01, 1.0)),
        ],
        &[("in", "lin"), ("in", "s"), ("lin", "s"), ("s", "lif")],
    );
    let p = written(dir.path(), "join.nir", &g);
    assert_refused(
        &p,
        &[],
        "node 's' sums inputs of different shapes: [4], and [2] from 'lin'",
    );
}

#[test]
fn huge_shapes_are_refused_naming_the_node_and_shape() {
    let dir = tempfile::tempdir().unwrap();
    let input = |dims: &[i64]| {
        let mut g = through(node("Scale", vec![("scale", Value::f32(&[1], vec![1.0]))]));
        g.graph
            .nodes
            .insert("in".into(), node("Input", vec![("shape", shape(dims))]));
        g
    };
    for (name, dims, want) in [
        (
            "big.nir",
            vec![1, 30000, 30000],
            "node 'in' (Input): shape [1, 30000, 30000] has more than the 16777216 elements a node may have",
        ),
        (
            "overflow.nir",
            vec![1 << 40, 1 << 40],
            "node 'in' (Input): shape [1099511627776, 1099511627776] has more than the 16777216 elements",
        ),
        (
            "negative.nir",
            vec![2, -1],
            "node 'in' (Input): shape [2, -1] has a negative dimension",
        ),
    ] {
        let p = written(dir.path(), name, &input(&dims));
        assert_refused(&p, &[], want);
    }
    // A dataset too large to read, however well it compresses.
    let p = written(
        dir.path(),
        "weight.nir",
        &through(node(
            "Linear",
            vec![("weight", Value::f32(&[2, 2], vec![1.0; 4]))],
        )),
    );
    let f = super::util::open_rw_unlocked(&p);
    f.unlink("node/nodes/mid/weight").unwrap();
    f.new_dataset::<f32>()
        .chunk([1000, 1000])
        .deflate(9)
        .shape([10000, 10000])
        .create("node/nodes/mid/weight")
        .unwrap();
    drop(f);
    assert_refused(
        &p,
        &[],
        "/node/nodes/mid/weight: shape [10000, 10000] has 100000000 elements, more than the 67108864 a dataset may hold",
    );
    // Convolution outputs and parameters that do not fit.
    let conv = |padding: i64| {
        let mut g = input(&[1, 2, 2]);
        g.graph.nodes.insert(
            "mid".into(),
            node(
                "Conv2d",
                vec![
                    ("weight", Value::f32(&[1, 1, 1, 1], vec![1.0])),
                    ("stride", shape(&[1, 1])),
                    ("padding", shape(&[padding, padding])),
                    ("dilation", shape(&[1, 1])),
                    ("groups", Value::i64(&[], vec![1])),
                    ("bias", Value::f32(&[1], vec![0.0])),
                ],
            ),
        );
        g
    };
    let p = written(dir.path(), "pad.nir", &conv(1_000_000));
    assert_refused(
        &p,
        &[],
        "node 'mid' (Conv2d): the output: shape [1, 2000002, 2000002] has more than the 16777216 elements a node may have",
    );
    let p = written(dir.path(), "pad_overflow.nir", &conv(1 << 62));
    assert_refused(
        &p,
        &[],
        "node 'mid' (Conv2d): padding[0] = 4611686018427387904 is beyond the ±16777216 accepted",
    );
}

#[test]
fn import_errors_after_reading_exit_2_naming_node_and_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let one = |k: &str, x: f32| node("Scale", vec![(k, Value::f32(&[2], vec![x; 2]))]);
    let with_lif = |tau: f32, r: f32| {
        let mut g = through(one("scale", 1.0));
        g.graph.nodes.insert("lif".into(), lif(2, tau, r));
        g
    };
    let int = |v: i64| shape(&[v, v]);
    let pool = |kernel: i64| {
        node(
            "SumPool2d",
            vec![
                ("kernel_size", int(kernel)),
                ("stride", int(1)),
                ("padding", int(0)),
            ],
        )
    };
    let cases: Vec<(&str, Nir, Vec<&str>, &str)> = vec![
        (
            "dt.nir",
            through(one("scale", 1.0)),
            vec!["--dt-ms", "0"],
            "dt_ms = 0 must be positive and finite",
        ),
        (
            "tau.nir",
            with_lif(0.0, 1.0),
            vec![],
            "node 'lif' (LIF): tau = 0 must be > 0",
        ),
        (
            "r.nir",
            with_lif(0.01, 0.0),
            vec![],
            "node 'lif' (LIF): r = 0 must be > 0",
        ),
        (
            "tiny.nir",
            {
                let mut g = through(one("scale", 1.0));
                let full = |x: f64| Value::f64(&[2], vec![x; 2]);
                let l = g.graph.nodes.get_mut("lif").unwrap();
                l.params.insert("tau".into(), full(1e-300));
                l.params.insert("r".into(), full(1e300));
                g
            },
            vec![],
            "node 'lif' (LIF): r = 1e300, tau = 1e-300, v_leak = 0.0, v_threshold = 1.0 give values \
             astroglia cannot represent: c_m_pf must be a positive number, got 0",
        ),
        (
            "delay.nir",
            through(node(
                "Delay",
                vec![("delay", Value::f32(&[2], vec![-1.0; 2]))],
            )),
            vec![],
            "node 'mid' (Delay): delay[0] = -1 s is not a non-negative time",
        ),
        (
            "long_delay.nir",
            through(node(
                "Delay",
                vec![("delay", Value::f32(&[2], vec![100.0; 2]))],
            )),
            vec![],
            "node 'mid' (Delay): delay[0] = 100 s is 100000 steps, which with the projection's own step is more than the 65535 a synapse holds",
        ),
        (
            "columns.nir",
            through(node(
                "Linear",
                vec![("weight", Value::f32(&[2, 3], vec![1.0; 6]))],
            )),
            vec![],
            "node 'mid' (Linear): weight has 3 columns but the input has 2 elements",
        ),
        (
            "pool.nir",
            {
                let mut g = through(pool(0));
                g.graph.nodes.insert(
                    "in".into(),
                    node("Input", vec![("shape", shape(&[1, 2, 1]))]),
                );
                g
            },
            vec![],
            "node 'mid' (SumPool2d): kernel_size [0, 0] and stride [1, 1] must be >= 1",
        ),
    ];
    for (name, g, extra, want) in cases {
        let p = written(dir.path(), name, &g);
        assert_refused(&p, &extra, want);
    }
    // A cycle of stateless nodes.
    let mut g = through(one("scale", 1.0));
    g.graph.nodes.insert("loop".into(), one("scale", 1.0));
    g.graph.edges.push(["mid".into(), "loop".into()]);
    g.graph.edges.push(["loop".into(), "mid".into()]);
    let p = written(dir.path(), "cycle.nir", &g);
    assert_refused(
        &p,
        &[],
        "cycle of stateless nodes through 'mid' (no neuron breaks it)",
    );
    // v_reset at or above v_threshold, and a CubaLIF's tau_syn = 0.
    let mut g = through(one("scale", 1.0));
    let l = g.graph.nodes.get_mut("lif").unwrap();
    l.params
        .insert("v_reset".into(), Value::f32(&[2], vec![2.0; 2]));
    let p = written(dir.path(), "reset.nir", &g);
    assert_refused(
        &p,
        &[],
        "node 'lif' (LIF): v_reset = 2 must be below v_threshold = 1",
    );
    let full = |x: f32| Value::f32(&[2], vec![x; 2]);
    g.graph.nodes.insert(
        "lif".into(),
        node(
            "CubaLIF",
            vec![
                ("tau_syn", full(0.0)),
                ("tau_mem", full(0.01)),
                ("r", full(1.0)),
                ("v_leak", full(0.0)),
                ("v_threshold", full(1.0)),
            ],
        ),
    );
    let p = written(dir.path(), "cuba.nir", &g);
    assert_refused(&p, &[], "node 'lif' (CubaLIF): tau_syn = 0 must be > 0");
}

#[test]
fn non_finite_parameters_are_refused_on_import_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "weight.nir",
            through(node(
                "Linear",
                vec![("weight", Value::f32(&[2, 2], vec![1.0, f32::NAN, 0.0, 1.0]))],
            )),
            "node 'mid' (Linear): weight[0, 1] = NaN is not finite",
        ),
        (
            "bias.nir",
            through(node(
                "Affine",
                vec![
                    ("weight", Value::f32(&[2, 2], vec![1.0; 4])),
                    ("bias", Value::f64(&[2], vec![0.0, f64::NEG_INFINITY])),
                ],
            )),
            "node 'mid' (Affine): bias[1] = -inf is not finite",
        ),
        (
            "tau.nir",
            {
                let mut g = through(node("Scale", vec![("scale", Value::f32(&[], vec![1.0]))]));
                g.graph
                    .nodes
                    .insert("lif".into(), lif(2, f32::INFINITY, 1.0));
                g
            },
            "node 'lif' (LIF): tau[0] = inf is not finite",
        ),
        (
            "scale.nir",
            through(node(
                "Scale",
                vec![("scale", Value::f32(&[], vec![f32::NAN]))],
            )),
            "node 'mid' (Scale): scale = NaN is not finite",
        ),
    ];
    for (name, g, want) in cases {
        let p = written(dir.path(), name, &g);
        assert_refused(&p, &[], want);
    }
    // Finite parameters whose product is not.
    let mut g = through(node("Scale", vec![("scale", Value::f64(&[], vec![1e300]))]));
    g.graph.nodes.insert("lif".into(), lif(2, 0.01, 1e10));
    let p = written(dir.path(), "product.nir", &g);
    assert_refused(
        &p,
        &[],
        "a weight from 'in' into node 'lif': 1e300 (the weights on the way multiplied) times",
    );
    assert_refused(&p, &[], "(from the node's parameters) is inf");
    // Export: a membrane capacitance so small that r = tau_m / c_m overflows,
    // and weights beyond float32.
    let lif_pop = |c_m_pf: f64| {
        LifParams::default()
            .t_ref_ms(0.0)
            .synapse(SynapseKind::Delta)
            .c_m_pf(c_m_pf)
    };
    let export = |name: &str, c_m_pf: f64, weight: f64| {
        let mut net = Network::new(1.0, 10.0);
        net.add_population(Population::new(
            "in",
            1,
            NeuronModel::SpikeSource(Default::default()),
        ));
        net.add_population(Population::new("out", 1, NeuronModel::Lif(lif_pop(c_m_pf))));
        net.add_projection(
            Projection::new(
                "in",
                "out",
                astroglia::model::Connect::AllToAll { allow_self: true },
            )
            .weight(weight),
        );
        let model = dir.path().join(format!("{name}.toml"));
        nir::write_model(&net, &model).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_astroglia"))
            .args(["nir", "export"])
            .arg(&model)
            .arg(dir.path().join(format!("{name}.nir")))
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = export("r", 1e-310, 1.0);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("population 'out': the NIR parameter r would be inf (not finite)"),
        "{err}"
    );
    let (code, err) = export("w", 1e12, 1e30);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("projection 'in->out': the NIR weight [0, 0] would be 2.4758800774178")
            && err.contains("e39, not a finite float32"),
        "{err}"
    );
}
