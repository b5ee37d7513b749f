//! The library's typed errors: misuse of the simulator and the backend API,
//! and malformed data files, give the `Error` variant a caller can match on,
//! with the index, kind, name or byte offset it concerns.
use astroglia::Error;
use astroglia::backend::{Backend, CpuBackend, InputLevel, Spike, ThirdFactor};
use astroglia::build::build;
use astroglia::data::idx::{self, IdxArray, IdxData, IdxReader};
use astroglia::data::nmnist;
use astroglia::model::*;
use astroglia::sim::{SimOptions, Simulator};

/// A spike source into 8 neurons, one static and one plastic projection, and a
/// current input.
const MODEL: &str = r#"
name = "errors"
dt_ms = 1.0
duration_ms = 10.0

[[populations]]
name = "input"
size = 4
spike_source = { times_ms = [1.0], ids = [0] }

[[populations]]
name = "exc"
size = 8
lif = {}

[[projections]]
name = "fixed"
from = "input"
to = "exc"
connect = { all_to_all = {} }
weight = 1.0

[[projections]]
name = "learnt"
from = "exc"
to = "exc"
connect = { all_to_all = {} }
weight = 1.0
plasticity = { stdp = { w_max = 2.0 } }

[[inputs]]
current = { target = "exc", amplitude = 0.0 }
"#;

fn net() -> Network {
    parse_toml(MODEL, "errors.toml").unwrap()
}

fn sim(batch: usize) -> Simulator {
    let opts = SimOptions::default().batch(batch);
    Simulator::new(&net(), opts).unwrap()
}

#[test]
fn indices_past_the_end_are_no_index() {
    let mut s = sim(2);
    assert_eq!(s.state("exc", "v").unwrap().len(), 8);
    let e = s.instance_state(2, "exc", "v").unwrap_err();
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
    assert_eq!(e.to_string(), "no instance with index 2 (2 in all)");
    let e = s.weights(5, "fixed").unwrap_err();
    assert!(matches!(e, Error::NoIndex { index: 5, .. }), "{e:?}");

    // The backend API takes indices: each kind says which index missed.
    let net = net();
    let mut cpu = CpuBackend::new(build(&net, 1).unwrap());
    let mut out = vec![];
    let e = cpu.read_instance_state(0, 9, "v", &mut out).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NoIndex {
                kind: "population",
                index: 9,
                count: 2
            }
        ),
        "{e:?}"
    );
    let e = cpu.read_weights(0, 7, &mut out).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NoIndex {
                kind: "projection",
                index: 7,
                count: 2
            }
        ),
        "{e:?}"
    );
    let e = cpu.read_astrocyte(0, 0, &mut out).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NoIndex {
                kind: "astrocyte",
                count: 0,
                ..
            }
        ),
        "{e:?}"
    );
    let e = cpu.snapshot(1).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NoIndex {
                kind: "instance",
                index: 1,
                count: 1
            }
        ),
        "{e:?}"
    );
    let e = cpu
        .set_input(0, 4, InputLevel::Current { amplitude: 1.0 })
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NoIndex {
                kind: "input",
                index: 4,
                count: 1
            }
        ),
        "{e:?}"
    );
}

