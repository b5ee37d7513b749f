//! Weight-snapshot and branching-factor monitors: snapshots are the backend's
//! weights at the sampled steps whatever the run's chunking, histograms agree with
//! them, HDF5 round-trips them, and the summary's branching factor is the
//! analysis function's on the recorded liquid spikes.
use std::process::Command;

use astroglia::analysis::{BranchingParams, LiquidGraph, branching_factor};
use astroglia::model::*;
use astroglia::record::WeightTrace;
use astroglia::sim::{SimOptions, Simulator};

/// 40 Poisson inputs onto 2 LIF neurons through plastic all-to-all STDP synapses.
fn plastic_net(every: u32, full: bool) -> Network {
    astroglia::model::parse_toml(&plastic_toml(every, full), "plastic.toml").unwrap()
}

fn plastic_toml(every: u32, full: bool) -> String {
    format!(
        r#"
            dt_ms = 0.1
            duration_ms = 300.0
            [[populations]]
            name = "in"
            size = 40
            poisson = {{ rate_hz = 40.0 }}
            [[populations]]
            name = "out"
            size = 2
            lif = {{}}
            [[projections]]
            name = "syn"
            from = "in"
            to = "out"
            connect = {{ all_to_all = {{}} }}
            weight = {{ uniform = {{ low = 0.0, high = 200.0 }} }}
            plasticity = {{ stdp = {{ w_max = 200.0, a_plus = 20.0, a_minus = 21.0 }} }}
            [monitors]
            weights = [{{ projection = "syn", every = {every}, full = {full}, bins = 8 }}]
            "#
    )
}

fn sim(net: &Network) -> Simulator {
    let opts = SimOptions::default().seed(3);
    Simulator::new(net, opts).unwrap()
}

#[test]
fn weight_snapshots_are_the_weights_at_their_steps_in_any_chunking() {
    let net = plastic_net(700, true);
    let mut whole = sim(&net);
    whole.run_steps(2101, |_| {}).unwrap();
    let final_w = whole.weights(0, "syn").unwrap();
    let rec = whole.recording();
    let t = &rec.weights[0];
    assert_eq!(t.projection, "syn");
    assert_eq!(t.steps, [0, 700, 1400, 2100]);
    // CSR order: by presynaptic neuron, then target.
    let pre: Vec<u32> = (0..40).flat_map(|i| [i, i]).collect();
    let post: Vec<u32> = (0..40).flat_map(|_| [0, 1]).collect();
    assert_eq!((&t.pre, &t.post), (&pre, &post));
    assert_eq!(t.values.len(), 4 * 80);
    // The last snapshot is taken after the run's last step: the final weights.
    assert_eq!(&t.values[3 * 80..], &final_w[..]);
    for (k, row) in t.values.chunks(80).enumerate() {
        let h = WeightTrace::histogram(row, 0.0, 200.0, 8);
        assert_eq!(&t.hist[k * 8..(k + 1) * 8], &h[..], "snapshot {k}");
        assert_eq!(h.iter().sum::<u64>(), 80);
    }
    assert_ne!(
        &t.values[..80],
        &t.values[3 * 80..],
        "weights never changed"
    );

    // Same snapshots when the run is split at odd points.
    let mut pieces = sim(&net);
    for n in [1, 333, 1000, 767] {
        pieces.run_steps(n, |_| {}).unwrap();
    }
    assert_eq!(pieces.recording().weights, rec.weights);

    // Histograms only: same counts, no values.
    let mut light = sim(&plastic_net(700, false));
    light.run_steps(2101, |_| {}).unwrap();
    let l = &light.recording().weights[0];
    assert!(l.values.is_empty());
    assert_eq!(l.hist, t.hist);
}

#[test]
fn weight_snapshots_round_trip_through_hdf5() {
    let mut s = sim(&plastic_net(1000, true));
    s.run_ms(300.0).unwrap();
    let rec = s.recording();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.h5");
    astroglia::record::write_hdf5(&path, &rec, &[]).unwrap();
    let back = astroglia::record::read_hdf5(&path).unwrap();
    assert_eq!(back.weights, rec.weights);
    assert_eq!(back.weights[0].steps, [0, 1000, 2000]);
}

