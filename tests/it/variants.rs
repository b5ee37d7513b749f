//! Plasticity variants of an LSM experiment (`[[variants]]`): each variant gives
//! exactly the run of its network written out by hand, the comparison is written,
//! and bad variants give located errors before anything is simulated.
use std::path::{Path, PathBuf};

use astroglia::experiment::lsm::{
    Experiment, Results, RunOptions, run_experiment, run_variants, write_comparison,
};
use astroglia::sim::BackendKind;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn opts(out: &Path) -> RunOptions {
    RunOptions {
        data_dir: None,
        backend: BackendKind::Cpu,
        adapter: None,
        threads: 2,
        out: out.to_path_buf(),
        progress: false,
    }
}

/// A short NALSM digits experiment on `model` (relative to models/).
fn small(model: &str, variants: &str) -> String {
    format!(
        r#"model = "{model}"
batch = 4
branching_samples = 4
[data]
source = "digits"
max_train = 100
max_test = 40
[input]
population = "input"
encoding = "nalsm_rate"
sample_ms = 60.0
[init]
samples = 40
sample_ms = 20.0
[features]
populations = ["exc", "inh"]
reset_weights = true
astrocyte_decay = 0.99
[readout]
kind = "ridge"
normalisation = "nalsm"
{variants}"#
    )
}

fn same(a: &Results, b: &Results) {
    assert_eq!(a.test_accuracy, b.test_accuracy);
    assert_eq!(a.val_accuracy, b.val_accuracy);
    assert_eq!(a.train_accuracy, b.train_accuracy);
    assert_eq!(a.branching_factor, b.branching_factor);
    assert_eq!(a.liquid_rate_hz, b.liquid_rate_hz);
}

#[test]
fn each_variant_runs_exactly_its_network() {
    let dir = tempfile::tempdir().unwrap();
    let variants = r#"
[[variants]]
name = "nalsm"
[[variants]]
name = "static"
plasticity = { "*" = { none = {} } }
[[variants]]
name = "no_astro"
astrocytes = false
"#;
    let exp = Experiment::parse(&small("digits_nalsm_liquid.toml", variants), "v.toml").unwrap();
    let mut runs = vec![];
    let cmp = run_variants(&exp, &models(), &opts(dir.path()), |v, run| {
        runs.push((v.name.clone(), run.results.clone()));
        Ok(())
    })
    .unwrap();
    assert_eq!(cmp.variants.len(), 3);

    // The unchanged variant is the plain experiment.
    let mut plain = exp.clone();
    plain.variants.clear();
    let out = dir.path().join("plain");
    let base = run_experiment(&plain, &models(), &opts(&out)).unwrap();
    same(&runs[0].1, &base.results);
    assert!(runs[0].1.timings.init_s > 0.0);

    // The other two against the model file edited by hand: every `plasticity`
    // line removed (static), or the [[astrocytes]] table removed.
    let text = std::fs::read_to_string(models().join("digits_nalsm_liquid.toml")).unwrap();
    let no_astro = &text[..text.find("[[astrocytes]]").unwrap()];
    let static_text: String = no_astro
        .lines()
        .filter(|l| !l.starts_with("plasticity"))
        .map(|l| format!("{l}\n"))
        .collect();
    for (k, model_text) in [(1, static_text.as_str()), (2, no_astro)] {
        let mdir = dir.path().join(format!("model{k}"));
        std::fs::create_dir_all(&mdir).unwrap();
        std::fs::write(mdir.join("liquid.toml"), model_text).unwrap();
        let e = Experiment::parse(&small("liquid.toml", ""), "e.toml").unwrap();
        let r = run_experiment(&e, &mdir, &opts(&mdir)).unwrap();
        same(&runs[k].1, &r.results);
    }
    // The rules make a difference, and the rows say which rules ran.
    assert_ne!(runs[0].1.liquid_rate_hz, runs[1].1.liquid_rate_hz);
    assert_ne!(runs[0].1.liquid_rate_hz, runs[2].1.liquid_rate_hz);
    assert!(cmp.variants[0].astrocytes && !cmp.variants[2].astrocytes);
    assert!(cmp.variants[1].plastic.is_empty());
    assert_eq!(cmp.variants[1].init_s, 0.0);
    assert_eq!(cmp.variants[2].plastic.len(), 8);

    write_comparison(dir.path(), &cmp).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("comparison.json")).unwrap())
            .unwrap();
    assert_eq!(json["variants"][1]["name"], "static");
    assert_eq!(
        json["variants"][0]["test_accuracy"].as_f64().unwrap(),
        base.results.test_accuracy
    );
    // The chart needs the `plot` feature; the JSON is written either way.
    let png = std::fs::read(dir.path().join("comparison.png"));
    if cfg!(feature = "plot") {
        assert!(png.unwrap().starts_with(b"\x89PNG"));
    } else {
        assert!(png.is_err());
    }
    let table = cmp.table();
    assert_eq!(table.lines().count(), 2 + 3 + 1, "{table}");
    assert!(table.contains("| static | static |"), "{table}");
    assert!(table.contains("| nalsm | nalsm + astrocyte |"), "{table}");
}

#[test]
fn bad_variants_give_located_errors() {
    let err = |variants: &str| {
        Experiment::parse(&small("digits_nalsm_liquid.toml", variants), "v.toml")
            .unwrap_err()
            .to_string()
    };
    // The experiment text has 21 lines before the variants.
    let e = err("[[variants]]\nname = \"a\"\n[[variants]]\nname = \"a\"\n");
    assert!(
        e.contains("line 25: variants[1].name: duplicate variant name 'a'"),
        "{e}"
    );
    let e = err("[[variants]]\nname = \"cache\"\n");
    assert!(
        e.contains(
            "line 23: variants[0].name: must be a non-empty directory name other than 'cache'"
        ),
        "{e}"
    );
    let e =
        err("[[variants]]\nname = \"b\"\n[variants.plasticity]\nee = { none = {}, stdp = {} }\n");
    assert!(
        e.contains(
            "variants[0].plasticity.ee.stdp: several rule tables (none, stdp): give exactly one"
        ),
        "{e}"
    );
    let e = err(
        "[[variants]]\nname = \"b\"\n[variants.plasticity]\nee = { stdp = { tau_plus_ms = -1.0 } }\n",
    );
    assert!(
        e.contains("line 25: variants[0].plasticity.ee.stdp.tau_plus_ms:"),
        "{e}"
    );
    let e = err("[[variants]]\nname = \"b\"\nastrocyte = false\n");
    assert!(e.contains("line 24"), "{e}");
    assert!(e.contains("astrocyte"), "{e}");

    // A projection the model lacks: found before anything runs.
    let exp = Experiment::parse(
        &small(
            "digits_nalsm_liquid.toml",
            "[[variants]]\nname = \"a\"\n[[variants]]\nname = \"b\"\nplasticity = { xx = { none = {} } }\n",
        ),
        "v.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = run_variants(&exp, &models(), &opts(dir.path()), |_, _| {
        panic!("nothing may run")
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(
            "variant 'b': plasticity: no projection 'xx' in the model (it has in+exc, in-exc"
        ),
        "{e}"
    );
    // run_experiment refuses a file with variants, run_variants one without.
    assert!(run_experiment(&exp, &models(), &opts(dir.path())).is_err());
    let mut plain = exp.clone();
    plain.variants.clear();
    assert!(run_variants(&plain, &models(), &opts(dir.path()), |_, _| Ok(())).is_err());
}
