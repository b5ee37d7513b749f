//! Hebbian learning based orthogonal projection (HLOP; Xiao et al., ICLR 2024,
//! reference code `pkuxmq/HLOP-SNN`, `modules/hlop_module.py`).
//!
//! A protected layer with `n` presynaptic inputs gets `k` lateral neurons with
//! weights `H` (`k × n`, row-major). For a minibatch `X` (`B × n`) one Hebbian
//! iteration is
//!
//! ```text
//! Y    = X Hᵀ                                  lateral drive (optionally quantised, see SpikingLateral)
//! Xhat = Y H                                   recurrent reconstruction
//! dH   = clamp(Yᵀ (X − Xhat) / B, −c, c)       Oja subspace rule; rows of frozen subspaces set to 0
//! M    = m M + (1 − m) dH                      momentum, only on trainable rows
//! H    = H + lr M
//! ```
//!
//! Rows converge to an orthonormal basis of the principal subspace of the
//! uncentred second moment `E[x xᵀ]`. At the start of a task [`Hlop::grow`] appends
//! rows; at its end [`Hlop::freeze`] merges every row into one frozen subspace.
//! Later tasks train their synaptic weights with [`Hlop::project`]ed presynaptic
//! activity `x − H_frozenᵀ H_frozen x` in place of `x` (in `Δw = δ x_⊥ᵀ`), so updates
//! are orthogonal to what earlier tasks' inputs spanned. `H` is used as learned,
//! without re-orthonormalisation, as in the reference.
use nalgebra::DMatrix;
#[cfg(test)]
use nalgebra::SymmetricEigen;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Spiking lateral neurons: the lateral activity is a spike count over a window,
/// so `y` is clamped to `[−scale, scale]` and rounded to `levels` steps per `scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SpikingLateral {
    /// Largest representable |y|, in units of the presynaptic activity (default 20).
    pub scale: f32,
    /// Time steps (quantisation levels) per `scale` (default 1000; the paper's README uses 40).
    pub levels: u32,
}

impl Default for SpikingLateral {
    fn default() -> Self {
        SpikingLateral {
            scale: 20.0,
            levels: 1000,
        }
    }
}

impl SpikingLateral {
    /// `round(clamp(y, −s, s) / s · T) / T · s`, rounding ties to even as `torch.round`.
    pub fn quantise(&self, y: f32) -> f32 {
        let (s, t) = (self.scale, self.levels as f32);
        (y.clamp(-s, s) / s * t).round_ties_even() / t * s
    }
}

/// Parameters of the HLOP lateral learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HlopParams {
    /// Hebbian learning rate per iteration (default 0.01; the paper uses 0.001 for 784-d inputs).
    pub lr: f32,
    /// Momentum coefficient `m` of `M = m M + (1 − m) dH` (default 0.9; 0 disables momentum).
    pub momentum: f32,
    /// Hebbian iterations per minibatch in `Hlop::hebbian_update` (default 5).
    pub iterations: u32,
    /// Elementwise bound on `dH` (default 10).
    pub clamp: f32,
    /// Quantise lateral activity as spike counts (default none: analogue `y`).
    pub spiking: Option<SpikingLateral>,
}

impl Default for HlopParams {
    fn default() -> Self {
        HlopParams {
            lr: 0.01,
            momentum: 0.9,
            iterations: 5,
            clamp: 10.0,
            spiking: None,
        }
    }
}

impl HlopParams {
    /// Lists invalid parameters as (field, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            out.push(("lr", format!("must be a positive number, got {}", self.lr)));
        }
        if !(self.momentum >= 0.0 && self.momentum < 1.0) {
            out.push((
                "momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            ));
        }
        if self.iterations < 1 {
            out.push(("iterations", "must be at least 1, got 0".into()));
        }
        if !(self.clamp > 0.0) {
            out.push(("clamp", format!("must be > 0, got {}", self.clamp)));
        }
        if let Some(s) = &self.spiking {
            if !(s.scale > 0.0 && s.scale.is_finite()) {
                out.push((
                    "spiking.scale",
                    format!("must be a positive number, got {}", s.scale),
                ));
            }
            if s.levels < 1 {
                out.push(("spiking.levels", "must be at least 1, got 0".into()));
            }
        }
        out
    }
}

/// The lateral weights `H` of one protected layer, with their momentum and the
/// count of frozen rows (always the first rows: [`Hlop::grow`] appends, and
/// [`Hlop::freeze`] freezes everything).
///
/// (Example: the unit test `doc_examples::hlop`.)
#[derive(Debug, Clone)]
pub struct Hlop {
    n: usize,
    k: usize,
    frozen: usize,
    params: HlopParams,
    /// `k × n` row-major lateral weights.
    h: Vec<f32>,
    /// `k × n` momentum of `dH`.
    m: Vec<f32>,
    /// The frozen rows transposed (`n × frozen`), for [`lateral`].
    ht_frozen: Vec<f32>,
}

