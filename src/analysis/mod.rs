//! Spike-train statistics used by run summaries and tests: a canonical spike
//! hash, firing rates, ISI coefficient of variation, population spectra
//! (Welch), binned counts and the branching factor of a liquid.

use rustfft::{FftPlanner, num_complex::Complex};
use sha2::{Digest, Sha256};

pub mod branching;
pub use branching::*;

/// Streaming SHA-256 over spike entries.
///
/// Each entry is fed as two little-endian `u32`: `step as u32`, then `id`.
/// Steps `≥ 2^32` are therefore fed truncated to their low 32 bits.
///
/// ```
/// use astroglia::analysis::{spikes_sha256, SpikeHasher};
/// let mut h = SpikeHasher::new();
/// h.update(0, 1);
/// h.update(1, 2);
/// let hex = h.finish();
/// assert_eq!(hex.len(), 64);
/// assert_eq!(hex, spikes_sha256(&[(1, 2), (0, 1)]));
/// ```
#[derive(Clone, Debug)]
pub struct SpikeHasher {
    hasher: Sha256,
    /// Entries not yet fed to `hasher`: one `update` call per 8-byte entry cost
    /// more than the compression itself.
    buf: [u8; HASH_BUF],
    len: usize,
}

/// Bytes buffered by [`SpikeHasher`] (a multiple of the 64-byte SHA-256 block).
const HASH_BUF: usize = 4096;

impl Default for SpikeHasher {
    fn default() -> Self {
        SpikeHasher {
            hasher: Sha256::default(),
            buf: [0; HASH_BUF],
            len: 0,
        }
    }
}

impl SpikeHasher {
    /// Empty hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one `(step, id)` entry (`step` truncated to `u32`).
    #[inline]
    pub fn update(&mut self, step: u64, id: u32) {
        if self.len == HASH_BUF {
            self.hasher.update(self.buf);
            self.len = 0;
        }
        self.buf[self.len..self.len + 4].copy_from_slice(&(step as u32).to_le_bytes());
        self.buf[self.len + 4..self.len + 8].copy_from_slice(&id.to_le_bytes());
        self.len += 8;
    }

    /// Feeds `spikes` in order, as [`SpikeHasher::update`] would one by one.
    ///
    /// ```
    /// use astroglia::analysis::SpikeHasher;
    /// use astroglia::backend::Spike;
    /// let spikes = [Spike { step: 3, id: 7 }, Spike { step: 4, id: 1 }];
    /// let (mut a, mut b) = (SpikeHasher::new(), SpikeHasher::new());
    /// a.update_spikes(&spikes);
    /// spikes.iter().for_each(|s| b.update(s.step.into(), s.id));
    /// assert_eq!(a.finish(), b.finish());
    /// ```
    pub fn update_spikes(&mut self, spikes: &[crate::backend::Spike]) {
        if cfg!(target_endian = "big") {
            spikes.iter().for_each(|s| self.update(s.step.into(), s.id));
            return;
        }
        // A spike's bytes are its two little-endian u32 (`Spike` is `repr(C)`):
        // exactly one entry.
        let mut bytes: &[u8] = bytemuck::cast_slice(spikes);
        while !bytes.is_empty() {
            if self.len == HASH_BUF {
                self.hasher.update(self.buf);
                self.len = 0;
            }
            let k = (HASH_BUF - self.len).min(bytes.len());
            self.buf[self.len..self.len + k].copy_from_slice(&bytes[..k]);
            self.len += k;
            bytes = &bytes[k..];
        }
    }

    /// Lowercase hex digest (64 characters).
    pub fn finish(mut self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.hasher.update(&self.buf[..self.len]);
        let digest = self.hasher.finalize();
        let mut s = String::with_capacity(64);
        for b in digest {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 0xF)] as char);
        }
        s
    }
}

/// SHA-256 of `spikes` after sorting a copy by `(step, id)`; see [`SpikeHasher`].
pub fn spikes_sha256(spikes: &[(u64, u32)]) -> String {
    let mut sorted = spikes.to_vec();
    sorted.sort_unstable();
    let mut h = SpikeHasher::new();
    for &(step, id) in &sorted {
        h.update(step, id);
    }
    h.finish()
}

