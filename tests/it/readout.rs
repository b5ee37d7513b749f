//! Readout contracts: features equal hand counts and the analytic exponential
//! sum, ridge equals the hand-solved normal equations and recovers a linear map
//! as λ → 0, softmax's gradient equals finite differences and it separates
//! Gaussian blobs, Adam/Adadelta steps equal hand-computed ones, the confusion
//! matrix and stratified split hold their counts, and bad input is an error.
use astroglia::readout::softmax::objective;
use astroglia::readout::*;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// f32 features summed in f32 (a few terms).
const F32_SUM_TOL: f32 = 1e-6;
/// Relative tolerance of central finite differences on the f64 objective.
const FD_RTOL: f64 = 1e-4;
/// Ridge solved in f64 and stored as f32.
const RIDGE_TOL: f32 = 1e-5;

fn message(e: astroglia::Error) -> String {
    e.to_string()
}

/// `n_per_class` samples around each of `n_classes` well-separated means in
/// `dim` dimensions (unit noise, means 8 apart on orthogonal axes).
fn blobs(n_per_class: usize, n_classes: usize, dim: usize, seed: u64) -> (FeatureMatrix, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 1.0).unwrap();
    let mut x = FeatureMatrix::new(dim);
    let mut y = Vec::new();
    for i in 0..n_per_class * n_classes {
        let c = i % n_classes;
        let row = x.push_zeroed();
        for (j, v) in row.iter_mut().enumerate() {
            *v = noise.sample(&mut rng) + if j == c { 8.0 } else { 0.0 };
        }
        y.push(c as u32);
    }
    (x, y)
}

// ---------------------------------------------------------------- features

#[test]
fn readout_features_counts_and_bins_match_hand_counts() {
    // 3 neurons (ids 5..8), 12 steps starting at step 100, 3 bins of 4 steps.
    let w = Window {
        first_neuron: 5,
        n_neurons: 3,
        first_step: 100,
        n_steps: 12,
    };
    let fx = FeatureExtractor::new(
        w,
        vec![FeatureKind::Counts, FeatureKind::Binned { n_bins: 3 }],
    )
    .unwrap();
    let spikes = [
        (100, 5),
        (103, 5),
        (104, 5),
        (111, 5), // neuron 0: bins 0, 0, 1, 2
        (107, 7),
        (108, 7), // neuron 2: bins 1, 2
        (99, 5),
        (112, 6),
        (105, 4),
        (105, 8), // outside the window: skipped
    ];
    let row = fx.extract(spikes).unwrap();
    assert_eq!(&row[..3], &[4.0, 0.0, 2.0]);
    // bin-major: [bin0: n0 n1 n2, bin1: ..., bin2: ...]
    assert_eq!(&row[3..], &[2.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]);
}

#[test]
fn readout_features_unequal_bins_follow_the_floor_rule() {
    // 10 steps in 3 bins: bin ⌊3s/10⌋ → steps 0-3, 4-6, 7-9.
    let w = Window {
        first_neuron: 0,
        n_neurons: 1,
        first_step: 0,
        n_steps: 10,
    };
    let fx = FeatureExtractor::new(w, vec![FeatureKind::Binned { n_bins: 3 }]).unwrap();
    let all: Vec<(u32, u32)> = (0..10).map(|s| (s, 0)).collect();
    assert_eq!(fx.extract(all).unwrap(), vec![4.0, 3.0, 3.0]);
}

