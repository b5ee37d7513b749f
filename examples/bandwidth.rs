//! The memory bandwidth one thread gets alone and with the other cores busy:
//! the ceiling of any multi-threaded speed-up of work that streams memory,
//! such as the neuron phase (about 44 bytes read or written per neuron and
//! step). Each thread sweeps its own array (`x = 0.99·x + 1`, read and write)
//! `--repeat` times; the speed-up is `T × time(1) / time(T)`.
//!
//! `cargo run --release --example bandwidth -- [MiB per thread ...] [--threads T]`
//! (default 4 16 64 MiB, T = every core).
use std::hint::black_box;
use std::time::Instant;

/// Seconds for one thread to sweep `mib` MiB `repeat` times.
fn sweep(mib: usize, repeat: usize) -> f64 {
    let mut v = vec![1.0f32; mib << 18];
    black_box(&mut v);
    let t = Instant::now();
    for _ in 0..repeat {
        v.iter_mut().for_each(|x| *x = *x * 0.99 + 1.0);
        black_box(&mut v);
    }
    t.elapsed().as_secs_f64()
}

/// The slowest of `threads` concurrent sweeps, best of three runs.
fn time(threads: usize, mib: usize, repeat: usize) -> f64 {
    (0..3)
        .map(|_| {
            std::thread::scope(|s| {
                let runs: Vec<_> = (0..threads)
                    .map(|_| s.spawn(move || sweep(mib, repeat)))
                    .collect();
                runs.into_iter()
                    .map(|r| r.join().expect("a sweep"))
                    .fold(0.0, f64::max)
            })
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut sizes: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|&(i, _)| i == 0 || args[i - 1] != "--threads")
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![4, 16, 64];
    }
    println!(
        "{:>9} {:>14} {:>14} {:>9}",
        "MiB/thr", "1 thread GB/s", "T threads GB/s", "speed-up"
    );
    for mib in sizes {
        // About 2 GiB of traffic per thread.
        let repeat = (1024 / mib).max(1);
        let bytes = 2.0 * (mib << 20) as f64 * repeat as f64;
        let (one, many) = (time(1, mib, repeat), time(threads, mib, repeat));
        println!(
            "{mib:>9} {:>14.1} {:>14.1} {:>8.2}x   ({threads} threads)",
            bytes / one / 1e9,
            threads as f64 * bytes / many / 1e9,
            threads as f64 * one / many
        );
    }
}
