//! LSM experiments: the default digits experiment reaches its accuracy target and
//! beats the input counts; features do not depend on the batch size or thread
//! count; an interrupted run resumes from the cache; a reset instance replays a
//! fresh one; bad experiment files give located errors.
use std::path::{Path, PathBuf};

use astroglia::backend::{Backend, CpuBackend};
use astroglia::experiment::lsm::{Experiment, RunOptions, run_experiment, write_report};
use astroglia::sim::BackendKind;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn opts(out: &Path, threads: usize) -> RunOptions {
    RunOptions {
        data_dir: None,
        backend: BackendKind::Cpu,
        adapter: None,
        threads,
        out: out.to_path_buf(),
        progress: false,
    }
}

/// A small digits experiment on the shipped liquid: 240 training + 60 test images.
fn small(batch: usize, extra: &str) -> Experiment {
    Experiment::parse(
        &format!(
            r#"
            model = "digits_liquid.toml"
            batch = {batch}
            branching_samples = 5
            [data]
            source = "digits"
            max_train = 240
            max_test = 60
            [input]
            population = "input"
            sample_ms = 100.0
            [features]
            populations = ["exc", "inh"]
            bins = 2
            [readout]
            kind = "ridge"
            normalisation = "zscore"
            {extra}
            "#
        ),
        "small.toml",
    )
    .unwrap()
}

fn chunks(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let cache = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn default_digits_experiment_reaches_90_percent_and_beats_the_input_counts() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::load(&models().join("digits_lsm.toml")).unwrap();
    let run = run_experiment(&exp, &models(), &opts(dir.path(), 2)).unwrap();
    write_report(dir.path(), &run).unwrap();
    let r = &run.results;
    assert_eq!((r.n_train + r.n_val, r.n_test), (1438, 359));
    assert!(r.test_accuracy >= 0.90, "test accuracy {}", r.test_accuracy);
    assert!(
        r.test_accuracy > r.input_baseline.test_accuracy,
        "liquid {} vs input counts {}",
        r.test_accuracy,
        r.input_baseline.test_accuracy
    );
    let bf = r.branching_factor.expect("measured");
    assert!(bf > 0.5 && bf < 3.0, "branching factor {bf}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    for key in [
        "test_accuracy",
        "val_accuracy",
        "train_accuracy",
        "branching_factor",
        "samples_per_s",
        "wall_s",
    ] {
        assert!(v[key].is_number(), "results.json lacks {key}");
    }
    let total: u64 = r.liquid.confusion.iter().flatten().sum();
    assert_eq!(total, 359);
    for png in ["learning_curve.png", "confusion.png", "raster.png"] {
        assert_eq!(
            &std::fs::read(dir.path().join(png)).unwrap()[1..4],
            b"PNG",
            "{png}"
        );
    }
}

#[test]
fn features_do_not_depend_on_batch_size_or_threads() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ra = run_experiment(&small(1, ""), &models(), &opts(a.path(), 1)).unwrap();
    let rb = run_experiment(&small(7, ""), &models(), &opts(b.path(), 2)).unwrap();
    assert_eq!(chunks(a.path()), chunks(b.path()));
    assert_eq!(ra.results.test_accuracy, rb.results.test_accuracy);
    assert_eq!(ra.results.branching_factor, rb.results.branching_factor);
    assert!(
        ra.results.test_accuracy > 0.5,
        "{}",
        ra.results.test_accuracy
    );
}

#[test]
fn an_interrupted_run_resumes_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_experiment(&small(4, ""), &models(), &opts(dir.path(), 2)).unwrap();
    assert_eq!(first.results.cached_samples, 0);
    let before = chunks(dir.path());
    assert_eq!(before.len(), 2, "300 samples in chunks of 200");
    // Lose the second chunk, as if the run had stopped during it.
    let cache = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(cache.join(&before[1].0)).unwrap();
    let second = run_experiment(&small(4, ""), &models(), &opts(dir.path(), 2)).unwrap();
    assert_eq!(second.results.cached_samples, 200);
    assert_eq!(chunks(dir.path()), before);
    assert_eq!(second.results.test_accuracy, first.results.test_accuracy);
    // A different readout reuses every feature.
    let ridge = small(4, "lambdas = [10.0]");
    let third = run_experiment(&ridge, &models(), &opts(dir.path(), 2)).unwrap();
    assert_eq!(third.results.cached_samples, 300);
    // A corrupt chunk is an error naming it, not silently wrong features.
    std::fs::write(cache.join(&before[0].0), b"junk").unwrap();
    let e = run_experiment(&small(4, ""), &models(), &opts(dir.path(), 2))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("chunk_000000.bin") && e.contains("delete the cache"),
        "{e}"
    );
}