#[test]
fn readout_features_trace_equals_analytic_exponential_sum() {
    let tau = 7.5;
    let times = [0u32, 3, 4, 10, 18, 19];
    let at = vec![0, 4, 9, 19, 24];
    let w = Window {
        first_neuron: 0,
        n_neurons: 2,
        first_step: 0,
        n_steps: 25,
    };
    let fx = FeatureExtractor::new(
        w,
        vec![FeatureKind::Trace {
            tau_steps: tau,
            at_steps: at.clone(),
        }],
    )
    .unwrap();
    // neuron 1 gets the spikes, neuron 0 none; given out of order on purpose.
    let spikes: Vec<(u32, u32)> = times.iter().rev().map(|&t| (t, 1)).collect();
    let row = fx.extract(spikes).unwrap();
    for (j, &t) in at.iter().enumerate() {
        let analytic: f64 = times
            .iter()
            .filter(|&&s| s <= t)
            .map(|&s| (-((t - s) as f64) / tau).exp())
            .sum();
        assert_eq!(row[j * 2], 0.0);
        assert!(
            (row[j * 2 + 1] as f64 - analytic).abs() < 1e-6 * analytic.max(1.0),
            "t = {t}: {} vs {analytic}",
            row[j * 2 + 1]
        );
    }
    // Hand values: at t = 4, 1 + e^{-1/7.5} + e^{-4/7.5}.
    let hand = 1.0 + (-1.0f32 / 7.5).exp() + (-4.0f32 / 7.5).exp();
    assert!((row[3] - hand).abs() < F32_SUM_TOL);
}

#[test]
fn readout_features_stream_into_matrix_rows() {
    let w = Window {
        first_neuron: 0,
        n_neurons: 2,
        first_step: 0,
        n_steps: 5,
    };
    let fx = FeatureExtractor::new(w, vec![FeatureKind::Counts]).unwrap();
    let mut x = fx.matrix();
    // Sample k occupies steps 5k..5k+5 of one long record.
    let record = [(0, 0), (2, 1), (6, 1), (7, 1), (9, 0)];
    for k in 0..2 {
        let fk = FeatureExtractor::new(
            Window {
                first_step: 5 * k,
                ..w
            },
            vec![FeatureKind::Counts],
        )
        .unwrap();
        fk.push(record, &mut x).unwrap();
    }
    assert_eq!(x.as_slice(), &[1.0, 1.0, 1.0, 2.0]);
}

// ---------------------------------------------------------------- ridge

#[test]
fn readout_ridge_matches_hand_solved_normal_equations() {
    // X = (0,0), (1,0), (0,1), (2,1); y = 1, 0, 2, 5; λ = 1.
    // Means x̄ = (3/4, 1/2), ȳ = 2. Centred sums: XcᵀXc = [[11/4, 1/2], [1/2, 1]],
    // Xcᵀyc = (4, 3). (XcᵀXc + I) = [[15/4, 1/2], [1/2, 2]], det 29/4, so
    // W = (4/29)·[[2, −1/2], [−1/2, 15/4]]·(4, 3) = (26/29, 37/29),
    // b = 2 − (3/4)(26/29) − (1/2)(37/29) = 20/29.
    let x = FeatureMatrix::from_rows(&[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 1.0]]).unwrap();
    let y = FeatureMatrix::from_rows(&[[1.0], [0.0], [2.0], [5.0]]).unwrap();
    for solver in [RidgeSolver::Primal, RidgeSolver::Dual] {
        let m = Ridge::fit_targets(
            &RidgeConfig {
                lambda: 1.0,
                solver,
            },
            &x,
            &y,
        )
        .unwrap();
        assert!(
            (m.weight(0, 0) - 26.0 / 29.0).abs() < RIDGE_TOL,
            "{solver:?}"
        );
        assert!(
            (m.weight(1, 0) - 37.0 / 29.0).abs() < RIDGE_TOL,
            "{solver:?}"
        );
        assert!((m.bias()[0] - 20.0 / 29.0).abs() < RIDGE_TOL, "{solver:?}");
    }
    // λ = 0: det 5/2, W = (2/5)·[[1, −1/2], [−1/2, 11/4]]·(4, 3) = (1, 5/2), b = 0.
    let m = Ridge::fit_targets(
        &RidgeConfig {
            lambda: 0.0,
            solver: RidgeSolver::Primal,
        },
        &x,
        &y,
    )
    .unwrap();
    assert!((m.weight(0, 0) - 1.0).abs() < RIDGE_TOL);
    assert!((m.weight(1, 0) - 2.5).abs() < RIDGE_TOL);
    assert!(m.bias()[0].abs() < RIDGE_TOL);
}

