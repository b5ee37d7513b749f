//! Large arrays read at random (synapse targets, delay rings) on 2 MiB pages:
//! at 256 000 neurons a spike's row lies anywhere in 82 MB of targets, and with
//! 4 KiB pages the first prefetch of each row held about a third of delivery's
//! time, most likely in page walks (delivery took 1.21 s per biological second
//! on huge pages against 1.41 s).
//!
//! Linux only, and only where transparent huge pages are not disabled; elsewhere,
//! or when the kernel declines, the array stays as it is. The advice never changes
//! the array's contents.

/// Below this size an array gains nothing: it cannot hold an aligned 2 MiB page.
const HUGE: usize = 2 << 20;

/// `MADV_COLLAPSE` (Linux 6.1), which the `libc` crate defines for glibc only.
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

/// Asks the kernel to back the 2 MiB-aligned part of `data` by huge pages, now
/// (`MADV_COLLAPSE`, Linux 6.1 and later) or as it is touched (`MADV_HUGEPAGE`).
pub(crate) fn advise<T>(data: &[T]) {
    #[cfg(target_os = "linux")]
    {
        let start = data.as_ptr() as usize;
        let end = start + std::mem::size_of_val(data);
        let (lo, hi) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if hi <= lo {
            return;
        }
        let ptr = lo as *mut libc::c_void;
        // SAFETY: `lo..hi` lies inside `data`'s allocation, and both advices
        // keep its contents (they only change how it is mapped); failures are
        // harmless and ignored.
        unsafe {
            libc::madvise(ptr, hi - lo, libc::MADV_HUGEPAGE);
            libc::madvise(ptr, hi - lo, MADV_COLLAPSE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = data;
}

#[cfg(test)]
mod tests {
    /// The advice keeps the contents, whether or not the kernel takes it.
    #[test]
    fn advice_keeps_the_contents() {
        let data: Vec<u32> = (0..3_000_000)
            .map(|i: u32| i.wrapping_mul(2_654_435_761))
            .collect();
        let copy = data.clone();
        super::advise(&data);
        assert_eq!(data, copy);
        super::advise(&data[..10]);
        super::advise::<u32>(&[]);
    }
}
