use super::*;

fn gauss(rng: &mut ChaCha8Rng) -> f32 {
    rng.sample::<f32, _>(StandardNormal)
}

/// `k` orthonormal rows in `n` dimensions (`k × n`), independent of the code under test.
fn basis(n: usize, k: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let q = DMatrix::<f64>::from_fn(n, k, |_, _| rng.sample(StandardNormal))
        .qr()
        .q();
    (0..k)
        .map(|j| (0..n).map(|i| q[(i, j)] as f32).collect())
        .collect()
}

/// `Σ_j c_j rows_j` for each of `batch` coefficient draws, concatenated.
fn mix(rows: &[Vec<f32>], batch: usize, mut coef: impl FnMut(usize) -> f32) -> Vec<f32> {
    let n = rows[0].len();
    let mut x = vec![0.0; batch * n];
    for xb in x.chunks_exact_mut(n) {
        for (j, r) in rows.iter().enumerate() {
            axpy(coef(j), r, xb);
        }
    }
    x
}

fn flat(rows: &[Vec<f32>]) -> Vec<f32> {
    rows.concat()
}

/// Max |H Hᵀ − I| over the rows `rows` of `h`.
fn orthonormality_error(h: &[f32], n: usize, rows: std::ops::Range<usize>) -> f32 {
    let mut worst = 0.0f32;
    for a in rows.clone() {
        for b in rows.clone() {
            let dot: f32 = (0..n).map(|i| h[a * n + i] * h[b * n + i]).sum();
            worst = worst.max((dot - if a == b { 1.0 } else { 0.0 }).abs());
        }
    }
    worst
}

/// Trains a fresh 4-row HLOP on minibatches from `sample` and returns the principal
/// angles to the top-4 PCA subspace of a large sample of the same data.
fn learn_subspace(n: usize, mut sample: impl FnMut(usize) -> Vec<f32>) -> Vec<f64> {
    let mut hlop = Hlop::new(n, HlopParams::default()).unwrap();
    hlop.grow(4, 11).unwrap();
    for _ in 0..600 {
        hlop.hebbian_update(&sample(32), 32).unwrap();
    }
    let pca = pca_top_k(&sample(4000), 4000, n, 4).unwrap();
    principal_angles_deg(hlop.weights(), 4, &pca, 4, n).unwrap()
}

#[test]
fn learns_principal_subspace_of_gaussian_mixture() {
    let n = 40;
    let u = basis(n, 4, 1);
    let sd = [3.0, 2.0, 2f32.sqrt(), 1.0]; // variances 9, 4, 2, 1
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let angles = learn_subspace(n, |b| {
        let mut x = mix(&u, b, |j| sd[j] * gauss(&mut rng));
        x.iter_mut().for_each(|v| *v += 0.01 * gauss(&mut rng));
        x
    });
    println!("gaussian mixture: principal angles to top-4 PCA (deg) {angles:.4?}");
    assert_eq!(angles.len(), 4);
    assert!(angles[3] < 5.0, "largest angle {}°", angles[3]);
}

#[test]
fn learns_principal_subspace_of_nonnegative_rates() {
    // Rate-like activity: four overlapping Gaussian "assemblies" over 40 neurons, each
    // with a non-negative amplitude |z|, plus non-negative noise: the mean rate is far
    // from zero and the assemblies are not orthogonal.
    let n = 40;
    let bumps: Vec<Vec<f32>> = (0..4)
        .map(|c| {
            (0..n)
                .map(|i| (-((i as f32 - (5.0 + 10.0 * c as f32)) / 4.0).powi(2) / 2.0).exp() * 0.7)
                .collect()
        })
        .collect();
    let sd = [3.0, 2.0, 2f32.sqrt(), 1.0];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let angles = learn_subspace(n, |b| {
        let mut x = mix(&bumps, b, |j| (sd[j] * gauss(&mut rng)).abs());
        x.iter_mut()
            .for_each(|v| *v += 0.01 * gauss(&mut rng).abs());
        x
    });
    println!("non-negative rates: principal angles to top-4 PCA (deg) {angles:.4?}");
    assert!(angles[3] < 5.0, "largest angle {}°", angles[3]);
}

/// `W += η/B Σ_b (t_b − W x_b) x_useᵀ` for `steps` minibatches; `project` picks `x_use`.
struct Task<'a> {
    dirs: &'a [Vec<f32>],
    teacher: &'a [f32],
}

const OUT: usize = 3;

fn outputs(w: &[f32], x: &[f32], n: usize) -> Vec<f32> {
    x.chunks_exact(n)
        .flat_map(|xb| {
            w.chunks_exact(n)
                .map(move |wr| wr.iter().zip(xb).map(|(a, b)| a * b).sum::<f32>())
        })
        .collect()
}

