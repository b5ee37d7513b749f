//! The `lif` options `input_order` and `refractory_input`: a single neuron under
//! a known input pattern against traces derived by hand for each setting, and
//! CPU == GPU (bit for bit, phase by phase) for a recurrent network with Poisson
//! drive under every option combination. Bad values: tests/it/bad_models.rs.
use super::gpu_parity::assert_phases_match;
use astroglia::model::*;
use astroglia::sim::{SimOptions, Simulator};

const DT: f64 = 0.1;

/// One neuron `n` fed by spike sources: `(step, weight)` makes the input of
/// `weight` (mV for delta synapses, pA for exponential ones) arrive at `step`
/// (a source spike one step earlier, delay one step). Returns the spike steps of
/// `n` and the traces of `v`, `i_exc` after every step.
fn run_one(p: LifParams, inputs: &[(u64, f64)], steps: u64) -> (Vec<u64>, Vec<f32>, Vec<f32>) {
    let mut net = Network::new(DT, steps as f64 * DT);
    net.add_population(Population::new("n", 1, NeuronModel::Lif(p)));
    for (k, &(step, w)) in inputs.iter().enumerate() {
        let name = format!("s{k}");
        net.add_population(Population::new(
            &name,
            1,
            NeuronModel::SpikeSource(SpikeSourceParams::new(
                vec![(step - 1) as f64 * DT],
                vec![0],
            )),
        ));
        net.add_projection(
            Projection::new(&name, "n", Connect::AllToAll { allow_self: true })
                .weight(w)
                .delay_ms(DT),
        );
    }
    for var in ["v", "i_exc"] {
        net.monitors.state.push(StateMonitor::new("n", var));
    }
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    sim.run_ms(net.duration_ms).unwrap();
    let rec = sim.recording();
    let spikes = rec
        .spikes
        .iter()
        .find(|s| s.population == "n")
        .unwrap()
        .steps
        .clone();
    for tr in &rec.states {
        assert_eq!(tr.steps, (0..steps).collect::<Vec<_>>());
    }
    (
        spikes,
        rec.states[0].values.clone(),
        rec.states[1].values.clone(),
    )
}

