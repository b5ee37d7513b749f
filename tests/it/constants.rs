//! Named constants and numeric fields written as expressions of them
//! (`[constants]`, `weight = "-g * J"`), and `--set NAME=VALUE`.
use astroglia::model::{Dist, Network, parse_toml, parse_toml_with};
use std::process::Command;

fn brunel_text() -> String {
    std::fs::read_to_string(super::util::model_path("brunel.toml")).unwrap()
}

/// models/brunel.toml is written with constants; it must be the network of its
/// literal form (tests/data/brunel_literal.toml), so its spikes are unchanged.
#[test]
fn brunel_with_constants_is_its_literal_network() {
    let with = super::util::load("brunel.toml");
    let data =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/brunel_literal.toml");
    let literal = Network::from_toml_file(data).unwrap();
    assert_eq!(with.populations, literal.populations);
    assert_eq!(with.projections, literal.projections);
    assert_eq!(with.inputs, literal.inputs);
    assert_eq!(with.constants["C_E"], 1000.0);
    assert!(literal.constants.is_empty());
}

#[test]
fn overrides_change_every_field_that_reads_them() {
    let text = brunel_text();
    let net = parse_toml_with(
        &text,
        "brunel.toml",
        &[("g".into(), 4.5), ("eta".into(), 0.9)],
    )
    .unwrap();
    assert_eq!(net.projections[2].weight, Dist::Const(-(4.5 * 0.1)));
    assert_eq!(net.projections[0].weight, Dist::Const(0.1));
    assert_eq!(net.constants["g"], 4.5);
    let rate = format!("{:?}", net.inputs[0]);
    assert!(rate.contains("rate_hz: 9.0"), "{rate}");
    // A constant read by another constant follows the override too.
    let net = parse_toml_with(&text, "brunel.toml", &[("N_E".into(), 4000.0)]).unwrap();
    assert_eq!(net.populations[0].size, 4000);
    assert_eq!(net.populations[1].size, 1000);
    let connect = format!("{:?}", net.projections[0].connect);
    assert!(connect.contains("k: 400"), "{connect}");
}

fn error(text: &str) -> String {
    parse_toml(text, "m.toml").unwrap_err().to_string()
}

const POP: &str = "[[populations]]\nname = \"n\"\nsize = 2\nlif = {}\n";

#[test]
fn bad_constants_and_expressions_are_located() {
    let cycle = error(&format!("[constants]\na = \"b + 1\"\nb = \"2 * a\"\n{POP}"));
    assert!(
        cycle.contains("line 2: constants.a: reads b and they read it back (a cycle)"),
        "{cycle}"
    );
    let unknown = error(&format!(
        "[constants]\ng = 5\n{POP}[[projections]]\nfrom = \"n\"\nto = \"n\"\nconnect = {{ all_to_all = {{}} }}\nweight = \"-g * K\"\n"
    ));
    assert!(
        unknown.contains(
            "line 11: projections[0].weight: invalid type: string \"-g * K\", expected a number or a table with one of uniform, normal, lognormal, exponential; as an expression of [constants], \"-g * K\": unknown constant K (constants: g)"
        ),
        "{unknown}"
    );
    let syntax = error(&format!("[constants]\ng = \"5 *\"\n{POP}"));
    assert!(
        syntax.contains("constants.g: in \"5 *\": line 1, column 4: expected an expression"),
        "{syntax}"
    );
    let random = error(&format!("[constants]\ng = \"uniform()\"\n{POP}"));
    assert!(
        random.contains("uniform() draws a random number: constants are fixed"),
        "{random}"
    );
    let infinite = error(&format!("[constants]\ng = \"1 / 0\"\n{POP}"));
    assert!(infinite.contains("constants.g"), "{infinite}");
    let size =
        error("[constants]\nn = 2.5\n[[populations]]\nname = \"n\"\nsize = \"n\"\nlif = {}\n");
    assert!(size.contains("line 5: populations[0].size"), "{size}");
    let none = error("[[populations]]\nname = \"n\"\nsize = \"m\"\nlif = {}\n");
    assert!(
        none.contains("unknown constant m (constants: none; define them in [constants])"),
        "{none}"
    );
}

#[test]
fn strings_where_strings_belong_are_left_alone() {
    let net = parse_toml(
        "[constants]\nn = 3\n[[populations]]\nname = \"n\"\nsize = \"n\"\nlif = {}\n",
        "m.toml",
    )
    .unwrap();
    assert_eq!(net.populations[0].name, "n");
    assert_eq!(net.populations[0].size, 3);
}

#[test]
fn set_on_the_command_line_is_checked() {
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_astroglia"))
            .arg("check")
            .arg(super::util::model_path("brunel.toml"))
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--set", "q=1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--set q: the model has no constant 'q' (its constants: N_E, gamma, epsilon, C_E, J, g, eta, D, theta, tau)"), "{err}");
    let (code, err) = run(&["--set=g=abc"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("invalid value 'g=abc' for '--set <NAME=VALUE>': 'abc' is not a number"),
        "{err}"
    );
    let (code, err) = run(&["--set", "N_E=400"]);
    assert_eq!(code, Some(0), "{err}");
}
