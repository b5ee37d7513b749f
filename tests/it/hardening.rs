//! Inputs that must be refused before any work starts, with exit code 2 and a
//! message naming their origin: durations no run can take, outputs that are not
//! regular files, model names that would lead outside `out/`.
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_astroglia"))
}

fn model(name: &str) -> String {
    super::util::model_path(name).display().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn durations_no_run_can_take_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cases = [
        ("-5", "--duration-ms must be a finite number >= 0, got -5"),
        ("nan", "--duration-ms must be a finite number >= 0, got NaN"),
        ("inf", "--duration-ms must be a finite number >= 0, got inf"),
        (
            "1e300",
            "--duration-ms = 1e300 ms is 1.0e301 steps of dt_ms = 0.1, more than the 4294967295 \
             one run can take",
        ),
    ];
    for (value, message) in cases {
        let flag = format!("--duration-ms={value}");
        let runs: [Vec<&str>; 2] = [
            vec!["run", "--no-plot", "--no-hdf5", "--quiet", "--out", out],
            vec!["fixed-point", "--bits", "8", "--seeds", "1", "--out", out],
        ];
        for mut args in runs {
            let cuba = model("cuba.toml");
            args.insert(1, &cuba);
            args.push(&flag);
            let o = bin().args(&args).output().unwrap();
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert_eq!(stderr(&o), format!("error: {message}\n"), "{args:?}");
        }
    }
}

#[test]
fn model_durations_of_more_steps_than_a_run_takes_are_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (dt, duration, steps) in [("0.1", "1e300", "1.0e301"), ("1e-300", "1000", "1.0e303")] {
        let path = dir.path().join("long.toml");
        std::fs::write(
            &path,
            format!(
                "dt_ms = {dt}\nduration_ms = {duration}\n[[populations]]\nname = \"p\"\n\
                 size = 1\nlif = {{}}\n"
            ),
        )
        .unwrap();
        let o = bin()
            .args(["check", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "error: {}: invalid model: line 2: duration_ms: {duration} ms is {steps} steps \
                 of dt_ms = {dt}, more than the 4294967295 one run can take\n",
                path.display()
            )
        );
    }
}

#[cfg(unix)]
#[test]
fn outputs_replace_only_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    std::os::unix::fs::symlink(&precious, out.join("summary.json")).unwrap();
    let run = |out: &std::path::Path| {
        bin()
            .args([
                "run",
                &model("coba.toml"),
                "--duration-ms",
                "10",
                "--no-plot",
            ])
            .args(["--no-hdf5", "--quiet", "--out", out.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let o = run(&out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: exists and is not a regular file (a symlink, directory or device); \
             refusing to replace it\n",
            out.join("summary.json").display()
        )
    );
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    assert!(out.join("summary.json").is_symlink());

    // A directory where a file goes is refused the same way, and left as it was.
    let out2 = dir.path().join("out2");
    std::fs::create_dir_all(out2.join("summary.json").join("inside")).unwrap();
    let o = run(&out2);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("exists and is not a regular file"));
    assert!(out2.join("summary.json").join("inside").is_dir());

    // A regular file is replaced as before.
    let out3 = dir.path().join("out3");
    std::fs::create_dir(&out3).unwrap();
    std::fs::write(out3.join("summary.json"), "old").unwrap();
    assert!(run(&out3).status.success());
    assert!(
        std::fs::read_to_string(out3.join("summary.json"))
            .unwrap()
            .contains("spikes_sha256")
    );
}

#[test]
fn a_model_name_cannot_lead_the_default_output_outside_out() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("a").join("b");
    std::fs::create_dir_all(&work).unwrap();
    let text = std::fs::read_to_string(model("izhikevich2003.toml")).unwrap();
    let text = text.replacen("name = \"izhikevich2003\"", "name = \"../../escape\"", 1);
    assert!(text.contains("../../escape"));
    std::fs::write(work.join("m.toml"), text).unwrap();
    let o = bin()
        .current_dir(&work)
        .args([
            "run",
            "m.toml",
            "--duration-ms",
            "10",
            "--no-plot",
            "--no-hdf5",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        work.join("out")
            .join(".._.._escape")
            .join("summary.json")
            .is_file()
    );
    assert!(!dir.path().join("escape").exists());
    assert!(!work.join("escape").exists());
}

