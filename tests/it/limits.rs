//! Inputs asking for more than a run can hold: sizes refused before allocation
//! with the part to blame and the estimate, numbers no field may hold, arrays
//! given for tables, sample lengths and experiment sizes, CLI values by flag,
//! errors naming the experiment, the model and the data.
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_astroglia"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const HEAD: &str = "dt_ms = 0.1\nduration_ms = 10\n";

fn pop(name: &str, size: &str) -> String {
    format!("[[populations]]\nname = \"{name}\"\nsize = {size}\nlif = {{}}\n")
}

fn proj(connect: &str) -> String {
    format!("[[projections]]\nfrom = \"a\"\nto = \"a\"\nconnect = {{ {connect} }}\n")
}

/// `astroglia check` on `text` with `extra` arguments: (exit code, stderr).
fn check(text: &str, extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(&path, text).unwrap();
    let o = bin().arg("check").arg(&path).args(extra).output().unwrap();
    let path = path.display().to_string();
    (o.status.code(), stderr(&o).replace(&path, "m.toml"))
}

#[test]
fn sizes_beyond_what_ids_and_rows_hold_are_located_errors() {
    let cases = [
        (
            format!("{HEAD}{}{}", pop("a", "3000000000"), pop("b", "3000000000")),
            "line 3: populations: 6000000000 neurons in all, more than the 4294967295 a \
             network holds (neuron ids are u32)",
        ),
        (
            format!("{HEAD}{}{}", pop("a", "200000"), proj("all_to_all = {}")),
            "line 10: projections[0].connect: makes about 4.000e10 synapses, more than the \
             4294967295 a projection holds; split it into several projections",
        ),
        (
            format!(
                "{HEAD}{}{}",
                pop("a", "1000000"),
                proj("fixed_probability = { p = 1.0 }")
            ),
            "line 10: projections[0].connect: makes about 1.000e12 synapses",
        ),
        (
            format!(
                "{HEAD}{}{}",
                pop("a", "5000000"),
                proj("fixed_indegree = { k = 1000 }")
            ),
            "line 10: projections[0].connect: makes about 5.000e9 synapses",
        ),
        (
            format!(
                "{HEAD}{}{}",
                pop("a", "5000000"),
                proj("fixed_outdegree = { k = 1000000 }")
            ),
            "line 10: projections[0].connect: makes about 5.000e12 synapses",
        ),
        (
            format!(
                "{HEAD}{}[[grids]]\nshape = [4294967295, 4294967295, 4294967295]\n\
                 populations = [\"a\"]\n",
                pop("a", "8")
            ),
            "grids[0].shape: [4294967295, 4294967295, 4294967295] has \
             79228162458924105385300197375 points but its populations hold 8 neurons",
        ),
    ];
    for (text, message) in cases {
        let (code, err) = check(&text, &[]);
        assert_eq!(code, Some(2), "{text}\n{err}");
        assert!(err.contains(message), "{text}\n{err}");
    }
}

#[test]
fn astrocyte_domains_finer_than_the_grid_are_refused() {
    let text = format!(
        "{HEAD}{}[[grids]]\nshape = [2, 2, 2]\npopulations = [\"a\"]\n\
         [[astrocytes]]\nname = \"x\"\nliquid = [\"a\"]\ninput = []\nmodulates = []\n\
         domains = [1000000, 1000000, 1000000]\n",
        pop("a", "8")
    );
    let (code, err) = check(&text, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "astrocytes[0].domains: [1000000, 1000000, 1000000] cuts the grid of shape \
             [2, 2, 2] finer than its points"
        ),
        "{err}"
    );
}

