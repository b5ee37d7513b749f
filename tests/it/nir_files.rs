//! NIR files: every real file reads and imports (the invalid one fails naming its
//! dangling edge), malformed files give located errors, and write → read and
//! import → export round-trip every node bit for bit.
use astroglia::model::{Network, NeuronModel};
use astroglia::nir::{self, Graph, ImportOptions, Nir, Node, Value};
use std::path::{Path, PathBuf};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/nir")
        .join(name)
}

const VALID: &[&str] = &[
    "braille_noDelay_bias_zero.nir",
    "braille_noDelay_bias_zero_subgraph.nir",
    "braille_noDelay_noBias_subtract.nir",
    "braille_noDelay_noBias_subtract_resaved_nir1.0.8_gzip.nir",
    "cnn_sinabs_nmnist.nir",
    "lif_norse.nir",
    "lif_rockpool.nir",
    "two_lif_neurons.nir",
];

fn lif(net: &Network, pop: &str) -> astroglia::model::LifParams {
    match &net.populations[net.population_index(pop).expect(pop)].model {
        NeuronModel::Lif(p) => p.clone(),
        m => panic!("{pop} is {}", m.key()),
    }
}

#[test]
fn every_real_nir_file_imports_and_exports_back_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    for f in VALID {
        let g = nir::read(data(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let imp =
            nir::to_model(&g, &ImportOptions::default()).unwrap_or_else(|e| panic!("{f}: {e}"));
        let expect_warning = *f == "lif_rockpool.nir";
        assert_eq!(
            !imp.warnings.is_empty(),
            expect_warning,
            "{f}: {:?}",
            imp.warnings
        );
        assert_eq!(imp.outputs.len(), 1, "{f}");
        // Through the model file and back: the same graph, bit for bit.
        let toml = dir.path().join("m.toml");
        nir::write_model(&imp.network, &toml).unwrap();
        let net = Network::from_toml_file(&toml).unwrap();
        let back = nir::from_model(&net).unwrap();
        assert_eq!(back.version, g.version, "{f}");
        assert!(
            back.graph.same_bits(&g.graph),
            "{f}: graph changed through the model file"
        );
        let out = dir.path().join("back.nir");
        nir::write(&back, &out).unwrap();
        assert!(
            nir::read(&out).unwrap().graph.same_bits(&g.graph),
            "{f}: graph changed through the file"
        );
    }
}

#[test]
fn rockpool_output_shape_is_accepted_with_a_warning() {
    let g = nir::read(data("lif_rockpool.nir")).unwrap();
    let imp = nir::to_model(&g, &ImportOptions::default()).unwrap();
    assert_eq!(
        imp.warnings,
        vec![
            "Output 'output' has shape [1, 1, 1] but '1_LIFNeuronTorch' has shape [1]; recording '1_LIFNeuronTorch' as it is"
        ]
    );
}

#[test]
fn dangling_edge_is_rejected_naming_the_edge() {
    let path = data("INVALID_braille_noDelay_bias_zero_subgraph_dangling_edge.nir");
    let err = nir::read(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: /node/nodes/lif1/edges[0]: edge 'input' -> 'lif' references destination node 'lif', which does not exist in this graph (nodes: input, lif1, lin, output)",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn old_files_default_v_reset_and_gzip_files_load() {
    let g = nir::read(data("lif_norse.nir")).unwrap();
    assert_eq!(g.version, "0.1.1");
    assert!(!g.graph.nodes["1"].params.contains_key("v_reset"));
    let imp = nir::to_model(
        &g,
        &ImportOptions {
            dt_ms: 0.1,
            ..Default::default()
        },
    )
    .unwrap();
    let p = lif(&imp.network, "1");
    assert_eq!(
        (p.v_reset_mv, p.v_th_mv as f32, p.tau_m_ms as f32),
        (0.0, 0.1, 2.5)
    );
    let z = nir::read(data(
        "braille_noDelay_noBias_subtract_resaved_nir1.0.8_gzip.nir",
    ))
    .unwrap();
    let plain = nir::read(data("braille_noDelay_noBias_subtract.nir")).unwrap();
    assert_eq!(z.version, "1.0.8");
    // Same network; the re-saved file only adds v_reset = 0 explicitly.
    let a = nir::to_model(&z, &ImportOptions::default())
        .unwrap()
        .network;
    let b = nir::to_model(&plain, &ImportOptions::default())
        .unwrap()
        .network;
    assert_eq!(
        (a.populations, a.projections),
        (b.populations, b.projections)
    );
}

#[test]
fn nested_graph_imports_like_the_flat_one() {
    let nested = nir::read(data("braille_noDelay_bias_zero_subgraph.nir")).unwrap();
    let flat = nir::read(data("braille_noDelay_bias_zero.nir")).unwrap();
    let a = nir::to_model(&nested, &ImportOptions::default())
        .unwrap()
        .network;
    let b = nir::to_model(&flat, &ImportOptions::default())
        .unwrap()
        .network;
    let rename = |s: &str| {
        if s == "lif1.lif1" {
            "lif1.lif".to_string()
        } else {
            s.to_string()
        }
    };
    let mut pa = a.projections.clone();
    for p in &mut pa {
        p.from = rename(&p.from);
        p.to = rename(&p.to);
    }
    pa.sort_by_key(|p| (p.from.clone(), p.to.clone()));
    let mut pb = b.projections.clone();
    pb.sort_by_key(|p| (p.from.clone(), p.to.clone()));
    assert_eq!(pa, pb);
    // The recurrent projection is there.
    assert!(
        pb.iter()
            .any(|p| p.from == "lif1.lif" && p.to == "lif1.lif")
    );
    assert_eq!(
        a.inputs.len(),
        38 + 7,
        "one bias current per neuron of both layers"
    );
}

/// A graph holding every node type, with float32 and float64 parameters.
fn every_node() -> Nir {
    let f = |s: &[usize], x: f32| {
        Value::f32(
            s,
            (0..s.iter().product())
                .map(|i| x + i as f32 * 0.37)
                .collect(),
        )
    };
    let d = |s: &[usize], x: f64| {
        Value::f64(
            s,
            (0..s.iter().product())
                .map(|i| x + i as f64 * 0.1)
                .collect(),
        )
    };
    let i = |v: &[i64]| Value::i64(&[v.len()], v.to_vec());
    let s = |v: i64| Value::i64(&[], vec![v]);
    let node = |kind: &str, p: Vec<(&str, Value)>| Node {
        kind: kind.into(),
        params: p.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        graph: None,
    };
    let mut g = Graph::default();
    let mut add = |name: &str, n: Node| {
        g.nodes.insert(name.into(), n);
    };
    add("in", node("Input", vec![("shape", i(&[2, 4, 4]))]));
    add("out", node("Output", vec![("shape", i(&[3]))]));
    add(
        "aff",
        node(
            "Affine",
            vec![("weight", f(&[3, 5], 0.5)), ("bias", f(&[3], -1.0))],
        ),
    );
    add("lin", node("Linear", vec![("weight", d(&[3, 3], 0.25))]));
    add("scale", node("Scale", vec![("scale", f(&[3], 2.0))]));
    add(
        "c1",
        node(
            "Conv1d",
            vec![
                ("weight", f(&[2, 1, 3], 0.1)),
                ("stride", s(1)),
                (
                    "padding",
                    Value::Str {
                        value: "same".into(),
                    },
                ),
                ("dilation", s(1)),
                ("groups", s(1)),
                ("bias", f(&[2], 0.0)),
                ("input_shape", i(&[6])),
            ],
        ),
    );
    add(
        "c2",
        node(
            "Conv2d",
            vec![
                ("weight", f(&[4, 2, 3, 3], 0.1)),
                ("stride", i(&[1, 1])),
                ("padding", i(&[1, 1])),
                ("dilation", i(&[1, 1])),
                ("groups", s(1)),
                ("bias", f(&[4], 0.5)),
                ("input_shape", i(&[4, 4])),
            ],
        ),
    );
    add(
        "sum",
        node(
            "SumPool2d",
            vec![
                ("kernel_size", i(&[2, 2])),
                ("stride", i(&[2, 2])),
                ("padding", i(&[0, 0])),
            ],
        ),
    );
    add(
        "avg",
        node(
            "AvgPool2d",
            vec![
                ("kernel_size", i(&[2, 2])),
                ("stride", i(&[2, 2])),
                ("padding", i(&[0, 0])),
            ],
        ),
    );
    add(
        "flat",
        node(
            "Flatten",
            vec![
                ("start_dim", s(0)),
                ("end_dim", s(-1)),
                ("input_type", i(&[4, 2, 2])),
            ],
        ),
    );
    add("delay", node("Delay", vec![("delay", f(&[3], 0.001))]));
    add("thr", node("Threshold", vec![("threshold", f(&[3], 1.0))]));
    add("i", node("I", vec![("r", d(&[3], 1.0))]));
    add(
        "if",
        node(
            "IF",
            vec![
                ("r", f(&[3], 1.0)),
                ("v_threshold", f(&[3], 1.0)),
                ("v_reset", f(&[3], 0.0)),
            ],
        ),
    );
    add(
        "li",
        node(
            "LI",
            vec![
                ("tau", f(&[3], 0.01)),
                ("r", f(&[3], 1.0)),
                ("v_leak", f(&[3], 0.0)),
            ],
        ),
    );
    add(
        "lif",
        node(
            "LIF",
            vec![
                ("tau", d(&[3], 0.01)),
                ("r", d(&[3], 1.0)),
                ("v_leak", d(&[3], 0.0)),
                ("v_threshold", d(&[3], 1.0)),
            ],
        ),
    );
    add(
        "culi",
        node(
            "CubaLI",
            vec![
                ("tau_syn", f(&[3], 0.002)),
                ("tau_mem", f(&[3], 0.01)),
                ("r", f(&[3], 1.0)),
                ("v_leak", f(&[3], 0.0)),
                ("w_in", f(&[3], 1.0)),
            ],
        ),
    );
    add(
        "culif",
        node(
            "CubaLIF",
            vec![
                ("tau_syn", d(&[3], 0.002)),
                ("tau_mem", d(&[3], 0.01)),
                ("r", d(&[3], 1.0)),
                ("v_leak", d(&[3], 0.0)),
                ("v_threshold", d(&[3], 1.0)),
                ("v_reset", d(&[3], f64::from_bits(1))),
            ],
        ),
    );
    let mut sub = Graph::default();
    sub.nodes
        .insert("input".into(), node("Input", vec![("shape", i(&[3]))]));
    sub.nodes
        .insert("output".into(), node("Output", vec![("shape", i(&[3]))]));
    sub.nodes.insert(
        "lif".into(),
        node(
            "LIF",
            vec![
                ("tau", f(&[3], 0.01)),
                ("r", f(&[3], 1.0)),
                ("v_leak", f(&[3], f32::NAN)),
                ("v_threshold", f(&[3], -0.0)),
            ],
        ),
    );
    sub.edges = vec![
        ["input".into(), "lif".into()],
        ["lif".into(), "lif".into()],
        ["lif".into(), "output".into()],
    ];
    add(
        "sub",
        Node {
            kind: "NIRGraph".into(),
            params: Default::default(),
            graph: Some(sub),
        },
    );
    let e = |a: &str, b: &str| [a.to_string(), b.to_string()];
    g.edges = vec![
        e("in", "c2"),
        e("c2", "sum"),
        e("sum", "flat"),
        e("flat", "aff"),
        e("aff", "lif"),
        e("lif", "lin"),
        e("lin", "sub"),
        e("sub", "out"),
    ];
    Nir {
        version: "1.0.8".into(),
        graph: g,
    }
}

#[test]
fn write_then_read_round_trips_every_node_type_bit_for_bit() {
    let g = every_node();
    let kinds: std::collections::BTreeSet<&str> =
        g.graph.nodes.values().map(|n| n.kind.as_str()).collect();
    assert_eq!(
        kinds.len(),
        nir::NODE_TYPES.len(),
        "every node type is in the test graph"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("all.nir");
    nir::write(&g, &p).unwrap();
    let back = nir::read(&p).unwrap();
    assert!(back.graph.same_bits(&g.graph));
    assert_eq!(back.version, "1.0.8");
    // The model file keeps it bit for bit too (NaN, -0 and subnormals included).
    let text = toml::to_string(&g).unwrap();
    let again: Nir = toml::from_str(&text).unwrap();
    assert!(again.graph.same_bits(&g.graph));
}

/// Writes `every_node()` minus the chosen damage, then applies `edit` with the hdf5 crate.
fn damaged(dir: &Path, name: &str, edit: impl FnOnce(&hdf5::File)) -> PathBuf {
    let p = dir.join(name);
    nir::write(&every_node(), &p).unwrap();
    let f = super::util::open_rw_unlocked(&p);
    edit(&f);
    drop(f);
    p
}

#[test]
fn malformed_files_give_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let msg = |p: &Path| {
        format!("{}", nir::read(p).unwrap_err()).replace(&format!("{}: ", p.display()), "")
    };
    let p = damaged(dir, "missing.nir", |f| {
        f.unlink("node/nodes/lif/tau").unwrap()
    });
    assert_eq!(msg(&p), "/node/nodes/lif: LIF node has no 'tau' dataset");
    let p = damaged(dir, "shape.nir", |f| {
        f.unlink("node/nodes/aff/bias").unwrap();
        f.new_dataset::<f32>()
            .shape([4])
            .create("node/nodes/aff/bias")
            .unwrap()
            .write_raw(&[0f32; 4])
            .unwrap();
    });
    assert_eq!(
        msg(&p),
        "/node/nodes/aff/bias: expected shape [3] (the weight's rows), found shape [4]"
    );
    let p = damaged(dir, "neuron.nir", |f| {
        f.unlink("node/nodes/if/r").unwrap();
        f.new_dataset::<f32>()
            .shape([2])
            .create("node/nodes/if/r")
            .unwrap()
            .write_raw(&[1f32; 2])
            .unwrap();
    });
    assert_eq!(
        msg(&p),
        "/node/nodes/if/v_reset: shape [3] differs from r's [2] (every neuron parameter has the node's shape); \
         /node/nodes/if/v_threshold: shape [3] differs from r's [2] (every neuron parameter has the node's shape)"
    );
    let p = damaged(dir, "kind.nir", |f| {
        f.unlink("node/nodes/thr/type").unwrap();
        let s: hdf5::types::VarLenUnicode = "Spiky".parse().unwrap();
        f.new_dataset::<hdf5::types::VarLenUnicode>()
            .create("node/nodes/thr/type")
            .unwrap()
            .write_scalar(&s)
            .unwrap();
    });
    assert!(
        msg(&p).starts_with(
            "/node/nodes/thr: unknown node type 'Spiky' (known: Input, Output, Affine,"
        ),
        "{}",
        msg(&p)
    );
    let p = damaged(dir, "edges.nir", |f| {
        f.unlink("node/nodes/sub/edges").unwrap()
    });
    assert_eq!(msg(&p), "/node/nodes/sub/edges: missing dataset");
    let p = damaged(dir, "version.nir", |f| f.unlink("version").unwrap());
    assert_eq!(msg(&p), "/version: missing (is this a NIR file?)");
    let p = dir.join("text.nir");
    std::fs::write(&p, "not hdf5").unwrap();
    assert!(msg(&p).starts_with("not an HDF5 file"), "{}", msg(&p));
    assert_eq!(msg(&dir.join("absent.nir")), "no such file");
}

#[test]
fn import_errors_name_the_node() {
    let mut g = every_node();
    // One value per neuron parameter, as astroglia populations need.
    fn uniform(g: &mut Graph) {
        for n in g.nodes.values_mut() {
            if let Some(sub) = &mut n.graph {
                uniform(sub);
            }
            for v in n.params.values_mut() {
                match v {
                    Value::F32 { data, .. } => {
                        let x = data[0];
                        data.iter_mut().for_each(|d| *d = x);
                    }
                    Value::F64 { data, .. } => {
                        let x = data[0];
                        data.iter_mut().for_each(|d| *d = x);
                    }
                    _ => {}
                }
            }
        }
    }
    uniform(&mut g.graph);
    // The nested LIF has NaN and -0 parameters for the bit-exact test: make it runnable.
    let sub = g
        .graph
        .nodes
        .get_mut("sub")
        .unwrap()
        .graph
        .as_mut()
        .unwrap();
    let lif = sub.nodes.get_mut("lif").unwrap();
    lif.params
        .insert("v_leak".into(), Value::f32(&[3], vec![0.0; 3]));
    lif.params
        .insert("v_threshold".into(), Value::f32(&[3], vec![1.0; 3]));
    let import = |g: &Nir| nir::to_model(g, &ImportOptions::default()).map_err(|e| e.to_string());
    assert_eq!(
        import(&g).unwrap_err(),
        "NIR import: node 'thr' (Threshold): Threshold nodes have no astroglia equivalent \
         (a stateless threshold of a continuous value; astroglia transmits spikes only)"
    );
    g.graph.nodes.remove("thr");
    // Conv2d (pad 1) keeps 4x4, the pool halves it: 4 x 2 x 2 = 16 values reach the Affine.
    assert_eq!(
        import(&g).unwrap_err(),
        "NIR import: node 'aff' (Affine): weight has 5 columns but the input has 16 elements (shape [16])"
    );
    let aff = g.graph.nodes.get_mut("aff").unwrap();
    aff.params
        .insert("weight".into(), Value::f32(&[3, 16], vec![0.5; 48]));
    let net = import(&g).unwrap().network;
    let pairs: Vec<(&str, &str)> = net
        .projections
        .iter()
        .map(|p| (p.from.as_str(), p.to.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("in", "lif"), ("lif", "sub.lif"), ("sub.lif", "sub.lif")]
    );
    if let Some(Value::F64 { data, .. }) =
        g.graph.nodes.get_mut("lif").unwrap().params.get_mut("tau")
    {
        data[2] = 0.5;
    }
    assert_eq!(
        import(&g).unwrap_err(),
        "NIR import: node 'lif' (LIF): 'tau' differs between neurons; astroglia populations share one value (split the node)"
    );
}

#[test]
fn export_refuses_what_nir_cannot_express_listing_everything() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    for model in [
        "nalsm_liquid.toml",
        "coba.toml",
        "izhikevich2003.toml",
        "stdp_song.toml",
    ] {
        let net = Network::from_toml_file(root.join(model)).unwrap();
        let err = nir::from_model(&net).unwrap_err().to_string();
        assert!(err.starts_with("cannot export to NIR: "), "{model}: {err}");
        let mut offending = 0;
        for p in &net.populations {
            let bad = match &p.model {
                NeuronModel::Lif(l) => l.t_ref_ms != 0.0 || l.i_bias_pa != 0.0,
                NeuronModel::SpikeSource(_) => false,
                _ => true,
            };
            if bad {
                offending += 1;
                assert!(
                    err.contains(&format!("population '{}'", p.name)),
                    "{model}: {err}"
                );
            }
        }
        for p in net.projections.iter().filter(|p| p.plasticity.is_some()) {
            offending += 1;
            assert!(
                err.contains(&format!("projection '{}': plasticity", p.label())),
                "{model}: {err}"
            );
        }
        for a in &net.astrocytes {
            offending += 1;
            assert!(
                err.contains(&format!("astrocyte '{}'", a.name)),
                "{model}: {err}"
            );
        }
        assert!(offending > 0, "{model}");
    }
}

#[test]
fn cli_imports_and_exports() {
    let exe = env!("CARGO_BIN_EXE_astroglia");
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("rock.toml");
    let o = std::process::Command::new(exe)
        .args(["nir", "import"])
        .arg(data("lif_rockpool.nir"))
        .arg("--out")
        .arg(&toml)
        .args(["--dt-ms", "0.1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("shape [1, 1, 1]"),
        "{stderr}"
    );
    let net = Network::from_toml_file(&toml).unwrap();
    assert_eq!(net.dt_ms, 0.1);
    let out = dir.path().join("rock.nir");
    let o = std::process::Command::new(exe)
        .args(["nir", "export"])
        .arg(&toml)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let orig = nir::read(data("lif_rockpool.nir")).unwrap();
    assert!(nir::read(&out).unwrap().graph.same_bits(&orig.graph));
    // A bad file: exit code 2 (bad input) and the dangling edge named.
    let o = std::process::Command::new(exe)
        .args(["nir", "import"])
        .arg(data(
            "INVALID_braille_noDelay_bias_zero_subgraph_dangling_edge.nir",
        ))
        .arg("--out")
        .arg(dir.path().join("bad.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("references destination node 'lif'"));
    assert!(!dir.path().join("bad.toml").exists());
    // A model NIR cannot express is refused, naming what is wrong.
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/izhikevich2003.toml");
    let o = std::process::Command::new(exe)
        .args(["nir", "export"])
        .arg(&model)
        .arg(dir.path().join("i.nir"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("izhikevich neurons have no NIR equivalent")
    );
}
