//! First-order optimisers for the softmax readout: SGD, Adam and Adadelta, each
//! an element-wise update of a flat parameter slice.
use super::err;
use crate::Result;
use serde::{Deserialize, Serialize};

/// An optimiser and its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Optimiser {
    /// `θ ← θ − lr · g`.
    Sgd {
        /// Learning rate.
        lr: f32,
    },
    /// Adam (Kingma & Ba 2015, Algorithm 1): `m ← β₁m + (1−β₁)g`,
    /// `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr · m̂ / (sqrt(v̂) + eps)` with
    /// `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)` at step t = 1, 2, …
    Adam {
        /// Learning rate.
        lr: f32,
        /// First-moment decay β₁.
        beta1: f32,
        /// Second-moment decay β₂.
        beta2: f32,
        /// Added to `sqrt(v̂)`.
        eps: f32,
    },
    /// Adadelta (Zeiler 2012) as TensorFlow 1 applies it (NALSM's optimiser):
    /// `a ← ρa + (1−ρ)g²`, `u = sqrt(b + eps)/sqrt(a + eps) · g`,
    /// `b ← ρb + (1−ρ)u²`, `θ ← θ − lr · u`.
    Adadelta {
        /// Learning rate (NALSM: 0.1).
        lr: f32,
        /// Decay ρ (TF1 default 0.95).
        rho: f32,
        /// eps (TF1 default 1e-8).
        eps: f32,
    },
}

impl Optimiser {
    /// Adam with β₁ = 0.9, β₂ = 0.999, eps = 1e-8.
    pub fn adam(lr: f32) -> Self {
        Optimiser::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Adadelta with TensorFlow 1's defaults ρ = 0.95, eps = 1e-8.
    pub fn adadelta(lr: f32) -> Self {
        Optimiser::Adadelta {
            lr,
            rho: 0.95,
            eps: 1e-8,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        match *self {
            Optimiser::Sgd { lr } | Optimiser::Adam { lr, .. } | Optimiser::Adadelta { lr, .. } => {
                lr
            }
        }
    }

    /// The same optimiser with learning rate `lr`.
    ///
    /// ```
    /// use astroglia::readout::Optimiser;
    /// assert_eq!(Optimiser::adam(0.1).with_lr(0.5).lr(), 0.5);
    /// ```
    pub fn with_lr(mut self, new: f32) -> Self {
        match &mut self {
            Optimiser::Sgd { lr } | Optimiser::Adam { lr, .. } | Optimiser::Adadelta { lr, .. } => {
                *lr = new
            }
        }
        self
    }

    /// Checks the hyper-parameters' ranges.
    pub fn validate(&self) -> Result<()> {
        let lr = self.lr();
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(err(format!(
                "learning rate {lr} must be positive and finite"
            )));
        }
        let bad = |name: &str, v: f32| err(format!("{name} = {v} must be in [0, 1)"));
        let eps_bad = |v: f32| err(format!("eps = {v} must be positive and finite"));
        match *self {
            Optimiser::Sgd { .. } => {}
            Optimiser::Adam {
                beta1, beta2, eps, ..
            } => {
                if !(0.0..1.0).contains(&beta1) {
                    return Err(bad("beta1", beta1));
                }
                if !(0.0..1.0).contains(&beta2) {
                    return Err(bad("beta2", beta2));
                }
                if !(eps > 0.0 && eps.is_finite()) {
                    return Err(eps_bad(eps));
                }
            }
            Optimiser::Adadelta { rho, eps, .. } => {
                if !(0.0..1.0).contains(&rho) {
                    return Err(bad("rho", rho));
                }
                if !(eps > 0.0 && eps.is_finite()) {
                    return Err(eps_bad(eps));
                }
            }
        }
        Ok(())
    }
}

/// An optimiser's per-parameter state over a flat parameter slice.
///
/// ```
/// use astroglia::readout::{Optimiser, OptimiserState};
/// let mut w = [1.0f32, -1.0];
/// let mut opt = OptimiserState::new(Optimiser::Sgd { lr: 0.5 }, 2).unwrap();
/// opt.step(&mut w, &[2.0, -4.0]).unwrap();
/// assert_eq!(w, [0.0, 1.0]);
/// assert_eq!(opt.steps(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OptimiserState {
    optimiser: Optimiser,
    t: u64,
    /// Adam: m; Adadelta: accumulated g².
    a: Vec<f32>,
    /// Adam: v; Adadelta: accumulated update².
    b: Vec<f32>,
}

