//! Malformed model files: each gives one error naming the file, the line and the
//! field with what was expected (whole message compared); none panics.
use astroglia::model::Network;
use std::path::Path;

/// (file in tests/data/bad_models, the exact error message).
const CASES: &[(&str, &str)] = &[
    (
        "bad_monitor.toml",
        "bad_monitor.toml: invalid model: line 6: monitors.state[0].var: 'a' has no state variable 'w' (it has: v, i_exc, i_inh); line 6: monitors.state[0].every: must be at least 1",
    ),
    (
        "bad_noise.toml",
        "bad_noise.toml: invalid model: line 6: inputs[0].noise.ids: index 12 out of range for a population of 10; line 6: inputs[0].noise.std: must be >= 0, got -1",
    ),
    (
        "bad_weight_monitor.toml",
        "bad_weight_monitor.toml: invalid model: line 12: monitors.weights[0].projection: projection 'a->a' is not plastic: its weights never change; line 12: monitors.weights[0].every: must be at least 1; line 13: monitors.weights[1].projection: unknown projection 'a->b' (known: a->a); line 13: monitors.weights[1].bins: must be in 1..=10000, got 0; line 15: monitors.branching.populations[0]: unknown population 'liquid' (known: a); line 15: monitors.branching.sample_ms: must be at least dt_ms (0.1), got 0",
    ),
    (
        "bad_astrocyte.toml",
        "bad_astrocyte.toml: invalid model: line 20: astrocytes[0].input[0]: unknown population 'c' (known: a, b); line 21: astrocytes[0].modulates[0]: projection 'a->b' needs the nalsm plasticity rule; line 21: astrocytes[0].modulates[1]: unknown projection 'b->b' (known: a->b); line 22: astrocytes[0].tau_ms: must be a positive time in ms, got 0",
    ),
    (
        "bad_stdp.toml",
        "bad_stdp.toml: invalid model: line 15: projections[0].plasticity.stdp.tau_plus_ms: must be a positive time in ms, got -20; line 15: projections[0].plasticity.stdp.w_max: must be finite and above w_min (1), got 0.5",
    ),
    (
        "delay_below_step.toml",
        "delay_below_step.toml: invalid model: line 10: projections[0].delay_ms: must be at least one step (dt_ms = 0.1), got 0.05",
    ),
    (
        "distance_without_grid.toml",
        "distance_without_grid.toml: invalid model: line 8: projections[0].connect: distance rule needs 'a' on a grid (add it to [[grids]])",
    ),
    (
        "dt_zero.toml",
        "dt_zero.toml: invalid model: line 1: dt_ms: must be a positive number of ms, got 0",
    ),
    (
        "duplicate_name.toml",
        "duplicate_name.toml: invalid model: line 6: populations[1].name: duplicate population name 'a'",
    ),
    (
        "grid_mismatch.toml",
        "grid_mismatch.toml: invalid model: line 2: grids[0].shape: [2, 2, 2] has 8 points but its populations hold 9 neurons",
    ),
    (
        "indegree_and_dist.toml",
        "indegree_and_dist.toml: invalid model: line 8: projections[0].connect.fixed_indegree.k: 10 exceeds the 9 available presynaptic neurons; line 9: projections[0].weight: uniform needs low <= high, got low = 1, high = 0",
    ),
    (
        "lif_options.toml",
        "lif_options.toml: invalid model: line 4: populations[0].lif.refractory_input: applies only to synapse = \"delta\" (exponential synaptic currents take their input during the refractory period anyway); line 9: populations[1].lif.input_order: the fixed-point mode has only \"before_threshold\"; line 9: populations[1].lif.refractory_input: the fixed-point mode has only false (input dropped while refractory)",
    ),
    (
        "missing_size.toml",
        "missing_size.toml: invalid model: line 2: populations[0]: missing field `size`",
    ),
    (
        "negative_conductance.toml",
        "negative_conductance.toml: invalid model: line 9: projections[0].weight: conductance weights (nS) onto lif_cond 'a' must be >= 0; use receptor = \"inh\" for inhibition",
    ),
    (
        "negative_size.toml",
        "negative_size.toml: invalid model: line 4: populations[0].size: invalid value: integer `-5`, expected u32",
    ),
    (
        "negative_tau.toml",
        "negative_tau.toml: invalid model: line 5: populations[0].lif.tau_m_ms: must be a positive number or inf, got -4",
    ),
    (
        "p_out_of_range.toml",
        "p_out_of_range.toml: invalid model: line 9: projections[0].connect.fixed_probability.p: must be in [0, 1], got 1.5",
    ),
    (
        "syntax_error.toml",
        "syntax_error.toml: invalid model: line 1: syntax: unclosed array table, expected `]`",
    ),
    (
        "two_models.toml",
        "two_models.toml: invalid model: line 1: populations[0]: population 'a' needs exactly one model: a table of lif, lif_cond, izhikevich, adex, loihi_lif, poisson, spike_source or `model = \"name\"` of a [[neuron_models]] entry; found 2",
    ),
    (
        "unknown_input_order.toml",
        "unknown_input_order.toml: invalid model: line 4: populations[0].lif.input_order: unknown variant `brian2`, expected `before_threshold` or `after_threshold`",
    ),
    (
        "unknown_key.toml",
        "unknown_key.toml: invalid model: line 2: bogus: unknown field `bogus`, expected one of `name`, `dt_ms`, `duration_ms`, `seed`, `constants`, `neuron_models`, `synapse_models`, `populations`, `projections`, `inputs`, `grids`, `astrocytes`, `monitors`, `nir`",
    ),
    (
        "unknown_param.toml",
        "unknown_param.toml: invalid model: line 4: populations[0].lif.tau: unknown field `tau`, expected one of `c_m_pf`, `tau_m_ms`, `e_l_mv`, `v_reset_mv`, `v_th_mv`, `t_ref_ms`, `i_bias_pa`, `synapse`, `tau_syn_exc_ms`, `tau_syn_inh_ms`, `input_order`, `refractory_input`",
    ),
    (
        "unknown_stdp_param.toml",
        "unknown_stdp_param.toml: invalid model: line 18: projections[0].plasticity.triplet.tau_ms: unknown field `tau_ms`, expected one of `pairing`, `weight_dependence`, `a2_plus`, `a3_plus`, `a2_minus`, `a3_minus`, `tau_plus_ms`, `tau_minus_ms`, `tau_x_ms`, `tau_y_ms`, `w_min`, `w_max`",
    ),
    (
        "unknown_population.toml",
        "unknown_population.toml: invalid model: line 7: projections[0].to: unknown population 'b' (known: a)",
    ),
    (
        "unknown_rule.toml",
        "unknown_rule.toml: invalid model: line 15: projections[0].plasticity: unknown variant `hebbian`, expected one of `stdp`, `triplet`, `nalsm`, `reward_stdp`, `delta`, `user`",
    ),
    (
        "unknown_state_var.toml",
        "unknown_state_var.toml: invalid model: line 5: populations[0].init.u: 'lif' has no state variable 'u' (it has: v, i_exc, i_inh)",
    ),
    (
        "wrong_type.toml",
        "wrong_type.toml: invalid model: line 4: populations[0].size: invalid type: string \"ten\", expected u32; as an expression of [constants], \"ten\": unknown constant ten (constants: none; define them in [constants])",
    ),
];

