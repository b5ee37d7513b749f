//! Single LIF neurons against closed-form answers: the membrane trace under a
//! constant current and the f-I curve with refractoriness.
use super::util::trains;
use astroglia::model::*;
use astroglia::sim::{SimOptions, Simulator};

fn lif() -> LifParams {
    LifParams::default()
        .c_m_pf(250.0)
        .tau_m_ms(10.0)
        .e_l_mv(-65.0)
        .v_reset_mv(-70.0)
        .v_th_mv(-50.0)
        .t_ref_ms(2.0)
}

#[test]
fn lif_trace_matches_closed_form_under_constant_current() {
    let p = lif();
    let (dt, amp) = (0.1, 300.0); // v_inf = -65 + 300·10/250 = -53 mV: stays subthreshold
    let mut net = Network::new(dt, 100.0);
    net.add_population(Population::new("n", 1, NeuronModel::Lif(p.clone())));
    net.add_input(Input::Current(CurrentInput::new("n", amp)));
    net.monitors.state.push(StateMonitor::new("n", "v"));
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    sim.run_ms(100.0).unwrap();
    let rec = sim.recording();
    let tr = &rec.states[0];
    assert_eq!(tr.values.len(), 1000);
    let v_inf = p.e_l_mv + amp * p.tau_m_ms / p.c_m_pf;
    let mut max_err: f64 = 0.0;
    for (&step, &v) in tr.steps.iter().zip(&tr.values) {
        let t = (step + 1) as f64 * dt; // state after step `step`
        let exact = v_inf + (p.e_l_mv - v_inf) * (-t / p.tau_m_ms).exp();
        max_err = max_err.max((v as f64 - exact).abs());
    }
    // f32 rounding: each step adds at most ~2 ulp of |v| (≈ 7.6e-6 mV near -53 mV),
    // damped by p33 = exp(-dt/tau_m), so the error stays below 2 ulp / (1 - p33).
    let ulp = f32::EPSILON as f64 * 64.0;
    let bound = 2.0 * ulp / (1.0 - (-dt / p.tau_m_ms).exp());
    assert!(
        max_err < bound,
        "max |v - closed form| = {max_err} mV > {bound}"
    );
    assert_eq!(sim.summary().populations["n"].spikes, 0);
}

#[test]
fn lif_rate_matches_analytic_f_i_curve_within_one_percent() {
    let p = lif();
    let dt = 0.01;
    let currents = [400.0, 450.0, 500.0, 600.0, 800.0, 1000.0, 1500.0, 2500.0];
    let mut net = Network::new(dt, 2000.0);
    net.add_population(Population::new(
        "n",
        currents.len() as u32,
        NeuronModel::Lif(p.clone()),
    ));
    for (i, &a) in currents.iter().enumerate() {
        net.add_input(Input::Current(
            CurrentInput::new("n", a).ids(vec![i as u32]),
        ));
    }
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    sim.run_ms(2000.0).unwrap();
    let tr = trains(&sim, "n");
    for (i, &a) in currents.iter().enumerate() {
        let v_inf = p.e_l_mv + a * p.tau_m_ms / p.c_m_pf;
        let isi = p.t_ref_ms + p.tau_m_ms * ((v_inf - p.v_reset_mv) / (v_inf - p.v_th_mv)).ln();
        let analytic = 1000.0 / isi;
        let t = &tr[i];
        assert!(t.len() > 10, "I = {a} pA fired {} spikes", t.len());
        let measured = 1000.0 * (t.len() - 1) as f64 / (t[t.len() - 1] - t[0]);
        let rel = (measured - analytic).abs() / analytic;
        assert!(
            rel < 0.01,
            "I = {a} pA: {measured:.3} Hz vs analytic {analytic:.3} Hz ({:.3} %)",
            rel * 100.0
        );
    }
}

#[test]
fn lif_below_rheobase_never_fires_and_refractory_clamps() {
    // Rheobase: v_inf = v_th ⇔ I = (v_th - E_L)·C/tau_m = 375 pA.
    let p = lif();
    let mut net = Network::new(0.1, 500.0);
    net.add_population(Population::new("n", 2, NeuronModel::Lif(p.clone())));
    net.add_input(Input::Current(CurrentInput::new("n", 370.0).ids(vec![0])));
    net.add_input(Input::Current(CurrentInput::new("n", 1e5).ids(vec![1])));
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    sim.run_ms(500.0).unwrap();
    let tr = trains(&sim, "n");
    assert!(tr[0].is_empty());
    // A huge current fires at every step the refractory period allows: ISI = t_ref + dt.
    let isis: Vec<f64> = tr[1].windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        isis.iter().all(|&x| (x - 2.1).abs() < 1e-9),
        "{:?}",
        &isis[..5]
    );
}

#[test]
fn delta_synapse_jumps_the_membrane_by_its_weight() {
    // One source spike at 1 ms, weight 5 mV, delay 1 ms: V jumps at 2 ms then decays.
    let p = LifParams::default()
        .synapse(SynapseKind::Delta)
        .e_l_mv(0.0)
        .v_reset_mv(0.0)
        .v_th_mv(20.0)
        .tau_m_ms(10.0);
    let mut net = Network::new(0.1, 10.0);
    net.add_population(Population::new(
        "src",
        1,
        NeuronModel::SpikeSource(SpikeSourceParams::new(vec![1.0], vec![0])),
    ));
    net.add_population(Population::new("n", 1, NeuronModel::Lif(p)));
    net.add_projection(
        Projection::new("src", "n", Connect::OneToOne {})
            .weight(5.0)
            .delay_ms(1.0),
    );
    net.monitors.state.push(StateMonitor::new("n", "v"));
    let sim = {
        let mut s = Simulator::new(&net, SimOptions::default()).unwrap();
        s.run_ms(10.0).unwrap();
        s
    };
    let tr = &sim.recording().states[0];
    // Arrives in step 20 (t = 2.0 ms) and decays by exp(-dt/tau) in the same step.
    assert_eq!(tr.values[19], 0.0);
    let expect = 5.0 * (-0.1f64 / 10.0).exp();
    assert!(
        (tr.values[20] as f64 - expect).abs() < 1e-5,
        "{}",
        tr.values[20]
    );
    let later = 5.0 * (-3.1f64 / 10.0).exp();
    assert!((tr.values[50] as f64 - later).abs() < 1e-4);
}
