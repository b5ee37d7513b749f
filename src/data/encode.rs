//! Input encoders: per-step lists of the input channels that spike, from images
//! (NALSM Bernoulli rate coding, Poisson rate coding, latency coding) or from
//! events (direct injection of binned events).
//!
//! Random encoders are deterministic functions of their `seed`: a `ChaCha8Rng`
//! seeded with it, one uniform draw per (step, channel with non-zero probability),
//! steps outer, channels inner. To give each sample its own stream, derive its
//! seed from the run seed, e.g. with `crate::build::sub_seed``(seed, tag, index)`.
use super::events::{Events, Rounding};
use super::{Sample, SampleData};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Spikes of `n_channels` inputs over `steps.len()` steps: `steps[k]` lists, in
/// increasing order, the channels that spike in step `k`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpikeSteps {
    /// Number of input channels.
    pub n_channels: usize,
    /// Channels spiking in each step, sorted, no repeats.
    pub steps: Vec<Vec<u32>>,
}

impl SpikeSteps {
    /// Total number of spikes.
    pub fn n_spikes(&self) -> usize {
        self.steps.iter().map(Vec::len).sum()
    }

    /// Spikes per channel.
    pub fn counts(&self) -> Vec<u32> {
        let mut c = vec![0; self.n_channels];
        for &i in self.steps.iter().flatten() {
            c[i as usize] += 1;
        }
        c
    }

    /// First step each channel spikes in, if any.
    pub fn first_spikes(&self) -> Vec<Option<usize>> {
        let mut first = vec![None; self.n_channels];
        for (k, step) in self.steps.iter().enumerate() {
            for &i in step {
                first[i as usize].get_or_insert(k);
            }
        }
        first
    }
}

/// Checks that every intensity is in `[0, 1]`.
fn check_unit(values: &[f32], what: &str) -> Result<()> {
    match values
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        Some((i, v)) => Err(Error::Range {
            what: format!("{what} {i}"),
            value: f64::from(*v),
            expected: "a value in [0, 1]".into(),
        }),
        None => Ok(()),
    }
}

/// Each step, channel `i` spikes with probability `p[i]` (independent Bernoulli
/// draws; `p` in `[0, 1]`).
///
/// ```
/// let s = astroglia::data::encode::bernoulli(&[0.0, 1.0, 0.5], 4, 1).unwrap();
/// assert_eq!(s.counts()[..2], [0, 4]);
/// assert_eq!(s, astroglia::data::encode::bernoulli(&[0.0, 1.0, 0.5], 4, 1).unwrap());
/// ```
pub fn bernoulli(p: &[f32], n_steps: usize, seed: u64) -> Result<SpikeSteps> {
    check_unit(p, "probability")?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let active: Vec<(u32, f32)> = p
        .iter()
        .enumerate()
        .filter(|&(_, &q)| q > 0.0)
        .map(|(i, &q)| (i as u32, q))
        .collect();
    let steps = (0..n_steps)
        .map(|_| {
            active
                .iter()
                .filter(|&&(_, q)| rng.random::<f32>() < q)
                .map(|&(i, _)| i)
                .collect()
        })
        .collect();
    Ok(SpikeSteps {
        n_channels: p.len(),
        steps,
    })
}

/// NALSM's image encoding (Ivanov & Michmizos 2021, `NALSM_SIM_SUPPORT.py:
/// assemble_data`): each image is L1-normalised, `x / sum(x)`, then divided by the
/// largest normalised pixel over the whole set, and the result is a per-step
/// (1 ms) Bernoulli probability. Sets are fitted separately (NALSM rescales train
/// and test on their own). In NALSM each spike injects `I_ext = 100` into its input
/// neuron; that weight belongs to the model, not to the encoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NalsmRate {
    /// The largest `x_k / sum(x)` over the fitted set.
    pub set_max: f32,
}

