//! Neuron models: parameters (with units and defaults), per-step constants, state
//! arrays and the CPU update of each model.
mod describe;
pub mod fixed;
pub mod izhikevich;
pub mod lif;
pub mod lif_cond;
pub mod loihi;
pub mod poisson;
pub mod registry;
pub mod spike_source;
pub mod user;

pub use fixed::{FixedPoint, Rounding};
pub use izhikevich::{IzhIntegration, IzhParam, IzhPreset, IzhikevichParams};
pub use lif::{InputOrder, LifParams, SynapseKind};
pub use lif_cond::LifCondParams;
pub use loihi::{LoihiSynapses, PerNeuron, SignMode};
pub use registry::{
    Draw, Dynamics, NeuronKernel, NeuronModel, NeuronType, Neurons, Pop, Sources, StateVar, Visit,
};
pub use user::UserNeuron;

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

/// Refractory period in whole steps (rounded to nearest), at most
/// `CLOCK_LIMIT - 1` (2^30 - 1 steps: 30 hours at dt = 0.1 ms) so that a
/// neuron's end of period stays within an `i32` (see [`CLOCK_LIMIT`]).
fn ref_steps(t_ref_ms: f64, dt_ms: f64) -> i32 {
    let max = f64::from(CLOCK_LIMIT - 1);
    (t_ref_ms / dt_ms).round().clamp(0.0, max) as i32
}

/// Whether every `v` is finite, given `sums`: per lane, the sum of the values of
/// that lane. A sum of finite values is finite unless it overflows, so only a
/// non-finite sum needs the exact scan. One vector addition per block of neurons
/// is the cheapest check the SIMD kernels found.
#[cfg(target_arch = "x86_64")]
pub(crate) fn all_finite(sums: &[f32], v: &[f32]) -> bool {
    sums.iter().all(|s| s.is_finite()) || v.iter().all(|x| x.is_finite())
}

/// Bound of the refractory clock of the LIF states ([`lif::LifState`],
/// [`lif_cond::LifCondState`]).
///
/// Those states keep the refractory period as the step of their own clock `now`
/// from which a neuron may fire again (`until`), not as a countdown: the array is
/// then written only at spikes, where a countdown was read, decremented and stored
/// for every neuron at every step. (With the one-add finiteness check of
/// `all_finite` it took 10 % off a COBA second; alone it was not measured there,
/// and on CUBA it measured no gain.) When the clock
/// reaches this bound, it and every `until` move back together, so
/// `now + ref_steps + 1` always fits an `i32`.
pub const CLOCK_LIMIT: i32 = 1 << 30;

/// Advances a refractory clock by one step, rebasing it at [`CLOCK_LIMIT`]:
/// remaining periods are unchanged and ended ones stay ended.
fn tick_clock(now: &mut i32, until: &mut [i32]) {
    *now += 1;
    if *now >= CLOCK_LIMIT {
        for u in until.iter_mut() {
            *u = (*u - *now).max(0);
        }
        *now = 0;
    }
}

/// Remaining refractory steps at clock `now` (0 when a neuron may fire).
fn remaining(now: i32, until: &[i32]) -> impl Iterator<Item = i32> + '_ {
    until.iter().map(move |&u| (u - now).max(0))
}

/// `until` of a neuron that spikes at clock step `now`: it is refractory for the
/// next `ref_steps` steps. Fits an `i32`, as both are below [`CLOCK_LIMIT`].
fn until_after_spike(ref_steps: i32, now: i32) -> i32 {
    debug_assert!((0..CLOCK_LIMIT).contains(&now) && ref_steps < CLOCK_LIMIT);
    now + ref_steps + 1
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

/// A vector of 4-byte plain values (`f32`, `i32`, ...) whose data starts on a
/// 64-byte boundary: a cache line and an AVX-512 register. Neuron state is kept in
/// these so that the kernels' vector loads and stores never straddle two cache
/// lines (with the 16-byte alignment `Vec` gets from malloc, every 64-byte access
/// did, costing the COBA kernel 6-9 %). It dereferences to a slice.
#[derive(Clone, Default, PartialEq)]
pub struct AlignedVec<T> {
    lines: Vec<CacheLine>,
    len: usize,
    _t: std::marker::PhantomData<T>,
}

/// The storage unit of [`AlignedVec`].
#[repr(C, align(64))]
#[derive(Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct CacheLine([u32; 16]);

impl<T: bytemuck::Pod> AlignedVec<T> {
    /// `n` zero values.
    pub fn zeroed(n: usize) -> Self {
        const { assert!(64 % std::mem::size_of::<T>() == 0 && std::mem::size_of::<T>() > 0) };
        let per_line = 64 / std::mem::size_of::<T>();
        let lines = vec![CacheLine::default(); n.div_ceil(per_line)];
        crate::huge_pages::advise(&lines);
        AlignedVec {
            lines,
            len: n,
            _t: std::marker::PhantomData,
        }
    }
}

impl<T: bytemuck::Pod> std::ops::Deref for AlignedVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

impl<T: bytemuck::Pod> std::ops::DerefMut for AlignedVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..self.len]
    }
}

impl<T: bytemuck::Pod> From<&[T]> for AlignedVec<T> {
    fn from(values: &[T]) -> Self {
        let mut v = Self::zeroed(values.len());
        v.copy_from_slice(values);
        v
    }
}

impl<T: bytemuck::Pod> From<Vec<T>> for AlignedVec<T> {
    fn from(values: Vec<T>) -> Self {
        Self::from(&values[..])
    }
}