#[test]
fn calls_on_the_wrong_kind_of_population_projection_or_input_are_wrong_kind() {
    let mut s = sim(1);
    let e = s.set_spike_source(0, "exc", &[1.0], &[0]).unwrap_err();
    assert!(
        matches!(&e, Error::WrongKind { what, expected }
            if what == "population 'exc'" && expected == "a spike source"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "population 'exc' is not a spike source");
    let e = s.set_poisson_rates(0, "input", &[1.0]).unwrap_err();
    assert!(
        matches!(&e, Error::WrongKind { what, .. } if what == "population 'input'"),
        "{e:?}"
    );
    let e = s.set_weights(0, "fixed", &[1.0; 32]).unwrap_err();
    assert!(
        matches!(&e, Error::WrongKind { what, .. } if what == "projection 'fixed'"),
        "{e:?}"
    );
    let e = s.set_modulator(0, "fixed", 1.0).unwrap_err();
    assert!(matches!(e, Error::WrongKind { .. }), "{e:?}");
    let e = s.trace(0, "fixed", "r1").unwrap_err();
    assert!(matches!(e, Error::WrongKind { .. }), "{e:?}");
    // Pair STDP keeps no modulator: the command is for another rule.
    let e = s.set_modulator(0, "learnt", 1.0).unwrap_err();
    assert!(
        matches!(&e, Error::WrongKind { what, .. } if what == "projection 'learnt'"),
        "{e:?}"
    );
    // A noise level for a current input.
    let mut cpu = CpuBackend::new(build(&net(), 1).unwrap());
    let e = cpu
        .set_input(
            0,
            0,
            InputLevel::Noise {
                mean: 0.0,
                std: 1.0,
            },
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "input 0 is not a noise input");
    assert!(matches!(e, Error::WrongKind { .. }), "{e:?}");
}

#[test]
fn names_a_population_or_rule_lacks_are_unknown_with_the_known_ones() {
    let mut s = sim(1);
    let e = s.state("exc", "w").unwrap_err();
    match &e {
        Error::Unknown {
            kind: "state variable",
            name,
            known,
        } => {
            assert_eq!(name, "w");
            assert!(known.iter().any(|v| v == "v"), "{known:?}");
            assert!(known.iter().any(|v| v == "i_ext"), "{known:?}");
        }
        _ => panic!("{e:?}"),
    }
    assert!(
        e.to_string()
            .starts_with("no state variable named 'w' (known: v")
    );
    let e = s.trace(0, "learnt", "elig").unwrap_err();
    assert!(
        matches!(&e, Error::Unknown { kind: "plasticity trace", name, .. } if name == "elig"),
        "{e:?}"
    );
    assert_eq!(s.trace(0, "learnt", "r1").unwrap().len(), 8);
}

#[test]
fn bad_argument_values_are_argument_length_or_range() {
    let mut s = sim(1);
    let e = s.set_weights(0, "learnt", &[1.0; 3]).unwrap_err();
    assert!(
        matches!(&e, Error::Length { got: 3, expected, .. } if expected.starts_with("64")),
        "{e:?}"
    );
    let e = s.set_weights(0, "learnt", &[f32::NAN; 64]).unwrap_err();
    assert!(matches!(e, Error::Range { .. }), "{e:?}");
    let mut cpu = CpuBackend::new(build(&net(), 1).unwrap());
    let e = cpu
        .set_spike_source(0, 0, vec![(2, 1), (1, 0)])
        .unwrap_err();
    assert!(
        matches!(&e, Error::Argument { what, .. } if what == "spike source 'input': events"),
        "{e:?}"
    );
}

#[test]
fn parts_that_do_not_belong_together_are_incompatible() {
    let net = net();
    let built = build(&net, 1).unwrap();
    let mut other_net = net.clone();
    other_net.add_population(Population::new(
        "extra",
        3,
        NeuronModel::Lif(Default::default()),
    ));
    let other = build(&other_net, 1).unwrap();
    let e = built.instance(&other_net, 2).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Incompatible {
                what: "network",
                ..
            }
        ),
        "{e:?}"
    );
    let mut a = CpuBackend::new(built.clone());
    let mut b = CpuBackend::new(other.clone());
    let snap = a.snapshot(0).unwrap();
    let e = b.restore(0, &snap).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Incompatible {
                what: "snapshot",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "the snapshot was taken from another network");
    let e = CpuBackend::batched(vec![built.clone(), build(&net, 1).unwrap()], 1).err();
    assert!(
        matches!(e, Some(Error::Incompatible { what: "batch", .. })),
        "{e:?}"
    );
}

