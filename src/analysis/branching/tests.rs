use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};
use std::collections::BTreeSet;

const P: BranchingParams = BranchingParams {
    edge_ms: 25.0,
    window_ms: 4.0,
    post_gap_ms: 1.0,
};

fn graph(n: usize, edges: &[(u32, u32)]) -> LiquidGraph {
    LiquidGraph::from_edges(n, edges.iter().copied()).unwrap()
}

fn per_neuron(g: &LiquidGraph, spikes: &[(u64, u32)], start: u64, dt: f64) -> Vec<Option<f64>> {
    let len = (250.0 / dt).round() as u64;
    neuron_branching_factors(g, spikes, start, len, dt, &P).unwrap()
}

#[test]
fn defaults_and_serde() {
    assert_eq!(BranchingParams::default(), P);
    let p: BranchingParams = serde_json::from_str(r#"{"window_ms": 2}"#).unwrap();
    assert_eq!((p.edge_ms, p.window_ms, p.post_gap_ms), (25.0, 2.0, 1.0));
    assert!(serde_json::from_str::<BranchingParams>(r#"{"window": 2}"#).is_err());
}

#[test]
fn graph_dedups_and_drops_self_edges() {
    let g = graph(4, &[(0, 1), (0, 1), (2, 2), (3, 1), (1, 0)]);
    assert_eq!((g.len(), g.n_edges()), (4, 3));
    assert_eq!(g.pre(1), Some(&[0, 3][..]));
    assert_eq!(g.post(0), Some(&[1][..]));
    assert_eq!((g.pre(2), g.post(2)), (Some(&[][..]), Some(&[][..])));
    assert_eq!(g.pre(4), None);
}

#[test]
fn chain_by_hand() {
    // 0 → 1 → 2; 0 fires twice, the second time without a successor.
    let g = graph(3, &[(0, 1), (1, 2)]);
    let spikes = [(100, 0), (102, 1), (104, 2), (150, 0)];
    // 0: ratios 1 (1 at 102 ∈ [101, 105)) and 0 → 0.5; 1: pre 1, post 1 → 1; 2: 0.
    assert_eq!(
        per_neuron(&g, &spikes, 0, 1.0),
        [Some(0.5), Some(1.0), Some(0.0)]
    );
    let bf = branching_factor_sample(&g, &spikes, 0, 250, 1.0, &P).unwrap();
    assert_eq!(bf, Some(1.5 / 3.0));
}

#[test]
fn two_pre_three_post_window_bounds() {
    // 1, 2 → 0 → 3, 4, 5; neuron 0 fires at 100.
    let g = graph(6, &[(1, 0), (2, 0), (0, 3), (0, 4), (0, 5)]);
    let spikes = [
        (100, 0),
        // pre window [96, 100): 96, 97, 99 count; 95 and 100 do not.
        (95, 1),
        (96, 1),
        (97, 2),
        (99, 2),
        (100, 2),
        // post window [101, 105): 101 and 104 count; 100 and 105 do not.
        (101, 3),
        (104, 4),
        (100, 5),
        (105, 5),
    ];
    // 0: 2 / 3. 1 (95, 96): 0 at 100 ∉ [96, 100), ∈ [97, 101) → 0.5.
    // 2 (97, 99, 100): 1, 1, 0 (100 ∉ [101, 105)) → 2/3. 3, 4, 5: no successors.
    let third = 2.0 / 3.0;
    let want = [
        Some(third),
        Some(0.5),
        Some(third),
        Some(0.0),
        Some(0.0),
        Some(0.0),
    ];
    assert_eq!(per_neuron(&g, &spikes, 0, 1.0), want);
    let bf = branching_factor_sample(&g, &spikes, 0, 250, 1.0, &P)
        .unwrap()
        .unwrap();
    assert!((bf - 11.0 / 36.0).abs() < 1e-15, "{bf}");
}

#[test]
fn edges_of_the_sample() {
    // Sample at 1000: anchors are local steps [29, 221), kept spikes [25, 225).
    let g = graph(3, &[(0, 1)]);
    let at = |t: u64, n: u32| (1000 + t, n);
    let spikes = [
        at(28, 0),  // too early to anchor, but counts as pre of 1's spike at 30
        at(29, 0),  // first anchor: 1 at 30 → ratio 1
        at(30, 1),  // anchor: pre {28, 29} = 2, no successors → 0
        at(220, 0), // last anchor: 1 at 221 and 224 → ratio 2
        at(221, 0), // not an anchor
        at(221, 1),
        at(224, 1),
        at(250, 0), // next sample
        at(24, 2),  // discarded edge
        at(225, 2), // discarded edge
    ];
    assert_eq!(
        per_neuron(&g, &spikes, 1000, 1.0),
        [Some(1.5), Some(0.0), None]
    );
    // Sample too short for any anchor; no spikes at all.
    assert_eq!(
        branching_factor_sample(&g, &spikes, 1000, 58, 1.0, &P).unwrap(),
        None
    );
    assert_eq!(
        branching_factor_sample(&g, &spikes, 0, 250, 1.0, &P).unwrap(),
        None
    );
}

#[test]
fn half_ms_steps() {
    // dt 0.5: edge 50, window 8, gap 2 steps; anchors [58, 441) since 440 + 2 + 8 ≤ 450.
    let g = graph(2, &[(0, 1)]);
    let spikes = [
        (200, 0),
        (201, 1), // 0.5 ms after: before the post window
        (202, 1), // 1 ms after: first step of [202, 210)
        (209, 1), // last step
        (210, 1), // after
        (440, 0), // last anchor: 1 at 449, last step of [442, 450)
        (441, 0), // not an anchor
        (449, 1),
    ];
    // 0: (2 + 1) / 2. 1 has no successors: 0.
    assert_eq!(per_neuron(&g, &spikes, 0, 0.5), [Some(1.5), Some(0.0)]);
}

#[test]
fn repeated_spikes_and_synapses_count_once() {
    let g1 = graph(3, &[(0, 1), (1, 2), (0, 2)]);
    let g2 = graph(3, &[(0, 1), (0, 1), (1, 2), (0, 2), (2, 2), (1, 2)]);
    let s1 = vec![(100, 0), (102, 1), (103, 2), (101, 2)];
    let mut s2 = s1.clone();
    s2.extend([(102, 1), (100, 0), (103, 2)]);
    let a = per_neuron(&g1, &s1, 0, 1.0);
    // 0: 1 at 102, 2 at 101 and 103 → 3. A kept self-edge 2 → 2, a repeated synapse
    // or a repeated spike would each change some value.
    assert_eq!(a, [Some(3.0), Some(1.0), Some(0.0)]);
    assert_eq!(per_neuron(&g2, &s2, 0, 1.0), a);
}

#[test]
fn bad_ids_and_params_are_errors() {
    let err = LiquidGraph::from_edges(3, [(0, 1), (1, 7)]).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }), "{err}");
    assert!(err.to_string().contains("neuron 7"), "{err}");
    let g = graph(3, &[(0, 1)]);
    // Even outside the sample an id ≥ 3 is an error, not a panic.
    let err = branching_factor(&g, &[(100, 0), (9999, 3)], &[0], 250, 1.0, &P).unwrap_err();
    assert!(matches!(err, Error::Argument { .. }), "{err}");
    assert!(err.to_string().contains("neuron 3"), "{err}");
    let err = branching_factor_sample(&g, &[(5, u32::MAX)], 0, 250, 1.0, &P).unwrap_err();
    assert!(err.to_string().contains(&u32::MAX.to_string()), "{err}");
    for dt in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            branching_factor(&g, &[], &[0], 250, dt, &P).is_err(),
            "{dt}"
        );
    }
    for p in [
        BranchingParams {
            window_ms: 0.4,
            ..P
        },
        BranchingParams { edge_ms: -1.0, ..P },
        BranchingParams {
            post_gap_ms: f64::NAN,
            ..P
        },
    ] {
        assert!(
            branching_factor(&g, &[], &[0], 250, 1.0, &p).is_err(),
            "{p:?}"
        );
    }
}

