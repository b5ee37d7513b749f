//! Each Izhikevich (2003) preset shows its published firing pattern (Fig. 2) under a
//! step current I = 10 from t = 10 ms (dt = 0.1 ms, half-step integration).
use astroglia::model::*;
use astroglia::model::{IzhPreset, IzhikevichParams};
use astroglia::sim::{SimOptions, Simulator};

/// Spike times (ms) of one neuron of preset `p` under `amp` on [start, stop).
fn spikes(p: IzhPreset, amp: f64, start: f64, stop: Option<f64>, ms: f64) -> Vec<f64> {
    let mut net = Network::new(0.1, ms);
    net.add_population(Population::new(
        "n",
        1,
        NeuronModel::Izhikevich(IzhikevichParams::preset(p)),
    ));
    let mut current = CurrentInput::new("n", amp).start_ms(start);
    current.stop_ms = stop;
    net.add_input(Input::Current(current));
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    sim.run_ms(ms).unwrap();
    sim.recording().spikes[0]
        .steps
        .iter()
        .map(|&s| s as f64 * 0.1)
        .collect()
}

fn isis(t: &[f64]) -> Vec<f64> {
    t.windows(2).map(|w| w[1] - w[0]).collect()
}

fn step(p: IzhPreset) -> Vec<f64> {
    isis(&spikes(p, 10.0, 10.0, None, 300.0))
}

#[test]
fn rs_fires_tonically_with_spike_frequency_adaptation() {
    let i = step(IzhPreset::RS);
    assert!(i.len() >= 4, "{i:?}");
    assert!(i.iter().all(|&x| x > 10.0), "RS must not burst: {i:?}");
    assert!(i[0] < 0.6 * i[i.len() - 1], "RS must adapt: {i:?}");
}

#[test]
fn ib_bursts_then_fires_tonically() {
    let i = step(IzhPreset::IB);
    assert!(i[0] < 5.0 && i[1] < 5.0, "IB starts with a burst: {i:?}");
    assert!(
        i[2..].iter().all(|&x| x > 20.0),
        "then single spikes: {i:?}"
    );
    let tail = &i[3..];
    let (lo, hi) = tail
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(hi / lo < 1.05, "tonic part is regular: {i:?}");
}

#[test]
fn ch_bursts_repeatedly() {
    let i = step(IzhPreset::CH);
    let long: Vec<usize> = (0..i.len()).filter(|&k| i[k] > 20.0).collect();
    assert!(
        long.len() >= 3,
        "CH needs at least 3 inter-burst pauses: {i:?}"
    );
    for w in long.windows(2) {
        let within = &i[w[0] + 1..w[1]];
        assert!(
            within.len() >= 2 && within.iter().all(|&x| x < 8.0),
            "each burst has ≥ 3 fast spikes: {i:?}"
        );
    }
}

#[test]
fn fs_fires_fast_without_adaptation_or_bursts() {
    let i = step(IzhPreset::FS);
    let rate = 1000.0 / (i.iter().sum::<f64>() / i.len() as f64);
    assert!(rate > 100.0, "FS rate {rate} Hz");
    let steady = &i[3..];
    let (lo, hi) = steady
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(
        hi / lo < 1.1,
        "FS ISIs stay constant after the onset: {i:?}"
    );
    let rs = step(IzhPreset::RS);
    assert!(i.len() > 4 * rs.len(), "FS fires far more than RS");
}

#[test]
fn lts_fires_high_frequency_onset_then_adapts() {
    let i = step(IzhPreset::LTS);
    assert!(i[0] < 5.0, "LTS onset is fast: {i:?}");
    assert!(i[i.len() - 1] > 3.0 * i[0], "LTS adapts: {i:?}");
    assert!(i[i.len() - 1] > 10.0, "{i:?}");
}

#[test]
fn tc_shows_rebound_burst_after_hyperpolarisation_and_rs_does_not() {
    // I = -15 on [100, 200) ms, then released: TC (and LTS) rebound, RS stays silent.
    let tc = spikes(IzhPreset::TC, -15.0, 100.0, Some(200.0), 400.0);
    let rebound: Vec<f64> = tc
        .iter()
        .copied()
        .filter(|&t| (200.0..250.0).contains(&t))
        .collect();
    assert!(rebound.len() >= 3, "TC rebound: {tc:?}");
    assert!(
        rebound[1] - rebound[0] < 10.0,
        "rebound spikes come as a burst: {tc:?}"
    );
    assert!(
        tc.iter().all(|&t| t >= 200.0),
        "TC is silent before release: {tc:?}"
    );
    assert!(spikes(IzhPreset::RS, -15.0, 100.0, Some(200.0), 400.0).is_empty());
    // Depolarised, TC fires tonically.
    let i = step(IzhPreset::TC);
    assert!(i.len() > 20 && i.iter().all(|&x| x < 12.0), "{i:?}");
}

#[test]
fn rz_resonator_fires_rebound_spike_and_sustained_high_frequency() {
    let rz = spikes(IzhPreset::RZ, -15.0, 100.0, Some(200.0), 400.0);
    let rebound = rz.iter().filter(|&&t| (200.0..220.0).contains(&t)).count();
    assert_eq!(rebound, 1, "RZ fires one rebound spike: {rz:?}");
    let i = step(IzhPreset::RZ);
    let steady = &i[5..];
    let mean = steady.iter().sum::<f64>() / steady.len() as f64;
    assert!(
        mean < 7.0 && steady.iter().all(|&x| (x - mean).abs() < 0.5),
        "{i:?}"
    );
}