impl<T: bytemuck::Pod> FromIterator<T> for AlignedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T: bytemuck::Pod + std::fmt::Debug> std::fmt::Debug for AlignedVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Instruction-set extension the hand-vectorised kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Simd {
    /// AVX-512 F + DQ (and AVX2), 16 lanes (compiled with Rust >= 1.89 only).
    Avx512,
    /// AVX2, 8 lanes.
    Avx2,
    /// The portable (auto-vectorised) kernels.
    Portable,
}

/// The extension the kernels use: the widest this CPU supports, or a narrower one
/// named by the environment variable `ASTROGLIA_SIMD` (`avx512`, `avx2` or
/// `portable`), read once. Every choice gives bit-identical results; the variable
/// exists to check exactly that and to compare speeds.
pub(crate) fn simd() -> Simd {
    static CHOICE: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| {
        let best = detect();
        let cap = match std::env::var("ASTROGLIA_SIMD").as_deref() {
            Ok("portable") => Simd::Portable,
            Ok("avx2") => Simd::Avx2,
            _ => Simd::Avx512,
        };
        // Variants are ordered widest first.
        if (cap as u8) > (best as u8) {
            cap
        } else {
            best
        }
    })
}

fn detect() -> Simd {
    #[cfg(all(target_arch = "x86_64", avx512_kernels))]
    if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512dq")
        && std::is_x86_feature_detected!("avx2")
    {
        return Simd::Avx512;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return Simd::Avx2;
    }
    Simd::Portable
}

/// Appends spike indices from the hot loop of a SIMD kernel. It reserves room for
/// `n` indices up front (a population of `n` neurons spikes at most `n` times per
/// step) so a push never calls into the allocator: a possible call inside the
/// loop made the compiler keep every constant on the stack.
pub(crate) struct SpikeSink<'a> {
    out: &'a mut Vec<u32>,
    ptr: *mut u32,
    len: usize,
    end: usize,
}

impl<'a> SpikeSink<'a> {
    pub(crate) fn new(out: &'a mut Vec<u32>, n: usize) -> Self {
        out.reserve(n);
        let len = out.len();
        SpikeSink {
            ptr: out.as_mut_ptr(),
            len,
            end: len + n,
            out,
        }
    }

    /// Appends `first + j` for every set bit `j` of `mask`.
    #[inline(always)]
    pub(crate) fn push_mask(&mut self, mut mask: u32, first: u32) {
        while mask != 0 {
            assert!(self.len < self.end, "more spikes than neurons");
            // SAFETY: len < end <= capacity (reserved in `new`), and nothing else
            // touches the vector while the sink lives.
            unsafe { self.ptr.add(self.len).write(first + mask.trailing_zeros()) };
            self.len += 1;
            mask &= mask - 1;
        }
    }
}

impl Drop for SpikeSink<'_> {
    fn drop(&mut self) {
        // SAFETY: the elements up to `len` were initialised by `push_mask`.
        unsafe { self.out.set_len(self.len) };
    }
}

/// Defines `fn $name(args) -> ret` that runs `$kernel(args)` compiled for AVX2 when
/// the CPU has it (and `ASTROGLIA_SIMD` does not ask for `portable`), else the
/// baseline build. Both evaluate the same IEEE operations in the same order (Rust
/// never fuses or reorders float arithmetic), so the results are bit-identical
/// either way; only the vector width differs.
macro_rules! simd_dispatch {
    ($(#[$m:meta])* $vis:vis fn $name:ident ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty => $kernel:path) => {
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
                if $crate::neuron::simd() != $crate::neuron::Simd::Portable {
                    // SAFETY: the CPU supports AVX2 (`simd()` only picks a SIMD
                    // extension the CPU has, and AVX-512 implies AVX2 there).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $kernel($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

#[cfg(test)]
mod tests {
    use super::AlignedVec;

    #[test]
    fn aligned_vec_is_aligned_and_behaves_like_a_slice() {
        for n in [0, 1, 15, 16, 17, 1000] {
            let v: AlignedVec<f32> = (0..n).map(|i| i as f32).collect();
            assert_eq!(v.as_ptr() as usize % 64, 0);
            assert_eq!(v.len(), n);
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32));
            let mut z = AlignedVec::<i32>::zeroed(n);
            z.iter_mut().for_each(|x| *x += 3);
            assert_eq!(z.clone(), AlignedVec::from(vec![3; n]));
            assert_eq!(format!("{:?}", AlignedVec::from(vec![1, 2])), "[1, 2]");
        }
    }
}

/// Helpers for the tests that compare the SIMD kernels with the portable ones.
#[cfg(test)]
pub(crate) mod test_util {
    use super::Simd;

    /// Xorshift64: enough randomness for test inputs.
    pub struct Rand(pub u64);

    impl Rand {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Uniform in `[lo, hi)`.
        pub fn f32(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
        }

        /// True with probability `p`.
        pub fn chance(&mut self, p: f64) -> bool {
            ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
        }

        /// Fixed-point ring input: mostly zero, sometimes small or large.
        pub fn ring(&mut self) -> i32 {
            match self.next() % 8 {
                0 => (self.next() as i32) >> 8,
                1 => (self.next() as i32) >> 20,
                2 => self.next() as i32,
                _ => 0,
            }
        }

        /// Remaining refractory steps: mostly 0.
        pub fn refrac(&mut self) -> i32 {
            match self.next() % 6 {
                0 => 1,
                1 => (self.next() % 60) as i32,
                _ => 0,
            }
        }
    }

    /// Bitwise equality, except that any two NaNs are equal (their payloads may
    /// depend on the operand order the compiler chose for a commutative operation).
    pub fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    }

    /// The SIMD extensions this CPU can run (the portable path excluded).
    pub fn available() -> Vec<Simd> {
        let best = super::detect();
        [Simd::Avx512, Simd::Avx2]
            .into_iter()
            .filter(|&s| s as u8 >= best as u8)
            .collect()
    }
}