/// The definition as written, with nested loops over every step and every spike:
/// NALSM's filter to the kept part, then a scan of every step of the anchor range.
fn brute_force(
    n: usize,
    edges: &[(u32, u32)],
    spikes: &[(u64, u32)],
    starts: &[u64],
    len: u64,
    dt: f64,
) -> Vec<Option<f64>> {
    let (e, w, g) = (
        (25.0 / dt).round() as u64,
        (4.0 / dt).round() as u64,
        (1.0 / dt).round() as u64,
    );
    let pre: Vec<BTreeSet<u32>> = (0..n as u32)
        .map(|i| {
            edges
                .iter()
                .filter(|&&(a, b)| b == i && a != i)
                .map(|&(a, _)| a)
                .collect()
        })
        .collect();
    let post: Vec<BTreeSet<u32>> = (0..n as u32)
        .map(|i| {
            edges
                .iter()
                .filter(|&&(a, b)| a == i && a != b)
                .map(|&(_, b)| b)
                .collect()
        })
        .collect();
    let unique: BTreeSet<(u64, u32)> = spikes.iter().copied().collect();
    starts
        .iter()
        .map(|&start| {
            let kept: Vec<(u64, u32)> = unique
                .iter()
                .filter(|&&(s, _)| s >= start + e && s < start + len - e)
                .map(|&(s, id)| (s - start, id))
                .collect();
            let count = |ids: &BTreeSet<u32>, from: u64, to: u64| {
                kept.iter()
                    .filter(|&&(s, id)| ids.contains(&id) && s >= from && s < to)
                    .count()
            };
            let mut neuron_bfs = Vec::new();
            for i in 0..n as u32 {
                let mut ratios = Vec::new();
                for t in e + w..len - e + 1 - w - g {
                    if kept.contains(&(t, i)) {
                        let p = count(&pre[i as usize], t - w, t);
                        let q = count(&post[i as usize], t + g, t + g + w);
                        ratios.push(q as f64 / p.max(1) as f64);
                    }
                }
                if !ratios.is_empty() {
                    neuron_bfs.push(ratios.iter().sum::<f64>() / ratios.len() as f64);
                }
            }
            (!neuron_bfs.is_empty())
                .then(|| neuron_bfs.iter().sum::<f64>() / neuron_bfs.len() as f64)
        })
        .collect()
}