fn mse(w: &[f32], task: &Task, x: &[f32], n: usize) -> f64 {
    let (y, t) = (outputs(w, x, n), outputs(task.teacher, x, n));
    y.iter()
        .zip(&t)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / y.len() as f64
}

fn train(w: &mut [f32], task: &Task, n: usize, rng: &mut ChaCha8Rng, hlop: &mut Hlop, mode: Mode) {
    let (b, eta) = (16, 0.05f32);
    for _ in 0..1000 {
        let x = mix(task.dirs, b, |_| gauss(rng));
        let (y, t) = (outputs(w, &x, n), outputs(task.teacher, &x, n));
        let mut x_use = x.clone();
        match mode {
            Mode::LearnSubspace => hlop.hebbian_update(&x, b).unwrap(),
            Mode::Projected => hlop.project_in_place(&mut x_use).unwrap(),
            Mode::Plain => {}
        }
        for s in 0..b {
            for o in 0..OUT {
                let err = t[s * OUT + o] - y[s * OUT + o];
                axpy(
                    eta / b as f32 * err,
                    &x_use[s * n..(s + 1) * n],
                    &mut w[o * n..(o + 1) * n],
                );
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Mode {
    LearnSubspace,
    Projected,
    Plain,
}

fn rel_change(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let r: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (d / r).sqrt()
}

#[test]
fn projection_protects_earlier_task() {
    // Task 1 inputs span U1 = span(e0..e3); task 2 inputs span U2 with rows
    // 0.6 u_j + 0.8 w_j (w_j ⊥ U1), so every principal angle between U1 and U2 is
    // 53.1°: the tasks share input directions, which is what makes plain training
    // interfere. Inputs lie exactly in their subspaces so the figure isolates HLOP's
    // own projection error. Teachers are fixed random linear maps (3 outputs).
    let n = 40;
    let e = basis(n, 8, 5);
    let u1 = &e[..4];
    let u2: Vec<Vec<f32>> = (0..4)
        .map(|j| (0..n).map(|i| 0.6 * e[j][i] + 0.8 * e[4 + j][i]).collect())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let t1: Vec<f32> = (0..OUT * n).map(|_| gauss(&mut rng)).collect();
    let t2: Vec<f32> = (0..OUT * n).map(|_| gauss(&mut rng)).collect();
    let (task1, task2) = (
        Task {
            dirs: u1,
            teacher: &t1,
        },
        Task {
            dirs: &u2,
            teacher: &t2,
        },
    );

    let mut hlop = Hlop::new(n, HlopParams::default()).unwrap();
    hlop.grow(4, 7).unwrap();
    let mut w1 = vec![0.0f32; OUT * n];
    train(&mut w1, &task1, n, &mut rng, &mut hlop, Mode::LearnSubspace);
    hlop.freeze();
    let angles = principal_angles_deg(hlop.weights(), 4, &flat(u1), 4, n).unwrap();

    let x1 = mix(u1, 200, |_| gauss(&mut rng));
    let x2 = mix(&u2, 200, |_| gauss(&mut rng));
    let y1 = outputs(&w1, &x1, n);
    let task1_mse = mse(&w1, &task1, &x1, n);
    let task2_before = mse(&w1, &task2, &x2, n);

    let (mut w_proj, mut w_plain) = (w1.clone(), w1.clone());
    let mut seed_rng = rng.clone();
    train(&mut w_proj, &task2, n, &mut rng, &mut hlop, Mode::Projected);
    train(
        &mut w_plain,
        &task2,
        n,
        &mut seed_rng,
        &mut hlop,
        Mode::Plain,
    );
    let d_proj = rel_change(&outputs(&w_proj, &x1, n), &y1);
    let d_plain = rel_change(&outputs(&w_plain, &x1, n), &y1);
    let task2_proj = mse(&w_proj, &task2, &x2, n);
    let task2_plain = mse(&w_plain, &task2, &x2, n);
    println!(
        "HLOP vs U1 angles (deg) {angles:.5?}; task-1 mse after task 1 {task1_mse:.2e}\n\
         task-1 output change |dY1|/|Y1|: projected {d_proj:.2e}, plain {d_plain:.3}\n\
         task-2 mse: before {task2_before:.3}, projected {task2_proj:.2e}, plain {task2_plain:.2e}"
    );
    assert!(task1_mse < 1e-6, "task 1 not learned: {task1_mse}");
    assert!(
        d_proj < 1e-3,
        "projected training moved task-1 outputs by {d_proj}"
    );
    assert!(
        d_plain > 0.1,
        "plain training moved task-1 outputs by only {d_plain}"
    );
    assert!(
        task2_proj < 1e-3 * task2_before,
        "task 2 not learned under projection: {task2_proj}"
    );
}

#[test]
fn frozen_rows_stay_put_and_grown_rows_are_orthonormal() {
    let n = 12;
    let mut hlop = Hlop::new(n, HlopParams::default()).unwrap();
    hlop.grow(3, 1).unwrap();
    assert_eq!((hlop.k(), hlop.frozen_rows(), hlop.rows().len()), (3, 0, 3));
    assert!(orthonormality_error(hlop.weights(), n, 0..3) < 1e-5);
    let mut same = Hlop::new(n, HlopParams::default()).unwrap();
    same.grow(3, 1).unwrap();
    assert_eq!(
        same.weights(),
        hlop.weights(),
        "grow must be deterministic in its seed"
    );

    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let data = |rng: &mut ChaCha8Rng| (0..8 * n).map(|_| gauss(rng)).collect::<Vec<f32>>();
    for _ in 0..20 {
        hlop.hebbian_update(&data(&mut rng), 8).unwrap();
    }
    hlop.freeze();
    let (h_old, m_old) = (hlop.weights().to_vec(), hlop.momentum_buffer().to_vec());
    assert!(m_old.iter().any(|&v| v != 0.0));
    hlop.grow(2, 2).unwrap();
    assert_eq!((hlop.k(), hlop.frozen_rows()), (5, 3));
    assert_eq!(&hlop.weights()[..3 * n], &h_old[..]);
    assert!(orthonormality_error(hlop.weights(), n, 3..5) < 1e-5);
    // The new rows start orthogonal to the frozen ones.
    for new in hlop.weights()[3 * n..].chunks(n) {
        for old in h_old.chunks(n) {
            let dot: f32 = new.iter().zip(old).map(|(a, b)| a * b).sum();
            assert!(dot.abs() < 1e-5, "grown row overlaps a frozen row: {dot}");
        }
    }
    let h_grown = hlop.weights()[3 * n..].to_vec();
    for _ in 0..20 {
        hlop.hebbian_update(&data(&mut rng), 8).unwrap();
    }
    assert_eq!(hlop.frozen_weights(), &h_old[..], "frozen rows changed");
    assert_eq!(
        &hlop.momentum_buffer()[..3 * n],
        &m_old[..],
        "frozen momentum changed"
    );
    assert_ne!(
        &hlop.weights()[3 * n..],
        &h_grown[..],
        "trainable rows did not learn"
    );

    hlop.freeze();
    let all = hlop.weights().to_vec();
    hlop.hebbian_update(&data(&mut rng), 8).unwrap();
    assert_eq!(
        hlop.weights(),
        &all[..],
        "all-frozen update must be a no-op"
    );
}

#[test]
fn projection_is_identity_without_frozen_rows_and_removes_frozen_span() {
    let n = 6;
    let mut hlop = Hlop::new(n, HlopParams::default()).unwrap();
    hlop.grow(2, 3).unwrap();
    let x: Vec<f32> = (0..2 * n).map(|i| i as f32 - 4.0).collect();
    let mut out = vec![0.0; x.len()];
    hlop.project(&x, &mut out).unwrap();
    assert_eq!(out, x);
    hlop.freeze(); // rows are orthonormal as grown, so the projection is exact
    hlop.project(&x, &mut out).unwrap();
    for (xb, ob) in out.chunks_exact(n).zip(x.chunks_exact(n)) {
        for h in hlop.rows() {
            let dot: f32 = h.iter().zip(xb).map(|(a, b)| a * b).sum();
            assert!(
                dot.abs() < 1e-5,
                "projection not orthogonal to frozen rows: {dot}"
            );
        }
        assert!(xb != ob);
    }
}

#[test]
fn spiking_quantisation_matches_formula() {
    // s = 16, T = 32: y / s · T = 2y exactly, so ties are real ties.
    let q = SpikingLateral {
        scale: 16.0,
        levels: 32,
    };
    for (y, want) in [
        (0.25, 0.0),
        (0.75, 1.0),
        (1.25, 1.0),
        (-0.75, -1.0),
        (3.3, 3.5),
        (25.0, 16.0),
        (-30.0, -16.0),
    ] {
        assert_eq!(q.quantise(y), want, "quantise({y})");
    }
    // README example s = 20, T = 40: steps of 0.5.
    let q = SpikingLateral {
        scale: 20.0,
        levels: 40,
    };
    for (y, want) in [(1.3, 1.5), (-7.9, -8.0), (21.0, 20.0), (0.2, 0.0)] {
        assert!(
            (q.quantise(y) - want).abs() < 1e-6,
            "quantise({y}) = {}",
            q.quantise(y)
        );
    }

    // The quantised lateral activity is what the projection subtracts.
    let params = HlopParams {
        spiking: Some(q.clone()),
        ..Default::default()
    };
    let mut hlop = Hlop::new(4, params).unwrap();
    hlop.grow(1, 4).unwrap();
    hlop.freeze();
    let x = [3.0, -1.0, 2.0, 0.5];
    let h = hlop.weights().to_vec();
    let y = q.quantise(h.iter().zip(&x).map(|(a, b)| a * b).sum());
    let mut out = [0.0; 4];
    hlop.project(&x, &mut out).unwrap();
    for i in 0..4 {
        assert!((out[i] - (x[i] - y * h[i])).abs() < 1e-6);
    }
}

#[test]
fn params_defaults_serde_and_check() {
    let p: HlopParams = toml::from_str("").unwrap();
    assert_eq!(p, HlopParams::default());
    let p: HlopParams = toml::from_str("lr = 0.001\nspiking = { levels = 40 }").unwrap();
    assert_eq!(
        (p.lr, p.spiking.unwrap()),
        (
            0.001,
            SpikingLateral {
                scale: 20.0,
                levels: 40
            }
        )
    );
    assert!(toml::from_str::<HlopParams>("rate = 1.0").is_err());
    let bad = HlopParams {
        lr: f32::NAN,
        momentum: 1.0,
        iterations: 0,
        clamp: 0.0,
        spiking: Some(SpikingLateral {
            scale: -1.0,
            levels: 0,
        }),
    };
    let fields: Vec<_> = bad.check().into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "lr",
            "momentum",
            "iterations",
            "clamp",
            "spiking.scale",
            "spiking.levels"
        ]
    );
    assert!(HlopParams::default().check().is_empty());
    assert!(matches!(Hlop::new(4, bad), Err(Error::Argument { .. })));
}

#[test]
fn bad_lengths_are_errors() {
    let is_invalid =
        |r: Result<()>| matches!(r, Err(Error::Argument { .. } | Error::Length { .. }));
    assert!(Hlop::new(0, HlopParams::default()).is_err());
    let mut hlop = Hlop::new(5, HlopParams::default()).unwrap();
    assert!(is_invalid(hlop.grow(6, 0)));
    hlop.grow(2, 0).unwrap();
    assert!(
        is_invalid(hlop.grow(4, 0)),
        "2 + 4 rows cannot be orthonormal in 5-d"
    );
    assert!(is_invalid(hlop.hebbian_update(&[0.0; 9], 2)));
    assert!(is_invalid(hlop.hebbian_update(&[], 0)));
    assert!(is_invalid(hlop.hebbian_update(&[0.0; 5], usize::MAX)));
    assert!(is_invalid(
        hlop.hebbian_update(&[f32::NAN, 0.0, 0.0, 0.0, 0.0], 1)
    ));
    assert!(is_invalid(hlop.project(&[0.0; 5], &mut [0.0; 4])));
    assert!(is_invalid(hlop.project(&[0.0; 7], &mut [0.0; 7])));
    assert!(is_invalid(hlop.project_in_place(&mut [0.0; 4])));
    assert!(principal_angles_deg(&[0.0; 5], 1, &[1.0, 0.0, 0.0], 1, 3).is_err());
    assert!(
        principal_angles_deg(&[1.0, 0.0, 0.0, 2.0, 0.0, 0.0], 2, &[1.0, 0.0, 0.0], 1, 3).is_err()
    );
    assert!(principal_angles_deg(&[1.0; 8], 4, &[1.0, 0.0], 1, 2).is_err());
    assert!(pca_top_k(&[0.0; 7], 2, 3, 1).is_err());
    assert!(pca_top_k(&[0.0; 6], 2, 3, 4).is_err());
    assert!(pca_top_k(&[], 0, 3, 1).is_err());
}

#[test]
fn principal_angles_and_pca_on_known_cases() {
    // span(e0, e1) vs span(e0, cos30 e1 + sin30 e2): angles 0° and 30°.
    let a = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0];
    let c = 30f32.to_radians();
    let b = [0.0, c.cos(), c.sin(), -3.0, 0.0, 0.0];
    let ang = principal_angles_deg(&a, 2, &b, 2, 3).unwrap();
    assert!(
        ang[0].abs() < 1e-3 && (ang[1] - 30.0).abs() < 1e-3,
        "{ang:?}"
    );
    // Samples ±(3, 0, 0) and ±(0, 0, 1): top direction e0, then e2.
    let x = [3.0, 0.0, 0.0, -3.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0];
    let p = pca_top_k(&x, 4, 3, 2).unwrap();
    assert_eq!(p, [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    // Uncentred: samples (2, ±1) have second moment diag(4, 1), so e0 leads (centred
    // PCA would pick e1, the only direction that varies).
    assert_eq!(
        pca_top_k(&[2.0, 1.0, 2.0, -1.0], 2, 2, 1).unwrap(),
        [1.0, 0.0]
    );
}