#[test]
fn readout_ridge_equals_cramer_rule_on_random_data() {
    // Two features: the 2×2 centred system solved by Cramer's rule, in f64.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let rows: Vec<[f32; 2]> = (0..30)
        .map(|_| [rng.random_range(-2.0..2.0), rng.random_range(-1.0..3.0)])
        .collect();
    let ys: Vec<[f32; 1]> = rows
        .iter()
        .map(|r| [0.3 * r[0] - 1.2 * r[1] + rng.random_range(-0.5..0.5)])
        .collect();
    let lambda = 2.5;
    let n = rows.len() as f64;
    let mx = [0, 1].map(|j| rows.iter().map(|r| r[j] as f64).sum::<f64>() / n);
    let my = ys.iter().map(|y| y[0] as f64).sum::<f64>() / n;
    let (mut a, mut b, mut d, mut r0, mut r1) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (r, y) in rows.iter().zip(&ys) {
        let (u, v, t) = (r[0] as f64 - mx[0], r[1] as f64 - mx[1], y[0] as f64 - my);
        a += u * u;
        b += u * v;
        d += v * v;
        r0 += u * t;
        r1 += v * t;
    }
    let (a, d) = (a + lambda, d + lambda);
    let det = a * d - b * b;
    let w0 = (r0 * d - b * r1) / det;
    let w1 = (a * r1 - b * r0) / det;
    let bias = my - w0 * mx[0] - w1 * mx[1];
    let x = FeatureMatrix::from_rows(&rows).unwrap();
    let y = FeatureMatrix::from_rows(&ys).unwrap();
    let m = Ridge::fit_targets(
        &RidgeConfig {
            lambda,
            solver: RidgeSolver::Auto,
        },
        &x,
        &y,
    )
    .unwrap();
    assert!((m.weight(0, 0) as f64 - w0).abs() < 1e-5);
    assert!((m.weight(1, 0) as f64 - w1).abs() < 1e-5);
    assert!((m.bias()[0] as f64 - bias).abs() < 1e-5);
}

