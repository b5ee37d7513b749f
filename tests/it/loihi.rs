//! `loihi_lif` against Lava's bit-accurate Loihi model: every reference network
//! in tests/data/loihi (recorded with lava-nc 0.10.0 by scripts/lava/reference.py)
//! gives identical spikes and identical u and v at every step, on the CPU, on the
//! GPU (lavapipe: the shader is integer-only, so any device must agree) and in
//! batches on both.
use super::gpu_parity::gpu;
use astroglia::backend::{Backend, CpuBackend, GpuBackend};
use astroglia::build::{Built, build};
use astroglia::lava::{LavaNet, Process, Recorded};
use astroglia::model::{Network, StateMonitor};
use astroglia::sim::Simulator;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/loihi")
}

/// Every reference network, by file name.
fn references() -> Vec<(String, LavaNet)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/data/loihi")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "reference networks: {files:?}");
    files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            (name, LavaNet::read(f).expect("a Lava description"))
        })
        .collect()
}

/// The model of `lava` with u and v recorded for every LIF process.
fn model(lava: &LavaNet) -> Network {
    let mut net = lava.to_network().expect("a runnable model");
    for p in &lava.processes {
        if let Process::Lif { name, .. } = p {
            for var in ["u", "v"] {
                net.monitors.state.push(StateMonitor::new(name, var));
            }
        }
    }
    net
}

#[derive(Clone, Copy, Debug)]
enum On {
    Cpu,
    Gpu,
}

/// What `lava` records when run on `on` in a batch of `batch`, per instance and
/// LIF process (None without a GPU).
fn run(lava: &LavaNet, on: On, batch: usize) -> Option<Vec<Vec<(String, Recorded)>>> {
    let net = model(lava);
    let first = build(&net, 1).expect("builds");
    let instances: Vec<Built> = (0..batch as u64)
        .map(|b| first.instance(&net, 1 + b).unwrap())
        .collect();
    let backend: Box<dyn Backend> = match on {
        On::Cpu => Box::new(CpuBackend::batched(instances, 1).unwrap()),
        On::Gpu => Box::new(GpuBackend::batched_with_context(gpu()?, &instances).unwrap()),
    };
    let mut sim = Simulator::with_backend(&net, &first, backend).unwrap();
    sim.run_steps(lava.steps, |_| {}).unwrap();
    let mut out = vec![];
    for b in 0..batch {
        let rec = sim.instance_recording(b).unwrap();
        let mut per = vec![];
        for p in &lava.processes {
            let Process::Lif { name, size, .. } = p else {
                continue;
            };
            let sp = sim.population_spikes(b, name).unwrap().expect("recorded");
            let spikes = sp
                .steps
                .iter()
                .zip(&sp.ids)
                .map(|(&s, &i)| [s, u64::from(i)]);
            let rows = |var: &str| -> Vec<Vec<i32>> {
                let t = rec
                    .states
                    .iter()
                    .find(|t| &t.population == name && t.var == var)
                    .unwrap();
                t.values
                    .chunks(*size as usize)
                    .map(|r| r.iter().map(|&x| x as i32).collect())
                    .collect()
            };
            per.push((
                name.clone(),
                Recorded {
                    spikes: spikes.collect(),
                    u: rows("u"),
                    v: rows("v"),
                },
            ));
        }
        out.push(per);
    }
    Some(out)
}

/// Panics at the first difference from Lava's recording, naming it.
fn assert_same(file: &str, what: &str, lava: &LavaNet, got: &[(String, Recorded)]) {
    for (name, mine) in got {
        let theirs = &lava.recorded[name];
        for (var, a, b) in [("u", &theirs.u, &mine.u), ("v", &theirs.v, &mine.v)] {
            assert_eq!(a.len(), b.len(), "{file} {what}: {name}.{var} steps");
            for (step, (ra, rb)) in a.iter().zip(b).enumerate() {
                // State monitors read through f32: exact within the chip's 24
                // bits, rounded beyond 2^24 (only overflow_edges.json goes there).
                let seen = |x: i32| (x as f32) as i32;
                if let Some(i) = (0..ra.len()).find(|&i| seen(ra[i]) != rb[i]) {
                    panic!(
                        "{file} {what}: {name}.{var}[{i}] at step {step}: Lava {}, astroglia {}",
                        ra[i], rb[i]
                    );
                }
            }
        }
        assert_eq!(theirs.spikes, mine.spikes, "{file} {what}: {name} spikes");
    }
}