impl OptimiserState {
    /// Zero state for `n_params` parameters.
    pub fn new(optimiser: Optimiser, n_params: usize) -> Result<Self> {
        optimiser.validate()?;
        let n = match optimiser {
            Optimiser::Sgd { .. } => 0,
            _ => n_params,
        };
        Ok(OptimiserState {
            optimiser,
            t: 0,
            a: vec![0.0; n],
            b: vec![0.0; n],
        })
    }

    /// Updates completed so far.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Applies one update to `params` given the gradient `grad` of the loss.
    pub fn step(&mut self, params: &mut [f32], grad: &[f32]) -> Result<()> {
        if params.len() != grad.len()
            || (!matches!(self.optimiser, Optimiser::Sgd { .. }) && params.len() != self.a.len())
        {
            return Err(err(format!(
                "optimiser step: {} parameters, {} gradients, state for {}",
                params.len(),
                grad.len(),
                self.a.len()
            )));
        }
        self.t += 1;
        match self.optimiser {
            Optimiser::Sgd { lr } => {
                for (p, &g) in params.iter_mut().zip(grad) {
                    *p -= lr * g;
                }
            }
            Optimiser::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let t = self.t.min(i32::MAX as u64) as i32;
                let c1 = (1.0 - (beta1 as f64).powi(t)) as f32;
                let c2 = (1.0 - (beta2 as f64).powi(t)) as f32;
                for (((p, &g), m), v) in params
                    .iter_mut()
                    .zip(grad)
                    .zip(self.a.iter_mut())
                    .zip(self.b.iter_mut())
                {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                }
            }
            Optimiser::Adadelta { lr, rho, eps } => {
                for (((p, &g), acc), acc_up) in params
                    .iter_mut()
                    .zip(grad)
                    .zip(self.a.iter_mut())
                    .zip(self.b.iter_mut())
                {
                    *acc = rho * *acc + (1.0 - rho) * g * g;
                    let u = (*acc_up + eps).sqrt() / (*acc + eps).sqrt() * g;
                    *acc_up = rho * *acc_up + (1.0 - rho) * u * u;
                    *p -= lr * u;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_lengths_and_bad_hyper_parameters_are_errors() {
        let mut opt = OptimiserState::new(Optimiser::adam(0.1), 3).unwrap();
        assert_eq!(
            opt.step(&mut [0.0; 2], &[0.0; 2]).unwrap_err().to_string(),
            "readout: optimiser step: 2 parameters, 2 gradients, state for 3"
        );
        assert_eq!(opt.steps(), 0);
        let bad = Optimiser::Adadelta {
            lr: 0.1,
            rho: 1.0,
            eps: 1e-8,
        };
        assert_eq!(
            OptimiserState::new(bad, 1).unwrap_err().to_string(),
            "readout: rho = 1 must be in [0, 1)"
        );
    }

    #[test]
    fn adam_first_step_moves_each_parameter_by_lr() {
        // m̂ = g and v̂ = g² at t = 1, so the step is lr · sign(g) (eps aside).
        let mut w = [0.0f32, 0.0, 0.0];
        let mut opt = OptimiserState::new(Optimiser::adam(0.01), 3).unwrap();
        opt.step(&mut w, &[3.0, -0.001, 100.0]).unwrap();
        for (v, want) in w.iter().zip([-0.01, 0.01, -0.01]) {
            assert!((v - want).abs() < 1e-6, "{v}");
        }
    }
}