fn assert_trace(what: &str, got: &[f32], want: impl Fn(u64) -> f64) {
    for (t, &g) in got.iter().enumerate() {
        let w = want(t as u64);
        assert!(
            (g as f64 - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{what}: after step {t} got {g}, expected {w}"
        );
    }
}

fn delta(order: InputOrder, refractory_input: bool) -> LifParams {
    LifParams::default()
        .synapse(SynapseKind::Delta)
        .tau_m_ms(10.0)
        .e_l_mv(0.0)
        .v_reset_mv(0.0)
        .v_th_mv(10.0)
        .t_ref_ms(0.5) // 5 steps
        .input_order(order)
        .refractory_input(refractory_input)
}

/// Delta synapses, inputs (mV) arriving at steps 10 (+12: enough to fire), 11
/// (+1), 12 (+4) and 20 (+3), leak factor q = exp(-dt/tau_m) per step, E_L =
/// V_reset = 0, threshold 10, 5 refractory steps.
///
/// - before_threshold: 12 jumps V before the test: spike at step 10
///   (12 q >= 10), refractory at steps 11..=15. Dropped: the +1 and +4 are lost,
///   V = 0 until the +3 at step 20: V(t) = 3 q^(t-19). Kept: each refractory
///   input leaks from its arrival, V(t) = q^(t-10) + 4 q^(t-11) from step 11 on
///   (+ 3 q^(t-19) from step 20), no second spike.
/// - after_threshold: V = 12 after step 10 (no spike: the test saw V = 0), spike
///   at step 11 (12 q); the +1 of step 11 enters after the test and is wiped by
///   the reset in both settings; refractory at steps 12..=16. Dropped: V = 0
///   until step 20, then V(t) = 3 q^(t-20). Kept: V(t) = 4 q^(t-12) from step 12
///   (+ 3 q^(t-20) from step 20).
#[test]
fn delta_orders_and_refractory_input_follow_the_derived_traces() {
    let q = (-DT / 10.0f64).exp();
    let inputs = [(10, 12.0), (11, 1.0), (12, 4.0), (20, 3.0)];
    let pw = move |t: u64, from: u64| q.powi((t - from) as i32);
    type Trace = Box<dyn Fn(u64) -> f64>;
    let cases: [(InputOrder, bool, u64, Trace); 4] = [
        (
            InputOrder::BeforeThreshold,
            false,
            10,
            Box::new(move |t| if t >= 20 { 3.0 * pw(t, 19) } else { 0.0 }),
        ),
        (
            InputOrder::BeforeThreshold,
            true,
            10,
            Box::new(move |t| match t {
                0..=10 => 0.0,
                11 => q,
                12..=19 => pw(t, 10) + 4.0 * pw(t, 11),
                _ => pw(t, 10) + 4.0 * pw(t, 11) + 3.0 * pw(t, 19),
            }),
        ),
        (
            InputOrder::AfterThreshold,
            false,
            11,
            Box::new(move |t| match t {
                10 => 12.0,
                20.. => 3.0 * pw(t, 20),
                _ => 0.0,
            }),
        ),
        (
            InputOrder::AfterThreshold,
            true,
            11,
            Box::new(move |t| match t {
                10 => 12.0,
                0..=11 => 0.0,
                12..=19 => 4.0 * pw(t, 12),
                _ => 4.0 * pw(t, 12) + 3.0 * pw(t, 20),
            }),
        ),
    ];
    for (order, keep, spike, want) in cases {
        let what = format!("{order:?}, refractory_input = {keep}");
        let (spikes, v, _) = run_one(delta(order, keep), &inputs, 40);
        assert_eq!(spikes, [spike], "{what}");
        assert_trace(&what, &v, want);
    }
}

/// A refractory neuron with `refractory_input = true` fires as soon as it is
/// active again when the input held over the period is above threshold, where
/// the dropped setting stays silent; held input is in `v` during the period.
#[test]
fn kept_refractory_input_can_fire_the_neuron_when_it_recovers() {
    let q = (-DT / 10.0f64).exp();
    // Spike at step 5 (before_threshold), then +11 at step 7 (refractory: until 11).
    let inputs = [(5, 12.0), (7, 11.0)];
    let (spikes, v, _) = run_one(delta(InputOrder::BeforeThreshold, false), &inputs, 20);
    assert_eq!(spikes, [5]);
    assert_trace("dropped", &v, |_| 0.0);
    let (spikes, v, _) = run_one(delta(InputOrder::BeforeThreshold, true), &inputs, 20);
    // 11 q^4 = 10.57 after step 10, 11 q^5 = 10.46 >= 10 at step 11: a spike.
    assert_eq!(spikes, [5, 11]);
    assert_trace("kept", &v[..11], |t| {
        if t >= 7 {
            11.0 * q.powi(t as i32 - 6)
        } else {
            0.0
        }
    });
    assert_eq!(v[11], 0.0);
}

/// Exponential currents: before_threshold adds the input to I before the step's
/// propagation (V moves at the arrival step, I = w p22 after it); after_threshold
/// adds it after (V first moves one step later, I = w after the arrival step).
/// V follows the closed form of a current pulse w e^{-s/tau_s} from its onset:
/// w tau_s tau_m / (C (tau_s - tau_m)) (e^{-s/tau_s} - e^{-s/tau_m}), s the time
/// since the input entered (one step more for before_threshold).
#[test]
fn exponential_orders_follow_the_closed_form() {
    let (c, tau_m, tau_s, w) = (250.0, 10.0, 5.0, 500.0);
    let p = |order| {
        LifParams::default()
            .e_l_mv(0.0)
            .v_reset_mv(-5.0)
            .v_th_mv(10.0)
            .c_m_pf(c)
            .tau_m_ms(tau_m)
            .tau_syn_exc_ms(tau_s)
            .input_order(order)
    };
    let vpulse = |s: f64| {
        w * tau_s * tau_m / (c * (tau_s - tau_m)) * ((-s / tau_s).exp() - (-s / tau_m).exp())
    };
    let ipulse = |s: f64| w * (-s / tau_s).exp();
    let arrive = 10;
    for (order, shift) in [
        (InputOrder::BeforeThreshold, 1),
        (InputOrder::AfterThreshold, 0),
    ] {
        let what = format!("{order:?}");
        let (spikes, v, i) = run_one(p(order), &[(arrive, w)], 60);
        assert!(spikes.is_empty(), "{what}");
        // Time since the input entered, after step t.
        let s = |t: u64| (t + shift) as f64 * DT - arrive as f64 * DT;
        let on = |t: u64| t + shift > arrive;
        assert_trace(&format!("{what} v"), &v, |t| {
            if on(t) { vpulse(s(t)) } else { 0.0 }
        });
        assert_trace(&format!("{what} i_exc"), &i, |t| {
            if t >= arrive { ipulse(s(t)) } else { 0.0 }
        });
    }
}

/// A recurrent network with Poisson drive (and refractory neurons receiving it)
/// under `lif`: `opts` are extra keys of the table.
fn network(synapse: &str, opts: &str) -> String {
    let (weights, drive) = if synapse == "delta" {
        ("{ normal = { mean = 0.4, std = 1.0 } }", 0.9)
    } else {
        ("{ normal = { mean = 20.0, std = 40.0 } }", 60.0)
    };
    format!(
        r#"
        dt_ms = 0.1
        [[populations]]
        name = "a"
        size = 700
        lif = {{ synapse = "{synapse}", tau_m_ms = 20.0, e_l_mv = 0.0, v_reset_mv = 5.0, v_th_mv = 20.0, t_ref_ms = 0.5{opts} }}
        init = {{ v = {{ uniform = {{ low = 0.0, high = 20.0 }} }} }}
        [[projections]]
        from = "a"
        to = "a"
        connect = {{ fixed_probability = {{ p = 0.05 }} }}
        weight = {weights}
        delay_ms = {{ uniform = {{ low = 0.1, high = 0.8 }} }}
        [[inputs]]
        poisson = {{ target = "a", n = 400, rate_hz = 40.0, weight = {drive} }}
        [[inputs]]
        poisson = {{ target = "a", n = 100, rate_hz = 40.0, weight = -{drive} }}
        "#
    )
}

#[test]
fn every_option_combination_matches_the_gpu_bit_for_bit() {
    let combos = [
        ("exponential", ""),
        ("exponential", r#", input_order = "after_threshold""#),
        ("delta", ""),
        ("delta", r#", input_order = "after_threshold""#),
        ("delta", ", refractory_input = true"),
        (
            "delta",
            r#", input_order = "after_threshold", refractory_input = true"#,
        ),
    ];
    for (synapse, opts) in combos {
        eprintln!("{synapse}{opts}");
        // Asserts that the network spikes, and every state after every phase.
        if assert_phases_match(&network(synapse, opts), 21, 60).is_none() {
            return;
        }
    }
}

/// The CPU alone: the options change the spikes of the same network, and the
/// default table equals the explicit defaults.
#[test]
fn options_change_spikes_and_explicit_defaults_change_nothing() {
    let hash = |toml: &str| {
        let net = parse_toml(toml, "net.toml").unwrap();
        let mut sim = Simulator::new(&net, SimOptions::default().seed(3)).unwrap();
        sim.run_ms(20.0).unwrap();
        sim.spikes_sha256()
    };
    let default = hash(&network("delta", ""));
    assert_eq!(
        default,
        hash(&network(
            "delta",
            r#", input_order = "before_threshold", refractory_input = false"#
        ))
    );
    let others = [
        hash(&network("delta", r#", input_order = "after_threshold""#)),
        hash(&network("delta", ", refractory_input = true")),
        hash(&network(
            "delta",
            r#", input_order = "after_threshold", refractory_input = true"#,
        )),
    ];
    for h in &others {
        assert_ne!(*h, default);
    }
    assert_ne!(others[0], others[2]);
    assert_ne!(
        hash(&network("exponential", "")),
        hash(&network(
            "exponential",
            r#", input_order = "after_threshold""#
        ))
    );
}

#[test]
fn bad_option_values_are_rejected_in_the_rust_api_too() {
    let mut net = Network::new(0.1, 1.0);
    net.add_population(Population::new(
        "a",
        1,
        NeuronModel::Lif(LifParams::default().refractory_input(true)),
    ));
    let err = net.validate().unwrap_err().to_string();
    assert_eq!(
        err,
        "<builder>: invalid model: populations[0].lif.refractory_input: applies only to synapse = \"delta\" (exponential synaptic currents take their input during the refractory period anyway)"
    );
}
