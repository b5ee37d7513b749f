//! Software prefetch: asks for a cache line ahead of a load the hardware
//! cannot predict (the rows of the next spikes, the accumulators of the next
//! spiking neurons).

/// Asks for the cache line of `data[at]`.
#[inline(always)]
pub(crate) fn line<T>(data: &[T], at: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: prefetches never fault, and `wrapping_add` keeps the pointer
        // arithmetic defined even past the end of `data`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().wrapping_add(at).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, at);
}

/// Asks for the cache lines of `data[span]`, at most eight.
#[inline(always)]
pub(crate) fn span<T>(data: &[T], span: std::ops::Range<usize>) {
    let size = std::mem::size_of::<T>();
    let lines = (span.len() * size).div_ceil(64).min(8);
    for k in 0..lines {
        line(data, span.start + k * 64 / size);
    }
}
