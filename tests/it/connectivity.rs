//! Connectivity out and in: `Simulator::synapses`, the connectivity file
//! (`--save-connectivity`, `record::connectivity`) and the `file` connect rule.
//! A network whose synapses are saved and read back through the `file` rule
//! gives the same spikes (CPU, and lavapipe where there is one); plastic
//! weights are saved as learnt; every malformed file is refused with an
//! error naming it and what was expected.
use super::gpu_parity::{exact, gpu};
use astroglia::Error;
use astroglia::backend::GpuBackend;
use astroglia::build::build;
use astroglia::model::{Connect, Network, parse_toml};
use astroglia::record::connectivity::write_connectivity;
use astroglia::sim::{SimOptions, Simulator, Synapses};
use std::path::{Path, PathBuf};

/// Poisson inputs onto E/I LIF populations: a plastic (STDP) projection,
/// drawn weights and delays, an inhibitory projection whose receptor comes
/// from its negative weights.
const MODEL: &str = r#"
name = "conn"
dt_ms = 0.1
duration_ms = 200.0
seed = 3

[[populations]]
name = "input"
size = 60
poisson = { rate_hz = 40.0 }

[[populations]]
name = "exc"
size = 80
lif = { tau_syn_exc_ms = 5.0, tau_syn_inh_ms = 10.0 }
init = { v = { uniform = { low = -70.0, high = -55.0 } } }

[[populations]]
name = "inh"
size = 20
lif = {}

[[projections]]
name = "in_exc"
from = "input"
to = "exc"
connect = { fixed_probability = { p = 0.3 } }
weight = { uniform = { low = 100.0, high = 500.0 } }
delay_ms = { uniform = { low = 0.5, high = 3.0 } }
plasticity = { stdp = { tau_plus_ms = 20.0, tau_minus_ms = 20.0, a_plus = 20.0, a_minus = 21.0, w_min = 0.0, w_max = 600.0 } }

[[projections]]
name = "ee"
from = "exc"
to = "exc"
connect = { fixed_indegree = { k = 8 } }
weight = { normal = { mean = 60.0, std = 20.0 } }
delay_ms = 1.5

[[projections]]
from = "exc"
to = "inh"
connect = { fixed_probability = { p = 0.2 } }
weight = 150.0

[[projections]]
name = "ie"
from = "inh"
to = "exc"
connect = { all_to_all = {} }
weight = -80.0
"#;

fn net() -> Network {
    parse_toml(MODEL, "conn.toml").expect("valid model")
}

/// `net` with every projection read from `file` (its own group).
fn from_file(net: &Network, file: &Path) -> Network {
    let mut n = net.clone();
    for p in &mut n.projections {
        p.connect = Connect::File {
            path: file.to_path_buf(),
            projection: None,
        };
    }
    n
}

fn cpu(net: &Network) -> Simulator {
    Simulator::new(net, SimOptions::default()).expect("builds")
}

fn all_synapses(sim: &mut Simulator) -> Vec<Synapses> {
    sim.projection_names()
        .iter()
        .map(|n| sim.synapses(0, n).unwrap())
        .collect()
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("conn.h5");
    (dir, p)
}

#[test]
fn saved_and_loaded_synapses_give_the_same_spikes() {
    let (_dir, file) = tmp();
    let net = net();
    let mut a = cpu(&net);
    let built = all_synapses(&mut a);
    write_connectivity(&file, &mut a, 0).unwrap();
    a.run_ms(net.duration_ms).unwrap();
    let sa = a.summary();
    assert!(sa.populations["exc"].spikes > 100, "the network is active");

    let loaded = from_file(&net, &file);
    let mut b = cpu(&loaded);
    assert_eq!(all_synapses(&mut b), built, "read back as built");
    b.run_ms(net.duration_ms).unwrap();
    assert_eq!(b.summary().spikes_sha256, sa.spikes_sha256);

    // After the run the plastic weights are the learnt ones, and a file
    // written now gives them back.
    let learnt = all_synapses(&mut a);
    assert_ne!(
        learnt[0].weight, built[0].weight,
        "STDP changed the weights"
    );
    assert_eq!(learnt[1..], built[1..], "static projections do not change");
    write_connectivity(&file, &mut a, 0).unwrap();
    let mut c = cpu(&from_file(&net, &file));
    assert_eq!(all_synapses(&mut c), learnt);
    // The inhibitory projection kept its receptor (from the file's attribute).
    assert_eq!(learnt[3].receptor, astroglia::model::Receptor::Inh);
    assert_eq!(learnt[3].weight_unit, "pA");
}

