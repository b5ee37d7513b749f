//! AdEx (Brette & Gerstner 2005): each Naud et al. (2008) preset shows its firing
//! pattern under its step current, spike times agree with an independent f64 RK4
//! solution, and the GPU reproduces the CPU's spikes for a recurrent network.
use astroglia::model::AdExPreset;
use astroglia::model::*;
use astroglia::sim::{SimOptions, Simulator};

/// Step of the single-neuron runs, ms: forward Euler's drift stays below 0.01 ms
/// per spike (at 0.01 ms it is about 0.035 ms per spike).
const DT: f64 = 0.002;
/// Simulated time of the single-neuron runs, ms.
const MS: f64 = 500.0;

/// Spike times (ms) of one neuron of preset `p` under its step current from t = 0.
fn spikes(p: AdExPreset) -> Vec<f64> {
    let mut net = Network::new(DT, MS);
    net.add_population(Population::new(
        "n",
        1,
        NeuronModel::AdEx(AdExParams::preset(p)),
    ));
    net.add_input(Input::Current(CurrentInput::new("n", p.step_current_pa())));
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    sim.run_ms(MS).unwrap();
    sim.recording().spikes[0]
        .steps
        .iter()
        .map(|&s| s as f64 * DT)
        .collect()
}

/// The same neuron integrated in f64 by classical RK4 with a 1 µs step.
fn rk4_spikes(p: AdExPreset) -> Vec<f64> {
    let [c, g_l, e_l, v_t, d_t, a, tau_w, b, v_r] = p.values();
    let i = p.step_current_pa();
    let v_peak = 0.0;
    // V is capped at the cut-off inside the derivative: a stage past it only
    // says that the spike happens within this step.
    let f = |v: f64, w: f64| {
        let v = v.min(v_peak);
        let x = (v - v_t) / d_t;
        (
            (-g_l * (v - e_l) + g_l * d_t * x.exp() - w + i) / c,
            (a * (v - e_l) - w) / tau_w,
        )
    };
    let h = 0.001;
    let (mut v, mut w, mut t) = (e_l, 0.0, 0.0);
    let mut out = vec![];
    while t < MS {
        let (k1v, k1w) = f(v, w);
        let (k2v, k2w) = f(v + 0.5 * h * k1v, w + 0.5 * h * k1w);
        let (k3v, k3w) = f(v + 0.5 * h * k2v, w + 0.5 * h * k2w);
        let (k4v, k4w) = f(v + h * k3v, w + h * k3w);
        v += h / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v);
        w += h / 6.0 * (k1w + 2.0 * k2w + 2.0 * k3w + k4w);
        t += h;
        if v >= v_peak {
            out.push(t);
            v = v_r;
            w += b;
        }
    }
    out
}

fn isis(t: &[f64]) -> Vec<f64> {
    t.windows(2).map(|w| w[1] - w[0]).collect()
}

fn cv(x: &[f64]) -> f64 {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt() / m
}

const ALL: [AdExPreset; 8] = [
    AdExPreset::Tonic,
    AdExPreset::Adapting,
    AdExPreset::InitialBurst,
    AdExPreset::RegularBursting,
    AdExPreset::DelayedAccelerating,
    AdExPreset::DelayedRegularBursting,
    AdExPreset::Transient,
    AdExPreset::Irregular,
];

#[test]
fn first_ten_spikes_agree_with_an_rk4_reference_within_0_2_ms() {
    for p in ALL {
        // Irregular spiking is chaotic: any integration error grows from spike
        // to spike (spike 5 is 0.27 ms off), so only its first five are compared.
        let n = if p == AdExPreset::Irregular { 5 } else { 10 };
        let (got, want) = (spikes(p), rk4_spikes(p));
        assert!(got.len() >= 7, "{p:?}: {} spikes", got.len());
        assert_eq!(got.len().min(n), want.len().min(n), "{p:?}");
        for (k, (a, b)) in got.iter().zip(&want).take(n).enumerate() {
            assert!(
                (a - b).abs() < 0.2,
                "{p:?}: spike {k} at {a} ms, RK4 {b} ms"
            );
        }
    }
}

#[test]
fn tonic_fires_regularly_from_the_start() {
    let i = isis(&spikes(AdExPreset::Tonic));
    let last = i[i.len() - 10..].to_vec();
    assert!(cv(&last) < 0.01, "{i:?}");
    assert!(i[0] > 0.9 * i[i.len() - 1], "{i:?}");
}

#[test]
fn adapting_slows_down() {
    let i = isis(&spikes(AdExPreset::Adapting));
    assert!(i.windows(2).all(|w| w[1] >= w[0] - 0.1), "{i:?}");
    assert!(i[i.len() - 1] > 4.0 * i[0], "{i:?}");
}