#[test]
fn init_phase_changes_the_weights_and_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::parse(
        r#"
        model = "digits_nalsm_liquid.toml"
        batch = 4
        [data]
        source = "digits"
        max_train = 60
        max_test = 20
        [input]
        population = "input"
        sample_ms = 50.0
        [init]
        samples = 30
        sample_ms = 20.0
        [features]
        populations = ["exc", "inh"]
        astrocyte_decay = 0.99
        [readout]
        kind = "ridge"
        "#,
        "init.toml",
    )
    .unwrap();
    let r1 = run_experiment(&exp, &models(), &opts(dir.path(), 2)).unwrap();
    let cache = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let w_ini = std::fs::read(cache.join("chunk_999999.bin")).unwrap();
    assert_eq!(r1.results.init_samples, 30);
    // W_INI differs from the model's initial weights (all at ±3 or the bounds).
    let w: Vec<f32> = w_ini[16..]
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert!(
        w.iter().any(|&x| x.abs() < 2.999),
        "the init phase changed no weight"
    );
    let r2 = run_experiment(&exp, &models(), &opts(dir.path(), 1)).unwrap();
    assert_eq!(r2.results.cached_samples, 80);
    assert_eq!(r2.results.test_accuracy, r1.results.test_accuracy);
}

#[test]
fn a_reset_instance_replays_a_fresh_one() {
    let net =
        astroglia::Network::from_toml_file(models().join("digits_nalsm_liquid.toml")).unwrap();
    let built = astroglia::build::build(&net, 1).unwrap();
    let input = net.population_index("input").unwrap();
    let events: Vec<(u64, u32)> = (0..60u64)
        .flat_map(|t| [(t, (t % 64) as u32), (t, 63)])
        .filter(|e| e.1 != 63 || e.0 % 2 == 0)
        .collect();
    let mut events = events;
    events.sort();
    events.dedup();
    let mut cpu = CpuBackend::new(built.clone());
    let plastic: Vec<usize> = (0..built.projs.len())
        .filter(|&k| built.projs[k].plastic.is_some())
        .collect();
    let w0: Vec<Vec<f32>> = plastic
        .iter()
        .map(|&k| {
            let mut w = vec![];
            cpu.read_weights(0, k, &mut w).unwrap();
            w
        })
        .collect();
    let run = |cpu: &mut CpuBackend| {
        cpu.set_spike_source(0, input, events.clone()).unwrap();
        cpu.run(0, 120).unwrap();
        let mut s = vec![vec![]];
        cpu.drain_batch(&mut s).unwrap();
        let mut a = vec![];
        cpu.read_astrocyte(0, 0, &mut a).unwrap();
        let mut w = vec![];
        cpu.read_weights(0, plastic[0], &mut w).unwrap();
        (s.pop().unwrap(), a, w)
    };
    let fresh = run(&mut cpu);
    assert!(
        fresh.0.len() > 50,
        "the liquid spiked {} times",
        fresh.0.len()
    );
    assert_ne!(fresh.2, w0[0], "plasticity acted");
    cpu.reset(0).unwrap();
    for (&k, w) in plastic.iter().zip(&w0) {
        cpu.write_weights(0, k, w).unwrap();
    }
    assert_eq!(run(&mut cpu), fresh);
    // Bad source events are errors naming the population.
    let e = cpu
        .set_spike_source(0, input, vec![(0, 64)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("'input'") && e.contains("id 64"), "{e}");
    let e = cpu
        .set_spike_source(0, input, vec![(1, 0), (0, 0)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("sorted"), "{e}");
    let e = cpu.set_spike_source(0, 1, vec![]).unwrap_err().to_string();
    assert!(e.contains("not a spike source"), "{e}");
}

#[test]
fn bad_experiment_files_give_located_errors() {
    let e = Experiment::parse("model = \"m.toml\"\nbogus = 1\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("x.toml: invalid experiment: line 2: bogus: unknown field `bogus`"),
        "{e}"
    );
    let text = r#"model = "digits_liquid.toml"
batch = 0
[data]
source = "idx"
val_fraction = 1.5
[input]
population = "input"
sample_ms = -1.0
[features]
populations = []
"#;
    let e = Experiment::parse(text, "y.toml").unwrap_err().to_string();
    assert_eq!(
        e,
        "y.toml: invalid experiment: line 2: batch: must be at least 1, got 0; \
         line 5: data.val_fraction: must be in (0, 1), got 1.5; \
         line 8: input.sample_ms: must be a positive time in ms, got -1; \
         line 10: features.populations: must name at least one population"
    );
    // A dataset without a directory is refused when the run starts.
    let dir = tempfile::tempdir().unwrap();
    let mut idx = small(1, "");
    idx.data.source = astroglia::experiment::lsm::DataSource::Idx;
    let e = run_experiment(&idx, &models(), &opts(dir.path(), 1))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("needs a directory: set data.path or --data DIR"),
        "{e}"
    );
    let e = Experiment::parse("model = \"m.toml\"\n[data]\nsource = \"cifar\"\n", "z.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 3: data.source: unknown variant `cifar`"),
        "{e}"
    );
    // The input population must be a spike source.
    let mut bad = small(1, "");
    bad.input.population = "exc".into();
    let e = run_experiment(&bad, &models(), &opts(dir.path(), 1))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("<experiment>: invalid experiment: input.population: 'exc' of ")
            && e.contains("must be a spike source"),
        "{e}"
    );
    bad.input.population = "nope".into();
    let e = run_experiment(&bad, &models(), &opts(dir.path(), 1))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no population 'nope'"), "{e}");
}