#[test]
fn synapses_are_local_ids_in_csr_order_with_model_units() {
    let net = net();
    let mut sim = cpu(&net);
    let s = sim.synapses(0, "ie").unwrap();
    assert_eq!(s.pre.len(), 20 * 80);
    assert_eq!((s.from.as_str(), s.to.as_str()), ("inh", "exc"));
    assert!(s.pre.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(&s.post[..80], &(0..80).collect::<Vec<u32>>()[..]);
    assert!(s.weight.iter().all(|&w| (w + 80.0).abs() < 1e-3));
    assert!(s.delay_ms.iter().all(|&d| (d - 0.1).abs() < 1e-12));
    let d = sim.synapses(0, "in_exc").unwrap();
    assert!(d.delay_ms.iter().all(|&x| {
        let k = x / 0.1;
        (k - k.round()).abs() < 1e-9 && (0.45..=3.05).contains(&x)
    }));
    assert!(d.plastic && !s.plastic);
    let e = sim.synapses(0, "nope").unwrap_err();
    assert!(matches!(e, Error::Unknown { .. }), "{e}");
    assert!(sim.synapses(3, "ie").is_err());
}

#[test]
fn gpu_synapses_and_file_round_trip_match_the_cpu() {
    let Some(ctx) = gpu() else { return };
    if !exact(&ctx) {
        return;
    }
    let (_dir, file) = tmp();
    let net = net();
    let on_gpu = |net: &Network| {
        let built = build(net, net.seed).unwrap();
        let be = GpuBackend::with_context(ctx.clone(), &built).unwrap();
        Simulator::with_backend(net, &built, Box::new(be)).unwrap()
    };
    let mut g = on_gpu(&net);
    write_connectivity(&file, &mut g, 0).unwrap();
    g.run_ms(net.duration_ms).unwrap();
    let mut c = cpu(&net);
    c.run_ms(net.duration_ms).unwrap();
    assert_eq!(all_synapses(&mut g), all_synapses(&mut c), "learnt on both");
    let mut h = on_gpu(&from_file(&net, &file));
    h.run_ms(net.duration_ms).unwrap();
    assert_eq!(h.summary().spikes_sha256, c.summary().spikes_sha256);
}

#[test]
fn a_file_in_any_order_reads_as_the_sorted_one() {
    let (_dir, file) = tmp();
    let net = net();
    let mut a = cpu(&net);
    let s = a.synapses(0, "in_exc").unwrap();
    // Reversed, so neither pre nor post is sorted.
    let rev = |v: &[u32]| v.iter().rev().copied().collect::<Vec<_>>();
    let revf = |v: &[f64]| v.iter().rev().copied().collect::<Vec<_>>();
    write_group(&file, "in_exc", |g| {
        ds(g, "pre", &rev(&s.pre));
        ds(g, "post", &rev(&s.post));
        ds(g, "weight", &revf(&s.weight));
        ds(g, "delay_ms", &revf(&s.delay_ms));
    });
    let mut one = net.clone();
    one.projections[0].connect = Connect::File {
        path: file.clone(),
        projection: None,
    };
    let mut b = cpu(&one);
    assert_eq!(b.synapses(0, "in_exc").unwrap(), s);
}

/// Writes a file holding group `/projections/<name>`, filled by `f`.
fn write_group(path: &Path, name: &str, f: impl FnOnce(&hdf5::Group)) {
    let file = hdf5::File::create(path).unwrap();
    let g = file.create_group("projections").unwrap();
    f(&g.create_group(name).unwrap());
}

fn ds<T: hdf5::H5Type>(g: &hdf5::Group, name: &str, v: &[T]) {
    g.new_dataset::<T>()
        .shape(v.len())
        .create(name)
        .unwrap()
        .write_raw(v)
        .unwrap();
}

/// A one-projection network `a` (4 neurons) -> `b` (3, conductance-based)
/// reading group `g` of `path`.
fn tiny(path: &Path, g: &str) -> Network {
    let text = format!(
        r#"
dt_ms = 0.5
duration_ms = 5.0
[[populations]]
name = "a"
size = 4
lif = {{}}
[[populations]]
name = "b"
size = 3
lif_cond = {{}}
[[projections]]
from = "a"
to = "b"
connect = {{ file = {{ path = {path:?}, projection = "{g}" }} }}
"#,
        path = path.display().to_string()
    );
    parse_toml(&text, "tiny.toml").unwrap()
}

/// The build's error for group `p` of a file written by `f`, which must be a
/// data error naming the file.
fn refused(f: impl FnOnce(&hdf5::Group)) -> String {
    let (_dir, file) = tmp();
    write_group(&file, "p", f);
    let e = Simulator::new(&tiny(&file, "p"), SimOptions::default())
        .err()
        .expect("refused");
    match &e {
        Error::Data { path, .. } => assert_eq!(path, &file),
        other => panic!("expected a data error, got {other:?}"),
    }
    let m = e.to_string();
    assert!(m.contains("projections[0] 'a->b'"), "{m}");
    m
}

/// What a malformed case writes into its group.
type Fill = Box<dyn FnOnce(&hdf5::Group)>;

#[test]
fn malformed_connectivity_files_are_refused_with_located_errors() {
    let ids = |g: &hdf5::Group| {
        ds(g, "pre", &[0u32, 1, 3]);
        ds(g, "post", &[0u32, 2, 1]);
    };
    let cases: Vec<(&str, Fill)> = vec![
        (
            "missing dataset /projections/p/post",
            Box::new(|g| ds(g, "pre", &[0u32])),
        ),
        (
            "/projections/p/pre: expected integers (local neuron ids), found float64",
            Box::new(|g| {
                ds(g, "pre", &[0.0f64]);
                ds(g, "post", &[0u32]);
            }),
        ),
        (
            "/projections/p/weight: expected floats, found int32",
            Box::new(move |g| {
                ids(g);
                ds(g, "weight", &[1i32, 2, 3]);
            }),
        ),
        (
            "/projections/p/post has 2 elements, /projections/p/pre 3",
            Box::new(|g| {
                ds(g, "pre", &[0u32, 1, 2]);
                ds(g, "post", &[0u32, 1]);
            }),
        ),
        (
            "/projections/p/delay_ms has 1 elements, /projections/p/pre 3",
            Box::new(move |g| {
                ids(g);
                ds(g, "delay_ms", &[1.0f64]);
            }),
        ),
        (
            "/projections/p/pre: element 1 is 4, expected a local id in 0..4",
            Box::new(|g| {
                ds(g, "pre", &[0u32, 4]);
                ds(g, "post", &[0u32, 0]);
            }),
        ),
        (
            "/projections/p/post: element 0 is -1, expected a local id in 0..3",
            Box::new(|g| {
                ds(g, "pre", &[0i64]);
                ds(g, "post", &[-1i64]);
            }),
        ),
        (
            "/projections/p/weight: element 2 is NaN, expected a finite weight",
            Box::new(move |g| {
                ids(g);
                ds(g, "weight", &[1.0f32, 2.0, f32::NAN]);
            }),
        ),
        (
            "/projections/p/weight: element 0 is -1, expected >= 0",
            Box::new(move |g| {
                ids(g);
                ds(g, "weight", &[-1.0f64, 2.0, 1.0]);
            }),
        ),
        (
            "/projections/p/delay_ms: element 1 is -2, expected a delay of at least one step (dt_ms = 0.5)",
            Box::new(move |g| {
                ids(g);
                ds(g, "delay_ms", &[1.0f64, -2.0, 1.0]);
            }),
        ),
        (
            "/projections/p/delay_ms: element 2 is NaN",
            Box::new(move |g| {
                ids(g);
                ds(g, "delay_ms", &[1.0f64, 1.0, f64::NAN]);
            }),
        ),
        (
            "more than the 65535 a delay can take",
            Box::new(move |g| {
                ids(g);
                ds(g, "delay_ms", &[1.0f64, 1e9, 1.0]);
            }),
        ),
        (
            "/projections/p/pre: expected a 1-D dataset, found shape [2, 2]",
            Box::new(|g| {
                g.new_dataset::<u32>()
                    .shape((2, 2))
                    .create("pre")
                    .unwrap()
                    .write_raw(&[0u32, 1, 2, 3])
                    .unwrap();
                ds(g, "post", &[0u32]);
            }),
        ),
        (
            "attribute 'receptor' is \"gaba\", expected \"exc\" or \"inh\"",
            Box::new(move |g| {
                ids(g);
                let v: hdf5::types::VarLenUnicode = "gaba".parse().unwrap();
                g.new_attr::<hdf5::types::VarLenUnicode>()
                    .shape(())
                    .create("receptor")
                    .unwrap()
                    .write_scalar(&v)
                    .unwrap();
            }),
        ),
    ];
    for (want, f) in cases {
        let m = refused(f);
        assert!(m.contains(want), "expected {want:?} in: {m}");
    }
}

#[test]
fn missing_files_groups_and_non_hdf5_files_are_refused() {
    let (dir, file) = tmp();
    let e = Simulator::new(&tiny(&file, "p"), SimOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains(&file.display().to_string()) && e.contains("cannot read"),
        "{e}"
    );
    write_group(&file, "q", |g| {
        ds(g, "pre", &[0u32]);
        ds(g, "post", &[0u32]);
    });
    let e = Simulator::new(&tiny(&file, "p"), SimOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no group /projections/p (it has: q)"), "{e}");
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"not hdf5 at all").unwrap();
    let e = Simulator::new(&tiny(&junk, "p"), SimOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("junk.h5") && e.contains("cannot open as HDF5"),
        "{e}"
    );
    // Delays are rounded to whole steps, as the `delay_ms` key is.
    write_group(&file, "p", |g| {
        ds(g, "pre", &[0u32, 1]);
        ds(g, "post", &[0u32, 2]);
        ds(g, "weight", &[2.0f32, 3.0]);
        ds(g, "delay_ms", &[0.74f64, 1.3]);
    });
    let mut sim = Simulator::new(&tiny(&file, "p"), SimOptions::default()).unwrap();
    let s = sim.synapses(0, "a->b").unwrap();
    assert_eq!(s.delay_ms, [0.5, 1.5]);
    assert_eq!(s.weight, [2.0, 3.0]);
    assert_eq!(s.weight_unit, "nS");
}

#[test]
fn file_paths_are_taken_from_the_model_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.h5");
    write_group(&file, "a->b", |g| {
        ds(g, "pre", &[3u32]);
        ds(g, "post", &[1u32]);
    });
    let model = dir.path().join("m.toml");
    let text = r#"
dt_ms = 0.5
duration_ms = 5.0
[[populations]]
name = "a"
size = 4
lif = {}
[[populations]]
name = "b"
size = 3
lif = {}
[[projections]]
from = "a"
to = "b"
connect = { file = { path = "c.h5" } }
weight = 7.0
delay_ms = 1.0
"#;
    std::fs::write(&model, text).unwrap();
    let net = Network::from_toml_file(&model).unwrap();
    let mut sim = cpu(&net);
    let s = sim.synapses(0, "a->b").unwrap();
    assert_eq!((s.pre, s.post), (vec![3], vec![1]));
    // Without weight and delay datasets the model's keys apply.
    assert_eq!((s.weight, s.delay_ms), (vec![7.0], vec![1.0]));
}

