//! The `astroglia` binary: outputs of `run` (summary.json schema, HDF5, PNG), exit
//! codes and messages for bad arguments and files, `--help`.
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_astroglia"))
}

fn model(name: &str) -> String {
    super::util::model_path(name).display().to_string()
}

#[test]
fn run_writes_summary_hdf5_and_raster() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "run",
            &model("coba.toml"),
            "--duration-ms",
            "100",
            "--seed",
            "4",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "backend",
            "build_s",
            "device",
            "dt_ms",
            "duration_ms",
            "events_per_s",
            "memory_bytes",
            "model",
            "phase_s",
            "populations",
            "seed",
            "sim_s",
            "spikes_sha256",
            "steps",
            "synaptic_events",
            "wall_s"
        ]
    );
    assert_eq!(v["model"], "coba");
    assert_eq!(v["backend"], "cpu");
    // Phases of the step (sampled one step in 8) and the recording outside the loop.
    let phase = |k: &str| v["phase_s"][k].as_f64().unwrap();
    let names = ["inputs", "neurons", "propagate", "plasticity", "record"];
    assert_eq!(v["phase_s"].as_object().unwrap().len(), names.len());
    assert!(names.iter().all(|k| phase(k) >= 0.0));
    assert!(phase("neurons") > 0.0 && phase("propagate") > 0.0);
    assert_eq!(phase("plasticity"), 0.0, "COBA has no plasticity");
    let in_loop: f64 = names[..4].iter().map(|k| phase(k)).sum();
    assert!(in_loop < 2.0 * v["sim_s"].as_f64().unwrap() + 0.01);
    assert_eq!(v["seed"], 4);
    assert_eq!(v["steps"], 1000);
    assert_eq!(v["spikes_sha256"].as_str().unwrap().len(), 64);
    let exc = &v["populations"]["exc"];
    assert_eq!(exc["size"], 3200);
    let spikes = exc["spikes"].as_u64().unwrap();
    let rate = exc["rate_hz"].as_f64().unwrap();
    assert!((rate - spikes as f64 / (3200.0 * 0.1)).abs() < 1e-9);
    // Targets take 4 B per synapse; each projection's constant weight is stored once.
    let syn_bytes = v["memory_bytes"]["synapses"].as_u64().unwrap();
    assert!(
        syn_bytes > 320_000 * 4 && syn_bytes < 320_000 * 5,
        "{syn_bytes}"
    );

    let rec = astroglia::record::hdf5::read_hdf5(&dir.path().join("spikes.h5")).unwrap();
    let e = rec.spikes.iter().find(|p| p.population == "exc").unwrap();
    assert_eq!(e.ids.len() as u64, spikes);
    let png = std::fs::read(dir.path().join("raster.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // The same run with the same seed gives the same hash.
    let dir2 = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "run",
            &model("coba.toml"),
            "--duration-ms",
            "100",
            "--seed",
            "4",
            "--no-plot",
            "--no-hdf5",
            "-q",
            "--out",
        ])
        .arg(dir2.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir2.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(v["spikes_sha256"], v2["spikes_sha256"]);
}