#[test]
fn initial_burst_then_tonic() {
    let i = isis(&spikes(AdExPreset::InitialBurst));
    let last = i[i.len() - 1];
    assert!(i[0] < 0.15 * last && i[1] < 0.2 * last, "{i:?}");
    assert!(cv(&i[i.len() - 5..]) < 0.01, "{i:?}");
}

#[test]
fn regular_bursting_alternates_bursts_and_pauses() {
    let i = isis(&spikes(AdExPreset::RegularBursting));
    assert!(i.iter().all(|x| !(10.0..=100.0).contains(x)), "{i:?}");
    assert!(i.iter().filter(|&&x| x > 100.0).count() >= 3, "{i:?}");
    assert!(i.iter().filter(|&&x| x < 10.0).count() >= 3, "{i:?}");
}

#[test]
fn delayed_accelerating_starts_late_and_speeds_up() {
    let t = spikes(AdExPreset::DelayedAccelerating);
    let i = isis(&t);
    assert!(t[0] > 25.0, "first spike at {} ms", t[0]);
    assert!(i.windows(2).all(|w| w[1] < w[0]), "{i:?}");
}

#[test]
fn delayed_regular_bursting_starts_late_and_bursts() {
    let t = spikes(AdExPreset::DelayedRegularBursting);
    let i = isis(&t);
    assert!(t[0] > 40.0, "first spike at {} ms", t[0]);
    assert!(i.iter().filter(|&&x| x > 40.0).count() >= 4, "{i:?}");
    assert!(i.iter().filter(|&&x| x < 10.0).count() >= 8, "{i:?}");
}

#[test]
fn transient_bursts_then_fires_sparsely() {
    let t = spikes(AdExPreset::Transient);
    let i = isis(&t);
    assert!(t[2] < 20.0, "{t:?}");
    assert!(i[2..].iter().all(|&x| x > 20.0 * i[0]), "{i:?}");
}

#[test]
fn irregular_has_no_steady_rhythm() {
    let i = isis(&spikes(AdExPreset::Irregular));
    assert!(i.len() >= 15, "{i:?}");
    assert!(cv(&i[3..]) > 0.3, "{i:?}");
}

/// 1000 recurrent AdEx neurons (800 excitatory with conductance synapses, 200
/// inhibitory with current synapses) driven by Poisson sources.
const NETWORK: &str = r#"
dt_ms = 0.1
duration_ms = 300.0
[[populations]]
name = "drive"
size = 200
poisson = { rate_hz = 40.0 }
[[populations]]
name = "exc"
size = 800
adex = { preset = "adapting", synapse = "conductance", t_ref_ms = 1.0 }
init = { v = { uniform = { low = -70.0, high = -52.0 } } }
[[populations]]
name = "inh"
size = 200
adex = { preset = "tonic" }
init = { v = { uniform = { low = -70.0, high = -52.0 } }, w = { uniform = { low = 0.0, high = 30.0 } } }
[[projections]]
from = "drive"
to = "exc"
connect = { fixed_probability = { p = 0.2 } }
weight = 3.0
[[projections]]
from = "drive"
to = "inh"
connect = { fixed_probability = { p = 0.2 } }
weight = 40.0
[[projections]]
from = "exc"
to = "exc"
connect = { fixed_probability = { p = 0.05 } }
weight = { uniform = { low = 0.5, high = 2.0 } }
delay_ms = { uniform = { low = 0.5, high = 2.0 } }
[[projections]]
from = "exc"
to = "inh"
connect = { fixed_probability = { p = 0.1 } }
weight = 30.0
[[projections]]
from = "inh"
to = "exc"
connect = { fixed_probability = { p = 0.1 } }
weight = 4.0
receptor = "inh"
[[inputs]]
noise = { target = "inh", mean = 50.0, std = 100.0 }
"#;

#[test]
fn adex_network_spikes_match_cpu() {
    let net = parse_toml(NETWORK, "adex_network.toml").unwrap();
    let Some(ctx) = super::gpu_parity::gpu() else {
        return;
    };
    for seed in [1, 2] {
        super::gpu_parity::assert_run_matches(&ctx, "adex network", &net, seed, 300.0);
    }
    let s = super::util::run(&net, 1).summary();
    for pop in ["exc", "inh"] {
        let r = s.populations[pop].rate_hz;
        assert!(r > 1.0 && r < 200.0, "{pop} fires at {r} Hz");
    }
}

#[test]
fn adex_phases_match_cpu_bit_for_bit() {
    super::gpu_parity::assert_phases_match(NETWORK, 5, 40);
}