#[test]
fn matches_brute_force_on_random_input() {
    let mut nonzero = 0;
    for seed in 0..6u64 {
        for dt in [1.0, 0.5] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = rng.random_range(5..40usize);
            let n_edges = rng.random_range(0..n * 6);
            // Repeats and self-edges included on purpose.
            let edges: Vec<(u32, u32)> = (0..n_edges)
                .map(|_| (rng.random_range(0..n as u32), rng.random_range(0..n as u32)))
                .collect();
            let len = (250.0 / dt) as u64;
            // Three samples with a gap, plus spikes before, between and after them.
            let starts = [7, 7 + len, 3 * len];
            // From sparse to dense enough that pre(t) is often above 1.
            let spikes: Vec<(u64, u32)> = (0..rng.random_range(200..n as u64 * len / 3))
                .map(|_| {
                    (
                        rng.random_range(0..4 * len + 20),
                        rng.random_range(0..n as u32),
                    )
                })
                .collect();
            let g = LiquidGraph::from_edges(n, edges.iter().copied()).unwrap();
            let report = branching_factor(&g, &spikes, &starts, len, dt, &P).unwrap();
            let want = brute_force(n, &edges, &spikes, &starts, len, dt);
            assert!(
                want.iter().all(Option::is_some),
                "seed {seed}: vacuous comparison"
            );
            nonzero += want.iter().filter(|v| v.unwrap() > 0.0).count();
            for (k, (got, want)) in report.per_sample.iter().zip(&want).enumerate() {
                let (got, want) = (got.unwrap(), want.unwrap());
                assert!(
                    (got - want).abs() <= 1e-12,
                    "seed {seed} dt {dt} sample {k}: {got} vs {want}"
                );
            }
            let single = branching_factor_sample(&g, &spikes, starts[1], len, dt, &P).unwrap();
            assert_eq!(single, report.per_sample[1]);
        }
    }
    assert!(nonzero >= 30, "only {nonzero} of 36 samples have a BF > 0");
}

