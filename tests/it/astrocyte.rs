//! Astrocyte contracts: NALSM's astrocyte follows its update equation, pulls a
//! plastic liquid's branching factor toward 1 compared with plain STDP, and the
//! branching factor falls as w_A rises; domains modulate only their own neurons.
use astroglia::analysis::{BranchingParams, LiquidGraph, branching_factor};
use astroglia::model::*;
use astroglia::sim::{SimOptions, Simulator};

fn liquid() -> Network {
    Network::from_toml_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/nalsm_liquid.toml"
    ))
    .unwrap()
}

/// The liquid with astrocyte weight `w_a`, or plain STDP (A = eta, no astrocyte).
fn variant(w_a: Option<f64>) -> Network {
    let mut net = liquid();
    match w_a {
        Some(w) => net.astrocytes[0].w_a = w,
        None => net.astrocytes.clear(),
    }
    net.monitors.astrocytes.clear();
    net
}

/// Mean branching factor over 250-ms samples of a `ms` run.
fn bf(net: &Network, ms: f64) -> f64 {
    let seed = 1;
    let built = astroglia::build::build(net, seed).unwrap();
    let exc = net.population_index("exc").unwrap();
    let inh = net.population_index("inh").unwrap();
    let base = built.pops[exc].offset;
    let n = (built.pops[exc].size + built.pops[inh].size) as usize;
    let mut edges = vec![];
    for pr in built.projs.iter() {
        if ![exc, inh].contains(&pr.pre) || ![exc, inh].contains(&pr.post) {
            continue;
        }
        let (po, qo) = (
            built.pops[pr.pre].offset - base,
            built.pops[pr.post].offset - base,
        );
        for j in 0..pr.row_ptr.len() - 1 {
            for s in pr.row_ptr[j]..pr.row_ptr[j + 1] {
                edges.push((po + j as u32, qo + pr.targets[s as usize]));
            }
        }
    }
    let graph = LiquidGraph::from_edges(n, edges).unwrap();
    let mut sim = Simulator::new(net, SimOptions::default().seed(seed)).unwrap();
    sim.run_ms(ms).unwrap();
    let rec = sim.recording();
    let mut spikes = vec![];
    for p in &rec.spikes {
        let off = built.pops[net.population_index(&p.population).unwrap()].offset - base;
        spikes.extend(p.steps.iter().zip(&p.ids).map(|(&s, &i)| (s, off + i)));
    }
    spikes.sort_unstable();
    let samples = (ms / 250.0) as u64;
    let starts: Vec<u64> = (0..samples).map(|k| k * 250).collect();
    let r = branching_factor(
        &graph,
        &spikes,
        &starts,
        250,
        1.0,
        &BranchingParams::default(),
    )
    .unwrap();
    r.mean.unwrap()
}

#[test]
fn astrocyte_pulls_the_branching_factor_toward_one() {
    let ms = 2000.0;
    let plain = bf(&variant(None), ms);
    let sweep: Vec<(f64, f64)> = [0.002, 0.005, 0.015, 0.05, 0.2]
        .iter()
        .map(|&w| (w, bf(&variant(Some(w)), ms)))
        .collect();
    println!("plain STDP BF {plain:.3}; astrocyte sweep (w_A, BF): {sweep:?}");
    let paper = sweep.iter().find(|s| s.0 == 0.015).unwrap().1;
    assert!(
        (paper - 1.0).abs() < (plain - 1.0).abs(),
        "{paper} vs plain {plain}"
    );
    for w in sweep.windows(2) {
        assert!(w[1].1 < w[0].1, "BF must fall as w_A rises: {sweep:?}");
    }
}

#[test]
fn astrocyte_follows_its_update_equation_and_domains_are_separate() {
    let mut net = liquid();
    net.astrocytes[0].decay = 0.99;
    let a = net.astrocytes[0].clone();
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    let (mut expect, mut gain) = (a.a0, 1.0);
    let mut counted = [0u64; 3];
    for _ in 0..40 {
        sim.run_steps(1, |_| {}).unwrap();
        let counts: Vec<u64> = sim.spike_counts().iter().map(|c| c.1).collect();
        let step: Vec<f64> = (0..3).map(|i| (counts[i] - counted[i]) as f64).collect();
        counted.copy_from_slice(&counts);
        // Populations in model order: input, exc, inh.
        let drive = step[1] + step[2] - step[0];
        expect =
            (expect + (1.0 / a.tau_ms) * (a.w_a * gain * drive + a.b_a * gain - expect)) * a.decay;
        gain *= a.decay;
        let got = sim.astrocyte(0, "astro").unwrap()[0] as f64;
        assert!(
            (got - expect).abs() < 1e-5 * expect.abs().max(1.0),
            "{got} vs {expect}"
        );
    }
    // Eight domains: eight astrocytes, each seeing its own part of the liquid.
    net.astrocytes[0].domains = [2, 2, 2];
    let mut sim = Simulator::new(&net, SimOptions::default()).unwrap();
    sim.run_ms(200.0).unwrap();
    let a = sim.astrocyte(0, "astro").unwrap();
    assert_eq!(a.len(), 8);
    assert!(a.windows(2).any(|w| w[0] != w[1]), "{a:?}");
    let e = sim.astrocyte(0, "nope").unwrap_err().to_string();
    assert!(e.contains("no astrocyte named 'nope'"), "{e}");
}
