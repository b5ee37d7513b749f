//! Value distributions for weights, delays and initial states.
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A scalar value, constant or drawn per element from a distribution.
///
/// In TOML a plain number is a constant; a one-key table picks a distribution:
/// `{ uniform = { low = 0.0, high = 0.5 } }`, `{ normal = { mean = -65.0, std = 5.0 } }`,
/// `{ lognormal = { mu = 0.0, sigma = 1.0 } }`, `{ exponential = { mean = 2.0 } }`.
///
/// ```
/// use astroglia::model::Dist;
/// let d: Dist = toml::from_str::<std::collections::BTreeMap<String, Dist>>(
///     "w = { uniform = { low = 0.0, high = 0.5 } }").unwrap()["w"];
/// assert_eq!(d, Dist::Uniform { low: 0.0, high: 0.5 });
/// assert_eq!(Dist::from(3.0).constant(), Some(3.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Dist {
    /// Uniform on `[low, high)`.
    Uniform { low: f64, high: f64 },
    /// Gaussian.
    Normal { mean: f64, std: f64 },
    /// Log-normal: `exp(N(mu, sigma))`.
    Lognormal { mu: f64, sigma: f64 },
    /// Exponential with the given mean.
    Exponential { mean: f64 },
    /// The same value everywhere.
    #[serde(untagged)]
    Const(f64),
}

impl From<f64> for Dist {
    fn from(v: f64) -> Self {
        Dist::Const(v)
    }
}

impl Dist {
    /// The value when the distribution is a constant.
    pub fn constant(&self) -> Option<f64> {
        match *self {
            Dist::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Checks the parameters; returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let finite = |v: f64, n: &str| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{n} must be a finite number"))
            }
        };
        match *self {
            Dist::Const(v) => finite(v, "value"),
            Dist::Uniform { low, high } => {
                finite(low, "low")?;
                finite(high, "high")?;
                if low > high {
                    return Err(format!(
                        "uniform needs low <= high, got low = {low}, high = {high}"
                    ));
                }
                Ok(())
            }
            Dist::Normal { mean, std } => {
                finite(mean, "mean")?;
                if !(std >= 0.0 && std.is_finite()) {
                    return Err(format!("normal needs std >= 0, got {std}"));
                }
                Ok(())
            }
            Dist::Lognormal { mu, sigma } => {
                finite(mu, "mu")?;
                if !(sigma >= 0.0 && sigma.is_finite()) {
                    return Err(format!("lognormal needs sigma >= 0, got {sigma}"));
                }
                Ok(())
            }
            Dist::Exponential { mean } => {
                if !(mean > 0.0 && mean.is_finite()) {
                    return Err(format!("exponential needs mean > 0, got {mean}"));
                }
                Ok(())
            }
        }
    }

    /// Smallest and largest value the distribution can produce (infinite for unbounded tails).
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Dist::Const(v) => (v, v),
            Dist::Uniform { low, high } => (low, high),
            Dist::Normal { std: 0.0, mean } => (mean, mean),
            Dist::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Dist::Lognormal { .. } | Dist::Exponential { .. } => (0.0, f64::INFINITY),
        }
    }

    /// The distribution of `k·x + b` for `k > 0`; `None` where that is not a
    /// distribution of the same kind (a log-normal or exponential shifted by
    /// `b ≠ 0`).
    ///
    /// ```
    /// use astroglia::model::Dist;
    /// assert_eq!(Dist::Uniform { low: -1.0, high: 2.0 }.affine(2.0, 1.0),
    ///            Some(Dist::Uniform { low: -1.0, high: 5.0 }));
    /// assert_eq!(Dist::Exponential { mean: 1.0 }.affine(2.0, 1.0), None);
    /// ```
    pub fn affine(&self, k: f64, b: f64) -> Option<Dist> {
        debug_assert!(k > 0.0);
        Some(match *self {
            Dist::Const(v) => Dist::Const(v * k + b),
            Dist::Uniform { low, high } => Dist::Uniform {
                low: low * k + b,
                high: high * k + b,
            },
            Dist::Normal { mean, std } => Dist::Normal {
                mean: mean * k + b,
                std: std * k,
            },
            Dist::Lognormal { mu, sigma } if b == 0.0 => Dist::Lognormal {
                mu: mu + k.ln(),
                sigma,
            },
            Dist::Exponential { mean } if b == 0.0 => Dist::Exponential { mean: mean * k },
            _ => return None,
        })
    }

    /// Draws one value. Parameters must have passed [`Dist::check`].
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Dist::Const(v) => v,
            Dist::Uniform { low, high } => {
                if low == high {
                    low
                } else {
                    rng.random_range(low..high)
                }
            }
            Dist::Normal { mean, std } => Normal::new(mean, std).map_or(mean, |d| d.sample(rng)),
            Dist::Lognormal { mu, sigma } => {
                LogNormal::new(mu, sigma).map_or(mu.exp(), |d| d.sample(rng))
            }
            Dist::Exponential { mean } => Exp::new(1.0 / mean).map_or(mean, |d| d.sample(rng)),
        }
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct U {
            low: f64,
            high: f64,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct N {
            mean: f64,
            std: f64,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct L {
            mu: f64,
            sigma: f64,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct E {
            mean: f64,
        }
        impl<'de> Visitor<'de> for V {
            type Value = Dist;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a number or a table with one of uniform, normal, lognormal, exponential",
                )
            }
            fn visit_f64<E2: de::Error>(self, v: f64) -> Result<Dist, E2> {
                Ok(Dist::Const(v))
            }
            fn visit_i64<E2: de::Error>(self, v: i64) -> Result<Dist, E2> {
                Ok(Dist::Const(v as f64))
            }
            fn visit_u64<E2: de::Error>(self, v: u64) -> Result<Dist, E2> {
                Ok(Dist::Const(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dist, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty distribution table"))?;
                let dist = match key.as_str() {
                    "uniform" => {
                        let u: U = map.next_value()?;
                        Dist::Uniform {
                            low: u.low,
                            high: u.high,
                        }
                    }
                    "normal" => {
                        let n: N = map.next_value()?;
                        Dist::Normal {
                            mean: n.mean,
                            std: n.std,
                        }
                    }
                    "lognormal" => {
                        let l: L = map.next_value()?;
                        Dist::Lognormal {
                            mu: l.mu,
                            sigma: l.sigma,
                        }
                    }
                    "exponential" => {
                        let e: E = map.next_value()?;
                        Dist::Exponential { mean: e.mean }
                    }
                    other => {
                        return Err(de::Error::unknown_variant(
                            other,
                            &["uniform", "normal", "lognormal", "exponential"],
                        ));
                    }
                };
                if let Some(k) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a distribution table has exactly one key, found also `{k}`"
                    )));
                }
                Ok(dist)
            }
        }
        d.deserialize_any(V)
    }
}