impl NalsmRate {
    /// Finds the set maximum over `images` (non-negative, finite pixels; blank
    /// images are allowed but at least one must have a positive pixel).
    ///
    /// ```
    /// use astroglia::data::encode::NalsmRate;
    /// let images: Vec<Vec<f32>> = vec![vec![1.0, 1.0, 2.0], vec![0.0, 3.0, 1.0]];
    /// let enc = NalsmRate::fit(images.iter().map(|v| v.as_slice())).unwrap();
    /// assert_eq!(enc.set_max, 0.75); // 3 / (0 + 3 + 1)
    /// assert_eq!(enc.probabilities(&images[0]), vec![1.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0]);
    /// ```
    pub fn fit<'a>(images: impl IntoIterator<Item = &'a [f32]>) -> Result<Self> {
        let mut set_max = 0.0f32;
        for (n, img) in images.into_iter().enumerate() {
            if let Some((i, v)) = img
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(Error::Range {
                    what: format!("NALSM encoding: image {n}, pixel {i}"),
                    value: f64::from(*v),
                    expected: "a finite value >= 0".into(),
                });
            }
            let sum: f32 = img.iter().sum();
            if sum > 0.0 {
                let m = img.iter().fold(0.0f32, |a, &v| a.max(v));
                set_max = set_max.max(m / sum);
            }
        }
        if set_max <= 0.0 {
            return Err(Error::argument(
                "NALSM encoding: images",
                "no image has a positive pixel",
            ));
        }
        Ok(Self { set_max })
    }

    /// `min(1, (x_k / sum x) / set_max)` per pixel; all zero for a blank image.
    pub fn probabilities(&self, image: &[f32]) -> Vec<f32> {
        let sum: f32 = image.iter().sum();
        if !(sum > 0.0) {
            return vec![0.0; image.len()];
        }
        image
            .iter()
            .map(|&x| ((x / sum) / self.set_max).clamp(0.0, 1.0))
            .collect()
    }

    /// Bernoulli spikes with [`probabilities`](Self::probabilities).
    pub fn encode(&self, image: &[f32], n_steps: usize, seed: u64) -> Result<SpikeSteps> {
        bernoulli(&self.probabilities(image), n_steps, seed)
    }
}

/// Poisson rate coding: channel `i` fires at `max_rate_hz * intensity[i]`, as a
/// Bernoulli draw per step with probability `rate * dt` (so the expected rate is
/// exact; at most one spike per step, hence `max_rate_hz * dt_ms / 1000 <= 1`).
/// Intensities must be in `[0, 1]`.
///
/// ```
/// let s = astroglia::data::encode::poisson(&[0.5, 0.0], 200.0, 1.0, 1000, 3).unwrap();
/// let c = s.counts();
/// assert!((c[0] as f64 - 100.0).abs() < 40.0 && c[1] == 0); // 100 Hz for 1 s
/// ```
pub fn poisson(
    intensity: &[f32],
    max_rate_hz: f64,
    dt_ms: f64,
    n_steps: usize,
    seed: u64,
) -> Result<SpikeSteps> {
    let p: Vec<f32> = step_probabilities("Poisson", intensity, max_rate_hz, dt_ms)?
        .into_iter()
        .map(|q| q as f32)
        .collect();
    bernoulli(&p, n_steps, seed)
}

/// Per-step spike probability `max_rate_hz * intensity[i] * dt` of each channel of a
/// rate code; `code` names the encoding in the error when the rate or step makes it
/// exceed 1 or an intensity is outside `[0, 1]`.
fn step_probabilities(
    code: &str,
    intensity: &[f32],
    max_rate_hz: f64,
    dt_ms: f64,
) -> Result<Vec<f64>> {
    let p_max = max_rate_hz * dt_ms / 1000.0;
    if !(dt_ms > 0.0 && (0.0..=1.0).contains(&p_max)) {
        return Err(Error::argument(
            format!("{code} encoding"),
            format!(
                "need dt_ms > 0 and 0 <= max_rate_hz * dt_ms / 1000 <= 1, got {max_rate_hz} Hz and {dt_ms} ms"
            ),
        ));
    }
    check_unit(intensity, "intensity")?;
    Ok(intensity.iter().map(|&x| f64::from(x) * p_max).collect())
}

/// Regular rate coding: channel `i` adds `max_rate_hz * intensity[i] * dt` to a
/// phase that starts at a seeded uniform value in `[0, 1)` and fires whenever the
/// phase reaches 1. Over `n` steps it fires `floor(n p + phase)` times: the mean
/// rate of [`poisson`] without its count variance (at most one spike of jitter).
/// Intensities must be in `[0, 1]`.
///
/// ```
/// let s = astroglia::data::encode::regular(&[0.5, 0.0], 200.0, 1.0, 1000, 3).unwrap();
/// assert_eq!(s.counts(), vec![100, 0]); // 100 Hz for 1 s, to the spike
/// ```
pub fn regular(
    intensity: &[f32],
    max_rate_hz: f64,
    dt_ms: f64,
    n_steps: usize,
    seed: u64,
) -> Result<SpikeSteps> {
    let p = step_probabilities("regular", intensity, max_rate_hz, dt_ms)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut phase: Vec<f64> = p.iter().map(|_| rng.random::<f64>()).collect();
    let steps = (0..n_steps)
        .map(|_| {
            let mut fired = vec![];
            for (i, (ph, &q)) in phase.iter_mut().zip(&p).enumerate() {
                *ph += q;
                if *ph >= 1.0 {
                    *ph -= 1.0;
                    fired.push(i as u32);
                }
            }
            fired
        })
        .collect();
    Ok(SpikeSteps {
        n_channels: intensity.len(),
        steps,
    })
}