#[test]
fn every_reference_network_matches_lava_bit_for_bit_on_the_cpu() {
    let mut spikes = 0;
    for (file, lava) in references() {
        assert!(!lava.recorded.is_empty(), "{file} has no recording");
        let got = run(&lava, On::Cpu, 1).unwrap();
        assert_same(&file, "cpu", &lava, &got[0]);
        spikes += lava
            .recorded
            .values()
            .map(|r| r.spikes.len())
            .sum::<usize>();
    }
    // The references exercise spiking, not only subthreshold arithmetic.
    assert!(spikes > 100, "{spikes} spikes in all");
}

#[test]
fn every_reference_network_matches_lava_in_a_cpu_batch() {
    for (file, lava) in references() {
        for (b, got) in run(&lava, On::Cpu, 3).unwrap().iter().enumerate() {
            assert_same(&file, &format!("cpu batch instance {b}"), &lava, got);
        }
    }
}

#[test]
fn every_reference_network_matches_lava_on_the_gpu_alone_and_batched() {
    for (file, lava) in references() {
        let Some(single) = run(&lava, On::Gpu, 1) else {
            return;
        };
        assert_same(&file, "gpu", &lava, &single[0]);
        for (b, got) in run(&lava, On::Gpu, 2).unwrap().iter().enumerate() {
            assert_same(&file, &format!("gpu batch instance {b}"), &lava, got);
        }
    }
}

#[test]
fn a_description_goes_to_a_model_and_back_unchanged() {
    for (file, lava) in references() {
        let net = lava.to_network().unwrap();
        let back = LavaNet::from_network(&net, 1, lava.steps);
        if lava.connections.iter().any(|c| c.weight_exp > 23) {
            // A mantissa shifted past 32 bits cannot be read back from the ring.
            let msg = back.expect_err(&file).to_string();
            assert!(msg.contains("weight_exp"), "{file}: {msg}");
            continue;
        }
        let back = back.unwrap();
        assert_eq!(back.processes, lava.processes, "{file}");
        // Connections come back in CSR order with Lava's clipped, truncated weights.
        for (a, b) in lava.connections.iter().zip(&back.connections) {
            let syn = astroglia::model::LoihiSynapses::default()
                .num_weight_bits(a.num_weight_bits)
                .weight_exp(a.weight_exp);
            let syn = match a.sign_mode {
                Some(m) => syn.sign_mode(m),
                None => syn,
            };
            let w: Vec<f64> = a.weight.iter().map(|&w| w as f64).collect();
            let mut want: Vec<(u32, u32, i64)> = (a.pre.iter().zip(&a.post))
                .zip(syn.weights(&w))
                .map(|((&p, &q), w)| (p, q, i64::from(w)))
                .collect();
            want.sort_unstable();
            let got: Vec<(u32, u32, i64)> = (b.pre.iter().zip(&b.post).zip(&b.weight))
                .map(|((&p, &q), &w)| (p, q, w))
                .collect();
            assert_eq!(got, want, "{file}: {}->{}", a.from, a.to);
        }
    }
}

#[test]
fn bad_descriptions_name_the_place() {
    let bad = [
        (
            r#"{"format": "other", "name": "x", "steps": 1, "processes": []}"#,
            "format",
        ),
        (
            r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [{"type": "LIF", "name": "a", "size": 2, "du": 5000}]}"#,
            "du",
        ),
        (
            r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [{"type": "LIF", "name": "a", "size": 2, "bias_mant": [1, 2, 3]}]}"#,
            "bias_mant",
        ),
        (
            r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [{"type": "LIF", "name": "a", "size": 2, "v": [1, 2]}]}"#,
            "processes[0].v",
        ),
        (
            r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [{"type": "LIF", "name": "a", "size": 2}], "connections": [{"from": "a", "to": "a", "pre": [0, 0], "post": [1, 1], "weight": [1, 2]}]}"#,
            "listed twice",
        ),
        (
            r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [{"type": "LIF", "name": "a", "size": 2}], "connections": [{"from": "a", "to": "a", "pre": [0], "post": [1], "weight": [1], "weight_exp": 32}]}"#,
            "weight_exp",
        ),
        (
            r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [{"type": "LIF", "name": "a", "size": 2}], "connections": [{"from": "a", "to": "a", "pre": [0], "post": [5], "weight": [1]}]}"#,
            "post",
        ),
        (
            r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [{"type": "Sigma", "name": "a", "size": 2}]}"#,
            "Sigma",
        ),
    ];
    for (text, needle) in bad {
        let err = LavaNet::parse(text, "bad.json").and_then(|l| l.to_network());
        let msg = format!("{}", err.expect_err(needle));
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
}