#[test]
fn a_drive_that_could_overflow_its_ring_is_a_located_model_error() {
    let mut net = Network::new(0.1, 1.0);
    net.add_population(Population::new(
        "a",
        4,
        NeuronModel::Lif(LifParams::default().synapse(SynapseKind::Delta)),
    ));
    net.add_input(Input::Poisson(PoissonInput::new("a", 1000, 20.0, 1e30)));
    let e = build(&net, 1).unwrap_err();
    let Error::Model {
        source_name,
        issues,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(source_name, "<builder>");
    assert_eq!(issues.len(), 1, "{e}");
    assert_eq!(issues[0].field, "inputs[0].poisson", "{e}");
    assert!(
        issues[0].message.contains("more than the i32 ring holds"),
        "{e}"
    );
}

#[test]
fn a_truncated_nmnist_file_is_a_data_error_at_its_byte() {
    let dir = tempfile::tempdir().unwrap();
    // x 7, y 15, ON, t 654 µs; an overflow marker; x 40 (off the sensor), y 2.
    let bytes = [7, 15, 0x80, 0x02, 0x8E, 0, 240, 0, 0, 0, 40, 2, 0, 0, 3];
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..13]).unwrap();
    let e = nmnist::read_file(&cut).unwrap_err();
    assert!(
        matches!(&e, Error::Data { path, offset: Some(10), .. } if path == &cut),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("{}: byte 10: truncated: 13 bytes", cut.display())),
        "{e}"
    );
    let off = dir.path().join("off.bin");
    std::fs::write(&off, bytes).unwrap();
    let e = nmnist::read_file(&off).unwrap_err();
    // Event 1 is the third record: the overflow marker is no event.
    assert!(
        matches!(
            e,
            Error::Data {
                offset: Some(10),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("byte 10: event 1 has address x 40"),
        "{e}"
    );
    let missing = dir.path().join("missing.bin");
    let e = nmnist::read_file(&missing).unwrap_err();
    assert!(matches!(e, Error::Data { offset: None, .. }), "{e:?}");
}

#[test]
fn a_malformed_idx_file_is_a_data_error_at_its_byte() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.idx");
    let array = IdxArray {
        dims: vec![3, 2],
        data: IdxData::U8(vec![1, 2, 3, 4, 5, 6]),
    };
    idx::write(&p, &array).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(bytes.len(), 4 + 8 + 6);
    let offset_of = |b: &[u8]| -> Option<u64> {
        std::fs::write(&p, b).unwrap();
        match IdxReader::open(&p).and_then(|mut r| r.item(2)) {
            Err(Error::Data { offset, .. }) => offset,
            r => panic!("{r:?}"),
        }
    };
    // The body ends a byte early: where it ends; one byte too many: that byte.
    assert_eq!(offset_of(&bytes[..17]), Some(17));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(offset_of(&long), Some(18));
    // The header: a bad magic number at 0, cut dimensions where the file ends.
    let mut magic = bytes.clone();
    magic[2] = 0x07;
    assert_eq!(offset_of(&magic), Some(0));
    assert_eq!(offset_of(&bytes[..6]), Some(6));
    let e = IdxReader::open(&p).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: byte 6: truncated: the header of 2 dimensions needs 12 bytes, the file has 6",
            p.display()
        )
    );
}

/// A backend with only the methods every backend must have.
struct Minimal;

impl Backend for Minimal {
    fn name(&self) -> &'static str {
        "minimal"
    }
    fn device(&self) -> String {
        "none".into()
    }
    fn inputs(&mut self, _: u64) -> astroglia::Result<()> {
        Ok(())
    }
    fn neurons(&mut self, _: u64) -> astroglia::Result<()> {
        Ok(())
    }
    fn propagate(&mut self, _: u64) -> astroglia::Result<()> {
        Ok(())
    }
    fn drain_batch(&mut self, _: &mut [Vec<Spike>]) -> astroglia::Result<()> {
        Ok(())
    }
    fn read_instance_state(
        &mut self,
        _: usize,
        _: usize,
        _: &str,
        _: &mut Vec<f32>,
    ) -> astroglia::Result<()> {
        Ok(())
    }
    fn read_weights(&mut self, _: usize, _: usize, _: &mut Vec<f32>) -> astroglia::Result<()> {
        Ok(())
    }
    fn write_weights(&mut self, _: usize, _: usize, _: &[f32]) -> astroglia::Result<()> {
        Ok(())
    }
    fn read_trace(
        &mut self,
        _: usize,
        _: usize,
        _: &str,
        _: &mut Vec<f32>,
    ) -> astroglia::Result<()> {
        Ok(())
    }
    fn third_factor(&mut self, _: usize, _: usize, _: ThirdFactor<'_>) -> astroglia::Result<()> {
        Ok(())
    }
    fn read_astrocyte(&mut self, _: usize, _: usize, _: &mut Vec<f32>) -> astroglia::Result<()> {
        Ok(())
    }
}

#[test]
fn what_a_backend_does_not_implement_is_unsupported() {
    let mut b = Minimal;
    let e = b.reset(0).unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { backend: "minimal", what }
            if what.starts_with("reset instance 0")),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the minimal backend cannot reset instance 0 between samples yet"
    );
    for e in [
        b.snapshot(0).map(|_| ()).unwrap_err(),
        b.set_spike_source(0, 1, vec![]).unwrap_err(),
        b.set_input(0, 0, InputLevel::Current { amplitude: 1.0 })
            .unwrap_err(),
        b.read_hlop(0, 0).map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
}
