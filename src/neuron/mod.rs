//! Neuron models: parameters (with units and defaults), per-step constants, state
//! arrays and the CPU update of each model.
pub mod izhikevich;
pub mod lif;
pub mod lif_cond;

pub use izhikevich::{IzhIntegration, IzhParam, IzhPreset, IzhikevichParams};
pub use lif::{LifParams, SynapseKind};
pub use lif_cond::LifCondParams;

fn positive(out: &mut Vec<(&'static str, String)>, field: &'static str, v: f64) {
    if !(v > 0.0 && v.is_finite()) {
        out.push((field, format!("must be a positive number, got {v}")));
    }
}

fn non_negative(out: &mut Vec<(&'static str, String)>, field: &'static str, v: f64) {
    if !(v >= 0.0 && v.is_finite()) {
        out.push((field, format!("must be >= 0, got {v}")));
    }
}

fn finite(out: &mut Vec<(&'static str, String)>, field: &'static str, v: f64) {
    if !v.is_finite() {
        out.push((field, format!("must be a finite number, got {v}")));
    }
}

/// Refractory period in whole steps (rounded to nearest).
fn ref_steps(t_ref_ms: f64, dt_ms: f64) -> i32 {
    (t_ref_ms / dt_ms).round().clamp(0.0, i32::MAX as f64) as i32
}

/// Splits a slice into consecutive chunks of the given lengths (which sum to its length).
pub fn split_mut<'a, T>(mut s: &'a mut [T], lens: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(lens.len());
    for &l in lens {
        let (a, b) = std::mem::take(&mut s).split_at_mut(l);
        out.push(a);
        s = b;
    }
    out
}

/// Shared-slice version of [`split_mut`].
pub fn split<'a, T>(mut s: &'a [T], lens: &[usize]) -> Vec<&'a [T]> {
    let mut out = Vec::with_capacity(lens.len());
    for &l in lens {
        let (a, b) = s.split_at(l);
        out.push(a);
        s = b;
    }
    out
}