/// Latency (time-to-first-spike) coding: one spike per channel whose intensity
/// exceeds `threshold`, at step `round((1 - x) * (n_steps - 1))`, so brighter
/// inputs fire earlier (`x = 1` in step 0). Intensities must be in `[0, 1]`.
///
/// ```
/// let s = astroglia::data::encode::latency(&[1.0, 0.5, 0.1, 0.0], 11, 0.2).unwrap();
/// assert_eq!(s.first_spikes(), vec![Some(0), Some(5), None, None]);
/// ```
pub fn latency(intensity: &[f32], n_steps: usize, threshold: f32) -> Result<SpikeSteps> {
    check_unit(intensity, "intensity")?;
    let mut steps = vec![Vec::new(); n_steps];
    if n_steps > 0 {
        let last = (n_steps - 1) as f64;
        for (i, &x) in intensity.iter().enumerate() {
            if x > threshold {
                let k = ((1.0 - f64::from(x)) * last).round() as usize;
                steps[k.min(n_steps - 1)].push(i as u32);
            }
        }
    }
    Ok(SpikeSteps {
        n_channels: intensity.len(),
        steps,
    })
}

/// Direct injection: events binned into `n_steps` steps of `dt_us` from `t0_us`
/// (see [`Events::bin`]); channels are the sensor's.
pub fn events(
    ev: &Events,
    t0_us: u64,
    dt_us: u64,
    n_steps: usize,
    rounding: Rounding,
) -> Result<SpikeSteps> {
    Ok(SpikeSteps {
        n_channels: ev.sensor.n_channels(),
        steps: ev.bin(t0_us, dt_us, n_steps, rounding)?,
    })
}

/// NALSM's N-MNIST input (`get_nmnist_data_point`): 1-ms bins of `t_us / 1000`
/// rounded, binary per channel `(p, y, x)`, the first `n_steps` ms (250 in NALSM).
///
/// ```
/// use astroglia::data::events::{Event, Events};
/// let ev = Events::new(astroglia::data::nmnist::SENSOR, vec![Event { x: 1, y: 0, p: 1, t_us: 1499 }]).unwrap();
/// let s = astroglia::data::encode::nalsm_events(&ev, 250).unwrap();
/// assert_eq!(s.steps[1], vec![34 * 34 + 1]);
/// ```
pub fn nalsm_events(ev: &Events, n_steps: usize) -> Result<SpikeSteps> {
    events(ev, 0, 1000, n_steps, Rounding::Nearest)
}

/// How the experiment turns a [`Sample`] into input spikes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    /// [`NalsmRate`] for images.
    NalsmRate(NalsmRate),
    /// [`poisson`] for images.
    Poisson {
        /// Rate of a pixel of intensity 1, Hz.
        max_rate_hz: f64,
        /// Step, ms.
        dt_ms: f64,
    },
    /// [`latency`] for images.
    Latency {
        /// Pixels at or below it do not spike.
        threshold: f32,
    },
    /// [`events`] for event samples, from time 0.
    Events {
        /// Bin width, µs.
        dt_us: u64,
        /// Time-to-step rounding.
        rounding: Rounding,
    },
}

impl Encoding {
    /// Encodes `sample` over `n_steps` steps; errors if the encoding does not fit
    /// the kind of sample (an image encoding for events or the reverse).
    ///
    /// ```
    /// use astroglia::data::{digits::Digits, encode::Encoding, SampleSource};
    /// let sample = Digits::embedded().unwrap().get(0).unwrap();
    /// let enc = Encoding::Latency { threshold: 0.0 };
    /// let s = enc.encode(&sample, 20, 0).unwrap();
    /// assert_eq!((s.n_channels, s.steps.len()), (64, 20));
    /// ```
    pub fn encode(&self, sample: &Sample, n_steps: usize, seed: u64) -> Result<SpikeSteps> {
        match (self, &sample.data) {
            (Encoding::NalsmRate(e), SampleData::Image { pixels, .. }) => {
                e.encode(pixels, n_steps, seed)
            }
            (Encoding::Poisson { max_rate_hz, dt_ms }, SampleData::Image { pixels, .. }) => {
                poisson(pixels, *max_rate_hz, *dt_ms, n_steps, seed)
            }
            (Encoding::Latency { threshold }, SampleData::Image { pixels, .. }) => {
                latency(pixels, n_steps, *threshold)
            }
            (Encoding::Events { dt_us, rounding }, SampleData::Events(ev)) => {
                events(ev, 0, *dt_us, n_steps, *rounding)
            }
            (_, SampleData::Image { .. }) => Err(Error::wrong_kind(
                format!("sample {} (an image)", sample.index),
                "events, which this event encoding needs",
            )),
            (_, SampleData::Events(_)) => Err(Error::wrong_kind(
                format!("sample {} (events)", sample.index),
                "an image, which this image encoding needs",
            )),
        }
    }
}