#[test]
fn hdf5_is_readable_from_python_when_h5py_is_installed() {
    let ok = Command::new("python3")
        .args(["-c", "import h5py"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 with h5py not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "run",
            &model("izhikevich2003.toml"),
            "--duration-ms",
            "200",
            "--no-plot",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_spikes.py");
    let py = Command::new("python3")
        .arg(script)
        .arg(dir.path().join("spikes.h5"))
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let text = String::from_utf8_lossy(&py.stdout);
    for pop in ["exc", "inh"] {
        let n = v["populations"][pop]["spikes"].as_u64().unwrap();
        let row = text
            .lines()
            .find(|l| l.split('\t').next() == Some(pop))
            .expect("a row per population");
        assert_eq!(
            row.split('\t').nth(2),
            Some(n.to_string().as_str()),
            "python printed {text}"
        );
    }
}

#[test]
fn bad_arguments_and_files_exit_2_with_a_clear_message() {
    let out = bin()
        .args(["run", "/nonexistent/model.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/model.toml"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "dt_ms = 0.1\n[[populations]]\nname = \"a\"\nsize = 0\nlif = {}\n",
    )
    .unwrap();
    let out = bin().arg("run").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "error: {}: invalid model: line 4: populations[0].size: must be at least 1",
            bad.display()
        )
    );

    let out = bin()
        .args(["run", &model("coba.toml"), "--duration-ms", "-5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["run", &model("coba.toml"), "--backend", "tpu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tpu"));
}

#[test]
fn help_explains_every_option() {
    let out = bin().args(["run", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--backend",
        "--seed",
        "--duration-ms",
        "--out",
        "--no-plot",
        "--no-hdf5",
        "--quiet",
        "--threads",
    ] {
        assert!(text.contains(opt), "--help lacks {opt}:\n{text}");
    }
}

#[test]
fn closed_stdout_pipe_is_not_a_panic() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "run",
            &model("izhikevich2003.toml"),
            "--duration-ms",
            "50",
            "--no-plot",
            "--no-hdf5",
            "--out",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -0`: the reader is gone before the summary is printed
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn batch_run_writes_every_instance_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "run",
            &model("coba.toml"),
            "--duration-ms",
            "50",
            "--seed",
            "4",
            "--batch",
            "3",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let inst = v["instances"].as_array().expect("instances listed");
    assert_eq!(inst.len(), 3);
    for (b, i) in inst.iter().enumerate() {
        assert_eq!(i["seed"], 4 + b as u64);
        let d = dir.path().join(format!("instance_{b}"));
        assert!(d.join("spikes.h5").is_file() && d.join("raster.png").is_file());
    }
    assert_eq!(inst[0]["spikes_sha256"], v["spikes_sha256"]);
    for bad in [["--batch", "0"], ["--instance-seeds", "x"]] {
        let out = bin()
            .args(["run", &model("coba.toml"), bad[0], bad[1]])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(bad[0]),
            "{bad:?}"
        );
    }
}

#[test]
fn models_describes_every_registered_model_from_the_registry() {
    let out = bin().arg("models").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let blocks: Vec<&str> = text.split("\n\n").collect();
    let keys: Vec<&str> = blocks.iter().map(|b| b.lines().next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "lif",
            "lif_cond",
            "izhikevich",
            "adex",
            "loihi_lif",
            "poisson",
            "spike_source"
        ]
    );
    let block = |k: &str| blocks[keys.iter().position(|x| *x == k).unwrap()];
    // Defaults written out, presets resolved (AdEx's default is Brette & Gerstner's cell).
    assert!(
        block("adex").contains("    c_m_pf = 281.0\n"),
        "{}",
        block("adex")
    );
    assert!(
        block("adex").contains("    v        mV    -70.6\n"),
        "{}",
        block("adex")
    );
    assert!(block("lif").contains("    synapse = \"exponential\"\n"));
    assert!(block("lif").contains("    exc   pA  -> i_exc\n"));
    assert!(block("lif_cond").contains("    ge  nS    0\n"));
    assert!(block("lif_cond").ends_with("    inh   nS  -> gi"));
    assert!(block("izhikevich").contains("    u  mV/ms -13\n"));
    assert!(block("poisson").contains("a spike source"));
    assert!(block("loihi_lif").contains("    vth = 10\n"));
    assert!(block("loihi_lif").ends_with("    inh   int -> u"));

    let one = bin().args(["models", "lif_cond"]).output().unwrap();
    assert_eq!(
        String::from_utf8(one.stdout).unwrap(),
        format!("{}\n", block("lif_cond"))
    );

    let bad = bin().args(["models", "hh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(bad.stderr).unwrap(),
        "error: no model 'hh'; the models are lif, lif_cond, izhikevich, adex, loihi_lif, \
         poisson, spike_source\n"
    );
}