#[test]
fn every_shipped_experiment_file_parses_and_fits_its_model() {
    let mut n = 0;
    for dir in [models(), models().join("lsm")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            // LSM experiment files (continual ones have [tasks] and no model).
            let lsm = text.contains("\n[input]") && !text.contains("\n[tasks]");
            if p.extension().is_none_or(|x| x != "toml") || !lsm {
                continue;
            }
            let exp = Experiment::load(&p).unwrap();
            let net = astroglia::Network::from_toml_file(dir.join(&exp.model)).unwrap();
            let channels = match exp.data.source {
                astroglia::experiment::lsm::DataSource::Digits => 64,
                astroglia::experiment::lsm::DataSource::Idx => 784,
                astroglia::experiment::lsm::DataSource::Nmnist => 2312,
                astroglia::experiment::lsm::DataSource::Shd => 700,
            };
            let pi = net.population_index(&exp.input.population).unwrap();
            assert!(net.populations[pi].model.is_source(), "{}", p.display());
            assert_eq!(net.populations[pi].size, channels, "{}", p.display());
            for f in &exp.features.populations {
                assert!(net.population_index(f).is_some(), "{}: {f}", p.display());
            }
            for v in &exp.variants {
                astroglia::experiment::lsm::variant_network(&net, v)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            n += 1;
        }
    }
    assert!(n >= 21, "only {n} experiment files");
}

/// A 2312- or 700-channel spike source onto 60 LIF neurons (written next to the data).
fn tiny_liquid(dir: &Path, channels: u32) -> PathBuf {
    let p = dir.join("tiny.toml");
    std::fs::write(
        &p,
        format!(
            r#"dt_ms = 1.0
duration_ms = 50.0
[[populations]]
name = "stim"
size = {channels}
spike_source = {{}}
[[populations]]
name = "liq"
size = 60
lif = {{ tau_m_ms = 20.0, v_th_mv = -55.0, v_reset_mv = -65.0, synapse = "delta" }}
[[projections]]
from = "stim"
to = "liq"
connect = {{ fixed_probability = {{ p = 0.2 }} }}
weight = 3.0
"#
        ),
    )
    .unwrap();
    p
}

