//! examples/closed_loop's protocol on both backends (lavapipe in CI): a
//! controller sets a Poisson rate every 10 ms for 1 s per sample, with a reset
//! per sample; a sample rerun after a reset gives the same spikes, a batch of
//! six gives six sequential samples, a run after `restore` gives the run after
//! `store`, the GPU gives the CPU's spikes, and misuse gets typed errors.
use super::gpu_parity::gpu;
use astroglia::Error;
use astroglia::sim::BackendKind;

#[path = "../../examples/closed_loop/controller.rs"]
#[allow(dead_code)]
mod controller;
use controller::*;

/// The six samples one after the other, checked against a rerun, a batch and
/// a store/restore half way through sample 2.
fn protocol(backend: BackendKind) -> Vec<Raster> {
    let mut sim = simulator(backend, 1).unwrap();
    let mut sequential = vec![];
    for s in 0..SAMPLES {
        let (raster, input) = run_samples(&mut sim, s).unwrap().remove(0);
        assert!(!raster.is_empty(), "sample {s} spiked");
        assert!(input > 0.0);
        sequential.push(raster);
    }
    // The controller reached its targets roughly: the rates rise with them.
    let counts: Vec<usize> = sequential.iter().map(Vec::len).collect();
    assert!(counts.windows(2).all(|w| w[1] > w[0]), "{counts:?}");
    assert_eq!(run_samples(&mut sim, 3).unwrap()[0].0, sequential[3]);

    let mut batch = simulator(backend, SAMPLES).unwrap();
    let rasters: Vec<Raster> = (run_samples(&mut batch, 0).unwrap().into_iter())
        .map(|r| r.0)
        .collect();
    assert!(rasters == sequential, "a batch of 6 = 6 sequential samples");

    sim.reset(astroglia::sim::ResetWeights::Restore).unwrap();
    let mut trial = Trial::new(2, 1);
    trial.run(&mut sim, CHUNKS / 2).unwrap();
    sim.store("half").unwrap();
    let saved = trial.clone();
    trial.run(&mut sim, CHUNKS / 2).unwrap();
    assert!(trial.out[0].0 == sequential[2]);
    let hash = sim.summary().spikes_sha256;
    sim.restore("half").unwrap();
    let mut again = saved;
    again.run(&mut sim, CHUNKS / 2).unwrap();
    assert!(
        again.out[0].0 == sequential[2],
        "restore, then the same run"
    );
    assert_eq!(sim.summary().spikes_sha256, hash);
    sequential
}

#[test]
fn the_closed_loop_is_reproducible_on_the_cpu_and_the_gpu() {
    let cpu = protocol(BackendKind::Cpu);
    if gpu().is_some() {
        assert!(protocol(BackendKind::Gpu) == cpu, "GPU against CPU");
    }
}

#[test]
fn misuse_of_the_rate_setter_is_refused_with_typed_errors() {
    let mut sim = simulator(BackendKind::Cpu, 2).unwrap();
    let e = sim.set_poisson_rates(0, "nope", &[1.0]).unwrap_err();
    assert!(
        matches!(&e, Error::Unknown { kind: "population", name, .. } if name == "nope"),
        "{e:?}"
    );
    let e = sim.set_poisson_rates(0, "input", &[1.0; 3]).unwrap_err();
    assert!(matches!(e, Error::Length { got: 3, .. }), "{e:?}");
    for bad in [-5.0, f64::NAN, 1e6] {
        let e = sim.set_poisson_rates(1, "input", &[bad]).unwrap_err();
        assert!(matches!(e, Error::Range { .. }), "{e:?}");
    }
    let e = sim.set_poisson_rates(2, "input", &[1.0]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NoIndex {
                kind: "instance",
                index: 2,
                count: 2
            }
        ),
        "{e:?}"
    );
    let e = sim.set_poisson_rates(0, "exc", &[1.0]).unwrap_err();
    assert!(
        matches!(&e, Error::WrongKind { what, .. } if what == "population 'exc'"),
        "{e:?}"
    );
    let e = sim.restore("never stored").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unknown {
                kind: "snapshot",
                ..
            }
        ),
        "{e:?}"
    );
    // One rate per source is fine, and so is a rate of 0.
    sim.set_poisson_rates(0, "input", &[10.0; 100]).unwrap();
    sim.set_poisson_rates(1, "input", &[0.0]).unwrap();
}
