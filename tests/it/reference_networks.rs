//! Reference networks against published statistics (ALGORITHMS.md §3, §5):
//! the Izhikevich 2003 network and the COBA benchmark.
use super::util::{load, run, trains};
use astroglia::analysis::{bin_counts, cv_isi, population_spectrum, spectral_peak};

#[test]
fn izhikevich2003_matches_published_rates_cv_and_alpha_peak() {
    let net = load("izhikevich2003.toml");
    for seed in 1..=5 {
        let sim = run(&net, seed);
        let s = sim.summary();
        let (e, i) = (s.populations["exc"].rate_hz, s.populations["inh"].rate_hz);
        let mut all = trains(&sim, "exc");
        all.extend(trains(&sim, "inh"));
        let cv = cv_isi(&all);
        let steps: Vec<u64> = all.iter().flatten().map(|&t| t.round() as u64).collect();
        let counts = bin_counts(&steps, 1.0, 1.0, 1000.0);
        let (f, psd) = population_spectrum(&counts);
        let peak = spectral_peak(&f, &psd, 2.0, 100.0).expect("a spectrum");
        eprintln!("seed {seed}: exc {e:.2} Hz, inh {i:.2} Hz, CV {cv:.3}, peak {peak} Hz");
        assert!((7.0..=8.2).contains(&e), "seed {seed}: excitatory rate {e}");
        assert!((6.7..=8.0).contains(&i), "seed {seed}: inhibitory rate {i}");
        assert!((0.34..=0.41).contains(&cv), "seed {seed}: CV ISI {cv}");
        assert!((5.0..=12.0).contains(&peak), "seed {seed}: spectral peak {peak} Hz");
    }
}

#[test]
fn coba_is_self_sustained_at_benchmark_rates() {
    let net = load("coba.toml");
    for seed in 1..=3 {
        let sim = run(&net, seed);
        let s = sim.summary();
        let (e, i) = (s.populations["exc"].rate_hz, s.populations["inh"].rate_hz);
        let mut all = trains(&sim, "exc");
        all.extend(trains(&sim, "inh"));
        let late = all.iter().flatten().filter(|&&t| t >= 800.0).count() as f64 / (4000.0 * 0.2);
        let cv = cv_isi(&all);
        eprintln!("seed {seed}: exc {e:.2} Hz, inh {i:.2} Hz, last 200 ms {late:.2} Hz, CV {cv:.3}");
        assert!((17.0..=21.0).contains(&e), "seed {seed}: excitatory rate {e}");
        assert!((17.0..=21.0).contains(&i), "seed {seed}: inhibitory rate {i}");
        assert!(late > 10.0, "seed {seed}: activity died out ({late} Hz in the last 200 ms)");
        assert!(cv > 1.0, "seed {seed}: CV ISI {cv}");
    }
}