fn events_experiment(source: &str, sample_ms: f64) -> Experiment {
    Experiment::parse(
        &format!(
            r#"
            model = "tiny.toml"
            batch = 3
            [data]
            source = "{source}"
            val_fraction = 0.3
            [input]
            population = "stim"
            encoding = "events"
            sample_ms = {sample_ms}
            [features]
            populations = ["liq"]
            [readout]
            kind = "ridge"
            "#
        ),
        "events.toml",
    )
    .unwrap()
}

#[test]
fn the_pipeline_reads_an_nmnist_tree_built_from_the_real_recording() {
    let bytes = std::fs::read(super::data::real(super::data::NMNIST)).unwrap();
    let root = tempfile::tempdir().unwrap();
    // 10 training and 2 test files: prefixes of the real recording (5 bytes a event).
    for (k, split, digit) in (0..12).map(|k| (k, if k < 10 { "Train" } else { "Test" }, k % 2)) {
        let p = root.path().join(format!("{split}/{digit}/{k:05}.bin"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &bytes[..5 * (2000 + 200 * k)]).unwrap();
    }
    tiny_liquid(root.path(), 2312);
    let out = tempfile::tempdir().unwrap();
    let mut o = opts(out.path(), 2);
    o.data_dir = Some(root.path().to_path_buf());
    let run = run_experiment(&events_experiment("nmnist", 60.0), root.path(), &o).unwrap();
    let r = &run.results;
    assert_eq!((r.n_train + r.n_val, r.n_test, r.n_features), (10, 2, 60));
    assert!(!run.raster.0.is_empty(), "the liquid never spiked");
}

#[test]
fn skip_bad_leaves_out_samples_that_fail_to_load() {
    let bytes = std::fs::read(super::data::real(super::data::NMNIST)).unwrap();
    let root = tempfile::tempdir().unwrap();
    for (k, split, digit) in (0..12).map(|k| (k, if k < 10 { "Train" } else { "Test" }, k % 2)) {
        let p = root.path().join(format!("{split}/{digit}/{k:05}.bin"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // File 3 ends inside an event (N-MNIST events are 5 bytes).
        let len = if k == 3 { 5 * 2000 + 2 } else { 5 * 2000 };
        std::fs::write(&p, &bytes[..len]).unwrap();
    }
    tiny_liquid(root.path(), 2312);
    let out = tempfile::tempdir().unwrap();
    let mut o = opts(out.path(), 2);
    o.data_dir = Some(root.path().to_path_buf());
    let mut exp = events_experiment("nmnist", 20.0);
    let e = run_experiment(&exp, root.path(), &o)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("Train/1/00003.bin"), "{e}");
    exp.data.skip_bad = true;
    let run = run_experiment(&exp, root.path(), &o).unwrap();
    let r = &run.results;
    assert_eq!((r.n_train + r.n_val, r.n_test), (9, 2));
}

#[test]
fn the_pipeline_reads_shd_files() {
    let root = tempfile::tempdir().unwrap();
    let write = |name: &str, n: usize| {
        // Sample k: 50 units spike in each ms t of [k, k + 100) ms (times in s).
        let pairs = |k: usize| -> Vec<(f32, u16)> {
            (0..100)
                .flat_map(|t| {
                    (0..50).map(move |j| ((t + k) as f32 / 1000.0, ((t * 7 + j * 13) % 700) as u16))
                })
                .collect()
        };
        let times: Vec<Vec<f32>> = (0..n)
            .map(|k| pairs(k).iter().map(|p| p.0).collect())
            .collect();
        let units: Vec<Vec<u16>> = (0..n)
            .map(|k| pairs(k).iter().map(|p| p.1).collect())
            .collect();
        let labels: Vec<u8> = (0..n).map(|k| (k % 2) as u8).collect();
        super::data::write_shd(&root.path().join(name), &times, &units, &labels);
    };
    write("shd_train.h5", 10);
    write("shd_test.h5", 4);
    tiny_liquid(root.path(), 700);
    let out = tempfile::tempdir().unwrap();
    let mut o = opts(out.path(), 1);
    o.data_dir = Some(root.path().to_path_buf());
    let run = run_experiment(&events_experiment("shd", 400.0), root.path(), &o).unwrap();
    assert_eq!(
        (run.results.n_train + run.results.n_val, run.results.n_test),
        (10, 4)
    );
    assert!(!run.raster.0.is_empty(), "the liquid never spiked");
}
