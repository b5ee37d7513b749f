//! `astroglia compare`: one model under several plasticity rules, its outputs,
//! and located errors for bad rules files and arguments.
use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_astroglia"))
}

fn model(name: &str) -> String {
    super::util::model_path(name).display().to_string()
}

const TWO_RULES: &str = r#"
[[rules]]
name = "additive"
stdp = { a_plus = 0.006, a_minus = 0.0063, w_max = 0.6 }
[[rules]]
name = "multiplicative"
stdp = { weight_dependence = "multiplicative", a_plus = 0.006, a_minus = 0.0063, w_max = 0.6 }
"#;

fn compare(dir: &Path, rules: &str, extra: &[&str]) -> Output {
    let path = dir.join("rules.toml");
    std::fs::write(&path, rules).unwrap();
    bin()
        .args(["compare", &model("stdp_song.toml"), "--rules"])
        .arg(&path)
        .args(extra)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap()
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn compare_two_stdp_variants_on_song() {
    let dir = tempfile::tempdir().unwrap();
    let out = compare(
        dir.path(),
        TWO_RULES,
        &["--projection", "stdp", "--duration-ms", "2000"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("additive ")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("multiplicative ")),
        "{stdout}"
    );

    let o = dir.path().join("out");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(o.join("compare.json")).unwrap()).unwrap();
    assert_eq!(v["model"], "stdp_song");
    assert_eq!(v["duration_ms"], 2000.0);
    assert_eq!(v["projections"], serde_json::json!(["stdp"]));
    assert!(v.get("branching").is_none());
    let variants = v["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["name"], "additive");
    assert_eq!(variants[1]["name"], "multiplicative");
    assert_eq!(
        variants[1]["rule"]["stdp"]["weight_dependence"],
        "multiplicative"
    );
    // Same seed: same inputs; different rules: different output and weights.
    assert_eq!(
        variants[0]["populations"]["inputs"]["spikes"],
        variants[1]["populations"]["inputs"]["spikes"]
    );
    assert_ne!(variants[0]["spikes_sha256"], variants[1]["spikes_sha256"]);
    for var in variants {
        assert!(var["populations"]["neuron"]["rate_hz"].as_f64().unwrap() > 0.0);
        assert_eq!(var["spikes_sha256"].as_str().unwrap().len(), 64);
        let p = &var["plasticity"]["stdp"];
        for key in ["mean_w", "w_max", "frac_above_90pct", "frac_below_10pct"] {
            assert!(p[key].is_f64(), "{key} missing in {p}");
        }
        let hist: u64 = p["hist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(hist, 1000);
    }
    let h0 = &variants[0]["plasticity"]["stdp"]["hist"];
    let h1 = &variants[1]["plasticity"]["stdp"]["hist"];
    assert_ne!(h0, h1);
    // Additive STDP pushes weights to the bounds; multiplicative keeps them inside.
    let f = |i: usize, k: &str| variants[i]["plasticity"]["stdp"][k].as_f64().unwrap();
    assert!(f(0, "frac_above_90pct") + f(0, "frac_below_10pct") > 0.1);
    assert!(f(1, "frac_above_90pct") + f(1, "frac_below_10pct") < 0.02);
    assert!(is_png(&o.join("weights.png")));
    assert!(is_png(&o.join("rates.png")));
    assert!(!o.join("branching.png").exists());

    // The same command again gives the same results.
    let dir2 = tempfile::tempdir().unwrap();
    let out = compare(
        dir2.path(),
        TWO_RULES,
        &["--projection", "all", "--duration-ms", "2000", "-q"],
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let v2: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir2.path().join("out/compare.json")).unwrap(),
    )
    .unwrap();
    for i in 0..2 {
        assert_eq!(
            v2["variants"][i]["spikes_sha256"],
            variants[i]["spikes_sha256"]
        );
    }
}

#[test]
fn static_variant_keeps_initial_weights() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "[[rules]]\nname = \"static\"\nnone = {}\n";
    let out = compare(
        dir.path(),
        rules,
        &["--projection", "stdp", "--duration-ms", "500", "-q"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/compare.json")).unwrap(),
    )
    .unwrap();
    let s = &v["variants"][0];
    assert!(s["rule"].is_null());
    // Uniform in [0, 0.6]: binned over the model rule's bounds.
    assert_eq!(s["plasticity"]["stdp"]["w_max"], 0.6);
    let mean = s["plasticity"]["stdp"]["mean_w"].as_f64().unwrap();
    assert!((mean - 0.3).abs() < 0.03, "{mean}");
}

fn failure(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_rules_files_give_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml").display().to_string();
    let cases = [
        (
            "[[rules]]\nname = \"a\"\nstdp = { a_plus = 0.006, w_maxx = 0.6 }\n",
            "line 3: rules[0].stdp.w_maxx: unknown field `w_maxx`",
        ),
        (
            "[[rules]]\nname = \"a\"\nnone = {}\n[[rules]]\nname = \"b\"\nhebb = { rate = 1.0 }\n",
            "line 6: rules[1].hebb: unknown field `hebb`",
        ),
        (
            "[[rules]]\nname = \"a\"\nstdp = { tau_plus_ms = -20.0 }\n",
            "line 3: rules[0].stdp.tau_plus_ms:",
        ),
        (
            "[[rules]]\nname = \"a\"\n\n[[rules]]\nname = \"b\"\nnone = {}\n",
            "line 1: rules[0]: needs one rule table",
        ),
        (
            "[[rules]]\nname = \"a\"\nnone = {}\ntriplet = {}\n",
            "line 4: rules[0].triplet: several rule tables (none, triplet)",
        ),
        (
            "[[rules]]\nname = \"a\"\nstdp = { pairing = \"closest\" }\n",
            "line 3: rules[0].stdp.pairing: unknown variant `closest`",
        ),
        ("[[rules]\n", "line 1: syntax:"),
        ("rules = 3\n", "line 1: rules:"),
    ];
    for (text, expected) in cases {
        let out = compare(dir.path(), text, &["--projection", "stdp"]);
        let err = failure(&out);
        assert!(
            err.starts_with(&format!("error: {path}: invalid rules file: {expected}")),
            "for {text:?}: {err}"
        );
    }
    // A missing rules file names the path.
    let out = bin()
        .args([
            "compare",
            &model("stdp_song.toml"),
            "--projection",
            "stdp",
            "--rules",
            "/nonexistent/rules.toml",
        ])
        .output()
        .unwrap();
    assert!(failure(&out).contains("/nonexistent/rules.toml"));
}

#[test]
fn unknown_projection_or_population_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = compare(dir.path(), TWO_RULES, &["--projection", "synapses"]);
    assert_eq!(
        failure(&out),
        "error: --projection synapses: no such projection (known: stdp)"
    );
    let out = compare(
        dir.path(),
        TWO_RULES,
        &["--projection", "stdp", "--bf-population", "liquid"],
    );
    assert_eq!(
        failure(&out),
        "error: --bf-population liquid: no such population (known: inputs, neuron)"
    );
    // No recurrent synapses among the named populations.
    let out = compare(
        dir.path(),
        TWO_RULES,
        &["--projection", "stdp", "--bf-population", "neuron"],
    );
    assert!(failure(&out).contains("no projection connects"));
    let out = compare(
        dir.path(),
        TWO_RULES,
        &["--projection", "stdp", "--duration-ms=-1"],
    );
    assert!(failure(&out).contains("--duration-ms"));
    // --projection is required.
    let out = compare(dir.path(), TWO_RULES, &[]);
    assert!(failure(&out).contains("--projection"));
    assert!(!dir.path().join("out/compare.json").exists());
}