impl Hlop {
    /// An empty learner (no rows) for `n` presynaptic inputs; fails on `n = 0` or
    /// invalid `params`.
    pub fn new(n: usize, params: HlopParams) -> Result<Self> {
        if n == 0 {
            return Err(Error::argument(
                "HLOP",
                "presynaptic dimension n must be at least 1",
            ));
        }
        let bad = params.check();
        if !bad.is_empty() {
            let list: Vec<String> = bad.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            return Err(Error::argument("HLOP parameters", list.join("; ")));
        }
        Ok(Hlop {
            n,
            k: 0,
            frozen: 0,
            params,
            h: vec![],
            m: vec![],
            ht_frozen: vec![],
        })
    }

    /// Presynaptic dimension.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of lateral neurons (rows of `H`), frozen or not.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of frozen rows; they are rows `0..frozen_rows()`.
    pub fn frozen_rows(&self) -> usize {
        self.frozen
    }

    /// The parameters in use.
    pub fn params(&self) -> &HlopParams {
        &self.params
    }

    /// `H`, `k × n` row-major.
    pub fn weights(&self) -> &[f32] {
        &self.h
    }

    /// The frozen block `H_old`, `frozen_rows() × n` row-major.
    pub fn frozen_weights(&self) -> &[f32] {
        &self.h[..self.frozen * self.n]
    }

    /// The momentum `M` of `dH`, `k × n` row-major.
    pub fn momentum_buffer(&self) -> &[f32] {
        &self.m
    }