#[test]
fn cli_save_connectivity_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("saved.h5");
    let model = dir.path().join("conn.toml");
    std::fs::write(&model, MODEL).unwrap();
    let run = |model: &Path, out: &str, extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_astroglia"))
            .arg("run")
            .arg(model)
            .args(["--quiet", "--no-plot", "--no-hdf5", "--duration-ms", "50"])
            .arg("--out")
            .arg(dir.path().join(out))
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(out).join("summary.json")).unwrap(),
        )
        .unwrap();
        s["spikes_sha256"].as_str().unwrap().to_string()
    };
    let saved = run(
        &model,
        "a",
        &["--save-connectivity", file.to_str().unwrap()],
    );
    let f = hdf5::File::open(&file).unwrap();
    let g = f.group("projections/exc->inh").unwrap();
    let n: u64 = g.attr("n_synapses").unwrap().read_scalar().unwrap();
    assert_eq!(g.dataset("pre").unwrap().shape(), vec![n as usize]);
    let unit: hdf5::types::VarLenUnicode = g.attr("weight_unit").unwrap().read_scalar().unwrap();
    assert_eq!(unit.as_str(), "pA");
    drop((g, f));
    // Static projections read back give the same run (the plastic one learnt
    // over the saved run, so it stays drawn).
    let mut text = String::from(MODEL);
    for name in ["ee", "exc->inh", "ie"] {
        let from = match name {
            "ee" => "connect = { fixed_indegree = { k = 8 } }",
            "exc->inh" => "connect = { fixed_probability = { p = 0.2 } }",
            _ => "connect = { all_to_all = {} }",
        };
        text = text.replacen(
            from,
            &format!("connect = {{ file = {{ path = \"saved.h5\", projection = \"{name}\" }} }}"),
            1,
        );
    }
    let loaded = dir.path().join("loaded.toml");
    std::fs::write(&loaded, text).unwrap();
    assert_eq!(run(&loaded, "b", &[]), saved);
}