/// 160 excitatory + 40 inhibitory LIF neurons, random recurrence, noise drive.
fn liquid(with_monitor: bool) -> Network {
    let mut net = astroglia::model::parse_toml(
        r#"
        dt_ms = 1.0
        duration_ms = 1100.0
        [[populations]]
        name = "exc"
        size = 160
        lif = { tau_m_ms = 20.0, v_th_mv = -50.0, v_reset_mv = -65.0, t_ref_ms = 2.0 }
        [[populations]]
        name = "inh"
        size = 40
        lif = { tau_m_ms = 10.0, v_th_mv = -50.0, v_reset_mv = -65.0, t_ref_ms = 2.0 }
        [[projections]]
        from = "exc"
        to = "exc"
        connect = { fixed_probability = { p = 0.05 } }
        weight = 300.0
        [[projections]]
        from = "exc"
        to = "inh"
        connect = { fixed_probability = { p = 0.1 } }
        weight = 300.0
        [[projections]]
        from = "inh"
        to = "exc"
        connect = { fixed_probability = { p = 0.1 } }
        weight = -600.0
        [[inputs]]
        noise = { target = "exc", mean = 300.0, std = 400.0 }
        [[inputs]]
        noise = { target = "inh", mean = 300.0, std = 400.0 }
        [monitors]
        spikes = [{ population = "exc", ids = [0] }]
        "#,
        "liquid.toml",
    )
    .unwrap();
    if with_monitor {
        net.monitors.branching = Some(BranchingMonitor::new(&["exc", "inh"]));
    }
    net
}

#[test]
fn summary_branching_factor_is_the_analysis_on_the_liquid_spikes() {
    let net = liquid(true);
    let mut s = sim(&net);
    s.run_ms(net.duration_ms).unwrap();
    let report = s.summary().branching_factor.expect("monitored");
    assert_eq!(
        report.per_sample.len(),
        4,
        "1100 ms holds 4 whole 250-ms samples"
    );

    // Independently: all spikes from a run recording both populations in full,
    // exc ids first, then inh offset by 160, against the graph of the built network.
    let mut plain = liquid(false);
    plain.monitors.spikes = None;
    let mut s2 = sim(&plain);
    s2.run_ms(plain.duration_ms).unwrap();
    let rec = s2.recording();
    let mut spikes = vec![];
    for (name, off) in [("exc", 0), ("inh", 160)] {
        let p = rec.spikes.iter().find(|p| p.population == name).unwrap();
        spikes.extend(p.steps.iter().zip(&p.ids).map(|(&t, &i)| (t, off + i)));
    }
    assert!(
        spikes.len() > 1000,
        "the liquid is active: {}",
        spikes.len()
    );
    let built = astroglia::build::build(&plain, 3).unwrap();
    let (graph, offsets) = LiquidGraph::of_populations(&built, &[0, 1]).unwrap();
    assert_eq!(offsets, [0, 160]);
    let starts = [0, 250, 500, 750];
    let want = branching_factor(
        &graph,
        &spikes,
        &starts,
        250,
        1.0,
        &BranchingParams::default(),
    )
    .unwrap();
    assert_eq!(report, want);
    assert!(want.mean.unwrap() > 0.0);
    // The monitor records the liquid in full (the exc monitor asked for one id).
    let exc = s.recording();
    let exc = exc.spikes.iter().find(|p| p.population == "exc").unwrap();
    assert!(exc.ids.iter().any(|&i| i != 0));
}