    /// Iterates over the rows of `H` (each of length `n`).
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.h.chunks_exact(self.n)
    }

    /// Appends `k_new` trainable rows with orthonormal rows (as `torch.nn.init.orthogonal_`:
    /// QR of a Gaussian matrix drawn from `ChaCha8Rng` seeded with `seed`, signs fixed by
    /// `diag(R)`) and zero momentum.
    ///
    /// Unlike the reference, the Gaussian draw is first projected off the span of the
    /// existing rows, so new rows start orthogonal to them. The rule would drive them
    /// there only along directions the data excites. On permuted Fashion-MNIST, rows
    /// grown inside the old span kept overlapping it: after 4 tasks the singular
    /// values of `H` ranged over 0.45–1.40. `x − HᵀHx` then reverses the part of an
    /// update along the top singular directions, and training diverged.
    /// Fails when `k() + k_new > n` (more than `n` rows cannot be orthonormal).
    pub fn grow(&mut self, k_new: usize, seed: u64) -> Result<()> {
        if self.k + k_new > self.n {
            return Err(Error::argument(
                "HLOP",
                format!(
                    "cannot grow {k_new} rows orthogonal to {} existing rows in {} dimensions",
                    self.k, self.n
                ),
            ));
        }
        if k_new == 0 {
            return Ok(());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Drawn row by row, so row j of H uses draws j·n .. (j+1)·n.
        let draws = (0..k_new * self.n).map(|_| rng.sample::<f64, _>(StandardNormal));
        let mut gt = DMatrix::from_row_iterator(k_new, self.n, draws).transpose();
        if self.k > 0 {
            let old = DMatrix::from_row_iterator(self.k, self.n, self.h.iter().map(|&v| v as f64));
            let q = old.transpose().qr().q();
            gt -= &q * (q.transpose() * &gt);
        }
        let qr = gt.qr();
        let (q, r) = (qr.q(), qr.r());
        for j in 0..k_new {
            let sign = if r[(j, j)] < 0.0 { -1.0 } else { 1.0 };
            self.h
                .extend((0..self.n).map(|i| (sign * q[(i, j)]) as f32));
        }
        self.m.resize(self.h.len(), 0.0);
        self.k += k_new;
        Ok(())
    }

    /// End of a task: merges every current row into the frozen subspace.
    pub fn freeze(&mut self) {
        self.frozen = self.k;
        transpose(&self.h, self.n, &mut self.ht_frozen);
    }

    /// Runs `params.iterations` iterations of the rule on the minibatch `x`
    /// (`batch × n` row-major presynaptic activity). `Y` and `Xhat` use every row;
    /// only rows `frozen_rows()..k()` change, and frozen rows keep their momentum.
    pub fn hebbian_update(&mut self, x: &[f32], batch: usize) -> Result<()> {
        check_batch("hebbian_update: x", x.len(), batch, self.n)?;
        if batch == 0 {
            return Err(Error::argument("HLOP hebbian_update", "empty batch"));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::argument(
                "HLOP hebbian_update",
                "x holds a non-finite value",
            ));
        }
        let (n, k, f) = (self.n, self.k, self.frozen);
        if f == k {
            return Ok(()); // nothing trainable: every dH row would be zeroed
        }
        let p = &self.params;
        let mut y = vec![0.0f32; k];
        let mut resid = vec![0.0f32; n];
        let mut dh = vec![0.0f32; (k - f) * n];
        let mut ht = vec![];
        for _ in 0..p.iterations {
            dh.fill(0.0);
            transpose(&self.h, n, &mut ht);
            for xb in x.chunks_exact(n) {
                lateral(&ht, p.spiking.as_ref(), xb, &mut y);
                resid.copy_from_slice(xb);
                for (yj, hj) in y.iter().zip(self.h.chunks_exact(n)) {
                    axpy(-yj, hj, &mut resid);
                }
                for (yj, dj) in y[f..].iter().zip(dh.chunks_exact_mut(n)) {
                    axpy(*yj, &resid, dj);
                }
            }
            let (lr, mom, c, inv_b) = (p.lr, p.momentum, p.clamp, 1.0 / batch as f32);
            let (h_new, m_new) = (&mut self.h[f * n..], &mut self.m[f * n..]);
            for ((h, m), d) in h_new.iter_mut().zip(m_new).zip(&dh) {
                *m = mom * *m + (1.0 - mom) * (d * inv_b).clamp(-c, c);
                *h += lr * *m;
            }
        }
        Ok(())
    }

    /// `out = x − H_frozenᵀ H_frozen x` for each length-`n` vector of `x` (one or more,
    /// concatenated); a copy when nothing is frozen. With spiking lateral neurons
    /// `H_frozen x` is quantised first, as in the reference `projection`.
    pub fn project(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        if out.len() != x.len() {
            return Err(Error::Length {
                what: "HLOP project: out".into(),
                expected: format!("{} (as many as x)", x.len()),
                got: out.len(),
            });
        }
        out.copy_from_slice(x);
        self.project_in_place(out)
    }

    /// [`Hlop::project`] overwriting `x`.
    pub fn project_in_place(&self, x: &mut [f32]) -> Result<()> {
        if x.len() % self.n != 0 {
            return Err(Error::Length {
                what: "HLOP project: x".into(),
                expected: format!("a multiple of n = {}", self.n),
                got: x.len(),
            });
        }
        let h_old = self.frozen_weights();
        let mut y = vec![0.0f32; self.frozen];
        for xb in x.chunks_exact_mut(self.n) {
            lateral(&self.ht_frozen, self.params.spiking.as_ref(), xb, &mut y);
            for (yj, hj) in y.iter().zip(h_old.chunks_exact(self.n)) {
                axpy(-yj, hj, xb);
            }
        }
        Ok(())
    }
}

/// `y = q(H x)`, from `ht` = `Hᵀ` (`x.len() × y.len()`, from [`transpose`]).
///
/// Each `y_j` is `Σ_i H_ji x_i` summed from -0 in ascending i (as `Iterator::sum`
/// and the shader's `hlop_y`, so the backends agree bit for bit), but all rows
/// advance together: the inner loop runs over j, and vectorises.
fn lateral(ht: &[f32], spiking: Option<&SpikingLateral>, x: &[f32], y: &mut [f32]) {
    let k = y.len();
    debug_assert_eq!(ht.len(), x.len() * k);
    y.fill(-0.0);
    if k == 0 {
        return;
    }
    for (&xi, col) in x.iter().zip(ht.chunks_exact(k)) {
        for (yj, &h) in y.iter_mut().zip(col) {
            *yj += h * xi;
        }
    }
    if let Some(s) = spiking {
        y.iter_mut().for_each(|v| *v = s.quantise(*v));
    }
}

/// `out` = the transpose (`n × k`) of `h` (`k × n` row-major).
fn transpose(h: &[f32], n: usize, out: &mut Vec<f32>) {
    let k = h.len() / n;
    out.clear();
    out.resize(h.len(), 0.0);
    for (j, row) in h.chunks_exact(n).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            out[i * k + j] = v;
        }
    }
}

/// `acc += a · v`.
fn axpy(a: f32, v: &[f32], acc: &mut [f32]) {
    for (o, vi) in acc.iter_mut().zip(v) {
        *o += a * vi;
    }
}

fn check_batch(what: &str, len: usize, rows: usize, n: usize) -> Result<()> {
    match rows.checked_mul(n) {
        Some(want) if want == len => Ok(()),
        _ => Err(Error::Length {
            what: format!("HLOP {what}"),
            expected: format!("{rows} × {n}"),
            got: len,
        }),
    }
}