#[test]
fn a_third_negative_exponent_onto_one_population_is_refused() {
    let text = r#"{"format": "astroglia-lava-1", "name": "x", "steps": 1, "processes": [
        {"type": "LIF", "name": "a", "size": 2},
        {"type": "LIF", "name": "b", "size": 2}],
      "connections": [
        {"from": "a", "to": "b", "pre": [0], "post": [1], "weight": [1], "weight_exp": -1},
        {"from": "b", "to": "b", "pre": [0], "post": [1], "weight": [1], "weight_exp": -2},
        {"from": "a", "to": "b", "pre": [1], "post": [1], "weight": [1], "weight_exp": -3}]}"#;
    let net = LavaNet::parse(text, "x.json")
        .unwrap()
        .to_network()
        .unwrap();
    let msg = build(&net, 1).expect_err("refused").to_string();
    assert!(msg.contains("projections[2].loihi.weight_exp"), "{msg}");
}

/// The 1000-neuron Loihi liquid of models/digits_loihi_lsm.toml: the first
/// samples' features (spike counts per neuron over the 250-step sample) equal
/// those Lava's bit-accurate model gave (recorded by
/// scripts/lava/compare_features.py from examples/loihi_lava_features.rs, which
/// also checks that the experiment pipeline's cached features are these counts).
#[test]
fn the_loihi_liquid_gives_lavas_lsm_features() {
    use astroglia::experiment::lsm::{Dataset, Experiment};
    use astroglia::model::{NeuronModel, SpikeSourceParams};
    let text = std::fs::read_to_string(data_dir().join("lsm/digits_loihi_features.json")).unwrap();
    let lava: serde_json::Value = serde_json::from_str(&text).unwrap();
    let exp_path = super::util::model_path("digits_loihi_lsm.toml");
    let exp = Experiment::load(&exp_path).unwrap();
    let base = exp_path.parent().unwrap();
    let net = Network::from_toml_file(base.join(&exp.model)).unwrap();
    let mut ds = Dataset::open(&exp, base, None).unwrap();
    ds.set_dt(net.dt_ms);
    let input = net.population_index("input").unwrap();
    let samples = lava["samples"].as_array().unwrap();
    assert!(samples.len() >= 3);
    for s in samples {
        let k = s["sample"].as_u64().unwrap() as usize;
        let steps = s["steps"].as_u64().unwrap();
        let (_, events) = ds.encode(ds.samples[k], steps as usize, exp.seed).unwrap();
        let mut net = net.clone();
        net.populations[input].model = NeuronModel::SpikeSource(SpikeSourceParams::new(
            events.iter().map(|e| e.0 as f64).collect(),
            events.iter().map(|e| e.1).collect(),
        ));
        let mut sim =
            Simulator::new(&net, astroglia::sim::SimOptions::default().seed(exp.seed)).unwrap();
        sim.run_steps(steps, |_| {}).unwrap();
        for pop in ["exc", "inh"] {
            let want: Vec<u32> = s["counts"][pop]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap() as u32)
                .collect();
            let sp = sim.population_spikes(0, pop).unwrap().unwrap();
            let mut got = vec![0u32; want.len()];
            sp.ids.iter().for_each(|&i| got[i as usize] += 1);
            assert_eq!(got, want, "sample {k}, {pop}");
        }
    }
}

#[test]
fn conversion_keeps_two_negative_exponents_per_population_and_says_so() {
    use astroglia::lava::convert::{ConvertOptions, to_loihi};
    // Three projections of tiny weights onto one population each want a
    // negative exponent; the build floors two on their own, so the third is
    // raised to 0 with a note, and the converted model builds.
    let mut text = String::from(
        "[[populations]]\nname = \"s\"\nsize = 20\npoisson = { rate_hz = 10.0 }\n\n\
         [[populations]]\nname = \"n\"\nsize = 5\nlif = { t_ref_ms = 0.0 }\n",
    );
    for k in 0..3 {
        text += &format!(
            "\n[[projections]]\nname = \"p{k}\"\nfrom = \"s\"\nto = \"n\"\n\
             connect = {{ all_to_all = {{}} }}\nweight = 0.01\n"
        );
    }
    let net = astroglia::model::parse_toml(&text, "three.toml").unwrap();
    let c = to_loihi(&net, &ConvertOptions::default()).unwrap();
    let exps: Vec<i32> = c.projections.iter().map(|p| p.weight_exp).collect();
    assert_eq!(exps[2], 0, "{exps:?}");
    assert!(exps[0] < 0 && exps[1] < 0, "{exps:?}");
    assert!(
        c.notes.iter().any(|n| n.contains("'p2': weight_exp")),
        "{:?}",
        c.notes
    );
    build(&c.model, 1).expect("the converted model builds");
}