/// Mean firing rate in Hz of a population of `size` neurons that emitted
/// `spikes` spikes over `duration_ms`; 0 when `size` is 0 or the duration is
/// not positive.
///
/// ```
/// use astroglia::analysis::rate_hz;
/// assert_eq!(rate_hz(500, 100, 1000.0), 5.0);
/// assert_eq!(rate_hz(500, 0, 1000.0), 0.0);
/// ```
pub fn rate_hz(spikes: u64, size: u32, duration_ms: f64) -> f64 {
    if size == 0 || duration_ms.is_nan() || duration_ms <= 0.0 {
        return 0.0;
    }
    spikes as f64 / f64::from(size) / (duration_ms / 1000.0)
}

/// Welford accumulator of one neuron's inter-spike intervals.
#[derive(Clone, Copy, Debug, Default)]
struct IsiAcc {
    last: Option<u64>,
    n: u64,
    mean: f64,
    m2: f64,
}

impl IsiAcc {
    fn add(&mut self, isi: f64) {
        self.n += 1;
        let d = isi - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (isi - self.mean);
    }

    /// `std / mean` (population std) if there are ≥ 2 ISIs with positive mean.
    fn cv(&self) -> Option<f64> {
        (self.n >= 2 && self.mean > 0.0)
            .then(|| (self.m2.max(0.0) / self.n as f64).sqrt() / self.mean)
    }
}

