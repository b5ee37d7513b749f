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

/// Neurons processed per block: flags stay on the stack and in L1.
pub const BLOCK: usize = 256;

/// Appends `base + j` for every nonzero `flags[j]`, skipping zero words quickly.
#[inline(always)]
pub fn collect_spikes(flags: &[u8], base: u32, out: &mut Vec<u32>) {
    let mut chunks = flags.chunks_exact(8);
    let mut off = base;
    for c in &mut chunks {
        if u64::from_le_bytes(c.try_into().expect("8 bytes")) != 0 {
            for (j, &f) in c.iter().enumerate() {
                if f != 0 {
                    out.push(off + j as u32);
                }
            }
        }
        off += 8;
    }
    for (j, &f) in chunks.remainder().iter().enumerate() {
        if f != 0 {
            out.push(off + j as u32);
        }
    }
}

/// Defines `fn $name(args) -> ret` that runs `$kernel(args)` compiled for AVX2 when
/// the CPU has it, else the baseline build. Both evaluate the same IEEE operations
/// in the same order (Rust never fuses or reorders float arithmetic), so the
/// results are bit-identical either way; only the vector width differs.
macro_rules! simd_dispatch {
    ($(#[$m:meta])* $vis:vis fn $name:ident ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty => $kernel:ident) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    $kernel($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $kernel($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;
