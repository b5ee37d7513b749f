//! Worker threads that stay awake for a run: a step's parallel phases take tens
//! of microseconds, and waking pooled threads from sleep (rayon's fork-join)
//! cost about as much per phase on the development machine, which made two
//! threads slower than one. Here the workers spin briefly, then yield, waiting
//! for the next job, and the calling thread takes part 0 of every job.
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A job: called once with each part index `0..size`.
type Job<'a> = dyn Fn(usize) + Sync + 'a;

/// What the calling thread and the workers share.
struct Shared {
    /// Jobs published so far; a worker runs each once.
    epoch: AtomicU64,
    /// Parts the workers finished, over all jobs.
    done: AtomicU64,
    stop: AtomicBool,
    panicked: AtomicBool,
    /// The current job, lifetime erased: written only while no worker runs one
    /// (before `epoch` moves on), read only by the workers of that epoch.
    job: std::cell::UnsafeCell<Option<*const Job<'static>>>,
}

// SAFETY: `job` is written by the calling thread only between jobs, after
// every worker signalled `done` for the previous one, and read by workers only
// after `epoch` (Release/Acquire) announced it.
unsafe impl Sync for Shared {}

/// A team of `size` threads (the caller and `size - 1` workers) for the
/// duration of [`with_team`].
pub(super) struct Team<'s> {
    shared: &'s Shared,
    size: usize,
}

/// Runs `f` with a team of `size` threads, which end when `f` returns (or
/// panics).
pub(super) fn with_team<R>(size: usize, f: impl FnOnce(&Team) -> R) -> R {
    let shared = Shared {
        epoch: AtomicU64::new(0),
        done: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        panicked: AtomicBool::new(false),
        job: std::cell::UnsafeCell::new(None),
    };
    std::thread::scope(|scope| {
        for id in 1..size {
            let shared = &shared;
            scope.spawn(move || work(shared, id));
        }
        // Stops the workers however `f` ends, so the scope can join them.
        struct Stop<'a>(&'a Shared);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.stop.store(true, Ordering::Release);
            }
        }
        let _stop = Stop(&shared);
        f(&Team {
            shared: &shared,
            size,
        })
    })
}

/// A worker's loop: each announced job once, with part `id`.
fn work(shared: &Shared, id: usize) {
    let mut seen = 0;
    loop {
        let mut spins = 0u32;
        loop {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            if shared.epoch.load(Ordering::Acquire) > seen {
                break;
            }
            spins += 1;
            if spins < 1 << 14 {
                std::hint::spin_loop();
            } else {
                // Do not hold a core the caller (or another process) needs.
                std::thread::yield_now();
            }
        }
        seen += 1;
        // SAFETY: the job of epoch `seen` was written before it was announced,
        // and lives until this worker's `done` below is seen by the caller.
        let job = unsafe { (*shared.job.get()).expect("a job was announced") };
        let run = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(id) }));
        if run.is_err() {
            shared.panicked.store(true, Ordering::Release);
        }
        shared.done.fetch_add(1, Ordering::Release);
    }
}

impl Team<'_> {
    /// Threads in the team (parts per job).
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// Calls `job(p)` for every part `p` in `0..size`, part 0 on this thread,
    /// and returns when all are done.
    pub(super) fn run(&self, job: &Job<'_>) {
        let workers = self.size as u64 - 1;
        if workers == 0 {
            return job(0);
        }
        let ptr: *const Job<'_> = job;
        // SAFETY: only the lifetime is erased; the workers stop using the
        // pointer before this call returns (it waits for all of them below,
        // even when part 0 panics).
        let ptr: *const Job<'static> = unsafe { std::mem::transmute(ptr) };
        // SAFETY: no worker reads `job` now: all finished the previous epoch.
        unsafe { *self.shared.job.get() = Some(ptr) };
        let epoch = self.shared.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        let target = epoch * workers;
        let mut spins = 0u32;
        while self.shared.done.load(Ordering::Acquire) < target {
            spins += 1;
            if spins < 1 << 14 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        if let Err(p) = mine {
            resume_unwind(p);
        }
        assert!(
            !self.shared.panicked.load(Ordering::Acquire),
            "a worker thread panicked"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_part_runs_once_per_job() {
        for size in 1..=4 {
            let hits: Vec<AtomicUsize> = (0..size).map(|_| AtomicUsize::new(0)).collect();
            with_team(size, |team| {
                for _ in 0..1000 {
                    team.run(&|p| {
                        hits[p].fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1000));
        }
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_and_the_team_ends() {
        let r =
            catch_unwind(|| with_team(3, |team| team.run(&|p| assert!(p != 2, "part 2 fails"))));
        assert!(r.is_err());
    }
}