#[test]
fn a_network_larger_than_the_memory_allowed_is_refused_before_it_is_built() {
    // 4e9 synapses of ~4 bytes: within what a projection holds, not within 1 GB.
    let text = format!(
        "{HEAD}{}{}",
        pop("a", "1000000"),
        proj("fixed_probability = { p = 0.004 }")
    );
    let (code, err) = check(&text, &["--max-memory", "1G"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err,
        "error: m.toml: the network needs about 16.1 GB; the largest part is projections[0] \
         'a->a' with 16.0 GB, more than the 1.0 GB allowed by --max-memory\n"
    );
    // Without the flag the limit is what the process may take: here `ulimit -v`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(&path, &text).unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 3000000 && exec '{}' check '{}'",
            env!("CARGO_BIN_EXE_astroglia"),
            path.display()
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("free for this process"),
        "{}",
        stderr(&o)
    );
    // A state recorder of every neuron at every step counts too.
    let text = format!(
        "dt_ms = 0.1\nduration_ms = 1e6\n{}[[monitors.state]]\npopulation = \"a\"\nvar = \"v\"\n",
        pop("a", "100000")
    );
    let (code, err) = check(&text, &["--max-memory", "1G"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the largest part is monitors.state[0] ('a' v) with 4.0 TB"),
        "{err}"
    );
    // Malformed sizes are refused by the flag's name.
    let (code, err) = check(&text, &["--max-memory", "lots"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("invalid value 'lots' for '--max-memory <SIZE>'"),
        "{err}"
    );
}

#[test]
fn nan_and_infinity_are_refused_at_their_field() {
    let cases = [
        (
            "lif = { v_th_mv = nan }",
            "line 6: populations[0].lif.v_th_mv",
        ),
        (
            "lif = { c_m_pf = inf }",
            "line 6: populations[0].lif.c_m_pf",
        ),
        (
            "izhikevich = { a = -inf }",
            "line 6: populations[0].izhikevich.a",
        ),
        (
            "lif = {}\n[[projections]]\nfrom = \"a\"\nto = \"a\"\n\
             connect = { list = { pre = [0, 1], post = [1, 0], weights = [1.0, nan] } }",
            "line 10: projections[0].connect.list.weights[1]",
        ),
        (
            "lif = {}\n[[projections]]\nfrom = \"a\"\nto = \"a\"\nweight = nan\n\
             connect = { all_to_all = {} }",
            "line 10: projections[0].weight",
        ),
        (
            "lif = {}\n[[inputs]]\ncurrent = { target = \"a\", amplitude = inf }",
            "line 8: inputs[0].current.amplitude",
        ),
    ];
    for (body, at) in cases {
        let text = format!("{HEAD}[[populations]]\nname = \"a\"\nsize = 2\n{body}\n");
        let (code, err) = check(&text, &[]);
        assert_eq!(code, Some(2), "{body}\n{err}");
        assert!(
            err.contains(&format!("{at}: must be a finite number, got ")),
            "{body}\n{err}"
        );
    }
    // An infinite time constant is the no-leak limit, a value with a meaning.
    let text =
        format!("{HEAD}[[populations]]\nname = \"a\"\nsize = 2\nlif = {{ tau_m_ms = inf }}\n");
    assert_eq!(check(&text, &[]).0, Some(0));
}

#[test]
fn tables_cannot_be_given_as_arrays() {
    for (body, at) in [
        ("lif = [1.0, 2.0]", "line 6: populations[0].lif"),
        (
            "lif = {}\n[[projections]]\nfrom = \"a\"\nto = \"a\"\nconnect = { fixed_probability = [0.5] }",
            "line 10: projections[0].connect.fixed_probability",
        ),
    ] {
        let text = format!("{HEAD}[[populations]]\nname = \"a\"\nsize = 2\n{body}\n");
        let (code, err) = check(&text, &[]);
        assert_eq!(code, Some(2), "{body}\n{err}");
        assert!(
            err.contains(&format!(
                "{at}: expected a table such as `{{ name = value }}`, got an array"
            )),
            "{body}\n{err}"
        );
    }
}

#[test]
fn fixed_point_widths_are_refused_by_their_flag() {
    let model = super::util::model_path("cuba.toml");
    for (args, message) in [
        (
            vec!["--bits", "99"],
            "invalid value '99' for '--bits <BITS>': 99 is not in 4..=28",
        ),
        (
            vec!["--weight-bits=40"],
            "invalid value '40' for '--weight-bits <WEIGHT_BITS>': 40 is not in 2..=16",
        ),
        (
            vec!["--decay-bits", "3"],
            "invalid value '3' for '--decay-bits <DECAY_BITS>': 3 is not in 4..=15",
        ),
        (
            vec!["--bits", "4,8", "--weight-bits", "6"],
            "--weight-bits 6 is more than --bits 4: a weight must fit in the state",
        ),
    ] {
        let o = bin()
            .arg("fixed-point")
            .arg(&model)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
}

/// Writes the shipped experiment `name` with `edit` applied into `dir`, next to
/// a copy of its model; runs `command` on it: (exit code, stderr).
fn experiment(command: &str, name: &str, edit: &dyn Fn(String) -> String) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let models = super::util::model_path(".");
    for f in std::fs::read_dir(&models).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
        }
    }
    let path = dir.path().join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    let o = bin()
        .arg(command)
        .arg(&path)
        .args(["--quiet", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let at = dir.path().display().to_string();
    (o.status.code(), stderr(&o).replace(&at, "DIR"))
}

#[test]
fn sample_lengths_and_feature_sizes_no_run_can_hold_are_refused() {
    let (code, err) = experiment("experiment", "digits_lsm.toml", &|t| {
        t.replace("sample_ms = 250.0", "sample_ms = 1e300")
    });
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err,
        "error: DIR/digits_lsm.toml: invalid experiment: input.sample_ms: 1e300 ms is 1.0e300 \
         steps of dt_ms = 1, more than the 10000000 a sample can take\n"
    );
    let (code, err) = experiment("experiment", "digits_lsm.toml", &|t| {
        t.replace("[features]", "[features]\nbins = 1000000000")
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("features.bins: 1000000000 bins is more than the 250 steps of a sample"),
        "{err}"
    );
    let (code, err) = experiment("continual", "continual_digits.toml", &|t| {
        t.replace("sample_ms = 40.0", "sample_ms = 1e300")
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("input.sample_ms: 1e300 ms is 1.0e300 steps of dt_ms = 1,"),
        "{err}"
    );
}

#[test]
fn experiment_sizes_beyond_memory_are_refused_naming_the_field() {
    let (code, err) = experiment("continual", "continual_digits.toml", &|t| {
        t.replace("count = 3", "count = 1000000000")
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("tasks.count = 1000000000 tasks need about "),
        "{err}"
    );
    let (code, err) = experiment("continual", "continual_digits.toml", &|t| {
        t.replace("hidden = [200]", "hidden = [1000000000]")
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("error: experiment DIR/continual_digits.toml: "),
        "{err}"
    );
}

#[test]
fn errors_of_an_experiment_name_it_then_its_model() {
    // The model's input population is too small for the data: the message names
    // the experiment, the field and the model.
    let (code, err) = experiment("experiment", "digits_lsm.toml", &|t| {
        t.replace("population = \"input\"", "population = \"exc\"")
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with(
            "error: DIR/digits_lsm.toml: invalid experiment: input.population: 'exc' of \
             DIR/digits_liquid.toml must be a spike source"
        ),
        "{err}"
    );
    // A model error found by the experiment: experiment → model → field.
    let (code, err) = experiment("experiment", "digits_lsm.toml", &|t| {
        t.replace("model = \"digits_liquid.toml\"", "model = \"cuba.toml\"")
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("error: DIR/digits_lsm.toml: invalid experiment: input.population: no population 'input' in the model DIR/cuba.toml"),
        "{err}"
    );
}

#[test]
fn a_population_larger_than_memory_and_duplicate_keys_are_named() {
    let (code, err) = check(&format!("{HEAD}{}", pop("a", "4294967295")), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the largest part is populations[0] 'a' with "),
        "{err}"
    );
    let (code, err) = check(&format!("{HEAD}{}size = 3\n", pop("a", "2")), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("line 7: syntax: duplicate key `size`"),
        "{err}"
    );
    for (path, what) in [("/dev/zero", "not a regular file"), ("/tmp", "a directory")] {
        let o = bin().args(["check", path]).output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            stderr(&o),
            format!("error: {path}: {what}; expected a text file\n")
        );
    }
}