#[test]
fn empty_models_and_negative_conductance_drives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let o = bin()
            .args(["check", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        let prefix = format!("error: {}: invalid model: ", path.display());
        assert!(err.starts_with(&prefix), "{err}");
        err[prefix.len()..].trim_end().to_string()
    };
    assert_eq!(
        check("empty.toml", ""),
        "populations: the model has none; it needs at least one [[populations]] table"
    );
    // Any model whose receptors take conductances, not only lif_cond.
    assert_eq!(
        check(
            "adex.toml",
            "[[populations]]\nname = \"a\"\nsize = 2\nadex = { synapse = \"conductance\" }\n\
             [[inputs]]\npoisson = { target = \"a\", n = 10, rate_hz = 5.0, weight = -1.0 }\n",
        ),
        "line 6: inputs[0].poisson.weight: conductance weights (nS) onto adex 'a' must be >= 0; \
         use receptor = \"inh\" for inhibition"
    );
}

#[test]
fn thread_counts_are_capped_at_the_cores_and_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str| {
        bin()
            .args(["run", &model("izhikevich2003.toml"), "--duration-ms", "20"])
            .args([
                "--no-plot",
                "--no-hdf5",
                "--quiet",
                "--threads",
                threads,
                "--out",
            ])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let o = run("100000");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!("warning: --threads 100000 is more than the {cores} cores here; using {cores}\n")
    );
    let o = run("0");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value '0' for '--threads <THREADS>': must be at least 1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn one_run_per_output_directory_and_debris_of_killed_runs_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("cache")).unwrap();
    let run = || {
        bin()
            .args(["run", &model("izhikevich2003.toml"), "--duration-ms", "20"])
            .args(["--no-plot", "--no-hdf5", "--quiet", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    // Another run (this process) holds the directory and is writing there.
    let holder = astroglia::record::claim_dir(&out).unwrap();
    let writing = [
        out.join(".summary.json.tmp-4000000-0"),
        out.join("cache").join(".chunk_0.bin.tmp-4000000-3"),
    ];
    for d in &writing {
        std::fs::write(d, "partial").unwrap();
    }
    // So this run stops before writing or removing anything.
    let o = run();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: another astroglia run is writing into {} (it holds {}); wait for it to \
             finish or choose another --out\n",
            out.display(),
            out.join(astroglia::record::LOCK_FILE).display()
        )
    );
    assert!(!out.join("summary.json").exists());
    assert!(
        writing.iter().all(|d| d.exists()),
        "the holder's files are left alone"
    );

    // The holder dies without cleaning up (its lock goes with it): the next run
    // removes what it left, at the top and in the cache.
    drop(holder);
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("summary.json").is_file());
    assert!(
        writing.iter().all(|d| !d.exists()),
        "debris removed by the next claim"
    );
}

#[test]
fn delays_longer_than_a_synapse_holds_are_refused_not_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let head = "dt_ms = 0.1\n[[populations]]\nname = \"a\"\nsize = 2\nlif = {}\n\
                [[projections]]\nfrom = \"a\"\nto = \"a\"\n";
    for (delay, field, shown) in [
        (
            "delay_ms = 7000.0\nconnect = { all_to_all = {} }",
            "delay_ms",
            "7000",
        ),
        (
            "delay_ms = { uniform = { low = 1.0, high = 6553.6 } }\nconnect = { all_to_all = {} }",
            "delay_ms",
            "6553.6",
        ),
        (
            "connect = { list = { pre = [0, 1], post = [1, 0], delays_ms = [1.0, 7000.0] } }",
            "connect.list.delays_ms",
            "7000",
        ),
    ] {
        let path = dir.path().join("delay.toml");
        std::fs::write(&path, format!("{head}{delay}\n")).unwrap();
        let o = bin()
            .args(["check", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let steps = if shown == "7000" { "70000" } else { "65536" };
        assert!(
            stderr(&o).contains(&format!(
                "projections[0].{field}: {shown} ms is {steps} steps of dt_ms = 0.1, more than \
                 the 65535 a delay can take"
            )),
            "{}",
            stderr(&o)
        );
    }
    // The longest delay a synapse holds is accepted.
    let path = dir.path().join("longest.toml");
    std::fs::write(
        &path,
        format!("{head}delay_ms = 6553.5\nconnect = {{ all_to_all = {{}} }}\n"),
    )
    .unwrap();
    let o = bin()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}