#[test]
fn malformed_model_files_give_located_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad_models");
    assert!(CASES.len() >= 10);
    for (file, expected) in CASES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let err = astroglia::model::parse_toml(&text, file).expect_err(file);
        assert_eq!(err.to_string(), *expected, "{file}");
        assert!(matches!(err, astroglia::Error::Model { .. }));
    }
}

#[test]
fn every_bad_model_file_is_covered_and_names_its_path() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad_models");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
    let path = dir.join("dt_zero.toml");
    let err = Network::from_toml_file(&path).unwrap_err().to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
}

#[test]
fn missing_and_unreadable_files_are_io_errors() {
    let err = Network::from_toml_file("/nonexistent/x.toml").unwrap_err();
    assert!(matches!(err, astroglia::Error::Io { .. }));
    // The operating system's error stays reachable.
    let source = std::error::Error::source(&err).expect("an io::Error source");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string().starts_with("/nonexistent/x.toml: "),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("binary.toml");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let err = Network::from_toml_file(&bin).unwrap_err();
    assert!(err.to_string().contains("binary.toml"), "{err}");
}

#[test]
fn builder_networks_are_validated_too() {
    use astroglia::model::*;
    let mut net = Network::new(0.1, 10.0);
    net.add_population(Population::new(
        "a",
        0,
        NeuronModel::Lif(LifParams::default()),
    ));
    net.add_projection(Projection::new("a", "zz", Connect::OneToOne {}));
    let err = net.validate().unwrap_err().to_string();
    assert_eq!(
        err,
        "<builder>: invalid model: populations[0].size: must be at least 1; projections[0].to: unknown population 'zz' (known: a)"
    );
    let err = astroglia::Simulator::new(&net, Default::default())
        .err()
        .unwrap();
    assert!(matches!(err, astroglia::Error::Model { .. }));
}