fn mean_cv(accs: impl Iterator<Item = IsiAcc>) -> f64 {
    let (sum, count) = accs
        .filter_map(|a| a.cv())
        .fold((0.0, 0usize), |(s, c), cv| (s + cv, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// Streaming per-neuron inter-spike-interval statistics (in steps).
///
/// [`cv`](Self::cv) is the mean over neurons with at least 3 spikes of
/// `std(ISI) / mean(ISI)` (population std, ddof 0), computed per neuron with
/// Welford's update. Neurons whose ISIs are all 0 are skipped. It is NaN when
/// no neuron qualifies (callers serialize NaN as `null`).
///
/// ```
/// use astroglia::analysis::IsiStats;
/// let mut isi = IsiStats::new(2);
/// for step in [0, 1, 3] {
///     isi.push(0, step); // ISIs 1, 2: CV = 0.5 / 1.5
/// }
/// isi.push(1, 5); // a single spike does not qualify
/// assert!((isi.cv() - 1.0 / 3.0).abs() < 1e-12);
/// assert!(IsiStats::new(4).cv().is_nan());
/// ```
#[derive(Clone, Debug)]
pub struct IsiStats {
    neurons: Vec<IsiAcc>,
}

impl IsiStats {
    /// Accumulator for `n` neurons.
    pub fn new(n: usize) -> Self {
        Self {
            neurons: vec![IsiAcc::default(); n],
        }
    }

    /// Records a spike of `neuron` (< `n`, else panics) at `step`; steps of one
    /// neuron must arrive in nondecreasing order.
    pub fn push(&mut self, neuron: usize, step: u64) {
        let acc = &mut self.neurons[neuron];
        if let Some(last) = acc.last {
            debug_assert!(
                step >= last,
                "steps of neuron {neuron} must be nondecreasing"
            );
            acc.add(step.saturating_sub(last) as f64);
        }
        acc.last = Some(step);
    }

    /// Forgets every spike.
    pub(crate) fn clear(&mut self) {
        self.neurons.fill(IsiAcc::default());
    }

    /// Asks for `neuron`'s accumulator ahead of its [`Self::push`] (a
    /// simulation pushes its spikes in id order, a cache miss each).
    pub(crate) fn prefetch(&self, neuron: usize) {
        crate::prefetch::line(&self.neurons, neuron);
    }

    /// Mean ISI coefficient of variation; NaN when no neuron has ≥ 3 spikes.
    pub fn cv(&self) -> f64 {
        mean_cv(self.neurons.iter().copied())
    }
}

/// Mean ISI CV of explicit spike-time trains, with the same definition as
/// [`IsiStats::cv`]; unsorted trains are sorted (on a copy) first.
///
/// ```
/// use astroglia::analysis::cv_isi;
/// let trains = vec![vec![0.0, 10.0, 20.0, 30.0], vec![1.0, 2.0]];
/// assert_eq!(cv_isi(&trains), 0.0);
/// ```
pub fn cv_isi(trains: &[Vec<f64>]) -> f64 {
    mean_cv(trains.iter().map(|train| {
        let mut acc = IsiAcc::default();
        let mut add_all = |t: &[f64]| t.windows(2).for_each(|w| acc.add(w[1] - w[0]));
        if train.is_sorted() {
            add_all(train);
        } else {
            let mut sorted = train.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            add_all(&sorted);
        }
        acc
    }))
}

/// Sampling rate assumed by [`population_spectrum`] (one sample per ms).
pub const SPECTRUM_FS_HZ: f64 = 1000.0;
/// Welch segment length of [`population_spectrum`] (2 Hz resolution at 1 kHz).
pub const WELCH_SEGMENT: usize = 500;

/// One-sided power spectral density of a population count series sampled
/// every ms, by Welch's method: periodic Hann window, [`WELCH_SEGMENT`]-sample
/// segments with 50 % overlap (trailing samples that do not fill a segment are
/// dropped), the mean removed from each segment (scipy's `detrend='constant'`,
/// which also removes the global mean), density scaling
/// `|X_k|² / (fs · Σw²)` doubled except at DC and Nyquist, averaged over
/// segments. Series shorter than one segment use one segment of their whole
/// length. Returns `(frequencies in Hz, psd)`; both empty for an empty input.
///
/// ```
/// use astroglia::analysis::{population_spectrum, spectral_peak};
/// let x: Vec<f64> = (0..2000)
///     .map(|i| (2.0 * std::f64::consts::PI * 40.0 * i as f64 / 1000.0).sin())
///     .collect();
/// let (f, psd) = population_spectrum(&x);
/// assert_eq!((f.len(), f[1]), (251, 2.0));
/// assert_eq!(spectral_peak(&f, &psd, 5.0, 100.0), Some(40.0));
/// ```
pub fn population_spectrum(counts_per_ms: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = counts_per_ms.len();
    if n < 2 {
        return (vec![0.0; n], vec![0.0; n]);
    }
    let seg = n.min(WELCH_SEGMENT);
    let hop = seg / 2;
    let segments = (n - seg) / hop + 1;
    let window: Vec<f64> = (0..seg)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / seg as f64).cos())
        .collect();
    let wsum2: f64 = window.iter().map(|w| w * w).sum();
    let fft = FftPlanner::new().plan_fft_forward(seg);
    let mut buf = vec![Complex::new(0.0, 0.0); seg];
    let mut psd = vec![0.0; seg / 2 + 1];
    for s in 0..segments {
        let x = &counts_per_ms[s * hop..s * hop + seg];
        let mean = x.iter().sum::<f64>() / seg as f64;
        for ((b, &v), &w) in buf.iter_mut().zip(x).zip(&window) {
            *b = Complex::new((v - mean) * w, 0.0);
        }
        fft.process(&mut buf);
        for (p, b) in psd.iter_mut().zip(&buf) {
            *p += b.norm_sqr();
        }
    }
    let scale = 1.0 / (SPECTRUM_FS_HZ * wsum2 * segments as f64);
    for (k, p) in psd.iter_mut().enumerate() {
        let one_sided = if k == 0 || 2 * k == seg { 1.0 } else { 2.0 };
        *p *= scale * one_sided;
    }
    let freqs = (0..psd.len())
        .map(|k| k as f64 * SPECTRUM_FS_HZ / seg as f64)
        .collect();
    (freqs, psd)
}

/// Frequency of the largest `psd` value with `lo_hz ≤ f ≤ hi_hz` (first one on
/// ties, NaN values ignored); `None` if no frequency lies in the range.
pub fn spectral_peak(freqs: &[f64], psd: &[f64], lo_hz: f64, hi_hz: f64) -> Option<f64> {
    freqs
        .iter()
        .zip(psd)
        .filter(|&(&f, p)| f >= lo_hz && f <= hi_hz && !p.is_nan())
        .fold(None, |best: Option<(f64, f64)>, (&f, &p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((f, p)),
        })
        .map(|(f, _)| f)
}

/// Tolerance (in bins) against floating-point rounding of `step · dt / bin`.
const BIN_EPS: f64 = 1e-9;

/// Spike counts in consecutive bins of `bin_ms` covering `[0, duration_ms)`
/// (the last bin may be partial); the spike at step `s` is at `s · dt_ms`.
/// Spikes at or after `duration_ms` are ignored. Empty if `bin_ms` or
/// `duration_ms` is not positive or `dt_ms` is negative.
///
/// ```
/// use astroglia::analysis::bin_counts;
/// // dt = 0.1 ms: steps 0..=9 fall in bin 0, step 10 in bin 1.
/// assert_eq!(bin_counts(&[0, 9, 10, 25, 30], 0.1, 1.0, 3.0), vec![2.0, 1.0, 1.0]);
/// ```
pub fn bin_counts(steps: &[u64], dt_ms: f64, bin_ms: f64, duration_ms: f64) -> Vec<f64> {
    let valid = bin_ms > 0.0 && duration_ms > 0.0 && dt_ms >= 0.0;
    if !valid {
        return Vec::new();
    }
    let end = duration_ms / bin_ms - BIN_EPS;
    let nbins = end.ceil().max(0.0) as usize;
    let mut counts = vec![0.0; nbins];
    for &s in steps {
        let x = s as f64 * dt_ms / bin_ms;
        if x < end {
            let b = (x + BIN_EPS).floor() as usize;
            if let Some(c) = counts.get_mut(b) {
                *c += 1.0;
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};
    use std::f64::consts::PI;

    #[test]
    fn sha256_known_values() {
        assert_eq!(
            SpikeHasher::new().finish(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Python: sha256(b"".join(struct.pack("<II", s & 0xffffffff, i) for s, i in sorted(e))).
        let e = [(5, 7), (1u64 << 32 | 3, 9), (0, 1), (1, 2)];
        let want = "7b2398e6396e678d01b164f72e722b8425c29e5d8dcc8def006c6242f071db8c";
        assert_eq!(spikes_sha256(&e), want);
        let mut h = SpikeHasher::new();
        for (s, i) in [(0, 1), (1, 2), (5, 7), (3, 9)] {
            h.update(s, i); // step 2^32 + 3 is fed as 3
        }
        assert_eq!(h.finish(), want);
    }

    #[test]
    fn rates() {
        assert_eq!(rate_hz(100, 10, 1000.0), 10.0);
        assert_eq!(rate_hz(100, 10, 500.0), 20.0);
        assert_eq!(rate_hz(100, 10, 0.0), 0.0);
        assert_eq!(rate_hz(100, 0, 10.0), 0.0);
    }

    fn naive_cv(isis: &[f64]) -> f64 {
        let m = isis.iter().sum::<f64>() / isis.len() as f64;
        (isis.iter().map(|x| (x - m).powi(2)).sum::<f64>() / isis.len() as f64).sqrt() / m
    }

    #[test]
    fn isi_cv_streaming_matches_trains() {
        let mut rng = StdRng::seed_from_u64(1);
        let (n, dt) = (50, 0.1);
        let mut stats = IsiStats::new(n);
        let mut trains = vec![Vec::new(); n];
        let mut naive = Vec::new();
        // Huge offset: Welford must stay exact where sum-of-squares would not.
        let offset = 1u64 << 40;
        for (i, train) in trains.iter_mut().enumerate() {
            let spikes = i % 7; // some neurons have < 3 spikes
            let mut step = offset;
            let mut isis = Vec::new();
            for k in 0..spikes {
                if k > 0 {
                    let isi = 1 + rng.random_range(0..200u64);
                    isis.push(isi as f64);
                    step += isi;
                }
                stats.push(i, step);
                train.push((step - offset) as f64 * dt);
            }
            if isis.len() >= 2 {
                naive.push(naive_cv(&isis));
            }
        }
        let want = naive.iter().sum::<f64>() / naive.len() as f64;
        assert!(
            (stats.cv() - want).abs() < 1e-12,
            "{} vs {want}",
            stats.cv()
        );
        assert!((cv_isi(&trains) - want).abs() < 1e-12);
        trains[6].reverse();
        assert!((cv_isi(&trains) - want).abs() < 1e-12);
    }

    #[test]
    fn isi_cv_poisson_and_edge_cases() {
        let mut rng = StdRng::seed_from_u64(2);
        let trains: Vec<Vec<f64>> = (0..200)
            .map(|_| {
                let mut t = 0.0;
                (0..200)
                    .map(|_| {
                        t -= (1.0 - rng.random::<f64>()).ln();
                        t
                    })
                    .collect()
            })
            .collect();
        assert!((cv_isi(&trains) - 1.0).abs() < 0.03);
        assert!(cv_isi(&[vec![1.0, 2.0], vec![]]).is_nan());
        let mut stats = IsiStats::new(1);
        (0..3).for_each(|_| stats.push(0, 4)); // zero ISIs: skipped
        assert!(stats.cv().is_nan());
    }

    #[test]
    fn spectrum_shape_and_sinusoid() {
        let (f, p) = population_spectrum(&[]);
        assert!(f.is_empty() && p.is_empty());
        let x: Vec<f64> = (0..300)
            .map(|i| (2.0 * PI * 40.0 * i as f64 / 1000.0).sin())
            .collect();
        let (f, p) = population_spectrum(&x);
        assert_eq!(f.len(), 151);
        assert!((f[1] - 1000.0 / 300.0).abs() < 1e-12);
        assert_eq!(spectral_peak(&f, &p, 20.0, 60.0), Some(40.0));
        let x: Vec<f64> = (0..10_123)
            .map(|i| 3.0 + (2.0 * PI * 40.0 * i as f64 / 1000.0).sin())
            .collect();
        let (f, p) = population_spectrum(&x);
        assert_eq!((f.len(), f[250]), (251, 500.0));
        assert_eq!(spectral_peak(&f, &p, 1.0, 500.0), Some(40.0));
        assert!(p[0] < 1e-20, "mean must be removed");
        assert_eq!(spectral_peak(&f, &p, 41.0, 41.5), None);
    }

    #[test]
    fn spectrum_modulated_poisson_peaks_at_8hz() {
        let mut rng = StdRng::seed_from_u64(3);
        // 400 neurons at 20 Hz mean rate, 50 % modulated at 8 Hz, 10 s at 1 ms.
        let counts: Vec<f64> = (0..10_000)
            .map(|t| {
                let p = 0.02 * (1.0 + 0.5 * (2.0 * PI * 8.0 * t as f64 / 1000.0).sin());
                (0..400).filter(|_| rng.random::<f64>() < p).count() as f64
            })
            .collect();
        let (f, p) = population_spectrum(&counts);
        assert_eq!(spectral_peak(&f, &p, 2.0, 100.0), Some(8.0));
        let steps: Vec<u64> = (0..1000).collect();
        assert_eq!(bin_counts(&steps, 1.0, 1.0, 1000.0), vec![1.0; 1000]);
    }

    #[test]
    fn parseval() {
        let mut rng = StdRng::seed_from_u64(4);
        // One segment: Σ psd·df equals the windowed energy Σ(w·(x − x̄))² / Σw².
        let x: Vec<f64> = (0..400).map(|_| rng.random::<f64>()).collect();
        let (f, p) = population_spectrum(&x);
        let mean = x.iter().sum::<f64>() / 400.0;
        let w = |i: usize| 0.5 - 0.5 * (2.0 * PI * i as f64 / 400.0).cos();
        let energy: f64 = (0..400).map(|i| (w(i) * (x[i] - mean)).powi(2)).sum();
        let wsum2: f64 = (0..400).map(|i| w(i).powi(2)).sum();
        let total: f64 = p.iter().sum::<f64>() * f[1];
        assert!((total - energy / wsum2).abs() < 1e-12 * total);
        // White noise, many segments: ∫ psd df ≈ variance.
        let x: Vec<f64> = (0..100_000).map(|_| rng.random::<f64>() - 0.5).collect();
        let (f, p) = population_spectrum(&x);
        let total: f64 = p.iter().sum::<f64>() * f[1];
        assert!((total - 1.0 / 12.0).abs() < 0.02 / 12.0, "{total}");
    }

    #[test]
    fn bins() {
        assert_eq!(bin_counts(&[0, 1, 2, 3], 0.1, 0.3, 0.6), vec![3.0, 1.0]);
        assert_eq!(
            bin_counts(&[0, 7, 10, 14, 15], 0.1, 0.5, 1.4),
            vec![1.0, 1.0, 1.0]
        );
        assert_eq!(bin_counts(&[100], 0.1, 1.0, 10.0), vec![0.0; 10]);
        assert!(bin_counts(&[1], 0.1, 0.0, 10.0).is_empty());
        assert!(bin_counts(&[1], 0.1, 1.0, f64::NAN).is_empty());
    }
}