#[test]
fn branching_factor_per_sample_on_a_liquid() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nname = \"static\"\nnone = {}\n[[rules]]\nname = \"nalsm\"\nnalsm = { w_min = 0.0, w_max = 3.0 }\n",
    )
    .unwrap();
    let out = bin()
        .args([
            "compare",
            &model("nalsm_liquid.toml"),
            "--projection",
            "ee",
            "--rules",
        ])
        .arg(&rules)
        .args([
            "--duration-ms",
            "1000",
            "--bf-population",
            "exc",
            "inh",
            "--bf-sample-ms",
            "500",
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
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("compare.json")).unwrap())
            .unwrap();
    assert_eq!(
        v["branching"]["populations"],
        serde_json::json!(["exc", "inh"])
    );
    assert_eq!(v["branching"]["neurons"], 1000);
    assert!(v["branching"]["edges"].as_u64().unwrap() > 1000);
    for var in v["variants"].as_array().unwrap() {
        let bf = &var["branching_factor"];
        assert_eq!(bf["per_sample"].as_array().unwrap().len(), 2);
        assert!(bf["mean"].as_f64().unwrap() > 0.0);
    }
    assert!(is_png(&dir.path().join("branching.png")));
}

#[test]
fn compare_help_explains_every_option() {
    let out = bin().args(["compare", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--projection",
        "--rules",
        "--seed",
        "--duration-ms",
        "--out",
        "--bf-population",
        "--bf-sample-ms",
        "--threads",
        "--quiet",
        "none = {}",
    ] {
        assert!(text.contains(opt), "--help lacks {opt}:\n{text}");
    }
}