/// Orthonormal basis (columns, `n × k`) of the row space of `a` (`k × n`), by QR.
#[cfg(test)]
fn row_basis(what: &str, a: &[f32], k: usize, n: usize) -> Result<DMatrix<f64>> {
    check_batch(what, a.len(), k, n)?;
    if k == 0 {
        return Ok(DMatrix::zeros(n, 0));
    }
    if k > n {
        return Err(Error::argument(
            format!("HLOP {what}"),
            format!("{k} rows cannot be independent in {n} dimensions"),
        ));
    }
    let qr = DMatrix::from_row_slice(k, n, a)
        .map(|v: f32| v as f64)
        .transpose()
        .qr();
    let r = qr.r();
    let big = (0..k).map(|j| r[(j, j)].abs()).fold(0.0, f64::max);
    if (0..k).any(|j| !(r[(j, j)].abs() > 1e-10 * big)) {
        return Err(Error::argument(
            format!("HLOP {what}"),
            "rows are linearly dependent",
        ));
    }
    Ok(qr.q())
}

/// Principal angles, in degrees and ascending, between the row spaces of `a`
/// (`ka × n` row-major) and `b` (`kb × n`): `min(ka, kb)` values, `acos` of the
/// singular values of `Qaᵀ Qb` after QR-orthonormalising both. Rows of each must be
/// linearly independent. 0° means a shared direction, 90° an orthogonal one.
#[cfg(test)]
pub fn principal_angles_deg(
    a: &[f32],
    ka: usize,
    b: &[f32],
    kb: usize,
    n: usize,
) -> Result<Vec<f64>> {
    let qa = row_basis("principal_angles_deg: a", a, ka, n)?;
    let qb = row_basis("principal_angles_deg: b", b, kb, n)?;
    if ka == 0 || kb == 0 {
        return Ok(vec![]);
    }
    let s = (qa.transpose() * qb).singular_values();
    let mut deg: Vec<f64> = s
        .iter()
        .map(|c| c.clamp(0.0, 1.0).acos().to_degrees())
        .collect();
    deg.sort_by(f64::total_cmp);
    Ok(deg)
}

/// Top-`k` principal directions (`k × n` row-major, unit rows, largest eigenvalue
/// first) of the uncentred second moment `XᵀX / B` of `x` (`batch × n`). Uncentred
/// because that is the subspace Oja's rule, and so HLOP, learns. Each row's
/// largest-magnitude component is made positive so the result is deterministic.
#[cfg(test)]
pub fn pca_top_k(x: &[f32], batch: usize, n: usize, k: usize) -> Result<Vec<f32>> {
    check_batch("pca_top_k: x", x.len(), batch, n)?;
    if batch == 0 || k > n {
        return Err(Error::argument(
            "HLOP pca_top_k",
            format!("need batch ≥ 1 and k ≤ n, got batch {batch}, k {k}, n {n}"),
        ));
    }
    let xm = DMatrix::from_row_slice(batch, n, x).map(|v: f32| v as f64);
    let eig = SymmetricEigen::new(xm.transpose() * &xm / batch as f64);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
    let mut out = Vec::with_capacity(k * n);
    for &c in &order[..k] {
        let v = eig.eigenvectors.column(c);
        let peak = v
            .iter()
            .copied()
            .fold(0.0, |p: f64, e| if e.abs() > p.abs() { e } else { p });
        let sign = if peak < 0.0 { -1.0 } else { 1.0 };
        out.extend(v.iter().map(|e| (sign * e) as f32));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

/// The examples of this module's documentation (crate-private, so not doc
/// tests).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn hlop() {
        use crate::plasticity::hlop::{Hlop, HlopParams};
        // Task 1 activity lies along the first of 3 inputs.
        let params = HlopParams {
            lr: 0.05,
            ..Default::default()
        };
        let mut hlop = Hlop::new(3, params).unwrap();
        hlop.grow(1, 7).unwrap();
        let batch = [1.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.5, 0.0, 0.0, -1.5, 0.0, 0.0];
        for _ in 0..200 {
            hlop.hebbian_update(&batch, 4).unwrap();
        }
        hlop.freeze();
        // Task 2 updates see presynaptic activity with the task-1 direction removed.
        let mut x = [1.0, 2.0, 3.0];
        hlop.project_in_place(&mut x).unwrap();
        assert!(x[0].abs() < 1e-3 && (x[1] - 2.0).abs() < 1e-3 && (x[2] - 3.0).abs() < 1e-3);
    }
}