#[test]
fn readout_ridge_recovers_a_linear_map_as_lambda_goes_to_zero() {
    let (n, p, k) = (60, 6, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let w_true: Vec<f32> = (0..p * k).map(|_| rng.random_range(-2.0..2.0)).collect();
    let b_true: Vec<f32> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut x = FeatureMatrix::new(p);
    let mut y = FeatureMatrix::new(k);
    for _ in 0..n {
        let xr: Vec<f32> = (0..p).map(|_| rng.random_range(-1.0..1.0)).collect();
        let yr: Vec<f32> = (0..k)
            .map(|c| b_true[c] + (0..p).map(|j| xr[j] * w_true[c * p + j]).sum::<f32>())
            .collect();
        x.push_row(&xr).unwrap();
        y.push_row(&yr).unwrap();
    }
    let err_at = |lambda: f64| {
        let m = Ridge::fit_targets(
            &RidgeConfig {
                lambda,
                solver: RidgeSolver::Primal,
            },
            &x,
            &y,
        )
        .unwrap();
        let mut worst = 0.0f32;
        for c in 0..k {
            worst = worst.max((m.bias()[c] - b_true[c]).abs());
            for j in 0..p {
                worst = worst.max((m.weight(j, c) - w_true[c * p + j]).abs());
            }
        }
        worst
    };
    // The shrinkage falls with λ and vanishes at the limit.
    let (e1, e2, e3) = (err_at(10.0), err_at(0.1), err_at(1e-9));
    assert!(e1 > e2 && e2 > e3, "{e1} {e2} {e3}");
    assert!(e1 > 0.05);
    assert!(e3 < 1e-4, "{e3}");
}

#[test]
fn readout_ridge_dual_interpolates_when_features_outnumber_samples() {
    // 5 samples, 12 features: the dual solution fits the training targets as
    // λ → 0, and equals the primal one at any λ > 0.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let rows: Vec<Vec<f32>> = (0..5)
        .map(|_| (0..12).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let targets: Vec<[f32; 2]> = (0..5)
        .map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
        .collect();
    let x = FeatureMatrix::from_rows(&rows).unwrap();
    let y = FeatureMatrix::from_rows(&targets).unwrap();
    let dual = Ridge::fit_targets(
        &RidgeConfig {
            lambda: 1e-9,
            solver: RidgeSolver::Auto,
        },
        &x,
        &y,
    )
    .unwrap();
    let fitted = dual.scores(&x).unwrap();
    for (a, b) in fitted.as_slice().iter().zip(y.as_slice()) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    let cfg = |solver| RidgeConfig {
        lambda: 0.3,
        solver,
    };
    let p = Ridge::fit_targets(&cfg(RidgeSolver::Primal), &x, &y).unwrap();
    let d = Ridge::fit_targets(&cfg(RidgeSolver::Dual), &x, &y).unwrap();
    for (a, b) in p.weights().iter().zip(d.weights().iter()) {
        assert!((a - b).abs() < RIDGE_TOL);
    }
}

// ---------------------------------------------------------------- softmax

#[test]
fn readout_softmax_gradient_matches_finite_differences() {
    let (rows, p, k) = (7, 4, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x: Vec<f64> = (0..rows * p).map(|_| rng.random_range(-1.0..1.0)).collect();
    let (on, off) = Targets::NALSM.values(k);
    let t: Vec<f64> = (0..rows * k)
        .map(|i| {
            if i % k == (i / k) % k {
                on as f64
            } else {
                off as f64
            }
        })
        .collect();
    let w = DMatrix::from_fn(p, k, |_, _| rng.random_range(-1.0..1.0));
    let b = DVector::from_fn(k, |_, _| rng.random_range(-1.0..1.0));
    let l2 = 0.3;
    let o = objective(&x, p, &t, &w, &b, l2).unwrap();
    let h = 1e-6;
    let check = |analytic: f64, plus: f64, minus: f64| {
        let fd = (plus - minus) / (2.0 * h);
        assert!(
            (fd - analytic).abs() <= FD_RTOL * fd.abs().max(analytic.abs()).max(1e-6),
            "analytic {analytic} vs finite difference {fd}"
        );
    };
    for i in 0..p * k {
        let (mut wp, mut wm) = (w.clone(), w.clone());
        wp[i] += h;
        wm[i] -= h;
        let lp = objective(&x, p, &t, &wp, &b, l2).unwrap().loss;
        let lm = objective(&x, p, &t, &wm, &b, l2).unwrap().loss;
        check(o.grad_w[i], lp, lm);
    }
    for c in 0..k {
        let (mut bp, mut bm) = (b.clone(), b.clone());
        bp[c] += h;
        bm[c] -= h;
        let lp = objective(&x, p, &t, &w, &bp, l2).unwrap().loss;
        let lm = objective(&x, p, &t, &w, &bm, l2).unwrap().loss;
        check(o.grad_b[c], lp, lm);
    }
    // The f32 path used in training agrees with the f64 one.
    let o32 = objective(
        &x.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        p,
        &t.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        &w.map(|v| v as f32),
        &b.map(|v| v as f32),
        l2 as f32,
    )
    .unwrap();
    assert!((o32.loss as f64 - o.loss).abs() < 1e-5 * o.loss);
    for (a, b) in o32.grad_w.iter().zip(o.grad_w.iter()) {
        assert!((*a as f64 - b).abs() < 1e-5);
    }
}

#[test]
fn readout_softmax_separates_gaussian_blobs_with_every_optimiser() {
    let (x, y) = blobs(100, 4, 10, 1);
    let (xt, yt) = blobs(50, 4, 10, 2);
    for optimiser in [
        Optimiser::adam(0.05),
        Optimiser::adadelta(1.0),
        Optimiser::Sgd { lr: 0.05 },
    ] {
        let cfg = SoftmaxConfig {
            optimiser,
            batch_size: 32,
            epochs: 40,
            ..Default::default()
        };
        let fit = Softmax::fit(&cfg, &x, &y, 4, Some((&xt, &yt))).unwrap();
        let acc = fit.model.accuracy(&xt, &yt).unwrap();
        assert!(acc >= 0.99, "{optimiser:?}: held-out accuracy {acc}");
        assert_eq!(fit.curve.len(), 40);
        // Training drives the loss well below the uniform ln 4.
        let loss = fit.curve.last().unwrap().train_loss;
        assert!(loss < 0.2 * 4f64.ln(), "{optimiser:?}: train loss {loss}");
    }
}

#[test]
fn readout_softmax_nalsm_config_learns_with_normalised_counts() {
    // Poisson-like counts where each class raises 5 of 40 neurons; NALSM's
    // L1 + batch-max normalisation and its Adadelta readout (shortened).
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut x = FeatureMatrix::new(40);
    let mut y = Vec::new();
    for i in 0..1000 {
        let c = (i % 4) as u32;
        let row = x.push_zeroed();
        for (j, v) in row.iter_mut().enumerate() {
            let rate = if j / 5 == c as usize { 12.0 } else { 3.0 };
            *v = (0..20)
                .filter(|_| rng.random::<f32>() < rate / 20.0)
                .count() as f32;
        }
        y.push(c);
    }
    let norm = Normaliser::fit(Normalisation::L1BatchMax { batch_size: 250 }, &x).unwrap();
    norm.transform(&mut x).unwrap();
    let cfg = SoftmaxConfig {
        epochs: 60,
        ..SoftmaxConfig::nalsm()
    };
    let fit = Softmax::fit(&cfg, &x, &y, 4, Some((&x, &y))).unwrap();
    let first = fit.curve[0].train_loss;
    let last = fit.curve.last().unwrap().train_loss;
    assert!(last < first, "{first} -> {last}");
    assert!(fit.best().val_accuracy.unwrap() > 0.9, "{:?}", fit.best());
    // The soft-target loss cannot fall below the targets' entropy.
    let (on, off) = Targets::NALSM.values(4);
    let entropy = -(on as f64) * (on as f64).ln() - 3.0 * off as f64 * (off as f64).ln();
    assert!(last > entropy);
}

#[test]
fn readout_softmax_is_deterministic_for_a_seed() {
    let (x, y) = blobs(30, 3, 5, 4);
    let cfg = SoftmaxConfig {
        epochs: 3,
        batch_size: 16,
        seed: 42,
        ..Default::default()
    };
    let a = Softmax::fit(&cfg, &x, &y, 3, None).unwrap();
    let b = Softmax::fit(&cfg, &x, &y, 3, None).unwrap();
    assert_eq!(a, b);
    let c = Softmax::fit(&SoftmaxConfig { seed: 43, ..cfg }, &x, &y, 3, None).unwrap();
    assert_ne!(a.model, c.model, "another seed, another batch order");
}

#[test]
fn readout_softmax_keeps_the_best_validation_epoch() {
    let (x, y) = blobs(40, 3, 6, 7);
    let (xv, yv) = blobs(20, 3, 6, 8);
    let cfg = SoftmaxConfig {
        epochs: 8,
        batch_size: 8,
        optimiser: Optimiser::Sgd { lr: 0.5 },
        ..Default::default()
    };
    let fit = Softmax::fit(&cfg, &x, &y, 3, Some((&xv, &yv))).unwrap();
    let best = fit
        .curve
        .iter()
        .map(|s| s.val_accuracy.unwrap())
        .fold(0.0, f64::max);
    let first_best = fit
        .curve
        .iter()
        .position(|s| s.val_accuracy == Some(best))
        .unwrap()
        + 1;
    assert_eq!(fit.best_epoch, first_best);
    assert_eq!(fit.model.accuracy(&xv, &yv).unwrap(), best);
}

// ---------------------------------------------------------------- optimisers

#[test]
fn readout_adam_steps_equal_hand_computation() {
    // lr 0.1, β1 0.9, β2 0.999, eps 1e-8, θ0 = 1, g = 0.5 then −1.
    // Step 1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, θ = 1 − 0.1·0.5/0.5 = 0.9.
    // Step 2: m = 0.045 − 0.1 = −0.055, v = 0.00024975 + 0.001 = 0.00124975,
    // m̂ = −0.055/0.19 = −0.2894737, v̂ = 0.00124975/0.001999 = 0.6251876,
    // θ = 0.9 + 0.1·0.2894737/0.7906880 = 0.9366104.
    let mut theta = [1.0f32];
    let mut opt = OptimiserState::new(Optimiser::adam(0.1), 1).unwrap();
    opt.step(&mut theta, &[0.5]).unwrap();
    assert!((theta[0] - 0.9).abs() < 1e-6, "{}", theta[0]);
    opt.step(&mut theta, &[-1.0]).unwrap();
    assert!((theta[0] - 0.936_610_4).abs() < 1e-6, "{}", theta[0]);
}

#[test]
fn readout_adadelta_steps_equal_hand_computation() {
    // lr 1, ρ 0.9, eps 0.01, θ0 = 1, g = 0.5 then −1 (TF1's update order).
    // Step 1: a = 0.1·0.25 = 0.025, u = sqrt(0.01)/sqrt(0.035)·0.5 = 0.2672612,
    // b = 0.1·u² = 0.0071429, θ = 0.7327388.
    // Step 2: a = 0.0225 + 0.1 = 0.1225, u = −sqrt(0.0171429)/sqrt(0.1325) = −0.3596944,
    // θ = 1.0924331.
    let mut theta = [1.0f32];
    let mut opt = OptimiserState::new(
        Optimiser::Adadelta {
            lr: 1.0,
            rho: 0.9,
            eps: 0.01,
        },
        1,
    )
    .unwrap();
    opt.step(&mut theta, &[0.5]).unwrap();
    assert!((theta[0] - 0.732_738_8).abs() < 1e-6, "{}", theta[0]);
    opt.step(&mut theta, &[-1.0]).unwrap();
    assert!((theta[0] - 1.092_433_1).abs() < 1e-6, "{}", theta[0]);
}

// ---------------------------------------------------------------- metrics, split

#[test]
fn readout_confusion_matrix_counts_a_crafted_example() {
    // truth:     0 0 0 0 1 1 2 2 2 2
    // predicted: 0 0 1 2 1 1 2 0 2 2
    let truth = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2];
    let pred = [0, 0, 1, 2, 1, 1, 2, 0, 2, 2];
    let cm = ConfusionMatrix::new(&pred, &truth, 4).unwrap();
    assert_eq!(
        cm.counts(),
        &[2, 1, 1, 0, 0, 2, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0]
    );
    assert_eq!(cm.total(), 10);
    assert_eq!(cm.correct(), 7);
    assert_eq!(cm.class_totals(), vec![4, 2, 4, 0]);
    assert_eq!(cm.accuracy(), Some(0.7));
    assert_eq!(
        cm.per_class_accuracy(),
        vec![Some(0.5), Some(1.0), Some(0.75), None]
    );
    assert_eq!(accuracy(&pred, &truth).unwrap(), 0.7);
    let json = serde_json::to_string(&cm).unwrap();
    assert_eq!(serde_json::from_str::<ConfusionMatrix>(&json).unwrap(), cm);
}

#[test]
fn readout_stratified_split_keeps_proportions_and_is_deterministic() {
    // 50 / 30 / 20 samples, interleaved; 20 % to validation → 10 / 6 / 4.
    let mut labels = Vec::new();
    for i in 0..100u32 {
        labels.push(if i % 10 < 5 {
            0
        } else if i % 10 < 8 {
            1
        } else {
            2
        });
    }
    let s = stratified_split(&labels, 3, 0.2, 123).unwrap();
    let count = |idx: &[usize], c| idx.iter().filter(|&&i| labels[i] == c).count();
    assert_eq!(
        [count(&s.val, 0), count(&s.val, 1), count(&s.val, 2)],
        [10, 6, 4]
    );
    assert_eq!(
        [count(&s.train, 0), count(&s.train, 1), count(&s.train, 2)],
        [40, 24, 16]
    );
    let mut all: Vec<usize> = s.train.iter().chain(&s.val).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    assert_eq!(s, stratified_split(&labels, 3, 0.2, 123).unwrap());
    assert_ne!(s.val, stratified_split(&labels, 3, 0.2, 124).unwrap().val);
}

#[test]
fn readout_selection_picks_the_best_validation_lambda() {
    // Class 0 twice as frequent as classes 1 and 2.
    let (x, y) = blobs(40, 3, 8, 12);
    let keep: Vec<usize> = (0..y.len()).filter(|&i| y[i] == 0 || i % 2 == 0).collect();
    let x = x.select_rows(&keep).unwrap();
    let y: Vec<u32> = keep.iter().map(|&i| y[i]).collect();
    let split = stratified_split(&y, 3, 0.25, 0).unwrap();
    let grid = [1e-3, 1.0, 1e9];
    let sel = select_ridge(&x, &y, 3, &split, &grid, RidgeSolver::Auto).unwrap();
    let best = sel.curve.iter().map(|p| p.val_accuracy).fold(0.0, f64::max);
    assert_eq!(sel.val_accuracy, best);
    assert!(best > 0.95);
    // λ = 1e9 shrinks W to ~0: the scores are the class frequencies, and every
    // sample is put in class 0.
    assert_eq!(sel.curve[2].val_accuracy, 0.5);
    assert_ne!(sel.lambda, 1e9);
}

// ---------------------------------------------------------------- bad input

#[test]
fn readout_bad_input_is_an_error_with_its_message() {
    let x = FeatureMatrix::from_rows(&[[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]).unwrap();
    let ridge = RidgeConfig::default();
    let soft = SoftmaxConfig::default();
    let cases: Vec<(astroglia::Result<()>, &str)> = vec![
        (
            Ridge::fit_classes(&ridge, &x, &[0, 1], 2).map(drop),
            "readout: 2 labels for 3 samples",
        ),
        (
            Ridge::fit_classes(&ridge, &x, &[0, 1, 0], 0).map(drop),
            "readout: zero classes",
        ),
        (
            Softmax::fit(&soft, &x, &[0, 3, 1], 2, None).map(drop),
            "readout: label 3 of sample 1 is out of range for 2 classes",
        ),
        (
            {
                let mut bad = x.clone();
                bad.row_mut(2)[1] = f32::NAN;
                Softmax::fit(&soft, &bad, &[0, 1, 1], 2, None).map(drop)
            },
            "readout: feature 1 of sample 2 is NaN",
        ),
        (
            Softmax::fit(
                &SoftmaxConfig {
                    batch_size: 0,
                    ..soft
                },
                &x,
                &[0, 1, 1],
                2,
                None,
            )
            .map(drop),
            "readout: batch_size must be ≥ 1",
        ),
        (
            Softmax::fit(
                &SoftmaxConfig {
                    optimiser: Optimiser::adam(-1.0),
                    ..soft
                },
                &x,
                &[0, 1, 1],
                2,
                None,
            )
            .map(drop),
            "readout: learning rate -1 must be positive and finite",
        ),
        (
            Ridge::fit_classes(&ridge, &x, &[0, 1, 1], 2)
                .and_then(|m| m.predict(&FeatureMatrix::from_rows(&[[1.0, 2.0, 3.0]]).unwrap()))
                .map(drop),
            "readout: samples have 3 features, the model expects 2",
        ),
        (
            Ridge::fit_classes(
                &RidgeConfig {
                    lambda: f64::NAN,
                    ..ridge
                },
                &x,
                &[0, 1, 1],
                2,
            )
            .map(drop),
            "readout: ridge lambda = NaN must be ≥ 0 and finite",
        ),
        (
            stratified_split(&[0, 1, 1], 2, 1.5, 0).map(drop),
            "readout: validation fraction 1.5 must be in (0, 1)",
        ),
        (
            ConfusionMatrix::new(&[0, 2], &[0, 1], 2).map(drop),
            "readout: sample 1: class 2 is out of range for 2 classes",
        ),
        (
            accuracy(&[], &[]).map(drop),
            "readout: accuracy of no samples",
        ),
        (
            FeatureExtractor::new(
                Window {
                    first_neuron: 0,
                    n_neurons: 4,
                    first_step: 0,
                    n_steps: 10,
                },
                vec![FeatureKind::Binned { n_bins: 11 }],
            )
            .map(drop),
            "readout: n_bins = 11 must be in 1..=10 (the window's steps)",
        ),
        (
            FeatureExtractor::new(
                Window {
                    first_neuron: 0,
                    n_neurons: 4,
                    first_step: 0,
                    n_steps: 10,
                },
                vec![FeatureKind::Trace {
                    tau_steps: 5.0,
                    at_steps: vec![10],
                }],
            )
            .map(drop),
            "readout: trace read at local step 10, past the window's 10 steps",
        ),
        (
            Normaliser::fit(Normalisation::MinMax, &x)
                .and_then(|n| n.transform(&mut FeatureMatrix::new(3))),
            "readout: samples have 3 features, the normaliser expects 2",
        ),
        (
            FeatureMatrix::from_vec(2, vec![1.0; 3]).map(drop),
            "readout: 3 values do not make rows of 2 features",
        ),
    ];
    for (i, (result, expected)) in cases.into_iter().enumerate() {
        match result {
            Ok(()) => panic!("case {i}: expected the error {expected:?}"),
            Err(e) => assert_eq!(message(e), expected, "case {i}"),
        }
    }
}

#[test]
fn readout_singular_ridge_system_is_an_error() {
    // Two identical features and λ = 0: XcᵀXc is singular.
    let x = FeatureMatrix::from_rows(&[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]).unwrap();
    let cfg = RidgeConfig {
        lambda: 0.0,
        solver: RidgeSolver::Primal,
    };
    let e = Ridge::fit_classes(&cfg, &x, &[0, 1, 1], 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "readout: the ridge system is not positive definite at lambda = 0; use a larger lambda"
    );
}

// ---------------------------------------------------------------- speed

/// Fit time at NALSM Fashion-MNIST scale (60,000 × 1,000, 10 classes). Run with
/// `cargo test --release --test tests readout_fit_time -- --ignored --nocapture`.
#[test]
#[ignore = "timing run, prints seconds"]
fn readout_fit_time_60000_by_1000() {
    use std::time::Instant;
    let (n, p, k) = (60_000, 1000, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let means: Vec<f32> = (0..k * p).map(|_| rng.random_range(0.0..1.0)).collect();
    let noise = Normal::new(0.0f32, 1.0).unwrap();
    let mut x = FeatureMatrix::with_capacity(p, n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % k;
        let row = x.push_zeroed();
        for (j, v) in row.iter_mut().enumerate() {
            *v = means[c * p + j] + noise.sample(&mut rng);
        }
        y.push(c as u32);
    }
    let epochs = 3;
    for (name, cfg) in [
        (
            "adam",
            SoftmaxConfig {
                epochs,
                ..Default::default()
            },
        ),
        (
            "nalsm adadelta",
            SoftmaxConfig {
                epochs,
                ..SoftmaxConfig::nalsm()
            },
        ),
    ] {
        let t = Instant::now();
        let fit = Softmax::fit(&cfg, &x, &y, k, None).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "softmax {name}: {epochs} epochs in {s:.2} s ({:.2} s/epoch incl. the per-epoch train pass), train acc {:.3}",
            s / epochs as f64,
            fit.curve.last().unwrap().train_accuracy
        );
    }
    let t = Instant::now();
    let m = Ridge::fit_classes(&RidgeConfig::default(), &x, &y, k).unwrap();
    println!(
        "ridge primal: {:.2} s, train acc {:.3}",
        t.elapsed().as_secs_f64(),
        m.accuracy(&x, &y).unwrap()
    );
}
