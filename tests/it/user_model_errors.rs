//! Malformed user-written neuron and synapse models (`[[neuron_models]]`,
//! `[[synapse_models]]`): each file in
//! tests/data/user_models/bad is a small valid network with one defect. Its
//! error names the file, the line in the file and, for a place inside an
//! equation, threshold, reset or receptor string, the column in the file
//! (1-based characters), and says what is wrong. The binary's `check` exits
//! with code 2 on each and never panics.
//!
//! The lines and columns were counted by hand from the files.
use astroglia::model::Network;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (file, line in the file, column in the file where the place is inside a
/// string, part of the message).
type Case = (&'static str, usize, Option<usize>, &'static str);

const CASES: &[Case] = &[
    (
        "unknown_identifier.toml",
        9,
        Some(27),
        "unknown identifier 'tauu'; did you mean 'tau'?",
    ),
    (
        "unknown_identifier_threshold.toml",
        10,
        Some(18),
        "unknown identifier 'v_thr'; did you mean 'v_th'?",
    ),
    (
        "reset_assigns_parameter.toml",
        11,
        Some(19),
        "cannot assign to 'tau': it is a parameter",
    ),
    (
        "derivative_of_unknown.toml",
        9,
        Some(15),
        "'du/dt' is the derivative of an unknown state variable 'u'",
    ),
    (
        "derivative_of_parameter.toml",
        9,
        Some(15),
        "'tau' is a parameter, not a state variable",
    ),
    (
        "duplicate_derivative.toml",
        11,
        Some(2),
        "a second derivative of 'v'",
    ),
    (
        "division_by_zero.toml",
        9,
        Some(27),
        "division by a literal zero",
    ),
    (
        "recursive_definitions.toml",
        11,
        Some(1),
        "recursive definitions: a -> b -> a",
    ),
    (
        "unknown_function.toml",
        9,
        Some(23),
        "unknown function 'sigmoid'",
    ),
    (
        "wrong_arity.toml",
        9,
        Some(23),
        "exp() takes 1 argument, found 2",
    ),
    ("unbalanced_paren.toml", 9, Some(31), "unclosed '('"),
    (
        "trailing_operator.toml",
        9,
        Some(26),
        "expected an expression after '*', found end of line",
    ),
    (
        "missing_assign.toml",
        9,
        Some(20),
        "expected '=' after 'dv/dt', found '-'",
    ),
    (
        "stray_character.toml",
        9,
        Some(27),
        "unexpected character '$'",
    ),
    (
        "unknown_flag.toml",
        9,
        Some(36),
        "unknown flag 'unless spiking'",
    ),
    ("unknown_method.toml", 12, None, "unknown method 'midpoint'"),
    (
        "method_table_unknown_var.toml",
        12,
        None,
        "'w' has no derivative in equations",
    ),
    (
        "exact_nonlinear.toml",
        9,
        Some(22),
        "exact needs dv/dt linear in v",
    ),
    (
        "exponential_euler_nonlinear.toml",
        9,
        Some(22),
        "exponential_euler needs dv/dt linear in v",
    ),
    ("unknown_receptor.toml", 12, None, "unknown receptor 'ampa'"),
    (
        "receptor_assigns_w.toml",
        12,
        Some(22),
        "cannot assign to 'w': it is a constant",
    ),
    (
        "unknown_model.toml",
        16,
        None,
        "no neuron model named 'leakyy'",
    ),
    (
        "population_unknown_parameter.toml",
        17,
        None,
        "'leaky' has no parameter 'tauu'",
    ),
    (
        "init_unknown_state.toml",
        17,
        None,
        "'leaky' has no state variable 'u' (it has: v)",
    ),
    ("state_named_dt.toml", 8, None, "'dt' is built in"),
    ("state_named_i_ext.toml", 8, None, "'i_ext' is built in"),
    (
        "duplicate_model_name.toml",
        14,
        None,
        "duplicate neuron model name 'leaky'",
    ),
    (
        "negative_refractory.toml",
        12,
        None,
        "-1 is not a duration >= 0",
    ),
    (
        "threshold_not_expression.toml",
        10,
        Some(16),
        "found '=' (use '==' to compare)",
    ),
    (
        "reset_unknown_target.toml",
        11,
        Some(10),
        "cannot assign to unknown state variable 'u'",
    ),
    (
        "reset_incomplete.toml",
        11,
        Some(15),
        "expected an expression after '+='",
    ),
    (
        "basic_multiline_line2.toml",
        11,
        Some(23),
        "unknown identifier 'tauw'; did you mean 'tau'?",
    ),
    (
        "literal_multiline_line2.toml",
        11,
        Some(23),
        "unknown identifier 'tauw'; did you mean 'tau'?",
    ),
    (
        "syn_on_pre_changes_post.toml",
        14,
        Some(23),
        "on_pre cannot change 'y': it is a postsynaptic variable; change it in on_post",
    ),
    (
        "syn_pre_reads_post.toml",
        11,
        Some(9),
        "'x' is a presynaptic variable and cannot read 'y' (a postsynaptic variable)",
    ),
    (
        "syn_bump_reads_weight.toml",
        15,
        Some(29),
        "'y' is a postsynaptic variable and cannot read 'w' (a synapse variable)",
    ),
    (
        "syn_unknown_identifier.toml",
        15,
        Some(17),
        "unknown identifier 'b'",
    ),
    (
        "syn_assigns_parameter.toml",
        15,
        Some(12),
        "cannot assign to 'a': it is a parameter",
    ),
    (
        "syn_bad_bounds.toml",
        16,
        None,
        "must be finite and above w_min (0), got -1",
    ),
    (
        "syn_unknown_model.toml",
        34,
        None,
        "no synapse model named 'pairs' in synapse_models",
    ),
    (
        "syn_unknown_parameter.toml",
        34,
        None,
        "'pair' has no parameter 'b' (it has: tau, a)",
    ),
];

/// Dimension checks of models that declare `units`.
const UNITS_CASES: &[Case] = &[
    (
        "units_equation_mismatch.toml",
        10,
        Some(22),
        "'dv/dt' must be in",
    ),
    (
        "units_threshold_mismatch.toml",
        11,
        Some(14),
        "units differ in '>'",
    ),
    (
        "units_wrong_derivative_unit.toml",
        10,
        Some(33),
        "': nS' contradicts the unit of 'v'",
    ),
];

/// Places the binary reports elsewhere than the hand count (the expectations
/// here are the hand count).
const MISPLACED: &[Case] = &[
    // Line 2 of a one-line basic string starts after its `\n` escape, on the
    // same file line (column 31 + 19); the binary says line 10, column 19:
    // the threshold's line.
    (
        "basic_escaped_newline.toml",
        9,
        Some(50),
        "unknown identifier 'tauw'",
    ),
    // `tau = "2 * tau0"` before the equation on the same line is replaced by
    // `10` (8 characters fewer) before the place is mapped: the binary says
    // column 133.
    (
        "constants_same_line.toml",
        4,
        Some(141),
        "unknown identifier 'tauu'",
    ),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/user_models/bad")
}

/// Why `file`'s error does not match the case, if it does not.
fn mismatch(&(file, line, column, part): &Case) -> Option<String> {
    let path = dir().join(file);
    let err = match Network::from_toml_file(&path) {
        Ok(_) => return Some(format!("{file}: accepted")),
        Err(e) => e,
    };
    if !matches!(err, astroglia::Error::Model { .. }) {
        return Some(format!("{file}: not a model error: {err}"));
    }
    let text = err.to_string();
    let place = match column {
        Some(c) => format!("line {line}, column {c}: "),
        None => format!("line {line}: "),
    };
    // The place must be that of the issue that says `part`: the last place
    // before `part`, with no other issue ("; line ...") in between.
    let ok = text.starts_with(&path.display().to_string())
        && text.find(part).is_some_and(|at| {
            text[..at]
                .rfind(&place)
                .is_some_and(|p| !text[p + place.len()..at].contains("; line "))
        });
    (!ok).then(|| format!("{file}: expected '{place}... {part}', got: {text}"))
}

fn check_all(cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(mismatch).collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn each_defect_is_reported_at_its_place_in_the_file() {
    assert!(CASES.len() + UNITS_CASES.len() + MISPLACED.len() >= 30);
    check_all(CASES);
}

#[test]
fn dimension_errors_are_reported_at_their_place_in_the_file() {
    check_all(UNITS_CASES);
}

#[test]
fn places_after_escapes_and_constants_are_in_the_file() {
    check_all(MISPLACED);
}

#[test]
fn every_file_is_listed() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = CASES
        .iter()
        .chain(UNITS_CASES)
        .chain(MISPLACED)
        .map(|c| c.0.to_string())
        .collect();
    listed.sort();
    assert_eq!(files, listed);
}

/// `astroglia check` on every file: no panic; exit code 2.
#[test]
fn check_exits_2_on_every_file_without_panicking() {
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = Command::new(env!("CARGO_BIN_EXE_astroglia"))
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("panicked") {
            failures.push(format!("{file}: panicked: {stderr}"));
        }
        if out.status.code() != Some(2) {
            failures.push(format!("{file}: exit {:?}: {stderr}", out.status.code()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