#[test]
fn cli_writes_weight_plot_hdf5_snapshots_and_branching_factor() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.toml");
    // The two output neurons excite each other: a (tiny) liquid.
    let text = plastic_toml(1000, true).replace(
        "[monitors]",
        "[[projections]]\nfrom = \"out\"\nto = \"out\"\n\
         connect = { all_to_all = { allow_self = false } }\nweight = 50.0\n\
         [monitors]\nbranching = { populations = [\"out\"], sample_ms = 100.0 }",
    );
    std::fs::write(&model, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_astroglia"))
        .args(["run", "--quiet", "--seed", "3", "--out"])
        .arg(dir.path().join("out"))
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = dir.path().join("out");
    let png = std::fs::read(o.join("weights_syn.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let rec = astroglia::record::read_hdf5(&o.join("spikes.h5")).unwrap();
    assert_eq!(rec.weights[0].steps, [0, 1000, 2000]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(o.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        v["branching_factor"]["per_sample"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(v["plasticity"]["syn"]["hist"].is_array());
}

#[test]
fn state_traces_carry_their_units_into_hdf5() {
    let net = astroglia::model::parse_toml(
        r#"
        name = "units"
        dt_ms = 0.1
        duration_ms = 1.0
        [[populations]]
        name = "izh"
        size = 2
        izhikevich = {}
        [[populations]]
        name = "cond"
        size = 2
        lif_cond = {}
        [[populations]]
        name = "adex"
        size = 2
        adex = { synapse = "conductance" }
        [monitors]
        state = [
            { population = "izh", var = "u" },
            { population = "cond", var = "ge" },
            { population = "adex", var = "syn_exc" },
            { population = "adex", var = "w" },
        ]
        "#,
        "units.toml",
    )
    .unwrap();
    let mut s = sim(&net);
    s.run_steps(3, |_| {}).unwrap();
    let rec = s.recording();
    let units: Vec<(&str, &str)> = rec
        .states
        .iter()
        .map(|t| (t.var.as_str(), t.unit.as_str()))
        .collect();
    assert_eq!(
        units,
        [("u", "mV/ms"), ("ge", "nS"), ("syn_exc", "nS"), ("w", "pA")]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.h5");
    astroglia::record::write_hdf5(&path, &rec, &[]).unwrap();
    let back = astroglia::record::read_hdf5(&path).unwrap();
    assert_eq!(back.states, rec.states);
}

/// COBA at 4000 neurons (as `models/coba.toml`) for `ms`, on a new simulator
/// with `seed`.
fn coba(ms: f64, seed: u64) -> Simulator {
    let p = Connect::FixedProbability {
        p: 0.02,
        allow_self: false,
    };
    let net = Network::coba_like(4000, p.clone(), p, ms);
    let opts = SimOptions::default().seed(seed);
    Simulator::new(&net, opts).unwrap()
}

/// Spikes drained after each of 1000 one-millisecond chunks are a single run's
/// spikes, and the recording never holds more than one chunk of them.
#[test]
fn drained_chunks_are_the_single_run_and_the_recording_stays_empty() {
    let mut whole = coba(1000.0, 7);
    whole.run_ms(1000.0).unwrap();
    let whole_rec = whole.recording().spikes;

    let mut chunked = coba(1000.0, 7);
    let mut drained: Vec<(Vec<u64>, Vec<u32>)> = vec![(vec![], vec![]); whole_rec.len()];
    let mut most_held = 0;
    for _ in 0..1000 {
        chunked.run_ms(1.0).unwrap();
        for (all, chunk) in drained.iter_mut().zip(chunked.drain_spikes()) {
            most_held = most_held.max(chunk.ids.len());
            all.0.extend(chunk.steps);
            all.1.extend(chunk.ids);
        }
        let held: usize = (chunked.recording().spikes.iter())
            .map(|p| p.ids.len())
            .sum();
        assert_eq!(held, 0, "drained spikes stay out of the recording");
    }
    for (rec, (steps, ids)) in whole_rec.iter().zip(&drained) {
        assert!(!rec.ids.is_empty(), "{} spikes", rec.population);
        assert_eq!(&rec.steps, steps, "{}", rec.population);
        assert_eq!(&rec.ids, ids, "{}", rec.population);
    }
    assert!(most_held < whole_rec[0].ids.len() / 100);
    assert_eq!(
        chunked.summary().spikes_sha256,
        whole.summary().spikes_sha256
    );
    let e = chunked.population_offset("inh").unwrap();
    assert_eq!(e, 3200);
    assert!(chunked.population_offset("nope").is_err());
}

/// A simulation moves to another thread between runs and keeps going there.
#[test]
fn a_simulator_runs_on_another_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let mut here = coba(100.0, 3);
    here.run_ms(100.0).unwrap();

    let mut moved = coba(100.0, 3);
    moved.run_ms(50.0).unwrap();
    assert_send(&moved);
    let moved = std::thread::spawn(move || {
        moved.run_ms(50.0).unwrap();
        moved
    })
    .join()
    .unwrap();
    assert_eq!(moved.summary().spikes_sha256, here.summary().spikes_sha256);
}