/// A branching process with ratio `sigma` on a random liquid: 20 samples of 250 ms.
///
/// Each neuron has `K` distinct targets; each spike makes each target fire with
/// probability `sigma / K` after a delay drawn uniformly from the post window's steps
/// (1 to < 5 ms), so every anchor spike has on average exactly `sigma` offspring in
/// `post(t)`, all inside the kept 25–225 ms. Spontaneous (Poisson) spikes start
/// cascades; `pre(t)` is 0 for them and at most 1 (the parent) for offspring, so
/// `max(pre, 1) = 1` and E[ratio(t)] = sigma for every spike.
///
/// Two conditions make the reported mean ≈ sigma:
/// * Many cascades per sample. A sample's BF is an average over its own spikes, and a
///   cascade that dies out inside the sample averages (S − 1)/S over its S spikes; with
///   ~4 critical cascades per sample the mean came out at 0.78. Hundreds (σ = 0.5) or
///   ~75 long ones (σ = 1) per sample average that away.
/// * Sparse activity, so that unrelated spikes of targets in the post window (bias
///   up) and of other presynaptic neurons in the pre window (bias down) are rare: both
///   are of order 4 ms × K × per-neuron rate, about 2% with `N` = 50 000 here.
fn simulate(
    sigma: f64,
    seeds_per_ms: f64,
    dt: f64,
    rng_seed: u64,
) -> (LiquidGraph, Vec<(u64, u32)>) {
    const N: u32 = 50_000;
    const K: usize = 8;
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    let mut edges = Vec::new();
    for i in 0..N {
        let mut targets = BTreeSet::new();
        while targets.len() < K {
            let j = rng.random_range(0..N);
            if j != i {
                targets.insert(j);
            }
        }
        edges.extend(targets.into_iter().map(|j| (i, j)));
    }
    let g = graph(N as usize, &edges);
    let len = (250.0 / dt).round() as usize;
    let (gap, window) = ((1.0 / dt).round() as usize, (4.0 / dt).round() as usize);
    let n_seeds = Poisson::new(seeds_per_ms * dt).unwrap();
    let mut spikes = Vec::new();
    for sample in 0..20 {
        // active[t]: neurons firing at local step t (a set: a neuron fires once a step).
        let mut active = vec![BTreeSet::new(); len];
        for t in 0..len {
            for _ in 0..n_seeds.sample(&mut rng) as u32 {
                active[t].insert(rng.random_range(0..N));
            }
            for i in std::mem::take(&mut active[t]) {
                spikes.push(((sample * len + t) as u64, i));
                for &j in g.post(i).unwrap() {
                    if rng.random_bool(sigma / K as f64) {
                        let at = t + rng.random_range(gap..gap + window);
                        if at < len {
                            active[at].insert(j);
                        }
                    }
                }
            }
        }
    }
    (g, spikes)
}

#[test]
fn branching_process_recovers_sigma() {
    for (sigma, seeds_per_ms) in [(0.5, 2.0), (1.0, 0.3)] {
        for dt in [1.0, 0.5] {
            let (g, spikes) = simulate(sigma, seeds_per_ms, dt, 11);
            let len = (250.0 / dt).round() as u64;
            let starts: Vec<u64> = (0..20).map(|s| s * len).collect();
            let bf = |p: &BranchingParams| {
                branching_factor(&g, &spikes, &starts, len, dt, p)
                    .unwrap()
                    .mean
                    .unwrap()
            };
            let measured = bf(&P);
            // A post window one step late misses one delay in 4 (dt 1) or 8 (dt 0.5).
            let late = bf(&BranchingParams {
                post_gap_ms: 1.0 + dt,
                ..P
            });
            eprintln!(
                "sigma {sigma} dt {dt}: BF {measured:.4} ({} spikes); window a step late: {late:.4}",
                spikes.len()
            );
            assert!(
                (measured - sigma).abs() < 0.05 * sigma,
                "sigma {sigma} dt {dt}: {measured}"
            );
            assert!(late < 0.93 * sigma, "sigma {sigma} dt {dt}: {late}");
        }
    }
}

#[test]
fn large_liquid_is_fast() {
    // 1000 neurons, 100 targets each, 10^5 spikes over 20 samples of 250 ms.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let edges: Vec<(u32, u32)> = (0..100_000)
        .map(|k| (k / 100, rng.random_range(0..1000)))
        .collect();
    let g = LiquidGraph::from_edges(1000, edges).unwrap();
    let spikes: Vec<(u64, u32)> = (0..100_000)
        .map(|_| (rng.random_range(0..5000), rng.random_range(0..1000)))
        .collect();
    let starts: Vec<u64> = (0..20).map(|s| s * 250).collect();
    let t0 = std::time::Instant::now();
    let report = branching_factor(&g, &spikes, &starts, 250, 1.0, &P).unwrap();
    let took = t0.elapsed();
    eprintln!("1000 neurons, 1e5 spikes: {took:?}, BF {:?}", report.mean);
    assert!(report.per_sample.iter().all(Option::is_some));
    assert!(took.as_secs_f64() < 1.0, "{took:?}");
}
